//! Dotted OIDs as they travel in CSC JSON (`hashAlgorithmOID`, `signAlgo`, `key.algo`, `key.curve`).

pub const SHA256: &str = "2.16.840.1.101.3.4.2.1";
pub const SHA384: &str = "2.16.840.1.101.3.4.2.2";
pub const SHA512: &str = "2.16.840.1.101.3.4.2.3";

pub const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
pub const MGF1: &str = "1.2.840.113549.1.1.8";
pub const RSASSA_PSS: &str = "1.2.840.113549.1.1.10";
pub const SHA256_WITH_RSA: &str = "1.2.840.113549.1.1.11";
pub const SHA384_WITH_RSA: &str = "1.2.840.113549.1.1.12";
pub const SHA512_WITH_RSA: &str = "1.2.840.113549.1.1.13";

pub const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
pub const ECDSA_WITH_SHA256: &str = "1.2.840.10045.4.3.2";
pub const ECDSA_WITH_SHA384: &str = "1.2.840.10045.4.3.3";
pub const ECDSA_WITH_SHA512: &str = "1.2.840.10045.4.3.4";

pub const CURVE_P256: &str = "1.2.840.10045.3.1.7";
pub const CURVE_P384: &str = "1.3.132.0.34";

/// The DER content octets of the dotted object identifier `dotted` (X.690 §8.19), or `None`
/// when it is not one (fewer than two arcs, a first arc over 2, a second over 39 under 0 or
/// 1, an arc over 32 bits, leading zeros). OIDs that arrive as text (the TSA's configured
/// `policy_oid`, a time-stamp request's policy, `signet_ades::asn1::oid`) are encoded here:
/// const-oid 0.9's `ObjectIdentifier::new` writes arcs that are powers of 128 wrongly (128 as
/// `80 00`, which reads back as 0), found by fuzzing (`tsp_request`).
pub fn der_content(dotted: &str) -> Option<Vec<u8>> {
    let mut arcs = dotted.split('.').map(|a| {
        let canonical = !a.is_empty()
            && a.bytes().all(|b| b.is_ascii_digit())
            && (a == "0" || !a.starts_with('0'));
        canonical.then(|| a.parse::<u32>().ok()).flatten()
    });
    let first = arcs.next()??;
    let second = arcs.next()??;
    if first > 2 || (first < 2 && second > 39) {
        return None;
    }
    let mut out = Vec::new();
    push_base128(u64::from(first) * 40 + u64::from(second), &mut out);
    for arc in arcs {
        push_base128(u64::from(arc?), &mut out);
    }
    Some(out)
}

/// Appends `value` in base 128, most significant group first, bit 8 set on all but the last.
fn push_base128(value: u64, out: &mut Vec<u8>) {
    let groups = (u64::BITS - value.leading_zeros()).div_ceil(7).max(1);
    for i in (0..groups).rev() {
        let group = ((value >> (7 * i)) & 0x7f) as u8;
        out.push(if i == 0 { group } else { group | 0x80 });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_content_of_dotted_oids() {
        assert_eq!(
            der_content(SHA256).unwrap(),
            [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01]
        );
        // Powers of 128 need a leading 0x81 group (const-oid 0.9 writes 0x80).
        assert_eq!(der_content("1.3.128.1").unwrap(), [0x2b, 0x81, 0x00, 0x01]);
        assert_eq!(der_content("1.3.16384").unwrap(), [0x2b, 0x81, 0x80, 0x00]);
        assert_eq!(der_content("1.3.127").unwrap(), [0x2b, 0x7f]);
        assert_eq!(der_content("2.999.3").unwrap(), [0x88, 0x37, 0x03]);
        assert_eq!(
            der_content("1.3.4294967295").unwrap(),
            [0x2b, 0x8f, 0xff, 0xff, 0xff, 0x7f]
        );
        for bad in [
            "",
            "1",
            "1.",
            "3.1",
            "1.40",
            "1.2.x",
            "1.02.3",
            "1.2.-3",
            "1.2.4294967296",
            "1..2",
        ] {
            assert_eq!(der_content(bad), None, "{bad}");
        }
    }
}
