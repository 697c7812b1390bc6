//! AdES creation at the signature creation application level (ETSI TS 119 431-2; CSC
//! `signatures/signDoc`): CAdES (EN 319 122-1), PAdES (EN 319 142-1), XAdES (EN 319 132-1) and
//! JAdES (TS 119 182-1), baseline levels B-B, B-T, B-LT and B-LTA.
//!
//! Two steps, as in EU DSS (`getDataToSign`, then `signDocument(signatureValue)`), so that no
//! key ever comes near this crate:
//!
//! 1. [`prepare`] reads the document (or takes the digest of one), builds the signed attributes
//!    and — for PAdES — the incremental update with its `/Contents` placeholder, and returns a
//!    [`Prepared`] that says which digest must be signed ([`Prepared::dtbsr`], the DTBS/R) and
//!    what the document's digest is ([`Prepared::document_digest`], what a SAD binds).
//! 2. [`finish`] takes the signature value the SAM obtained from the key module, checks it
//!    against the signer certificate, adds the signature time-stamp (B-T), the validation data
//!    (B-LT) and the archive time-stamp (B-LTA) through [`TimeStamper`] and [`ValidationData`],
//!    and returns the signed document or the detached signature.
//!
//! [`extend`] brings an existing signature — Signet's or another producer's — to B-T, B-LT or
//! B-LTA with the same pieces (augmentation, EN 319 102-1 §4.3.3).
//!
//! Every CMS structure is written as canonical DER (X.690 §11: definite lengths, SET OF sorted);
//! certificates, CRLs, OCSP responses and time-stamp tokens are embedded as the exact bytes
//! their issuer produced.

#![forbid(unsafe_code)]

use signet_core::{HashAlgorithm, KeyType, SignMechanism};

pub mod asn1;
mod cades;
pub mod cert;
pub mod cms;
pub mod ecdsa;
pub mod extend;
mod jades;
mod level;
pub mod oids;
mod pades;
pub mod pdf;
mod props;
mod qualifying;
#[cfg(any(test, feature = "test-support"))]
pub mod test_pki;
mod timestamp;
mod xades;

/// The gate for untrusted XML and XML canonicalization (inclusive C14N 1.0 and 1.1, exclusive
/// C14N), shared with validation (signet-validation).
pub mod xml {
    pub use crate::xades::c14n::*;
}

pub use extend::{ExtendRequest, Extended, extend};
pub use level::{Envelope, Format, Level};
pub use props::{PdfProps, SignedProps};
pub use qualifying::{Policy, ProductionPlace, QualifyingProps};

/// Why a document could not be signed. Messages are safe to show to clients: they describe
/// the request or the document, never keys or secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdesError {
    /// A parameter is wrong or missing (400).
    #[error("{0}")]
    InvalidRequest(String),
    /// The document cannot be signed as it is: malformed, encrypted, truncated, already signed
    /// in a way that forbids the requested signature (400).
    #[error("{0}")]
    InvalidDocument(String),
    /// A configured limit was exceeded (400).
    #[error("{0}")]
    TooLarge(String),
    /// The time-stamping authority did not deliver a usable token (503).
    #[error("time-stamping failed: {0}")]
    TimeStamp(String),
    /// Certificates or revocation data needed for B-LT could not be obtained (503).
    #[error("validation data unavailable: {0}")]
    ValidationData(String),
    /// The signature value does not fit the prepared signature (500: a key module fault).
    #[error("{0}")]
    SignatureValue(String),
    /// A bug or an encoding failure (500).
    #[error("internal error: {0}")]
    Internal(String),
}

/// Obtains RFC 3161 time-stamp tokens (B-T signature time-stamps, B-LTA archive and document
/// time-stamps).
pub trait TimeStamper: Send + Sync {
    /// A DER `TimeStampToken` (a CMS ContentInfo) whose messageImprint is `digest`, computed
    /// with `hash`.
    fn timestamp(&self, hash: HashAlgorithm, digest: &[u8]) -> Result<Vec<u8>, AdesError>;
}

/// Certificates and revocation information for one certificate (EN 319 102-1 validation
/// data; B-LT embeds them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revocation {
    /// DER certificates of the issuer chain (without the certificate itself).
    pub certificates: Vec<Vec<u8>>,
    /// DER `CertificateList`s.
    pub crls: Vec<Vec<u8>>,
    /// DER `OCSPResponse`s.
    pub ocsp: Vec<Vec<u8>>,
}

impl Revocation {
    /// Adds `other`'s entries that are not present yet.
    pub fn merge(&mut self, other: Revocation) {
        for (mine, theirs) in [
            (&mut self.certificates, other.certificates),
            (&mut self.crls, other.crls),
            (&mut self.ocsp, other.ocsp),
        ] {
            for item in theirs {
                if !mine.contains(&item) {
                    mine.push(item);
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.certificates.is_empty() && self.crls.is_empty() && self.ocsp.is_empty()
    }
}

/// Fetches validation data. Implementations must fail — not return an empty answer — when
/// they cannot say whether a certificate is revoked: B-LT without revocation data would be a
/// silently lower level.
pub trait ValidationData: Send + Sync {
    /// The issuer chain of `certificate` (DER) and revocation information covering it.
    fn chain_and_revocation(&self, certificate: &[u8]) -> Result<Revocation, AdesError>;
}

/// Configurable limits that keep hostile documents from costing more than they should.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest document accepted, in bytes.
    pub max_document_bytes: usize,
    /// Most indirect objects a PDF may have.
    pub max_pdf_objects: usize,
    /// Deepest element nesting an XML document (XAdES) may have.
    pub max_xml_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_document_bytes: 16 << 20,
            max_pdf_objects: 500_000,
            max_xml_depth: 100,
        }
    }
}

/// What is signed: a document, or the digest of one (CSC `documentDigests`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Document(Vec<u8>),
    /// A digest computed with [`DocumentRequest::document_hash`]: of the content for a detached
    /// CAdES signature, of the PDF byte ranges for a PAdES signature the client embeds itself.
    Digest(Vec<u8>),
}

/// The signer as the signature names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    /// DER signer certificate.
    pub certificate: Vec<u8>,
    /// DER issuer chain, nearest first.
    pub chain: Vec<Vec<u8>>,
    pub key_type: KeyType,
    /// How the key module will sign the DTBS/R.
    pub mechanism: SignMechanism,
}

/// One document to sign.
#[derive(Debug, Clone)]
pub struct DocumentRequest {
    pub format: Format,
    pub level: Level,
    pub envelope: Envelope,
    pub content: Content,
    /// The hash algorithm of [`Prepared::document_digest`]: what the authorization bound
    /// (CSC `hashAlgorithmOID`, SHA-256 by default).
    pub document_hash: HashAlgorithm,
    pub props: SignedProps,
    pub signer: Signer,
    /// Claimed signing time, Unix seconds (CAdES signing-time, PAdES `/M`).
    pub signing_time: i64,
    /// Also collect the validation data of a B-B or B-T signature (CSC
    /// `returnValidationInfo`); at B-LT and above it is collected anyway.
    pub collect_validation_info: bool,
    pub limits: Limits,
    /// The detached document's name as the signature refers to it (XAdES
    /// `ds:Reference/@URI`, JAdES `sigD` `pars`), percent-encoded here: a local client names
    /// the file so that validators find it beside the signature. `None`: `document` (CSC does
    /// not name documents).
    pub detached_name: Option<String>,
}

/// A file name as a relative URI reference (RFC 3986): unreserved characters kept, the rest
/// percent-encoded, so it is also safe inside an XML attribute or a JSON string.
pub(crate) fn uri_reference(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The result of [`prepare`]: what to sign, and everything [`finish`] needs.
#[derive(Debug)]
pub struct Prepared {
    document_digest: Vec<u8>,
    dtbsr: Vec<u8>,
    state: State,
}

#[derive(Debug)]
enum State {
    Cades(Box<cades::PreparedCades>),
    Pades(Box<pades::PreparedPades>),
    Xades(Box<xades::PreparedXades>),
    Jades(Box<jades::PreparedJades>),
}

impl Prepared {
    /// The digest of the document as sent (or the digest given), with the request's
    /// `document_hash`: what the SAD binds for sole control (EN 419241-1 SRA_SAP.1).
    pub fn document_digest(&self) -> &[u8] {
        &self.document_digest
    }

    /// The DTBS/R: the digest of the DER signed attributes, with the mechanism's hash. The key
    /// module signs exactly this.
    pub fn dtbsr(&self) -> &[u8] {
        &self.dtbsr
    }
}

/// The signed result, as CSC returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// A document with the signature inside (PAdES, attached or parallel CAdES).
    DocumentWithSignature(Vec<u8>),
    /// A detached signature (detached CAdES, PAdES CMS over a client's byte-range digest).
    SignatureObject(Vec<u8>),
}

impl Output {
    pub fn bytes(&self) -> &[u8] {
        match self {
            Self::DocumentWithSignature(b) | Self::SignatureObject(b) => b,
        }
    }
}

/// The result of [`finish`].
#[derive(Debug, Clone)]
pub struct Finished {
    pub output: Output,
    /// The validation data collected for the signer and the time-stamps (embedded at B-LT and
    /// above; CSC `validationInfo`).
    pub validation_info: Revocation,
}

/// Step one: builds the data to be signed.
pub fn prepare(request: DocumentRequest) -> Result<Prepared, AdesError> {
    level::check_combination(&request)?;
    if let Content::Document(doc) = &request.content
        && doc.len() > request.limits.max_document_bytes
    {
        return Err(AdesError::TooLarge(format!(
            "document of {} bytes exceeds the limit of {} bytes",
            doc.len(),
            request.limits.max_document_bytes
        )));
    }
    if let Content::Digest(d) = &request.content
        && d.len() != request.document_hash.len()
    {
        return Err(AdesError::InvalidRequest(format!(
            "document digest of {} bytes does not fit {}",
            d.len(),
            request.document_hash.name()
        )));
    }
    match request.format {
        Format::Cades => cades::prepare(request),
        Format::Pades => pades::prepare(request),
        Format::Xades => xades::prepare(request),
        Format::Jades => jades::prepare(request),
    }
}

/// Step two: assembles the signature around `signature_value` (from the key module, over
/// [`Prepared::dtbsr`]). `tsa` is needed from B-T on, `validation` from B-LT on (or when
/// validation info was asked for); a missing one is an error, never a lower level.
pub fn finish(
    prepared: Prepared,
    signature_value: &[u8],
    tsa: Option<&dyn TimeStamper>,
    validation: Option<&dyn ValidationData>,
) -> Result<Finished, AdesError> {
    match prepared.state {
        State::Cades(p) => cades::finish(*p, signature_value, tsa, validation),
        State::Pades(p) => pades::finish(*p, signature_value, tsa, validation),
        State::Xades(p) => xades::finish(*p, signature_value, tsa, validation),
        State::Jades(p) => jades::finish(*p, signature_value, tsa, validation),
    }
}
