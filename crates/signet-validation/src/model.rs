//! What validation finds and what it concludes, independent of the signature format.
//!
//! Two layers, so that the EN 319 102-1 process is written once for four formats:
//!
//! * **Evidence** ([`SignatureEvidence`], [`TimestampEvidence`]): what a format reader saw in
//!   one signature, checked only as far as the format itself allows (digests of the signed
//!   data, the signature value under the certificate the signature names, the signing
//!   certificate reference, baseline attribute rules). Readers judge nothing about trust or
//!   time.
//! * **Conclusions** ([`SignatureReport`]): what `process` makes of the evidence with the trust
//!   anchors, the revocation data and the validation time: an [`Indication`], a
//!   [`SubIndication`], the level actually achieved and the reasons, as the TS 119 102-2 report
//!   carries them.

use std::fmt;

use signet_core::HashAlgorithm;
use time::OffsetDateTime;

pub use signet_ades::{Format, Level};

/// The outcome of one check a format reader made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// The check passed.
    Passed,
    /// The check failed; the text says what was found, for the report.
    Failed(String),
    /// The check could not be made (the input it needs is missing); the text says why.
    NotChecked(String),
}

impl Check {
    pub fn passed(&self) -> bool {
        matches!(self, Self::Passed)
    }

    /// `Passed` when `ok`, else `Failed(reason())`.
    pub fn from_bool(ok: bool, reason: impl FnOnce() -> String) -> Self {
        if ok {
            Self::Passed
        } else {
            Self::Failed(reason())
        }
    }
}

/// One signed data object of a signature (EN 319 102-1 §5.2.8 "signed data object"): the
/// content of a CMS, a PDF's byte ranges, one `ds:Reference`, one JWS payload or `sigD` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedDataObject {
    /// How the signature names it: `content`, `ByteRange [0 840 1862 2211]`, a Reference URI,
    /// a `sigD` `pars` entry.
    pub name: String,
    /// `Failed` when the object is not in the input (a detached document not given, an
    /// unresolvable reference): SIGNED_DATA_NOT_FOUND. `Passed` when it is.
    pub found: Check,
    /// The digest in the signature against the digest of the object: HASH_FAILURE when
    /// `Failed`.
    pub intact: Check,
}

/// What kind of time-stamp, and so what it proves (EN 319 102-1 §5.6.2.1 POE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimestampKind {
    /// Over the signature value (CAdES/XAdES/JAdES signature-time-stamp): proves the
    /// signature existed at its time (B-T).
    Signature,
    /// Over the document before signing (content-time-stamp): proves nothing about the
    /// signature; reported only.
    Content,
    /// Over the signature and its validation data (CAdES archive-time-stamp-v3, XAdES
    /// `ArchiveTimeStamp`, JAdES `arcTst`) or, for PAdES, a document time-stamp (RFC 3161 in a
    /// `/DocTimeStamp`) added after the signature: proves the signature and the validation
    /// data existed (B-LTA; a PAdES document time-stamp directly after a signature without a
    /// signature time-stamp also gives B-T).
    Archive,
}

/// A time-stamp token found in or over a signature. The reader parses and checks the token
/// as a CMS signature (with `timestamp::read_token`) and compares its message imprint with what
/// the time-stamp must cover; `process` validates the TSA's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampEvidence {
    pub kind: TimestampKind,
    /// The DER `TimeStampToken` (a CMS ContentInfo) as found.
    pub token: Vec<u8>,
    /// `genTime` of the TSTInfo. `None` when the token could not be read (then `intact` and
    /// `signature_value` say why).
    pub time: Option<OffsetDateTime>,
    /// The TSA certificate that signed the token (from the token's own certificates, matched
    /// by its signerInfo sid and ESSCertID(v2)), DER.
    pub tsa_certificate: Option<Vec<u8>>,
    /// Certificates carried in the token (the TSA's chain, usually).
    pub certificates: Vec<Vec<u8>>,
    /// The message imprint against the digest of what this time-stamp covers.
    pub intact: Check,
    /// The token's CMS signature (signed attributes, message digest of the TSTInfo, signature
    /// value under `tsa_certificate`).
    pub signature_value: Check,
}

/// One signature as a format reader found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureEvidence {
    /// A stable identifier, unique in the file: `S-` and the upper-case hex of SHA-256 of the
    /// signature value (as EU DSS names signatures), or of the signature's bytes when the value
    /// cannot be read.
    pub id: String,
    pub format: Format,
    /// Set when the signature cannot be read as its format: FORMAT_FAILURE. The other fields
    /// hold whatever could be read before that.
    pub format_error: Option<String>,
    /// The signing time the signer claims (CAdES/PAdES signing-time attribute, PAdES `/M` when
    /// there is none, XAdES `SigningTime`, JAdES `sigT`).
    pub claimed_signing_time: Option<OffsetDateTime>,
    /// The hash algorithm of the signed data and signed attributes.
    pub digest_algorithm: Option<HashAlgorithm>,
    /// The signature algorithm as the signature names it: a dotted OID (CMS), a URI (XAdES) or
    /// a JOSE `alg` (JAdES), for the report.
    pub signature_algorithm: Option<String>,
    pub signed_data: Vec<SignedDataObject>,
    /// The signing certificate: the certificate the signature identifies (CMS sid, XAdES
    /// `SigningCertificateV2` / `KeyInfo`, JAdES `x5t#S256` / `x5c`), DER. `None`:
    /// NO_SIGNING_CERTIFICATE_FOUND.
    pub signing_certificate: Option<Vec<u8>>,
    /// The signed reference to the signing certificate (ESS signing-certificate(-v2), XAdES
    /// `SigningCertificate(V2)`, JAdES `x5t#S256`/`x5t#o`/`sigX5ts`) checked against
    /// `signing_certificate`. B-B requires it.
    pub signing_certificate_reference: Check,
    /// The signature value under `signing_certificate`'s key: SIG_CRYPTO_FAILURE when
    /// `Failed`.
    pub signature_value: Check,
    /// Baseline rules the signature breaks (a missing content-type or message-digest
    /// attribute, a forbidden attribute, a missing signed `SigningTime` where the baseline
    /// demands one, ...): SIG_CONSTRAINTS_FAILURE. Empty when it keeps them.
    pub constraint_failures: Vec<String>,
    /// Every certificate the signature carries (CMS certificates, certificate-values,
    /// `KeyInfo`, `x5c`, `xVals`, the PAdES DSS), DER, without duplicates.
    pub certificates: Vec<Vec<u8>>,
    /// Every CRL the signature carries (CMS crls, revocation-values, `rVals`, the PAdES DSS),
    /// DER `CertificateList`.
    pub crls: Vec<Vec<u8>>,
    /// Every OCSP response the signature carries, DER `OCSPResponse` (a bare
    /// `BasicOCSPResponse` found in a signature is wrapped into an `OCSPResponse` by the
    /// reader).
    pub ocsp_responses: Vec<Vec<u8>>,
    /// Whether the signature has the long-term containers of its format (CAdES
    /// certificate-values and revocation-values or SignedData certificates with crls, XAdES
    /// `CertificateValues` and `RevocationValues`, JAdES `xVals` and `rVals`, a PAdES DSS
    /// added after the signature). Whether their content is complete is for `process`.
    pub has_validation_data: bool,
    /// Signature, content and archive time-stamps, in the order of the signature.
    pub timestamps: Vec<TimestampEvidence>,
    /// PAdES: whether the signature's revision covers the whole file, or only a prefix of it
    /// followed by later incremental updates (reported, as pyHanko and EU DSS do).
    pub covers_whole_document: Option<bool>,
}

impl SignatureEvidence {
    /// An empty evidence for a signature `id` of `format`; readers fill it in.
    pub fn new(id: String, format: Format) -> Self {
        Self {
            id,
            format,
            format_error: None,
            claimed_signing_time: None,
            digest_algorithm: None,
            signature_algorithm: None,
            signed_data: Vec::new(),
            signing_certificate: None,
            signing_certificate_reference: Check::NotChecked("not read".into()),
            signature_value: Check::NotChecked("not read".into()),
            constraint_failures: Vec::new(),
            certificates: Vec::new(),
            crls: Vec::new(),
            ocsp_responses: Vec::new(),
            has_validation_data: false,
            timestamps: Vec::new(),
            covers_whole_document: None,
        }
    }

    /// The identifier of a signature whose value is `value`: `S-` and SHA-256, upper-case hex.
    pub fn id_for(value: &[u8]) -> String {
        format!(
            "S-{}",
            data_encoding::HEXUPPER.encode(&HashAlgorithm::Sha256.digest(value))
        )
    }
}

/// A detached document given beside the signature (`--detached-content`, DSS-X
/// `InputDocuments`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetachedContent {
    /// Its file name, if known: XAdES references and JAdES `sigD` name their documents, and
    /// the name is matched when several are given.
    pub name: Option<String>,
    pub bytes: Vec<u8>,
}

/// The main status indication (EN 319 102-1 §5.1.3, TS 119 102-2 `MainIndication`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Indication {
    TotalPassed,
    TotalFailed,
    Indeterminate,
}

impl Indication {
    /// The EN 319 102-1 name (`TOTAL-PASSED`).
    pub fn name(self) -> &'static str {
        match self {
            Self::TotalPassed => "TOTAL-PASSED",
            Self::TotalFailed => "TOTAL-FAILED",
            Self::Indeterminate => "INDETERMINATE",
        }
    }

    /// The TS 119 102-2 URI (`urn:etsi:019102:mainindication:total-passed`).
    pub fn uri(self) -> String {
        format!(
            "urn:etsi:019102:mainindication:{}",
            self.name().to_ascii_lowercase()
        )
    }
}

impl fmt::Display for Indication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

macro_rules! sub_indications {
    ($($variant:ident = $name:literal,)*) => {
        /// The sub-indications of EN 319 102-1 §5.1.3 Tables 5 and 6.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum SubIndication { $($variant,)* }

        impl SubIndication {
            pub const ALL: &'static [SubIndication] = &[$(Self::$variant,)*];

            /// The EN 319 102-1 name (`HASH_FAILURE`).
            pub fn name(self) -> &'static str {
                match self { $(Self::$variant => $name,)* }
            }

            /// The TS 119 102-2 URI (`urn:etsi:019102:subindication:HASH_FAILURE`).
            pub fn uri(self) -> &'static str {
                match self {
                    $(Self::$variant => concat!("urn:etsi:019102:subindication:", $name),)*
                }
            }
        }
    };
}

sub_indications! {
    FormatFailure = "FORMAT_FAILURE",
    HashFailure = "HASH_FAILURE",
    SigCryptoFailure = "SIG_CRYPTO_FAILURE",
    Revoked = "REVOKED",
    Expired = "EXPIRED",
    NotYetValid = "NOT_YET_VALID",
    SigConstraintsFailure = "SIG_CONSTRAINTS_FAILURE",
    ChainConstraintsFailure = "CHAIN_CONSTRAINTS_FAILURE",
    CertificateChainGeneralFailure = "CERTIFICATE_CHAIN_GENERAL_FAILURE",
    CryptoConstraintsFailure = "CRYPTO_CONSTRAINTS_FAILURE",
    PolicyProcessingError = "POLICY_PROCESSING_ERROR",
    SignaturePolicyNotAvailable = "SIGNATURE_POLICY_NOT_AVAILABLE",
    TimestampOrderFailure = "TIMESTAMP_ORDER_FAILURE",
    NoSigningCertificateFound = "NO_SIGNING_CERTIFICATE_FOUND",
    NoCertificateChainFound = "NO_CERTIFICATE_CHAIN_FOUND",
    RevokedNoPoe = "REVOKED_NO_POE",
    RevokedCaNoPoe = "REVOKED_CA_NO_POE",
    OutOfBoundsNoPoe = "OUT_OF_BOUNDS_NO_POE",
    OutOfBoundsNotRevoked = "OUT_OF_BOUNDS_NOT_REVOKED",
    RevocationOutOfBoundsNoPoe = "REVOCATION_OUT_OF_BOUNDS_NO_POE",
    CryptoConstraintsFailureNoPoe = "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
    NoPoe = "NO_POE",
    TryLater = "TRY_LATER",
    SignedDataNotFound = "SIGNED_DATA_NOT_FOUND",
}

impl fmt::Display for SubIndication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What happened to one certificate of a chain, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateReport {
    /// DER.
    pub der: Vec<u8>,
    /// The subject, as RFC 4514 text.
    pub subject: String,
    pub issuer: String,
    /// Serial number, lower-case hex.
    pub serial: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// Whether it is the trust anchor that ends the chain.
    pub trust_anchor: bool,
    /// `Some(time)` when revoked at that time.
    pub revoked_at: Option<OffsetDateTime>,
    /// Where its revocation status came from: "CRL", "OCSP", "trust anchor" or "none".
    pub revocation_source: String,
}

/// The conclusion about one time-stamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampReport {
    pub id: String,
    pub kind: TimestampKind,
    pub time: Option<OffsetDateTime>,
    pub indication: Indication,
    pub sub_indication: Option<SubIndication>,
    pub tsa: Option<String>,
    pub errors: Vec<String>,
}

/// The conclusion about one signature (EN 319 102-1 §5.1.3 validation status and report).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureReport {
    pub evidence: SignatureEvidence,
    pub indication: Indication,
    pub sub_indication: Option<SubIndication>,
    /// The baseline level the signature actually reaches (B-B when a claimed B-T has no
    /// usable time-stamp); `None` when not even B-B (a FORMAT_FAILURE).
    pub level: Option<Level>,
    /// The best signature time (EN 319 102-1 §5.6.2.1): the earliest proof of existence of
    /// the signature, the validation time when there is none.
    pub best_signature_time: OffsetDateTime,
    /// The signer's chain, signer first.
    pub chain: Vec<CertificateReport>,
    pub timestamps: Vec<TimestampReport>,
    /// Why the indication is what it is, in the order the checks were made (shown to users;
    /// never a secret).
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    /// Informational notes (the validation data that was fetched, ...).
    pub infos: Vec<String>,
}

/// The trust list snapshot that provided trust anchors, named in the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustListInfo {
    /// Where it was read from (a path or a URL).
    pub source: String,
    /// `SchemeTerritory` (`EU` for the list of lists).
    pub territory: String,
    /// `TSLSequenceNumber`.
    pub sequence_number: u64,
    /// `ListIssueDateTime`.
    pub issued: OffsetDateTime,
    /// `NextUpdate/dateTime`, if any.
    pub next_update: Option<OffsetDateTime>,
    /// SHA-256 of the list's bytes, upper-case hex.
    pub sha256: String,
}

/// The result of validating one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationReport {
    /// The validation time (now, or `--at`).
    pub validation_time: OffsetDateTime,
    /// SHA-256 of the validated file, upper-case hex.
    pub document_sha256: String,
    /// The file's name, when known.
    pub document_name: Option<String>,
    pub signatures: Vec<SignatureReport>,
    /// The trusted lists whose anchors were used.
    pub trusted_lists: Vec<TrustListInfo>,
    /// The validation policy's name (Signet's default: EN 319 102-1 with the baseline
    /// constraints of EN 319 1x2-1).
    pub policy: String,
}

impl ValidationReport {
    /// The file's overall indication: TOTAL-PASSED only when there is at least one signature
    /// and every signature passed; otherwise the worst (TOTAL-FAILED before INDETERMINATE).
    pub fn indication(&self) -> Indication {
        if self.signatures.is_empty() {
            return Indication::TotalFailed;
        }
        let all = self.signatures.iter().map(|s| s.indication);
        if all.clone().any(|i| i == Indication::TotalFailed) {
            Indication::TotalFailed
        } else if all.clone().any(|i| i == Indication::Indeterminate) {
            Indication::Indeterminate
        } else {
            Indication::TotalPassed
        }
    }
}

/// Why a file could not be validated at all (not: why a signature is invalid, which is a
/// report).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// The input is too large for the configured limits.
    #[error("{0}")]
    TooLarge(String),
    /// The input is not a signature of a known format (not a PDF, CMS, XML or JWS), or holds
    /// no signature.
    #[error("{0}")]
    NotASignature(String),
    /// A trust anchor, trusted list or option is unusable.
    #[error("{0}")]
    Configuration(String),
}
