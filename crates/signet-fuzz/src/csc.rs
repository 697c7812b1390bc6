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

/// Shortest secret whose absence from an error description is checked (shorter ones can
/// occur in any text by chance).
const MIN_SECRET_CHARS: usize = 16;

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
        Err(e) => return refused(&e, &[]),
    };
    let mut headers = HeaderMap::new();
    if let Some(value) = authorization.and_then(|v| HeaderValue::from_bytes(v).ok()) {
        headers.insert(header::AUTHORIZATION, value);
    }
    let secrets = secrets(&fields, &headers);
    let config = ServerConfig::default();
    // Every method's caller check reads the credential ID first.
    let _ = fields.opt_str("credentialID");
    if let Err(e) = decode(version, method, &headers, &fields, &config, key_type) {
        refused(&e, &secrets);
    }
}

/// What the handler of `method` decodes before it touches any state, with the properties of
/// a decoded request.
fn decode(
    version: Version,
    method: &str,
    headers: &HeaderMap,
    fields: &Fields,
    config: &ServerConfig,
    key_type: KeyType,
) -> Result<(), ApiError> {
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
            let explicit = credentials::factors(fields);
            let oob = credentials::oob_factors(fields);
            let secrets = secrets(fields, headers);
            for e in [explicit.err(), oob.err()].into_iter().flatten() {
                refused(&e, &secrets);
            }
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
            let header = sign_doc::decode_header(version, fields, None)?;
            assert!(version == Version::V2, "signDoc is a v2 method");
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
    Ok(())
}

/// A refusal is a client error whose description repeats no secret the request carried.
fn refused(e: &ApiError, secrets: &[String]) {
    assert!(
        e.status.is_client_error(),
        "status {} for {:?}",
        e.status,
        e.description
    );
    for s in secrets {
        assert!(
            !e.description.contains(s.as_str()),
            "the error description repeats a secret: {:?}",
            e.description
        );
    }
}

/// The secret values in a request: PIN, OTP, SAD, tokens, authData values, the Basic password.
fn secrets(fields: &Fields, headers: &HeaderMap) -> Vec<String> {
    let mut out = Vec::new();
    for name in ["PIN", "OTP", "SAD", "refresh_token", "token"] {
        if let Ok(Some(v)) = fields.opt_str(name) {
            out.push(v.to_owned());
        }
    }
    if let Ok(Some(items)) = fields.opt_array("authData") {
        for item in items {
            if let Some(Value::String(v)) = item.get("value") {
                out.push(v.clone());
            }
        }
    }
    if let Some(password) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .and_then(|(_, b64)| signet_core::b64::decode(b64.trim()))
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|text| text.split_once(':').map(|(_, p)| p.to_owned()))
    {
        out.push(password);
    }
    out.retain(|s| s.chars().count() >= MIN_SECRET_CHARS);
    out
}
