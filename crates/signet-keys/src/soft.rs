//! The software key module: aws-lc-rs key pairs, kept at rest as PKCS#8 sealed under the
//! [`MasterKey`].
//!
//! A [`KeyRef`] issued here is self-contained:
//!
//! ```text
//! 0x01 || key-type code (u8) || label length (u16 BE) || label || MasterKey::seal(aad, PKCS#8)
//! aad = "signet-soft-key-v1\0" || key-type name || "\0" || label
//! ```
//!
//! The key type and label travel in clear because they are needed again at sign time, where
//! only the handle is known; binding them as associated data means neither can be altered (a
//! key cannot be relabelled to another owner or passed off as another type) without the blob
//! failing to open.

use std::collections::HashMap;
use std::sync::Arc;

use aws_lc_rs::digest::{self, Digest};
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, EcdsaSigningAlgorithm, KeyPair as _, RsaEncoding, RsaKeyPair,
};
use parking_lot::RwLock;
use signet_core::{HashAlgorithm, KeyType, PssSalt, SignMechanism};

use crate::{GeneratedKey, KeyError, KeyModule, KeyRef, MasterKey};

/// First byte of every software [`KeyRef`], so the layout can evolve.
const KEY_REF_VERSION: u8 = 1;
/// Version byte, key-type code and label length.
pub(crate) const HEADER_LEN: usize = 1 + 1 + 2;
/// Domain separation for the associated data of sealed software keys.
const AAD_PREFIX: &[u8] = b"signet-soft-key-v1\0";
/// Parsed key pairs kept in memory. An RSA-4096 key pair holds a few KiB, so this stays in the
/// tens of MiB at worst while covering the working set of a busy service.
const CACHE_CAPACITY: usize = 4096;

/// Keys generated and used in-process with aws-lc-rs.
///
/// Opening a sealed blob and parsing PKCS#8 costs more than an ECDSA signature (and far more
/// for RSA, whose key check is expensive), so parsed key pairs are cached, keyed by SHA-256 of
/// the [`KeyRef`]. The cache holds no more than the database already holds in sealed form;
/// plaintext PKCS#8 exists only for the duration of a parse.
pub struct SoftKeyModule {
    master: MasterKey,
    cache: RwLock<HashMap<[u8; 32], Arc<ParsedKey>>>,
    cache_capacity: usize,
}

/// A key pair ready to sign. aws-lc-rs key pairs are `Send + Sync` and sign through `&self`,
/// so one `Arc` serves concurrent requests.
enum ParsedKey {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

/// The clear-text part of a [`KeyRef`], borrowed from it.
struct Header<'a> {
    key_type: KeyType,
    label: &'a [u8],
    sealed: &'a [u8],
}

impl std::fmt::Debug for SoftKeyModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftKeyModule")
            .field("cached_keys", &self.cache.read().len())
            .finish_non_exhaustive()
    }
}

impl SoftKeyModule {
    pub fn new(master: MasterKey) -> Self {
        Self::with_cache_capacity(master, CACHE_CAPACITY)
    }

    fn with_cache_capacity(master: MasterKey, cache_capacity: usize) -> Self {
        Self {
            master,
            cache: RwLock::new(HashMap::new()),
            cache_capacity: cache_capacity.max(1),
        }
    }

    /// The parsed key pair for `key`, from the cache or by opening and parsing the blob.
    fn key_pair(&self, key: &KeyRef, header: &Header<'_>) -> Result<Arc<ParsedKey>, KeyError> {
        let id = cache_id(key);
        if let Some(parsed) = self.cache.read().get(&id) {
            return Ok(Arc::clone(parsed));
        }
        // Two threads missing at once both parse; the result is identical, so no need to
        // serialise the slow path behind a lock.
        let parsed = Arc::new(self.parse(header)?);
        self.cache_insert(id, Arc::clone(&parsed));
        Ok(parsed)
    }

    fn parse(&self, header: &Header<'_>) -> Result<ParsedKey, KeyError> {
        let aad = aad(header.key_type, header.label);
        // Zeroizing: the plaintext PKCS#8 is wiped when this function returns.
        let pkcs8 = self.master.open(&aad, header.sealed)?;
        // The blob authenticated, so a parse failure means we sealed garbage: a bug, not a
        // missing key.
        let broken = || KeyError::Internal(format!("sealed {} key is corrupt", header.key_type));
        match header.key_type {
            KeyType::EcP256 | KeyType::EcP384 => {
                EcdsaKeyPair::from_pkcs8(ec_signing_alg(header.key_type), &pkcs8)
                    .map(ParsedKey::Ec)
                    .map_err(|_| broken())
            }
            KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => {
                let pair = RsaKeyPair::from_pkcs8(&pkcs8).map_err(|_| broken())?;
                if pair.public_modulus_len() * 8 != header.key_type.bits() as usize {
                    return Err(broken());
                }
                Ok(ParsedKey::Rsa(pair))
            }
        }
    }

    /// Inserts into the bounded cache. When full, an arbitrary quarter is evicted: evicted keys
    /// only cost a re-parse, and this needs no bookkeeping on the hot read path (unlike LRU).
    fn cache_insert(&self, id: [u8; 32], parsed: Arc<ParsedKey>) {
        let mut cache = self.cache.write();
        if cache.len() >= self.cache_capacity && !cache.contains_key(&id) {
            let evict = (self.cache_capacity / 4).max(1);
            let victims: Vec<[u8; 32]> = cache.keys().take(evict).copied().collect();
            for victim in &victims {
                cache.remove(victim);
            }
            tracing::debug!(evicted = victims.len(), "software key cache full");
        }
        cache.insert(id, parsed);
    }
}

impl KeyModule for SoftKeyModule {
    fn backend(&self) -> &'static str {
        "software"
    }

    /// Pure CPU: one call per core.
    fn concurrency(&self) -> Option<usize> {
        Some(std::thread::available_parallelism().map_or(1, usize::from))
    }

    fn generate(&self, key_type: KeyType, label: &str) -> Result<GeneratedKey, KeyError> {
        let label = label.as_bytes();
        let label_len = u16::try_from(label.len())
            .map_err(|_| KeyError::Internal("key label longer than 65535 bytes".into()))?;
        let failed = || KeyError::Internal(format!("{key_type} key generation failed"));

        let (parsed, sealed, public_key_der) = match key_type {
            KeyType::EcP256 | KeyType::EcP384 => {
                let pair =
                    EcdsaKeyPair::generate(ec_signing_alg(key_type)).map_err(|_| failed())?;
                // `Document` zeroizes itself on drop.
                let pkcs8 = pair.to_pkcs8v1().map_err(|_| failed())?;
                let sealed = self.master.seal(&aad(key_type, label), pkcs8.as_ref())?;
                let spki: PublicKeyX509Der<'static> =
                    pair.public_key().as_der().map_err(|_| failed())?;
                (ParsedKey::Ec(pair), sealed, spki.as_ref().to_vec())
            }
            KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => {
                let size = match key_type {
                    KeyType::Rsa2048 => KeySize::Rsa2048,
                    KeyType::Rsa3072 => KeySize::Rsa3072,
                    _ => KeySize::Rsa4096,
                };
                let pair = RsaKeyPair::generate(size).map_err(|_| failed())?;
                // `Pkcs8V1Der` zeroizes itself on drop.
                let pkcs8: Pkcs8V1Der<'static> = pair.as_der().map_err(|_| failed())?;
                let sealed = self.master.seal(&aad(key_type, label), pkcs8.as_ref())?;
                let spki: PublicKeyX509Der<'static> =
                    pair.public_key().as_der().map_err(|_| failed())?;
                (ParsedKey::Rsa(pair), sealed, spki.as_ref().to_vec())
            }
        };

        let mut bytes = Vec::with_capacity(HEADER_LEN + label.len() + sealed.len());
        bytes.push(KEY_REF_VERSION);
        bytes.push(type_code(key_type));
        bytes.extend_from_slice(&label_len.to_be_bytes());
        bytes.extend_from_slice(label);
        bytes.extend_from_slice(&sealed);
        let key_ref = KeyRef(bytes);

        // A new key is usually used right away (its certificate, then the first signature).
        self.cache_insert(cache_id(&key_ref), Arc::new(parsed));
        Ok(GeneratedKey {
            key_ref,
            public_key_der,
        })
    }

    fn sign_digests(
        &self,
        key: &KeyRef,
        key_type: KeyType,
        mechanism: SignMechanism,
        digests: &[Vec<u8>],
    ) -> Result<Vec<Vec<u8>>, KeyError> {
        let header = parse_key_ref(key)?;
        if header.key_type != key_type {
            return Err(KeyError::NotFound);
        }
        crate::check_sign_request(key_type, mechanism, digests)?;

        let pair = self.key_pair(key, &header)?;
        digests
            .iter()
            .map(|digest| pair.sign(key_type, mechanism, digest))
            .collect()
    }

    /// The software module cannot erase a key: the sealed blob *is* the key, and it lives in
    /// the database, where the store deletes the row. This only drops the parsed key pair from
    /// memory. Anyone who kept a copy of the `KeyRef` (a backup) can still use it with the
    /// master key; rotate the master key to revoke those.
    /// The label travels in clear in the handle and is bound into the sealed key's associated
    /// data, so a relabelled handle does not open: reading it here is as good as opening it.
    fn key_label(&self, key: &KeyRef) -> Result<String, KeyError> {
        let header = parse_key_ref(key)?;
        String::from_utf8(header.label.to_vec()).map_err(|_| KeyError::NotFound)
    }

    fn destroy(&self, key: &KeyRef) -> Result<(), KeyError> {
        self.cache.write().remove(&cache_id(key));
        Ok(())
    }
}

impl ParsedKey {
    /// Signs one precomputed digest whose length has already been checked.
    fn sign(
        &self,
        key_type: KeyType,
        mechanism: SignMechanism,
        digest: &[u8],
    ) -> Result<Vec<u8>, KeyError> {
        match (self, mechanism) {
            (Self::Ec(pair), SignMechanism::Ecdsa { .. }) => {
                let digest = ec_digest(key_type, digest)?;
                let sig = pair
                    .sign_digest(&digest)
                    .map_err(|_| KeyError::Internal("ECDSA signing failed".into()))?;
                Ok(sig.as_ref().to_vec())
            }
            (Self::Rsa(pair), SignMechanism::RsaPkcs1 { hash }) => {
                rsa_sign(pair, rsa_pkcs1_encoding(hash), hash, digest)
            }
            (Self::Rsa(pair), SignMechanism::RsaPss { hash, salt }) => {
                rsa_sign(pair, rsa_pss_encoding(hash, salt), hash, digest)
            }
            // The key type in the handle is authenticated and checked against `key_type`
            // before we get here.
            _ => Err(KeyError::Mechanism {
                mechanism: mechanism.name(),
                key_type,
            }),
        }
    }
}

/// [`crate::ecdsa_input`] typed as a digest aws-lc-rs accepts for the key: it pairs P-256 only
/// with SHA-256 and P-384 only with SHA-384, which is just a matter of the input's length here.
fn ec_digest(key_type: KeyType, digest: &[u8]) -> Result<Digest, KeyError> {
    let alg = match key_type {
        KeyType::EcP384 => &digest::SHA384,
        _ => &digest::SHA256,
    };
    let e = crate::ecdsa_input(key_type, digest)?;
    Digest::import_less_safe(&e, alg).map_err(|_| KeyError::Internal("digest import failed".into()))
}

/// RSA over a precomputed digest. aws-lc-rs builds the PKCS#1 v1.5 DigestInfo or the PSS
/// encoding (MGF1 with the same hash, salt = digest length) from it; nothing is re-hashed.
fn rsa_sign(
    pair: &RsaKeyPair,
    encoding: &'static dyn RsaEncoding,
    hash: HashAlgorithm,
    digest: &[u8],
) -> Result<Vec<u8>, KeyError> {
    let failed = || KeyError::Internal("RSA signing failed".into());
    let digest = Digest::import_less_safe(digest, hash.aws_lc()).map_err(|_| failed())?;
    let mut sig = vec![0u8; pair.public_modulus_len()];
    pair.sign_digest(encoding, &digest, &mut sig)
        .map_err(|_| failed())?;
    Ok(sig)
}

fn rsa_pkcs1_encoding(hash: HashAlgorithm) -> &'static dyn RsaEncoding {
    match hash {
        HashAlgorithm::Sha256 => &signature::RSA_PKCS1_SHA256,
        HashAlgorithm::Sha384 => &signature::RSA_PKCS1_SHA384,
        HashAlgorithm::Sha512 => &signature::RSA_PKCS1_SHA512,
    }
}

/// aws-lc-rs' PSS encodings default to a salt as long as the digest; `Max` gives
/// `emLen - hLen - 2`, exactly [`PssSalt::Maximum`]. `sign_digest` wants `'static` encodings,
/// hence one static per (hash, salt) pair.
fn rsa_pss_encoding(hash: HashAlgorithm, salt: PssSalt) -> &'static dyn RsaEncoding {
    use signature::RsaPssSaltLength::Max;
    static PSS_SHA256_MAX: signature::RsaSignatureEncoding =
        signature::RSA_PSS_SHA256.with_pss_salt_length(Max);
    static PSS_SHA384_MAX: signature::RsaSignatureEncoding =
        signature::RSA_PSS_SHA384.with_pss_salt_length(Max);
    static PSS_SHA512_MAX: signature::RsaSignatureEncoding =
        signature::RSA_PSS_SHA512.with_pss_salt_length(Max);
    match (hash, salt) {
        (HashAlgorithm::Sha256, PssSalt::DigestLength) => &signature::RSA_PSS_SHA256,
        (HashAlgorithm::Sha384, PssSalt::DigestLength) => &signature::RSA_PSS_SHA384,
        (HashAlgorithm::Sha512, PssSalt::DigestLength) => &signature::RSA_PSS_SHA512,
        (HashAlgorithm::Sha256, PssSalt::Maximum) => &PSS_SHA256_MAX,
        (HashAlgorithm::Sha384, PssSalt::Maximum) => &PSS_SHA384_MAX,
        (HashAlgorithm::Sha512, PssSalt::Maximum) => &PSS_SHA512_MAX,
    }
}

/// DER (`SEQUENCE { r, s }`) output, what CMS and X.509 carry.
fn ec_signing_alg(key_type: KeyType) -> &'static EcdsaSigningAlgorithm {
    match key_type {
        KeyType::EcP384 => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
        _ => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
    }
}

/// Stable on-disk codes: they are stored inside every software `KeyRef`.
fn type_code(key_type: KeyType) -> u8 {
    match key_type {
        KeyType::EcP256 => 1,
        KeyType::EcP384 => 2,
        KeyType::Rsa2048 => 3,
        KeyType::Rsa3072 => 4,
        KeyType::Rsa4096 => 5,
    }
}

fn type_from_code(code: u8) -> Option<KeyType> {
    KeyType::ALL.into_iter().find(|k| type_code(*k) == code)
}

fn aad(key_type: KeyType, label: &[u8]) -> Vec<u8> {
    let name = key_type.name().as_bytes();
    let mut aad = Vec::with_capacity(AAD_PREFIX.len() + name.len() + 1 + label.len());
    aad.extend_from_slice(AAD_PREFIX);
    aad.extend_from_slice(name);
    aad.push(0);
    aad.extend_from_slice(label);
    aad
}

/// Splits a handle into its clear header and sealed blob. Anything malformed is simply a key
/// we do not have.
fn parse_key_ref(key: &KeyRef) -> Result<Header<'_>, KeyError> {
    let bytes = key.0.as_slice();
    let (&[version, code, len_hi, len_lo], rest) = bytes
        .split_first_chunk::<HEADER_LEN>()
        .ok_or(KeyError::NotFound)?;
    if version != KEY_REF_VERSION {
        return Err(KeyError::NotFound);
    }
    let key_type = type_from_code(code).ok_or(KeyError::NotFound)?;
    let label_len = usize::from(u16::from_be_bytes([len_hi, len_lo]));
    if rest.len() < label_len {
        return Err(KeyError::NotFound);
    }
    let (label, sealed) = rest.split_at(label_len);
    Ok(Header {
        key_type,
        label,
        sealed,
    })
}

fn cache_id(key: &KeyRef) -> [u8; 32] {
    let mut id = [0u8; 32];
    id.copy_from_slice(digest::digest(&digest::SHA256, &key.0).as_ref());
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{check_spki, mechanisms, verifier};
    use aws_lc_rs::signature::UnparsedPublicKey;

    const MESSAGE: &[u8] = b"hello";

    fn module() -> SoftKeyModule {
        SoftKeyModule::new(MasterKey::generate().unwrap())
    }

    fn sign_and_verify_all(module: &SoftKeyModule, key_type: KeyType, key: &GeneratedKey) {
        let raw_public = check_spki(key_type, &key.public_key_der);
        for mechanism in mechanisms(key_type) {
            let hash = mechanism.hash();
            let digests = vec![hash.digest(MESSAGE), hash.digest(b"second")];
            let sigs = module
                .sign_digests(&key.key_ref, key_type, mechanism, &digests)
                .unwrap();
            assert_eq!(sigs.len(), 2);
            let alg = verifier(key_type, mechanism);
            for (sig, msg) in sigs.iter().zip([MESSAGE, b"second"]) {
                if key_type.is_rsa() {
                    assert_eq!(sig.len(), key_type.bits() as usize / 8);
                } else {
                    assert_eq!(sig[0], 0x30, "ECDSA signature must be DER");
                }
                for public in [&raw_public, &key.public_key_der] {
                    UnparsedPublicKey::new(alg, public)
                        .verify(msg, sig)
                        .unwrap_or_else(|_| panic!("{key_type} {}", mechanism.name()));
                }
                // And not over another message.
                assert!(
                    UnparsedPublicKey::new(alg, &raw_public)
                        .verify(b"other", sig)
                        .is_err()
                );
            }
        }
    }

    #[test]
    fn every_key_type_signs_every_mechanism() {
        let master = MasterKey::generate().unwrap();
        let module = SoftKeyModule::new(master.clone());
        for key_type in KeyType::ALL {
            let key = module.generate(key_type, "alice/cred-1").unwrap();
            // From the key pair cached at generation...
            sign_and_verify_all(&module, key_type, &key);
            // ...and from the sealed blob alone, as after a restart.
            let fresh = SoftKeyModule::new(master.clone());
            sign_and_verify_all(&fresh, key_type, &key);
            assert_eq!(fresh.cache.read().len(), 1);
            fresh.destroy(&key.key_ref).unwrap();
            assert!(fresh.cache.read().is_empty());
        }
    }

    #[test]
    fn refuses_wrong_digest_length_and_mechanism() {
        let module = module();
        let ec = module.generate(KeyType::EcP256, "l").unwrap();
        let mechanism = SignMechanism::Ecdsa {
            hash: HashAlgorithm::Sha256,
        };
        let err = module
            .sign_digests(
                &ec.key_ref,
                KeyType::EcP256,
                mechanism,
                &[vec![0; 32], vec![0; 48]],
            )
            .unwrap_err();
        assert!(
            matches!(
                err,
                KeyError::DigestLength {
                    got: 48,
                    expected: 32,
                    hash: "SHA-256"
                }
            ),
            "{err:?}"
        );
        let err = module
            .sign_digests(
                &ec.key_ref,
                KeyType::EcP256,
                SignMechanism::RsaPkcs1 {
                    hash: HashAlgorithm::Sha256,
                },
                &[vec![0; 32]],
            )
            .unwrap_err();
        assert!(
            matches!(
                err,
                KeyError::Mechanism {
                    key_type: KeyType::EcP256,
                    ..
                }
            ),
            "{err:?}"
        );

        let rsa = module.generate(KeyType::Rsa2048, "l").unwrap();
        let err = module
            .sign_digests(&rsa.key_ref, KeyType::Rsa2048, mechanism, &[vec![0; 32]])
            .unwrap_err();
        assert!(
            matches!(
                err,
                KeyError::Mechanism {
                    mechanism: "ecdsa-sha256",
                    key_type: KeyType::Rsa2048
                }
            ),
            "{err:?}"
        );
        // No digests: nothing to sign, but the key is still checked.
        let sigs = module
            .sign_digests(&ec.key_ref, KeyType::EcP256, mechanism, &[])
            .unwrap();
        assert!(sigs.is_empty());
    }

    #[test]
    fn refuses_foreign_tampered_or_mistyped_key_refs() {
        let module = module();
        let key = module.generate(KeyType::EcP384, "bob").unwrap();
        let mechanism = SignMechanism::Ecdsa {
            hash: HashAlgorithm::Sha384,
        };
        let digests = [vec![1; 48]];
        let sign =
            |m: &SoftKeyModule, r: &KeyRef, t: KeyType| m.sign_digests(r, t, mechanism, &digests);

        // Another master key.
        let other = SoftKeyModule::new(MasterKey::generate().unwrap());
        assert!(matches!(
            sign(&other, &key.key_ref, KeyType::EcP384),
            Err(KeyError::NotFound)
        ));
        // Key type mismatch with what the caller recorded.
        assert!(matches!(
            sign(&module, &key.key_ref, KeyType::EcP256),
            Err(KeyError::NotFound)
        ));
        // Relabelled or retyped handles do not open (fresh module: no cached key pair).
        let fresh = SoftKeyModule::new(module.master.clone());
        assert!(sign(&fresh, &key.key_ref, KeyType::EcP384).is_ok());
        let mut relabelled = key.key_ref.clone();
        relabelled.0[HEADER_LEN] = b'B';
        assert!(matches!(
            sign(&fresh, &relabelled, KeyType::EcP384),
            Err(KeyError::NotFound)
        ));
        let mut retyped = key.key_ref.clone();
        retyped.0[1] = type_code(KeyType::EcP256);
        assert!(matches!(
            sign(&fresh, &retyped, KeyType::EcP256),
            Err(KeyError::NotFound)
        ));
        let mut flipped = key.key_ref.clone();
        let last = flipped.0.len() - 1;
        flipped.0[last] ^= 1;
        assert!(matches!(
            sign(&fresh, &flipped, KeyType::EcP384),
            Err(KeyError::NotFound)
        ));
        // Garbage and truncated handles.
        for bad in [
            vec![],
            vec![1, 2, 0],
            vec![1, 2, 0xff, 0xff, 0],
            vec![9; 80],
        ] {
            assert!(matches!(
                sign(&fresh, &KeyRef(bad), KeyType::EcP384),
                Err(KeyError::NotFound)
            ));
        }
    }

    #[test]
    fn concurrent_signing_with_one_key() {
        let module = Arc::new(module());
        let key = module.generate(KeyType::EcP256, "c").unwrap();
        let raw_public = check_spki(KeyType::EcP256, &key.public_key_der);
        let mechanism = SignMechanism::Ecdsa {
            hash: HashAlgorithm::Sha256,
        };
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let module = Arc::clone(&module);
                let key_ref = key.key_ref.clone();
                std::thread::spawn(move || {
                    (0..50)
                        .map(|_| {
                            module
                                .sign_digests(
                                    &key_ref,
                                    KeyType::EcP256,
                                    mechanism,
                                    &[HashAlgorithm::Sha256.digest(MESSAGE)],
                                )
                                .unwrap()
                                .remove(0)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for thread in threads {
            for sig in thread.join().unwrap() {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, &raw_public)
                    .verify(MESSAGE, &sig)
                    .unwrap();
            }
        }
    }

    #[test]
    fn cache_stays_bounded() {
        let master = MasterKey::generate().unwrap();
        let module = SoftKeyModule::with_cache_capacity(master, 8);
        let keys: Vec<_> = (0..20)
            .map(|i| module.generate(KeyType::EcP256, &format!("k{i}")).unwrap())
            .collect();
        assert!(module.cache.read().len() <= 8);
        // Evicted keys are parsed again from the handle.
        let mechanism = SignMechanism::Ecdsa {
            hash: HashAlgorithm::Sha256,
        };
        for key in &keys {
            module
                .sign_digests(&key.key_ref, KeyType::EcP256, mechanism, &[vec![3; 32]])
                .unwrap();
            assert!(module.cache.read().len() <= 8);
        }
    }

    #[test]
    fn key_ref_layout_and_backend() {
        let module = module();
        assert_eq!(module.backend(), "software");
        let key = module.generate(KeyType::EcP256, "alice").unwrap();
        let bytes = &key.key_ref.0;
        assert_eq!(&bytes[..4], &[1, 1, 0, 5]);
        assert_eq!(&bytes[4..9], b"alice");
        assert_eq!(bytes[9], 1, "sealed blob version");
        assert!(!format!("{module:?}").is_empty());
        let long = "x".repeat(70_000);
        assert!(matches!(
            module.generate(KeyType::EcP256, &long),
            Err(KeyError::Internal(_))
        ));
    }
}
