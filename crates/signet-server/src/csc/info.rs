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

pub fn info(state: &AppState, version: Version) -> Value {
    let s = &state.config.service;
    let methods: Vec<&str> = METHODS.to_vec();
    let mut v = json!({
        "specs": match version { Version::V1 => "1.0.4.0", Version::V2 => "2.0.0.2" },
        "name": s.name,
        "logo": s.logo,
        "region": s.region,
        "lang": s.lang,
        "description": s.description,
        "authType": ["basic", "oauth2code", "oauth2client"],
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
        // signDoc is not offered: no formats and no levels (both fields are required in v2).
        v["signature_formats"] = json!({ "formats": [], "envelope_properties": [] });
        v["conformance_levels"] = json!([]);
        v["asynchronousOperationMode"] = json!(false);
        v["validationInfo"] = json!(false);
    }
    v
}
