//! The gate for untrusted XML and Exclusive XML Canonicalization 1.0 without comments
//! (<http://www.w3.org/2001/10/xml-exc-c14n#>), written over roxmltree's read-only tree.
//!
//! roxmltree refuses DTDs (so no entity other than the five predefined ones, nothing external
//! and no entity expansion) and resolves namespaces; it does not keep prefixes, so element and
//! attribute qualified names are read back from the source text at the positions it reports.

use roxmltree::{Document, Node, NodeType, ParsingOptions};

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
    let mut depth = 0usize;
    for edge in traverse(root) {
        match edge {
            Edge::Open(n) if n.is_element() => {
                depth += 1;
                if depth > max_depth {
                    return Err(invalid(format!(
                        "the XML document nests elements deeper than {max_depth} levels"
                    )));
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

/// Entering and leaving a node, in document order.
enum Edge<'a, 'input> {
    Open(Node<'a, 'input>),
    Close(Node<'a, 'input>),
}

/// A depth-first walk of the subtree at `apex` without recursion, so that nesting depth
/// cannot exhaust the stack.
fn traverse<'a, 'input>(apex: Node<'a, 'input>) -> Traverse<'a, 'input> {
    Traverse {
        apex,
        next: Some(Edge::Open(apex)),
    }
}

struct Traverse<'a, 'input> {
    apex: Node<'a, 'input>,
    next: Option<Edge<'a, 'input>>,
}

impl<'a, 'input> Iterator for Traverse<'a, 'input> {
    type Item = Edge<'a, 'input>;

    fn next(&mut self) -> Option<Self::Item> {
        let current = self.next.take()?;
        self.next = match &current {
            Edge::Open(n) => Some(match n.first_child() {
                Some(c) => Edge::Open(c),
                None => Edge::Close(*n),
            }),
            Edge::Close(n) if n.id() == self.apex.id() => None,
            Edge::Close(n) => match n.next_sibling() {
                Some(s) => Some(Edge::Open(s)),
                None => n.parent().map(Edge::Close),
            },
        };
        Some(current)
    }
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

/// Exclusive C14N of the whole document (the same-document reference `URI=""`): comments
/// dropped, processing instructions outside the document element kept on their own lines.
pub fn document(doc: &Document<'_>) -> Vec<u8> {
    document_in(doc, Namespaces::Exclusive)
}

/// Inclusive C14N 1.0 / 1.1 of the whole document, without comments (what XML-DSig makes of
/// a node-set without a canonicalization transform, and what signxml writes by default).
pub fn document_inclusive(doc: &Document<'_>) -> Vec<u8> {
    document_in(doc, Namespaces::Inclusive)
}

/// Which namespace declarations a canonical start tag renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Namespaces {
    /// Exc-C14N §3: the visibly utilized ones.
    Exclusive,
    /// C14N 1.0 §2.3 / 1.1 §2.3: every one in scope.
    Inclusive,
}

fn document_in(doc: &Document<'_>, namespaces: Namespaces) -> Vec<u8> {
    let mut out = Vec::with_capacity(doc.input_text().len());
    let mut after_root = false;
    for child in doc.root().children() {
        match child.node_type() {
            NodeType::Element => {
                subtree(child, namespaces, &mut out);
                after_root = true;
            }
            NodeType::PI => {
                if after_root {
                    out.push(b'\n');
                }
                write_pi(child, &mut out);
                if !after_root {
                    out.push(b'\n');
                }
            }
            _ => {}
        }
    }
    out
}

/// Exclusive C14N of the subtree rooted at `apex` (a same-document `#id` reference, or a
/// signature element the time-stamps cover), without comments and without an
/// InclusiveNamespaces PrefixList.
pub fn element_subtree(apex: Node<'_, '_>, out: &mut Vec<u8>) {
    subtree(apex, Namespaces::Exclusive, out);
}

/// Inclusive C14N 1.0 / 1.1 of the subtree at `apex`, without comments. The `xml:`
/// attributes of its ancestors, which inclusive C14N would carry over to the apex, are not:
/// callers refuse subtrees below such attributes.
pub fn element_subtree_inclusive(apex: Node<'_, '_>, out: &mut Vec<u8>) {
    subtree(apex, Namespaces::Inclusive, out);
}

fn subtree(apex: Node<'_, '_>, namespaces: Namespaces, out: &mut Vec<u8>) {
    // Namespace declarations rendered by each open output ancestor: (prefix, URI), with ""
    // as the default namespace's prefix.
    let mut rendered: Vec<Vec<(String, String)>> = Vec::new();
    let source = apex.document().input_text();
    for edge in traverse(apex) {
        match edge {
            Edge::Open(n) => match n.node_type() {
                NodeType::Element => {
                    let scope = rendered.last().cloned().unwrap_or_default();
                    let declared = open_tag(n, source, &scope, namespaces, out);
                    let mut next = scope;
                    for (p, u) in declared {
                        next.retain(|(q, _)| *q != p);
                        next.push((p, u));
                    }
                    rendered.push(next);
                }
                NodeType::Text => escape_text(n.text().unwrap_or_default(), out),
                NodeType::PI => write_pi(n, out),
                _ => {}
            },
            Edge::Close(n) => {
                if n.is_element() {
                    out.extend_from_slice(b"</");
                    out.extend_from_slice(element_qname(n, source).as_bytes());
                    out.push(b'>');
                    rendered.pop();
                }
            }
        }
    }
}

/// The element's name as written: `<` then the name up to whitespace, `/` or `>`.
fn element_qname<'a>(n: Node<'_, '_>, source: &'a str) -> &'a str {
    let start = n.range().start + 1;
    let rest = source.get(start..).unwrap_or_default();
    let end = rest
        .find(|c: char| c.is_ascii_whitespace() || c == '/' || c == '>')
        .unwrap_or(rest.len());
    &rest[..end]
}

fn prefix_of(qname: &str) -> Option<&str> {
    qname.split_once(':').map(|(p, _)| p)
}

/// Writes the start tag with the namespace declarations C14N renders (exclusive: the visibly
/// utilized prefixes, inclusive: all in scope; either not already rendered with the same URI
/// by an output ancestor). Returns the declarations written.
fn open_tag(
    n: Node<'_, '_>,
    source: &str,
    scope: &[(String, String)],
    namespaces: Namespaces,
    out: &mut Vec<u8>,
) -> Vec<(String, String)> {
    let qname = element_qname(n, source);
    let mut used: Vec<(String, String)> = Vec::new();
    if namespaces == Namespaces::Inclusive {
        for ns in n.namespaces() {
            let prefix = ns.name().unwrap_or_default();
            if prefix != "xml" {
                used.push((prefix.to_owned(), ns.uri().to_owned()));
            }
        }
        // No default namespace in scope: `xmlns=""` where an output ancestor rendered one.
        if !used.iter().any(|(p, _)| p.is_empty()) {
            used.push((String::new(), String::new()));
        }
    }
    let element_ns = match prefix_of(qname) {
        Some(p) => (p, n.lookup_namespace_uri(Some(p)).unwrap_or_default()),
        None => ("", n.default_namespace().unwrap_or_default()),
    };
    if !used.iter().any(|(q, _)| q == element_ns.0) {
        used.push((element_ns.0.to_owned(), element_ns.1.to_owned()));
    }
    let mut attrs: Vec<(&str, &str, &str, &str)> = Vec::new();
    for a in n.attributes() {
        let attr_qname = source.get(a.range_qname()).unwrap_or_else(|| a.name());
        let ns = a.namespace().unwrap_or_default();
        if let Some(p) = prefix_of(attr_qname)
            && p != "xml"
            && !used.iter().any(|(q, _)| q == p)
        {
            used.push((p.to_owned(), ns.to_owned()));
        }
        attrs.push((ns, a.name(), attr_qname, a.value()));
    }
    let mut declared: Vec<(String, String)> = used
        .into_iter()
        .filter(|(p, u)| {
            let current = scope.iter().find(|(q, _)| q == p).map(|(_, v)| v.as_str());
            match current {
                Some(v) => v != u,
                // Nothing rendered yet: the empty default namespace needs no declaration.
                None => !(p.is_empty() && u.is_empty()),
            }
        })
        .collect();
    declared.sort();
    // Attributes sort by namespace URI, then local name; unqualified ones (empty URI) first.
    attrs.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    out.push(b'<');
    out.extend_from_slice(qname.as_bytes());
    for (p, u) in &declared {
        out.extend_from_slice(if p.is_empty() {
            b" xmlns=\"".as_slice()
        } else {
            b" xmlns:".as_slice()
        });
        if !p.is_empty() {
            out.extend_from_slice(p.as_bytes());
            out.extend_from_slice(b"=\"");
        }
        escape_attr(u, out);
        out.push(b'"');
    }
    for (_, _, q, v) in attrs {
        out.push(b' ');
        out.extend_from_slice(q.as_bytes());
        out.extend_from_slice(b"=\"");
        escape_attr(v, out);
        out.push(b'"');
    }
    out.push(b'>');
    declared
}

fn write_pi(n: Node<'_, '_>, out: &mut Vec<u8>) {
    if let Some(pi) = n.pi() {
        out.extend_from_slice(b"<?");
        out.extend_from_slice(pi.target.as_bytes());
        if let Some(v) = pi.value.filter(|v| !v.is_empty()) {
            out.push(b' ');
            out.extend_from_slice(v.as_bytes());
        }
        out.extend_from_slice(b"?>");
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
}
