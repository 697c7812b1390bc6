//! What a CRL (RFC 5280 §5) says about one certificate: the CRL must be issued under the
//! certificate's issuer name and signed by the issuer's key (§6.3.3 (f), (g): no indirect
//! CRLs); the certificate is revoked when its serial is listed.

use signet_ades::asn1::{self, INTEGER, SEQUENCE};

use super::cert::{Cert, same_serial, time_tlv};
use super::signed::Signed;
use super::{RevocationSource, RevocationStatus};

const ID_CE_CRL_REASONS: &str = "2.5.29.21";
const ENUMERATED: u8 = 0x0a;

/// The status of `cert` according to the DER CRL `crl`, issued by `issuer`. `Ok(None)` when
/// the CRL is another issuer's; `Err` when it is this issuer's but unusable.
pub(crate) fn status(
    crl: &[u8],
    cert: &Cert,
    issuer: &Cert,
    fetched: bool,
) -> Result<Option<RevocationStatus>, String> {
    let signed = Signed::parse(crl, "CRL")?;
    let bad = |m: String| format!("CRL: {m}");
    let fields = signed.tbs.children().map_err(|e| bad(e.to_string()))?;
    // TBSCertList: version INTEGER OPTIONAL, signature, issuer, thisUpdate, nextUpdate
    // OPTIONAL, revokedCertificates OPTIONAL, [0] crlExtensions OPTIONAL.
    let skip = usize::from(fields.first().is_some_and(|f| f.tag == INTEGER));
    let mut rest = fields.iter().skip(skip + 1);
    let crl_issuer = rest.next().ok_or_else(|| bad("no issuer".into()))?;
    if crl_issuer.raw != cert.issuer.as_slice() {
        return Ok(None);
    }
    let this_update = time_tlv(*rest.next().ok_or_else(|| bad("no thisUpdate".into()))?)?;
    let mut next = rest.next();
    let next_update = match next {
        Some(t) if t.tag == asn1::UTC_TIME || t.tag == asn1::GENERALIZED_TIME => {
            next = rest.next();
            Some(time_tlv(*t)?)
        }
        _ => None,
    };
    if issuer.key_usage.as_ref().is_some_and(|ku| !ku.crl_sign()) {
        return Err(format!(
            "the CRL issuer {} may not sign CRLs (keyUsage without cRLSign)",
            issuer.subject_text()
        ));
    }
    signed
        .verify(&issuer.spki)
        .map_err(|e| format!("the CRL signature of {}: {e}", issuer.subject_text()))?;
    let entries = match next {
        Some(list) if list.tag == SEQUENCE => list.children().map_err(|e| bad(e.to_string()))?,
        _ => Vec::new(),
    };
    for entry in entries {
        let parts = entry.children().map_err(|e| bad(e.to_string()))?;
        let (Some(serial), Some(when)) = (parts.first(), parts.get(1)) else {
            return Err(bad("a revoked entry without serial and date".into()));
        };
        if serial.tag == INTEGER && same_serial(serial.content, &cert.serial) {
            return Ok(Some(RevocationStatus::Revoked {
                source: RevocationSource::Crl,
                time: time_tlv(*when)?,
                reason: parts.get(2).and_then(|exts| entry_reason(*exts)),
                produced_at: this_update,
                fetched,
            }));
        }
    }
    Ok(Some(RevocationStatus::Good {
        source: RevocationSource::Crl,
        this_update,
        next_update,
        produced_at: this_update,
        fetched,
    }))
}

/// The reasonCode of a CRL entry's extensions, by name.
fn entry_reason(extensions: asn1::Tlv<'_>) -> Option<String> {
    extensions.children().ok()?.into_iter().find_map(|ext| {
        let parts = ext.children().ok()?;
        let oid = parts.first().filter(|o| o.tag == asn1::OID)?;
        if crate::crypto::oid_text(oid.content) != ID_CE_CRL_REASONS {
            return None;
        }
        let value = parts.last().filter(|v| v.tag == asn1::OCTET_STRING)?;
        let code = asn1::read_all(value.content).ok()?;
        match (code.tag, code.content) {
            (ENUMERATED, [code]) => Some(reason_name(*code)),
            _ => None,
        }
    })
}

/// The CRLReason name (RFC 5280 §5.3.1), as OCSP and CRLs share it.
pub(crate) fn reason_name(code: u8) -> String {
    match code {
        0 => "unspecified",
        1 => "keyCompromise",
        2 => "cACompromise",
        3 => "affiliationChanged",
        4 => "superseded",
        5 => "cessationOfOperation",
        6 => "certificateHold",
        8 => "removeFromCRL",
        9 => "privilegeWithdrawn",
        10 => "aACompromise",
        other => return format!("reason {other}"),
    }
    .into()
}
