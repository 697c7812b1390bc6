//! Signet's embedded CA: a self-signed CA certificate and the signer certificates it issues,
//! its revocation services (CRL, OCSP) and the built-in RFC 3161 time-stamping authority.
//!
//! The CA's private key lives in the key module like every other key: this crate only builds
//! `TBSCertificate`s (RFC 5280 §4.1), hashes their DER and asks
//! [`signet_keys::KeyModule::sign_digests`] for the signature. Certificates are built field by
//! field with `x509-cert` / `der` types, so the output is canonical DER (X.690 §10–11), which
//! strict validators and signature-validation services (ETSI EN 319 102-1) insist on.
//!
//! Validation data (ETSI EN 319 102-1 §5.2.5, needed for AdES B-LT): [`EmbeddedCa::crl`] signs
//! an RFC 5280 §5 CRL, [`EmbeddedCa::ocsp_response`] answers RFC 6960 OCSP requests, both with
//! the CA key itself. [`TimeStampAuthority`] issues RFC 3161 / RFC 5816 time-stamp tokens with
//! its own key and a certificate from the embedded CA. Every SET OF is sorted as X.690 §11.6
//! requires (strict parsers such as rfc3161-client and pyHanko reject anything else).
//!
//! [`summarize`] turns a certificate into what CSC `credentials/info` reports as `cert`
//! (`subjectDN`, `issuerDN`, `serialNumber`, `validFrom`, `validTo`).

#![forbid(unsafe_code)]

mod ca;
mod name;
pub mod revocation;
mod sign;
mod summary;
pub mod tsa;
mod validity;

pub use ca::{EmbeddedCa, SubjectName, ValidationUrls};
pub use revocation::{RevocationList, RevocationStatus, RevokedCertificate, certificate_serial};
pub use sign::{certificate_public_key, verify_issued_by, verify_message};
pub use summary::{CertSummary, summarize};
pub use tsa::{TimeStampAuthority, TimeStampRequestInfo};

/// Why a certificate could not be built or read. Messages carry no key material.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// The key module refused to generate or sign.
    #[error(transparent)]
    KeyModule(#[from] signet_keys::KeyError),
    /// DER could not be produced or parsed (a malformed certificate or public key, or a value
    /// out of range for its ASN.1 type).
    #[error("DER encoding: {0}")]
    Encoding(String),
    /// A subject attribute is empty, too long (RFC 5280 Appendix A upper bounds), contains
    /// control characters, or is not a valid country code.
    #[error("invalid name: {0}")]
    InvalidName(String),
    /// The subject public key is not a DER SubjectPublicKeyInfo.
    #[error("invalid public key: {0}")]
    InvalidPublicKey(String),
    /// The requested validity cannot be expressed (zero days, beyond year 9999, clock before
    /// 1970) or the CA certificate has expired.
    #[error("validity: {0}")]
    Validity(String),
    /// The key module returned a signature that does not verify with the CA's public key.
    /// Checked before a certificate is released, so a faulty module never yields a broken chain.
    #[error("signature self-check failed: {0}")]
    Signature(String),
    /// The system random generator failed (serial numbers).
    #[error("random generator failure")]
    Random,
    /// A caller-supplied value is unusable: a digest of the wrong length, a nonce out of
    /// range, a URL that is not absolute http(s), a CRL reason RFC 5280 §5.3.1 does not define.
    /// The message is safe to show to a client.
    #[error("{0}")]
    InvalidInput(String),
}

impl From<der::Error> for PkiError {
    fn from(e: der::Error) -> Self {
        Self::Encoding(e.to_string())
    }
}

/// PEM-encodes one DER certificate (RFC 7468 §5: label `CERTIFICATE`, Base64 in 64-character
/// lines, LF line endings, trailing newline).
pub fn pem_certificate(der: &[u8]) -> String {
    let b64 = signet_core::b64::encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 64);
    out.push_str("-----BEGIN CERTIFICATE-----\n");
    // Standard Base64 is pure ASCII, so byte chunks are char boundaries.
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod pem_tests {
    use super::*;

    #[test]
    fn pem_lines_are_64_chars() {
        let pem = pem_certificate(&[0x30; 100]);
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines[0], "-----BEGIN CERTIFICATE-----");
        assert_eq!(lines[1].len(), 64);
        assert!(lines[2].len() <= 64);
        assert_eq!(lines.last().copied(), Some("-----END CERTIFICATE-----"));
        assert!(pem.ends_with('\n'));
        let b64: String = lines[1..lines.len() - 1].concat();
        assert_eq!(signet_core::b64::decode(&b64), Some(vec![0x30; 100]));
    }

    #[test]
    fn pem_of_empty_input_has_no_blank_line() {
        assert_eq!(
            pem_certificate(&[]),
            "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"
        );
    }
}
