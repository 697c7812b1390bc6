//! CSC errors on the wire: HTTP status + `{"error", "error_description"}` (csc-api.md §2).
//!
//! Every failure any handler produces becomes an [`ApiError`] here, so the mapping from
//! Signet's error kinds to CSC codes lives in one place (the rustls `error/` habit).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use signet_sam::SamError;

use crate::csc::Version;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
    /// `WWW-Authenticate` challenge for 401 responses.
    pub challenge: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            challenge: None,
        }
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

    /// Maps a SAM refusal for the given CSC version (v1 has `invalid_pin`/`invalid_otp`, v2
    /// reports both as `invalid_authentication_data`).
    pub fn from_sam(err: SamError, version: Version) -> Self {
        let text = signet_service::describe(&err).into_owned();
        match err {
            SamError::InvalidPin => match version {
                Version::V1 => Self::new(StatusCode::BAD_REQUEST, "invalid_pin", text),
                Version::V2 => {
                    Self::new(StatusCode::BAD_REQUEST, "invalid_authentication_data", text)
                }
            },
            SamError::InvalidOtp => match version {
                Version::V1 => Self::new(StatusCode::BAD_REQUEST, "invalid_otp", text),
                Version::V2 => {
                    Self::new(StatusCode::BAD_REQUEST, "invalid_authentication_data", text)
                }
            },
            SamError::KeyUnavailable => Self::unavailable(text),
            SamError::Store(e) => {
                tracing::error!(error = %e, "store failure");
                Self::unavailable("Storage unavailable, try again")
            }
            SamError::KeyFailure => {
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", text)
            }
            SamError::Internal(detail) => {
                tracing::error!(%detail, "internal SAM error");
                Self::internal()
            }
            SamError::UnknownCredential
            | SamError::UserDisabled
            | SamError::CredentialDisabled
            | SamError::CredentialLocked
            | SamError::Request(_)
            | SamError::MissingFactor(_)
            | SamError::Algorithm(_)
            | SamError::Sad(_) => Self::invalid_request(text),
        }
    }
}

impl From<signet_store::StoreError> for ApiError {
    fn from(e: signet_store::StoreError) -> Self {
        tracing::error!(error = %e, "store failure");
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
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
