//! Saved connection settings (`signet sign --save-profile`), so that daily use is
//! `signet sign contract.pdf`. A small TOML file; never holds a secret.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// One profile: where to connect and with which credential.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// `v1` or `v2`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    /// The user name for `auth/login` (the password is never saved).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The OAuth2 client ID for the browser flows (a public client with a loopback redirect).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// An extra CA certificate (PEM) to trust for the server's TLS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<PathBuf>,
    /// An RFC 3161 time-stamping authority URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tsa: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    profile: BTreeMap<String, Profile>,
}

/// `$SIGNET_CLIENT_CONFIG`, else `$XDG_CONFIG_HOME/signet/client.toml`, else
/// `~/.config/signet/client.toml`.
pub fn path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SIGNET_CLIENT_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(config.join("signet").join("client.toml"))
}

fn read_file() -> anyhow::Result<File> {
    let Some(path) = path() else {
        return Ok(File::default());
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            toml::from_str(&text).with_context(|| format!("profile file {}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(File::default()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// The named profile, or an empty one when there is none (an unknown name given explicitly is
/// an error: a typo must not silently sign with defaults).
pub fn load(name: &str, explicit: bool) -> anyhow::Result<Profile> {
    let mut file = read_file()?;
    match file.profile.remove(name) {
        Some(p) => Ok(p),
        None if explicit => anyhow::bail!(
            "no profile {name:?} in {} (save one with --save-profile)",
            path().map(|p| p.display().to_string()).unwrap_or_default()
        ),
        None => Ok(Profile::default()),
    }
}

/// Writes `profile` under `name`, keeping the others; returns the file's path.
pub fn save(name: &str, profile: Profile) -> anyhow::Result<PathBuf> {
    let path = path().context("no place for the profile file: set SIGNET_CLIENT_CONFIG or HOME")?;
    let mut file = read_file()?;
    file.profile.insert(name.to_owned(), profile);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let text = toml::to_string_pretty(&file)?;
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_round_trip_without_secrets() {
        let p = Profile {
            server: Some("https://rssp.example".into()),
            credential: Some("c1".into()),
            user: Some("alice".into()),
            ..Profile::default()
        };
        let mut f = File::default();
        f.profile.insert("default".into(), p.clone());
        let text = toml::to_string_pretty(&f).unwrap();
        assert!(text.contains("[profile.default]"), "{text}");
        let back: File = toml::from_str(&text).unwrap();
        assert_eq!(back.profile["default"], p);
        assert!(toml::from_str::<File>("[profile.x]\npassword = \"p\"\n").is_err());
    }
}
