//! Validation data and time-stamping: the embedded CA's certificate, CRL and OCSP responder,
//! and the time-stamping authority (built in, or an external one reached over HTTP).
//!
//! Endpoints (no authentication: relying parties and validators fetch them anonymously):
//! - `GET /ca/cert`: the CA certificate, DER, `application/pkix-cert` (RFC 2585 §4.1; the
//!   caIssuers URL of issued certificates, RFC 5280 §4.2.2.1);
//! - `GET /ca/crl`: the current CRL, DER, `application/pkix-crl` (RFC 2585 §4.2; the
//!   cRLDistributionPoints URL). Signed afresh when the set of revocations changed, otherwise
//!   served from a cache at most an hour old; nextUpdate is 24 hours after thisUpdate;
//! - `POST /ocsp` (`application/ocsp-request` → `application/ocsp-response`) and
//!   `GET /ocsp/{base64 request}` (RFC 6960 Appendix A.1);
//! - `POST /tsa` (`application/timestamp-query` → `application/timestamp-reply`, RFC 3161 §3.4),
//!   only with the built-in TSA.
//!
//! The built-in TSA is created the first time it is needed (key in the key module, label
//! `signet-tsa`, certificate from the embedded CA, state in the store under `tsa.*`), so its
//! certificate carries the URLs of the server that created it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use signet_core::{HashAlgorithm, KeyType};
use signet_keys::{KeyModule, KeyRef};
use signet_pki::revocation::{OCSP_INTERNAL_ERROR, OCSP_MALFORMED_REQUEST, OCSP_TRY_LATER};
use signet_pki::{
    EmbeddedCa, PkiError, RevocationStatus, RevokedCertificate, SubjectName, TimeStampAuthority,
    TimeStampRequestInfo, certificate_serial,
};
use signet_store::{NewAuditEvent, Store, StoreError};
use tokio::sync::{Mutex, OnceCell};

use crate::AppState;

/// CRL nextUpdate, hours after thisUpdate.
pub const CRL_NEXT_UPDATE_HOURS: u32 = 24;
/// A CRL is re-signed at least this often even when nothing changed.
const CRL_CACHE: Duration = Duration::from_secs(3_600);
/// Largest OCSP or time-stamp request accepted (real ones are well under 1 KiB).
const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// How long an external TSA may take to answer.
const EXTERNAL_TSA_TIMEOUT: Duration = Duration::from_secs(20);
/// Largest answer read from an external TSA.
const MAX_EXTERNAL_RESPONSE_BYTES: usize = 1 << 20;

/// Settings keys of the built-in TSA in the store.
const TSA_KEY_REF: &str = "tsa.key_ref";
const TSA_KEY_TYPE: &str = "tsa.key_type";
const TSA_CERTIFICATE: &str = "tsa.certificate";

/// How the built-in TSA is created on first use.
#[derive(Debug, Clone)]
pub struct TsaSettings {
    /// commonName of the TSA certificate.
    pub common_name: String,
    /// organizationName of the TSA certificate.
    pub organization: Option<String>,
    pub key_type: KeyType,
    /// Certificate validity, capped at the CA certificate's.
    pub validity_days: u32,
    /// TSTInfo.policy, dotted.
    pub policy_oid: String,
}

impl Default for TsaSettings {
    fn default() -> Self {
        Self {
            common_name: "Signet Time-Stamping Authority".into(),
            organization: Some("Signet".into()),
            key_type: KeyType::EcP256,
            validity_days: 3650,
            policy_oid: signet_pki::tsa::DEFAULT_POLICY_OID.into(),
        }
    }
}

/// Where time-stamp tokens come from.
#[derive(Debug, Clone)]
pub enum TimeStampSource {
    /// The built-in TSA (served at `/tsa`).
    Builtin(TsaSettings),
    /// An external RFC 3161 TSA reached by HTTP POST (RFC 3161 §3.4) at this `http://` or
    /// `https://` URL (TLS verified against `SSL_CERT_FILE` or the system CA bundle).
    External { url: String },
}

impl Default for TimeStampSource {
    fn default() -> Self {
        Self::Builtin(TsaSettings::default())
    }
}

/// Why validation data or a time-stamp could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum PkiServiceError {
    /// The caller's input is unusable (wrong digest length, not our certificate...).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Pki(PkiError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The external TSA failed or answered something unusable.
    #[error("external TSA {url}: {reason}")]
    ExternalTsa { url: String, reason: String },
    #[error("{0}")]
    Internal(String),
}

impl From<PkiError> for PkiServiceError {
    fn from(e: PkiError) -> Self {
        match e {
            PkiError::InvalidInput(text) => Self::Invalid(text),
            other => Self::Pki(other),
        }
    }
}

/// The certificates and revocation data that validate one certificate issued by the embedded
/// CA (what AdES B-LT embeds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationValues {
    /// The issuer chain, nearest first: the CA certificate.
    pub chain: Vec<Vec<u8>>,
    /// The current CRL (DER).
    pub crls: Vec<Vec<u8>>,
    /// A fresh OCSP response for the certificate (DER OCSPResponse).
    pub ocsp: Vec<Vec<u8>>,
}

struct CachedCrl {
    der: Vec<u8>,
    revoked: Vec<RevokedCertificate>,
    made: Instant,
}

/// The embedded CA's publication services and the time-stamping source of one node.
pub struct PkiService {
    store: Arc<dyn Store>,
    keys: Arc<dyn KeyModule>,
    ca: EmbeddedCa,
    source: TimeStampSource,
    builtin: OnceCell<Arc<TimeStampAuthority>>,
    crl: Mutex<Option<CachedCrl>>,
}

impl std::fmt::Debug for PkiService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PkiService")
            .field("source", &self.source)
            .field("urls", &self.ca.urls)
            .finish_non_exhaustive()
    }
}

impl PkiService {
    /// `ca.urls` go into the TSA certificate when the built-in TSA is created.
    pub fn new(
        store: Arc<dyn Store>,
        keys: Arc<dyn KeyModule>,
        ca: EmbeddedCa,
        source: TimeStampSource,
    ) -> Self {
        Self {
            store,
            keys,
            ca,
            source,
            builtin: OnceCell::new(),
            crl: Mutex::new(None),
        }
    }

    pub fn ca(&self) -> &EmbeddedCa {
        &self.ca
    }

    pub fn source(&self) -> &TimeStampSource {
        &self.source
    }

    /// The built-in TSA, loaded from the store or created (first use of the data directory);
    /// `None` when an external TSA is configured.
    pub async fn builtin_tsa(&self) -> Result<Option<Arc<TimeStampAuthority>>, PkiServiceError> {
        let TimeStampSource::Builtin(settings) = &self.source else {
            return Ok(None);
        };
        let tsa = self
            .builtin
            .get_or_try_init(|| async {
                load_or_create_tsa(self.store.as_ref(), &self.keys, &self.ca, settings)
                    .await
                    .map(Arc::new)
            })
            .await?;
        Ok(Some(Arc::clone(tsa)))
    }

    /// An RFC 3161 TimeStampToken (DER) over `message_imprint`, a `hash` digest, from the
    /// built-in TSA or the external one. `nonce` is a big-endian unsigned integer.
    pub async fn timestamp(
        &self,
        hash: HashAlgorithm,
        message_imprint: &[u8],
        nonce: Option<&[u8]>,
    ) -> Result<Vec<u8>, PkiServiceError> {
        match &self.source {
            TimeStampSource::Builtin(_) => {
                let tsa = self
                    .builtin_tsa()
                    .await?
                    .ok_or_else(|| PkiServiceError::Internal("no built-in TSA".into()))?;
                let keys = Arc::clone(&self.keys);
                let (imprint, nonce) = (message_imprint.to_vec(), nonce.map(<[u8]>::to_vec));
                blocking(move || tsa.timestamp(keys.as_ref(), hash, &imprint, nonce.as_deref()))
                    .await
            }
            TimeStampSource::External { url } => {
                let mut request = TimeStampRequestInfo::new(hash, message_imprint)?;
                if let Some(nonce) = nonce {
                    request.nonce = Some(nonce.to_vec());
                }
                external_timestamp(url, &request).await
            }
        }
    }

    /// Whether time-stamps can be had now: the built-in TSA loads (or is created), or the
    /// external TSA answers a request (over a zero SHA-256 digest; the token is dropped).
    pub async fn check_timestamping(&self) -> Result<(), PkiServiceError> {
        match &self.source {
            TimeStampSource::Builtin(_) => self.builtin_tsa().await.map(|_| ()),
            TimeStampSource::External { .. } => self
                .timestamp(HashAlgorithm::Sha256, &[0; 32], None)
                .await
                .map(|_| ()),
        }
    }

    /// [`PkiService::timestamp`] for synchronous callers running on a blocking thread of the
    /// runtime (`tokio::task::spawn_blocking`), such as an AdES engine's time-stamper.
    pub fn timestamp_blocking(
        &self,
        hash: HashAlgorithm,
        message_imprint: &[u8],
    ) -> Result<Vec<u8>, PkiServiceError> {
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| PkiServiceError::Internal("no async runtime".into()))?;
        handle.block_on(self.timestamp(hash, message_imprint, None))
    }

    /// The revocation status of a certificate the CA issued, by serial (content octets of the
    /// DER INTEGER): revoked if recorded, good otherwise (RFC 6960 §2.2: "good" says that no
    /// certificate with this serial number is revoked).
    pub async fn status_of(&self, serial: &[u8]) -> Result<RevocationStatus, PkiServiceError> {
        Ok(match self.store.revocation(serial).await? {
            Some(r) => RevocationStatus::Revoked {
                at: r.revoked_at,
                reason: r.reason,
            },
            None => RevocationStatus::Good,
        })
    }

    /// The current DER CRL: re-signed when the revocations changed or the cached one is an
    /// hour old. The cRLNumber is thisUpdate in Unix milliseconds, which grows from one CRL to
    /// the next without shared state between nodes (RFC 5280 §5.2.3 asks only that it
    /// increase).
    pub async fn current_crl(&self) -> Result<Vec<u8>, PkiServiceError> {
        let revoked: Vec<RevokedCertificate> = self
            .store
            .revocations()
            .await?
            .into_iter()
            .map(|r| RevokedCertificate {
                serial: r.serial,
                revoked_at: r.revoked_at,
                reason: r.reason,
            })
            .collect();
        let mut cache = self.crl.lock().await;
        if let Some(c) = cache.as_ref()
            && c.revoked == revoked
            && c.made.elapsed() < CRL_CACHE
        {
            return Ok(c.der.clone());
        }
        let number = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .map_err(|_| PkiServiceError::Internal("clock before 1970".into()))?;
        let (ca, keys, list) = (self.ca.clone(), Arc::clone(&self.keys), revoked.clone());
        let der =
            blocking(move || ca.crl(keys.as_ref(), &list, number, CRL_NEXT_UPDATE_HOURS)).await?;
        *cache = Some(CachedCrl {
            der: der.clone(),
            revoked,
            made: Instant::now(),
        });
        Ok(der)
    }

    /// Answers a DER OCSPRequest ([`EmbeddedCa::ocsp_response`]) with the revocations in the
    /// store.
    pub async fn ocsp(&self, request_der: Vec<u8>) -> Result<Vec<u8>, PkiServiceError> {
        let revoked = self.store.revocations().await?;
        let (ca, keys) = (self.ca.clone(), Arc::clone(&self.keys));
        blocking(move || {
            let status_of = |serial: &[u8]| {
                revoked
                    .iter()
                    .find(|r| r.serial == serial)
                    .map_or(RevocationStatus::Good, |r| RevocationStatus::Revoked {
                        at: r.revoked_at,
                        reason: r.reason,
                    })
            };
            ca.ocsp_response(keys.as_ref(), &request_der, &status_of)
        })
        .await
    }

    /// Chain, CRL and a fresh OCSP response for `certificate_der`, which must have been issued
    /// by the embedded CA (a signer or the built-in TSA).
    pub async fn validation_values(
        &self,
        certificate_der: &[u8],
    ) -> Result<ValidationValues, PkiServiceError> {
        let serial = certificate_serial(certificate_der)?;
        let status = self.status_of(&serial).await?;
        let (ca, keys, cert) = (
            self.ca.clone(),
            Arc::clone(&self.keys),
            certificate_der.to_vec(),
        );
        let ocsp = blocking(move || ca.ocsp_response_for(keys.as_ref(), &cert, status)).await?;
        Ok(ValidationValues {
            chain: vec![self.ca.certificate.clone()],
            crls: vec![self.current_crl().await?],
            ocsp: vec![ocsp],
        })
    }
}

/// Runs a key-module operation on a blocking thread (RSA and HSM calls block).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, PkiError> + Send + 'static,
) -> Result<T, PkiServiceError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| PkiServiceError::Internal(format!("signing task failed: {e}")))?
        .map_err(PkiServiceError::from)
}

/// Loads the built-in TSA from the store or creates it: key in the key module, certificate
/// from `ca`, recorded under `tsa.*` together with a `tsa.create` audit record. When several
/// nodes create it at once, one wins; the others destroy their key and use the winner's.
pub async fn load_or_create_tsa(
    store: &dyn Store,
    keys: &Arc<dyn KeyModule>,
    ca: &EmbeddedCa,
    settings: &TsaSettings,
) -> Result<TimeStampAuthority, PkiServiceError> {
    if let Some(tsa) = load_tsa(store, ca, settings).await? {
        return Ok(tsa);
    }
    let (keys2, ca2, s) = (Arc::clone(keys), ca.clone(), settings.clone());
    let tsa = blocking(move || {
        TimeStampAuthority::create(
            keys2.as_ref(),
            &ca2,
            s.key_type,
            &SubjectName {
                common_name: s.common_name.clone(),
                organization: s.organization.clone(),
                country: None,
            },
            s.validity_days,
            &s.policy_oid,
        )
    })
    .await?;
    let audit = NewAuditEvent::new(
        "tsa.create",
        "system",
        None,
        json!({
            "key_type": tsa.key_type.name(),
            "backend": keys.backend(),
            "subject": settings.common_name,
            "policy": settings.policy_oid,
        }),
    );
    let created = store
        .put_settings_if_absent(
            &[
                (TSA_KEY_REF, &tsa.key_ref.0),
                (TSA_KEY_TYPE, tsa.key_type.name().as_bytes()),
                (TSA_CERTIFICATE, &tsa.certificate),
            ],
            Some(audit),
        )
        .await?;
    if created {
        tracing::info!(key_type = tsa.key_type.name(), "built-in TSA created");
        return Ok(tsa);
    }
    // Another node was first: ours is not recorded anywhere, so its key goes.
    let keys2 = Arc::clone(keys);
    let key_ref = tsa.key_ref.clone();
    let _ = tokio::task::spawn_blocking(move || keys2.destroy(&key_ref)).await;
    load_tsa(store, ca, settings)
        .await?
        .ok_or_else(|| PkiServiceError::Internal("the TSA vanished from the store".into()))
}

async fn load_tsa(
    store: &dyn Store,
    ca: &EmbeddedCa,
    settings: &TsaSettings,
) -> Result<Option<TimeStampAuthority>, PkiServiceError> {
    let (Some(key_ref), Some(key_type), Some(certificate)) = (
        store.setting(TSA_KEY_REF).await?,
        store.setting(TSA_KEY_TYPE).await?,
        store.setting(TSA_CERTIFICATE).await?,
    ) else {
        return Ok(None);
    };
    let key_type = String::from_utf8_lossy(&key_type)
        .parse::<KeyType>()
        .map_err(|e| StoreError::Corrupt(format!("TSA key type: {e}")))?;
    Ok(Some(TimeStampAuthority {
        key_ref: KeyRef(key_ref),
        key_type,
        certificate,
        chain: vec![ca.certificate.clone()],
        policy_oid: settings.policy_oid.clone(),
    }))
}

/// POSTs the request to an external TSA (RFC 3161 §3.4: `application/timestamp-query` →
/// `application/timestamp-reply`) and takes the token out of its answer.
async fn external_timestamp(
    url: &str,
    request: &TimeStampRequestInfo,
) -> Result<Vec<u8>, PkiServiceError> {
    let fail = |reason: String| PkiServiceError::ExternalTsa {
        url: url.to_owned(),
        reason,
    };
    let body = request.to_der()?;
    let answer = tokio::time::timeout(EXTERNAL_TSA_TIMEOUT, http_post(url, body))
        .await
        .map_err(|_| fail(format!("no answer within {EXTERNAL_TSA_TIMEOUT:?}")))?
        .map_err(fail)?;
    request
        .token_from_response(&answer)
        .map_err(|e| fail(e.to_string()))
}

/// Where the trust anchors for `https://` TSA URLs come from: `SSL_CERT_FILE`, else the
/// operating system's bundle (Debian, Ubuntu, Alpine; Fedora, RHEL).
const SYSTEM_CA_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
];

/// A rustls client configuration (aws-lc-rs, TLS 1.2/1.3) trusting the system CA bundle.
fn tls_client_config() -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    let bundle = std::env::var_os("SSL_CERT_FILE")
        .map(std::path::PathBuf::from)
        .into_iter()
        .chain(SYSTEM_CA_BUNDLES.iter().map(std::path::PathBuf::from))
        .find(|p| p.exists())
        .ok_or("no CA bundle to verify the TSA's TLS certificate (set SSL_CERT_FILE)")?;
    let certs = CertificateDer::pem_file_iter(&bundle)
        .map_err(|e| format!("reading {}: {e}", bundle.display()))?
        .filter_map(Result::ok);
    let mut roots = rustls::RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(format!("no CA certificate in {}", bundle.display()));
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS configuration: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Opens an HTTP/1.1 connection to `host:port`, over TLS for `https`.
async fn connect(
    https: bool,
    host: &str,
    port: u16,
) -> Result<hyper::client::conn::http1::SendRequest<http_body_util::Full<bytes::Bytes>>, String> {
    use hyper_util::rt::TokioIo;

    let tcp = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    if !https {
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .map_err(|e| format!("HTTP handshake: {e}"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        return Ok(send);
    }
    let name = rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|e| format!("{host:?} is not a TLS server name: {e}"))?;
    let tls = tokio_rustls::TlsConnector::from(tls_client_config()?)
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS handshake: {e}"))?;
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(send)
}

/// A minimal HTTP/1.1 POST (hyper's connection API, rustls for `https`); returns the body of
/// a 200 `application/timestamp-reply` answer.
async fn http_post(url: &str, body: Vec<u8>) -> Result<Vec<u8>, String> {
    use http_body_util::{BodyExt, Full, Limited};

    let parsed = url::Url::parse(url).map_err(|e| format!("invalid URL: {e}"))?;
    let https = match parsed.scheme() {
        "http" => false,
        "https" => true,
        other => return Err(format!("unsupported URL scheme {other}")),
    };
    let host = parsed.host_str().ok_or("the URL has no host")?.to_owned();
    let port = parsed
        .port_or_known_default()
        .unwrap_or(if https { 443 } else { 80 });
    let mut send = connect(https, host.trim_matches(['[', ']']), port).await?;
    let path = match parsed.query() {
        Some(q) => format!("{}?{q}", parsed.path()),
        None => parsed.path().to_owned(),
    };
    let authority = match parsed.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    let request = hyper::Request::post(path)
        .header(header::HOST, authority)
        .header(header::CONTENT_TYPE, "application/timestamp-query")
        .header(header::ACCEPT, "application/timestamp-reply")
        .body(Full::new(bytes::Bytes::from(body)))
        .map_err(|e| format!("building the request: {e}"))?;
    let response = send
        .send_request(request)
        .await
        .map_err(|e| format!("sending the request: {e}"))?;
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = Limited::new(response.into_body(), MAX_EXTERNAL_RESPONSE_BYTES)
        .collect()
        .await
        .map_err(|e| format!("reading the answer: {e}"))?
        .to_bytes();
    if status != StatusCode::OK {
        return Err(format!("HTTP status {status}"));
    }
    if !media_type_is(&content_type, "application/timestamp-reply") {
        return Err(format!(
            "answer of type {content_type:?}, not application/timestamp-reply"
        ));
    }
    Ok(bytes.to_vec())
}

// ---------------------------------------------------------------------------------------------
// HTTP endpoints.

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

fn media_type_is(value: &str, expected: &str) -> bool {
    value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .eq_ignore_ascii_case(expected)
}

fn has_content_type(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| media_type_is(v, expected))
}

async fn read_body(body: Body) -> Result<Vec<u8>, Response> {
    axum::body::to_bytes(body, MAX_REQUEST_BYTES)
        .await
        .map(|b| b.to_vec())
        .map_err(|_| plain_error(StatusCode::PAYLOAD_TOO_LARGE, "request too large\n"))
}

async fn ca_certificate(State(state): State<AppState>) -> Response {
    der_response("application/pkix-cert", state.pki.ca().certificate.clone())
}

async fn crl(State(state): State<AppState>) -> Response {
    match state.pki.current_crl().await {
        Ok(der) => der_response("application/pkix-crl", der),
        Err(e) => {
            tracing::error!(error = %e, "cannot produce the CRL");
            plain_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "CRL unavailable, try again\n",
            )
        }
    }
}

async fn ocsp_answer(state: &AppState, request: Vec<u8>) -> Response {
    let der = match state.pki.ocsp(request).await {
        Ok(der) => der,
        Err(PkiServiceError::Store(e)) => {
            tracing::error!(error = %e, "OCSP: store unavailable");
            OCSP_TRY_LATER.to_vec()
        }
        Err(e) => {
            tracing::error!(error = %e, "OCSP: cannot sign");
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
    let tsa = match state.pki.builtin_tsa().await {
        Ok(Some(tsa)) => tsa,
        Ok(None) => return plain_error(StatusCode::NOT_FOUND, "no built-in TSA\n"),
        Err(e) => {
            tracing::error!(error = %e, "TSA unavailable");
            return plain_error(StatusCode::SERVICE_UNAVAILABLE, "TSA unavailable\n");
        }
    };
    let keys = Arc::clone(&state.keys);
    // respond() never fails: malformed requests get an RFC 3161 rejection, not an HTTP error.
    match tokio::task::spawn_blocking(move || tsa.respond(keys.as_ref(), &request)).await {
        Ok(reply) => der_response("application/timestamp-reply", reply),
        Err(e) => {
            tracing::error!(error = %e, "TSA task failed");
            plain_error(StatusCode::INTERNAL_SERVER_ERROR, "TSA failure\n")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_ignore_parameters_and_case() {
        assert!(media_type_is(
            "Application/Timestamp-Query; charset=x",
            "application/timestamp-query"
        ));
        assert!(!media_type_is(
            "application/json",
            "application/timestamp-query"
        ));
        assert!(!media_type_is("", "application/ocsp-request"));
    }
}
