//! signatures/timestamp (CSC v1 §11.13, v2 §11.13; csc-api.md §4.14): an RFC 3161
//! TimeStampToken over a digest the client sends, from the built-in or the external TSA.

use serde_json::{Value, json};
use signet_core::HashAlgorithm;

use crate::AppState;
use crate::body::Fields;
use crate::error::{ApiError, ApiResult};

/// Longest nonce accepted, in hex digits (64 bytes).
const MAX_NONCE_HEX: usize = 128;

/// signatures/timestamp, decoded.
#[derive(Debug)]
pub struct TimestampRequest {
    pub hash: HashAlgorithm,
    /// The digest, `hash.len()` bytes.
    pub digest: Vec<u8>,
    pub nonce: Option<Vec<u8>>,
}

/// In: `hash` (Base64 digest → messageImprint.hashedMessage), `hashAlgo` (OID; v2 texts also
/// say `hashAlgorithmOID`: both are accepted), `nonce` (hex, optional; it is put in the
/// token), `clientData` (ignored). Pure: the handler and the fuzz target call it.
pub fn decode(body: &Fields) -> ApiResult<TimestampRequest> {
    let hash_text = body
        .opt_str("hash")?
        .filter(|h| !h.is_empty())
        .ok_or_else(|| ApiError::missing_or_invalid("string", "hash"))?;
    let digest = signet_core::b64::decode(hash_text)
        .ok_or_else(|| ApiError::invalid_request("Invalid Base64 hash string parameter"))?;
    let oid = body
        .opt_str_any(&["hashAlgo", "hashAlgorithmOID"])?
        .filter(|o| !o.is_empty())
        .ok_or_else(|| ApiError::missing_or_invalid("string", "hashAlgo"))?;
    let hash = HashAlgorithm::from_oid(oid)
        .map_err(|_| ApiError::invalid_request(format!("Unsupported hash algorithm {oid}")))?;
    if digest.len() != hash.len() {
        return Err(ApiError::invalid_request(format!(
            "Invalid parameter hash: a {} digest is {} bytes, not {}",
            hash.name(),
            hash.len(),
            digest.len()
        )));
    }
    let nonce = match body.opt_str("nonce")? {
        None => None,
        Some(text) => Some(parse_nonce(text)?),
    };
    Ok(TimestampRequest {
        hash,
        digest,
        nonce,
    })
}

/// Out: `{"timestamp": Base64 DER TimeStampToken}`.
pub async fn timestamp(state: &AppState, body: &Fields) -> ApiResult<Value> {
    let TimestampRequest {
        hash,
        digest,
        nonce,
    } = decode(body)?;
    let token = state
        .service
        .timestamp(hash, &digest, nonce.as_deref())
        .await
        .map_err(super::errors::pki_error)?;
    Ok(json!({ "timestamp": signet_core::b64::encode(&token) }))
}

/// A non-empty even-length hex string (either case) of at most 64 bytes.
fn parse_nonce(text: &str) -> ApiResult<Vec<u8>> {
    let invalid = || ApiError::invalid_request("Invalid parameter nonce: expected a hex string");
    if text.is_empty() || text.len() > MAX_NONCE_HEX {
        return Err(invalid());
    }
    data_encoding::HEXLOWER_PERMISSIVE
        .decode(text.as_bytes())
        .map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_hex() {
        assert_eq!(parse_nonce("00fF10").unwrap(), [0x00, 0xff, 0x10]);
        for bad in ["", "abc", "zz", "0x12", &"00".repeat(65)] {
            assert!(parse_nonce(bad).is_err(), "{bad}");
        }
    }
}
