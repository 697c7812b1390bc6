//! Service authorization (CSC §3, layer 1): `auth/login` with HTTP Basic or a refresh token,
//! `auth/revoke`, and Bearer access tokens on every other method.
//!
//! Tokens are opaque random strings; the store keeps only their SHA-256. Access tokens issued
//! with `rememberMe` belong to the refresh token's family, so revoking the refresh token ends
//! them too, while revoking an access token leaves its refresh token alone (CSC 11.3).

use std::net::IpAddr;

use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Value, json};
use signet_core::Untrusted;
use signet_sam::{now_unix, secrets};
use signet_store::{NewAuditEvent, TokenKind, TokenRecord, User};
use zeroize::Zeroizing;

use crate::body::Fields;
use crate::error::{ApiError, ApiResult};
use crate::tls::ClientCertificate;
use crate::{AppState, backoff};

const MAX_USERNAME_IN_AUDIT: usize = 64;

/// Who a Bearer token speaks for.
#[derive(Debug)]
pub enum Caller {
    /// A service access token (auth/login, or OAuth2 with scope `service`).
    Service(User),
    /// A credential-scoped OAuth2 access token, i.e. a live SAD (ARCHITECTURE.md: "a
    /// credential-scoped OAuth2 token is a SAD in another envelope"). It is service
    /// authorization only for credentials/info and signatures/signHash of that credential
    /// (CSC §3), and is itself the SAD when signHash carries none.
    Credential {
        user: User,
        credential_id: String,
        token: Zeroizing<String>,
    },
}

/// CSC methods a credential-scoped token may call, for its own credential only.
const CREDENTIAL_TOKEN_METHODS: &[&str] = &[
    "credentials/info",
    "signatures/signHash",
    "signatures/signDoc",
];

impl Caller {
    /// The user the call acts for, if this token may call `method` with `credential_id`.
    pub fn user_for(&self, method: &str, credential_id: Option<&str>) -> ApiResult<&User> {
        match self {
            Self::Service(user) => Ok(user),
            Self::Credential {
                user,
                credential_id: bound,
                ..
            } => {
                if !CREDENTIAL_TOKEN_METHODS.contains(&method) {
                    // Say what is wrong: the kind of token, not a credential (signatures/
                    // timestamp names none).
                    Err(ApiError::unauthorized(
                        "invalid_token",
                        format!(
                            "A credential-scoped token cannot be used for {method}: use a service access token"
                        ),
                    ))
                } else if credential_id == Some(bound.as_str()) {
                    Ok(user)
                } else {
                    Err(ApiError::unauthorized(
                        "invalid_token",
                        format!(
                            "A credential-scoped token cannot be used for {method} of another credential"
                        ),
                    ))
                }
            }
        }
    }

    /// The credential token itself, when it can stand in for a SAD.
    pub fn credential_token(&self) -> Option<&str> {
        match self {
            Self::Service(_) => None,
            Self::Credential { token, .. } => Some(token.as_str()),
        }
    }
}

/// The SAD a signing request presents, in every binding: the one it sends (CSC `SAD`, the
/// DSS-X SAD input), else the request's credential-scoped Bearer token — a SAD in another
/// envelope (EUDI clients send no SAD; v1 clients put the token in `SAD`, and both live in
/// the same table). `None`: neither.
pub fn presented_sad(sent: Option<&str>, bearer: Option<&str>) -> Option<Zeroizing<String>> {
    match (sent, bearer) {
        (Some(sad), _) if !sad.is_empty() => Some(Zeroizing::new(sad.to_owned())),
        (_, Some(token)) => Some(Zeroizing::new(token.to_owned())),
        _ => None,
    }
}

fn bearer_token(headers: &HeaderMap) -> ApiResult<&str> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::unauthorized(
            "invalid_request",
            "Missing Authorization header with a Bearer access token",
        ));
    };
    let value = value.to_str().unwrap_or("");
    match value.split_once(' ') {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") && !t.trim().is_empty() => {
            Ok(t.trim())
        }
        _ => Err(ApiError::unauthorized(
            "invalid_request",
            "Malformed Authorization header: expected Bearer",
        )),
    }
}

async fn live_user(state: &AppState, user_id: i64) -> ApiResult<User> {
    match state.store.user_by_id(user_id).await? {
        Some(user) => enabled(user),
        None => Err(ApiError::unauthorized(
            "invalid_token",
            "The access token is invalid or expired",
        )),
    }
}

/// A token's user may call only while enabled.
fn enabled(user: User) -> ApiResult<User> {
    if user.disabled {
        return Err(ApiError::invalid_request("The user is disabled"));
    }
    Ok(user)
}

/// Who calls a CSC method: the Bearer token when there is an `Authorization` header, else the
/// client certificate of a mutual-TLS connection (CSC `authType` "TLS"), which must be
/// registered for a client bound to a user (`signet admin client add --tls-certificate
/// --user`, e-seal use). The handshake already verified the certificate against `client_ca`;
/// registration decides whom it speaks for, so a CA-issued but unregistered certificate gets
/// nothing.
pub async fn caller(
    state: &AppState,
    headers: &HeaderMap,
    client_certificate: Option<ClientCertificate>,
) -> ApiResult<Caller> {
    match client_certificate {
        Some(ClientCertificate(fingerprint)) if !headers.contains_key(header::AUTHORIZATION) => {
            let client = state.store.client_by_tls_certificate(&fingerprint).await?;
            let Some(user_id) = client.and_then(|c| c.user_id) else {
                return Err(ApiError::unauthorized(
                    "invalid_client",
                    "The TLS client certificate is not registered for a client bound to a user",
                ));
            };
            Ok(Caller::Service(live_user(state, user_id).await?))
        }
        _ => bearer(state, headers).await,
    }
}

/// Resolves the Bearer token of a request: a service access token, or a credential token.
pub async fn bearer(state: &AppState, headers: &HeaderMap) -> ApiResult<Caller> {
    let token = bearer_token(headers)?;
    let hash = secrets::secret_hash(token);
    let now = now_unix();
    if let Some(user) = state.store.access_token_user(&hash, now).await? {
        return Ok(Caller::Service(enabled(user)?));
    }
    if let Some(sad) = state.store.sad(&hash, now).await? {
        let user = live_user(state, sad.user_id).await?;
        return Ok(Caller::Credential {
            user,
            credential_id: sad.credential_id,
            token: Zeroizing::new(token.to_owned()),
        });
    }
    Err(ApiError::unauthorized(
        "invalid_token",
        "The access token is invalid or expired",
    ))
}

/// Resolves the Bearer token of a request to its user (service access tokens only).
pub async fn bearer_user(state: &AppState, headers: &HeaderMap) -> ApiResult<User> {
    let token = bearer_token(headers)?;
    let user = state
        .store
        .access_token_user(&secrets::secret_hash(token), now_unix())
        .await?;
    let Some(user) = user else {
        return Err(ApiError::unauthorized(
            "invalid_token",
            "The access token is invalid or expired",
        ));
    };
    enabled(user)
}

/// Decodes `Authorization: Basic base64(user:password)`.
fn basic_credentials(headers: &HeaderMap) -> ApiResult<Option<(String, Zeroizing<String>)>> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || {
        let mut e = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request",
            "Malformed Authorization header: expected Basic",
        );
        e.challenge = Some("Basic realm=\"signet\"");
        e
    };
    let value = value.to_str().map_err(|_| malformed())?;
    let Some((scheme, b64)) = value.split_once(' ') else {
        return Err(malformed());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(malformed());
    }
    let raw = Zeroizing::new(signet_core::b64::decode(b64.trim()).ok_or_else(malformed)?);
    let text = Zeroizing::new(String::from_utf8(raw.to_vec()).map_err(|_| malformed())?);
    let Some((user, pass)) = text.split_once(':') else {
        return Err(ApiError::invalid_request(
            "Basic credentials must be username:password",
        ));
    };
    Ok(Some((user.to_owned(), Zeroizing::new(pass.to_owned()))))
}

pub async fn issue_token(
    state: &AppState,
    user_id: i64,
    kind: TokenKind,
    family: Option<[u8; 32]>,
) -> ApiResult<(Zeroizing<String>, u64)> {
    let token = secrets::random_secret().map_err(|_| ApiError::internal())?;
    let lifetime = match kind {
        TokenKind::Access => state.config.access_token_lifetime.as_secs(),
        TokenKind::Refresh => state.config.refresh_token_lifetime.as_secs(),
    };
    state
        .store
        .insert_token(TokenRecord {
            token_hash: secrets::secret_hash(&token),
            user_id,
            kind,
            family,
            expires_at: now_unix() + lifetime as i64,
        })
        .await?;
    Ok((token, lifetime))
}

/// Checks a username and password (argon2, with the same cost for unknown users); a failure
/// is audited as `auth.login` with its reason. Returns the user when they may sign in.
///
/// First the back-off of `client` (the request's client address, see
/// [`crate::backoff::LoginBackoff::client_address`]): inside it the answer is
/// [`ApiError::backing_off`] (429) at once, with no password hashed and nothing audited.
pub async fn check_password(
    state: &AppState,
    username: &str,
    password: Zeroizing<String>,
    client: Option<IpAddr>,
) -> ApiResult<Option<User>> {
    let attempt = match state.logins.begin(username, client) {
        Ok(attempt) => attempt,
        Err(wait) => {
            tracing::debug!(
                username = %Untrusted(username),
                "password sign-in refused inside its back-off"
            );
            return Err(ApiError::backing_off(backoff::retry_after_seconds(wait)));
        }
    };
    let user = state.store.user_by_name(username).await?;
    let phc = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| secrets::dummy_password_hash().to_owned());
    let password_ok =
        tokio::task::spawn_blocking(move || secrets::verify_password(&password, &phc))
            .await
            .map_err(|_| ApiError::internal())?;
    let actor: String = username.chars().take(MAX_USERNAME_IN_AUDIT).collect();
    if password_ok {
        // Right password (even of a disabled user): not a guess to slow down.
        state.logins.succeeded(attempt);
    }
    match user {
        Some(u) if password_ok && !u.disabled => Ok(Some(u)),
        other => {
            let reason = match other {
                None => "unknown_user",
                Some(u) if u.disabled && password_ok => "user_disabled",
                Some(_) => "bad_password",
            };
            state
                .store
                .append_audit(NewAuditEvent::new(
                    "auth.login",
                    &actor,
                    None,
                    json!({"result": "failure", "reason": reason}),
                ))
                .await?;
            Ok(None)
        }
    }
}

/// How an `auth/login` signs in.
#[derive(Debug)]
pub enum Login {
    /// HTTP Basic username and password.
    Basic {
        username: String,
        password: Zeroizing<String>,
    },
    /// No Basic header: a refresh token.
    Refresh(Zeroizing<String>),
}

/// Decodes an `auth/login` request (the Authorization header and the body) and its
/// `rememberMe` (pure: the handler and the fuzz target call it).
pub fn decode_login(headers: &HeaderMap, body: &Fields) -> ApiResult<(Login, bool)> {
    let remember = body.opt_bool("rememberMe")?.unwrap_or(false);
    if let Some((username, password)) = basic_credentials(headers)? {
        return Ok((Login::Basic { username, password }, remember));
    }
    let Some(refresh) = body.opt_str("refresh_token")? else {
        let mut e = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request",
            "Missing Authorization header (Basic) or refresh_token",
        );
        e.challenge = Some("Basic realm=\"signet\"");
        return Err(e);
    };
    Ok((Login::Refresh(Zeroizing::new(refresh.to_owned())), remember))
}

/// `auth/login` with a refresh token.
async fn refresh_login(state: &AppState, refresh: &str) -> ApiResult<Value> {
    let family = secrets::secret_hash(refresh);
    let record = state.store.token(&family, now_unix()).await?;
    let Some(record) = record.filter(|r| r.kind == TokenKind::Refresh) else {
        return Err(ApiError::invalid_request("Invalid refresh_token"));
    };
    let user = state.store.user_by_id(record.user_id).await?;
    let Some(user) = user.filter(|u| !u.disabled) else {
        return Err(ApiError::invalid_request("Invalid refresh_token"));
    };
    let (access, expires_in) = issue_token(state, user.id, TokenKind::Access, Some(family)).await?;
    state
        .store
        .append_audit(NewAuditEvent::new(
            "auth.login",
            &user.username,
            None,
            json!({"result": "success", "method": "refresh_token"}),
        ))
        .await?;
    Ok(json!({ "access_token": *access, "expires_in": expires_in }))
}

/// `auth/login`; `peer` is the address of the connection (for the back-off).
pub async fn login(
    state: &AppState,
    headers: &HeaderMap,
    body: &Fields,
    peer: Option<IpAddr>,
) -> ApiResult<Value> {
    let (login, remember) = decode_login(headers, body)?;
    let (username, password) = match login {
        Login::Basic { username, password } => (username, password),
        Login::Refresh(refresh) => return refresh_login(state, &refresh).await,
    };
    let client = state.logins.client_address(peer, headers);
    let Some(user) = check_password(state, &username, password, client).await? else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "authentication_error",
            "Authentication failed: wrong username or password",
        ));
    };
    let mut out = serde_json::Map::new();
    let family = if remember {
        let (refresh, _) = issue_token(state, user.id, TokenKind::Refresh, None).await?;
        let family = secrets::secret_hash(&refresh);
        out.insert("refresh_token".into(), Value::String(refresh.to_string()));
        Some(family)
    } else {
        None
    };
    let (access, expires_in) = issue_token(state, user.id, TokenKind::Access, family).await?;
    out.insert("access_token".into(), Value::String(access.to_string()));
    out.insert("expires_in".into(), json!(expires_in));
    state
        .store
        .append_audit(NewAuditEvent::new(
            "auth.login",
            &user.username,
            None,
            json!({"result": "success", "method": "basic", "remember_me": remember}),
        ))
        .await?;
    Ok(Value::Object(out))
}

/// Decodes an `auth/revoke` body: the token and the kind its `token_type_hint` names.
pub fn decode_revoke(body: &Fields) -> ApiResult<(&str, Option<TokenKind>)> {
    let token = body.req_str("token")?;
    let expected = match body.opt_str("token_type_hint")? {
        None => None,
        Some("access_token") => Some(TokenKind::Access),
        Some("refresh_token") => Some(TokenKind::Refresh),
        Some(_) => return Err(ApiError::invalid_param("token_type_hint")),
    };
    Ok((token, expected))
}

/// `auth/revoke`: the caller may revoke its own tokens only; anything else is "invalid".
pub async fn revoke(state: &AppState, user: &User, body: &Fields) -> ApiResult<()> {
    let (token, expected) = decode_revoke(body)?;
    let hash = secrets::secret_hash(token);
    let record = state.store.token(&hash, now_unix()).await?;
    let Some(record) =
        record.filter(|r| r.user_id == user.id && expected.is_none_or(|k| k == r.kind))
    else {
        return Err(ApiError::invalid_param("token"));
    };
    state.store.revoke_token(&hash).await?;
    let kind = match record.kind {
        TokenKind::Access => "access_token",
        TokenKind::Refresh => "refresh_token",
    };
    state
        .store
        .append_audit(NewAuditEvent::new(
            "auth.revoke",
            &user.username,
            None,
            json!({ "token_type": kind }),
        ))
        .await?;
    Ok(())
}
