//! The embedded CA end to end, with an in-crate test key module.

mod common;

use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use common::TestKeys;
use const_oid::db::rfc4519::CN;
use der::asn1::Utf8StringRef;
use der::{Any, Decode, Encode};
use signet_core::KeyType;
use signet_keys::KeyModule;
use signet_pki::{EmbeddedCa, PkiError, SubjectName, pem_certificate, summarize};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn subject(cn: &str) -> SubjectName {
    SubjectName {
        common_name: cn.into(),
        organization: Some("Signet Demo".into()),
        country: Some("DE".into()),
    }
}

struct Chain {
    keys: TestKeys,
    ca: EmbeddedCa,
    leaf: Vec<u8>,
    leaf_spki: Vec<u8>,
}

fn chain(ca_type: KeyType, leaf_type: KeyType, cn: &str, ca_days: u32, leaf_days: u32) -> Chain {
    let keys = TestKeys::default();
    let ca = EmbeddedCa::create(
        &keys.service,
        ca_type,
        "Signet Test CA",
        Some("Signet Demo"),
        ca_days,
    )
    .unwrap();
    let signer = keys.generate(leaf_type, "alice").unwrap();
    let leaf = ca
        .issue_signer_certificate(
            &keys.service,
            &subject(cn),
            &signer.public_key_der,
            leaf_days,
        )
        .unwrap();
    Chain {
        keys,
        ca,
        leaf,
        leaf_spki: signer.public_key_der,
    }
}

fn verifier(ca_type: KeyType) -> &'static dyn VerificationAlgorithm {
    match ca_type {
        KeyType::EcP256 => &signature::ECDSA_P256_SHA256_ASN1,
        KeyType::EcP384 => &signature::ECDSA_P384_SHA384_ASN1,
        _ => &signature::RSA_PKCS1_2048_8192_SHA256,
    }
}

fn sha1(data: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, data)
        .as_ref()
        .to_vec()
}

fn check_chain(ca_type: KeyType, leaf_type: KeyType) {
    let Chain {
        ca,
        leaf,
        leaf_spki,
        ..
    } = chain(ca_type, leaf_type, "alice", 3650, 365);
    let t = now();
    let ca_cert = Certificate::from_der(&ca.certificate).unwrap();
    let leaf_cert = Certificate::from_der(&leaf).unwrap();
    let ca_tbs = &ca_cert.tbs_certificate;
    let leaf_tbs = &leaf_cert.tbs_certificate;

    // Canonical DER: re-encoding gives the same bytes.
    assert_eq!(ca_cert.to_der().unwrap(), ca.certificate);
    assert_eq!(leaf_cert.to_der().unwrap(), leaf);

    for cert in [&ca_cert, &leaf_cert] {
        let tbs = &cert.tbs_certificate;
        assert_eq!(tbs.version, x509_cert::certificate::Version::V3);
        assert_eq!(tbs.signature, cert.signature_algorithm);
        let serial = tbs.serial_number.as_bytes();
        assert_eq!(serial.len(), 16);
        assert!(serial[0] != 0 && serial[0] < 0x80);
        let expected_oid = signet_core::SignMechanism::default_for(ca_type).signature_oid();
        assert_eq!(cert.signature_algorithm.oid.to_string(), expected_oid);
        if ca_type.is_rsa() {
            assert_eq!(cert.signature_algorithm.parameters, Some(Any::null()));
        } else {
            assert_eq!(cert.signature_algorithm.parameters, None);
        }
    }
    assert_ne!(ca_tbs.serial_number, leaf_tbs.serial_number);

    // CA: self-issued, extensions and criticality.
    assert_eq!(
        ca_tbs.issuer.to_der().unwrap(),
        ca_tbs.subject.to_der().unwrap()
    );
    assert_eq!(
        ca_tbs.subject.to_string(),
        "CN=Signet Test CA,O=Signet Demo"
    );
    let exts = ca_tbs.extensions.as_ref().unwrap();
    assert_eq!(exts.len(), 3);
    let (critical, bc) = ca_tbs.get::<BasicConstraints>().unwrap().unwrap();
    assert!(critical && bc.ca);
    let (critical, ku) = ca_tbs.get::<KeyUsage>().unwrap().unwrap();
    assert!(critical);
    assert_eq!(ku.0, KeyUsages::KeyCertSign | KeyUsages::CRLSign);
    let (critical, ca_ski) = ca_tbs.get::<SubjectKeyIdentifier>().unwrap().unwrap();
    assert!(!critical);
    assert_eq!(
        ca_ski.0.as_bytes(),
        sha1(
            ca_tbs
                .subject_public_key_info
                .subject_public_key
                .raw_bytes()
        )
    );
    let ca_nb = ca_tbs.validity.not_before.to_unix_duration().as_secs() as i64;
    let ca_na = ca_tbs.validity.not_after.to_unix_duration().as_secs() as i64;
    assert!(
        (t - 3600 - ca_nb).abs() <= 5,
        "CA notBefore {ca_nb} vs now {t}"
    );
    assert!((t + 3650 * 86_400 - ca_na).abs() <= 5);

    // Leaf: issuer is the CA subject byte for byte, extensions and criticality.
    assert_eq!(
        leaf_tbs.issuer.to_der().unwrap(),
        ca_tbs.subject.to_der().unwrap()
    );
    assert_eq!(leaf_tbs.subject.to_string(), "CN=alice,O=Signet Demo,C=DE");
    assert_eq!(
        leaf_tbs.subject_public_key_info.to_der().unwrap(),
        leaf_spki
    );
    let exts = leaf_tbs.extensions.as_ref().unwrap();
    assert_eq!(exts.len(), 4);
    let (critical, bc) = leaf_tbs.get::<BasicConstraints>().unwrap().unwrap();
    assert!(critical && !bc.ca && bc.path_len_constraint.is_none());
    let (critical, ku) = leaf_tbs.get::<KeyUsage>().unwrap().unwrap();
    assert!(critical);
    assert_eq!(
        ku.0,
        KeyUsages::DigitalSignature | KeyUsages::NonRepudiation
    );
    let (critical, ski) = leaf_tbs.get::<SubjectKeyIdentifier>().unwrap().unwrap();
    assert!(!critical);
    assert_eq!(
        ski.0.as_bytes(),
        sha1(
            leaf_tbs
                .subject_public_key_info
                .subject_public_key
                .raw_bytes()
        )
    );
    let (critical, aki) = leaf_tbs.get::<AuthorityKeyIdentifier>().unwrap().unwrap();
    assert!(!critical);
    assert_eq!(aki.key_identifier, Some(ca_ski.0.clone()));
    assert!(aki.authority_cert_issuer.is_none() && aki.authority_cert_serial_number.is_none());
    let nb = leaf_tbs.validity.not_before.to_unix_duration().as_secs() as i64;
    let na = leaf_tbs.validity.not_after.to_unix_duration().as_secs() as i64;
    assert!((t - 300 - nb).abs() <= 5);
    assert!((t + 365 * 86_400 - na).abs() <= 5);

    // Both signatures verify over the TBS DER with the CA key.
    let ca_key = ca_tbs.subject_public_key_info.to_der().unwrap();
    for cert in [&ca_cert, &leaf_cert] {
        let tbs_der = cert.tbs_certificate.to_der().unwrap();
        UnparsedPublicKey::new(verifier(ca_type), &ca_key)
            .verify(&tbs_der, cert.signature.raw_bytes())
            .expect("signature verifies");
        let mut tampered = tbs_der.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(
            UnparsedPublicKey::new(verifier(ca_type), &ca_key)
                .verify(&tampered, cert.signature.raw_bytes())
                .is_err()
        );
    }
}

#[test]
fn ec_p256_ca_issues_signer_certificates() {
    check_chain(KeyType::EcP256, KeyType::EcP256);
    check_chain(KeyType::EcP256, KeyType::Rsa2048);
}

#[test]
fn rsa_2048_ca_issues_signer_certificates() {
    check_chain(KeyType::Rsa2048, KeyType::EcP256);
    check_chain(KeyType::Rsa2048, KeyType::Rsa2048);
}

#[test]
fn ec_p384_ca_signs_with_sha384() {
    check_chain(KeyType::EcP384, KeyType::EcP256);
}

fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is installed");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn openssl_verifies_the_chain() {
    for (ca_type, leaf_type) in [
        (KeyType::EcP256, KeyType::Rsa2048),
        (KeyType::Rsa2048, KeyType::EcP256),
    ] {
        let Chain { ca, leaf, .. } = chain(ca_type, leaf_type, "alice", 3650, 365);
        let dir = tempfile::tempdir().unwrap();
        let ca_pem = dir.path().join("ca.pem");
        let leaf_pem = dir.path().join("leaf.pem");
        std::fs::write(&ca_pem, ca.certificate_pem()).unwrap();
        std::fs::write(&leaf_pem, pem_certificate(&leaf)).unwrap();
        let (ca_path, leaf_path) = (ca_pem.to_str().unwrap(), leaf_pem.to_str().unwrap());

        let (ok, text) = openssl(&["verify", "-CAfile", ca_path, leaf_path]);
        assert!(ok && text.trim_end().ends_with(": OK"), "{ca_type}: {text}");
        // Stricter: RFC 5280 profile checks and the CA's self-signature too.
        let (ok, text) = openssl(&[
            "verify",
            "-x509_strict",
            "-check_ss_sig",
            "-CAfile",
            ca_path,
            leaf_path,
        ]);
        assert!(
            ok && text.trim_end().ends_with(": OK"),
            "{ca_type} strict: {text}"
        );

        let (ok, text) = openssl(&["x509", "-noout", "-ext", "keyUsage", "-in", leaf_path]);
        assert!(ok, "{text}");
        assert!(text.contains("critical"), "{text}");
        assert!(
            text.contains("Digital Signature, Non Repudiation"),
            "{text}"
        );
        let (ok, text) = openssl(&[
            "x509",
            "-noout",
            "-ext",
            "basicConstraints,keyUsage",
            "-in",
            ca_path,
        ]);
        assert!(ok, "{text}");
        assert!(text.contains("CA:TRUE"), "{text}");
        assert!(text.contains("Certificate Sign, CRL Sign"), "{text}");
    }
}

#[test]
fn summarize_reports_csc_cert_info() {
    let Chain { ca, leaf, .. } = chain(KeyType::EcP256, KeyType::EcP256, "alice", 3650, 365);
    let s = summarize(&leaf).unwrap();
    assert_eq!(s.subject_dn, "CN=alice,O=Signet Demo,C=DE");
    assert_eq!(s.issuer_dn, "CN=Signet Test CA,O=Signet Demo");
    let cert = Certificate::from_der(&leaf).unwrap();
    let tbs = &cert.tbs_certificate;
    let serial: String = tbs
        .serial_number
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    assert_eq!(s.serial_hex, serial);
    assert_eq!(s.serial_hex.len(), 32);
    assert!(!s.serial_hex.starts_with("00"));
    assert!(
        s.serial_hex
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    );
    assert_eq!(
        s.not_before,
        tbs.validity.not_before.to_unix_duration().as_secs() as i64
    );
    assert_eq!(
        s.not_after,
        tbs.validity.not_after.to_unix_duration().as_secs() as i64
    );
    for (text, unix) in [(&s.valid_from, s.not_before), (&s.valid_to, s.not_after)] {
        assert_eq!(text.len(), 15);
        assert!(text.ends_with('Z') && text[..14].chars().all(|c| c.is_ascii_digit()));
        let dt =
            der::DateTime::from_unix_duration(std::time::Duration::from_secs(unix as u64)).unwrap();
        let expected = format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}Z",
            dt.year(),
            dt.month(),
            dt.day(),
            dt.hour(),
            dt.minutes(),
            dt.seconds()
        );
        assert_eq!(*text, expected);
    }

    // Cross-check with openssl: serial and dates agree.
    let dir = tempfile::tempdir().unwrap();
    let leaf_pem = dir.path().join("leaf.pem");
    std::fs::write(&leaf_pem, pem_certificate(&leaf)).unwrap();
    let (ok, text) = openssl(&[
        "x509",
        "-noout",
        "-serial",
        "-subject",
        "-nameopt",
        "RFC2253",
        "-in",
        leaf_pem.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    assert!(text.contains(&format!("serial={}", s.serial_hex)), "{text}");
    assert!(
        text.contains(&format!("subject={}", s.subject_dn)),
        "{text}"
    );

    let ca_summary = summarize(&ca.certificate).unwrap();
    assert_eq!(ca_summary.subject_dn, ca_summary.issuer_dn);
    assert!(ca_summary.not_after > s.not_after);
}

#[test]
fn comma_in_username_stays_one_common_name() {
    let Chain { ca, leaf, .. } = chain(KeyType::EcP256, KeyType::EcP256, "doe, john", 3650, 365);
    let cert = Certificate::from_der(&leaf).unwrap();
    let rdns = &cert.tbs_certificate.subject.0;
    assert_eq!(rdns.len(), 3, "C, O, CN");
    let cn: Vec<_> = rdns
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .filter(|atv| atv.oid == CN)
        .collect();
    assert_eq!(cn.len(), 1);
    assert_eq!(
        Utf8StringRef::try_from(&cn[0].value).unwrap().as_str(),
        "doe, john"
    );
    let s = summarize(&leaf).unwrap();
    assert_eq!(s.subject_dn, r"CN=doe\, john,O=Signet Demo,C=DE");
    // The RFC 4514 text parses back to the same DER name.
    let reparsed: x509_cert::name::Name = s.subject_dn.parse().unwrap();
    assert_eq!(
        reparsed.to_der().unwrap(),
        cert.tbs_certificate.subject.to_der().unwrap()
    );

    // openssl sees one CN with the comma inside, and the chain still verifies.
    let dir = tempfile::tempdir().unwrap();
    let ca_pem = dir.path().join("ca.pem");
    let leaf_pem = dir.path().join("leaf.pem");
    std::fs::write(&ca_pem, ca.certificate_pem()).unwrap();
    std::fs::write(&leaf_pem, pem_certificate(&leaf)).unwrap();
    let leaf_path = leaf_pem.to_str().unwrap();
    let (ok, text) = openssl(&[
        "x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in", leaf_path,
    ]);
    assert!(ok, "{text}");
    assert_eq!(text.trim(), r"subject=CN=doe\, john,O=Signet Demo,C=DE");
    let (ok, text) = openssl(&["verify", "-CAfile", ca_pem.to_str().unwrap(), leaf_path]);
    assert!(ok && text.trim_end().ends_with(": OK"), "{text}");
}

#[test]
fn rfc4514_specials_round_trip() {
    let keys = TestKeys::default();
    let ca = EmbeddedCa::create(&keys.service, KeyType::EcP256, "CA, Inc.", None, 30).unwrap();
    assert_eq!(
        summarize(&ca.certificate).unwrap().subject_dn,
        r"CN=CA\, Inc."
    );
    let signer = keys.generate(KeyType::EcP256, "x").unwrap();
    for cn in [
        r#"a+b"#,
        r#""quoted""#,
        r"back\slash",
        "#hash",
        " padded ",
        "x=y;z<>",
        "Zoë 🦀",
    ] {
        let subject = SubjectName {
            common_name: cn.into(),
            organization: None,
            country: None,
        };
        let leaf = ca
            .issue_signer_certificate(&keys.service, &subject, &signer.public_key_der, 1)
            .unwrap();
        let cert = Certificate::from_der(&leaf).unwrap();
        let atv = &cert.tbs_certificate.subject.0[0].0.as_slice()[0];
        assert_eq!(Utf8StringRef::try_from(&atv.value).unwrap().as_str(), cn);
        let dn = summarize(&leaf).unwrap().subject_dn;
        let reparsed: x509_cert::name::Name = dn.parse().unwrap();
        assert_eq!(reparsed, cert.tbs_certificate.subject, "{cn} -> {dn}");
    }
}

#[test]
fn signer_validity_never_exceeds_the_ca() {
    let Chain { ca, leaf, .. } = chain(KeyType::EcP256, KeyType::EcP256, "alice", 2, 365);
    let ca_s = summarize(&ca.certificate).unwrap();
    let leaf_s = summarize(&leaf).unwrap();
    assert_eq!(leaf_s.not_after, ca_s.not_after);
    assert_eq!(leaf_s.valid_to, ca_s.valid_to);
    assert!(leaf_s.not_before >= ca_s.not_before);
}

#[test]
fn bad_inputs_are_refused() {
    let Chain {
        keys,
        ca,
        leaf_spki,
        ..
    } = chain(KeyType::EcP256, KeyType::EcP256, "alice", 30, 1);
    let err = ca.issue_signer_certificate(&keys.service, &subject("alice"), b"\x30\x00", 1);
    assert!(matches!(err, Err(PkiError::InvalidPublicKey(_))), "{err:?}");
    let err = ca.issue_signer_certificate(&keys.service, &subject(""), &leaf_spki, 1);
    assert!(matches!(err, Err(PkiError::InvalidName(_))), "{err:?}");
    let err = ca.issue_signer_certificate(&keys.service, &subject(&"x".repeat(65)), &leaf_spki, 1);
    assert!(matches!(err, Err(PkiError::InvalidName(_))), "{err:?}");
    let err = ca.issue_signer_certificate(&keys.service, &subject("alice"), &leaf_spki, 0);
    assert!(matches!(err, Err(PkiError::Validity(_))), "{err:?}");
    let err = EmbeddedCa::create(&keys.service, KeyType::EcP256, "CA", None, u32::MAX);
    assert!(matches!(err, Err(PkiError::Validity(_))), "{err:?}");
}

#[test]
fn faulty_signatures_are_caught_and_the_ca_key_destroyed() {
    let keys = TestKeys::default();
    keys.corrupt.store(true, Ordering::SeqCst);
    for key_type in [KeyType::EcP256, KeyType::Rsa2048] {
        let err = EmbeddedCa::create(&keys.service, key_type, "CA", None, 30);
        assert!(matches!(err, Err(PkiError::Signature(_))), "{err:?}");
    }
    assert_eq!(keys.destroyed.lock().unwrap().len(), 2);

    let Chain {
        keys,
        ca,
        leaf_spki,
        ..
    } = chain(KeyType::Rsa2048, KeyType::EcP256, "alice", 30, 1);
    keys.corrupt.store(true, Ordering::SeqCst);
    let err = ca.issue_signer_certificate(&keys.service, &subject("alice"), &leaf_spki, 1);
    assert!(matches!(err, Err(PkiError::Signature(_))), "{err:?}");
}

#[test]
fn pem_round_trips() {
    let keys = TestKeys::default();
    let ca = EmbeddedCa::create(&keys.service, KeyType::EcP256, "CA", None, 30).unwrap();
    let pem = ca.certificate_pem();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
    assert!(pem.ends_with("-----END CERTIFICATE-----\n"));
    let (label, der) = der::pem::decode_vec(pem.as_bytes()).unwrap();
    assert_eq!(label, "CERTIFICATE");
    assert_eq!(der, ca.certificate);
    assert!(pem.lines().all(|l| l.len() <= 64));
}
