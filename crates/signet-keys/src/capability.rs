//! Key access split by purpose, so that the types — not a comment — say who may sign with what
//! (EN 419241-1: only the SAM activates a signer key; TS 119 431-1 SSA/SAM separation).
//!
//! A node opens one [`KeyModule`] and hands it to [`KeyAccess`] once. From it come three
//! capabilities, each given to exactly one component:
//! - [`SignerKeys`] to the SAM: the only value that can sign with a signer key;
//! - [`ServiceKeys`] to the PKI (embedded CA, TSA, audit sealer): signs only with the keys
//!   labelled for those services, checked against the key module's own label of the key, so a
//!   signer key cannot be passed off as the CA's;
//! - [`KeyProvisioning`] to administration and readiness: creates and destroys signer keys and
//!   checks the module is reachable, but cannot sign.

use std::sync::Arc;

use parking_lot::Mutex;
use signet_core::{KeyType, SignMechanism};

use crate::{GeneratedKey, KeyError, KeyModule, KeyRef};

/// Label prefix of signer keys in the key module (`signet:<credential ID>`): never one of the
/// [`ServiceKey`] labels, which have no colon.
const SIGNER_LABEL_PREFIX: &str = "signet:";

/// The keys a node's own services hold, by their label in the key module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceKey {
    /// The embedded CA: certificates, CRLs, OCSP responses.
    Ca,
    /// The built-in time-stamping authority.
    Tsa,
    /// The audit log's checkpoint key.
    Audit,
}

impl ServiceKey {
    /// The key's label in the key module (PKCS#11 CKA_LABEL; bound into a software key's blob).
    pub const fn label(self) -> &'static str {
        match self {
            Self::Ca => "signet-ca",
            Self::Tsa => "signet-tsa",
            Self::Audit => "signet-audit",
        }
    }
}

/// The root of key access: holds the key module and hands out the capabilities. Only the code
/// that assembles a node (the `signet` binary) holds one.
#[derive(Clone)]
pub struct KeyAccess {
    module: Arc<dyn KeyModule>,
}

impl std::fmt::Debug for KeyAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyAccess")
            .field("backend", &self.module.backend())
            .finish()
    }
}

impl KeyAccess {
    pub fn new(module: Arc<dyn KeyModule>) -> Self {
        Self { module }
    }

    /// For the SAM only.
    pub fn signer_keys(&self) -> SignerKeys {
        SignerKeys {
            module: Arc::clone(&self.module),
        }
    }

    /// For the PKI services (CA, TSA) and the audit sealer.
    pub fn service_keys(&self) -> ServiceKeys {
        ServiceKeys {
            module: Arc::clone(&self.module),
            checked: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// For administration (credential keys) and readiness.
    pub fn provisioning(&self) -> KeyProvisioning {
        KeyProvisioning {
            module: Arc::clone(&self.module),
        }
    }

    /// "software" or "pkcs11".
    pub fn backend(&self) -> &'static str {
        self.module.backend()
    }

    /// Drops every connection to the module (SIGHUP after HSM maintenance).
    pub fn reset_sessions(&self) {
        self.module.reset_sessions();
    }
}

/// Signs with signer keys. Held by the SAM alone, which uses it only after it has spent a SAD.
#[derive(Clone)]
pub struct SignerKeys {
    module: Arc<dyn KeyModule>,
}

impl SignerKeys {
    pub fn backend(&self) -> &'static str {
        self.module.backend()
    }

    /// See [`KeyModule::concurrency`].
    pub fn concurrency(&self) -> Option<usize> {
        self.module.concurrency()
    }

    /// See [`KeyModule::sign_digests`].
    pub fn sign_digests(
        &self,
        key: &KeyRef,
        key_type: KeyType,
        mechanism: SignMechanism,
        digests: &[Vec<u8>],
    ) -> Result<Vec<Vec<u8>>, KeyError> {
        self.module.sign_digests(key, key_type, mechanism, digests)
    }
}

/// Creates and destroys signer keys and checks the module; cannot sign.
#[derive(Clone)]
pub struct KeyProvisioning {
    module: Arc<dyn KeyModule>,
}

impl KeyProvisioning {
    pub fn backend(&self) -> &'static str {
        self.module.backend()
    }

    /// A new signer key for the credential `credential_id`, labelled `signet:<credential_id>`.
    pub fn generate_signer_key(
        &self,
        key_type: KeyType,
        credential_id: &str,
    ) -> Result<GeneratedKey, KeyError> {
        self.module
            .generate(key_type, &format!("{SIGNER_LABEL_PREFIX}{credential_id}"))
    }

    /// Destroys a signer key (credential deletion).
    pub fn destroy_signer_key(&self, key: &KeyRef) -> Result<(), KeyError> {
        self.module.destroy(key)
    }

    /// See [`KeyModule::ping`].
    pub fn ping(&self) -> Result<(), KeyError> {
        self.module.ping()
    }
}

/// Signs with the node's service keys only, by purpose. Before a key is first used its label is
/// read from the key module and must be the purpose's label; the answer is remembered.
#[derive(Clone)]
pub struct ServiceKeys {
    module: Arc<dyn KeyModule>,
    checked: Arc<Mutex<Vec<(ServiceKey, KeyRef)>>>,
}

impl std::fmt::Debug for ServiceKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceKeys")
            .field("backend", &self.module.backend())
            .finish_non_exhaustive()
    }
}

impl ServiceKeys {
    pub fn backend(&self) -> &'static str {
        self.module.backend()
    }

    /// A new key for `purpose`, labelled with its label.
    pub fn generate(
        &self,
        purpose: ServiceKey,
        key_type: KeyType,
    ) -> Result<GeneratedKey, KeyError> {
        let generated = self.module.generate(key_type, purpose.label())?;
        self.checked
            .lock()
            .push((purpose, generated.key_ref.clone()));
        Ok(generated)
    }

    /// Signs with the `purpose` key `key`; any other key (a signer's, another service's) is
    /// refused as [`KeyError::NotFound`] before the module is asked to sign.
    pub fn sign_digests(
        &self,
        purpose: ServiceKey,
        key: &KeyRef,
        key_type: KeyType,
        mechanism: SignMechanism,
        digests: &[Vec<u8>],
    ) -> Result<Vec<Vec<u8>>, KeyError> {
        self.check(purpose, key)?;
        self.module.sign_digests(key, key_type, mechanism, digests)
    }

    /// Destroys a `purpose` key (a key created by a node that lost the first-writer race, or a
    /// rotated one).
    pub fn destroy(&self, purpose: ServiceKey, key: &KeyRef) -> Result<(), KeyError> {
        self.check(purpose, key)?;
        self.checked.lock().retain(|(_, k)| k != key);
        self.module.destroy(key)
    }

    fn check(&self, purpose: ServiceKey, key: &KeyRef) -> Result<(), KeyError> {
        if self
            .checked
            .lock()
            .iter()
            .any(|(p, k)| *p == purpose && k == key)
        {
            return Ok(());
        }
        if self.module.key_label(key)? != purpose.label() {
            tracing::error!(
                purpose = purpose.label(),
                "refused: the key is not labelled for this service"
            );
            return Err(KeyError::NotFound);
        }
        let mut checked = self.checked.lock();
        if !checked.iter().any(|(p, k)| *p == purpose && k == key) {
            checked.push((purpose, key.clone()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MasterKey, SoftKeyModule};
    use signet_core::HashAlgorithm;

    fn access() -> KeyAccess {
        KeyAccess::new(Arc::new(SoftKeyModule::new(MasterKey::generate().unwrap())))
    }

    #[test]
    fn service_keys_sign_only_keys_labelled_for_the_purpose() {
        let access = access();
        let (service, provisioning) = (access.service_keys(), access.provisioning());
        let ecdsa = SignMechanism::Ecdsa {
            hash: HashAlgorithm::Sha256,
        };
        let digest = vec![vec![1u8; 32]];
        let ca = service.generate(ServiceKey::Ca, KeyType::EcP256).unwrap();
        assert!(
            service
                .sign_digests(ServiceKey::Ca, &ca.key_ref, KeyType::EcP256, ecdsa, &digest)
                .is_ok()
        );
        // The CA key is not the TSA's.
        assert!(matches!(
            service.sign_digests(
                ServiceKey::Tsa,
                &ca.key_ref,
                KeyType::EcP256,
                ecdsa,
                &digest
            ),
            Err(KeyError::NotFound)
        ));
        // A signer key is no service key, even one whose credential ID mimics a label, and
        // through a fresh capability (nothing cached).
        let fresh = access.service_keys();
        for id in ["alice", "signet-ca"] {
            let signer = provisioning
                .generate_signer_key(KeyType::EcP256, id)
                .unwrap();
            for purpose in [ServiceKey::Ca, ServiceKey::Tsa, ServiceKey::Audit] {
                assert!(matches!(
                    fresh.sign_digests(purpose, &signer.key_ref, KeyType::EcP256, ecdsa, &digest),
                    Err(KeyError::NotFound)
                ));
            }
            // The SAM's capability signs with it.
            assert!(
                access
                    .signer_keys()
                    .sign_digests(&signer.key_ref, KeyType::EcP256, ecdsa, &digest)
                    .is_ok()
            );
        }
        // A fresh capability checks the label once and then signs.
        assert!(
            fresh
                .sign_digests(ServiceKey::Ca, &ca.key_ref, KeyType::EcP256, ecdsa, &digest)
                .is_ok()
        );
        // A signer key relabelled as the CA's passes the label check but does not open.
        let mut forged = provisioning
            .generate_signer_key(KeyType::EcP256, "ab")
            .unwrap()
            .key_ref;
        let at = crate::soft::HEADER_LEN;
        forged.0[at..at + 9].copy_from_slice(b"signet-ca");
        assert_eq!(access.module.key_label(&forged).unwrap(), "signet-ca");
        assert!(matches!(
            fresh.sign_digests(ServiceKey::Ca, &forged, KeyType::EcP256, ecdsa, &digest),
            Err(KeyError::NotFound)
        ));
    }
}
