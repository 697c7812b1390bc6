//! Reading CSC request bodies: content type, size limit, JSON object, typed fields.
//!
//! CSC clients send explicit `null` for absent optional members and add members we do not know
//! (csc-api.md §2), so fields are read from a JSON object by name: `null` is absent, unknown
//! members are ignored, and a wrong type is a 400 naming the parameter.

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

/// A parsed JSON request object.
#[derive(Debug, Default)]
pub struct Fields(Map<String, Value>);

/// Whether the request's Content-Type is `mime` (parameters such as `charset` ignored).
pub fn has_content_type(headers: &HeaderMap, mime: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(mime))
}

/// Reads at most `limit` bytes of body; more is 413. A declared Content-Length over the limit
/// is refused before anything is read, so a client that sent `Expect: 100-continue` gets the
/// 413 instead of `100 Continue`.
pub async fn read_limited(body: Body, limit: usize) -> ApiResult<axum::body::Bytes> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            format!("Request body larger than {limit} bytes"),
        )
    };
    if declared_over(&body, limit) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())
}

/// Whether the body's declared length (Content-Length) is over `limit`.
pub fn declared_over(body: &Body, limit: usize) -> bool {
    use axum::body::HttpBody;
    body.size_hint().lower() > limit as u64
}

/// Reads the request body: at most `limit` bytes, `application/json`, a JSON object.
/// An empty body counts as `{}` (clients POST `info` without one).
pub async fn read_json(headers: &HeaderMap, body: Body, limit: usize) -> ApiResult<Fields> {
    let bytes = read_limited(body, limit).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Fields::default());
    }
    let json_type = has_content_type(headers, "application/json");
    if !json_type {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request",
            "Content-Type must be application/json",
        ));
    }
    parse_json(&bytes)
}

/// Parses a request body as the JSON object every CSC method takes (blank: `{}`): the part of
/// [`read_json`] that looks at the bytes, also run by the fuzz targets.
pub fn parse_json(bytes: &[u8]) -> ApiResult<Fields> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Fields::default());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(Fields(map)),
        Ok(_) => Err(ApiError::invalid_request(
            "The request body must be a JSON object",
        )),
        Err(e) => Err(ApiError::invalid_request(format!(
            "Malformed JSON body: {e}"
        ))),
    }
}

impl Fields {
    pub fn from_map(map: Map<String, Value>) -> Self {
        Self(map)
    }

    /// The first of `names` present and not null.
    fn get_any<'s, 'n>(&'s self, names: &[&'n str]) -> Option<(&'n str, &'s Value)> {
        names
            .iter()
            .find_map(|n| self.0.get(*n).filter(|v| !v.is_null()).map(|v| (*n, v)))
    }

    pub fn opt_str(&self, name: &str) -> ApiResult<Option<&str>> {
        self.opt_str_any(&[name])
    }

    pub fn opt_str_any(&self, names: &[&str]) -> ApiResult<Option<&str>> {
        match self.get_any(names) {
            None => Ok(None),
            Some((_, Value::String(s))) => Ok(Some(s)),
            Some((n, _)) => Err(ApiError::missing_or_invalid("string", n)),
        }
    }

    pub fn req_str(&self, name: &str) -> ApiResult<&str> {
        match self.opt_str(name)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(ApiError::missing_or_invalid("string", name)),
        }
    }

    pub fn opt_bool(&self, name: &str) -> ApiResult<Option<bool>> {
        match self.get_any(&[name]) {
            None => Ok(None),
            Some((_, Value::Bool(b))) => Ok(Some(*b)),
            Some((n, _)) => Err(ApiError::missing_or_invalid("boolean", n)),
        }
    }

    /// A positive integer; numeric strings are accepted too (some clients quote numbers).
    pub fn opt_u32(&self, name: &str) -> ApiResult<Option<u32>> {
        match self.get_any(&[name]) {
            None => Ok(None),
            Some((n, v)) => {
                let parsed = match v {
                    Value::Number(num) => num.as_u64(),
                    Value::String(s) => s.parse::<u64>().ok(),
                    _ => None,
                };
                parsed
                    .and_then(|x| u32::try_from(x).ok())
                    .map(Some)
                    .ok_or_else(|| ApiError::missing_or_invalid("integer", n))
            }
        }
    }

    /// An array of Base64 strings under the first present name (v2 `hashes` or v1 `hash`),
    /// decoded; at most `max` entries.
    pub fn opt_b64_array(&self, names: &[&str], max: usize) -> ApiResult<Option<Vec<Vec<u8>>>> {
        let Some((n, v)) = self.get_any(names) else {
            return Ok(None);
        };
        let Value::Array(items) = v else {
            return Err(ApiError::missing_or_invalid("array", n));
        };
        if items.len() > max {
            return Err(ApiError::invalid_request(format!(
                "Too many entries in {n}: {} given, at most {max} allowed",
                items.len()
            )));
        }
        items
            .iter()
            .map(|item| {
                item.as_str()
                    .and_then(signet_core::b64::decode)
                    .ok_or_else(|| {
                        ApiError::invalid_request(format!("Invalid Base64 {n} string parameter"))
                    })
            })
            .collect::<ApiResult<Vec<_>>>()
            .map(Some)
    }

    pub fn opt_array(&self, name: &str) -> ApiResult<Option<&Vec<Value>>> {
        match self.get_any(&[name]) {
            None => Ok(None),
            Some((_, Value::Array(a))) => Ok(Some(a)),
            Some((n, _)) => Err(ApiError::missing_or_invalid("array", n)),
        }
    }
}
