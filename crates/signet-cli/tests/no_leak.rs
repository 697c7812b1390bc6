//! Secrets never leak (issue §4): after successful and failed flows, the server's debug log, the
//! audit export, the error bodies and the database files contain none of the passwords, PINs,
//! OTP codes, SADs or tokens; the master key file is private.

mod common;

use common::*;
use serde_json::{Value, json};

const PIN: &str = "pin-7Hq2-Kx9w";
const WRONG_PIN: &str = "pin-WRONG-3Zt8";
const WRONG_PASSWORD: &str = "pw-WRONG-f00dcafe";

/// Whether `code` (digits) occurs in `text` as a whole number: not inside a longer run of
/// letters or digits (so timestamps and hex hashes do not count).
fn contains_code(text: &str, code: &str) -> bool {
    let bytes = text.as_bytes();
    text.match_indices(code).any(|(i, _)| {
        let before = i.checked_sub(1).map(|j| bytes[j]);
        let after = bytes.get(i + code.len()).copied();
        !before.is_some_and(|b| b.is_ascii_alphanumeric())
            && !after.is_some_and(|b| b.is_ascii_alphanumeric())
    })
}

struct Secrets {
    /// Long, distinctive strings: any occurrence is a leak.
    strings: Vec<(String, &'static str)>,
    /// 6-digit codes: a leak when they occur as a whole number.
    codes: Vec<String>,
}

impl Secrets {
    fn check(&self, what: &str, text: &str) {
        for (s, name) in &self.strings {
            assert!(!text.contains(s.as_str()), "{name} appears in {what}");
        }
        for c in &self.codes {
            assert!(!contains_code(text, c), "OTP code {c} appears in {what}");
        }
    }

    fn check_bytes(&self, what: &str, bytes: &[u8]) {
        for (s, name) in &self.strings {
            assert!(
                !bytes.windows(s.len()).any(|w| w == s.as_bytes()),
                "{name} appears in {what}"
            );
        }
    }
}

#[tokio::test]
async fn no_secret_in_logs_audit_errors_or_database() {
    no_secret_leaks(&[("SIGNET_LOG", "debug")]).await;
}

/// The same with JSON logs (issue 6): span fields (request IDs, routes) and event fields are
/// serialized differently there, so they are checked again.
#[tokio::test]
async fn no_secret_in_json_logs() {
    no_secret_leaks(&[("SIGNET_LOG", "debug"), ("SIGNET_LOG__FORMAT", "json")]).await;
}

async fn no_secret_leaks(env: &[(&str, &str)]) {
    let server = Server::start_with_env(env);
    let user = server.add_user("sophie");
    let scal2 = server.create_credential(&user, PIN, &["--multisign", "2"]);
    let scal1 = server.create_credential(&user, PIN, &["--scal", "1", "--multisign", "3"]);
    let mut strings: Vec<(String, &'static str)> = vec![
        (user.password.clone(), "the password"),
        (WRONG_PASSWORD.into(), "a wrong password"),
        (PIN.into(), "the PIN"),
        (WRONG_PIN.into(), "a wrong PIN"),
        (user.totp_base32.clone(), "the TOTP secret"),
    ];
    let mut codes = Vec::new();
    let mut error_bodies: Vec<Value> = Vec::new();
    // Keeps the body of every refused request.
    macro_rules! keep {
        ($reply:expr $(,)?) => {{
            let reply: (u16, Value) = $reply;
            if reply.0 != 200 {
                error_bodies.push(reply.1.clone());
            }
            reply
        }};
    }

    // Logins: Basic + rememberMe, wrong password, refresh token.
    let (access, refresh) = server.login_remember(&user).await;
    strings.push((access.clone(), "an access token"));
    strings.push((refresh.clone(), "a refresh token"));
    let resp = server
        .http
        .post(format!("{}/csc/v2/auth/login", server.url))
        .basic_auth(&user.username, Some(WRONG_PASSWORD))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    error_bodies.push(resp.json().await.unwrap());
    let (status, body) = keep!(
        server
            .post(
                "/csc/v2/auth/login",
                None,
                &json!({ "refresh_token": refresh })
            )
            .await
    );
    assert_eq!(status, 200);
    let access2 = body["access_token"].as_str().unwrap().to_string();
    strings.push((access2.clone(), "a refreshed access token"));
    keep!(
        server
            .post(
                "/csc/v2/credentials/list",
                Some("bm90LWEtdG9rZW4"),
                &json!({})
            )
            .await
    );

    // Failed authorizations: wrong PIN (v2 and v1), wrong OTP, reused OTP.
    let d = [sha256(b"leak test")];
    let otp = server.fresh_otp(&user);
    codes.push(otp.clone());
    keep!(
        server
            .authorize(
                &access,
                &scal2,
                1,
                Some(&d),
                Some(SHA256),
                WRONG_PIN,
                Some(&otp)
            )
            .await
    );
    let bad_otp = wrong_otp(&user);
    codes.push(bad_otp.clone());
    keep!(
        server
            .authorize(
                &access,
                &scal2,
                1,
                Some(&d),
                Some(SHA256),
                PIN,
                Some(&bad_otp)
            )
            .await
    );
    keep!(
        server
            .post(
                "/csc/v1/credentials/authorize",
                Some(&access),
                &json!({ "credentialID": scal2, "numSignatures": 1, "hash": [b64(&d[0])], "PIN": WRONG_PIN, "OTP": otp }),
            )
            .await,
    );
    // Success, then the same code again.
    let (status, body) = keep!(
        server
            .authorize(&access, &scal2, 1, Some(&d), Some(SHA256), PIN, Some(&otp))
            .await
    );
    assert_eq!(status, 200, "{body}");
    let sad = body["SAD"].as_str().unwrap().to_string();
    strings.push((sad.clone(), "a SAD"));
    let reply = keep!(
        server
            .authorize(&access, &scal2, 1, Some(&d), Some(SHA256), PIN, Some(&otp))
            .await
    );
    assert_eq!(reply.0, 400);
    // Signing, replay, SADs in the wrong places.
    signatures(&keep!(
        server
            .sign_hash(&access, &scal2, &sad, &d, ECDSA_SHA256, json!({}))
            .await
    ));
    keep!(
        server
            .sign_hash(&access, &scal2, &sad, &d, ECDSA_SHA256, json!({}))
            .await
    );
    keep!(
        server
            .sign_hash(&access, &scal1, &sad, &d, ECDSA_SHA256, json!({}))
            .await
    );
    keep!(
        server
            .post(
                "/csc/v2/credentials/info",
                Some(&access),
                &json!({ "credentialID": sad })
            )
            .await
    );
    // extendTransaction issues a new SAD.
    let sad1 = server.sad(&access2, &scal1, 3, None, None, PIN, None).await;
    strings.push((sad1.clone(), "a SCAL1 SAD"));
    let (status, body) = keep!(
        server
            .post(
                "/csc/v2/credentials/extendTransaction",
                Some(&access2),
                &json!({ "credentialID": scal1, "SAD": sad1 })
            )
            .await,
    );
    assert_eq!(status, 200, "{body}");
    let sad2 = body["SAD"].as_str().unwrap().to_string();
    strings.push((sad2.clone(), "an extended SAD"));
    signatures(&keep!(
        server
            .sign_hash(&access2, &scal1, &sad2, &d, ECDSA_SHA256, json!({}))
            .await
    ));
    keep!(
        server
            .sign_hash(&access2, &scal1, &sad1, &d, ECDSA_SHA256, json!({}))
            .await
    );
    // Malformed bodies that carry secrets.
    let raw = server
        .raw(
            "POST",
            "/csc/v2/credentials/authorize",
            &[("Authorization", &format!("Bearer {access}")), ("Content-Type", "application/json")],
            format!(r#"{{"credentialID": "{scal1}", "numSignatures": 1, "PIN": "{PIN}", "SAD": "{sad2}""#).into_bytes(),
        )
        .await;
    assert_eq!(raw.status, 400);
    error_bodies.push(raw.json());
    // Revocation.
    let resp = server
        .raw(
            "POST",
            "/csc/v2/auth/revoke",
            &[
                ("Authorization", &format!("Bearer {access}")),
                ("Content-Type", "application/json"),
            ],
            serde_json::to_vec(&json!({ "token": refresh })).unwrap(),
        )
        .await;
    assert_eq!(resp.status, 204);
    keep!(
        server
            .post("/csc/v2/credentials/list", Some(&access2), &json!({}))
            .await
    );

    let secrets = Secrets { strings, codes };
    assert!(error_bodies.len() >= 10, "the refusals happened");
    for body in &error_bodies {
        assert!(body["error"].is_string(), "{body}");
        secrets.check("an error body", &body.to_string());
    }
    let log = server.log_lines().join("\n");
    assert!(log.contains("listening on http://"), "the log is captured");
    secrets.check("the server log", &log);
    let export = server.cli_ok(&["audit", "export"], &[]);
    assert!(
        export.lines().count() > 15,
        "the audit has the flows: {export}"
    );
    secrets.check("the audit export", &export);
    // The sealed checkpoints (what is handed to witnesses) and an inclusion proof.
    let sealed = wait_until(std::time::Duration::from_secs(10), || {
        server
            .cli_ok(&["audit", "verify"], &[])
            .contains("every record is sealed")
    });
    assert!(sealed, "the log gets sealed");
    let checkpoint = server.cli_ok(&["audit", "checkpoint", "--json"], &[]);
    secrets.check("the audit checkpoint", &checkpoint);
    let proof = server.cli_ok(&["audit", "prove", "1"], &[]);
    secrets.check("an inclusion proof", &proof);
    for file in ["signet.db", "signet.db-wal"] {
        if let Ok(bytes) = std::fs::read(server.data_dir().join(file)) {
            secrets.check_bytes(file, &bytes);
        }
    }
    // On PostgreSQL (SIGNET_TEST_STORE=postgres): every row of every table, as text.
    if let Some(url) = server.database_url() {
        let tables = common::pg::query(
            &url,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
        );
        assert!(tables.len() >= 10, "{tables:?}");
        for table in tables
            .into_iter()
            .filter_map(|r| r.into_iter().next().flatten())
        {
            let rows = common::pg::query(&url, &format!("SELECT t::text FROM \"{table}\" t"));
            let text: String = rows
                .into_iter()
                .filter_map(|r| r.into_iter().next().flatten())
                .collect::<Vec<_>>()
                .join("\n");
            secrets.check(&format!("table {table}"), &text);
        }
    }

    // Passwords are stored with argon2.
    let stored = server
        .db_text("SELECT password_hash FROM users WHERE username = 'sophie'")
        .unwrap();
    assert!(
        stored.starts_with("$argon2"),
        "password stored as {stored:.10}…"
    );

    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(server.data_dir().join("master.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "master.key is private");
}

#[test]
fn contains_code_ignores_longer_runs() {
    assert!(contains_code(r#"{"otp":"123456"}"#, "123456"));
    assert!(contains_code("otp=123456 ok", "123456"));
    assert!(!contains_code("1795471101234567", "123456"));
    assert!(!contains_code("ab123456cd", "123456"));
}

/// The outside probe forged a log line: at debug level a refused request's description was
/// logged as it came, and a `signAlgo` with a newline in it started a line of its own. Every
/// request-derived value is now escaped and cut to 128 characters.
#[tokio::test]
async fn request_values_cannot_forge_log_lines() {
    let server = Server::start_with_env(&[("SIGNET_LOG", "debug")]);
    let user = server.add_user("logan");
    let cred = server.create_credential(&user, PIN, &["--scal", "1"]);
    let token = server.login(&user).await;
    let forged = "2030-01-01T00:00:00.000000Z  INFO signet_server: FORGED admin signed in";
    let d = sha256(b"log injection");
    let sad = server.sad(&token, &cred, 1, None, None, PIN, None).await;
    let sign_algo = format!("1.2.840.10045.4.3.2\n{forged}\r\n");
    let reply = server
        .sign_hash(
            &token,
            &cred,
            &sad,
            std::slice::from_ref(&d),
            &sign_algo,
            json!({}),
        )
        .await;
    let description = expect_error(&reply, 400, "invalid_request");
    assert_eq!(
        description,
        format!("Unsupported signature algorithm {sign_algo}")
    );
    let long = format!("1.2.{}", "9".repeat(1000));
    let reply = server
        .sign_hash(
            &token,
            &cred,
            &sad,
            std::slice::from_ref(&d),
            &long,
            json!({}),
        )
        .await;
    expect_error(&reply, 400, "invalid_request");

    // The access line of the last request follows its refusal line: once it is there, both
    // refusals are in the log.
    let expected = format!(
        "{}…",
        &format!("Unsupported signature algorithm {long}")[..128]
    );
    assert!(
        wait_until(std::time::Duration::from_secs(10), || {
            server.log_lines().iter().any(|l| l.contains(&expected))
        }),
        "the long value is logged, cut after 128 characters:\n{}",
        server.log_lines().join("\n")
    );
    let lines = server.log_lines();
    for line in &lines {
        assert!(
            !line.starts_with(forged) && !line.starts_with("2030-"),
            "a forged log line: {line}"
        );
    }
    let log = lines.join("\n");
    assert!(
        log.contains(&format!("1.2.840.10045.4.3.2\\n{forged}\\r\\n")),
        "the value is logged escaped, on one line:\n{log}"
    );
    assert!(!log.contains(&long[..200]), "the long value is cut:\n{log}");
}
