//! Signature value verification with aws-lc-rs, for every format: the algorithm as CMS (OID),
//! XMLDSig (URI) or JOSE (`alg`) names it, the key from a SubjectPublicKeyInfo.
//!
//! The curve of an ECDSA key comes from its SPKI, not from the algorithm name (which only names
//! the hash), so a P-384 key with `ecdsa-with-SHA256` verifies as it should.

use aws_lc_rs::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
use signet_ades::asn1::{self, SEQUENCE};
// PSS salts: the digest's length (the common choice) or the maximum (what some HSMs and
// Signet's `PssSalt::Maximum` produce); the salt length is not signalled in XMLDSig or JOSE.
use signet_ades::cert::{PSS_MAX_SHA256, PSS_MAX_SHA384, PSS_MAX_SHA512};
use signet_core::HashAlgorithm;

/// A signature algorithm, as far as verification needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    /// RSASSA-PKCS1-v1_5 with the hash.
    RsaPkcs1(HashAlgorithm),
    /// RSASSA-PSS with the hash (MGF1 with the same hash) and a salt of any length.
    RsaPss(HashAlgorithm),
    /// ECDSA with the hash; the curve is the key's.
    Ecdsa(HashAlgorithm),
}

/// How an ECDSA signature value is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcdsaEncoding {
    /// `Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` (CMS, X.509, OCSP, CRLs).
    Der,
    /// `r || s`, each as wide as the curve's order (XMLDSig, JOSE).
    Fixed,
}

const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const P256: &str = "1.2.840.10045.3.1.7";
const P384: &str = "1.3.132.0.34";
const P521: &str = "1.3.132.0.35";

impl SignatureAlgorithm {
    /// From a CMS/X.509 `AlgorithmIdentifier`'s OID. `digest` is the SignerInfo's digest
    /// algorithm, used when the OID names only the key (`rsaEncryption`, `ecPublicKey`, as
    /// some CMS producers write it). RSASSA-PSS parameters are read for their hash.
    pub fn from_oid(
        oid: &str,
        params: Option<&[u8]>,
        digest: Option<HashAlgorithm>,
    ) -> Result<Self, String> {
        use HashAlgorithm::{Sha256, Sha384, Sha512};
        Ok(match oid {
            "1.2.840.113549.1.1.11" => Self::RsaPkcs1(Sha256),
            "1.2.840.113549.1.1.12" => Self::RsaPkcs1(Sha384),
            "1.2.840.113549.1.1.13" => Self::RsaPkcs1(Sha512),
            "1.2.840.10045.4.3.2" => Self::Ecdsa(Sha256),
            "1.2.840.10045.4.3.3" => Self::Ecdsa(Sha384),
            "1.2.840.10045.4.3.4" => Self::Ecdsa(Sha512),
            "1.2.840.113549.1.1.10" => Self::RsaPss(pss_hash(params)?),
            RSA_ENCRYPTION => Self::RsaPkcs1(digest.ok_or("rsaEncryption without a digest")?),
            EC_PUBLIC_KEY => Self::Ecdsa(digest.ok_or("ecPublicKey without a digest")?),
            "1.2.840.113549.1.1.5" | "1.2.840.10045.4.1" => {
                return Err("SHA-1 signatures are not accepted".into());
            }
            other => return Err(format!("unsupported signature algorithm {other}")),
        })
    }

    /// From an XMLDSig `SignatureMethod/@Algorithm`.
    pub fn from_xmldsig(uri: &str) -> Result<Self, String> {
        use HashAlgorithm::{Sha256, Sha384, Sha512};
        Ok(match uri {
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" => Self::RsaPkcs1(Sha256),
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384" => Self::RsaPkcs1(Sha384),
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512" => Self::RsaPkcs1(Sha512),
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256" => Self::Ecdsa(Sha256),
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384" => Self::Ecdsa(Sha384),
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512" => Self::Ecdsa(Sha512),
            "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1" => Self::RsaPss(Sha256),
            "http://www.w3.org/2007/05/xmldsig-more#sha384-rsa-MGF1" => Self::RsaPss(Sha384),
            "http://www.w3.org/2007/05/xmldsig-more#sha512-rsa-MGF1" => Self::RsaPss(Sha512),
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1" => {
                return Err("SHA-1 signatures are not accepted".into());
            }
            other => return Err(format!("unsupported signature method {other}")),
        })
    }

    /// From a JOSE `alg` (RFC 7518 §3.1).
    pub fn from_jose(alg: &str) -> Result<Self, String> {
        use HashAlgorithm::{Sha256, Sha384, Sha512};
        Ok(match alg {
            "RS256" => Self::RsaPkcs1(Sha256),
            "RS384" => Self::RsaPkcs1(Sha384),
            "RS512" => Self::RsaPkcs1(Sha512),
            "PS256" => Self::RsaPss(Sha256),
            "PS384" => Self::RsaPss(Sha384),
            "PS512" => Self::RsaPss(Sha512),
            "ES256" => Self::Ecdsa(Sha256),
            "ES384" => Self::Ecdsa(Sha384),
            "ES512" => Self::Ecdsa(Sha512),
            other => return Err(format!("unsupported JOSE algorithm {other:?}")),
        })
    }

    /// The hash the algorithm signs with.
    pub fn hash(self) -> HashAlgorithm {
        match self {
            Self::RsaPkcs1(h) | Self::RsaPss(h) | Self::Ecdsa(h) => h,
        }
    }
}

/// RSASSA-PSS-params (RFC 4055 §3.1): the hash from `[0] hashAlgorithm`, SHA-1 when absent
/// (refused).
fn pss_hash(params: Option<&[u8]>) -> Result<HashAlgorithm, String> {
    let params = params.ok_or("RSASSA-PSS without parameters")?;
    let seq = asn1::read_all(params)
        .and_then(|t| t.expect_tag(SEQUENCE, "RSASSA-PSS-params"))
        .map_err(|e| e.to_string())?;
    for field in seq.children().map_err(|e| e.to_string())? {
        if field.tag == asn1::ctx(0) {
            let alg = asn1::read_all(field.content).map_err(|e| e.to_string())?;
            let oid = alg
                .children()
                .map_err(|e| e.to_string())?
                .first()
                .map(|o| oid_text(o.content))
                .ok_or("RSASSA-PSS hashAlgorithm is empty")?;
            return HashAlgorithm::from_oid(&oid).map_err(|e| e.to_string());
        }
    }
    Err("RSASSA-PSS with SHA-1 is not accepted".into())
}

/// A dotted OID from the content octets of an OBJECT IDENTIFIER.
pub fn oid_text(content: &[u8]) -> String {
    der::asn1::ObjectIdentifier::from_bytes(content)
        .map(|o| o.to_string())
        .unwrap_or_else(|_| "invalid-oid".into())
}

/// The key's algorithm and, for EC keys, its curve, from a SubjectPublicKeyInfo.
fn key_kind(spki: &[u8]) -> Result<(String, Option<String>), String> {
    let seq = asn1::read_all(spki)
        .and_then(|t| t.expect_tag(SEQUENCE, "SubjectPublicKeyInfo"))
        .map_err(|e| e.to_string())?;
    let parts = seq.children().map_err(|e| e.to_string())?;
    let alg = parts.first().ok_or("SubjectPublicKeyInfo is empty")?;
    let alg_parts = alg.children().map_err(|e| e.to_string())?;
    let oid = alg_parts
        .first()
        .map(|o| oid_text(o.content))
        .ok_or("SubjectPublicKeyInfo algorithm is empty")?;
    let curve = alg_parts
        .get(1)
        .filter(|p| p.tag == asn1::OID)
        .map(|p| oid_text(p.content));
    Ok((oid, curve))
}

fn verification_algorithm(
    alg: SignatureAlgorithm,
    key_oid: &str,
    curve: Option<&str>,
    encoding: EcdsaEncoding,
) -> Result<Vec<&'static dyn VerificationAlgorithm>, String> {
    use EcdsaEncoding::{Der, Fixed};
    use HashAlgorithm::{Sha256, Sha384, Sha512};
    use SignatureAlgorithm::{Ecdsa, RsaPkcs1, RsaPss};
    let mismatch = || format!("{alg:?} does not fit a key of type {key_oid}");
    let one: &'static dyn VerificationAlgorithm = match alg {
        RsaPkcs1(h) | RsaPss(h) if key_oid == RSA_ENCRYPTION => match (alg, h) {
            (RsaPkcs1(_), Sha256) => &sig::RSA_PKCS1_2048_8192_SHA256,
            (RsaPkcs1(_), Sha384) => &sig::RSA_PKCS1_2048_8192_SHA384,
            (RsaPkcs1(_), Sha512) => &sig::RSA_PKCS1_2048_8192_SHA512,
            (_, Sha256) => return Ok(vec![&sig::RSA_PSS_2048_8192_SHA256, &PSS_MAX_SHA256]),
            (_, Sha384) => return Ok(vec![&sig::RSA_PSS_2048_8192_SHA384, &PSS_MAX_SHA384]),
            (_, Sha512) => return Ok(vec![&sig::RSA_PSS_2048_8192_SHA512, &PSS_MAX_SHA512]),
        },
        Ecdsa(h) if key_oid == EC_PUBLIC_KEY => match (curve, h, encoding) {
            (Some(P256), Sha256, Der) => &sig::ECDSA_P256_SHA256_ASN1,
            (Some(P256), Sha384, Der) => &sig::ECDSA_P256_SHA384_ASN1,
            (Some(P256), Sha512, Der) => &sig::ECDSA_P256_SHA512_ASN1,
            (Some(P384), Sha256, Der) => &sig::ECDSA_P384_SHA256_ASN1,
            (Some(P384), Sha384, Der) => &sig::ECDSA_P384_SHA384_ASN1,
            (Some(P384), Sha512, Der) => &sig::ECDSA_P384_SHA512_ASN1,
            (Some(P521), Sha256, Der) => &sig::ECDSA_P521_SHA256_ASN1,
            (Some(P521), Sha384, Der) => &sig::ECDSA_P521_SHA384_ASN1,
            (Some(P521), Sha512, Der) => &sig::ECDSA_P521_SHA512_ASN1,
            (Some(P256), Sha256, Fixed) => &sig::ECDSA_P256_SHA256_FIXED,
            (Some(P384), Sha384, Fixed) => &sig::ECDSA_P384_SHA384_FIXED,
            (Some(P521), Sha512, Fixed) => &sig::ECDSA_P521_SHA512_FIXED,
            (Some(P521), Sha256, Fixed) => &sig::ECDSA_P521_SHA256_FIXED,
            (Some(P521), Sha384, Fixed) => &sig::ECDSA_P521_SHA384_FIXED,
            (c, _, _) => return Err(format!("unsupported curve {c:?} for {alg:?}")),
        },
        _ => return Err(mismatch()),
    };
    Ok(vec![one])
}

/// Checks `signature` over `message` with the key of `spki` (a DER SubjectPublicKeyInfo).
/// The error says why, for a report: an unsupported or mismatched algorithm, or a value that
/// does not verify.
pub fn verify(
    spki: &[u8],
    alg: SignatureAlgorithm,
    message: &[u8],
    signature: &[u8],
    encoding: EcdsaEncoding,
) -> Result<(), String> {
    let (key_oid, curve) = key_kind(spki)?;
    let algorithms = verification_algorithm(alg, &key_oid, curve.as_deref(), encoding)?;
    if algorithms.into_iter().any(|a| {
        UnparsedPublicKey::new(a, spki)
            .verify(message, signature)
            .is_ok()
    }) {
        Ok(())
    } else {
        Err("the signature value does not verify with the public key".into())
    }
}

/// The SubjectPublicKeyInfo of a DER certificate.
pub fn certificate_spki(certificate: &[u8]) -> Result<&[u8], String> {
    signet_ades::cert::CertView::parse(certificate)
        .map(|c| c.spki)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P256_SHA256_FIXED_SIGNING,
        ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, KeyPair,
    };

    fn spki_of(pair: &EcdsaKeyPair, curve: &str) -> Vec<u8> {
        let point = pair.public_key().as_ref();
        let alg = asn1::seq(&[
            &asn1::oid(EC_PUBLIC_KEY).unwrap(),
            &asn1::oid(curve).unwrap(),
        ]);
        let mut bits = vec![0u8];
        bits.extend_from_slice(point);
        asn1::seq(&[&alg, &asn1::tlv(0x03, &bits)])
    }

    #[test]
    fn ecdsa_der_and_fixed_and_the_curve_from_the_key() {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let der_pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
        let fixed_pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let spki = spki_of(&der_pair, P256);
        let alg = SignatureAlgorithm::Ecdsa(HashAlgorithm::Sha256);
        let der_sig = der_pair.sign(&rng, b"message").unwrap();
        let fixed_sig = fixed_pair.sign(&rng, b"message").unwrap();
        assert_eq!(
            verify(&spki, alg, b"message", der_sig.as_ref(), EcdsaEncoding::Der),
            Ok(())
        );
        assert_eq!(
            verify(
                &spki,
                alg,
                b"message",
                fixed_sig.as_ref(),
                EcdsaEncoding::Fixed
            ),
            Ok(())
        );
        assert!(verify(&spki, alg, b"massage", der_sig.as_ref(), EcdsaEncoding::Der).is_err());

        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_ASN1_SIGNING, &rng).unwrap();
        let p384 =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
        let sig = p384.sign(&rng, b"message").unwrap();
        assert_eq!(
            verify(
                &spki_of(&p384, P384),
                SignatureAlgorithm::Ecdsa(HashAlgorithm::Sha384),
                b"message",
                sig.as_ref(),
                EcdsaEncoding::Der
            ),
            Ok(())
        );
    }

    #[test]
    fn names_of_algorithms() {
        assert_eq!(
            SignatureAlgorithm::from_jose("PS384"),
            Ok(SignatureAlgorithm::RsaPss(HashAlgorithm::Sha384))
        );
        assert!(SignatureAlgorithm::from_oid("1.2.840.113549.1.1.5", None, None).is_err());
        assert_eq!(
            SignatureAlgorithm::from_oid(RSA_ENCRYPTION, None, Some(HashAlgorithm::Sha512)),
            Ok(SignatureAlgorithm::RsaPkcs1(HashAlgorithm::Sha512))
        );
        assert!(
            SignatureAlgorithm::from_xmldsig("http://www.w3.org/2000/09/xmldsig#rsa-sha1").is_err()
        );
    }
}
