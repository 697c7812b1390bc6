//! Slow and greedy clients against the real `signet serve` (issue 17, `[http]`): unfinished
//! request heads, bodies that stop or never end, idle keep-alive connections, silent TLS
//! clients and clients that stop reading their answers are dropped after their configured time;
//! SIGTERM ends the process within the shutdown grace whatever clients do; connection caps
//! overall and per address; the per-address request rate (429 + Retry-After);
//! `Expect: 100-continue` over the body limit gets 413 and never `100 Continue`; every 405
//! names the allowed methods.
//!
//! The byte-level cases talk raw HTTP/1.1 over `std::net::TcpStream`. Timeouts are configured
//! to a second or two, and every read has a far longer safety timeout: a read that ends in
//! that safety timeout, rather than in the server's close, fails the test.

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use common::*;
use serde_json::Value;

/// Far longer than any timeout configured here: reaching it means the server kept the
/// connection open.
const SAFETY: Duration = Duration::from_secs(30);

fn addr(server: &Server) -> SocketAddr {
    server.addr().parse().expect("host:port")
}

fn connect(server: &Server) -> TcpStream {
    let stream = TcpStream::connect(addr(server)).expect("connect");
    stream.set_read_timeout(Some(SAFETY)).expect("timeout");
    stream
}

/// A connection from another loopback address (127.0.0.0/8 is all local on Linux): another
/// client as far as the per-address limits go.
async fn connect_from(server: &Server, ip: Ipv4Addr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(IpAddr::V4(ip), 0))
        .expect("bind a loopback source address");
    let stream = socket.connect(addr(server)).await.expect("connect");
    let stream = stream.into_std().expect("std stream");
    stream.set_nonblocking(false).expect("blocking");
    stream.set_read_timeout(Some(SAFETY)).expect("timeout");
    stream
}

/// How a connection ended from the client's side.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// The server closed it (FIN or reset).
    Closed,
    /// Still open when the safety timeout passed.
    StillOpen,
}

/// Reads until the server closes the connection; returns what arrived and how it ended.
fn read_until_closed(stream: &mut TcpStream) -> (Vec<u8>, End) {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (out, End::Closed),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return (out, End::StillOpen);
            }
            // Reset: closed with our bytes unread, which is a close too.
            Err(_) => return (out, End::Closed),
        }
    }
}

/// One HTTP/1.1 response read from a connection that stays open (Content-Length framing).
struct Answer {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

/// Reads one response (head and Content-Length body) and nothing more.
fn read_answer(stream: &mut TcpStream) -> Answer {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).expect("response head");
        assert_eq!(n, 1, "connection closed inside a response head: {raw:?}");
        raw.push(byte[0]);
    }
    let head = String::from_utf8(raw).expect("ASCII head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).expect("response body");
    Answer { status, head, body }
}

/// A complete answer followed by the server's close, from bytes read to the end.
fn parse_final(bytes: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(bytes);
    let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    Answer {
        status,
        head: head.to_owned(),
        body: body.as_bytes().to_vec(),
    }
}

/// GET `path` on a connection the server may have closed at accept: `None` if it did.
fn try_request(stream: &mut TcpStream, path: &str) -> Option<Answer> {
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: signet\r\n\r\n").as_bytes())
        .ok()?;
    let mut first = [0u8; 1];
    match stream.peek(&mut first) {
        Ok(1) => Some(read_answer(stream)),
        _ => None,
    }
}

fn healthz(stream: &mut TcpStream) -> Answer {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: signet\r\n\r\n")
        .expect("write");
    read_answer(stream)
}

/// A 408 as the server writes it for a body that missed its deadline.
fn assert_request_timeout(answer: &Answer) {
    assert_eq!(answer.status, 408, "{}", answer.head);
    assert_eq!(
        answer.header("connection"),
        Some("close"),
        "{}",
        answer.head
    );
    let v = answer.json();
    assert_eq!(v["error"], "request_timeout", "{v}");
    assert_eq!(
        v["error_description"],
        "The request body did not arrive in time (1 s, more for larger bodies)",
        "{v}"
    );
}

/// A head that never ends, and a keep-alive connection left idle, are closed after
/// `header_timeout_seconds`; the server keeps serving everyone else.
#[test]
fn unfinished_heads_and_idle_connections_are_closed() {
    let server = Server::start_with_env(&[("SIGNET_HTTP__HEADER_TIMEOUT_SECONDS", "1")]);
    let mut partial = connect(&server);
    partial
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .expect("write");
    let mut idle = connect(&server);
    let first = healthz(&mut idle);
    assert_eq!((first.status, first.body.as_slice()), (200, &b"ok"[..]));

    let (bytes, end) = read_until_closed(&mut partial);
    assert_eq!(end, End::Closed, "an unfinished head is dropped");
    assert!(bytes.is_empty(), "{}", String::from_utf8_lossy(&bytes));
    let (bytes, end) = read_until_closed(&mut idle);
    assert_eq!(end, End::Closed, "an idle keep-alive connection is dropped");
    assert!(bytes.is_empty(), "{}", String::from_utf8_lossy(&bytes));

    let answer = healthz(&mut connect(&server));
    assert_eq!(answer.status, 200);
}

/// A body that stops after 2 of 100 announced bytes gets 408 and the connection closes, both
/// when the handler reads the body and when it answers without (the early answer's drain).
#[test]
fn a_body_that_stops_gets_408() {
    let server = Server::start_with_env(&[
        ("SIGNET_HTTP__BODY_TIMEOUT_SECONDS", "1"),
        ("SIGNET_HTTP__HEADER_TIMEOUT_SECONDS", "60"),
    ]);
    for head in [
        "POST /csc/v2/info HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n",
        "GET /healthz HTTP/1.1\r\nHost: x\r\n",
    ] {
        let mut stream = connect(&server);
        stream
            .write_all(format!("{head}Content-Length: 100\r\n\r\n{{}}").as_bytes())
            .expect("write");
        let (bytes, end) = read_until_closed(&mut stream);
        assert_eq!(end, End::Closed, "{head}");
        assert_request_timeout(&parse_final(&bytes));
    }
    // The refusal is counted.
    let mut stream = connect(&server);
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    let metrics = String::from_utf8(read_answer(&mut stream).body).expect("text");
    assert_eq!(
        metric(&metrics, "signet_http_timeouts_total", &[("phase", "body")]),
        Some(2.0),
        "{metrics}"
    );
}

/// A chunked body that never ends (one byte every 100 ms, far below the minimum rate) gets 408
/// and the connection closes, while the client is still sending.
#[test]
fn an_endless_chunked_body_is_dropped() {
    let server = Server::start_with_env(&[
        ("SIGNET_HTTP__BODY_TIMEOUT_SECONDS", "1"),
        ("SIGNET_HTTP__HEADER_TIMEOUT_SECONDS", "60"),
    ]);
    let mut stream = connect(&server);
    stream
        .write_all(
            b"POST /csc/v2/info HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        )
        .expect("write");
    let mut writer = stream.try_clone().expect("clone");
    let trickle = std::thread::spawn(move || {
        // Until the server closes (write fails) or far past any deadline.
        for _ in 0..300 {
            if writer.write_all(b"1\r\n \r\n").is_err() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    });
    let (bytes, end) = read_until_closed(&mut stream);
    assert_eq!(end, End::Closed);
    assert_request_timeout(&parse_final(&bytes));
    assert!(
        trickle.join().expect("writer"),
        "the server stopped the body"
    );
}

/// A client that sends requests but stops reading the answers (20,000 pipelined requests, no
/// read) is dropped once an answer has made no progress for `body_timeout_seconds`; without
/// that it would hold the connection, and its answers in memory, until it chose to read.
#[test]
fn a_client_that_stops_reading_is_dropped() {
    let server = Server::start_with_env(&[
        ("SIGNET_HTTP__BODY_TIMEOUT_SECONDS", "1"),
        ("SIGNET_HTTP__HEADER_TIMEOUT_SECONDS", "60"),
        ("SIGNET_HTTP__REQUESTS_PER_SECOND", "0"),
    ]);
    const REQUESTS: usize = 20_000;
    let mut stream = connect(&server);
    let mut writer = stream.try_clone().expect("clone");
    let sender = std::thread::spawn(move || {
        for _ in 0..REQUESTS {
            // Blocks while buffers are full; fails once the server has closed.
            if writer
                .write_all(b"GET /csc/v2/info HTTP/1.1\r\nHost: x\r\n\r\n")
                .is_err()
            {
                break;
            }
        }
    });
    // Nothing is read from `stream` until the server says it gave up on it.
    let counted = wait_until(SAFETY, || {
        let mut probe = connect(&server);
        let metrics = try_request(&mut probe, "/metrics").expect("metrics");
        let text = String::from_utf8(metrics.body).expect("text");
        metric(
            &text,
            "signet_http_timeouts_total",
            &[("phase", "response")],
        ) == Some(1.0)
    });
    assert!(counted, "the stalled answer was abandoned");
    let (bytes, end) = read_until_closed(&mut stream);
    assert_eq!(end, End::Closed);
    let answers = String::from_utf8_lossy(&bytes)
        .matches("HTTP/1.1 200 OK")
        .count();
    assert!(
        answers > 0 && answers < REQUESTS,
        "{answers} answers before the close"
    );
    sender.join().expect("sender");
}

/// A TLS client that never starts its handshake is dropped after `header_timeout_seconds`;
/// HTTPS keeps working for others.
#[tokio::test]
async fn a_silent_tls_client_is_dropped() {
    let pki = common::pki::TestPki::new();
    let server = Server::start_tls(
        &pki,
        false,
        false,
        &[("SIGNET_HTTP__HEADER_TIMEOUT_SECONDS", "1")],
    );
    let mut silent = connect(&server);
    let (bytes, end) = tokio::task::spawn_blocking(move || read_until_closed(&mut silent))
        .await
        .expect("reader");
    assert_eq!(end, End::Closed);
    assert!(bytes.is_empty());
    let (status, info) = server
        .post("/csc/v2/info", None, &serde_json::json!({}))
        .await;
    assert_eq!(status, 200, "{info}");
}

/// SIGTERM with requests half sent: connections without a request in progress close at once,
/// a request in progress that completes within the grace is answered, one that never
/// completes is dropped when the grace is over, and the process exits — long before any
/// client timeout (120 s here) would have ended those connections.
#[test]
fn sigterm_ends_within_the_grace_whatever_clients_do() {
    let mut server = Server::start_with_env(&[
        ("SIGNET_HTTP__HEADER_TIMEOUT_SECONDS", "120"),
        ("SIGNET_HTTP__BODY_TIMEOUT_SECONDS", "120"),
        ("SIGNET_HTTP__SHUTDOWN_GRACE_SECONDS", "2"),
    ]);
    // `Expect: 100-continue` makes the server say when the handler is reading the body: the
    // request is then in progress for certain.
    let in_progress = |length: usize| {
        let mut stream = connect(&server);
        stream
            .write_all(
                format!(
                    "POST /csc/v2/info HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: {length}\r\n\r\n"
                )
                .as_bytes(),
            )
            .expect("write");
        let mut line = [0u8; 25];
        stream.read_exact(&mut line).expect("100 Continue");
        assert_eq!(&line, b"HTTP/1.1 100 Continue\r\n\r\n");
        stream
    };
    let mut finishing = in_progress(2);
    let mut stuck = in_progress(100);
    stuck.write_all(b"{}").expect("write");
    let mut half_head = connect(&server);
    half_head
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .expect("write");
    let mut idle = connect(&server);
    assert_eq!(healthz(&mut idle).status, 200);

    server.signal("TERM");
    assert!(
        wait_until(Duration::from_secs(10), || server
            .log_lines()
            .iter()
            .any(|l| l.contains("shutdown requested"))),
        "the server saw SIGTERM"
    );
    for (name, stream) in [("half head", &mut half_head), ("idle", &mut idle)] {
        let (bytes, end) = read_until_closed(stream);
        assert_eq!(end, End::Closed, "{name}");
        assert!(
            bytes.is_empty(),
            "{name}: {}",
            String::from_utf8_lossy(&bytes)
        );
    }
    finishing.write_all(b"{}").expect("write the rest");
    let answer = read_answer(&mut finishing);
    assert_eq!(answer.status, 200, "{}", answer.head);
    assert_eq!(answer.json()["name"], "Signet");
    assert_eq!(read_until_closed(&mut finishing).1, End::Closed);

    let (bytes, end) = read_until_closed(&mut stuck);
    assert_eq!(
        end,
        End::Closed,
        "the stuck request is dropped at the grace"
    );
    assert!(bytes.is_empty(), "{}", String::from_utf8_lossy(&bytes));
    let status = server
        .wait_for_exit(SAFETY)
        .expect("the process exits after the grace");
    assert!(status.success(), "{status:?}");
    let logs = server.log_lines();
    assert!(
        logs.iter()
            .any(|l| l.contains("shutdown grace over: dropping the connections still open")),
        "{logs:#?}"
    );
}

/// Beyond `max_connections_per_address` a client's new connection is closed unanswered while
/// other clients are served; beyond `max_connections` anyone's is; once connections close,
/// their slots serve again.
#[tokio::test]
async fn connection_caps_overall_and_per_address() {
    let server = Server::start_with_env(&[
        ("SIGNET_HTTP__MAX_CONNECTIONS", "3"),
        ("SIGNET_HTTP__MAX_CONNECTIONS_PER_ADDRESS", "2"),
        ("SIGNET_HTTP__HEADER_TIMEOUT_SECONDS", "60"),
    ]);
    let a = Ipv4Addr::new(127, 0, 0, 2);
    let b = Ipv4Addr::new(127, 0, 0, 3);
    let c = Ipv4Addr::new(127, 0, 0, 4);
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = connect_from(&server, a).await;
        assert_eq!(healthz(&mut stream).status, 200);
        held.push(stream);
    }
    let refused = |mut stream: TcpStream| {
        // The request may or may not be written before the close reaches us.
        let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        let (bytes, end) = read_until_closed(&mut stream);
        assert_eq!(end, End::Closed);
        assert!(bytes.is_empty(), "{}", String::from_utf8_lossy(&bytes));
    };
    refused(connect_from(&server, a).await);
    let mut third = connect_from(&server, b).await;
    assert_eq!(healthz(&mut third).status, 200, "another address is served");
    held.push(third);
    refused(connect_from(&server, c).await);

    drop(held);
    // The server learns of the closes asynchronously: wait for each slot to serve again.
    let mut again = Vec::new();
    for ip in [a, a, c] {
        let mut served = None;
        for _ in 0..100 {
            let mut stream = connect_from(&server, ip).await;
            if let Some(answer) = try_request(&mut stream, "/healthz") {
                assert_eq!(answer.status, 200);
                served = Some(stream);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        again.push(served.expect("the freed slots serve again"));
    }
    let metrics = try_request(&mut again[0], "/metrics").expect("metrics");
    let metrics = String::from_utf8(metrics.body).expect("text");
    assert!(
        metric(
            &metrics,
            "signet_http_connections_refused_total",
            &[("reason", "max_connections_per_address")]
        )
        .is_some_and(|n| n >= 1.0),
        "{metrics}"
    );
    assert!(
        metric(
            &metrics,
            "signet_http_connections_refused_total",
            &[("reason", "max_connections")]
        )
        .is_some_and(|n| n >= 1.0),
        "{metrics}"
    );
}

/// Beyond its burst a client address gets 429 with `Retry-After` and a JSON error; other
/// addresses are not affected.
#[tokio::test]
async fn request_rate_per_address() {
    // One request per 100 s after a burst of 3: the fourth cannot be allowed by refill.
    let server = Server::start_with_env(&[
        ("SIGNET_HTTP__REQUESTS_PER_SECOND", "0.01"),
        ("SIGNET_HTTP__REQUEST_BURST", "3"),
    ]);
    let get =
        |client: &reqwest::Client, path: &str| client.get(format!("{}{path}", server.url)).send();
    for _ in 0..3 {
        let r = get(&server.http, "/healthz").await.expect("request");
        assert_eq!(r.status().as_u16(), 200);
    }
    let r = server
        .http
        .get(format!("{}/healthz", server.url))
        .header("x-request-id", "greedy-1")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status().as_u16(), 429);
    // Refused before the router, yet answered like every other answer: with its request ID.
    assert_eq!(
        r.headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("greedy-1")
    );
    let retry: u64 = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((90..=100).contains(&retry), "Retry-After: {retry}");
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let v: Value = r.json().await.expect("JSON");
    assert_eq!(v["error"], "too_many_requests", "{v}");
    assert_eq!(
        v["error_description"],
        format!("Too many requests from this address; retry in {retry} s"),
        "{v}"
    );

    let other = reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)))
        .build()
        .expect("client");
    let r = get(&other, "/metrics").await.expect("request");
    assert_eq!(r.status().as_u16(), 200, "another address is served");
    let metrics = r.text().await.expect("text");
    assert_eq!(
        metric(&metrics, "signet_http_rate_limited_total", &[]),
        Some(1.0),
        "{metrics}"
    );
}

/// `Expect: 100-continue` with a declared length over the endpoint's limit gets 413 at once,
/// and no `100 Continue` is ever written; within the limit the client is told to continue.
#[test]
fn expect_continue_over_the_limit_gets_413_and_no_100() {
    let server = Server::start_with_env(&[("SIGNET_HTTP__HEADER_TIMEOUT_SECONDS", "60")]);
    // Each over its limit and under the drain bound (64 MiB), where the old drain said 100.
    let cases = [
        ("/csc/v2/info", "application/json", 2_000_000),
        ("/csc/v2/signatures/signDoc", "application/json", 30_000_000),
        (
            "/oauth2/token",
            "application/x-www-form-urlencoded",
            2_000_000,
        ),
        ("/dss/v2/sign", "application/json", 30_000_000),
        ("/ocsp", "application/ocsp-request", 100_000),
        ("/tsa", "application/timestamp-query", 100_000),
    ];
    for (path, content_type, length) in cases {
        let mut stream = connect(&server);
        stream
            .write_all(
                format!(
                    "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\nExpect: 100-continue\r\n\r\n"
                )
                .as_bytes(),
            )
            .expect("write");
        let (bytes, end) = read_until_closed(&mut stream);
        assert_eq!(end, End::Closed, "{path}");
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("100 Continue"), "{path}: {text}");
        assert!(text.starts_with("HTTP/1.1 413 "), "{path}: {text}");
    }
    // Within the limit: 100 Continue, then the answer.
    let mut stream = connect(&server);
    stream
        .write_all(
            b"POST /csc/v2/info HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n",
        )
        .expect("write");
    let mut line = [0u8; 25];
    stream.read_exact(&mut line).expect("100 Continue");
    assert_eq!(&line, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(b"{}").expect("write");
    assert_eq!(read_answer(&mut stream).status, 200);
}

/// Every 405 names the methods the resource accepts.
#[tokio::test]
async fn every_405_carries_allow() {
    let server = Server::start();
    let cases = [
        ("GET", "/csc/v2/signatures/signHash", "POST"),
        ("PUT", "/csc/v1/credentials/list", "POST"),
        ("DELETE", "/csc/v2/info", "GET,POST"),
        ("GET", "/dss/v2/sign", "POST"),
        ("GET", "/dss/v2/verify", "POST"),
        ("GET", "/dss/v2/pending", "POST"),
        ("GET", "/oauth2/token", "POST"),
        ("GET", "/oauth2/pushed_authorize", "POST"),
        ("GET", "/oauth2/revoke", "POST"),
        ("POST", "/oauth2/authorize", "GET,HEAD"),
        ("PUT", "/oauth2/consent", "GET,HEAD,POST"),
        ("DELETE", "/approve", "GET,HEAD,POST"),
        ("GET", "/signin", "POST"),
        (
            "POST",
            "/.well-known/oauth-authorization-server",
            "GET,HEAD",
        ),
        ("POST", "/ca/cert", "GET,HEAD"),
        ("POST", "/ca/crl", "GET,HEAD"),
        ("GET", "/ocsp", "POST"),
        ("POST", "/ocsp/MAA=", "GET,HEAD"),
        ("GET", "/tsa", "POST"),
        ("POST", "/healthz", "GET,HEAD"),
        ("POST", "/readyz", "GET,HEAD"),
        ("POST", "/metrics", "GET,HEAD"),
    ];
    for (method, path, allow) in cases {
        let r = server.raw(method, path, &[], Vec::new()).await;
        assert_eq!(r.status, 405, "{method} {path}");
        assert_eq!(
            r.headers.get("allow").and_then(|v| v.to_str().ok()),
            Some(allow),
            "{method} {path}"
        );
    }
    let r = server
        .raw("GET", "/csc/v2/signatures/signHash", &[], Vec::new())
        .await;
    let v = r.json();
    assert_eq!(v["error"], "invalid_request", "{v}");
    assert_eq!(
        v["error_description"], "Use POST for signatures/signHash",
        "{v}"
    );
}
