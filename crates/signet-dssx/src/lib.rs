//! OASIS DSS-X 2.0 core messages (the XML binding of ETSI TS 119 432, and the VerifyRequest of
//! TS 119 442 in [`verify`]): the request model Signet honours, the response it writes, and both
//! syntaxes — XML ([`xml`]) and the DSS-X JSON
//! syntax ([`json`], the short member names of `oasis-dss-core-schema.json`).
//!
//! Parsing never drops what it does not understand: every optional input Signet does not
//! honour is listed in [`OptionalInputs::unsupported`] so that the service answers
//! RequesterError + NotSupported naming it (DSS-X 2.0: unknown optional inputs must not be
//! ignored).

#![forbid(unsafe_code)]

pub mod alg;
pub mod json;
pub mod verify;
pub mod xml;

/// `dss2`: the DSS-X 2.0 core namespace.
pub const NS_CORE: &str = "http://docs.oasis-open.org/dss-x/ns/core";
/// `dsb`: the DSS-X 2.0 base namespace.
pub const NS_BASE: &str = "http://docs.oasis-open.org/dss-x/ns/base";

/// `dsb:Other` MIME type of a TS 119 432 SAD (Base64 of the SAD text from
/// `credentials/authorize`).
pub const SAD_MIME_TYPE: &str = "application/vnd.etsi.ts119432.sad";
/// The asynchronous processing profile a client lists in `Profile` to accept Pending.
pub const ASYNC_PROFILE: &str = "urn:oasis:names:tc:dss:1.0:profiles:asynchronousprocessing:1.0";

/// ResultMajor values (the closed enumeration of `dsb:ResultType`).
pub mod major {
    pub const SUCCESS: &str = "urn:oasis:names:tc:dss:1.0:resultmajor:Success";
    pub const REQUESTER_ERROR: &str = "urn:oasis:names:tc:dss:1.0:resultmajor:RequesterError";
    pub const RESPONDER_ERROR: &str = "urn:oasis:names:tc:dss:1.0:resultmajor:ResponderError";
    /// Verification: whether the signature is valid cannot be decided (EN 319 102-1
    /// INDETERMINATE).
    pub const INSUFFICIENT_INFORMATION: &str =
        "urn:oasis:names:tc:dss:1.0:resultmajor:InsufficientInformation";
    pub const PENDING: &str =
        "urn:oasis:names:tc:dss:1.0:profiles:asynchronousprocessing:resultmajor:Pending";
}

/// ResultMinor values (DSS-X 2.0 §7.2 and the asynchronous processing profile).
pub mod minor {
    pub const NOT_SUPPORTED: &str = "urn:oasis:names:tc:dss:1.0:resultminor:NotSupported";
    pub const GENERAL_ERROR: &str = "urn:oasis:names:tc:dss:1.0:resultminor:GeneralError";
    pub const KEY_LOOKUP_FAILED: &str =
        "urn:oasis:names:tc:dss:1.0:resultminor:invalid:KeyLookupFailed";
    pub const KEY_INFO_NOT_PROVIDED: &str =
        "urn:oasis:names:tc:dss:1.0:resultminor:KeyInfoNotProvided";
    pub const HASH_ALGORITHM: &str =
        "urn:oasis:names:tc:dssx:2.0:resultminor:Inappropriate:HashAlgorithm";
    /// DSS 1.0 core's minor for a requester that may not do what it asked (no or bad access
    /// token, no or bad SAD): the 2.0 ResultMajor enumeration has no AuthenticationError.
    pub const NOT_AUTHORIZED: &str = "urn:oasis:names:tc:dss:1.0:resultminor:NotAuthorized";
    pub const RESPONSE_ID_UNKNOWN: &str =
        "urn:oasis:names:tc:dss:1.0:profiles:asynchronousprocessing:resultminor:ResponseIdUnknown";
    /// Verification (DSS-X 2.0 §9.2, from DSS 1.0 core): the one signature is valid.
    pub const VALID_ON_ALL_DOCUMENTS: &str =
        "urn:oasis:names:tc:dss:1.0:resultminor:valid:signature:OnAllDocuments";
    /// Verification (DSS-X 2.0 §6.3.1): every one of several signatures is valid.
    pub const VALID_MULTI_SIGNATURES: &str =
        "urn:oasis:names:tc:dss:1.0:resultminor:ValidMultiSignatures";
    /// Verification: a signature is invalid (EN 319 102-1 TOTAL-FAILED).
    pub const INCORRECT_SIGNATURE: &str =
        "urn:oasis:names:tc:dss:1.0:resultminor:invalid:IncorrectSignature";
    /// Verification, with InsufficientInformation: no chain to a trust anchor.
    pub const CERTIFICATE_CHAIN_NOT_COMPLETE: &str =
        "urn:oasis:names:tc:dss:1.0:resultminor:CertificateChainNotComplete";
    /// A signature unfit for what was asked (augmenting one that is not valid).
    pub const INAPPROPRIATE_SIGNATURE: &str =
        "urn:oasis:names:tc:dss:1.0:resultminor:Inappropriate:signature";
}

/// Which request an endpoint expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sign,
    Pending,
    Verify,
}

/// A parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Sign(Box<SignRequest>),
    Pending(PendingRequest),
    Verify(Box<verify::VerifyRequest>),
}

/// `dss2:PendingRequest`: `@RequestID` carries the ResponseID of the Pending answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PendingRequest {
    pub request_id: Option<String>,
    pub profiles: Vec<String>,
    /// Inputs present that Signet does not honour (`ClaimedIdentity`).
    pub unsupported: Vec<String>,
}

/// `dss2:SignRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignRequest {
    pub request_id: Option<String>,
    pub profiles: Vec<String>,
    pub documents: Vec<Document>,
    pub hashes: Vec<DocumentHash>,
    pub options: OptionalInputs,
}

/// `dss2:Document` with its `dsb:Base64Data`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Document {
    pub id: Option<String>,
    pub mime_type: Option<String>,
    pub data: Vec<u8>,
}

/// `dss2:DocumentHash`: digests of one document (alternatives with different algorithms).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DocumentHash {
    pub id: Option<String>,
    pub digests: Vec<DigestInfo>,
}

/// `dsb:DigestInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestInfo {
    /// An XML-DSig digest URI or a dotted OID, as sent.
    pub method: String,
    pub value: Vec<u8>,
}

/// `dsb:Other` (a `dsb:AnyType`: MIME type and Base64 value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Other {
    pub mime_type: Option<String>,
    pub value: Vec<u8>,
}

/// `dss2:IncludeObject`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncludeObject {
    pub which_data: Option<String>,
    pub has_object_tags: bool,
    pub obj_id: Option<String>,
    pub create_reference: bool,
}

/// `dss2:SignaturePlacement`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignaturePlacement {
    pub which_data: Option<String>,
    pub create_enveloped: bool,
    /// `XPathAfter` or `XPathFirstChildOf` with its expression.
    pub xpath: Option<(XPathKind, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XPathKind {
    After,
    FirstChildOf,
}

/// `dss2:OptionalInputsSignType`, as far as Signet honours it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OptionalInputs {
    pub language: Option<String>,
    pub other: Vec<Other>,
    pub add_timestamp: Vec<String>,
    pub enforce_async: bool,
    pub signature_type: Option<String>,
    /// `KeySelector/KeyName` values (other selector kinds are unsupported).
    pub key_names: Vec<String>,
    /// `Properties/SignedProperties/Property`: identifier and the decoded value.
    pub signed_properties: Vec<(String, Option<Vec<u8>>)>,
    pub include_object: Vec<IncludeObject>,
    pub include_econtent: Option<bool>,
    pub signature_placement: Option<SignaturePlacement>,
    pub signature_algorithm: Option<String>,
    /// Names of the inputs present that Signet does not honour, in document order.
    pub unsupported: Vec<String>,
}

/// Limits that keep hostile requests cheap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most XML nodes (elements, attributes' parents, text) in one request.
    pub max_nodes: u32,
    /// Deepest element nesting; DSS-X messages need about ten levels.
    pub max_depth: usize,
    /// Largest decoded document.
    pub max_document_bytes: usize,
    /// Most documents plus document hashes in one request.
    pub max_documents: usize,
    /// Largest other Base64 value (digests, SADs, property values).
    pub max_small_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_nodes: 100_000,
            max_depth: 32,
            max_document_bytes: 16 << 20,
            max_documents: 16,
            max_small_bytes: 8 * 1024,
        }
    }
}

impl Limits {
    /// Refuses `n` inputs (`what` names them) when that is more than `max_documents`.
    pub(crate) fn check_count(&self, n: usize, what: &str) -> Result<(), ParseError> {
        if n > self.max_documents {
            return Err(ParseError::general(format!(
                "Too many {what}: at most {} per request",
                self.max_documents
            )));
        }
        Ok(())
    }
}

/// Small limits for the parsers' unit tests.
#[cfg(test)]
pub(crate) const TEST_LIMITS: Limits = Limits {
    max_nodes: 10_000,
    max_depth: 32,
    max_document_bytes: 1024,
    max_documents: 4,
    max_small_bytes: 128,
};

/// Why a body could not be read as a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not a DSS message at all (no XML/JSON, another root element): a transport-level error.
    #[error("{0}")]
    NotDss(String),
    /// A DSS message Signet refuses (hostile or malformed XML, bad values): answered with a
    /// DSS response, ResultMajor RequesterError and this minor.
    #[error("{message}")]
    Requester {
        minor: &'static str,
        message: String,
        /// The request's `RequestID`, when it could be read.
        request_id: Option<String>,
    },
}

impl ParseError {
    pub(crate) fn general(message: impl Into<String>) -> Self {
        Self::Requester {
            minor: minor::GENERAL_ERROR,
            message: message.into(),
            request_id: None,
        }
    }

    /// Attaches the request's ID (parsers read it first, then fail later).
    pub(crate) fn with_request_id(self, id: Option<&str>) -> Self {
        match self {
            Self::Requester {
                minor,
                message,
                request_id: None,
            } => Self::Requester {
                minor,
                message,
                request_id: id.map(str::to_owned),
            },
            other => other,
        }
    }
}

/// `dsb:Result`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DssResult {
    pub major: &'static str,
    pub minor: Option<&'static str>,
    pub message: Option<String>,
}

impl DssResult {
    pub fn success() -> Self {
        Self {
            major: major::SUCCESS,
            minor: None,
            message: None,
        }
    }

    pub fn requester(minor: &'static str, message: impl Into<String>) -> Self {
        Self {
            major: major::REQUESTER_ERROR,
            minor: Some(minor),
            message: Some(signet_core::cap_message(message.into())),
        }
    }

    pub fn responder(minor: &'static str, message: impl Into<String>) -> Self {
        Self {
            major: major::RESPONDER_ERROR,
            minor: Some(minor),
            message: Some(signet_core::cap_message(message.into())),
        }
    }

    pub fn pending() -> Self {
        Self {
            major: major::PENDING,
            minor: None,
            message: Some("The request is being processed: fetch the result with a PendingRequest carrying this ResponseID".into()),
        }
    }
}

/// One signed output: a `DocumentWithSignature` or a `SignatureObject/Base64Signature`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The input document's `ID`, echoed in `@WhichDoc`.
    pub which_doc: Option<String>,
    pub mime_type: Option<String>,
    pub data: Vec<u8>,
}

/// `dss2:SignResponse` (also the answer to a PendingRequest: a still-pending one, the final
/// response, or a ResponseIdUnknown error — `dss2:Response` is of an abstract type, so every
/// answer is a SignResponse).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignResponse {
    pub result: DssResult,
    pub applied_profiles: Vec<String>,
    pub request_id: Option<String>,
    pub response_id: Option<String>,
    pub documents_with_signature: Vec<Signed>,
    pub signature_objects: Vec<Signed>,
}

impl SignResponse {
    pub fn new(result: DssResult, request_id: Option<String>) -> Self {
        Self {
            result,
            applied_profiles: Vec::new(),
            request_id,
            response_id: None,
            documents_with_signature: Vec::new(),
            signature_objects: Vec::new(),
        }
    }
}

/// Decodes Base64 of at most `limit` decoded bytes (whitespace allowed, as XML wraps lines).
/// The size is checked before decoding, so an oversized value costs no allocation.
pub(crate) fn decode_b64(text: &str, limit: usize, what: &str) -> Result<Vec<u8>, ParseError> {
    let len = text.len() - text.bytes().filter(u8::is_ascii_whitespace).count();
    if len / 4 * 3 > limit.saturating_add(3) {
        return Err(ParseError::general(format!(
            "{what} is larger than the limit of {limit} bytes"
        )));
    }
    let compact: std::borrow::Cow<'_, str> = if len == text.len() {
        text.into()
    } else {
        text.chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect::<String>()
            .into()
    };
    let engine = base64_simd::STANDARD;
    let decoded = match engine.decode_to_vec(compact.as_bytes()) {
        Ok(v) => Some(v),
        Err(_) => signet_core::b64::decode(&compact),
    };
    let bytes =
        decoded.ok_or_else(|| ParseError::general(format!("{what} is not valid Base64")))?;
    if bytes.len() > limit {
        return Err(ParseError::general(format!(
            "{what} is larger than the limit of {limit} bytes"
        )));
    }
    Ok(bytes)
}

/// Standard padded Base64.
pub(crate) fn encode_b64(data: &[u8]) -> String {
    base64_simd::STANDARD.encode_to_string(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_messages_are_capped() {
        let quoted = format!("Unsupported SignatureType {}", "u".repeat(4000));
        let result = DssResult::requester(minor::NOT_SUPPORTED, quoted.clone());
        let message = result.message.unwrap_or_default();
        assert_eq!(
            message.chars().count(),
            signet_core::untrusted::MAX_MESSAGE_CHARS + 1
        );
        assert_eq!(
            message,
            format!("{}…", &quoted[..signet_core::untrusted::MAX_MESSAGE_CHARS])
        );
        let short = DssResult::responder(minor::GENERAL_ERROR, "Key module unavailable");
        assert_eq!(short.message.as_deref(), Some("Key module unavailable"));
    }

    #[test]
    fn base64_limits() {
        assert_eq!(decode_b64("AAEC", 3, "x"), Ok(vec![0, 1, 2]));
        assert_eq!(decode_b64(" AA\nEC ", 3, "x"), Ok(vec![0, 1, 2]));
        assert!(decode_b64("AAECAw==", 3, "x").is_err());
        assert!(decode_b64(&"A".repeat(4000), 16, "x").is_err());
        assert!(decode_b64("!!!!", 16, "x").is_err());
    }
}
