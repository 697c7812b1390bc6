//! `dss2:VerifyRequest` in, `dss2:VerifyResponse` out, with the XML helpers of the parent
//! module (same limits, same refusal of unexpected elements, same recording of optional
//! inputs Signet does not honour).

use roxmltree::Node;

use super::{
    attr, base64_data, base64_element, boolean, document, elements, foreign_name, is_dss,
    response_start, text, unexpected, write_document_with_signature, write_signature_object,
};
use crate::verify::{
    InputDocument, NS_VERIFICATION_REPORT, VerificationTime, VerifyOptions, VerifyRequest,
    VerifyResponse, date_time,
};
use crate::{Limits, ParseError, Signed};

/// The children of a `dss2:VerifyRequest` root.
pub(super) fn parse(root: Node<'_, '_>, limits: &Limits) -> Result<VerifyRequest, ParseError> {
    let mut req = VerifyRequest {
        request_id: root.attribute("RequestID").map(str::to_owned),
        ..Default::default()
    };
    // Inputs may name unsupported parts before OptionalInputs is read: kept apart, then merged.
    let mut unsupported = Vec::new();
    for child in elements(root)? {
        match (is_dss(child), child.tag_name().name()) {
            (true, "Profile") => req.profiles.push(text(child)?.trim().to_owned()),
            (true, "InputDocuments") => inputs(child, &mut req, &mut unsupported, limits)?,
            (true, "OptionalInputs") => req.options = options(child, limits)?,
            (true, "SignatureObject") => {
                signature_object(child, &mut req, &mut unsupported, limits)?
            }
            _ => return Err(unexpected(child, "VerifyRequest")),
        }
    }
    req.options.unsupported.extend(unsupported);
    Ok(req)
}

/// Room for one more document or signature.
fn count_check(req: &VerifyRequest, limits: &Limits) -> Result<(), ParseError> {
    limits.check_count(
        req.documents.len() + req.signatures.len() + 1,
        "documents and signatures",
    )
}

fn inputs(
    node: Node<'_, '_>,
    req: &mut VerifyRequest,
    unsupported: &mut Vec<String>,
    limits: &Limits,
) -> Result<(), ParseError> {
    for child in elements(node)? {
        count_check(req, limits)?;
        match (is_dss(child), child.tag_name().name()) {
            (true, "Document") => {
                let (mime_type, data) = document(child, limits, unsupported)?;
                req.documents.push(InputDocument {
                    id: child.attribute("ID").map(str::to_owned),
                    ref_uri: child.attribute("RefURI").map(str::to_owned),
                    mime_type,
                    data,
                });
            }
            // Verifying against a digest or a transformed document: named, not read.
            (true, name @ ("DocumentHash" | "TransformedData")) => {
                unsupported.push(name.to_owned())
            }
            _ => return Err(unexpected(child, "InputDocuments")),
        }
    }
    Ok(())
}

fn signature_object(
    node: Node<'_, '_>,
    req: &mut VerifyRequest,
    unsupported: &mut Vec<String>,
    limits: &Limits,
) -> Result<(), ParseError> {
    count_check(req, limits)?;
    let mut found = None;
    for part in elements(node)? {
        match (is_dss(part), part.tag_name().name()) {
            (true, "Base64Signature") => {
                let (mime, value) = base64_data(
                    part,
                    limits.max_document_bytes,
                    "SignatureObject",
                    unsupported,
                )?;
                found = Some((mime, value.unwrap_or_default()));
            }
            (true, "SignaturePtr") => {
                unsupported.push("SignatureObject/SignaturePtr".into());
                return Ok(());
            }
            _ => return Err(unexpected(part, "SignatureObject")),
        }
    }
    let Some((mime_type, data)) = found else {
        return Err(ParseError::general(
            "SignatureObject without Base64Signature",
        ));
    };
    req.signatures.push(Signed {
        which_doc: node.attribute("WhichDoc").map(str::to_owned),
        mime_type,
        data,
    });
    Ok(())
}

/// `ReturnVerificationReport`: present means yes, unless its text says `false`. The options of
/// the OASIS profile's element (children) are not honoured, so they are named.
fn return_report(node: Node<'_, '_>, unsupported: &mut Vec<String>) -> Result<bool, ParseError> {
    if !node.children().any(|c| c.is_element()) {
        return Ok(text(node)?.trim().is_empty() || boolean(node)?);
    }
    for c in elements(node)? {
        unsupported.push(format!("ReturnVerificationReport/{}", c.tag_name().name()));
    }
    Ok(true)
}

fn use_verification_time(
    node: Node<'_, '_>,
    unsupported: &mut Vec<String>,
) -> Result<Option<VerificationTime>, ParseError> {
    let children = elements(node)?;
    let [choice] = children.as_slice() else {
        return Err(ParseError::general(
            "UseVerificationTime needs exactly one of CurrentTime, SpecificTime, Base64Content",
        ));
    };
    match (is_dss(*choice), choice.tag_name().name()) {
        // CurrentTime false asks for nothing in particular: the current time too.
        (true, "CurrentTime") => boolean(*choice).map(|_| Some(VerificationTime::Current)),
        (true, "SpecificTime") => Ok(Some(VerificationTime::Specific(date_time(
            &text(*choice)?,
            "SpecificTime",
        )?))),
        (true, "Base64Content") => {
            unsupported.push("UseVerificationTime/Base64Content".into());
            Ok(None)
        }
        _ => Err(unexpected(*choice, "UseVerificationTime")),
    }
}

fn options(node: Node<'_, '_>, limits: &Limits) -> Result<VerifyOptions, ParseError> {
    let mut o = VerifyOptions::default();
    for child in elements(node)? {
        let name = child.tag_name().name();
        let namespace = child.tag_name().namespace();
        if name == "ReturnVerificationReport"
            && (is_dss(child) || namespace == Some(NS_VERIFICATION_REPORT))
        {
            o.return_report |= return_report(child, &mut o.unsupported)?;
            continue;
        }
        if !is_dss(child) {
            o.unsupported.push(foreign_name(child));
            continue;
        }
        match name {
            "Language" => o.language = Some(text(child)?.trim().to_owned()),
            "Other" => {
                let (mime, _) =
                    base64_data(child, limits.max_small_bytes, "Other", &mut o.unsupported)?;
                o.other(mime.as_deref());
            }
            "UseVerificationTime" => {
                o.verification_time = use_verification_time(child, &mut o.unsupported)?
            }
            "ReturnAugmentedSignature" => o.return_augmented = Some(text(child)?.trim().to_owned()),
            // Asked for something Signet does not return: named; `false` asks for nothing.
            "ReturnVerificationTimeInfo"
            | "ReturnProcessingDetails"
            | "ReturnSigningTimeInfo"
            | "ReturnSignerIdentity"
            | "VerifyManifests"
            | "EnforceAsynchronousProcessing" => {
                if boolean(child)? {
                    o.unsupported.push(name.to_owned());
                }
            }
            other => o.unsupported.push(other.to_owned()),
        }
    }
    Ok(o)
}

/// Writes a `dss2:VerifyResponse` in the order of `dss2:VerifyResponseType`: Result,
/// AppliedProfile*, OptionalOutputs? (dsb:Other*, …, AugmentedSignature*).
pub fn write_verify(resp: &VerifyResponse) -> Vec<u8> {
    let augmented = resp.augmented.iter().flat_map(|a| {
        a.signature_objects
            .iter()
            .chain(&a.documents_with_signature)
    });
    let mut out = response_start(
        "dss2:VerifyResponse",
        augmented
            .map(|s| s.data.len())
            .chain(resp.others.iter().map(|o| o.value.len())),
        &resp.result,
        &resp.applied_profiles,
        resp.request_id.as_deref(),
        resp.response_id.as_deref(),
    );
    if !resp.others.is_empty() || resp.augmented.is_some() {
        out.push_str("<dss2:OptionalOutputs>");
        for o in &resp.others {
            base64_element(&mut out, "dsb:Other", o.mime_type.as_deref(), &o.value);
        }
        if let Some(a) = &resp.augmented {
            out.push_str("<dss2:AugmentedSignature");
            attr(&mut out, "Type", a.type_uri.as_deref());
            out.push('>');
            for s in &a.signature_objects {
                write_signature_object(&mut out, s);
            }
            for d in &a.documents_with_signature {
                write_document_with_signature(&mut out, d);
            }
            out.push_str("</dss2:AugmentedSignature>");
        }
        out.push_str("</dss2:OptionalOutputs>");
    }
    out.push_str("</dss2:VerifyResponse>\n");
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    use super::*;
    use crate::verify::{AugmentedSignature, REPORT_MIME_TYPE};
    use crate::{DssResult, Kind, Message, Other, TEST_LIMITS as L, major, minor};

    const HEAD: &str = r#"<dss2:VerifyRequest xmlns:dss2="http://docs.oasis-open.org/dss-x/ns/core" xmlns:dsb="http://docs.oasis-open.org/dss-x/ns/base" RequestID="v-1">"#;

    fn verify(xml: &str) -> Result<VerifyRequest, ParseError> {
        match super::super::parse(xml.as_bytes(), Kind::Verify, &L)? {
            Message::Verify(r) => Ok(*r),
            other => panic!("{other:?}"),
        }
    }

    fn options(inner: &str) -> VerifyOptions {
        verify(&format!(
            "{HEAD}<dss2:OptionalInputs>{inner}</dss2:OptionalInputs></dss2:VerifyRequest>"
        ))
        .unwrap()
        .options
    }

    fn refused(xml: &str) -> (&'static str, String, Option<String>) {
        match verify(xml) {
            Err(ParseError::Requester {
                minor,
                message,
                request_id,
            }) => (minor, message, request_id),
            other => panic!("expected a refusal: {other:?}"),
        }
    }

    #[test]
    fn parses_every_field_signet_reads() {
        let xml = format!(
            r#"{HEAD}<dsb:Profile>http://uri.etsi.org/19442/v1.1.1/validationprofile#</dsb:Profile>
<dss2:InputDocuments><dss2:Document ID="d1" RefURI="content.txt"><dss2:Base64Data MimeType="text/plain"><dsb:Value>aGVs
bG8=</dsb:Value></dss2:Base64Data></dss2:Document></dss2:InputDocuments>
<dss2:OptionalInputs><dsb:Language>en</dsb:Language><dss2:UseVerificationTime><dss2:SpecificTime>2025-01-31T12:30:00Z</dss2:SpecificTime></dss2:UseVerificationTime><dss2:ReturnSigningTimeInfo>false</dss2:ReturnSigningTimeInfo><dss2:ReturnAugmentedSignature>http://uri.etsi.org/19102/v1.4.1#B-LTA</dss2:ReturnAugmentedSignature><dss2:ReturnVerificationReport/></dss2:OptionalInputs>
<dss2:SignatureObject WhichDoc="d1"><dss2:Base64Signature MimeType="application/pkcs7-signature"><dsb:Value>MAEC</dsb:Value></dss2:Base64Signature></dss2:SignatureObject></dss2:VerifyRequest>"#
        );
        let at = date_time("2025-01-31T12:30:00Z", "t").unwrap();
        assert_eq!(
            verify(&xml).unwrap(),
            VerifyRequest {
                request_id: Some("v-1".into()),
                profiles: vec!["http://uri.etsi.org/19442/v1.1.1/validationprofile#".into()],
                documents: vec![InputDocument {
                    id: Some("d1".into()),
                    ref_uri: Some("content.txt".into()),
                    mime_type: Some("text/plain".into()),
                    data: b"hello".to_vec(),
                }],
                signatures: vec![Signed {
                    which_doc: Some("d1".into()),
                    mime_type: Some("application/pkcs7-signature".into()),
                    data: vec![0x30, 0x01, 0x02],
                }],
                options: VerifyOptions {
                    language: Some("en".into()),
                    return_report: true,
                    verification_time: Some(VerificationTime::Specific(at)),
                    return_augmented: Some("http://uri.etsi.org/19102/v1.4.1#B-LTA".into()),
                    unsupported: vec![],
                },
            }
        );
        // A signed document alone, no options at all.
        let bare = format!(
            r#"{HEAD}<dss2:InputDocuments><dss2:Document><dss2:Base64Data><dsb:Value>JVBERi0=</dsb:Value></dss2:Base64Data></dss2:Document></dss2:InputDocuments></dss2:VerifyRequest>"#
        );
        let r = verify(&bare).unwrap();
        assert_eq!(r.documents[0].data, b"%PDF-".to_vec());
        assert_eq!(r.documents[0].name(), None);
        assert!(r.signatures.is_empty());
        assert_eq!(r.options, VerifyOptions::default());
    }

    #[test]
    fn the_report_is_asked_for_in_three_spellings() {
        let vr = NS_VERIFICATION_REPORT;
        for (inner, want) in [
            ("<dss2:ReturnVerificationReport/>", true),
            (
                "<dss2:ReturnVerificationReport>true</dss2:ReturnVerificationReport>",
                true,
            ),
            (
                "<dss2:ReturnVerificationReport> 0 </dss2:ReturnVerificationReport>",
                false,
            ),
            (
                &format!(r#"<vr:ReturnVerificationReport xmlns:vr="{vr}"/>"#),
                true,
            ),
            (
                &format!(
                    r#"<dsb:Other MimeType="{REPORT_MIME_TYPE}"><dsb:Value></dsb:Value></dsb:Other>"#
                ),
                true,
            ),
            ("", false),
        ] {
            let o = options(inner);
            assert_eq!((o.return_report, o.unsupported.len()), (want, 0), "{inner}");
        }
        let o = options(&format!(
            r#"<vr:ReturnVerificationReport xmlns:vr="{vr}"><vr:IncludeVerifier>false</vr:IncludeVerifier></vr:ReturnVerificationReport>"#
        ));
        assert!(o.return_report);
        assert_eq!(
            o.unsupported,
            vec!["ReturnVerificationReport/IncludeVerifier"]
        );
        let (m, message, _) = refused(&format!(
            "{HEAD}<dss2:OptionalInputs><dss2:ReturnVerificationReport>maybe</dss2:ReturnVerificationReport></dss2:OptionalInputs></dss2:VerifyRequest>"
        ));
        assert_eq!(m, minor::GENERAL_ERROR);
        assert_eq!(
            message,
            r#"ReturnVerificationReport must be a boolean, not "maybe""#
        );
    }

    #[test]
    fn unsupported_inputs_are_named() {
        let o = options(
            r#"<dsb:ServicePolicy>urn:p</dsb:ServicePolicy><dsb:Other MimeType="application/x-foo"><dsb:Value>AA==</dsb:Value></dsb:Other><dss2:Nonce>4</dss2:Nonce><dss2:UseVerificationTime><dss2:Base64Content>AA==</dss2:Base64Content></dss2:UseVerificationTime><dss2:ReturnVerificationTimeInfo>false</dss2:ReturnVerificationTimeInfo><dss2:AdditionalKeyInfo><dss2:KeyName>k</dss2:KeyName></dss2:AdditionalKeyInfo><dss2:ReturnSignerIdentity>true</dss2:ReturnSignerIdentity><dss2:ReturnTimestampedSignature>urn:ietf:rfc:3161</dss2:ReturnTimestampedSignature><x:Extra xmlns:x="urn:x"/>"#,
        );
        assert_eq!(
            o.unsupported,
            vec![
                "ServicePolicy",
                r#"Other with MimeType "application/x-foo""#,
                "Nonce",
                "UseVerificationTime/Base64Content",
                "AdditionalKeyInfo",
                "ReturnSignerIdentity",
                "ReturnTimestampedSignature",
                "{urn:x}Extra",
            ]
        );
        assert_eq!(o.verification_time, None);
        let r = verify(&format!(
            r#"{HEAD}<dss2:InputDocuments><dss2:DocumentHash><dss2:DigestInfos><dsb:DigestMethod>x</dsb:DigestMethod><dsb:DigestValue>AA==</dsb:DigestValue></dss2:DigestInfos></dss2:DocumentHash></dss2:InputDocuments><dss2:OptionalInputs><dss2:Nonce>1</dss2:Nonce></dss2:OptionalInputs><dss2:SignatureObject><dss2:SignaturePtr WhichData="d"/></dss2:SignatureObject></dss2:VerifyRequest>"#
        ))
        .unwrap();
        // Unsupported inputs before OptionalInputs are kept, not overwritten by it.
        assert_eq!(
            r.options.unsupported,
            vec!["Nonce", "DocumentHash", "SignatureObject/SignaturePtr"]
        );
        assert!(r.signatures.is_empty());
        assert_eq!(
            options("<dss2:UseVerificationTime><dss2:CurrentTime>true</dss2:CurrentTime></dss2:UseVerificationTime>")
                .verification_time,
            Some(VerificationTime::Current)
        );
    }

    #[test]
    fn hostile_and_malformed_requests() {
        let dtd = format!(
            r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]>{HEAD}</dss2:VerifyRequest>"#
        );
        assert_eq!(refused(&dtd).0, minor::NOT_SUPPORTED);
        let deep = format!(
            "{HEAD}{}{}</dss2:VerifyRequest>",
            "<a>".repeat(100),
            "</a>".repeat(100)
        );
        assert_eq!(
            refused(&deep).1,
            "The XML request is nested deeper than 32 levels"
        );
        // Oversized Base64 is refused before decoding, naming the limit, with the RequestID.
        let big = format!(
            r#"{HEAD}<dss2:SignatureObject><dss2:Base64Signature><dsb:Value>{}</dsb:Value></dss2:Base64Signature></dss2:SignatureObject></dss2:VerifyRequest>"#,
            "A".repeat(4096)
        );
        assert_eq!(
            refused(&big),
            (
                minor::GENERAL_ERROR,
                "SignatureObject is larger than the limit of 1024 bytes".into(),
                Some("v-1".into())
            )
        );
        let big_doc = big
            .replace("dss2:SignatureObject>", "dss2:InputDocuments>")
            .replace("<dss2:SignatureObject>", "<dss2:InputDocuments>")
            .replace("dss2:Base64Signature", "dss2:Document><dss2:Base64Data")
            .replace(
                "</dsb:Value></dss2:Document><dss2:Base64Data>",
                "</dsb:Value></dss2:Base64Data></dss2:Document>",
            );
        assert_eq!(
            refused(&big_doc).1,
            "Document is larger than the limit of 1024 bytes"
        );
        let not_b64 = format!(
            r#"{HEAD}<dss2:SignatureObject><dss2:Base64Signature><dsb:Value>!!!!</dsb:Value></dss2:Base64Signature></dss2:SignatureObject></dss2:VerifyRequest>"#
        );
        assert_eq!(refused(&not_b64).1, "SignatureObject is not valid Base64");
        let five = format!(
            "{HEAD}{}</dss2:VerifyRequest>",
            r#"<dss2:SignatureObject><dss2:Base64Signature><dsb:Value>AA==</dsb:Value></dss2:Base64Signature></dss2:SignatureObject>"#.repeat(5)
        );
        assert_eq!(
            refused(&five).1,
            "Too many documents and signatures: at most 4 per request"
        );
        let bad_time = format!(
            "{HEAD}<dss2:OptionalInputs><dss2:UseVerificationTime><dss2:SpecificTime>2025-01-31T12:00:00</dss2:SpecificTime></dss2:UseVerificationTime></dss2:OptionalInputs></dss2:VerifyRequest>"
        );
        assert!(refused(&bad_time).1.starts_with(
            r#"SpecificTime "2025-01-31T12:00:00" is not a date and time with a time zone"#
        ));
        let two_times = format!(
            "{HEAD}<dss2:OptionalInputs><dss2:UseVerificationTime><dss2:CurrentTime>true</dss2:CurrentTime><dss2:CurrentTime>true</dss2:CurrentTime></dss2:UseVerificationTime></dss2:OptionalInputs></dss2:VerifyRequest>"
        );
        assert!(refused(&two_times).1.contains("exactly one"));
        let stray = format!("{HEAD}<dss2:KeySelector/></dss2:VerifyRequest>");
        assert_eq!(
            refused(&stray).1,
            "Unexpected element KeySelector in VerifyRequest"
        );
        let empty_sig =
            format!("{HEAD}<dss2:SignatureObject></dss2:SignatureObject></dss2:VerifyRequest>");
        assert_eq!(
            refused(&empty_sig).1,
            "SignatureObject without Base64Signature"
        );
        // A SignRequest root is not a VerifyRequest.
        assert!(matches!(
            verify(&format!(
                "{}</dss2:SignRequest>",
                HEAD.replace("VerifyRequest", "SignRequest")
            )),
            Err(ParseError::NotDss(_))
        ));
    }

    /// xmllint against the repository's copy of the DSS-X 2.0 core schema (the message on
    /// stdin); skipped with a note when xmllint is missing, unless SIGNET_REQUIRE_INTEROP.
    fn schema_valid(xml: &[u8]) {
        let schema = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/spec/dss-x/oasis-dss-core-schema-v2.0.xsd"
        );
        let child = Command::new("xmllint")
            .args(["--noout", "--nonet", "--schema", schema, "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let Ok(mut child) = child else {
            assert!(
                std::env::var_os("SIGNET_REQUIRE_INTEROP").is_none(),
                "xmllint is required"
            );
            eprintln!("SKIPPED: xmllint not found, the schema check did not run");
            return;
        };
        child.stdin.take().unwrap().write_all(xml).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(xml)
        );
    }

    fn full_response() -> VerifyResponse {
        let mut resp = VerifyResponse::new(
            DssResult {
                major: major::SUCCESS,
                minor: Some(minor::VALID_ON_ALL_DOCUMENTS),
                message: None,
            },
            Some("v&1".into()),
        );
        resp.response_id = Some("r-2".into());
        resp.applied_profiles = vec!["http://uri.etsi.org/19442/v1.1.1/validationprofile#".into()];
        resp.others.push(Other {
            mime_type: Some(REPORT_MIME_TYPE.into()),
            value: b"<vr:ValidationReport/>".to_vec(),
        });
        resp.augmented = Some(AugmentedSignature {
            type_uri: Some("B-LTA".into()),
            signature_objects: vec![Signed {
                which_doc: Some("d1".into()),
                mime_type: Some("application/pkcs7-signature".into()),
                data: vec![1, 2, 3],
            }],
            documents_with_signature: vec![Signed {
                which_doc: None,
                mime_type: Some("application/pdf".into()),
                data: b"%PDF-".to_vec(),
            }],
        });
        resp
    }

    #[test]
    fn responses_are_schema_valid() {
        let text = String::from_utf8(write_verify(&full_response())).unwrap();
        assert_eq!(
            text,
            concat!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
                r#"<dss2:VerifyResponse xmlns:dss2="http://docs.oasis-open.org/dss-x/ns/core" xmlns:dsb="http://docs.oasis-open.org/dss-x/ns/base" RequestID="v&amp;1" ResponseID="r-2">"#,
                "<dsb:Result><dsb:ResultMajor>urn:oasis:names:tc:dss:1.0:resultmajor:Success</dsb:ResultMajor><dsb:ResultMinor>urn:oasis:names:tc:dss:1.0:resultminor:valid:signature:OnAllDocuments</dsb:ResultMinor></dsb:Result>",
                "<dsb:AppliedProfile>http://uri.etsi.org/19442/v1.1.1/validationprofile#</dsb:AppliedProfile>",
                r#"<dss2:OptionalOutputs><dsb:Other MimeType="application/vnd.etsi.ts119102-2+xml"><dsb:Value>PHZyOlZhbGlkYXRpb25SZXBvcnQvPg==</dsb:Value></dsb:Other>"#,
                r#"<dss2:AugmentedSignature Type="B-LTA"><dss2:SignatureObject WhichDoc="d1"><dss2:Base64Signature MimeType="application/pkcs7-signature"><dsb:Value>AQID</dsb:Value></dss2:Base64Signature></dss2:SignatureObject>"#,
                r#"<dss2:DocumentWithSignature><dss2:Document><dss2:Base64Data MimeType="application/pdf"><dsb:Value>JVBERi0=</dsb:Value></dss2:Base64Data></dss2:Document></dss2:DocumentWithSignature></dss2:AugmentedSignature>"#,
                "</dss2:OptionalOutputs></dss2:VerifyResponse>\n"
            )
        );
        schema_valid(text.as_bytes());
        for result in [
            DssResult {
                major: major::SUCCESS,
                minor: Some(minor::INCORRECT_SIGNATURE),
                message: Some("S-1: TOTAL-FAILED/HASH_FAILURE: digest <mismatch>".into()),
            },
            DssResult {
                major: major::INSUFFICIENT_INFORMATION,
                minor: Some("urn:etsi:019102:subindication:TRY_LATER"),
                message: Some("no revocation data".into()),
            },
            DssResult::requester(
                minor::NOT_SUPPORTED,
                "Optional input(s) not supported: Nonce",
            ),
            DssResult::responder(minor::GENERAL_ERROR, "the TSA is down"),
        ] {
            let resp = VerifyResponse::new(result, None);
            schema_valid(&write_verify(&resp));
        }
        let mut report_only = VerifyResponse::new(DssResult::success(), None);
        report_only.others = full_response().others;
        schema_valid(&write_verify(&report_only));
        let mut documents_only = full_response();
        if let Some(a) = documents_only.augmented.as_mut() {
            a.signature_objects.clear();
            a.type_uri = None;
        }
        documents_only.others.clear();
        schema_valid(&write_verify(&documents_only));
    }
}
