//! A real browser on Signet's pages: Debian's Chromium, driven by playwright-core
//! (`tests/browser/consent.cjs`), walks sign-in → consent (PIN + TOTP, Approve) → redirect with
//! the code, on a phone viewport (390×844) and a desktop one (1280×800); this test then redeems
//! the code and signs with the credential token, and checks the screenshots
//! (`target/test-artifacts/browser/*.png`).
//!
//! Needs `chromium` and `node` (Debian packages) and `npm ci` of `tests/browser/` into
//! `target/browser-node` — `scripts/test` installs all three. When they are missing the test
//! says so and passes only if neither SIGNET_REQUIRE_BROWSER nor SIGNET_REQUIRE_INTEROP is set.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::interop::workspace_root;
use common::oauth::*;
use common::*;
use serde_json::{Value, json};

const PIN: &str = "80808080";

struct Tools {
    chromium: PathBuf,
    modules: PathBuf,
    script: PathBuf,
}

fn tools() -> Option<Tools> {
    let root = workspace_root();
    let chromium = std::env::var_os("SIGNET_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/chromium".into());
    let modules = std::env::var_os("SIGNET_BROWSER_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/browser-node/node_modules"));
    let script = root.join("crates/signet-cli/tests/browser/consent.cjs");
    let node_ok = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let mut missing = Vec::new();
    if !chromium.exists() {
        missing.push(format!("chromium ({})", chromium.display()));
    }
    if !node_ok {
        missing.push("node".to_string());
    }
    if !modules.join("playwright-core").exists() {
        missing.push(format!("playwright-core in {}", modules.display()));
    }
    if missing.is_empty() {
        return Some(Tools {
            chromium,
            modules,
            script,
        });
    }
    let msg = format!(
        "browser test tools missing: {}. Install with `apt-get install chromium nodejs npm` and \
         `npm ci` of crates/signet-cli/tests/browser into target/browser-node (scripts/test does both)",
        missing.join(", ")
    );
    if std::env::var_os("SIGNET_REQUIRE_BROWSER").is_some()
        || std::env::var_os("SIGNET_REQUIRE_INTEROP").is_some()
    {
        panic!("{msg}");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

#[tokio::test]
async fn chromium_signs_in_and_approves_on_phone_and_desktop() {
    let Some(tools) = tools() else { return };
    // Each run writes into its own directory (several runs may share the target directory),
    // then the checked screenshots are copied to the artifacts folder.
    let artifacts = workspace_root().join("target/test-artifacts/browser");
    let run_dir = tempfile::tempdir().expect("tempdir");
    let shots = run_dir.path();
    let server = Server::start();
    let user = server.add_user("amelie");
    let cred = server.create_credential(&user, PIN, &["--auth", "oauth2code"]);
    // A loopback redirect URI (RFC 8252) served by the Node script on a free port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let client = server.add_client("Notary Office", &[&redirect], false, None);
    let service = server.login(&user).await;
    let cert = server.certificate(&service, &cred).await;

    for viewport in ["phone", "desktop"] {
        let message = format!("purchase contract, {viewport} copy");
        let digest = sha256(message.as_bytes());
        let p = pkce();
        let hashes = b64url(&digest);
        let path = authorize_path(
            &client,
            &p,
            viewport,
            &[
                ("scope", "credential"),
                ("credentialID", &cred),
                ("numSignatures", "1"),
                ("hashes", &hashes),
                ("hashAlgorithmOID", SHA256),
                ("description", "Purchase contract for Rue des Lilas 12"),
            ],
        );
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let expect = json!([
            "Notary Office",
            cred,
            "CN=amelie",
            "Purchase contract for Rue des Lilas 12",
            &hex[..8],
            "SHA-256"
        ]);
        let otp = server.fresh_otp(&user);
        let out = Command::new("node")
            .arg(&tools.script)
            .env("SIGNET_BROWSER_MODULES", &tools.modules)
            .env("SIGNET_CHROMIUM", &tools.chromium)
            .env("SIGNET_VIEWPORT", viewport)
            .env("SIGNET_SCREENSHOTS", shots)
            .env("SIGNET_AUTHORIZE_URL", format!("{}{path}", server.url))
            .env("SIGNET_REDIRECT_URI", &redirect)
            .env("SIGNET_USERNAME", &user.username)
            .env("SIGNET_PASSWORD", &user.password)
            .env("SIGNET_PIN", PIN)
            .env("SIGNET_OTP", &otp)
            .env("SIGNET_EXPECT_TEXT", expect.to_string())
            .output()
            .expect("run node");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{viewport}: browser run failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value =
            serde_json::from_str(stdout.lines().last().unwrap_or("")).expect("report JSON");
        assert_eq!(report["problems"], json!([]), "{viewport}: {report}");
        let callback = report["callback"].as_str().expect("callback URL");
        let q = query(callback);
        assert_eq!(q["state"], viewport);
        let (status, tok) = server.redeem(&client, &q["code"], &p.verifier).await;
        assert_eq!(status, 200, "{viewport}: {tok}");
        let token = tok["access_token"].as_str().unwrap();
        let body = json!({ "credentialID": cred, "hashes": [b64(&digest)], "hashAlgorithmOID": SHA256, "signAlgo": ECDSA_SHA256 });
        let reply = server
            .post("/csc/v2/signatures/signHash", Some(token), &body)
            .await;
        verify(
            &cert,
            ECDSA_SHA256,
            SHA256,
            message.as_bytes(),
            &signatures(&reply)[0],
        )
        .expect("signature verifies");

        for shot in ["signin", "consent", "callback"] {
            let file = shots.join(format!("{viewport}-{shot}.png"));
            let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            assert!(
                bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 2000,
                "{} is not a real PNG",
                file.display()
            );
            std::fs::create_dir_all(&artifacts).expect("artifacts dir");
            std::fs::copy(&file, artifacts.join(format!("{viewport}-{shot}.png")))
                .expect("copy screenshot");
        }
    }
}
