//! CMS SignedData (RFC 5652) as validation reads it, for CAdES, PAdES and time-stamp tokens:
//! the parts of a SignedData and of each SignerInfo as the exact bytes found (signatures are
//! over them), and the checks of one signer — message digest, signature value, ESS signing
//! certificate reference.
//!
//! DER is read strictly with [`signet_ades::asn1`]. Third-party tools (openssl `cms -sign`)
//! write BER with indefinite lengths and constructed OCTET STRINGs: [`to_der`] rewrites such
//! input to definite lengths (depth, element count and size bounded) without touching anything
//! that was DER already, so the signed attributes, certificates and tokens keep their bytes.

use std::borrow::Cow;

use aws_lc_rs::digest;
use signet_ades::asn1::{self, INTEGER, OCTET_STRING, OID, SEQUENCE, SET, Tlv};
use signet_ades::cert::CertView;
use signet_ades::oids;
use signet_core::HashAlgorithm;
use time::OffsetDateTime;

use crate::Check;
use crate::crypto::{self, EcdsaEncoding, SignatureAlgorithm};

/// RFC 2634 §5.4: id-aa-signingCertificate (ESS v1, SHA-1 certificate hashes).
pub const SIGNING_CERTIFICATE_V1: &str = "1.2.840.113549.1.9.16.2.12";
/// EN 319 122-1 §5.5.1: id-aa-ets-certValues.
pub const CERTIFICATE_VALUES: &str = "1.2.840.113549.1.9.16.2.23";
/// EN 319 122-1 §5.5.2: id-aa-ets-revocationValues.
pub const REVOCATION_VALUES: &str = "1.2.840.113549.1.9.16.2.24";
/// RFC 6960 §4.2.1: id-pkix-ocsp-basic.
pub const OCSP_BASIC: &str = "1.3.6.1.5.5.7.48.1.1";
/// Adobe's revocation information archival (ISO 32000-1 §12.8.3.3.2), a signed attribute.
pub const ADBE_REVOCATION_INFO_ARCHIVAL: &str = "1.2.840.113583.1.1.8";
const SUBJECT_KEY_IDENTIFIER: &str = "2.5.29.14";

/// The constraint failure of a SignerInfo without an ESS signing certificate reference.
pub const ESS_MISSING: &str =
    "the signing-certificate-v2 signed attribute is missing (EN 319 122-1 §5.2.2)";

/// Deepest BER nesting accepted (a CMS with a token with certificates needs about 25).
const MAX_DEPTH: usize = 64;
/// Most BER elements rewritten to DER.
const MAX_ELEMENTS: usize = 1 << 21;
/// Most certificates, revocation values, signers or attributes in one set.
const MAX_ITEMS: usize = 4096;

fn text(e: impl ToString) -> String {
    e.to_string()
}

/// The input as DER: borrowed when it is DER already, else rewritten from BER (indefinite
/// lengths, non-minimal lengths, constructed OCTET STRINGs). Exactly one value, no trailing
/// bytes.
pub fn to_der(input: &[u8]) -> Result<Cow<'_, [u8]>, String> {
    if is_der(input) {
        return Ok(Cow::Borrowed(input));
    }
    let mut budget = MAX_ELEMENTS;
    let (node, rest) = ber_node(input, 0, &mut budget)?;
    if !rest.is_empty() {
        return Err("malformed CMS: trailing data after the value".into());
    }
    let mut out = Vec::with_capacity(node.encoded_len());
    node.write(&mut out);
    Ok(Cow::Owned(out))
}

/// The length of the first (BER or DER) value of `input`, so that what follows can be checked
/// (a PDF `/Contents` is zero-padded after the CMS).
pub fn value_len(input: &[u8]) -> Result<usize, String> {
    let mut budget = MAX_ELEMENTS;
    let (_, rest) = ber_node(input, 0, &mut budget)?;
    Ok(input.len() - rest.len())
}

fn is_der(input: &[u8]) -> bool {
    fn walk(t: &Tlv<'_>, depth: usize) -> bool {
        if t.tag & 0x20 == 0 {
            return true;
        }
        if depth > MAX_DEPTH {
            return false;
        }
        match t.children() {
            Ok(children) => children.iter().all(|c| walk(c, depth + 1)),
            Err(_) => false,
        }
    }
    asn1::read_all(input).is_ok_and(|t| walk(&t, 0))
}

enum Node<'a> {
    Primitive { tag: u8, parts: Vec<&'a [u8]> },
    Constructed { tag: u8, children: Vec<Node<'a>> },
}

fn header_len(len: usize) -> usize {
    if len < 0x80 {
        2
    } else {
        2 + (usize::BITS / 8 - len.leading_zeros() / 8) as usize
    }
}

impl Node<'_> {
    fn content_len(&self) -> usize {
        match self {
            Node::Primitive { parts, .. } => parts.iter().map(|p| p.len()).sum(),
            Node::Constructed { children, .. } => children.iter().map(Node::encoded_len).sum(),
        }
    }

    fn encoded_len(&self) -> usize {
        let len = self.content_len();
        header_len(len) + len
    }

    fn write(&self, out: &mut Vec<u8>) {
        let len = self.content_len();
        let tag = match self {
            Node::Primitive { tag, .. } | Node::Constructed { tag, .. } => *tag,
        };
        out.push(tag);
        asn1::push_len(out, len);
        match self {
            Node::Primitive { parts, .. } => parts.iter().for_each(|p| out.extend_from_slice(p)),
            Node::Constructed { children, .. } => children.iter().for_each(|c| c.write(out)),
        }
    }
}

/// One BER value and what follows it.
fn ber_node<'a>(
    input: &'a [u8],
    depth: usize,
    budget: &mut usize,
) -> Result<(Node<'a>, &'a [u8]), String> {
    let bad = |m: &str| format!("malformed CMS: {m}");
    if depth > MAX_DEPTH {
        return Err(bad("nested too deeply"));
    }
    *budget = budget
        .checked_sub(1)
        .ok_or_else(|| bad("too many elements"))?;
    let (&tag, rest) = input
        .split_first()
        .ok_or_else(|| bad("unexpected end of data"))?;
    if tag & 0x1f == 0x1f {
        return Err(bad("high tag numbers are not used in CMS"));
    }
    if tag == 0 {
        return Err(bad("unexpected end-of-contents"));
    }
    let (&first, rest) = rest
        .split_first()
        .ok_or_else(|| bad("unexpected end of data in a length"))?;
    let constructed = tag & 0x20 != 0;
    let (content, after, indefinite) = if first == 0x80 {
        if !constructed {
            return Err(bad("indefinite length on a primitive value"));
        }
        (rest, &rest[..0], true)
    } else {
        let (len, rest) = if first < 0x80 {
            (first as usize, rest)
        } else {
            let n = (first & 0x7f) as usize;
            if n > 4 || rest.len() < n {
                return Err(bad("length too large"));
            }
            let (len_bytes, rest) = rest.split_at(n);
            (
                len_bytes.iter().fold(0usize, |l, b| (l << 8) | *b as usize),
                rest,
            )
        };
        if rest.len() < len {
            return Err(bad("value longer than the data"));
        }
        let (content, after) = rest.split_at(len);
        (content, after, false)
    };
    if !constructed {
        return Ok((
            Node::Primitive {
                tag,
                parts: vec![content],
            },
            after,
        ));
    }
    let mut children = Vec::new();
    let mut rest = content;
    loop {
        if indefinite {
            if let Some(r) = rest.strip_prefix(&[0u8, 0][..]) {
                rest = r;
                break;
            }
        } else if rest.is_empty() {
            break;
        }
        let (child, r) = ber_node(rest, depth + 1, budget)?;
        children.push(child);
        rest = r;
    }
    let after = if indefinite { rest } else { after };
    // X.690 §8.7.3: a constructed OCTET STRING is the concatenation of its segments.
    if tag == 0x24 {
        let mut parts = Vec::new();
        for c in children {
            match c {
                Node::Primitive {
                    tag: OCTET_STRING,
                    parts: p,
                } => parts.extend(p),
                _ => return Err(bad("a constructed OCTET STRING holds something else")),
            }
        }
        return Ok((
            Node::Primitive {
                tag: OCTET_STRING,
                parts,
            },
            after,
        ));
    }
    if tag & 0xc0 == 0 && tag != 0x30 && tag != 0x31 {
        return Err(bad(
            "constructed encoding of a string type other than OCTET STRING",
        ));
    }
    Ok((Node::Constructed { tag, children }, after))
}

/// `Attribute ::= SEQUENCE { attrType, attrValues SET OF AttributeValue }`.
#[derive(Debug, Clone)]
pub struct Attribute<'a> {
    /// Dotted.
    pub oid: String,
    /// The attrType OID TLV.
    pub attr_type: &'a [u8],
    pub values: Vec<Tlv<'a>>,
}

/// How a SignerInfo names its certificate.
#[derive(Debug, Clone, Copy)]
pub enum SignerId<'a> {
    /// `IssuerAndSerialNumber`: the issuer Name TLV and the serialNumber INTEGER TLV.
    IssuerSerial { issuer: &'a [u8], serial: &'a [u8] },
    /// `[0] SubjectKeyIdentifier`: the key identifier octets.
    KeyId(&'a [u8]),
}

/// One SignerInfo, as encoded.
#[derive(Debug, Clone)]
pub struct SignerInfo<'a> {
    pub sid: SignerId<'a>,
    /// The digestAlgorithm `AlgorithmIdentifier`.
    pub digest_algorithm: Tlv<'a>,
    /// `[0] IMPLICIT SignedAttributes` as found (tag 0xA0).
    pub signed_attrs: Option<Tlv<'a>>,
    pub signature_algorithm: Tlv<'a>,
    /// The signature value octets.
    pub signature: &'a [u8],
    pub unsigned_attrs: Vec<Attribute<'a>>,
    /// The fields version … signature as encoded, concatenated (archive-time-stamp-v3 input).
    pub fields: &'a [u8],
}

/// A SignedData, as encoded.
#[derive(Debug, Clone)]
pub struct SignedData<'a> {
    /// The eContentType OID TLV.
    pub econtent_type: Tlv<'a>,
    /// The encapsulated content octets, when attached.
    pub econtent: Option<&'a [u8]>,
    /// `CertificateChoices` TLVs in the order of the set.
    pub certificate_choices: Vec<&'a [u8]>,
    /// `RevocationInfoChoice` TLVs in the order of the set.
    pub revocation_choices: Vec<&'a [u8]>,
    pub signer_infos: Vec<SignerInfo<'a>>,
}

fn items<'a>(t: &Tlv<'a>, what: &str) -> Result<Vec<Tlv<'a>>, String> {
    let children = t.children().map_err(|e| format!("{what}: {e}"))?;
    if children.len() > MAX_ITEMS {
        return Err(format!("{what}: more than {MAX_ITEMS} entries"));
    }
    Ok(children)
}

fn oid_of(t: &Tlv<'_>) -> Option<String> {
    (t.tag == OID).then(|| crypto::oid_text(t.content))
}

/// The dotted OID of an `AlgorithmIdentifier` and its parameters TLV, if any.
pub fn algorithm<'a>(t: &Tlv<'a>) -> Result<(String, Option<Tlv<'a>>), String> {
    let parts = t.children().map_err(text)?;
    let oid = parts
        .first()
        .and_then(oid_of)
        .ok_or("malformed AlgorithmIdentifier")?;
    Ok((oid, parts.get(1).copied()))
}

/// The attributes of a `SET OF Attribute` (or its `[n] IMPLICIT` form).
pub fn attributes<'a>(t: &Tlv<'a>) -> Result<Vec<Attribute<'a>>, String> {
    let mut out = Vec::new();
    for a in items(t, "attributes")? {
        let parts = a
            .expect_tag(SEQUENCE, "Attribute")
            .and_then(|a| a.children())
            .map_err(text)?;
        let (Some(attr_type), Some(values), None) = (parts.first(), parts.get(1), parts.get(2))
        else {
            return Err("malformed Attribute".into());
        };
        let oid = oid_of(attr_type).ok_or("malformed Attribute type")?;
        if values.tag != SET {
            return Err(format!("attribute {oid}: attrValues is not a SET"));
        }
        out.push(Attribute {
            oid,
            attr_type: attr_type.raw,
            values: items(values, "attrValues")?,
        });
    }
    Ok(out)
}

/// Reads a DER `ContentInfo` holding SignedData (use [`to_der`] first for BER input).
pub fn parse(der: &[u8]) -> Result<SignedData<'_>, String> {
    let bad = |m: &str| format!("malformed CMS: {m}");
    let ci = asn1::read_all(der)
        .and_then(|t| t.expect_tag(SEQUENCE, "ContentInfo"))
        .and_then(|t| t.children())
        .map_err(text)?;
    let (Some(ct), Some(content)) = (ci.first(), ci.get(1)) else {
        return Err(bad("not a ContentInfo"));
    };
    if oid_of(ct).as_deref() != Some(oids::SIGNED_DATA) || content.tag != asn1::ctx(0) {
        return Err(bad("the ContentInfo does not hold SignedData"));
    }
    let sd = asn1::read_all(content.content)
        .and_then(|t| t.expect_tag(SEQUENCE, "SignedData"))
        .and_then(|t| t.children())
        .map_err(text)?;
    let mut it = sd.iter().peekable();
    it.next()
        .filter(|v| v.tag == INTEGER)
        .ok_or_else(|| bad("no version"))?;
    it.next()
        .filter(|d| d.tag == SET)
        .ok_or_else(|| bad("no digestAlgorithms"))?;
    let encap = it
        .next()
        .filter(|e| e.tag == SEQUENCE)
        .ok_or_else(|| bad("no encapContentInfo"))?
        .children()
        .map_err(text)?;
    let econtent_type = *encap
        .first()
        .filter(|t| t.tag == OID)
        .ok_or_else(|| bad("no eContentType"))?;
    let econtent = match encap.get(1) {
        None => None,
        Some(t) if t.tag == asn1::ctx(0) => {
            let inner = asn1::read_all(t.content).map_err(text)?;
            if inner.tag != OCTET_STRING {
                return Err(bad("eContent is not an OCTET STRING"));
            }
            Some(inner.content)
        }
        Some(_) => return Err(bad("malformed eContent")),
    };
    let mut certificate_choices = Vec::new();
    if let Some(t) = it.next_if(|t| t.tag == asn1::ctx(0)) {
        certificate_choices = items(t, "certificates")?.iter().map(|c| c.raw).collect();
    }
    let mut revocation_choices = Vec::new();
    if let Some(t) = it.next_if(|t| t.tag == asn1::ctx(1)) {
        revocation_choices = items(t, "crls")?.iter().map(|c| c.raw).collect();
    }
    let signers = it
        .next()
        .filter(|s| s.tag == SET)
        .ok_or_else(|| bad("no signerInfos"))?;
    if it.next().is_some() {
        return Err(bad("trailing fields in SignedData"));
    }
    let signer_infos = items(signers, "signerInfos")?
        .iter()
        .map(signer_info)
        .collect::<Result<_, _>>()?;
    Ok(SignedData {
        econtent_type,
        econtent,
        certificate_choices,
        revocation_choices,
        signer_infos,
    })
}

fn signer_info<'a>(t: &Tlv<'a>) -> Result<SignerInfo<'a>, String> {
    let bad = |m: &str| format!("malformed SignerInfo: {m}");
    let fields = t
        .expect_tag(SEQUENCE, "SignerInfo")
        .and_then(|t| t.children())
        .map_err(text)?;
    let mut it = fields.iter().peekable();
    it.next()
        .filter(|v| v.tag == INTEGER)
        .ok_or_else(|| bad("no version"))?;
    let sid = match it.next() {
        Some(s) if s.tag == SEQUENCE => {
            let parts = s.children().map_err(text)?;
            match (parts.first(), parts.get(1), parts.get(2)) {
                (Some(issuer), Some(serial), None)
                    if issuer.tag == SEQUENCE && serial.tag == INTEGER =>
                {
                    SignerId::IssuerSerial {
                        issuer: issuer.raw,
                        serial: serial.raw,
                    }
                }
                _ => return Err(bad("malformed issuerAndSerialNumber")),
            }
        }
        Some(s) if s.tag == 0x80 => SignerId::KeyId(s.content),
        _ => return Err(bad("no signer identifier")),
    };
    let digest_algorithm = *it
        .next()
        .filter(|d| d.tag == SEQUENCE)
        .ok_or_else(|| bad("no digestAlgorithm"))?;
    let signed_attrs = it.next_if(|a| a.tag == asn1::ctx(0)).copied();
    let signature_algorithm = *it
        .next()
        .filter(|a| a.tag == SEQUENCE)
        .ok_or_else(|| bad("no signatureAlgorithm"))?;
    let signature = it
        .next()
        .filter(|s| s.tag == OCTET_STRING)
        .ok_or_else(|| bad("no signature"))?;
    let (unsigned_attrs, unsigned_len) = match it.next() {
        Some(u) if u.tag == asn1::ctx(1) => (attributes(u)?, u.raw.len()),
        Some(_) => return Err(bad("unexpected field after the signature")),
        None => (Vec::new(), 0),
    };
    // The fields are contiguous: everything before the unsigned attributes.
    let fields_len = t.content.len() - unsigned_len;
    if it.next().is_some() {
        return Err(bad("trailing fields"));
    }
    if let Some(s) = &signed_attrs {
        attributes(s)?;
    }
    Ok(SignerInfo {
        sid,
        digest_algorithm,
        signed_attrs,
        signature_algorithm,
        signature: signature.content,
        unsigned_attrs,
        fields: t.content.get(..fields_len).ok_or_else(|| bad("fields"))?,
    })
}

impl<'a> SignedData<'a> {
    /// The X.509 certificates (the `certificate` choice), DER.
    pub fn certificates(&self) -> Vec<&'a [u8]> {
        self.certificate_choices
            .iter()
            .copied()
            .filter(|c| c.first() == Some(&SEQUENCE))
            .collect()
    }

    /// The CRLs (the `CertificateList` choice), DER.
    pub fn crls(&self) -> Vec<&'a [u8]> {
        self.revocation_choices
            .iter()
            .copied()
            .filter(|c| c.first() == Some(&SEQUENCE))
            .collect()
    }

    /// The OCSP responses carried as `[1] OtherRevocationInfoFormat` id-ri-ocsp-response
    /// (RFC 5940 §4.1), DER `OCSPResponse`.
    pub fn ocsp_responses(&self) -> Vec<&'a [u8]> {
        let mut out = Vec::new();
        for c in &self.revocation_choices {
            let Ok(t) = asn1::read_all(c) else { continue };
            if t.tag != asn1::ctx(1) {
                continue;
            }
            let Ok(parts) = t.children() else { continue };
            if let (Some(format), Some(info)) = (parts.first(), parts.get(1))
                && oid_of(format).as_deref() == Some(oids::RI_OCSP_RESPONSE)
            {
                out.push(info.raw);
            }
        }
        out
    }
}

impl<'a> SignerInfo<'a> {
    /// The signed attributes (empty when there are none; they were checked by [`parse`]).
    pub fn signed_attributes(&self) -> Vec<Attribute<'a>> {
        self.signed_attrs
            .as_ref()
            .and_then(|s| attributes(s).ok())
            .unwrap_or_default()
    }

    /// The values of the unsigned attribute `oid`, in order.
    pub fn unsigned_values(&self, oid: &str) -> Vec<Tlv<'a>> {
        self.unsigned_attrs
            .iter()
            .filter(|a| a.oid == oid)
            .flat_map(|a| a.values.iter().copied())
            .collect()
    }
}

/// The single value of the attribute `oid`: `Ok(None)` when absent, `Err` when repeated or
/// multi-valued (RFC 5652 §11: content-type, message-digest and signing-time are single).
fn single<'a>(attrs: &[Attribute<'a>], oid: &str) -> Result<Option<Tlv<'a>>, String> {
    let mut found = attrs.iter().filter(|a| a.oid == oid);
    match (found.next(), found.next()) {
        (None, _) => Ok(None),
        (Some(a), None) if a.values.len() == 1 => Ok(a.values.first().copied()),
        _ => Err(format!(
            "the attribute {oid} must appear once with one value"
        )),
    }
}

/// UTCTime or GeneralizedTime (with optional fractions), UTC (`Z`), as CMS and TSTInfo carry
/// times.
pub fn asn1_time(t: &Tlv<'_>) -> Result<OffsetDateTime, String> {
    let s = std::str::from_utf8(t.content)
        .ok()
        .filter(|s| s.is_ascii())
        .ok_or("a time is not ASCII")?;
    let bad = || format!("malformed time {s:?}");
    let body = s.strip_suffix('Z').ok_or_else(bad)?;
    let (digits, fraction) = match body.split_once('.') {
        Some((d, f)) if t.tag == asn1::GENERALIZED_TIME => (d, Some(f)),
        Some(_) => return Err(bad()),
        None => (body, None),
    };
    let (year, rest) = match t.tag {
        asn1::UTC_TIME if digits.len() == 12 => {
            let yy: i32 = digits
                .get(..2)
                .and_then(|y| y.parse().ok())
                .ok_or_else(bad)?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &digits[2..])
        }
        asn1::GENERALIZED_TIME if digits.len() == 14 => (
            digits
                .get(..4)
                .and_then(|y| y.parse().ok())
                .ok_or_else(bad)?,
            &digits[4..],
        ),
        _ => return Err(bad()),
    };
    if !rest.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let field = |i: usize| -> Result<u8, String> {
        rest.get(i..i + 2)
            .and_then(|f| f.parse().ok())
            .ok_or_else(bad)
    };
    let nanos = match fraction {
        None => 0,
        Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) => {
            let mut n: u32 = f.parse().map_err(|_| bad())?;
            for _ in f.len()..9 {
                n *= 10;
            }
            n
        }
        Some(_) => return Err(bad()),
    };
    let month = time::Month::try_from(field(0)?).map_err(|_| bad())?;
    let date = time::Date::from_calendar_date(year, month, field(2)?).map_err(|_| bad())?;
    let time =
        time::Time::from_hms_nano(field(4)?, field(6)?, field(8)?, nanos).map_err(|_| bad())?;
    Ok(date.with_time(time).assume_utc())
}

/// What checking one signer found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerCheck {
    /// The certificate the signer identifier (and the ESS reference, among several) names, DER.
    pub certificate: Option<Vec<u8>>,
    pub digest_algorithm: Option<HashAlgorithm>,
    /// The signatureAlgorithm OID, dotted.
    pub signature_algorithm: Option<String>,
    /// The message-digest attribute against the content's digest.
    pub intact: Check,
    pub signature_value: Check,
    /// The ESS signing-certificate(-v2) attribute against `certificate`.
    pub certificate_reference: Check,
    /// Whether the ESS reference is present at all.
    pub has_certificate_reference: bool,
    /// Missing or malformed mandatory attributes (RFC 5652 §5.3, EN 319 122-1 §6.3).
    pub constraint_failures: Vec<String>,
    /// The signing-time attribute, if any.
    pub signing_time: Option<OffsetDateTime>,
    pub has_signing_time: bool,
}

/// The digest of the concatenated `parts`.
pub fn digest_parts(hash: HashAlgorithm, parts: &[&[u8]]) -> Vec<u8> {
    let mut ctx = digest::Context::new(hash.aws_lc());
    for p in parts {
        ctx.update(p);
    }
    ctx.finish().as_ref().to_vec()
}

/// The subjectKeyIdentifier extension's key identifier of a certificate.
fn subject_key_identifier(cert: &[u8]) -> Option<&[u8]> {
    let c = asn1::read_all(cert).ok()?;
    let tbs = *c.children().ok()?.first()?;
    let exts = tbs
        .children()
        .ok()?
        .into_iter()
        .find(|f| f.tag == asn1::ctx(3))?;
    let list = asn1::read_all(exts.content).ok()?;
    for ext in list.children().ok()? {
        let parts = ext.children().ok()?;
        if parts.first().and_then(oid_of).as_deref() == Some(SUBJECT_KEY_IDENTIFIER) {
            let value = parts.last()?;
            let inner = asn1::read_all(value.content).ok()?;
            return (inner.tag == OCTET_STRING).then_some(inner.content);
        }
    }
    None
}

#[cfg(test)]
pub fn tests_ski(cert: &[u8]) -> Option<Vec<u8>> {
    subject_key_identifier(cert).map(<[u8]>::to_vec)
}

fn matches_sid(cert: &[u8], sid: &SignerId<'_>) -> bool {
    match sid {
        SignerId::IssuerSerial { issuer, serial } => {
            CertView::parse(cert).is_ok_and(|v| v.issuer == *issuer && v.serial == *serial)
        }
        SignerId::KeyId(id) => subject_key_identifier(cert) == Some(*id),
    }
}

/// One `ESSCertID(v2)`: the hash algorithm, the certificate hash, the issuerSerial if present.
struct EssCertId<'a> {
    /// `None`: SHA-1 (ESS v1).
    hash: Option<HashAlgorithm>,
    cert_hash: &'a [u8],
    issuer_serial: Option<Tlv<'a>>,
}

/// The first ESSCertID(v2) of a signing-certificate(-v2) attribute value: it names the signing
/// certificate (RFC 5035 §3).
fn ess_cert_id<'a>(value: &Tlv<'a>, v2: bool) -> Result<EssCertId<'a>, String> {
    let bad = || "malformed signing-certificate attribute".to_string();
    let certs = *value.children().map_err(text)?.first().ok_or_else(bad)?;
    let first = *certs.children().map_err(text)?.first().ok_or_else(bad)?;
    let parts = first.children().map_err(text)?;
    let mut it = parts.iter().peekable();
    let hash = if v2 {
        match it.next_if(|p| p.tag == SEQUENCE) {
            None => Some(HashAlgorithm::Sha256),
            Some(alg) => {
                let (oid, _) = algorithm(alg)?;
                Some(HashAlgorithm::from_oid(&oid).map_err(|_| {
                    format!("unsupported hash algorithm {oid} in signing-certificate-v2")
                })?)
            }
        }
    } else {
        None
    };
    let cert_hash = it
        .next()
        .filter(|h| h.tag == OCTET_STRING)
        .ok_or_else(bad)?
        .content;
    let issuer_serial = it.next().copied();
    Ok(EssCertId {
        hash,
        cert_hash,
        issuer_serial,
    })
}

impl EssCertId<'_> {
    fn check(&self, cert: &[u8]) -> Result<(), String> {
        let digest = match self.hash {
            Some(h) => h.digest(cert),
            None => digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, cert)
                .as_ref()
                .to_vec(),
        };
        if digest != self.cert_hash {
            return Err(
                "the signing-certificate attribute's digest does not match the signing certificate"
                    .into(),
            );
        }
        if let Some(is) = &self.issuer_serial {
            let view = CertView::parse(cert).map_err(text)?;
            let parts = is.children().map_err(text)?;
            let (Some(names), Some(serial)) = (parts.first(), parts.get(1)) else {
                return Err("malformed issuerSerial in the signing-certificate attribute".into());
            };
            let issuer_ok = names
                .children()
                .map_err(text)?
                .iter()
                .any(|n| n.tag == asn1::ctx(4) && n.content == view.issuer);
            if !issuer_ok || serial.raw != view.serial {
                return Err("the signing-certificate attribute's issuerSerial does not match the signing certificate".into());
            }
        }
        Ok(())
    }
}

/// Checks one signer of `sd`: the signed attributes RFC 5652 requires, the message digest
/// against `content` (the concatenated slices; `None` when the signed data is not available),
/// the signature value under the certificate the signer identifier names (looked up in the
/// SignedData and in `extra_certificates`) and the ESS signing certificate reference.
pub fn check_signer(
    sd: &SignedData<'_>,
    si: &SignerInfo<'_>,
    content: Option<&[&[u8]]>,
    extra_certificates: &[Vec<u8>],
) -> SignerCheck {
    let mut out = SignerCheck {
        certificate: None,
        digest_algorithm: None,
        signature_algorithm: None,
        intact: Check::NotChecked("the signed content is not available".into()),
        signature_value: Check::NotChecked("not checked".into()),
        certificate_reference: Check::NotChecked("not checked".into()),
        has_certificate_reference: false,
        constraint_failures: Vec::new(),
        signing_time: None,
        has_signing_time: false,
    };
    let digest_alg = algorithm(&si.digest_algorithm).and_then(|(oid, _)| {
        HashAlgorithm::from_oid(&oid).map_err(|_| format!("unsupported digest algorithm {oid}"))
    });
    out.digest_algorithm = digest_alg.as_ref().ok().copied();
    let sig_alg = algorithm(&si.signature_algorithm);
    out.signature_algorithm = sig_alg.as_ref().ok().map(|(oid, _)| oid.clone());
    let attrs = si.signed_attributes();

    // The ESS reference (RFC 5035; v1 of RFC 2634 with its SHA-1 hash accepted as a reference).
    let ess = match (
        attrs.iter().find(|a| a.oid == oids::SIGNING_CERTIFICATE_V2),
        attrs.iter().find(|a| a.oid == SIGNING_CERTIFICATE_V1),
    ) {
        (Some(a), _) => Some(
            a.values
                .first()
                .ok_or_else(|| "empty signing-certificate-v2 attribute".to_string())
                .and_then(|v| ess_cert_id(v, true)),
        ),
        (None, Some(a)) => Some(
            a.values
                .first()
                .ok_or_else(|| "empty signing-certificate attribute".to_string())
                .and_then(|v| ess_cert_id(v, false)),
        ),
        (None, None) => None,
    };
    out.has_certificate_reference = ess.is_some();

    // The certificate: named by the sid; among several, the one the ESS reference names.
    let candidates: Vec<&[u8]> = sd
        .certificates()
        .into_iter()
        .chain(extra_certificates.iter().map(Vec::as_slice))
        .filter(|c| matches_sid(c, &si.sid))
        .collect();
    let chosen = match &ess {
        Some(Ok(id)) => candidates
            .iter()
            .find(|c| id.check(c).is_ok())
            .or(candidates.first()),
        _ => candidates.first(),
    };
    out.certificate = chosen.map(|c| c.to_vec());

    out.certificate_reference = match (&ess, chosen) {
        (None, _) => Check::Failed("no signing-certificate-v2 attribute".into()),
        (Some(Err(e)), _) => Check::Failed(e.clone()),
        (Some(Ok(_)), None) => {
            Check::NotChecked("no certificate matches the signer identifier".into())
        }
        (Some(Ok(id)), Some(cert)) => match id.check(cert) {
            Ok(()) => Check::Passed,
            Err(e) => Check::Failed(e),
        },
    };
    if ess.is_none() {
        out.constraint_failures.push(ESS_MISSING.into());
    }

    // Content type and message digest (RFC 5652 §5.3, §11.1, §11.2).
    if si.signed_attrs.is_some() {
        match single(&attrs, oids::CONTENT_TYPE) {
            Ok(Some(ct)) if ct.raw == sd.econtent_type.raw => {}
            Ok(Some(_)) => out
                .constraint_failures
                .push("the content-type attribute differs from eContentType".into()),
            Ok(None) => out
                .constraint_failures
                .push("the content-type signed attribute is missing".into()),
            Err(e) => out.constraint_failures.push(e),
        }
        match single(&attrs, oids::SIGNING_TIME) {
            Ok(Some(t)) => {
                out.has_signing_time = true;
                match asn1_time(&t) {
                    Ok(t) => out.signing_time = Some(t),
                    Err(e) => out
                        .constraint_failures
                        .push(format!("the signing-time attribute is malformed: {e}")),
                }
            }
            Ok(None) => {}
            Err(e) => {
                out.has_signing_time = true;
                out.constraint_failures.push(e);
            }
        }
        let md = single(&attrs, oids::MESSAGE_DIGEST);
        if !matches!(md, Ok(Some(_))) {
            out.constraint_failures
                .push("the message-digest signed attribute is missing or repeated".into());
        }
        if let Some(parts) = content {
            out.intact = match (&digest_alg, md) {
                (Err(e), _) => Check::Failed(e.clone()),
                (_, Err(e)) => Check::Failed(e),
                (_, Ok(None)) => Check::Failed("no message-digest attribute".into()),
                (Ok(h), Ok(Some(v))) => Check::from_bool(
                    v.tag == OCTET_STRING && v.content == digest_parts(*h, parts),
                    || "the message-digest attribute does not match the signed data".into(),
                ),
            };
        }
    } else {
        out.constraint_failures
            .push("the SignerInfo has no signed attributes".into());
    }

    // The signature value: over the DER signed attributes with the SET OF tag (RFC 5652
    // §5.4), or over the content itself when there are none.
    out.signature_value = match (chosen, &sig_alg) {
        (None, _) => Check::NotChecked("no certificate matches the signer identifier".into()),
        (_, Err(e)) => Check::Failed(e.clone()),
        (Some(cert), Ok((oid, params))) => {
            let message = match (&si.signed_attrs, content) {
                (Some(attrs), _) => {
                    let mut m = attrs.raw.to_vec();
                    if let Some(first) = m.first_mut() {
                        *first = SET;
                    }
                    Some(m)
                }
                (None, Some(parts)) => Some(parts.concat()),
                (None, None) => None,
            };
            match message {
                None => Check::NotChecked("the signed content is not available".into()),
                Some(m) => verify_value(cert, oid, params.map(|p| p.raw), &digest_alg, &m, si),
            }
        }
    };
    if si.signed_attrs.is_none() && content.is_some() {
        out.intact = out.signature_value.clone();
    }
    out
}

fn verify_value(
    cert: &[u8],
    oid: &str,
    params: Option<&[u8]>,
    digest_alg: &Result<HashAlgorithm, String>,
    message: &[u8],
    si: &SignerInfo<'_>,
) -> Check {
    let result = SignatureAlgorithm::from_oid(oid, params, digest_alg.as_ref().ok().copied())
        .and_then(|alg| {
            let spki = crypto::certificate_spki(cert)?;
            crypto::verify(spki, alg, message, si.signature, EcdsaEncoding::Der)
        });
    match result {
        Ok(()) => Check::Passed,
        Err(e) => Check::Failed(e),
    }
}

/// `OCSPResponse { successful, responseBytes { id-pkix-ocsp-basic, basic } }` around a bare
/// `BasicOCSPResponse` (CAdES revocation-values carry those).
pub fn wrap_basic_ocsp(basic: &[u8]) -> Vec<u8> {
    let oid = asn1::oid(OCSP_BASIC).unwrap_or_default();
    let bytes = asn1::seq(&[&oid, &asn1::octet_string(basic)]);
    asn1::seq(&[&[0x0a, 1, 0], &asn1::cons(asn1::ctx(0), &[&bytes])])
}

/// CRLs and OCSP responses (`OCSPResponse`) of a `RevocationValues` (EN 319 122-1 §5.5.2) or
/// of Adobe's `RevocationInfoArchival` (whose `[1]` holds full OCSPResponses).
pub fn revocation_values(value: &Tlv<'_>, adobe: bool) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let (mut crls, mut ocsp) = (Vec::new(), Vec::new());
    let Ok(parts) = value.children() else {
        return (crls, ocsp);
    };
    for part in parts {
        let Ok(list) = asn1::read_all(part.content) else {
            continue;
        };
        let Ok(members) = items(&list, "revocation values") else {
            continue;
        };
        for m in members {
            if part.tag == asn1::ctx(0) {
                crls.push(m.raw.to_vec());
            } else if part.tag == asn1::ctx(1) {
                ocsp.push(if adobe {
                    m.raw.to_vec()
                } else {
                    wrap_basic_ocsp(m.raw)
                });
            }
        }
    }
    (crls, ocsp)
}

/// Whether `crls` or `ocsp` hold revocation information about `cert`: a CRL from its issuer,
/// or an OCSP response with its serial number.
pub fn has_revocation_for(cert: &[u8], crls: &[Vec<u8>], ocsp: &[Vec<u8>]) -> bool {
    use der::Decode;
    let Ok(view) = CertView::parse(cert) else {
        return false;
    };
    let crl_issuer = |crl: &[u8]| -> Option<bool> {
        let tbs = *asn1::read_all(crl).ok()?.children().ok()?.first()?;
        let fields = tbs.children().ok()?;
        // TBSCertList: version OPTIONAL, signature, issuer, ...
        let skip = usize::from(fields.first()?.tag == INTEGER);
        Some(fields.get(skip + 1)?.raw == view.issuer)
    };
    if crls.iter().any(|c| crl_issuer(c) == Some(true)) {
        return true;
    }
    let serial = asn1::read_all(view.serial)
        .map(|s| s.content)
        .unwrap_or_default();
    ocsp.iter().any(|r| {
        let Ok(resp) = x509_ocsp::OcspResponse::from_der(r) else {
            return false;
        };
        let Some(bytes) = resp.response_bytes else {
            return false;
        };
        let Ok(basic) = x509_ocsp::BasicOcspResponse::from_der(bytes.response.as_bytes()) else {
            return false;
        };
        basic
            .tbs_response_data
            .responses
            .iter()
            .any(|s| s.cert_id.serial_number.as_bytes() == serial)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ber_becomes_der_and_der_stays_borrowed() {
        let der = asn1::seq(&[&asn1::octet_string(b"abc"), &asn1::uint(5)]);
        assert!(matches!(to_der(&der).unwrap(), Cow::Borrowed(_)));
        // SEQUENCE (indefinite) { OCTET STRING constructed (indefinite) { "ab", "c" }, 5 }
        let ber = [
            0x30, 0x80, 0x24, 0x80, 0x04, 2, b'a', b'b', 0x04, 1, b'c', 0, 0, 0x02, 0x81, 1, 5, 0,
            0,
        ];
        assert_eq!(to_der(&ber).unwrap().as_ref(), der.as_slice());
        assert_eq!(value_len(&[0x04, 1, 7, 0, 0]).unwrap(), 3);
        for bad in [
            &[0x30, 0x80, 0x04, 1, 1][..],
            &[0x04, 0x80, 0, 0],
            &[0x30, 0x80, 0x23, 0x80, 0, 0, 0, 0],
            &[0x30, 3, 0, 0, 0],
            &[],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
        ] {
            assert!(to_der(bad).is_err(), "{bad:?}");
        }
        let mut deep = Vec::new();
        for _ in 0..100 {
            deep.extend_from_slice(&[0x30, 0x80]);
        }
        assert!(to_der(&deep).unwrap_err().contains("deeply"));
    }

    #[test]
    fn times() {
        let utc = asn1::tlv(asn1::UTC_TIME, b"250102030405Z");
        let utc = asn1::read_all(&utc).unwrap();
        assert_eq!(
            asn1_time(&utc).unwrap(),
            time::macros::datetime!(2025-01-02 03:04:05 UTC)
        );
        let gt = asn1::tlv(asn1::GENERALIZED_TIME, b"20250102030405.25Z");
        assert_eq!(
            asn1_time(&asn1::read_all(&gt).unwrap()).unwrap(),
            time::macros::datetime!(2025-01-02 03:04:05.25 UTC)
        );
        for bad in [
            &b"20251302030405Z"[..],
            b"20250102030405",
            b"2025010203040Z",
            b"x",
        ] {
            let t = asn1::tlv(asn1::GENERALIZED_TIME, bad);
            assert!(asn1_time(&asn1::read_all(&t).unwrap()).is_err());
        }
    }

    #[test]
    fn garbage_is_refused() {
        assert!(parse(&asn1::seq(&[&asn1::uint(1)])).is_err());
        let not_signed = asn1::seq(&[
            &asn1::oid(oids::DATA).unwrap(),
            &asn1::cons(asn1::ctx(0), &[&asn1::octet_string(b"x")]),
        ]);
        assert!(parse(&not_signed).unwrap_err().contains("SignedData"));
    }
}
