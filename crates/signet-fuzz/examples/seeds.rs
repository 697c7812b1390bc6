//! Writes the fuzz PKI (`fixtures/`) and the seed corpora that need it: signatures of every
//! format and level, time-stamp tokens and requests, CRLs and OCSP responses, certificates,
//! PDFs and XML documents. Run once, from the workspace root, when the fixture must change:
//!
//! ```sh
//! cargo run -p signet-fuzz --example seeds
//! ```
//!
//! (then minimise the corpora with `scripts/fuzz --cmin`). The text seeds (CSC, OAuth2, DSS-X)
//! come from `fuzz/make_text_seeds.py`; the OCSP and RFC 3161 requests from OpenSSL
//! (`fuzz/README.md`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use signet_ades::test_pki::{TestPki, request, small_pdf};
use signet_ades::{Content, Envelope, Format, Level};
use signet_core::{HashAlgorithm, KeyType};
use signet_fuzz::fixture::{Files, Pki, SIGNER_MECHANISM};
use signet_keys::{KeyAccess, KeyModule, MasterKey, SoftKeyModule};
use signet_pki::{
    EmbeddedCa, RevocationStatus, RevokedCertificate, SubjectName, TimeStampAuthority,
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = root().join("fuzz/corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn name(cn: &str) -> SubjectName {
    SubjectName {
        common_name: cn.into(),
        organization: Some("Signet fuzz".into()),
        country: None,
    }
}

/// Creates a new fuzz PKI and writes it to `fixtures/`.
fn make_fixture() -> Vec<(&'static str, Vec<u8>)> {
    let mut master = [0u8; 32];
    aws_lc_rs::rand::fill(&mut master).unwrap();
    let master_hex = data_encoding::HEXLOWER.encode(&master);
    let keys: Arc<dyn KeyModule> =
        Arc::new(SoftKeyModule::new(MasterKey::from_bytes(&master).unwrap()));
    let service = KeyAccess::new(Arc::clone(&keys)).service_keys();
    let mut ca = EmbeddedCa::create(
        &service,
        KeyType::EcP256,
        "Signet Fuzz CA",
        Some("Signet"),
        36_500,
    )
    .unwrap();
    ca.urls = Some(signet_pki::ValidationUrls::under(
        signet_fuzz::fixture::BASE_URL,
    ));
    let tsa = TimeStampAuthority::create(
        &service,
        &ca,
        KeyType::EcP256,
        &name("Signet Fuzz TSA"),
        36_000,
        signet_pki::tsa::DEFAULT_POLICY_OID,
    )
    .unwrap();
    let signer_key = keys.generate(KeyType::EcP256, "signer").unwrap();
    let signer = ca
        .issue_signer_certificate(
            &service,
            &name("Alice Fuzz"),
            &signer_key.public_key_der,
            36_000,
        )
        .unwrap();
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    vec![
        ("master.hex", master_hex.into_bytes()),
        ("ca.der", ca.certificate.clone()),
        ("ca.keyref", ca.key_ref.0.clone()),
        ("tsa.der", tsa.certificate.clone()),
        ("tsa.keyref", tsa.key_ref.0.clone()),
        ("signer.der", signer),
        ("signer.keyref", signer_key.key_ref.0),
        ("created", created.to_string().into_bytes()),
    ]
}

fn main() {
    let files = make_fixture();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    for (n, bytes) in &files {
        std::fs::write(fixtures.join(n), bytes).unwrap();
    }
    let get = |n: &str| files.iter().find(|(f, _)| *f == n).unwrap().1.as_slice();
    let pki = Pki::open(&Files {
        master_hex: std::str::from_utf8(get("master.hex")).unwrap(),
        ca: get("ca.der"),
        ca_key: get("ca.keyref"),
        tsa: get("tsa.der"),
        tsa_key: get("tsa.keyref"),
        signer: get("signer.der"),
        signer_key: get("signer.keyref"),
        created: std::str::from_utf8(get("created")).unwrap(),
    });
    let test = TestPki {
        keys: Arc::clone(&pki.keys),
        service: pki.service.clone(),
        ca: pki.ca.clone(),
        tsa: pki.tsa.clone(),
        key: pki.signer_key.clone(),
        signer: pki.signer.clone(),
    };
    assert_eq!(pki.signer.mechanism, SIGNER_MECHANISM);

    // Certificates, DER and PEM.
    for (n, der) in [
        ("ca", &pki.ca.certificate),
        ("tsa", &pki.tsa.certificate),
        ("signer", &pki.signer.certificate),
    ] {
        write("certificate", &format!("{n}.der"), der);
        write(
            "certificate",
            &format!("{n}.pem"),
            signet_pki::pem_certificate(der).as_bytes(),
        );
        std::fs::write(
            std::env::temp_dir().join(format!("fuzz-{n}.pem")),
            signet_pki::pem_certificate(der),
        )
        .unwrap();
    }

    // Time-stamp tokens.
    for (i, hash) in HashAlgorithm::ALL.into_iter().enumerate() {
        let nonce = (i > 0).then_some(&[1u8, 2, 3, 4, 5, 6, 7, 8][..]);
        let token = pki
            .tsa
            .timestamp(&pki.service, hash, &hash.digest(b"fuzz"), nonce)
            .unwrap();
        write("timestamp_token", &format!("token-{}", hash.name()), &token);
    }

    // CRLs (selector 0) and OCSP responses (selector 1) about the signer.
    let serial = signet_pki::certificate_serial(&pki.signer.certificate).unwrap();
    let revoked = [RevokedCertificate {
        serial: serial.clone(),
        revoked_at: pki.created,
        reason: Some(1),
    }];
    for (n, list) in [("crl-empty", &[][..]), ("crl-revoked", &revoked[..])] {
        let mut seed = vec![0];
        seed.extend(pki.ca.crl(&pki.service, list, 7, 24).unwrap());
        write("revocation", n, &seed);
    }
    for (n, status) in [
        ("ocsp-good", RevocationStatus::Good),
        (
            "ocsp-revoked",
            RevocationStatus::Revoked {
                at: pki.created,
                reason: Some(1),
            },
        ),
        ("ocsp-unknown", RevocationStatus::Unknown),
    ] {
        let mut seed = vec![1];
        seed.extend(
            pki.ca
                .ocsp_response_for(&pki.service, &pki.signer.certificate, status)
                .unwrap(),
        );
        write("revocation", n, &seed);
    }

    // Signatures of every format at B-B and B-LTA (B-T and B-LT are prefixes of B-LTA).
    let text = b"Signet fuzz: the detached document.\n";
    assert_eq!(text, signet_fuzz::DETACHED_DOCUMENT);
    let xml = b"<?xml version=\"1.0\"?>\n<doc xmlns=\"urn:fuzz\" xmlns:a=\"urn:a\" a:x=\"1\"><a:item id=\"i1\">one &amp; two</a:item><!-- c --><b xml:lang=\"en\">three</b></doc>\n";
    let json = br#"{"document":"fuzz","items":[1,2,3]}"#;
    let pdf = small_pdf();
    for level in [Level::BB, Level::BLta] {
        let l = level.csc_name();
        let cades = |envelope, content: &[u8]| {
            let mut r = request(
                &pki.signer,
                Format::Cades,
                level,
                envelope,
                Content::Document(content.to_vec()),
            );
            r.detached_name = Some("document.txt".into());
            test.make_request(&pki.signer_key, r)
        };
        write(
            "validate_cades",
            &format!("attached-{l}"),
            &cades(Envelope::Attached, text),
        );
        write(
            "validate_cades",
            &format!("detached-{l}"),
            &cades(Envelope::Detached, text),
        );
        let xades = |envelope, content: &[u8]| {
            let mut r = request(
                &pki.signer,
                Format::Xades,
                level,
                envelope,
                Content::Document(content.to_vec()),
            );
            r.detached_name = Some("document.txt".into());
            test.make_request(&pki.signer_key, r)
        };
        let enveloped = xades(Envelope::Enveloped, xml);
        write("validate_xades", &format!("enveloped-{l}"), &enveloped);
        write("xml_c14n", &format!("xades-enveloped-{l}"), &enveloped);
        write(
            "validate_xades",
            &format!("enveloping-{l}"),
            &xades(Envelope::Enveloping, xml),
        );
        write(
            "validate_xades",
            &format!("detached-{l}"),
            &xades(Envelope::Detached, text),
        );
        let jades = |envelope, content: &[u8]| {
            let mut r = request(
                &pki.signer,
                Format::Jades,
                level,
                envelope,
                Content::Document(content.to_vec()),
            );
            r.detached_name = Some("document.txt".into());
            test.make_request(&pki.signer_key, r)
        };
        write(
            "jws",
            &format!("attached-{l}"),
            &jades(Envelope::Attached, json),
        );
        write(
            "jws",
            &format!("detached-{l}"),
            &jades(Envelope::Detached, text),
        );
        let signed_pdf = test.make(Format::Pades, level, Envelope::Certification, &pdf);
        write("validate_pades", &format!("pades-{l}"), &signed_pdf);
        write("pdf_read", &format!("pades-{l}"), &signed_pdf);
    }
    let approval = test.make(Format::Pades, Level::BB, Envelope::Revision, &pdf);
    write("pdf_read", "small", &pdf);
    write("pdf_read", "approval", &approval);
    write("xml_c14n", "document", xml);

    // A trusted list naming the fuzz CA, signed (XAdES enveloped) by the fuzz signer.
    let b64 = signet_core::b64::encode(&pki.ca.certificate);
    let tl = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<TrustServiceStatusList xmlns=\"http://uri.etsi.org/02231/v2#\" Id=\"tsl\" TSLTag=\"http://uri.etsi.org/19612/TSLTag\"><SchemeInformation><TSLVersionIdentifier>5</TSLVersionIdentifier><TSLSequenceNumber>1</TSLSequenceNumber><TSLType>http://uri.etsi.org/TrstSvc/TrustedList/TSLType/EUgeneric</TSLType><SchemeOperatorName><Name xml:lang=\"en\">Fuzz Operator</Name></SchemeOperatorName><SchemeTerritory>BE</SchemeTerritory><ListIssueDateTime>2026-01-15T10:00:00Z</ListIssueDateTime><NextUpdate><dateTime>2036-07-15T10:00:00Z</dateTime></NextUpdate></SchemeInformation><TrustServiceProviderList><TrustServiceProvider><TSPInformation><TSPName><Name xml:lang=\"en\">Fuzz Provider</Name></TSPName></TSPInformation><TSPServices><TSPService><ServiceInformation><ServiceTypeIdentifier>http://uri.etsi.org/TrstSvc/Svctype/CA/QC</ServiceTypeIdentifier><ServiceName><Name xml:lang=\"en\">Fuzz CA</Name></ServiceName><ServiceDigitalIdentity><DigitalId><X509Certificate>{b64}</X509Certificate></DigitalId></ServiceDigitalIdentity><ServiceStatus>http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted</ServiceStatus><StatusStartingTime>2026-01-01T00:00:00Z</StatusStartingTime></ServiceInformation></TSPService></TSPServices></TrustServiceProvider></TrustServiceProviderList></TrustServiceStatusList>\n"
    );
    let signed_tl = test.make(Format::Xades, Level::BB, Envelope::Enveloped, tl.as_bytes());
    write("trusted_list", "signed", &signed_tl);
    write("trusted_list", "unsigned", tl.as_bytes());
    println!("fixtures and seeds written; now the OpenSSL requests (fuzz/README.md)");
}
