//! The PDF layer: reading what a signature needs from a document, and writing incremental
//! updates (ISO 32000-1 §7.5.6) that never touch the original bytes.
//!
//! Reading uses lopdf in strict mode: a document whose cross-reference data had to be repaired,
//! an encrypted one or one over the configured limits is refused with a message rather than
//! signed — a signature over a document the signer's viewer reconstructs differently would sign
//! something nobody saw. Writing is done here by hand: the new and changed objects, then a
//! cross-reference section of the same kind as the last one (table or stream) with `/Prev`.

use std::collections::HashSet;
use std::fmt::Write as _;

use lopdf::{Dictionary, Document, LoadOptions, Object, ObjectId, StringFormat};

use crate::{AdesError, Limits};

/// How deep page trees and field trees are followed.
const MAX_TREE_DEPTH: usize = 32;
/// How many form fields are inspected.
const MAX_FIELDS: usize = 10_000;
/// The highest object number a conforming reader must handle (ISO 32000-1 Annex C: 8,388,607
/// indirect objects); a document naming higher ones is refused rather than extended past it.
const MAX_OBJECT_NUMBER: u32 = 8_388_607;

fn invalid(msg: impl Into<String>) -> AdesError {
    AdesError::InvalidDocument(msg.into())
}

/// Where the interactive form dictionary lives.
#[derive(Debug, Clone, PartialEq)]
pub enum AcroFormAt {
    /// Not present yet: a new indirect object will be written.
    Missing,
    /// A dictionary inside the catalog.
    Direct,
    /// Its own object.
    Indirect(ObjectId),
}

/// What a signature needs to know about a document and its latest revision, kept up to date as
/// increments are appended.
#[derive(Debug, Clone)]
pub struct PdfState {
    /// Offset of the last cross-reference section (`startxref`).
    pub startxref: usize,
    /// The last section is a cross-reference stream (so ours are too).
    pub xref_stream: bool,
    /// The next free object number.
    pub next_id: u32,
    pub root: ObjectId,
    pub catalog: Dictionary,
    pub info: Option<Object>,
    pub id: Option<Object>,
    pub page: ObjectId,
    pub page_dict: Dictionary,
    pub acroform_at: AcroFormAt,
    pub acroform: Dictionary,
    /// Terminal field names in use (`/T` of top-level fields).
    pub field_names: HashSet<Vec<u8>>,
    /// Signature fields that already hold a signature.
    pub signed_fields: usize,
    /// Their `/V` values (signature dictionaries, usually references), for augmentation.
    pub signature_values: Vec<Object>,
    /// The DocMDP permission of an existing certification signature.
    pub docmdp: Option<i64>,
    /// An existing DSS dictionary (PAdES B-LT of an earlier signature).
    pub dss: Option<(Option<ObjectId>, Dictionary)>,
}

/// Reads `bytes` as a PDF, within `limits`.
pub fn read(bytes: &[u8], limits: &Limits) -> Result<PdfState, AdesError> {
    load(bytes, limits).map(|(_, state)| state)
}

/// [`read`], also returning the parsed document (for augmentation, which reads the existing
/// signatures and DSS).
pub(crate) fn load(bytes: &[u8], limits: &Limits) -> Result<(Document, PdfState), AdesError> {
    if !bytes.starts_with(b"%PDF-") {
        return Err(invalid("not a PDF: the file does not start with %PDF-"));
    }
    let startxref = find_startxref(bytes)?;
    let xref_stream = !bytes[startxref..].starts_with(b"xref");
    let options = LoadOptions {
        strict: true,
        ..LoadOptions::default()
    };
    // lopdf is hardened against malformed input (nesting and decompression limits); a panic
    // deep inside it must still become a 400, not take the worker down.
    let loaded = std::panic::catch_unwind(|| Document::load_mem_with_options(bytes, options));
    let doc = match loaded {
        Ok(Ok(doc)) => doc,
        Ok(Err(e)) => {
            if bytes.windows(8).any(|w| w == b"/Encrypt") {
                return Err(encrypted());
            }
            return Err(invalid(format!("the PDF cannot be read: {e}")));
        }
        Err(_) => return Err(invalid("the PDF cannot be read: malformed structure")),
    };
    if doc.xref_recovery.is_some() {
        return Err(invalid(
            "the PDF's cross-reference table is broken; repair the file before signing it",
        ));
    }
    if doc.trailer.has(b"Encrypt") {
        return Err(encrypted());
    }
    if doc.objects.len() > limits.max_pdf_objects {
        return Err(AdesError::TooLarge(format!(
            "the PDF has {} objects, more than the limit of {}",
            doc.objects.len(),
            limits.max_pdf_objects
        )));
    }
    let root = match doc.trailer.get(b"Root") {
        Ok(Object::Reference(id)) => *id,
        _ => return Err(invalid("the PDF trailer has no /Root catalog reference")),
    };
    let catalog = doc
        .get_dictionary(root)
        .map_err(|_| invalid("the PDF catalog is missing or not a dictionary"))?
        .clone();
    let (page, page_dict) = first_page(&doc, &catalog)?;
    let (acroform_at, acroform) = match catalog.get(b"AcroForm") {
        Ok(Object::Reference(id)) => match doc.get_object(*id) {
            Ok(Object::Dictionary(d)) => (AcroFormAt::Indirect(*id), d.clone()),
            _ => return Err(invalid("the PDF's /AcroForm is not a dictionary")),
        },
        Ok(Object::Dictionary(d)) => (AcroFormAt::Direct, d.clone()),
        Ok(Object::Null) | Err(_) => (AcroFormAt::Missing, Dictionary::new()),
        Ok(_) => return Err(invalid("the PDF's /AcroForm is not a dictionary")),
    };
    let mut state = PdfState {
        startxref,
        xref_stream,
        next_id: next_free_id(&doc)?,
        root,
        catalog,
        info: doc.trailer.get(b"Info").ok().cloned(),
        id: doc.trailer.get(b"ID").ok().cloned(),
        page,
        page_dict,
        acroform_at,
        acroform,
        field_names: HashSet::new(),
        signed_fields: 0,
        signature_values: Vec::new(),
        docmdp: None,
        dss: None,
    };
    // Bring /Fields into the form dictionary itself, so later revisions rewrite one object.
    let fields = resolve_array(&doc, state.acroform.get(b"Fields").ok())?;
    state.acroform.set("Fields", Object::Array(fields.clone()));
    scan_fields(&doc, &fields, &mut state)?;
    state.docmdp = docmdp(&doc, &state.catalog);
    // /Perms (usage rights, DocMDP) becomes direct too, so a certification signature adds its
    // /DocMDP entry next to what is there.
    if let Ok(Object::Reference(id)) = state.catalog.get(b"Perms")
        && let Ok(Object::Dictionary(perms)) = doc.get_object(*id)
    {
        let perms = perms.clone();
        state.catalog.set("Perms", Object::Dictionary(perms));
    }
    state.dss = match state.catalog.get(b"DSS") {
        Ok(Object::Reference(id)) => match doc.get_object(*id) {
            Ok(Object::Dictionary(d)) => Some((Some(*id), d.clone())),
            _ => None,
        },
        Ok(Object::Dictionary(d)) => Some((None, d.clone())),
        _ => None,
    };
    if let Some((_, dss)) = &mut state.dss {
        for key in [&b"Certs"[..], b"CRLs", b"OCSPs"] {
            if let Ok(v) = dss.get(key) {
                let items = resolve_array(&doc, Some(v))?;
                dss.set(key.to_vec(), Object::Array(items));
            }
        }
    }
    // The page's /Annots, like /Fields, becomes a direct array.
    let annots = resolve_array(&doc, state.page_dict.get(b"Annots").ok())?;
    state.page_dict.set("Annots", Object::Array(annots));
    Ok((doc, state))
}

fn encrypted() -> AdesError {
    invalid(
        "the PDF is encrypted: encrypted PDFs can be neither signed nor extended; remove the encryption first",
    )
}

/// The offset in the last `startxref` line; also checks that the file ends with `%%EOF`
/// (a truncated upload does not).
fn find_startxref(bytes: &[u8]) -> Result<usize, AdesError> {
    let tail_start = bytes.len().saturating_sub(2048);
    let tail = &bytes[tail_start..];
    let eof = tail
        .windows(5)
        .rposition(|w| w == b"%%EOF")
        .ok_or_else(|| invalid("the PDF is truncated: no %%EOF marker at the end"))?;
    let at = tail[..eof]
        .windows(9)
        .rposition(|w| w == b"startxref")
        .ok_or_else(|| invalid("the PDF is truncated: no startxref before %%EOF"))?;
    let digits: String = tail[at + 9..eof]
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take_while(|b| b.is_ascii_digit())
        .map(|b| *b as char)
        .collect();
    let offset: usize = digits
        .parse()
        .map_err(|_| invalid("the PDF's startxref is not a number"))?;
    if offset >= bytes.len() {
        return Err(invalid(
            "the PDF's startxref points past the end of the file",
        ));
    }
    Ok(offset)
}

fn next_free_id(doc: &Document) -> Result<u32, AdesError> {
    let size = match doc.trailer.get(b"Size") {
        Ok(Object::Integer(n)) => u64::try_from(*n).unwrap_or(0),
        _ => 0,
    };
    let defined = doc.objects.keys().map(|k| k.0).max().unwrap_or(0);
    // A reference to an object that does not exist reads as null (ISO 32000-1 §7.3.10); the
    // number must still not be given to one of ours, or that reference would start pointing at
    // a signature's object and change what the signed revision shows.
    let next = size
        .max(u64::from(doc.max_id) + 1)
        .max(u64::from(defined) + 1)
        .max(u64::from(max_reference(doc)) + 1);
    if next > u64::from(MAX_OBJECT_NUMBER) {
        return Err(invalid(format!(
            "the PDF leaves no object number free up to {MAX_OBJECT_NUMBER}, the most readers \
             must support (ISO 32000-1 Annex C)"
        )));
    }
    Ok(next as u32)
}

/// The highest object number any object or the trailer refers to.
fn max_reference(doc: &Document) -> u32 {
    let mut max = 0;
    let mut stack: Vec<&Object> = doc.objects.values().collect();
    stack.extend(doc.trailer.iter().map(|(_, v)| v));
    while let Some(o) = stack.pop() {
        match o {
            Object::Reference((n, _)) => max = max.max(*n),
            Object::Array(items) => stack.extend(items.iter()),
            Object::Dictionary(d) => stack.extend(d.iter().map(|(_, v)| v)),
            Object::Stream(st) => stack.extend(st.dict.iter().map(|(_, v)| v)),
            _ => {}
        }
    }
    max
}

/// The first leaf of the page tree (ISO 32000-1 §7.7.3).
fn first_page(doc: &Document, catalog: &Dictionary) -> Result<(ObjectId, Dictionary), AdesError> {
    let mut node = match catalog.get(b"Pages") {
        Ok(Object::Reference(id)) => *id,
        _ => return Err(invalid("the PDF catalog has no /Pages tree")),
    };
    let mut seen = HashSet::new();
    for _ in 0..MAX_TREE_DEPTH {
        if !seen.insert(node) {
            return Err(invalid("the PDF page tree has a cycle"));
        }
        let dict = doc
            .get_dictionary(node)
            .map_err(|_| invalid("a page tree node is missing or not a dictionary"))?;
        let is_page = matches!(dict.get(b"Type"), Ok(Object::Name(n)) if n == b"Page");
        if is_page {
            return Ok((node, dict.clone()));
        }
        let kids = resolve_array(doc, dict.get(b"Kids").ok())?;
        node = match kids.first() {
            Some(Object::Reference(id)) => *id,
            _ => return Err(invalid("the PDF has no pages")),
        };
    }
    Err(invalid("the PDF page tree is too deep"))
}

/// A direct array, or the array an indirect reference points to; absent = empty.
pub(crate) fn resolve_array(
    doc: &Document,
    value: Option<&Object>,
) -> Result<Vec<Object>, AdesError> {
    match value {
        None | Some(Object::Null) => Ok(Vec::new()),
        Some(Object::Array(a)) => Ok(a.clone()),
        Some(Object::Reference(id)) => match doc.get_object(*id) {
            Ok(Object::Array(a)) => Ok(a.clone()),
            Ok(Object::Null) | Err(_) => Ok(Vec::new()),
            Ok(_) => Err(invalid("an array in the PDF is not an array")),
        },
        Some(_) => Err(invalid("an array in the PDF is not an array")),
    }
}

pub(crate) fn deref<'a>(doc: &'a Document, o: &'a Object) -> Option<&'a Object> {
    match o {
        Object::Reference(id) => doc.get_object(*id).ok(),
        other => Some(other),
    }
}

/// Collects top-level field names and counts signature fields holding a value.
fn scan_fields(doc: &Document, fields: &[Object], state: &mut PdfState) -> Result<(), AdesError> {
    let mut stack: Vec<(Object, usize, Option<Vec<u8>>)> =
        fields.iter().map(|f| (f.clone(), 0, None)).collect();
    let mut seen = HashSet::new();
    let mut count = 0usize;
    while let Some((field, depth, inherited_ft)) = stack.pop() {
        count += 1;
        if count > MAX_FIELDS || depth > MAX_TREE_DEPTH {
            return Err(AdesError::TooLarge(
                "the PDF form has too many fields".into(),
            ));
        }
        if let Object::Reference(id) = field
            && !seen.insert(id)
        {
            continue;
        }
        let Some(Object::Dictionary(d)) = deref(doc, &field) else {
            continue;
        };
        if depth == 0
            && let Ok(Object::String(name, _)) = d.get(b"T")
        {
            state.field_names.insert(name.clone());
        }
        let ft = match d.get(b"FT") {
            Ok(Object::Name(n)) => Some(n.clone()),
            _ => inherited_ft,
        };
        let value = d.get(b"V").ok();
        let has_value = value
            .and_then(|v| deref(doc, v))
            .is_some_and(|v| !matches!(v, Object::Null));
        if ft.as_deref() == Some(b"Sig") && has_value {
            state.signed_fields += 1;
            state.signature_values.extend(value.cloned());
        }
        if let Ok(kids) = d.get(b"Kids") {
            for k in resolve_array(doc, Some(kids))? {
                stack.push((k, depth + 1, ft.clone()));
            }
        }
    }
    Ok(())
}

/// The `/P` of an existing certification signature (ISO 32000-1 §12.8.2.2; default 2).
fn docmdp(doc: &Document, catalog: &Dictionary) -> Option<i64> {
    let perms = catalog.get(b"Perms").ok().and_then(|p| deref(doc, p))?;
    let Object::Dictionary(perms) = perms else {
        return None;
    };
    let sig = perms.get(b"DocMDP").ok().and_then(|s| deref(doc, s))?;
    let Object::Dictionary(sig) = sig else {
        return Some(2);
    };
    let refs = sig.get(b"Reference").ok().and_then(|r| deref(doc, r));
    if let Some(Object::Array(refs)) = refs {
        for r in refs {
            if let Some(Object::Dictionary(r)) = deref(doc, r)
                && let Some(Object::Dictionary(params)) =
                    r.get(b"TransformParams").ok().and_then(|p| deref(doc, p))
                && let Ok(Object::Integer(p)) = params.get(b"P")
            {
                return Some(*p);
            }
        }
    }
    Some(2)
}

// ---------------------------------------------------------------------------------------------
// Writing.

/// Serializes a direct object (ISO 32000-1 §7.3). Streams are never rewritten.
pub fn write_object(o: &Object, out: &mut Vec<u8>) -> Result<(), AdesError> {
    match o {
        Object::Null => out.extend_from_slice(b"null"),
        Object::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Object::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Object::Real(r) => {
            let mut s = format!("{r}");
            if !s.contains('.') {
                s.push_str(".0");
            }
            out.extend_from_slice(s.as_bytes());
        }
        Object::Name(n) => write_name(n, out),
        Object::String(s, StringFormat::Hexadecimal) => {
            out.push(b'<');
            for b in s {
                let _ = write!(HexSink(out), "{b:02X}");
            }
            out.push(b'>');
        }
        Object::String(s, StringFormat::Literal) => write_literal(s, out),
        Object::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                write_object(item, out)?;
            }
            out.push(b']');
        }
        Object::Dictionary(d) => write_dict(d, out)?,
        Object::Reference((id, generation)) => {
            out.extend_from_slice(format!("{id} {generation} R").as_bytes());
        }
        Object::Stream(_) => {
            return Err(AdesError::InvalidDocument(
                "a PDF object the signature must update is a stream".into(),
            ));
        }
    }
    Ok(())
}

struct HexSink<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for HexSink<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

pub fn write_dict(d: &Dictionary, out: &mut Vec<u8>) -> Result<(), AdesError> {
    out.extend_from_slice(b"<<");
    for (k, v) in d.iter() {
        write_name(k, out);
        out.push(b' ');
        write_object(v, out)?;
    }
    out.extend_from_slice(b">>");
    Ok(())
}

/// `/Name` with delimiters, `#` and bytes outside 0x21..=0x7E written as `#xx` (§7.3.5).
fn write_name(n: &[u8], out: &mut Vec<u8>) {
    out.push(b'/');
    for &b in n {
        let regular = (0x21..=0x7e).contains(&b) && !b"()<>[]{}/%#".contains(&b);
        if regular {
            out.push(b);
        } else {
            let _ = write!(HexSink(out), "#{b:02X}");
        }
    }
}

/// `(literal)` with `\`, parentheses and non-printable bytes escaped (§7.3.4.2).
fn write_literal(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'(');
    for &b in s {
        match b {
            b'(' | b')' | b'\\' => {
                out.push(b'\\');
                out.push(b);
            }
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0x20..=0x7e => out.push(b),
            _ => {
                let _ = write!(HexSink(out), "\\{b:03o}");
            }
        }
    }
    out.push(b')');
}

/// A PDF text string (§7.9.2.2): PDFDocEncoding-compatible ASCII as a literal, anything else
/// as UTF-16BE with a byte order mark.
pub fn text_string(text: &str) -> Object {
    if text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        Object::String(text.as_bytes().to_vec(), StringFormat::Literal)
    } else {
        let mut bytes = vec![0xfe, 0xff];
        for unit in text.encode_utf16() {
            bytes.extend_from_slice(&unit.to_be_bytes());
        }
        Object::String(bytes, StringFormat::Hexadecimal)
    }
}

/// One object of an increment: its number and its serialized body (without `obj`/`endobj`).
#[derive(Debug, Clone)]
pub struct NewObject {
    pub id: ObjectId,
    pub body: Vec<u8>,
}

impl NewObject {
    pub fn dict(id: ObjectId, d: &Dictionary) -> Result<Self, AdesError> {
        let mut body = Vec::new();
        write_dict(d, &mut body)?;
        Ok(Self { id, body })
    }

    /// A stream object with raw (unfiltered) `data`.
    pub fn stream(id: ObjectId, data: &[u8]) -> Self {
        let mut body = format!("<</Length {}>>\nstream\n", data.len()).into_bytes();
        body.extend_from_slice(data);
        body.extend_from_slice(b"\nendstream");
        Self { id, body }
    }
}

impl PdfState {
    /// A fresh object number.
    pub fn allocate(&mut self) -> ObjectId {
        let id = (self.next_id, 0);
        self.next_id += 1;
        id
    }

    /// A field name not used yet: `prefix1`, `prefix2`, ... (at most [`MAX_FIELDS`] names are
    /// taken, so one of the first `MAX_FIELDS + 1` is free).
    pub fn unique_field_name(&mut self, prefix: &str) -> Vec<u8> {
        let mut name = Vec::new();
        for n in 1..=MAX_FIELDS + self.field_names.len() + 1 {
            name = format!("{prefix}{n}").into_bytes();
            if !self.field_names.contains(&name) {
                break;
            }
        }
        self.field_names.insert(name.clone());
        name
    }

    /// Appends an incremental update holding `objects` to `out` (which ends with the previous
    /// revision) and returns the offset of each object's body (after `N G obj`), in order. The cross-reference section
    /// continues the previous one's kind, `/Prev` links the revisions (§7.5.6).
    pub fn append(
        &mut self,
        out: &mut Vec<u8>,
        objects: &[NewObject],
    ) -> Result<Vec<usize>, AdesError> {
        if !out.ends_with(b"\n") && !out.ends_with(b"\r") {
            out.push(b'\n');
        }
        let mut offsets = Vec::with_capacity(objects.len());
        let mut entries: Vec<(ObjectId, usize)> = Vec::with_capacity(objects.len() + 1);
        for o in objects {
            let at = out.len();
            entries.push((o.id, at));
            out.extend_from_slice(format!("{} {} obj\n", o.id.0, o.id.1).as_bytes());
            offsets.push(out.len());
            out.extend_from_slice(&o.body);
            out.extend_from_slice(b"\nendobj\n");
        }
        let mut trailer = Dictionary::new();
        trailer.set("Root", Object::Reference(self.root));
        if let Some(info) = &self.info {
            trailer.set("Info", info.clone());
        }
        if let Some(id) = &self.id {
            trailer.set("ID", id.clone());
        }
        trailer.set("Prev", Object::Integer(self.startxref as i64));
        let xref_at;
        if self.xref_stream {
            // §7.5.8: a cross-reference stream; uncompressed, /W [1 4 2].
            let own = self.allocate();
            xref_at = out.len();
            entries.push((own, xref_at));
            entries.sort();
            let mut data = Vec::with_capacity(entries.len() * 7);
            for (id, at) in &entries {
                let at = u32::try_from(*at).map_err(|_| {
                    AdesError::TooLarge("the PDF is too large for a 4-byte offset".into())
                })?;
                data.push(1);
                data.extend_from_slice(&at.to_be_bytes());
                data.extend_from_slice(&id.1.to_be_bytes());
            }
            trailer.set("Type", Object::Name(b"XRef".to_vec()));
            trailer.set("Size", Object::Integer(i64::from(self.next_id)));
            trailer.set("W", Object::Array(vec![1.into(), 4.into(), 2.into()]));
            let index: Vec<Object> = subsections(&entries)
                .iter()
                .flat_map(|(first, n)| {
                    [
                        Object::Integer(i64::from(*first)),
                        Object::Integer(*n as i64),
                    ]
                })
                .collect();
            trailer.set("Index", Object::Array(index));
            trailer.set("Length", Object::Integer(data.len() as i64));
            out.extend_from_slice(format!("{} {} obj\n", own.0, own.1).as_bytes());
            write_dict(&trailer, out)?;
            out.extend_from_slice(b"\nstream\n");
            out.extend_from_slice(&data);
            out.extend_from_slice(b"\nendstream\nendobj\n");
        } else {
            entries.sort();
            xref_at = out.len();
            out.extend_from_slice(b"xref\n");
            let mut i = 0;
            for (first, n) in subsections(&entries) {
                out.extend_from_slice(format!("{first} {n}\n").as_bytes());
                for (id, at) in &entries[i..i + n] {
                    out.extend_from_slice(format!("{at:010} {:05} n\r\n", id.1).as_bytes());
                }
                i += n;
            }
            trailer.set("Size", Object::Integer(i64::from(self.next_id)));
            out.extend_from_slice(b"trailer\n");
            write_dict(&trailer, out)?;
            out.push(b'\n');
        }
        out.extend_from_slice(format!("startxref\n{xref_at}\n%%EOF\n").as_bytes());
        self.startxref = xref_at;
        Ok(offsets)
    }
}

/// Runs of consecutive object numbers: (first, count).
fn subsections(sorted: &[(ObjectId, usize)]) -> Vec<(u32, usize)> {
    let mut out: Vec<(u32, usize)> = Vec::new();
    for (id, _) in sorted {
        match out.last_mut() {
            Some((first, n)) if *first + *n as u32 == id.0 => *n += 1,
            _ => out.push((id.0, 1)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_strings_are_escaped() {
        let mut out = Vec::new();
        write_object(&Object::Name(b"A B#/".to_vec()), &mut out).unwrap();
        assert_eq!(out, b"/A#20B#23#2F");
        out.clear();
        write_object(
            &Object::String(b"a(b)\\c\n\x01".to_vec(), StringFormat::Literal),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, b"(a\\(b\\)\\\\c\\n\\001)");
        assert_eq!(
            text_string("é"),
            Object::String(vec![0xfe, 0xff, 0x00, 0xe9], StringFormat::Hexadecimal)
        );
    }

    #[test]
    fn subsections_group_runs() {
        let e = [((3, 0), 0), ((4, 0), 0), ((9, 0), 0)];
        assert_eq!(subsections(&e), vec![(3, 2), (9, 1)]);
    }

    /// A one-page PDF whose page names `annots` as its /Annots.
    fn pdf_with_annots(annots: &str) -> Vec<u8> {
        let page =
            format!("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots {annots} >>");
        crate::test_pki::pdf_of(&[
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            &page,
        ])
    }

    #[test]
    fn a_dangling_reference_keeps_its_number() {
        // /Annots 7 0 R names an object that does not exist (null): our objects must not take
        // number 7, or the page would show one of them as its annotations (fuzz/regressions/
        // pdf_read holds the input that found it).
        let limits = Limits::default();
        let doc = pdf_with_annots("7 0 R");
        let state = read(&doc, &limits).unwrap();
        assert_eq!(state.next_id, 8);
        let mut out = doc.clone();
        let mut next = state.clone();
        let id = next.allocate();
        next.append(&mut out, &[NewObject::stream(id, b"ours")])
            .unwrap();
        let again = read(&out, &limits).unwrap();
        assert_eq!(again.page, state.page);
        assert_eq!(again.next_id, 9);
        // Without dangling references the next number follows the defined objects.
        assert_eq!(read(&pdf_with_annots("[]"), &limits).unwrap().next_id, 4);
    }

    #[test]
    fn object_numbers_beyond_the_reader_limit_are_refused() {
        let limits = Limits::default();
        let e = read(&pdf_with_annots("8388607 0 R"), &limits).unwrap_err();
        assert_eq!(
            e,
            invalid(
                "the PDF leaves no object number free up to 8388607, the most readers must \
                 support (ISO 32000-1 Annex C)"
            )
        );
        assert_eq!(
            read(&pdf_with_annots("8388606 0 R"), &limits)
                .unwrap()
                .next_id,
            8_388_607
        );
    }

    #[test]
    fn refuses_non_pdf_and_truncated() {
        let limits = Limits::default();
        assert!(read(b"hello", &limits).is_err());
        assert!(read(b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", &limits).is_err());
        assert!(read(b"%PDF-1.7\nstartxref\n999\n%%EOF\n", &limits).is_err());
    }
}
