//! Operations (issue 6): /healthz, /readyz, Prometheus /metrics with exact counts after a known
//! sequence, the separate metrics listener, request IDs in headers and JSON logs, and graceful
//! shutdown draining in-flight requests over HTTP and HTTPS.

mod common;

use std::time::{Duration, Instant};

use common::pki::{BOTH, TestPki};
use common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn health_readiness_and_metrics_after_a_known_sequence() {
    let server = Server::start();
    for path in ["/healthz", "/readyz"] {
        let resp = server.raw("GET", path, &[], vec![]).await;
        assert_eq!(resp.status, 200, "{path}");
        assert_eq!(resp.body, b"ok", "{path}");
    }
    let alice = server.add_user("alice");
    let cred = server.create_credential(&alice, "2468", &["--multisign", "2"]);
    let token = server.login(&alice).await;
    let hashes = [sha256(b"metric one"), sha256(b"metric two")];

    // 1 wrong PIN, 1 authorize, 1 signHash of 2 hashes.
    let otp = server.fresh_otp(&alice);
    let reply = server
        .authorize(
            &token,
            &cred,
            2,
            Some(&hashes),
            Some(SHA256),
            "0000",
            Some(&otp),
        )
        .await;
    expect_error(&reply, 400, "invalid_authentication_data");
    let otp = server.fresh_otp(&alice);
    let sad = server
        .sad(
            &token,
            &cred,
            2,
            Some(&hashes),
            Some(SHA256),
            "2468",
            Some(&otp),
        )
        .await;
    signatures(
        &server
            .sign_hash(&token, &cred, &sad, &hashes, ECDSA_SHA256, json!({}))
            .await,
    );
    // Paths that must not become label values.
    server
        .raw("POST", "/csc/v2/no/such-method-42", &[], vec![])
        .await;
    server.raw("GET", "/no/such/path-4711", &[], vec![]).await;

    let text = server.metrics().await;
    let backend = key_backend();
    let expect = |name: &str, labels: &[(&str, &str)], value: f64| {
        assert_eq!(
            metric(&text, name, labels),
            Some(value),
            "{name}{labels:?} in\n{text}"
        );
    };
    expect(
        "signet_signatures_total",
        &[("algorithm", "ecdsa-sha256"), ("backend", &backend)],
        2.0,
    );
    expect(
        "signet_authorization_failures_total",
        &[("reason", "invalid_pin")],
        1.0,
    );
    expect("signet_sad_issued_total", &[], 1.0);
    expect("signet_sad_spent_total", &[], 1.0);
    expect("signet_sad_expired_total", &[], 0.0);
    expect(
        "signet_http_requests_total",
        &[("route", "/csc/v2/signatures/signHash"), ("status", "200")],
        1.0,
    );
    expect(
        "signet_http_requests_total",
        &[
            ("route", "/csc/v2/credentials/authorize"),
            ("status", "400"),
        ],
        1.0,
    );
    expect(
        "signet_http_requests_total",
        &[
            ("route", "/csc/v2/credentials/authorize"),
            ("status", "200"),
        ],
        1.0,
    );
    expect(
        "signet_http_requests_total",
        &[("route", "/csc/{version}/{*method}"), ("status", "404")],
        1.0,
    );
    expect(
        "signet_http_requests_total",
        &[("route", "unmatched"), ("status", "404")],
        1.0,
    );
    expect(
        "signet_http_requests_total",
        &[("route", "/readyz"), ("status", "200")],
        1.0,
    );
    expect(
        "signet_http_request_duration_seconds_count",
        &[("route", "/csc/v2/signatures/signHash")],
        1.0,
    );
    expect(
        "signet_http_request_duration_seconds_bucket",
        &[("route", "/csc/v2/signatures/signHash"), ("le", "+Inf")],
        1.0,
    );
    expect(
        "signet_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1.0,
    );
    assert!(!text.contains("such-method-42") && !text.contains("path-4711"));
    for secret in [sad.as_str(), token.as_str()] {
        assert!(!text.contains(secret), "a secret in /metrics");
    }
}

#[tokio::test]
async fn expired_sads_are_counted() {
    let server = Server::start_with_env(&[("SIGNET_SAM__SAD_LIFETIME_SECONDS", "1")]);
    let bob = server.add_user("bob");
    let cred = server.create_credential(&bob, "1357", &["--scal", "1"]);
    let token = server.login(&bob).await;
    let sad = server.sad(&token, &cred, 1, None, None, "1357", None).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let reply = server
        .sign_hash(
            &token,
            &cred,
            &sad,
            &[sha256(b"late")],
            ECDSA_SHA256,
            json!({}),
        )
        .await;
    assert_eq!(reply.0, 400, "{}", reply.1);
    let text = server.metrics().await;
    assert_eq!(
        metric(&text, "signet_sad_expired_total", &[]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            "signet_authorization_failures_total",
            &[("reason", "expired_sad")]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        metric(&text, "signet_sad_spent_total", &[]),
        Some(0.0),
        "{text}"
    );
}

#[tokio::test]
async fn separate_metrics_listener_keeps_metrics_off_the_main_one() {
    let server = Server::start_with_env(&[("SIGNET_METRICS__LISTEN", "127.0.0.1:0")]);
    let line = server
        .log_lines()
        .into_iter()
        .find(|l| l.contains("metrics listening on http://"))
        .expect("metrics listener announced");
    let url = line
        .split("metrics listening on ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| c.is_whitespace() || c == '"').next())
        .expect("metrics URL")
        .to_string();
    server.raw("GET", "/healthz", &[], vec![]).await;
    let text = server
        .http
        .get(&url)
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("text");
    assert!(text.contains("signet_build_info"), "{text}");
    assert_eq!(
        metric(
            &text,
            "signet_http_requests_total",
            &[("route", "/healthz"), ("status", "200")]
        ),
        Some(1.0),
        "{text}"
    );
    let main = server.raw("GET", "/metrics", &[], vec![]).await;
    assert_eq!(
        main.status, 404,
        "/metrics must not be on the main listener"
    );
}

#[tokio::test]
async fn disabled_metrics_are_not_served() {
    let server = Server::start_with_env(&[("SIGNET_METRICS__ENABLED", "false")]);
    assert_eq!(server.raw("GET", "/metrics", &[], vec![]).await.status, 404);
    assert_eq!(server.raw("GET", "/readyz", &[], vec![]).await.status, 200);
}

#[tokio::test]
async fn request_ids_in_headers_and_json_logs() {
    let server = Server::start_with_env(&[("SIGNET_LOG__FORMAT", "json")]);
    let generated = server.raw("GET", "/healthz", &[], vec![]).await;
    let id = generated.headers["x-request-id"]
        .to_str()
        .expect("ASCII")
        .to_string();
    assert_eq!(id.len(), 32, "{id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");

    let incoming = "client-req.42_x";
    let refused = server
        .raw(
            "POST",
            "/csc/v2/credentials/list",
            &[
                ("x-request-id", incoming),
                ("Authorization", "Bearer bm90LWEtdG9rZW4"),
                ("Content-Type", "application/json"),
            ],
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.headers["x-request-id"], incoming, "echoed");
    for bad in ["has space", "quote\"d", &"x".repeat(65)] {
        let resp = server
            .raw("GET", "/healthz", &[("x-request-id", bad)], vec![])
            .await;
        let got = resp.headers["x-request-id"].to_str().expect("ASCII");
        assert_ne!(got, bad, "an unsafe request ID is replaced");
        assert_eq!(got.len(), 32);
    }

    // Every line is JSON; the refused request's access line carries its ID, route and status.
    let found = wait_until(Duration::from_secs(5), || {
        server.log_lines().iter().any(|l| l.contains(incoming))
    });
    assert!(found, "no log line for {incoming}");
    let lines: Vec<Value> = server
        .log_lines()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    let access = lines
        .iter()
        .find(|l| l["span"]["request_id"] == incoming && l["message"] == "request refused")
        .unwrap_or_else(|| panic!("no access line for {incoming}: {lines:?}"));
    assert_eq!(access["status"], 401, "{access}");
    assert_eq!(
        access["span"]["route"], "/csc/v2/credentials/list",
        "{access}"
    );
    assert_eq!(access["span"]["method"], "POST", "{access}");
    assert!(access["duration_ms"].is_number(), "{access}");
    assert!(
        lines.iter().any(|l| l["message"]
            .as_str()
            .is_some_and(|m| m.contains("listening on http://"))),
        "the start line is JSON too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_a_slow_signing_request() {
    let mut server = Server::start();
    let carol = server.add_user("carol");
    const N: usize = 1000;
    let cred = server.create_credential(
        &carol,
        "8642",
        &[
            "--key",
            "rsa-4096",
            "--scal",
            "1",
            "--multisign",
            &N.to_string(),
        ],
    );
    let token = server.login(&carol).await;
    let hashes: Vec<Vec<u8>> = (0..N)
        .map(|i| sha256(format!("doc {i}").as_bytes()))
        .collect();
    let sad = server
        .sad(&token, &cred, N as u32, None, None, "8642", None)
        .await;
    let body = json!({
        "credentialID": cred, "SAD": sad, "signAlgo": RSA_SHA256,
        "hashes": hashes.iter().map(|d| b64(d)).collect::<Vec<_>>(),
    });
    let request = server
        .http
        .post(format!("{}/csc/v2/signatures/signHash", server.url))
        .bearer_auth(&token)
        .json(&body)
        .send();
    let in_flight = tokio::spawn(async move {
        let resp = request.await.expect("signHash answered");
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.expect("json");
        (status, body, Instant::now())
    });
    // Let the request reach the SAM (1000 RSA-4096 signatures take over a second).
    tokio::time::sleep(Duration::from_millis(150)).await;
    server.signal("TERM");
    let terminated = Instant::now();
    let (status, body, answered) = in_flight.await.expect("request task");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["signatures"].as_array().map(Vec::len), Some(N));
    assert!(
        answered > terminated,
        "the request must still have been in flight at SIGTERM"
    );
    let exit = tokio::task::block_in_place(|| server.wait_for_exit(Duration::from_secs(30)))
        .expect("signet exits after draining");
    assert!(exit.success(), "exit status {exit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_drains_https_requests() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let pki = TestPki::new();
    let mut server = Server::start_tls(&pki, false, false, &[]);
    let dave = server.add_user("dave");
    let cred = server.create_credential(&dave, "1111", &["--scal", "1"]);
    let token = server.login(&dave).await;
    let sad = server.sad(&token, &cred, 1, None, None, "1111", None).await;
    let body = serde_json::to_vec(&json!({
        "credentialID": cred, "SAD": sad, "signAlgo": ECDSA_SHA256,
        "hashes": [b64(&sha256(b"drained"))],
    }))
    .expect("json");

    // A raw HTTPS request whose body arrives in two parts, with SIGTERM in between: the
    // request is in flight by construction.
    let connector =
        tokio_rustls::TlsConnector::from(std::sync::Arc::new(pki.client_config(BOTH, None)));
    let tcp = tokio::net::TcpStream::connect(server.addr())
        .await
        .expect("connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut tls = connector.connect(name, tcp).await.expect("handshake");
    let head = format!(
        "POST /csc/v2/signatures/signHash HTTP/1.1\r\nHost: localhost\r\n\
         Authorization: Bearer {token}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    let (first, rest) = body.split_at(body.len() / 2);
    tls.write_all(head.as_bytes()).await.expect("head");
    tls.write_all(first).await.expect("first half");
    tls.flush().await.expect("flush");
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.signal("TERM");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        server.is_running(),
        "signet exited with a request in flight"
    );
    // New connections are no longer accepted while it drains.
    let refused = server
        .http
        .get(format!("{}/healthz", server.url))
        .timeout(Duration::from_secs(3))
        .send()
        .await;
    assert!(
        refused.is_err(),
        "a new connection was served after SIGTERM"
    );
    tls.write_all(rest).await.expect("second half");
    tls.flush().await.expect("flush");
    let mut response = Vec::new();
    tls.read_to_end(&mut response)
        .await
        .or_else(|e| {
            // rustls reports a peer that closed without close_notify; the bytes are there.
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                Ok(0)
            } else {
                Err(e)
            }
        })
        .expect("response");
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"signatures\""), "{response}");
    let exit = tokio::task::block_in_place(|| server.wait_for_exit(Duration::from_secs(30)))
        .expect("signet exits after draining");
    assert!(exit.success(), "exit status {exit}");
}

/// The outside probe found `signet.db`, `-wal` and `-shm` created 0644 beside a 0600
/// `master.key`: every file of the data directory is now private to the service's user.
#[tokio::test]
async fn data_directory_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let server = Server::start();
    let user = server.add_user("perm");
    // A write by the server itself, with its connections open: the WAL files exist now.
    server.login(&user).await;
    let mode = |name: &str| {
        std::fs::metadata(server.data_dir().join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("master.key"), 0o600);
    if common::pg::store_backend() == "postgres" {
        return; // no database file in the data directory
    }
    for name in ["signet.db", "signet.db-wal", "signet.db-shm"] {
        assert_eq!(mode(name), 0o600, "{name}");
    }
}
