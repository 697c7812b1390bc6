//! Configuration: built-in defaults, then the TOML file given with `--config`, then environment
//! variables `SIGNET_<SECTION>__<KEY>` (e.g. `SIGNET_SAM__MAX_FAILURES=3`) and `SIGNET_LISTEN`.

use std::path::Path;

use anyhow::Context;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address `serve` and `demo` listen on.
    pub listen: String,
    pub store: Store,
    pub service: Service,
    pub sam: Sam,
    pub tokens: Tokens,
    pub limits: Limits,
    pub http: Http,
    pub ca: Ca,
    pub keys: Keys,
    pub oauth2: OAuth2,
    pub log: Log,
    pub tls: Tls,
    pub metrics: Metrics,
    pub tsa: Tsa,
    pub audit: Audit,
    pub validation: Validation,
    pub login: Login,
}

/// Back-off of password sign-in: CSC auth/login and the consent pages' sign-in form
/// (docs/security.md, "Password login back-off").
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Login {
    /// false: no back-off (only when something in front of Signet throttles sign-in).
    pub backoff: bool,
    /// Failures of one username from one client address before the back-off starts.
    pub free_failures_per_user: u32,
    /// Failures from one client address, whatever the usernames, before the back-off starts.
    pub free_failures_per_address: u32,
    /// The first wait, in seconds; each further failure doubles it.
    pub base_delay_seconds: u64,
    /// The longest wait, in seconds.
    pub max_delay_seconds: u64,
    /// Failures are forgotten this long after the last one, in seconds.
    pub forget_after_seconds: u64,
    /// Most (user, address) and address entries kept in memory, each.
    pub max_tracked: usize,
    /// Reverse proxies (IP addresses) whose X-Forwarded-For header names the client.
    pub trusted_proxies: Vec<String>,
}

impl Default for Login {
    fn default() -> Self {
        let d = signet_server::backoff::LoginBackoffSettings::default();
        Self {
            backoff: d.enabled,
            free_failures_per_user: d.free_failures_per_user,
            free_failures_per_address: d.free_failures_per_address,
            base_delay_seconds: d.base_delay.as_secs(),
            max_delay_seconds: d.max_delay.as_secs(),
            forget_after_seconds: d.forget_after.as_secs(),
            max_tracked: d.max_tracked,
            trusted_proxies: Vec::new(),
        }
    }
}

impl Login {
    /// The server's settings; checks what `validate` checks too.
    pub fn settings(&self) -> anyhow::Result<signet_server::backoff::LoginBackoffSettings> {
        anyhow::ensure!(
            self.base_delay_seconds >= 1,
            "login.base_delay_seconds must be at least 1"
        );
        anyhow::ensure!(
            self.max_delay_seconds >= self.base_delay_seconds,
            "login.max_delay_seconds must be at least login.base_delay_seconds"
        );
        anyhow::ensure!(
            self.forget_after_seconds >= self.max_delay_seconds,
            "login.forget_after_seconds must be at least login.max_delay_seconds"
        );
        anyhow::ensure!(
            self.max_tracked >= 1,
            "login.max_tracked must be at least 1"
        );
        let trusted_proxies = self
            .trusted_proxies
            .iter()
            .map(|p| {
                p.trim().parse::<std::net::IpAddr>().map_err(|_| {
                    anyhow::anyhow!("login.trusted_proxies: {p:?} is not an IP address")
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(signet_server::backoff::LoginBackoffSettings {
            enabled: self.backoff,
            free_failures_per_user: self.free_failures_per_user,
            free_failures_per_address: self.free_failures_per_address,
            base_delay: std::time::Duration::from_secs(self.base_delay_seconds),
            max_delay: std::time::Duration::from_secs(self.max_delay_seconds),
            forget_after: std::time::Duration::from_secs(self.forget_after_seconds),
            max_tracked: self.max_tracked,
            trusted_proxies,
        })
    }
}

/// Where Signet keeps its state: users, credentials (software keys sealed under the master
/// key), SADs, tokens, OAuth2 flows, settings (the embedded CA) and the audit chain.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Store {
    /// Empty = the embedded SQLite file `signet.db` in the data directory; `sqlite://PATH`
    /// another SQLite file; `postgres://user[:password]@host[:port]/dbname` a PostgreSQL
    /// database that several nodes can share. Env SIGNET_DATABASE_URL overrides.
    pub database_url: String,
    /// Connections each node keeps to PostgreSQL at most (ignored for SQLite).
    pub max_connections: usize,
}

impl Default for Store {
    fn default() -> Self {
        Self {
            database_url: String::new(),
            max_connections: signet_store::PgOptions::default().max_connections,
        }
    }
}

/// The store a database URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A SQLite file (created if missing).
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

impl Store {
    /// Where the store is, `data_dir/signet.db` when no URL is configured.
    pub fn location(&self, data_dir: &Path) -> anyhow::Result<StoreLocation> {
        let url = self.database_url.trim();
        if url.is_empty() {
            return Ok(StoreLocation::Sqlite(data_dir.join("signet.db")));
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            anyhow::ensure!(
                !path.is_empty(),
                "store.database_url: sqlite:// needs a path"
            );
            return Ok(StoreLocation::Sqlite(path.into()));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(StoreLocation::Postgres(url.to_owned()));
        }
        // The URL may hold a password: never repeat it.
        anyhow::bail!(
            "store.database_url (or SIGNET_DATABASE_URL) must be empty, sqlite://PATH or postgres://..."
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Service {
    pub name: String,
    /// URI of the logo `info` advertises; empty = served by Signet at /logo.png.
    pub logo: String,
    pub region: String,
    pub lang: String,
    pub description: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Sam {
    pub sad_lifetime_seconds: u64,
    pub max_failures: u32,
    pub totp_skew_steps: i64,
    /// credentials/extendTransaction may bind a SAD to hashes the signer did not authorize.
    pub extend_rebinds_hashes: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Tokens {
    pub access_lifetime_seconds: u64,
    pub refresh_lifetime_seconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_hashes: usize,
    /// signatures/signDoc: largest request body (documents travel Base64-encoded).
    pub max_sign_doc_bytes: usize,
    /// signatures/signDoc: most documents (or digests) per request.
    pub max_documents: usize,
    /// signatures/signDoc: largest document, in bytes.
    pub max_document_bytes: usize,
    /// signatures/signDoc: most indirect objects in a PDF.
    pub max_pdf_objects: usize,
    /// signatures/signDoc: deepest element nesting in an XML document (XAdES).
    pub max_xml_depth: usize,
}

/// The HTTP front's bounds on slow and greedy clients: timeouts, connection caps, request rate
/// per client address, shutdown grace (docs/operations.md, "Slow and greedy clients").
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Http {
    /// A request head, a TLS handshake, and the next request on an idle keep-alive connection
    /// must arrive within this time; else the connection is closed.
    pub header_timeout_seconds: u64,
    /// A request body gets this long, plus 1 s per `body_min_bytes_per_second` bytes it sends;
    /// then 408 and the connection is closed. An answer the client stops reading for this long
    /// is abandoned.
    pub body_timeout_seconds: u64,
    /// 0 = the whole body within `body_timeout_seconds`, whatever its size.
    pub body_min_bytes_per_second: u64,
    /// Open connections at most; more are closed as soon as they are accepted.
    pub max_connections: usize,
    /// Open connections at most per client address (IPv6: per /64); 0 = no cap.
    pub max_connections_per_address: usize,
    /// Sustained requests per second per client address (429 beyond); 0 = no rate limit.
    pub requests_per_second: f64,
    /// Requests a client address may send at once above the sustained rate.
    pub request_burst: u32,
    /// At shutdown, how long requests in progress may take before every connection is dropped.
    pub shutdown_grace_seconds: u64,
}

impl Default for Http {
    fn default() -> Self {
        let d = signet_server::HttpSettings::default();
        Self {
            header_timeout_seconds: d.header_timeout.as_secs(),
            body_timeout_seconds: d.body_timeout.as_secs(),
            body_min_bytes_per_second: d.body_min_bytes_per_second,
            max_connections: d.max_connections,
            max_connections_per_address: d.max_connections_per_address,
            requests_per_second: d.requests_per_second,
            request_burst: d.request_burst,
            shutdown_grace_seconds: d.shutdown_grace.as_secs(),
        }
    }
}

impl Http {
    /// The settings the server runs with.
    pub fn settings(&self) -> signet_server::HttpSettings {
        signet_server::HttpSettings {
            header_timeout: std::time::Duration::from_secs(self.header_timeout_seconds),
            body_timeout: std::time::Duration::from_secs(self.body_timeout_seconds),
            body_min_bytes_per_second: self.body_min_bytes_per_second,
            max_connections: self.max_connections,
            max_connections_per_address: self.max_connections_per_address,
            requests_per_second: self.requests_per_second,
            request_burst: self.request_burst,
            shutdown_grace: std::time::Duration::from_secs(self.shutdown_grace_seconds),
        }
    }

    fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            (1..=3600).contains(&self.header_timeout_seconds),
            "http.header_timeout_seconds must be 1-3600"
        );
        anyhow::ensure!(
            (1..=86_400).contains(&self.body_timeout_seconds),
            "http.body_timeout_seconds must be 1-86400"
        );
        anyhow::ensure!(
            self.max_connections >= 1,
            "http.max_connections must be at least 1"
        );
        anyhow::ensure!(
            self.requests_per_second.is_finite() && self.requests_per_second >= 0.0,
            "http.requests_per_second must be 0 (no limit) or a positive number"
        );
        anyhow::ensure!(
            self.requests_per_second == 0.0 || self.request_burst >= 1,
            "http.request_burst must be at least 1"
        );
        anyhow::ensure!(
            self.shutdown_grace_seconds <= 3600,
            "http.shutdown_grace_seconds must be 0-3600"
        );
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Ca {
    pub common_name: String,
    pub organization: String,
    /// ec-p256, ec-p384, rsa-2048, rsa-3072 or rsa-4096.
    pub key: String,
    pub validity_days: u32,
    pub signer_validity_days: u32,
    /// Base URL written into issued certificates: cRLDistributionPoints `<public_url>/ca/crl`,
    /// authorityInfoAccess OCSP `<public_url>/ocsp` and caIssuers `<public_url>/ca/cert`.
    /// Empty = oauth2.public_url, else the URL `serve` last bound (recorded in the store), else
    /// http://<listen>.
    pub public_url: String,
}

/// Time-stamping (RFC 3161): the built-in TSA, or an external one.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Tsa {
    /// An external RFC 3161 TSA (http(s) URL; https is verified against SSL_CERT_FILE or the
    /// system CA bundle) for signatures/timestamp and AdES time-stamps; empty = the built-in
    /// TSA, served at /tsa.
    pub url: String,
    /// The built-in TSA's certificate subject (O= is ca.organization).
    pub common_name: String,
    /// ec-p256, ec-p384, rsa-2048, rsa-3072 or rsa-4096.
    pub key: String,
    /// Validity of the TSA certificate, capped at the CA certificate's.
    pub validity_days: u32,
    /// TSTInfo.policy of the built-in TSA's tokens.
    pub policy_oid: String,
}

impl Default for Tsa {
    fn default() -> Self {
        let d = signet_service::TsaSettings::default();
        Self {
            url: String::new(),
            common_name: d.common_name,
            key: d.key_type.name().into(),
            validity_days: d.validity_days,
            policy_oid: d.policy_oid,
        }
    }
}

/// Signature validation and augmentation (`/dss/v2/verify`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Validation {
    /// Files of trust anchors (PEM, or one DER certificate each), trusted besides the embedded
    /// CA's certificate, which always is: Signet's own signatures validate out of the box.
    pub trust: Vec<String>,
    /// EU trusted lists (ETSI TS 119 612): files or http(s) URLs of the list of lists or of
    /// national lists; their signatures are checked and their services' certificates trusted.
    pub trusted_lists: Vec<String>,
    /// Fetch the validation data a signature lacks (issuer certificates, CRLs, OCSP responses
    /// from the URLs its certificates name). false: only what the signature carries counts.
    pub fetch: bool,
    /// Largest signed file accepted for validation, in bytes.
    pub max_document_bytes: usize,
}

impl Default for Validation {
    fn default() -> Self {
        Self {
            trust: Vec::new(),
            trusted_lists: Vec::new(),
            fetch: true,
            max_document_bytes: signet_ades::Limits::default().max_document_bytes,
        }
    }
}

/// Where signing keys live (issue: HSM key module over PKCS#11).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Keys {
    /// "software" (aws-lc-rs, keys sealed under the master key) or "pkcs11" (env SIGNET_KEY_BACKEND).
    pub backend: String,
    /// PKCS#11 library of the HSM (env SIGNET_PKCS11_MODULE).
    pub pkcs11_module: String,
    /// Label of the token; the slot is found by this label, never by index (env SIGNET_PKCS11_TOKEN).
    pub pkcs11_token: String,
    /// File holding the token user PIN; when empty the PIN comes from env SIGNET_PKCS11_PIN.
    pub pkcs11_pin_file: String,
    /// PKCS#11 session pool size; 0 = one per CPU (the worker count).
    pub pkcs11_sessions: usize,
}

impl Default for Keys {
    fn default() -> Self {
        Self {
            backend: "software".into(),
            pkcs11_module: "/usr/lib/softhsm/libsofthsm2.so".into(),
            pkcs11_token: "signet".into(),
            pkcs11_pin_file: String::new(),
            pkcs11_sessions: 0,
        }
    }
}

/// The OAuth2 authorization server, the consent pages and decoupled approval.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OAuth2 {
    /// Public base URL (OAuth2 issuer, CSC info.oauth2 / oauth2Issuer); empty = http://<listen>.
    pub public_url: String,
    pub code_lifetime_seconds: u64,
    pub par_lifetime_seconds: u64,
    /// Credential-scoped access tokens; capped at sam.sad_lifetime_seconds.
    pub credential_token_lifetime_seconds: u64,
    pub session_lifetime_seconds: u64,
    /// How long a decoupled (--auth oob) authorization waits for the signer.
    pub oob_lifetime_seconds: u64,
}

impl Default for OAuth2 {
    fn default() -> Self {
        let d = signet_server::OAuth2Settings::default();
        Self {
            public_url: d.public_url,
            code_lifetime_seconds: d.code_lifetime.as_secs(),
            par_lifetime_seconds: d.pushed_request_lifetime.as_secs(),
            credential_token_lifetime_seconds: d.credential_token_lifetime.as_secs(),
            session_lifetime_seconds: d.session_lifetime.as_secs(),
            oob_lifetime_seconds: d.oob_lifetime.as_secs(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Log {
    /// "text" or "json".
    pub format: String,
    /// tracing filter, e.g. "info" or "signet_server=debug,info"; env SIGNET_LOG overrides.
    pub level: String,
}

/// HTTPS (rustls, TLS 1.2 and 1.3) and mutual TLS.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Tls {
    /// PEM certificate chain (server certificate first); with `key`, `serve` speaks HTTPS only.
    pub certificate: String,
    /// PEM private key of the certificate.
    pub key: String,
    /// PEM bundle of CAs for client certificates; set = clients may present one (mutual TLS).
    pub client_ca: String,
    /// Refuse connections without a client certificate (needs `client_ca`).
    pub require_client_certificate: bool,
}

impl Tls {
    /// Whether `serve` speaks HTTPS.
    pub fn enabled(&self) -> bool {
        !self.certificate.is_empty() && !self.key.is_empty()
    }

    /// Whether client certificates are requested and verified.
    pub fn mutual(&self) -> bool {
        self.enabled() && !self.client_ca.is_empty()
    }
}

/// The audit log: its chains, sealing and checkpoints (docs/audit.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Audit {
    /// Milliseconds between seals: a signed, time-stamped checkpoint over the records appended
    /// since the last one, while there are any. 0 disables sealing on this node (another node,
    /// or `signet audit seal`, must then seal).
    pub seal_interval_ms: u64,
    /// Also write each checkpoint this node seals to this directory (`checkpoint-N.txt`, the
    /// signed note, and `checkpoint-N.tst`, its time-stamp): put it on write-once storage or
    /// hand it to a witness. Empty: only in the database.
    pub checkpoint_dir: String,
    /// This node's name in chain names and for the sealer lease: letters, digits and `.`, `_`,
    /// `-`. Empty: a random name kept in `node.id` in the data directory. Every node sharing a
    /// database needs its own.
    pub node_id: String,
    /// The log's identity in checkpoints (origin and key name), fixed when the audit key is
    /// created. Empty: `signet/audit/<random>`.
    pub origin: String,
    /// Most records one checkpoint seals (the first seal of a large upgraded log takes several).
    pub max_records_per_checkpoint: usize,
}

impl Default for Audit {
    fn default() -> Self {
        Self {
            seal_interval_ms: 1_000,
            checkpoint_dir: String::new(),
            node_id: String::new(),
            origin: String::new(),
            max_records_per_checkpoint: 100_000,
        }
    }
}

/// Prometheus metrics.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Metrics {
    pub enabled: bool,
    /// Separate plain-HTTP listener for /metrics (e.g. 127.0.0.1:9100); empty = /metrics on the
    /// main listener.
    pub listen: String,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: String::new(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            store: Store::default(),
            service: Service::default(),
            sam: Sam::default(),
            tokens: Tokens::default(),
            limits: Limits::default(),
            http: Http::default(),
            ca: Ca::default(),
            keys: Keys::default(),
            oauth2: OAuth2::default(),
            log: Log::default(),
            tls: Tls::default(),
            metrics: Metrics::default(),
            tsa: Tsa::default(),
            audit: Audit::default(),
            validation: Validation::default(),
            login: Login::default(),
        }
    }
}

impl Default for Service {
    fn default() -> Self {
        let s = signet_server::ServiceInfo::default();
        Self {
            name: s.name,
            logo: String::new(),
            region: s.region,
            lang: s.lang,
            description: s.description,
        }
    }
}

impl Default for Sam {
    fn default() -> Self {
        let d = signet_sam::SamConfig::default();
        Self {
            sad_lifetime_seconds: d.sad_lifetime.as_secs(),
            max_failures: d.max_failures,
            totp_skew_steps: d.totp_skew_steps,
            extend_rebinds_hashes: d.extend_rebinds_hashes,
        }
    }
}

impl Default for Tokens {
    fn default() -> Self {
        let d = signet_server::ServerConfig::default();
        Self {
            access_lifetime_seconds: d.access_token_lifetime.as_secs(),
            refresh_lifetime_seconds: d.refresh_token_lifetime.as_secs(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        let d = signet_server::ServerConfig::default();
        Self {
            max_body_bytes: d.max_body_bytes,
            max_hashes: d.max_hashes,
            max_sign_doc_bytes: d.ades.max_request_bytes,
            max_documents: d.ades.max_documents,
            max_document_bytes: d.ades.limits.max_document_bytes,
            max_pdf_objects: d.ades.limits.max_pdf_objects,
            max_xml_depth: d.ades.limits.max_xml_depth,
        }
    }
}

impl Default for Ca {
    fn default() -> Self {
        Self {
            common_name: "Signet Embedded CA".into(),
            organization: "Signet".into(),
            key: "ec-p256".into(),
            validity_days: 3650,
            signer_validity_days: 730,
            public_url: String::new(),
        }
    }
}

impl Default for Log {
    fn default() -> Self {
        Self {
            format: "text".into(),
            level: "info".into(),
        }
    }
}

impl Config {
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            anyhow::ensure!(
                path.exists(),
                "configuration file {} does not exist",
                path.display()
            );
            fig = fig.merge(Toml::file(path));
        }
        // Only SIGNET_LISTEN and SIGNET_<SECTION>__<KEY> are configuration; other SIGNET_*
        // variables (SIGNET_PASSWORD, SIGNET_DATA, ...) are command inputs and must not be
        // mistaken for unknown keys.
        fig = fig.merge(
            Env::prefixed("SIGNET_")
                .filter(|k| k.as_str().contains("__") || k.as_str().eq_ignore_ascii_case("listen"))
                .split("__"),
        );
        let mut config: Config = fig.extract().context("invalid configuration")?;
        // The key module variables named by the HSM issue, kept short for operators.
        for (var, field) in [
            ("SIGNET_KEY_BACKEND", &mut config.keys.backend),
            ("SIGNET_PKCS11_MODULE", &mut config.keys.pkcs11_module),
            ("SIGNET_PKCS11_TOKEN", &mut config.keys.pkcs11_token),
            // The store of a node, usually set per deployment (issue 6).
            ("SIGNET_DATABASE_URL", &mut config.store.database_url),
        ] {
            if let Ok(v) = std::env::var(var)
                && !v.is_empty()
            {
                *field = v;
            }
        }
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.sam.sad_lifetime_seconds >= 1,
            "sam.sad_lifetime_seconds must be at least 1"
        );
        anyhow::ensure!(
            self.sam.max_failures >= 1,
            "sam.max_failures must be at least 1"
        );
        anyhow::ensure!(
            (0..=5).contains(&self.sam.totp_skew_steps),
            "sam.totp_skew_steps must be 0-5"
        );
        anyhow::ensure!(
            self.limits.max_body_bytes >= 1024,
            "limits.max_body_bytes must be at least 1024"
        );
        anyhow::ensure!(
            self.limits.max_hashes >= 1,
            "limits.max_hashes must be at least 1"
        );
        self.http.validate()?;
        anyhow::ensure!(
            matches!(self.log.format.as_str(), "text" | "json"),
            "log.format must be text or json"
        );
        self.ca
            .key
            .parse::<signet_core::KeyType>()
            .context("ca.key")?;
        anyhow::ensure!(
            self.ca.public_url.is_empty()
                || self.ca.public_url.starts_with("https://")
                || self.ca.public_url.starts_with("http://"),
            "ca.public_url must be an http(s) URL"
        );
        self.tsa
            .key
            .parse::<signet_core::KeyType>()
            .context("tsa.key")?;
        anyhow::ensure!(
            self.tsa.url.is_empty()
                || self.tsa.url.starts_with("http://")
                || self.tsa.url.starts_with("https://"),
            "tsa.url must be an http(s) URL (RFC 3161 over HTTP), or empty for the built-in TSA"
        );
        anyhow::ensure!(
            self.tsa.validity_days >= 1,
            "tsa.validity_days must be at least 1"
        );
        self.tsa
            .policy_oid
            .parse::<const_oid::ObjectIdentifier>()
            .map_err(|e| anyhow::anyhow!("tsa.policy_oid {:?}: {e}", self.tsa.policy_oid))?;
        let o = &self.oauth2;
        anyhow::ensure!(
            o.public_url.is_empty()
                || o.public_url.starts_with("https://")
                || o.public_url.starts_with("http://"),
            "oauth2.public_url must be an http(s) URL"
        );
        for (name, v) in [
            ("code_lifetime_seconds", o.code_lifetime_seconds),
            ("par_lifetime_seconds", o.par_lifetime_seconds),
            (
                "credential_token_lifetime_seconds",
                o.credential_token_lifetime_seconds,
            ),
            ("session_lifetime_seconds", o.session_lifetime_seconds),
            ("oob_lifetime_seconds", o.oob_lifetime_seconds),
        ] {
            anyhow::ensure!(v >= 1, "oauth2.{name} must be at least 1");
        }
        let t = &self.tls;
        anyhow::ensure!(
            t.certificate.is_empty() == t.key.is_empty(),
            "tls.certificate and tls.key go together: set both for HTTPS, or neither"
        );
        anyhow::ensure!(
            t.client_ca.is_empty() || t.enabled(),
            "tls.client_ca needs tls.certificate and tls.key"
        );
        anyhow::ensure!(
            !t.require_client_certificate || !t.client_ca.is_empty(),
            "tls.require_client_certificate needs tls.client_ca"
        );
        anyhow::ensure!(
            self.metrics.listen.is_empty() || self.metrics.enabled,
            "metrics.listen is set but metrics.enabled is false"
        );
        self.store.location(Path::new("."))?;
        anyhow::ensure!(
            (1..=1000).contains(&self.store.max_connections),
            "store.max_connections must be 1-1000"
        );
        anyhow::ensure!(
            self.validation.max_document_bytes >= 1024,
            "validation.max_document_bytes must be at least 1024"
        );
        for list in &self.validation.trusted_lists {
            anyhow::ensure!(
                !list.trim().is_empty(),
                "validation.trusted_lists: an entry is empty (give a file or an http(s) URL)"
            );
        }
        self.login.settings()?;
        anyhow::ensure!(
            matches!(self.keys.backend.as_str(), "software" | "pkcs11"),
            "keys.backend must be software or pkcs11 (got {:?})",
            self.keys.backend
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped example documents the defaults: it must parse and say exactly what they are.
    #[test]
    fn example_file_is_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../signet.example.toml");
        let from_file: Config = Figment::from(Toml::file(&path))
            .extract()
            .expect("example parses");
        let as_json = |c: &Config| serde_json::to_value(c).expect("serializes");
        assert_eq!(as_json(&from_file), as_json(&Config::default()));
    }

    #[test]
    fn store_locations() {
        let data = Path::new("/var/lib/signet");
        let at = |url: &str| {
            Store {
                database_url: url.into(),
                ..Store::default()
            }
            .location(data)
        };
        assert_eq!(
            at("").expect("default"),
            StoreLocation::Sqlite(data.join("signet.db"))
        );
        assert_eq!(
            at("sqlite:///srv/signet.db").expect("sqlite"),
            StoreLocation::Sqlite("/srv/signet.db".into())
        );
        for url in ["postgres://u:pw@db/signet", "postgresql://db/signet"] {
            assert_eq!(
                at(url).expect("postgres"),
                StoreLocation::Postgres(url.into())
            );
        }
        for bad in ["mysql://u:s3cret@db/x", "sqlite://", "signet.db"] {
            let err = at(bad).expect_err(bad).to_string();
            assert!(!err.contains("s3cret"), "{err}");
        }
    }

    #[test]
    fn validation_section() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("v.toml");
        std::fs::write(
            &file,
            "[validation]\ntrust = [\"/etc/signet/eu-roots.pem\"]\ntrusted_lists = [\"https://ec.europa.eu/tools/lotl/eu-lotl.xml\"]\nfetch = false\nmax_document_bytes = 2048\n",
        )
        .expect("write");
        let v = Config::load(Some(&file)).expect("loads").validation;
        assert_eq!(v.trust, vec!["/etc/signet/eu-roots.pem".to_string()]);
        assert_eq!(
            v.trusted_lists,
            vec!["https://ec.europa.eu/tools/lotl/eu-lotl.xml".to_string()]
        );
        assert_eq!((v.fetch, v.max_document_bytes), (false, 2048));
        let d = Validation::default();
        assert!(d.fetch && d.trust.is_empty() && d.trusted_lists.is_empty());
        assert_eq!(d.max_document_bytes, 16 << 20);
        std::fs::write(&file, "[validation]\nmax_document_bytes = 10\n").expect("write");
        let err = Config::load(Some(&file)).expect_err("too small");
        assert!(
            err.to_string().contains("validation.max_document_bytes"),
            "{err:#}"
        );
    }

    #[test]
    fn http_section() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("h.toml");
        std::fs::write(
            &file,
            "[http]\nheader_timeout_seconds = 2\nbody_timeout_seconds = 3\nbody_min_bytes_per_second = 0\nmax_connections = 7\nmax_connections_per_address = 0\nrequests_per_second = 0.5\nrequest_burst = 4\nshutdown_grace_seconds = 0\n",
        )
        .expect("write");
        let s = Config::load(Some(&file)).expect("loads").http.settings();
        assert_eq!(s.header_timeout, std::time::Duration::from_secs(2));
        assert_eq!(s.body_timeout, std::time::Duration::from_secs(3));
        assert_eq!(s.body_min_bytes_per_second, 0);
        assert_eq!((s.max_connections, s.max_connections_per_address), (7, 0));
        assert_eq!((s.requests_per_second, s.request_burst), (0.5, 4));
        assert_eq!(s.shutdown_grace, std::time::Duration::ZERO);
        // A whole number is a rate too.
        std::fs::write(&file, "[http]\nrequests_per_second = 3\n").expect("write");
        let h = Config::load(Some(&file)).expect("integer rate").http;
        assert_eq!(h.requests_per_second, 3.0);
        for (bad, key) in [
            ("header_timeout_seconds = 0", "http.header_timeout_seconds"),
            ("body_timeout_seconds = 0", "http.body_timeout_seconds"),
            ("max_connections = 0", "http.max_connections"),
            ("requests_per_second = -1.0", "http.requests_per_second"),
            ("request_burst = 0", "http.request_burst"),
        ] {
            std::fs::write(&file, format!("[http]\n{bad}\n")).expect("write");
            let err = Config::load(Some(&file)).expect_err(bad);
            assert!(err.to_string().contains(key), "{bad}: {err:#}");
        }
    }

    #[test]
    fn login_section() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("l.toml");
        std::fs::write(
            &file,
            "[login]\nfree_failures_per_user = 2\nbase_delay_seconds = 3\nmax_delay_seconds = 30\ntrusted_proxies = [\"127.0.0.1\", \"::1\"]\n",
        )
        .expect("write");
        let s = Config::load(Some(&file))
            .expect("loads")
            .login
            .settings()
            .expect("settings");
        assert_eq!(s.free_failures_per_user, 2);
        assert_eq!(s.free_failures_per_address, 20);
        assert_eq!(s.base_delay, std::time::Duration::from_secs(3));
        assert_eq!(s.max_delay, std::time::Duration::from_secs(30));
        assert_eq!(s.trusted_proxies.len(), 2);
        for (text, key) in [
            ("trusted_proxies = [\"proxy.internal\"]", "proxy.internal"),
            ("base_delay_seconds = 0", "login.base_delay_seconds"),
            ("max_delay_seconds = 7200", "login.forget_after_seconds"),
        ] {
            std::fs::write(&file, format!("[login]\n{text}\n")).expect("write");
            let err = Config::load(Some(&file)).expect_err(text);
            assert!(format!("{err:#}").contains(key), "{err:#}");
        }
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bad_key = dir.path().join("a.toml");
        std::fs::write(&bad_key, "[sam]\nmax_failure = 3\n").expect("write");
        let err = Config::load(Some(&bad_key)).expect_err("typo must be reported");
        assert!(format!("{err:#}").contains("max_failure"), "{err:#}");
        let bad_value = dir.path().join("b.toml");
        std::fs::write(&bad_value, "[ca]\nkey = \"dsa-1024\"\n").expect("write");
        let err = Config::load(Some(&bad_value)).expect_err("bad key type");
        assert!(format!("{err:#}").contains("dsa-1024"), "{err:#}");
        let missing = Config::load(Some(&dir.path().join("nope.toml"))).expect_err("missing file");
        // (SIGNET_* command inputs such as SIGNET_PASSWORD never reach the config: see load.)
        assert!(missing.to_string().contains("does not exist"));
    }
}
