//! The ETSI TS 119 102-2 v1.4.1 validation report (namespace `http://uri.etsi.org/19102/v1.4.1#`,
//! prefix `vr`), valid against the official XSD.
//!
//! What goes where, since the schema leaves many choices open:
//!
//! * One `SignatureValidationReport` per signature. `SignatureIdentifier/@id` is the signature's
//!   id (`S-` + SHA-256 of the signature value), and its `DigestAlgAndValue` is that SHA-256,
//!   read back from the id. The schema demands at least one report: a file without signatures
//!   gets one with only TOTAL-FAILED and the message that no signature was found.
//! * `ValidationConstraintsEvaluationReport/SignatureValidationPolicy` names the validation
//!   policy in `PolicyName`; Signet's policy has no identifier or hash, so its
//!   `SignaturePolicyIdentifier` is `XAdES:SignaturePolicyImplied`.
//! * `ValidationTimeInfo`: the validation time, and the best signature time as a POE of type
//!   `urn:etsi:019102:poetype:validation` (Signet takes no POE as input, so `provided` never
//!   applies), with `POEObject` pointing at the time-stamp that gave it, if one did.
//! * `SignersDocument`: the SHA-256 of the validated file, referring to a `signedData` object.
//! * `SignatureAttributes`: the claimed `SigningTime`, `SigningCertificate` when its signed
//!   reference was checked, and each time-stamp as `SignatureTimeStamp`,
//!   `AllDataObjectsTimeStamp`, `ArchiveTimeStamp` or (PAdES) `DocTimeStamp`, referring to the
//!   time-stamp's object.
//! * `SignerInformation`: the signing certificate's object and its subject.
//! * `SignatureQuality`: the baseline level reached, as `urn:signet:validation:level:` followed
//!   by the ETSI level name (`urn:signet:validation:level:PAdES-BASELINE-LTA`); TS 119 102-2
//!   defines no URIs for baseline levels.
//! * `SignatureValidationProcess`: `urn:etsi:019102:validationprocess:LTA` for B-LTA, `:LTVM`
//!   when a signature or archive time-stamp is present, `:Basic` otherwise.
//! * `SignatureValidationStatus`: the main indication and sub-indication URIs; one
//!   `AssociatedValidationReportData` with the chain (`TrustAnchor`, `CertificateChain`), the
//!   time-stamps and revocation data as `RelatedValidationObject`s and the errors, warnings and
//!   infos as `ReportData` of type `urn:signet:validation:message:error` (`:warning`,
//!   `:info`); one more per revoked certificate with its `RevocationStatusInformation`.
//! * `SignatureValidationObjects`: every certificate of the chains (`C-` + SHA-256 of the DER),
//!   the signing certificate when it has no chain, each CRL and OCSP response the signature
//!   carries (`R-`), each time-stamp (`T-`, with a `POEProvisioning` for the signature when
//!   it passed and its own `ValidationReport` with status and TSA), the validated file (`D-`)
//!   and each trusted list used (`TL-1`, ...). The trusted lists are objects of type
//!   `urn:etsi:019102:validationObject:other` (the TS defines no trusted-list type), whose
//!   representation holds the list's `tsl:SchemeTerritory`, `tsl:TSLSequenceNumber`,
//!   `tsl:ListIssueDateTime` and `tsl:NextUpdate` (TS 119 612 elements) in `direct`, its
//!   SHA-256 in `DigestAlgAndValue` and where it was read from in `URI`.
//! * `SignatureValidator`: `DigitalId/tsl:Other` with "Signet <version>".
//!
//! Text is escaped for XML; characters XML 1.0 cannot carry (control characters from a hostile
//! certificate) are written as `\u{..}`. XSD 1.0 has no year 0, so a time before year 1 (only
//! hostile input has one) is written as `0001-01-01T00:00:00Z`.

use std::collections::{HashMap, HashSet};

use data_encoding::{BASE64, HEXUPPER};
use signet_core::HashAlgorithm;
use signet_core::xmldsig::digest_uri;
use time::{OffsetDateTime, UtcOffset};

use crate::{
    Check, Format, Indication, Level, SignatureReport, SubIndication, TimestampEvidence,
    TimestampKind, TimestampReport, TrustListInfo, ValidationReport,
};

const NS_VR: &str = "http://uri.etsi.org/19102/v1.4.1#";
const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";
const NS_XADES: &str = "http://uri.etsi.org/01903/v1.3.2#";
const NS_TSL: &str = "http://uri.etsi.org/02231/v2#";

const OBJECT_CERTIFICATE: &str = "urn:etsi:019102:validationObject:certificate";
const OBJECT_CRL: &str = "urn:etsi:019102:validationObject:CRL";
const OBJECT_OCSP: &str = "urn:etsi:019102:validationObject:OCSPResponse";
const OBJECT_TIMESTAMP: &str = "urn:etsi:019102:validationObject:timestamp";
const OBJECT_SIGNED_DATA: &str = "urn:etsi:019102:validationObject:signedData";
const OBJECT_OTHER: &str = "urn:etsi:019102:validationObject:other";

const PROCESS_BASIC: &str = "urn:etsi:019102:validationprocess:Basic";
const PROCESS_LTVM: &str = "urn:etsi:019102:validationprocess:LTVM";
const PROCESS_LTA: &str = "urn:etsi:019102:validationprocess:LTA";

const POE_VALIDATION: &str = "urn:etsi:019102:poetype:validation";

const LEVEL_PREFIX: &str = "urn:signet:validation:level:";
const MESSAGE_ERROR: &str = "urn:signet:validation:message:error";
const MESSAGE_WARNING: &str = "urn:signet:validation:message:warning";
const MESSAGE_INFO: &str = "urn:signet:validation:message:info";

pub(super) fn write(report: &ValidationReport) -> String {
    let mut objects = Objects::default();
    let document = document_object(report, &mut objects);
    let mut used = HashSet::new();
    let plans: Vec<Plan<'_>> = report
        .signatures
        .iter()
        .map(|sig| plan(sig, &mut objects, &mut used))
        .collect();
    for (i, list) in report.trusted_lists.iter().enumerate() {
        objects.add(format!("TL-{}", i + 1), Object::TrustedList(list));
    }

    let mut w = Writer::default();
    w.out
        .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    w.start(
        "vr:ValidationReport",
        &[
            ("xmlns:vr", NS_VR),
            ("xmlns:ds", NS_DS),
            ("xmlns:XAdES", NS_XADES),
            ("xmlns:tsl", NS_TSL),
        ],
    );
    for plan in &plans {
        signature_report(&mut w, report, plan, document.as_deref());
    }
    if plans.is_empty() {
        w.start("vr:SignatureValidationReport", &[]);
        policy(&mut w, &report.policy);
        if let Some(document) = &document {
            signers_document(&mut w, report, document);
        }
        w.start("vr:SignatureValidationStatus", &[]);
        w.leaf("vr:MainIndication", &[], &Indication::TotalFailed.uri());
        report_data(
            &mut w,
            &ReportData {
                messages: vec![(MESSAGE_ERROR, "No signature found in the document")],
                ..ReportData::default()
            },
        );
        w.end("vr:SignatureValidationStatus");
        w.end("vr:SignatureValidationReport");
    }
    if !objects.list.is_empty() {
        w.start("vr:SignatureValidationObjects", &[]);
        for (id, object) in &objects.list {
            validation_object(&mut w, id, object, report);
        }
        w.end("vr:SignatureValidationObjects");
    }
    w.start("vr:SignatureValidator", &[]);
    w.start("vr:DigitalId", &[]);
    w.leaf("tsl:Other", &[], &super::validator());
    w.end("vr:DigitalId");
    w.end("vr:SignatureValidator");
    w.end("vr:ValidationReport");
    w.out
}

/// A validation object of the report, by what it represents.
enum Object<'a> {
    Document,
    Certificate(&'a [u8]),
    Crl(&'a [u8]),
    Ocsp(&'a [u8]),
    Timestamp {
        token: &'a [u8],
        report: &'a TimestampReport,
        /// The object of the TSA's certificate.
        tsa: Option<String>,
        /// SHA-256 of the values of the signatures it gives a POE for.
        signatures: Vec<Vec<u8>>,
    },
    TrustedList(&'a TrustListInfo),
}

/// The validation objects in the order they were first met; an object met again (a
/// certificate in two chains) keeps its first entry.
#[derive(Default)]
struct Objects<'a> {
    list: Vec<(String, Object<'a>)>,
    index: HashMap<String, usize>,
}

impl<'a> Objects<'a> {
    fn add(&mut self, id: String, object: Object<'a>) -> String {
        if !self.index.contains_key(&id) {
            self.index.insert(id.clone(), self.list.len());
            self.list.push((id.clone(), object));
        }
        id
    }

    fn certificate(&mut self, der: &'a [u8]) -> String {
        self.add(digest_id("C", der), Object::Certificate(der))
    }
}

/// What one signature's report refers to.
struct Plan<'a> {
    sig: &'a SignatureReport,
    id: String,
    /// SHA-256 of the signature value, from the id.
    digest: Option<Vec<u8>>,
    /// The objects of `sig.chain`, in its order.
    chain: Vec<String>,
    signer: Option<String>,
    /// The objects of `sig.timestamps`, in its order.
    timestamps: Vec<String>,
    revocation: Vec<String>,
}

fn plan<'a>(
    sig: &'a SignatureReport,
    objects: &mut Objects<'a>,
    used: &mut HashSet<String>,
) -> Plan<'a> {
    let digest = signature_digest(&sig.evidence.id);
    let chain: Vec<String> = sig
        .chain
        .iter()
        .map(|c| objects.certificate(&c.der))
        .collect();
    let signer = chain.first().cloned().or_else(|| {
        sig.evidence
            .signing_certificate
            .as_deref()
            .map(|der| objects.certificate(der))
    });
    let mut revocation = Vec::new();
    for crl in &sig.evidence.crls {
        revocation.push(objects.add(digest_id("R", crl), Object::Crl(crl)));
    }
    for ocsp in &sig.evidence.ocsp_responses {
        revocation.push(objects.add(digest_id("R", ocsp), Object::Ocsp(ocsp)));
    }
    let mut taken = vec![false; sig.evidence.timestamps.len()];
    let timestamps = sig
        .timestamps
        .iter()
        .enumerate()
        .map(|(i, ts)| {
            let evidence = token_of(&sig.evidence.timestamps, &mut taken, i, ts);
            let token = evidence.map(|e| e.token.as_slice()).unwrap_or_default();
            let id = if token.is_empty() {
                digest_id("T", ts.id.as_bytes())
            } else {
                digest_id("T", token)
            };
            let tsa = evidence
                .and_then(|e| e.tsa_certificate.as_deref())
                .map(|der| objects.certificate(der));
            let id = objects.add(
                id,
                Object::Timestamp {
                    token,
                    report: ts,
                    tsa,
                    signatures: Vec::new(),
                },
            );
            if let (Some(digest), Some(&at)) = (&digest, objects.index.get(&id))
                && let Some((_, Object::Timestamp { signatures, .. })) = objects.list.get_mut(at)
                && !signatures.contains(digest)
            {
                signatures.push(digest.clone());
            }
            id
        })
        .collect();
    Plan {
        sig,
        id: signature_xml_id(&sig.evidence.id, used),
        digest,
        chain,
        signer,
        timestamps,
        revocation,
    }
}

/// The token a time-stamp report is about: the evidence at the same position when it is of
/// the same kind, else the first unclaimed one of the same kind and time.
fn token_of<'a>(
    evidence: &'a [TimestampEvidence],
    taken: &mut [bool],
    i: usize,
    ts: &TimestampReport,
) -> Option<&'a TimestampEvidence> {
    let same = |e: &TimestampEvidence| e.kind == ts.kind;
    let at = match evidence.get(i) {
        Some(e) if same(e) && !taken.get(i).copied().unwrap_or(true) => Some(i),
        _ => evidence.iter().enumerate().position(|(j, e)| {
            same(e) && e.time == ts.time && !taken.get(j).copied().unwrap_or(true)
        }),
    }?;
    if let Some(t) = taken.get_mut(at) {
        *t = true;
    }
    evidence.get(at)
}

fn document_object(report: &ValidationReport, objects: &mut Objects<'_>) -> Option<String> {
    let digest = sha256_hex(&report.document_sha256)?;
    Some(objects.add(format!("D-{}", HEXUPPER.encode(&digest)), Object::Document))
}

fn signature_report(
    w: &mut Writer,
    report: &ValidationReport,
    plan: &Plan<'_>,
    document: Option<&str>,
) {
    let sig = plan.sig;
    w.start("vr:SignatureValidationReport", &[]);

    w.start("vr:SignatureIdentifier", &[("id", &plan.id)]);
    if let Some(digest) = &plan.digest {
        digest_alg_and_value(w, "vr:DigestAlgAndValue", digest);
    }
    w.leaf("vr:HashOnly", &[], "false");
    w.leaf("vr:DocHashOnly", &[], "false");
    w.end("vr:SignatureIdentifier");

    policy(w, &report.policy);

    w.start("vr:ValidationTimeInfo", &[]);
    w.leaf("vr:ValidationTime", &[], &xml_time(report.validation_time));
    w.start("vr:BestSignatureTime", &[]);
    w.leaf("vr:POETime", &[], &xml_time(sig.best_signature_time));
    w.leaf("vr:TypeOfProof", &[], POE_VALIDATION);
    let proof = sig.timestamps.iter().position(|ts| {
        ts.kind != TimestampKind::Content
            && ts.indication == Indication::TotalPassed
            && ts.time == Some(sig.best_signature_time)
    });
    if let Some(id) = proof.and_then(|i| plan.timestamps.get(i)) {
        w.empty("vr:POEObject", &[("VOReference", id)]);
    }
    w.end("vr:BestSignatureTime");
    w.end("vr:ValidationTimeInfo");

    if let Some(document) = document {
        signers_document(w, report, document);
    }

    signature_attributes(w, plan);

    if let Some(signer) = &plan.signer {
        w.start("vr:SignerInformation", &[]);
        w.empty("vr:SignerCertificate", &[("VOReference", signer)]);
        if let Some(subject) = super::signer(sig) {
            w.leaf("vr:Signer", &[], subject);
        }
        w.end("vr:SignerInformation");
    }

    if let Some(level) = sig.level {
        w.start("vr:SignatureQuality", &[]);
        w.leaf(
            "vr:SignatureQualityInformation",
            &[],
            &format!(
                "{LEVEL_PREFIX}{}",
                super::level_name(sig.evidence.format, level)
            ),
        );
        w.end("vr:SignatureQuality");
    }

    w.start("vr:SignatureValidationProcess", &[]);
    w.leaf("vr:SignatureValidationProcessID", &[], process(sig));
    w.end("vr:SignatureValidationProcess");

    w.start("vr:SignatureValidationStatus", &[]);
    status_indications(w, sig.indication, sig.sub_indication);
    let anchor = sig
        .chain
        .iter()
        .zip(&plan.chain)
        .rev()
        .find(|(c, _)| c.trust_anchor)
        .map(|(_, id)| id.as_str());
    let mut related: Vec<&str> = Vec::new();
    for id in plan.timestamps.iter().chain(&plan.revocation) {
        if !related.contains(&id.as_str()) {
            related.push(id);
        }
    }
    report_data(
        w,
        &ReportData {
            trust_anchor: anchor,
            chain: plan.chain.first().map(|signer| {
                let intermediates = sig
                    .chain
                    .iter()
                    .zip(&plan.chain)
                    .skip(1)
                    .filter(|(c, _)| !c.trust_anchor)
                    .map(|(_, id)| id.as_str())
                    .collect();
                (signer.as_str(), intermediates, anchor)
            }),
            related,
            messages: messages(&sig.errors, &sig.warnings, &sig.infos),
        },
    );
    for (cert, id) in sig.chain.iter().zip(&plan.chain) {
        if let Some(at) = cert.revoked_at {
            w.start("vr:AssociatedValidationReportData", &[]);
            w.start("vr:RevocationStatusInformation", &[]);
            w.empty("vr:ValidationObjectId", &[("VOReference", id)]);
            w.leaf("vr:RevocationTime", &[], &xml_time(at));
            w.end("vr:RevocationStatusInformation");
            w.end("vr:AssociatedValidationReportData");
        }
    }
    w.end("vr:SignatureValidationStatus");

    w.end("vr:SignatureValidationReport");
}

fn process(sig: &SignatureReport) -> &'static str {
    if sig.level == Some(Level::BLta) {
        PROCESS_LTA
    } else if sig
        .timestamps
        .iter()
        .any(|t| t.kind != TimestampKind::Content)
        || sig.level.is_some_and(|l| l >= Level::BT)
    {
        PROCESS_LTVM
    } else {
        PROCESS_BASIC
    }
}

fn policy(w: &mut Writer, name: &str) {
    w.start("vr:ValidationConstraintsEvaluationReport", &[]);
    w.start("vr:SignatureValidationPolicy", &[]);
    w.start("vr:SignaturePolicyIdentifier", &[]);
    w.empty("XAdES:SignaturePolicyImplied", &[]);
    w.end("vr:SignaturePolicyIdentifier");
    w.leaf("vr:PolicyName", &[], name);
    w.end("vr:SignatureValidationPolicy");
    w.end("vr:ValidationConstraintsEvaluationReport");
}

fn signers_document(w: &mut Writer, report: &ValidationReport, document: &str) {
    let Some(digest) = sha256_hex(&report.document_sha256) else {
        return;
    };
    w.start("vr:SignersDocument", &[]);
    digest_alg_and_value(w, "vr:DigestAlgAndValue", &digest);
    w.empty("vr:SignersDocumentRef", &[("VOReference", document)]);
    w.end("vr:SignersDocument");
}

fn signature_attributes(w: &mut Writer, plan: &Plan<'_>) {
    let sig = plan.sig;
    let signing_certificate = plan
        .signer
        .as_deref()
        .filter(|_| sig.evidence.signing_certificate_reference == Check::Passed);
    let timestamps: Vec<(&str, Option<&str>, &str, OffsetDateTime)> = sig
        .timestamps
        .iter()
        .zip(&plan.timestamps)
        .filter_map(|(ts, id)| {
            let (name, signed) = match (ts.kind, sig.evidence.format) {
                (TimestampKind::Content, _) => ("vr:AllDataObjectsTimeStamp", Some("true")),
                (TimestampKind::Signature, _) => ("vr:SignatureTimeStamp", Some("false")),
                (TimestampKind::Archive, Format::Pades) => ("vr:DocTimeStamp", None),
                (TimestampKind::Archive, _) => ("vr:ArchiveTimeStamp", Some("false")),
            };
            Some((name, signed, id.as_str(), ts.time?))
        })
        .collect();
    let claimed = sig.evidence.claimed_signing_time;
    if claimed.is_none() && signing_certificate.is_none() && timestamps.is_empty() {
        return;
    }
    w.start("vr:SignatureAttributes", &[]);
    if let Some(time) = claimed {
        w.start("vr:SigningTime", &[("Signed", "true")]);
        w.leaf("vr:Time", &[], &xml_time(time));
        w.end("vr:SigningTime");
    }
    if let Some(id) = signing_certificate {
        w.start("vr:SigningCertificate", &[("Signed", "true")]);
        w.empty("vr:AttributeObject", &[("VOReference", id)]);
        w.end("vr:SigningCertificate");
    }
    for (name, signed, id, time) in timestamps {
        let attrs: Vec<(&str, &str)> = signed.map(|s| ("Signed", s)).into_iter().collect();
        w.start(name, &attrs);
        w.empty("vr:AttributeObject", &[("VOReference", id)]);
        w.leaf("vr:TimeStampValue", &[], &xml_time(time));
        w.end(name);
    }
    w.end("vr:SignatureAttributes");
}

fn status_indications(w: &mut Writer, indication: Indication, sub: Option<SubIndication>) {
    w.leaf("vr:MainIndication", &[], &indication.uri());
    if let Some(sub) = sub {
        w.leaf("vr:SubIndication", &[], sub.uri());
    }
}

fn messages<'a>(
    errors: &'a [String],
    warnings: &'a [String],
    infos: &'a [String],
) -> Vec<(&'static str, &'a str)> {
    let tagged =
        |kind: &'static str, list: &'a [String]| list.iter().map(move |m| (kind, m.as_str()));
    tagged(MESSAGE_ERROR, errors)
        .chain(tagged(MESSAGE_WARNING, warnings))
        .chain(tagged(MESSAGE_INFO, infos))
        .collect()
}

/// One `AssociatedValidationReportData` (`ValidationReportDataType`), in the schema's order.
#[derive(Default)]
struct ReportData<'a> {
    trust_anchor: Option<&'a str>,
    /// Signing certificate, intermediates, trust anchor.
    chain: Option<(&'a str, Vec<&'a str>, Option<&'a str>)>,
    related: Vec<&'a str>,
    messages: Vec<(&'static str, &'a str)>,
}

fn report_data(w: &mut Writer, data: &ReportData<'_>) {
    if data.trust_anchor.is_none()
        && data.chain.is_none()
        && data.related.is_empty()
        && data.messages.is_empty()
    {
        return;
    }
    w.start("vr:AssociatedValidationReportData", &[]);
    if let Some(anchor) = data.trust_anchor {
        w.empty("vr:TrustAnchor", &[("VOReference", anchor)]);
    }
    if let Some((signer, intermediates, anchor)) = &data.chain {
        w.start("vr:CertificateChain", &[]);
        w.empty("vr:SigningCertificate", &[("VOReference", signer)]);
        for id in intermediates {
            w.empty("vr:IntermediateCertificate", &[("VOReference", id)]);
        }
        if let Some(anchor) = anchor {
            w.empty("vr:TrustAnchor", &[("VOReference", anchor)]);
        }
        w.end("vr:CertificateChain");
    }
    for id in &data.related {
        w.empty("vr:RelatedValidationObject", &[("VOReference", id)]);
    }
    if !data.messages.is_empty() {
        w.start("vr:AdditionalValidationReportData", &[]);
        for (kind, text) in &data.messages {
            w.start("vr:ReportData", &[]);
            w.leaf("vr:Type", &[], kind);
            w.leaf("vr:Value", &[], text);
            w.end("vr:ReportData");
        }
        w.end("vr:AdditionalValidationReportData");
    }
    w.end("vr:AssociatedValidationReportData");
}

fn validation_object(w: &mut Writer, id: &str, object: &Object<'_>, report: &ValidationReport) {
    w.start("vr:ValidationObject", &[("id", id)]);
    let base64 = |w: &mut Writer, kind: &str, der: &[u8]| {
        w.leaf("vr:ObjectType", &[], kind);
        w.start("vr:ValidationObjectRepresentation", &[]);
        w.leaf("vr:base64", &[], &BASE64.encode(der));
        w.end("vr:ValidationObjectRepresentation");
    };
    match object {
        Object::Certificate(der) => base64(w, OBJECT_CERTIFICATE, der),
        Object::Crl(der) => base64(w, OBJECT_CRL, der),
        Object::Ocsp(der) => base64(w, OBJECT_OCSP, der),
        Object::Document => {
            w.leaf("vr:ObjectType", &[], OBJECT_SIGNED_DATA);
            w.start("vr:ValidationObjectRepresentation", &[]);
            if let Some(digest) = sha256_hex(&report.document_sha256) {
                digest_alg_and_value(w, "vr:DigestAlgAndValue", &digest);
            }
            if let Some(name) = report.document_name.as_deref().filter(|n| !n.is_empty()) {
                w.leaf("vr:URI", &[], &uri(name));
            }
            w.end("vr:ValidationObjectRepresentation");
        }
        Object::Timestamp {
            token,
            report: ts,
            tsa,
            signatures,
        } => {
            w.leaf("vr:ObjectType", &[], OBJECT_TIMESTAMP);
            w.start("vr:ValidationObjectRepresentation", &[]);
            if token.is_empty() {
                w.empty("vr:direct", &[]);
            } else {
                w.leaf("vr:base64", &[], &BASE64.encode(token));
            }
            w.end("vr:ValidationObjectRepresentation");
            if let Some(time) = ts.time
                && ts.indication == Indication::TotalPassed
                && ts.kind != TimestampKind::Content
                && !signatures.is_empty()
            {
                w.start("vr:POEProvisioning", &[]);
                w.leaf("vr:POETime", &[], &xml_time(time));
                for digest in signatures {
                    w.start("vr:SignatureReference", &[]);
                    w.leaf("vr:DigestMethod", &[], digest_uri(HashAlgorithm::Sha256));
                    w.leaf("vr:DigestValue", &[], &BASE64.encode(digest));
                    w.end("vr:SignatureReference");
                }
                w.end("vr:POEProvisioning");
            }
            w.start("vr:ValidationReport", &[]);
            if let Some(tsa) = tsa {
                w.start("vr:SignerInformation", &[]);
                w.empty("vr:SignerCertificate", &[("VOReference", tsa)]);
                if let Some(name) = &ts.tsa {
                    w.leaf("vr:Signer", &[], name);
                }
                w.end("vr:SignerInformation");
            }
            w.start("vr:SignatureValidationStatus", &[]);
            status_indications(w, ts.indication, ts.sub_indication);
            report_data(
                w,
                &ReportData {
                    messages: messages(&ts.errors, &[], &[]),
                    ..ReportData::default()
                },
            );
            w.end("vr:SignatureValidationStatus");
            w.end("vr:ValidationReport");
        }
        Object::TrustedList(list) => {
            w.leaf("vr:ObjectType", &[], OBJECT_OTHER);
            w.start("vr:ValidationObjectRepresentation", &[]);
            w.start("vr:direct", &[]);
            w.leaf("tsl:SchemeTerritory", &[], &list.territory);
            w.leaf(
                "tsl:TSLSequenceNumber",
                &[],
                &list.sequence_number.to_string(),
            );
            w.leaf("tsl:ListIssueDateTime", &[], &xml_time(list.issued));
            if let Some(next) = list.next_update {
                w.start("tsl:NextUpdate", &[]);
                w.leaf("tsl:dateTime", &[], &xml_time(next));
                w.end("tsl:NextUpdate");
            }
            w.end("vr:direct");
            if let Some(digest) = sha256_hex(&list.sha256) {
                digest_alg_and_value(w, "vr:DigestAlgAndValue", &digest);
            }
            if !list.source.is_empty() {
                w.leaf("vr:URI", &[], &uri(&list.source));
            }
            w.end("vr:ValidationObjectRepresentation");
        }
    }
    w.end("vr:ValidationObject");
}

fn digest_alg_and_value(w: &mut Writer, name: &str, sha256: &[u8]) {
    w.start(name, &[]);
    w.empty(
        "ds:DigestMethod",
        &[("Algorithm", digest_uri(HashAlgorithm::Sha256))],
    );
    w.leaf("ds:DigestValue", &[], &BASE64.encode(sha256));
    w.end(name);
}

/// `prefix-` and the upper-case hex SHA-256 of `bytes`: a stable `xs:ID`.
fn digest_id(prefix: &str, bytes: &[u8]) -> String {
    format!(
        "{prefix}-{}",
        HEXUPPER.encode(&HashAlgorithm::Sha256.digest(bytes))
    )
}

/// A 32-byte digest from 64 hex digits.
fn sha256_hex(hex: &str) -> Option<Vec<u8>> {
    let bytes = HEXUPPER.decode(hex.to_ascii_uppercase().as_bytes()).ok()?;
    (bytes.len() == 32).then_some(bytes)
}

/// The SHA-256 of the signature value that a signature id `S-<hex>` names.
fn signature_digest(id: &str) -> Option<Vec<u8>> {
    sha256_hex(id.strip_prefix("S-")?)
}

/// The signature's id as an `xs:ID` unique in the document: the id itself when it is an
/// `S-` name (what the readers make), else `S-` and the SHA-256 of it; `-2`, `-3`, ... for a
/// repeat.
fn signature_xml_id(id: &str, used: &mut HashSet<String>) -> String {
    let name_like = id.len() <= 200
        && id.starts_with("S-")
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let base = if name_like {
        id.to_owned()
    } else {
        digest_id("S", id.as_bytes())
    };
    let mut candidate = base.clone();
    let mut n = 1;
    while !used.insert(candidate.clone()) {
        n += 1;
        candidate = format!("{base}-{n}");
    }
    candidate
}

/// A time for `xs:dateTime`, which has no year 0 and so no time before year 1.
fn xml_time(t: OffsetDateTime) -> String {
    if t.to_offset(UtcOffset::UTC).year() < 1 {
        "0001-01-01T00:00:00Z".to_owned()
    } else {
        super::utc(t)
    }
}

/// Text as an `xs:anyURI`: what RFC 3986 allows stays (with `%XX` escapes kept), everything
/// else (spaces, non-ASCII, `#`, brackets, a stray `%`) is percent-encoded as UTF-8.
fn uri(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    for (i, &b) in bytes.iter().enumerate() {
        let escape_kept = b == b'%'
            && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        let plain = b.is_ascii_alphanumeric() || b"-._~:/?@!$&'()*+,;=".contains(&b);
        if plain || escape_kept {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Text escaped for XML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// An indented XML writer for the few shapes this report needs.
#[derive(Default)]
struct Writer {
    out: String,
    depth: usize,
}

impl Writer {
    fn open_tag(&mut self, name: &str, attrs: &[(&str, &str)]) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in attrs {
            self.out.push(' ');
            self.out.push_str(key);
            self.out.push_str("=\"");
            self.out.push_str(&escape(value));
            self.out.push('"');
        }
    }

    fn start(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.open_tag(name, attrs);
        self.out.push_str(">\n");
        self.depth += 1;
    }

    fn end(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    fn leaf(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.open_tag(name, attrs);
        self.out.push('>');
        self.out.push_str(&escape(text));
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.open_tag(name, attrs);
        self.out.push_str("/>\n");
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    use super::super::fixtures;
    use super::*;

    /// Validates `xml` against the TS 119 102-2 XSD with xmllint; skips with a note when
    /// xmllint is missing, unless SIGNET_REQUIRE_INTEROP=1.
    fn assert_schema_valid(name: &str, xml: &str) {
        let xsd = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/etsi-validation-report/TS119102-2-v141.xsd"
        );
        let child = Command::new("xmllint")
            .args(["--nonet", "--noout", "--schema", xsd, "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                assert!(
                    std::env::var("SIGNET_REQUIRE_INTEROP").as_deref() != Ok("1"),
                    "xmllint (libxml2-utils) is not on PATH and SIGNET_REQUIRE_INTEROP=1"
                );
                eprintln!("note: xmllint not on PATH; {name}: XSD validation skipped");
                return;
            }
            Err(e) => panic!("xmllint: {e}"),
        };
        child
            .stdin
            .take()
            .unwrap()
            .write_all(xml.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{name}: not valid against TS119102-2-v141.xsd:\n{}\n{xml}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Well-formed, and every `VOReference` names an `id` of the document.
    fn assert_references_resolve(name: &str, xml: &str) {
        let doc = roxmltree::Document::parse(xml).unwrap();
        let ids: HashSet<&str> = doc
            .descendants()
            .filter_map(|n| n.attribute("id"))
            .collect();
        for node in doc.descendants() {
            if let Some(refs) = node.attribute("VOReference") {
                for r in refs.split_whitespace() {
                    assert!(ids.contains(r), "{name}: VOReference {r} has no object");
                }
            }
        }
    }

    #[test]
    fn every_variant_is_valid_and_deterministic() {
        for (name, report) in fixtures::all() {
            let xml = write(&report);
            assert_eq!(xml, write(&report.clone()), "{name}: not deterministic");
            assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<vr:ValidationReport xmlns:vr=\"http://uri.etsi.org/19102/v1.4.1#\""));
            assert_references_resolve(name, &xml);
            assert_schema_valid(name, &xml);
        }
    }

    fn assert_contains(xml: &str, fragment: &str) {
        assert!(xml.contains(fragment), "missing:\n{fragment}\nin:\n{xml}");
    }

    fn hex_sha256(bytes: &[u8]) -> String {
        HEXUPPER.encode(&HashAlgorithm::Sha256.digest(bytes))
    }

    fn b64_sha256(bytes: &[u8]) -> String {
        BASE64.encode(&HashAlgorithm::Sha256.digest(bytes))
    }

    #[test]
    fn passed_lta() {
        let xml = write(&fixtures::passed_lta());
        let id = fixtures::signature_id(b"value-1");
        let signer = format!("C-{}", hex_sha256(b"signer-cert"));
        let ca = format!("C-{}", hex_sha256(b"ca-cert"));
        let root = format!("C-{}", hex_sha256(b"root-cert"));
        let tsa = format!("C-{}", hex_sha256(b"tsa-certificate"));
        let ts_sig = format!("T-{}", hex_sha256(b"token-sig"));
        let ts_doc = format!("T-{}", hex_sha256(b"token-doc"));
        let crl = format!("R-{}", hex_sha256(b"crl-1"));
        let ocsp = format!("R-{}", hex_sha256(b"ocsp-1"));
        let doc = "D-ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789";
        let sig_digest = b64_sha256(b"value-1");
        assert_contains(
            &xml,
            &format!(
                r#"    <vr:SignatureIdentifier id="{id}">
      <vr:DigestAlgAndValue>
        <ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
        <ds:DigestValue>{sig_digest}</ds:DigestValue>
      </vr:DigestAlgAndValue>
      <vr:HashOnly>false</vr:HashOnly>
      <vr:DocHashOnly>false</vr:DocHashOnly>
    </vr:SignatureIdentifier>
    <vr:ValidationConstraintsEvaluationReport>
      <vr:SignatureValidationPolicy>
        <vr:SignaturePolicyIdentifier>
          <XAdES:SignaturePolicyImplied/>
        </vr:SignaturePolicyIdentifier>
        <vr:PolicyName>Signet default (EN 319 102-1, baseline constraints)</vr:PolicyName>
      </vr:SignatureValidationPolicy>
    </vr:ValidationConstraintsEvaluationReport>
    <vr:ValidationTimeInfo>
      <vr:ValidationTime>2025-06-01T12:00:00Z</vr:ValidationTime>
      <vr:BestSignatureTime>
        <vr:POETime>2025-05-31T10:00:05.25Z</vr:POETime>
        <vr:TypeOfProof>urn:etsi:019102:poetype:validation</vr:TypeOfProof>
        <vr:POEObject VOReference="{ts_sig}"/>
      </vr:BestSignatureTime>
    </vr:ValidationTimeInfo>
    <vr:SignersDocument>
      <vr:DigestAlgAndValue>
        <ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
        <ds:DigestValue>q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k=</ds:DigestValue>
      </vr:DigestAlgAndValue>
      <vr:SignersDocumentRef VOReference="{doc}"/>
    </vr:SignersDocument>
    <vr:SignatureAttributes>
      <vr:SigningTime Signed="true">
        <vr:Time>2025-05-31T10:00:00Z</vr:Time>
      </vr:SigningTime>
      <vr:SigningCertificate Signed="true">
        <vr:AttributeObject VOReference="{signer}"/>
      </vr:SigningCertificate>
      <vr:SignatureTimeStamp Signed="false">
        <vr:AttributeObject VOReference="{ts_sig}"/>
        <vr:TimeStampValue>2025-05-31T10:00:05.25Z</vr:TimeStampValue>
      </vr:SignatureTimeStamp>
      <vr:DocTimeStamp>
        <vr:AttributeObject VOReference="{ts_doc}"/>
        <vr:TimeStampValue>2025-05-31T10:01:00Z</vr:TimeStampValue>
      </vr:DocTimeStamp>
    </vr:SignatureAttributes>
    <vr:SignerInformation>
      <vr:SignerCertificate VOReference="{signer}"/>
      <vr:Signer>CN=Alice,O=Example</vr:Signer>
    </vr:SignerInformation>
    <vr:SignatureQuality>
      <vr:SignatureQualityInformation>urn:signet:validation:level:PAdES-BASELINE-LTA</vr:SignatureQualityInformation>
    </vr:SignatureQuality>
    <vr:SignatureValidationProcess>
      <vr:SignatureValidationProcessID>urn:etsi:019102:validationprocess:LTA</vr:SignatureValidationProcessID>
    </vr:SignatureValidationProcess>
    <vr:SignatureValidationStatus>
      <vr:MainIndication>urn:etsi:019102:mainindication:total-passed</vr:MainIndication>
      <vr:AssociatedValidationReportData>
        <vr:TrustAnchor VOReference="{root}"/>
        <vr:CertificateChain>
          <vr:SigningCertificate VOReference="{signer}"/>
          <vr:IntermediateCertificate VOReference="{ca}"/>
          <vr:TrustAnchor VOReference="{root}"/>
        </vr:CertificateChain>
        <vr:RelatedValidationObject VOReference="{ts_sig}"/>
        <vr:RelatedValidationObject VOReference="{ts_doc}"/>
        <vr:RelatedValidationObject VOReference="{crl}"/>
        <vr:RelatedValidationObject VOReference="{ocsp}"/>
        <vr:AdditionalValidationReportData>
          <vr:ReportData>
            <vr:Type>urn:signet:validation:message:info</vr:Type>
            <vr:Value>OCSP response fetched for CN=Alice,O=Example</vr:Value>
          </vr:ReportData>
        </vr:AdditionalValidationReportData>
      </vr:AssociatedValidationReportData>
    </vr:SignatureValidationStatus>
  </vr:SignatureValidationReport>
  <vr:SignatureValidationObjects>
    <vr:ValidationObject id="{doc}">
      <vr:ObjectType>urn:etsi:019102:validationObject:signedData</vr:ObjectType>
      <vr:ValidationObjectRepresentation>
        <vr:DigestAlgAndValue>
          <ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
          <ds:DigestValue>q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k=</ds:DigestValue>
        </vr:DigestAlgAndValue>
        <vr:URI>contract.pdf</vr:URI>
      </vr:ValidationObjectRepresentation>
    </vr:ValidationObject>
    <vr:ValidationObject id="{signer}">
      <vr:ObjectType>urn:etsi:019102:validationObject:certificate</vr:ObjectType>
      <vr:ValidationObjectRepresentation>
        <vr:base64>{}</vr:base64>
      </vr:ValidationObjectRepresentation>
    </vr:ValidationObject>
"#,
                BASE64.encode(b"signer-cert")
            ),
        );
        assert_contains(
            &xml,
            &format!(
                r#"    <vr:ValidationObject id="{ts_sig}">
      <vr:ObjectType>urn:etsi:019102:validationObject:timestamp</vr:ObjectType>
      <vr:ValidationObjectRepresentation>
        <vr:base64>{}</vr:base64>
      </vr:ValidationObjectRepresentation>
      <vr:POEProvisioning>
        <vr:POETime>2025-05-31T10:00:05.25Z</vr:POETime>
        <vr:SignatureReference>
          <vr:DigestMethod>http://www.w3.org/2001/04/xmlenc#sha256</vr:DigestMethod>
          <vr:DigestValue>{sig_digest}</vr:DigestValue>
        </vr:SignatureReference>
      </vr:POEProvisioning>
      <vr:ValidationReport>
        <vr:SignerInformation>
          <vr:SignerCertificate VOReference="{tsa}"/>
          <vr:Signer>CN=Example TSA</vr:Signer>
        </vr:SignerInformation>
        <vr:SignatureValidationStatus>
          <vr:MainIndication>urn:etsi:019102:mainindication:total-passed</vr:MainIndication>
        </vr:SignatureValidationStatus>
      </vr:ValidationReport>
    </vr:ValidationObject>
"#,
                BASE64.encode(b"token-sig")
            ),
        );
        assert_contains(
            &xml,
            &format!(
                r#"    <vr:ValidationObject id="{crl}">
      <vr:ObjectType>urn:etsi:019102:validationObject:CRL</vr:ObjectType>"#
            ),
        );
        assert_contains(
            &xml,
            &format!(
                r#"    <vr:ValidationObject id="{ocsp}">
      <vr:ObjectType>urn:etsi:019102:validationObject:OCSPResponse</vr:ObjectType>"#
            ),
        );
        assert_contains(
            &xml,
            &format!(
                r#"    <vr:ValidationObject id="TL-1">
      <vr:ObjectType>urn:etsi:019102:validationObject:other</vr:ObjectType>
      <vr:ValidationObjectRepresentation>
        <vr:direct>
          <tsl:SchemeTerritory>EU</tsl:SchemeTerritory>
          <tsl:TSLSequenceNumber>342</tsl:TSLSequenceNumber>
          <tsl:ListIssueDateTime>2025-05-20T08:00:00Z</tsl:ListIssueDateTime>
          <tsl:NextUpdate>
            <tsl:dateTime>2025-11-20T08:00:00Z</tsl:dateTime>
          </tsl:NextUpdate>
        </vr:direct>
        <vr:DigestAlgAndValue>
          <ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
          <ds:DigestValue>{}</ds:DigestValue>
        </vr:DigestAlgAndValue>
        <vr:URI>https://ec.europa.eu/tools/lotl/eu-lotl.xml</vr:URI>
      </vr:ValidationObjectRepresentation>
    </vr:ValidationObject>
  </vr:SignatureValidationObjects>
  <vr:SignatureValidator>
    <vr:DigitalId>
      <tsl:Other>Signet {}</tsl:Other>
    </vr:DigitalId>
  </vr:SignatureValidator>
</vr:ValidationReport>
"#,
                BASE64.encode(
                    &HEXUPPER
                        .decode(fixtures::eu_list().sha256.as_bytes())
                        .unwrap()
                ),
                env!("CARGO_PKG_VERSION")
            ),
        );
        // Each certificate once, though the TSA signed two time-stamps.
        assert_eq!(
            xml.matches(&format!("<vr:ValidationObject id=\"{tsa}\">"))
                .count(),
            1
        );
    }

    #[test]
    fn failed_hash_escapes_text() {
        let xml = write(&fixtures::failed_hash());
        assert_contains(
            &xml,
            r#"      <vr:MainIndication>urn:etsi:019102:mainindication:total-failed</vr:MainIndication>
      <vr:SubIndication>urn:etsi:019102:subindication:HASH_FAILURE</vr:SubIndication>
"#,
        );
        assert_contains(
            &xml,
            "<vr:Signer>CN=Bob &amp; &lt;Partners&gt;,O=&quot;Quote&apos;s&quot;</vr:Signer>",
        );
        assert_contains(
            &xml,
            "<vr:Value>message-digest &lt;a&gt; &amp; &quot;b&quot; &apos;c&apos; does not match the content</vr:Value>",
        );
        assert_contains(
            &xml,
            "<vr:Type>urn:signet:validation:message:warning</vr:Type>\n            <vr:Value>content type is &lt;text/plain&gt; &amp; not id-data</vr:Value>",
        );
        assert_contains(&xml, "<vr:PolicyName>policy &lt;&amp;&gt;</vr:PolicyName>");
        assert_contains(
            &xml,
            "<vr:URI>R&amp;D%20%3Cdraft%3E%20%22v2%22.p7m</vr:URI>",
        );
        assert_contains(
            &xml,
            "<vr:SignatureValidationProcessID>urn:etsi:019102:validationprocess:Basic</vr:SignatureValidationProcessID>",
        );
        assert_contains(
            &xml,
            "<vr:SignatureQualityInformation>urn:signet:validation:level:CAdES-BASELINE-B</vr:SignatureQualityInformation>",
        );
        // A self-signed signer that is its own anchor: no intermediates.
        let cert = format!("C-{}", hex_sha256(b"signer-2"));
        assert_contains(
            &xml,
            &format!(
                r#"        <vr:TrustAnchor VOReference="{cert}"/>
        <vr:CertificateChain>
          <vr:SigningCertificate VOReference="{cert}"/>
          <vr:TrustAnchor VOReference="{cert}"/>
        </vr:CertificateChain>
"#
            ),
        );
        // No signing time, no time-stamp, unchecked certificate reference: no attributes.
        assert!(!xml.contains("<vr:SignatureAttributes>"));
        assert!(!xml.contains("<vr:POEObject"));
    }

    #[test]
    fn indeterminate_revoked() {
        let xml = write(&fixtures::indeterminate_revoked());
        let signer = format!("C-{}", hex_sha256(b"signer-3"));
        let ts = format!("T-{}", hex_sha256(b"token-3"));
        assert_contains(
            &xml,
            r#"      <vr:MainIndication>urn:etsi:019102:mainindication:indeterminate</vr:MainIndication>
      <vr:SubIndication>urn:etsi:019102:subindication:REVOKED_NO_POE</vr:SubIndication>
"#,
        );
        assert_contains(
            &xml,
            &format!(
                r#"      <vr:AssociatedValidationReportData>
        <vr:RevocationStatusInformation>
          <vr:ValidationObjectId VOReference="{signer}"/>
          <vr:RevocationTime>2025-03-15T00:00:00Z</vr:RevocationTime>
        </vr:RevocationStatusInformation>
      </vr:AssociatedValidationReportData>
    </vr:SignatureValidationStatus>
"#
            ),
        );
        // The failed time-stamp proves nothing: no POE from it, its own status says why.
        assert!(!xml.contains("<vr:POEProvisioning>"));
        assert!(!xml.contains("<vr:POEObject"));
        assert_contains(
            &xml,
            &format!(
                r#"      <vr:ValidationReport>
        <vr:SignerInformation>
          <vr:SignerCertificate VOReference="C-{}"/>
          <vr:Signer>CN=Other TSA</vr:Signer>
        </vr:SignerInformation>
        <vr:SignatureValidationStatus>
          <vr:MainIndication>urn:etsi:019102:mainindication:total-failed</vr:MainIndication>
          <vr:SubIndication>urn:etsi:019102:subindication:HASH_FAILURE</vr:SubIndication>
          <vr:AssociatedValidationReportData>
            <vr:AdditionalValidationReportData>
              <vr:ReportData>
                <vr:Type>urn:signet:validation:message:error</vr:Type>
                <vr:Value>message imprint does not match the signature value</vr:Value>
"#,
                hex_sha256(b"tsa-certificate")
            ),
        );
        assert_contains(&xml, &format!("<vr:ValidationObject id=\"{ts}\">"));
        assert_contains(
            &xml,
            "<vr:SignatureValidationProcessID>urn:etsi:019102:validationprocess:LTVM</vr:SignatureValidationProcessID>",
        );
        // No document name: the document object has only its digest.
        assert!(!xml.contains("<vr:URI>"));
    }

    #[test]
    fn no_signatures_still_has_one_report() {
        let xml = write(&fixtures::no_signatures());
        assert_eq!(xml.matches("<vr:SignatureValidationReport>").count(), 1);
        assert_contains(
            &xml,
            r#"    <vr:SignatureValidationStatus>
      <vr:MainIndication>urn:etsi:019102:mainindication:total-failed</vr:MainIndication>
      <vr:AssociatedValidationReportData>
        <vr:AdditionalValidationReportData>
          <vr:ReportData>
            <vr:Type>urn:signet:validation:message:error</vr:Type>
            <vr:Value>No signature found in the document</vr:Value>
"#,
        );
        assert!(!xml.contains("<vr:SignatureIdentifier"));
        assert_contains(&xml, "<vr:ValidationObject id=\"TL-1\">");
    }

    #[test]
    fn unreadable_signature_gets_a_name_and_clean_text() {
        let xml = write(&fixtures::two_signatures());
        assert_eq!(xml.matches("<vr:SignatureValidationReport>").count(), 2);
        let id = digest_id("S", b"not an id <x>");
        assert_contains(
            &xml,
            &format!(
                r#"    <vr:SignatureIdentifier id="{id}">
      <vr:HashOnly>false</vr:HashOnly>
"#
            ),
        );
        assert_contains(
            &xml,
            r#"<vr:Value>not a JWS:&#10;line two\u{1b}[31m\u{0}</vr:Value>"#,
        );
        assert_contains(
            &xml,
            r#"      <vr:MainIndication>urn:etsi:019102:mainindication:total-failed</vr:MainIndication>
      <vr:SubIndication>urn:etsi:019102:subindication:FORMAT_FAILURE</vr:SubIndication>
"#,
        );
    }

    #[test]
    fn ids_and_uris() {
        let mut used = HashSet::new();
        let id = fixtures::signature_id(b"v");
        assert_eq!(signature_xml_id(&id, &mut used), id);
        assert_eq!(signature_xml_id(&id, &mut used), format!("{id}-2"));
        assert_eq!(signature_xml_id(&id, &mut used), format!("{id}-3"));
        assert_eq!(
            signature_xml_id("C-1", &mut used),
            format!("S-{}", hex_sha256(b"C-1"))
        );
        assert_eq!(
            signature_digest(&id),
            Some(HashAlgorithm::Sha256.digest(b"v"))
        );
        assert_eq!(signature_digest("S-12"), None);
        assert_eq!(uri("a b%20c%zz#[é]"), "a%20b%20c%25zz%23%5B%C3%A9%5D");
        assert_eq!(uri("https://x.test/a?b=c&d=e"), "https://x.test/a?b=c&d=e");
        assert_eq!(
            xml_time(time::macros::datetime!(0000-06-01 00:00:00 UTC)),
            "0001-01-01T00:00:00Z"
        );
        assert_eq!(escape("\u{7}\u{FFFF}\r"), "\\u{7}\\u{ffff}&#13;");
    }

    #[test]
    fn hostile_times_and_names_stay_valid() {
        let mut report = fixtures::passed_lta();
        let sig = &mut report.signatures[0];
        sig.evidence.claimed_signing_time = Some(time::macros::datetime!(0000-01-01 00:00:00 UTC));
        sig.chain[0].subject = "CN=\u{1}\u{FFFE}\t".into();
        sig.timestamps[0].tsa = Some("CN=\u{b}".into());
        report.trusted_lists[0].source = "/etc/signet/lists/eu #1 [copy].xml".into();
        report.trusted_lists[0].sha256 = "not hex".into();
        report.document_sha256 = "short".into();
        let xml = write(&report);
        assert_contains(&xml, "<vr:Time>0001-01-01T00:00:00Z</vr:Time>");
        assert_contains(&xml, "<vr:Signer>CN=\\u{1}\\u{fffe}&#9;</vr:Signer>");
        assert_contains(
            &xml,
            "<vr:URI>/etc/signet/lists/eu%20%231%20%5Bcopy%5D.xml</vr:URI>",
        );
        assert!(!xml.contains("<vr:SignersDocument>"));
        assert_references_resolve("hostile", &xml);
        assert_schema_valid("hostile", &xml);
    }
}
