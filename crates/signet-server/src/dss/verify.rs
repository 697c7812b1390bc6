//! VerifyRequest processing (`/dss/v2/verify`, DSS-X 2.0 §4.3 as ETSI TS 119 442 profiles
//! it): checks the inputs, has the service layer validate (and, with
//! `ReturnAugmentedSignature`, augment) the signature, and words the outcome as DSS-X result
//! codes.
//!
//! Result codes (DSS-X 2.0 §9.2, from DSS 1.0 core; §6.3.1 for several signatures):
//!
//! | EN 319 102-1 | ResultMajor | ResultMinor |
//! |---|---|---|
//! | TOTAL-PASSED, one signature | Success | `…:valid:signature:OnAllDocuments` |
//! | TOTAL-PASSED, several | Success | `…:ValidMultiSignatures` |
//! | TOTAL-FAILED (any) | Success | `…:invalid:IncorrectSignature` |
//! | INDETERMINATE / NO_CERTIFICATE_CHAIN_FOUND | InsufficientInformation | `…:CertificateChainNotComplete` |
//! | INDETERMINATE / other | InsufficientInformation | the TS 119 102-2 sub-indication URI (`urn:etsi:019102:subindication:TRY_LATER`) |
//!
//! Several signatures are judged together: TOTAL-FAILED before INDETERMINATE, and the
//! ResultMessage names the first signature with that indication and its first error. DSS-X
//! defines no "indeterminate" minor, so the ETSI sub-indication, itself a URI, is the most
//! precise code there is. Input Signet cannot use (not Base64, not a signature, too large, an
//! option it does not honour) is RequesterError; ResponderError only when the service fails
//! (a TSA that is down while augmenting).

use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use signet_ades::{AdesError, Format, Level};
use signet_core::Untrusted;
use signet_dssx::verify::{
    self as dv, AugmentedSignature, REPORT_MIME_TYPE, VALIDATION_PROFILE, VerificationTime,
    VerifyRequest, VerifyResponse,
};
use signet_dssx::{ASYNC_PROFILE, DssResult, Kind, Message, Other, Signed, major, minor};
use signet_service::VerificationError;
use signet_service::verification::validation::{
    self, DetachedContent, Indication, SubIndication, ValidationError, ValidationReport,
};

use super::{
    Syntax, caller, check_options, general, new_response_id, not_supported, read, respond,
};
use crate::AppState;
use crate::error::ApiError;
use crate::tls::ClientCertificate;

/// The body limit of a VerifyRequest: a signed file and its detached content, each at the
/// validation limit, Base64-encoded, with room for the XML or JSON around them.
pub fn request_limit(max_document_bytes: usize) -> usize {
    (max_document_bytes.saturating_mul(2) / 3)
        .saturating_mul(4)
        .saturating_add(1 << 20)
}

pub(super) fn render(syntax: Syntax, resp: &VerifyResponse) -> Response {
    respond(
        syntax,
        resp,
        signet_dssx::xml::write_verify,
        signet_dssx::json::write_verify,
    )
}

/// A response carrying only a result.
pub(super) fn result_only(result: DssResult, request_id: Option<String>) -> VerifyResponse {
    let mut resp = VerifyResponse::new(result, request_id);
    resp.response_id = new_response_id();
    resp
}

pub(super) async fn entry(
    State(state): State<AppState>,
    tls: Option<Extension<ClientCertificate>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (syntax, message) = match read(&state, &headers, body, Kind::Verify).await {
        Ok(m) => m,
        Err(resp) => return resp,
    };
    let Message::Verify(req) = message else {
        return ApiError::invalid_request("Expected a VerifyRequest").into_response();
    };
    // Validation is open to every authenticated caller: it costs CPU and may fetch.
    if let Err(result) = caller(&state, &headers, tls).await {
        return render(syntax, &result_only(result, req.request_id.clone()));
    }
    render(syntax, &run(&state, *req).await)
}

/// Where the signed input was, so that an augmented signature goes back there.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Placement {
    SignatureObject,
    Document,
}

/// A checked VerifyRequest.
#[derive(Debug, PartialEq, Eq)]
struct Job {
    signed: Vec<u8>,
    /// `WhichDoc` (signature) or `ID` (document) and MIME type of the signed input, echoed
    /// with an augmented signature.
    which_doc: Option<String>,
    mime_type: Option<String>,
    placement: Placement,
    /// The document name in the report.
    name: Option<String>,
    detached: Vec<DetachedContent>,
    time: Option<VerificationTime>,
    report: bool,
    /// `ReturnAugmentedSignature` as sent, and the level it names.
    augment: Option<(String, Level)>,
    applied_profiles: Vec<String>,
}

/// Checks everything a client can get wrong before anything is validated.
fn check(req: VerifyRequest) -> Result<Job, DssResult> {
    let o = req.options;
    check_options(&o.unsupported, o.language.as_deref())?;
    let mut applied_profiles = Vec::new();
    for p in &req.profiles {
        match p.as_str() {
            VALIDATION_PROFILE => applied_profiles.push(p.clone()),
            // Verification is answered at once: accepting Pending asks for nothing more.
            ASYNC_PROFILE => {}
            _ => return Err(not_supported(format!("Profile {p} is not supported"))),
        }
    }
    let mut signatures = req.signatures;
    let mut documents = req.documents;
    let (signed, placement) = match (signatures.len(), documents.len()) {
        (0, 0) => {
            return Err(general(
                "Nothing to verify: send the signed document as InputDocuments/Document, or the signature as SignatureObject with its detached content as Document",
            ));
        }
        (0, 1) => {
            let d = documents.remove(0);
            let name = d.name().map(str::to_owned);
            (
                Signed {
                    which_doc: d.id,
                    mime_type: d.mime_type,
                    data: d.data,
                },
                (Placement::Document, name),
            )
        }
        (0, _) => {
            return Err(not_supported(
                "More than one Document without a SignatureObject: send one signed document per VerifyRequest (or one SignatureObject with its detached documents)",
            ));
        }
        (1, _) => {
            let s = signatures.remove(0);
            if let Some(w) = &s.which_doc
                && !documents
                    .iter()
                    .any(|d| d.id.as_deref() == Some(w.as_str()))
            {
                return Err(general(format!(
                    "SignatureObject WhichDoc {w:?} names no Document of the request"
                )));
            }
            (s, (Placement::SignatureObject, None))
        }
        _ => {
            return Err(not_supported(
                "More than one SignatureObject: send one signature per VerifyRequest",
            ));
        }
    };
    let (placement, name) = placement;
    let detached = documents
        .into_iter()
        .map(|d| DetachedContent {
            name: d.name().map(str::to_owned),
            bytes: d.data,
        })
        .collect();
    let augment = match &o.return_augmented {
        None => None,
        Some(uri) => {
            let (format, level) = dv::augmentation_target(uri).map_err(not_supported)?;
            if let Some(f) = format {
                let found = validation::detect_format(&signed.data);
                if found.is_some_and(|found| found != f) {
                    return Err(general(format!(
                        "ReturnAugmentedSignature names {} but the signature is {}",
                        f.name(),
                        found.map_or("", Format::name)
                    )));
                }
            }
            if matches!(o.verification_time, Some(VerificationTime::Specific(_))) {
                return Err(not_supported(
                    "ReturnAugmentedSignature validates and augments at the current time: UseVerificationTime with a SpecificTime does not apply",
                ));
            }
            Some((uri.clone(), level))
        }
    };
    Ok(Job {
        signed: signed.data,
        which_doc: signed.which_doc,
        mime_type: signed.mime_type,
        placement,
        name,
        detached,
        time: o.verification_time,
        report: o.return_report,
        augment,
        applied_profiles,
    })
}

/// Runs a VerifyRequest: every answer, success or error, is a VerifyResponse.
async fn run(state: &AppState, req: VerifyRequest) -> VerifyResponse {
    let mut resp = result_only(DssResult::success(), req.request_id.clone());
    let job = match check(req) {
        Ok(job) => job,
        Err(result) => {
            resp.result = result;
            return resp;
        }
    };
    resp.applied_profiles = job.applied_profiles.clone();
    let verification = &state.service.verification;
    let at = match job.time {
        Some(VerificationTime::Specific(t)) => Some(t),
        Some(VerificationTime::Current) | None => None,
    };
    let outcome = match &job.augment {
        None => verification
            .verify(job.signed, job.name, job.detached, at)
            .await
            .map(|report| (None, report)),
        Some((_, level)) => verification
            .extend(job.signed, job.name, job.detached, *level)
            .await
            .map(|(output, report)| (Some(output), report)),
    };
    let (output, report) = match outcome {
        Ok(o) => o,
        Err(e) => {
            resp.result = error_result(e);
            return resp;
        }
    };
    if report.signatures.is_empty() {
        resp.result = general("The document holds no signature");
        return resp;
    }
    resp.result = result_of(&report);
    if job.report {
        resp.others.push(Other {
            mime_type: Some(REPORT_MIME_TYPE.into()),
            value: validation::report::etsi_xml(&report).into_bytes(),
        });
    }
    if let (Some(data), Some((type_uri, _))) = (output, job.augment) {
        let item = Signed {
            which_doc: job.which_doc,
            mime_type: job.mime_type,
            data,
        };
        let mut augmented = AugmentedSignature {
            type_uri: Some(type_uri),
            ..Default::default()
        };
        match job.placement {
            Placement::SignatureObject => augmented.signature_objects.push(item),
            Placement::Document => augmented.documents_with_signature.push(item),
        }
        resp.augmented = Some(augmented);
    }
    resp
}

/// "Signature S-…: TOTAL-FAILED/HASH_FAILURE: <its first error>".
fn describe(sig: &validation::SignatureReport) -> String {
    let mut text = format!("Signature {}: {}", sig.evidence.id, sig.indication);
    if let Some(sub) = sig.sub_indication {
        text.push('/');
        text.push_str(sub.name());
    }
    if let Some(first) = sig.errors.first() {
        text.push_str(": ");
        text.push_str(first);
    }
    text
}

/// The DSS-X result of a validation report (see the module documentation).
fn result_of(report: &ValidationReport) -> DssResult {
    let overall = report.indication();
    let first = report.signatures.iter().find(|s| s.indication == overall);
    match overall {
        Indication::TotalPassed => DssResult {
            major: major::SUCCESS,
            minor: Some(if report.signatures.len() > 1 {
                minor::VALID_MULTI_SIGNATURES
            } else {
                minor::VALID_ON_ALL_DOCUMENTS
            }),
            message: None,
        },
        Indication::TotalFailed => DssResult {
            major: major::SUCCESS,
            minor: Some(minor::INCORRECT_SIGNATURE),
            message: Some(first.map_or_else(|| "No signature".into(), describe)),
        },
        Indication::Indeterminate => DssResult {
            major: major::INSUFFICIENT_INFORMATION,
            minor: Some(indeterminate_minor(first.and_then(|s| s.sub_indication))),
            message: first.map(describe),
        },
    }
}

fn indeterminate_minor(sub: Option<SubIndication>) -> &'static str {
    match sub {
        Some(SubIndication::NoCertificateChainFound) => minor::CERTIFICATE_CHAIN_NOT_COMPLETE,
        Some(s) => s.uri(),
        None => "urn:etsi:019102:mainindication:indeterminate",
    }
}

/// Why there is no report (or no augmented signature), as a DSS-X result.
fn error_result(e: VerificationError) -> DssResult {
    match e {
        VerificationError::Validation(ValidationError::TooLarge(text))
        | VerificationError::Validation(ValidationError::NotASignature(text)) => general(text),
        VerificationError::Validation(ValidationError::Configuration(text)) => {
            tracing::error!(error = %Untrusted(&text), "validation is misconfigured");
            DssResult::responder(minor::GENERAL_ERROR, format!("Validation failed: {text}"))
        }
        VerificationError::NotValid(report) => {
            let overall = report.indication();
            let why = report
                .signatures
                .iter()
                .find(|s| s.indication == overall)
                .map_or_else(|| "the document holds no signature".into(), describe);
            DssResult::requester(
                minor::INAPPROPRIATE_SIGNATURE,
                format!(
                    "Not augmented: only a signature that validates (TOTAL-PASSED) is augmented. {why}"
                ),
            )
        }
        VerificationError::Augmentation(e) => match e {
            AdesError::InvalidRequest(text) => not_supported(format!("Not augmented: {text}")),
            AdesError::InvalidDocument(text) | AdesError::TooLarge(text) => {
                general(format!("Not augmented: {text}"))
            }
            AdesError::TimeStamp(text) => DssResult::responder(
                minor::GENERAL_ERROR,
                format!("Not augmented: the time-stamping service failed: {text}"),
            ),
            AdesError::ValidationData(text) => DssResult::responder(
                minor::GENERAL_ERROR,
                format!("Not augmented: validation data could not be obtained: {text}"),
            ),
            AdesError::SignatureValue(text) | AdesError::Internal(text) => {
                tracing::error!(error = %Untrusted(&text), "augmentation failed");
                DssResult::responder(minor::GENERAL_ERROR, "Not augmented: internal error")
            }
        },
        VerificationError::Internal => {
            tracing::error!("validation task failed");
            DssResult::responder(minor::GENERAL_ERROR, "Internal error")
        }
    }
}

#[cfg(test)]
mod tests {
    use signet_dssx::verify::InputDocument;
    use signet_service::verification::OffsetDateTime;
    use signet_service::verification::validation::{SignatureEvidence, SignatureReport};

    use super::*;

    const PASSED: Indication = Indication::TotalPassed;
    const FAILED: Indication = Indication::TotalFailed;
    const INDETERMINATE: Indication = Indication::Indeterminate;

    fn signature(
        id: &str,
        indication: Indication,
        sub: Option<SubIndication>,
        errors: &[&str],
    ) -> SignatureReport {
        SignatureReport {
            evidence: SignatureEvidence::new(id.into(), Format::Pades),
            indication,
            sub_indication: sub,
            level: Some(Level::BB),
            best_signature_time: OffsetDateTime::UNIX_EPOCH,
            chain: Vec::new(),
            timestamps: Vec::new(),
            errors: errors.iter().map(|e| e.to_string()).collect(),
            warnings: Vec::new(),
            infos: Vec::new(),
        }
    }

    fn report(signatures: Vec<SignatureReport>) -> ValidationReport {
        ValidationReport {
            validation_time: OffsetDateTime::UNIX_EPOCH,
            document_sha256: "00".into(),
            document_name: None,
            signatures,
            trusted_lists: Vec::new(),
            policy: "test".into(),
        }
    }

    fn result(major: &'static str, minor: &'static str, message: Option<&str>) -> DssResult {
        DssResult {
            major,
            minor: Some(minor),
            message: message.map(str::to_owned),
        }
    }

    #[test]
    fn indications_map_onto_dss_result_codes() {
        assert_eq!(
            result_of(&report(vec![signature("S-1", PASSED, None, &[])])),
            result(major::SUCCESS, minor::VALID_ON_ALL_DOCUMENTS, None)
        );
        assert_eq!(
            result_of(&report(vec![
                signature("S-1", PASSED, None, &[]),
                signature("S-2", PASSED, None, &[]),
            ])),
            result(major::SUCCESS, minor::VALID_MULTI_SIGNATURES, None)
        );
        // TOTAL-FAILED wins over INDETERMINATE; the message names the first failed signature.
        assert_eq!(
            result_of(&report(vec![
                signature("S-1", PASSED, None, &[]),
                signature(
                    "S-2",
                    INDETERMINATE,
                    Some(SubIndication::TryLater),
                    &["no CRL"]
                ),
                signature(
                    "S-3",
                    FAILED,
                    Some(SubIndication::HashFailure),
                    &["signed data ByteRange [0 1 2 3]: digest mismatch", "second"],
                ),
            ])),
            result(
                major::SUCCESS,
                minor::INCORRECT_SIGNATURE,
                Some(
                    "Signature S-3: TOTAL-FAILED/HASH_FAILURE: signed data ByteRange [0 1 2 3]: digest mismatch"
                ),
            )
        );
        assert_eq!(
            result_of(&report(vec![signature(
                "S-1",
                INDETERMINATE,
                Some(SubIndication::NoCertificateChainFound),
                &["no certificate chain to a trust anchor: unknown issuer"],
            )])),
            result(
                major::INSUFFICIENT_INFORMATION,
                minor::CERTIFICATE_CHAIN_NOT_COMPLETE,
                Some(
                    "Signature S-1: INDETERMINATE/NO_CERTIFICATE_CHAIN_FOUND: no certificate chain to a trust anchor: unknown issuer"
                ),
            )
        );
        assert_eq!(
            result_of(&report(vec![signature(
                "S-1",
                INDETERMINATE,
                Some(SubIndication::TryLater),
                &[],
            )])),
            result(
                major::INSUFFICIENT_INFORMATION,
                "urn:etsi:019102:subindication:TRY_LATER",
                Some("Signature S-1: INDETERMINATE/TRY_LATER"),
            )
        );
        assert_eq!(
            result_of(&report(vec![signature("S-1", INDETERMINATE, None, &[])])).minor,
            Some("urn:etsi:019102:mainindication:indeterminate")
        );
        // Every sub-indication has its TS 119 102-2 URI.
        for &sub in SubIndication::ALL {
            assert_eq!(
                sub.uri(),
                format!("urn:etsi:019102:subindication:{}", sub.name()),
                "{sub}"
            );
            let r = result_of(&report(vec![signature("S", INDETERMINATE, Some(sub), &[])]));
            assert_eq!(r.major, major::INSUFFICIENT_INFORMATION);
            let want = match sub {
                SubIndication::NoCertificateChainFound => minor::CERTIFICATE_CHAIN_NOT_COMPLETE,
                _ => sub.uri(),
            };
            assert_eq!(r.minor, Some(want));
            let f = result_of(&report(vec![signature("S", FAILED, Some(sub), &[])]));
            assert_eq!(
                (f.major, f.minor),
                (major::SUCCESS, Some(minor::INCORRECT_SIGNATURE))
            );
        }
    }

    #[test]
    fn errors_map_onto_requester_and_responder() {
        let cases = [
            (
                VerificationError::Validation(ValidationError::TooLarge(
                    "the file has 20 bytes; the limit is 10 bytes".into(),
                )),
                DssResult::requester(
                    minor::GENERAL_ERROR,
                    "the file has 20 bytes; the limit is 10 bytes",
                ),
            ),
            (
                VerificationError::Validation(ValidationError::NotASignature("not a PDF".into())),
                DssResult::requester(minor::GENERAL_ERROR, "not a PDF"),
            ),
            (
                VerificationError::NotValid(Box::new(report(vec![signature(
                    "S-9",
                    INDETERMINATE,
                    Some(SubIndication::TryLater),
                    &["no revocation data"],
                )]))),
                DssResult::requester(
                    minor::INAPPROPRIATE_SIGNATURE,
                    "Not augmented: only a signature that validates (TOTAL-PASSED) is augmented. Signature S-9: INDETERMINATE/TRY_LATER: no revocation data",
                ),
            ),
            (
                VerificationError::Augmentation(AdesError::TimeStamp("connection refused".into())),
                DssResult::responder(
                    minor::GENERAL_ERROR,
                    "Not augmented: the time-stamping service failed: connection refused",
                ),
            ),
            (
                VerificationError::Augmentation(AdesError::InvalidRequest(
                    "JAdES compact serialization cannot carry unsigned properties".into(),
                )),
                DssResult::requester(
                    minor::NOT_SUPPORTED,
                    "Not augmented: JAdES compact serialization cannot carry unsigned properties",
                ),
            ),
            (
                VerificationError::Augmentation(AdesError::Internal("secret detail".into())),
                DssResult::responder(minor::GENERAL_ERROR, "Not augmented: internal error"),
            ),
            (
                VerificationError::Internal,
                DssResult::responder(minor::GENERAL_ERROR, "Internal error"),
            ),
        ];
        for (e, want) in cases {
            assert_eq!(error_result(e), want);
        }
    }

    fn doc(id: &str, data: &[u8]) -> InputDocument {
        InputDocument {
            id: Some(id.into()),
            ref_uri: None,
            mime_type: Some("text/plain".into()),
            data: data.to_vec(),
        }
    }

    fn sig(which: Option<&str>) -> Signed {
        Signed {
            which_doc: which.map(str::to_owned),
            mime_type: Some("application/pkcs7-signature".into()),
            data: vec![0x30, 0x03, 0x02, 0x01, 0x01],
        }
    }

    #[test]
    fn checks_inputs_and_options() {
        // A signature with its detached content: the content matched by RefURI, else ID.
        let mut named = doc("d1", b"content");
        named.ref_uri = Some("file.txt".into());
        let req = VerifyRequest {
            request_id: Some("r".into()),
            profiles: vec![VALIDATION_PROFILE.into(), ASYNC_PROFILE.into()],
            documents: vec![named, doc("d2", b"other")],
            signatures: vec![sig(Some("d1"))],
            options: dv::VerifyOptions {
                language: Some("en-GB".into()),
                return_report: true,
                return_augmented: Some("CAdES-B-LT".into()),
                ..Default::default()
            },
        };
        assert_eq!(
            check(req.clone()),
            Ok(Job {
                signed: vec![0x30, 0x03, 0x02, 0x01, 0x01],
                which_doc: Some("d1".into()),
                mime_type: Some("application/pkcs7-signature".into()),
                placement: Placement::SignatureObject,
                name: None,
                detached: vec![
                    DetachedContent {
                        name: Some("file.txt".into()),
                        bytes: b"content".to_vec()
                    },
                    DetachedContent {
                        name: Some("d2".into()),
                        bytes: b"other".to_vec()
                    },
                ],
                time: None,
                report: true,
                augment: Some(("CAdES-B-LT".into(), Level::BLt)),
                applied_profiles: vec![VALIDATION_PROFILE.into()],
            })
        );
        // A signed document alone.
        let pdf = VerifyRequest {
            documents: vec![InputDocument {
                id: Some("p".into()),
                ref_uri: None,
                mime_type: Some("application/pdf".into()),
                data: b"%PDF-1.7".to_vec(),
            }],
            options: dv::VerifyOptions {
                return_augmented: Some(
                    "http://uri.etsi.org/19432/v1.1.1/creationprofile#PAdES-B-LTA".into(),
                ),
                verification_time: Some(VerificationTime::Current),
                ..Default::default()
            },
            ..Default::default()
        };
        let job = check(pdf.clone()).unwrap();
        assert_eq!(
            (
                job.placement,
                job.name.as_deref(),
                job.which_doc.as_deref(),
                job.detached.len()
            ),
            (Placement::Document, Some("p"), Some("p"), 0)
        );
        assert_eq!(job.augment.map(|a| a.1), Some(Level::BLta));

        let refuse = |req: VerifyRequest| check(req).expect_err("refused");
        let with = |f: &dyn Fn(&mut VerifyRequest)| {
            let mut r = req.clone();
            f(&mut r);
            refuse(r)
        };
        assert_eq!(
            with(&|r| r.options.unsupported = vec!["Nonce".into(), "ReturnSignerIdentity".into()]),
            not_supported("Optional input(s) not supported: Nonce, ReturnSignerIdentity")
        );
        assert_eq!(
            with(&|r| r.options.language = Some("de".into())),
            not_supported(r#"Language "de": result messages are in English (en) only"#)
        );
        assert_eq!(
            with(&|r| r.profiles = vec!["urn:other".into()]),
            not_supported("Profile urn:other is not supported")
        );
        assert_eq!(
            with(&|r| r.signatures.push(sig(None))),
            not_supported("More than one SignatureObject: send one signature per VerifyRequest")
        );
        assert_eq!(
            with(&|r| r.signatures = vec![sig(Some("nope"))]),
            general(r#"SignatureObject WhichDoc "nope" names no Document of the request"#)
        );
        assert_eq!(
            with(&|r| {
                r.signatures.clear();
                r.documents.clear()
            })
            .major,
            major::REQUESTER_ERROR
        );
        assert_eq!(
            with(&|r| r.signatures.clear()).minor,
            Some(minor::NOT_SUPPORTED)
        );
        assert_eq!(
            with(&|r| r.options.return_augmented = Some("B-B".into())),
            not_supported(
                r#"ReturnAugmentedSignature "B-B": a signature is augmented to B-T, B-LT or B-LTA"#
            )
        );
        assert_eq!(
            with(&|r| r.options.return_augmented = Some("PAdES-B-LT".into())),
            general("ReturnAugmentedSignature names PAdES but the signature is CAdES")
        );
        assert_eq!(
            with(&|r| {
                r.options.verification_time =
                    Some(VerificationTime::Specific(OffsetDateTime::UNIX_EPOCH))
            })
            .minor,
            Some(minor::NOT_SUPPORTED)
        );
        // A validation at a given time without augmentation is fine.
        let mut at = req.clone();
        at.options.return_augmented = None;
        at.options.verification_time = Some(VerificationTime::Specific(OffsetDateTime::UNIX_EPOCH));
        assert_eq!(
            check(at).map(|j| j.time),
            Ok(Some(VerificationTime::Specific(OffsetDateTime::UNIX_EPOCH)))
        );
    }

    #[test]
    fn request_limit_fits_two_documents() {
        assert_eq!(request_limit(3 << 20), (8 << 20) + (1 << 20));
        assert_eq!(request_limit(usize::MAX), usize::MAX);
    }
}
