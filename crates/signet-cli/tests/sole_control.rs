//! Sole control (issue §4, EN 419241-1 SCAL2): every refusal of the SAM, seen through the API.
//! SAD replay, another user's SAD or credential (indistinguishable from unknown ones), hashes and
//! counts not authorized, expiry, disabled credentials and users, missing factors, TOTP reuse,
//! lock-out and its configuration, algorithm and digest checks, and atomic spending under load.

mod common;

use common::*;
use serde_json::{Value, json};

const PIN: &str = "8642";
/// The refusal of a code whose time step was already accepted.
const OTP_REPLAYED: &str = "OTP already used: wait for the next code of the authenticator";

async fn sign(
    server: &Server,
    token: &str,
    cred: &str,
    sad: &str,
    hashes: &[Vec<u8>],
) -> (u16, Value) {
    server
        .sign_hash(token, cred, sad, hashes, ECDSA_SHA256, json!({}))
        .await
}

#[tokio::test]
async fn sad_is_single_use() {
    let server = Server::start();
    let user = server.add_user("ada");
    let cred = server.create_credential(&user, PIN, &["--scal", "1"]);
    let token = server.login(&user).await;
    let d = sha256(b"once");
    let sad = server.sad(&token, &cred, 1, None, None, PIN, None).await;
    signatures(&sign(&server, &token, &cred, &sad, std::slice::from_ref(&d)).await);
    let replay = sign(&server, &token, &cred, &sad, std::slice::from_ref(&d)).await;
    assert_eq!(expect_error(&replay, 400, "invalid_request"), "Invalid SAD");
    // A made-up SAD gets the same answer.
    let made_up = sign(
        &server,
        &token,
        &cred,
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        &[d],
    )
    .await;
    assert_eq!(made_up, replay);
}

#[tokio::test]
async fn users_never_see_or_use_each_others_credentials_or_sads() {
    let server = Server::start();
    let alice = server.add_user("alice");
    let bob = server.add_user("bob");
    let a1 = server.create_credential(&alice, PIN, &["--scal", "1", "--multisign", "2"]);
    let a2 = server.create_credential(&alice, PIN, &["--scal", "1"]);
    let b1 = server.create_credential(&bob, PIN, &["--scal", "1"]);
    let ta = server.login(&alice).await;
    let tb = server.login(&bob).await;
    let d = sha256(b"contract");
    let unknown = "c0ffee00c0ffee00c0ffee00";

    // Lists never contain the other user's credentials.
    for (token, own) in [(&tb, vec![b1.clone()]), (&ta, vec![a1.clone(), a2.clone()])] {
        for body in [
            json!({}),
            json!({ "credentialInfo": true, "certificates": "chain" }),
        ] {
            let (status, list) = server
                .post("/csc/v2/credentials/list", Some(token), &body)
                .await;
            assert_eq!(status, 200);
            let mut ids: Vec<String> = list["credentialIDs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().into())
                .collect();
            ids.sort();
            let mut own = own.clone();
            own.sort();
            assert_eq!(ids, own);
            assert!(
                !list
                    .to_string()
                    .contains(if own.contains(&b1) { &a1 } else { &b1 })
            );
        }
    }

    // Alice's credential is, for Bob, exactly an unknown credential — on every method and version.
    let sad_a = server.sad(&ta, &a1, 2, None, None, PIN, None).await;
    for version in ["v1", "v2"] {
        let bodies = |id: &str| {
            vec![
                ("credentials/info", json!({ "credentialID": id })),
                (
                    "credentials/authorize",
                    json!({ "credentialID": id, "numSignatures": 1, "authData": [{"id": "PIN", "value": PIN}], "PIN": PIN }),
                ),
                (
                    "credentials/extendTransaction",
                    json!({ "credentialID": id, "SAD": sad_a }),
                ),
                (
                    "signatures/signHash",
                    json!({ "credentialID": id, "SAD": sad_a, "hashes": [b64(&d)], "signAlgo": ECDSA_SHA256 }),
                ),
            ]
        };
        for ((method, theirs), (_, nobody)) in bodies(&a1).into_iter().zip(bodies(unknown)) {
            let path = format!("/csc/{version}/{method}");
            let reply = server.post(&path, Some(&tb), &theirs).await;
            assert_eq!(
                expect_error(&reply, 400, "invalid_request"),
                "Invalid parameter credentialID",
                "{path}"
            );
            assert_eq!(
                reply,
                server.post(&path, Some(&tb), &nobody).await,
                "{path}: same reply as an unknown ID"
            );
        }
    }

    // Bob presenting Alice's SAD on his own credential: an invalid SAD, like a made-up one.
    let reply = sign(&server, &tb, &b1, &sad_a, std::slice::from_ref(&d)).await;
    assert_eq!(expect_error(&reply, 400, "invalid_request"), "Invalid SAD");
    assert_eq!(
        reply,
        sign(&server, &tb, &b1, "bm90LWEtc2Fk", std::slice::from_ref(&d)).await
    );
    let reply = server
        .post(
            "/csc/v2/credentials/extendTransaction",
            Some(&tb),
            &json!({ "credentialID": b1, "SAD": sad_a }),
        )
        .await;
    assert_eq!(expect_error(&reply, 400, "invalid_request"), "Invalid SAD");

    // Alice's SAD is bound to a1: not usable on her other credential a2 either.
    let reply = sign(&server, &ta, &a2, &sad_a, std::slice::from_ref(&d)).await;
    expect_error(&reply, 400, "invalid_request");
    // Those attempts did not spend it: she can still use it where it belongs.
    signatures(&sign(&server, &ta, &a1, &sad_a, &[d]).await);
}

#[tokio::test]
async fn hashes_counts_and_algorithms_are_bound_to_the_sad() {
    let server = Server::start();
    let user = server.add_user("hugo");
    let scal2 = server.create_credential(&user, PIN, &["--multisign", "4"]);
    let scal1 = server.create_credential(&user, PIN, &["--scal", "1", "--multisign", "4"]);
    let rsa = server.create_credential(&user, PIN, &["--key", "rsa-2048", "--scal", "1"]);
    let token = server.login(&user).await;
    let (h1, h2) = (sha256(b"one"), sha256(b"two"));
    let h384 = digest(SHA384, b"one");

    // SCAL2: a hash not authorized.
    let otp = server.fresh_otp(&user);
    let sad = server
        .sad(
            &token,
            &scal2,
            1,
            Some(std::slice::from_ref(&h1)),
            Some(SHA256),
            PIN,
            Some(&otp),
        )
        .await;
    let reply = sign(&server, &token, &scal2, &sad, std::slice::from_ref(&h2)).await;
    assert_eq!(
        expect_error(&reply, 400, "invalid_request"),
        "Hash is not authorized by the SAD"
    );
    // More signatures than authorized (even of the authorized hash).
    let reply = sign(&server, &token, &scal2, &sad, &[h1.clone(), h1.clone()]).await;
    assert_eq!(
        expect_error(&reply, 400, "invalid_request"),
        "Numbers of signatures is too high for the SAD"
    );
    // Another hash algorithm than the authorized one.
    let reply = server
        .sign_hash(
            &token,
            &scal2,
            &sad,
            std::slice::from_ref(&h384),
            ECDSA_SHA384,
            json!({}),
        )
        .await;
    assert_eq!(
        expect_error(&reply, 400, "invalid_request"),
        "Hash algorithm is not the one authorized by the SAD"
    );

    // A duplicated hash needs a duplicated authorization.
    let otp = server.fresh_otp(&user);
    let sad2 = server
        .sad(
            &token,
            &scal2,
            2,
            Some(&[h1.clone(), h2.clone()]),
            Some(SHA256),
            PIN,
            Some(&otp),
        )
        .await;
    let reply = sign(&server, &token, &scal2, &sad2, &[h1.clone(), h1.clone()]).await;
    assert_eq!(
        expect_error(&reply, 400, "invalid_request"),
        "Hash is not authorized by the SAD"
    );

    // SCAL2 authorization refusals (no factor is checked, no OTP is spent).
    let otp = server.fresh_otp(&user);
    let cases: Vec<(Value, &str)> = vec![
        // numSignatures above multisign
        (
            json!({ "numSignatures": 5, "hashes": [b64(&h1), b64(&h1), b64(&h1), b64(&h1), b64(&h1)] }),
            "Numbers of signatures is too high",
        ),
        // no hashes on a SCAL2 credential
        (json!({ "numSignatures": 1 }), ""),
        // numSignatures differs from the number of hashes
        (json!({ "numSignatures": 2, "hashes": [b64(&h1)] }), ""),
        // digest length not that of hashAlgorithmOID
        (
            json!({ "numSignatures": 1, "hashes": [b64(&h384)], "hashAlgorithmOID": SHA256 }),
            "Invalid digest value length",
        ),
        // digest length of no supported algorithm
        (
            json!({ "numSignatures": 1, "hashes": [b64(&h1[..20])] }),
            "Invalid digest value length",
        ),
    ];
    for (mut body, description) in cases {
        body["credentialID"] = json!(scal2);
        body["authData"] = json!([{ "id": "PIN", "value": PIN }, { "id": "OTP", "value": otp }]);
        let reply = server
            .post("/csc/v2/credentials/authorize", Some(&token), &body)
            .await;
        let got = expect_error(&reply, 400, "invalid_request");
        if !description.is_empty() {
            assert_eq!(got, description, "{body}");
        }
    }
    // Missing factors on SCAL2: the OTP, or the PIN.
    let reply = server
        .authorize(
            &token,
            &scal2,
            1,
            Some(std::slice::from_ref(&h1)),
            Some(SHA256),
            PIN,
            None,
        )
        .await;
    assert!(expect_error(&reply, 400, "invalid_request").contains("OTP"));
    let reply = server
        .post(
            "/csc/v2/credentials/authorize",
            Some(&token),
            &json!({ "credentialID": scal2, "numSignatures": 1, "hashes": [b64(&h1)], "authData": [{ "id": "OTP", "value": otp }] }),
        )
        .await;
    assert!(expect_error(&reply, 400, "invalid_request").contains("PIN"));

    // SCAL1 counts too: one signature authorized, two asked.
    let sad = server.sad(&token, &scal1, 1, None, None, PIN, None).await;
    let reply = sign(&server, &token, &scal1, &sad, &[h1.clone(), h2.clone()]).await;
    assert_eq!(
        expect_error(&reply, 400, "invalid_request"),
        "Numbers of signatures is too high for the SAD"
    );
    // SCAL1 with a hash algorithm named at authorization: another one is refused.
    let sad = server
        .sad(&token, &scal1, 1, None, Some(SHA256), PIN, None)
        .await;
    let reply = server
        .sign_hash(
            &token,
            &scal1,
            &sad,
            std::slice::from_ref(&h384),
            ECDSA_SHA384,
            json!({}),
        )
        .await;
    assert_eq!(
        expect_error(&reply, 400, "invalid_request"),
        "Hash algorithm is not the one authorized by the SAD"
    );
    let reply = server
        .sign_hash(
            &token,
            &rsa,
            &server
                .sad(&token, &rsa, 1, None, Some(SHA256), PIN, None)
                .await,
            std::slice::from_ref(&h384),
            "1.2.840.113549.1.1.12",
            json!({}),
        )
        .await;
    assert_eq!(
        expect_error(&reply, 400, "invalid_request"),
        "Hash algorithm is not the one authorized by the SAD"
    );

    // signHash algorithm and digest checks, each with a live SAD.
    let rows: Vec<(&str, &str, Vec<u8>, Value, &str)> = vec![
        (
            scal1.as_str(),
            ECDSA_SHA256,
            h1[..31].to_vec(),
            json!({}),
            "Invalid digest value length",
        ),
        (
            scal1.as_str(),
            ECDSA_SHA256,
            h384.clone(),
            json!({}),
            "Invalid digest value length",
        ),
        (
            rsa.as_str(),
            RSA_SHA256,
            h384.clone(),
            json!({}),
            "Invalid digest value length",
        ),
        (scal1.as_str(), RSA_SHA256, h1.clone(), json!({}), ""),
        (
            scal1.as_str(),
            RSASSA_PSS,
            h1.clone(),
            json!({ "hashAlgorithmOID": SHA256 }),
            "",
        ),
        (rsa.as_str(), ECDSA_SHA256, h1.clone(), json!({}), ""),
        (scal1.as_str(), "1.2.3.4", h1.clone(), json!({}), ""),
        (
            scal1.as_str(),
            ECDSA_SHA256,
            h1.clone(),
            json!({ "hashAlgorithmOID": SHA384 }),
            "",
        ),
        (rsa.as_str(), RSA_ENCRYPTION, h1.clone(), json!({}), ""),
        (
            rsa.as_str(),
            RSA_ENCRYPTION,
            h1.clone(),
            json!({ "hashAlgorithmOID": "1.3.14.3.2.26" }),
            "",
        ),
        (
            rsa.as_str(),
            RSASSA_PSS,
            h1.clone(),
            json!({ "signAlgoParams": b64(&pss_params(SHA384)), "hashAlgorithmOID": SHA256 }),
            "",
        ),
        (
            rsa.as_str(),
            RSASSA_PSS,
            h1.clone(),
            json!({ "signAlgoParams": b64(b"\x30\x00") }),
            "",
        ),
    ];
    for (cred, algo, hash, extra, description) in rows {
        let sad = server.sad(&token, cred, 1, None, None, PIN, None).await;
        let reply = server
            .sign_hash(&token, cred, &sad, &[hash], algo, extra.clone())
            .await;
        let got = expect_error(&reply, 400, "invalid_request");
        if !description.is_empty() {
            assert_eq!(got, description, "{algo} {extra}");
        }
    }
}

#[tokio::test]
async fn expired_sad_and_expired_access_token_are_refused() {
    let server = Server::start_with_env(&[
        ("SIGNET_SAM__SAD_LIFETIME_SECONDS", "1"),
        // 2 s: a token issued just before a second boundary still lives for at least 1 s.
        ("SIGNET_TOKENS__ACCESS_LIFETIME_SECONDS", "2"),
    ]);
    let user = server.add_user("otto");
    let cred = server.create_credential(&user, PIN, &["--scal", "1", "--multisign", "2"]);
    let (token, refresh) = server.login_remember(&user).await;
    let (status, body) = server
        .authorize(&token, &cred, 1, None, None, PIN, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["expiresIn"], 1);
    let sad = body["SAD"].as_str().unwrap().to_string();
    let sad2 = server.sad(&token, &cred, 2, None, None, PIN, None).await;
    // Lifetimes count in whole seconds: after 3.1 s both are over.
    std::thread::sleep(std::time::Duration::from_millis(3100));
    // The access token expired too (401 invalid_token); the refresh token gives a new one.
    let reply = server
        .post("/csc/v2/credentials/list", Some(&token), &json!({}))
        .await;
    expect_error(&reply, 401, "invalid_token");
    let (status, body) = server
        .post(
            "/csc/v2/auth/login",
            None,
            &json!({ "refresh_token": refresh }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["expires_in"], 2);
    let token = body["access_token"].as_str().unwrap().to_string();
    let reply = sign(&server, &token, &cred, &sad, &[sha256(b"late")]).await;
    assert_eq!(expect_error(&reply, 400, "invalid_request"), "SAD expired");
    let reply = server
        .post(
            "/csc/v2/credentials/extendTransaction",
            Some(&token),
            &json!({ "credentialID": cred, "SAD": sad2 }),
        )
        .await;
    assert_eq!(expect_error(&reply, 400, "invalid_request"), "SAD expired");
}

#[tokio::test]
async fn disabled_credential_and_disabled_user_are_refused_until_enabled() {
    let server = Server::start();
    let user = server.add_user("dora");
    let cred = server.create_credential(&user, PIN, &["--scal", "1", "--multisign", "2"]);
    let token = server.login(&user).await;
    let d = sha256(b"while disabled");
    let sad = server.sad(&token, &cred, 1, None, None, PIN, None).await;

    server.cli_ok(&["admin", "credential", "disable", &cred], &[]);
    let disabled = "The credential identified by credentialID is disabled";
    let reply = server
        .authorize(&token, &cred, 1, None, None, PIN, None)
        .await;
    assert_eq!(expect_error(&reply, 400, "invalid_request"), disabled);
    let reply = sign(&server, &token, &cred, &sad, std::slice::from_ref(&d)).await;
    assert_eq!(expect_error(&reply, 400, "invalid_request"), disabled);
    let reply = server
        .post(
            "/csc/v2/credentials/extendTransaction",
            Some(&token),
            &json!({ "credentialID": cred, "SAD": sad }),
        )
        .await;
    assert_eq!(expect_error(&reply, 400, "invalid_request"), disabled);
    let (_, info) = server
        .post(
            "/csc/v2/credentials/info",
            Some(&token),
            &json!({ "credentialID": cred }),
        )
        .await;
    assert_eq!(info["key"]["status"], "disabled");

    server.cli_ok(&["admin", "credential", "enable", &cred], &[]);
    let sad = server.sad(&token, &cred, 1, None, None, PIN, None).await;
    signatures(&sign(&server, &token, &cred, &sad, std::slice::from_ref(&d)).await);

    // A disabled user can do nothing: not authorize, not sign, not even log in.
    let (_, refresh) = server.login_remember(&user).await;
    let sad = server.sad(&token, &cred, 1, None, None, PIN, None).await;
    server.cli_ok(&["admin", "user", "disable", "dora"], &[]);
    let reply = server
        .authorize(&token, &cred, 1, None, None, PIN, None)
        .await;
    expect_error(&reply, 400, "invalid_request");
    let reply = sign(&server, &token, &cred, &sad, std::slice::from_ref(&d)).await;
    expect_error(&reply, 400, "invalid_request");
    let reply = server
        .post("/csc/v2/credentials/list", Some(&token), &json!({}))
        .await;
    expect_error(&reply, 400, "invalid_request");
    let resp = server
        .http
        .post(format!("{}/csc/v2/auth/login", server.url))
        .basic_auth("dora", Some(&user.password))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "authentication_error"
    );
    let reply = server
        .post(
            "/csc/v2/auth/login",
            None,
            &json!({ "refresh_token": refresh }),
        )
        .await;
    expect_error(&reply, 400, "invalid_request");

    server.cli_ok(&["admin", "user", "enable", "dora"], &[]);
    let sad = server.sad(&token, &cred, 1, None, None, PIN, None).await;
    signatures(&sign(&server, &token, &cred, &sad, &[d]).await);
}

#[tokio::test]
async fn a_totp_code_is_accepted_once_per_user() {
    let server = Server::start();
    let user = server.add_user("tess");
    let c1 = server.create_credential(&user, PIN, &[]);
    let c2 = server.create_credential(&user, PIN, &[]);
    let token = server.login(&user).await;
    let d = [sha256(b"totp")];
    let otp = server.fresh_otp(&user);
    let (status, body) = server
        .authorize(&token, &c1, 1, Some(&d), Some(SHA256), PIN, Some(&otp))
        .await;
    assert_eq!(status, 200, "{body}");
    // Same code again: same credential, other credential, v1 — all refused as a replay.
    let reply = server
        .authorize(&token, &c1, 1, Some(&d), Some(SHA256), PIN, Some(&otp))
        .await;
    assert_eq!(
        expect_error(&reply, 400, "invalid_authentication_data"),
        OTP_REPLAYED
    );
    let reply = server
        .authorize(&token, &c2, 1, Some(&d), Some(SHA256), PIN, Some(&otp))
        .await;
    assert_eq!(
        expect_error(&reply, 400, "invalid_authentication_data"),
        OTP_REPLAYED
    );
    let reply = server
        .post(
            "/csc/v1/credentials/authorize",
            Some(&token),
            &json!({ "credentialID": c2, "numSignatures": 1, "hash": [b64(&d[0])], "PIN": PIN, "OTP": otp }),
        )
        .await;
    assert_eq!(expect_error(&reply, 400, "invalid_otp"), OTP_REPLAYED);
    // A new code works.
    let otp = server.fresh_otp(&user);
    let (status, body) = server
        .authorize(&token, &c2, 1, Some(&d), Some(SHA256), PIN, Some(&otp))
        .await;
    assert_eq!(status, 200, "{body}");
}

/// The outside probe's finding: a retrying client sent one valid code 20 times at once and
/// locked its own signer out (1 success, 5 "Invalid OTP", 14 "Credential locked"). A code whose
/// step was already accepted proves possession of the authenticator, not a guess: it is refused
/// without counting, while wrong codes still lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replayed_otp_never_locks_the_signer_out() {
    let server = Server::start_with_env(&[("SIGNET_SAM__MAX_FAILURES", "3")]);
    let user = server.add_user("rex");
    let cred = server.create_credential(&user, PIN, &[]);
    let token = server.login(&user).await;
    let otp = server.fresh_otp(&user);
    let d = b64(&sha256(b"replayed otp"));
    let body = json!({ "credentialID": cred, "numSignatures": 1, "hashes": [d], "hashAlgorithmOID": SHA256, "authData": [{"id": "PIN", "value": PIN}, {"id": "OTP", "value": otp}] });
    let replies = concurrently(&server, 20, "/csc/v2/credentials/authorize", &token, body).await;
    assert_eq!(replies.len(), 20);
    assert_eq!(
        replies.iter().filter(|r| r.0 == 200).count(),
        1,
        "{replies:?}"
    );
    for r in replies.iter().filter(|r| r.0 != 200) {
        assert_eq!(
            expect_error(r, 400, "invalid_authentication_data"),
            OTP_REPLAYED
        );
    }
    // Not locked, no failure counted: a fresh code works, and then max_failures - 1 wrong
    // codes and one more replay still leave it usable.
    let h = [sha256(b"after the replays")];
    let fresh = server.fresh_otp(&user);
    server
        .sad(&token, &cred, 1, Some(&h), Some(SHA256), PIN, Some(&fresh))
        .await;
    for _ in 0..2 {
        let reply = server
            .authorize(
                &token,
                &cred,
                1,
                Some(&h),
                Some(SHA256),
                PIN,
                Some(&wrong_otp(&user)),
            )
            .await;
        assert_eq!(
            expect_error(&reply, 400, "invalid_authentication_data"),
            "Invalid OTP"
        );
    }
    let reply = server
        .authorize(&token, &cred, 1, Some(&h), Some(SHA256), PIN, Some(&fresh))
        .await;
    assert_eq!(
        expect_error(&reply, 400, "invalid_authentication_data"),
        OTP_REPLAYED
    );
    let (status, info) = server
        .post(
            "/csc/v2/credentials/info",
            Some(&token),
            &json!({ "credentialID": cred }),
        )
        .await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["key"]["status"], "enabled");
    // Wrong codes still count: the third consecutive one locks.
    let reply = server
        .authorize(
            &token,
            &cred,
            1,
            Some(&h),
            Some(SHA256),
            PIN,
            Some(&wrong_otp(&user)),
        )
        .await;
    assert_eq!(
        expect_error(&reply, 400, "invalid_authentication_data"),
        "Invalid OTP"
    );
    let newest = server.fresh_otp(&user);
    let reply = server
        .authorize(&token, &cred, 1, Some(&h), Some(SHA256), PIN, Some(&newest))
        .await;
    assert_eq!(
        expect_error(&reply, 400, "invalid_request"),
        "Credential locked"
    );

    // The audit shows each replay as a failure that was not counted, and one lock-out.
    let audit = server.audit_export();
    let of_cred = |kind: &str| {
        audit
            .iter()
            .filter(|r| r["kind"] == kind && r["credential_id"] == cred.as_str())
            .cloned()
            .collect::<Vec<Value>>()
    };
    let detail = |r: &Value| -> Value {
        match &r["detail"] {
            Value::String(s) => serde_json::from_str(s).unwrap(),
            other => other.clone(),
        }
    };
    let replays: Vec<Value> = of_cred("credential.authorize")
        .iter()
        .map(detail)
        .filter(|d| d["reason"] == "otp_reused")
        .collect();
    assert_eq!(replays.len(), 20, "{replays:?}");
    assert!(
        replays
            .iter()
            .all(|d| d["result"] == "failure" && d["counted"] == false)
    );
    assert_eq!(of_cred("credential.locked").len(), 1);
}

async fn wrong_pin(server: &Server, token: &str, cred: &str) {
    let reply = server
        .authorize(token, cred, 1, None, None, "0000", None)
        .await;
    expect_error(&reply, 400, "invalid_authentication_data");
}

#[tokio::test]
async fn five_consecutive_failures_lock_the_credential_until_unlocked() {
    let server = Server::start();
    let user = server.add_user("lou");
    let cred = server.create_credential(&user, PIN, &["--scal", "1"]);
    let other = server.create_credential(&user, PIN, &["--scal", "1"]);
    let token = server.login(&user).await;

    // Failures must be consecutive: a success resets the count.
    for _ in 0..4 {
        wrong_pin(&server, &token, &cred).await;
    }
    server.sad(&token, &cred, 1, None, None, PIN, None).await;
    for _ in 0..5 {
        wrong_pin(&server, &token, &cred).await;
    }
    let locked = server
        .authorize(&token, &cred, 1, None, None, PIN, None)
        .await;
    assert_eq!(
        expect_error(&locked, 400, "invalid_request"),
        "Credential locked"
    );
    // While locked, a wrong PIN says the same: no PIN oracle.
    let reply = server
        .authorize(&token, &cred, 1, None, None, "0000", None)
        .await;
    assert_eq!(reply, locked);
    let (_, info) = server
        .post(
            "/csc/v2/credentials/info",
            Some(&token),
            &json!({ "credentialID": cred }),
        )
        .await;
    assert_eq!(info["key"]["status"], "disabled");
    let listed: Value =
        serde_json::from_str(&server.cli_ok(&["admin", "credential", "list", "--json"], &[]))
            .unwrap();
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["credential_id"] == cred.as_str())
        .unwrap();
    assert_eq!(row["status"], "locked");
    // Other credentials of the same user are unaffected.
    server.sad(&token, &other, 1, None, None, PIN, None).await;

    server.cli_ok(&["admin", "credential", "unlock", &cred], &[]);
    let sad = server.sad(&token, &cred, 1, None, None, PIN, None).await;
    signatures(&sign(&server, &token, &cred, &sad, &[sha256(b"after unlock")]).await);
    // The count starts again from zero after the unlock.
    for _ in 0..4 {
        wrong_pin(&server, &token, &cred).await;
    }
    server.sad(&token, &cred, 1, None, None, PIN, None).await;

    let audit = server.audit_export();
    assert_eq!(
        audit
            .iter()
            .filter(|r| r["kind"] == "credential.locked" && r["credential_id"] == cred.as_str())
            .count(),
        1
    );
    assert!(
        audit
            .iter()
            .any(|r| r["kind"] == "credential.unlock" && r["credential_id"] == cred.as_str())
    );
}

#[tokio::test]
async fn max_failures_is_configurable_and_counts_wrong_otps() {
    let server = Server::start_with_env(&[("SIGNET_SAM__MAX_FAILURES", "2")]);
    let user = server.add_user("max");
    let pin_cred = server.create_credential(&user, PIN, &["--scal", "1"]);
    let otp_cred = server.create_credential(&user, PIN, &[]);
    let token = server.login(&user).await;
    for _ in 0..2 {
        wrong_pin(&server, &token, &pin_cred).await;
    }
    let reply = server
        .authorize(&token, &pin_cred, 1, None, None, PIN, None)
        .await;
    assert_eq!(
        expect_error(&reply, 400, "invalid_request"),
        "Credential locked"
    );

    let d = [sha256(b"otp")];
    for _ in 0..2 {
        let reply = server
            .authorize(
                &token,
                &otp_cred,
                1,
                Some(&d),
                Some(SHA256),
                PIN,
                Some(&wrong_otp(&user)),
            )
            .await;
        expect_error(&reply, 400, "invalid_authentication_data");
    }
    let otp = server.fresh_otp(&user);
    let reply = server
        .authorize(
            &token,
            &otp_cred,
            1,
            Some(&d),
            Some(SHA256),
            PIN,
            Some(&otp),
        )
        .await;
    assert_eq!(
        expect_error(&reply, 400, "invalid_request"),
        "Credential locked"
    );
}

/// Sends `n` copies of a request at once (released together by a barrier); returns the replies.
async fn concurrently(
    server: &Server,
    n: usize,
    path: &str,
    token: &str,
    body: Value,
) -> Vec<(u16, Value)> {
    let url = format!("{}{path}", server.url);
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (client, url, body, token, barrier) = (
                reqwest::Client::new(),
                url.clone(),
                body.clone(),
                token.to_string(),
                barrier.clone(),
            );
            tokio::spawn(async move {
                barrier.wait().await;
                let resp = client
                    .post(url)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let status = resp.status().as_u16();
                (status, resp.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut replies = Vec::new();
    for t in tasks {
        replies.push(t.await.unwrap());
    }
    replies
}

/// Exactly one success; every other reply is the given refusal.
#[track_caller]
fn exactly_one_ok(replies: &[(u16, Value)], code: &str) -> Value {
    let ok: Vec<&(u16, Value)> = replies.iter().filter(|r| r.0 == 200).collect();
    assert_eq!(ok.len(), 1, "{replies:?}");
    for r in replies.iter().filter(|r| r.0 != 200) {
        expect_error(r, 400, code);
    }
    ok[0].1.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_extend_transaction_and_otp_reuse_succeed_once() {
    let server = Server::start();
    let user = server.add_user("rita");
    let cred = server.create_credential(&user, PIN, &["--scal", "1", "--multisign", "2"]);
    let token = server.login(&user).await;
    let sad = server.sad(&token, &cred, 2, None, None, PIN, None).await;
    let replies = concurrently(
        &server,
        10,
        "/csc/v2/credentials/extendTransaction",
        &token,
        json!({ "credentialID": cred, "SAD": sad }),
    )
    .await;
    let new = exactly_one_ok(&replies, "invalid_request")["SAD"]
        .as_str()
        .unwrap()
        .to_string();
    // The winner's SAD carries the two signatures.
    let hashes = [sha256(b"a"), sha256(b"b")];
    assert_eq!(
        signatures(&sign(&server, &token, &cred, &new, &hashes).await).len(),
        2
    );

    // One TOTP code, ten simultaneous authorizations (on two credentials): one is accepted,
    // the others are replays (see a_replayed_otp_never_locks_the_signer_out).
    let scal2 = [
        server.create_credential(&user, PIN, &[]),
        server.create_credential(&user, PIN, &[]),
    ];
    let otp = server.fresh_otp(&user);
    let d = b64(&sha256(b"otp race"));
    let url = "/csc/v2/credentials/authorize";
    let body = |c: &str| json!({ "credentialID": c, "numSignatures": 1, "hashes": [d], "authData": [{"id": "PIN", "value": PIN}, {"id": "OTP", "value": otp}] });
    let (a, b) = tokio::join!(
        concurrently(&server, 5, url, &token, body(&scal2[0])),
        concurrently(&server, 5, url, &token, body(&scal2[1])),
    );
    let all: Vec<(u16, Value)> = a.into_iter().chain(b).collect();
    exactly_one_ok(&all, "invalid_authentication_data");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sign_hash_spends_a_single_signature_sad_once() {
    let server = Server::start();
    let user = server.add_user("cora");
    let cred = server.create_credential(&user, PIN, &[]);
    let token = server.login(&user).await;
    let d = sha256(b"race");
    let otp = server.fresh_otp(&user);
    let sad = server
        .sad(
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
    let replies = concurrently(&server, 20, "/csc/v2/signatures/signHash", &token, body).await;
    assert_eq!(replies.len(), 20);
    let ok = exactly_one_ok(&replies, "invalid_request");
    let cert = server.certificate(&token, &cred).await;
    verify(
        &cert,
        ECDSA_SHA256,
        SHA256,
        b"race",
        &unb64(ok["signatures"][0].as_str().unwrap()),
    )
    .unwrap();
    let audit = server.audit_export();
    assert_eq!(
        audit
            .iter()
            .filter(|r| r["kind"] == "signature.create" && r["credential_id"] == cred.as_str())
            .count(),
        1
    );
}
