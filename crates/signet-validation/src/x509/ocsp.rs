//! What an OCSP response (RFC 6960) says about one certificate: a successful
//! BasicOCSPResponse with a SingleResponse whose CertID names the certificate (hashes of the
//! issuer's name and key, the serial), signed by the issuer itself or by a responder the
//! issuer delegated (§4.2.2.2: issued by the issuer, with id-kp-OCSPSigning, carried in the
//! response's `certs`).

use der::Decode;
use signet_ades::asn1::{self, OCTET_STRING, SEQUENCE};
use signet_core::HashAlgorithm;
use x509_ocsp::{CertId, CertStatus, ResponseData};

use super::cert::{Cert, same_serial, unix_time};
use super::crl::reason_name;
use super::signed::Signed;
use super::{RevocationSource, RevocationStatus};

const ID_PKIX_OCSP_BASIC: &str = "1.3.6.1.5.5.7.48.1.1";
const ID_KP_OCSP_SIGNING: &str = "1.3.6.1.5.5.7.3.9";
const ID_SHA1: &str = "1.3.14.3.2.26";
/// Most certificates a response may carry for its signer.
const MAX_RESPONSE_CERTS: usize = 8;

/// The status of `cert` according to the DER OCSPResponse `response`. `Ok(None)` when the
/// response is about other certificates; `Err` when it is unusable or says "unknown".
pub(crate) fn status(
    response: &[u8],
    cert: &Cert,
    issuer: &Cert,
    fetched: bool,
) -> Result<Option<RevocationStatus>, String> {
    let basic = basic_response(response)?;
    let signed = Signed::parse(basic, "BasicOCSPResponse")?;
    let data =
        ResponseData::from_der(signed.tbs.raw).map_err(|e| format!("OCSP ResponseData: {e}"))?;
    let Some(single) = data
        .responses
        .iter()
        .find(|r| names(&r.cert_id, cert, issuer))
    else {
        return Ok(None);
    };
    check_signer(&signed, issuer)?;
    let time = |t: x509_ocsp::OcspGeneralizedTime| unix_time(t.0.to_unix_duration());
    let produced_at = time(data.produced_at)?;
    Ok(Some(match single.cert_status {
        CertStatus::Good(_) => RevocationStatus::Good {
            source: RevocationSource::Ocsp,
            this_update: time(single.this_update)?,
            next_update: single.next_update.map(time).transpose()?,
            produced_at,
            fetched,
        },
        CertStatus::Revoked(info) => RevocationStatus::Revoked {
            source: RevocationSource::Ocsp,
            time: time(info.revocation_time)?,
            reason: info.revocation_reason.map(|r| reason_name(r as u8)),
            produced_at,
            fetched,
        },
        CertStatus::Unknown(_) => {
            return Err(format!(
                "the OCSP responder does not know the certificate {}",
                cert.subject_text()
            ));
        }
    }))
}

/// The BasicOCSPResponse inside a successful OCSPResponse, as its original bytes.
fn basic_response(response: &[u8]) -> Result<&[u8], String> {
    let bad = |m: &str| format!("OCSP response: {m}");
    let outer = asn1::read_all(response)
        .and_then(|t| t.expect_tag(SEQUENCE, "OCSPResponse"))
        .and_then(|t| t.children())
        .map_err(|e| bad(&e.to_string()))?;
    match outer.first().map(|s| s.content) {
        Some([0]) => {}
        Some([status]) => return Err(bad(&format!("the responder answered status {status}"))),
        _ => return Err(bad("no responseStatus")),
    }
    let bytes = outer
        .get(1)
        .filter(|t| t.tag == asn1::ctx(0))
        .and_then(|t| asn1::read_all(t.content).ok())
        .and_then(|t| t.children().ok())
        .ok_or_else(|| bad("no responseBytes"))?;
    match bytes.as_slice() {
        [oid, value] if oid.tag == asn1::OID && value.tag == OCTET_STRING => {
            let kind = crate::crypto::oid_text(oid.content);
            if kind == ID_PKIX_OCSP_BASIC {
                Ok(value.content)
            } else {
                Err(bad(&format!("unsupported response type {kind}")))
            }
        }
        _ => Err(bad("malformed responseBytes")),
    }
}

/// Whether a CertID names `cert` as issued by `issuer` (RFC 6960 §4.1.1).
fn names(id: &CertId, cert: &Cert, issuer: &Cert) -> bool {
    let oid = id.hash_algorithm.oid.to_string();
    let hash = |data: &[u8]| -> Option<Vec<u8>> {
        if oid == ID_SHA1 {
            let sha1 = &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY;
            Some(aws_lc_rs::digest::digest(sha1, data).as_ref().to_vec())
        } else {
            HashAlgorithm::from_oid(&oid).ok().map(|h| h.digest(data))
        }
    };
    same_serial(id.serial_number.as_bytes(), &cert.serial)
        && hash(&cert.issuer).as_deref() == Some(id.issuer_name_hash.as_bytes())
        && hash(&issuer.public_key).as_deref() == Some(id.issuer_key_hash.as_bytes())
}

/// The response is signed by the issuer, or by a delegated responder in its `certs`.
fn check_signer(signed: &Signed<'_>, issuer: &Cert) -> Result<(), String> {
    let by_issuer = match signed.verify(&issuer.spki) {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    let certs = signed
        .rest
        .filter(|t| t.tag == asn1::ctx(0))
        .and_then(|t| asn1::read_all(t.content).ok())
        .and_then(|t| t.children().ok())
        .unwrap_or_default();
    let mut reasons = Vec::new();
    for der in certs.iter().take(MAX_RESPONSE_CERTS) {
        let delegated = Cert::parse(der.raw).and_then(|responder| {
            if !responder
                .ext_key_usage
                .iter()
                .any(|p| p == ID_KP_OCSP_SIGNING)
            {
                return Err(format!(
                    "{} lacks id-kp-OCSPSigning",
                    responder.subject_text()
                ));
            }
            if !responder.names_as_issuer(issuer) {
                return Err(format!("{} is another CA's", responder.subject_text()));
            }
            responder.verify_issued_by(issuer)?;
            signed.verify(&responder.spki)
        });
        match delegated {
            Ok(()) => return Ok(()),
            Err(e) => reasons.push(e),
        }
    }
    let delegated = if reasons.is_empty() {
        "no responder certificate in the response".to_owned()
    } else {
        reasons.join("; ")
    };
    Err(format!(
        "the OCSP response is signed neither by the issuer ({by_issuer}) nor by a delegated responder ({delegated})"
    ))
}
