//! The Pades reader. (Skeleton: filled in by its owner.)

use crate::{DetachedContent, Limits, SignatureEvidence, ValidationError};

/// Finds every Pades signature in `input` and checks what the format alone can check.
/// `NotASignature` when the input holds none; a signature that cannot be read gives an
/// evidence with `format_error` set.
pub fn read(
    input: &[u8],
    detached: &[DetachedContent],
    limits: &Limits,
) -> Result<Vec<SignatureEvidence>, ValidationError> {
    let _ = (input, detached, limits);
    Err(ValidationError::NotASignature("not implemented yet".into()))
}
