use signet_core::PssSalt;
use std::path::PathBuf;

use super::*;
use crate::test_pki::{self, TestPki};
use crate::{Format, Signer, finish, prepare};

#[test]
fn text_is_escaped_and_control_characters_refused() {
    assert_eq!(text("a<b>&c\r").unwrap(), "a&lt;b&gt;&amp;c&#xD;");
    assert!(matches!(text("a\u{1}b"), Err(AdesError::InvalidRequest(_))));
}

#[test]
fn pss_with_maximum_salt_is_refused() {
    let m = SignMechanism::RsaPss {
        hash: HashAlgorithm::Sha256,
        salt: PssSalt::Maximum,
    };
    assert!(matches!(
        signature_method(m),
        Err(AdesError::InvalidRequest(_))
    ));
}

/// A request for a XAdES signature by `s`, with the test PKI's defaults.
fn request(s: &Signer, level: Level, envelope: Envelope, content: Content) -> DocumentRequest {
    test_pki::request(s, Format::Xades, level, envelope, content)
}

const DOC: &str = "<?xml version=\"1.0\"?>\n<!-- head -->\n<inv:Invoice xmlns:inv=\"urn:inv\" xmlns=\"urn:d\" b=\"2\" a=\"1\">\n  <Line n=\"1\">caf\u{e9} &amp; cr\u{e8}me</Line>\n  <Empty/>\n</inv:Invoice>\n";

#[test]
fn fragments_are_written_in_canonical_form() {
    let pki = TestPki::new();
    let (key, s) = pki.es256();
    let mut req = request(
        &s,
        Level::BB,
        Envelope::Enveloped,
        Content::Document(DOC.into()),
    );
    req.props.qualifying = QualifyingProps::from_csc(
        Format::Xades,
        &[
            ("signer-role".into(), Some("Director & <CFO>".into())),
            (
                "commitment-type-indication".into(),
                Some("proofOfApproval".into()),
            ),
            (
                "signer-location".into(),
                Some("{\"city\":\"Gent\",\"countryName\":\"BE\"}".into()),
            ),
            ("signature-policy-identifier".into(), Some("implied".into())),
        ],
    )
    .unwrap();
    let prepared = prepare(req).unwrap();
    let State::Xades(p) = &prepared.state else {
        panic!()
    };
    for fragment in [&p.signed_info, &p.key_info, &p.signed_properties] {
        let c = String::from_utf8(canonical(fragment).unwrap()).unwrap();
        // On its own the fragment declares ds/xades where exclusive C14N renders them; in
        // the signature it inherits them. Otherwise it is already canonical.
        assert_ne!(&c, fragment);
        let bare = c
            .replace(&format!(" xmlns:ds=\"{DS}\""), "")
            .replace(&format!(" xmlns:xades=\"{XADES}\""), "");
        assert_eq!(&bare, fragment);
    }
    assert!(
        p.signed_properties
            .contains("<xades:ClaimedRole>Director &amp; &lt;CFO&gt;</xades:ClaimedRole>")
    );
    assert!(
        p.signed_properties
            .contains("urn:oid:1.2.840.113549.1.9.16.6.5")
    );
    assert!(
        p.signed_properties
            .contains("<xades:SignaturePolicyImplied></xades:SignaturePolicyImplied>")
    );
    assert!(
        p.signed_properties
            .contains("<xades:City>Gent</xades:City>")
    );
    assert!(
        p.signed_properties
            .contains("<xades:SigningTime>2026-09-21T14:13:20Z</xades:SigningTime>")
    );
    let done = pki
        .finish(
            &key,
            request(
                &s,
                Level::BB,
                Envelope::Enveloped,
                Content::Document(DOC.into()),
            ),
        )
        .unwrap();
    let Output::DocumentWithSignature(out) = done.output else {
        panic!()
    };
    let out = String::from_utf8(out).unwrap();
    // The signature is the root's last child, the rest of the document unchanged.
    let at = out.find("<ds:Signature").unwrap();
    let end = out.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    assert_eq!(format!("{}{}", &out[..at], &out[end..]), DOC);
    assert!(out[..at].ends_with("<Empty/>\n"));
    assert!(out[end..].starts_with("</inv:Invoice>"));
}

#[test]
fn wrong_signature_value_is_refused() {
    let pki = TestPki::new();
    let (key, s) = pki.es256();
    let prepared = prepare(request(
        &s,
        Level::BB,
        Envelope::Detached,
        Content::Document(b"x".to_vec()),
    ))
    .unwrap();
    let other = pki
        .keys
        .sign_digests(
            &key,
            s.key_type,
            s.mechanism,
            &[HashAlgorithm::Sha256.digest(b"other")],
        )
        .unwrap()
        .remove(0);
    assert!(matches!(
        finish(prepared, &other, None, None),
        Err(AdesError::SignatureValue(_))
    ));
}

#[test]
fn digests_need_detached_and_no_lta() {
    let pki = TestPki::new();
    let (_, s) = pki.es256();
    let d = Content::Digest(vec![1; 32]);
    assert!(matches!(
        prepare(request(&s, Level::BB, Envelope::Enveloped, d.clone())),
        Err(AdesError::InvalidRequest(_))
    ));
    assert!(matches!(
        prepare(request(&s, Level::BLta, Envelope::Detached, d.clone())),
        Err(AdesError::InvalidRequest(_))
    ));
    let p = prepare(request(&s, Level::BLt, Envelope::Detached, d)).unwrap();
    assert_eq!(p.document_digest(), &[1; 32]);
    let State::Xades(x) = &p.state else { panic!() };
    assert!(x.signed_info.contains(&format!(
        "<ds:DigestValue>{}</ds:DigestValue>",
        b64::encode(&[1; 32])
    )));
}

#[test]
fn empty_root_element_gets_the_signature() {
    let pki = TestPki::new();
    let (key, s) = pki.es256();
    let doc = "<r a=\"1\" />";
    let done = pki
        .finish(
            &key,
            request(
                &s,
                Level::BB,
                Envelope::Enveloped,
                Content::Document(doc.into()),
            ),
        )
        .unwrap();
    let out = String::from_utf8(done.output.bytes().to_vec()).unwrap();
    assert!(out.starts_with("<r a=\"1\" ><ds:Signature"), "{out}");
    assert!(out.ends_with("</ds:Signature></r>"), "{out}");
}

#[test]
fn every_level_and_envelope() {
    let pki = TestPki::new();
    let samples = std::env::var_os("SIGNET_XADES_SAMPLES").map(PathBuf::from);
    if let Some(d) = &samples {
        std::fs::create_dir_all(d).unwrap();
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            b64::encode(&pki.ca.certificate)
        );
        std::fs::write(d.join("ca.pem"), pem).unwrap();
        std::fs::write(d.join("document"), DOC).unwrap();
    }
    for (tag, kt, m) in [
        (
            "ec",
            KeyType::EcP256,
            SignMechanism::Ecdsa {
                hash: HashAlgorithm::Sha256,
            },
        ),
        (
            "rsa",
            KeyType::Rsa2048,
            SignMechanism::RsaPkcs1 {
                hash: HashAlgorithm::Sha256,
            },
        ),
        (
            "pss",
            KeyType::Rsa2048,
            SignMechanism::RsaPss {
                hash: HashAlgorithm::Sha256,
                salt: PssSalt::DigestLength,
            },
        ),
    ] {
        let (key, s) = pki.signer(kt, m);
        for level in Level::ALL {
            for envelope in [
                Envelope::Enveloped,
                Envelope::Enveloping,
                Envelope::Detached,
            ] {
                let done = pki
                    .finish(
                        &key,
                        request(&s, level, envelope, Content::Document(DOC.into())),
                    )
                    .unwrap();
                let out = String::from_utf8(done.output.bytes().to_vec()).unwrap();
                assert_eq!(out.contains("SignatureTimeStamp"), level >= Level::BT);
                assert_eq!(out.contains("EncapsulatedOCSPValue"), level >= Level::BLt);
                assert_eq!(out.contains("EncapsulatedCRLValue"), level >= Level::BLt);
                assert_eq!(out.contains("ArchiveTimeStamp"), level >= Level::BLta);
                assert_eq!(!done.validation_info.is_empty(), level >= Level::BLt);
                assert_eq!(
                    matches!(done.output, Output::DocumentWithSignature(_)),
                    envelope == Envelope::Enveloped
                );
                if let Some(d) = &samples {
                    let file = format!("{tag}-{level}-{}.xml", envelope.name().to_lowercase());
                    std::fs::write(d.join(file), &out).unwrap();
                }
            }
        }
    }
}

#[test]
fn a_detached_signature_refers_to_its_document_by_name() {
    let pki = TestPki::new();
    let (key, s) = pki.es256();
    let mut req = request(
        &s,
        Level::BB,
        Envelope::Detached,
        Content::Document(DOC.into()),
    );
    req.detached_name = Some("Rechnung März <2026>.xml".into());
    let out = pki.finish(&key, req).unwrap();
    let xml = String::from_utf8(out.output.bytes().to_vec()).unwrap();
    assert!(
        xml.contains("URI=\"Rechnung%20M%C3%A4rz%20%3C2026%3E.xml\""),
        "{xml}"
    );
    // Without a name: the CSC default.
    let req = request(
        &s,
        Level::BB,
        Envelope::Detached,
        Content::Document(DOC.into()),
    );
    let out = pki.finish(&key, req).unwrap();
    assert!(String::from_utf8_lossy(out.output.bytes()).contains("URI=\"document\""));
}
