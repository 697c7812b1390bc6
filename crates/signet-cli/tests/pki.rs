//! The embedded CA's validation services and the built-in TSA, judged by software we did not
//! write: `openssl ts` (RFC 3161 requests, replies and tokens), `openssl crl`, `openssl ocsp`,
//! `openssl x509`, the interop kit's `validate.sh tst`, and rfc3161-client (Python), which also
//! refuses CMS whose SET OF is not DER-sorted.
//!
//! openssl is required. The Python venv and the kit come from `tests/interop/setup.sh`;
//! when they are missing the checks that need them say so and pass only if
//! SIGNET_REQUIRE_INTEROP is unset (see tests/interop_pyhanko.rs).

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;
use serde_json::json;

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run tool")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = run(Command::new("openssl").args(args).current_dir(dir));
    (out.status.success(), text(&out))
}

#[track_caller]
fn openssl_ok(dir: &Path, args: &[&str]) -> String {
    let (ok, out) = openssl(dir, args);
    assert!(ok, "openssl {args:?} failed:\n{out}");
    out
}

/// PEM of a DER certificate, written to `dir/name`.
fn write_pem(dir: &Path, name: &str, der: &[u8]) {
    let b64 = b64(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    std::fs::write(dir.join(name), pem).unwrap();
}

/// rfc3161-client verifies `token` (a bare TimeStampToken, wrapped into a granted
/// TimeStampResp for it) over `data`, with the CA as root and the nonce if given.
fn rfc3161_client_accepts(
    python: &Path,
    token: &Path,
    data: &Path,
    ca: &Path,
    nonce: Option<u128>,
) {
    let script = r#"
import sys
from cryptography import x509
from rfc3161_client import decode_timestamp_response, VerifierBuilder
tok = open(sys.argv[1], 'rb').read()
def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, 'big')
    return bytes([0x80 | len(b)]) + b
body = bytes.fromhex('3003020100') + tok
resp = decode_timestamp_response(b'\x30' + der_len(len(body)) + body)
ca = x509.load_pem_x509_certificate(open(sys.argv[3], 'rb').read())
builder = VerifierBuilder().add_root_certificate(ca)
if sys.argv[4]:
    builder = builder.nonce(int(sys.argv[4]))
assert builder.build().verify_message(resp, open(sys.argv[2], 'rb').read())
print('rfc3161-client: verified, policy', resp.tst_info.policy.dotted_string)
"#;
    let out = run(Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(token)
        .arg(data)
        .arg(ca)
        .arg(nonce.map(|n| n.to_string()).unwrap_or_default()));
    assert!(
        out.status.success(),
        "rfc3161-client refused the token:\n{}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tsa_endpoint_answers_openssl_ts() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("data.txt"), b"The quick brown fox").unwrap();
    let ca = server.ca_pem();
    let ca = ca.to_str().unwrap();
    openssl_ok(
        d,
        &[
            "ts", "-query", "-data", "data.txt", "-sha256", "-cert", "-out", "q.tsq",
        ],
    );
    let query = std::fs::read(d.join("q.tsq")).unwrap();

    // The wrong media type is refused before anything is parsed.
    let resp = server
        .raw(
            "POST",
            "/tsa",
            &[("Content-Type", "application/json")],
            query.clone(),
        )
        .await;
    assert_eq!(resp.status, 415);

    let resp = server
        .raw(
            "POST",
            "/tsa",
            &[("Content-Type", "application/timestamp-query")],
            query,
        )
        .await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.headers["content-type"].to_str().unwrap(),
        "application/timestamp-reply"
    );
    std::fs::write(d.join("r.tsr"), &resp.body).unwrap();
    let out = openssl_ok(
        d,
        &[
            "ts", "-verify", "-in", "r.tsr", "-data", "data.txt", "-CAfile", ca,
        ],
    );
    assert!(out.contains("Verification: OK"), "{out}");
    // Against the query too: nonce, imprint and policy-free request all match.
    openssl_ok(
        d,
        &[
            "ts",
            "-verify",
            "-in",
            "r.tsr",
            "-queryfile",
            "q.tsq",
            "-CAfile",
            ca,
        ],
    );
    let reply = openssl_ok(d, &["ts", "-reply", "-in", "r.tsr", "-text"]);
    assert!(reply.contains("Status: Granted"), "{reply}");
    assert!(reply.contains("Accuracy: 0x01 seconds"), "{reply}");
    assert!(reply.contains("Nonce: 0x"), "{reply}");
    // Other data does not verify.
    std::fs::write(d.join("other.txt"), b"The quick brown fix").unwrap();
    let (ok, _) = openssl(
        d,
        &[
            "ts",
            "-verify",
            "-in",
            "r.tsr",
            "-data",
            "other.txt",
            "-CAfile",
            ca,
        ],
    );
    assert!(!ok, "a token verified over other data");

    // One flipped byte inside the token breaks it.
    openssl_ok(
        d,
        &[
            "ts",
            "-reply",
            "-in",
            "r.tsr",
            "-token_out",
            "-out",
            "tok.der",
        ],
    );
    let token = std::fs::read(d.join("tok.der")).unwrap();
    for at in [token.len() / 3, token.len() - 10] {
        let mut bad = token.clone();
        bad[at] ^= 0x01;
        std::fs::write(d.join("bad.der"), &bad).unwrap();
        let (ok, out) = openssl(
            d,
            &[
                "ts",
                "-verify",
                "-in",
                "bad.der",
                "-token_in",
                "-data",
                "data.txt",
                "-CAfile",
                ca,
            ],
        );
        assert!(!ok, "a tampered token (byte {at}) verified:\n{out}");
    }
    if let Some(python) = common::interop::interop().map(|t| t.python()) {
        rfc3161_client_accepts(
            &python,
            &d.join("tok.der"),
            &d.join("data.txt"),
            &server.ca_pem(),
            None,
        );
    }

    // Garbage and SHA-1 get RFC 3161 rejections, not HTTP errors.
    for (body, failure) in [
        (b"not a request".to_vec(), "wrong format"),
        (Vec::new(), "wrong format"),
    ] {
        let resp = server
            .raw(
                "POST",
                "/tsa",
                &[("Content-Type", "application/timestamp-query")],
                body,
            )
            .await;
        assert_eq!(resp.status, 200);
        std::fs::write(d.join("rej.tsr"), &resp.body).unwrap();
        let reply = openssl_ok(d, &["ts", "-reply", "-in", "rej.tsr", "-text"]);
        assert!(reply.contains("Status: Rejected"), "{reply}");
        assert!(reply.to_lowercase().contains(failure), "{reply}");
    }
    openssl_ok(
        d,
        &[
            "ts", "-query", "-data", "data.txt", "-sha1", "-out", "q1.tsq",
        ],
    );
    let resp = server
        .raw(
            "POST",
            "/tsa",
            &[("Content-Type", "application/timestamp-query")],
            std::fs::read(d.join("q1.tsq")).unwrap(),
        )
        .await;
    std::fs::write(d.join("rej.tsr"), &resp.body).unwrap();
    let reply = openssl_ok(d, &["ts", "-reply", "-in", "rej.tsr", "-text"]);
    assert!(
        reply.contains("unrecognized or unsupported algorithm"),
        "{reply}"
    );

    // The TSA was created once, with an audit record.
    let audit = server.audit_export();
    assert_eq!(
        audit.iter().filter(|r| r["kind"] == "tsa.create").count(),
        1,
        "{audit:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csc_timestamp_v1_and_v2() {
    let server = Server::start();
    let user = server.add_user("stamper");
    let token = server.login(&user).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = b"document to be time-stamped";
    std::fs::write(d.join("data.bin"), data).unwrap();

    let (status, info) = server.post("/csc/v2/info", None, &json!({})).await;
    assert_eq!(status, 200);
    assert!(
        info["methods"]
            .as_array()
            .unwrap()
            .contains(&json!("signatures/timestamp")),
        "{info}"
    );

    let nonce: u128 = 0x00c0_ffee_1234_5678_9abc_def0_1122_3344;
    let body = json!({
        "hash": b64(&sha256(data)),
        "hashAlgo": SHA256,
        "nonce": format!("{nonce:032x}"),
        "clientData": "ignored",
    });
    // A Bearer token is required.
    let reply = server
        .post("/csc/v2/signatures/timestamp", None, &body)
        .await;
    assert_eq!(reply.0, 401, "{}", reply.1);
    let (status, v) = server
        .post("/csc/v2/signatures/timestamp", Some(&token), &body)
        .await;
    assert_eq!(status, 200, "{v}");
    let tst = unb64(v["timestamp"].as_str().expect("timestamp"));
    std::fs::write(d.join("token.der"), &tst).unwrap();
    let ca = server.ca_pem();
    let out = openssl_ok(
        d,
        &[
            "ts",
            "-verify",
            "-in",
            "token.der",
            "-token_in",
            "-data",
            "data.bin",
            "-CAfile",
            ca.to_str().unwrap(),
        ],
    );
    assert!(out.contains("Verification: OK"), "{out}");
    let printed = openssl_ok(
        d,
        &["ts", "-reply", "-in", "token.der", "-token_in", "-text"],
    );
    assert!(
        printed.to_lowercase().contains(&format!("{nonce:x}")),
        "nonce in the token:\n{printed}"
    );
    if let Some((kit, python)) = common::interop::interop().map(|t| (t.validate_sh(), t.python())) {
        let out = run(Command::new("bash")
            .arg(&kit)
            .args(["tst"])
            .arg(d.join("token.der"))
            .arg(d.join("data.bin"))
            .arg(&ca));
        assert!(out.status.success(), "validate.sh tst:\n{}", text(&out));
        rfc3161_client_accepts(
            &python,
            &d.join("token.der"),
            &d.join("data.bin"),
            &ca,
            Some(nonce),
        );
    }

    // v1, with the v2 spelling hashAlgorithmOID and SHA-512, no nonce.
    let (status, v) = server
        .post(
            "/csc/v1/signatures/timestamp",
            Some(&token),
            &json!({ "hash": b64(&digest(SHA512, data)), "hashAlgorithmOID": SHA512 }),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    std::fs::write(
        d.join("token512.der"),
        unb64(v["timestamp"].as_str().unwrap()),
    )
    .unwrap();
    openssl_ok(
        d,
        &[
            "ts",
            "-verify",
            "-in",
            "token512.der",
            "-token_in",
            "-data",
            "data.bin",
            "-CAfile",
            ca.to_str().unwrap(),
        ],
    );

    // Bad input: 400 invalid_request.
    let h = b64(&sha256(data));
    for bad in [
        json!({ "hashAlgo": SHA256 }),
        json!({ "hash": "", "hashAlgo": SHA256 }),
        json!({ "hash": "%%%", "hashAlgo": SHA256 }),
        json!({ "hash": b64(&[1; 20]), "hashAlgo": SHA256 }),
        json!({ "hash": h, "hashAlgo": SHA384 }),
        json!({ "hash": h }),
        json!({ "hash": h, "hashAlgo": "1.3.14.3.2.26" }),
        json!({ "hash": h, "hashAlgo": SHA256, "nonce": "xyz" }),
        json!({ "hash": h, "hashAlgo": SHA256, "nonce": "abc" }),
        json!({ "hash": h, "hashAlgo": SHA256, "nonce": "" }),
        json!({ "hash": h, "hashAlgo": SHA256, "nonce": 12 }),
    ] {
        for version in ["v1", "v2"] {
            let reply = server
                .post(
                    &format!("/csc/{version}/signatures/timestamp"),
                    Some(&token),
                    &bad,
                )
                .await;
            expect_error(&reply, 400, "invalid_request");
        }
    }
}

/// GET /ca/crl, written to `dir/name`; `openssl crl` must verify it with the CA. Returns its
/// text form.
async fn fetch_crl(server: &Server, dir: &Path, name: &str, ca: &str) -> String {
    let resp = server.raw("GET", "/ca/crl", &[], vec![]).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.headers["content-type"], "application/pkix-crl");
    std::fs::write(dir.join(name), &resp.body).unwrap();
    let out = openssl_ok(
        dir,
        &[
            "crl", "-inform", "DER", "-in", name, "-CAfile", ca, "-noout", "-text",
        ],
    );
    assert!(out.contains("verify OK"), "{out}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crl_ocsp_and_revocation() {
    let server = Server::start();
    let user = server.add_user("revokee");
    let cred = server.create_credential(&user, "12345678", &[]);
    let token = server.login(&user).await;
    let leaf = server.certificate(&token, &cred).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_pem(d, "leaf.pem", &leaf);
    let ca_path = server.ca_pem();
    let ca = ca_path.to_str().unwrap();
    let url = &server.url;

    // The certificate names this server for its CRL, OCSP responder and issuer.
    let x509 = openssl_ok(d, &["x509", "-in", "leaf.pem", "-noout", "-text"]);
    assert!(x509.contains(&format!("URI:{url}/ca/crl")), "{x509}");
    assert!(x509.contains(&format!("OCSP - URI:{url}/ocsp")), "{x509}");
    assert!(
        x509.contains(&format!("CA Issuers - URI:{url}/ca/cert")),
        "{x509}"
    );

    // /ca/cert is the CA certificate.
    let resp = server.raw("GET", "/ca/cert", &[], vec![]).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.headers["content-type"], "application/pkix-cert");
    std::fs::write(d.join("ca.der"), &resp.body).unwrap();
    let fetched = openssl_ok(
        d,
        &[
            "x509",
            "-inform",
            "DER",
            "-in",
            "ca.der",
            "-noout",
            "-fingerprint",
            "-sha256",
        ],
    );
    let local = openssl_ok(d, &["x509", "-in", ca, "-noout", "-fingerprint", "-sha256"]);
    assert_eq!(fetched, local);

    // /ca/crl verifies with the CA and is empty.
    let before = fetch_crl(&server, d, "before.crl", ca).await;
    assert!(before.contains("No Revoked Certificates"), "{before}");

    // OCSP over POST (what `openssl ocsp -url` sends): good, nonce checked.
    let ocsp = || {
        openssl_ok(
            d,
            &[
                "ocsp",
                "-issuer",
                ca,
                "-cert",
                "leaf.pem",
                "-url",
                &format!("{url}/ocsp"),
                "-CAfile",
                ca,
            ],
        )
    };
    let out = ocsp();
    assert!(out.contains("leaf.pem: good"), "{out}");
    assert!(out.contains("Response verify OK"), "{out}");
    assert!(!out.contains("WARNING"), "{out}");

    // OCSP over GET (RFC 6960 A.1).
    openssl_ok(
        d,
        &[
            "ocsp",
            "-issuer",
            ca,
            "-cert",
            "leaf.pem",
            "-no_nonce",
            "-reqout",
            "req.der",
        ],
    );
    let req = std::fs::read(d.join("req.der")).unwrap();
    let path = format!(
        "/ocsp/{}",
        b64(&req)
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D")
    );
    let resp = server.raw("GET", &path, &[], vec![]).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.headers["content-type"], "application/ocsp-response");
    std::fs::write(d.join("resp.der"), &resp.body).unwrap();
    let out = openssl_ok(
        d,
        &[
            "ocsp",
            "-respin",
            "resp.der",
            "-issuer",
            ca,
            "-cert",
            "leaf.pem",
            "-CAfile",
            ca,
            "-no_nonce",
        ],
    );
    assert!(out.contains("leaf.pem: good"), "{out}");
    // Wrong media type on POST: 415.
    let resp = server
        .raw("POST", "/ocsp", &[("Content-Type", "text/plain")], req)
        .await;
    assert_eq!(resp.status, 415);
    // Garbage: an OCSP malformedRequest, status 200.
    let resp = server
        .raw(
            "POST",
            "/ocsp",
            &[("Content-Type", "application/ocsp-request")],
            b"junk".to_vec(),
        )
        .await;
    assert_eq!(
        (resp.status, resp.body.as_slice()),
        (200, &[0x30, 0x03, 0x0a, 0x01, 0x01][..])
    );

    // Revoke: OCSP says revoked, the CRL lists it, the credential is disabled for good.
    server.cli_ok(
        &[
            "admin",
            "credential",
            "revoke",
            &cred,
            "--reason",
            "keyCompromise",
        ],
        &[],
    );
    let out = ocsp();
    assert!(out.contains("leaf.pem: revoked"), "{out}");
    assert!(out.contains("Reason: keyCompromise"), "{out}");
    let after = fetch_crl(&server, d, "after.crl", ca).await;
    let serial = openssl_ok(d, &["x509", "-in", "leaf.pem", "-noout", "-serial"]);
    let serial = serial.trim().trim_start_matches("serial=");
    assert!(after.contains(serial), "serial {serial} in\n{after}");
    assert!(after.contains("Key Compromise"), "{after}");
    let number = |t: &str| {
        t.lines()
            .skip_while(|l| !l.contains("CRL Number"))
            .nth(1)
            .map(|l| l.trim().to_string())
            .unwrap()
    };
    assert!(number(&after) != number(&before), "a new CRL number");

    let list = server.cli_ok(&["admin", "credential", "list", "--json"], &[]);
    assert!(list.contains("\"disabled\""), "{list}");
    let out = server.cli(&["admin", "credential", "enable", &cred], &[]);
    assert!(!out.status.success(), "a revoked credential was re-enabled");
    let again = server.cli(&["admin", "credential", "revoke", &cred], &[]);
    assert!(!again.status.success(), "revoked twice");
    let bad_reason = server.cli(
        &["admin", "credential", "revoke", &cred, "--reason", "bored"],
        &[],
    );
    assert!(!bad_reason.status.success());
    let audit = server.audit_export();
    let revoke: Vec<_> = audit
        .iter()
        .filter(|r| r["kind"] == "credential.revoke")
        .collect();
    assert_eq!(revoke.len(), 1, "{audit:?}");
    assert_eq!(revoke[0]["credential_id"], json!(cred));
    // Signing is refused.
    let (status, body) = server
        .authorize(
            &token,
            &cred,
            1,
            Some(&[sha256(b"x")]),
            Some(SHA256),
            "12345678",
            Some(&server.fresh_otp(&user)),
        )
        .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_tsa_by_url() {
    // Server A runs the built-in TSA; server B is configured to use A's /tsa.
    let a = Server::start();
    let b = Server::start_with_env(&[("SIGNET_TSA__URL", &format!("{}/tsa", a.url))]);
    let user = b.add_user("ext");
    let token = b.login(&user).await;
    let data = b"stamped elsewhere";
    let (status, v) = b
        .post(
            "/csc/v2/signatures/timestamp",
            Some(&token),
            &json!({ "hash": b64(&sha256(data)), "hashAlgo": SHA256, "nonce": "0a0b0c" }),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("data.bin"), data).unwrap();
    std::fs::write(d.join("t.der"), unb64(v["timestamp"].as_str().unwrap())).unwrap();
    // Signed by A's TSA: verifies with A's CA, not with B's.
    let args = |ca: &Path| {
        vec![
            "ts".to_string(),
            "-verify".into(),
            "-in".into(),
            "t.der".into(),
            "-token_in".into(),
            "-data".into(),
            "data.bin".into(),
            "-CAfile".into(),
            ca.display().to_string(),
        ]
    };
    let a_args = args(&a.ca_pem());
    let a_refs: Vec<&str> = a_args.iter().map(String::as_str).collect();
    openssl_ok(d, &a_refs);
    let b_args = args(&b.ca_pem());
    let b_refs: Vec<&str> = b_args.iter().map(String::as_str).collect();
    assert!(!openssl(d, &b_refs).0);
    // B does not serve /tsa itself.
    let resp = b
        .raw(
            "POST",
            "/tsa",
            &[("Content-Type", "application/timestamp-query")],
            vec![],
        )
        .await;
    assert_eq!(resp.status, 404);
    // An unreachable external TSA is a clear error, not a hang or a 500.
    drop(a);
    let (status, v) = b
        .post(
            "/csc/v2/signatures/timestamp",
            Some(&token),
            &json!({ "hash": b64(&sha256(data)), "hashAlgo": SHA256 }),
        )
        .await;
    assert_eq!(status, 502, "{v}");
    let text = v["error_description"].as_str().unwrap();
    assert!(
        text.contains("external TSA") && text.contains("/tsa"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_tsa_over_https() {
    // A is a Signet serving HTTPS (its built-in TSA at https://127.0.0.1:PORT/tsa); B trusts
    // A's TLS server CA through SSL_CERT_FILE and nothing else.
    let tls = common::pki::TestPki::new();
    let a = Server::start_tls(&tls, false, false, &[]);
    let tsa_url = format!("{}/tsa", a.url);
    let ca_file = tls.path("server-ca.pem").display().to_string();
    let b = Server::start_with_env(&[
        ("SIGNET_TSA__URL", tsa_url.as_str()),
        ("SSL_CERT_FILE", ca_file.as_str()),
    ]);
    let user = b.add_user("tlsstamp");
    let token = b.login(&user).await;
    let body = json!({ "hash": b64(&sha256(b"x")), "hashAlgo": SHA256 });
    let (status, v) = b
        .post("/csc/v2/signatures/timestamp", Some(&token), &body)
        .await;
    assert_eq!(status, 200, "{v}");
    let info = unb64(v["timestamp"].as_str().unwrap());
    assert!(!info.is_empty());

    // Without A's TLS CA the handshake fails, and says so.
    let rogue = tls.path("rogue-ca.pem").display().to_string();
    let c = Server::start_with_env(&[
        ("SIGNET_TSA__URL", tsa_url.as_str()),
        ("SSL_CERT_FILE", rogue.as_str()),
    ]);
    let user = c.add_user("tlsstamp");
    let token = c.login(&user).await;
    let (status, v) = c
        .post("/csc/v2/signatures/timestamp", Some(&token), &body)
        .await;
    assert_eq!(status, 502, "{v}");
    let text = v["error_description"].as_str().unwrap();
    assert!(text.contains("TLS"), "{text}");
}

/// The TSA certificate of the built-in TSA, from a time-stamp token it issued (PEM file
/// `tsa.pem` in `d`).
async fn tsa_certificate_pem(server: &Server, d: &Path) {
    std::fs::write(d.join("tsa-data.txt"), b"which TSA").unwrap();
    openssl_ok(
        d,
        &[
            "ts",
            "-query",
            "-data",
            "tsa-data.txt",
            "-sha256",
            "-cert",
            "-out",
            "t.tsq",
        ],
    );
    let resp = server
        .raw(
            "POST",
            "/tsa",
            &[("Content-Type", "application/timestamp-query")],
            std::fs::read(d.join("t.tsq")).unwrap(),
        )
        .await;
    assert_eq!(resp.status, 200);
    std::fs::write(d.join("t.tsr"), &resp.body).unwrap();
    openssl_ok(
        d,
        &[
            "ts",
            "-reply",
            "-in",
            "t.tsr",
            "-token_out",
            "-out",
            "t.der",
        ],
    );
    let certs = openssl_ok(
        d,
        &["pkcs7", "-inform", "DER", "-in", "t.der", "-print_certs"],
    );
    let tsa = certs
        .split("-----END CERTIFICATE-----")
        .find(|block| block.contains("Time-Stamping"))
        .and_then(|block| {
            block
                .find("-----BEGIN CERTIFICATE-----")
                .map(|at| &block[at..])
        })
        .expect("the TSA certificate in the token");
    std::fs::write(
        d.join("tsa.pem"),
        format!("{tsa}-----END CERTIFICATE-----\n"),
    )
    .unwrap();
}

/// The outside probe found `good` for serial numbers the CA never issued. OCSP now answers from
/// the issued-certificate list: `good` for the CA's own certificate, a signer's and the TSA's,
/// `unknown` for any other serial; and at most 100 CertIDs per request (more:
/// `malformedRequest`).
#[tokio::test]
async fn ocsp_answers_unknown_for_serials_never_issued() {
    let server = Server::start();
    let user = server.add_user("ocsp");
    let cred = server.create_credential(&user, "12345678", &[]);
    let token = server.login(&user).await;
    let leaf = server.certificate(&token, &cred).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_pem(d, "leaf.pem", &leaf);
    tsa_certificate_pem(&server, d).await;
    let ca = server.ca_pem();
    let ca = ca.to_str().unwrap();
    let url = format!("{}/ocsp", server.url);
    let out = openssl_ok(
        d,
        &[
            "ocsp",
            "-issuer",
            ca,
            "-cert",
            "leaf.pem",
            "-cert",
            ca,
            "-cert",
            "tsa.pem",
            "-serial",
            "0x0123456789abcdef",
            "-serial",
            "0x01",
            "-url",
            &url,
            "-CAfile",
            ca,
        ],
    );
    assert!(out.contains("Response verify OK"), "{out}");
    assert!(out.contains("leaf.pem: good"), "{out}");
    assert!(out.contains(&format!("{ca}: good")), "{out}");
    assert!(out.contains("tsa.pem: good"), "{out}");
    assert!(out.contains("0x0123456789abcdef: unknown"), "{out}");
    assert!(out.contains("0x01: unknown"), "{out}");

    // 100 CertIDs are answered, 101 are a malformedRequest.
    let serials: Vec<String> = (1..=101).map(|i| format!("0x{i:x}")).collect();
    let request = |n: usize| {
        let mut args = vec!["ocsp", "-issuer", ca, "-no_nonce", "-reqout", "many.der"];
        for s in &serials[..n] {
            args.extend(["-serial", s.as_str()]);
        }
        openssl_ok(d, &args);
        std::fs::read(d.join("many.der")).unwrap()
    };
    let resp = server
        .raw(
            "POST",
            "/ocsp",
            &[("Content-Type", "application/ocsp-request")],
            request(101),
        )
        .await;
    assert_eq!(
        (resp.status, resp.body.as_slice()),
        (200, &[0x30, 0x03, 0x0a, 0x01, 0x01][..]),
        "malformedRequest"
    );
    let resp = server
        .raw(
            "POST",
            "/ocsp",
            &[("Content-Type", "application/ocsp-request")],
            request(100),
        )
        .await;
    assert_eq!(resp.status, 200);
    std::fs::write(d.join("many-resp.der"), &resp.body).unwrap();
    let out = openssl_ok(
        d,
        &[
            "ocsp",
            "-respin",
            "many-resp.der",
            "-resp_text",
            "-noverify",
        ],
    );
    assert_eq!(out.matches("Cert Status: unknown").count(), 100, "{out}");
    assert_eq!(out.matches("Cert Status: good").count(), 0, "{out}");
}
