//! RFC 8414 authorization server metadata at `/.well-known/oauth-authorization-server`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::request::RAR_TYPES;
use crate::AppState;

pub async fn get(State(state): State<AppState>) -> Response {
    let issuer = state.config.oauth2.issuer();
    let auth_methods = ["client_secret_basic", "client_secret_post", "none"];
    let body = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth2/authorize"),
        "token_endpoint": format!("{issuer}/oauth2/token"),
        "revocation_endpoint": format!("{issuer}/oauth2/revoke"),
        "pushed_authorization_request_endpoint": format!("{issuer}/oauth2/pushed_authorize"),
        "require_pushed_authorization_requests": false,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "scopes_supported": ["service", "credential"],
        "authorization_details_types_supported": RAR_TYPES,
        "authorization_response_iss_parameter_supported": true,
    });
    let mut resp = super::json_reply(StatusCode::OK, body);
    // Metadata is public and stable: a short cache is fine (overrides no-store).
    resp.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("public, max-age=300"),
    );
    resp.headers_mut().remove(axum::http::header::PRAGMA);
    resp
}
