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

/// Judges a spend. On success returns the record to keep (`None` when the SAD is exhausted).
pub fn judge(
    record: Option<&SadRecord>,
    req: &SpendRequest<'_>,
) -> Result<Option<SadRecord>, SadRefusal> {
    let Some(r) = record else {
        return Err(SadRefusal::Unknown);
    };
    if r.user_id != req.user_id {
        return Err(SadRefusal::Unknown);
    }
    if r.credential_id != req.credential_id {
        return Err(SadRefusal::WrongCredential);
    }
    if r.expires_at <= req.now {
        return Err(SadRefusal::Expired);
    }
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
}
