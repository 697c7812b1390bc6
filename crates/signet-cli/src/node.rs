//! Opening a data directory: master key, store, key module, SAM, embedded CA.
//!
//! The first command that needs a data directory initializes it. Layout:
//! `master.key` (0600; or env SIGNET_MASTER_KEY), `signet.db` (SQLite), `ca.pem`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use signet_keys::{KeyModule, MasterKey, Pkcs11Config, Pkcs11KeyModule, SoftKeyModule};
use signet_sam::{Sam, SamConfig};
use signet_server::admin::{Admin, CaSettings, load_or_create_ca};
use signet_server::{AppState, ServerConfig, ServiceInfo};
use signet_store::{SqliteStore, Store};
use zeroize::Zeroizing;

use crate::config::Config;

pub struct Node {
    pub data_dir: PathBuf,
    pub store: Arc<dyn Store>,
    pub keys: Arc<dyn KeyModule>,
    pub sam: Arc<Sam>,
    pub admin: Admin,
    pub server: Arc<ServerConfig>,
    pub ca_pem_path: PathBuf,
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
    pub async fn open(data_dir: &Path, config: &Config) -> anyhow::Result<Self> {
        Self::open_with_pin(data_dir, config, None).await
    }

    /// Like [`Node::open`], with the PKCS#11 user PIN given directly (demo --hsm).
    pub async fn open_with_pin(
        data_dir: &Path,
        config: &Config,
        pkcs11_pin: Option<Zeroizing<String>>,
    ) -> anyhow::Result<Self> {
        create_private_dir(data_dir)?;
        let master = master_key(data_dir)?;
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(&data_dir.join("signet.db")).context("opening the database")?,
        );
        let keys = key_module(config, &master, pkcs11_pin)?;
        let sam = Arc::new(Sam::new(
            Arc::clone(&store),
            Arc::clone(&keys),
            master,
            SamConfig {
                sad_lifetime: Duration::from_secs(config.sam.sad_lifetime_seconds),
                max_failures: config.sam.max_failures,
                totp_skew_steps: config.sam.totp_skew_steps,
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
        let ca = load_or_create_ca(store.as_ref(), &keys, &ca_settings)
            .await
            .context("embedded CA")?;
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
        });
        let admin = Admin {
            store: Arc::clone(&store),
            keys: Arc::clone(&keys),
            sam: Arc::clone(&sam),
            ca,
            signer_validity_days: config.ca.signer_validity_days,
            organization,
        };
        Ok(Self {
            data_dir: data_dir.to_owned(),
            store,
            keys,
            sam,
            admin,
            server,
            ca_pem_path,
        })
    }

    pub fn app_state(&self) -> AppState {
        AppState {
            store: Arc::clone(&self.store),
            keys: Arc::clone(&self.keys),
            sam: Arc::clone(&self.sam),
            config: Arc::clone(&self.server),
        }
    }
}
