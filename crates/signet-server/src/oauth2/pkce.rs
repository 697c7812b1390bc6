//! PKCE (RFC 7636) with the S256 method only.

use subtle::ConstantTimeEq;

/// `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`, 43 to 128 characters (RFC 7636 §4.1).
fn well_formed(text: &str) -> bool {
    (43..=128).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// An S256 challenge is base64url(SHA-256) without padding: 43 characters.
pub fn valid_challenge(challenge: &str) -> bool {
    challenge.len() == 43 && well_formed(challenge)
}

/// `BASE64URL(SHA256(verifier)) == challenge`, compared in constant time.
pub fn verify(verifier: &str, challenge: &str) -> bool {
    if !well_formed(verifier) {
        return false;
    }
    let computed =
        data_encoding::BASE64URL_NOPAD.encode(&signet_sam::secrets::secret_hash(verifier));
    computed.len() == challenge.len() && bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(valid_challenge(challenge));
        assert!(verify(verifier, challenge));
        assert!(!verify(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX",
            challenge
        ));
        assert!(!verify("short", challenge));
    }
}
