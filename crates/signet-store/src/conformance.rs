//! The store conformance suite: what every [`Store`] backend must do, written once against
//! `&dyn TestDb` and run for SQLite in memory, SQLite on file and PostgreSQL
//! ([`conformance_tests!`] makes one `#[tokio::test]` per case and backend).
//!
//! Backend-specific behaviour (SQLite's WAL and reader pool, PostgreSQL's migration lock and
//! reconnection) is tested next to each backend.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;
use signet_core::{HashAlgorithm, KeyType};

use crate::audit::{AuditBreak, AuditKey, GENESIS, verify_chains};
use crate::authz::{
    AuthCode, BrowserSession, CodeState, CredentialBinding, GrantScope, IssuedKind, IssuedSecret,
    OAuthClient, OobRequest, OobStatus, PushedRequest,
};
use crate::{
    AuthMode, Credential, FailureCount, NewAuditEvent, NewUser, Purged, Revocation, SadDecision,
    SadOutcome, SadRecord, SadRefusal, SecretHash, Store, StoreError, TokenKind, TokenRecord,
};

/// A database under test.
#[async_trait]
pub(crate) trait TestDb: Send + Sync {
    /// The store under test.
    fn store(&self) -> Arc<dyn Store>;
    /// A second, independent store on the same database (another process or node), when the
    /// backend has such a thing; a private in-memory database does not.
    async fn another(&self) -> Option<Arc<dyn Store>>;
    /// Runs SQL statements on the database behind the store's back (tampering).
    async fn exec(&self, sql: &str);
    /// A byte-string literal in this backend's SQL.
    fn blob(&self, bytes: &[u8]) -> String;
    /// The backend's own one-snapshot verification of the audit chain.
    async fn verify_audit(&self) -> Result<i64, AuditBreak>;
    /// Another store on the same database appending to the same chains as [`TestDb::store`]
    /// (a misconfiguration, or a command beside a server), if the backend can have one.
    async fn same_chains(&self) -> Option<Arc<dyn Store>> {
        None
    }
}

/// Declares one test per conformance case, each opening its database with `$open` (an
/// expression evaluating to a future of `Option<impl TestDb>`; `None` skips the test).
macro_rules! conformance_tests {
    ($open:expr) => {
        $crate::conformance::conformance_tests!(@cases $open;
            users_crud_and_conflict,
            totp_step_accepted_once,
            credentials_crud_and_not_found,
            failure_counter_locks_once_and_unlock_resets,
            decide_sad_keep_delete_unknown_refuse,
            concurrent_spend_exactly_once,
            two_nodes_spend_once,
            two_nodes_concurrent_audited_writes_keep_one_chain,
            tokens_expiry_and_family_revocation,
            access_token_user_in_one_read,
            settings_roundtrip_and_insert_if_absent,
            concurrent_insert_if_absent_has_one_winner,
            audit_chain_verifies,
            audit_tamper_altered_detail,
            audit_tamper_deleted_middle,
            audit_tamper_reordered,
            audit_tamper_truncated_tail,
            audit_tamper_rehashed_without_the_key,
            audit_append_refuses_to_fork_without_head,
            audit_checkpoints_and_sealer_lease,
            audit_two_processes_on_one_chain,
            corrupt_values_are_errors_not_panics,
            delete_credential_removes_it_and_its_sads,
            revocation_disables_once_and_outlives_the_credential,
            issued_certificates_are_recorded_once,
            nul_in_text_is_no_error,
            code_moves_once_and_round_trips,
            pushed_requests_are_taken_once_and_purged,
            oob_status_is_compare_and_swap,
            sessions_clients_and_revocation,
        );
    };
    (@cases $open:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(db) = $open.await else { return };
                $crate::conformance::$case(&db).await;
            }
        )*
    };
}
pub(crate) use conformance_tests;

// ---- fixtures

pub(crate) fn ev(kind: &str) -> NewAuditEvent {
    NewAuditEvent::new(kind, "admin", None, json!({ "note": kind }))
}

pub(crate) fn new_user(name: &str) -> NewUser {
    NewUser {
        username: name.to_owned(),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$salt$hash-{name}"),
        totp_secret_sealed: vec![7; 48],
    }
}

pub(crate) fn cred(id: &str, user_id: i64) -> Credential {
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

pub(crate) fn sad(
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

/// User `alice` (id 1) and credential `c1`.
pub(crate) async fn seeded(store: &dyn Store) {
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

async fn audit_count(store: &dyn Store) -> usize {
    store.audit_records(0, u32::MAX).await.unwrap().len()
}

type Judge = Box<dyn for<'a> FnOnce(Option<&'a SadRecord>) -> SadDecision + Send>;

/// The SAM-like judge used by the SAD tests: spend `n` signatures over `hashes`.
pub(crate) fn spend(n: u32, hashes: Vec<Vec<u8>>) -> Judge {
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

/// A judge that records what it saw and refuses.
fn peek(seen: Arc<parking_lot::Mutex<Option<SadRecord>>>) -> Judge {
    Box::new(move |r| {
        *seen.lock() = r.cloned();
        SadDecision::Refuse {
            reason: SadRefusal::Expired,
            audit: None,
        }
    })
}

// ---- users and credentials

pub(crate) async fn users_crud_and_conflict(db: &dyn TestDb) {
    let store = db.store();
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

    let before = audit_count(&*store).await;
    match store
        .create_user(new_user("alice"), ev("user.create"))
        .await
    {
        Err(StoreError::Conflict(what)) => assert_eq!(what, "user alice"),
        other => panic!("expected conflict, got {other:?}"),
    }
    assert_eq!(
        audit_count(&*store).await,
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
    assert_eq!(audit_count(&*store).await, before + 2);
}

pub(crate) async fn totp_step_accepted_once(db: &dyn TestDb) {
    let store = db.store();
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

    // Racing on one step from two stores (two nodes): exactly one acceptance.
    let other = db.another().await.unwrap_or_else(|| db.store());
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let s = if i % 2 == 0 {
                store.clone()
            } else {
                other.clone()
            };
            tokio::spawn(async move { s.accept_totp_step(bob.id, 500).await.unwrap() })
        })
        .collect();
    let mut accepted = 0;
    for t in tasks {
        accepted += usize::from(t.await.unwrap());
    }
    assert_eq!(accepted, 1, "a TOTP step is accepted once across stores");
}

pub(crate) async fn credentials_crud_and_not_found(db: &dyn TestDb) {
    let store = db.store();
    seeded(&*store).await;
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
    // Creation order, not ID order, is the listing order.
    store
        .create_credential(cred("B3", 1), ev("credential.create"))
        .await
        .unwrap();

    assert_eq!(store.credential("c1").await.unwrap(), Some(cred("c1", 1)));
    assert_eq!(store.credential("c2").await.unwrap(), Some(c2.clone()));
    assert_eq!(store.credential("nope").await.unwrap(), None);
    let ids = |cs: Vec<Credential>| cs.into_iter().map(|c| c.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list_credentials().await.unwrap()),
        ["c1", "c2", "B3"]
    );
    assert_eq!(
        ids(store.credentials_of_user(1).await.unwrap()),
        ["c1", "B3"]
    );
    assert_eq!(
        ids(store.credentials_of_user(bob.id).await.unwrap()),
        ["c2"]
    );
    assert!(store.credentials_of_user(999).await.unwrap().is_empty());

    let before = audit_count(&*store).await;
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
        audit_count(&*store).await,
        before + 2,
        "only the two successful changes audited"
    );
}

pub(crate) async fn failure_counter_locks_once_and_unlock_resets(db: &dyn TestDb) {
    let store = db.store();
    seeded(&*store).await;
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

    // Concurrent failures from two stores all count, and lock exactly once.
    store
        .unlock_credential("c1", ev("credential.unlock"))
        .await
        .unwrap();
    let other = db.another().await.unwrap_or_else(|| db.store());
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let s = if i % 2 == 0 {
                store.clone()
            } else {
                other.clone()
            };
            tokio::spawn(async move {
                s.record_authorization_failure("c1", 10, fail())
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut attempts = Vec::new();
    for t in tasks {
        attempts.push(t.await.unwrap().attempts);
    }
    attempts.sort_unstable();
    assert_eq!(attempts, (1..=20).collect::<Vec<_>>(), "no lost update");
    let records = store.audit_records(0, u32::MAX).await.unwrap();
    assert_eq!(
        records
            .iter()
            .filter(|r| r.kind == "credential.locked")
            .count(),
        2,
        "one lock per lock-out"
    );
}

// ---- SADs

pub(crate) async fn decide_sad_keep_delete_unknown_refuse(db: &dyn TestDb) {
    let store = db.store();
    seeded(&*store).await;
    let hashes = vec![vec![0xa1; 32], vec![0xa2; 32], vec![0xa3; 32]];
    let original = sad(9, "c1", 3, Some(hashes.clone()));
    store
        .record_authorization_success(original.clone(), ev("credential.authorize"))
        .await
        .unwrap();
    assert_eq!(
        store.sad(&[9; 32], 0).await.unwrap(),
        Some(original.clone())
    );

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
    let before = audit_count(&*store).await;
    let outcome = store
        .decide_sad([9; 32], spend(1, vec![vec![0xee; 32]]))
        .await
        .unwrap();
    assert_eq!(outcome, SadOutcome::Refused(SadRefusal::HashNotAuthorized));
    let outcome = store.decide_sad([9; 32], spend(4, vec![])).await.unwrap();
    assert_eq!(outcome, SadOutcome::Refused(SadRefusal::TooMany));
    assert_eq!(audit_count(&*store).await, before + 2);

    // Partial spend keeps the row with fewer hashes.
    let outcome = store
        .decide_sad([9; 32], spend(2, hashes[..2].to_vec()))
        .await
        .unwrap();
    assert_eq!(outcome, SadOutcome::Spent(original.clone()));
    let seen = Arc::new(parking_lot::Mutex::new(None));
    let outcome = store.decide_sad([9; 32], peek(seen.clone())).await.unwrap();
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
    assert_eq!(store.sad(&[9; 32], 0).await.unwrap(), None);

    // A SCAL1 SAD bound to no hashes round-trips its None.
    store
        .record_authorization_success(sad(10, "c1", 2, None), ev("credential.authorize"))
        .await
        .unwrap();
    let outcome = store.decide_sad([10; 32], spend(1, vec![])).await.unwrap();
    assert_eq!(outcome, SadOutcome::Spent(sad(10, "c1", 2, None)));

    // An expired SAD is still shown to the judge, but `sad` hides it.
    let mut old = sad(11, "c1", 1, None);
    old.expires_at = 1_000;
    store
        .record_authorization_success(old.clone(), ev("credential.authorize"))
        .await
        .unwrap();
    assert_eq!(store.sad(&[11; 32], 999).await.unwrap(), Some(old.clone()));
    assert_eq!(store.sad(&[11; 32], 1_000).await.unwrap(), None);
    let seen = Arc::new(parking_lot::Mutex::new(None));
    store
        .decide_sad([11; 32], peek(seen.clone()))
        .await
        .unwrap();
    assert_eq!(seen.lock().clone(), Some(old));

    // Spending a SAD that does not exist is an error, rolled back with its audit event.
    let before = audit_count(&*store).await;
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
    assert_eq!(audit_count(&*store).await, before);

    assert_eq!(
        verdict_through_the_trait(&*store).await.map(|n| n as usize),
        Ok(before)
    );
}

pub(crate) async fn concurrent_spend_exactly_once(db: &dyn TestDb) {
    let store = db.store();
    seeded(&*store).await;
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

/// Two stores on one database (two processes, or two nodes): 2 × 16 tasks race to spend one
/// SAD with two signatures left, one signature each: exactly two spends, and one chain.
pub(crate) async fn two_nodes_spend_once(db: &dyn TestDb) {
    let a = db.store();
    let b = db.another().await.unwrap_or_else(|| db.store());
    seeded(&*a).await;
    a.record_authorization_success(sad(3, "c1", 1, None), ev("credential.authorize"))
        .await
        .unwrap();
    a.record_authorization_success(
        sad(4, "c1", 2, Some(vec![vec![1; 32], vec![2; 32]])),
        ev("credential.authorize"),
    )
    .await
    .unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(32));
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let one = store.decide_sad([3; 32], spend(1, vec![])).await.unwrap();
                let hash = vec![1 + (i % 2) as u8; 32];
                let two = store
                    .decide_sad([4; 32], spend(1, vec![hash]))
                    .await
                    .unwrap();
                (one, two)
            })
        })
        .collect();
    let (mut spent_one, mut spent_two) = (0, 0);
    for task in tasks {
        let (one, two) = task.await.unwrap();
        spent_one += usize::from(matches!(one, SadOutcome::Spent(_)));
        spent_two += usize::from(matches!(two, SadOutcome::Spent(_)));
    }
    assert_eq!(spent_one, 1, "a single-use SAD is spent once across nodes");
    assert_eq!(spent_two, 2, "a two-signature SAD is spent exactly twice");
    let expected = 2 + 2 + 1 + 2;
    let count = db.verify_audit().await;
    assert!(count.as_ref().is_ok_and(|n| *n >= expected), "{count:?}");
}

/// 2 stores × 200 concurrent audited writes of every kind: the chain stays one linear chain
/// (every seq once, every link right) and no counter loses an update.
pub(crate) async fn two_nodes_concurrent_audited_writes_keep_one_chain(db: &dyn TestDb) {
    let a = db.store();
    let b = db.another().await.unwrap_or_else(|| db.store());
    seeded(&*a).await;
    a.create_credential(cred("c2", 1), ev("credential.create"))
        .await
        .unwrap();
    const PER_STORE: u32 = 200;
    let barrier = Arc::new(tokio::sync::Barrier::new(2 * PER_STORE as usize));
    let tasks: Vec<_> = (0..2 * PER_STORE)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                match i % 4 {
                    0 => {
                        store.append_audit(ev("noise")).await.unwrap();
                    }
                    1 => {
                        store
                            .record_authorization_failure("c1", u32::MAX, ev("failed"))
                            .await
                            .unwrap();
                    }
                    2 => {
                        let mut s = sad(0, "c2", 1, None);
                        s.sad_hash[..4].copy_from_slice(&i.to_be_bytes());
                        s.sad_hash[4] = 0xee;
                        let h = s.sad_hash;
                        store
                            .record_authorization_success(s, ev("credential.authorize"))
                            .await
                            .unwrap();
                        let spent = store.decide_sad(h, spend(1, vec![])).await.unwrap();
                        assert!(matches!(spent, SadOutcome::Spent(_)));
                    }
                    _ => {
                        store
                            .create_user(new_user(&format!("u{i}")), ev("user.create"))
                            .await
                            .unwrap();
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    // seed (3) + 100 noise + 100 failures + 100 × (authorize + spend) + 100 users.
    let expected = 3 + 100 + 100 + 200 + 100;
    assert_eq!(db.verify_audit().await, Ok(expected));
    assert_eq!(verdict_through_the_trait(&*b).await, Ok(expected));
    let records = a.audit_records(0, u32::MAX).await.unwrap();
    let mut seqs: Vec<i64> = records.iter().map(|r| r.seq).collect();
    seqs.dedup();
    assert_eq!(
        seqs.len() as i64,
        expected,
        "every record has its own number"
    );
    assert_eq!(
        a.credential("c1").await.unwrap().unwrap().failed_attempts,
        100
    );
}

// ---- tokens and settings

pub(crate) async fn access_token_user_in_one_read(db: &dyn TestDb) {
    let store = store_with_user(db).await;
    let user = store.user_by_name("u").await.unwrap().unwrap();
    let token = |b: u8, kind, expires_at| TokenRecord {
        token_hash: [b; 32],
        user_id: user.id,
        kind,
        family: None,
        expires_at,
    };
    store
        .insert_token(token(1, TokenKind::Access, 1_000))
        .await
        .unwrap();
    store
        .insert_token(token(2, TokenKind::Refresh, 1_000))
        .await
        .unwrap();
    assert_eq!(
        store.access_token_user(&[1; 32], 999).await.unwrap(),
        Some(user.clone())
    );
    assert_eq!(
        store.access_token_user(&[1; 32], 1_000).await.unwrap(),
        None,
        "expired at expires_at"
    );
    assert_eq!(
        store.access_token_user(&[2; 32], 0).await.unwrap(),
        None,
        "a refresh token is no access token"
    );
    assert_eq!(store.access_token_user(&[9; 32], 0).await.unwrap(), None);
    // A disabled user is returned as such (the caller refuses it with its own answer).
    store
        .set_user_disabled("u", true, ev("user.disable"))
        .await
        .unwrap();
    assert!(
        store
            .access_token_user(&[1; 32], 0)
            .await
            .unwrap()
            .is_some_and(|u| u.disabled)
    );
}

pub(crate) async fn tokens_expiry_and_family_revocation(db: &dyn TestDb) {
    let store = db.store();
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
    assert_eq!(
        store.purge_expired(1_000).await.unwrap(),
        Purged { sads: 1, rows: 2 }
    );
    assert_eq!(store.purge_expired(1_000).await.unwrap(), Purged::default());
    assert!(store.token(&[5; 32], 0).await.unwrap().is_some());
    assert!(
        store.token(&[4; 32], 0).await.unwrap().is_some(),
        "expires_at == now is kept"
    );
}

pub(crate) async fn settings_roundtrip_and_insert_if_absent(db: &dyn TestDb) {
    let store = db.store();
    assert_eq!(store.setting("ca").await.unwrap(), None);
    store.put_setting("ca", b"one").await.unwrap();
    store.put_setting("ca", b"two").await.unwrap();
    store.put_setting("empty", b"").await.unwrap();
    assert_eq!(store.setting("ca").await.unwrap(), Some(b"two".to_vec()));
    assert_eq!(store.setting("empty").await.unwrap(), Some(vec![]));

    // All or nothing, audited only when inserted.
    let before = audit_count(&*store).await;
    assert!(
        store
            .put_settings_if_absent(
                &[("k1", b"a".as_slice()), ("k2", b"b".as_slice())],
                Some(ev("ca.create"))
            )
            .await
            .unwrap()
    );
    assert_eq!(audit_count(&*store).await, before + 1);
    assert!(
        !store
            .put_settings_if_absent(
                &[("k3", b"c".as_slice()), ("k2", b"x".as_slice())],
                Some(ev("ca.create"))
            )
            .await
            .unwrap()
    );
    assert_eq!(store.setting("k2").await.unwrap(), Some(b"b".to_vec()));
    assert_eq!(store.setting("k3").await.unwrap(), None, "nothing kept");
    assert_eq!(audit_count(&*store).await, before + 1);
    assert!(
        store
            .put_settings_if_absent(&[("k3", b"c".as_slice())], None)
            .await
            .unwrap()
    );
    assert_eq!(audit_count(&*store).await, before + 1);
}

/// Several nodes creating the same state at once (the embedded CA at first start): one wins,
/// and every other sees the winner's values.
pub(crate) async fn concurrent_insert_if_absent_has_one_winner(db: &dyn TestDb) {
    let a = db.store();
    let b = db.another().await.unwrap_or_else(|| db.store());
    let tasks: Vec<_> = (0..16u8)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move {
                let won = store
                    .put_settings_if_absent(
                        &[("ca.key", &[i][..]), ("ca.cert", &[i, i][..])],
                        Some(ev("ca.create")),
                    )
                    .await
                    .unwrap();
                (i, won)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        let (i, won) = t.await.unwrap();
        if won {
            winners.push(i);
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let w = winners[0];
    assert_eq!(a.setting("ca.key").await.unwrap(), Some(vec![w]));
    assert_eq!(b.setting("ca.cert").await.unwrap(), Some(vec![w, w]));
    assert_eq!(db.verify_audit().await, Ok(1));
}

// ---- audit

/// A mix of audited operations; returns the number of audit records (7).
async fn audited(store: &dyn Store) -> i64 {
    seeded(store).await;
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
    last.seq
}

/// A second node's audit configuration: the same key as [`crate::AuditConfig::unkeyed`], four
/// chains of its own.
pub(crate) fn other_node() -> crate::AuditConfig {
    crate::AuditConfig::node(test_key(), "other", 4)
}

/// The key of [`crate::AuditConfig::unkeyed`], which the test stores append with.
fn test_key() -> AuditKey {
    AuditKey::new([0; 32])
}

/// Every chain verified through the trait (heads, then each chain's records), as the CLI does.
pub(crate) async fn verdict_through_the_trait(store: &dyn Store) -> Result<i64, AuditBreak> {
    let heads = store.audit_heads().await.unwrap();
    let mut records = Vec::new();
    for chain in store.audit_chain_names().await.unwrap() {
        records.extend(
            store
                .audit_chain_records(&chain, 0, u32::MAX)
                .await
                .unwrap(),
        );
    }
    verify_chains(&records, &heads, Some(&test_key()))
}

/// The chains' verdict through the trait, checked against the backend's snapshot verifier.
async fn chain_result(db: &dyn TestDb) -> Result<i64, AuditBreak> {
    let result = verdict_through_the_trait(&*db.store()).await;
    assert_eq!(
        db.verify_audit().await,
        result,
        "both verification paths agree"
    );
    result
}

pub(crate) async fn audit_chain_verifies(db: &dyn TestDb) {
    let store = db.store();
    assert_eq!(store.audit_heads().await.unwrap(), vec![]);
    assert_eq!(chain_result(db).await, Ok(0));
    let n = audited(&*store).await;
    assert_eq!(n, 7);
    assert_eq!(chain_result(db).await, Ok(7));
    let heads = store.audit_heads().await.unwrap();
    let records = store.audit_records(0, 100).await.unwrap();
    assert_eq!(
        heads,
        vec![crate::ChainHead {
            chain: "local/0".into(),
            seq: 7,
            hash: records[6].hash
        }]
    );
    assert_eq!(records[0].prev_hash, GENESIS);
    assert!(
        records.iter().all(|r| r.version == 2
            && r.mac == Some(test_key().mac(&r.hash))
            && r.chain == "local/0")
    );
    assert_eq!(
        records.iter().map(|r| r.chain_seq).collect::<Vec<_>>(),
        (1..=7).collect::<Vec<_>>()
    );
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
    assert_eq!(
        store.audit_chain_records("local/0", 5, 1).await.unwrap(),
        vec![records[5].clone()]
    );
    assert_eq!(records[6].detail, r#"{"ip":"127.0.0.1"}"#);
    assert_eq!(records[1].kind, "credential.create");
    assert_eq!(records[6].actor, "alice");
    // The record `append_audit` returned is the one stored.
    let appended = store.append_audit(ev("last")).await.unwrap();
    assert_eq!(
        store.audit_records(7, 10).await.unwrap(),
        vec![appended.clone()]
    );
    assert_eq!(appended.prev_hash, records[6].hash);
    assert_eq!(
        store.audit_chain_names().await.unwrap(),
        vec!["local/0".to_owned()]
    );
}

pub(crate) async fn audit_tamper_altered_detail(db: &dyn TestDb) {
    audited(&*db.store()).await;
    db.exec(r#"UPDATE audit SET detail = '{"note":"nothing happened"}' WHERE chain_seq = 4"#)
        .await;
    assert_eq!(chain_result(db).await.map_err(|e| e.chain_seq), Err(4));
}

/// Someone with the database alone recomputes every hash after altering a record: the MACs,
/// which need the audit key, give it away.
pub(crate) async fn audit_tamper_rehashed_without_the_key(db: &dyn TestDb) {
    let store = db.store();
    audited(&*store).await;
    let mut records = store.audit_records(0, 100).await.unwrap();
    records.remove(2);
    let mut prev = GENESIS;
    let mut sql = String::from("DELETE FROM audit WHERE chain_seq = 3;");
    for (i, r) in records.iter_mut().enumerate() {
        r.chain_seq = i as i64 + 1;
        r.prev_hash = prev;
        r.hash = r.computed_hash();
        prev = r.hash;
        sql += &format!(
            "UPDATE audit SET chain_seq = {}, prev_hash = {}, hash = {} WHERE seq = {};",
            r.chain_seq,
            db.blob(&r.prev_hash),
            db.blob(&r.hash),
            r.seq
        );
    }
    sql += &format!("UPDATE audit_chain SET seq = 6, hash = {};", db.blob(&prev));
    db.exec(&sql).await;
    let err = chain_result(db).await.unwrap_err();
    assert_eq!(err.chain_seq, 3, "{err}");
    assert!(err.reason.starts_with("MAC does not verify"), "{err}");
}

pub(crate) async fn audit_tamper_deleted_middle(db: &dyn TestDb) {
    audited(&*db.store()).await;
    db.exec("DELETE FROM audit WHERE chain_seq = 3").await;
    assert_eq!(chain_result(db).await.map_err(|e| e.chain_seq), Err(3));
}

pub(crate) async fn audit_tamper_reordered(db: &dyn TestDb) {
    audited(&*db.store()).await;
    db.exec(
        "UPDATE audit SET chain_seq = -1 WHERE chain_seq = 2;
         UPDATE audit SET chain_seq = 2 WHERE chain_seq = 3;
         UPDATE audit SET chain_seq = 3 WHERE chain_seq = -1;",
    )
    .await;
    assert_eq!(chain_result(db).await.map_err(|e| e.chain_seq), Err(2));
}

pub(crate) async fn audit_tamper_truncated_tail(db: &dyn TestDb) {
    let n = audited(&*db.store()).await;
    db.exec(&format!("DELETE FROM audit WHERE chain_seq = {n}"))
        .await;
    assert_eq!(chain_result(db).await.map_err(|e| e.chain_seq), Err(n));
}

/// With the head removed, appending would fork the chain at record 1: it fails instead.
pub(crate) async fn audit_append_refuses_to_fork_without_head(db: &dyn TestDb) {
    let store = db.store();
    audited(&*store).await;
    db.exec("DELETE FROM audit_chain").await;
    assert!(chain_result(db).await.is_err());
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
    assert_eq!(store.audit_heads().await.unwrap(), vec![]);
}

/// Two processes appending to the same chain name (each with its own idea of the head):
/// every append lands after the real head, so the chain stays dense and linked.
pub(crate) async fn audit_two_processes_on_one_chain(db: &dyn TestDb) {
    let Some(b) = db.same_chains().await else {
        return;
    };
    let a = db.store();
    for i in 0..6 {
        let store = if i % 3 == 0 { &b } else { &a };
        store.append_audit(ev("ping")).await.unwrap();
    }
    assert_eq!(chain_result(db).await, Ok(6));
    let chains = a.audit_chain_names().await.unwrap();
    assert_eq!(chains, vec!["local/0".to_owned()]);
}

/// Checkpoints are stored once per number (the first sealer wins) and read back in order; the
/// sealer lease has one holder at a time.
pub(crate) async fn audit_checkpoints_and_sealer_lease(db: &dyn TestDb) {
    let store = db.store();
    let other = db.another().await.unwrap_or_else(|| db.store());
    assert_eq!(store.latest_audit_checkpoint().await.unwrap(), None);
    let cp = |n: i64, note: &str| crate::StoredCheckpoint {
        n,
        tree_size: n * 10,
        note: note.into(),
        timestamp: (n == 2).then(|| vec![1, 2, 3]),
        frontier: vec![n as u8; 40],
        created_ms: 1_000 + n,
    };
    assert!(
        store
            .insert_audit_checkpoint(&cp(1, "one\n"))
            .await
            .unwrap()
    );
    assert!(
        !other
            .insert_audit_checkpoint(&cp(1, "fork\n"))
            .await
            .unwrap()
    );
    assert!(
        other
            .insert_audit_checkpoint(&cp(2, "two\n"))
            .await
            .unwrap()
    );
    assert_eq!(
        store.latest_audit_checkpoint().await.unwrap(),
        Some(cp(2, "two\n"))
    );
    assert_eq!(
        store.audit_checkpoints(0, 10).await.unwrap(),
        vec![cp(1, "one\n"), cp(2, "two\n")]
    );
    assert_eq!(
        store.audit_checkpoints(1, 10).await.unwrap(),
        vec![cp(2, "two\n")]
    );

    assert!(
        store
            .take_audit_sealer_lease("a", 1_000, 3_000)
            .await
            .unwrap()
    );
    assert!(
        !other
            .take_audit_sealer_lease("b", 2_000, 3_000)
            .await
            .unwrap()
    );
    assert!(
        store
            .take_audit_sealer_lease("a", 3_000, 3_000)
            .await
            .unwrap(),
        "renewed"
    );
    assert!(
        !other
            .take_audit_sealer_lease("b", 5_999, 3_000)
            .await
            .unwrap()
    );
    assert!(
        other
            .take_audit_sealer_lease("b", 6_001, 3_000)
            .await
            .unwrap(),
        "expired"
    );
    assert!(
        !store
            .take_audit_sealer_lease("a", 6_002, 3_000)
            .await
            .unwrap()
    );
    other.release_audit_sealer_lease("b").await.unwrap();
    assert!(
        store
            .take_audit_sealer_lease("a", 6_003, 3_000)
            .await
            .unwrap(),
        "released"
    );
}

pub(crate) async fn corrupt_values_are_errors_not_panics(db: &dyn TestDb) {
    let store = db.store();
    seeded(&*store).await;
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
    db.exec(&format!(
        "UPDATE credentials SET key_type = 'dsa-1024' WHERE id = 'c1';
         UPDATE credentials SET chain = {} WHERE id = 'c2';
         UPDATE credentials SET failed_attempts = -1 WHERE id = 'c3';
         UPDATE sads SET hashes = {};
         UPDATE tokens SET kind = 'bearer';",
        db.blob(&[0, 0, 0, 9, 0xaa]),
        db.blob(&[0, 0, 1]),
    ))
    .await;
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
    db.exec("UPDATE sads SET hashes = NULL, hash_algo = '1.2.3'")
        .await;
    assert!(matches!(
        store.decide_sad([1; 32], spend(1, vec![])).await,
        Err(StoreError::Corrupt(_))
    ));
    db.exec(&format!(
        "UPDATE audit SET hash = {} WHERE seq = 1",
        db.blob(&[0])
    ))
    .await;
    assert!(matches!(
        store.audit_records(0, 10).await,
        Err(StoreError::Corrupt(_))
    ));
}

pub(crate) async fn delete_credential_removes_it_and_its_sads(db: &dyn TestDb) {
    let store = db.store();
    seeded(&*store).await;
    store
        .record_authorization_success(sad(42, "c1", 1, None), ev("credential.authorize"))
        .await
        .unwrap();
    let before = audit_count(&*store).await;
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
    assert_eq!(audit_count(&*store).await, before + 1);
    assert!(matches!(
        store.delete_credential("c1", ev("credential.delete")).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        audit_count(&*store).await,
        before + 1,
        "failed delete not audited"
    );
}

/// Revoking a certificate disables its credential, is recorded once (a second revocation is a
/// conflict that changes nothing), is listed for the CRL and found by serial for OCSP, and
/// stays after the credential is deleted.
pub(crate) async fn revocation_disables_once_and_outlives_the_credential(db: &dyn TestDb) {
    let store = db.store();
    seeded(&*store).await;
    store
        .create_credential(cred("c2", 1), ev("credential.create"))
        .await
        .unwrap();
    assert_eq!(store.revocations().await.unwrap(), vec![]);
    let first = Revocation {
        serial: vec![0x7f; 16],
        credential_id: "c1".into(),
        revoked_at: 1_700_000_500,
        reason: Some(1),
    };
    let second = Revocation {
        serial: vec![0x01; 16],
        credential_id: "c2".into(),
        revoked_at: 1_700_000_100,
        reason: None,
    };
    let before = audit_count(&*store).await;
    store
        .revoke_certificate(first.clone(), ev("credential.revoke"))
        .await
        .unwrap();
    store
        .revoke_certificate(second.clone(), ev("credential.revoke"))
        .await
        .unwrap();
    assert_eq!(audit_count(&*store).await, before + 2);
    assert!(store.credential("c1").await.unwrap().unwrap().disabled);
    assert_eq!(
        store.revocations().await.unwrap(),
        vec![second.clone(), first.clone()],
        "ordered by revocation time"
    );
    assert_eq!(
        store.revocation(&[0x7f; 16]).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.revocation(&[0x7e; 16]).await.unwrap(), None);
    // Twice: a conflict, nothing written.
    assert!(matches!(
        store
            .revoke_certificate(first.clone(), ev("credential.revoke"))
            .await,
        Err(StoreError::Conflict(_))
    ));
    // Unknown credential: not found, nothing written.
    let ghost = Revocation {
        serial: vec![9; 16],
        credential_id: "nope".into(),
        ..first.clone()
    };
    assert!(matches!(
        store
            .revoke_certificate(ghost, ev("credential.revoke"))
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(audit_count(&*store).await, before + 2);
    assert_eq!(store.revocations().await.unwrap().len(), 2);
    // Deleting the credential keeps its revocation: its certificate still exists.
    store
        .delete_credential("c1", ev("credential.delete"))
        .await
        .unwrap();
    assert_eq!(store.revocation(&[0x7f; 16]).await.unwrap(), Some(first));
}

/// Text a client controls (a username in a Basic header, a credential ID, an approval
/// description) may contain NUL, which PostgreSQL text cannot store: lookups find nothing,
/// audit records replace it, free text keeps it, and nothing fails.
pub(crate) async fn nul_in_text_is_no_error(db: &dyn TestDb) {
    let store = db.store();
    seeded(&*store).await;
    assert_eq!(store.user_by_name("ali\0ce").await.unwrap(), None);
    assert_eq!(store.credential("c\x001").await.unwrap(), None);
    assert_eq!(store.client("c\0").await.unwrap(), None);
    assert_eq!(store.oob_by_id("r\0").await.unwrap(), None);
    assert!(matches!(
        store
            .set_user_disabled("ali\0ce", true, ev("user.disable"))
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .record_authorization_failure("c\x001", 3, ev("f"))
            .await,
        Err(StoreError::NotFound(_))
    ));
    let record = store
        .append_audit(NewAuditEvent::new(
            "auth.login",
            "mal\0lory",
            Some("c\x001"),
            json!({"reason": "unknown_user", "typed": "a\u{0}b"}),
        ))
        .await
        .unwrap();
    assert_eq!(record.actor, "mal\u{fffd}lory");
    assert_eq!(record.credential_id.as_deref(), Some("c\u{fffd}1"));
    assert_eq!(
        store.audit_records(record.seq - 1, 1).await.unwrap(),
        vec![record]
    );
    let req = OobRequest {
        description: Some("pay \0 now".into()),
        ..oob_request()
    };
    store
        .insert_oob(req.clone(), ev("oob.request"))
        .await
        .unwrap();
    assert_eq!(store.oob_by_id("r1").await.unwrap(), Some(req));
    assert!(chain_result(db).await.is_ok());
}

// ---- authorization flows

fn binding() -> CredentialBinding {
    CredentialBinding {
        credential_id: "c1".into(),
        num_signatures: 2,
        hash_algo: Some(HashAlgorithm::Sha256),
        hashes: Some(vec![vec![1; 32], vec![2; 32]]),
    }
}

fn oob_request() -> OobRequest {
    OobRequest {
        id: "r1".into(),
        handle_hash: [4; 32],
        user_id: 1,
        binding: binding(),
        description: Some("d".into()),
        status: OobStatus::Pending,
        created_at: 1,
        expires_at: i64::MAX,
    }
}

async fn store_with_user(db: &dyn TestDb) -> Arc<dyn Store> {
    let store = db.store();
    store
        .create_user(new_user("u"), ev("user.create"))
        .await
        .unwrap();
    store
}

pub(crate) async fn code_moves_once_and_round_trips(db: &dyn TestDb) {
    let store = store_with_user(db).await;
    let code = AuthCode {
        code_hash: [9; 32],
        client_id: "cl".into(),
        redirect_uri: Some("https://c.example/cb".into()),
        code_challenge: "ch".into(),
        user_id: 1,
        scope: GrantScope::Credential(binding()),
        authorization_details: Some("[]".into()),
        state: CodeState::Issued,
        expires_at: 100,
        approval: Some([6; 32]),
    };
    store
        .insert_code(code.clone(), ev("oauth2.code"))
        .await
        .unwrap();
    assert_eq!(store.code(&[9; 32]).await.unwrap(), Some(code.clone()));
    assert!(matches!(
        store.insert_code(code, ev("oauth2.code")).await,
        Err(StoreError::Conflict(_))
    ));
    let service = AuthCode {
        code_hash: [8; 32],
        client_id: "cl".into(),
        redirect_uri: None,
        code_challenge: "ch2".into(),
        user_id: 1,
        scope: GrantScope::Service,
        authorization_details: None,
        state: CodeState::Issued,
        expires_at: 100,
        approval: None,
    };
    store
        .insert_code(service.clone(), ev("oauth2.code"))
        .await
        .unwrap();
    assert_eq!(store.code(&[8; 32]).await.unwrap(), Some(service));
    assert_eq!(store.code(&[7; 32]).await.unwrap(), None);

    let redeemed = CodeState::Redeemed { issued: [7; 32] };
    // Racing redemptions from two stores: one wins.
    let other = db.another().await.unwrap_or_else(|| db.store());
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let s = if i % 2 == 0 {
                store.clone()
            } else {
                other.clone()
            };
            tokio::spawn(async move {
                s.set_code_state(&[9; 32], CodeState::Issued, redeemed, Some(ev("redeem")))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
    // A second redemption loses the race.
    assert!(
        !store
            .set_code_state(&[9; 32], CodeState::Issued, redeemed, None)
            .await
            .unwrap()
    );
    let wrong_from = CodeState::Redeemed { issued: [8; 32] };
    assert!(
        !store
            .set_code_state(&[9; 32], wrong_from, CodeState::Burned, None)
            .await
            .unwrap()
    );
    let before = audit_count(&*store).await;
    assert!(
        store
            .set_code_state(&[9; 32], redeemed, CodeState::Burned, Some(ev("x")))
            .await
            .unwrap()
    );
    assert_eq!(audit_count(&*store).await, before + 1);
    assert_eq!(
        store.code(&[9; 32]).await.unwrap().map(|c| c.state),
        Some(CodeState::Burned)
    );
}

/// The embedded CA's issued serials: recorded once (a second record of the same serial is no
/// error and changes nothing), and every other serial is not issued.
pub(crate) async fn issued_certificates_are_recorded_once(db: &dyn TestDb) {
    let store = db.store();
    let serial = [0x7f, 0x01, 0x02];
    assert!(!store.certificate_issued(&serial).await.unwrap());
    store
        .record_issued_certificate(&serial, "signer", 10)
        .await
        .unwrap();
    store
        .record_issued_certificate(&serial, "tsa", 20)
        .await
        .unwrap();
    assert!(store.certificate_issued(&serial).await.unwrap());
    assert!(!store.certificate_issued(&[0x7f, 0x01]).await.unwrap());
    assert!(!store.certificate_issued(&[]).await.unwrap());
    if let Some(other) = db.another().await {
        assert!(other.certificate_issued(&serial).await.unwrap());
    }
}

pub(crate) async fn pushed_requests_are_taken_once_and_purged(db: &dyn TestDb) {
    let store = store_with_user(db).await;
    let req = PushedRequest {
        request_hash: [3; 32],
        client_id: "cl".into(),
        params: "{}".into(),
        expires_at: 50,
    };
    store.insert_pushed_request(req.clone()).await.unwrap();
    // Another client cannot take it, and its attempt leaves it for the one that pushed it.
    assert_eq!(
        store.take_pushed_request(&[3; 32], "other").await.unwrap(),
        None
    );
    assert_eq!(
        store.take_pushed_request(&[3; 32], "cl").await.unwrap(),
        Some(req.clone())
    );
    assert_eq!(
        store.take_pushed_request(&[3; 32], "cl").await.unwrap(),
        None
    );
    store.insert_pushed_request(req).await.unwrap();
    assert!(store.purge_expired(60).await.unwrap().rows >= 1);
    assert_eq!(
        store.take_pushed_request(&[3; 32], "cl").await.unwrap(),
        None
    );
}

pub(crate) async fn oob_status_is_compare_and_swap(db: &dyn TestDb) {
    let store = store_with_user(db).await;
    let req = oob_request();
    store
        .insert_oob(req.clone(), ev("oob.request"))
        .await
        .unwrap();
    assert!(matches!(
        store.insert_oob(req.clone(), ev("oob.request")).await,
        Err(StoreError::Conflict(_))
    ));
    let later = OobRequest {
        id: "r0".into(),
        handle_hash: [5; 32],
        created_at: 2,
        description: None,
        binding: CredentialBinding {
            hash_algo: None,
            hashes: None,
            ..binding()
        },
        ..req.clone()
    };
    store
        .insert_oob(later.clone(), ev("oob.request"))
        .await
        .unwrap();
    assert_eq!(
        store.oob_by_handle(&[4; 32]).await.unwrap(),
        Some(req.clone())
    );
    assert_eq!(store.oob_by_id("r0").await.unwrap(), Some(later.clone()));
    assert_eq!(
        store.pending_oob(1, 0).await.unwrap(),
        vec![req, later],
        "oldest first"
    );
    assert!(store.pending_oob(2, 0).await.unwrap().is_empty());
    let approved = OobStatus::Approved {
        approval: Some([7; 32]),
    };
    assert!(
        store
            .set_oob_status("r1", OobStatus::Pending, approved, None)
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_oob_status("r1", OobStatus::Pending, OobStatus::Denied, None)
            .await
            .unwrap()
    );
    assert_eq!(
        store.oob_by_id("r1").await.unwrap().map(|r| r.status),
        Some(approved),
        "the approval's seal is kept with it"
    );
    let collected = OobStatus::Collected { sad_hash: [5; 32] };
    assert!(
        store
            .set_oob_status("r1", approved, collected, Some(ev("collect")))
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_oob_status("r1", approved, collected, None)
            .await
            .unwrap()
    );
    assert_eq!(
        store.oob_by_id("r1").await.unwrap().map(|r| r.status),
        Some(collected)
    );
    assert_eq!(store.pending_oob(1, 0).await.unwrap().len(), 1);
    assert!(
        !store
            .set_oob_status("nope", OobStatus::Pending, OobStatus::Denied, None)
            .await
            .unwrap()
    );
}

pub(crate) async fn sessions_clients_and_revocation(db: &dyn TestDb) {
    let store = store_with_user(db).await;
    let session = BrowserSession {
        session_hash: [6; 32],
        user_id: None,
        csrf_token: "c".into(),
        pending: Some("{}".into()),
        expires_at: 100,
    };
    store.put_browser_session(session.clone()).await.unwrap();
    assert_eq!(
        store.browser_session(&[6; 32], 50).await.unwrap(),
        Some(session.clone())
    );
    assert_eq!(
        store.browser_session(&[6; 32], 100).await.unwrap(),
        None,
        "expired"
    );
    store
        .put_browser_session(BrowserSession {
            user_id: Some(1),
            ..session
        })
        .await
        .unwrap();
    assert_eq!(
        store
            .browser_session(&[6; 32], 50)
            .await
            .unwrap()
            .and_then(|s| s.user_id),
        Some(1)
    );
    store.delete_browser_session(&[6; 32]).await.unwrap();
    assert_eq!(store.browser_session(&[6; 32], 50).await.unwrap(), None);

    let client = OAuthClient {
        client_id: "cl".into(),
        name: "App".into(),
        secret_hash: Some([1; 32]),
        redirect_uris: vec!["https://a/cb".into(), "com.x.y:/cb".into()],
        user_id: Some(1),
        tls_certificate_sha256: Some([0xc1; 32]),
        created_at: 5,
    };
    store
        .create_client(client.clone(), ev("oauth2.client.create"))
        .await
        .unwrap();
    assert_eq!(store.client("cl").await.unwrap(), Some(client.clone()));
    assert!(matches!(
        store.create_client(client.clone(), ev("x")).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .create_client(
                OAuthClient {
                    client_id: "other".into(),
                    user_id: Some(99),
                    tls_certificate_sha256: None,
                    ..client.clone()
                },
                ev("x")
            )
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .create_client(
                OAuthClient {
                    client_id: "same-cert".into(),
                    ..client.clone()
                },
                ev("x")
            )
            .await,
        Err(StoreError::Conflict(w)) if w.contains("TLS certificate")
    ));
    let public = OAuthClient {
        client_id: "Zpub".into(),
        secret_hash: None,
        redirect_uris: vec![],
        user_id: None,
        tls_certificate_sha256: None,
        ..client.clone()
    };
    store
        .create_client(public.clone(), ev("oauth2.client.create"))
        .await
        .unwrap();
    let public2 = OAuthClient {
        client_id: "public-2".into(),
        ..public.clone()
    };
    store
        .create_client(public2.clone(), ev("oauth2.client.create"))
        .await
        .unwrap();
    assert_eq!(
        store.list_clients().await.unwrap(),
        vec![public, client.clone(), public2],
        "by creation time, then ID in byte order (Z before c); many clients without certificate"
    );
    assert_eq!(
        store.client_by_tls_certificate(&[0xc1; 32]).await.unwrap(),
        Some(client)
    );
    assert_eq!(
        store.client_by_tls_certificate(&[0xc2; 32]).await.unwrap(),
        None
    );

    // Revocation of an unknown secret deletes nothing and writes no audit row.
    let before = audit_count(&*store).await;
    assert!(
        !store
            .revoke_secret(&[2; 32], ev("oauth2.revoke"))
            .await
            .unwrap()
    );
    assert_eq!(audit_count(&*store).await, before);
    let issued = IssuedSecret {
        secret_hash: [2; 32],
        client_id: "cl".into(),
        kind: IssuedKind::AccessToken,
        expires_at: 9,
    };
    store.record_issued(issued.clone()).await.unwrap();
    assert_eq!(store.issued(&[2; 32]).await.unwrap(), Some(issued));
    // A credential token is a SAD: revoking it removes the SAD and the issued record.
    store
        .record_authorization_success(sad(2, "c1", 1, None), ev("credential.authorize"))
        .await
        .unwrap();
    assert!(
        store
            .revoke_secret(&[2; 32], ev("oauth2.revoke"))
            .await
            .unwrap()
    );
    assert_eq!(store.sad(&[2; 32], 0).await.unwrap(), None);
    assert_eq!(store.issued(&[2; 32]).await.unwrap(), None);
    // A refresh token takes its family along.
    for (b, kind, family) in [
        (3, TokenKind::Refresh, None),
        (4, TokenKind::Access, Some([3; 32])),
    ] {
        store
            .insert_token(TokenRecord {
                token_hash: [b; 32],
                user_id: 1,
                kind,
                family,
                expires_at: i64::MAX,
            })
            .await
            .unwrap();
    }
    assert!(
        store
            .revoke_secret(&[3; 32], ev("oauth2.revoke"))
            .await
            .unwrap()
    );
    assert_eq!(store.token(&[4; 32], 0).await.unwrap(), None);
    assert_eq!(audit_count(&*store).await, before + 3);
    // Verification success resets the counter and audits.
    store
        .create_credential(cred("c1", 1), ev("credential.create"))
        .await
        .unwrap();
    store
        .record_authorization_failure("c1", 9, ev("f"))
        .await
        .unwrap();
    store
        .record_verification_success("c1", ev("consent.verified"))
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
}
