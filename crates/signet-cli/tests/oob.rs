//! Decoupled (out-of-band) authorization for `--auth oob` credentials: credentials/authorize
//! answers 202 with a handle, the signer approves on Signet's approval page with PIN and TOTP
//! (or denies), and credentials/authorizeCheck returns 202, then the SAD exactly once, or an
//! error after denial or expiry.

mod common;

use std::time::Duration;

use common::oauth::*;
use common::*;
use serde_json::{Value, json};

const PIN: &str = "97531";

async fn request(server: &Server, token: &str, cred: &str, digest: &[u8]) -> (u16, Value) {
    let body = json!({
        "credentialID": cred, "numSignatures": 1, "hashes": [b64(digest)], "hashAlgorithmOID": SHA256,
        "description": "Invoice 2026-117", "authData": [{"id": "PIN"}, {"id": "OTP"}],
    });
    server
        .post("/csc/v2/credentials/authorize", Some(token), &body)
        .await
}

async fn check(server: &Server, token: &str, handle: &str) -> (u16, Value) {
    server
        .post(
            "/csc/v2/credentials/authorizeCheck",
            Some(token),
            &json!({ "handle": handle }),
        )
        .await
}

/// Signs in on the approval page and returns the list.
async fn approval_page(server: &Server, user: &TestUser) -> (Browser, Page) {
    let browser = Browser::new(server);
    let signin = browser.get("/approve").await;
    assert_eq!(signin.status, 200);
    signin.assert_page_headers();
    let list = browser.sign_in(&signin, user).await;
    assert_eq!(list.status, 200, "{}", list.body);
    list.assert_page_headers();
    (browser, list)
}

async fn decide(browser: &Browser, page: &Page, action: &str, pin: &str, otp: &str) -> Page {
    let fields = [
        ("csrf", page.input("csrf").unwrap()),
        (
            "request",
            page.input("request")
                .expect("a pending request on the page"),
        ),
        ("action", action.to_string()),
        ("pin", pin.to_string()),
        ("otp", otp.to_string()),
    ];
    let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.post_form("/approve", &refs).await
}

#[tokio::test]
async fn approve_on_the_phone_then_collect_the_sad_once() {
    let server = Server::start();
    let user = server.add_user("pavel");
    let cred = server.create_credential(&user, PIN, &["--auth", "oob"]);
    let token = server.login(&user).await;

    // credentials/info: v2 explicit with out-of-band objects; v1 implicit.
    let (_, info) = server
        .post(
            "/csc/v2/credentials/info",
            Some(&token),
            &json!({ "credentialID": cred }),
        )
        .await;
    assert_eq!(info["auth"]["mode"], "explicit");
    assert_eq!(info["auth"]["expression"], "PIN AND OTP");
    let types: Vec<&str> = info["auth"]["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["PasswordOOB", "PasswordOOB"]);
    let (_, v1) = server
        .post(
            "/csc/v1/credentials/info",
            Some(&token),
            &json!({ "credentialID": cred }),
        )
        .await;
    assert_eq!(v1["authMode"], "implicit");

    // The application may not collect the factors itself.
    let with_pin = json!({ "credentialID": cred, "numSignatures": 1, "hashes": [b64(&sha256(b"x"))], "authData": [{"id": "PIN", "value": PIN}] });
    expect_error(
        &server
            .post("/csc/v2/credentials/authorize", Some(&token), &with_pin)
            .await,
        400,
        "invalid_request",
    );

    let digest = sha256(b"invoice 117");
    let (status, body) = request(&server, &token, &cred, &digest).await;
    assert_eq!(status, 202, "{body}");
    let handle = body["handle"].as_str().unwrap().to_string();
    let (status, pending) = check(&server, &token, &handle).await;
    assert_eq!(
        (status, pending["handle"].as_str()),
        (202, Some(handle.as_str()))
    );

    // Another user cannot poll it.
    let eve = server.add_user("eve");
    let eve_token = server.login(&eve).await;
    expect_error(
        &check(&server, &eve_token, &handle).await,
        400,
        "invalid_request",
    );

    let (browser, list) = approval_page(&server, &user).await;
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    for shown in [
        cred.as_str(),
        "CN=pavel",
        "Invoice 2026-117",
        &hex[..8],
        "One-time code",
    ] {
        assert!(
            list.body.contains(shown),
            "approval page lacks {shown}: {}",
            list.body
        );
    }
    // A wrong PIN is refused on the page, the request stays pending.
    let wrong = decide(
        &browser,
        &list,
        "approve",
        "11111",
        &server.fresh_otp(&user),
    )
    .await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.body.contains("wrong"), "{}", wrong.body);
    assert_eq!(check(&server, &token, &handle).await.0, 202);
    let done = decide(&browser, &wrong, "approve", PIN, &server.fresh_otp(&user)).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let after = browser.follow(done).await;
    assert!(after.body.contains("Approved"), "{}", after.body);
    assert!(after.input("request").is_none(), "nothing pending any more");

    let (status, authorized) = check(&server, &token, &handle).await;
    assert_eq!(status, 200, "{authorized}");
    let sad = authorized["SAD"].as_str().unwrap().to_string();
    assert!(authorized["expiresIn"].as_u64().unwrap() > 0);
    // The SAD is handed out exactly once.
    expect_error(
        &check(&server, &token, &handle).await,
        400,
        "invalid_request",
    );
    let reply = server
        .sign_hash(
            &token,
            &cred,
            &sad,
            std::slice::from_ref(&digest),
            ECDSA_SHA256,
            json!({}),
        )
        .await;
    let cert = server.certificate(&token, &cred).await;
    verify(
        &cert,
        ECDSA_SHA256,
        SHA256,
        b"invoice 117",
        &signatures(&reply)[0],
    )
    .expect("verifies");
    let audit = server.audit_export();
    for kind in [
        "oob.request",
        "oob.approve",
        "oob.collect",
        "signature.create",
    ] {
        assert!(
            audit.iter().any(|r| r["kind"] == kind),
            "audit lacks {kind}"
        );
    }
    assert!(!serde_json::to_string(&audit).unwrap().contains(&sad));
    for l in browser.locations() {
        assert!(
            !l.contains(PIN) && !l.contains(&handle) && !l.contains(&sad),
            "{l}"
        );
    }
}

#[tokio::test]
async fn denial_and_expiry_end_the_request() {
    let server = Server::start_with_env(&[("SIGNET_OAUTH2__OOB_LIFETIME_SECONDS", "2")]);
    let user = server.add_user("rita");
    let cred = server.create_credential(&user, PIN, &["--auth", "oob", "--scal", "1"]);
    let token = server.login(&user).await;

    let (_, body) = request(&server, &token, &cred, &sha256(b"deny me")).await;
    let handle = body["handle"].as_str().unwrap().to_string();
    let (browser, list) = approval_page(&server, &user).await;
    assert!(
        !list.body.contains("One-time code"),
        "SCAL1 asks the PIN only"
    );
    let denied = decide(&browser, &list, "deny", "", "").await;
    assert_eq!(denied.status, 303);
    expect_error(&check(&server, &token, &handle).await, 400, "access_denied");
    assert!(
        server
            .audit_export()
            .iter()
            .any(|r| r["kind"] == "oob.deny")
    );

    let (_, body) = request(&server, &token, &cred, &sha256(b"too late")).await;
    let handle = body["handle"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let desc = expect_error(
        &check(&server, &token, &handle).await,
        400,
        "invalid_request",
    );
    assert!(desc.contains("expired"), "{desc}");
    // Expired requests are not shown for approval.
    let page = browser.get("/approve").await;
    assert!(page.input("request").is_none());
    // Unknown handles.
    expect_error(
        &check(&server, &token, "no-such-handle").await,
        400,
        "invalid_request",
    );
    expect_error(
        &server
            .post(
                "/csc/v2/credentials/authorizeCheck",
                Some(&token),
                &json!({}),
            )
            .await,
        400,
        "invalid_request",
    );
}

#[tokio::test]
async fn v1_implicit_authorize_waits_for_the_approval() {
    let server = std::sync::Arc::new(Server::start());
    let user = server.add_user("ivo");
    let cred = server.create_credential(&user, PIN, &["--auth", "oob", "--scal", "1"]);
    let token = server.login(&user).await;
    let digest = sha256(b"v1 implicit");
    let body = json!({ "credentialID": cred, "numSignatures": 1, "hash": [b64(&digest)] });
    let waiting = {
        let (server, token) = (std::sync::Arc::clone(&server), token.clone());
        tokio::spawn(async move {
            server
                .post("/csc/v1/credentials/authorize", Some(&token), &body)
                .await
        })
    };
    // Approve as soon as the request shows up.
    let (browser, _) = approval_page(&server, &user).await;
    let mut page = browser.get("/approve").await;
    for _ in 0..50 {
        if page.input("request").is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        page = browser.get("/approve").await;
    }
    assert_eq!(
        decide(&browser, &page, "approve", PIN, "").await.status,
        303
    );
    let (status, reply) = waiting.await.unwrap();
    assert_eq!(status, 200, "{reply}");
    let sad = reply["SAD"].as_str().unwrap();
    let v1 = json!({ "credentialID": cred, "SAD": sad, "hash": [b64(&digest)], "signAlgo": ECDSA_SHA256 });
    assert_eq!(
        server
            .post("/csc/v1/signatures/signHash", Some(&token), &v1)
            .await
            .0,
        200
    );
}

/// An approval is the SAM's seal over the request and its binding, not a status: one written
/// into the database by hand, or copied from another request, yields no SAD.
#[tokio::test]
async fn an_approval_the_sam_did_not_seal_yields_no_sad() {
    let server = Server::start();
    let user = server.add_user("olga");
    let cred = server.create_credential(&user, PIN, &["--auth", "oob"]);
    let token = server.login(&user).await;

    // Request A, approved on the page as it should be; request B only requested.
    let (_, a) = request(&server, &token, &cred, &sha256(b"contract A")).await;
    let handle_a = a["handle"].as_str().unwrap().to_string();
    let (browser, list) = approval_page(&server, &user).await;
    let done = decide(&browser, &list, "approve", PIN, &server.fresh_otp(&user)).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let (_, b) = request(&server, &token, &cred, &sha256(b"contract B")).await;
    let handle_b = b["handle"].as_str().unwrap().to_string();
    assert_eq!(check(&server, &token, &handle_b).await.0, 202);

    // Someone with database access marks B approved, first bare, then with A's seal.
    let not_sealed = "The signer's approval of this authorization is not valid";
    server.db_exec("UPDATE oob_requests SET status = 'approved' WHERE status = 'pending'");
    let refused = expect_error(
        &check(&server, &token, &handle_b).await,
        400,
        "invalid_request",
    );
    assert_eq!(refused, not_sealed);
    server.db_exec(
        "UPDATE oob_requests SET approval = (SELECT approval FROM oob_requests \
         WHERE approval IS NOT NULL) WHERE approval IS NULL",
    );
    let refused = expect_error(
        &check(&server, &token, &handle_b).await,
        400,
        "invalid_request",
    );
    assert_eq!(refused, not_sealed);
    assert!(
        !server
            .audit_export()
            .iter()
            .any(|r| r["kind"] == "credential.authorize"),
        "no SAD was issued"
    );

    // A, approved by the signer, is collected once as usual.
    let (status, authorized) = check(&server, &token, &handle_a).await;
    assert_eq!(status, 200, "{authorized}");
    assert!(authorized["SAD"].as_str().is_some_and(|s| !s.is_empty()));
}
