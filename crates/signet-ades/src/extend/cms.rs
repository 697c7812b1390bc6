//! An existing CMS SignerInfo (RFC 5652 §5.3), as CAdES and PAdES augmentation read it: its
//! fields kept as encoded (the archive-time-stamp-v3 covers them), its unsigned attributes,
//! and the signer certificate it names.

use signet_core::HashAlgorithm;

use crate::asn1::{self, OCTET_STRING, SEQUENCE, Tlv};
use crate::cert::CertView;
use crate::{AdesError, Revocation, oids};

/// RFC 3126 / EN 319 122-1: id-aa-ets-revocationValues.
pub const REVOCATION_VALUES: &str = "1.2.840.113549.1.9.16.2.24";
/// RFC 3126: id-aa-ets-archiveTimestamp (v1).
const ARCHIVE_TIME_STAMP_V1: &str = "1.2.840.113549.1.9.16.2.27";
/// RFC 5126: id-aa-ets-archiveTimestampV2.
const ARCHIVE_TIME_STAMP_V2: &str = "1.2.840.113549.1.9.16.2.48";
/// Every archive time-stamp attribute: a signature with any of them is at B-LTA.
pub const ARCHIVE_TIME_STAMPS: [&str; 3] = [
    oids::ARCHIVE_TIME_STAMP_V3,
    ARCHIVE_TIME_STAMP_V2,
    ARCHIVE_TIME_STAMP_V1,
];
/// X.509 id-ce-subjectKeyIdentifier.
const SUBJECT_KEY_IDENTIFIER: &str = "2.5.29.14";

fn bad(what: &str, e: impl std::fmt::Display) -> AdesError {
    AdesError::InvalidDocument(format!("{what}: {e}"))
}

/// One SignerInfo of a SignedData.
#[derive(Debug, Clone)]
pub struct SignerInfo<'a> {
    /// version, sid, digestAlgorithm, signedAttrs, signatureAlgorithm and signature, as
    /// encoded (EN 319 122-1 §5.5.3: what an archive-time-stamp-v3 covers of the SignerInfo).
    pub fields: Vec<u8>,
    sid: Tlv<'a>,
    digest_algorithm: Tlv<'a>,
    signed_attrs: Option<Tlv<'a>>,
    /// The signature value's octets (what a signature time-stamp covers).
    pub signature: &'a [u8],
    /// The unsigned attributes, each an encoded `Attribute`.
    pub unsigned: Vec<Vec<u8>>,
}

impl<'a> SignerInfo<'a> {
    pub fn parse(raw: &'a [u8]) -> Result<Self, AdesError> {
        let what = "malformed SignerInfo";
        let fields = asn1::read_all(raw)
            .and_then(|t| t.expect_tag(SEQUENCE, "SignerInfo"))
            .and_then(|t| t.children())
            .map_err(|e| bad(what, e))?;
        let (unsigned, signed): (Vec<Tlv<'a>>, Vec<Tlv<'a>>) =
            fields.iter().partition(|t| t.tag == asn1::ctx(1));
        // SignerInfo ::= SEQUENCE { version, sid, digestAlgorithm, signedAttrs [0] OPTIONAL,
        //   signatureAlgorithm, signature, unsignedAttrs [1] OPTIONAL }
        let signed_attrs = signed.iter().find(|t| t.tag == asn1::ctx(0)).copied();
        let rest: Vec<Tlv<'a>> = signed
            .iter()
            .filter(|t| t.tag != asn1::ctx(0))
            .copied()
            .collect();
        let [
            _version,
            sid,
            digest_algorithm,
            _signature_algorithm,
            signature,
        ] = rest.as_slice()
        else {
            return Err(bad(what, "unexpected fields"));
        };
        if signature.tag != OCTET_STRING || unsigned.len() > 1 {
            return Err(bad(what, "unexpected fields"));
        }
        let unsigned = match unsigned.first() {
            Some(set) => set
                .children()
                .map_err(|e| bad(what, e))?
                .iter()
                .map(|a| a.raw.to_vec())
                .collect(),
            None => Vec::new(),
        };
        Ok(Self {
            fields: signed.iter().flat_map(|t| t.raw.iter().copied()).collect(),
            sid: *sid,
            digest_algorithm: *digest_algorithm,
            signed_attrs,
            signature: signature.content,
            unsigned,
        })
    }

    /// The signer's digest algorithm, when Signet knows it.
    pub fn digest_algorithm(&self) -> Option<HashAlgorithm> {
        let oid = self.digest_algorithm.children().ok()?.first()?.raw.to_vec();
        HashAlgorithm::ALL
            .into_iter()
            .find(|h| asn1::oid(h.oid()).ok().as_deref() == Some(oid.as_slice()))
    }

    /// The hash for new time-stamps: the signer's, or SHA-256 for one Signet does not make.
    pub fn time_stamp_hash(&self) -> HashAlgorithm {
        self.digest_algorithm().unwrap_or(HashAlgorithm::Sha256)
    }

    /// The values of the unsigned attributes of any of `types`, in order.
    pub fn unsigned_values(&self, types: &[&str]) -> Result<Vec<Vec<u8>>, AdesError> {
        attribute_values(&self.unsigned, types)
    }

    /// The message-digest signed attribute.
    pub fn message_digest(&self) -> Option<Vec<u8>> {
        let attrs = self.signed_attrs?.children().ok()?;
        let raw: Vec<Vec<u8>> = attrs.iter().map(|a| a.raw.to_vec()).collect();
        let value = attribute_values(&raw, &[oids::MESSAGE_DIGEST])
            .ok()?
            .into_iter()
            .next()?;
        let t = asn1::read_all(&value).ok()?;
        (t.tag == OCTET_STRING).then(|| t.content.to_vec())
    }

    /// The certificate among `certificates` (SignedData `CertificateChoices`) that `sid`
    /// names, by issuer and serial number or by subject key identifier.
    pub fn certificate<'c>(&self, certificates: &'c [Vec<u8>]) -> Result<&'c [u8], AdesError> {
        let found = certificates
            .iter()
            .filter(|c| c.first() == Some(&SEQUENCE))
            .find(|c| {
                CertView::parse(c).is_ok_and(|view| {
                    if self.sid.tag == SEQUENCE {
                        view.issuer_and_serial() == self.sid.raw
                    } else {
                        // subjectKeyIdentifier [0] IMPLICIT OCTET STRING (primitive).
                        self.sid.tag == 0x80
                            && key_identifier(c).as_deref() == Some(self.sid.content)
                    }
                })
            });
        found
            .map(Vec::as_slice)
            .ok_or_else(|| super::no_signer_certificate("the signature's certificates"))
    }
}

/// The values of the attributes (encoded `Attribute`s) of any of `types`, in order.
pub fn attribute_values(attrs: &[Vec<u8>], types: &[&str]) -> Result<Vec<Vec<u8>>, AdesError> {
    let types: Vec<Vec<u8>> = types
        .iter()
        .map(|t| asn1::oid(t))
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for attr in attrs {
        let parts = asn1::read_all(attr)
            .and_then(|t| t.children())
            .map_err(|e| bad("malformed attribute", e))?;
        let (Some(kind), Some(values)) = (parts.first(), parts.get(1)) else {
            return Err(bad("malformed attribute", "no type or values"));
        };
        if types.iter().any(|t| t.as_slice() == kind.raw) {
            for v in values
                .children()
                .map_err(|e| bad("malformed attribute", e))?
            {
                out.push(v.raw.to_vec());
            }
        }
    }
    Ok(out)
}

/// The subjectKeyIdentifier extension's key identifier (RFC 5280 §4.2.1.2).
fn key_identifier(cert: &[u8]) -> Option<Vec<u8>> {
    let ski = asn1::oid(SUBJECT_KEY_IDENTIFIER).ok()?;
    let tbs = asn1::read_all(cert)
        .ok()?
        .children()
        .ok()?
        .first()?
        .children()
        .ok()?;
    let extensions = tbs.iter().find(|t| t.tag == asn1::ctx(3))?;
    let list = asn1::read_all(extensions.content).ok()?.children().ok()?;
    list.iter().find_map(|ext| {
        let parts = ext.children().ok()?;
        if parts.first()?.raw != ski.as_slice() {
            return None;
        }
        let value = parts.last()?;
        let inner = asn1::read_all(value.content).ok()?;
        (inner.tag == OCTET_STRING).then(|| inner.content.to_vec())
    })
}

/// The certificates, CRLs and OCSP responses (RFC 5940 id-ri-ocsp-response) a SignedData
/// carries.
pub fn embedded(certificates: &[Vec<u8>], crls: &[Vec<u8>]) -> Revocation {
    let ocsp_type = asn1::oid(oids::RI_OCSP_RESPONSE).ok();
    let mut out = Revocation {
        certificates: certificates
            .iter()
            .filter(|c| c.first() == Some(&SEQUENCE))
            .cloned()
            .collect(),
        ..Default::default()
    };
    for choice in crls {
        match choice.first() {
            Some(&SEQUENCE) => out.crls.push(choice.clone()),
            Some(&t) if t == asn1::ctx(1) => {
                let parts = asn1::read_all(choice).and_then(|t| t.children());
                if let Ok([format, value]) = parts.as_deref()
                    && Some(format.raw) == ocsp_type.as_deref()
                {
                    out.ocsp.push(value.raw.to_vec());
                }
            }
            _ => {}
        }
    }
    out
}

/// The first TLV of `bytes` (a PDF `/Contents` is zero-padded after the CMS).
pub fn first_value(bytes: &[u8], what: &str) -> Result<Vec<u8>, AdesError> {
    asn1::read(bytes)
        .map(|(t, _)| t.raw.to_vec())
        .map_err(|e| bad(what, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cms::{SignedAttrs, SignedData, ocsp_revocation_choice};
    use crate::test_pki::TestPki;
    use signet_core::{KeyType, SignMechanism};

    #[test]
    fn signer_info_fields_and_certificate() {
        let pki = TestPki::new();
        let (_, signer) = pki.signer(
            KeyType::EcP256,
            SignMechanism::Ecdsa {
                hash: HashAlgorithm::Sha384,
            },
        );
        let cert = CertView::parse(&signer.certificate).unwrap();
        let part = SignedAttrs {
            cert: &cert,
            key_type: signer.key_type,
            mechanism: signer.mechanism,
            content_type: &asn1::oid(oids::DATA).unwrap(),
            message_digest: &[7; 48],
            signing_time: None,
            extra: &[],
        }
        .build()
        .unwrap();
        let attr = crate::cms::attribute(oids::SIGNATURE_TIME_STAMP, vec![asn1::seq(&[])]).unwrap();
        let raw = part.signer_info(&[1, 2, 3], std::slice::from_ref(&attr));
        let si = SignerInfo::parse(&raw).unwrap();
        assert_eq!(si.fields, part.fields(&[1, 2, 3]));
        assert_eq!(si.signature, [1, 2, 3]);
        assert_eq!(si.unsigned, [attr]);
        assert_eq!(si.digest_algorithm(), Some(HashAlgorithm::Sha384));
        assert_eq!(si.message_digest(), Some(vec![7; 48]));
        assert_eq!(
            si.unsigned_values(&[oids::SIGNATURE_TIME_STAMP]).unwrap(),
            [asn1::seq(&[])]
        );
        assert!(si.unsigned_values(&ARCHIVE_TIME_STAMPS).unwrap().is_empty());
        let certs = vec![pki.ca.certificate.clone(), signer.certificate.clone()];
        assert_eq!(
            si.certificate(&certs).unwrap(),
            signer.certificate.as_slice()
        );
        assert_eq!(
            si.certificate(&certs[..1]),
            Err(AdesError::InvalidDocument(
                "the signer certificate is not in the signature's certificates: it is needed to collect the validation data".into()
            ))
        );
        // Without unsigned attributes, the SignerInfo is its fields.
        let raw = part.signer_info(&[9], &[]);
        let plain = SignerInfo::parse(&raw).unwrap();
        assert!(plain.unsigned.is_empty());
        assert_eq!(plain.fields, part.fields(&[9]));
        assert!(SignerInfo::parse(&asn1::seq(&[&asn1::uint(1)])).is_err());
    }

    #[test]
    fn embedded_values_are_sorted_out() {
        let crl = asn1::seq(&[&asn1::uint(5)]);
        let ocsp = asn1::seq(&[&asn1::uint(6)]);
        let sd = SignedData {
            certificates: vec![asn1::seq(&[&asn1::uint(1)]), vec![0xa1, 0]],
            crls: vec![crl.clone(), ocsp_revocation_choice(&ocsp).unwrap()],
            ..Default::default()
        };
        let e = embedded(&sd.certificates, &sd.crls);
        assert_eq!(e.certificates, [asn1::seq(&[&asn1::uint(1)])]);
        assert_eq!(e.crls, [crl]);
        assert_eq!(e.ocsp, [ocsp]);
        assert_eq!(
            first_value(&[0x30, 1, 5, 0, 0, 0], "x").unwrap(),
            [0x30, 1, 5]
        );
    }
}
