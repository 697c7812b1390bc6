//! A worker's keep-alive connection (the bench's [`Client`]), with what a long run needs on top:
//! a fresh connection when the server closed the old one or it sat idle, a bound on how long an
//! answer may take, and every answer's status recorded.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::{Method, StatusCode};
use serde::de::DeserializeOwned;

use super::record::{Flow, Recorder, excerpt};
use crate::bench::http::{Client, Reply};

/// Longest wait for a whole answer: a server that takes longer is hanging.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);
/// A connection idle this long is replaced before use, so that the server's idle timeout
/// (`http.header_timeout_seconds`, 5 s in the soak's configuration) closing it at the same
/// moment is never mistaken for a failure.
const IDLE_REOPEN: Duration = Duration::from_secs(2);

pub struct Conn {
    addr: SocketAddr,
    client: Option<Client>,
    last_used: Instant,
}

impl Conn {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            client: None,
            last_used: Instant::now(),
        }
    }

    /// Sends one request of `flow` and returns the answer, whatever its status (recorded).
    pub async fn send(
        &mut self,
        rec: &Recorder,
        flow: Flow,
        method: Method,
        path: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: Bytes,
    ) -> anyhow::Result<Reply> {
        let stale = self.last_used.elapsed() > IDLE_REOPEN;
        let client = match self.client.take() {
            Some(c) if !c.is_closed() && !stale => c,
            _ => Client::connect(self.addr).await?,
        };
        let mut client = client;
        let what = format!("{method} {}", path_only(path));
        let answer =
            tokio::time::timeout(ANSWER_TIMEOUT, client.request(method, path, headers, body)).await;
        self.last_used = Instant::now();
        let reply = match answer {
            Err(_) => bail!("{what}: no answer within {} s", ANSWER_TIMEOUT.as_secs()),
            Ok(Err(e)) => return Err(e.context(what)),
            Ok(Ok(reply)) => reply,
        };
        rec.status(flow, &what, reply.status, &reply.body);
        self.client = Some(client);
        Ok(reply)
    }

    /// POSTs JSON (with a Bearer or Basic `authorization`) and parses a 200 answer as `T`;
    /// any other status is an error quoting the body.
    pub async fn json<T: DeserializeOwned>(
        &mut self,
        rec: &Recorder,
        flow: Flow,
        path: &str,
        authorization: Option<&HeaderValue>,
        body: Bytes,
    ) -> anyhow::Result<T> {
        let mut headers = vec![(CONTENT_TYPE, HeaderValue::from_static("application/json"))];
        if let Some(value) = authorization {
            headers.push((AUTHORIZATION, value.clone()));
        }
        let reply = self
            .send(rec, flow, Method::POST, path, &headers, body)
            .await?;
        expect_ok(path, &reply)?;
        serde_json::from_slice(&reply.body).with_context(|| {
            format!(
                "{path} answered 200 with an unexpected body: {}",
                excerpt(&reply.body)
            )
        })
    }
}

/// An error unless the answer is 200.
pub fn expect_ok(path: &str, reply: &Reply) -> anyhow::Result<()> {
    if reply.status != StatusCode::OK {
        bail!(
            "{} answered {}: {}",
            path_only(path),
            reply.status,
            excerpt(&reply.body)
        );
    }
    Ok(())
}

/// The path without its query: queries carry codes and states that messages need not repeat.
pub fn path_only(path: &str) -> &str {
    path.split_once('?').map_or(path, |(p, _)| p)
}

/// `application/x-www-form-urlencoded` of `fields`.
pub fn form(fields: &[(&str, &str)]) -> Bytes {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        s.append_pair(k, v);
    }
    Bytes::from(s.finish())
}
