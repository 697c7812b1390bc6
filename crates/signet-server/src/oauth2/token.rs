//! `POST /oauth2/token` (RFC 6749 §4.1.3, §4.4, §6; RFC 7636 §4.5).
//!
//! An authorization code moves Issued → Redeemed exactly once. Everything it is bound to is
//! checked first — client, redirect URI, PKCE verifier, expiry — and any mismatch burns it. A
//! replayed code burns it too and revokes what it produced (RFC 6749 §4.1.2). The secret to
//! hand out is generated before the code is marked redeemed (so that a replay can revoke it)
//! and stored only after: if storing fails the client gets nothing (fail closed).
//!
//! A credential-scope code yields an access token that *is* a SAD: its SHA-256 goes into the
//! SAD table through [`signet_sam::Sam::issue_sad`] with exactly the approved binding and a
//! lifetime no longer than the SAD lifetime, so signHash spends it like any SAD.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use signet_sam::{now_unix, secrets};
use signet_store::{
    AuthCode, CodeState, GrantScope, IssuedKind, IssuedSecret, NewAuditEvent, OAuthClient,
    TokenKind, TokenRecord, User,
};
use zeroize::Zeroizing;

use super::{client_auth, json_reply, oauth_error, pkce};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::form::{Params, read_form};

pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    match exchange(&state, &headers, body).await {
        Ok(v) => json_reply(StatusCode::OK, v),
        Err(e) => super::error_reply(e),
    }
}

/// A token request's grant, decoded.
#[derive(Debug)]
pub enum Grant<'a> {
    AuthorizationCode {
        code: &'a str,
        verifier: &'a str,
        redirect_uri: Option<&'a str>,
    },
    RefreshToken(&'a str),
    ClientCredentials,
}

/// The `grant_type` of a token request.
pub fn grant_type(params: &Params) -> ApiResult<&str> {
    params
        .get("grant_type")
        .ok_or_else(|| oauth_error("invalid_request", "Missing parameter grant_type"))
}

/// Decodes and checks a token request's grant (what does not need the store). Pure: the
/// endpoint and the fuzz target call it.
pub fn decode_grant(params: &Params) -> ApiResult<Grant<'_>> {
    match grant_type(params)? {
        "authorization_code" => Ok(Grant::AuthorizationCode {
            code: params
                .get("code")
                .ok_or_else(|| oauth_error("invalid_request", "Missing parameter code"))?,
            verifier: params.get("code_verifier").ok_or_else(|| {
                oauth_error("invalid_request", "Missing parameter code_verifier (PKCE)")
            })?,
            redirect_uri: params.get("redirect_uri"),
        }),
        "refresh_token" => {
            let token = params
                .get("refresh_token")
                .ok_or_else(|| oauth_error("invalid_request", "Missing parameter refresh_token"))?;
            service_scope_only(params)?;
            Ok(Grant::RefreshToken(token))
        }
        "client_credentials" => {
            service_scope_only(params)?;
            Ok(Grant::ClientCredentials)
        }
        _ => Err(oauth_error(
            "unsupported_grant_type",
            "grant_type must be authorization_code, refresh_token or client_credentials",
        )),
    }
}

async fn exchange(state: &AppState, headers: &HeaderMap, body: Body) -> ApiResult<Value> {
    let params = read_form(headers, body, state.config.max_body_bytes).await?;
    grant_type(&params)?;
    let client = client_auth::authenticate(state, headers, &params).await?;
    match decode_grant(&params)? {
        Grant::AuthorizationCode {
            code,
            verifier,
            redirect_uri,
        } => authorization_code(state, &client, code, verifier, redirect_uri).await,
        Grant::RefreshToken(token) => refresh_token(state, &client, token).await,
        Grant::ClientCredentials => client_credentials(state, &client).await,
    }
}

fn invalid_grant(description: &str) -> ApiError {
    oauth_error("invalid_grant", description)
}

const DEAD_CODE: &str = "The authorization code is invalid, expired or already used";

fn event(user: &str, credential: Option<&str>, detail: Value) -> NewAuditEvent {
    NewAuditEvent::new("oauth2.token", user, credential, detail)
}

/// A service token for `user`, stored; returns the token and its lifetime.
async fn service_token(
    state: &AppState,
    client: &OAuthClient,
    user: &User,
    kind: TokenKind,
    family: Option<[u8; 32]>,
    secret: Option<Zeroizing<String>>,
) -> ApiResult<(Zeroizing<String>, u64)> {
    let token = match secret {
        Some(s) => s,
        None => secrets::random_secret().map_err(|_| ApiError::internal())?,
    };
    let (lifetime, issued_kind) = match kind {
        TokenKind::Access => (
            state.config.access_token_lifetime.as_secs(),
            IssuedKind::AccessToken,
        ),
        TokenKind::Refresh => (
            state.config.refresh_token_lifetime.as_secs(),
            IssuedKind::RefreshToken,
        ),
    };
    let hash = secrets::secret_hash(&token);
    let expires_at = now_unix() + lifetime as i64;
    state
        .store
        .insert_token(TokenRecord {
            token_hash: hash,
            user_id: user.id,
            kind,
            family,
            expires_at,
        })
        .await?;
    state
        .store
        .record_issued(IssuedSecret {
            secret_hash: hash,
            client_id: client.client_id.clone(),
            kind: issued_kind,
            expires_at,
        })
        .await?;
    Ok((token, lifetime))
}

async fn live_user(state: &AppState, user_id: i64) -> ApiResult<User> {
    match state.store.user_by_id(user_id).await? {
        Some(u) if !u.disabled => Ok(u),
        _ => Err(invalid_grant(
            "The user of this grant is disabled or unknown",
        )),
    }
}

fn redirect_matches(code: &AuthCode, client: &OAuthClient, presented: Option<&str>) -> bool {
    match (&code.redirect_uri, presented) {
        (Some(bound), Some(p)) => bound == p,
        (Some(_), None) => false,
        (None, None) => true,
        // The request omitted it and the single registered URI was used.
        (None, Some(p)) => client.redirect_uris.len() == 1 && client.redirect_uris[0] == p,
    }
}

async fn authorization_code(
    state: &AppState,
    client: &OAuthClient,
    code: &str,
    verifier: &str,
    redirect_uri: Option<&str>,
) -> ApiResult<Value> {
    let code_hash = secrets::secret_hash(code);
    let Some(record) = state.store.code(&code_hash).await? else {
        return Err(invalid_grant(DEAD_CODE));
    };
    let user_name = || async {
        state
            .store
            .user_by_id(record.user_id)
            .await
            .ok()
            .flatten()
            .map(|u| u.username)
            .unwrap_or_default()
    };
    let credential = match &record.scope {
        GrantScope::Credential(b) => Some(b.credential_id.clone()),
        GrantScope::Service => None,
    };
    match record.state {
        CodeState::Redeemed { issued } => {
            // A replay: whoever holds the code now may not be who redeemed it. Burn the code
            // and revoke what it produced.
            let who = user_name().await;
            let detail = json!({ "result": "failure", "reason": "code_replayed", "client_id": client.client_id });
            let burned = state
                .store
                .set_code_state(
                    &code_hash,
                    record.state,
                    CodeState::Burned,
                    Some(event(&who, credential.as_deref(), detail)),
                )
                .await?;
            if burned {
                let revoked = NewAuditEvent::new(
                    "oauth2.revoke",
                    &who,
                    credential.as_deref(),
                    json!({ "reason": "code_replayed", "client_id": record.client_id }),
                );
                state.store.revoke_secret(&issued, revoked).await?;
            }
            return Err(invalid_grant(DEAD_CODE));
        }
        CodeState::Burned => return Err(invalid_grant(DEAD_CODE)),
        CodeState::Issued if now_unix() >= record.expires_at => {
            return Err(invalid_grant(DEAD_CODE));
        }
        CodeState::Issued => {}
    }
    let problem = if record.client_id != client.client_id {
        Some((
            "wrong_client",
            "The authorization code was issued to another client",
        ))
    } else if !redirect_matches(&record, client, redirect_uri) {
        Some((
            "redirect_uri_mismatch",
            "redirect_uri does not match the authorization request",
        ))
    } else if !pkce::verify(verifier, &record.code_challenge) {
        Some((
            "pkce_mismatch",
            "PKCE verification failed: code_verifier does not match code_challenge",
        ))
    } else {
        None
    };
    if let Some((reason, description)) = problem {
        let who = user_name().await;
        let detail =
            json!({ "result": "failure", "reason": reason, "client_id": client.client_id });
        state
            .store
            .set_code_state(
                &code_hash,
                CodeState::Issued,
                CodeState::Burned,
                Some(event(&who, credential.as_deref(), detail)),
            )
            .await?;
        return Err(invalid_grant(description));
    }
    let user = live_user(state, record.user_id).await?;
    let secret = secrets::random_secret().map_err(|_| ApiError::internal())?;
    let issued = secrets::secret_hash(&secret);
    let scope_name = if credential.is_some() {
        "credential"
    } else {
        "service"
    };
    let detail = json!({
        "result": "success", "grant_type": "authorization_code", "client_id": client.client_id, "scope": scope_name,
    });
    let redeemed = state
        .store
        .set_code_state(
            &code_hash,
            CodeState::Issued,
            CodeState::Redeemed { issued },
            Some(event(&user.username, credential.as_deref(), detail)),
        )
        .await?;
    if !redeemed {
        return Err(invalid_grant(DEAD_CODE));
    }
    match &record.scope {
        GrantScope::Service => {
            let (refresh, _) =
                service_token(state, client, &user, TokenKind::Refresh, None, Some(secret)).await?;
            let (access, expires_in) =
                service_token(state, client, &user, TokenKind::Access, Some(issued), None).await?;
            Ok(json!({
                "access_token": *access, "token_type": "Bearer", "expires_in": expires_in,
                "refresh_token": *refresh, "scope": "service",
            }))
        }
        GrantScope::Credential(binding) => {
            let lifetime = state.config.oauth2.credential_token_lifetime;
            let expires_in = state
                .service
                .redeem_consent(
                    &user,
                    &code_hash,
                    binding,
                    record.approval.as_ref(),
                    issued,
                    lifetime,
                    &client.client_id,
                )
                .await
                .map_err(|e| invalid_grant(&signet_service::describe(&e)))?;
            state
                .store
                .record_issued(IssuedSecret {
                    secret_hash: issued,
                    client_id: client.client_id.clone(),
                    kind: IssuedKind::CredentialToken,
                    expires_at: now_unix() + expires_in as i64,
                })
                .await?;
            let mut out = json!({
                "access_token": *secret, "token_type": "Bearer", "expires_in": expires_in,
                "scope": "credential", "credentialID": binding.credential_id,
            });
            if let Some(details) = record
                .authorization_details
                .as_deref()
                .and_then(|d| serde_json::from_str::<Value>(d).ok())
            {
                out["authorization_details"] = with_credential_id(details, &binding.credential_id);
            }
            Ok(out)
        }
    }
}

/// The approved `authorization_details`, each entry naming the credential used (CSC 8.4.4).
fn with_credential_id(mut details: Value, credential_id: &str) -> Value {
    if let Some(entries) = details.as_array_mut() {
        for e in entries.iter_mut().filter_map(Value::as_object_mut) {
            e.insert("credentialID".into(), json!(credential_id));
        }
    }
    details
}

fn service_scope_only(params: &Params) -> ApiResult<()> {
    match params.get("scope") {
        None | Some("service") => Ok(()),
        Some(_) => Err(oauth_error(
            "invalid_scope",
            "Only scope service can be refreshed or granted to a client",
        )),
    }
}

/// A refresh token issued to this client for service scope yields a new access token.
async fn refresh_token(state: &AppState, client: &OAuthClient, token: &str) -> ApiResult<Value> {
    let hash = secrets::secret_hash(token);
    let now = now_unix();
    let issued = state.store.issued(&hash).await?;
    let ours = issued
        .is_some_and(|i| i.kind == IssuedKind::RefreshToken && i.client_id == client.client_id);
    let record = state
        .store
        .token(&hash, now)
        .await?
        .filter(|r| r.kind == TokenKind::Refresh);
    let (true, Some(record)) = (ours, record) else {
        return Err(invalid_grant(
            "The refresh token is invalid, expired or not this client's",
        ));
    };
    let user = live_user(state, record.user_id).await?;
    let (access, expires_in) =
        service_token(state, client, &user, TokenKind::Access, Some(hash), None).await?;
    state
        .store
        .append_audit(event(
            &user.username,
            None,
            json!({ "result": "success", "grant_type": "refresh_token", "client_id": client.client_id, "scope": "service" }),
        ))
        .await?;
    Ok(
        json!({ "access_token": *access, "token_type": "Bearer", "expires_in": expires_in, "scope": "service" }),
    )
}

/// `client_credentials`: a confidential client bound to a user (an e-seal) gets a service
/// token for that user. No refresh token (RFC 6749 §4.4.3).
async fn client_credentials(state: &AppState, client: &OAuthClient) -> ApiResult<Value> {
    if !client.is_confidential() {
        return Err(oauth_error(
            "unauthorized_client",
            "A public client cannot use client_credentials",
        ));
    }
    let Some(user_id) = client.user_id else {
        return Err(oauth_error(
            "unauthorized_client",
            "This client is not bound to a user for client_credentials",
        ));
    };
    let user = live_user(state, user_id).await?;
    let (access, expires_in) =
        service_token(state, client, &user, TokenKind::Access, None, None).await?;
    state
        .store
        .append_audit(event(
            &user.username,
            None,
            json!({ "result": "success", "grant_type": "client_credentials", "client_id": client.client_id, "scope": "service" }),
        ))
        .await?;
    Ok(
        json!({ "access_token": *access, "token_type": "Bearer", "expires_in": expires_in, "scope": "service" }),
    )
}
