//! End-to-end test harness: runs the real `signet` binary with a temporary data directory on an
//! ephemeral port and talks HTTP to it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

pub const SIGNET: &str = env!("CARGO_BIN_EXE_signet");

pub const SHA256: &str = "2.16.840.1.101.3.4.2.1";
pub const SHA384: &str = "2.16.840.1.101.3.4.2.2";
pub const SHA512: &str = "2.16.840.1.101.3.4.2.3";
pub const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
pub const ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";
pub const RSA_SHA256: &str = "1.2.840.113549.1.1.11";
pub const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
pub const RSASSA_PSS: &str = "1.2.840.113549.1.1.10";

/// A running `signet serve` with its own data directory; killed on drop.
pub struct Server {
    pub url: String,
    pub data: tempfile::TempDir,
    child: Child,
    env: Vec<(String, String)>,
    /// Last TOTP step used per user: the server accepts each step once per user.
    used_steps: Mutex<HashMap<String, i64>>,
    pub http: reqwest::Client,
    /// Every line the server wrote to standard error (its log), in order.
    logs: Arc<Mutex<Vec<String>>>,
    /// The server's own PostgreSQL database (SIGNET_TEST_STORE=postgres); dropped after the
    /// process is killed.
    database: Option<pg::PgDatabase>,
}

/// Starts `signet serve` on `data` with `env`; returns the process, its URL (from its
/// "listening" line) and its captured log.
fn spawn_serve(data: &Path, env: &[(String, String)]) -> (Child, String, Arc<Mutex<Vec<String>>>) {
    let mut cmd = Command::new(SIGNET);
    cmd.arg("--data")
        .arg(data)
        .args(["serve", "--listen", "127.0.0.1:0"]);
    cmd.env_remove("SIGNET_MASTER_KEY")
        .env("SIGNET_LOG", "info");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn signet serve");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    let logs = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&logs);
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line.clone());
            if let Some(url) = listening_url(&line)
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(url);
            }
            if std::env::var_os("SIGNET_TEST_SHOW_LOGS").is_some() {
                eprintln!("[signet] {line}");
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("signet serve did not report its address");
    (child, url, logs)
}

/// An enrolled user.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub username: String,
    pub password: String,
    pub totp_secret: Vec<u8>,
    pub totp_base32: String,
}

impl Server {
    pub fn start() -> Server {
        Self::start_with_env(&[])
    }

    /// Starts a server; `env` adds environment variables (e.g. `SIGNET_SAM__SAD_LIFETIME_SECONDS`).
    pub fn start_with_env(env: &[(&str, &str)]) -> Server {
        install_crypto_provider();
        let data = tempfile::tempdir().expect("tempdir");
        let mut env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        // The whole suite on PKCS#11 (SIGNET_TEST_KEY_BACKEND), or one server that asks for it.
        let wants_hsm = env
            .iter()
            .any(|(k, v)| k == "SIGNET_KEY_BACKEND" && v == "pkcs11");
        if key_backend() == "pkcs11" || wants_hsm {
            env.extend(softhsm_token(data.path()));
        }
        // The whole suite on PostgreSQL (SIGNET_TEST_STORE): a fresh database per server,
        // unless the test passes one (several nodes on one database).
        let database = (pg::store_backend() == "postgres"
            && !env.iter().any(|(k, _)| k == "SIGNET_DATABASE_URL"))
        .then(pg::PgDatabase::create);
        if let Some(db) = &database {
            env.push(("SIGNET_DATABASE_URL".into(), db.url.clone()));
        }
        let (child, url, logs) = spawn_serve(data.path(), &env);
        Server {
            url,
            data,
            child,
            env,
            used_steps: Mutex::new(HashMap::new()),
            http: reqwest::Client::new(),
            logs,
            database,
        }
    }

    /// The server's log lines so far (standard error, captured for the whole run).
    pub fn log_lines(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// Kills the server process but keeps its data directory, so that the CLI (`cli`) can work
    /// on the database offline.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills the server with SIGKILL (no clean shutdown) and starts it again on the same data
    /// directory and environment, as a supervisor restarting a crashed node would.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, url, logs) = spawn_serve(self.data.path(), &self.env);
        self.child = child;
        self.url = url;
        self.logs = logs;
    }

    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    pub fn ca_pem(&self) -> PathBuf {
        self.data.path().join("ca.pem")
    }

    /// Runs `signet --data <dir> ARGS` with extra environment, returning its output.
    pub fn cli(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(SIGNET);
        cmd.arg("--data")
            .arg(self.data.path())
            .args(args)
            .env_remove("SIGNET_MASTER_KEY");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null()).output().expect("run signet")
    }

    /// `cli` with `stdin` written to the command's standard input.
    pub fn cli_stdin(&self, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
        use std::io::Write;
        let mut cmd = Command::new(SIGNET);
        cmd.arg("--data")
            .arg(self.data.path())
            .args(args)
            .env_remove("SIGNET_MASTER_KEY");
        for (k, v) in self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(env.iter().copied())
        {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run signet");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("signet output")
    }

    /// Sends a signal (e.g. "HUP") to the running server.
    pub fn signal(&self, sig: &str) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args([&format!("-{sig}"), &pid])
            .status()
            .expect("kill");
        assert!(sent.success(), "kill -{sig} {pid}");
    }

    /// Sends SIGTERM to the server and waits (at most 10 s) for it to exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(sent.success(), "kill -TERM {pid}");
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "signet serve ignored SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (at most `timeout`) for the server process to exit on its own.
    pub fn wait_for_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Whether the server process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// The server's `/metrics` text (from the main listener).
    pub async fn metrics(&self) -> String {
        let resp = self
            .http
            .get(format!("{}/metrics", self.url))
            .send()
            .await
            .expect("GET /metrics");
        assert_eq!(resp.status().as_u16(), 200, "GET /metrics");
        resp.text().await.expect("metrics text")
    }

    /// `cli` that must succeed; returns standard output.
    pub fn cli_ok(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let out = self.cli(args, env);
        assert!(
            out.status.success(),
            "signet {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf8")
    }

    pub fn add_user(&self, username: &str) -> TestUser {
        let password = format!("pw-{username}-0123456789");
        let out = self.cli_ok(
            &["admin", "user", "add", username, "--json"],
            &[("SIGNET_PASSWORD", &password)],
        );
        let v: Value = serde_json::from_str(&out).expect("json");
        let b32 = v["totp_secret"].as_str().expect("totp_secret").to_string();
        TestUser {
            username: username.into(),
            password,
            totp_secret: data_encoding::BASE32_NOPAD
                .decode(b32.as_bytes())
                .expect("base32"),
            totp_base32: b32,
        }
    }

    /// Creates a credential and returns its ID. `extra` e.g. `["--key", "rsa-2048", "--scal", "1"]`.
    pub fn create_credential(&self, user: &TestUser, pin: &str, extra: &[&str]) -> String {
        let mut args = vec![
            "admin",
            "credential",
            "create",
            "--user",
            &user.username,
            "--json",
        ];
        args.extend_from_slice(extra);
        let out = self.cli_ok(&args, &[("SIGNET_PIN", pin)]);
        let v: Value = serde_json::from_str(&out).expect("json");
        v["credential_id"]
            .as_str()
            .expect("credential_id")
            .to_string()
    }

    /// A TOTP code the server has not yet seen for this user (waits for the next 30 s step when
    /// the usable window is used up).
    pub fn fresh_otp(&self, user: &TestUser) -> String {
        loop {
            let now = unix_now();
            let current = now / 30;
            let mut used = self.used_steps.lock().unwrap();
            let last = used.get(&user.username).copied().unwrap_or(i64::MIN);
            // The previous step stops being accepted at the next step boundary: do not hand it
            // out in the last seconds of the current step.
            let first = if now % 30 >= 27 { current } else { current - 1 };
            if let Some(step) = (first..=current + 1).find(|s| *s > last) {
                used.insert(user.username.clone(), step);
                return totp_code(&user.totp_secret, step);
            }
            drop(used);
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Marks a step as consumed by a request the test made on its own.
    pub fn mark_otp_used(&self, user: &TestUser, step: i64) {
        self.used_steps
            .lock()
            .unwrap()
            .insert(user.username.clone(), step);
    }

    /// POSTs JSON to `path` (e.g. "/csc/v2/credentials/list"), with an optional Bearer token.
    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        let mut req = self.http.post(format!("{}{path}", self.url)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.expect("body");
        let v = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        (status, v)
    }

    /// auth/login with HTTP Basic; returns the access token.
    pub async fn login(&self, user: &TestUser) -> String {
        let resp = self
            .http
            .post(format!("{}/csc/v2/auth/login", self.url))
            .basic_auth(&user.username, Some(&user.password))
            .json(&serde_json::json!({}))
            .send()
            .await
            .expect("login");
        assert_eq!(resp.status().as_u16(), 200, "login failed");
        let v: Value = resp.json().await.expect("json");
        v["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The base URL in the "signet listening on http(s)://ADDR" line, in text or JSON logs.
pub fn listening_url(line: &str) -> Option<String> {
    let rest = line.split("signet listening on ").nth(1)?;
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"')
        .unwrap_or(rest.len());
    let url = &rest[..end];
    (url.starts_with("http://") || url.starts_with("https://")).then(|| url.to_string())
}

/// reqwest is built with rustls but without a crypto provider (so that ring never enters the
/// build): the tests install aws-lc-rs, Signet's one crypto backend, as the process default
/// before any client is built.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// The key module the suite runs against: env SIGNET_TEST_KEY_BACKEND, "software" by default.
/// The test command runs the end-to-end suite once more with "pkcs11" (SoftHSM2).
pub fn key_backend() -> String {
    std::env::var("SIGNET_TEST_KEY_BACKEND").unwrap_or_else(|_| "software".into())
}

pub const SOFTHSM_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// Initializes a SoftHSM2 token private to one test server (its own token directory inside the
/// data directory) and returns the environment that points `signet` at it.
pub fn softhsm_token(data: &Path) -> Vec<(String, String)> {
    assert!(
        Path::new(SOFTHSM_MODULE).exists(),
        "SIGNET_TEST_KEY_BACKEND=pkcs11 needs SoftHSM2: run the README test command (it installs softhsm2)"
    );
    let tokens = data.join("tokens");
    std::fs::create_dir_all(&tokens).expect("token dir");
    let conf = data.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .expect("softhsm2.conf");
    let out = Command::new("softhsm2-util")
        .args([
            "--init-token",
            "--free",
            "--label",
            "signet-test",
            "--so-pin",
            "10203040",
            "--pin",
            "11223344",
        ])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .expect("run softhsm2-util");
    assert!(
        out.status.success(),
        "softhsm2-util --init-token failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    [
        ("SOFTHSM2_CONF", conf.display().to_string()),
        ("SIGNET_KEY_BACKEND", "pkcs11".into()),
        ("SIGNET_PKCS11_MODULE", SOFTHSM_MODULE.into()),
        ("SIGNET_PKCS11_TOKEN", "signet-test".into()),
        ("SIGNET_PKCS11_PIN", "11223344".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// RFC 6238 (SHA-1, 6 digits) — an independent implementation for the tests.
pub fn totp_code(secret: &[u8], step: i64) -> String {
    use aws_lc_rs::hmac;
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = hmac::sign(&key, &step.to_be_bytes());
    let m = mac.as_ref();
    let o = (m[19] & 0x0f) as usize;
    let bin = u32::from_be_bytes([m[o] & 0x7f, m[o + 1], m[o + 2], m[o + 3]]);
    format!("{:06}", bin % 1_000_000)
}

pub fn b64(bytes: &[u8]) -> String {
    data_encoding::BASE64.encode(bytes)
}

pub fn sha256(data: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data)
        .as_ref()
        .to_vec()
}

/// Waits until `f` is true or `timeout` passes.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers beyond `post`.

/// A raw HTTP answer.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The body as JSON (`Null` when empty or not JSON).
    pub fn json(&self) -> Value {
        if self.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&self.body).unwrap_or(Value::Null)
        }
    }
}

impl Server {
    /// Sends any request: `method`, `path`, extra headers (e.g. Authorization, Content-Type) and
    /// a raw body.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> RawResponse {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("HTTP method");
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.url))
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.expect("body").to_vec();
        RawResponse {
            status,
            headers,
            body,
        }
    }

    /// auth/login with HTTP Basic and `rememberMe`: (access token, refresh token).
    pub async fn login_remember(&self, user: &TestUser) -> (String, String) {
        let resp = self
            .http
            .post(format!("{}/csc/v2/auth/login", self.url))
            .basic_auth(&user.username, Some(&user.password))
            .json(&serde_json::json!({ "rememberMe": true }))
            .send()
            .await
            .expect("login");
        assert_eq!(resp.status().as_u16(), 200, "login failed");
        let v: Value = resp.json().await.expect("json");
        (
            v["access_token"]
                .as_str()
                .expect("access_token")
                .to_string(),
            v["refresh_token"]
                .as_str()
                .expect("refresh_token")
                .to_string(),
        )
    }

    /// v2 credentials/authorize with `authData` PIN (and OTP when given), binding `hashes`
    /// (none = no `hashes` member) and `numSignatures` = `num`.
    #[allow(clippy::too_many_arguments)] // positional, like the CSC members they fill
    pub async fn authorize(
        &self,
        token: &str,
        cred: &str,
        num: u32,
        hashes: Option<&[Vec<u8>]>,
        hash_algo: Option<&str>,
        pin: &str,
        otp: Option<&str>,
    ) -> (u16, Value) {
        let mut auth = vec![serde_json::json!({ "id": "PIN", "value": pin })];
        if let Some(otp) = otp {
            auth.push(serde_json::json!({ "id": "OTP", "value": otp }));
        }
        let mut body =
            serde_json::json!({ "credentialID": cred, "numSignatures": num, "authData": auth });
        if let Some(h) = hashes {
            body["hashes"] = serde_json::json!(h.iter().map(|d| b64(d)).collect::<Vec<_>>());
        }
        if let Some(a) = hash_algo {
            body["hashAlgorithmOID"] = serde_json::json!(a);
        }
        self.post("/csc/v2/credentials/authorize", Some(token), &body)
            .await
    }

    /// `authorize` that must succeed; returns the SAD.
    #[allow(clippy::too_many_arguments)] // positional, like the CSC members they fill
    pub async fn sad(
        &self,
        token: &str,
        cred: &str,
        num: u32,
        hashes: Option<&[Vec<u8>]>,
        hash_algo: Option<&str>,
        pin: &str,
        otp: Option<&str>,
    ) -> String {
        let (status, body) = self
            .authorize(token, cred, num, hashes, hash_algo, pin, otp)
            .await;
        assert_eq!(status, 200, "authorize failed: {body}");
        body["SAD"].as_str().expect("SAD").to_string()
    }

    /// v2 signatures/signHash; `extra` members are merged into the body.
    pub async fn sign_hash(
        &self,
        token: &str,
        cred: &str,
        sad: &str,
        hashes: &[Vec<u8>],
        sign_algo: &str,
        extra: Value,
    ) -> (u16, Value) {
        let mut body = serde_json::json!({
            "credentialID": cred, "SAD": sad, "signAlgo": sign_algo,
            "hashes": hashes.iter().map(|d| b64(d)).collect::<Vec<_>>(),
        });
        if let Value::Object(m) = extra {
            for (k, v) in m {
                body[k] = v;
            }
        }
        self.post("/csc/v2/signatures/signHash", Some(token), &body)
            .await
    }

    /// The signer certificate (DER) of a credential, through v2 credentials/info.
    pub async fn certificate(&self, token: &str, cred: &str) -> Vec<u8> {
        let (status, info) = self
            .post(
                "/csc/v2/credentials/info",
                Some(token),
                &serde_json::json!({ "credentialID": cred }),
            )
            .await;
        assert_eq!(status, 200, "credentials/info: {info}");
        unb64(
            info["cert"]["certificates"][0]
                .as_str()
                .expect("certificate"),
        )
    }

    /// `signet audit export` as parsed JSON lines.
    pub fn audit_export(&self) -> Vec<Value> {
        self.cli_ok(&["audit", "export"], &[])
            .lines()
            .map(|l| serde_json::from_str(l).expect("audit export line is JSON"))
            .collect()
    }
}

/// Asserts a CSC error reply: exact status, JSON body with string `error` equal to `code` and a
/// string `error_description`, which is returned.
#[track_caller]
pub fn expect_error(reply: &(u16, Value), status: u16, code: &str) -> String {
    let (got, body) = reply;
    assert_eq!(*got, status, "status (body {body})");
    assert_eq!(
        body["error"].as_str(),
        Some(code),
        "error code (body {body})"
    );
    body["error_description"]
        .as_str()
        .unwrap_or_else(|| panic!("error_description missing in {body}"))
        .to_string()
}

/// Decodes the signature values of a signHash reply.
#[track_caller]
pub fn signatures(reply: &(u16, Value)) -> Vec<Vec<u8>> {
    assert_eq!(reply.0, 200, "signHash failed: {}", reply.1);
    reply.1["signatures"]
        .as_array()
        .expect("signatures array")
        .iter()
        .map(|s| unb64(s.as_str().expect("string")))
        .collect()
}

pub fn unb64(text: &str) -> Vec<u8> {
    data_encoding::BASE64
        .decode(text.as_bytes())
        .expect("standard Base64")
}

// ---------------------------------------------------------------------------------------------
// Crypto helpers: digests, PSS parameters, verification against the certificate's key.

/// Digest of `data` with the hash named by its OID.
pub fn digest(hash_oid: &str, data: &[u8]) -> Vec<u8> {
    let alg = match hash_oid {
        SHA256 => &aws_lc_rs::digest::SHA256,
        SHA384 => &aws_lc_rs::digest::SHA384,
        SHA512 => &aws_lc_rs::digest::SHA512,
        other => panic!("unknown hash {other}"),
    };
    aws_lc_rs::digest::digest(alg, data).as_ref().to_vec()
}

fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    assert!(content.len() < 128, "short form lengths only");
    let mut out = vec![tag, content.len() as u8];
    out.extend_from_slice(content);
    out
}

/// DER RSASSA-PSS-params (RFC 8017 A.2.3) for `hash_oid` with MGF1 over the same hash and a salt
/// as long as the digest, written out byte by byte.
pub fn pss_params(hash_oid: &str) -> Vec<u8> {
    pss_params_with_salt(hash_oid, digest(hash_oid, b"").len() as u16)
}

/// DER RSASSA-PSS-params for `hash_oid`, MGF1 over the same hash, and `salt` bytes of salt.
pub fn pss_params_with_salt(hash_oid: &str, salt: u16) -> Vec<u8> {
    let last_arc = match hash_oid {
        SHA256 => 0x01,
        SHA384 => 0x02,
        SHA512 => 0x03,
        other => panic!("unknown hash {other}"),
    };
    // AlgorithmIdentifier { id-sha*, NULL }
    let hash_alg = [
        0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, last_arc, 0x05,
        0x00,
    ];
    let mgf1_oid = [
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08,
    ];
    let mgf = der_tlv(0x30, &[&mgf1_oid[..], &hash_alg[..]].concat());
    // INTEGER: minimal big-endian, with a leading zero when the top bit is set.
    let mut int: Vec<u8> = salt
        .to_be_bytes()
        .into_iter()
        .skip_while(|b| *b == 0)
        .collect();
    if int.first().is_none_or(|b| b & 0x80 != 0) {
        int.insert(0, 0);
    }
    let content = [
        der_tlv(0xa0, &hash_alg),
        der_tlv(0xa1, &mgf),
        der_tlv(0xa2, &der_tlv(0x02, &int)),
    ]
    .concat();
    der_tlv(0x30, &content)
}

/// Verifies an RSASSA-PSS value whose salt is the maximum for the key (`emLen - hLen - 2`, what
/// pyHanko sends through `cryptography`).
pub fn verify_pss_max_salt(
    cert_der: &[u8],
    hash_oid: &str,
    message: &[u8],
    sig: &[u8],
) -> Result<(), String> {
    use aws_lc_rs::signature::{self as s, RsaParameters, RsaPssSaltLength};
    static MAX_256: RsaParameters =
        s::RSA_PSS_2048_8192_SHA256.with_pss_salt_length(RsaPssSaltLength::Max);
    static MAX_384: RsaParameters =
        s::RSA_PSS_2048_8192_SHA384.with_pss_salt_length(RsaPssSaltLength::Max);
    static MAX_512: RsaParameters =
        s::RSA_PSS_2048_8192_SHA512.with_pss_salt_length(RsaPssSaltLength::Max);
    let alg = match hash_oid {
        SHA256 => &MAX_256,
        SHA384 => &MAX_384,
        SHA512 => &MAX_512,
        other => return Err(format!("unknown hash {other}")),
    };
    let (_, _, key) = public_key(cert_der);
    s::UnparsedPublicKey::new(alg, key)
        .verify(message, sig)
        .map_err(|_| "signature does not verify".to_string())
}

/// The key in a certificate: (algorithm OID, curve OID for EC keys, subjectPublicKey bytes).
pub fn public_key(cert_der: &[u8]) -> (String, Option<String>, Vec<u8>) {
    use x509_cert::der::Decode;
    let cert = x509_cert::Certificate::from_der(cert_der).expect("certificate DER");
    let spki = &cert.tbs_certificate.subject_public_key_info;
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<x509_cert::der::asn1::ObjectIdentifier>().ok())
        .map(|o| o.to_string());
    (
        spki.algorithm.oid.to_string(),
        curve,
        spki.subject_public_key.raw_bytes().to_vec(),
    )
}

/// Verifies `sig` over the original `message` with the certificate's key, for the CSC
/// `sign_algo` (+ `hash_oid` for rsaEncryption / RSASSA-PSS).
pub fn verify(
    cert_der: &[u8],
    sign_algo: &str,
    hash_oid: &str,
    message: &[u8],
    sig: &[u8],
) -> Result<(), String> {
    use aws_lc_rs::signature::{self as s, VerificationAlgorithm};
    let (key_oid, curve, key) = public_key(cert_der);
    let h = match hash_oid {
        SHA256 => 0,
        SHA384 => 1,
        SHA512 => 2,
        other => return Err(format!("unknown hash {other}")),
    };
    let alg: &'static dyn VerificationAlgorithm =
        match (key_oid.as_str(), curve.as_deref(), sign_algo) {
            ("1.2.840.10045.2.1", Some("1.2.840.10045.3.1.7"), _) => [
                &s::ECDSA_P256_SHA256_ASN1,
                &s::ECDSA_P256_SHA384_ASN1,
                &s::ECDSA_P256_SHA512_ASN1,
            ][h],
            ("1.2.840.10045.2.1", Some("1.3.132.0.34"), _) => [
                &s::ECDSA_P384_SHA256_ASN1,
                &s::ECDSA_P384_SHA384_ASN1,
                &s::ECDSA_P384_SHA512_ASN1,
            ][h],
            (RSA_ENCRYPTION, _, RSASSA_PSS) => [
                &s::RSA_PSS_2048_8192_SHA256,
                &s::RSA_PSS_2048_8192_SHA384,
                &s::RSA_PSS_2048_8192_SHA512,
            ][h],
            (RSA_ENCRYPTION, _, _) => [
                &s::RSA_PKCS1_2048_8192_SHA256,
                &s::RSA_PKCS1_2048_8192_SHA384,
                &s::RSA_PKCS1_2048_8192_SHA512,
            ][h],
            other => return Err(format!("unexpected key {other:?}")),
        };
    s::UnparsedPublicKey::new(alg, key)
        .verify(message, sig)
        .map_err(|_| "signature does not verify".to_string())
}

/// Builds a valid-looking but wrong 6-digit code: none of the codes of the steps around now.
pub fn wrong_otp(user: &TestUser) -> String {
    let current = unix_now() / 30;
    let near: Vec<String> = (current - 3..=current + 3)
        .map(|s| totp_code(&user.totp_secret, s))
        .collect();
    (0..1_000_000u32)
        .map(|n| format!("{n:06}"))
        .find(|c| !near.contains(c))
        .expect("a free code")
}

// OAuth2 / consent-page helpers (issue 4).
pub mod interop;
pub mod oauth;

// PostgreSQL store for the suite, multi-node and crash tests (issue 6).
pub mod pg;

/// The value of the Prometheus sample `name` whose labels include all of `labels`, if any.
pub fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (series_name, label_text) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            if series_name != name {
                return None;
            }
            let wanted = labels.iter().all(|(k, v)| {
                label_text
                    .split(',')
                    .any(|pair| pair == format!("{k}=\"{v}\""))
            });
            if wanted { value.parse().ok() } else { None }
        })
}

// HTTPS and mutual TLS helpers (issue 6).
pub mod pki;

// A signer with a multi-signature credential, for the signDoc and DSS-X tests (issue 5, 7).
pub mod doc_signer;

// `signet sign` run as a user would (issue 15).
pub mod sign_cli;

// The DSS-X 2.0 schemas answers are checked against (issue 16: VerifyRequest).
pub mod dss_schema;

// DSS-X messages as the DSS-X tests write and read them (issue 16).
pub mod dss;
