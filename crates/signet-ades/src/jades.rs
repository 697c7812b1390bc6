//! JAdES baseline signatures (ETSI TS 119 182-1), B-B to B-LTA.
//!
//! Every JAdES signature Signet writes uses the JWS JSON serialization (RFC 7515 §7.2): the
//! flattened form for Attached and Detached, the general form (`signatures` array) for
//! Parallel. One serialization for every level keeps B-B and B-T alike (B-T and above need
//! the unprotected `etsiU` header, which the compact serialization cannot carry).
//!
//! - Attached: `payload` is the base64url document.
//! - Detached with the document: RFC 7515 Appendix F, the `payload` member is left out; the
//!   JWS Signing Input still covers BASE64URL(document).
//! - Detached with a digest (CSC `documentDigests`): `sigD` with mechanism
//!   `http://uri.etsi.org/19182/ObjectIdByURIHash` (TS 119 182-1 §5.2.8.3.3) and `b64: false`
//!   (RFC 7797), so that `hashV` is the digest of the document octets themselves — the digest
//!   the client sent — and the JWS Payload is empty: the signing input is `BASE64URL(header).`.
//! - Parallel: one more entry in the `signatures` array of an existing JWS over the same
//!   payload; a flattened or compact JWS is converted to the general serialization.
//!
//! Unsigned properties (§5.3) go in the unprotected `etsiU` array, each element the base64url
//! encoding of a JSON object (`sigTst`, `xVals`, `rVals`, `arcTst`), so the archive time-stamp
//! input is the concatenation of those strings and no JSON canonicalization is needed.

use data_encoding::{BASE64, BASE64URL_NOPAD};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use signet_core::{HashAlgorithm, KeyType, PssSalt, SignMechanism};

use crate::cades::need_tsa;
use crate::cert::CertView;
use crate::ecdsa;
use crate::qualifying::{Policy, QualifyingProps};
use crate::timestamp;
use crate::{
    AdesError, Content, DocumentRequest, Envelope, Finished, Level, Output, Prepared, Revocation,
    State, TimeStamper, ValidationData,
};

/// The `sigD` mechanism for detached data objects referenced by URI with their digests in the
/// header (TS 119 182-1 §5.2.8.3.3).
pub const OBJECT_ID_BY_URI_HASH: &str = "http://uri.etsi.org/19182/ObjectIdByURIHash";

/// The URI reference `sigD.pars` gives the one detached document of a `documentDigests`
/// request: CSC does not name documents, the relying party resolves it to the document.
const DETACHED_DOCUMENT_REF: &str = "document";

/// Deepest JSON nesting accepted in a document to sign in parallel. A JWS needs four levels
/// (signatures → entry → header → etsiU); this leaves room for rich unprotected headers
/// while keeping hostile input cheap to reject.
const MAX_JSON_DEPTH: usize = 64;

#[derive(Debug)]
pub struct PreparedJades {
    certificate: Vec<u8>,
    key_type: KeyType,
    mechanism: SignMechanism,
    level: Level,
    envelope: Envelope,
    collect: bool,
    /// BASE64URL(UTF8(JWS Protected Header)).
    protected: String,
    /// The JWS Payload as it enters the signing input (base64url, or empty with `sigD`).
    payload: String,
    /// Whether the payload goes inside the output (Attached; Parallel keeps the document's).
    embed_payload: bool,
    /// With `sigD` the archive time-stamp would need the detached document, which a digest
    /// does not give (prepare refuses B-LTA then).
    sig_d: bool,
    /// The existing JWS of a Parallel signature.
    parallel: Option<ParallelDoc>,
}

/// The JWS a Parallel signature joins.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ParallelDoc {
    /// The `payload` member's value (a JSON string) and any other top-level members.
    members: Vec<(String, String)>,
    /// The existing `signatures` entries.
    signatures: Vec<String>,
    /// The payload string, as it enters every signing input.
    payload: String,
}

pub fn prepare(req: DocumentRequest) -> Result<Prepared, AdesError> {
    CertView::parse(&req.signer.certificate)?;
    let mechanism = req.signer.mechanism;
    let alg = jws_alg(req.signer.key_type, mechanism)?;
    let (payload, embed_payload, sig_d, parallel, document_digest) = match (
        req.envelope,
        &req.content,
    ) {
        (Envelope::Attached | Envelope::Detached, Content::Document(doc)) => (
            b64url(doc),
            req.envelope == Envelope::Attached,
            None,
            None,
            req.document_hash.digest(doc),
        ),
        (Envelope::Detached, Content::Digest(digest)) => {
            if req.level >= Level::BLta {
                return Err(AdesError::InvalidRequest(
                    "JAdES Ades-B-LTA over documentDigests cannot be made: the archive time-stamp covers the detached document itself (TS 119 182-1 §5.3.6.3); send documents, or sign at Ades-B-LT".into(),
                ));
            }
            let sig_d = json!({
                "mId": OBJECT_ID_BY_URI_HASH,
                "pars": [DETACHED_DOCUMENT_REF],
                "hashM": digest_id(req.document_hash),
                "hashV": [b64url(digest)],
                "ctys": [short_media_type(
                    req.props.qualifying.mime_type.as_deref().unwrap_or("application/octet-stream"),
                )],
            });
            (String::new(), false, Some(sig_d), None, digest.clone())
        }
        (Envelope::Parallel, Content::Document(doc)) => {
            let existing = parse_parallel(doc)?;
            (
                existing.payload.clone(),
                true,
                None,
                Some(existing),
                req.document_hash.digest(doc),
            )
        }
        (envelope, _) => {
            return Err(AdesError::InvalidRequest(format!(
                "signed_envelope_property {} cannot be used with a document digest",
                envelope.name()
            )));
        }
    };
    let header = protected_header(
        alg,
        &req.signer.certificate,
        &req.signer.chain,
        mechanism.hash(),
        req.signing_time,
        &req.props.qualifying,
        req.envelope != Envelope::Detached,
        sig_d.clone(),
    )?;
    let protected = b64url(
        &serde_json::to_vec(&Value::Object(header))
            .map_err(|e| AdesError::Internal(e.to_string()))?,
    );
    let dtbsr = mechanism
        .hash()
        .digest(signing_input(&protected, &payload).as_bytes());
    Ok(Prepared {
        document_digest,
        dtbsr,
        state: State::Jades(Box::new(PreparedJades {
            certificate: req.signer.certificate,
            key_type: req.signer.key_type,
            mechanism,
            level: req.level,
            envelope: req.envelope,
            collect: req.collect_validation_info,
            protected,
            payload,
            embed_payload,
            sig_d: sig_d.is_some(),
            parallel,
        })),
    })
}

pub fn finish(
    p: PreparedJades,
    signature_value: &[u8],
    tsa: Option<&dyn TimeStamper>,
    validation: Option<&dyn ValidationData>,
) -> Result<Finished, AdesError> {
    let cert = CertView::parse(&p.certificate)?;
    let input = signing_input(&p.protected, &p.payload);
    cert.verify(p.key_type, p.mechanism, input.as_bytes(), signature_value)?;
    // RFC 7518 §3.4: a JWS ECDSA signature is R || S, each as wide as the curve order; the
    // key module speaks X9.62 DER.
    let jws_signature = ecdsa::fixed_width(p.key_type, signature_value)?;
    let signature = b64url(&jws_signature);
    let hash = p.mechanism.hash();
    let mut etsi_u: Vec<String> = Vec::new();
    let mut tokens = Vec::new();
    if p.level >= Level::BT {
        // §5.3.4: the message imprint input is the base64url-encoded JWS Signature Value.
        let token = timestamp::timestamp(need_tsa(tsa)?, hash, &hash.digest(signature.as_bytes()))?;
        etsi_u.push(etsi_u_entry(&json!({ "sigTst": tst_container(&token) }))?);
        tokens.push(token);
    }
    let mut info = Revocation::default();
    if p.level >= Level::BLt || p.collect {
        info = timestamp::collect_validation_data(validation, &p.certificate, &tokens)?;
    }
    if p.level >= Level::BLt {
        for (name, value) in validation_values(&info) {
            let mut entry = Map::new();
            entry.insert(name.into(), value);
            etsi_u.push(etsi_u_entry(&Value::Object(entry))?);
        }
    }
    if p.level >= Level::BLta {
        if p.sig_d {
            return Err(AdesError::Internal(
                "an archive time-stamp over a sigD signature was requested".into(),
            ));
        }
        let input = archive_input(&p.payload, &p.protected, &signature, &etsi_u);
        let token = timestamp::timestamp(need_tsa(tsa)?, hash, &hash.digest(&input))?;
        etsi_u.push(etsi_u_entry(&json!({ "arcTst": tst_container(&token) }))?);
    }
    let mut entry = Map::new();
    entry.insert("protected".into(), Value::String(p.protected));
    if !etsi_u.is_empty() {
        entry.insert("header".into(), json!({ "etsiU": etsi_u }));
    }
    entry.insert("signature".into(), Value::String(signature));
    let entry = Value::Object(entry);
    let bytes = match p.parallel {
        Some(existing) => general_serialization(&existing, &entry)?,
        None => {
            let mut flat = match entry {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            if p.embed_payload {
                flat.insert("payload".into(), Value::String(p.payload));
            }
            to_json(&Value::Object(flat))?
        }
    };
    let output = match p.envelope {
        Envelope::Detached => Output::SignatureObject(bytes),
        _ => Output::DocumentWithSignature(bytes),
    };
    Ok(Finished {
        output,
        validation_info: info,
    })
}

/// §5.3.5.1 `xVals` / §5.3.5.2 `rVals`: certificates and revocation values as pkiOb
/// objects, standard Base64 DER in `val`; `xVals` only when there are certificates. The
/// members of an `etsiU` element each, or together of a `tstVD` (§5.3.7).
pub(crate) fn validation_values(info: &Revocation) -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    if !info.certificates.is_empty() {
        let x_vals: Vec<Value> = info
            .certificates
            .iter()
            .map(|c| json!({ "x509Cert": { "val": BASE64.encode(c) } }))
            .collect();
        out.push(("xVals", Value::Array(x_vals)));
    }
    let mut r_vals = Map::new();
    let vals = |items: &[Vec<u8>]| -> Value {
        items
            .iter()
            .map(|v| json!({ "val": BASE64.encode(v) }))
            .collect()
    };
    if !info.crls.is_empty() {
        r_vals.insert("crlVals".into(), vals(&info.crls));
    }
    if !info.ocsp.is_empty() {
        r_vals.insert("ocspVals".into(), vals(&info.ocsp));
    }
    out.push(("rVals", Value::Object(r_vals)));
    out
}

/// RFC 7515 §5.1: ASCII(BASE64URL(protected) || '.' || payload).
fn signing_input(protected: &str, payload: &str) -> String {
    format!("{protected}.{payload}")
}

/// TS 119 182-1 §5.3.6.3.1 for base64url-encoded `etsiU` elements, `sigD` absent: the
/// base64url payload, '.', the protected header, '.', the signature value, '.', then every
/// `etsiU` element before `arcTst`, as it appears in the array.
pub(crate) fn archive_input(
    payload: &str,
    protected: &str,
    signature: &str,
    etsi_u: &[String],
) -> Vec<u8> {
    let mut out = format!("{payload}.{protected}.{signature}.").into_bytes();
    for e in etsi_u {
        out.extend_from_slice(e.as_bytes());
    }
    out
}

/// §5.3.3 tstContainer with one token; `canonAlg` absent (the inputs are base64url strings).
pub(crate) fn tst_container(token: &[u8]) -> Value {
    json!({ "tstTokens": [{ "val": BASE64.encode(token) }] })
}

pub(crate) fn etsi_u_entry(value: &Value) -> Result<String, AdesError> {
    Ok(b64url(&to_json(value)?))
}

pub(crate) fn to_json(value: &Value) -> Result<Vec<u8>, AdesError> {
    serde_json::to_vec(value).map_err(|e| AdesError::Internal(format!("JSON encoding: {e}")))
}

pub(crate) fn b64url(bytes: &[u8]) -> String {
    BASE64URL_NOPAD.encode(bytes)
}

/// TS 119 182-1 Annex E digest algorithm identifiers.
pub(crate) fn digest_id(hash: HashAlgorithm) -> &'static str {
    match hash {
        HashAlgorithm::Sha256 => "S256",
        HashAlgorithm::Sha384 => "S384",
        HashAlgorithm::Sha512 => "S512",
    }
}

/// The JWA `alg` (RFC 7518 §3.1). ES256/ES384 fix the curve as well as the hash; PS* fix the
/// salt to the digest length (§3.5).
fn jws_alg(key_type: KeyType, mechanism: SignMechanism) -> Result<&'static str, AdesError> {
    use HashAlgorithm::{Sha256, Sha384, Sha512};
    let refuse = |why: &str| {
        Err(AdesError::InvalidRequest(format!(
            "{} with a {key_type} key has no JWS algorithm: {why}",
            mechanism.name()
        )))
    };
    match mechanism {
        SignMechanism::Ecdsa { hash } => match (key_type, hash) {
            (KeyType::EcP256, Sha256) => Ok("ES256"),
            (KeyType::EcP384, Sha384) => Ok("ES384"),
            _ => {
                refuse("JWS ECDSA pairs P-256 with SHA-256 and P-384 with SHA-384 (RFC 7518 §3.4)")
            }
        },
        SignMechanism::RsaPkcs1 { hash } if key_type.is_rsa() => Ok(match hash {
            Sha256 => "RS256",
            Sha384 => "RS384",
            Sha512 => "RS512",
        }),
        SignMechanism::RsaPss { hash, salt } if key_type.is_rsa() => match salt {
            PssSalt::DigestLength => Ok(match hash {
                Sha256 => "PS256",
                Sha384 => "PS384",
                Sha512 => "PS512",
            }),
            PssSalt::Maximum => {
                refuse("JWS PS256/PS384/PS512 require a salt as long as the digest (RFC 7518 §3.5)")
            }
        },
        _ => refuse("the key type does not match the algorithm"),
    }
}

/// RFC 7515 §4.1.10: "application/" may be left out when no other '/' follows.
fn short_media_type(media: &str) -> String {
    match media.strip_prefix("application/") {
        Some(rest) if !rest.contains('/') => rest.to_owned(),
        _ => media.to_owned(),
    }
}

fn oid_object(oid: &str) -> Value {
    json!({ "id": format!("urn:oid:{oid}") })
}

/// The JWS Protected Header (TS 119 182-1 §5.1, §5.2), with `crit` naming every JAdES
/// header parameter present.
#[allow(clippy::too_many_arguments)]
fn protected_header(
    alg: &str,
    certificate: &[u8],
    chain: &[Vec<u8>],
    hash: HashAlgorithm,
    signing_time: i64,
    q: &QualifyingProps,
    cty_allowed: bool,
    sig_d: Option<Value>,
) -> Result<Map<String, Value>, AdesError> {
    let mut h = Map::new();
    let mut crit: Vec<&str> = Vec::new();
    h.insert("alg".into(), json!(alg));
    // §5.1.8: the signing certificate and its chain, standard Base64 DER.
    let x5c: Vec<String> = std::iter::once(certificate)
        .chain(chain.iter().map(Vec::as_slice))
        .map(|c| BASE64.encode(c))
        .collect();
    h.insert("x5c".into(), json!(x5c));
    // §5.1.7 / §5.2.2.2: the signing certificate's digest, with the signature's hash:
    // x5t#S256 for SHA-256 (RFC 7515 §4.1.8), x5t#o for the others.
    let cert_digest = b64url(&hash.digest(certificate));
    if hash == HashAlgorithm::Sha256 {
        h.insert("x5t#S256".into(), json!(cert_digest));
    } else {
        h.insert(
            "x5t#o".into(),
            json!({ "digAlg": digest_id(hash), "digVal": cert_digest }),
        );
        crit.push("x5t#o");
    }
    // §5.2.1: the claimed signing time.
    h.insert("sigT".into(), json!(sig_time(signing_time)?));
    crit.push("sigT");
    if cty_allowed && let Some(m) = &q.mime_type {
        h.insert("cty".into(), json!(short_media_type(m)));
    }
    if !q.commitment_types.is_empty() {
        let sr_cms: Vec<Value> = q
            .commitment_types
            .iter()
            .map(|oid| json!({ "commId": oid_object(oid) }))
            .collect();
        h.insert("srCms".into(), json!(sr_cms));
        crit.push("srCms");
    }
    if let Some(place) = &q.production_place {
        let mut pl = Map::new();
        for (name, value) in [
            ("addressCountry", &place.country_name),
            ("addressLocality", &place.city),
            ("addressRegion", &place.state_or_province),
            ("postalCode", &place.postal_code),
            ("streetAddress", &place.street_address),
        ] {
            if let Some(v) = value {
                pl.insert(name.into(), json!(v));
            }
        }
        h.insert("sigPl".into(), Value::Object(pl));
        crit.push("sigPl");
    }
    if !q.claimed_roles.is_empty() {
        h.insert(
            "srAts".into(),
            json!({ "claimed": [{
                "mediaType": "text/plain",
                "encoding": "binary",
                "qVals": q.claimed_roles,
            }] }),
        );
        crit.push("srAts");
    }
    match &q.policy {
        None => {}
        Some(Policy::Implied) => {
            return Err(AdesError::InvalidRequest(
                "signed_props: JAdES sigPId needs the policy's OID (TS 119 182-1 §5.2.7): give \"OID;hash algorithm;Base64 digest[;URI]\" instead of \"implied\"".into(),
            ));
        }
        Some(Policy::Explicit {
            oid,
            hash,
            digest,
            uri,
        }) => {
            let mut p = Map::new();
            p.insert("id".into(), oid_object(oid));
            p.insert("digAlg".into(), json!(digest_id(*hash)));
            p.insert("digVal".into(), json!(b64url(digest)));
            if let Some(u) = uri {
                p.insert("sigPQuals".into(), json!([{ "spURI": u }]));
            }
            h.insert("sigPId".into(), Value::Object(p));
            crit.push("sigPId");
        }
    }
    if let Some(d) = sig_d {
        h.insert("sigD".into(), d);
        crit.push("sigD");
        // RFC 7797 §3: b64 must be critical.
        h.insert("b64".into(), json!(false));
        crit.push("b64");
    }
    h.insert("crit".into(), json!(crit));
    Ok(h)
}

/// `sigT`: UTC, "YYYY-MM-DDThh:mm:ssZ" (§5.2.1).
fn sig_time(unix: i64) -> Result<String, AdesError> {
    let t = time::OffsetDateTime::from_unix_timestamp(unix)
        .map_err(|_| AdesError::InvalidRequest(format!("signing time {unix} out of range")))?;
    t.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
    ))
    .map_err(|e| AdesError::Internal(format!("signing time: {e}")))
}

fn invalid(msg: &str) -> AdesError {
    AdesError::InvalidDocument(format!(
        "a Parallel JAdES signature needs a JWS with its payload inside: {msg}"
    ))
}

/// The deepest nesting of JSON arrays and objects in `text`, stopping as soon as `limit` is
/// passed (brackets inside strings do not count).
pub(crate) fn json_depth_exceeds(text: &[u8], limit: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in text {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Top-level members of a JSON object as raw JSON text, in order; duplicates refused.
struct Members(Vec<(String, Box<RawValue>)>);

impl<'de> de::Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut out: Vec<(String, Box<RawValue>)> = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Box<RawValue>>()? {
                    if out.iter().any(|(name, _)| *name == k) {
                        return Err(de::Error::custom(format!("duplicate member {k:?}")));
                    }
                    out.push((k, v));
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// How an existing JWS was serialized (RFC 7515 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Serialization {
    Compact,
    Flattened,
    General,
}

/// An existing JWS in any serialization, kept as the JSON text it arrived in so that what is
/// not changed comes back byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JwsDoc {
    /// The top-level members other than the signature entries (`payload` among them), as
    /// JSON text.
    pub members: Vec<(String, String)>,
    /// The signature entries, each a JSON object's text.
    pub signatures: Vec<String>,
    /// Each entry's decoded protected header.
    pub headers: Vec<Map<String, Value>>,
    /// The payload string as it enters the signing input; `None` when detached.
    pub payload: Option<String>,
    pub serialization: Serialization,
}

/// Checks one signature entry (protected header base64url of a JSON object, signature
/// base64url) and returns its protected header; the entry itself is kept as written.
fn check_entry(
    protected: Option<&Value>,
    signature: Option<&Value>,
) -> Result<Map<String, Value>, String> {
    let protected = protected
        .and_then(Value::as_str)
        .ok_or("a signature has no protected header")?;
    let header = BASE64URL_NOPAD
        .decode(protected.as_bytes())
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| match v {
            Value::Object(m) => Some(m),
            _ => None,
        })
        .ok_or("a protected header is not base64url JSON")?;
    signature
        .and_then(Value::as_str)
        .filter(|s| BASE64URL_NOPAD.decode(s.as_bytes()).is_ok())
        .ok_or("a signature value is not base64url")?;
    Ok(header)
}

/// Reads a JWS: general or flattened JSON serialization, or the compact one; the payload may
/// be detached. Errors are reasons, for the caller to say what they are for.
pub(crate) fn parse_jws(doc: &[u8]) -> Result<JwsDoc, String> {
    let text = std::str::from_utf8(doc).map_err(|_| "the document is not UTF-8")?;
    let trimmed = text.trim();
    if !trimmed.starts_with('{') {
        return parse_compact(trimmed);
    }
    if json_depth_exceeds(trimmed.as_bytes(), MAX_JSON_DEPTH) {
        return Err(format!("JSON nested deeper than {MAX_JSON_DEPTH} levels"));
    }
    let Members(members) =
        serde_json::from_str(trimmed).map_err(|e| format!("not a JSON object: {e}"))?;
    let get = |name: &str| members.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    let value_of = |name: &str| -> Result<Option<Value>, String> {
        get(name)
            .map(|raw| serde_json::from_str::<Value>(raw.get()))
            .transpose()
            .map_err(|e| e.to_string())
    };
    let payload = match value_of("payload")? {
        None => None,
        Some(Value::String(p)) => Some(p),
        Some(_) => return Err("the payload is not a string".into()),
    };
    let mut signatures = Vec::new();
    let mut headers = Vec::new();
    let flattened = ["protected", "header", "signature"];
    let serialization = if let Some(raw) = get("signatures") {
        if members.iter().any(|(k, _)| flattened.contains(&k.as_str())) {
            return Err("it mixes the general and the flattened serialization".into());
        }
        let entries: Vec<Box<RawValue>> =
            serde_json::from_str(raw.get()).map_err(|_| "signatures is not an array")?;
        if entries.is_empty() {
            return Err("the signatures array is empty".into());
        }
        for e in entries {
            let v: Value = serde_json::from_str(e.get()).map_err(|x| x.to_string())?;
            if !v.is_object() {
                return Err("a signatures entry is not an object".into());
            }
            headers.push(check_entry(v.get("protected"), v.get("signature"))?);
            signatures.push(e.get().to_owned());
        }
        Serialization::General
    } else if get("signature").is_some() {
        headers.push(check_entry(
            value_of("protected")?.as_ref(),
            value_of("signature")?.as_ref(),
        )?);
        let parts: Vec<String> = flattened
            .iter()
            .filter_map(|k| get(k).map(|v| format!("{}:{}", json!(k), v.get())))
            .collect();
        signatures.push(format!("{{{}}}", parts.join(",")));
        Serialization::Flattened
    } else {
        return Err("it is neither a general nor a flattened JWS JSON serialization".into());
    };
    let members = members
        .iter()
        .filter(|(k, _)| k != "signatures" && !flattened.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.get().to_owned()))
        .collect();
    Ok(JwsDoc {
        members,
        signatures,
        headers,
        payload,
        serialization,
    })
}

/// `BASE64URL(header).BASE64URL(payload).BASE64URL(signature)`; an empty payload part is a
/// detached payload (RFC 7515 Appendix F).
fn parse_compact(text: &str) -> Result<JwsDoc, String> {
    let parts: Vec<&str> = text.split('.').collect();
    let [protected, payload, signature] = parts.as_slice() else {
        return Err("it is neither JWS JSON nor a compact serialization".into());
    };
    let header = check_entry(Some(&json!(protected)), Some(&json!(signature)))?;
    let (members, payload) = if payload.is_empty() {
        (Vec::new(), None)
    } else {
        (
            vec![("payload".into(), json!(payload).to_string())],
            Some((*payload).to_owned()),
        )
    };
    Ok(JwsDoc {
        members,
        signatures: vec![json!({ "protected": protected, "signature": signature }).to_string()],
        headers: vec![header],
        payload,
        serialization: Serialization::Compact,
    })
}

/// Reads the JWS a Parallel signature joins: its payload inside, base64url-encoded in every
/// signature.
fn parse_parallel(doc: &[u8]) -> Result<ParallelDoc, AdesError> {
    let jws = parse_jws(doc).map_err(|m| invalid(&m))?;
    if jws
        .headers
        .iter()
        .any(|h| h.get("b64") == Some(&Value::Bool(false)))
    {
        return Err(invalid(
            "its payload is unencoded (RFC 7797 b64=false); every signature of a JWS must share the payload encoding",
        ));
    }
    let payload = match jws.payload {
        None => return Err(invalid("there is no payload (a detached JWS)")),
        Some(p) if p.is_empty() => return Err(invalid("the payload is empty")),
        Some(p) => p,
    };
    BASE64URL_NOPAD
        .decode(payload.as_bytes())
        .map_err(|_| invalid("the payload is not base64url"))?;
    Ok(ParallelDoc {
        members: jws.members,
        signatures: jws.signatures,
        payload,
    })
}

/// RFC 7515 §7.2.1 general serialization: the document's members, then `signatures` with
/// ours appended.
fn general_serialization(doc: &ParallelDoc, ours: &Value) -> Result<Vec<u8>, AdesError> {
    let mut entries = doc.signatures.clone();
    entries
        .push(String::from_utf8(to_json(ours)?).map_err(|e| AdesError::Internal(e.to_string()))?);
    Ok(write_jws(&doc.members, &entries, Serialization::General))
}

/// Writes a JWS JSON serialization: `members` as given, then the entries — in `signatures`
/// (general), or the one entry's members inline (flattened; a compact JWS becomes
/// flattened, the only JSON form of one signature).
pub(crate) fn write_jws(
    members: &[(String, String)],
    entries: &[String],
    serialization: Serialization,
) -> Vec<u8> {
    let mut parts: Vec<String> = members
        .iter()
        .map(|(k, v)| format!("{}:{v}", json!(k)))
        .collect();
    match (serialization, entries) {
        (Serialization::Compact | Serialization::Flattened, [entry]) => {
            let inner = entry.trim();
            let inner = inner
                .strip_prefix('{')
                .and_then(|e| e.strip_suffix('}'))
                .unwrap_or(inner);
            if !inner.trim().is_empty() {
                parts.push(inner.to_owned());
            }
        }
        _ => parts.push(format!("\"signatures\":[{}]", entries.join(","))),
    }
    format!("{{{}}}", parts.join(",")).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qualifying::ProductionPlace;

    fn header_json(h: &Map<String, Value>) -> Value {
        Value::Object(h.clone())
    }

    #[test]
    fn base64url_has_no_padding_and_the_url_alphabet() {
        assert_eq!(b64url(&[0xfb, 0xff, 0xbf, 0x01]), "-_-_AQ");
        assert_eq!(b64url(b""), "");
        assert_eq!(b64url(b"ab"), "YWI");
    }

    #[test]
    fn algorithms() {
        use HashAlgorithm::*;
        assert_eq!(
            jws_alg(KeyType::EcP256, SignMechanism::Ecdsa { hash: Sha256 }),
            Ok("ES256")
        );
        assert_eq!(
            jws_alg(KeyType::EcP384, SignMechanism::Ecdsa { hash: Sha384 }),
            Ok("ES384")
        );
        assert!(jws_alg(KeyType::EcP256, SignMechanism::Ecdsa { hash: Sha384 }).is_err());
        assert_eq!(
            jws_alg(KeyType::Rsa2048, SignMechanism::RsaPkcs1 { hash: Sha512 }),
            Ok("RS512")
        );
        assert_eq!(
            jws_alg(
                KeyType::Rsa3072,
                SignMechanism::RsaPss {
                    hash: Sha256,
                    salt: PssSalt::DigestLength
                }
            ),
            Ok("PS256")
        );
        assert!(matches!(
            jws_alg(
                KeyType::Rsa2048,
                SignMechanism::RsaPss {
                    hash: Sha256,
                    salt: PssSalt::Maximum
                }
            ),
            Err(AdesError::InvalidRequest(_))
        ));
        assert!(jws_alg(KeyType::EcP256, SignMechanism::RsaPkcs1 { hash: Sha256 }).is_err());
    }

    #[test]
    fn header_carries_the_qualifying_properties_and_crit() {
        let q = QualifyingProps {
            commitment_types: vec!["1.2.840.113549.1.9.16.6.5".into()],
            production_place: Some(ProductionPlace {
                city: Some("Gent".into()),
                country_name: Some("BE".into()),
                ..Default::default()
            }),
            claimed_roles: vec!["CFO".into()],
            policy: Some(Policy::Explicit {
                oid: "1.2.3".into(),
                hash: HashAlgorithm::Sha256,
                digest: vec![7; 32],
                uri: Some("https://p.example/x".into()),
            }),
            mime_type: Some("application/json".into()),
        };
        let cert = b"not parsed here".to_vec();
        let h = protected_header(
            "ES256",
            &cert,
            &[b"ca".to_vec()],
            HashAlgorithm::Sha256,
            1_700_000_000,
            &q,
            true,
            None,
        )
        .unwrap();
        let v = header_json(&h);
        assert_eq!(v["alg"], "ES256");
        assert_eq!(v["sigT"], "2023-11-14T22:13:20Z");
        assert_eq!(v["cty"], "json");
        assert_eq!(
            v["x5c"],
            json!([BASE64.encode(&cert), BASE64.encode(b"ca")])
        );
        assert_eq!(
            v["x5t#S256"],
            json!(b64url(&HashAlgorithm::Sha256.digest(&cert)))
        );
        assert_eq!(
            v["srCms"],
            json!([{ "commId": { "id": "urn:oid:1.2.840.113549.1.9.16.6.5" } }])
        );
        assert_eq!(
            v["sigPl"],
            json!({ "addressCountry": "BE", "addressLocality": "Gent" })
        );
        assert_eq!(v["srAts"]["claimed"][0]["qVals"], json!(["CFO"]));
        assert_eq!(v["sigPId"]["id"]["id"], "urn:oid:1.2.3");
        assert_eq!(v["sigPId"]["digAlg"], "S256");
        assert_eq!(v["sigPId"]["digVal"], json!(b64url(&[7; 32])));
        assert_eq!(v["sigPId"]["sigPQuals"][0]["spURI"], "https://p.example/x");
        assert_eq!(
            v["crit"],
            json!(["sigT", "srCms", "sigPl", "srAts", "sigPId"])
        );

        // SHA-384: x5t#o, and sigD brings b64=false; no cty on a detached signature.
        let sig_d = json!({ "mId": OBJECT_ID_BY_URI_HASH });
        let h = protected_header(
            "RS384",
            &cert,
            &[],
            HashAlgorithm::Sha384,
            0,
            &q,
            false,
            Some(sig_d.clone()),
        )
        .unwrap();
        let v = header_json(&h);
        assert_eq!(v["x5t#o"]["digAlg"], "S384");
        assert!(v.get("x5t#S256").is_none() && v.get("cty").is_none());
        assert_eq!(v["sigD"], sig_d);
        assert_eq!(v["b64"], false);
        assert_eq!(
            v["crit"],
            json!([
                "x5t#o", "sigT", "srCms", "sigPl", "srAts", "sigPId", "sigD", "b64"
            ])
        );

        let implied = QualifyingProps {
            policy: Some(Policy::Implied),
            ..Default::default()
        };
        assert!(matches!(
            protected_header(
                "ES256",
                &cert,
                &[],
                HashAlgorithm::Sha256,
                0,
                &implied,
                true,
                None
            ),
            Err(AdesError::InvalidRequest(_))
        ));
    }

    #[test]
    fn archive_input_concatenates_in_order() {
        let input = archive_input("UEFZ", "SERS", "U0lH", &["QQ".into(), "Qg".into()]);
        assert_eq!(input, b"UEFZ.SERS.U0lH.QQQg");
    }

    #[test]
    fn parallel_documents() {
        let flat = br#"{"payload":"aGk","protected":"eyJhbGciOiJFUzI1NiJ9","header":{"x": [1, 2]},"signature":"AAAA","extra":true}"#;
        let p = parse_parallel(flat).unwrap();
        assert_eq!(p.payload, "aGk");
        assert_eq!(
            p.signatures,
            [r#"{"protected":"eyJhbGciOiJFUzI1NiJ9","header":{"x": [1, 2]},"signature":"AAAA"}"#]
        );
        let out = general_serialization(&p, &json!({"protected": "P", "signature": "S"})).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"payload":"aGk","extra":true,"signatures":[{"protected":"eyJhbGciOiJFUzI1NiJ9","header":{"x": [1, 2]},"signature":"AAAA"},{"protected":"P","signature":"S"}]}"#
        );
        let general = br#"{"payload":"aGk","signatures":[{"protected":"eyJhbGciOiJFUzI1NiJ9","signature":"AAAA"}]}"#;
        assert_eq!(parse_parallel(general).unwrap().signatures.len(), 1);
        let compact = b"eyJhbGciOiJFUzI1NiJ9.aGk.AAAA";
        assert_eq!(parse_parallel(compact).unwrap().payload, "aGk");

        let deep = format!(
            r#"{{"payload":"aGk","signatures":{}{}}}"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        let b64_false = format!(
            r#"{{"payload":"hi","protected":"{}","signature":"AAAA"}}"#,
            b64url(br#"{"alg":"ES256","b64":false,"crit":["b64"]}"#)
        );
        for bad in [
            &b"not json"[..],
            b"{}",
            b"[1,2]",
            br#"{"payload":"aGk","payload":"aGk","signature":"AAAA","protected":"eyJ9"}"#,
            br#"{"protected":"eyJhbGciOiJFUzI1NiJ9","signature":"AAAA"}"#,
            br#"{"payload":"","protected":"eyJhbGciOiJFUzI1NiJ9","signature":"AAAA"}"#,
            br#"{"payload":"aGk","signatures":[]}"#,
            br#"{"payload":"aGk","signatures":[{"signature":"AAAA"}]}"#,
            br#"{"payload":"a+k","signatures":[{"protected":"eyJhbGciOiJFUzI1NiJ9","signature":"AAAA"}]}"#,
            deep.as_bytes(),
            b64_false.as_bytes(),
            b"a..b",
            b"\xff\xfe",
        ] {
            assert!(
                matches!(parse_parallel(bad), Err(AdesError::InvalidDocument(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    /// prepare → soft key module → finish, with signet-pki's CA and TSA.
    mod with_keys {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};

        use super::*;
        use crate::test_pki::{self, TestPki};
        use crate::{Format, finish, prepare};

        fn request(pki: &TestPki, level: Level) -> DocumentRequest {
            let content = Content::Document(b"hello JAdES".to_vec());
            test_pki::request(
                &pki.signer,
                Format::Jades,
                level,
                Envelope::Attached,
                content,
            )
        }

        #[test]
        fn es256_is_fixed_width_over_the_signing_input() {
            let pki = TestPki::new();
            let p = prepare(request(&pki, Level::BT)).unwrap();
            assert_eq!(
                p.document_digest(),
                HashAlgorithm::Sha256.digest(b"hello JAdES")
            );
            let value = pki.sign_digest(p.dtbsr());
            let out = finish(p, &value, Some(&pki), None).unwrap();
            let Output::DocumentWithSignature(bytes) = out.output else {
                panic!("attached");
            };
            let jws: Value = serde_json::from_slice(&bytes).unwrap();
            let protected = jws["protected"].as_str().unwrap();
            let payload = jws["payload"].as_str().unwrap();
            assert_eq!(payload, b64url(b"hello JAdES"));
            let sig = BASE64URL_NOPAD
                .decode(jws["signature"].as_str().unwrap().as_bytes())
                .unwrap();
            assert_eq!(sig.len(), 64);
            // aws-lc's fixed-width ECDSA verifier, with the key from the certificate.
            let cert = CertView::parse(&pki.signer.certificate).unwrap();
            let spki = crate::asn1::read_all(cert.spki)
                .unwrap()
                .children()
                .unwrap();
            let point = &spki[1].content[1..];
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                .verify(format!("{protected}.{payload}").as_bytes(), &sig)
                .unwrap();
            let etsi_u = jws["header"]["etsiU"].as_array().unwrap();
            assert_eq!(etsi_u.len(), 1);
        }

        #[test]
        fn wrong_value_or_missing_services_are_errors() {
            let pki = TestPki::new();
            let p = prepare(request(&pki, Level::BB)).unwrap();
            let wrong = pki.sign_digest(&[0; 32]);
            assert!(matches!(
                finish(p, &wrong, None, None),
                Err(AdesError::SignatureValue(_))
            ));
            let p = prepare(request(&pki, Level::BT)).unwrap();
            let v = pki.sign_digest(p.dtbsr());
            assert!(matches!(
                finish(p, &v, None, None),
                Err(AdesError::TimeStamp(_))
            ));
            let p = prepare(request(&pki, Level::BLt)).unwrap();
            let v = pki.sign_digest(p.dtbsr());
            assert!(matches!(
                finish(p, &v, Some(&pki), None),
                Err(AdesError::ValidationData(_))
            ));
        }
    }

    #[test]
    fn depth_counts_outside_strings_only() {
        assert!(!json_depth_exceeds(br#"{"a":"[[[[[[[[[[\"[["}"#, 2));
        assert!(json_depth_exceeds(b"[[[", 2));
        assert!(!json_depth_exceeds(b"[[]]", 2));
    }
}
