//! The HTTP transport: one blocking reqwest client with rustls over aws-lc-rs, the system's
//! trust roots plus any extra CA the user names (a test or in-house server).

use std::time::Duration;

use serde_json::Value;

use crate::ClientError;

/// How to connect.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Extra trust anchors (DER), on top of the system's roots.
    pub extra_roots: Vec<Vec<u8>>,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            extra_roots: Vec::new(),
            timeout: Duration::from_secs(60),
        }
    }
}

/// Builds the blocking HTTP client every part of this crate uses. Installs aws-lc-rs as the
/// process's rustls provider when none is installed yet (the one crypto backend).
pub fn http_client(options: &HttpOptions) -> Result<reqwest::blocking::Client, ClientError> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut builder = reqwest::blocking::Client::builder()
        .timeout(options.timeout)
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("signet-client/", env!("CARGO_PKG_VERSION")))
        // Redirects are never followed for API calls: a 3xx is an error to show, not a hop.
        .redirect(reqwest::redirect::Policy::none());
    for der in &options.extra_roots {
        let cert = reqwest::Certificate::from_der(der)
            .map_err(|e| ClientError::Other(format!("extra CA certificate: {e}")))?;
        builder = builder.add_root_certificate(cert);
    }
    builder.build().map_err(|e| ClientError::Transport {
        method: "client".into(),
        detail: format!("cannot set up HTTPS: {e}"),
    })
}

/// The largest answer read from a server.
const MAX_ANSWER_BYTES: u64 = 256 << 20;

/// Turns a response into its JSON body, or the server's `{error, error_description}`.
pub(crate) fn json_answer(
    method: &str,
    response: Result<reqwest::blocking::Response, reqwest::Error>,
) -> Result<(u16, Value), ClientError> {
    let mut response = response.map_err(|e| transport(method, &e))?;
    let status = response.status().as_u16();
    // A hostile or broken server must not make the client read without end: the largest
    // legitimate answer is a signDoc with documents at a server's own limit.
    let bytes = read_limited(&mut response, MAX_ANSWER_BYTES)
        .map_err(|e| ClientError::Transport {
            method: method.to_owned(),
            detail: format!("reading the answer: {e}"),
        })?
        .ok_or_else(|| {
            ClientError::malformed(
                method,
                format!("an answer larger than {} MiB", MAX_ANSWER_BYTES >> 20),
            )
        })?;
    if !(200..300).contains(&status) {
        return Err(server_error(method, status, &bytes));
    }
    if bytes.is_empty() {
        return Ok((status, Value::Null));
    }
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ClientError::malformed(method, format!("not JSON ({e})")))?;
    if !value.is_object() {
        return Err(ClientError::malformed(method, "not a JSON object"));
    }
    Ok((status, value))
}

pub(crate) fn transport(method: &str, e: &reqwest::Error) -> ClientError {
    ClientError::Transport {
        method: method.to_owned(),
        detail: describe_failure(e),
    }
}

/// What went wrong with a request, with its causes ("connection refused", a TLS failure…):
/// reqwest's own Display names the URL, never a body or a header, and the caller names the
/// URL or method itself.
pub(crate) fn describe_failure(e: &reqwest::Error) -> String {
    let mut detail = if e.is_timeout() {
        "the server did not answer in time".to_owned()
    } else if e.is_connect() {
        "cannot connect to the server".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    detail
}

/// At most `limit` bytes of a body: `None` when it is longer (read no further than one byte
/// past the limit).
pub(crate) fn read_limited(
    response: &mut reqwest::blocking::Response,
    limit: u64,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(response, limit + 1), &mut body)?;
    Ok((body.len() as u64 <= limit).then_some(body))
}

/// The server's error: its `error` and `error_description` when the body is the CSC (or
/// OAuth2) error object, else the status line and a short, printable excerpt of the body.
pub(crate) fn server_error(method: &str, status: u16, body: &[u8]) -> ClientError {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(Value::as_str)
            .map(|s| printable(s, 300))
    };
    let (error, description) = match field("error") {
        Some(error) => (error, field("error_description").unwrap_or_default()),
        None => (
            reqwest::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("error")
                .to_owned(),
            printable(&String::from_utf8_lossy(body), 200),
        ),
    };
    ClientError::Server {
        method: method.to_owned(),
        status,
        error,
        description,
    }
}

/// A server's text made safe for a terminal: control characters replaced, length capped.
pub(crate) fn printable(text: &str, max_chars: usize) -> String {
    let mut out: String = text
        .chars()
        .take(max_chars)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > max_chars {
        out.push('…');
    }
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csc_error_bodies_keep_code_and_description() {
        let e = server_error(
            "credentials/authorize",
            400,
            br#"{"error":"invalid_request","error_description":"Credential locked"}"#,
        );
        assert_eq!(
            e.to_string(),
            "credentials/authorize: the server answered 400: invalid_request (Credential locked)"
        );
        assert_eq!(e.server_error(), Some("invalid_request"));
    }

    #[test]
    fn other_bodies_are_quoted_printably() {
        let e = server_error("info", 502, b"<html>\x1b[31mbad\ngateway</html>");
        assert_eq!(
            e.to_string(),
            "info: the server answered 502: Bad Gateway (<html> [31mbad gateway</html>)"
        );
    }
}
