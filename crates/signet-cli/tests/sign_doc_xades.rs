//! signatures/signDoc with signature_format "X": the real server builds XAdES (EN 319 132-1)
//! signatures at every level and envelope, and software we did not write judges them:
//! `tests/interop/validate.sh xades` (xmlsec1's XMLDSig core validation and signxml's
//! XAdESVerifier, both with the Signet CA as the only trust anchor). Detached signatures name
//! their document by a relative URI, which validate.sh cannot supply: for those, xmlsec1 runs
//! in a directory holding the document under that name and signxml gets it through its
//! `uri_resolver`. Time-stamp tokens are checked with `validate.sh tst` (openssl ts) over the
//! canonical ds:SignatureValue as lxml computes it, and the B-LTA archive time-stamp's input is
//! recomputed independently with lxml. One flipped byte must make the validators reject.
//!
//! Missing interop tools skip the validator part unless SIGNET_REQUIRE_INTEROP is set.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::doc_signer::DocSigner as Ctx;
use common::interop::{Interop, interop, run};
use common::*;
use serde_json::{Value, json};

/// The detached document's name in the signature (`ds:Reference/@URI`).
const DETACHED_URI: &str = "document";

/// lxml (libxml2) helpers: `tst FILE OUTDIR` writes the canonical ds:SignatureValue and the
/// time-stamp tokens; `ats FILE [DETACHED]` recomputes the EN 319 132-1 §5.5.2 archive
/// time-stamp input and prints its SHA-256; `detached FILE CA DOC` runs signxml's
/// XAdESVerifier with the document behind the relative URI.
const XADES_HELPER: &str = r#"
import base64, copy, hashlib, os, sys
from lxml import etree
DS = 'http://www.w3.org/2000/09/xmldsig#'
XA = 'http://uri.etsi.org/01903/v1.3.2#'
X141 = 'http://uri.etsi.org/01903/v1.4.1#'
ns = {'ds': DS, 'xades': XA, 'x141': X141}
c14n = lambda e: etree.tostring(e, method='c14n', exclusive=True, with_comments=False)
mode, path = sys.argv[1], sys.argv[2]
tree = etree.parse(path)
sig = tree.getroot() if tree.getroot().tag == '{%s}Signature' % DS else tree.find('.//ds:Signature', ns)
if mode == 'tst':
    out = sys.argv[3]
    open(os.path.join(out, 'sigvalue.c14n'), 'wb').write(c14n(sig.find('ds:SignatureValue', ns)))
    for name, xp in [('sigtst', './/xades:SignatureTimeStamp/xades:EncapsulatedTimeStamp'),
                     ('ats', './/x141:ArchiveTimeStamp/xades:EncapsulatedTimeStamp')]:
        el = sig.find(xp, ns)
        if el is not None:
            open(os.path.join(out, name + '.der'), 'wb').write(base64.b64decode(el.text))
    print('extracted')
elif mode == 'ats':
    h = hashlib.sha256()
    for ref in sig.findall('ds:SignedInfo/ds:Reference', ns):
        uri = ref.get('URI')
        algs = [t.get('Algorithm') for t in ref.findall('ds:Transforms/ds:Transform', ns)]
        if uri == '':
            doc = copy.deepcopy(tree)
            s = doc.getroot().find('.//ds:Signature', ns)
            s.getparent().remove(s)
            data = etree.tostring(doc, method='c14n', exclusive=True, with_comments=False)
        elif uri.startswith('#'):
            target = [e for e in tree.iter() if e.get('Id') == uri[1:]]
            assert len(target) == 1, uri
            if DS + 'base64' in algs:
                data = base64.b64decode(target[0].text)
            else:
                data = c14n(target[0])
        else:
            data = open(sys.argv[3], 'rb').read()
        h.update(data)
    for name in ['SignedInfo', 'SignatureValue', 'KeyInfo']:
        h.update(c14n(sig.find('ds:' + name, ns)))
    usp = sig.find('.//xades:UnsignedSignatureProperties', ns)
    for child in usp:
        if child.tag == '{%s}ArchiveTimeStamp' % X141:
            break
        h.update(c14n(child))
    # EN 319 132-1 5.5.2.2 step 6: every ds:Object but the one holding QualifyingProperties
    # (an enveloping signature's data object included).
    for obj in sig.findall('ds:Object', ns):
        if obj.find('xades:QualifyingProperties', ns) is None:
            h.update(c14n(obj))
    print(h.hexdigest())
elif mode == 'detached':
    from signxml.xades import XAdESVerifier
    ca, doc = sys.argv[3], sys.argv[4]
    def resolve(uri):
        assert uri == 'document', uri
        return open(doc, 'rb').read()
    XAdESVerifier().verify(open(path, 'rb').read(), ca_pem_file=ca, uri_resolver=resolve)
    print('signxml: detached XAdES signature verified')
"#;

trait XadesTools {
    fn helper(&self, args: &[&Path]) -> (bool, String);
    fn check_xades(&self, file: &Path, detached: Option<&Path>, ca: &Path) -> (bool, String);
}

impl XadesTools for Interop {
    fn helper(&self, args: &[&Path]) -> (bool, String) {
        run(Command::new(self.python())
            .arg("-c")
            .arg(XADES_HELPER)
            .args(args))
    }

    /// validate.sh xades, or for a detached signature xmlsec1 in a directory where the
    /// document sits under its URI plus signxml with the document resolved.
    fn check_xades(&self, file: &Path, detached: Option<&Path>, ca: &Path) -> (bool, String) {
        let Some(doc) = detached else {
            return self.validate(&["xades".as_ref(), file, ca]);
        };
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::copy(doc, dir.path().join(DETACHED_URI)).expect("copy document");
        let (ok1, log1) = run(Command::new("xmlsec1")
            .current_dir(dir.path())
            .args(["--verify", "--trusted-pem"])
            .arg(ca)
            .args(["--id-attr:Id", "SignedProperties"])
            .arg(file));
        let (ok2, log2) = self.helper(&["detached".as_ref(), file, ca, doc]);
        (ok1 && ok2, format!("xmlsec1: {log1}\nsignxml: {log2}"))
    }
}

async fn setup(key: &str, env: &[(&str, &str)]) -> Ctx {
    Ctx::start(key, env).await
}

impl Ctx {
    /// One XAdES signDoc that must succeed: the output and which CSC field carried it.
    async fn sign_xades(
        &self,
        doc: &[u8],
        level: &str,
        envelope: &str,
        extra: Value,
        algo: &str,
    ) -> (Vec<u8>, &'static str) {
        let sad = self.sad(1, None).await;
        let mut entry = json!({
            "document": b64(doc), "signAlgo": algo, "signature_format": "X",
            "conformance_level": level, "signed_envelope_property": envelope,
        });
        if let Value::Object(m) = extra {
            for (k, v) in m {
                entry[k] = v;
            }
        }
        let reply = self.sign_doc(&sad, json!({ "documents": [entry] })).await;
        assert_eq!(
            reply.0, 200,
            "signDoc {level} {envelope} failed: {}",
            reply.1
        );
        for field in ["DocumentWithSignature", "SignatureObject"] {
            if let Some(out) = reply.1[field][0].as_str() {
                return (unb64(out), field);
            }
        }
        panic!("no output: {}", reply.1)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, bytes).expect("write");
        p
    }
}

const INVOICE: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- an invoice -->\n<inv:Invoice xmlns:inv=\"urn:example:invoice\" xmlns=\"urn:example:default\" number=\"42\">\n  <Line qty=\"3\">Widget caf\u{e9} &amp; cr\u{e8}me</Line>\n  <Total currency=\"EUR\">99.90</Total>\n</inv:Invoice>\n";

/// The text between `<tag ...>` and `</tag>` (first occurrence).
fn element_text<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let start = xml.find(&format!("<{tag}"))?;
    let open_end = start + xml[start..].find('>')? + 1;
    let end = open_end + xml[open_end..].find(&format!("</{tag}>"))?;
    Some(&xml[open_end..end])
}

/// Replaces the Base64 character at `at` inside `xml` with another Base64 character.
fn flip_b64(xml: &str, at: usize) -> Vec<u8> {
    let mut bytes = xml.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    bytes
}

fn level_file(level: &str) -> String {
    level.to_ascii_lowercase().replace("ades-", "")
}

async fn matrix(key: &str, algo: &str, levels: &[&str]) {
    let tools = interop();
    let ctx = setup(key, &[]).await;
    let ca = ctx.server.ca_pem();
    let doc_path = ctx.write("invoice.xml", INVOICE.as_bytes());
    for level in levels {
        for envelope in ["Enveloped", "Enveloping", "Detached"] {
            let (out, field) = ctx
                .sign_xades(INVOICE.as_bytes(), level, envelope, json!({}), algo)
                .await;
            let expected_field = if envelope == "Enveloped" {
                "DocumentWithSignature"
            } else {
                "SignatureObject"
            };
            assert_eq!(field, expected_field, "{level} {envelope}");
            let xml = String::from_utf8(out.clone()).expect("UTF-8 output");
            match envelope {
                "Enveloped" => {
                    // The document is unchanged around the signature, its root's last child.
                    let at = xml.find("<ds:Signature").expect("ds:Signature");
                    let end = xml.find("</ds:Signature>").expect("end") + 15;
                    assert_eq!(format!("{}{}", &xml[..at], &xml[end..]), INVOICE);
                    assert!(xml[end..].starts_with("</inv:Invoice>"));
                }
                "Enveloping" => {
                    let data = {
                        let s = xml.find("<ds:Object Id=").expect("ds:Object");
                        let s = s + xml[s..].find('>').unwrap() + 1;
                        xml[s..].find("</ds:Object>").map(|e| &xml[s..s + e])
                    }
                    .expect("data object");
                    assert_eq!(unb64(data), INVOICE.as_bytes());
                }
                _ => assert!(xml.contains(&format!("URI=\"{DETACHED_URI}\""))),
            }
            let lta = level.ends_with("LTA");
            let lt = level.ends_with("LT") || lta;
            let t = lt || level.ends_with("-T");
            assert_eq!(xml.contains("<xades:SignatureTimeStamp"), t, "{level}");
            assert_eq!(xml.contains("<xades:EncapsulatedOCSPValue>"), lt, "{level}");
            assert_eq!(xml.contains("<xades:EncapsulatedCRLValue>"), lt, "{level}");
            assert_eq!(xml.contains("<xades:CertificateValues>"), lt, "{level}");
            assert_eq!(xml.contains("<xades141:ArchiveTimeStamp"), lta, "{level}");
            if lt {
                for tag in ["xades:EncapsulatedOCSPValue", "xades:EncapsulatedCRLValue"] {
                    let der = unb64(element_text(&xml, tag).expect(tag));
                    assert_eq!(der[0], 0x30, "{tag} is a DER SEQUENCE");
                }
            }
            let name = format!(
                "xades-{}-{}-{}",
                key,
                level_file(level),
                envelope.to_lowercase()
            );
            let file = ctx.write(&format!("{name}.xml"), &out);
            let Some(tools) = &tools else { continue };
            let detached = (envelope == "Detached").then_some(doc_path.as_path());
            let (ok, log) = tools.check_xades(&file, detached, &ca);
            assert!(ok, "XAdES {level} {envelope} rejected:\n{log}");

            if t {
                let tst_dir = ctx.dir.path().join(format!("{name}-tst"));
                std::fs::create_dir_all(&tst_dir).unwrap();
                let (ok, log) = tools.helper(&["tst".as_ref(), &file, &tst_dir]);
                assert!(ok, "{log}");
                let (ok, log) = tools.validate(&[
                    "tst".as_ref(),
                    &tst_dir.join("sigtst.der"),
                    &tst_dir.join("sigvalue.c14n"),
                    &ca,
                ]);
                assert!(ok, "signature time-stamp of {level} {envelope}:\n{log}");
                if lta {
                    let mut args: Vec<&Path> = vec!["ats".as_ref(), &file];
                    if let Some(d) = detached {
                        args.push(d);
                    }
                    let (ok, digest) = tools.helper(&args);
                    assert!(ok, "{digest}");
                    let (ok, log) = run(Command::new("openssl")
                        .args(["ts", "-verify", "-digest", digest.trim(), "-in"])
                        .arg(tst_dir.join("ats.der"))
                        .args(["-token_in", "-CAfile"])
                        .arg(&ca));
                    assert!(ok, "archive time-stamp of {level} {envelope}:\n{log}");
                }
            }

            // One flipped byte in the signed content, then in the SignatureValue.
            let content_tampered = match envelope {
                "Enveloped" => xml.replace("99.90", "99.91").into_bytes(),
                "Enveloping" => {
                    let at = xml.find("<ds:Object Id=").unwrap();
                    let at = at + xml[at..].find('>').unwrap() + 10;
                    flip_b64(&xml, at)
                }
                _ => out.clone(),
            };
            let tampered_doc = ctx.write(
                "tampered-invoice.xml",
                INVOICE.replace("99.90", "99.91").as_bytes(),
            );
            let bad = ctx.write("tampered.xml", &content_tampered);
            let bad_detached = detached.map(|_| tampered_doc.as_path());
            let (ok, log) = tools.check_xades(&bad, bad_detached, &ca);
            assert!(
                !ok,
                "tampered content accepted ({level} {envelope}):\n{log}"
            );
            let sv = xml.find("<ds:SignatureValue").unwrap();
            let sv = sv + xml[sv..].find('>').unwrap() + 5;
            let bad = ctx.write("tampered-sv.xml", &flip_b64(&xml, sv));
            let (ok, log) = tools.check_xades(&bad, detached, &ca);
            assert!(
                !ok,
                "tampered SignatureValue accepted ({level} {envelope}):\n{log}"
            );
        }
    }
}

#[tokio::test]
async fn ecdsa_b_b() {
    matrix("ec-p256", ECDSA_SHA256, &["Ades-B-B"]).await;
}

#[tokio::test]
async fn ecdsa_b_t() {
    matrix("ec-p256", ECDSA_SHA256, &["Ades-B-T"]).await;
}

#[tokio::test]
async fn ecdsa_b_lt() {
    matrix("ec-p256", ECDSA_SHA256, &["Ades-B-LT"]).await;
}

#[tokio::test]
async fn ecdsa_b_lta() {
    matrix("ec-p256", ECDSA_SHA256, &["Ades-B-LTA"]).await;
}

#[tokio::test]
async fn rsa_b_b_and_b_lta() {
    matrix("rsa-2048", RSA_SHA256, &["Ades-B-B", "Ades-B-LTA"]).await;
}

/// The qualifying properties a client asks for are signed, and validation still passes.
#[tokio::test]
async fn signed_props_appear_and_validate() {
    let tools = interop();
    let ctx = setup("ec-p256", &[]).await;
    let (out, _) = ctx
        .sign_xades(
            INVOICE.as_bytes(),
            "Ades-B-B",
            "Enveloped",
            json!({ "signed_props": [
                { "attribute_name": "commitment-type-indication", "attribute_value": "proofOfApproval" },
                { "attribute_name": "signer-location", "attribute_value": "{\"city\":\"Gent\",\"countryName\":\"BE\"}" },
                { "attribute_name": "signer-role", "attribute_value": "Director & CFO" },
                { "attribute_name": "signature-policy-identifier", "attribute_value": "implied" },
                { "attribute_name": "mime-type", "attribute_value": "application/xml" },
            ]}),
            ECDSA_SHA256,
        )
        .await;
    let xml = String::from_utf8(out.clone()).unwrap();
    let props = element_text(&xml, "xades:SignedProperties").expect("SignedProperties");
    for want in [
        "<xades:Identifier Qualifier=\"OIDAsURN\">urn:oid:1.2.840.113549.1.9.16.6.5</xades:Identifier>",
        "<xades:AllSignedDataObjects></xades:AllSignedDataObjects>",
        "<xades:SignatureProductionPlaceV2><xades:City>Gent</xades:City><xades:CountryName>BE</xades:CountryName></xades:SignatureProductionPlaceV2>",
        "<xades:ClaimedRole>Director &amp; CFO</xades:ClaimedRole>",
        "<xades:SignaturePolicyImplied></xades:SignaturePolicyImplied>",
        "<xades:MimeType>application/xml</xades:MimeType>",
        "<xades:SigningCertificateV2>",
        "<xades:SigningTime>",
    ] {
        assert!(props.contains(want), "{want} missing from {props}");
    }
    let Some(t) = tools else { return };
    let file = ctx.write("props.xml", &out);
    let (ok, log) = t.check_xades(&file, None, &ctx.server.ca_pem());
    assert!(ok, "{log}");
}

/// CSC documentDigests: a detached XAdES signature over the given digest; Enveloped needs
/// the document (400).
#[tokio::test]
async fn document_digests_detached() {
    let tools = interop();
    let ctx = setup("ec-p256", &[]).await;
    let digest = sha256(INVOICE.as_bytes());
    let sad = ctx.sad(1, Some(std::slice::from_ref(&digest))).await;
    let entry = |envelope: &str| {
        json!({ "documentDigests": [{
            "hashes": [b64(&digest)], "hashAlgorithmOID": SHA256, "signature_format": "X",
            "conformance_level": "Ades-B-T", "signed_envelope_property": envelope,
            "signAlgo": ECDSA_SHA256,
        }]})
    };
    let reply = ctx.sign_doc(&sad, entry("Enveloped")).await;
    let msg = expect_error(&reply, 400, "invalid_request");
    assert!(msg.contains("Enveloped"), "{msg}");
    let reply = ctx.sign_doc(&sad, entry("Detached")).await;
    assert_eq!(reply.0, 200, "{}", reply.1);
    assert!(reply.1.get("DocumentWithSignature").is_none());
    let out = unb64(
        reply.1["SignatureObject"][0]
            .as_str()
            .expect("SignatureObject"),
    );
    let xml = String::from_utf8(out.clone()).unwrap();
    assert!(xml.contains(&format!(
        "<ds:DigestValue>{}</ds:DigestValue>",
        b64(&digest)
    )));
    let Some(t) = tools else { return };
    let file = ctx.write("digest.xml", &out);
    let doc = ctx.write("invoice.xml", INVOICE.as_bytes());
    let (ok, log) = t.check_xades(&file, Some(&doc), &ctx.server.ca_pem());
    assert!(ok, "{log}");
}

/// Hostile XML: every one a 400 invalid_request naming the problem; and a document the SAD
/// does not cover is 403 invalid_hash.
#[tokio::test]
async fn hostile_xml_is_refused() {
    let ctx = setup("ec-p256", &[("SIGNET_LIMITS__MAX_XML_DEPTH", "20")]).await;
    let deep = format!("{}{}", "<a>".repeat(21), "</a>".repeat(21));
    let fine = format!("{}{}", "<a>".repeat(20), "</a>".repeat(20));
    let huge_attr = format!("<r a=\"{}\"/>", "x".repeat((1 << 20) + 1));
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            b"<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]><lolz>&lol2;</lolz>".to_vec(),
            "DTD",
        ),
        (
            b"<!DOCTYPE r [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><r>&xxe;</r>".to_vec(),
            "DTD",
        ),
        (b"<!DOCTYPE r SYSTEM \"http://127.0.0.1:1/evil.dtd\"><r/>".to_vec(), "DTD"),
        (b"<r>&custom;</r>".to_vec(), "&custom;"),
        (deep.into_bytes(), "deeper than 20"),
        (huge_attr.into_bytes(), "attribute value"),
        (b"<r>caf\xe9</r>".to_vec(), "not UTF-8"),
        (
            b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r>x</r>".to_vec(),
            "ISO-8859-1",
        ),
        (b"<r><open></r>".to_vec(), "not well-formed"),
        (b"plain text, not XML".to_vec(), "not well-formed"),
    ];
    let sad = ctx.sad(2, None).await;
    for (doc, want) in &cases {
        let reply = ctx
            .sign_doc(
                &sad,
                json!({ "documents": [{ "document": b64(doc), "signature_format": "X",
                         "signAlgo": ECDSA_SHA256 }] }),
            )
            .await;
        let msg = expect_error(&reply, 400, "invalid_request");
        assert!(msg.contains(want), "expected {want:?} in {msg:?}");
    }
    // The same SAD still signs (refusals do not spend it), and the depth limit is inclusive.
    let reply = ctx
        .sign_doc(
            &sad,
            json!({ "documents": [{ "document": b64(fine.as_bytes()), "signature_format": "X",
                     "signAlgo": ECDSA_SHA256 }] }),
        )
        .await;
    assert_eq!(reply.0, 200, "{}", reply.1);

    // Sole control: a SAD bound to one document does not sign another.
    let sad = ctx.sad(1, Some(&[sha256(INVOICE.as_bytes())])).await;
    let reply = ctx
        .sign_doc(
            &sad,
            json!({ "documents": [{ "document": b64(b"<other/>"), "signature_format": "X",
                     "signAlgo": ECDSA_SHA256 }] }),
        )
        .await;
    expect_error(&reply, 403, "invalid_hash");
}

/// RSASSA-PSS (digest-length salt, RFC 6931 `sha256-rsa-MGF1`): signxml verifies it; xmlsec1
/// 1.2.37 has no RSA-PSS signature method, so validate.sh's xmlsec1 step cannot judge it.
#[tokio::test]
async fn rsa_pss_verified_by_signxml() {
    let tools = interop();
    let ctx = setup("rsa-2048", &[]).await;
    let (out, _) = ctx
        .sign_xades(
            INVOICE.as_bytes(),
            "Ades-B-T",
            "Enveloped",
            json!({ "signAlgoParams": b64(&pss_params(SHA256)) }),
            RSASSA_PSS,
        )
        .await;
    let xml = String::from_utf8(out.clone()).unwrap();
    assert!(xml.contains(
        "<ds:SignatureMethod Algorithm=\"http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1\">"
    ));
    let Some(t) = tools else { return };
    let file = ctx.write("pss.xml", &out);
    let check = "import sys\nfrom signxml.xades import XAdESVerifier\nXAdESVerifier().verify(open(sys.argv[1], 'rb').read(), ca_pem_file=sys.argv[2])\nprint('signxml: verified')";
    let (ok, log) = run(Command::new(t.python())
        .arg("-c")
        .arg(check)
        .arg(&file)
        .arg(ctx.server.ca_pem()));
    assert!(ok, "{log}");
    let sv = xml.find("<ds:SignatureValue").unwrap();
    let sv = sv + xml[sv..].find('>').unwrap() + 5;
    let bad = ctx.write("pss-bad.xml", &flip_b64(&xml, sv));
    let (ok, log) = run(Command::new(t.python())
        .arg("-c")
        .arg(check)
        .arg(&bad)
        .arg(ctx.server.ca_pem()));
    assert!(!ok, "tampered PSS signature accepted: {log}");
}
