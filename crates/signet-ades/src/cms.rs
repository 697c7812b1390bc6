//! CMS SignedData (RFC 5652) as CAdES (EN 319 122-1) and PAdES (EN 319 142-1) profile it.
//!
//! One [`SignedPart`] is the part of a SignerInfo covered by the signature: the DER
//! `SignedAttributes` (content-type, message-digest, signing-certificate-v2, signing-time when
//! the format allows it, and what the client asked for) plus the algorithm identifiers. The
//! DTBS/R is its digest (RFC 5652 §5.4: the DER `SET OF Attribute`, tag 0x31). After signing,
//! [`SignedPart::signer_info`] writes the SignerInfo with `[0] IMPLICIT` signed attributes and
//! any unsigned attributes (time-stamps).

use signet_core::{HashAlgorithm, KeyType, PssSalt, SignMechanism, oid as core_oid};

use crate::asn1::{self, SEQUENCE, SET, Tlv};
use crate::cert::CertView;
use crate::{AdesError, oids};

/// `Attribute ::= SEQUENCE { attrType OBJECT IDENTIFIER, attrValues SET OF AttributeValue }`.
pub fn attribute(oid: &str, values: Vec<Vec<u8>>) -> Result<Vec<u8>, AdesError> {
    Ok(asn1::seq(&[&asn1::oid(oid)?, &asn1::set_of(values)]))
}

/// `DigestAlgorithmIdentifier` with absent parameters (RFC 5754 §2).
pub fn digest_algorithm(hash: HashAlgorithm) -> Result<Vec<u8>, AdesError> {
    Ok(asn1::seq(&[&asn1::oid(hash.oid())?]))
}

/// `SignatureAlgorithmIdentifier` for the mechanism: ECDSA without parameters (RFC 5758
/// §3.2), sha*WithRSAEncryption with NULL (RFC 4055 §5), RSASSA-PSS with its parameters
/// spelled out — hash, MGF1 with the same hash, salt length — since the defaults are SHA-1
/// (RFC 4055 §3.1).
pub fn signature_algorithm(
    mechanism: SignMechanism,
    key_type: KeyType,
) -> Result<Vec<u8>, AdesError> {
    let oid = asn1::oid(mechanism.signature_oid())?;
    Ok(match mechanism {
        SignMechanism::Ecdsa { .. } => asn1::seq(&[&oid]),
        SignMechanism::RsaPkcs1 { .. } => asn1::seq(&[&oid, &asn1::null()]),
        SignMechanism::RsaPss { hash, salt } => {
            let hash_id = asn1::seq(&[&asn1::oid(hash.oid())?, &asn1::null()]);
            let mgf = asn1::seq(&[&asn1::oid(core_oid::MGF1)?, &hash_id]);
            let salt_len = match salt {
                PssSalt::DigestLength => hash.len(),
                PssSalt::Maximum => salt.len(hash, key_type),
            };
            let params = asn1::seq(&[
                &asn1::cons(asn1::ctx(0), &[&hash_id]),
                &asn1::cons(asn1::ctx(1), &[&mgf]),
                &asn1::cons(asn1::ctx(2), &[&asn1::uint(salt_len as u64)]),
            ]);
            asn1::seq(&[&oid, &params])
        }
    })
}

/// `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2 }` with one
/// `ESSCertIDv2 { hashAlgorithm DEFAULT sha256 (omitted), certHash, issuerSerial }` (RFC 5035
/// §3; EN 319 122-1 §5.2.2.3 requires issuerSerial... to be present as a SHOULD; we always
/// include it).
fn signing_certificate_v2(cert: &CertView<'_>) -> Vec<u8> {
    let hash = HashAlgorithm::Sha256.digest(cert.der);
    let id = asn1::seq(&[&asn1::octet_string(&hash), &cert.issuer_serial()]);
    asn1::seq(&[&asn1::seq(&[&id])])
}

/// What the signature covers in one SignerInfo.
#[derive(Debug, Clone)]
pub struct SignedPart {
    /// `IssuerAndSerialNumber` (version 1 SignerInfo).
    pub sid: Vec<u8>,
    pub digest_algorithm: Vec<u8>,
    /// DER `SET OF Attribute` (tag 0x31): the bytes whose digest is signed.
    pub signed_attrs: Vec<u8>,
    pub signature_algorithm: Vec<u8>,
    pub mechanism: SignMechanism,
}

/// The inputs of the signed attributes.
pub struct SignedAttrs<'a> {
    pub cert: &'a CertView<'a>,
    pub key_type: KeyType,
    pub mechanism: SignMechanism,
    /// eContentType as an OID TLV (id-data, or an existing signature's for Parallel).
    pub content_type: &'a [u8],
    /// The content digest with the mechanism's hash.
    pub message_digest: &'a [u8],
    /// CAdES: the claimed signing time; PAdES: `None` (EN 319 142-1 §5.3).
    pub signing_time: Option<i64>,
    pub extra: &'a [(String, Vec<u8>)],
}

impl SignedAttrs<'_> {
    pub fn build(&self) -> Result<SignedPart, AdesError> {
        let mut attrs = vec![
            // RFC 5652 §11.1 / EN 319 122-1 §5.1.1.
            attribute(oids::CONTENT_TYPE, vec![self.content_type.to_vec()])?,
            // RFC 5652 §11.2 / EN 319 122-1 §5.1.2.
            attribute(
                oids::MESSAGE_DIGEST,
                vec![asn1::octet_string(self.message_digest)],
            )?,
            // EN 319 122-1 §5.2.2.3: signing-certificate-v2.
            attribute(
                oids::SIGNING_CERTIFICATE_V2,
                vec![signing_certificate_v2(self.cert)],
            )?,
        ];
        if let Some(t) = self.signing_time {
            // EN 319 122-1 §5.2.1: signing-time, UTC.
            attrs.push(attribute(oids::SIGNING_TIME, vec![asn1::cms_time(t)?])?);
        }
        for (oid, value) in self.extra {
            attrs.push(attribute(oid, vec![value.clone()])?);
        }
        Ok(SignedPart {
            sid: self.cert.issuer_and_serial(),
            digest_algorithm: digest_algorithm(self.mechanism.hash())?,
            signed_attrs: asn1::set_of(attrs),
            signature_algorithm: signature_algorithm(self.mechanism, self.key_type)?,
            mechanism: self.mechanism,
        })
    }
}

impl SignedPart {
    /// The DTBS/R: digest of the DER signed attributes with the mechanism's hash.
    pub fn dtbsr(&self) -> Vec<u8> {
        self.mechanism.hash().digest(&self.signed_attrs)
    }

    /// `[0] IMPLICIT SignedAttributes`: the same content under tag 0xA0.
    fn signed_attrs_implicit(&self) -> Vec<u8> {
        let mut v = self.signed_attrs.clone();
        if let Some(first) = v.first_mut() {
            *first = asn1::ctx(0);
        }
        v
    }

    /// SignerInfo fields other than unsignedAttrs, concatenated: the "signed fields" part of
    /// the archive-time-stamp-v3 input (EN 319 122-1 §5.5.3).
    pub fn fields(&self, signature: &[u8]) -> Vec<u8> {
        let mut out = asn1::uint(1);
        out.extend_from_slice(&self.sid);
        out.extend_from_slice(&self.digest_algorithm);
        out.extend_from_slice(&self.signed_attrs_implicit());
        out.extend_from_slice(&self.signature_algorithm);
        out.extend_from_slice(&asn1::octet_string(signature));
        out
    }

    /// The SignerInfo (version 1: issuerAndSerialNumber), with `unsigned` attributes if any.
    pub fn signer_info(&self, signature: &[u8], unsigned: &[Vec<u8>]) -> Vec<u8> {
        signer_info(&self.fields(signature), unsigned)
    }
}

/// A SignerInfo from its fields before unsignedAttrs (as encoded) and its unsigned attributes
/// (`[1] IMPLICIT SET OF Attribute`, left out when there are none).
pub fn signer_info(fields: &[u8], unsigned: &[Vec<u8>]) -> Vec<u8> {
    if unsigned.is_empty() {
        asn1::seq(&[fields])
    } else {
        let unsigned = asn1::set_of_tagged(asn1::ctx(1), unsigned.to_vec());
        asn1::seq(&[fields, &unsigned])
    }
}

/// `RevocationInfoChoice` for an OCSP response: `[1] IMPLICIT OtherRevocationInfoFormat {
/// id-ri-ocsp-response, OCSPResponse }` (RFC 5940 §4.1; EN 319 122-1 §5.5 / B-LT).
pub fn ocsp_revocation_choice(ocsp_response: &[u8]) -> Result<Vec<u8>, AdesError> {
    Ok(asn1::cons(
        asn1::ctx(1),
        &[&asn1::oid(oids::RI_OCSP_RESPONSE)?, ocsp_response],
    ))
}

/// The parts of a SignedData, as raw TLVs.
#[derive(Debug, Clone, Default)]
pub struct SignedData {
    pub digest_algorithms: Vec<Vec<u8>>,
    /// eContentType OID TLV.
    pub econtent_type: Vec<u8>,
    /// The eContent octets (attached signatures).
    pub econtent: Option<Vec<u8>>,
    /// `CertificateChoices` TLVs.
    pub certificates: Vec<Vec<u8>>,
    /// `RevocationInfoChoice` TLVs.
    pub crls: Vec<Vec<u8>>,
    pub signer_infos: Vec<Vec<u8>>,
}

impl SignedData {
    /// CMSVersion per RFC 5652 §5.1: 5 with "other" certificate or revocation formats (OCSP),
    /// 3 with a v3 SignerInfo or non-data content, else 1.
    fn version(&self) -> u64 {
        let other_crl = self.crls.iter().any(|c| c.first() == Some(&asn1::ctx(1)));
        let other_cert = self
            .certificates
            .iter()
            .any(|c| c.first() == Some(&asn1::ctx(3)));
        if other_crl || other_cert {
            return 5;
        }
        let data = asn1::oid(oids::DATA).ok();
        let v3_signer = self.signer_infos.iter().any(|si| {
            asn1::read_all(si)
                .and_then(|t| t.children())
                .ok()
                .and_then(|c| c.first().map(|v| v.content != [1]))
                .unwrap_or(false)
        });
        if v3_signer || data.as_deref() != Some(self.econtent_type.as_slice()) {
            3
        } else {
            1
        }
    }

    /// The encoded `SignedData` SEQUENCE.
    pub fn encode_inner(&self) -> Vec<u8> {
        let econtent = self
            .econtent
            .as_ref()
            .map(|c| asn1::cons(asn1::ctx(0), &[&asn1::octet_string(c)]));
        let mut encap: Vec<&[u8]> = vec![&self.econtent_type];
        if let Some(e) = &econtent {
            encap.push(e);
        }
        let encap = asn1::seq(&encap);
        let version = asn1::uint(self.version());
        let digests = asn1::set_of(self.digest_algorithms.clone());
        let certs = (!self.certificates.is_empty())
            .then(|| asn1::set_of_tagged(asn1::ctx(0), self.certificates.clone()));
        let crls =
            (!self.crls.is_empty()).then(|| asn1::set_of_tagged(asn1::ctx(1), self.crls.clone()));
        let signers = asn1::set_of(self.signer_infos.clone());
        let mut parts: Vec<&[u8]> = vec![&version, &digests, &encap];
        if let Some(c) = &certs {
            parts.push(c);
        }
        if let Some(c) = &crls {
            parts.push(c);
        }
        parts.push(&signers);
        asn1::seq(&parts)
    }

    /// The `ContentInfo { id-signedData, [0] EXPLICIT SignedData }`.
    pub fn encode(&self) -> Result<Vec<u8>, AdesError> {
        let inner = self.encode_inner();
        Ok(asn1::seq(&[
            &asn1::oid(oids::SIGNED_DATA)?,
            &asn1::cons(asn1::ctx(0), &[&inner]),
        ]))
    }

    /// The certificate TLVs in `certificates` as written (same order as the encoded set).
    pub fn sorted_certificates(&self) -> Vec<Vec<u8>> {
        sorted(&self.certificates)
    }

    pub fn sorted_crls(&self) -> Vec<Vec<u8>> {
        sorted(&self.crls)
    }

    /// Parses a DER `ContentInfo` holding SignedData. Refuses BER and anything that is not
    /// SignedData, with a message for the client.
    pub fn parse(der: &[u8], what: &str) -> Result<Self, AdesError> {
        let bad = |m: String| AdesError::InvalidDocument(format!("{what}: {m}"));
        let ci = asn1::read_all(der).map_err(|e| bad(e.to_string()))?;
        let ci = ci.children().map_err(|e| bad(e.to_string()))?;
        let (Some(ct), Some(content)) = (ci.first(), ci.get(1)) else {
            return Err(bad("not a CMS ContentInfo".into()));
        };
        if ct.raw != asn1::oid(oids::SIGNED_DATA)? || content.tag != asn1::ctx(0) {
            return Err(bad("not CMS SignedData".into()));
        }
        let sd = asn1::read_all(content.content)
            .and_then(|t| t.expect_tag(SEQUENCE, "SignedData"))
            .and_then(|t| t.children())
            .map_err(|e| bad(e.to_string()))?;
        let mut it = sd.iter().peekable();
        let _version = it.next().ok_or_else(|| bad("empty SignedData".into()))?;
        let digests = it
            .next()
            .ok_or_else(|| bad("no digestAlgorithms".into()))?
            .expect_tag(SET, "digestAlgorithms")
            .map_err(|e| bad(e.to_string()))?;
        let encap = it
            .next()
            .ok_or_else(|| bad("no encapContentInfo".into()))?
            .expect_tag(SEQUENCE, "encapContentInfo")
            .map_err(|e| bad(e.to_string()))?;
        let encap = encap.children().map_err(|e| bad(e.to_string()))?;
        let econtent_type = encap
            .first()
            .filter(|t| t.tag == asn1::OID)
            .ok_or_else(|| bad("no eContentType".into()))?;
        let econtent = match encap.get(1) {
            None => None,
            Some(t) if t.tag == asn1::ctx(0) => {
                let inner = asn1::read_all(t.content).map_err(|e| bad(e.to_string()))?;
                if inner.tag != asn1::OCTET_STRING {
                    return Err(bad(
                        "eContent is not a primitive OCTET STRING (BER is not accepted)".into(),
                    ));
                }
                Some(inner.content.to_vec())
            }
            Some(_) => return Err(bad("malformed eContent".into())),
        };
        let mut out = SignedData {
            digest_algorithms: raw_children(digests).map_err(|e| bad(e.to_string()))?,
            econtent_type: econtent_type.raw.to_vec(),
            econtent,
            ..Default::default()
        };
        if let Some(t) = it.next_if(|t| t.tag == asn1::ctx(0)) {
            out.certificates = raw_children(*t).map_err(|e| bad(e.to_string()))?;
        }
        if let Some(t) = it.next_if(|t| t.tag == asn1::ctx(1)) {
            out.crls = raw_children(*t).map_err(|e| bad(e.to_string()))?;
        }
        let signers = it
            .next()
            .ok_or_else(|| bad("no signerInfos".into()))?
            .expect_tag(SET, "signerInfos")
            .map_err(|e| bad(e.to_string()))?;
        out.signer_infos = raw_children(signers).map_err(|e| bad(e.to_string()))?;
        if it.next().is_some() {
            return Err(bad("trailing fields in SignedData".into()));
        }
        Ok(out)
    }
}

fn sorted(items: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut v = items.to_vec();
    v.sort();
    v.dedup();
    v
}

fn raw_children(t: Tlv<'_>) -> Result<Vec<Vec<u8>>, AdesError> {
    Ok(t.children()?.iter().map(|c| c.raw.to_vec()).collect())
}

/// Adds an unsigned attribute to the single SignerInfo of a time-stamp token (the
/// ats-hash-index-v3 of an archive-time-stamp-v3, EN 319 122-1 §5.5.3), keeping every other
/// byte of the token as the TSA wrote it.
pub fn add_unsigned_attribute_to_token(token: &[u8], attr: Vec<u8>) -> Result<Vec<u8>, AdesError> {
    let bad = |m: &str| AdesError::TimeStamp(format!("time-stamp token: {m}"));
    let ci = asn1::read_all(token).map_err(|e| bad(&e.to_string()))?;
    let ci_parts = ci.children().map_err(|e| bad(&e.to_string()))?;
    let (Some(ct), Some(content)) = (ci_parts.first(), ci_parts.get(1)) else {
        return Err(bad("not a ContentInfo"));
    };
    let sd = asn1::read_all(content.content).map_err(|e| bad(&e.to_string()))?;
    let fields = sd.children().map_err(|e| bad(&e.to_string()))?;
    let Some((signers, rest)) = fields.split_last() else {
        return Err(bad("empty SignedData"));
    };
    let infos = signers.children().map_err(|e| bad(&e.to_string()))?;
    let [info] = infos.as_slice() else {
        return Err(bad("expected exactly one SignerInfo"));
    };
    let mut si_fields: Vec<Vec<u8>> = info
        .children()
        .map_err(|e| bad(&e.to_string()))?
        .iter()
        .map(|t| t.raw.to_vec())
        .collect();
    let unsigned = match si_fields.last() {
        Some(last) if last.first() == Some(&asn1::ctx(1)) => {
            let t = asn1::read_all(last).map_err(|e| bad(&e.to_string()))?;
            let mut attrs = raw_children(t).map_err(|e| bad(&e.to_string()))?;
            attrs.push(attr);
            si_fields.pop();
            attrs
        }
        _ => vec![attr],
    };
    si_fields.push(asn1::set_of_tagged(asn1::ctx(1), unsigned));
    let parts: Vec<&[u8]> = si_fields.iter().map(Vec::as_slice).collect();
    let new_info = asn1::seq(&parts);
    let new_signers = asn1::set_of(vec![new_info]);
    let mut sd_parts: Vec<&[u8]> = rest.iter().map(|t| t.raw).collect();
    sd_parts.push(&new_signers);
    let new_sd = asn1::seq(&sd_parts);
    Ok(asn1::seq(&[ct.raw, &asn1::cons(asn1::ctx(0), &[&new_sd])]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pss_parameters_match_core() {
        let ours = signature_algorithm(
            SignMechanism::RsaPss {
                hash: HashAlgorithm::Sha256,
                salt: PssSalt::DigestLength,
            },
            KeyType::Rsa2048,
        )
        .unwrap();
        let t = asn1::read_all(&ours).unwrap();
        let params = t.children().unwrap()[1].raw.to_vec();
        assert_eq!(
            params,
            signet_core::alg::pss_params_der(HashAlgorithm::Sha256)
        );
        let max = signature_algorithm(
            SignMechanism::RsaPss {
                hash: HashAlgorithm::Sha256,
                salt: PssSalt::Maximum,
            },
            KeyType::Rsa2048,
        )
        .unwrap();
        // salt = 256 - 32 - 2 = 222
        assert!(max.windows(5).any(|w| w == [0xa2, 0x04, 0x02, 0x02, 0x00]));
    }

    #[test]
    fn signed_data_round_trip() {
        let sd = SignedData {
            digest_algorithms: vec![digest_algorithm(HashAlgorithm::Sha256).unwrap()],
            econtent_type: asn1::oid(oids::DATA).unwrap(),
            econtent: Some(b"hello".to_vec()),
            certificates: vec![asn1::seq(&[&asn1::uint(2)]), asn1::seq(&[&asn1::uint(1)])],
            crls: vec![ocsp_revocation_choice(&asn1::seq(&[])).unwrap()],
            signer_infos: vec![asn1::seq(&[&asn1::uint(1)])],
        };
        let der = sd.encode().unwrap();
        let back = SignedData::parse(&der, "test").unwrap();
        assert_eq!(back.econtent.as_deref(), Some(&b"hello"[..]));
        assert_eq!(back.certificates, sd.sorted_certificates());
        assert_eq!(back.crls, sd.crls);
        assert_eq!(sd.version(), 5);
        assert_eq!(back.encode().unwrap(), der);
    }
}
