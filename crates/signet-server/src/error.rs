//! CSC errors on the wire: HTTP status + `{"error", "error_description"}` (csc-api.md §2).
//!
//! The JSON error shape that CSC and OAuth2 share. Each binding maps the service's and the
//! SAM's typed errors to it in one place (`csc/errors.rs`, the OAuth2 token endpoint's
//! `invalid_grant`); the DSS-X binding has its own Result mapping.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use signet_core::Untrusted;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
    /// `WWW-Authenticate` challenge for 401 responses.
    pub challenge: Option<&'static str>,
    /// `Allow` of a 405: the methods the resource does accept (RFC 9110 §15.5.6).
    pub allow: Option<&'static str>,
    /// `Retry-After` seconds for 429 responses.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// The description is capped (`signet_core::cap_message`): it may quote the request.
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: signet_core::cap_message(description.into()),
            challenge: None,
            allow: None,
            retry_after: None,
        }
    }

    /// 429 `access_denied` with `Retry-After`: password sign-in inside its back-off
    /// (docs/security.md). The client may retry, but not before `seconds`.
    pub fn backing_off(seconds: u64) -> Self {
        Self {
            retry_after: Some(seconds),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "access_denied",
                format!("Too many failed sign-in attempts: try again in {seconds} s"),
            )
        }
    }

    /// 405 `invalid_request` naming the methods `allow` (e.g. `"POST"`, `"GET,POST"`).
    pub fn method_not_allowed(allow: &'static str, description: impl Into<String>) -> Self {
        Self {
            allow: Some(allow),
            ..Self::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request",
                description,
            )
        }
    }

    /// 429 `too_many_requests`: the client's request rate is over its limit (the caller adds
    /// `Retry-After`).
    pub fn too_many_requests(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            description,
        )
    }

    /// 400 `invalid_request`: the default for almost every CSC parameter problem.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub fn missing_or_invalid(kind: &str, name: &str) -> Self {
        Self::invalid_request(format!("Missing (or invalid type) {kind} parameter {name}"))
    }

    pub fn invalid_param(name: &str) -> Self {
        Self::invalid_request(format!("Invalid parameter {name}"))
    }

    pub fn unauthorized(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            challenge: Some("Bearer realm=\"signet\""),
            ..Self::new(StatusCode::UNAUTHORIZED, error, description)
        }
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "Internal server error",
        )
    }

    pub fn unavailable(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            description,
        )
    }
}

impl From<signet_store::StoreError> for ApiError {
    fn from(e: signet_store::StoreError) -> Self {
        tracing::error!(error = %Untrusted(&e), "store failure");
        Self::unavailable("Storage unavailable, try again")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "error_description": self.description });
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(c) = self.challenge {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(c));
        }
        if let Some(methods) = self.allow {
            resp.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(methods));
        }
        if let Some(seconds) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
