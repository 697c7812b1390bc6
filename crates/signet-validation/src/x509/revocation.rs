//! The revocation status of one certificate from every CRL and OCSP response at hand (those
//! of the signature, then fetched ones), fetching when none answers and fetching is allowed.
//!
//! When several answer: a revocation wins over "good" (revocation is final; an older "good"
//! does not contradict it), then OCSP over CRLs, then the newest (producedAt, or the CRL's
//! thisUpdate).

use super::cert::Cert;
use super::fetch::Fetched;
use super::{ChainContext, RevocationSource, RevocationStatus, crl, ocsp};

/// Most reasons quoted in an `Unknown` status.
const MAX_REASONS: usize = 4;
pub(crate) const NO_DATA: &str = "no revocation data in the signature and fetching not allowed";

/// The status of `cert`, issued by `issuer`.
pub(crate) fn status(
    cert: &Cert,
    issuer: &Cert,
    ctx: &ChainContext<'_>,
    fetched: &mut Fetched<'_>,
) -> RevocationStatus {
    let mut reasons = Vec::new();
    if let Some(found) = evaluate(cert, issuer, ctx, fetched, &mut reasons) {
        return found;
    }
    if !fetched.allowed() {
        let nothing = ctx.crls.is_empty() && ctx.ocsp.is_empty();
        return RevocationStatus::Unknown(if nothing {
            NO_DATA.into()
        } else {
            format!("{}; fetching not allowed", summary(cert, &reasons))
        });
    }
    if !fetched.asked(&cert.der) {
        if let Err(e) = fetched.fetch(&cert.der) {
            reasons.push(e);
            return RevocationStatus::Unknown(summary(cert, &reasons));
        }
        reasons.clear();
        if let Some(found) = evaluate(cert, issuer, ctx, fetched, &mut reasons) {
            return found;
        }
    }
    RevocationStatus::Unknown(summary(cert, &reasons))
}

/// The best status the available data gives, collecting why the rest gave none.
fn evaluate(
    cert: &Cert,
    issuer: &Cert,
    ctx: &ChainContext<'_>,
    fetched: &Fetched<'_>,
    reasons: &mut Vec<String>,
) -> Option<RevocationStatus> {
    type Check = fn(&[u8], &Cert, &Cert, bool) -> Result<Option<RevocationStatus>, String>;
    let sources: [(&[Vec<u8>], Check, bool); 4] = [
        (ctx.ocsp, ocsp::status, false),
        (ctx.crls, crl::status, false),
        (&fetched.ocsp, ocsp::status, true),
        (&fetched.crls, crl::status, true),
    ];
    let mut found = Vec::new();
    for (items, check, was_fetched) in sources {
        for item in items {
            match check(item, cert, issuer, was_fetched) {
                Ok(Some(status)) => found.push(status),
                Ok(None) => {}
                Err(e) if !reasons.contains(&e) => reasons.push(e),
                Err(_) => {}
            }
        }
    }
    found.into_iter().max_by_key(|s| match s {
        RevocationStatus::Revoked {
            source,
            produced_at,
            ..
        } => (true, *source == RevocationSource::Ocsp, Some(*produced_at)),
        RevocationStatus::Good {
            source,
            produced_at,
            ..
        } => (false, *source == RevocationSource::Ocsp, Some(*produced_at)),
        _ => (false, false, None),
    })
}

fn summary(cert: &Cert, reasons: &[String]) -> String {
    if reasons.is_empty() {
        return format!("no CRL or OCSP response covers {}", cert.subject_text());
    }
    let mut text = reasons
        .iter()
        .take(MAX_REASONS)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if reasons.len() > MAX_REASONS {
        text.push_str(&format!("; and {} more", reasons.len() - MAX_REASONS));
    }
    text
}
