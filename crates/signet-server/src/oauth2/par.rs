//! Pushed authorization requests (RFC 9126): the client posts the authorization parameters,
//! authenticated like at the token endpoint, and gets a one-time `request_uri` (201).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};
use signet_sam::{now_unix, secrets};
use signet_store::PushedRequest;

use super::{client_auth, json_reply, oauth_error, request};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::form::{Params, read_form};

/// RFC 9126 §2.2: `urn:ietf:params:oauth:request_uri:` followed by our random reference.
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    match push(&state, &headers, body).await {
        Ok(v) => json_reply(StatusCode::CREATED, v),
        Err(e) => super::error_reply(e),
    }
}

async fn push(state: &AppState, headers: &HeaderMap, body: Body) -> ApiResult<Value> {
    let params = read_form(headers, body, state.config.max_body_bytes).await?;
    let client = client_auth::authenticate(state, headers, &params).await?;
    let kept = pushed_params(&params, &client.client_id)?;
    request::parse(state, &kept)
        .await
        .map_err(request::RequestError::into_api_error)?;
    let reference = secrets::random_secret().map_err(|_| ApiError::internal())?;
    let lifetime = state.config.oauth2.pushed_request_lifetime.as_secs();
    state
        .store
        .insert_pushed_request(PushedRequest {
            request_hash: secrets::secret_hash(&reference),
            client_id: client.client_id.clone(),
            params: stored_params(&kept),
            expires_at: now_unix() + lifetime as i64,
        })
        .await?;
    Ok(
        json!({ "request_uri": format!("{REQUEST_URI_PREFIX}{}", *reference), "expires_in": lifetime }),
    )
}

/// The request to keep for a pushed authorization request of the authenticated `client_id`:
/// every authorization parameter, with that client_id and without the client's credentials.
pub fn pushed_params(params: &Params, client_id: &str) -> ApiResult<Params> {
    if params.get("request_uri").is_some() {
        return Err(oauth_error(
            "invalid_request",
            "request_uri cannot be pushed",
        ));
    }
    let mut kept: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| {
            !matches!(
                *k,
                "client_secret" | "client_id" | "client_assertion" | "client_assertion_type"
            )
        })
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    kept.push(("client_id".into(), client_id.to_owned()));
    Ok(Params::from_pairs(kept))
}

/// The stored form of pushed parameters: a JSON object of strings.
pub fn stored_params(kept: &Params) -> String {
    let stored: Map<String, Value> = kept
        .iter()
        .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
        .collect();
    Value::Object(stored).to_string()
}

/// The parameters [`stored_params`] kept; `None` if the text is not such an object.
pub fn restore_params(stored: &str) -> Option<Params> {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(stored) else {
        return None;
    };
    let pairs = map
        .into_iter()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
        .collect();
    Some(Params::from_pairs(pairs))
}

/// Where a `request_uri` stands when the browser brings it to the authorization endpoint.
pub enum Pushed {
    /// Unused and in time: the stored parameters (now spent).
    Fresh(Params),
    Expired,
    /// Never issued, already used, or pushed by another client.
    Unknown,
}

/// Takes the pushed request named by `request_uri` for `client_id` (one use). Only the client
/// that pushed it can spend it: another client's attempt is "unknown" and leaves it in place.
pub async fn take(
    state: &AppState,
    request_uri: &str,
    client_id: &str,
) -> Result<Pushed, ApiError> {
    let Some(reference) = request_uri.strip_prefix(REQUEST_URI_PREFIX) else {
        return Ok(Pushed::Unknown);
    };
    let record = state
        .store
        .take_pushed_request(&secrets::secret_hash(reference), client_id)
        .await?;
    Ok(match record {
        None => Pushed::Unknown,
        // The store matched the client already; kept as a second line of defence.
        Some(r) if r.client_id != client_id => Pushed::Unknown,
        Some(r) if now_unix() >= r.expires_at => Pushed::Expired,
        Some(r) => Pushed::Fresh(restore_params(&r.params).ok_or_else(ApiError::internal)?),
    })
}
