//! XAdES augmentation (EN 319 132-1 §6): new unsigned signature properties go at the end of
//! `xades:UnsignedSignatureProperties`, which is created (with `xades:UnsignedProperties` when
//! that is missing too) inside the signature's `xades:QualifyingProperties`:
//!
//! - B-T: `xades:SignatureTimeStamp` over the canonicalized `ds:SignatureValue`;
//! - B-LT: `xades:CertificateValues` and `xades:RevocationValues` (what `ds:KeyInfo` and the
//!   existing values do not hold already);
//! - renewal: `xades141:TimeStampValidationData` for the last archive time-stamp;
//! - B-LTA: `xades141:ArchiveTimeStamp` (EN 319 132-1 §5.5.2), whose input includes the octets
//!   of every `ds:Reference`. They are recomputed here and checked against the reference's
//!   DigestValue, so that an archive time-stamp never covers data other than what was signed;
//!   transforms beyond enveloped-signature, exclusive C14N and Base64 are refused.
//!
//! Only the inserted text changes; the rest of the document stays byte for byte. Inserted
//! elements declare the `ds` and `xades` namespaces themselves, whatever prefixes the
//! document uses. Every top-level signature of a document is extended — unless one of them
//! covers the whole document (`URI=""`), which the others' new properties would break.

use roxmltree::{Document, Node};
use signet_core::{HashAlgorithm, b64, xmldsig};

use crate::xades::c14n::{self, C14n, NodeSet};
use crate::xades::{
    self as own, BASE64, DS, ENVELOPED, EXC_C14N, XADES, XADES141, child, children,
};
use crate::{AdesError, Format, Revocation, timestamp};

use super::{
    ExtendRequest, Has, Outcome, Services, Steps, check_levels, counted, describe, missing,
    no_signer_certificate,
};

/// Most top-level signatures one document may have.
const MAX_SIGNATURES: usize = 64;

fn invalid(msg: impl Into<String>) -> AdesError {
    AdesError::InvalidDocument(msg.into())
}

pub(super) fn extend(req: &ExtendRequest, services: &Services<'_>) -> Result<Outcome, AdesError> {
    let depth = req.limits.max_xml_depth;
    let doc = c14n::parse_untrusted(&req.signature, depth)?;
    let signatures = top_signatures(&doc);
    if signatures.is_empty() {
        return Err(invalid("the XML document holds no ds:Signature"));
    }
    if signatures.len() > MAX_SIGNATURES {
        return Err(AdesError::TooLarge(format!(
            "the XML document holds more than {MAX_SIGNATURES} signatures"
        )));
    }
    if signatures.len() > 1 && signatures.iter().any(|s| covers_document(*s)) {
        return Err(invalid(format!(
            "the document holds {} signatures, and one covers the whole document (Reference URI=\"\"): the properties added to one would break the others",
            signatures.len()
        )));
    }
    let levels: Vec<_> = signatures
        .iter()
        .map(|s| View::read(*s).map(|v| v.has().level()))
        .collect::<Result<_, _>>()?;
    check_levels(Format::Xades, &levels, req.target)?;
    let mut text = doc.input_text().to_owned();
    drop(doc);

    let mut done = Done::default();
    for (index, level) in levels.iter().enumerate() {
        let steps = Steps::new(*level, req.target);
        text = add_properties(&text, index, steps, req, services, &mut done)?;
        if steps.archive_time_stamp {
            text = add_archive_time_stamp(&text, index, req, services)?;
            done.archived += 1;
        }
    }
    let mut added = Vec::new();
    if done.stamped > 0 {
        added.push(counted("signature time-stamp", done.stamped));
    }
    if done.with_data > 0 || !done.new.is_empty() {
        added.push(describe(&done.new));
    }
    if done.archived > 0 {
        added.push(counted("archive time-stamp", done.archived));
    }
    Ok((text.into_bytes(), added, done.info))
}

/// What the signatures got so far.
#[derive(Default)]
struct Done {
    stamped: usize,
    with_data: usize,
    archived: usize,
    /// The validation data embedded.
    new: Revocation,
    /// All validation data collected.
    info: Revocation,
}

/// Adds the signature time-stamp, the validation data and the renewal data the `index`th
/// signature needs; returns the new document text.
fn add_properties(
    text: &str,
    index: usize,
    steps: Steps,
    req: &ExtendRequest,
    services: &Services<'_>,
    done: &mut Done,
) -> Result<String, AdesError> {
    let doc = c14n::parse_untrusted(text.as_bytes(), req.limits.max_xml_depth)?;
    let view = nth_signature(&doc, index)?;
    let hash = view.hash();
    let id = own::random_id()?;
    let mut elements = Vec::new();
    let mut tokens = view.tokens("SignatureTimeStamp")?;
    if steps.time_stamp {
        let token = timestamp::timestamp(
            services.tsa,
            hash,
            &hash.digest(&canonical(view.signature_value)),
        )?;
        elements.push(own::time_stamp_element(
            "xades:SignatureTimeStamp",
            &format!("{id}-sigtst"),
            &token,
        ));
        tokens.push(token);
        done.stamped += 1;
    }
    let mut have = view.embedded();
    if steps.validation_data {
        let data = timestamp::collect_validation_data(
            services.validation(),
            &view.signer_certificate()?,
            &tokens,
        )?;
        let new = missing(&data, &have);
        elements.extend(own::validation_elements(&new, &[]));
        done.info.merge(data);
        done.new.merge(new.clone());
        done.with_data += 1;
        have.merge(new);
    }
    if steps.renewal
        && let Some(last) = view.tokens("ArchiveTimeStamp")?.last()
    {
        let extra = timestamp::token_validation_data(services.validation(), last, &have)?;
        if !extra.is_empty() {
            elements.push(own::time_stamp_validation_data(&extra));
            done.info.merge(extra.clone());
            done.new.merge(extra);
        }
    }
    if elements.is_empty() {
        return Ok(text.to_owned());
    }
    insert(&doc, &view, &elements)
}

/// Adds the archive time-stamp to the `index`th signature; returns the new document text.
fn add_archive_time_stamp(
    text: &str,
    index: usize,
    req: &ExtendRequest,
    services: &Services<'_>,
) -> Result<String, AdesError> {
    let doc = c14n::parse_untrusted(text.as_bytes(), req.limits.max_xml_depth)?;
    let view = nth_signature(&doc, index)?;
    let hash = view.hash();
    let imprint = archive_imprint(&view, hash, req)?;
    let token = timestamp::timestamp(services.tsa, hash, &imprint)?;
    let element = own::time_stamp_element(
        "xades141:ArchiveTimeStamp",
        &format!("{}-ats", own::random_id()?),
        &token,
    );
    insert(&doc, &view, &[element])
}

/// `ds:Signature` elements that are not inside another one (counter-signatures are).
fn top_signatures<'a, 'input>(doc: &'a Document<'input>) -> Vec<Node<'a, 'input>> {
    doc.descendants()
        .filter(|n| n.has_tag_name((DS, "Signature")))
        .filter(|n| {
            !n.ancestors()
                .skip(1)
                .any(|a| a.has_tag_name((DS, "Signature")))
        })
        .collect()
}

fn nth_signature<'a, 'input>(
    doc: &'a Document<'input>,
    index: usize,
) -> Result<View<'a, 'input>, AdesError> {
    let node = top_signatures(doc)
        .get(index)
        .copied()
        .ok_or_else(|| AdesError::Internal("a signature disappeared while extending".into()))?;
    View::read(node)
}

/// Whether a Reference of `signature` covers the whole document.
fn covers_document(signature: Node<'_, '_>) -> bool {
    child(signature, DS, "SignedInfo").is_some_and(|si| {
        children(si, DS, "Reference").any(|r| {
            r.attribute("URI")
                .is_some_and(|u| u.is_empty() || u.starts_with("#xpointer("))
        })
    })
}

/// The Base64 text of an element (line breaks allowed).
fn base64_text(n: Node<'_, '_>) -> Option<Vec<u8>> {
    let text: String = n
        .descendants()
        .filter(|d| d.is_text())
        .filter_map(|d| d.text())
        .flat_map(|t| t.chars())
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    b64::decode(&text)
}

/// Exclusive C14N of an element in the document (what the time-stamps cover).
fn canonical(n: Node<'_, '_>) -> Vec<u8> {
    let mut out = Vec::new();
    c14n::element_subtree(n, &mut out);
    out
}

/// The parts of one XAdES signature augmentation reads and writes.
struct View<'a, 'input> {
    signature: Node<'a, 'input>,
    signed_info: Node<'a, 'input>,
    signature_value: Node<'a, 'input>,
    key_info: Option<Node<'a, 'input>>,
    qualifying: Node<'a, 'input>,
    unsigned: Option<Node<'a, 'input>>,
    /// `xades:UnsignedSignatureProperties`.
    properties: Option<Node<'a, 'input>>,
}

impl<'a, 'input> View<'a, 'input> {
    fn read(signature: Node<'a, 'input>) -> Result<Self, AdesError> {
        let need = |name: &str| {
            child(signature, DS, name)
                .ok_or_else(|| invalid(format!("the ds:Signature has no ds:{name}")))
        };
        let qualifying = children(signature, DS, "Object")
            .find_map(|o| child(o, XADES, "QualifyingProperties"))
            .ok_or_else(|| {
                invalid(format!(
                    "the ds:Signature is not a XAdES signature: it has no xades:QualifyingProperties ({XADES})"
                ))
            })?;
        let unsigned = child(qualifying, XADES, "UnsignedProperties");
        Ok(Self {
            signature,
            signed_info: need("SignedInfo")?,
            signature_value: need("SignatureValue")?,
            key_info: child(signature, DS, "KeyInfo"),
            qualifying,
            unsigned,
            properties: unsigned.and_then(|u| child(u, XADES, "UnsignedSignatureProperties")),
        })
    }

    fn property_elements(&self) -> impl Iterator<Item = Node<'a, 'input>> + use<'a, 'input> {
        self.properties
            .into_iter()
            .flat_map(|p| p.children().filter(|c| c.is_element()))
    }

    /// Unsigned signature properties of this local name (XAdES 1.3.2 or 1.4.1).
    fn properties_named(
        &self,
        name: &'static str,
    ) -> impl Iterator<Item = Node<'a, 'input>> + use<'a, 'input> {
        self.property_elements().filter(move |c| {
            c.tag_name().name() == name
                && matches!(c.tag_name().namespace(), Some(XADES) | Some(XADES141))
        })
    }

    fn has(&self) -> Has {
        let any = |name| self.properties_named(name).next().is_some();
        Has {
            time_stamp: any("SignatureTimeStamp"),
            validation_data: any("CertificateValues") || any("RevocationValues"),
            archive_time_stamp: any("ArchiveTimeStamp"),
        }
    }

    /// The tokens of the time-stamp properties named `name`, in document order.
    fn tokens(&self, name: &'static str) -> Result<Vec<Vec<u8>>, AdesError> {
        self.properties_named(name)
            .flat_map(|p| children(p, XADES, "EncapsulatedTimeStamp"))
            .map(|t| {
                base64_text(t).ok_or_else(|| invalid(format!("a xades:{name} token is not Base64")))
            })
            .collect()
    }

    /// The hash of the signature algorithm, for new time-stamps (SHA-256 for one Signet does
    /// not know).
    fn hash(&self) -> HashAlgorithm {
        child(self.signed_info, DS, "SignatureMethod")
            .and_then(|m| m.attribute("Algorithm"))
            .and_then(xmldsig::signature_from_uri)
            .map_or(HashAlgorithm::Sha256, |m| m.hash())
    }

    fn key_info_certificates(&self) -> Vec<Vec<u8>> {
        self.key_info
            .into_iter()
            .flat_map(|k| k.descendants())
            .filter(|n| n.has_tag_name((DS, "X509Certificate")))
            .filter_map(base64_text)
            .collect()
    }

    /// The `ds:KeyInfo` certificate the signing certificate property names (by its digest),
    /// or the first one when the signature has no such property.
    fn signer_certificate(&self) -> Result<Vec<u8>, AdesError> {
        let certificates = self.key_info_certificates();
        let reference = self
            .qualifying
            .descendants()
            .find(|n| {
                n.has_tag_name((XADES, "SigningCertificateV2"))
                    || n.has_tag_name((XADES, "SigningCertificate"))
            })
            .and_then(|s| {
                s.descendants()
                    .find(|n| n.has_tag_name((XADES, "CertDigest")))
            });
        let found = match reference {
            None => certificates.into_iter().next(),
            Some(digest) => {
                let method = child(digest, DS, "DigestMethod")
                    .and_then(|m| m.attribute("Algorithm"))
                    .and_then(xmldsig::digest_from_uri);
                let value = child(digest, DS, "DigestValue").and_then(base64_text);
                match (method, value) {
                    (Some(h), Some(v)) => certificates.into_iter().find(|c| h.digest(c) == v),
                    _ => None,
                }
            }
        };
        found.ok_or_else(|| no_signer_certificate("the signature's ds:KeyInfo"))
    }

    /// The certificates and revocation values the signature carries.
    fn embedded(&self) -> Revocation {
        let mut out = Revocation {
            certificates: self.key_info_certificates(),
            ..Default::default()
        };
        for n in self.property_elements().flat_map(|p| p.descendants()) {
            let into = match n.tag_name().name() {
                "EncapsulatedX509Certificate" => &mut out.certificates,
                "EncapsulatedCRLValue" => &mut out.crls,
                "EncapsulatedOCSPValue" => &mut out.ocsp,
                _ => continue,
            };
            if let Some(value) = base64_text(n) {
                into.push(value);
            }
        }
        out
    }
}

/// The document with `elements` appended to the signature's unsigned signature properties,
/// each declaring the namespaces it uses.
fn insert(
    doc: &Document<'_>,
    view: &View<'_, '_>,
    elements: &[String],
) -> Result<String, AdesError> {
    let text = doc.input_text();
    let content: String = elements.iter().map(|e| declare_namespaces(e)).collect();
    let usp = |inner: &str| {
        format!(
            "<xades:UnsignedSignatureProperties xmlns:xades=\"{XADES}\">{inner}</xades:UnsignedSignatureProperties>"
        )
    };
    Ok(match (view.properties, view.unsigned) {
        (Some(properties), _) => own::find_insertion(properties)?.splice(text, &content),
        // UnsignedSignatureProperties comes first in UnsignedProperties.
        (None, Some(unsigned)) => match unsigned.first_child() {
            Some(first) => {
                let at = first.range().start;
                format!("{}{}{}", &text[..at], usp(&content), &text[at..])
            }
            None => own::find_insertion(unsigned)?.splice(text, &usp(&content)),
        },
        (None, None) => own::find_insertion(view.qualifying)?.splice(
            text,
            &format!(
                "<xades:UnsignedProperties xmlns:xades=\"{XADES}\">{}</xades:UnsignedProperties>",
                usp(&content)
            ),
        ),
    })
}

/// `<xades:Name ...>` → `<xades:Name xmlns:ds=".." xmlns:xades=".." ...>`, for an element
/// written by [`own`] that may land where the document uses other prefixes.
fn declare_namespaces(element: &str) -> String {
    let end = element
        .char_indices()
        .skip(1)
        .find(|(_, c)| *c == ' ' || *c == '>')
        .map_or(element.len(), |(i, _)| i);
    format!(
        "{} xmlns:ds=\"{DS}\" xmlns:xades=\"{XADES}\"{}",
        &element[..end],
        &element[end..]
    )
}

/// [`own::archive_imprint`] of the signature, its references' octets recomputed (and checked
/// against their digests).
fn archive_imprint(
    view: &View<'_, '_>,
    hash: HashAlgorithm,
    req: &ExtendRequest,
) -> Result<Vec<u8>, AdesError> {
    let octets = children(view.signed_info, DS, "Reference")
        .map(|reference| reference_octets(view.signature, reference, req))
        .collect::<Result<Vec<_>, _>>()?;
    own::archive_imprint(view.signature, &octets, hash)
}

/// The octets a `ds:Reference` digests (XML-DSig §4.4.3.2), for the transforms Signet
/// writes; checked against its DigestValue.
fn reference_octets(
    signature: Node<'_, '_>,
    reference: Node<'_, '_>,
    req: &ExtendRequest,
) -> Result<Vec<u8>, AdesError> {
    let uri = reference.attribute("URI");
    let shown = uri.unwrap_or("(none)");
    let refuse = |why: &str| {
        AdesError::InvalidDocument(format!(
            "the archive time-stamp cannot be computed: Reference URI=\"{shown}\" {why}"
        ))
    };
    let mut transforms = Vec::new();
    for t in child(reference, DS, "Transforms")
        .into_iter()
        .flat_map(|t| children(t, DS, "Transform"))
    {
        let alg = t.attribute("Algorithm").unwrap_or_default();
        let known = [
            ENVELOPED,
            EXC_C14N,
            c14n::INCLUSIVE,
            c14n::INCLUSIVE_11,
            BASE64,
        ];
        if !known.contains(&alg) || t.children().any(|c| c.is_element()) {
            return Err(refuse(&format!(
                "uses the transform {alg}, which Signet does not process"
            )));
        }
        transforms.push(alg);
    }
    let external = match uri {
        None => return Err(refuse("has no URI")),
        Some(u) => !u.is_empty() && !u.starts_with('#'),
    };
    let octets = if external {
        if !transforms.is_empty() {
            return Err(refuse("transforms a detached document"));
        }
        req.detached.clone().ok_or_else(|| {
            AdesError::InvalidRequest(format!(
                "the XAdES signature is detached: its archive time-stamp covers the signed document ({shown}), so send the document with it"
            ))
        })?
    } else {
        same_document_octets(signature, uri.unwrap_or_default(), &transforms, req)
            .map_err(|why| refuse(&why))?
    };
    let method = child(reference, DS, "DigestMethod")
        .and_then(|m| m.attribute("Algorithm"))
        .and_then(xmldsig::digest_from_uri)
        .ok_or_else(|| refuse("has a digest algorithm Signet does not know"))?;
    let expected = child(reference, DS, "DigestValue").and_then(base64_text);
    if expected.as_deref() != Some(method.digest(&octets).as_slice()) {
        return Err(if external {
            AdesError::InvalidRequest(format!(
                "the detached document is not the one signed: its digest differs from Reference URI=\"{shown}\""
            ))
        } else {
            refuse(
                "covers data Signet does not reproduce (its digest differs: another canonicalization, or a broken signature)",
            )
        });
    }
    Ok(octets)
}

/// A same-document reference's octets: the document (`""`) or the element with that Id,
/// without the signature under the enveloped-signature transform.
fn same_document_octets(
    signature: Node<'_, '_>,
    uri: &str,
    transforms: &[&str],
    req: &ExtendRequest,
) -> Result<Vec<u8>, String> {
    let original = signature.document();
    let id = uri.strip_prefix('#');
    let target = id.map(|id| element_by_id(original, id)).transpose()?;
    let envelops = transforms.contains(&ENVELOPED)
        && target.is_none_or(|t| signature.ancestors().any(|a| a == t));
    if !envelops {
        return node_set_octets(original, target, transforms);
    }
    let text = original.input_text();
    let range = signature.range();
    let without = format!("{}{}", &text[..range.start], &text[range.end..]);
    let doc = c14n::parse_untrusted(without.as_bytes(), req.limits.max_xml_depth)
        .map_err(|e| e.to_string())?;
    let target = id.map(|id| element_by_id(&doc, id)).transpose()?;
    node_set_octets(&doc, target, transforms)
}

/// The octets of the whole document or of `target`: Base64-decoded, or canonicalized with
/// the last canonicalization transform — inclusive C14N without one (XML-DSig §4.4.3.2).
fn node_set_octets(
    doc: &Document<'_>,
    target: Option<Node<'_, '_>>,
    transforms: &[&str],
) -> Result<Vec<u8>, String> {
    if transforms.last() == Some(&BASE64) {
        return match target {
            Some(element) => base64_text(element)
                .ok_or_else(|| "holds no Base64 for its Base64 transform".into()),
            None => Err("applies the Base64 transform to the whole document".into()),
        };
    }
    let c14n = transforms
        .iter()
        .rev()
        .find_map(|t| C14n::from_uri(t))
        .unwrap_or_else(C14n::default_inclusive);
    let apex = target.unwrap_or_else(|| doc.root());
    Ok(c14n::canonicalize(NodeSet::subtree(apex), &c14n))
}

/// The one element whose `Id` (or `ID`, `id`) attribute is `id`.
fn element_by_id<'a, 'input>(
    doc: &'a Document<'input>,
    id: &str,
) -> Result<Node<'a, 'input>, String> {
    let mut found = doc.descendants().filter(|n| {
        n.is_element()
            && ["Id", "ID", "id"]
                .iter()
                .any(|a| n.attribute(*a) == Some(id))
    });
    match (found.next(), found.next()) {
        (Some(n), None) => Ok(n),
        (None, _) => Err(format!("points to no element with Id {id}")),
        (Some(_), Some(_)) => Err(format!("points to an Id used twice ({id})")),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::extend::test_support::{Augment, Judges, assert_validation_data, count, python_key};
    use crate::test_pki::TestPki;
    use crate::{Envelope, Level};

    const DOC: &str = "<?xml version=\"1.0\"?>\n<!-- invoice -->\n<inv:Invoice xmlns:inv=\"urn:inv\" xmlns=\"urn:d\"><Line n=\"1\">caf\u{e9} &amp; cr\u{e8}me</Line>\n<Empty/></inv:Invoice>\n";

    /// An independent recomputation with lxml (libxml2's exclusive C14N) of every archive
    /// time-stamp's input (EN 319 132-1 §5.5.2.2), compared with the token's messageImprint
    /// read by asn1crypto. argv: signed XML [detached document].
    const ATS_CHECK: &str = r#"
import base64, hashlib, sys
from asn1crypto import cms, tsp
from lxml import etree
DS, XADES, X141 = 'http://www.w3.org/2000/09/xmldsig#', 'http://uri.etsi.org/01903/v1.3.2#', 'http://uri.etsi.org/01903/v1.4.1#'
B64 = 'http://www.w3.org/2000/09/xmldsig#base64'
EXC = 'http://www.w3.org/2001/10/xml-exc-c14n#'
# References: their canonicalization (inclusive without one); the rest: the time-stamp's.
c14n = lambda e, exclusive=True: etree.tostring(e, method='c14n', exclusive=exclusive, with_comments=False)
doc = etree.parse(sys.argv[1])
def by_id(tree, i):
    return tree.xpath('//*[@Id=$i or @ID=$i or @id=$i]', i=i)[0]
checked = 0
for sig in doc.getroot().iter('{%s}Signature' % DS):
    usp = sig.find('.//{%s}UnsignedSignatureProperties' % XADES)
    if usp is None:
        continue
    refs = sig.find('{%s}SignedInfo' % DS).findall('{%s}Reference' % DS)
    for ats in usp.findall('{%s}ArchiveTimeStamp' % X141):
        data = b''
        for ref in refs:
            uri = ref.get('URI')
            algs = [t.get('Algorithm') for t in ref.iter('{%s}Transform' % DS)]
            if uri == '':
                tree = etree.parse(sys.argv[1])
                s = [x for x in tree.getroot().iter('{%s}Signature' % DS) if x.get('Id') == sig.get('Id')][0]
                prev, parent = s.getprevious(), s.getparent()
                if s.tail:
                    if prev is not None:
                        prev.tail = (prev.tail or '') + s.tail
                    else:
                        parent.text = (parent.text or '') + s.tail
                parent.remove(s)
                data += c14n(tree, EXC in algs)
            elif uri.startswith('#'):
                el = by_id(doc, uri[1:])
                data += base64.b64decode(''.join(el.itertext())) if B64 in algs else c14n(el, EXC in algs)
            else:
                data += open(sys.argv[2], 'rb').read()
        for name in ('SignedInfo', 'SignatureValue', 'KeyInfo'):
            el = sig.find('{%s}%s' % (DS, name))
            if el is not None:
                data += c14n(el)
        for prop in usp:
            if prop is ats:
                break
            data += c14n(prop)
        for obj in sig.findall('{%s}Object' % DS):
            if obj.find('{%s}QualifyingProperties' % XADES) is None:
                data += c14n(obj)
        token = cms.ContentInfo.load(base64.b64decode(''.join(ats.find('{%s}EncapsulatedTimeStamp' % XADES).itertext())))
        info = token['content']['encap_content_info']['content'].parsed
        imprint = info['message_imprint']
        digest = hashlib.new(imprint['hash_algorithm']['algorithm'].native, data).digest()
        assert digest == imprint['hashed_message'].native, 'archive time-stamp imprint differs'
        checked += 1
assert checked, 'no archive time-stamp'
print('lxml: %d archive time-stamp imprints match' % checked)
"#;

    /// signxml's XAdESSigner signs argv[1] (enveloped) into argv[2] with key argv[3] and
    /// certificate argv[4]; argv[5] is the C14N algorithm.
    const SIGNXML_SIGN: &str = r#"
import sys
from lxml import etree
from signxml.xades import XAdESSigner
from cryptography import x509
cert = x509.load_der_x509_certificate(open(sys.argv[4], 'rb').read())
signer = XAdESSigner(signature_algorithm='ecdsa-sha256', c14n_algorithm=sys.argv[5])
signed = signer.sign(etree.parse(sys.argv[1]).getroot(), key=open(sys.argv[3], 'rb').read(), cert=[cert])
open(sys.argv[2], 'wb').write(etree.tostring(signed))
"#;

    fn text(bytes: &[u8]) -> String {
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    /// xmlsec1 and signxml (validate.sh), then the archive time-stamp recomputation.
    fn judge(j: &Judges, f: &TestPki, xml: &[u8], document: Option<&[u8]>) {
        let file = j.file("signed.xml", xml);
        let ca = j.ca(f);
        let doc = document.map(|d| j.file("document", d));
        let mut args: Vec<&Path> = vec![&file, &ca];
        args.extend(doc.as_deref());
        let (ok, log) = j.validate("xades", &args);
        assert!(ok, "validate.sh xades:\n{log}");
        check_archive_time_stamps(j, xml, document);
    }

    fn check_archive_time_stamps(j: &Judges, xml: &[u8], document: Option<&[u8]>) {
        if !text(xml).contains("ArchiveTimeStamp") {
            return;
        }
        let file = j.file("ats.xml", xml);
        let doc = document.map(|d| j.file("ats-document", d));
        let mut args: Vec<&Path> = vec![&file];
        args.extend(doc.as_deref());
        let (ok, log) = j.python(ATS_CHECK, &args);
        assert!(ok, "{log}");
    }

    #[test]
    fn enveloped_step_by_step_and_renewed() {
        let f = TestPki::new();
        let judges = Judges::find();
        let bb = f.make(
            Format::Xades,
            Level::BB,
            Envelope::Enveloped,
            DOC.as_bytes(),
        );
        let t = f.extend(&bb, None, Level::BT).unwrap();
        assert_eq!(t.format, Format::Xades);
        assert_eq!(t.added, ["signature time-stamp"]);
        let out = text(&t.output);
        // The unsigned properties were created; nothing else changed.
        let start = out.find("<xades:UnsignedProperties").unwrap();
        let end =
            out.find("</xades:UnsignedProperties>").unwrap() + "</xades:UnsignedProperties>".len();
        assert_eq!(format!("{}{}", &out[..start], &out[end..]), text(&bb));
        assert!(out[start..end].starts_with(&format!(
            "<xades:UnsignedProperties xmlns:xades=\"{XADES}\"><xades:UnsignedSignatureProperties xmlns:xades=\"{XADES}\"><xades:SignatureTimeStamp xmlns:ds=\"{DS}\" xmlns:xades=\"{XADES}\" Id=\""
        )));
        assert_eq!(count(&t.output, b"<xades:EncapsulatedTimeStamp>"), 1);

        let lt = f.extend(&t.output, None, Level::BLt).unwrap();
        // KeyInfo holds the signer and CA certificates: only the TSA's is new.
        assert_eq!(
            lt.added,
            ["validation data for 1 certificate, 2 CRLs, 2 OCSP responses"]
        );
        assert_validation_data(&lt.validation_info, &f);
        let out = text(&lt.output);
        let at = |s: &str| out.find(s).unwrap();
        assert!(at("<xades:SignatureTimeStamp") < at("<xades:CertificateValues"));
        assert!(at("<xades:CertificateValues") < at("<xades:RevocationValues"));
        assert_eq!(count(&lt.output, b"<xades:EncapsulatedX509Certificate>"), 1);
        assert_eq!(count(&lt.output, b"<xades:EncapsulatedCRLValue>"), 2);
        assert_eq!(count(&lt.output, b"<xades:EncapsulatedOCSPValue>"), 2);

        let lta = f.extend(&lt.output, None, Level::BLta).unwrap();
        assert_eq!(lta.added, ["archive time-stamp"]);
        let out = text(&lta.output);
        assert!(
            out.find("<xades:RevocationValues").unwrap()
                < out.find("<xades141:ArchiveTimeStamp").unwrap()
        );
        assert_eq!(
            f.extend(&lta.output, None, Level::BLt),
            Err(AdesError::InvalidRequest(
                "the XAdES signature is already B-LTA: there is nothing to add for B-LT".into()
            ))
        );
        let renewed = f.extend(&lta.output, None, Level::BLta).unwrap();
        assert_eq!(renewed.added, ["archive time-stamp"]);
        assert_eq!(count(&renewed.output, b"<xades141:ArchiveTimeStamp"), 2);
        if let Some(j) = &judges {
            for out in [&t.output, &lt.output, &lta.output, &renewed.output] {
                judge(j, &f, out, None);
            }
        }
    }

    #[test]
    fn enveloping_and_detached_directly_to_lta() {
        let f = TestPki::new();
        let judges = Judges::find();
        let enveloping = f.make(
            Format::Xades,
            Level::BB,
            Envelope::Enveloping,
            DOC.as_bytes(),
        );
        let lta = f.extend(&enveloping, None, Level::BLta).unwrap();
        assert_eq!(
            lta.added,
            [
                "signature time-stamp",
                "validation data for 1 certificate, 2 CRLs, 2 OCSP responses",
                "archive time-stamp"
            ]
        );
        let detached = f.make(Format::Xades, Level::BT, Envelope::Detached, DOC.as_bytes());
        assert_eq!(
            f.extend(&detached, None, Level::BLta),
            Err(AdesError::InvalidRequest(
                "the XAdES signature is detached: its archive time-stamp covers the signed document (document), so send the document with it".into()
            ))
        );
        assert_eq!(
            f.extend(&detached, Some(b"other"), Level::BLta),
            Err(AdesError::InvalidRequest(
                "the detached document is not the one signed: its digest differs from Reference URI=\"document\"".into()
            ))
        );
        let detached_lta = f
            .extend(&detached, Some(DOC.as_bytes()), Level::BLta)
            .unwrap();
        assert_eq!(
            detached_lta.added,
            [
                "validation data for 1 certificate, 2 CRLs, 2 OCSP responses",
                "archive time-stamp"
            ]
        );
        // B-LT needs no document.
        assert!(f.extend(&detached, None, Level::BLt).is_ok());
        if let Some(j) = &judges {
            judge(j, &f, &lta.output, None);
            judge(j, &f, &detached_lta.output, Some(DOC.as_bytes()));
        }
    }

    /// Signet's B-LTA of each envelope, made in one go by `finish`, then renewed: the judges,
    /// and lxml's recomputation of the archive time-stamps, which cover the enveloping data
    /// `ds:Object` too (EN 319 132-1 §5.5.2.2).
    #[test]
    fn signed_at_lta_and_renewed() {
        let Some(j) = Judges::find() else { return };
        let f = TestPki::new();
        for envelope in [
            Envelope::Enveloped,
            Envelope::Enveloping,
            Envelope::Detached,
        ] {
            let lta = f.make(Format::Xades, Level::BLta, envelope, DOC.as_bytes());
            let document = (envelope == Envelope::Detached).then_some(DOC.as_bytes());
            judge(&j, &f, &lta, document);
            let renewed = f.extend(&lta, document, Level::BLta).unwrap();
            assert_eq!(renewed.added.last().unwrap(), "archive time-stamp");
            assert_eq!(count(&renewed.output, b"<xades141:ArchiveTimeStamp"), 2);
            judge(&j, &f, &renewed.output, document);
        }
    }

    /// signxml's XAdES (C14N 1.1, references to its properties without transforms) goes to
    /// B-LTA: signxml verifies it, lxml recomputes the archive time-stamps. Asked for
    /// exclusive C14N, signxml digests those references with it where XML-DSig (and its own
    /// verifier) takes inclusive C14N: B-LTA is refused, B-LT works.
    #[test]
    fn signxml_signatures() {
        let Some(j) = Judges::find() else { return };
        let f = TestPki::new();
        let (key, spki) = python_key(&j);
        let cert = j.file("cert.der", &f.certify(&spki));
        let src = j.file("in.xml", DOC.as_bytes());
        let ca = j.ca(&f);
        let signed = j.dir.path().join("signxml.xml");
        let sign = |c14n: &str| {
            let (ok, log) = j.python(SIGNXML_SIGN, &[&src, &signed, &key, &cert, Path::new(c14n)]);
            assert!(ok, "{log}");
            std::fs::read(&signed).unwrap()
        };
        let signxml_accepts = |xml: &[u8]| {
            let file = j.file("extended.xml", xml);
            let (ok, log) = j.judge(&[Path::new("xades"), &file, &ca]);
            assert!(ok, "signxml:\n{log}");
        };
        let bb = sign(c14n::INCLUSIVE_11);
        let lta = f.extend(&bb, None, Level::BLta).unwrap();
        assert_eq!(
            lta.added,
            [
                "signature time-stamp",
                "validation data for 2 certificates, 2 CRLs, 2 OCSP responses",
                "archive time-stamp"
            ]
        );
        signxml_accepts(&lta.output);
        check_archive_time_stamps(&j, &lta.output, None);
        let renewed = f.extend(&lta.output, None, Level::BLta).unwrap();
        signxml_accepts(&renewed.output);
        check_archive_time_stamps(&j, &renewed.output, None);

        let quirky = sign(EXC_C14N);
        let err = f.extend(&quirky, None, Level::BLta).unwrap_err();
        assert!(
            matches!(&err, AdesError::InvalidDocument(m) if m.starts_with("the archive time-stamp cannot be computed: Reference URI=\"#") && m.ends_with("covers data Signet does not reproduce (its digest differs: another canonicalization, or a broken signature)")),
            "{err:?}"
        );
        assert!(f.extend(&quirky, None, Level::BLt).is_ok());
    }

    #[test]
    fn refusals() {
        let f = TestPki::new();
        assert_eq!(
            f.extend(DOC.as_bytes(), None, Level::BT),
            Err(AdesError::InvalidDocument(
                "the XML document holds no ds:Signature".into()
            ))
        );
        let plain = format!(
            "<r><ds:Signature xmlns:ds=\"{DS}\"><ds:SignedInfo/><ds:SignatureValue>AA==</ds:SignatureValue></ds:Signature></r>"
        );
        assert_eq!(
            f.extend(plain.as_bytes(), None, Level::BT),
            Err(AdesError::InvalidDocument(format!(
                "the ds:Signature is not a XAdES signature: it has no xades:QualifyingProperties ({XADES})"
            )))
        );
        let once = f.make(
            Format::Xades,
            Level::BB,
            Envelope::Enveloped,
            DOC.as_bytes(),
        );
        let twice = f.make(Format::Xades, Level::BB, Envelope::Enveloped, &once);
        assert_eq!(
            f.extend(&twice, None, Level::BT),
            Err(AdesError::InvalidDocument(
                "the document holds 2 signatures, and one covers the whole document (Reference URI=\"\"): the properties added to one would break the others".into()
            ))
        );
        let lt = f.make(
            Format::Xades,
            Level::BLt,
            Envelope::Enveloping,
            DOC.as_bytes(),
        );
        assert_eq!(
            f.extend(&lt, None, Level::BT),
            Err(AdesError::InvalidRequest(
                "the XAdES signature is already B-LT: there is nothing to add for B-T".into()
            ))
        );
        // Signet's own B-LT goes on to B-LTA, its unsigned properties extended in place.
        let lta = f.extend(&lt, None, Level::BLta).unwrap();
        assert_eq!(lta.added, ["archive time-stamp"]);
        assert_eq!(count(&lta.output, b"<xades:UnsignedSignatureProperties"), 1);
        if let Some(j) = Judges::find() {
            judge(&j, &f, &lta.output, None);
        }
        assert!(matches!(
            f.extend(b"<r><unclosed></r>", None, Level::BT),
            Err(AdesError::InvalidDocument(_))
        ));
    }

    #[test]
    fn existing_unsigned_properties_keep_their_order() {
        // An UnsignedProperties with only data object properties: the signature properties
        // go first.
        let f = TestPki::new();
        let bb = text(&f.make(
            Format::Xades,
            Level::BB,
            Envelope::Enveloping,
            DOC.as_bytes(),
        ));
        let with_udop = bb.replace(
            "</xades:SignedProperties>",
            "</xades:SignedProperties><xades:UnsignedProperties><xades:UnsignedDataObjectProperties/></xades:UnsignedProperties>",
        );
        let t = f.extend(with_udop.as_bytes(), None, Level::BT).unwrap();
        let out = text(&t.output);
        assert!(out.contains(&format!("<xades:UnsignedProperties><xades:UnsignedSignatureProperties xmlns:xades=\"{XADES}\"><xades:SignatureTimeStamp")));
        assert!(
            out.contains(
                "</xades:UnsignedSignatureProperties><xades:UnsignedDataObjectProperties/>"
            )
        );
        // An empty one is filled.
        let empty = bb.replace(
            "</xades:SignedProperties>",
            "</xades:SignedProperties><xades:UnsignedProperties/>",
        );
        let t = f.extend(empty.as_bytes(), None, Level::BT).unwrap();
        assert!(text(&t.output).contains(&format!("<xades:UnsignedProperties><xades:UnsignedSignatureProperties xmlns:xades=\"{XADES}\"><xades:SignatureTimeStamp")));
    }
}
