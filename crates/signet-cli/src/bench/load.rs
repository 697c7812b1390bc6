//! Running client tasks in parallel and adding up what they measured.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;

use super::http::Client;

/// What one client task counted.
#[derive(Debug, Default)]
pub struct Tally {
    /// Signatures (batch) or pairs (flow).
    pub ops: u64,
    pub requests: u64,
    pub latencies_us: Vec<u64>,
}

impl Tally {
    pub fn add(&mut self, other: Tally) {
        self.ops += other.ops;
        self.requests += other.requests;
        self.latencies_us.extend(other.latencies_us);
    }
}

/// Set by the first failing client so that the others stop at their next request instead of
/// running out the clock.
#[derive(Debug, Default, Clone)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    pub fn raise(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn raised(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Opens `n` connections.
pub async fn connect(addr: SocketAddr, n: usize) -> anyhow::Result<Vec<Client>> {
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        clients.push(Client::connect(addr).await?);
    }
    Ok(clients)
}

/// Runs `work(index, client)` for every client as its own task and waits for all of them.
/// Returns the clients (to reuse their connections) and the results in client order; the first
/// error wins, after every task has ended.
pub async fn each_client<T, F, Fut>(
    clients: Vec<Client>,
    stop: &StopFlag,
    work: F,
) -> anyhow::Result<(Vec<Client>, Vec<T>)>
where
    T: Send + 'static,
    F: Fn(usize, Client) -> Fut,
    Fut: Future<Output = (Client, anyhow::Result<T>)> + Send + 'static,
{
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, client)| {
            let fut = work(i, client);
            let stop = stop.clone();
            tokio::spawn(async move {
                let (client, result) = fut.await;
                if result.is_err() {
                    stop.raise();
                }
                (client, result)
            })
        })
        .collect();
    let mut clients = Vec::with_capacity(tasks.len());
    let mut results = Vec::with_capacity(tasks.len());
    let mut first_error = None;
    for task in tasks {
        let (client, result) = task.await.context("bench client task panicked")?;
        clients.push(client);
        match result {
            Ok(v) => results.push(v),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok((clients, results)),
    }
}
