//! JSON and base64 as JOSE uses them.
//!
//! Member names must be unique in every object (RFC 7515 §4): a parser that silently keeps the
//! last duplicate lets two validators see two different headers, so duplicates are refused at
//! every depth before the value is read.

use std::collections::HashSet;

use data_encoding::{BASE64, BASE64_NOPAD, BASE64URL_NOPAD};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Parses `text` as JSON, refusing a duplicate member name in any object.
pub fn parse_strict(text: &str) -> Result<Value, String> {
    check_unique(text)?;
    serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))
}

/// Parses `text` as a JSON object, refusing duplicate member names.
pub fn parse_object(text: &str, what: &str) -> Result<Map<String, Value>, String> {
    match parse_strict(text).map_err(|e| format!("{what}: {e}"))? {
        Value::Object(map) => Ok(map),
        _ => Err(format!("{what} is not a JSON object")),
    }
}

/// Whether every object in `text` has distinct member names (`text` must be JSON).
pub fn check_unique(text: &str) -> Result<(), String> {
    serde_json::from_str::<Unique>(text)
        .map(|_| ())
        .map_err(|e| format!("invalid JSON: {e}"))
}

/// A JSON value that is only walked, to find duplicate member names.
struct Unique;

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueVisitor)
    }
}

struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Unique;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
        while seq.next_element::<Unique>()?.is_some() {}
        Ok(Unique)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
        let mut seen = HashSet::new();
        while let Some(name) = map.next_key::<String>()? {
            if !seen.insert(name.clone()) {
                return Err(de::Error::custom(format!("duplicate member {name:?}")));
            }
            map.next_value::<Unique>()?;
        }
        Ok(Unique)
    }
}

/// base64url without padding (RFC 7515 §2), strictly: what JWS parts, `x5t#S256` and digests
/// use.
pub fn b64url(text: &str) -> Result<Vec<u8>, String> {
    BASE64URL_NOPAD
        .decode(text.as_bytes())
        .map_err(|_| "not base64url".to_string())
}

/// Standard base64 (RFC 4648 §4), padded or not: what `x5c` (RFC 7515 §4.1.6) and the
/// `val` of JAdES `pkiOb` and `tstToken` objects use.
pub fn b64_std(text: &str) -> Result<Vec<u8>, String> {
    BASE64
        .decode(text.as_bytes())
        .or_else(|_| BASE64_NOPAD.decode(text.as_bytes()))
        .map_err(|_| "not base64".to_string())
}

/// base64url without padding.
pub fn to_b64url(bytes: &[u8]) -> String {
    BASE64URL_NOPAD.encode(bytes)
}

/// A JSON array with at most `max` elements.
pub fn array<'v>(value: &'v Value, what: &str, max: usize) -> Result<&'v [Value], String> {
    let items = value
        .as_array()
        .ok_or_else(|| format!("{what} is not a JSON array"))?;
    if items.len() > max {
        return Err(format!(
            "{what} has {} elements, more than the {max} accepted",
            items.len()
        ));
    }
    Ok(items)
}

/// A JSON array of strings with at most `max` elements.
pub fn strings<'v>(value: &'v Value, what: &str, max: usize) -> Result<Vec<&'v str>, String> {
    array(value, what, max)?
        .iter()
        .map(|v| {
            v.as_str()
                .ok_or_else(|| format!("{what} has an element that is not a string"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_refused_at_any_depth() {
        assert!(parse_strict(r#"{"a":1,"b":{"c":[{"d":1,"e":2}]}}"#).is_ok());
        for dup in [
            r#"{"a":1,"a":2}"#,
            r#"{"x":{"a":1,"a":1}}"#,
            r#"[{"k":true},{"k":1,"k":null}]"#,
            r#"{"a":1,"\u0061":2}"#,
        ] {
            let err = parse_strict(dup).unwrap_err();
            assert!(err.contains("duplicate member"), "{dup}: {err}");
        }
        assert_eq!(
            parse_object("[1]", "the header"),
            Err("the header is not a JSON object".into())
        );
        let deep = format!("{}{}", "[".repeat(500), "]".repeat(500));
        assert!(parse_strict(&deep).is_err());
    }

    #[test]
    fn base64_flavours() {
        assert_eq!(b64url("-_-_AQ"), Ok(vec![0xfb, 0xff, 0xbf, 0x01]));
        assert!(b64url("AQ==").is_err());
        assert!(b64url("+/+/").is_err());
        // Non-zero trailing bits are not a canonical encoding.
        assert!(b64url("AR").is_err());
        assert_eq!(b64_std("+/+/AQ=="), Ok(vec![0xfb, 0xff, 0xbf, 0x01]));
        assert_eq!(b64_std("+/+/AQ"), Ok(vec![0xfb, 0xff, 0xbf, 0x01]));
        assert!(b64_std("-_").is_err());
        assert_eq!(
            strings(&serde_json::json!(["a", "b"]), "pars", 2),
            Ok(vec!["a", "b"])
        );
        assert!(strings(&serde_json::json!(["a", 1]), "pars", 2).is_err());
        assert!(strings(&serde_json::json!(["a", "b", "c"]), "pars", 2).is_err());
    }
}
