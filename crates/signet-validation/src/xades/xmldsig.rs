//! The XMLDSig core (XML Signature Syntax and Processing 1.1 §3.2): reference validation and
//! signature validation of one `ds:Signature`, for XAdES and for trusted lists alike.
//!
//! Only what can be checked without running code from the signature: same-document references
//! by Id (refusing an Id two elements carry, the usual signature-wrapping trick), the whole
//! document, and detached documents; the enveloped-signature, canonicalization and base64
//! transforms. XPath and XSLT transforms are refused, never evaluated.

use std::cell::Cell;
use std::collections::HashMap;

use roxmltree::{Document, Node, NodeId};
use signet_core::HashAlgorithm;

use crate::crypto::{self, EcdsaEncoding, SignatureAlgorithm};
use crate::{Check, DetachedContent, Limits};
use signet_ades::xml::{self as c14n, C14n, NodeSet};

pub const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const BASE64: &str = "http://www.w3.org/2000/09/xmldsig#base64";
/// Bounds on what one signature may ask for: each reference can cost a pass over the
/// document.
const MAX_REFERENCES: usize = 100;
const MAX_TRANSFORMS: usize = 10;
const MAX_KEY_CERTIFICATES: usize = 1_000;

/// Base64 as XML carries it: whitespace (line breaks every 64 or 76 characters) ignored.
pub fn base64(text: &str) -> Option<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    signet_core::b64::decode(&compact)
}

/// The first child element of `parent` named `(ns, name)`.
pub fn child<'a, 'i>(parent: Node<'a, 'i>, ns: &str, name: &str) -> Option<Node<'a, 'i>> {
    parent.children().find(|n| n.has_tag_name((ns, name)))
}

/// Every child element of `parent` named `(ns, name)`.
pub fn children<'a, 'i>(
    parent: Node<'a, 'i>,
    ns: &'static str,
    name: &'static str,
) -> impl Iterator<Item = Node<'a, 'i>> {
    parent
        .children()
        .filter(move |n| n.has_tag_name((ns, name)))
}

/// The text of an element (all its text nodes), trimmed.
pub fn text_of(n: Node<'_, '_>) -> String {
    NodeSet::subtree(n).text().trim().to_owned()
}

/// The elements of a document by their `Id`, `ID`, `id` or `xml:id` attribute. An Id that two
/// elements carry resolves to nothing: which one a reference means is ambiguous.
pub struct Ids<'a, 'i> {
    map: HashMap<&'a str, Option<Node<'a, 'i>>>,
}

impl<'a, 'i> Ids<'a, 'i> {
    pub fn new(doc: &'a Document<'i>) -> Self {
        let mut map: HashMap<&'a str, Option<Node<'a, 'i>>> = HashMap::new();
        for n in doc.descendants().filter(|n| n.is_element()) {
            let mut seen: Option<&str> = None;
            for a in n.attributes() {
                let is_id = match a.namespace() {
                    None => matches!(a.name(), "Id" | "ID" | "id"),
                    Some(ns) => ns == "http://www.w3.org/XML/1998/namespace" && a.name() == "id",
                };
                if !is_id || seen == Some(a.value()) {
                    continue;
                }
                seen = Some(a.value());
                map.entry(a.value())
                    .and_modify(|e| *e = None)
                    .or_insert(Some(n));
            }
        }
        Self { map }
    }

    /// The element with Id `id`.
    pub fn get(&self, id: &str) -> Result<Node<'a, 'i>, String> {
        match self.map.get(id) {
            Some(Some(n)) => Ok(*n),
            Some(None) => Err(format!(
                "more than one element has the Id \"{id}\" (a signature-wrapping attempt?)"
            )),
            None => Err(format!("no element has the Id \"{id}\"")),
        }
    }
}

/// One `ds:Transform`.
#[derive(Debug, Clone)]
pub struct Transform<'a, 'i> {
    pub algorithm: String,
    pub element: Node<'a, 'i>,
}

/// One `ds:Reference`.
#[derive(Debug, Clone)]
pub struct Reference<'a, 'i> {
    pub element: Node<'a, 'i>,
    /// `None` when the URI attribute is absent (the application must know the object).
    pub uri: Option<String>,
    /// The `Type` attribute.
    pub kind: Option<String>,
    pub transforms: Vec<Transform<'a, 'i>>,
    pub digest_method: String,
    pub digest_value: Option<Vec<u8>>,
}

impl Reference<'_, '_> {
    /// How the report names it.
    pub fn name(&self) -> String {
        match self.uri.as_deref() {
            None => "(no URI)".into(),
            Some("") => "\"\" (the whole document)".into(),
            Some(u) => u.to_owned(),
        }
    }

    pub fn digest_algorithm(&self) -> Option<HashAlgorithm> {
        signet_core::xmldsig::digest_from_uri(&self.digest_method)
    }
}

/// A `ds:Signature`, its structure read and nothing checked yet.
#[derive(Debug, Clone)]
pub struct Signature<'a, 'i> {
    pub element: Node<'a, 'i>,
    pub signed_info: Node<'a, 'i>,
    /// `SignedInfo/CanonicalizationMethod`, when it is one this module implements.
    pub c14n: Result<C14n, String>,
    /// `SignatureMethod/@Algorithm`.
    pub method: String,
    pub references: Vec<Reference<'a, 'i>>,
    pub value_element: Node<'a, 'i>,
    pub value: Vec<u8>,
    pub key_info: Option<Node<'a, 'i>>,
    /// `KeyInfo/X509Data/X509Certificate`, in order, DER.
    pub key_certificates: Vec<Vec<u8>>,
}

/// Reads the structure of a `ds:Signature` (XMLDSig §4.1): an error is a format error.
pub fn parse<'a, 'i>(element: Node<'a, 'i>) -> Result<Signature<'a, 'i>, String> {
    let mut elements = element.children().filter(|n| n.is_element());
    let signed_info = elements
        .next()
        .filter(|n| n.has_tag_name((DS, "SignedInfo")))
        .ok_or("ds:Signature does not start with ds:SignedInfo")?;
    let value_element = elements
        .next()
        .filter(|n| n.has_tag_name((DS, "SignatureValue")))
        .ok_or("ds:SignedInfo is not followed by ds:SignatureValue")?;
    let value = base64(&text_of(value_element)).ok_or("ds:SignatureValue is not base64")?;
    let key_info = elements.next().filter(|n| n.has_tag_name((DS, "KeyInfo")));

    let mut info = signed_info.children().filter(|n| n.is_element());
    let c14n_element = info
        .next()
        .filter(|n| n.has_tag_name((DS, "CanonicalizationMethod")))
        .ok_or("ds:SignedInfo does not start with ds:CanonicalizationMethod")?;
    let c14n = C14n::from_element(c14n_element).ok_or_else(|| {
        format!(
            "unsupported CanonicalizationMethod {}",
            c14n_element.attribute("Algorithm").unwrap_or("(none)")
        )
    });
    let method = info
        .next()
        .filter(|n| n.has_tag_name((DS, "SignatureMethod")))
        .and_then(|n| n.attribute("Algorithm"))
        .ok_or("ds:SignedInfo has no ds:SignatureMethod")?
        .to_owned();
    let mut references = Vec::new();
    for r in info {
        if !r.has_tag_name((DS, "Reference")) {
            return Err("ds:SignedInfo holds an element other than ds:Reference".into());
        }
        if references.len() == MAX_REFERENCES {
            return Err(format!(
                "ds:SignedInfo has more than {MAX_REFERENCES} references"
            ));
        }
        references.push(parse_reference(r)?);
    }
    if references.is_empty() {
        return Err("ds:SignedInfo has no ds:Reference".into());
    }
    let key_certificates = match key_info {
        Some(k) => certificates_of_key_info(k)?,
        None => Vec::new(),
    };
    Ok(Signature {
        element,
        signed_info,
        c14n,
        method,
        references,
        value_element,
        value,
        key_info,
        key_certificates,
    })
}

fn parse_reference<'a, 'i>(r: Node<'a, 'i>) -> Result<Reference<'a, 'i>, String> {
    let mut parts = r.children().filter(|n| n.is_element()).peekable();
    let mut transforms = Vec::new();
    if let Some(t) = parts.next_if(|n| n.has_tag_name((DS, "Transforms"))) {
        for t in t.children().filter(|n| n.is_element()) {
            if !t.has_tag_name((DS, "Transform")) || transforms.len() == MAX_TRANSFORMS {
                return Err(format!(
                    "ds:Transforms holds something other than at most {MAX_TRANSFORMS} ds:Transform"
                ));
            }
            transforms.push(Transform {
                algorithm: t.attribute("Algorithm").unwrap_or_default().to_owned(),
                element: t,
            });
        }
    }
    let digest_method = parts
        .next()
        .filter(|n| n.has_tag_name((DS, "DigestMethod")))
        .and_then(|n| n.attribute("Algorithm"))
        .ok_or("ds:Reference has no ds:DigestMethod")?
        .to_owned();
    let digest_value = parts
        .next()
        .filter(|n| n.has_tag_name((DS, "DigestValue")))
        .ok_or("ds:Reference has no ds:DigestValue")
        .map(|n| base64(&text_of(n)))?;
    Ok(Reference {
        element: r,
        uri: r.attribute("URI").map(str::to_owned),
        kind: r.attribute("Type").map(str::to_owned),
        transforms,
        digest_method,
        digest_value,
    })
}

/// `KeyInfo/X509Data/X509Certificate`, decoded.
fn certificates_of_key_info(key_info: Node<'_, '_>) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    for data in children(key_info, DS, "X509Data") {
        for c in children(data, DS, "X509Certificate") {
            if out.len() == MAX_KEY_CERTIFICATES {
                return Err(format!(
                    "ds:KeyInfo has more than {MAX_KEY_CERTIFICATES} certificates"
                ));
            }
            out.push(base64(&text_of(c)).ok_or("ds:X509Certificate is not base64")?);
        }
    }
    Ok(out)
}

/// What a reference yields after its transforms, before the final canonicalization.
#[derive(Debug, Clone)]
pub enum Data<'a, 'i> {
    Nodes(NodeSet<'a, 'i>),
    Octets(Vec<u8>),
}

impl Data<'_, '_> {
    /// Octets: a remaining node-set canonicalized with `c` (XMLDSig: inclusive C14N 1.0;
    /// XAdES time-stamps: their own method).
    pub fn octets(&self, c: &C14n) -> Vec<u8> {
        match self {
            Self::Nodes(set) => c14n::canonicalize(*set, c),
            Self::Octets(o) => o.clone(),
        }
    }
}

/// Why a reference yields no data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefError {
    /// The object is not there: SIGNED_DATA_NOT_FOUND.
    NotFound(String),
    /// The object is there but cannot be processed (an unsupported transform).
    Failed(String),
}

/// Where references are resolved: the document, its Ids, the detached documents given, and
/// how much work they may still cost.
pub struct Context<'a, 'i, 'd> {
    pub doc: &'a Document<'i>,
    pub ids: &'a Ids<'a, 'i>,
    pub detached: &'d [DetachedContent],
    /// Nesting allowed in a detached XML document that a transform parses.
    max_depth: usize,
    /// Bytes that may still be canonicalized or digested: a hostile document with many
    /// signatures, references and time-stamps over the whole document would otherwise cost
    /// their product.
    budget: Cell<usize>,
}

impl<'a, 'i, 'd> Context<'a, 'i, 'd> {
    /// Work is bounded to [`WORK_FACTOR`] times the largest document `limits` accept.
    pub fn new(
        doc: &'a Document<'i>,
        ids: &'a Ids<'a, 'i>,
        detached: &'d [DetachedContent],
        limits: &Limits,
    ) -> Self {
        Self {
            doc,
            ids,
            detached,
            max_depth: limits.max_xml_depth,
            budget: Cell::new(limits.max_document_bytes.saturating_mul(WORK_FACTOR)),
        }
    }

    /// Takes `bytes` of work from the budget.
    pub fn charge(&self, bytes: usize) -> Result<(), String> {
        let left = self.budget.get();
        if bytes > left {
            self.budget.set(0);
            return Err(format!(
                "the signatures of this document need more processing than allowed ({WORK_FACTOR} times the document size limit)"
            ));
        }
        self.budget.set(left - bytes);
        Ok(())
    }
}

/// How many passes over a document of the largest accepted size all the references and
/// time-stamps of one document may cost together.
pub const WORK_FACTOR: usize = 16;

/// What canonicalizing or digesting a node-set costs, roughly: its source text.
pub fn cost(set: &NodeSet<'_, '_>) -> usize {
    set.apex.range().len()
}

/// The detached document a URI names: by name (as written, percent-decoded, or its last
/// path segment), else the only one given.
fn detached_for<'d>(uri: &str, detached: &'d [DetachedContent]) -> Option<&'d DetachedContent> {
    let decoded = percent_decode(uri);
    let last = |s: &str| s.rsplit(['/', '\\']).next().map(str::to_owned);
    let wanted = [
        Some(uri.to_owned()),
        decoded.clone(),
        decoded.as_deref().and_then(last),
    ];
    detached
        .iter()
        .find(|d| {
            d.name.as_deref().is_some_and(|name| {
                wanted.iter().flatten().any(|w| w == name) || last(name) == wanted[2]
            })
        })
        .or(match detached {
            [only] => Some(only),
            _ => None,
        })
}

fn percent_decode(uri: &str) -> Option<String> {
    let bytes = uri.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Dereferences `r` (XMLDSig §4.4.3.3) and applies its transforms.
pub fn dereference<'a, 'i>(
    sig: &Signature<'a, 'i>,
    r: &Reference<'a, 'i>,
    cx: &Context<'a, 'i, '_>,
) -> Result<Data<'a, 'i>, RefError> {
    let uri = r
        .uri
        .as_deref()
        .ok_or_else(|| RefError::NotFound("a reference without URI names no object".into()))?;
    let mut data = if uri.is_empty() {
        Data::Nodes(NodeSet::subtree(cx.doc.root()))
    } else if uri == "#xpointer(/)" {
        Data::Nodes(NodeSet {
            comments: true,
            ..NodeSet::subtree(cx.doc.root())
        })
    } else if let Some(fragment) = uri.strip_prefix('#') {
        let (id, comments) = match fragment
            .strip_prefix("xpointer(id(")
            .and_then(|s| s.strip_suffix("))"))
        {
            Some(quoted) => (quoted.trim_matches(['\'', '"']), true),
            None => (fragment, false),
        };
        let n = cx.ids.get(id).map_err(RefError::NotFound)?;
        Data::Nodes(NodeSet {
            comments,
            ..NodeSet::subtree(n)
        })
    } else {
        let d = detached_for(uri, cx.detached).ok_or_else(|| {
            RefError::NotFound(format!("the detached document \"{uri}\" was not given"))
        })?;
        Data::Octets(d.bytes.clone())
    };
    // One pass per transform, and one for the digest.
    let size = match &data {
        Data::Nodes(set) => cost(set),
        Data::Octets(o) => o.len(),
    };
    cx.charge(size.saturating_mul(r.transforms.len() + 1))
        .map_err(RefError::Failed)?;
    for t in &r.transforms {
        data = transform(sig, t, data, cx.max_depth)?;
    }
    Ok(data)
}

fn transform<'a, 'i>(
    sig: &Signature<'a, 'i>,
    t: &Transform<'a, 'i>,
    data: Data<'a, 'i>,
    max_depth: usize,
) -> Result<Data<'a, 'i>, RefError> {
    let alg = t.algorithm.as_str();
    if alg == ENVELOPED {
        return match data {
            Data::Nodes(set) => Ok(Data::Nodes(NodeSet {
                excluded: Some(sig.element.id()),
                ..set
            })),
            Data::Octets(_) => Err(RefError::Failed(
                "the enveloped-signature transform applies to XML of this document only".into(),
            )),
        };
    }
    if let Some(c) = C14n::from_element(t.element) {
        return match data {
            Data::Nodes(set) => Ok(Data::Octets(c14n::canonicalize(set, &c))),
            Data::Octets(bytes) => {
                let doc = signet_ades::xml::parse_untrusted(&bytes, max_depth)
                    .map_err(|e| RefError::Failed(format!("the referenced data: {e}")))?;
                let set = NodeSet {
                    comments: true,
                    ..NodeSet::subtree(doc.root())
                };
                Ok(Data::Octets(c14n::canonicalize(set, &c)))
            }
        };
    }
    if alg == BASE64 {
        let text = match &data {
            Data::Nodes(set) => set.text(),
            Data::Octets(o) => String::from_utf8_lossy(o).into_owned(),
        };
        return base64(&text)
            .map(Data::Octets)
            .ok_or_else(|| RefError::Failed("the base64 transform's input is not base64".into()));
    }
    Err(RefError::Failed(match alg {
        "http://www.w3.org/TR/1999/REC-xpath-19991116"
        | "http://www.w3.org/2002/06/xmldsig-filter2" => {
            "XPath transforms are not supported (they would run expressions from the signature)"
                .into()
        }
        "http://www.w3.org/TR/1999/REC-xslt-19991116" => "XSLT transforms are not supported".into(),
        other => format!("unsupported transform {other}"),
    }))
}

/// A reference's outcome: whether its object was found, whether its digest matches, and the
/// node it resolved to (for a same-document `#id`).
#[derive(Debug, Clone)]
pub struct ReferenceCheck<'a, 'i> {
    pub found: Check,
    pub intact: Check,
    pub target: Option<NodeId>,
    pub data: Option<Data<'a, 'i>>,
}

/// Dereferences `r`, applies its transforms and compares its digest (XMLDSig §3.2.1).
pub fn check_reference<'a, 'i>(
    sig: &Signature<'a, 'i>,
    r: &Reference<'a, 'i>,
    cx: &Context<'a, 'i, '_>,
) -> ReferenceCheck<'a, 'i> {
    let target = r
        .uri
        .as_deref()
        .and_then(|u| u.strip_prefix('#'))
        .and_then(|id| cx.ids.get(id).ok())
        .map(|n| n.id());
    let data = match dereference(sig, r, cx) {
        Ok(d) => d,
        Err(RefError::NotFound(e)) => {
            return ReferenceCheck {
                found: Check::Failed(e.clone()),
                intact: Check::NotChecked(e),
                target,
                data: None,
            };
        }
        Err(RefError::Failed(e)) => {
            return ReferenceCheck {
                found: Check::Passed,
                intact: Check::Failed(e),
                target,
                data: None,
            };
        }
    };
    let intact = match (r.digest_algorithm(), &r.digest_value) {
        (None, _) => Check::Failed(format!(
            "unsupported DigestMethod {} (SHA-1 is not accepted)",
            r.digest_method
        )),
        (_, None) => Check::Failed("ds:DigestValue is not base64".into()),
        (Some(h), Some(expected)) => {
            let octets = data.octets(&C14n::default_inclusive());
            Check::from_bool(h.digest(&octets) == *expected, || {
                format!("the digest of {} does not match its DigestValue", r.name())
            })
        }
    };
    ReferenceCheck {
        found: Check::Passed,
        intact,
        target,
        data: Some(data),
    }
}

/// Checks the signature value over the canonicalized `ds:SignedInfo` with the key of
/// `certificate` (DER). ECDSA values are `r || s` (XMLDSig 1.1 §6.4.3).
pub fn verify_signed_info(sig: &Signature<'_, '_>, certificate: &[u8]) -> Check {
    let result = (|| {
        let c = sig.c14n.clone()?;
        let alg = SignatureAlgorithm::from_xmldsig(&sig.method)?;
        let spki = crypto::certificate_spki(certificate)?;
        let signed = c14n::canonicalize(NodeSet::subtree(sig.signed_info), &c);
        crypto::verify(spki, alg, &signed, &sig.value, EcdsaEncoding::Fixed)
    })();
    match result {
        Ok(()) => Check::Passed,
        Err(e) => Check::Failed(e),
    }
}

/// An enveloped signature over a whole document, as trusted lists are signed: every
/// reference found and intact, one of them the whole document (`URI=""` or the document
/// element's Id) with the enveloped-signature transform, and the value verifying under the
/// first `KeyInfo` certificate. Returns that certificate.
pub fn verify_enveloped(
    doc: &Document<'_>,
    element: Node<'_, '_>,
    limits: &Limits,
) -> Result<Vec<u8>, String> {
    let ids = Ids::new(doc);
    let sig = parse(element)?;
    let cx = Context::new(doc, &ids, &[], limits);
    let root = doc.root_element();
    let mut whole = false;
    for r in &sig.references {
        let check = check_reference(&sig, r, &cx);
        for c in [&check.found, &check.intact] {
            if let Check::Failed(e) | Check::NotChecked(e) = c {
                return Err(format!("reference {}: {e}", r.name()));
            }
        }
        let enveloped = r.transforms.iter().any(|t| t.algorithm == ENVELOPED);
        whole |= enveloped && (r.uri.as_deref() == Some("") || check.target == Some(root.id()));
    }
    if !whole {
        return Err("the signature does not cover the whole document".into());
    }
    let certificate = sig
        .key_certificates
        .first()
        .ok_or("the signature's KeyInfo has no X509Certificate")?;
    match verify_signed_info(&sig, certificate) {
        Check::Passed => Ok(certificate.clone()),
        Check::Failed(e) | Check::NotChecked(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_refuse_duplicates() {
        let text = "<r Id=\"a\"><x ID=\"b\"/><y id=\"b\"/><z xml:id=\"c\" Id=\"c\"/></r>";
        let doc = roxmltree::Document::parse(text).unwrap();
        let ids = Ids::new(&doc);
        assert_eq!(ids.get("a").unwrap().tag_name().name(), "r");
        assert!(ids.get("b").unwrap_err().contains("more than one element"));
        // One element with the same value twice is one element.
        assert_eq!(ids.get("c").unwrap().tag_name().name(), "z");
        assert_eq!(ids.get("d").unwrap_err(), "no element has the Id \"d\"");
    }

    #[test]
    fn detached_documents_are_matched_by_name() {
        let d = |name: Option<&str>, b: &[u8]| DetachedContent {
            name: name.map(str::to_owned),
            bytes: b.to_vec(),
        };
        let docs = [
            d(Some("/tmp/x/Rechnung März.xml"), b"1"),
            d(Some("b"), b"2"),
        ];
        assert_eq!(
            detached_for("Rechnung%20M%C3%A4rz.xml", &docs)
                .unwrap()
                .bytes,
            b"1"
        );
        assert_eq!(detached_for("dir/b", &docs).unwrap().bytes, b"2");
        assert!(detached_for("c", &docs).is_none());
        assert_eq!(detached_for("document", &docs[1..]).unwrap().bytes, b"2");
        assert_eq!(percent_decode("a%2"), None);
    }

    #[test]
    fn base64_ignores_line_breaks() {
        assert_eq!(base64("AQID\n BA==\r\n"), Some(vec![1, 2, 3, 4]));
        assert_eq!(base64("!!"), None);
    }
}
