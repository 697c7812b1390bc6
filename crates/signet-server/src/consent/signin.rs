//! Sign-in (username and password) for the consent and approval pages, and sign-out.

use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::extract::connect_info::ConnectInfo;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::json;
use signet_store::NewAuditEvent;
use zeroize::Zeroizing;

use super::html::{self, esc};
use super::session::{self, Session};
use super::{FORM_LIMIT, forbidden, session_expired, unavailable};
use crate::oauth2::redirect_source;
use crate::oauth2::request::AuthorizationRequest;
use crate::tls::Peer;
use crate::{AppState, auth};

/// Where to go after signing in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// The OAuth2 consent page of the pending authorization request.
    Consent,
    /// The list of decoupled approvals.
    Approve,
}

impl Next {
    fn as_str(self) -> &'static str {
        match self {
            Self::Consent => "consent",
            Self::Approve => "approve",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Self::Consent => "/oauth2/consent",
            Self::Approve => "/approve",
        }
    }
}

/// The sign-in page. `pending` names the client that asks (consent flow).
pub fn render(
    session: &Session,
    next: Next,
    pending: Option<&AuthorizationRequest>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let lead = match pending {
        Some(req) => format!(
            "<p class=\"lead\"><span class=\"client\">{}</span> asks for your approval. Sign in to Signet to continue.</p>",
            esc(&req.client_name)
        ),
        None => {
            "<p class=\"lead\">Sign in to see the signature requests waiting for your approval.</p>"
                .to_owned()
        }
    };
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e)))
        .unwrap_or_default();
    let body = format!(
        "<section class=\"card\">\n<h1>Sign in</h1>\n{lead}\n{error}\n\
         <form method=\"post\" action=\"/signin\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
         <input type=\"hidden\" name=\"next\" value=\"{next}\">\n\
         <label for=\"username\">Username</label>\n\
         <input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" required>\n\
         <label for=\"password\">Password</label>\n\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\n\
         <div class=\"actions\"><button class=\"primary\" type=\"submit\">Sign in</button></div>\n\
         </form>\n</section>",
        csrf = esc(&session.record.csrf_token),
        next = next.as_str(),
    );
    // After sign-in the browser may be redirected on to the client (an error found on the
    // consent page): allow that target for this form.
    let targets: Vec<String> = pending
        .and_then(|r| redirect_source(&r.redirect_uri))
        .into_iter()
        .collect();
    html::page(status, html::document("Sign in", &body), &targets)
}

/// The pending authorization request of a session, if any.
pub fn pending(session: &Session) -> Option<AuthorizationRequest> {
    session
        .record
        .pending
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok())
}

pub async fn post(
    State(state): State<AppState>,
    connection: Option<Extension<ConnectInfo<Peer>>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Ok(form) = crate::form::read_form(&headers, body, FORM_LIMIT).await else {
        return html::error_page(
            StatusCode::BAD_REQUEST,
            "Request refused",
            "The form could not be read.",
        );
    };
    let next = match form.get("next") {
        Some("approve") => Next::Approve,
        _ => Next::Consent,
    };
    let session = match session::current(&state, &headers).await {
        Ok(Some(s)) => s,
        Ok(None) if next == Next::Approve => {
            return html::redirect(StatusCode::SEE_OTHER, "/approve");
        }
        Ok(None) => return session_expired(),
        Err(_) => return unavailable(),
    };
    if !session::csrf_ok(&session, form.get("csrf")) {
        return forbidden();
    }
    let pending = pending(&session);
    let (Some(username), Some(password)) = (form.get("username"), form.get("password")) else {
        return render(
            &session,
            next,
            pending.as_ref(),
            Some("Enter your username and password."),
            StatusCode::BAD_REQUEST,
        );
    };
    let password = Zeroizing::new(password.to_owned());
    let peer = connection.map(|Extension(ConnectInfo(p))| p.remote.ip());
    let client = state.logins.client_address(peer, &headers);
    let user = match auth::check_password(&state, username, password, client).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            return render(
                &session,
                next,
                pending.as_ref(),
                Some("Wrong username or password."),
                StatusCode::UNAUTHORIZED,
            );
        }
        Err(e) => match e.retry_after {
            Some(seconds) => {
                let mut page = render(
                    &session,
                    next,
                    pending.as_ref(),
                    Some(&format!(
                        "Too many failed sign-in attempts. Try again in {seconds} seconds."
                    )),
                    StatusCode::TOO_MANY_REQUESTS,
                );
                page.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
                return page;
            }
            None => return unavailable(),
        },
    };
    let Ok(signed_in) = session::rotate(&state, session, user.id).await else {
        return unavailable();
    };
    let audit = NewAuditEvent::new(
        "auth.login",
        &user.username,
        None,
        json!({ "result": "success", "method": "browser" }),
    );
    if state.store.append_audit(audit).await.is_err() {
        return unavailable();
    }
    let mut resp = html::redirect(StatusCode::SEE_OTHER, next.path());
    session::set_cookie(&state, &signed_in, &mut resp);
    resp
}

pub async fn signout(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let Ok(form) = crate::form::read_form(&headers, body, FORM_LIMIT).await else {
        return html::error_page(
            StatusCode::BAD_REQUEST,
            "Request refused",
            "The form could not be read.",
        );
    };
    match session::current(&state, &headers).await {
        Ok(Some(s)) if session::csrf_ok(&s, form.get("csrf")) => {
            if session::end(&state, &s).await.is_err() {
                return unavailable();
            }
        }
        Ok(Some(_)) => return forbidden(),
        Ok(None) => {}
        Err(_) => return unavailable(),
    }
    let mut resp = html::redirect(StatusCode::SEE_OTHER, "/approve");
    session::clear_cookie(&state, &mut resp);
    resp
}
