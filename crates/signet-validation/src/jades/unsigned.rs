//! The unsigned `etsiU` header parameter (TS 119 182-1 §5.3): time-stamps over the signature
//! value (`sigTst`), archive time-stamps (`arcTst`) and validation data (`xVals`, `rVals`,
//! `axVals`, `arVals`).
//!
//! Each element is either the base64url encoding of a JSON object with one member or that
//! object in clear; the standard allows both, and an archive time-stamp covers the elements
//! before it in the form they are written.

use std::collections::BTreeMap;

use serde_json::Value;
use serde_json::value::RawValue;
use signet_ades::asn1;

use super::json;
use crate::TimestampKind;

/// The most `etsiU` elements one signature may have.
pub const MAX_ELEMENTS: usize = 1000;
/// The most tokens one time-stamp container may hold.
const MAX_TOKENS: usize = 16;
/// The most certificates, CRLs or OCSP responses one validation-data element may hold.
const MAX_VALUES: usize = 1000;

/// What a time-stamp's message imprint covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cover {
    /// `sigTst`: the base64url JWS Signature Value (§5.3.4).
    SignatureValue,
    /// `adoTst`: the signed data, before signing.
    Content,
    /// `arcTst` (§5.3.6.3): the signed data, the protected header, the signature value and
    /// the first `before` elements of `etsiU`.
    Archive { before: usize },
}

/// A time-stamp token found in a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub kind: TimestampKind,
    /// DER `TimeStampToken`.
    pub token: Vec<u8>,
    pub cover: Cover,
}

/// One `etsiU` element, as an archive time-stamp sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// Its one member's name (`sigTst`, `xVals`, ...).
    pub name: String,
    /// What it adds to an archive time-stamp's imprint input: the base64url string as
    /// written; for a clear element its JSON text as written and, second, the JSON text of
    /// its member's value (what EU DSS hashes, canonicalization aside).
    pub forms: Vec<String>,
}

/// What `etsiU` holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unsigned {
    pub elements: Vec<Element>,
    pub stamps: Vec<Stamp>,
    pub certificates: Vec<Vec<u8>>,
    pub crls: Vec<Vec<u8>>,
    pub ocsp_responses: Vec<Vec<u8>>,
    pub has_x_vals: bool,
    pub has_r_vals: bool,
    pub constraint_failures: Vec<String>,
}

/// Reads the `etsiU` elements (raw JSON texts, in order). `Err` is a format failure.
pub fn read(elements: &[&RawValue]) -> Result<Unsigned, String> {
    if elements.len() > MAX_ELEMENTS {
        return Err(format!(
            "etsiU has {} elements, more than the {MAX_ELEMENTS} accepted",
            elements.len()
        ));
    }
    let mut out = Unsigned::default();
    let (mut encoded, mut clear) = (false, false);
    for (i, raw) in elements.iter().enumerate() {
        let (element, value) =
            element(raw.get()).map_err(|e| format!("etsiU element {}: {e}", i + 1))?;
        if element.forms.len() == 1 {
            encoded = true;
        } else {
            clear = true;
        }
        let what = format!("etsiU {}", element.name);
        match element.name.as_str() {
            "sigTst" => {
                let tokens = tst_tokens(&value, &what)?;
                if tokens.len() != 1 {
                    out.constraint_failures.push(format!(
                        "a sigTst holds {} time-stamp tokens; a baseline signature has one per sigTst",
                        tokens.len()
                    ));
                }
                out.stamps.extend(tokens.into_iter().map(|token| Stamp {
                    kind: TimestampKind::Signature,
                    token,
                    cover: Cover::SignatureValue,
                }));
            }
            "arcTst" => {
                out.stamps
                    .extend(tst_tokens(&value, &what)?.into_iter().map(|token| Stamp {
                        kind: TimestampKind::Archive,
                        token,
                        cover: Cover::Archive { before: i },
                    }));
            }
            "xVals" | "axVals" => {
                out.has_x_vals |= element.name == "xVals";
                for item in json::array(&value, &what, MAX_VALUES)? {
                    if let Some(cert) = item.get("x509Cert") {
                        push_unique(&mut out.certificates, pki_ob(cert, &what)?);
                    }
                }
            }
            "rVals" | "arVals" => {
                out.has_r_vals |= element.name == "rVals";
                if !value.is_object() {
                    return Err(format!("{what} is not a JSON object"));
                }
                if let Some(crls) = value.get("crlVals") {
                    for crl in json::array(crls, &what, MAX_VALUES)? {
                        push_unique(&mut out.crls, pki_ob(crl, &what)?);
                    }
                }
                if let Some(ocsp) = value.get("ocspVals") {
                    for response in json::array(ocsp, &what, MAX_VALUES)? {
                        push_unique(
                            &mut out.ocsp_responses,
                            ocsp_response(pki_ob(response, &what)?),
                        );
                    }
                }
            }
            // Other unsigned properties (sigPSt, cSig, references, ...) are not baseline
            // evidence; an archive time-stamp still covers them.
            _ => {}
        }
        out.elements.push(element);
    }
    if encoded && clear {
        out.constraint_failures.push(
            "etsiU mixes base64url-encoded and clear elements; TS 119 182-1 §5.3 wants one form"
                .into(),
        );
    }
    Ok(out)
}

/// One element: its name, its imprint forms and its value.
fn element(raw: &str) -> Result<(Element, Value), String> {
    let (object, forms) = if raw.starts_with('"') {
        let text: String = serde_json::from_str(raw).map_err(|e| e.to_string())?;
        let bytes = json::b64url(&text)?;
        let decoded = std::str::from_utf8(&bytes)
            .map_err(|_| "the decoded element is not UTF-8".to_string())?;
        (
            json::parse_object(decoded, "the decoded element")?,
            vec![text],
        )
    } else if raw.starts_with('{') {
        let object = json::parse_object(raw, "the element")?;
        let members: BTreeMap<String, &RawValue> =
            serde_json::from_str(raw).map_err(|e| e.to_string())?;
        let inner = members
            .values()
            .next()
            .map(|v| v.get().to_owned())
            .unwrap_or_default();
        (object, vec![raw.to_owned(), inner])
    } else {
        return Err("neither a base64url string nor a JSON object".into());
    };
    let mut members = object.into_iter();
    match (members.next(), members.next()) {
        (Some((name, value)), None) => Ok((Element { name, forms }, value)),
        _ => Err("an unsigned property object must have exactly one member".into()),
    }
}

/// The DER tokens of a `tstContainer` (§5.4.3.3): `{"tstTokens": [{"val": base64}, ...]}`.
pub fn tst_tokens(container: &Value, what: &str) -> Result<Vec<Vec<u8>>, String> {
    let tokens = container
        .get("tstTokens")
        .ok_or_else(|| format!("{what} has no tstTokens"))?;
    json::array(tokens, &format!("{what} tstTokens"), MAX_TOKENS)?
        .iter()
        .map(|t| {
            let val = t
                .get("val")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("a {what} token has no val"))?;
            json::b64_std(val).map_err(|e| format!("a {what} token is {e}"))
        })
        .collect()
}

/// A `pkiOb`: `{"val": base64 DER, "encoding": ...}`.
fn pki_ob(v: &Value, what: &str) -> Result<Vec<u8>, String> {
    let val = v
        .get("val")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("a {what} value has no val"))?;
    json::b64_std(val).map_err(|e| format!("a {what} value is {e}"))
}

fn push_unique(list: &mut Vec<Vec<u8>>, item: Vec<u8>) {
    if !list.contains(&item) {
        list.push(item);
    }
}

const ID_PKIX_OCSP_BASIC: &str = "1.3.6.1.5.5.7.48.1.1";

/// An `OCSPResponse`: a bare `BasicOCSPResponse` (whose first field is the
/// `tbsResponseData` SEQUENCE, where an `OCSPResponse` has its ENUMERATED status) is wrapped
/// as a successful response.
fn ocsp_response(der: Vec<u8>) -> Vec<u8> {
    let basic = asn1::read_all(&der)
        .and_then(|t| t.children())
        .is_ok_and(|fields| fields.first().is_some_and(|f| f.tag == asn1::SEQUENCE));
    let Ok(oid) = asn1::oid(ID_PKIX_OCSP_BASIC) else {
        return der;
    };
    if !basic {
        return der;
    }
    let response_bytes = asn1::seq(&[&oid, &asn1::octet_string(&der)]);
    asn1::seq(&[
        &asn1::tlv(0x0a, &[0]),
        &asn1::cons(asn1::ctx(0), &[&response_bytes]),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raws(texts: &[String]) -> Vec<Box<RawValue>> {
        texts
            .iter()
            .map(|t| RawValue::from_string(t.clone()).unwrap())
            .collect()
    }

    fn read_texts(texts: &[String]) -> Result<Unsigned, String> {
        let owned = raws(texts);
        let refs: Vec<&RawValue> = owned.iter().map(|b| b.as_ref()).collect();
        read(&refs)
    }

    fn object(name: &str, value: Value) -> Value {
        let mut m = serde_json::Map::new();
        m.insert(name.into(), value);
        Value::Object(m)
    }

    fn encoded(v: &Value) -> String {
        format!("\"{}\"", json::to_b64url(v.to_string().as_bytes()))
    }

    #[test]
    fn both_forms_and_the_validation_data() {
        let x_vals = object(
            "xVals",
            json!([{ "x509Cert": { "val": "AQI=" } }, { "otherCert": {} }, { "x509Cert": { "val": "AQI" } }]),
        );
        let r_vals = json!({ "rVals": { "crlVals": [{ "val": "Aw==" }], "ocspVals": [{ "val": "MAMKAQA=" }] } });
        let u = read_texts(&[encoded(&x_vals), encoded(&r_vals)]).unwrap();
        assert_eq!(u.certificates, [vec![1, 2]]);
        assert_eq!(u.crls, [vec![3]]);
        // An OCSPResponse (ENUMERATED first) is kept as it is.
        assert_eq!(u.ocsp_responses, [vec![0x30, 3, 0x0a, 1, 0]]);
        assert!(u.has_x_vals && u.has_r_vals);
        assert!(u.constraint_failures.is_empty());
        assert_eq!(
            u.elements[0].forms,
            [json::to_b64url(x_vals.to_string().as_bytes())]
        );

        let clear = r#"{ "sigTst" : {"tstTokens":[{"val":"MAA="}]} }"#.to_string();
        let u = read_texts(&[clear.clone(), encoded(&x_vals)]).unwrap();
        assert_eq!(
            u.elements[0].forms,
            [
                clear.clone(),
                r#"{"tstTokens":[{"val":"MAA="}]}"#.to_string()
            ]
        );
        assert_eq!(
            u.stamps,
            [Stamp {
                kind: TimestampKind::Signature,
                token: vec![0x30, 0],
                cover: Cover::SignatureValue
            }]
        );
        assert_eq!(
            u.constraint_failures.len(),
            1,
            "{:?}",
            u.constraint_failures
        );
        assert!(!u.has_r_vals);
    }

    #[test]
    fn archive_stamps_know_their_position_and_counts_are_checked() {
        let tst = |n: usize| json!({ "tstTokens": vec![json!({ "val": "MAA=" }); n] });
        let u = read_texts(&[
            encoded(&object("sigTst", tst(2))),
            encoded(&object("arcTst", tst(1))),
            encoded(&object("arcTst", tst(1))),
        ])
        .unwrap();
        let covers: Vec<Cover> = u.stamps.iter().map(|s| s.cover).collect();
        assert_eq!(
            covers,
            [
                Cover::SignatureValue,
                Cover::SignatureValue,
                Cover::Archive { before: 1 },
                Cover::Archive { before: 2 }
            ]
        );
        assert_eq!(u.constraint_failures.len(), 1);
        assert!(read_texts(&[encoded(&object("sigTst", tst(17)))]).is_err());
    }

    #[test]
    fn a_bare_basic_ocsp_response_is_wrapped() {
        let basic = asn1::seq(&[&asn1::seq(&[&asn1::uint(1)])]);
        let wrapped = ocsp_response(basic.clone());
        let fields = asn1::read_all(&wrapped).unwrap().children().unwrap();
        assert_eq!(fields[0].raw, [0x0a, 1, 0]);
        let bytes = asn1::read_all(fields[1].content)
            .unwrap()
            .children()
            .unwrap();
        assert_eq!(bytes[1].content, basic);
    }

    #[test]
    fn malformed_elements_are_errors() {
        for bad in [
            "1".to_string(),
            "\"not base64url!\"".into(),
            format!("\"{}\"", json::to_b64url(b"[1]")),
            format!("\"{}\"", json::to_b64url(br#"{"a":1,"b":2}"#)),
            format!("\"{}\"", json::to_b64url(br#"{"a":1,"a":2}"#)),
            r#"{"sigTst":{}}"#.into(),
            r#"{"sigTst":{"tstTokens":[{"val":"%%"}]}}"#.into(),
            r#"{"xVals":{"x509Cert":{"val":"AA=="}}}"#.into(),
            r#"{"rVals":[]}"#.into(),
            r#"{"rVals":{"crlVals":[{"val":7}]}}"#.into(),
            "{}".into(),
        ] {
            assert!(read_texts(std::slice::from_ref(&bad)).is_err(), "{bad}");
        }
        let many = vec!["{\"x\":1}".to_string(); MAX_ELEMENTS + 1];
        assert!(read_texts(&many).is_err());
    }
}
