//! Tests of the CA's revocation services and the TSA against independent parsers: the
//! RustCrypto ASN.1 types decode what we encode, aws-lc-rs verifies the signatures directly
//! from the parsed structures, and a raw DER walker checks X.690 canonical form (minimal
//! lengths, SET OF components in ascending byte order) without trusting the `der` crate's
//! own sorting.

use std::cmp::Ordering;

use aws_lc_rs::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use signet_core::{HashAlgorithm, KeyType};
use signet_keys::{KeyAccess, KeyProvisioning, MasterKey, ServiceKeys, SoftKeyModule};
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::{
    AuthorityInfoAccessSyntax, CrlDistributionPoints, ExtendedKeyUsage, KeyUsage, KeyUsages,
};
use x509_ocsp::{BasicOcspResponse, CertId, CertStatus, OcspRequest, OcspResponse, Request};
use x509_tsp::TstInfo;

use crate::revocation::{OCSP_MALFORMED_REQUEST, OCSP_VALIDITY_SECS};
use crate::tsa::{DEFAULT_POLICY_OID, verify_token};
use crate::{
    EmbeddedCa, PkiError, RevocationList, RevocationStatus, RevokedCertificate, SubjectName,
    TimeStampAuthority, TimeStampRequestInfo, ValidationUrls, certificate_serial,
};

struct Fixture {
    keys: ServiceKeys,
    signers: KeyProvisioning,
    ca: EmbeddedCa,
    tsa: TimeStampAuthority,
}

fn fixture(ca_key: KeyType, tsa_key: KeyType) -> Fixture {
    let access = KeyAccess::new(std::sync::Arc::new(SoftKeyModule::new(
        MasterKey::generate().unwrap(),
    )));
    let (keys, signers) = (access.service_keys(), access.provisioning());
    let mut ca = EmbeddedCa::create(&keys, ca_key, "Test CA", Some("Signet"), 365).unwrap();
    ca.urls = Some(ValidationUrls::under("http://127.0.0.1:8080/"));
    let subject = SubjectName {
        common_name: "Test TSA".into(),
        organization: Some("Signet".into()),
        country: None,
    };
    let tsa =
        TimeStampAuthority::create(&keys, &ca, tsa_key, &subject, 365, DEFAULT_POLICY_OID).unwrap();
    Fixture {
        keys,
        signers,
        ca,
        tsa,
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn signer_cert(f: &Fixture) -> Vec<u8> {
    let key = f
        .signers
        .generate_signer_key(KeyType::EcP256, "signer")
        .unwrap();
    f.ca.issue_signer_certificate(
        &f.keys,
        &SubjectName {
            common_name: "alice".into(),
            organization: None,
            country: None,
        },
        &key.public_key_der,
        30,
    )
    .unwrap()
}

// ---------------------------------------------------------------------------------------------
// A raw DER walker, independent of the `der` crate.

/// Reads one TLV at the start of `input`: (tag, content, total length). Refuses long-form
/// lengths that could be shorter, indefinite lengths and truncation.
fn tlv(input: &[u8]) -> Result<(u8, &[u8], usize), String> {
    let tag = *input.first().ok_or("empty")?;
    if tag & 0x1f == 0x1f {
        return Err("multi-byte tags are not used here".into());
    }
    let first = *input.get(1).ok_or("no length")? as usize;
    let (len, header) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        if n == 0 || n > 4 {
            return Err(format!("length form {first:#x}"));
        }
        let bytes = input.get(2..2 + n).ok_or("truncated length")?;
        if bytes[0] == 0 {
            return Err("length with a leading zero".into());
        }
        let len = bytes.iter().fold(0usize, |a, b| (a << 8) | *b as usize);
        if len < 0x80 {
            return Err("long form for a short length".into());
        }
        (len, 2 + n)
    };
    let content = input
        .get(header..header + len)
        .ok_or_else(|| format!("truncated content (tag {tag:#x})"))?;
    Ok((tag, content, header + len))
}

/// Checks every TLV in `input` recursively: minimal lengths, and SET / SET OF (tag 0x31)
/// components in ascending order of their encodings (X.690 §11.6). OCTET STRINGs that hold one
/// DER SEQUENCE (eContent, extension values, OCSP responseBytes) are checked too.
fn check_canonical(input: &[u8], path: &str) -> Result<usize, String> {
    let mut rest = input;
    let mut sets = 0;
    while !rest.is_empty() {
        let (tag, content, total) = tlv(rest).map_err(|e| format!("{path}: {e}"))?;
        let here = format!("{path}/{tag:02x}");
        if tag == 0x31 {
            sets += 1;
            let mut children = Vec::new();
            let mut c = content;
            while !c.is_empty() {
                let (_, _, n) = tlv(c).map_err(|e| format!("{here}: {e}"))?;
                children.push(&c[..n]);
                c = &c[n..];
            }
            for pair in children.windows(2) {
                if pair[0].cmp(pair[1]) != Ordering::Less {
                    return Err(format!("{here}: SET OF components out of DER order"));
                }
            }
        }
        if tag & 0x20 != 0 {
            sets += check_canonical(content, &here)?;
        } else if tag == 0x04
            && content.first() == Some(&0x30)
            && tlv(content).is_ok_and(|(_, _, n)| n == content.len())
        {
            sets += check_canonical(content, &format!("{here}(octets)"))?;
        }
        rest = &rest[total..];
    }
    Ok(sets)
}

#[test]
fn der_walker_catches_unsorted_sets() {
    // SET { INTEGER 2, INTEGER 1 } is not DER; SET { INTEGER 1, INTEGER 2 } is.
    assert!(check_canonical(&[0x31, 0x06, 0x02, 0x01, 0x02, 0x02, 0x01, 0x01], "").is_err());
    assert_eq!(
        check_canonical(&[0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02], ""),
        Ok(1)
    );
    assert!(check_canonical(&[0x30, 0x81, 0x01, 0x00], "").is_err());
}

fn verifier(cert: &Certificate, sig_oid: &str) -> &'static dyn VerificationAlgorithm {
    let spki = &cert.tbs_certificate.subject_public_key_info;
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
        .map(|o| o.to_string());
    match (curve.as_deref(), sig_oid) {
        (Some("1.2.840.10045.3.1.7"), "1.2.840.10045.4.3.2") => &sig::ECDSA_P256_SHA256_ASN1,
        (Some("1.3.132.0.34"), "1.2.840.10045.4.3.3") => &sig::ECDSA_P384_SHA384_ASN1,
        (None, "1.2.840.113549.1.1.11") => &sig::RSA_PKCS1_2048_8192_SHA256,
        other => panic!("unexpected key/signature combination {other:?}"),
    }
}

fn aws_verify(cert: &Certificate, sig_oid: &str, message: &[u8], signature: &[u8]) {
    let key = cert
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes();
    UnparsedPublicKey::new(verifier(cert, sig_oid), key)
        .verify(message, signature)
        .expect("signature verifies with aws-lc-rs");
}

// ---------------------------------------------------------------------------------------------
// Certificates.

#[test]
fn tsa_certificate_has_critical_time_stamping_eku() {
    let f = fixture(KeyType::EcP256, KeyType::EcP256);
    let cert = Certificate::from_der(&f.tsa.certificate).unwrap();
    let tbs = &cert.tbs_certificate;
    let (critical, eku) = tbs.get::<ExtendedKeyUsage>().unwrap().expect("EKU present");
    assert!(critical, "RFC 3161 §2.3: the EKU MUST be critical");
    assert_eq!(eku.0, [ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8")]);
    let (critical, ku) = tbs.get::<KeyUsage>().unwrap().expect("keyUsage");
    assert!(critical);
    assert_eq!(
        ku.0,
        KeyUsages::DigitalSignature | KeyUsages::NonRepudiation
    );
    assert_eq!(
        tbs.issuer,
        Certificate::from_der(&f.ca.certificate)
            .unwrap()
            .tbs_certificate
            .subject
    );
    assert_eq!(f.tsa.chain, vec![f.ca.certificate.clone()]);
    check_canonical(&f.tsa.certificate, "tsa-cert").unwrap();
    let ca = Certificate::from_der(&f.ca.certificate).unwrap();
    aws_verify(
        &ca,
        &cert.signature_algorithm.oid.to_string(),
        &tbs.to_der().unwrap(),
        cert.signature.raw_bytes(),
    );
}

#[test]
fn signer_certificates_carry_cdp_and_aia() {
    let f = fixture(KeyType::EcP256, KeyType::EcP256);
    let der = signer_cert(&f);
    let cert = Certificate::from_der(&der).unwrap();
    let tbs = &cert.tbs_certificate;
    assert!(tbs.get::<ExtendedKeyUsage>().unwrap().is_none());
    let (critical, cdp) = tbs.get::<CrlDistributionPoints>().unwrap().expect("CDP");
    assert!(!critical);
    let text = String::from_utf8_lossy(&cdp.to_der().unwrap()).into_owned();
    assert!(text.contains("http://127.0.0.1:8080/ca/crl"), "{text}");
    let (critical, aia) = tbs
        .get::<AuthorityInfoAccessSyntax>()
        .unwrap()
        .expect("AIA");
    assert!(!critical);
    let methods: Vec<String> = aia.0.iter().map(|a| a.access_method.to_string()).collect();
    assert_eq!(methods, ["1.3.6.1.5.5.7.48.1", "1.3.6.1.5.5.7.48.2"]);
    let text = String::from_utf8_lossy(&aia.to_der().unwrap()).into_owned();
    assert!(text.contains("http://127.0.0.1:8080/ocsp"), "{text}");
    assert!(text.contains("http://127.0.0.1:8080/ca/cert"), "{text}");

    // Without URLs: neither extension.
    let mut bare = f.ca.clone();
    bare.urls = None;
    let key = f.signers.generate_signer_key(KeyType::EcP256, "x").unwrap();
    let subject = SubjectName {
        common_name: "bob".into(),
        organization: None,
        country: None,
    };
    let der = bare
        .issue_signer_certificate(&f.keys, &subject, &key.public_key_der, 30)
        .unwrap();
    let cert = Certificate::from_der(&der).unwrap();
    assert!(
        cert.tbs_certificate
            .get::<CrlDistributionPoints>()
            .unwrap()
            .is_none()
    );
    assert!(
        cert.tbs_certificate
            .get::<AuthorityInfoAccessSyntax>()
            .unwrap()
            .is_none()
    );

    // A URL that is not absolute http(s) is refused.
    bare.urls = Some(ValidationUrls::under("ftp://x"));
    assert!(matches!(
        bare.issue_signer_certificate(&f.keys, &subject, &key.public_key_der, 30),
        Err(PkiError::InvalidInput(_))
    ));
}

// ---------------------------------------------------------------------------------------------
// Time-stamp tokens.

fn parse_token(token: &[u8]) -> (SignedData, TstInfo, Vec<u8>) {
    let ci = ContentInfo::from_der(token).unwrap();
    assert_eq!(ci.content_type.to_string(), "1.2.840.113549.1.7.2");
    let sd: SignedData = ci.content.decode_as().unwrap();
    let econtent = sd.encap_content_info.econtent.as_ref().unwrap();
    let tst_der = econtent
        .decode_as::<OctetString>()
        .unwrap()
        .as_bytes()
        .to_vec();
    let tst = TstInfo::from_der(&tst_der).unwrap();
    (sd, tst, tst_der)
}

#[test]
fn token_fields() {
    let f = fixture(KeyType::EcP256, KeyType::EcP256);
    let imprint = HashAlgorithm::Sha256.digest(b"hello");
    let nonce = [0x01, 0x02, 0x03, 0xff];
    let before = now();
    let token = f
        .tsa
        .timestamp(&f.keys, HashAlgorithm::Sha256, &imprint, Some(&nonce))
        .unwrap();
    let (sd, tst, _) = parse_token(&token);
    assert_eq!(tst.policy.to_string(), DEFAULT_POLICY_OID);
    assert_eq!(
        tst.message_imprint.hash_algorithm.oid.to_string(),
        signet_core::oid::SHA256
    );
    assert!(tst.message_imprint.hash_algorithm.parameters.is_none());
    assert_eq!(
        tst.message_imprint.hashed_message.as_bytes(),
        imprint.as_slice()
    );
    assert_eq!(tst.nonce.as_ref().unwrap().as_bytes(), nonce);
    let gen_time = tst.gen_time.to_unix_duration().as_secs() as i64;
    assert!((before..=now()).contains(&gen_time));
    let accuracy = tst.accuracy.unwrap();
    assert_eq!(accuracy.seconds, Some(1));
    assert!(!tst.ordering);
    assert!(tst.tsa.is_none() && tst.extensions.is_none());
    let serial = tst.serial_number.as_bytes();
    assert!(
        serial.len() <= 17 && serial[0] & 0x80 == 0,
        "positive 128-bit serial"
    );
    assert_eq!(sd.version, cms::content_info::CmsVersion::V3);
    let certs = sd.certificates.as_ref().expect("TSA certificate included");
    assert_eq!(certs.0.len(), 1);

    // A nonce with its top bit set gets a sign octet; a leading zero is dropped.
    let token = f
        .tsa
        .timestamp(
            &f.keys,
            HashAlgorithm::Sha256,
            &imprint,
            Some(&[0x00, 0x80]),
        )
        .unwrap();
    assert_eq!(
        parse_token(&token).1.nonce.unwrap().as_bytes(),
        [0x00, 0x80]
    );

    // Serials are unique.
    let serials: std::collections::HashSet<Vec<u8>> = (0..20)
        .map(|_| {
            let t = f
                .tsa
                .timestamp(&f.keys, HashAlgorithm::Sha256, &imprint, None)
                .unwrap();
            let (_, tst, _) = parse_token(&t);
            assert!(tst.nonce.is_none());
            tst.serial_number.as_bytes().to_vec()
        })
        .collect();
    assert_eq!(serials.len(), 20);

    // Wrong imprint lengths and oversized nonces are refused.
    assert!(matches!(
        f.tsa
            .timestamp(&f.keys, HashAlgorithm::Sha384, &imprint, None),
        Err(PkiError::InvalidInput(_))
    ));
    assert!(matches!(
        f.tsa
            .timestamp(&f.keys, HashAlgorithm::Sha256, &imprint, Some(&[1; 65])),
        Err(PkiError::InvalidInput(_))
    ));
}

/// The SignerInfo checked by hand: signed attributes, message digest over the TSTInfo,
/// ESSCertIDv2 over the TSA certificate, and the signature verified by aws-lc-rs directly.
fn check_signer_info(f: &Fixture, token: &[u8]) {
    let (sd, _, tst_der) = parse_token(token);
    let tsa_cert = Certificate::from_der(&f.tsa.certificate).unwrap();
    let [si] = sd.signer_infos.0.as_slice() else {
        panic!("one SignerInfo")
    };
    assert_eq!(si.version, cms::content_info::CmsVersion::V1);
    let SignerIdentifier::IssuerAndSerialNumber(sid) = &si.sid else {
        panic!("issuerAndSerialNumber")
    };
    assert_eq!(sid.issuer, tsa_cert.tbs_certificate.issuer);
    assert_eq!(sid.serial_number, tsa_cert.tbs_certificate.serial_number);
    let hash = HashAlgorithm::from_oid(&si.digest_alg.oid.to_string()).unwrap();
    assert!(si.digest_alg.parameters.is_none());
    assert_eq!(
        sd.digest_algorithms.as_slice(),
        std::slice::from_ref(&si.digest_alg)
    );
    let attrs = si.signed_attrs.as_ref().unwrap();
    let oids: Vec<String> = attrs.iter().map(|a| a.oid.to_string()).collect();
    for oid in [
        "1.2.840.113549.1.9.3",
        "1.2.840.113549.1.9.4",
        "1.2.840.113549.1.9.16.2.47",
    ] {
        assert!(oids.contains(&oid.to_string()), "{oid} in {oids:?}");
    }
    assert_eq!(oids.len(), 3, "no signingTime: RFC 3161 has genTime");
    let value = |oid: &str| {
        let a = attrs.iter().find(|a| a.oid.to_string() == oid).unwrap();
        assert_eq!(a.values.len(), 1);
        a.values.as_slice()[0].clone()
    };
    assert_eq!(
        value("1.2.840.113549.1.9.3")
            .decode_as::<ObjectIdentifier>()
            .unwrap()
            .to_string(),
        "1.2.840.113549.1.9.16.1.4"
    );
    assert_eq!(
        value("1.2.840.113549.1.9.4")
            .decode_as::<OctetString>()
            .unwrap()
            .as_bytes(),
        hash.digest(&tst_der).as_slice()
    );
    // SigningCertificateV2 { certs { ESSCertIDv2 { certHash, issuerSerial } } } by hand:
    // SEQUENCE { SEQUENCE { SEQUENCE { OCTET STRING(32), SEQUENCE {...} } } }.
    let ess = value("1.2.840.113549.1.9.16.2.47").to_der().unwrap();
    let (_, certs, _) = tlv(&ess).unwrap();
    let (_, list, _) = tlv(certs).unwrap();
    let (_, ess_cert_id, _) = tlv(list).unwrap();
    let (tag, cert_hash, n) = tlv(ess_cert_id).unwrap();
    assert_eq!(tag, 0x04, "hashAlgorithm omitted: SHA-256 is the DEFAULT");
    assert_eq!(
        cert_hash,
        HashAlgorithm::Sha256.digest(&f.tsa.certificate).as_slice()
    );
    let (tag, issuer_serial, _) = tlv(&ess_cert_id[n..]).unwrap();
    assert_eq!(tag, 0x30);
    let (tag, general_names, m) = tlv(issuer_serial).unwrap();
    assert_eq!(tag, 0x30);
    let (tag, directory_name, _) = tlv(general_names).unwrap();
    assert_eq!(tag, 0xa4, "directoryName [4]");
    assert_eq!(
        directory_name,
        tsa_cert.tbs_certificate.issuer.to_der().unwrap().as_slice()
    );
    assert_eq!(
        &issuer_serial[m..],
        tsa_cert
            .tbs_certificate
            .serial_number
            .to_der()
            .unwrap()
            .as_slice()
    );
    // The signature covers the DER SET OF the signed attributes (tag 0x31, RFC 5652 §5.4).
    let signed = attrs.to_der().unwrap();
    assert_eq!(signed[0], 0x31);
    aws_verify(
        &tsa_cert,
        &si.signature_algorithm.oid.to_string(),
        &signed,
        si.signature.as_bytes(),
    );
}

#[test]
fn signer_info_verifies_ec_p256() {
    let f = fixture(KeyType::EcP256, KeyType::EcP256);
    let token = f
        .tsa
        .timestamp(&f.keys, HashAlgorithm::Sha256, &[7; 32], Some(&[42]))
        .unwrap();
    check_signer_info(&f, &token);
    let info = verify_token(&token, None).unwrap();
    assert_eq!(info.message_imprint, [7; 32]);
    assert_eq!(info.nonce, Some(vec![42]));
    assert_eq!(info.tsa_certificate, f.tsa.certificate);
}

#[test]
fn signer_info_verifies_ec_p384_and_rsa() {
    let f = fixture(KeyType::Rsa2048, KeyType::EcP384);
    let token = f
        .tsa
        .timestamp(&f.keys, HashAlgorithm::Sha512, &[9; 64], None)
        .unwrap();
    check_signer_info(&f, &token);
    check_canonical(&token, "token").unwrap();
    let f = fixture(KeyType::EcP256, KeyType::Rsa2048);
    let token = f
        .tsa
        .timestamp(&f.keys, HashAlgorithm::Sha384, &[9; 48], None)
        .unwrap();
    check_signer_info(&f, &token);
    assert_eq!(
        verify_token(&token, None).unwrap().hash,
        HashAlgorithm::Sha384
    );
}

#[test]
fn token_is_canonical_der() {
    let f = fixture(KeyType::EcP256, KeyType::EcP256);
    let token = f
        .tsa
        .timestamp(&f.keys, HashAlgorithm::Sha256, &[1; 32], Some(&[5, 6, 7]))
        .unwrap();
    // Re-encoding what the decoder read gives the same bytes...
    let ci = ContentInfo::from_der(&token).unwrap();
    assert_eq!(ci.to_der().unwrap(), token);
    let sd: SignedData = ci.content.decode_as().unwrap();
    assert_eq!(sd.to_der().unwrap(), ci.content.to_der().unwrap());
    let (_, tst, tst_der) = parse_token(&token);
    assert_eq!(tst.to_der().unwrap(), tst_der);
    // ...and, independently of the `der` crate's sorting, every SET OF is in DER order:
    // digestAlgorithms, certificates, signerInfos, signed attributes, their values, and the
    // RDNs of the names inside.
    let sets = check_canonical(&token, "token").unwrap();
    assert!(sets >= 8, "{sets} sets checked");
}

#[test]
fn tampered_token_is_rejected() {
    let f = fixture(KeyType::EcP256, KeyType::EcP256);
    let token = f
        .tsa
        .timestamp(&f.keys, HashAlgorithm::Sha256, &[1; 32], None)
        .unwrap();
    let (_, _, tst_der) = parse_token(&token);
    let at = token
        .windows(tst_der.len())
        .position(|w| w == tst_der.as_slice())
        .unwrap()
        + tst_der.len()
        - 3;
    let mut bad = token.clone();
    bad[at] ^= 1;
    assert!(verify_token(&bad, None).is_err());
    // A certificate other than the TSA's does not verify it.
    let other = signer_cert(&f);
    assert!(verify_token(&token, Some(&other)).is_err());
}

// ---------------------------------------------------------------------------------------------
// RFC 3161 request / response.

fn request(hash_oid: &str, imprint: &[u8], nonce: Option<&[u8]>, cert_req: bool) -> Vec<u8> {
    let req = x509_tsp::TimeStampReq {
        version: x509_tsp::TspVersion::V1,
        message_imprint: x509_tsp::MessageImprint {
            hash_algorithm: spki::AlgorithmIdentifierOwned {
                oid: ObjectIdentifier::new(hash_oid).unwrap(),
                // What `openssl ts -query` sends: parameters NULL.
                parameters: Some(der::Any::null()),
            },
            hashed_message: OctetString::new(imprint).unwrap(),
        },
        req_policy: None,
        nonce: nonce.map(|n| der::asn1::Int::new(n).unwrap()),
        cert_req,
        extensions: None,
    };
    req.to_der().unwrap()
}

/// (status, failInfo BIT STRING DER if any, token DER if any)
fn parse_response(resp: &[u8]) -> (u8, Option<Vec<u8>>, Option<Vec<u8>>) {
    check_canonical(resp, "resp").unwrap();
    let (tag, body, total) = tlv(resp).unwrap();
    assert_eq!((tag, total), (0x30, resp.len()));
    let (_, status_info, n) = tlv(body).unwrap();
    let token = (n < body.len()).then(|| body[n..].to_vec());
    let (tag, status, m) = tlv(status_info).unwrap();
    assert_eq!(tag, 0x02);
    let mut rest = &status_info[m..];
    let mut fail = None;
    while !rest.is_empty() {
        let (tag, _, k) = tlv(rest).unwrap();
        if tag == 0x03 {
            fail = Some(rest[..k].to_vec());
        }
        rest = &rest[k..];
    }
    (status[0], fail, token)
}

#[test]
fn respond_grants_and_echoes() {
    let f = fixture(KeyType::EcP256, KeyType::EcP256);
    let imprint = HashAlgorithm::Sha256.digest(b"data");
    let nonce = [0x00, 0xfe, 0xdc];
    let resp = f.tsa.respond(
        &f.keys,
        &request(signet_core::oid::SHA256, &imprint, Some(&nonce), true),
    );
    let (status, fail, token) = parse_response(&resp);
    assert_eq!((status, fail), (0, None));
    let token = token.unwrap();
    let (sd, tst, _) = parse_token(&token);
    assert_eq!(tst.nonce.unwrap().as_bytes(), nonce);
    // messageImprint echoed exactly, NULL parameters included.
    assert_eq!(
        tst.message_imprint.hash_algorithm.parameters,
        Some(der::Any::null())
    );
    assert!(sd.certificates.is_some());
    check_signer_info(&f, &token);

    // certReq FALSE: no certificates (RFC 3161 §2.4.1); still verifiable with the cert.
    let resp = f.tsa.respond(
        &f.keys,
        &request(signet_core::oid::SHA512, &[3; 64], None, false),
    );
    let (status, _, token) = parse_response(&resp);
    assert_eq!(status, 0);
    let token = token.unwrap();
    assert!(parse_token(&token).0.certificates.is_none());
    assert!(verify_token(&token, None).is_err());
    assert!(verify_token(&token, Some(&f.tsa.certificate)).is_ok());
}

#[test]
fn respond_rejects_with_failure_info() {
    let f = fixture(KeyType::EcP256, KeyType::EcP256);
    let cases: [(Vec<u8>, &[u8]); 5] = [
        // badDataFormat (bit 5)
        (b"garbage".to_vec(), &[0x03, 0x02, 0x02, 0x04]),
        (vec![], &[0x03, 0x02, 0x02, 0x04]),
        // badAlg (bit 0): SHA-1
        (
            request("1.3.14.3.2.26", &[0; 20], None, true),
            &[0x03, 0x02, 0x07, 0x80],
        ),
        // badDataFormat: 20 bytes is not a SHA-256 digest
        (
            request(signet_core::oid::SHA256, &[0; 20], None, true),
            &[0x03, 0x02, 0x02, 0x04],
        ),
        // badRequest (bit 2): negative nonce
        (
            request(signet_core::oid::SHA256, &[0; 32], Some(&[0x80]), true),
            &[0x03, 0x02, 0x05, 0x20],
        ),
    ];
    for (req, expected) in cases {
        let resp = f.tsa.respond(&f.keys, &req);
        let (status, fail, token) = parse_response(&resp);
        assert_eq!(status, 2, "rejection");
        assert_eq!(fail.as_deref(), Some(expected));
        assert!(token.is_none());
    }
    // unacceptedPolicy (bit 15)
    let mut info = TimeStampRequestInfo::new(HashAlgorithm::Sha256, &[0; 32]).unwrap();
    info.policy = Some("1.2.3.4".into());
    let (status, fail, _) = parse_response(&f.tsa.respond(&f.keys, &info.to_der().unwrap()));
    assert_eq!(status, 2);
    assert_eq!(fail.as_deref(), Some(&[0x03, 0x03, 0x00, 0x00, 0x01][..]));
    // Our own policy is fine.
    info.policy = Some(DEFAULT_POLICY_OID.into());
    assert_eq!(
        parse_response(&f.tsa.respond(&f.keys, &info.to_der().unwrap())).0,
        0
    );
    // The fixed fallback answer is well-formed: rejection, systemFailure (bit 25).
    let (status, fail, _) = parse_response(crate::tsa::SYSTEM_FAILURE_RESPONSE);
    assert_eq!(status, 2);
    assert_eq!(
        fail.as_deref(),
        Some(&[0x03, 0x05, 0x06, 0x00, 0x00, 0x00, 0x40][..])
    );
}

#[test]
fn request_info_round_trip_and_external_response() {
    let f = fixture(KeyType::EcP256, KeyType::EcP256);
    let info = TimeStampRequestInfo::new(HashAlgorithm::Sha384, &[4; 48]).unwrap();
    assert!(info.nonce.is_some() && info.cert_req);
    let der = info.to_der().unwrap();
    check_canonical(&der, "req").unwrap();
    assert_eq!(TimeStampRequestInfo::parse(&der).unwrap(), info);
    // What an external TSA would answer, taken apart as Signet's client does.
    let resp = f.tsa.respond(&f.keys, &der);
    let token = info.token_from_response(&resp).unwrap();
    assert_eq!(verify_token(&token, None).unwrap().message_imprint, [4; 48]);
    // Another request's nonce does not match.
    let other = TimeStampRequestInfo::new(HashAlgorithm::Sha384, &[4; 48]).unwrap();
    assert!(other.token_from_response(&resp).is_err());
    // A rejection becomes an error naming the status.
    let rejected = f.tsa.respond(&f.keys, b"junk");
    let err = info.token_from_response(&rejected).unwrap_err().to_string();
    assert!(err.contains("PKIStatus 2"), "{err}");
    assert!(info.token_from_response(b"junk").is_err());
}

// ---------------------------------------------------------------------------------------------
// CRL.

#[test]
fn crl_parses_back_and_verifies() {
    for key in [KeyType::EcP256, KeyType::Rsa2048] {
        let f = fixture(key, KeyType::EcP256);
        let revoked = [
            RevokedCertificate {
                serial: vec![0x7f; 16],
                revoked_at: 1_700_000_000,
                reason: Some(1),
            },
            RevokedCertificate {
                serial: vec![0x01, 0x02],
                revoked_at: 1_700_000_100,
                reason: Some(0),
            },
            RevokedCertificate {
                serial: vec![0x11; 16],
                revoked_at: 1_700_000_200,
                reason: None,
            },
        ];
        let before = now();
        let der = f.ca.crl(&f.keys, &revoked, 42, 24).unwrap();
        check_canonical(&der, "crl").unwrap();
        let list = RevocationList::verified(&der, &f.ca.certificate).unwrap();
        assert_eq!(list.number, Some(42));
        assert!((before..=now()).contains(&list.this_update));
        assert_eq!(list.next_update, Some(list.this_update + 24 * 3600));
        // Sorted by serial; reason 0 (unspecified) is left out (RFC 5280 §5.3.1).
        let serials: Vec<&[u8]> = list.revoked.iter().map(|r| r.serial.as_slice()).collect();
        assert_eq!(serials, [&[0x01, 0x02][..], &[0x11; 16], &[0x7f; 16]]);
        assert_eq!(list.revoked[0].reason, None);
        assert_eq!(list.revoked[2].reason, Some(1));
        assert_eq!(list.revoked[2].revoked_at, 1_700_000_000);
        assert_eq!(
            list.status_of(&[0x7f; 16]),
            RevocationStatus::Revoked {
                at: 1_700_000_000,
                reason: Some(1)
            }
        );
        assert_eq!(list.status_of(&[0x22; 16]), RevocationStatus::Good);

        // Independently: v2, AKI + CRL number, signature by aws-lc-rs.
        let crl = CertificateList::from_der(&der).unwrap();
        assert_eq!(crl.to_der().unwrap(), der);
        let tbs = &crl.tbs_cert_list;
        assert_eq!(tbs.version, x509_cert::Version::V2);
        let ids: Vec<String> = tbs
            .crl_extensions
            .iter()
            .flatten()
            .map(|e| e.extn_id.to_string())
            .collect();
        assert_eq!(ids, ["2.5.29.35", "2.5.29.20"]);
        let ca = Certificate::from_der(&f.ca.certificate).unwrap();
        aws_verify(
            &ca,
            &crl.signature_algorithm.oid.to_string(),
            &tbs.to_der().unwrap(),
            crl.signature.raw_bytes(),
        );

        // Empty list: revokedCertificates absent (RFC 5280 §5.1.2.6).
        let empty = f.ca.crl(&f.keys, &[], 43, 1).unwrap();
        let crl = CertificateList::from_der(&empty).unwrap();
        assert!(crl.tbs_cert_list.revoked_certificates.is_none());
        assert!(RevocationList::verified(&empty, &f.tsa.certificate).is_err());

        // Tampering breaks the signature.
        let mut bad = der.clone();
        let at = bad.len() / 2;
        bad[at] ^= 1;
        assert!(RevocationList::verified(&bad, &f.ca.certificate).is_err());
    }
}

#[test]
fn crl_refuses_bad_input() {
    let f = fixture(KeyType::EcP256, KeyType::EcP256);
    assert!(f.ca.crl(&f.keys, &[], 1, 0).is_err());
    let bad_reason = RevokedCertificate {
        serial: vec![1],
        revoked_at: 1,
        reason: Some(7),
    };
    assert!(matches!(
        f.ca.crl(&f.keys, &[bad_reason], 1, 1),
        Err(PkiError::InvalidInput(_))
    ));
}

// ---------------------------------------------------------------------------------------------
// OCSP.

fn cert_id(ca: &[u8], cert: &[u8], hash: Option<HashAlgorithm>) -> CertId {
    let ca = Certificate::from_der(ca).unwrap();
    let cert = Certificate::from_der(cert).unwrap();
    let digest = |data: &[u8]| match hash {
        None => aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, data)
            .as_ref()
            .to_vec(),
        Some(h) => h.digest(data),
    };
    CertId {
        hash_algorithm: spki::AlgorithmIdentifierOwned {
            oid: ObjectIdentifier::new(hash.map_or("1.3.14.3.2.26", |h| h.oid())).unwrap(),
            parameters: Some(der::Any::null()),
        },
        issuer_name_hash: OctetString::new(digest(&ca.tbs_certificate.subject.to_der().unwrap()))
            .unwrap(),
        issuer_key_hash: OctetString::new(digest(
            ca.tbs_certificate
                .subject_public_key_info
                .subject_public_key
                .raw_bytes(),
        ))
        .unwrap(),
        serial_number: cert.tbs_certificate.serial_number.clone(),
    }
}

fn ocsp_request(ids: Vec<CertId>, nonce: Option<&[u8]>) -> Vec<u8> {
    let extensions = nonce.map(|n| {
        vec![x509_cert::ext::Extension {
            extn_id: ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.2"),
            critical: false,
            extn_value: OctetString::new(OctetString::new(n).unwrap().to_der().unwrap()).unwrap(),
        }]
    });
    OcspRequest {
        tbs_request: x509_ocsp::TbsRequest {
            version: x509_ocsp::Version::V1,
            requestor_name: None,
            request_list: ids
                .into_iter()
                .map(|id| Request {
                    req_cert: id,
                    single_request_extensions: None,
                })
                .collect(),
            request_extensions: extensions,
        },
        optional_signature: None,
    }
    .to_der()
    .unwrap()
}

/// Parses a successful response, verifies it with the CA key by aws-lc-rs, returns it.
fn basic_response(f: &Fixture, der: &[u8]) -> BasicOcspResponse {
    check_canonical(der, "ocsp").unwrap();
    let resp = OcspResponse::from_der(der).unwrap();
    assert_eq!(resp.to_der().unwrap(), der);
    assert_eq!(
        resp.response_status,
        x509_ocsp::OcspResponseStatus::Successful
    );
    let bytes = resp.response_bytes.unwrap();
    assert_eq!(bytes.response_type.to_string(), "1.3.6.1.5.5.7.48.1.1");
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes()).unwrap();
    let ca = Certificate::from_der(&f.ca.certificate).unwrap();
    aws_verify(
        &ca,
        &basic.signature_algorithm.oid.to_string(),
        &basic.tbs_response_data.to_der().unwrap(),
        basic.signature.raw_bytes(),
    );
    // responderID byKey = SHA-1 of the CA's subjectPublicKey.
    let key_hash = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        ca.tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .raw_bytes(),
    );
    assert_eq!(
        basic.tbs_response_data.responder_id,
        x509_ocsp::ResponderId::ByKey(OctetString::new(key_hash.as_ref()).unwrap())
    );
    assert_eq!(basic.certs.as_deref(), Some(&[ca][..]));
    basic
}

#[test]
fn ocsp_answers_good_revoked_unknown() {
    let f = fixture(KeyType::EcP256, KeyType::EcP256);
    let good = signer_cert(&f);
    let revoked = signer_cert(&f);
    let revoked_serial = certificate_serial(&revoked).unwrap();
    assert_eq!(revoked_serial.len(), 16);
    let status_of = |serial: &[u8]| {
        if serial == revoked_serial.as_slice() {
            RevocationStatus::Revoked {
                at: 1_700_000_000,
                reason: Some(1),
            }
        } else if serial == certificate_serial(&good).unwrap().as_slice() {
            RevocationStatus::Good
        } else {
            RevocationStatus::Unknown
        }
    };
    let ids = vec![
        cert_id(&f.ca.certificate, &good, None),
        cert_id(&f.ca.certificate, &revoked, Some(HashAlgorithm::Sha256)),
        cert_id(&f.ca.certificate, &f.tsa.certificate, None),
    ];
    let nonce = [0xab; 16];
    let before = now();
    let der =
        f.ca.ocsp_response(
            &f.keys,
            &ocsp_request(ids.clone(), Some(&nonce)),
            &status_of,
        )
        .unwrap();
    let basic = basic_response(&f, &der);
    let data = &basic.tbs_response_data;
    assert_eq!(data.responses.len(), 3);
    for (single, id) in data.responses.iter().zip(&ids) {
        assert_eq!(&single.cert_id, id, "CertID echoed");
        let this = single.this_update.0.to_unix_duration().as_secs() as i64;
        assert!((before..=now()).contains(&this));
        let next = single.next_update.unwrap().0.to_unix_duration().as_secs() as i64;
        assert_eq!(next - this, OCSP_VALIDITY_SECS as i64);
    }
    assert_eq!(data.responses[0].cert_status, CertStatus::good());
    match &data.responses[1].cert_status {
        CertStatus::Revoked(info) => {
            assert_eq!(
                info.revocation_time.0.to_unix_duration().as_secs(),
                1_700_000_000
            );
            assert_eq!(
                info.revocation_reason,
                Some(x509_cert::ext::pkix::CrlReason::KeyCompromise)
            );
        }
        other => panic!("expected revoked, got {other:?}"),
    }
    assert_eq!(data.responses[2].cert_status, CertStatus::unknown());
    let echoed = data.nonce().expect("nonce echoed");
    assert_eq!(echoed.0.as_bytes(), nonce);

    // Directly, without a request: same CertID OpenSSL would compute (SHA-1).
    let der =
        f.ca.ocsp_response_for(&f.keys, &revoked, RevocationStatus::Good)
            .unwrap();
    let basic = basic_response(&f, &der);
    assert_eq!(
        basic.tbs_response_data.responses[0].cert_id,
        cert_id(&f.ca.certificate, &revoked, None)
    );
    assert!(basic.tbs_response_data.response_extensions.is_none());
}

#[test]
fn ocsp_refuses_foreign_and_malformed_requests() {
    let f = fixture(KeyType::EcP256, KeyType::EcP256);
    let other = fixture(KeyType::EcP256, KeyType::EcP256);
    let leaf = signer_cert(&other);
    let status_of = |_: &[u8]| RevocationStatus::Good;
    // CertID of another CA: unauthorized (RFC 5019 §2.2.3).
    let der =
        f.ca.ocsp_response(
            &f.keys,
            &ocsp_request(vec![cert_id(&other.ca.certificate, &leaf, None)], None),
            &status_of,
        )
        .unwrap();
    let resp = OcspResponse::from_der(&der).unwrap();
    assert_eq!(
        resp.response_status,
        x509_ocsp::OcspResponseStatus::Unauthorized
    );
    assert!(resp.response_bytes.is_none());
    // Garbage and empty request lists: malformedRequest.
    for bad in [b"nonsense".to_vec(), ocsp_request(vec![], None)] {
        let der = f.ca.ocsp_response(&f.keys, &bad, &status_of).unwrap();
        assert_eq!(der, OCSP_MALFORMED_REQUEST);
        assert_eq!(
            OcspResponse::from_der(&der).unwrap().response_status,
            x509_ocsp::OcspResponseStatus::MalformedRequest
        );
    }
    // More than MAX_OCSP_REQUESTS CertIDs: malformedRequest; exactly that many are answered.
    let id = cert_id(&f.ca.certificate, &f.tsa.certificate, None);
    let many = |n: usize| ocsp_request(vec![id.clone(); n], None);
    let der = f.ca.ocsp_response(&f.keys, &many(101), &status_of).unwrap();
    assert_eq!(der, OCSP_MALFORMED_REQUEST);
    assert_eq!(EmbeddedCa::ocsp_request_serials(&many(101)), None);
    assert_eq!(EmbeddedCa::ocsp_request_serials(&many(0)), None);
    assert_eq!(EmbeddedCa::ocsp_request_serials(b"nonsense"), None);
    let der = f.ca.ocsp_response(&f.keys, &many(100), &status_of).unwrap();
    assert_eq!(
        basic_response(&f, &der).tbs_response_data.responses.len(),
        100
    );
    assert_eq!(
        EmbeddedCa::ocsp_request_serials(&many(100)),
        Some(vec![certificate_serial(&f.tsa.certificate).unwrap(); 100])
    );
    // ocsp_response_for refuses certificates of other issuers.
    assert!(
        f.ca.ocsp_response_for(&f.keys, &leaf, RevocationStatus::Good)
            .is_err()
    );
}

#[test]
fn certificates_in_token_are_the_tsa_certificate() {
    let f = fixture(KeyType::EcP256, KeyType::EcP256);
    let token = f
        .tsa
        .timestamp(&f.keys, HashAlgorithm::Sha256, &[0; 32], None)
        .unwrap();
    let (sd, _, _) = parse_token(&token);
    let certs = sd.certificates.unwrap();
    match certs.0.as_slice() {
        [CertificateChoices::Certificate(c)] => {
            assert_eq!(c.to_der().unwrap(), f.tsa.certificate)
        }
        other => panic!("unexpected certificates {other:?}"),
    }
}

/// Policy OIDs with an arc that is a power of 128 (const-oid 0.9 encodes 128 as `80 00`,
/// which reads back as 0) survive the request and the token (found by fuzzing, `tsp_request`).
#[test]
fn policy_oids_with_powers_of_128_round_trip() {
    for policy in ["1.3.128.0.0.0.0.0.1", "1.3.6.1.4.1.16384.128"] {
        let mut info =
            TimeStampRequestInfo::new(HashAlgorithm::Sha256, &HashAlgorithm::Sha256.digest(b"x"))
                .unwrap();
        info.policy = Some(policy.into());
        let again = TimeStampRequestInfo::parse(&info.to_der().unwrap()).unwrap();
        assert_eq!(again.policy.as_deref(), Some(policy));
        let f = fixture(KeyType::EcP256, KeyType::EcP256);
        let tsa = TimeStampAuthority::create(
            &f.keys,
            &f.ca,
            KeyType::EcP256,
            &SubjectName {
                common_name: "TSA".into(),
                organization: None,
                country: None,
            },
            30,
            policy,
        )
        .unwrap();
        let token = tsa
            .timestamp(
                &f.keys,
                HashAlgorithm::Sha256,
                &HashAlgorithm::Sha256.digest(b"x"),
                None,
            )
            .unwrap();
        assert_eq!(verify_token(&token, None).unwrap().policy, policy);
    }
}
