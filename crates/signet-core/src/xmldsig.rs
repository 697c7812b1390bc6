//! XML-DSig algorithm URIs (RFC 6931, RFC 9231): one table for the XAdES writer and the DSS-X
//! reader, so what Signet writes and what it accepts cannot drift apart.

use crate::{HashAlgorithm, PssSalt, SignMechanism};

const fn pss(hash: HashAlgorithm) -> SignMechanism {
    SignMechanism::RsaPss {
        hash,
        salt: PssSalt::DigestLength,
    }
}

/// SignatureMethod URIs (RFC 6931 §2.2, §2.3). The RSA-PSS URIs carry no parameters: MGF1 with
/// the same hash and a salt of the digest length (RFC 6931 §2.3.10's default).
const SIGNATURES: [(SignMechanism, &str); 9] = [
    (
        SignMechanism::RsaPkcs1 {
            hash: HashAlgorithm::Sha256,
        },
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    ),
    (
        SignMechanism::RsaPkcs1 {
            hash: HashAlgorithm::Sha384,
        },
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    ),
    (
        SignMechanism::RsaPkcs1 {
            hash: HashAlgorithm::Sha512,
        },
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    ),
    (
        SignMechanism::Ecdsa {
            hash: HashAlgorithm::Sha256,
        },
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    ),
    (
        SignMechanism::Ecdsa {
            hash: HashAlgorithm::Sha384,
        },
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
    ),
    (
        SignMechanism::Ecdsa {
            hash: HashAlgorithm::Sha512,
        },
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
    ),
    (
        pss(HashAlgorithm::Sha256),
        "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1",
    ),
    (
        pss(HashAlgorithm::Sha384),
        "http://www.w3.org/2007/05/xmldsig-more#sha384-rsa-MGF1",
    ),
    (
        pss(HashAlgorithm::Sha512),
        "http://www.w3.org/2007/05/xmldsig-more#sha512-rsa-MGF1",
    ),
];

/// The DigestMethod URI (RFC 6931 §2.1).
pub fn digest_uri(hash: HashAlgorithm) -> &'static str {
    match hash {
        HashAlgorithm::Sha256 => "http://www.w3.org/2001/04/xmlenc#sha256",
        HashAlgorithm::Sha384 => "http://www.w3.org/2001/04/xmldsig-more#sha384",
        HashAlgorithm::Sha512 => "http://www.w3.org/2001/04/xmlenc#sha512",
    }
}

pub fn digest_from_uri(uri: &str) -> Option<HashAlgorithm> {
    HashAlgorithm::ALL
        .into_iter()
        .find(|h| digest_uri(*h) == uri)
}

/// `None` for what XML-DSig cannot name: RSA-PSS with a maximum-length salt.
pub fn signature_uri(mechanism: SignMechanism) -> Option<&'static str> {
    SIGNATURES
        .iter()
        .find(|(m, _)| *m == mechanism)
        .map(|(_, uri)| *uri)
}

pub fn signature_from_uri(uri: &str) -> Option<SignMechanism> {
    SIGNATURES.iter().find(|(_, u)| *u == uri).map(|(m, _)| *m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_uri_reads_back() {
        for hash in HashAlgorithm::ALL {
            assert_eq!(digest_from_uri(digest_uri(hash)), Some(hash));
        }
        for (m, uri) in SIGNATURES {
            assert_eq!(signature_uri(m), Some(uri));
            assert_eq!(signature_from_uri(uri), Some(m));
        }
        let max_salt = SignMechanism::RsaPss {
            hash: HashAlgorithm::Sha256,
            salt: PssSalt::Maximum,
        };
        assert_eq!(signature_uri(max_salt), None);
        assert_eq!(
            digest_from_uri("http://www.w3.org/2000/09/xmldsig#sha1"),
            None
        );
    }
}
