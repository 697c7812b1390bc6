//! Handling of signer secrets: random handles, password and PIN hashes.
//!
//! Passwords are hashed with argon2id (slow on purpose: they guard the service login). PINs are
//! checked on every authorization, so they use HMAC-SHA256 under a key derived from the master
//! key (EN 419241-2 allows any protected reference data): a stolen database alone is not enough
//! to brute-force them, and verification stays in microseconds. Comparisons are constant-time.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use aws_lc_rs::{digest, hmac, rand::SecureRandom};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::SamError;

/// `n` random bytes from the system CSPRNG.
pub fn random_bytes(n: usize) -> Result<Vec<u8>, SamError> {
    let mut out = vec![0u8; n];
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| SamError::Internal("random generator failed".into()))?;
    Ok(out)
}

/// A fresh opaque secret (SAD, token): 32 random bytes, base64url without padding (256 bits,
/// well above the 128 bits the SAD needs).
pub fn random_secret() -> Result<Zeroizing<String>, SamError> {
    let bytes = Zeroizing::new(random_bytes(32)?);
    Ok(Zeroizing::new(
        data_encoding::BASE64URL_NOPAD.encode(&bytes),
    ))
}

/// A fresh public identifier (credential ID): 16 random bytes, base64url.
/// Never starts with '-', so the ID can be given to command-line tools as an argument.
pub fn random_id() -> Result<String, SamError> {
    loop {
        let id = data_encoding::BASE64URL_NOPAD.encode(&random_bytes(16)?);
        if !id.starts_with('-') {
            return Ok(id);
        }
    }
}

/// What the store keeps instead of a SAD or token: its SHA-256.
pub fn secret_hash(secret: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, secret.as_bytes()).as_ref());
    out
}

/// argon2id PHC string of `password`.
pub fn hash_password(password: &str) -> Result<String, SamError> {
    let salt_bytes = random_bytes(16)?;
    let salt = SaltString::encode_b64(&salt_bytes)
        .map_err(|_| SamError::Internal("salt encoding failed".into()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| SamError::Internal("password hashing failed".into()))
}

/// A valid argon2 hash of a random password, checked against when the user does not exist so
/// that a login for an unknown user takes as long as one for a known user.
pub fn dummy_password_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let pw = random_secret().map(|s| s.to_string()).unwrap_or_default();
        hash_password(&pw).unwrap_or_default()
    })
}

/// Checks `password` against an argon2 PHC string (constant-time inside argon2).
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Keyed hash for credential PINs.
pub struct PinHasher {
    key: hmac::Key,
}

impl PinHasher {
    /// `key` comes from `MasterKey::derive("pin-hmac")`.
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
        }
    }

    /// The reference value stored with a credential. The credential ID is mixed in so equal PINs
    /// on two credentials do not hash alike.
    pub fn hash(&self, credential_id: &str, pin: &str) -> Vec<u8> {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(&(credential_id.len() as u64).to_be_bytes());
        ctx.update(credential_id.as_bytes());
        ctx.update(pin.as_bytes());
        ctx.sign().as_ref().to_vec()
    }

    /// Constant-time comparison with the stored reference.
    pub fn verify(&self, credential_id: &str, pin: &str, stored: &[u8]) -> bool {
        let computed = self.hash(credential_id, pin);
        computed.len() == stored.len() && bool::from(computed.ct_eq(stored))
    }
}

impl std::fmt::Debug for PinHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PinHasher(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_round_trip() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct horsE", &h));
        assert!(!verify_password("x", "not a phc string"));
        assert!(!verify_password("x", dummy_password_hash()));
    }

    #[test]
    fn pin_hash_is_keyed_and_bound_to_credential() {
        let a = PinHasher::new(&[1u8; 32]);
        let b = PinHasher::new(&[2u8; 32]);
        let stored = a.hash("cred-1", "123456");
        assert!(a.verify("cred-1", "123456", &stored));
        assert!(!a.verify("cred-1", "123457", &stored));
        assert!(!a.verify("cred-2", "123456", &stored));
        assert!(!b.verify("cred-1", "123456", &stored));
    }

    #[test]
    fn ids_never_start_with_a_hyphen() {
        for _ in 0..2000 {
            let id = random_id().unwrap();
            assert_eq!(id.len(), 22);
            assert!(!id.starts_with('-'), "{id}");
        }
    }

    #[test]
    fn secrets_are_long_and_distinct() {
        let a = random_secret().unwrap();
        let b = random_secret().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(*a, *b);
        assert_eq!(secret_hash(&a), secret_hash(&a.clone()));
        assert_ne!(secret_hash(&a), secret_hash(&b));
    }
}
