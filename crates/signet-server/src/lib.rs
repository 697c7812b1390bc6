//! Signet's protocol bindings over HTTP: the CSC API v1 and v2, DSS-X 2.0, the OAuth2
//! authorization server with its consent and approval pages, and the publication of the CA's
//! validation data and the built-in TSA.
//!
//! Each binding parses its wire format into a typed request, calls the service layer
//! (`signet-service`) or the SAM, and writes the answer — and every error, mapped in one place
//! per binding — in its own format. This crate cannot reach a key: it does not depend on
//! `signet-keys`, and signing goes through the SAM only.

#![forbid(unsafe_code)]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{any, get};
use signet_sam::Sam;
use signet_service::Service;
use signet_store::Store;
use tokio::net::TcpListener;

pub use crate::limits::HttpSettings;
pub use crate::net::Listener;

pub mod auth;
pub mod backoff;
pub mod body;
pub mod consent;
pub mod csc;
pub mod drain;
pub mod dss;
pub mod error;
pub mod form;
pub mod limits;
pub mod net;
pub mod oauth2;
pub mod openapi;
pub mod ops;
pub mod pki;
pub mod tls;

/// What `info` says about the service.
#[derive(Debug, Clone)]
pub struct ServiceInfo {
    pub name: String,
    pub logo: String,
    pub region: String,
    pub lang: String,
    pub description: String,
}

impl Default for ServiceInfo {
    fn default() -> Self {
        Self {
            name: "Signet".into(),
            logo: "http://127.0.0.1:8080/logo.png".into(),
            region: "EU".into(),
            lang: "en-US".into(),
            description: "Signet remote signature creation service (CSC API, ETSI TS 119 432)"
                .into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub service: ServiceInfo,
    pub access_token_lifetime: Duration,
    pub refresh_token_lifetime: Duration,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Most hashes accepted in one authorize / signHash.
    pub max_hashes: usize,
    pub oauth2: OAuth2Settings,
    pub ops: OpsSettings,
    /// signatures/signDoc limits.
    pub ades: signet_service::AdesSettings,
    /// Timeouts, connection caps and request rate per client address (`[http]`).
    pub http: HttpSettings,
}

/// Metrics and mutual TLS, as far as the router needs to know.
#[derive(Debug, Clone)]
pub struct OpsSettings {
    /// Record metrics (install the Prometheus recorder when serving).
    pub metrics: bool,
    /// Serve `/metrics` on the main listener; false when a separate metrics listener serves it.
    pub metrics_on_main_listener: bool,
    /// TLS client certificates are verified against a configured CA: CSC `info` lists the
    /// `authType` "TLS".
    pub client_certificates: bool,
}

impl Default for OpsSettings {
    fn default() -> Self {
        Self {
            metrics: true,
            metrics_on_main_listener: true,
            client_certificates: false,
        }
    }
}

/// The OAuth2 authorization server, the consent pages and decoupled approval.
#[derive(Debug, Clone)]
pub struct OAuth2Settings {
    /// The public base URL of this service, without a trailing slash: the OAuth2 issuer
    /// (RFC 8414), CSC `info.oauth2` / `oauth2Issuer`. Empty until the listener is bound, then
    /// `http://<address>` unless configured. An `https` URL makes session cookies `Secure`.
    pub public_url: String,
    /// Authorization codes (single use).
    pub code_lifetime: Duration,
    /// Pushed authorization requests (RFC 9126 `expires_in`).
    pub pushed_request_lifetime: Duration,
    /// Credential-scoped access tokens; never longer than the SAD lifetime.
    pub credential_token_lifetime: Duration,
    /// Browser sessions of the consent and approval pages.
    pub session_lifetime: Duration,
    /// How long a decoupled (out-of-band) authorization waits for the signer.
    pub oob_lifetime: Duration,
}

impl Default for OAuth2Settings {
    fn default() -> Self {
        Self {
            public_url: String::new(),
            code_lifetime: Duration::from_secs(60),
            pushed_request_lifetime: Duration::from_secs(90),
            credential_token_lifetime: Duration::from_secs(300),
            session_lifetime: Duration::from_secs(900),
            oob_lifetime: Duration::from_secs(300),
        }
    }
}

impl OAuth2Settings {
    /// The issuer / base URL: the configured one, else one derived from the bound address.
    pub fn issuer(&self) -> &str {
        self.public_url.trim_end_matches('/')
    }

    /// Whether cookies get the `Secure` attribute (the service is reached over TLS).
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            service: ServiceInfo::default(),
            access_token_lifetime: Duration::from_secs(3600),
            refresh_token_lifetime: Duration::from_secs(30 * 24 * 3600),
            max_body_bytes: 1 << 20,
            max_hashes: 1024,
            oauth2: OAuth2Settings::default(),
            ops: OpsSettings::default(),
            ades: signet_service::AdesSettings::default(),
            http: HttpSettings::default(),
        }
    }
}

/// Shared state of every request handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub sam: Arc<Sam>,
    /// Signing, time-stamping, the PKI services and readiness.
    pub service: Arc<Service>,
    pub config: Arc<ServerConfig>,
    /// Back-off of password sign-in (auth/login, the sign-in page).
    pub logins: Arc<backoff::LoginBackoff>,
}

const LOGO_PNG: &[u8] = include_bytes!("../assets/logo.png");

/// The route of every CSC method (the metrics label it with the method instead).
pub const CSC_ROUTE: &str = "/csc/{version}/{*method}";

pub fn router(state: AppState) -> Router {
    let metrics_here = state.config.ops.metrics && state.config.ops.metrics_on_main_listener;
    let mut router = Router::new()
        .route(CSC_ROUTE, any(csc::entry))
        .merge(dss::routes())
        .merge(oauth2::routes())
        .merge(consent::routes())
        .merge(pki::routes(state.service.pki.source()))
        // Alive: the process answers. Ready: it can also reach its database and key module.
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ops::readyz))
        .route("/openapi.json", get(openapi::get))
        .route(
            "/logo.png",
            get(|| async { ([(axum::http::header::CONTENT_TYPE, "image/png")], LOGO_PNG) }),
        );
    if metrics_here {
        router = router.route("/metrics", get(ops::metrics_text));
    }
    router
        .fallback(|| async {
            error::ApiError::new(StatusCode::NOT_FOUND, "invalid_request", "Unknown path")
                .into_response()
        })
        .layer(axum::middleware::from_fn(drain::finish_body))
        .layer(axum::middleware::from_fn(limits::answer_late_bodies))
        .layer(axum::middleware::from_fn(ops::observe))
        .with_state(state)
}

/// Serves plain HTTP until `shutdown` resolves, then stops as [`serve_on`] does.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_on(Listener::Plain(listener), state, shutdown).await
}

/// Serves HTTP or HTTPS until `shutdown` resolves, then stops accepting, lets requests in
/// progress finish within `[http] shutdown_grace_seconds` and drops every connection left
/// (see [`net`] for the timeouts and limits on the way). Also purges expired SADs, tokens and
/// flow records every minute, and installs the metrics recorder when metrics are enabled.
pub async fn serve_on(
    listener: Listener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if state.config.ops.metrics {
        ops::install_metrics();
    }
    let sam = Arc::clone(&state.sam);
    let housekeeping = tokio::spawn(async move {
        let mut purge = tokio::time::interval(Duration::from_secs(60));
        let mut upkeep = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                _ = purge.tick() => {
                    if let Err(e) = sam.purge_expired(signet_sam::now_unix()).await {
                        tracing::warn!(error = %e, "purging expired SADs and tokens failed");
                    }
                }
                _ = upkeep.tick() => ops::metrics_upkeep(),
            }
        }
    });
    let settings = state.config.http.clone();
    let result = net::serve_router(listener, router(state), settings, shutdown).await;
    housekeeping.abort();
    result
}
