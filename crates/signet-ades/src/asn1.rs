//! A small DER writer and reader, just what CMS assembly needs.
//!
//! Certificates, CRLs, OCSP responses and time-stamp tokens are carried as the exact bytes the
//! CA or TSA produced: decoding them into typed structures and re-encoding would silently
//! "repair" a non-canonical encoding and break the issuer's signature. So everything here works
//! on raw TLVs: the writer concatenates TLVs (definite lengths, X.690 §10.1) and sorts SET OF
//! members by their encodings (X.690 §11.6), the reader splits definite-length TLVs and refuses
//! anything else (indefinite lengths, high tag numbers) with a message instead of a panic.

use crate::AdesError;

pub const SEQUENCE: u8 = 0x30;
pub const SET: u8 = 0x31;
pub const INTEGER: u8 = 0x02;
pub const OCTET_STRING: u8 = 0x04;
pub const NULL: u8 = 0x05;
pub const OID: u8 = 0x06;
pub const UTF8_STRING: u8 = 0x0c;
pub const UTC_TIME: u8 = 0x17;
pub const GENERALIZED_TIME: u8 = 0x18;

/// Context-specific constructed tag `[n]` (EXPLICIT, or IMPLICIT over a constructed type).
pub const fn ctx(n: u8) -> u8 {
    0xa0 | n
}

/// Appends a DER definite length (X.690 §8.1.3: short form below 128, else the fewest octets).
pub fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// One TLV with a definite, minimal length.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    push_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

/// A TLV whose content is the concatenation of `parts`.
pub fn cons(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let len = parts.iter().map(|p| p.len()).sum::<usize>();
    let mut out = Vec::with_capacity(len + 6);
    out.push(tag);
    push_len(&mut out, len);
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

pub fn seq(parts: &[&[u8]]) -> Vec<u8> {
    cons(SEQUENCE, parts)
}

/// `SET OF` in DER: members sorted by their encodings, compared as octet strings (X.690
/// §11.6). Identical members are kept once (a CMS certificate set does not list a certificate
/// twice). Strict validators (pyHanko, rfc3161-client) reject unsorted sets.
pub fn set_of(items: Vec<Vec<u8>>) -> Vec<u8> {
    set_of_tagged(SET, items)
}

/// [`set_of`] under an IMPLICIT context tag, e.g. `certificates [0] IMPLICIT CertificateSet`.
pub fn set_of_tagged(tag: u8, mut items: Vec<Vec<u8>>) -> Vec<u8> {
    items.sort();
    items.dedup();
    let parts: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
    cons(tag, &parts)
}

pub fn oid(dotted: &str) -> Result<Vec<u8>, AdesError> {
    signet_core::oid::der_content(dotted)
        .map(|content| tlv(OID, &content))
        .ok_or_else(|| AdesError::InvalidRequest(format!("invalid object identifier {dotted}")))
}

pub fn octet_string(bytes: &[u8]) -> Vec<u8> {
    tlv(OCTET_STRING, bytes)
}

pub fn null() -> Vec<u8> {
    vec![NULL, 0]
}

pub fn utf8(text: &str) -> Vec<u8> {
    tlv(UTF8_STRING, text.as_bytes())
}

/// A non-negative INTEGER.
pub fn uint(value: u64) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let skip = bytes
        .iter()
        .take_while(|b| **b == 0)
        .count()
        .min(bytes.len() - 1);
    let mut content = Vec::with_capacity(9);
    if bytes[skip] & 0x80 != 0 {
        content.push(0);
    }
    content.extend_from_slice(&bytes[skip..]);
    tlv(INTEGER, &content)
}

/// `Time` for CMS signing-time (RFC 5652 §11.3): UTCTime from 1950 through 2049,
/// GeneralizedTime otherwise; always UTC with seconds, no fractions (X.690 §11.7/11.8).
pub fn cms_time(unix: i64) -> Result<Vec<u8>, AdesError> {
    let t = time::OffsetDateTime::from_unix_timestamp(unix)
        .map_err(|_| AdesError::Internal("signing time out of range".into()))?;
    let (y, mo, d, h, mi, s) = (
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    );
    Ok(if (1950..2050).contains(&y) {
        let text = format!("{:02}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z", y % 100);
        tlv(UTC_TIME, text.as_bytes())
    } else {
        let text = format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z");
        tlv(GENERALIZED_TIME, text.as_bytes())
    })
}

/// A TLV read from a buffer: its tag, the whole encoding and the content.
#[derive(Debug, Clone, Copy)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub raw: &'a [u8],
    pub content: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// The members of a constructed value, in order.
    pub fn children(&self) -> Result<Vec<Tlv<'a>>, AdesError> {
        if self.tag & 0x20 == 0 {
            return Err(not_der(
                "a primitive value where a constructed one was expected",
            ));
        }
        let mut out = Vec::new();
        let mut rest = self.content;
        while !rest.is_empty() {
            let (t, r) = read(rest)?;
            out.push(t);
            rest = r;
        }
        Ok(out)
    }

    pub fn expect_tag(self, tag: u8, what: &str) -> Result<Self, AdesError> {
        if self.tag == tag {
            Ok(self)
        } else {
            Err(not_der(&format!(
                "{what}: expected tag {tag:#04x}, found {:#04x}",
                self.tag
            )))
        }
    }
}

fn not_der(msg: &str) -> AdesError {
    AdesError::InvalidDocument(format!("malformed DER: {msg}"))
}

/// Reads one definite-length TLV; returns it and what follows.
pub fn read(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), AdesError> {
    let (&tag, rest) = input
        .split_first()
        .ok_or_else(|| not_der("unexpected end of data"))?;
    if tag & 0x1f == 0x1f {
        return Err(not_der("high tag numbers are not used here"));
    }
    let (&first, rest) = rest
        .split_first()
        .ok_or_else(|| not_der("unexpected end of data in a length"))?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else if first == 0x80 {
        return Err(not_der("indefinite length (BER) is not DER"));
    } else {
        let n = (first & 0x7f) as usize;
        if n > 4 || rest.len() < n {
            return Err(not_der("length too large"));
        }
        let mut len = 0usize;
        for b in &rest[..n] {
            len = (len << 8) | *b as usize;
        }
        if len < 0x80 || rest[0] == 0 {
            return Err(not_der("length not minimally encoded"));
        }
        (len, &rest[n..])
    };
    if rest.len() < len {
        return Err(not_der("value longer than the data"));
    }
    let header = input.len() - rest.len();
    let (content, after) = rest.split_at(len);
    Ok((
        Tlv {
            tag,
            raw: &input[..header + len],
            content,
        },
        after,
    ))
}

/// Reads exactly one TLV spanning all of `input`.
pub fn read_all(input: &[u8]) -> Result<Tlv<'_>, AdesError> {
    let (t, rest) = read(input)?;
    if !rest.is_empty() {
        return Err(not_der("trailing data after the value"));
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_minimal() {
        assert_eq!(tlv(0x04, &[1; 3])[..2], [0x04, 3]);
        assert_eq!(tlv(0x04, &[1; 200])[..3], [0x04, 0x81, 200]);
        assert_eq!(tlv(0x04, &[1; 300])[..4], [0x04, 0x82, 0x01, 0x2c]);
        let big = tlv(0x04, &[0; 70_000]);
        assert_eq!(big[..5], [0x04, 0x83, 0x01, 0x11, 0x70]);
        assert_eq!(read_all(&big).unwrap().content.len(), 70_000);
    }

    #[test]
    fn integers() {
        assert_eq!(uint(0), [2, 1, 0]);
        assert_eq!(uint(127), [2, 1, 127]);
        assert_eq!(uint(128), [2, 2, 0, 128]);
        assert_eq!(uint(256), [2, 2, 1, 0]);
    }

    #[test]
    fn set_of_is_sorted_and_deduplicated() {
        let s = set_of(vec![vec![0x04, 1, 9], vec![0x02, 1, 5], vec![0x04, 1, 9]]);
        assert_eq!(s, [0x31, 6, 0x02, 1, 5, 0x04, 1, 9]);
    }

    #[test]
    fn times() {
        assert_eq!(cms_time(0).unwrap(), tlv(UTC_TIME, b"700101000000Z"));
        // 2050-01-01T00:00:00Z switches to GeneralizedTime (RFC 5652 §11.3).
        assert_eq!(
            cms_time(2_524_608_000).unwrap(),
            tlv(GENERALIZED_TIME, b"20500101000000Z")
        );
    }

    #[test]
    fn reader_refuses_ber_and_garbage() {
        assert!(read(&[0x30, 0x80, 0, 0]).is_err());
        assert!(read(&[0x30, 0x05, 1]).is_err());
        assert!(read(&[0x1f, 0x01, 0]).is_err());
        assert!(read(&[0x04, 0x81, 0x05, 1, 2, 3, 4, 5]).is_err());
        assert!(read(&[]).is_err());
        assert!(read(&[0x04, 0x89, 1, 1, 1, 1, 1, 1, 1, 1, 1]).is_err());
        let t = read_all(&[0x30, 3, 2, 1, 7]).unwrap();
        assert_eq!(t.children().unwrap()[0].content, [7]);
        assert!(read_all(&[0x30, 3, 2, 1, 7, 0]).is_err());
    }
}
