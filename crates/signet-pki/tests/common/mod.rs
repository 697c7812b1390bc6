//! A tiny in-memory `KeyModule` for tests, independent of `signet_keys::SoftKeyModule`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_lc_rs::digest::Digest;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use signet_core::{KeyType, SignMechanism};
use signet_keys::{GeneratedKey, KeyAccess, KeyError, KeyModule, KeyRef, ServiceKeys};

enum Key {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

#[derive(Default)]
pub struct TestKeyModule {
    next: AtomicU64,
    keys: Mutex<HashMap<Vec<u8>, (KeyType, Key)>>,
    labels: Mutex<HashMap<Vec<u8>, String>>,
    pub destroyed: Mutex<Vec<KeyRef>>,
    /// When set, every signature is corrupted (to test the self-check).
    pub corrupt: std::sync::atomic::AtomicBool,
}

impl KeyModule for TestKeyModule {
    fn backend(&self) -> &'static str {
        "test"
    }

    fn generate(&self, key_type: KeyType, label: &str) -> Result<GeneratedKey, KeyError> {
        let internal = |_| KeyError::Internal("generation failed".into());
        let (key, spki) = match key_type {
            KeyType::EcP256 | KeyType::EcP384 => {
                let alg = if key_type == KeyType::EcP256 {
                    &signature::ECDSA_P256_SHA256_ASN1_SIGNING
                } else {
                    &signature::ECDSA_P384_SHA384_ASN1_SIGNING
                };
                let kp = EcdsaKeyPair::generate(alg).map_err(internal)?;
                let spki = kp
                    .public_key()
                    .as_der()
                    .map_err(internal)?
                    .as_ref()
                    .to_vec();
                (Key::Ec(kp), spki)
            }
            KeyType::Rsa2048 => {
                let kp = RsaKeyPair::generate(KeySize::Rsa2048).map_err(internal)?;
                let spki = kp
                    .public_key()
                    .as_der()
                    .map_err(internal)?
                    .as_ref()
                    .to_vec();
                (Key::Rsa(kp), spki)
            }
            _ => {
                return Err(KeyError::Internal(
                    "test module: unsupported key type".into(),
                ));
            }
        };
        let id = self
            .next
            .fetch_add(1, Ordering::SeqCst)
            .to_be_bytes()
            .to_vec();
        self.keys
            .lock()
            .unwrap()
            .insert(id.clone(), (key_type, key));
        self.labels
            .lock()
            .unwrap()
            .insert(id.clone(), label.to_owned());
        Ok(GeneratedKey {
            key_ref: KeyRef(id),
            public_key_der: spki,
        })
    }

    fn sign_digests(
        &self,
        key: &KeyRef,
        key_type: KeyType,
        mechanism: SignMechanism,
        digests: &[Vec<u8>],
    ) -> Result<Vec<Vec<u8>>, KeyError> {
        let keys = self.keys.lock().unwrap();
        let (stored_type, kp) = keys.get(&key.0).ok_or(KeyError::NotFound)?;
        assert_eq!(*stored_type, key_type);
        let hash = mechanism.hash();
        let mut out = Vec::new();
        for d in digests {
            let digest =
                Digest::import_less_safe(d, hash.aws_lc()).map_err(|_| KeyError::DigestLength {
                    got: d.len(),
                    expected: hash.len(),
                    hash: hash.name(),
                })?;
            let mut sig = match (kp, mechanism) {
                (Key::Ec(kp), SignMechanism::Ecdsa { .. }) => kp
                    .sign_digest(&digest)
                    .map_err(|_| KeyError::Internal("ecdsa".into()))?
                    .as_ref()
                    .to_vec(),
                (Key::Rsa(kp), SignMechanism::RsaPkcs1 { hash }) => {
                    let enc: &'static dyn signature::RsaEncoding = match hash {
                        signet_core::HashAlgorithm::Sha256 => &signature::RSA_PKCS1_SHA256,
                        signet_core::HashAlgorithm::Sha384 => &signature::RSA_PKCS1_SHA384,
                        signet_core::HashAlgorithm::Sha512 => &signature::RSA_PKCS1_SHA512,
                    };
                    let mut sig = vec![0; kp.public_modulus_len()];
                    kp.sign_digest(enc, &digest, &mut sig)
                        .map_err(|_| KeyError::Internal("rsa".into()))?;
                    sig
                }
                _ => {
                    return Err(KeyError::Mechanism {
                        mechanism: mechanism.name(),
                        key_type,
                    });
                }
            };
            if self.corrupt.load(Ordering::SeqCst) {
                let last = sig.len() - 1;
                sig[last] ^= 1;
            }
            out.push(sig);
        }
        Ok(out)
    }

    fn key_label(&self, key: &KeyRef) -> Result<String, KeyError> {
        self.labels
            .lock()
            .unwrap()
            .get(&key.0)
            .cloned()
            .ok_or(KeyError::NotFound)
    }

    fn destroy(&self, key: &KeyRef) -> Result<(), KeyError> {
        self.keys
            .lock()
            .unwrap()
            .remove(&key.0)
            .ok_or(KeyError::NotFound)?;
        self.destroyed.lock().unwrap().push(key.clone());
        Ok(())
    }
}

/// A [`TestKeyModule`] with the service-key capability over it (what the PKI is given); the
/// module itself is reachable through `Deref` (signer keys, the corrupt switch).
pub struct TestKeys {
    pub module: std::sync::Arc<TestKeyModule>,
    pub service: ServiceKeys,
}

impl Default for TestKeys {
    fn default() -> Self {
        let module = std::sync::Arc::new(TestKeyModule::default());
        let service = KeyAccess::new(module.clone()).service_keys();
        Self { module, service }
    }
}

impl std::ops::Deref for TestKeys {
    type Target = TestKeyModule;

    fn deref(&self) -> &TestKeyModule {
        &self.module
    }
}
