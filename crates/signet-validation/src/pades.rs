//! The PAdES reader (EN 319 142-1, ISO 32000-1 §12.8): the signature dictionaries of a PDF's
//! signature fields, their byte ranges and CMS, the document time-stamps that follow them and
//! the DSS.
//!
//! The byte ranges are checked against the file itself, not against what lopdf makes of it:
//! they start at 0, the gap between them is exactly the `/Contents` hex string of the same
//! dictionary, and they end inside the file. A signature whose ranges end before the file does
//! is followed by incremental updates (reported, not judged here). lopdf only locates the
//! dictionaries; it sees a document no larger than the limits allow, with its stream
//! decompression bounded, and a panic inside it becomes "cannot be read".

use std::collections::HashSet;

use lopdf::xref::XrefEntry;
use lopdf::{Dictionary, Document, LoadOptions, Object, ObjectId};
use time::OffsetDateTime;

use crate::cms;
use crate::timestamp;
use crate::{
    Check, DetachedContent, Format, Limits, SignatureEvidence, TimestampEvidence, TimestampKind,
    ValidationError,
};

/// How deep field, page and parent trees are followed.
const MAX_TREE_DEPTH: usize = 32;
/// How many form fields, pages and annotations are inspected.
const MAX_NODES: usize = 100_000;
/// How many certificates, CRLs and OCSP responses the DSS may contribute.
const MAX_DSS_ITEMS: usize = 10_000;

/// Finds every PAdES signature in `input` and checks what the format alone can check.
/// `NotASignature` when the input holds none; a signature that cannot be read gives an
/// evidence with `format_error` set.
pub fn read(
    input: &[u8],
    detached: &[DetachedContent],
    limits: &Limits,
) -> Result<Vec<SignatureEvidence>, ValidationError> {
    let _ = detached;
    if input.len() > limits.max_document_bytes {
        return Err(ValidationError::TooLarge(format!(
            "the PDF of {} bytes exceeds the limit of {} bytes",
            input.len(),
            limits.max_document_bytes
        )));
    }
    let head = input.get(..input.len().min(1024)).unwrap_or_default();
    if !head.windows(5).any(|w| w == b"%PDF-") {
        return Err(ValidationError::NotASignature("not a PDF".into()));
    }
    let doc = load(input, limits)?;
    let mut signatures = Vec::new();
    let mut doc_timestamps = Vec::new();
    for dict in signature_dictionaries(&doc)? {
        let field = Field::read(&doc, &dict, input);
        if field.document_time_stamp {
            if let Some(ts) = document_time_stamp(&field, input) {
                doc_timestamps.push(ts);
            }
        } else {
            signatures.push(field);
        }
    }
    if signatures.len() + doc_timestamps.len() > crate::cades::MAX_SIGNATURES {
        return Err(ValidationError::TooLarge(format!(
            "the PDF has more than {} signatures and document time-stamps",
            crate::cades::MAX_SIGNATURES
        )));
    }
    if signatures.is_empty() {
        let what = if doc_timestamps.is_empty() {
            "the PDF has no signature"
        } else {
            "the PDF has no signature, only document time-stamps"
        };
        return Err(ValidationError::NotASignature(what.into()));
    }
    signatures.sort_by_key(|f| f.range.map_or(usize::MAX, |r| r[2] + r[3]));
    doc_timestamps.sort_by_key(|t| t.covers_up_to);
    let dss = Dss::read(&doc, limits);
    // Each signature carries its own copy of the DSS and of the document time-stamps after it.
    let dss_bytes: usize = [&dss.certificates, &dss.crls, &dss.ocsp]
        .iter()
        .flat_map(|l| l.iter().map(Vec::len))
        .sum();
    let ts_bytes: usize = doc_timestamps.iter().map(|t| t.evidence.token.len()).sum();
    let copies = signatures
        .len()
        .saturating_mul(dss_bytes.saturating_add(ts_bytes));
    if copies > limits.max_document_bytes.saturating_mul(4) {
        return Err(ValidationError::TooLarge(
            "the PDF's DSS and document time-stamps are too large to attach to every signature"
                .into(),
        ));
    }
    Ok(signatures
        .iter()
        .map(|f| signature_evidence(f, input, &dss, &doc_timestamps))
        .collect())
}

/// Loads the PDF with lopdf: strictly first, leniently (repairing the cross-reference data)
/// when that fails, always with the object and decompression limits.
fn load(input: &[u8], limits: &Limits) -> Result<Document, ValidationError> {
    let too_many = |n: usize| {
        ValidationError::TooLarge(format!(
            "the PDF has about {n} objects, more than the limit of {}",
            limits.max_pdf_objects
        ))
    };
    // Before lopdf builds them all: every indirect object is written `N G obj`.
    let approx = input.windows(4).filter(|w| w == b" obj").count();
    if approx > limits.max_pdf_objects {
        return Err(too_many(approx));
    }
    let mut why = String::new();
    for strict in [true, false] {
        let options = LoadOptions {
            strict,
            max_decompressed_size: Some(limits.max_document_bytes),
            ..LoadOptions::default()
        };
        let loaded = std::panic::catch_unwind(|| Document::load_mem_with_options(input, options));
        match loaded {
            Ok(Ok(doc)) => {
                if doc.objects.len() > limits.max_pdf_objects {
                    return Err(too_many(doc.objects.len()));
                }
                if doc.trailer.has(b"Encrypt") {
                    return Err(ValidationError::NotASignature(
                        "encrypted PDFs cannot be validated".into(),
                    ));
                }
                return Ok(doc);
            }
            Ok(Err(e)) => why = e.to_string(),
            Err(_) => why = "malformed structure".into(),
        }
    }
    Err(ValidationError::NotASignature(format!(
        "the PDF cannot be read: {why}"
    )))
}

fn deref<'a>(doc: &'a Document, o: &'a Object) -> Option<&'a Object> {
    match o {
        Object::Reference(id) => doc.get_object(*id).ok(),
        other => Some(other),
    }
}

fn dict<'a>(doc: &'a Document, d: &'a Dictionary, key: &[u8]) -> Option<&'a Dictionary> {
    match deref(doc, d.get(key).ok()?)? {
        Object::Dictionary(d) => Some(d),
        _ => None,
    }
}

fn array<'a>(doc: &'a Document, d: &'a Dictionary, key: &[u8]) -> &'a [Object] {
    match d.get(key).ok().and_then(|o| deref(doc, o)) {
        Some(Object::Array(a)) => a,
        _ => &[],
    }
}

fn name<'a>(doc: &'a Document, d: &'a Dictionary, key: &[u8]) -> Option<&'a [u8]> {
    match deref(doc, d.get(key).ok()?)? {
        Object::Name(n) => Some(n),
        _ => None,
    }
}

/// The values of signature fields (`/FT /Sig` with a `/V` dictionary), found through the form's
/// field tree and the pages' widget annotations, each once.
fn signature_dictionaries(doc: &Document) -> Result<Vec<Dictionary>, ValidationError> {
    let none = || ValidationError::NotASignature("the PDF has no signature".into());
    let catalog = match doc.trailer.get(b"Root").ok().and_then(|r| deref(doc, r)) {
        Some(Object::Dictionary(d)) => d,
        _ => return Err(none()),
    };
    let mut out = Vec::new();
    let mut seen_values: HashSet<ObjectId> = HashSet::new();
    let mut seen_direct: HashSet<Vec<u8>> = HashSet::new();
    let mut budget = MAX_NODES;
    let mut take = |field: &Dictionary, ft: Option<&[u8]>, out: &mut Vec<Dictionary>| {
        if ft != Some(b"Sig") {
            return;
        }
        let Ok(v) = field.get(b"V") else { return };
        let fresh = match v {
            Object::Reference(id) => seen_values.insert(*id),
            Object::Dictionary(d) => {
                seen_direct.insert(format!("{:?}", d.get(b"ByteRange").ok()).into_bytes())
            }
            _ => false,
        };
        if let (true, Some(Object::Dictionary(d))) = (fresh, deref(doc, v)) {
            out.push(d.clone());
        }
    };

    // The field tree (ISO 32000-1 §12.7.3.1); /FT is inheritable.
    if let Some(form) = dict(doc, catalog, b"AcroForm") {
        let mut stack: Vec<(&Object, usize, Option<&[u8]>)> = array(doc, form, b"Fields")
            .iter()
            .map(|f| (f, 0, None))
            .collect();
        let mut seen = HashSet::new();
        while let Some((field, depth, inherited)) = stack.pop() {
            budget = budget.checked_sub(1).ok_or_else(too_large)?;
            if depth > MAX_TREE_DEPTH {
                return Err(too_large());
            }
            if let Object::Reference(id) = field
                && !seen.insert(*id)
            {
                continue;
            }
            let Some(Object::Dictionary(d)) = deref(doc, field) else {
                continue;
            };
            let ft = name(doc, d, b"FT").or(inherited);
            take(d, ft, &mut out);
            for kid in array(doc, d, b"Kids") {
                stack.push((kid, depth + 1, ft));
            }
        }
    }

    // The pages' widget annotations, whose field may be a parent.
    let mut stack: Vec<(&Object, usize)> = catalog
        .get(b"Pages")
        .map(|p| vec![(p, 0)])
        .unwrap_or_default();
    let mut seen = HashSet::new();
    while let Some((node, depth)) = stack.pop() {
        budget = budget.checked_sub(1).ok_or_else(too_large)?;
        if depth > MAX_TREE_DEPTH {
            return Err(too_large());
        }
        if let Object::Reference(id) = node
            && !seen.insert(*id)
        {
            continue;
        }
        let Some(Object::Dictionary(d)) = deref(doc, node) else {
            continue;
        };
        for kid in array(doc, d, b"Kids") {
            stack.push((kid, depth + 1));
        }
        for annot in array(doc, d, b"Annots") {
            budget = budget.checked_sub(1).ok_or_else(too_large)?;
            let Some(Object::Dictionary(a)) = deref(doc, annot) else {
                continue;
            };
            if name(doc, a, b"Subtype") != Some(b"Widget") {
                continue;
            }
            // The terminal field: the widget itself or its nearest parent with a value.
            let mut field = a;
            let mut ft = name(doc, a, b"FT");
            for _ in 0..MAX_TREE_DEPTH {
                if field.has(b"V") {
                    break;
                }
                let Some(parent) = dict(doc, field, b"Parent") else {
                    break;
                };
                field = parent;
                ft = ft.or(name(doc, parent, b"FT"));
            }
            let mut up = field;
            for _ in 0..MAX_TREE_DEPTH {
                if ft.is_some() {
                    break;
                }
                let Some(parent) = dict(doc, up, b"Parent") else {
                    break;
                };
                up = parent;
                ft = name(doc, parent, b"FT");
            }
            take(field, ft, &mut out);
        }
    }
    Ok(out)
}

fn too_large() -> ValidationError {
    ValidationError::TooLarge("the PDF has too many form fields, pages or annotations".into())
}

/// One signature dictionary (`/Type /Sig` or `/DocTimeStamp`) as read.
struct Field {
    document_time_stamp: bool,
    sub_filter: Option<Vec<u8>>,
    /// `/M`.
    claimed_time: Option<OffsetDateTime>,
    /// The `/ByteRange` when it is four non-negative integers.
    range: Option<[usize; 4]>,
    /// The CMS (without its zero padding) once the byte range is valid, or why not.
    cms: Result<Vec<u8>, String>,
    /// The `/Contents` string as lopdf decoded it, for an identifier when all else fails.
    contents: Vec<u8>,
}

impl Field {
    fn read(doc: &Document, d: &Dictionary, input: &[u8]) -> Self {
        let sub_filter = name(doc, d, b"SubFilter").map(<[u8]>::to_vec);
        let document_time_stamp = name(doc, d, b"Type") == Some(b"DocTimeStamp")
            || sub_filter.as_deref() == Some(b"ETSI.RFC3161");
        let contents = match d.get(b"Contents").ok().and_then(|c| deref(doc, c)) {
            Some(Object::String(s, _)) => Some(s.clone()),
            _ => None,
        };
        let range = byte_range(doc, d);
        let cms = match (&range, &contents) {
            (None, _) => Err("the /ByteRange is not four non-negative integers".into()),
            (_, None) => Err("the signature dictionary has no /Contents string".into()),
            (Some(r), Some(c)) => check_range(r, input, c),
        };
        let claimed_time = d
            .get(b"M")
            .ok()
            .and_then(|m| deref(doc, m))
            .and_then(pdf_date);
        Self {
            document_time_stamp,
            sub_filter,
            claimed_time,
            range,
            cms,
            contents: contents.unwrap_or_default(),
        }
    }

    /// The byte ranges' bytes (the range is valid when `cms` is `Ok`).
    fn parts<'a>(&self, input: &'a [u8]) -> Option<[&'a [u8]; 2]> {
        let [a, b, c, d] = self.range?;
        Some([input.get(a..a + b)?, input.get(c..c + d)?])
    }

    fn range_name(&self) -> String {
        match self.range {
            Some([a, b, c, d]) => format!("ByteRange [{a} {b} {c} {d}]"),
            None => "ByteRange".into(),
        }
    }
}

fn byte_range(doc: &Document, d: &Dictionary) -> Option<[usize; 4]> {
    let items = match deref(doc, d.get(b"ByteRange").ok()?)? {
        Object::Array(a) => a,
        _ => return None,
    };
    let mut out = [0usize; 4];
    if items.len() != 4 {
        return None;
    }
    for (slot, item) in out.iter_mut().zip(items) {
        match deref(doc, item)? {
            Object::Integer(i) => *slot = usize::try_from(*i).ok()?,
            _ => return None,
        }
    }
    Some(out)
}

/// The byte range must start at 0, leave out exactly this dictionary's `/Contents` hex string
/// and end inside the file; returns the CMS without its trailing zero padding.
fn check_range(r: &[usize; 4], input: &[u8], contents: &[u8]) -> Result<Vec<u8>, String> {
    let [a, b, c, d] = *r;
    if a != 0 {
        return Err("the /ByteRange does not start at the beginning of the file".into());
    }
    let end = c.checked_add(d).filter(|e| *e <= input.len());
    if b >= c || end.is_none() {
        return Err("the /ByteRange is out of order or beyond the end of the file".into());
    }
    let gap = input.get(b..c).unwrap_or_default();
    let hex = gap
        .strip_prefix(b"<")
        .and_then(|g| g.strip_suffix(b">"))
        .filter(|h| h.len() % 2 == 0 && h.iter().all(u8::is_ascii_hexdigit))
        .ok_or("the /ByteRange gap is not a hex string")?;
    let decoded = data_encoding::HEXLOWER_PERMISSIVE
        .decode(hex)
        .map_err(|_| "the /ByteRange gap is not a hex string")?;
    if decoded != contents {
        return Err("the /ByteRange gap is not the signature's /Contents".into());
    }
    let len = cms::value_len(&decoded)?;
    let (value, padding) = decoded.split_at(len);
    if padding.iter().any(|b| *b != 0) {
        return Err("/Contents has data after the CMS".into());
    }
    Ok(value.to_vec())
}

/// A PDF date (ISO 32000-1 §7.9.4): `D:YYYYMMDDHHmmSSOHH'mm'`, everything after the year
/// optional.
fn pdf_date(o: &Object) -> Option<OffsetDateTime> {
    let Object::String(bytes, _) = o else {
        return None;
    };
    let s = std::str::from_utf8(bytes).ok()?;
    let s = s.strip_prefix("D:").unwrap_or(s);
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let (num, zone) = s.split_at(digits);
    if num.len() < 4 || num.len() > 14 || num.len() % 2 != 0 {
        return None;
    }
    let field = |i: usize, default: u8| -> Option<u8> {
        match num.get(i..i + 2) {
            Some(f) => f.parse().ok(),
            None => Some(default),
        }
    };
    let year: i32 = num.get(..4)?.parse().ok()?;
    let month = time::Month::try_from(field(4, 1)?).ok()?;
    let date = time::Date::from_calendar_date(year, month, field(6, 1)?).ok()?;
    let t = time::Time::from_hms(field(8, 0)?, field(10, 0)?, field(12, 0)?).ok()?;
    let offset = match zone.as_bytes().first() {
        None | Some(b'Z') => time::UtcOffset::UTC,
        Some(sign @ (b'+' | b'-')) => {
            let rest: Vec<&str> = zone[1..].split('\'').collect();
            let h: i8 = rest
                .first()
                .filter(|h| !h.is_empty())
                .map_or(Some(0), |h| h.parse().ok())?;
            let m: i8 = rest
                .get(1)
                .filter(|m| !m.is_empty())
                .map_or(Some(0), |m| m.parse().ok())?;
            let (h, m) = if *sign == b'-' { (-h, -m) } else { (h, m) };
            time::UtcOffset::from_hms(h, m, 0).ok()?
        }
        Some(_) => return None,
    };
    Some(
        date.with_time(t)
            .assume_offset(offset)
            .to_offset(time::UtcOffset::UTC),
    )
}

/// A document time-stamp and where its revision's signed part ends.
struct DocTimeStamp {
    /// The start of its `/Contents` gap: everything before it is covered.
    covers_up_to: usize,
    evidence: TimestampEvidence,
}

/// EN 319 142-1 §5.4.3: an RFC 3161 token over its own byte range.
fn document_time_stamp(field: &Field, input: &[u8]) -> Option<DocTimeStamp> {
    let range = field.range?;
    let evidence = match (&field.cms, field.parts(input)) {
        (Ok(token), Some(parts)) => {
            timestamp::evidence(TimestampKind::Archive, token.clone(), &|h| {
                cms::digest_parts(h, &parts)
            })
        }
        (Err(_), _) | (Ok(_), None) => {
            let e = match &field.cms {
                Err(e) => e.clone(),
                Ok(_) => "the /ByteRange is beyond the end of the file".into(),
            };
            let mut ev =
                timestamp::evidence(TimestampKind::Archive, field.contents.clone(), &|_| {
                    Vec::new()
                });
            ev.intact = Check::Failed(e);
            ev
        }
    };
    Some(DocTimeStamp {
        covers_up_to: range[1],
        evidence,
    })
}

/// The DSS (EN 319 142-1 §5.4.2) and the offset of the revision that last wrote it.
#[derive(Default)]
struct Dss {
    at: Option<usize>,
    certificates: Vec<Vec<u8>>,
    crls: Vec<Vec<u8>>,
    ocsp: Vec<Vec<u8>>,
}

/// Where the object `id` is in the file (for a compressed one, its object stream).
fn offset_of(doc: &Document, id: u32) -> Option<usize> {
    match doc.reference_table.entries.get(&id)? {
        XrefEntry::Normal { offset, .. } => Some(*offset as usize),
        XrefEntry::Compressed { container, .. } => {
            match doc.reference_table.entries.get(container)? {
                XrefEntry::Normal { offset, .. } => Some(*offset as usize),
                _ => None,
            }
        }
        _ => None,
    }
}

impl Dss {
    fn read(doc: &Document, limits: &Limits) -> Self {
        let mut out = Self::default();
        let Some(root) = doc.trailer.get(b"Root").ok() else {
            return out;
        };
        let Some(Object::Dictionary(catalog)) = deref(doc, root) else {
            return out;
        };
        let Some(dss) = dict(doc, catalog, b"DSS") else {
            return out;
        };
        // The DSS object, or the catalog when the DSS is direct in it.
        out.at = match (catalog.get(b"DSS"), root) {
            (Ok(Object::Reference(id)), _) | (_, Object::Reference(id)) => offset_of(doc, id.0),
            _ => None,
        };
        let mut budget = limits.max_document_bytes;
        let mut count = 0usize;
        let mut seen = HashSet::new();
        let mut collect = |d: &Dictionary, keys: [&[u8]; 3], out: &mut Self| {
            for (key, list) in keys.into_iter().zip([0, 1, 2]) {
                for item in array(doc, d, key) {
                    count += 1;
                    if count > MAX_DSS_ITEMS {
                        return;
                    }
                    let Some(Object::Stream(s)) = deref(doc, item) else {
                        continue;
                    };
                    let Ok(bytes) = s.get_plain_content_with_limit(budget) else {
                        continue;
                    };
                    budget = budget.saturating_sub(bytes.len());
                    let target = match list {
                        0 => &mut out.certificates,
                        1 => &mut out.crls,
                        _ => &mut out.ocsp,
                    };
                    if seen.insert(bytes.clone()) {
                        target.push(bytes);
                    }
                }
            }
        };
        collect(dss, [b"Certs", b"CRLs", b"OCSPs"], &mut out);
        if let Some(vri) = dict(doc, dss, b"VRI") {
            for (_, entry) in vri.iter().take(MAX_DSS_ITEMS) {
                if let Some(Object::Dictionary(e)) = deref(doc, entry) {
                    collect(e, [b"Cert", b"CRL", b"OCSP"], &mut out);
                }
            }
        }
        out
    }
}

/// Appends the `items` not in `list` yet.
fn merge(list: &mut Vec<Vec<u8>>, items: &[Vec<u8>]) {
    let mut seen: HashSet<Vec<u8>> = list.iter().cloned().collect();
    for item in items {
        if seen.insert(item.clone()) {
            list.push(item.clone());
        }
    }
}

fn signature_evidence(
    field: &Field,
    input: &[u8],
    dss: &Dss,
    doc_timestamps: &[DocTimeStamp],
) -> SignatureEvidence {
    let failed = |id_bytes: &[u8], e: String| {
        let mut ev = SignatureEvidence::new(SignatureEvidence::id_for(id_bytes), Format::Pades);
        ev.format_error = Some(e);
        ev.claimed_signing_time = field.claimed_time;
        ev
    };
    let cms_bytes = match &field.cms {
        Ok(c) => c,
        Err(e) => return failed(&field.contents, e.clone()),
    };
    let sub_filter = field.sub_filter.as_deref().unwrap_or_default();
    let etsi = sub_filter == b"ETSI.CAdES.detached";
    if !etsi && sub_filter != b"adbe.pkcs7.detached" {
        return failed(
            cms_bytes,
            format!(
                "unsupported /SubFilter /{}: PAdES uses ETSI.CAdES.detached",
                String::from_utf8_lossy(sub_filter)
            ),
        );
    }
    let der = match cms::to_der(cms_bytes) {
        Ok(d) => d,
        Err(e) => return failed(cms_bytes, e),
    };
    let sd = match cms::parse(&der) {
        Ok(sd) => sd,
        Err(e) => return failed(cms_bytes, e),
    };
    let (Some(si), Some(parts)) = (sd.signer_infos.first(), field.parts(input)) else {
        return failed(cms_bytes, "the signature's CMS has no SignerInfo".into());
    };
    let (mut ev, check) =
        crate::cades::signer_evidence(Format::Pades, &sd, si, Some(&parts), field.range_name());
    if sd.signer_infos.len() > 1 {
        ev.constraint_failures
            .push("the signature's CMS has more than one SignerInfo".into());
    }
    if sd.econtent.is_some() {
        ev.constraint_failures
            .push("the signature's CMS encapsulates content; a PDF signature is detached".into());
    }
    if etsi && check.has_signing_time {
        ev.constraint_failures.push(
            "the signing-time attribute is present (EN 319 142-1 §5.3: the claimed time is /M)"
                .into(),
        );
    }
    if ev.claimed_signing_time.is_none() {
        ev.claimed_signing_time = field.claimed_time;
    }
    let end = field.range.map_or(usize::MAX, |r| r[2] + r[3]);
    ev.covers_whole_document = Some(end == input.len());
    if dss.at.is_some_and(|at| at >= end) {
        merge(&mut ev.certificates, &dss.certificates);
        merge(&mut ev.crls, &dss.crls);
        merge(&mut ev.ocsp_responses, &dss.ocsp);
        ev.has_validation_data = true;
    }
    for ts in doc_timestamps {
        if end <= ts.covers_up_to {
            ev.timestamps.push(ts.evidence.clone());
        }
    }
    ev
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_ades::test_pki::{SIGNING_TIME, TestPki, small_pdf};
    use signet_ades::{Envelope, Level};
    use signet_core::HashAlgorithm;
    use std::sync::OnceLock;

    fn pki() -> &'static TestPki {
        static PKI: OnceLock<TestPki> = OnceLock::new();
        PKI.get_or_init(TestPki::new)
    }

    fn sign(pdf: Vec<u8>, level: Level, envelope: Envelope) -> Vec<u8> {
        pki().make(Format::Pades, level, envelope, &pdf)
    }

    fn read_all(pdf: &[u8]) -> Vec<SignatureEvidence> {
        read(pdf, &[], &Limits::default()).unwrap()
    }

    fn assert_good(ev: &SignatureEvidence, level: Level, last: bool) {
        let pki = pki();
        assert_eq!(ev.format, Format::Pades);
        assert_eq!(ev.format_error, None);
        assert_eq!(
            ev.claimed_signing_time,
            Some(OffsetDateTime::from_unix_timestamp(SIGNING_TIME).unwrap())
        );
        assert_eq!(ev.digest_algorithm, Some(HashAlgorithm::Sha256));
        assert_eq!(ev.signed_data.len(), 1);
        assert!(ev.signed_data[0].name.starts_with("ByteRange [0 "));
        assert_eq!(ev.signed_data[0].found, Check::Passed);
        assert_eq!(ev.signed_data[0].intact, Check::Passed);
        let lt = level >= Level::BLt;
        assert_eq!(ev.covers_whole_document, Some(!lt && last));
        crate::cades::tests::assert_signed_by_the_test_pki(ev, pki, level);
    }

    #[test]
    fn every_level() {
        for level in Level::ALL {
            let pdf = sign(small_pdf(), level, Envelope::Certification);
            let evs = read_all(&pdf);
            assert_eq!(evs.len(), 1, "{level}");
            assert_good(&evs[0], level, true);
        }
    }

    #[test]
    fn two_signatures_then_lta() {
        let first = sign(small_pdf(), Level::BT, Envelope::Certification);
        let both = sign(first.clone(), Level::BLta, Envelope::Revision);
        let evs = read_all(&both);
        assert_eq!(evs.len(), 2);
        // The first signature: followed by the second revision, the DSS and the document
        // time-stamp, which covers it too.
        let ev = &evs[0];
        assert_eq!(ev.signed_data[0].intact, Check::Passed);
        assert_eq!(ev.signature_value, Check::Passed);
        assert_eq!(ev.covers_whole_document, Some(false));
        assert!(ev.has_validation_data);
        let kinds: Vec<TimestampKind> = ev.timestamps.iter().map(|t| t.kind).collect();
        assert_eq!(kinds, [TimestampKind::Signature, TimestampKind::Archive]);
        assert!(ev.timestamps.iter().all(|t| t.intact.passed()));
        assert_good(&evs[1], Level::BLta, true);
        assert_ne!(evs[0].id, evs[1].id);
    }

    #[test]
    fn tampered() {
        let pdf = sign(small_pdf(), Level::BLta, Envelope::Certification);
        // A byte of the signed range (the binary comment): HASH_FAILURE, and the document
        // time-stamp's imprint fails too.
        let mut bad = pdf.clone();
        bad[11] ^= 1;
        let ev = read_all(&bad).remove(0);
        assert!(matches!(ev.signed_data[0].intact, Check::Failed(_)));
        assert_eq!(ev.signature_value, Check::Passed);
        assert!(matches!(ev.timestamps[1].intact, Check::Failed(_)));

        // A digit of the signature value inside /Contents: SIG_CRYPTO_FAILURE.
        let field = {
            let doc = load(&pdf, &Limits::default()).unwrap();
            let d = signature_dictionaries(&doc)
                .unwrap()
                .into_iter()
                .find(|d| name(&doc, d, b"Type") == Some(b"Sig"))
                .unwrap();
            Field::read(&doc, &d, &pdf)
        };
        let cms_bytes = field.cms.unwrap();
        let sd = cms::parse(&cms_bytes).unwrap();
        let hex = data_encoding::HEXUPPER.encode(sd.signer_infos[0].signature);
        let at = pdf
            .windows(hex.len())
            .position(|w| w == hex.as_bytes())
            .unwrap()
            + hex.len()
            - 3;
        let mut bad = pdf.clone();
        bad[at] = if bad[at] == b'0' { b'1' } else { b'0' };
        let ev = read_all(&bad).remove(0);
        assert_eq!(ev.signed_data[0].intact, Check::Passed);
        assert!(matches!(ev.signature_value, Check::Failed(_)));

        // A /ByteRange that does not start at 0: FORMAT_FAILURE.
        let at = pdf.windows(12).position(|w| w == b"/ByteRange [").unwrap() + 12;
        let mut bad = pdf.clone();
        bad[at] = b'1';
        let ev = read_all(&bad).remove(0);
        assert!(ev.format_error.as_deref().unwrap().contains("beginning"));
    }

    #[test]
    fn byte_range_checks() {
        let input = b"0123<0aFF00>tail";
        let contents = [0x0a, 0xff, 0x00];
        // A one-byte OCTET STRING would be 04 01 xx; here the CMS is "0a ff" as a (bogus)
        // TLV, padding 00.
        assert!(check_range(&[0, 4, 12, 4], input, &contents).is_err());
        let input = b"0123<040105>tail";
        assert_eq!(
            check_range(&[0, 4, 12, 4], input, &[4, 1, 5]).unwrap(),
            vec![4, 1, 5]
        );
        let padded = b"0123<0401050000>tail";
        assert_eq!(
            check_range(&[0, 4, 16, 4], padded, &[4, 1, 5, 0, 0]).unwrap(),
            vec![4, 1, 5]
        );
        let trailing = b"0123<0401050001>tail";
        assert!(check_range(&[0, 4, 16, 4], trailing, &[4, 1, 5, 0, 1]).is_err());
        for r in [
            [1, 4, 12, 4],
            [0, 12, 4, 4],
            [0, 4, 12, 5],
            [0, 4, 11, 5],
            [0, 3, 12, 4],
        ] {
            assert!(check_range(&r, input, &[4, 1, 5]).is_err(), "{r:?}");
        }
        // The gap must be this dictionary's /Contents.
        assert!(check_range(&[0, 4, 12, 4], input, &[4, 1, 6]).is_err());
        assert!(check_range(&[0, 4, usize::MAX, 4], input, &[4, 1, 5]).is_err());
    }

    #[test]
    fn dates() {
        let d = |s: &str| pdf_date(&Object::string_literal(s));
        assert_eq!(
            d("D:20250304050607+00'00'"),
            Some(time::macros::datetime!(2025-03-04 05:06:07 UTC))
        );
        assert_eq!(
            d("D:20250304070607+02'00'"),
            Some(time::macros::datetime!(2025-03-04 05:06:07 UTC))
        );
        assert_eq!(
            d("D:20250304"),
            Some(time::macros::datetime!(2025-03-04 00:00:00 UTC))
        );
        assert_eq!(d("D:2025130405"), None);
        assert_eq!(d("yesterday"), None);
    }

    /// The interop venv (pyHanko): INTEROP_VENV, or `interop-venv` in the target directory the
    /// test runs from, or in the workspace's `target`.
    fn pyhanko() -> Option<std::path::PathBuf> {
        let exe_target = std::env::current_exe()
            .ok()
            .and_then(|e| Some(e.parent()?.parent()?.parent()?.join("interop-venv")));
        let candidates = [
            std::env::var_os("INTEROP_VENV").map(std::path::PathBuf::from),
            exe_target,
            Some(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/interop-venv"),
            ),
        ];
        let found = candidates
            .into_iter()
            .flatten()
            .map(|v| v.join("bin/pyhanko"))
            .find(|p| p.exists());
        if found.is_none() {
            assert!(
                std::env::var_os("SIGNET_REQUIRE_INTEROP").is_none(),
                "the interop venv (pyHanko) is missing"
            );
            eprintln!("SKIPPED: the interop venv (pyHanko) is missing");
        }
        found
    }

    /// Signatures made by pyHanko, PAdES and adbe.pkcs7.detached, alone and after Signet's.
    #[test]
    fn pyhanko_signatures() {
        let Some(pyhanko) = pyhanko() else { return };
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        let (key, cert) = (p("key.pem"), p("cert.pem"));
        let out = std::process::Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ])
            .args([
                "-nodes",
                "-subj",
                "/CN=pyHanko signer",
                "-days",
                "2",
                "-keyout",
            ])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .unwrap();
        assert!(out.status.success());
        let py_sign = |input: &[u8], pades: bool| -> Vec<u8> {
            std::fs::write(p("in.pdf"), input).unwrap();
            let mut cmd = std::process::Command::new(&pyhanko);
            cmd.args(["sign", "addsig", "--field", "PySig"]);
            if pades {
                cmd.arg("--use-pades");
            }
            cmd.args(["pemder", "--no-pass", "--key"])
                .arg(&key)
                .arg("--cert")
                .arg(&cert)
                .arg(p("in.pdf"))
                .arg(p("out.pdf"));
            let out = cmd.output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::fs::read(p("out.pdf")).unwrap()
        };
        for pades in [true, false] {
            let pdf = py_sign(&small_pdf(), pades);
            let evs = read_all(&pdf);
            assert_eq!(evs.len(), 1);
            let ev = &evs[0];
            assert_eq!(ev.format_error, None);
            assert_eq!(ev.signed_data[0].intact, Check::Passed);
            assert_eq!(ev.signature_value, Check::Passed);
            assert_eq!(ev.covers_whole_document, Some(true));
            assert!(ev.claimed_signing_time.is_some());
            if pades {
                assert_eq!(ev.signing_certificate_reference, Check::Passed);
                assert_eq!(ev.constraint_failures, Vec::<String>::new());
            }
        }
        // Signet's signature, then pyHanko's in a later revision.
        let ours = sign(small_pdf(), Level::BT, Envelope::Certification);
        let both = py_sign(&ours, true);
        let evs = read_all(&both);
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0].covers_whole_document, Some(false));
        assert_eq!(
            evs[0].signing_certificate.as_ref(),
            Some(&pki().signer.certificate)
        );
        assert!(
            evs.iter()
                .all(|e| e.signature_value.passed() && e.signed_data[0].intact.passed())
        );
        assert_eq!(evs[1].covers_whole_document, Some(true));
    }

    #[test]
    fn garbage_truncated_and_unsigned() {
        let limits = Limits::default();
        let not = |r: Result<Vec<SignatureEvidence>, ValidationError>| {
            matches!(r, Err(ValidationError::NotASignature(_)))
        };
        assert!(not(read(b"hello", &[], &limits)));
        assert!(not(read(b"%PDF-1.7\ngarbage", &[], &limits)));
        assert!(not(read(&small_pdf(), &[], &limits)));
        let pdf = sign(small_pdf(), Level::BLta, Envelope::Certification);
        for cut in [100, pdf.len() / 2, pdf.len() - 200, pdf.len() - 7] {
            // Either unreadable or read with its damage reported; never a panic.
            if let Ok(evs) = read(&pdf[..cut], &[], &limits) {
                assert!(evs.iter().all(|e| !e.covers_whole_document.unwrap_or(false)
                    || e.format_error.is_some()
                    || !e.signed_data[0].intact.passed()
                    || !e.timestamps.iter().all(|t| t.intact.passed())));
            }
        }
        // Corruption anywhere: read or refused, never a panic.
        for at in (0..pdf.len()).step_by(89) {
            let mut bad = pdf.clone();
            bad[at] ^= 0x5a;
            let _ = read(&bad, &[], &limits);
        }
        let few = Limits {
            max_pdf_objects: 3,
            ..Limits::default()
        };
        assert!(matches!(
            read(&pdf, &[], &few),
            Err(ValidationError::TooLarge(_))
        ));
    }
}
