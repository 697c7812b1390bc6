//! The approval page of decoupled authorizations (`--auth oob` credentials): the signer, signed
//! in (typically on their phone), sees every request waiting for them with the same detail as
//! the consent page and approves each with PIN and TOTP, or denies it.

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use signet_core::Untrusted;
use signet_sam::{SamError, now_unix};
use signet_service::decoupled::{Decision, DecoupledError};
use signet_store::{OobRequest, User};

use super::authorization::{documents, factor_fields, facts};
use super::html::{self, esc};
use super::session::{self, Session};
use super::signin::{self, Next};
use super::{FORM_LIMIT, forbidden, unavailable};
use crate::AppState;
use crate::form::Params;

/// A message for one request card, or for the page.
struct Notice<'a> {
    request: Option<&'a str>,
    text: String,
    error: bool,
}

async fn render(
    state: &AppState,
    session: &Session,
    user: &User,
    notice: Option<Notice<'_>>,
    status: StatusCode,
) -> Response {
    let pending = match state.store.pending_oob(user.id, now_unix()).await {
        Ok(p) => p,
        Err(_) => return unavailable(),
    };
    let banner = |n: &Notice<'_>| {
        let class = if n.error { "error" } else { "notice" };
        format!(
            "<p class=\"{class}\" role=\"status\">{}</p>\n",
            esc(&n.text)
        )
    };
    let mut body = String::from("<section class=\"card\">\n<h1>Signature requests</h1>\n");
    if let Some(n) = notice.as_ref().filter(|n| n.request.is_none()) {
        body.push_str(&banner(n));
    }
    if pending.is_empty() {
        body.push_str("<p class=\"lead\">Nothing is waiting for your approval.</p>\n<p><a href=\"/approve\">Refresh</a></p>\n");
    } else {
        body.push_str(&format!(
            "<p class=\"lead\">{} request{} waiting for your approval.</p>\n",
            pending.len(),
            if pending.len() == 1 { " is" } else { "s are" }
        ));
    }
    body.push_str("</section>\n");
    for (i, request) in pending.iter().enumerate() {
        let card_notice = notice
            .as_ref()
            .filter(|n| n.request == Some(request.id.as_str()))
            .map(banner)
            .unwrap_or_default();
        match card(state, session, request, i, &card_notice).await {
            Some(html) => body.push_str(&html),
            None => continue,
        }
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"/signout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <p class=\"muted\">Signed in as {}. <button class=\"plain\" type=\"submit\">Sign out</button></p></form>\n",
        esc(&session.record.csrf_token),
        esc(&user.username)
    ));
    html::page(status, html::document("Signature requests", &body), &[])
}

async fn card(
    state: &AppState,
    session: &Session,
    request: &OobRequest,
    index: usize,
    notice: &str,
) -> Option<String> {
    let cred = state
        .store
        .credential(&request.binding.credential_id)
        .await
        .ok()
        .flatten()?;
    let minutes = ((request.expires_at - now_unix()).max(0) + 59) / 60;
    Some(format!(
        "<section class=\"card\">\n<h2>Approve signature</h2>\n{notice}{facts}{docs}\
         <p class=\"muted\">Expires in {minutes} min.</p>\n\
         <form method=\"post\" action=\"/approve\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n<input type=\"hidden\" name=\"request\" value=\"{id}\">\n{fields}\
         <div class=\"actions\">\
         <button class=\"primary\" type=\"submit\" name=\"action\" value=\"approve\">Approve and sign</button>\
         <button class=\"secondary\" type=\"submit\" name=\"action\" value=\"deny\" formnovalidate>Deny</button></div>\n\
         </form>\n</section>\n",
        facts = facts(
            None,
            &cred,
            &request.binding,
            request.description.as_deref()
        ),
        docs = documents(&[], request.binding.hashes.as_deref()),
        csrf = esc(&session.record.csrf_token),
        id = esc(&request.id),
        fields = factor_fields(cred.scal, &format!("-{index}")),
    ))
}

async fn signed_in(state: &AppState, session: &Session) -> Result<Option<User>, Response> {
    let Some(user_id) = session.record.user_id else {
        return Ok(None);
    };
    match state.store.user_by_id(user_id).await {
        Ok(Some(u)) if !u.disabled => Ok(Some(u)),
        Ok(_) => Ok(None),
        Err(_) => Err(unavailable()),
    }
}

pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let Ok(session) = session::current_or_new(&state, &headers).await else {
        return unavailable();
    };
    let mut resp = match signed_in(&state, &session).await {
        Err(resp) => resp,
        Ok(None) => signin::render(&session, Next::Approve, None, None, StatusCode::OK),
        Ok(Some(user)) => {
            let done = Params::parse(query.as_deref().unwrap_or("")).ok();
            let notice = match done.as_ref().and_then(|p| p.get("done")) {
                Some("approved") => Some("Approved. The application can now sign."),
                Some("denied") => Some("Denied. The application was told."),
                Some("gone") => Some("That request is no longer waiting for approval."),
                _ => None,
            }
            .map(|t| Notice {
                request: None,
                text: t.to_owned(),
                error: false,
            });
            render(&state, &session, &user, notice, StatusCode::OK).await
        }
    };
    session::set_cookie(&state, &session, &mut resp);
    resp
}

pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let Ok(form) = crate::form::read_form(&headers, body, FORM_LIMIT).await else {
        return html::error_page(
            StatusCode::BAD_REQUEST,
            "Request refused",
            "The form could not be read.",
        );
    };
    let session = match session::current(&state, &headers).await {
        Ok(Some(s)) => s,
        Ok(None) => return html::redirect(StatusCode::SEE_OTHER, "/approve"),
        Err(_) => return unavailable(),
    };
    if !session::csrf_ok(&session, form.get("csrf")) {
        return forbidden();
    }
    let user = match signed_in(&state, &session).await {
        Err(resp) => return resp,
        Ok(None) => return html::redirect(StatusCode::SEE_OTHER, "/approve"),
        Ok(Some(u)) => u,
    };
    let Some(id) = form.get("request") else {
        return html::redirect(StatusCode::SEE_OTHER, "/approve");
    };
    let decision = match form.get("action") {
        Some("approve") => Decision::Approve {
            pin: form.get("pin").unwrap_or(""),
            otp: form.get("otp"),
        },
        Some("deny") => Decision::Deny,
        _ => {
            return html::error_page(
                StatusCode::BAD_REQUEST,
                "Request refused",
                "Choose Approve or Deny.",
            );
        }
    };
    let approving = matches!(decision, Decision::Approve { .. });
    match state.service.decide_decoupled(&user, id, decision).await {
        Ok(()) => html::redirect(
            StatusCode::SEE_OTHER,
            if approving {
                "/approve?done=approved"
            } else {
                "/approve?done=denied"
            },
        ),
        Err(DecoupledError::NotPending) => {
            html::redirect(StatusCode::SEE_OTHER, "/approve?done=gone")
        }
        Err(DecoupledError::Refused(e)) => {
            let notice = Notice {
                request: Some(id),
                text: refused_text(&e),
                error: true,
            };
            render(
                &state,
                &session,
                &user,
                Some(notice),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => {
            tracing::error!(error = %Untrusted(&e), "decoupled approval failed");
            unavailable()
        }
    }
}

/// What the approval page says when the SAM refused the signer's factors.
fn refused_text(e: &SamError) -> String {
    match e {
        SamError::InvalidPin | SamError::InvalidOtp => {
            "The PIN or the one-time code is wrong. Try again.".to_owned()
        }
        SamError::OtpReplayed => super::authorization::REPLAYED_OTP.to_owned(),
        other => signet_service::describe(other).into_owned(),
    }
}
