//! [`AuthzStore`] for every backend: OAuth2 clients, codes, pushed requests, issued secrets,
//! browser sessions and decoupled approvals. State transitions are single compare-and-swap
//! statements (see [`super`]), so two requests — or two nodes — racing on one code or approval
//! cannot both win.

use async_trait::async_trait;
use signet_core::HashAlgorithm;

use super::{append_audit, delete_token, move_one_audited, reset_failures};
use crate::authz::{
    AuthCode, AuthzStore, BrowserSession, CodeState, GrantScope, IssuedSecret, OAuthClient,
    OobRequest, OobStatus, PushedRequest,
};
use crate::encoding::encode_list;
use crate::exec::{
    Backend, Conn, DbError, Exec, FreeText, Tx, byte_order, bytes, conflict, opt_bytes,
};
use crate::records::{
    self, client_select, code_select, code_state_parts, issued_kind_str, oob_select,
    oob_status_parts, sad_select, strings_to_blob,
};
use crate::{NewAuditEvent, SadRecord, SecretHash, StoreError, Timestamp};

#[async_trait]
impl<B: Backend> AuthzStore for B {
    async fn sad(
        &self,
        sad_hash: &SecretHash,
        now: Timestamp,
    ) -> Result<Option<SadRecord>, StoreError> {
        let sql = concat!(sad_select!(), " WHERE sad_hash = $1 AND expires_at > $2");
        let mut conn = self.read().await?;
        Ok(conn
            .query_opt(sql, &[&bytes(sad_hash), &now], records::sad)
            .await?)
    }

    async fn revoke_secret(
        &self,
        secret_hash: &SecretHash,
        audit: NewAuditEvent,
    ) -> Result<bool, StoreError> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let mut chain = self.chains().acquire().await;
        let token = delete_token(&mut tx, secret_hash).await?;
        let sql = "DELETE FROM sads WHERE sad_hash = $1";
        let sads = tx.execute(sql, &[&bytes(secret_hash)]).await?;
        let sql = "DELETE FROM oauth_issued WHERE secret_hash = $1";
        tx.execute(sql, &[&bytes(secret_hash)]).await?;
        let revoked = token || sads > 0;
        if revoked {
            append_audit(&mut tx, &mut chain, &audit).await?;
        }
        tx.commit().await?;
        Ok(revoked)
    }

    async fn record_verification_success(
        &self,
        credential_id: &str,
        audit: NewAuditEvent,
    ) -> Result<(), StoreError> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let mut chain = self.chains().acquire().await;
        if B::DIALECT.stores(credential_id) {
            reset_failures(&mut tx, credential_id).await?;
        }
        append_audit(&mut tx, &mut chain, &audit).await?;
        tx.commit().await
    }

    async fn create_client(
        &self,
        client: OAuthClient,
        audit: NewAuditEvent,
    ) -> Result<(), StoreError> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let mut chain = self.chains().acquire().await;
        tx.execute(
            "INSERT INTO oauth_clients (client_id, name, secret_hash, redirect_uris, user_id, \
             created_at, tls_certificate_sha256) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &client.client_id,
                &client.name,
                &opt_bytes(&client.secret_hash),
                &strings_to_blob(&client.redirect_uris),
                &client.user_id,
                &client.created_at,
                &opt_bytes(&client.tls_certificate_sha256),
            ],
        )
        .await
        .map_err(|e| match e {
            // The column's UNIQUE constraint, as the database names it.
            DbError::Unique { on, .. } if on.contains("tls_certificate") => {
                StoreError::Conflict("a client with this TLS certificate".into())
            }
            DbError::Unique { .. } => StoreError::Conflict(format!("client {}", client.client_id)),
            DbError::ForeignKey(_) => StoreError::NotFound("user".into()),
            other => other.into(),
        })?;
        append_audit(&mut tx, &mut chain, &audit).await?;
        tx.commit().await
    }

    async fn client(&self, client_id: &str) -> Result<Option<OAuthClient>, StoreError> {
        if !B::DIALECT.stores(client_id) {
            return Ok(None);
        }
        let sql = concat!(client_select!(), " WHERE client_id = $1");
        let mut conn = self.read().await?;
        Ok(conn.query_opt(sql, &[&client_id], records::client).await?)
    }

    async fn client_by_tls_certificate(
        &self,
        certificate_sha256: &SecretHash,
    ) -> Result<Option<OAuthClient>, StoreError> {
        let sql = concat!(client_select!(), " WHERE tls_certificate_sha256 = $1");
        let mut conn = self.read().await?;
        Ok(conn
            .query_opt(sql, &[&bytes(certificate_sha256)], records::client)
            .await?)
    }

    async fn list_clients(&self) -> Result<Vec<OAuthClient>, StoreError> {
        let sql = byte_order!(
            B::DIALECT,
            concat!(client_select!(), " ORDER BY created_at, client_id")
        );
        let mut conn = self.read().await?;
        Ok(conn.query(sql, &[], records::client).await?)
    }

    async fn insert_code(&self, code: AuthCode, audit: NewAuditEvent) -> Result<(), StoreError> {
        let (scope, binding) = match &code.scope {
            GrantScope::Service => ("service", None),
            GrantScope::Credential(b) => ("credential", Some(b)),
        };
        let (state, issued) = code_state_parts(code.state);
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let mut chain = self.chains().acquire().await;
        tx.execute(
            "INSERT INTO oauth_codes (code_hash, client_id, redirect_uri, code_challenge, \
             user_id, scope, credential_id, num_signatures, hash_algo, hashes, \
             authorization_details, state, issued_hash, expires_at, approval) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            &[
                &bytes(&code.code_hash),
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
                &opt_bytes(&issued),
                &code.expires_at,
                &opt_bytes(&code.approval),
            ],
        )
        .await
        .map_err(conflict(|| "code".into()))?;
        append_audit(&mut tx, &mut chain, &audit).await?;
        tx.commit().await
    }

    async fn code(&self, code_hash: &SecretHash) -> Result<Option<AuthCode>, StoreError> {
        let sql = concat!(code_select!(), " WHERE code_hash = $1");
        let mut conn = self.read().await?;
        Ok(conn
            .query_opt(sql, &[&bytes(code_hash)], records::code)
            .await?)
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
        move_one_audited(
            self,
            "UPDATE oauth_codes SET state = $1, issued_hash = $2 \
             WHERE code_hash = $3 AND state = $4 AND issued_hash IS NOT DISTINCT FROM $5",
            &[
                &to_state,
                &opt_bytes(&to_issued),
                &bytes(code_hash),
                &from_state,
                &opt_bytes(&from_issued),
            ],
            audit.as_ref(),
        )
        .await
    }

    async fn insert_pushed_request(&self, request: PushedRequest) -> Result<(), StoreError> {
        let mut conn = self.write().await?;
        conn.execute(
            "INSERT INTO oauth_pushed_requests (request_hash, client_id, params, expires_at) \
             VALUES ($1, $2, $3, $4)",
            &[
                &bytes(&request.request_hash),
                &request.client_id,
                &request.params,
                &request.expires_at,
            ],
        )
        .await?;
        Ok(())
    }

    async fn take_pushed_request(
        &self,
        request_hash: &SecretHash,
        client_id: &str,
    ) -> Result<Option<PushedRequest>, StoreError> {
        let sql = "DELETE FROM oauth_pushed_requests WHERE request_hash = $1 AND client_id = $2 \
                   RETURNING request_hash, client_id, params, expires_at";
        let mut conn = self.write().await?;
        Ok(conn
            .query_opt(
                sql,
                &[&bytes(request_hash), &client_id],
                records::pushed_request,
            )
            .await?)
    }

    async fn record_issued(&self, issued: IssuedSecret) -> Result<(), StoreError> {
        let mut conn = self.write().await?;
        conn.execute(
            "INSERT INTO oauth_issued (secret_hash, client_id, kind, expires_at) \
             VALUES ($1, $2, $3, $4)",
            &[
                &bytes(&issued.secret_hash),
                &issued.client_id,
                &issued_kind_str(issued.kind),
                &issued.expires_at,
            ],
        )
        .await?;
        Ok(())
    }

    async fn issued(&self, secret_hash: &SecretHash) -> Result<Option<IssuedSecret>, StoreError> {
        let sql = "SELECT secret_hash, client_id, kind, expires_at FROM oauth_issued \
                   WHERE secret_hash = $1";
        let mut conn = self.read().await?;
        Ok(conn
            .query_opt(sql, &[&bytes(secret_hash)], records::issued)
            .await?)
    }

    async fn put_browser_session(&self, session: BrowserSession) -> Result<(), StoreError> {
        let mut conn = self.write().await?;
        conn.execute(
            "INSERT INTO browser_sessions (session_hash, user_id, csrf_token, pending, \
             expires_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (session_hash) DO UPDATE SET user_id = excluded.user_id, \
             csrf_token = excluded.csrf_token, pending = excluded.pending, \
             expires_at = excluded.expires_at",
            &[
                &bytes(&session.session_hash),
                &session.user_id,
                &session.csrf_token,
                &session.pending,
                &session.expires_at,
            ],
        )
        .await?;
        Ok(())
    }

    async fn browser_session(
        &self,
        session_hash: &SecretHash,
        now: Timestamp,
    ) -> Result<Option<BrowserSession>, StoreError> {
        let sql = "SELECT session_hash, user_id, csrf_token, pending, expires_at \
                   FROM browser_sessions WHERE session_hash = $1 AND expires_at > $2";
        let mut conn = self.read().await?;
        Ok(conn
            .query_opt(sql, &[&bytes(session_hash), &now], records::browser_session)
            .await?)
    }

    async fn delete_browser_session(&self, session_hash: &SecretHash) -> Result<(), StoreError> {
        let sql = "DELETE FROM browser_sessions WHERE session_hash = $1";
        let mut conn = self.write().await?;
        conn.execute(sql, &[&bytes(session_hash)]).await?;
        Ok(())
    }

    async fn insert_oob(
        &self,
        request: OobRequest,
        audit: NewAuditEvent,
    ) -> Result<(), StoreError> {
        let (status, sad_hash) = oob_status_parts(request.status);
        let b = &request.binding;
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let mut chain = self.chains().acquire().await;
        tx.execute(
            "INSERT INTO oob_requests (id, handle_hash, user_id, credential_id, \
             num_signatures, hash_algo, hashes, description, status, sad_hash, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            &[
                &request.id,
                &bytes(&request.handle_hash),
                &request.user_id,
                &b.credential_id,
                &i64::from(b.num_signatures),
                &b.hash_algo.map(HashAlgorithm::oid),
                &b.hashes.as_deref().map(encode_list),
                &FreeText(request.description.as_deref()),
                &status,
                &opt_bytes(&sad_hash),
                &request.created_at,
                &request.expires_at,
            ],
        )
        .await
        .map_err(conflict(|| "approval request".into()))?;
        append_audit(&mut tx, &mut chain, &audit).await?;
        tx.commit().await
    }

    async fn oob_by_handle(
        &self,
        handle_hash: &SecretHash,
    ) -> Result<Option<OobRequest>, StoreError> {
        let sql = concat!(oob_select!(), " WHERE handle_hash = $1");
        let mut conn = self.read().await?;
        Ok(conn
            .query_opt(sql, &[&bytes(handle_hash)], records::oob)
            .await?)
    }

    async fn oob_by_id(&self, id: &str) -> Result<Option<OobRequest>, StoreError> {
        if !B::DIALECT.stores(id) {
            return Ok(None);
        }
        let sql = concat!(oob_select!(), " WHERE id = $1");
        let mut conn = self.read().await?;
        Ok(conn.query_opt(sql, &[&id], records::oob).await?)
    }

    async fn pending_oob(
        &self,
        user_id: i64,
        now: Timestamp,
    ) -> Result<Vec<OobRequest>, StoreError> {
        let sql = byte_order!(
            B::DIALECT,
            concat!(
                oob_select!(),
                " WHERE user_id = $1 AND status = 'pending' AND expires_at > $2 \
                 ORDER BY created_at, id"
            )
        );
        let mut conn = self.read().await?;
        Ok(conn.query(sql, &[&user_id, &now], records::oob).await?)
    }

    async fn set_oob_status(
        &self,
        id: &str,
        from: OobStatus,
        to: OobStatus,
        audit: Option<NewAuditEvent>,
    ) -> Result<bool, StoreError> {
        if !B::DIALECT.stores(id) {
            return Ok(false);
        }
        let (from_status, from_sad) = oob_status_parts(from);
        let (to_status, to_sad) = oob_status_parts(to);
        // An approval's seal is written with it and kept through the later states.
        let approval = match to {
            OobStatus::Approved { approval } => approval,
            _ => None,
        };
        move_one_audited(
            self,
            "UPDATE oob_requests SET status = $1, sad_hash = $2, approval = COALESCE($3, approval) \
             WHERE id = $4 AND status = $5 AND sad_hash IS NOT DISTINCT FROM $6",
            &[
                &to_status,
                &opt_bytes(&to_sad),
                &opt_bytes(&approval),
                &id,
                &from_status,
                &opt_bytes(&from_sad),
            ],
            audit.as_ref(),
        )
        .await
    }
}
