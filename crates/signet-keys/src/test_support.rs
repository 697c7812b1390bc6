//! Test helpers shared by the key module backends' tests: every mechanism a key type supports,
//! and the aws-lc-rs verifier that hashes the original message itself, so agreement with a
//! signature over a precomputed digest proves the digest path is right.

use aws_lc_rs::signature::{self, VerificationAlgorithm};
use signet_core::{HashAlgorithm, KeyType, PssSalt, SignMechanism};
use spki::der::Decode;
use spki::der::asn1::ObjectIdentifier;

const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

pub(crate) fn mechanisms(key_type: KeyType) -> Vec<SignMechanism> {
    HashAlgorithm::ALL
        .into_iter()
        .flat_map(|hash| {
            if key_type.is_rsa() {
                vec![
                    SignMechanism::RsaPkcs1 { hash },
                    SignMechanism::RsaPss {
                        hash,
                        salt: PssSalt::DigestLength,
                    },
                    SignMechanism::RsaPss {
                        hash,
                        salt: PssSalt::Maximum,
                    },
                ]
            } else {
                vec![SignMechanism::Ecdsa { hash }]
            }
        })
        .collect()
}

pub(crate) static PSS_MAX_SHA256: signature::RsaParameters =
    signature::RSA_PSS_2048_8192_SHA256.with_pss_salt_length(signature::RsaPssSaltLength::Max);
pub(crate) static PSS_MAX_SHA384: signature::RsaParameters =
    signature::RSA_PSS_2048_8192_SHA384.with_pss_salt_length(signature::RsaPssSaltLength::Max);
pub(crate) static PSS_MAX_SHA512: signature::RsaParameters =
    signature::RSA_PSS_2048_8192_SHA512.with_pss_salt_length(signature::RsaPssSaltLength::Max);

/// The verifier that hashes the message itself: agreement proves the digest path is right.
pub(crate) fn verifier(
    key_type: KeyType,
    mechanism: SignMechanism,
) -> &'static dyn VerificationAlgorithm {
    use HashAlgorithm::*;
    use signature::*;
    match (key_type, mechanism) {
        (KeyType::EcP256, SignMechanism::Ecdsa { hash: Sha256 }) => &ECDSA_P256_SHA256_ASN1,
        (KeyType::EcP256, SignMechanism::Ecdsa { hash: Sha384 }) => &ECDSA_P256_SHA384_ASN1,
        (KeyType::EcP256, SignMechanism::Ecdsa { hash: Sha512 }) => &ECDSA_P256_SHA512_ASN1,
        (KeyType::EcP384, SignMechanism::Ecdsa { hash: Sha256 }) => &ECDSA_P384_SHA256_ASN1,
        (KeyType::EcP384, SignMechanism::Ecdsa { hash: Sha384 }) => &ECDSA_P384_SHA384_ASN1,
        (KeyType::EcP384, SignMechanism::Ecdsa { hash: Sha512 }) => &ECDSA_P384_SHA512_ASN1,
        (_, SignMechanism::RsaPkcs1 { hash: Sha256 }) => &RSA_PKCS1_2048_8192_SHA256,
        (_, SignMechanism::RsaPkcs1 { hash: Sha384 }) => &RSA_PKCS1_2048_8192_SHA384,
        (_, SignMechanism::RsaPkcs1 { hash: Sha512 }) => &RSA_PKCS1_2048_8192_SHA512,
        (_, SignMechanism::RsaPss { hash, salt }) => match (hash, salt) {
            (Sha256, PssSalt::DigestLength) => &RSA_PSS_2048_8192_SHA256,
            (Sha384, PssSalt::DigestLength) => &RSA_PSS_2048_8192_SHA384,
            (Sha512, PssSalt::DigestLength) => &RSA_PSS_2048_8192_SHA512,
            (Sha256, PssSalt::Maximum) => &PSS_MAX_SHA256,
            (Sha384, PssSalt::Maximum) => &PSS_MAX_SHA384,
            (Sha512, PssSalt::Maximum) => &PSS_MAX_SHA512,
        },
        other => panic!("no verifier for {other:?}"),
    }
}

/// Checks that `der` is an SPKI of the right algorithm and returns the raw key bits.
pub(crate) fn check_spki(key_type: KeyType, der: &[u8]) -> Vec<u8> {
    let spki = spki::SubjectPublicKeyInfoRef::from_der(der).unwrap();
    let key = spki.subject_public_key.raw_bytes().to_vec();
    if key_type.is_rsa() {
        assert_eq!(spki.algorithm.oid, RSA_ENCRYPTION);
        // RSAPublicKey ::= SEQUENCE { modulus, exponent }; modulus has a leading 0 byte.
        assert!(key.len() > key_type.bits() as usize / 8);
    } else {
        assert_eq!(spki.algorithm.oid, EC_PUBLIC_KEY);
        let curve: ObjectIdentifier = spki.algorithm.parameters.unwrap().decode_as().unwrap();
        assert_eq!(
            curve,
            if key_type == KeyType::EcP256 {
                P256
            } else {
                P384
            }
        );
        let field = key_type.bits() as usize / 8;
        assert_eq!(key.len(), 1 + 2 * field, "uncompressed point");
        assert_eq!(key[0], 0x04);
    }
    key
}
