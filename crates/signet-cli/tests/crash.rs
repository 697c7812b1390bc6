//! Crash consistency (issue 6): several clients run authorize + signHash against two nodes on
//! one PostgreSQL database; node A is killed with SIGKILL in the middle of the load and a new
//! node A is started on the same database. Then:
//!
//! - `signet audit verify` passes: a transaction cut off by the crash left no half-written
//!   record and no fork (PostgreSQL rolled it back when the connection died);
//! - every signature a client received has its `signature.create` record carrying that hash;
//! - no SAD was spent twice: each request signs a hash of its own, so a hash appears in at most
//!   one `signature.create` record, and no client got two 200s for one SAD — including the
//!   clients that, having lost an answer in the crash, retried the same SAD on the other node.
//!
//! Always on PostgreSQL; skipped in the PKCS#11 pass (see multinode.rs).

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use common::pg::PgDatabase;
use common::*;
use serde_json::{Value, json};

const PIN: &str = "1357";
const CLIENTS: usize = 6;

/// What one signHash attempt ended with.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Signed(Vec<u8>),
    /// 400 Invalid SAD: already spent (by an attempt whose answer was lost in the crash).
    Refused,
    /// No HTTP answer (the node died) or 5xx.
    Lost,
}

/// The two nodes' base URLs; A's changes when it is restarted.
struct Nodes {
    urls: [RwLock<String>; 2],
    http: reqwest::Client,
}

impl Nodes {
    async fn post(
        &self,
        node: usize,
        path: &str,
        token: &str,
        body: &Value,
    ) -> Option<(u16, Value)> {
        let url = format!("{}{path}", self.urls[node].read().unwrap());
        let resp = self
            .http
            .post(url)
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .ok()?;
        let status = resp.status().as_u16();
        let body = resp.json::<Value>().await.unwrap_or(Value::Null);
        Some((status, body))
    }

    async fn sign(&self, node: usize, token: &str, cred: &str, sad: &str, d: &[u8]) -> Outcome {
        let body = json!({
            "credentialID": cred, "SAD": sad, "signAlgo": ECDSA_SHA256, "hashes": [b64(d)],
        });
        match self
            .post(node, "/csc/v2/signatures/signHash", token, &body)
            .await
        {
            Some((200, v)) => Outcome::Signed(unb64(v["signatures"][0].as_str().unwrap())),
            Some((400, v)) if v["error_description"] == "Invalid SAD" => Outcome::Refused,
            Some((status, _)) if status >= 500 => Outcome::Lost,
            None => Outcome::Lost,
            Some(other) => panic!("unexpected signHash answer {other:?}"),
        }
    }
}

/// One client's record of a SAD: the hash it was used for and every signHash outcome.
#[derive(Debug)]
struct Attempt {
    client: usize,
    message: String,
    digest: Vec<u8>,
    outcomes: Vec<Outcome>,
}

async fn client(
    nodes: Arc<Nodes>,
    stop: Arc<AtomicBool>,
    lost: Arc<AtomicUsize>,
    id: usize,
    token: String,
    cred: String,
) -> Vec<Attempt> {
    let mut attempts = Vec::new();
    let mut i = 0usize;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let auth_node = (id + i) % 2;
        let body = json!({
            "credentialID": cred, "numSignatures": 1,
            "authData": [{ "id": "PIN", "value": PIN }],
        });
        let sad = match nodes
            .post(auth_node, "/csc/v2/credentials/authorize", &token, &body)
            .await
        {
            Some((200, v)) => v["SAD"].as_str().unwrap().to_owned(),
            Some((status, _)) if status >= 500 => {
                lost.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            None => {
                // Node down: back off a little before trying again (maybe the other node).
                lost.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            Some(other) => panic!("unexpected authorize answer {other:?}"),
        };
        let message = format!("client {id} request {i}");
        let digest = sha256(message.as_bytes());
        // A third of the SADs are spent on the node that issued them, the rest on the other.
        let sign_node = if i.is_multiple_of(3) {
            auth_node
        } else {
            1 - auth_node
        };
        let first = nodes.sign(sign_node, &token, &cred, &sad, &digest).await;
        let mut outcomes = vec![first.clone()];
        if first == Outcome::Lost {
            // The answer was lost: the spend may or may not have committed. Try the same SAD on
            // the other node: it must sign only if the first attempt did not.
            lost.fetch_add(1, Ordering::Relaxed);
            outcomes.push(
                nodes
                    .sign(1 - sign_node, &token, &cred, &sad, &digest)
                    .await,
            );
        }
        attempts.push(Attempt {
            client: id,
            message,
            digest,
            outcomes,
        });
    }
    attempts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_mid_load_loses_no_audit_record_and_spends_no_sad_twice() {
    if key_backend() == "pkcs11" {
        eprintln!("the crash test runs on the software key module only; skipped");
        return;
    }
    if common::pg::skipped() {
        return;
    }
    let db = PgDatabase::create();
    let mut key = [0u8; 32];
    aws_lc_rs::rand::fill(&mut key).unwrap();
    let master_key = data_encoding::HEXLOWER.encode(&key);
    let env = [
        ("SIGNET_DATABASE_URL", db.url.as_str()),
        ("SIGNET_MASTER_KEY", master_key.as_str()),
        // Closed-loop clients on 127.0.0.1 as fast as they can: a load test, not a client the
        // per-address rate limit is meant for.
        ("SIGNET_HTTP__REQUESTS_PER_SECOND", "0"),
    ];
    // Node A is restarted under the same node name, as a supervisor would (its data directory
    // is not reused here, the name is what matters): it takes its sealer lease back at once.
    let node = |name: &'static str| {
        let mut e = env.to_vec();
        e.push(("SIGNET_AUDIT__NODE_ID", name));
        e
    };
    // A seals first (it starts first and takes the lease), so the kill hits the sealer.
    let a = Server::start_with_env(&node("node-a"));
    let b = Server::start_with_env(&node("node-b"));
    let user = a.add_user("kim");
    let creds: Vec<String> = (0..CLIENTS)
        .map(|_| a.create_credential(&user, PIN, &["--scal", "1"]))
        .collect();
    let token = b.login(&user).await;
    let nodes = Arc::new(Nodes {
        urls: [RwLock::new(a.url.clone()), RwLock::new(b.url.clone())],
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
    });
    let stop = Arc::new(AtomicBool::new(false));
    let lost = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|id| {
            tokio::spawn(client(
                nodes.clone(),
                stop.clone(),
                lost.clone(),
                id,
                token.clone(),
                creds[id].clone(),
            ))
        })
        .collect();

    // Load, kill -9 node A mid-load, keep loading on B, restart A, load on both again.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    a.signal("KILL");
    tokio::time::sleep(Duration::from_millis(700)).await;
    let a2 = Server::start_with_env(&node("node-a"));
    *nodes.urls[0].write().unwrap() = a2.url.clone();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut attempts = Vec::new();
    for c in clients {
        attempts.extend(c.await.unwrap());
    }
    drop(a);
    let stopped = std::time::Instant::now();

    // Everything is sealed within one interval (1 s) of the load stopping, plus the time
    // `audit verify` takes, and the log verifies on both nodes.
    assert!(
        wait_until(Duration::from_secs(3), || a2
            .cli_ok(&["audit", "verify"], &[])
            .contains("every record is sealed")),
        "records unsealed {:?} after the load stopped",
        stopped.elapsed()
    );
    for node in [&a2, &b] {
        let out = node.cli(&["audit", "verify"], &[]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // signature.create records by the hash they signed.
    let audit = b.audit_export();
    let mut signed_in_audit: HashMap<String, usize> = HashMap::new();
    for r in audit.iter().filter(|r| r["kind"] == "signature.create") {
        let detail: Value = serde_json::from_str(r["detail"].as_str().unwrap()).unwrap();
        for h in detail["hashes"].as_array().unwrap() {
            *signed_in_audit
                .entry(h.as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    let mut certs = Vec::new();
    for cred in &creds {
        certs.push(b.certificate(&token, cred).await);
    }

    let (mut received, mut retried, mut spent_before_crash) = (0, 0, 0);
    for at in &attempts {
        let hex = data_encoding::HEXLOWER.encode(&at.digest);
        let in_audit = signed_in_audit.get(&hex).copied().unwrap_or(0);
        assert!(in_audit <= 1, "hash {hex} signed {in_audit} times");
        let signatures: Vec<&Vec<u8>> = at
            .outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Signed(sig) => Some(sig),
                _ => None,
            })
            .collect();
        assert!(signatures.len() <= 1, "one SAD, two signatures: {at:?}");
        if let Some(sig) = signatures.first() {
            verify(
                &certs[at.client],
                ECDSA_SHA256,
                SHA256,
                at.message.as_bytes(),
                sig,
            )
            .unwrap();
            received += 1;
            assert_eq!(
                in_audit, 1,
                "a received signature without its audit record: {hex}"
            );
        }
        if at.outcomes.len() > 1 {
            retried += 1;
            // A retry is refused exactly when the lost attempt had spent the SAD.
            if at.outcomes[1] == Outcome::Refused {
                spent_before_crash += 1;
                assert_eq!(in_audit, 1, "refused as spent, but no record: {hex}");
            }
        }
    }
    // Every record belongs to an attempt (the hashes are unique per request).
    let attempted: std::collections::HashSet<String> = attempts
        .iter()
        .map(|a| data_encoding::HEXLOWER.encode(&a.digest))
        .collect();
    for hash in signed_in_audit.keys() {
        assert!(attempted.contains(hash), "unknown hash {hash} in the audit");
    }
    eprintln!(
        "crash test: {} SADs, {received} signatures received, {} in the audit, {retried} \
         retried after a lost answer ({spent_before_crash} of them spent by the lost request), \
         {} requests lost",
        attempts.len(),
        signed_in_audit.len(),
        lost.load(Ordering::Relaxed)
    );
    assert!(received > 20, "the load ran ({received} signatures)");
    assert!(
        lost.load(Ordering::Relaxed) > 0,
        "the crash happened under load"
    );
    drop((a2, b));
    drop(db);
}
