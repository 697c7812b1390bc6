//! The key module (EN 419241-1 "SCDev"): generates signing keys and signs precomputed digests.
//!
//! Private keys never leave an implementation of [`KeyModule`]. Callers get a [`KeyRef`], an
//! opaque handle that the store keeps next to the credential, and the public key. Only the SAM
//! (signet-sam) asks for signatures over signer keys, and only after it has consumed a SAD.
//!
//! Backends are siblings behind one trait, like rustls' crypto providers:
//! - [`soft::SoftKeyModule`]: aws-lc-rs, private keys sealed with AES-256-GCM under the
//!   [`master::MasterKey`];
//! - PKCS#11 (a later addition): any HSM, keys generated non-extractable inside the token.

use signet_core::{KeyType, SignMechanism};

pub mod master;
pub mod pkcs11;
pub mod soft;

pub use master::MasterKey;
pub use pkcs11::{Pkcs11Config, Pkcs11KeyModule};
pub use soft::SoftKeyModule;

/// Opaque handle to a key inside a key module. For the software backend it is the sealed
/// private key; for an HSM, the object identifier. Only the module that issued it interprets it.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyRef(pub Vec<u8>);

impl std::fmt::Debug for KeyRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyRef({} bytes)", self.0.len())
    }
}

/// A freshly generated key: where to find it again and its public half.
#[derive(Debug, Clone)]
pub struct GeneratedKey {
    pub key_ref: KeyRef,
    /// DER SubjectPublicKeyInfo.
    pub public_key_der: Vec<u8>,
}

/// Why the key module could not do what was asked. Messages carry no key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The handle does not open (wrong master key, tampered blob, destroyed HSM object).
    #[error("key not found or not usable")]
    NotFound,
    /// The mechanism does not fit the key (e.g. ECDSA with an RSA key).
    #[error("mechanism {mechanism} cannot be used with a {key_type} key")]
    Mechanism {
        mechanism: &'static str,
        key_type: KeyType,
    },
    /// A digest's length does not match the mechanism's hash.
    #[error("digest of {got} bytes does not match {hash} ({expected} bytes)")]
    DigestLength {
        got: usize,
        expected: usize,
        hash: &'static str,
    },
    /// The module cannot be reached now (HSM session lost, token removed); retrying may work.
    #[error("key module unavailable: {0}")]
    Unavailable(String),
    /// Anything else; a bug or a broken module.
    #[error("key module failure: {0}")]
    Internal(String),
}

/// What every key module backend offers. Methods block (RSA generation takes a while, an HSM
/// is a network hop): async callers run them on a blocking thread.
pub trait KeyModule: Send + Sync {
    /// "software" or "pkcs11": recorded with each credential and in metrics.
    fn backend(&self) -> &'static str;

    /// Generates a key pair inside the module. `label` ties the key to its owner (HSM
    /// CKA_LABEL; bound into the sealed blob's associated data for the software backend).
    fn generate(&self, key_type: KeyType, label: &str) -> Result<GeneratedKey, KeyError>;

    /// Signs each digest with `mechanism`, in order. ECDSA values are DER `SEQUENCE { r, s }`;
    /// RSA PKCS#1 v1.5 signs the DigestInfo; PSS uses MGF1 with the same hash and salt = digest
    /// length. `key_type` is the type recorded when the key was generated.
    fn sign_digests(
        &self,
        key: &KeyRef,
        key_type: KeyType,
        mechanism: SignMechanism,
        digests: &[Vec<u8>],
    ) -> Result<Vec<Vec<u8>>, KeyError>;

    /// Destroys the key; later use of `key` fails with [`KeyError::NotFound`].
    fn destroy(&self, key: &KeyRef) -> Result<(), KeyError>;

    /// Drops every connection to the module so the next operations open fresh ones (after HSM
    /// maintenance or a network blip; `signet serve` does this on SIGHUP). Requests in flight
    /// finish on their old session. The software module holds no connections.
    fn reset_sessions(&self) {}
}
