//! signatures/signHash (CSC 11.9 v1 / 11.10 v2): raw signature values over client digests.

use serde_json::{Value, json};
use signet_service::{AlgorithmChoice, HashSignRequest};
use signet_store::User;

use super::Version;
use crate::AppState;
use crate::body::Fields;
use crate::error::{ApiError, ApiResult};

/// Decodes and checks a signHash body into the service's request, at most `max_hashes`
/// hashes (pure: the handler and the fuzz target call it). `bearer_sad` is the request's Bearer
/// token when it is a credential-scoped token: with no `SAD` member it is the SAD (EUDI clients
/// send none); a `SAD` member may hold a SAD or a credential token (v1 clients put the token
/// there), both live in the same table.
pub fn decode(
    version: Version,
    body: &Fields,
    bearer_sad: Option<&str>,
    max_hashes: usize,
) -> ApiResult<HashSignRequest> {
    let credential_id = body.req_str("credentialID")?.to_owned();
    let sad = crate::auth::presented_sad(body.opt_str("SAD")?, bearer_sad)
        .ok_or_else(|| ApiError::missing_or_invalid("string", "SAD"))?;
    let hashes = body
        .opt_b64_array(&["hashes", "hash"], max_hashes)?
        .ok_or_else(|| {
            ApiError::missing_or_invalid(
                "array",
                if version == Version::V1 {
                    "hash"
                } else {
                    "hashes"
                },
            )
        })?;
    if hashes.is_empty() {
        return Err(ApiError::invalid_request("Empty hash array"));
    }
    let sign_algo = body.req_str("signAlgo")?.to_owned();
    let hash_algo = body
        .opt_str_any(&["hashAlgorithmOID", "hashAlgo"])?
        .map(str::to_owned);
    let sign_algo_params = match body.opt_str("signAlgoParams")? {
        None => None,
        Some(text) => Some(
            signet_core::b64::decode(text)
                .ok_or_else(|| ApiError::invalid_param("signAlgoParams"))?,
        ),
    };
    match body.opt_str("operationMode")? {
        None | Some("S") => {}
        Some("A") => {
            return Err(ApiError::invalid_request(
                "Invalid parameter operationMode: asynchronous signing is not supported, use S",
            ));
        }
        Some(_) => return Err(ApiError::invalid_param("operationMode")),
    }
    Ok(HashSignRequest {
        credential_id,
        sad,
        hashes,
        algorithm: AlgorithmChoice {
            sign_algo,
            hash_algo,
            params: sign_algo_params,
        },
    })
}

pub async fn sign_hash(
    state: &AppState,
    version: Version,
    user: &User,
    body: &Fields,
    bearer_sad: Option<&str>,
) -> ApiResult<Value> {
    let req = decode(version, body, bearer_sad, state.config.max_hashes)?;
    let values = state
        .service
        .sign_hashes(user, req)
        .await
        .map_err(|e| super::sam_error(e, version))?;
    let encoded: Vec<String> = values.iter().map(|v| signet_core::b64::encode(v)).collect();
    Ok(json!({ "signatures": encoded }))
}
