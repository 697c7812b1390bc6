//! The thin layer between the store's logic and the two databases.
//!
//! Every store operation is written once ([`crate::ops`]), against these traits, with its SQL
//! text in the dialect both databases accept (`$1` parameters, `true`/`false`, `RETURNING`,
//! `ON CONFLICT`, `IS NOT DISTINCT FROM`). A backend supplies only what must differ:
//!
//! - how it gets a connection and runs a statement ([`Backend`], [`Conn`], [`Exec`]): a pooled
//!   tokio-postgres client, or SQLite's one writer behind an async mutex and its read-only
//!   connections, called inline (SQLite calls are short: no blocking thread);
//! - what a transaction is ([`Conn::begin`]): `BEGIN IMMEDIATE` on SQLite, whose single writer
//!   excludes every other writer for the whole transaction, or a PostgreSQL transaction whose
//!   reads of rows it is going to change lock them ([`for_update!`]);
//! - how it reports a UNIQUE or FOREIGN KEY violation ([`DbError`]), binds a parameter
//!   ([`Param`]) and decodes a column ([`Row`]), which is where the DDL types differ;
//! - the two pieces of SQL that cannot be written alike ([`creation_order!`], [`byte_order!`]).
//!
//! SQLite numbers a `$N` parameter by its first appearance in the statement, not by `N`: every
//! statement therefore names `$1`, `$2`, … in that order (checked in debug builds).

use std::future::Future;

use crate::{SecretHash, StoreError};
use signet_core::HashAlgorithm;

use crate::encoding::decode_list;

/// The SQL dialect of a backend, for the few statements written differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// `$sql` with `FOR UPDATE` on PostgreSQL, whose transactions lock the rows they read to change
/// them (a second node waits, then reads them as the first left them). SQLite has no row locks
/// and needs none: its one writer holds the database for the whole transaction.
macro_rules! for_update {
    ($dialect:expr, $sql:expr) => {
        match $dialect {
            $crate::exec::Dialect::Sqlite => $sql,
            $crate::exec::Dialect::Postgres => concat!($sql, " FOR UPDATE"),
        }
    };
}
pub(crate) use for_update;

/// `$sql` ordered by credential creation: SQLite's implicit rowid, PostgreSQL's `pos` column
/// (PostgreSQL tables have no rowid).
macro_rules! creation_order {
    ($dialect:expr, $sql:expr) => {
        match $dialect {
            $crate::exec::Dialect::Sqlite => concat!($sql, " ORDER BY rowid"),
            $crate::exec::Dialect::Postgres => concat!($sql, " ORDER BY pos"),
        }
    };
}
pub(crate) use creation_order;

/// `$sql`, whose last `ORDER BY` term is text, sorted by bytes as SQLite sorts text: PostgreSQL
/// needs `COLLATE "C"` for that, SQLite knows no collation of that name.
macro_rules! byte_order {
    ($dialect:expr, $sql:expr) => {
        match $dialect {
            $crate::exec::Dialect::Sqlite => $sql,
            $crate::exec::Dialect::Postgres => concat!($sql, " COLLATE \"C\""),
        }
    };
}
pub(crate) use byte_order;

/// A statement parameter: a value that both drivers bind, to the same column types. Integers go
/// in as `i64` (PostgreSQL `bigint`), hashes as bytes.
pub(crate) trait Param: rusqlite::ToSql + tokio_postgres::types::ToSql + Sync {}

impl<T: rusqlite::ToSql + tokio_postgres::types::ToSql + Sync + ?Sized> Param for T {}

/// A hash as a parameter: a byte string (`bytea`). PostgreSQL would bind a `[u8; 32]` as an
/// array, had tokio-postgres an implementation for it at all.
pub(crate) fn bytes(hash: &SecretHash) -> &[u8] {
    hash
}

/// [`bytes`] of an optional hash.
pub(crate) fn opt_bytes(hash: &Option<SecretHash>) -> Option<&[u8]> {
    hash.as_ref().map(|h| &h[..])
}

/// Free text a client sent (an approval's description), which may contain NUL: SQLite keeps it
/// as `TEXT`, PostgreSQL (whose `text` cannot hold NUL) as UTF-8 `bytea`. Each backend binds it
/// and reads it back ([`Row::free_text`]) its own way.
#[derive(Debug)]
pub(crate) struct FreeText<'a>(pub Option<&'a str>);

/// A statement that failed, as the shared code needs to tell failures apart.
#[derive(Debug)]
pub(crate) enum DbError {
    /// A UNIQUE or PRIMARY KEY violation; `on` names what was violated as the database says
    /// it (a constraint name or a `table.column` list), so that callers can tell which.
    Unique {
        on: String,
        error: StoreError,
    },
    /// A FOREIGN KEY violation.
    ForeignKey(StoreError),
    Other(StoreError),
}

impl From<DbError> for StoreError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unique { error, .. } | DbError::ForeignKey(error) | DbError::Other(error) => {
                error
            }
        }
    }
}

impl From<StoreError> for DbError {
    fn from(e: StoreError) -> Self {
        Self::Other(e)
    }
}

/// Maps a UNIQUE violation to `Conflict(what)`: the row exists already.
pub(crate) fn conflict(what: impl FnOnce() -> String) -> impl FnOnce(DbError) -> StoreError {
    move |e| match e {
        DbError::Unique { .. } => StoreError::Conflict(what()),
        other => other.into(),
    }
}

/// One row of a result, column by column. Backends implement the five raw getters (`None` is
/// SQL NULL; a value of another type is `Corrupt`); the typed getters on `dyn Row` are shared.
pub(crate) trait Row {
    fn int(&self, idx: usize) -> Result<Option<i64>, StoreError>;
    fn text(&self, idx: usize) -> Result<Option<&str>, StoreError>;
    fn bytes(&self, idx: usize) -> Result<Option<&[u8]>, StoreError>;
    fn flag(&self, idx: usize) -> Result<Option<bool>, StoreError>;
    /// See [`FreeText`].
    fn free_text(&self, idx: usize) -> Result<Option<String>, StoreError>;
    /// The error for a value of column `idx` that does not decode.
    fn corrupt(&self, idx: usize, what: &dyn std::fmt::Display) -> StoreError;
}

impl dyn Row + '_ {
    fn required<T>(&self, idx: usize, v: Option<T>) -> Result<T, StoreError> {
        v.ok_or_else(|| self.corrupt(idx, &"unexpected NULL"))
    }

    pub(crate) fn i64(&self, idx: usize) -> Result<i64, StoreError> {
        let v = self.int(idx)?;
        self.required(idx, v)
    }

    pub(crate) fn opt_u32(&self, idx: usize) -> Result<Option<u32>, StoreError> {
        self.int(idx)?
            .map(|v| u32::try_from(v).map_err(|_| self.corrupt(idx, &"integer out of range")))
            .transpose()
    }

    pub(crate) fn u32(&self, idx: usize) -> Result<u32, StoreError> {
        let v = self.opt_u32(idx)?;
        self.required(idx, v)
    }

    pub(crate) fn opt_u8(&self, idx: usize) -> Result<Option<u8>, StoreError> {
        self.int(idx)?
            .map(|v| u8::try_from(v).map_err(|_| self.corrupt(idx, &"integer out of range")))
            .transpose()
    }

    pub(crate) fn bool(&self, idx: usize) -> Result<bool, StoreError> {
        let v = self.flag(idx)?;
        self.required(idx, v)
    }

    pub(crate) fn str(&self, idx: usize) -> Result<&str, StoreError> {
        let v = self.text(idx)?;
        self.required(idx, v)
    }

    pub(crate) fn string(&self, idx: usize) -> Result<String, StoreError> {
        self.str(idx).map(str::to_owned)
    }

    pub(crate) fn opt_string(&self, idx: usize) -> Result<Option<String>, StoreError> {
        Ok(self.text(idx)?.map(str::to_owned))
    }

    pub(crate) fn blob(&self, idx: usize) -> Result<Vec<u8>, StoreError> {
        let v = self.bytes(idx)?;
        self.required(idx, v).map(<[u8]>::to_vec)
    }

    pub(crate) fn opt_hash(&self, idx: usize) -> Result<Option<SecretHash>, StoreError> {
        self.bytes(idx)?
            .map(|v| SecretHash::try_from(v).map_err(|_| self.corrupt(idx, &"not a 32-byte hash")))
            .transpose()
    }

    pub(crate) fn hash(&self, idx: usize) -> Result<SecretHash, StoreError> {
        let v = self.opt_hash(idx)?;
        self.required(idx, v)
    }

    /// A list blob ([`crate::encoding::encode_list`]); NULL is `None`, "no list".
    pub(crate) fn opt_list(&self, idx: usize) -> Result<Option<Vec<Vec<u8>>>, StoreError> {
        self.bytes(idx)?
            .map(|v| decode_list(v).map_err(|e| self.corrupt(idx, &e)))
            .transpose()
    }

    pub(crate) fn list(&self, idx: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        let v = self.opt_list(idx)?;
        self.required(idx, v)
    }

    /// A hash algorithm stored as its OID.
    pub(crate) fn opt_hash_algo(&self, idx: usize) -> Result<Option<HashAlgorithm>, StoreError> {
        self.text(idx)?
            .map(|oid| HashAlgorithm::from_oid(oid).map_err(|e| self.corrupt(idx, &e)))
            .transpose()
    }
}

/// A statement and its parameters.
pub(crate) type Stmt<'a> = (&'a str, &'a [&'a dyn Param]);

/// Where the rows of a query go, one by one.
pub(crate) type RowSink<'a> = dyn FnMut(&dyn Row) -> Result<(), StoreError> + Send + 'a;

/// Runs statements: a connection outside a transaction, or a transaction.
///
/// On a connection each statement is a transaction of its own (PostgreSQL autocommit; SQLite's
/// writer wraps it in `BEGIN IMMEDIATE … COMMIT`, as it does every write).
///
/// A backend implements two primitives, [`Exec::run`] and [`Exec::rows`]; the methods the
/// store calls are built on them here. Methods take `&mut self`: a connection runs one
/// statement at a time, and that keeps the SQLite handles `Send` (a rusqlite connection may
/// move between threads but not be shared).
pub(crate) trait Exec: Send {
    const DIALECT: Dialect;

    /// Runs `batch` in order and stops at the first statement that fails; the number of rows
    /// the last one changed. PostgreSQL sends a batch in one round trip (pipelining), which
    /// matters where a transaction holds the audit chain's head: that lock serializes audited
    /// writes cluster-wide.
    fn run(&mut self, batch: &[Stmt<'_>]) -> impl Future<Output = Result<u64, DbError>> + Send;

    /// Runs a query and hands every row to `sink`.
    fn rows(
        &mut self,
        stmt: Stmt<'_>,
        sink: &mut RowSink<'_>,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Runs a statement; the number of rows it changed.
    fn execute(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
    ) -> impl Future<Output = Result<u64, DbError>> + Send {
        async move { self.run(&[(sql, params)]).await }
    }

    /// Runs statements in order (see [`Exec::run`]).
    fn execute_pipelined(
        &mut self,
        batch: &[Stmt<'_>],
    ) -> impl Future<Output = Result<(), DbError>> + Send {
        async move { self.run(batch).await.map(drop) }
    }

    /// Runs a query and decodes every row with `decode`.
    fn query<T: Send>(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
        mut decode: impl FnMut(&dyn Row) -> Result<T, StoreError> + Send,
    ) -> impl Future<Output = Result<Vec<T>, DbError>> + Send {
        async move {
            let mut out = Vec::new();
            let mut sink = |row: &dyn Row| decode(row).map(|v| out.push(v));
            self.rows((sql, params), &mut sink).await?;
            Ok(out)
        }
    }

    /// Runs a query that returns at most one row (a lookup by key) and decodes it.
    fn query_opt<T: Send>(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
        decode: impl FnOnce(&dyn Row) -> Result<T, StoreError> + Send,
    ) -> impl Future<Output = Result<Option<T>, DbError>> + Send {
        async move {
            let (mut decode, mut first) = (Some(decode), None);
            let mut sink = |row: &dyn Row| {
                if let Some(decode) = decode.take() {
                    first = Some(decode(row)?);
                }
                Ok(())
            };
            self.rows((sql, params), &mut sink).await?;
            Ok(first)
        }
    }
}

/// A connection taken from a backend.
pub(crate) trait Conn: Exec {
    type Tx<'t>: Tx
    where
        Self: 't;

    /// Starts a read-write transaction, rolled back if dropped before [`Tx::commit`].
    fn begin(&mut self) -> impl Future<Output = Result<Self::Tx<'_>, StoreError>> + Send;

    /// Starts a read-only transaction that sees one snapshot of the database throughout.
    fn snapshot(&mut self) -> impl Future<Output = Result<Self::Tx<'_>, StoreError>> + Send;
}

/// A transaction: statements, then [`Tx::commit`]; dropped uncommitted, it rolls back.
pub(crate) trait Tx: Exec {
    fn commit(self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A database the shared store code runs on. `Store` and `AuthzStore` are implemented once,
/// for every backend ([`crate::ops`]).
pub(crate) trait Backend: Send + Sync {
    const DIALECT: Dialect;
    type Conn<'a>: Conn
    where
        Self: 'a;

    /// A connection for reads (on SQLite one of the read-only connections, if any).
    fn read(&self) -> impl Future<Output = Result<Self::Conn<'_>, StoreError>> + Send;

    /// A connection for writes (on SQLite the one writer: waiting for it yields the task).
    fn write(&self) -> impl Future<Output = Result<Self::Conn<'_>, StoreError>> + Send;

    /// The audit chains this process appends to, and their key.
    fn chains(&self) -> &crate::chains::ChainSlots;
}

impl Dialect {
    /// Whether `text` can be stored (and so found) at all. PostgreSQL `text` cannot hold NUL: a
    /// lookup by a key containing one (a username or an ID as a client sent it) can match
    /// nothing, so the store answers "not found" without asking the database, which would
    /// refuse the parameter with an error. SQLite stores any text.
    pub(crate) fn stores(self, text: &str) -> bool {
        self == Self::Sqlite || !text.contains('\0')
    }
}

/// Checks that SQLite will bind `params` where PostgreSQL does: each `$N` first appears in
/// order (see the module documentation). Debug builds only; `names` are the statement's.
#[cfg(debug_assertions)]
pub(crate) fn check_parameter_order<'a>(sql: &str, names: impl Iterator<Item = Option<&'a str>>) {
    for (i, name) in names.enumerate() {
        let expected = format!("${}", i + 1);
        debug_assert_eq!(
            name,
            Some(expected.as_str()),
            "parameters must first appear as $1, $2, … in order: {sql}"
        );
    }
}
