//! `dss2:VerifyRequest` / `dss2:VerifyResponse` (DSS-X 2.0 §4.3, as ETSI TS 119 442 profiles
//! them for AdES validation): what a request asks, what the answer carries, and the URI rules
//! both syntaxes share. The XML and JSON forms are in `xml::verify` and `json::verify`.
//!
//! The rewritten DSS-X 2.0 schema has no `xs:any`: the only place for a profile's output is
//! `dsb:Other`, a Base64 value with a MIME type. So the ETSI TS 119 102-2 validation report
//! travels as `Other` with [`REPORT_MIME_TYPE`] (Base64 of the report's XML document, in both
//! syntaxes), and a client asks for it either with `ReturnVerificationReport` (the name of the
//! DSS verification report profile, in the `dss2` namespace or that profile's own, or the JSON
//! member `returnVerificationReport`) or, schema-valid, with an `Other` of that MIME type.

use signet_ades::{Format, Level};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::{DssResult, Other, ParseError, Signed};

/// MIME type of the ETSI TS 119 102-2 validation report in `dsb:Other` (in a request: "return
/// the report"; in a response: the report's XML document).
pub const REPORT_MIME_TYPE: &str = "application/vnd.etsi.ts119102-2+xml";

/// Namespace of the OASIS DSS verification report profile, whose `ReturnVerificationReport`
/// clients send.
pub const NS_VERIFICATION_REPORT: &str =
    "urn:oasis:names:tc:dss-x:1.0:profiles:verificationreport:schema#";

/// The TS 119 442 validation profile, named like TS 119 432's creation profile; echoed in
/// `AppliedProfile`.
pub const VALIDATION_PROFILE: &str = "http://uri.etsi.org/19442/v1.1.1/validationprofile#";

/// `dss2:VerifyRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VerifyRequest {
    pub request_id: Option<String>,
    pub profiles: Vec<String>,
    /// `InputDocuments/Document`: the signed document itself (a PDF, an enveloped XML
    /// signature, a CMS or JWS with its content) when there is no `SignatureObject`, else the
    /// detached content the signature covers.
    pub documents: Vec<InputDocument>,
    /// `SignatureObject/Base64Signature`, `which_doc` from `@WhichDoc`.
    pub signatures: Vec<Signed>,
    pub options: VerifyOptions,
}

/// `dss2:Document` with the attributes a verifier uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InputDocument {
    pub id: Option<String>,
    /// `@RefURI`: how a detached XAdES reference or JAdES `sigD` names this document.
    pub ref_uri: Option<String>,
    pub mime_type: Option<String>,
    pub data: Vec<u8>,
}

impl InputDocument {
    /// The name a signature's reference is matched against: `RefURI`, else `ID`.
    pub fn name(&self) -> Option<&str> {
        self.ref_uri.as_deref().or(self.id.as_deref())
    }
}

/// `dss2:UseVerificationTime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerificationTime {
    Current,
    Specific(OffsetDateTime),
}

/// `dss2:OptionalInputsVerifyType`, as far as Signet honours it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VerifyOptions {
    pub language: Option<String>,
    /// `ReturnVerificationReport`, or `Other` with [`REPORT_MIME_TYPE`].
    pub return_report: bool,
    pub verification_time: Option<VerificationTime>,
    /// `ReturnAugmentedSignature`: the level URI or name as sent (see [`augmentation_target`]).
    pub return_augmented: Option<String>,
    /// Names of the inputs present that Signet does not honour (DSS-X 2.0 §4.3: answered
    /// NotSupported, never ignored), in document order.
    pub unsupported: Vec<String>,
}

impl VerifyOptions {
    /// An `Other` input: one with [`REPORT_MIME_TYPE`] asks for the report, any other is not
    /// honoured.
    pub(crate) fn other(&mut self, mime_type: Option<&str>) {
        match mime_type {
            Some(REPORT_MIME_TYPE) => self.return_report = true,
            other => self
                .unsupported
                .push(format!("Other with MimeType {:?}", other.unwrap_or(""))),
        }
    }
}

/// `dss2:AugmentedSignature`: the augmented signature where the input was (a
/// `SignatureObject` for a signature sent as one, a `DocumentWithSignature` for a signed
/// document).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AugmentedSignature {
    /// `@Type`: the level asked for, as the request named it.
    pub type_uri: Option<String>,
    pub signature_objects: Vec<Signed>,
    pub documents_with_signature: Vec<Signed>,
}

/// `dss2:VerifyResponse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyResponse {
    pub result: DssResult,
    pub applied_profiles: Vec<String>,
    pub request_id: Option<String>,
    pub response_id: Option<String>,
    /// `OptionalOutputs/Other`: the validation report.
    pub others: Vec<Other>,
    pub augmented: Option<AugmentedSignature>,
}

impl VerifyResponse {
    pub fn new(result: DssResult, request_id: Option<String>) -> Self {
        Self {
            result,
            applied_profiles: Vec::new(),
            request_id,
            response_id: None,
            others: Vec::new(),
            augmented: None,
        }
    }
}

/// What `ReturnAugmentedSignature` asks for: an optional format and the target level.
///
/// Accepted: a level name (`B-T`, `B-LT`, `B-LTA`, `AdES-B-LT`, `T`, ...), a format and level
/// (`PAdES-B-LTA`, `PAdES-BASELINE-LTA`), or any URI ending in one of those after its last
/// `#`, `/` or `:` — TS 119 432's creation-profile URIs
/// (`http://uri.etsi.org/19432/v1.1.1/creationprofile#PAdES-B-LTA`), the level URIs of
/// Signet's validation report (`urn:signet:validation:level:PAdES-BASELINE-LTA`) and ETSI-style
/// `http://uri.etsi.org/19102/...#B-LTA`. Case does not matter. B-B is refused: augmentation
/// adds to a signature, it cannot take anything away.
pub fn augmentation_target(text: &str) -> Result<(Option<Format>, Level), String> {
    let text = text.trim();
    let tail = text.rsplit(['#', '/', ':']).next().unwrap_or(text);
    let lower = tail.to_ascii_lowercase();
    let (format, rest) = match lower.split_once('-') {
        Some(("cades", r)) => (Some(Format::Cades), r),
        Some(("pades", r)) => (Some(Format::Pades), r),
        Some(("xades", r)) => (Some(Format::Xades), r),
        Some(("jades", r)) => (Some(Format::Jades), r),
        _ => (None, lower.as_str()),
    };
    let rest = rest.strip_prefix("baseline-").unwrap_or(rest);
    let level = Level::parse(rest).map_err(|_| {
        format!(
            "ReturnAugmentedSignature {text:?}: expected a level B-T, B-LT or B-LTA (or a URI ending in one, optionally with the format: PAdES-B-LTA)"
        )
    })?;
    if level == Level::BB {
        return Err(format!(
            "ReturnAugmentedSignature {text:?}: a signature is augmented to B-T, B-LT or B-LTA"
        ));
    }
    Ok((format, level))
}

/// An `xs:dateTime` (XML) or JSON `date-time` with its time zone: RFC 3339. A time without a
/// zone has no defined instant, so it is refused rather than guessed.
pub(crate) fn date_time(text: &str, what: &str) -> Result<OffsetDateTime, ParseError> {
    let text = text.trim();
    OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
        ParseError::general(format!(
            "{what} {text:?} is not a date and time with a time zone (RFC 3339, e.g. 2025-01-31T12:00:00Z)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn augmentation_targets() {
        for (text, want) in [
            ("B-LT", (None, Level::BLt)),
            ("b-lta", (None, Level::BLta)),
            ("AdES-B-T", (None, Level::BT)),
            ("T", (None, Level::BT)),
            ("PAdES-B-LTA", (Some(Format::Pades), Level::BLta)),
            ("CAdES-BASELINE-LT", (Some(Format::Cades), Level::BLt)),
            (
                "http://uri.etsi.org/19432/v1.1.1/creationprofile#XAdES-B-LT",
                (Some(Format::Xades), Level::BLt),
            ),
            (
                "urn:signet:validation:level:JAdES-BASELINE-LTA",
                (Some(Format::Jades), Level::BLta),
            ),
            (
                "http://uri.etsi.org/19102/v1.4.1#B-LTA",
                (None, Level::BLta),
            ),
            (" http://example.org/levels/b-t ", (None, Level::BT)),
        ] {
            assert_eq!(augmentation_target(text), Ok(want), "{text}");
        }
        for bad in [
            "B-B",
            "PAdES-B-B",
            "B-X",
            "",
            "http://uri.etsi.org/19102/",
            "XYZ-B-LT",
        ] {
            assert!(augmentation_target(bad).is_err(), "{bad}");
        }
        assert!(
            augmentation_target("B-B")
                .unwrap_err()
                .contains("B-T, B-LT or B-LTA")
        );
    }

    #[test]
    fn date_times() {
        let t = date_time("2025-01-31T12:30:00Z", "SpecificTime").unwrap();
        assert_eq!(t.unix_timestamp(), 1_738_326_600);
        let t = date_time(" 2025-01-31T14:30:00.5+02:00 ", "SpecificTime").unwrap();
        assert_eq!(t.unix_timestamp(), 1_738_326_600);
        assert_eq!(t.nanosecond(), 500_000_000);
        for bad in [
            "2025-01-31T12:30:00",
            "2025-01-31",
            "yesterday",
            "2025-13-01T00:00:00Z",
        ] {
            match date_time(bad, "SpecificTime") {
                Err(ParseError::Requester { message, .. }) => {
                    assert!(message.starts_with("SpecificTime "), "{message}")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
