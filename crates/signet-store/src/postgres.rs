//! [`Store`] on PostgreSQL: several Signet nodes on one database are one service.
//!
//! # Isolation and locking
//!
//! Transactions run at PostgreSQL's default READ COMMITTED level with explicit row locks, never
//! SERIALIZABLE. Every state change that must happen once cluster-wide is either
//!
//! - a row-locked read-modify-write: `decide_sad` reads the SAD `FOR UPDATE`, lets the SAM's
//!   closure decide, then updates or deletes it, so a second node spending the same SAD waits for
//!   the first to commit and then sees the SAD spent (deleted or with fewer signatures left); the
//!   failure counter of a credential likewise; or
//! - a single compare-and-swap statement, which PostgreSQL re-evaluates against the newest
//!   committed row after waiting for a concurrent writer: the TOTP step
//!   (`... WHERE totp_last_step < $2`), authorization-code and approval state machines
//!   (`... WHERE state = $from`), pushed requests (`DELETE ... RETURNING`).
//!
//! SERIALIZABLE would give the same guarantees but fail transactions under contention and
//! require retrying them, and `decide_sad`'s closure is `FnOnce`: the SAM's decision cannot be
//! replayed. Row locks make contention wait instead of fail.
//!
//! # One audit chain for the whole cluster
//!
//! Every audited transaction locks the chain head (`SELECT seq, hash FROM audit_head WHERE id = 1
//! FOR UPDATE`) before computing its record, so appends from all nodes are serialized and the
//! chain stays linear. The head is always the last lock a transaction takes (after the rows it
//! changes) and the transaction commits right after the insert, which keeps the cluster-wide
//! critical section to about three round trips and rules out lock-order deadlocks through it.
//!
//! # Connections
//!
//! A [`deadpool_postgres`] pool per node, statements prepared once per connection. Connections
//! are plain TCP (`NoTls`): TLS to the database is out of scope; run PostgreSQL on a private
//! network or the same host. A URL with `sslmode=require` is refused at connect time. When the
//! database is unreachable every method fails with [`StoreError::Database`], which the server
//! answers with 503; a dropped transaction is rolled back by the connection.

use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{
    GenericClient, Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime, Transaction,
};
use tokio_postgres::NoTls;
use tokio_postgres::config::Host;

use crate::audit::{AuditBreak, AuditRecord, ChainVerifier, GENESIS, NewAuditEvent};
use crate::encoding::{encode_list, next_audit_record, now_secs};
use crate::{
    Credential, FailureCount, NewUser, Purged, Revocation, SadDecision, SadOutcome, SadRecord,
    SecretHash, Store, StoreError, Timestamp, TokenKind, TokenRecord, User,
};

mod authz;
mod codec;
mod schema;
#[cfg(test)]
pub(crate) mod tests;

use codec::{
    PgResult, audit_from_row, audit_select, conflict_if_duplicate, credential_from_row,
    credential_select, execute, get, get_hash, is_duplicate, is_foreign_key, map_error,
    map_pool_error, query, query_one, query_opt, sad_from_row, sad_select, storable,
    token_from_row, token_kind_str, token_select, user_from_row, user_select,
};
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

/// The PostgreSQL [`Store`]. Cheap to share behind an `Arc`; one per node.
pub struct PgStore {
    pool: Pool,
    /// `user@host:port/dbname`, for logs and errors (never the password).
    target: String,
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
        let store = Self { pool, target };
        let mut client = store.conn().await.map_err(|e| {
            StoreError::Database(format!(
                "cannot connect to PostgreSQL at {}: {e}",
                store.target
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

    /// Verifies the whole audit chain against its head in one REPEATABLE READ snapshot, so that
    /// concurrent appends from any node cannot cause a false alarm. The outer error is a
    /// database failure, the inner one the first break in the chain; `Ok(Ok(n))` means `n`
    /// records verified.
    pub async fn verify_audit(&self) -> Result<Result<i64, AuditBreak>, StoreError> {
        const PAGE: i64 = 1000;
        let mut client = self.conn().await?;
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .db()?;
        let head = read_audit_head(&tx).await?;
        let mut verifier = ChainVerifier::default();
        let mut after = i64::MIN;
        let outcome = 'pages: loop {
            let rows = query(
                &tx,
                concat!(audit_select!(), " WHERE seq > $1 ORDER BY seq LIMIT $2"),
                &[&after, &PAGE],
            )
            .await
            .db()?;
            for row in &rows {
                let record = audit_from_row(row)?;
                if let Err(e) = verifier.check(&record) {
                    break 'pages Err(e);
                }
                after = record.seq;
            }
            if rows.len() < PAGE as usize {
                break Ok(());
            }
        };
        tx.commit().await.db()?;
        Ok(outcome
            .and_then(|()| verifier.finish(head))
            .map(|()| verifier.count()))
    }

    async fn conn(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(map_pool_error)
    }

    /// Runs an admin change that must hit exactly the row named by `key` and audits it, in one
    /// transaction: `NotFound(what)` and nothing written when no row matched (or `key` cannot
    /// even be stored, e.g. it holds a NUL).
    async fn change_one_audited(
        &self,
        key: &str,
        what: impl FnOnce() -> String,
        sql: &str,
        params: &[codec::Param<'_>],
        audit: &NewAuditEvent,
    ) -> Result<(), StoreError> {
        if !storable(key) {
            return Err(StoreError::NotFound(what()));
        }
        let mut client = self.conn().await?;
        let tx = client.transaction().await.db()?;
        let changed = execute(&tx, sql, params).await.db()?;
        if changed == 0 {
            return Err(StoreError::NotFound(what()));
        }
        append_audit_tx(&tx, audit).await?;
        tx.commit().await.db()
    }

    /// A compare-and-set state change (`sql` updates at most one row, guarded by the state it
    /// expects): audited, with `audit`, only when the row moved. Whether it moved is the
    /// answer: a lost race is not an error.
    async fn move_one_audited(
        &self,
        sql: &str,
        params: &[codec::Param<'_>],
        audit: Option<&NewAuditEvent>,
    ) -> Result<bool, StoreError> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await.db()?;
        let moved = execute(&tx, sql, params).await.db()? == 1;
        if moved && let Some(audit) = audit {
            append_audit_tx(&tx, audit).await?;
        }
        tx.commit().await.db()?;
        Ok(moved)
    }
}

async fn read_audit_head<C: GenericClient>(c: &C) -> Result<Option<(i64, SecretHash)>, StoreError> {
    query_opt(c, "SELECT seq, hash FROM audit_head WHERE id = 1", &[])
        .await
        .db()?
        .map(|row| Ok((get(&row, 0)?, get_hash(&row, 1)?)))
        .transpose()
}

/// Locks the chain head for the rest of the transaction and returns it; creates it (at
/// `(0, GENESIS)`) on the very first append. Concurrent first appends race on the insert: the
/// loser's `ON CONFLICT DO NOTHING` waits for the winner to commit, and its `FOR UPDATE` then
/// reads the winner's head.
async fn lock_audit_head(tx: &Transaction<'_>) -> Result<(i64, SecretHash), StoreError> {
    const LOCK: &str = "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE";
    let row = match query_opt(tx, LOCK, &[]).await.db()? {
        Some(row) => row,
        None => {
            let genesis: &[u8] = &GENESIS;
            execute(
                tx,
                "INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, $1) \
                 ON CONFLICT (id) DO NOTHING",
                &[&genesis],
            )
            .await
            .db()?;
            query_one(tx, LOCK, &[]).await.db()?
        }
    };
    Ok((get(&row, 0)?, get_hash(&row, 1)?))
}

/// Appends `event` to the chain inside the caller's transaction, which must commit soon after:
/// it holds the cluster-wide head lock until then.
async fn append_audit_tx(
    tx: &Transaction<'_>,
    event: &NewAuditEvent,
) -> Result<AuditRecord, StoreError> {
    let (prev_seq, prev_hash) = lock_audit_head(tx).await?;
    let record = next_audit_record(prev_seq, &prev_hash, event)?;
    let (prev, hash): (&[u8], &[u8]) = (&record.prev_hash, &record.hash);
    execute(
        tx,
        "WITH appended AS ( \
             INSERT INTO audit (seq, time_ms, kind, actor, credential_id, detail, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)) \
         UPDATE audit_head SET seq = $1, hash = $8 WHERE id = 1",
        &[
            &record.seq,
            &record.time_ms,
            &record.kind,
            &record.actor,
            &record.credential_id,
            &record.detail,
            &prev,
            &hash,
        ],
    )
    .await
    .map_err(|e| {
        if is_duplicate(&e) {
            // The head lags the log: someone deleted or rewound it. Refuse to fork the chain.
            StoreError::Corrupt(format!("audit head at {prev_seq} is behind the log"))
        } else {
            map_error(e)
        }
    })?;
    Ok(record)
}

async fn credential_by_id<C: GenericClient>(
    c: &C,
    id: &str,
) -> Result<Option<Credential>, StoreError> {
    if !storable(id) {
        return Ok(None);
    }
    query_opt(c, concat!(credential_select!(), " WHERE id = $1"), &[&id])
        .await
        .db()?
        .map(|row| credential_from_row(&row))
        .transpose()
}

fn revocation_from_row(row: &tokio_postgres::Row) -> Result<Revocation, StoreError> {
    let reason: Option<i64> = get(row, 3)?;
    Ok(Revocation {
        serial: get(row, 0)?,
        credential_id: get(row, 1)?,
        revoked_at: get(row, 2)?,
        reason: reason
            .map(u8::try_from)
            .transpose()
            .map_err(|_| StoreError::Corrupt("revocation reason out of range".into()))?,
    })
}

#[async_trait]
impl Store for PgStore {
    // ---- users

    async fn create_user(&self, user: NewUser, audit: NewAuditEvent) -> Result<User, StoreError> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await.db()?;
        let created_at = now_secs();
        let row = query_one(
            &tx,
            "INSERT INTO users (username, password_hash, totp_secret, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
            &[
                &user.username,
                &user.password_hash,
                &user.totp_secret_sealed,
                &created_at,
            ],
        )
        .await
        .map_err(conflict_if_duplicate(|| format!("user {}", user.username)))?;
        let id: i64 = get(&row, 0)?;
        append_audit_tx(&tx, &audit).await?;
        tx.commit().await.db()?;
        Ok(User {
            id,
            username: user.username,
            password_hash: user.password_hash,
            totp_secret_sealed: user.totp_secret_sealed,
            disabled: false,
            created_at,
        })
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<User>, StoreError> {
        if !storable(username) {
            return Ok(None);
        }
        let client = self.conn().await?;
        query_opt(
            &client,
            concat!(user_select!(), " WHERE username = $1"),
            &[&username],
        )
        .await
        .db()?
        .map(|row| user_from_row(&row))
        .transpose()
    }

    async fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        let client = self.conn().await?;
        query_opt(&client, concat!(user_select!(), " WHERE id = $1"), &[&id])
            .await
            .db()?
            .map(|row| user_from_row(&row))
            .transpose()
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let client = self.conn().await?;
        query(&client, concat!(user_select!(), " ORDER BY id"), &[])
            .await
            .db()?
            .iter()
            .map(user_from_row)
            .collect()
    }

    async fn set_user_disabled(
        &self,
        username: &str,
        disabled: bool,
        audit: NewAuditEvent,
    ) -> Result<(), StoreError> {
        self.change_one_audited(
            username,
            || format!("user {username}"),
            "UPDATE users SET disabled = $2 WHERE username = $1",
            &[&username, &disabled],
            &audit,
        )
        .await
    }

    async fn accept_totp_step(&self, user_id: i64, step: i64) -> Result<bool, StoreError> {
        // One statement: of two nodes presenting the same step, the second waits for the first's
        // row lock, then re-checks the condition against the committed value and matches nothing.
        let client = self.conn().await?;
        let changed = execute(
            &client,
            "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2",
            &[&user_id, &step],
        )
        .await
        .db()?;
        Ok(changed == 1)
    }

    // ---- credentials

    async fn create_credential(
        &self,
        credential: Credential,
        audit: NewAuditEvent,
    ) -> Result<(), StoreError> {
        let c = credential;
        let mut client = self.conn().await?;
        let tx = client.transaction().await.db()?;
        execute(
            &tx,
            "INSERT INTO credentials (id, user_id, key_type, backend, key_ref, public_key, \
             certificate, chain, scal, multisign, auth_mode, pin_hash, description, disabled, \
             failed_attempts, locked, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
            &[
                &c.id,
                &c.user_id,
                &c.key_type.name(),
                &c.backend,
                &c.key_ref,
                &c.public_key,
                &c.certificate,
                &encode_list(&c.chain),
                &i64::from(c.scal),
                &i64::from(c.multisign),
                &c.auth_mode.as_str(),
                &c.pin_hash,
                &c.description,
                &c.disabled,
                &i64::from(c.failed_attempts),
                &c.locked,
                &c.created_at,
            ],
        )
        .await
        .map_err(|e| {
            if is_duplicate(&e) {
                StoreError::Conflict(format!("credential {}", c.id))
            } else if is_foreign_key(&e) {
                StoreError::NotFound(format!("user {}", c.user_id))
            } else {
                map_error(e)
            }
        })?;
        append_audit_tx(&tx, &audit).await?;
        tx.commit().await.db()
    }

    async fn credential(&self, id: &str) -> Result<Option<Credential>, StoreError> {
        let client = self.conn().await?;
        credential_by_id(&client, id).await
    }

    async fn credentials_of_user(&self, user_id: i64) -> Result<Vec<Credential>, StoreError> {
        let client = self.conn().await?;
        query(
            &client,
            concat!(credential_select!(), " WHERE user_id = $1 ORDER BY pos"),
            &[&user_id],
        )
        .await
        .db()?
        .iter()
        .map(credential_from_row)
        .collect()
    }

    async fn list_credentials(&self) -> Result<Vec<Credential>, StoreError> {
        let client = self.conn().await?;
        query(&client, concat!(credential_select!(), " ORDER BY pos"), &[])
            .await
            .db()?
            .iter()
            .map(credential_from_row)
            .collect()
    }

    async fn set_credential_disabled(
        &self,
        id: &str,
        disabled: bool,
        audit: NewAuditEvent,
    ) -> Result<(), StoreError> {
        self.change_one_audited(
            id,
            || format!("credential {id}"),
            "UPDATE credentials SET disabled = $2 WHERE id = $1",
            &[&id, &disabled],
            &audit,
        )
        .await
    }

    async fn delete_credential(&self, id: &str, audit: NewAuditEvent) -> Result<(), StoreError> {
        if !storable(id) {
            return Err(StoreError::NotFound(format!("credential {id}")));
        }
        let mut client = self.conn().await?;
        let tx = client.transaction().await.db()?;
        execute(&tx, "DELETE FROM sads WHERE credential_id = $1", &[&id])
            .await
            .db()?;
        let changed = execute(&tx, "DELETE FROM credentials WHERE id = $1", &[&id])
            .await
            .db()?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("credential {id}")));
        }
        append_audit_tx(&tx, &audit).await?;
        tx.commit().await.db()
    }

    async fn unlock_credential(&self, id: &str, audit: NewAuditEvent) -> Result<(), StoreError> {
        self.change_one_audited(
            id,
            || format!("credential {id}"),
            "UPDATE credentials SET locked = false, failed_attempts = 0 WHERE id = $1",
            &[&id],
            &audit,
        )
        .await
    }

    async fn record_authorization_failure(
        &self,
        credential_id: &str,
        max_failures: u32,
        audit: NewAuditEvent,
    ) -> Result<FailureCount, StoreError> {
        if !storable(credential_id) {
            return Err(StoreError::NotFound(format!("credential {credential_id}")));
        }
        let mut client = self.conn().await?;
        let tx = client.transaction().await.db()?;
        // Locked read-modify-write: failures on two nodes at once both count, and exactly one of
        // them emits credential.locked.
        let row = query_opt(
            &tx,
            "SELECT failed_attempts, locked FROM credentials WHERE id = $1 FOR UPDATE",
            &[&credential_id],
        )
        .await
        .db()?
        .ok_or_else(|| StoreError::NotFound(format!("credential {credential_id}")))?;
        let attempts = codec::get_u32(&row, 0)?.saturating_add(1);
        let was_locked: bool = get(&row, 1)?;
        let locked = was_locked || attempts >= max_failures;
        execute(
            &tx,
            "UPDATE credentials SET failed_attempts = $2, locked = $3 WHERE id = $1",
            &[&credential_id, &i64::from(attempts), &locked],
        )
        .await
        .db()?;
        append_audit_tx(&tx, &audit).await?;
        if locked && !was_locked {
            append_audit_tx(
                &tx,
                &NewAuditEvent {
                    kind: "credential.locked".into(),
                    actor: audit.actor.clone(),
                    credential_id: Some(credential_id.to_owned()),
                    detail: serde_json::json!({ "failed_attempts": attempts }),
                },
            )
            .await?;
        }
        tx.commit().await.db()?;
        Ok(FailureCount { attempts, locked })
    }

    async fn record_authorization_success(
        &self,
        sad: SadRecord,
        audit: NewAuditEvent,
    ) -> Result<(), StoreError> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await.db()?;
        // Only touch the row when there is something to reset: the common case locks no
        // credentials row at all.
        execute(
            &tx,
            "UPDATE credentials SET failed_attempts = 0 WHERE id = $1 AND failed_attempts <> 0",
            &[&sad.credential_id],
        )
        .await
        .db()?;
        let sad_hash: &[u8] = &sad.sad_hash;
        execute(
            &tx,
            "INSERT INTO sads (sad_hash, user_id, credential_id, hash_algo, hashes, remaining, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &sad_hash,
                &sad.user_id,
                &sad.credential_id,
                &sad.hash_algo.map(|h| h.oid()),
                &sad.hashes.as_deref().map(encode_list),
                &i64::from(sad.remaining),
                &sad.expires_at,
            ],
        )
        .await
        .map_err(conflict_if_duplicate(|| "SAD".into()))?;
        append_audit_tx(&tx, &audit).await?;
        tx.commit().await.db()
    }

    // ---- SADs

    async fn decide_sad(
        &self,
        sad_hash: SecretHash,
        decide: Box<dyn for<'a> FnOnce(Option<&'a SadRecord>) -> SadDecision + Send>,
    ) -> Result<SadOutcome, StoreError> {
        let key: &[u8] = &sad_hash;
        let mut client = self.conn().await?;
        let tx = client.transaction().await.db()?;
        // The row lock is what makes a SAD spendable once across nodes: a concurrent spender
        // waits here until this transaction commits, then reads the SAD as it left it.
        let current = query_opt(
            &tx,
            concat!(sad_select!(), " WHERE sad_hash = $1 FOR UPDATE"),
            &[&key],
        )
        .await
        .db()?
        .map(|row| sad_from_row(&row))
        .transpose()?;
        let outcome = match decide(current.as_ref()) {
            SadDecision::Spend { keep, audit } => {
                // Spending a SAD that does not exist is a bug in the caller; refuse it (and roll
                // back) rather than report a spend that did not happen.
                let Some(original) = current else {
                    return Err(StoreError::NotFound("SAD".into()));
                };
                match keep {
                    // Only the consumable parts change; what the SAD is bound to (user,
                    // credential, algorithm, expiry) is fixed at authorization.
                    Some(keep) => execute(
                        &tx,
                        "UPDATE sads SET remaining = $2, hashes = $3 WHERE sad_hash = $1",
                        &[
                            &key,
                            &i64::from(keep.remaining),
                            &keep.hashes.as_deref().map(encode_list),
                        ],
                    )
                    .await
                    .db()?,
                    None => execute(&tx, "DELETE FROM sads WHERE sad_hash = $1", &[&key])
                        .await
                        .db()?,
                };
                append_audit_tx(&tx, &audit).await?;
                SadOutcome::Spent(original)
            }
            SadDecision::Refuse { reason, audit } => {
                if let Some(audit) = audit {
                    append_audit_tx(&tx, &audit).await?;
                }
                SadOutcome::Refused(reason)
            }
        };
        tx.commit().await.db()?;
        Ok(outcome)
    }

    async fn purge_expired(&self, now: Timestamp) -> Result<Purged, StoreError> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await.db()?;
        let sads = execute(&tx, "DELETE FROM sads WHERE expires_at < $1", &[&now])
            .await
            .db()?;
        let tokens = execute(&tx, "DELETE FROM tokens WHERE expires_at < $1", &[&now])
            .await
            .db()?;
        let flows = authz::purge(&tx, now).await?;
        tx.commit().await.db()?;
        Ok(Purged {
            sads,
            rows: sads + tokens + flows,
        })
    }

    // ---- tokens

    async fn insert_token(&self, token: TokenRecord) -> Result<(), StoreError> {
        let client = self.conn().await?;
        let hash: &[u8] = &token.token_hash;
        let family: Option<&[u8]> = token.family.as_ref().map(|f| &f[..]);
        execute(
            &client,
            "INSERT INTO tokens (token_hash, user_id, kind, family, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &hash,
                &token.user_id,
                &token_kind_str(token.kind),
                &family,
                &token.expires_at,
            ],
        )
        .await
        .map_err(conflict_if_duplicate(|| "token".into()))?;
        Ok(())
    }

    async fn token(
        &self,
        token_hash: &SecretHash,
        now: Timestamp,
    ) -> Result<Option<TokenRecord>, StoreError> {
        let client = self.conn().await?;
        let hash: &[u8] = token_hash;
        query_opt(
            &client,
            concat!(
                token_select!(),
                " WHERE token_hash = $1 AND expires_at > $2"
            ),
            &[&hash, &now],
        )
        .await
        .db()?
        .map(|row| token_from_row(&row))
        .transpose()
    }

    async fn revoke_token(&self, token_hash: &SecretHash) -> Result<bool, StoreError> {
        let hash: &[u8] = token_hash;
        let mut client = self.conn().await?;
        let tx = client.transaction().await.db()?;
        let kind = query_opt(
            &tx,
            "DELETE FROM tokens WHERE token_hash = $1 RETURNING kind",
            &[&hash],
        )
        .await
        .db()?;
        let Some(kind) = kind else {
            return Ok(false);
        };
        if get::<&str>(&kind, 0)? == token_kind_str(TokenKind::Refresh) {
            execute(&tx, "DELETE FROM tokens WHERE family = $1", &[&hash])
                .await
                .db()?;
        }
        tx.commit().await.db()?;
        Ok(true)
    }

    // ---- settings

    async fn setting(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        if !storable(key) {
            return Ok(None);
        }
        let client = self.conn().await?;
        query_opt(
            &client,
            "SELECT value FROM settings WHERE key = $1",
            &[&key],
        )
        .await
        .db()?
        .map(|row| get(&row, 0))
        .transpose()
    }

    async fn put_setting(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let client = self.conn().await?;
        execute(
            &client,
            "INSERT INTO settings (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&key, &value],
        )
        .await
        .db()?;
        Ok(())
    }

    async fn put_settings_if_absent(
        &self,
        entries: &[(&str, &[u8])],
        audit: Option<NewAuditEvent>,
    ) -> Result<bool, StoreError> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await.db()?;
        for (key, value) in entries {
            // A concurrent inserter of the same key makes this wait for its commit; then the
            // conflict inserts nothing and this transaction gives up (rolled back on drop).
            let inserted = execute(
                &tx,
                "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                &[key, value],
            )
            .await
            .db()?;
            if inserted == 0 {
                return Ok(false);
            }
        }
        if let Some(audit) = &audit {
            append_audit_tx(&tx, audit).await?;
        }
        tx.commit().await.db()?;
        Ok(true)
    }

    // ---- certificate revocation

    async fn revoke_certificate(
        &self,
        revocation: Revocation,
        audit: NewAuditEvent,
    ) -> Result<(), StoreError> {
        let id = revocation.credential_id.as_str();
        if !storable(id) {
            return Err(StoreError::NotFound(format!("credential {id}")));
        }
        let mut client = self.conn().await?;
        let tx = client.transaction().await.db()?;
        let changed = execute(
            &tx,
            "UPDATE credentials SET disabled = true WHERE id = $1",
            &[&id],
        )
        .await
        .db()?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("credential {id}")));
        }
        let reason = revocation.reason.map(i64::from);
        execute(
            &tx,
            "INSERT INTO revocations (serial, credential_id, revoked_at, reason) \
             VALUES ($1, $2, $3, $4)",
            &[&revocation.serial, &id, &revocation.revoked_at, &reason],
        )
        .await
        .map_err(conflict_if_duplicate(|| {
            format!("a revocation of the certificate of credential {id}")
        }))?;
        append_audit_tx(&tx, &audit).await?;
        tx.commit().await.db()
    }

    async fn revocations(&self) -> Result<Vec<Revocation>, StoreError> {
        let client = self.conn().await?;
        query(
            &client,
            "SELECT serial, credential_id, revoked_at, reason FROM revocations \
             ORDER BY revoked_at, serial",
            &[],
        )
        .await
        .db()?
        .iter()
        .map(revocation_from_row)
        .collect()
    }

    async fn revocation(&self, serial: &[u8]) -> Result<Option<Revocation>, StoreError> {
        let client = self.conn().await?;
        query_opt(
            &client,
            "SELECT serial, credential_id, revoked_at, reason FROM revocations WHERE serial = $1",
            &[&serial],
        )
        .await
        .db()?
        .as_ref()
        .map(revocation_from_row)
        .transpose()
    }

    // ---- audit

    async fn append_audit(&self, event: NewAuditEvent) -> Result<AuditRecord, StoreError> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await.db()?;
        let record = append_audit_tx(&tx, &event).await?;
        tx.commit().await.db()?;
        Ok(record)
    }

    async fn audit_records(&self, after: i64, limit: u32) -> Result<Vec<AuditRecord>, StoreError> {
        let client = self.conn().await?;
        query(
            &client,
            concat!(audit_select!(), " WHERE seq > $1 ORDER BY seq LIMIT $2"),
            &[&after, &i64::from(limit)],
        )
        .await
        .db()?
        .iter()
        .map(audit_from_row)
        .collect()
    }

    async fn audit_head(&self) -> Result<Option<(i64, SecretHash)>, StoreError> {
        let client = self.conn().await?;
        read_audit_head(&client).await
    }
}
