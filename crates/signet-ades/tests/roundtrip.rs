//! prepare → key module → finish for every format × level × envelope, with the embedded CA,
//! its CRL and OCSP responses and the built-in TSA from signet-pki standing in for the
//! server's glue. These tests check structure and self-consistency; the third-party validators
//! judge the same outputs end to end in signet-cli's tests (sign_doc.rs).
//!
//! With SIGNET_ADES_SAMPLES=DIR every output is also written to DIR (with ca.pem), to feed
//! `tests/interop/validate.sh` by hand.

use signet_ades::test_pki::{self, TestPki, small_pdf};
use signet_ades::{
    AdesError, Content, DocumentRequest, Envelope, Format, Level, Output, Signer, finish, prepare,
};
use signet_core::{HashAlgorithm, KeyType, PssSalt, SignMechanism};
use signet_keys::KeyRef;

/// The test PKI of one test, whose samples go to SIGNET_ADES_SAMPLES/`tag`.
struct Pki {
    tag: &'static str,
    pki: TestPki,
}

fn pki(tag: &'static str) -> Pki {
    Pki {
        tag,
        pki: TestPki::new(),
    }
}

struct TestSigner {
    key: KeyRef,
    signer: Signer,
}

fn signer(pki: &Pki, key_type: KeyType, mechanism: SignMechanism) -> TestSigner {
    let (key, signer) = pki.pki.signer(key_type, mechanism);
    TestSigner { key, signer }
}

fn request(
    s: &TestSigner,
    format: Format,
    level: Level,
    envelope: Envelope,
    content: Content,
) -> DocumentRequest {
    test_pki::request(&s.signer, format, level, envelope, content)
}

/// The output and the document digest.
fn sign(pki: &Pki, s: &TestSigner, req: DocumentRequest) -> Result<(Output, Vec<u8>), AdesError> {
    let prepared = prepare(req)?;
    let doc_digest = prepared.document_digest().to_vec();
    let value = pki.pki.sign(&s.key, &s.signer, prepared.dtbsr());
    let done = finish(prepared, &value, Some(&pki.pki), Some(&pki.pki))?;
    Ok((done.output, doc_digest))
}

fn save(name: &str, bytes: &[u8], pki: &Pki) {
    if let Some(dir) = std::env::var_os("SIGNET_ADES_SAMPLES") {
        let dir = std::path::PathBuf::from(dir).join(pki.tag);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
        std::fs::write(dir.join("ca.pem"), pki.pki.ca.certificate_pem()).unwrap();
    }
}

fn level_name(l: Level) -> &'static str {
    match l {
        Level::BB => "b-b",
        Level::BT => "b-t",
        Level::BLt => "b-lt",
        Level::BLta => "b-lta",
    }
}

#[test]
fn every_combination() {
    let pki = pki("every_combination");
    let ec = signer(
        &pki,
        KeyType::EcP256,
        SignMechanism::Ecdsa {
            hash: HashAlgorithm::Sha256,
        },
    );
    let pdf = small_pdf();
    let content = b"hello CAdES\n".to_vec();
    save("data.txt", &content, &pki);
    for level in Level::ALL {
        for envelope in [Envelope::Attached, Envelope::Detached] {
            let req = request(
                &ec,
                Format::Cades,
                level,
                envelope,
                Content::Document(content.clone()),
            );
            let (out, dd) = sign(&pki, &ec, req).unwrap();
            assert_eq!(dd, HashAlgorithm::Sha256.digest(&content));
            match (envelope, &out) {
                (Envelope::Attached, Output::DocumentWithSignature(_))
                | (Envelope::Detached, Output::SignatureObject(_)) => {}
                other => panic!("{other:?}"),
            }
            save(
                &format!(
                    "cades-{}-{}.p7s",
                    level_name(level),
                    envelope.name().to_lowercase()
                ),
                out.bytes(),
                &pki,
            );
            // Parallel on top of the attached one.
            if envelope == Envelope::Attached {
                let req = request(
                    &ec,
                    Format::Cades,
                    level,
                    Envelope::Parallel,
                    Content::Document(out.bytes().to_vec()),
                );
                let (par, _) = sign(&pki, &ec, req).unwrap();
                save(
                    &format!("cades-{}-parallel.p7s", level_name(level)),
                    par.bytes(),
                    &pki,
                );
            }
        }
        for envelope in [Envelope::Certification, Envelope::Revision] {
            let req = request(
                &ec,
                Format::Pades,
                level,
                envelope,
                Content::Document(pdf.clone()),
            );
            let (out, dd) = sign(&pki, &ec, req).unwrap();
            assert_eq!(dd, HashAlgorithm::Sha256.digest(&pdf));
            let bytes = out.bytes();
            assert!(
                bytes.starts_with(&pdf),
                "incremental update keeps the original bytes"
            );
            save(
                &format!(
                    "pades-{}-{}.pdf",
                    level_name(level),
                    envelope.name().to_lowercase()
                ),
                bytes,
                &pki,
            );
        }
    }
}

#[test]
fn rsa_pkcs1_and_pss() {
    let pki = pki("rsa_pkcs1_and_pss");
    for (name, mechanism) in [
        (
            "pkcs1",
            SignMechanism::RsaPkcs1 {
                hash: HashAlgorithm::Sha256,
            },
        ),
        (
            "pss",
            SignMechanism::RsaPss {
                hash: HashAlgorithm::Sha256,
                salt: PssSalt::DigestLength,
            },
        ),
        (
            "pssmax",
            SignMechanism::RsaPss {
                hash: HashAlgorithm::Sha384,
                salt: PssSalt::Maximum,
            },
        ),
    ] {
        let s = signer(&pki, KeyType::Rsa2048, mechanism);
        let req = request(
            &s,
            Format::Cades,
            Level::BT,
            Envelope::Attached,
            Content::Document(b"rsa".to_vec()),
        );
        let (out, _) = sign(&pki, &s, req).unwrap();
        save(&format!("cades-rsa-{name}.p7s"), out.bytes(), &pki);
        let req = request(
            &s,
            Format::Pades,
            Level::BB,
            Envelope::Certification,
            Content::Document(small_pdf()),
        );
        let (out, _) = sign(&pki, &s, req).unwrap();
        save(&format!("pades-rsa-{name}.pdf"), out.bytes(), &pki);
    }
}

#[test]
fn second_signature_on_a_signed_pdf() {
    let pki = pki("second_signature_on_a_signed_pdf");
    let ec = signer(
        &pki,
        KeyType::EcP256,
        SignMechanism::Ecdsa {
            hash: HashAlgorithm::Sha256,
        },
    );
    let req = request(
        &ec,
        Format::Pades,
        Level::BLt,
        Envelope::Certification,
        Content::Document(small_pdf()),
    );
    let (first, _) = sign(&pki, &ec, req).unwrap();
    // Certification on a signed document is refused ...
    let req = request(
        &ec,
        Format::Pades,
        Level::BB,
        Envelope::Certification,
        Content::Document(first.bytes().to_vec()),
    );
    let err = sign(&pki, &ec, req).unwrap_err();
    assert!(matches!(err, AdesError::InvalidDocument(_)), "{err}");
    // ... an approval signature is fine, and keeps the first signature's bytes.
    let req = request(
        &ec,
        Format::Pades,
        Level::BLta,
        Envelope::Revision,
        Content::Document(first.bytes().to_vec()),
    );
    let (second, _) = sign(&pki, &ec, req).unwrap();
    assert!(second.bytes().starts_with(first.bytes()));
    save("pades-two-signatures.pdf", second.bytes(), &pki);
}

#[test]
fn detached_digest_and_pades_cms() {
    let pki = pki("detached_digest_and_pades_cms");
    let ec = signer(
        &pki,
        KeyType::EcP256,
        SignMechanism::Ecdsa {
            hash: HashAlgorithm::Sha256,
        },
    );
    let data = b"digest only".to_vec();
    let d = HashAlgorithm::Sha256.digest(&data);
    let req = request(
        &ec,
        Format::Cades,
        Level::BLta,
        Envelope::Detached,
        Content::Digest(d.clone()),
    );
    let (out, dd) = sign(&pki, &ec, req).unwrap();
    assert_eq!(dd, d);
    assert!(matches!(out, Output::SignatureObject(_)));
    save("digest.txt", &data, &pki);
    save("cades-digest-b-lta-detached.p7s", out.bytes(), &pki);
    // Attached over a digest is impossible.
    let req = request(
        &ec,
        Format::Cades,
        Level::BB,
        Envelope::Attached,
        Content::Digest(d.clone()),
    );
    assert!(prepare(req).is_err());
    // PAdES over a digest: the CMS only, up to B-T.
    let req = request(
        &ec,
        Format::Pades,
        Level::BT,
        Envelope::Certification,
        Content::Digest(d.clone()),
    );
    let (out, _) = sign(&pki, &ec, req).unwrap();
    assert!(matches!(out, Output::SignatureObject(_)));
    let req = request(
        &ec,
        Format::Pades,
        Level::BLt,
        Envelope::Certification,
        Content::Digest(d),
    );
    assert!(prepare(req).is_err());
}

#[test]
fn missing_tsa_or_validation_data_is_an_error() {
    let pki = pki("missing_tsa_or_validation_data_is_an_error");
    let ec = signer(
        &pki,
        KeyType::EcP256,
        SignMechanism::Ecdsa {
            hash: HashAlgorithm::Sha256,
        },
    );
    for (format, envelope, content) in [
        (Format::Cades, Envelope::Attached, b"x".to_vec()),
        (Format::Pades, Envelope::Revision, small_pdf()),
    ] {
        let p = prepare(request(
            &ec,
            format,
            Level::BT,
            envelope,
            Content::Document(content.clone()),
        ))
        .unwrap();
        let v = pki.pki.sign(&ec.key, &ec.signer, p.dtbsr());
        assert!(matches!(
            finish(p, &v, None, None),
            Err(AdesError::TimeStamp(_))
        ));
        let p = prepare(request(
            &ec,
            format,
            Level::BLt,
            envelope,
            Content::Document(content),
        ))
        .unwrap();
        let v = pki.pki.sign(&ec.key, &ec.signer, p.dtbsr());
        assert!(matches!(
            finish(p, &v, Some(&pki.pki), None),
            Err(AdesError::ValidationData(_))
        ));
    }
}

#[test]
fn wrong_signature_value_is_refused() {
    let pki = pki("wrong_signature_value_is_refused");
    let ec = signer(
        &pki,
        KeyType::EcP256,
        SignMechanism::Ecdsa {
            hash: HashAlgorithm::Sha256,
        },
    );
    let p = prepare(request(
        &ec,
        Format::Cades,
        Level::BB,
        Envelope::Attached,
        Content::Document(b"x".to_vec()),
    ))
    .unwrap();
    let v = pki.pki.sign(&ec.key, &ec.signer, &[0; 32]);
    assert!(matches!(
        finish(p, &v, None, None),
        Err(AdesError::SignatureValue(_))
    ));
}

/// Signs every PDF in SIGNET_ADES_REAL_PDFS (a directory) at B-LTA, both envelopes, to try
/// documents from other producers by hand; skipped without it.
#[test]
fn real_pdfs_from_env() {
    let Some(dir) = std::env::var_os("SIGNET_ADES_REAL_PDFS") else {
        return;
    };
    let pki = pki("real_pdfs");
    let ec = signer(
        &pki,
        KeyType::EcP256,
        SignMechanism::Ecdsa {
            hash: HashAlgorithm::Sha256,
        },
    );
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let pdf = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for envelope in [Envelope::Certification, Envelope::Revision] {
            let req = request(
                &ec,
                Format::Pades,
                Level::BLta,
                envelope,
                Content::Document(pdf.clone()),
            );
            match sign(&pki, &ec, req) {
                Ok((out, _)) => save(&format!("{}-{name}", envelope.name()), out.bytes(), &pki),
                Err(e) => eprintln!("{name} {envelope:?}: {e}"),
            }
        }
    }
}
