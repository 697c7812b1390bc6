//! The gate for untrusted XML, and XML canonicalization as signing, augmentation and
//! validation need it: inclusive C14N 1.0 and 1.1 (what xmlsec1 and signxml write by default)
//! and exclusive C14N 1.0 (what Signet and EU DSS write), each with or without comments, over
//! the node-sets XMLDSig references produce — a whole document or one element's subtree,
//! minus the subtree of an enveloped signature.
//!
//! Written over roxmltree's read-only tree. roxmltree refuses DTDs (so no entity other than
//! the five predefined ones, nothing external and no entity expansion) and resolves
//! namespaces; it does not keep prefixes, so element and attribute qualified names are read
//! back from the source text at the positions it reports. Walks are iterative, so that
//! nesting cannot exhaust the stack.

use std::collections::HashSet;

use roxmltree::{Document, Node, NodeId, NodeType, ParsingOptions};

use crate::AdesError;

/// Most nodes an XML document may have: bounds the tree's memory (16 MiB of `<a/>` would
/// otherwise be four million nodes).
const MAX_NODES: u32 = 1_000_000;
/// Largest attribute value accepted, in bytes.
const MAX_ATTRIBUTE_BYTES: usize = 1 << 20;

fn invalid(text: impl Into<String>) -> AdesError {
    AdesError::InvalidDocument(text.into())
}

/// Parses a client's XML document, refusing what could make it costly or ambiguous: text that
/// is not UTF-8, another declared encoding, a DTD (DOCTYPE) or entity declarations, nesting
/// deeper than `max_depth`, too many nodes, huge attributes.
pub fn parse_untrusted(bytes: &[u8], max_depth: usize) -> Result<Document<'_>, AdesError> {
    let text = std::str::from_utf8(bytes).map_err(|_| {
        invalid("the XML document is not UTF-8: XAdES signing accepts UTF-8 documents only")
    })?;
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some(decl) = body.strip_prefix("<?xml")
        && let Some(end) = decl.find("?>")
        && let Some(encoding) = declared_encoding(&decl[..end])
        && !encoding.eq_ignore_ascii_case("utf-8")
        && !encoding.eq_ignore_ascii_case("utf8")
    {
        return Err(invalid(format!(
            "the XML document declares encoding {encoding:?}: XAdES signing accepts UTF-8 documents only"
        )));
    }
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_NODES,
        ..ParsingOptions::default()
    };
    let doc = Document::parse_with_options(text, options).map_err(parse_error)?;
    // roxmltree lets an empty DOCTYPE through; a DTD of any kind has no place in a document
    // to sign (it can change attribute values and IDs a verifier sees).
    let root = doc.root_element();
    let prolog = &text[..root.range().start];
    if prolog.contains("<!DOCTYPE") || prolog.contains("<!doctype") {
        return Err(invalid(
            "the XML document has a DTD (<!DOCTYPE>): DTDs and entity declarations are not accepted",
        ));
    }
    // XML 1.0 §2.6 [17]: no processing instruction is named "xml" in any case. roxmltree
    // takes a malformed XML declaration (`<?xml<?...`) for one, whose canonical form is not
    // XML (found by fuzzing, `xml_c14n`).
    if doc.descendants().any(|n| {
        n.pi()
            .is_some_and(|pi| pi.target.eq_ignore_ascii_case("xml"))
    }) {
        return Err(invalid(
            "the document is not well-formed XML: a processing instruction is named xml",
        ));
    }
    let mut depth = 0usize;
    for edge in walk(NodeSet::subtree(root)) {
        match edge {
            Edge::Open(n) if n.is_element() => {
                depth += 1;
                if depth > max_depth {
                    return Err(invalid(format!(
                        "the XML document nests elements deeper than {max_depth} levels"
                    )));
                }
                // Namespaces in XML 1.0 §3: a prefix cannot be undeclared (`xmlns:p=""`, XML
                // 1.1 only); roxmltree accepts it, and the canonical form would use a prefix
                // it no longer declares (found by fuzzing, `xml_c14n`).
                if n.namespaces()
                    .any(|ns| ns.name().is_some() && ns.uri().is_empty())
                {
                    return Err(invalid(
                        "the document is not namespace-well-formed XML: a prefix is declared with an empty namespace name",
                    ));
                }
                // XML 1.0 §3.1 (Unique Att Spec): roxmltree refuses a repeated attribute and a
                // repeated prefix, but not a repeated default namespace (`xmlns="a"
                // xmlns="b"`); both would be rendered, and a reader keeps only one (found by
                // fuzzing, `xml_c14n`). A
                // redeclaration on a descendant replaces the inherited one, so a prefix seen
                // twice here was declared twice on this element.
                let mut prefixes = HashSet::new();
                if !n.namespaces().all(|ns| prefixes.insert(ns.name())) {
                    return Err(invalid(
                        "the document is not well-formed XML: an element declares the same namespace prefix twice",
                    ));
                }
                if n.attributes()
                    .any(|a| a.value().len() > MAX_ATTRIBUTE_BYTES)
                {
                    return Err(invalid(format!(
                        "the XML document has an attribute value longer than {MAX_ATTRIBUTE_BYTES} bytes"
                    )));
                }
            }
            Edge::Close(n) if n.is_element() => depth -= 1,
            _ => {}
        }
    }
    Ok(doc)
}

fn declared_encoding(decl: &str) -> Option<&str> {
    let rest = &decl[decl.find("encoding")? + "encoding".len()..];
    let rest = rest.trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next()?;
    if quote != '"' && quote != '\'' {
        return None;
    }
    let value = &rest[1..];
    Some(&value[..value.find(quote)?])
}

fn parse_error(e: roxmltree::Error) -> AdesError {
    use roxmltree::Error as E;
    match e {
        E::DtdDetected => invalid(
            "the XML document has a DTD (<!DOCTYPE>): DTDs and entity declarations are not accepted",
        ),
        E::UnknownEntityReference(name, _) => invalid(format!(
            "the XML document references the entity &{name};: only the predefined XML entities are accepted (no DTD)"
        )),
        E::EntityReferenceLoop(_) => invalid("the XML document has recursive entity references"),
        E::NodesLimitReached => {
            invalid(format!("the XML document has more than {MAX_NODES} nodes"))
        }
        E::AttributesLimitReached | E::NamespacesLimitReached => {
            invalid("the XML document has too many attributes or namespace declarations")
        }
        other => invalid(format!("the document is not well-formed XML: {other}")),
    }
}

/// Parses XML this module wrote itself (a signature fragment). A failure is a bug or text
/// from the request that XML cannot carry.
pub fn parse_own(text: &str) -> Result<Document<'_>, AdesError> {
    Document::parse(text).map_err(|e| {
        AdesError::InvalidRequest(format!(
            "the signature properties cannot be written as XML: {e}"
        ))
    })
}

pub const INCLUSIVE: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
pub const INCLUSIVE_WITH_COMMENTS: &str =
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments";
pub const INCLUSIVE_11: &str = "http://www.w3.org/2006/12/xml-c14n11";
pub const INCLUSIVE_11_WITH_COMMENTS: &str = "http://www.w3.org/2006/12/xml-c14n11#WithComments";
pub const EXCLUSIVE: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
pub const EXCLUSIVE_WITH_COMMENTS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// Which canonicalization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Canonical XML 1.0: every namespace in scope, `xml:*` attributes inherited.
    Inclusive10,
    /// Canonical XML 1.1: as 1.0, but only `xml:lang`, `xml:space` and `xml:base` inherited.
    Inclusive11,
    /// Exclusive XML Canonicalization 1.0: only the visibly utilized namespaces.
    Exclusive,
}

/// A canonicalization algorithm with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct C14n {
    pub method: Method,
    pub comments: bool,
    /// Exclusive C14N `InclusiveNamespaces/@PrefixList`, `""` for `#default`.
    pub inclusive_prefixes: Vec<String>,
}

impl C14n {
    /// Inclusive C14N 1.0 without comments: XMLDSig's default, and XAdES's for time-stamps.
    pub fn default_inclusive() -> Self {
        Self {
            method: Method::Inclusive10,
            comments: false,
            inclusive_prefixes: Vec::new(),
        }
    }

    /// Exclusive C14N without comments and without a prefix list: what Signet writes.
    pub fn exclusive() -> Self {
        Self {
            method: Method::Exclusive,
            comments: false,
            inclusive_prefixes: Vec::new(),
        }
    }

    /// The algorithm an XMLDSig `Algorithm` URI names; `None` when it is not a
    /// canonicalization.
    pub fn from_uri(uri: &str) -> Option<Self> {
        let (method, comments) = match uri {
            INCLUSIVE => (Method::Inclusive10, false),
            INCLUSIVE_WITH_COMMENTS => (Method::Inclusive10, true),
            INCLUSIVE_11 => (Method::Inclusive11, false),
            INCLUSIVE_11_WITH_COMMENTS => (Method::Inclusive11, true),
            EXCLUSIVE => (Method::Exclusive, false),
            EXCLUSIVE_WITH_COMMENTS => (Method::Exclusive, true),
            _ => return None,
        };
        Some(Self {
            method,
            comments,
            inclusive_prefixes: Vec::new(),
        })
    }

    /// The algorithm of a `ds:CanonicalizationMethod` or `ds:Transform` element, with its
    /// exclusive `InclusiveNamespaces` child. `None` for another algorithm.
    pub fn from_element(e: Node<'_, '_>) -> Option<Self> {
        let mut c = Self::from_uri(e.attribute("Algorithm")?)?;
        if c.method == Method::Exclusive
            && let Some(list) = e
                .children()
                .find(|n| n.has_tag_name((EXCLUSIVE, "InclusiveNamespaces")))
                .and_then(|n| n.attribute("PrefixList"))
        {
            c.inclusive_prefixes = list
                .split_ascii_whitespace()
                .take(64)
                .map(|p| if p == "#default" { "" } else { p }.to_owned())
                .collect();
        }
        Some(c)
    }
}

/// An XPath node-set as XMLDSig same-document references make it: the subtree at `apex` (the
/// document's root node for `URI=""`), without the subtree at `excluded` (the enveloped
/// signature), with or without its comments.
#[derive(Debug, Clone, Copy)]
pub struct NodeSet<'a, 'input> {
    pub apex: Node<'a, 'input>,
    pub excluded: Option<NodeId>,
    pub comments: bool,
}

impl<'a, 'input> NodeSet<'a, 'input> {
    pub fn subtree(apex: Node<'a, 'input>) -> Self {
        Self {
            apex,
            excluded: None,
            comments: false,
        }
    }

    /// The string-value of the node-set: its text nodes in document order (what the base64
    /// transform decodes).
    pub fn text(&self) -> String {
        let mut out = String::new();
        for edge in walk(*self) {
            if let Edge::Open(n) = edge
                && n.is_text()
            {
                out.push_str(n.text().unwrap_or_default());
            }
        }
        out
    }
}

/// Canonicalizes `set` with `c`; comments are kept only when both allow them.
pub fn canonicalize(set: NodeSet<'_, '_>, c: &C14n) -> Vec<u8> {
    let mut out = Vec::new();
    canonicalize_into(set, c, &mut out);
    out
}

/// [`canonicalize`], appending to `out`.
pub fn canonicalize_into(set: NodeSet<'_, '_>, c: &C14n, out: &mut Vec<u8>) {
    let source = set.apex.document().input_text();
    let comments = set.comments && c.comments;
    let mut scope = Scope::default();
    let mut after_root = false;
    for edge in walk(set) {
        match edge {
            Edge::Open(n) => match n.node_type() {
                NodeType::Element => {
                    open_tag(n, n.id() == set.apex.id(), source, c, &mut scope, out);
                    if n.parent().is_some_and(|p| p.is_root()) {
                        after_root = true;
                    }
                }
                NodeType::Text => escape_text(n.text().unwrap_or_default(), out),
                NodeType::PI | NodeType::Comment => {
                    if n.is_comment() && !comments {
                        continue;
                    }
                    // Outside the document element: each on its own line.
                    let top = n.parent().is_some_and(|p| p.is_root());
                    if top && after_root {
                        out.push(b'\n');
                    }
                    if let Some(pi) = n.pi() {
                        out.extend_from_slice(b"<?");
                        out.extend_from_slice(pi.target.as_bytes());
                        if let Some(v) = pi.value.filter(|v| !v.is_empty()) {
                            out.push(b' ');
                            out.extend_from_slice(v.as_bytes());
                        }
                        out.extend_from_slice(b"?>");
                    } else {
                        out.extend_from_slice(b"<!--");
                        out.extend_from_slice(n.text().unwrap_or_default().as_bytes());
                        out.extend_from_slice(b"-->");
                    }
                    if top && !after_root {
                        out.push(b'\n');
                    }
                }
                NodeType::Root => {}
            },
            Edge::Close(n) => {
                if n.is_element() {
                    out.extend_from_slice(b"</");
                    out.extend_from_slice(element_qname(n, source).as_bytes());
                    out.push(b'>');
                    scope.pop();
                }
            }
        }
    }
}

/// Exclusive C14N without comments of the whole document (the same-document reference
/// `URI=""` as Signet signs it).
pub fn document(doc: &Document<'_>) -> Vec<u8> {
    canonicalize(NodeSet::subtree(doc.root()), &C14n::exclusive())
}

/// Exclusive C14N without comments of the subtree at `apex` (a `#id` reference, a fragment
/// Signet wrote, an element the time-stamps cover), appended to `out`.
pub fn element_subtree(apex: Node<'_, '_>, out: &mut Vec<u8>) {
    canonicalize_into(NodeSet::subtree(apex), &C14n::exclusive(), out);
}

/// Entering and leaving a node, in document order.
enum Edge<'a, 'input> {
    Open(Node<'a, 'input>),
    Close(Node<'a, 'input>),
}

/// Visits the node-set depth-first without recursion. Text outside the document element is
/// not part of the canonical form (roxmltree keeps none anyway).
fn walk<'a, 'input>(set: NodeSet<'a, 'input>) -> Walk<'a, 'input> {
    Walk {
        set,
        next: (Some(set.apex.id()) != set.excluded).then_some(Edge::Open(set.apex)),
    }
}

struct Walk<'a, 'input> {
    set: NodeSet<'a, 'input>,
    next: Option<Edge<'a, 'input>>,
}

impl<'a, 'input> Walk<'a, 'input> {
    /// What follows the subtree at `n`: its next sibling, else leaving its parent.
    fn after(&self, n: Node<'a, 'input>) -> Option<Edge<'a, 'input>> {
        if n.id() == self.set.apex.id() {
            return None;
        }
        match n.next_sibling() {
            Some(s) => Some(Edge::Open(s)),
            None => n.parent().map(Edge::Close),
        }
    }
}

impl<'a, 'input> Iterator for Walk<'a, 'input> {
    type Item = Edge<'a, 'input>;

    fn next(&mut self) -> Option<Self::Item> {
        // Each turn moves past one node: at most as many turns as the document has nodes.
        loop {
            match self.next.take()? {
                Edge::Open(n) => {
                    let skipped = Some(n.id()) == self.set.excluded
                        || (n.is_text() && n.parent().is_some_and(|p| p.is_root()));
                    if skipped {
                        self.next = self.after(n);
                        continue;
                    }
                    self.next = Some(match n.first_child() {
                        Some(c) => Edge::Open(c),
                        None => Edge::Close(n),
                    });
                    return Some(Edge::Open(n));
                }
                Edge::Close(n) => {
                    self.next = self.after(n);
                    return Some(Edge::Close(n));
                }
            }
        }
    }
}

/// The namespace declarations rendered by the open output elements, innermost last.
#[derive(Default)]
struct Scope {
    declared: Vec<(String, String)>,
    marks: Vec<usize>,
}

impl Scope {
    fn lookup(&self, prefix: &str) -> Option<&str> {
        self.declared
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, u)| u.as_str())
    }

    /// Whether a declaration of `prefix` as `uri` must be written: it differs from what an
    /// output ancestor rendered (the empty default namespace only undoes a rendered one).
    fn needs(&self, prefix: &str, uri: &str) -> bool {
        match self.lookup(prefix) {
            Some(current) => current != uri,
            None => !(prefix.is_empty() && uri.is_empty()),
        }
    }

    fn push(&mut self, declared: Vec<(String, String)>) {
        self.marks.push(self.declared.len());
        self.declared.extend(declared);
    }

    fn pop(&mut self) {
        if let Some(mark) = self.marks.pop() {
            self.declared.truncate(mark);
        }
    }
}

/// The element's name as written: `<` then the name up to whitespace, `/` or `>`.
fn element_qname<'s>(n: Node<'_, '_>, source: &'s str) -> &'s str {
    let start = n.range().start + 1;
    let rest = source.get(start..).unwrap_or_default();
    let end = rest
        .find(|c: char| c.is_ascii_whitespace() || c == '/' || c == '>')
        .unwrap_or(rest.len());
    rest.get(..end).unwrap_or_default()
}

fn prefix_of(qname: &str) -> Option<&str> {
    qname.split_once(':').map(|(p, _)| p)
}

/// The namespaces in scope on `n`, `""` for the default one (with an empty URI when it is
/// undeclared or never declared).
fn in_scope(n: Node<'_, '_>) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = n
        .namespaces()
        .filter(|ns| ns.name().is_none() || !ns.uri().is_empty())
        .map(|ns| {
            (
                ns.name().unwrap_or_default().to_owned(),
                ns.uri().to_owned(),
            )
        })
        .collect();
    if !all.iter().any(|(p, _)| p.is_empty()) {
        all.push((String::new(), String::new()));
    }
    all
}

struct Attr<'s> {
    ns: &'s str,
    local: &'s str,
    qname: &'s str,
    value: &'s str,
}

/// Writes the start tag and pushes the namespace declarations it rendered onto `scope`.
fn open_tag<'s>(
    n: Node<'s, 's>,
    is_apex: bool,
    source: &'s str,
    c: &C14n,
    scope: &mut Scope,
    out: &mut Vec<u8>,
) {
    let qname = element_qname(n, source);
    let candidates: Vec<(String, String)> = match c.method {
        Method::Inclusive10 | Method::Inclusive11 => in_scope(n),
        Method::Exclusive => {
            let mut used: Vec<(String, String)> = Vec::new();
            let mut add = |p: &str, uri: &str| {
                if !used.iter().any(|(q, _)| q == p) {
                    used.push((p.to_owned(), uri.to_owned()));
                }
            };
            match prefix_of(qname) {
                Some(p) => add(p, n.lookup_namespace_uri(Some(p)).unwrap_or_default()),
                None => add("", n.default_namespace().unwrap_or_default()),
            }
            for a in n.attributes() {
                let attr_qname = source.get(a.range_qname()).unwrap_or_else(|| a.name());
                if let Some(p) = prefix_of(attr_qname)
                    && p != "xml"
                {
                    add(p, a.namespace().unwrap_or_default());
                }
            }
            if !c.inclusive_prefixes.is_empty() {
                for (p, uri) in in_scope(n) {
                    if c.inclusive_prefixes.contains(&p) {
                        add(&p, &uri);
                    }
                }
            }
            used
        }
    };
    let mut declared: Vec<(String, String)> = candidates
        .into_iter()
        .filter(|(p, u)| scope.needs(p, u))
        .collect();
    declared.sort();

    let mut attrs: Vec<Attr<'_>> = n
        .attributes()
        .map(|a| Attr {
            ns: a.namespace().unwrap_or_default(),
            local: a.name(),
            qname: source.get(a.range_qname()).unwrap_or_else(|| a.name()),
            value: a.value(),
        })
        .collect();
    if is_apex {
        inherit_xml_attributes(n, c.method, &mut attrs);
    }
    attrs.sort_by(|a, b| (a.ns, a.local).cmp(&(b.ns, b.local)));

    out.push(b'<');
    out.extend_from_slice(qname.as_bytes());
    for (p, u) in &declared {
        if p.is_empty() {
            out.extend_from_slice(b" xmlns=\"");
        } else {
            out.extend_from_slice(b" xmlns:");
            out.extend_from_slice(p.as_bytes());
            out.extend_from_slice(b"=\"");
        }
        escape_attr(u, out);
        out.push(b'"');
    }
    for a in &attrs {
        out.push(b' ');
        out.extend_from_slice(a.qname.as_bytes());
        out.extend_from_slice(b"=\"");
        escape_attr(a.value, out);
        out.push(b'"');
    }
    out.push(b'>');
    scope.push(declared);
}

/// Inclusive C14N of a subtree carries the `xml:*` attributes of the omitted ancestors onto
/// its apex (C14N 1.0 §2.4; C14N 1.1 §2.4 only `xml:lang`, `xml:space` and `xml:base`, whose
/// relative values are not joined here: the nearest one is taken).
fn inherit_xml_attributes<'s>(n: Node<'s, 's>, method: Method, attrs: &mut Vec<Attr<'s>>) {
    if method == Method::Exclusive {
        return;
    }
    let source = n.document().input_text();
    for ancestor in n.ancestors().skip(1).filter(|a| a.is_element()) {
        for a in ancestor.attributes() {
            if a.namespace() != Some(XML_NS) {
                continue;
            }
            if method == Method::Inclusive11 && !matches!(a.name(), "lang" | "space" | "base") {
                continue;
            }
            if attrs.iter().any(|x| x.ns == XML_NS && x.local == a.name()) {
                continue;
            }
            attrs.push(Attr {
                ns: XML_NS,
                local: a.name(),
                qname: source.get(a.range_qname()).unwrap_or_else(|| a.name()),
                value: a.value(),
            });
        }
    }
}

/// Canonical text node escaping (C14N §2.3): `&`, `<`, `>` and CR.
pub fn escape_text(text: &str, out: &mut Vec<u8>) {
    for c in text.chars() {
        match c {
            '&' => out.extend_from_slice(b"&amp;"),
            '<' => out.extend_from_slice(b"&lt;"),
            '>' => out.extend_from_slice(b"&gt;"),
            '\r' => out.extend_from_slice(b"&#xD;"),
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

/// Canonical attribute value escaping (C14N §2.3): `&`, `<`, `"`, TAB, LF and CR.
fn escape_attr(text: &str, out: &mut Vec<u8>) {
    for c in text.chars() {
        match c {
            '&' => out.extend_from_slice(b"&amp;"),
            '<' => out.extend_from_slice(b"&lt;"),
            '"' => out.extend_from_slice(b"&quot;"),
            '\t' => out.extend_from_slice(b"&#x9;"),
            '\n' => out.extend_from_slice(b"&#xA;"),
            '\r' => out.extend_from_slice(b"&#xD;"),
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processing_instructions_named_xml_are_refused() {
        for text in [
            "<?xml<?xml:version=\"1.0\"?>\n<a/>",
            "<a><?XmL x?></a>",
            "<?xml version=\"1.0\"?><a/><?xml x?>",
        ] {
            assert!(parse_untrusted(text.as_bytes(), 10).is_err(), "{text}");
        }
        assert!(parse_untrusted(b"<?xml version=\"1.0\"?><a><?xml-stylesheet x?></a>", 10).is_ok());
    }

    #[test]
    fn undeclared_prefixes_are_refused() {
        for text in [
            "<doc xmlns:a=\"\"><a:item/></doc>",
            "<doc xmlns:a=\"urn:a\"><x xmlns:a=\"\"/></doc>",
        ] {
            assert!(parse_untrusted(text.as_bytes(), 10).is_err(), "{text}");
        }
        assert!(parse_untrusted(b"<doc xmlns=\"urn:a\"><x xmlns=\"\"/></doc>", 10).is_ok());
    }

    #[test]
    fn a_namespace_declared_twice_on_one_element_is_refused() {
        for text in [
            "<doc xmlns=\"urn:a\" xmlns=\"urn:b\"/>",
            "<doc xmlns=\"urn:a\" xmlns=\"urn:a\"/>",
            "<doc><x xmlns=\"urn:a\" xmlns:p=\"urn:p\" xmlns=\"urn:b\"/></doc>",
        ] {
            assert_eq!(
                parse_untrusted(text.as_bytes(), 10).err(),
                Some(invalid(
                    "the document is not well-formed XML: an element declares the same namespace prefix twice"
                )),
                "{text}"
            );
        }
        // roxmltree's own refusal of a repeated prefix.
        assert!(
            parse_untrusted(b"<doc><x xmlns:p=\"urn:a\" xmlns:p=\"urn:b\"/></doc>", 10).is_err()
        );
        // Redeclaring on a descendant, or declaring the xml prefix as it is, is fine.
        for text in [
            "<doc xmlns=\"urn:a\" xmlns:p=\"urn:p\"><x xmlns=\"urn:b\" xmlns:p=\"urn:q\"/></doc>",
            "<doc xmlns:xml=\"http://www.w3.org/XML/1998/namespace\" xml:lang=\"en\"/>",
        ] {
            assert!(parse_untrusted(text.as_bytes(), 10).is_ok(), "{text}");
        }
    }

    fn c14n(xml: &str) -> String {
        let doc = parse_untrusted(xml.as_bytes(), 100).unwrap();
        String::from_utf8(document(&doc)).unwrap()
    }

    #[test]
    fn canonical_form_of_a_document() {
        let xml = "<?xml version=\"1.0\" encoding='utf-8'?>\r\n<?pi  data ?><!-- c -->\n<a:r xmlns:a=\"urn:a\" xmlns:b=\"urn:b\" xmlns=\"urn:d\" z='1' b:y=\"&lt;&quot;\t\" a:x=\"2\"><e  x=\"&#9;v&#xA;\"/>t&gt;<![CDATA[<&>]]>&#xD;\r\n<b:f xmlns:c=\"urn:c\"><!-- gone --><?p?></b:f><g xmlns=\"\"/></a:r><!-- end --><?post x?>";
        assert_eq!(
            c14n(xml),
            "<?pi data ?>\n<a:r xmlns:a=\"urn:a\" xmlns:b=\"urn:b\" z=\"1\" a:x=\"2\" b:y=\"&lt;&quot; \"><e xmlns=\"urn:d\" x=\"&#x9;v&#xA;\"></e>t&gt;&lt;&amp;&gt;&#xD;\n<b:f><?p?></b:f><g></g></a:r>\n<?post x?>"
        );
    }

    #[test]
    fn namespaces_are_rendered_where_used_and_not_repeated() {
        let xml = "<r xmlns=\"urn:d\" xmlns:p=\"urn:p\"><p:a><p:b xmlns:p=\"urn:p\"/><p:c xmlns:p=\"urn:other\"/></p:a><x xmlns=\"\"><y xmlns=\"urn:d\"/></x></r>";
        assert_eq!(
            c14n(xml),
            "<r xmlns=\"urn:d\"><p:a xmlns:p=\"urn:p\"><p:b></p:b><p:c xmlns:p=\"urn:other\"></p:c></p:a><x xmlns=\"\"><y xmlns=\"urn:d\"></y></x></r>"
        );
    }

    #[test]
    fn subtree_takes_only_visibly_used_namespaces() {
        let xml = "<ds:S xmlns:ds=\"urn:ds\" xmlns:u=\"urn:u\"><ds:I Id=\"1\"><ds:M A=\"x\"/></ds:I></ds:S>";
        let doc = parse_untrusted(xml.as_bytes(), 10).unwrap();
        let info = doc.root_element().first_element_child().unwrap();
        let mut out = Vec::new();
        element_subtree(info, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<ds:I xmlns:ds=\"urn:ds\" Id=\"1\"><ds:M A=\"x\"></ds:M></ds:I>"
        );
    }

    fn refused(xml: &[u8], depth: usize) -> String {
        match parse_untrusted(xml, depth) {
            Err(AdesError::InvalidDocument(m)) => m,
            other => panic!("accepted or wrong error: {other:?}"),
        }
    }

    #[test]
    fn hostile_documents_are_refused() {
        assert!(refused(b"<!DOCTYPE r [<!ENTITY e \"x\">]><r>&e;</r>", 10).contains("DTD"));
        assert!(refused(b"<!DOCTYPE r><r/>", 10).contains("DTD"));
        assert!(
            refused(
                b"<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r>&x;</r>",
                10
            )
            .contains("DTD")
        );
        assert!(refused(b"<r>&nbsp;</r>", 10).contains("&nbsp;"));
        let deep = format!("{}{}", "<a>".repeat(101), "</a>".repeat(101));
        assert!(refused(deep.as_bytes(), 100).contains("deeper than 100"));
        assert!(
            parse_untrusted(
                format!("{}{}", "<a>".repeat(100), "</a>".repeat(100)).as_bytes(),
                100
            )
            .is_ok()
        );
        let huge = format!("<r a=\"{}\"/>", "x".repeat(MAX_ATTRIBUTE_BYTES + 1));
        assert!(refused(huge.as_bytes(), 10).contains("attribute value"));
        assert!(refused(b"<r>\xff</r>", 10).contains("not UTF-8"));
        assert!(
            refused(b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r/>", 10)
                .contains("ISO-8859-1")
        );
        assert!(refused(b"<r><a></r>", 10).contains("not well-formed"));
        // A UTF-8 byte order mark is fine and not part of the canonical form.
        let bom = parse_untrusted("\u{feff}<r/>".as_bytes(), 10).unwrap();
        assert_eq!(document(&bom), b"<r></r>");
        assert!(refused(b"not xml", 10).contains("not well-formed"));
    }

    fn parse(text: &str) -> roxmltree::Document<'_> {
        parse_untrusted(text.as_bytes(), 100).unwrap()
    }

    fn whole(text: &str, uri: &str, comments: bool) -> String {
        let doc = parse(text);
        let set = NodeSet {
            apex: doc.root(),
            excluded: None,
            comments,
        };
        String::from_utf8(canonicalize(set, &C14n::from_uri(uri).unwrap())).unwrap()
    }

    const DOC: &str = "<?xml version=\"1.0\" encoding='utf-8'?>\r\n<?pi  data ?><!-- c -->\n<a:r xmlns:a=\"urn:a\" xmlns:b=\"urn:b\" xmlns=\"urn:d\" z='1' b:y=\"&lt;&quot;\t\" a:x=\"2\"><e  x=\"&#9;v&#xA;\"/>t&gt;<![CDATA[<&>]]>&#xD;\r\n<b:f xmlns:c=\"urn:c\"><!-- gone --><?p?></b:f><g xmlns=\"\"/></a:r><!-- end --><?post x?>";

    #[test]
    fn document_is_exclusive_c14n_without_comments() {
        for text in [
            DOC,
            "<r xmlns=\"urn:d\" xmlns:p=\"urn:p\"><p:a><p:b xmlns:p=\"urn:p\"/><p:c xmlns:p=\"urn:other\"/></p:a><x xmlns=\"\"><y xmlns=\"urn:d\"/></x></r>",
        ] {
            let doc = parse(text);
            assert_eq!(whole(text, EXCLUSIVE, false).into_bytes(), document(&doc));
        }
    }

    #[test]
    fn inclusive_renders_every_namespace_in_scope() {
        assert_eq!(
            whole(DOC, INCLUSIVE, false),
            "<?pi data ?>\n<a:r xmlns=\"urn:d\" xmlns:a=\"urn:a\" xmlns:b=\"urn:b\" z=\"1\" a:x=\"2\" b:y=\"&lt;&quot; \"><e x=\"&#x9;v&#xA;\"></e>t&gt;&lt;&amp;&gt;&#xD;\n<b:f xmlns:c=\"urn:c\"><?p?></b:f><g xmlns=\"\"></g></a:r>\n<?post x?>"
        );
        assert_eq!(
            whole(DOC, INCLUSIVE_WITH_COMMENTS, true),
            "<?pi data ?>\n<!-- c -->\n<a:r xmlns=\"urn:d\" xmlns:a=\"urn:a\" xmlns:b=\"urn:b\" z=\"1\" a:x=\"2\" b:y=\"&lt;&quot; \"><e x=\"&#x9;v&#xA;\"></e>t&gt;&lt;&amp;&gt;&#xD;\n<b:f xmlns:c=\"urn:c\"><!-- gone --><?p?></b:f><g xmlns=\"\"></g></a:r>\n<!-- end -->\n<?post x?>"
        );
        // A node-set without comments stays without them under a #WithComments method.
        assert!(!whole(DOC, INCLUSIVE_WITH_COMMENTS, false).contains("<!--"));
    }

    #[test]
    fn subtrees_inherit_namespaces_and_xml_attributes() {
        let text = "<r xmlns=\"urn:d\" xmlns:u=\"urn:u\" xml:lang=\"en\" xml:id=\"r1\"><s xml:space=\"preserve\"><p:t xmlns:p=\"urn:p\" a=\"1\"><u:v/></p:t></s></r>";
        let doc = parse(text);
        let t = doc
            .descendants()
            .find(|n| n.has_tag_name(("urn:p", "t")))
            .unwrap();
        let c = |uri: &str| {
            String::from_utf8(canonicalize(
                NodeSet::subtree(t),
                &C14n::from_uri(uri).unwrap(),
            ))
            .unwrap()
        };
        assert_eq!(
            c(INCLUSIVE),
            "<p:t xmlns=\"urn:d\" xmlns:p=\"urn:p\" xmlns:u=\"urn:u\" a=\"1\" xml:id=\"r1\" xml:lang=\"en\" xml:space=\"preserve\"><u:v></u:v></p:t>"
        );
        assert_eq!(
            c(INCLUSIVE_11),
            "<p:t xmlns=\"urn:d\" xmlns:p=\"urn:p\" xmlns:u=\"urn:u\" a=\"1\" xml:lang=\"en\" xml:space=\"preserve\"><u:v></u:v></p:t>"
        );
        assert_eq!(
            c(EXCLUSIVE),
            "<p:t xmlns:p=\"urn:p\" a=\"1\"><u:v xmlns:u=\"urn:u\"></u:v></p:t>"
        );
        let with_list = C14n {
            inclusive_prefixes: vec!["".into(), "u".into()],
            ..C14n::from_uri(EXCLUSIVE).unwrap()
        };
        assert_eq!(
            String::from_utf8(canonicalize(NodeSet::subtree(t), &with_list)).unwrap(),
            "<p:t xmlns=\"urn:d\" xmlns:p=\"urn:p\" xmlns:u=\"urn:u\" a=\"1\"><u:v></u:v></p:t>"
        );
    }

    #[test]
    fn an_excluded_subtree_is_left_out() {
        let text = "<r><a>1</a><S><b/></S><c>2</c></r>";
        let doc = parse(text);
        let s = doc.descendants().find(|n| n.has_tag_name("S")).unwrap();
        let set = NodeSet {
            apex: doc.root(),
            excluded: Some(s.id()),
            comments: false,
        };
        assert_eq!(
            canonicalize(set, &C14n::default_inclusive()),
            b"<r><a>1</a><c>2</c></r>"
        );
        let only = NodeSet {
            apex: s,
            excluded: Some(s.id()),
            comments: false,
        };
        assert_eq!(canonicalize(only, &C14n::default_inclusive()), b"");
        assert_eq!(NodeSet::subtree(doc.root()).text(), "12");
    }

    #[test]
    fn inclusive_namespaces_prefix_list_is_read() {
        let text = "<T xmlns=\"http://www.w3.org/2000/09/xmldsig#\" Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"><ec:InclusiveNamespaces xmlns:ec=\"http://www.w3.org/2001/10/xml-exc-c14n#\" PrefixList=\"a #default  b\"/></T>";
        let doc = parse(text);
        let c = C14n::from_element(doc.root_element()).unwrap();
        assert_eq!(c.method, Method::Exclusive);
        assert_eq!(c.inclusive_prefixes, vec!["a", "", "b"]);
        assert_eq!(C14n::from_uri("urn:x"), None);
    }

    /// Our inclusive C14N against lxml's (libxml2), when the interop venv is there.
    #[test]
    fn inclusive_matches_lxml() {
        let docs = [
            DOC,
            "<r xmlns=\"urn:d\" xmlns:p=\"urn:p\"><p:a><p:b xmlns:p=\"urn:p\"/><p:c xmlns:p=\"urn:other\"/></p:a><x xmlns=\"\"><y xmlns=\"urn:d\"/></x></r>",
            "<r xml:lang=\"en\" xmlns:q=\"urn:q\" q:z=\"1\" xml:space=\"preserve\"><q:s q:a=\"&gt;\" b=\"'\">\u{1F600} \u{a0}</q:s></r>",
        ];
        for (i, d) in docs.iter().enumerate() {
            for comments in [false, true] {
                let Some(theirs) = lxml(d, false, comments, false) else {
                    return;
                };
                let uri = if comments {
                    INCLUSIVE_WITH_COMMENTS
                } else {
                    INCLUSIVE
                };
                assert_eq!(
                    whole(d, uri, true),
                    theirs,
                    "document {i}, comments {comments}"
                );
            }
        }
    }

    /// lxml's (libxml2's) canonical form of a document, or with `subtree` of its first
    /// element with an `Id`, or `None` (skipped) without the interop venv.
    fn lxml(text: &str, exclusive: bool, comments: bool, subtree: bool) -> Option<String> {
        let py = crate::test_pki::venv_python()?;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("doc.xml");
        std::fs::write(&path, text).unwrap();
        let out = std::process::Command::new(&py)
            .arg("-c")
            .arg("import sys; from lxml import etree; t = etree.parse(sys.argv[1]); n = t.xpath('//*[@Id]')[0] if sys.argv[4] == '1' else t; sys.stdout.buffer.write(etree.tostring(n, method='c14n', exclusive=sys.argv[2] == '1', with_comments=sys.argv[3] == '1'))")
            .arg(&path)
            .args([exclusive, comments, subtree].map(|b| if b { "1" } else { "0" }))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(String::from_utf8(out.stdout).unwrap())
    }

    /// Exclusive C14N of whole documents against lxml's.
    #[test]
    fn exclusive_matches_lxml() {
        let docs = [
            "<?xml version=\"1.0\"?>\n<!-- head -->\n<inv:Invoice xmlns:inv=\"urn:inv\" xmlns=\"urn:d\" b=\"2\" a=\"1\">\n  <Line n=\"1\">caf\u{e9} &amp; cr\u{e8}me</Line>\n  <Empty/>\n</inv:Invoice>\n",
            DOC,
            "<r xmlns=\"urn:d\" xmlns:p=\"urn:p\"><p:a><p:b xmlns:p=\"urn:p\"/><p:c xmlns:p=\"urn:other\"/></p:a><x xmlns=\"\"><y xmlns=\"urn:d\"/></x></r>",
            "<r xml:lang=\"en\" xmlns:q=\"urn:q\" q:z=\"1\" xml:space=\"preserve\"><q:s q:a=\"&gt;\" b=\"'\">\u{1F600} \u{a0}</q:s></r>",
        ];
        for (i, d) in docs.iter().enumerate() {
            let Some(theirs) = lxml(d, true, false, false) else {
                return;
            };
            let ours = document(&parse(d));
            assert_eq!(String::from_utf8_lossy(&ours), theirs, "document {i}");
        }
    }

    /// Inclusive C14N of documents and of subtrees (without xml: attributes above them,
    /// which lxml does not carry over) against lxml's.
    #[test]
    fn inclusive_subtrees_match_lxml() {
        let docs = [
            "<?xml version=\"1.0\"?>\n<!-- invoice -->\n<inv:Invoice xmlns:inv=\"urn:inv\" xmlns=\"urn:d\"><Line n=\"1\" Id=\"l1\">caf\u{e9} &amp; cr\u{e8}me</Line>\n<Empty/></inv:Invoice>\n",
            "<a:r xmlns:a=\"urn:a\" xmlns=\"urn:d\" xmlns:u=\"urn:u\"><a:s Id=\"x\" z=\"1\"><t xmlns:a=\"urn:a\"/><g xmlns=\"\"><h xmlns:v=\"urn:v\"/></g></a:s><!-- c --></a:r>",
        ];
        for (i, d) in docs.iter().enumerate() {
            let doc = parse(d);
            let Some(theirs) = lxml(d, false, false, false) else {
                return;
            };
            let ours = canonicalize(NodeSet::subtree(doc.root()), &C14n::default_inclusive());
            assert_eq!(String::from_utf8_lossy(&ours), theirs, "document {i}");
            let s = doc
                .descendants()
                .find(|n| n.attribute("Id").is_some())
                .unwrap();
            let ours = canonicalize(NodeSet::subtree(s), &C14n::default_inclusive());
            let theirs = lxml(d, false, false, true).unwrap();
            assert_eq!(String::from_utf8_lossy(&ours), theirs, "subtree of {i}");
        }
    }
}
