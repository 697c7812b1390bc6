//! Password sign-in back-off (issue 17, found by the outside probe: 37 wrong passwords, then
//! the right one, answered 200 at once, each costing argon2 first). Failures count per
//! (username, client address) and per client address and are checked before the password:
//! inside a back-off the answer is 429 with `Retry-After`, even for the right password; the
//! same user at another address is not delayed; behind a trusted proxy the client is the one
//! `X-Forwarded-For` names. Clients use several loopback addresses (127.0.0.x) as sources.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::oauth::*;
use common::*;
use serde_json::Value;

/// A reply: status, `Retry-After` (seconds), JSON body.
type Reply = (u16, Option<u64>, Value);

fn client_from(address: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(address.parse::<IpAddr>().expect("address"))
        .build()
        .expect("client")
}

/// auth/login with HTTP Basic from `from` (a loopback address), with extra headers.
async fn login_from(
    server: &Server,
    from: &str,
    username: &str,
    password: &str,
    headers: &[(&str, &str)],
) -> Reply {
    let mut req = client_from(from)
        .post(format!("{}/csc/v2/auth/login", server.url))
        .basic_auth(username, Some(password))
        .json(&serde_json::json!({}));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("login");
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().expect("Retry-After seconds"));
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, retry_after, body)
}

#[track_caller]
fn assert_refused(reply: &Reply) {
    assert_eq!((reply.0, reply.1), (400, None), "{reply:?}");
    assert_eq!(reply.2["error"], "authentication_error", "{reply:?}");
}

/// Asserts a 429 and returns its Retry-After.
#[track_caller]
fn assert_backing_off(reply: &Reply) -> u64 {
    assert_eq!(reply.0, 429, "{reply:?}");
    let seconds = reply.1.expect("Retry-After");
    assert!((1..=3).contains(&seconds), "{reply:?}");
    assert_eq!(reply.2["error"], "access_denied", "{reply:?}");
    assert_eq!(
        reply.2["error_description"],
        format!("Too many failed sign-in attempts: try again in {seconds} s")
    );
    seconds
}

/// Three free failures per (user, address), then 3 s (kept constant: long enough that the
/// next request always falls inside it, short enough to wait out).
fn server() -> Server {
    Server::start_with_env(&[
        ("SIGNET_LOGIN__FREE_FAILURES_PER_USER", "3"),
        ("SIGNET_LOGIN__FREE_FAILURES_PER_ADDRESS", "6"),
        ("SIGNET_LOGIN__BASE_DELAY_SECONDS", "3"),
        ("SIGNET_LOGIN__MAX_DELAY_SECONDS", "3"),
    ])
}

fn bad_password_records(server: &Server, username: &str) -> usize {
    server
        .audit_export()
        .iter()
        .filter(|r| r["kind"] == "auth.login" && r["actor"] == username)
        .filter(|r| {
            r["detail"]
                .as_str()
                .is_some_and(|d| d.contains("bad_password"))
        })
        .count()
}

#[tokio::test]
async fn wrong_passwords_back_off_even_the_right_one_until_the_wait_is_over() {
    let server = server();
    let user = server.add_user("bea");
    let (name, right) = (user.username.as_str(), user.password.as_str());
    for _ in 0..3 {
        assert_refused(&login_from(&server, "127.0.0.1", name, "guess", &[]).await);
    }
    // Inside the back-off: the right password and a wrong one alike, with no password checked
    // (nothing audited for them).
    let wait = assert_backing_off(&login_from(&server, "127.0.0.1", name, right, &[]).await);
    assert_backing_off(&login_from(&server, "127.0.0.1", name, "guess", &[]).await);
    assert_eq!(bad_password_records(&server, name), 3);

    // The same user from another address is not delayed, and a wrong password there is an
    // ordinary refusal.
    assert_refused(&login_from(&server, "127.0.0.2", name, "guess", &[]).await);
    let (status, _, body) = login_from(&server, "127.0.0.2", name, right, &[]).await;
    assert_eq!(status, 200, "{body}");

    // Once the wait is over the right password works, and the count starts again from zero.
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let (status, _, body) = login_from(&server, "127.0.0.1", name, right, &[]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].is_string());
    for _ in 0..3 {
        assert_refused(&login_from(&server, "127.0.0.1", name, "guess", &[]).await);
    }
    assert_backing_off(&login_from(&server, "127.0.0.1", name, right, &[]).await);
}

#[tokio::test]
async fn one_address_guessing_many_users_backs_off_that_address_only() {
    let server = server();
    let victim = server.add_user("vic");
    // Six failures from one address over six usernames (two each, under the per-user limit).
    for name in ["ann", "ann", "bob", "bob", "vic", "vic"] {
        assert_refused(&login_from(&server, "127.0.0.3", name, "guess", &[]).await);
    }
    let from_attacker = login_from(&server, "127.0.0.3", "vic", &victim.password, &[]).await;
    assert_backing_off(&from_attacker);
    // The victim at their own address signs in at once.
    let (status, _, body) = login_from(&server, "127.0.0.1", "vic", &victim.password, &[]).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_counted() {
    let server = Server::start_with_env(&[
        ("SIGNET_LOGIN__FREE_FAILURES_PER_USER", "3"),
        ("SIGNET_LOGIN__BASE_DELAY_SECONDS", "3"),
        ("SIGNET_LOGIN__MAX_DELAY_SECONDS", "3"),
        ("SIGNET_LOGIN__TRUSTED_PROXIES", "[\"127.0.0.1\"]"),
    ]);
    let user = server.add_user("pia");
    let (name, right) = (user.username.as_str(), user.password.as_str());
    let attacker = [("X-Forwarded-For", "198.51.100.7")];
    for _ in 0..3 {
        assert_refused(&login_from(&server, "127.0.0.1", name, "guess", &attacker).await);
    }
    assert_backing_off(&login_from(&server, "127.0.0.1", name, right, &attacker).await);
    // Another client behind the same proxy is not delayed ...
    let victim = [("X-Forwarded-For", "203.0.113.9, 198.51.100.8")];
    let (status, _, body) = login_from(&server, "127.0.0.1", name, right, &victim).await;
    assert_eq!(status, 200, "{body}");
    // ... and a client that is not a trusted proxy cannot choose whom it is counted as.
    for _ in 0..3 {
        assert_refused(&login_from(&server, "127.0.0.2", name, "guess", &victim).await);
    }
    assert_backing_off(&login_from(&server, "127.0.0.2", name, right, &victim).await);
    let (status, _, body) = login_from(&server, "127.0.0.1", name, right, &victim).await;
    assert_eq!(status, 200, "{body}");
}

/// Posts the sign-in form of `signin` as user `sid`.
async fn submit(browser: &Browser, signin: &Page, password: &str) -> Page {
    let csrf = signin.input("csrf").expect("csrf");
    let next = signin.input("next").expect("next");
    browser
        .post_form(
            "/signin",
            &[
                ("csrf", csrf.as_str()),
                ("next", next.as_str()),
                ("username", "sid"),
                ("password", password),
            ],
        )
        .await
}

/// The consent pages' sign-in form shares the back-off: failures there and at auth/login
/// count together, and the page answers 429 with `Retry-After` and says why.
#[tokio::test]
async fn the_sign_in_page_backs_off_too() {
    let server = server();
    let user = server.add_user("sid");
    let client = server.add_client("Portal", &["https://client.example/cb"], false, None);
    for _ in 0..2 {
        assert_refused(&login_from(&server, "127.0.0.1", "sid", "guess", &[]).await);
    }
    let browser = Browser::new(&server);
    let signin = browser
        .get(&authorize_path(
            &client,
            &pkce(),
            "st",
            &[("scope", "service")],
        ))
        .await;
    assert_eq!(signin.status, 200, "{}", signin.body);
    let wrong = submit(&browser, &signin, "guess").await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    let throttled = submit(&browser, &signin, &user.password).await;
    assert_eq!(throttled.status, 429, "{}", throttled.body);
    let seconds: u64 = throttled.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3).contains(&seconds));
    assert!(
        throttled.body.contains(&format!(
            "Too many failed sign-in attempts. Try again in {seconds} seconds."
        )),
        "{}",
        throttled.body
    );
    throttled.assert_page_headers();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let next = browser.sign_in(&signin, &user).await;
    assert_eq!(next.status, 200, "{}", next.body);
}
