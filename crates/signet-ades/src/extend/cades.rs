//! CAdES augmentation (EN 319 122-1 §6): every SignerInfo of the SignedData is extended.
//!
//! - B-T: a signature-time-stamp unsigned attribute;
//! - B-LT: certificates in `SignedData.certificates`, CRLs and OCSP responses (as
//!   id-ri-ocsp-response) in `SignedData.crls`, as Signet's own B-LT creation writes them;
//! - B-LTA: an archive-time-stamp-v3 with its ATSHashIndexV3, over the content — for a
//!   detached signature the document the request carries.

use crate::cms::{self as signed_data, SignedData};
use crate::timestamp;
use crate::{AdesError, Format, Level, Revocation, oids};

use super::cms::{self, ARCHIVE_TIME_STAMPS, REVOCATION_VALUES, SignerInfo, attribute_values};
use super::{
    ExtendRequest, Has, Outcome, Services, Steps, check_levels, counted, describe, missing,
};

pub(super) fn extend(req: &ExtendRequest, services: &Services<'_>) -> Result<Outcome, AdesError> {
    let mut sd = SignedData::parse(&req.signature, "the document is not a CAdES signature")?;
    let raw_infos = std::mem::take(&mut sd.signer_infos);
    let infos: Vec<SignerInfo<'_>> = raw_infos
        .iter()
        .map(|raw| SignerInfo::parse(raw))
        .collect::<Result<_, _>>()?;
    let have = cms::embedded(&sd.certificates, &sd.crls);
    let has_revocation_data = !have.crls.is_empty() || !have.ocsp.is_empty();
    let mut levels = Vec::with_capacity(infos.len());
    let mut certificates = Vec::with_capacity(infos.len());
    for si in &infos {
        let has = Has {
            time_stamp: !si
                .unsigned_values(&[oids::SIGNATURE_TIME_STAMP])?
                .is_empty(),
            validation_data: has_revocation_data
                || !si.unsigned_values(&[REVOCATION_VALUES])?.is_empty(),
            archive_time_stamp: !si.unsigned_values(&ARCHIVE_TIME_STAMPS)?.is_empty(),
        };
        levels.push(has.level());
        certificates.push(si.certificate(&sd.certificates)?.to_vec());
    }
    check_levels(Format::Cades, &levels, req.target)?;
    let steps: Vec<Steps> = levels.iter().map(|l| Steps::new(*l, req.target)).collect();
    let content = archived_content(req, &sd, &infos)?;

    let mut unsigned: Vec<Vec<Vec<u8>>> = infos.iter().map(|si| si.unsigned.clone()).collect();
    let mut added = Vec::new();
    let mut stamped = 0;
    for (i, si) in infos.iter().enumerate() {
        if steps[i].time_stamp {
            let (attr, _) =
                timestamp::signature_time_stamp(services.tsa, si.time_stamp_hash(), si.signature)?;
            unsigned[i].push(attr);
            stamped += 1;
        }
    }
    if stamped > 0 {
        added.push(counted("signature time-stamp", stamped));
    }

    let mut info = Revocation::default();
    let mut with_data = 0;
    for (i, step) in steps.iter().enumerate() {
        if step.validation_data {
            let tokens = attribute_values(&unsigned[i], &[oids::SIGNATURE_TIME_STAMP])?;
            info.merge(timestamp::collect_validation_data(
                services.validation(),
                &certificates[i],
                &tokens,
            )?);
            with_data += 1;
        }
    }
    // Renewal: the previous archive time-stamps' units, before the new archive time-stamp
    // covers them.
    for (i, step) in steps.iter().enumerate() {
        if step.renewal {
            let mut known = have.clone();
            known.merge(info.clone());
            for token in attribute_values(&unsigned[i], &ARCHIVE_TIME_STAMPS)? {
                let extra =
                    timestamp::token_validation_data(services.validation(), &token, &known)?;
                known.merge(extra.clone());
                info.merge(extra);
            }
        }
    }
    let new = missing(&info, &have);
    if with_data > 0 || !new.is_empty() {
        timestamp::embed_validation_data(&mut sd, &new)?;
        added.push(describe(&new));
    }

    let mut archived = 0;
    for (i, si) in infos.iter().enumerate() {
        if steps[i].archive_time_stamp {
            let hash = si.time_stamp_hash();
            let content = content.as_deref().ok_or_else(|| {
                AdesError::Internal("no content for the archive time-stamp".into())
            })?;
            let ats = timestamp::archive_time_stamp_v3(
                services.tsa,
                hash,
                &sd,
                &si.fields,
                &unsigned[i],
                &hash.digest(content),
            )?;
            unsigned[i].push(ats);
            archived += 1;
        }
    }
    if archived > 0 {
        added.push(counted("archive time-stamp", archived));
    }
    sd.signer_infos = infos
        .iter()
        .zip(&unsigned)
        .map(|(si, u)| signed_data::signer_info(&si.fields, u))
        .collect();
    Ok((sd.encode()?, added, info))
}

/// The signed content an archive time-stamp covers: the eContent, or the detached document
/// (which must match every signer's message-digest). `None` below B-LTA.
fn archived_content(
    req: &ExtendRequest,
    sd: &SignedData,
    infos: &[SignerInfo<'_>],
) -> Result<Option<Vec<u8>>, AdesError> {
    if req.target < Level::BLta {
        return Ok(None);
    }
    if let Some(content) = &sd.econtent {
        return Ok(Some(content.clone()));
    }
    let Some(document) = &req.detached else {
        return Err(AdesError::InvalidRequest(
            "the CAdES signature is detached: its archive time-stamp covers the signed document, so send the document with it".into(),
        ));
    };
    for si in infos {
        if let (Some(hash), Some(expected)) = (si.digest_algorithm(), si.message_digest())
            && hash.digest(document) != expected
        {
            return Err(AdesError::InvalidRequest(
                "the detached document is not the one signed: its digest differs from the signature's message-digest".into(),
            ));
        }
    }
    Ok(Some(document.clone()))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::Envelope;
    use crate::extend::test_support::{Augment, Judges, assert_validation_data, run};
    use crate::test_pki::TestPki;

    const DOC: &[u8] = b"CAdES content to be extended";

    /// The unsigned attribute types of the first SignerInfo, and the SignedData.
    fn read(der: &[u8]) -> (Vec<Vec<u8>>, SignedData) {
        let sd = SignedData::parse(der, "test").unwrap();
        let si = SignerInfo::parse(&sd.signer_infos[0]).unwrap();
        let types = si.unsigned.iter().map(|a| asn1_first_child(a)).collect();
        (types, sd)
    }

    fn asn1_first_child(der: &[u8]) -> Vec<u8> {
        crate::asn1::read_all(der).unwrap().children().unwrap()[0]
            .raw
            .to_vec()
    }

    fn oid(dotted: &str) -> Vec<u8> {
        crate::asn1::oid(dotted).unwrap()
    }

    /// `openssl cms -verify` (through validate.sh) of a signature; detached with `content`.
    fn openssl_accepts(judges: &Judges, fixture: &TestPki, der: &[u8], content: Option<&[u8]>) {
        let sig = judges.file("sig.p7s", der);
        let ca = judges.ca(fixture);
        let data = match content {
            Some(c) => judges.file("content.bin", c),
            None => Path::new("-").to_path_buf(),
        };
        let (ok, log) = judges.validate("cades", &[&sig, &data, &ca]);
        assert!(ok, "{log}");
    }

    #[test]
    fn attached_step_by_step_and_renewed() {
        let f = TestPki::new();
        let judges = Judges::find();
        let bb = f.make(Format::Cades, Level::BB, Envelope::Attached, DOC);
        let t = f.extend(&bb, None, Level::BT).unwrap();
        assert_eq!(t.format, Format::Cades);
        assert_eq!(t.added, ["signature time-stamp"]);
        let (types, _) = read(&t.output);
        assert_eq!(types, [oid(oids::SIGNATURE_TIME_STAMP)]);
        assert!(t.validation_info.is_empty());

        let lt = f.extend(&t.output, None, Level::BLt).unwrap();
        // The CA certificate is there already; each fetch brings a fresh CRL.
        assert_eq!(
            lt.added,
            ["validation data for 1 certificate, 2 CRLs, 2 OCSP responses"]
        );
        let (types, sd) = read(&lt.output);
        assert_eq!(types, [oid(oids::SIGNATURE_TIME_STAMP)]);
        let carried = cms::embedded(&sd.certificates, &sd.crls);
        assert_validation_data(&carried, &f);
        assert_eq!(
            lt.validation_info,
            missing(&lt.validation_info, &Revocation::default())
        );
        for ocsp in &lt.validation_info.ocsp {
            assert!(
                sd.crls
                    .contains(&crate::cms::ocsp_revocation_choice(ocsp).unwrap())
            );
        }

        let lta = f.extend(&lt.output, None, Level::BLta).unwrap();
        assert_eq!(lta.added, ["archive time-stamp"]);
        assert_lta(&lta.output, 1, DOC);

        // B-LTA again: a second archive time-stamp (the TSA's data is there already).
        let renewed = f.extend(&lta.output, None, Level::BLta).unwrap();
        assert_eq!(renewed.added, ["archive time-stamp"]);
        assert_lta(&renewed.output, 2, DOC);

        if let Some(j) = &judges {
            for out in [&t.output, &lt.output, &lta.output, &renewed.output] {
                openssl_accepts(j, &f, out, None);
            }
        }
        // The signature and its content are untouched.
        assert_eq!(sd.econtent.as_deref(), Some(DOC));
    }

    /// Asserts that the first SignerInfo of `der` has a signature time-stamp and then
    /// `archives` archive-time-stamps-v3, each over `content` as EN 319 122-1 §5.5.3 says.
    fn assert_lta(der: &[u8], archives: usize, content: &[u8]) {
        let (types, sd) = read(der);
        let mut expected = vec![oid(oids::SIGNATURE_TIME_STAMP)];
        expected.extend(std::iter::repeat_n(
            oid(oids::ARCHIVE_TIME_STAMP_V3),
            archives,
        ));
        assert_eq!(types, expected);
        let si = SignerInfo::parse(&sd.signer_infos[0]).unwrap();
        for ats in si.unsigned_values(&[oids::ARCHIVE_TIME_STAMP_V3]).unwrap() {
            assert_archive_time_stamp_v3(&sd, &si, &ats, content);
        }
    }

    /// Recomputes the archive-time-stamp-v3 input (EN 319 122-1 §5.5.3) from the extended
    /// signature and compares it with the token's messageImprint.
    fn assert_archive_time_stamp_v3(
        sd: &SignedData,
        si: &SignerInfo<'_>,
        token: &[u8],
        content: &[u8],
    ) {
        let tsd = SignedData::parse(token, "token").unwrap();
        let tsi = SignerInfo::parse(&tsd.signer_infos[0]).unwrap();
        let index = tsi
            .unsigned_values(&[oids::ATS_HASH_INDEX_V3])
            .unwrap()
            .remove(0);
        // The attributes before it: without any archive time-stamp (the first), or without
        // only itself (a renewal; a SET OF keeps no order).
        let this =
            crate::cms::attribute(oids::ARCHIVE_TIME_STAMP_V3, vec![token.to_vec()]).unwrap();
        let without_archives: Vec<Vec<u8>> = si
            .unsigned
            .iter()
            .filter(|a| asn1_first_child(a) != oid(oids::ARCHIVE_TIME_STAMP_V3))
            .cloned()
            .collect();
        let without_this: Vec<Vec<u8>> = si
            .unsigned
            .iter()
            .filter(|a| **a != this)
            .cloned()
            .collect();
        let hash = HashAlgorithm::Sha256;
        assert!(
            [without_archives, without_this]
                .iter()
                .any(|before| index == timestamp::ats_hash_index_v3(hash, sd, before).unwrap()),
            "the ATSHashIndexV3 does not list the attributes before it"
        );
        let mut input = sd.econtent_type.clone();
        input.extend_from_slice(&hash.digest(content));
        input.extend_from_slice(&si.fields);
        input.extend_from_slice(&index);
        let tst = crate::asn1::read_all(tsd.econtent.as_deref().unwrap()).unwrap();
        let imprint = tst.children().unwrap()[2].children().unwrap()[1]
            .content
            .to_vec();
        assert_eq!(imprint, hash.digest(&input));
    }

    use signet_core::HashAlgorithm;

    #[test]
    fn detached_directly_to_lta_needs_the_document() {
        let f = TestPki::new();
        let bb = f.make(Format::Cades, Level::BB, Envelope::Detached, DOC);
        assert_eq!(
            f.extend(&bb, None, Level::BLta),
            Err(AdesError::InvalidRequest(
                "the CAdES signature is detached: its archive time-stamp covers the signed document, so send the document with it".into()
            ))
        );
        assert_eq!(
            f.extend(&bb, Some(b"another document"), Level::BLta),
            Err(AdesError::InvalidRequest(
                "the detached document is not the one signed: its digest differs from the signature's message-digest".into()
            ))
        );
        // B-LT needs no document.
        assert!(f.extend(&bb, None, Level::BLt).is_ok());
        let lta = f.extend(&bb, Some(DOC), Level::BLta).unwrap();
        assert_eq!(
            lta.added,
            [
                "signature time-stamp",
                "validation data for 1 certificate, 2 CRLs, 2 OCSP responses",
                "archive time-stamp"
            ]
        );
        assert_validation_data(&lta.validation_info, &f);
        assert_lta(&lta.output, 1, DOC);
        if let Some(j) = Judges::find() {
            openssl_accepts(&j, &f, &lta.output, Some(DOC));
        }
    }

    #[test]
    fn refusals() {
        let f = TestPki::new();
        let lt = f.make(Format::Cades, Level::BLt, Envelope::Attached, DOC);
        assert_eq!(
            f.extend(&lt, None, Level::BT),
            Err(AdesError::InvalidRequest(
                "the CAdES signature is already B-LT: there is nothing to add for B-T".into()
            ))
        );
        assert_eq!(
            f.extend(&lt, None, Level::BLt),
            Err(AdesError::InvalidRequest(
                "the CAdES signature is already B-LT: there is nothing to add for B-LT".into()
            ))
        );
        assert_eq!(
            f.extend(&lt, None, Level::BB),
            Err(AdesError::InvalidRequest(
                "a signature can be extended to B-T, B-LT or B-LTA; B-B is the level it is created at".into()
            ))
        );
        // Signet's own B-LT goes on to B-LTA.
        let lta = f.extend(&lt, None, Level::BLta).unwrap();
        assert_eq!(lta.added, ["archive time-stamp"]);
        assert!(matches!(
            f.extend(&[0x30, 3, 2, 1, 1], None, Level::BT),
            Err(AdesError::InvalidDocument(m)) if m.starts_with("the document is not a CAdES signature")
        ));
    }

    #[test]
    fn parallel_signatures_are_all_extended() {
        let f = TestPki::new();
        let first = f.make(Format::Cades, Level::BT, Envelope::Attached, DOC);
        let both = f.make(Format::Cades, Level::BB, Envelope::Parallel, &first);
        let out = f.extend(&both, None, Level::BLta).unwrap();
        assert_eq!(
            out.added,
            [
                "signature time-stamp",
                "validation data for 1 certificate, 4 CRLs, 4 OCSP responses",
                "archive time-stamp on 2 signatures"
            ]
        );
        let sd = SignedData::parse(&out.output, "test").unwrap();
        assert_eq!(sd.signer_infos.len(), 2);
        for raw in &sd.signer_infos {
            let si = SignerInfo::parse(raw).unwrap();
            assert_eq!(
                si.unsigned_values(&[oids::SIGNATURE_TIME_STAMP])
                    .unwrap()
                    .len(),
                1
            );
            let ats = si.unsigned_values(&[oids::ARCHIVE_TIME_STAMP_V3]).unwrap();
            assert_eq!(ats.len(), 1);
            assert_archive_time_stamp_v3(&sd, &si, &ats[0], DOC);
        }
    }

    /// `openssl cms -sign` with a key whose certificate the test CA issued, then B-B → B-LTA;
    /// openssl verifies the result.
    #[test]
    fn openssl_signatures() {
        let Some(j) = Judges::find() else { return };
        let f = TestPki::new();
        let key = j.dir.path().join("k.pem");
        let (ok, log) = run(Command::new("openssl")
            .args("genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out".split(' '))
            .arg(&key));
        assert!(ok, "{log}");
        let spki = j.dir.path().join("spki.der");
        let (ok, log) = run(Command::new("openssl")
            .args(["pkey", "-pubout", "-outform", "DER", "-in"])
            .arg(&key)
            .arg("-out")
            .arg(&spki));
        assert!(ok, "{log}");
        let cert = f.certify(&std::fs::read(&spki).unwrap());
        let cert_path = j.file("cert.der", &cert);
        let content = j.file("content.txt", DOC);
        for detached in [false, true] {
            let out = j.dir.path().join("openssl.p7s");
            let mut cmd = Command::new("openssl");
            cmd.args(["cms", "-sign", "-binary", "-outform", "DER", "-certfile"])
                .arg(j.ca(&f))
                .arg("-signer")
                .arg(&cert_path)
                .arg("-inkey")
                .arg(&key)
                .arg("-in")
                .arg(&content)
                .arg("-out")
                .arg(&out);
            if !detached {
                cmd.arg("-nodetach");
            }
            let (ok, log) = run(&mut cmd);
            assert!(ok, "{log}");
            let signed = std::fs::read(&out).unwrap();
            let lta = f
                .extend(&signed, detached.then_some(DOC), Level::BLta)
                .unwrap();
            assert_eq!(lta.added.len(), 3, "{:?}", lta.added);
            assert_lta(&lta.output, 1, DOC);
            openssl_accepts(&j, &f, &lta.output, detached.then_some(DOC));
        }
    }

    use std::process::Command;
}
