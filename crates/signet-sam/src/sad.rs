//! The SAD spending rule, as a pure function so it can be tested exhaustively and applied by any
//! store inside its transaction.
//!
//! A SAD moves Issued → (partly spent)* → Spent, or Issued → Expired; there is no way back. Each
//! spend must present: the same signer (else it is "unknown" — never reveal another user's SAD),
//! the same credential, no more signatures than remain, the authorized hash algorithm, and — when
//! hashes were bound at authorization (SCAL2) — only hashes from that multiset, each at most as
//! often as it was authorized (EN 419241-1 SRA_SAP.1, csc-api.md §3 "SCAL2 = hash binding").

use signet_core::HashAlgorithm;
use signet_store::{SadRecord, SadRefusal, Timestamp};

/// What a signHash call presents with its SAD.
#[derive(Debug, Clone)]
pub struct SpendRequest<'a> {
    pub user_id: i64,
    pub credential_id: &'a str,
    pub hash_algo: HashAlgorithm,
    pub hashes: &'a [Vec<u8>],
    pub now: Timestamp,
}

/// What a credentials/extendTransaction call presents with the live SAD it trades in.
#[derive(Debug, Clone)]
pub struct ExtendRequest<'a> {
    pub user_id: i64,
    pub credential_id: &'a str,
    /// The hashes named for the next batch (SCAL2 must name them) and their algorithm.
    pub hashes: Option<&'a [Vec<u8>]>,
    pub hash_algo: Option<HashAlgorithm>,
    pub now: Timestamp,
}

/// The SAD a request may use at all: its signer's, for this credential, not expired.
fn live<'r>(
    record: Option<&'r SadRecord>,
    user_id: i64,
    credential_id: &str,
    now: Timestamp,
) -> Result<&'r SadRecord, SadRefusal> {
    let Some(r) = record else {
        return Err(SadRefusal::Unknown);
    };
    if r.user_id != user_id {
        return Err(SadRefusal::Unknown);
    }
    if r.credential_id != credential_id {
        return Err(SadRefusal::WrongCredential);
    }
    if r.expires_at <= now {
        return Err(SadRefusal::Expired);
    }
    Ok(r)
}

/// Judges an extension: the binding the new SAD gets (same signer, credential and remaining
/// count; the caller gives it its own secret and lifetime).
///
/// A SAD bound to hashes stays bound to the very hashes the signer authorized: the named ones
/// must be among them (so a client learns now, not at signHash, that its next batch is not
/// authorized), with the same algorithm. Only with `rebind` (`sam.extend_rebinds_hashes`, the
/// CSC multi-call case of nested signatures whose later hashes exist only after the earlier
/// ones) is the new SAD bound to the named hashes instead — the client application then
/// chooses them, without the signer's factors. An unbound (SCAL1) SAD becomes bound to the
/// named hashes, if any: a narrowing.
pub fn judge_extension(
    record: Option<&SadRecord>,
    req: &ExtendRequest<'_>,
    rebind: bool,
) -> Result<SadRecord, SadRefusal> {
    let r = live(record, req.user_id, req.credential_id, req.now)?;
    let mut next = r.clone();
    let Some(named) = req.hashes else {
        return Ok(next);
    };
    if named.is_empty() || named.len() > r.remaining as usize {
        return Err(SadRefusal::TooMany);
    }
    if !rebind && r.hash_algo.is_some() && req.hash_algo != r.hash_algo {
        return Err(SadRefusal::HashAlgorithm);
    }
    match (&r.hashes, rebind) {
        (Some(pool), false) => {
            let mut left = pool.clone();
            for h in named {
                match left.iter().position(|a| a == h) {
                    Some(i) => {
                        left.swap_remove(i);
                    }
                    None => return Err(SadRefusal::HashNotAuthorized),
                }
            }
        }
        _ => {
            next.hashes = Some(named.to_vec());
            next.hash_algo = req.hash_algo.or(r.hash_algo);
        }
    }
    Ok(next)
}

/// Judges a spend. On success returns the record to keep (`None` when the SAD is exhausted).
pub fn judge(
    record: Option<&SadRecord>,
    req: &SpendRequest<'_>,
) -> Result<Option<SadRecord>, SadRefusal> {
    let r = live(record, req.user_id, req.credential_id, req.now)?;
    let n = req.hashes.len();
    if n == 0 || n > r.remaining as usize {
        return Err(SadRefusal::TooMany);
    }
    if let Some(bound) = r.hash_algo
        && bound != req.hash_algo
    {
        return Err(SadRefusal::HashAlgorithm);
    }
    let mut kept = r.clone();
    if let Some(pool) = kept.hashes.as_mut() {
        for h in req.hashes {
            match pool.iter().position(|a| a == h) {
                Some(i) => {
                    pool.swap_remove(i);
                }
                None => return Err(SadRefusal::HashNotAuthorized),
            }
        }
    }
    kept.remaining -= n as u32;
    Ok((kept.remaining > 0).then_some(kept))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sad(hashes: Option<Vec<Vec<u8>>>, remaining: u32) -> SadRecord {
        SadRecord {
            sad_hash: [7; 32],
            user_id: 1,
            credential_id: "c1".into(),
            hash_algo: Some(HashAlgorithm::Sha256),
            hashes,
            remaining,
            expires_at: 1000,
        }
    }

    fn req<'a>(hashes: &'a [Vec<u8>]) -> SpendRequest<'a> {
        SpendRequest {
            user_id: 1,
            credential_id: "c1",
            hash_algo: HashAlgorithm::Sha256,
            hashes,
            now: 500,
        }
    }

    #[test]
    fn spends_bound_hashes_once_each() {
        let (a, b) = (vec![1u8; 32], vec![2u8; 32]);
        let r = sad(Some(vec![a.clone(), b.clone()]), 2);
        let kept = judge(Some(&r), &req(std::slice::from_ref(&b)))
            .unwrap()
            .unwrap();
        assert_eq!(kept.remaining, 1);
        assert_eq!(kept.hashes, Some(vec![a.clone()]));
        assert_eq!(
            judge(Some(&kept), &req(std::slice::from_ref(&b))),
            Err(SadRefusal::HashNotAuthorized)
        );
        assert_eq!(judge(Some(&kept), &req(std::slice::from_ref(&a))), Ok(None));
    }

    #[test]
    fn duplicate_hash_needs_duplicate_authorization() {
        let a = vec![1u8; 32];
        let r = sad(Some(vec![a.clone(), vec![2u8; 32]]), 2);
        assert_eq!(
            judge(Some(&r), &req(&[a.clone(), a.clone()])),
            Err(SadRefusal::HashNotAuthorized)
        );
    }

    #[test]
    fn refusals() {
        let a = vec![1u8; 32];
        let r = sad(Some(vec![a.clone()]), 1);
        let one = [a.clone()];
        assert_eq!(judge(None, &req(&one)), Err(SadRefusal::Unknown));
        let other_user = SpendRequest {
            user_id: 2,
            ..req(&one)
        };
        assert_eq!(judge(Some(&r), &other_user), Err(SadRefusal::Unknown));
        let other_cred = SpendRequest {
            credential_id: "c2",
            ..req(&one)
        };
        assert_eq!(
            judge(Some(&r), &other_cred),
            Err(SadRefusal::WrongCredential)
        );
        let late = SpendRequest {
            now: 1000,
            ..req(&one)
        };
        assert_eq!(judge(Some(&r), &late), Err(SadRefusal::Expired));
        let two = [a.clone(), a.clone()];
        assert_eq!(judge(Some(&r), &req(&two)), Err(SadRefusal::TooMany));
        assert_eq!(judge(Some(&r), &req(&[])), Err(SadRefusal::TooMany));
        let sha384 = SpendRequest {
            hash_algo: HashAlgorithm::Sha384,
            ..req(&one)
        };
        assert_eq!(judge(Some(&r), &sha384), Err(SadRefusal::HashAlgorithm));
    }

    #[test]
    fn unbound_sad_counts_signatures() {
        let mut r = sad(None, 2);
        r.hash_algo = None;
        let h = [vec![9u8; 48]];
        let mut q = req(&h);
        q.hash_algo = HashAlgorithm::Sha384;
        let kept = judge(Some(&r), &q).unwrap().unwrap();
        assert_eq!(kept.remaining, 1);
        assert_eq!(judge(Some(&kept), &q), Ok(None));
    }

    fn ext<'a>(hashes: Option<&'a [Vec<u8>]>) -> ExtendRequest<'a> {
        ExtendRequest {
            user_id: 1,
            credential_id: "c1",
            hashes,
            hash_algo: hashes.map(|_| HashAlgorithm::Sha256),
            now: 500,
        }
    }

    #[test]
    fn an_extension_keeps_the_hashes_the_signer_authorized() {
        let (a, b, c) = (vec![1u8; 32], vec![2u8; 32], vec![3u8; 32]);
        let r = sad(Some(vec![a.clone(), b.clone()]), 2);
        // The next batch is among them: the new SAD keeps both, not just the batch.
        let next = judge_extension(Some(&r), &ext(Some(std::slice::from_ref(&b))), false).unwrap();
        assert_eq!(next.hashes, Some(vec![a.clone(), b.clone()]));
        assert_eq!(next.remaining, 2);
        // A hash the signer never saw, or one twice that was authorized once: refused.
        assert_eq!(
            judge_extension(Some(&r), &ext(Some(std::slice::from_ref(&c))), false),
            Err(SadRefusal::HashNotAuthorized)
        );
        assert_eq!(
            judge_extension(Some(&r), &ext(Some(&[a.clone(), a.clone()])), false),
            Err(SadRefusal::HashNotAuthorized)
        );
        let mut sha384 = ext(Some(std::slice::from_ref(&a)));
        sha384.hash_algo = Some(HashAlgorithm::Sha384);
        assert_eq!(
            judge_extension(Some(&r), &sha384, false),
            Err(SadRefusal::HashAlgorithm)
        );
        assert_eq!(
            judge_extension(
                Some(&r),
                &ext(Some(&[a.clone(), b.clone(), c.clone()])),
                false
            ),
            Err(SadRefusal::TooMany)
        );
        // With rebinding allowed, the named hashes replace the authorized ones.
        let moved = judge_extension(Some(&r), &ext(Some(std::slice::from_ref(&c))), true).unwrap();
        assert_eq!(moved.hashes, Some(vec![c.clone()]));
        assert_eq!(moved.remaining, 2);
        // The same refusals as a spend for someone else's, another credential's or a late SAD.
        let other = ExtendRequest {
            user_id: 2,
            ..ext(None)
        };
        assert_eq!(
            judge_extension(Some(&r), &other, true),
            Err(SadRefusal::Unknown)
        );
        let other_cred = ExtendRequest {
            credential_id: "c2",
            ..ext(None)
        };
        assert_eq!(
            judge_extension(Some(&r), &other_cred, false),
            Err(SadRefusal::WrongCredential)
        );
        let late = ExtendRequest {
            now: 1000,
            ..ext(None)
        };
        assert_eq!(
            judge_extension(Some(&r), &late, false),
            Err(SadRefusal::Expired)
        );
        assert_eq!(
            judge_extension(None, &ext(None), false),
            Err(SadRefusal::Unknown)
        );
    }

    #[test]
    fn an_unbound_sad_is_narrowed_to_the_named_hashes() {
        let mut r = sad(None, 3);
        r.hash_algo = None;
        let h = [vec![9u8; 32]];
        let next = judge_extension(Some(&r), &ext(Some(&h)), false).unwrap();
        assert_eq!(next.hashes, Some(h.to_vec()));
        assert_eq!(next.hash_algo, Some(HashAlgorithm::Sha256));
        assert_eq!(next.remaining, 3);
        assert_eq!(judge_extension(Some(&r), &ext(None), false), Ok(r.clone()));
    }
}
