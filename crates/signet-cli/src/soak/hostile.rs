//! Hostile traffic between the valid flows: malformed JSON, XML and DER, oversized bodies,
//! wrong and missing tokens, bad SADs and PINs, unknown paths and methods, bad OAuth2 requests,
//! bytes that are not HTTP, and slow clients that stop half-way through a request.
//!
//! Every answer must be the refusal the case expects (a 4xx, or the protocol's own error
//! message with 200 where the protocol says so: DSS-X, RFC 3161, OCSP); a 5xx, a hang or an
//! acceptance is a finding. Requests that need a token use the hostile account only, so that
//! what they cost (failed PINs, a lock-out) touches no valid flow. No wrong passwords: login
//! back-off is per user and per address, and would slow the valid flows' logins down.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use data_encoding::HEXLOWER;
use hyper::Method;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::Ctx;
use super::conn::{Conn, form};
use super::flows::Session;
use super::record::{Flow, excerpt};
use crate::bench::http;
use crate::bench::setup::random_bytes;

/// Pause between two hostile requests.
const PACE: Duration = Duration::from_millis(50);
/// Slow connections held open at once.
const SLOW_CONNECTIONS: usize = 4;
/// How long a slow client holds its half-sent request, at most.
const SLOW_HOLD_MAX: Duration = Duration::from_secs(12);

const CSC_METHODS: [&str; 6] = [
    "credentials/list",
    "credentials/info",
    "credentials/authorize",
    "signatures/signHash",
    "signatures/signDoc",
    "signatures/timestamp",
];

/// What a case accepts as the answer.
enum Expect {
    /// Exactly one of these statuses.
    Status(&'static [u16]),
    /// 200 with a DSS-X error (not Success), or one of these statuses.
    DssError(&'static [u16]),
    /// 200 with the OCSP `malformedRequest` response, or one of these statuses.
    OcspMalformed(&'static [u16]),
    /// 200 with a TimeStampResp that grants nothing, or one of these statuses.
    TsaRejection(&'static [u16]),
}

/// One hostile request.
struct Case {
    name: &'static str,
    method: Method,
    path: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
    expect: Expect,
}

pub async fn hostile(ctx: Arc<Ctx>) {
    let account = &ctx.fixture.hostile;
    let mut session = Session::new(&account.user);
    let mut login = Conn::new(ctx.addr);
    let mut k = 0u64;
    while ctx.running() {
        let result = async {
            let bearer = session.bearer(&ctx, &mut login).await?;
            if k % 13 == 12 {
                return not_http(&ctx, k / 13).await;
            }
            let case = case(&ctx, &bearer, k)?;
            // A fresh connection each time: after a refusal the server may close it.
            let mut conn = Conn::new(ctx.addr);
            let t0 = Instant::now();
            let reply = conn
                .send(
                    &ctx.rec,
                    Flow::Hostile,
                    case.method.clone(),
                    &case.path,
                    &case.headers,
                    case.body.clone(),
                )
                .await?;
            ctx.rec.sample(Flow::Hostile, t0);
            let status = reply.status.as_u16();
            let ok = match case.expect {
                // A 405 names the methods that are allowed (RFC 9110 §15.5.6).
                Expect::Status(allowed) => {
                    allowed.contains(&status)
                        && (status != 405 || reply.headers.contains_key(hyper::header::ALLOW))
                }
                Expect::DssError(allowed) => {
                    allowed.contains(&status)
                        || (status == 200
                            && !String::from_utf8_lossy(&reply.body)
                                .contains(signet_dssx::major::SUCCESS))
                }
                Expect::OcspMalformed(allowed) => {
                    // OCSPResponse { responseStatus malformedRequest (1) } (RFC 6960 §4.2.1).
                    allowed.contains(&status)
                        || (status == 200 && reply.body[..] == [0x30, 0x03, 0x0a, 0x01, 0x01])
                }
                Expect::TsaRejection(allowed) => {
                    allowed.contains(&status) || (status == 200 && tsa_rejects(&reply.body))
                }
            };
            anyhow::ensure!(
                ok,
                "{} ({} {}) answered {status}: {}",
                case.name,
                case.method,
                super::conn::path_only(&case.path),
                excerpt(&reply.body)
            );
            Ok(())
        }
        .await;
        if let Err(e) = result {
            ctx.failed(Flow::Hostile, &format!("{e:#}"));
        }
        tokio::time::sleep(PACE).await;
        k += 1;
    }
}

/// Whether a TimeStampResp refuses: `SEQUENCE { PKIStatusInfo SEQUENCE { INTEGER status …`
/// with status 2 (rejection) or above (RFC 3161 §2.4.2).
fn tsa_rejects(body: &[u8]) -> bool {
    /// The content of a SEQUENCE (the rest of the input after its header).
    fn enter(der: &[u8]) -> Option<&[u8]> {
        if *der.first()? != 0x30 {
            return None;
        }
        let len = *der.get(1)?;
        let header = if len < 0x80 {
            2
        } else {
            2 + usize::from(len & 0x7f)
        };
        der.get(header..)
    }
    enter(body)
        .and_then(enter)
        .is_some_and(|s| s.len() >= 3 && s[..2] == [0x02, 0x01] && s[2] >= 2)
}

fn garbage(k: u64) -> anyhow::Result<Bytes> {
    let n = 1 + (k as usize * 37) % 300;
    Ok(Bytes::from(random_bytes(n)?))
}

/// The `k`-th case: the kinds take turns, and each kind varies its details with `k`.
fn case(ctx: &Ctx, bearer: &HeaderValue, k: u64) -> anyhow::Result<Case> {
    let cred = &ctx.fixture.hostile.credential.id;
    let csc = |v: &str, m: &str| format!("/csc/{v}/{m}");
    let method = CSC_METHODS[(k as usize / 12) % CSC_METHODS.len()];
    // signDoc is v2 only: /csc/v1/signatures/signDoc is an unknown method (404).
    let version = if k.is_multiple_of(2) || method == "signatures/signDoc" {
        "v2"
    } else {
        "v1"
    };
    let auth = |extra: HeaderValue| vec![(AUTHORIZATION, bearer.clone()), (CONTENT_TYPE, extra)];
    let post = |name, path: String, headers, body: Bytes, expect| Case {
        name,
        method: Method::POST,
        path,
        headers,
        body,
        expect,
    };
    Ok(match k % 12 {
        0 => {
            let bodies: [&[u8]; 4] = [
                b"{\"credentialID\":",
                b"{\"credentialID\" \"x\"}",
                b"\xff\xfe{}",
                b"{\"hashes\":[\"AA==\"],}",
            ];
            let body = Bytes::from_static(bodies[(k as usize / 12) % bodies.len()]);
            post(
                "malformed JSON",
                csc(version, method),
                auth(json()),
                body,
                Expect::Status(&[400]),
            )
        }
        1 => {
            // Wrong for every method: not an object, or members of the wrong type.
            let bodies = [
                "[1,2,3]".to_owned(),
                r#""credentials""#.to_owned(),
                "[".repeat(5000) + &"]".repeat(5000),
                format!(
                    r#"{{"credentialID":{k},"maxResults":"many","numSignatures":"one","hash":7,"hashes":"AA==","documents":{{}}}}"#
                ),
            ];
            let body = Bytes::from(bodies[(k as usize / 12) % bodies.len()].clone());
            post(
                "JSON of the wrong shape",
                csc(version, method),
                auth(json()),
                body,
                Expect::Status(&[400]),
            )
        }
        2 => {
            let ns = signet_dssx::NS_CORE;
            let bodies = [
                format!(r#"<dss2:SignRequest xmlns:dss2="{ns}"><dss2:InputDocuments>"#),
                r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><r>&c;&c;&c;</r>"#.to_owned(),
                "<notdss/>".to_owned(),
                String::from_utf8_lossy(&garbage(k)?).into_owned(),
            ];
            let body = Bytes::from(bodies[(k as usize / 12) % bodies.len()].clone());
            let xml = HeaderValue::from_static("application/xml");
            post(
                "malformed DSS-X XML",
                "/dss/v2/sign".into(),
                auth(xml),
                body,
                Expect::DssError(&[400, 415]),
            )
        }
        3 | 4 => {
            // Garbage, a length far past the end, and a structure with nothing in it.
            let (name, path, content_type, odd, expect): (_, _, _, [&'static [u8]; 2], _) =
                if k % 12 == 3 {
                    (
                        "malformed RFC 3161 request",
                        "/tsa",
                        "application/timestamp-query",
                        [
                            &[0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x02, 0x01],
                            &[0x30, 0x03, 0x02, 0x01, 0x01],
                        ],
                        Expect::TsaRejection(&[400, 413, 415]),
                    )
                } else {
                    (
                        "malformed OCSP request",
                        "/ocsp",
                        "application/ocsp-request",
                        [&[0x30, 0x82, 0xff, 0xff, 0x30], &[0x30, 0x02, 0x30, 0x00]],
                        Expect::OcspMalformed(&[400, 413, 415]),
                    )
                };
            let body = match (k / 12) % 3 {
                0 => garbage(k)?,
                n => Bytes::from_static(odd[n as usize - 1]),
            };
            let headers = vec![(CONTENT_TYPE, HeaderValue::from_static(content_type))];
            post(name, path.into(), headers, body, expect)
        }
        5 => {
            let mut body = b"{\"pad\":\"".to_vec();
            body.resize(ctx.max_body_bytes + 1024, b'a');
            body.extend_from_slice(b"\"}");
            post(
                "oversized body",
                csc("v2", "credentials/list"),
                auth(json()),
                Bytes::from(body),
                Expect::Status(&[413]),
            )
        }
        6 => {
            let token = HEXLOWER.encode(&random_bytes(24)?);
            let headers = match (k / 12) % 3 {
                0 => vec![
                    (AUTHORIZATION, http::bearer(&token)?),
                    (CONTENT_TYPE, json()),
                ],
                1 => vec![
                    (AUTHORIZATION, HeaderValue::from_static("Bearer")),
                    (CONTENT_TYPE, json()),
                ],
                _ => vec![(CONTENT_TYPE, json())],
            };
            post(
                "wrong or missing token",
                csc(version, "credentials/list"),
                headers,
                Bytes::from_static(b"{}"),
                Expect::Status(&[400, 401]),
            )
        }
        7 => {
            let paths = [
                "/csc/v3/info",
                "/.env",
                "/admin",
                "/csc/v2/signatures/../../etc/passwd",
                "/dss/v1/sign",
            ];
            let path = format!(
                "{}{}",
                paths[(k as usize / 12) % paths.len()],
                if k % 24 == 7 { "?x=%ZZ" } else { "" }
            );
            let method = if k % 24 == 7 {
                Method::GET
            } else {
                Method::POST
            };
            Case {
                name: "unknown path",
                method,
                path,
                headers: vec![],
                body: Bytes::new(),
                expect: Expect::Status(&[400, 401, 404, 405]),
            }
        }
        8 => {
            let (method, path) = match (k / 12) % 3 {
                0 => (Method::DELETE, "/csc/v2/info".to_owned()),
                1 => (Method::PUT, "/oauth2/token".to_owned()),
                _ => (Method::GET, "/dss/v2/sign".to_owned()),
            };
            Case {
                name: "wrong method",
                method,
                path,
                headers: vec![],
                body: Bytes::new(),
                expect: Expect::Status(&[404, 405]),
            }
        }
        9 => {
            let sad = HEXLOWER.encode(&random_bytes(32)?);
            let digest = [vec![7u8; 32]];
            let body = if (k / 12).is_multiple_of(2) {
                http::body::sign_hash(cred, &sad, &digest, "1.2.840.10045.4.3.2")
            } else {
                http::body::authorize(cred, "000000", &digest)
            };
            let path = if (k / 12).is_multiple_of(2) {
                "signatures/signHash"
            } else {
                "credentials/authorize"
            };
            post(
                "bad SAD or PIN",
                csc("v2", path),
                auth(json()),
                body,
                Expect::Status(&[400, 401, 403, 429]),
            )
        }
        10 => {
            let public = &ctx.fixture.public_client.id;
            let code = HEXLOWER.encode(&random_bytes(16)?);
            match (k / 12) % 4 {
                0 => {
                    let fields = [
                        ("grant_type", "authorization_code"),
                        ("code", code.as_str()),
                        ("code_verifier", code.as_str()),
                        ("client_id", public.as_str()),
                        ("redirect_uri", super::fixture::REDIRECT_URI),
                    ];
                    post(
                        "bad OAuth2 code",
                        "/oauth2/token".into(),
                        vec![(CONTENT_TYPE, form_type())],
                        form(&fields),
                        Expect::Status(&[400, 401]),
                    )
                }
                1 => {
                    let fields = [("grant_type", "client_credentials"), ("scope", "service")];
                    let headers = vec![
                        (CONTENT_TYPE, form_type()),
                        (AUTHORIZATION, http::basic(&code, &code)?),
                    ];
                    post(
                        "unknown OAuth2 client",
                        "/oauth2/token".into(),
                        headers,
                        form(&fields),
                        Expect::Status(&[400, 401]),
                    )
                }
                2 => {
                    let path = format!(
                        "/oauth2/authorize?response_type=code&client_id={code}&redirect_uri=http%3A%2F%2Fevil.example%2F&code_challenge=x"
                    );
                    Case {
                        name: "unknown client at authorize",
                        method: Method::GET,
                        path,
                        headers: vec![],
                        body: Bytes::new(),
                        expect: Expect::Status(&[400]),
                    }
                }
                _ => {
                    let fields = [
                        ("csrf", code.as_str()),
                        ("request", "x"),
                        ("action", "approve"),
                        ("pin", "1"),
                    ];
                    post(
                        "consent without a session",
                        "/oauth2/consent".into(),
                        vec![(CONTENT_TYPE, form_type())],
                        form(&fields),
                        Expect::Status(&[400, 403]),
                    )
                }
            }
        }
        _ => {
            let body = format!(
                r#"{{"credentialID":"{cred}","SAD":"x","hashes":["%%%"],"signAlgo":"1.2.840.10045.4.3.2"}}"#
            );
            post(
                "hash not Base64",
                csc("v2", "signatures/signHash"),
                auth(json()),
                Bytes::from(body),
                Expect::Status(&[400]),
            )
        }
    })
}

fn json() -> HeaderValue {
    HeaderValue::from_static("application/json")
}

fn form_type() -> HeaderValue {
    HeaderValue::from_static("application/x-www-form-urlencoded")
}

/// Bytes that are not HTTP/1.1 on a raw connection: the server may answer 4xx or close, never
/// a 5xx, and must not keep the connection forever.
async fn not_http(ctx: &Ctx, k: u64) -> anyhow::Result<()> {
    let payloads: [&[u8]; 4] = [
        b"GARBAGE / HTTP/9.9\r\n\r\n",
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        b"POST /csc/v2/info HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nzz\r\n",
    ];
    let payload = payloads[(k as usize) % payloads.len()];
    let mut stream = TcpStream::connect(ctx.addr).await?;
    stream.write_all(payload).await?;
    let t0 = Instant::now();
    let answer = read_answer(&mut stream, Duration::from_secs(10)).await;
    ctx.rec.sample(Flow::Hostile, t0);
    match answer {
        Answer::Status(status) => {
            record_raw_status(ctx, "bytes that are not HTTP", status);
            anyhow::ensure!(
                (400..500).contains(&status),
                "bytes that are not HTTP answered {status}"
            );
        }
        Answer::Closed | Answer::Silent => {}
    }
    Ok(())
}

fn record_raw_status(ctx: &Ctx, what: &str, status: u16) {
    if let Ok(status) = hyper::StatusCode::from_u16(status) {
        ctx.rec.status(Flow::Hostile, what, status, b"");
    }
}

enum Answer {
    /// The server answered with this status.
    Status(u16),
    /// It closed the connection without a word.
    Closed,
    /// Nothing within the time.
    Silent,
}

/// Waits up to `wait` for the first answer line or the end of the connection.
async fn read_answer(stream: &mut TcpStream, wait: Duration) -> Answer {
    let mut buf = [0u8; 64];
    match tokio::time::timeout(wait, stream.read(&mut buf)).await {
        Err(_) => Answer::Silent,
        Ok(Err(_)) | Ok(Ok(0)) => Answer::Closed,
        Ok(Ok(n)) => {
            let head = String::from_utf8_lossy(&buf[..n]);
            head.strip_prefix("HTTP/1.1 ")
                .or_else(|| head.strip_prefix("HTTP/1.0 "))
                .and_then(|rest| rest.get(..3))
                .and_then(|code| code.parse().ok())
                .map_or(Answer::Closed, Answer::Status)
        }
    }
}

/// Keeps [`SLOW_CONNECTIONS`] slow clients going: each sends part of a request (headers that
/// never end, a body that stops after 2 of 100 bytes, a chunked body that never ends), holds
/// the connection for a few seconds, and goes away. An answer, if the server gives one before
/// that (a 408 once it times out), must not be a 5xx.
pub async fn slow(ctx: Arc<Ctx>) {
    let mut tasks = tokio::task::JoinSet::new();
    let mut k = 0u64;
    while ctx.running() {
        while tasks.len() < SLOW_CONNECTIONS && ctx.running() {
            let ctx = Arc::clone(&ctx);
            let hold = Duration::from_millis(
                2000 + (k * 1733) % (SLOW_HOLD_MAX.as_millis() as u64 - 2000),
            );
            tasks.spawn(async move {
                if let Err(e) = slow_client(&ctx, k, hold).await {
                    ctx.failed(Flow::Slow, &format!("{e:#}"));
                }
            });
            k += 1;
        }
        tokio::select! {
            _ = tasks.join_next() => {}
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
    while tasks.join_next().await.is_some() {}
}

async fn slow_client(ctx: &Ctx, k: u64, hold: Duration) -> anyhow::Result<()> {
    let partial: &[u8] = match k % 3 {
        0 => b"POST /csc/v2/info HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\n",
        1 => b"POST /csc/v2/info HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{}",
        _ => b"POST /csc/v2/info HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n",
    };
    let mut stream = TcpStream::connect(ctx.addr).await?;
    stream.write_all(partial).await?;
    let answer = read_answer(&mut stream, hold).await;
    let (answered, closed) = match answer {
        Answer::Status(status) => {
            record_raw_status(ctx, "a request left half-sent", status);
            anyhow::ensure!(
                (400..500).contains(&status),
                "a request left half-sent answered {status}"
            );
            (true, false)
        }
        Answer::Closed => (false, true),
        Answer::Silent => (false, false),
    };
    ctx.rec.slow_connection(answered, closed);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejection_is_told_from_a_grant() {
        // TimeStampResp { PKIStatusInfo { status } } with a short and a long outer length.
        assert!(tsa_rejects(&[0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02]));
        assert!(tsa_rejects(&[
            0x30, 0x81, 0x05, 0x30, 0x03, 0x02, 0x01, 0x05
        ]));
        assert!(!tsa_rejects(&[0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x00]));
        assert!(!tsa_rejects(&[0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x01]));
        assert!(!tsa_rejects(b"<html>"));
        assert!(!tsa_rejects(&[]));
    }
}
