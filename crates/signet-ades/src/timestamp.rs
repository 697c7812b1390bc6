//! Time-stamps and validation data shared by CAdES and PAdES: the signature time-stamp (B-T),
//! the validation data of B-LT and the CAdES archive-time-stamp-v3 (B-LTA).

use signet_core::HashAlgorithm;

use crate::asn1::{self, OCTET_STRING, SEQUENCE};
use crate::cert::CertView;
use crate::cms::{self, SignedData};
use crate::{AdesError, Revocation, TimeStamper, ValidationData, oids};

/// Asks the TSA for a token over `digest` and checks that it is a time-stamp token for exactly
/// that digest, so a misbehaving TSA cannot slip an unrelated token into a signature.
pub fn timestamp(
    tsa: &dyn TimeStamper,
    hash: HashAlgorithm,
    digest: &[u8],
) -> Result<Vec<u8>, AdesError> {
    let token = tsa.timestamp(hash, digest)?;
    let imprint = token_imprint(&token)?;
    if imprint.0 != asn1::oid(hash.oid())? || imprint.1 != digest {
        return Err(AdesError::TimeStamp(
            "the token's messageImprint is not the digest that was sent".into(),
        ));
    }
    Ok(token)
}

/// The (hash algorithm OID TLV, hashedMessage) of a TimeStampToken's TSTInfo (RFC 3161 §2.4.2).
fn token_imprint(token: &[u8]) -> Result<(Vec<u8>, Vec<u8>), AdesError> {
    let bad = |m: &str| AdesError::TimeStamp(format!("malformed time-stamp token: {m}"));
    let sd = SignedData::parse(token, "time-stamp token").map_err(|e| bad(&e.to_string()))?;
    if sd.econtent_type != asn1::oid(oids::TST_INFO)? {
        return Err(bad("the content is not a TSTInfo"));
    }
    let tst = sd.econtent.ok_or_else(|| bad("no TSTInfo"))?;
    let info = asn1::read_all(&tst)
        .and_then(|t| t.expect_tag(SEQUENCE, "TSTInfo"))
        .and_then(|t| t.children())
        .map_err(|e| bad(&e.to_string()))?;
    // TSTInfo ::= SEQUENCE { version, policy, messageImprint, ... }
    let imprint = info
        .get(2)
        .ok_or_else(|| bad("no messageImprint"))?
        .children()
        .map_err(|e| bad(&e.to_string()))?;
    let (Some(alg), Some(value)) = (imprint.first(), imprint.get(1)) else {
        return Err(bad("incomplete messageImprint"));
    };
    let alg_oid = alg
        .children()
        .map_err(|e| bad(&e.to_string()))?
        .first()
        .map(|t| t.raw.to_vec())
        .ok_or_else(|| bad("no hash algorithm"))?;
    if value.tag != OCTET_STRING {
        return Err(bad("hashedMessage is not an OCTET STRING"));
    }
    Ok((alg_oid, value.content.to_vec()))
}

/// The X.509 certificates a token carries (the TSA's, and possibly its chain).
pub fn token_certificates(token: &[u8]) -> Result<Vec<Vec<u8>>, AdesError> {
    let sd = SignedData::parse(token, "time-stamp token")
        .map_err(|e| AdesError::TimeStamp(e.to_string()))?;
    Ok(sd
        .certificates
        .into_iter()
        .filter(|c| c.first() == Some(&SEQUENCE))
        .collect())
}

/// `signature-time-stamp` (EN 319 122-1 §5.3): a token over the signature value (the octets
/// of SignerInfo.signature), as an unsigned attribute. Returns the attribute and the token.
pub fn signature_time_stamp(
    tsa: &dyn TimeStamper,
    hash: HashAlgorithm,
    signature: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), AdesError> {
    let token = timestamp(tsa, hash, &hash.digest(signature))?;
    let attr = cms::attribute(oids::SIGNATURE_TIME_STAMP, vec![token.clone()])?;
    Ok((attr, token))
}

/// Validation data (EN 319 102-1 §5.6.2.1 "validation data") for the signer certificate and
/// for the signers of `tokens`: their chains, CRLs and OCSP responses. Fails if any of them
/// comes back without revocation information.
pub fn collect_validation_data(
    validation: Option<&dyn ValidationData>,
    signer: &[u8],
    tokens: &[Vec<u8>],
) -> Result<Revocation, AdesError> {
    let mut out = fetch(source(validation)?, signer, "signer")?;
    for token in tokens {
        let extra = token_validation_data(validation, token, &out)?;
        out.merge(extra);
    }
    Ok(out)
}

fn source(validation: Option<&dyn ValidationData>) -> Result<&dyn ValidationData, AdesError> {
    validation.ok_or_else(|| {
        AdesError::ValidationData(
            "no source of certificates and revocation data is configured".into(),
        )
    })
}

/// The validation data of the time-stamping units that signed `token` and that `have` does
/// not already hold (a unit whose certificate `have` holds is not asked about again).
pub fn token_validation_data(
    validation: Option<&dyn ValidationData>,
    token: &[u8],
    have: &Revocation,
) -> Result<Revocation, AdesError> {
    let vd = source(validation)?;
    let mut all = Revocation::default();
    for cert in token_certificates(token)? {
        let view = CertView::parse(&cert)
            .map_err(|e| AdesError::TimeStamp(format!("TSA certificate: {e}")))?;
        let self_issued = view.issuer == view.subject;
        all.merge(Revocation {
            certificates: vec![cert.clone()],
            ..Default::default()
        });
        if !self_issued && !have.certificates.contains(&cert) {
            all.merge(fetch(vd, &cert, "time-stamping unit")?);
        }
    }
    let keep = |items: Vec<Vec<u8>>, old: &[Vec<u8>]| -> Vec<Vec<u8>> {
        items.into_iter().filter(|i| !old.contains(i)).collect()
    };
    Ok(Revocation {
        certificates: keep(all.certificates, &have.certificates),
        crls: keep(all.crls, &have.crls),
        ocsp: keep(all.ocsp, &have.ocsp),
    })
}

fn fetch(vd: &dyn ValidationData, cert: &[u8], whose: &str) -> Result<Revocation, AdesError> {
    let r = vd.chain_and_revocation(cert)?;
    if r.crls.is_empty() && r.ocsp.is_empty() {
        return Err(AdesError::ValidationData(format!(
            "no CRL or OCSP response for the {whose} certificate"
        )));
    }
    Ok(r)
}

/// Adds B-LT validation data to a SignedData (EN 319 122-1 §6.4): certificates in
/// `certificates`, CRLs and OCSP responses (as id-ri-ocsp-response) in `crls`.
pub fn embed_validation_data(sd: &mut SignedData, data: &Revocation) -> Result<(), AdesError> {
    for c in &data.certificates {
        if !sd.certificates.contains(c) {
            sd.certificates.push(c.clone());
        }
    }
    for crl in &data.crls {
        if !sd.crls.contains(crl) {
            sd.crls.push(crl.clone());
        }
    }
    for ocsp in &data.ocsp {
        let choice = cms::ocsp_revocation_choice(ocsp)?;
        if !sd.crls.contains(&choice) {
            sd.crls.push(choice);
        }
    }
    Ok(())
}

/// `archive-time-stamp-v3` (EN 319 122-1 §5.5.3) for a SignerInfo: the one being built, or
/// an existing one being extended.
///
/// The messageImprint covers the concatenation of (1) the eContentType OID, (2) the hash of
/// the signed content (`content_digest`, computed with `hash`), (3) the SignerInfo fields
/// version … signature as encoded (`signer_fields`), and (4) the `ATSHashIndexV3` value, which itself lists a hash of every
/// certificate and revocation value in the SignedData and of every unsigned attribute value
/// of this SignerInfo. The index travels as the ats-hash-index-v3 unsigned attribute of the
/// time-stamp token's own SignerInfo.
pub fn archive_time_stamp_v3(
    tsa: &dyn TimeStamper,
    hash: HashAlgorithm,
    sd: &SignedData,
    signer_fields: &[u8],
    unsigned: &[Vec<u8>],
    content_digest: &[u8],
) -> Result<Vec<u8>, AdesError> {
    let index = ats_hash_index_v3(hash, sd, unsigned)?;
    let mut input = sd.econtent_type.clone();
    input.extend_from_slice(content_digest);
    input.extend_from_slice(signer_fields);
    input.extend_from_slice(&index);
    let token = timestamp(tsa, hash, &hash.digest(&input))?;
    let index_attr = cms::attribute(oids::ATS_HASH_INDEX_V3, vec![index])?;
    let token = cms::add_unsigned_attribute_to_token(&token, index_attr)?;
    cms::attribute(oids::ARCHIVE_TIME_STAMP_V3, vec![token])
}

/// `ATSHashIndexV3 ::= SEQUENCE { hashIndAlgorithm DEFAULT sha256, certificatesHashIndex,
/// crlsHashIndex, unsignedAttrValuesHashIndex }`; each unsigned attribute value is hashed as
/// attrType || attrValue (EN 319 122-1 §5.5.2).
pub fn ats_hash_index_v3(
    hash: HashAlgorithm,
    sd: &SignedData,
    unsigned: &[Vec<u8>],
) -> Result<Vec<u8>, AdesError> {
    let digests = |items: &[Vec<u8>]| -> Vec<u8> {
        let hashed: Vec<Vec<u8>> = items
            .iter()
            .map(|i| asn1::octet_string(&hash.digest(i)))
            .collect();
        let parts: Vec<&[u8]> = hashed.iter().map(Vec::as_slice).collect();
        asn1::seq(&parts)
    };
    let certs = digests(&sd.sorted_certificates());
    let crls = digests(&sd.sorted_crls());
    let mut attr_values = Vec::new();
    let mut sorted_unsigned = unsigned.to_vec();
    sorted_unsigned.sort();
    for attr in &sorted_unsigned {
        let t = asn1::read_all(attr)?;
        let parts = t.children()?;
        let (Some(attr_type), Some(values)) = (parts.first(), parts.get(1)) else {
            return Err(AdesError::Internal("malformed unsigned attribute".into()));
        };
        for v in values.children()? {
            let mut both = attr_type.raw.to_vec();
            both.extend_from_slice(v.raw);
            attr_values.push(both);
        }
    }
    let attrs = digests(&attr_values);
    let mut parts: Vec<&[u8]> = Vec::new();
    let alg;
    if hash != HashAlgorithm::Sha256 {
        alg = cms::digest_algorithm(hash)?;
        parts.push(&alg);
    }
    parts.extend([certs.as_slice(), crls.as_slice(), attrs.as_slice()]);
    Ok(asn1::seq(&parts))
}
