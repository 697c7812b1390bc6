//! The published API description (issue 17) against a live `signet serve`:
//! - `GET /openapi.json` is the committed document with `servers` naming the server, and the
//!   reference validator (openapi-spec-validator) accepts it as OpenAPI 3.1;
//! - every documented path and method is served (a bare request gets one of its documented
//!   status codes, never the "Unknown path" 404 or a 405), and what is left out answers as the
//!   document says (other HTTP methods 405, v1 signDoc 404, unoffered CSC methods 501);
//! - schemathesis, a property-based API fuzzer, generates valid and invalid requests for every
//!   operation (a bounded, deterministic run, authenticated with a real bearer token, user and
//!   client credentials, and real credential, SAD and client values for half of the cases) and
//!   fails on any 5xx, any answer whose status, content type, headers or body the document does
//!   not describe, and any request without an answer within 30 s (a hang; the slowest real
//!   answers, argon2 logins of a debug build on a busy machine, take well under a second).
//!
//! The Python tools come from the interop venv (tests/interop/setup.sh); without it the fuzzer
//! part says SKIPPED, unless SIGNET_REQUIRE_INTEROP is set.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::oauth::{Pkce, pkce};
use common::*;
use serde_json::{Value, json};

/// The committed document.
fn committed() -> Value {
    let path = common::interop::workspace_root().join("crates/signet-server/openapi.json");
    serde_json::from_slice(&std::fs::read(path).expect("openapi.json")).expect("JSON")
}

/// `GET /openapi.json` as served, checked against the committed file.
async fn served_document(server: &Server) -> Value {
    let resp = server.raw("GET", "/openapi.json", &[], vec![]).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.headers["content-type"], "application/json");
    let served: Value = serde_json::from_slice(&resp.body).expect("served document is JSON");
    assert_eq!(served["servers"], json!([{ "url": server.url }]));
    let mut expected = committed();
    expected["servers"] = served["servers"].clone();
    assert!(
        served == expected,
        "the served document is the committed one"
    );
    served
}

/// A request with nothing in it: the operation's first request media type, an empty body, no
/// credentials; path parameters filled with a placeholder. Redirects are answers here, not
/// followed.
async fn bare_request(server: &Server, doc: &Value, path: &str, method: &str) -> (u16, Vec<u8>) {
    let op = &doc["paths"][path][method];
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client");
    let concrete = path.replace("{request}", "MAA=");
    let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
    let mut req = http.request(method, format!("{}{concrete}", server.url));
    if let Some(content_type) = op["requestBody"]["content"]
        .as_object()
        .and_then(|c| c.keys().next())
    {
        req = req.header("content-type", content_type);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.bytes().await.expect("body").to_vec())
}

#[tokio::test]
async fn every_documented_operation_is_served_and_nothing_else() {
    let server = Server::start();
    let doc = served_document(&server).await;
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let (status, bytes) = bare_request(&server, &doc, path, method).await;
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            assert!(
                !(status == 404 && body["error_description"] == "Unknown path"),
                "{method} {path} is not routed"
            );
            assert!(
                !body["error_description"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("Unknown method")),
                "{method} {path}: CSC does not know it"
            );
            assert_ne!(status, 405, "{method} {path}");
            assert!(
                op["responses"][status.to_string()].is_object(),
                "{method} {path}: status {status} of a bare request is documented: {}",
                String::from_utf8_lossy(&bytes)
            );
            operations += 1;
        }
    }
    assert_eq!(operations, 49, "every operation was tried");

    // What the document leaves out answers as its descriptions say.
    for method in signet_server_methods() {
        for version in ["v1", "v2"] {
            if version == "v1" && method == "signatures/signDoc" {
                continue;
            }
            let path = format!("/csc/{version}/{method}");
            for verb in ["GET", "PUT", "DELETE"] {
                if verb == "GET" && method == "info" {
                    continue;
                }
                let resp = server.raw(verb, &path, &[], vec![]).await;
                assert_eq!(resp.status, 405, "{verb} {path}");
                assert_eq!(resp.json()["error"], "invalid_request", "{verb} {path}");
                assert!(
                    doc["paths"][&path][verb.to_lowercase()].is_null(),
                    "{verb} {path} is not documented"
                );
            }
        }
    }
    // signDoc on v1 paths does not exist, whoever asks and however.
    for verb in ["POST", "GET"] {
        let resp = server
            .raw(verb, "/csc/v1/signatures/signDoc", &[], vec![])
            .await;
        assert_eq!(resp.status, 404, "{verb}");
        assert_eq!(
            resp.json()["error_description"],
            "signatures/signDoc is a CSC v2 method: use /csc/v2/signatures/signDoc"
        );
    }
    assert!(doc["paths"]["/csc/v1/signatures/signDoc"].is_null());
    for method in ["credentials/sendOTP", "signatures/signPolling"] {
        let reply = server
            .post(&format!("/csc/v2/{method}"), None, &json!({}))
            .await;
        expect_error(&reply, 501, "not_implemented");
        assert!(doc["paths"][format!("/csc/v2/{method}")].is_null());
    }
    let unknown = server
        .post("/csc/v2/credentials/nothing", None, &json!({}))
        .await;
    expect_error(&unknown, 404, "invalid_request");
    let nowhere = server.raw("GET", "/nowhere", &[], vec![]).await;
    assert_eq!(nowhere.status, 404);
    assert_eq!(nowhere.json()["error_description"], "Unknown path");
}

/// The CSC methods the document describes (its v2 paths).
fn signet_server_methods() -> Vec<String> {
    let doc = committed();
    doc["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .filter_map(|p| p.strip_prefix("/csc/v2/"))
        .map(str::to_owned)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// schemathesis

/// The interop venv with schemathesis, or `None` (the caller skips).
fn fuzzer_venv() -> Option<std::path::PathBuf> {
    let tools = common::interop::interop()?;
    if tools.venv.join("bin/schemathesis").exists() {
        return Some(tools.venv);
    }
    let msg = format!(
        "schemathesis missing in {}: run tests/interop/setup.sh",
        tools.venv.display()
    );
    assert!(
        std::env::var_os("SIGNET_REQUIRE_INTEROP").is_none(),
        "{msg}"
    );
    eprintln!("SKIPPED: {msg}");
    None
}

/// Runs `cmd` to its end or `limit`, whichever first: (exit success, everything it printed).
/// Past the limit the process is killed and the test fails.
fn run_bounded(mut cmd: Command, limit: Duration) -> (bool, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the fuzzer");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let text = format!(
        "{}{}",
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default()
    );
    match status {
        Some(s) => (s.success(), text),
        None => panic!("the fuzzer did not finish within {limit:?}:\n{text}"),
    }
}

/// The checks, each a property every answer must have.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_headers_conformance,response_schema_conformance";

#[tokio::test]
async fn schemathesis_finds_no_answer_the_document_does_not_describe() {
    let Some(venv) = fuzzer_venv() else {
        return;
    };
    // The fuzzer sends well over the default per-address rate from one address: without the
    // limit it reaches every operation instead of collecting 429s (slow_clients.rs tests those).
    let server = Server::start_with_env(&[("SIGNET_HTTP__REQUESTS_PER_SECOND", "0")]);
    let doc = served_document(&server).await;
    let work = tempfile::tempdir().expect("tempdir");
    let doc_path = work.path().join("openapi.json");
    std::fs::write(&doc_path, serde_json::to_vec(&doc).expect("JSON")).expect("write");
    let (valid, report) = common::interop::run(
        Command::new(venv.join("bin/openapi-spec-validator"))
            .args(["--schema", "3.1"])
            .arg(&doc_path),
    );
    assert!(
        valid,
        "openapi-spec-validator refuses the document:\n{report}"
    );

    // A signer with every kind of credential, so that list and info answers of each are
    // checked, a multi-signature SAD on the SCAL1 one, and a confidential client bound to them.
    let alice = server.add_user("alice");
    let scal1 = server.create_credential(&alice, "2468", &["--scal", "1", "--multisign", "1000"]);
    server.create_credential(&alice, "2468", &[]);
    server.create_credential(&alice, "2468", &["--auth", "oob", "--key", "rsa-2048"]);
    server.create_credential(
        &alice,
        "2468",
        &["--auth", "oauth2code", "--key", "ec-p384"],
    );
    let redirect = "https://client.example/cb";
    let client = server.add_client("fuzz", &[redirect], true, Some("alice"));
    let token = server.login(&alice).await;
    let sad = server
        .sad(&token, &scal1, 1000, None, None, "2468", None)
        .await;
    let extend_sad = server
        .sad(&token, &scal1, 5, None, None, "2468", None)
        .await;
    let digest = b64(&sha256(b"schemathesis"));
    let Pkce { challenge, .. } = pkce();
    let values = json!({
        "credentialID": [scal1],
        // The right PIN (SCAL1: no OTP), so that fuzzed authorizations do not lock the
        // credential the other operations sign with.
        "authData": [[{ "id": "PIN", "value": "2468" }]],
        "PIN": ["2468"],
        "OTP": [null],
        "SAD": [sad],
        "/csc/v1/credentials/extendTransaction SAD": [extend_sad],
        "/csc/v2/credentials/extendTransaction SAD": [extend_sad],
        "signAlgo": [ECDSA_SHA256],
        "signAlgoParams": [null],
        "hashAlgorithmOID": [SHA256],
        "hashAlgo": [SHA256],
        "hashes": [[digest]],
        "hash": [[digest], digest],
        "client_id": [client.id],
        "redirect_uri": [redirect],
        "response_type": ["code"],
        "code_challenge_method": ["S256"],
        "code_challenge": [challenge],
    });
    let secret = client.secret.as_deref().expect("confidential client");
    let config = format!(
        "[auth.openapi.bearer]\nbearer = \"{token}\"\n\
         [auth.openapi.basic]\nusername = \"{}\"\npassword = \"{}\"\n\
         [auth.openapi.clientBasic]\nusername = \"{}\"\npassword = \"{secret}\"\n",
        alice.username, alice.password, client.id
    );
    let config_path = work.path().join("schemathesis.toml");
    std::fs::write(&config_path, config).expect("write config");
    let hooks = common::interop::workspace_root().join("tests/interop/schemathesis_hooks.py");

    let mut cmd = Command::new(venv.join("bin/schemathesis"));
    cmd.current_dir(work.path())
        .arg("--config-file")
        .arg(&config_path)
        .args(["run", &format!("{}/openapi.json", server.url)])
        .args(["--checks", CHECKS])
        .args(["--max-examples", "20", "--generation-deterministic"])
        .args(["--request-timeout", "30", "--max-redirects", "0"])
        .args(["--workers", "1", "--no-color", "--warnings", "off"])
        .env("SCHEMATHESIS_HOOKS", &hooks)
        .env("SIGNET_SCHEMATHESIS_VALUES", values.to_string())
        .env_remove("SCHEMATHESIS_BASE_URL");
    let started = Instant::now();
    let (passed, output) = run_bounded(cmd, Duration::from_secs(300));
    eprintln!("schemathesis took {:?}:\n{output}", started.elapsed());
    assert!(
        passed,
        "schemathesis found answers the document does not describe"
    );
    assert!(
        output.contains("48 selected / 48 total"),
        "every operation but /openapi.json itself was fuzzed"
    );
    let cases: u64 = output
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_suffix(" passed")
                .and_then(|l| l.split(" generated, ").nth(1))
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(cases > 1000, "a real run, not an empty one ({cases} cases)");
    assert!(
        server_is_clean(&server),
        "no request failed on the server side"
    );
    // The real values reached the signing core: the SCAL1 credential signed.
    let signed = server
        .audit_export()
        .iter()
        .filter(|e| e["kind"] == "signature.create" && e["credential_id"] == scal1.as_str())
        .count();
    assert!(
        signed > 0,
        "some fuzzed requests were valid signing requests"
    );
}

/// No request was answered with a server error (the log's per-request line).
fn server_is_clean(server: &Server) -> bool {
    !server
        .log_lines()
        .iter()
        .any(|l| l.contains("request failed") || l.contains("panicked"))
}
