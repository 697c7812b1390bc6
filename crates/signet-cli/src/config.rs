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
    pub service: Service,
    pub sam: Sam,
    pub tokens: Tokens,
    pub limits: Limits,
    pub ca: Ca,
    pub keys: Keys,
    pub oauth2: OAuth2,
    pub log: Log,
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

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            service: Service::default(),
            sam: Sam::default(),
            tokens: Tokens::default(),
            limits: Limits::default(),
            ca: Ca::default(),
            keys: Keys::default(),
            oauth2: OAuth2::default(),
            log: Log::default(),
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
        anyhow::ensure!(
            matches!(self.log.format.as_str(), "text" | "json"),
            "log.format must be text or json"
        );
        self.ca
            .key
            .parse::<signet_core::KeyType>()
            .context("ca.key")?;
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
