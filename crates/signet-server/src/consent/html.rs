//! Server-rendered HTML: escaping, the page frame, and the headers every page carries.
//!
//! Pages are plain HTML forms (no JavaScript), styled by one stylesheet Signet serves itself.
//! Every value that did not come from this file goes through [`esc`].

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Path of the stylesheet (served by [`stylesheet`]).
pub const STYLESHEET: &str = "/consent/signet.css";

const CSS: &str = include_str!("signet.css");

/// A complete page: `title` (plain text) and `body` (HTML, already escaped where needed).
pub fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>{title} · Signet</title>\n<link rel=\"stylesheet\" href=\"{STYLESHEET}\">\n</head>\n\
         <body>\n<header class=\"bar\"><span class=\"brand\">Signet</span></header>\n\
         <main>\n{body}\n</main>\n</body>\n</html>\n",
        title = esc(title),
    )
}

/// The security headers of every page. `form_targets` are extra `form-action` sources: the
/// origin of the client's redirect URI on pages whose form submission ends in a redirect to it
/// (browsers apply `form-action` to the redirects that follow a submission).
pub fn security_headers(headers: &mut HeaderMap, form_targets: &[String]) {
    let mut form_action = String::from("'self'");
    for t in form_targets {
        // Sources are origins or schemes we built from a parsed URL; refuse anything that could
        // break out of the directive.
        if !t.is_empty() && !t.contains([';', ',', ' ', '\'', '"']) {
            form_action.push(' ');
            form_action.push_str(t);
        }
    }
    let csp = format!(
        "default-src 'none'; style-src 'self'; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    );
    let pairs = [
        (header::CONTENT_SECURITY_POLICY, csp),
        (header::X_FRAME_OPTIONS, "DENY".to_owned()),
        (header::REFERRER_POLICY, "no-referrer".to_owned()),
        (header::CACHE_CONTROL, "no-store".to_owned()),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
    ];
    for (name, value) in pairs {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
}

/// An HTML page response with the security headers.
pub fn page(status: StatusCode, html: String, form_targets: &[String]) -> Response {
    let mut resp = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response();
    security_headers(resp.headers_mut(), form_targets);
    resp
}

/// A redirect (303 after a form POST, 302 from the authorization endpoint's GET) with the page
/// security headers.
pub fn redirect(status: StatusCode, location: &str) -> Response {
    let mut resp = status.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    security_headers(resp.headers_mut(), &[]);
    resp
}

/// An error page: a heading, a sentence, nothing to click that leaves Signet.
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        "<section class=\"card\">\n<h1>{}</h1>\n<p>{}</p>\n</section>",
        esc(title),
        esc(message)
    );
    page(status, document(title, &body), &[])
}

pub async fn stylesheet() -> Response {
    let mut resp = ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response();
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    resp.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

/// A digest as lowercase hex in groups of eight, so it wraps on a phone screen.
pub fn hex_groups(bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    hex.as_bytes()
        .chunks(8)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<a href=\"x\">O'Neil & co</a>"),
            "&lt;a href=&quot;x&quot;&gt;O&#39;Neil &amp; co&lt;/a&gt;"
        );
        assert_eq!(esc("plain"), "plain");
    }

    #[test]
    fn csp_keeps_only_safe_sources() {
        let mut h = HeaderMap::new();
        security_headers(
            &mut h,
            &["https://client.example".into(), "x; script-src *".into()],
        );
        let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            csp.contains("form-action 'self' https://client.example;"),
            "{csp}"
        );
        assert!(!csp.contains("script-src"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
    }

    #[test]
    fn hex_is_grouped() {
        assert_eq!(hex_groups(&[0xde, 0xad, 0xbe, 0xef, 0x01]), "deadbeef 01");
    }
}
