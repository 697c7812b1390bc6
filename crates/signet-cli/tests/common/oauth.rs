//! OAuth2 and consent-page helpers: a cookie-keeping, non-redirecting HTTP "browser", PKCE,
//! client registration, and the sign-in → consent → code → token steps.

use std::collections::HashMap;

use serde_json::Value;

use super::{Server, TestUser};

/// A page or redirect as the server sent it.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<String> {
        self.headers
            .get("location")
            .map(|v| v.to_str().expect("ascii Location").to_string())
    }

    /// The value of the hidden (or any) input named `name` (first occurrence).
    pub fn input(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker)? + marker.len();
        let end = self.body[start..].find('"')? + start;
        Some(html_unescape(&self.body[start..end]))
    }

    /// Asserts the security headers every page must carry.
    #[track_caller]
    pub fn assert_page_headers(&self) {
        let h = |n: &str| {
            self.headers
                .get(n)
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default()
        };
        let csp = h("content-security-policy");
        for d in [
            "default-src 'none'",
            "style-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(d), "CSP lacks {d}: {csp}");
        }
        assert_eq!(h("x-frame-options"), "DENY");
        assert_eq!(h("referrer-policy"), "no-referrer");
        assert_eq!(h("cache-control"), "no-store");
    }
}

pub fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The query parameters of a URL.
pub fn query(url: &str) -> HashMap<String, String> {
    let q = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    serde_urlencoded::from_str::<Vec<(String, String)>>(q)
        .expect("query")
        .into_iter()
        .collect()
}

/// A browser: keeps cookies, never follows redirects, records every URL the server sent it to.
pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
    pub seen_locations: std::sync::Mutex<Vec<String>>,
}

impl Browser {
    pub fn new(server: &Server) -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Browser {
            http,
            base: server.url.clone(),
            seen_locations: Default::default(),
        }
    }

    fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http") {
            path_or_url.to_string()
        } else {
            format!("{}{path_or_url}", self.base)
        }
    }

    async fn page(&self, resp: reqwest::Response) -> Page {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.text().await.expect("body");
        let page = Page {
            status,
            headers,
            body,
        };
        if let Some(l) = page.location() {
            self.seen_locations.lock().unwrap().push(l);
        }
        page
    }

    pub async fn get(&self, path_or_url: &str) -> Page {
        let resp = self
            .http
            .get(self.url(path_or_url))
            .send()
            .await
            .expect("GET");
        self.page(resp).await
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let resp = self
            .http
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .expect("POST");
        self.page(resp).await
    }

    /// Follows same-server redirects (GET) until a page or a redirect elsewhere.
    pub async fn follow(&self, mut page: Page) -> Page {
        while let Some(l) = page
            .location()
            .filter(|l| l.starts_with('/') || l.starts_with(&self.base))
        {
            page = self.get(&l).await;
        }
        page
    }

    /// Signs in on a sign-in page; returns the next page (consent or approval list).
    pub async fn sign_in(&self, page: &Page, user: &TestUser) -> Page {
        assert!(
            page.body.contains("action=\"/signin\""),
            "not a sign-in page: {}",
            page.body
        );
        let csrf = page.input("csrf").expect("csrf");
        let next = page.input("next").expect("next");
        let resp = self
            .post_form(
                "/signin",
                &[
                    ("csrf", &csrf),
                    ("next", &next),
                    ("username", &user.username),
                    ("password", &user.password),
                ],
            )
            .await;
        assert_eq!(resp.status, 303, "sign-in: {}", resp.body);
        self.follow(resp).await
    }

    /// Submits the consent form with `action` and the factors; returns the server's answer.
    pub async fn decide(
        &self,
        consent: &Page,
        action: &str,
        pin: Option<&str>,
        otp: Option<&str>,
    ) -> Page {
        let csrf = consent.input("csrf").expect("csrf on consent page");
        let request = consent.input("request").expect("request on consent page");
        let mut fields = vec![
            ("csrf", csrf.as_str()),
            ("request", request.as_str()),
            ("action", action),
        ];
        if let Some(p) = pin {
            fields.push(("pin", p));
        }
        if let Some(o) = otp {
            fields.push(("otp", o));
        }
        self.post_form("/oauth2/consent", &fields).await
    }

    pub fn locations(&self) -> Vec<String> {
        self.seen_locations.lock().unwrap().clone()
    }
}

/// A PKCE verifier and its S256 challenge.
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

pub fn pkce() -> Pkce {
    use aws_lc_rs::rand::SecureRandom;
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut bytes)
        .expect("random");
    let verifier = data_encoding::BASE64URL_NOPAD.encode(&bytes);
    let challenge = data_encoding::BASE64URL_NOPAD.encode(&super::sha256(verifier.as_bytes()));
    Pkce {
        verifier,
        challenge,
    }
}

/// A registered OAuth2 client.
#[derive(Debug, Clone)]
pub struct OAuthClient {
    pub id: String,
    pub secret: Option<String>,
    pub redirect_uri: String,
}

impl Server {
    /// `signet admin client add NAME --redirect-uri ... [--confidential] [--user U] --json`.
    pub fn add_client(
        &self,
        name: &str,
        redirect_uris: &[&str],
        confidential: bool,
        user: Option<&str>,
    ) -> OAuthClient {
        let mut args = vec!["admin", "client", "add", name, "--json"];
        for r in redirect_uris {
            args.extend(["--redirect-uri", r]);
        }
        if confidential {
            args.push("--confidential");
        }
        if let Some(u) = user {
            args.extend(["--user", u]);
        }
        let v: Value = serde_json::from_str(&self.cli_ok(&args, &[])).expect("client JSON");
        OAuthClient {
            id: v["client_id"].as_str().expect("client_id").to_string(),
            secret: v["client_secret"].as_str().map(str::to_string),
            redirect_uri: redirect_uris
                .first()
                .map(|s| s.to_string())
                .unwrap_or_default(),
        }
    }

    /// POSTs a form to an OAuth2 endpoint, authenticating the client with Basic (confidential)
    /// or `client_id` (public). Returns (status, JSON body, headers).
    pub async fn oauth_post(
        &self,
        path: &str,
        client: &OAuthClient,
        fields: &[(&str, &str)],
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let mut req = self.http.post(format!("{}{path}", self.url));
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        match &client.secret {
            Some(secret) => req = req.basic_auth(&client.id, Some(secret)),
            None => form.push(("client_id", &client.id)),
        }
        let resp = req.form(&form).send().await.expect("POST form");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            headers,
        )
    }

    /// The token request for an authorization code.
    pub async fn redeem(&self, client: &OAuthClient, code: &str, verifier: &str) -> (u16, Value) {
        let (s, v, _) = self
            .oauth_post(
                "/oauth2/token",
                client,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("code_verifier", verifier),
                    ("redirect_uri", &client.redirect_uri),
                ],
            )
            .await;
        (s, v)
    }
}

/// `/oauth2/authorize?...` for `client` with PKCE S256, `state`, and `extra` parameters.
pub fn authorize_path(
    client: &OAuthClient,
    pkce: &Pkce,
    state: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut params: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", &client.id),
        ("redirect_uri", &client.redirect_uri),
        ("code_challenge", &pkce.challenge),
        ("code_challenge_method", "S256"),
        ("state", state),
    ];
    params.extend_from_slice(extra);
    format!(
        "/oauth2/authorize?{}",
        serde_urlencoded::to_string(&params).expect("query")
    )
}

/// base64url without padding, as `hashes` travel in oauth2/authorize.
pub fn b64url(bytes: &[u8]) -> String {
    data_encoding::BASE64URL_NOPAD.encode(bytes)
}
