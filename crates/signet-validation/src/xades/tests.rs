use std::path::{Path, PathBuf};
use std::process::Command;

use signet_ades::test_pki::{self, TestPki, venv_python};
use signet_ades::{Content, Envelope, Level, Signer, asn1};
use signet_core::{HashAlgorithm, b64};
use signet_keys::KeyRef;

use super::*;

/// A XAdES signature of `document` by `signer`, as Signet makes it.
pub(crate) fn xades(
    pki: &TestPki,
    (key, signer): &(KeyRef, Signer),
    level: Level,
    envelope: Envelope,
    document: &[u8],
    detached_name: Option<&str>,
) -> Vec<u8> {
    let content = Content::Document(document.to_vec());
    let mut request = test_pki::request(signer, Format::Xades, level, envelope, content);
    request.detached_name = detached_name.map(str::to_owned);
    pki.make_request(key, request)
}

/// Whether `xmlsec1` can be run; a note (or, with SIGNET_REQUIRE_INTEROP=1, a failure) when
/// not.
pub(crate) fn have_xmlsec1() -> bool {
    let ok = Command::new("xmlsec1")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("SIGNET_REQUIRE_INTEROP").as_deref() != Ok("1"),
            "SIGNET_REQUIRE_INTEROP=1 but xmlsec1 is not installed"
        );
        eprintln!("SKIPPED: xmlsec1 is not installed");
    }
    ok
}

pub(crate) const DOC: &str = "<?xml version=\"1.0\"?>\n<!-- head -->\n<inv:Invoice xmlns:inv=\"urn:inv\" xmlns=\"urn:d\" b=\"2\" a=\"1\">\n  <Line n=\"1\">caf\u{e9} &amp; cr\u{e8}me</Line>\n  <Empty/>\n</inv:Invoice>\n";

/// The hash and digest of a time-stamp token's messageImprint (RFC 3161 TSTInfo inside the
/// CMS SignedData's encapsulated content).
fn token_imprint(token: &[u8]) -> (HashAlgorithm, Vec<u8>) {
    let ci = asn1::read_all(token).unwrap().children().unwrap();
    let sd = asn1::read_all(ci[1].content).unwrap().children().unwrap();
    let encap = sd[2].children().unwrap();
    let octets = asn1::read_all(encap[1].content).unwrap();
    let tst = asn1::read_all(octets.content).unwrap().children().unwrap();
    let imprint = tst[2].children().unwrap();
    let alg = imprint[0].children().unwrap();
    let h = HashAlgorithm::from_oid(&crate::crypto::oid_text(alg[0].content)).unwrap();
    (h, imprint[1].content.to_vec())
}

/// Time-stamp evidence whose `intact` compares the token's imprint with what the reader
/// says the time-stamp covers (token reading itself belongs to `timestamp`).
fn stamp_checked(
    kind: TimestampKind,
    token: Vec<u8>,
    covered: Result<&[u8], String>,
) -> TimestampEvidence {
    let (h, imprint) = token_imprint(&token);
    let intact = match covered {
        Ok(input) => Check::from_bool(h.digest(input) == imprint, || "imprint differs".into()),
        Err(e) => Check::Failed(e),
    };
    TimestampEvidence {
        kind,
        token,
        time: None,
        tsa_certificate: None,
        certificates: Vec::new(),
        intact,
        signature_value: Check::NotChecked("not read in these tests".into()),
    }
}

fn read_checked(input: &[u8], detached: &[DetachedContent]) -> Vec<SignatureEvidence> {
    read_with(input, detached, &Limits::default(), &stamp_checked).unwrap()
}

fn document(name: Option<&str>, bytes: &[u8]) -> Vec<DetachedContent> {
    vec![DetachedContent {
        name: name.map(str::to_owned),
        bytes: bytes.to_vec(),
    }]
}

/// Exclusive C14N of the first element named `local` in `xml` (as it sits in the document).
fn canonical_element(xml: &[u8], local: &str, nth: usize) -> Vec<u8> {
    let doc = signet_ades::xml::parse_untrusted(xml, 100).unwrap();
    let n = doc
        .descendants()
        .filter(|n| n.tag_name().name() == local)
        .nth(nth)
        .unwrap();
    let mut out = Vec::new();
    signet_ades::xml::element_subtree(n, &mut out);
    out
}

/// The distinct base64 values of the elements named `local`, decoded.
fn values_of(xml: &[u8], local: &str) -> Vec<Vec<u8>> {
    let doc = signet_ades::xml::parse_untrusted(xml, 100).unwrap();
    let mut out: Vec<Vec<u8>> = Vec::new();
    for n in doc.descendants().filter(|n| n.tag_name().name() == local) {
        let v = b64::decode(n.text().unwrap()).unwrap();
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

fn all_passed(ev: &SignatureEvidence) {
    assert_eq!(ev.format_error, None);
    assert_eq!(
        ev.signature_value,
        Check::Passed,
        "{:?}",
        ev.signature_value
    );
    assert_eq!(ev.signing_certificate_reference, Check::Passed);
    assert_eq!(ev.constraint_failures, Vec::<String>::new());
    for d in &ev.signed_data {
        assert_eq!(
            (&d.found, &d.intact),
            (&Check::Passed, &Check::Passed),
            "{}",
            d.name
        );
    }
}

#[test]
fn signet_signatures_at_every_level_and_envelope() {
    let pki = TestPki::new();
    for signer in [pki.es256(), pki.rs256()] {
        for level in Level::ALL {
            for envelope in [
                Envelope::Enveloped,
                Envelope::Enveloping,
                Envelope::Detached,
            ] {
                let xml = xades(&pki, &signer, level, envelope, DOC.as_bytes(), None);
                let detached = match envelope {
                    Envelope::Detached => document(Some("document"), DOC.as_bytes()),
                    _ => Vec::new(),
                };
                let found = read_checked(&xml, &detached);
                let what = format!("{:?} {level} {envelope:?}", signer.1.key_type);
                assert_eq!(found.len(), 1, "{what}");
                let ev = &found[0];
                all_passed(ev);
                assert_eq!(ev.format, Format::Xades);
                assert_eq!(ev.signing_certificate.as_ref(), Some(&signer.1.certificate));
                assert_eq!(
                    ev.claimed_signing_time,
                    Some(OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap())
                );
                assert_eq!(ev.digest_algorithm, Some(HashAlgorithm::Sha256));
                let data_name = match envelope {
                    Envelope::Enveloped => "\"\" (the whole document)".to_owned(),
                    Envelope::Enveloping => {
                        let sid = String::from_utf8_lossy(&xml)
                            .split("Id=\"")
                            .nth(1)
                            .unwrap()
                            .split('"')
                            .next()
                            .unwrap()
                            .to_owned();
                        format!("#{sid}-object")
                    }
                    _ => "document".to_owned(),
                };
                assert_eq!(ev.signed_data.len(), 2, "{what}");
                assert_eq!(ev.signed_data[0].name, data_name, "{what}");
                assert!(ev.signed_data[1].name.ends_with("-keyinfo"), "{what}");
                let kinds: Vec<TimestampKind> = ev.timestamps.iter().map(|t| t.kind).collect();
                let expected: &[TimestampKind] = match level {
                    Level::BB => &[],
                    Level::BT | Level::BLt => &[TimestampKind::Signature],
                    Level::BLta => &[TimestampKind::Signature, TimestampKind::Archive],
                };
                assert_eq!(kinds, expected, "{what}");
                for t in &ev.timestamps {
                    assert_eq!(t.intact, Check::Passed, "{what} {:?}", t.kind);
                }
                assert_eq!(ev.has_validation_data, level >= Level::BLt, "{what}");
                // Every distinct CRL and OCSP response written, in order.
                assert_eq!(ev.crls, values_of(&xml, "EncapsulatedCRLValue"), "{what}");
                assert_eq!(ev.crls.is_empty(), level < Level::BLt, "{what}");
                let ocsp = values_of(&xml, "EncapsulatedOCSPValue");
                assert_eq!(ev.ocsp_responses, ocsp, "{what}");
                // KeyInfo: signer and CA; from B-LT on also the TSA's certificate.
                assert_eq!(
                    ev.certificates[..2],
                    [signer.1.certificate.clone(), pki.ca.certificate.clone()]
                );
                assert_eq!(
                    ev.certificates.contains(&pki.tsa.certificate),
                    level >= Level::BLt,
                    "{what}"
                );
                for o in &ev.ocsp_responses {
                    // OCSPResponse { responseStatus ENUMERATED successful, ... }.
                    let fields = asn1::read_all(o).unwrap().children().unwrap();
                    assert_eq!((fields[0].tag, fields[0].content), (0x0a, &[0u8][..]));
                }
            }
        }
    }
}

#[test]
fn the_enveloping_archive_time_stamp_covers_the_data_object() {
    // EN 319 132-1 §5.5.2.3 step 6: the ds:Objects but the QualifyingProperties' one.
    let pki = TestPki::new();
    let xml = xades(
        &pki,
        &pki.es256(),
        Level::BLta,
        Envelope::Enveloping,
        b"data",
        None,
    );
    let archived = std::cell::RefCell::new(Vec::new());
    let stamp = |kind, token, covered: Result<&[u8], String>| {
        if kind == TimestampKind::Archive {
            archived.replace(covered.clone().unwrap().to_vec());
        }
        stamp_checked(kind, token, covered)
    };
    let ev = &read_with(&xml, &[], &Limits::default(), &stamp).unwrap()[0];
    assert_eq!(ev.timestamps[0].intact, Check::Passed);
    assert_eq!(ev.timestamps[1].intact, Check::Passed);
    let object = canonical_element(&xml, "Object", 1);
    assert!(object.starts_with(b"<ds:Object "));
    assert!(archived.borrow().ends_with(&object));
}

fn replace_once(xml: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(xml.to_vec()).unwrap();
    assert_eq!(text.matches(from).count(), 1, "{from}");
    text.replacen(from, to, 1).into_bytes()
}

fn element_text(xml: &[u8], local: &str) -> String {
    let text = String::from_utf8(xml.to_vec()).unwrap();
    let open = format!("<ds:{local}");
    let start = text.find(&open).unwrap();
    let start = start + text[start..].find('>').unwrap() + 1;
    let end = start + text[start..].find('<').unwrap();
    text[start..end].to_owned()
}

#[test]
fn tampering_is_found() {
    let pki = TestPki::new();
    let signer = pki.es256();
    let xml = xades(
        &pki,
        &signer,
        Level::BT,
        Envelope::Enveloped,
        DOC.as_bytes(),
        None,
    );

    // A changed text node of the signed document: the whole-document reference.
    let changed = replace_once(&xml, "caf\u{e9}", "cafe");
    let ev = &read_checked(&changed, &[])[0];
    assert_eq!(ev.signed_data[0].found, Check::Passed);
    assert_eq!(
        ev.signed_data[0].intact,
        Check::Failed(
            "the digest of \"\" (the whole document) does not match its DigestValue".into()
        )
    );
    assert_eq!(ev.signature_value, Check::Passed);
    // The signature time-stamp covers the signature value, which did not change.
    assert_eq!(ev.timestamps[0].intact, Check::Passed);

    // A flipped bit of the signature value.
    let value = element_text(&xml, "SignatureValue");
    let mut bytes = b64::decode(&value).unwrap();
    bytes[5] ^= 1;
    let flipped = replace_once(&xml, &value, &b64::encode(&bytes));
    let ev = &read_checked(&flipped, &[])[0];
    assert_eq!(ev.id, SignatureEvidence::id_for(&bytes));
    assert!(matches!(ev.signature_value, Check::Failed(_)));
    assert!(ev.signed_data.iter().all(|d| d.intact.passed()));
    assert_eq!(
        ev.timestamps[0].intact,
        Check::Failed("imprint differs".into())
    );

    // A changed signed property: the SignedProperties reference.
    let later = replace_once(&xml, "2026-09-21T14:13:20Z", "2026-09-21T14:13:21Z");
    let ev = &read_checked(&later, &[])[0];
    assert_eq!(ev.signed_data.len(), 3);
    assert!(
        ev.signed_data[2]
            .name
            .ends_with("-signedprops (SignedProperties)")
    );
    assert!(matches!(ev.signed_data[2].intact, Check::Failed(_)));
}

#[test]
fn a_second_element_with_a_signed_id_is_refused() {
    let pki = TestPki::new();
    let xml = xades(
        &pki,
        &pki.es256(),
        Level::BB,
        Envelope::Enveloping,
        b"data",
        None,
    );
    let text = String::from_utf8(xml.clone()).unwrap();
    let object_id = text
        .split("<ds:Object Id=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    // Signature wrapping: another ds:Object with the signed Id, holding other data.
    let wrapped = replace_once(
        &xml,
        "<ds:SignedInfo>",
        &format!(
            "<ds:Object Id=\"{object_id}\">{}</ds:Object><ds:SignedInfo>",
            b64::encode(b"evil")
        ),
    );
    // ds:Signature must start with SignedInfo: a format error.
    let ev = &read_checked(&wrapped, &[])[0];
    assert_eq!(
        ev.format_error.as_deref(),
        Some("ds:Signature does not start with ds:SignedInfo")
    );
    let wrapped = replace_once(
        &xml,
        "</ds:Signature>",
        &format!(
            "<ds:Object Id=\"{object_id}\">{}</ds:Object></ds:Signature>",
            b64::encode(b"evil")
        ),
    );
    let ev = &read_checked(&wrapped, &[])[0];
    assert_eq!(ev.format_error, None);
    assert_eq!(
        ev.signed_data[0].found,
        Check::Failed(format!(
            "more than one element has the Id \"{object_id}\" (a signature-wrapping attempt?)"
        ))
    );
    assert_eq!(ev.signature_value, Check::Passed);
}

#[test]
fn detached_documents_are_needed_and_matched() {
    let pki = TestPki::new();
    let xml = xades(
        &pki,
        &pki.es256(),
        Level::BB,
        Envelope::Detached,
        b"content",
        Some("a b.txt"),
    );
    // Not given.
    let ev = &read_checked(&xml, &[])[0];
    assert_eq!(
        ev.signed_data[0].found,
        Check::Failed("the detached document \"a%20b.txt\" was not given".into())
    );
    // By name, among several.
    let mut docs = document(Some("other"), b"x");
    docs.extend(document(Some("/home/u/a b.txt"), b"content"));
    all_passed(&read_checked(&xml, &docs)[0]);
    // The only one given, whatever its name; and a wrong one.
    all_passed(&read_checked(&xml, &document(None, b"content"))[0]);
    let ev = &read_checked(&xml, &document(None, b"contents"))[0];
    assert!(matches!(ev.signed_data[0].intact, Check::Failed(_)));
    assert_eq!(ev.signature_value, Check::Passed);
}

#[test]
fn what_is_not_a_signature() {
    let limits = Limits::default();
    assert_eq!(
        read(b"<r><a/></r>", &[], &limits),
        Err(ValidationError::NotASignature(
            "the XML document has no ds:Signature".into()
        ))
    );
    let ev = read(b"<r><a></r>", &[], &limits).unwrap();
    assert!(
        ev[0]
            .format_error
            .as_deref()
            .unwrap()
            .contains("not well-formed")
    );
    let ev = read(b"<!DOCTYPE r [<!ENTITY e \"x\">]><r>&e;</r>", &[], &limits).unwrap();
    assert!(ev[0].format_error.as_deref().unwrap().contains("DTD"));
    let bare = format!(
        "<ds:Signature xmlns:ds=\"{DS}\"><ds:SignatureValue>AA==</ds:SignatureValue></ds:Signature>"
    );
    let ev = read(bare.as_bytes(), &[], &limits).unwrap();
    assert_eq!(
        ev[0].format_error.as_deref(),
        Some("ds:Signature does not start with ds:SignedInfo")
    );
    assert_eq!(ev[0].id, SignatureEvidence::id_for(bare.as_bytes()));
    let small = Limits {
        max_document_bytes: 10,
        ..limits
    };
    assert!(matches!(
        read(bare.as_bytes(), &[], &small),
        Err(ValidationError::TooLarge(_))
    ));
}

#[test]
fn an_xpath_transform_is_not_run() {
    let pki = TestPki::new();
    let xml = xades(
        &pki,
        &pki.es256(),
        Level::BB,
        Envelope::Enveloped,
        b"<r/>",
        None,
    );
    let xpath = replace_once(
        &xml,
        "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"></ds:Transform>",
        "<ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xpath-19991116\"><ds:XPath>1</ds:XPath></ds:Transform>",
    );
    let ev = &read_checked(&xpath, &[])[0];
    assert_eq!(
        ev.signed_data[0].intact,
        Check::Failed(
            "XPath transforms are not supported (they would run expressions from the signature)"
                .into()
        )
    );
    // The SignedInfo changed, so the value no longer verifies either.
    assert!(matches!(ev.signature_value, Check::Failed(_)));
}

#[test]
fn helpers() {
    assert_eq!(decimal(&[0x01, 0x00]), "256");
    assert_eq!(
        decimal(&[0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
        "18446744073709551615"
    );
    assert_eq!(decimal(&[0]), "");
    assert_eq!(
        date_time("2026-09-21T16:13:20+02:00"),
        OffsetDateTime::from_unix_timestamp(1_790_000_000).ok()
    );
    assert_eq!(
        date_time("2026-09-21T14:13:20.5"),
        OffsetDateTime::from_unix_timestamp_nanos(1_790_000_000_500_000_000).ok()
    );
    assert_eq!(date_time("yesterday"), None);
}

/// Runs `xmlsec1 --sign` on `template` with `key`/`cert` (PEM files).
pub(crate) fn xmlsec1_sign(
    dir: &Path,
    template: &str,
    key: &Path,
    cert: &Path,
    id_attr: &[&str],
) -> Vec<u8> {
    let input = dir.join("template.xml");
    let output = dir.join("signed.xml");
    std::fs::write(&input, template).unwrap();
    let mut cmd = Command::new("xmlsec1");
    cmd.arg("--sign")
        .arg("--privkey-pem")
        .arg(format!("{},{}", key.display(), cert.display()));
    for a in id_attr {
        cmd.arg("--id-attr:Id").arg(a);
    }
    let out = cmd
        .arg("--output")
        .arg(&output)
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(&output).unwrap()
}

/// A self-signed key and certificate made by openssl: (key.pem, cert.pem, cert DER).
pub(crate) fn openssl_key(dir: &Path, kind: &str) -> (PathBuf, PathBuf, Vec<u8>) {
    let key = dir.join(format!("{kind}.key"));
    let cert = dir.join(format!("{kind}.crt"));
    let mut cmd = Command::new("openssl");
    cmd.args([
        "req",
        "-x509",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=interop",
        "-newkey",
    ]);
    match kind {
        "ec" => cmd.args(["ec", "-pkeyopt", "ec_paramgen_curve:P-256"]),
        _ => cmd.arg("rsa:2048"),
    };
    let out = cmd
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pem = std::fs::read_to_string(&cert).unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    (key, cert, b64::decode(&body).unwrap())
}

const INTEROP_DOC: &str = "<doc xmlns=\"urn:d\" xmlns:p=\"urn:p\" xml:lang=\"en\"><!-- c --><p:item Id=\"i1\" b=\"2\" a=\"1\">caf&#233; &amp; cr&#232;me</p:item>\n<x xmlns=\"\"><y xml:space=\"preserve\"> </y></x>";

#[test]
fn xmlsec1_signatures_with_inclusive_c14n() {
    if !have_xmlsec1() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (kind, method) in [("ec", "ecdsa-sha256"), ("rsa", "rsa-sha256")] {
        let (key, cert, der) = openssl_key(dir.path(), kind);
        let template = format!(
            "{INTEROP_DOC}<ds:Signature xmlns:ds=\"{DS}\"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm=\"{}\"/><ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#{method}\"/><ds:Reference URI=\"\"><ds:Transforms><ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/></ds:Transforms><ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><ds:DigestValue/></ds:Reference><ds:Reference URI=\"#i1\"><ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha512\"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo></ds:Signature></doc>",
            c14n::INCLUSIVE
        );
        let signed = xmlsec1_sign(dir.path(), &template, &key, &cert, &["urn:p:item"]);
        let ev = &read(&signed, &[], &Limits::default()).unwrap()[0];
        assert_eq!(ev.format_error, None);
        assert_eq!(ev.signature_value, Check::Passed, "{kind}");
        assert_eq!(ev.signing_certificate.as_ref(), Some(&der));
        assert_eq!(ev.signed_data.len(), 2);
        for d in &ev.signed_data {
            assert_eq!(
                (&d.found, &d.intact),
                (&Check::Passed, &Check::Passed),
                "{kind} {}",
                d.name
            );
        }
        // Plain XMLDSig: not a XAdES baseline signature.
        assert_eq!(
            ev.constraint_failures,
            [
                "no SignedProperties reference",
                "SigningTime is missing (EN 319 132-1 baseline)",
                "SigningCertificateV2 is missing (EN 319 132-1 baseline)"
            ]
        );
        // Tampered after signing.
        let tampered = replace_once(&signed, "cr&#xE8;me", "creme");
        let ev = &read(&tampered, &[], &Limits::default()).unwrap()[0];
        assert!(
            ev.signed_data
                .iter()
                .all(|d| matches!(d.intact, Check::Failed(_)))
        );
    }
}

#[test]
fn signxml_signatures_with_c14n_11() {
    let Some(py) = venv_python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for (kind, method) in [("rsa", "rsa-sha256"), ("ec", "ecdsa-sha256")] {
        let (key, cert, der) = openssl_key(dir.path(), kind);
        let doc = dir.path().join("doc.xml");
        // lxml canonicalizes an element without the xml:* attributes of its ancestors, which
        // C14N 1.0 and 1.1 (and xmlsec1) carry onto it: no xml:lang above the signature here.
        let text = format!("{INTEROP_DOC}</doc>").replacen(" xml:lang=\"en\"", "", 1);
        std::fs::write(&doc, text).unwrap();
        let out = Command::new(&py)
            .arg("-c")
            .arg(
                "import sys; from lxml import etree; from signxml import XMLSigner, methods\n\
                 root = etree.parse(sys.argv[1]).getroot()\n\
                 s = XMLSigner(method=methods.enveloped, signature_algorithm=sys.argv[4]).sign(root, key=open(sys.argv[2],'rb').read(), cert=open(sys.argv[3],'rb').read())\n\
                 sys.stdout.buffer.write(etree.tostring(s))",
            )
            .arg(&doc)
            .arg(&key)
            .arg(&cert)
            .arg(method)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let signed = out.stdout;
        assert!(String::from_utf8_lossy(&signed).contains(c14n::INCLUSIVE_11));
        let ev = &read(&signed, &[], &Limits::default()).unwrap()[0];
        assert_eq!(ev.signature_value, Check::Passed, "{kind}");
        assert_eq!(ev.signing_certificate.as_ref(), Some(&der));
        assert_eq!(ev.signed_data.len(), 1);
        assert_eq!(ev.signed_data[0].intact, Check::Passed, "{kind}");
        let tampered = replace_once(&signed, "a=\"1\"", "a=\"2\"");
        let ev = &read(&tampered, &[], &Limits::default()).unwrap()[0];
        assert!(matches!(ev.signed_data[0].intact, Check::Failed(_)));
    }
}

#[test]
fn references_cannot_cost_without_bound() {
    let pki = TestPki::new();
    let xml = xades(
        &pki,
        &pki.es256(),
        Level::BB,
        Envelope::Enveloped,
        DOC.as_bytes(),
        None,
    );
    let text = String::from_utf8(xml).unwrap();
    let start = text.find("<ds:Reference").unwrap();
    let end = text.find("</ds:Reference>").unwrap() + "</ds:Reference>".len();
    // The whole-document reference twenty times: sixty passes over the document.
    let many = format!(
        "{}{}{}",
        &text[..start],
        text[start..end].repeat(20),
        &text[start..]
    );
    let limits = Limits {
        max_document_bytes: many.len(),
        ..Limits::default()
    };
    let ev = &read(many.as_bytes(), &[], &limits).unwrap()[0];
    let refused = Check::Failed(format!(
        "the signatures of this document need more processing than allowed ({} times the document size limit)",
        xmldsig::WORK_FACTOR
    ));
    let outcomes: Vec<bool> = ev.signed_data.iter().map(|d| d.intact == refused).collect();
    // The first references are digested (and match); once the budget is spent, none is.
    assert!(ev.signed_data[0].intact.passed());
    let first_refused = outcomes.iter().position(|r| *r).unwrap();
    assert!(
        first_refused > 1 && outcomes[first_refused..].iter().all(|r| *r),
        "{outcomes:?}"
    );
}
