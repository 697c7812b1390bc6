//! RFC 3161 time-stamp tokens: read, check the TSA's CMS signature, compare the imprint.
//! (Skeleton: the signatures below are the contract; filled in by its owner.)

use signet_core::HashAlgorithm;
use time::OffsetDateTime;

use crate::{Check, TimestampEvidence, TimestampKind};

/// A time-stamp token, read and its CMS signature checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub gen_time: OffsetDateTime,
    /// The messageImprint's hash algorithm and digest.
    pub hash: HashAlgorithm,
    pub imprint: Vec<u8>,
    /// The certificate that signed the token, DER.
    pub tsa_certificate: Option<Vec<u8>>,
    /// All certificates in the token, DER.
    pub certificates: Vec<Vec<u8>>,
    /// The token's CMS signature (message digest of the TSTInfo, signature value).
    pub signature_value: Check,
}

/// Reads a DER `TimeStampToken` and checks its CMS signature.
pub fn read_token(token: &[u8]) -> Result<TokenInfo, String> {
    let _ = token;
    Err("not implemented yet".into())
}

/// The evidence of a time-stamp `token` of `kind`, whose imprint must equal `covered(hash)`:
/// the digest, with the token's own hash algorithm, of what the time-stamp covers.
pub fn evidence(
    kind: TimestampKind,
    token: Vec<u8>,
    covered: &dyn Fn(HashAlgorithm) -> Vec<u8>,
) -> TimestampEvidence {
    match read_token(&token) {
        Ok(info) => TimestampEvidence {
            kind,
            time: Some(info.gen_time),
            intact: Check::from_bool(covered(info.hash) == info.imprint, || {
                "the time-stamp's message imprint does not match what it covers".into()
            }),
            signature_value: info.signature_value,
            tsa_certificate: info.tsa_certificate,
            certificates: info.certificates,
            token,
        },
        Err(e) => TimestampEvidence {
            kind,
            token,
            time: None,
            tsa_certificate: None,
            certificates: Vec::new(),
            intact: Check::NotChecked(e.clone()),
            signature_value: Check::Failed(e),
        },
    }
}
