//! [`AuthzStore`] on PostgreSQL: OAuth2 clients, codes, pushed requests, issued secrets, browser
//! sessions and decoupled approvals. State transitions are single compare-and-swap statements
//! (see the module documentation of [`super`]), so two nodes racing on one code or approval
//! cannot both win.

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use signet_core::HashAlgorithm;
use tokio_postgres::Row;

use super::codec::{
    PgResult, conflict_if_duplicate, execute, get, get_hash, get_opt_hash, get_opt_hash_algo,
    get_opt_list, get_opt_text_bytes, get_opt_u32, get_u32, is_duplicate, is_foreign_key,
    map_error, query, query_opt, sad_from_row, sad_select, storable, token_kind_str,
};
use super::{PgStore, append_audit_tx};
use crate::authz::{
    AuthCode, AuthzStore, BrowserSession, CodeState, CredentialBinding, GrantScope, IssuedKind,
    IssuedSecret, OAuthClient, OobRequest, OobStatus, PushedRequest,
};
use crate::encoding::{decode_list, encode_list};
use crate::{NewAuditEvent, SadRecord, SecretHash, StoreError, Timestamp, TokenKind};

fn strings_to_blob(items: &[String]) -> Vec<u8> {
    let bytes: Vec<Vec<u8>> = items.iter().map(|s| s.as_bytes().to_vec()).collect();
    encode_list(&bytes)
}

fn bad(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

fn client_from_row(row: &Row) -> Result<OAuthClient, StoreError> {
    let uris: &[u8] = get(row, 3)?;
    let redirect_uris = decode_list(uris)
        .map_err(|_| bad("oauth_clients.redirect_uris: malformed list"))?
        .into_iter()
        .map(|b| String::from_utf8(b).map_err(|_| bad("oauth_clients.redirect_uris: not UTF-8")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(OAuthClient {
        client_id: get(row, 0)?,
        name: get(row, 1)?,
        secret_hash: get_opt_hash(row, 2)?,
        redirect_uris,
        user_id: get(row, 4)?,
        created_at: get(row, 5)?,
        tls_certificate_sha256: get_opt_hash(row, 6)?,
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

fn code_from_row(row: &Row) -> Result<AuthCode, StoreError> {
    let scope = match get::<&str>(row, 5)? {
        "service" => GrantScope::Service,
        "credential" => {
            let credential_id: Option<String> = get(row, 6)?;
            GrantScope::Credential(CredentialBinding {
                credential_id: credential_id
                    .ok_or_else(|| bad("oauth_codes.credential_id: no credential"))?,
                num_signatures: get_opt_u32(row, 7)?
                    .ok_or_else(|| bad("oauth_codes.num_signatures: no count"))?,
                hash_algo: get_opt_hash_algo(row, 8)?,
                hashes: get_opt_list(row, 9)?,
            })
        }
        _ => return Err(bad("oauth_codes.scope: unknown scope")),
    };
    let state = match (get::<&str>(row, 11)?, get_opt_hash(row, 12)?) {
        ("issued", _) => CodeState::Issued,
        ("redeemed", Some(issued)) => CodeState::Redeemed { issued },
        ("burned", _) => CodeState::Burned,
        _ => return Err(bad("oauth_codes.state: unknown code state")),
    };
    Ok(AuthCode {
        code_hash: get_hash(row, 0)?,
        client_id: get(row, 1)?,
        redirect_uri: get(row, 2)?,
        code_challenge: get(row, 3)?,
        user_id: get(row, 4)?,
        scope,
        authorization_details: get(row, 10)?,
        state,
        expires_at: get(row, 13)?,
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

fn oob_from_row(row: &Row) -> Result<OobRequest, StoreError> {
    let status = match (get::<&str>(row, 8)?, get_opt_hash(row, 9)?) {
        ("pending", _) => OobStatus::Pending,
        ("approved", _) => OobStatus::Approved,
        ("denied", _) => OobStatus::Denied,
        ("expired", _) => OobStatus::Expired,
        ("collected", Some(sad_hash)) => OobStatus::Collected { sad_hash },
        _ => return Err(bad("oob_requests.status: unknown approval status")),
    };
    Ok(OobRequest {
        id: get(row, 0)?,
        handle_hash: get_hash(row, 1)?,
        user_id: get(row, 2)?,
        binding: CredentialBinding {
            credential_id: get(row, 3)?,
            num_signatures: get_u32(row, 4)?,
            hash_algo: get_opt_hash_algo(row, 5)?,
            hashes: get_opt_list(row, 6)?,
        },
        description: get_opt_text_bytes(row, 7)?,
        status,
        created_at: get(row, 10)?,
        expires_at: get(row, 11)?,
    })
}

const OOB_SELECT: &str = "SELECT id, handle_hash, user_id, credential_id, num_signatures, \
     hash_algo, hashes, description, status, sad_hash, created_at, expires_at FROM oob_requests";

/// Deletes the rows of the authorization flows that are of no use any more. Decoupled approvals
/// are kept an hour past their expiry so that a late authorizeCheck still hears "expired".
pub(super) async fn purge(tx: &Transaction<'_>, now: Timestamp) -> Result<u64, StoreError> {
    let mut n = 0;
    for (sql, at) in [
        ("DELETE FROM oauth_codes WHERE expires_at < $1", now),
        (
            "DELETE FROM oauth_pushed_requests WHERE expires_at < $1",
            now,
        ),
        ("DELETE FROM oauth_issued WHERE expires_at < $1", now),
        ("DELETE FROM browser_sessions WHERE expires_at < $1", now),
        (
            "DELETE FROM oob_requests WHERE expires_at < $1",
            now.saturating_sub(3600),
        ),
    ] {
        n += execute(tx, sql, &[&at]).await.db()?;
    }
    Ok(n)
}

#[async_trait]
impl AuthzStore for PgStore {
    async fn sad(
        &self,
        sad_hash: &SecretHash,
        now: Timestamp,
    ) -> Result<Option<SadRecord>, StoreError> {
        let client = self.conn().await?;
        let hash: &[u8] = sad_hash;
        query_opt(
            &client,
            concat!(sad_select!(), " WHERE sad_hash = $1 AND expires_at > $2"),
            &[&hash, &now],
        )
        .await
        .db()?
        .map(|row| sad_from_row(&row))
        .transpose()
    }

    async fn revoke_secret(
        &self,
        secret_hash: &SecretHash,
        audit: NewAuditEvent,
    ) -> Result<bool, StoreError> {
        let hash: &[u8] = secret_hash;
        let mut client = self.conn().await?;
        let tx = client.transaction().await.db()?;
        let kind = query_opt(
            &tx,
            "DELETE FROM tokens WHERE token_hash = $1 RETURNING kind",
            &[&hash],
        )
        .await
        .db()?
        .map(|row| get::<String>(&row, 0))
        .transpose()?;
        if kind.as_deref() == Some(token_kind_str(TokenKind::Refresh)) {
            execute(&tx, "DELETE FROM tokens WHERE family = $1", &[&hash])
                .await
                .db()?;
        }
        let sads = execute(&tx, "DELETE FROM sads WHERE sad_hash = $1", &[&hash])
            .await
            .db()?;
        execute(
            &tx,
            "DELETE FROM oauth_issued WHERE secret_hash = $1",
            &[&hash],
        )
        .await
        .db()?;
        let revoked = kind.is_some() || sads > 0;
        if revoked {
            append_audit_tx(&tx, &audit).await?;
        }
        tx.commit().await.db()?;
        Ok(revoked)
    }

    async fn record_verification_success(
        &self,
        credential_id: &str,
        audit: NewAuditEvent,
    ) -> Result<(), StoreError> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await.db()?;
        if storable(credential_id) {
            execute(
                &tx,
                "UPDATE credentials SET failed_attempts = 0 \
                 WHERE id = $1 AND failed_attempts <> 0",
                &[&credential_id],
            )
            .await
            .db()?;
        }
        append_audit_tx(&tx, &audit).await?;
        tx.commit().await.db()
    }

    async fn create_client(
        &self,
        client: OAuthClient,
        audit: NewAuditEvent,
    ) -> Result<(), StoreError> {
        let secret: Option<&[u8]> = client.secret_hash.as_ref().map(|h| &h[..]);
        let tls: Option<&[u8]> = client.tls_certificate_sha256.as_ref().map(|h| &h[..]);
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.db()?;
        execute(
            &tx,
            "INSERT INTO oauth_clients (client_id, name, secret_hash, redirect_uris, user_id, \
             created_at, tls_certificate_sha256) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &client.client_id,
                &client.name,
                &secret,
                &strings_to_blob(&client.redirect_uris),
                &client.user_id,
                &client.created_at,
                &tls,
            ],
        )
        .await
        .map_err(|e| {
            // The UNIQUE constraint of the column, named by PostgreSQL after it.
            let on_certificate = e
                .as_db_error()
                .and_then(|d| d.constraint())
                .is_some_and(|c| c.contains("tls_certificate"));
            if is_duplicate(&e) && on_certificate {
                StoreError::Conflict("a client with this TLS certificate".into())
            } else if is_duplicate(&e) {
                StoreError::Conflict(format!("client {}", client.client_id))
            } else if is_foreign_key(&e) {
                StoreError::NotFound("user".into())
            } else {
                map_error(e)
            }
        })?;
        append_audit_tx(&tx, &audit).await?;
        tx.commit().await.db()
    }

    async fn client(&self, client_id: &str) -> Result<Option<OAuthClient>, StoreError> {
        if !storable(client_id) {
            return Ok(None);
        }
        let conn = self.conn().await?;
        query_opt(
            &conn,
            &format!("{CLIENT_SELECT} WHERE client_id = $1"),
            &[&client_id],
        )
        .await
        .db()?
        .map(|row| client_from_row(&row))
        .transpose()
    }

    async fn client_by_tls_certificate(
        &self,
        certificate_sha256: &SecretHash,
    ) -> Result<Option<OAuthClient>, StoreError> {
        let conn = self.conn().await?;
        let hash: &[u8] = certificate_sha256;
        query_opt(
            &conn,
            &format!("{CLIENT_SELECT} WHERE tls_certificate_sha256 = $1"),
            &[&hash],
        )
        .await
        .db()?
        .map(|row| client_from_row(&row))
        .transpose()
    }

    async fn list_clients(&self) -> Result<Vec<OAuthClient>, StoreError> {
        let conn = self.conn().await?;
        // COLLATE "C": byte order, as SQLite sorts text.
        query(
            &conn,
            &format!("{CLIENT_SELECT} ORDER BY created_at, client_id COLLATE \"C\""),
            &[],
        )
        .await
        .db()?
        .iter()
        .map(client_from_row)
        .collect()
    }

    async fn insert_code(&self, code: AuthCode, audit: NewAuditEvent) -> Result<(), StoreError> {
        let (scope, binding) = match &code.scope {
            GrantScope::Service => ("service", None),
            GrantScope::Credential(b) => ("credential", Some(b)),
        };
        let (state, issued) = code_state_parts(code.state);
        let code_hash: &[u8] = &code.code_hash;
        let issued: Option<&[u8]> = issued.as_ref().map(|h| &h[..]);
        let mut client = self.conn().await?;
        let tx = client.transaction().await.db()?;
        execute(
            &tx,
            "INSERT INTO oauth_codes (code_hash, client_id, redirect_uri, code_challenge, \
             user_id, scope, credential_id, num_signatures, hash_algo, hashes, \
             authorization_details, state, issued_hash, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            &[
                &code_hash,
                &code.client_id,
                &code.redirect_uri,
                &code.code_challenge,
                &code.user_id,
                &scope,
                &binding.map(|b| b.credential_id.as_str()),
                &binding.map(|b| i64::from(b.num_signatures)),
                &binding.and_then(|b| b.hash_algo).map(HashAlgorithm::oid),
                &binding.and_then(|b| b.hashes.as_deref()).map(encode_list),
                &code.authorization_details,
                &state,
                &issued,
                &code.expires_at,
            ],
        )
        .await
        .map_err(conflict_if_duplicate(|| "code".into()))?;
        append_audit_tx(&tx, &audit).await?;
        tx.commit().await.db()
    }

    async fn code(&self, code_hash: &SecretHash) -> Result<Option<AuthCode>, StoreError> {
        let client = self.conn().await?;
        let hash: &[u8] = code_hash;
        query_opt(
            &client,
            &format!("{CODE_SELECT} WHERE code_hash = $1"),
            &[&hash],
        )
        .await
        .db()?
        .map(|row| code_from_row(&row))
        .transpose()
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
        let hash: &[u8] = code_hash;
        let from_issued: Option<&[u8]> = from_issued.as_ref().map(|h| &h[..]);
        let to_issued: Option<&[u8]> = to_issued.as_ref().map(|h| &h[..]);
        self.move_one_audited(
            "UPDATE oauth_codes SET state = $4, issued_hash = $5 \
             WHERE code_hash = $1 AND state = $2 AND issued_hash IS NOT DISTINCT FROM $3",
            &[&hash, &from_state, &from_issued, &to_state, &to_issued],
            audit.as_ref(),
        )
        .await
    }

    async fn insert_pushed_request(&self, request: PushedRequest) -> Result<(), StoreError> {
        let client = self.conn().await?;
        let hash: &[u8] = &request.request_hash;
        execute(
            &client,
            "INSERT INTO oauth_pushed_requests (request_hash, client_id, params, expires_at) \
             VALUES ($1, $2, $3, $4)",
            &[
                &hash,
                &request.client_id,
                &request.params,
                &request.expires_at,
            ],
        )
        .await
        .db()?;
        Ok(())
    }

    async fn take_pushed_request(
        &self,
        request_hash: &SecretHash,
    ) -> Result<Option<PushedRequest>, StoreError> {
        let client = self.conn().await?;
        let hash: &[u8] = request_hash;
        query_opt(
            &client,
            "DELETE FROM oauth_pushed_requests WHERE request_hash = $1 \
             RETURNING request_hash, client_id, params, expires_at",
            &[&hash],
        )
        .await
        .db()?
        .map(|row| {
            Ok(PushedRequest {
                request_hash: get_hash(&row, 0)?,
                client_id: get(&row, 1)?,
                params: get(&row, 2)?,
                expires_at: get(&row, 3)?,
            })
        })
        .transpose()
    }

    async fn record_issued(&self, issued: IssuedSecret) -> Result<(), StoreError> {
        let client = self.conn().await?;
        let hash: &[u8] = &issued.secret_hash;
        execute(
            &client,
            "INSERT INTO oauth_issued (secret_hash, client_id, kind, expires_at) \
             VALUES ($1, $2, $3, $4)",
            &[
                &hash,
                &issued.client_id,
                &issued_kind_str(issued.kind),
                &issued.expires_at,
            ],
        )
        .await
        .db()?;
        Ok(())
    }

    async fn issued(&self, secret_hash: &SecretHash) -> Result<Option<IssuedSecret>, StoreError> {
        let client = self.conn().await?;
        let hash: &[u8] = secret_hash;
        query_opt(
            &client,
            "SELECT secret_hash, client_id, kind, expires_at FROM oauth_issued \
             WHERE secret_hash = $1",
            &[&hash],
        )
        .await
        .db()?
        .map(|row| {
            let kind = match get::<&str>(&row, 2)? {
                "access_token" => IssuedKind::AccessToken,
                "refresh_token" => IssuedKind::RefreshToken,
                "credential_token" => IssuedKind::CredentialToken,
                _ => return Err(bad("oauth_issued.kind: unknown issued kind")),
            };
            Ok(IssuedSecret {
                secret_hash: get_hash(&row, 0)?,
                client_id: get(&row, 1)?,
                kind,
                expires_at: get(&row, 3)?,
            })
        })
        .transpose()
    }

    async fn put_browser_session(&self, session: BrowserSession) -> Result<(), StoreError> {
        let client = self.conn().await?;
        let hash: &[u8] = &session.session_hash;
        execute(
            &client,
            "INSERT INTO browser_sessions (session_hash, user_id, csrf_token, pending, \
             expires_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (session_hash) DO UPDATE SET user_id = excluded.user_id, \
             csrf_token = excluded.csrf_token, pending = excluded.pending, \
             expires_at = excluded.expires_at",
            &[
                &hash,
                &session.user_id,
                &session.csrf_token,
                &session.pending,
                &session.expires_at,
            ],
        )
        .await
        .db()?;
        Ok(())
    }

    async fn browser_session(
        &self,
        session_hash: &SecretHash,
        now: Timestamp,
    ) -> Result<Option<BrowserSession>, StoreError> {
        let client = self.conn().await?;
        let hash: &[u8] = session_hash;
        query_opt(
            &client,
            "SELECT session_hash, user_id, csrf_token, pending, expires_at \
             FROM browser_sessions WHERE session_hash = $1 AND expires_at > $2",
            &[&hash, &now],
        )
        .await
        .db()?
        .map(|row| {
            Ok(BrowserSession {
                session_hash: get_hash(&row, 0)?,
                user_id: get(&row, 1)?,
                csrf_token: get(&row, 2)?,
                pending: get(&row, 3)?,
                expires_at: get(&row, 4)?,
            })
        })
        .transpose()
    }

    async fn delete_browser_session(&self, session_hash: &SecretHash) -> Result<(), StoreError> {
        let client = self.conn().await?;
        let hash: &[u8] = session_hash;
        execute(
            &client,
            "DELETE FROM browser_sessions WHERE session_hash = $1",
            &[&hash],
        )
        .await
        .db()?;
        Ok(())
    }

    async fn insert_oob(
        &self,
        request: OobRequest,
        audit: NewAuditEvent,
    ) -> Result<(), StoreError> {
        let (status, sad_hash) = oob_status_parts(request.status);
        let b = &request.binding;
        let handle: &[u8] = &request.handle_hash;
        let sad_hash: Option<&[u8]> = sad_hash.as_ref().map(|h| &h[..]);
        let description: Option<&[u8]> = request.description.as_deref().map(str::as_bytes);
        let mut client = self.conn().await?;
        let tx = client.transaction().await.db()?;
        execute(
            &tx,
            "INSERT INTO oob_requests (id, handle_hash, user_id, credential_id, \
             num_signatures, hash_algo, hashes, description, status, sad_hash, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            &[
                &request.id,
                &handle,
                &request.user_id,
                &b.credential_id,
                &i64::from(b.num_signatures),
                &b.hash_algo.map(HashAlgorithm::oid),
                &b.hashes.as_deref().map(encode_list),
                &description,
                &status,
                &sad_hash,
                &request.created_at,
                &request.expires_at,
            ],
        )
        .await
        .map_err(conflict_if_duplicate(|| "approval request".into()))?;
        append_audit_tx(&tx, &audit).await?;
        tx.commit().await.db()
    }

    async fn oob_by_handle(
        &self,
        handle_hash: &SecretHash,
    ) -> Result<Option<OobRequest>, StoreError> {
        let client = self.conn().await?;
        let hash: &[u8] = handle_hash;
        query_opt(
            &client,
            &format!("{OOB_SELECT} WHERE handle_hash = $1"),
            &[&hash],
        )
        .await
        .db()?
        .map(|row| oob_from_row(&row))
        .transpose()
    }

    async fn oob_by_id(&self, id: &str) -> Result<Option<OobRequest>, StoreError> {
        if !storable(id) {
            return Ok(None);
        }
        let client = self.conn().await?;
        query_opt(&client, &format!("{OOB_SELECT} WHERE id = $1"), &[&id])
            .await
            .db()?
            .map(|row| oob_from_row(&row))
            .transpose()
    }

    async fn pending_oob(
        &self,
        user_id: i64,
        now: Timestamp,
    ) -> Result<Vec<OobRequest>, StoreError> {
        let client = self.conn().await?;
        query(
            &client,
            &format!(
                "{OOB_SELECT} WHERE user_id = $1 AND status = 'pending' AND expires_at > $2 \
                 ORDER BY created_at, id COLLATE \"C\""
            ),
            &[&user_id, &now],
        )
        .await
        .db()?
        .iter()
        .map(oob_from_row)
        .collect()
    }

    async fn set_oob_status(
        &self,
        id: &str,
        from: OobStatus,
        to: OobStatus,
        audit: Option<NewAuditEvent>,
    ) -> Result<bool, StoreError> {
        if !storable(id) {
            return Ok(false);
        }
        let (from_status, from_sad) = oob_status_parts(from);
        let (to_status, to_sad) = oob_status_parts(to);
        let from_sad: Option<&[u8]> = from_sad.as_ref().map(|h| &h[..]);
        let to_sad: Option<&[u8]> = to_sad.as_ref().map(|h| &h[..]);
        self.move_one_audited(
            "UPDATE oob_requests SET status = $4, sad_hash = $5 \
             WHERE id = $1 AND status = $2 AND sad_hash IS NOT DISTINCT FROM $3",
            &[&id, &from_status, &from_sad, &to_status, &to_sad],
            audit.as_ref(),
        )
        .await
    }
}
