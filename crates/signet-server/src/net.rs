//! The accept loop: Signet's own, over hyper's HTTP/1.1 connections, so that no client can hold
//! the server longer than `[http]` allows ([`HttpSettings`]).
//!
//! - A connection beyond `max_connections`, or beyond `max_connections_per_address` from its
//!   client, is closed as soon as it is accepted: the loop never waits on a client.
//! - The TLS handshake, each request head and the wait for the next request on a keep-alive
//!   connection get `header_timeout`; then the connection is closed.
//! - A request body gets `body_timeout` plus time earned by the bytes it sends ([`TimedBody`]);
//!   then the request is answered 408 and the connection closed
//!   ([`answer_late_bodies`](crate::limits::answer_late_bodies), inside the router so that the
//!   access log and metrics see the 408).
//! - An answer the client stops reading (no progress for `body_timeout`) is abandoned and the
//!   connection closed ([`WriteStall`]).
//! - Requests beyond a client's rate ([`RateLimiter`]) get 429 with `Retry-After`.
//! - At shutdown the listener closes at once, connections without a request in progress are
//!   dropped, requests in progress get `shutdown_grace` to finish, and then every connection
//!   left is dropped: the server stops within that time whatever its clients do.
//!
//! Handlers see the connection's [`Peer`] as `ConnectInfo<Peer>`, as they did under
//! `axum::serve`.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::ConnectInfo;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use metrics::{counter, gauge};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::error::ApiError;
use crate::limits::{
    BodyExpired, ClientKey, ConnectionSlot, Connections, HttpSettings, RateLimiter, TimedBody,
};
use crate::ops::{
    HTTP_CONNECTIONS, HTTP_CONNECTIONS_REFUSED, HTTP_RATE_LIMITED, HTTP_TIMEOUTS, install_metrics,
    metrics_text,
};
use crate::tls::{self, Peer};

/// How often refilled rate buckets are forgotten.
const PURGE_INTERVAL: Duration = Duration::from_secs(10);

/// Where to serve: plain HTTP, or HTTPS with a rustls configuration ([`tls::server_config`]).
pub enum Listener {
    Plain(TcpListener),
    Tls(TcpListener, Arc<rustls::ServerConfig>),
}

/// What every connection of one listener shares.
struct Shared {
    app: Router,
    settings: HttpSettings,
    rate: Option<RateLimiter>,
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops within
/// `settings.shutdown_grace` (see the module documentation).
pub async fn serve_router(
    listener: Listener,
    app: Router,
    settings: HttpSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (tcp, acceptor) = match listener {
        Listener::Plain(tcp) => (tcp, None),
        Listener::Tls(tcp, config) => (tcp, Some(TlsAcceptor::from(config))),
    };
    let connections = Connections::new(
        settings.max_connections,
        settings.max_connections_per_address,
    );
    let shared = Arc::new(Shared {
        app,
        rate: RateLimiter::new(settings.requests_per_second, settings.request_burst),
        settings,
    });
    let (stop, stopping) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut purge = tokio::time::interval(PURGE_INTERVAL);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = tcp.accept() => match accepted {
                Ok((stream, remote)) => {
                    let key = ClientKey::of(remote.ip());
                    match connections.try_open(key) {
                        Ok(slot) => {
                            gauge!(HTTP_CONNECTIONS).increment(1.0);
                            tasks.spawn(connection(
                                stream,
                                remote,
                                acceptor.clone(),
                                Arc::clone(&shared),
                                stopping.clone(),
                                slot,
                            ));
                        }
                        Err(refusal) => {
                            // Dropping the stream closes it: the client learns at once.
                            counter!(HTTP_CONNECTIONS_REFUSED, "reason" => refusal.label())
                                .increment(1);
                            tracing::debug!(client = %key, reason = refusal.label(), "connection refused");
                        }
                    }
                }
                Err(e) => {
                    if let Some(pause) = accept_error(&e) {
                        tokio::select! {
                            () = &mut shutdown => break,
                            () = tokio::time::sleep(pause) => {}
                        }
                    }
                }
            },
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                if let Err(e) = done
                    && e.is_panic()
                {
                    tracing::error!("a connection task panicked");
                }
            }
            _ = purge.tick() => {
                if let Some(rate) = &shared.rate {
                    rate.purge(tokio::time::Instant::now());
                }
            }
        }
    }
    // New connections are refused by the kernel from here on.
    drop(tcp);
    let _ = stop.send(true);
    let grace = tokio::time::sleep(shared.settings.shutdown_grace);
    let mut grace = std::pin::pin!(grace);
    loop {
        tokio::select! {
            next = tasks.join_next() => if next.is_none() { break },
            () = &mut grace => {
                tracing::warn!(
                    connections = tasks.len(),
                    "shutdown grace over: dropping the connections still open"
                );
                tasks.abort_all();
                while tasks.join_next().await.is_some() {}
                break;
            }
        }
    }
    Ok(())
}

/// Serves only `/metrics`, over plain HTTP, until `shutdown`: the separate metrics listener
/// (`[metrics] listen`), for an address only the scraper reaches.
/// The same `[http]` timeouts and limits apply as on the main listener.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    settings: HttpSettings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    install_metrics();
    let router = axum::Router::new().route("/metrics", axum::routing::get(metrics_text));
    serve_router(Listener::Plain(listener), router, settings, shutdown).await
}

/// An accept error about this process (out of file descriptors) pauses the loop for a moment,
/// as axum's own listener does; per-connection errors do not.
fn accept_error(e: &std::io::Error) -> Option<Duration> {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return None;
    }
    tracing::error!(error = %e, "accepting a connection failed");
    Some(Duration::from_secs(1))
}

/// One connection, from its TLS handshake (if any) to its end; `slot` counts it meanwhile.
async fn connection(
    stream: TcpStream,
    remote: SocketAddr,
    acceptor: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    mut stopping: watch::Receiver<bool>,
    slot: ConnectionSlot,
) {
    let _open = OpenConnection { _slot: slot };
    let _ = stream.set_nodelay(true);
    let stream = WriteStall::new(stream, shared.settings.body_timeout);
    let Some(acceptor) = acceptor else {
        let peer = Peer {
            remote,
            client_certificate: None,
        };
        return serve_connection(stream, peer, shared, stopping).await;
    };
    let handshake = tokio::time::timeout(shared.settings.header_timeout, acceptor.accept(stream));
    let tls = tokio::select! {
        done = handshake => done,
        _ = stopping.wait_for(|stop| *stop) => return,
    };
    match tls {
        Ok(Ok(tls)) => {
            let peer = tls::peer_of(&tls, remote);
            serve_connection(tls, peer, shared, stopping).await;
        }
        Ok(Err(e)) => {
            // Scanners and clients that distrust us: worth a debug line, not more.
            tracing::debug!(%remote, error = %e, "TLS handshake failed");
        }
        Err(_) => {
            counter!(HTTP_TIMEOUTS, "phase" => "handshake").increment(1);
            tracing::debug!(%remote, "TLS handshake timed out");
        }
    }
}

/// The connection gauge follows the slot.
struct OpenConnection {
    _slot: ConnectionSlot,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        gauge!(HTTP_CONNECTIONS).decrement(1.0);
    }
}

async fn serve_connection<I>(
    io: I,
    peer: Peer,
    shared: Arc<Shared>,
    mut stopping: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // Requests of this connection between their head and the end of their answer.
    let active = Arc::new(AtomicUsize::new(0));
    let service = {
        let active = Arc::clone(&active);
        let shared = Arc::clone(&shared);
        let peer = peer.clone();
        hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let guard = InFlight::new(&active);
            let shared = Arc::clone(&shared);
            let peer = peer.clone();
            async move { Ok::<_, Infallible>(handle(request, peer, &shared, guard).await) }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(shared.settings.header_timeout);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        done = conn.as_mut() => {
            if let Err(e) = done {
                if e.is_timeout() {
                    counter!(HTTP_TIMEOUTS, "phase" => "header").increment(1);
                }
                tracing::debug!(remote = %peer.remote, error = %e, "connection ended");
            }
            return;
        }
        _ = stopping.wait_for(|stop| *stop) => {}
    }
    // Shutting down. Nothing in progress (idle, or a head still arriving): close now. Else
    // finish the request(s) in progress, then close; the grace bounds how long that may take.
    if active.load(Ordering::Acquire) == 0 {
        return;
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}

/// One request, from its head to its answer.
async fn handle(
    request: hyper::Request<Incoming>,
    peer: Peer,
    shared: &Shared,
    guard: InFlight,
) -> Response {
    if let Some(rate) = &shared.rate
        && let Err(wait) = rate.check(ClientKey::of(peer.remote.ip()), tokio::time::Instant::now())
    {
        counter!(HTTP_RATE_LIMITED).increment(1);
        tracing::debug!(client = %ClientKey::of(peer.remote.ip()), "request over the rate limit");
        return guard.attach(too_many_requests(wait, request.headers()));
    }
    let expired = BodyExpired::new(shared.settings.body_timeout);
    let (mut parts, body) = request.into_parts();
    parts.extensions.insert(ConnectInfo(peer));
    parts.extensions.insert(expired.clone());
    let body = Body::new(TimedBody::new(body, &shared.settings, expired));
    let response = match shared
        .app
        .clone()
        .oneshot(Request::from_parts(parts, body))
        .await
    {
        Ok(response) => response,
        Err(never) => match never {},
    };
    guard.attach(response)
}

/// 429 with `Retry-After` (whole seconds, at least 1) and, like every other answer, an
/// `X-Request-Id` (the refusal happens before the router's middleware gives one).
fn too_many_requests(wait: Duration, headers: &axum::http::HeaderMap) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    let mut response = ApiError {
        retry_after: Some(seconds),
        ..ApiError::too_many_requests(format!(
            "Too many requests from this address; retry in {seconds} s"
        ))
    }
    .into_response();
    if let Ok(id) = HeaderValue::from_str(&crate::ops::request_id(headers)) {
        response
            .headers_mut()
            .insert(crate::ops::REQUEST_ID_HEADER, id);
    }
    response
}

/// Counts a request as in progress until its answer has been written (or dropped).
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn new(active: &Arc<AtomicUsize>) -> Self {
        active.fetch_add(1, Ordering::AcqRel);
        Self(Arc::clone(active))
    }

    /// The answer, holding the guard until hyper has written its body.
    fn attach(self, response: Response) -> Response {
        response.map(|body| {
            Body::new(Guarded {
                inner: body,
                _guard: self,
            })
        })
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

struct Guarded {
    inner: Body,
    _guard: InFlight,
}

impl HttpBody for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The connection's socket, failing a write that makes no progress for `stall`: a client that
/// stops reading its answer cannot hold the connection, and the answer's memory, for ever.
pub(crate) struct WriteStall<I> {
    io: I,
    stall: Duration,
    /// Armed when a write first waits, disarmed by any progress.
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<I> WriteStall<I> {
    fn new(io: I, stall: Duration) -> Self {
        Self {
            io,
            stall,
            sleep: None,
        }
    }

    fn watch<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<std::io::Result<T>>,
    ) -> Poll<std::io::Result<T>> {
        match polled {
            Poll::Ready(done) => {
                self.sleep = None;
                Poll::Ready(done)
            }
            Poll::Pending => {
                let stall = self.stall;
                let sleep = self
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        counter!(HTTP_TIMEOUTS, "phase" => "response").increment(1);
                        Poll::Ready(Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "the client stopped reading its answer",
                        )))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for WriteStall<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for WriteStall<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, buf);
        self.watch(cx, polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.watch(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let polled = Pin::new(&mut self.io).poll_flush(cx);
        self.watch(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let polled = Pin::new(&mut self.io).poll_shutdown(cx);
        self.watch(cx, polled)
    }
}
