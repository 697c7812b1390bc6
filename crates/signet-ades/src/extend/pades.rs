//! PAdES augmentation (EN 319 142-1 §6), always by incremental updates after the original
//! bytes, which stay an exact prefix of the output:
//!
//! - B-T: a document time-stamp when a signature has no signature time-stamp (§6.3 allows
//!   either);
//! - B-LT: a DSS dictionary (merged with an existing one) holding the validation data of every
//!   signature of the document and of every time-stamp's unit (§5.4.2; no VRI, as Signet's
//!   creation writes none);
//! - B-LTA: a document time-stamp after the DSS (§5.4.3).
//!
//! The level of a signature: B-T with a signature time-stamp or a document time-stamp after
//! it; B-LT with a DSS whose last update follows it; B-LTA when a document time-stamp follows
//! that DSS. The document is extended as far as its lowest signature needs.

use lopdf::{Dictionary, Document, Object, ObjectId, xref::XrefEntry};
use signet_core::HashAlgorithm;

use crate::cms::SignedData;
use crate::pdf::{self, PdfState};
use crate::{AdesError, Format, Limits, Revocation, oids, pades, timestamp};

use super::cms::{SignerInfo, first_value};
use super::{ExtendRequest, Has, Outcome, Services, Steps, check_levels, describe, missing};

/// A signature or document time-stamp in the PDF.
struct PdfSignature {
    /// Where the revision it signs ends (`/ByteRange` offset + length of the second range).
    covers: usize,
    /// The CMS (a time-stamp token for a document time-stamp), without `/Contents` padding.
    cms: Vec<u8>,
}

/// A regular signature's signer certificate and signature time-stamps.
struct Signer {
    covers: usize,
    certificate: Vec<u8>,
    tokens: Vec<Vec<u8>>,
    hash: HashAlgorithm,
}

pub(super) fn extend(req: &ExtendRequest, services: &Services<'_>) -> Result<Outcome, AdesError> {
    let (doc, mut state) = pdf::load(&req.signature, &req.limits)?;
    let (regular, stamps) = signatures(&doc, &state)?;
    if regular.is_empty() {
        return Err(AdesError::InvalidDocument(if stamps.is_empty() {
            "the PDF holds no signature to extend".into()
        } else {
            "the PDF holds document time-stamps but no signature to extend".into()
        }));
    }
    let signers: Vec<Signer> = regular.iter().map(signer).collect::<Result<_, _>>()?;
    let dss_at = dss_offset(&doc, &state);
    let levels: Vec<_> = signers
        .iter()
        .map(|s| {
            let time_stamp = !s.tokens.is_empty() || stamps.iter().any(|t| t.covers > s.covers);
            let validation_data = dss_at.is_some_and(|d| d > s.covers);
            let archive_time_stamp = dss_at.is_some_and(|d| stamps.iter().any(|t| t.covers > d));
            Has {
                time_stamp,
                validation_data,
                archive_time_stamp,
            }
            .level()
        })
        .collect();
    check_levels(Format::Pades, &levels, req.target)?;
    let lowest = levels.iter().copied().min().unwrap_or(req.target);
    let steps = Steps::new(lowest, req.target);
    // The last signature's digest algorithm, as creation uses the signer's.
    let hash = signers.last().map_or(HashAlgorithm::Sha256, |s| s.hash);
    let mut have = dss_values(&doc, &state, &req.limits)?;
    drop(doc);

    let mut bytes = req.signature.clone();
    let mut stamp_tokens: Vec<Vec<u8>> = stamps.into_iter().map(|s| s.cms).collect();
    let mut added = Vec::new();
    let mut info = Revocation::default();
    if steps.time_stamp {
        let token = pades::add_document_time_stamp(&mut bytes, &mut state, services.tsa, hash)?;
        stamp_tokens.push(token);
        added.push("document time-stamp".to_owned());
    }
    if steps.validation_data {
        for s in &signers {
            info.merge(timestamp::collect_validation_data(
                services.validation(),
                &s.certificate,
                &s.tokens,
            )?);
        }
        for token in &stamp_tokens {
            let extra = timestamp::token_validation_data(services.validation(), token, &info)?;
            info.merge(extra);
        }
        add_dss(&mut bytes, &mut state, &info, &mut have, &mut added)?;
    }
    if steps.renewal
        && let Some(last) = stamp_tokens.last()
    {
        let extra = timestamp::token_validation_data(services.validation(), last, &have)?;
        if !extra.is_empty() {
            info.merge(extra.clone());
            add_dss(&mut bytes, &mut state, &extra, &mut have, &mut added)?;
        }
    }
    if steps.archive_time_stamp {
        pades::add_document_time_stamp(&mut bytes, &mut state, services.tsa, hash)?;
        added.push("archive time-stamp (document time-stamp)".to_owned());
    }
    Ok((bytes, added, info))
}

/// Writes what of `data` the DSS does not hold yet in a DSS revision.
fn add_dss(
    bytes: &mut Vec<u8>,
    state: &mut PdfState,
    data: &Revocation,
    have: &mut Revocation,
    added: &mut Vec<String>,
) -> Result<(), AdesError> {
    let new = missing(data, have);
    pades::add_dss(bytes, state, &new)?;
    added.push(format!("{} (DSS)", describe(&new)));
    have.merge(new);
    Ok(())
}

/// The regular signatures and the document time-stamps, each in the order of the revisions
/// they sign.
fn signatures(
    doc: &Document,
    state: &PdfState,
) -> Result<(Vec<PdfSignature>, Vec<PdfSignature>), AdesError> {
    let mut regular = Vec::new();
    let mut stamps = Vec::new();
    for value in &state.signature_values {
        let Some(Object::Dictionary(d)) = pdf::deref(doc, value) else {
            return Err(AdesError::InvalidDocument(
                "a signature field's value is not a signature dictionary".into(),
            ));
        };
        let name = |key: &[u8]| match d.get(key) {
            Ok(Object::Name(n)) => Some(n.clone()),
            _ => None,
        };
        let contents = match d.get(b"Contents").ok().and_then(|c| pdf::deref(doc, c)) {
            Some(Object::String(s, _)) => first_value(s, "the signature's /Contents")?,
            _ => {
                return Err(AdesError::InvalidDocument(
                    "a signature dictionary has no /Contents string".into(),
                ));
            }
        };
        let signature = PdfSignature {
            covers: byte_range_end(doc, d)?,
            cms: contents,
        };
        let is_stamp = name(b"SubFilter").as_deref() == Some(b"ETSI.RFC3161")
            || name(b"Type").as_deref() == Some(b"DocTimeStamp");
        if is_stamp {
            stamps.push(signature);
        } else {
            regular.push(signature);
        }
    }
    regular.sort_by_key(|s| s.covers);
    stamps.sort_by_key(|s| s.covers);
    Ok((regular, stamps))
}

/// `/ByteRange [a b c d]`: the signed revision ends at `c + d`.
fn byte_range_end(doc: &Document, d: &Dictionary) -> Result<usize, AdesError> {
    let bad = || AdesError::InvalidDocument("a signature's /ByteRange is malformed".into());
    let items = pdf::resolve_array(doc, d.get(b"ByteRange").ok())?;
    let numbers: Vec<usize> = items
        .iter()
        .map(|o| match o {
            Object::Integer(n) => usize::try_from(*n).ok(),
            _ => None,
        })
        .collect::<Option<_>>()
        .ok_or_else(bad)?;
    let [_, _, start, len] = numbers.as_slice() else {
        return Err(bad());
    };
    start.checked_add(*len).ok_or_else(bad)
}

fn signer(s: &PdfSignature) -> Result<Signer, AdesError> {
    let sd = SignedData::parse(&s.cms, "the PDF signature is not CMS SignedData")?;
    let [raw] = sd.signer_infos.as_slice() else {
        return Err(AdesError::InvalidDocument(format!(
            "a PDF signature's CMS has {} SignerInfos instead of one",
            sd.signer_infos.len()
        )));
    };
    let si = SignerInfo::parse(raw)?;
    Ok(Signer {
        covers: s.covers,
        certificate: si.certificate(&sd.certificates)?.to_vec(),
        tokens: si.unsigned_values(&[oids::SIGNATURE_TIME_STAMP])?,
        hash: si.time_stamp_hash(),
    })
}

/// Where the DSS dictionary's latest version is written (a DSS direct in the catalog: the
/// catalog's). `None` without a DSS holding anything.
fn dss_offset(doc: &Document, state: &PdfState) -> Option<usize> {
    let (id, dss) = state.dss.as_ref()?;
    let holds = [&b"Certs"[..], b"CRLs", b"OCSPs"]
        .iter()
        .any(|k| matches!(dss.get(k), Ok(Object::Array(a)) if !a.is_empty()));
    if !holds {
        return None;
    }
    object_offset(doc, id.unwrap_or(state.root))
}

fn object_offset(doc: &Document, id: ObjectId) -> Option<usize> {
    match doc.reference_table.get(id.0)? {
        XrefEntry::Normal { offset, .. } => Some(*offset as usize),
        // In an object stream: where that stream is.
        XrefEntry::Compressed { container, .. } => match doc.reference_table.get(*container)? {
            XrefEntry::Normal { offset, .. } => Some(*offset as usize),
            _ => None,
        },
        _ => None,
    }
}

/// The certificates, CRLs and OCSP responses the DSS holds.
fn dss_values(doc: &Document, state: &PdfState, limits: &Limits) -> Result<Revocation, AdesError> {
    let mut out = Revocation::default();
    let Some((_, dss)) = &state.dss else {
        return Ok(out);
    };
    for (key, into) in [
        (&b"Certs"[..], &mut out.certificates),
        (b"CRLs", &mut out.crls),
        (b"OCSPs", &mut out.ocsp),
    ] {
        for item in pdf::resolve_array(doc, dss.get(key).ok())? {
            if let Some(Object::Stream(s)) = pdf::deref(doc, &item) {
                let data = s
                    .get_plain_content_with_limit(limits.max_document_bytes)
                    .map_err(|e| {
                        AdesError::InvalidDocument(format!("a DSS stream cannot be read: {e}"))
                    })?;
                into.push(data);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extend::test_support::{
        Augment, Judges, assert_validation_data, count, pdf, python_key, run,
    };
    use crate::test_pki::TestPki;
    use crate::{Envelope, Level};
    use std::process::Command;

    /// pyHanko judges a B-LTA with the PDF's own validation data only (no fetching,
    /// revocation information required, taken as retroactively valid; the test CA the only
    /// root): every document time-stamp and every signature validates from the DSS, and
    /// pyHanko's EN 319 102-1 long-term validation finds the document time-stamp chain after
    /// each signature (its evidence record). pyHanko 0.38's validation with time insists on a
    /// signature time-stamp in the CMS (ades.py: "TODO conditionally enforce"), so a B-T
    /// reached by a document time-stamp, which EN 319 142-1 §6.3 allows, is
    /// SIG_CONSTRAINTS_FAILURE there; anything else must pass.
    const PYHANKO_LTA: &str = r#"
import asyncio, sys
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESIndeterminate, AdESPassed
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY
from pyhanko.sign.general import NonexistentAttributeError, find_unique_cms_attribute
from pyhanko.sign.validation import DocumentSecurityStore, validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.policy_decl import PdfSignatureValidationSpec, SignatureValidationSpec
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy, FreshnessReqType
from pyhanko_certvalidator.registry import SimpleTrustManager
root = load_cert_from_pemder(sys.argv[2])
policy = CertValidationPolicySpec(
    trust_manager=SimpleTrustManager.build(trust_roots=[root]),
    revinfo_policy=CertRevTrustPolicy(
        REQUIRE_REVINFO, freshness=None,
        freshness_req_type=FreshnessReqType.MAX_DIFF_REVOCATION_VALIDATION))
spec = PdfSignatureValidationSpec(
    signature_validation_spec=SignatureValidationSpec(cert_validation_policy=policy),
    diff_policy=DEFAULT_DIFF_POLICY)
with open(sys.argv[1], 'rb') as f:
    r = PdfFileReader(f)
    def dss_context():
        return DocumentSecurityStore.read_dss(r).as_validation_context(dict(
            trust_roots=[root], allow_fetching=False, revocation_mode='require',
            retroactive_revinfo=True))
    stamps = r.embedded_timestamp_signatures
    assert stamps, 'no document time-stamp'
    for ts in stamps:
        status = validate_pdf_timestamp(ts, validation_context=dss_context())
        print(ts.field_name, status.summary())
        assert status.valid and status.intact and status.trusted, ts.field_name
    sigs = r.embedded_regular_signatures
    assert sigs, 'no signature'
    for sig in sigs:
        status = validate_pdf_signature(sig, dss_context(), dss_context())
        print(sig.field_name, status.summary())
        assert status.bottom_line, sig.field_name
        result = asyncio.run(ades_lta_validation(sig, spec))
        print(sig.field_name, result.ades_subindic, result.failure_msg,
              'evidence record from', result.oldest_evidence_record_timestamp)
        assert result.oldest_evidence_record_timestamp is not None, 'no evidence record'
        try:
            find_unique_cms_attribute(sig.signer_info['unsigned_attrs'], 'signature_time_stamp_token')
            allowed = {AdESPassed.OK}
        except NonexistentAttributeError:
            allowed = {AdESPassed.OK, AdESIndeterminate.SIG_CONSTRAINTS_FAILURE}
        assert result.ades_subindic in allowed, sig.field_name
print('pyHanko: PAdES B-LTA VALID')
"#;

    /// pyHanko signs `src` at B-B (PAdES subfilter, no time-stamp) with `key` and `cert`.
    const PYHANKO_SIGN: &str = r#"
import sys
from pyhanko.keys import load_cert_from_pemder, load_private_key_from_pemder
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko_certvalidator.registry import SimpleCertificateStore
src, out, key, cert, ca = sys.argv[1:6]
signer = signers.SimpleSigner(
    signing_cert=load_cert_from_pemder(cert),
    signing_key=load_private_key_from_pemder(key, None),
    cert_registry=SimpleCertificateStore.from_certs([load_cert_from_pemder(ca)]))
meta = signers.PdfSignatureMetadata(field_name='Signature1', subfilter=SigSeedSubFilter.PADES)
with open(src, 'rb') as f, open(out, 'wb') as o:
    signers.sign_pdf(IncrementalPdfFileWriter(f), meta, signer=signer, output=o)
"#;

    fn judge(j: &Judges, f: &TestPki, pdf: &[u8], lta: bool) {
        let file = j.file("extended.pdf", pdf);
        let ca = j.ca(f);
        let (ok, log) = j.validate("pades", &[&file, &ca]);
        assert!(ok, "validate.sh pades:\n{log}");
        let (ok, log) = run(Command::new(j.python.with_file_name("pyhanko"))
            .args(["sign", "validate", "--retroactive-revinfo", "--trust"])
            .arg(&ca)
            .args(["--trust-replace", "--pretty-print"])
            .arg(&file));
        assert!(ok, "pyhanko sign validate --retroactive-revinfo:\n{log}");
        if lta {
            let (ok, log) = j.python(PYHANKO_LTA, &[&file, &ca]);
            assert!(ok && log.contains("PAdES B-LTA VALID"), "{log}");
        }
    }

    /// The DSS values of an extended PDF.
    fn dss(bytes: &[u8]) -> Revocation {
        let limits = Limits::default();
        let (doc, state) = pdf::load(bytes, &limits).unwrap();
        dss_values(&doc, &state, &limits).unwrap()
    }

    /// The kind of the last revision's signature dictionary.
    fn last_revision_is_document_time_stamp(bytes: &[u8]) -> bool {
        let text = String::from_utf8_lossy(bytes);
        let last_sig = text.rfind("/ByteRange").unwrap();
        let last_dss = text.rfind("/Type /DSS").unwrap_or(0);
        text[..last_sig]
            .rfind("<</Type /DocTimeStamp")
            .is_some_and(|at| at > last_dss)
            && text[text[..last_sig].rfind("<</Type").unwrap()..]
                .starts_with("<</Type /DocTimeStamp")
    }

    #[test]
    fn step_by_step_and_renewed() {
        let f = TestPki::new();
        let judges = Judges::find();
        let bb = f.make(Format::Pades, Level::BB, Envelope::Certification, &pdf());
        let t = f.extend(&bb, None, Level::BT).unwrap();
        assert_eq!(t.format, Format::Pades);
        assert_eq!(t.added, ["document time-stamp"]);
        assert!(t.output.starts_with(&bb));
        assert!(last_revision_is_document_time_stamp(&t.output));
        assert_eq!(count(&t.output, b"/SubFilter /ETSI.RFC3161"), 1);

        let lt = f.extend(&t.output, None, Level::BLt).unwrap();
        assert_eq!(
            lt.added,
            ["validation data for 2 certificates, 2 CRLs, 2 OCSP responses (DSS)"]
        );
        assert!(lt.output.starts_with(&t.output));
        let carried = dss(&lt.output);
        assert_eq!(carried, lt.validation_info);
        assert_validation_data(&carried, &f);

        let lta = f.extend(&lt.output, None, Level::BLta).unwrap();
        assert_eq!(lta.added, ["archive time-stamp (document time-stamp)"]);
        assert!(lta.output.starts_with(&lt.output));
        assert!(last_revision_is_document_time_stamp(&lta.output));
        assert_eq!(count(&lta.output, b"/SubFilter /ETSI.RFC3161"), 2);
        assert_eq!(
            f.extend(&lta.output, None, Level::BLt),
            Err(AdesError::InvalidRequest(
                "the PAdES signature is already B-LTA: there is nothing to add for B-LT".into()
            ))
        );
        // Renewal: the TSA's data is in the DSS already, so only a new document time-stamp.
        let renewed = f.extend(&lta.output, None, Level::BLta).unwrap();
        assert_eq!(renewed.added, ["archive time-stamp (document time-stamp)"]);
        assert!(renewed.output.starts_with(&lta.output));
        assert_eq!(count(&renewed.output, b"/SubFilter /ETSI.RFC3161"), 3);
        if let Some(j) = &judges {
            judge(j, &f, &t.output, false);
            judge(j, &f, &lt.output, false);
            judge(j, &f, &lta.output, true);
            judge(j, &f, &renewed.output, true);
        }
    }

    #[test]
    fn directly_to_lta_and_from_signet_b_t() {
        let f = TestPki::new();
        let bb = f.make(Format::Pades, Level::BB, Envelope::Revision, &pdf());
        let lta = f.extend(&bb, None, Level::BLta).unwrap();
        assert_eq!(
            lta.added,
            [
                "document time-stamp",
                "validation data for 2 certificates, 2 CRLs, 2 OCSP responses (DSS)",
                "archive time-stamp (document time-stamp)"
            ]
        );
        assert!(lta.output.starts_with(&bb));
        assert_eq!(dss(&lta.output), lta.validation_info);
        // A B-T with a signature time-stamp needs no document time-stamp for B-LT.
        let bt = f.make(Format::Pades, Level::BT, Envelope::Certification, &pdf());
        let lt = f.extend(&bt, None, Level::BLt).unwrap();
        assert_eq!(
            lt.added,
            ["validation data for 2 certificates, 2 CRLs, 2 OCSP responses (DSS)"]
        );
        assert_eq!(count(&lt.output, b"/SubFilter /ETSI.RFC3161"), 0);
        // From there to B-LTA: pyHanko's long-term validation passes without allowances.
        let from_bt = f.extend(&lt.output, None, Level::BLta).unwrap();
        assert_eq!(from_bt.added, ["archive time-stamp (document time-stamp)"]);
        if let Some(j) = Judges::find() {
            judge(&j, &f, &lta.output, true);
            judge(&j, &f, &lt.output, false);
            judge(&j, &f, &from_bt.output, true);
        }
    }

    #[test]
    fn a_pyhanko_signature_extended_to_lta() {
        let Some(j) = Judges::find() else { return };
        let f = TestPki::new();
        let (key, spki) = python_key(&j);
        let cert = j.file("cert.der", &f.certify(&spki));
        let src = j.file("in.pdf", &pdf());
        let signed = j.dir.path().join("pyhanko.pdf");
        let ca = j.ca(&f);
        let (ok, log) = j.python(PYHANKO_SIGN, &[&src, &signed, &key, &cert, &ca]);
        assert!(ok, "{log}");
        let bb = std::fs::read(&signed).unwrap();
        let lta = f.extend(&bb, None, Level::BLta).unwrap();
        assert_eq!(lta.added.len(), 3, "{:?}", lta.added);
        assert!(lta.output.starts_with(&bb));
        assert_validation_data(&dss(&lta.output), &f);
        judge(&j, &f, &lta.output, true);
        let renewed = f.extend(&lta.output, None, Level::BLta).unwrap();
        judge(&j, &f, &renewed.output, true);
    }

    #[test]
    fn refusals() {
        let f = TestPki::new();
        let unsigned = pdf();
        assert_eq!(
            f.extend(&unsigned, None, Level::BLt),
            Err(AdesError::InvalidDocument(
                "the PDF holds no signature to extend".into()
            ))
        );
        // A PDF whose only signature is a document time-stamp.
        let stamped = {
            let limits = Limits::default();
            let mut state = pdf::read(&unsigned, &limits).unwrap();
            let mut bytes = unsigned.clone();
            pades::add_document_time_stamp(&mut bytes, &mut state, &f, HashAlgorithm::Sha256)
                .unwrap();
            bytes
        };
        assert_eq!(
            f.extend(&stamped, None, Level::BLt),
            Err(AdesError::InvalidDocument(
                "the PDF holds document time-stamps but no signature to extend".into()
            ))
        );
        let mut encrypted = lopdf::Document::load_mem(&unsigned).unwrap();
        encrypted.trailer.set(
            "Encrypt",
            lopdf::dictionary! { "Filter" => "Standard", "V" => 1, "R" => 2 },
        );
        let mut bytes = Vec::new();
        encrypted.save_to(&mut bytes).unwrap();
        assert_eq!(
            f.extend(&bytes, None, Level::BLt),
            Err(AdesError::InvalidDocument(
                "the PDF is encrypted: encrypted PDFs can be neither signed nor extended; remove the encryption first".into()
            ))
        );
        let bb = f.make(Format::Pades, Level::BB, Envelope::Certification, &unsigned);
        assert!(matches!(
            f.extend(&bb[..bb.len() - 20], None, Level::BT),
            Err(AdesError::InvalidDocument(_))
        ));
    }
}
