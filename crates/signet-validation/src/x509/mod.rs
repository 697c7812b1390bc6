//! Certificate path building and validation (RFC 5280 as EN 319 102-1 §5.2.6 uses it) and
//! revocation status from CRLs and OCSP responses.
//!
//! Validity periods are reported, not enforced: `process` compares them with the times it
//! has proofs for. Signatures of certificates, CRLs and OCSP responses are checked over their
//! original to-be-signed bytes.

use time::OffsetDateTime;

use crate::trust::TrustAnchors;

mod cert;
mod crl;
mod fetch;
mod ocsp;
mod path;
mod revocation;
mod signed;
#[cfg(test)]
pub(crate) mod test_pki;
#[cfg(test)]
mod tests;

pub(crate) use cert::Cert;

/// What a chain is validated with.
pub struct ChainContext<'a> {
    /// Certificates that may be intermediates (from the signature, the time-stamp tokens,
    /// the DSS, fetched).
    pub pool: &'a [Vec<u8>],
    pub anchors: &'a TrustAnchors,
    /// CRLs (DER CertificateList) and OCSP responses (DER OCSPResponse) available: those in
    /// the signature first.
    pub crls: &'a [Vec<u8>],
    pub ocsp: &'a [Vec<u8>],
    /// Fetches what is missing (issuer certificates via AIA, CRLs, OCSP) when allowed.
    pub fetcher: Option<&'a dyn signet_ades::ValidationData>,
    /// The time the path must be valid at for path building choices (usually the
    /// validation time); validity periods are reported, not enforced, here.
    pub at: OffsetDateTime,
}

/// Where a revocation status came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationSource {
    Crl,
    Ocsp,
}

/// The revocation status of one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevocationStatus {
    /// A trust anchor: not checked.
    Anchor,
    /// Not revoked according to data issued at `this_update` (CRL thisUpdate, OCSP
    /// thisUpdate) and produced at `produced_at` (OCSP producedAt; CRL thisUpdate).
    Good {
        source: RevocationSource,
        this_update: OffsetDateTime,
        next_update: Option<OffsetDateTime>,
        produced_at: OffsetDateTime,
        /// The data was fetched, not found in the signature.
        fetched: bool,
    },
    /// Revoked at `time`.
    Revoked {
        source: RevocationSource,
        time: OffsetDateTime,
        reason: Option<String>,
        produced_at: OffsetDateTime,
        fetched: bool,
    },
    /// No usable revocation data: why (none found, fetching not allowed, the responder
    /// failed, a signature on the data did not verify...).
    Unknown(String),
}

/// One certificate of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainCertificate {
    pub der: Vec<u8>,
    pub subject: String,
    pub issuer: String,
    /// Lower-case hex.
    pub serial: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// The trust anchor that ends the chain.
    pub is_anchor: bool,
    pub revocation: RevocationStatus,
}

/// The result of validating a certificate's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainValidation {
    /// Leaf first; ends with the anchor when one was reached.
    pub chain: Vec<ChainCertificate>,
    /// `None` when a path to an anchor was built and every certificate signature, basic
    /// constraint and key usage holds.
    pub error: Option<ChainError>,
    /// Certificates fetched while building (issuers via AIA), for B-LT augmentation.
    pub fetched_certificates: Vec<Vec<u8>>,
    /// Revocation data fetched (DER CRLs and OCSP responses), for B-LT augmentation.
    pub fetched_crls: Vec<Vec<u8>>,
    pub fetched_ocsp: Vec<Vec<u8>>,
}

/// Why no valid path was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainError {
    /// No path to any anchor (NO_CERTIFICATE_CHAIN_FOUND).
    NoChain(String),
    /// A path exists but breaks a rule: a bad certificate signature, an issuer that is not
    /// a CA, a missing keyCertSign (CHAIN_CONSTRAINTS_FAILURE / CERTIFICATE_CHAIN_GENERAL_FAILURE).
    Constraints(String),
    /// The certificate cannot be parsed (FORMAT_FAILURE of the chain).
    Malformed(String),
}

/// Builds and checks the path of `certificate` (DER) and the revocation status of each of
/// its certificates.
pub fn validate_chain(certificate: &[u8], ctx: &ChainContext<'_>) -> ChainValidation {
    let mut fetched = fetch::Fetched::new(ctx.fetcher);
    let (chain, error) = match Cert::parse(certificate) {
        Err(e) => (Vec::new(), Some(ChainError::Malformed(e))),
        Ok(leaf) => {
            let path = path::build(leaf, ctx, &mut fetched);
            let chain = path
                .certs
                .iter()
                .enumerate()
                .map(|(i, node)| {
                    let revocation = match path.certs.get(i + 1) {
                        _ if node.anchor => RevocationStatus::Anchor,
                        Some(issuer) if path.anchored => {
                            revocation::status(&node.cert, &issuer.cert, ctx, &mut fetched)
                        }
                        _ => RevocationStatus::Unknown(
                            "no certificate chain to a trust anchor".into(),
                        ),
                    };
                    chain_certificate(node, revocation)
                })
                .collect();
            let error = match (path.anchored, path.error) {
                (_, None) => None,
                (true, Some(e)) => Some(ChainError::Constraints(e)),
                (false, Some(e)) => Some(ChainError::NoChain(e)),
            };
            (chain, error)
        }
    };
    ChainValidation {
        chain,
        error,
        fetched_certificates: fetched.certificates,
        fetched_crls: fetched.crls,
        fetched_ocsp: fetched.ocsp,
    }
}

fn chain_certificate(node: &path::Node, revocation: RevocationStatus) -> ChainCertificate {
    let cert = &node.cert;
    ChainCertificate {
        der: cert.der.clone(),
        subject: cert.subject_text(),
        issuer: cert.issuer_text(),
        serial: cert.serial_hex(),
        not_before: cert.not_before,
        not_after: cert.not_after,
        is_anchor: node.anchor,
        revocation,
    }
}
