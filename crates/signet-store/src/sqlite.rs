//! [`Store`] on SQLite.
//!
//! # Concurrency
//!
//! One writer connection behind a mutex serializes every write, and each write runs in a
//! `BEGIN IMMEDIATE` transaction, so writes are also serialized against other processes (or
//! other [`SqliteStore`]s) opening the same file: the audit chain stays linear and a SAD can be
//! spent only once. Pure reads (tokens, credentials, users, settings, audit) go to a small pool
//! of read-only connections, which WAL mode lets run alongside the writer.
//!
//! SQLite calls are short (microseconds to a millisecond), so the async methods run them inline
//! instead of hopping to a blocking thread; no lock is held across an `.await`.
//!
//! The writes a signing request makes (tokens, TOTP steps, SAD issue and spend, their audit
//! records) first wait for their turn on an async mutex, and only then take the connection
//! lock. A request waiting to write thus yields its tokio worker to other requests instead of
//! blocking the thread: under load the writer is busy a good part of the time, and on a
//! two-core server a worker blocked on it was half the machine idle (`signet bench`, 2 cores,
//! 32 clients: flow +15 % pairs/s and a lower p99; batch signHash keeps the cores busier).
//! Rare administrative writes take the connection lock directly.
//!
//! # Durability
//!
//! The journal is WAL with `synchronous=NORMAL` by default ([`Durability::Normal`]): a committed
//! transaction survives a crash of the Signet process, and the database stays consistent on
//! power loss, but the last commits before an OS crash or power loss may be lost.
//! [`Durability::Full`] fsyncs each commit.
//!
//! # Atomicity
//!
//! Every write that takes a [`NewAuditEvent`] appends it in the same transaction as the change
//! it describes; any error rolls the whole transaction back (rusqlite's `Transaction` rolls back
//! on drop), so there is never a change without its audit record or half-written state.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use crate::audit::{AuditBreak, AuditRecord, ChainVerifier, GENESIS, NewAuditEvent};
use crate::encoding::next_audit_record;
use crate::{
    Credential, FailureCount, NewUser, Purged, Revocation, SadDecision, SadOutcome, SadRecord,
    SecretHash, Store, StoreError, Timestamp, TokenKind, TokenRecord, User,
};

mod authz;
mod codec;
mod schema;
#[cfg(test)]
mod tests;

use codec::{
    DbResult, audit_from_row, audit_select, conflict_if_duplicate, credential_from_row,
    credential_select, encode_list, is_duplicate, is_foreign_key, now_secs, sad_from_row,
    sad_select, token_from_row, token_kind_str, token_select, user_from_row, user_select,
};
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

/// The SQLite [`Store`]. Cheap to share behind an `Arc`.
pub struct SqliteStore {
    writer: Mutex<Connection>,
    /// Turns of the request-path writes, see [`SqliteStore::write_queued`].
    write_turns: tokio::sync::Mutex<()>,
    /// Empty for in-memory databases: a private memory database is visible only to its own
    /// connection, so reads go to the writer.
    readers: Box<[Mutex<Connection>]>,
    next_reader: AtomicUsize,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("readers", &self.readers.len())
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and migrates the schema.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// [`SqliteStore::open`] with explicit durability and reader pool size.
    pub fn open_with(path: &Path, options: SqliteOptions) -> Result<Self, StoreError> {
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
            write_turns: tokio::sync::Mutex::new(()),
            readers: readers.into_boxed_slice(),
            next_reader: AtomicUsize::new(0),
        })
    }

    /// A private in-memory database (tests). Reads go to the single connection.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let mut writer = Connection::open_in_memory().db()?;
        schema::configure_writer(&writer, Durability::Normal, false)?;
        schema::migrate(&mut writer)?;
        Ok(Self {
            writer: Mutex::new(writer),
            write_turns: tokio::sync::Mutex::new(()),
            readers: Box::new([]),
            next_reader: AtomicUsize::new(0),
        })
    }

    /// Verifies the whole audit chain against its head, reading both in one snapshot so that
    /// concurrent appends cannot cause a false alarm. The outer error is a database failure,
    /// the inner one the first break in the chain; `Ok(Ok(n))` means `n` records verified.
    pub fn verify_audit(&self) -> Result<Result<i64, AuditBreak>, StoreError> {
        self.read(|conn| {
            // A deferred transaction: the snapshot is taken at the first SELECT and held until
            // the end, so head and records agree.
            let tx = conn.unchecked_transaction().db()?;
            let head = read_audit_head(&tx)?;
            let mut verifier = ChainVerifier::default();
            let outcome = {
                let mut stmt = tx
                    .prepare_cached(concat!(audit_select!(), " ORDER BY seq"))
                    .db()?;
                let mut rows = stmt.query([]).db()?;
                let mut outcome = Ok(());
                while let Some(row) = rows.next().db()? {
                    let record = audit_from_row(row).db()?;
                    if let Err(e) = verifier.check(&record) {
                        outcome = Err(e);
                        break;
                    }
                }
                outcome
            };
            tx.commit().db()?;
            Ok(outcome
                .and_then(|()| verifier.finish(head))
                .map(|()| verifier.count()))
        })
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction on the writer; commits if `f` succeeds and
    /// rolls back (on drop) otherwise.
    fn write<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.writer.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .db()?;
        let out = f(&tx)?;
        tx.commit().db()?;
        Ok(out)
    }

    /// [`SqliteStore::write`] for writes on the signing request path: waits for its turn
    /// without holding up the async worker, then writes. Transactions are exactly as with
    /// `write`; only the waiting differs.
    async fn write_queued<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let _turn = self.write_turns.lock().await;
        self.write(f)
    }

    /// Runs `f` on a free reader (or waits for one), or on the writer without readers.
    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let n = self.readers.len();
        if n == 0 {
            return f(&self.writer.lock());
        }
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed) % n;
        let conn = (0..n)
            .find_map(|i| self.readers[(start + i) % n].try_lock())
            .unwrap_or_else(|| self.readers[start].lock());
        f(&conn)
    }
}

fn read_audit_head(conn: &Connection) -> Result<Option<(i64, SecretHash)>, StoreError> {
    conn.prepare_cached("SELECT seq, hash FROM audit_head WHERE id = 1")
        .db()?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()
        .db()
}

/// Runs an admin change that must hit exactly the named row and audits it: `NotFound(what)`
/// and no audit row when nothing matched.
fn change_one_audited(
    tx: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    what: impl FnOnce() -> String,
    audit: &NewAuditEvent,
) -> Result<(), StoreError> {
    let changed = tx.prepare_cached(sql).db()?.execute(params).db()?;
    if changed == 0 {
        return Err(StoreError::NotFound(what()));
    }
    append_audit_tx(tx, audit)?;
    Ok(())
}

/// Appends `event` to the chain inside the caller's transaction.
fn append_audit_tx(conn: &Connection, event: &NewAuditEvent) -> Result<AuditRecord, StoreError> {
    let (prev_seq, prev_hash) = read_audit_head(conn)?.unwrap_or((0, GENESIS));
    let record = next_audit_record(prev_seq, &prev_hash, event)?;
    conn.prepare_cached(
        "INSERT INTO audit (seq, time_ms, kind, actor, credential_id, detail, prev_hash, hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .db()?
    .execute((
        record.seq,
        record.time_ms,
        &record.kind,
        &record.actor,
        &record.credential_id,
        &record.detail,
        &record.prev_hash,
        &record.hash,
    ))
    .map_err(|e| {
        if is_duplicate(&e) {
            // The head lags the log: someone deleted or rewound it. Refuse to fork the chain.
            StoreError::Corrupt(format!("audit head at {prev_seq} is behind the log"))
        } else {
            codec::map_error(e)
        }
    })?;
    conn.prepare_cached(
        "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?1, ?2) \
         ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
    )
    .db()?
    .execute((record.seq, &record.hash))
    .db()?;
    Ok(record)
}

fn credential_by_id(conn: &Connection, id: &str) -> Result<Option<Credential>, StoreError> {
    conn.prepare_cached(concat!(credential_select!(), " WHERE id = ?1"))
        .db()?
        .query_row([id], credential_from_row)
        .optional()
        .db()
}

fn revocation_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Revocation> {
    Ok(Revocation {
        serial: row.get(0)?,
        credential_id: row.get(1)?,
        revoked_at: row.get(2)?,
        reason: row.get(3)?,
    })
}

#[async_trait]
impl Store for SqliteStore {
    // ---- users

    async fn create_user(&self, user: NewUser, audit: NewAuditEvent) -> Result<User, StoreError> {
        self.write(|tx| {
            let created_at = now_secs();
            let id = tx
                .prepare_cached(
                    "INSERT INTO users (username, password_hash, totp_secret, created_at) \
                     VALUES (?1, ?2, ?3, ?4) RETURNING id",
                )
                .db()?
                .query_row(
                    (
                        &user.username,
                        &user.password_hash,
                        &user.totp_secret_sealed,
                        created_at,
                    ),
                    |row| row.get::<_, i64>(0),
                )
                .map_err(conflict_if_duplicate(|| format!("user {}", user.username)))?;
            append_audit_tx(tx, &audit)?;
            Ok(User {
                id,
                username: user.username,
                password_hash: user.password_hash,
                totp_secret_sealed: user.totp_secret_sealed,
                disabled: false,
                created_at,
            })
        })
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(concat!(user_select!(), " WHERE username = ?1"))
                .db()?
                .query_row([username], user_from_row)
                .optional()
                .db()
        })
    }

    async fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(concat!(user_select!(), " WHERE id = ?1"))
                .db()?
                .query_row([id], user_from_row)
                .optional()
                .db()
        })
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(concat!(user_select!(), " ORDER BY id"))
                .db()?
                .query_map([], user_from_row)
                .db()?
                .collect::<rusqlite::Result<Vec<_>>>()
                .db()
        })
    }

    async fn set_user_disabled(
        &self,
        username: &str,
        disabled: bool,
        audit: NewAuditEvent,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            change_one_audited(
                tx,
                "UPDATE users SET disabled = ?2 WHERE username = ?1",
                (username, disabled),
                || format!("user {username}"),
                &audit,
            )
        })
    }

    async fn accept_totp_step(&self, user_id: i64, step: i64) -> Result<bool, StoreError> {
        self.write_queued(|tx| {
            let changed = tx
                .prepare_cached(
                    "UPDATE users SET totp_last_step = ?2 WHERE id = ?1 AND totp_last_step < ?2",
                )
                .db()?
                .execute((user_id, step))
                .db()?;
            Ok(changed == 1)
        })
        .await
    }

    // ---- credentials

    async fn create_credential(
        &self,
        credential: Credential,
        audit: NewAuditEvent,
    ) -> Result<(), StoreError> {
        let c = credential;
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO credentials (id, user_id, key_type, backend, key_ref, public_key, \
                 certificate, chain, scal, multisign, auth_mode, pin_hash, description, disabled, \
                 failed_attempts, locked, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
            )
            .db()?
            .execute(rusqlite::params![
                c.id,
                c.user_id,
                c.key_type.name(),
                c.backend,
                c.key_ref,
                c.public_key,
                c.certificate,
                encode_list(&c.chain),
                c.scal,
                c.multisign,
                c.auth_mode.as_str(),
                c.pin_hash,
                c.description,
                c.disabled,
                c.failed_attempts,
                c.locked,
                c.created_at,
            ])
            .map_err(|e| {
                if is_duplicate(&e) {
                    StoreError::Conflict(format!("credential {}", c.id))
                } else if is_foreign_key(&e) {
                    StoreError::NotFound(format!("user {}", c.user_id))
                } else {
                    codec::map_error(e)
                }
            })?;
            append_audit_tx(tx, &audit)?;
            Ok(())
        })
    }

    async fn credential(&self, id: &str) -> Result<Option<Credential>, StoreError> {
        self.read(|conn| credential_by_id(conn, id))
    }

    async fn credentials_of_user(&self, user_id: i64) -> Result<Vec<Credential>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(concat!(
                credential_select!(),
                " WHERE user_id = ?1 ORDER BY rowid"
            ))
            .db()?
            .query_map([user_id], credential_from_row)
            .db()?
            .collect::<rusqlite::Result<Vec<_>>>()
            .db()
        })
    }

    async fn list_credentials(&self) -> Result<Vec<Credential>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(concat!(credential_select!(), " ORDER BY rowid"))
                .db()?
                .query_map([], credential_from_row)
                .db()?
                .collect::<rusqlite::Result<Vec<_>>>()
                .db()
        })
    }

    async fn set_credential_disabled(
        &self,
        id: &str,
        disabled: bool,
        audit: NewAuditEvent,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            change_one_audited(
                tx,
                "UPDATE credentials SET disabled = ?2 WHERE id = ?1",
                (id, disabled),
                || format!("credential {id}"),
                &audit,
            )
        })
    }

    async fn delete_credential(&self, id: &str, audit: NewAuditEvent) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.prepare_cached("DELETE FROM sads WHERE credential_id = ?1")
                .db()?
                .execute([id])
                .db()?;
            change_one_audited(
                tx,
                "DELETE FROM credentials WHERE id = ?1",
                [id],
                || format!("credential {id}"),
                &audit,
            )
        })
    }

    async fn unlock_credential(&self, id: &str, audit: NewAuditEvent) -> Result<(), StoreError> {
        self.write(|tx| {
            change_one_audited(
                tx,
                "UPDATE credentials SET locked = 0, failed_attempts = 0 WHERE id = ?1",
                [id],
                || format!("credential {id}"),
                &audit,
            )
        })
    }

    async fn record_authorization_failure(
        &self,
        credential_id: &str,
        max_failures: u32,
        audit: NewAuditEvent,
    ) -> Result<FailureCount, StoreError> {
        self.write_queued(|tx| {
            let (attempts, was_locked): (u32, bool) = tx
                .prepare_cached("SELECT failed_attempts, locked FROM credentials WHERE id = ?1")
                .db()?
                .query_row([credential_id], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()
                .db()?
                .ok_or_else(|| StoreError::NotFound(format!("credential {credential_id}")))?;
            let attempts = attempts.saturating_add(1);
            let locked = was_locked || attempts >= max_failures;
            tx.prepare_cached(
                "UPDATE credentials SET failed_attempts = ?2, locked = ?3 WHERE id = ?1",
            )
            .db()?
            .execute((credential_id, attempts, locked))
            .db()?;
            append_audit_tx(tx, &audit)?;
            if locked && !was_locked {
                append_audit_tx(
                    tx,
                    &NewAuditEvent {
                        kind: "credential.locked".into(),
                        actor: audit.actor.clone(),
                        credential_id: Some(credential_id.to_owned()),
                        detail: serde_json::json!({ "failed_attempts": attempts }),
                    },
                )?;
            }
            Ok(FailureCount { attempts, locked })
        })
        .await
    }

    async fn record_authorization_success(
        &self,
        sad: SadRecord,
        audit: NewAuditEvent,
    ) -> Result<(), StoreError> {
        self.write_queued(|tx| {
            // Only touch the row when there is something to reset: the common case writes no
            // credentials page at all.
            tx.prepare_cached(
                "UPDATE credentials SET failed_attempts = 0 WHERE id = ?1 AND failed_attempts <> 0",
            )
            .db()?
            .execute([&sad.credential_id])
            .db()?;
            tx.prepare_cached(
                "INSERT INTO sads (sad_hash, user_id, credential_id, hash_algo, hashes, \
                 remaining, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .db()?
            .execute((
                &sad.sad_hash,
                sad.user_id,
                &sad.credential_id,
                sad.hash_algo.map(|h| h.oid()),
                sad.hashes.as_deref().map(encode_list),
                sad.remaining,
                sad.expires_at,
            ))
            .map_err(conflict_if_duplicate(|| "SAD".into()))?;
            append_audit_tx(tx, &audit)?;
            Ok(())
        })
        .await
    }

    // ---- SADs

    async fn decide_sad(
        &self,
        sad_hash: SecretHash,
        decide: Box<dyn for<'a> FnOnce(Option<&'a SadRecord>) -> SadDecision + Send>,
    ) -> Result<SadOutcome, StoreError> {
        self.write_queued(|tx| {
            let current = tx
                .prepare_cached(concat!(sad_select!(), " WHERE sad_hash = ?1"))
                .db()?
                .query_row([&sad_hash], sad_from_row)
                .optional()
                .db()?;
            match decide(current.as_ref()) {
                SadDecision::Spend { keep, audit } => {
                    // Spending a SAD that does not exist is a bug in the caller; refuse it
                    // (and roll back) rather than report a spend that did not happen.
                    let Some(original) = current else {
                        return Err(StoreError::NotFound("SAD".into()));
                    };
                    match keep {
                        // Only the consumable parts change; what the SAD is bound to (user,
                        // credential, algorithm, expiry) is fixed at authorization.
                        Some(keep) => tx
                            .prepare_cached(
                                "UPDATE sads SET remaining = ?2, hashes = ?3 WHERE sad_hash = ?1",
                            )
                            .db()?
                            .execute((
                                &sad_hash,
                                keep.remaining,
                                keep.hashes.as_deref().map(encode_list),
                            ))
                            .db()?,
                        None => tx
                            .prepare_cached("DELETE FROM sads WHERE sad_hash = ?1")
                            .db()?
                            .execute([&sad_hash])
                            .db()?,
                    };
                    append_audit_tx(tx, &audit)?;
                    Ok(SadOutcome::Spent(original))
                }
                SadDecision::Refuse { reason, audit } => {
                    if let Some(audit) = audit {
                        append_audit_tx(tx, &audit)?;
                    }
                    Ok(SadOutcome::Refused(reason))
                }
            }
        })
        .await
    }

    async fn purge_expired(&self, now: Timestamp) -> Result<Purged, StoreError> {
        self.write(|tx| {
            let sads = tx
                .prepare_cached("DELETE FROM sads WHERE expires_at < ?1")
                .db()?
                .execute([now])
                .db()?;
            let tokens = tx
                .prepare_cached("DELETE FROM tokens WHERE expires_at < ?1")
                .db()?
                .execute([now])
                .db()?;
            let flows = authz::purge(tx, now)?;
            Ok(Purged {
                sads: sads as u64,
                rows: (sads + tokens) as u64 + flows,
            })
        })
    }

    // ---- tokens

    async fn insert_token(&self, token: TokenRecord) -> Result<(), StoreError> {
        self.write_queued(|tx| {
            tx.prepare_cached(
                "INSERT INTO tokens (token_hash, user_id, kind, family, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .db()?
            .execute((
                &token.token_hash,
                token.user_id,
                token_kind_str(token.kind),
                &token.family,
                token.expires_at,
            ))
            .map_err(conflict_if_duplicate(|| "token".into()))?;
            Ok(())
        })
        .await
    }

    async fn token(
        &self,
        token_hash: &SecretHash,
        now: Timestamp,
    ) -> Result<Option<TokenRecord>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(concat!(
                token_select!(),
                " WHERE token_hash = ?1 AND expires_at > ?2"
            ))
            .db()?
            .query_row((token_hash, now), token_from_row)
            .optional()
            .db()
        })
    }

    async fn revoke_token(&self, token_hash: &SecretHash) -> Result<bool, StoreError> {
        self.write_queued(|tx| {
            let kind: Option<String> = tx
                .prepare_cached("DELETE FROM tokens WHERE token_hash = ?1 RETURNING kind")
                .db()?
                .query_row([token_hash], |row| row.get(0))
                .optional()
                .db()?;
            let Some(kind) = kind else {
                return Ok(false);
            };
            if kind == token_kind_str(TokenKind::Refresh) {
                tx.prepare_cached("DELETE FROM tokens WHERE family = ?1")
                    .db()?
                    .execute([token_hash])
                    .db()?;
            }
            Ok(true)
        })
        .await
    }

    // ---- settings

    async fn setting(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached("SELECT value FROM settings WHERE key = ?1")
                .db()?
                .query_row([key], |row| row.get(0))
                .optional()
                .db()
        })
    }

    async fn put_setting(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO settings (key, value) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .db()?
            .execute((key, value))
            .db()?;
            Ok(())
        })
    }

    async fn put_settings_if_absent(
        &self,
        entries: &[(&str, &[u8])],
        audit: Option<NewAuditEvent>,
    ) -> Result<bool, StoreError> {
        self.write(|tx| {
            // BEGIN IMMEDIATE already excludes every other writer: check, then insert.
            for (key, _) in entries {
                let exists = tx
                    .prepare_cached("SELECT 1 FROM settings WHERE key = ?1")
                    .db()?
                    .exists([key])
                    .db()?;
                if exists {
                    return Ok(false);
                }
            }
            for (key, value) in entries {
                tx.prepare_cached("INSERT INTO settings (key, value) VALUES (?1, ?2)")
                    .db()?
                    .execute((key, value))
                    .db()?;
            }
            if let Some(audit) = &audit {
                append_audit_tx(tx, audit)?;
            }
            Ok(true)
        })
    }

    // ---- certificate revocation

    async fn revoke_certificate(
        &self,
        revocation: Revocation,
        audit: NewAuditEvent,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let changed = tx
                .prepare_cached("UPDATE credentials SET disabled = 1 WHERE id = ?1")
                .db()?
                .execute([&revocation.credential_id])
                .db()?;
            if changed == 0 {
                return Err(StoreError::NotFound(format!(
                    "credential {}",
                    revocation.credential_id
                )));
            }
            tx.prepare_cached(
                "INSERT INTO revocations (serial, credential_id, revoked_at, reason) \
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .db()?
            .execute((
                &revocation.serial,
                &revocation.credential_id,
                revocation.revoked_at,
                revocation.reason,
            ))
            .map_err(conflict_if_duplicate(|| {
                format!(
                    "a revocation of the certificate of credential {}",
                    revocation.credential_id
                )
            }))?;
            append_audit_tx(tx, &audit)?;
            Ok(())
        })
    }

    async fn revocations(&self) -> Result<Vec<Revocation>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT serial, credential_id, revoked_at, reason FROM revocations \
                 ORDER BY revoked_at, serial",
            )
            .db()?
            .query_map([], revocation_from_row)
            .db()?
            .collect::<rusqlite::Result<Vec<_>>>()
            .db()
        })
    }

    async fn revocation(&self, serial: &[u8]) -> Result<Option<Revocation>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT serial, credential_id, revoked_at, reason FROM revocations \
                 WHERE serial = ?1",
            )
            .db()?
            .query_row([serial], revocation_from_row)
            .optional()
            .db()
        })
    }

    // ---- audit

    async fn append_audit(&self, event: NewAuditEvent) -> Result<AuditRecord, StoreError> {
        self.write_queued(|tx| append_audit_tx(tx, &event)).await
    }

    async fn audit_records(&self, after: i64, limit: u32) -> Result<Vec<AuditRecord>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(concat!(
                audit_select!(),
                " WHERE seq > ?1 ORDER BY seq LIMIT ?2"
            ))
            .db()?
            .query_map((after, limit), audit_from_row)
            .db()?
            .collect::<rusqlite::Result<Vec<_>>>()
            .db()
        })
    }

    async fn audit_head(&self) -> Result<Option<(i64, SecretHash)>, StoreError> {
        self.read(read_audit_head)
    }
}
