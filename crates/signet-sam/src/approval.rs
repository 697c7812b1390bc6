//! The proof of verified factors: the only thing a SAD is issued against.
//!
//! [`VerifiedFactors`] has no public constructor. The SAM makes one when it has just checked
//! the signer's factors ([`crate::Sam::verify_factors`]), and [`crate::Sam::issue_sad`] takes
//! one by value, so no code outside the SAM can issue a SAD "because the caller said so".
//!
//! Two flows issue the SAD later than the factor check, in another HTTP request: the OAuth2
//! code flow (consent page → token endpoint) and decoupled approval (approval page →
//! authorizeCheck). The approval then travels through the store as a seal: an HMAC-SHA256,
//! under a key derived from the master key, over the record that carries it (the code's hash,
//! the decoupled request's ID), the user and the exact binding approved. Only the SAM can make
//! or check one, so a row written by anyone else — a database administrator, a bug in a
//! binding — yields no SAD.

use aws_lc_rs::hmac;
use signet_store::{CredentialBinding, SecretHash};

/// Proof that the SAM verified this user's factors for this credential.
#[derive(Debug)]
pub struct VerifiedFactors {
    pub(crate) user_id: i64,
    pub(crate) credential_id: String,
}

impl VerifiedFactors {
    /// The credential the factors were verified for.
    pub fn credential_id(&self) -> &str {
        &self.credential_id
    }
}

/// Makes and checks approval seals.
pub(crate) struct ApprovalSeals {
    key: hmac::Key,
}

impl std::fmt::Debug for ApprovalSeals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApprovalSeals(<redacted>)")
    }
}

fn put(ctx: &mut hmac::Context, bytes: &[u8]) {
    ctx.update(&(bytes.len() as u64).to_be_bytes());
    ctx.update(bytes);
}

impl ApprovalSeals {
    /// `key` comes from `MasterKey::derive("signet approval seal v1")`.
    pub(crate) fn new(key: &[u8; 32]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
        }
    }

    fn tag(&self, record: &[u8], user_id: i64, binding: &CredentialBinding) -> hmac::Tag {
        let mut ctx = hmac::Context::with_key(&self.key);
        put(&mut ctx, b"signet approval v1");
        put(&mut ctx, record);
        ctx.update(&user_id.to_be_bytes());
        put(&mut ctx, binding.credential_id.as_bytes());
        ctx.update(&binding.num_signatures.to_be_bytes());
        put(
            &mut ctx,
            binding.hash_algo.map_or("", |h| h.oid()).as_bytes(),
        );
        match &binding.hashes {
            None => ctx.update(&[0]),
            Some(hashes) => {
                ctx.update(&[1]);
                ctx.update(&(hashes.len() as u64).to_be_bytes());
                for h in hashes {
                    put(&mut ctx, h);
                }
            }
        }
        ctx.sign()
    }

    pub(crate) fn seal(
        &self,
        record: &[u8],
        user_id: i64,
        binding: &CredentialBinding,
    ) -> SecretHash {
        let mut out = [0u8; 32];
        out.copy_from_slice(self.tag(record, user_id, binding).as_ref());
        out
    }

    /// Constant-time check of `seal`.
    pub(crate) fn verify(
        &self,
        record: &[u8],
        user_id: i64,
        binding: &CredentialBinding,
        seal: &SecretHash,
    ) -> bool {
        use subtle::ConstantTimeEq;
        let expected = self.tag(record, user_id, binding);
        bool::from(expected.as_ref().ct_eq(seal.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_core::HashAlgorithm;

    #[test]
    fn a_seal_binds_record_user_and_binding() {
        let seals = ApprovalSeals::new(&[3; 32]);
        let binding = CredentialBinding {
            credential_id: "c1".into(),
            num_signatures: 2,
            hash_algo: Some(HashAlgorithm::Sha256),
            hashes: Some(vec![vec![1; 32], vec![2; 32]]),
        };
        let seal = seals.seal(b"code", 7, &binding);
        assert!(seals.verify(b"code", 7, &binding, &seal));
        assert!(!seals.verify(b"other", 7, &binding, &seal));
        assert!(!seals.verify(b"code", 8, &binding, &seal));
        let mut more = binding.clone();
        more.num_signatures = 3;
        assert!(!seals.verify(b"code", 7, &more, &seal));
        let mut swapped = binding.clone();
        swapped.hashes = Some(vec![vec![2; 32], vec![1; 32]]);
        assert!(!seals.verify(b"code", 7, &swapped, &seal));
        let mut unbound = binding.clone();
        unbound.hashes = None;
        assert!(!seals.verify(b"code", 7, &unbound, &seal));
        // Another master key, another seal.
        assert!(!ApprovalSeals::new(&[4; 32]).verify(b"code", 7, &binding, &seal));
    }
}
