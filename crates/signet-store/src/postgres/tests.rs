//! PostgreSQL tests: the conformance suite ([`crate::conformance`]) with every case in a fresh
//! database of its own, plus what only PostgreSQL has (concurrent migration, reconnection,
//! error texts).
//!
//! They need a server: `SIGNET_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`) is the administrative connection used to create
//! and drop the per-test databases `signet_test_<random>`. An unreachable server fails the tests
//! with a message saying so, unless `SIGNET_SKIP_POSTGRES_TESTS=1`.

use std::sync::Arc;

use async_trait::async_trait;
use tokio_postgres::NoTls;

use super::*;
use crate::Store;
use crate::audit::AuditBreak;
use crate::conformance::{TestDb, ev, other_node, seeded};

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn admin_url() -> String {
    std::env::var("SIGNET_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| DEFAULT_ADMIN_URL.to_owned())
}

fn skipped() -> bool {
    if std::env::var("SIGNET_SKIP_POSTGRES_TESTS").is_ok_and(|v| v == "1") {
        eprintln!("SIGNET_SKIP_POSTGRES_TESTS=1: PostgreSQL test skipped");
        return true;
    }
    false
}

async fn connect_raw(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "the PostgreSQL tests need a server at {url} with trust authentication \
             (set SIGNET_TEST_POSTGRES_URL to another administrative URL, or \
             SIGNET_SKIP_POSTGRES_TESTS=1 to skip them): {e}"
            )
        });
    tokio::spawn(connection);
    client
}

/// A fresh, empty database `signet_test_<random>` (dropped with the returned guard) and its URL.
pub(crate) struct TempDatabase {
    pub(crate) name: String,
    pub(crate) url: String,
}

impl TempDatabase {
    pub(crate) async fn create() -> Self {
        let admin = admin_url();
        let mut random = [0u8; 8];
        aws_lc_rs::rand::fill(&mut random).unwrap();
        let name = format!("signet_test_{}", data_encoding::HEXLOWER.encode(&random));
        connect_raw(&admin)
            .await
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap();
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&format!("/{name}"));
        Self {
            name,
            url: url.to_string(),
        }
    }
}

impl Drop for TempDatabase {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot be blocked on: a thread of its own
        // with a runtime of its own drops the database, terminating the store's connections.
        let (admin, name) = (admin_url(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok((client, connection)) = tokio_postgres::connect(&admin, NoTls).await {
                    tokio::spawn(connection);
                    let _ = client
                        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .await;
                }
            });
        })
        .join();
    }
}

/// A store on a fresh database, with a raw connection for tampering.
pub(crate) struct PgTestDb {
    store: Arc<PgStore>,
    raw: tokio_postgres::Client,
    db: TempDatabase,
}

impl PgTestDb {
    /// `None` when PostgreSQL tests are skipped.
    pub(crate) async fn new() -> Option<Self> {
        if skipped() {
            return None;
        }
        let db = TempDatabase::create().await;
        let store = Arc::new(PgStore::connect(&db.url).await.unwrap());
        let raw = connect_raw(&db.url).await;
        Some(Self { store, raw, db })
    }
}

#[async_trait]
impl TestDb for PgTestDb {
    async fn same_chains(&self) -> Option<Arc<dyn Store>> {
        Some(Arc::new(PgStore::connect(&self.db.url).await.unwrap()))
    }
    fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }
    async fn another(&self) -> Option<Arc<dyn Store>> {
        Some(Arc::new(
            PgStore::connect(&self.db.url)
                .await
                .unwrap()
                .with_audit(other_node())
                .unwrap(),
        ))
    }
    async fn exec(&self, sql: &str) {
        self.raw.batch_execute(sql).await.unwrap();
    }
    fn blob(&self, bytes: &[u8]) -> String {
        format!("'\\x{}'::bytea", data_encoding::HEXLOWER.encode(bytes))
    }
    async fn verify_audit(&self) -> Result<i64, AuditBreak> {
        self.store.verify_audit().await.unwrap()
    }
}

mod conformance {
    crate::conformance::conformance_tests!(super::PgTestDb::new());
}

/// Nodes starting at once on an empty database: one migrates, the others wait on the advisory
/// lock and find the schema current. Reconnecting keeps the data; a newer schema is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_start_migrates_once_and_reopen_keeps_data() {
    if skipped() {
        return;
    }
    let db = TempDatabase::create().await;
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url.clone();
            tokio::spawn(async move { PgStore::connect(&url).await })
        })
        .collect();
    let mut stores = Vec::new();
    for s in starts {
        stores.push(s.await.unwrap().unwrap());
    }
    seeded(&stores[0]).await;
    stores[1].put_setting("k", b"v").await.unwrap();
    drop(stores);

    let store = PgStore::connect(&db.url).await.unwrap();
    assert_eq!(
        store.user_by_name("alice").await.unwrap().map(|u| u.id),
        Some(1)
    );
    assert_eq!(store.setting("k").await.unwrap(), Some(b"v".to_vec()));
    assert_eq!(store.verify_audit().await.unwrap(), Ok(2));
    store.append_audit(ev("reopen")).await.unwrap();
    assert_eq!(store.verify_audit().await.unwrap(), Ok(3));
    assert!(store.target().ends_with(&format!("/{}", db.name)));

    let raw = connect_raw(&db.url).await;
    let versions: Vec<i64> = raw
        .query("SELECT version FROM schema_version ORDER BY version", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, (1..=schema_version()).collect::<Vec<_>>());
    raw.execute(
        "INSERT INTO schema_version VALUES ($1, 0)",
        &[&(schema_version() + 1)],
    )
    .await
    .unwrap();
    match PgStore::connect(&db.url).await {
        Err(StoreError::Database(msg)) => assert!(msg.contains("newer"), "{msg}"),
        other => panic!("a newer schema must be refused: {other:?}"),
    }
}

/// An unreachable server is a `Database` error (503 at the API) naming the target but never
/// the password.
#[tokio::test]
async fn unreachable_server_is_a_database_error_without_the_password() {
    let url = "postgres://signet:hunter2-secret@127.0.0.1:1/signet?connect_timeout=2";
    match PgStore::connect(url).await {
        Err(StoreError::Database(msg)) => {
            assert!(msg.contains("signet@127.0.0.1:1/signet"), "{msg}");
            assert!(!msg.contains("hunter2"), "{msg}");
        }
        other => panic!("expected a database error, got {other:?}"),
    }
    match PgStore::connect("mysql://x").await {
        Err(StoreError::Database(msg)) => assert!(msg.contains("invalid PostgreSQL URL"), "{msg}"),
        other => panic!("expected a database error, got {other:?}"),
    }
}

/// PostgreSQL's DETAIL line quotes key values; store errors never carry it.
#[tokio::test]
async fn errors_do_not_quote_values() {
    let Some(db) = PgTestDb::new().await else {
        return;
    };
    let insert = "INSERT INTO settings (key, value) VALUES ('a-very-secret-key', '\\x01')";
    db.raw.batch_execute(insert).await.unwrap();
    let e = db.raw.batch_execute(insert).await.unwrap_err();
    let detail = e.as_db_error().and_then(|d| d.detail()).unwrap_or_default();
    assert!(detail.contains("a-very-secret-key"), "PostgreSQL quotes it");
    match map_error(e) {
        StoreError::Database(msg) => {
            assert!(!msg.contains("a-very-secret-key"), "{msg}");
            assert!(msg.contains("23505"), "{msg}");
        }
        other => panic!("{other:?}"),
    }
}

/// Connections killed under the store (a database restart, a failover) cost at most the
/// requests in flight: the pool replaces dead connections and the store keeps working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_recovers_from_terminated_connections() {
    let Some(db) = PgTestDb::new().await else {
        return;
    };
    let store = db.store();
    seeded(&*store).await;
    for round in 0..3 {
        db.raw
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = $1 AND pid <> pg_backend_pid()",
                &[&db.db.name],
            )
            .await
            .unwrap();
        let mut ok = false;
        for _ in 0..20 {
            match store.append_audit(ev("after-restart")).await {
                Ok(_) => {
                    ok = true;
                    break;
                }
                Err(StoreError::Database(_)) => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(other) => panic!("round {round}: {other:?}"),
            }
        }
        assert!(ok, "round {round}: the store did not recover");
    }
    assert!(db.verify_audit().await.is_ok());
}

/// The store's side of `signet bench`'s flow on PostgreSQL, 1 and 64 hashes per SAD (run with
/// `--release -- --ignored --nocapture`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark"]
async fn bench_authorize_sign_pairs() {
    for hashes in [1, 64] {
        let Some(db) = PgTestDb::new().await else {
            return;
        };
        let records = crate::bench_tests::authorize_sign_pairs(db.store(), hashes, 40).await;
        assert_eq!(db.verify_audit().await, Ok(records));
    }
}
