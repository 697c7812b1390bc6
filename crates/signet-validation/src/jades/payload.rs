//! What a JAdES signature signs: the JWS Payload (attached, or detached and given beside the
//! signature, RFC 7515 Appendix F) or the data objects `sigD` references (TS 119 182-1
//! §5.2.8), matched to the detached documents by name, digest or order.

use std::borrow::Cow;

use crate::{Check, DetachedContent, SignedDataObject};

use super::header::{Header, Mechanism, SigD};
use super::json;

/// A JWS Payload the signature may have signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The payload as it enters the signing input.
    pub bytes: Vec<u8>,
    /// The detached document it comes from, when several could be meant.
    pub name: Option<String>,
}

/// The signed data of one signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedData {
    pub objects: Vec<SignedDataObject>,
    /// The JWS Payloads to try in the signing input (several when detached documents cannot
    /// be told apart); `Err`: why none can be formed.
    pub payloads: Result<Vec<Candidate>, String>,
    /// Whether the objects are inside the signing input, so that the signature value is what
    /// proves them intact.
    pub in_signing_input: bool,
    /// What the signed data adds to `adoTst` and `arcTst` imprints (TS 119 182-1 §5.3.6.3.1
    /// steps 1-2); `None`: the JWS Payload the signature value verified with.
    pub stamped: Option<Result<Vec<u8>, String>>,
    pub constraint_failures: Vec<String>,
}

const NOT_GIVEN: &str = "the detached payload was not given";

/// Whether a document's digest is the one `sigD` holds for it.
type DigestMatches<'a> = &'a dyn Fn(&[u8]) -> bool;

/// The signed data of a signature with `header` over `payload` (the `payload` member or the
/// compact payload part; `None` when absent), with `detached` documents.
pub fn read(
    payload: Option<&str>,
    header: &Header,
    detached: &[DetachedContent],
) -> Result<SignedData, String> {
    let payload = payload.filter(|p| !p.is_empty());
    let Some(sig_d) = &header.sig_d else {
        return Ok(match payload {
            Some(p) => attached(p, header.b64)?,
            None => simple_detached(detached, header.b64),
        });
    };
    let mut data = match sig_d.mechanism {
        Mechanism::HttpHeaders => http_headers(sig_d),
        Mechanism::ObjectIdByUri => by_uri(sig_d, detached, header.b64),
        Mechanism::ObjectIdByUriHash => by_uri_hash(sig_d, detached, header.b64, payload),
    };
    if payload.is_some() {
        data.constraint_failures
            .push("the JWS Payload is not empty although sigD references the signed data".into());
    }
    Ok(data)
}

fn attached(payload: &str, b64: bool) -> Result<SignedData, String> {
    if b64 {
        json::b64url(payload).map_err(|e| format!("the payload is {e}"))?;
    }
    Ok(SignedData {
        objects: vec![pending("payload".into())],
        payloads: Ok(vec![Candidate {
            bytes: payload.as_bytes().to_vec(),
            name: None,
        }]),
        in_signing_input: true,
        stamped: None,
        constraint_failures: Vec::new(),
    })
}

/// RFC 7515 Appendix F: the payload is left out and the signing input covers the document
/// given beside the signature.
fn simple_detached(detached: &[DetachedContent], b64: bool) -> SignedData {
    if detached.is_empty() {
        return SignedData {
            objects: vec![SignedDataObject {
                name: "detached payload".into(),
                found: Check::Failed(NOT_GIVEN.into()),
                intact: Check::NotChecked(NOT_GIVEN.into()),
            }],
            payloads: Err(NOT_GIVEN.into()),
            in_signing_input: true,
            stamped: None,
            constraint_failures: Vec::new(),
        };
    }
    let name = |d: &DetachedContent| {
        d.name
            .clone()
            .unwrap_or_else(|| "detached payload".to_string())
    };
    SignedData {
        objects: vec![pending(detached.first().map(name).unwrap_or_default())],
        payloads: Ok(detached
            .iter()
            .map(|d| Candidate {
                bytes: encoded(&d.bytes, b64).into_owned(),
                name: Some(name(d)),
            })
            .collect()),
        in_signing_input: true,
        stamped: None,
        constraint_failures: Vec::new(),
    }
}

fn http_headers(sig_d: &SigD) -> SignedData {
    let why = "the HttpHeaders mechanism signs HTTP header fields of a message this validator is not given";
    SignedData {
        objects: sig_d
            .pars
            .iter()
            .map(|p| SignedDataObject {
                name: p.clone(),
                found: Check::NotChecked(why.into()),
                intact: Check::NotChecked(why.into()),
            })
            .collect(),
        payloads: Err(why.into()),
        in_signing_input: true,
        stamped: Some(Err(why.into())),
        constraint_failures: Vec::new(),
    }
}

/// ObjectIdByURI: the JWS Payload is the referenced objects, each base64url-encoded unless
/// `b64` is false, concatenated in `pars` order.
fn by_uri(sig_d: &SigD, detached: &[DetachedContent], b64: bool) -> SignedData {
    let docs: Vec<Option<&DetachedContent>> = (0..sig_d.pars.len())
        .map(|i| find(&sig_d.pars, i, detached, None))
        .collect();
    let objects = sig_d
        .pars
        .iter()
        .zip(&docs)
        .map(|(p, d)| match d {
            Some(_) => pending(p.clone()),
            None => missing(p),
        })
        .collect();
    let payload = concatenated(&sig_d.pars, &docs, b64);
    SignedData {
        objects,
        payloads: payload.map(|bytes| vec![Candidate { bytes, name: None }]),
        in_signing_input: true,
        stamped: None,
        constraint_failures: Vec::new(),
    }
}

/// ObjectIdByURIHash: `hashV` holds the digest of every object (of its base64url encoding
/// unless `b64` is false, as EU DSS computes it); the JWS Payload is empty.
fn by_uri_hash(
    sig_d: &SigD,
    detached: &[DetachedContent],
    b64: bool,
    payload: Option<&str>,
) -> SignedData {
    let digest_of = |doc: &[u8]| -> Option<Vec<u8>> {
        match &sig_d.hash {
            Some(Ok(h)) => Some(h.digest(&encoded(doc, b64))),
            _ => None,
        }
    };
    let mut docs = Vec::with_capacity(sig_d.pars.len());
    let mut objects = Vec::with_capacity(sig_d.pars.len());
    for (i, (name, expected)) in sig_d.pars.iter().zip(&sig_d.hash_v).enumerate() {
        let matches = |doc: &[u8]| digest_of(doc).as_ref() == Some(expected);
        let doc = find(&sig_d.pars, i, detached, Some(&matches));
        let intact = match (doc, &sig_d.hash) {
            (None, _) => Check::NotChecked(format!("the detached document {name:?} was not given")),
            (Some(d), Some(Ok(h))) => Check::from_bool(matches(&d.bytes), || {
                format!(
                    "the {} digest of the detached document {name:?} does not match sigD hashV",
                    h.name()
                )
            }),
            (Some(_), Some(Err(e))) => Check::NotChecked(format!("sigD hashM: {e}")),
            (Some(_), None) => Check::NotChecked("sigD has no hashM".into()),
        };
        objects.push(SignedDataObject {
            name: name.clone(),
            found: match doc {
                Some(_) => Check::Passed,
                None => Check::Failed(format!("the detached document {name:?} was not given")),
            },
            intact,
        });
        docs.push(doc);
    }
    SignedData {
        objects,
        payloads: Ok(vec![Candidate {
            bytes: payload.unwrap_or_default().as_bytes().to_vec(),
            name: None,
        }]),
        in_signing_input: false,
        stamped: Some(concatenated(&sig_d.pars, &docs, b64)),
        constraint_failures: Vec::new(),
    }
}

/// An object found, whose integrity the signature value decides.
fn pending(name: String) -> SignedDataObject {
    SignedDataObject {
        name,
        found: Check::Passed,
        intact: Check::NotChecked("the signature value was not checked".into()),
    }
}

fn missing(name: &str) -> SignedDataObject {
    let why = format!("the detached document {name:?} was not given");
    SignedDataObject {
        name: name.to_owned(),
        found: Check::Failed(why.clone()),
        intact: Check::NotChecked(why),
    }
}

/// A document as the JWS Payload carries it: base64url unless `b64` is false (RFC 7797).
fn encoded(doc: &[u8], b64: bool) -> Cow<'_, [u8]> {
    if b64 {
        Cow::Owned(json::to_b64url(doc).into_bytes())
    } else {
        Cow::Borrowed(doc)
    }
}

/// The documents, encoded, in `pars` order; `Err` names the first one missing.
fn concatenated(
    pars: &[String],
    docs: &[Option<&DetachedContent>],
    b64: bool,
) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for (name, doc) in pars.iter().zip(docs) {
        let doc = doc.ok_or_else(|| format!("the detached document {name:?} was not given"))?;
        out.extend_from_slice(&encoded(&doc.bytes, b64));
    }
    Ok(out)
}

/// The detached document `pars[i]` references: by name (the URI reference as written or
/// percent-decoded, or its last path segment), the only document for the only reference, by
/// digest (ObjectIdByURIHash, as EU DSS does), or by position when no document is named.
fn find<'d>(
    pars: &[String],
    i: usize,
    detached: &'d [DetachedContent],
    digest_matches: Option<DigestMatches<'_>>,
) -> Option<&'d DetachedContent> {
    let reference = pars.get(i)?;
    let decoded = percent_decode(reference);
    let segment = decoded.rsplit('/').next().unwrap_or(&decoded);
    let by_name = detached.iter().find(|d| {
        d.name
            .as_deref()
            .is_some_and(|n| n == reference || n == decoded || n == segment)
    });
    if by_name.is_some() {
        return by_name;
    }
    if pars.len() == 1 && detached.len() == 1 {
        return detached.first();
    }
    if let Some(matches) = digest_matches
        && let Some(d) = detached.iter().find(|d| matches(&d.bytes))
    {
        return Some(d);
    }
    if detached.iter().all(|d| d.name.is_none()) {
        return detached.get(i);
    }
    None
}

/// RFC 3986 percent-decoding; an invalid escape is kept as written.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_core::HashAlgorithm;

    fn doc(name: Option<&str>, bytes: &[u8]) -> DetachedContent {
        DetachedContent {
            name: name.map(str::to_owned),
            bytes: bytes.to_vec(),
        }
    }

    fn pars(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn documents_are_found_by_name_digest_or_order() {
        let docs = [doc(Some("a b.txt"), b"A"), doc(Some("b.txt"), b"B")];
        let p = pars(&["dir/a%20b.txt", "b.txt", "c.txt"]);
        assert_eq!(find(&p, 0, &docs, None), Some(&docs[0]));
        assert_eq!(find(&p, 1, &docs, None), Some(&docs[1]));
        assert_eq!(find(&p, 2, &docs, None), None);
        let is_b = |d: &[u8]| d == b"B";
        assert_eq!(find(&p, 2, &docs, Some(&is_b)), Some(&docs[1]));
        let unnamed = [doc(None, b"1"), doc(None, b"2")];
        assert_eq!(find(&p, 1, &unnamed, None), Some(&unnamed[1]));
        assert_eq!(find(&p, 2, &unnamed, None), None);
        // One reference, one document: whatever its name.
        let one = [doc(Some("other"), b"x")];
        assert_eq!(find(&pars(&["document"]), 0, &one, None), Some(&one[0]));
        assert_eq!(percent_decode("a%2Fb%zz%4"), "a/b%zz%4");
    }

    #[test]
    fn uri_hash_digests_follow_b64() {
        let sig_d = SigD {
            mechanism: Mechanism::ObjectIdByUriHash,
            pars: pars(&["x", "y"]),
            hash: Some(Ok(HashAlgorithm::Sha256)),
            hash_v: vec![
                HashAlgorithm::Sha256.digest(b"X"),
                HashAlgorithm::Sha256.digest(json::to_b64url(b"Y").as_bytes()),
            ],
        };
        let docs = [doc(Some("x"), b"X"), doc(Some("y"), b"Y")];
        let raw = by_uri_hash(&sig_d, &docs, false, None);
        assert_eq!(raw.objects[0].intact, Check::Passed);
        assert!(matches!(raw.objects[1].intact, Check::Failed(_)));
        assert_eq!(raw.stamped, Some(Ok(b"XY".to_vec())));
        let encoded = by_uri_hash(&sig_d, &docs, true, None);
        assert!(matches!(encoded.objects[0].intact, Check::Failed(_)));
        assert_eq!(encoded.objects[1].intact, Check::Passed);
        assert_eq!(
            encoded.stamped,
            Some(Ok(b"WA".iter().chain(b"WQ").copied().collect()))
        );
        let partial = by_uri_hash(&sig_d, &docs[..1], false, None);
        assert!(matches!(partial.objects[1].found, Check::Failed(_)));
        assert!(matches!(partial.stamped, Some(Err(_))));
        assert!(!partial.in_signing_input);
    }

    #[test]
    fn object_id_by_uri_concatenates_the_documents() {
        let sig_d = SigD {
            mechanism: Mechanism::ObjectIdByUri,
            pars: pars(&["x", "y"]),
            hash: None,
            hash_v: Vec::new(),
        };
        let docs = [doc(Some("y"), b"Y"), doc(Some("x"), b"X")];
        let data = by_uri(&sig_d, &docs, false);
        assert_eq!(
            data.payloads,
            Ok(vec![Candidate {
                bytes: b"XY".to_vec(),
                name: None
            }])
        );
        let data = by_uri(&sig_d, &docs[..1], true);
        assert!(matches!(data.objects[0].found, Check::Failed(_)));
        assert_eq!(data.objects[1].found, Check::Passed);
        assert!(data.payloads.is_err());
    }
}
