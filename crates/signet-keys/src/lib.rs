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

// The PKCS#11 boundary: the only crate where an FFI module may `#[allow(unsafe_code)]`.
#![deny(unsafe_code)]

use signet_core::{KeyType, SignMechanism};

pub mod capability;
pub mod master;
pub mod pkcs11;
pub mod soft;

#[cfg(test)]
mod test_support;

pub use capability::{KeyAccess, KeyProvisioning, ServiceKey, ServiceKeys, SignerKeys};
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

    /// The label the key was generated with (see [`KeyModule::generate`]), as the module
    /// itself records it: what [`capability::ServiceKeys`] checks before it signs.
    fn key_label(&self, key: &KeyRef) -> Result<String, KeyError>;

    /// Destroys the key; later use of `key` fails with [`KeyError::NotFound`].
    fn destroy(&self, key: &KeyRef) -> Result<(), KeyError>;

    /// How many calls the module can run at once, when that is a fixed number: a CPU-bound
    /// module's cores, or the sessions of a PKCS#11 pool. Callers then run calls on that many
    /// dedicated threads instead of one thread per waiting call (which only queue for the same
    /// cores or sessions). `None`: no fixed limit.
    fn concurrency(&self) -> Option<usize> {
        None
    }

    /// Drops every connection to the module so the next operations open fresh ones (after HSM
    /// maintenance or a network blip; `signet serve` does this on SIGHUP). Requests in flight
    /// finish on their old session. The software module holds no connections.
    fn reset_sessions(&self) {}

    /// A cheap liveness check for `/readyz`: can the module be used right now? The software
    /// module is always ready (its keys are sealed blobs in the database); an HSM backend asks
    /// the token something trivial on a pooled session. Blocks like the other methods.
    fn ping(&self) -> Result<(), KeyError> {
        Ok(())
    }
}

/// What every backend checks before it signs: the mechanism fits the key type, and each digest
/// is as long as the mechanism's hash.
pub(crate) fn check_sign_request(
    key_type: KeyType,
    mechanism: SignMechanism,
    digests: &[Vec<u8>],
) -> Result<(), KeyError> {
    let fits = match mechanism {
        SignMechanism::Ecdsa { .. } => !key_type.is_rsa(),
        SignMechanism::RsaPkcs1 { .. } | SignMechanism::RsaPss { .. } => key_type.is_rsa(),
    };
    if !fits {
        return Err(KeyError::Mechanism {
            mechanism: mechanism.name(),
            key_type,
        });
    }
    let hash = mechanism.hash();
    if let Some(bad) = digests.iter().find(|d| d.len() != hash.len()) {
        return Err(KeyError::DigestLength {
            got: bad.len(),
            expected: hash.len(),
            hash: hash.name(),
        });
    }
    Ok(())
}

/// The integer ECDSA signs for `digest` on an EC key, as bytes of the group order's length.
///
/// ECDSA takes any hash: it uses the leftmost bits of the digest, as many as the group order
/// has (FIPS 186-5 §6.4.1, SEC 1 §4.1.3 step 5), read as a big-endian integer. Both supported
/// orders are whole bytes long, so a longer digest is cut to the first 32/48 bytes and a shorter
/// one is zero-extended on the left (the same integer) — which also keeps tokens that insist on
/// a full-size input happy. Every backend signs exactly this value.
pub(crate) fn ecdsa_input(key_type: KeyType, digest: &[u8]) -> Result<Vec<u8>, KeyError> {
    let order_len = match key_type {
        KeyType::EcP256 => 32,
        KeyType::EcP384 => 48,
        other => return Err(KeyError::Internal(format!("{other} is not an EC key type"))),
    };
    let used = digest.len().min(order_len);
    let mut e = vec![0u8; order_len];
    e[order_len - used..].copy_from_slice(&digest[..used]);
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecdsa_input_truncates_or_extends() {
        let d512: Vec<u8> = (0..64).collect();
        assert_eq!(ecdsa_input(KeyType::EcP256, &d512).unwrap(), d512[..32]);
        assert_eq!(ecdsa_input(KeyType::EcP384, &d512).unwrap(), d512[..48]);
        let d256 = vec![7u8; 32];
        let e = ecdsa_input(KeyType::EcP384, &d256).unwrap();
        assert_eq!(e.len(), 48);
        assert_eq!(&e[..16], &[0u8; 16]);
        assert_eq!(&e[16..], &d256[..]);
    }

    #[test]
    fn sign_requests_are_checked_the_same_everywhere() {
        use signet_core::HashAlgorithm::Sha256;
        let ecdsa = SignMechanism::Ecdsa { hash: Sha256 };
        assert!(check_sign_request(KeyType::EcP256, ecdsa, &[vec![0; 32]]).is_ok());
        assert!(matches!(
            check_sign_request(KeyType::Rsa2048, ecdsa, &[vec![0; 32]]),
            Err(KeyError::Mechanism { .. })
        ));
        assert!(matches!(
            check_sign_request(KeyType::EcP256, ecdsa, &[vec![0; 32], vec![0; 31]]),
            Err(KeyError::DigestLength {
                got: 31,
                expected: 32,
                ..
            })
        ));
        assert!(ecdsa_input(KeyType::Rsa2048, &[0; 32]).is_err());
    }
}
