//! PAdES baseline signatures (ETSI EN 319 142-1), B-B to B-LTA, as incremental updates:
//!
//! 1. the signature revision: a `/Sig` dictionary with `/SubFilter /ETSI.CAdES.detached`, an
//!    invisible widget field on the first page, `/ByteRange` over the whole file except the
//!    `/Contents` hex string, and for a certification signature the DocMDP transform (`/P 2`);
//! 2. B-LT: a revision adding the DSS dictionary (EN 319 142-1 §5.4.2) with the certificates,
//!    CRLs and OCSP responses that validate the signature and its time-stamp;
//! 3. B-LTA: a revision adding a document time-stamp (`/SubFilter /ETSI.RFC3161`, §5.4.3).

use aws_lc_rs::digest;
use lopdf::{Dictionary, Object, ObjectId};
use signet_core::{HashAlgorithm, KeyType};

use crate::cades::need_tsa;
use crate::cert::CertView;
use crate::cms::{self, SignedAttrs, SignedData, SignedPart};
use crate::pdf::{self, AcroFormAt, NewObject, PdfState};
use crate::timestamp;
use crate::{
    AdesError, Content, DocumentRequest, Envelope, Finished, Level, Output, PdfProps, Prepared,
    Revocation, State, TimeStamper, ValidationData, asn1, oids,
};

/// Room kept in `/Contents` for a time-stamp token (the TSA certificate chain included).
const TOKEN_RESERVE: usize = 16 * 1024;
/// Room for the SignerInfo around the certificates: algorithm identifiers, issuer and serial,
/// the signature value (512 bytes for RSA-4096) and the signed attributes without extras.
const CMS_OVERHEAD: usize = 4 * 1024;
/// Width of the `/ByteRange` placeholder between the brackets.
const BYTE_RANGE_WIDTH: usize = 44;

#[derive(Debug)]
pub struct PreparedPades {
    part: SignedPart,
    certificate: Vec<u8>,
    chain: Vec<Vec<u8>>,
    key_type: KeyType,
    level: Level,
    collect: bool,
    document: Option<SignedPdf>,
}

/// A PDF with the signature revision appended and its `/Contents` still empty.
#[derive(Debug)]
struct SignedPdf {
    bytes: Vec<u8>,
    /// Offsets of the `<` and just after the `>` of `/Contents`.
    contents: (usize, usize),
    state: PdfState,
}

pub fn prepare(req: DocumentRequest) -> Result<Prepared, AdesError> {
    let cert = CertView::parse(&req.signer.certificate)?;
    let mechanism = req.signer.mechanism;
    let hash = mechanism.hash();
    let reserve = contents_reserve(&req);
    let (document, message_digest, document_digest) = match req.content {
        Content::Digest(digest) => {
            // The client embeds the CMS in its own PDF: the digest is of its byte ranges.
            if req.document_hash != hash {
                return Err(AdesError::InvalidRequest(format!(
                    "the document digests are {} but the signature algorithm hashes with {}: they must be the same",
                    req.document_hash.name(),
                    hash.name()
                )));
            }
            (None, digest.clone(), digest)
        }
        Content::Document(bytes) => {
            let (signed, md, dd) = signature_revision(
                bytes,
                &req.limits,
                req.envelope,
                &req.props.pdf,
                req.signing_time,
                reserve,
                hash,
                req.document_hash,
            )?;
            (Some(signed), md, dd)
        }
    };
    let data = asn1::oid(oids::DATA)?;
    let part = SignedAttrs {
        cert: &cert,
        key_type: req.signer.key_type,
        mechanism,
        content_type: &data,
        message_digest: &message_digest,
        // EN 319 142-1 §5.3: no signing-time attribute; the claimed time is /M.
        signing_time: None,
        extra: &req.props.attributes,
    }
    .build()?;
    let dtbsr = part.dtbsr();
    Ok(Prepared {
        document_digest,
        dtbsr,
        state: State::Pades(Box::new(PreparedPades {
            part,
            certificate: req.signer.certificate,
            chain: req.signer.chain,
            key_type: req.signer.key_type,
            level: req.level,
            collect: req.collect_validation_info,
            document,
        })),
    })
}

/// Bytes of DER CMS the `/Contents` placeholder must hold.
fn contents_reserve(req: &DocumentRequest) -> usize {
    let certs = req.signer.certificate.len() + req.signer.chain.iter().map(Vec::len).sum::<usize>();
    let props = req
        .props
        .attributes
        .iter()
        .map(|(o, v)| o.len() + v.len() + 16)
        .sum::<usize>();
    let token = if req.level >= Level::BT {
        TOKEN_RESERVE
    } else {
        0
    };
    CMS_OVERHEAD + certs + props + token
}

/// PDF date (ISO 32000-1 §7.9.4) in UTC.
fn pdf_date(unix: i64) -> Result<String, AdesError> {
    let t = time::OffsetDateTime::from_unix_timestamp(unix)
        .map_err(|_| AdesError::Internal("signing time out of range".into()))?;
    Ok(format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}+00'00'",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

/// Body of a signature dictionary with `/ByteRange` and `/Contents` placeholders first, then
/// `rest`. Returns the body and the offsets of the `/ByteRange` brackets' inside and of the
/// `<` of `/Contents`.
fn signature_dictionary(
    kind: &[u8],
    sub_filter: &[u8],
    contents_bytes: usize,
    rest: &Dictionary,
) -> Result<(Vec<u8>, usize, usize), AdesError> {
    let mut body = b"<</Type /".to_vec();
    body.extend_from_slice(kind);
    body.extend_from_slice(b" /Filter /Adobe.PPKLite /SubFilter /");
    body.extend_from_slice(sub_filter);
    body.extend_from_slice(b" /ByteRange [");
    let byte_range = body.len();
    body.extend(std::iter::repeat_n(b' ', BYTE_RANGE_WIDTH));
    body.extend_from_slice(b"] /Contents ");
    let contents = body.len();
    body.push(b'<');
    body.extend(std::iter::repeat_n(b'0', contents_bytes * 2));
    body.push(b'>');
    for (k, v) in rest.iter() {
        body.push(b' ');
        let mut one = Dictionary::new();
        one.set(k.clone(), v.clone());
        let mut enc = Vec::new();
        pdf::write_dict(&one, &mut enc)?;
        // Strip the "<<" ">>" of the one-entry dictionary.
        body.extend_from_slice(&enc[2..enc.len() - 2]);
    }
    body.extend_from_slice(b">>");
    Ok((body, byte_range, contents))
}

/// Fills the `/ByteRange` placeholder at `at` for a `/Contents` spanning `contents` in a file
/// of `len` bytes: `[0 start end len-end]` (ISO 32000-1 §12.8.1).
fn patch_byte_range(
    bytes: &mut [u8],
    at: usize,
    contents: (usize, usize),
) -> Result<(), AdesError> {
    let (start, end) = contents;
    let text = format!("0 {start} {} {}", end, bytes.len() - end);
    if text.len() > BYTE_RANGE_WIDTH {
        return Err(AdesError::TooLarge("the PDF is too large".into()));
    }
    bytes[at..at + text.len()].copy_from_slice(text.as_bytes());
    Ok(())
}

/// A widget annotation that is also the signature field (ISO 32000-1 §12.7.4.5), invisible.
fn widget(name: Vec<u8>, value: ObjectId, page: ObjectId) -> Dictionary {
    let mut w = Dictionary::new();
    w.set("Type", Object::Name(b"Annot".to_vec()));
    w.set("Subtype", Object::Name(b"Widget".to_vec()));
    w.set("FT", Object::Name(b"Sig".to_vec()));
    w.set("T", Object::String(name, lopdf::StringFormat::Literal));
    w.set("V", Object::Reference(value));
    w.set(
        "Rect",
        Object::Array(vec![0.into(), 0.into(), 0.into(), 0.into()]),
    );
    // Print | Locked.
    w.set("F", Object::Integer(132));
    w.set("P", Object::Reference(page));
    w
}

/// Adds a field to the form and the page, and returns the objects to rewrite: the page, the
/// form (its own object, created if missing) and the catalog when it changed.
fn attach_field(
    state: &mut PdfState,
    field: ObjectId,
    catalog_changed: bool,
) -> Result<Vec<NewObject>, AdesError> {
    let mut out = Vec::new();
    push_to_array(&mut state.page_dict, b"Annots", field)?;
    out.push(NewObject::dict(state.page, &state.page_dict)?);
    push_to_array(&mut state.acroform, b"Fields", field)?;
    // SignaturesExist | AppendOnly (ISO 32000-1 Table 219).
    state.acroform.set("SigFlags", Object::Integer(3));
    let mut catalog_changed = catalog_changed;
    match state.acroform_at {
        AcroFormAt::Indirect(id) => out.push(NewObject::dict(id, &state.acroform)?),
        AcroFormAt::Missing | AcroFormAt::Direct => {
            let id = state.allocate();
            out.push(NewObject::dict(id, &state.acroform)?);
            state.acroform_at = AcroFormAt::Indirect(id);
            state.catalog.set("AcroForm", Object::Reference(id));
            catalog_changed = true;
        }
    }
    if catalog_changed {
        out.push(NewObject::dict(state.root, &state.catalog)?);
    }
    Ok(out)
}

fn push_to_array(d: &mut Dictionary, key: &[u8], id: ObjectId) -> Result<(), AdesError> {
    let mut items = match d.get(key) {
        Ok(Object::Array(a)) => a.clone(),
        Ok(Object::Null) | Err(_) => Vec::new(),
        Ok(_) => {
            return Err(AdesError::InvalidDocument(format!(
                "the PDF's /{} is not an array",
                String::from_utf8_lossy(key)
            )));
        }
    };
    items.push(Object::Reference(id));
    d.set(key.to_vec(), Object::Array(items));
    Ok(())
}

/// Documents from this size on are hashed on a second thread while they are parsed.
const PARALLEL_HASH_BYTES: usize = 1 << 20;

/// The byte-range digest context after the original document (the whole original lies in the
/// first byte range), and the digest of the document as sent. One pass serves both when the
/// algorithms agree.
fn hash_original(
    bytes: &[u8],
    hash: HashAlgorithm,
    document_hash: HashAlgorithm,
) -> (digest::Context, Vec<u8>) {
    let mut ctx = digest::Context::new(hash.aws_lc());
    ctx.update(bytes);
    let document_digest = if document_hash == hash {
        ctx.clone().finish().as_ref().to_vec()
    } else {
        document_hash.digest(bytes)
    };
    (ctx, document_digest)
}

/// Appends the signature revision to the document and hashes it. Returns the signed PDF,
/// the byte-range digest (`hash`) and the digest of the document as sent (`document_hash`).
#[allow(clippy::too_many_arguments)]
fn signature_revision(
    mut bytes: Vec<u8>,
    limits: &crate::Limits,
    envelope: Envelope,
    props: &PdfProps,
    signing_time: i64,
    reserve: usize,
    hash: HashAlgorithm,
    document_hash: HashAlgorithm,
) -> Result<(SignedPdf, Vec<u8>, Vec<u8>), AdesError> {
    // Hashing the original bytes does not depend on parsing them: for a large document do
    // both at once (the digest of a 10 MB PDF costs about as much as everything else).
    let (state, original) = if bytes.len() >= PARALLEL_HASH_BYTES {
        std::thread::scope(|scope| {
            let hasher = scope.spawn(|| hash_original(&bytes, hash, document_hash));
            let state = pdf::read(&bytes, limits);
            let digests = hasher
                .join()
                .map_err(|_| AdesError::Internal("hashing thread failed".into()));
            (state, digests)
        })
    } else {
        (
            pdf::read(&bytes, limits),
            Ok(hash_original(&bytes, hash, document_hash)),
        )
    };
    let mut state = state?;
    let (mut ctx, document_digest) = original?;
    if state.docmdp == Some(1) {
        return Err(AdesError::InvalidDocument(
            "the PDF is certified with no changes allowed (DocMDP /P 1): it cannot be signed again"
                .into(),
        ));
    }
    if envelope == Envelope::Certification && (state.signed_fields > 0 || state.docmdp.is_some()) {
        return Err(AdesError::InvalidDocument(
            "the PDF is already signed: a certification signature must be the first one (ISO 32000-1 §12.8.2.2); use signed_envelope_property Revision".into(),
        ));
    }
    let original_len = bytes.len();
    let sig_id = state.allocate();
    let widget_id = state.allocate();
    let field_name = state.unique_field_name("Signature");

    let mut rest = Dictionary::new();
    rest.set("M", pdf::text_string(&pdf_date(signing_time)?));
    for (key, value) in [
        ("Name", &props.name),
        ("Location", &props.location),
        ("Reason", &props.reason),
        ("ContactInfo", &props.contact_info),
    ] {
        if let Some(v) = value {
            rest.set(key, pdf::text_string(v));
        }
    }
    let mut catalog_changed = false;
    if envelope == Envelope::Certification {
        // ISO 32000-1 §12.8.2.2: DocMDP, P 2 = form filling and signing allowed.
        let mut params = Dictionary::new();
        params.set("Type", Object::Name(b"TransformParams".to_vec()));
        params.set("P", Object::Integer(2));
        params.set("V", Object::Name(b"1.2".to_vec()));
        let mut sigref = Dictionary::new();
        sigref.set("Type", Object::Name(b"SigRef".to_vec()));
        sigref.set("TransformMethod", Object::Name(b"DocMDP".to_vec()));
        sigref.set("TransformParams", Object::Dictionary(params));
        rest.set("Reference", Object::Array(vec![Object::Dictionary(sigref)]));
        let mut perms = match state.catalog.get(b"Perms") {
            Ok(Object::Dictionary(d)) => d.clone(),
            _ => Dictionary::new(),
        };
        perms.set("DocMDP", Object::Reference(sig_id));
        state.catalog.set("Perms", Object::Dictionary(perms));
        catalog_changed = true;
    }
    let (sig_body, br_rel, contents_rel) =
        signature_dictionary(b"Sig", b"ETSI.CAdES.detached", reserve, &rest)?;
    let mut objects = vec![
        NewObject {
            id: sig_id,
            body: sig_body,
        },
        NewObject::dict(widget_id, &widget(field_name, sig_id, state.page))?,
    ];
    objects.extend(attach_field(&mut state, widget_id, catalog_changed)?);
    let offsets = state.append(&mut bytes, &objects)?;
    let body_at = offsets[0];
    let contents = (
        body_at + contents_rel,
        body_at + contents_rel + reserve * 2 + 2,
    );
    patch_byte_range(&mut bytes, body_at + br_rel, contents)?;

    ctx.update(&bytes[original_len..contents.0]);
    ctx.update(&bytes[contents.1..]);
    let message_digest = ctx.finish().as_ref().to_vec();
    Ok((
        SignedPdf {
            bytes,
            contents,
            state,
        },
        message_digest,
        document_digest,
    ))
}

/// Writes `der` as upper-case hex into a `/Contents` placeholder, zero-padded.
fn fill_contents(bytes: &mut [u8], contents: (usize, usize), der: &[u8]) -> Result<(), AdesError> {
    let room = (contents.1 - contents.0 - 2) / 2;
    if der.len() > room {
        return Err(AdesError::Internal(format!(
            "the signature ({} bytes) does not fit the {room} bytes reserved in /Contents",
            der.len()
        )));
    }
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut at = contents.0 + 1;
    for b in der {
        bytes[at] = HEX[(b >> 4) as usize];
        bytes[at + 1] = HEX[(b & 0x0f) as usize];
        at += 2;
    }
    Ok(())
}

pub fn finish(
    p: PreparedPades,
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
    let mut unsigned = Vec::new();
    let mut tokens = Vec::new();
    if p.level >= Level::BT {
        // EN 319 142-1 §6.3: B-T by a signature time-stamp in the CMS.
        let (attr, token) = timestamp::signature_time_stamp(need_tsa(tsa)?, hash, signature)?;
        unsigned.push(attr);
        tokens.push(token);
    }
    let mut certificates = vec![p.certificate.clone()];
    certificates.extend(p.chain.iter().cloned());
    let sd = SignedData {
        digest_algorithms: vec![cms::digest_algorithm(hash)?],
        econtent_type: asn1::oid(oids::DATA)?,
        econtent: None,
        certificates,
        crls: Vec::new(),
        signer_infos: vec![p.part.signer_info(signature, &unsigned)],
    };
    let der = sd.encode()?;
    let mut info = Revocation::default();
    if p.level >= Level::BLt || p.collect {
        info = timestamp::collect_validation_data(validation, &p.certificate, &tokens)?;
    }
    let Some(mut doc) = p.document else {
        return Ok(Finished {
            output: Output::SignatureObject(der),
            validation_info: info,
        });
    };
    fill_contents(&mut doc.bytes, doc.contents, &der)?;
    if p.level >= Level::BLt {
        add_dss(&mut doc.bytes, &mut doc.state, &info)?;
    }
    if p.level >= Level::BLta {
        add_document_time_stamp(&mut doc.bytes, &mut doc.state, need_tsa(tsa)?, hash)?;
    }
    Ok(Finished {
        output: Output::DocumentWithSignature(doc.bytes),
        validation_info: info,
    })
}

/// EN 319 142-1 §5.4.2: the DSS dictionary, in its own revision appended to `bytes`, merged
/// with an existing one.
pub(crate) fn add_dss(
    bytes: &mut Vec<u8>,
    state: &mut PdfState,
    data: &Revocation,
) -> Result<(), AdesError> {
    let (dss_id, mut dss) = match state.dss.take() {
        Some((Some(id), d)) => (id, d),
        Some((None, d)) => (state.allocate(), d),
        None => (state.allocate(), Dictionary::new()),
    };
    let mut objects = Vec::new();
    for (key, items) in [
        (&b"Certs"[..], &data.certificates),
        (b"CRLs", &data.crls),
        (b"OCSPs", &data.ocsp),
    ] {
        if items.is_empty() {
            continue;
        }
        for item in items {
            let id = state.allocate();
            objects.push(NewObject::stream(id, item));
            push_to_array(&mut dss, key, id)?;
        }
    }
    dss.set("Type", Object::Name(b"DSS".to_vec()));
    objects.push(NewObject::dict(dss_id, &dss)?);
    state.catalog.set("DSS", Object::Reference(dss_id));
    objects.push(NewObject::dict(state.root, &state.catalog)?);
    state.append(bytes, &objects)?;
    state.dss = Some((Some(dss_id), dss));
    Ok(())
}

/// EN 319 142-1 §5.4.3: a document time-stamp over the whole document so far, in its own
/// revision appended to `bytes`. Returns the token.
pub(crate) fn add_document_time_stamp(
    bytes: &mut Vec<u8>,
    state: &mut PdfState,
    tsa: &dyn TimeStamper,
    hash: HashAlgorithm,
) -> Result<Vec<u8>, AdesError> {
    let ts_id = state.allocate();
    let widget_id = state.allocate();
    let name = state.unique_field_name("Timestamp");
    let (body, br_rel, contents_rel) = signature_dictionary(
        b"DocTimeStamp",
        b"ETSI.RFC3161",
        TOKEN_RESERVE,
        &Dictionary::new(),
    )?;
    let mut objects = vec![
        NewObject { id: ts_id, body },
        NewObject::dict(widget_id, &widget(name, ts_id, state.page))?,
    ];
    objects.extend(attach_field(state, widget_id, false)?);
    let offsets = state.append(bytes, &objects)?;
    let body_at = offsets[0];
    let contents = (
        body_at + contents_rel,
        body_at + contents_rel + TOKEN_RESERVE * 2 + 2,
    );
    patch_byte_range(bytes, body_at + br_rel, contents)?;
    let mut ctx = digest::Context::new(hash.aws_lc());
    ctx.update(&bytes[..contents.0]);
    ctx.update(&bytes[contents.1..]);
    let digest = ctx.finish();
    let token = timestamp::timestamp(tsa, hash, digest.as_ref())?;
    fill_contents(bytes, contents, &token).map_err(|_| {
        AdesError::TimeStamp(format!(
            "the document time-stamp token ({} bytes) is larger than the {TOKEN_RESERVE} bytes reserved",
            token.len()
        ))
    })?;
    Ok(token)
}
