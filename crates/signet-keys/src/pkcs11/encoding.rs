//! The DER the PKCS#11 backend produces or unwraps: SubjectPublicKeyInfo from the token's public
//! key attributes, and ECDSA signatures from the raw `r || s` that CKM_ECDSA returns.

use signet_core::KeyType;
use spki::der::asn1::{Any, BitString, ObjectIdentifier, OctetStringRef, UintRef};
use spki::der::{Decode, Encode, Header, Tag};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::KeyError;

/// id-ecPublicKey (RFC 5480).
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// rsaEncryption (RFC 8017).
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// DER `SEQUENCE { INTEGER, INTEGER }` of two big-endian unsigned values: both an ECDSA
/// signature (`r`, `s`) and an RSAPublicKey (`modulus`, `publicExponent`). `UintRef` strips
/// leading zeros and adds the 0x00 that keeps a value with the high bit set positive, so the
/// INTEGERs come out minimal.
fn integer_pair(first: &[u8], second: &[u8]) -> spki::der::Result<Vec<u8>> {
    let first = UintRef::new(first)?;
    let second = UintRef::new(second)?;
    let mut out = Vec::new();
    Header::new(
        Tag::Sequence,
        (first.encoded_len()? + second.encoded_len()?)?,
    )?
    .encode_to_vec(&mut out)?;
    first.encode_to_vec(&mut out)?;
    second.encode_to_vec(&mut out)?;
    Ok(out)
}

fn der_failed(what: &str) -> KeyError {
    KeyError::Internal(format!("cannot DER-encode {what}"))
}

/// Field (and group order) size in bytes of an EC key type: what CKM_ECDSA consumes and
/// returns per coordinate. `None` for RSA.
pub(super) fn ec_field_len(key_type: KeyType) -> Option<usize> {
    match key_type {
        KeyType::EcP256 => Some(32),
        KeyType::EcP384 => Some(48),
        _ => None,
    }
}

fn curve_oid(key_type: KeyType) -> Option<ObjectIdentifier> {
    match key_type {
        KeyType::EcP256 => Some(P256),
        KeyType::EcP384 => Some(P384),
        _ => None,
    }
}

/// CKA_EC_PARAMS for an EC key type: the DER OID of the named curve.
pub(super) fn ec_params(key_type: KeyType) -> Result<Vec<u8>, KeyError> {
    curve_oid(key_type)
        .ok_or_else(|| KeyError::Internal(format!("{key_type} is not an EC key type")))?
        .to_der()
        .map_err(|_| der_failed("curve OID"))
}

/// The uncompressed point inside CKA_EC_POINT. PKCS#11 says the attribute is the DER encoding
/// of an OCTET STRING holding the point (SoftHSM does that); some modules return the bare
/// point. The two cannot be confused: the wrapped form is two bytes longer.
pub(super) fn unwrap_ec_point(key_type: KeyType, ec_point: &[u8]) -> Result<Vec<u8>, KeyError> {
    let field = ec_field_len(key_type)
        .ok_or_else(|| KeyError::Internal(format!("{key_type} is not an EC key type")))?;
    let point_len = 1 + 2 * field;
    let point = if ec_point.len() == point_len {
        ec_point
    } else {
        OctetStringRef::from_der(ec_point)
            .map(|octets| octets.as_bytes())
            .unwrap_or_default()
    };
    if point.len() != point_len || point[0] != 0x04 {
        return Err(KeyError::Internal(format!(
            "token returned a malformed {key_type} public point ({} bytes)",
            ec_point.len()
        )));
    }
    Ok(point.to_vec())
}

/// SubjectPublicKeyInfo for an EC public key given its uncompressed point.
pub(super) fn ec_spki(key_type: KeyType, point: &[u8]) -> Result<Vec<u8>, KeyError> {
    let curve = curve_oid(key_type)
        .ok_or_else(|| KeyError::Internal(format!("{key_type} is not an EC key type")))?;
    let spki = SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: EC_PUBLIC_KEY,
            parameters: Some(Any::encode_from(&curve).map_err(|_| der_failed("curve OID"))?),
        },
        subject_public_key: BitString::from_bytes(point).map_err(|_| der_failed("EC point"))?,
    };
    spki.to_der().map_err(|_| der_failed("EC public key"))
}

/// SubjectPublicKeyInfo for an RSA public key given CKA_MODULUS and CKA_PUBLIC_EXPONENT
/// (big-endian, possibly with leading zeros).
pub(super) fn rsa_spki(modulus: &[u8], exponent: &[u8]) -> Result<Vec<u8>, KeyError> {
    let rsa_public_key = integer_pair(modulus, exponent).map_err(|_| der_failed("RSAPublicKey"))?;
    let spki = SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: RSA_ENCRYPTION,
            parameters: Some(Any::null()),
        },
        subject_public_key: BitString::from_bytes(&rsa_public_key)
            .map_err(|_| der_failed("RSA public key"))?,
    };
    spki.to_der().map_err(|_| der_failed("RSA public key"))
}

/// Bit length of a big-endian unsigned integer (a modulus as the token returns it).
pub(super) fn bit_len(be: &[u8]) -> usize {
    match be.iter().position(|&b| b != 0) {
        Some(first) => (be.len() - first) * 8 - be[first].leading_zeros() as usize,
        None => 0,
    }
}

/// CKM_ECDSA output (`r || s`, each the field size, big-endian) as DER
/// `SEQUENCE { INTEGER r, INTEGER s }`.
pub(super) fn ecdsa_to_der(key_type: KeyType, raw: &[u8]) -> Result<Vec<u8>, KeyError> {
    let field = ec_field_len(key_type)
        .ok_or_else(|| KeyError::Internal(format!("{key_type} is not an EC key type")))?;
    if raw.len() != 2 * field {
        return Err(KeyError::Internal(format!(
            "token returned a {}-byte ECDSA signature for {key_type} (expected {})",
            raw.len(),
            2 * field
        )));
    }
    let (r, s) = raw.split_at(field);
    integer_pair(r, s).map_err(|_| der_failed("ECDSA signature"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use spki::SubjectPublicKeyInfoRef;

    #[test]
    fn ecdsa_der_is_minimal() {
        // High bit set: a 0x00 is prepended. Leading zeros: stripped.
        let mut raw = vec![0u8; 64];
        raw[0] = 0x80;
        raw[31] = 1;
        raw[32..34].copy_from_slice(&[0x00, 0x00]);
        raw[34] = 0x7f;
        let der = ecdsa_to_der(KeyType::EcP256, &raw).unwrap();
        assert_eq!(der[0], 0x30);
        assert_eq!(&der[2..5], &[0x02, 33, 0x00]);
        assert_eq!(der[5], 0x80);
        let s = &der[2 + 2 + 33..];
        assert_eq!(&s[..3], &[0x02, 30, 0x7f]);
        assert_eq!(der[1] as usize, der.len() - 2);

        // All-zero s encodes as INTEGER 0.
        let der = ecdsa_to_der(KeyType::EcP256, &[[1u8; 32], [0u8; 32]].concat()).unwrap();
        assert!(der.ends_with(&[0x02, 0x01, 0x00]));

        // P-384, both values with the high bit set: 2 * (2 + 1 + 48) content bytes.
        let der = ecdsa_to_der(KeyType::EcP384, &[0xffu8; 96]).unwrap();
        assert_eq!(&der[..5], &[0x30, 102, 0x02, 49, 0x00]);

        assert!(ecdsa_to_der(KeyType::EcP256, &[1u8; 63]).is_err());
        assert!(ecdsa_to_der(KeyType::Rsa2048, &[1u8; 64]).is_err());
    }

    #[test]
    fn ec_point_unwrapping() {
        let mut point = vec![0x04];
        point.extend_from_slice(&[0x3f; 64]);
        // Bare point, even one whose bytes also parse as an OCTET STRING header.
        assert_eq!(unwrap_ec_point(KeyType::EcP256, &point).unwrap(), point);
        // DER OCTET STRING, as SoftHSM returns it.
        let wrapped = OctetStringRef::new(&point).unwrap().to_der().unwrap();
        assert_eq!(wrapped.len(), 67);
        assert_eq!(unwrap_ec_point(KeyType::EcP256, &wrapped).unwrap(), point);
        // Wrong curve size or garbage.
        assert!(unwrap_ec_point(KeyType::EcP384, &wrapped).is_err());
        assert!(unwrap_ec_point(KeyType::EcP256, &[0x04, 0x01, 0x02]).is_err());
        assert!(unwrap_ec_point(KeyType::EcP256, &[]).is_err());
    }

    #[test]
    fn spki_encodings_parse() {
        let mut point = vec![0x04];
        point.extend_from_slice(&[9; 96]);
        let der = ec_spki(KeyType::EcP384, &point).unwrap();
        let spki = SubjectPublicKeyInfoRef::from_der(&der).unwrap();
        assert_eq!(spki.algorithm.oid, EC_PUBLIC_KEY);
        let curve: ObjectIdentifier = spki.algorithm.parameters.unwrap().decode_as().unwrap();
        assert_eq!(curve, P384);
        assert_eq!(spki.subject_public_key.raw_bytes(), &point[..]);

        let modulus = [&[0x00u8, 0xc1][..], &[0x55; 255]].concat();
        let der = rsa_spki(&modulus, &[0x01, 0x00, 0x01]).unwrap();
        let spki = SubjectPublicKeyInfoRef::from_der(&der).unwrap();
        assert_eq!(spki.algorithm.oid, RSA_ENCRYPTION);
        let key = spki.subject_public_key.raw_bytes();
        // SEQUENCE (long form) { INTEGER 00 c1 55.. (257 bytes), INTEGER 01 00 01 }
        assert_eq!(&key[..4], &[0x30, 0x82, 0x01, 0x0a]);
        assert_eq!(&key[4..9], &[0x02, 0x82, 0x01, 0x01, 0x00]);
        assert!(key.ends_with(&[0x02, 0x03, 0x01, 0x00, 0x01]));
        assert_eq!(ec_params(KeyType::EcP256).unwrap()[..2], [0x06, 0x08]);
    }

    #[test]
    fn modulus_bit_length() {
        assert_eq!(bit_len(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(bit_len(&[0x01, 0x00]), 9);
        assert_eq!(bit_len(&[0; 4]), 0);
        assert_eq!(bit_len(&[0xff; 256]), 2048);
    }
}
