//! [`AuthzStore`] on SQLite: OAuth2 clients, codes, pushed requests, issued secrets, browser
//! sessions and decoupled approvals (schema version 2).

use async_trait::async_trait;
use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Row};
use signet_core::HashAlgorithm;

use super::codec::{
    self, DbResult, Malformed, conflict_if_duplicate, decode_list, encode_list, is_duplicate,
};
use super::{SqliteStore, append_audit_tx};
use crate::authz::{
    AuthCode, AuthzStore, BrowserSession, CodeState, CredentialBinding, GrantScope, IssuedKind,
    IssuedSecret, OAuthClient, OobRequest, OobStatus, PushedRequest,
};
use crate::{NewAuditEvent, SadRecord, SecretHash, StoreError, Timestamp, TokenKind};

fn bad(column: usize, ty: Type, what: &'static str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, ty, Box::new(Malformed(what)))
}

fn opt_list(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<Vec<Vec<u8>>>> {
    let blob: Option<Vec<u8>> = row.get(idx)?;
    blob.map(|b| decode_list(&b).map_err(|_| bad(idx, Type::Blob, "malformed list")))
        .transpose()
}

fn opt_hash_algo(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<HashAlgorithm>> {
    let oid: Option<String> = row.get(idx)?;
    oid.map(|o| HashAlgorithm::from_oid(&o).map_err(|_| bad(idx, Type::Text, "unknown hash")))
        .transpose()
}

fn strings_to_blob(items: &[String]) -> Vec<u8> {
    let bytes: Vec<Vec<u8>> = items.iter().map(|s| s.as_bytes().to_vec()).collect();
    encode_list(&bytes)
}

fn client_from_row(row: &Row<'_>) -> rusqlite::Result<OAuthClient> {
    let uris: Vec<u8> = row.get(3)?;
    let redirect_uris = decode_list(&uris)
        .map_err(|_| bad(3, Type::Blob, "malformed list"))?
        .into_iter()
        .map(|b| String::from_utf8(b).map_err(|_| bad(3, Type::Blob, "redirect URI not UTF-8")))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(OAuthClient {
        client_id: row.get(0)?,
        name: row.get(1)?,
        secret_hash: row.get(2)?,
        redirect_uris,
        user_id: row.get(4)?,
        created_at: row.get(5)?,
        tls_certificate_sha256: row.get(6)?,
    })
}

const CLIENT_SELECT: &str = "SELECT client_id, name, secret_hash, redirect_uris, user_id, \
     created_at, tls_certificate_sha256 FROM oauth_clients";

fn code_state_parts(state: CodeState) -> (&'static str, Option<SecretHash>) {
    match state {
        CodeState::Issued => ("issued", None),
        CodeState::Redeemed { issued } => ("redeemed", Some(issued)),
        CodeState::Burned => ("burned", None),
    }
}

fn code_from_row(row: &Row<'_>) -> rusqlite::Result<AuthCode> {
    let scope: String = row.get(5)?;
    let scope = match scope.as_str() {
        "service" => GrantScope::Service,
        "credential" => {
            let credential_id: Option<String> = row.get(6)?;
            let num_signatures: Option<u32> = row.get(7)?;
            GrantScope::Credential(CredentialBinding {
                credential_id: credential_id.ok_or_else(|| bad(6, Type::Null, "no credential"))?,
                num_signatures: num_signatures.ok_or_else(|| bad(7, Type::Null, "no count"))?,
                hash_algo: opt_hash_algo(row, 8)?,
                hashes: opt_list(row, 9)?,
            })
        }
        _ => return Err(bad(5, Type::Text, "unknown scope")),
    };
    let state: String = row.get(11)?;
    let issued: Option<SecretHash> = row.get(12)?;
    let state = match (state.as_str(), issued) {
        ("issued", _) => CodeState::Issued,
        ("redeemed", Some(issued)) => CodeState::Redeemed { issued },
        ("burned", _) => CodeState::Burned,
        _ => return Err(bad(11, Type::Text, "unknown code state")),
    };
    Ok(AuthCode {
        code_hash: row.get(0)?,
        client_id: row.get(1)?,
        redirect_uri: row.get(2)?,
        code_challenge: row.get(3)?,
        user_id: row.get(4)?,
        scope,
        authorization_details: row.get(10)?,
        state,
        expires_at: row.get(13)?,
    })
}

const CODE_SELECT: &str = "SELECT code_hash, client_id, redirect_uri, code_challenge, user_id, \
     scope, credential_id, num_signatures, hash_algo, hashes, authorization_details, state, \
     issued_hash, expires_at FROM oauth_codes";

fn issued_kind_str(kind: IssuedKind) -> &'static str {
    match kind {
        IssuedKind::AccessToken => "access_token",
        IssuedKind::RefreshToken => "refresh_token",
        IssuedKind::CredentialToken => "credential_token",
    }
}

fn oob_status_parts(status: OobStatus) -> (&'static str, Option<SecretHash>) {
    match status {
        OobStatus::Pending => ("pending", None),
        OobStatus::Approved => ("approved", None),
        OobStatus::Denied => ("denied", None),
        OobStatus::Expired => ("expired", None),
        OobStatus::Collected { sad_hash } => ("collected", Some(sad_hash)),
    }
}

fn oob_from_row(row: &Row<'_>) -> rusqlite::Result<OobRequest> {
    let status: String = row.get(8)?;
    let sad_hash: Option<SecretHash> = row.get(9)?;
    let status = match (status.as_str(), sad_hash) {
        ("pending", _) => OobStatus::Pending,
        ("approved", _) => OobStatus::Approved,
        ("denied", _) => OobStatus::Denied,
        ("expired", _) => OobStatus::Expired,
        ("collected", Some(sad_hash)) => OobStatus::Collected { sad_hash },
        _ => return Err(bad(8, Type::Text, "unknown approval status")),
    };
    Ok(OobRequest {
        id: row.get(0)?,
        handle_hash: row.get(1)?,
        user_id: row.get(2)?,
        binding: CredentialBinding {
            credential_id: row.get(3)?,
            num_signatures: row.get(4)?,
            hash_algo: opt_hash_algo(row, 5)?,
            hashes: opt_list(row, 6)?,
        },
        description: row.get(7)?,
        status,
        created_at: row.get(10)?,
        expires_at: row.get(11)?,
    })
}

const OOB_SELECT: &str = "SELECT id, handle_hash, user_id, credential_id, num_signatures, \
     hash_algo, hashes, description, status, sad_hash, created_at, expires_at FROM oob_requests";

/// Deletes the rows of the authorization flows that are of no use any more. Decoupled approvals
/// are kept an hour past their expiry so that a late authorizeCheck still hears "expired".
pub(super) fn purge(conn: &Connection, now: Timestamp) -> Result<u64, StoreError> {
    let mut n = 0;
    for (sql, at) in [
        ("DELETE FROM oauth_codes WHERE expires_at < ?1", now),
        (
            "DELETE FROM oauth_pushed_requests WHERE expires_at < ?1",
            now,
        ),
        ("DELETE FROM oauth_issued WHERE expires_at < ?1", now),
        ("DELETE FROM browser_sessions WHERE expires_at < ?1", now),
        ("DELETE FROM oob_requests WHERE expires_at < ?1", now - 3600),
    ] {
        n += conn.prepare_cached(sql).db()?.execute([at]).db()? as u64;
    }
    Ok(n)
}

#[async_trait]
impl AuthzStore for SqliteStore {
    async fn sad(
        &self,
        sad_hash: &SecretHash,
        now: Timestamp,
    ) -> Result<Option<SadRecord>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(concat!(
                codec::sad_select!(),
                " WHERE sad_hash = ?1 AND expires_at > ?2"
            ))
            .db()?
            .query_row((sad_hash, now), codec::sad_from_row)
            .optional()
            .db()
        })
    }

    async fn revoke_secret(
        &self,
        secret_hash: &SecretHash,
        audit: NewAuditEvent,
    ) -> Result<bool, StoreError> {
        self.write(|tx| {
            let kind: Option<String> = tx
                .prepare_cached("DELETE FROM tokens WHERE token_hash = ?1 RETURNING kind")
                .db()?
                .query_row([secret_hash], |row| row.get(0))
                .optional()
                .db()?;
            if kind.as_deref() == Some(codec::token_kind_str(TokenKind::Refresh)) {
                tx.prepare_cached("DELETE FROM tokens WHERE family = ?1")
                    .db()?
                    .execute([secret_hash])
                    .db()?;
            }
            let sads = tx
                .prepare_cached("DELETE FROM sads WHERE sad_hash = ?1")
                .db()?
                .execute([secret_hash])
                .db()?;
            tx.prepare_cached("DELETE FROM oauth_issued WHERE secret_hash = ?1")
                .db()?
                .execute([secret_hash])
                .db()?;
            let revoked = kind.is_some() || sads > 0;
            if revoked {
                append_audit_tx(tx, &audit)?;
            }
            Ok(revoked)
        })
    }

    async fn record_verification_success(
        &self,
        credential_id: &str,
        audit: NewAuditEvent,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE credentials SET failed_attempts = 0 WHERE id = ?1 AND failed_attempts <> 0",
            )
            .db()?
            .execute([credential_id])
            .db()?;
            append_audit_tx(tx, &audit)?;
            Ok(())
        })
    }

    async fn create_client(
        &self,
        client: OAuthClient,
        audit: NewAuditEvent,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO oauth_clients (client_id, name, secret_hash, redirect_uris, user_id, \
                 created_at, tls_certificate_sha256) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .db()?
            .execute((
                &client.client_id,
                &client.name,
                &client.secret_hash,
                strings_to_blob(&client.redirect_uris),
                client.user_id,
                client.created_at,
                &client.tls_certificate_sha256,
            ))
            .map_err(|e| {
                if is_duplicate(&e) && e.to_string().contains("tls_certificate_sha256") {
                    StoreError::Conflict("a client with this TLS certificate".into())
                } else if is_duplicate(&e) {
                    StoreError::Conflict(format!("client {}", client.client_id))
                } else if codec::is_foreign_key(&e) {
                    StoreError::NotFound("user".into())
                } else {
                    codec::map_error(e)
                }
            })?;
            append_audit_tx(tx, &audit)?;
            Ok(())
        })
    }

    async fn client(&self, client_id: &str) -> Result<Option<OAuthClient>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(&format!("{CLIENT_SELECT} WHERE client_id = ?1"))
                .db()?
                .query_row([client_id], client_from_row)
                .optional()
                .db()
        })
    }

    async fn client_by_tls_certificate(
        &self,
        certificate_sha256: &SecretHash,
    ) -> Result<Option<OAuthClient>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "{CLIENT_SELECT} WHERE tls_certificate_sha256 = ?1"
            ))
            .db()?
            .query_row([certificate_sha256], client_from_row)
            .optional()
            .db()
        })
    }

    async fn list_clients(&self) -> Result<Vec<OAuthClient>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(&format!("{CLIENT_SELECT} ORDER BY created_at, client_id"))
                .db()?
                .query_map([], client_from_row)
                .db()?
                .collect::<rusqlite::Result<Vec<_>>>()
                .db()
        })
    }

    async fn insert_code(&self, code: AuthCode, audit: NewAuditEvent) -> Result<(), StoreError> {
        let (scope, binding) = match &code.scope {
            GrantScope::Service => ("service", None),
            GrantScope::Credential(b) => ("credential", Some(b)),
        };
        let (state, issued) = code_state_parts(code.state);
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO oauth_codes (code_hash, client_id, redirect_uri, code_challenge, \
                 user_id, scope, credential_id, num_signatures, hash_algo, hashes, \
                 authorization_details, state, issued_hash, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )
            .db()?
            .execute(rusqlite::params![
                code.code_hash,
                code.client_id,
                code.redirect_uri,
                code.code_challenge,
                code.user_id,
                scope,
                binding.map(|b| b.credential_id.as_str()),
                binding.map(|b| b.num_signatures),
                binding.and_then(|b| b.hash_algo).map(HashAlgorithm::oid),
                binding.and_then(|b| b.hashes.as_deref()).map(encode_list),
                code.authorization_details,
                state,
                issued,
                code.expires_at,
            ])
            .map_err(conflict_if_duplicate(|| "code".into()))?;
            append_audit_tx(tx, &audit)?;
            Ok(())
        })
    }

    async fn code(&self, code_hash: &SecretHash) -> Result<Option<AuthCode>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(&format!("{CODE_SELECT} WHERE code_hash = ?1"))
                .db()?
                .query_row([code_hash], code_from_row)
                .optional()
                .db()
        })
    }

    async fn set_code_state(
        &self,
        code_hash: &SecretHash,
        from: CodeState,
        to: CodeState,
        audit: Option<NewAuditEvent>,
    ) -> Result<bool, StoreError> {
        let (from_state, from_issued) = code_state_parts(from);
        let (to_state, to_issued) = code_state_parts(to);
        self.write(|tx| {
            let moved = tx
                .prepare_cached(
                    "UPDATE oauth_codes SET state = ?4, issued_hash = ?5 \
                     WHERE code_hash = ?1 AND state = ?2 AND issued_hash IS ?3",
                )
                .db()?
                .execute((code_hash, from_state, from_issued, to_state, to_issued))
                .db()?
                == 1;
            if moved && let Some(audit) = &audit {
                append_audit_tx(tx, audit)?;
            }
            Ok(moved)
        })
    }

    async fn insert_pushed_request(&self, request: PushedRequest) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO oauth_pushed_requests (request_hash, client_id, params, expires_at) \
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .db()?
            .execute((
                &request.request_hash,
                &request.client_id,
                &request.params,
                request.expires_at,
            ))
            .db()?;
            Ok(())
        })
    }

    async fn take_pushed_request(
        &self,
        request_hash: &SecretHash,
    ) -> Result<Option<PushedRequest>, StoreError> {
        self.write(|tx| {
            tx.prepare_cached(
                "DELETE FROM oauth_pushed_requests WHERE request_hash = ?1 \
                 RETURNING request_hash, client_id, params, expires_at",
            )
            .db()?
            .query_row([request_hash], |row| {
                Ok(PushedRequest {
                    request_hash: row.get(0)?,
                    client_id: row.get(1)?,
                    params: row.get(2)?,
                    expires_at: row.get(3)?,
                })
            })
            .optional()
            .db()
        })
    }

    async fn record_issued(&self, issued: IssuedSecret) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO oauth_issued (secret_hash, client_id, kind, expires_at) \
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .db()?
            .execute((
                &issued.secret_hash,
                &issued.client_id,
                issued_kind_str(issued.kind),
                issued.expires_at,
            ))
            .db()?;
            Ok(())
        })
    }

    async fn issued(&self, secret_hash: &SecretHash) -> Result<Option<IssuedSecret>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT secret_hash, client_id, kind, expires_at FROM oauth_issued \
                 WHERE secret_hash = ?1",
            )
            .db()?
            .query_row([secret_hash], |row| {
                let kind: String = row.get(2)?;
                let kind = match kind.as_str() {
                    "access_token" => IssuedKind::AccessToken,
                    "refresh_token" => IssuedKind::RefreshToken,
                    "credential_token" => IssuedKind::CredentialToken,
                    _ => return Err(bad(2, Type::Text, "unknown issued kind")),
                };
                Ok(IssuedSecret {
                    secret_hash: row.get(0)?,
                    client_id: row.get(1)?,
                    kind,
                    expires_at: row.get(3)?,
                })
            })
            .optional()
            .db()
        })
    }

    async fn put_browser_session(&self, session: BrowserSession) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO browser_sessions (session_hash, user_id, csrf_token, pending, \
                 expires_at) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (session_hash) DO UPDATE SET user_id = excluded.user_id, \
                 csrf_token = excluded.csrf_token, pending = excluded.pending, \
                 expires_at = excluded.expires_at",
            )
            .db()?
            .execute((
                &session.session_hash,
                session.user_id,
                &session.csrf_token,
                &session.pending,
                session.expires_at,
            ))
            .db()?;
            Ok(())
        })
    }

    async fn browser_session(
        &self,
        session_hash: &SecretHash,
        now: Timestamp,
    ) -> Result<Option<BrowserSession>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT session_hash, user_id, csrf_token, pending, expires_at \
                 FROM browser_sessions WHERE session_hash = ?1 AND expires_at > ?2",
            )
            .db()?
            .query_row((session_hash, now), |row| {
                Ok(BrowserSession {
                    session_hash: row.get(0)?,
                    user_id: row.get(1)?,
                    csrf_token: row.get(2)?,
                    pending: row.get(3)?,
                    expires_at: row.get(4)?,
                })
            })
            .optional()
            .db()
        })
    }

    async fn delete_browser_session(&self, session_hash: &SecretHash) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.prepare_cached("DELETE FROM browser_sessions WHERE session_hash = ?1")
                .db()?
                .execute([session_hash])
                .db()?;
            Ok(())
        })
    }

    async fn insert_oob(
        &self,
        request: OobRequest,
        audit: NewAuditEvent,
    ) -> Result<(), StoreError> {
        let (status, sad_hash) = oob_status_parts(request.status);
        let b = &request.binding;
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO oob_requests (id, handle_hash, user_id, credential_id, \
                 num_signatures, hash_algo, hashes, description, status, sad_hash, created_at, \
                 expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )
            .db()?
            .execute(rusqlite::params![
                request.id,
                request.handle_hash,
                request.user_id,
                b.credential_id,
                b.num_signatures,
                b.hash_algo.map(HashAlgorithm::oid),
                b.hashes.as_deref().map(encode_list),
                request.description,
                status,
                sad_hash,
                request.created_at,
                request.expires_at,
            ])
            .map_err(conflict_if_duplicate(|| "approval request".into()))?;
            append_audit_tx(tx, &audit)?;
            Ok(())
        })
    }

    async fn oob_by_handle(
        &self,
        handle_hash: &SecretHash,
    ) -> Result<Option<OobRequest>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(&format!("{OOB_SELECT} WHERE handle_hash = ?1"))
                .db()?
                .query_row([handle_hash], oob_from_row)
                .optional()
                .db()
        })
    }

    async fn oob_by_id(&self, id: &str) -> Result<Option<OobRequest>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(&format!("{OOB_SELECT} WHERE id = ?1"))
                .db()?
                .query_row([id], oob_from_row)
                .optional()
                .db()
        })
    }

    async fn pending_oob(
        &self,
        user_id: i64,
        now: Timestamp,
    ) -> Result<Vec<OobRequest>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "{OOB_SELECT} WHERE user_id = ?1 AND status = 'pending' AND expires_at > ?2 \
                 ORDER BY created_at, id"
            ))
            .db()?
            .query_map((user_id, now), oob_from_row)
            .db()?
            .collect::<rusqlite::Result<Vec<_>>>()
            .db()
        })
    }

    async fn set_oob_status(
        &self,
        id: &str,
        from: OobStatus,
        to: OobStatus,
        audit: Option<NewAuditEvent>,
    ) -> Result<bool, StoreError> {
        let (from_status, from_sad) = oob_status_parts(from);
        let (to_status, to_sad) = oob_status_parts(to);
        self.write(|tx| {
            let moved = tx
                .prepare_cached(
                    "UPDATE oob_requests SET status = ?4, sad_hash = ?5 \
                     WHERE id = ?1 AND status = ?2 AND sad_hash IS ?3",
                )
                .db()?
                .execute((id, from_status, from_sad, to_status, to_sad))
                .db()?
                == 1;
            if moved && let Some(audit) = &audit {
                append_audit_tx(tx, audit)?;
            }
            Ok(moved)
        })
    }
}
