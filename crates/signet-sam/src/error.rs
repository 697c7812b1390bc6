//! Why the SAM refused, typed.

use signet_core::AlgError;
use signet_store::{SadRefusal, StoreError};

/// Why the SAM refused. Typed, so that each binding words each case in its own format in one
/// place (signet-service's `describe` gives the client-facing text they share); `Display` is
/// for logs. Nothing here carries a secret, or tells one user about another's credentials.
#[derive(Debug, thiserror::Error)]
pub enum SamError {
    /// Unknown credential, or one that belongs to someone else (indistinguishable on purpose).
    #[error("unknown credential")]
    UnknownCredential,
    #[error("user disabled")]
    UserDisabled,
    #[error("credential disabled")]
    CredentialDisabled,
    #[error("credential locked")]
    CredentialLocked,
    /// What was asked does not fit the credential or the authorization.
    #[error("invalid request: {0:?}")]
    Request(RequestError),
    /// A required factor was not sent.
    #[error("missing factor {0}")]
    MissingFactor(Factor),
    #[error("invalid PIN")]
    InvalidPin,
    #[error("invalid OTP")]
    InvalidOtp,
    /// A code of the signer's authenticator whose time step was already accepted. Not
    /// counted towards the lock-out: it shows possession, it is not a guess.
    #[error("OTP already used")]
    OtpReplayed,
    #[error("{0}")]
    Algorithm(#[from] AlgError),
    #[error("SAD refused: {}", refusal_code(*.0))]
    Sad(SadRefusal),
    #[error("key module unavailable")]
    KeyUnavailable,
    #[error("the credential key cannot be used")]
    KeyFailure,
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A deferred approval (authorization code, decoupled request) carries no valid seal of
    /// the signer's approval: it was not made by the SAM's factor check.
    #[error("no sealed approval by the signer")]
    Unapproved,
    #[error("internal error: {0}")]
    Internal(String),
}

/// A signer factor (EN 419241-1 SCAL2: knowledge and possession).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    Pin,
    Otp,
}

impl std::fmt::Display for Factor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Pin => "PIN",
            Self::Otp => "OTP",
        })
    }
}

/// What in a request does not fit the credential or the authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    /// `numSignatures` below 1.
    NumSignatures,
    /// More signatures than the credential's `multisign`.
    TooManySignatures,
    /// An empty list of hashes.
    EmptyHashes,
    /// A digest whose length is not its algorithm's.
    DigestLength,
    /// A SCAL2 authorization without the hashes it binds.
    HashesRequired,
    /// `numSignatures` differs from the number of hashes.
    HashCount,
    /// A document signing request with no document.
    NoDocument,
}

pub(crate) fn refusal_code(r: SadRefusal) -> &'static str {
    match r {
        SadRefusal::Unknown => "unknown_sad",
        SadRefusal::Expired => "expired_sad",
        SadRefusal::WrongCredential => "wrong_credential",
        SadRefusal::TooMany => "too_many_signatures",
        SadRefusal::HashNotAuthorized => "hash_not_authorized",
        SadRefusal::HashAlgorithm => "hash_algorithm_mismatch",
    }
}
