//! `verifyReq` in, a bare `dss2-VerifyResponseType` object out, with the JSON helpers of the
//! parent module. Signet also reads `optInp.returnVerificationReport` (a boolean, the JSON
//! spelling of the verification report profile's `ReturnVerificationReport`); the
//! schema-valid way to ask is `optInp.other` with [`REPORT_MIME_TYPE`].

use serde_json::{Value, json};

use super::{
    Obj, arr, b64_data, base64_data, boolean, count, document, documents_with_signature, obj,
    opt_string, response_base, signature_objects, string, strings,
};
use crate::verify::{
    InputDocument, VerificationTime, VerifyOptions, VerifyRequest, VerifyResponse, date_time,
};
use crate::{Limits, ParseError, Signed};

pub(super) fn parse(o: &Obj, limits: &Limits) -> Result<VerifyRequest, ParseError> {
    let mut req = VerifyRequest {
        request_id: opt_string(o, "reqID", "verifyReq")?,
        ..Default::default()
    };
    // Optional inputs first: documents and signatures add their own unsupported entries.
    if let Some(v) = o.get("optInp").filter(|v| !v.is_null()) {
        req.options = options(obj(v, "optInp")?, limits)?;
    }
    let docs = o
        .get("inDocs")
        .and_then(Value::as_object)
        .map_or(0, |d| count(d, "doc"));
    limits.check_count(docs + count(o, "sigObj"), "documents and signatures")?;
    for (k, v) in o {
        match k.as_str() {
            "reqID" | "optInp" => {}
            "profile" => req.profiles = strings(v, "profile")?,
            "inDocs" => inputs(obj(v, "inDocs")?, &mut req, limits)?,
            "sigObj" => {
                for s in arr(v, "sigObj")? {
                    signature_object(obj(s, "sigObj[]")?, &mut req, limits)?;
                }
            }
            other => return Err(ParseError::general(format!("Unknown member {other}"))),
        }
    }
    Ok(req)
}

fn inputs(o: &Obj, req: &mut VerifyRequest, limits: &Limits) -> Result<(), ParseError> {
    for (k, v) in o {
        match k.as_str() {
            "doc" => {
                for d in arr(v, "inDocs.doc")? {
                    let (d, mime_type, data) = document(d, limits, &mut req.options.unsupported)?;
                    req.documents.push(InputDocument {
                        id: opt_string(d, "ID", "doc")?,
                        ref_uri: opt_string(d, "refURI", "doc")?,
                        mime_type,
                        data,
                    });
                }
            }
            "docHash" => req.options.unsupported.push("DocumentHash".into()),
            "transformed" => req.options.unsupported.push("TransformedData".into()),
            other => {
                return Err(ParseError::general(format!(
                    "Unknown member inDocs.{other}"
                )));
            }
        }
    }
    Ok(())
}

fn signature_object(o: &Obj, req: &mut VerifyRequest, limits: &Limits) -> Result<(), ParseError> {
    if o.get("sigPtr").is_some_and(|v| !v.is_null()) {
        req.options
            .unsupported
            .push("SignatureObject/SignaturePtr".into());
        return Ok(());
    }
    let data = o
        .get("b64Sig")
        .filter(|v| !v.is_null())
        .ok_or_else(|| ParseError::general("sigObj without b64Sig"))?;
    let (mime_type, data) = base64_data(
        data,
        limits.max_document_bytes,
        "SignatureObject",
        &mut req.options.unsupported,
    )?;
    req.signatures.push(Signed {
        which_doc: opt_string(o, "whichDoc", "sigObj")?,
        mime_type,
        data: data.unwrap_or_default(),
    });
    Ok(())
}

fn use_verification_time(
    v: &Value,
    unsupported: &mut Vec<String>,
) -> Result<Option<VerificationTime>, ParseError> {
    let o = obj(v, "useVerificationTime")?;
    let present: Vec<(&String, &Value)> = o.iter().filter(|(_, v)| !v.is_null()).collect();
    let [(key, value)] = present.as_slice() else {
        return Err(ParseError::general(
            "useVerificationTime needs exactly one of currTime, specTime, b64Content",
        ));
    };
    match key.as_str() {
        "currTime" => {
            boolean(value, "useVerificationTime.currTime").map(|_| Some(VerificationTime::Current))
        }
        "specTime" => Ok(Some(VerificationTime::Specific(date_time(
            &string(value, "useVerificationTime.specTime")?,
            "specTime",
        )?))),
        "b64Content" => {
            unsupported.push("UseVerificationTime/Base64Content".into());
            Ok(None)
        }
        other => Err(ParseError::general(format!(
            "Unknown member useVerificationTime.{other}"
        ))),
    }
}

fn options(o: &Obj, limits: &Limits) -> Result<VerifyOptions, ParseError> {
    let mut out = VerifyOptions::default();
    for (k, v) in o {
        if v.is_null() {
            continue;
        }
        match k.as_str() {
            "lang" => out.language = Some(string(v, "lang")?),
            "other" => {
                for item in arr(v, "other")? {
                    let (mime, _) =
                        base64_data(item, limits.max_small_bytes, "Other", &mut out.unsupported)?;
                    out.other(mime.as_deref());
                }
            }
            "returnVerificationReport" => {
                out.return_report |= boolean(v, "returnVerificationReport")?
            }
            "useVerificationTime" => {
                out.verification_time = use_verification_time(v, &mut out.unsupported)?
            }
            "returnAugmented" => out.return_augmented = Some(string(v, "returnAugmented")?),
            // Asked for something Signet does not return: named; `false` asks for nothing.
            "returnVerificationTime"
            | "returnProcDetails"
            | "returnSigningTime"
            | "returnSigner"
            | "verifyManifests"
            | "enforceAsync" => {
                if boolean(v, k)? {
                    out.unsupported.push(xml_name(k).to_owned());
                }
            }
            "returnTimestamped" => {
                if !arr(v, "returnTimestamped")?.is_empty() {
                    out.unsupported.push("ReturnTimestampedSignature".into());
                }
            }
            other => out.unsupported.push(xml_name(other).to_owned()),
        }
    }
    Ok(out)
}

/// The XML element name of a JSON member, so that NotSupported names the input the same way
/// in both syntaxes.
fn xml_name(member: &str) -> &str {
    match member {
        "policy" => "ServicePolicy",
        "claimedIdentity" => "ClaimedIdentity",
        "schemas" => "Schemas",
        "addTimestamp" => "AddTimestamp",
        "nonce" => "Nonce",
        "addKeyInfo" => "AdditionalKeyInfo",
        "returnVerificationTime" => "ReturnVerificationTimeInfo",
        "returnProcDetails" => "ReturnProcessingDetails",
        "returnSigningTime" => "ReturnSigningTimeInfo",
        "returnSigner" => "ReturnSignerIdentity",
        "verifyManifests" => "VerifyManifests",
        "enforceAsync" => "EnforceAsynchronousProcessing",
        other => other,
    }
}

/// A bare `dss2-VerifyResponseType` object (the OpenAPI `/verify` response).
pub fn write_verify(resp: &VerifyResponse) -> Vec<u8> {
    let mut o = response_base(
        &resp.result,
        &resp.applied_profiles,
        resp.request_id.as_deref(),
        resp.response_id.as_deref(),
    );
    let mut outputs = Obj::new();
    if !resp.others.is_empty() {
        let others = resp
            .others
            .iter()
            .map(|x| b64_data(x.mime_type.as_deref(), &x.value))
            .collect();
        outputs.insert("other".into(), Value::Array(others));
    }
    if let Some(a) = &resp.augmented {
        let mut aug = Obj::new();
        if let Some(t) = &a.type_uri {
            aug.insert("type".into(), json!(t));
        }
        if !a.signature_objects.is_empty() {
            aug.insert("sigObj".into(), signature_objects(&a.signature_objects));
        }
        if !a.documents_with_signature.is_empty() {
            aug.insert(
                "docWithSignature".into(),
                documents_with_signature(&a.documents_with_signature),
            );
        }
        outputs.insert("augSig".into(), json!([Value::Object(aug)]));
    }
    if !outputs.is_empty() {
        o.insert("optOutp".into(), Value::Object(outputs));
    }
    serde_json::to_vec(&Value::Object(o)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::{AugmentedSignature, REPORT_MIME_TYPE};
    use crate::{DssResult, Kind, Message, Other, TEST_LIMITS as L, minor};

    fn verify(body: &Value) -> Result<VerifyRequest, ParseError> {
        match super::super::parse(body.to_string().as_bytes(), Kind::Verify, &L)? {
            Message::Verify(r) => Ok(*r),
            other => panic!("{other:?}"),
        }
    }

    fn refused(body: &Value) -> (&'static str, String, Option<String>) {
        match verify(body) {
            Err(ParseError::Requester {
                minor,
                message,
                request_id,
            }) => (minor, message, request_id),
            other => panic!("expected a refusal: {other:?}"),
        }
    }

    #[test]
    fn parses_short_names() {
        let body = json!({"verifyReq": {
            "reqID": "v1",
            "profile": ["http://uri.etsi.org/19442/v1.1.1/validationprofile#"],
            "inDocs": {"doc": [{"ID": "d1", "refURI": "content.txt", "b64Data": {"val": "aGVsbG8=", "mimeType": "text/plain"}}]},
            "sigObj": [{"whichDoc": "d1", "b64Sig": {"val": "MAEC", "mimeType": "application/jose"}}],
            "optInp": {
                "lang": "en",
                "returnVerificationReport": true,
                "useVerificationTime": {"specTime": "2025-01-31T12:30:00Z"},
                "returnAugmented": "B-LT",
                "returnSigner": false,
                "returnTimestamped": [],
                "nonce": null
            }
        }});
        assert_eq!(
            verify(&body).unwrap(),
            VerifyRequest {
                request_id: Some("v1".into()),
                profiles: vec!["http://uri.etsi.org/19442/v1.1.1/validationprofile#".into()],
                documents: vec![InputDocument {
                    id: Some("d1".into()),
                    ref_uri: Some("content.txt".into()),
                    mime_type: Some("text/plain".into()),
                    data: b"hello".to_vec(),
                }],
                signatures: vec![Signed {
                    which_doc: Some("d1".into()),
                    mime_type: Some("application/jose".into()),
                    data: vec![0x30, 0x01, 0x02],
                }],
                options: VerifyOptions {
                    language: Some("en".into()),
                    return_report: true,
                    verification_time: Some(VerificationTime::Specific(
                        date_time("2025-01-31T12:30:00Z", "t").unwrap()
                    )),
                    return_augmented: Some("B-LT".into()),
                    unsupported: vec![],
                },
            }
        );
        // The bare object, the report asked for the schema-valid way, the current time.
        let bare = json!({
            "sigObj": [{"b64Sig": {"val": "AA=="}}],
            "optInp": {"other": [{"mimeType": REPORT_MIME_TYPE}], "useVerificationTime": {"currTime": true}}
        });
        let r = verify(&bare).unwrap();
        assert!(r.options.return_report);
        assert_eq!(r.options.verification_time, Some(VerificationTime::Current));
        assert!(matches!(
            super::super::parse(br#"{"signReq":{}}"#, Kind::Verify, &L),
            Err(ParseError::NotDss(_))
        ));
    }

    #[test]
    fn unsupported_inputs_are_named_as_in_xml() {
        let body = json!({
            "inDocs": {"docHash": [{"dis": []}]},
            "sigObj": [{"sigPtr": {"whichData": "d"}}],
            "optInp": {
                "policy": ["urn:p"],
                "other": [{"mimeType": "application/x-foo", "val": "AA=="}],
                "addKeyInfo": [{"keyName": "k"}],
                "returnVerificationTime": true,
                "returnProcDetails": false,
                "returnTimestamped": ["urn:ietf:rfc:3161"],
                "useVerificationTime": {"b64Content": "AA=="},
                "custom": 1
            }
        });
        let r = verify(&body).unwrap();
        let mut names = r.options.unsupported.clone();
        names.sort();
        assert_eq!(
            names,
            vec![
                "AdditionalKeyInfo",
                "DocumentHash",
                r#"Other with MimeType "application/x-foo""#,
                "ReturnTimestampedSignature",
                "ReturnVerificationTimeInfo",
                "ServicePolicy",
                "SignatureObject/SignaturePtr",
                "UseVerificationTime/Base64Content",
                "custom",
            ]
        );
        assert!(r.signatures.is_empty());
    }

    #[test]
    fn hostile_and_malformed_requests() {
        let big = json!({"reqID": "v9", "sigObj": [{"b64Sig": {"val": "A".repeat(4096)}}]});
        assert_eq!(
            refused(&big),
            (
                minor::GENERAL_ERROR,
                "SignatureObject is larger than the limit of 1024 bytes".into(),
                Some("v9".into())
            )
        );
        let big_doc = json!({"inDocs": {"doc": [{"b64Data": {"val": "A".repeat(4096)}}]}});
        assert_eq!(
            refused(&big_doc).1,
            "Document is larger than the limit of 1024 bytes"
        );
        let not_b64 = json!({"sigObj": [{"b64Sig": {"val": "!!!!"}}]});
        assert_eq!(refused(&not_b64).1, "SignatureObject is not valid Base64");
        let five = json!({"sigObj": vec![json!({"b64Sig": {"val": "AA=="}}); 5]});
        assert_eq!(
            refused(&five).1,
            "Too many documents and signatures: at most 4 per request"
        );
        for (body, message) in [
            (json!({"sigObj": [{}]}), "sigObj without b64Sig"),
            (json!({"sigObj": {"b64Sig": {}}}), "sigObj must be an array"),
            (json!({"keySel": []}), "Unknown member keySel"),
            (
                json!({"optInp": {"returnVerificationReport": "yes"}}),
                "returnVerificationReport must be a boolean",
            ),
            (
                json!({"optInp": {"useVerificationTime": {"currTime": true, "specTime": "2025-01-31T12:00:00Z"}}}),
                "useVerificationTime needs exactly one of currTime, specTime, b64Content",
            ),
            (
                json!({"optInp": {"returnAugmented": 3}}),
                "returnAugmented must be a string",
            ),
        ] {
            assert_eq!(refused(&body).1, message, "{body}");
        }
        assert!(
            refused(&json!({"optInp": {"useVerificationTime": {"specTime": "noon"}}}))
                .1
                .starts_with(r#"specTime "noon" is not a date and time"#)
        );
    }

    #[test]
    fn writes_short_names() {
        let mut resp = VerifyResponse::new(
            DssResult {
                major: crate::major::INSUFFICIENT_INFORMATION,
                minor: Some(minor::CERTIFICATE_CHAIN_NOT_COMPLETE),
                message: Some("no chain".into()),
            },
            Some("r".into()),
        );
        resp.response_id = Some("x".into());
        resp.others.push(Other {
            mime_type: Some(REPORT_MIME_TYPE.into()),
            value: b"<r/>".to_vec(),
        });
        resp.augmented = Some(AugmentedSignature {
            type_uri: Some("B-LT".into()),
            signature_objects: vec![Signed {
                which_doc: Some("d1".into()),
                mime_type: None,
                data: vec![0xff],
            }],
            documents_with_signature: vec![Signed {
                which_doc: None,
                mime_type: Some("application/pdf".into()),
                data: vec![1],
            }],
        });
        let v: Value = serde_json::from_slice(&write_verify(&resp)).unwrap();
        assert_eq!(
            v,
            json!({
                "result": {"maj": "urn:oasis:names:tc:dss:1.0:resultmajor:InsufficientInformation", "min": minor::CERTIFICATE_CHAIN_NOT_COMPLETE, "msg": {"value": "no chain", "lang": "en"}},
                "reqID": "r",
                "respID": "x",
                "optOutp": {
                    "other": [{"mimeType": REPORT_MIME_TYPE, "val": "PHIvPg=="}],
                    "augSig": [{"type": "B-LT", "sigObj": [{"b64Sig": {"val": "/w=="}, "whichDoc": "d1"}], "docWithSignature": [{"doc": {"b64Data": {"val": "AQ==", "mimeType": "application/pdf"}}}]}]
                }
            })
        );
        let plain = VerifyResponse::new(DssResult::success(), None);
        let v: Value = serde_json::from_slice(&write_verify(&plain)).unwrap();
        assert_eq!(
            v,
            json!({"result": {"maj": "urn:oasis:names:tc:dss:1.0:resultmajor:Success"}})
        );
    }
}
