//! [`Store`](crate::Store) on PostgreSQL: several Signet nodes on one database are one service.
//! What PostgreSQL needs to run the shared store code (`ops.rs`): the pool, transactions,
//! parameter binding, column decoding and errors.
//!
//! # Isolation and locking
//!
//! Transactions run at PostgreSQL's default READ COMMITTED level with explicit row locks
//! (`FOR UPDATE`), never SERIALIZABLE; see `ops.rs` for which operation relies on what.
//!
//! # One audit chain for the whole cluster
//!
//! Every audited transaction locks the chain head (`SELECT … FROM audit_head … FOR UPDATE`)
//! before computing its record, so appends from all nodes are serialized and the chain stays
//! linear. The head is the last lock a transaction takes and the transaction commits right after
//! the record and the new head are written (pipelined, one round trip), which keeps the
//! cluster-wide critical section to about three round trips.
//!
//! # Connections
//!
//! A [`deadpool_postgres`] pool per node, statements prepared once per connection. Connections
//! are plain TCP (`NoTls`): TLS to the database is out of scope; run PostgreSQL on a private
//! network or the same host. A URL with `sslmode=require` is refused at connect time. When the
//! database is unreachable every method fails with [`StoreError::Database`], which the server
//! answers with 503; a dropped transaction is rolled back by the connection.

use std::task::Poll;
use std::time::Duration;

use bytes::BytesMut;
use deadpool_postgres::{
    GenericClient, Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime,
};
use tokio_postgres::NoTls;
use tokio_postgres::config::Host;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use crate::StoreError;
use crate::audit::AuditBreak;
use crate::exec::{Backend, Conn, DbError, Dialect, Exec, FreeText, Param, Row, RowSink, Stmt, Tx};

mod schema;
#[cfg(test)]
pub(crate) mod tests;

pub use schema::latest_version as schema_version;

/// Options for [`PgStore::connect_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgOptions {
    /// Most connections this node opens. The audit head serializes audited writes anyway, so a
    /// few per core are plenty; reads scale with it.
    pub max_connections: usize,
    /// Connect timeout, unless the URL sets `connect_timeout`.
    pub connect_timeout: Duration,
    /// How long a request waits for a free connection before failing with `Database` (503).
    pub wait_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            connect_timeout: Duration::from_secs(5),
            wait_timeout: Duration::from_secs(10),
        }
    }
}

/// The PostgreSQL [`Store`](crate::Store). Cheap to share behind an `Arc`; one per node.
pub struct PgStore {
    pool: Pool,
    /// `user@host:port/dbname`, for logs and errors (never the password).
    target: String,
    audit: crate::chains::ChainSlots,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// `user@host:port/dbname` of a connection configuration, without the password.
fn describe(config: &tokio_postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let host = match h {
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            };
            match config.get_ports().get(i).or(config.get_ports().first()) {
                Some(port) => format!("{host}:{port}"),
                None => host,
            }
        })
        .collect();
    format!(
        "{}@{}/{}",
        config.get_user().unwrap_or(""),
        hosts.join(","),
        config.get_dbname().unwrap_or("")
    )
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user[:password]@host[:port]/dbname`) and
    /// migrates the schema. Fails with `Database` when the server cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, PgOptions::default()).await
    }

    /// [`PgStore::connect`] with explicit pool options.
    pub async fn connect_with(url: &str, options: PgOptions) -> Result<Self, StoreError> {
        // tokio-postgres's parse errors name options, never their values (the password).
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Database(format!("invalid PostgreSQL URL: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connect_timeout);
        }
        if config.get_application_name().is_none() {
            config.application_name("signet");
        }
        let target = describe(&config);
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.max_connections.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(options.wait_timeout))
            .create_timeout(Some(options.connect_timeout))
            .recycle_timeout(Some(options.connect_timeout))
            .build()
            .map_err(|e| StoreError::Database(format!("PostgreSQL connection pool: {e}")))?;
        let store = Self {
            pool,
            target,
            audit: crate::chains::ChainSlots::new(crate::AuditConfig::unkeyed())?,
        };
        let mut client = store.pool.get().await.map_err(|e| {
            StoreError::Database(format!(
                "cannot connect to PostgreSQL at {}: {}",
                store.target,
                map_pool_error(e)
            ))
        })?;
        schema::migrate(&mut client).await?;
        drop(client);
        Ok(store)
    }

    /// `user@host:port/dbname` (no password), for logs.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Appends audit records to `config`'s chains with its key from now on (a node's own chains,
    /// as many as its connections, and the key derived from its master key; without this call,
    /// [`AuditConfig::unkeyed`](crate::AuditConfig::unkeyed)).
    pub fn with_audit(mut self, config: crate::AuditConfig) -> Result<Self, StoreError> {
        self.audit = crate::chains::ChainSlots::new(config)?;
        Ok(self)
    }

    /// Verifies every audit chain (hashes, links, MACs) against the chain heads in one
    /// REPEATABLE READ snapshot, so that concurrent appends from any node cannot cause a false
    /// alarm. The outer error is a database failure, the inner one the first break;
    /// `Ok(Ok(n))` means `n` records verified.
    pub async fn verify_audit(&self) -> Result<Result<i64, AuditBreak>, StoreError> {
        crate::ops::verify_audit(self).await
    }
}

impl Backend for PgStore {
    const DIALECT: Dialect = Dialect::Postgres;
    type Conn<'a> = PgConn;

    async fn read(&self) -> Result<PgConn, StoreError> {
        Ok(Pg(self.pool.get().await.map_err(map_pool_error)?))
    }

    async fn write(&self) -> Result<PgConn, StoreError> {
        self.read().await
    }

    fn chains(&self) -> &crate::chains::ChainSlots {
        &self.audit
    }
}

/// A client to run statements on: a pooled connection ([`PgConn`]) or a transaction ([`PgTx`]).
pub(crate) struct Pg<C>(C);

/// A pooled connection; outside a transaction each statement commits on its own.
pub(crate) type PgConn = Pg<Object>;

/// A transaction on a pooled connection; rolled back by the connection when dropped.
pub(crate) type PgTx<'a> = Pg<deadpool_postgres::Transaction<'a>>;

impl Conn for PgConn {
    type Tx<'t> = PgTx<'t>;

    async fn begin(&mut self) -> Result<PgTx<'_>, StoreError> {
        Ok(Pg(self.0.transaction().await.db()?))
    }

    async fn snapshot(&mut self) -> Result<PgTx<'_>, StoreError> {
        let tx = self
            .0
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .db()?;
        Ok(Pg(tx))
    }
}

impl Tx for PgTx<'_> {
    async fn commit(self) -> Result<(), StoreError> {
        self.0.commit().await.db()
    }
}

impl<C: GenericClient + Send + Sync> Exec for Pg<C> {
    const DIALECT: Dialect = Dialect::Postgres;

    async fn run(&mut self, batch: &[Stmt<'_>]) -> Result<u64, DbError> {
        match batch {
            [(sql, params)] => {
                let stmt = self.0.prepare_cached(sql).await?;
                Ok(self.0.execute(&stmt, &bind(params)).await?)
            }
            _ => pipelined(&self.0, batch).await,
        }
    }

    async fn rows(
        &mut self,
        (sql, params): Stmt<'_>,
        sink: &mut RowSink<'_>,
    ) -> Result<(), DbError> {
        let stmt = self.0.prepare_cached(sql).await?;
        for row in self.0.query(&stmt, &bind(params)).await? {
            sink(&row)?;
        }
        Ok(())
    }
}

// ---- statements: prepared once per connection (deadpool's statement cache)

fn bind<'p>(params: &'p [&dyn Param]) -> Vec<&'p (dyn ToSql + Sync)> {
    params.iter().map(|p| *p as &(dyn ToSql + Sync)).collect()
}

/// Sends every statement before awaiting any answer: tokio-postgres pipelines requests that
/// are in flight together, so the server gets them in one round trip and runs them in order.
/// After a failure the transaction is aborted and the later statements fail too; the first
/// failure is the one reported.
async fn pipelined<C: GenericClient>(c: &C, batch: &[Stmt<'_>]) -> Result<u64, DbError> {
    let mut prepared = Vec::with_capacity(batch.len());
    for (sql, params) in batch {
        prepared.push((c.prepare_cached(sql).await?, bind(params)));
    }
    let mut in_flight: Vec<_> = prepared
        .iter()
        .map(|(stmt, params)| Some(c.execute(stmt, params)))
        .collect();
    let mut results: Vec<_> = in_flight.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (slot, result) in in_flight.iter_mut().zip(&mut results) {
            if let Some(future) = slot {
                match future.as_mut().poll(cx) {
                    Poll::Ready(r) => {
                        *result = Some(r);
                        *slot = None;
                    }
                    Poll::Pending => done = false,
                }
            }
        }
        if done { Poll::Ready(()) } else { Poll::Pending }
    })
    .await;
    let mut changed = 0;
    for result in results.into_iter().flatten() {
        changed = result?;
    }
    Ok(changed)
}

// ---- types

/// Free text goes into `bytea` as UTF-8 (see [`FreeText`]).
impl ToSql for FreeText<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        self.0.map(str::as_bytes).to_sql(ty, out)
    }

    fn accepts(ty: &Type) -> bool {
        <&[u8] as ToSql>::accepts(ty)
    }

    to_sql_checked!();
}

impl Row for tokio_postgres::Row {
    fn int(&self, idx: usize) -> Result<Option<i64>, StoreError> {
        self.try_get(idx).map_err(|e| self.corrupt(idx, &e))
    }

    fn text(&self, idx: usize) -> Result<Option<&str>, StoreError> {
        self.try_get(idx).map_err(|e| self.corrupt(idx, &e))
    }

    fn bytes(&self, idx: usize) -> Result<Option<&[u8]>, StoreError> {
        self.try_get(idx).map_err(|e| self.corrupt(idx, &e))
    }

    fn flag(&self, idx: usize) -> Result<Option<bool>, StoreError> {
        self.try_get(idx).map_err(|e| self.corrupt(idx, &e))
    }

    fn free_text(&self, idx: usize) -> Result<Option<String>, StoreError> {
        self.bytes(idx)?
            .map(|b| String::from_utf8(b.to_vec()).map_err(|_| self.corrupt(idx, &"not UTF-8")))
            .transpose()
    }

    fn corrupt(&self, idx: usize, what: &dyn std::fmt::Display) -> StoreError {
        let column = self.columns().get(idx).map_or("?", |c| c.name());
        StoreError::Corrupt(format!("column {column}: {what}"))
    }
}

// ---- errors
//
// Error messages carry the SQLSTATE and PostgreSQL's primary message only, never its `DETAIL`
// line: for a unique violation that line quotes the key value (a SAD or token hash, a
// username), and bound parameters are the store's secrets.

/// Converts tokio-postgres results into store results.
pub(crate) trait PgResult<T> {
    fn db(self) -> Result<T, StoreError>;
}

impl<T> PgResult<T> for Result<T, tokio_postgres::Error> {
    fn db(self) -> Result<T, StoreError> {
        self.map_err(map_error)
    }
}

/// tokio-postgres error → store error (always `Database`: decoding goes through [`Row`]).
fn map_error(e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        // Primary message and code only: see above.
        Some(db) => {
            StoreError::Database(format!("{} (SQLSTATE {})", db.message(), db.code().code()))
        }
        // I/O, closed connection, protocol: messages without parameter values.
        None => StoreError::Database(e.to_string()),
    }
}

/// Pool error → store error: the database is unreachable or the pool exhausted, which the
/// server reports as 503 like any other `Database` error.
fn map_pool_error(e: deadpool_postgres::PoolError) -> StoreError {
    use deadpool_postgres::PoolError;
    match e {
        PoolError::Backend(e) => map_error(e),
        PoolError::Timeout(kind) => StoreError::Database(format!(
            "no PostgreSQL connection available in time ({kind:?})"
        )),
        other => StoreError::Database(format!("PostgreSQL connection pool: {other}")),
    }
}

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> Self {
        if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
            // The constraint's name, which PostgreSQL derives from its table and columns.
            let on = e
                .as_db_error()
                .and_then(|d| d.constraint())
                .unwrap_or_default()
                .to_owned();
            Self::Unique {
                on,
                error: map_error(e),
            }
        } else if e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) {
            Self::ForeignKey(map_error(e))
        } else {
            Self::Other(map_error(e))
        }
    }
}
