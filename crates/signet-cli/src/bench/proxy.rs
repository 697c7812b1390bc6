//! A TCP proxy that delays each direction by a fixed time: the network between a node and
//! PostgreSQL, on one machine whose kernel has no netem.
//!
//! Every chunk read from one side is written to the other side `delay` after it was read. The
//! delays do not add up: a reader task timestamps chunks into a channel and a writer task waits
//! until each chunk is due, so chunks keep their order and many can be in flight at once (a
//! link with latency, not one with a bandwidth of one chunk per delay).
//!
//! tokio's timer rounds deadlines up to whole milliseconds, which would turn a 1 ms delay into
//! 1–2 ms. Writers therefore wait on [`Timer`], one OS thread that sleeps on a condition
//! variable with the kernel's high-resolution timeout and wakes each waiter when it is due.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};

/// Bytes read at most per chunk.
const CHUNK: usize = 64 * 1024;
/// Chunks in flight per direction before the reader waits (PostgreSQL traffic stays far below).
const IN_FLIGHT: usize = 4096;

/// A running delay proxy. Dropping it closes the listener and every proxied connection.
pub struct DelayProxy {
    addr: SocketAddr,
    accept: JoinHandle<()>,
    timer: Timer,
}

impl DelayProxy {
    /// Listens on an ephemeral loopback port; each connection accepted there is forwarded to
    /// `upstream` (a new connection per accepted one).
    pub async fn start(upstream: SocketAddr, delay: Duration) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the delay proxy")?;
        let addr = listener.local_addr()?;
        let timer = Timer::start()?;
        let accept = tokio::spawn(accept_loop(listener, upstream, delay, timer.clone()));
        Ok(Self {
            addr,
            accept,
            timer,
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes the listener and every connection, and waits for that.
    pub async fn stop(self) {
        self.accept.abort();
        // Cannot move out of a type with Drop: wait through a reference instead.
        let mut this = self;
        let _ = (&mut this.accept).await;
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        // The connection tasks live in the accept task's JoinSet: aborting it aborts them.
        self.accept.abort();
        self.timer.shutdown();
    }
}

async fn accept_loop(listener: TcpListener, upstream: SocketAddr, delay: Duration, timer: Timer) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => {
                    connections.spawn(proxy_connection(client, upstream, delay, timer.clone()));
                }
                // Out of file descriptors and the like: the clients will see their own errors.
                Err(e) => {
                    tracing::warn!(error = %e, "delay proxy: accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            // Reap finished connections so that the set does not grow without bound.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Forwards one connection both ways until both directions end or either fails.
async fn proxy_connection(client: TcpStream, upstream: SocketAddr, delay: Duration, timer: Timer) {
    let server = match TcpStream::connect(upstream).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, %upstream, "delay proxy: cannot reach upstream");
            return;
        }
    };
    for s in [&client, &server] {
        let _ = s.set_nodelay(true);
    }
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let (up_tx, up_rx) = mpsc::channel(IN_FLIGHT);
    let (down_tx, down_rx) = mpsc::channel(IN_FLIGHT);
    // The first error (a reset, say) ends all four halves at once.
    let _ = tokio::try_join!(
        read_side(client_read, up_tx, delay),
        write_side(server_write, up_rx, timer.clone()),
        read_side(server_read, down_tx, delay),
        write_side(client_write, down_rx, timer),
    );
}

/// Reads chunks and queues each with the moment it is due on the other side.
async fn read_side(
    mut from: OwnedReadHalf,
    to: mpsc::Sender<(Instant, Bytes)>,
    delay: Duration,
) -> std::io::Result<()> {
    let mut buf = BytesMut::with_capacity(CHUNK);
    loop {
        buf.reserve(CHUNK);
        if from.read_buf(&mut buf).await? == 0 {
            // End of stream: dropping `to` lets the writer pass the FIN on after the data.
            return Ok(());
        }
        let due = Instant::now() + delay;
        if to.send((due, buf.split().freeze())).await.is_err() {
            return Ok(());
        }
    }
}

/// Writes each queued chunk once it is due, in order; passes the end of stream on.
async fn write_side(
    mut to: OwnedWriteHalf,
    mut from: mpsc::Receiver<(Instant, Bytes)>,
    timer: Timer,
) -> std::io::Result<()> {
    while let Some((due, chunk)) = from.recv().await {
        timer.sleep_until(due).await;
        to.write_all(&chunk).await?;
    }
    to.shutdown().await
}

/// Precise sleeps for the writers: one thread wakes each waiter at its deadline.
#[derive(Clone)]
struct Timer(Arc<TimerShared>);

struct TimerShared {
    state: Mutex<TimerState>,
    changed: Condvar,
}

#[derive(Default)]
struct TimerState {
    /// Min-heap by (due, seq) through the reversed [`Ord`] of [`Waiter`].
    waiters: BinaryHeap<Waiter>,
    seq: u64,
    stopped: bool,
}

struct Waiter {
    due: Instant,
    seq: u64,
    wake: oneshot::Sender<()>,
}

impl PartialEq for Waiter {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}

impl Eq for Waiter {}

impl PartialOrd for Waiter {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Waiter {
    /// Reversed, so that [`BinaryHeap`] (a max-heap) yields the earliest deadline first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.due, other.seq).cmp(&(self.due, self.seq))
    }
}

impl TimerShared {
    fn lock(&self) -> MutexGuard<'_, TimerState> {
        // The state stays consistent whatever panicked while holding the lock.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Timer {
    fn start() -> anyhow::Result<Self> {
        let shared = Arc::new(TimerShared {
            state: Mutex::new(TimerState::default()),
            changed: Condvar::new(),
        });
        let worker = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("bench-delay-timer".into())
            .spawn(move || run_timer(&worker))
            .context("starting the delay proxy's timer thread")?;
        Ok(Self(shared))
    }

    /// Returns at `due` (at once if it has passed, or if the timer was shut down).
    async fn sleep_until(&self, due: Instant) {
        if due <= Instant::now() {
            return;
        }
        let (wake, woken) = oneshot::channel();
        {
            let mut state = self.0.lock();
            if state.stopped {
                return;
            }
            state.seq += 1;
            let seq = state.seq;
            state.waiters.push(Waiter { due, seq, wake });
        }
        self.0.changed.notify_one();
        let _ = woken.await;
    }

    fn shutdown(&self) {
        self.0.lock().stopped = true;
        self.0.changed.notify_one();
    }
}

fn run_timer(shared: &TimerShared) {
    let mut state = shared.lock();
    loop {
        if state.stopped {
            // Wakes every waiter (their senders are dropped).
            state.waiters.clear();
            return;
        }
        let now = Instant::now();
        while state.waiters.peek().is_some_and(|w| w.due <= now) {
            if let Some(w) = state.waiters.pop() {
                let _ = w.wake.send(());
            }
        }
        state = match state.waiters.peek().map(|w| w.due - now) {
            Some(wait) => {
                shared
                    .changed
                    .wait_timeout(state, wait)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
            None => shared
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An echo server on an ephemeral port.
    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        addr
    }

    #[tokio::test]
    async fn a_round_trip_takes_at_least_twice_the_delay() {
        let delay = Duration::from_millis(5);
        let proxy = DelayProxy::start(echo_server().await, delay).await.unwrap();
        let mut s = TcpStream::connect(proxy.addr()).await.unwrap();
        s.set_nodelay(true).unwrap();
        let mut buf = [0u8; 4];
        // The first exchange also pays for the upstream connect: time the second one.
        for _ in 0..2 {
            let t0 = Instant::now();
            s.write_all(b"ping").await.unwrap();
            s.read_exact(&mut buf).await.unwrap();
            let rtt = t0.elapsed();
            assert_eq!(&buf, b"ping");
            assert!(rtt >= 2 * delay, "round trip {rtt:?} < 2 × {delay:?}");
        }
        proxy.stop().await;
    }

    #[tokio::test]
    async fn chunks_keep_their_order_and_the_stream_ends() {
        let proxy = DelayProxy::start(echo_server().await, Duration::from_millis(1))
            .await
            .unwrap();
        let s = TcpStream::connect(proxy.addr()).await.unwrap();
        let (mut r, mut w) = s.into_split();
        let sent: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let expected = sent.clone();
        let writer = tokio::spawn(async move {
            for part in sent.chunks(1000) {
                w.write_all(part).await.unwrap();
                tokio::task::yield_now().await;
            }
            w.shutdown().await.unwrap();
        });
        let mut got = Vec::new();
        r.read_to_end(&mut got).await.unwrap();
        writer.await.unwrap();
        assert_eq!(got, expected);
    }
}
