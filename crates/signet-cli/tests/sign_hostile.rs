//! `signet sign` against a hostile server: a man-in-the-middle proxy in front of a real Signet
//! tampers with the answers (the wrong number of signature values, values that do not verify
//! with the certificate, malformed JSON, HTML, 5xx with and without a CSC error body, a
//! malformed `credentials/info` or `info`). Every case must end in a clear error that names the
//! method, the documented exit code (1: the documents failed after authorization; 2: the run
//! stopped before signing), no panic, no secret on the terminal, no output file — not even a
//! stray temporary one — and the input unchanged.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use common::doc_signer::minimal_pdf;
use common::sign_cli::{client, text};
use common::*;
use serde_json::{Value, json};

/// The credential PIN: distinctive, so that finding it in the output cannot be a coincidence.
const PIN: &str = "97531864";

const INFO: &str = "/csc/v2/info";
const LOGIN: &str = "/csc/v2/auth/login";
const CREDENTIAL_INFO: &str = "/csc/v2/credentials/info";
const AUTHORIZE: &str = "/csc/v2/credentials/authorize";
const SIGN_HASH: &str = "/csc/v2/signatures/signHash";

// ---------------------------------------------------------------------------------------------
// The proxy.

/// An HTTP answer, as the proxy hands it to the client.
struct Answer {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

impl Answer {
    fn json(status: u16, v: &Value) -> Self {
        Self::raw(status, "application/json", v.to_string())
    }

    fn raw(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Answer {
            status,
            content_type: content_type.to_owned(),
            body: body.into(),
        }
    }

    /// The connection is closed without an answer.
    fn hang_up() -> Self {
        Self::raw(0, "", "")
    }

    fn value(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "the real server's answer is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// One request from the client on its way to the real server.
struct Request<'a> {
    shared: &'a Shared,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
}

impl Request<'_> {
    /// Sends `body` (the client's, or a rewritten one) to the real server.
    fn forward(&self, body: &[u8]) -> Answer {
        let method = reqwest::Method::from_bytes(self.method.as_bytes()).expect("HTTP method");
        let mut request = self
            .shared
            .http
            .request(method, format!("{}{}", self.shared.upstream, self.path))
            .body(body.to_vec());
        for (name, value) in &self.headers {
            let lower = name.to_ascii_lowercase();
            if matches!(lower.as_str(), "authorization" | "content-type" | "accept") {
                request = request.header(name, value);
            }
        }
        let response = request.send().expect("the real server answers");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_owned();
        let body = response.bytes().expect("the real server's body").to_vec();
        // Remember what the server handed out: it must never reach the terminal.
        if let Ok(v) = serde_json::from_slice::<Value>(&body) {
            for field in ["access_token", "SAD"] {
                if let Some(secret) = v.get(field).and_then(Value::as_str) {
                    self.shared.secrets.lock().unwrap().push(secret.to_owned());
                }
            }
        }
        Answer {
            status,
            content_type,
            body,
        }
    }
}

/// What the proxy does with one request: forward it, tamper with it, or answer by itself.
type Hook = dyn Fn(&Request<'_>, Vec<u8>) -> Answer + Send + Sync;

struct Shared {
    /// The real server's base URL, without a trailing `/`.
    upstream: String,
    http: reqwest::blocking::Client,
    hook: Box<Hook>,
    /// The paths the client asked for, in order.
    seen: Mutex<Vec<String>>,
    /// Access tokens and SADs the real server issued.
    secrets: Mutex<Vec<String>>,
}

/// A man-in-the-middle HTTP/1.1 proxy on an ephemeral port: one request per connection,
/// `Content-Length` bodies, `Connection: close`.
struct Proxy {
    url: String,
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl Proxy {
    fn start(server: &Server, hook: Box<Hook>) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let shared = Arc::new(Shared {
            upstream: server.url.trim_end_matches('/').to_owned(),
            http: reqwest::blocking::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(60))
                .build()
                .expect("proxy HTTP client"),
            hook,
            seen: Mutex::new(Vec::new()),
            secrets: Mutex::new(Vec::new()),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let shared = Arc::clone(&shared);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let shared = Arc::clone(&shared);
                    std::thread::spawn(move || {
                        // A client that hangs up early is its own business.
                        let _ = serve_one(conn, &shared);
                    });
                }
            })
        };
        Proxy {
            url: format!("http://{addr}"),
            addr,
            shared,
            stop,
            accept: Some(accept),
        }
    }

    fn seen(&self) -> Vec<String> {
        self.shared.seen.lock().unwrap().clone()
    }

    fn count(&self, path: &str) -> usize {
        self.seen().iter().filter(|p| *p == path).count()
    }

    fn secrets(&self) -> Vec<String> {
        self.shared.secrets.lock().unwrap().clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop, which then sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

fn serve_one(conn: TcpStream, shared: &Shared) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
        return Ok(());
    };
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 {
            return Ok(());
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let (name, value) = (name.trim(), value.trim());
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().unwrap_or(0);
            }
            headers.push((name.to_owned(), value.to_owned()));
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    shared.seen.lock().unwrap().push(path.to_owned());
    let request = Request {
        shared,
        method: method.to_owned(),
        path: path.to_owned(),
        headers,
    };
    let answer = (shared.hook)(&request, body);
    if answer.status == 0 {
        return Ok(());
    }
    let reason = reqwest::StatusCode::from_u16(answer.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown");
    let mut out = conn;
    write!(
        out,
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        answer.status,
        answer.content_type,
        answer.body.len()
    )?;
    out.write_all(&answer.body)?;
    out.flush()
}

/// Forwards everything; `path` is answered by `f` (which may forward, rewrite, or not).
fn on(
    path: &'static str,
    f: impl Fn(&Request<'_>, Vec<u8>) -> Answer + Send + Sync + 'static,
) -> Box<Hook> {
    Box::new(move |request, body| {
        if request.path == path {
            f(request, body)
        } else {
            request.forward(&body)
        }
    })
}

/// Forwards everything; the real server's JSON answer to `path` is edited by `f`.
fn edit_answer(path: &'static str, f: impl Fn(&mut Value) + Send + Sync + 'static) -> Box<Hook> {
    on(path, move |request, body| {
        let answer = request.forward(&body);
        assert_eq!(
            answer.status,
            200,
            "the real server refused {path}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        let mut v = answer.value();
        f(&mut v);
        Answer::json(200, &v)
    })
}

/// Forwards everything; the client's JSON request to `path` is edited by `f` on the way.
fn edit_request(path: &'static str, f: impl Fn(&mut Value) + Send + Sync + 'static) -> Box<Hook> {
    on(path, move |request, body| {
        let mut v: Value = serde_json::from_slice(&body).expect("the client sends JSON");
        f(&mut v);
        request.forward(v.to_string().as_bytes())
    })
}

/// Answers `path` with `status`, `content_type` and `body` without asking the real server.
fn replace(
    path: &'static str,
    status: u16,
    content_type: &'static str,
    body: impl Into<Vec<u8>>,
) -> Box<Hook> {
    let body: Vec<u8> = body.into();
    on(path, move |_, _| {
        Answer::raw(status, content_type, body.clone())
    })
}

/// The `signatures` list of a signHash answer.
fn signatures(v: &mut Value) -> &mut Vec<Value> {
    v["signatures"].as_array_mut().expect("a signatures array")
}

// ---------------------------------------------------------------------------------------------
// The client.

/// A real Signet with a user who has an SCAL1 credential for up to 10 signatures per
/// authorization.
struct Signer {
    server: Server,
    user: TestUser,
    cred: String,
}

impl Signer {
    fn start(name: &str) -> Signer {
        let server = Server::start();
        let user = server.add_user(name);
        let cred = server.create_credential(&user, PIN, &["--scal", "1", "--multisign", "10"]);
        Signer { server, user, cred }
    }

    /// Runs `case` through a fresh proxy and checks that it is refused as the case says: the
    /// exit code, the messages, the calls that reached the server; no panic, no secret on the
    /// terminal, no output file, the inputs untouched.
    fn refuses(&self, case: Case) {
        let Case {
            name,
            inputs,
            args,
            hook,
            code,
            lines,
            mentions,
            calls,
        } = case;
        let proxy = Proxy::start(&self.server, hook);
        let (out, dir) = sign_through(&proxy, &self.user, inputs, &args);
        let all = text(&out);
        assert_eq!(out.status.code(), Some(code), "{name}: {all}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        for line in &lines {
            assert!(
                stderr.lines().any(|l| l == line),
                "{name}: stderr lacks the line {line:?}: {all}"
            );
        }
        for mention in &mentions {
            assert!(
                stderr.contains(mention.as_str()),
                "{name}: stderr lacks {mention:?}: {all}"
            );
        }
        assert!(!all.contains("panicked"), "{name}: a panic: {all}");
        assert!(!all.contains("RUST_BACKTRACE"), "{name}: a panic: {all}");
        // Whatever the server sends, the terminal gets no escape sequence and no flood.
        assert!(
            !out.stderr.contains(&0x1b),
            "{name}: an escape sequence reached the terminal: {all}"
        );
        assert!(
            out.stderr.len() < 4096,
            "{name}: {} bytes of stderr",
            out.stderr.len()
        );
        // Neither the user's secrets nor what the server issued reach the terminal.
        assert!(!all.contains(PIN), "{name}: the PIN was printed: {all}");
        assert!(
            !all.contains(&self.user.password),
            "{name}: the password was printed: {all}"
        );
        for secret in proxy.secrets() {
            assert!(
                !all.contains(&secret),
                "{name}: a token or SAD was printed: {all}"
            );
        }
        // Nothing written: exactly the inputs are in the folder (client.toml, the profile's
        // place, is tolerated), and they are unchanged.
        let mut found: Vec<String> = std::fs::read_dir(dir.path())
            .expect("read the folder")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n != "client.toml")
            .collect();
        found.sort();
        let mut expected: Vec<String> = inputs.iter().map(|s| s.to_string()).collect();
        expected.sort();
        assert_eq!(
            found, expected,
            "{name}: files written despite the error: {all}"
        );
        for input in inputs {
            assert_eq!(
                std::fs::read(dir.path().join(input)).expect("read input"),
                content(input),
                "{name}: {input} was changed"
            );
        }
        let seen = proxy.seen();
        assert_eq!(
            (proxy.count(AUTHORIZE), proxy.count(SIGN_HASH)),
            calls,
            "{name}: (authorize, signHash) calls; the client asked for {seen:?}"
        );
    }
}

/// One hostile answer and what the client must make of it.
struct Case {
    name: &'static str,
    inputs: &'static [&'static str],
    /// Extra arguments for `signet sign`.
    args: Vec<String>,
    hook: Box<Hook>,
    /// The exit code: 1 when the documents failed (the run got as far as signing them), 2 when
    /// it stopped before.
    code: i32,
    /// Whole lines stderr must have.
    lines: Vec<String>,
    /// Text stderr must contain.
    mentions: Vec<String>,
    /// How often `credentials/authorize` and `signatures/signHash` reached the proxy.
    calls: (usize, usize),
}

/// A case signing `a.pdf` that gets as far as one signHash and fails there (exit 1).
fn case(name: &'static str, hook: Box<Hook>) -> Case {
    Case {
        name,
        inputs: &["a.pdf"],
        args: Vec::new(),
        hook,
        code: 1,
        lines: Vec::new(),
        mentions: Vec::new(),
        calls: (1, 1),
    }
}

impl Case {
    fn inputs(mut self, inputs: &'static [&'static str]) -> Self {
        self.inputs = inputs;
        self
    }

    fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_owned());
        self
    }

    fn line(mut self, line: impl Into<String>) -> Self {
        self.lines.push(line.into());
        self
    }

    fn mentions(mut self, text: impl Into<String>) -> Self {
        self.mentions.push(text.into());
        self
    }

    /// Stopped before signing (exit 2).
    fn before_signing(mut self) -> Self {
        self.code = 2;
        self.calls = (0, 0);
        self
    }

    fn calls(mut self, authorize: usize, sign_hash: usize) -> Self {
        self.calls = (authorize, sign_hash);
        self
    }
}

/// The content of an input by its extension: PDF (PAdES), XML (XAdES), JSON (JAdES), else
/// text (CAdES).
fn content(name: &str) -> Vec<u8> {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("pdf") => minimal_pdf(),
        Some("xml") => {
            b"<?xml version=\"1.0\"?>\n<Order xmlns=\"urn:example\"><Total>117.00</Total></Order>\n"
                .to_vec()
        }
        Some("json") => br#"{"order": 117, "total": "117.00"}"#.to_vec(),
        _ => format!("{name}: a letter to sign\n").into_bytes(),
    }
}

/// Signs `inputs` (created in a fresh folder) through `proxy`, as `user` with the PIN.
fn sign_through(
    proxy: &Proxy,
    user: &TestUser,
    inputs: &[&str],
    extra: &[String],
) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in inputs {
        std::fs::write(dir.path().join(name), content(name)).expect("write input");
    }
    let mut args = vec!["sign", "--server", &proxy.url];
    args.extend(extra.iter().map(String::as_str));
    args.extend_from_slice(inputs);
    let out = client(
        &args,
        &[
            ("SIGNET_USER", &user.username),
            ("SIGNET_PASSWORD", &user.password),
            ("SIGNET_PIN", PIN),
        ],
        dir.path(),
    );
    (out, dir)
}

// ---------------------------------------------------------------------------------------------
// The cases.

#[test]
fn a_wrong_number_of_signature_values_is_refused() {
    let signer = Signer::start("ada");
    let malformed = |input: &str, detail: &str| {
        format!("error: {input}: signatures/signHash: malformed answer from the server: {detail}")
    };
    for case in [
        case(
            "one value dropped",
            edit_answer(SIGN_HASH, |v| {
                signatures(v).pop();
            }),
        )
        .line(malformed("a.pdf", "0 signature values for 1 hashes"))
        .mentions("signed 0 of 1 document (Ades-B-B)")
        .mentions("with 1 authorization; 1 failed"),
        case(
            "one value added",
            edit_answer(SIGN_HASH, |v| {
                let first = signatures(v)[0].clone();
                signatures(v).push(first);
            }),
        )
        .line(malformed("a.pdf", "2 signature values for 1 hashes")),
        case(
            "10 000 values for one hash",
            edit_answer(SIGN_HASH, |v| {
                let first = signatures(v)[0].clone();
                *signatures(v) = vec![first; 10_000];
            }),
        )
        .line(malformed("a.pdf", "10000 signature values for 1 hashes")),
        case(
            "two documents, one value dropped",
            edit_answer(SIGN_HASH, |v| {
                signatures(v).pop();
            }),
        )
        .inputs(&["a.pdf", "b.txt"])
        .line(malformed("a.pdf", "1 signature values for 2 hashes"))
        .line(malformed("b.txt", "1 signature values for 2 hashes"))
        .mentions("signed 0 of 2 documents (Ades-B-B)"),
    ] {
        signer.refuses(case);
    }
}

/// Flips a bit in the last byte of the first signature value (ECDSA: in `s`, which keeps the
/// DER well-formed).
fn flip_last_byte(v: &mut Value) {
    let value = &mut signatures(v)[0];
    let mut der = unb64(value.as_str().expect("Base64"));
    *der.last_mut().expect("a value") ^= 0x01;
    *value = json!(b64(&der));
}

#[test]
fn signature_values_that_do_not_verify_with_the_certificate_are_refused() {
    let signer = Signer::start("bert");
    let (server, user, cred) = (&signer.server, &signer.user, &signer.cred);
    // A second credential of the same user, whose certificate a hostile server can pass off,
    // and an RSA one.
    let other = server.create_credential(user, PIN, &["--scal", "1", "--multisign", "10"]);
    let rsa = server.create_credential(
        user,
        PIN,
        &["--scal", "1", "--multisign", "10", "--key", "rsa-2048"],
    );
    let not_verified = |input: &str| {
        format!("error: {input}: the signature value does not verify with the signer certificate")
    };
    for case in [
        case("a flipped bit", edit_answer(SIGN_HASH, flip_last_byte))
            .arg("--credential")
            .arg(cred)
            .line(not_verified("a.pdf")),
        case(
            "a genuine signature over another hash",
            edit_request(SIGN_HASH, |v| {
                v["hashes"] = json!([b64(&sha256(b"not the document the signer chose"))]);
            }),
        )
        .arg("--credential")
        .arg(cred)
        .line(not_verified("a.pdf")),
        case(
            "two genuine signatures in the wrong order",
            edit_answer(SIGN_HASH, |v| signatures(v).swap(0, 1)),
        )
        .inputs(&["a.pdf", "b.txt"])
        .arg("--credential")
        .arg(cred)
        .line(not_verified("a.pdf"))
        .line(not_verified("b.txt"))
        .mentions("signed 0 of 2 documents"),
        case(
            "an empty DER sequence",
            edit_answer(SIGN_HASH, |v| {
                *signatures(v) = vec![json!(b64(&[0x30, 0x00]))];
            }),
        )
        .arg("--credential")
        .arg(cred)
        .line(not_verified("a.pdf")),
        case(
            "a 1 MiB value",
            edit_answer(SIGN_HASH, |v| {
                *signatures(v) = vec![json!(b64(&vec![0x30; 1 << 20]))];
            }),
        )
        .arg("--credential")
        .arg(cred)
        .line(not_verified("a.pdf")),
        case("another credential's certificate in credentials/info", {
            let other = other.clone();
            edit_request(CREDENTIAL_INFO, move |v| v["credentialID"] = json!(other))
        })
        .arg("--credential")
        .arg(cred)
        .line(not_verified("a.pdf")),
        case("RSA: a flipped bit", edit_answer(SIGN_HASH, flip_last_byte))
            .arg("--credential")
            .arg(&rsa)
            .line(not_verified("a.pdf")),
        case(
            "XAdES and JAdES: a flipped bit",
            edit_answer(SIGN_HASH, |v| {
                flip_last_byte(v);
                signatures(v).swap(0, 1);
                flip_last_byte(v);
            }),
        )
        .inputs(&["c.xml", "d.json"])
        .arg("--credential")
        .arg(cred)
        .line(not_verified("c.xml"))
        .line(not_verified("d.json")),
        case(
            "XAdES and JAdES: not an ECDSA-Sig-Value",
            edit_answer(SIGN_HASH, |v| {
                *signatures(v) = vec![json!(b64(&[0x30, 0x00])), json!(b64(b"not DER at all"))];
            }),
        )
        .inputs(&["c.xml", "d.json"])
        .arg("--credential")
        .arg(cred)
        .line(not_verified("c.xml"))
        .line(not_verified("d.json")),
    ] {
        signer.refuses(case);
    }
}

#[test]
fn malformed_sign_hash_answers_are_refused() {
    let signer = Signer::start("carl");
    let malformed = |detail: &str| {
        format!("error: a.pdf: signatures/signHash: malformed answer from the server: {detail}")
    };
    for case in [
        case(
            "truncated JSON",
            replace(SIGN_HASH, 200, "application/json", r#"{"signatures": ["#),
        )
        .line(malformed(
            "not JSON (EOF while parsing a list at line 1 column 16)",
        )),
        case(
            "an HTML page with 200",
            replace(
                SIGN_HASH,
                200,
                "text/html",
                "<!DOCTYPE html><html><body>Welcome to nginx!</body></html>",
            ),
        )
        .line(malformed("not JSON (expected value at line 1 column 1)")),
        case(
            "an empty body",
            replace(SIGN_HASH, 200, "application/json", ""),
        )
        .line(malformed("no signatures array")),
        case(
            "a JSON array",
            replace(SIGN_HASH, 200, "application/json", "[]"),
        )
        .line(malformed("not a JSON object")),
        case(
            "signatures is a string",
            replace(
                SIGN_HASH,
                200,
                "application/json",
                r#"{"signatures": "MEUCIQ=="}"#,
            ),
        )
        .line(malformed("no signatures array")),
        case(
            "a value that is not Base64",
            edit_answer(SIGN_HASH, |v| {
                *signatures(v) = vec![json!("%%% not Base64 %%%")];
            }),
        )
        .line(malformed("a signature value is not Base64")),
        case(
            "an empty value",
            edit_answer(SIGN_HASH, |v| *signatures(v) = vec![json!("")]),
        )
        .line(malformed("a signature value is not Base64")),
        case(
            "a number instead of a value",
            edit_answer(SIGN_HASH, |v| *signatures(v) = vec![json!(42)]),
        )
        .line(malformed("a signature value is not Base64")),
    ] {
        signer.refuses(case);
    }
}

#[test]
fn server_errors_on_sign_hash_carry_the_status_and_the_servers_reason() {
    let signer = Signer::start("dora");
    let answered =
        |rest: &str| format!("error: a.pdf: signatures/signHash: the server answered {rest}");
    let big = "A".repeat(1 << 20);
    for case in [
        case(
            "500 with a CSC error",
            replace(
                SIGN_HASH,
                500,
                "application/json",
                r#"{"error":"server_error","error_description":"The key module failed"}"#,
            ),
        )
        .line(answered("500: server_error (The key module failed)")),
        case(
            "500 with a CSC error without description",
            replace(
                SIGN_HASH,
                500,
                "application/json",
                r#"{"error":"server_error"}"#,
            ),
        )
        .line(answered("500: server_error")),
        case(
            "502 with an HTML page",
            replace(
                SIGN_HASH,
                502,
                "text/html",
                "<html><head><title>502 Bad Gateway</title></head>\r\n<body>nginx</body></html>\r\n",
            ),
        )
        .line(answered(
            "502: Bad Gateway (<html><head><title>502 Bad Gateway</title></head>  <body>nginx</body></html>)",
        )),
        case(
            "503 without a body",
            replace(SIGN_HASH, 503, "text/plain", ""),
        )
        .line(answered("503: Service Unavailable")),
        case(
            "503 with terminal escapes in the description",
            replace(
                SIGN_HASH,
                503,
                "application/json",
                r#"{"error":"temporarily_unavailable","error_description":"Busy\u001b[2J\nretry later"}"#,
            ),
        )
        .line(answered(
            "503: temporarily_unavailable (Busy [2J retry later)",
        )),
        case(
            "500 with a 1 MiB body",
            replace(SIGN_HASH, 500, "text/plain", big.clone()),
        )
        .line(answered(&format!(
            "500: Internal Server Error ({}…)",
            &big[..200]
        ))),
    ] {
        signer.refuses(case);
    }
}

#[test]
fn hostile_answers_before_signing_stop_the_run_and_authorize_nothing() {
    let signer = Signer::start("emil");
    let cred = &signer.cred;
    let reading = |rest: &str| {
        format!("signet: reading credential {cred} (credentials/info): credentials/info: {rest}")
    };
    let offers =
        |rest: &str| format!("signet: asking the server what it offers (info): info: {rest}");
    for case in [
        case(
            "credentials/info: a certificate that is not Base64",
            edit_answer(CREDENTIAL_INFO, |v| {
                v["cert"]["certificates"] = json!(["-----BEGIN CERTIFICATE-----"]);
            }),
        )
        .before_signing()
        .line(reading(
            "malformed answer from the server: a certificate is not Base64",
        )),
        case(
            "credentials/info: an HTML page with 200",
            replace(
                CREDENTIAL_INFO,
                200,
                "text/html",
                "<html><body>Sign in</body></html>",
            ),
        )
        .before_signing()
        .line(reading(
            "malformed answer from the server: not JSON (expected value at line 1 column 1)",
        )),
        case(
            "credentials/info: no key",
            edit_answer(CREDENTIAL_INFO, |v| {
                v.as_object_mut().expect("object").remove("key");
            }),
        )
        .before_signing()
        .line(reading("malformed answer from the server: no `key` object")),
        case(
            "credentials/info: no certificate",
            edit_answer(CREDENTIAL_INFO, |v| v["cert"]["certificates"] = json!([])),
        )
        .before_signing()
        .line(format!(
            "signet: credential {cred}: the server sent no certificate (credentials/info cert.certificates)"
        )),
        case(
            "credentials/info: a certificate that is not DER",
            edit_answer(CREDENTIAL_INFO, |v| {
                v["cert"]["certificates"] = json!(["AAEC"]);
            }),
        )
        // Checked with the credential, before any document is read or anything authorized.
        .before_signing()
        .line(format!(
            "signet: credential {cred}: the certificate in credentials/info is not a DER certificate (unknown/unsupported ASN.1 DER tag: 0x00)"
        )),
        case(
            "credentials/info: a P-384 key claimed for a P-256 certificate",
            edit_answer(CREDENTIAL_INFO, |v| {
                v["key"]["curve"] = json!("1.3.132.0.34");
                v["key"]["len"] = json!(384);
            }),
        )
        .before_signing()
        .line(format!(
            "signet: credential {cred}: credentials/info describes key type ec-p384 but its certificate holds ec-p256"
        )),
        case(
            "credentials/info: multisign 0",
            edit_answer(CREDENTIAL_INFO, |v| v["multisign"] = json!(0)),
        )
        .before_signing()
        .line(reading(
            "malformed answer from the server: `multisign` is not a positive integer",
        )),
        case(
            "credentials/info: the key is disabled",
            edit_answer(CREDENTIAL_INFO, |v| v["key"]["status"] = json!("disabled")),
        )
        .before_signing()
        .line(format!("signet: credential {cred} is disabled")),
        case(
            "credentials/info: 503 with a CSC error",
            replace(
                CREDENTIAL_INFO,
                503,
                "application/json",
                r#"{"error":"temporarily_unavailable","error_description":"Maintenance"}"#,
            ),
        )
        .before_signing()
        .line(reading(
            "the server answered 503: temporarily_unavailable (Maintenance)",
        )),
        case(
            "credentials/list: an ID that is not a string",
            replace(
                "/csc/v2/credentials/list",
                200,
                "application/json",
                r#"{"credentialIDs":[7]}"#,
            ),
        )
        .before_signing()
        .line("signet: listing credentials: credentials/list: malformed answer from the server: a credential ID is not a string"),
        case(
            "auth/login: no access token",
            replace(LOGIN, 200, "application/json", r#"{"expires_in":3600}"#),
        )
        .before_signing()
        .line("signet: signing in (auth/login): auth/login: malformed answer from the server: no access_token"),
        case(
            "info: an HTML page with 200",
            replace(
                INFO,
                200,
                "text/html",
                "<!DOCTYPE html><html><body>It works!</body></html>",
            ),
        )
        .before_signing()
        .line(offers(
            "malformed answer from the server: not JSON (expected value at line 1 column 1)",
        )),
        case(
            "info: no methods",
            replace(
                INFO,
                200,
                "application/json",
                r#"{"name":"rssp","authType":["basic"]}"#,
            ),
        )
        .before_signing()
        .line(offers("malformed answer from the server: no `methods` list")),
        case(
            "info: 502 with an HTML page",
            replace(INFO, 502, "text/html", "<html>Bad Gateway</html>"),
        )
        .before_signing()
        .line(offers(
            "the server answered 502: Bad Gateway (<html>Bad Gateway</html>)",
        )),
    ] {
        signer.refuses(case);
    }
}

#[test]
fn a_server_that_does_not_speak_csc_is_never_sent_the_password() {
    let signer = Signer::start("fiona");
    let proxy = Proxy::start(
        &signer.server,
        replace(
            INFO,
            200,
            "text/html",
            "<html><body>It works!</body></html>",
        ),
    );
    let (out, _dir) = sign_through(&proxy, &signer.user, &["a.pdf"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(proxy.seen(), [INFO]);
}

#[test]
fn hostile_authorizations_and_hang_ups_are_refused() {
    let signer = Signer::start("gert");
    let authorizing = |rest: &str| {
        format!(
            "error: a.pdf: authorizing the credential (credentials/authorize): credentials/authorize: {rest}"
        )
    };
    for case in [
        case(
            "credentials/authorize: no SAD",
            replace(AUTHORIZE, 200, "application/json", r#"{"expiresIn":60}"#),
        )
        .calls(1, 0)
        .line(authorizing("malformed answer from the server: no SAD")),
        case(
            "credentials/authorize: 202 without a handle",
            replace(AUTHORIZE, 202, "application/json", "{}"),
        )
        .calls(1, 0)
        .line(authorizing(
            "malformed answer from the server: 202 without a handle",
        )),
        case(
            "credentials/authorize: hangs up",
            on(AUTHORIZE, |_, _| Answer::hang_up()),
        )
        .calls(1, 0)
        .mentions(authorizing("request failed: "))
        .mentions("connection closed"),
        case(
            "signatures/signHash: hangs up",
            on(SIGN_HASH, |_, _| Answer::hang_up()),
        )
        .mentions("error: a.pdf: signatures/signHash: request failed: ")
        .mentions("connection closed"),
        case(
            "signatures/signHash: hangs up after the real server signed",
            on(SIGN_HASH, |request, body| {
                request.forward(&body);
                Answer::hang_up()
            }),
        )
        .mentions("error: a.pdf: signatures/signHash: request failed: ")
        .mentions("connection closed"),
        case("info: hangs up", on(INFO, |_, _| Answer::hang_up()))
            .before_signing()
            .mentions("signet: asking the server what it offers (info): info: request failed: ")
            .mentions("connection closed"),
    ] {
        signer.refuses(case);
    }
}

#[test]
fn the_proxy_itself_is_transparent() {
    // The control: through an untouched proxy the same run signs, so every refusal above is
    // the tampering's doing.
    let signer = Signer::start("hanna");
    let proxy = Proxy::start(
        &signer.server,
        Box::new(|request, body| request.forward(&body)),
    );
    let (out, dir) = sign_through(&proxy, &signer.user, &["a.pdf", "b.txt"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(dir.path().join("a-signed.pdf").exists(), "{}", text(&out));
    assert!(dir.path().join("b.txt.p7m").exists(), "{}", text(&out));
    assert_eq!(
        proxy.seen(),
        [
            INFO,
            LOGIN,
            "/csc/v2/credentials/list",
            CREDENTIAL_INFO,
            AUTHORIZE,
            SIGN_HASH
        ],
    );
    // The access token and the SAD were seen, so the "no secret printed" checks bite.
    assert_eq!(proxy.secrets().len(), 2, "{:?}", proxy.seen());
}
