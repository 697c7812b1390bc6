//! The Signature Activation Module (EN 419241-1 SAM; ETSI TS 119 431-1).
//!
//! Three operations, and the only path from a signer to their key:
//! - [`Sam::authorize`] checks the signer's factors (PIN; PIN and TOTP for SCAL2) and issues a
//!   SAD bound to signer, credential, hashes, hash algorithm, count and expiry;
//! - [`Sam::extend_transaction`] swaps a live SAD for a fresh one for the next batch;
//! - [`Sam::sign_hashes`] and [`Sam::sign_documents`] spend the SAD atomically (with its audit
//!   record) and only then ask the key module for signature values, through the
//!   [`SignerKeys`] capability that only the SAM holds.
//!
//! A SAD issued outside credentials/authorize (OAuth2 consent, decoupled approval) is issued
//! only against [`VerifiedFactors`], which only the factor check constructs
//! ([`Sam::verify_factors`], or a seal of it kept in the store, see [`approval`]). Requests are
//! typed ([`SignMechanism`], [`HashAlgorithm`]); refusals are [`SamError`], which each binding
//! words in its own format.
//!
//! Modules: `authorize` (factors, SADs), `sign` (spend and sign), `error`, [`approval`] (the
//! proof and its seal), [`sad`] (the spending rule).
//!
//! Secrets (PIN, OTP, SAD) arrive as [`Zeroizing`] strings, are compared in constant time and
//! never appear in errors or audit records.

#![forbid(unsafe_code)]

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use signet_core::{HashAlgorithm, SignMechanism};
use signet_keys::{MasterKey, SignerKeys};
use signet_store::{Credential, CredentialBinding, Purged, Store, StoreError, User};
use zeroize::Zeroizing;

pub mod approval;
mod authorize;
mod error;
pub mod sad;
pub mod secrets;
mod sign;
mod signer;
pub mod telemetry;
pub mod totp;

pub use approval::VerifiedFactors;
pub use error::{Factor, RequestError, SamError};
pub use secrets::PinHasher;

/// Tunables of sole control. Defaults follow the issue: SAD lifetime 300 s, lock after 5 failures.
#[derive(Debug, Clone)]
pub struct SamConfig {
    pub sad_lifetime: Duration,
    pub max_failures: u32,
    /// Accepted TOTP clock drift, in 30-second steps either way.
    pub totp_skew_steps: i64,
    /// Whether credentials/extendTransaction may bind a SCAL2 SAD to hashes the signer did not
    /// authorize (CSC multi-call for nested signatures); off: only authorized hashes carry over.
    pub extend_rebinds_hashes: bool,
}

impl Default for SamConfig {
    fn default() -> Self {
        Self {
            sad_lifetime: Duration::from_secs(300),
            max_failures: 5,
            totp_skew_steps: 1,
            extend_rebinds_hashes: false,
        }
    }
}

/// credentials/authorize input, already decoded from either CSC version.
#[derive(Debug)]
pub struct AuthorizeRequest {
    pub credential_id: String,
    pub num_signatures: u32,
    pub hashes: Option<Vec<Vec<u8>>>,
    pub hash_algo: Option<HashAlgorithm>,
    pub pin: Option<Zeroizing<String>>,
    pub otp: Option<Zeroizing<String>>,
    pub description: Option<String>,
}

/// Signature values over client digests (CSC signHash, DSS-X with digests): the SAD, the
/// digests and the mechanism the binding resolved for the credential's key.
#[derive(Debug)]
pub struct SignRequest {
    pub sad: Zeroizing<String>,
    pub hashes: Vec<Vec<u8>>,
    pub mechanism: SignMechanism,
}

/// A SAD handed to the client. Only its hash is stored.
#[derive(Debug)]
pub struct IssuedSad {
    pub sad: Zeroizing<String>,
    pub expires_in: u64,
}

pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

/// The Signature Activation Module.
pub struct Sam {
    store: Arc<dyn Store>,
    keys: SignerKeys,
    master: MasterKey,
    pins: PinHasher,
    approvals: approval::ApprovalSeals,
    config: SamConfig,
    /// Where key-module calls run (see [`signer`]).
    signer: signer::Signer,
}

impl Sam {
    pub fn new(
        store: Arc<dyn Store>,
        keys: SignerKeys,
        master: MasterKey,
        config: SamConfig,
    ) -> Self {
        let pins = PinHasher::new(&master.derive("pin-hmac"));
        let approvals = approval::ApprovalSeals::new(&master.derive("signet approval seal v1"));
        let signer = signer::Signer::new(keys.concurrency());
        Self {
            store,
            keys,
            master,
            pins,
            approvals,
            config,
            signer,
        }
    }

    pub fn config(&self) -> &SamConfig {
        &self.config
    }

    /// The PIN reference value to store with a new credential.
    pub fn pin_reference(&self, credential_id: &str, pin: &str) -> Vec<u8> {
        self.pins.hash(credential_id, pin)
    }

    /// Seals a new TOTP secret for storage with the user.
    pub fn seal_totp_secret(&self, username: &str, secret: &[u8]) -> Result<Vec<u8>, SamError> {
        self.master
            .seal(&totp_context(username), secret)
            .map_err(|e| SamError::Internal(e.to_string()))
    }

    /// Opens a user's TOTP secret (for enrolment display and verification).
    pub fn open_totp_secret(&self, user: &User) -> Result<Zeroizing<Vec<u8>>, SamError> {
        self.master
            .open(&totp_context(&user.username), &user.totp_secret_sealed)
            .map_err(|_| SamError::Internal("TOTP secret cannot be opened".into()))
    }

    /// Loads a credential the user owns; anything else is "unknown".
    async fn owned_credential(
        &self,
        user: &User,
        credential_id: &str,
    ) -> Result<Credential, SamError> {
        match self.store.credential(credential_id).await? {
            Some(c) if c.user_id == user.id => Ok(c),
            _ => Err(SamError::UnknownCredential),
        }
    }

    /// Refuses a disabled user, a disabled credential or a locked one.
    pub fn check_usable(user: &User, cred: &Credential) -> Result<(), SamError> {
        if user.disabled {
            return Err(SamError::UserDisabled);
        }
        if cred.disabled {
            return Err(SamError::CredentialDisabled);
        }
        if cred.locked {
            return Err(SamError::CredentialLocked);
        }
        Ok(())
    }

    /// Loads a credential the user owns and that can be used now (user and credential enabled,
    /// not locked); anything else is refused exactly as an unknown credential or a disabled one.
    pub async fn usable_credential(
        &self,
        user: &User,
        credential_id: &str,
    ) -> Result<Credential, SamError> {
        let cred = self.owned_credential(user, credential_id).await?;
        Self::check_usable(user, &cred)?;
        Ok(cred)
    }

    /// Checks what an authorization asks for against the credential: `numSignatures` between 1
    /// and `multisign`, and for SCAL2 the hashes (their count equal to `numSignatures`, their
    /// length that of the hash algorithm). The result is exactly what a SAD will bind.
    pub fn check_binding(
        cred: &Credential,
        num_signatures: u32,
        hashes: Option<Vec<Vec<u8>>>,
        hash_algo: Option<HashAlgorithm>,
    ) -> Result<CredentialBinding, SamError> {
        if num_signatures < 1 {
            return Err(SamError::Request(RequestError::NumSignatures));
        }
        if num_signatures > cred.multisign {
            return Err(SamError::Request(RequestError::TooManySignatures));
        }
        let hash_algo = authorize::bound_hash_algorithm(
            num_signatures,
            hashes.as_deref(),
            hash_algo,
            cred.scal,
        )?;
        Ok(CredentialBinding {
            credential_id: cred.id.clone(),
            num_signatures,
            hash_algo,
            hashes,
        })
    }

    /// Deletes what expired before `now` (SADs, tokens, flow records) and counts the SADs that
    /// expired unused. `signet serve` runs this every minute.
    pub async fn purge_expired(&self, now: i64) -> Result<Purged, StoreError> {
        let purged = self.store.purge_expired(now).await?;
        telemetry::sads_expired(purged.sads);
        Ok(purged)
    }
}

fn totp_context(username: &str) -> Vec<u8> {
    let mut ctx = b"signet-totp-v1\0".to_vec();
    ctx.extend_from_slice(username.as_bytes());
    ctx
}
