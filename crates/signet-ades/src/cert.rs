//! The few fields of an X.509 certificate a CMS signer needs, read from the DER as it is.
//!
//! `IssuerAndSerialNumber` (RFC 5652 §10.2.4) and `ESSCertIDv2.issuerSerial` (RFC 5035 §4) must
//! repeat the issuer name and serial number byte for byte, so they are sliced out of the
//! certificate rather than decoded and re-encoded.

use aws_lc_rs::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
use signet_core::{HashAlgorithm, KeyType, PssSalt, SignMechanism};

use crate::AdesError;
use crate::asn1::{self, INTEGER, SEQUENCE, Tlv};

/// Borrowed views into one DER certificate.
#[derive(Debug, Clone, Copy)]
pub struct CertView<'a> {
    pub der: &'a [u8],
    /// The serialNumber INTEGER TLV.
    pub serial: &'a [u8],
    /// The issuer Name TLV.
    pub issuer: &'a [u8],
    /// The subject Name TLV.
    pub subject: &'a [u8],
    /// The SubjectPublicKeyInfo TLV.
    pub spki: &'a [u8],
}

impl<'a> CertView<'a> {
    pub fn parse(der: &'a [u8]) -> Result<Self, AdesError> {
        let bad = |m: &str| AdesError::InvalidRequest(format!("signer certificate: {m}"));
        let cert = asn1::read_all(der)
            .map_err(|e| bad(&e.to_string()))?
            .expect_tag(SEQUENCE, "Certificate")
            .map_err(|e| bad(&e.to_string()))?;
        let parts = cert.children().map_err(|e| bad(&e.to_string()))?;
        let tbs = parts.first().ok_or_else(|| bad("empty"))?;
        let fields: Vec<Tlv<'a>> = tbs.children().map_err(|e| bad(&e.to_string()))?;
        // TBSCertificate (RFC 5280 §4.1): [0] version OPTIONAL, serialNumber, signature,
        // issuer, validity, subject, subjectPublicKeyInfo, ...
        let skip = usize::from(fields.first().is_some_and(|f| f.tag == asn1::ctx(0)));
        let field = |i: usize| fields.get(skip + i).ok_or_else(|| bad("truncated"));
        let serial = field(0)?;
        if serial.tag != INTEGER {
            return Err(bad("serialNumber is not an INTEGER"));
        }
        let (issuer, subject, spki) = (field(2)?, field(4)?, field(5)?);
        for (t, name) in [
            (issuer, "issuer"),
            (subject, "subject"),
            (spki, "subjectPublicKeyInfo"),
        ] {
            if t.tag != SEQUENCE {
                return Err(bad(&format!("{name} is not a SEQUENCE")));
            }
        }
        Ok(Self {
            der,
            serial: serial.raw,
            issuer: issuer.raw,
            subject: subject.raw,
            spki: spki.raw,
        })
    }

    /// `IssuerAndSerialNumber ::= SEQUENCE { issuer Name, serialNumber INTEGER }`.
    pub fn issuer_and_serial(&self) -> Vec<u8> {
        asn1::seq(&[self.issuer, self.serial])
    }

    /// `IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber INTEGER }` with the
    /// issuer as one `directoryName [4]` (RFC 5035 §4, RFC 5280 GeneralName; [4] is EXPLICIT
    /// because Name is a CHOICE).
    pub fn issuer_serial(&self) -> Vec<u8> {
        let general_names = asn1::seq(&[&asn1::cons(asn1::ctx(4), &[self.issuer])]);
        asn1::seq(&[&general_names, self.serial])
    }

    /// Checks `signature` over `message` with this certificate's public key. A key module that
    /// signed with the wrong key (or a credential whose certificate does not match its key)
    /// is caught here, before a signature nobody can validate leaves the server.
    pub fn verify(
        &self,
        key_type: KeyType,
        mechanism: SignMechanism,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), AdesError> {
        let alg = verification_algorithm(key_type, mechanism).ok_or_else(|| {
            AdesError::InvalidRequest(format!(
                "{} cannot be used with a {key_type} key",
                mechanism.name()
            ))
        })?;
        UnparsedPublicKey::new(alg, self.spki)
            .verify(message, signature)
            .map_err(|_| {
                AdesError::SignatureValue(
                    "the signature value does not verify with the signer certificate".into(),
                )
            })
    }
}

/// RSASSA-PSS with the largest salt (what `PssSalt::Maximum` signs with); validation tries it
/// beside the digest-length salt.
pub static PSS_MAX_SHA256: sig::RsaParameters =
    sig::RSA_PSS_2048_8192_SHA256.with_pss_salt_length(sig::RsaPssSaltLength::Max);
pub static PSS_MAX_SHA384: sig::RsaParameters =
    sig::RSA_PSS_2048_8192_SHA384.with_pss_salt_length(sig::RsaPssSaltLength::Max);
pub static PSS_MAX_SHA512: sig::RsaParameters =
    sig::RSA_PSS_2048_8192_SHA512.with_pss_salt_length(sig::RsaPssSaltLength::Max);

fn verification_algorithm(
    key_type: KeyType,
    mechanism: SignMechanism,
) -> Option<&'static dyn VerificationAlgorithm> {
    use HashAlgorithm::{Sha256, Sha384, Sha512};
    let alg: &'static dyn VerificationAlgorithm = match (key_type, mechanism) {
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
        (k, SignMechanism::RsaPss { hash, salt }) if k.is_rsa() => match (hash, salt) {
            (Sha256, PssSalt::DigestLength) => &sig::RSA_PSS_2048_8192_SHA256,
            (Sha384, PssSalt::DigestLength) => &sig::RSA_PSS_2048_8192_SHA384,
            (Sha512, PssSalt::DigestLength) => &sig::RSA_PSS_2048_8192_SHA512,
            (Sha256, PssSalt::Maximum) => &PSS_MAX_SHA256,
            (Sha384, PssSalt::Maximum) => &PSS_MAX_SHA384,
            (Sha512, PssSalt::Maximum) => &PSS_MAX_SHA512,
        },
        _ => return None,
    };
    Some(alg)
}
