//! Setup, as an operator would do it: `signet admin` commands on the server's data directory
//! (users, credentials, OAuth2 clients) while it runs, their JSON output read back.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, bail};
use serde_json::Value;
use signet_core::{KeyType, SignMechanism};
use zeroize::Zeroizing;

use crate::bench::progress;

/// Every soak credential's PIN (the data directory is a throwaway one).
pub const PIN: &str = "314159";
/// Where the OAuth2 client says it wants the code: never contacted (the soak reads the
/// redirect's Location instead of following it).
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/soak/callback";

/// SCAL1 signers for the signHash flow.
const SCAL1_USERS: usize = 4;
/// SCAL2 signers: each TOTP step is good for one authorization per signer, so the SCAL2 flows
/// run at about this many authorizations per 30 s.
const SCAL2_USERS: usize = 8;

/// An enrolled user.
pub struct User {
    pub name: String,
    pub password: Zeroizing<String>,
    pub totp_secret: Zeroizing<Vec<u8>>,
}

/// A credential and what the soak checks its signatures with.
#[derive(Clone)]
pub struct Credential {
    pub id: String,
    /// The signer certificate (DER): its key checks signHash values, its serial is asked of OCSP.
    pub certificate: Vec<u8>,
    pub public_key: Vec<u8>,
    pub mechanism: SignMechanism,
}

/// A user with one credential.
pub struct Account {
    pub user: User,
    pub credential: Credential,
}

pub struct OAuthClient {
    pub id: String,
    pub secret: Option<Zeroizing<String>>,
}

/// Everything the workers use.
pub struct Fixture {
    pub scal1: Vec<Account>,
    pub scal2: Vec<Account>,
    /// SCAL1 ECDSA credential for CSC signDoc.
    pub documents: Account,
    /// SCAL1 RSA credential for DSS-X.
    pub dssx: Account,
    /// An oauth2code SCAL1 credential and the public client that asks for it.
    pub oauth: Account,
    pub public_client: OAuthClient,
    /// A confidential client bound to this account's user (client_credentials, e-seal).
    pub seal: Account,
    pub seal_client: OAuthClient,
    /// The target of hostile requests that need a valid token: its own user and credential,
    /// so that what they cost (failed PINs, a lock-out) touches no valid flow.
    pub hostile: Account,
    /// The embedded CA's certificate (DER).
    pub ca_certificate: Vec<u8>,
}

/// Runs `signet --data DIR [--config FILE] ARGS…` and returns its standard output as JSON.
pub struct Admin {
    exe: PathBuf,
    data: PathBuf,
    config: Option<PathBuf>,
}

impl Admin {
    pub fn new(data: &Path, config: Option<&Path>) -> anyhow::Result<Self> {
        Ok(Self {
            exe: std::env::current_exe().context("finding the signet executable")?,
            data: data.to_owned(),
            config: config.map(Path::to_owned),
        })
    }

    /// The command with the data directory and configuration of the server.
    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.exe);
        cmd.arg("--data").arg(&self.data);
        if let Some(c) = &self.config {
            cmd.arg("--config").arg(c);
        }
        cmd.args(args).stdin(Stdio::null()).kill_on_drop(true);
        cmd
    }

    async fn json(&self, args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<Value> {
        let mut cmd = self.command(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd
            .output()
            .await
            .with_context(|| format!("running signet {}", args.join(" ")))?;
        if !out.status.success() {
            bail!(
                "signet {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        serde_json::from_slice(&out.stdout)
            .with_context(|| format!("signet {} printed no JSON", args.join(" ")))
    }

    async fn user(&self, name: &str) -> anyhow::Result<User> {
        let password = signet_sam::secrets::random_secret()?;
        let v = self
            .json(
                &["admin", "user", "add", name, "--json"],
                &[("SIGNET_PASSWORD", &password)],
            )
            .await?;
        let secret = v["totp_secret"]
            .as_str()
            .and_then(signet_sam::totp::parse_base32)
            .context("admin user add printed no Base32 totp_secret")?;
        Ok(User {
            name: name.to_owned(),
            password,
            totp_secret: Zeroizing::new(secret),
        })
    }

    async fn credential(
        &self,
        user: &str,
        key: KeyType,
        scal: u8,
        auth: &str,
    ) -> anyhow::Result<(Credential, Vec<u8>)> {
        let scal = scal.to_string();
        let v = self
            .json(
                &[
                    "admin",
                    "credential",
                    "create",
                    "--user",
                    user,
                    "--key",
                    key.name(),
                    "--scal",
                    &scal,
                    "--auth",
                    auth,
                    "--json",
                ],
                &[("SIGNET_PIN", PIN)],
            )
            .await?;
        let field = |name: &str| -> anyhow::Result<Vec<u8>> {
            let text = v[name]
                .as_str()
                .with_context(|| format!("admin credential create printed no {name}"))?;
            signet_core::b64::decode(text).with_context(|| format!("{name} is not Base64"))
        };
        let certificate = field("certificate")?;
        let credential = Credential {
            id: v["credential_id"]
                .as_str()
                .context("admin credential create printed no credential_id")?
                .to_owned(),
            public_key: signet_pki::certificate_public_key(&certificate)?,
            certificate,
            mechanism: SignMechanism::default_for(key),
        };
        Ok((credential, field("ca_certificate")?))
    }

    async fn account(
        &self,
        name: &str,
        key: KeyType,
        scal: u8,
        auth: &str,
    ) -> anyhow::Result<(Account, Vec<u8>)> {
        let user = self.user(name).await?;
        let (credential, ca) = self.credential(name, key, scal, auth).await?;
        Ok((Account { user, credential }, ca))
    }

    async fn client(
        &self,
        name: &str,
        confidential_for: Option<&str>,
    ) -> anyhow::Result<OAuthClient> {
        let mut args = vec![
            "admin",
            "client",
            "add",
            name,
            "--json",
            "--redirect-uri",
            REDIRECT_URI,
        ];
        if let Some(user) = confidential_for {
            args.extend(["--confidential", "--user", user]);
        }
        let v = self.json(&args, &[]).await?;
        Ok(OAuthClient {
            id: v["client_id"]
                .as_str()
                .context("admin client add printed no client_id")?
                .to_owned(),
            secret: v["client_secret"]
                .as_str()
                .map(|s| Zeroizing::new(s.to_owned())),
        })
    }

    /// Enrols every signer, credential and client the workers need.
    pub async fn fixture(&self) -> anyhow::Result<Fixture> {
        progress::note(&format!(
            "setup: {SCAL1_USERS} SCAL1 and {SCAL2_USERS} SCAL2 signers, document, DSS-X, OAuth2, e-seal and hostile accounts (signet admin)"
        ));
        let ec = KeyType::EcP256;
        let mut scal1 = Vec::new();
        for i in 0..SCAL1_USERS {
            scal1.push(
                self.account(&format!("soak-scal1-{i}"), ec, 1, "explicit")
                    .await?
                    .0,
            );
        }
        let mut scal2 = Vec::new();
        for i in 0..SCAL2_USERS {
            scal2.push(
                self.account(&format!("soak-scal2-{i}"), ec, 2, "explicit")
                    .await?
                    .0,
            );
        }
        let (documents, ca_certificate) = self.account("soak-documents", ec, 1, "explicit").await?;
        let (dssx, _) = self
            .account("soak-dssx", KeyType::Rsa2048, 1, "explicit")
            .await?;
        let (oauth, _) = self.account("soak-oauth", ec, 1, "oauth2code").await?;
        let public_client = self.client("soak public client", None).await?;
        let (seal, _) = self.account("soak-seal", ec, 1, "explicit").await?;
        let seal_client = self.client("soak e-seal client", Some("soak-seal")).await?;
        let (hostile, _) = self.account("soak-hostile", ec, 1, "explicit").await?;
        Ok(Fixture {
            scal1,
            scal2,
            documents,
            dssx,
            oauth,
            public_client,
            seal,
            seal_client,
            hostile,
            ca_certificate,
        })
    }
}
