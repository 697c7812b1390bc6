//! Databases written by an earlier release open without loss.
//!
//! `fixtures/` holds a SQLite database and a PostgreSQL dump that the store of commit a39a948
//! (before the backends shared their code, issue 12) wrote with [`populate`]; see
//! `fixtures/README.md` for how they were made. The tests open copies with the current code, read
//! every record back, verify the audit chain the way `signet admin audit verify` does, and keep
//! writing to it.
//!
//! To write the fixtures again (only ever with the release whose format they pin):
//! `SIGNET_WRITE_STORE_FIXTURES=1 cargo test -p signet-store compat_tests -- --ignored`.

use std::path::{Path, PathBuf};

use serde_json::json;
use signet_core::{HashAlgorithm, KeyType};

use crate::audit::{AuditKey, ChainVerifier};
use crate::authz::{
    AuthCode, BrowserSession, CodeState, CredentialBinding, GrantScope, IssuedKind, IssuedSecret,
    OAuthClient, OobRequest, OobStatus, PushedRequest,
};
use crate::postgres::tests::TempDatabase;
use crate::{
    AuthMode, Credential, NewAuditEvent, NewUser, PgStore, Revocation, SadDecision, SadOutcome,
    SadRecord, SqliteStore, Store, TokenKind, TokenRecord,
};

/// Audit records [`populate`] leaves.
const AUDIT_RECORDS: i64 = 23;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn ev(kind: &str, actor: &str, credential: Option<&str>) -> NewAuditEvent {
    NewAuditEvent::new(
        kind,
        actor,
        credential,
        json!({ "note": kind, "n": [1, 2.5, null] }),
    )
}

fn user(name: &str) -> NewUser {
    NewUser {
        username: name.to_owned(),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$hash-{name}"),
        totp_secret_sealed: vec![0x5e; 60],
    }
}

fn credential(id: &str, user_id: i64, auth_mode: AuthMode, scal: u8) -> Credential {
    Credential {
        id: id.to_owned(),
        user_id,
        key_type: if scal == 2 {
            KeyType::EcP256
        } else {
            KeyType::Rsa2048
        },
        backend: "software".into(),
        key_ref: vec![0xa0, scal, 3],
        public_key: vec![0x30, 0x59, scal],
        certificate: vec![0x30, 0x82, 0x01, scal],
        chain: vec![vec![0x30, 0x82, 2], vec![], vec![9; 300]],
        scal,
        multisign: 64,
        auth_mode,
        pin_hash: vec![4; 32],
        description: (scal == 2).then(|| format!("key {id}")),
        disabled: false,
        failed_attempts: 0,
        locked: false,
        created_at: 1_700_000_000 + i64::from(scal),
    }
}

fn sad(byte: u8, credential_id: &str, remaining: u32, hashes: Option<Vec<Vec<u8>>>) -> SadRecord {
    SadRecord {
        sad_hash: [byte; 32],
        user_id: 1,
        credential_id: credential_id.to_owned(),
        hash_algo: hashes.as_ref().map(|_| HashAlgorithm::Sha256),
        hashes,
        remaining,
        expires_at: 4_000_000_000,
    }
}

fn binding() -> CredentialBinding {
    CredentialBinding {
        credential_id: "c1".into(),
        num_signatures: 2,
        hash_algo: Some(HashAlgorithm::Sha384),
        hashes: Some(vec![vec![1; 48], vec![2; 48]]),
    }
}

fn clients() -> Vec<OAuthClient> {
    vec![
        OAuthClient {
            client_id: "Zeta-app".into(),
            name: "Zeta".into(),
            secret_hash: Some([0xc5; 32]),
            redirect_uris: vec!["https://zeta.example/cb".into(), "com.zeta:/cb".into()],
            user_id: Some(2),
            tls_certificate_sha256: Some([0xce; 32]),
            created_at: 1_700_000_100,
        },
        OAuthClient {
            client_id: "alpha-app".into(),
            name: "Alpha (public)".into(),
            secret_hash: None,
            redirect_uris: vec!["https://alpha.example/cb".into()],
            user_id: None,
            tls_certificate_sha256: None,
            created_at: 1_700_000_100,
        },
    ]
}

fn codes() -> Vec<AuthCode> {
    vec![
        AuthCode {
            code_hash: [0x0c; 32],
            client_id: "Zeta-app".into(),
            redirect_uri: Some("https://zeta.example/cb".into()),
            code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
            user_id: 1,
            scope: GrantScope::Service,
            authorization_details: None,
            state: CodeState::Redeemed { issued: [0x1d; 32] },
            expires_at: 4_000_000_000,
            approval: None,
        },
        AuthCode {
            code_hash: [0x0d; 32],
            client_id: "alpha-app".into(),
            redirect_uri: None,
            code_challenge: "challenge".into(),
            user_id: 1,
            scope: GrantScope::Credential(binding()),
            authorization_details: Some(r#"[{"type":"credential","credentialID":"c1"}]"#.into()),
            state: CodeState::Issued,
            expires_at: 4_000_000_000,
            approval: None,
        },
    ]
}

fn oob_requests() -> Vec<OobRequest> {
    vec![
        OobRequest {
            id: "r-approved".into(),
            handle_hash: [0x0a; 32],
            user_id: 1,
            binding: binding(),
            description: Some("pay \0 now, 100 €".into()),
            status: OobStatus::Approved { approval: None },
            created_at: 1_700_000_200,
            expires_at: 4_000_000_000,
        },
        OobRequest {
            id: "r-pending".into(),
            handle_hash: [0x0b; 32],
            user_id: 1,
            binding: CredentialBinding {
                hash_algo: None,
                hashes: None,
                ..binding()
            },
            description: None,
            status: OobStatus::Pending,
            created_at: 1_700_000_100,
            expires_at: 4_000_000_000,
        },
    ]
}

fn tokens() -> Vec<TokenRecord> {
    vec![
        TokenRecord {
            token_hash: [0x70; 32],
            user_id: 1,
            kind: TokenKind::Refresh,
            family: None,
            expires_at: 4_000_000_000,
        },
        TokenRecord {
            token_hash: [0x71; 32],
            user_id: 1,
            kind: TokenKind::Access,
            family: Some([0x70; 32]),
            expires_at: 4_000_000_000,
        },
    ]
}

fn revocation() -> Revocation {
    Revocation {
        serial: vec![0x7f, 0, 1, 2],
        credential_id: "c3".into(),
        revoked_at: 1_700_000_300,
        reason: Some(4),
    }
}

/// Writes one of everything the store keeps, through the [`Store`] API only.
async fn populate(store: &dyn Store) {
    let alice = store.create_user(user("alice"), ev("user.create", "admin", None));
    assert_eq!(alice.await.unwrap().id, 1);
    store
        .create_user(user("bob"), ev("user.create", "admin", None))
        .await
        .unwrap();
    store
        .set_user_disabled("bob", true, ev("user.disable", "admin", None))
        .await
        .unwrap();
    assert!(store.accept_totp_step(1, 56_666_666).await.unwrap());
    for c in [
        credential("c1", 1, AuthMode::Explicit, 2),
        credential("c2", 1, AuthMode::OAuth2Code, 1),
        credential("c3", 2, AuthMode::Oob, 1),
    ] {
        let id = c.id.clone();
        store
            .create_credential(c, ev("credential.create", "admin", Some(&id)))
            .await
            .unwrap();
    }
    for _ in 0..2 {
        store
            .record_authorization_failure(
                "c2",
                2,
                ev("credential.authorize.failed", "alice", Some("c2")),
            )
            .await
            .unwrap();
    }
    store
        .record_authorization_success(
            sad(
                0x11,
                "c1",
                3,
                Some(vec![vec![0xab; 32], vec![0xcd; 32], vec![0xab; 32]]),
            ),
            ev("credential.authorize", "alice", Some("c1")),
        )
        .await
        .unwrap();
    store
        .record_authorization_success(
            sad(0x12, "c1", 1, None),
            ev("credential.authorize", "alice", Some("c1")),
        )
        .await
        .unwrap();
    let outcome = store
        .decide_sad(
            [0x11; 32],
            Box::new(|current| {
                let current = current.cloned().unwrap();
                SadDecision::Spend {
                    keep: Some(SadRecord {
                        remaining: 2,
                        hashes: Some(vec![vec![0xab; 32], vec![0xab; 32]]),
                        ..current
                    }),
                    audit: ev("signature.create", "alice", Some("c1")),
                }
            }),
        )
        .await
        .unwrap();
    assert!(matches!(outcome, SadOutcome::Spent(_)));
    for t in tokens() {
        store.insert_token(t).await.unwrap();
    }
    store
        .put_setting("ca.certificate", &[0x30, 0x82, 0, 1])
        .await
        .unwrap();
    assert!(
        store
            .put_settings_if_absent(
                &[("ca.key", &[1, 2, 3]), ("ca.serial", b"17")],
                Some(ev("ca.create", "system", None))
            )
            .await
            .unwrap()
    );
    store
        .revoke_certificate(revocation(), ev("credential.revoke", "admin", Some("c3")))
        .await
        .unwrap();
    for c in clients() {
        store
            .create_client(c, ev("oauth2.client.create", "admin", None))
            .await
            .unwrap();
    }
    for mut code in codes() {
        let state = code.state;
        code.state = CodeState::Issued;
        let hash = code.code_hash;
        store
            .insert_code(code, ev("oauth2.authorize", "alice", None))
            .await
            .unwrap();
        if state != CodeState::Issued {
            assert!(
                store
                    .set_code_state(
                        &hash,
                        CodeState::Issued,
                        state,
                        Some(ev("oauth2.token", "alice", None))
                    )
                    .await
                    .unwrap()
            );
        }
    }
    store
        .insert_pushed_request(PushedRequest {
            request_hash: [0x9e; 32],
            client_id: "alpha-app".into(),
            params: r#"{"response_type":"code"}"#.into(),
            expires_at: 4_000_000_000,
        })
        .await
        .unwrap();
    store
        .record_issued(IssuedSecret {
            secret_hash: [0x1d; 32],
            client_id: "Zeta-app".into(),
            kind: IssuedKind::RefreshToken,
            expires_at: 4_000_000_000,
        })
        .await
        .unwrap();
    store
        .put_browser_session(BrowserSession {
            session_hash: [0x5e; 32],
            user_id: Some(1),
            csrf_token: "csrf".into(),
            pending: Some("{}".into()),
            expires_at: 4_000_000_000,
        })
        .await
        .unwrap();
    for mut request in oob_requests() {
        let status = request.status;
        request.status = OobStatus::Pending;
        let id = request.id.clone();
        store
            .insert_oob(request, ev("oob.request", "alice", Some("c1")))
            .await
            .unwrap();
        if status != OobStatus::Pending {
            assert!(
                store
                    .set_oob_status(
                        &id,
                        OobStatus::Pending,
                        status,
                        Some(ev("oob.approve", "alice", Some("c1")))
                    )
                    .await
                    .unwrap()
            );
        }
    }
    store
        .append_audit(NewAuditEvent::new(
            "auth.login",
            "mal\0lory",
            Some("c\x001"),
            json!({"reason": "unknown_user", "typed": "a\u{0}b", "é": "ü"}),
        ))
        .await
        .unwrap();
}

/// Verifies every chain through the [`Store`] API, page by page, as `signet audit verify` does
/// (signet-audit), and returns the number of records. Without a key MACs are not checked: the
/// records of the previous release have none until [`Store::upgrade_audit`].
async fn verify_like_the_cli(store: &dyn Store, key: Option<&AuditKey>) -> i64 {
    let heads = store.audit_heads().await.unwrap();
    let mut count = 0;
    for chain in store.audit_chain_names().await.unwrap() {
        let mut verifier = ChainVerifier::new(&chain, key);
        loop {
            let page = store
                .audit_chain_records(&chain, verifier.last(), 5)
                .await
                .unwrap();
            for record in &page {
                verifier.check(record).unwrap();
            }
            count += page.len() as i64;
            if page.len() < 5 {
                break;
            }
        }
        verifier
            .finish(heads.iter().find(|h| h.chain == chain))
            .unwrap();
    }
    count
}

/// The test stores' audit key ([`crate::AuditConfig::unkeyed`]).
fn key() -> AuditKey {
    AuditKey::new([0; 32])
}

/// Everything [`populate`] wrote reads back unchanged; the store keeps working on it.
async fn check(store: &dyn Store) {
    assert_eq!(verify_like_the_cli(store, None).await, AUDIT_RECORDS);
    let records = store.audit_records(0, u32::MAX).await.unwrap();
    assert!(
        records
            .iter()
            .all(|r| r.chain == "legacy" && r.version == 1 && r.mac.is_none())
    );
    // The upgrade verifies the old chain, keys it and says so in a record of its own.
    assert_eq!(store.upgrade_audit().await.unwrap(), Some(AUDIT_RECORDS));
    assert_eq!(store.upgrade_audit().await.unwrap(), None, "once");
    assert_eq!(
        verify_like_the_cli(store, Some(&key())).await,
        AUDIT_RECORDS + 1
    );
    let upgrade = store
        .audit_records(0, u32::MAX)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(
        (upgrade.kind.as_str(), upgrade.version),
        ("audit.upgrade", 2)
    );
    let detail: serde_json::Value = serde_json::from_str(&upgrade.detail).unwrap();
    assert_eq!(detail["legacy_records"], AUDIT_RECORDS);
    assert_eq!(
        detail["legacy_head_hash"],
        data_encoding::HEXLOWER.encode(&records.last().unwrap().hash)
    );
    let last = records.last().unwrap();
    assert_eq!(last.actor, "mal\u{fffd}lory");
    assert_eq!(last.credential_id.as_deref(), Some("c\u{fffd}1"));
    assert_eq!(records[0].kind, "user.create");

    let users = store.list_users().await.unwrap();
    assert_eq!(
        users
            .iter()
            .map(|u| (u.id, u.username.as_str(), u.disabled))
            .collect::<Vec<_>>(),
        [(1, "alice", false), (2, "bob", true)]
    );
    assert_eq!(users[0].password_hash, user("alice").password_hash);
    assert_eq!(users[0].totp_secret_sealed, vec![0x5e; 60]);
    assert_eq!(
        store.user_by_name("bob").await.unwrap().as_ref(),
        Some(&users[1])
    );
    assert!(
        !store.accept_totp_step(1, 56_666_666).await.unwrap(),
        "step kept"
    );

    let mut c2 = credential("c2", 1, AuthMode::OAuth2Code, 1);
    (c2.failed_attempts, c2.locked) = (2, true);
    let mut c3 = credential("c3", 2, AuthMode::Oob, 1);
    c3.disabled = true;
    assert_eq!(
        store.list_credentials().await.unwrap(),
        [credential("c1", 1, AuthMode::Explicit, 2), c2.clone(), c3]
    );
    assert_eq!(store.credentials_of_user(1).await.unwrap().len(), 2);

    let kept = sad(0x11, "c1", 2, Some(vec![vec![0xab; 32], vec![0xab; 32]]));
    assert_eq!(store.sad(&[0x11; 32], 0).await.unwrap(), Some(kept.clone()));
    assert_eq!(
        store.sad(&[0x12; 32], 0).await.unwrap(),
        Some(sad(0x12, "c1", 1, None))
    );
    for t in tokens() {
        assert_eq!(store.token(&t.token_hash, 0).await.unwrap(), Some(t));
    }
    assert_eq!(
        store.setting("ca.certificate").await.unwrap(),
        Some(vec![0x30, 0x82, 0, 1])
    );
    assert_eq!(
        store.setting("ca.serial").await.unwrap(),
        Some(b"17".to_vec())
    );
    assert_eq!(store.revocations().await.unwrap(), [revocation()]);

    // Byte order: "Zeta-app" before "alpha-app".
    assert_eq!(store.list_clients().await.unwrap(), clients());
    assert_eq!(
        store.client_by_tls_certificate(&[0xce; 32]).await.unwrap(),
        Some(clients()[0].clone())
    );
    for code in codes() {
        assert_eq!(store.code(&code.code_hash).await.unwrap(), Some(code));
    }
    assert_eq!(
        store.issued(&[0x1d; 32]).await.unwrap().map(|i| i.kind),
        Some(IssuedKind::RefreshToken)
    );
    assert_eq!(
        store
            .browser_session(&[0x5e; 32], 0)
            .await
            .unwrap()
            .map(|s| s.csrf_token),
        Some("csrf".into())
    );
    let oob = oob_requests();
    assert_eq!(
        store.oob_by_id("r-approved").await.unwrap().as_ref(),
        Some(&oob[0])
    );
    assert_eq!(
        store.oob_by_handle(&[0x0b; 32]).await.unwrap().as_ref(),
        Some(&oob[1])
    );
    assert_eq!(store.pending_oob(1, 0).await.unwrap(), [oob[1].clone()]);
    assert_eq!(
        store
            .take_pushed_request(&[0x9e; 32], "alpha-app")
            .await
            .unwrap()
            .map(|p| p.client_id),
        Some("alpha-app".into())
    );

    // Writing goes on where the old release stopped, on one chain.
    let outcome = store
        .decide_sad(
            [0x11; 32],
            Box::new(|current| SadDecision::Spend {
                keep: None,
                audit: ev(
                    "signature.create",
                    "alice",
                    Some(&current.unwrap().credential_id),
                ),
            }),
        )
        .await
        .unwrap();
    assert_eq!(outcome, SadOutcome::Spent(kept));
    let carol = store.create_user(user("carol"), ev("user.create", "admin", None));
    assert_eq!(carol.await.unwrap().id, 3);
    store
        .unlock_credential("c2", ev("credential.unlock", "admin", Some("c2")))
        .await
        .unwrap();
    assert!(store.revoke_token(&[0x70; 32]).await.unwrap());
    assert_eq!(
        store.token(&[0x71; 32], 0).await.unwrap(),
        None,
        "family revoked"
    );
    assert_eq!(
        verify_like_the_cli(store, Some(&key())).await,
        AUDIT_RECORDS + 4
    );
}

/// Before the upgrade, the old records verify by hash but have no MAC: keyed verification
/// says so at the first record.
fn assert_unkeyed(verdict: Result<i64, crate::AuditBreak>) {
    let err = verdict.unwrap_err();
    assert_eq!((err.chain.as_str(), err.chain_seq), ("legacy", 1));
    assert_eq!(err.reason, "record has no MAC");
}

/// A copy of the SQLite fixture in a temporary directory.
fn sqlite_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signet.db");
    std::fs::copy(fixtures().join("pre-issue12.sqlite"), &path).unwrap();
    (dir, path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_database_of_the_previous_release_opens_and_verifies() {
    let (_dir, path) = sqlite_copy();
    let store = SqliteStore::open(&path).unwrap();
    assert_unkeyed(store.verify_audit().await.unwrap());
    check(&store).await;
    assert_eq!(store.verify_audit().await.unwrap(), Ok(AUDIT_RECORDS + 4));
    drop(store);
    let reopened = SqliteStore::open(&path).unwrap();
    assert_eq!(
        reopened.verify_audit().await.unwrap(),
        Ok(AUDIT_RECORDS + 4)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_database_of_the_previous_release_opens_and_verifies() {
    if std::env::var("SIGNET_SKIP_POSTGRES_TESTS").is_ok_and(|v| v == "1") {
        return;
    }
    let db = TempDatabase::create().await;
    let dump = std::fs::read_to_string(fixtures().join("pre-issue12.postgres.sql")).unwrap();
    let (raw, connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    raw.batch_execute(&dump).await.unwrap();
    drop(raw);
    let store = PgStore::connect(&db.url).await.unwrap();
    assert_unkeyed(store.verify_audit().await.unwrap());
    check(&store).await;
    assert_eq!(store.verify_audit().await.unwrap(), Ok(AUDIT_RECORDS + 4));
}

/// Writes `fixtures/pre-issue12.sqlite` and a database `signet_fixture` to dump (see
/// `fixtures/README.md`). Ignored: run it only with the release the fixtures stand for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes the fixtures"]
async fn write_fixtures() {
    if std::env::var("SIGNET_WRITE_STORE_FIXTURES").is_err() {
        return;
    }
    let path = fixtures().join("pre-issue12.sqlite");
    let _ = std::fs::remove_file(&path);
    {
        let store = SqliteStore::open(&path).unwrap();
        populate(&store).await;
        assert_eq!(store.verify_audit().await.unwrap(), Ok(AUDIT_RECORDS));
    }
    // The store closes its read-only connections last, which cannot checkpoint: one more
    // read-write connection folds the WAL into the file, so the fixture is a single file.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    drop(conn);
    assert!(!path.with_extension("sqlite-wal").exists());

    let url = std::env::var("SIGNET_FIXTURE_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/signet_fixture".into());
    let store = PgStore::connect(&url).await.unwrap();
    populate(&store).await;
    assert_eq!(store.verify_audit().await.unwrap(), Ok(AUDIT_RECORDS));
}
