//! The valid flows. Each worker runs one kind of client in a paced loop on its own keep-alive
//! connection until the deadline; every operation is timed, and every signature it gets back is
//! checked and recorded for the audit check. The CSC requests are the bench's; OAuth2, the TSA
//! and OCSP go through `signet-client` (what `signet sign` uses), on blocking threads.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use bytes::Bytes;
use data_encoding::HEXLOWER;
use hyper::Method;
use hyper::header::{
    AUTHORIZATION, CONTENT_TYPE, COOKIE, HeaderName, HeaderValue, LOCATION, SET_COOKIE,
};
use serde::Deserialize;
use serde_json::{Value, json};
use signet_client::oauth::{self, CodeFlow, Endpoints, Scope};
use signet_core::HashAlgorithm;

use super::Ctx;
use super::conn::{Conn, expect_ok, form, path_only};
use super::fixture::{Account, Credential, PIN, REDIRECT_URI, User};
use super::record::{Evidence, Flow};
use crate::bench::http::{self, SadReply, SignValues, body};
use crate::bench::setup::random_bytes;

const SIGN_DOC: &str = "/csc/v2/signatures/signDoc";
/// A signer logs in again after this long (the access token would last an hour).
const RELOGIN: Duration = Duration::from_secs(60);
/// Pause between two operations of one worker: the soak is a steady load, not a bench.
const PACE: Duration = Duration::from_millis(80);
/// After a failed operation: long enough not to flood the report with one cause.
const AFTER_FAILURE: Duration = Duration::from_secs(1);

#[derive(Deserialize)]
struct LoginReply {
    access_token: String,
}

/// A signer's access token from auth/login, renewed every [`RELOGIN`].
pub(super) struct Session<'a> {
    user: &'a User,
    bearer: Option<(HeaderValue, Instant)>,
}

impl<'a> Session<'a> {
    pub(super) fn new(user: &'a User) -> Self {
        Self { user, bearer: None }
    }

    pub(super) async fn bearer(
        &mut self,
        ctx: &Ctx,
        conn: &mut Conn,
    ) -> anyhow::Result<HeaderValue> {
        if let Some((bearer, since)) = &self.bearer
            && since.elapsed() < RELOGIN
        {
            return Ok(bearer.clone());
        }
        let t0 = Instant::now();
        let basic = http::basic(&self.user.name, &self.user.password)?;
        let reply: LoginReply = conn
            .json(
                &ctx.rec,
                Flow::Login,
                http::LOGIN,
                Some(&basic),
                Bytes::from_static(b"{}"),
            )
            .await?;
        ctx.rec.sample(Flow::Login, t0);
        let bearer = http::bearer(&reply.access_token)?;
        self.bearer = Some((bearer.clone(), Instant::now()));
        Ok(bearer)
    }
}

/// After one operation of `flow`: a pause, or the failure recorded and a longer pause.
async fn settle(ctx: &Ctx, flow: Flow, result: anyhow::Result<()>) {
    match result {
        Ok(()) => tokio::time::sleep(PACE).await,
        Err(e) => {
            ctx.failed(flow, &format!("{e:#}"));
            tokio::time::sleep(AFTER_FAILURE).await;
        }
    }
}

/// What a [`signer`] worker does.
pub enum Job {
    /// SCAL1 authorize (PIN) + signHash, cycling through these `scal1` signers.
    Scal1(Vec<usize>),
    /// SCAL2: PIN and a TOTP code, signHash and signDoc (CAdES) in turn, over every SCAL2
    /// signer. Each signer's code is used once per 30-second step, never again (a replayed
    /// code is a failed factor), so the worker waits when every signer has used the current
    /// step.
    Scal2,
    /// CSC signDoc (SCAL1): PAdES, CAdES, XAdES and JAdES in turn, each at B-B, B-T, B-B, B-LT.
    Documents,
    /// DSS-X 2.0 SignRequest for CAdES with an RSA key, XML and JSON syntax in turn.
    DssX,
}

/// A worker for signers that log in with a password: one operation of `job` after another.
pub async fn signer(ctx: Arc<Ctx>, job: Job) {
    const FORMATS: [DocFormat; 4] = [
        DocFormat::Pades,
        DocFormat::Cades,
        DocFormat::Xades,
        DocFormat::Jades,
    ];
    const LEVELS: [&str; 4] = ["Ades-B-B", "Ades-B-T", "Ades-B-B", "Ades-B-LT"];
    let mut conn = Conn::new(ctx.addr);
    let fixture = &ctx.fixture;
    let accounts: Vec<&Account> = match &job {
        Job::Scal1(indices) => indices.iter().map(|&i| &fixture.scal1[i]).collect(),
        Job::Scal2 => fixture.scal2.iter().collect(),
        Job::Documents => vec![&fixture.documents],
        Job::DssX => vec![&fixture.dssx],
    };
    let mut sessions: Vec<Session> = accounts.iter().map(|a| Session::new(&a.user)).collect();
    // SCAL2: the last TOTP step each signer used, and where to look first next time.
    let mut last_step = vec![i64::MIN; accounts.len()];
    let mut next = 0usize;
    let mut k = 0usize;
    while ctx.running() {
        let (i, otp) = if matches!(job, Job::Scal2) {
            let step = signet_sam::totp::step_at(signet_sam::now_unix());
            let Some(i) = (0..accounts.len())
                .map(|j| (next + j) % accounts.len())
                .find(|&j| last_step[j] < step)
            else {
                tokio::time::sleep(Duration::from_millis(250)).await;
                continue;
            };
            next = i + 1;
            // Spent before the request: whatever happens to it, the code is not sent again.
            last_step[i] = step;
            let code = signet_sam::totp::code_string(&accounts[i].user.totp_secret, step);
            (i, Some(code))
        } else {
            (k % accounts.len(), None)
        };
        let cred = &accounts[i].credential;
        let (format, level) = (FORMATS[k % 4], LEVELS[(k / 4) % 4]);
        let flow = match job {
            Job::Scal1(_) => Flow::Scal1Hash,
            Job::Scal2 if k.is_multiple_of(2) => Flow::Scal2Hash,
            Job::Scal2 => Flow::Scal2Doc,
            Job::Documents => format.flow(),
            Job::DssX => Flow::DssX,
        };
        let result = async {
            let bearer = sessions[i].bearer(&ctx, &mut conn).await?;
            let op = Signing {
                ctx: &ctx,
                flow,
                bearer: &bearer,
                cred,
                otp: otp.as_deref(),
            };
            let t0 = Instant::now();
            match flow {
                Flow::Scal1Hash | Flow::Scal2Hash => op.authorize_and_sign(&mut conn).await?,
                Flow::Scal2Doc => op.sign_doc(&mut conn, DocFormat::Cades, "Ades-B-B").await?,
                Flow::DssX => op.dssx(&mut conn, k.is_multiple_of(2)).await?,
                _ => op
                    .sign_doc(&mut conn, format, level)
                    .await
                    .with_context(|| level.to_owned())?,
            }
            ctx.rec.sample(flow, t0);
            anyhow::Ok(())
        }
        .await;
        settle(&ctx, flow, result).await;
        k += 1;
    }
}

/// Two flows without a signer session, in turn: OAuth2 (the authorization code flow — plain,
/// PAR, PAR with RAR in turn — and client_credentials), or the PKI services (RFC 3161 requests
/// to the built-in TSA, OCSP requests to the CA).
pub async fn alternate(ctx: Arc<Ctx>, flows: [Flow; 2]) {
    let mut conn = Conn::new(ctx.addr);
    let credentials: Vec<Credential> = ctx.credentials().cloned().collect();
    let mut k = 0usize;
    while ctx.running() {
        let (flow, n) = (flows[k % 2], k / 2);
        let t0 = Instant::now();
        let result = match flow {
            Flow::OAuthCode => code_flow(&ctx, &mut conn, n).await,
            Flow::OAuthClient => client_credentials(&ctx, &mut conn).await,
            Flow::Tsa => time_stamp(&ctx).await,
            Flow::Ocsp => ocsp(&ctx, &credentials[n % credentials.len()]).await,
            other => Err(anyhow::anyhow!("{} needs a signer worker", other.name())),
        };
        let result = result.map(|()| ctx.rec.sample(flow, t0));
        settle(&ctx, flow, result).await;
        k += 1;
    }
}

// ---------------------------------------------------------------------------------------------
// Operations

/// One signing operation: which flow, as whom, with which credential.
struct Signing<'a> {
    ctx: &'a Ctx,
    flow: Flow,
    /// The signer's (or the service token's) `Authorization` value.
    bearer: &'a HeaderValue,
    cred: &'a Credential,
    /// The TOTP code, for SCAL2.
    otp: Option<&'a str>,
}

impl Signing<'_> {
    /// credentials/authorize (PIN, and the OTP for SCAL2) bound to these SHA-256 `hashes`.
    async fn authorize(&self, conn: &mut Conn, hashes: &[Vec<u8>]) -> anyhow::Result<String> {
        let auth = body::authorize_with_otp(&self.cred.id, PIN, self.otp, hashes);
        let sad: SadReply = conn
            .json(
                &self.ctx.rec,
                self.flow,
                http::AUTHORIZE,
                Some(self.bearer),
                auth,
            )
            .await?;
        Ok(sad.sad)
    }

    /// authorize for one fresh SHA-256 hash, then signHash of it.
    async fn authorize_and_sign(&self, conn: &mut Conn) -> anyhow::Result<()> {
        let message = random_bytes(32)?;
        let hashes = [HashAlgorithm::Sha256.digest(&message)];
        let sad = self.authorize(conn, &hashes).await?;
        let algo = self.cred.mechanism.signature_oid();
        let sign = body::sign_hash(&self.cred.id, &sad, &hashes, algo);
        self.sign_and_check(conn, sign, &message).await
    }

    /// signHash of SHA-256(`message`) with `request`; the one value must verify with the
    /// credential's key over `message`, and is recorded.
    async fn sign_and_check(
        &self,
        conn: &mut Conn,
        request: Bytes,
        message: &[u8],
    ) -> anyhow::Result<()> {
        let (ctx, cred) = (self.ctx, self.cred);
        let signed: SignValues = conn
            .json(
                &ctx.rec,
                self.flow,
                http::SIGN_HASH,
                Some(self.bearer),
                request,
            )
            .await?;
        let [value] = signed.signatures.as_slice() else {
            bail!(
                "signHash of one hash returned {} signatures",
                signed.signatures.len()
            );
        };
        let digest = HEXLOWER.encode(&HashAlgorithm::Sha256.digest(message));
        ctx.rec
            .signature(self.flow, &cred.id, Evidence::Hash(digest));
        let value = signet_core::b64::decode(value).context("the signature is not Base64")?;
        signet_pki::verify_message(&cred.public_key, cred.mechanism, message, &value)
            .context("a signature from signHash does not verify with the credential's key")?;
        Ok(())
    }
}

#[derive(Clone, Copy, Debug)]
enum DocFormat {
    Pades,
    Cades,
    Xades,
    Jades,
}

impl DocFormat {
    fn flow(self) -> Flow {
        match self {
            DocFormat::Pades => Flow::Pades,
            DocFormat::Cades => Flow::Cades,
            DocFormat::Xades => Flow::Xades,
            DocFormat::Jades => Flow::Jades,
        }
    }

    /// CSC `signature_format`.
    fn letter(self) -> &'static str {
        match self {
            DocFormat::Pades => "P",
            DocFormat::Cades => "C",
            DocFormat::Xades => "X",
            DocFormat::Jades => "J",
        }
    }

    /// A document no one signed before (its digest is how the audit record is found).
    fn document(self) -> anyhow::Result<Vec<u8>> {
        let nonce = HEXLOWER.encode(&random_bytes(16)?);
        Ok(match self {
            DocFormat::Pades => pdf(&nonce),
            DocFormat::Cades => format!("signet soak document {nonce}\n").into_bytes(),
            DocFormat::Xades => format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><soak xmlns="urn:signet:soak"><nonce>{nonce}</nonce></soak>"#
            )
            .into_bytes(),
            DocFormat::Jades => json!({ "soak": nonce }).to_string().into_bytes(),
        })
    }
}

/// A one-page PDF whose header comment carries `nonce`.
fn pdf(nonce: &str) -> Vec<u8> {
    const OBJECTS: [&str; 3] = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ];
    let mut out = format!("%PDF-1.7\n%soak {nonce}\n").into_bytes();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", OBJECTS.len() + 1);
    for (n, object) in OBJECTS.iter().enumerate() {
        table += &format!("{:010} 00000 n \n", out.len());
        out.extend(format!("{} 0 obj\n{object}\nendobj\n", n + 1).bytes());
    }
    let start = out.len();
    out.extend(
        format!(
            "{table}trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{start}\n%%EOF\n",
            OBJECTS.len() + 1
        )
        .bytes(),
    );
    out
}

impl Signing<'_> {
    /// authorize bound to the document's SHA-256, then signDoc of the document.
    async fn sign_doc(
        &self,
        conn: &mut Conn,
        format: DocFormat,
        level: &str,
    ) -> anyhow::Result<()> {
        let (ctx, flow, bearer, cred) = (self.ctx, self.flow, self.bearer, self.cred);
        let document = format.document()?;
        let digest = HashAlgorithm::Sha256.digest(&document);
        let sad = self.authorize(conn, std::slice::from_ref(&digest)).await?;
        let request = json!({
            "credentialID": cred.id,
            "SAD": sad,
            "documents": [{
                "document": signet_core::b64::encode(&document),
                "signature_format": format.letter(),
                "conformance_level": level,
                "signAlgo": cred.mechanism.signature_oid(),
                "hashAlgorithmOID": HashAlgorithm::Sha256.oid(),
            }],
        });
        let reply: Value = conn
            .json(
                &ctx.rec,
                flow,
                SIGN_DOC,
                Some(bearer),
                Bytes::from(request.to_string()),
            )
            .await?;
        let output = ["DocumentWithSignature", "SignatureObject"]
            .iter()
            .find_map(|field| reply[field][0].as_str())
            .context("signDoc answered 200 without DocumentWithSignature or SignatureObject")?;
        ctx.rec
            .signature(flow, &cred.id, Evidence::Document(HEXLOWER.encode(&digest)));
        let output = signet_core::b64::decode(output).context("the signed output is not Base64")?;
        if matches!(format, DocFormat::Pades) {
            ensure!(
                output.len() > document.len() && output.starts_with(&document),
                "the signed PDF is not an incremental update of the document"
            );
        }
        Ok(())
    }

    /// One DSS-X SignRequest in XML (`xml`) or JSON: CAdES with the content, the SAD inside.
    async fn dssx(&self, conn: &mut Conn, xml: bool) -> anyhow::Result<()> {
        use signet_dssx::{NS_BASE, NS_CORE, SAD_MIME_TYPE, major};
        const PROFILE: &str = "http://uri.etsi.org/19432/v1.1.1/creationprofile#";
        const CADES: &str = "urn:ietf:rfc:3369";
        let (ctx, bearer, cred) = (self.ctx, self.bearer, self.cred);
        let document = DocFormat::Cades.document()?;
        let digest = HashAlgorithm::Sha256.digest(&document);
        let sad = self.authorize(conn, std::slice::from_ref(&digest)).await?;
        let (doc64, sad64) = (
            signet_core::b64::encode(&document),
            signet_core::b64::encode(sad.as_bytes()),
        );
        let (content_type, request) = if xml {
            let request = format!(
                r#"<dss2:SignRequest xmlns:dss2="{NS_CORE}" xmlns:dsb="{NS_BASE}" RequestID="soak"><dsb:Profile>{PROFILE}</dsb:Profile><dss2:InputDocuments><dss2:Document ID="d1"><dss2:Base64Data MimeType="text/plain"><dsb:Value>{doc64}</dsb:Value></dss2:Base64Data></dss2:Document></dss2:InputDocuments><dss2:OptionalInputs><dsb:Other MimeType="{SAD_MIME_TYPE}"><dsb:Value>{sad64}</dsb:Value></dsb:Other><dss2:SignatureType>{CADES}</dss2:SignatureType><dss2:KeySelector><dss2:KeyName>{id}</dss2:KeyName></dss2:KeySelector><dss2:IncludeEContent>true</dss2:IncludeEContent></dss2:OptionalInputs></dss2:SignRequest>"#,
                id = cred.id,
            );
            ("application/xml", request)
        } else {
            let request = json!({
                "reqID": "soak",
                "profile": [PROFILE],
                "inDocs": { "doc": [{ "ID": "d1", "b64Data": { "val": doc64, "mimeType": "text/plain" } }] },
                "optInp": {
                    "other": [{ "mimeType": SAD_MIME_TYPE, "val": sad64 }],
                    "sigType": CADES,
                    "keySel": [{ "name": cred.id }],
                    "incContent": true,
                },
            });
            ("application/json", request.to_string())
        };
        let headers = [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (AUTHORIZATION, bearer.clone()),
        ];
        let path = "/dss/v2/sign";
        let reply = conn
            .send(
                &ctx.rec,
                Flow::DssX,
                Method::POST,
                path,
                &headers,
                Bytes::from(request),
            )
            .await?;
        expect_ok(path, &reply)?;
        let text = std::str::from_utf8(&reply.body).context("the DSS-X answer is not UTF-8")?;
        let (result, output) = if xml {
            let after_output = ["<dss2:DocumentWithSignature", "<dss2:SignatureObject"]
                .iter()
                .find_map(|tag| text.split_once(tag).map(|(_, rest)| rest));
            (
                element_text(text, "dsb:ResultMajor"),
                after_output.and_then(|rest| element_text(rest, "dsb:Value")),
            )
        } else {
            let v: Value = serde_json::from_str(text).context("the DSS-X answer is not JSON")?;
            let output = v["optOutp"]["docWithSignature"][0]["doc"]["b64Data"]["val"]
                .as_str()
                .or(v["sigObj"][0]["b64Sig"]["val"].as_str())
                .map(str::to_owned);
            (v["result"]["maj"].as_str().map(str::to_owned), output)
        };
        ensure!(
            result.as_deref() == Some(major::SUCCESS),
            "DSS-X answered {}: {}",
            result.as_deref().unwrap_or("no ResultMajor"),
            super::record::excerpt(&reply.body)
        );
        let output = output.context("DSS-X Success without a signed document")?;
        ctx.rec.signature(
            Flow::DssX,
            &cred.id,
            Evidence::Document(HEXLOWER.encode(&digest)),
        );
        ensure!(
            !signet_core::b64::decode(&output)
                .context("the DSS-X output is not Base64")?
                .is_empty(),
            "DSS-X returned an empty signature"
        );
        Ok(())
    }
}

/// The text of the first `<name>…</name>` in `xml`.
fn element_text(xml: &str, name: &str) -> Option<String> {
    let (_, rest) = xml.split_once(&format!("<{name}>"))?;
    let (text, _) = rest.split_once(&format!("</{name}>"))?;
    Some(text.to_owned())
}

fn endpoints(ctx: &Ctx, pushed: bool) -> Endpoints {
    Endpoints {
        authorize: format!("{}/oauth2/authorize", ctx.base),
        token: format!("{}/oauth2/token", ctx.base),
        pushed_authorize: pushed.then(|| format!("{}/oauth2/pushed_authorize", ctx.base)),
    }
}

/// The blocking HTTP client of `signet-client`, made on a blocking thread the first time it
/// is needed and never dropped (a blocking client must not be dropped on a runtime thread).
static HTTP: std::sync::OnceLock<Result<signet_client::HttpClient, String>> =
    std::sync::OnceLock::new();

/// Runs blocking `signet-client` work on a blocking thread with the soak's HTTP client.
async fn blocking<T, F>(f: F) -> anyhow::Result<T>
where
    T: Send + 'static,
    F: FnOnce(&signet_client::HttpClient) -> anyhow::Result<T> + Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        let http = HTTP.get_or_init(|| {
            let options = signet_client::HttpOptions {
                timeout: super::conn::ANSWER_TIMEOUT,
                ..Default::default()
            };
            signet_client::http_client(&options).map_err(|e| e.to_string())
        });
        match http {
            Ok(http) => f(http),
            Err(e) => Err(anyhow::anyhow!("cannot make the HTTP client: {e}")),
        }
    })
    .await
    .context("a blocking client task panicked")?
}

/// The browser's side of the consent: cookies kept by name, redirects read, not followed.
#[derive(Default)]
struct Browser {
    cookies: Vec<(String, String)>,
}

impl Browser {
    async fn go(
        &mut self,
        ctx: &Ctx,
        conn: &mut Conn,
        method: Method,
        path: &str,
        fields: &[(&str, &str)],
    ) -> anyhow::Result<crate::bench::http::Reply> {
        let mut headers: Vec<(HeaderName, HeaderValue)> = Vec::new();
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            headers.push((COOKIE, HeaderValue::from_str(&jar.join("; "))?));
        }
        let body = if fields.is_empty() {
            Bytes::new()
        } else {
            let form_type = HeaderValue::from_static("application/x-www-form-urlencoded");
            headers.push((CONTENT_TYPE, form_type));
            form(fields)
        };
        let reply = conn
            .send(&ctx.rec, Flow::OAuthCode, method, path, &headers, body)
            .await?;
        for value in reply.headers.get_all(SET_COOKIE) {
            let pair = value.to_str().unwrap_or("").split(';').next().unwrap_or("");
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies.retain(|(n, _)| n != name);
                self.cookies
                    .push((name.trim().to_owned(), value.trim().to_owned()));
            }
        }
        Ok(reply)
    }
}

/// The value of the form input `name` in an HTML page.
fn input(page: &[u8], name: &str) -> anyhow::Result<String> {
    let page = String::from_utf8_lossy(page);
    let marker = format!("name=\"{name}\" value=\"");
    let value = page
        .split_once(&marker)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(value, _)| value)
        .with_context(|| format!("the page has no input {name}"))?;
    Ok(value
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&"))
}

/// The path (and query) of a Location on this server.
fn local_location(
    ctx: &Ctx,
    reply: &crate::bench::http::Reply,
    step: &str,
) -> anyhow::Result<String> {
    ensure!(
        reply.status.is_redirection(),
        "{step} answered {} instead of a redirect: {}",
        reply.status,
        super::record::excerpt(&reply.body)
    );
    let location = reply
        .headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .with_context(|| format!("{step}: a redirect without Location"))?;
    Ok(location
        .strip_prefix(&ctx.base)
        .unwrap_or(location)
        .to_owned())
}

/// Authorization code + PKCE for one hash of the oauth2code credential, through the sign-in
/// and consent pages, then signHash with the credential token (no SAD).
async fn code_flow(ctx: &Arc<Ctx>, conn: &mut Conn, k: usize) -> anyhow::Result<()> {
    let fixture = &ctx.fixture;
    let Account { user, credential } = &fixture.oauth;
    let message = random_bytes(32)?;
    let digest = HashAlgorithm::Sha256.digest(&message);
    let (pushed, rich) = match k % 3 {
        0 => (false, false),
        1 => (true, false),
        _ => (true, true),
    };
    let endpoints = endpoints(ctx, pushed);
    let (client_id, cred_id) = (fixture.public_client.id.clone(), credential.id.clone());
    let hashes = vec![digest.clone()];
    let started = {
        let endpoints = endpoints.clone();
        blocking(move |http| {
            let scope = Scope::Credential {
                credential_id: &cred_id,
                num_signatures: 1,
                hashes: &hashes,
                hash: HashAlgorithm::Sha256,
                rich,
                description: Some("signet soak"),
            };
            Ok(CodeFlow::start(
                http,
                &endpoints,
                &client_id,
                REDIRECT_URI,
                &scope,
            )?)
        })
        .await
    };
    let (flow, url) = started.context("starting the authorization")?;
    let authorize = url.strip_prefix(&ctx.base).unwrap_or(&url).to_owned();

    let mut browser = Browser::default();
    let signin = browser.go(ctx, conn, Method::GET, &authorize, &[]).await?;
    expect_ok(&authorize, &signin)?;
    let (csrf, next) = (input(&signin.body, "csrf")?, input(&signin.body, "next")?);
    let fields = [
        ("csrf", csrf.as_str()),
        ("next", next.as_str()),
        ("username", user.name.as_str()),
        ("password", user.password.as_str()),
    ];
    let signed_in = browser
        .go(ctx, conn, Method::POST, "/signin", &fields)
        .await?;
    let consent_path = local_location(ctx, &signed_in, "sign-in")?;
    let consent = browser
        .go(ctx, conn, Method::GET, &consent_path, &[])
        .await?;
    expect_ok(&consent_path, &consent)?;
    let (csrf, request) = (
        input(&consent.body, "csrf")?,
        input(&consent.body, "request")?,
    );
    let fields = [
        ("csrf", csrf.as_str()),
        ("request", request.as_str()),
        ("action", "approve"),
        ("pin", PIN),
    ];
    let approved = browser
        .go(ctx, conn, Method::POST, "/oauth2/consent", &fields)
        .await?;
    let redirect = local_location(ctx, &approved, "consent")?;
    ensure!(
        redirect.starts_with(REDIRECT_URI),
        "the consent redirected to {} instead of the client",
        path_only(&redirect)
    );
    let query = redirect.split_once('?').map_or("", |(_, q)| q);
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .with_context(|| format!("the redirect has no {name}"))
    };
    ensure!(
        param("state")? == flow.state,
        "the redirect's state is not the request's"
    );
    let code = param("code")?;
    let token = blocking(move |http| Ok(flow.exchange(http, &endpoints, &code)?))
        .await
        .context("redeeming the code")?;
    let bearer = http::bearer(&token.access_token)?;
    let request = json!({
        "credentialID": credential.id,
        "hashes": [signet_core::b64::encode(&digest)],
        "hashAlgorithmOID": HashAlgorithm::Sha256.oid(),
        "signAlgo": credential.mechanism.signature_oid(),
    });
    let request = Bytes::from(request.to_string());
    let op = Signing {
        ctx,
        flow: Flow::OAuthCode,
        bearer: &bearer,
        cred: credential,
        otp: None,
    };
    op.sign_and_check(conn, request, &message).await
}

/// client_credentials for the e-seal client, then what an e-seal application does with the
/// service token: credentials/list, authorize + signHash; then it revokes the token.
async fn client_credentials(ctx: &Arc<Ctx>, conn: &mut Conn) -> anyhow::Result<()> {
    let fixture = &ctx.fixture;
    let client = &fixture.seal_client;
    let secret = client
        .secret
        .clone()
        .context("the e-seal client has no secret")?;
    let (id, endpoints) = (client.id.clone(), endpoints(ctx, false));
    let token =
        blocking(move |http| Ok(oauth::client_credentials(http, &endpoints, &id, &secret)?))
            .await
            .context("client_credentials")?;
    let bearer = http::bearer(&token.access_token)?;
    let flow = Flow::OAuthClient;
    let listed: Value = conn
        .json(
            &ctx.rec,
            flow,
            "/csc/v2/credentials/list",
            Some(&bearer),
            Bytes::from_static(b"{}"),
        )
        .await?;
    let cred = &fixture.seal.credential;
    ensure!(
        listed["credentialIDs"]
            .as_array()
            .is_some_and(|ids| ids.iter().any(|i| i == cred.id.as_str())),
        "credentials/list of the e-seal token lacks its credential: {listed}"
    );
    let op = Signing {
        ctx,
        flow,
        bearer: &bearer,
        cred,
        otp: None,
    };
    op.authorize_and_sign(conn).await?;
    let client_secret = client.secret.as_deref().map_or("", |s| s.as_str());
    let headers = [
        (AUTHORIZATION, http::basic(&client.id, client_secret)?),
        (
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        ),
    ];
    let fields = [
        ("token", token.access_token.as_str()),
        ("token_type_hint", "access_token"),
    ];
    let revoke = "/oauth2/revoke";
    let reply = conn
        .send(
            &ctx.rec,
            flow,
            Method::POST,
            revoke,
            &headers,
            form(&fields),
        )
        .await?;
    expect_ok(revoke, &reply)
}

/// An RFC 3161 time-stamp of a fresh digest from the built-in TSA; `signet-client` checks the
/// status, nonce, imprint and signature of the token.
async fn time_stamp(ctx: &Arc<Ctx>) -> anyhow::Result<()> {
    use signet_ades::TimeStamper;
    let url = format!("{}/tsa", ctx.base);
    let digest = HashAlgorithm::Sha256.digest(&random_bytes(32)?);
    blocking(move |http| {
        let tsa = signet_client::fetch::Rfc3161TimeStamper::new(http.clone(), url);
        Ok(tsa.timestamp(HashAlgorithm::Sha256, &digest)?)
    })
    .await?;
    Ok(())
}

/// The OCSP status of a signer certificate from the CA's responder (the URL in the
/// certificate); `signet-client` checks the response's signature, freshness and "good". No
/// CRL may stand in for it.
async fn ocsp(ctx: &Arc<Ctx>, cred: &Credential) -> anyhow::Result<()> {
    use signet_ades::ValidationData;
    let (certificate, ca) = (cred.certificate.clone(), ctx.fixture.ca_certificate.clone());
    let revocation = blocking(move |http| {
        let fetch = signet_client::fetch::HttpValidationData::new(http.clone(), vec![ca]);
        Ok(fetch.chain_and_revocation(&certificate)?)
    })
    .await?;
    ensure!(
        revocation.ocsp.len() == 1 && revocation.crls.is_empty(),
        "expected one OCSP response, got {} OCSP and {} CRL",
        revocation.ocsp.len(),
        revocation.crls.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pdf_cross_reference_points_at_its_objects() {
        let pdf = pdf("00ff");
        let text = String::from_utf8(pdf.clone()).expect("ASCII");
        let start: usize = text
            .rsplit("startxref\n")
            .next()
            .and_then(|t| t.lines().next())
            .and_then(|n| n.parse().ok())
            .expect("startxref");
        assert!(text[start..].starts_with("xref\n0 4\n"));
        let offsets: Vec<usize> = text[start..]
            .lines()
            .skip(3)
            .take(3)
            .map(|l| l[..10].parse().expect("offset"))
            .collect();
        for (n, offset) in offsets.into_iter().enumerate() {
            assert!(text[offset..].starts_with(&format!("{} 0 obj\n", n + 1)));
        }
        assert_ne!(
            pdf,
            super::pdf("00fe"),
            "the nonce makes each document unique"
        );
    }

    #[test]
    fn form_inputs_are_read_and_unescaped() {
        let page = br#"<input type="hidden" name="csrf" value="a&amp;b&quot;c"><input name="next" value="/x?y=1&amp;z=2">"#;
        assert_eq!(input(page, "csrf").expect("csrf"), "a&b\"c");
        assert_eq!(input(page, "next").expect("next"), "/x?y=1&z=2");
        assert!(input(page, "request").is_err());
    }
}
