//! Validation reports built by hand for the report tests: every indication, with and without
//! sub-indications, time-stamps, chains, revocation, trusted lists and hostile text.

use time::OffsetDateTime;
use time::macros::datetime;

use crate::{
    CertificateReport, Check, Format, Indication, Level, SignatureEvidence, SignatureReport,
    SubIndication, TimestampEvidence, TimestampKind, TimestampReport, TrustListInfo,
    ValidationReport,
};

pub const VALIDATION_TIME: OffsetDateTime = datetime!(2025-06-01 12:00:00 UTC);

/// The signature value every fixture signature "has": its id is `S-` + SHA-256 of it.
pub fn signature_id(value: &[u8]) -> String {
    SignatureEvidence::id_for(value)
}

pub fn cert(subject: &str, issuer: &str, der: &[u8], anchor: bool) -> CertificateReport {
    CertificateReport {
        der: der.to_vec(),
        subject: subject.into(),
        issuer: issuer.into(),
        serial: format!("{:02x}", der.len()),
        not_before: datetime!(2024-01-01 00:00:00 UTC),
        not_after: datetime!(2027-01-01 00:00:00 UTC),
        trust_anchor: anchor,
        revoked_at: None,
        revocation_source: if anchor { "trust anchor" } else { "OCSP" }.into(),
    }
}

fn token_evidence(kind: TimestampKind, token: &[u8], time: OffsetDateTime) -> TimestampEvidence {
    TimestampEvidence {
        kind,
        token: token.to_vec(),
        time: Some(time),
        tsa_certificate: Some(b"tsa-certificate".to_vec()),
        certificates: vec![b"tsa-certificate".to_vec()],
        intact: Check::Passed,
        signature_value: Check::Passed,
    }
}

pub fn eu_list() -> TrustListInfo {
    TrustListInfo {
        source: "https://ec.europa.eu/tools/lotl/eu-lotl.xml".into(),
        territory: "EU".into(),
        sequence_number: 342,
        issued: datetime!(2025-05-20 08:00:00 UTC),
        next_update: Some(datetime!(2025-11-20 08:00:00 UTC)),
        sha256: "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF".into(),
    }
}

/// A PAdES B-LTA signature that passed: a chain to an anchor, a signature time-stamp, a
/// document time-stamp, CRL and OCSP data, from a trusted list.
pub fn passed_lta() -> ValidationReport {
    let mut evidence = SignatureEvidence::new(signature_id(b"value-1"), Format::Pades);
    evidence.claimed_signing_time = Some(datetime!(2025-05-31 10:00:00 UTC));
    evidence.signing_certificate = Some(b"signer-cert".to_vec());
    evidence.signing_certificate_reference = Check::Passed;
    evidence.signature_value = Check::Passed;
    evidence.crls = vec![b"crl-1".to_vec()];
    evidence.ocsp_responses = vec![b"ocsp-1".to_vec()];
    evidence.has_validation_data = true;
    evidence.timestamps = vec![
        token_evidence(
            TimestampKind::Signature,
            b"token-sig",
            datetime!(2025-05-31 10:00:05.250 UTC),
        ),
        token_evidence(
            TimestampKind::Archive,
            b"token-doc",
            datetime!(2025-05-31 10:01:00 UTC),
        ),
    ];
    let signature = SignatureReport {
        evidence,
        indication: Indication::TotalPassed,
        sub_indication: None,
        level: Some(Level::BLta),
        best_signature_time: datetime!(2025-05-31 10:00:05.250 UTC),
        chain: vec![
            cert("CN=Alice,O=Example", "CN=Issuing CA", b"signer-cert", false),
            cert("CN=Issuing CA", "CN=Root CA", b"ca-cert", false),
            cert("CN=Root CA", "CN=Root CA", b"root-cert", true),
        ],
        timestamps: vec![
            TimestampReport {
                id: "T-1".into(),
                kind: TimestampKind::Signature,
                time: Some(datetime!(2025-05-31 10:00:05.250 UTC)),
                indication: Indication::TotalPassed,
                sub_indication: None,
                tsa: Some("CN=Example TSA".into()),
                errors: vec![],
            },
            TimestampReport {
                id: "T-2".into(),
                kind: TimestampKind::Archive,
                time: Some(datetime!(2025-05-31 10:01:00 UTC)),
                indication: Indication::TotalPassed,
                sub_indication: None,
                tsa: Some("CN=Example TSA".into()),
                errors: vec![],
            },
        ],
        errors: vec![],
        warnings: vec![],
        infos: vec!["OCSP response fetched for CN=Alice,O=Example".into()],
    };
    ValidationReport {
        validation_time: VALIDATION_TIME,
        document_sha256: "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789".into(),
        document_name: Some("contract.pdf".into()),
        signatures: vec![signature],
        trusted_lists: vec![eu_list()],
        policy: "Signet default (EN 319 102-1, baseline constraints)".into(),
    }
}

/// A CAdES B-B signature whose content digest does not match (TOTAL-FAILED/HASH_FAILURE),
/// with XML-special characters in every text the report carries.
pub fn failed_hash() -> ValidationReport {
    let mut evidence = SignatureEvidence::new(signature_id(b"value-2"), Format::Cades);
    evidence.signing_certificate = Some(b"signer-2".to_vec());
    evidence.signature_value = Check::Passed;
    let signature = SignatureReport {
        evidence,
        indication: Indication::TotalFailed,
        sub_indication: Some(SubIndication::HashFailure),
        level: Some(Level::BB),
        best_signature_time: VALIDATION_TIME,
        chain: vec![cert(
            "CN=Bob & <Partners>,O=\"Quote's\"",
            "CN=Bob & <Partners>,O=\"Quote's\"",
            b"signer-2",
            true,
        )],
        timestamps: vec![],
        errors: vec!["message-digest <a> & \"b\" 'c' does not match the content".into()],
        warnings: vec!["content type is <text/plain> & not id-data".into()],
        infos: vec![],
    };
    ValidationReport {
        validation_time: VALIDATION_TIME,
        document_sha256: "0000000000000000000000000000000000000000000000000000000000000000".into(),
        document_name: Some("R&D <draft> \"v2\".p7m".into()),
        signatures: vec![signature],
        trusted_lists: vec![],
        policy: "policy <&>".into(),
    }
}

/// An XAdES B-T signature whose signing certificate was revoked before its time-stamp could
/// prove anything (INDETERMINATE/REVOKED_NO_POE), with a time-stamp that failed.
pub fn indeterminate_revoked() -> ValidationReport {
    let mut evidence = SignatureEvidence::new(signature_id(b"value-3"), Format::Xades);
    evidence.claimed_signing_time = Some(datetime!(2025-04-01 09:00:00 UTC));
    evidence.signing_certificate = Some(b"signer-3".to_vec());
    evidence.timestamps = vec![token_evidence(
        TimestampKind::Signature,
        b"token-3",
        datetime!(2025-04-02 09:00:00 UTC),
    )];
    let mut signer = cert("CN=Carol", "CN=Root CA", b"signer-3", false);
    signer.revoked_at = Some(datetime!(2025-03-15 00:00:00 UTC));
    signer.revocation_source = "CRL".into();
    let signature = SignatureReport {
        evidence,
        indication: Indication::Indeterminate,
        sub_indication: Some(SubIndication::RevokedNoPoe),
        level: Some(Level::BB),
        best_signature_time: VALIDATION_TIME,
        chain: vec![signer, cert("CN=Root CA", "CN=Root CA", b"root-cert", true)],
        timestamps: vec![TimestampReport {
            id: "T-3".into(),
            kind: TimestampKind::Signature,
            time: Some(datetime!(2025-04-02 09:00:00 UTC)),
            indication: Indication::TotalFailed,
            sub_indication: Some(SubIndication::HashFailure),
            tsa: Some("CN=Other TSA".into()),
            errors: vec!["message imprint does not match the signature value".into()],
        }],
        errors: vec!["the signing certificate was revoked at 2025-03-15T00:00:00Z".into()],
        warnings: vec!["the signature time-stamp failed; B-T not reached".into()],
        infos: vec![],
    };
    ValidationReport {
        validation_time: VALIDATION_TIME,
        document_sha256: "1111111111111111111111111111111111111111111111111111111111111111".into(),
        document_name: None,
        signatures: vec![signature],
        trusted_lists: vec![],
        policy: "Signet default".into(),
    }
}

/// A file without signatures.
pub fn no_signatures() -> ValidationReport {
    ValidationReport {
        validation_time: VALIDATION_TIME,
        document_sha256: "2222222222222222222222222222222222222222222222222222222222222222".into(),
        document_name: Some("empty.pdf".into()),
        signatures: vec![],
        trusted_lists: vec![eu_list()],
        policy: "Signet default".into(),
    }
}

/// Two signatures: one that passed and a JAdES one that cannot be read (FORMAT_FAILURE, no
/// level, no certificate, an id that is not an XML name, control characters in its error).
pub fn two_signatures() -> ValidationReport {
    let mut report = passed_lta();
    let mut evidence = SignatureEvidence::new("not an id <x>".into(), Format::Jades);
    evidence.format_error = Some("not a JWS".into());
    report.signatures.push(SignatureReport {
        evidence,
        indication: Indication::TotalFailed,
        sub_indication: Some(SubIndication::FormatFailure),
        level: None,
        best_signature_time: VALIDATION_TIME,
        chain: vec![],
        timestamps: vec![],
        errors: vec!["not a JWS:\nline two\u{1b}[31m\u{0}".into()],
        warnings: vec![],
        infos: vec![],
    });
    report
}

/// Every fixture, named, so that each test runs over all of them.
pub fn all() -> Vec<(&'static str, ValidationReport)> {
    vec![
        ("passed_lta", passed_lta()),
        ("failed_hash", failed_hash()),
        ("indeterminate_revoked", indeterminate_revoked()),
        ("no_signatures", no_signatures()),
        ("two_signatures", two_signatures()),
    ]
}
