//! Opening a data directory: master key, store, key module, SAM, embedded CA.
//!
//! The first command that needs a data directory initializes it. Layout:
//! `master.key` (0600; or env SIGNET_MASTER_KEY), `signet.db` (SQLite), `ca.pem`.
//!
//! With `store.database_url` (env SIGNET_DATABASE_URL) naming a PostgreSQL database, the state
//! lives there instead of `signet.db`, and several nodes, each with its own data directory, can
//! share it: what a node keeps locally is only the master key (which must be the same on every
//! node: checked against the database at start) and a copy of the CA certificate.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use signet_audit::key::AuditKeySettings;
use signet_keys::{
    KeyAccess, KeyModule, MasterKey, Pkcs11Config, Pkcs11KeyModule, ServiceKeys, SoftKeyModule,
};
use signet_pki::ValidationUrls;
use signet_sam::{Sam, SamConfig};
use signet_server::backoff::{LoginBackoff, LoginBackoffSettings};
use signet_server::{AppState, ServerConfig, ServiceInfo};
use signet_service::admin::Admin;
use signet_service::bootstrap::{CaSettings, load_or_create_ca};
use signet_service::verification::{
    MAX_REVOCATION_AGE, ValidationSettings, load_anchors, load_trusted_lists,
};
use signet_service::{PkiService, Service, TimeStampSource, TsaSettings};
use signet_store::{AuditKey, PgOptions, PgStore, SqliteStore, Store};
use zeroize::Zeroizing;

use crate::config::{Config, StoreLocation};

pub struct Node {
    pub data_dir: PathBuf,
    /// This node's name (audit chains, sealer lease).
    pub node_id: String,
    /// The audit record MAC key (derived from the master key).
    pub audit_mac_key: AuditKey,
    /// How the audit key is created or rotated.
    pub audit_key_settings: AuditKeySettings,
    /// `[audit]`: sealing interval, checkpoint directory.
    pub audit: crate::config::Audit,
    pub store: Arc<dyn Store>,
    /// The key module, as capabilities: each component gets only its own.
    pub keys: KeyAccess,
    pub sam: Arc<Sam>,
    pub admin: Admin,
    pub server: Arc<ServerConfig>,
    pub ca_pem_path: PathBuf,
    /// The configured base URL for certificate validation URLs (`ca.public_url`, else
    /// `oauth2.public_url`); empty when neither is set.
    configured_public_url: String,
    /// Where time-stamps come from (`[tsa]`).
    pub time_stamps: TimeStampSource,
    /// Trust anchors, trusted lists, fetching and limits of validation (`[validation]`),
    /// loaded once.
    pub validation: ValidationSettings,
    /// Back-off of password sign-in (`[login]`).
    pub login_backoff: LoginBackoffSettings,
}

/// Settings key of the public URL the last `serve` bound, for certificates issued by later
/// `admin` commands when no public URL is configured.
const SERVED_PUBLIC_URL: &str = "server.public_url";

/// What a process does with a data directory, which decides its audit chains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `serve`, `demo`, the bench server: one chain per database connection, `<node>/<i>`, so
    /// concurrent requests never wait for each other's commits to append.
    Server,
    /// A one-shot command (`admin`, `audit`): the chain `<node>/cli`, which no server uses.
    Command,
}

/// This node's name: `audit.node_id`, else the random name kept in `node.id`.
fn node_id(data_dir: &Path, config: &Config) -> anyhow::Result<String> {
    let valid = |id: &str| {
        !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    };
    if !config.audit.node_id.is_empty() {
        anyhow::ensure!(
            valid(&config.audit.node_id),
            "audit.node_id {:?}: use letters, digits, '.', '_' and '-' (at most 64)",
            config.audit.node_id
        );
        return Ok(config.audit.node_id.clone());
    }
    let path = data_dir.join("node.id");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let id = text.trim().to_owned();
        anyhow::ensure!(
            valid(&id),
            "{} does not hold a valid node name",
            path.display()
        );
        return Ok(id);
    }
    let mut random = [0u8; 6];
    aws_lc_rs::rand::fill(&mut random).map_err(|_| anyhow::anyhow!("no randomness"))?;
    let id = format!("node-{}", data_encoding::HEXLOWER.encode(&random));
    std::fs::write(&path, format!("{id}\n"))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(id)
}

/// The audit chains and MAC key of this process.
fn audit_config(
    master: &MasterKey,
    node: &str,
    role: Role,
    connections: usize,
) -> signet_store::AuditConfig {
    let key = audit_mac_key(master);
    match role {
        Role::Server => signet_store::AuditConfig::node(key, node, connections),
        Role::Command => signet_store::AuditConfig {
            key,
            chains: vec![format!("{node}/cli")],
        },
    }
}

/// HKDF label of the audit record MAC key.
const AUDIT_MAC_LABEL: &str = "signet audit record mac v1";

/// The audit MAC key of a master key.
pub fn audit_mac_key(master: &MasterKey) -> AuditKey {
    AuditKey::new(*master.derive(AUDIT_MAC_LABEL))
}

/// Opens the store the configuration names: the SQLite file in the data directory by default.
async fn open_store(
    data_dir: &Path,
    config: &Config,
    master: &MasterKey,
    node: &str,
    role: Role,
) -> anyhow::Result<Arc<dyn Store>> {
    match config.store.location(data_dir)? {
        StoreLocation::Sqlite(path) => Ok(Arc::new(
            SqliteStore::open(&path)
                .context("opening the database")?
                // One writer connection: one chain is all a SQLite process can use.
                .with_audit(audit_config(master, node, role, 1))?,
        )),
        StoreLocation::Postgres(url) => {
            let options = PgOptions {
                max_connections: config.store.max_connections,
                ..PgOptions::default()
            };
            let store = PgStore::connect_with(&url, options)
                .await
                .context("opening the PostgreSQL database")?
                .with_audit(audit_config(master, node, role, options.max_connections))?;
            tracing::info!(database = store.target(), "store: PostgreSQL");
            Ok(Arc::new(store))
        }
    }
}

/// Settings key of the master key's check value.
const MASTER_KEY_CHECK: &str = "master_key.check";

/// Refuses to run with a master key other than the one the database was set up with. Nodes
/// sharing a PostgreSQL database must all use the same key (SIGNET_MASTER_KEY): with another
/// one a node could not open the sealed software keys and TOTP secrets, and every PIN would
/// hash differently, so signers would see their correct PIN refused, on that node only. The
/// first open records a value derived from the key (HKDF with a label of its own: it reveals
/// nothing about the key or the other derived keys); every later open compares.
async fn check_master_key(store: &dyn Store, master: &MasterKey) -> anyhow::Result<()> {
    let check = master.derive("signet master key check v1");
    store
        .put_settings_if_absent(&[(MASTER_KEY_CHECK, &check[..])], None)
        .await
        .context("recording the master key check value")?;
    let stored = store
        .setting(MASTER_KEY_CHECK)
        .await
        .context("reading the master key check value")?;
    anyhow::ensure!(
        stored.as_deref() == Some(&check[..]),
        "this database was set up with another master key: every node sharing a database needs \
         the same master key (SIGNET_MASTER_KEY, or the same master.key file)"
    );
    Ok(())
}

fn master_key(data_dir: &Path) -> anyhow::Result<MasterKey> {
    match std::env::var("SIGNET_MASTER_KEY") {
        Ok(v) if !v.is_empty() => MasterKey::from_env_value(&v).context("SIGNET_MASTER_KEY"),
        _ => MasterKey::load_or_create(&data_dir.join("master.key")).context("master key"),
    }
}

/// The token user PIN: from `keys.pkcs11_pin_file`, else env SIGNET_PKCS11_PIN. Never logged.
fn pkcs11_pin(config: &Config) -> anyhow::Result<Zeroizing<String>> {
    if !config.keys.pkcs11_pin_file.is_empty() {
        let text = Zeroizing::new(
            std::fs::read_to_string(&config.keys.pkcs11_pin_file).with_context(|| {
                format!(
                    "reading the PKCS#11 PIN file {}",
                    config.keys.pkcs11_pin_file
                )
            })?,
        );
        return Ok(Zeroizing::new(
            text.trim_end_matches(['\r', '\n']).to_owned(),
        ));
    }
    match std::env::var("SIGNET_PKCS11_PIN") {
        Ok(pin) if !pin.is_empty() => Ok(Zeroizing::new(pin)),
        _ => anyhow::bail!(
            "the PKCS#11 backend needs the token user PIN: set SIGNET_PKCS11_PIN or keys.pkcs11_pin_file"
        ),
    }
}

/// Opens the configured key module. `pin` overrides the configured PIN source (demo --hsm).
pub fn key_module(
    config: &Config,
    master: &MasterKey,
    pin: Option<Zeroizing<String>>,
) -> anyhow::Result<Arc<dyn KeyModule>> {
    match config.keys.backend.as_str() {
        "pkcs11" => {
            let user_pin = match pin {
                Some(p) => p,
                None => pkcs11_pin(config)?,
            };
            let module = Pkcs11KeyModule::open(Pkcs11Config {
                module: PathBuf::from(&config.keys.pkcs11_module),
                token_label: config.keys.pkcs11_token.clone(),
                user_pin,
                sessions: config.keys.pkcs11_sessions,
            })
            .with_context(|| {
                format!(
                    "opening PKCS#11 token {:?} with {}",
                    config.keys.pkcs11_token, config.keys.pkcs11_module
                )
            })?;
            Ok(Arc::new(module))
        }
        _ => Ok(Arc::new(SoftKeyModule::new(master.clone()))),
    }
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create data directory {}", dir.display()))?;
    }
    anyhow::ensure!(dir.is_dir(), "{} is not a directory", dir.display());
    Ok(())
}

impl Node {
    /// Opens the data directory for a one-shot command.
    pub async fn open(data_dir: &Path, config: &Config) -> anyhow::Result<Self> {
        Self::open_as(data_dir, config, Role::Command, None).await
    }

    /// Opens the data directory for a server.
    pub async fn open_server(data_dir: &Path, config: &Config) -> anyhow::Result<Self> {
        Self::open_as(data_dir, config, Role::Server, None).await
    }

    /// Opens the data directory in `role`, with the PKCS#11 user PIN given directly when
    /// `pkcs11_pin` is set (demo --hsm).
    pub async fn open_as(
        data_dir: &Path,
        config: &Config,
        role: Role,
        pkcs11_pin: Option<Zeroizing<String>>,
    ) -> anyhow::Result<Self> {
        create_private_dir(data_dir)?;
        let master = master_key(data_dir)?;
        let node_id = node_id(data_dir, config)?;
        let store = open_store(data_dir, config, &master, &node_id, role).await?;
        check_master_key(store.as_ref(), &master).await?;
        // A log from before keyed chains: verified and keyed once, by whichever node opens it
        // first. A broken old chain is left as it is, for `signet audit verify` to show.
        match store.upgrade_audit().await {
            Ok(Some(n)) => tracing::info!(
                records = n,
                "audit log upgraded: legacy chain verified and keyed"
            ),
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "audit log NOT upgraded"),
        }
        let audit_mac_key = audit_mac_key(&master);
        let keys = KeyAccess::new(key_module(config, &master, pkcs11_pin)?);
        let service_keys = keys.service_keys();
        let sam = Arc::new(Sam::new(
            Arc::clone(&store),
            keys.signer_keys(),
            master,
            SamConfig {
                sad_lifetime: Duration::from_secs(config.sam.sad_lifetime_seconds),
                max_failures: config.sam.max_failures,
                totp_skew_steps: config.sam.totp_skew_steps,
                extend_rebinds_hashes: config.sam.extend_rebinds_hashes,
            },
        ));
        let organization =
            (!config.ca.organization.is_empty()).then(|| config.ca.organization.clone());
        let ca_settings = CaSettings {
            common_name: config.ca.common_name.clone(),
            organization: organization.clone(),
            key_type: config.ca.key.parse()?,
            validity_days: config.ca.validity_days,
        };
        let mut ca = load_or_create_ca(store.as_ref(), &service_keys, &ca_settings)
            .await
            .context("embedded CA")?;
        let audit_key_settings = AuditKeySettings {
            origin: config.audit.origin.clone(),
            organization: organization.clone(),
            validity_days: config.ca.validity_days,
            ..AuditKeySettings::default()
        };
        signet_audit::key::load_or_create(store.as_ref(), &service_keys, &ca, &audit_key_settings)
            .await
            .context("audit key")?;
        // OCSP answers from the issued-certificate list: a store from before it gets its
        // certificates indexed once.
        let audit_certificates: Vec<(&str, Vec<u8>)> =
            signet_audit::key::certificates(store.as_ref())
                .await?
                .into_iter()
                .map(|c| ("audit", c))
                .collect();
        let indexed = signet_service::pki::index_issued_certificates(
            store.as_ref(),
            &ca.certificate,
            &audit_certificates,
        )
        .await
        .context("indexing the issued certificates")?;
        if indexed > 0 {
            tracing::info!(
                certificates = indexed,
                "issued certificates indexed for OCSP"
            );
        }
        let configured_public_url = [&config.ca.public_url, &config.oauth2.public_url]
            .into_iter()
            .find(|u| !u.is_empty())
            .map(|u| u.trim_end_matches('/').to_owned())
            .unwrap_or_default();
        let base = if configured_public_url.is_empty() {
            match store.setting(SERVED_PUBLIC_URL).await? {
                Some(url) => String::from_utf8_lossy(&url).into_owned(),
                None => format!("http://{}", config.listen),
            }
        } else {
            configured_public_url.clone()
        };
        ca.urls = Some(ValidationUrls::under(&base));
        let time_stamps = if config.tsa.url.is_empty() {
            TimeStampSource::Builtin(TsaSettings {
                common_name: config.tsa.common_name.clone(),
                organization: organization.clone(),
                key_type: config.tsa.key.parse()?,
                validity_days: config.tsa.validity_days,
                policy_oid: config.tsa.policy_oid.clone(),
            })
        } else {
            TimeStampSource::External {
                url: config.tsa.url.clone(),
            }
        };
        let validation = validation_settings(config, &ca.certificate)?;
        let ca_pem_path = data_dir.join("ca.pem");
        std::fs::write(&ca_pem_path, ca.certificate_pem())
            .with_context(|| format!("writing {}", ca_pem_path.display()))?;
        // Empty = Signet's own /logo.png under the public URL, filled in once the address is
        // bound (serve.rs), so that port 0 and 0.0.0.0 listeners advertise something reachable.
        let logo = config.service.logo.clone();
        let server = Arc::new(ServerConfig {
            service: ServiceInfo {
                name: config.service.name.clone(),
                logo,
                region: config.service.region.clone(),
                lang: config.service.lang.clone(),
                description: config.service.description.clone(),
            },
            access_token_lifetime: Duration::from_secs(config.tokens.access_lifetime_seconds),
            refresh_token_lifetime: Duration::from_secs(config.tokens.refresh_lifetime_seconds),
            max_body_bytes: config.limits.max_body_bytes,
            max_hashes: config.limits.max_hashes,
            oauth2: signet_server::OAuth2Settings {
                public_url: config.oauth2.public_url.trim_end_matches('/').to_owned(),
                code_lifetime: Duration::from_secs(config.oauth2.code_lifetime_seconds),
                pushed_request_lifetime: Duration::from_secs(config.oauth2.par_lifetime_seconds),
                credential_token_lifetime: Duration::from_secs(
                    config.oauth2.credential_token_lifetime_seconds,
                ),
                session_lifetime: Duration::from_secs(config.oauth2.session_lifetime_seconds),
                oob_lifetime: Duration::from_secs(config.oauth2.oob_lifetime_seconds),
            },
            ops: signet_server::OpsSettings {
                metrics: config.metrics.enabled,
                metrics_on_main_listener: config.metrics.listen.is_empty(),
                client_certificates: config.tls.mutual(),
            },
            ades: signet_service::AdesSettings {
                max_request_bytes: config.limits.max_sign_doc_bytes,
                max_documents: config.limits.max_documents,
                limits: signet_ades::Limits {
                    max_document_bytes: config.limits.max_document_bytes,
                    max_pdf_objects: config.limits.max_pdf_objects,
                    max_xml_depth: config.limits.max_xml_depth,
                },
            },
            http: config.http.settings(),
        });
        let admin = Admin {
            store: Arc::clone(&store),
            keys: keys.provisioning(),
            service_keys,
            sam: Arc::clone(&sam),
            ca,
            signer_validity_days: config.ca.signer_validity_days,
            organization,
        };
        Ok(Self {
            data_dir: data_dir.to_owned(),
            node_id,
            audit_mac_key,
            audit_key_settings,
            audit: config.audit.clone(),
            store,
            keys,
            sam,
            admin,
            server,
            ca_pem_path,
            configured_public_url,
            time_stamps,
            validation,
            login_backoff: config.login.settings()?,
        })
    }

    pub fn app_state(&self) -> AppState {
        self.app_state_with(Arc::new(self.pki_service(self.admin.ca.clone())))
    }

    /// The request handlers' state, with the PKI services `pki` (see [`Node::serving_at`]).
    pub fn app_state_with(&self, pki: Arc<PkiService>) -> AppState {
        AppState {
            store: Arc::clone(&self.store),
            sam: Arc::clone(&self.sam),
            service: Arc::new(Service::new(
                Arc::clone(&self.store),
                Arc::clone(&self.sam),
                pki,
                self.keys.provisioning(),
                self.server.ades.clone(),
                self.validation.clone(),
            )),
            config: Arc::clone(&self.server),
            logins: Arc::new(LoginBackoff::new(self.login_backoff.clone())),
        }
    }

    /// The PKI services as a command sees them (the CA's recorded URLs), for time-stamping
    /// checkpoints outside `serve`.
    pub fn serving_pki(&self) -> Arc<PkiService> {
        Arc::new(self.pki_service(self.admin.ca.clone()))
    }

    /// The CA, TSA and audit keys (the PKI's and the sealer's capability).
    pub fn service_keys(&self) -> ServiceKeys {
        self.admin.service_keys.clone()
    }

    fn pki_service(&self, ca: signet_pki::EmbeddedCa) -> PkiService {
        PkiService::new(
            Arc::clone(&self.store),
            self.service_keys(),
            ca,
            self.time_stamps.clone(),
        )
    }

    /// The PKI services of a server reachable at `public_url` (the address `serve` bound, or
    /// the configured public URL). Without a configured public URL, that URL is recorded in
    /// the store so that certificates issued later by `admin` commands point at this server
    /// (cRLDistributionPoints, authorityInfoAccess), and the built-in TSA, created on first
    /// use, gets it too.
    pub async fn serving_at(&self, public_url: &str) -> anyhow::Result<Arc<PkiService>> {
        let mut ca = self.admin.ca.clone();
        if self.configured_public_url.is_empty() {
            let url = public_url.trim_end_matches('/');
            self.store
                .put_setting(SERVED_PUBLIC_URL, url.as_bytes())
                .await
                .context("recording the public URL")?;
            ca.urls = Some(ValidationUrls::under(url));
        }
        Ok(Arc::new(self.pki_service(ca)))
    }
}

/// `[validation]`: the embedded CA's certificate and the configured anchors, the trusted lists,
/// the network fetcher when fetching is on, the limits.
fn validation_settings(
    config: &Config,
    ca_certificate: &[u8],
) -> anyhow::Result<ValidationSettings> {
    let v = &config.validation;
    let files: Vec<PathBuf> = v.trust.iter().map(PathBuf::from).collect();
    let mut anchors = load_anchors(ca_certificate, &files).map_err(anyhow::Error::msg)?;
    let limits = signet_ades::Limits {
        max_document_bytes: v.max_document_bytes,
        max_pdf_objects: config.limits.max_pdf_objects,
        max_xml_depth: config.limits.max_xml_depth,
    };
    let fetch_list = |url: &str| -> Result<Vec<u8>, String> {
        if !v.fetch {
            return Err("fetching is off ([validation] fetch = false)".into());
        }
        // A blocking HTTP client cannot live inside the async runtime: its own thread.
        let url = url.to_owned();
        std::thread::spawn(move || {
            let http = signet_client::http_client(&signet_client::HttpOptions {
                timeout: FETCH_TIMEOUT,
                ..Default::default()
            })
            .map_err(|e| e.to_string())?;
            signet_client::fetch::get_bytes(
                &http,
                &url,
                signet_validation::trust::MAX_TRUSTED_LIST_BYTES,
            )
        })
        .join()
        .map_err(|_| "the download thread failed".to_string())?
    };
    let trusted_lists = load_trusted_lists(&v.trusted_lists, &fetch_list, &limits, &mut anchors)
        .map_err(anyhow::Error::msg)?;
    Ok(ValidationSettings {
        anchors,
        trusted_lists,
        fetch: v.fetch,
        network: v
            .fetch
            // Certificates of other CAs: issuer certificates from caIssuers, OCSP or CRLs from
            // the URLs they name; the HTTP client is made on first use, on the validation's
            // blocking thread (one cannot be made inside the async runtime).
            .then(|| {
                Arc::new(signet_client::fetch::LazyValidationData::new(
                    signet_client::HttpOptions {
                        timeout: FETCH_TIMEOUT,
                        ..Default::default()
                    },
                    Vec::new(),
                )) as Arc<dyn signet_ades::ValidationData>
            }),
        limits,
        max_revocation_age: MAX_REVOCATION_AGE,
    })
}

/// How long one validation data fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(20);

/// Checkpoint time-stamps from the node's TSA (built in or external).
struct PkiTimeStamper(Arc<PkiService>);

#[async_trait::async_trait]
impl signet_audit::seal::TimeStamper for PkiTimeStamper {
    async fn timestamp(&self, sha256: &[u8; 32]) -> Result<Vec<u8>, String> {
        self.0
            .timestamp(signet_core::HashAlgorithm::Sha256, sha256, None)
            .await
            .map_err(|e| e.to_string())
    }
}

impl Node {
    /// The sealer of this node (`None` when `audit.seal_interval_ms` is 0), time-stamping with
    /// `pki`'s TSA.
    pub fn sealer(&self, pki: Arc<PkiService>) -> Option<signet_audit::seal::Sealer> {
        (self.audit.seal_interval_ms > 0)
            .then(|| self.sealer_with(Some(pki), self.audit.seal_interval_ms))
    }

    /// A sealer with an explicit interval (also for `signet audit seal`).
    pub fn sealer_with(
        &self,
        pki: Option<Arc<PkiService>>,
        interval_ms: u64,
    ) -> signet_audit::seal::Sealer {
        use signet_audit::seal::{Sealer, SealerConfig, TimeStamper};
        Sealer {
            store: Arc::clone(&self.store),
            keys: self.service_keys(),
            mac_key: self.audit_mac_key.clone(),
            time_stamps: pki.map(|p| Arc::new(PkiTimeStamper(p)) as Arc<dyn TimeStamper>),
            config: SealerConfig {
                interval: Duration::from_millis(interval_ms.max(1)),
                holder: self.node_id.clone(),
                checkpoint_dir: (!self.audit.checkpoint_dir.is_empty())
                    .then(|| PathBuf::from(&self.audit.checkpoint_dir)),
                max_records: self.audit.max_records_per_checkpoint,
            },
        }
    }
}
