//! What operators need from the front: request IDs, one access-log line per request, HTTP
//! metrics, `/readyz` and the Prometheus `/metrics` text.
//!
//! Every request runs inside a tracing span `request{request_id, method, route}`, so each log
//! line written while handling it — by the front, the SAM or the store — carries its request ID
//! (JSON logs print the span's fields under `"span"`). The span is at ERROR level on purpose: it
//! is then enabled whatever the configured log level, and a `warn` line still says which request
//! it belongs to.
//!
//! Labels are closed sets: the route is the CSC method or the matched route pattern, never a raw
//! path (which could carry IDs) and never the query string (which can carry OAuth2 codes).

use signet_core::Untrusted;
use std::borrow::Cow;
use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde_json::json;
use tracing::Instrument;

use crate::AppState;
use crate::tls::{ClientCertificate, Peer};

/// Requests answered, by route and status code.
pub const HTTP_REQUESTS: &str = "signet_http_requests_total";
/// Time from the request's arrival at the router to its response head, by route.
pub const HTTP_DURATION: &str = "signet_http_request_duration_seconds";
/// Connections open now.
pub const HTTP_CONNECTIONS: &str = "signet_http_connections";
/// Connections closed at accept, by reason (`max_connections`, `max_connections_per_address`).
pub const HTTP_CONNECTIONS_REFUSED: &str = "signet_http_connections_refused_total";
/// Requests answered 429 by the per-address rate limit.
pub const HTTP_RATE_LIMITED: &str = "signet_http_rate_limited_total";
/// Clients too slow, by phase (`handshake`, `header`, `body`, `response`).
pub const HTTP_TIMEOUTS: &str = "signet_http_timeouts_total";
/// Always 1, labelled with the version: which build a node runs.
pub const BUILD_INFO: &str = "signet_build_info";

/// The request ID header, accepted from the client (or a proxy) and always returned.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
const MAX_REQUEST_ID: usize = 64;

/// Latency buckets, in seconds: from a cached `info` (sub-millisecond) to an RSA-4096 batch.
const DURATION_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The request's ID, in the request extensions for handlers that want to show it.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

static PROMETHEUS: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide Prometheus recorder (once; later calls return the same handle).
/// `None` when another recorder was installed first (an embedding application's).
pub fn install_metrics() -> Option<&'static PrometheusHandle> {
    PROMETHEUS
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), DURATION_BUCKETS)
                .ok()?;
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("another metrics recorder is installed; /metrics stays empty");
                return None;
            }
            describe_counter!(
                HTTP_REQUESTS,
                Unit::Count,
                "HTTP requests answered, by route and status"
            );
            describe_histogram!(
                HTTP_DURATION,
                Unit::Seconds,
                "HTTP request latency until the response head, by route"
            );
            describe_gauge!(HTTP_CONNECTIONS, Unit::Count, "HTTP connections open");
            describe_counter!(
                HTTP_CONNECTIONS_REFUSED,
                Unit::Count,
                "HTTP connections closed at accept, by the cap reached"
            );
            describe_counter!(
                HTTP_RATE_LIMITED,
                Unit::Count,
                "HTTP requests answered 429 by the per-address rate limit"
            );
            describe_counter!(
                HTTP_TIMEOUTS,
                Unit::Count,
                "HTTP clients dropped for slowness, by phase (handshake, header, body, response)"
            );
            gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            signet_sam::telemetry::describe();
            crate::backoff::describe();
            Some(handle)
        })
        .as_ref()
}

/// The installed recorder, if any (metrics are recorded only then).
pub fn metrics_handle() -> Option<&'static PrometheusHandle> {
    PROMETHEUS.get().and_then(Option::as_ref)
}

/// `GET /metrics`: the Prometheus text exposition format.
pub async fn metrics_text() -> Response {
    match metrics_handle() {
        Some(handle) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            handle.render(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "metrics are disabled\n").into_response(),
    }
}

/// Histograms keep raw samples until upkeep folds them into buckets: run it periodically.
pub fn metrics_upkeep() {
    if let Some(handle) = metrics_handle() {
        handle.run_upkeep();
    }
}

/// The client's request ID if it is sane (1-64 characters of `[A-Za-z0-9._-]`), else a new
/// random 128-bit one in hex.
pub(crate) fn request_id(headers: &HeaderMap) -> String {
    let incoming = headers
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=MAX_REQUEST_ID).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        });
    match incoming {
        Some(id) => id.to_owned(),
        None => new_request_id(),
    }
}

fn new_request_id() -> String {
    let mut bytes = [0u8; 16];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        // Uniqueness, not secrecy, is what matters here: fall back to time and a counter.
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        bytes[..8].copy_from_slice(&nanos.to_be_bytes());
        bytes[8..].copy_from_slice(&COUNTER.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    }
    data_encoding::HEXLOWER.encode(&bytes)
}

/// The route label: `/csc/v2/signatures/signHash` for a CSC method Signet knows, the matched
/// route pattern otherwise, `unmatched` for the 404 fallback.
fn route_label(request: &Request) -> Cow<'static, str> {
    let Some(matched) = request.extensions().get::<MatchedPath>() else {
        return Cow::Borrowed("unmatched");
    };
    let pattern = matched.as_str();
    if pattern == crate::CSC_ROUTE {
        let csc = request
            .uri()
            .path()
            .strip_prefix("/csc/")
            .and_then(|rest| rest.split_once('/'))
            .map(|(version, method)| (version, method.trim_end_matches('/')))
            .filter(|(version, method)| {
                matches!(*version, "v1" | "v2") && crate::csc::is_known_method(method)
            });
        if let Some((version, method)) = csc {
            return Cow::Owned(format!("/csc/{version}/{method}"));
        }
    }
    Cow::Owned(pattern.to_owned())
}

/// The middleware around every route: request ID, span, client certificate, access log and
/// HTTP metrics.
pub async fn observe(mut request: Request, next: Next) -> Response {
    let start = Instant::now();
    let id = request_id(request.headers());
    let route = route_label(&request);
    let method = request.method().clone();
    let client_certificate = request
        .extensions()
        .get::<ConnectInfo<Peer>>()
        .and_then(|ConnectInfo(peer)| peer.client_certificate);
    if let Some(fingerprint) = client_certificate {
        request
            .extensions_mut()
            .insert(ClientCertificate(fingerprint));
    }
    request.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::error_span!("request", request_id = %id, method = %Untrusted(&method), route = %route);
    let mut response = next.run(request).instrument(span.clone()).await;
    let elapsed = start.elapsed();
    let status = response.status();
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    // One line per request. Successful ones at debug: at thousands of requests per second an
    // info line each would dominate the log; refusals (4xx) at info, failures (5xx) at warn.
    let duration_ms = elapsed.as_secs_f64() * 1000.0;
    span.in_scope(|| {
        let status = status.as_u16();
        if status >= 500 {
            tracing::warn!(status, duration_ms, "request failed");
        } else if status >= 400 {
            tracing::info!(status, duration_ms, "request refused");
        } else {
            tracing::debug!(status, duration_ms, "request served");
        }
    });
    if metrics_handle().is_some() {
        counter!(HTTP_REQUESTS, "route" => route.clone(), "status" => status.as_str().to_owned())
            .increment(1);
        histogram!(HTTP_DURATION, "route" => route).record(elapsed.as_secs_f64());
    }
    response
}

/// `GET /readyz`: 200 `ok`, or 503 with `{"status": "unavailable", "failed": {"store": ...,
/// "key_module": ...}}` (error kinds only, see [`signet_service::Readiness`]).
pub async fn readyz(State(state): State<AppState>) -> Response {
    readiness_response(state.service.readiness().await)
}

fn readiness_response(readiness: signet_service::Readiness) -> Response {
    let mut failed = serde_json::Map::new();
    if let Some(e) = readiness.store {
        failed.insert("store".into(), json!(e));
    }
    if let Some(e) = readiness.key_module {
        failed.insert("key_module".into(), json!(e));
    }
    if failed.is_empty() {
        return (StatusCode::OK, "ok").into_response();
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(json!({ "status": "unavailable", "failed": failed })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_accepted_only_when_sane() {
        let mut headers = HeaderMap::new();
        let fresh = request_id(&headers);
        assert_eq!(fresh.len(), 32);
        assert!(fresh.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(fresh, request_id(&headers), "random each time");
        headers.insert(REQUEST_ID_HEADER, HeaderValue::from_static("abc-123_x.y"));
        assert_eq!(request_id(&headers), "abc-123_x.y");
        for bad in ["", "a b", "a\"b", "ü", &"x".repeat(65)] {
            if let Ok(v) = HeaderValue::from_str(bad) {
                headers.insert(REQUEST_ID_HEADER, v);
                assert_ne!(request_id(&headers), bad, "{bad:?} is replaced");
            }
        }
        headers.insert(
            REQUEST_ID_HEADER,
            HeaderValue::from_str(&"x".repeat(64)).expect("header"),
        );
        assert_eq!(request_id(&headers), "x".repeat(64));
    }

    #[tokio::test]
    async fn readiness_failures_name_the_dependency() {
        let ok = readiness_response(signet_service::Readiness::default());
        assert_eq!(ok.status(), StatusCode::OK);
        let failed = readiness_response(signet_service::Readiness {
            store: None,
            key_module: Some("unavailable".into()),
        });
        assert_eq!(failed.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(failed.into_body(), 1 << 16)
            .await
            .expect("body");
        let body: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(
            body,
            json!({ "status": "unavailable", "failed": { "key_module": "unavailable" } })
        );
    }
}
