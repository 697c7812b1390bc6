//! The PKCS#11 key module behind the real server (SoftHSM2): keys live in the token as
//! sensitive, never-extractable objects; sessions reset under load recover without a restart;
//! deleting a credential destroys its key object.

mod common;

use std::process::Command;
use std::sync::Arc;

use common::*;
use serde_json::{Value, json};

const PIN: &str = "5511";

fn hsm_server() -> Server {
    Server::start_with_env(&[("SIGNET_KEY_BACKEND", "pkcs11")])
}

fn env_of(server: &Server, key: &str) -> String {
    softhsm_env(server)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .expect(key)
}

/// The SoftHSM environment the harness gave this server.
fn softhsm_env(server: &Server) -> Vec<(String, String)> {
    let conf = server.data_dir().join("softhsm2.conf");
    vec![
        ("SOFTHSM2_CONF".into(), conf.display().to_string()),
        ("SIGNET_PKCS11_TOKEN".into(), "signet-test".into()),
        ("SIGNET_PKCS11_PIN".into(), "11223344".into()),
    ]
}

/// What pkcs11-tool (OpenSC, not our code) says about the token's objects.
fn list_objects(server: &Server) -> String {
    let out = Command::new("pkcs11-tool")
        .args([
            "--module",
            SOFTHSM_MODULE,
            "--token-label",
            &env_of(server, "SIGNET_PKCS11_TOKEN"),
        ])
        .args([
            "--login",
            "--pin",
            &env_of(server, "SIGNET_PKCS11_PIN"),
            "--list-objects",
        ])
        .env("SOFTHSM2_CONF", env_of(server, "SOFTHSM2_CONF"))
        .output()
        .expect("pkcs11-tool (install opensc: the README test command does)");
    assert!(
        out.status.success(),
        "pkcs11-tool failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The pkcs11-tool record (header line + indented attribute lines) of the private key `label`.
fn private_key_record(listing: &str, label: &str) -> Option<String> {
    let mut records: Vec<String> = Vec::new();
    for line in listing.lines() {
        if line.starts_with(char::is_whitespace) {
            if let Some(last) = records.last_mut() {
                last.push('\n');
                last.push_str(line);
            }
        } else {
            records.push(line.to_string());
        }
    }
    records.into_iter().find(|r| {
        r.starts_with("Private Key Object")
            && r.lines()
                .any(|l| l.trim() == format!("label:      {label}"))
    })
}

#[tokio::test]
async fn keys_are_generated_in_the_token_sensitive_and_never_extractable() {
    let server = hsm_server();
    let user = server.add_user("hsmuser");
    let cred = server.create_credential(&user, PIN, &["--scal", "1"]);
    let listed: Value =
        serde_json::from_str(&server.cli_ok(&["admin", "credential", "list", "--json"], &[]))
            .unwrap();
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["credential_id"] == cred.as_str())
        .unwrap();
    assert_eq!(row["backend"], "pkcs11");

    let objects = list_objects(&server);
    let label = format!("signet:{cred}");
    let block = private_key_record(&objects, &label)
        .unwrap_or_else(|| panic!("no private key labelled {label} in the token:\n{objects}"));
    assert!(block.contains("sensitive"), "{block}");
    assert!(block.contains("never extractable"), "{block}");
    assert!(block.contains("local"), "{block}");
    assert!(
        block.contains("Usage:      sign") || block.contains("Usage: sign"),
        "{block}"
    );
    // The CA key lives in the token too.
    assert!(
        objects.contains("signet-ca"),
        "CA key not in the token:\n{objects}"
    );
    // So does the audit key that signs checkpoints: generated there, never extractable.
    let audit = private_key_record(&objects, "signet-audit")
        .unwrap_or_else(|| panic!("no audit key in the token:\n{objects}"));
    assert!(
        audit.contains("sensitive") && audit.contains("never extractable"),
        "{audit}"
    );

    // And it signs through the server.
    let token = server.login(&user).await;
    let digest = sha256(b"in the token");
    let sad = server
        .sad(
            &token,
            &cred,
            1,
            Some(std::slice::from_ref(&digest)),
            Some(SHA256),
            PIN,
            None,
        )
        .await;
    let (status, body) = server
        .sign_hash(&token, &cred, &sad, &[digest], ECDSA_SHA256, json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_reset_under_load_give_200_or_503_then_recover() {
    // Four clients as fast as they can on 127.0.0.1: a load test, not a client the per-address
    // rate limit is meant for.
    let server = Arc::new(Server::start_with_env(&[
        ("SIGNET_KEY_BACKEND", "pkcs11"),
        ("SIGNET_HTTP__REQUESTS_PER_SECOND", "0"),
    ]));
    let user = server.add_user("loaded");
    let cred = server.create_credential(&user, PIN, &["--scal", "1", "--multisign", "1"]);
    let token = Arc::new(server.login(&user).await);
    let cred = Arc::new(cred);

    // Four clients sign continuously until after the sessions were reset three times.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..4u8 {
        let (server, token, cred) = (Arc::clone(&server), Arc::clone(&token), Arc::clone(&cred));
        let stop = Arc::clone(&stop);
        clients.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            let mut i = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                i += 1;
                let digest = sha256(&[&[c][..], &i.to_be_bytes()].concat());
                let sad = server
                    .sad(
                        &token,
                        &cred,
                        1,
                        Some(std::slice::from_ref(&digest)),
                        Some(SHA256),
                        PIN,
                        None,
                    )
                    .await;
                let (status, body) = server
                    .sign_hash(&token, &cred, &sad, &[digest], ECDSA_SHA256, json!({}))
                    .await;
                if status == 503 {
                    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
                }
                statuses.push(status);
            }
            statuses
        }));
    }
    for _ in 0..3 {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        server.signal("HUP");
    }
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut all = Vec::new();
    for c in clients {
        all.extend(c.await.unwrap());
    }
    assert!(
        all.len() >= 20,
        "the load did not overlap the resets: {} requests",
        all.len()
    );
    assert!(
        all.iter().all(|s| *s == 200 || *s == 503),
        "unexpected statuses: {all:?}"
    );
    assert!(all.contains(&200));
    // Recovered without a restart.
    for i in 0..5u8 {
        let digest = sha256(&[0xff, i]);
        let sad = server
            .sad(
                &token,
                &cred,
                1,
                Some(std::slice::from_ref(&digest)),
                Some(SHA256),
                PIN,
                None,
            )
            .await;
        let (status, body) = server
            .sign_hash(&token, &cred, &sad, &[digest], ECDSA_SHA256, json!({}))
            .await;
        assert_eq!(status, 200, "after the reset: {body}");
    }
    let log = server.log_lines().join("\n");
    assert!(
        log.contains("SIGHUP: resetting key module sessions"),
        "{log}"
    );
}

#[tokio::test]
async fn deleting_a_credential_destroys_its_key_object() {
    let server = hsm_server();
    let user = server.add_user("deleter");
    let cred = server.create_credential(&user, PIN, &["--scal", "1"]);
    let token = server.login(&user).await;
    let digest = sha256(b"before delete");
    let sad = server
        .sad(
            &token,
            &cred,
            1,
            Some(std::slice::from_ref(&digest)),
            Some(SHA256),
            PIN,
            None,
        )
        .await;
    let label = format!("signet:{cred}");
    assert!(list_objects(&server).contains(&label));

    server.cli_ok(&["admin", "credential", "delete", &cred], &[]);
    assert!(
        !list_objects(&server).contains(&label),
        "key object still in the token"
    );
    // The SAD issued before the deletion is dead, and the credential is unknown.
    let (status, body) = server
        .sign_hash(&token, &cred, &sad, &[digest], ECDSA_SHA256, json!({}))
        .await;
    assert_eq!(
        (status, body["error_description"].as_str()),
        (400, Some("Invalid parameter credentialID"))
    );
    let export = server.cli_ok(&["audit", "export"], &[]);
    assert!(
        export
            .lines()
            .any(|l| l.contains("\"key.destroy\"") && l.contains(&cred)),
        "{export}"
    );
    assert!(
        export
            .lines()
            .any(|l| l.contains("\"credential.delete\"") && l.contains(&cred)),
        "{export}"
    );
}

/// Keys made by another process (`signet admin credential create` while the server runs) stay
/// usable after the server writes to the token itself. SoftHSM takes over the token's change
/// counter when it writes without re-reading the token first; the server's first time-stamp
/// creates the built-in TSA's key, which used to hide the credential made just before from
/// the server for good ("key not found", after the SAD was spent).
#[tokio::test]
async fn keys_created_by_the_cli_survive_the_server_generating_a_key() {
    let server = hsm_server();
    let user = server.add_user("cli-then-tsa");
    let cred = server.create_credential(&user, PIN, &["--scal", "1"]);
    let token = server.login(&user).await;
    // The built-in TSA's key is generated now, by the server, in the same token.
    let (status, v) = server
        .post(
            "/csc/v2/signatures/timestamp",
            Some(&token),
            &json!({ "hash": b64(&sha256(b"x")), "hashAlgo": SHA256 }),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let digest = sha256(b"after the TSA key");
    let sad = server
        .sad(
            &token,
            &cred,
            1,
            Some(std::slice::from_ref(&digest)),
            Some(SHA256),
            PIN,
            None,
        )
        .await;
    let (status, body) = server
        .sign_hash(&token, &cred, &sad, &[digest], ECDSA_SHA256, json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(signatures(&(status, body)).len(), 1);
}
