use std::path::Path;
use std::sync::Arc;

use serde_json::json;
use signet_core::{HashAlgorithm, KeyType};

use super::*;
use crate::audit::verify_chain;
use crate::{AuthMode, SadRefusal};

fn ev(kind: &str) -> NewAuditEvent {
    NewAuditEvent::new(kind, "admin", None, json!({ "note": kind }))
}

fn new_user(name: &str) -> NewUser {
    NewUser {
        username: name.to_owned(),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$salt$hash-{name}"),
        totp_secret_sealed: vec![7; 48],
    }
}

fn cred(id: &str, user_id: i64) -> Credential {
    Credential {
        id: id.to_owned(),
        user_id,
        key_type: KeyType::EcP256,
        backend: "software".into(),
        key_ref: vec![1, 2, 3],
        public_key: vec![0x30, 0x59],
        certificate: vec![0x30, 0x82, 1],
        chain: vec![vec![0x30, 0x82, 2], vec![], vec![9; 700]],
        scal: 2,
        multisign: 5,
        auth_mode: AuthMode::Explicit,
        pin_hash: vec![4; 32],
        description: Some("test key".into()),
        disabled: false,
        failed_attempts: 0,
        locked: false,
        created_at: 1_700_000_000,
    }
}

fn sad(
    hash_byte: u8,
    credential_id: &str,
    remaining: u32,
    hashes: Option<Vec<Vec<u8>>>,
) -> SadRecord {
    SadRecord {
        sad_hash: [hash_byte; 32],
        user_id: 1,
        credential_id: credential_id.to_owned(),
        hash_algo: hashes.as_ref().map(|_| HashAlgorithm::Sha256),
        hashes,
        remaining,
        expires_at: i64::MAX,
    }
}

/// A store with user `alice` (id 1) and credential `c1`.
async fn seeded(store: &SqliteStore) {
    let alice = store
        .create_user(new_user("alice"), ev("user.create"))
        .await
        .unwrap();
    assert_eq!(alice.id, 1);
    store
        .create_credential(cred("c1", 1), ev("credential.create"))
        .await
        .unwrap();
}

fn file_store(dir: &Path) -> SqliteStore {
    SqliteStore::open(&dir.join("signet.db")).unwrap()
}

async fn audit_count(store: &SqliteStore) -> usize {
    store.audit_records(0, u32::MAX).await.unwrap().len()
}

#[tokio::test]
async fn users_crud_and_conflict() {
    let store = SqliteStore::open_in_memory().unwrap();
    let alice = store
        .create_user(new_user("alice"), ev("user.create"))
        .await
        .unwrap();
    let bob = store
        .create_user(new_user("bob"), ev("user.create"))
        .await
        .unwrap();
    assert_ne!(alice.id, bob.id);
    assert!(!alice.disabled);
    assert!(alice.created_at > 1_600_000_000);

    assert_eq!(
        store.user_by_name("alice").await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(store.user_by_id(bob.id).await.unwrap(), Some(bob.clone()));
    assert_eq!(store.user_by_name("carol").await.unwrap(), None);
    assert_eq!(store.user_by_id(999).await.unwrap(), None);
    assert_eq!(
        store.list_users().await.unwrap(),
        vec![alice.clone(), bob.clone()]
    );

    let before = audit_count(&store).await;
    match store
        .create_user(new_user("alice"), ev("user.create"))
        .await
    {
        Err(StoreError::Conflict(what)) => assert_eq!(what, "user alice"),
        other => panic!("expected conflict, got {other:?}"),
    }
    assert_eq!(
        audit_count(&store).await,
        before,
        "a failed write leaves no audit row"
    );

    store
        .set_user_disabled("bob", true, ev("user.disable"))
        .await
        .unwrap();
    assert!(store.user_by_id(bob.id).await.unwrap().unwrap().disabled);
    store
        .set_user_disabled("bob", false, ev("user.enable"))
        .await
        .unwrap();
    assert!(!store.user_by_id(bob.id).await.unwrap().unwrap().disabled);
    assert!(matches!(
        store
            .set_user_disabled("nobody", true, ev("user.disable"))
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(audit_count(&store).await, before + 2);
}

#[tokio::test]
async fn totp_step_accepted_once() {
    let store = SqliteStore::open_in_memory().unwrap();
    let alice = store
        .create_user(new_user("alice"), ev("user.create"))
        .await
        .unwrap();
    assert!(store.accept_totp_step(alice.id, 100).await.unwrap());
    assert!(
        !store.accept_totp_step(alice.id, 100).await.unwrap(),
        "same step twice"
    );
    assert!(
        !store.accept_totp_step(alice.id, 99).await.unwrap(),
        "older step"
    );
    assert!(store.accept_totp_step(alice.id, 101).await.unwrap());
    assert!(
        store
            .accept_totp_step(alice.id, 0)
            .await
            .is_ok_and(|ok| !ok)
    );
    assert!(
        !store.accept_totp_step(999, 5).await.unwrap(),
        "unknown user"
    );
    // Step 0 is valid for a fresh user (the column starts at -1).
    let bob = store
        .create_user(new_user("bob"), ev("user.create"))
        .await
        .unwrap();
    assert!(store.accept_totp_step(bob.id, 0).await.unwrap());
}

#[tokio::test]
async fn credentials_crud_and_not_found() {
    let store = SqliteStore::open_in_memory().unwrap();
    seeded(&store).await;
    let bob = store
        .create_user(new_user("bob"), ev("user.create"))
        .await
        .unwrap();
    let mut c2 = cred("c2", bob.id);
    c2.key_type = KeyType::Rsa3072;
    c2.description = None;
    c2.chain = vec![];
    store
        .create_credential(c2.clone(), ev("credential.create"))
        .await
        .unwrap();
    store
        .create_credential(cred("c3", 1), ev("credential.create"))
        .await
        .unwrap();

    assert_eq!(store.credential("c1").await.unwrap(), Some(cred("c1", 1)));
    assert_eq!(store.credential("c2").await.unwrap(), Some(c2.clone()));
    assert_eq!(store.credential("nope").await.unwrap(), None);
    let ids = |cs: Vec<Credential>| cs.into_iter().map(|c| c.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list_credentials().await.unwrap()),
        ["c1", "c2", "c3"]
    );
    assert_eq!(
        ids(store.credentials_of_user(1).await.unwrap()),
        ["c1", "c3"]
    );
    assert_eq!(
        ids(store.credentials_of_user(bob.id).await.unwrap()),
        ["c2"]
    );
    assert!(store.credentials_of_user(999).await.unwrap().is_empty());

    let before = audit_count(&store).await;
    assert!(matches!(
        store.create_credential(cred("c1", 1), ev("credential.create")).await,
        Err(StoreError::Conflict(w)) if w == "credential c1"
    ));
    assert!(matches!(
        store
            .create_credential(cred("c9", 999), ev("credential.create"))
            .await,
        Err(StoreError::NotFound(_))
    ));

    store
        .set_credential_disabled("c1", true, ev("credential.disable"))
        .await
        .unwrap();
    assert!(store.credential("c1").await.unwrap().unwrap().disabled);
    store
        .set_credential_disabled("c1", false, ev("credential.enable"))
        .await
        .unwrap();
    assert!(!store.credential("c1").await.unwrap().unwrap().disabled);
    assert!(matches!(
        store
            .set_credential_disabled("nope", true, ev("credential.disable"))
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .unlock_credential("nope", ev("credential.unlock"))
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .record_authorization_failure("nope", 3, ev("credential.authorize"))
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        audit_count(&store).await,
        before + 2,
        "only the two successful changes audited"
    );
}

#[tokio::test]
async fn failure_counter_locks_once_and_unlock_resets() {
    let store = SqliteStore::open_in_memory().unwrap();
    seeded(&store).await;
    let fail = || {
        NewAuditEvent::new(
            "credential.authorize.failed",
            "alice",
            Some("c1"),
            json!({}),
        )
    };

    let mut counts = Vec::new();
    for _ in 0..5 {
        counts.push(
            store
                .record_authorization_failure("c1", 3, fail())
                .await
                .unwrap(),
        );
    }
    assert_eq!(
        counts,
        [(1, false), (2, false), (3, true), (4, true), (5, true)]
            .map(|(attempts, locked)| FailureCount { attempts, locked })
    );
    let c = store.credential("c1").await.unwrap().unwrap();
    assert!(c.locked);
    assert_eq!(c.failed_attempts, 5);

    let records = store.audit_records(0, 1000).await.unwrap();
    let locked: Vec<_> = records
        .iter()
        .filter(|r| r.kind == "credential.locked")
        .collect();
    assert_eq!(locked.len(), 1, "credential.locked emitted exactly once");
    assert_eq!(locked[0].actor, "alice");
    assert_eq!(locked[0].credential_id.as_deref(), Some("c1"));
    assert_eq!(locked[0].detail, r#"{"failed_attempts":3}"#);
    // It follows the third failure's own event.
    let pos = records
        .iter()
        .position(|r| r.kind == "credential.locked")
        .unwrap();
    assert_eq!(records[pos - 1].kind, "credential.authorize.failed");
    assert_eq!(
        records
            .iter()
            .filter(|r| r.kind == "credential.authorize.failed")
            .count(),
        5
    );

    store
        .unlock_credential("c1", ev("credential.unlock"))
        .await
        .unwrap();
    let c = store.credential("c1").await.unwrap().unwrap();
    assert!(!c.locked);
    assert_eq!(c.failed_attempts, 0);

    // A success resets the counter.
    store
        .record_authorization_failure("c1", 3, fail())
        .await
        .unwrap();
    store
        .record_authorization_success(sad(1, "c1", 1, None), ev("credential.authorize"))
        .await
        .unwrap();
    assert_eq!(
        store
            .credential("c1")
            .await
            .unwrap()
            .unwrap()
            .failed_attempts,
        0
    );
    assert!(matches!(
        store
            .record_authorization_success(sad(1, "c1", 1, None), ev("credential.authorize"))
            .await,
        Err(StoreError::Conflict(_))
    ));
}

type Judge = Box<dyn for<'a> FnOnce(Option<&'a SadRecord>) -> SadDecision + Send>;

/// The SAM-like judge used by the SAD tests: spend `n` signatures over `hashes`.
fn spend(n: u32, hashes: Vec<Vec<u8>>) -> Judge {
    Box::new(move |record| {
        let Some(record) = record else {
            return SadDecision::Refuse {
                reason: SadRefusal::Unknown,
                audit: None,
            };
        };
        if record.remaining < n {
            return SadDecision::Refuse {
                reason: SadRefusal::TooMany,
                audit: Some(ev("signature.refused")),
            };
        }
        let mut left = record.hashes.clone();
        if let Some(left) = left.as_mut() {
            for h in &hashes {
                let Some(i) = left.iter().position(|x| x == h) else {
                    return SadDecision::Refuse {
                        reason: SadRefusal::HashNotAuthorized,
                        audit: Some(ev("signature.refused")),
                    };
                };
                left.swap_remove(i);
            }
        }
        let remaining = record.remaining - n;
        let keep = (remaining > 0).then(|| SadRecord {
            remaining,
            hashes: left,
            ..record.clone()
        });
        SadDecision::Spend {
            keep,
            audit: ev("signature.create"),
        }
    })
}

#[tokio::test]
async fn decide_sad_keep_delete_unknown_refuse() {
    let store = SqliteStore::open_in_memory().unwrap();
    seeded(&store).await;
    let hashes = vec![vec![0xa1; 32], vec![0xa2; 32], vec![0xa3; 32]];
    let original = sad(9, "c1", 3, Some(hashes.clone()));
    store
        .record_authorization_success(original.clone(), ev("credential.authorize"))
        .await
        .unwrap();

    // The closure sees None for an unknown hash.
    let outcome = store
        .decide_sad(
            [0x55; 32],
            Box::new(|r| {
                assert!(r.is_none());
                SadDecision::Refuse {
                    reason: SadRefusal::Unknown,
                    audit: None,
                }
            }),
        )
        .await
        .unwrap();
    assert_eq!(outcome, SadOutcome::Refused(SadRefusal::Unknown));

    // Refusal leaves the row intact (and audits when asked to).
    let before = audit_count(&store).await;
    let outcome = store
        .decide_sad([9; 32], spend(1, vec![vec![0xee; 32]]))
        .await
        .unwrap();
    assert_eq!(outcome, SadOutcome::Refused(SadRefusal::HashNotAuthorized));
    let outcome = store.decide_sad([9; 32], spend(4, vec![])).await.unwrap();
    assert_eq!(outcome, SadOutcome::Refused(SadRefusal::TooMany));
    assert_eq!(audit_count(&store).await, before + 2);

    // Partial spend keeps the row with fewer hashes.
    let outcome = store
        .decide_sad([9; 32], spend(2, hashes[..2].to_vec()))
        .await
        .unwrap();
    assert_eq!(outcome, SadOutcome::Spent(original.clone()));
    let seen = Arc::new(parking_lot::Mutex::new(None));
    let seen2 = seen.clone();
    let outcome = store
        .decide_sad(
            [9; 32],
            Box::new(move |r| {
                *seen2.lock() = r.cloned();
                SadDecision::Refuse {
                    reason: SadRefusal::Expired,
                    audit: None,
                }
            }),
        )
        .await
        .unwrap();
    assert_eq!(outcome, SadOutcome::Refused(SadRefusal::Expired));
    let after_partial = seen.lock().clone().unwrap();
    assert_eq!(after_partial.remaining, 1);
    assert_eq!(after_partial.hashes, Some(vec![hashes[2].clone()]));
    assert_eq!(after_partial.hash_algo, Some(HashAlgorithm::Sha256));
    assert_eq!(after_partial.expires_at, original.expires_at);

    // Full spend deletes it; afterwards it is unknown.
    let outcome = store
        .decide_sad([9; 32], spend(1, vec![hashes[2].clone()]))
        .await
        .unwrap();
    assert_eq!(outcome, SadOutcome::Spent(after_partial));
    let outcome = store.decide_sad([9; 32], spend(1, vec![])).await.unwrap();
    assert_eq!(outcome, SadOutcome::Refused(SadRefusal::Unknown));

    // A SCAL1 SAD bound to no hashes round-trips its None.
    store
        .record_authorization_success(sad(10, "c1", 2, None), ev("credential.authorize"))
        .await
        .unwrap();
    let outcome = store.decide_sad([10; 32], spend(1, vec![])).await.unwrap();
    assert_eq!(outcome, SadOutcome::Spent(sad(10, "c1", 2, None)));

    // Spending a SAD that does not exist is an error, rolled back with its audit event.
    let before = audit_count(&store).await;
    let err = store
        .decide_sad(
            [0x77; 32],
            Box::new(|_| SadDecision::Spend {
                keep: None,
                audit: ev("x"),
            }),
        )
        .await;
    assert!(matches!(err, Err(StoreError::NotFound(_))));
    assert_eq!(audit_count(&store).await, before);

    assert_eq!(
        verify_chain(
            &store.audit_records(0, 1000).await.unwrap(),
            store.audit_head().await.unwrap()
        )
        .map(|n| n as usize),
        Ok(before)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_spend_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(file_store(dir.path()));
    seeded(&store).await;
    store
        .record_authorization_success(sad(3, "c1", 1, None), ev("credential.authorize"))
        .await
        .unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(16));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (store, barrier) = (store.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store.decide_sad([3; 32], spend(1, vec![])).await.unwrap()
            })
        })
        .collect();
    let mut spent = 0;
    for task in tasks {
        match task.await.unwrap() {
            SadOutcome::Spent(_) => spent += 1,
            SadOutcome::Refused(reason) => assert_eq!(reason, SadRefusal::Unknown),
        }
    }
    assert_eq!(spent, 1);
}

/// Two stores on one file (two processes, or later two nodes) still serialize through
/// `BEGIN IMMEDIATE`: one spend, and one linear audit chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_one_file_spend_once_and_chain_stays_linear() {
    let dir = tempfile::tempdir().unwrap();
    let a = Arc::new(file_store(dir.path()));
    let b = Arc::new(file_store(dir.path()));
    seeded(&a).await;
    a.record_authorization_success(sad(3, "c1", 1, None), ev("credential.authorize"))
        .await
        .unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(16));
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                for _ in 0..20 {
                    store.append_audit(ev("noise")).await.unwrap();
                }
                store.decide_sad([3; 32], spend(1, vec![])).await.unwrap()
            })
        })
        .collect();
    let mut spent = 0;
    for task in tasks {
        if let SadOutcome::Spent(_) = task.await.unwrap() {
            spent += 1;
        }
    }
    assert_eq!(spent, 1);
    assert_eq!(a.verify_audit().unwrap(), Ok(2 + 1 + 16 * 20 + 1));
    assert_eq!(b.verify_audit().unwrap(), Ok(2 + 1 + 16 * 20 + 1));
}

#[tokio::test]
async fn tokens_expiry_and_family_revocation() {
    let dir = tempfile::tempdir().unwrap();
    let store = file_store(dir.path());
    let refresh = TokenRecord {
        token_hash: [1; 32],
        user_id: 1,
        kind: TokenKind::Refresh,
        family: None,
        expires_at: 2_000,
    };
    let access = |b: u8, family: Option<SecretHash>, expires_at| TokenRecord {
        token_hash: [b; 32],
        user_id: 1,
        kind: TokenKind::Access,
        family,
        expires_at,
    };
    store.insert_token(refresh.clone()).await.unwrap();
    store
        .insert_token(access(2, Some([1; 32]), 1_000))
        .await
        .unwrap();
    store
        .insert_token(access(3, Some([1; 32]), 1_000))
        .await
        .unwrap();
    store.insert_token(access(4, None, 1_000)).await.unwrap();
    assert!(matches!(
        store.insert_token(access(4, None, 5)).await,
        Err(StoreError::Conflict(_))
    ));

    assert_eq!(
        store.token(&[1; 32], 100).await.unwrap(),
        Some(refresh.clone())
    );
    assert_eq!(
        store.token(&[2; 32], 999).await.unwrap(),
        Some(access(2, Some([1; 32]), 1_000))
    );
    assert_eq!(
        store.token(&[2; 32], 1_000).await.unwrap(),
        None,
        "expired at expires_at"
    );
    assert_eq!(store.token(&[9; 32], 0).await.unwrap(), None);

    // Revoking an access token removes only it.
    assert!(store.revoke_token(&[3; 32]).await.unwrap());
    assert!(!store.revoke_token(&[3; 32]).await.unwrap());
    assert!(store.token(&[2; 32], 0).await.unwrap().is_some());
    // Revoking the refresh token takes its family along, not other tokens.
    assert!(store.revoke_token(&[1; 32]).await.unwrap());
    assert_eq!(store.token(&[1; 32], 0).await.unwrap(), None);
    assert_eq!(store.token(&[2; 32], 0).await.unwrap(), None);
    assert!(store.token(&[4; 32], 0).await.unwrap().is_some());

    // Purge removes what expired strictly before `now`, SADs included.
    store.insert_token(access(5, None, 3_000)).await.unwrap();
    store.insert_token(access(6, None, 500)).await.unwrap();
    let mut s = sad(8, "c1", 1, None);
    s.expires_at = 999;
    store
        .record_authorization_success(s, ev("credential.authorize"))
        .await
        .unwrap();
    assert_eq!(store.purge_expired(1_000).await.unwrap(), 1 + 1);
    assert_eq!(store.purge_expired(1_000).await.unwrap(), 0);
    assert!(store.token(&[5; 32], 0).await.unwrap().is_some());
    assert!(
        store.token(&[4; 32], 0).await.unwrap().is_some(),
        "expires_at == now is kept"
    );
}

#[tokio::test]
async fn settings_roundtrip() {
    let store = SqliteStore::open_in_memory().unwrap();
    assert_eq!(store.setting("ca").await.unwrap(), None);
    store.put_setting("ca", b"one").await.unwrap();
    store.put_setting("ca", b"two").await.unwrap();
    store.put_setting("empty", b"").await.unwrap();
    assert_eq!(store.setting("ca").await.unwrap(), Some(b"two".to_vec()));
    assert_eq!(store.setting("empty").await.unwrap(), Some(vec![]));
}

/// Builds a file DB with a mix of audited operations; returns the store, its path and the
/// number of audit records.
async fn audited_db(dir: &Path) -> (SqliteStore, std::path::PathBuf, i64) {
    let path = dir.join("signet.db");
    let store = SqliteStore::open(&path).unwrap();
    seeded(&store).await;
    store
        .record_authorization_failure("c1", 3, ev("credential.authorize.failed"))
        .await
        .unwrap();
    store
        .record_authorization_success(sad(1, "c1", 2, None), ev("credential.authorize"))
        .await
        .unwrap();
    store.decide_sad([1; 32], spend(1, vec![])).await.unwrap();
    store
        .set_credential_disabled("c1", true, ev("credential.disable"))
        .await
        .unwrap();
    let last = store
        .append_audit(NewAuditEvent::new(
            "auth.login",
            "alice",
            None,
            json!({"ip": "127.0.0.1"}),
        ))
        .await
        .unwrap();
    (store, path, last.seq)
}

async fn chain_result(store: &SqliteStore) -> Result<i64, crate::AuditBreak> {
    let head = store.audit_head().await.unwrap();
    let records = store.audit_records(0, u32::MAX).await.unwrap();
    let result = verify_chain(&records, head);
    assert_eq!(
        store.verify_audit().unwrap(),
        result,
        "both verification paths agree"
    );
    result
}

#[tokio::test]
async fn audit_chain_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _, n) = audited_db(dir.path()).await;
    assert_eq!(n, 7);
    assert_eq!(chain_result(&store).await, Ok(7));
    let head = store.audit_head().await.unwrap().unwrap();
    let records = store.audit_records(0, 100).await.unwrap();
    assert_eq!(head, (7, records[6].hash));
    assert_eq!(records[0].prev_hash, GENESIS);
    assert_eq!(
        store
            .audit_records(5, 100)
            .await
            .unwrap()
            .iter()
            .map(|r| r.seq)
            .collect::<Vec<_>>(),
        [6, 7]
    );
    assert_eq!(store.audit_records(0, 2).await.unwrap().len(), 2);
    assert_eq!(records[6].detail, r#"{"ip":"127.0.0.1"}"#);

    let empty = SqliteStore::open_in_memory().unwrap();
    assert_eq!(empty.audit_head().await.unwrap(), None);
    assert_eq!(chain_result(&empty).await, Ok(0));
}

fn tamper(path: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(sql).unwrap();
}

#[tokio::test]
async fn audit_tamper_altered_detail() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path, _) = audited_db(dir.path()).await;
    tamper(
        &path,
        r#"UPDATE audit SET detail = '{"note":"nothing happened"}' WHERE seq = 4"#,
    );
    assert_eq!(chain_result(&store).await.map_err(|e| e.seq), Err(4));
}

#[tokio::test]
async fn audit_tamper_deleted_middle() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path, _) = audited_db(dir.path()).await;
    tamper(&path, "DELETE FROM audit WHERE seq = 3");
    assert_eq!(chain_result(&store).await.map_err(|e| e.seq), Err(3));
}

#[tokio::test]
async fn audit_tamper_reordered() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path, _) = audited_db(dir.path()).await;
    tamper(
        &path,
        "UPDATE audit SET seq = -1 WHERE seq = 2;
         UPDATE audit SET seq = 2 WHERE seq = 3;
         UPDATE audit SET seq = 3 WHERE seq = -1;",
    );
    assert_eq!(chain_result(&store).await.map_err(|e| e.seq), Err(2));
}

#[tokio::test]
async fn audit_tamper_truncated_tail() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path, n) = audited_db(dir.path()).await;
    tamper(&path, &format!("DELETE FROM audit WHERE seq = {n}"));
    assert_eq!(chain_result(&store).await.map_err(|e| e.seq), Err(n));
}

/// With the head removed, appending would fork the chain at record 1: it fails instead.
#[tokio::test]
async fn audit_append_refuses_to_fork_without_head() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path, _) = audited_db(dir.path()).await;
    tamper(&path, "DELETE FROM audit_head");
    assert!(chain_result(&store).await.is_err());
    assert!(matches!(
        store.append_audit(ev("x")).await,
        Err(StoreError::Corrupt(_))
    ));
    // The failed write rolled back everything, including the change it came with.
    assert!(matches!(
        store
            .set_credential_disabled("c1", false, ev("credential.enable"))
            .await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(store.credential("c1").await.unwrap().unwrap().disabled);
}

#[tokio::test]
async fn corrupt_values_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signet.db");
    let store = SqliteStore::open(&path).unwrap();
    seeded(&store).await;
    store
        .create_credential(cred("c2", 1), ev("credential.create"))
        .await
        .unwrap();
    store
        .create_credential(cred("c3", 1), ev("credential.create"))
        .await
        .unwrap();
    store
        .record_authorization_success(sad(1, "c1", 2, Some(vec![vec![1; 32]])), ev("a"))
        .await
        .unwrap();
    store
        .insert_token(TokenRecord {
            token_hash: [2; 32],
            user_id: 1,
            kind: TokenKind::Access,
            family: None,
            expires_at: i64::MAX,
        })
        .await
        .unwrap();
    tamper(
        &path,
        "UPDATE credentials SET key_type = 'dsa-1024' WHERE id = 'c1';
         UPDATE credentials SET chain = x'00000009aa' WHERE id = 'c2';
         UPDATE credentials SET failed_attempts = -1 WHERE id = 'c3';
         UPDATE sads SET hashes = x'000001';
         UPDATE tokens SET kind = 'bearer';",
    );
    for id in ["c1", "c2", "c3"] {
        assert!(
            matches!(store.credential(id).await, Err(StoreError::Corrupt(_))),
            "{id}"
        );
    }
    assert!(matches!(
        store.list_credentials().await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        store.token(&[2; 32], 0).await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        store.decide_sad([1; 32], spend(1, vec![])).await,
        Err(StoreError::Corrupt(_))
    ));
    tamper(&path, "UPDATE sads SET hashes = NULL, hash_algo = '1.2.3'");
    assert!(matches!(
        store.decide_sad([1; 32], spend(1, vec![])).await,
        Err(StoreError::Corrupt(_))
    ));
    tamper(&path, "UPDATE audit SET hash = x'00' WHERE seq = 1");
    assert!(matches!(
        store.audit_records(0, 10).await,
        Err(StoreError::Corrupt(_))
    ));
}

#[tokio::test]
async fn reopen_keeps_data_and_migrates_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signet.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        seeded(&store).await;
        store.put_setting("k", b"v").await.unwrap();
    }
    for reopened in 0..2 {
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(
            store.user_by_name("alice").await.unwrap().map(|u| u.id),
            Some(1)
        );
        assert!(store.credential("c1").await.unwrap().is_some());
        assert_eq!(store.setting("k").await.unwrap(), Some(b"v".to_vec()));
        assert_eq!(store.verify_audit().unwrap(), Ok(2 + reopened));
        // Appending continues the existing chain.
        store.append_audit(ev("reopen")).await.unwrap();
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    let versions: Vec<i64> = conn
        .prepare("SELECT version FROM schema_version ORDER BY version")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(versions, (1..=schema_version()).collect::<Vec<_>>());
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");

    // A database from a newer build is refused, not downgraded.
    conn.execute(
        "INSERT INTO schema_version VALUES (?1, 0)",
        [schema_version() + 1],
    )
    .unwrap();
    drop(conn);
    assert!(matches!(
        SqliteStore::open(&path),
        Err(StoreError::Database(_))
    ));
}

/// Readers on other connections see the writer's commits at once.
#[tokio::test]
async fn readers_see_committed_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = file_store(dir.path());
    assert_eq!(store.readers.len(), 4);
    seeded(&store).await;
    for i in 0..50u8 {
        store
            .insert_token(TokenRecord {
                token_hash: [i; 32],
                user_id: 1,
                kind: TokenKind::Access,
                family: None,
                expires_at: i64::MAX,
            })
            .await
            .unwrap();
        assert!(store.token(&[i; 32], 0).await.unwrap().is_some());
        store
            .record_authorization_failure("c1", 1000, ev("f"))
            .await
            .unwrap();
        assert_eq!(
            store
                .credential("c1")
                .await
                .unwrap()
                .unwrap()
                .failed_attempts,
            u32::from(i) + 1
        );
    }
}

/// Throughput check for the benchmark target (run with `--ignored --nocapture` in release).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark"]
async fn bench_authorize_sign_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(file_store(dir.path()));
    seeded(&store).await;
    store
        .insert_token(TokenRecord {
            token_hash: [0xee; 32],
            user_id: 1,
            kind: TokenKind::Access,
            family: None,
            expires_at: i64::MAX,
        })
        .await
        .unwrap();
    const TASKS: u32 = 32;
    const PAIRS: u32 = 300;
    let start = std::time::Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                for i in 0..PAIRS {
                    let t0 = std::time::Instant::now();
                    let mut h = [0u8; 32];
                    h[..4].copy_from_slice(&t.to_be_bytes());
                    h[4..8].copy_from_slice(&i.to_be_bytes());
                    // authorize: token + credential lookups, success with SAD + audit
                    store.token(&[0xee; 32], 0).await.unwrap().unwrap();
                    store.credential("c1").await.unwrap().unwrap();
                    let mut s = sad(0, "c1", 1, Some(vec![vec![0xab; 32]]));
                    s.sad_hash = h;
                    store
                        .record_authorization_success(
                            s,
                            NewAuditEvent::new(
                                "credential.authorize",
                                "alice",
                                Some("c1"),
                                json!({"numSignatures": 1}),
                            ),
                        )
                        .await
                        .unwrap();
                    // sign: token + credential lookups, spend with audit
                    store.token(&[0xee; 32], 0).await.unwrap().unwrap();
                    store.credential("c1").await.unwrap().unwrap();
                    let out = store
                        .decide_sad(h, spend(1, vec![vec![0xab; 32]]))
                        .await
                        .unwrap();
                    assert!(matches!(out, SadOutcome::Spent(_)));
                    latencies.push(t0.elapsed());
                    tokio::task::yield_now().await;
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let elapsed = start.elapsed();
    all.sort();
    let pairs = f64::from(TASKS * PAIRS);
    println!(
        "{} pairs in {:?}: {:.0} pairs/s, p50 {:?}, p99 {:?}",
        all.len(),
        elapsed,
        pairs / elapsed.as_secs_f64(),
        all[all.len() / 2],
        all[all.len() * 99 / 100]
    );
    assert_eq!(
        store.verify_audit().unwrap(),
        Ok(2 + i64::from(TASKS * PAIRS) * 2)
    );
}

#[tokio::test]
async fn open_with_full_durability_and_no_readers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signet.db");
    let options = SqliteOptions {
        durability: Durability::Full,
        readers: 0,
    };
    let store = SqliteStore::open_with(&path, options).unwrap();
    seeded(&store).await;
    assert!(store.credential("c1").await.unwrap().is_some());
    let sync: i64 = store
        .writer
        .lock()
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sync, 2, "FULL");
    assert!(matches!(
        SqliteStore::open(&dir.path().join("missing-dir/signet.db")),
        Err(StoreError::Database(_))
    ));
}

#[tokio::test]
async fn delete_credential_removes_it_and_its_sads() {
    let store = SqliteStore::open_in_memory().unwrap();
    seeded(&store).await;
    store
        .record_authorization_success(
            SadRecord {
                sad_hash: [42; 32],
                user_id: 1,
                credential_id: "c1".into(),
                hash_algo: None,
                hashes: None,
                remaining: 1,
                expires_at: i64::MAX,
            },
            ev("credential.authorize"),
        )
        .await
        .unwrap();
    let before = audit_count(&store).await;
    store
        .delete_credential("c1", ev("credential.delete"))
        .await
        .unwrap();
    assert_eq!(store.credential("c1").await.unwrap(), None);
    let outcome = store
        .decide_sad(
            [42; 32],
            Box::new(|rec| {
                assert!(rec.is_none(), "the SAD went with its credential");
                SadDecision::Refuse {
                    reason: SadRefusal::Unknown,
                    audit: None,
                }
            }),
        )
        .await
        .unwrap();
    assert_eq!(outcome, SadOutcome::Refused(SadRefusal::Unknown));
    assert_eq!(audit_count(&store).await, before + 1);
    assert!(matches!(
        store.delete_credential("c1", ev("credential.delete")).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        audit_count(&store).await,
        before + 1,
        "failed delete not audited"
    );
}
