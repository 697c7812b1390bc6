//! Malformed input, table-driven, one table per endpoint group. Every row asserts the exact HTTP
//! status and CSC `error` code; every error body is JSON with string `error` and
//! `error_description`; nothing is ever a 500. Also: unknown members and explicit `null`s are
//! ignored, both Base64 alphabets are accepted, and the size limits sit exactly where configured.
//!
//! Over-limit bodies sit exactly one byte over in the tables; far larger ones, and answers given
//! before the body is read, are in `transport_and_routing`: the server drains the unread body
//! before answering, so the answer reaches a client that is still sending.

mod common;

use common::*;
use serde_json::{Value, json};

const PIN: &str = "5150";
const MIB: usize = 1 << 20;

/// One request of a table.
struct Row {
    name: &'static str,
    method: &'static str,
    path: String,
    auth: Auth,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    /// Expected `error`; `None` for a success row.
    error: Option<&'static str>,
    /// Expected `error_description`, when it matters.
    description: Option<&'static str>,
}

#[derive(Clone)]
enum Auth {
    None,
    Token,
    Header(String),
}

fn row(
    name: &'static str,
    path: &str,
    body: Value,
    status: u16,
    error: Option<&'static str>,
) -> Row {
    Row {
        name,
        method: "POST",
        path: path.to_string(),
        auth: Auth::Token,
        content_type: Some("application/json"),
        body: serde_json::to_vec(&body).unwrap(),
        status,
        error,
        description: None,
    }
}

fn bad(name: &'static str, path: &str, body: Value) -> Row {
    row(name, path, body, 400, Some("invalid_request"))
}

impl Row {
    fn described(mut self, d: &'static str) -> Self {
        self.description = Some(d);
        self
    }
    fn auth(mut self, a: Auth) -> Self {
        self.auth = a;
        self
    }
    fn raw(mut self, content_type: Option<&'static str>, body: Vec<u8>) -> Self {
        self.content_type = content_type;
        self.body = body;
        self
    }
    fn method(mut self, m: &'static str) -> Self {
        self.method = m;
        self
    }
}

/// Runs a table and reports every failing row at once.
async fn run(server: &Server, token: &str, rows: Vec<Row>) {
    let mut failures = Vec::new();
    for r in rows {
        let mut headers: Vec<(&str, String)> = Vec::new();
        match &r.auth {
            Auth::None => {}
            Auth::Token => headers.push(("Authorization", format!("Bearer {token}"))),
            Auth::Header(h) => headers.push(("Authorization", h.clone())),
        }
        if let Some(ct) = r.content_type {
            headers.push(("Content-Type", ct.to_string()));
        }
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let resp = server
            .raw(r.method, &r.path, &headers, r.body.clone())
            .await;
        let body = resp.json();
        let shown = String::from_utf8_lossy(&resp.body[..resp.body.len().min(300)]).to_string();
        if resp.status == 500 {
            failures.push(format!("{}: 500 {shown}", r.name));
            continue;
        }
        if resp.status != r.status {
            failures.push(format!(
                "{}: status {} (want {}) {shown}",
                r.name, resp.status, r.status
            ));
            continue;
        }
        let Some(code) = r.error else { continue };
        if !(body["error"].is_string() && body["error_description"].is_string()) {
            failures.push(format!(
                "{}: error body is not {{error, error_description}}: {shown}",
                r.name
            ));
            continue;
        }
        if body["error"] != code {
            failures.push(format!("{}: error {} (want {code})", r.name, body["error"]));
        }
        if let Some(d) = r.description
            && body["error_description"] != d
        {
            failures.push(format!(
                "{}: description {} (want {d:?})",
                r.name, body["error_description"]
            ));
        }
        let json_type = resp
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !json_type {
            failures.push(format!("{}: error without a JSON content type", r.name));
        }
        if resp.status == 401 && !resp.headers.contains_key("www-authenticate") {
            failures.push(format!("{}: 401 without WWW-Authenticate", r.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} row(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

struct Fixture {
    server: Server,
    user: TestUser,
    token: String,
    /// SCAL1 ECDSA P-256 credential, multisign 4.
    cred: String,
    /// A live SAD for `cred`.
    sad: String,
}

async fn fixture() -> Fixture {
    let server = Server::start();
    let user = server.add_user("mal");
    let cred = server.create_credential(&user, PIN, &["--scal", "1", "--multisign", "4"]);
    let token = server.login(&user).await;
    let sad = server.sad(&token, &cred, 4, None, None, PIN, None).await;
    Fixture {
        server,
        user,
        token,
        cred,
        sad,
    }
}

fn hashes(n: usize) -> Vec<String> {
    (0..n).map(|i| b64(&sha256(&i.to_be_bytes()))).collect()
}

/// Transport: body size, content type, JSON shape, routing, HTTP method, Bearer authentication.
#[tokio::test]
async fn transport_and_routing() {
    let f = fixture().await;
    let list = "/csc/v2/credentials/list";
    let sign = "/csc/v2/signatures/signHash";
    // A valid JSON object padded to an exact size.
    let padded = |size: usize| {
        let head = br#"{"pad":""#;
        let mut body = head.to_vec();
        body.resize(size - 2, b'a');
        body.extend_from_slice(br#""}"#);
        assert_eq!(body.len(), size);
        body
    };
    let rows = vec![
        row("empty object", list, json!({}), 200, None),
        row("empty body counts as {}", list, json!({}), 200, None)
            .raw(Some("application/json"), vec![]),
        row("JSON with charset", list, json!({}), 200, None)
            .raw(Some("application/json; charset=utf-8"), b"{}".to_vec()),
        row("body of exactly 1 MiB", list, json!({}), 200, None)
            .raw(Some("application/json"), padded(MIB)),
        row(
            "body over 1 MiB",
            list,
            json!({}),
            413,
            Some("invalid_request"),
        )
        .raw(Some("application/json"), padded(MIB + 1)),
        row(
            "body over 1 MiB on signHash",
            sign,
            json!({}),
            413,
            Some("invalid_request"),
        )
        .raw(Some("application/json"), padded(MIB + 1)),
        row("text/plain", list, json!({}), 415, Some("invalid_request"))
            .raw(Some("text/plain"), b"{}".to_vec()),
        row(
            "form encoded",
            sign,
            json!({}),
            415,
            Some("invalid_request"),
        )
        .raw(Some("application/x-www-form-urlencoded"), b"a=b".to_vec()),
        row(
            "no content type",
            list,
            json!({}),
            415,
            Some("invalid_request"),
        )
        .raw(None, b"{}".to_vec()),
        bad("not JSON", list, json!({})).raw(
            Some("application/json"),
            br#"{"credentialInfo": tru"#.to_vec(),
        ),
        bad("not UTF-8", list, json!({}))
            .raw(Some("application/json"), b"{\"a\": \"\xff\xfe\"}".to_vec()),
        bad("JSON array", sign, json!([{ "credentialID": "x" }])),
        bad("JSON string", sign, json!("credentialID")),
        bad("JSON number", list, json!(42)),
        bad("JSON null", list, json!(null)),
        bad("JSON nested 100,000 deep", list, json!({})).raw(
            Some("application/json"),
            [&b"{\"a\":"[..], &[b'['; 100_000], &[b']'; 100_000], b"}"].concat(),
        ),
        bad(
            "number out of range",
            "/csc/v2/credentials/authorize",
            json!({}),
        )
        .raw(
            Some("application/json"),
            br#"{"credentialID":"x","numSignatures":1e400}"#.to_vec(),
        ),
        bad("trailing garbage", list, json!({})).raw(Some("application/json"), b"{} {}".to_vec()),
        row(
            "unknown method",
            "/csc/v2/credentials/frobnicate",
            json!({}),
            404,
            Some("invalid_request"),
        ),
        row(
            "unknown method v1",
            "/csc/v1/signatures/sign",
            json!({}),
            404,
            Some("invalid_request"),
        ),
        row(
            "unknown version",
            "/csc/v3/info",
            json!({}),
            404,
            Some("invalid_request"),
        ),
        row(
            "unknown path",
            "/api/sign",
            json!({}),
            404,
            Some("invalid_request"),
        ),
        bad(
            "signDoc without credentialID",
            "/csc/v2/signatures/signDoc",
            json!({}),
        ),
        row(
            "signDoc v1",
            "/csc/v1/signatures/signDoc",
            json!({ "credentialID": "x" }),
            404,
            Some("invalid_request"),
        ),
        row(
            "signPolling",
            "/csc/v2/signatures/signPolling",
            json!({}),
            501,
            Some("not_implemented"),
        ),
        row(
            "sendOTP v1",
            "/csc/v1/credentials/sendOTP",
            json!({}),
            501,
            Some("not_implemented"),
        ),
        bad(
            "timestamp v1 without hash",
            "/csc/v1/signatures/timestamp",
            json!({}),
        ),
        bad(
            "timestamp v2 non-hex nonce",
            "/csc/v2/signatures/timestamp",
            json!({ "hash": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
                    "hashAlgo": "2.16.840.1.101.3.4.2.1", "nonce": "zz" }),
        ),
        row(
            "GET signHash",
            sign,
            json!({}),
            405,
            Some("invalid_request"),
        )
        .method("GET")
        .raw(None, vec![]),
        row(
            "PUT credentials/list",
            list,
            json!({}),
            405,
            Some("invalid_request"),
        )
        .method("PUT"),
        row(
            "DELETE auth/revoke",
            "/csc/v2/auth/revoke",
            json!({}),
            405,
            Some("invalid_request"),
        )
        .method("DELETE"),
        row(
            "missing Authorization",
            list,
            json!({}),
            401,
            Some("invalid_request"),
        )
        .auth(Auth::None),
        row(
            "missing Authorization on signHash",
            sign,
            json!({}),
            401,
            Some("invalid_request"),
        )
        .auth(Auth::None),
        row(
            "Authorization without scheme",
            list,
            json!({}),
            401,
            Some("invalid_request"),
        )
        .auth(Auth::Header(f.token.clone())),
        row(
            "Authorization scheme Token",
            list,
            json!({}),
            401,
            Some("invalid_request"),
        )
        .auth(Auth::Header(format!("Token {}", f.token))),
        row(
            "Bearer without token",
            list,
            json!({}),
            401,
            Some("invalid_request"),
        )
        .auth(Auth::Header("Bearer ".into())),
        row(
            "Basic on a Bearer method",
            list,
            json!({}),
            401,
            Some("invalid_request"),
        )
        .auth(Auth::Header("Basic bWFsOnB3".into())),
        row("bad token", list, json!({}), 401, Some("invalid_token"))
            .auth(Auth::Header("Bearer not-a-token".into())),
        row(
            "bad token on signHash",
            sign,
            json!({}),
            401,
            Some("invalid_token"),
        )
        .auth(Auth::Header("Bearer AAAA".into())),
        row("lowercase bearer works", list, json!({}), 200, None)
            .auth(Auth::Header(format!("bearer {}", f.token))),
    ];
    run(&f.server, &f.token, rows).await;

    // Far over the limit, and answers given before the body is read (an unknown path or
    // route): the server reads and discards the rest of the body before it answers, so a client
    // still sending gets the answer, never a broken pipe or a reset (up to 64 MiB; see
    // signet_server::drain). The size limit is checked before the token.
    let early = [
        (
            "8 MiB",
            sign,
            Some(f.token.as_str()),
            8 * MIB,
            413,
            "invalid_request",
        ),
        (
            "8 MiB, bad token",
            sign,
            Some("AAAA"),
            8 * MIB,
            413,
            "invalid_request",
        ),
        (
            "4 MiB, no token",
            list,
            None,
            4 * MIB,
            413,
            "invalid_request",
        ),
        (
            "4 MiB, unknown method",
            "/csc/v2/nope",
            None,
            4 * MIB,
            404,
            "invalid_request",
        ),
        (
            "4 MiB, unknown path",
            "/api/sign",
            None,
            4 * MIB,
            404,
            "invalid_request",
        ),
        (
            "60 MiB",
            sign,
            Some(f.token.as_str()),
            60 * MIB,
            413,
            "invalid_request",
        ),
    ];
    for (name, path, token, size, status, error) in early {
        let mut request = f
            .server
            .http
            .post(format!("{}{path}", f.server.url))
            .header("Content-Type", "application/json")
            .body(padded(size));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name}: the answer did not reach the client: {e:?}"));
        assert_eq!(response.status().as_u16(), status, "{name}");
        let body: Value = response.json().await.expect("a JSON error body");
        assert_eq!(body["error"], error, "{name}: {body}");
    }
    let (status, _) = f
        .server
        .post(list, Some(f.token.as_str()), &json!({}))
        .await;
    assert_eq!(status, 200, "still serving after an 8 MiB body");
}

#[tokio::test]
async fn auth_login_and_revoke() {
    let f = fixture().await;
    let login = "/csc/v2/auth/login";
    let basic = |text: &str| Auth::Header(format!("Basic {}", b64(text.as_bytes())));
    let good = format!("mal:{}", f.user.password);
    let wrong = "Authentication failed: wrong username or password";
    let revoke = "/csc/v2/auth/revoke";
    let rows = vec![
        row("good Basic", login, json!({}), 200, None).auth(basic(&good)),
        row(
            "Basic not Base64",
            login,
            json!({}),
            401,
            Some("invalid_request"),
        )
        .auth(Auth::Header("Basic !!!".into())),
        row(
            "Basic not UTF-8",
            login,
            json!({}),
            401,
            Some("invalid_request"),
        )
        .auth(Auth::Header(format!("Basic {}", b64(b"\xff\xfe:\xff")))),
        row(
            "Basic without colon",
            login,
            json!({}),
            400,
            Some("invalid_request"),
        )
        .auth(basic("mal")),
        row(
            "Bearer on login",
            login,
            json!({}),
            401,
            Some("invalid_request"),
        )
        .auth(Auth::Header(format!("Bearer {}", f.token))),
        row(
            "wrong password",
            login,
            json!({}),
            400,
            Some("authentication_error"),
        )
        .auth(basic("mal:wrong-password"))
        .described(wrong),
        row(
            "empty password",
            login,
            json!({}),
            400,
            Some("authentication_error"),
        )
        .auth(basic("mal:"))
        .described(wrong),
        row(
            "unknown user, same answer",
            login,
            json!({}),
            400,
            Some("authentication_error"),
        )
        .auth(basic("nobody:whatever"))
        .described(wrong),
        row(
            "no Basic, no refresh_token",
            login,
            json!({}),
            401,
            Some("invalid_request"),
        )
        .auth(Auth::None),
        bad(
            "bad refresh_token",
            login,
            json!({ "refresh_token": "nope" }),
        )
        .auth(Auth::None),
        bad(
            "access token as refresh_token",
            login,
            json!({ "refresh_token": f.token }),
        )
        .auth(Auth::None),
        bad(
            "refresh_token a number",
            login,
            json!({ "refresh_token": 5 }),
        )
        .auth(Auth::None),
        bad("rememberMe a string", login, json!({ "rememberMe": "yes" })).auth(basic(&good)),
        bad("revoke without token", revoke, json!({})),
        bad("revoke token a number", revoke, json!({ "token": 5 })),
        bad("revoke unknown token", revoke, json!({ "token": "nope" })),
        bad(
            "revoke bad hint",
            revoke,
            json!({ "token": f.token, "token_type_hint": "id_token" }),
        ),
        bad(
            "revoke access token hinted refresh",
            revoke,
            json!({ "token": f.token, "token_type_hint": "refresh_token" }),
        ),
        row(
            "revoke without Authorization",
            revoke,
            json!({ "token": f.token }),
            401,
            Some("invalid_request"),
        )
        .auth(Auth::None),
    ];
    run(&f.server, &f.token, rows).await;
    // None of the refused revocations revoked anything.
    assert_eq!(
        f.server
            .post(
                "/csc/v2/credentials/list",
                Some(f.token.as_str()),
                &json!({})
            )
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn credentials_list_and_info() {
    let f = fixture().await;
    let list = "/csc/v2/credentials/list";
    let info = "/csc/v2/credentials/info";
    let missing_id = "Missing (or invalid type) string parameter credentialID";
    let rows = vec![
        row(
            "list ok",
            list,
            json!({ "credentialInfo": true }),
            200,
            None,
        ),
        bad("userID a string", list, json!({ "userID": "mal" }))
            .described("userID parameter MUST be null"),
        bad("userID a number", list, json!({ "userID": 5 })),
        bad(
            "credentialInfo a string",
            list,
            json!({ "credentialInfo": "true" }),
        ),
        bad(
            "certificates unknown",
            list,
            json!({ "credentialInfo": true, "certificates": "all" }),
        ),
        bad(
            "certificates a number",
            list,
            json!({ "credentialInfo": true, "certificates": 2 }),
        ),
        bad("certInfo a number", list, json!({ "certInfo": 1 })),
        bad("onlyValid a string", list, json!({ "onlyValid": "yes" })),
        bad(
            "maxResults not a number",
            list,
            json!({ "maxResults": "ten" }),
        ),
        bad("maxResults negative", list, json!({ "maxResults": -1 })),
        bad("lang a number", list, json!({ "lang": 5 })),
        row(
            "info ok",
            info,
            json!({ "credentialID": f.cred }),
            200,
            None,
        ),
        bad("info without credentialID", info, json!({})).described(missing_id),
        bad(
            "info credentialID null",
            info,
            json!({ "credentialID": null }),
        )
        .described(missing_id),
        bad(
            "info credentialID a number",
            info,
            json!({ "credentialID": 42 }),
        )
        .described(missing_id),
        bad(
            "info credentialID an object",
            info,
            json!({ "credentialID": { "id": f.cred } }),
        )
        .described(missing_id),
        bad(
            "info credentialID an array",
            info,
            json!({ "credentialID": [f.cred] }),
        )
        .described(missing_id),
        bad(
            "info credentialID empty",
            info,
            json!({ "credentialID": "" }),
        )
        .described(missing_id),
        bad(
            "info unknown credentialID",
            info,
            json!({ "credentialID": "nope" }),
        )
        .described("Invalid parameter credentialID"),
        bad(
            "info credentialID with NUL",
            info,
            json!({ "credentialID": format!("{}\u{0}", f.cred) }),
        )
        .described("Invalid parameter credentialID"),
        bad(
            "info credentialID SQL",
            info,
            json!({ "credentialID": "' OR '1'='1" }),
        )
        .described("Invalid parameter credentialID"),
        bad(
            "info credentialID 10,000 chars",
            info,
            json!({ "credentialID": "x".repeat(10_000) }),
        )
        .described("Invalid parameter credentialID"),
        bad(
            "info certificates unknown",
            info,
            json!({ "credentialID": f.cred, "certificates": "chain2" }),
        ),
        bad(
            "info certInfo a string",
            info,
            json!({ "credentialID": f.cred, "certInfo": "true" }),
        ),
        bad(
            "info authInfo a number",
            info,
            json!({ "credentialID": f.cred, "authInfo": 0 }),
        ),
        bad(
            "v1 info without credentialID",
            "/csc/v1/credentials/info",
            json!({ "certificates": "chain" }),
        )
        .described(missing_id),
    ];
    run(&f.server, &f.token, rows).await;
}

#[tokio::test]
async fn credentials_authorize_and_extend_transaction() {
    let f = fixture().await;
    let path = "/csc/v2/credentials/authorize";
    let base = json!({ "credentialID": f.cred, "numSignatures": 1, "authData": [{ "id": "PIN", "value": PIN }] });
    let with = |patch: Value| {
        let mut b = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let without = |key: &str| {
        let mut b = base.clone();
        b.as_object_mut().unwrap().remove(key);
        b
    };
    let int_param = "Missing (or invalid type) integer parameter numSignatures";
    let rows = vec![
        row("authorize ok", path, base.clone(), 200, None),
        bad("without credentialID", path, without("credentialID"))
            .described("Missing (or invalid type) string parameter credentialID"),
        bad(
            "credentialID a number",
            path,
            with(json!({ "credentialID": 7 })),
        ),
        bad("without numSignatures", path, without("numSignatures")).described(int_param),
        bad(
            "numSignatures an object",
            path,
            with(json!({ "numSignatures": { "n": 1 } })),
        )
        .described(int_param),
        bad(
            "numSignatures an array",
            path,
            with(json!({ "numSignatures": [1] })),
        )
        .described(int_param),
        bad(
            "numSignatures negative",
            path,
            with(json!({ "numSignatures": -1 })),
        )
        .described(int_param),
        bad(
            "numSignatures fractional",
            path,
            with(json!({ "numSignatures": 1.5 })),
        )
        .described(int_param),
        bad(
            "numSignatures text",
            path,
            with(json!({ "numSignatures": "one" })),
        )
        .described(int_param),
        bad(
            "numSignatures huge",
            path,
            with(json!({ "numSignatures": 4_294_967_296u64 })),
        )
        .described(int_param),
        bad(
            "numSignatures zero",
            path,
            with(json!({ "numSignatures": 0 })),
        ),
        bad(
            "numSignatures above multisign",
            path,
            with(json!({ "numSignatures": 5 })),
        )
        .described("Numbers of signatures is too high"),
        bad("hashes a string", path, with(json!({ "hashes": "abc" })))
            .described("Missing (or invalid type) array parameter hashes"),
        bad(
            "hashes an object",
            path,
            with(json!({ "hashes": { "0": "abc" } })),
        ),
        bad(
            "hash (v1) a string",
            path,
            with(json!({ "hash": hashes(1)[0] })),
        )
        .described("Missing (or invalid type) array parameter hash"),
        bad(
            "hashes holding a number",
            path,
            with(json!({ "hashes": [12] })),
        )
        .described("Invalid Base64 hashes string parameter"),
        bad(
            "hashes holding null",
            path,
            with(json!({ "hashes": [null] })),
        ),
        bad(
            "hashes bad Base64",
            path,
            with(json!({ "hashes": ["not base64!"] })),
        )
        .described("Invalid Base64 hashes string parameter"),
        bad(
            "hashes truncated Base64",
            path,
            with(json!({ "hashes": ["AAAAA"] })),
        ),
        bad("hashes empty", path, with(json!({ "hashes": [] }))).described("Empty hash array"),
        bad(
            "2,000 hashes",
            path,
            with(json!({ "numSignatures": 2000, "hashes": hashes(2000) })),
        ),
        bad(
            "hashAlgorithmOID unknown",
            path,
            with(json!({ "hashes": hashes(1), "hashAlgorithmOID": "1.2.3" })),
        ),
        bad(
            "hashAlgorithmOID SHA-1",
            path,
            with(json!({ "hashes": hashes(1), "hashAlgorithmOID": "1.3.14.3.2.26" })),
        ),
        bad(
            "hashAlgorithmOID a number",
            path,
            with(json!({ "hashes": hashes(1), "hashAlgorithmOID": 256 })),
        ),
        bad(
            "authData not an array",
            path,
            with(json!({ "authData": "PIN" })),
        ),
        bad(
            "authData entry a string",
            path,
            with(json!({ "authData": ["PIN"] })),
        ),
        bad(
            "authData entry without id",
            path,
            with(json!({ "authData": [{ "value": PIN }] })),
        ),
        bad(
            "authData value a number",
            path,
            with(json!({ "authData": [{ "id": "PIN", "value": 5150 }] })),
        ),
        bad(
            "authData value missing",
            path,
            with(json!({ "authData": [{ "id": "PIN" }] })),
        ),
        bad(
            "authData unknown object",
            path,
            with(json!({ "authData": [{ "id": "FACE", "value": "x" }] })),
        ),
        bad("no factor at all", path, without("authData")),
        bad(
            "v1 PIN a number",
            path,
            with(json!({ "authData": null, "PIN": 5150 })),
        ),
        bad(
            "description a number",
            path,
            with(json!({ "description": 5 })),
        ),
        bad(
            "v1 authorize without credentialID",
            "/csc/v1/credentials/authorize",
            json!({ "numSignatures": 1, "PIN": PIN }),
        ),
    ];
    run(&f.server, &f.token, rows).await;

    let path = "/csc/v2/credentials/extendTransaction";
    let rows = vec![
        bad("extend without credentialID", path, json!({ "SAD": f.sad })),
        bad(
            "extend without SAD",
            path,
            json!({ "credentialID": f.cred }),
        )
        .described("Missing (or invalid type) string parameter SAD"),
        bad(
            "extend SAD a number",
            path,
            json!({ "credentialID": f.cred, "SAD": 5 }),
        ),
        bad(
            "extend unknown SAD",
            path,
            json!({ "credentialID": f.cred, "SAD": "nope" }),
        )
        .described("Invalid SAD"),
        bad(
            "extend hashes a string",
            path,
            json!({ "credentialID": f.cred, "SAD": f.sad, "hashes": "x" }),
        ),
        bad(
            "extend hashes bad Base64",
            path,
            json!({ "credentialID": f.cred, "SAD": f.sad, "hashes": ["@@"] }),
        ),
        bad(
            "extend hashes empty",
            path,
            json!({ "credentialID": f.cred, "SAD": f.sad, "hashes": [] }),
        ),
        bad(
            "extend 2,000 hashes",
            path,
            json!({ "credentialID": f.cred, "SAD": f.sad, "hashes": hashes(2000) }),
        ),
        bad(
            "extend hashAlgorithmOID unknown",
            path,
            json!({ "credentialID": f.cred, "SAD": f.sad, "hashes": hashes(1), "hashAlgorithmOID": "9.9" }),
        ),
    ];
    run(&f.server, &f.token, rows).await;
    // The fixture's SAD survived every refused extension.
    signatures(
        &f.server
            .sign_hash(
                &f.token,
                &f.cred,
                &f.sad,
                &[sha256(b"x")],
                ECDSA_SHA256,
                json!({}),
            )
            .await,
    );
}

#[tokio::test]
async fn signatures_sign_hash() {
    let f = fixture().await;
    let path = "/csc/v2/signatures/signHash";
    let base = json!({ "credentialID": f.cred, "SAD": f.sad, "hashes": hashes(1), "signAlgo": ECDSA_SHA256 });
    let with = |patch: Value| {
        let mut b = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let without = |key: &str| {
        let mut b = base.clone();
        b.as_object_mut().unwrap().remove(key);
        b
    };
    let rows = vec![
        bad("without credentialID", path, without("credentialID")).described("Missing (or invalid type) string parameter credentialID"),
        bad("without SAD", path, without("SAD")).described("Missing (or invalid type) string parameter SAD"),
        bad("without hashes", path, without("hashes")).described("Missing (or invalid type) array parameter hashes"),
        bad("without signAlgo", path, without("signAlgo")).described("Missing (or invalid type) string parameter signAlgo"),
        bad("credentialID a number", path, with(json!({ "credentialID": 1 }))),
        bad("SAD a number", path, with(json!({ "SAD": 1 }))),
        bad("SAD an object", path, with(json!({ "SAD": { "SAD": f.sad } }))),
        bad("SAD empty", path, with(json!({ "SAD": "" }))),
        bad("hashes a string", path, with(json!({ "hashes": hashes(1)[0] }))),
        bad("hashes an object", path, with(json!({ "hashes": { "a": 1 } }))),
        bad("hashes holding a number", path, with(json!({ "hashes": [1] }))),
        bad("hashes holding an array", path, with(json!({ "hashes": [hashes(1)] }))),
        bad("hashes bad Base64", path, with(json!({ "hashes": ["%%%%"] }))).described("Invalid Base64 hashes string parameter"),
        bad("hashes empty", path, with(json!({ "hashes": [] }))).described("Empty hash array"),
        bad("2,000 hashes", path, with(json!({ "hashes": hashes(2000) }))),
        bad("signAlgo a number", path, with(json!({ "signAlgo": 1.2 }))),
        bad("signAlgo empty", path, with(json!({ "signAlgo": "" }))),
        bad("signAlgo not an OID", path, with(json!({ "signAlgo": "ES256" }))),
        bad("hashAlgorithmOID an object", path, with(json!({ "hashAlgorithmOID": {} }))),
        bad("hashAlgorithmOID unknown", path, with(json!({ "hashAlgorithmOID": "2.16.840.1.101.3.4.2.99" }))),
        bad("signAlgoParams bad Base64", path, with(json!({ "signAlgoParams": "***" }))).described("Invalid parameter signAlgoParams"),
        bad("signAlgoParams a number", path, with(json!({ "signAlgoParams": 3 }))),
        bad("operationMode A (async)", path, with(json!({ "operationMode": "A" }))),
        bad("operationMode unknown", path, with(json!({ "operationMode": "Z" }))),
        bad("operationMode a number", path, with(json!({ "operationMode": 1 }))),
        bad("v1 without hash", "/csc/v1/signatures/signHash", json!({ "credentialID": f.cred, "SAD": f.sad, "hashAlgo": SHA256, "signAlgo": ECDSA_SHA256 }))
            .described("Missing (or invalid type) array parameter hash"),
    ];
    run(&f.server, &f.token, rows).await;
    // Every row was refused before the SAD was touched: all four signatures are still there.
    let four: Vec<Vec<u8>> = (0..4u8).map(|i| sha256(&[i])).collect();
    assert_eq!(
        signatures(
            &f.server
                .sign_hash(&f.token, &f.cred, &f.sad, &four, ECDSA_SHA256, json!({}))
                .await
        )
        .len(),
        4
    );
}

/// Exactly `limits.max_hashes` (1024) hashes are accepted; one more is refused.
#[tokio::test]
async fn hash_array_limit_is_1024() {
    let server = Server::start();
    let user = server.add_user("lim");
    let cred = server.create_credential(&user, PIN, &["--scal", "1", "--multisign", "2000"]);
    let token = server.login(&user).await;
    let all: Vec<Vec<u8>> = (0..1025u32).map(|i| sha256(&i.to_be_bytes())).collect();
    let reply = server
        .authorize(&token, &cred, 1025, Some(&all), Some(SHA256), PIN, None)
        .await;
    assert!(
        expect_error(&reply, 400, "invalid_request").contains("1024"),
        "{}",
        reply.1
    );
    let sad = server
        .sad(
            &token,
            &cred,
            1024,
            Some(&all[..1024]),
            Some(SHA256),
            PIN,
            None,
        )
        .await;
    let reply = server
        .sign_hash(&token, &cred, &sad, &all, ECDSA_SHA256, json!({}))
        .await;
    expect_error(&reply, 400, "invalid_request");
    let sigs = signatures(
        &server
            .sign_hash(&token, &cred, &sad, &all[..1024], ECDSA_SHA256, json!({}))
            .await,
    );
    assert_eq!(sigs.len(), 1024);
}

/// An error description may quote the request, but never more than 512 characters of it: a
/// 40,000-character `hashAlgo` is not echoed back in full.
#[tokio::test]
async fn long_values_are_not_echoed_in_full() {
    let server = Server::start();
    let user = server.add_user("echo");
    let token = server.login(&user).await;
    let oid = "1.".repeat(20_000);
    let (status, body) = server
        .post(
            "/csc/v2/signatures/timestamp",
            Some(&token),
            &json!({ "hash": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "hashAlgo": oid }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_request");
    let full = format!("Unsupported hash algorithm {oid}");
    let want: String = full.chars().take(512).chain(['…']).collect();
    assert_eq!(body["error_description"], want.as_str());
}

/// Unknown members and explicit `null`s are ignored; hashes may come in either Base64 alphabet.
#[tokio::test]
async fn unknown_fields_and_nulls_are_ignored() {
    let server = Server::start();
    let user = server.add_user("nul");
    let cred = server.create_credential(&user, PIN, &["--multisign", "2"]);
    let token = server.login(&user).await;
    let cert = server.certificate(&token, &cred).await;
    let junk = json!({ "x-vendor": { "nested": [1, 2, 3] }, "returnValidationInformation": true, "container": "No" });
    let merge = |mut v: Value| {
        for (k, j) in junk.as_object().unwrap() {
            v[k] = j.clone();
        }
        v
    };

    let (status, list) = server
        .post(
            "/csc/v2/credentials/list",
            Some(&token),
            &merge(json!({ "userID": null, "clientData": null, "certificates": null, "certInfo": null, "credentialInfo": null, "lang": null, "maxResults": null })),
        )
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["credentialIDs"], json!([cred]));
    let (status, info) = server
        .post(
            "/csc/v2/credentials/info",
            Some(&token),
            &merge(json!({ "credentialID": cred, "certificates": null, "certInfo": null, "authInfo": null, "clientData": null })),
        )
        .await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(
        info["cert"]["certificates"].as_array().unwrap().len(),
        1,
        "null certificates = default single"
    );

    // Authorize with standard Base64, sign with base64url without padding: the same bytes.
    let messages = [b"first".to_vec(), b"second".to_vec()];
    let digests: Vec<Vec<u8>> = messages.iter().map(|m| sha256(m)).collect();
    let otp = server.fresh_otp(&user);
    let (status, auth) = server
        .post(
            "/csc/v2/credentials/authorize",
            Some(&token),
            &merge(json!({
                "credentialID": cred, "numSignatures": 2, "hashes": digests.iter().map(|d| b64(d)).collect::<Vec<_>>(),
                "hashAlgorithmOID": null, "hash": null, "description": null, "clientData": null, "PIN": null, "OTP": null,
                "authData": [{ "id": "PIN", "value": PIN }, { "id": "OTP", "value": otp }],
            })),
        )
        .await;
    assert_eq!(status, 200, "{auth}");
    let url_safe: Vec<String> = digests
        .iter()
        .map(|d| data_encoding::BASE64URL_NOPAD.encode(d))
        .collect();
    let (status, body) = server
        .post(
            "/csc/v2/signatures/signHash",
            Some(&token),
            &merge(json!({
                "credentialID": cred, "SAD": auth["SAD"], "hashes": url_safe, "signAlgo": ECDSA_SHA256,
                "hashAlgorithmOID": null, "signAlgoParams": null, "operationMode": null, "validity_period": null,
                "response_uri": null, "clientData": null, "hash": null,
            })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for (i, m) in messages.iter().enumerate() {
        verify(
            &cert,
            ECDSA_SHA256,
            SHA256,
            m,
            &unb64(body["signatures"][i].as_str().unwrap()),
        )
        .unwrap();
    }
    // info and login ignore junk too.
    let (status, _) = server
        .post("/csc/v2/info", None, &merge(json!({ "lang": null })))
        .await;
    assert_eq!(status, 200);
}
