//! `info` (CSC 11.1): who we are and exactly what we implement.

use serde_json::{Value, json};
use signet_core::KeyType;

use super::{METHODS, Version};
use crate::AppState;

/// Every signature algorithm OID any key type accepts, each once.
fn sign_algorithms() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for k in KeyType::ALL {
        for a in k.sign_algorithms() {
            if !out.contains(a) {
                out.push(a);
            }
        }
    }
    out
}

/// CSC `authType`: "TLS" only when client certificates are verified (mutual TLS configured).
fn auth_types(state: &AppState) -> Vec<&'static str> {
    let mut types = vec!["basic", "oauth2code", "oauth2client"];
    if state.config.ops.client_certificates {
        types.push("TLS");
    }
    types
}

pub fn info(state: &AppState, version: Version) -> Value {
    let s = &state.config.service;
    // signDoc exists in CSC v2 only.
    let methods: Vec<&str> = METHODS
        .iter()
        .copied()
        .filter(|m| version == Version::V2 || *m != "signatures/signDoc")
        .collect();
    let mut v = json!({
        "specs": match version { Version::V1 => "1.0.4.0", Version::V2 => "2.0.0.2" },
        "name": s.name,
        "logo": s.logo,
        "region": s.region,
        "lang": s.lang,
        "description": s.description,
        "authType": auth_types(state),
        "methods": methods,
    });
    // The OAuth2 authorization server: v2 clients discover it through RFC 8414 metadata at the
    // issuer, v1 clients append /oauth2/... to the base URI (the two are exclusive in v2).
    let issuer = state.config.oauth2.issuer();
    match version {
        Version::V1 => v["oauth2"] = json!(issuer),
        Version::V2 => v["oauth2Issuer"] = json!(issuer),
    }
    if version == Version::V2 {
        let algos = sign_algorithms();
        v["signAlgorithms"] = json!({ "algos": algos });
        // signDoc: exactly the formats, envelopes and levels signet-ades produces (CSC §11.1:
        // envelope_properties[i] lists the envelopes of formats[i]).
        let formats = signet_ades::Format::ALL;
        v["signature_formats"] = json!({
            "formats": formats.iter().map(|f| f.letter()).collect::<Vec<_>>(),
            "envelope_properties": formats
                .iter()
                .map(|f| f.envelopes().iter().map(|e| e.name()).collect::<Vec<_>>())
                .collect::<Vec<_>>(),
        });
        v["conformance_levels"] = json!(
            signet_ades::Level::ALL
                .iter()
                .map(|l| l.csc_name())
                .collect::<Vec<_>>()
        );
        v["asynchronousOperationMode"] = json!(false);
        v["validationInfo"] = json!(true);
    }
    v
}
