//! The OAuth2 consent page: what will be signed, by which key, for which application; the
//! signer approves with PIN and TOTP (verified by the SAM) or denies.
//!
//! The request being decided is the session's pending one; the form names its random ID, so a
//! page left open while another request replaced it cannot approve the newer one.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;
use signet_core::HashAlgorithm;
use signet_sam::{Sam, SamError, VerifiedFactors, now_unix, secrets};
use signet_store::{
    AuthCode, CodeState, Credential, CredentialBinding, GrantScope, NewAuditEvent, User,
};

use super::html::{self, esc, hex_groups};
use super::session::{self, Session};
use super::signin::{self, Next};
use super::{FORM_LIMIT, forbidden, redirect_error, session_expired, unavailable};
use crate::AppState;
use crate::oauth2::request::{AuthorizationRequest, CredentialRequest, RequestedScope};
use crate::oauth2::{redirect_source, redirect_target};

/// Starts the signer's part of a validated authorization request: remember it in the browser
/// session, then show the consent page (signed in) or the sign-in page.
pub async fn begin(state: &AppState, headers: &HeaderMap, req: AuthorizationRequest) -> Response {
    let Ok(mut session) = session::current_or_new(state, headers).await else {
        return unavailable();
    };
    if req.prompt_login {
        session.record.user_id = None;
    }
    session.record.pending = serde_json::to_string(&req).ok();
    if session::save(state, &session).await.is_err() {
        return unavailable();
    }
    let mut resp = match session.record.user_id {
        Some(user_id) => show(state, &mut session, user_id, &req, None, StatusCode::FOUND).await,
        None => signin::render(&session, Next::Consent, Some(&req), None, StatusCode::OK),
    };
    session::set_cookie(state, &session, &mut resp);
    resp
}

fn hash_name(h: Option<HashAlgorithm>) -> &'static str {
    match h {
        Some(HashAlgorithm::Sha256) => "SHA-256",
        Some(HashAlgorithm::Sha384) => "SHA-384",
        Some(HashAlgorithm::Sha512) => "SHA-512",
        None => "not bound",
    }
}

/// The credential and the exact binding the signer would approve, or why not.
async fn resolve(
    state: &AppState,
    user: &User,
    c: &CredentialRequest,
) -> Result<(Credential, CredentialBinding), SamError> {
    let cred = state.sam.usable_credential(user, &c.credential_id).await?;
    let binding = Sam::check_binding(&cred, c.num_signatures, c.hashes(), c.hash_algo)?;
    Ok((cred, binding))
}

/// The OAuth2 error for a credential that cannot be authorized.
/// What the consent and approval pages say about a one-time code that was already used.
pub(crate) const REPLAYED_OTP: &str =
    "This one-time code was already used. Wait for the next code and try again.";

fn refusal(e: &SamError) -> &'static str {
    match e {
        SamError::CredentialLocked | SamError::CredentialDisabled | SamError::UserDisabled => {
            "access_denied"
        }
        SamError::Store(_) | SamError::Internal(_) => "server_error",
        _ => "invalid_request",
    }
}

/// Ends the pending request and sends `error` to the client.
async fn abandon(
    state: &AppState,
    session: &mut Session,
    req: &AuthorizationRequest,
    status: StatusCode,
    error: &str,
    description: &str,
) -> Response {
    session.record.pending = None;
    if session::save(state, session).await.is_err() {
        return unavailable();
    }
    redirect_error(
        state,
        status,
        &req.redirect_uri,
        req.state.as_deref(),
        error,
        description,
    )
}

/// Renders the consent page of `req` for the signed-in `user_id`. `redirect_status` is used if
/// the request turns out unusable and the error goes back to the client.
async fn show(
    state: &AppState,
    session: &mut Session,
    user_id: i64,
    req: &AuthorizationRequest,
    error: Option<&str>,
    redirect_status: StatusCode,
) -> Response {
    let user = match state.store.user_by_id(user_id).await {
        Ok(Some(u)) if !u.disabled => u,
        Ok(_) => {
            session.record.user_id = None;
            if session::save(state, session).await.is_err() {
                return unavailable();
            }
            return signin::render(session, Next::Consent, Some(req), None, StatusCode::OK);
        }
        Err(_) => return unavailable(),
    };
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>\n", esc(e)))
        .unwrap_or_default();
    let targets: Vec<String> = redirect_source(&req.redirect_uri).into_iter().collect();
    let (title, body) = match &req.scope {
        RequestedScope::Service => ("Allow access", service_body(session, req, &user, &error)),
        RequestedScope::Credential(c) => match resolve(state, &user, c).await {
            Ok((cred, binding)) => (
                "Approve signature",
                credential_body(session, req, c, &cred, &binding, &user, &error),
            ),
            Err(e) => {
                return abandon(
                    state,
                    session,
                    req,
                    redirect_status,
                    refusal(&e),
                    &signet_service::describe(&e),
                )
                .await;
            }
        },
    };
    let status = if error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    html::page(status, html::document(title, &body), &targets)
}

fn hidden_fields(session: &Session, req: &AuthorizationRequest) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">\n<input type=\"hidden\" name=\"request\" value=\"{}\">\n",
        esc(&session.record.csrf_token),
        esc(&req.id)
    )
}

fn service_body(session: &Session, req: &AuthorizationRequest, user: &User, error: &str) -> String {
    format!(
        "<section class=\"card\">\n<h1>Allow access</h1>\n\
         <p class=\"lead\"><span class=\"client\">{client}</span> asks to use your Signet account: to list your \
         signing credentials and their certificates. Every signature will still need your approval.</p>\n{error}\
         <form method=\"post\" action=\"/oauth2/consent\">\n{hidden}\
         <div class=\"actions\">\
         <button class=\"primary\" type=\"submit\" name=\"action\" value=\"approve\">Allow</button>\
         <button class=\"secondary\" type=\"submit\" name=\"action\" value=\"deny\">Deny</button></div>\n\
         </form>\n<p class=\"muted\">Signed in as {user}.</p>\n</section>",
        client = esc(&req.client_name),
        hidden = hidden_fields(session, req),
        user = esc(&user.username),
    )
}

/// The facts every approval shows: who asks, which key, its certificate, what and how many.
pub fn facts(
    requester: Option<&str>,
    cred: &Credential,
    binding: &CredentialBinding,
    description: Option<&str>,
) -> String {
    let subject = signet_pki::summarize(&cred.certificate)
        .map(|s| s.subject_dn)
        .unwrap_or_else(|_| "(unreadable certificate)".into());
    let mut out = String::from("<dl class=\"facts\">\n");
    if let Some(r) = requester {
        out.push_str(&format!(
            "<dt>Requested by</dt><dd class=\"client\">{}</dd>\n",
            esc(r)
        ));
    }
    out.push_str(&format!(
        "<dt>Signing credential</dt><dd><code>{}</code></dd>\n",
        esc(&cred.id)
    ));
    out.push_str(&format!("<dt>Certificate</dt><dd>{}</dd>\n", esc(&subject)));
    if let Some(d) = description {
        out.push_str(&format!("<dt>Description</dt><dd>{}</dd>\n", esc(d)));
    }
    out.push_str(&format!(
        "<dt>Signatures</dt><dd>{}</dd>\n",
        binding.num_signatures
    ));
    out.push_str(&format!(
        "<dt>Hash algorithm</dt><dd>{}</dd>\n</dl>\n",
        hash_name(binding.hash_algo)
    ));
    out
}

/// The documents (label and digest) of an approval.
pub fn documents(labels: &[Option<String>], hashes: Option<&[Vec<u8>]>) -> String {
    let Some(hashes) = hashes else {
        return "<p class=\"muted\">No document hashes are bound to this authorization (SCAL1).</p>\n".to_owned();
    };
    let mut out = String::from("<h2>Documents</h2>\n<ul class=\"docs\">\n");
    for (i, h) in hashes.iter().enumerate() {
        let label = labels
            .get(i)
            .cloned()
            .flatten()
            .unwrap_or_else(|| format!("Document {}", i + 1));
        out.push_str(&format!(
            "<li><span class=\"doc-label\">{}</span><span class=\"hash\">{}</span></li>\n",
            esc(&label),
            hex_groups(h)
        ));
    }
    out.push_str("</ul>\n");
    out
}

/// PIN and (SCAL2) one-time code fields; `suffix` keeps IDs unique on a page of several forms.
pub fn factor_fields(scal: u8, suffix: &str) -> String {
    let mut out = format!(
        "<label for=\"pin{suffix}\">PIN <span class=\"hint\">of this signing credential</span></label>\n\
         <input id=\"pin{suffix}\" name=\"pin\" type=\"password\" autocomplete=\"off\" required>\n"
    );
    if scal >= 2 {
        out.push_str(&format!(
            "<label for=\"otp{suffix}\">One-time code <span class=\"hint\">6 digits from your authenticator app</span></label>\n\
             <input id=\"otp{suffix}\" name=\"otp\" type=\"text\" inputmode=\"numeric\" pattern=\"[0-9]{{6}}\" maxlength=\"6\" \
             autocomplete=\"one-time-code\" required>\n"
        ));
    }
    out
}

fn credential_body(
    session: &Session,
    req: &AuthorizationRequest,
    c: &CredentialRequest,
    cred: &Credential,
    binding: &CredentialBinding,
    user: &User,
    error: &str,
) -> String {
    let labels: Vec<Option<String>> = c.documents.iter().map(|d| d.label.clone()).collect();
    format!(
        "<section class=\"card\">\n<h1>Approve signature</h1>\n\
         <p class=\"lead\"><span class=\"client\">{client}</span> asks you to sign with your key. \
         Check what will be signed.</p>\n{error}{facts}{docs}\
         <form method=\"post\" action=\"/oauth2/consent\">\n{hidden}{fields}\
         <div class=\"actions\">\
         <button class=\"primary\" type=\"submit\" name=\"action\" value=\"approve\">Approve and sign</button>\
         <button class=\"secondary\" type=\"submit\" name=\"action\" value=\"deny\" formnovalidate>Deny</button></div>\n\
         </form>\n<p class=\"muted\">Signed in as {user}.</p>\n</section>",
        client = esc(&req.client_name),
        facts = facts(
            Some(&req.client_name),
            cred,
            binding,
            c.description.as_deref()
        ),
        docs = documents(&labels, binding.hashes.as_deref()),
        hidden = hidden_fields(session, req),
        fields = factor_fields(cred.scal, ""),
        user = esc(&user.username),
    )
}

pub async fn get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let mut session = match session::current(&state, &headers).await {
        Ok(Some(s)) => s,
        Ok(None) => return session_expired(),
        Err(_) => return unavailable(),
    };
    let Some(req) = signin::pending(&session) else {
        return html::error_page(
            StatusCode::BAD_REQUEST,
            "Nothing to approve",
            "No authorization request is in progress in this browser.",
        );
    };
    match session.record.user_id {
        Some(user_id) => show(&state, &mut session, user_id, &req, None, StatusCode::FOUND).await,
        None => signin::render(&session, Next::Consent, Some(&req), None, StatusCode::OK),
    }
}

pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let Ok(form) = crate::form::read_form(&headers, body, FORM_LIMIT).await else {
        return html::error_page(
            StatusCode::BAD_REQUEST,
            "Request refused",
            "The form could not be read.",
        );
    };
    let mut session = match session::current(&state, &headers).await {
        Ok(Some(s)) => s,
        Ok(None) => return session_expired(),
        Err(_) => return unavailable(),
    };
    if !session::csrf_ok(&session, form.get("csrf")) {
        return forbidden();
    }
    let Some(req) =
        signin::pending(&session).filter(|r| form.get("request") == Some(r.id.as_str()))
    else {
        return html::error_page(
            StatusCode::CONFLICT,
            "This page is out of date",
            "Another authorization request was started in this browser. Go back to the application and start again.",
        );
    };
    let Some(user_id) = session.record.user_id else {
        return signin::render(&session, Next::Consent, Some(&req), None, StatusCode::OK);
    };
    let user = match state.store.user_by_id(user_id).await {
        Ok(Some(u)) if !u.disabled => u,
        Ok(_) => return session_expired(),
        Err(_) => return unavailable(),
    };
    match form.get("action") {
        Some("deny") => deny(&state, &mut session, &req, &user).await,
        Some("approve") => {
            approve(
                &state,
                &mut session,
                &req,
                &user,
                form.get("pin"),
                form.get("otp"),
            )
            .await
        }
        _ => html::error_page(
            StatusCode::BAD_REQUEST,
            "Request refused",
            "Choose Approve or Deny.",
        ),
    }
}

fn audit_detail(req: &AuthorizationRequest) -> serde_json::Value {
    json!({
        "client_id": req.client_id,
        "scope": match req.scope { RequestedScope::Service => "service", RequestedScope::Credential(_) => "credential" },
    })
}

async fn deny(
    state: &AppState,
    session: &mut Session,
    req: &AuthorizationRequest,
    user: &User,
) -> Response {
    let credential = match &req.scope {
        RequestedScope::Credential(c) => Some(c.credential_id.as_str()),
        RequestedScope::Service => None,
    };
    let audit = NewAuditEvent::new(
        "consent.deny",
        &user.username,
        credential,
        audit_detail(req),
    );
    if state.store.append_audit(audit).await.is_err() {
        return unavailable();
    }
    abandon(
        state,
        session,
        req,
        StatusCode::SEE_OTHER,
        "access_denied",
        "The signer denied the request",
    )
    .await
}

async fn approve(
    state: &AppState,
    session: &mut Session,
    req: &AuthorizationRequest,
    user: &User,
    pin: Option<&str>,
    otp: Option<&str>,
) -> Response {
    let scope = match &req.scope {
        RequestedScope::Service => {
            let audit =
                NewAuditEvent::new("consent.approve", &user.username, None, audit_detail(req));
            if state.store.append_audit(audit).await.is_err() {
                return unavailable();
            }
            (GrantScope::Service, None)
        }
        RequestedScope::Credential(c) => {
            let (cred, binding) = match resolve(state, user, c).await {
                Ok(r) => r,
                Err(e) => {
                    return abandon(
                        state,
                        session,
                        req,
                        StatusCode::SEE_OTHER,
                        refusal(&e),
                        &signet_service::describe(&e),
                    )
                    .await;
                }
            };
            let mut detail = audit_detail(req);
            detail["num_signatures"] = json!(binding.num_signatures);
            match state
                .sam
                .verify_factors(user, &cred.id, pin, otp, "consent.approve", detail)
                .await
            {
                Ok(proof) => (GrantScope::Credential(binding), Some(proof)),
                Err(
                    e @ (SamError::MissingFactor(_)
                    | SamError::InvalidPin
                    | SamError::InvalidOtp
                    | SamError::OtpReplayed),
                ) => {
                    let message = match e {
                        SamError::MissingFactor(f) => format!("Enter the {f}."),
                        SamError::OtpReplayed => REPLAYED_OTP.to_owned(),
                        _ => "The PIN or the one-time code is wrong. Try again.".to_owned(),
                    };
                    return show(
                        state,
                        session,
                        user.id,
                        req,
                        Some(&message),
                        StatusCode::SEE_OTHER,
                    )
                    .await;
                }
                Err(e) => {
                    return abandon(
                        state,
                        session,
                        req,
                        StatusCode::SEE_OTHER,
                        refusal(&e),
                        &signet_service::describe(&e),
                    )
                    .await;
                }
            }
        }
    };
    let (scope, proof) = scope;
    issue_code(state, session, req, user, scope, proof).await
}

/// The signer approved: a single-use code bound to client, redirect URI, PKCE challenge and
/// grant goes back to the client in the redirect. A credential grant carries the SAM's seal of
/// the approval (`proof`), which the token endpoint needs to issue the SAD.
async fn issue_code(
    state: &AppState,
    session: &mut Session,
    req: &AuthorizationRequest,
    user: &User,
    scope: GrantScope,
    proof: Option<VerifiedFactors>,
) -> Response {
    let Ok(code) = secrets::random_secret() else {
        return unavailable();
    };
    let code_hash = secrets::secret_hash(&code);
    let approval = match (&scope, proof) {
        (GrantScope::Credential(binding), Some(proof)) => {
            match state.sam.seal_approval(&proof, &code_hash, binding) {
                Ok(seal) => Some(seal),
                Err(_) => return unavailable(),
            }
        }
        _ => None,
    };
    let authorization_details = match &req.scope {
        RequestedScope::Credential(c) => c.authorization_details.as_ref().map(|d| d.to_string()),
        RequestedScope::Service => None,
    };
    let credential = match &scope {
        GrantScope::Credential(b) => Some(b.credential_id.clone()),
        GrantScope::Service => None,
    };
    let record = AuthCode {
        code_hash,
        client_id: req.client_id.clone(),
        redirect_uri: req.redirect_uri_given.then(|| req.redirect_uri.clone()),
        code_challenge: req.code_challenge.clone(),
        user_id: user.id,
        scope,
        authorization_details,
        state: CodeState::Issued,
        expires_at: now_unix() + state.config.oauth2.code_lifetime.as_secs() as i64,
        approval,
    };
    let audit = NewAuditEvent::new(
        "oauth2.code",
        &user.username,
        credential.as_deref(),
        audit_detail(req),
    );
    if state.store.insert_code(record, audit).await.is_err() {
        return unavailable();
    }
    session.record.pending = None;
    if session::save(state, session).await.is_err() {
        return unavailable();
    }
    let mut params = vec![("code", code.as_str())];
    if let Some(s) = req.state.as_deref() {
        params.push(("state", s));
    }
    match redirect_target(&req.redirect_uri, state.config.oauth2.issuer(), &params) {
        Some(target) => html::redirect(StatusCode::SEE_OTHER, &target),
        None => unavailable(),
    }
}
