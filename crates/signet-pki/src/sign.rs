//! Signatures made by the CA and TSA keys through the key module, checked before release.
//!
//! Every structure this crate signs (TBSCertificate, TBSCertList, ResponseData, CMS signed
//! attributes) goes through [`sign_verified`]: hash the DER, ask
//! [`KeyModule::sign_digests`] for one signature, verify it with the signer's public key. A
//! faulty module (or a key_ref/key_type mix-up) then surfaces as [`PkiError::Signature`] here
//! rather than as an object no relying party accepts.

use aws_lc_rs::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
use der::{Any, Decode};
use signet_core::{HashAlgorithm, KeyType, PssSalt, SignMechanism};
use signet_keys::{KeyRef, ServiceKey, ServiceKeys};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};

use crate::PkiError;

/// The signatureAlgorithm / TBSCertificate.signature value for `mechanism`.
pub(crate) fn signature_algorithm(
    mechanism: SignMechanism,
) -> Result<AlgorithmIdentifierOwned, PkiError> {
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

/// AlgorithmIdentifier of a SHA-2 digest. RFC 5754 §2: "the parameters field SHOULD be
/// omitted" (implementations accept both; absent is what OpenSSL and pyHanko emit).
pub(crate) fn digest_algorithm(hash: HashAlgorithm) -> Result<AlgorithmIdentifierOwned, PkiError> {
    Ok(AlgorithmIdentifierOwned {
        oid: ObjectIdentifier::new(hash.oid()).map_err(|e| PkiError::Encoding(e.to_string()))?,
        parameters: None,
    })
}

/// Signs `message` with the key behind `key_ref` (default mechanism of `key_type`) and
/// verifies the result with `public_key_der` (DER SubjectPublicKeyInfo) before returning it.
pub(crate) fn sign_verified(
    keys: &ServiceKeys,
    purpose: ServiceKey,
    key_ref: &KeyRef,
    key_type: KeyType,
    mechanism: SignMechanism,
    public_key_der: &[u8],
    message: &[u8],
) -> Result<Vec<u8>, PkiError> {
    let digest = mechanism.hash().digest(message);
    let mut signatures = keys.sign_digests(purpose, key_ref, key_type, mechanism, &[digest])?;
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
    let spki = spki::SubjectPublicKeyInfoRef::from_der(public_key_der)
        .map_err(|e| PkiError::InvalidPublicKey(e.to_string()))?;
    UnparsedPublicKey::new(verifier, spki.subject_public_key.raw_bytes())
        .verify(message, &signature)
        .map_err(|_| {
            PkiError::Signature(format!(
                "{} signature does not verify with the signer's public key",
                mechanism.name()
            ))
        })?;
    Ok(signature)
}

/// The aws-lc-rs verifier for a key type and mechanism (signature values as the key module
/// produces them: ECDSA DER `SEQUENCE { r, s }`, RSA raw).
pub(crate) fn verification_algorithm(
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

/// Verifies `signature` over `message` made with `algorithm` (a signatureAlgorithm as found in
/// certificates, CRLs, OCSP responses and CMS SignerInfos) by the key in `spki`. Covers what
/// Signet's keys produce: ECDSA P-256/P-384 with SHA-2, RSA PKCS#1 v1.5 and RSASSA-PSS (salt =
/// digest length) with SHA-2.
pub(crate) fn verify_signature(
    spki: &SubjectPublicKeyInfoOwned,
    algorithm: &AlgorithmIdentifierOwned,
    message: &[u8],
    signature: &[u8],
) -> Result<(), PkiError> {
    use signet_core::oid;
    let unsupported = || PkiError::Signature(format!("unsupported algorithm {}", algorithm.oid));
    let mechanism = match algorithm.oid.to_string().as_str() {
        oid::ECDSA_WITH_SHA256 => SignMechanism::Ecdsa {
            hash: HashAlgorithm::Sha256,
        },
        oid::ECDSA_WITH_SHA384 => SignMechanism::Ecdsa {
            hash: HashAlgorithm::Sha384,
        },
        oid::ECDSA_WITH_SHA512 => SignMechanism::Ecdsa {
            hash: HashAlgorithm::Sha512,
        },
        oid::SHA256_WITH_RSA => SignMechanism::RsaPkcs1 {
            hash: HashAlgorithm::Sha256,
        },
        oid::SHA384_WITH_RSA => SignMechanism::RsaPkcs1 {
            hash: HashAlgorithm::Sha384,
        },
        oid::SHA512_WITH_RSA => SignMechanism::RsaPkcs1 {
            hash: HashAlgorithm::Sha512,
        },
        oid::RSASSA_PSS => {
            let params = algorithm
                .parameters
                .as_ref()
                .map(der::Encode::to_der)
                .transpose()?
                .ok_or_else(unsupported)?;
            // The key size only matters for maximum-length salts, which are refused here.
            SignMechanism::resolve(KeyType::Rsa2048, oid::RSASSA_PSS, None, Some(&params))
                .map_err(|e| PkiError::Signature(e.to_string()))?
        }
        _ => return Err(unsupported()),
    };
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
        .map(|o| o.to_string());
    let key_type = match (spki.algorithm.oid.to_string().as_str(), curve.as_deref()) {
        (oid::EC_PUBLIC_KEY, Some(oid::CURVE_P256)) => KeyType::EcP256,
        (oid::EC_PUBLIC_KEY, Some(oid::CURVE_P384)) => KeyType::EcP384,
        // Any RSA size: the aws-lc-rs verifier depends on the hash only.
        (oid::RSA_ENCRYPTION, _) => KeyType::Rsa2048,
        (other, _) => {
            return Err(PkiError::InvalidPublicKey(format!(
                "unsupported key algorithm {other}"
            )));
        }
    };
    let verifier = verification_algorithm(key_type, mechanism).ok_or_else(unsupported)?;
    UnparsedPublicKey::new(verifier, spki.subject_public_key.raw_bytes())
        .verify(message, signature)
        .map_err(|_| PkiError::Signature("signature does not verify".into()))
}

/// Verifies `signature` (as the key module makes it: ECDSA DER, RSA raw) over `message` with
/// `mechanism` and the key of `spki_der` (DER SubjectPublicKeyInfo).
pub fn verify_message(
    spki_der: &[u8],
    mechanism: SignMechanism,
    message: &[u8],
    signature: &[u8],
) -> Result<(), PkiError> {
    let spki = SubjectPublicKeyInfoOwned::from_der(spki_der)
        .map_err(|e| PkiError::InvalidPublicKey(e.to_string()))?;
    let oid = mechanism
        .signature_oid()
        .parse::<ObjectIdentifier>()
        .map_err(|e| PkiError::Signature(e.to_string()))?;
    let algorithm = AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    };
    match mechanism {
        SignMechanism::RsaPss { .. } => Err(PkiError::Signature(
            "RSASSA-PSS is not used for messages here".into(),
        )),
        _ => verify_signature(&spki, &algorithm, message, signature),
    }
}

/// Verifies that `certificate_der` was signed by the key of `issuer_certificate_der` (the
/// signature only: names, validity and extensions are the caller's to judge).
pub fn verify_issued_by(
    certificate_der: &[u8],
    issuer_certificate_der: &[u8],
) -> Result<(), PkiError> {
    use der::Encode;
    let cert = x509_cert::Certificate::from_der(certificate_der)?;
    let issuer = x509_cert::Certificate::from_der(issuer_certificate_der)?;
    let tbs = cert.tbs_certificate.to_der()?;
    verify_signature(
        &issuer.tbs_certificate.subject_public_key_info,
        &cert.signature_algorithm,
        &tbs,
        cert.signature.raw_bytes(),
    )
}

/// The DER SubjectPublicKeyInfo of a certificate.
pub fn certificate_public_key(certificate_der: &[u8]) -> Result<Vec<u8>, PkiError> {
    use der::Encode;
    let cert = x509_cert::Certificate::from_der(certificate_der)?;
    Ok(cert.tbs_certificate.subject_public_key_info.to_der()?)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn digest_algorithm_has_no_parameters() {
        use der::Encode;
        let sha256 = digest_algorithm(HashAlgorithm::Sha256).unwrap();
        assert_eq!(
            sha256.to_der().unwrap(),
            [
                0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01
            ]
        );
    }
}
