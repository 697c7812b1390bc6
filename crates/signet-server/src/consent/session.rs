//! Browser sessions of the consent and approval pages.
//!
//! The cookie holds 256 random bits; the store keeps only their SHA-256, with the signed-in
//! user, the session's anti-CSRF token and the authorization request in progress. Signing in
//! replaces the session (new cookie, new CSRF token) against session fixation.
//!
//! Cookies are `HttpOnly`, `SameSite=Lax` and, when the public URL is `https`, `Secure` with
//! the `__Host-` prefix. Lax rather than Strict: the client application sends the browser to
//! `/oauth2/authorize` with a top-level cross-site navigation, on which a Strict cookie is not
//! sent, so a signed-in signer would look signed out; Lax sends the cookie on such top-level
//! GETs only, never on cross-site POSTs, and every state change here is a POST that also
//! carries the CSRF token.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use signet_sam::{now_unix, secrets};
use signet_store::BrowserSession;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::AppState;
use crate::error::{ApiError, ApiResult};

/// A loaded session, and the cookie to set when it is new.
#[derive(Debug)]
pub struct Session {
    pub record: BrowserSession,
    new_cookie: Option<Zeroizing<String>>,
}

fn cookie_name(state: &AppState) -> &'static str {
    if state.config.oauth2.secure_cookies() {
        "__Host-signet_session"
    } else {
        "signet_session"
    }
}

/// The value of cookie `name` in the request, if any.
fn presented(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The request's live session, if it has one.
pub async fn current(state: &AppState, headers: &HeaderMap) -> ApiResult<Option<Session>> {
    let Some(cookie) = presented(headers, cookie_name(state)) else {
        return Ok(None);
    };
    let record = state
        .store
        .browser_session(&secrets::secret_hash(&cookie), now_unix())
        .await?;
    Ok(record.map(|record| Session {
        record,
        new_cookie: None,
    }))
}

/// The request's live session, or a new anonymous one.
pub async fn current_or_new(state: &AppState, headers: &HeaderMap) -> ApiResult<Session> {
    match current(state, headers).await? {
        Some(s) => Ok(s),
        None => fresh(state, None, None).await,
    }
}

async fn fresh(
    state: &AppState,
    user_id: Option<i64>,
    pending: Option<String>,
) -> ApiResult<Session> {
    let cookie = secrets::random_secret().map_err(|_| ApiError::internal())?;
    let csrf = secrets::random_secret().map_err(|_| ApiError::internal())?;
    let record = BrowserSession {
        session_hash: secrets::secret_hash(&cookie),
        user_id,
        csrf_token: csrf.to_string(),
        pending,
        expires_at: now_unix() + state.config.oauth2.session_lifetime.as_secs() as i64,
    };
    state.store.put_browser_session(record.clone()).await?;
    Ok(Session {
        record,
        new_cookie: Some(cookie),
    })
}

/// Signs `user_id` in: the old session is replaced by a new one that keeps the pending request.
pub async fn rotate(state: &AppState, old: Session, user_id: i64) -> ApiResult<Session> {
    state
        .store
        .delete_browser_session(&old.record.session_hash)
        .await?;
    fresh(state, Some(user_id), old.record.pending).await
}

pub async fn save(state: &AppState, session: &Session) -> ApiResult<()> {
    state
        .store
        .put_browser_session(session.record.clone())
        .await?;
    Ok(())
}

pub async fn end(state: &AppState, session: &Session) -> ApiResult<()> {
    state
        .store
        .delete_browser_session(&session.record.session_hash)
        .await?;
    Ok(())
}

/// The form's CSRF token equals the session's, compared in constant time.
pub fn csrf_ok(session: &Session, presented: Option<&str>) -> bool {
    let expected = session.record.csrf_token.as_bytes();
    presented.is_some_and(|p| p.len() == expected.len() && bool::from(p.as_bytes().ct_eq(expected)))
}

fn cookie_header(state: &AppState, value: &str, max_age: i64) -> Option<HeaderValue> {
    let secure = if state.config.oauth2.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}",
        cookie_name(state)
    ))
    .ok()
}

/// Adds the `Set-Cookie` of a new session to a response.
pub fn set_cookie(state: &AppState, session: &Session, resp: &mut Response) {
    if let Some(cookie) = &session.new_cookie {
        let max_age = state.config.oauth2.session_lifetime.as_secs() as i64;
        if let Some(v) = cookie_header(state, cookie, max_age) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
}

/// Expires the session cookie in the browser.
pub fn clear_cookie(state: &AppState, resp: &mut Response) {
    if let Some(v) = cookie_header(state, "", 0) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_named_cookie() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; signet_session=xyz; b=2"),
        );
        assert_eq!(presented(&h, "signet_session").as_deref(), Some("xyz"));
        assert_eq!(presented(&h, "c"), None);
    }
}
