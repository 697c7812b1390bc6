//! A client for the Cloud Signature Consortium API, v1 and v2 (the JSON binding of ETSI TS 119
//! 432): the signature creation application's side of remote signing.
//!
//! It speaks to any conformant CSC server, not only Signet: what it needs to know it reads
//! from `info` (methods, `authType`, OAuth2 endpoints) and `credentials/info` (authorization
//! mode and objects, `SCAL`, key algorithms, `multisign`). Nothing here assumes Signet.
//!
//! - [`CscClient`] — typed `info`, `auth/login`, `credentials/*` and `signatures/*` calls.
//! - [`oauth`] — OAuth2 authorization code with PKCE (optionally through PAR, with RAR
//!   `authorization_details`), a loopback redirect listener for native apps (RFC 8252), and
//!   `client_credentials`.
//! - [`fetch`] — validation data (CRL, OCSP, issuer certificates) and RFC 3161 time-stamps over
//!   HTTP, for B-LT and B-T signatures built on the client.
//! - [`batch`] — hash-only AdES signing of local documents: `signet-ades` prepares each
//!   document, only the DTBS/R digests go to `signatures/signHash`, and the signature is
//!   assembled here. Documents never leave the machine.
//!
//! The API is blocking on purpose: a signing client is a command-line tool or a desktop
//! program, and the work is one request after another.

#![forbid(unsafe_code)]

pub mod batch;
mod csc;
pub mod fetch;
mod http;
pub mod oauth;
mod types;

pub use csc::{
    Authorization, AuthorizeRequest, CredentialAuthorization, CscClient, SignDocAnswer,
    SignDocRequest, SignHashRequest,
};

/// The blocking HTTP client every call goes through (reqwest over rustls and aws-lc-rs).
pub type HttpClient = reqwest::blocking::Client;
pub use http::{HttpOptions, http_client};
pub use types::*;

/// Why a CSC call failed. Server errors carry the server's `error` and `error_description`
/// unchanged, so that the user sees what the server said. Never contains a secret.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error (`{error, error_description}` or a bare status).
    #[error("{method}: the server answered {status}: {error}{}", description_suffix(.description))]
    Server {
        method: String,
        status: u16,
        error: String,
        description: String,
    },
    /// The server could not be reached, or the connection broke.
    #[error("{method}: {detail}")]
    Transport { method: String, detail: String },
    /// The answer is not what the CSC API says it is (not JSON, a field missing or of the
    /// wrong type, the wrong number of signatures…).
    #[error("{method}: malformed answer from the server: {detail}")]
    Malformed { method: String, detail: String },
    /// The server or the credential does not offer what is needed.
    #[error("{0}")]
    Unsupported(String),
    /// Anything the client itself refuses (bad options, a failed OAuth2 redirect…).
    #[error("{0}")]
    Other(String),
}

fn description_suffix(description: &str) -> String {
    if description.is_empty() {
        String::new()
    } else {
        format!(" ({description})")
    }
}

impl ClientError {
    /// The server's `error` code, when it answered one.
    pub fn server_error(&self) -> Option<&str> {
        match self {
            Self::Server { error, .. } => Some(error),
            _ => None,
        }
    }

    pub(crate) fn malformed(method: &str, detail: impl Into<String>) -> Self {
        Self::Malformed {
            method: method.to_owned(),
            detail: detail.into(),
        }
    }
}
