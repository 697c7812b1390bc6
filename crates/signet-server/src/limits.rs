//! What one client may hold and ask of the HTTP front: open connections and request rate per
//! client address, and how long a request body may take to arrive (`[http]`, see
//! docs/operations.md).
//!
//! A client is its IPv4 address, or the /64 prefix of its IPv6 address: a single host usually
//! owns a whole /64, so counting each IPv6 address apart would give it billions of allowances.
//! The tables only hold what is current: a connection's entry goes with its last connection,
//! and a rate bucket once it has refilled (it then says nothing a fresh bucket would not), so
//! their memory follows the clients of the last seconds, not every address ever seen.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Body as HttpBody, Frame, SizeHint};
use parking_lot::Mutex;
use tokio::time::{Instant, Sleep};

use crate::error::ApiError;

/// Bounds on slow and greedy clients (`[http]`).
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// A request head (request line and headers) must arrive within this time; so must a TLS
    /// handshake, and the next request on an idle keep-alive connection.
    pub header_timeout: Duration,
    /// A request body gets this long, plus one second per `body_min_bytes_per_second` bytes
    /// received; then the request is answered 408 (or the connection closed). Also the longest
    /// an answer may wait for the client to read it.
    pub body_timeout: Duration,
    /// See `body_timeout`; 0 = the body must arrive within `body_timeout`, whatever its size.
    pub body_min_bytes_per_second: u64,
    /// Open connections at most; more are closed as soon as they are accepted.
    pub max_connections: usize,
    /// Open connections at most per client address (IPv6: per /64); 0 = no per-address cap.
    pub max_connections_per_address: usize,
    /// Sustained requests per second per client address; 0 = no rate limit.
    pub requests_per_second: f64,
    /// Requests a client address may send at once beyond the sustained rate (bucket size).
    pub request_burst: u32,
    /// At shutdown: how long requests in progress may take to finish before every remaining
    /// connection is dropped.
    pub shutdown_grace: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            body_min_bytes_per_second: 16 * 1024,
            max_connections: 512,
            max_connections_per_address: 64,
            requests_per_second: 200.0,
            request_burst: 400,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// The unit the per-address limits count: an IPv4 address or an IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(IpAddr);

impl ClientKey {
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => Self(ip),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => {
                    let s = v6.segments();
                    Self(IpAddr::V6(Ipv6Addr::new(
                        s[0], s[1], s[2], s[3], 0, 0, 0, 0,
                    )))
                }
            },
        }
    }
}

impl std::fmt::Display for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

/// Why a connection was closed at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `max_connections` are open.
    Total,
    /// `max_connections_per_address` are open from this client.
    PerAddress,
}

impl Refusal {
    /// The metrics label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Total => "max_connections",
            Self::PerAddress => "max_connections_per_address",
        }
    }
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    per_client: HashMap<ClientKey, usize>,
}

/// The open connections, overall and per client.
#[derive(Debug)]
pub struct Connections {
    max_total: usize,
    /// 0 = unlimited.
    max_per_client: usize,
    open: Mutex<Open>,
}

/// One open connection: counted until dropped.
#[derive(Debug)]
pub struct ConnectionSlot {
    table: Arc<Connections>,
    key: ClientKey,
}

impl Connections {
    pub fn new(max_total: usize, max_per_client: usize) -> Arc<Self> {
        Arc::new(Self {
            max_total: max_total.max(1),
            max_per_client,
            open: Mutex::default(),
        })
    }

    /// Counts a new connection from `key`, unless a cap is reached.
    pub fn try_open(self: &Arc<Self>, key: ClientKey) -> Result<ConnectionSlot, Refusal> {
        let mut open = self.open.lock();
        if open.total >= self.max_total {
            return Err(Refusal::Total);
        }
        let mine = open.per_client.get(&key).copied().unwrap_or(0);
        if self.max_per_client != 0 && mine >= self.max_per_client {
            return Err(Refusal::PerAddress);
        }
        open.total += 1;
        open.per_client.insert(key, mine + 1);
        Ok(ConnectionSlot {
            table: Arc::clone(self),
            key,
        })
    }

    /// Connections open now.
    pub fn total(&self) -> usize {
        self.open.lock().total
    }

    /// Client addresses with a connection open now (the size of the table).
    pub fn clients(&self) -> usize {
        self.open.lock().per_client.len()
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut open = self.table.open.lock();
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.per_client.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.per_client.remove(&self.key);
            }
        }
    }
}

/// Most client addresses with a rate bucket at once. Reached only by a flood from more
/// addresses than the refill time lets expire; new addresses are then refused (429) until
/// buckets expire, rather than letting the table grow.
pub const MAX_RATE_CLIENTS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// A token bucket per client address: `burst` requests at once, refilled at `rate` per
/// second.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<ClientKey, Bucket>>,
}

impl RateLimiter {
    /// `None` when `rate` is 0 (no limit) or not a positive number.
    pub fn new(rate: f64, burst: u32) -> Option<Self> {
        (rate.is_finite() && rate > 0.0).then(|| Self {
            rate,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::default(),
        })
    }

    /// Takes one request from `key`'s bucket, or says how long until one is available.
    pub fn check(&self, key: ClientKey, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock();
        if buckets.len() >= MAX_RATE_CLIENTS && !buckets.contains_key(&key) {
            self.purge_locked(&mut buckets, now);
            if buckets.len() >= MAX_RATE_CLIENTS {
                return Err(Duration::from_secs(1));
            }
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate))
        }
    }

    /// Forgets the buckets that have refilled: a fresh bucket would be the same.
    pub fn purge(&self, now: Instant) {
        let mut buckets = self.buckets.lock();
        self.purge_locked(&mut buckets, now);
    }

    fn purge_locked(&self, buckets: &mut HashMap<ClientKey, Bucket>, now: Instant) {
        buckets.retain(|_, b| {
            let elapsed = now.saturating_duration_since(b.updated).as_secs_f64();
            b.tokens + elapsed * self.rate < self.burst
        });
    }

    /// Client addresses with a bucket now (the size of the table).
    pub fn clients(&self) -> usize {
        self.buckets.lock().len()
    }
}

/// Raised when a request's body missed its deadline; in the request extensions, so that
/// [`answer_late_bodies`] answers 408 whatever the handler made of the body's error.
#[derive(Debug, Clone)]
pub struct BodyExpired {
    flag: Arc<AtomicBool>,
    allowance: Duration,
}

impl BodyExpired {
    pub fn new(allowance: Duration) -> Self {
        Self {
            flag: Arc::default(),
            allowance,
        }
    }

    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    fn set(&self) {
        self.flag.store(true, Ordering::Relaxed);
    }
}

/// Middleware: a request whose body missed its deadline gets 408 and `Connection: close` (what
/// is left of its body cannot be told from a next request), keeping the request ID.
pub async fn answer_late_bodies(request: Request, next: Next) -> Response {
    let expired = request.extensions().get::<BodyExpired>().cloned();
    let response = next.run(request).await;
    let Some(expired) = expired.filter(BodyExpired::is_set) else {
        return response;
    };
    metrics::counter!(crate::ops::HTTP_TIMEOUTS, "phase" => "body").increment(1);
    let mut late = ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        format!(
            "The request body did not arrive in time ({} s, more for larger bodies)",
            expired.allowance.as_secs()
        ),
    )
    .into_response();
    if let Some(id) = response.headers().get(crate::ops::REQUEST_ID_HEADER) {
        late.headers_mut()
            .insert(crate::ops::REQUEST_ID_HEADER, id.clone());
    }
    late.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    late
}

/// The error a request body gives once its time is up.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
pub struct BodyTimeout;

/// A request body with a deadline: `body_timeout` from the request head, plus one second per
/// `min_rate` bytes received. Past it the body fails with [`BodyTimeout`] and raises
/// [`BodyExpired`].
pub struct TimedBody<B> {
    inner: B,
    start: Instant,
    allowance: Duration,
    min_rate: u64,
    received: u64,
    sleep: Option<Pin<Box<Sleep>>>,
    expired: BodyExpired,
}

impl<B> TimedBody<B> {
    pub fn new(inner: B, settings: &HttpSettings, expired: BodyExpired) -> Self {
        Self {
            inner,
            start: Instant::now(),
            allowance: settings.body_timeout,
            min_rate: settings.body_min_bytes_per_second,
            received: 0,
            sleep: None,
            expired,
        }
    }

    fn deadline(&self) -> Instant {
        let earned = match self.min_rate {
            0 => Duration::ZERO,
            rate => Duration::from_secs_f64(self.received as f64 / rate as f64),
        };
        self.start + self.allowance.saturating_add(earned)
    }
}

impl<B> HttpBody for TimedBody<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::BoxError>>> {
        if self.expired.is_set() {
            return Poll::Ready(Some(Err(BodyTimeout.into())));
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.received = self.received.saturating_add(data.len() as u64);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                let deadline = self.deadline();
                let sleep = self
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if sleep.deadline() != deadline {
                    sleep.as_mut().reset(deadline);
                }
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        self.expired.set();
                        Poll::Ready(Some(Err(BodyTimeout.into())))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, SocketAddr};

    fn key(s: &str) -> ClientKey {
        ClientKey::of(s.parse::<IpAddr>().expect("ip"))
    }

    #[test]
    fn ipv6_clients_are_their_64_and_mapped_ipv4_is_ipv4() {
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:192.0.2.7"), key("192.0.2.7"));
        assert_ne!(key("192.0.2.7"), key("192.0.2.8"));
        assert_eq!(key("2001:db8:1:2:aaaa::1").to_string(), "2001:db8:1:2::/64");
        let addr: SocketAddr = (Ipv4Addr::LOCALHOST, 9).into();
        assert_eq!(ClientKey::of(addr.ip()).to_string(), "127.0.0.1");
    }

    #[test]
    fn connection_caps_count_and_release() {
        let table = Connections::new(3, 2);
        let (a, b, c) = (key("192.0.2.1"), key("192.0.2.2"), key("192.0.2.3"));
        let a1 = table.try_open(a).expect("a1");
        let a2 = table.try_open(a).expect("a2");
        assert_eq!(table.try_open(a).expect_err("a3"), Refusal::PerAddress);
        let b1 = table.try_open(b).expect("b1");
        assert_eq!(table.try_open(c).expect_err("c1"), Refusal::Total);
        assert_eq!((table.total(), table.clients()), (3, 2));
        drop(a1);
        let c1 = table.try_open(c).expect("c1 once a slot is free");
        drop((a2, b1, c1));
        // Nothing is left behind for addresses without a connection.
        assert_eq!((table.total(), table.clients()), (0, 0));
        let unlimited = Connections::new(10, 0);
        let held: Vec<_> = (0..10)
            .map(|_| unlimited.try_open(a).expect("no per-address cap"))
            .collect();
        assert_eq!(unlimited.try_open(b).expect_err("total"), Refusal::Total);
        drop(held);
    }

    #[test]
    fn token_bucket_allows_a_burst_then_the_rate() {
        let limiter = RateLimiter::new(2.0, 3).expect("enabled");
        let t0 = Instant::now();
        let a = key("192.0.2.1");
        for _ in 0..3 {
            limiter.check(a, t0).expect("within the burst");
        }
        let wait = limiter.check(a, t0).expect_err("burst spent");
        assert_eq!(wait, Duration::from_millis(500));
        // Another address has its own bucket.
        limiter.check(key("192.0.2.2"), t0).expect("other client");
        // Half a second later one token is back, and only one.
        let t1 = t0 + Duration::from_millis(500);
        limiter.check(a, t1).expect("refilled one");
        assert!(limiter.check(a, t1).is_err());
        // The bucket never holds more than the burst.
        let t2 = t1 + Duration::from_secs(3600);
        for _ in 0..3 {
            limiter.check(a, t2).expect("full again");
        }
        assert!(limiter.check(a, t2).is_err());
        assert!(RateLimiter::new(0.0, 10).is_none(), "0 = no limit");
        assert!(RateLimiter::new(f64::NAN, 10).is_none());
    }

    #[test]
    fn refilled_buckets_are_purged() {
        let limiter = RateLimiter::new(10.0, 5).expect("enabled");
        let t0 = Instant::now();
        for i in 0..1000u32 {
            let ip = IpAddr::V4(Ipv4Addr::from(0xC000_0000 + i));
            limiter.check(ClientKey::of(ip), t0).expect("first request");
        }
        assert_eq!(limiter.clients(), 1000);
        // Not yet refilled (one token short of the burst after 50 ms: 4 + 0.5 < 5).
        limiter.purge(t0 + Duration::from_millis(50));
        assert_eq!(limiter.clients(), 1000);
        // One token takes 100 ms to come back: then every bucket is full and forgotten.
        limiter.purge(t0 + Duration::from_millis(100));
        assert_eq!(limiter.clients(), 0);
    }

    #[test]
    fn a_full_table_refuses_new_clients_after_purging() {
        let limiter = RateLimiter::new(1.0, 1).expect("enabled");
        let t0 = Instant::now();
        for i in 0..MAX_RATE_CLIENTS as u32 {
            let ip = IpAddr::V4(Ipv4Addr::from(0x0A00_0000 + i));
            limiter.check(ClientKey::of(ip), t0).expect("first request");
        }
        let newcomer = key("192.0.2.200");
        assert_eq!(
            limiter.check(newcomer, t0).expect_err("table full"),
            Duration::from_secs(1)
        );
        // Once the old buckets have refilled they make room.
        limiter
            .check(newcomer, t0 + Duration::from_secs(1))
            .expect("purged on demand");
        assert_eq!(limiter.clients(), 1);
    }

    /// A body that stops sending fails at its deadline (never before) and raises the flag; the
    /// bytes it received first earned it more time.
    #[tokio::test]
    async fn body_deadline_grows_with_the_bytes_received() {
        use http_body_util::BodyExt;
        let settings = HttpSettings {
            body_timeout: Duration::from_millis(200),
            body_min_bytes_per_second: 1000,
            ..HttpSettings::default()
        };
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(4);
        let expired = BodyExpired::new(settings.body_timeout);
        let mut body = TimedBody::new(ChannelBody(rx), &settings, expired.clone());
        let start = Instant::now();
        // 300 bytes after 100 ms: the deadline moves from 200 ms to 500 ms.
        let sender = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            tx.send(Ok(Frame::data(Bytes::from(vec![b'x'; 300]))))
                .await
                .expect("send");
            // Then nothing more, without ending the body.
            std::future::pending::<()>().await;
            drop(tx);
        });
        let first = body.frame().await.expect("frame").expect("data");
        assert_eq!(first.data_ref().map(Bytes::len), Some(300));
        assert!(!expired.is_set());
        let err = body
            .frame()
            .await
            .expect("an error")
            .expect_err("timed out");
        assert!(err.is::<BodyTimeout>(), "{err}");
        assert!(start.elapsed() >= Duration::from_millis(500));
        assert!(expired.is_set());
        // It stays failed.
        assert!(body.frame().await.expect("again").is_err());
        sender.abort();
    }

    /// An `mpsc` receiver as a body: the test's stand-in for a client's connection.
    struct ChannelBody(tokio::sync::mpsc::Receiver<Result<Frame<Bytes>, std::io::Error>>);

    impl HttpBody for ChannelBody {
        type Data = Bytes;
        type Error = std::io::Error;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
            self.0.poll_recv(cx)
        }
    }
}
