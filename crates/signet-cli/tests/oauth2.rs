//! The OAuth2 authorization server and the consent pages, driven over plain HTTP like a browser
//! (cookies kept, redirects read from `Location`): every protocol rule of the authorization
//! code flow with PKCE, PAR, RAR, refresh and client credentials, revocation, metadata, CSRF and
//! page headers, and signHash with a credential-scoped token (EUDI style: Bearer, no SAD; v1
//! style: inside SAD).

mod common;

use std::time::Duration;

use common::oauth::*;
use common::*;
use serde_json::{Value, json};

const PIN: &str = "246810";
const REDIRECT: &str = "https://client.example/callback";

struct Fixture {
    server: Server,
    user: TestUser,
    cred: String,
    client: OAuthClient,
    /// SCAL2 credentials need a TOTP code on the consent page (each one takes a time step).
    scal2: bool,
}

fn fixture_with_env(env: &[(&str, &str)], cred_args: &[&str]) -> Fixture {
    let server = Server::start_with_env(env);
    let user = server.add_user("olga");
    let cred = server.create_credential(&user, PIN, cred_args);
    let client = server.add_client(
        "Contract Portal",
        &[REDIRECT, "http://127.0.0.1:9/cb"],
        false,
        None,
    );
    let scal2 = !cred_args.windows(2).any(|w| w == ["--scal", "1"]);
    Fixture {
        server,
        user,
        cred,
        client,
        scal2,
    }
}

/// An oauth2code SCAL1 credential: the consent page asks only the PIN, so tests need not wait
/// for fresh TOTP steps.
fn fixture() -> Fixture {
    fixture_with_env(&[], &["--auth", "oauth2code", "--scal", "1"])
}

fn credential_params<'a>(cred: &'a str, hashes: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("scope", "credential"),
        ("credentialID", cred),
        ("numSignatures", "1"),
        ("hashes", hashes),
        ("hashAlgorithmOID", SHA256),
        ("description", "Sign the <b>lease</b>"),
    ]
}

/// Browser part up to the consent page: authorize → sign-in page → consent page.
async fn consent_page(f: &Fixture, browser: &Browser, pkce: &Pkce, extra: &[(&str, &str)]) -> Page {
    let signin = browser
        .get(&authorize_path(&f.client, pkce, "st-42", extra))
        .await;
    assert_eq!(signin.status, 200, "{}", signin.body);
    signin.assert_page_headers();
    assert!(
        signin.body.contains("Contract Portal"),
        "the sign-in page names the client"
    );
    let cookie = signin
        .headers
        .get("set-cookie")
        .expect("session cookie")
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "no TLS here: {cookie}");
    let consent = browser.sign_in(&signin, &f.user).await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    consent.assert_page_headers();
    consent
}

/// Approves on the consent page; returns the code (state checked).
async fn approve(f: &Fixture, browser: &Browser, consent: &Page) -> String {
    let otp = f.scal2.then(|| f.server.fresh_otp(&f.user));
    let reply = browser
        .decide(consent, "approve", Some(PIN), otp.as_deref())
        .await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    let location = reply.location().expect("redirect");
    assert!(location.starts_with(&f.client.redirect_uri), "{location}");
    let q = query(&location);
    assert_eq!(q["state"], "st-42");
    assert_eq!(q["iss"], f.server.url, "RFC 9207 iss");
    q["code"].clone()
}

/// A credential-scope code for `digest` (scope=credential, base64url hashes).
async fn credential_code(f: &Fixture, digest: &[u8]) -> (String, Pkce) {
    let browser = Browser::new(&f.server);
    let pkce = pkce();
    let hashes = b64url(digest);
    let consent = consent_page(f, &browser, &pkce, &credential_params(&f.cred, &hashes)).await;
    (approve(f, &browser, &consent).await, pkce)
}

#[tokio::test]
async fn metadata_and_info_advertise_the_authorization_server() {
    let server = Server::start();
    let meta = server
        .raw(
            "GET",
            "/.well-known/oauth-authorization-server",
            &[],
            vec![],
        )
        .await;
    assert_eq!(meta.status, 200);
    let m = meta.json();
    assert_eq!(m["issuer"], server.url);
    for (k, path) in [
        ("authorization_endpoint", "/oauth2/authorize"),
        ("token_endpoint", "/oauth2/token"),
        ("revocation_endpoint", "/oauth2/revoke"),
        (
            "pushed_authorization_request_endpoint",
            "/oauth2/pushed_authorize",
        ),
    ] {
        assert_eq!(m[k], format!("{}{path}", server.url), "{k}");
    }
    assert_eq!(m["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(m["response_types_supported"], json!(["code"]));
    for g in ["authorization_code", "refresh_token", "client_credentials"] {
        assert!(
            m["grant_types_supported"]
                .as_array()
                .unwrap()
                .contains(&json!(g)),
            "{g}"
        );
    }
    assert_eq!(
        m["authorization_details_types_supported"],
        json!([
            "credential",
            "https://cloudsignatureconsortium.org/2025/credential"
        ])
    );
    let (_, v2) = server.post("/csc/v2/info", None, &json!({})).await;
    assert_eq!(v2["oauth2Issuer"], server.url);
    assert_eq!(
        v2["authType"],
        json!(["basic", "oauth2code", "oauth2client"])
    );
    let (_, v1) = server.post("/csc/v1/info", None, &json!({})).await;
    assert_eq!(v1["oauth2"], server.url);
}

#[tokio::test]
async fn oauth2code_credential_signs_with_the_token_as_bearer_and_once() {
    let f = fixture_with_env(&[], &["--auth", "oauth2code"]);
    // credentials/info reports the mode; credentials/authorize is refused for it.
    let service = f.server.login(&f.user).await;
    let (_, info) = f
        .server
        .post(
            "/csc/v2/credentials/info",
            Some(&service),
            &json!({ "credentialID": f.cred }),
        )
        .await;
    assert_eq!(info["auth"]["mode"], "oauth2code", "{info}");
    let (_, v1) = f
        .server
        .post(
            "/csc/v1/credentials/info",
            Some(&service),
            &json!({ "credentialID": f.cred }),
        )
        .await;
    assert_eq!(v1["authMode"], "oauth2code");
    let digest = sha256(b"the lease");
    let otp = f.server.fresh_otp(&f.user);
    let refused = f
        .server
        .authorize(
            &service,
            &f.cred,
            1,
            Some(std::slice::from_ref(&digest)),
            Some(SHA256),
            PIN,
            Some(&otp),
        )
        .await;
    expect_error(&refused, 400, "invalid_request");

    let browser = Browser::new(&f.server);
    let pkce = pkce();
    let hashes = b64url(&digest);
    let consent = consent_page(&f, &browser, &pkce, &credential_params(&f.cred, &hashes)).await;
    // What will be signed, by which key, for whom.
    for shown in [
        f.cred.as_str(),
        "Contract Portal",
        "CN=olga",
        "Sign the &lt;b&gt;lease&lt;/b&gt;",
        "SHA-256",
        "One-time code",
        "PIN",
    ] {
        assert!(
            consent.body.contains(shown),
            "consent page lacks {shown}: {}",
            consent.body
        );
    }
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert!(consent.body.contains(&hex[..8]), "digest shown");
    assert!(
        !consent.body.contains("<b>lease"),
        "the description is escaped"
    );
    assert!(
        consent.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("https://client.example"),
        "form-action allows the redirect target"
    );

    // A wrong PIN re-shows the page with an error and no redirect.
    let wrong = browser
        .decide(
            &consent,
            "approve",
            Some("000000"),
            Some(&f.server.fresh_otp(&f.user)),
        )
        .await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.location().is_none());
    assert!(wrong.body.contains("wrong"), "{}", wrong.body);

    let code = approve(&f, &browser, &wrong).await;
    let (status, tok) = f.server.redeem(&f.client, &code, &pkce.verifier).await;
    assert_eq!(status, 200, "{tok}");
    assert_eq!(tok["token_type"], "Bearer");
    assert_eq!(tok["credentialID"], f.cred);
    assert!(tok["expires_in"].as_u64().unwrap() <= 300);
    assert!(
        tok.get("refresh_token").is_none(),
        "no refresh token for credential scope"
    );
    let token = tok["access_token"].as_str().unwrap().to_string();

    // The credential token is service authorization for credentials/info of its credential
    // only, and nothing else.
    let (status, _) = f
        .server
        .post(
            "/csc/v2/credentials/info",
            Some(&token),
            &json!({ "credentialID": f.cred }),
        )
        .await;
    assert_eq!(status, 200);
    let listed = f
        .server
        .post("/csc/v2/credentials/list", Some(&token), &json!({}))
        .await;
    expect_error(&listed, 401, "invalid_token");

    // EUDI style: Bearer credential token, no SAD.
    let body = json!({ "credentialID": f.cred, "hashes": [b64(&digest)], "hashAlgorithmOID": SHA256, "signAlgo": ECDSA_SHA256 });
    let reply = f
        .server
        .post("/csc/v2/signatures/signHash", Some(&token), &body)
        .await;
    let sig = &signatures(&reply)[0];
    let cert = f.server.certificate(&service, &f.cred).await;
    verify(&cert, ECDSA_SHA256, SHA256, b"the lease", sig).expect("signature verifies");
    // Single use: the token is spent with its only signature.
    let again = f
        .server
        .post("/csc/v2/signatures/signHash", Some(&token), &body)
        .await;
    expect_error(&again, 401, "invalid_token");

    // The code cannot be redeemed twice.
    let (status, err) = f.server.redeem(&f.client, &code, &pkce.verifier).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // No secret ever travelled in a URL the server sent: only the code, in the redirect.
    for l in browser.locations() {
        for secret in [PIN, &f.user.password, &token] {
            assert!(!l.contains(secret), "secret in {l}");
        }
        assert!(
            !l.contains("csrf") && !l.contains("password") && !l.contains("otp"),
            "{l}"
        );
    }
    let audit = f.server.audit_export();
    for kind in [
        "consent.approve",
        "oauth2.code",
        "oauth2.token",
        "signature.create",
    ] {
        assert!(
            audit.iter().any(|r| r["kind"] == kind),
            "audit lacks {kind}"
        );
    }
    let text = serde_json::to_string(&audit).unwrap();
    for secret in [PIN, &f.user.password, &token, &code] {
        assert!(!text.contains(secret), "a secret reached the audit log");
    }
    assert!(
        !f.server.log_lines().join("\n").contains(&code),
        "the code reached the log"
    );
}

#[tokio::test]
async fn credential_token_inside_sad_v1_style_and_bound_to_its_hashes_and_credential() {
    let f = fixture_with_env(&[], &["--multisign", "2"]);
    let other = f.server.create_credential(&f.user, PIN, &[]);
    let service = f.server.login(&f.user).await;
    let (d1, d2) = (sha256(b"one"), sha256(b"two"));
    let browser = Browser::new(&f.server);
    let pkce = pkce();
    let hashes = format!("{},{}", b64url(&d1), b64url(&d2));
    let params = [
        ("scope", "credential"),
        ("credentialID", f.cred.as_str()),
        ("numSignatures", "2"),
        ("hashes", hashes.as_str()),
    ];
    let consent = consent_page(&f, &browser, &pkce, &params).await;
    let code = approve(&f, &browser, &consent).await;
    let (_, tok) = f.server.redeem(&f.client, &code, &pkce.verifier).await;
    let token = tok["access_token"].as_str().expect("token").to_string();

    // A hash outside the authorization is refused.
    let outside = f
        .server
        .sign_hash(
            &service,
            &f.cred,
            &token,
            &[sha256(b"three")],
            ECDSA_SHA256,
            json!({}),
        )
        .await;
    assert_eq!(
        expect_error(&outside, 400, "invalid_request"),
        "Hash is not authorized by the SAD"
    );
    // A token for another credential: as Bearer it is not even service authorization ...
    let body = json!({ "credentialID": other, "hashes": [b64(&d1)], "signAlgo": ECDSA_SHA256 });
    assert_eq!(
        expect_error(
            &f.server
                .post("/csc/v2/signatures/signHash", Some(&token), &body)
                .await,
            401,
            "invalid_token",
        ),
        "A credential-scoped token cannot be used for signatures/signHash of another credential"
    );
    // ... nor for a method that names no credential, which says so (not "another credential").
    let body = json!({ "hash": b64(&d1), "hashAlgorithmOID": SHA256 });
    assert_eq!(
        expect_error(
            &f.server
                .post("/csc/v2/signatures/timestamp", Some(&token), &body)
                .await,
            401,
            "invalid_token",
        ),
        "A credential-scoped token cannot be used for signatures/timestamp: use a service access token"
    );
    // ... and inside SAD it does not authorize the other credential.
    let wrong = f
        .server
        .sign_hash(
            &service,
            &other,
            &token,
            std::slice::from_ref(&d1),
            ECDSA_SHA256,
            json!({}),
        )
        .await;
    expect_error(&wrong, 400, "invalid_request");
    // v1 style: service token as Bearer, the credential token as SAD, v1 member names.
    let v1 = json!({ "credentialID": f.cred, "SAD": token, "hash": [b64(&d1)], "hashAlgo": SHA256, "signAlgo": ECDSA_SHA256 });
    let (status, body) = f
        .server
        .post("/csc/v1/signatures/signHash", Some(&service), &v1)
        .await;
    assert_eq!(status, 200, "{body}");
    // The second authorized hash once, then nothing.
    signatures(
        &f.server
            .sign_hash(
                &service,
                &f.cred,
                &token,
                std::slice::from_ref(&d2),
                ECDSA_SHA256,
                json!({}),
            )
            .await,
    );
    let spent = f
        .server
        .sign_hash(&service, &f.cred, &token, &[d2], ECDSA_SHA256, json!({}))
        .await;
    expect_error(&spent, 400, "invalid_request");
}

#[tokio::test]
async fn code_rules_pkce_reuse_redirect_client() {
    let f = fixture();
    let digest = sha256(b"doc");

    // PKCE mismatch: refused, and the code is burned.
    let (code, pkce_pair) = credential_code(&f, &digest).await;
    let (status, err) = f.server.redeem(&f.client, &code, &pkce().verifier).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant")),
        "{err}"
    );
    assert!(err["error_description"].as_str().unwrap().contains("PKCE"));
    let (status, _) = f.server.redeem(&f.client, &code, &pkce_pair.verifier).await;
    assert_eq!(status, 400, "a refused code is burned");

    // Missing verifier.
    let (code, _) = credential_code(&f, &digest).await;
    let (status, err, _) = f
        .server
        .oauth_post(
            "/oauth2/token",
            &f.client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
            ],
        )
        .await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_request"))
    );

    // Reuse: the second redemption fails and revokes the token of the first.
    let (code, pkce_pair) = credential_code(&f, &digest).await;
    let (status, tok) = f.server.redeem(&f.client, &code, &pkce_pair.verifier).await;
    assert_eq!(status, 200);
    let token = tok["access_token"].as_str().unwrap().to_string();
    let (status, err) = f.server.redeem(&f.client, &code, &pkce_pair.verifier).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let body =
        json!({ "credentialID": f.cred, "hashes": [b64(&digest)], "signAlgo": ECDSA_SHA256 });
    let reply = f
        .server
        .post("/csc/v2/signatures/signHash", Some(&token), &body)
        .await;
    expect_error(&reply, 401, "invalid_token");

    // redirect_uri mismatch at the token endpoint.
    let (code, pkce_pair) = credential_code(&f, &digest).await;
    let (status, err, _) = f
        .server
        .oauth_post(
            "/oauth2/token",
            &f.client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", &pkce_pair.verifier),
                ("redirect_uri", "http://127.0.0.1:9/cb"),
            ],
        )
        .await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant")),
        "{err}"
    );

    // Wrong client: another client cannot redeem the code.
    let other = f.server.add_client("Other App", &[REDIRECT], true, None);
    let (code, pkce_pair) = credential_code(&f, &digest).await;
    let (status, err) = f.server.redeem(&other, &code, &pkce_pair.verifier).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant")),
        "{err}"
    );
    // A wrong secret is invalid_client with a Basic challenge.
    let bad_secret = OAuthClient {
        secret: Some("nope".into()),
        ..other.clone()
    };
    let (status, err, headers) = f
        .server
        .oauth_post(
            "/oauth2/token",
            &bad_secret,
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(
        (status, err["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert_eq!(headers["cache-control"], "no-store");
    // Unknown grant type.
    let (status, err, _) = f
        .server
        .oauth_post("/oauth2/token", &f.client, &[("grant_type", "password")])
        .await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
}

#[tokio::test]
async fn expired_code_is_refused() {
    let f = fixture_with_env(
        &[("SIGNET_OAUTH2__CODE_LIFETIME_SECONDS", "1")],
        &["--scal", "1"],
    );
    let (code, pkce_pair) = credential_code(&f, &sha256(b"late")).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, err) = f.server.redeem(&f.client, &code, &pkce_pair.verifier).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant")),
        "{err}"
    );
}

#[tokio::test]
async fn authorize_errors_before_and_after_the_redirect_uri_is_known() {
    let f = fixture();
    let browser = Browser::new(&f.server);
    let p = pkce();
    // Unregistered redirect URI: an error page, never a redirect.
    let evil = OAuthClient {
        redirect_uri: "https://evil.example/cb".into(),
        ..f.client.clone()
    };
    let page = browser.get(&authorize_path(&evil, &p, "s", &[])).await;
    assert_eq!(page.status, 400);
    assert!(page.location().is_none());
    page.assert_page_headers();
    // Unknown client: the same.
    let ghost = OAuthClient {
        id: "ghost".into(),
        ..f.client.clone()
    };
    let page = browser.get(&authorize_path(&ghost, &p, "s", &[])).await;
    assert_eq!((page.status, page.location()), (400, None));
    // After the redirect URI is known: errors go back to the client with state.
    let no_pkce = format!(
        "/oauth2/authorize?{}",
        serde_urlencoded::to_string([
            ("response_type", "code"),
            ("client_id", &f.client.id),
            ("redirect_uri", REDIRECT),
            ("state", "s1")
        ])
        .unwrap()
    );
    let page = browser.get(&no_pkce).await;
    assert_eq!(page.status, 302);
    let q = query(&page.location().unwrap());
    assert_eq!(
        (q["error"].as_str(), q["state"].as_str()),
        ("invalid_request", "s1")
    );
    let plain = authorize_path(&f.client, &p, "s2", &[])
        .replace("code_challenge_method=S256", "code_challenge_method=plain");
    let q = query(&browser.get(&plain).await.location().unwrap());
    assert_eq!(q["error"], "invalid_request");
    let q = query(
        &browser
            .get(&authorize_path(
                &f.client,
                &p,
                "s3",
                &[("scope", "everything")],
            ))
            .await
            .location()
            .unwrap(),
    );
    assert_eq!(q["error"], "invalid_scope");
    let bad_type = authorize_path(&f.client, &p, "s4", &[])
        .replace("response_type=code", "response_type=token");
    let q = query(&browser.get(&bad_type).await.location().unwrap());
    assert_eq!(q["error"], "unsupported_response_type");
}

#[tokio::test]
async fn deny_redirects_with_access_denied() {
    let f = fixture();
    let browser = Browser::new(&f.server);
    let p = pkce();
    let hashes = b64url(&sha256(b"no"));
    let consent = consent_page(&f, &browser, &p, &credential_params(&f.cred, &hashes)).await;
    let reply = browser.decide(&consent, "deny", None, None).await;
    assert_eq!(reply.status, 303);
    let q = query(&reply.location().unwrap());
    assert_eq!(
        (q["error"].as_str(), q["state"].as_str()),
        ("access_denied", "st-42")
    );
    assert!(!q.contains_key("code"));
    assert!(
        f.server
            .audit_export()
            .iter()
            .any(|r| r["kind"] == "consent.deny")
    );
}

#[tokio::test]
async fn csrf_is_checked_on_every_form() {
    let f = fixture();
    let browser = Browser::new(&f.server);
    let p = pkce();
    let hashes = b64url(&sha256(b"x"));
    let signin = browser
        .get(&authorize_path(
            &f.client,
            &p,
            "s",
            &credential_params(&f.cred, &hashes),
        ))
        .await;
    let next = signin.input("next").unwrap();
    let forged = browser
        .post_form(
            "/signin",
            &[
                ("csrf", "forged"),
                ("next", &next),
                ("username", &f.user.username),
                ("password", &f.user.password),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    let consent = browser.sign_in(&signin, &f.user).await;
    let request = consent.input("request").unwrap();
    let otp = f.server.fresh_otp(&f.user);
    for csrf in ["", "forged"] {
        let reply = browser
            .post_form(
                "/oauth2/consent",
                &[
                    ("csrf", csrf),
                    ("request", &request),
                    ("action", "approve"),
                    ("pin", PIN),
                    ("otp", &otp),
                ],
            )
            .await;
        assert_eq!(reply.status, 403, "{}", reply.body);
        assert!(reply.location().is_none());
    }
    // The CSRF token is the session's: another browser's token does not work either.
    let stranger = Browser::new(&f.server);
    let reply = stranger
        .post_form(
            "/oauth2/consent",
            &[
                ("csrf", &consent.input("csrf").unwrap()),
                ("request", &request),
                ("action", "approve"),
            ],
        )
        .await;
    assert!(reply.location().is_none() && reply.status >= 400);
    // The stylesheet is served by Signet.
    let css = browser.get("/consent/signet.css").await;
    assert_eq!(css.status, 200);
    assert!(
        css.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
}

#[tokio::test]
async fn pushed_authorization_request_is_used_once() {
    let f = fixture();
    let p = pkce();
    let hashes = b64url(&sha256(b"pushed"));
    let mut form: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("code_challenge", &p.challenge),
        ("code_challenge_method", "S256"),
        ("state", "st-42"),
    ];
    form.extend(credential_params(&f.cred, &hashes));
    let (status, par, headers) = f
        .server
        .oauth_post("/oauth2/pushed_authorize", &f.client, &form)
        .await;
    assert_eq!(status, 201, "{par}");
    assert_eq!(headers["cache-control"], "no-store");
    let uri = par["request_uri"].as_str().unwrap().to_string();
    assert!(uri.starts_with("urn:ietf:params:oauth:request_uri:"));
    assert_eq!(par["expires_in"], 90);
    let path_for = |client_id: &str| {
        format!(
            "/oauth2/authorize?{}",
            serde_urlencoded::to_string([("client_id", client_id), ("request_uri", &uri)]).unwrap()
        )
    };
    let path = path_for(&f.client.id);
    // Anyone who sees the URI (it is in the browser's address bar) may try it under another
    // client, registered or not: refused, and the URI is not spent by it.
    let other = f.server.add_client("Other App", &[REDIRECT], false, None);
    for client_id in [other.id.as_str(), "no-such-client"] {
        let stolen = Browser::new(&f.server).get(&path_for(client_id)).await;
        assert_eq!(
            (stolen.status, stolen.location()),
            (400, None),
            "{client_id}"
        );
        assert!(
            stolen
                .body
                .contains("The pushed authorization request is unknown or was already used."),
            "{}",
            stolen.body
        );
    }
    let browser = Browser::new(&f.server);
    let signin = browser.get(&path).await;
    assert_eq!(signin.status, 200, "{}", signin.body);
    let consent = browser.sign_in(&signin, &f.user).await;
    assert!(consent.body.contains(&f.cred));
    let code = approve(&f, &browser, &consent).await;
    let (status, _) = f.server.redeem(&f.client, &code, &p.verifier).await;
    assert_eq!(status, 200);
    // The request_uri worked once.
    let again = Browser::new(&f.server).get(&path).await;
    assert_eq!((again.status, again.location()), (400, None));
    // A PAR with a bad redirect URI is refused at the push.
    let (status, err, _) = f
        .server
        .oauth_post(
            "/oauth2/pushed_authorize",
            &f.client,
            &[
                ("response_type", "code"),
                ("redirect_uri", "https://evil.example/"),
            ],
        )
        .await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

#[tokio::test]
async fn rich_authorization_requests_both_types() {
    let f = fixture_with_env(&[], &["--multisign", "2", "--scal", "1"]);
    for rar_type in [
        "credential",
        "https://cloudsignatureconsortium.org/2025/credential",
    ] {
        let (d1, d2) = (sha256(rar_type.as_bytes()), sha256(b"annex"));
        let details = json!([{
            "type": rar_type,
            "credentialID": f.cred,
            "hashAlgorithmOID": SHA256,
            "documentDigests": [{"hash": b64(&d1), "label": "Lease agreement"}, {"hash": b64(&d2), "label": "Annex A"}],
        }]);
        let details_text = details.to_string();
        let browser = Browser::new(&f.server);
        let p = pkce();
        let consent = consent_page(
            &f,
            &browser,
            &p,
            &[("authorization_details", details_text.as_str())],
        )
        .await;
        assert!(
            consent.body.contains("Lease agreement") && consent.body.contains("Annex A"),
            "{}",
            consent.body
        );
        assert!(consent.body.contains("<dd>2</dd>"), "two signatures shown");
        let code = approve(&f, &browser, &consent).await;
        let (status, tok) = f.server.redeem(&f.client, &code, &p.verifier).await;
        assert_eq!(status, 200, "{tok}");
        assert_eq!(tok["authorization_details"][0]["type"], rar_type);
        assert_eq!(tok["authorization_details"][0]["credentialID"], f.cred);
        let token = tok["access_token"].as_str().unwrap();
        let body = json!({ "credentialID": f.cred, "hashes": [b64(&d1), b64(&d2)], "signAlgo": ECDSA_SHA256 });
        let reply = f
            .server
            .post("/csc/v2/signatures/signHash", Some(token), &body)
            .await;
        assert_eq!(signatures(&reply).len(), 2);
    }
}

/// A service-scope code → access + refresh token; the refresh token works for its client only.
async fn service_tokens(f: &Fixture, client: &OAuthClient) -> Value {
    let browser = Browser::new(&f.server);
    let p = pkce();
    let signin = browser
        .get(&authorize_path(
            client,
            &p,
            "st-42",
            &[("scope", "service")],
        ))
        .await;
    let consent = browser.sign_in(&signin, &f.user).await;
    assert!(consent.body.contains("Allow"), "{}", consent.body);
    let reply = browser.decide(&consent, "approve", None, None).await;
    let q = query(&reply.location().expect("redirect"));
    let (status, tok) = f.server.redeem(client, &q["code"], &p.verifier).await;
    assert_eq!(status, 200, "{tok}");
    tok
}

#[tokio::test]
async fn service_scope_refresh_client_credentials_and_revocation() {
    let f = fixture();
    let confidential = f.server.add_client("Back Office", &[REDIRECT], true, None);
    let tok = service_tokens(&f, &confidential).await;
    assert_eq!(
        (tok["token_type"].as_str(), tok["scope"].as_str()),
        (Some("Bearer"), Some("service"))
    );
    let access = tok["access_token"].as_str().unwrap().to_string();
    let refresh = tok["refresh_token"].as_str().unwrap().to_string();
    let (status, list) = f
        .server
        .post("/csc/v2/credentials/list", Some(&access), &json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(list["credentialIDs"], json!([f.cred]));

    // refresh_token grant, for the client it was issued to only.
    let (status, err, _) = f
        .server
        .oauth_post(
            "/oauth2/token",
            &f.client,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, fresh, _) = f
        .server
        .oauth_post(
            "/oauth2/token",
            &confidential,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(status, 200, "{fresh}");
    let access2 = fresh["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        f.server
            .post("/csc/v2/credentials/list", Some(&access2), &json!({}))
            .await
            .0,
        200
    );

    // RFC 7009 at /oauth2/revoke: the access token dies, others live.
    let (status, _, _) = f
        .server
        .oauth_post(
            "/oauth2/revoke",
            &confidential,
            &[("token", &access), ("token_type_hint", "access_token")],
        )
        .await;
    assert_eq!(status, 200);
    expect_error(
        &f.server
            .post("/csc/v2/credentials/list", Some(&access), &json!({}))
            .await,
        401,
        "invalid_token",
    );
    assert_eq!(
        f.server
            .post("/csc/v2/credentials/list", Some(&access2), &json!({}))
            .await
            .0,
        200
    );
    // Unknown tokens are fine (200); another client's token is refused.
    assert_eq!(
        f.server
            .oauth_post("/oauth2/revoke", &confidential, &[("token", "unknown")])
            .await
            .0,
        200
    );
    assert_eq!(
        f.server
            .oauth_post("/oauth2/revoke", &f.client, &[("token", &refresh)])
            .await
            .0,
        400
    );
    // At /revoke (the path EUDI derives): revoking the refresh token ends its access tokens.
    assert_eq!(
        f.server
            .oauth_post("/revoke", &confidential, &[("token", &refresh)])
            .await
            .0,
        200
    );
    expect_error(
        &f.server
            .post("/csc/v2/credentials/list", Some(&access2), &json!({}))
            .await,
        401,
        "invalid_token",
    );

    // client_credentials: a confidential client bound to a user (e-seal).
    let seal = f.server.add_client("Seal Robot", &[], true, Some("olga"));
    let (status, cc, _) = f
        .server
        .oauth_post(
            "/oauth2/token",
            &seal,
            &[("grant_type", "client_credentials"), ("scope", "service")],
        )
        .await;
    assert_eq!(status, 200, "{cc}");
    assert!(cc.get("refresh_token").is_none());
    let seal_token = cc["access_token"].as_str().unwrap();
    assert_eq!(
        f.server
            .post("/csc/v2/credentials/list", Some(seal_token), &json!({}))
            .await
            .0,
        200
    );
    let (status, err, _) = f
        .server
        .oauth_post(
            "/oauth2/token",
            &seal,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "credential"),
            ],
        )
        .await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let (status, err, _) = f
        .server
        .oauth_post(
            "/oauth2/token",
            &f.client,
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("unauthorized_client"))
    );

    // A credential token can be revoked too.
    let (code, p) = credential_code(&f, &sha256(b"revoked")).await;
    let (_, tok) = f.server.redeem(&f.client, &code, &p.verifier).await;
    let token = tok["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        f.server
            .oauth_post("/oauth2/revoke", &f.client, &[("token", &token)])
            .await
            .0,
        200
    );
    let body = json!({ "credentialID": f.cred, "hashes": [b64(&sha256(b"revoked"))], "signAlgo": ECDSA_SHA256 });
    expect_error(
        &f.server
            .post("/csc/v2/signatures/signHash", Some(&token), &body)
            .await,
        401,
        "invalid_token",
    );
    assert!(
        f.server
            .audit_export()
            .iter()
            .any(|r| r["kind"] == "oauth2.revoke")
    );
}

#[tokio::test]
async fn admin_client_add_prints_id_and_secret() {
    let server = Server::start();
    let public = server.add_client("Public App", &["com.example.app:/cb"], false, None);
    assert!(public.secret.is_none());
    let confidential = server.add_client("Server App", &[REDIRECT], true, None);
    assert!(
        confidential.secret.as_ref().is_some_and(|s| s.len() >= 43),
        "256-bit secret"
    );
    assert_ne!(public.id, confidential.id);
    let out = server.cli(
        &[
            "admin",
            "client",
            "add",
            "Bad",
            "--redirect-uri",
            "http://example.com/cb",
        ],
        &[],
    );
    assert!(!out.status.success(), "plain http off loopback is refused");
    let text = server.cli_ok(
        &[
            "admin",
            "client",
            "add",
            "Text",
            "--redirect-uri",
            REDIRECT,
            "--confidential",
        ],
        &[],
    );
    assert!(text.contains("client secret"), "{text}");
    let listed = server.cli_ok(&["admin", "client", "list", "--json"], &[]);
    assert!(
        listed.contains("Server App") && !listed.contains(confidential.secret.as_deref().unwrap()),
        "{listed}"
    );
}

/// signDoc with a credential-scoped token as Bearer and no SAD (EUDI clients): the token binds
/// the document's digest, so another document is refused with 403 invalid_hash and the bound
/// one is signed.
#[tokio::test]
async fn credential_token_authorizes_sign_doc_of_its_document() {
    let f = fixture();
    let doc = b"the lease, as a document".to_vec();
    let (code, pkce) = credential_code(&f, &sha256(&doc)).await;
    let (status, tok) = f.server.redeem(&f.client, &code, &pkce.verifier).await;
    assert_eq!(status, 200, "{tok}");
    let token = tok["access_token"].as_str().expect("access_token");
    let body = |d: &[u8]| {
        json!({
            "credentialID": f.cred,
            "documents": [{ "document": b64(d), "signature_format": "C", "signAlgo": ECDSA_SHA256 }],
        })
    };
    let other = f
        .server
        .post("/csc/v2/signatures/signDoc", Some(token), &body(b"another"))
        .await;
    expect_error(&other, 403, "invalid_hash");
    let signed = f
        .server
        .post("/csc/v2/signatures/signDoc", Some(token), &body(&doc))
        .await;
    assert_eq!(signed.0, 200, "{}", signed.1);
    assert!(signed.1["DocumentWithSignature"][0].is_string());
}

/// The code carries the SAM's seal of exactly what the signer approved: a code row changed in
/// the database — its hashes dropped, so that the token would sign anything — gets no token.
#[tokio::test]
async fn a_code_changed_in_the_database_yields_no_credential_token() {
    let f = fixture();
    let digest = sha256(b"the lease");
    let (code, pkce) = credential_code(&f, &digest).await;
    f.server.db_exec(
        "UPDATE oauth_codes SET hashes = NULL, num_signatures = 5 WHERE scope = 'credential'",
    );
    let refused = f.server.redeem(&f.client, &code, &pkce.verifier).await;
    let text = expect_error(&refused, 400, "invalid_grant");
    assert_eq!(
        text,
        "The signer's approval of this authorization is not valid"
    );
    assert!(
        !f.server
            .audit_export()
            .iter()
            .any(|r| r["kind"] == "credential.authorize"),
        "no SAD was issued"
    );

    // An untouched code still gives the token, bound to the approved hash.
    let (code, pkce) = credential_code(&f, &digest).await;
    let (status, token) = f.server.redeem(&f.client, &code, &pkce.verifier).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["scope"], "credential");
}
