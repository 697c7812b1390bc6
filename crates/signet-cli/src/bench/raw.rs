//! The raw rate: the key module signing directly, no HTTP, no store, no SAM.
//!
//! One OS thread per core (as many as the tokio runtime has workers by default) calls
//! `sign_digests` with `--batch` digests in a loop, on the very key the server signs with and
//! through the same [`KeyModule`](signet_keys::KeyModule) instance (so the parsed-key cache is
//! warm in both cases).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::cpu::CpuMeter;
use super::progress::Progress;
use super::report::{Kind, Measurement, key_label};
use super::setup::{BenchCredential, Fixture, random_digests};

pub async fn run(
    fixture: &Arc<Fixture>,
    cred: &BenchCredential,
    batch: usize,
    duration: Duration,
    threads: usize,
) -> anyhow::Result<Measurement> {
    let label = format!("raw {}", key_label(cred.key_type));
    // The SAM's own capability, used directly: the floor Signet's signing path is measured
    // against.
    let keys = fixture.node.keys.signer_keys();
    let digests = random_digests(batch)?;
    // Warm-up call: also proves the key and mechanism work before anything is timed.
    keys.sign_digests(&cred.key_ref, cred.key_type, cred.mechanism, &digests)
        .with_context(|| format!("{label}: warm-up signature"))?;

    let progress = Progress::start(&label, duration);
    let meter = CpuMeter::start();
    let cred = cred.clone();
    let measured = tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        let deadline = start + duration;
        let per_thread = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    let (keys, cred, digests) = (&keys, &cred, &digests);
                    scope.spawn(move || -> anyhow::Result<(u64, Vec<u64>)> {
                        let mut latencies = Vec::new();
                        let mut signatures = 0u64;
                        while Instant::now() < deadline {
                            let t0 = Instant::now();
                            let values = keys.sign_digests(
                                &cred.key_ref,
                                cred.key_type,
                                cred.mechanism,
                                digests,
                            )?;
                            latencies.push(t0.elapsed().as_micros() as u64);
                            if values.len() != digests.len() {
                                bail!(
                                    "sign_digests returned {} values for {} digests",
                                    values.len(),
                                    digests.len()
                                );
                            }
                            signatures += values.len() as u64;
                        }
                        Ok((signatures, latencies))
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| {
                    w.join()
                        .map_err(|_| anyhow::anyhow!("raw signing thread panicked"))?
                })
                .collect::<anyhow::Result<Vec<_>>>()
        })?;
        let elapsed = start.elapsed();
        let mut signatures = 0;
        let mut latencies = Vec::new();
        for (n, l) in per_thread {
            signatures += n;
            latencies.extend(l);
        }
        Ok::<_, anyhow::Error>(Measurement::new(
            Kind::Raw,
            cred.key_type,
            signatures,
            0,
            elapsed,
            latencies,
        ))
    })
    .await
    .context("raw signing task")??;
    let mut measured = measured;
    measured.cpu = meter.stop();
    progress
        .finish(&format!(
            "{:.0} signatures/s on {threads} thread(s)",
            measured.rate()
        ))
        .await;
    Ok(measured)
}
