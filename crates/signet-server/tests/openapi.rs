//! Keeps `openapi.json` true to the code, offline:
//! - it is JSON, OpenAPI 3.1, of this crate's version, every `$ref` resolves, every operation
//!   has a unique `operationId` and documented responses;
//! - the routes the router serves (read from the source's `.route(...)` calls and the CSC
//!   method list) are exactly the documented paths and methods;
//! - where the CSC v1.0.3.0 JSON schema (`tests/spec/csc/`) describes the same method, request
//!   members agree in type and required set, and answers in type and (the schema's) required
//!   members; every deliberate difference is listed below and said in the document.
//!
//! The served copy and real answers are checked against a live server by
//! `crates/signet-cli/tests/openapi.rs` (schemathesis).

mod common;

use std::collections::BTreeSet;

use common::{crate_dir, rust_files};
use serde_json::Value;

fn document() -> Value {
    serde_json::from_str(signet_server::openapi::DOCUMENT).expect("openapi.json is JSON")
}

const HTTP_METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Every (path, method) the document describes.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, _) in item.as_object().expect("path item") {
            if HTTP_METHODS.contains(&method.as_str()) {
                out.insert((path.clone(), method.clone()));
            }
        }
    }
    out
}

/// Follows a local `$ref` (`#/components/...`) in `doc`.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    let mut v = v;
    while let Some(r) = v.get("$ref").and_then(Value::as_str) {
        let pointer = r.strip_prefix('#').expect("local $ref");
        v = doc
            .pointer(pointer)
            .unwrap_or_else(|| panic!("$ref {r} resolves"));
    }
    v
}

fn walk_refs(doc: &Value, v: &Value, at: &str, seen: &mut usize) {
    match v {
        Value::Object(map) => {
            if let Some(r) = map.get("$ref") {
                let r = r
                    .as_str()
                    .unwrap_or_else(|| panic!("{at}: $ref is a string"));
                let pointer = r
                    .strip_prefix('#')
                    .unwrap_or_else(|| panic!("{at}: $ref {r} is local"));
                assert!(doc.pointer(pointer).is_some(), "{at}: $ref {r} resolves");
                *seen += 1;
            }
            for (k, child) in map {
                walk_refs(doc, child, &format!("{at}/{k}"), seen);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk_refs(doc, child, &format!("{at}/{i}"), seen);
            }
        }
        _ => {}
    }
}

#[test]
fn document_is_openapi_3_1_with_resolvable_references() {
    let doc = document();
    let version = doc["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3.1."), "OpenAPI 3.1, got {version}");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(doc["servers"][0]["url"], "/", "relative in the file");
    let mut refs = 0;
    walk_refs(&doc, &doc, "", &mut refs);
    assert!(
        refs > 100,
        "the document shares its schemas through $ref ({refs})"
    );
    let schemes: BTreeSet<&str> = doc["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes")
        .keys()
        .map(String::as_str)
        .collect();
    let mut ids = BTreeSet::new();
    for (path, method) in documented(&doc) {
        let op = &doc["paths"][&path][&method];
        let id = op["operationId"].as_str().expect("operationId");
        assert!(ids.insert(id.to_owned()), "operationId {id} is unique");
        let responses = op["responses"].as_object().expect("responses");
        assert!(!responses.is_empty(), "{method} {path} documents responses");
        for (status, r) in responses {
            assert!(
                status.len() == 3 && status.parse::<u16>().is_ok(),
                "{method} {path}: status {status}"
            );
            let r = resolve(&doc, r);
            assert!(
                r["description"].is_string(),
                "{method} {path} {status}: description"
            );
            assert!(
                r["headers"]["X-Request-Id"].is_object(),
                "{method} {path} {status}: every answer carries X-Request-Id"
            );
        }
        for requirement in op["security"].as_array().into_iter().flatten() {
            for scheme in requirement.as_object().expect("requirement").keys() {
                assert!(
                    schemes.contains(scheme.as_str()),
                    "{method} {path}: {scheme}"
                );
            }
        }
        if let Some(params) = op["parameters"].as_array() {
            for p in params {
                if p["in"] == "path" {
                    let name = p["name"].as_str().expect("name");
                    assert!(
                        path.contains(&format!("{{{name}}}")),
                        "{path} has {{{name}}}"
                    );
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The routes in the code.

/// A file's code without its `#[cfg(test)]` module and `//` comments.
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines()
        .map(|line| match line.find("//") {
            Some(i) if !line[..i].contains('"') => &line[..i],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The arguments of a call whose `(` was just consumed, split at top-level commas.
fn call_args(rest: &str) -> Vec<String> {
    let mut args = vec![String::new()];
    let mut depth = 0usize;
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let arg = args.last_mut().expect("arg");
                arg.push(c);
                let mut escaped = false;
                for s in chars.by_ref() {
                    arg.push(s);
                    if s == '"' && !escaped {
                        break;
                    }
                    escaped = s == '\\' && !escaped;
                }
                continue;
            }
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' if depth == 0 => {
                // A trailing comma leaves an empty last argument.
                args.retain(|a| !a.trim().is_empty());
                return args;
            }
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                args.push(String::new());
                continue;
            }
            _ => {}
        }
        args.last_mut().expect("arg").push(c);
    }
    panic!("unbalanced call");
}

/// The HTTP methods of a method router expression: `get(a).post(b)`, `axum::routing::get(x)`,
/// `any(f)` — the identifiers called at the expression's top level.
fn method_calls(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut ident = String::new();
    for c in expr.chars() {
        match c {
            '(' => {
                if depth == 0 {
                    let name = ident.rsplit("::").next().unwrap_or("").to_owned();
                    out.push(name);
                }
                depth += 1;
                ident.clear();
            }
            ')' => {
                depth -= 1;
                ident.clear();
            }
            c if c.is_ascii_alphanumeric() || c == '_' || c == ':' => ident.push(c),
            _ => ident.clear(),
        }
    }
    out
}

/// `const NAME: &str = "value";` anywhere in the sources.
fn string_constant(sources: &[String], name: &str) -> String {
    let needle = format!("const {name}: &str = \"");
    for code in sources {
        if let Some(i) = code.find(&needle) {
            let rest = &code[i + needle.len()..];
            return rest[..rest.find('"').expect("closing quote")].to_owned();
        }
    }
    panic!("constant {name} not found");
}

/// Every (route pattern, method) registered with `.route(...)` outside tests.
fn routes_in_code() -> BTreeSet<(String, String)> {
    let mut files = Vec::new();
    rust_files(&crate_dir().join("src"), &mut files);
    let sources: Vec<String> = files
        .iter()
        .map(|f| code_of(&std::fs::read_to_string(f).expect("readable source")))
        .collect();
    let mut out = BTreeSet::new();
    for code in &sources {
        for (i, _) in code.match_indices(".route(") {
            let args = call_args(&code[i + ".route(".len()..]);
            assert_eq!(args.len(), 2, "route(path, methods): {args:?}");
            let path_expr = args[0].trim();
            let path = match path_expr.strip_prefix('"') {
                Some(lit) => lit.trim_end_matches('"').to_owned(),
                None => string_constant(&sources, path_expr.rsplit("::").next().expect("name")),
            };
            for method in method_calls(&args[1]) {
                out.insert((path.clone(), method));
            }
        }
    }
    out
}

/// The routes as OpenAPI operations: the CSC catch-all becomes one path per method Signet
/// implements (POST; `info` also GET, `csc/mod.rs`), v1 without signDoc (a v2 method, 404 on
/// v1 paths: `csc/sign_doc.rs`); `{*x}` wildcards become `{x}`.
fn served_operations() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, method) in routes_in_code() {
        if path == signet_server::CSC_ROUTE {
            assert_eq!(
                method, "any",
                "the CSC entry dispatches every method itself"
            );
            for version in ["v1", "v2"] {
                for m in signet_server::csc::METHODS {
                    if version == "v1" && *m == "signatures/signDoc" {
                        continue;
                    }
                    out.insert((format!("/csc/{version}/{m}"), "post".to_owned()));
                    if *m == "info" {
                        out.insert((format!("/csc/{version}/{m}"), "get".to_owned()));
                    }
                }
            }
            continue;
        }
        assert_ne!(method, "any", "{path}: only the CSC entry takes any method");
        out.insert((path.replace("{*", "{"), method));
    }
    out
}

#[test]
fn every_served_route_is_documented_and_every_documented_one_served() {
    let served = served_operations();
    for expected in [
        ("/csc/v2/signatures/signHash", "post"),
        ("/oauth2/token", "post"),
        ("/dss/v2/sign", "post"),
        ("/ocsp/{request}", "get"),
        ("/metrics", "get"),
        ("/openapi.json", "get"),
    ] {
        assert!(
            served.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "the route scan finds {expected:?}: {served:?}"
        );
    }
    let documented = documented(&document());
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "served but not documented: {undocumented:?}"
    );
    assert!(
        unserved.is_empty(),
        "documented but not served: {unserved:?}"
    );
}

#[test]
fn route_scan_reads_method_chains() {
    assert_eq!(method_calls("get(a::b).post(c)"), ["get", "post"]);
    assert_eq!(method_calls("axum::routing::get(metrics_text)"), ["get"]);
    assert_eq!(
        method_calls("get(|| async { ([(H, \"image/png\")], LOGO) })"),
        ["get"]
    );
    assert_eq!(
        call_args("\"/x\", get(f(1, 2)))tail"),
        ["\"/x\"", " get(f(1, 2))"]
    );
}

// ---------------------------------------------------------------------------------------------
// The overlap with the CSC v1.0.3.0 JSON schema.

fn csc_schema() -> Value {
    let path = crate_dir().join("../../tests/spec/csc/csc-json-schema-v1.0.3.0.json");
    serde_json::from_slice(&std::fs::read(path).expect("CSC JSON schema")).expect("JSON")
}

/// A CSC schema node with its `$ref` followed (by definition name: the file also points some
/// at `#/components/schemas/NAME`, meaning the same definition).
fn csc_resolve<'a>(schema: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.rsplit('/').next().expect("name");
            let def = &schema["definitions"][name];
            assert!(def.is_object(), "CSC definition {name}");
            def
        }
        None => v,
    }
}

/// A JSON schema's type, one word (`["string", "null"]` counts as `string`).
fn type_of(v: &Value) -> Option<String> {
    match &v["type"] {
        Value::String(t) => Some(t.clone()),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .map(str::to_owned),
        _ => None,
    }
}

/// Whether our type may stand where the CSC schema says `csc`: the same, or integer for number.
fn compatible(ours: &str, csc: &str) -> bool {
    ours == csc || (ours == "integer" && csc == "number")
}

/// A deliberate difference from the CSC v1.0.3.0 JSON schema, and the words in the document's
/// description of that member that say so.
struct Deviation {
    definition: &'static str,
    member: &'static str,
    what: Kind,
    said: &'static str,
}

#[derive(PartialEq, Debug, Clone, Copy)]
enum Kind {
    /// Required by the CSC schema, optional in Signet.
    Optional,
    /// Another type than the CSC schema's.
    Type,
}

const DEVIATIONS: &[Deviation] = &[
    Deviation {
        definition: "input-auth-login",
        member: "rememberMe",
        what: Kind::Optional,
        said: "its text as optional",
    },
    Deviation {
        definition: "input-signatures-signhash",
        member: "SAD",
        what: Kind::Optional,
        said: "credential-scoped Bearer token",
    },
    Deviation {
        definition: "input-oauth2-token",
        member: "client_id",
        what: Kind::Optional,
        said: "client_secret_basic",
    },
    Deviation {
        definition: "input-oauth2-token",
        member: "client_secret",
        what: Kind::Optional,
        said: "client_secret_basic",
    },
    // The known inaccuracies of the v1.0.3.0 JSON schema (tests/spec/README.md).
    Deviation {
        definition: "output-credentials-info",
        member: "PIN",
        what: Kind::Optional,
        said: "its text makes them conditional",
    },
    Deviation {
        definition: "output-credentials-info",
        member: "OTP",
        what: Kind::Optional,
        said: "its text makes them conditional",
    },
    Deviation {
        definition: "output-credentials-info",
        member: "multisign",
        what: Kind::Type,
        said: "the v1 JSON schema says Boolean",
    },
    Deviation {
        definition: "output-credentials-info",
        member: "key.curve",
        what: Kind::Type,
        said: "JSON schema types it Integer",
    },
];

/// Our operation for a CSC schema definition (`input-credentials-info` →
/// `/csc/v1/credentials/info`, `input-oauth2-token` → `/oauth2/token`): its request schema and
/// its 200 answer's, or `None` when Signet does not serve the method.
fn our_schemas<'a>(doc: &'a Value, method: &str) -> Option<(&'a Value, &'a Value)> {
    let path = if method == "oauth2-token" {
        "/oauth2/token".to_owned()
    } else {
        let name = method.replacen('-', "/", 1);
        let known = signet_server::csc::METHODS
            .iter()
            .find(|m| m.eq_ignore_ascii_case(&name))?;
        format!("/csc/v1/{known}")
    };
    let op = &doc["paths"][&path]["post"];
    assert!(op.is_object(), "{path} is documented");
    let content = op["requestBody"]["content"]
        .as_object()
        .expect("request body");
    let (_, media) = content.iter().next().expect("a media type");
    let request = resolve(doc, &media["schema"]);
    let ok = resolve(doc, &op["responses"]["200"]);
    let answer = resolve(doc, &ok["content"]["application/json"]["schema"]);
    Some((request, answer))
}

/// Compares our schemas with the CSC schema's, member by member, collecting each difference
/// found as (definition, member path, kind).
struct Comparison<'a> {
    doc: &'a Value,
    schema: &'a Value,
    found: Vec<(String, String, Kind)>,
}

impl Comparison<'_> {
    fn compare(&mut self, definition: &str, is_input: bool, at: &str, ours: &Value, csc: &Value) {
        let (doc, schema) = (self.doc, self.schema);
        let csc = csc_resolve(schema, csc);
        let ours = resolve(doc, ours);
        let names = |v: &Value| -> BTreeSet<String> {
            v["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        };
        let (csc_required, our_required) = (names(csc), names(ours));
        let member = |name: &str| {
            if at.is_empty() {
                name.to_owned()
            } else {
                format!("{at}.{name}")
            }
        };
        for name in csc_required.difference(&our_required) {
            self.found
                .push((definition.to_owned(), member(name), Kind::Optional));
        }
        // A request may not require what CSC clients need not send; an answer may always carry
        // more than the CSC schema requires.
        if is_input {
            let extra: Vec<_> = our_required.difference(&csc_required).collect();
            assert!(
                extra.is_empty(),
                "{definition}: Signet requires {extra:?} that CSC does not"
            );
        }
        let (Some(csc_props), Some(our_props)) = (
            csc["properties"].as_object(),
            ours["properties"].as_object(),
        ) else {
            return;
        };
        for (name, csc_member) in csc_props {
            let Some(our_member) = our_props.get(name) else {
                assert!(
                    !is_input,
                    "{definition}: CSC member {} is not in the document",
                    member(name)
                );
                continue;
            };
            let csc_member = csc_resolve(schema, csc_member);
            let our_member = resolve(doc, our_member);
            let (Some(csc_type), Some(our_type)) = (type_of(csc_member), type_of(our_member))
            else {
                panic!("{definition}: {} has a type on both sides", member(name));
            };
            if !compatible(&our_type, &csc_type) {
                self.found
                    .push((definition.to_owned(), member(name), Kind::Type));
                continue;
            }
            match csc_type.as_str() {
                "object" => {
                    self.compare(definition, is_input, &member(name), our_member, csc_member)
                }
                "array" => {
                    let csc_items = csc_resolve(schema, &csc_member["items"]);
                    let our_items = resolve(doc, &our_member["items"]);
                    let (a, b) = (type_of(our_items), type_of(csc_items));
                    if !matches!((&a, &b), (Some(a), Some(b)) if compatible(a, b)) {
                        self.found.push((
                            definition.to_owned(),
                            format!("{}[]", member(name)),
                            Kind::Type,
                        ));
                    }
                }
                _ => {}
            }
        }
    }
}

/// The description of member `path` (`key.curve`) in our schema.
fn our_description<'a>(doc: &'a Value, mut schema: &'a Value, path: &str) -> &'a str {
    for part in path.split('.') {
        schema = resolve(doc, &resolve(doc, schema)["properties"][part]);
    }
    schema["description"].as_str().unwrap_or("")
}

#[test]
fn csc_methods_agree_with_the_csc_v1_json_schema() {
    let doc = document();
    let schema = csc_schema();
    let definitions = schema["definitions"].as_object().expect("definitions");
    let mut comparison = Comparison {
        doc: &doc,
        schema: &schema,
        found: Vec::new(),
    };
    let mut compared = BTreeSet::new();
    for (name, csc) in definitions {
        let (is_input, method) = match (name.strip_prefix("input-"), name.strip_prefix("output-")) {
            (Some(m), _) => (true, m),
            (_, Some(m)) => (false, m),
            _ => continue,
        };
        let Some((request, answer)) = our_schemas(&doc, method) else {
            // Not served (credentials/sendOTP): it must not be documented either.
            assert!(
                !documented(&doc).iter().any(|(p, _)| p
                    .to_ascii_lowercase()
                    .ends_with(&method.replacen('-', "/", 1).to_ascii_lowercase())),
                "{method} is not served and not documented"
            );
            continue;
        };
        let ours = if is_input { request } else { answer };
        comparison.compare(name, is_input, "", ours, csc);
        compared.insert(method.to_owned());
    }
    for method in [
        "info",
        "auth-login",
        "auth-revoke",
        "credentials-list",
        "credentials-info",
        "credentials-authorize",
        "credentials-extendTransaction",
        "signatures-signhash",
        "signatures-timestamp",
        "oauth2-token",
    ] {
        assert!(compared.contains(method), "{method} was compared");
    }
    let found = comparison.found;
    // Exactly the listed deviations, each said in the document.
    let listed: Vec<(String, String, Kind)> = DEVIATIONS
        .iter()
        .map(|d| (d.definition.to_owned(), d.member.to_owned(), d.what))
        .collect();
    for f in &found {
        assert!(
            listed.contains(f),
            "undocumented deviation from the CSC schema: {f:?}"
        );
    }
    for d in DEVIATIONS {
        assert!(
            found.contains(&(d.definition.to_owned(), d.member.to_owned(), d.what)),
            "listed deviation {}/{} no longer exists: remove it",
            d.definition,
            d.member
        );
        let method = d
            .definition
            .trim_start_matches("input-")
            .trim_start_matches("output-");
        let (request, answer) = our_schemas(&doc, method).expect("served");
        let ours = if d.definition.starts_with("input-") {
            request
        } else {
            answer
        };
        let text = format!(
            "{} {}",
            our_description(&doc, ours, d.member),
            resolve(&doc, ours)["description"].as_str().unwrap_or("")
        );
        assert!(
            text.contains(d.said),
            "{}/{}: the document says why ({:?}), in: {text}",
            d.definition,
            d.member,
            d.said
        );
    }
}
