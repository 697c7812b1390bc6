//! The signer's pages: sign-in, the OAuth2 consent page, and the approval page of decoupled
//! (out-of-band) authorizations. Server-rendered HTML forms, no JavaScript, one stylesheet
//! served by Signet, mobile first.
//!
//! The signer's factors (PIN, TOTP) typed here go straight to the SAM
//! ([`signet_sam::Sam::verify_factors`]), never to the application that asked for the
//! signature (EN 419241-1 SCAL2: the service collects the factors). Every form carries the
//! session's CSRF token and every state change is a POST; pages send CSP, anti-framing,
//! no-referrer and no-store headers ([`html::security_headers`]); no secret ever goes into a
//! URL except the authorization code in the redirect to the client, as OAuth2 requires.

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};

use crate::AppState;
use crate::oauth2::redirect_target;

pub mod approval;
pub mod authorization;
pub mod authorize;
pub mod html;
pub mod session;
pub mod signin;

pub use authorization::begin;

/// Largest page form accepted.
const FORM_LIMIT: usize = 16 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth2/authorize", get(authorize::get))
        .route("/signin", post(signin::post))
        .route("/signout", post(signin::signout))
        .route(
            "/oauth2/consent",
            get(authorization::get).post(authorization::post),
        )
        .route("/approve", get(approval::get).post(approval::post))
        .route(html::STYLESHEET, get(html::stylesheet))
}

/// Sends an authorization error to the client's (validated) redirect URI.
pub fn redirect_error(
    state: &AppState,
    status: StatusCode,
    redirect_uri: &str,
    client_state: Option<&str>,
    error: &str,
    description: &str,
) -> Response {
    let mut params = vec![("error", error), ("error_description", description)];
    if let Some(s) = client_state {
        params.push(("state", s));
    }
    match redirect_target(redirect_uri, state.config.oauth2.issuer(), &params) {
        Some(target) => html::redirect(status, &target),
        None => html::error_page(StatusCode::BAD_REQUEST, "Request refused", description),
    }
}

/// The page shown when a store or internal failure interrupts a page.
pub(crate) fn unavailable() -> Response {
    html::error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again",
        "Signet is temporarily unavailable. Try again in a moment.",
    )
}

pub(crate) fn session_expired() -> Response {
    html::error_page(
        StatusCode::BAD_REQUEST,
        "Session expired",
        "Your session with Signet expired. Go back to the application and start again.",
    )
}

pub(crate) fn forbidden() -> Response {
    html::error_page(
        StatusCode::FORBIDDEN,
        "Request refused",
        "The form was not sent by this page (CSRF check failed). Reload the page and try again.",
    )
}
