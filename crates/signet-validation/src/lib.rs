//! AdES validation (ETSI EN 319 102-1) for the four formats Signet creates — CAdES, PAdES,
//! XAdES and JAdES, B-B to B-LTA — whoever produced them, with the ETSI TS 119 102-2
//! validation report, a JSON form and a short text summary.
//!
//! The work is split the way EU DSS splits it, so that the standard's process is written once:
//!
//! 1. A **format reader** (`cades`, `pades`, `xades`, `jades`) finds the signatures in a file
//!    and checks what the format alone can check — digests, signature values, the signing
//!    certificate reference, baseline attribute rules, time-stamp imprints — into a
//!    [`SignatureEvidence`].
//! 2. **`process`** runs EN 319 102-1 over the evidence: basic validation (with the certificate
//!    path and revocation of [`x509`]), validation with time (time-stamps as proofs of
//!    existence) and long-term validation (archive time-stamps), and decides the indication,
//!    the sub-indication and the level reached.
//! 3. **`report`** writes the result as TS 119 102-2 XML, JSON or text.
//!
//! Trust comes from [`trust`]: PEM/DER anchors and EU trusted lists (TS 119 612), whose XML
//! signatures are checked. Nothing here reaches the network by itself: revocation data that
//! the signature lacks is fetched only through a [`signet_ades::ValidationData`] the caller
//! passes.
//!
//! Every reader takes hostile input: sizes, object counts and nesting are bounded by
//! [`Limits`], XML refuses DTDs, DER is read strictly, and a file that cannot be read as its
//! format gives FORMAT_FAILURE, never a panic.

#![forbid(unsafe_code)]

mod cades;
mod cms;
pub mod crypto;
mod jades;
mod model;
mod pades;
mod process;
pub mod report;
pub mod timestamp;
pub mod trust;
pub mod x509;
mod xades;

pub use model::*;
pub use process::{Options, POLICY};
pub use signet_ades::Limits;

use signet_core::HashAlgorithm;

/// Validates every signature in `input` (a PDF, a CMS signature, an XML document or a JWS),
/// with `detached` documents for detached signatures. A signature that is invalid is a
/// report with its indication; an `Err` means the file could not be validated at all.
pub fn validate(
    input: &[u8],
    name: Option<&str>,
    detached: &[DetachedContent],
    options: &Options<'_>,
) -> Result<ValidationReport, ValidationError> {
    let limit = options.limits.max_document_bytes;
    if input.len() > limit {
        return Err(ValidationError::TooLarge(format!(
            "the file has {} bytes; the limit is {limit} bytes",
            input.len()
        )));
    }
    let evidence = read(input, detached, &options.limits)?;
    Ok(ValidationReport {
        validation_time: options.validation_time,
        document_sha256: data_encoding::HEXUPPER.encode(&HashAlgorithm::Sha256.digest(input)),
        document_name: name.map(str::to_string),
        signatures: process::signatures(evidence, options),
        trusted_lists: options.trusted_lists.to_vec(),
        policy: POLICY.to_string(),
    })
}

/// The format of a signed file, from its first bytes.
pub fn detect_format(input: &[u8]) -> Option<Format> {
    let head = &input[..input.len().min(1024)];
    if head.windows(5).any(|w| w == b"%PDF-") {
        return Some(Format::Pades);
    }
    let text = input.strip_prefix(b"\xef\xbb\xbf").unwrap_or(input);
    let first = text.iter().find(|b| !b.is_ascii_whitespace())?;
    match first {
        b'<' => Some(Format::Xades),
        b'{' => Some(Format::Jades),
        0x30 => Some(Format::Cades),
        _ if is_compact_jws(text) => Some(Format::Jades),
        _ => None,
    }
}

fn is_compact_jws(text: &[u8]) -> bool {
    let text = text.trim_ascii();
    text.iter().filter(|&&b| b == b'.').count() == 2
        && text
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Finds the signatures of `input` with the reader of its format.
pub fn read(
    input: &[u8],
    detached: &[DetachedContent],
    limits: &Limits,
) -> Result<Vec<SignatureEvidence>, ValidationError> {
    match detect_format(input) {
        Some(Format::Pades) => pades::read(input, detached, limits),
        Some(Format::Xades) => xades::read(input, detached, limits),
        Some(Format::Jades) => jades::read(input, detached, limits),
        Some(Format::Cades) => cades::read(input, detached, limits),
        None => Err(ValidationError::NotASignature(
            "the file is not a PDF, a CMS signature, an XML document or a JWS".into(),
        )),
    }
}

/// Revocation freshness of Signet's default policy: revocation data issued more than a day
/// before the best signature time does not show the certificate was unrevoked then.
pub const DEFAULT_MAX_REVOCATION_AGE: std::time::Duration = std::time::Duration::from_secs(86_400);
