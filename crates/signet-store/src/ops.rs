//! Every store operation, once, for every [`Backend`]: what is read, checked and written in one
//! transaction and in which order, with the SQL text and the audit append.
//!
//! # Atomicity
//!
//! Every write that takes a [`NewAuditEvent`] appends it in the same transaction as the change
//! it describes; any error returns before `commit` and the dropped transaction rolls back, so
//! there is never a change without its audit record or half-written state.
//!
//! # Concurrency
//!
//! What must happen once, even with several processes (SQLite) or nodes (PostgreSQL) on one
//! database, is either a read-modify-write in a transaction that reads the rows it changes
//! [`for_update!`] (SQLite's `BEGIN IMMEDIATE` already excludes every other writer; PostgreSQL
//! locks those rows, so a concurrent spender waits and then reads what the first left), or a
//! single compare-and-swap statement, which PostgreSQL re-evaluates against the newest committed
//! row after waiting for a concurrent writer: the TOTP step (`… WHERE totp_last_step < $1`),
//! authorization-code and approval state machines (`… WHERE state = $from`), pushed requests
//! (`DELETE … RETURNING`). SERIALIZABLE is never used: it would fail transactions under
//! contention, and `decide_sad`'s closure is `FnOnce`, so the SAM's decision cannot be replayed.

use async_trait::async_trait;

use crate::audit::{
    AuditBreak, AuditRecord, ChainHead, GENESIS, NewAuditEvent, StoredCheckpoint, verify_chains,
};
use crate::chains::ChainGuard;
use crate::encoding::{encode_list, next_audit_record, now_secs};
use crate::exec::{
    Backend, Conn, DbError, Exec, Tx, byte_order, bytes, conflict, creation_order, for_update,
    opt_bytes,
};
use crate::records::{
    self, audit_select, checkpoint_select, credential_select, revocation_select, sad_select,
    token_kind_str, token_select, user_select,
};
use crate::{
    Credential, FailureCount, NewUser, Purged, Revocation, SadDecision, SadOutcome, SadRecord,
    SecretHash, Store, StoreError, Timestamp, TokenKind, TokenRecord, User,
};

mod authz;

// ---- the audit chains: the one place that appends to them

/// Reads `chain`'s head inside the caller's transaction, locking it on PostgreSQL (a process
/// that shares the chain's name waits; normally none does, see [`crate::chains::ChainSlots`]); creates it at
/// `(0, GENESIS)` on the chain's first append. Concurrent first appends race on the insert: the
/// loser's `ON CONFLICT DO NOTHING` waits for the winner to commit and then reads its head.
async fn lock_chain_head<E: Exec>(
    tx: &mut E,
    chain: &str,
) -> Result<(i64, SecretHash), StoreError> {
    macro_rules! head {
        () => {
            "SELECT seq, hash FROM audit_chain WHERE chain = $1"
        };
    }
    let lock = for_update!(E::DIALECT, head!());
    let pair = |r: &dyn crate::exec::Row| Ok((r.i64(0)?, r.hash(1)?));
    if let Some(head) = tx.query_opt(lock, &[&chain], pair).await? {
        return Ok(head);
    }
    tx.execute(
        "INSERT INTO audit_chain (chain, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (chain) DO NOTHING",
        &[&chain, &bytes(&GENESIS)],
    )
    .await?;
    tx.query_opt(lock, &[&chain], pair)
        .await?
        .ok_or_else(|| StoreError::Database("audit chain head vanished".into()))
}

/// Appends `event` to `chain` inside the caller's transaction. The caller takes the chain
/// ([`crate::chains::ChainSlots::acquire`]) after it has its connection (taken before, a chain could be held by
/// a task waiting for a connection held by a task waiting for a chain) and holds it until the
/// transaction has committed or rolled back, so that no other transaction of this process
/// appends to the same chain meanwhile (it would wait for the head row). Several appends in one
/// transaction use the same chain. The record's `seq` is 0: the database numbers it on insert.
pub(crate) async fn append_audit<E: Exec>(
    tx: &mut E,
    chain: &mut ChainGuard<'_>,
    event: &NewAuditEvent,
) -> Result<AuditRecord, StoreError> {
    // The head this process last wrote, if any: the write checks it against the row. When it
    // is stale (a rolled-back transaction of ours, another process on the same chain), the row
    // is read, locked, and the record appended after it.
    let mut known = *chain.head;
    for _ in 0..2 {
        let (prev_seq, prev_hash) = match known {
            Some(head) => head,
            None => lock_chain_head(tx, chain.name).await?,
        };
        let r = next_audit_record(chain.name, prev_seq, &prev_hash, chain.key, event)?;
        if append_after_head(tx, &r, prev_seq).await? {
            // Committed or not, this is the best guess for the next append (which checks it).
            *chain.head = Some((r.chain_seq, r.hash));
            return Ok(r);
        }
        known = None;
    }
    Err(StoreError::Database(format!(
        "audit chain {} head moved while locked",
        chain.name
    )))
}

/// A record already at the position the head row says is next: the head was rewound. Refuse to
/// fork the chain.
fn forked(chain: &str) -> impl FnOnce(DbError) -> StoreError + '_ {
    move |e| match e {
        DbError::Unique { .. } => {
            StoreError::Corrupt(format!("audit chain {chain} head is behind its records"))
        }
        other => other.into(),
    }
}

/// Appends `r` if its chain's head row is still `(prev_seq, r.prev_hash)`, moving the head in
/// the same step; false (and nothing written, the transaction intact) when the row says
/// otherwise. A record already at the new position (the head was rewound) is `Corrupt`. PostgreSQL does both in one statement (a data-modifying CTE: one round trip, and
/// the row lock is taken by the update itself); SQLite, whose writer is in-process, in two.
async fn append_after_head<E: Exec>(
    tx: &mut E,
    r: &AuditRecord,
    prev_seq: i64,
) -> Result<bool, StoreError> {
    let appended = match E::DIALECT {
        crate::exec::Dialect::Postgres => tx
            .execute(
                "WITH head AS (UPDATE audit_chain SET seq = $1, hash = $2 \
                 WHERE chain = $3 AND seq = $4 AND hash = $5 RETURNING chain) \
                 INSERT INTO audit (chain, chain_seq, version, time_ms, kind, actor, \
                 credential_id, detail, prev_hash, hash, mac) \
                 SELECT chain, $1, 2, $6, $7, $8, $9, $10, $5, $2, $11 FROM head",
                &[
                    &r.chain_seq,
                    &bytes(&r.hash),
                    &r.chain,
                    &prev_seq,
                    &bytes(&r.prev_hash),
                    &r.time_ms,
                    &r.kind,
                    &r.actor,
                    &r.credential_id,
                    &r.detail,
                    &opt_bytes(&r.mac),
                ],
            )
            .await
            .map_err(forked(&r.chain))?,
        crate::exec::Dialect::Sqlite => {
            let moved = tx
                .execute(
                    "UPDATE audit_chain SET seq = $1, hash = $2 \
                     WHERE chain = $3 AND seq = $4 AND hash = $5",
                    &[
                        &r.chain_seq,
                        &bytes(&r.hash),
                        &r.chain,
                        &prev_seq,
                        &bytes(&r.prev_hash),
                    ],
                )
                .await?;
            if moved == 1 {
                tx.execute(
                    "INSERT INTO audit (chain, chain_seq, version, time_ms, kind, actor, \
                     credential_id, detail, prev_hash, hash, mac) \
                     VALUES ($1, $2, 2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    &[
                        &r.chain,
                        &r.chain_seq,
                        &r.time_ms,
                        &r.kind,
                        &r.actor,
                        &r.credential_id,
                        &r.detail,
                        &bytes(&r.prev_hash),
                        &bytes(&r.hash),
                        &opt_bytes(&r.mac),
                    ],
                )
                .await
                .map_err(forked(&r.chain))?;
            }
            moved
        }
    };
    Ok(appended == 1)
}

/// Verifies every chain (hashes, links, MACs under the store's key) against the chain heads, in
/// one snapshot so that concurrent appends cannot cause a false alarm. The outer error is a
/// database failure, the inner one the first break; `Ok(Ok(n))` means `n` records verified.
/// Checkpoints are `signet-audit`'s to verify.
///
/// Boxed, like the `Store` methods, so that it is `Send` for every backend: the compiler proves
/// that here, generically, where on a concrete backend it stumbles over the connection's
/// lifetime ("implementation of `Conn` is not general enough").
pub(crate) fn verify_audit<B: Backend>(
    backend: &B,
) -> BoxFuture<'_, Result<Result<i64, AuditBreak>, StoreError>> {
    Box::pin(async move {
        let mut conn = backend.read().await?;
        let mut tx = conn.snapshot().await?;
        let heads = tx
            .query(
                "SELECT chain, seq, hash FROM audit_chain",
                &[],
                records::chain_head,
            )
            .await?;
        let sql = concat!(audit_select!(), " ORDER BY seq");
        let mut all = tx.query(sql, &[], records::audit).await?;
        tx.commit().await?;
        all.sort_by(|a, b| (&a.chain, a.chain_seq).cmp(&(&b.chain, b.chain_seq)));
        Ok(verify_chains(&all, &heads, Some(backend.chains().key())))
    })
}

/// A boxed `Send` future.
pub(crate) type BoxFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

// ---- helpers shared by several operations

/// Runs an admin change that must hit exactly the row named by `key` and audits it, in one
/// transaction: `NotFound(what)` and nothing written when no row matched (or `key` cannot even
/// be stored, see [`crate::exec::Dialect::stores`]).
async fn change_one_audited<B: Backend>(
    backend: &B,
    key: &str,
    what: impl FnOnce() -> String,
    sql: &str,
    params: &[&dyn crate::exec::Param],
    audit: &NewAuditEvent,
) -> Result<(), StoreError> {
    if !B::DIALECT.stores(key) {
        return Err(StoreError::NotFound(what()));
    }
    let mut conn = backend.write().await?;
    let mut tx = conn.begin().await?;
    let mut chain = backend.chains().acquire().await;
    if tx.execute(sql, params).await? == 0 {
        return Err(StoreError::NotFound(what()));
    }
    append_audit(&mut tx, &mut chain, audit).await?;
    tx.commit().await
}

/// A compare-and-set state change (`sql` updates at most one row, guarded by the state it
/// expects): audited, with `audit`, only when the row moved. Whether it moved is the answer: a
/// lost race is not an error.
async fn move_one_audited<B: Backend>(
    backend: &B,
    sql: &str,
    params: &[&dyn crate::exec::Param],
    audit: Option<&NewAuditEvent>,
) -> Result<bool, StoreError> {
    let mut conn = backend.write().await?;
    let mut tx = conn.begin().await?;
    let mut chain = backend.chains().acquire().await;
    let moved = tx.execute(sql, params).await? == 1;
    if moved && let Some(audit) = audit {
        append_audit(&mut tx, &mut chain, audit).await?;
    }
    tx.commit().await?;
    Ok(moved)
}

/// Resets the failure counter. Only touches the row when there is something to reset: the
/// common case writes (SQLite) or locks (PostgreSQL) no credentials row at all.
async fn reset_failures<E: Exec>(tx: &mut E, credential_id: &str) -> Result<(), StoreError> {
    let sql = "UPDATE credentials SET failed_attempts = 0 WHERE id = $1 AND failed_attempts <> 0";
    tx.execute(sql, &[&credential_id]).await?;
    Ok(())
}

/// Deletes the token; for a refresh token also every access token of its family. Whether a
/// token was deleted.
async fn delete_token<E: Exec>(tx: &mut E, hash: &SecretHash) -> Result<bool, StoreError> {
    let sql = "DELETE FROM tokens WHERE token_hash = $1 RETURNING kind";
    let kind = tx.query_opt(sql, &[&bytes(hash)], |r| r.string(0)).await?;
    let Some(kind) = kind else {
        return Ok(false);
    };
    if kind == token_kind_str(TokenKind::Refresh) {
        let sql = "DELETE FROM tokens WHERE family = $1";
        tx.execute(sql, &[&bytes(hash)]).await?;
    }
    Ok(true)
}

#[async_trait]
impl<B: Backend> Store for B {
    // ---- users

    async fn create_user(&self, user: NewUser, audit: NewAuditEvent) -> Result<User, StoreError> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let mut chain = self.chains().acquire().await;
        let created_at = now_secs();
        let id = tx
            .query_opt(
                "INSERT INTO users (username, password_hash, totp_secret, created_at) \
                 VALUES ($1, $2, $3, $4) RETURNING id",
                &[
                    &user.username,
                    &user.password_hash,
                    &user.totp_secret_sealed,
                    &created_at,
                ],
                |r| r.i64(0),
            )
            .await
            .map_err(conflict(|| format!("user {}", user.username)))?
            .ok_or_else(|| StoreError::Database("INSERT … RETURNING returned no row".into()))?;
        append_audit(&mut tx, &mut chain, &audit).await?;
        tx.commit().await?;
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
        if !B::DIALECT.stores(username) {
            return Ok(None);
        }
        let sql = concat!(user_select!(), " WHERE username = $1");
        let mut conn = self.read().await?;
        Ok(conn.query_opt(sql, &[&username], records::user).await?)
    }

    async fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        let sql = concat!(user_select!(), " WHERE id = $1");
        let mut conn = self.read().await?;
        Ok(conn.query_opt(sql, &[&id], records::user).await?)
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let sql = concat!(user_select!(), " ORDER BY id");
        let mut conn = self.read().await?;
        Ok(conn.query(sql, &[], records::user).await?)
    }

    async fn set_user_disabled(
        &self,
        username: &str,
        disabled: bool,
        audit: NewAuditEvent,
    ) -> Result<(), StoreError> {
        change_one_audited(
            self,
            username,
            || format!("user {username}"),
            "UPDATE users SET disabled = $1 WHERE username = $2",
            &[&disabled, &username],
            &audit,
        )
        .await
    }

    async fn accept_totp_step(&self, user_id: i64, step: i64) -> Result<bool, StoreError> {
        // One statement: of two nodes presenting the same step, the second waits for the first's
        // row lock, then re-checks the condition against the committed value and matches nothing.
        let sql = "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1";
        let mut conn = self.write().await?;
        Ok(conn.execute(sql, &[&step, &user_id]).await? == 1)
    }

    // ---- credentials

    async fn create_credential(
        &self,
        credential: Credential,
        audit: NewAuditEvent,
    ) -> Result<(), StoreError> {
        let c = credential;
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let mut chain = self.chains().acquire().await;
        tx.execute(
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
        .map_err(|e| match e {
            DbError::Unique { .. } => StoreError::Conflict(format!("credential {}", c.id)),
            DbError::ForeignKey(_) => StoreError::NotFound(format!("user {}", c.user_id)),
            other => other.into(),
        })?;
        append_audit(&mut tx, &mut chain, &audit).await?;
        tx.commit().await
    }

    async fn credential(&self, id: &str) -> Result<Option<Credential>, StoreError> {
        if !B::DIALECT.stores(id) {
            return Ok(None);
        }
        let sql = concat!(credential_select!(), " WHERE id = $1");
        let mut conn = self.read().await?;
        Ok(conn.query_opt(sql, &[&id], records::credential).await?)
    }

    async fn credentials_of_user(&self, user_id: i64) -> Result<Vec<Credential>, StoreError> {
        let mut conn = self.read().await?;
        let sql = creation_order!(
            B::DIALECT,
            concat!(credential_select!(), " WHERE user_id = $1")
        );
        Ok(conn.query(sql, &[&user_id], records::credential).await?)
    }

    async fn list_credentials(&self) -> Result<Vec<Credential>, StoreError> {
        let mut conn = self.read().await?;
        let sql = creation_order!(B::DIALECT, credential_select!());
        Ok(conn.query(sql, &[], records::credential).await?)
    }

    async fn set_credential_disabled(
        &self,
        id: &str,
        disabled: bool,
        audit: NewAuditEvent,
    ) -> Result<(), StoreError> {
        change_one_audited(
            self,
            id,
            || format!("credential {id}"),
            "UPDATE credentials SET disabled = $1 WHERE id = $2",
            &[&disabled, &id],
            &audit,
        )
        .await
    }

    async fn delete_credential(&self, id: &str, audit: NewAuditEvent) -> Result<(), StoreError> {
        if !B::DIALECT.stores(id) {
            return Err(StoreError::NotFound(format!("credential {id}")));
        }
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let mut chain = self.chains().acquire().await;
        let sql = "DELETE FROM sads WHERE credential_id = $1";
        tx.execute(sql, &[&id]).await?;
        let sql = "DELETE FROM credentials WHERE id = $1";
        if tx.execute(sql, &[&id]).await? == 0 {
            return Err(StoreError::NotFound(format!("credential {id}")));
        }
        append_audit(&mut tx, &mut chain, &audit).await?;
        tx.commit().await
    }

    async fn unlock_credential(&self, id: &str, audit: NewAuditEvent) -> Result<(), StoreError> {
        change_one_audited(
            self,
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
        if !B::DIALECT.stores(credential_id) {
            return Err(StoreError::NotFound(format!("credential {credential_id}")));
        }
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let mut chain = self.chains().acquire().await;
        // Locked read-modify-write: failures on two nodes at once both count, and exactly one of
        // them emits credential.locked.
        let sql = for_update!(
            B::DIALECT,
            "SELECT failed_attempts, locked FROM credentials WHERE id = $1"
        );
        let (attempts, was_locked) = tx
            .query_opt(sql, &[&credential_id], |r| Ok((r.u32(0)?, r.bool(1)?)))
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("credential {credential_id}")))?;
        let attempts = attempts.saturating_add(1);
        let locked = was_locked || attempts >= max_failures;
        tx.execute(
            "UPDATE credentials SET failed_attempts = $1, locked = $2 WHERE id = $3",
            &[&i64::from(attempts), &locked, &credential_id],
        )
        .await?;
        append_audit(&mut tx, &mut chain, &audit).await?;
        if locked && !was_locked {
            let event = NewAuditEvent {
                kind: "credential.locked".into(),
                actor: audit.actor.clone(),
                credential_id: Some(credential_id.to_owned()),
                detail: serde_json::json!({ "failed_attempts": attempts }),
            };
            append_audit(&mut tx, &mut chain, &event).await?;
        }
        tx.commit().await?;
        Ok(FailureCount { attempts, locked })
    }

    async fn record_authorization_success(
        &self,
        sad: SadRecord,
        audit: NewAuditEvent,
    ) -> Result<(), StoreError> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let mut chain = self.chains().acquire().await;
        reset_failures(&mut tx, &sad.credential_id).await?;
        tx.execute(
            "INSERT INTO sads (sad_hash, user_id, credential_id, hash_algo, hashes, remaining, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &bytes(&sad.sad_hash),
                &sad.user_id,
                &sad.credential_id,
                &sad.hash_algo.map(|h| h.oid()),
                &sad.hashes.as_deref().map(encode_list),
                &i64::from(sad.remaining),
                &sad.expires_at,
            ],
        )
        .await
        .map_err(conflict(|| "SAD".into()))?;
        append_audit(&mut tx, &mut chain, &audit).await?;
        tx.commit().await
    }

    // ---- SADs

    async fn decide_sad(
        &self,
        sad_hash: SecretHash,
        decide: Box<dyn for<'a> FnOnce(Option<&'a SadRecord>) -> SadDecision + Send>,
    ) -> Result<SadOutcome, StoreError> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let mut chain = self.chains().acquire().await;
        // What makes a SAD spendable once, across processes and nodes: the read excludes every
        // other spender until this transaction commits, who then reads the SAD as it left it.
        let sql = for_update!(B::DIALECT, concat!(sad_select!(), " WHERE sad_hash = $1"));
        let current = tx
            .query_opt(sql, &[&bytes(&sad_hash)], records::sad)
            .await?;
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
                    Some(keep) => {
                        let sql = "UPDATE sads SET remaining = $1, hashes = $2 WHERE sad_hash = $3";
                        let hashes = keep.hashes.as_deref().map(encode_list);
                        let remaining = i64::from(keep.remaining);
                        tx.execute(sql, &[&remaining, &hashes, &bytes(&sad_hash)])
                            .await?
                    }
                    None => {
                        let sql = "DELETE FROM sads WHERE sad_hash = $1";
                        tx.execute(sql, &[&bytes(&sad_hash)]).await?
                    }
                };
                append_audit(&mut tx, &mut chain, &audit).await?;
                SadOutcome::Spent(original)
            }
            SadDecision::Refuse { reason, audit } => {
                if let Some(audit) = audit {
                    append_audit(&mut tx, &mut chain, &audit).await?;
                }
                SadOutcome::Refused(reason)
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn purge_expired(&self, now: Timestamp) -> Result<Purged, StoreError> {
        // Decoupled approvals are kept an hour past their expiry so that a late authorizeCheck
        // still hears "expired".
        let approvals = now.saturating_sub(3600);
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let mut counts = [0; 7];
        for (count, (sql, at)) in counts.iter_mut().zip([
            ("DELETE FROM sads WHERE expires_at < $1", now),
            ("DELETE FROM tokens WHERE expires_at < $1", now),
            ("DELETE FROM oauth_codes WHERE expires_at < $1", now),
            (
                "DELETE FROM oauth_pushed_requests WHERE expires_at < $1",
                now,
            ),
            ("DELETE FROM oauth_issued WHERE expires_at < $1", now),
            ("DELETE FROM browser_sessions WHERE expires_at < $1", now),
            ("DELETE FROM oob_requests WHERE expires_at < $1", approvals),
        ]) {
            *count = tx.execute(sql, &[&at]).await?;
        }
        tx.commit().await?;
        Ok(Purged {
            sads: counts[0],
            rows: counts.iter().sum(),
        })
    }

    // ---- tokens

    async fn insert_token(&self, token: TokenRecord) -> Result<(), StoreError> {
        let mut conn = self.write().await?;
        conn.execute(
            "INSERT INTO tokens (token_hash, user_id, kind, family, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &bytes(&token.token_hash),
                &token.user_id,
                &token_kind_str(token.kind),
                &opt_bytes(&token.family),
                &token.expires_at,
            ],
        )
        .await
        .map_err(conflict(|| "token".into()))?;
        Ok(())
    }

    async fn access_token_user(
        &self,
        token_hash: &SecretHash,
        now: Timestamp,
    ) -> Result<Option<User>, StoreError> {
        let sql = "SELECT u.id, u.username, u.password_hash, u.totp_secret, u.disabled, \
                   u.created_at FROM tokens t JOIN users u ON u.id = t.user_id \
                   WHERE t.token_hash = $1 AND t.expires_at > $2 AND t.kind = 'access'";
        let mut conn = self.read().await?;
        Ok(conn
            .query_opt(sql, &[&bytes(token_hash), &now], records::user)
            .await?)
    }

    async fn token(
        &self,
        token_hash: &SecretHash,
        now: Timestamp,
    ) -> Result<Option<TokenRecord>, StoreError> {
        let sql = concat!(
            token_select!(),
            " WHERE token_hash = $1 AND expires_at > $2"
        );
        let mut conn = self.read().await?;
        Ok(conn
            .query_opt(sql, &[&bytes(token_hash), &now], records::token)
            .await?)
    }

    async fn revoke_token(&self, token_hash: &SecretHash) -> Result<bool, StoreError> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let revoked = delete_token(&mut tx, token_hash).await?;
        tx.commit().await?;
        Ok(revoked)
    }

    // ---- settings

    async fn setting(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        if !B::DIALECT.stores(key) {
            return Ok(None);
        }
        let sql = "SELECT value FROM settings WHERE key = $1";
        let mut conn = self.read().await?;
        Ok(conn.query_opt(sql, &[&key], |r| r.blob(0)).await?)
    }

    async fn put_setting(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let mut conn = self.write().await?;
        conn.execute(
            "INSERT INTO settings (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&key, &value],
        )
        .await?;
        Ok(())
    }

    async fn put_settings_if_absent(
        &self,
        entries: &[(&str, &[u8])],
        audit: Option<NewAuditEvent>,
    ) -> Result<bool, StoreError> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let mut chain = self.chains().acquire().await;
        for (key, value) in entries {
            // A concurrent inserter of the same key (PostgreSQL) makes this wait for its commit;
            // then the conflict inserts nothing and this transaction gives up: rolled back on
            // drop, nothing changes.
            let sql =
                "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING";
            if tx.execute(sql, &[key, value]).await? == 0 {
                return Ok(false);
            }
        }
        if let Some(audit) = &audit {
            append_audit(&mut tx, &mut chain, audit).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    // ---- certificate revocation

    async fn revoke_certificate(
        &self,
        revocation: Revocation,
        audit: NewAuditEvent,
    ) -> Result<(), StoreError> {
        let id = revocation.credential_id.as_str();
        if !B::DIALECT.stores(id) {
            return Err(StoreError::NotFound(format!("credential {id}")));
        }
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let mut chain = self.chains().acquire().await;
        let sql = "UPDATE credentials SET disabled = true WHERE id = $1";
        if tx.execute(sql, &[&id]).await? == 0 {
            return Err(StoreError::NotFound(format!("credential {id}")));
        }
        tx.execute(
            "INSERT INTO revocations (serial, credential_id, revoked_at, reason) \
             VALUES ($1, $2, $3, $4)",
            &[
                &revocation.serial,
                &id,
                &revocation.revoked_at,
                &revocation.reason.map(i64::from),
            ],
        )
        .await
        .map_err(conflict(|| {
            format!("a revocation of the certificate of credential {id}")
        }))?;
        append_audit(&mut tx, &mut chain, &audit).await?;
        tx.commit().await
    }

    async fn revocations(&self) -> Result<Vec<Revocation>, StoreError> {
        let sql = concat!(revocation_select!(), " ORDER BY revoked_at, serial");
        let mut conn = self.read().await?;
        Ok(conn.query(sql, &[], records::revocation).await?)
    }

    async fn revocation(&self, serial: &[u8]) -> Result<Option<Revocation>, StoreError> {
        let sql = concat!(revocation_select!(), " WHERE serial = $1");
        let mut conn = self.read().await?;
        Ok(conn.query_opt(sql, &[&serial], records::revocation).await?)
    }

    async fn record_issued_certificate(
        &self,
        serial: &[u8],
        kind: &str,
        issued_at: Timestamp,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO issued_certificates (serial, kind, issued_at) VALUES ($1, $2, $3) \
                   ON CONFLICT (serial) DO NOTHING";
        let mut conn = self.write().await?;
        conn.execute(sql, &[&serial, &kind, &issued_at]).await?;
        Ok(())
    }

    async fn certificate_issued(&self, serial: &[u8]) -> Result<bool, StoreError> {
        let sql = "SELECT issued_at FROM issued_certificates WHERE serial = $1";
        let mut conn = self.read().await?;
        Ok(conn
            .query_opt(sql, &[&serial], |r| r.i64(0))
            .await?
            .is_some())
    }

    // ---- audit

    async fn append_audit(&self, event: NewAuditEvent) -> Result<AuditRecord, StoreError> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let mut chain = self.chains().acquire().await;
        let mut record = append_audit(&mut tx, &mut chain, &event).await?;
        let sql = "SELECT seq FROM audit WHERE chain = $1 AND chain_seq = $2";
        let params: [&dyn crate::exec::Param; 2] = [&record.chain, &record.chain_seq];
        record.seq = tx
            .query_opt(sql, &params, |r| r.i64(0))
            .await?
            .ok_or_else(|| StoreError::Database("appended audit record vanished".into()))?;
        tx.commit().await?;
        Ok(record)
    }

    async fn audit_records(&self, after: i64, limit: u32) -> Result<Vec<AuditRecord>, StoreError> {
        let sql = concat!(audit_select!(), " WHERE seq > $1 ORDER BY seq LIMIT $2");
        let mut conn = self.read().await?;
        let limit = i64::from(limit);
        Ok(conn.query(sql, &[&after, &limit], records::audit).await?)
    }

    async fn audit_chain_records(
        &self,
        chain: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        if !B::DIALECT.stores(chain) {
            return Ok(Vec::new());
        }
        let sql = concat!(
            audit_select!(),
            " WHERE chain = $1 AND chain_seq > $2 ORDER BY chain_seq LIMIT $3"
        );
        let mut conn = self.read().await?;
        let limit = i64::from(limit);
        Ok(conn
            .query(sql, &[&chain, &after, &limit], records::audit)
            .await?)
    }

    async fn audit_chain_links(
        &self,
        chain: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<crate::audit::ChainLink>, StoreError> {
        if !B::DIALECT.stores(chain) {
            return Ok(Vec::new());
        }
        let sql = "SELECT chain_seq, prev_hash, hash, mac FROM audit \
                   WHERE chain = $1 AND chain_seq > $2 ORDER BY chain_seq LIMIT $3";
        let mut conn = self.read().await?;
        let limit = i64::from(limit);
        let link = |r: &dyn crate::exec::Row| {
            Ok(crate::audit::ChainLink {
                chain_seq: r.i64(0)?,
                prev_hash: r.hash(1)?,
                hash: r.hash(2)?,
                mac: r.opt_hash(3)?,
            })
        };
        Ok(conn.query(sql, &[&chain, &after, &limit], link).await?)
    }

    async fn audit_heads(&self) -> Result<Vec<ChainHead>, StoreError> {
        let sql = byte_order!(
            B::DIALECT,
            "SELECT chain, seq, hash FROM audit_chain ORDER BY chain"
        );
        Ok(self
            .read()
            .await?
            .query(sql, &[], records::chain_head)
            .await?)
    }

    async fn audit_chain_names(&self) -> Result<Vec<String>, StoreError> {
        let sql = byte_order!(
            B::DIALECT,
            "SELECT chain FROM audit GROUP BY chain ORDER BY chain"
        );
        Ok(self.read().await?.query(sql, &[], |r| r.string(0)).await?)
    }

    async fn audit_checkpoints(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredCheckpoint>, StoreError> {
        let sql = concat!(checkpoint_select!(), " WHERE n > $1 ORDER BY n LIMIT $2");
        let limit = i64::from(limit);
        let mut conn = self.read().await?;
        Ok(conn
            .query(sql, &[&after, &limit], records::checkpoint)
            .await?)
    }

    async fn latest_audit_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        let sql = concat!(checkpoint_select!(), " ORDER BY n DESC LIMIT 1");
        let mut conn = self.read().await?;
        Ok(conn.query_opt(sql, &[], records::checkpoint).await?)
    }

    async fn insert_audit_checkpoint(
        &self,
        checkpoint: &StoredCheckpoint,
    ) -> Result<bool, StoreError> {
        let c = checkpoint;
        let sql = "INSERT INTO audit_checkpoint (n, tree_size, note, timestamp, frontier, \
                   created_ms) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (n) DO NOTHING";
        let mut conn = self.write().await?;
        let inserted = conn
            .execute(
                sql,
                &[
                    &c.n,
                    &c.tree_size,
                    &c.note,
                    &c.timestamp,
                    &c.frontier,
                    &c.created_ms,
                ],
            )
            .await?;
        Ok(inserted == 1)
    }

    async fn take_audit_sealer_lease(
        &self,
        holder: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        let until = now_ms.saturating_add(ttl_ms);
        // One statement, a compare-and-set: the row is taken when it is free (expired) or
        // already ours; PostgreSQL re-checks the condition against a concurrent taker's commit.
        let sql = "INSERT INTO audit_sealer (id, holder, until_ms) VALUES (1, $1, $2) \
                   ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms \
                   WHERE audit_sealer.holder = excluded.holder OR audit_sealer.until_ms < $3";
        let mut conn = self.write().await?;
        Ok(conn.execute(sql, &[&holder, &until, &now_ms]).await? == 1)
    }

    async fn release_audit_sealer_lease(&self, holder: &str) -> Result<(), StoreError> {
        let sql = "UPDATE audit_sealer SET until_ms = 0 WHERE id = 1 AND holder = $1";
        self.write().await?.execute(sql, &[&holder]).await?;
        Ok(())
    }

    async fn upgrade_audit(&self) -> Result<Option<i64>, StoreError> {
        upgrade_legacy(self).await
    }
}

/// Gives the records of the single-chain log (version 1, chain `legacy`) their MACs, after
/// checking that chain end to end against its head: a chain already broken is refused (with the
/// break), never sealed. Appends an `audit.upgrade` record, in the same transaction, naming how
/// many records and which head were taken over. One transaction; a second node doing the same
/// waits for the legacy head lock and then finds nothing left to do.
async fn upgrade_legacy<B: Backend>(backend: &B) -> Result<Option<i64>, StoreError> {
    use crate::audit::{ChainVerifier, LEGACY_CHAIN};
    // Whether the legacy chain's first record still lacks its MAC: one index lookup, so that
    // every start and command after the upgrade (or of a log that never had one) costs nothing.
    // The upgrade keys the whole chain in one transaction, so the first record tells.
    let first_unkeyed = "SELECT mac FROM audit WHERE chain = 'legacy' AND chain_seq = 1";
    let pending = |r: &dyn crate::exec::Row| Ok(r.bytes(0)?.is_none());
    let mut conn = backend.read().await?;
    if conn.query_opt(first_unkeyed, &[], pending).await? != Some(true) {
        return Ok(None);
    }
    drop(conn);
    let mut conn = backend.write().await?;
    let mut tx = conn.begin().await?;
    let head_sql = for_update!(
        B::DIALECT,
        "SELECT chain, seq, hash FROM audit_chain WHERE chain = 'legacy'"
    );
    let head = tx.query_opt(head_sql, &[], records::chain_head).await?;
    // Again under the lock: another node may have upgraded meanwhile.
    if tx.query_opt(first_unkeyed, &[], pending).await? != Some(true) {
        return Ok(None);
    }
    let sql = "SELECT COUNT(*) FROM audit WHERE mac IS NULL";
    let unkeyed = tx.query_opt(sql, &[], |r| r.i64(0)).await?.unwrap_or(0);
    let sql = concat!(
        audit_select!(),
        " WHERE chain = 'legacy' ORDER BY chain_seq"
    );
    let legacy = tx.query(sql, &[], records::audit).await?;
    if legacy.len() as i64 != unkeyed {
        return Err(StoreError::Corrupt(format!(
            "{unkeyed} audit records have no MAC but the legacy chain has {}: records were \
             inserted without the audit key",
            legacy.len()
        )));
    }
    let mut verifier = ChainVerifier::new(LEGACY_CHAIN, None);
    for r in &legacy {
        verifier
            .check(r)
            .map_err(|e| StoreError::Corrupt(format!("legacy audit chain not upgraded: {e}")))?;
    }
    verifier
        .finish(head.as_ref())
        .map_err(|e| StoreError::Corrupt(format!("legacy audit chain not upgraded: {e}")))?;
    let key = backend.chains().key();
    for batch in legacy.chunks(256) {
        let macs: Vec<Vec<u8>> = batch.iter().map(|r| key.mac(&r.hash).to_vec()).collect();
        let stmts: Vec<(&str, [&dyn crate::exec::Param; 2])> = batch
            .iter()
            .zip(&macs)
            .map(|(r, mac)| {
                let params: [&dyn crate::exec::Param; 2] = [mac, &r.seq];
                ("UPDATE audit SET mac = $1 WHERE seq = $2", params)
            })
            .collect();
        let batch: Vec<crate::exec::Stmt<'_>> =
            stmts.iter().map(|(sql, p)| (*sql, &p[..])).collect();
        tx.execute_pipelined(&batch).await?;
    }
    let mut chain = backend.chains().acquire().await;
    let last = legacy.last().map(|r| (r.chain_seq, r.hash));
    let event = NewAuditEvent::new(
        "audit.upgrade",
        "system",
        None,
        serde_json::json!({
            "legacy_records": legacy.len(),
            "legacy_head_seq": last.map(|l| l.0),
            "legacy_head_hash": last.map(|l| data_encoding::HEXLOWER.encode(&l.1)),
        }),
    );
    append_audit(&mut tx, &mut chain, &event).await?;
    tx.commit().await?;
    Ok(Some(legacy.len() as i64))
}
