//! Revocation services of the embedded CA: CRLs (RFC 5280 §5) and OCSP (RFC 6960).
//!
//! Both are signed with the CA key itself, so a relying party needs nothing but the CA
//! certificate it already trusts: the CRL issuer is the certificate issuer (no indirect CRL, no
//! cRLIssuer in the distribution point), and the OCSP responder is the CA (RFC 6960 §4.2.2.2
//! case 1: "the CA who issued the certificate in question"), identified by key hash.
//!
//! Serial numbers are handled as the content octets of the DER INTEGER exactly as they appear
//! in the certificate (`SerialNumber::as_bytes`); for Signet's certificates that is 16 bytes.
//! Times are Unix seconds.

use std::time::Duration;

use const_oid::AssociatedOid;
use der::asn1::{GeneralizedTime, Null, OctetString, Uint};
use der::{Decode, Encode};
use signet_core::{HashAlgorithm, SignMechanism};
use signet_keys::{ServiceKey, ServiceKeys};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier};
use x509_cert::Certificate;
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, CrlNumber, CrlReason};
use x509_cert::serial_number::SerialNumber;
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspGeneralizedTime, OcspRequest, OcspResponse,
    ResponderId, ResponseData, RevokedInfo, SingleResponse,
};

use crate::ca::{CaParts, extension, key_identifier};
use crate::sign::{sign_verified, signature_algorithm, verify_signature};
use crate::validity::{now_unix, to_time, to_unix};
use crate::{EmbeddedCa, PkiError};

/// How long an OCSP response is fresh (RFC 6960 §4.2.2.1 nextUpdate). Each request is answered
/// afresh, so a revocation is visible at once to anyone who asks; the interval bounds how long a
/// relying party may keep using a cached "good".
pub const OCSP_VALIDITY_SECS: u64 = 3_600;
/// Most CertIDs answered in one OCSP request (RFC 5019 clients send one); more get
/// `malformedRequest`. Each is looked up and answered, so the bound keeps one request's work
/// (and response size) small.
pub const MAX_OCSP_REQUESTS: usize = 100;
/// id-pkix-ocsp-nonce (RFC 6960 §4.4.1).
const ID_PKIX_OCSP_NONCE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.2");
/// id-sha1: RFC 6960 CertIDs are usually SHA-1 (RFC 5019 §2.1.1 makes it the one every client
/// and responder supports). It only names the issuer here; it is not a security function.
const ID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");

/// DER OCSPResponse `{ responseStatus internalError }` (RFC 6960 §4.2.1), for a responder that
/// cannot sign right now.
pub const OCSP_INTERNAL_ERROR: &[u8] = &[0x30, 0x03, 0x0a, 0x01, 0x02];
/// DER OCSPResponse `{ responseStatus malformedRequest }`.
pub const OCSP_MALFORMED_REQUEST: &[u8] = &[0x30, 0x03, 0x0a, 0x01, 0x01];
/// DER OCSPResponse `{ responseStatus tryLater }`.
pub const OCSP_TRY_LATER: &[u8] = &[0x30, 0x03, 0x0a, 0x01, 0x03];

/// A revoked certificate as a CRL lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedCertificate {
    /// Serial number: content octets of the certificate's serialNumber INTEGER.
    pub serial: Vec<u8>,
    /// Revocation time, Unix seconds.
    pub revoked_at: i64,
    /// CRLReason code (RFC 5280 §5.3.1): 0 unspecified, 1 keyCompromise, 2 cACompromise,
    /// 3 affiliationChanged, 4 superseded, 5 cessationOfOperation, 6 certificateHold,
    /// 8 removeFromCRL, 9 privilegeWithdrawn, 10 aACompromise. `None` = no reasonCode entry.
    pub reason: Option<u8>,
}

/// What the CA says about one certificate (RFC 6960 §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationStatus {
    /// Not revoked.
    Good,
    /// Revoked at `at` (Unix seconds) for `reason` (CRLReason code, see [`RevokedCertificate`]).
    Revoked { at: i64, reason: Option<u8> },
    /// The responder does not know the certificate.
    Unknown,
}

/// A CRL read back: what a relying party learns from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationList {
    /// cRLNumber (RFC 5280 §5.2.3), when present and at most 64 bits.
    pub number: Option<u64>,
    /// thisUpdate, Unix seconds.
    pub this_update: i64,
    /// nextUpdate, Unix seconds.
    pub next_update: Option<i64>,
    /// The revoked certificates, in CRL order.
    pub revoked: Vec<RevokedCertificate>,
}

impl RevocationList {
    /// Parses a DER CRL without checking its signature.
    pub fn from_der(crl_der: &[u8]) -> Result<Self, PkiError> {
        let crl = CertificateList::from_der(crl_der)?;
        Self::from_parsed(&crl.tbs_cert_list)
    }

    /// Parses a DER CRL and checks that `issuer_certificate_der` issued it: the CRL issuer
    /// equals the certificate's subject and the signature verifies with its key (RFC 5280
    /// §6.3.3 (f), (g)).
    pub fn verified(crl_der: &[u8], issuer_certificate_der: &[u8]) -> Result<Self, PkiError> {
        let crl = CertificateList::from_der(crl_der)?;
        let issuer = Certificate::from_der(issuer_certificate_der)?;
        if crl.tbs_cert_list.issuer != issuer.tbs_certificate.subject {
            return Err(PkiError::Signature(
                "the CRL was not issued by this certificate's subject".into(),
            ));
        }
        if crl.signature_algorithm != crl.tbs_cert_list.signature {
            return Err(PkiError::Signature(
                "signatureAlgorithm differs from TBSCertList.signature".into(),
            ));
        }
        let signature = crl
            .signature
            .as_bytes()
            .ok_or_else(|| PkiError::Signature("signature has unused bits".into()))?;
        verify_signature(
            &issuer.tbs_certificate.subject_public_key_info,
            &crl.signature_algorithm,
            &crl.tbs_cert_list.to_der()?,
            signature,
        )?;
        Self::from_parsed(&crl.tbs_cert_list)
    }

    fn from_parsed(tbs: &TbsCertList) -> Result<Self, PkiError> {
        let number = tbs
            .crl_extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == CrlNumber::OID)
            .map(|e| CrlNumber::from_der(e.extn_value.as_bytes()))
            .transpose()?
            .and_then(|n| {
                let bytes = n.0.as_bytes();
                (bytes.len() <= 8)
                    .then(|| bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
            });
        let revoked = tbs
            .revoked_certificates
            .iter()
            .flatten()
            .map(|entry| {
                let reason = entry
                    .crl_entry_extensions
                    .iter()
                    .flatten()
                    .find(|e| e.extn_id == CrlReason::OID)
                    .map(|e| CrlReason::from_der(e.extn_value.as_bytes()))
                    .transpose()?
                    .map(|r| r as u8);
                Ok(RevokedCertificate {
                    serial: entry.serial_number.as_bytes().to_vec(),
                    revoked_at: unix_i64(to_unix(&entry.revocation_date))?,
                    reason,
                })
            })
            .collect::<Result<Vec<_>, PkiError>>()?;
        Ok(Self {
            number,
            this_update: unix_i64(to_unix(&tbs.this_update))?,
            next_update: tbs
                .next_update
                .as_ref()
                .map(|t| unix_i64(to_unix(t)))
                .transpose()?,
            revoked,
        })
    }

    /// The status of `serial` according to this list: revoked if listed, good otherwise.
    pub fn status_of(&self, serial: &[u8]) -> RevocationStatus {
        self.revoked
            .iter()
            .find(|r| r.serial == serial)
            .map_or(RevocationStatus::Good, |r| RevocationStatus::Revoked {
                at: r.revoked_at,
                reason: r.reason,
            })
    }
}

/// The serial number of a DER certificate (content octets of its serialNumber INTEGER), as
/// CRLs, OCSP and [`RevokedCertificate`] use it.
pub fn certificate_serial(certificate_der: &[u8]) -> Result<Vec<u8>, PkiError> {
    let cert = Certificate::from_der(certificate_der)?;
    Ok(cert.tbs_certificate.serial_number.as_bytes().to_vec())
}

impl EmbeddedCa {
    /// A DER CRL v2 (RFC 5280 §5) signed by the CA: thisUpdate now, nextUpdate `now +
    /// next_update_hours`, the extensions §5.2 makes mandatory (authorityKeyIdentifier = the
    /// CA's key identifier, cRLNumber = `number`), and one entry per revoked certificate
    /// (serial, revocationDate, reasonCode unless unspecified, §5.3.1). Entries are sorted by
    /// serial; with none, revokedCertificates is absent (§5.1.2.6). Times through 2049 are
    /// UTCTime (§5.1.2.4).
    ///
    /// `number` must grow with every CRL the caller publishes (§5.2.3: "monotonically
    /// increasing sequence number").
    pub fn crl(
        &self,
        keys: &ServiceKeys,
        revoked: &[RevokedCertificate],
        number: u64,
        next_update_hours: u32,
    ) -> Result<Vec<u8>, PkiError> {
        if next_update_hours == 0 {
            return Err(PkiError::InvalidInput(
                "nextUpdate must be at least an hour after thisUpdate".into(),
            ));
        }
        let ca = self.parts()?;
        let now = now_unix()?;
        let next = u64::from(next_update_hours)
            .checked_mul(3_600)
            .and_then(|s| now.checked_add(s))
            .ok_or_else(|| PkiError::InvalidInput("nextUpdate out of range".into()))?;

        let mut sorted: Vec<&RevokedCertificate> = revoked.iter().collect();
        sorted.sort_by(|a, b| a.serial.cmp(&b.serial));
        let entries = sorted
            .into_iter()
            .map(|r| {
                let reason = match r.reason {
                    // §5.3.1: "the reason code CRL entry extension SHOULD be absent instead of
                    // using the unspecified (0) reasonCode value".
                    None | Some(0) => None,
                    Some(code) => Some(vec![extension(&crl_reason(code)?, false)?]),
                };
                Ok(RevokedCert {
                    serial_number: SerialNumber::new(&r.serial)?,
                    revocation_date: to_time(unix_u64(r.revoked_at)?)?,
                    crl_entry_extensions: reason,
                })
            })
            .collect::<Result<Vec<_>, PkiError>>()?;

        let crl_extensions = vec![
            // §5.2.1: MUST be included in all CRLs.
            extension(
                &AuthorityKeyIdentifier {
                    key_identifier: Some(ca.key_id.clone()),
                    authority_cert_issuer: None,
                    authority_cert_serial_number: None,
                },
                false,
            )?,
            // §5.2.3: MUST be included, non-critical.
            extension(&CrlNumber(Uint::new(&number.to_be_bytes())?), false)?,
        ];
        let mechanism = SignMechanism::default_for(self.key_type);
        let algorithm = signature_algorithm(mechanism)?;
        let tbs = TbsCertList {
            version: x509_cert::Version::V2,
            signature: algorithm.clone(),
            issuer: ca.name.clone(),
            this_update: to_time(now)?,
            next_update: Some(to_time(next)?),
            revoked_certificates: (!entries.is_empty()).then_some(entries),
            crl_extensions: Some(crl_extensions),
        };
        let tbs_der = tbs.to_der()?;
        let signature = sign_verified(
            keys,
            ServiceKey::Ca,
            &self.key_ref,
            self.key_type,
            mechanism,
            &ca.spki_der,
            &tbs_der,
        )?;
        let crl = CertificateList {
            tbs_cert_list: tbs,
            signature_algorithm: algorithm,
            signature: der::asn1::BitString::from_bytes(&signature)?,
        };
        Ok(crl.to_der()?)
    }

    /// Answers a DER OCSPRequest (RFC 6960 §4.1) with a DER OCSPResponse (§4.2).
    ///
    /// - Not a DER OCSPRequest, no CertID, or more than [`MAX_OCSP_REQUESTS`]:
    ///   `malformedRequest`.
    /// - A CertID whose issuerNameHash / issuerKeyHash (SHA-1 or SHA-2) do not name this CA:
    ///   `unauthorized` (RFC 5019 §2.2.3: the responder is not authoritative for it).
    /// - Otherwise `successful`: a BasicOCSPResponse signed by the CA key (responderID byKey,
    ///   §4.2.2.3), the CA certificate in `certs`, one SingleResponse per CertID (echoed
    ///   verbatim) with the status `status_of(serial)` reports, thisUpdate now, nextUpdate an
    ///   hour later ([`OCSP_VALIDITY_SECS`]), and the request's nonce extension echoed (§4.4.1,
    ///   RFC 8954).
    ///
    /// An `Err` means the CA could not sign (key module failure): answer
    /// [`OCSP_INTERNAL_ERROR`] or [`OCSP_TRY_LATER`].
    pub fn ocsp_response(
        &self,
        keys: &ServiceKeys,
        request_der: &[u8],
        status_of: &dyn Fn(&[u8]) -> RevocationStatus,
    ) -> Result<Vec<u8>, PkiError> {
        let Some(request) = well_formed_ocsp_request(request_der) else {
            return Ok(OCSP_MALFORMED_REQUEST.to_vec());
        };
        let list = &request.tbs_request.request_list;
        let ca = self.parts()?;
        let mut answers = Vec::with_capacity(list.len());
        for single in list {
            if !names_this_ca(&single.req_cert, &ca)? {
                return Ok(OcspResponse::unauthorized().to_der()?);
            }
            let status = status_of(single.req_cert.serial_number.as_bytes());
            answers.push((single.req_cert.clone(), status));
        }
        let nonce = request
            .tbs_request
            .request_extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == ID_PKIX_OCSP_NONCE)
            .cloned();
        self.sign_ocsp(keys, &ca, answers, nonce)
    }

    /// The serial numbers (content octets) an OCSP request asks about, in order, for looking
    /// their status up before [`EmbeddedCa::ocsp_response`] answers; `None` when that answer
    /// is `malformedRequest` (not DER, no CertID, more than [`MAX_OCSP_REQUESTS`]).
    pub fn ocsp_request_serials(request_der: &[u8]) -> Option<Vec<Vec<u8>>> {
        let request = well_formed_ocsp_request(request_der)?;
        Some(
            request
                .tbs_request
                .request_list
                .iter()
                .map(|r| r.req_cert.serial_number.as_bytes().to_vec())
                .collect(),
        )
    }

    /// A successful OCSP response for one certificate this CA issued, without a request: what
    /// an AdES B-LT signature embeds as its revocation value (CMS id-ri-ocsp-response, PAdES
    /// DSS /OCSPs, XAdES OCSPValues, JAdES rVals). The CertID uses SHA-1 (RFC 5019 §2.1.1).
    pub fn ocsp_response_for(
        &self,
        keys: &ServiceKeys,
        certificate_der: &[u8],
        status: RevocationStatus,
    ) -> Result<Vec<u8>, PkiError> {
        let ca = self.parts()?;
        let cert = Certificate::from_der(certificate_der)?;
        let not_ours =
            || PkiError::InvalidInput("the certificate was not issued by the embedded CA".into());
        if cert.tbs_certificate.issuer != ca.name {
            return Err(not_ours());
        }
        let signature = cert.signature.as_bytes().ok_or_else(not_ours)?;
        verify_signature(
            &ca.cert.tbs_certificate.subject_public_key_info,
            &cert.signature_algorithm,
            &cert.tbs_certificate.to_der()?,
            signature,
        )
        .map_err(|_| not_ours())?;
        let cert_id = CertId {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: ID_SHA1,
                parameters: Some(der::Any::from(Null)),
            },
            issuer_name_hash: OctetString::new(sha1(&ca.name.to_der()?))?,
            issuer_key_hash: OctetString::new(sha1(
                ca.cert
                    .tbs_certificate
                    .subject_public_key_info
                    .subject_public_key
                    .raw_bytes(),
            ))?,
            serial_number: cert.tbs_certificate.serial_number.clone(),
        };
        self.sign_ocsp(keys, &ca, vec![(cert_id, status)], None)
    }

    fn sign_ocsp(
        &self,
        keys: &ServiceKeys,
        ca: &CaParts,
        answers: Vec<(CertId, RevocationStatus)>,
        nonce: Option<Extension>,
    ) -> Result<Vec<u8>, PkiError> {
        let now = now_unix()?;
        let this_update = ocsp_time(now)?;
        let next_update = ocsp_time(now.saturating_add(OCSP_VALIDITY_SECS))?;
        let responses = answers
            .into_iter()
            .map(|(cert_id, status)| {
                let cert_status = match status {
                    RevocationStatus::Good => CertStatus::good(),
                    RevocationStatus::Unknown => CertStatus::unknown(),
                    RevocationStatus::Revoked { at, reason } => CertStatus::revoked(RevokedInfo {
                        revocation_time: ocsp_time(unix_u64(at)?)?,
                        revocation_reason: reason.map(crl_reason).transpose()?,
                    }),
                };
                Ok(SingleResponse {
                    cert_id,
                    cert_status,
                    this_update,
                    next_update: Some(next_update),
                    single_extensions: None,
                })
            })
            .collect::<Result<Vec<_>, PkiError>>()?;
        let tbs = ResponseData {
            version: x509_ocsp::Version::V1,
            // §4.2.2.3: KeyHash = SHA-1 of the responder's subjectPublicKey value, which is
            // also how the CA's subjectKeyIdentifier was computed (RFC 5280 §4.2.1.2 (1)).
            responder_id: ResponderId::ByKey(key_identifier(
                &ca.cert.tbs_certificate.subject_public_key_info,
            )?),
            produced_at: this_update,
            responses,
            response_extensions: nonce.map(|n| vec![n]),
        };
        let tbs_der = tbs.to_der()?;
        let mechanism = SignMechanism::default_for(self.key_type);
        let algorithm = signature_algorithm(mechanism)?;
        let signature = sign_verified(
            keys,
            ServiceKey::Ca,
            &self.key_ref,
            self.key_type,
            mechanism,
            &ca.spki_der,
            &tbs_der,
        )?;
        let basic = BasicOcspResponse {
            tbs_response_data: tbs,
            signature_algorithm: algorithm,
            signature: der::asn1::BitString::from_bytes(&signature)?,
            certs: Some(vec![ca.cert.clone()]),
        };
        Ok(OcspResponse::successful(basic)?.to_der()?)
    }
}

/// Whether a CertID names this CA: issuerNameHash over the DER subject and issuerKeyHash over
/// the subjectPublicKey value (RFC 6960 §4.1.1), with the CertID's own hash algorithm.
/// The request, if it is DER and asks about 1 to [`MAX_OCSP_REQUESTS`] certificates.
fn well_formed_ocsp_request(request_der: &[u8]) -> Option<OcspRequest> {
    let request = OcspRequest::from_der(request_der).ok()?;
    let count = request.tbs_request.request_list.len();
    (1..=MAX_OCSP_REQUESTS).contains(&count).then_some(request)
}

fn names_this_ca(cert_id: &CertId, ca: &CaParts) -> Result<bool, PkiError> {
    let oid = cert_id.hash_algorithm.oid;
    let hash = |data: &[u8]| -> Option<Vec<u8>> {
        if oid == ID_SHA1 {
            Some(sha1(data))
        } else {
            HashAlgorithm::from_oid(&oid.to_string())
                .ok()
                .map(|h| h.digest(data))
        }
    };
    let name_der = ca.name.to_der()?;
    let key = ca
        .cert
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes();
    Ok(
        hash(&name_der).as_deref() == Some(cert_id.issuer_name_hash.as_bytes())
            && hash(key).as_deref() == Some(cert_id.issuer_key_hash.as_bytes()),
    )
}

fn sha1(data: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, data)
        .as_ref()
        .to_vec()
}

/// CRLReason for a code (RFC 5280 §5.3.1; 7 is unused).
fn crl_reason(code: u8) -> Result<CrlReason, PkiError> {
    Ok(match code {
        0 => CrlReason::Unspecified,
        1 => CrlReason::KeyCompromise,
        2 => CrlReason::CaCompromise,
        3 => CrlReason::AffiliationChanged,
        4 => CrlReason::Superseded,
        5 => CrlReason::CessationOfOperation,
        6 => CrlReason::CertificateHold,
        8 => CrlReason::RemoveFromCRL,
        9 => CrlReason::PrivilegeWithdrawn,
        10 => CrlReason::AaCompromise,
        other => {
            return Err(PkiError::InvalidInput(format!(
                "{other} is not a CRLReason code"
            )));
        }
    })
}

/// OCSP times are GeneralizedTime without fractions (RFC 6960 §4.2.2.1, RFC 5280 §4.1.2.5.2).
fn ocsp_time(unix_secs: u64) -> Result<OcspGeneralizedTime, PkiError> {
    GeneralizedTime::from_unix_duration(Duration::from_secs(unix_secs))
        .map(OcspGeneralizedTime)
        .map_err(|_| PkiError::Validity(format!("time {unix_secs} is out of range")))
}

fn unix_u64(secs: i64) -> Result<u64, PkiError> {
    u64::try_from(secs).map_err(|_| PkiError::InvalidInput(format!("time {secs} is before 1970")))
}

fn unix_i64(secs: u64) -> Result<i64, PkiError> {
    i64::try_from(secs).map_err(|_| PkiError::Validity(format!("time {secs} out of range")))
}
