//! `GET /openapi.json`: the OpenAPI 3.1 description of every endpoint this crate serves
//! (`crates/signet-server/openapi.json`, kept true by `tests/openapi.rs` here and by the
//! schemathesis run in signet-cli's end-to-end tests).
//!
//! The file's `servers` entry is a relative `/`; the served copy names the answering server's
//! public URL instead, so that a client or fuzzer pointed at the document reaches this node.

use std::sync::LazyLock;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::AppState;

/// The document as committed.
pub const DOCUMENT: &str = include_str!("../openapi.json");

/// Parsed once per process; `None` only if the committed file were not JSON (the tests forbid).
static PARSED: LazyLock<Option<Value>> = LazyLock::new(|| serde_json::from_str(DOCUMENT).ok());

/// The document with `servers` naming `public_url` (unchanged when it is empty).
pub fn document_for(public_url: &str) -> Vec<u8> {
    match PARSED.as_ref() {
        Some(doc) if !public_url.is_empty() => {
            let mut doc = doc.clone();
            doc["servers"] = json!([{ "url": public_url }]);
            serde_json::to_vec(&doc).unwrap_or_else(|_| DOCUMENT.as_bytes().to_vec())
        }
        _ => DOCUMENT.as_bytes().to_vec(),
    }
}

pub async fn get(State(state): State<AppState>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        document_for(state.config.oauth2.issuer()),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_name_the_public_url() {
        let served: Value =
            serde_json::from_slice(&document_for("https://signet.example")).unwrap();
        assert_eq!(
            served["servers"],
            json!([{ "url": "https://signet.example" }])
        );
        let mut committed: Value = serde_json::from_str(DOCUMENT).unwrap();
        assert_eq!(committed["servers"][0]["url"], "/");
        committed["servers"] = served["servers"].clone();
        assert_eq!(served, committed, "only servers differs");
        assert_eq!(document_for(""), DOCUMENT.as_bytes());
    }
}
