//! Base64 as CSC clients actually send it.
//!
//! JSON bodies use standard Base64 with padding, but `oauth2/authorize` uses base64url and real
//! clients mix the two (csc-api.md §2, §10), so decoding accepts either alphabet, with or without
//! padding, and callers compare the decoded bytes. Encoding always emits standard padded Base64.

use data_encoding::{BASE64, BASE64_NOPAD, BASE64URL, BASE64URL_NOPAD};

/// Standard, padded Base64 — what every CSC response carries.
pub fn encode(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

/// Decodes standard or URL-safe Base64, padded or not. Whitespace is not tolerated.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let url = text.contains(['-', '_']);
    let padded = text.ends_with('=');
    let engine = match (url, padded) {
        (false, true) => &BASE64,
        (false, false) => &BASE64_NOPAD,
        (true, true) => &BASE64URL,
        (true, false) => &BASE64URL_NOPAD,
    };
    engine.decode(text.as_bytes()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_both_alphabets_and_padding() {
        let bytes = [0xfbu8, 0xff, 0xbf, 0x01];
        assert_eq!(encode(&bytes), "+/+/AQ==");
        assert_eq!(decode("+/+/AQ==").as_deref(), Some(&bytes[..]));
        assert_eq!(decode("+/+/AQ").as_deref(), Some(&bytes[..]));
        assert_eq!(decode("-_-_AQ==").as_deref(), Some(&bytes[..]));
        assert_eq!(decode("-_-_AQ").as_deref(), Some(&bytes[..]));
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(decode("not base64!"), None);
        assert_eq!(decode("+/+/A"), None);
        assert_eq!(decode("ab c"), None);
    }
}
