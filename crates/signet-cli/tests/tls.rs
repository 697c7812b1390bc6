//! HTTPS and mutual TLS (issue 6): full CSC v2 flows over TLS 1.3 and over TLS 1.2, TLS 1.1
//! refused, client certificates mapped to an e-seal client (CSC `authType` "TLS"), unknown
//! certificates refused, Bearer tokens still working, and clear start-up errors.

mod common;

use common::pki::{BOTH, TestPki};
use common::*;
use serde_json::json;

/// login, authorize (SCAL2, 2 hashes), signHash, verify both signatures, over `server.http`.
async fn full_flow(server: &Server, user: &TestUser, cred: &str) {
    let token = server.login(user).await;
    let data: [&[u8]; 2] = [b"over TLS one", b"over TLS two"];
    let hashes: Vec<Vec<u8>> = data.iter().map(|d| sha256(d)).collect();
    let otp = server.fresh_otp(user);
    let sad = server
        .sad(
            &token,
            cred,
            2,
            Some(&hashes),
            Some(SHA256),
            "1234",
            Some(&otp),
        )
        .await;
    let sigs = signatures(
        &server
            .sign_hash(&token, cred, &sad, &hashes, ECDSA_SHA256, json!({}))
            .await,
    );
    let cert = server.certificate(&token, cred).await;
    for (sig, message) in sigs.iter().zip(data) {
        verify(&cert, ECDSA_SHA256, SHA256, message, sig).expect("signature verifies");
    }
}

#[tokio::test]
async fn csc_flow_over_tls13_and_tls12() {
    let pki = TestPki::new();
    let mut server = Server::start_tls(&pki, false, false, &[]);
    let alice = server.add_user("alice");
    let cred = server.create_credential(&alice, "1234", &["--multisign", "2"]);
    // Without client certificates configured, info does not offer authType TLS, and the
    // OAuth2 issuer derived from the bound address is https.
    let (status, info) = server.post("/csc/v2/info", None, &json!({})).await;
    assert_eq!(status, 200, "{info}");
    assert!(
        !info["authType"]
            .as_array()
            .expect("authType")
            .contains(&json!("TLS")),
        "{info}"
    );
    assert!(
        info["oauth2Issuer"]
            .as_str()
            .expect("issuer")
            .starts_with("https://"),
        "{info}"
    );
    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        // A client that speaks only this version: success means it was negotiated.
        server.http = pki.http_client(&[version], None);
        full_flow(&server, &alice, &cred).await;
    }
    // The same with an independent client, which also reports the negotiated protocol.
    for (flag, expected) in [("-tls1_3", "TLSv1.3"), ("-tls1_2", "TLSv1.2")] {
        let out = s_client(&server, &pki, &[flag]);
        assert!(
            out.contains(&format!("Protocol  : {expected}"))
                || out.contains(&format!("New, {expected}")),
            "openssl s_client {flag}: {out}"
        );
    }
}

/// Runs `openssl s_client` against the server and returns its standard output and error.
fn s_client(server: &Server, pki: &TestPki, extra: &[&str]) -> String {
    let mut args = vec![
        "s_client".to_string(),
        "-connect".into(),
        server.addr(),
        "-CAfile".into(),
        pki.path("server-ca.pem").display().to_string(),
        "-verify_return_error".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = std::process::Command::new("openssl")
        .args(&args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssl s_client");
    format!(
        "status {}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test]
async fn tls11_and_older_are_refused() {
    let pki = TestPki::new();
    let server = Server::start_tls(&pki, false, false, &[]);
    // Control: the same command line with TLS 1.2 connects, so a TLS 1.1 failure is the
    // server's refusal and not the local OpenSSL policy (SECLEVEL=0 lets the client offer it).
    let ok = s_client(&server, &pki, &["-tls1_2", "-cipher", "DEFAULT@SECLEVEL=0"]);
    assert!(
        ok.contains("status exit status: 0"),
        "TLS 1.2 control: {ok}"
    );
    for flag in ["-tls1_1", "-tls1"] {
        let out = s_client(&server, &pki, &[flag, "-cipher", "DEFAULT@SECLEVEL=0"]);
        assert!(
            !out.contains("status exit status: 0"),
            "{flag} accepted: {out}"
        );
        // rustls answers a ClientHello without TLS 1.2 or 1.3 with a handshake_failure alert.
        assert!(
            out.contains("alert handshake failure") || out.contains("alert protocol version"),
            "{flag} refused for another reason: {out}"
        );
        assert!(!out.contains("BEGIN CERTIFICATE") && out.contains("no peer certificate"));
    }
}

#[tokio::test]
async fn mutual_tls_maps_client_certificates_to_an_eseal_client() {
    let pki = TestPki::new();
    let mut server = Server::start_tls(&pki, true, false, &[]);
    let seal = server.add_user("acme-seal");
    let cred = server.create_credential(&seal, "1234", &["--scal", "1"]);
    let registered = pki.client("acme-app");
    let unregistered = pki.client("other-app");
    let rogue = pki.rogue_client("acme-app");
    let out = server.cli_ok(
        &[
            "admin",
            "client",
            "add",
            "ACME e-seal",
            "--user",
            "acme-seal",
            "--tls-certificate",
            registered.0.to_str().expect("path"),
            "--json",
        ],
        &[],
    );
    let client: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert!(
        client["client_secret"].is_null(),
        "TLS clients get no secret: {out}"
    );
    let listed = server.cli_ok(&["admin", "client", "list", "--json"], &[]);
    let expected_sha = {
        let der = rustls_pem_der(&registered.0);
        data_encoding::HEXLOWER.encode(&sha256(&der))
    };
    assert!(listed.contains(&expected_sha), "{listed}");
    // One certificate cannot be registered for two clients.
    let twice = server.cli(
        &[
            "admin",
            "client",
            "add",
            "Twin",
            "--user",
            "acme-seal",
            "--tls-certificate",
            registered.0.to_str().expect("path"),
        ],
        &[],
    );
    assert!(!twice.status.success());
    assert!(
        String::from_utf8_lossy(&twice.stderr).contains("TLS certificate"),
        "{}",
        String::from_utf8_lossy(&twice.stderr)
    );

    // info advertises TLS client authentication.
    let (_, info) = server.post("/csc/v2/info", None, &json!({})).await;
    assert!(
        info["authType"]
            .as_array()
            .expect("authType")
            .contains(&json!("TLS")),
        "{info}"
    );

    // The registered certificate, no Bearer token: acts for acme-seal, end to end.
    server.http = pki.http_client(BOTH, Some(&registered));
    let (status, body) = server
        .post("/csc/v2/credentials/list", None, &json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["credentialIDs"], json!([cred]), "{body}");
    let (status, body) = server
        .post(
            "/csc/v2/credentials/authorize",
            None,
            &json!({ "credentialID": cred, "numSignatures": 1, "authData": [{"id": "PIN", "value": "1234"}] }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let sad = body["SAD"].as_str().expect("SAD").to_string();
    let digest = sha256(b"sealed over mutual TLS");
    let (status, body) = server
        .post(
            "/csc/v2/signatures/signHash",
            None,
            &json!({ "credentialID": cred, "SAD": sad, "hashes": [b64(&digest)], "signAlgo": ECDSA_SHA256 }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // The PIN still guards the key: the certificate only authenticates the service client.
    let reply = server
        .post(
            "/csc/v2/credentials/authorize",
            None,
            &json!({ "credentialID": cred, "numSignatures": 1, "authData": [{"id": "PIN", "value": "9999"}] }),
        )
        .await;
    expect_error(&reply, 400, "invalid_authentication_data");

    // A certificate from the trusted CA that no client registered: the handshake succeeds,
    // the request gets 401.
    server.http = pki.http_client(BOTH, Some(&unregistered));
    let reply = server
        .post("/csc/v2/credentials/list", None, &json!({}))
        .await;
    expect_error(&reply, 401, "invalid_client");

    // A certificate from an untrusted CA (even with the registered name): the handshake fails.
    server.http = pki.http_client(BOTH, Some(&rogue));
    let refused = server
        .http
        .post(format!("{}/csc/v2/credentials/list", server.url))
        .json(&json!({}))
        .send()
        .await;
    assert!(refused.is_err(), "untrusted client certificate accepted");

    // No certificate (not required): Bearer tokens work as without mutual TLS.
    server.http = pki.http_client(BOTH, None);
    let reply = server
        .post("/csc/v2/credentials/list", None, &json!({}))
        .await;
    expect_error(&reply, 401, "invalid_request");
    let token = server.login(&seal).await;
    let (status, body) = server
        .post("/csc/v2/credentials/list", Some(&token), &json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    // A Bearer token wins over a registered certificate on the same connection.
    server.http = pki.http_client(BOTH, Some(&registered));
    let reply = server
        .post(
            "/csc/v2/credentials/list",
            Some("bm90LWEtdG9rZW4"),
            &json!({}),
        )
        .await;
    expect_error(&reply, 401, "invalid_token");

    // Every step is audited, the client registration with the certificate's hash.
    let audit = server.audit_export();
    let created = audit
        .iter()
        .find(|r| r["kind"] == "oauth2.client.create")
        .expect("client registration audited");
    assert!(
        created["detail"]
            .as_str()
            .expect("detail")
            .contains(&expected_sha),
        "{created}"
    );
}

/// The DER of the first certificate in a PEM file.
fn rustls_pem_der(path: &std::path::Path) -> Vec<u8> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    CertificateDer::from_pem_file(path)
        .expect("certificate PEM")
        .to_vec()
}

#[tokio::test]
async fn required_client_certificate_refuses_handshakes_without_one() {
    let pki = TestPki::new();
    let mut server = Server::start_tls(&pki, true, true, &[]);
    let refused = server
        .http
        .get(format!("{}/healthz", server.url))
        .send()
        .await;
    assert!(refused.is_err(), "handshake without a certificate accepted");
    let identity = pki.client("any-app");
    server.http = pki.http_client(BOTH, Some(&identity));
    let resp = server
        .http
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .expect("with a certificate");
    assert_eq!(resp.status().as_u16(), 200);
}

#[test]
fn tls_start_up_errors_name_the_file() {
    let pki = TestPki::new();
    let data = tempfile::tempdir().expect("tempdir");
    let run = |env: &[(&str, String)]| {
        let mut cmd = std::process::Command::new(SIGNET);
        cmd.arg("--data")
            .arg(data.path())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_remove("SIGNET_MASTER_KEY");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("signet serve");
        assert!(!out.status.success(), "serve started with a bad TLS setup");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let cert = pki.path("server.pem").display().to_string();
    let key = pki.path("server.key").display().to_string();
    let missing = pki.path("missing.pem").display().to_string();
    let err = run(&[
        ("SIGNET_TLS__CERTIFICATE", missing.clone()),
        ("SIGNET_TLS__KEY", key.clone()),
    ]);
    assert!(
        err.contains(&missing) && err.contains("certificate"),
        "{err}"
    );
    let err = run(&[
        ("SIGNET_TLS__CERTIFICATE", cert.clone()),
        ("SIGNET_TLS__KEY", cert.clone()),
    ]);
    assert!(err.contains(&cert) && err.contains("key"), "{err}");
    // A key that belongs to another certificate.
    let other_key = pki.path("client-ca.key").display().to_string();
    let err = run(&[
        ("SIGNET_TLS__CERTIFICATE", cert.clone()),
        ("SIGNET_TLS__KEY", other_key.clone()),
    ]);
    assert!(err.contains(&other_key), "{err}");
    let err = run(&[("SIGNET_TLS__CERTIFICATE", cert.clone())]);
    assert!(err.contains("tls.key"), "{err}");
    let err = run(&[
        ("SIGNET_TLS__CERTIFICATE", cert),
        ("SIGNET_TLS__KEY", key),
        ("SIGNET_TLS__CLIENT_CA", missing.clone()),
    ]);
    assert!(err.contains(&missing) && err.contains("client CA"), "{err}");
}
