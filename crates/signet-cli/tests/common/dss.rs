//! DSS-X 2.0 messages as the end-to-end tests write and read them (`/dss/v2/sign`, `pending`,
//! `verify`): the namespaces and result codes they share, the two syntaxes, the `Document`
//! inputs of a request, and a reader for the text of elements in an answer.

use serde_json::{Value, json};

use super::{Server, b64};

pub const DSS2: &str = "http://docs.oasis-open.org/dss-x/ns/core";
pub const DSB: &str = "http://docs.oasis-open.org/dss-x/ns/base";
pub const SAD_MIME: &str = "application/vnd.etsi.ts119432.sad";

pub const SUCCESS: &str = "urn:oasis:names:tc:dss:1.0:resultmajor:Success";
pub const REQUESTER: &str = "urn:oasis:names:tc:dss:1.0:resultmajor:RequesterError";
pub const NOT_SUPPORTED: &str = "urn:oasis:names:tc:dss:1.0:resultminor:NotSupported";
pub const GENERAL: &str = "urn:oasis:names:tc:dss:1.0:resultminor:GeneralError";
pub const NOT_AUTHORIZED: &str = "urn:oasis:names:tc:dss:1.0:resultminor:NotAuthorized";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Syntax {
    Xml,
    Json,
}

impl Syntax {
    pub fn content_type(self) -> &'static str {
        match self {
            Syntax::Xml => "application/xml",
            Syntax::Json => "application/json",
        }
    }
}

/// An input document: (ID, MIME type, bytes).
pub type Doc = (Option<String>, Option<String>, Vec<u8>);

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;")
}

pub fn unesc(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The text of every `<name ...>text</name>` in `xml`.
pub fn texts(xml: &str, name: &str) -> Vec<String> {
    let (open, close) = (format!("<{name}"), format!("</{name}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(at) = rest.find(&open) {
        let after = &rest[at + open.len()..];
        if !after.starts_with(['>', ' ']) {
            rest = after;
            continue;
        }
        let Some(gt) = after.find('>') else { break };
        let body = &after[gt + 1..];
        let Some(end) = body.find(&close) else { break };
        out.push(unesc(&body[..end]));
        rest = &body[end..];
    }
    out
}

pub fn text(xml: &str, name: &str) -> Option<String> {
    texts(xml, name).into_iter().next()
}

/// `dss2:Document` elements (the content of `InputDocuments`).
pub fn xml_documents(documents: &[Doc]) -> String {
    let mut x = String::new();
    for (id, mime, data) in documents {
        let id = id
            .as_ref()
            .map(|i| format!(r#" ID="{i}""#))
            .unwrap_or_default();
        let mime = mime
            .as_ref()
            .map(|m| format!(r#" MimeType="{m}""#))
            .unwrap_or_default();
        x += &format!(
            "<dss2:Document{id}><dss2:Base64Data{mime}><dsb:Value>{}</dsb:Value></dss2:Base64Data></dss2:Document>",
            b64(data)
        );
    }
    x
}

/// `inDocs.doc` items.
pub fn json_documents(documents: &[Doc]) -> Vec<Value> {
    documents
        .iter()
        .map(|(id, mime, data)| {
            let mut d = json!({ "b64Data": { "val": b64(data) } });
            if let Some(m) = mime {
                d["b64Data"]["mimeType"] = json!(m);
            }
            if let Some(i) = id {
                d["ID"] = json!(i);
            }
            d
        })
        .collect()
}

/// Posts a DSS message in `syntax` (with `token` as a bearer token); asserts HTTP 200 (every
/// DSS answer, errors too) and returns the body.
pub async fn post(
    server: &Server,
    path: &str,
    syntax: Syntax,
    token: Option<&str>,
    body: Vec<u8>,
) -> Vec<u8> {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", syntax.content_type())];
    if let Some(a) = &auth {
        headers.push(("Authorization", a.as_str()));
    }
    let reply = server.raw("POST", path, &headers, body).await;
    assert_eq!(
        reply.status,
        200,
        "DSS response expected: {}",
        String::from_utf8_lossy(&reply.body[..reply.body.len().min(2000)])
    );
    reply.body
}
