//! End-to-end test harness: runs the real `signet` binary with a temporary data directory on an
//! ephemeral port and talks HTTP to it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
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
        let data = tempfile::tempdir().expect("tempdir");
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut cmd = Command::new(SIGNET);
        cmd.arg("--data").arg(data.path()).args(["serve", "--listen", "127.0.0.1:0"]);
        cmd.env_remove("SIGNET_MASTER_KEY").env("SIGNET_LOG", "info");
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn signet serve");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    if let Some(tx) = tx.take() {
                        let addr = rest.split_whitespace().next().unwrap_or("").to_string();
                        let _ = tx.send(addr);
                    }
                }
                if std::env::var_os("SIGNET_TEST_SHOW_LOGS").is_some() {
                    eprintln!("[signet] {line}");
                }
            }
        });
        let addr = rx.recv_timeout(Duration::from_secs(60)).expect("signet serve did not report its address");
        Server {
            url: format!("http://{addr}"),
            data,
            child,
            env,
            used_steps: Mutex::new(HashMap::new()),
            http: reqwest::Client::new(),
        }
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
        cmd.arg("--data").arg(self.data.path()).args(args).env_remove("SIGNET_MASTER_KEY");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null()).output().expect("run signet")
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
        let out = self.cli_ok(&["admin", "user", "add", username, "--json"], &[("SIGNET_PASSWORD", &password)]);
        let v: Value = serde_json::from_str(&out).expect("json");
        let b32 = v["totp_secret"].as_str().expect("totp_secret").to_string();
        TestUser {
            username: username.into(),
            password,
            totp_secret: data_encoding::BASE32_NOPAD.decode(b32.as_bytes()).expect("base32"),
            totp_base32: b32,
        }
    }

    /// Creates a credential and returns its ID. `extra` e.g. `["--key", "rsa-2048", "--scal", "1"]`.
    pub fn create_credential(&self, user: &TestUser, pin: &str, extra: &[&str]) -> String {
        let mut args = vec!["admin", "credential", "create", "--user", &user.username, "--json"];
        args.extend_from_slice(extra);
        let out = self.cli_ok(&args, &[("SIGNET_PIN", pin)]);
        let v: Value = serde_json::from_str(&out).expect("json");
        v["credential_id"].as_str().expect("credential_id").to_string()
    }

    /// A TOTP code the server has not yet seen for this user (waits for the next 30 s step when
    /// the usable window is used up).
    pub fn fresh_otp(&self, user: &TestUser) -> String {
        loop {
            let now = unix_now();
            let current = now / 30;
            let mut used = self.used_steps.lock().unwrap();
            let last = used.get(&user.username).copied().unwrap_or(i64::MIN);
            if let Some(step) = (current - 1..=current + 1).find(|s| *s > last) {
                used.insert(user.username.clone(), step);
                return totp_code(&user.totp_secret, step);
            }
            drop(used);
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Marks a step as consumed by a request the test made on its own.
    pub fn mark_otp_used(&self, user: &TestUser, step: i64) {
        self.used_steps.lock().unwrap().insert(user.username.clone(), step);
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
        let v = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
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
        v["access_token"].as_str().expect("access_token").to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
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
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data).as_ref().to_vec()
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
