//! The bench's HTTP client: one keep-alive HTTP/1.1 connection per client task, raw JSON bodies.
//!
//! hyper's connection-level client is used instead of a pooled client so that each task owns
//! exactly one connection (what a busy signing client with a keep-alive connection looks like)
//! and the client side costs as little CPU as possible: it shares the cores with the server.

use std::net::SocketAddr;

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderName, HeaderValue};
use hyper::{HeaderMap, Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::TcpStream;

pub const AUTHORIZE: &str = "/csc/v2/credentials/authorize";
pub const SIGN_HASH: &str = "/csc/v2/signatures/signHash";
pub const LOGIN: &str = "/csc/v2/auth/login";

/// One connection to the bench server.
pub struct Client {
    send: SendRequest<Full<Bytes>>,
    host: HeaderValue,
}

/// A whole answer: status, headers and body.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// `credentials/authorize` answer: only the SAD matters here.
#[derive(Deserialize)]
pub struct SadReply {
    #[serde(rename = "SAD")]
    pub sad: String,
}

/// `signatures/signHash` answer. The values are counted, not copied: checking their number is
/// enough for the timed loop (one signature per scenario is verified cryptographically apart).
#[derive(Deserialize)]
pub struct SignCount {
    pub signatures: Vec<serde::de::IgnoredAny>,
}

/// `signatures/signHash` answer with the values, for verification outside the timed loops.
#[derive(Deserialize)]
pub struct SignValues {
    pub signatures: Vec<String>,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        // Request head and body go out in one write, but do not let Nagle delay anything.
        stream.set_nodelay(true)?;
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        // The connection task ends when `send` is dropped and nothing is in flight.
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let host = HeaderValue::from_str(&addr.to_string())?;
        Ok(Self { send, host })
    }

    /// Whether the server closed the connection (it cannot carry another request).
    pub fn is_closed(&self) -> bool {
        self.send.is_closed()
    }

    /// Sends `method path` with `headers` (Host is added) and `body`; reads the whole answer.
    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: Bytes,
    ) -> anyhow::Result<Reply> {
        self.send
            .ready()
            .await
            .context("connection to the server closed")?;
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, self.host.clone());
        for (name, value) in headers {
            req = req.header(name, value);
        }
        let resp = self.send.send_request(req.body(Full::new(body))?).await?;
        let (parts, body) = resp.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    /// POSTs a JSON body and returns status and body.
    pub async fn post(
        &mut self,
        path: &str,
        authorization: Option<&HeaderValue>,
        body: Bytes,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let mut headers = vec![(CONTENT_TYPE, HeaderValue::from_static("application/json"))];
        if let Some(value) = authorization {
            headers.push((AUTHORIZATION, value.clone()));
        }
        let reply = self.request(Method::POST, path, &headers, body).await?;
        Ok((reply.status, reply.body))
    }

    /// POSTs and parses a 200 answer as `T`; anything else is an error quoting the body.
    pub async fn post_ok<T: for<'de> Deserialize<'de>>(
        &mut self,
        path: &str,
        authorization: Option<&HeaderValue>,
        body: Bytes,
    ) -> anyhow::Result<T> {
        let (status, reply) = self.post(path, authorization, body).await?;
        if status != StatusCode::OK {
            bail!(
                "{path} answered {status}: {}",
                String::from_utf8_lossy(&reply)
            );
        }
        serde_json::from_slice(&reply).with_context(|| {
            format!(
                "{path} answered 200 with an unexpected body: {}",
                String::from_utf8_lossy(&reply)
            )
        })
    }
}

/// The value of `Authorization: Bearer <token>`.
pub fn bearer(token: &str) -> anyhow::Result<HeaderValue> {
    Ok(HeaderValue::from_str(&format!("Bearer {token}"))?)
}

/// The value of `Authorization: Basic base64(user:password)`.
pub fn basic(username: &str, password: &str) -> anyhow::Result<HeaderValue> {
    let encoded = data_encoding::BASE64.encode(format!("{username}:{password}").as_bytes());
    Ok(HeaderValue::from_str(&format!("Basic {encoded}"))?)
}

/// Request bodies. Built with `format!` rather than serde_json because every interpolated value
/// is Base64, base64url, an OID or a digit string: nothing needs JSON escaping.
pub mod body {
    use bytes::Bytes;

    const SHA256_OID: &str = "2.16.840.1.101.3.4.2.1";

    fn b64_list(hashes: &[Vec<u8>]) -> String {
        let mut out = String::with_capacity(hashes.len() * 47);
        for (i, h) in hashes.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('"');
            out.push_str(&signet_core::b64::encode(h));
            out.push('"');
        }
        out
    }

    /// `credentials/authorize` for SHA-256 `hashes` with the PIN (SCAL1).
    pub fn authorize(credential_id: &str, pin: &str, hashes: &[Vec<u8>]) -> Bytes {
        authorize_with_otp(credential_id, pin, None, hashes)
    }

    /// `credentials/authorize` for SHA-256 `hashes` with the PIN and, for SCAL2, the one-time
    /// code (six digits: nothing to escape either).
    pub fn authorize_with_otp(
        credential_id: &str,
        pin: &str,
        otp: Option<&str>,
        hashes: &[Vec<u8>],
    ) -> Bytes {
        let otp = otp
            .map(|code| format!(r#",{{"id":"OTP","value":"{code}"}}"#))
            .unwrap_or_default();
        Bytes::from(format!(
            r#"{{"credentialID":"{credential_id}","numSignatures":{n},"hashes":[{list}],"hashAlgorithmOID":"{SHA256_OID}","authData":[{{"id":"PIN","value":"{pin}"}}{otp}]}}"#,
            n = hashes.len(),
            list = b64_list(hashes),
        ))
    }

    /// `signatures/signHash` of `hashes` with `sad`.
    pub fn sign_hash(credential_id: &str, sad: &str, hashes: &[Vec<u8>], sign_algo: &str) -> Bytes {
        Bytes::from(format!(
            r#"{{"credentialID":"{credential_id}","SAD":"{sad}","hashes":[{list}],"signAlgo":"{sign_algo}"}}"#,
            list = b64_list(hashes),
        ))
    }
}
