//! The XML syntax: `dss2:SignRequest` / `dss2:PendingRequest` in, `dss2:SignResponse` out
//! (`dss2:VerifyRequest` / `dss2:VerifyResponse` in [`verify`]).
//!
//! Parsing is roxmltree with DTDs refused (so no entity can be declared, expanded or fetched),
//! a node count limit, and a nesting depth check before anything is read. Elements are matched
//! by namespace (`dss2` or `dsb`) and local name; an optional input Signet does not honour is
//! recorded as unsupported, anything else unexpected is a RequesterError.

use std::fmt::Write as _;

use roxmltree::{Node, ParsingOptions};

use crate::{
    DigestInfo, Document, DocumentHash, DssResult, IncludeObject, Kind, Limits, Message, NS_BASE,
    NS_CORE, OptionalInputs, Other, ParseError, PendingRequest, SignRequest, SignResponse,
    SignaturePlacement, Signed, XPathKind, decode_b64, encode_b64, minor,
};

mod verify;
pub use verify::write_verify;

/// Parses a request body expected to be `kind`.
pub fn parse(body: &[u8], kind: Kind, limits: &Limits) -> Result<Message, ParseError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ParseError::general("The XML request is not UTF-8"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if !text.trim_start().starts_with('<') {
        return Err(ParseError::NotDss("The body is not an XML document".into()));
    }
    // roxmltree accepts an empty DOCTYPE; DSS-X messages never carry one.
    if text.contains("<!DOCTYPE") {
        return Err(ParseError::Requester {
            minor: minor::NOT_SUPPORTED,
            message: "DTDs are not accepted".into(),
            request_id: None,
        });
    }
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: limits.max_nodes,
        ..ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(text, options).map_err(|e| match e {
        roxmltree::Error::DtdDetected => ParseError::Requester {
            minor: minor::NOT_SUPPORTED,
            message: "DTDs are not accepted".into(),
            request_id: None,
        },
        roxmltree::Error::NodesLimitReached => ParseError::general(format!(
            "The XML request has more than {} nodes",
            limits.max_nodes
        )),
        other => ParseError::general(format!("Malformed XML request: {other}")),
    })?;
    check_depth(&doc, limits.max_depth)?;
    let root = doc.root_element();
    let expected = match kind {
        Kind::Sign => "SignRequest",
        Kind::Pending => "PendingRequest",
        Kind::Verify => "VerifyRequest",
    };
    if root.tag_name().namespace() != Some(NS_CORE) || root.tag_name().name() != expected {
        return Err(ParseError::NotDss(format!(
            "The root element must be {{{NS_CORE}}}{expected}"
        )));
    }
    let request_id = root.attribute("RequestID").map(str::to_owned);
    let parsed = match kind {
        Kind::Sign => parse_sign(root, limits).map(|r| Message::Sign(Box::new(r))),
        Kind::Pending => parse_pending(root).map(Message::Pending),
        Kind::Verify => verify::parse(root, limits).map(|r| Message::Verify(Box::new(r))),
    };
    parsed.map_err(|e| e.with_request_id(request_id.as_deref()))
}

/// Nesting depth without recursion: each node's depth is its parent's plus one, in document
/// order (parents come first).
fn check_depth(doc: &roxmltree::Document<'_>, max: usize) -> Result<(), ParseError> {
    let mut depth: Vec<u32> = Vec::new();
    for node in doc.descendants() {
        let id = node.id().get_usize();
        let d = node
            .parent()
            .and_then(|p| depth.get(p.id().get_usize()).copied())
            .map_or(0, |d| d + 1);
        if depth.len() <= id {
            depth.resize(id + 1, 0);
        }
        depth[id] = d;
        if d as usize > max {
            return Err(ParseError::general(format!(
                "The XML request is nested deeper than {max} levels"
            )));
        }
    }
    Ok(())
}

fn is_dss(node: Node<'_, '_>) -> bool {
    matches!(node.tag_name().namespace(), Some(NS_CORE) | Some(NS_BASE))
}

/// The element children of `node`; text other than whitespace is refused (DSS-X 2.0 has no
/// mixed content).
fn elements<'a, 'i>(node: Node<'a, 'i>) -> Result<Vec<Node<'a, 'i>>, ParseError> {
    let mut out = Vec::new();
    for child in node.children() {
        if child.is_element() {
            out.push(child);
        } else if child.is_text() && !child.text().unwrap_or("").trim().is_empty() {
            return Err(ParseError::general(format!(
                "Unexpected text in {}",
                node.tag_name().name()
            )));
        }
    }
    Ok(out)
}

fn unexpected(node: Node<'_, '_>, parent: &str) -> ParseError {
    ParseError::general(format!(
        "Unexpected element {} in {parent}",
        node.tag_name().name()
    ))
}

/// The text content of a simple element (no element children).
fn text(node: Node<'_, '_>) -> Result<String, ParseError> {
    let mut out = String::new();
    for child in node.children() {
        if child.is_element() {
            return Err(unexpected(child, node.tag_name().name()));
        }
        if let Some(t) = child.text()
            && child.is_text()
        {
            out.push_str(t);
        }
    }
    Ok(out)
}

fn boolean(node: Node<'_, '_>) -> Result<bool, ParseError> {
    match text(node)?.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(ParseError::general(format!(
            "{} must be a boolean, not {other:?}",
            node.tag_name().name()
        ))),
    }
}

fn bool_attr(node: Node<'_, '_>, name: &str, default: bool) -> Result<bool, ParseError> {
    match node.attribute(name).map(str::trim) {
        None => Ok(default),
        Some("true" | "1") => Ok(true),
        Some("false" | "0") => Ok(false),
        Some(other) => Err(ParseError::general(format!(
            "Attribute {name} must be a boolean, not {other:?}"
        ))),
    }
}

fn parse_pending(root: Node<'_, '_>) -> Result<PendingRequest, ParseError> {
    let mut req = PendingRequest {
        request_id: root.attribute("RequestID").map(str::to_owned),
        ..Default::default()
    };
    for child in elements(root)? {
        match (is_dss(child), child.tag_name().name()) {
            (true, "Profile") => req.profiles.push(text(child)?.trim().to_owned()),
            (true, "ClaimedIdentity") => req.unsupported.push("ClaimedIdentity".into()),
            _ => return Err(unexpected(child, "PendingRequest")),
        }
    }
    Ok(req)
}

fn parse_sign(root: Node<'_, '_>, limits: &Limits) -> Result<SignRequest, ParseError> {
    let mut req = SignRequest {
        request_id: root.attribute("RequestID").map(str::to_owned),
        ..Default::default()
    };
    for child in elements(root)? {
        match (is_dss(child), child.tag_name().name()) {
            (true, "Profile") => req.profiles.push(text(child)?.trim().to_owned()),
            (true, "InputDocuments") => parse_inputs(child, &mut req, limits)?,
            (true, "OptionalInputs") => req.options = parse_options(child, limits)?,
            _ => return Err(unexpected(child, "SignRequest")),
        }
    }
    Ok(req)
}

/// `dsb:Base64Data` (or a `dsb:AnyType`): the `Value`; `AttRef` and `Transforms` are not
/// supported (recorded by name).
fn base64_data(
    node: Node<'_, '_>,
    limit: usize,
    what: &str,
    unsupported: &mut Vec<String>,
) -> Result<(Option<String>, Option<Vec<u8>>), ParseError> {
    let mime = node.attribute("MimeType").map(str::to_owned);
    let mut value = None;
    for child in elements(node)? {
        match (is_dss(child), child.tag_name().name()) {
            (true, "Value") => value = Some(decode_b64(&text(child)?, limit, what)?),
            (true, name @ ("AttRef" | "Transforms")) => unsupported.push(format!("{what}/{name}")),
            _ => return Err(unexpected(child, what)),
        }
    }
    Ok((mime, value))
}

/// `dss2:Document`: the MIME type and decoded bytes of its `Base64Data` (the caller reads the
/// attributes it uses).
fn document(
    node: Node<'_, '_>,
    limits: &Limits,
    unsupported: &mut Vec<String>,
) -> Result<(Option<String>, Vec<u8>), ParseError> {
    let mut data = None;
    for part in elements(node)? {
        match (is_dss(part), part.tag_name().name()) {
            (true, "Base64Data") => {
                let (mime, value) =
                    base64_data(part, limits.max_document_bytes, "Document", unsupported)?;
                data = Some((mime, value.unwrap_or_default()));
            }
            _ => return Err(unexpected(part, "Document")),
        }
    }
    data.ok_or_else(|| ParseError::general("Document without Base64Data"))
}

/// The name of an element outside the DSS-X namespaces, as NotSupported reports it.
fn foreign_name(node: Node<'_, '_>) -> String {
    format!(
        "{{{}}}{}",
        node.tag_name().namespace().unwrap_or(""),
        node.tag_name().name()
    )
}

fn parse_inputs(
    node: Node<'_, '_>,
    req: &mut SignRequest,
    limits: &Limits,
) -> Result<(), ParseError> {
    for child in elements(node)? {
        limits.check_count(
            req.documents.len() + req.hashes.len() + 1,
            "input documents",
        )?;
        match (is_dss(child), child.tag_name().name()) {
            (true, "Document") => {
                let (mime_type, data) = document(child, limits, &mut req.options.unsupported)?;
                req.documents.push(Document {
                    id: child.attribute("ID").map(str::to_owned),
                    mime_type,
                    data,
                });
            }
            (true, "DocumentHash") => {
                let mut hash = DocumentHash {
                    id: child.attribute("ID").map(str::to_owned),
                    digests: Vec::new(),
                };
                for part in elements(child)? {
                    match (is_dss(part), part.tag_name().name()) {
                        (true, "Transforms") => req
                            .options
                            .unsupported
                            .push("DocumentHash/Transforms".into()),
                        (true, "DigestInfos") => {
                            let mut method = None;
                            let mut value = None;
                            for f in elements(part)? {
                                match (is_dss(f), f.tag_name().name()) {
                                    (true, "DigestMethod") => method = Some(text(f)?),
                                    (true, "DigestValue") => {
                                        value = Some(decode_b64(
                                            &text(f)?,
                                            limits.max_small_bytes,
                                            "DigestValue",
                                        )?)
                                    }
                                    _ => return Err(unexpected(f, "DigestInfos")),
                                }
                            }
                            let (Some(method), Some(value)) = (method, value) else {
                                return Err(ParseError::general(
                                    "DigestInfos needs DigestMethod and DigestValue",
                                ));
                            };
                            hash.digests.push(DigestInfo {
                                method: method.trim().to_owned(),
                                value,
                            });
                        }
                        _ => return Err(unexpected(part, "DocumentHash")),
                    }
                }
                if hash.digests.is_empty() {
                    return Err(ParseError::general("DocumentHash without DigestInfos"));
                }
                req.hashes.push(hash);
            }
            (true, "TransformedData") => req.options.unsupported.push("TransformedData".into()),
            _ => return Err(unexpected(child, "InputDocuments")),
        }
    }
    Ok(())
}

fn parse_options(node: Node<'_, '_>, limits: &Limits) -> Result<OptionalInputs, ParseError> {
    let mut o = OptionalInputs::default();
    for child in elements(node)? {
        if !is_dss(child) {
            o.unsupported.push(foreign_name(child));
            continue;
        }
        match child.tag_name().name() {
            "Language" => o.language = Some(text(child)?.trim().to_owned()),
            "Other" => {
                let (mime_type, value) =
                    base64_data(child, limits.max_small_bytes, "Other", &mut o.unsupported)?;
                o.other.push(Other {
                    mime_type,
                    value: value.unwrap_or_default(),
                });
            }
            "AddTimestamp" => o.add_timestamp.push(text(child)?.trim().to_owned()),
            "EnforceAsynchronousProcessing" => o.enforce_async = boolean(child)?,
            "SignatureType" => o.signature_type = Some(text(child)?.trim().to_owned()),
            "KeySelector" => {
                for sel in elements(child)? {
                    match (is_dss(sel), sel.tag_name().name()) {
                        (true, "KeyName") => o.key_names.push(text(sel)?.trim().to_owned()),
                        (_, name) => o.unsupported.push(format!("KeySelector/{name}")),
                    }
                }
            }
            "Properties" => {
                for holder in elements(child)? {
                    match (is_dss(holder), holder.tag_name().name()) {
                        (true, "SignedProperties") => {
                            for prop in elements(holder)? {
                                if !is_dss(prop) || prop.tag_name().name() != "Property" {
                                    return Err(unexpected(prop, "SignedProperties"));
                                }
                                let mut id = None;
                                let mut value = None;
                                for f in elements(prop)? {
                                    match (is_dss(f), f.tag_name().name()) {
                                        (true, "Identifier") => id = Some(text(f)?),
                                        (true, "Value") => {
                                            value = base64_data(
                                                f,
                                                limits.max_small_bytes,
                                                "Property/Value",
                                                &mut o.unsupported,
                                            )?
                                            .1
                                        }
                                        _ => return Err(unexpected(f, "Property")),
                                    }
                                }
                                let Some(id) = id else {
                                    return Err(ParseError::general("Property without Identifier"));
                                };
                                o.signed_properties.push((id.trim().to_owned(), value));
                            }
                        }
                        (_, name) => o.unsupported.push(format!("Properties/{name}")),
                    }
                }
            }
            "IncludeObject" => o.include_object.push(IncludeObject {
                which_data: child.attribute("WhichData").map(str::to_owned),
                has_object_tags: bool_attr(child, "HasObjectTagsAndAttributesSet", false)?,
                obj_id: child.attribute("ObjId").map(str::to_owned),
                create_reference: bool_attr(child, "createReference", true)?,
            }),
            "IncludeEContent" => o.include_econtent = Some(boolean(child)?),
            "SignaturePlacement" => {
                let mut xpath = None;
                for part in elements(child)? {
                    match (is_dss(part), part.tag_name().name()) {
                        (true, "XPathAfter") => {
                            xpath = Some((XPathKind::After, text(part)?.trim().to_owned()))
                        }
                        (true, "XPathFirstChildOf") => {
                            xpath = Some((XPathKind::FirstChildOf, text(part)?.trim().to_owned()))
                        }
                        (_, name) => o.unsupported.push(format!("SignaturePlacement/{name}")),
                    }
                }
                o.signature_placement = Some(SignaturePlacement {
                    which_data: child.attribute("WhichData").map(str::to_owned),
                    create_enveloped: bool_attr(child, "CreateEnvelopedSignature", true)?,
                    xpath,
                });
            }
            "SignatureAlgorithm" => o.signature_algorithm = Some(text(child)?.trim().to_owned()),
            // Present but not honoured: named, never ignored.
            name @ ("ServicePolicy"
            | "ClaimedIdentity"
            | "Schemas"
            | "Nonce"
            | "IntendedAudience"
            | "SignedReferences"
            | "SignatureQualityLevel") => o.unsupported.push(name.to_owned()),
            other => o.unsupported.push(other.to_owned()),
        }
    }
    Ok(o)
}

/// Escapes text and attribute values. Tab, line feed and carriage return are written as
/// character references: a parser normalises them in attribute values (to spaces) and CR in
/// text (to LF), and an echoed RequestID must read back unchanged (found by fuzzing,
/// `dssx_xml`).
fn esc(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            // Characters XML 1.0 cannot carry at all are dropped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
}

fn attr(out: &mut String, name: &str, value: Option<&str>) {
    if let Some(v) = value {
        let _ = write!(out, " {name}=\"");
        esc(out, v);
        out.push('"');
    }
}

fn simple(out: &mut String, tag: &str, value: &str) {
    let _ = write!(out, "<{tag}>");
    esc(out, value);
    let _ = write!(out, "</{tag}>");
}

/// `dsb:Base64DataType` content: `<dsb:Value>` with the MIME type on the parent.
fn base64_element(out: &mut String, tag: &str, mime_type: Option<&str>, data: &[u8]) {
    let _ = write!(out, "<{tag}");
    attr(out, "MimeType", mime_type);
    out.push_str("><dsb:Value>");
    out.push_str(&encode_b64(data));
    let _ = write!(out, "</dsb:Value></{tag}>");
}

/// `dss2:SignatureObject` with a `Base64Signature`.
fn write_signature_object(out: &mut String, s: &Signed) {
    out.push_str("<dss2:SignatureObject");
    attr(out, "WhichDoc", s.which_doc.as_deref());
    out.push('>');
    base64_element(out, "dss2:Base64Signature", s.mime_type.as_deref(), &s.data);
    out.push_str("</dss2:SignatureObject>");
}

/// `dss2:DocumentWithSignature` with its `Document/Base64Data`.
fn write_document_with_signature(out: &mut String, d: &Signed) {
    out.push_str("<dss2:DocumentWithSignature");
    attr(out, "WhichDoc", d.which_doc.as_deref());
    out.push_str("><dss2:Document>");
    base64_element(out, "dss2:Base64Data", d.mime_type.as_deref(), &d.data);
    out.push_str("</dss2:Document></dss2:DocumentWithSignature>");
}

/// The XML declaration, the root element `tag` with the namespaces and IDs, then `dsb:Result`
/// and `dsb:AppliedProfile*`, the start of every `dsb:ResponseBaseType`. `payloads` are the
/// sizes of the values still to be written in Base64 (for the capacity).
fn response_start(
    tag: &str,
    payloads: impl Iterator<Item = usize>,
    result: &DssResult,
    profiles: &[String],
    request_id: Option<&str>,
    response_id: Option<&str>,
) -> String {
    let size: usize = payloads.map(|n| n / 3 * 4 + 256).sum();
    let mut out = String::with_capacity(size + 1024);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = write!(
        out,
        "<{tag} xmlns:dss2=\"{NS_CORE}\" xmlns:dsb=\"{NS_BASE}\""
    );
    attr(&mut out, "RequestID", request_id);
    attr(&mut out, "ResponseID", response_id);
    out.push('>');
    out.push_str("<dsb:Result>");
    simple(&mut out, "dsb:ResultMajor", result.major);
    if let Some(m) = result.minor {
        simple(&mut out, "dsb:ResultMinor", m);
    }
    if let Some(msg) = &result.message {
        out.push_str("<dsb:ResultMessage xml:lang=\"en\">");
        esc(&mut out, msg);
        out.push_str("</dsb:ResultMessage>");
    }
    out.push_str("</dsb:Result>");
    for p in profiles {
        simple(&mut out, "dsb:AppliedProfile", p);
    }
    out
}

/// Writes a `dss2:SignResponse` in the order of `dss2:SignResponseType`: Result,
/// AppliedProfile*, OptionalOutputs? (…, DocumentWithSignature*), SignatureObject*.
pub fn write(resp: &SignResponse) -> Vec<u8> {
    let mut out = response_start(
        "dss2:SignResponse",
        resp.documents_with_signature
            .iter()
            .chain(&resp.signature_objects)
            .map(|s| s.data.len()),
        &resp.result,
        &resp.applied_profiles,
        resp.request_id.as_deref(),
        resp.response_id.as_deref(),
    );
    if !resp.documents_with_signature.is_empty() {
        out.push_str("<dss2:OptionalOutputs>");
        for d in &resp.documents_with_signature {
            write_document_with_signature(&mut out, d);
        }
        out.push_str("</dss2:OptionalOutputs>");
    }
    for s in &resp.signature_objects {
        write_signature_object(&mut out, s);
    }
    out.push_str("</dss2:SignResponse>\n");
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DssResult, TEST_LIMITS as L};

    fn sign(xml: &str) -> Result<SignRequest, ParseError> {
        match parse(xml.as_bytes(), Kind::Sign, &L)? {
            Message::Sign(r) => Ok(*r),
            other => panic!("{other:?}"),
        }
    }

    const HEAD: &str = r#"<dss2:SignRequest xmlns:dss2="http://docs.oasis-open.org/dss-x/ns/core" xmlns:dsb="http://docs.oasis-open.org/dss-x/ns/base" RequestID="r-1">"#;

    #[test]
    fn hash_request() {
        let xml = format!(
            r#"{HEAD}<dss2:Profile>http://uri.etsi.org/19432/v1.1.1/creationprofile#</dss2:Profile>
<dss2:InputDocuments><dss2:DocumentHash ID="h1"><dss2:DigestInfos><dsb:DigestMethod>http://www.w3.org/2001/04/xmlenc#sha256</dsb:DigestMethod><dsb:DigestValue>AAEC</dsb:DigestValue></dss2:DigestInfos></dss2:DocumentHash></dss2:InputDocuments>
<dss2:OptionalInputs><dsb:Other MimeType="application/vnd.etsi.ts119432.sad"><dsb:Value>c2Fk</dsb:Value></dsb:Other><dss2:KeySelector><dss2:KeyName>cred-1</dss2:KeyName></dss2:KeySelector><dss2:SignatureAlgorithm>http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256</dss2:SignatureAlgorithm></dss2:OptionalInputs></dss2:SignRequest>"#
        );
        let r = sign(&xml).unwrap();
        assert_eq!(r.request_id.as_deref(), Some("r-1"));
        assert_eq!(r.hashes[0].id.as_deref(), Some("h1"));
        assert_eq!(r.hashes[0].digests[0].value, vec![0, 1, 2]);
        assert_eq!(r.options.key_names, vec!["cred-1".to_string()]);
        assert_eq!(r.options.other[0].value, b"sad".to_vec());
        assert!(r.options.unsupported.is_empty());
    }

    #[test]
    fn unsupported_inputs_are_named() {
        let xml = format!(
            r#"{HEAD}<dss2:OptionalInputs><dss2:Nonce>5</dss2:Nonce><dss2:KeySelector><dss2:X509SKI>AAEC</dss2:X509SKI></dss2:KeySelector><dss2:SignatureQualityLevel>urn:x</dss2:SignatureQualityLevel></dss2:OptionalInputs></dss2:SignRequest>"#
        );
        assert_eq!(
            sign(&xml).unwrap().options.unsupported,
            vec!["Nonce", "KeySelector/X509SKI", "SignatureQualityLevel"]
        );
    }

    #[test]
    fn hostile_xml() {
        let dtd = format!(
            r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>{HEAD}</dss2:SignRequest>"#
        );
        assert!(matches!(
            sign(&dtd),
            Err(ParseError::Requester {
                minor: minor::NOT_SUPPORTED,
                ..
            })
        ));
        let deep = format!(
            "{HEAD}{}{}</dss2:SignRequest>",
            "<a>".repeat(5000),
            "</a>".repeat(5000)
        );
        assert!(matches!(sign(&deep), Err(ParseError::Requester { .. })));
        let big = format!(
            r#"{HEAD}<dss2:InputDocuments><dss2:Document><dss2:Base64Data><dsb:Value>{}</dsb:Value></dss2:Base64Data></dss2:Document></dss2:InputDocuments></dss2:SignRequest>"#,
            "A".repeat(4096)
        );
        match sign(&big) {
            Err(ParseError::Requester { request_id, .. }) => {
                assert_eq!(request_id.as_deref(), Some("r-1"))
            }
            other => panic!("{other:?}"),
        }
        let undefined_entity = format!("{HEAD}&xxe;</dss2:SignRequest>");
        assert!(matches!(
            sign(&undefined_entity),
            Err(ParseError::Requester { .. })
        ));
        assert!(matches!(sign("hello"), Err(ParseError::NotDss(_))));
        assert!(matches!(sign("<x/>"), Err(ParseError::NotDss(_))));
    }

    #[test]
    fn writes_in_schema_order() {
        let mut resp = SignResponse::new(
            DssResult::requester(minor::GENERAL_ERROR, "a < b"),
            Some("r&1".into()),
        );
        resp.response_id = Some("x".into());
        resp.signature_objects.push(Signed {
            which_doc: Some("h1".into()),
            mime_type: None,
            data: vec![1, 2, 3],
        });
        let text = String::from_utf8(write(&resp)).unwrap();
        assert!(
            text.contains(r#"RequestID="r&amp;1" ResponseID="x""#),
            "{text}"
        );
        let result = text.find("<dsb:Result>").unwrap();
        let sig = text.find("<dss2:SignatureObject WhichDoc=\"h1\"><dss2:Base64Signature><dsb:Value>AQID</dsb:Value>").unwrap();
        assert!(result < sig);
        assert!(text.contains(r#"<dsb:ResultMessage xml:lang="en">a &lt; b</dsb:ResultMessage>"#));
        roxmltree::Document::parse(&text).unwrap();
    }

    #[test]
    fn echoed_white_space_reads_back_unchanged() {
        let id = "a\tb\nc\rd e";
        let resp = SignResponse::new(
            DssResult::requester(minor::GENERAL_ERROR, "x\r\ny"),
            Some(id.into()),
        );
        let text = String::from_utf8(write(&resp)).unwrap();
        let doc = roxmltree::Document::parse(&text).unwrap();
        assert_eq!(doc.root_element().attribute("RequestID"), Some(id));
        let message = doc
            .descendants()
            .find(|n| n.has_tag_name("ResultMessage"))
            .and_then(|n| n.text());
        assert_eq!(message, Some("x\r\ny"));
    }
}
