//! URI tables: XML-DSig digest and signature algorithms, `SignatureType` and the TS 119 432
//! creation-profile URIs, mapped onto signet-core and signet-ades types.

use signet_ades::{Format, Level};
use signet_core::{HashAlgorithm, SignMechanism, oid, xmldsig};

/// A `DigestMethod`: XML-DSig / XML-Enc URIs, or a dotted OID. `None` for anything else
/// (SHA-1, MD5, unknown): the caller answers Inappropriate:HashAlgorithm.
pub fn digest_method(text: &str) -> Option<HashAlgorithm> {
    let text = text.trim();
    xmldsig::digest_from_uri(text)
        .or_else(|| HashAlgorithm::from_oid(text.strip_prefix("urn:oid:").unwrap_or(text)).ok())
}

/// A `SignatureAlgorithm` resolved to CSC terms: the signature OID, the hash it implies (if
/// any), and whether it is RSASSA-PSS (MGF1 with the same hash, salt = digest length).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignatureAlgorithm {
    pub oid: &'static str,
    pub hash: Option<HashAlgorithm>,
    pub pss: bool,
}

const fn sig(oid: &'static str, hash: Option<HashAlgorithm>, pss: bool) -> SignatureAlgorithm {
    SignatureAlgorithm { oid, hash, pss }
}

/// XML-DSig signature URIs (RFC 9231) and the dotted OIDs CSC uses.
pub fn signature_algorithm(text: &str) -> Option<SignatureAlgorithm> {
    use HashAlgorithm::*;
    let text = text.trim();
    let text = text.strip_prefix("urn:oid:").unwrap_or(text);
    if let Some(m) = xmldsig::signature_from_uri(text) {
        let pss = matches!(m, SignMechanism::RsaPss { .. });
        return Some(sig(m.signature_oid(), Some(m.hash()), pss));
    }
    Some(match text {
        oid::SHA256_WITH_RSA => sig(oid::SHA256_WITH_RSA, Some(Sha256), false),
        oid::SHA384_WITH_RSA => sig(oid::SHA384_WITH_RSA, Some(Sha384), false),
        oid::SHA512_WITH_RSA => sig(oid::SHA512_WITH_RSA, Some(Sha512), false),
        oid::ECDSA_WITH_SHA256 => sig(oid::ECDSA_WITH_SHA256, Some(Sha256), false),
        oid::ECDSA_WITH_SHA384 => sig(oid::ECDSA_WITH_SHA384, Some(Sha384), false),
        oid::ECDSA_WITH_SHA512 => sig(oid::ECDSA_WITH_SHA512, Some(Sha512), false),
        // Key OIDs some clients send: the hash comes from the digest.
        oid::RSA_ENCRYPTION => sig(oid::RSA_ENCRYPTION, None, false),
        oid::EC_PUBLIC_KEY => sig(oid::EC_PUBLIC_KEY, None, false),
        oid::RSASSA_PSS => sig(oid::RSASSA_PSS, None, true),
        _ => return None,
    })
}

/// `SignatureType` URIs and the format they select. DSS-X 2.0 §7.1 defines the generic ones
/// (XMLDSig, CMS); the ETSI ones name the AdES standards.
pub const SIGNATURE_TYPES: &[(&str, Format)] = &[
    ("urn:ietf:rfc:3369", Format::Cades),
    ("urn:ietf:rfc:5652", Format::Cades),
    ("http://uri.etsi.org/TS101733", Format::Cades),
    ("http://uri.etsi.org/19122", Format::Cades),
    ("urn:ietf:rfc:3275", Format::Xades),
    ("http://uri.etsi.org/01903", Format::Xades),
    ("http://uri.etsi.org/19132", Format::Xades),
    ("http://uri.etsi.org/ETSI TS 102 778", Format::Pades),
    ("http://uri.etsi.org/TS102778", Format::Pades),
    ("http://uri.etsi.org/19142", Format::Pades),
    ("urn:iso:std:iso:32000", Format::Pades),
    ("http://uri.etsi.org/19182", Format::Jades),
    ("urn:ietf:rfc:7515", Format::Jades),
];

/// The format a `SignatureType` selects: an exact entry of [`SIGNATURE_TYPES`], or one of the
/// ETSI ones followed by a version path or fragment (`http://uri.etsi.org/01903/v1.3.2#`).
pub fn signature_type(uri: &str) -> Option<Format> {
    let uri = uri.trim();
    SIGNATURE_TYPES.iter().find_map(|(known, format)| {
        let rest = uri.strip_prefix(known)?;
        let exact_only = known.starts_with("urn:");
        let ok = rest.is_empty() || (!exact_only && matches!(rest.as_bytes()[0], b'/' | b'#'));
        ok.then_some(*format)
    })
}

/// The TS 119 432 creation profile, in both spellings seen in the wild.
pub const CREATION_PROFILES: [&str; 2] = [
    "http://uri.etsi.org/19432/v1.1.1/creationprofile#",
    "http://uri.etsi.org/19432/v1.1.1#/creationprofile#",
];

/// What a creation-profile URI selects. The bare URI names the protocol only; Signet also
/// reads a suffix after the `#` naming format and level, `CAdES-B-T`, `XAdES-B-LTA`,
/// `PAdES-B-B`, `JAdES-B-LT` (case-insensitive, `AdES` alone for the level only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    pub format: Option<Format>,
    pub level: Option<Level>,
}

/// `None` when `uri` is not a creation-profile URI; `Some(Err)` when the suffix is not one
/// Signet understands.
pub fn creation_profile(uri: &str) -> Option<Result<Profile, String>> {
    let uri = uri.trim();
    let suffix = CREATION_PROFILES
        .iter()
        .find_map(|base| uri.strip_prefix(base))?;
    if suffix.is_empty() {
        return Some(Ok(Profile {
            format: None,
            level: None,
        }));
    }
    let lower = suffix.to_ascii_lowercase();
    let (format, rest) = match lower.split_once('-') {
        Some((head, rest)) => {
            let format = match head {
                "cades" => Some(Format::Cades),
                "xades" => Some(Format::Xades),
                "pades" => Some(Format::Pades),
                "jades" => Some(Format::Jades),
                "ades" => None,
                _ => return Some(Err(format!("unknown format in creation profile {uri}"))),
            };
            (format, rest)
        }
        None => return Some(Err(format!("unknown creation profile {uri}"))),
    };
    match Level::parse(rest) {
        Ok(level) => Some(Ok(Profile {
            format,
            level: Some(level),
        })),
        Err(_) => Some(Err(format!("unknown level in creation profile {uri}"))),
    }
}

/// The creation profile in the first spelling: the second (`...v1.1.1#/creationprofile#`)
/// has two `#` and is not an `xs:anyURI`, so a response cannot echo it in `AppliedProfile`.
pub fn canonical_profile(uri: &str) -> String {
    let uri = uri.trim();
    match uri.strip_prefix(CREATION_PROFILES[1]) {
        Some(suffix) => format!("{}{suffix}", CREATION_PROFILES[0]),
        None => uri.to_owned(),
    }
}

/// `AddTimestamp` URIs Signet honours: an RFC 3161 signature time-stamp (B-T).
pub fn timestamp_type(uri: &str) -> bool {
    matches!(uri.trim(), "urn:ietf:rfc:3161" | "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests() {
        assert_eq!(
            digest_method("http://www.w3.org/2001/04/xmlenc#sha256"),
            Some(HashAlgorithm::Sha256)
        );
        assert_eq!(
            digest_method("2.16.840.1.101.3.4.2.3"),
            Some(HashAlgorithm::Sha512)
        );
        assert_eq!(
            digest_method("http://www.w3.org/2000/09/xmldsig#sha1"),
            None
        );
    }

    #[test]
    fn signatures() {
        let s = signature_algorithm("http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384");
        assert_eq!(s.map(|s| s.oid), Some(oid::ECDSA_WITH_SHA384));
        let p = signature_algorithm("http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1");
        assert_eq!(
            p,
            Some(sig(oid::RSASSA_PSS, Some(HashAlgorithm::Sha256), true))
        );
        assert_eq!(
            signature_algorithm("urn:oid:1.2.840.113549.1.1.11").map(|s| s.hash),
            Some(Some(HashAlgorithm::Sha256))
        );
        assert_eq!(
            signature_algorithm("http://www.w3.org/2000/09/xmldsig#rsa-sha1"),
            None
        );
    }

    #[test]
    fn types_and_profiles() {
        assert_eq!(signature_type("urn:ietf:rfc:3369"), Some(Format::Cades));
        assert_eq!(
            signature_type("http://uri.etsi.org/01903/v1.3.2#"),
            Some(Format::Xades)
        );
        assert_eq!(
            signature_type("http://uri.etsi.org/19182/"),
            Some(Format::Jades)
        );
        assert_eq!(signature_type("urn:ietf:rfc:33690"), None);
        assert_eq!(signature_type("http://uri.etsi.org/191820"), None);
        for base in CREATION_PROFILES {
            assert_eq!(
                creation_profile(base),
                Some(Ok(Profile {
                    format: None,
                    level: None
                }))
            );
            assert_eq!(
                creation_profile(&format!("{base}PAdES-B-LT")),
                Some(Ok(Profile {
                    format: Some(Format::Pades),
                    level: Some(Level::BLt)
                }))
            );
            assert!(matches!(
                creation_profile(&format!("{base}XYZ-B-B")),
                Some(Err(_))
            ));
        }
        assert_eq!(
            creation_profile("http://uri.etsi.org/19432/v1.1.1/other"),
            None
        );
    }
}
