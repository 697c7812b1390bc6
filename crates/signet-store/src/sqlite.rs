//! [`Store`](crate::Store) on SQLite: what SQLite needs to run the shared store code
//! (`ops.rs`) — connections, transactions, parameter binding, column decoding and errors.
//!
//! # Concurrency
//!
//! One writer connection serializes every write, and each write runs in a `BEGIN IMMEDIATE`
//! transaction, so writes are also serialized against other processes (or other
//! [`SqliteStore`]s) opening the same file: the audit chain stays linear and a SAD can be spent
//! only once. Pure reads (tokens, credentials, users, settings, audit) go to a small pool of
//! read-only connections, which WAL mode lets run alongside the writer.
//!
//! SQLite calls are short (microseconds to a millisecond), so the async methods run them inline
//! instead of hopping to a blocking thread. Only the waiting is async: a write waits for the
//! writer on an async mutex, so a request waiting to write yields its tokio worker to other
//! requests instead of blocking the thread (`signet bench`, 2 cores, 32 clients: flow +15 %
//! pairs/s and a lower p99). A transaction, once it has the writer, runs to its commit without
//! yielding (every statement completes at once), so no other task sees it half done.
//!
//! # Durability
//!
//! The journal is WAL with `synchronous=NORMAL` by default ([`Durability::Normal`]): a committed
//! transaction survives a crash of the Signet process, and the database stays consistent on
//! power loss, but the last commits before an OS crash or power loss may be lost.
//! [`Durability::Full`] fsyncs each commit.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ErrorCode, OpenFlags};
use tokio::sync::{Mutex, MutexGuard};

use crate::StoreError;
use crate::audit::AuditBreak;
use crate::exec::{Backend, Conn, DbError, Dialect, Exec, FreeText, Param, Row, RowSink, Stmt, Tx};

mod schema;
#[cfg(test)]
mod tests;

pub use schema::{Durability, latest_version as schema_version};

/// Options for [`SqliteStore::open_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqliteOptions {
    pub durability: Durability,
    /// Read-only connections for pure reads; 0 sends reads to the writer.
    pub readers: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            durability: Durability::Normal,
            readers: 4,
        }
    }
}

/// The SQLite [`Store`](crate::Store). Cheap to share behind an `Arc`.
pub struct SqliteStore {
    /// The one writer; its async mutex is the queue of writes.
    writer: Mutex<Connection>,
    /// Empty for in-memory databases: a private memory database is visible only to its own
    /// connection, so reads go to the writer.
    readers: Box<[Mutex<Connection>]>,
    next_reader: AtomicUsize,
    audit: crate::chains::ChainSlots,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("readers", &self.readers.len())
            .finish_non_exhaustive()
    }
}

/// Creates the database file, empty and readable by its owner only (0600, like `master.key`),
/// unless it exists. SQLite gives the `-wal` and `-shm` files it creates the database file's
/// permissions, so they are private too; left to SQLite, all three would follow the umask
/// (usually 0644). An existing file keeps the permissions its operator gave it.
fn create_private(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Database(format!(
            "cannot create the database file {}: {e}",
            path.display()
        ))),
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and migrates the schema.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// [`SqliteStore::open`] with explicit durability and reader pool size.
    pub fn open_with(path: &Path, options: SqliteOptions) -> Result<Self, StoreError> {
        create_private(path)?;
        // No SQLITE_OPEN_URI: the path is a file name, never interpreted as a URI.
        let mut writer = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .db()?;
        schema::configure_writer(&writer, options.durability, true)?;
        schema::migrate(&mut writer)?;
        // Readers are opened after the writer switched the file to WAL and created the schema,
        // so they find the WAL index and every table.
        let readers = (0..options.readers)
            .map(|_| {
                let conn = Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .db()?;
                schema::configure_common(&conn)?;
                Ok(Mutex::new(conn))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Self {
            writer: Mutex::new(writer),
            readers: readers.into_boxed_slice(),
            next_reader: AtomicUsize::new(0),
            audit: unkeyed_chains()?,
        })
    }

    /// A private in-memory database (tests). Reads go to the single connection.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let mut writer = Connection::open_in_memory().db()?;
        schema::configure_writer(&writer, Durability::Normal, false)?;
        schema::migrate(&mut writer)?;
        Ok(Self {
            writer: Mutex::new(writer),
            readers: Box::new([]),
            next_reader: AtomicUsize::new(0),
            audit: unkeyed_chains()?,
        })
    }

    /// Appends audit records to `config`'s chains with its key from now on (a node's own chains
    /// and the key derived from its master key; without this call, [`AuditConfig::unkeyed`]).
    pub fn with_audit(mut self, config: crate::AuditConfig) -> Result<Self, StoreError> {
        self.audit = crate::chains::ChainSlots::new(config)?;
        Ok(self)
    }

    /// Verifies every audit chain (hashes, links, MACs) against the chain heads, in one
    /// snapshot so that concurrent appends cannot cause a false alarm. The outer error is a
    /// database failure, the inner one the first break; `Ok(Ok(n))` means `n` records verified.
    pub async fn verify_audit(&self) -> Result<Result<i64, AuditBreak>, StoreError> {
        crate::ops::verify_audit(self).await
    }
}

impl Backend for SqliteStore {
    const DIALECT: Dialect = Dialect::Sqlite;
    type Conn<'a> = SqliteConn<'a>;

    /// A free reader (or the first to come free), or the writer without readers.
    async fn read(&self) -> Result<SqliteConn<'_>, StoreError> {
        let n = self.readers.len();
        let conn = if n == 0 {
            self.writer.lock().await
        } else {
            let start = self.next_reader.fetch_add(1, Ordering::Relaxed) % n;
            match (0..n).find_map(|i| self.readers[(start + i) % n].try_lock().ok()) {
                Some(conn) => conn,
                None => self.readers[start].lock().await,
            }
        };
        Ok(SqliteConn {
            conn,
            writer: false,
        })
    }

    async fn write(&self) -> Result<SqliteConn<'_>, StoreError> {
        let conn = self.writer.lock().await;
        // A transaction whose rollback failed must not swallow the next write.
        if !conn.is_autocommit() {
            conn.execute_batch("ROLLBACK").db()?;
        }
        Ok(SqliteConn { conn, writer: true })
    }

    fn chains(&self) -> &crate::chains::ChainSlots {
        &self.audit
    }
}

fn unkeyed_chains() -> Result<crate::chains::ChainSlots, StoreError> {
    crate::chains::ChainSlots::new(crate::AuditConfig::unkeyed())
}

/// A connection of the store, held until dropped.
pub(crate) struct SqliteConn<'a> {
    conn: MutexGuard<'a, Connection>,
    /// The writer: each statement run outside a transaction gets one (`BEGIN IMMEDIATE`).
    writer: bool,
}

/// An open transaction; rolled back when dropped uncommitted.
pub(crate) struct SqliteTx<'a> {
    conn: &'a mut Connection,
    open: bool,
}

impl<'a> SqliteTx<'a> {
    fn start(conn: &'a mut Connection, begin: &str) -> Result<Self, StoreError> {
        conn.prepare_cached(begin).db()?.execute([]).db()?;
        Ok(Self { conn, open: true })
    }

    fn finish(mut self) -> Result<(), StoreError> {
        self.conn.prepare_cached("COMMIT").db()?.execute([]).db()?;
        self.open = false;
        Ok(())
    }
}

impl Drop for SqliteTx<'_> {
    fn drop(&mut self) {
        // Fails only when SQLite already rolled back; the writer checks before its next use.
        if self.open {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

impl Conn for SqliteConn<'_> {
    type Tx<'t>
        = SqliteTx<'t>
    where
        Self: 't;

    async fn begin(&mut self) -> Result<SqliteTx<'_>, StoreError> {
        SqliteTx::start(&mut self.conn, "BEGIN IMMEDIATE")
    }

    /// A deferred transaction: the snapshot is taken at the first read and held to the end.
    async fn snapshot(&mut self) -> Result<SqliteTx<'_>, StoreError> {
        SqliteTx::start(&mut self.conn, "BEGIN")
    }
}

impl Tx for SqliteTx<'_> {
    async fn commit(self) -> Result<(), StoreError> {
        self.finish()
    }
}

/// A connection or a transaction: where SQLite statements run.
trait Handle: Send {
    /// Runs `f` on the connection, as a transaction of its own where that is needed.
    fn with<T>(&mut self, f: impl FnOnce(&Connection) -> Result<T, DbError>) -> Result<T, DbError>;
}

impl Handle for SqliteConn<'_> {
    /// On the writer, a transaction of its own; on a reader, as it is.
    fn with<T>(&mut self, f: impl FnOnce(&Connection) -> Result<T, DbError>) -> Result<T, DbError> {
        if !self.writer {
            return f(&self.conn);
        }
        let tx = SqliteTx::start(&mut self.conn, "BEGIN IMMEDIATE")?;
        let out = f(tx.conn)?;
        tx.finish()?;
        Ok(out)
    }
}

impl Handle for SqliteTx<'_> {
    fn with<T>(&mut self, f: impl FnOnce(&Connection) -> Result<T, DbError>) -> Result<T, DbError> {
        f(self.conn)
    }
}

impl<H: Handle> Exec for H {
    const DIALECT: Dialect = Dialect::Sqlite;

    async fn run(&mut self, batch: &[Stmt<'_>]) -> Result<u64, DbError> {
        self.with(|c| {
            let mut changed = 0;
            for (sql, params) in batch {
                changed = prepare(c, sql)?.execute(bind(params))? as u64;
            }
            Ok(changed)
        })
    }

    async fn rows(
        &mut self,
        (sql, params): Stmt<'_>,
        sink: &mut RowSink<'_>,
    ) -> Result<(), DbError> {
        self.with(|c| {
            let mut stmt = prepare(c, sql)?;
            let mut rows = stmt.query(bind(params))?;
            while let Some(row) = rows.next()? {
                sink(row)?;
            }
            Ok(())
        })
    }
}

// ---- statements: prepared once per connection (rusqlite's statement cache)

fn prepare<'c>(conn: &'c Connection, sql: &str) -> Result<rusqlite::CachedStatement<'c>, DbError> {
    let stmt = conn.prepare_cached(sql)?;
    #[cfg(debug_assertions)]
    crate::exec::check_parameter_order(
        sql,
        (1..=stmt.parameter_count()).map(|i| stmt.parameter_name(i)),
    );
    Ok(stmt)
}

fn bind<'p>(params: &'p [&dyn Param]) -> impl rusqlite::Params + 'p {
    rusqlite::params_from_iter(params.iter().map(|p| *p as &dyn rusqlite::ToSql))
}

// ---- types

impl rusqlite::ToSql for FreeText<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        self.0.to_sql()
    }
}

impl Row for rusqlite::Row<'_> {
    fn int(&self, idx: usize) -> Result<Option<i64>, StoreError> {
        match self.get_ref(idx).map_err(map_error)? {
            ValueRef::Null => Ok(None),
            ValueRef::Integer(v) => Ok(Some(v)),
            _ => Err(self.corrupt(idx, &"not an integer")),
        }
    }

    fn text(&self, idx: usize) -> Result<Option<&str>, StoreError> {
        match self.get_ref(idx).map_err(map_error)? {
            ValueRef::Null => Ok(None),
            ValueRef::Text(v) => std::str::from_utf8(v)
                .map(Some)
                .map_err(|e| self.corrupt(idx, &e)),
            _ => Err(self.corrupt(idx, &"not text")),
        }
    }

    /// Blobs, and text as its bytes (as rusqlite reads a `Vec<u8>`).
    fn bytes(&self, idx: usize) -> Result<Option<&[u8]>, StoreError> {
        match self.get_ref(idx).map_err(map_error)? {
            ValueRef::Null => Ok(None),
            ValueRef::Blob(v) | ValueRef::Text(v) => Ok(Some(v)),
            _ => Err(self.corrupt(idx, &"not a blob")),
        }
    }

    /// Flags are integers: 0 is false.
    fn flag(&self, idx: usize) -> Result<Option<bool>, StoreError> {
        Ok(self.int(idx)?.map(|v| v != 0))
    }

    fn free_text(&self, idx: usize) -> Result<Option<String>, StoreError> {
        Ok(self.text(idx)?.map(str::to_owned))
    }

    fn corrupt(&self, idx: usize, what: &dyn std::fmt::Display) -> StoreError {
        let column = self.as_ref().column_name(idx).unwrap_or("?");
        StoreError::Corrupt(format!("column {column}: {what}"))
    }
}

// ---- errors

/// Converts rusqlite results into store results.
pub(crate) trait DbResult<T> {
    fn db(self) -> Result<T, StoreError>;
}

impl<T> DbResult<T> for rusqlite::Result<T> {
    fn db(self) -> Result<T, StoreError> {
        self.map_err(map_error)
    }
}

/// rusqlite error → store error. rusqlite's messages name columns and constraints but never
/// bound parameter values, so no secret can leak through them.
fn map_error(e: rusqlite::Error) -> StoreError {
    use rusqlite::Error as E;
    match e {
        E::FromSqlConversionFailure(..)
        | E::IntegralValueOutOfRange(..)
        | E::InvalidColumnType(..) => StoreError::Corrupt(e.to_string()),
        other => StoreError::Database(other.to_string()),
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ffi;
        let extended = match &e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::ConstraintViolation => {
                Some(f.extended_code)
            }
            _ => None,
        };
        match extended {
            // The message names the columns: "UNIQUE constraint failed: table.column".
            Some(ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY) => {
                Self::Unique {
                    on: e.to_string(),
                    error: map_error(e),
                }
            }
            Some(ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => Self::ForeignKey(map_error(e)),
            _ => Self::Other(map_error(e)),
        }
    }
}
