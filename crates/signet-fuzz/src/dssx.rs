//! DSS-X 2.0 requests, XML and JSON: SignRequest, PendingRequest and VerifyRequest through
//! `signet_dssx::{xml, json}::parse` with the limits the server's `dss/` binding sets, and the
//! answer to each (the refusal, or a result echoing the RequestID) written back.
//!
//! Input: one selector byte (the endpoint: sign, pending, verify), then the body.

use signet_dssx::{DssResult, Kind, Limits, Message, ParseError, SignResponse};

#[derive(Clone, Copy)]
enum Syntax {
    Xml,
    Json,
}

pub fn dssx_xml(data: &[u8]) {
    request(Syntax::Xml, data);
}

pub fn dssx_json(data: &[u8]) {
    request(Syntax::Json, data);
}

fn request(syntax: Syntax, data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let kind = [Kind::Sign, Kind::Pending, Kind::Verify][usize::from(selector) % 3];
    let config = signet_server::ServerConfig::default();
    // As dss::read builds them for sign and pending (verify differs only in the size).
    let limits = Limits {
        max_document_bytes: config.ades.limits.max_document_bytes,
        max_documents: config.ades.max_documents,
        ..Limits::default()
    };
    let parsed = match syntax {
        Syntax::Xml => signet_dssx::xml::parse(body, kind, &limits),
        Syntax::Json => signet_dssx::json::parse(body, kind, &limits),
    };
    let (result, request_id) = match parsed {
        Ok(Message::Sign(req)) => {
            assert!(matches!(kind, Kind::Sign));
            assert!(req.documents.len() + req.hashes.len() <= limits.max_documents);
            assert!(
                req.documents
                    .iter()
                    .all(|d| d.data.len() <= limits.max_document_bytes)
            );
            (DssResult::success(), req.request_id)
        }
        Ok(Message::Pending(req)) => {
            assert!(matches!(kind, Kind::Pending));
            (DssResult::pending(), req.request_id)
        }
        Ok(Message::Verify(req)) => {
            assert!(matches!(kind, Kind::Verify));
            (DssResult::success(), req.request_id)
        }
        Err(ParseError::NotDss(_)) => return,
        Err(ParseError::Requester {
            minor,
            message,
            request_id,
        }) => (DssResult::requester(minor, message), request_id),
    };
    answer(syntax, result, request_id);
}

/// The answer echoes the RequestID: it must be well-formed and carry it unchanged.
fn answer(syntax: Syntax, result: DssResult, request_id: Option<String>) {
    let resp = SignResponse::new(result, request_id.clone());
    match syntax {
        Syntax::Xml => {
            let xml = signet_dssx::xml::write(&resp);
            let doc = signet_ades::xml::parse_untrusted(&xml, 64)
                .unwrap_or_else(|e| panic!("the response is not XML: {e}"));
            let echoed = doc.root_element().attribute("RequestID");
            assert_eq!(echoed, request_id.as_deref());
        }
        Syntax::Json => {
            let json = signet_dssx::json::write(&resp);
            let v: serde_json::Value = serde_json::from_slice(&json).expect("JSON response");
            let echoed = v.get("reqID").and_then(serde_json::Value::as_str);
            assert_eq!(echoed, request_id.as_deref(), "{v}");
        }
    }
}
