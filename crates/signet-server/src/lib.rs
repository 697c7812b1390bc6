//! Signet's protocol front: the CSC API v1 and v2 over HTTP, plus the admin operations the CLI
//! drives (enrolment, credential issuance).
//!
//! The front authenticates callers, parses and validates requests and maps errors; it never
//! touches private keys or the master key. Signing goes through the SAM only.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{any, get};
use signet_keys::KeyModule;
use signet_sam::Sam;
use signet_store::Store;
use tokio::net::TcpListener;

pub mod admin;
pub mod auth;
pub mod body;
pub mod consent;
pub mod csc;
pub mod error;
pub mod form;
pub mod oauth2;
pub mod oob;

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
        }
    }
}

/// Shared state of every request handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub keys: Arc<dyn KeyModule>,
    pub sam: Arc<Sam>,
    pub config: Arc<ServerConfig>,
}

const LOGO_PNG: &[u8] = include_bytes!("../assets/logo.png");

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/csc/{version}/{*method}", any(csc::entry))
        .merge(oauth2::routes())
        .merge(consent::routes())
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/logo.png",
            get(|| async { ([(axum::http::header::CONTENT_TYPE, "image/png")], LOGO_PNG) }),
        )
        .fallback(|| async {
            error::ApiError::new(StatusCode::NOT_FOUND, "invalid_request", "Unknown path")
                .into_response()
        })
        .with_state(state)
}

/// Serves until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let purge_store = Arc::clone(&state.store);
    let purger = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Err(e) = purge_store.purge_expired(signet_sam::now_unix()).await {
                tracing::warn!(error = %e, "purging expired SADs and tokens failed");
            }
        }
    });
    let app = router(state);
    let result = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    purger.abort();
    result
}
