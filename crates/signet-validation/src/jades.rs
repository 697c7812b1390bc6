//! The JAdES reader (ETSI TS 119 182-1): a JWS in the compact, flattened JSON or general JSON
//! serialization (RFC 7515 §7), one evidence per signature.
//!
//! What the format alone can check: the signature value over the JWS Signing Input
//! (`BASE64URL(protected) '.' payload`, with the payload as RFC 7797 `b64` says) under the
//! signing certificate of `x5c` (or the certificate `x5t#S256`/`x5t#o`/`sigX5ts` names among
//! those carried), that signed reference, the digests of `sigD` objects, the baseline rules on
//! the headers (TS 119 182-1 §6.3), and the imprints of `sigTst`, `arcTst` and `adoTst`
//! time-stamps. Validation data comes from `x5c`, `xVals` and `rVals`.
//!
//! Everything is bounded: the input by [`Limits::max_document_bytes`], JSON nesting by
//! serde_json's recursion limit, and the counts of signatures, certificates, `etsiU` elements,
//! `sigD` objects and time-stamps by the constants below — each time-stamp and each signature
//! hashes at most the input and the detached documents once.

mod header;
mod json;
mod payload;
#[cfg(test)]
mod tests;
mod unsigned;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use signet_core::HashAlgorithm;

use self::header::{CertRef, Header};
use self::payload::{Candidate, SignedData};
use self::unsigned::{Cover, Element, Stamp};
use crate::crypto::{self, EcdsaEncoding, SignatureAlgorithm};
use crate::{
    Check, DetachedContent, Format, Limits, SignatureEvidence, TimestampEvidence, TimestampKind,
    ValidationError, timestamp,
};

/// The most signatures one JWS may have.
const MAX_SIGNATURES: usize = 100;
/// The most time-stamps read in one file: each may hash the whole payload.
const MAX_TIMESTAMPS: usize = 100;
/// The largest protected header, as base64url text.
const MAX_HEADER_BYTES: usize = 4 << 20;

/// Finds every JAdES signature in `input` and checks what the format alone can check.
/// `NotASignature` when the input is not a JWS; a signature that cannot be read gives an
/// evidence with `format_error` set.
pub fn read(
    input: &[u8],
    detached: &[DetachedContent],
    limits: &Limits,
) -> Result<Vec<SignatureEvidence>, ValidationError> {
    let jws = Jws::parse(input, limits)?;
    let mut budget = MAX_TIMESTAMPS;
    let mut out: Vec<SignatureEvidence> = Vec::with_capacity(jws.entries.len());
    for entry in &jws.entries {
        let mut evidence = Signature::read(&jws, entry, detached).evidence(&mut budget);
        // Two entries with the same value (a copied signature) still get distinct ids.
        let base = evidence.id.clone();
        let mut n = 1;
        while out.iter().any(|e| e.id == evidence.id) {
            n += 1;
            evidence.id = format!("{base}-{n}");
        }
        out.push(evidence);
    }
    Ok(out)
}

fn not_a_jws(why: &str) -> ValidationError {
    ValidationError::NotASignature(format!("not a JWS: {why}"))
}

/// A JWS, split into its signatures.
#[derive(Debug)]
struct Jws {
    /// The `payload` member or the compact payload part; `None` when absent.
    payload: Option<String>,
    entries: Vec<Result<Entry, Unreadable>>,
    /// A fault of the whole JWS (a duplicate member, mixed serializations), reported on every
    /// signature.
    error: Option<String>,
}

/// One signature's members.
#[derive(Debug)]
struct Entry {
    /// BASE64URL(UTF8(JWS Protected Header)), as written.
    protected: String,
    /// The JWS Unprotected Header (empty when absent).
    unprotected: Map<String, Value>,
    /// The `etsiU` elements as written.
    etsi_u: Vec<Box<RawValue>>,
    /// BASE64URL(JWS Signature), as written.
    signature: String,
}

/// A signature entry that cannot be read: why, and its text (for an identifier).
#[derive(Debug)]
struct Unreadable {
    why: String,
    text: String,
}

impl Jws {
    fn parse(input: &[u8], limits: &Limits) -> Result<Self, ValidationError> {
        if input.len() > limits.max_document_bytes {
            return Err(ValidationError::TooLarge(format!(
                "the JWS has {} bytes, more than the limit of {} bytes",
                input.len(),
                limits.max_document_bytes
            )));
        }
        let text = std::str::from_utf8(input).map_err(|_| not_a_jws("not UTF-8 text"))?;
        let text = text.trim_start_matches('\u{feff}').trim();
        if text.starts_with('{') {
            Self::parse_json(text)
        } else {
            Self::parse_compact(text)
        }
    }

    /// RFC 7515 §7.1: BASE64URL(header) '.' payload '.' BASE64URL(signature); an empty
    /// payload part is a detached payload (Appendix F).
    fn parse_compact(text: &str) -> Result<Self, ValidationError> {
        let parts: Vec<&str> = text.splitn(4, '.').collect();
        let [protected, payload, signature] = parts.as_slice() else {
            return Err(not_a_jws("neither JSON nor three dot-separated parts"));
        };
        let header = json::b64url(protected)
            .ok()
            .and_then(|h| String::from_utf8(h).ok())
            .filter(|h| serde_json::from_str::<Map<String, Value>>(h).is_ok());
        if protected.len() > MAX_HEADER_BYTES || header.is_none() {
            return Err(not_a_jws("the first part is not a base64url JSON header"));
        }
        Ok(Self {
            payload: (!payload.is_empty()).then(|| (*payload).to_owned()),
            entries: vec![Ok(Entry {
                protected: (*protected).to_owned(),
                unprotected: Map::new(),
                etsi_u: Vec::new(),
                signature: (*signature).to_owned(),
            })],
            error: None,
        })
    }

    /// RFC 7515 §7.2: the general (`signatures`) or flattened serialization.
    fn parse_json(text: &str) -> Result<Self, ValidationError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| not_a_jws(&format!("invalid JSON: {e}")))?;
        let Value::Object(top) = &value else {
            return Err(not_a_jws("not a JSON object"));
        };
        let mut error = json::check_unique(text).err();
        let payload = match top.get("payload") {
            None => None,
            Some(Value::String(p)) => Some(p.clone()),
            Some(_) => {
                error.get_or_insert_with(|| "the payload member is not a string".into());
                None
            }
        };
        let flattened = ["protected", "header", "signature"]
            .iter()
            .any(|k| top.contains_key(*k));
        let entries = match top.get("signatures") {
            Some(signatures) => {
                let count = signatures
                    .as_array()
                    .ok_or_else(|| not_a_jws("signatures is not an array"))?
                    .len();
                if count == 0 {
                    return Err(not_a_jws("the signatures array is empty"));
                }
                if count > MAX_SIGNATURES {
                    return Err(ValidationError::TooLarge(format!(
                        "the JWS has {count} signatures, more than the {MAX_SIGNATURES} accepted"
                    )));
                }
                if flattened {
                    error.get_or_insert_with(|| {
                        "the JWS mixes the general and the flattened JSON serialization".into()
                    });
                }
                #[derive(Deserialize)]
                struct General {
                    signatures: Vec<Box<RawValue>>,
                }
                serde_json::from_str::<General>(text)
                    .map_err(|e| not_a_jws(&e.to_string()))?
                    .signatures
                    .iter()
                    .map(|raw| Entry::parse(raw.get()))
                    .collect()
            }
            None if top.contains_key("signature") => vec![Entry::parse(text)],
            None => return Err(not_a_jws("a JSON object without signature or signatures")),
        };
        Ok(Self {
            payload,
            entries,
            error,
        })
    }
}

impl Entry {
    /// One signature object: `protected`, `header`, `signature`.
    fn parse(text: &str) -> Result<Self, Unreadable> {
        #[derive(Deserialize)]
        struct Members {
            protected: Option<Value>,
            header: Option<Box<RawValue>>,
            signature: Option<Value>,
        }
        #[derive(Deserialize)]
        struct Unprotected {
            #[serde(rename = "etsiU")]
            etsi_u: Option<Vec<Box<RawValue>>>,
        }
        let unreadable = |why: String| Unreadable {
            why,
            text: text.to_owned(),
        };
        let m: Members = serde_json::from_str(text)
            .map_err(|e| unreadable(format!("a signature is not a JSON object: {e}")))?;
        let string = |v: Option<Value>, name: &str| match v {
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(unreadable(format!("the {name} member is not a string"))),
            None => Err(unreadable(format!("a signature has no {name} member"))),
        };
        let protected = string(m.protected, "protected")?;
        let signature = string(m.signature, "signature")?;
        let (unprotected, etsi_u) = match m.header {
            None => (Map::new(), Vec::new()),
            Some(raw) => {
                let map =
                    json::parse_object(raw.get(), "the unprotected header").map_err(unreadable)?;
                let etsi_u = serde_json::from_str::<Unprotected>(raw.get())
                    .map_err(|_| unreadable("etsiU is not a JSON array".into()))?
                    .etsi_u
                    .unwrap_or_default();
                (map, etsi_u)
            }
        };
        if protected.len() > MAX_HEADER_BYTES {
            return Err(unreadable(format!(
                "the protected header is larger than {MAX_HEADER_BYTES} bytes"
            )));
        }
        Ok(Self {
            protected,
            unprotected,
            etsi_u,
            signature,
        })
    }
}

/// One signature, read.
#[derive(Debug)]
struct Signature<'j> {
    evidence: SignatureEvidence,
    stamps: Vec<Stamp>,
    elements: Vec<Element>,
    protected: &'j str,
    signature: &'j str,
    /// What the signed data adds to content and archive time-stamp imprints.
    stamped: Result<Vec<u8>, String>,
}

impl<'j> Signature<'j> {
    fn read(
        jws: &'j Jws,
        entry: &'j Result<Entry, Unreadable>,
        detached: &[DetachedContent],
    ) -> Self {
        let (protected, signature, id) = match entry {
            Ok(e) => {
                let id = match json::b64url(&e.signature) {
                    Ok(value) => SignatureEvidence::id_for(&value),
                    Err(_) => SignatureEvidence::id_for(e.signature.as_bytes()),
                };
                (e.protected.as_str(), e.signature.as_str(), id)
            }
            Err(u) => ("", "", SignatureEvidence::id_for(u.text.as_bytes())),
        };
        let mut sig = Self {
            evidence: SignatureEvidence::new(id, Format::Jades),
            stamps: Vec::new(),
            elements: Vec::new(),
            protected,
            signature,
            stamped: Err("the signature could not be read".into()),
        };
        let result = match (&jws.error, entry) {
            (Some(e), _) => Err(e.clone()),
            (None, Err(u)) => Err(u.why.clone()),
            (None, Ok(e)) => sig.fill(e, jws.payload.as_deref(), detached),
        };
        if let Err(e) = result {
            sig.evidence.format_error = Some(e);
        }
        sig
    }

    /// Everything after the split into signatures; `Err` is a format failure.
    fn fill(
        &mut self,
        entry: &Entry,
        payload: Option<&str>,
        detached: &[DetachedContent],
    ) -> Result<(), String> {
        let value = json::b64url(&entry.signature).map_err(|e| format!("the signature is {e}"))?;
        let header_bytes =
            json::b64url(&entry.protected).map_err(|e| format!("the protected header is {e}"))?;
        let header_text = std::str::from_utf8(&header_bytes)
            .map_err(|_| "the protected header is not UTF-8".to_string())?;
        let protected = json::parse_object(header_text, "the protected header")?;
        let header = header::read(&protected, &entry.unprotected)?;
        let raw: Vec<&RawValue> = entry.etsi_u.iter().map(AsRef::as_ref).collect();
        let unsigned = unsigned::read(&raw)?;
        let data = payload::read(payload, &header, detached)?;

        let ev = &mut self.evidence;
        ev.signature_algorithm = Some(header.alg.clone());
        let alg = SignatureAlgorithm::from_jose(&header.alg);
        ev.digest_algorithm = alg.as_ref().ok().map(|a| a.hash());
        ev.claimed_signing_time = header.claimed_time;
        ev.constraint_failures
            .extend(header.constraint_failures.iter().cloned());
        ev.constraint_failures
            .extend(data.constraint_failures.iter().cloned());
        ev.constraint_failures
            .extend(unsigned.constraint_failures.iter().cloned());
        for cert in header.x5c.iter().chain(&unsigned.certificates) {
            if !ev.certificates.contains(cert) {
                ev.certificates.push(cert.clone());
            }
        }
        ev.crls = unsigned.crls;
        ev.ocsp_responses = unsigned.ocsp_responses;
        ev.has_validation_data = unsigned.has_x_vals && unsigned.has_r_vals;
        ev.signing_certificate = signing_certificate(&header, &ev.certificates);
        ev.signing_certificate_reference =
            reference_check(&header.cert_refs, ev.signing_certificate.as_deref());

        let (check, chosen) = verify_value(
            alg,
            ev.signing_certificate.as_deref(),
            &entry.protected,
            &data.payloads,
            &value,
        );
        let SignedData {
            mut objects,
            payloads,
            in_signing_input,
            stamped,
            ..
        } = data;
        let chosen = payloads
            .as_ref()
            .ok()
            .and_then(|p| p.get(chosen.unwrap_or(0)));
        if let (Some(Candidate { name: Some(n), .. }), Some(first)) = (chosen, objects.first_mut())
        {
            first.name = n.clone();
        }
        if in_signing_input {
            for o in objects.iter_mut().filter(|o| o.found.passed()) {
                o.intact = match &check {
                    Check::Passed => Check::Passed,
                    _ => Check::NotChecked(
                        "the signed data is protected by the signature value alone, which did not verify".into(),
                    ),
                };
            }
        }
        ev.signed_data = objects;
        ev.signature_value = check;
        self.stamped = match (stamped, chosen, &payloads) {
            (Some(s), _, _) => s,
            (None, Some(c), _) => Ok(c.bytes.clone()),
            (None, None, Err(why)) => Err(why.clone()),
            (None, None, Ok(_)) => Err("there is no JWS Payload".into()),
        };
        self.stamps = header
            .content_stamps
            .into_iter()
            .map(|token| Stamp {
                kind: TimestampKind::Content,
                token,
                cover: Cover::Content,
            })
            .chain(unsigned.stamps)
            .collect();
        self.elements = unsigned.elements;
        Ok(())
    }

    /// The evidence, with the time-stamps checked; `budget` is what the file has left.
    fn evidence(mut self, budget: &mut usize) -> SignatureEvidence {
        if self.stamps.len() > *budget {
            self.evidence.format_error.get_or_insert_with(|| {
                format!("the file holds more than {MAX_TIMESTAMPS} time-stamps")
            });
            return self.evidence;
        }
        *budget -= self.stamps.len();
        let timestamps = self.stamps.iter().map(|s| self.stamp_evidence(s)).collect();
        self.evidence.timestamps = timestamps;
        self.evidence
    }

    fn stamp_evidence(&self, stamp: &Stamp) -> TimestampEvidence {
        let mut best: Option<TimestampEvidence> = None;
        for form in 0..self.forms(stamp.cover) {
            let parts = match self.cover_parts(stamp.cover, form) {
                Ok(p) => p,
                Err(why) => {
                    let mut ev =
                        timestamp::evidence(stamp.kind, stamp.token.clone(), &|_| Vec::new());
                    if ev.time.is_some() {
                        ev.intact = Check::NotChecked(why);
                    }
                    return ev;
                }
            };
            let ev = timestamp::evidence(stamp.kind, stamp.token.clone(), &|h| digest(h, &parts));
            if ev.intact.passed() {
                return ev;
            }
            best.get_or_insert(ev);
        }
        best.unwrap_or_else(|| {
            timestamp::evidence(stamp.kind, stamp.token.clone(), &|_| Vec::new())
        })
    }

    /// How many ways the imprint input can be written: two when an archive time-stamp covers
    /// clear `etsiU` elements (as written, or their values as EU DSS hashes them).
    fn forms(&self, cover: Cover) -> usize {
        match cover {
            Cover::Archive { before } => self
                .elements
                .iter()
                .take(before)
                .map(|e| e.forms.len())
                .max()
                .unwrap_or(1)
                .max(1),
            _ => 1,
        }
    }

    /// The message imprint input of a time-stamp, in pieces.
    fn cover_parts(&self, cover: Cover, form: usize) -> Result<Vec<&[u8]>, String> {
        match cover {
            // TS 119 182-1 §5.3.4: the base64url JWS Signature Value.
            Cover::SignatureValue => Ok(vec![self.signature.as_bytes()]),
            Cover::Content => Ok(vec![self.stamped_data()?]),
            // §5.3.6.3.1: the signed data, '.', the protected header, '.', the signature
            // value, '.', and the etsiU elements before the time-stamp, as written.
            Cover::Archive { before } => {
                let mut parts = vec![
                    self.stamped_data()?,
                    b".",
                    self.protected.as_bytes(),
                    b".",
                    self.signature.as_bytes(),
                    b".",
                ];
                for e in self.elements.iter().take(before) {
                    if let Some(f) = e.forms.get(form).or(e.forms.first()) {
                        parts.push(f.as_bytes());
                    }
                }
                Ok(parts)
            }
        }
    }

    fn stamped_data(&self) -> Result<&[u8], String> {
        self.stamped
            .as_deref()
            .map_err(|e| format!("what the time-stamp covers cannot be formed: {e}"))
    }
}

fn digest(hash: HashAlgorithm, parts: &[&[u8]]) -> Vec<u8> {
    let mut ctx = aws_lc_rs::digest::Context::new(hash.aws_lc());
    for p in parts {
        ctx.update(p);
    }
    ctx.finish().as_ref().to_vec()
}

/// The signing certificate: the first of `x5c` (RFC 7515 §4.1.6), or else the carried
/// certificate the signed reference names.
fn signing_certificate(header: &Header, carried: &[Vec<u8>]) -> Option<Vec<u8>> {
    header.x5c.first().cloned().or_else(|| {
        carried
            .iter()
            .find(|c| header.cert_refs.iter().any(|r| r.matches(c)))
            .cloned()
    })
}

/// The signed reference (`x5t#S256`, `x5t#o`, `sigX5ts`) against the signing certificate.
fn reference_check(refs: &[CertRef], certificate: Option<&[u8]>) -> Check {
    if refs.is_empty() {
        return Check::NotChecked(
            "the signature has no x5t#S256, x5t#o or sigX5ts in its protected header".into(),
        );
    }
    let Some(cert) = certificate else {
        return Check::NotChecked(
            "no certificate in the signature matches its x5t#S256, x5t#o or sigX5ts".into(),
        );
    };
    if refs.iter().any(|r| r.matches(cert)) {
        return Check::Passed;
    }
    match refs.iter().find_map(|r| r.hash.as_ref().err()) {
        Some(e) if refs.iter().all(|r| r.hash.is_err()) => Check::NotChecked(e.clone()),
        _ => Check::Failed(
            "the signed certificate digest (x5t#S256, x5t#o or sigX5ts) does not match the signing certificate".into(),
        ),
    }
}

/// The signature value over `protected '.' payload`, for each candidate payload until one
/// verifies; the index of that one.
fn verify_value(
    alg: Result<SignatureAlgorithm, String>,
    certificate: Option<&[u8]>,
    protected: &str,
    payloads: &Result<Vec<Candidate>, String>,
    value: &[u8],
) -> (Check, Option<usize>) {
    let alg = match alg {
        Ok(a) => a,
        Err(e) => return (Check::Failed(e), None),
    };
    let Some(cert) = certificate else {
        return (
            Check::NotChecked("the signature has no signing certificate (x5c)".into()),
            None,
        );
    };
    let spki = match crypto::certificate_spki(cert) {
        Ok(s) => s,
        Err(e) => {
            return (
                Check::Failed(format!("the signing certificate cannot be read: {e}")),
                None,
            );
        }
    };
    let payloads = match payloads {
        Ok(p) => p,
        Err(why) => return (Check::NotChecked(why.clone()), None),
    };
    let mut last = String::from("there is no payload to verify");
    for (i, candidate) in payloads.iter().enumerate() {
        let mut input = Vec::with_capacity(protected.len() + 1 + candidate.bytes.len());
        input.extend_from_slice(protected.as_bytes());
        input.push(b'.');
        input.extend_from_slice(&candidate.bytes);
        match crypto::verify(spki, alg, &input, value, EcdsaEncoding::Fixed) {
            Ok(()) => return (Check::Passed, Some(i)),
            Err(e) => last = e,
        }
    }
    (Check::Failed(last), None)
}
