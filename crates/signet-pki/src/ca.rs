//! The embedded CA: one self-signed CA certificate and the certificates it issues.
//!
//! Profile (RFC 5280 §4.1, §4.2):
//! - v3, 16-byte random positive serial (§4.1.2.2: positive, at most 20 octets; the entropy also
//!   defeats chosen-prefix collisions as CA/B Forum BR §7.1 requires);
//! - signature AlgorithmIdentifier exactly as RFC 5758 §3.2 (ECDSA: parameters absent) and
//!   RFC 4055 §5 (sha*WithRSAEncryption: parameters NULL) prescribe;
//! - CA: basicConstraints critical cA=TRUE pathLen=0, keyUsage critical keyCertSign|cRLSign,
//!   subjectKeyIdentifier;
//! - signer: basicConstraints critical cA=FALSE, keyUsage critical
//!   digitalSignature|nonRepudiation (contentCommitment: the key makes AdES signatures, ETSI EN
//!   319 412-2 §4.3.2), subjectKeyIdentifier, authorityKeyIdentifier = the CA's SKI;
//! - time-stamping unit (TSA): as a signer, plus extKeyUsage critical id-kp-timeStamping only
//!   (RFC 3161 §2.3);
//! - end-entity certificates carry cRLDistributionPoints (RFC 5280 §4.2.1.13) and
//!   authorityInfoAccess with id-ad-ocsp and id-ad-caIssuers (§4.2.2.1) when the CA knows its
//!   public URLs ([`ValidationUrls`]), so validators (ETSI EN 319 102-1, pyHanko, OpenSSL) can
//!   find revocation data and the issuer on their own.

use const_oid::AssociatedOid;
use der::asn1::{BitString, Ia5String, OctetString};
use der::{Decode, Encode, Reader, SliceReader, Tag, TagNumber};
use signet_core::{KeyType, SignMechanism};
use signet_keys::{KeyRef, ServiceKey, ServiceKeys};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;
use x509_cert::certificate::{TbsCertificate, Version};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints,
    CrlDistributionPoints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;

use crate::sign::{sign_verified, signature_algorithm};
use crate::validity::{add_days, now_unix, to_time, to_unix};
use crate::{PkiError, name, pem_certificate};

/// Key-module label of the CA key (HSM `CKA_LABEL`, associated data of the sealed soft key).
/// The CA certificate is backdated an hour so relying parties with slow clocks accept it at once.
const CA_BACKDATE_SECS: u64 = 3_600;
/// Signer certificates are backdated five minutes for the same reason; a signature made right
/// after enrolment must not predate its certificate on a validator whose clock is slightly behind.
const SIGNER_BACKDATE_SECS: u64 = 300;
/// Serial length in bytes: 127 random bits, well above the 64 CA/B Forum BR §7.1 asks for and
/// below RFC 5280's 20-octet limit.
const SERIAL_LEN: usize = 16;

/// id-kp-timeStamping (RFC 3161 §2.3, RFC 5280 §4.2.1.12).
pub(crate) const ID_KP_TIME_STAMPING: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
/// id-ad-ocsp (RFC 5280 §4.2.2.1, RFC 6960 §3.1).
const ID_AD_OCSP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1");
/// id-ad-caIssuers (RFC 5280 §4.2.2.1).
const ID_AD_CA_ISSUERS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.2");

/// Subject of a signer certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectName {
    /// commonName, usually the username. Any text up to 64 characters (RFC 5280 ub-common-name);
    /// commas and other RFC 4514 specials are kept as part of the value.
    pub common_name: String,
    /// organizationName, up to 64 characters.
    pub organization: Option<String>,
    /// countryName, two letters (ISO 3166-1 alpha-2); stored upper-case.
    pub country: Option<String>,
}

/// Where relying parties fetch validation data about certificates this CA issued. Each is an
/// absolute `http://` or `https://` URL (RFC 5280 §4.2.1.13 / §4.2.2.1: HTTP URIs, not LDAP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationUrls {
    /// cRLDistributionPoints fullName: where the DER CRL is served (Signet: `<base>/ca/crl`).
    pub crl: String,
    /// authorityInfoAccess id-ad-ocsp: the OCSP responder (Signet: `<base>/ocsp`).
    pub ocsp: String,
    /// authorityInfoAccess id-ad-caIssuers: the DER CA certificate (Signet: `<base>/ca/cert`).
    pub ca_issuers: String,
}

impl ValidationUrls {
    /// The URLs Signet serves under `base` (its public URL, e.g. `https://signet.example`).
    pub fn under(base: &str) -> Self {
        let base = base.trim_end_matches('/');
        Self {
            crl: format!("{base}/ca/crl"),
            ocsp: format!("{base}/ocsp"),
            ca_issuers: format!("{base}/ca/cert"),
        }
    }
}

/// The embedded CA: its key lives in the key module, its certificate is self-signed.
#[derive(Clone, Debug)]
pub struct EmbeddedCa {
    /// Handle to the CA private key inside the key module.
    pub key_ref: KeyRef,
    /// Type of the CA key; selects the signature mechanism ([`SignMechanism::default_for`]).
    pub key_type: KeyType,
    /// The self-signed CA certificate, DER.
    pub certificate: Vec<u8>,
    /// Validation URLs written into end-entity certificates issued from now on; `None` issues
    /// certificates without cRLDistributionPoints / authorityInfoAccess.
    pub urls: Option<ValidationUrls>,
}

/// What kind of end-entity certificate is issued.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Profile {
    /// AdES signing keys.
    Signer,
    /// RFC 3161 time-stamping unit.
    TimeStamping,
    /// The audit log's checkpoint signing key.
    Audit,
}

/// The parts of the CA certificate every issued object refers to.
pub(crate) struct CaParts {
    pub(crate) cert: Certificate,
    /// The CA subject as the issuer of what it signs, byte-identical to the certificate's.
    pub(crate) name: Name,
    /// The CA's subjectKeyIdentifier (authorityKeyIdentifier of what it signs).
    pub(crate) key_id: OctetString,
    /// DER SubjectPublicKeyInfo of the CA key.
    pub(crate) spki_der: Vec<u8>,
}

impl EmbeddedCa {
    /// Generates the CA key in `keys` (label `signet-ca`) and a self-signed v3 certificate with
    /// subject = issuer = `CN=<common_name>,O=<organization>`, valid from an hour ago for
    /// `validity_days` days. [`EmbeddedCa::urls`] starts as `None`.
    ///
    /// The name is checked before the key is generated; if anything fails after generation the
    /// key is destroyed again (best effort) so no orphan CA key is left in an HSM.
    pub fn create(
        keys: &ServiceKeys,
        key_type: KeyType,
        common_name: &str,
        organization: Option<&str>,
        validity_days: u32,
    ) -> Result<Self, PkiError> {
        let subject = name::build(common_name, organization, None)?;
        let validity = validity_from_now(CA_BACKDATE_SECS, validity_days, None)?;
        let generated = keys.generate(ServiceKey::Ca, key_type)?;
        let built = self_signed_certificate(
            keys,
            &generated.key_ref,
            key_type,
            &generated.public_key_der,
            &subject,
            validity,
        );
        match built {
            Ok(certificate) => Ok(Self {
                key_ref: generated.key_ref,
                key_type,
                certificate,
                urls: None,
            }),
            Err(e) => {
                // The original error matters more than a failed clean-up.
                let _ = keys.destroy(ServiceKey::Ca, &generated.key_ref);
                Err(e)
            }
        }
    }

    /// Issues a signer certificate for `subject_public_key_der` (DER SubjectPublicKeyInfo),
    /// valid from five minutes ago for `validity_days` days, but never beyond the CA
    /// certificate's notAfter (a certificate outliving its issuer cannot be validated) nor
    /// before its notBefore. With [`EmbeddedCa::urls`] set it carries cRLDistributionPoints and
    /// authorityInfoAccess (OCSP, caIssuers).
    pub fn issue_signer_certificate(
        &self,
        keys: &ServiceKeys,
        subject: &SubjectName,
        subject_public_key_der: &[u8],
        validity_days: u32,
    ) -> Result<Vec<u8>, PkiError> {
        self.issue_end_entity(
            keys,
            subject,
            subject_public_key_der,
            validity_days,
            Profile::Signer,
        )
    }

    /// Issues the certificate of a time-stamping unit: like a signer certificate, plus
    /// extKeyUsage = { id-kp-timeStamping } marked critical, as RFC 3161 §2.3 requires ("The
    /// corresponding certificate MUST contain only one instance of the extended key usage field
    /// extension ... with KeyPurposeID having value id-kp-timeStamping. This extension MUST be
    /// critical."). keyUsage is digitalSignature|nonRepudiation, critical (OpenSSL's
    /// timestampsign purpose accepts no other bit).
    pub fn issue_tsa_certificate(
        &self,
        keys: &ServiceKeys,
        subject: &SubjectName,
        spki_der: &[u8],
        validity_days: u32,
    ) -> Result<Vec<u8>, PkiError> {
        self.issue_end_entity(
            keys,
            subject,
            spki_der,
            validity_days,
            Profile::TimeStamping,
        )
    }

    /// Issues the certificate of the audit log's checkpoint signing key: keyUsage
    /// digitalSignature only (critical) — it signs log checkpoints, never documents, so it
    /// lacks the nonRepudiation bit a validator would look for on an AdES signer.
    pub fn issue_audit_certificate(
        &self,
        keys: &ServiceKeys,
        subject: &SubjectName,
        spki_der: &[u8],
        validity_days: u32,
    ) -> Result<Vec<u8>, PkiError> {
        self.issue_end_entity(keys, subject, spki_der, validity_days, Profile::Audit)
    }

    fn issue_end_entity(
        &self,
        keys: &ServiceKeys,
        subject: &SubjectName,
        subject_public_key_der: &[u8],
        validity_days: u32,
        profile: Profile,
    ) -> Result<Vec<u8>, PkiError> {
        let subject_name = name::build(
            &subject.common_name,
            subject.organization.as_deref(),
            subject.country.as_deref(),
        )?;
        let spki = parse_spki(subject_public_key_der)?;
        let ca = self.parts()?;
        let ca_tbs = &ca.cert.tbs_certificate;
        let validity = validity_from_now(
            SIGNER_BACKDATE_SECS,
            validity_days,
            Some((
                to_unix(&ca_tbs.validity.not_before),
                to_unix(&ca_tbs.validity.not_after),
            )),
        )?;

        let mut extensions = vec![
            // RFC 5280 §4.2.1.9 lets end-entity certificates carry it; critical cA=FALSE keeps
            // the key from ever being accepted as an issuer.
            extension(
                &BasicConstraints {
                    ca: false,
                    path_len_constraint: None,
                },
                true,
            )?,
            // RFC 5280 §4.2.1.3; ETSI EN 319 412-2 §4.3.2 for nonRepudiation on signing keys.
            extension(
                &KeyUsage(if profile == Profile::Audit {
                    KeyUsages::DigitalSignature.into()
                } else {
                    KeyUsages::DigitalSignature | KeyUsages::NonRepudiation
                }),
                true,
            )?,
        ];
        if profile == Profile::TimeStamping {
            // RFC 3161 §2.3: exactly id-kp-timeStamping, critical.
            extensions.push(extension(
                &ExtendedKeyUsage(vec![ID_KP_TIME_STAMPING]),
                true,
            )?);
        }
        extensions.extend([
            // RFC 5280 §4.2.1.2: SHOULD be included in end-entity certificates.
            extension(&SubjectKeyIdentifier(key_identifier(&spki)?), false)?,
            // RFC 5280 §4.2.1.1: MUST be included; keyIdentifier = issuer's SKI.
            extension(
                &AuthorityKeyIdentifier {
                    key_identifier: Some(ca.key_id.clone()),
                    authority_cert_issuer: None,
                    authority_cert_serial_number: None,
                },
                false,
            )?,
        ]);
        if let Some(urls) = &self.urls {
            extensions.extend(validation_extensions(urls)?);
        }

        let issuer = ca.name;
        sign_certificate(
            keys,
            &self.key_ref,
            self.key_type,
            &ca.spki_der,
            |signature| {
                Ok(TbsCertificate {
                    version: Version::V3,
                    serial_number: random_serial()?,
                    signature,
                    issuer,
                    validity,
                    subject: subject_name,
                    subject_public_key_info: spki,
                    issuer_unique_id: None,
                    subject_unique_id: None,
                    extensions: Some(extensions),
                })
            },
        )
    }

    /// PEM of the CA certificate (what operators install as a trust anchor).
    pub fn certificate_pem(&self) -> String {
        pem_certificate(&self.certificate)
    }

    /// Parses the CA certificate once for an issuing operation.
    pub(crate) fn parts(&self) -> Result<CaParts, PkiError> {
        let cert = Certificate::from_der(&self.certificate)?;
        let name = issuer_name(&self.certificate, &cert)?;
        let tbs = &cert.tbs_certificate;
        let key_id = match tbs.get::<SubjectKeyIdentifier>()? {
            Some((_, ski)) => ski.0,
            None => key_identifier(&tbs.subject_public_key_info)?,
        };
        let spki_der = tbs.subject_public_key_info.to_der()?;
        Ok(CaParts {
            cert,
            name,
            key_id,
            spki_der,
        })
    }
}

/// cRLDistributionPoints (RFC 5280 §4.2.1.13: one DistributionPoint with a fullName URI, no
/// reasons, no cRLIssuer — the CA signs its own complete CRL) and authorityInfoAccess
/// (§4.2.2.1: OCSP first, then caIssuers; both non-critical as the RFC requires).
fn validation_extensions(urls: &ValidationUrls) -> Result<[Extension; 2], PkiError> {
    let cdp = CrlDistributionPoints(vec![DistributionPoint {
        distribution_point: Some(DistributionPointName::FullName(vec![uri(&urls.crl)?])),
        reasons: None,
        crl_issuer: None,
    }]);
    let aia = AuthorityInfoAccessSyntax(vec![
        AccessDescription {
            access_method: ID_AD_OCSP,
            access_location: uri(&urls.ocsp)?,
        },
        AccessDescription {
            access_method: ID_AD_CA_ISSUERS,
            access_location: uri(&urls.ca_issuers)?,
        },
    ]);
    Ok([extension(&cdp, false)?, extension(&aia, false)?])
}

/// A uniformResourceIdentifier GeneralName (IA5String, RFC 5280 §4.2.1.6) for an absolute
/// http(s) URL without spaces or control characters.
fn uri(url: &str) -> Result<GeneralName, PkiError> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let plausible =
        rest.is_some_and(|r| !r.is_empty()) && url.bytes().all(|b| b.is_ascii_graphic());
    if !plausible {
        return Err(PkiError::InvalidInput(format!(
            "{url:?} is not an absolute http(s) URL"
        )));
    }
    Ok(GeneralName::UniformResourceIdentifier(Ia5String::new(url)?))
}

/// The CA certificate: issuer = subject, signed with the key it certifies.
fn self_signed_certificate(
    keys: &ServiceKeys,
    key_ref: &KeyRef,
    key_type: KeyType,
    public_key_der: &[u8],
    subject: &Name,
    validity: Validity,
) -> Result<Vec<u8>, PkiError> {
    let spki = parse_spki(public_key_der)?;
    let extensions = vec![
        // RFC 5280 §4.2.1.9: MUST be critical in CA certificates. pathLen 0: this CA
        // issues end-entity certificates only.
        extension(
            &BasicConstraints {
                ca: true,
                path_len_constraint: Some(0),
            },
            true,
        )?,
        // RFC 5280 §4.2.1.3: SHOULD be critical; keyCertSign requires cA=TRUE.
        extension(&KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign), true)?,
        // RFC 5280 §4.2.1.2: MUST appear in conforming CA certificates.
        extension(&SubjectKeyIdentifier(key_identifier(&spki)?), false)?,
    ];
    sign_certificate(keys, key_ref, key_type, public_key_der, |signature| {
        Ok(TbsCertificate {
            version: Version::V3,
            serial_number: random_serial()?,
            signature,
            issuer: subject.clone(),
            validity,
            subject: subject.clone(),
            subject_public_key_info: spki,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(extensions),
        })
    })
}

/// notBefore = now − `backdate`, notAfter = now + `days`, clamped into the issuer's validity
/// when there is one (RFC 5280 §6.1.3 checks every certificate of the path at validation time).
pub(crate) fn validity_from_now(
    backdate: u64,
    days: u32,
    issuer: Option<(u64, u64)>,
) -> Result<Validity, PkiError> {
    if days == 0 {
        return Err(PkiError::Validity(
            "validity must be at least one day".into(),
        ));
    }
    let now = now_unix()?;
    let mut not_before = now.saturating_sub(backdate);
    let mut not_after = add_days(now, days)?;
    if let Some((issuer_not_before, issuer_not_after)) = issuer {
        if issuer_not_after <= now {
            return Err(PkiError::Validity(format!(
                "the CA certificate expired at {issuer_not_after} (unix seconds)"
            )));
        }
        not_before = not_before.max(issuer_not_before);
        not_after = not_after.min(issuer_not_after);
    }
    Ok(Validity {
        not_before: to_time(not_before)?,
        not_after: to_time(not_after)?,
    })
}

/// The CA's subject as the issuer of a new certificate. RFC 5280 §4.1.2.4 wants the issuer
/// field to match the issuer's subject, and many path builders compare the bytes, so the
/// re-encoded name is checked against the CA certificate's raw subject octets. (The `der`
/// decoder re-sorts SET OF, so a non-canonical CA certificate would otherwise change silently.)
pub(crate) fn issuer_name(ca_der: &[u8], ca_cert: &Certificate) -> Result<Name, PkiError> {
    let name = ca_cert.tbs_certificate.subject.clone();
    if name.to_der()? != raw_subject(ca_der)? {
        return Err(PkiError::Encoding(
            "CA certificate subject is not canonical DER; it cannot be copied byte for byte".into(),
        ));
    }
    Ok(name)
}

/// The subject TLV of a DER certificate, as it is on the wire.
fn raw_subject(cert_der: &[u8]) -> Result<Vec<u8>, PkiError> {
    let version_tag = Tag::ContextSpecific {
        constructed: true,
        number: TagNumber::N0,
    };
    let mut reader = SliceReader::new(cert_der)?;
    let subject = reader.sequence(|cert| {
        let subject = cert.sequence(|tbs| {
            if tbs.peek_tag()? == version_tag {
                tbs.tlv_bytes()?;
            }
            // serialNumber, signature, issuer, validity
            for _ in 0..4 {
                tbs.tlv_bytes()?;
            }
            let subject = tbs.tlv_bytes()?.to_vec();
            let rest = tbs.remaining_len();
            tbs.read_slice(rest)?;
            Ok(subject)
        })?;
        let rest = cert.remaining_len();
        cert.read_slice(rest)?;
        Ok(subject)
    })?;
    Ok(reader.finish(subject)?)
}

pub(crate) fn parse_spki(der: &[u8]) -> Result<SubjectPublicKeyInfoOwned, PkiError> {
    SubjectPublicKeyInfoOwned::from_der(der).map_err(|e| PkiError::InvalidPublicKey(e.to_string()))
}

/// RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING value (excluding tag,
/// length and unused-bits octet). SHA-1 is only an identifier here, not a security function.
pub(crate) fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> Result<OctetString, PkiError> {
    let key = spki.subject_public_key.raw_bytes();
    let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, key);
    Ok(OctetString::new(hash.as_ref())?)
}

pub(crate) fn extension<T: AssociatedOid + Encode>(
    value: &T,
    critical: bool,
) -> Result<Extension, PkiError> {
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

/// A random positive serial of [`SERIAL_LEN`] bytes: the high bit is cleared so DER needs no
/// `00` sign octet, and the first byte is non-zero so the length is always exactly 16.
pub(crate) fn random_serial() -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; SERIAL_LEN];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| PkiError::Random)?;
    bytes[0] = (bytes[0] & 0x7f).max(1);
    Ok(SerialNumber::new(&bytes)?)
}

/// Builds the TBSCertificate with the CA's signature algorithm, has the key module sign its DER
/// (RFC 5280 §4.1.1.3) and assembles the certificate. The signature is verified with the CA
/// public key before the certificate is returned ([`sign_verified`]).
fn sign_certificate(
    keys: &ServiceKeys,
    key_ref: &KeyRef,
    key_type: KeyType,
    ca_spki_der: &[u8],
    tbs: impl FnOnce(AlgorithmIdentifierOwned) -> Result<TbsCertificate, PkiError>,
) -> Result<Vec<u8>, PkiError> {
    let mechanism = SignMechanism::default_for(key_type);
    let algorithm = signature_algorithm(mechanism)?;
    let tbs = tbs(algorithm.clone())?;
    let tbs_der = tbs.to_der()?;
    let signature = sign_verified(
        keys,
        ServiceKey::Ca,
        key_ref,
        key_type,
        mechanism,
        ca_spki_der,
        &tbs_der,
    )?;
    let certificate = Certificate {
        tbs_certificate: tbs,
        signature_algorithm: algorithm,
        signature: BitString::from_bytes(&signature)?,
    };
    Ok(certificate.to_der()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_usage_bits_are_minimal_der() {
        let signer = KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation);
        assert_eq!(signer.to_der().unwrap(), [0x03, 0x02, 0x06, 0xc0]);
        let ca = KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign);
        assert_eq!(ca.to_der().unwrap(), [0x03, 0x02, 0x01, 0x06]);
    }

    #[test]
    fn end_entity_basic_constraints_is_empty_sequence() {
        // cA DEFAULT FALSE is omitted in DER (X.690 §11.5).
        let bc = BasicConstraints {
            ca: false,
            path_len_constraint: None,
        };
        assert_eq!(bc.to_der().unwrap(), [0x30, 0x00]);
    }

    #[test]
    fn serials_are_16_positive_bytes() {
        for _ in 0..64 {
            let serial = random_serial().unwrap();
            let bytes = serial.as_bytes();
            assert_eq!(bytes.len(), SERIAL_LEN);
            assert!(bytes[0] != 0 && bytes[0] < 0x80);
        }
    }

    #[test]
    fn validity_clamps_to_issuer() {
        let now = now_unix().unwrap();
        let v = validity_from_now(300, 3650, Some((now - 10, now + 86_400))).unwrap();
        assert_eq!(to_unix(&v.not_before), now - 10);
        assert_eq!(to_unix(&v.not_after), now + 86_400);
        assert!(matches!(
            validity_from_now(300, 1, Some((now - 100, now - 1))),
            Err(PkiError::Validity(_))
        ));
        assert!(matches!(
            validity_from_now(300, 0, None),
            Err(PkiError::Validity(_))
        ));
    }
}
