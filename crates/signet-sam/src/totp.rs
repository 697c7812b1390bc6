//! RFC 6238 TOTP (HMAC-SHA-1, 6 digits, 30-second steps) — what authenticator apps implement.
//!
//! Built on aws-lc-rs HMAC rather than a separate crate so that Signet has one crypto backend.
//! Replay protection (each code accepted once per user) lives in the store: see
//! `Store::accept_totp_step`.

use aws_lc_rs::hmac;
use subtle::ConstantTimeEq;

pub const DIGITS: u32 = 6;
pub const STEP_SECONDS: i64 = 30;
/// Secret length in bytes (RFC 4226 recommends 160 bits).
pub const SECRET_LEN: usize = 20;

/// The time step containing `unix_seconds`.
pub fn step_at(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// The code for time step `step`.
pub fn code(secret: &[u8], step: i64) -> u32 {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = hmac::sign(&key, &step.to_be_bytes());
    let mac = mac.as_ref();
    // RFC 4226 §5.3 dynamic truncation.
    let offset = (mac[mac.len() - 1] & 0x0f) as usize;
    let bin = u32::from_be_bytes([
        mac[offset] & 0x7f,
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]);
    bin % 10u32.pow(DIGITS)
}

/// The code as an authenticator app shows it (zero-padded).
pub fn code_string(secret: &[u8], step: i64) -> String {
    format!("{:0width$}", code(secret, step), width = DIGITS as usize)
}

/// Finds the time step within `skew` steps of `now` whose code equals `presented`.
/// Every candidate is compared in constant time.
pub fn matching_step(secret: &[u8], presented: &str, now: i64, skew: i64) -> Option<i64> {
    if presented.len() != DIGITS as usize || !presented.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = step_at(now);
    let mut found = None;
    for step in current - skew..=current + skew {
        let expected = code_string(secret, step);
        if bool::from(expected.as_bytes().ct_eq(presented.as_bytes())) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// Base32 (RFC 4648, no padding) as authenticator apps expect it.
pub fn secret_base32(secret: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(secret)
}

/// Parses a Base32 secret, tolerant of lowercase, spaces and padding.
pub fn parse_base32(text: &str) -> Option<Vec<u8>> {
    let cleaned: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '=')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let bytes = data_encoding::BASE32_NOPAD
        .decode(cleaned.as_bytes())
        .ok()?;
    (bytes.len() >= 10).then_some(bytes)
}

/// `otpauth://totp/...` URI for QR codes (Key Uri Format).
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        enc(issuer),
        enc(account),
        secret_base32(secret),
        enc(issuer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 vectors (8 digits there; the last 6 digits are ours).
    #[test]
    fn rfc6238_vectors() {
        let secret = b"12345678901234567890";
        for (t, eight) in [
            (59i64, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
            (20000000000, "65353130"),
        ] {
            assert_eq!(code_string(secret, step_at(t)), eight[2..], "t={t}");
        }
    }

    #[test]
    fn matching_step_accepts_skew_only() {
        let secret = b"12345678901234567890";
        let now = 1_700_000_000;
        let c = code_string(secret, step_at(now) - 1);
        assert_eq!(matching_step(secret, &c, now, 1), Some(step_at(now) - 1));
        assert_eq!(matching_step(secret, &c, now + 90, 1), None);
        assert_eq!(matching_step(secret, "12345", now, 1), None);
        assert_eq!(matching_step(secret, "abcdef", now, 1), None);
    }

    #[test]
    fn base32_round_trip_and_uri() {
        let secret = b"12345678901234567890";
        let b32 = secret_base32(secret);
        assert_eq!(b32, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            parse_base32(&b32.to_lowercase()).as_deref(),
            Some(&secret[..])
        );
        assert_eq!(parse_base32("short"), None);
        let uri = otpauth_uri("Signet", "alice smith", secret);
        assert_eq!(
            uri,
            "otpauth://totp/Signet:alice%20smith?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Signet&algorithm=SHA1&digits=6&period=30"
        );
    }
}
