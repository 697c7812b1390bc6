//! Mapping between rows and records, and between rusqlite and store errors.
//!
//! Row mappers never panic: a value that does not decode (unknown key type, malformed list
//! blob, out-of-range integer) becomes a rusqlite conversion error, which [`DbResult::db`] turns
//! into [`StoreError::Corrupt`].

use rusqlite::types::Type;
use rusqlite::{ErrorCode, Row};
use signet_core::{HashAlgorithm, KeyType};

use crate::audit::AuditRecord;
use crate::{AuthMode, Credential, SadRecord, StoreError, TokenKind, TokenRecord, User};

pub(super) use crate::encoding::{Malformed, decode_list, encode_list, now_secs};

/// Converts rusqlite results into store results.
pub(super) trait DbResult<T> {
    fn db(self) -> Result<T, StoreError>;
}

impl<T> DbResult<T> for rusqlite::Result<T> {
    fn db(self) -> Result<T, StoreError> {
        self.map_err(map_error)
    }
}

/// rusqlite error → store error. rusqlite's messages name columns and constraints but never
/// bound parameter values, so no secret can leak through them.
pub(super) fn map_error(e: rusqlite::Error) -> StoreError {
    use rusqlite::Error as E;
    match e {
        E::FromSqlConversionFailure(..)
        | E::IntegralValueOutOfRange(..)
        | E::InvalidColumnType(..) => StoreError::Corrupt(e.to_string()),
        other => StoreError::Database(other.to_string()),
    }
}

/// [`map_error`], except that a UNIQUE violation means `what` exists already: a conflict.
pub(super) fn conflict_if_duplicate(
    what: impl FnOnce() -> String,
) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |e| {
        if is_duplicate(&e) {
            StoreError::Conflict(what())
        } else {
            map_error(e)
        }
    }
}

/// True when `e` is a UNIQUE or PRIMARY KEY violation.
pub(super) fn is_duplicate(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == ErrorCode::ConstraintViolation
                && (f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
    )
}

/// True when `e` is a FOREIGN KEY violation.
pub(super) fn is_foreign_key(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == ErrorCode::ConstraintViolation
                && f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY
    )
}

fn conversion<E>(column: usize, ty: Type, e: E) -> rusqlite::Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    rusqlite::Error::FromSqlConversionFailure(column, ty, Box::new(e))
}

fn list_at(row: &Row<'_>, idx: usize) -> rusqlite::Result<Vec<Vec<u8>>> {
    let blob: Vec<u8> = row.get(idx)?;
    decode_list(&blob).map_err(|e| conversion(idx, Type::Blob, e))
}

fn opt_list_at(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<Vec<Vec<u8>>>> {
    let blob: Option<Vec<u8>> = row.get(idx)?;
    blob.map(|b| decode_list(&b).map_err(|e| conversion(idx, Type::Blob, e)))
        .transpose()
}

// Column lists are macros so they can be `concat!`ed into literal SQL for `prepare_cached`.

/// `SELECT` of a [`User`] in the order [`user_from_row`] reads.
macro_rules! user_select {
    () => {
        "SELECT id, username, password_hash, totp_secret, disabled, created_at FROM users"
    };
}
pub(super) use user_select;

pub(super) fn user_from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get(0)?,
        username: row.get(1)?,
        password_hash: row.get(2)?,
        totp_secret_sealed: row.get(3)?,
        disabled: row.get(4)?,
        created_at: row.get(5)?,
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

pub(super) fn credential_from_row(row: &Row<'_>) -> rusqlite::Result<Credential> {
    let key_type: String = row.get(2)?;
    let key_type = key_type
        .parse::<KeyType>()
        .map_err(|e| conversion(2, Type::Text, e))?;
    let auth_mode: String = row.get(10)?;
    let auth_mode = AuthMode::parse(&auth_mode)
        .ok_or_else(|| conversion(10, Type::Text, Malformed("unknown auth mode")))?;
    Ok(Credential {
        id: row.get(0)?,
        user_id: row.get(1)?,
        key_type,
        backend: row.get(3)?,
        key_ref: row.get(4)?,
        public_key: row.get(5)?,
        certificate: row.get(6)?,
        chain: list_at(row, 7)?,
        scal: row.get(8)?,
        multisign: row.get(9)?,
        auth_mode,
        pin_hash: row.get(11)?,
        description: row.get(12)?,
        disabled: row.get(13)?,
        failed_attempts: row.get(14)?,
        locked: row.get(15)?,
        created_at: row.get(16)?,
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

pub(super) fn sad_from_row(row: &Row<'_>) -> rusqlite::Result<SadRecord> {
    let hash_algo: Option<String> = row.get(3)?;
    let hash_algo = hash_algo
        .map(|oid| HashAlgorithm::from_oid(&oid).map_err(|e| conversion(3, Type::Text, e)))
        .transpose()?;
    Ok(SadRecord {
        sad_hash: row.get(0)?,
        user_id: row.get(1)?,
        credential_id: row.get(2)?,
        hash_algo,
        hashes: opt_list_at(row, 4)?,
        remaining: row.get(5)?,
        expires_at: row.get(6)?,
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

pub(super) fn token_from_row(row: &Row<'_>) -> rusqlite::Result<TokenRecord> {
    let kind: String = row.get(2)?;
    let kind = match kind.as_str() {
        "access" => TokenKind::Access,
        "refresh" => TokenKind::Refresh,
        _ => return Err(conversion(2, Type::Text, Malformed("unknown token kind"))),
    };
    Ok(TokenRecord {
        token_hash: row.get(0)?,
        user_id: row.get(1)?,
        kind,
        family: row.get(3)?,
        expires_at: row.get(4)?,
    })
}

/// `SELECT` of an [`AuditRecord`] in the order [`audit_from_row`] reads.
macro_rules! audit_select {
    () => {
        "SELECT seq, time_ms, kind, actor, credential_id, detail, prev_hash, hash FROM audit"
    };
}
pub(super) use audit_select;

pub(super) fn audit_from_row(row: &Row<'_>) -> rusqlite::Result<AuditRecord> {
    Ok(AuditRecord {
        seq: row.get(0)?,
        time_ms: row.get(1)?,
        kind: row.get(2)?,
        actor: row.get(3)?,
        credential_id: row.get(4)?,
        detail: row.get(5)?,
        prev_hash: row.get(6)?,
        hash: row.get(7)?,
    })
}
