//! The flow scenario: what an interactive signing client does per document — authorize one
//! hash with the PIN (SCAL1), then sign it — in a closed loop per client, each client cycling
//! through its share of the credentials (of several users).
//!
//! Latency is per pair, from sending authorize to receiving the signHash answer. In a closed
//! loop, mean latency ≈ clients / rate (Little's law), so at 32 clients the p99 target of 20 ms
//! needs well over the 1,500 pairs/s of the rate target.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;

use super::BenchArgs;
use super::cpu::CpuMeter;
use super::http::{self, Client, SadReply, SignCount, body};
use super::load::{self, StopFlag, Tally};
use super::progress::Progress;
use super::report::{Kind, Measurement};
use super::setup::{BenchCredential, Fixture, PIN, Signer, random_digests};

/// Untimed pairs per client before the timed run (connections, statement caches, key cache).
const WARM_UP_PAIRS: usize = 2;

/// What the flow loop cycles through: credentials and their owners' access tokens.
pub struct Workload {
    pub creds: Vec<BenchCredential>,
    /// Indexed by [`BenchCredential::owner`].
    pub signers: Vec<Signer>,
}

pub async fn run(fixture: &Arc<Fixture>, args: &BenchArgs) -> anyhow::Result<Measurement> {
    let Some(first) = fixture.flow.first() else {
        bail!("no flow credentials were set up");
    };
    fixture.check_signature(first).await?;
    let clients = load::connect(fixture.addr, args.clients as usize).await?;
    let workload = Arc::new(Workload {
        creds: fixture.flow.clone(),
        signers: fixture.signers.clone(),
    });
    measure(Kind::Flow, &workload, clients, args.duration()).await
}

/// Warms `clients` up, then runs the closed loop on all of them for `duration`, whichever
/// servers they are connected to.
pub async fn measure(
    kind: Kind,
    workload: &Arc<Workload>,
    clients: Vec<Client>,
    duration: Duration,
) -> anyhow::Result<Measurement> {
    let Some(first) = workload.creds.first() else {
        bail!("no flow credentials were set up");
    };
    let key_type = first.key_type;
    let (clients, _, _) = pairs(workload, clients, Limit::Pairs(WARM_UP_PAIRS)).await?;

    let label = Measurement::label(kind, key_type);
    let progress = Progress::start(&label, duration);
    let meter = CpuMeter::start();
    let (clients, mut tally, elapsed) = pairs(workload, clients, Limit::Time(duration)).await?;
    let cpu = meter.stop();
    drop(clients);
    let mut m = Measurement::new(
        kind,
        key_type,
        tally.ops,
        tally.requests,
        elapsed,
        std::mem::take(&mut tally.latencies_us),
    );
    m.cpu = cpu;
    progress
        .finish(&format!("{:.0} pairs/s, {} requests", m.rate(), m.requests))
        .await;
    Ok(m)
}

#[derive(Clone, Copy)]
enum Limit {
    Pairs(usize),
    Time(Duration),
}

/// Runs authorize + signHash pairs on every client until the limit.
async fn pairs(
    workload: &Arc<Workload>,
    clients: Vec<Client>,
    limit: Limit,
) -> anyhow::Result<(Vec<Client>, Tally, Duration)> {
    let n_clients = clients.len();
    let stop = StopFlag::default();
    let start = Instant::now();
    let (clients, tallies) = load::each_client(clients, &stop, |i, mut client| {
        let (workload, stop) = (Arc::clone(workload), stop.clone());
        async move {
            let mut tally = Tally::default();
            let result = async {
                let creds = &workload.creds;
                let mut k = 0usize;
                loop {
                    let more = match limit {
                        Limit::Pairs(n) => k < n,
                        Limit::Time(d) => start.elapsed() < d,
                    };
                    if !more || stop.raised() {
                        break;
                    }
                    let cred = &creds[(i + k * n_clients) % creds.len()];
                    let bearer = &workload.signers[cred.owner].bearer;
                    let hashes = random_digests(1)?;
                    let t0 = Instant::now();
                    let sad: SadReply = client
                        .post_ok(
                            http::AUTHORIZE,
                            Some(bearer),
                            body::authorize(&cred.id, PIN, &hashes),
                        )
                        .await?;
                    let signed: SignCount = client
                        .post_ok(
                            http::SIGN_HASH,
                            Some(bearer),
                            body::sign_hash(&cred.id, &sad.sad, &hashes, cred.sign_algo),
                        )
                        .await?;
                    tally.latencies_us.push(t0.elapsed().as_micros() as u64);
                    if signed.signatures.len() != 1 {
                        bail!(
                            "signHash of one hash returned {} signatures",
                            signed.signatures.len()
                        );
                    }
                    tally.ops += 1;
                    tally.requests += 2;
                    k += 1;
                }
                Ok(())
            }
            .await;
            (client, result.map(|()| tally))
        }
    })
    .await?;
    let elapsed = start.elapsed();
    let mut total = Tally::default();
    for t in tallies {
        total.add(t);
    }
    Ok((clients, total, elapsed))
}
