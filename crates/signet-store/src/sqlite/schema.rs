//! Connection settings and schema migrations.
//!
//! Migrations ([`crate::migrations`]) are applied in one `BEGIN IMMEDIATE` transaction, so two
//! processes opening the same file at once cannot both migrate it.

use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use super::DbResult;
use crate::StoreError;
use crate::encoding::now_secs;
use crate::migrations::{self, Migrations};

/// How long a connection waits for a lock held by another connection before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Every statement the store uses fits (about 75, with `BEGIN`/`COMMIT`), so hot paths never
/// re-parse SQL.
const STATEMENT_CACHE: usize = 128;

/// Schema steps, in order. Never edit a released step: add a new one.
const MIGRATIONS: Migrations = &[
    (1, V1),
    (2, V2),
    (3, V3),
    (4, V4),
    (5, V5),
    (6, V6),
    (7, V7),
];

const V1: &str = "
CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    username       TEXT    NOT NULL UNIQUE,
    password_hash  TEXT    NOT NULL,
    totp_secret    BLOB    NOT NULL,
    totp_last_step INTEGER NOT NULL DEFAULT -1,
    disabled       INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL
);

CREATE TABLE credentials (
    id              TEXT    PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id),
    key_type        TEXT    NOT NULL,
    backend         TEXT    NOT NULL,
    key_ref         BLOB    NOT NULL,
    public_key      BLOB    NOT NULL,
    certificate     BLOB    NOT NULL,
    chain           BLOB    NOT NULL,
    scal            INTEGER NOT NULL,
    multisign       INTEGER NOT NULL,
    auth_mode       TEXT    NOT NULL,
    pin_hash        BLOB    NOT NULL,
    description     TEXT,
    disabled        INTEGER NOT NULL DEFAULT 0,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked          INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL
);
CREATE INDEX credentials_user ON credentials(user_id);

CREATE TABLE sads (
    sad_hash      BLOB    PRIMARY KEY,
    user_id       INTEGER NOT NULL,
    credential_id TEXT    NOT NULL,
    hash_algo     TEXT,
    hashes        BLOB,
    remaining     INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sads_expiry ON sads(expires_at);

CREATE TABLE tokens (
    token_hash BLOB    PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    family     BLOB,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX tokens_family ON tokens(family);
CREATE INDEX tokens_expiry ON tokens(expires_at);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

CREATE TABLE audit (
    seq           INTEGER PRIMARY KEY,
    time_ms       INTEGER NOT NULL,
    kind          TEXT    NOT NULL,
    actor         TEXT    NOT NULL,
    credential_id TEXT,
    detail        TEXT    NOT NULL,
    prev_hash     BLOB    NOT NULL,
    hash          BLOB    NOT NULL
);

CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash BLOB    NOT NULL
);
";

/// OAuth2 authorization server, consent pages and decoupled approval (issue 4).
const V2: &str = "
CREATE TABLE oauth_clients (
    client_id     TEXT    PRIMARY KEY,
    name          TEXT    NOT NULL,
    secret_hash   BLOB,
    redirect_uris BLOB    NOT NULL,
    user_id       INTEGER REFERENCES users(id),
    created_at    INTEGER NOT NULL
);

CREATE TABLE oauth_codes (
    code_hash             BLOB    PRIMARY KEY,
    client_id             TEXT    NOT NULL,
    redirect_uri          TEXT,
    code_challenge        TEXT    NOT NULL,
    user_id               INTEGER NOT NULL,
    scope                 TEXT    NOT NULL,
    credential_id         TEXT,
    num_signatures        INTEGER,
    hash_algo             TEXT,
    hashes                BLOB,
    authorization_details TEXT,
    state                 TEXT    NOT NULL,
    issued_hash           BLOB,
    expires_at            INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX oauth_codes_expiry ON oauth_codes(expires_at);

CREATE TABLE oauth_pushed_requests (
    request_hash BLOB    PRIMARY KEY,
    client_id    TEXT    NOT NULL,
    params       TEXT    NOT NULL,
    expires_at   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX oauth_pushed_requests_expiry ON oauth_pushed_requests(expires_at);

CREATE TABLE oauth_issued (
    secret_hash BLOB    PRIMARY KEY,
    client_id   TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX oauth_issued_expiry ON oauth_issued(expires_at);

CREATE TABLE browser_sessions (
    session_hash BLOB    PRIMARY KEY,
    user_id      INTEGER,
    csrf_token   TEXT    NOT NULL,
    pending      TEXT,
    expires_at   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX browser_sessions_expiry ON browser_sessions(expires_at);

CREATE TABLE oob_requests (
    id             TEXT    PRIMARY KEY,
    handle_hash    BLOB    NOT NULL UNIQUE,
    user_id        INTEGER NOT NULL,
    credential_id  TEXT    NOT NULL,
    num_signatures INTEGER NOT NULL,
    hash_algo      TEXT,
    hashes         BLOB,
    description    TEXT,
    status         TEXT    NOT NULL,
    sad_hash       BLOB,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
);
CREATE INDEX oob_requests_user ON oob_requests(user_id, status);
CREATE INDEX oob_requests_expiry ON oob_requests(expires_at);
";

/// Mutual TLS (issue 6): a client may be identified by its TLS certificate's SHA-256. The
/// unique index both finds the client per request and refuses one certificate for two clients
/// (SQLite indexes allow many NULLs).
const V3: &str = "
ALTER TABLE oauth_clients ADD COLUMN tls_certificate_sha256 BLOB;
CREATE UNIQUE INDEX oauth_clients_tls_certificate ON oauth_clients(tls_certificate_sha256);
";

/// Certificate revocation by the embedded CA (issue 5: CRL and OCSP). No foreign key to
/// credentials: a revocation outlives the credential's deletion.
const V4: &str = "
CREATE TABLE revocations (
    serial        BLOB    PRIMARY KEY,
    credential_id TEXT    NOT NULL,
    revoked_at    INTEGER NOT NULL,
    reason        INTEGER
) WITHOUT ROWID;
CREATE INDEX revocations_time ON revocations(revoked_at, serial);
";

/// The audit log in several keyed chains with sealed checkpoints (issue 13). The single chain
/// of earlier versions becomes the chain `legacy`, its records unchanged (version 1, no MAC
/// until [`crate::Store::upgrade_audit`]); `seq` stays the record's number (new records get
/// the next rowid).
const V5: &str = "
ALTER TABLE audit ADD COLUMN chain TEXT NOT NULL DEFAULT 'legacy';
ALTER TABLE audit ADD COLUMN chain_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE audit ADD COLUMN mac BLOB;
UPDATE audit SET chain_seq = seq;
CREATE UNIQUE INDEX audit_chain_position ON audit(chain, chain_seq);
CREATE TABLE audit_chain (
    chain TEXT    PRIMARY KEY,
    seq   INTEGER NOT NULL,
    hash  BLOB    NOT NULL
) WITHOUT ROWID;
INSERT INTO audit_chain (chain, seq, hash) SELECT 'legacy', seq, hash FROM audit_head WHERE seq > 0;
DROP TABLE audit_head;
CREATE TABLE audit_checkpoint (
    n          INTEGER PRIMARY KEY,
    tree_size  INTEGER NOT NULL,
    note       TEXT    NOT NULL,
    timestamp  BLOB,
    frontier   BLOB    NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE audit_sealer (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    holder   TEXT    NOT NULL,
    until_ms INTEGER NOT NULL
);
";

/// The SAM's seal of a signer's approval, kept with the authorization code or decoupled
/// request that carries it until the SAD is issued.
const V6: &str = "
ALTER TABLE oauth_codes ADD COLUMN approval BLOB;
ALTER TABLE oob_requests ADD COLUMN approval BLOB;
";

/// Every certificate the embedded CA issued, by serial: OCSP answers `unknown` for any other
/// serial (issue 17). Filled as certificates are issued; a database from before this version
/// is indexed once at start (signet-service `pki::index_issued_certificates`).
const V7: &str = "
CREATE TABLE issued_certificates (
    serial    BLOB    PRIMARY KEY,
    kind      TEXT    NOT NULL,
    issued_at INTEGER NOT NULL
) WITHOUT ROWID;
";

/// How durable a commit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=NORMAL`: in WAL mode a commit survives a crash of the process but the last
    /// transactions may be lost on power failure or an OS crash (the WAL is fsynced only at
    /// checkpoints). The database never becomes inconsistent either way.
    #[default]
    Normal,
    /// `synchronous=FULL`: every commit is fsynced, surviving power loss, at a throughput cost.
    Full,
}

/// Settings shared by the writer and the readers.
pub(super) fn configure_common(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT).db()?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

/// Settings of the writer connection; `file` selects WAL (an in-memory database has no WAL).
pub(super) fn configure_writer(
    conn: &Connection,
    durability: Durability,
    file: bool,
) -> Result<(), StoreError> {
    configure_common(conn)?;
    if file {
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .db()?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Database(format!(
                "cannot enable WAL journal mode (got {mode})"
            )));
        }
    }
    let sync = match durability {
        Durability::Normal => "NORMAL",
        Durability::Full => "FULL",
    };
    conn.pragma_update(None, "synchronous", sync).db()?;
    conn.pragma_update(None, "foreign_keys", "ON").db()?;
    Ok(())
}

/// The newest schema version this build knows.
pub fn latest_version() -> i64 {
    migrations::latest(MIGRATIONS)
}

/// Brings the schema up to [`latest_version`], refusing a database from a newer Signet.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .db()?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version    INTEGER PRIMARY KEY,
             applied_at INTEGER NOT NULL
         )",
    )
    .db()?;
    let current: i64 = tx
        .query_row(migrations::CURRENT_VERSION, [], |row| row.get(0))
        .db()?;
    for (version, sql) in migrations::pending(MIGRATIONS, current)? {
        tx.execute_batch(sql).db()?;
        let applied = (version, now_secs());
        tx.execute(migrations::RECORD_VERSION, applied).db()?;
        tracing::info!(version, "applied store schema migration");
    }
    tx.commit().db()
}
