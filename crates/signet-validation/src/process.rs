//! The EN 319 102-1 validation process over format evidence: basic validation (§5.3), with
//! time (§5.5, time-stamps as proofs of existence) and long-term (§5.6, archive time-stamps
//! carrying older proofs past certificate expiry).
//!
//! The checks run in the standard's order and the first failing one decides the indication,
//! so that two files broken the same way get the same answer: format, signing certificate,
//! signed data found, digests (HASH_FAILURE), signature value (SIG_CRYPTO_FAILURE), signing
//! certificate reference, certificate path, validity against the best signature time,
//! revocation (REVOKED / REVOKED_NO_POE / TRY_LATER), then the baseline constraints.

use std::time::Duration;

use signet_ades::{Format, Level, ValidationData};
use signet_core::HashAlgorithm;
use time::OffsetDateTime;

use crate::trust::TrustAnchors;
use crate::x509::{self, ChainContext, ChainError, ChainValidation, RevocationStatus};
use crate::{
    CertificateReport, Check, Indication, SignatureEvidence, SignatureReport, SubIndication,
    TimestampEvidence, TimestampKind, TimestampReport, TrustListInfo,
};

/// What a validation is done with (EN 319 102-1 §5.1.2 inputs, and Signet's policy).
pub struct Options<'a> {
    pub anchors: &'a TrustAnchors,
    /// The trusted lists the anchors came from, for the report.
    pub trusted_lists: &'a [TrustListInfo],
    /// The validation time: now, or a time in the past to validate at.
    pub validation_time: OffsetDateTime,
    /// Fetches validation data the signature lacks (issuer certificates, CRLs, OCSP); `None`
    /// validates with the signature's own data only.
    pub fetcher: Option<&'a dyn ValidationData>,
    pub limits: crate::Limits,
    /// Revocation freshness (EN 319 102-1 §5.2.5): revocation data issued longer than this
    /// before the best signature time does not prove the certificate was unrevoked then.
    pub max_revocation_age: Duration,
}

/// Signet's default policy's name, in every report.
pub const POLICY: &str = "Signet default: EN 319 102-1 with the baseline constraints of EN 319 122-1, EN 319 142-1, EN 319 132-1 and TS 119 182-1; SHA-1 refused; revocation data at most 24 hours older than the best signature time";

/// A sub-process's verdict: the indication and why.
struct Verdict {
    indication: Indication,
    sub: Option<SubIndication>,
    reason: String,
}

fn failed(sub: SubIndication, reason: impl Into<String>) -> Verdict {
    Verdict {
        indication: Indication::TotalFailed,
        sub: Some(sub),
        reason: reason.into(),
    }
}

fn indeterminate(sub: SubIndication, reason: impl Into<String>) -> Verdict {
    Verdict {
        indication: Indication::Indeterminate,
        sub: Some(sub),
        reason: reason.into(),
    }
}

fn check_reason(check: &Check) -> Option<&str> {
    match check {
        Check::Passed => None,
        Check::Failed(r) | Check::NotChecked(r) => Some(r),
    }
}

/// Validates the signatures a reader found.
pub fn signatures(evidence: Vec<SignatureEvidence>, options: &Options<'_>) -> Vec<SignatureReport> {
    evidence
        .into_iter()
        .map(|ev| signature(ev, options))
        .collect()
}

/// A time-stamp judged, with the time it proves.
struct JudgedTimestamp {
    report: TimestampReport,
    kind: TimestampKind,
    /// `Some(genTime)` when the time-stamp passed and so proves existence at that time.
    proves: Option<OffsetDateTime>,
}

fn signature(ev: SignatureEvidence, options: &Options<'_>) -> SignatureReport {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut infos = Vec::new();

    let timestamps = judge_timestamps(&ev, options, &mut infos);
    let best_signature_time = timestamps
        .iter()
        .filter(|t| matches!(t.kind, TimestampKind::Signature | TimestampKind::Archive))
        .filter_map(|t| t.proves)
        .min()
        .unwrap_or(options.validation_time);
    for t in &timestamps {
        if t.proves.is_none() && t.kind != TimestampKind::Content {
            warnings.push(format!(
                "{} time-stamp {} did not pass: {}",
                kind_name(t.kind),
                t.report.id,
                t.report.errors.join("; ")
            ));
        }
    }

    // The chain is built even when an earlier check decides the indication: the report shows
    // it and the level reached is structural.
    let chain = ev
        .signing_certificate
        .as_deref()
        .filter(|_| ev.format_error.is_none())
        .map(|signer| signer_chain(&ev, signer, options, None));
    let chain_reports = chain.as_ref().map(certificate_reports).unwrap_or_default();
    if let Some(chain) = &chain {
        note_fetched(chain, &mut infos);
    }
    // A content time-stamp proves the signature was made after it (EN 319 102-1 §5.3.4).
    let made_after = timestamps
        .iter()
        .filter(|t| t.kind == TimestampKind::Content)
        .filter_map(|t| t.proves)
        .max();
    let verdict = basic(
        &ev,
        chain.as_ref(),
        best_signature_time,
        made_after,
        options,
    );
    if let Some(claimed) = ev.claimed_signing_time
        && claimed > best_signature_time + time::Duration::minutes(5)
        && best_signature_time < options.validation_time
    {
        warnings.push(format!(
            "the claimed signing time {} is after the time-stamp that proves the signature existed at {}",
            rfc3339(claimed),
            rfc3339(best_signature_time)
        ));
    }
    let level = achieved_level(&ev, &timestamps, &chain_reports);
    if ev.covers_whole_document == Some(false) {
        // Validation data and document time-stamps are the expected later updates of a B-LT
        // or B-LTA; anything else added after signing deserves the user's eye.
        let long_term = ev.has_validation_data
            || ev
                .timestamps
                .iter()
                .any(|t| t.kind == TimestampKind::Archive);
        if long_term {
            infos.push(
                "incremental updates follow the signed revision (validation data, document time-stamps); the signature does not cover them"
                    .into(),
            );
        } else {
            warnings.push(
                "the signature covers an earlier revision of the PDF; later incremental updates are not signed by it"
                    .into(),
            );
        }
    }

    let (indication, sub_indication) = match verdict {
        Some(v) => {
            errors.push(v.reason);
            (v.indication, v.sub)
        }
        None => (Indication::TotalPassed, None),
    };
    SignatureReport {
        indication,
        sub_indication,
        level,
        best_signature_time,
        chain: chain_reports,
        timestamps: timestamps.into_iter().map(|t| t.report).collect(),
        errors,
        warnings,
        infos,
        evidence: ev,
    }
}

/// EN 319 102-1 §5.3 with the best signature time of §5.5: the first failing check decides.
fn basic(
    ev: &SignatureEvidence,
    chain: Option<&ChainValidation>,
    best_signature_time: OffsetDateTime,
    made_after: Option<OffsetDateTime>,
    options: &Options<'_>,
) -> Option<Verdict> {
    if let Some(e) = &ev.format_error {
        return Some(failed(SubIndication::FormatFailure, e.clone()));
    }
    let Some(chain) = chain else {
        return Some(indeterminate(
            SubIndication::NoSigningCertificateFound,
            "the signature does not contain or identify its signing certificate",
        ));
    };
    for object in &ev.signed_data {
        if let Some(r) = check_reason(&object.found) {
            return Some(indeterminate(
                SubIndication::SignedDataNotFound,
                format!("signed data {}: {r}", object.name),
            ));
        }
    }
    for object in &ev.signed_data {
        if let Check::Failed(r) = &object.intact {
            return Some(failed(
                SubIndication::HashFailure,
                format!("signed data {}: {r}", object.name),
            ));
        }
    }
    match &ev.signature_value {
        Check::Passed => {}
        Check::Failed(r) => return Some(failed(SubIndication::SigCryptoFailure, r.clone())),
        Check::NotChecked(r) => {
            return Some(indeterminate(
                SubIndication::SigCryptoFailure,
                format!("the signature value could not be checked: {r}"),
            ));
        }
    }
    if let Check::Failed(r) = &ev.signing_certificate_reference
        && !r.starts_with("no ")
    {
        return Some(indeterminate(
            SubIndication::NoSigningCertificateFound,
            format!("the signed reference to the signing certificate does not match it: {r}"),
        ));
    }

    if let Some(e) = &chain.error {
        return Some(match e {
            ChainError::NoChain(r) => indeterminate(
                SubIndication::NoCertificateChainFound,
                format!("no certificate chain to a trust anchor: {r}"),
            ),
            ChainError::Constraints(r) => indeterminate(
                SubIndication::ChainConstraintsFailure,
                format!("the certificate chain breaks a constraint: {r}"),
            ),
            ChainError::Malformed(r) => indeterminate(
                SubIndication::CertificateChainGeneralFailure,
                format!("a certificate of the chain cannot be read: {r}"),
            ),
        });
    }
    if let Some(v) = chain_at(chain, made_after, options, best_signature_time) {
        return Some(v);
    }
    if !ev.constraint_failures.is_empty() {
        return Some(indeterminate(
            SubIndication::SigConstraintsFailure,
            format!(
                "not a baseline signature: {}",
                ev.constraint_failures.join("; ")
            ),
        ));
    }
    None
}

/// The signer's chain, from everything the signature and its time-stamps carry.
fn signer_chain(
    ev: &SignatureEvidence,
    certificate: &[u8],
    options: &Options<'_>,
    extra: Option<&[Vec<u8>]>,
) -> ChainValidation {
    let mut pool = ev.certificates.clone();
    for t in &ev.timestamps {
        pool.extend(t.certificates.iter().cloned());
    }
    if let Some(extra) = extra {
        pool.extend(extra.iter().cloned());
    }
    x509::validate_chain(
        certificate,
        &ChainContext {
            pool: &pool,
            anchors: options.anchors,
            crls: &ev.crls,
            ocsp: &ev.ocsp_responses,
            fetcher: options.fetcher,
            at: options.validation_time,
        },
    )
}

fn note_fetched(chain: &ChainValidation, infos: &mut Vec<String>) {
    let (c, r, o) = (
        chain.fetched_certificates.len(),
        chain.fetched_crls.len(),
        chain.fetched_ocsp.len(),
    );
    if c + r + o > 0 {
        infos.push(format!(
            "fetched validation data the signature lacks: {c} certificate(s), {r} CRL(s), {o} OCSP response(s)"
        ));
    }
}

/// Validity and revocation of every certificate of the chain at the best signature time
/// (EN 319 102-1 §5.2.6 with §5.5.4: a proof of existence before expiry or revocation keeps
/// the signature valid).
fn chain_at(
    chain: &ChainValidation,
    made_after: Option<OffsetDateTime>,
    options: &Options<'_>,
    poe: OffsetDateTime,
) -> Option<Verdict> {
    for (i, cert) in chain.chain.iter().enumerate() {
        let who = if i == 0 {
            "the signing certificate".to_string()
        } else {
            format!("the CA certificate {}", cert.subject)
        };
        if cert.is_anchor {
            continue;
        }
        if poe < cert.not_before {
            return Some(failed(
                SubIndication::NotYetValid,
                format!(
                    "{who} is valid only from {}, after the signature time {}",
                    rfc3339(cert.not_before),
                    rfc3339(poe)
                ),
            ));
        }
        if i == 0
            && let Some(after) = made_after.filter(|t| *t > cert.not_after)
        {
            return Some(failed(
                SubIndication::Expired,
                format!(
                    "{who} expired at {}, before a content time-stamp at {} that the signature was made after",
                    rfc3339(cert.not_after),
                    rfc3339(after)
                ),
            ));
        }
        if poe > cert.not_after {
            return Some(indeterminate(
                SubIndication::OutOfBoundsNoPoe,
                format!(
                    "{who} expired at {} and no proof shows the signature existed before that (best signature time {})",
                    rfc3339(cert.not_after),
                    rfc3339(poe)
                ),
            ));
        }
        match &cert.revocation {
            RevocationStatus::Anchor => {}
            RevocationStatus::Revoked { time, reason, .. } => {
                if *time > poe {
                    continue;
                }
                let why = reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default();
                if i > 0 {
                    return Some(indeterminate(
                        SubIndication::RevokedCaNoPoe,
                        format!(
                            "{who} was revoked at {}{why}, before the best signature time {}",
                            rfc3339(*time),
                            rfc3339(poe)
                        ),
                    ));
                }
                // Only a content time-stamp proves when the signature was made at the earliest;
                // the claimed signing time is the signer's word.
                if let Some(after) = made_after.filter(|t| t >= time) {
                    return Some(failed(
                        SubIndication::Revoked,
                        format!(
                            "{who} was revoked at {}{why}, before a content time-stamp at {} that the signature was made after",
                            rfc3339(*time),
                            rfc3339(after)
                        ),
                    ));
                }
                return Some(indeterminate(
                    SubIndication::RevokedNoPoe,
                    format!(
                        "{who} was revoked at {}{why} and no proof shows the signature existed before that",
                        rfc3339(*time)
                    ),
                ));
            }
            RevocationStatus::Good { this_update, .. } => {
                let age = options.max_revocation_age;
                if *this_update + age < poe {
                    return Some(indeterminate(
                        SubIndication::TryLater,
                        format!(
                            "the revocation data of {who} was issued at {}, too long before the best signature time {}: fresher data is needed",
                            rfc3339(*this_update),
                            rfc3339(poe)
                        ),
                    ));
                }
            }
            RevocationStatus::Unknown(r) => {
                return Some(indeterminate(
                    SubIndication::TryLater,
                    format!("the revocation status of {who} is unknown: {r}"),
                ));
            }
        }
    }
    None
}

fn certificate_reports(chain: &ChainValidation) -> Vec<CertificateReport> {
    chain
        .chain
        .iter()
        .map(|c| {
            let (revoked_at, source) = match &c.revocation {
                RevocationStatus::Anchor => (None, "trust anchor".to_string()),
                RevocationStatus::Good {
                    source, fetched, ..
                } => (None, source_name(*source, *fetched)),
                RevocationStatus::Revoked {
                    source,
                    time,
                    fetched,
                    ..
                } => (Some(*time), source_name(*source, *fetched)),
                RevocationStatus::Unknown(_) => (None, "none".to_string()),
            };
            CertificateReport {
                der: c.der.clone(),
                subject: c.subject.clone(),
                issuer: c.issuer.clone(),
                serial: c.serial.clone(),
                not_before: c.not_before,
                not_after: c.not_after,
                trust_anchor: c.is_anchor,
                revoked_at,
                revocation_source: source,
            }
        })
        .collect()
}

fn source_name(source: x509::RevocationSource, fetched: bool) -> String {
    let name = match source {
        x509::RevocationSource::Crl => "CRL",
        x509::RevocationSource::Ocsp => "OCSP",
    };
    if fetched {
        format!("{name} (fetched)")
    } else {
        name.to_string()
    }
}

fn kind_name(kind: TimestampKind) -> &'static str {
    match kind {
        TimestampKind::Signature => "signature",
        TimestampKind::Content => "content",
        TimestampKind::Archive => "archive",
    }
}

/// Judges every time-stamp, latest archive time-stamp first: each valid archive time-stamp
/// is a proof of existence for everything before it, so an earlier time-stamp whose TSA
/// certificate has expired since still counts when a later one was made before the expiry.
fn judge_timestamps(
    ev: &SignatureEvidence,
    options: &Options<'_>,
    infos: &mut Vec<String>,
) -> Vec<JudgedTimestamp> {
    let mut order: Vec<usize> = (0..ev.timestamps.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(ev.timestamps[i].time));
    let mut judged: Vec<Option<JudgedTimestamp>> = ev.timestamps.iter().map(|_| None).collect();
    // The earliest time at which a later valid archive time-stamp proves the earlier ones.
    let mut archive_poe: Option<OffsetDateTime> = None;
    for i in order {
        let t = &ev.timestamps[i];
        let poe = archive_poe
            .filter(|p| t.time.is_some_and(|gen_time| gen_time <= *p))
            .unwrap_or(options.validation_time);
        let j = judge_timestamp(t, ev, options, poe, infos);
        if t.kind == TimestampKind::Archive
            && let Some(time) = j.proves
        {
            archive_poe = Some(archive_poe.map_or(time, |p| p.min(time)));
        }
        judged[i] = Some(j);
    }
    judged.into_iter().flatten().collect()
}

fn judge_timestamp(
    t: &TimestampEvidence,
    ev: &SignatureEvidence,
    options: &Options<'_>,
    poe: OffsetDateTime,
    infos: &mut Vec<String>,
) -> JudgedTimestamp {
    let id = format!(
        "T-{}",
        data_encoding::HEXUPPER.encode(&HashAlgorithm::Sha256.digest(&t.token))
    );
    let mut report = TimestampReport {
        id,
        kind: t.kind,
        time: t.time,
        indication: Indication::TotalPassed,
        sub_indication: None,
        tsa: None,
        errors: Vec::new(),
    };
    let verdict = timestamp_verdict(t, ev, options, poe, &mut report, infos);
    if let Some(v) = verdict {
        report.indication = v.indication;
        report.sub_indication = v.sub;
        report.errors.push(v.reason);
    }
    let proves = (report.indication == Indication::TotalPassed)
        .then_some(t.time)
        .flatten();
    JudgedTimestamp {
        report,
        kind: t.kind,
        proves,
    }
}

fn timestamp_verdict(
    t: &TimestampEvidence,
    ev: &SignatureEvidence,
    options: &Options<'_>,
    poe: OffsetDateTime,
    report: &mut TimestampReport,
    infos: &mut Vec<String>,
) -> Option<Verdict> {
    let Some(gen_time) = t.time else {
        let why = check_reason(&t.signature_value).unwrap_or("unreadable token");
        return Some(failed(
            SubIndication::FormatFailure,
            format!("the time-stamp token cannot be read: {why}"),
        ));
    };
    if let Check::Failed(r) = &t.intact {
        return Some(failed(SubIndication::HashFailure, r.clone()));
    }
    if let Some(r) = check_reason(&t.signature_value) {
        return Some(failed(SubIndication::SigCryptoFailure, r.to_string()));
    }
    let Some(tsa) = &t.tsa_certificate else {
        return Some(indeterminate(
            SubIndication::NoSigningCertificateFound,
            "the time-stamp does not identify the TSA's certificate",
        ));
    };
    let chain = signer_chain(ev, tsa, options, Some(&t.certificates));
    note_fetched(&chain, infos);
    report.tsa = chain.chain.first().map(|c| c.subject.clone());
    if let Some(e) = &chain.error {
        let reason = match e {
            ChainError::NoChain(r) | ChainError::Constraints(r) | ChainError::Malformed(r) => r,
        };
        return Some(indeterminate(
            SubIndication::NoCertificateChainFound,
            format!("the TSA certificate has no valid chain to a trust anchor: {reason}"),
        ));
    }
    for cert in chain.chain.iter().filter(|c| !c.is_anchor) {
        if gen_time < cert.not_before || gen_time > cert.not_after {
            return Some(failed(
                SubIndication::NotYetValid,
                format!(
                    "the TSA certificate {} was not valid at the time-stamp's time {}",
                    cert.subject,
                    rfc3339(gen_time)
                ),
            ));
        }
        if poe > cert.not_after {
            return Some(indeterminate(
                SubIndication::OutOfBoundsNoPoe,
                format!(
                    "the TSA certificate {} expired at {} and no later archive time-stamp proves this time-stamp existed before",
                    cert.subject,
                    rfc3339(cert.not_after)
                ),
            ));
        }
        if let RevocationStatus::Revoked { time, .. } = &cert.revocation
            && *time <= gen_time
        {
            return Some(indeterminate(
                SubIndication::RevokedNoPoe,
                format!(
                    "the TSA certificate {} was revoked at {}, before the time-stamp",
                    cert.subject,
                    rfc3339(*time)
                ),
            ));
        }
    }
    None
}

/// The baseline level the evidence actually reaches (EN 319 1x2-1 §6): B-B needs the signing
/// certificate reference and the baseline attributes; B-T a valid signature time-stamp (for
/// PAdES, a document time-stamp over the signature also does); B-LT the validation data of
/// the signer's chain inside the signature; B-LTA an archive time-stamp over it all.
fn achieved_level(
    ev: &SignatureEvidence,
    timestamps: &[JudgedTimestamp],
    chain: &[CertificateReport],
) -> Option<Level> {
    if ev.format_error.is_some()
        || ev.signing_certificate.is_none()
        || !ev.signing_certificate_reference.passed()
        || !ev.constraint_failures.is_empty()
    {
        return None;
    }
    let valid = |kind: TimestampKind| {
        timestamps
            .iter()
            .filter(|t| t.kind == kind && t.proves.is_some())
            .count()
    };
    let (signature_ts, archive_ts) = (
        valid(TimestampKind::Signature),
        valid(TimestampKind::Archive),
    );
    let timed = signature_ts > 0 || (ev.format == Format::Pades && archive_ts > 0);
    if !timed {
        return Some(Level::BB);
    }
    let embedded = |der: &[u8]| ev.certificates.iter().any(|c| c.as_slice() == der);
    let complete = ev.has_validation_data
        && !chain.is_empty()
        && chain.iter().all(|c| {
            c.trust_anchor
                || (embedded(&c.der)
                    && !c.revocation_source.ends_with("(fetched)")
                    && c.revocation_source != "none")
        });
    if !complete {
        return Some(Level::BT);
    }
    // PAdES: a document time-stamp that only gave B-T (no signature time-stamp) is not also
    // the archive time-stamp over the DSS.
    let archive_beyond_t = if ev.format == Format::Pades && signature_ts == 0 {
        archive_ts >= 2
    } else {
        archive_ts >= 1
    };
    Some(if archive_beyond_t {
        Level::BLta
    } else {
        Level::BLt
    })
}

/// RFC 3339 in UTC, whole seconds.
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}
