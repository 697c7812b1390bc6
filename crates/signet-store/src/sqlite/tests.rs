//! SQLite-specific tests (file handling, WAL, reader pool, durability) and the conformance
//! suite ([`crate::conformance`]) on an in-memory and an on-file database.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;

use super::*;
use crate::audit::AuditBreak;
use crate::conformance::{TestDb, ev, other_node, seeded};
use crate::{Store, TokenKind, TokenRecord};

/// A private in-memory database; tampering goes through the store's own connection.
struct MemoryDb(Arc<SqliteStore>);

#[async_trait]
impl TestDb for MemoryDb {
    fn store(&self) -> Arc<dyn Store> {
        self.0.clone()
    }
    async fn another(&self) -> Option<Arc<dyn Store>> {
        None
    }
    async fn exec(&self, sql: &str) {
        self.0.writer.lock().await.execute_batch(sql).unwrap();
    }
    fn blob(&self, bytes: &[u8]) -> String {
        format!("x'{}'", data_encoding::HEXLOWER.encode(bytes))
    }
    async fn verify_audit(&self) -> Result<i64, AuditBreak> {
        self.0.verify_audit().await.unwrap()
    }
}

/// A database file in a temporary directory; `another` opens it a second time, as a second
/// process would, and tampering uses a third connection.
struct FileDb {
    _dir: tempfile::TempDir,
    path: PathBuf,
    store: Arc<SqliteStore>,
}

impl FileDb {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signet.db");
        let store = Arc::new(SqliteStore::open(&path).unwrap());
        Self {
            _dir: dir,
            path,
            store,
        }
    }
}

#[async_trait]
impl TestDb for FileDb {
    async fn same_chains(&self) -> Option<Arc<dyn Store>> {
        Some(Arc::new(SqliteStore::open(&self.path).unwrap()))
    }
    fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }
    async fn another(&self) -> Option<Arc<dyn Store>> {
        Some(Arc::new(
            SqliteStore::open(&self.path)
                .unwrap()
                .with_audit(other_node())
                .unwrap(),
        ))
    }
    async fn exec(&self, sql: &str) {
        rusqlite::Connection::open(&self.path)
            .unwrap()
            .execute_batch(sql)
            .unwrap();
    }
    fn blob(&self, bytes: &[u8]) -> String {
        format!("x'{}'", data_encoding::HEXLOWER.encode(bytes))
    }
    async fn verify_audit(&self) -> Result<i64, AuditBreak> {
        self.store.verify_audit().await.unwrap()
    }
}

mod memory {
    use super::MemoryDb;
    use std::sync::Arc;

    crate::conformance::conformance_tests!(async {
        Some(MemoryDb(Arc::new(
            crate::SqliteStore::open_in_memory().unwrap(),
        )))
    });
}

mod file {
    use super::FileDb;

    crate::conformance::conformance_tests!(async { Some(FileDb::new()) });
}

fn file_store(dir: &Path) -> SqliteStore {
    SqliteStore::open(&dir.join("signet.db")).unwrap()
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
        assert_eq!(store.verify_audit().await.unwrap(), Ok(2 + reopened));
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

/// The database and the WAL files SQLite makes beside it are private to their owner (0600),
/// whatever the umask; a file that already exists keeps its permissions.
#[cfg(unix)]
#[tokio::test]
async fn database_files_are_created_0600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store = file_store(dir.path());
    seeded(&store).await;
    store.put_setting("k", b"v").await.unwrap();
    let mode = |name: &str| {
        std::fs::metadata(dir.path().join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .permissions()
            .mode()
            & 0o777
    };
    for name in ["signet.db", "signet.db-wal", "signet.db-shm"] {
        assert_eq!(mode(name), 0o600, "{name}");
    }
    drop(store);
    let other = dir.path().join("other.db");
    std::fs::write(&other, b"").unwrap();
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o640)).unwrap();
    drop(SqliteStore::open(&other).unwrap());
    assert_eq!(mode("other.db"), 0o640);
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
    let records = crate::bench_tests::authorize_sign_pairs(store.clone(), 1, 300).await;
    assert_eq!(store.verify_audit().await.unwrap(), Ok(records));
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
        .await
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sync, 2, "FULL");
    assert!(matches!(
        SqliteStore::open(&dir.path().join("missing-dir/signet.db")),
        Err(StoreError::Database(_))
    ));
}
