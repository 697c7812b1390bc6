//! The embedded CA: one self-signed CA certificate and the signer certificates it issues.
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
//!   319 412-2 §4.3.2), subjectKeyIdentifier, authorityKeyIdentifier = the CA's SKI.

use aws_lc_rs::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
use const_oid::AssociatedOid;
use der::asn1::{BitString, OctetString};
use der::{Any, Decode, Encode, Reader, SliceReader, Tag, TagNumber};
use signet_core::{HashAlgorithm, KeyType, PssSalt, SignMechanism};
use signet_keys::{KeyModule, KeyRef};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;
use x509_cert::certificate::{TbsCertificate, Version};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;

use crate::validity::{add_days, now_unix, to_time, to_unix};
use crate::{PkiError, name, pem_certificate};

/// Key-module label of the CA key (HSM `CKA_LABEL`, associated data of the sealed soft key).
const CA_LABEL: &str = "signet-ca";
/// The CA certificate is backdated an hour so relying parties with slow clocks accept it at once.
const CA_BACKDATE_SECS: u64 = 3_600;
/// Signer certificates are backdated five minutes for the same reason; a signature made right
/// after enrolment must not predate its certificate on a validator whose clock is slightly behind.
const SIGNER_BACKDATE_SECS: u64 = 300;
/// Serial length in bytes: 127 random bits, well above the 64 CA/B Forum BR §7.1 asks for and
/// below RFC 5280's 20-octet limit.
const SERIAL_LEN: usize = 16;

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

/// The embedded CA: its key lives in the key module, its certificate is self-signed.
#[derive(Clone, Debug)]
pub struct EmbeddedCa {
    /// Handle to the CA private key inside the key module.
    pub key_ref: KeyRef,
    /// Type of the CA key; selects the signature mechanism ([`SignMechanism::default_for`]).
    pub key_type: KeyType,
    /// The self-signed CA certificate, DER.
    pub certificate: Vec<u8>,
}

impl EmbeddedCa {
    /// Generates the CA key in `keys` (label `signet-ca`) and a self-signed v3 certificate with
    /// subject = issuer = `CN=<common_name>,O=<organization>`, valid from an hour ago for
    /// `validity_days` days.
    ///
    /// The name is checked before the key is generated; if anything fails after generation the
    /// key is destroyed again (best effort) so no orphan CA key is left in an HSM.
    pub fn create(
        keys: &dyn KeyModule,
        key_type: KeyType,
        common_name: &str,
        organization: Option<&str>,
        validity_days: u32,
    ) -> Result<Self, PkiError> {
        let subject = name::build(common_name, organization, None)?;
        let validity = validity_from_now(CA_BACKDATE_SECS, validity_days, None)?;
        let generated = keys.generate(key_type, CA_LABEL)?;
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
            }),
            Err(e) => {
                // The original error matters more than a failed clean-up.
                let _ = keys.destroy(&generated.key_ref);
                Err(e)
            }
        }
    }

    /// Issues a signer certificate for `subject_public_key_der` (DER SubjectPublicKeyInfo),
    /// valid from five minutes ago for `validity_days` days, but never beyond the CA
    /// certificate's notAfter (a certificate outliving its issuer cannot be validated) nor
    /// before its notBefore.
    pub fn issue_signer_certificate(
        &self,
        keys: &dyn KeyModule,
        subject: &SubjectName,
        subject_public_key_der: &[u8],
        validity_days: u32,
    ) -> Result<Vec<u8>, PkiError> {
        let subject_name = name::build(
            &subject.common_name,
            subject.organization.as_deref(),
            subject.country.as_deref(),
        )?;
        let spki = parse_spki(subject_public_key_der)?;

        let ca_cert = Certificate::from_der(&self.certificate)?;
        let ca_tbs = &ca_cert.tbs_certificate;
        let issuer = issuer_name(&self.certificate, &ca_cert)?;
        let ca_key_id = match ca_tbs.get::<SubjectKeyIdentifier>()? {
            Some((_, ski)) => ski.0,
            None => key_identifier(&ca_tbs.subject_public_key_info)?,
        };
        let ca_spki_der = ca_tbs.subject_public_key_info.to_der()?;
        let validity = validity_from_now(
            SIGNER_BACKDATE_SECS,
            validity_days,
            Some((
                to_unix(&ca_tbs.validity.not_before),
                to_unix(&ca_tbs.validity.not_after),
            )),
        )?;

        let extensions = vec![
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
                &KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation),
                true,
            )?,
            // RFC 5280 §4.2.1.2: SHOULD be included in end-entity certificates.
            extension(&SubjectKeyIdentifier(key_identifier(&spki)?), false)?,
            // RFC 5280 §4.2.1.1: MUST be included; keyIdentifier = issuer's SKI.
            extension(
                &AuthorityKeyIdentifier {
                    key_identifier: Some(ca_key_id),
                    authority_cert_issuer: None,
                    authority_cert_serial_number: None,
                },
                false,
            )?,
        ];

        sign_certificate(
            keys,
            &self.key_ref,
            self.key_type,
            &ca_spki_der,
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
}

/// The CA certificate: issuer = subject, signed with the key it certifies.
fn self_signed_certificate(
    keys: &dyn KeyModule,
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
fn validity_from_now(
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
fn issuer_name(ca_der: &[u8], ca_cert: &Certificate) -> Result<Name, PkiError> {
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

fn parse_spki(der: &[u8]) -> Result<SubjectPublicKeyInfoOwned, PkiError> {
    SubjectPublicKeyInfoOwned::from_der(der).map_err(|e| PkiError::InvalidPublicKey(e.to_string()))
}

/// RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING value (excluding tag,
/// length and unused-bits octet). SHA-1 is only an identifier here, not a security function.
fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> Result<OctetString, PkiError> {
    let key = spki.subject_public_key.raw_bytes();
    let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, key);
    Ok(OctetString::new(hash.as_ref())?)
}

fn extension<T: AssociatedOid + Encode>(value: &T, critical: bool) -> Result<Extension, PkiError> {
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

/// A random positive serial of [`SERIAL_LEN`] bytes: the high bit is cleared so DER needs no
/// `00` sign octet, and the first byte is non-zero so the length is always exactly 16.
fn random_serial() -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; SERIAL_LEN];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| PkiError::Random)?;
    bytes[0] = (bytes[0] & 0x7f).max(1);
    Ok(SerialNumber::new(&bytes)?)
}

/// The signatureAlgorithm / TBSCertificate.signature value for `mechanism`.
fn signature_algorithm(mechanism: SignMechanism) -> Result<AlgorithmIdentifierOwned, PkiError> {
    let oid = ObjectIdentifier::new(mechanism.signature_oid())
        .map_err(|e| PkiError::Encoding(e.to_string()))?;
    let parameters = match mechanism {
        // RFC 5758 §3.2: "the encoding MUST omit the parameters field".
        SignMechanism::Ecdsa { .. } => None,
        // RFC 4055 §5: "the parameters MUST be NULL".
        SignMechanism::RsaPkcs1 { .. } => Some(Any::null()),
        // RFC 4055 §3.1: RSASSA-PSS-params, spelled out (no SHA-1 defaults).
        SignMechanism::RsaPss {
            hash,
            salt: PssSalt::DigestLength,
        } => Some(Any::from_der(&signet_core::alg::pss_params_der(hash))?),
        // The CA never signs with a maximum-length salt; only signer keys do (pyHanko).
        SignMechanism::RsaPss {
            salt: PssSalt::Maximum,
            ..
        } => {
            return Err(PkiError::Encoding(
                "RSASSA-PSS with maximum salt is not used for certificates".into(),
            ));
        }
    };
    Ok(AlgorithmIdentifierOwned { oid, parameters })
}

/// Builds the TBSCertificate with the CA's signature algorithm, has the key module sign its DER
/// (RFC 5280 §4.1.1.3) and assembles the certificate.
///
/// The signature is verified with the CA public key before the certificate is returned: a key
/// module fault (or a key_ref/key_type mix-up) then surfaces here rather than as a chain that
/// no relying party accepts.
fn sign_certificate(
    keys: &dyn KeyModule,
    key_ref: &KeyRef,
    key_type: KeyType,
    ca_spki_der: &[u8],
    tbs: impl FnOnce(AlgorithmIdentifierOwned) -> Result<TbsCertificate, PkiError>,
) -> Result<Vec<u8>, PkiError> {
    let mechanism = SignMechanism::default_for(key_type);
    let algorithm = signature_algorithm(mechanism)?;
    let tbs = tbs(algorithm.clone())?;
    let tbs_der = tbs.to_der()?;
    let digest = mechanism.hash().digest(&tbs_der);
    let mut signatures = keys.sign_digests(key_ref, key_type, mechanism, &[digest])?;
    let signature = match (signatures.pop(), signatures.is_empty()) {
        (Some(signature), true) => signature,
        _ => {
            return Err(PkiError::Signature(
                "key module returned the wrong number of signatures".into(),
            ));
        }
    };
    let verifier = verification_algorithm(key_type, mechanism).ok_or_else(|| {
        PkiError::Signature(format!(
            "no verifier for {} with {key_type}",
            mechanism.name()
        ))
    })?;
    UnparsedPublicKey::new(verifier, ca_spki_der)
        .verify(&tbs_der, &signature)
        .map_err(|_| {
            PkiError::Signature(format!(
                "{} signature does not verify with the CA public key",
                mechanism.name()
            ))
        })?;
    let certificate = Certificate {
        tbs_certificate: tbs,
        signature_algorithm: algorithm,
        signature: BitString::from_bytes(&signature)?,
    };
    Ok(certificate.to_der()?)
}

fn verification_algorithm(
    key_type: KeyType,
    mechanism: SignMechanism,
) -> Option<&'static dyn VerificationAlgorithm> {
    use HashAlgorithm::{Sha256, Sha384, Sha512};
    let algorithm: &'static dyn VerificationAlgorithm = match (key_type, mechanism) {
        (KeyType::EcP256, SignMechanism::Ecdsa { hash: Sha256 }) => &sig::ECDSA_P256_SHA256_ASN1,
        (KeyType::EcP256, SignMechanism::Ecdsa { hash: Sha384 }) => &sig::ECDSA_P256_SHA384_ASN1,
        (KeyType::EcP256, SignMechanism::Ecdsa { hash: Sha512 }) => &sig::ECDSA_P256_SHA512_ASN1,
        (KeyType::EcP384, SignMechanism::Ecdsa { hash: Sha256 }) => &sig::ECDSA_P384_SHA256_ASN1,
        (KeyType::EcP384, SignMechanism::Ecdsa { hash: Sha384 }) => &sig::ECDSA_P384_SHA384_ASN1,
        (KeyType::EcP384, SignMechanism::Ecdsa { hash: Sha512 }) => &sig::ECDSA_P384_SHA512_ASN1,
        (k, SignMechanism::RsaPkcs1 { hash }) if k.is_rsa() => match hash {
            Sha256 => &sig::RSA_PKCS1_2048_8192_SHA256,
            Sha384 => &sig::RSA_PKCS1_2048_8192_SHA384,
            Sha512 => &sig::RSA_PKCS1_2048_8192_SHA512,
        },
        (
            k,
            SignMechanism::RsaPss {
                hash,
                salt: PssSalt::DigestLength,
            },
        ) if k.is_rsa() => match hash {
            Sha256 => &sig::RSA_PSS_2048_8192_SHA256,
            Sha384 => &sig::RSA_PSS_2048_8192_SHA384,
            Sha512 => &sig::RSA_PSS_2048_8192_SHA512,
        },
        _ => return None,
    };
    Some(algorithm)
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
    fn algorithm_parameters() {
        let ec = signature_algorithm(SignMechanism::default_for(KeyType::EcP256)).unwrap();
        assert_eq!(ec.oid.to_string(), signet_core::oid::ECDSA_WITH_SHA256);
        assert!(ec.parameters.is_none());
        let rsa = signature_algorithm(SignMechanism::default_for(KeyType::Rsa2048)).unwrap();
        assert_eq!(rsa.oid.to_string(), signet_core::oid::SHA256_WITH_RSA);
        assert_eq!(rsa.parameters, Some(Any::null()));
        let pss = signature_algorithm(SignMechanism::RsaPss {
            hash: HashAlgorithm::Sha256,
            salt: PssSalt::DigestLength,
        })
        .unwrap();
        assert!(pss.parameters.is_some());
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
