//! Mapping between PostgreSQL rows and records, statement helpers, and the mapping from
//! tokio-postgres and pool errors to store errors.
//!
//! Row mappers never panic: a value that does not decode (wrong type, NULL where a value is
//! required, an integer out of range, a hash that is not 32 bytes, an unknown key type) is
//! [`StoreError::Corrupt`].
//!
//! Error messages carry the SQLSTATE and PostgreSQL's primary message only, never its `DETAIL`
//! line: for a unique violation that line quotes the key value (a SAD or token hash, a
//! username), and bound parameters are the store's secrets.

use deadpool_postgres::GenericClient;
use signet_core::{HashAlgorithm, KeyType};
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, ToSql};

use crate::audit::AuditRecord;
use crate::encoding::decode_list;
use crate::{
    AuthMode, Credential, SadRecord, SecretHash, StoreError, TokenKind, TokenRecord, User,
};

/// A statement parameter.
pub(super) type Param<'a> = &'a (dyn ToSql + Sync);

/// Converts tokio-postgres results into store results.
pub(super) trait PgResult<T> {
    fn db(self) -> Result<T, StoreError>;
}

impl<T> PgResult<T> for Result<T, tokio_postgres::Error> {
    fn db(self) -> Result<T, StoreError> {
        self.map_err(map_error)
    }
}

/// tokio-postgres error → store error (always `Database`: decoding goes through [`get`]).
pub(super) fn map_error(e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        // Primary message and code only: see the module documentation.
        Some(db) => {
            StoreError::Database(format!("{} (SQLSTATE {})", db.message(), db.code().code()))
        }
        // I/O, closed connection, protocol: messages without parameter values.
        None => StoreError::Database(e.to_string()),
    }
}

/// Pool error → store error: the database is unreachable or the pool exhausted, which the
/// server reports as 503 like any other `Database` error.
pub(super) fn map_pool_error(e: deadpool_postgres::PoolError) -> StoreError {
    use deadpool_postgres::PoolError;
    match e {
        PoolError::Backend(e) => map_error(e),
        PoolError::Timeout(kind) => StoreError::Database(format!(
            "no PostgreSQL connection available in time ({kind:?})"
        )),
        other => StoreError::Database(format!("PostgreSQL connection pool: {other}")),
    }
}

/// [`map_error`], except that a UNIQUE violation means `what` exists already: a conflict.
pub(super) fn conflict_if_duplicate(
    what: impl FnOnce() -> String,
) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
    move |e| {
        if is_duplicate(&e) {
            StoreError::Conflict(what())
        } else {
            map_error(e)
        }
    }
}

/// True when `e` is a UNIQUE or PRIMARY KEY violation.
pub(super) fn is_duplicate(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

/// True when `e` is a FOREIGN KEY violation.
pub(super) fn is_foreign_key(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION)
}

/// PostgreSQL `text` cannot hold NUL. A lookup by a key containing one (a username or an ID as a
/// client sent it) can match nothing, so the store answers "not found" without asking the
/// database, which would refuse the parameter with an error.
pub(super) fn storable(text: &str) -> bool {
    !text.contains('\0')
}

// ---- statements: prepared once per connection (deadpool's statement cache)

pub(super) async fn execute<C: GenericClient>(
    c: &C,
    sql: &str,
    params: &[Param<'_>],
) -> Result<u64, tokio_postgres::Error> {
    let stmt = c.prepare_cached(sql).await?;
    c.execute(&stmt, params).await
}

pub(super) async fn query<C: GenericClient>(
    c: &C,
    sql: &str,
    params: &[Param<'_>],
) -> Result<Vec<Row>, tokio_postgres::Error> {
    let stmt = c.prepare_cached(sql).await?;
    c.query(&stmt, params).await
}

pub(super) async fn query_opt<C: GenericClient>(
    c: &C,
    sql: &str,
    params: &[Param<'_>],
) -> Result<Option<Row>, tokio_postgres::Error> {
    let stmt = c.prepare_cached(sql).await?;
    c.query_opt(&stmt, params).await
}

pub(super) async fn query_one<C: GenericClient>(
    c: &C,
    sql: &str,
    params: &[Param<'_>],
) -> Result<Row, tokio_postgres::Error> {
    let stmt = c.prepare_cached(sql).await?;
    c.query_one(&stmt, params).await
}

// ---- column decoding

fn corrupt(row: &Row, idx: usize, what: impl std::fmt::Display) -> StoreError {
    let column = row.columns().get(idx).map_or("?", |c| c.name());
    StoreError::Corrupt(format!("column {column}: {what}"))
}

/// Column `idx` as `T`; a type mismatch or unexpected NULL is `Corrupt`.
pub(super) fn get<'a, T: FromSql<'a>>(row: &'a Row, idx: usize) -> Result<T, StoreError> {
    row.try_get(idx).map_err(|e| corrupt(row, idx, e))
}

pub(super) fn get_u32(row: &Row, idx: usize) -> Result<u32, StoreError> {
    let v: i64 = get(row, idx)?;
    u32::try_from(v).map_err(|_| corrupt(row, idx, "integer out of range"))
}

pub(super) fn get_opt_u32(row: &Row, idx: usize) -> Result<Option<u32>, StoreError> {
    let v: Option<i64> = get(row, idx)?;
    v.map(|v| u32::try_from(v).map_err(|_| corrupt(row, idx, "integer out of range")))
        .transpose()
}

pub(super) fn get_hash(row: &Row, idx: usize) -> Result<SecretHash, StoreError> {
    let v: &[u8] = get(row, idx)?;
    SecretHash::try_from(v).map_err(|_| corrupt(row, idx, "not a 32-byte hash"))
}

pub(super) fn get_opt_hash(row: &Row, idx: usize) -> Result<Option<SecretHash>, StoreError> {
    let v: Option<&[u8]> = get(row, idx)?;
    v.map(|v| SecretHash::try_from(v).map_err(|_| corrupt(row, idx, "not a 32-byte hash")))
        .transpose()
}

pub(super) fn get_list(row: &Row, idx: usize) -> Result<Vec<Vec<u8>>, StoreError> {
    let v: &[u8] = get(row, idx)?;
    decode_list(v).map_err(|e| corrupt(row, idx, e))
}

pub(super) fn get_opt_list(row: &Row, idx: usize) -> Result<Option<Vec<Vec<u8>>>, StoreError> {
    let v: Option<&[u8]> = get(row, idx)?;
    v.map(|v| decode_list(v).map_err(|e| corrupt(row, idx, e)))
        .transpose()
}

pub(super) fn get_opt_hash_algo(
    row: &Row,
    idx: usize,
) -> Result<Option<HashAlgorithm>, StoreError> {
    let v: Option<&str> = get(row, idx)?;
    v.map(|oid| HashAlgorithm::from_oid(oid).map_err(|e| corrupt(row, idx, e)))
        .transpose()
}

/// Text stored as UTF-8 bytes (`bytea`): free text a client sent, which may contain NUL.
pub(super) fn get_opt_text_bytes(row: &Row, idx: usize) -> Result<Option<String>, StoreError> {
    let v: Option<Vec<u8>> = get(row, idx)?;
    v.map(|b| String::from_utf8(b).map_err(|_| corrupt(row, idx, "not UTF-8")))
        .transpose()
}

// ---- records. Column lists are macros so they can be `concat!`ed into literal SQL.

/// `SELECT` of a [`User`] in the order [`user_from_row`] reads.
macro_rules! user_select {
    () => {
        "SELECT id, username, password_hash, totp_secret, disabled, created_at FROM users"
    };
}
pub(super) use user_select;

pub(super) fn user_from_row(row: &Row) -> Result<User, StoreError> {
    Ok(User {
        id: get(row, 0)?,
        username: get(row, 1)?,
        password_hash: get(row, 2)?,
        totp_secret_sealed: get(row, 3)?,
        disabled: get(row, 4)?,
        created_at: get(row, 5)?,
    })
}

/// `SELECT` of a [`Credential`] in the order [`credential_from_row`] reads.
macro_rules! credential_select {
    () => {
        "SELECT id, user_id, key_type, backend, key_ref, public_key, certificate, chain, scal, \
         multisign, auth_mode, pin_hash, description, disabled, failed_attempts, locked, \
         created_at FROM credentials"
    };
}
pub(super) use credential_select;

pub(super) fn credential_from_row(row: &Row) -> Result<Credential, StoreError> {
    let key_type: &str = get(row, 2)?;
    let key_type = key_type
        .parse::<KeyType>()
        .map_err(|e| corrupt(row, 2, e))?;
    let auth_mode: &str = get(row, 10)?;
    let auth_mode =
        AuthMode::parse(auth_mode).ok_or_else(|| corrupt(row, 10, "unknown auth mode"))?;
    let scal: i64 = get(row, 8)?;
    Ok(Credential {
        id: get(row, 0)?,
        user_id: get(row, 1)?,
        key_type,
        backend: get(row, 3)?,
        key_ref: get(row, 4)?,
        public_key: get(row, 5)?,
        certificate: get(row, 6)?,
        chain: get_list(row, 7)?,
        scal: u8::try_from(scal).map_err(|_| corrupt(row, 8, "integer out of range"))?,
        multisign: get_u32(row, 9)?,
        auth_mode,
        pin_hash: get(row, 11)?,
        description: get(row, 12)?,
        disabled: get(row, 13)?,
        failed_attempts: get_u32(row, 14)?,
        locked: get(row, 15)?,
        created_at: get(row, 16)?,
    })
}

/// `SELECT` of a [`SadRecord`] in the order [`sad_from_row`] reads.
macro_rules! sad_select {
    () => {
        "SELECT sad_hash, user_id, credential_id, hash_algo, hashes, remaining, expires_at \
         FROM sads"
    };
}
pub(super) use sad_select;

pub(super) fn sad_from_row(row: &Row) -> Result<SadRecord, StoreError> {
    Ok(SadRecord {
        sad_hash: get_hash(row, 0)?,
        user_id: get(row, 1)?,
        credential_id: get(row, 2)?,
        hash_algo: get_opt_hash_algo(row, 3)?,
        hashes: get_opt_list(row, 4)?,
        remaining: get_u32(row, 5)?,
        expires_at: get(row, 6)?,
    })
}

pub(super) fn token_kind_str(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Access => "access",
        TokenKind::Refresh => "refresh",
    }
}

/// `SELECT` of a [`TokenRecord`] in the order [`token_from_row`] reads.
macro_rules! token_select {
    () => {
        "SELECT token_hash, user_id, kind, family, expires_at FROM tokens"
    };
}
pub(super) use token_select;

pub(super) fn token_from_row(row: &Row) -> Result<TokenRecord, StoreError> {
    let kind = match get::<&str>(row, 2)? {
        "access" => TokenKind::Access,
        "refresh" => TokenKind::Refresh,
        _ => return Err(corrupt(row, 2, "unknown token kind")),
    };
    Ok(TokenRecord {
        token_hash: get_hash(row, 0)?,
        user_id: get(row, 1)?,
        kind,
        family: get_opt_hash(row, 3)?,
        expires_at: get(row, 4)?,
    })
}

/// `SELECT` of an [`AuditRecord`] in the order [`audit_from_row`] reads.
macro_rules! audit_select {
    () => {
        "SELECT seq, time_ms, kind, actor, credential_id, detail, prev_hash, hash FROM audit"
    };
}
pub(super) use audit_select;

pub(super) fn audit_from_row(row: &Row) -> Result<AuditRecord, StoreError> {
    Ok(AuditRecord {
        seq: get(row, 0)?,
        time_ms: get(row, 1)?,
        kind: get(row, 2)?,
        actor: get(row, 3)?,
        credential_id: get(row, 4)?,
        detail: get(row, 5)?,
        prev_hash: get_hash(row, 6)?,
        hash: get_hash(row, 7)?,
    })
}
