//! The DSS-X 2.0 schemas a test checks server answers against: the XML core schema (with
//! xmllint, offline) and the JSON syntax's member names and types (walked here: the interop
//! venv has no jsonschema).

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_json::Value;

use super::interop::workspace_root;

/// `oasis-dss-core-schema.json`, the repository's copy.
pub fn json_schema() -> Value {
    let path = workspace_root().join("tests/spec/dss-x/oasis-dss-core-schema.json");
    serde_json::from_slice(&std::fs::read(path).expect("JSON schema")).expect("JSON")
}

/// xmllint --nonet against the repository's copy of the DSS-X 2.0 core XSD (the message on
/// stdin). Without xmllint: a note, or a failure under SIGNET_REQUIRE_INTEROP.
pub fn assert_xml_schema_valid(xml: &[u8]) {
    let schema = workspace_root().join("tests/spec/dss-x/oasis-dss-core-schema-v2.0.xsd");
    let spawned = Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(&schema)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = spawned else {
        assert!(
            std::env::var_os("SIGNET_REQUIRE_INTEROP").is_none(),
            "xmllint is required (SIGNET_REQUIRE_INTEROP)"
        );
        eprintln!("SKIPPED: xmllint not found, the DSS-X schema check did not run");
        return;
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(xml)
        .expect("write to xmllint");
    let out = child.wait_with_output().expect("xmllint");
    assert!(
        out.status.success(),
        "xmllint rejects the message: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&xml[..xml.len().min(4000)])
    );
}

/// Walks `value` against definition `def` of the DSS-X JSON schema: every member must be
/// declared, of the declared type (strings, booleans, integers, arrays, objects by `$ref`),
/// required members present, enumerations respected.
pub fn conforms(schema: &Value, def: &Value, value: &Value, at: &str) {
    let def = match def.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.trim_start_matches("#/definitions/");
            &schema["definitions"][name]
        }
        None => def,
    };
    match def["type"].as_str() {
        Some("object") => {
            let obj = value
                .as_object()
                .unwrap_or_else(|| panic!("{at}: not an object"));
            for (k, v) in obj {
                let d = def["properties"]
                    .get(k)
                    .unwrap_or_else(|| panic!("{at}: member {k} is not in the DSS-X JSON schema"));
                conforms(schema, d, v, &format!("{at}.{k}"));
            }
            if let Some(req) = def["required"].as_array() {
                for r in req {
                    let r = r.as_str().expect("name");
                    assert!(obj.contains_key(r), "{at}: required member {r} missing");
                }
            }
        }
        Some("array") => {
            for (i, v) in value
                .as_array()
                .unwrap_or_else(|| panic!("{at}: not an array"))
                .iter()
                .enumerate()
            {
                conforms(schema, &def["items"], v, &format!("{at}[{i}]"));
            }
        }
        Some("string") => {
            let s = value
                .as_str()
                .unwrap_or_else(|| panic!("{at}: not a string"));
            if let Some(e) = def["enum"].as_array() {
                assert!(e.iter().any(|x| x == s), "{at}: {s} not in the enumeration");
            }
        }
        Some("boolean") => assert!(value.is_boolean(), "{at}: not a boolean"),
        Some("integer") => assert!(value.is_i64(), "{at}: not an integer"),
        other => panic!("{at}: unexpected schema type {other:?}"),
    }
}
