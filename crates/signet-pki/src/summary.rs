//! What CSC `credentials/info` reports about a certificate (`certInfo`, csc-api.md §4.5).

use der::Decode;
use x509_cert::Certificate;

use crate::PkiError;
use crate::validity::{generalized_text, to_unix};

/// The certificate fields CSC `credentials/info` returns when `certInfo` is true.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSummary {
    /// RFC 4514 string, most specific RDN first, e.g. `CN=alice,O=Signet Demo`.
    pub subject_dn: String,
    /// RFC 4514 string of the issuer.
    pub issuer_dn: String,
    /// Uppercase hex of the serial number's magnitude, without the DER sign byte.
    pub serial_hex: String,
    /// notBefore as GeneralizedTime text `YYYYMMDDHHMMSSZ`.
    pub valid_from: String,
    /// notAfter as GeneralizedTime text `YYYYMMDDHHMMSSZ`.
    pub valid_to: String,
    /// notBefore in Unix seconds.
    pub not_before: i64,
    /// notAfter in Unix seconds.
    pub not_after: i64,
}

/// Reads the CSC `certInfo` fields from a DER certificate.
///
/// DNs use x509-cert's RFC 4514 rendering (RFC 4514 §2.1: RDNs in reverse DER order; §2.4
/// escaping), so a CN of `doe, john` reads `CN=doe\, john`. The serial is rendered from its
/// content octets with leading `00` sign bytes dropped (RFC 5280 §4.1.2.2 serials are
/// positive); validity times are shown as GeneralizedTime even when encoded as UTCTime.
pub fn summarize(certificate_der: &[u8]) -> Result<CertSummary, PkiError> {
    let cert = Certificate::from_der(certificate_der)?;
    let tbs = &cert.tbs_certificate;
    let validity = &tbs.validity;
    Ok(CertSummary {
        subject_dn: tbs.subject.to_string(),
        issuer_dn: tbs.issuer.to_string(),
        serial_hex: serial_hex(tbs.serial_number.as_bytes()),
        valid_from: generalized_text(&validity.not_before),
        valid_to: generalized_text(&validity.not_after),
        not_before: unix_i64(to_unix(&validity.not_before))?,
        not_after: unix_i64(to_unix(&validity.not_after))?,
    })
}

fn unix_i64(secs: u64) -> Result<i64, PkiError> {
    i64::try_from(secs).map_err(|_| PkiError::Validity(format!("time {secs} out of range")))
}

fn serial_hex(bytes: &[u8]) -> String {
    let start = bytes
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(bytes.len().saturating_sub(1));
    let magnitude = bytes.get(start..).unwrap_or_default();
    magnitude.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_hex_drops_sign_byte_only() {
        assert_eq!(serial_hex(&[0x00, 0x80, 0x01]), "8001");
        assert_eq!(serial_hex(&[0x7f, 0x00]), "7F00");
        assert_eq!(serial_hex(&[0x00]), "00");
        assert_eq!(serial_hex(&[]), "");
    }

    #[test]
    fn garbage_is_an_encoding_error() {
        assert!(matches!(
            summarize(b"not a certificate"),
            Err(PkiError::Encoding(_))
        ));
    }
}
