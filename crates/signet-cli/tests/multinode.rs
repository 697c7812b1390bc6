//! Several `signet serve` nodes on one PostgreSQL database are one service (issue 6): a SAD
//! issued by one node is spent once on another; concurrent signHash requests with one SAD spread
//! over both nodes give one success; a TOTP code accepted on one node is refused on the other;
//! the audit chain stays one linear, verifiable chain under concurrent signing on both nodes.
//!
//! Each node has its own data directory but the same master key (SIGNET_MASTER_KEY) and the same
//! SIGNET_DATABASE_URL, as in production. These tests always use PostgreSQL (see common/pg.rs for
//! the server they expect). They run on the software key module: PKCS#11 nodes would have to
//! share one token, which the per-server SoftHSM2 tokens of the harness are not, so the PKCS#11
//! pass of the suite skips them.

mod common;

use std::sync::Arc;

use common::pg::PgDatabase;
use common::*;
use serde_json::{Value, json};

const PIN: &str = "2468";

/// Two nodes on a fresh database. Field order matters: the nodes are killed before the
/// database is dropped.
pub struct Cluster {
    pub a: Server,
    pub b: Server,
    pub master_key: String,
    _db: PgDatabase,
}

/// A random master key as SIGNET_MASTER_KEY takes it (64 hex digits).
fn random_master_key() -> String {
    let mut key = [0u8; 32];
    aws_lc_rs::rand::fill(&mut key).unwrap();
    data_encoding::HEXLOWER.encode(&key)
}

/// Starts two nodes at the same moment on an empty database (so that both race to migrate the
/// schema and to create the embedded CA), or `None` in the PKCS#11 pass.
fn cluster() -> Option<Cluster> {
    cluster_with(&[])
}

/// [`cluster`] with more environment for both nodes.
fn cluster_with(extra: &[(&str, &str)]) -> Option<Cluster> {
    if key_backend() == "pkcs11" {
        eprintln!("multi-node tests run on the software key module only; skipped");
        return None;
    }
    if common::pg::skipped() {
        return None;
    }
    let db = PgDatabase::create();
    let master_key = random_master_key();
    let mut env = vec![
        ("SIGNET_DATABASE_URL", db.url.as_str()),
        ("SIGNET_MASTER_KEY", master_key.as_str()),
    ];
    env.extend_from_slice(extra);
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| Server::start_with_env(&env));
        let b = s.spawn(|| Server::start_with_env(&env));
        (a.join().unwrap(), b.join().unwrap())
    });
    for node in [&a, &b] {
        assert!(
            node.log_lines()
                .iter()
                .any(|l| l.contains("store: PostgreSQL")),
            "the node runs on PostgreSQL: {:?}",
            node.log_lines()
        );
    }
    Some(Cluster {
        a,
        b,
        master_key,
        _db: db,
    })
}

#[tokio::test]
async fn nodes_share_one_ca_and_refuse_another_master_key() {
    let Some(c) = cluster() else { return };
    // Both nodes started together on an empty database: one CA, created once.
    let pem_a = std::fs::read_to_string(c.a.ca_pem()).unwrap();
    let pem_b = std::fs::read_to_string(c.b.ca_pem()).unwrap();
    assert_eq!(pem_a, pem_b, "one embedded CA for the cluster");
    let audit = c.a.audit_export();
    assert_eq!(
        audit.iter().filter(|r| r["kind"] == "ca.create").count(),
        1,
        "{audit:?}"
    );
    // A user enrolled through node A signs in on node B.
    let user = c.a.add_user("nina");
    c.b.login(&user).await;
    // A node with another master key is refused at start, before it can misjudge a PIN.
    let out = c.a.cli(
        &["admin", "user", "list"],
        &[("SIGNET_MASTER_KEY", &random_master_key())],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("another master key"), "{err}");
    assert!(!err.contains(&c.master_key));
}

#[tokio::test]
async fn a_sad_issued_by_one_node_is_spent_once_on_the_other() {
    let Some(c) = cluster() else { return };
    let user = c.a.add_user("ada");
    let cred = c.a.create_credential(&user, PIN, &["--scal", "1"]);
    // Tokens live in the database too: a token from A works on B.
    let token = c.a.login(&user).await;
    let d = sha256(b"issued on A, spent on B");
    let sad = c.a.sad(&token, &cred, 1, None, None, PIN, None).await;
    let reply =
        c.b.sign_hash(
            &token,
            &cred,
            &sad,
            std::slice::from_ref(&d),
            ECDSA_SHA256,
            json!({}),
        )
        .await;
    let sig = signatures(&reply).remove(0);
    // The key (sealed under the shared master key, stored in the database) signed on B.
    let cert = c.a.certificate(&token, &cred).await;
    verify(
        &cert,
        ECDSA_SHA256,
        SHA256,
        b"issued on A, spent on B",
        &sig,
    )
    .unwrap();
    for node in [&c.a, &c.b] {
        let replay = node
            .sign_hash(
                &token,
                &cred,
                &sad,
                std::slice::from_ref(&d),
                ECDSA_SHA256,
                json!({}),
            )
            .await;
        assert_eq!(expect_error(&replay, 400, "invalid_request"), "Invalid SAD");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sign_hash_with_one_sad_on_both_nodes_succeeds_once() {
    let Some(c) = cluster() else { return };
    let user = c.a.add_user("cora");
    let cred = c.a.create_credential(&user, PIN, &[]);
    let token = c.a.login(&user).await;
    let d = sha256(b"race across nodes");
    let otp = c.a.fresh_otp(&user);
    let sad =
        c.b.sad(
            &token,
            &cred,
            1,
            Some(std::slice::from_ref(&d)),
            Some(SHA256),
            PIN,
            Some(&otp),
        )
        .await;
    let body =
        json!({ "credentialID": cred, "SAD": sad, "hashes": [b64(&d)], "signAlgo": ECDSA_SHA256 });
    let c = Arc::new(c);
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (c, barrier, body, token) =
                (c.clone(), barrier.clone(), body.clone(), token.clone());
            tokio::spawn(async move {
                let node = if i % 2 == 0 { &c.a } else { &c.b };
                barrier.wait().await;
                node.post("/csc/v2/signatures/signHash", Some(&token), &body)
                    .await
            })
        })
        .collect();
    let mut ok = Vec::new();
    for t in tasks {
        let reply = t.await.unwrap();
        if reply.0 == 200 {
            ok.push(reply.1);
        } else {
            assert_eq!(
                expect_error(&reply, 400, "invalid_request"),
                "Invalid SAD",
                "{reply:?}"
            );
        }
    }
    assert_eq!(ok.len(), 1, "exactly one success across both nodes: {ok:?}");
    let cert = c.a.certificate(&token, &cred).await;
    let sig = unb64(ok[0]["signatures"][0].as_str().unwrap());
    verify(&cert, ECDSA_SHA256, SHA256, b"race across nodes", &sig).unwrap();
    let audit = c.b.audit_export();
    assert_eq!(
        audit
            .iter()
            .filter(|r| r["kind"] == "signature.create" && r["credential_id"] == cred.as_str())
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_totp_code_accepted_on_one_node_is_refused_on_the_other() {
    let Some(c) = cluster() else { return };
    let user = c.a.add_user("tess");
    let cred = c.a.create_credential(&user, PIN, &["--multisign", "2"]);
    let token = c.a.login(&user).await;
    let d = [sha256(b"totp once")];
    // In sequence: A accepts the code, B refuses it.
    let otp = c.a.fresh_otp(&user);
    let first =
        c.a.authorize(&token, &cred, 1, Some(&d), Some(SHA256), PIN, Some(&otp))
            .await;
    assert_eq!(first.0, 200, "{first:?}");
    let again =
        c.b.authorize(&token, &cred, 1, Some(&d), Some(SHA256), PIN, Some(&otp))
            .await;
    assert_eq!(
        expect_error(&again, 400, "invalid_authentication_data"),
        "OTP already used: wait for the next code of the authenticator"
    );
    // At once: one fresh code sent to both nodes four times each, one acceptance. (The losers
    // are replays, which do not count towards the lock-out.)
    let creds = [
        c.a.create_credential(&user, PIN, &[]),
        c.b.create_credential(&user, PIN, &[]),
    ];
    let otp = c.a.fresh_otp(&user);
    let c = Arc::new(c);
    let barrier = Arc::new(tokio::sync::Barrier::new(8));
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (c, barrier, token, otp) = (c.clone(), barrier.clone(), token.clone(), otp.clone());
            let (cred, d) = (creds[i % 2].clone(), d.clone());
            tokio::spawn(async move {
                let node = if i % 2 == 0 { &c.a } else { &c.b };
                barrier.wait().await;
                node.authorize(&token, &cred, 1, Some(&d), Some(SHA256), PIN, Some(&otp))
                    .await
            })
        })
        .collect();
    let mut accepted = 0;
    for t in tasks {
        let reply = t.await.unwrap();
        if reply.0 == 200 {
            accepted += 1;
        } else {
            assert_eq!(
                expect_error(&reply, 400, "invalid_authentication_data"),
                "OTP already used: wait for the next code of the authenticator"
            );
        }
    }
    assert_eq!(accepted, 1, "one TOTP code, one acceptance across nodes");
}

/// One authorize + signHash pair: the SAD from `auth`, spent on `sign`. Returns the signHash
/// reply.
async fn pair(
    auth: &Server,
    sign: &Server,
    token: &str,
    cred: &str,
    digest: &[u8],
) -> (u16, Value) {
    let sad = auth.sad(token, cred, 1, None, None, PIN, None).await;
    sign.sign_hash(
        token,
        cred,
        &sad,
        &[digest.to_vec()],
        ECDSA_SHA256,
        json!({}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_audit_chain_stays_linear_under_concurrent_signing_on_both_nodes() {
    let Some(c) = cluster() else { return };
    const CLIENTS: usize = 8;
    const PAIRS: usize = 12;
    let user = c.a.add_user("vera");
    let creds: Vec<String> = (0..CLIENTS)
        .map(|i| {
            let node = if i % 2 == 0 { &c.a } else { &c.b };
            node.create_credential(&user, PIN, &["--scal", "1"])
        })
        .collect();
    let token = c.b.login(&user).await;
    let before = c.a.audit_export().len();
    let c = Arc::new(c);
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (c, token, cred) = (c.clone(), token.clone(), creds[client].clone());
            tokio::spawn(async move {
                for i in 0..PAIRS {
                    // Authorize on one node and sign on the other, alternating.
                    let (auth, sign) = if (client + i) % 2 == 0 {
                        (&c.a, &c.b)
                    } else {
                        (&c.b, &c.a)
                    };
                    let d = sha256(format!("client {client} pair {i}").as_bytes());
                    signatures(&pair(auth, sign, &token, &cred, &d).await);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    // Every pair appended exactly two records (credential.authorize, signature.create).
    let expected = before + 2 * CLIENTS * PAIRS;
    let audit = c.a.audit_export();
    assert_eq!(audit.len(), expected);
    // Each node appends to chains of its own, each chain dense and linked.
    let mut chains: std::collections::BTreeMap<String, Vec<&Value>> = Default::default();
    for r in &audit {
        chains
            .entry(r["chain"].as_str().unwrap().to_owned())
            .or_default()
            .push(r);
    }
    for (name, records) in &chains {
        for (i, r) in records.iter().enumerate() {
            assert_eq!(r["chain_seq"], json!(i + 1), "chain {name} is dense");
            if i > 0 {
                assert_eq!(
                    r["prev_hash"],
                    records[i - 1]["hash"],
                    "{name} linked at {}",
                    i + 1
                );
            }
        }
    }
    let node_names: std::collections::BTreeSet<&str> = chains
        .keys()
        .map(|c| c.split('/').next().unwrap())
        .collect();
    assert_eq!(
        node_names.len(),
        2,
        "both nodes have chains: {:?}",
        chains.keys()
    );
    // Both nodes run a sealer; within a few intervals everything is sealed, in one sequence of
    // checkpoints that both nodes verify.
    assert!(
        wait_until(std::time::Duration::from_secs(10), || c
            .a
            .cli_ok(&["audit", "verify"], &[])
            .contains("every record is sealed")),
        "records left unsealed"
    );
    assert_eq!(
        audit
            .iter()
            .filter(|r| r["kind"] == "signature.create")
            .count(),
        CLIENTS * PAIRS
    );
    for node in [&c.a, &c.b] {
        let out = node.cli_ok(&["audit", "verify"], &[]);
        assert!(
            out.contains(&format!("audit log OK: {expected} records")),
            "{out}"
        );
    }
}

/// Flow throughput (authorize + signHash pairs) of one node and of two nodes on one database,
/// for BENCHMARKS.md: `cargo test --release -p signet-cli --test multinode -- --ignored
/// --nocapture`. `signet bench --database-url` measures one in-process node; this drives real
/// `signet serve` processes, so it can put two behind one database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark"]
async fn flow_throughput_one_and_two_nodes() {
    // 32 closed-loop clients on 127.0.0.1: no per-address rate limit for the measurement.
    let Some(c) = cluster_with(&[("SIGNET_HTTP__REQUESTS_PER_SECOND", "0")]) else {
        return;
    };
    const CLIENTS: usize = 32;
    let seconds: u64 = std::env::var("SIGNET_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let user = c.a.add_user("bench");
    let creds: Vec<String> = (0..CLIENTS)
        .map(|_| c.a.create_credential(&user, PIN, &["--scal", "1"]))
        .collect();
    let token = c.a.login(&user).await;
    let c = Arc::new(c);
    for nodes in [1usize, 2] {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let start = std::time::Instant::now();
        let tasks: Vec<_> = (0..CLIENTS)
            .map(|i| {
                let (c, stop, token, cred) =
                    (c.clone(), stop.clone(), token.clone(), creds[i].clone());
                tokio::spawn(async move {
                    let node = if nodes == 2 && i % 2 == 1 { &c.b } else { &c.a };
                    let mut latencies = Vec::new();
                    let mut n = 0u64;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let t0 = std::time::Instant::now();
                        let d = sha256(format!("{nodes} {i} {n}").as_bytes());
                        signatures(&pair(node, node, &token, &cred, &d).await);
                        latencies.push(t0.elapsed());
                        n += 1;
                    }
                    latencies
                })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_secs(seconds)).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let elapsed = start.elapsed();
        all.sort();
        println!(
            "PostgreSQL, {nodes} node(s), {CLIENTS} clients: {} pairs in {elapsed:.1?} = {:.0} pairs/s, \
             p50 {:?}, p99 {:?}",
            all.len(),
            all.len() as f64 / elapsed.as_secs_f64(),
            all[all.len() / 2],
            all[all.len() * 99 / 100]
        );
    }
    let out = c.a.cli_ok(&["audit", "verify"], &[]);
    assert!(out.contains("audit log OK"), "{out}");
}
