//! DSS-X 2.0 VerifyRequest (ETSI TS 119 442) end to end: `/dss/v2/verify` in XML and in the
//! DSS-X JSON syntax, against the real server, on signatures the server itself made through
//! `/dss/v2/sign`.
//!
//! Every XML answer is checked by xmllint against the OASIS DSS-X 2.0 core schema, every JSON
//! answer against the member names and types of `oasis-dss-core-schema.json`; the requests the
//! tests send are checked the same way (they are real DSS-X, the report asked for with the
//! schema-valid `Other`), except where a test sends Signet's extensions on purpose.

mod common;

use common::doc_signer::{DocSigner, minimal_pdf};
use common::dss::*;
use common::dss_schema::{assert_xml_schema_valid, conforms, json_schema};
use common::*;
use serde_json::{Value, json};

const REPORT_MIME: &str = "application/vnd.etsi.ts119102-2+xml";
const PROFILE: &str = "http://uri.etsi.org/19432/v1.1.1/creationprofile#";

const RESPONDER: &str = "urn:oasis:names:tc:dss:1.0:resultmajor:ResponderError";
const INSUFFICIENT: &str = "urn:oasis:names:tc:dss:1.0:resultmajor:InsufficientInformation";
const VALID: &str = "urn:oasis:names:tc:dss:1.0:resultminor:valid:signature:OnAllDocuments";
const INCORRECT: &str = "urn:oasis:names:tc:dss:1.0:resultminor:invalid:IncorrectSignature";
const CHAIN: &str = "urn:oasis:names:tc:dss:1.0:resultminor:CertificateChainNotComplete";
const INAPPROPRIATE: &str = "urn:oasis:names:tc:dss:1.0:resultminor:Inappropriate:signature";

const SYNTAXES: [Syntax; 2] = [Syntax::Xml, Syntax::Json];

/// A VerifyRequest in either syntax, from one description.
#[derive(Clone, Default)]
struct VerifyReq {
    request_id: Option<String>,
    documents: Vec<Doc>,
    /// The SignatureObject's bytes, as Base64 text (so a test can send broken Base64).
    signature: Option<String>,
    /// `Other` with the report's MIME type (schema-valid).
    report: bool,
    /// `UseVerificationTime/SpecificTime`.
    at: Option<String>,
    augment: Option<String>,
    /// Raw XML appended to OptionalInputs, and the JSON member meaning the same.
    extra_xml: Option<String>,
    extra_json: Option<(String, Value)>,
}

impl VerifyReq {
    fn document(bytes: &[u8], mime: &str) -> Self {
        Self {
            request_id: Some("v-<1>".into()),
            documents: vec![(Some("doc-1".into()), Some(mime.into()), bytes.to_vec())],
            ..Default::default()
        }
    }

    fn xml(&self) -> String {
        let mut x = format!(r#"<dss2:VerifyRequest xmlns:dss2="{DSS2}" xmlns:dsb="{DSB}""#);
        if let Some(id) = &self.request_id {
            x += &format!(r#" RequestID="{}""#, esc(id));
        }
        x += ">";
        if !self.documents.is_empty() {
            x += "<dss2:InputDocuments>";
            x += &xml_documents(&self.documents);
            x += "</dss2:InputDocuments>";
        }
        x += "<dss2:OptionalInputs>";
        if self.report {
            x += &format!(r#"<dsb:Other MimeType="{REPORT_MIME}"></dsb:Other>"#);
        }
        if let Some(t) = &self.at {
            x += &format!(
                "<dss2:UseVerificationTime><dss2:SpecificTime>{t}</dss2:SpecificTime></dss2:UseVerificationTime>"
            );
        }
        if let Some(a) = &self.augment {
            x += &format!(
                "<dss2:ReturnAugmentedSignature>{}</dss2:ReturnAugmentedSignature>",
                esc(a)
            );
        }
        if let Some(e) = &self.extra_xml {
            x += e;
        }
        x += "</dss2:OptionalInputs>";
        if let Some(s) = &self.signature {
            x += &format!(
                "<dss2:SignatureObject><dss2:Base64Signature><dsb:Value>{s}</dsb:Value></dss2:Base64Signature></dss2:SignatureObject>"
            );
        }
        x + "</dss2:VerifyRequest>"
    }

    fn json(&self) -> Value {
        let mut r = json!({});
        if let Some(id) = &self.request_id {
            r["reqID"] = json!(id);
        }
        let docs = json_documents(&self.documents);
        if !docs.is_empty() {
            r["inDocs"] = json!({ "doc": docs });
        }
        let mut o = json!({});
        if self.report {
            o["other"] = json!([{ "mimeType": REPORT_MIME }]);
        }
        if let Some(t) = &self.at {
            o["useVerificationTime"] = json!({ "specTime": t });
        }
        if let Some(a) = &self.augment {
            o["returnAugmented"] = json!(a);
        }
        if let Some((k, v)) = &self.extra_json {
            o[k] = v.clone();
        }
        r["optInp"] = o;
        if let Some(s) = &self.signature {
            r["sigObj"] = json!([{ "b64Sig": { "val": s } }]);
        }
        r
    }
}

/// A VerifyResponse, reduced to what the tests look at (the same for both syntaxes).
#[derive(Debug, Default)]
struct Resp {
    major: String,
    minor: Option<String>,
    message: Option<String>,
    request_id: Option<String>,
    /// (MIME type, bytes) of every `Other`.
    others: Vec<(Option<String>, Vec<u8>)>,
    augmented_type: Option<String>,
    /// Augmented signatures returned as `SignatureObject` and as `DocumentWithSignature`.
    augmented_signatures: Vec<Vec<u8>>,
    augmented_documents: Vec<Vec<u8>>,
}

impl Resp {
    #[track_caller]
    fn expect(&self, major: &str, minor: Option<&str>) {
        assert_eq!(self.major, major, "ResultMajor ({self:?})");
        assert_eq!(self.minor.as_deref(), minor, "ResultMinor ({self:?})");
        if major != SUCCESS || minor != Some(VALID) {
            assert!(
                self.message.as_deref().is_some_and(|m| !m.is_empty()),
                "ResultMessage ({self:?})"
            );
        }
        if major != SUCCESS {
            assert!(
                self.others.is_empty()
                    && self.augmented_documents.is_empty()
                    && self.augmented_signatures.is_empty(),
                "no output on errors"
            );
        }
    }

    /// The validation report (the `Other` with its MIME type), as text.
    fn report(&self) -> String {
        let found: Vec<_> = self
            .others
            .iter()
            .filter(|(m, _)| m.as_deref() == Some(REPORT_MIME))
            .collect();
        assert_eq!(found.len(), 1, "one validation report: {self:?}");
        String::from_utf8(found[0].1.clone()).expect("UTF-8 report")
    }
}

fn parse_xml(body: &[u8]) -> Resp {
    assert_xml_schema_valid(body);
    let xml = String::from_utf8(body.to_vec()).expect("UTF-8");
    let root = &xml[xml
        .find("<dss2:VerifyResponse")
        .expect("VerifyResponse root")..];
    let root = &root[..root.find('>').expect("tag end")];
    let attr = |tag: &str, name: &str| {
        tag.split(&format!(" {name}=\""))
            .nth(1)
            .map(|v| unesc(&v[..v.find('"').expect("quote")]))
    };
    let mut others = Vec::new();
    for part in xml.split("<dsb:Other").skip(1) {
        let tag = &part[..part.find('>').expect("tag end")];
        let value = text(part, "dsb:Value").unwrap_or_default();
        others.push((attr(tag, "MimeType"), unb64(&value)));
    }
    let values_in = |container: &str| -> Vec<Vec<u8>> {
        texts(&xml, container)
            .iter()
            .map(|inner| unb64(&text(inner, "dsb:Value").expect("dsb:Value")))
            .collect()
    };
    let augmented = xml.find("<dss2:AugmentedSignature").map(|at| {
        let tag = &xml[at..];
        attr(&tag[..tag.find('>').expect("tag end")], "Type")
    });
    Resp {
        major: text(&xml, "dsb:ResultMajor").expect("ResultMajor"),
        minor: text(&xml, "dsb:ResultMinor"),
        message: text(&xml, "dsb:ResultMessage"),
        request_id: attr(root, "RequestID"),
        others,
        augmented_type: augmented.flatten(),
        augmented_signatures: values_in("dss2:SignatureObject"),
        augmented_documents: values_in("dss2:DocumentWithSignature"),
    }
}

fn parse_json(schema: &Value, body: &[u8]) -> Resp {
    let v: Value = serde_json::from_slice(body).expect("JSON response");
    conforms(
        schema,
        &json!({ "$ref": "#/definitions/dss2-VerifyResponseType" }),
        &v,
        "verifyResp",
    );
    let s = |v: &Value| v.as_str().map(str::to_owned);
    let aug = &v["optOutp"]["augSig"][0];
    let values = |list: &Value, path: &[&str]| -> Vec<Vec<u8>> {
        list.as_array()
            .map(|a| {
                a.iter()
                    .map(|item| {
                        let mut x = item;
                        for p in path {
                            x = &x[*p];
                        }
                        unb64(x.as_str().expect("val"))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    Resp {
        major: s(&v["result"]["maj"]).expect("maj"),
        minor: s(&v["result"]["min"]),
        message: s(&v["result"]["msg"]["value"]),
        request_id: s(&v["reqID"]),
        others: v["optOutp"]["other"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|o| (s(&o["mimeType"]), unb64(o["val"].as_str().unwrap_or(""))))
                    .collect()
            })
            .unwrap_or_default(),
        augmented_type: s(&aug["type"]),
        augmented_signatures: values(&aug["sigObj"], &["b64Sig", "val"]),
        augmented_documents: values(&aug["docWithSignature"], &["doc", "b64Data", "val"]),
    }
}

struct Ctx {
    signer: DocSigner,
    schema: Value,
}

impl Ctx {
    async fn start(env: &[(&str, &str)]) -> Ctx {
        Ctx {
            signer: DocSigner::start("ec-p256", env).await,
            schema: json_schema(),
        }
    }

    fn server(&self) -> &Server {
        &self.signer.server
    }

    async fn post(
        &self,
        path: &str,
        syntax: Syntax,
        token: Option<&str>,
        body: Vec<u8>,
    ) -> Vec<u8> {
        post(self.server(), path, syntax, token, body).await
    }

    /// Sends `req` (checked against the schema first unless `extension`) and parses the
    /// answer (checked against the schema).
    async fn verify_as(&self, syntax: Syntax, token: Option<&str>, req: &VerifyReq) -> Resp {
        let extension = req.extra_xml.is_some() || req.extra_json.is_some();
        let body = match syntax {
            Syntax::Xml => {
                let x = req.xml();
                if !extension && req.signature.as_deref().is_none_or(unb64_ok) {
                    assert_xml_schema_valid(x.as_bytes());
                }
                x.into_bytes()
            }
            Syntax::Json => {
                let j = req.json();
                if !extension {
                    conforms(
                        &self.schema,
                        &json!({ "$ref": "#/definitions/dss2-VerifyRequestType" }),
                        &j,
                        "verifyReq",
                    );
                }
                j.to_string().into_bytes()
            }
        };
        let answer = self.post("/dss/v2/verify", syntax, token, body).await;
        match syntax {
            Syntax::Xml => parse_xml(&answer),
            Syntax::Json => parse_json(&self.schema, &answer),
        }
    }

    async fn verify(&self, syntax: Syntax, req: &VerifyReq) -> Resp {
        self.verify_as(syntax, Some(&self.signer.token), req).await
    }

    /// A PAdES signature of the minimal PDF made through `/dss/v2/sign` at `level`
    /// (`PAdES-B-B`, `PAdES-B-T`, ...).
    async fn signed_pdf(&self, level: &str) -> Vec<u8> {
        let sad = self.signer.sad(1, None).await;
        let xml = format!(
            r#"<dss2:SignRequest xmlns:dss2="{DSS2}" xmlns:dsb="{DSB}"><dsb:Profile>{PROFILE}{level}</dsb:Profile><dss2:InputDocuments><dss2:Document><dss2:Base64Data MimeType="application/pdf"><dsb:Value>{}</dsb:Value></dss2:Base64Data></dss2:Document></dss2:InputDocuments><dss2:OptionalInputs><dsb:Other MimeType="{SAD_MIME}"><dsb:Value>{}</dsb:Value></dsb:Other><dss2:KeySelector><dss2:KeyName>{}</dss2:KeyName></dss2:KeySelector></dss2:OptionalInputs></dss2:SignRequest>"#,
            b64(&minimal_pdf()),
            b64(sad.as_bytes()),
            self.signer.cred
        );
        let answer = self
            .post(
                "/dss/v2/sign",
                Syntax::Xml,
                Some(&self.signer.token),
                xml.into_bytes(),
            )
            .await;
        let answer = String::from_utf8(answer).expect("UTF-8");
        assert_eq!(
            text(&answer, "dsb:ResultMajor").as_deref(),
            Some(SUCCESS),
            "{answer}"
        );
        let doc = text(&answer, "dss2:DocumentWithSignature").expect("signed PDF");
        unb64(&text(&doc, "dsb:Value").expect("value"))
    }
}

/// Whether `s` is Base64 (a request with broken Base64 is not schema-valid, on purpose).
fn unb64_ok(s: &str) -> bool {
    data_encoding::BASE64.decode(s.as_bytes()).is_ok()
}

/// The PDF with one byte of its signed content changed (the page's MediaBox, inside the
/// first ByteRange).
fn flipped(pdf: &[u8]) -> Vec<u8> {
    let mut out = pdf.to_vec();
    let at = out
        .windows(b"595".len())
        .position(|w| w == b"595")
        .expect("MediaBox");
    out[at] = b'6';
    out
}

/// Input Signet cannot use is a RequesterError with a clear message, in both syntaxes; never
/// a 5xx, never a panic. (Runs without the validation engine: every case is decided before.)
#[tokio::test]
async fn bad_requests_are_refused_with_a_reason() {
    let ctx = Ctx::start(&[("SIGNET_VALIDATION__MAX_DOCUMENT_BYTES", "65536")]).await;
    for syntax in SYNTAXES {
        // No access token.
        let hello = VerifyReq::document(b"hello, not a signature", "text/plain");
        let r = ctx.verify_as(syntax, None, &hello).await;
        r.expect(REQUESTER, Some(NOT_AUTHORIZED));
        assert_eq!(r.request_id.as_deref(), Some("v-<1>"));

        // Not a signature of any format.
        let r = ctx
            .verify(
                syntax,
                &VerifyReq {
                    report: true,
                    ..hello.clone()
                },
            )
            .await;
        r.expect(REQUESTER, Some(GENERAL));
        assert_eq!(
            r.message.as_deref(),
            Some("the file is not a PDF, a CMS signature, an XML document or a JWS")
        );
        assert_eq!(r.request_id.as_deref(), Some("v-<1>"));

        // Not Base64.
        let r = ctx
            .verify(
                syntax,
                &VerifyReq {
                    signature: Some("!!not base64!!".into()),
                    ..Default::default()
                },
            )
            .await;
        r.expect(REQUESTER, Some(GENERAL));
        assert_eq!(
            r.message.as_deref(),
            Some("SignatureObject is not valid Base64")
        );

        // Larger than [validation] max_document_bytes: the limit is named.
        let r = ctx
            .verify(
                syntax,
                &VerifyReq::document(&vec![b'%'; 70_000], "application/pdf"),
            )
            .await;
        r.expect(REQUESTER, Some(GENERAL));
        assert_eq!(
            r.message.as_deref(),
            Some("Document is larger than the limit of 65536 bytes")
        );

        // An optional input Signet does not honour.
        let mut nonce = hello.clone();
        nonce.extra_xml = Some("<dss2:Nonce>7</dss2:Nonce>".into());
        nonce.extra_json = Some(("nonce".into(), json!(7)));
        let r = ctx.verify(syntax, &nonce).await;
        r.expect(REQUESTER, Some(NOT_SUPPORTED));
        assert_eq!(
            r.message.as_deref(),
            Some("Optional input(s) not supported: Nonce")
        );

        // Nothing to verify.
        let r = ctx.verify(syntax, &VerifyReq::default()).await;
        r.expect(REQUESTER, Some(GENERAL));
        assert!(r.message.unwrap().starts_with("Nothing to verify"));

        // Augmentation only goes up.
        let r = ctx
            .verify(
                syntax,
                &VerifyReq {
                    augment: Some("B-B".into()),
                    ..hello.clone()
                },
            )
            .await;
        r.expect(REQUESTER, Some(NOT_SUPPORTED));

        // A verification time without a time zone.
        let r = ctx
            .verify(
                syntax,
                &VerifyReq {
                    at: Some("2025-01-31T12:00:00".into()),
                    ..hello.clone()
                },
            )
            .await;
        r.expect(REQUESTER, Some(GENERAL));
    }

    // XML: a DTD is refused; the report asked for by its profile element is accepted.
    let dtd = format!(
        r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "e">]><dss2:VerifyRequest xmlns:dss2="{DSS2}"/>"#
    );
    let token = ctx.signer.token.clone();
    let r = parse_xml(
        &ctx.post(
            "/dss/v2/verify",
            Syntax::Xml,
            Some(&token),
            dtd.into_bytes(),
        )
        .await,
    );
    r.expect(REQUESTER, Some(NOT_SUPPORTED));
    assert_eq!(r.message.as_deref(), Some("DTDs are not accepted"));

    // Not a VerifyRequest at all: HTTP errors, as on /dss/v2/sign.
    let sign_root = format!(r#"<dss2:SignRequest xmlns:dss2="{DSS2}"/>"#);
    let reply = ctx
        .server()
        .raw(
            "POST",
            "/dss/v2/verify",
            &[
                ("Content-Type", "application/xml"),
                ("Authorization", &format!("Bearer {token}")),
            ],
            sign_root.into_bytes(),
        )
        .await;
    assert_eq!(reply.status, 400);
    let reply = ctx
        .server()
        .raw(
            "POST",
            "/dss/v2/verify",
            &[("Content-Type", "text/plain")],
            b"hello".to_vec(),
        )
        .await;
    assert_eq!(reply.status, 415);
}

/// A PAdES signature Signet made validates (TOTAL-PASSED: Success, OnAllDocuments) with the
/// TS 119 102-2 report; one changed byte makes it TOTAL-FAILED (Success, IncorrectSignature).
#[tokio::test]
async fn signet_pades_validates_and_a_flipped_byte_does_not() {
    let ctx = Ctx::start(&[]).await;
    let pdf = ctx.signed_pdf("PAdES-B-B").await;
    for syntax in SYNTAXES {
        let req = VerifyReq {
            report: true,
            ..VerifyReq::document(&pdf, "application/pdf")
        };
        let r = ctx.verify(syntax, &req).await;
        r.expect(SUCCESS, Some(VALID));
        assert_eq!(r.request_id.as_deref(), Some("v-<1>"));
        let report = r.report();
        assert!(
            report.contains("http://uri.etsi.org/19102/v1.4.1#"),
            "{report}"
        );
        assert!(
            report.contains("urn:etsi:019102:mainindication:total-passed"),
            "{report}"
        );

        let bad = VerifyReq {
            report: true,
            ..VerifyReq::document(&flipped(&pdf), "application/pdf")
        };
        let r = ctx.verify(syntax, &bad).await;
        r.expect(SUCCESS, Some(INCORRECT));
        let message = r.message.clone().unwrap_or_default();
        assert!(message.contains("TOTAL-FAILED/HASH_FAILURE"), "{message}");
        assert!(
            r.report()
                .contains("urn:etsi:019102:mainindication:total-failed")
        );
    }
    // The report asked for in the verification report profile's spelling, and in Signet's JSON
    // member; the current time asked for explicitly.
    let mut xml = VerifyReq::document(&pdf, "application/pdf");
    xml.extra_xml = Some(
        "<dss2:UseVerificationTime><dss2:CurrentTime>true</dss2:CurrentTime></dss2:UseVerificationTime><vr:ReturnVerificationReport xmlns:vr=\"urn:oasis:names:tc:dss-x:1.0:profiles:verificationreport:schema#\"/>".into(),
    );
    ctx.verify(Syntax::Xml, &xml).await.report();
    let mut json = VerifyReq::document(&pdf, "application/pdf");
    json.extra_json = Some(("returnVerificationReport".into(), json!(true)));
    ctx.verify(Syntax::Json, &json).await.report();
}

/// A signature from a CA the server does not trust is INDETERMINATE (InsufficientInformation,
/// CertificateChainNotComplete); once `[validation] trust` names that CA, it validates.
#[tokio::test]
async fn trust_comes_from_the_embedded_ca_and_the_configured_anchors() {
    let signing = Ctx::start(&[]).await;
    let pdf = signing.signed_pdf("PAdES-B-B").await;
    let other = Ctx::start(&[]).await;
    for syntax in SYNTAXES {
        let r = other
            .verify(syntax, &VerifyReq::document(&pdf, "application/pdf"))
            .await;
        r.expect(INSUFFICIENT, Some(CHAIN));
        assert!(
            r.message
                .unwrap_or_default()
                .contains("NO_CERTIFICATE_CHAIN_FOUND"),
            "the sub-indication is named"
        );
    }
    let anchors = format!(r#"["{}"]"#, signing.server().ca_pem().display());
    let trusting = Ctx::start(&[("SIGNET_VALIDATION__TRUST", anchors.as_str())]).await;
    for syntax in SYNTAXES {
        trusting
            .verify(syntax, &VerifyReq::document(&pdf, "application/pdf"))
            .await
            .expect(SUCCESS, Some(VALID));
    }
}

/// ReturnAugmentedSignature brings a valid signature to the level asked for (the augmented
/// PDF is an incremental update that validates again); an invalid one is refused, naming why.
#[tokio::test]
async fn valid_signatures_are_augmented_invalid_ones_refused() {
    let ctx = Ctx::start(&[]).await;
    let pdf = ctx.signed_pdf("PAdES-B-T").await;
    for (syntax, level) in [(Syntax::Xml, "B-LT"), (Syntax::Json, "PAdES-BASELINE-LTA")] {
        let req = VerifyReq {
            augment: Some(level.into()),
            report: true,
            ..VerifyReq::document(&pdf, "application/pdf")
        };
        let r = ctx.verify(syntax, &req).await;
        r.expect(SUCCESS, Some(VALID));
        assert_eq!(r.augmented_type.as_deref(), Some(level));
        assert!(r.augmented_signatures.is_empty());
        assert_eq!(r.augmented_documents.len(), 1, "{r:?}");
        let augmented = &r.augmented_documents[0];
        assert!(augmented.starts_with(&pdf), "an incremental update");
        assert!(augmented.len() > pdf.len());
        ctx.verify(syntax, &VerifyReq::document(augmented, "application/pdf"))
            .await
            .expect(SUCCESS, Some(VALID));

        let bad = VerifyReq {
            augment: Some("B-LT".into()),
            ..VerifyReq::document(&flipped(&pdf), "application/pdf")
        };
        let r = ctx.verify(syntax, &bad).await;
        r.expect(REQUESTER, Some(INAPPROPRIATE));
        let message = r.message.unwrap_or_default();
        assert!(message.contains("TOTAL-FAILED"), "{message}");
    }
}

/// A TSA that cannot be reached while augmenting is the responder's fault, and said so.
#[tokio::test]
async fn an_unreachable_tsa_is_a_responder_error() {
    let ctx = Ctx::start(&[("SIGNET_TSA__URL", "http://127.0.0.1:9/tsa")]).await;
    let pdf = ctx.signed_pdf("PAdES-B-B").await;
    for syntax in SYNTAXES {
        let req = VerifyReq {
            augment: Some("B-T".into()),
            ..VerifyReq::document(&pdf, "application/pdf")
        };
        let r = ctx.verify(syntax, &req).await;
        r.expect(RESPONDER, Some(GENERAL));
        let message = r.message.unwrap_or_default();
        assert!(
            message.contains("time-stamping service failed"),
            "{message}"
        );
    }
}
