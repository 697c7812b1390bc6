//! Every CSC error answer, in one place: how each typed failure of the SAM, the service layer,
//! the AdES engine and the PKI becomes an HTTP status and `{error, error_description}`
//! (csc-api.md §2). The descriptions of SAM refusals are the service layer's
//! ([`signet_service::describe`]), shared with the other bindings.

use axum::http::StatusCode;
use signet_ades::AdesError;
use signet_core::Untrusted;
use signet_sam::SamError;
use signet_service::decoupled::DecoupledError;
use signet_service::{DocumentError, PkiServiceError};
use signet_store::SadRefusal;

use super::Version;
use crate::error::ApiError;

/// The CSC error of a SAM refusal, for the given CSC version: the one place CSC words them (v1 has `invalid_pin`/`invalid_otp`, v2
/// reports both as `invalid_authentication_data`).
pub(crate) fn sam_error(err: SamError, version: Version) -> ApiError {
    let text = signet_service::describe(&err).into_owned();
    match err {
        SamError::InvalidPin => match version {
            Version::V1 => ApiError::new(StatusCode::BAD_REQUEST, "invalid_pin", text),
            Version::V2 => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_authentication_data", text)
            }
        },
        SamError::InvalidOtp | SamError::OtpReplayed => match version {
            Version::V1 => ApiError::new(StatusCode::BAD_REQUEST, "invalid_otp", text),
            Version::V2 => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_authentication_data", text)
            }
        },
        SamError::KeyUnavailable => ApiError::unavailable(text),
        SamError::Store(e) => {
            tracing::error!(error = %Untrusted(&e), "store failure");
            ApiError::unavailable("Storage unavailable, try again")
        }
        SamError::KeyFailure => {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", text)
        }
        SamError::Internal(detail) => {
            tracing::error!(detail = %Untrusted(&detail), "internal SAM error");
            ApiError::internal()
        }
        SamError::UnknownCredential
        | SamError::UserDisabled
        | SamError::CredentialDisabled
        | SamError::CredentialLocked
        | SamError::Request(_)
        | SamError::Unapproved
        | SamError::MissingFactor(_)
        | SamError::Algorithm(_)
        | SamError::Sad(_) => ApiError::invalid_request(text),
    }
}

/// The CSC error of a decoupled authorization step (credentials/authorize with `auth.mode`
/// oob, credentials/authorizeCheck).
pub(crate) fn decoupled_error(e: DecoupledError, version: Version) -> ApiError {
    match e {
        DecoupledError::UnknownHandle => ApiError::invalid_param("handle"),
        DecoupledError::Expired => ApiError::invalid_request(
            "The authorization request expired before the signer approved it",
        ),
        DecoupledError::AlreadyCollected | DecoupledError::NotPending => {
            ApiError::invalid_request("The SAD of this request was already handed out")
        }
        DecoupledError::Denied => ApiError::new(
            StatusCode::BAD_REQUEST,
            "access_denied",
            "The signer denied the authorization request",
        ),
        DecoupledError::Refused(e) | DecoupledError::Sam(e) => sam_error(e, version),
        DecoupledError::Store(e) => e.into(),
    }
}

/// The CSC error of each document-signing failure: the one place signDoc's errors are worded.
pub(crate) fn document_error(e: DocumentError) -> ApiError {
    match e {
        DocumentError::Request(text) => ApiError::invalid_request(text),
        DocumentError::Sam(e) => sign_doc_sam_error(e),
        DocumentError::Ades(name, e) => ades_error(&name, e),
        DocumentError::Internal => ApiError::internal(),
    }
}

pub(crate) fn ades_error(name: &str, e: AdesError) -> ApiError {
    let text = format!("{name}: {e}");
    match e {
        AdesError::InvalidRequest(_) | AdesError::InvalidDocument(_) | AdesError::TooLarge(_) => {
            ApiError::invalid_request(text)
        }
        AdesError::TimeStamp(_) | AdesError::ValidationData(_) => ApiError::unavailable(text),
        AdesError::SignatureValue(_) | AdesError::Internal(_) => {
            tracing::error!(error = %Untrusted(&text), "signDoc failed after signing");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", text)
        }
    }
}

/// SAM refusals in signDoc, with its own code for a document the authorization does not cover.
pub(crate) fn sign_doc_sam_error(e: SamError) -> ApiError {
    match e {
        SamError::Sad(SadRefusal::HashNotAuthorized) => ApiError::new(
            StatusCode::FORBIDDEN,
            "invalid_hash",
            "A document (or document digest) is not covered by the authorization (SAD)",
        ),
        other => sam_error(other, Version::V2),
    }
}

/// signatures/timestamp failures.
pub(crate) fn pki_error(e: PkiServiceError) -> ApiError {
    match e {
        PkiServiceError::Invalid(text) => ApiError::invalid_request(text),
        PkiServiceError::ExternalTsa { .. } => {
            tracing::warn!(error = %Untrusted(&e), "external TSA failed");
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                "server_error",
                format!("Time-stamping failed: {e}"),
            )
        }
        PkiServiceError::Store(e) => ApiError::from(e),
        other => {
            tracing::error!(error = %Untrusted(&other), "time-stamping failed");
            ApiError::unavailable("Time-stamping is unavailable, try again")
        }
    }
}
