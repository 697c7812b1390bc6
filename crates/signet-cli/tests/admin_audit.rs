//! The operator interface (issue §2) and the audit chain (issue §5): admin commands and their
//! `--json` shapes and errors, `admin ca-cert`, audit rows for signatures and refused
//! authorizations, `audit verify` on an intact chain, and on chains tampered with in the database
//! (altered, removed, reordered and truncated rows), each detected and named.

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{Value, json};
use x509_cert::der::{Decode, DecodePem, Encode};

const PIN: &str = "9753";

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("object expected: {v}"))
        .keys()
        .cloned()
        .collect()
}

fn set_of(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[tokio::test]
async fn admin_commands_json_shapes_and_errors() {
    let server = Server::start();

    // user add --json: exactly the documented keys.
    let out = server.cli_ok(
        &["admin", "user", "add", "alice", "--json"],
        &[("SIGNET_PASSWORD", "alice-password-1")],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(keys(&v), set_of(&["username", "totp_secret", "totp_uri"]));
    assert_eq!(v["username"], "alice");
    let b32 = v["totp_secret"].as_str().unwrap();
    assert!(
        data_encoding::BASE32_NOPAD
            .decode(b32.as_bytes())
            .unwrap()
            .len()
            >= 10,
        "at least 80 bits"
    );
    let uri = v["totp_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/") && uri.contains(&format!("secret={b32}")),
        "{uri}"
    );

    // A given TOTP secret is kept.
    let given = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let out = server.cli_ok(
        &[
            "admin",
            "user",
            "add",
            "bob",
            "--totp-secret",
            given,
            "--json",
        ],
        &[("SIGNET_PASSWORD", "bob-password-12")],
    );
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["totp_secret"],
        given
    );

    // An existing name: non-zero, a clear message (once), nothing changed.
    let dup = server.cli(
        &["admin", "user", "add", "alice", "--json"],
        &[("SIGNET_PASSWORD", "another-password")],
    );
    assert!(!dup.status.success());
    let msg = stderr(&dup);
    assert!(
        msg.contains("alice") && msg.contains("already exists"),
        "{msg}"
    );
    assert_eq!(
        msg.matches("already exists").count(),
        1,
        "message repeated: {msg}"
    );
    assert!(dup.stdout.is_empty());
    let users: Value =
        serde_json::from_str(&server.cli_ok(&["admin", "user", "list", "--json"], &[])).unwrap();
    assert_eq!(
        users
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["username"] == "alice")
            .count(),
        1
    );
    // No password given at all (no env, empty standard input).
    let nopw = server.cli(&["admin", "user", "add", "carol"], &[]);
    assert!(!nopw.status.success());
    assert!(
        stderr(&nopw).contains("SIGNET_PASSWORD"),
        "{}",
        stderr(&nopw)
    );

    // credential create --json: exactly the documented keys; the certificate is the CA's.
    let out = server.cli_ok(
        &["admin", "credential", "create", "--user", "alice", "--json"],
        &[("SIGNET_PIN", PIN)],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        keys(&v),
        set_of(&["credential_id", "certificate", "ca_certificate"])
    );
    let id = v["credential_id"].as_str().unwrap().to_string();
    let cert_der = unb64(v["certificate"].as_str().unwrap());
    let ca_der = unb64(v["ca_certificate"].as_str().unwrap());
    let cert = x509_cert::Certificate::from_der(&cert_der).unwrap();
    let ca = x509_cert::Certificate::from_der(&ca_der).unwrap();
    assert!(
        cert.tbs_certificate
            .subject
            .to_string()
            .contains("CN=alice")
    );
    assert_eq!(cert.tbs_certificate.issuer, ca.tbs_certificate.subject);
    // keyUsage digitalSignature + nonRepudiation.
    let ku = cert
        .tbs_certificate
        .extensions
        .as_ref()
        .and_then(|exts| exts.iter().find(|e| e.extn_id.to_string() == "2.5.29.15"))
        .expect("keyUsage extension");
    let ku = x509_cert::ext::pkix::KeyUsage::from_der(ku.extn_value.as_bytes()).unwrap();
    assert!(ku.digital_signature() && ku.non_repudiation());
    // Signed by the CA (default CA key: ECDSA P-256 with SHA-256).
    let (_, _, ca_key) = public_key(&ca_der);
    aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1,
        ca_key,
    )
    .verify(
        &cert.tbs_certificate.to_der().unwrap(),
        cert.signature.raw_bytes(),
    )
    .expect("the signer certificate is signed by the embedded CA");

    // admin ca-cert: PEM of the same CA, which openssl parses.
    let pem = server.cli_ok(&["admin", "ca-cert"], &[]);
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    assert_eq!(
        x509_cert::Certificate::from_pem(pem.as_bytes())
            .unwrap()
            .to_der()
            .unwrap(),
        ca_der
    );
    let pem_file = server.data_dir().join("exported-ca.pem");
    std::fs::write(&pem_file, &pem).unwrap();
    let openssl = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-in"])
        .arg(&pem_file)
        .output()
        .expect("openssl must be installed (tests/interop/setup.sh)");
    assert!(
        openssl.status.success(),
        "openssl x509: {}",
        stderr(&openssl)
    );
    assert!(String::from_utf8_lossy(&openssl.stdout).starts_with("subject="));

    // credential create errors.
    let bad = server.cli(
        &["admin", "credential", "create", "--user", "nobody"],
        &[("SIGNET_PIN", PIN)],
    );
    assert!(
        !bad.status.success() && stderr(&bad).contains("nobody"),
        "{}",
        stderr(&bad)
    );
    let bad = server.cli(
        &[
            "admin",
            "credential",
            "create",
            "--user",
            "alice",
            "--key",
            "dsa-1024",
        ],
        &[("SIGNET_PIN", PIN)],
    );
    assert!(
        !bad.status.success() && stderr(&bad).contains("dsa-1024"),
        "{}",
        stderr(&bad)
    );
    let bad = server.cli(
        &[
            "admin",
            "credential",
            "create",
            "--user",
            "alice",
            "--scal",
            "3",
        ],
        &[("SIGNET_PIN", PIN)],
    );
    assert!(!bad.status.success());

    // credential list --json.
    let out = server.cli_ok(
        &[
            "admin",
            "credential",
            "create",
            "--user",
            "bob",
            "--key",
            "rsa-2048",
            "--scal",
            "1",
            "--multisign",
            "3",
            "--json",
        ],
        &[("SIGNET_PIN", PIN)],
    );
    let rsa = serde_json::from_str::<Value>(&out).unwrap()["credential_id"]
        .as_str()
        .unwrap()
        .to_string();
    let listed: Value =
        serde_json::from_str(&server.cli_ok(&["admin", "credential", "list", "--json"], &[]))
            .unwrap();
    let rows = listed.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let find = |cid: &str| {
        rows.iter()
            .find(|r| r["credential_id"] == cid)
            .unwrap_or_else(|| panic!("{cid} in {listed}"))
            .clone()
    };
    let a = find(&id);
    assert_eq!(
        (a["username"].as_str(), a["status"].as_str()),
        (Some("alice"), Some("enabled"))
    );
    let b = find(&rsa);
    assert_eq!(
        (
            b["username"].as_str(),
            b["key"].as_str(),
            b["multisign"].as_u64()
        ),
        (Some("bob"), Some("rsa-2048"), Some(3))
    );
    server.cli_ok(&["admin", "credential", "disable", &id], &[]);
    let listed: Value =
        serde_json::from_str(&server.cli_ok(&["admin", "credential", "list", "--json"], &[]))
            .unwrap();
    assert_eq!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["credential_id"] == id.as_str())
            .unwrap()["status"],
        "disabled"
    );

    // Unknown IDs and names are errors.
    for args in [
        &["admin", "credential", "disable", "nope"][..],
        &["admin", "credential", "enable", "nope"],
        &["admin", "credential", "unlock", "nope"],
        &["admin", "user", "disable", "nobody"],
    ] {
        let out = server.cli(args, &[]);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            stderr(&out).contains("not found"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    server.cli_ok(&["admin", "user", "disable", "bob"], &[]);
    let users: Value =
        serde_json::from_str(&server.cli_ok(&["admin", "user", "list", "--json"], &[])).unwrap();
    assert_eq!(
        users
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == "bob")
            .unwrap()["disabled"],
        true
    );

    // Every admin action is audited with actor "admin".
    let audit = server.audit_export();
    for kind in [
        "user.create",
        "key.generate",
        "credential.create",
        "credential.disable",
        "user.disable",
    ] {
        assert!(
            audit
                .iter()
                .any(|r| r["kind"] == kind && r["actor"] == "admin"),
            "{kind} missing"
        );
    }
}

fn detail(record: &Value) -> Value {
    serde_json::from_str(
        record["detail"]
            .as_str()
            .expect("detail is the stored JSON text"),
    )
    .expect("detail JSON")
}

fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

#[tokio::test]
async fn audit_records_signatures_and_refusals_and_verifies() {
    let server = Server::start();
    let user = server.add_user("aud");
    let ec = server.create_credential(&user, PIN, &["--multisign", "2"]);
    let rsa = server.create_credential(&user, PIN, &["--key", "rsa-2048", "--scal", "1"]);
    let token = server.login(&user).await;
    // A failed login.
    let resp = server
        .http
        .post(format!("{}/csc/v2/auth/login", server.url))
        .basic_auth("aud", Some("not-the-password"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);

    let (h1, h2, h3) = (sha256(b"one"), sha256(b"two"), sha256(b"three"));
    // Refused authorizations: wrong PIN, wrong OTP, reused OTP.
    let otp = server.fresh_otp(&user);
    expect_error(
        &server
            .authorize(
                &token,
                &ec,
                1,
                Some(std::slice::from_ref(&h1)),
                Some(SHA256),
                "0000",
                Some(&otp),
            )
            .await,
        400,
        "invalid_authentication_data",
    );
    expect_error(
        &server
            .authorize(
                &token,
                &ec,
                1,
                Some(std::slice::from_ref(&h1)),
                Some(SHA256),
                PIN,
                Some(&wrong_otp(&user)),
            )
            .await,
        400,
        "invalid_authentication_data",
    );
    let sad = server
        .sad(
            &token,
            &ec,
            2,
            Some(&[h1.clone(), h2.clone()]),
            Some(SHA256),
            PIN,
            Some(&otp),
        )
        .await;
    expect_error(
        &server
            .authorize(
                &token,
                &ec,
                1,
                Some(std::slice::from_ref(&h1)),
                Some(SHA256),
                PIN,
                Some(&otp),
            )
            .await,
        400,
        "invalid_authentication_data",
    );
    // Signatures: a batch of two (EC), one (RSA).
    signatures(
        &server
            .sign_hash(
                &token,
                &ec,
                &sad,
                &[h2.clone(), h1.clone()],
                ECDSA_SHA256,
                json!({}),
            )
            .await,
    );
    let sad = server.sad(&token, &rsa, 1, None, None, PIN, None).await;
    signatures(
        &server
            .sign_hash(
                &token,
                &rsa,
                &sad,
                std::slice::from_ref(&h3),
                RSA_SHA256,
                json!({}),
            )
            .await,
    );
    // A refused signature leaves no signature.create row.
    expect_error(
        &server
            .sign_hash(
                &token,
                &rsa,
                &sad,
                std::slice::from_ref(&h3),
                RSA_SHA256,
                json!({}),
            )
            .await,
        400,
        "invalid_request",
    );

    let audit = server.audit_export();
    // The export lists every record once, in order of its number; each chain is consecutive
    // and linked.
    for (i, r) in audit.iter().enumerate() {
        assert_eq!(r["seq"], i as u64 + 1);
        let chain: Vec<&Value> = audit[..i]
            .iter()
            .filter(|p| p["chain"] == r["chain"])
            .collect();
        assert_eq!(r["chain_seq"], chain.len() as u64 + 1, "record {}", i + 1);
        match chain.last() {
            Some(prev) => assert_eq!(r["prev_hash"], prev["hash"], "record {}", i + 1),
            None => assert_eq!(r["prev_hash"], "0".repeat(64), "record {}", i + 1),
        }
    }
    let sigs: Vec<&Value> = audit
        .iter()
        .filter(|r| r["kind"] == "signature.create")
        .collect();
    assert_eq!(sigs.len(), 2, "one row per successful signHash");
    assert_eq!(sigs[0]["credential_id"], ec.as_str());
    assert_eq!(sigs[0]["actor"], "aud");
    assert_eq!(detail(sigs[0])["hashes"], json!([hex(&h2), hex(&h1)]));
    assert_eq!(sigs[1]["credential_id"], rsa.as_str());
    assert_eq!(detail(sigs[1])["hashes"], json!([hex(&h3)]));
    for s in &sigs {
        assert!(
            detail(s).get("algorithm").is_some_and(|a| !a.is_null()),
            "algorithm in {s}"
        );
    }
    let failures: Vec<Value> = audit
        .iter()
        .filter(|r| r["kind"] == "credential.authorize" && r["credential_id"] == ec.as_str())
        .map(detail)
        .filter(|d| d["result"] == "failure")
        .collect();
    assert_eq!(failures.len(), 3, "{failures:?}");
    for f in &failures {
        assert!(
            f["reason"].as_str().is_some_and(|r| !r.is_empty()),
            "a reason: {f}"
        );
    }
    assert_eq!(failures[0]["reason"], "invalid_pin");
    let successes = audit
        .iter()
        .filter(|r| r["kind"] == "credential.authorize")
        .map(detail)
        .filter(|d| d["result"] == "success")
        .count();
    assert_eq!(successes, 2);
    let logins: Vec<Value> = audit
        .iter()
        .filter(|r| r["kind"] == "auth.login")
        .map(detail)
        .collect();
    assert!(
        logins.iter().any(|d| d["result"] == "success")
            && logins.iter().any(|d| d["result"] == "failure"),
        "{logins:?}"
    );

    // audit verify: exit 0 and the record count, while the server runs.
    let out = server.cli(&["audit", "verify"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains(&format!("{} records", audit.len())), "{text}");
}

/// Builds a data directory with a few dozen audit records, stops its server (which seals them
/// all), checks that the log verifies, applies the SQL `tamper` returns (given the records, as
/// `audit export` lists them) to the database (the SQLite file, or the server's PostgreSQL
/// database) and returns `audit verify`'s output and the server's chain.
async fn verify_after(
    tamper: impl FnOnce(&[Value]) -> String,
) -> (std::process::Output, Vec<Value>) {
    let mut server = Server::start();
    let user = server.add_user("tam");
    let cred = server.create_credential(&user, PIN, &["--scal", "1"]);
    let token = server.login(&user).await;
    for i in 0..3u8 {
        let sad = server.sad(&token, &cred, 1, None, None, PIN, None).await;
        signatures(
            &server
                .sign_hash(
                    &token,
                    &cred,
                    &sad,
                    &[sha256(&[i])],
                    ECDSA_SHA256,
                    json!({}),
                )
                .await,
        );
    }
    // A clean stop seals what is left (kill -9 would leave it to the next start).
    assert!(server.terminate().success());
    let intact = server.cli(&["audit", "verify"], &[]);
    assert!(intact.status.success(), "{}", stderr(&intact));
    assert!(
        stdout(&intact).contains("every record is sealed"),
        "{}",
        stdout(&intact)
    );
    // The server's first chain (not the admin commands'), in chain order. Requests one at a
    // time all take the node's first chain.
    let export = server.audit_export();
    let first = export
        .iter()
        .find(|r| !r["chain"].as_str().unwrap().ends_with("/cli"))
        .expect("server records")["chain"]
        .clone();
    let records: Vec<Value> = export.into_iter().filter(|r| r["chain"] == first).collect();
    assert!(
        records.len() >= 8,
        "enough records to tamper in the middle ({})",
        records.len()
    );
    server.db_exec(&tamper(&records));
    let out = server.cli(&["audit", "verify"], &[]);
    (out, records)
}

/// `audit verify` failed on a record (exit 2), naming the chain and position.
#[track_caller]
fn assert_broken_at(out: &std::process::Output, record: &Value) {
    let msg = stderr(out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "audit verify must fail on a record: {msg}"
    );
    let at = format!(
        "chain {} position {}",
        record["chain"].as_str().unwrap(),
        record["chain_seq"]
    );
    assert!(msg.contains(&at), "names {at}: {msg}");
}

fn seq(record: &Value) -> i64 {
    record["seq"].as_i64().unwrap()
}

#[tokio::test]
async fn audit_verify_detects_an_altered_record() {
    let (out, records) = verify_after(|r| {
        format!(
            "UPDATE audit SET detail = '{{\"tampered\":true}}' WHERE seq = {}",
            seq(&r[4])
        )
    })
    .await;
    assert_broken_at(&out, &records[4]);
    assert!(stderr(&out).contains("record altered"), "{}", stderr(&out));
}

#[tokio::test]
async fn audit_verify_detects_a_removed_record() {
    let (out, records) =
        verify_after(|r| format!("DELETE FROM audit WHERE seq = {}", seq(&r[3]))).await;
    assert_broken_at(&out, &records[3]);
    assert!(stderr(&out).contains("record missing"), "{}", stderr(&out));
}

#[tokio::test]
async fn audit_verify_detects_swapped_records() {
    // Records 3 and 6 of the chain trade places, each keeping its own hashes and MAC: plain SQL
    // that both SQLite and PostgreSQL run.
    let (out, records) = verify_after(|r| {
        let (a, b) = (seq(&r[2]), seq(&r[5]));
        let cols = [
            "time_ms",
            "kind",
            "actor",
            "credential_id",
            "detail",
            "prev_hash",
            "hash",
            "mac",
        ];
        let set = cols
            .iter()
            .map(|c| {
                format!(
                    "{c} = (SELECT s.{c} FROM swap s WHERE s.seq = {} - audit.seq)",
                    a + b
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "CREATE TEMP TABLE swap AS SELECT * FROM audit WHERE seq IN ({a}, {b});
             UPDATE audit SET {set} WHERE seq IN ({a}, {b});"
        )
    })
    .await;
    assert_broken_at(&out, &records[2]);
}

#[tokio::test]
async fn audit_verify_detects_a_removed_last_record() {
    // The head row still names it: the chain ends early.
    let (out, records) =
        verify_after(|r| format!("DELETE FROM audit WHERE seq = {}", seq(r.last().unwrap()))).await;
    assert_broken_at(&out, records.last().unwrap());
}

/// Secrets come from standard input when their variable is unset; `SIGNET_DATA` and the
/// `./signet-data` default pick the data directory; `signet totp` agrees with RFC 6238.
#[tokio::test]
async fn secrets_from_standard_input_and_data_directory_selection() {
    let server = Server::start();
    let out = server.cli_stdin(
        &["admin", "user", "add", "stdin-user", "--json"],
        &[],
        "typed-password-1\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let b32 = serde_json::from_slice::<Value>(&out.stdout).unwrap()["totp_secret"]
        .as_str()
        .unwrap()
        .to_string();
    let out = server.cli_stdin(
        &[
            "admin",
            "credential",
            "create",
            "--user",
            "stdin-user",
            "--scal",
            "1",
            "--json",
        ],
        &[],
        "2580\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let cred = serde_json::from_slice::<Value>(&out.stdout).unwrap()["credential_id"]
        .as_str()
        .unwrap()
        .to_string();
    let user = TestUser {
        username: "stdin-user".into(),
        password: "typed-password-1".into(),
        totp_secret: data_encoding::BASE32_NOPAD.decode(b32.as_bytes()).unwrap(),
        totp_base32: b32.clone(),
    };
    let token = server.login(&user).await;
    server.sad(&token, &cred, 1, None, None, "2580", None).await;
    // An empty line is no secret.
    let out = server.cli_stdin(&["admin", "user", "add", "empty-pw"], &[], "\n");
    assert!(!out.status.success());

    // `signet totp` prints the code of the current step (either side of a step boundary).
    let before = unix_now() / 30;
    let code = server.cli_ok(&["totp", &b32], &[]);
    let after = unix_now() / 30;
    let expected: Vec<String> = (before..=after)
        .map(|s| totp_code(&user.totp_secret, s))
        .collect();
    assert!(
        expected.contains(&code.trim().to_string()),
        "{code} not in {expected:?}"
    );

    // SIGNET_DATA selects the data directory; without it and --data, ./signet-data is used.
    let dir = tempfile::tempdir().unwrap();
    let via_env = dir.path().join("from-env");
    let status = std::process::Command::new(SIGNET)
        .args(["admin", "user", "add", "envuser"])
        .env("SIGNET_DATA", &via_env)
        .env("SIGNET_PASSWORD", "env-password-1")
        .env_remove("SIGNET_MASTER_KEY")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", stderr(&status));
    assert!(via_env.join("signet.db").exists() && via_env.join("ca.pem").exists());
    assert!(!dir.path().join("signet-data").exists());
    let listed = std::process::Command::new(SIGNET)
        .args(["admin", "user", "list", "--json"])
        .env_remove("SIGNET_DATA")
        .env_remove("SIGNET_MASTER_KEY")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(listed.status.success(), "{}", stderr(&listed));
    assert_eq!(
        serde_json::from_slice::<Value>(&listed.stdout).unwrap(),
        json!([]),
        "a fresh ./signet-data"
    );
    assert!(dir.path().join("signet-data").join("signet.db").exists());
}

/// `signet serve` stops cleanly on SIGTERM, and the audit chain it leaves verifies.
#[tokio::test]
async fn serve_stops_cleanly_on_sigterm() {
    let mut server = Server::start();
    let user = server.add_user("term");
    let cred = server.create_credential(&user, PIN, &["--scal", "1"]);
    let token = server.login(&user).await;
    let sad = server.sad(&token, &cred, 1, None, None, PIN, None).await;
    signatures(
        &server
            .sign_hash(
                &token,
                &cred,
                &sad,
                &[sha256(b"bye")],
                ECDSA_SHA256,
                json!({}),
            )
            .await,
    );
    let status = server.terminate();
    assert!(status.success(), "exit status {status:?}");
    assert!(
        wait_until(std::time::Duration::from_secs(5), || server
            .log_lines()
            .iter()
            .any(|l| l.contains("stopped"))),
        "no shutdown message in {:?}",
        server.log_lines()
    );
    let out = server.cli(&["audit", "verify"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Regression: credential IDs are base64url, and IDs starting with '-' were taken for flags.
#[test]
fn credential_ids_starting_with_a_hyphen_are_arguments() {
    let server = Server::start();
    for cmd in ["disable", "enable", "unlock", "delete"] {
        let out = server.cli(&["admin", "credential", cmd, "-HPeBZtiJvhf38oFnMeo5g"], &[]);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("credential -HPeBZtiJvhf38oFnMeo5g not found"),
            "{cmd}: {stderr}"
        );
    }
}
