//! The SAD decision (`signet_sam::judge`), on structured input: a credential, an
//! authorization checked by `Sam::check_binding` (what a SAD binds), then a sequence of spend
//! requests and extensions (credentials/extendTransaction, `judge_extension`), each judged
//! against what the previous steps left (as the store applies the verdict in its transaction).
//!
//! Properties (EN 419241-1 SRA_SAP.1, `signet_sam::sad`): a spend is allowed only for the SAD's
//! signer and credential, before expiry, with the authorized hash algorithm; never more
//! signatures in total than `numSignatures`; with bound hashes (SCAL2) never a hash that was
//! not bound, each at most as often as it was bound — extensions included, which keep the
//! bound hashes and the count; a refusal changes nothing; an exhausted SAD is gone.

use arbitrary::{Arbitrary, Unstructured};
use signet_core::{HashAlgorithm, KeyType};
use signet_sam::Sam;
use signet_sam::sad::{ExtendRequest, SpendRequest, judge as sam_judge, judge_extension};
use signet_store::{AuthMode, Credential, SadRecord, SadRefusal};

/// A digest drawn from a small alphabet so that requested and bound hashes often meet.
#[derive(Debug, Arbitrary)]
struct Digest {
    algorithm: u8,
    fill: u8,
    /// A few digests are the wrong length.
    short: bool,
}

impl Digest {
    fn bytes(&self, fallback: HashAlgorithm) -> Vec<u8> {
        let algorithm = hash(self.algorithm).unwrap_or(fallback);
        let len = if self.short { 20 } else { algorithm.len() };
        vec![self.fill % 8; len]
    }
}

fn hash(b: u8) -> Option<HashAlgorithm> {
    match b % 4 {
        0 => None,
        i => Some(HashAlgorithm::ALL[usize::from(i) - 1]),
    }
}

#[derive(Debug, Arbitrary)]
struct Spend {
    other_user: bool,
    other_credential: bool,
    hash_algorithm: u8,
    hashes: Vec<Digest>,
    /// Seconds after issue.
    at: u16,
    /// An extendTransaction naming `hashes` (none when empty) instead of a spend.
    extend: bool,
}

#[derive(Debug, Arbitrary)]
struct Input {
    scal2: bool,
    multisign: u8,
    num_signatures: u8,
    bind_hashes: bool,
    hash_algorithm: u8,
    bound: Vec<Digest>,
    lifetime: u16,
    spends: Vec<Spend>,
}

fn credential(scal2: bool, multisign: u32) -> Credential {
    Credential {
        id: "cred-1".into(),
        user_id: 1,
        key_type: KeyType::EcP256,
        backend: "software".into(),
        key_ref: Vec::new(),
        public_key: Vec::new(),
        certificate: Vec::new(),
        chain: Vec::new(),
        scal: if scal2 { 2 } else { 1 },
        multisign,
        auth_mode: AuthMode::Explicit,
        pin_hash: Vec::new(),
        description: None,
        disabled: false,
        failed_attempts: 0,
        locked: false,
        created_at: 0,
    }
}

/// Removes each of `taken` once from `pool`; false when one is missing.
fn take_all(pool: &mut Vec<Vec<u8>>, taken: &[Vec<u8>]) -> bool {
    for t in taken {
        match pool.iter().position(|p| p == t) {
            Some(i) => {
                pool.swap_remove(i);
            }
            None => return false,
        }
    }
    true
}

pub fn judge(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let cred = credential(input.scal2, u32::from(input.multisign));
    let requested_algo = hash(input.hash_algorithm);
    let fallback = requested_algo.unwrap_or(HashAlgorithm::Sha256);
    let hashes = input.bind_hashes.then(|| {
        input
            .bound
            .iter()
            .map(|d| d.bytes(fallback))
            .collect::<Vec<_>>()
    });
    let num = u32::from(input.num_signatures);
    let Ok(binding) = Sam::check_binding(&cred, num, hashes.clone(), requested_algo) else {
        return;
    };
    // What check_binding lets through.
    assert!(binding.num_signatures >= 1 && binding.num_signatures <= cred.multisign);
    if cred.scal >= 2 {
        assert!(binding.hashes.is_some(), "SCAL2 binds hashes");
    }
    if let Some(h) = &binding.hashes {
        assert_eq!(h.len(), binding.num_signatures as usize);
        let algo = binding.hash_algo.expect("bound hashes have an algorithm");
        assert!(h.iter().all(|d| d.len() == algo.len()));
    }
    let issued_at = 1_000_000;
    let original = SadRecord {
        sad_hash: [9; 32],
        user_id: 1,
        credential_id: cred.id.clone(),
        hash_algo: binding.hash_algo,
        hashes: binding.hashes.clone(),
        remaining: binding.num_signatures,
        expires_at: issued_at + i64::from(input.lifetime),
    };
    let mut current = Some(original.clone());
    // Everything allowed so far, and the bound hashes not yet used.
    let mut signed = 0u32;
    let mut unused = original.hashes.clone();
    for spend in &input.spends {
        let presented: Vec<Vec<u8>> = spend.hashes.iter().map(|d| d.bytes(fallback)).collect();
        let algo = hash(spend.hash_algorithm).unwrap_or(fallback);
        let credential_id = if spend.other_credential {
            "cred-2"
        } else {
            "cred-1"
        };
        let req = SpendRequest {
            user_id: if spend.other_user { 2 } else { 1 },
            credential_id,
            hash_algo: algo,
            hashes: &presented,
            now: issued_at + i64::from(spend.at),
        };
        if spend.extend {
            let named = (!presented.is_empty()).then_some(presented.as_slice());
            let ext = ExtendRequest {
                user_id: req.user_id,
                credential_id,
                hashes: named,
                hash_algo: named.map(|_| algo),
                now: req.now,
            };
            let verdict = judge_extension(current.as_ref(), &ext, false);
            let Some(r) = current.as_ref() else {
                assert_eq!(verdict, Err(SadRefusal::Unknown), "a spent SAD is unknown");
                continue;
            };
            match verdict {
                Ok(mut next) => {
                    assert!(!spend.other_user && !spend.other_credential);
                    assert!(req.now < r.expires_at, "extended after expiry");
                    assert_eq!(
                        next.remaining, r.remaining,
                        "an extension changes the count"
                    );
                    assert!(presented.len() <= r.remaining as usize);
                    match &r.hashes {
                        Some(pool) => {
                            assert_eq!(next.hashes.as_ref(), Some(pool), "rebound");
                            assert_eq!(next.hash_algo, r.hash_algo);
                            assert!(take_all(&mut pool.clone(), &presented), "not bound");
                        }
                        None => {
                            assert_eq!(next.hashes, named.map(<[Vec<u8>]>::to_vec));
                            // A narrowed SAD: its hashes are the ones to keep to from now on.
                            unused = next.hashes.clone();
                        }
                    }
                    // The SAM gives the new SAD a fresh lifetime.
                    next.expires_at = req.now + i64::from(input.lifetime);
                    current = Some(next);
                }
                Err(refusal) => {
                    assert_refusal(refusal, spend, r, req.now, &presented, algo, false);
                }
            }
            continue;
        }
        let verdict = sam_judge(current.as_ref(), &req);
        let Some(r) = current.as_ref() else {
            assert_eq!(verdict, Err(SadRefusal::Unknown), "a spent SAD is unknown");
            continue;
        };
        match verdict {
            Ok(kept) => {
                assert!(!spend.other_user && !spend.other_credential);
                assert!(req.now < r.expires_at, "spent after expiry");
                assert!(!presented.is_empty());
                if let Some(bound) = original.hash_algo {
                    assert_eq!(bound, algo, "another hash algorithm");
                }
                signed += presented.len() as u32;
                assert!(
                    signed <= original.remaining,
                    "more than numSignatures in total"
                );
                if let Some(pool) = unused.as_mut() {
                    assert!(take_all(pool, &presented), "a hash that was not bound");
                }
                match &kept {
                    None => assert_eq!(signed, original.remaining, "dropped before exhausted"),
                    Some(k) => {
                        assert_eq!(k.remaining, original.remaining - signed);
                        assert_eq!(
                            (
                                k.sad_hash,
                                k.user_id,
                                &k.credential_id,
                                k.hash_algo,
                                k.expires_at
                            ),
                            (
                                r.sad_hash,
                                r.user_id,
                                &r.credential_id,
                                r.hash_algo,
                                r.expires_at
                            )
                        );
                        let mut left = k.hashes.clone();
                        let mut expected = unused.clone();
                        if let (Some(a), Some(b)) = (left.as_mut(), expected.as_mut()) {
                            a.sort();
                            b.sort();
                        }
                        assert_eq!(left, expected, "the hashes left");
                    }
                }
                current = kept;
            }
            Err(refusal) => assert_refusal(refusal, spend, r, req.now, &presented, algo, true),
        }
    }
}

/// A refusal names the first rule the step broke, in the documented order, and a hash refused
/// is indeed missing from the bound ones. `empty_is_too_many`: a spend of no hashes is refused
/// as too many; an extension naming none keeps the bound hashes.
fn assert_refusal(
    refusal: SadRefusal,
    step: &Spend,
    r: &SadRecord,
    now: i64,
    presented: &[Vec<u8>],
    algo: HashAlgorithm,
    empty_is_too_many: bool,
) {
    let expected = if step.other_user {
        SadRefusal::Unknown
    } else if step.other_credential {
        SadRefusal::WrongCredential
    } else if now >= r.expires_at {
        SadRefusal::Expired
    } else if (empty_is_too_many && presented.is_empty()) || presented.len() > r.remaining as usize
    {
        SadRefusal::TooMany
    } else if r.hash_algo.is_some_and(|b| b != algo) {
        SadRefusal::HashAlgorithm
    } else {
        SadRefusal::HashNotAuthorized
    };
    assert_eq!(refusal, expected);
    if refusal == SadRefusal::HashNotAuthorized {
        let mut pool = r.hashes.clone().expect("only bound SADs refuse a hash");
        assert!(!take_all(&mut pool, presented));
    }
}
