//! The batch scenario: signHash requests of `--batch` hashes, each spending a SAD that was
//! authorized for exactly those hashes before the timer started.
//!
//! Only signHash is timed: bearer-token check, SAD spend with its audit record (one SQLite
//! write transaction), the key module, Base64 and JSON on both sides. Request bodies are built
//! during pre-authorization, as a signing client would have its hashes ready.
//!
//! How many SADs to pre-authorize is estimated from a short untimed warm-up (which also opens
//! the connections and fills caches) and capped by the raw rate, which the server cannot beat
//! on the same cores. Should the supply still run out before the deadline (the estimate was
//! taken while something else used the machine), the clock stops, more SADs are authorized and
//! the rest of the time is run; the table notes it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use bytes::Bytes;

use super::BenchArgs;
use super::cpu::{CpuMeter, CpuUse};
use super::http::{self, Client, SadReply, SignCount, body};
use super::load::{self, StopFlag, Tally};
use super::progress::{self, Progress};
use super::report::{Kind, Measurement, key_label};
use super::setup::{BenchCredential, Fixture, PIN, random_digests};

/// Warm-up requests per client.
const WARM_UP_PER_CLIENT: usize = 4;
/// Headroom over the measured request rate when sizing the SAD supply. Small, because SADs
/// left unspent stay in the database (with their bound hashes) for the scenarios that follow,
/// and running short only costs an untimed refill.
const SUPPLY_HEADROOM: f64 = 1.25;
/// Headroom over the raw rate, the other bound of the supply (the raw rate may have been
/// measured while something else used the machine).
const RAW_HEADROOM: f64 = 1.3;
/// Timed parts at most, when the SAD supply runs out early.
const MAX_SEGMENTS: usize = 4;
/// What is left of the duration after which a run counts as complete.
const SEGMENT_SLACK: Duration = Duration::from_millis(50);

pub async fn run(
    fixture: &Arc<Fixture>,
    cred: &BenchCredential,
    raw_rate: Option<f64>,
    args: &BenchArgs,
) -> anyhow::Result<Measurement> {
    let label = format!("batch {}", key_label(cred.key_type));
    let batch = args.batch as usize;
    let duration = args.duration();
    fixture.check_signature(cred).await?;
    let clients = load::connect(fixture.addr, args.clients as usize).await?;

    // Warm-up, which doubles as calibration of the request rate.
    let warm_count = clients.len() * WARM_UP_PER_CLIENT;
    let (clients, warm) = preauthorize(fixture, cred, clients, warm_count, batch).await?;
    let started = Instant::now();
    let (clients, _, _) = spend(fixture, cred, clients, warm, None, batch).await?;
    let warm_rate = warm_count as f64 / started.elapsed().as_secs_f64().max(1e-3);
    let mut per_second = warm_rate * SUPPLY_HEADROOM;
    if let Some(raw) = raw_rate {
        per_second = per_second.min(raw * RAW_HEADROOM / batch as f64);
    }

    // Timed segments: normally one. Should the SADs run out early (the estimate was taken on a
    // busy machine), the clock stops, more are authorized, and the remaining time is run.
    let mut clients = clients;
    let mut total = Tally::default();
    let mut elapsed = Duration::ZERO;
    let mut cpu_seconds = Some(CpuUse::default());
    let mut supplied = 0;
    let mut segments = 0;
    while elapsed + SEGMENT_SLACK < duration && segments < MAX_SEGMENTS {
        segments += 1;
        let remaining = duration - elapsed;
        let supply = (per_second * remaining.as_secs_f64()).ceil() as usize + clients.len();
        supplied += supply;
        progress::note(&format!(
            "{label}: pre-authorizing {supply} SADs of {batch} hashes (untimed)"
        ));
        let (ready, pool) = preauthorize(fixture, cred, clients, supply, batch).await?;
        let part = if segments == 1 {
            label.clone()
        } else {
            format!("{label} (part {segments})")
        };
        let progress = Progress::start(&part, remaining);
        let meter = CpuMeter::start();
        let (done, tally, took) = spend(fixture, cred, ready, pool, Some(remaining), batch).await?;
        let secs = took.as_secs_f64();
        cpu_seconds = cpu_seconds.zip(meter.stop()).map(|(s, c)| CpuUse {
            ours: s.ours + c.ours * secs,
            others: s.others + c.others * secs,
        });
        clients = done;
        progress
            .finish(&format!(
                "{:.0} signatures/s, {} requests",
                tally.ops as f64 / took.as_secs_f64().max(1e-9),
                tally.requests
            ))
            .await;
        per_second = tally.requests as f64 / took.as_secs_f64().max(1e-3) * SUPPLY_HEADROOM;
        total.add(tally);
        elapsed += took;
    }
    drop(clients);
    let mut m = Measurement::new(
        Kind::Batch,
        cred.key_type,
        total.ops,
        total.requests,
        elapsed,
        std::mem::take(&mut total.latencies_us),
    );
    let secs = elapsed.as_secs_f64().max(1e-9);
    m.cpu = cpu_seconds.map(|s| CpuUse {
        ours: s.ours / secs,
        others: s.others / secs,
    });
    if segments > 1 {
        m.notes.push(format!(
            "the pre-authorized SADs ran out {} time(s); {supplied} SADs in all, timed in {segments} parts",
            segments - 1
        ));
    }
    if elapsed + SEGMENT_SLACK < duration {
        m.notes.push(format!(
            "timed for {:.1} s only: the SAD supply kept running out",
            elapsed.as_secs_f64()
        ));
    }
    Ok(m)
}

/// Authorizes `count` SADs of `batch` fresh random hashes each, over all connections at once,
/// and returns the matching signHash bodies.
async fn preauthorize(
    fixture: &Arc<Fixture>,
    cred: &BenchCredential,
    clients: Vec<Client>,
    count: usize,
    batch: usize,
) -> anyhow::Result<(Vec<Client>, Vec<Bytes>)> {
    let next = Arc::new(AtomicUsize::new(0));
    let stop = StopFlag::default();
    let (clients, parts) = load::each_client(clients, &stop, |_, mut client| {
        let (fixture, cred, next, stop) = (
            Arc::clone(fixture),
            cred.clone(),
            Arc::clone(&next),
            stop.clone(),
        );
        async move {
            let bearer = &fixture.signers[cred.owner].bearer;
            let mut bodies = Vec::new();
            let result = async {
                while !stop.raised() && next.fetch_add(1, Ordering::Relaxed) < count {
                    let hashes = random_digests(batch)?;
                    let sad: SadReply = client
                        .post_ok(
                            http::AUTHORIZE,
                            Some(bearer),
                            body::authorize(&cred.id, PIN, &hashes),
                        )
                        .await?;
                    bodies.push(body::sign_hash(&cred.id, &sad.sad, &hashes, cred.sign_algo));
                }
                Ok(())
            }
            .await;
            (client, result.map(|()| bodies))
        }
    })
    .await?;
    Ok((clients, parts.into_iter().flatten().collect()))
}

/// Sends the prepared signHash bodies, each once, over all connections until they are spent or
/// `duration` has passed. Returns the tally and the time from start until the last answer.
async fn spend(
    fixture: &Arc<Fixture>,
    cred: &BenchCredential,
    clients: Vec<Client>,
    pool: Vec<Bytes>,
    duration: Option<Duration>,
    batch: usize,
) -> anyhow::Result<(Vec<Client>, Tally, Duration)> {
    let pool = Arc::new(pool);
    let next = Arc::new(AtomicUsize::new(0));
    let stop = StopFlag::default();
    let start = Instant::now();
    let deadline = duration.map(|d| start + d);
    let (clients, tallies) = load::each_client(clients, &stop, |_, mut client| {
        let (fixture, owner, pool, next, stop) = (
            Arc::clone(fixture),
            cred.owner,
            Arc::clone(&pool),
            Arc::clone(&next),
            stop.clone(),
        );
        async move {
            let bearer = &fixture.signers[owner].bearer;
            let mut tally = Tally::default();
            let result = async {
                loop {
                    if stop.raised() || deadline.is_some_and(|d| Instant::now() >= d) {
                        break;
                    }
                    let Some(body) = pool.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        break;
                    };
                    let t0 = Instant::now();
                    let reply: SignCount = client
                        .post_ok(http::SIGN_HASH, Some(bearer), body.clone())
                        .await?;
                    tally.latencies_us.push(t0.elapsed().as_micros() as u64);
                    if reply.signatures.len() != batch {
                        bail!(
                            "signHash of {batch} hashes returned {} signatures",
                            reply.signatures.len()
                        );
                    }
                    tally.ops += batch as u64;
                    tally.requests += 1;
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
