//! ECDSA signature values as XML-DSig and JWS want them: `r || s`, each left-padded to the
//! curve's field size (XMLDSig 1.1 §6.4.3, RFC 7518 §3.4). Key modules return X9.62 DER
//! `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` (what CMS and signHash use).

use signet_core::KeyType;

use crate::{AdesError, asn1};

/// The signature value in fixed-width `r || s` for ECDSA keys; other keys' values unchanged.
pub fn fixed_width(key_type: KeyType, value: &[u8]) -> Result<Vec<u8>, AdesError> {
    match key_type {
        KeyType::EcP256 => der_to_raw(value, 32),
        KeyType::EcP384 => der_to_raw(value, 48),
        _ => Ok(value.to_vec()),
    }
}

/// DER `SEQUENCE { r, s }` to `r || s` of `width` bytes each.
pub fn der_to_raw(der: &[u8], width: usize) -> Result<Vec<u8>, AdesError> {
    let bad = || {
        AdesError::SignatureValue(
            "the ECDSA signature value is not a DER SEQUENCE of two INTEGERs fitting the curve"
                .into(),
        )
    };
    let seq = asn1::read_all(der)
        .and_then(|t| t.expect_tag(asn1::SEQUENCE, "ECDSA-Sig-Value"))
        .map_err(|_| bad())?;
    let parts = seq.children().map_err(|_| bad())?;
    let [r, s] = parts.as_slice() else {
        return Err(bad());
    };
    let mut out = Vec::with_capacity(2 * width);
    for int in [r, s] {
        if int.tag != asn1::INTEGER || int.content.first().is_some_and(|b| b & 0x80 != 0) {
            return Err(bad());
        }
        let zeros = int.content.iter().take_while(|b| **b == 0).count();
        let value = &int.content[zeros..];
        if value.len() > width {
            return Err(bad());
        }
        out.extend(std::iter::repeat_n(0u8, width - value.len()));
        out.extend_from_slice(value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_becomes_fixed_width_r_and_s() {
        // r with a leading 0x00 (high bit set), s short (leading zero bytes dropped in DER).
        let mut r = vec![0x00, 0x80];
        r.extend([0x11; 31]);
        let s = vec![0x05];
        let der = asn1::seq(&[&asn1::tlv(asn1::INTEGER, &r), &asn1::tlv(asn1::INTEGER, &s)]);
        let raw = der_to_raw(&der, 32).unwrap();
        let mut want = vec![0x80];
        want.extend([0x11; 31]);
        want.extend([0u8; 31]);
        want.push(0x05);
        assert_eq!(raw, want);
        assert_eq!(fixed_width(KeyType::EcP256, &der).unwrap(), want);
        assert_eq!(fixed_width(KeyType::EcP384, &der).unwrap().len(), 96);
        assert_eq!(fixed_width(KeyType::Rsa2048, b"rsa").unwrap(), b"rsa");
        // Too long for the curve, negative, trailing garbage, three integers, empty: refused.
        let long = asn1::seq(&[
            &asn1::tlv(asn1::INTEGER, &[0x01; 33]),
            &asn1::tlv(asn1::INTEGER, &[1]),
        ]);
        let negative = asn1::seq(&[
            &asn1::tlv(asn1::INTEGER, &[0x80]),
            &asn1::tlv(asn1::INTEGER, &[1]),
        ]);
        let three = asn1::seq(&[
            &asn1::tlv(asn1::INTEGER, &[1]),
            &asn1::tlv(asn1::INTEGER, &[1]),
            &asn1::tlv(asn1::INTEGER, &[1]),
        ]);
        let mut trailing = der.clone();
        trailing.push(0);
        for bad in [long, negative, three, trailing, vec![0x30, 0x00]] {
            assert!(
                matches!(der_to_raw(&bad, 32), Err(AdesError::SignatureValue(_))),
                "{bad:02x?}"
            );
        }
    }
}
