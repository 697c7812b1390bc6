//! Rows ↔ records, once for both backends: the column lists of every `SELECT` (macros, so they
//! can be `concat!`ed into the literal SQL that statement caches key on), the decoders that read
//! them back, and the words stored for enums.
//!
//! Decoders never panic: a value that does not decode (unknown key type, malformed list blob,
//! out-of-range integer, a hash that is not 32 bytes) is [`StoreError::Corrupt`].

use signet_core::KeyType;

use crate::audit::{AuditRecord, ChainHead, StoredCheckpoint};
use crate::authz::{
    AuthCode, BrowserSession, CodeState, CredentialBinding, GrantScope, IssuedKind, IssuedSecret,
    OAuthClient, OobRequest, OobStatus, PushedRequest,
};
use crate::encoding::{decode_list, encode_list};
use crate::exec::Row;
use crate::{
    AuthMode, Credential, Revocation, SadRecord, SecretHash, StoreError, TokenKind, TokenRecord,
    User,
};

/// `SELECT` of a [`User`] in the order [`user`] reads.
macro_rules! user_select {
    () => {
        "SELECT id, username, password_hash, totp_secret, disabled, created_at FROM users"
    };
}
pub(crate) use user_select;

pub(crate) fn user(row: &dyn Row) -> Result<User, StoreError> {
    Ok(User {
        id: row.i64(0)?,
        username: row.string(1)?,
        password_hash: row.string(2)?,
        totp_secret_sealed: row.blob(3)?,
        disabled: row.bool(4)?,
        created_at: row.i64(5)?,
    })
}

/// `SELECT` of a [`Credential`] in the order [`credential`] reads.
macro_rules! credential_select {
    () => {
        "SELECT id, user_id, key_type, backend, key_ref, public_key, certificate, chain, scal, \
         multisign, auth_mode, pin_hash, description, disabled, failed_attempts, locked, \
         created_at FROM credentials"
    };
}
pub(crate) use credential_select;

pub(crate) fn credential(row: &dyn Row) -> Result<Credential, StoreError> {
    let key_type = row
        .str(2)?
        .parse::<KeyType>()
        .map_err(|e| row.corrupt(2, &e))?;
    let auth_mode =
        AuthMode::parse(row.str(10)?).ok_or_else(|| row.corrupt(10, &"unknown auth mode"))?;
    let scal = row.opt_u8(8)?.ok_or_else(|| row.corrupt(8, &"NULL"))?;
    Ok(Credential {
        id: row.string(0)?,
        user_id: row.i64(1)?,
        key_type,
        backend: row.string(3)?,
        key_ref: row.blob(4)?,
        public_key: row.blob(5)?,
        certificate: row.blob(6)?,
        chain: row.list(7)?,
        scal,
        multisign: row.u32(9)?,
        auth_mode,
        pin_hash: row.blob(11)?,
        description: row.opt_string(12)?,
        disabled: row.bool(13)?,
        failed_attempts: row.u32(14)?,
        locked: row.bool(15)?,
        created_at: row.i64(16)?,
    })
}

/// `SELECT` of a [`SadRecord`] in the order [`sad`] reads.
macro_rules! sad_select {
    () => {
        "SELECT sad_hash, user_id, credential_id, hash_algo, hashes, remaining, expires_at \
         FROM sads"
    };
}
pub(crate) use sad_select;

pub(crate) fn sad(row: &dyn Row) -> Result<SadRecord, StoreError> {
    Ok(SadRecord {
        sad_hash: row.hash(0)?,
        user_id: row.i64(1)?,
        credential_id: row.string(2)?,
        hash_algo: row.opt_hash_algo(3)?,
        hashes: row.opt_list(4)?,
        remaining: row.u32(5)?,
        expires_at: row.i64(6)?,
    })
}

pub(crate) fn token_kind_str(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Access => "access",
        TokenKind::Refresh => "refresh",
    }
}

/// `SELECT` of a [`TokenRecord`] in the order [`token`] reads.
macro_rules! token_select {
    () => {
        "SELECT token_hash, user_id, kind, family, expires_at FROM tokens"
    };
}
pub(crate) use token_select;

pub(crate) fn token(row: &dyn Row) -> Result<TokenRecord, StoreError> {
    let kind = match row.str(2)? {
        "access" => TokenKind::Access,
        "refresh" => TokenKind::Refresh,
        _ => return Err(row.corrupt(2, &"unknown token kind")),
    };
    Ok(TokenRecord {
        token_hash: row.hash(0)?,
        user_id: row.i64(1)?,
        kind,
        family: row.opt_hash(3)?,
        expires_at: row.i64(4)?,
    })
}

/// `SELECT` of an [`AuditRecord`] in the order [`audit`] reads.
macro_rules! audit_select {
    () => {
        "SELECT seq, chain, chain_seq, version, time_ms, kind, actor, credential_id, detail, \
         prev_hash, hash, mac FROM audit"
    };
}
pub(crate) use audit_select;

pub(crate) fn audit(row: &dyn Row) -> Result<AuditRecord, StoreError> {
    Ok(AuditRecord {
        seq: row.i64(0)?,
        chain: row.string(1)?,
        chain_seq: row.i64(2)?,
        version: row.opt_u8(3)?.unwrap_or(0),
        time_ms: row.i64(4)?,
        kind: row.string(5)?,
        actor: row.string(6)?,
        credential_id: row.opt_string(7)?,
        detail: row.string(8)?,
        prev_hash: row.hash(9)?,
        hash: row.hash(10)?,
        mac: row.opt_hash(11)?,
    })
}

/// A [`ChainHead`], from `SELECT chain, seq, hash`.
pub(crate) fn chain_head(row: &dyn Row) -> Result<ChainHead, StoreError> {
    Ok(ChainHead {
        chain: row.string(0)?,
        seq: row.i64(1)?,
        hash: row.hash(2)?,
    })
}

macro_rules! checkpoint_select {
    () => {
        "SELECT n, tree_size, note, timestamp, frontier, created_ms FROM audit_checkpoint"
    };
}
pub(crate) use checkpoint_select;

pub(crate) fn checkpoint(row: &dyn Row) -> Result<StoredCheckpoint, StoreError> {
    Ok(StoredCheckpoint {
        n: row.i64(0)?,
        tree_size: row.i64(1)?,
        note: row.string(2)?,
        timestamp: row.bytes(3)?.map(<[u8]>::to_vec),
        frontier: row.blob(4)?,
        created_ms: row.i64(5)?,
    })
}

macro_rules! revocation_select {
    () => {
        "SELECT serial, credential_id, revoked_at, reason FROM revocations"
    };
}
pub(crate) use revocation_select;

pub(crate) fn revocation(row: &dyn Row) -> Result<Revocation, StoreError> {
    Ok(Revocation {
        serial: row.blob(0)?,
        credential_id: row.string(1)?,
        revoked_at: row.i64(2)?,
        reason: row.opt_u8(3)?,
    })
}

// ---- authorization flows

/// Redirect URIs are stored as a list blob of their UTF-8 bytes.
pub(crate) fn strings_to_blob(items: &[String]) -> Vec<u8> {
    let bytes: Vec<Vec<u8>> = items.iter().map(|s| s.as_bytes().to_vec()).collect();
    encode_list(&bytes)
}

macro_rules! client_select {
    () => {
        "SELECT client_id, name, secret_hash, redirect_uris, user_id, created_at, \
         tls_certificate_sha256 FROM oauth_clients"
    };
}
pub(crate) use client_select;

pub(crate) fn client(row: &dyn Row) -> Result<OAuthClient, StoreError> {
    let uris = row.bytes(3)?.ok_or_else(|| row.corrupt(3, &"NULL"))?;
    let redirect_uris = decode_list(uris)
        .map_err(|e| row.corrupt(3, &e))?
        .into_iter()
        .map(|b| String::from_utf8(b).map_err(|_| row.corrupt(3, &"redirect URI not UTF-8")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(OAuthClient {
        client_id: row.string(0)?,
        name: row.string(1)?,
        secret_hash: row.opt_hash(2)?,
        redirect_uris,
        user_id: row.int(4)?,
        created_at: row.i64(5)?,
        tls_certificate_sha256: row.opt_hash(6)?,
    })
}

pub(crate) fn code_state_parts(state: CodeState) -> (&'static str, Option<SecretHash>) {
    match state {
        CodeState::Issued => ("issued", None),
        CodeState::Redeemed { issued } => ("redeemed", Some(issued)),
        CodeState::Burned => ("burned", None),
    }
}

macro_rules! code_select {
    () => {
        "SELECT code_hash, client_id, redirect_uri, code_challenge, user_id, scope, \
         credential_id, num_signatures, hash_algo, hashes, authorization_details, state, \
         issued_hash, expires_at, approval FROM oauth_codes"
    };
}
pub(crate) use code_select;

pub(crate) fn code(row: &dyn Row) -> Result<AuthCode, StoreError> {
    let scope = match row.str(5)? {
        "service" => GrantScope::Service,
        "credential" => GrantScope::Credential(CredentialBinding {
            credential_id: row
                .opt_string(6)?
                .ok_or_else(|| row.corrupt(6, &"no credential"))?,
            num_signatures: row.opt_u32(7)?.ok_or_else(|| row.corrupt(7, &"no count"))?,
            hash_algo: row.opt_hash_algo(8)?,
            hashes: row.opt_list(9)?,
        }),
        _ => return Err(row.corrupt(5, &"unknown scope")),
    };
    let state = match (row.str(11)?, row.opt_hash(12)?) {
        ("issued", _) => CodeState::Issued,
        ("redeemed", Some(issued)) => CodeState::Redeemed { issued },
        ("burned", _) => CodeState::Burned,
        _ => return Err(row.corrupt(11, &"unknown code state")),
    };
    Ok(AuthCode {
        code_hash: row.hash(0)?,
        client_id: row.string(1)?,
        redirect_uri: row.opt_string(2)?,
        code_challenge: row.string(3)?,
        user_id: row.i64(4)?,
        scope,
        authorization_details: row.opt_string(10)?,
        state,
        expires_at: row.i64(13)?,
        approval: row.opt_hash(14)?,
    })
}

pub(crate) fn pushed_request(row: &dyn Row) -> Result<PushedRequest, StoreError> {
    Ok(PushedRequest {
        request_hash: row.hash(0)?,
        client_id: row.string(1)?,
        params: row.string(2)?,
        expires_at: row.i64(3)?,
    })
}

pub(crate) fn issued_kind_str(kind: IssuedKind) -> &'static str {
    match kind {
        IssuedKind::AccessToken => "access_token",
        IssuedKind::RefreshToken => "refresh_token",
        IssuedKind::CredentialToken => "credential_token",
    }
}

pub(crate) fn issued(row: &dyn Row) -> Result<IssuedSecret, StoreError> {
    let kind = match row.str(2)? {
        "access_token" => IssuedKind::AccessToken,
        "refresh_token" => IssuedKind::RefreshToken,
        "credential_token" => IssuedKind::CredentialToken,
        _ => return Err(row.corrupt(2, &"unknown issued kind")),
    };
    Ok(IssuedSecret {
        secret_hash: row.hash(0)?,
        client_id: row.string(1)?,
        kind,
        expires_at: row.i64(3)?,
    })
}

pub(crate) fn browser_session(row: &dyn Row) -> Result<BrowserSession, StoreError> {
    Ok(BrowserSession {
        session_hash: row.hash(0)?,
        user_id: row.int(1)?,
        csrf_token: row.string(2)?,
        pending: row.opt_string(3)?,
        expires_at: row.i64(4)?,
    })
}

pub(crate) fn oob_status_parts(status: OobStatus) -> (&'static str, Option<SecretHash>) {
    match status {
        OobStatus::Pending => ("pending", None),
        OobStatus::Approved { .. } => ("approved", None),
        OobStatus::Denied => ("denied", None),
        OobStatus::Expired => ("expired", None),
        OobStatus::Collected { sad_hash } => ("collected", Some(sad_hash)),
    }
}

macro_rules! oob_select {
    () => {
        "SELECT id, handle_hash, user_id, credential_id, num_signatures, hash_algo, hashes, \
         description, status, sad_hash, created_at, expires_at, approval FROM oob_requests"
    };
}
pub(crate) use oob_select;

pub(crate) fn oob(row: &dyn Row) -> Result<OobRequest, StoreError> {
    let status = match (row.str(8)?, row.opt_hash(9)?) {
        ("pending", _) => OobStatus::Pending,
        ("approved", _) => OobStatus::Approved {
            approval: row.opt_hash(12)?,
        },
        ("denied", _) => OobStatus::Denied,
        ("expired", _) => OobStatus::Expired,
        ("collected", Some(sad_hash)) => OobStatus::Collected { sad_hash },
        _ => return Err(row.corrupt(8, &"unknown approval status")),
    };
    Ok(OobRequest {
        id: row.string(0)?,
        handle_hash: row.hash(1)?,
        user_id: row.i64(2)?,
        binding: CredentialBinding {
            credential_id: row.string(3)?,
            num_signatures: row.u32(4)?,
            hash_algo: row.opt_hash_algo(5)?,
            hashes: row.opt_list(6)?,
        },
        description: row.free_text(7)?,
        status,
        created_at: row.i64(10)?,
        expires_at: row.i64(11)?,
    })
}
