//! The OAuth2 authorization server at `/oauth2/` (CSC §8.4; RFC 6749, 7636, 7009, 8414, 9126,
//! 9207, 9396).
//!
//! - `authorize`: authorization code flow with PKCE S256 required, `state`, PAR `request_uri`;
//!   the signer signs in and decides on the consent pages ([`crate::consent`]).
//! - `token`: `authorization_code`, `refresh_token` (service scope) and `client_credentials`
//!   (e-seal clients bound to a user). A credential-scope code becomes an access token that is
//!   a SAD: its hash goes into the SAD table with exactly the approved binding.
//! - `revoke` (also at `/revoke`), `pushed_authorize`, and RFC 8414 metadata.
//!
//! Errors are RFC 6749 JSON `{error, error_description}`; the authorization endpoint shows an
//! HTML page instead until it knows the redirect URI belongs to the client.

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use signet_core::Untrusted;

use crate::AppState;
use crate::error::ApiError;

pub mod client_auth;
pub mod metadata;
pub mod par;
pub mod pkce;
pub mod request;
pub mod revoke;
pub mod token;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth2/token", post(token::post))
        .route("/oauth2/revoke", post(revoke::post))
        .route("/revoke", post(revoke::post))
        .route("/oauth2/pushed_authorize", post(par::post))
        .route(
            "/.well-known/oauth-authorization-server",
            get(metadata::get),
        )
}

/// An RFC 6749 §5.2 error: 400, or 401 for `invalid_client` (with a Basic challenge).
pub fn oauth_error(error: &'static str, description: impl Into<String>) -> ApiError {
    if error == "invalid_client" {
        let mut e = ApiError::new(StatusCode::UNAUTHORIZED, error, description);
        e.challenge = Some("Basic realm=\"signet\"");
        e
    } else {
        ApiError::new(StatusCode::BAD_REQUEST, error, description)
    }
}

/// Token-endpoint style responses must not be cached (RFC 6749 §5.1).
pub fn no_store(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

pub fn json_reply(status: StatusCode, body: Value) -> Response {
    no_store((status, axum::Json(body)).into_response())
}

pub fn error_reply(e: ApiError) -> Response {
    if e.status.is_server_error() {
        tracing::warn!(
            status = e.status.as_u16(),
            error = e.error,
            "oauth2 request failed"
        );
    } else {
        tracing::debug!(
            status = e.status.as_u16(),
            error = e.error,
            description = %Untrusted(&e.description),
            "oauth2 request refused"
        );
    }
    no_store(e.into_response())
}

/// `redirect_uri` with the response parameters appended to its query (RFC 6749 §4.1.2), and
/// `iss` (RFC 9207) so that a client talking to several servers can tell who answered.
pub fn redirect_target(
    redirect_uri: &str,
    issuer: &str,
    params: &[(&str, &str)],
) -> Option<String> {
    let mut url = url::Url::parse(redirect_uri).ok()?;
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
        q.append_pair("iss", issuer);
    }
    Some(url.into())
}

/// The `form-action` CSP source for a redirect URI: its origin, or its scheme for a
/// private-use URI scheme (RFC 8252 native apps).
pub fn redirect_source(redirect_uri: &str) -> Option<String> {
    let url = url::Url::parse(redirect_uri).ok()?;
    match url.origin() {
        url::Origin::Tuple(..) => Some(url.origin().ascii_serialization()),
        url::Origin::Opaque(_) => Some(format!("{}:", url.scheme())),
    }
}

pub use signet_service::admin::acceptable_redirect_uri;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_targets_keep_existing_query() {
        let t = redirect_target(
            "https://c.example/cb?x=1",
            "https://as",
            &[("code", "a b"), ("state", "s&t")],
        )
        .unwrap();
        assert_eq!(
            t,
            "https://c.example/cb?x=1&code=a+b&state=s%26t&iss=https%3A%2F%2Fas"
        );
    }

    #[test]
    fn redirect_uri_rules() {
        assert!(acceptable_redirect_uri("https://c.example/cb").is_ok());
        assert!(acceptable_redirect_uri("http://127.0.0.1:8000/cb").is_ok());
        assert!(acceptable_redirect_uri("com.example.app:/cb").is_ok());
        assert!(acceptable_redirect_uri("http://c.example/cb").is_err());
        assert!(acceptable_redirect_uri("https://c.example/cb#x").is_err());
        assert!(acceptable_redirect_uri("/relative").is_err());
        assert_eq!(
            redirect_source("https://c.example:8443/cb?x").as_deref(),
            Some("https://c.example:8443")
        );
        assert_eq!(
            redirect_source("com.example.app:/cb").as_deref(),
            Some("com.example.app:")
        );
    }
}
