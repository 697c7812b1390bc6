//! `POST /oauth2/revoke` and `POST /revoke` (RFC 7009). A client can revoke what it was issued:
//! a service access token, a refresh token (and with it the access tokens issued from it), or
//! a credential token (the SAD is deleted). Unknown or already invalid tokens answer 200 too.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use signet_sam::secrets;
use signet_store::{IssuedKind, NewAuditEvent};

use super::{client_auth, oauth_error};
use crate::AppState;
use crate::error::ApiResult;
use crate::form::read_form;

pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    match revoke(&state, &headers, body).await {
        Ok(()) => super::no_store(StatusCode::OK.into_response()),
        Err(e) => super::error_reply(e),
    }
}

async fn revoke(state: &AppState, headers: &HeaderMap, body: Body) -> ApiResult<()> {
    let params = read_form(headers, body, state.config.max_body_bytes).await?;
    let client = client_auth::authenticate(state, headers, &params).await?;
    let token = params
        .get("token")
        .ok_or_else(|| oauth_error("invalid_request", "Missing parameter token"))?;
    // token_type_hint is only a hint (RFC 7009 §2.1): every kind is searched anyway.
    let hash = secrets::secret_hash(token);
    let Some(issued) = state.store.issued(&hash).await? else {
        return Ok(());
    };
    if issued.client_id != client.client_id {
        return Err(oauth_error(
            "invalid_request",
            "The token was not issued to this client",
        ));
    }
    let kind = match issued.kind {
        IssuedKind::AccessToken => "access_token",
        IssuedKind::RefreshToken => "refresh_token",
        IssuedKind::CredentialToken => "credential_token",
    };
    let audit = NewAuditEvent::new(
        "oauth2.revoke",
        &format!("client:{}", client.client_id),
        None,
        json!({ "token_type": kind, "client_id": client.client_id }),
    );
    state.store.revoke_secret(&hash, audit).await?;
    Ok(())
}
