//! The CSC API, v1 (`/csc/v1/`) and v2 (`/csc/v2/`).
//!
//! One entry point dispatches on (version, method) so that unknown methods (404), known but
//! unimplemented ones (501), wrong HTTP methods (405), body limits and content types are decided
//! in one place. v2 routes also accept v1 member names (`hash`, `hashAlgo`, `PIN`, `OTP`)
//! because pyHanko speaks v1 shapes even on v2 paths (csc-api.md §10).

use signet_core::Untrusted;
use std::net::IpAddr;

use axum::Extension;
use axum::body::Body;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::body::read_json;
use crate::error::{ApiError, ApiResult};
use crate::tls::{ClientCertificate, Peer};
use crate::{AppState, auth};

pub mod credentials;
mod errors;
pub mod info;
pub mod sign_doc;
pub mod signatures;
pub mod timestamp;

pub(crate) use errors::{decoupled_error, sam_error};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// Methods Signet implements, as listed in `info.methods`.
pub const METHODS: &[&str] = &[
    "info",
    "auth/login",
    "auth/revoke",
    "credentials/list",
    "credentials/info",
    "credentials/authorize",
    "credentials/authorizeCheck",
    "credentials/extendTransaction",
    "signatures/signHash",
    "signatures/signDoc",
    "signatures/timestamp",
];

/// CSC methods that exist in some version but that Signet does not offer (yet): 501.
const NOT_IMPLEMENTED: &[&str] = &[
    "credentials/getChallenge",
    "credentials/sendOTP",
    "credentials/create",
    "credentials/delete",
    "signatures/signPolling",
];

/// Whether `method` names a CSC method (implemented or not): the metrics label a request with
/// it only then, so that arbitrary paths cannot create new series.
pub fn is_known_method(method: &str) -> bool {
    METHODS.contains(&method) || NOT_IMPLEMENTED.contains(&method)
}

pub enum Reply {
    Json(Value),
    /// 200 with a JSON object serialized by the handler (signDoc writes its Base64 documents
    /// straight into the body instead of through a `Value`).
    RawJson(Vec<u8>),
    /// 202: an asynchronous authorization is still waiting for the signer.
    Accepted(Value),
    NoContent,
}

pub async fn entry(
    State(state): State<AppState>,
    Path((version, method)): Path<(String, String)>,
    http_method: Method,
    headers: HeaderMap,
    client_certificate: Option<Extension<ClientCertificate>>,
    connection: Option<Extension<ConnectInfo<Peer>>>,
    body: Body,
) -> Response {
    let version = match version.as_str() {
        "v1" => Version::V1,
        "v2" => Version::V2,
        other => {
            return ApiError::new(
                StatusCode::NOT_FOUND,
                "invalid_request",
                format!("Unknown API version {other}"),
            )
            .into_response();
        }
    };
    let method = method.trim_end_matches('/');
    let tls = client_certificate.map(|Extension(c)| c);
    let peer = connection.map(|Extension(ConnectInfo(p))| p.remote.ip());
    match handle(
        &state,
        version,
        method,
        &http_method,
        &headers,
        tls,
        peer,
        body,
    )
    .await
    {
        Ok(Reply::Json(v)) => (StatusCode::OK, axum::Json(v)).into_response(),
        Ok(Reply::RawJson(body)) => (
            StatusCode::OK,
            [(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        Ok(Reply::Accepted(v)) => (StatusCode::ACCEPTED, axum::Json(v)).into_response(),
        Ok(Reply::NoContent) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => {
            // Descriptions never carry secrets; they tell an operator why a client was refused.
            tracing::debug!(
                method = %Untrusted(method),
                status = e.status.as_u16(),
                error = e.error,
                description = %Untrusted(&e.description),
                "request refused"
            );
            e.into_response()
        }
    }
}

#[allow(clippy::too_many_arguments)] // the parts of the request each method may need
async fn handle(
    state: &AppState,
    version: Version,
    method: &str,
    http_method: &Method,
    headers: &HeaderMap,
    client_certificate: Option<ClientCertificate>,
    peer: Option<IpAddr>,
    body: Body,
) -> ApiResult<Reply> {
    if !METHODS.contains(&method) {
        return Err(if NOT_IMPLEMENTED.contains(&method) {
            ApiError::new(
                StatusCode::NOT_IMPLEMENTED,
                "not_implemented",
                format!("Method {method} is not implemented"),
            )
        } else {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "invalid_request",
                format!("Unknown method {method}"),
            )
        });
    }
    // A v2 method: on v1 paths it does not exist, for any caller (checked before authentication,
    // like an unknown method).
    if version == Version::V1 && method == "signatures/signDoc" {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "invalid_request",
            "signatures/signDoc is a CSC v2 method: use /csc/v2/signatures/signDoc",
        ));
    }
    // info may be fetched with GET (certomancer and some clients do); everything else is POST.
    let get_ok = method == "info" && http_method == Method::GET;
    if http_method != Method::POST && !get_ok {
        let allow = if method == "info" { "GET,POST" } else { "POST" };
        return Err(ApiError::method_not_allowed(
            allow,
            format!("Use POST for {method}"),
        ));
    }
    let fields = if get_ok {
        Default::default()
    } else {
        // signDoc carries whole documents; every other method small JSON.
        let limit = if method == "signatures/signDoc" {
            state.config.ades.max_request_bytes
        } else {
            state.config.max_body_bytes
        };
        read_json(headers, body, limit).await?
    };
    if method == "info" {
        return Ok(Reply::Json(info::info(state, version)));
    }
    if method == "auth/login" {
        return auth::login(state, headers, &fields, peer)
            .await
            .map(Reply::Json);
    }
    let caller = auth::caller(state, headers, client_certificate).await?;
    let user = caller.user_for(method, fields.opt_str("credentialID").ok().flatten())?;
    match method {
        "auth/revoke" => auth::revoke(state, user, &fields)
            .await
            .map(|()| Reply::NoContent),
        "credentials/list" => credentials::list(state, version, user, &fields)
            .await
            .map(Reply::Json),
        "credentials/info" => credentials::info(state, version, user, &fields)
            .await
            .map(Reply::Json),
        "credentials/authorize" => credentials::authorize(state, version, user, &fields).await,
        "credentials/authorizeCheck" => credentials::authorize_check(state, user, &fields).await,
        "credentials/extendTransaction" => {
            credentials::extend_transaction(state, version, user, &fields)
                .await
                .map(Reply::Json)
        }
        "signatures/signHash" => {
            signatures::sign_hash(state, version, user, &fields, caller.credential_token())
                .await
                .map(Reply::Json)
        }
        "signatures/signDoc" => sign_doc::sign_doc(state, user, &fields, caller.credential_token())
            .await
            .map(Reply::RawJson),
        "signatures/timestamp" => timestamp::timestamp(state, &fields).await.map(Reply::Json),
        _ => Err(ApiError::internal()),
    }
}
