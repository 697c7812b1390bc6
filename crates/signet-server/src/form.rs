//! `application/x-www-form-urlencoded` bodies and query strings (OAuth2 endpoints, page forms).
//!
//! RFC 6749 §3.1: a parameter sent without a value is treated as omitted, and request
//! parameters must not be repeated — a repeated one is an error, never silently merged.

use axum::body::Body;
use axum::http::HeaderMap;

use crate::body::{has_content_type, read_limited};
use crate::error::{ApiError, ApiResult};

/// Decoded parameters, each name at most once, empty values dropped.
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses a query string or form body. `Err` names the first repeated parameter.
    pub fn parse(text: &str) -> Result<Self, String> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(text).map_err(|_| "Malformed parameters".to_owned())?;
        let mut out: Vec<(String, String)> = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            if out.iter().any(|(n, _)| *n == k) {
                return Err(format!("Parameter {k} is repeated"));
            }
            if !v.is_empty() {
                out.push((k, v));
            }
        }
        Ok(Self(out))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Self(pairs)
    }
}

/// Reads a form body: at most `limit` bytes, content type `application/x-www-form-urlencoded`.
pub async fn read_form(headers: &HeaderMap, body: Body, limit: usize) -> ApiResult<Params> {
    let is_form = has_content_type(headers, "application/x-www-form-urlencoded");
    let bytes = read_limited(body, limit).await?;
    if !is_form {
        return Err(ApiError::invalid_request(
            "Content-Type must be application/x-www-form-urlencoded",
        ));
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| ApiError::invalid_request("The form is not UTF-8"))?;
    Params::parse(text).map_err(ApiError::invalid_request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_are_absent_and_repeats_refused() {
        let p = Params::parse("a=1&b=&c=x%20y+z").unwrap();
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), Some("x y z"));
        assert!(Params::parse("a=1&a=2").unwrap_err().contains('a'));
    }
}
