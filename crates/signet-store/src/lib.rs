//! Persistence for Signet behind one [`Store`] trait.
//!
//! The store is deliberately dumb about policy and strict about atomicity: the SAM decides
//! whether a SAD may be spent ([`SadDecision`]) and the store applies that decision, the SAD
//! update and the audit row in one transaction, so two requests (or, later, two nodes) can never
//! both spend the same SAD and no signature exists without its audit record.
//!
//! Secrets are never stored in clear: SADs and tokens by SHA-256, passwords by argon2, PINs by
//! a keyed hash, TOTP secrets sealed under the master key — the store only sees bytes.

#![forbid(unsafe_code)]

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use signet_core::{HashAlgorithm, KeyType};

pub mod audit;
pub mod authz;
#[cfg(test)]
mod bench_tests;
mod chains;
#[cfg(test)]
mod compat_tests;
#[cfg(test)]
mod conformance;
mod encoding;
mod exec;
mod migrations;
mod ops;
pub mod postgres;
mod records;
pub mod sqlite;

pub use audit::{
    AuditBreak, AuditConfig, AuditKey, AuditRecord, ChainHead, NewAuditEvent, StoredCheckpoint,
    verify_chains,
};
pub use authz::{
    AuthCode, AuthzStore, BrowserSession, CodeState, CredentialBinding, GrantScope, IssuedKind,
    IssuedSecret, OAuthClient, OobRequest, OobStatus, PushedRequest,
};
pub use postgres::{PgOptions, PgStore};
pub use sqlite::{SqliteOptions, SqliteStore};

/// Unix time in seconds.
pub type Timestamp = i64;
/// SHA-256 of a secret (SAD, token).
pub type SecretHash = [u8; 32];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key already exists (username, credential ID).
    #[error("{0} already exists")]
    Conflict(String),
    /// The named row does not exist (admin operations).
    #[error("{0} not found")]
    NotFound(String),
    /// The database failed or is unreachable; the operation was rolled back.
    #[error("database error: {0}")]
    Database(String),
    /// Stored data cannot be decoded (a bug or tampering).
    #[error("corrupt record: {0}")]
    Corrupt(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    /// argon2 PHC string.
    pub password_hash: String,
    /// TOTP secret sealed under the master key.
    pub totp_secret_sealed: Vec<u8>,
    pub disabled: bool,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub password_hash: String,
    pub totp_secret_sealed: Vec<u8>,
}

/// How a credential is authorized (CSC `auth.mode` / v1 `authMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Factors sent to credentials/authorize.
    Explicit,
    /// The signer authorizes on Signet's OAuth2 consent page (CSC `oauth2code`);
    /// credentials/authorize is refused.
    #[serde(rename = "oauth2code")]
    OAuth2Code,
    /// credentials/authorize answers 202 with a handle and the signer approves on Signet's
    /// approval page (out of band); the client collects the SAD with authorizeCheck.
    Oob,
}

impl AuthMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Explicit => "explicit",
            Self::OAuth2Code => "oauth2code",
            Self::Oob => "oob",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "explicit" => Some(Self::Explicit),
            "oauth2code" => Some(Self::OAuth2Code),
            "oob" => Some(Self::Oob),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// The CSC credentialID: random, URL-safe.
    pub id: String,
    pub user_id: i64,
    pub key_type: KeyType,
    /// Key module backend that holds the key ("software", "pkcs11").
    pub backend: String,
    /// Opaque key handle from the key module.
    pub key_ref: Vec<u8>,
    /// DER SubjectPublicKeyInfo.
    pub public_key: Vec<u8>,
    /// DER signer certificate.
    pub certificate: Vec<u8>,
    /// DER issuer chain, nearest first (for the embedded CA: just the CA certificate).
    pub chain: Vec<Vec<u8>>,
    /// Sole control assurance level, 1 or 2.
    pub scal: u8,
    /// Maximum signatures one authorization may cover.
    pub multisign: u32,
    pub auth_mode: AuthMode,
    /// Keyed hash of the credential PIN.
    pub pin_hash: Vec<u8>,
    pub description: Option<String>,
    pub disabled: bool,
    /// Consecutive failed authorizations since the last success or unlock.
    pub failed_attempts: u32,
    pub locked: bool,
    pub created_at: Timestamp,
}

/// A SAD as the store keeps it: only its hash, and everything it is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SadRecord {
    pub sad_hash: SecretHash,
    pub user_id: i64,
    pub credential_id: String,
    /// Hash algorithm the bound hashes were computed with (SCAL2).
    pub hash_algo: Option<HashAlgorithm>,
    /// The digests still authorized (a multiset); `None` for SCAL1 SADs bound to no hashes.
    pub hashes: Option<Vec<Vec<u8>>>,
    /// Signatures still allowed.
    pub remaining: u32,
    pub expires_at: Timestamp,
}

/// Why the SAM refused to spend a SAD; the store reports it back unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SadRefusal {
    /// No such SAD (never issued, already spent, or belongs to someone else).
    Unknown,
    Expired,
    /// The SAD belongs to another credential.
    WrongCredential,
    /// More signatures than the SAD has left.
    TooMany,
    /// A presented hash is not among those authorized.
    HashNotAuthorized,
    /// The hash algorithm differs from the one authorized.
    HashAlgorithm,
}

/// The SAM's verdict on a SAD, applied by [`Store::decide_sad`] in one transaction.
#[derive(Debug, Clone)]
pub enum SadDecision {
    /// Spend it: store `keep` in its place (fewer remaining signatures and hashes) or delete the
    /// SAD when `keep` is `None`, and append `audit`.
    Spend {
        keep: Option<SadRecord>,
        audit: NewAuditEvent,
    },
    /// Leave the SAD untouched, append `audit` if any, and report `reason`.
    Refuse {
        reason: SadRefusal,
        audit: Option<NewAuditEvent>,
    },
}

/// What `decide_sad` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SadOutcome {
    /// Spent; carries the record as it was before spending.
    Spent(SadRecord),
    Refused(SadRefusal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Access,
    Refresh,
}

/// A bearer token as stored: only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub token_hash: SecretHash,
    pub user_id: i64,
    pub kind: TokenKind,
    /// For access tokens issued from a refresh token (or alongside one): that refresh token's
    /// hash, so revoking the refresh token revokes them too.
    pub family: Option<SecretHash>,
    pub expires_at: Timestamp,
}

/// What [`Store::purge_expired`] deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Purged {
    /// Expired SADs (including credential-scoped OAuth2 tokens): they count as expired SADs in
    /// the metrics, next to those refused at signHash for being expired.
    pub sads: u64,
    /// Every row deleted, SADs included.
    pub rows: u64,
}

/// A certificate the embedded CA has revoked (RFC 5280 §5.3, RFC 6960 §2.2). Kept after the
/// credential is deleted: the certificate still exists in signatures made with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// Serial number of the revoked certificate: the content octets of its DER INTEGER.
    pub serial: Vec<u8>,
    /// The credential the certificate belonged to.
    pub credential_id: String,
    pub revoked_at: Timestamp,
    /// CRLReason code (RFC 5280 §5.3.1); `None` = unspecified.
    pub reason: Option<u8>,
}

/// The failure counter after a failed authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureCount {
    pub attempts: u32,
    /// True when this failure locked the credential (or it was already locked).
    pub locked: bool,
}

/// Everything Signet persists. Implementations make each method atomic.
#[async_trait]
pub trait Store: AuthzStore + Send + Sync {
    // ---- users
    async fn create_user(&self, user: NewUser, audit: NewAuditEvent) -> Result<User, StoreError>;
    async fn user_by_name(&self, username: &str) -> Result<Option<User>, StoreError>;
    async fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError>;
    async fn list_users(&self) -> Result<Vec<User>, StoreError>;
    /// Fails with `NotFound` for an unknown username.
    async fn set_user_disabled(
        &self,
        username: &str,
        disabled: bool,
        audit: NewAuditEvent,
    ) -> Result<(), StoreError>;
    /// Records that TOTP time step `step` was used by `user_id`. Returns false (and records
    /// nothing) when a step >= `step` was already accepted: each code is accepted once.
    async fn accept_totp_step(&self, user_id: i64, step: i64) -> Result<bool, StoreError>;

    // ---- credentials
    async fn create_credential(
        &self,
        credential: Credential,
        audit: NewAuditEvent,
    ) -> Result<(), StoreError>;
    async fn credential(&self, id: &str) -> Result<Option<Credential>, StoreError>;
    async fn credentials_of_user(&self, user_id: i64) -> Result<Vec<Credential>, StoreError>;
    async fn list_credentials(&self) -> Result<Vec<Credential>, StoreError>;
    /// Fails with `NotFound` for an unknown ID.
    async fn set_credential_disabled(
        &self,
        id: &str,
        disabled: bool,
        audit: NewAuditEvent,
    ) -> Result<(), StoreError>;
    /// Deletes the credential and every SAD issued for it, appending `audit`. Fails with
    /// `NotFound` for an unknown ID. The caller destroys the key in the key module first.
    async fn delete_credential(&self, id: &str, audit: NewAuditEvent) -> Result<(), StoreError>;
    /// Clears the lock and the failure counter. Fails with `NotFound` for an unknown ID.
    async fn unlock_credential(&self, id: &str, audit: NewAuditEvent) -> Result<(), StoreError>;
    /// Increments the failure counter, locking the credential when it reaches `max_failures`;
    /// appends `audit`, plus a `credential.locked` event when this failure locks it.
    async fn record_authorization_failure(
        &self,
        credential_id: &str,
        max_failures: u32,
        audit: NewAuditEvent,
    ) -> Result<FailureCount, StoreError>;
    /// Resets the failure counter, inserts the SAD and appends `audit`, atomically.
    async fn record_authorization_success(
        &self,
        sad: SadRecord,
        audit: NewAuditEvent,
    ) -> Result<(), StoreError>;

    // ---- SADs
    /// Loads the SAD (None if unknown), lets `decide` judge it, and applies the decision in the
    /// same transaction. Expired SADs are still passed to `decide` so it can say "expired".
    async fn decide_sad(
        &self,
        sad_hash: SecretHash,
        decide: Box<dyn for<'a> FnOnce(Option<&'a SadRecord>) -> SadDecision + Send>,
    ) -> Result<SadOutcome, StoreError>;
    /// Deletes SADs, tokens and authorization-flow records that expired before `now`.
    async fn purge_expired(&self, now: Timestamp) -> Result<Purged, StoreError>;

    // ---- tokens
    async fn insert_token(&self, token: TokenRecord) -> Result<(), StoreError>;
    /// The token if it exists and has not expired at `now`.
    async fn token(
        &self,
        token_hash: &SecretHash,
        now: Timestamp,
    ) -> Result<Option<TokenRecord>, StoreError>;
    /// The user of a live access token (not a refresh token), in one read: what every API call
    /// with a service token needs first.
    async fn access_token_user(
        &self,
        token_hash: &SecretHash,
        now: Timestamp,
    ) -> Result<Option<User>, StoreError>;
    /// Deletes the token; for a refresh token also every access token of its family.
    /// Returns false if no such token existed.
    async fn revoke_token(&self, token_hash: &SecretHash) -> Result<bool, StoreError>;

    // ---- settings (embedded CA state, schema facts)
    async fn setting(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    async fn put_setting(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Inserts every entry and appends `audit`, in one transaction, unless one of the keys
    /// already exists: then nothing changes and the result is false. State that several nodes
    /// may try to create at once (the embedded CA) thus gets exactly one creator, whose values
    /// the others read back.
    async fn put_settings_if_absent(
        &self,
        entries: &[(&str, &[u8])],
        audit: Option<NewAuditEvent>,
    ) -> Result<bool, StoreError>;

    // ---- certificate revocation (embedded CA: CRL and OCSP)
    /// Records `revocation`, disables its credential and appends `audit`, atomically. Fails
    /// with `NotFound` for an unknown credential and `Conflict` when the serial is already
    /// revoked (then nothing changes).
    async fn revoke_certificate(
        &self,
        revocation: Revocation,
        audit: NewAuditEvent,
    ) -> Result<(), StoreError>;
    /// Every revocation, ordered by revocation time then serial: the entries of the CRL.
    async fn revocations(&self) -> Result<Vec<Revocation>, StoreError>;
    /// The revocation of the certificate with this serial, if revoked (OCSP).
    async fn revocation(&self, serial: &[u8]) -> Result<Option<Revocation>, StoreError>;
    /// Records that the embedded CA issued a certificate with `serial` (content octets of
    /// its serialNumber), of `kind` ("ca", "signer", "tsa", "audit"). Recording a serial again
    /// changes nothing.
    async fn record_issued_certificate(
        &self,
        serial: &[u8],
        kind: &str,
        issued_at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Whether the embedded CA issued a certificate with `serial` (OCSP: `unknown` if not).
    async fn certificate_issued(&self, serial: &[u8]) -> Result<bool, StoreError>;

    // ---- audit
    /// Appends one event on its own (the operations above append theirs in their own
    /// transaction).
    async fn append_audit(&self, event: NewAuditEvent) -> Result<AuditRecord, StoreError>;
    /// Records with `seq > after`, in order of `seq`, at most `limit`.
    async fn audit_records(&self, after: i64, limit: u32) -> Result<Vec<AuditRecord>, StoreError>;
    /// Records of `chain` with `chain_seq > after`, in chain order, at most `limit`.
    async fn audit_chain_records(
        &self,
        chain: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError>;
    /// [`audit::ChainLink`]s of `chain` with `chain_seq > after`, in chain order, at most
    /// `limit`: what the sealer checks, without the records' text.
    async fn audit_chain_links(
        &self,
        chain: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<audit::ChainLink>, StoreError>;
    /// Every chain's head as the chain table keeps it, by name. A head is updated in the
    /// transaction that appends, so every record up to it is visible once the head is.
    async fn audit_heads(&self) -> Result<Vec<ChainHead>, StoreError>;
    /// The names of the chains that have records, by name (a chain whose head row was deleted
    /// still shows up here).
    async fn audit_chain_names(&self) -> Result<Vec<String>, StoreError>;
    /// Checkpoints with `n > after`, in order, at most `limit`.
    async fn audit_checkpoints(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredCheckpoint>, StoreError>;
    async fn latest_audit_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError>;
    /// Stores a checkpoint unless one with its `n` exists (another sealer was first): then
    /// nothing changes and the answer is false. The log never forks.
    async fn insert_audit_checkpoint(
        &self,
        checkpoint: &StoredCheckpoint,
    ) -> Result<bool, StoreError>;
    /// Takes or renews the sealer lease for `ttl_ms` when it is free, expired or already
    /// `holder`'s: at most one sealer works at a time across all nodes.
    async fn take_audit_sealer_lease(
        &self,
        holder: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<bool, StoreError>;
    /// Gives the lease up (clean shutdown), so another node takes over at once.
    async fn release_audit_sealer_lease(&self, holder: &str) -> Result<(), StoreError>;
    /// Upgrades a log written before keyed chains: verifies the single chain and gives its
    /// records MACs under this store's audit key. `Some(n)`: `n` records taken over; `None`:
    /// nothing to do. Fails with `Corrupt` (changing nothing) when that chain is broken.
    async fn upgrade_audit(&self) -> Result<Option<i64>, StoreError>;
}
