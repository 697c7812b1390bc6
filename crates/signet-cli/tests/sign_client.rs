//! `signet sign` and `signet credentials`, the client side, against a real Signet: every
//! authorization mode (explicit SCAL1 and SCAL2, OAuth2 consent walked by the test, decoupled
//! approval, client credentials), both API versions, every format × level judged by the
//! third-party validators (tests/interop/validate.sh), a batch of 100 documents under one SCAL2
//! authorization, and the errors a user meets (no terminal, wrong PIN, existing output, a
//! broken document in a batch).

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::doc_signer::minimal_pdf;
use common::interop::interop;
use common::oauth::Browser;
use common::sign_cli::{client, client_command, documents, judge, signer_env, text, write};
use common::*;

const PIN: &str = "24680";

#[test]
fn every_format_and_level_passes_the_validators_scal1_v2() {
    let server = Server::start();
    let user = server.add_user("frida");
    let cred = server.create_credential(&user, PIN, &["--scal", "1", "--multisign", "10"]);
    let ca = server.ca_pem();
    for level in ["B-B", "B-T", "B-LT", "B-LTA"] {
        let dir = tempfile::tempdir().unwrap();
        let docs = documents(dir.path());
        let mut args = vec!["sign", "--server", &server.url, "--level", level];
        let paths: Vec<&str> = docs.iter().map(|d| d.to_str().unwrap()).collect();
        args.extend(&paths);
        let out = client(&args, &signer_env(&user, PIN), dir.path());
        assert_eq!(out.status.code(), Some(0), "{level}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("signed 4 of 4 documents (Ades-{level})"))
                && stderr.contains("with 1 authorization"),
            "{stderr}"
        );
        let outputs = [
            "contract-signed.pdf",
            "invoice-signed.xml",
            "claims.json.jws.json",
            "report.txt.p7m",
        ];
        for (name, input) in outputs.iter().zip(&docs) {
            let path = dir.path().join(name);
            assert!(path.exists(), "{level}: no {name}");
            judge(&path, input, &ca, false);
        }
        // The inputs are untouched.
        assert_eq!(std::fs::read(&docs[0]).unwrap(), minimal_pdf());
    }
    // The credential was only ever used through signHash: one audit record per signature.
    let _ = cred;
}

#[test]
fn detached_signatures_beside_the_documents() {
    let server = Server::start();
    let user = server.add_user("greta");
    server.create_credential(&user, PIN, &["--scal", "1", "--multisign", "5"]);
    let dir = tempfile::tempdir().unwrap();
    let docs = documents(dir.path());
    // The time-stamps from an RFC 3161 TSA named on the command line (Signet's own /tsa here)
    // instead of the CSC signatures/timestamp method.
    let tsa = format!("{}/tsa", server.url);
    let out = client(
        &[
            "sign",
            "--server",
            &server.url,
            "--level",
            "B-T",
            "--tsa",
            &tsa,
            "--detached",
            docs[1].to_str().unwrap(),
            docs[2].to_str().unwrap(),
            docs[3].to_str().unwrap(),
        ],
        &signer_env(&user, PIN),
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let ca = server.ca_pem();
    judge(
        &dir.path().join("invoice.xml.xades.xml"),
        &docs[1],
        &ca,
        true,
    );
    judge(&dir.path().join("claims.json.jws"), &docs[2], &ca, true);
    judge(&dir.path().join("report.txt.p7s"), &docs[3], &ca, true);

    // A PDF cannot be detached: refused before anything is signed.
    let out = client(
        &[
            "sign",
            "--server",
            &server.url,
            "--detached",
            docs[0].to_str().unwrap(),
        ],
        &signer_env(&user, PIN),
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--detached is for CAdES, XAdES and JAdES")
    );
}

#[test]
fn scal2_pin_and_otp_on_v1_and_v2() {
    let server = Server::start();
    let user = server.add_user("hugo");
    server.create_credential(&user, PIN, &["--scal", "2", "--multisign", "2"]);
    for api in ["v1", "v2"] {
        let dir = tempfile::tempdir().unwrap();
        let pdf = write(dir.path(), "a.pdf", &minimal_pdf());
        let otp = server.fresh_otp(&user);
        let out = client(
            &[
                "sign",
                "--server",
                &server.url,
                "--api",
                api,
                "--level",
                "B-LT",
                pdf.to_str().unwrap(),
            ],
            &[
                ("SIGNET_USER", &user.username),
                ("SIGNET_PASSWORD", &user.password),
                ("SIGNET_PIN", PIN),
                ("SIGNET_OTP", &otp),
            ],
            dir.path(),
        );
        assert_eq!(out.status.code(), Some(0), "{api}: {}", text(&out));
        judge(
            &dir.path().join("a-signed.pdf"),
            &pdf,
            &server.ca_pem(),
            false,
        );
    }
}

#[test]
fn a_batch_of_100_documents_under_one_scal2_authorization() {
    let server = Server::start();
    let user = server.add_user("ines");
    server.create_credential(&user, PIN, &["--scal", "2", "--multisign", "100"]);
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("in");
    let outputs = dir.path().join("out");
    std::fs::create_dir_all(&inputs).unwrap();
    std::fs::create_dir_all(&outputs).unwrap();
    let mut files = Vec::new();
    for i in 0..100 {
        files.push(write(
            &inputs,
            &format!("letter-{i:03}.txt"),
            format!("Letter {i}\n").as_bytes(),
        ));
    }
    let otp = server.fresh_otp(&user);
    let mut args = vec![
        "sign",
        "--server",
        &server.url,
        "--out-dir",
        outputs.to_str().unwrap(),
    ];
    let paths: Vec<&str> = files.iter().map(|f| f.to_str().unwrap()).collect();
    args.extend(&paths);
    let out = client(
        &args,
        &[
            ("SIGNET_USER", &user.username),
            ("SIGNET_PASSWORD", &user.password),
            ("SIGNET_PIN", PIN),
            ("SIGNET_OTP", &otp),
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("signed 100 of 100 documents (Ades-B-B)")
            && stderr.contains("with 1 authorization"),
        "{stderr}"
    );
    let written: Vec<_> = std::fs::read_dir(&outputs).unwrap().collect();
    assert_eq!(written.len(), 100);
    // Each is a CAdES over its own letter: openssl checks a sample of them.
    for i in [0, 57, 99] {
        judge(
            &outputs.join(format!("letter-{i:03}.txt.p7m")),
            &files[i],
            &server.ca_pem(),
            false,
        );
    }
    // One SCAL2 authorization for the whole batch: one "authorize" audit record, 100 signatures.
    let audit = server.audit_export();
    let count = |kind: &str| audit.iter().filter(|r| r["kind"] == kind).count();
    assert_eq!(count("credential.authorize"), 1, "{audit:?}");
    let signed: Vec<_> = audit
        .iter()
        .filter(|r| r["kind"] == "signature.create")
        .collect();
    assert_eq!(signed.len(), 1, "one signHash for the whole batch");
    let detail: serde_json::Value =
        serde_json::from_str(signed[0]["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["count"], 100);
}

#[test]
fn a_batch_larger_than_multisign_asks_again_and_a_broken_file_does_not_stop_the_others() {
    let server = Server::start();
    let user = server.add_user("jonas");
    server.create_credential(&user, PIN, &["--scal", "1", "--multisign", "2"]);
    let dir = tempfile::tempdir().unwrap();
    let good: Vec<PathBuf> = (0..4)
        .map(|i| write(dir.path(), &format!("d{i}.pdf"), &minimal_pdf()))
        .collect();
    let broken = write(
        dir.path(),
        "broken.pdf",
        b"%PDF-1.7\nthis is not a PDF at all\n",
    );
    let mut args = vec!["sign", "--server", &server.url];
    let mut paths: Vec<&str> = good.iter().map(|f| f.to_str().unwrap()).collect();
    paths.insert(1, broken.to_str().unwrap());
    args.extend(&paths);
    let out = client(&args, &signer_env(&user, PIN), dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("error: {}:", broken.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains("signed 4 of 5 documents") && stderr.contains("1 failed"),
        "{stderr}"
    );
    // 5 inputs, multisign 2: three groups, but the broken file is dropped before authorizing
    // its group, so still 3 authorizations (2 + 1 + 2 → groups of the planned inputs).
    assert!(stderr.contains("with 3 authorizations"), "{stderr}");
    for i in 0..4 {
        assert!(dir.path().join(format!("d{i}-signed.pdf")).exists());
    }
    assert!(!dir.path().join("broken-signed.pdf").exists());
}

#[test]
fn without_a_terminal_or_the_environment_it_says_what_is_missing() {
    let server = Server::start();
    let user = server.add_user("karla");
    server.create_credential(&user, PIN, &["--scal", "2"]);
    let dir = tempfile::tempdir().unwrap();
    let pdf = write(dir.path(), "a.pdf", &minimal_pdf());
    let base = [
        ("SIGNET_USER", user.username.as_str()),
        ("SIGNET_PASSWORD", user.password.as_str()),
    ];
    // No PIN anywhere.
    let out = client(
        &["sign", "--server", &server.url, pdf.to_str().unwrap()],
        &base,
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("set SIGNET_PIN in the environment (there is no terminal to ask on)"),
        "{stderr}"
    );
    assert!(!dir.path().join("a-signed.pdf").exists());
    // No password.
    let out = client(
        &["sign", "--server", &server.url, pdf.to_str().unwrap()],
        &[("SIGNET_USER", &user.username)],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("set SIGNET_PASSWORD"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_wrong_pin_is_the_servers_error_and_leaves_no_file() {
    let server = Server::start();
    let user = server.add_user("lena");
    server.create_credential(&user, PIN, &["--scal", "1"]);
    let dir = tempfile::tempdir().unwrap();
    let pdf = write(dir.path(), "a.pdf", &minimal_pdf());
    let out = client(
        &["sign", "--server", &server.url, pdf.to_str().unwrap()],
        &signer_env(&user, "00000"),
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "credentials/authorize: the server answered 400: invalid_authentication_data"
        ),
        "{stderr}"
    );
    assert!(
        !stderr.contains("00000"),
        "the PIN must not be printed: {stderr}"
    );
    assert!(!dir.path().join("a-signed.pdf").exists());
}

#[test]
fn outputs_are_never_overwritten_unless_asked() {
    let server = Server::start();
    let user = server.add_user("mira");
    server.create_credential(&user, PIN, &["--scal", "1"]);
    let dir = tempfile::tempdir().unwrap();
    let pdf = write(dir.path(), "a.pdf", &minimal_pdf());
    let existing = write(dir.path(), "a-signed.pdf", b"keep me");
    let env = [
        ("SIGNET_USER", user.username.as_str()),
        ("SIGNET_PASSWORD", user.password.as_str()),
        ("SIGNET_PIN", PIN),
    ];
    let out = client(
        &["sign", "--server", &server.url, pdf.to_str().unwrap()],
        &env,
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("exists already; add --force"),
        "{}",
        text(&out)
    );
    assert_eq!(std::fs::read(&existing).unwrap(), b"keep me");
    // The input as output: refused without --force.
    let out = client(
        &["sign", "--server", &server.url, "-o", "a.pdf", "a.pdf"],
        &env,
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the output would replace the input"));
    assert_eq!(std::fs::read(&pdf).unwrap(), minimal_pdf());
    // --force signs in place.
    let out = client(
        &[
            "sign",
            "--server",
            &server.url,
            "--force",
            "-o",
            "a.pdf",
            "a.pdf",
        ],
        &env,
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    judge(&pdf, &pdf, &server.ca_pem(), false);
}

#[test]
fn a_saved_profile_makes_it_one_word() {
    let server = Server::start();
    let user = server.add_user("nora");
    let cred = server.create_credential(&user, PIN, &["--scal", "1"]);
    server.create_credential(&user, PIN, &["--scal", "1"]);
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.pdf", &minimal_pdf());
    let env = [
        ("SIGNET_PASSWORD", user.password.as_str()),
        ("SIGNET_PIN", PIN),
    ];
    // Two credentials: the client does not guess.
    let out = client(
        &[
            "sign",
            "--server",
            &server.url,
            "--user",
            &user.username,
            "a.pdf",
        ],
        &env,
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("2 credentials; choose one with --credential")
    );
    let out = client(
        &[
            "sign",
            "--server",
            &server.url,
            "--user",
            &user.username,
            "--credential",
            &cred,
            "--save-profile",
            "a.pdf",
        ],
        &env,
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let saved = std::fs::read_to_string(dir.path().join("client.toml")).unwrap();
    assert!(
        saved.contains(&format!("credential = \"{cred}\"")) && saved.contains("user = \"nora\""),
        "{saved}"
    );
    assert!(
        !saved.contains(&user.password) && !saved.contains(PIN),
        "{saved}"
    );
    std::fs::remove_file(dir.path().join("a-signed.pdf")).unwrap();
    let out = client(&["sign", "a.pdf"], &env, dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(dir.path().join("a-signed.pdf").exists());
}

#[test]
fn credentials_lists_what_the_user_has() {
    let server = Server::start();
    let user = server.add_user("otto");
    let c1 = server.create_credential(&user, PIN, &["--scal", "2", "--multisign", "7"]);
    let c2 = server.create_credential(
        &user,
        PIN,
        &["--scal", "1", "--key", "rsa-2048", "--auth", "oob"],
    );
    let dir = tempfile::tempdir().unwrap();
    let out = client(
        &["credentials", "--server", &server.url, "--json"],
        &[
            ("SIGNET_USER", &user.username),
            ("SIGNET_PASSWORD", &user.password),
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = |id: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["credentialID"] == id)
            .unwrap()
            .clone()
    };
    let r1 = row(&c1);
    assert_eq!(
        (
            r1["key"].as_str(),
            r1["SCAL"].as_u64(),
            r1["multisign"].as_u64()
        ),
        (Some("ec-p256"), Some(2), Some(7))
    );
    assert_eq!(r1["authMode"], "explicit");
    assert_eq!(r1["authExpression"], "PIN AND OTP");
    assert!(r1["subject"].as_str().unwrap().contains("otto"), "{r1}");
    let r2 = row(&c2);
    assert_eq!(
        (r2["key"].as_str(), r2["SCAL"].as_u64()),
        (Some("rsa-2048"), Some(1))
    );
    let out = client(
        &["credentials", "--server", &server.url],
        &[
            ("SIGNET_USER", &user.username),
            ("SIGNET_PASSWORD", &user.password),
        ],
        dir.path(),
    );
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains(&c1) && listing.contains("multisign 7"),
        "{listing}"
    );
}

/// A running client whose standard error is collected line by line.
struct Running {
    child: std::process::Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Running {
    fn start(mut cmd: Command) -> Self {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn signet sign");
        let stderr = child.stderr.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Running { child, lines }
    }

    /// The first line that satisfies `f`.
    fn wait_line(&self, f: impl Fn(&str) -> bool) -> String {
        let mut found = None;
        assert!(
            wait_until(Duration::from_secs(60), || {
                found = self.lines.lock().unwrap().iter().find(|l| f(l)).cloned();
                found.is_some()
            }),
            "no such line; stderr so far: {:?}",
            self.lines.lock().unwrap()
        );
        found.unwrap()
    }

    fn finish(mut self) -> (Option<i32>, String) {
        let status = self.child.wait().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        (status.code(), self.lines.lock().unwrap().join("\n"))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn oauth2_consent_in_the_browser_on_v1_and_v2() {
    let server = Server::start();
    let user = server.add_user("paula");
    let cred = server.create_credential(&user, PIN, &["--scal", "2", "--auth", "oauth2code"]);
    let registered = server.cli_ok(
        &[
            "admin",
            "client",
            "add",
            "signet sign",
            "--redirect-uri",
            "http://127.0.0.1/callback",
            "--json",
        ],
        &[],
    );
    let client_id = serde_json::from_str::<serde_json::Value>(&registered).unwrap()["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for api in ["v2", "v1"] {
        let dir = tempfile::tempdir().unwrap();
        let pdf = write(dir.path(), "a.pdf", &minimal_pdf());
        let run = Running::start(client_command(
            &[
                "sign",
                "--server",
                &server.url,
                "--api",
                api,
                "--client-id",
                &client_id,
                "--level",
                "B-T",
                pdf.to_str().unwrap(),
            ],
            &[
                ("SIGNET_USER", &user.username),
                ("SIGNET_PASSWORD", &user.password),
            ],
            dir.path(),
        ));
        // BROWSER=none: the client prints the URL; the test is the signer's browser.
        let line = run.wait_line(|l| l.trim_start().starts_with(&server.url));
        let browser = Browser::new(&server);
        let signin = browser.follow(browser.get(line.trim()).await).await;
        let consent = browser.sign_in(&signin, &user).await;
        assert_eq!(consent.status, 200, "{}", consent.body);
        // What is signed: v2 sends RAR documentDigests (labelled), v1 scope=credential with the
        // client's description.
        let shown = if api == "v2" {
            "Document 1"
        } else {
            "1 document, signed with signet sign"
        };
        assert!(
            consent.body.contains(shown),
            "the consent page shows what is signed: {}",
            consent.body
        );
        let otp = server.fresh_otp(&user);
        let answer = browser
            .decide(&consent, "approve", Some(PIN), Some(&otp))
            .await;
        let redirect = answer.location().expect("redirect to the client");
        assert!(redirect.starts_with("http://127.0.0.1:"), "{redirect}");
        // The browser lands on the client's loopback listener.
        let landing = reqwest::get(&redirect).await.unwrap();
        assert_eq!(landing.status(), 200);
        assert!(
            landing
                .text()
                .await
                .unwrap()
                .contains("authorization received")
        );
        let (code, stderr) = run.finish();
        assert_eq!(code, Some(0), "{api}: {stderr}");
        judge(
            &dir.path().join("a-signed.pdf"),
            &pdf,
            &server.ca_pem(),
            false,
        );
        let _ = &cred;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn decoupled_approval_on_the_signers_phone() {
    let server = Server::start();
    let user = server.add_user("quirin");
    server.create_credential(
        &user,
        PIN,
        &["--scal", "2", "--auth", "oob", "--multisign", "3"],
    );
    let dir = tempfile::tempdir().unwrap();
    let docs: Vec<PathBuf> = (0..3)
        .map(|i| write(dir.path(), &format!("p{i}.pdf"), &minimal_pdf()))
        .collect();
    let mut args = vec!["sign", "--server", &server.url];
    args.extend(docs.iter().map(|d| d.to_str().unwrap()));
    let run = Running::start(client_command(
        &args,
        &[
            ("SIGNET_USER", &user.username),
            ("SIGNET_PASSWORD", &user.password),
        ],
        dir.path(),
    ));
    run.wait_line(|l| l.contains("Waiting for the signer to approve"));
    // The signer approves on Signet's approval page (their phone).
    let browser = Browser::new(&server);
    let signin = browser.get("/approve").await;
    let list = browser.sign_in(&signin, &user).await;
    assert!(
        list.body.contains("3 documents, signed with signet sign"),
        "{}",
        list.body
    );
    let otp = server.fresh_otp(&user);
    let fields = [
        ("csrf", list.input("csrf").unwrap()),
        ("request", list.input("request").unwrap()),
        ("action", "approve".to_owned()),
        ("pin", PIN.to_owned()),
        ("otp", otp),
    ];
    let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let done = browser.post_form("/approve", &refs).await;
    assert!(done.status < 400, "{}", done.body);
    let (code, stderr) = run.finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("signed 3 of 3 documents") && stderr.contains("with 1 authorization"),
        "{stderr}"
    );
    for (i, doc) in docs.iter().enumerate() {
        judge(
            &dir.path().join(format!("p{i}-signed.pdf")),
            doc,
            &server.ca_pem(),
            false,
        );
    }
}

#[test]
fn an_eseal_with_client_credentials() {
    let server = Server::start();
    let seal = server.add_user("seal-unit");
    server.create_credential(&seal, PIN, &["--scal", "1", "--multisign", "10"]);
    let registered = server.cli_ok(
        &[
            "admin",
            "client",
            "add",
            "invoicing",
            "--confidential",
            "--user",
            "seal-unit",
            "--json",
        ],
        &[],
    );
    let v: serde_json::Value = serde_json::from_str(&registered).unwrap();
    let (id, secret) = (
        v["client_id"].as_str().unwrap(),
        v["client_secret"].as_str().unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let docs = documents(dir.path());
    let out = client(
        &[
            "sign",
            "--server",
            &server.url,
            "--auth",
            "client-credentials",
            "--client-id",
            id,
            docs[3].to_str().unwrap(),
        ],
        &[("SIGNET_CLIENT_SECRET", secret), ("SIGNET_PIN", PIN)],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    judge(
        &dir.path().join("report.txt.p7m"),
        &docs[3],
        &server.ca_pem(),
        false,
    );
}

/// A CSC server that is not Signet: certomancer-csc-dummy (pyHanko's test peer, pinned in
/// tests/interop/requirements.txt). CSC v1, `authType` external, `authMode` implicit, SCAL2
/// with the hashes bound in the SAD, 501 for `certInfo`. The PDF it signs passes pyHanko and
/// pdfsig with its root as the trust anchor.
#[test]
fn another_vendors_csc_server_certomancer_csc_dummy() {
    let Some(tools) = interop() else { return };
    let dummy = tools.venv.join("bin/certomancer-csc");
    assert!(
        dummy.exists(),
        "{} missing: run tests/interop/setup.sh",
        dummy.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    for name in ["root", "signer"] {
        let st = Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
            ])
            .arg(keys.join(format!("{name}.key.pem")))
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    std::fs::write(dir.path().join("pki.yml"), certomancer_config(&url)).unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _server = Kill(
        Command::new(&dummy)
            .arg(dir.path().join("pki.yml"))
            .arg(port.to_string())
            .arg("2")
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let http = signet_client::http_client(&Default::default()).unwrap();
    let client = signet_client::CscClient::new(http, &url, signet_client::ApiVersion::V1).unwrap();
    assert!(
        wait_until(Duration::from_secs(30), || client.info().is_ok()),
        "certomancer-csc-dummy did not start"
    );
    // Its root, as the validators' trust anchor.
    let root = client.credential_info("testing-ca/root").unwrap();
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        b64(&root.certificates[0])
    );
    let ca = write(dir.path(), "root.pem", pem.as_bytes());
    let pdf = write(dir.path(), "a.pdf", &minimal_pdf());
    let out = client_run(
        &[
            "sign",
            "--server",
            &format!("{url}/csc/v1"),
            "--credential",
            "testing-ca/signer1",
            "a.pdf",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    judge(&dir.path().join("a-signed.pdf"), &pdf, &ca, false);
    // It has two credentials (the root is one): the client does not guess.
    let out = client_run(
        &[
            "sign",
            "--server",
            &format!("{url}/csc/v1"),
            "-o",
            "b.pdf",
            "a.pdf",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("2 credentials; choose one with --credential"),
        "{}",
        text(&out)
    );
}

fn client_run(args: &[&str], cwd: &Path) -> Output {
    client(args, &[], cwd)
}

fn certomancer_config(url: &str) -> String {
    format!(
        r#"external-url-prefix: "{url}"
keysets:
  testing-ca:
    path-prefix: keys
    keys:
      root:
        path: root.key.pem
      signer1:
        path: signer.key.pem
pki-architectures:
  testing-ca:
    keyset: testing-ca
    entity-defaults:
      country-name: BE
      organization-name: Interop Test
    entities:
      root:
        common-name: Interop Root CA
      signer1:
        common-name: Interop Signer
    certs:
      root:
        subject: root
        issuer: root
        validity:
          valid-from: "2026-01-01T00:00:00+0000"
          valid-to: "2036-01-01T00:00:00+0000"
        extensions:
          - id: basic_constraints
            critical: true
            value:
              ca: true
          - id: key_usage
            critical: true
            smart-value:
              schema: key-usage
              params: [digital_signature, key_cert_sign, crl_sign]
      signer1:
        subject: signer1
        issuer: root
        validity:
          valid-from: "2026-01-01T00:00:00+0000"
          valid-to: "2030-01-01T00:00:00+0000"
        extensions:
          - id: key_usage
            critical: true
            smart-value:
              schema: key-usage
              params: [digital_signature, non_repudiation]
"#
    )
}
