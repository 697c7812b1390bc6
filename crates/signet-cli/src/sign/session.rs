//! Connecting to a CSC server as the user: service authentication (Basic login, OAuth2 in the
//! browser, or client credentials) and credential authorization in whatever mode the
//! credential has (explicit factors, out-of-band approval, OAuth2 consent).

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use signet_client::batch::Authorizer;
use signet_client::oauth::{self, CodeFlow, Endpoints, LoopbackRedirect, Scope};
use signet_client::{
    ApiVersion, AuthMode, Authorization, AuthorizeRequest, ClientError, CredentialAuthorization,
    CredentialInfo, CscClient, ServiceInfo,
};
use signet_core::HashAlgorithm;
use zeroize::Zeroizing;

use super::ui;

/// How long the signer has to approve in the browser or on the phone.
const APPROVAL_WAIT: Duration = Duration::from_secs(300);

/// Connection settings after the command line, the environment and the profile were merged.
pub struct Settings {
    pub server: String,
    pub api: ApiVersion,
    pub user: Option<String>,
    pub client_id: Option<String>,
    pub ca_cert: Option<std::path::PathBuf>,
    /// `auto`, `basic`, `oauth2` or `client-credentials`.
    pub auth: String,
    pub quiet: bool,
}

/// A logged-in client and what the server offers.
pub struct Session {
    pub client: CscClient,
    pub info: ServiceInfo,
    pub http: signet_client::HttpClient,
    endpoints: std::cell::OnceCell<Endpoints>,
    pub client_id: Option<String>,
    pub quiet: bool,
}

impl Session {
    pub fn open(settings: &Settings) -> anyhow::Result<Self> {
        let mut options = signet_client::HttpOptions::default();
        if let Some(path) = &settings.ca_cert {
            options.extra_roots = read_pem_certificates(path)?;
        }
        let http = signet_client::http_client(&options)?;
        let client = CscClient::new(http.clone(), &settings.server, settings.api)?;
        let info = client
            .info()
            .context("asking the server what it offers (info)")?;
        let mut session = Session {
            client,
            info,
            http,
            endpoints: std::cell::OnceCell::new(),
            client_id: settings.client_id.clone(),
            quiet: settings.quiet,
        };
        session.authenticate(settings)?;
        Ok(session)
    }

    fn endpoints(&self) -> anyhow::Result<&Endpoints> {
        if let Some(e) = self.endpoints.get() {
            return Ok(e);
        }
        let found = self.client.oauth_endpoints(&self.info)?;
        Ok(self.endpoints.get_or_init(|| found))
    }

    /// Service authentication: the method the user asked for, or the first one the server
    /// offers and the user can do.
    fn authenticate(&mut self, settings: &Settings) -> anyhow::Result<()> {
        let secret_set = std::env::var_os("SIGNET_CLIENT_SECRET").is_some_and(|s| !s.is_empty());
        let method = match settings.auth.as_str() {
            "auto"
                if self.client_id.is_some()
                    && secret_set
                    && self.info.offers_auth("oauth2client") =>
            {
                "client-credentials"
            }
            "auto" if self.info.offers_auth("basic") => "basic",
            "auto" if self.info.offers_auth("oauth2code") && self.client_id.is_some() => "oauth2",
            // Authenticated outside the protocol (VPN, gateway, a private network).
            "auto" if self.info.offers_auth("external") => "external",
            "auto" => bail!(
                "cannot authenticate to {}: it offers {} — give a user (basic), or --client-id for oauth2code / client credentials",
                self.client.base_url(),
                self.info.auth_types.join(", ")
            ),
            other => other,
        };
        match method {
            "basic" => {
                let user = ui::plain("SIGNET_USER", settings.user.as_deref(), "User")?;
                let password =
                    ui::secret("SIGNET_PASSWORD", &format!("Password for {user}"), false)?;
                self.client
                    .login(&user, &password)
                    .context("signing in (auth/login)")?;
            }
            "oauth2" => {
                let token = self.browser_flow(&Scope::Service)?;
                self.client.set_access_token(token.access_token);
            }
            "client-credentials" => {
                let client_id = self
                    .client_id
                    .clone()
                    .context("client credentials need --client-id")?;
                let secret = ui::secret("SIGNET_CLIENT_SECRET", "Client secret", false)?;
                let endpoints = self.endpoints()?.clone();
                let token = oauth::client_credentials(&self.http, &endpoints, &client_id, &secret)
                    .context("client credentials (oauth2/token)")?;
                self.client.set_access_token(token.access_token);
            }
            "external" => {}
            other => {
                bail!(
                    "unknown --auth {other:?}: use auto, basic, oauth2, client-credentials or external"
                )
            }
        }
        Ok(())
    }

    /// The OAuth2 authorization code flow in the system browser with a loopback redirect.
    fn browser_flow(&self, scope: &Scope<'_>) -> anyhow::Result<oauth::TokenAnswer> {
        let client_id = self.client_id.clone().context(
            "OAuth2 in the browser needs a client ID: --client-id (a public client registered with the redirect URI http://127.0.0.1/callback)",
        )?;
        let endpoints = self.endpoints()?.clone();
        let loopback = LoopbackRedirect::bind()?;
        let (flow, url) = CodeFlow::start(
            &self.http,
            &endpoints,
            &client_id,
            &loopback.redirect_uri,
            scope,
        )
        .context("starting the OAuth2 authorization")?;
        let opened = ui::open_browser(&url);
        if opened {
            eprintln!("Opened your browser to authorize. If it did not open, visit:\n  {url}");
        } else {
            eprintln!("Open this URL in a browser to authorize:\n  {url}");
        }
        let spinner = ui::spinner(self.quiet);
        spinner.set_message("waiting for the authorization in the browser…");
        let code = loopback.wait_for_code(&flow.state, APPROVAL_WAIT);
        spinner.finish_and_clear();
        let code = code?;
        flow.exchange(&self.http, &endpoints, &code)
            .context("exchanging the authorization code (oauth2/token)")
    }

    /// The credential to use: the one named, or the user's only one.
    pub fn pick_credential(&self, named: Option<&str>) -> anyhow::Result<String> {
        if let Some(id) = named {
            return Ok(id.to_owned());
        }
        let ids = self
            .client
            .list_credentials()
            .context("listing credentials")?;
        match ids.as_slice() {
            [only] => Ok(only.clone()),
            [] => bail!(
                "this user has no signing credential on {}",
                self.client.base_url()
            ),
            many => bail!(
                "this user has {} credentials; choose one with --credential: {}",
                many.len(),
                many.join(", ")
            ),
        }
    }
}

/// Authorizes groups of hashes for one credential, asking the user as little as possible: the
/// PIN once per run, a one-time code per authorization.
pub struct Interactive<'a> {
    pub session: &'a Session,
    pin_cache: Vec<(String, Zeroizing<String>)>,
    pub authorizations: u32,
}

impl<'a> Interactive<'a> {
    pub fn new(session: &'a Session) -> Self {
        Self {
            session,
            pin_cache: Vec::new(),
            authorizations: 0,
        }
    }

    fn factor(
        &mut self,
        id: &str,
        label: Option<&str>,
        one_time: bool,
    ) -> anyhow::Result<Zeroizing<String>> {
        if let Some((_, v)) = self.pin_cache.iter().find(|(k, _)| k == id) {
            return Ok(v.clone());
        }
        let var = match id.to_ascii_uppercase().as_str() {
            "PIN" => "SIGNET_PIN".to_owned(),
            "OTP" => "SIGNET_OTP".to_owned(),
            other => format!(
                "SIGNET_{}",
                other
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect::<String>()
            ),
        };
        let what = match (label, id) {
            (Some(l), _) if !l.is_empty() => l.to_owned(),
            (_, "OTP") => "One-time code (OTP)".to_owned(),
            (_, other) => other.to_owned(),
        };
        let value = ui::secret(&var, &what, one_time)?;
        if !one_time {
            self.pin_cache.push((id.to_owned(), value.clone()));
        }
        Ok(value)
    }

    fn explicit(
        &mut self,
        credential: &CredentialInfo,
        hashes: &[Vec<u8>],
        hash: HashAlgorithm,
    ) -> anyhow::Result<CredentialAuthorization> {
        let mut factors = Vec::new();
        for object in &credential.auth_objects {
            if object.is_out_of_band() {
                factors.push((object.id.clone(), None));
                continue;
            }
            if self.session.client.version() == ApiVersion::V1
                && object.id == "OTP"
                && object.generator.is_none()
            {
                // v1 online OTP: the server sends it now.
                self.session
                    .client
                    .send_otp(&credential.id)
                    .context("credentials/sendOTP")?;
            }
            let value = self.factor(&object.id, object.label.as_deref(), object.is_one_time())?;
            factors.push((object.id.clone(), Some(value)));
        }
        let bound: &[Vec<u8>] = if credential.scal >= 2 { hashes } else { &[] };
        let answer = self.session.client.authorize(&AuthorizeRequest {
            credential_id: &credential.id,
            num_signatures: hashes.len() as u32,
            hashes: bound,
            hash,
            factors: &factors,
            description: Some(&describe(hashes.len())),
        });
        let answer = match answer {
            Err(e) => {
                // A wrong PIN must not be sent again by the next group: forget it.
                self.pin_cache.clear();
                return Err(e).context("authorizing the credential (credentials/authorize)");
            }
            Ok(a) => a,
        };
        match answer {
            Authorization::Granted { sad, .. } => Ok(CredentialAuthorization::Sad(sad)),
            Authorization::Pending { handle } => self.wait_for_approval(&handle),
        }
    }

    /// Decoupled approval: poll `credentials/authorizeCheck` with a spinner and the time left.
    fn wait_for_approval(&mut self, handle: &str) -> anyhow::Result<CredentialAuthorization> {
        let spinner = ui::spinner(self.session.quiet);
        if self.session.quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            eprintln!("Waiting for the signer to approve on their device…");
        }
        let started = Instant::now();
        let result = loop {
            let left = APPROVAL_WAIT.saturating_sub(started.elapsed());
            spinner.set_message(format!(
                "waiting for approval on the signer's device… {}:{:02} left",
                left.as_secs() / 60,
                left.as_secs() % 60
            ));
            if left.is_zero() {
                break Err(anyhow::anyhow!(
                    "the signer did not approve within {} s",
                    APPROVAL_WAIT.as_secs()
                ));
            }
            match self.session.client.authorize_check(handle) {
                Ok(Authorization::Granted { sad, .. }) => {
                    break Ok(CredentialAuthorization::Sad(sad));
                }
                Ok(Authorization::Pending { .. }) => std::thread::sleep(Duration::from_millis(500)),
                Err(e) => break Err(anyhow::Error::new(e).context("credentials/authorizeCheck")),
            }
        };
        spinner.finish_and_clear();
        result
    }
}

fn describe(n: usize) -> String {
    match n {
        1 => "1 document, signed with signet sign".to_owned(),
        n => format!("{n} documents, signed with signet sign"),
    }
}

impl Authorizer for Interactive<'_> {
    fn authorize(
        &mut self,
        credential: &CredentialInfo,
        hashes: &[Vec<u8>],
        hash: HashAlgorithm,
    ) -> Result<CredentialAuthorization, ClientError> {
        self.authorizations += 1;
        let result = match credential.auth_mode {
            AuthMode::Explicit | AuthMode::Implicit => self.explicit(credential, hashes, hash),
            AuthMode::OAuth2Code => {
                let bound: &[Vec<u8>] = if credential.scal >= 2 { hashes } else { &[] };
                let description = describe(hashes.len());
                let scope = Scope::Credential {
                    credential_id: &credential.id,
                    num_signatures: hashes.len() as u32,
                    hashes: bound,
                    hash,
                    rich: self.session.client.version() == ApiVersion::V2,
                    description: Some(&description),
                };
                self.session
                    .browser_flow(&scope)
                    .map(|t| CredentialAuthorization::Token(t.access_token))
            }
        };
        // The batch reports one message per failed group: the whole chain, flattened.
        result.map_err(|e| ClientError::Other(format!("{e:#}")))
    }
}

/// Every certificate in a PEM file, DER.
pub fn read_pem_certificates(path: &std::path::Path) -> anyhow::Result<Vec<Vec<u8>>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
        let body = &rest[start + 27..];
        let end = body
            .find("-----END CERTIFICATE-----")
            .with_context(|| format!("{}: unterminated PEM certificate", path.display()))?;
        let b64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
        out.push(
            data_encoding::BASE64
                .decode(b64.as_bytes())
                .with_context(|| format!("{}: a certificate is not Base64", path.display()))?,
        );
        rest = &body[end..];
    }
    if out.is_empty() {
        bail!("{}: no PEM certificate in it", path.display());
    }
    Ok(out)
}
