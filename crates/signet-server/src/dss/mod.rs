//! OASIS DSS-X 2.0 at `/dss/v2/` (the XML binding of ETSI TS 119 432): `sign` takes a
//! SignRequest, `pending` a PendingRequest (the OpenAPI's `retrievePending`), `verify` a
//! VerifyRequest (ETSI TS 119 442: validation with the TS 119 102-2 report, augmentation),
//! each in XML (`application/xml`) or the DSS-X JSON syntax (`application/json`).
//!
//! DSS-X §8.1: every DSS response is HTTP 200 with a `dsb:Result`; HTTP errors only for
//! bodies that are not DSS messages (wrong content type: 415, not XML/JSON or another root
//! element: 400, too large: 413). A missing or invalid access token on a DSS message is
//! RequesterError + `urn:oasis:names:tc:dss:1.0:resultminor:NotAuthorized` (the 2.0
//! ResultMajor enumeration has no AuthenticationError). Signing goes through the same SAM and
//! the same document-signing core as CSC signDoc.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use signet_core::Untrusted;
use signet_dssx::{
    DssResult, Kind, Limits, Message, ParseError, PendingRequest, SignResponse, minor,
};

use crate::body::{has_content_type, read_limited};
use crate::error::ApiError;
use crate::tls::ClientCertificate;
use crate::{AppState, auth};

pub mod pending;
pub mod sign;
pub mod verify;

use pending::{Lookup, PendingStore};

/// The DSS-X routes, with this node's store of asynchronous responses.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dss/v2/sign", post(sign_entry))
        .route("/dss/v2/pending", post(pending_entry))
        .route("/dss/v2/verify", post(verify::entry))
        .layer(Extension(Arc::new(PendingStore::default())))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Syntax {
    Xml,
    Json,
}

/// A DSS answer (DSS-X §8.1: always HTTP 200), written by `xml` or `json` as the request was.
fn respond<R>(
    syntax: Syntax,
    resp: &R,
    xml: fn(&R) -> Vec<u8>,
    json: fn(&R) -> Vec<u8>,
) -> Response {
    let (body, mime) = match syntax {
        Syntax::Xml => (xml(resp), "application/xml; charset=utf-8"),
        Syntax::Json => (json(resp), "application/json"),
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static(mime))],
        body,
    )
        .into_response()
}

fn render(syntax: Syntax, resp: &SignResponse) -> Response {
    respond(
        syntax,
        resp,
        signet_dssx::xml::write,
        signet_dssx::json::write,
    )
}

fn not_supported(message: impl Into<String>) -> DssResult {
    DssResult::requester(minor::NOT_SUPPORTED, message)
}

fn general(message: impl Into<String>) -> DssResult {
    DssResult::requester(minor::GENERAL_ERROR, message)
}

/// What every request's optional inputs must meet: nothing Signet does not honour (DSS-X:
/// named, never ignored), and a language Signet writes its result messages in.
fn check_options(unsupported: &[String], language: Option<&str>) -> Result<(), DssResult> {
    if !unsupported.is_empty() {
        return Err(not_supported(format!(
            "Optional input(s) not supported: {}",
            unsupported.join(", ")
        )));
    }
    if let Some(lang) = language
        && !(lang.eq_ignore_ascii_case("en") || lang.to_ascii_lowercase().starts_with("en-"))
    {
        return Err(not_supported(format!(
            "Language {lang:?}: result messages are in English (en) only"
        )));
    }
    Ok(())
}

fn new_response_id() -> Option<String> {
    signet_sam::secrets::random_id().ok()
}

/// A response carrying only a result.
fn result_only(result: DssResult, request_id: Option<String>) -> SignResponse {
    let mut resp = SignResponse::new(result, request_id);
    resp.response_id = new_response_id();
    resp
}

/// Reads and parses the body: `Err` is the HTTP response (transport error, or the DSS
/// RequesterError of a refused message).
async fn read(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    kind: Kind,
) -> Result<(Syntax, Message), Response> {
    let syntax =
        if has_content_type(headers, "application/xml") || has_content_type(headers, "text/xml") {
            Syntax::Xml
        } else if has_content_type(headers, "application/json") {
            Syntax::Json
        } else {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "invalid_request",
                "Content-Type must be application/xml or application/json",
            )
            .into_response());
        };
    // A signed file to verify is bounded by the validation limits, a document to sign by
    // signDoc's.
    let (body_limit, max_document_bytes) = match kind {
        Kind::Verify => {
            let max = state.service.verification.limits().max_document_bytes;
            (verify::request_limit(max), max)
        }
        Kind::Sign | Kind::Pending => (
            state.config.ades.max_request_bytes,
            state.config.ades.limits.max_document_bytes,
        ),
    };
    let bytes = read_limited(body, body_limit)
        .await
        .map_err(IntoResponse::into_response)?;
    let limits = Limits {
        max_document_bytes,
        max_documents: state.config.ades.max_documents,
        ..Limits::default()
    };
    // Parsing and Base64-decoding megabytes of documents is CPU work: off the async threads.
    let parsed = tokio::task::spawn_blocking(move || match syntax {
        Syntax::Xml => signet_dssx::xml::parse(&bytes, kind, &limits),
        Syntax::Json => signet_dssx::json::parse(&bytes, kind, &limits),
    })
    .await
    .map_err(|_| ApiError::internal().into_response())?;
    match parsed {
        Ok(m) => Ok((syntax, m)),
        Err(ParseError::NotDss(text)) => Err(ApiError::invalid_request(text).into_response()),
        Err(ParseError::Requester {
            minor,
            message,
            request_id,
        }) => {
            tracing::debug!(message = %Untrusted(&message), "DSS-X request refused");
            let result = DssResult::requester(minor, message);
            Err(match kind {
                Kind::Verify => verify::render(syntax, &verify::result_only(result, request_id)),
                Kind::Sign | Kind::Pending => render(syntax, &result_only(result, request_id)),
            })
        }
    }
}

async fn caller(
    state: &AppState,
    headers: &HeaderMap,
    tls: Option<Extension<ClientCertificate>>,
) -> Result<auth::Caller, DssResult> {
    auth::caller(state, headers, tls.map(|Extension(c)| c))
        .await
        .map_err(|e| DssResult::requester(minor::NOT_AUTHORIZED, e.description))
}

async fn sign_entry(
    State(state): State<AppState>,
    Extension(store): Extension<Arc<PendingStore>>,
    tls: Option<Extension<ClientCertificate>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (syntax, message) = match read(&state, &headers, body, Kind::Sign).await {
        Ok(m) => m,
        Err(resp) => return resp,
    };
    let Message::Sign(req) = message else {
        return ApiError::invalid_request("Expected a SignRequest").into_response();
    };
    let request_id = req.request_id.clone();
    let caller = match caller(&state, &headers, tls).await {
        Ok(c) => c,
        Err(result) => return render(syntax, &result_only(result, request_id)),
    };
    let job = match sign::check(&state, &caller, *req).await {
        Ok(job) => job,
        Err(result) => return render(syntax, &result_only(result, request_id)),
    };
    let Some(response_id) = new_response_id() else {
        return render(
            syntax,
            &result_only(
                DssResult::responder(minor::GENERAL_ERROR, "Internal error"),
                request_id,
            ),
        );
    };
    if job.run_async && store.start(&response_id, job.user.id) {
        let mut pending = SignResponse::new(DssResult::pending(), request_id);
        pending.response_id = Some(response_id.clone());
        pending.applied_profiles = job.applied_profiles.clone();
        let (state, store) = (state.clone(), Arc::clone(&store));
        let request_id_for_failure = pending.request_id.clone();
        tokio::spawn(async move {
            // The work runs in its own task so that a failure of it (a panic) still leaves a
            // final answer for the poller instead of Pending until the entry expires.
            let id = response_id.clone();
            let work = tokio::spawn(async move { sign::run(&state, job, id).await });
            let resp = work.await.unwrap_or_else(|_| {
                tracing::error!("DSS-X asynchronous signing task failed");
                result_only(
                    DssResult::responder(minor::GENERAL_ERROR, "Internal error"),
                    request_id_for_failure,
                )
            });
            store.finish(&response_id, resp);
        });
        return render(syntax, &pending);
    }
    render(syntax, &sign::run(&state, job, response_id).await)
}

async fn pending_entry(
    State(state): State<AppState>,
    Extension(store): Extension<Arc<PendingStore>>,
    tls: Option<Extension<ClientCertificate>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (syntax, message) = match read(&state, &headers, body, Kind::Pending).await {
        Ok(m) => m,
        Err(resp) => return resp,
    };
    let Message::Pending(req) = message else {
        return ApiError::invalid_request("Expected a PendingRequest").into_response();
    };
    let PendingRequest {
        request_id,
        profiles,
        unsupported,
    } = req;
    let refuse = |result| render(syntax, &result_only(result, request_id.clone()));
    if let Err(result) = check_options(&unsupported, None) {
        return refuse(result);
    }
    if let Some(p) = profiles.iter().find(|p| {
        p.as_str() != signet_dssx::ASYNC_PROFILE && signet_dssx::alg::creation_profile(p).is_none()
    }) {
        return refuse(not_supported(format!("Profile {p} is not supported")));
    }
    let caller = match caller(&state, &headers, tls).await {
        Ok(c) => c,
        Err(result) => return refuse(result),
    };
    let user_id = match &caller {
        auth::Caller::Service(user) | auth::Caller::Credential { user, .. } => user.id,
    };
    let unknown = || {
        DssResult::requester(
            minor::RESPONSE_ID_UNKNOWN,
            "Unknown or expired ResponseID: give the ResponseID of a Pending answer as the RequestID",
        )
    };
    let Some(id) = request_id.clone() else {
        return refuse(unknown());
    };
    match store.take(&id, user_id) {
        Lookup::Unknown => refuse(unknown()),
        Lookup::Running => {
            let mut resp = SignResponse::new(DssResult::pending(), request_id);
            resp.response_id = Some(id);
            render(syntax, &resp)
        }
        Lookup::Done(resp) => render(syntax, &resp),
    }
}
