//! The CAdES reader (EN 319 122-1): every SignerInfo of a CMS SignedData, attached or detached,
//! with its signature, content, archive time-stamps and validation data.
//!
//! [`signer_evidence`] is shared with the PAdES reader, whose `/Contents` is a CAdES
//! signature over the byte ranges.

use std::collections::HashSet;

use signet_ades::asn1::{self, SEQUENCE};
use signet_ades::oids;
use signet_core::HashAlgorithm;

use crate::cms::{self, SignedData, SignerCheck, SignerInfo};
use crate::timestamp;
use crate::{
    Check, DetachedContent, Format, Limits, SignatureEvidence, SignedDataObject, TimestampEvidence,
    TimestampKind, ValidationError,
};

/// RFC 5126 §6.4.1: id-aa-ets-archiveTimestampV2 (older; read but not checked).
const ARCHIVE_TIME_STAMP_V2: &str = "1.2.840.113549.1.9.16.2.48";

/// Most signatures read from one file (each hashes its signed data).
pub(crate) const MAX_SIGNATURES: usize = 100;
/// Most time-stamps read for one signature.
const MAX_TIMESTAMPS: usize = 64;

/// The DER of `id-signedData`, which a CMS signature names in its first bytes.
const SIGNED_DATA_OID: [u8; 11] = [
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02,
];

/// Whether `input` starts as a CMS ContentInfo holding SignedData (DER or BER).
pub fn looks_like_cms(input: &[u8]) -> bool {
    let head = input.get(..input.len().min(24)).unwrap_or_default();
    head.first() == Some(&SEQUENCE)
        && head
            .windows(SIGNED_DATA_OID.len())
            .any(|w| w == SIGNED_DATA_OID)
}

/// Finds every CAdES signature in `input` and checks what the format alone can check.
/// `NotASignature` when the input holds none; a signature that cannot be read gives an
/// evidence with `format_error` set.
pub fn read(
    input: &[u8],
    detached: &[DetachedContent],
    limits: &Limits,
) -> Result<Vec<SignatureEvidence>, ValidationError> {
    if input.len() > limits.max_document_bytes {
        return Err(ValidationError::TooLarge(format!(
            "the signature of {} bytes exceeds the limit of {} bytes",
            input.len(),
            limits.max_document_bytes
        )));
    }
    if !looks_like_cms(input) {
        return Err(ValidationError::NotASignature(
            "not a CMS signature: no ContentInfo with id-signedData".into(),
        ));
    }
    let unreadable = |e: String| {
        let mut ev = SignatureEvidence::new(SignatureEvidence::id_for(input), Format::Cades);
        ev.format_error = Some(e);
        Ok(vec![ev])
    };
    let der = match cms::to_der(input) {
        Ok(d) => d,
        Err(e) => return unreadable(e),
    };
    let sd = match cms::parse(&der) {
        Ok(sd) => sd,
        Err(e) => return unreadable(e),
    };
    if sd.signer_infos.is_empty() {
        return Err(ValidationError::NotASignature(
            "the CMS SignedData has no SignerInfo: it holds no signature".into(),
        ));
    }
    if sd.signer_infos.len() > MAX_SIGNATURES {
        return Err(ValidationError::TooLarge(format!(
            "the CMS has {} SignerInfos, more than the {MAX_SIGNATURES} read",
            sd.signer_infos.len()
        )));
    }
    let (content, name): (Option<&[u8]>, String) = match (sd.econtent, detached.first()) {
        (Some(c), _) => (Some(c), "content".into()),
        (None, Some(d)) => (
            Some(&d.bytes),
            d.name.clone().unwrap_or_else(|| "detached content".into()),
        ),
        (None, None) => (None, "detached content".into()),
    };
    let parts = content.map(|c| [c]);
    let mut out = Vec::with_capacity(sd.signer_infos.len());
    for si in &sd.signer_infos {
        let (mut ev, check) = signer_evidence(
            Format::Cades,
            &sd,
            si,
            parts.as_ref().map(|p| &p[..]),
            name.clone(),
        );
        if content.is_none()
            && let Some(obj) = ev.signed_data.first_mut()
        {
            obj.found =
                Check::Failed("the signature is detached and its content was not given".into());
        }
        if !check.has_signing_time {
            ev.constraint_failures.push(
                "the signing-time signed attribute is missing (EN 319 122-1 §6.3 requires it at B-B)"
                    .into(),
            );
        }
        out.push(ev);
    }
    Ok(out)
}

/// Most certificates, CRLs or OCSP responses one signature carries.
const MAX_VALUES: usize = 10_000;

/// The first [`MAX_VALUES`] distinct items, in order.
fn unique<'a>(items: impl IntoIterator<Item = &'a [u8]>) -> Vec<Vec<u8>> {
    let mut seen = HashSet::new();
    items
        .into_iter()
        .filter(|i| seen.insert(*i))
        .take(MAX_VALUES)
        .map(<[u8]>::to_vec)
        .collect()
}

/// The evidence of one CMS signer over `content` (the concatenated slices, `None` when not
/// available), named `data_name`: everything CAdES and PAdES have in common. Returns the
/// signer check too, for the format's own attribute rules.
pub(crate) fn signer_evidence(
    format: Format,
    sd: &SignedData<'_>,
    si: &SignerInfo<'_>,
    content: Option<&[&[u8]]>,
    data_name: String,
) -> (SignatureEvidence, SignerCheck) {
    // certificate-values (EN 319 122-1 §5.5.1): SEQUENCE OF Certificate.
    let values = si.unsigned_values(cms::CERTIFICATE_VALUES);
    let extra_tlvs: Vec<_> = values
        .iter()
        .flat_map(|v| v.children().unwrap_or_default())
        .take(MAX_VALUES)
        .collect();
    let extra = unique(extra_tlvs.iter().map(|c| c.raw));
    let check = cms::check_signer(sd, si, content, &extra);
    let mut ev = SignatureEvidence::new(SignatureEvidence::id_for(si.signature), format);
    ev.claimed_signing_time = check.signing_time;
    ev.digest_algorithm = check.digest_algorithm;
    ev.signature_algorithm = check.signature_algorithm.clone();
    ev.signed_data = vec![SignedDataObject {
        name: data_name,
        found: Check::Passed,
        intact: check.intact.clone(),
    }];
    ev.signing_certificate = check.certificate.clone();
    ev.signing_certificate_reference = check.certificate_reference.clone();
    ev.signature_value = check.signature_value.clone();
    ev.constraint_failures = check.constraint_failures.clone();

    ev.certificates = unique(
        sd.certificates()
            .into_iter()
            .chain(extra.iter().map(Vec::as_slice)),
    );
    let signed = si.signed_attributes();
    let (mut crls, mut ocsp) = (Vec::new(), Vec::new());
    let revocation = si
        .unsigned_values(cms::REVOCATION_VALUES)
        .into_iter()
        .map(|v| cms::revocation_values(&v, false))
        .chain(
            signed
                .iter()
                .filter(|a| a.oid == cms::ADBE_REVOCATION_INFO_ARCHIVAL)
                .flat_map(|a| a.values.iter())
                .map(|v| cms::revocation_values(v, true)),
        );
    for (c, o) in revocation {
        crls.extend(c);
        ocsp.extend(o);
        if crls.len() + ocsp.len() > 2 * MAX_VALUES {
            break;
        }
    }
    ev.crls = unique(sd.crls().into_iter().chain(crls.iter().map(Vec::as_slice)));
    ev.ocsp_responses = unique(
        sd.ocsp_responses()
            .into_iter()
            .chain(ocsp.iter().map(Vec::as_slice)),
    );
    ev.has_validation_data = check
        .certificate
        .as_deref()
        .is_some_and(|c| cms::has_revocation_for(c, &ev.crls, &ev.ocsp_responses));
    let (timestamps, truncated) = timestamps(sd, si, content);
    ev.timestamps = timestamps;
    if truncated {
        ev.constraint_failures.push(format!(
            "more than {MAX_TIMESTAMPS} time-stamps; the others were not read"
        ));
    }
    (ev, check)
}

/// Content, signature and archive time-stamps, in the order of the SignerInfo; at most
/// [`MAX_TIMESTAMPS`] (each may hash the whole content). The flag says some were left out.
fn timestamps(
    sd: &SignedData<'_>,
    si: &SignerInfo<'_>,
    content: Option<&[&[u8]]>,
) -> (Vec<TimestampEvidence>, bool) {
    let signed = si.signed_attributes();
    let tokens: Vec<(&str, &[u8])> = signed
        .iter()
        .filter(|a| a.oid == oids::CONTENT_TIME_STAMP)
        .chain(si.unsigned_attrs.iter())
        .flat_map(|a| a.values.iter().map(|v| (a.oid.as_str(), v.raw)))
        .filter(|(oid, _)| {
            [
                oids::CONTENT_TIME_STAMP,
                oids::SIGNATURE_TIME_STAMP,
                oids::ARCHIVE_TIME_STAMP_V3,
                ARCHIVE_TIME_STAMP_V2,
            ]
            .contains(oid)
        })
        .collect();
    let truncated = tokens.len() > MAX_TIMESTAMPS;
    let mut out = Vec::new();
    for (oid, token) in tokens.into_iter().take(MAX_TIMESTAMPS) {
        let token = token.to_vec();
        out.push(match oid {
            // EN 319 122-1 §5.2.8: over the signed content.
            oids::CONTENT_TIME_STAMP => {
                let covered =
                    |h: HashAlgorithm| content.map(|c| cms::digest_parts(h, c)).unwrap_or_default();
                let mut ev = timestamp::evidence(TimestampKind::Content, token, &covered);
                if content.is_none() && ev.time.is_some() {
                    ev.intact = Check::NotChecked("the signed content is not available".into());
                }
                ev
            }
            // EN 319 122-1 §5.3: over the signature value's octets.
            oids::SIGNATURE_TIME_STAMP => {
                timestamp::evidence(TimestampKind::Signature, token, &|h| h.digest(si.signature))
            }
            oids::ARCHIVE_TIME_STAMP_V3 => archive_v3(token, sd, si, content),
            _ => {
                let mut ev = timestamp::evidence(TimestampKind::Archive, token, &|_| Vec::new());
                if ev.time.is_some() {
                    ev.intact = Check::NotChecked(
                        "archive-time-stamp (v2, RFC 5126) is not checked; only v3 is".into(),
                    );
                }
                ev
            }
        });
    }
    (out, truncated)
}

/// The `ATSHashIndexV3` (the ats-hash-index-v3 unsigned attribute of the token's SignerInfo),
/// DER.
fn ats_hash_index(token: &[u8]) -> Result<Vec<u8>, String> {
    let der = cms::to_der(token)?;
    let sd = cms::parse(&der)?;
    let si = sd
        .signer_infos
        .first()
        .ok_or("the token has no SignerInfo")?;
    si.unsigned_values(oids::ATS_HASH_INDEX_V3)
        .first()
        .map(|v| v.raw.to_vec())
        .ok_or_else(|| "the archive-time-stamp-v3 has no ats-hash-index-v3 attribute".into())
}

/// Every hash the index lists must be the hash of something still in the signature: a
/// certificate or revocation value of the SignedData, or an unsigned attribute value
/// (EN 319 122-1 §5.5.2). What was added after the time-stamp is not listed, which is fine.
fn check_hash_index(index: &[u8], sd: &SignedData<'_>, si: &SignerInfo<'_>) -> Result<(), String> {
    let bad = || "malformed ats-hash-index-v3".to_string();
    let parts = asn1::read_all(index)
        .and_then(|t| t.children())
        .map_err(|_| bad())?;
    let (hash, lists) = match parts.as_slice() {
        [alg, rest @ ..] if rest.len() == 3 => {
            let (oid, _) = cms::algorithm(alg)?;
            let h = HashAlgorithm::from_oid(&oid)
                .map_err(|_| format!("unsupported hash algorithm {oid} in ats-hash-index-v3"))?;
            (h, rest)
        }
        rest if rest.len() == 3 => (HashAlgorithm::Sha256, rest),
        _ => return Err(bad()),
    };
    let attr_values: Vec<Vec<u8>> = si
        .unsigned_attrs
        .iter()
        .flat_map(|a| a.values.iter().map(|v| [a.attr_type, v.raw].concat()))
        .collect();
    let present: [Vec<Vec<u8>>; 3] = [
        sd.certificate_choices
            .iter()
            .map(|c| hash.digest(c))
            .collect(),
        sd.revocation_choices
            .iter()
            .map(|c| hash.digest(c))
            .collect(),
        attr_values.iter().map(|v| hash.digest(v)).collect(),
    ];
    let what = ["certificate", "revocation value", "unsigned attribute"];
    for ((list, present), what) in lists.iter().zip(&present).zip(what) {
        for h in list.children().map_err(|_| bad())? {
            if !present.iter().any(|p| p.as_slice() == h.content) {
                return Err(format!(
                    "a {what} the archive-time-stamp-v3 covers is no longer in the signature"
                ));
            }
        }
    }
    Ok(())
}

/// archive-time-stamp-v3 (EN 319 122-1 §5.5.3): the imprint covers eContentType, the hash of
/// the content, the SignerInfo fields up to the signature, and the token's ATSHashIndexV3.
fn archive_v3(
    token: Vec<u8>,
    sd: &SignedData<'_>,
    si: &SignerInfo<'_>,
    content: Option<&[&[u8]]>,
) -> TimestampEvidence {
    let index = ats_hash_index(&token);
    let covered = |h: HashAlgorithm| -> Vec<u8> {
        let (Some(parts), Ok(index)) = (content, &index) else {
            return Vec::new();
        };
        let mut input = sd.econtent_type.raw.to_vec();
        input.extend_from_slice(&cms::digest_parts(h, parts));
        input.extend_from_slice(si.fields);
        input.extend_from_slice(index);
        h.digest(&input)
    };
    let mut ev = timestamp::evidence(TimestampKind::Archive, token, &covered);
    if ev.time.is_none() {
        return ev;
    }
    if content.is_none() {
        ev.intact = Check::NotChecked("the signed content is not available".into());
        return ev;
    }
    if ev.intact.passed()
        && let Err(e) = index.and_then(|i| check_hash_index(&i, sd, si))
    {
        ev.intact = Check::Failed(e);
    }
    ev
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use signet_ades::test_pki::{self, SIGNING_TIME, TestPki};
    use signet_ades::{Content, Envelope, Level, cms as ades_cms};
    use std::sync::OnceLock;

    fn pki() -> &'static TestPki {
        static PKI: OnceLock<TestPki> = OnceLock::new();
        PKI.get_or_init(TestPki::new)
    }

    const DOC: &[u8] = b"The quick brown fox jumps over the lazy dog, signed.";

    fn read_one(sig: &[u8], detached: &[DetachedContent]) -> SignatureEvidence {
        let mut evs = read(sig, detached, &Limits::default()).unwrap();
        assert_eq!(evs.len(), 1);
        evs.remove(0)
    }

    fn doc() -> Vec<DetachedContent> {
        vec![DetachedContent {
            name: Some("doc.txt".into()),
            bytes: DOC.to_vec(),
        }]
    }

    /// Everything a good signature of `level` shows.
    fn assert_good(ev: &SignatureEvidence, level: Level, name: &str, sig: &[u8]) {
        let pki = pki();
        assert_eq!(ev.format, Format::Cades);
        assert_eq!(ev.format_error, None);
        let der = cms::to_der(sig).unwrap();
        let sd = cms::parse(&der).unwrap();
        assert_eq!(
            ev.id,
            SignatureEvidence::id_for(sd.signer_infos[0].signature)
        );
        assert_eq!(
            ev.claimed_signing_time,
            Some(time::OffsetDateTime::from_unix_timestamp(SIGNING_TIME).unwrap())
        );
        assert_eq!(ev.digest_algorithm, Some(HashAlgorithm::Sha256));
        assert_eq!(
            ev.signature_algorithm.as_deref(),
            Some("1.2.840.10045.4.3.2")
        );
        assert_eq!(
            ev.signed_data,
            vec![SignedDataObject {
                name: name.into(),
                found: Check::Passed,
                intact: Check::Passed
            }]
        );
        assert_eq!(ev.covers_whole_document, None);
        assert_signed_by_the_test_pki(ev, pki, level);
    }

    /// What a good CMS signature (CAdES, or PAdES's CMS) of `level` made with `pki` shows:
    /// the signer, the certificates and validation data it carries, and its time-stamps.
    pub(crate) fn assert_signed_by_the_test_pki(
        ev: &SignatureEvidence,
        pki: &TestPki,
        level: Level,
    ) {
        let sorted = |mut v: Vec<Vec<u8>>| {
            v.sort();
            v
        };
        assert_eq!(
            ev.signing_certificate.as_ref(),
            Some(&pki.signer.certificate)
        );
        assert_eq!(ev.signing_certificate_reference, Check::Passed);
        assert_eq!(ev.signature_value, Check::Passed);
        assert_eq!(ev.constraint_failures, Vec::<String>::new());
        let lt = level >= Level::BLt;
        let mut certs = vec![pki.signer.certificate.clone(), pki.ca.certificate.clone()];
        if lt {
            certs.push(pki.tsa.certificate.clone());
        }
        assert_eq!(sorted(ev.certificates.clone()), sorted(certs));
        assert_eq!(ev.has_validation_data, lt);
        // A CRL and an OCSP response fetched for the signer and for the TSA.
        assert_eq!(ev.crls.len(), if lt { 2 } else { 0 });
        assert_eq!(ev.ocsp_responses.len(), if lt { 2 } else { 0 });
        let kinds: Vec<TimestampKind> = ev.timestamps.iter().map(|t| t.kind).collect();
        let expected: &[TimestampKind] = match level {
            Level::BB => &[],
            Level::BT | Level::BLt => &[TimestampKind::Signature],
            Level::BLta => &[TimestampKind::Signature, TimestampKind::Archive],
        };
        assert_eq!(kinds, expected);
        for t in &ev.timestamps {
            assert_eq!(t.intact, Check::Passed, "{:?}", t.kind);
            assert_eq!(t.signature_value, Check::Passed, "{:?}", t.kind);
            assert_eq!(t.tsa_certificate.as_ref(), Some(&pki.tsa.certificate));
            assert!(t.time.is_some());
        }
    }

    #[test]
    fn attached_and_detached_at_every_level() {
        let pki = pki();
        for level in Level::ALL {
            let sig = pki.make(Format::Cades, level, Envelope::Attached, DOC);
            let ev = read_one(&sig, &[]);
            assert_good(&ev, level, "content", &sig);

            let sig = pki.make(Format::Cades, level, Envelope::Detached, DOC);
            let ev = read_one(&sig, &doc());
            assert_good(&ev, level, "doc.txt", &sig);

            // Detached without its content: SIGNED_DATA_NOT_FOUND, the rest still checked.
            let ev = read_one(&sig, &[]);
            assert!(matches!(ev.signed_data[0].found, Check::Failed(_)));
            assert!(matches!(ev.signed_data[0].intact, Check::NotChecked(_)));
            assert_eq!(ev.signature_value, Check::Passed);
            if level == Level::BLta {
                assert!(matches!(ev.timestamps[1].intact, Check::NotChecked(_)));
            }
        }
    }

    #[test]
    fn tampered_content_and_signature() {
        let pki = pki();
        let sig = pki.make(Format::Cades, Level::BLta, Envelope::Attached, DOC);
        // A flipped content byte: HASH_FAILURE, and the archive time-stamp no longer matches.
        let at = sig.windows(DOC.len()).position(|w| w == DOC).unwrap();
        let mut bad = sig.clone();
        bad[at + 3] ^= 0x20;
        let ev = read_one(&bad, &[]);
        assert!(matches!(ev.signed_data[0].intact, Check::Failed(_)));
        assert_eq!(ev.signature_value, Check::Passed);
        assert_eq!(ev.timestamps[0].intact, Check::Passed);
        assert!(matches!(ev.timestamps[1].intact, Check::Failed(_)));

        // A flipped signature byte: SIG_CRYPTO_FAILURE, and the signature time-stamp breaks.
        let der = cms::to_der(&sig).unwrap().to_vec();
        let sd = cms::parse(&der).unwrap();
        let value = sd.signer_infos[0].signature.to_vec();
        let at = sig.windows(value.len()).position(|w| w == value).unwrap();
        let mut bad = sig.clone();
        bad[at + value.len() - 2] ^= 1;
        let ev = read_one(&bad, &[]);
        assert_eq!(ev.signed_data[0].intact, Check::Passed);
        assert!(matches!(ev.signature_value, Check::Failed(_)));
        assert!(matches!(ev.timestamps[0].intact, Check::Failed(_)));

        // A certificate removed after the archive time-stamp: its hash index no longer fits.
        let mut parsed = ades_cms::SignedData::parse(&sig, "test").unwrap();
        parsed.certificates.retain(|c| c != &pki.tsa.certificate);
        let ev = read_one(&parsed.encode().unwrap(), &[]);
        assert!(matches!(&ev.timestamps[1].intact, Check::Failed(m) if m.contains("certificate")));
    }

    #[test]
    fn wrong_message_digest() {
        let pki = pki();
        // A detached signature over the digest of something else, given DOC.
        let other = HashAlgorithm::Sha256.digest(b"something else");
        let sig = pki.make_request(
            &pki.key,
            test_pki::request(
                &pki.signer,
                Format::Cades,
                Level::BB,
                Envelope::Detached,
                Content::Digest(other),
            ),
        );
        let ev = read_one(&sig, &doc());
        assert_eq!(ev.signed_data[0].found, Check::Passed);
        assert!(matches!(ev.signed_data[0].intact, Check::Failed(_)));
        assert_eq!(ev.signature_value, Check::Passed);
    }

    /// A CMS signed by the test signer with exactly `attrs` as signed attributes.
    fn hand_made(attrs: Vec<Vec<u8>>) -> Vec<u8> {
        let cert = signet_ades::cert::CertView::parse(&pki().signer.certificate).unwrap();
        hand_made_with_sid(attrs, cert.issuer_and_serial())
    }

    fn hand_made_with_sid(attrs: Vec<Vec<u8>>, sid: Vec<u8>) -> Vec<u8> {
        let pki = pki();
        let signed = asn1::set_of(attrs);
        let value = pki.sign_digest(&HashAlgorithm::Sha256.digest(&signed));
        let mut implicit = signed.clone();
        implicit[0] = asn1::ctx(0);
        let si = asn1::seq(&[
            &asn1::uint(1),
            &sid,
            &ades_cms::digest_algorithm(HashAlgorithm::Sha256).unwrap(),
            &implicit,
            &asn1::seq(&[&asn1::oid("1.2.840.10045.4.3.2").unwrap()]),
            &asn1::octet_string(&value),
        ]);
        ades_cms::SignedData {
            digest_algorithms: vec![ades_cms::digest_algorithm(HashAlgorithm::Sha256).unwrap()],
            econtent_type: asn1::oid(oids::DATA).unwrap(),
            econtent: Some(DOC.to_vec()),
            certificates: vec![pki.signer.certificate.clone()],
            crls: Vec::new(),
            signer_infos: vec![si],
        }
        .encode()
        .unwrap()
    }

    #[test]
    fn missing_attributes() {
        let content_type =
            ades_cms::attribute(oids::CONTENT_TYPE, vec![asn1::oid(oids::DATA).unwrap()]).unwrap();
        let md = ades_cms::attribute(
            oids::MESSAGE_DIGEST,
            vec![asn1::octet_string(&HashAlgorithm::Sha256.digest(DOC))],
        )
        .unwrap();
        let time = ades_cms::attribute(
            oids::SIGNING_TIME,
            vec![asn1::cms_time(SIGNING_TIME).unwrap()],
        )
        .unwrap();
        // No signing-certificate-v2: the signature verifies, the reference fails.
        let ev = read_one(
            &hand_made(vec![content_type.clone(), md.clone(), time]),
            &[],
        );
        assert_eq!(ev.signature_value, Check::Passed);
        assert_eq!(ev.signed_data[0].intact, Check::Passed);
        assert_eq!(
            ev.signing_certificate_reference,
            Check::Failed("no signing-certificate-v2 attribute".into())
        );
        assert_eq!(
            ev.constraint_failures.len(),
            1,
            "{:?}",
            ev.constraint_failures
        );
        // Neither signing-time nor a content-type.
        let ev = read_one(&hand_made(vec![md]), &[]);
        assert_eq!(ev.signature_value, Check::Passed);
        assert_eq!(ev.claimed_signing_time, None);
        assert_eq!(
            ev.constraint_failures.len(),
            3,
            "{:?}",
            ev.constraint_failures
        );
    }

    /// A version 3 SignerInfo names its certificate by subjectKeyIdentifier.
    #[test]
    fn subject_key_identifier_sid() {
        let pki = pki();
        let sd = ades_cms::SignedData::parse(
            &pki.make(Format::Cades, Level::BB, Envelope::Attached, DOC),
            "t",
        )
        .unwrap();
        let si = asn1::read_all(&sd.signer_infos[0]).unwrap();
        let signed_attrs = si.children().unwrap()[3].raw.to_vec();
        let attrs: Vec<Vec<u8>> = asn1::read_all(&signed_attrs)
            .unwrap()
            .children()
            .unwrap()
            .iter()
            .map(|a| a.raw.to_vec())
            .collect();
        let ski = cms::tests_ski(&pki.signer.certificate).unwrap();
        let ev = read_one(
            &hand_made_with_sid(attrs.clone(), asn1::tlv(0x80, &ski)),
            &[],
        );
        assert_eq!(
            ev.signing_certificate.as_ref(),
            Some(&pki.signer.certificate)
        );
        assert_eq!(ev.signature_value, Check::Passed);
        assert_eq!(ev.signing_certificate_reference, Check::Passed);
        // An identifier that names no certificate: NO_SIGNING_CERTIFICATE_FOUND.
        let ev = read_one(&hand_made_with_sid(attrs, asn1::tlv(0x80, b"nobody")), &[]);
        assert_eq!(ev.signing_certificate, None);
        assert!(matches!(ev.signature_value, Check::NotChecked(_)));
    }

    #[test]
    fn garbage_and_truncated() {
        let pki = pki();
        let limits = Limits::default();
        assert!(matches!(
            read(b"hello", &[], &limits),
            Err(ValidationError::NotASignature(_))
        ));
        assert!(matches!(
            read(&[], &[], &limits),
            Err(ValidationError::NotASignature(_))
        ));
        let sig = pki.make(Format::Cades, Level::BT, Envelope::Attached, DOC);
        for cut in [20, 100, sig.len() / 2, sig.len() - 1] {
            let evs = read(&sig[..cut], &[], &limits).unwrap();
            assert_eq!(evs.len(), 1);
            assert!(evs[0].format_error.is_some(), "cut at {cut}");
            assert_eq!(evs[0].id, SignatureEvidence::id_for(&sig[..cut]));
        }
        let small = Limits {
            max_document_bytes: 100,
            ..Limits::default()
        };
        assert!(matches!(
            read(&sig, &[], &small),
            Err(ValidationError::TooLarge(_))
        ));
        // Every single-byte corruption of the header region reads without a panic.
        for i in 0..200.min(sig.len()) {
            let mut bad = sig.clone();
            bad[i] ^= 0xff;
            let _ = read(&bad, &doc(), &limits);
        }
    }

    /// BER with indefinite lengths (as `openssl cms -sign` writes it) reads like its DER.
    #[test]
    fn ber_indefinite_lengths() {
        let pki = pki();
        let sig = pki.make(Format::Cades, Level::BB, Envelope::Attached, DOC);
        // Rewrite the outer ContentInfo and [0] with indefinite lengths, and the eContent as a
        // constructed OCTET STRING of two segments.
        let sd_der = ades_cms::SignedData::parse(&sig, "t").unwrap();
        let inner = sd_der.encode_inner();
        let t = asn1::read_all(&inner).unwrap();
        let fields = t.children().unwrap();
        let mut body = Vec::new();
        for (i, f) in fields.iter().enumerate() {
            if i == 2 {
                let mut encap = vec![0x30, 0x80];
                encap.extend_from_slice(&asn1::oid(oids::DATA).unwrap());
                encap.extend_from_slice(&[0xa0, 0x80, 0x24, 0x80]);
                encap.extend_from_slice(&asn1::octet_string(&DOC[..10]));
                encap.extend_from_slice(&asn1::octet_string(&DOC[10..]));
                encap.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
                body.extend_from_slice(&encap);
            } else {
                body.extend_from_slice(f.raw);
            }
        }
        let mut ber = vec![0x30, 0x80];
        ber.extend_from_slice(&asn1::oid(oids::SIGNED_DATA).unwrap());
        ber.extend_from_slice(&[0xa0, 0x80, 0x30, 0x80]);
        ber.extend_from_slice(&body);
        ber.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        let ev = read_one(&ber, &[]);
        assert_good(&ev, Level::BB, "content", &sig);
    }

    /// A signature made by `openssl cms -sign` (BER, its own attribute choices).
    #[test]
    fn openssl_cms_signature() {
        let ok = std::process::Command::new("openssl")
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            assert!(
                std::env::var_os("SIGNET_REQUIRE_INTEROP").is_none(),
                "openssl is missing"
            );
            eprintln!("SKIPPED: openssl is not on PATH");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        let run = |args: &[&std::ffi::OsStr]| {
            let out = std::process::Command::new("openssl")
                .args(args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let (doc, key, cert, out) = (p("doc.txt"), p("key.pem"), p("cert.pem"), p("sig.der"));
        std::fs::write(&doc, DOC).unwrap();
        run(&[
            "req".as_ref(),
            "-x509".as_ref(),
            "-newkey".as_ref(),
            "ec".as_ref(),
            "-pkeyopt".as_ref(),
            "ec_paramgen_curve:P-256".as_ref(),
            "-nodes".as_ref(),
            "-subj".as_ref(),
            "/CN=openssl signer".as_ref(),
            "-days".as_ref(),
            "2".as_ref(),
            "-keyout".as_ref(),
            key.as_os_str(),
            "-out".as_ref(),
            cert.as_os_str(),
        ]);
        let cert_der = std::fs::read_to_string(&cert).unwrap();
        let cert_der = cert_der
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>();
        let cert_der = data_encoding::BASE64.decode(cert_der.as_bytes()).unwrap();
        // As asked for, and with -stream: BER with indefinite lengths.
        for stream in [false, true] {
            let mut args: Vec<&std::ffi::OsStr> = vec![
                "cms".as_ref(),
                "-sign".as_ref(),
                "-binary".as_ref(),
                "-nodetach".as_ref(),
                "-outform".as_ref(),
                "DER".as_ref(),
                "-in".as_ref(),
                doc.as_os_str(),
                "-signer".as_ref(),
                cert.as_os_str(),
                "-inkey".as_ref(),
                key.as_os_str(),
                "-out".as_ref(),
                out.as_os_str(),
            ];
            if stream {
                args.push("-stream".as_ref());
            }
            run(&args);
            let sig = std::fs::read(&out).unwrap();
            assert_eq!(sig.get(1) == Some(&0x80), stream);
            let ev = read_one(&sig, &[]);
            assert_eq!(ev.format_error, None);
            assert_eq!(ev.signature_value, Check::Passed);
            assert_eq!(ev.signed_data[0].intact, Check::Passed);
            assert_eq!(ev.signing_certificate.as_ref(), Some(&cert_der));
            assert!(ev.claimed_signing_time.is_some());
            assert_eq!(ev.digest_algorithm, Some(HashAlgorithm::Sha256));
            // OpenSSL 3.0 adds no ESS signing-certificate(-v2) attribute by default.
            if ev.signing_certificate_reference != Check::Passed {
                assert_eq!(
                    ev.signing_certificate_reference,
                    Check::Failed("no signing-certificate-v2 attribute".into())
                );
            }
        }
    }
}
