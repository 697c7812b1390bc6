//! The store's side of `signet bench`'s flow, without HTTP: authorize + sign pairs from 32
//! tasks on any backend (ignored tests `bench_authorize_sign_pairs` next to each backend; run
//! them with `--release -- --ignored --nocapture`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::conformance::{sad, seeded, spend};
use crate::{NewAuditEvent, SadOutcome, Store, TokenKind, TokenRecord};

/// Runs `pairs` authorize + sign pairs in each of 32 tasks, each SAD bound to `hashes` hashes
/// and spent whole, prints the rate and latencies and returns the number of audit records.
pub(crate) async fn authorize_sign_pairs(store: Arc<dyn Store>, hashes: u8, pairs: u32) -> i64 {
    const TASKS: u32 = 32;
    seeded(&*store).await;
    let token = TokenRecord {
        token_hash: [0xee; 32],
        user_id: 1,
        kind: TokenKind::Access,
        family: None,
        expires_at: i64::MAX,
    };
    store.insert_token(token).await.unwrap();
    let start = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| tokio::spawn(pairs_of_one_client(store.clone(), t, hashes, pairs)))
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let elapsed = start.elapsed();
    all.sort();
    println!(
        "{} pairs in {elapsed:?}: {:.0} pairs/s, p50 {:?}, p99 {:?}",
        all.len(),
        all.len() as f64 / elapsed.as_secs_f64(),
        all[all.len() / 2],
        all[all.len() * 99 / 100]
    );
    2 + i64::from(TASKS * pairs) * 2
}

async fn pairs_of_one_client(
    store: Arc<dyn Store>,
    t: u32,
    hashes: u8,
    pairs: u32,
) -> Vec<Duration> {
    let bound: Vec<Vec<u8>> = (0..hashes).map(|i| vec![i; 32]).collect();
    let mut latencies = Vec::new();
    for i in 0..pairs {
        let t0 = Instant::now();
        let mut h = [0u8; 32];
        h[..4].copy_from_slice(&t.to_be_bytes());
        h[4..8].copy_from_slice(&i.to_be_bytes());
        // authorize: token + credential lookups, success with SAD + audit
        store.token(&[0xee; 32], 0).await.unwrap().unwrap();
        store.credential("c1").await.unwrap().unwrap();
        let mut s = sad(0, "c1", u32::from(hashes), Some(bound.clone()));
        s.sad_hash = h;
        let detail = json!({"numSignatures": hashes});
        let audit = NewAuditEvent::new("credential.authorize", "alice", Some("c1"), detail);
        store.record_authorization_success(s, audit).await.unwrap();
        // sign: token + credential lookups, spend with audit
        store.token(&[0xee; 32], 0).await.unwrap().unwrap();
        store.credential("c1").await.unwrap().unwrap();
        let spent = spend(u32::from(hashes), bound.clone());
        let out = store.decide_sad(h, spent).await.unwrap();
        assert!(matches!(out, SadOutcome::Spent(_)));
        latencies.push(t0.elapsed());
        tokio::task::yield_now().await;
    }
    latencies
}
