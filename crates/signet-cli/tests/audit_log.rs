//! The audit log against insiders (issue 13), end to end on a real server and its database
//! (SQLite, or PostgreSQL in the suite's PostgreSQL pass):
//!
//! - the forgery of the issue (records removed, every hash recomputed, heads moved) is found by
//!   the MACs; so are records re-attributed or inserted;
//! - someone who also has the master key (and so can recompute MACs) is found by the signed
//!   checkpoints;
//! - removing the newest records together with the newest checkpoints leaves a log that looks
//!   whole, and is found against a checkpoint kept elsewhere;
//! - an altered checkpoint, or one signed by another key (even with that key's certificate
//!   added to the database), is refused;
//! - a record's inclusion proof checks offline with the audit certificate alone;
//! - checkpoints are written to `audit.checkpoint_dir` as they are made;
//! - after kill -9 and a restart, every record is sealed within one interval;
//! - a log written before keyed chains is upgraded and sealed at the first start.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

const PIN: &str = "8642";

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A server with a signer who authorized and signed `pairs` times.
async fn server_with_signatures(env: &[(&str, &str)], pairs: u8) -> Server {
    let server = Server::start_with_env(env);
    sign_pairs(&server, "alice", pairs).await;
    server
}

async fn sign_pairs(server: &Server, username: &str, pairs: u8) {
    let user = server.add_user(username);
    let cred = server.create_credential(&user, PIN, &["--scal", "1"]);
    let token = server.login(&user).await;
    for i in 0..pairs {
        let sad = server.sad(&token, &cred, 1, None, None, PIN, None).await;
        let d = sha256(&[i]);
        signatures(
            &server
                .sign_hash(&token, &cred, &sad, &[d], ECDSA_SHA256, json!({}))
                .await,
        );
    }
}

/// Waits until `audit verify` reports every record sealed (the server seals every second).
fn wait_sealed(server: &Server, within: Duration) -> String {
    let start = Instant::now();
    loop {
        let out = server.cli(&["audit", "verify"], &[]);
        let text = stdout(&out);
        assert!(out.status.success(), "{text}{}", stderr(&out));
        if text.contains("every record is sealed") {
            return text;
        }
        assert!(
            start.elapsed() < within,
            "not sealed within {within:?}: {text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn verify(server: &Server, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["audit", "verify"];
    args.extend_from_slice(extra);
    server.cli(&args, &[])
}

#[track_caller]
fn assert_fails(out: &std::process::Output, code: i32, says: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}{}",
        stdout(out),
        stderr(out)
    );
    assert!(
        stderr(out).contains(says),
        "expected {says:?} in: {}",
        stderr(out)
    );
}

fn hex(text: &str) -> Vec<u8> {
    data_encoding::HEXLOWER.decode(text.as_bytes()).unwrap()
}

/// A record of `audit export` with its hash recomputed by the published formula
/// (`signet_store::audit`), as an attacker with the database would.
fn rehash(r: &Value, chain_seq: i64, prev: [u8; 32]) -> [u8; 32] {
    signet_store::audit::record_hash_v2(
        r["chain"].as_str().unwrap(),
        chain_seq,
        r["time_ms"].as_i64().unwrap(),
        r["kind"].as_str().unwrap(),
        r["actor"].as_str().unwrap(),
        r["credential_id"].as_str(),
        r["detail"].as_str().unwrap(),
        &prev,
    )
}

fn blob(server: &Server, bytes: &[u8]) -> String {
    let h = data_encoding::HEXLOWER.encode(bytes);
    match server.database_url() {
        Some(_) => format!("'\\x{h}'::bytea"),
        None => format!("X'{h}'"),
    }
}

/// Rewrites the server's chain (the one holding a record of `kind`) as `edit` leaves it and
/// relinks it: recomputed hashes, renumbered positions, the head moved. With `mac_key`, the MACs
/// are recomputed too (an attacker who has the master key); without, each record keeps its own.
fn rewrite_chain(
    server: &Server,
    kind: &str,
    edit: impl FnOnce(&mut Vec<Value>),
    mac_key: Option<&signet_store::AuditKey>,
) {
    let records = server.audit_export();
    let chain = records
        .iter()
        .find(|r| r["kind"] == kind)
        .expect("a record of that kind")["chain"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut chain_records: Vec<Value> = records
        .into_iter()
        .filter(|r| r["chain"] == chain.as_str())
        .collect();
    let before: Vec<i64> = chain_records
        .iter()
        .map(|r| r["seq"].as_i64().unwrap())
        .collect();
    edit(&mut chain_records);
    let mut sql = String::new();
    for seq in &before {
        if !chain_records.iter().any(|r| r["seq"] == *seq) {
            sql += &format!("DELETE FROM audit WHERE seq = {seq};");
        }
    }
    let mut prev = [0u8; 32];
    let mut pos = 0;
    for r in &chain_records {
        pos += 1;
        let hash = rehash(r, pos, prev);
        let mac = match mac_key {
            Some(key) => key.mac(&hash).to_vec(),
            None => hex(r["mac"].as_str().unwrap()),
        };
        sql += &format!(
            "UPDATE audit SET chain_seq = {pos}, actor = '{}', prev_hash = {}, hash = {}, mac = {} WHERE seq = {};",
            r["actor"].as_str().unwrap(),
            blob(server, &prev),
            blob(server, &hash),
            blob(server, &mac),
            r["seq"]
        );
        prev = hash;
    }
    sql += &format!(
        "UPDATE audit_chain SET seq = {pos}, hash = {} WHERE chain = '{chain}';",
        blob(server, &prev)
    );
    server.db_exec(&sql);
}

/// Removes every record of `kind` from its chain and relinks the rest.
fn remove_and_relink(server: &Server, kind: &str, mac_key: Option<&signet_store::AuditKey>) {
    rewrite_chain(
        server,
        kind,
        |records| records.retain(|r| r["kind"] != kind),
        mac_key,
    );
}

/// The forgery: every `credential.authorize` record deleted, the hashes recomputed with
/// the formula, the head updated. The MACs (keyed by the master key) give it away.
#[tokio::test]
async fn forgery_with_database_access_alone_is_detected() {
    let mut server = server_with_signatures(&[], 3).await;
    assert!(server.terminate().success());
    assert!(verify(&server, &[]).status.success());
    remove_and_relink(&server, "credential.authorize", None);
    let out = verify(&server, &[]);
    assert_fails(&out, 2, "MAC does not verify");
}

/// A `signature.create` record re-attributed to another user, and a forged record inserted.
#[tokio::test]
async fn reattributed_and_inserted_records_are_detected() {
    let mut server = server_with_signatures(&[], 2).await;
    assert!(server.terminate().success());
    let records = server.audit_export();
    let sig = records
        .iter()
        .find(|r| r["kind"] == "signature.create")
        .unwrap();
    server.db_exec(&format!(
        "UPDATE audit SET actor = 'mallory' WHERE seq = {}",
        sig["seq"]
    ));
    assert_fails(&verify(&server, &[]), 2, "record altered");
    server.db_exec(&format!(
        "UPDATE audit SET actor = 'alice' WHERE seq = {}",
        sig["seq"]
    ));
    assert!(verify(&server, &[]).status.success());

    // A forged record at the end of a chain, hash and link right, head moved: no valid MAC.
    let last = records
        .iter()
        .rfind(|r| r["chain"] == sig["chain"])
        .unwrap();
    let mut forged = last.clone();
    forged["kind"] = json!("credential.unlock");
    forged["actor"] = json!("admin");
    forged["credential_id"] = Value::Null;
    forged["detail"] = json!("{}");
    let pos = last["chain_seq"].as_i64().unwrap() + 1;
    let prev: [u8; 32] = hex(last["hash"].as_str().unwrap()).try_into().unwrap();
    let hash = rehash(&forged, pos, prev);
    server.db_exec(&format!(
        "INSERT INTO audit (chain, chain_seq, version, time_ms, kind, actor, credential_id, detail, prev_hash, hash, mac) \
         VALUES ('{}', {pos}, 2, {}, 'credential.unlock', 'admin', NULL, '{{}}', {}, {}, {});
         UPDATE audit_chain SET seq = {pos}, hash = {} WHERE chain = '{}';",
        last["chain"].as_str().unwrap(),
        last["time_ms"],
        blob(&server, &prev),
        blob(&server, &hash),
        blob(&server, &[7; 32]),
        blob(&server, &hash),
        last["chain"].as_str().unwrap(),
    ));
    let out = verify(&server, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("position {pos}")) && stderr(&out).contains("MAC"),
        "{}",
        stderr(&out)
    );
}

/// An attacker who also has a node's master key recomputes the MACs as well: the chains then
/// verify, but the records are no longer the ones the signed checkpoints sealed, whether
/// records were removed or one was re-attributed in place.
#[tokio::test]
async fn rewrite_with_the_master_key_is_detected_by_the_checkpoints() {
    for removal in [true, false] {
        let mut server = server_with_signatures(&[], 3).await;
        assert!(server.terminate().success());
        let master =
            signet_keys::MasterKey::load_or_create(&server.data_dir().join("master.key")).unwrap();
        let mac_key = signet_store::AuditKey::new(*master.derive("signet audit record mac v1"));
        if removal {
            remove_and_relink(&server, "credential.authorize", Some(&mac_key));
            let out = verify(&server, &[]);
            assert_fails(&out, 3, "records but the checkpoint seals");
        } else {
            rewrite_chain(
                &server,
                "signature.create",
                |records| {
                    let sig = records
                        .iter_mut()
                        .find(|r| r["kind"] == "signature.create")
                        .unwrap();
                    sig["actor"] = json!("mallory");
                },
                Some(&mac_key),
            );
            let out = verify(&server, &[]);
            assert_fails(&out, 3, "is not the one the checkpoint sealed");
        }
    }
}

/// Deleting the newest records, moving the heads back and deleting the newest checkpoints needs
/// no key at all and leaves a log that verifies on its own; a checkpoint kept elsewhere shows
/// what is missing.
#[tokio::test]
async fn removed_newest_records_are_detected_against_a_trusted_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = server_with_signatures(&[], 1).await;
    wait_sealed(&server, Duration::from_secs(10));
    let kept_at = server.cli_ok(&["audit", "checkpoint", "--json"], &[]);
    let kept_at: Value = serde_json::from_str(&kept_at).unwrap();
    let n_before = kept_at["n"].as_i64().unwrap();
    sign_pairs(&server, "bob", 2).await;
    assert!(server.terminate().success());
    let latest = server.cli_ok(&["audit", "checkpoint"], &[]);
    let trusted = dir.path().join("trusted.txt");
    std::fs::write(&trusted, &latest).unwrap();
    let trusted_arg = trusted.to_str().unwrap();
    let out = verify(&server, &["--trusted-checkpoint", trusted_arg]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("extends the trusted checkpoint"),
        "{}",
        stdout(&out)
    );

    // Back to the state of checkpoint `n_before`, by SQL alone.
    let heads: Vec<(String, i64, String)> = kept_at["checkpoint"]
        .as_str()
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("chain "))
        .map(|l| {
            let p: Vec<&str> = l.split(' ').collect();
            (p[0].to_owned(), p[1].parse().unwrap(), p[2].to_owned())
        })
        .collect();
    let mut sql = format!("DELETE FROM audit_checkpoint WHERE n > {n_before};");
    let mut keep = String::from("(chain = '' AND chain_seq = 0)");
    for (chain, seq, hash) in &heads {
        let bytes = data_encoding::BASE64.decode(hash.as_bytes()).unwrap();
        sql += &format!(
            "UPDATE audit_chain SET seq = {seq}, hash = {} WHERE chain = '{chain}';",
            blob(&server, &bytes)
        );
        keep += &format!(" OR (chain = '{chain}' AND chain_seq <= {seq})");
    }
    sql += &format!("DELETE FROM audit WHERE NOT ({keep});");
    sql += "DELETE FROM audit_chain WHERE chain NOT IN (SELECT chain FROM audit);";
    server.db_exec(&sql);
    let alone = verify(&server, &[]);
    assert!(alone.status.success(), "{}", stderr(&alone));
    assert!(
        stdout(&alone).contains("every record is sealed"),
        "{}",
        stdout(&alone)
    );
    let out = verify(&server, &["--trusted-checkpoint", trusted_arg]);
    assert_fails(&out, 4, "newest records removed or log truncated");

    // The whole log gone (a fresh database would look the same).
    server.db_exec("DELETE FROM audit_checkpoint; DELETE FROM audit; DELETE FROM audit_chain;");
    let out = verify(&server, &["--trusted-checkpoint", trusted_arg]);
    assert_fails(&out, 4, "no checkpoint at all");
}

/// A checkpoint altered in the database, or replaced by one signed with a key of the
/// attacker's (whose certificate they also add to the database), is refused.
#[tokio::test]
async fn altered_or_resigned_checkpoints_are_refused() {
    let mut server = server_with_signatures(&[], 1).await;
    wait_sealed(&server, Duration::from_secs(10));
    assert!(server.terminate().success());
    let note = server
        .db_text("SELECT note FROM audit_checkpoint WHERE n = 1")
        .unwrap();
    let size = note.lines().nth(1).unwrap().to_owned();
    let altered = note.replacen(&format!("\n{size}\n"), "\n1\n", 1);
    server.db_exec(&format!(
        "UPDATE audit_checkpoint SET note = '{altered}' WHERE n = 1"
    ));
    assert_fails(
        &verify(&server, &[]),
        3,
        "checkpoint 1: the checkpoint signature does not verify",
    );
    server.db_exec(&format!(
        "UPDATE audit_checkpoint SET note = '{note}' WHERE n = 1"
    ));
    assert!(verify(&server, &[]).status.success());

    // Re-signed with the attacker's own P-256 key and a self-made certificate for it.
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        &rng,
    )
    .unwrap();
    let key = aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        pkcs8.as_ref(),
    )
    .unwrap();
    let body = &note[..note.find("\n\n").unwrap() + 1];
    let origin = body.lines().next().unwrap();
    let signature = key.sign(&rng, body.as_bytes()).unwrap();
    let mut sig = vec![1, 2, 3, 4];
    sig.extend_from_slice(signature.as_ref());
    let resigned = format!(
        "{body}\n\u{2014} {origin} {}\n",
        data_encoding::BASE64.encode(&sig)
    );
    server.db_exec(&format!(
        "UPDATE audit_checkpoint SET note = '{resigned}' WHERE n = 1"
    ));
    assert_fails(&verify(&server, &[]), 3, "not signed by a known audit key");
}

/// `audit prove` → `audit verify-proof` with the audit certificate only; a proof whose record
/// was edited, or checked with another certificate, fails. Checkpoints also land in
/// `audit.checkpoint_dir`, byte for byte what `audit checkpoint` prints.
#[tokio::test]
async fn inclusion_proofs_and_checkpoint_files() {
    let files = tempfile::tempdir().unwrap();
    let dir = files.path().join("checkpoints");
    let server = server_with_signatures(
        &[("SIGNET_AUDIT__CHECKPOINT_DIR", dir.to_str().unwrap())],
        2,
    )
    .await;
    wait_sealed(&server, Duration::from_secs(10));
    let latest = server.cli_ok(&["audit", "checkpoint"], &[]);
    let json: Value =
        serde_json::from_str(&server.cli_ok(&["audit", "checkpoint", "--json"], &[])).unwrap();
    let n = json["n"].as_i64().unwrap();
    // The sealer's metrics: this (only) node sealed every checkpoint, and none failed.
    let metrics = server.metrics().await;
    assert_eq!(
        metric(&metrics, "signet_audit_checkpoints_total", &[]),
        Some(n as f64),
        "{metrics}"
    );
    assert_eq!(
        metric(&metrics, "signet_audit_seal_failures_total", &[]),
        Some(0.0)
    );
    assert_eq!(
        metric(&metrics, "signet_audit_sealed_records", &[]),
        json["tree_size"].as_f64()
    );
    let file = dir.join(format!("checkpoint-{n:010}.txt"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), latest);
    let tst = std::fs::read(dir.join(format!("checkpoint-{n:010}.tst"))).unwrap();
    assert_eq!(
        data_encoding::BASE64.encode(&tst),
        json["timestamp"].as_str().unwrap()
    );
    // The time-stamp covers the note, by a TSA of the embedded CA: openssl agrees.
    let tst_path = files.path().join("cp.tst");
    std::fs::write(&tst_path, &tst).unwrap();
    let ts_out = std::process::Command::new("openssl")
        .args([
            "ts",
            "-verify",
            "-digest",
            json["sha256"].as_str().unwrap(),
            "-token_in",
            "-in",
        ])
        .arg(&tst_path)
        .arg("-CAfile")
        .arg(server.ca_pem())
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&ts_out.stdout).contains("Verification: OK"),
        "{}{}",
        stdout(&ts_out),
        stderr(&ts_out)
    );
    let mut other = json["sha256"].as_str().unwrap().to_owned();
    other.replace_range(..2, if other.starts_with("00") { "11" } else { "00" });
    let ts_bad = std::process::Command::new("openssl")
        .args(["ts", "-verify", "-digest", &other, "-token_in", "-in"])
        .arg(&tst_path)
        .arg("-CAfile")
        .arg(server.ca_pem())
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&ts_bad.stdout).contains("Verification: OK"));

    let records = server.audit_export();
    let sig = records
        .iter()
        .find(|r| r["kind"] == "signature.create")
        .unwrap();
    let seq = sig["seq"].to_string();
    let proof = files.path().join("proof.json");
    server.cli_ok(
        &["audit", "prove", &seq, "-o", proof.to_str().unwrap()],
        &[],
    );
    let cert = files.path().join("audit.pem");
    std::fs::write(&cert, server.cli_ok(&["audit", "certificate"], &[])).unwrap();
    // verify-proof needs no data directory: run it from an empty one.
    let empty = tempfile::tempdir().unwrap();
    let check = |proof: &std::path::Path, cert: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_signet"))
            .arg("--data")
            .arg(empty.path().join("none"))
            .args(["audit", "verify-proof"])
            .arg(proof)
            .arg("--cert")
            .arg(cert)
            .output()
            .unwrap()
    };
    let out = check(&proof, &cert);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with(&format!(
            "proof OK: record {seq} (signature.create by alice"
        )),
        "{}",
        stdout(&out)
    );
    assert!(
        !empty.path().join("none").exists(),
        "verify-proof created a data directory"
    );

    let mut edited: Value =
        serde_json::from_str(&std::fs::read_to_string(&proof).unwrap()).unwrap();
    edited["record"]["actor"] = json!("mallory");
    let edited_path = files.path().join("edited.json");
    std::fs::write(&edited_path, edited.to_string()).unwrap();
    let out = check(&edited_path, &cert);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("record altered"), "{}", stderr(&out));
    let out = check(&proof, &server.ca_pem());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not signed by a known audit key"),
        "{}",
        stderr(&out)
    );
}

/// kill -9 of the (only, so sealing) node in the middle of a load; after the restart every
/// record, including those the killed process appended, is sealed within one interval, and
/// the log verifies.
#[tokio::test]
async fn kill_9_then_restart_seals_within_one_interval() {
    let mut server = Server::start();
    let user = server.add_user("loader");
    let cred = server.create_credential(&user, PIN, &["--scal", "1"]);
    let token = server.login(&user).await;
    let url = server.url.clone();
    let http = server.http.clone();
    let load = tokio::spawn(async move {
        let mut ok = 0u32;
        for i in 0..10_000u32 {
            let auth = http
                .post(format!("{url}/csc/v2/credentials/authorize"))
                .bearer_auth(&token)
                .json(&json!({"credentialID": cred, "numSignatures": 1,
                    "authData": [{"id": "PIN", "value": PIN}]}))
                .send()
                .await;
            let Ok(auth) = auth else { break };
            let Ok(body) = auth.json::<Value>().await else {
                break;
            };
            let Some(sad) = body["SAD"].as_str() else {
                break;
            };
            let sign = http
                .post(format!("{url}/csc/v2/signatures/signHash"))
                .bearer_auth(&token)
                .json(
                    &json!({"credentialID": cred, "SAD": sad, "signAlgo": ECDSA_SHA256,
                    "hashes": [b64(&sha256(&i.to_be_bytes()))]}),
                )
                .send()
                .await;
            match sign {
                Ok(r) if r.status() == 200 => ok += 1,
                _ => break,
            }
        }
        ok
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.restart();
    let started = Instant::now();
    let ok = load.await.unwrap();
    assert!(ok > 0, "the load signed something before the kill");
    // One interval (1 s) after the restart, plus the time to run `audit verify` itself.
    let text = wait_sealed(&server, Duration::from_secs(3));
    eprintln!("sealed {:?} after the restart: {text}", started.elapsed());
    let records = server.audit_export();
    assert!(
        records
            .iter()
            .filter(|r| r["kind"] == "signature.create")
            .count()
            >= ok as usize,
        "every signature a client received has its record"
    );
}

/// A data directory of the previous release (single hash chain, no MACs): the first start
/// verifies that chain, keys it, records the upgrade and seals everything.
#[tokio::test]
async fn a_log_of_the_previous_release_is_upgraded_and_sealed() {
    if common::pg::store_backend() == "postgres" {
        eprintln!("the PostgreSQL upgrade is covered by signet-store's compat tests; skipped");
        return;
    }
    let data = tempfile::tempdir().unwrap();
    std::fs::copy(
        common::interop::workspace_root().join("crates/signet-store/fixtures/pre-issue12.sqlite"),
        data.path().join("signet.db"),
    )
    .unwrap();
    let db = rusqlite::Connection::open(data.path().join("signet.db")).unwrap();
    let legacy: i64 = db
        .query_row("SELECT COUNT(*) FROM audit", [], |r| r.get(0))
        .unwrap();
    // The store-level fixture has placeholder CA settings, not a CA: let the node make one.
    db.execute("DELETE FROM settings WHERE key LIKE 'ca.%'", [])
        .unwrap();
    drop(db);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_signet"))
        .arg("--data")
        .arg(data.path())
        .args(["audit", "seal"])
        .env_remove("SIGNET_DATABASE_URL")
        .env_remove("SIGNET_MASTER_KEY")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_signet"))
        .arg("--data")
        .arg(data.path())
        .args(["audit", "verify"])
        .env_remove("SIGNET_DATABASE_URL")
        .env_remove("SIGNET_MASTER_KEY")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("every record is sealed"),
        "{}",
        stdout(&out)
    );
    let export = std::process::Command::new(env!("CARGO_BIN_EXE_signet"))
        .arg("--data")
        .arg(data.path())
        .args(["audit", "export"])
        .env_remove("SIGNET_DATABASE_URL")
        .env_remove("SIGNET_MASTER_KEY")
        .output()
        .unwrap();
    let records: Vec<Value> = String::from_utf8_lossy(&export.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let old: Vec<&Value> = records.iter().filter(|r| r["chain"] == "legacy").collect();
    assert_eq!(old.len() as i64, legacy);
    assert!(
        old.iter()
            .all(|r| r["version"] == 1 && r["mac"].is_string())
    );
    let upgrade = records
        .iter()
        .find(|r| r["kind"] == "audit.upgrade")
        .unwrap();
    let detail: Value = serde_json::from_str(upgrade["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["legacy_records"], legacy);
}
