//! Publication of the embedded CA's validation data and the built-in TSA over HTTP (no
//! authentication: relying parties and validators fetch them anonymously):
//! - `GET /ca/cert`: the CA certificate, DER, `application/pkix-cert` (RFC 2585 §4.1; the
//!   caIssuers URL of issued certificates, RFC 5280 §4.2.2.1);
//! - `GET /ca/crl`: the current CRL, DER, `application/pkix-crl` (RFC 2585 §4.2; the
//!   cRLDistributionPoints URL);
//! - `POST /ocsp` (`application/ocsp-request` → `application/ocsp-response`) and
//!   `GET /ocsp/{base64 request}` (RFC 6960 Appendix A.1);
//! - `POST /tsa` (`application/timestamp-query` → `application/timestamp-reply`, RFC 3161 §3.4),
//!   only with the built-in TSA.
//!
//! What they publish comes from [`signet_service::PkiService`].

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use signet_core::Untrusted;
use signet_pki::revocation::{OCSP_INTERNAL_ERROR, OCSP_MALFORMED_REQUEST, OCSP_TRY_LATER};
use signet_service::{PkiServiceError, TimeStampSource};

use crate::AppState;
use crate::body::has_content_type;

/// Largest OCSP or time-stamp request accepted (real ones are well under 1 KiB).
const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// `/ca/cert`, `/ca/crl`, `/ocsp`, `/ocsp/{request}`, and `/tsa` with the built-in TSA.
pub fn routes(source: &TimeStampSource) -> Router<AppState> {
    let router = Router::new()
        .route("/ca/cert", get(ca_certificate))
        .route("/ca/crl", get(crl))
        .route("/ocsp", post(ocsp_post))
        .route("/ocsp/{*request}", get(ocsp_get));
    match source {
        TimeStampSource::Builtin(_) => router.route("/tsa", post(tsa_post)),
        TimeStampSource::External { .. } => router,
    }
}

fn der_response(content_type: &'static str, body: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response()
}

fn plain_error(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"))],
        text,
    )
        .into_response()
}

async fn read_body(body: Body) -> Result<Vec<u8>, Response> {
    // Refused on its declared length before anything is read (no `100 Continue`).
    if crate::body::declared_over(&body, MAX_REQUEST_BYTES) {
        return Err(plain_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request too large\n",
        ));
    }
    axum::body::to_bytes(body, MAX_REQUEST_BYTES)
        .await
        .map(|b| b.to_vec())
        .map_err(|_| plain_error(StatusCode::PAYLOAD_TOO_LARGE, "request too large\n"))
}

async fn ca_certificate(State(state): State<AppState>) -> Response {
    der_response(
        "application/pkix-cert",
        state.service.pki.ca().certificate.clone(),
    )
}

async fn crl(State(state): State<AppState>) -> Response {
    match state.service.pki.current_crl().await {
        Ok(der) => der_response("application/pkix-crl", der),
        Err(e) => {
            tracing::error!(error = %Untrusted(&e), "cannot produce the CRL");
            plain_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "CRL unavailable, try again\n",
            )
        }
    }
}

async fn ocsp_answer(state: &AppState, request: Vec<u8>) -> Response {
    let der = match state.service.pki.ocsp(request).await {
        Ok(der) => der,
        Err(PkiServiceError::Store(e)) => {
            tracing::error!(error = %Untrusted(&e), "OCSP: store unavailable");
            OCSP_TRY_LATER.to_vec()
        }
        Err(e) => {
            tracing::error!(error = %Untrusted(&e), "OCSP: cannot sign");
            OCSP_INTERNAL_ERROR.to_vec()
        }
    };
    // RFC 6960 A.1: errors too are OCSPResponses with status 200.
    der_response("application/ocsp-response", der)
}

async fn ocsp_post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    if !has_content_type(&headers, "application/ocsp-request") {
        return plain_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/ocsp-request\n",
        );
    }
    match read_body(body).await {
        Ok(request) => ocsp_answer(&state, request).await,
        Err(response) => response,
    }
}

/// RFC 6960 A.1: "GET {url}/{url-encoding of base-64 encoding of the DER encoding of the
/// OCSPRequest}". The path is percent-decoded by the router; URL-safe Base64 is accepted too.
async fn ocsp_get(State(state): State<AppState>, Path(request): Path<String>) -> Response {
    let text = request.trim_start_matches('/');
    let normalized: String = text
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    let padded = match normalized.len() % 4 {
        2 => format!("{normalized}=="),
        3 => format!("{normalized}="),
        _ => normalized,
    };
    match signet_core::b64::decode(&padded) {
        Some(der) if der.len() <= MAX_REQUEST_BYTES => ocsp_answer(&state, der).await,
        _ => der_response("application/ocsp-response", OCSP_MALFORMED_REQUEST.to_vec()),
    }
}

async fn tsa_post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    if !has_content_type(&headers, "application/timestamp-query") {
        return plain_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/timestamp-query\n",
        );
    }
    let request = match read_body(body).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    // Malformed requests get an RFC 3161 rejection, not an HTTP error.
    match state
        .service
        .pki
        .respond_to_timestamp_request(request)
        .await
    {
        Ok(Some(reply)) => der_response("application/timestamp-reply", reply),
        Ok(None) => plain_error(StatusCode::NOT_FOUND, "no built-in TSA\n"),
        Err(e) => {
            tracing::error!(error = %Untrusted(&e), "TSA unavailable");
            plain_error(StatusCode::SERVICE_UNAVAILABLE, "TSA unavailable\n")
        }
    }
}
