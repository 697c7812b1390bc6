//! JAdES augmentation (TS 119 182-1 §5.3): new base64url-encoded elements at the end of each
//! signature's unprotected `etsiU` array — `sigTst` (B-T), `xVals` and `rVals` (B-LT), `tstVD`
//! for the last archive time-stamp (renewal) and `arcTst` (B-LTA). A compact JWS has no
//! unprotected header, so it becomes the flattened JSON serialization; every signature of a
//! general serialization is extended. Protected headers, payload and signature values are
//! kept as they are, so the signatures still verify.

use data_encoding::{BASE64, BASE64URL_NOPAD};
use serde_json::{Map, Value, json};
use signet_core::HashAlgorithm;

use crate::jades::{self as own, Serialization};
use crate::{AdesError, Format, Level, Revocation, timestamp};

use super::{
    ExtendRequest, Has, Outcome, Services, Steps, check_levels, counted, describe, missing,
    no_signer_certificate,
};

fn invalid(msg: impl Into<String>) -> AdesError {
    AdesError::InvalidDocument(msg.into())
}

pub(super) fn extend(req: &ExtendRequest, services: &Services<'_>) -> Result<Outcome, AdesError> {
    let jws = own::parse_jws(&req.signature)
        .map_err(|why| invalid(format!("the document is not a JAdES signature: {why}")))?;
    let mut entries: Vec<Entry> = jws
        .signatures
        .iter()
        .zip(&jws.headers)
        .map(|(text, header)| Entry::read(text, header))
        .collect::<Result<_, _>>()?;
    let levels: Vec<Level> = entries.iter().map(|e| e.has().level()).collect();
    check_levels(Format::Jades, &levels, req.target)?;

    let mut added = Vec::new();
    if jws.serialization == Serialization::Compact {
        added.push(
            "converted from the compact to the flattened JSON serialization (etsiU needs an unprotected header)"
                .to_owned(),
        );
    }
    let mut info = Revocation::default();
    let mut new_data = Revocation::default();
    let (mut stamped, mut with_data, mut archived) = (0, 0, 0);
    for (entry, level) in entries.iter_mut().zip(&levels) {
        let steps = Steps::new(*level, req.target);
        let hash = entry.hash();
        let mut tokens = entry.tokens("sigTst")?;
        if steps.time_stamp {
            // §5.3.4: over the base64url JWS Signature Value, as it is written.
            let token =
                timestamp::timestamp(services.tsa, hash, &hash.digest(entry.signature.as_bytes()))?;
            entry.push(json!({ "sigTst": own::tst_container(&token) }))?;
            tokens.push(token);
            stamped += 1;
        }
        let mut have = entry.embedded();
        if steps.validation_data {
            let data = timestamp::collect_validation_data(
                services.validation(),
                &entry.signer_certificate()?,
                &tokens,
            )?;
            let new = missing(&data, &have);
            for (name, value) in own::validation_values(&new) {
                let mut element = Map::new();
                element.insert(name.to_owned(), value);
                entry.push(Value::Object(element))?;
            }
            info.merge(data);
            new_data.merge(new.clone());
            have.merge(new);
            with_data += 1;
        }
        if steps.renewal
            && let Some(last) = entry.tokens("arcTst")?.last()
        {
            let extra = timestamp::token_validation_data(services.validation(), last, &have)?;
            if !extra.is_empty() {
                let values: Map<String, Value> = own::validation_values(&extra)
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect();
                entry.push(json!({ "tstVD": values }))?;
                info.merge(extra.clone());
                new_data.merge(extra);
            }
        }
        if steps.archive_time_stamp {
            let payload = archived_payload(&jws.payload, entry, req)?;
            let input =
                own::archive_input(&payload, &entry.protected, &entry.signature, &entry.etsi_u);
            let token = timestamp::timestamp(services.tsa, hash, &hash.digest(&input))?;
            entry.push(json!({ "arcTst": own::tst_container(&token) }))?;
            archived += 1;
        }
    }
    if stamped > 0 {
        added.push(counted("signature time-stamp (sigTst)", stamped));
    }
    if with_data > 0 || !new_data.is_empty() {
        added.push(format!("{} (xVals, rVals)", describe(&new_data)));
    }
    if archived > 0 {
        added.push(counted("archive time-stamp (arcTst)", archived));
    }
    let texts: Vec<String> = entries.iter().map(Entry::write).collect::<Result<_, _>>()?;
    let output = own::write_jws(&jws.members, &texts, jws.serialization);
    Ok((output, added, info))
}

/// The JWS Payload as the archive time-stamp input takes it (TS 119 182-1 §5.3.6.3.1): the
/// base64url payload, or of the detached document.
fn archived_payload(
    payload: &Option<String>,
    entry: &Entry,
    req: &ExtendRequest,
) -> Result<String, AdesError> {
    if entry.header.contains_key("sigD") || entry.header.get("b64") == Some(&Value::Bool(false)) {
        return Err(AdesError::InvalidDocument(
            "the JAdES signature references its data with sigD or an unencoded payload (b64=false): Signet cannot compute the archive time-stamp input for it".into(),
        ));
    }
    match (payload, &req.detached) {
        (Some(p), _) => Ok(p.clone()),
        (None, Some(document)) => Ok(own::b64url(document)),
        (None, None) => Err(AdesError::InvalidRequest(
            "the JAdES signature is detached: its archive time-stamp covers the payload, so send the document with it".into(),
        )),
    }
}

/// One signature of the JWS.
struct Entry {
    /// Its members other than the unprotected header.
    members: Map<String, Value>,
    /// The unprotected header's members other than `etsiU`.
    unprotected: Map<String, Value>,
    /// `etsiU`: base64url-encoded JSON objects, in order.
    etsi_u: Vec<String>,
    /// The decoded protected header.
    header: Map<String, Value>,
    protected: String,
    signature: String,
}

impl Entry {
    fn read(text: &str, header: &Map<String, Value>) -> Result<Self, AdesError> {
        let Ok(Value::Object(mut members)) = serde_json::from_str::<Value>(text) else {
            return Err(invalid("a JWS signature entry is not a JSON object"));
        };
        let mut unprotected = match members.remove("header") {
            None => Map::new(),
            Some(Value::Object(m)) => m,
            Some(_) => return Err(invalid("a JWS unprotected header is not a JSON object")),
        };
        let etsi_u = match unprotected.remove("etsiU") {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|i| match i {
                    Value::String(s) => Ok(s),
                    _ => Err(invalid(
                        "etsiU holds unencoded JSON objects: Signet extends only base64url-encoded etsiU elements (TS 119 182-1 §5.3.1)",
                    )),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(invalid("etsiU is not an array")),
        };
        let string = |name: &str| {
            members
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| invalid(format!("a JWS signature entry has no {name}")))
        };
        Ok(Self {
            protected: string("protected")?,
            signature: string("signature")?,
            members,
            unprotected,
            etsi_u,
            header: header.clone(),
        })
    }

    /// The `etsiU` elements decoded: (name, value) of each one-member object.
    fn decoded(&self) -> Result<Vec<(String, Value)>, AdesError> {
        self.etsi_u
            .iter()
            .map(|e| {
                let object = BASE64URL_NOPAD
                    .decode(e.as_bytes())
                    .ok()
                    .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
                match object {
                    Some(Value::Object(m)) if m.len() == 1 => {
                        Ok(m.into_iter().next().unwrap_or((String::new(), Value::Null)))
                    }
                    _ => Err(invalid(
                        "an etsiU element is not a base64url-encoded JSON object of one member",
                    )),
                }
            })
            .collect()
    }

    fn has(&self) -> Has {
        let names: Vec<String> = self
            .decoded()
            .map(|d| d.into_iter().map(|(k, _)| k).collect())
            .unwrap_or_default();
        let any = |n: &str| names.iter().any(|k| k == n);
        Has {
            time_stamp: any("sigTst"),
            validation_data: any("xVals") || any("rVals"),
            archive_time_stamp: any("arcTst"),
        }
    }

    /// The tokens of the `etsiU` time-stamps named `name` (`tstTokens[].val`), in order.
    fn tokens(&self, name: &str) -> Result<Vec<Vec<u8>>, AdesError> {
        let mut out = Vec::new();
        for (k, v) in self.decoded()? {
            if k != name {
                continue;
            }
            for t in v["tstTokens"].as_array().into_iter().flatten() {
                let token = t["val"]
                    .as_str()
                    .and_then(|s| BASE64.decode(s.as_bytes()).ok())
                    .ok_or_else(|| invalid(format!("a {name} token is not Base64")))?;
                out.push(token);
            }
        }
        Ok(out)
    }

    /// The hash of the JWS algorithm, for new time-stamps (SHA-256 for others).
    fn hash(&self) -> HashAlgorithm {
        match self.header.get("alg").and_then(Value::as_str) {
            Some(a) if a.ends_with("384") => HashAlgorithm::Sha384,
            Some(a) if a.ends_with("512") => HashAlgorithm::Sha512,
            _ => HashAlgorithm::Sha256,
        }
    }

    /// `x5c` certificates, from the protected header or else the unprotected one.
    fn x5c(&self) -> Vec<Vec<u8>> {
        let list = self
            .header
            .get("x5c")
            .or_else(|| self.unprotected.get("x5c"))
            .and_then(Value::as_array);
        list.into_iter()
            .flatten()
            .filter_map(|c| c.as_str().and_then(|s| BASE64.decode(s.as_bytes()).ok()))
            .collect()
    }

    fn signer_certificate(&self) -> Result<Vec<u8>, AdesError> {
        self.x5c()
            .into_iter()
            .next()
            .ok_or_else(|| no_signer_certificate("the JWS (no x5c)"))
    }

    /// The certificates and revocation values the signature carries (x5c, xVals, rVals,
    /// tstVD).
    fn embedded(&self) -> Revocation {
        let mut out = Revocation {
            certificates: self.x5c(),
            ..Default::default()
        };
        let vals = |v: &Value| -> Vec<Vec<u8>> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(|i| i["val"].as_str().or_else(|| i["x509Cert"]["val"].as_str()))
                .filter_map(|s| BASE64.decode(s.as_bytes()).ok())
                .collect()
        };
        for (k, v) in self.decoded().unwrap_or_default() {
            let (x, r) = match k.as_str() {
                "xVals" => (Some(v), None),
                "rVals" => (None, Some(v)),
                "tstVD" => (v.get("xVals").cloned(), v.get("rVals").cloned()),
                _ => continue,
            };
            if let Some(x) = x {
                out.certificates.extend(vals(&x));
            }
            if let Some(r) = r {
                out.crls.extend(vals(&r["crlVals"]));
                out.ocsp.extend(vals(&r["ocspVals"]));
            }
        }
        out
    }

    fn push(&mut self, element: Value) -> Result<(), AdesError> {
        self.etsi_u.push(own::etsi_u_entry(&element)?);
        Ok(())
    }

    fn write(&self) -> Result<String, AdesError> {
        let mut members = self.members.clone();
        let mut unprotected = self.unprotected.clone();
        if !self.etsi_u.is_empty() {
            unprotected.insert("etsiU".into(), json!(self.etsi_u));
        }
        if !unprotected.is_empty() {
            members.insert("header".into(), Value::Object(unprotected));
        }
        String::from_utf8(own::to_json(&Value::Object(members))?)
            .map_err(|e| AdesError::Internal(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::extend::test_support::{Augment, Judges, assert_validation_data, python_key};
    use crate::test_pki::TestPki;
    use crate::test_pki::request;
    use crate::{Content, Envelope};

    const PAYLOAD: &[u8] = b"{\"invoice\": 42}";

    /// Recomputes every arcTst input (TS 119 182-1 §5.3.6.3.1: payload, protected header,
    /// signature, the etsiU elements before it) and compares its digest with the token's
    /// messageImprint (asn1crypto). argv: JWS JSON [detached payload].
    const ARC_TST_CHECK: &str = r#"
import base64, hashlib, json, sys
from asn1crypto import cms, tsp  # tsp: TSTInfo parsing
jws = json.load(open(sys.argv[1]))
payload = jws.get('payload')
if payload is None:
    payload = base64.urlsafe_b64encode(open(sys.argv[2], 'rb').read()).rstrip(b'=').decode()
checked = 0
for entry in jws.get('signatures') or [jws]:
    etsi_u = entry['header']['etsiU']
    for i, element in enumerate(etsi_u):
        value = json.loads(base64.urlsafe_b64decode(element + '=' * (-len(element) % 4)))
        if 'arcTst' not in value:
            continue
        data = '.'.join([payload, entry['protected'], entry['signature'], ''.join(etsi_u[:i])]).encode()
        token = cms.ContentInfo.load(base64.b64decode(value['arcTst']['tstTokens'][0]['val']))
        imprint = token['content']['encap_content_info']['content'].parsed['message_imprint']
        digest = hashlib.new(imprint['hash_algorithm']['algorithm'].native, data).digest()
        assert digest == imprint['hashed_message'].native, 'arcTst imprint differs'
        checked += 1
assert checked, 'no arcTst'
print('%d arcTst imprints match' % checked)
"#;

    /// jwcrypto signs argv[1] (payload) with key argv[2] and certificates argv[3..] in x5c,
    /// `sigT` in the protected header, compact serialization to stdout.
    const JWCRYPTO_SIGN: &str = r#"
import base64, json, sys, time
from jwcrypto import jwk, jws
key = jwk.JWK.from_pem(open(sys.argv[2], 'rb').read())
x5c = [base64.b64encode(open(c, 'rb').read()).decode() for c in sys.argv[3:]]
header = {'alg': 'ES256', 'x5c': x5c, 'sigT': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}
token = jws.JWS(open(sys.argv[1], 'rb').read())
token.add_signature(key, None, json.dumps(header))
sys.stdout.write(token.serialize(compact=True))
"#;

    /// The names of the etsiU elements of each signature.
    fn etsi_u_names(jws: &[u8]) -> Vec<Vec<String>> {
        let doc = own::parse_jws(jws).unwrap();
        doc.signatures
            .iter()
            .zip(&doc.headers)
            .map(|(t, h)| {
                Entry::read(t, h)
                    .unwrap()
                    .decoded()
                    .unwrap()
                    .into_iter()
                    .map(|(k, _)| k)
                    .collect()
            })
            .collect()
    }

    fn names(list: &[&str]) -> Vec<Vec<String>> {
        vec![list.iter().map(|s| s.to_string()).collect()]
    }

    /// jwcrypto (validate.sh jades) and the arcTst recomputation.
    fn judge(j: &Judges, f: &TestPki, jws: &[u8], payload: Option<&[u8]>) {
        let file = j.file("sig.json", jws);
        let ca = j.ca(f);
        let detached = payload.map(|p| j.file("payload", p));
        let mut args: Vec<&Path> = vec![&file, &ca];
        args.extend(detached.as_deref());
        let (ok, log) = j.validate("jades", &args);
        assert!(ok, "validate.sh jades:\n{log}");
        if String::from_utf8_lossy(jws).contains("\"etsiU\"") && Entry::has_archive(jws) {
            let mut args: Vec<&Path> = vec![&file];
            args.extend(detached.as_deref());
            let (ok, log) = j.python(ARC_TST_CHECK, &args);
            assert!(ok, "{log}");
        }
    }

    impl Entry {
        fn has_archive(jws: &[u8]) -> bool {
            etsi_u_names(jws).iter().flatten().any(|n| n == "arcTst")
        }
    }

    #[test]
    fn attached_step_by_step_and_renewed() {
        let f = TestPki::new();
        let judges = Judges::find();
        let bb = f.make(Format::Jades, Level::BB, Envelope::Attached, PAYLOAD);
        let t = f.extend(&bb, None, Level::BT).unwrap();
        assert_eq!(t.format, Format::Jades);
        assert_eq!(t.added, ["signature time-stamp (sigTst)"]);
        assert_eq!(etsi_u_names(&t.output), names(&["sigTst"]));
        let lt = f.extend(&t.output, None, Level::BLt).unwrap();
        // x5c holds the signer and CA certificates: only the TSA's is new.
        assert_eq!(
            lt.added,
            ["validation data for 1 certificate, 2 CRLs, 2 OCSP responses (xVals, rVals)"]
        );
        assert_validation_data(&lt.validation_info, &f);
        assert_eq!(
            etsi_u_names(&lt.output),
            names(&["sigTst", "xVals", "rVals"])
        );
        let lta = f.extend(&lt.output, None, Level::BLta).unwrap();
        assert_eq!(lta.added, ["archive time-stamp (arcTst)"]);
        assert_eq!(
            etsi_u_names(&lta.output),
            names(&["sigTst", "xVals", "rVals", "arcTst"])
        );
        assert_eq!(
            f.extend(&lta.output, None, Level::BT),
            Err(AdesError::InvalidRequest(
                "the JAdES signature is already B-LTA: there is nothing to add for B-T".into()
            ))
        );
        let renewed = f.extend(&lta.output, None, Level::BLta).unwrap();
        assert_eq!(
            etsi_u_names(&renewed.output),
            names(&["sigTst", "xVals", "rVals", "arcTst", "arcTst"])
        );
        // Protected header, payload and signature value are kept.
        let before: Value = serde_json::from_slice(&bb).unwrap();
        let after: Value = serde_json::from_slice(&renewed.output).unwrap();
        for k in ["protected", "payload", "signature"] {
            assert_eq!(before[k], after[k], "{k}");
        }
        if let Some(j) = &judges {
            for out in [&t.output, &lt.output, &lta.output, &renewed.output] {
                judge(j, &f, out, None);
            }
        }
    }

    #[test]
    fn compact_detached_and_parallel() {
        let f = TestPki::new();
        let judges = Judges::find();
        // A compact JWS (Signet's flattened B-B, re-serialized) becomes flattened JSON.
        let flat: Value =
            serde_json::from_slice(&f.make(Format::Jades, Level::BB, Envelope::Attached, PAYLOAD))
                .unwrap();
        let compact = format!(
            "{}.{}.{}",
            flat["protected"].as_str().unwrap(),
            flat["payload"].as_str().unwrap(),
            flat["signature"].as_str().unwrap()
        );
        let lt = f.extend(compact.as_bytes(), None, Level::BLt).unwrap();
        assert_eq!(
            lt.added,
            [
                "converted from the compact to the flattened JSON serialization (etsiU needs an unprotected header)",
                "signature time-stamp (sigTst)",
                "validation data for 1 certificate, 2 CRLs, 2 OCSP responses (xVals, rVals)"
            ]
        );
        let out: Value = serde_json::from_slice(&lt.output).unwrap();
        for k in ["protected", "payload", "signature"] {
            assert_eq!(out[k], flat[k], "{k}");
        }

        let detached = f.make(Format::Jades, Level::BB, Envelope::Detached, PAYLOAD);
        assert_eq!(
            f.extend(&detached, None, Level::BLta),
            Err(AdesError::InvalidRequest(
                "the JAdES signature is detached: its archive time-stamp covers the payload, so send the document with it".into()
            ))
        );
        let detached_lta = f.extend(&detached, Some(PAYLOAD), Level::BLta).unwrap();
        assert_eq!(detached_lta.added.len(), 3);
        assert!(!String::from_utf8_lossy(&detached_lta.output).contains("\"payload\""));

        let parallel = f.make(
            Format::Jades,
            Level::BB,
            Envelope::Parallel,
            &f.make(Format::Jades, Level::BT, Envelope::Attached, PAYLOAD),
        );
        let both = f.extend(&parallel, None, Level::BLta).unwrap();
        assert_eq!(
            both.added,
            [
                "signature time-stamp (sigTst)",
                "validation data for 1 certificate, 4 CRLs, 4 OCSP responses (xVals, rVals)",
                "archive time-stamp (arcTst) on 2 signatures"
            ]
        );
        assert_eq!(
            etsi_u_names(&both.output),
            vec![
                names(&["sigTst", "xVals", "rVals", "arcTst"]).remove(0),
                names(&["sigTst", "xVals", "rVals", "arcTst"]).remove(0)
            ]
        );

        // A sigD signature over a digest: B-LT yes, B-LTA no.
        let digest = HashAlgorithm::Sha256.digest(PAYLOAD);
        let sig_d = f.make_request(
            &f.key,
            request(
                &f.signer,
                Format::Jades,
                Level::BB,
                Envelope::Detached,
                Content::Digest(digest),
            ),
        );
        assert!(f.extend(&sig_d, None, Level::BLt).is_ok());
        assert_eq!(
            f.extend(&sig_d, Some(PAYLOAD), Level::BLta),
            Err(AdesError::InvalidDocument(
                "the JAdES signature references its data with sigD or an unencoded payload (b64=false): Signet cannot compute the archive time-stamp input for it".into()
            ))
        );
        if let Some(j) = &judges {
            judge(j, &f, &lt.output, None);
            judge(j, &f, &detached_lta.output, Some(PAYLOAD));
            judge(j, &f, &both.output, None);
        }
    }

    /// A JWS jwcrypto signs (compact, x5c from the test CA) goes to B-LTA and still verifies.
    #[test]
    fn a_jwcrypto_signature_extended_to_lta() {
        let Some(j) = Judges::find() else { return };
        let f = TestPki::new();
        let (key, spki) = python_key(&j);
        let cert = j.file("cert.der", &f.certify(&spki));
        let ca = j.file("ca.der", &f.ca.certificate);
        let payload = j.file("payload.json", PAYLOAD);
        let (ok, compact) = j.python(JWCRYPTO_SIGN, &[&payload, &key, &cert, &ca]);
        assert!(ok, "{compact}");
        let lta = f
            .extend(compact.trim().as_bytes(), None, Level::BLta)
            .unwrap();
        assert_eq!(lta.added.len(), 4, "{:?}", lta.added);
        assert_eq!(
            etsi_u_names(&lta.output),
            names(&["sigTst", "xVals", "rVals", "arcTst"])
        );
        judge(&j, &f, &lta.output, None);
    }

    #[test]
    fn refusals() {
        let f = TestPki::new();
        assert!(matches!(
            f.extend(br#"{"a": 1}"#, None, Level::BT),
            Err(AdesError::InvalidDocument(m)) if m == "the document is not a JAdES signature: it is neither a general nor a flattened JWS JSON serialization"
        ));
        let bb: Value =
            serde_json::from_slice(&f.make(Format::Jades, Level::BB, Envelope::Attached, PAYLOAD))
                .unwrap();
        let mut clear = bb.clone();
        clear["header"] = json!({ "etsiU": [{ "sigTst": {} }] });
        assert_eq!(
            f.extend(clear.to_string().as_bytes(), None, Level::BT),
            Err(AdesError::InvalidDocument(
                "etsiU holds unencoded JSON objects: Signet extends only base64url-encoded etsiU elements (TS 119 182-1 §5.3.1)".into()
            ))
        );
        let header = BASE64URL_NOPAD.encode(br#"{"alg":"ES256"}"#);
        let no_x5c = json!({ "protected": header, "payload": "e30", "signature": "AAAA" });
        assert_eq!(
            f.extend(no_x5c.to_string().as_bytes(), None, Level::BLt),
            Err(AdesError::InvalidDocument(
                "the signer certificate is not in the JWS (no x5c): it is needed to collect the validation data".into()
            ))
        );
    }
}
