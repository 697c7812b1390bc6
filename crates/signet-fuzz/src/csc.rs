//! CSC request decoding, v1 and v2: every method the server serves, through the same pure
//! decoders the handlers call (`signet_server::csc`), after the same JSON parsing.
//!
//! Input: one selector byte (the method, `METHODS[b % n]`, and the credential's key type for
//! signDoc and signHash), then the JSON body. For `auth/login` the body's first line is the
//! `Authorization` header value.

use axum::http::{HeaderMap, HeaderValue, header};
use serde_json::Value;
use signet_ades::Content;
use signet_core::{KeyType, SignMechanism};
use signet_server::ServerConfig;
use signet_server::body::{Fields, parse_json};
use signet_server::csc::{METHODS, Version, credentials, sign_doc, signatures, timestamp};
use signet_server::error::ApiError;

pub fn csc_v1_request(data: &[u8]) {
    request(Version::V1, data);
}

pub fn csc_v2_request(data: &[u8]) {
    request(Version::V2, data);
}

fn request(version: Version, data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let method = METHODS[usize::from(selector) % METHODS.len()];
    let key_type = KeyType::ALL[usize::from(selector) / METHODS.len() % KeyType::ALL.len()];
    let (authorization, body) = match method {
        "auth/login" => match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
            None => (None, rest),
        },
        _ => (None, rest),
    };
    let fields = match parse_json(body) {
        Ok(f) => f,
        Err(e) => return refused(&e),
    };
    let mut headers = HeaderMap::new();
    if let Some(value) = authorization.and_then(|v| HeaderValue::from_bytes(v).ok()) {
        headers.insert(header::AUTHORIZATION, value);
    }
    let config = ServerConfig::default();
    // Every method's caller check reads the credential ID first.
    let _ = fields.opt_str("credentialID");
    let outcome = describe(decode(
        version, method, &headers, &fields, &config, key_type,
    ));
    // The same request with every secret replaced by a marker is decided the same way, with
    // the same error descriptions: no description repeats (or depends on) a secret.
    let (marked, marked_headers) = with_markers(body, &headers);
    let again = describe(decode(
        version,
        method,
        &marked_headers,
        &marked,
        &config,
        key_type,
    ));
    assert_eq!(
        outcome, again,
        "an error description depends on a secret's value"
    );
}

/// The outcome as the client sees it: the error descriptions (and checks that each is a
/// client error).
fn describe(outcome: Result<Vec<ApiError>, ApiError>) -> Result<Vec<String>, String> {
    match outcome {
        Ok(more) => Ok(more
            .iter()
            .map(|e| {
                refused(e);
                e.description.clone()
            })
            .collect()),
        Err(e) => {
            refused(&e);
            Err(e.description)
        }
    }
}

/// Stands in for the secrets of a request (see [`with_markers`]).
const MARKER: &str = "marker";

/// The request with the value of every non-empty secret (PIN, OTP, SAD, tokens, authData
/// values, the Basic password) replaced by [`MARKER`].
fn with_markers(body: &[u8], headers: &HeaderMap) -> (Fields, HeaderMap) {
    let mut value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        for name in ["PIN", "OTP", "SAD", "refresh_token", "token"] {
            if let Some(v) = map
                .get_mut(name)
                .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
            {
                *v = Value::String(MARKER.into());
            }
        }
        if let Some(Value::Array(items)) = map.get_mut("authData") {
            for item in items {
                if let Some(v) = item
                    .get_mut("value")
                    .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
                {
                    *v = Value::String(MARKER.into());
                }
            }
        }
    }
    let fields = match value {
        Value::Object(map) => Fields::from_map(map),
        _ => Fields::default(),
    };
    let mut marked = headers.clone();
    if let Some((scheme, user)) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .and_then(|(scheme, b64)| {
            let raw = signet_core::b64::decode(b64.trim())?;
            let text = String::from_utf8(raw).ok()?;
            Some((scheme.to_owned(), text.split_once(':')?.0.to_owned()))
        })
    {
        let b64 = signet_core::b64::encode(format!("{user}:{MARKER}").as_bytes());
        if let Ok(v) = HeaderValue::from_str(&format!("{scheme} {b64}")) {
            marked.insert(header::AUTHORIZATION, v);
        }
    }
    (fields, marked)
}

/// What the handler of `method` decodes before it touches any state, with the properties of
/// a decoded request; `Ok` holds the refusals of later decoding steps (the factors).
fn decode(
    version: Version,
    method: &str,
    headers: &HeaderMap,
    fields: &Fields,
    config: &ServerConfig,
    key_type: KeyType,
) -> Result<Vec<ApiError>, ApiError> {
    let mut later = Vec::new();
    match method {
        // info reads nothing from the body.
        "info" => {}
        "auth/login" => {
            signet_server::auth::decode_login(headers, fields)?;
        }
        "auth/revoke" => {
            let (token, _) = signet_server::auth::decode_revoke(fields)?;
            assert!(!token.is_empty());
        }
        "credentials/list" => {
            credentials::decode_list(fields)?;
        }
        "credentials/info" => {
            let req = credentials::decode_info(fields)?;
            assert!(!req.credential_id.is_empty());
        }
        "credentials/authorize" => {
            let req = credentials::decode_authorize(fields, config.max_hashes)?;
            assert!(!req.credential_id.is_empty());
            assert!(
                req.hashes
                    .as_ref()
                    .is_none_or(|h| h.len() <= config.max_hashes)
            );
            assert!(
                req.description
                    .as_ref()
                    .is_none_or(|d| d.chars().count() <= credentials::MAX_DESCRIPTION_CHARS)
            );
            // The factors are read (explicit) or refused (out of band) once the credential's
            // mode is known: both readings must be safe on any body.
            later.extend(credentials::factors(fields).err());
            later.extend(credentials::oob_factors(fields).err());
        }
        "credentials/authorizeCheck" => {
            assert!(!credentials::decode_authorize_check(fields)?.is_empty());
        }
        "credentials/extendTransaction" => {
            let req = credentials::decode_extend(fields, config.max_hashes)?;
            assert!(!req.sad.is_empty());
            assert!(
                req.hashes
                    .as_ref()
                    .is_none_or(|h| h.len() <= config.max_hashes)
            );
        }
        "signatures/signHash" => {
            let req = signatures::decode(version, fields, None, config.max_hashes)?;
            assert!(!req.hashes.is_empty() && req.hashes.len() <= config.max_hashes);
            assert!(!req.sad.is_empty());
            // What the service does next with the algorithm, for the credential's key.
            let a = &req.algorithm;
            let _ = SignMechanism::resolve(
                key_type,
                &a.sign_algo,
                a.hash_algo.as_deref(),
                a.params.as_deref(),
            );
        }
        "signatures/signDoc" => {
            // On v1 paths `csc::entry` answers 404 before decoding (tests/malformed.rs).
            if version == Version::V1 {
                return Ok(later);
            }
            let header = sign_doc::decode_header(fields, None)?;
            assert!(!header.credential_id.is_empty() && !header.sad.is_empty());
            let items = sign_doc::parse_items(&config.ades, fields, key_type)?;
            assert!(!items.is_empty() && items.len() <= config.ades.max_documents);
            let limit = config.ades.limits.max_document_bytes;
            for item in &items {
                match &item.content {
                    // The size check runs on the Base64 text before decoding: at most a few
                    // bytes of slack.
                    Content::Document(d) => assert!(d.len() <= limit + 5, "{}", d.len()),
                    Content::Digest(d) => assert_eq!(d.len(), item.document_hash.len()),
                }
            }
        }
        "signatures/timestamp" => {
            let req = timestamp::decode(fields)?;
            assert_eq!(req.digest.len(), req.hash.len());
            assert!(req.nonce.as_ref().is_none_or(|n| n.len() <= 64));
        }
        other => panic!("CSC method {other} is served but has no fuzz decoder"),
    }
    Ok(later)
}

/// A refusal is a client error.
fn refused(e: &ApiError) {
    assert!(
        e.status.is_client_error(),
        "status {} for {:?}",
        e.status,
        e.description
    );
}
