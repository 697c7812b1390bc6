//! signatures/signDoc (CSC v2 §11.11): parses and checks the request and decodes the
//! documents (no SAD is touched yet), has the service sign them
//! ([`signet_service::Service::sign_documents`]: prepare, pre-flight, SAD spend and key use,
//! finish), and writes the signed documents straight into the JSON answer.

use serde_json::{Map, Value};
use signet_ades::{Content, Format, Level, Output, Revocation, SignedProps};
use signet_core::{AlgError, HashAlgorithm, KeyType, SignMechanism};
use signet_service::{AdesSettings, DocumentItem};
use signet_store::User;
use zeroize::Zeroizing;

use crate::AppState;
use crate::body::Fields;
use crate::error::{ApiError, ApiResult};

/// Most `signed_props` entries per document.
const MAX_SIGNED_PROPS: usize = 32;

/// The member named by the first of `names` present and not null.
fn member<'a>(entry: &'a Map<String, Value>, names: &[&str]) -> Option<(&'a str, &'a Value)> {
    names.iter().find_map(|n| {
        entry
            .get_key_value(*n)
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.as_str(), v))
    })
}

/// A string member of the entry, else of the request body (Swisscom-style top-level options).
fn entry_str<'a>(
    entry: &'a Map<String, Value>,
    body: &'a Fields,
    names: &[&str],
    at: &str,
) -> ApiResult<Option<&'a str>> {
    match member(entry, names) {
        Some((_, Value::String(s))) => Ok(Some(s)),
        Some((n, _)) => Err(ApiError::missing_or_invalid("string", &format!("{at}.{n}"))),
        None => body.opt_str_any(names),
    }
}

fn parse_level(text: Option<&str>) -> ApiResult<Level> {
    match text {
        None => Ok(Level::BB),
        Some(t) => Level::parse(t).map_err(|e| ApiError::invalid_request(e.to_string())),
    }
}

fn parse_format(text: Option<&str>, at: &str) -> ApiResult<Format> {
    match text.map(str::trim) {
        Some("C") | Some("c") => Ok(Format::Cades),
        Some("P") | Some("p") => Ok(Format::Pades),
        Some("X") | Some("x") => Ok(Format::Xades),
        Some("J") | Some("j") => Ok(Format::Jades),
        Some(other) => Err(ApiError::invalid_request(format!(
            "Invalid parameter {at}.signature_format {other:?}: expected C (CAdES), P (PAdES), X (XAdES) or J (JAdES)"
        ))),
        None => Err(ApiError::missing_or_invalid(
            "string",
            &format!("{at}.signature_format"),
        )),
    }
}

fn parse_props(entry: &Map<String, Value>, format: Format, at: &str) -> ApiResult<SignedProps> {
    let Some((name, value)) = member(entry, &["signed_props", "signedProps"]) else {
        return Ok(SignedProps::default());
    };
    let Value::Array(items) = value else {
        return Err(ApiError::missing_or_invalid(
            "array",
            &format!("{at}.{name}"),
        ));
    };
    if items.len() > MAX_SIGNED_PROPS {
        return Err(ApiError::invalid_request(format!(
            "Too many entries in {at}.{name}: at most {MAX_SIGNED_PROPS}"
        )));
    }
    let mut pairs = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let bad = || {
            ApiError::invalid_request(format!(
                "Invalid {at}.{name}[{i}]: expected {{\"attribute_name\": string, \"attribute_value\": string}}"
            ))
        };
        let Value::Object(obj) = item else {
            return Err(bad());
        };
        let attr_name = match member(obj, &["attribute_name", "attributeName"]) {
            Some((_, Value::String(s))) if !s.is_empty() => s.clone(),
            _ => return Err(bad()),
        };
        let attr_value = match member(obj, &["attribute_value", "attributeValue"]) {
            None => None,
            Some((_, Value::String(s))) => Some(s.clone()),
            Some(_) => return Err(bad()),
        };
        pairs.push((attr_name, attr_value));
    }
    SignedProps::from_csc(format, &pairs).map_err(|e| ApiError::invalid_request(e.to_string()))
}

/// The mechanism for an entry. `digest_hash` (the algorithm of given digests) must agree with
/// `signAlgo`; a `signAlgo` that names no hash (rsaEncryption, RSASSA-PSS without parameters)
/// takes `fallback`, else SHA-256.
fn mechanism(
    key_type: KeyType,
    entry: &Map<String, Value>,
    body: &Fields,
    at: &str,
    digest_hash: Option<&str>,
    fallback: Option<&str>,
) -> ApiResult<SignMechanism> {
    let sign_algo = entry_str(entry, body, &["signAlgo"], at)?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::missing_or_invalid("string", &format!("{at}.signAlgo")))?;
    let params = match entry_str(entry, body, &["signAlgoParams"], at)? {
        None => None,
        Some(text) => Some(
            signet_core::b64::decode(text)
                .ok_or_else(|| ApiError::invalid_param(&format!("{at}.signAlgoParams")))?,
        ),
    };
    let resolve =
        |hash: Option<&str>| SignMechanism::resolve(key_type, sign_algo, hash, params.as_deref());
    match resolve(digest_hash) {
        Err(AlgError::HashRequired(_)) if digest_hash.is_none() => {
            resolve(Some(fallback.unwrap_or(HashAlgorithm::Sha256.oid())))
        }
        other => other,
    }
    .map_err(|e| ApiError::invalid_request(format!("{at}: {e}")))
}

fn hash_algorithm(oid: Option<&str>) -> ApiResult<Option<HashAlgorithm>> {
    oid.map(HashAlgorithm::from_oid)
        .transpose()
        .map_err(|e| ApiError::invalid_request(format!("Invalid parameter hashAlgorithmOID: {e}")))
}

/// Reads `documents` or `documentDigests` into items for a key of `key_type`, within
/// `settings` (pure: the handler and the fuzz target call it).
pub fn parse_items(
    settings: &AdesSettings,
    body: &Fields,
    key_type: KeyType,
) -> ApiResult<Vec<DocumentItem>> {
    let documents = body.opt_array("documents")?;
    let digests = body.opt_array("documentDigests")?;
    let (entries, digest_mode, list) = match (documents, digests) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid_request(
                "Both documents and documentDigests passed: give exactly one",
            ));
        }
        (None, None) => {
            return Err(ApiError::invalid_request(
                "Missing parameter documents or documentDigests",
            ));
        }
        (Some(d), None) => (d, false, "documents"),
        (None, Some(d)) => (d, true, "documentDigests"),
    };
    if entries.is_empty() {
        return Err(ApiError::invalid_request(format!("Empty {list} array")));
    }
    let max = settings.max_documents;
    let top_hash = body.opt_str_any(&["hashAlgorithmOID", "hashAlgo"])?;
    let mut items = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let at = format!("{list}[{i}]");
        let Value::Object(entry) = entry else {
            return Err(ApiError::invalid_request(format!(
                "Invalid {at}: expected an object"
            )));
        };
        let format = parse_format(
            entry_str(entry, body, &["signature_format", "signatureFormat"], &at)?,
            &at,
        )?;
        let level = parse_level(entry_str(
            entry,
            body,
            &["conformance_level", "conformanceLevel"],
            &at,
        )?)?;
        let envelope = match entry_str(
            entry,
            body,
            &["signed_envelope_property", "signedEnvelopeProperty"],
            &at,
        )? {
            Some(e) => format
                .envelope(e)
                .map_err(|e| ApiError::invalid_request(e.to_string()))?,
            None => format.default_envelope(digest_mode),
        };
        let props = parse_props(entry, format, &at)?;
        // EUDI clients send `container` (CSC 2.2): only "No" (a bare signature) is produced.
        if let Some(c) = entry_str(entry, body, &["container"], &at)?
            && !c.eq_ignore_ascii_case("no")
        {
            return Err(ApiError::invalid_request(format!(
                "{at}.container {c:?} is not supported: only \"No\" (no ASiC container)"
            )));
        }
        let hash_oid = entry_str(entry, body, &["hashAlgorithmOID", "hashAlgo"], &at)?.or(top_hash);
        if digest_mode {
            let mechanism = mechanism(key_type, entry, body, &at, hash_oid, None)?;
            // A digest's algorithm: as given, else the one signAlgo implies.
            let document_hash = hash_algorithm(hash_oid)?.unwrap_or(mechanism.hash());
            let hashes = match member(entry, &["hashes", "hash"]) {
                Some((_, Value::Array(h))) => h,
                Some((_, Value::String(_))) => {
                    // The CSC v2 sample shows a string; the table says an array.
                    return Err(ApiError::missing_or_invalid(
                        "array",
                        &format!("{at}.hashes"),
                    ));
                }
                _ => {
                    return Err(ApiError::missing_or_invalid(
                        "array",
                        &format!("{at}.hashes"),
                    ));
                }
            };
            if hashes.is_empty() {
                return Err(ApiError::invalid_request(format!("Empty {at}.hashes")));
            }
            for (j, h) in hashes.iter().enumerate() {
                let digest = h
                    .as_str()
                    .and_then(signet_core::b64::decode)
                    .ok_or_else(|| {
                        ApiError::invalid_request(format!("Invalid Base64 {at}.hashes[{j}]"))
                    })?;
                if digest.len() != document_hash.len() {
                    return Err(ApiError::invalid_request(format!(
                        "Invalid digest value length in {at}.hashes[{j}]: {} bytes, {} needs {}",
                        digest.len(),
                        document_hash.name(),
                        document_hash.len()
                    )));
                }
                items.push(DocumentItem {
                    name: format!("{at}.hashes[{j}]"),
                    format,
                    level,
                    envelope,
                    mechanism,
                    props: props.clone(),
                    content: Content::Digest(digest),
                    document_hash,
                });
            }
        } else {
            // The documents' hash algorithm (what the SAD binds) is independent of the
            // signature's, unless signAlgo names none.
            let mechanism = mechanism(key_type, entry, body, &at, None, hash_oid)?;
            let document_hash = hash_algorithm(hash_oid)?.unwrap_or(HashAlgorithm::Sha256);
            let text = match member(entry, &["document"]) {
                Some((_, Value::String(s))) if !s.is_empty() => s,
                _ => {
                    return Err(ApiError::missing_or_invalid(
                        "string",
                        &format!("{at}.document"),
                    ));
                }
            };
            let limit = settings.limits.max_document_bytes;
            if text.len() / 4 * 3 > limit + 3 {
                return Err(ApiError::invalid_request(format!(
                    "{at}.document is larger than the limit of {limit} bytes"
                )));
            }
            let bytes = decode_document(text).ok_or_else(|| {
                ApiError::invalid_request(format!("Invalid Base64 {at}.document"))
            })?;
            items.push(DocumentItem {
                name: at,
                format,
                level,
                envelope,
                mechanism,
                props,
                content: Content::Document(bytes),
                document_hash,
            });
        }
        if items.len() > max {
            return Err(ApiError::invalid_request(format!(
                "Too many documents in {list}: at most {max} per request"
            )));
        }
    }
    Ok(items)
}

/// Room kept after a decoded document for what signing appends (PAdES revisions: signature,
/// DSS, document time-stamp), so the buffer is not copied again to grow.
const APPEND_ROOM: usize = 256 * 1024;

/// Decodes a document: standard padded Base64 with SIMD (what clients send; a 10 MB PDF is
/// 13 MB of it), else any alphabet [`signet_core::b64`] accepts.
fn decode_document(text: &str) -> Option<Vec<u8>> {
    let engine = base64_simd::STANDARD;
    if let Ok(len) = engine.decoded_length(text.as_bytes()) {
        let mut out = Vec::with_capacity(len + APPEND_ROOM);
        out.resize(len, 0);
        if let Ok(decoded) = engine.decode(text.as_bytes(), base64_simd::Out::from_slice(&mut out))
        {
            let n = decoded.len();
            out.truncate(n);
            return Some(out);
        }
    }
    signet_core::b64::decode(text)
}

/// Writes `"name":` into a JSON object being built (with the comma after a previous member).
fn push_key(out: &mut Vec<u8>, name: &str) {
    if !matches!(out.last(), Some(b'{')) {
        out.push(b',');
    }
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

/// Writes `["b64","b64"]`. Standard Base64 needs no JSON escaping, so documents are encoded
/// straight into the response body (no `Value`, no second copy).
fn push_b64_array(out: &mut Vec<u8>, items: &[Vec<u8>]) {
    let engine = base64_simd::STANDARD;
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        let at = out.len();
        out.resize(at + engine.encoded_length(item.len()), 0);
        let _ = engine.encode(item, base64_simd::Out::from_slice(&mut out[at..]));
        out.push(b'"');
    }
    out.push(b']');
}

/// What signDoc reads before it loads the credential.
#[derive(Debug)]
pub struct SignDocHeader {
    pub credential_id: String,
    pub sad: Zeroizing<String>,
    pub return_info: bool,
}

/// Decodes and checks a signDoc body up to the documents (see [`parse_items`]); `bearer_sad`
/// as in signHash: a credential-scoped Bearer token stands in for a missing SAD.
/// (A v2 method only: `csc::entry` answers 404 on v1 paths before anything is decoded.)
pub fn decode_header(body: &Fields, bearer_sad: Option<&str>) -> ApiResult<SignDocHeader> {
    let credential_id = match body.opt_str("credentialID")? {
        Some(c) if !c.is_empty() => c.to_owned(),
        _ if body.opt_str("signatureQualifier")?.is_some() => {
            return Err(ApiError::invalid_request(
                "signatureQualifier alone is not supported: give credentialID",
            ));
        }
        _ => return Err(ApiError::missing_or_invalid("string", "credentialID")),
    };
    let sad = crate::auth::presented_sad(body.opt_str("SAD")?, bearer_sad)
        .ok_or_else(|| ApiError::missing_or_invalid("string", "SAD"))?;
    match body.opt_str("operationMode")? {
        None | Some("S") => {}
        Some("A") => {
            return Err(ApiError::invalid_request(
                "Invalid parameter operationMode: asynchronous signing is not supported, use S",
            ));
        }
        Some(_) => return Err(ApiError::invalid_param("operationMode")),
    }
    let return_info = match body.opt_bool("returnValidationInfo")? {
        Some(b) => b,
        None => body
            .opt_bool("returnValidationInformation")?
            .unwrap_or(false),
    };
    Ok(SignDocHeader {
        credential_id,
        sad,
        return_info,
    })
}

/// `bearer_sad` as in signHash: a credential-scoped Bearer token stands in for a missing SAD.
pub async fn sign_doc(
    state: &AppState,
    user: &User,
    body: &Fields,
    bearer_sad: Option<&str>,
) -> ApiResult<Vec<u8>> {
    let SignDocHeader {
        credential_id,
        sad,
        return_info,
    } = decode_header(body, bearer_sad)?;
    let cred = state
        .sam
        .signing_credential(user, &credential_id)
        .await
        .map_err(super::errors::sign_doc_sam_error)?;
    let items = parse_items(&state.config.ades, body, cred.key_type)?;
    let finished = state
        .service
        .sign_documents(user, &cred, &sad, items, return_info)
        .await
        .map_err(super::errors::document_error)?;
    let started = std::time::Instant::now();
    let mut with_signature = Vec::new();
    let mut signature_objects = Vec::new();
    let mut info = Revocation::default();
    for f in finished {
        match f.output {
            Output::DocumentWithSignature(b) => with_signature.push(b),
            Output::SignatureObject(b) => signature_objects.push(b),
        }
        info.merge(f.validation_info);
    }
    let size: usize = with_signature
        .iter()
        .chain(&signature_objects)
        .map(|b| b.len() / 3 * 4 + 8)
        .sum();
    let mut out = Vec::with_capacity(size + 256);
    out.push(b'{');
    for (name, items) in [
        ("DocumentWithSignature", &with_signature),
        ("SignatureObject", &signature_objects),
    ] {
        if !items.is_empty() {
            push_key(&mut out, name);
            push_b64_array(&mut out, items);
        }
    }
    if return_info {
        push_key(&mut out, "validationInfo");
        out.push(b'{');
        for (name, items) in [
            ("ocsp", &info.ocsp),
            ("crl", &info.crls),
            ("certificates", &info.certificates),
        ] {
            push_key(&mut out, name);
            push_b64_array(&mut out, items);
        }
        out.push(b'}');
    }
    out.push(b'}');
    tracing::debug!(
        encode_us = started.elapsed().as_micros() as u64,
        bytes = out.len(),
        "signDoc encoding"
    );
    Ok(out)
}
