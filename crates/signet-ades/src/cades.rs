//! CAdES baseline signatures (ETSI EN 319 122-1): attached, detached and parallel, B-B to
//! B-LTA.

use signet_core::HashAlgorithm;

use crate::cert::CertView;
use crate::cms::{self, SignedAttrs, SignedData, SignedPart};
use crate::timestamp;
use crate::{
    AdesError, Content, DocumentRequest, Envelope, Finished, Level, Output, Prepared, Revocation,
    State, TimeStamper, ValidationData, asn1, oids,
};

#[derive(Debug)]
pub struct PreparedCades {
    part: SignedPart,
    certificate: Vec<u8>,
    key_type: signet_core::KeyType,
    level: Level,
    envelope: Envelope,
    /// The SignedData without our SignerInfo (for Parallel: the existing one plus our
    /// certificates and digest algorithm).
    signed_data: SignedData,
    /// The content digest with the mechanism's hash (our message-digest), for the archive
    /// time-stamp.
    content_digest: Vec<u8>,
    collect: bool,
}

/// The digest of `data` with `a`, and with `b` — hashing once when they are the same.
pub fn two_digests(data: &[u8], a: HashAlgorithm, b: HashAlgorithm) -> (Vec<u8>, Vec<u8>) {
    let first = a.digest(data);
    let second = if a == b {
        first.clone()
    } else {
        b.digest(data)
    };
    (first, second)
}

pub fn prepare(req: DocumentRequest) -> Result<Prepared, AdesError> {
    let cert = CertView::parse(&req.signer.certificate)?;
    let mechanism = req.signer.mechanism;
    let hash = mechanism.hash();
    let data_oid = asn1::oid(oids::DATA)?;
    let (mut signed_data, message_digest, document_digest) = match (req.envelope, req.content) {
        (Envelope::Attached | Envelope::Detached, Content::Document(doc)) => {
            let (md, dd) = two_digests(&doc, hash, req.document_hash);
            let econtent = (req.envelope == Envelope::Attached).then_some(doc);
            let sd = SignedData {
                econtent_type: data_oid.clone(),
                econtent,
                ..Default::default()
            };
            (sd, md, dd)
        }
        (Envelope::Detached, Content::Digest(digest)) => {
            if req.document_hash != hash {
                return Err(AdesError::InvalidRequest(format!(
                    "the document digests are {} but the signature algorithm hashes with {}: the CMS message-digest must use the signer's digest algorithm (RFC 5652 §5.4)",
                    req.document_hash.name(),
                    hash.name()
                )));
            }
            let sd = SignedData {
                econtent_type: data_oid.clone(),
                ..Default::default()
            };
            (sd, digest.clone(), digest)
        }
        (Envelope::Parallel, Content::Document(doc)) => {
            // EN 319 122-1 §4.4 (parallel signatures): one more SignerInfo over the same
            // content. The content must be inside the existing signature.
            let existing = SignedData::parse(&doc, "the document is not a CAdES signature")?;
            let Some(content) = existing.econtent.as_deref() else {
                return Err(AdesError::InvalidDocument(
                    "a parallel signature needs an attached CAdES signature: this one does not contain the signed content".into(),
                ));
            };
            if existing.signer_infos.is_empty() {
                return Err(AdesError::InvalidDocument(
                    "the CAdES signature has no SignerInfo to sign in parallel with".into(),
                ));
            }
            let md = hash.digest(content);
            let dd = req.document_hash.digest(&doc);
            (existing, md, dd)
        }
        (envelope, _) => {
            return Err(AdesError::InvalidRequest(format!(
                "signed_envelope_property {} cannot be used with a document digest",
                envelope.name()
            )));
        }
    };
    let content_type = signed_data.econtent_type.clone();
    let part = SignedAttrs {
        cert: &cert,
        key_type: req.signer.key_type,
        mechanism,
        content_type: &content_type,
        message_digest: &message_digest,
        // EN 319 122-1 §5.2.1: signing-time is mandatory in CAdES baseline B-B.
        signing_time: Some(req.signing_time),
        extra: &req.props.attributes,
    }
    .build()?;
    let digest_alg = cms::digest_algorithm(hash)?;
    if !signed_data.digest_algorithms.contains(&digest_alg) {
        signed_data.digest_algorithms.push(digest_alg);
    }
    // The signer certificate and its chain go with every level (EN 319 122-1 §5.2.2.3 notes
    // that the signing certificate should be in SignedData.certificates).
    for c in std::iter::once(&req.signer.certificate).chain(&req.signer.chain) {
        if !signed_data.certificates.contains(c) {
            signed_data.certificates.push(c.clone());
        }
    }
    let dtbsr = part.dtbsr();
    Ok(Prepared {
        document_digest,
        dtbsr,
        state: State::Cades(Box::new(PreparedCades {
            part,
            certificate: req.signer.certificate,
            key_type: req.signer.key_type,
            level: req.level,
            envelope: req.envelope,
            signed_data,
            content_digest: message_digest,
            collect: req.collect_validation_info,
        })),
    })
}

pub fn finish(
    p: PreparedCades,
    signature: &[u8],
    tsa: Option<&dyn TimeStamper>,
    validation: Option<&dyn ValidationData>,
) -> Result<Finished, AdesError> {
    let cert = CertView::parse(&p.certificate)?;
    cert.verify(
        p.key_type,
        p.part.mechanism,
        &p.part.signed_attrs,
        signature,
    )?;
    let hash = p.part.mechanism.hash();
    let mut sd = p.signed_data;
    let mut unsigned = Vec::new();
    let mut tokens = Vec::new();
    if p.level >= Level::BT {
        let tsa = need_tsa(tsa)?;
        let (attr, token) = timestamp::signature_time_stamp(tsa, hash, signature)?;
        unsigned.push(attr);
        tokens.push(token);
    }
    let mut info = Revocation::default();
    if p.level >= Level::BLt || p.collect {
        info = timestamp::collect_validation_data(validation, &p.certificate, &tokens)?;
    }
    if p.level >= Level::BLt {
        timestamp::embed_validation_data(&mut sd, &info)?;
    }
    if p.level >= Level::BLta {
        let tsa = need_tsa(tsa)?;
        let ats = timestamp::archive_time_stamp_v3(
            tsa,
            hash,
            &sd,
            &p.part.fields(signature),
            &unsigned,
            &p.content_digest,
        )?;
        unsigned.push(ats);
    }
    sd.signer_infos
        .push(p.part.signer_info(signature, &unsigned));
    let der = sd.encode()?;
    let output = match p.envelope {
        Envelope::Detached => Output::SignatureObject(der),
        _ => Output::DocumentWithSignature(der),
    };
    Ok(Finished {
        output,
        validation_info: info,
    })
}

pub fn need_tsa(tsa: Option<&dyn TimeStamper>) -> Result<&dyn TimeStamper, AdesError> {
    tsa.ok_or_else(|| AdesError::TimeStamp("no time-stamping authority is configured".into()))
}
