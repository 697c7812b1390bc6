//! DSS-X 2.0 (the XML binding of ETSI TS 119 432) end to end: `/dss/v2/sign` and
//! `/dss/v2/pending` in XML and in the DSS-X JSON syntax, against the real server.
//!
//! Every XML response is checked by xmllint against the OASIS DSS-X 2.0 core schema
//! (`validate.sh dssx`); every JSON response against the member names and types of
//! `oasis-dss-core-schema.json` (walked here: the interop venv has no jsonschema). Signatures
//! are verified with the credential's public key (hash signing) or by validate.sh (CAdES with
//! openssl cms and pyHanko, PAdES with pyHanko and pdfsig).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::doc_signer::minimal_pdf;
use common::dss::*;
use common::dss_schema::{conforms, json_schema};
use common::interop::{Interop, interop};
use common::*;
use serde_json::{Value, json};

const PIN: &str = "20481024";
const SHA256_URI: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
const SHA384_URI: &str = "http://www.w3.org/2001/04/xmldsig-more#sha384";
const ECDSA_SHA256_URI: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
const RSA_SHA256_URI: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const RSA_PSS_SHA256_URI: &str = "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1";
const PROFILE_A: &str = "http://uri.etsi.org/19432/v1.1.1/creationprofile#";
const PROFILE_B: &str = "http://uri.etsi.org/19432/v1.1.1#/creationprofile#";
const ASYNC_PROFILE: &str = "urn:oasis:names:tc:dss:1.0:profiles:asynchronousprocessing:1.0";

const PENDING: &str =
    "urn:oasis:names:tc:dss:1.0:profiles:asynchronousprocessing:resultmajor:Pending";
const KEY_LOOKUP: &str = "urn:oasis:names:tc:dss:1.0:resultminor:invalid:KeyLookupFailed";
const HASH_ALG: &str = "urn:oasis:names:tc:dssx:2.0:resultminor:Inappropriate:HashAlgorithm";
const ID_UNKNOWN: &str =
    "urn:oasis:names:tc:dss:1.0:profiles:asynchronousprocessing:resultminor:ResponseIdUnknown";

type Digests = Vec<(String, Vec<u8>)>;
/// An output: (WhichDoc, MIME type, bytes).
type Out = (Option<String>, Option<String>, Vec<u8>);

/// One request in either syntax, built from one description.
#[derive(Clone, Default)]
struct Req {
    request_id: Option<String>,
    profiles: Vec<String>,
    documents: Vec<Doc>,
    /// (ID, [(DigestMethod, value)])
    hashes: Vec<(Option<String>, Digests)>,
    sad: Option<String>,
    add_timestamp: bool,
    enforce_async: bool,
    signature_type: Option<String>,
    key_name: Option<String>,
    props: Vec<(String, String)>,
    include_object: bool,
    include_econtent: Option<bool>,
    placement: bool,
    signature_algorithm: Option<String>,
    /// Raw XML inserted into OptionalInputs at its schema position (after Other) and the
    /// JSON member with the same meaning.
    extra_xml: Option<String>,
    extra_json: Option<(String, Value)>,
}

impl Req {
    fn xml(&self) -> String {
        let mut x = format!(r#"<dss2:SignRequest xmlns:dss2="{DSS2}" xmlns:dsb="{DSB}""#);
        if let Some(id) = &self.request_id {
            x += &format!(r#" RequestID="{}""#, esc(id));
        }
        x += ">";
        for p in &self.profiles {
            x += &format!("<dsb:Profile>{}</dsb:Profile>", esc(p));
        }
        x += "<dss2:InputDocuments>";
        x += &xml_documents(&self.documents);
        for (id, digests) in &self.hashes {
            let id = id
                .as_ref()
                .map(|i| format!(r#" ID="{i}""#))
                .unwrap_or_default();
            x += &format!("<dss2:DocumentHash{id}>");
            for (m, v) in digests {
                x += &format!(
                    "<dss2:DigestInfos><dsb:DigestMethod>{m}</dsb:DigestMethod><dsb:DigestValue>{}</dsb:DigestValue></dss2:DigestInfos>",
                    b64(v)
                );
            }
            x += "</dss2:DocumentHash>";
        }
        x += "</dss2:InputDocuments><dss2:OptionalInputs>";
        if let Some(sad) = &self.sad {
            x += &format!(
                r#"<dsb:Other MimeType="{SAD_MIME}"><dsb:Value>{}</dsb:Value></dsb:Other>"#,
                b64(sad.as_bytes())
            );
        }
        if let Some(e) = &self.extra_xml {
            x += e;
        }
        if self.add_timestamp {
            x += "<dss2:AddTimestamp>urn:ietf:rfc:3161</dss2:AddTimestamp>";
        }
        if self.enforce_async {
            x += "<dss2:EnforceAsynchronousProcessing>true</dss2:EnforceAsynchronousProcessing>";
        }
        if let Some(t) = &self.signature_type {
            x += &format!("<dss2:SignatureType>{}</dss2:SignatureType>", esc(t));
        }
        if let Some(k) = &self.key_name {
            x += &format!(
                "<dss2:KeySelector><dss2:KeyName>{}</dss2:KeyName></dss2:KeySelector>",
                esc(k)
            );
        }
        if !self.props.is_empty() {
            x += "<dss2:Properties><dss2:SignedProperties>";
            for (id, v) in &self.props {
                x += &format!(
                    "<dss2:Property><dss2:Identifier>{id}</dss2:Identifier><dss2:Value><dsb:Value>{}</dsb:Value></dss2:Value></dss2:Property>",
                    b64(v.as_bytes())
                );
            }
            x += "</dss2:SignedProperties></dss2:Properties>";
        }
        if self.include_object {
            x += "<dss2:IncludeObject/>";
        }
        if let Some(b) = self.include_econtent {
            x += &format!("<dss2:IncludeEContent>{b}</dss2:IncludeEContent>");
        }
        if self.placement {
            x += "<dss2:SignaturePlacement CreateEnvelopedSignature=\"true\"><dss2:XPathFirstChildOf>/*</dss2:XPathFirstChildOf></dss2:SignaturePlacement>";
        }
        if let Some(a) = &self.signature_algorithm {
            x += &format!(
                "<dss2:SignatureAlgorithm>{}</dss2:SignatureAlgorithm>",
                esc(a)
            );
        }
        x += "</dss2:OptionalInputs></dss2:SignRequest>";
        x
    }

    fn json(&self) -> Value {
        let mut r = json!({});
        if let Some(id) = &self.request_id {
            r["reqID"] = json!(id);
        }
        if !self.profiles.is_empty() {
            r["profile"] = json!(self.profiles);
        }
        let docs = json_documents(&self.documents);
        let hashes: Vec<Value> = self
            .hashes
            .iter()
            .map(|(id, digests)| {
                let dis: Vec<Value> = digests
                    .iter()
                    .map(|(m, v)| json!({ "alg": m, "val": b64(v) }))
                    .collect();
                let mut h = json!({ "dis": dis });
                if let Some(i) = id {
                    h["ID"] = json!(i);
                }
                h
            })
            .collect();
        r["inDocs"] = json!({});
        if !docs.is_empty() {
            r["inDocs"]["doc"] = json!(docs);
        }
        if !hashes.is_empty() {
            r["inDocs"]["docHash"] = json!(hashes);
        }
        let mut o = json!({});
        if let Some(sad) = &self.sad {
            o["other"] = json!([{ "mimeType": SAD_MIME, "val": b64(sad.as_bytes()) }]);
        }
        if let Some((k, v)) = &self.extra_json {
            o[k] = v.clone();
        }
        if self.add_timestamp {
            o["addTimestamp"] = json!(["urn:ietf:rfc:3161"]);
        }
        if self.enforce_async {
            o["enforceAsync"] = json!(true);
        }
        if let Some(t) = &self.signature_type {
            o["sigType"] = json!(t);
        }
        if let Some(k) = &self.key_name {
            o["keySel"] = json!([{ "name": k }]);
        }
        if !self.props.is_empty() {
            let props: Vec<Value> = self
                .props
                .iter()
                .map(|(id, v)| json!({ "id": id, "val": { "val": b64(v.as_bytes()) } }))
                .collect();
            o["props"] = json!({ "signedProps": { "prop": props } });
        }
        if self.include_object {
            o["incObj"] = json!([{}]);
        }
        if let Some(b) = self.include_econtent {
            o["incContent"] = json!(b);
        }
        if self.placement {
            o["sigPlacement"] =
                json!({ "xPathFirstChildOf": "/*", "createEnvelopedSignature": true });
        }
        if let Some(a) = &self.signature_algorithm {
            o["sigAlgo"] = json!(a);
        }
        r["optInp"] = o;
        r
    }
}

/// A DSS response, reduced to what the tests look at (the same for both syntaxes).
#[derive(Debug, Default)]
struct Resp {
    major: String,
    minor: Option<String>,
    message: Option<String>,
    request_id: Option<String>,
    response_id: Option<String>,
    documents: Vec<Out>,
    signatures: Vec<Out>,
}

struct Ctx {
    server: Server,
    tools: Option<Interop>,
    token: String,
    ec: String,
    rsa: String,
    dir: tempfile::TempDir,
    schema: Value,
    counter: std::sync::atomic::AtomicUsize,
}

async fn setup_with(env: &[(&str, &str)]) -> Ctx {
    let tools = interop();
    let server = Server::start_with_env(env);
    let user = server.add_user("signer");
    let ec = server.create_credential(
        &user,
        PIN,
        &["--key", "ec-p256", "--scal", "1", "--multisign", "100"],
    );
    let rsa = server.create_credential(
        &user,
        PIN,
        &["--key", "rsa-2048", "--scal", "1", "--multisign", "100"],
    );
    let token = server.login(&user).await;
    Ctx {
        server,
        tools,
        token,
        ec,
        rsa,
        dir: tempfile::tempdir().expect("tempdir"),
        schema: json_schema(),
        counter: Default::default(),
    }
}

impl Ctx {
    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, bytes).expect("write");
        p
    }

    async fn sad(&self, cred: &str, n: u32, hashes: Option<&[Vec<u8>]>) -> String {
        self.server
            .sad(&self.token, cred, n, hashes, Some(SHA256), PIN, None)
            .await
    }

    /// Posts a raw body; asserts HTTP 200 and checks the response against the schema.
    async fn post_raw(
        &self,
        path: &str,
        syntax: Syntax,
        token: Option<&str>,
        body: Vec<u8>,
    ) -> Resp {
        let body = post(&self.server, path, syntax, token, body).await;
        match syntax {
            Syntax::Xml => self.check_xml(&body),
            Syntax::Json => self.check_json(&body),
        }
    }

    /// xmllint against the DSS-X 2.0 core schema, then the fields.
    fn check_xml(&self, body: &[u8]) -> Resp {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let file = self.write(&format!("response-{n}.xml"), body);
        if let Some(t) = &self.tools {
            let (ok, log) = t.validate(&["dssx".as_ref(), &file]);
            assert!(ok, "xmllint rejects the response: {log}");
        }
        let xml = String::from_utf8(body.to_vec()).expect("UTF-8");
        assert!(xml.contains(&format!(r#"xmlns:dss2="{DSS2}""#)), "{xml}");
        let root_attr = |name: &str| {
            let head = &xml[xml.find("<dss2:SignResponse").expect("SignResponse root")..];
            let head = &head[..head.find('>').expect("tag end")];
            head.split(&format!(" {name}=\""))
                .nth(1)
                .map(|v| unesc(&v[..v.find('"').expect("quote")]))
        };
        let outputs = |container: &str, inner: &str| -> Vec<Out> {
            let mut out = Vec::new();
            let open = format!("<{container}");
            for part in xml.split(&open).skip(1) {
                if !part.starts_with(['>', ' ']) {
                    continue;
                }
                let tag = &part[..part.find('>').expect("tag end")];
                let which = tag
                    .split(" WhichDoc=\"")
                    .nth(1)
                    .map(|v| v[..v.find('"').expect("quote")].to_string());
                let inner_at = part.find(&format!("<{inner}")).expect("inner element");
                let inner_tag =
                    &part[inner_at..part[inner_at..].find('>').expect("end") + inner_at];
                let mime = inner_tag
                    .split(" MimeType=\"")
                    .nth(1)
                    .map(|v| v[..v.find('"').expect("quote")].to_string());
                let value = text(part, "dsb:Value").expect("dsb:Value");
                out.push((which, mime, unb64(&value)));
            }
            out
        };
        Resp {
            major: text(&xml, "dsb:ResultMajor").expect("ResultMajor"),
            minor: text(&xml, "dsb:ResultMinor"),
            message: text(&xml, "dsb:ResultMessage"),
            request_id: root_attr("RequestID"),
            response_id: root_attr("ResponseID"),
            documents: outputs("dss2:DocumentWithSignature", "dss2:Base64Data"),
            signatures: outputs("dss2:SignatureObject", "dss2:Base64Signature"),
        }
    }

    fn check_json(&self, body: &[u8]) -> Resp {
        let v: Value = serde_json::from_slice(body).expect("JSON response");
        conforms(
            &self.schema,
            &json!({ "$ref": "#/definitions/dss2-SignResponseType" }),
            &v,
            "signResp",
        );
        let s = |v: &Value| v.as_str().map(str::to_owned);
        let item = |x: &Value, data: &Value| {
            (
                s(&x["whichDoc"]),
                s(&data["mimeType"]),
                unb64(data["val"].as_str().expect("val")),
            )
        };
        Resp {
            major: s(&v["result"]["maj"]).expect("maj"),
            minor: s(&v["result"]["min"]),
            message: s(&v["result"]["msg"]["value"]),
            request_id: s(&v["reqID"]),
            response_id: s(&v["respID"]),
            documents: v["optOutp"]["docWithSignature"]
                .as_array()
                .map(|a| a.iter().map(|d| item(d, &d["doc"]["b64Data"])).collect())
                .unwrap_or_default(),
            signatures: v["sigObj"]
                .as_array()
                .map(|a| a.iter().map(|d| item(d, &d["b64Sig"])).collect())
                .unwrap_or_default(),
        }
    }

    async fn sign_as(&self, syntax: Syntax, token: Option<&str>, req: &Req) -> Resp {
        let body = match syntax {
            Syntax::Xml => req.xml().into_bytes(),
            Syntax::Json => req.json().to_string().into_bytes(),
        };
        // The requests are real DSS-X: schema-valid XML, JSON with the schema's names. The
        // second creation-profile spelling (two '#') is no xs:anyURI, yet seen in the wild.
        let wild = req.profiles.iter().any(|p| p.starts_with(PROFILE_B));
        match syntax {
            Syntax::Xml if wild => {}
            Syntax::Xml => {
                if let Some(t) = &self.tools {
                    let file = self.write("request.xml", &body);
                    let (ok, log) = t.validate(&["dssx".as_ref(), &file]);
                    assert!(ok, "the test's SignRequest is not schema-valid: {log}");
                }
            }
            Syntax::Json => conforms(
                &self.schema,
                &json!({ "$ref": "#/definitions/dss2-SignRequestType" }),
                &req.json(),
                "signReq",
            ),
        }
        self.post_raw("/dss/v2/sign", syntax, token, body).await
    }

    async fn sign(&self, syntax: Syntax, req: &Req) -> Resp {
        self.sign_as(syntax, Some(&self.token), req).await
    }

    async fn pending(&self, syntax: Syntax, token: &str, id: &str) -> Resp {
        let body = match syntax {
            Syntax::Xml => format!(
                r#"<dss2:PendingRequest xmlns:dss2="{DSS2}" xmlns:dsb="{DSB}" RequestID="{id}"><dsb:Profile>{ASYNC_PROFILE}</dsb:Profile></dss2:PendingRequest>"#
            )
            .into_bytes(),
            Syntax::Json => json!({ "reqID": id, "profile": [ASYNC_PROFILE] }).to_string().into_bytes(),
        };
        self.post_raw("/dss/v2/pending", syntax, Some(token), body)
            .await
    }
}

#[track_caller]
fn expect_result(r: &Resp, major: &str, minor: Option<&str>) {
    assert_eq!(r.major, major, "ResultMajor ({r:?})");
    assert_eq!(r.minor.as_deref(), minor, "ResultMinor ({r:?})");
    if major != SUCCESS {
        assert!(
            r.message.as_deref().is_some_and(|m| !m.is_empty()),
            "ResultMessage ({r:?})"
        );
        assert!(
            r.documents.is_empty() && r.signatures.is_empty(),
            "no output on errors"
        );
    }
}

fn hash_req(key: &str, sad: &str, sig_alg: &str, digests: &[Vec<u8>]) -> Req {
    Req {
        request_id: Some("req-<1>&".into()),
        profiles: vec![PROFILE_A.into()],
        hashes: digests
            .iter()
            .enumerate()
            .map(|(i, d)| {
                (
                    Some(format!("h{i}")),
                    vec![(SHA256_URI.to_string(), d.clone())],
                )
            })
            .collect(),
        sad: Some(sad.into()),
        key_name: Some(key.into()),
        signature_algorithm: Some(sig_alg.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn hash_signing_ecdsa_and_rsa() {
    let ctx = setup_with(&[]).await;
    let messages: Vec<Vec<u8>> = vec![b"first message".to_vec(), b"second message".to_vec()];
    let digests: Vec<Vec<u8>> = messages.iter().map(|m| sha256(m)).collect();
    for syntax in [Syntax::Xml, Syntax::Json] {
        for (cred, alg, oid) in [
            (&ctx.ec, ECDSA_SHA256_URI, ECDSA_SHA256),
            (&ctx.rsa, RSA_SHA256_URI, RSA_SHA256),
            (&ctx.rsa, RSA_PSS_SHA256_URI, RSASSA_PSS),
            // An OID is accepted as SignatureAlgorithm too.
            (&ctx.ec, "1.2.840.10045.4.3.2", ECDSA_SHA256),
        ] {
            let sad = ctx.sad(cred, 2, Some(&digests)).await;
            let r = ctx.sign(syntax, &hash_req(cred, &sad, alg, &digests)).await;
            expect_result(&r, SUCCESS, None);
            assert_eq!(r.request_id.as_deref(), Some("req-<1>&"));
            assert!(r.response_id.as_deref().is_some_and(|id| !id.is_empty()));
            assert_eq!(
                r.signatures.len(),
                2,
                "one SignatureObject per DocumentHash"
            );
            let cert = ctx.server.certificate(&ctx.token, cred).await;
            for (i, (which, mime, sig)) in r.signatures.iter().enumerate() {
                assert_eq!(which.as_deref(), Some(format!("h{i}").as_str()));
                assert_eq!(mime, &None);
                verify(&cert, oid, SHA256, &messages[i], sig)
                    .unwrap_or_else(|e| panic!("{syntax:?} {alg}: {e}"));
            }
        }
    }
}

#[tokio::test]
async fn document_signing_cades_pades() {
    let ctx = setup_with(&[]).await;
    let ca = ctx.server.ca_pem();
    let data = b"DSS-X document content".to_vec();
    let pdf = minimal_pdf();
    for syntax in [Syntax::Xml, Syntax::Json] {
        // CAdES with the content inside, then detached; selected by SignatureType.
        for attached in [true, false] {
            let sad = ctx.sad(&ctx.ec, 1, None).await;
            let req = Req {
                request_id: Some("cades".into()),
                profiles: vec![PROFILE_A.into()],
                documents: vec![(Some("d1".into()), Some("text/plain".into()), data.clone())],
                sad: Some(sad),
                key_name: Some(ctx.ec.clone()),
                signature_type: Some("urn:ietf:rfc:3369".into()),
                include_econtent: Some(attached),
                props: vec![("content-hints".into(), "text/plain".into())],
                ..Default::default()
            };
            let r = ctx.sign(syntax, &req).await;
            expect_result(&r, SUCCESS, None);
            let out = if attached {
                assert_eq!(r.documents.len(), 1, "{r:?}");
                assert!(r.signatures.is_empty());
                &r.documents[0]
            } else {
                assert_eq!(r.signatures.len(), 1, "{r:?}");
                assert!(r.documents.is_empty());
                assert_eq!(
                    r.signatures[0].1.as_deref(),
                    Some("application/pkcs7-signature")
                );
                &r.signatures[0]
            };
            assert_eq!(out.0.as_deref(), Some("d1"));
            if let Some(t) = &ctx.tools {
                let sig = ctx.write(&format!("cades-{syntax:?}-{attached}.p7s"), &out.2);
                let content = ctx.write("content.txt", &data);
                let dash = PathBuf::from("-");
                let data_arg: &Path = if attached { &dash } else { &content };
                let (ok, log) = t.validate(&["cades".as_ref(), &sig, data_arg, &ca]);
                assert!(ok, "CAdES {syntax:?} attached={attached}: {log}");
            }
        }
        // CAdES B-LTA named by the creation profile's fragment alone (format and level).
        let sad = ctx.sad(&ctx.ec, 1, None).await;
        let req = Req {
            profiles: vec![format!("{PROFILE_A}CAdES-B-LTA")],
            documents: vec![(None, None, data.clone())],
            sad: Some(sad),
            key_name: Some(ctx.ec.clone()),
            include_econtent: Some(true),
            ..Default::default()
        };
        let r = ctx.sign(syntax, &req).await;
        expect_result(&r, SUCCESS, None);
        assert_eq!(r.documents.len(), 1, "{r:?}");
        // The archive-time-stamp-v3 attribute OID (0.4.0.1733.2.4) is in the CMS.
        let ats = [0x06, 0x06, 0x04, 0x00, 0x8d, 0x45, 0x02, 0x04];
        assert!(
            r.documents[0].2.windows(ats.len()).any(|w| w == ats),
            "B-LTA"
        );
        if let Some(t) = &ctx.tools {
            let sig = ctx.write("lta.p7s", &r.documents[0].2);
            let (ok, log) = t.validate(&["cades".as_ref(), &sig, "-".as_ref(), &ca]);
            assert!(ok, "CAdES B-LTA {syntax:?}: {log}");
        }
        // PAdES through both spellings of the creation profile, the level in its fragment
        // (and B-T through AddTimestamp).
        for (profile, timestamp) in [
            (format!("{PROFILE_A}PAdES-B-B"), true),
            (format!("{PROFILE_B}PAdES-B-T"), false),
            (PROFILE_B.to_string(), false),
        ] {
            let sad = ctx.sad(&ctx.rsa, 1, None).await;
            let req = Req {
                profiles: vec![profile.clone()],
                documents: vec![(None, Some("application/pdf".into()), pdf.clone())],
                sad: Some(sad),
                key_name: Some(ctx.rsa.clone()),
                add_timestamp: timestamp,
                signature_algorithm: Some(RSA_SHA256_URI.into()),
                ..Default::default()
            };
            let r = ctx.sign(syntax, &req).await;
            expect_result(&r, SUCCESS, None);
            assert_eq!(r.documents.len(), 1, "{r:?}");
            let (which, mime, signed) = &r.documents[0];
            assert_eq!((which, mime.as_deref()), (&None, Some("application/pdf")));
            assert!(signed.starts_with(&pdf), "an incremental update of the PDF");
            if let Some(t) = &ctx.tools {
                let file = ctx.write("signed.pdf", signed);
                let (ok, log) = t.validate(&["pades".as_ref(), &file, &ca]);
                assert!(ok, "PAdES {syntax:?} {profile}: {log}");
            }
        }
    }
}

/// XAdES and JAdES go through the same AdES layer as CSC signDoc: either a validated
/// signature, or NotSupported from the engine while it does not produce the format.
#[tokio::test]
async fn xades_and_jades_requests_get_a_clean_result() {
    let ctx = setup_with(&[]).await;
    let ca = ctx.server.ca_pem();
    let xml = b"<doc><item>value</item></doc>".to_vec();
    let jsn = br#"{"item":"value"}"#.to_vec();
    for syntax in [Syntax::Xml, Syntax::Json] {
        for (kind, doc, mime, sig_type) in [
            (
                "xades",
                &xml,
                "application/xml",
                "http://uri.etsi.org/01903/v1.3.2#",
            ),
            (
                "jades",
                &jsn,
                "application/json",
                "http://uri.etsi.org/19182/",
            ),
        ] {
            let sad = ctx.sad(&ctx.ec, 1, None).await;
            let req = Req {
                documents: vec![(Some("d".into()), Some(mime.into()), doc.clone())],
                sad: Some(sad),
                key_name: Some(ctx.ec.clone()),
                signature_type: Some(sig_type.into()),
                placement: kind == "xades",
                include_econtent: (kind == "jades").then_some(true),
                ..Default::default()
            };
            let r = ctx.sign(syntax, &req).await;
            if r.major == SUCCESS {
                let out = r
                    .documents
                    .first()
                    .or(r.signatures.first())
                    .expect("an output");
                eprintln!("{kind} {syntax:?}: signed, {} bytes", out.2.len());
                if let Some(t) = &ctx.tools {
                    let file = ctx.write(&format!("out.{kind}"), &out.2);
                    let (ok, log) = t.validate(&[kind.as_ref(), &file, &ca]);
                    assert!(ok, "{kind} {syntax:?}: {log}");
                }
            } else {
                expect_result(&r, REQUESTER, Some(NOT_SUPPORTED));
                eprintln!("{kind} {syntax:?}: NotSupported: {:?}", r.message);
            }
        }
    }
}

/// A DocumentHash with a SignatureType is signed as an AdES signature over the digest; the
/// SAD binds the documents; XAdES enveloping; Pending for long work when the client accepts
/// the asynchronous profile; the wrapped JSON root.
#[tokio::test]
async fn more_document_paths() {
    let ctx = setup_with(&[]).await;
    let ca = ctx.server.ca_pem();
    let data = b"signed through its digest".to_vec();
    for syntax in [Syntax::Xml, Syntax::Json] {
        let digest = sha256(&data);
        let sad = ctx
            .sad(&ctx.ec, 1, Some(std::slice::from_ref(&digest)))
            .await;
        let req = Req {
            hashes: vec![(Some("h".into()), vec![(SHA256_URI.into(), digest.clone())])],
            sad: Some(sad),
            key_name: Some(ctx.ec.clone()),
            signature_type: Some("http://uri.etsi.org/19122/".into()),
            add_timestamp: true,
            ..Default::default()
        };
        let r = ctx.sign(syntax, &req).await;
        expect_result(&r, SUCCESS, None);
        assert_eq!(r.signatures.len(), 1);
        assert_eq!(r.signatures[0].0.as_deref(), Some("h"));
        if let Some(t) = &ctx.tools {
            let sig = ctx.write("digest.p7s", &r.signatures[0].2);
            let content = ctx.write("digest.txt", &data);
            let (ok, log) = t.validate(&["cades".as_ref(), &sig, &content, &ca]);
            assert!(ok, "CAdES from a DocumentHash: {log}");
        }

        // Sole control: a SAD bound to another document's digest signs nothing.
        let sad = ctx
            .sad(&ctx.ec, 1, Some(&[sha256(b"another document")]))
            .await;
        let req = Req {
            documents: vec![(None, None, data.clone())],
            sad: Some(sad),
            key_name: Some(ctx.ec.clone()),
            signature_type: Some("urn:ietf:rfc:3369".into()),
            ..Default::default()
        };
        let r = ctx.sign(syntax, &req).await;
        expect_result(&r, REQUESTER, Some(NOT_AUTHORIZED));
        // Bound to this one, it does.
        let sad = ctx.sad(&ctx.ec, 1, Some(&[sha256(&data)])).await;
        let r = ctx
            .sign(
                syntax,
                &Req {
                    sad: Some(sad),
                    ..req.clone()
                },
            )
            .await;
        expect_result(&r, SUCCESS, None);

        // XAdES enveloping (IncludeObject).
        let xml = b"<doc>enveloped by the signature</doc>".to_vec();
        let sad = ctx.sad(&ctx.rsa, 1, None).await;
        let req = Req {
            documents: vec![(Some("x".into()), Some("text/xml".into()), xml)],
            sad: Some(sad),
            key_name: Some(ctx.rsa.clone()),
            include_object: true,
            ..Default::default()
        };
        let r = ctx.sign(syntax, &req).await;
        if r.major == SUCCESS {
            let out = r
                .documents
                .first()
                .or(r.signatures.first())
                .expect("output");
            if let Some(t) = &ctx.tools {
                eprintln!("XAdES enveloping {syntax:?}: signed");
                let file = ctx.write("enveloping.xml", &out.2);
                let (ok, log) = t.validate(&["xades".as_ref(), &file, &ca]);
                assert!(ok, "XAdES enveloping: {log}");
            }
        } else {
            expect_result(&r, REQUESTER, Some(NOT_SUPPORTED));
        }

        // Five documents are long work: Pending when the client accepts it, else synchronous.
        let docs: Vec<(Option<String>, Option<String>, Vec<u8>)> = (0..5)
            .map(|i| {
                (
                    Some(format!("d{i}")),
                    None,
                    format!("document {i}").into_bytes(),
                )
            })
            .collect();
        for accepts in [false, true] {
            let sad = ctx.sad(&ctx.ec, 5, None).await;
            let mut req = Req {
                documents: docs.clone(),
                sad: Some(sad),
                key_name: Some(ctx.ec.clone()),
                include_econtent: Some(true),
                ..Default::default()
            };
            if accepts {
                req.profiles.push(ASYNC_PROFILE.into());
            }
            let mut r = ctx.sign(syntax, &req).await;
            if accepts {
                expect_result(&r, PENDING, None);
                let id = r.response_id.clone().expect("ResponseID");
                for _ in 0..200 {
                    r = ctx.pending(syntax, &ctx.token, &id).await;
                    if r.major != PENDING {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            expect_result(&r, SUCCESS, None);
            let which: Vec<Option<String>> = r.documents.iter().map(|d| d.0.clone()).collect();
            let expected: Vec<Option<String>> = docs.iter().map(|d| d.0.clone()).collect();
            assert_eq!(which, expected);
        }
    }
    // The schema's wrapped root is accepted too.
    let digest = vec![sha256(b"wrapped")];
    let sad = ctx.sad(&ctx.ec, 1, Some(&digest)).await;
    let body = json!({ "signReq": hash_req(&ctx.ec, &sad, ECDSA_SHA256_URI, &digest).json() });
    let r = ctx
        .post_raw(
            "/dss/v2/sign",
            Syntax::Json,
            Some(&ctx.token),
            body.to_string().into_bytes(),
        )
        .await;
    expect_result(&r, SUCCESS, None);
}

#[tokio::test]
async fn result_codes() {
    let ctx = setup_with(&[]).await;
    let other_user = ctx.server.add_user("someone-else");
    let foreign = ctx.server.create_credential(
        &other_user,
        PIN,
        &["--key", "ec-p256", "--scal", "1", "--multisign", "10"],
    );
    let other_token = ctx.server.login(&other_user).await;
    let digest = vec![sha256(b"covered")];
    for syntax in [Syntax::Xml, Syntax::Json] {
        let sad = ctx.sad(&ctx.ec, 1, Some(&digest)).await;
        let base = hash_req(&ctx.ec, &sad, ECDSA_SHA256_URI, &digest);

        let r = ctx
            .sign(
                syntax,
                &Req {
                    sad: None,
                    ..base.clone()
                },
            )
            .await;
        expect_result(&r, REQUESTER, Some(NOT_AUTHORIZED));
        assert!(
            r.message
                .as_deref()
                .is_some_and(|m| m.starts_with("Missing SAD")),
            "{r:?}"
        );
        assert_eq!(r.request_id.as_deref(), Some("req-<1>&"));

        let r = ctx
            .sign(
                syntax,
                &Req {
                    sad: Some("not-a-sad".into()),
                    ..base.clone()
                },
            )
            .await;
        expect_result(&r, REQUESTER, Some(NOT_AUTHORIZED));
        assert_eq!(r.message.as_deref(), Some("Invalid SAD"));

        let uncovered = vec![sha256(b"not covered")];
        let r = ctx
            .sign(
                syntax,
                &hash_req(&ctx.ec, &sad, ECDSA_SHA256_URI, &uncovered),
            )
            .await;
        expect_result(&r, REQUESTER, Some(NOT_AUTHORIZED));
        assert_eq!(
            r.message.as_deref(),
            Some("A document (or document digest) is not covered by the authorization (SAD)")
        );

        // Unknown and foreign credentials: the same answer, word for word.
        let unknown = ctx
            .sign(
                syntax,
                &Req {
                    key_name: Some("no-such-credential".into()),
                    ..base.clone()
                },
            )
            .await;
        expect_result(&unknown, REQUESTER, Some(KEY_LOOKUP));
        let theirs = ctx
            .sign(
                syntax,
                &Req {
                    key_name: Some(foreign.clone()),
                    ..base.clone()
                },
            )
            .await;
        expect_result(&theirs, REQUESTER, Some(KEY_LOOKUP));
        assert_eq!(unknown.message, theirs.message);

        // Unsupported optional inputs are named, never ignored.
        let r = ctx
            .sign(
                syntax,
                &Req {
                    extra_xml: Some("<dss2:Nonce>42</dss2:Nonce>".into()),
                    extra_json: Some(("nonce".into(), json!(42))),
                    ..base.clone()
                },
            )
            .await;
        expect_result(&r, REQUESTER, Some(NOT_SUPPORTED));
        assert_eq!(
            r.message.as_deref(),
            Some("Optional input(s) not supported: Nonce")
        );
        let r = ctx
            .sign(
                syntax,
                &Req {
                    profiles: vec!["urn:example:unknown-profile".into()],
                    ..base.clone()
                },
            )
            .await;
        expect_result(&r, REQUESTER, Some(NOT_SUPPORTED));

        // A SHA-384 digest for ECDSA with SHA-256.
        let mut wrong = base.clone();
        wrong.hashes[0].1 = vec![(SHA384_URI.into(), vec![7u8; 48])];
        let r = ctx.sign(syntax, &wrong).await;
        expect_result(&r, REQUESTER, Some(HASH_ALG));
        let mut sha1 = base.clone();
        sha1.signature_algorithm = None;
        sha1.hashes[0].1 = vec![(
            "http://www.w3.org/2000/09/xmldsig#sha1".into(),
            vec![7u8; 20],
        )];
        let r = ctx.sign(syntax, &sha1).await;
        expect_result(&r, REQUESTER, Some(HASH_ALG));

        // No access token, or a bad one: still a DSS response.
        let r = ctx.sign_as(syntax, None, &base).await;
        expect_result(&r, REQUESTER, Some(NOT_AUTHORIZED));
        let r = ctx.sign_as(syntax, Some("bogus-token"), &base).await;
        expect_result(&r, REQUESTER, Some(NOT_AUTHORIZED));

        // The refusals above spent nothing: the SAD still signs the covered digest.
        let r = ctx.sign(syntax, &base).await;
        expect_result(&r, SUCCESS, None);

        // Asynchronous processing: Pending with a ResponseID, then the result once.
        let sad = ctx.sad(&ctx.ec, 1, Some(&digest)).await;
        let mut req = hash_req(&ctx.ec, &sad, ECDSA_SHA256_URI, &digest);
        req.enforce_async = true;
        req.profiles.push(ASYNC_PROFILE.into());
        let r = ctx.sign(syntax, &req).await;
        expect_result(&r, PENDING, None);
        let id = r.response_id.clone().expect("ResponseID");
        // Another user cannot fetch it.
        let r = ctx.pending(syntax, &other_token, &id).await;
        expect_result(&r, REQUESTER, Some(ID_UNKNOWN));
        let mut done = None;
        for _ in 0..100 {
            let r = ctx.pending(syntax, &ctx.token, &id).await;
            if r.major == PENDING {
                assert_eq!(r.response_id.as_deref(), Some(id.as_str()));
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            done = Some(r);
            break;
        }
        let r = done.expect("the asynchronous request finished");
        expect_result(&r, SUCCESS, None);
        assert_eq!(r.request_id.as_deref(), Some("req-<1>&"));
        assert_eq!(r.response_id.as_deref(), Some(id.as_str()));
        let cert = ctx.server.certificate(&ctx.token, &ctx.ec).await;
        verify(&cert, ECDSA_SHA256, SHA256, b"covered", &r.signatures[0].2).expect("verifies");
        // Delivered once; made-up IDs are unknown too.
        let r = ctx.pending(syntax, &ctx.token, &id).await;
        expect_result(&r, REQUESTER, Some(ID_UNKNOWN));
        let r = ctx.pending(syntax, &ctx.token, "no-such-response").await;
        expect_result(&r, REQUESTER, Some(ID_UNKNOWN));
    }
}

#[tokio::test]
async fn hostile_xml_is_refused() {
    let ctx = setup_with(&[("SIGNET_LIMITS__MAX_DOCUMENT_BYTES", "100000")]).await;
    // A listener an external entity would be fetched from: it must see no connection.
    let trap = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    trap.set_nonblocking(true).expect("nonblocking");
    let trap_url = format!("http://{}/x", trap.local_addr().expect("addr"));
    let open =
        format!(r#"<dss2:SignRequest xmlns:dss2="{DSS2}" xmlns:dsb="{DSB}" RequestID="evil">"#);
    let laughs = {
        let mut d = String::from(r#"<!ENTITY l0 "lol">"#);
        for i in 1..10 {
            let prev = format!("&l{};", i - 1);
            d += &format!(r#"<!ENTITY l{i} "{}">"#, prev.repeat(10));
        }
        format!(
            r#"<?xml version="1.0"?><!DOCTYPE dss2:SignRequest [{d}]>{open}<dsb:Profile>&l9;</dsb:Profile></dss2:SignRequest>"#
        )
    };
    let xxe = format!(
        r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "{trap_url}">]>{open}<dsb:Profile>&x;</dsb:Profile></dss2:SignRequest>"#
    );
    let undeclared = format!("{open}<dsb:Profile>&x;</dsb:Profile></dss2:SignRequest>");
    let deep = format!(
        "{open}<dss2:OptionalInputs>{}{}</dss2:OptionalInputs></dss2:SignRequest>",
        "<dsb:Other>".repeat(10_000),
        "</dsb:Other>".repeat(10_000)
    );
    let oversized = format!(
        "{open}<dss2:InputDocuments><dss2:Document><dss2:Base64Data><dsb:Value>{}</dsb:Value></dss2:Base64Data></dss2:Document></dss2:InputDocuments></dss2:SignRequest>",
        "QUFB".repeat(40_000)
    );
    for (name, body, minor, message) in [
        (
            "billion laughs",
            laughs,
            NOT_SUPPORTED,
            Some("DTDs are not accepted"),
        ),
        (
            "external entity",
            xxe,
            NOT_SUPPORTED,
            Some("DTDs are not accepted"),
        ),
        ("undeclared entity", undeclared, GENERAL, None),
        (
            "10000 deep",
            deep,
            GENERAL,
            Some("The XML request is nested deeper than 32 levels"),
        ),
        (
            "oversized base64",
            oversized,
            GENERAL,
            Some("Document is larger than the limit of 100000 bytes"),
        ),
    ] {
        let started = std::time::Instant::now();
        let r = ctx
            .post_raw(
                "/dss/v2/sign",
                Syntax::Xml,
                Some(&ctx.token),
                body.into_bytes(),
            )
            .await;
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{name} took too long"
        );
        expect_result(&r, REQUESTER, Some(minor));
        if let Some(m) = message {
            assert_eq!(r.message.as_deref(), Some(m), "{name}");
        }
        let rid = r.request_id.as_deref();
        assert!(rid.is_none() || rid == Some("evil"), "{name}: {rid:?}");
    }
    assert!(trap.accept().is_err(), "the external entity was fetched");
    let health = ctx.server.raw("GET", "/healthz", &[], Vec::new()).await;
    assert_eq!(
        (health.status, health.body.as_slice()),
        (200, b"ok".as_slice())
    );
}

#[tokio::test]
async fn non_dss_bodies_get_http_errors() {
    let ctx = setup_with(&[]).await;
    let auth = format!("Bearer {}", ctx.token);
    let cases: [(&str, &str, &[u8], u16, &str); 6] = [
        (
            "/dss/v2/sign",
            "text/plain",
            b"<x/>",
            415,
            "Content-Type must be application/xml or application/json",
        ),
        (
            "/dss/v2/sign",
            "application/xml",
            b"hello",
            400,
            "The body is not an XML document",
        ),
        (
            "/dss/v2/sign",
            "application/xml",
            b"<VerifyRequest xmlns=\"http://docs.oasis-open.org/dss-x/ns/core\"/>",
            400,
            "The root element must be {http://docs.oasis-open.org/dss-x/ns/core}SignRequest",
        ),
        (
            "/dss/v2/pending",
            "application/xml",
            b"<dss2:SignRequest xmlns:dss2=\"http://docs.oasis-open.org/dss-x/ns/core\"/>",
            400,
            "The root element must be {http://docs.oasis-open.org/dss-x/ns/core}PendingRequest",
        ),
        (
            "/dss/v2/sign",
            "application/json",
            b"[1, 2]",
            400,
            "The body must be a JSON object",
        ),
        (
            "/dss/v2/sign",
            "application/json",
            b"{\"pendingReq\": {}}",
            400,
            "This endpoint takes a signReq object",
        ),
    ];
    for (path, ctype, body, status, description) in cases {
        let r = ctx
            .server
            .raw(
                "POST",
                path,
                &[("Content-Type", ctype), ("Authorization", &auth)],
                body.to_vec(),
            )
            .await;
        let v = r.json();
        assert_eq!(r.status, status, "{path} {ctype}: {v}");
        assert_eq!(v["error"], "invalid_request", "{v}");
        assert_eq!(v["error_description"], description, "{v}");
    }
    let r = ctx.server.raw("GET", "/dss/v2/sign", &[], Vec::new()).await;
    assert_eq!(r.status, 405);
}

/// A credential-scoped OAuth2 access token as Bearer is also the SAD (as in CSC signHash):
/// bound to its hashes and its credential.
#[tokio::test]
async fn credential_scoped_token_is_the_sad() {
    use common::oauth::{Browser, b64url, pkce, query};
    let ctx = setup_with(&[]).await;
    let user = ctx.server.add_user("oauth-signer");
    let cred = ctx
        .server
        .create_credential(&user, PIN, &["--auth", "oauth2code", "--scal", "1"]);
    let client = ctx.server.add_client(
        "DSS-X client",
        &["https://client.example/callback"],
        false,
        None,
    );
    let digest = sha256(b"authorized through OAuth2");
    let browser = Browser::new(&ctx.server);
    let p = pkce();
    let hashes = b64url(&digest);
    let path = common::oauth::authorize_path(
        &client,
        &p,
        "s",
        &[
            ("scope", "credential"),
            ("credentialID", &cred),
            ("numSignatures", "1"),
            ("hashes", &hashes),
            ("hashAlgorithmOID", SHA256),
        ],
    );
    let signin = browser.get(&path).await;
    assert_eq!(signin.status, 200, "{}", signin.body);
    let consent = browser.sign_in(&signin, &user).await;
    let reply = browser.decide(&consent, "approve", Some(PIN), None).await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    let code = query(&reply.location().expect("redirect"))["code"].clone();
    let (status, tok) = ctx.server.redeem(&client, &code, &p.verifier).await;
    assert_eq!(status, 200, "{tok}");
    let token = tok["access_token"]
        .as_str()
        .expect("access_token")
        .to_string();

    let mut req = hash_req(
        &cred,
        "unused",
        ECDSA_SHA256_URI,
        std::slice::from_ref(&digest),
    );
    req.sad = None;
    // Another credential's KeyName with this token: refused before anything is spent.
    let other = Req {
        key_name: Some(ctx.ec.clone()),
        ..req.clone()
    };
    let r = ctx.sign_as(Syntax::Xml, Some(&token), &other).await;
    expect_result(&r, REQUESTER, Some(NOT_AUTHORIZED));
    // A digest the token does not cover.
    let mut uncovered = req.clone();
    uncovered.hashes[0].1[0].1 = sha256(b"something else");
    let r = ctx.sign_as(Syntax::Json, Some(&token), &uncovered).await;
    expect_result(&r, REQUESTER, Some(NOT_AUTHORIZED));
    let r = ctx.sign_as(Syntax::Xml, Some(&token), &req).await;
    expect_result(&r, SUCCESS, None);
    // The token was the SAD and is spent; the certificate comes with the user's own login.
    let service = ctx.server.login(&user).await;
    let cert = ctx.server.certificate(&service, &cred).await;
    verify(
        &cert,
        ECDSA_SHA256,
        SHA256,
        b"authorized through OAuth2",
        &r.signatures[0].2,
    )
    .expect("verifies");
}
