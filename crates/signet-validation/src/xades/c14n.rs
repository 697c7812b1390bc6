//! XML canonicalization as verifiers need it: inclusive C14N 1.0 and 1.1 (what xmlsec1 and
//! signxml write by default) and exclusive C14N 1.0 (what Signet and EU DSS write), each with
//! or without comments, over the node-sets XMLDSig references produce — a whole document or
//! one element's subtree, minus the subtree of an enveloped signature.
//!
//! Written over roxmltree's read-only tree, as `signet_ades::xml` is: roxmltree does not keep
//! prefixes, so qualified names are read back from the source text at the positions it
//! reports, and the walk is iterative so that nesting cannot exhaust the stack.

use roxmltree::{Node, NodeId, NodeType};

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
        walk(*self, |edge| {
            if let Edge::Open(n) = edge
                && n.is_text()
            {
                out.push_str(n.text().unwrap_or_default());
            }
        });
        out
    }
}

/// Canonicalizes `set` with `c`; comments are kept only when both allow them.
pub fn canonicalize(set: NodeSet<'_, '_>, c: &C14n) -> Vec<u8> {
    let mut out = Vec::new();
    let source = set.apex.document().input_text();
    let comments = set.comments && c.comments;
    let mut scope = Scope::default();
    let mut after_root = false;
    walk(set, |edge| match edge {
        Edge::Open(n) => match n.node_type() {
            NodeType::Element => {
                let at_top = n.parent().is_some_and(|p| p.is_root());
                open_tag(n, n.id() == set.apex.id(), source, c, &mut scope, &mut out);
                if at_top {
                    after_root = true;
                }
            }
            NodeType::Text => escape_text(n.text().unwrap_or_default(), &mut out),
            NodeType::PI | NodeType::Comment => {
                if n.is_comment() && !comments {
                    return;
                }
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
    });
    out
}

/// Entering and leaving a node, in document order.
enum Edge<'a, 'input> {
    Open(Node<'a, 'input>),
    Close(Node<'a, 'input>),
}

/// Visits the node-set depth-first without recursion. Text outside the document element is
/// not part of the canonical form (roxmltree keeps none anyway).
fn walk<'a, 'input>(set: NodeSet<'a, 'input>, mut visit: impl FnMut(Edge<'a, 'input>)) {
    if Some(set.apex.id()) == set.excluded {
        return;
    }
    let after = |n: Node<'a, 'input>| -> Option<Edge<'a, 'input>> {
        match n.next_sibling() {
            Some(s) => Some(Edge::Open(s)),
            None => n.parent().map(Edge::Close),
        }
    };
    let mut next = Some(Edge::Open(set.apex));
    while let Some(edge) = next.take() {
        match edge {
            Edge::Open(n) => {
                if Some(n.id()) == set.excluded {
                    next = after(n);
                    continue;
                }
                if n.is_text() && n.parent().is_some_and(|p| p.is_root()) {
                    next = after(n);
                    continue;
                }
                visit(Edge::Open(n));
                next = Some(match n.first_child() {
                    Some(c) => Edge::Open(c),
                    None => Edge::Close(n),
                });
            }
            Edge::Close(n) => {
                visit(Edge::Close(n));
                if n.id() != set.apex.id() {
                    next = after(n);
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
fn escape_text(text: &str, out: &mut Vec<u8>) {
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
    use signet_ades::xml;

    fn parse(text: &str) -> roxmltree::Document<'_> {
        xml::parse_untrusted(text.as_bytes(), 100).unwrap()
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
    fn exclusive_agrees_with_signet_ades() {
        for text in [
            DOC,
            "<r xmlns=\"urn:d\" xmlns:p=\"urn:p\"><p:a><p:b xmlns:p=\"urn:p\"/><p:c xmlns:p=\"urn:other\"/></p:a><x xmlns=\"\"><y xmlns=\"urn:d\"/></x></r>",
        ] {
            let doc = parse(text);
            assert_eq!(
                whole(text, EXCLUSIVE, false).into_bytes(),
                xml::document(&doc)
            );
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
        let Some(py) = signet_ades::test_pki::venv_python() else {
            return;
        };
        let docs = [
            DOC,
            "<r xmlns=\"urn:d\" xmlns:p=\"urn:p\"><p:a><p:b xmlns:p=\"urn:p\"/><p:c xmlns:p=\"urn:other\"/></p:a><x xmlns=\"\"><y xmlns=\"urn:d\"/></x></r>",
            "<r xml:lang=\"en\" xmlns:q=\"urn:q\" q:z=\"1\" xml:space=\"preserve\"><q:s q:a=\"&gt;\" b=\"'\">\u{1F600} \u{a0}</q:s></r>",
        ];
        let dir = tempfile::tempdir().unwrap();
        for (i, d) in docs.iter().enumerate() {
            let path = dir.path().join(format!("{i}.xml"));
            std::fs::write(&path, d).unwrap();
            for comments in [false, true] {
                let out = std::process::Command::new(&py)
                    .arg("-c")
                    .arg("import sys; from lxml import etree; sys.stdout.buffer.write(etree.tostring(etree.parse(sys.argv[1]), method='c14n', exclusive=False, with_comments=sys.argv[2]=='1'))")
                    .arg(&path)
                    .arg(if comments { "1" } else { "0" })
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let uri = if comments {
                    INCLUSIVE_WITH_COMMENTS
                } else {
                    INCLUSIVE
                };
                assert_eq!(
                    whole(d, uri, true),
                    String::from_utf8_lossy(&out.stdout),
                    "document {i}, comments {comments}"
                );
            }
        }
    }
}
