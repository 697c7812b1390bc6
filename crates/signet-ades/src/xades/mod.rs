//! XAdES baseline signatures (EN 319 132-1): enveloped, enveloping and detached, B-B to B-LTA.
//!
//! Every element Signet writes is written compactly (no whitespace between elements) and its
//! digest is taken over its exclusive C14N as a verifier computes it in the final document:
//! the fragment is parsed inside a wrapper that declares the `ds` and `xades` prefixes (what
//! `ds:Signature` and `xades:QualifyingProperties` declare around it) and canonicalized with
//! [`c14n::element_subtree`], which renders only the namespaces the fragment uses.

pub(crate) mod c14n;

use aws_lc_rs::digest;
use signet_core::{HashAlgorithm, KeyType, SignMechanism, b64};

use crate::cades::{need_tsa, two_digests};
use crate::cert::CertView;
use crate::ecdsa;
use crate::qualifying::{Policy, QualifyingProps};
use crate::timestamp;
use crate::{
    AdesError, Content, DocumentRequest, Envelope, Finished, Level, Output, Prepared, Revocation,
    State, TimeStamper, ValidationData,
};

pub(crate) const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
pub(crate) const XADES: &str = "http://uri.etsi.org/01903/v1.3.2#";
pub(crate) const XADES141: &str = "http://uri.etsi.org/01903/v1.4.1#";
pub(crate) const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
pub(crate) const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
pub(crate) const BASE64: &str = "http://www.w3.org/2000/09/xmldsig#base64";
const SIGNED_PROPERTIES_TYPE: &str = "http://uri.etsi.org/01903#SignedProperties";
/// The URI a detached signature names its document by: CSC requests carry no file name.
const DETACHED_URI: &str = "document";

#[derive(Debug)]
pub struct PreparedXades {
    certificate: Vec<u8>,
    key_type: KeyType,
    mechanism: SignMechanism,
    level: Level,
    envelope: Envelope,
    collect: bool,
    sid: String,
    signed_info: String,
    /// Exclusive C14N of `signed_info`: what the key module's signature covers.
    signed_info_c14n: Vec<u8>,
    key_info: String,
    signed_properties: String,
    /// Enveloping: the `ds:Object` carrying the document.
    data_object: Option<String>,
    /// Enveloped: the client's document and the byte offset where the signature goes, and
    /// whether the root element was written as an empty-element tag (`<r/>`).
    enveloped: Option<(String, Insertion)>,
    /// B-LTA: the octets of each Reference after its transforms, in SignedInfo order (EN 319
    /// 132-1 §5.5.2 step 1).
    reference_octets: Vec<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Insertion {
    /// Where content is inserted (before the element's end tag, or at the `/>`).
    at: usize,
    /// The element was `<r .../>`: `/>` (2 bytes at `at`) becomes `>` + content + `</r>`.
    empty_root: Option<String>,
}

impl Insertion {
    /// `doc` with `content` inserted as the last children of the element.
    pub(crate) fn splice(&self, doc: &str, content: &str) -> String {
        let mut out = String::with_capacity(doc.len() + content.len() + 16);
        out.push_str(&doc[..self.at]);
        match &self.empty_root {
            Some(name) => {
                out.push('>');
                out.push_str(content);
                out.push_str(&format!("</{name}>"));
                out.push_str(&doc[self.at + 2..]);
            }
            None => {
                out.push_str(content);
                out.push_str(&doc[self.at..]);
            }
        }
        out
    }
}

/// The SignatureMethod URI (RFC 6931 §2.2/§2.3). RSA-PSS URIs carry no parameters: the salt is
/// the digest length (RFC 6931 §2.3.10 default), so a maximum-length salt cannot be expressed.
fn signature_method(m: SignMechanism) -> Result<&'static str, AdesError> {
    signet_core::xmldsig::signature_uri(m).ok_or_else(|| {
        AdesError::InvalidRequest(
            "XAdES cannot express RSASSA-PSS with a maximum-length salt (the XMLDSig MGF1 signature methods of RFC 6931 use the digest length): use RSASSA-PSS with the default salt or RSA PKCS#1 v1.5".into(),
        )
    })
}

/// Text content escaped for XML, refusing characters XML 1.0 cannot carry.
fn text(value: &str) -> Result<String, AdesError> {
    if let Some(c) = value.chars().find(|c| {
        (*c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{fffe}' | '\u{ffff}')
    }) {
        return Err(AdesError::InvalidRequest(format!(
            "signed_props: the character U+{:04X} cannot be written in XML",
            u32::from(c)
        )));
    }
    let mut out = Vec::with_capacity(value.len());
    c14n::escape_text(value, &mut out);
    String::from_utf8(out).map_err(|_| AdesError::Internal("escaped text is not UTF-8".into()))
}

pub(crate) fn element(name: &str, content: &str) -> String {
    format!("<{name}>{content}</{name}>")
}

/// `<ds:DigestMethod/><ds:DigestValue/>` (DigestAlgAndValueType).
fn digest_alg_and_value(h: HashAlgorithm, value: &[u8]) -> String {
    format!(
        "<ds:DigestMethod Algorithm=\"{}\"></ds:DigestMethod><ds:DigestValue>{}</ds:DigestValue>",
        signet_core::xmldsig::digest_uri(h),
        b64::encode(value)
    )
}

/// Exclusive C14N of a fragment Signet wrote, as it canonicalizes inside the signature.
fn canonical(fragment: &str) -> Result<Vec<u8>, AdesError> {
    let wrapped = format!("<w xmlns:ds=\"{DS}\" xmlns:xades=\"{XADES}\">{fragment}</w>");
    let doc = c14n::parse_own(&wrapped)?;
    let apex = doc
        .root_element()
        .first_element_child()
        .ok_or_else(|| AdesError::Internal("empty signature fragment".into()))?;
    let mut out = Vec::with_capacity(fragment.len());
    c14n::element_subtree(apex, &mut out);
    Ok(out)
}

pub(crate) fn random_id() -> Result<String, AdesError> {
    let mut bytes = [0u8; 12];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| AdesError::Internal("no randomness for the signature Id".into()))?;
    Ok(format!(
        "id-{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

/// `xsd:dateTime` in UTC (EN 319 132-1 §5.2.1 SigningTime).
fn date_time(unix: i64) -> Result<String, AdesError> {
    let t = time::OffsetDateTime::from_unix_timestamp(unix)
        .map_err(|_| AdesError::InvalidRequest("signing time out of range".into()))?;
    t.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
    ))
    .map_err(|e| AdesError::Internal(format!("signing time: {e}")))
}

/// One data object Reference: its `ds:Reference` element (without Id) and the octets its
/// digest is computed over (kept only for B-LTA).
struct DataReference {
    uri: String,
    transforms: &'static [&'static str],
    digest: Vec<u8>,
    digest_alg: HashAlgorithm,
    octets: Option<Vec<u8>>,
    mime_type: &'static str,
}

fn reference(
    id: Option<&str>,
    kind: Option<&str>,
    uri: &str,
    transforms: &[&str],
    h: HashAlgorithm,
    value: &[u8],
) -> String {
    let mut r = String::from("<ds:Reference");
    if let Some(id) = id {
        r.push_str(&format!(" Id=\"{id}\""));
    }
    if let Some(kind) = kind {
        r.push_str(&format!(" Type=\"{kind}\""));
    }
    r.push_str(&format!(" URI=\"{uri}\">"));
    if !transforms.is_empty() {
        r.push_str("<ds:Transforms>");
        for t in transforms {
            r.push_str(&format!("<ds:Transform Algorithm=\"{t}\"></ds:Transform>"));
        }
        r.push_str("</ds:Transforms>");
    }
    r.push_str(&digest_alg_and_value(h, value));
    r.push_str("</ds:Reference>");
    r
}

/// Where content goes to become the last children of `element`.
pub(crate) fn find_insertion(element: roxmltree::Node<'_, '_>) -> Result<Insertion, AdesError> {
    let range = element.range();
    let source = element.document().input_text();
    let element = source
        .get(range.clone())
        .ok_or_else(|| AdesError::Internal("element range".into()))?;
    if element.ends_with("/>") {
        let name_end = element[1..]
            .find(|c: char| c.is_ascii_whitespace() || c == '/' || c == '>')
            .map_or(element.len(), |i| i + 1);
        return Ok(Insertion {
            at: range.end - 2,
            empty_root: Some(element[1..name_end].to_owned()),
        });
    }
    let at = element
        .rfind("</")
        .ok_or_else(|| AdesError::Internal("element has no end tag".into()))?;
    Ok(Insertion {
        at: range.start + at,
        empty_root: None,
    })
}

pub fn prepare(req: DocumentRequest) -> Result<Prepared, AdesError> {
    let cert = CertView::parse(&req.signer.certificate)?;
    let mechanism = req.signer.mechanism;
    let method = signature_method(mechanism)?;
    let hash = mechanism.hash();
    let lta = req.level >= Level::BLta;
    let q = &req.props.qualifying;
    let sid = random_id()?;
    let mut enveloped = None;
    let mut data_object = None;
    let (data, document_digest) = match (req.envelope, &req.content) {
        (Envelope::Enveloped, Content::Document(doc)) => {
            let parsed = c14n::parse_untrusted(doc, req.limits.max_xml_depth)?;
            let insertion = find_insertion(parsed.root_element())?;
            // URI="" with the enveloped-signature transform: the document without the
            // signature, which is the document as sent.
            let octets = c14n::document(&parsed);
            let text = parsed.input_text().to_owned();
            drop(parsed);
            enveloped = Some((text, insertion));
            let data = DataReference {
                uri: String::new(),
                transforms: &[ENVELOPED, EXC_C14N],
                digest: hash.digest(&octets),
                digest_alg: hash,
                octets: lta.then_some(octets),
                mime_type: "text/xml",
            };
            (data, req.document_hash.digest(doc))
        }
        (Envelope::Enveloping, Content::Document(doc)) => {
            let (d, dd) = two_digests(doc, hash, req.document_hash);
            let object_id = format!("{sid}-object");
            data_object = Some(format!(
                "<ds:Object Id=\"{object_id}\">{}</ds:Object>",
                b64::encode(doc)
            ));
            let data = DataReference {
                uri: format!("#{object_id}"),
                transforms: &[BASE64],
                digest: d,
                digest_alg: hash,
                octets: lta.then(|| doc.clone()),
                mime_type: "application/octet-stream",
            };
            (data, dd)
        }
        (Envelope::Detached, Content::Document(doc)) => {
            let (d, dd) = two_digests(doc, hash, req.document_hash);
            let data = DataReference {
                uri: detached_uri(&req),
                transforms: &[],
                digest: d,
                digest_alg: hash,
                octets: lta.then(|| doc.clone()),
                mime_type: "application/octet-stream",
            };
            (data, dd)
        }
        (Envelope::Detached, Content::Digest(digest)) => {
            if lta {
                return Err(AdesError::InvalidRequest(
                    "XAdES Ades-B-LTA needs the document: the archive time-stamp covers the signed data itself (EN 319 132-1 §5.5.2), which documentDigests do not carry; send documents, or sign at Ades-B-LT".into(),
                ));
            }
            let data = DataReference {
                uri: detached_uri(&req),
                transforms: &[],
                digest: digest.clone(),
                digest_alg: req.document_hash,
                octets: None,
                mime_type: "application/octet-stream",
            };
            (data, digest.clone())
        }
        (envelope, _) => {
            return Err(AdesError::InvalidRequest(format!(
                "signed_envelope_property {} cannot be used with a document digest: it needs the document itself",
                envelope.name()
            )));
        }
    };
    let ref_id = format!("{sid}-ref-0");
    let key_info_id = format!("{sid}-keyinfo");
    let props_id = format!("{sid}-signedprops");

    let mut key_info = format!("<ds:KeyInfo Id=\"{key_info_id}\"><ds:X509Data>");
    for c in std::iter::once(&req.signer.certificate).chain(&req.signer.chain) {
        key_info.push_str(&element("ds:X509Certificate", &b64::encode(c)));
    }
    key_info.push_str("</ds:X509Data></ds:KeyInfo>");

    let signed_properties = signed_properties(
        &props_id,
        &ref_id,
        req.signing_time,
        &cert,
        hash,
        q,
        data.mime_type,
    )?;
    let key_info_c14n = canonical(&key_info)?;
    let props_c14n = canonical(&signed_properties)?;

    let signed_info = format!(
        "<ds:SignedInfo><ds:CanonicalizationMethod Algorithm=\"{EXC_C14N}\"></ds:CanonicalizationMethod><ds:SignatureMethod Algorithm=\"{method}\"></ds:SignatureMethod>{}{}{}</ds:SignedInfo>",
        reference(
            Some(&ref_id),
            None,
            &data.uri,
            data.transforms,
            data.digest_alg,
            &data.digest
        ),
        reference(
            None,
            None,
            &format!("#{key_info_id}"),
            &[EXC_C14N],
            hash,
            &hash.digest(&key_info_c14n)
        ),
        reference(
            None,
            Some(SIGNED_PROPERTIES_TYPE),
            &format!("#{props_id}"),
            &[EXC_C14N],
            hash,
            &hash.digest(&props_c14n)
        ),
    );
    let signed_info_c14n = canonical(&signed_info)?;
    let dtbsr = hash.digest(&signed_info_c14n);
    let reference_octets = match data.octets {
        Some(o) if lta => vec![o, key_info_c14n, props_c14n],
        _ => Vec::new(),
    };
    Ok(Prepared {
        document_digest,
        dtbsr,
        state: State::Xades(Box::new(PreparedXades {
            certificate: req.signer.certificate,
            key_type: req.signer.key_type,
            mechanism,
            level: req.level,
            envelope: req.envelope,
            collect: req.collect_validation_info,
            sid,
            signed_info,
            signed_info_c14n,
            key_info,
            signed_properties,
            data_object,
            enveloped,
            reference_octets,
        })),
    })
}

/// `xades:SignedProperties` (EN 319 132-1 §5.2, in the order of the XAdES schema).
fn signed_properties(
    id: &str,
    data_ref_id: &str,
    signing_time: i64,
    cert: &CertView<'_>,
    hash: HashAlgorithm,
    q: &QualifyingProps,
    default_mime: &str,
) -> Result<String, AdesError> {
    let mut ssp = element("xades:SigningTime", &date_time(signing_time)?);
    ssp.push_str(&element(
        "xades:SigningCertificateV2",
        &element(
            "xades:Cert",
            &format!(
                "{}{}",
                element(
                    "xades:CertDigest",
                    &digest_alg_and_value(hash, &hash.digest(cert.der))
                ),
                element("xades:IssuerSerialV2", &b64::encode(&cert.issuer_serial()))
            ),
        ),
    ));
    match &q.policy {
        None => {}
        Some(Policy::Implied) => ssp.push_str(&element(
            "xades:SignaturePolicyIdentifier",
            &element("xades:SignaturePolicyImplied", ""),
        )),
        Some(Policy::Explicit {
            oid,
            hash: policy_hash,
            digest,
            uri,
        }) => {
            let mut id = element(
                "xades:SigPolicyId",
                &format!(
                    "<xades:Identifier Qualifier=\"OIDAsURN\">urn:oid:{}</xades:Identifier>",
                    text(oid)?
                ),
            );
            id.push_str(&element(
                "xades:SigPolicyHash",
                &digest_alg_and_value(*policy_hash, digest),
            ));
            if let Some(uri) = uri {
                id.push_str(&element(
                    "xades:SigPolicyQualifiers",
                    &element(
                        "xades:SigPolicyQualifier",
                        &element("xades:SPURI", &text(uri)?),
                    ),
                ));
            }
            ssp.push_str(&element(
                "xades:SignaturePolicyIdentifier",
                &element("xades:SignaturePolicyId", &id),
            ));
        }
    }
    if let Some(place) = &q.production_place {
        let mut p = String::new();
        for (name, value) in [
            ("xades:City", &place.city),
            ("xades:StreetAddress", &place.street_address),
            ("xades:StateOrProvince", &place.state_or_province),
            ("xades:PostalCode", &place.postal_code),
            ("xades:CountryName", &place.country_name),
        ] {
            if let Some(v) = value {
                p.push_str(&element(name, &text(v)?));
            }
        }
        ssp.push_str(&element("xades:SignatureProductionPlaceV2", &p));
    }
    if !q.claimed_roles.is_empty() {
        let mut roles = String::new();
        for r in &q.claimed_roles {
            roles.push_str(&element("xades:ClaimedRole", &text(r)?));
        }
        ssp.push_str(&element(
            "xades:SignerRoleV2",
            &element("xades:ClaimedRoles", &roles),
        ));
    }
    let mime = match &q.mime_type {
        Some(m) => text(m)?,
        None => default_mime.to_owned(),
    };
    // EN 319 132-1 §6.3: DataObjectFormat with MimeType for every signed data object.
    let mut sdop = format!(
        "<xades:DataObjectFormat ObjectReference=\"#{data_ref_id}\">{}</xades:DataObjectFormat>",
        element("xades:MimeType", &mime)
    );
    for oid in &q.commitment_types {
        sdop.push_str(&element(
            "xades:CommitmentTypeIndication",
            &format!(
                "{}{}",
                element(
                    "xades:CommitmentTypeId",
                    &format!(
                        "<xades:Identifier Qualifier=\"OIDAsURN\">urn:oid:{}</xades:Identifier>",
                        text(oid)?
                    )
                ),
                element("xades:AllSignedDataObjects", "")
            ),
        ));
    }
    Ok(format!(
        "<xades:SignedProperties Id=\"{id}\">{}{}</xades:SignedProperties>",
        element("xades:SignedSignatureProperties", &ssp),
        element("xades:SignedDataObjectProperties", &sdop)
    ))
}

/// `xades:CertificateValues` and `xades:RevocationValues` for `data`, leaving out the
/// certificates in `skip` (already in KeyInfo or embedded earlier); empty parts are left out.
pub(crate) fn validation_values(data: &Revocation, skip: &[Vec<u8>]) -> String {
    let mut out = String::new();
    let certs: Vec<&Vec<u8>> = data
        .certificates
        .iter()
        .filter(|c| !skip.contains(c))
        .collect();
    if !certs.is_empty() {
        let mut v = String::new();
        for c in certs {
            v.push_str(&element(
                "xades:EncapsulatedX509Certificate",
                &b64::encode(c),
            ));
        }
        out.push_str(&element("xades:CertificateValues", &v));
    }
    if !data.crls.is_empty() || !data.ocsp.is_empty() {
        let mut v = String::new();
        if !data.crls.is_empty() {
            let mut crls = String::new();
            for c in &data.crls {
                crls.push_str(&element("xades:EncapsulatedCRLValue", &b64::encode(c)));
            }
            v.push_str(&element("xades:CRLValues", &crls));
        }
        if !data.ocsp.is_empty() {
            let mut ocsp = String::new();
            for o in &data.ocsp {
                ocsp.push_str(&element("xades:EncapsulatedOCSPValue", &b64::encode(o)));
            }
            v.push_str(&element("xades:OCSPValues", &ocsp));
        }
        out.push_str(&element("xades:RevocationValues", &v));
    }
    out
}

/// [`validation_values`] as separate elements, so that the archive time-stamp can
/// canonicalize each.
pub(crate) fn validation_elements(data: &Revocation, skip: &[Vec<u8>]) -> Vec<String> {
    let values = validation_values(data, skip);
    let mut out = Vec::new();
    for name in ["xades:CertificateValues", "xades:RevocationValues"] {
        let open = format!("<{name}>");
        let close = format!("</{name}>");
        if let (Some(s), Some(e)) = (values.find(&open), values.find(&close)) {
            out.push(values[s..e + close.len()].to_owned());
        }
    }
    out
}

/// `xades141:TimeStampValidationData` (EN 319 132-1 §5.5.1): validation data for a
/// time-stamp, added after it.
pub(crate) fn time_stamp_validation_data(data: &Revocation) -> String {
    format!(
        "<xades141:TimeStampValidationData xmlns:xades141=\"{XADES141}\">{}</xades141:TimeStampValidationData>",
        validation_values(data, &[])
    )
}

pub(crate) fn time_stamp_element(name: &str, id: &str, token: &[u8]) -> String {
    let (open, close) = if name.starts_with("xades141:") {
        (
            format!("<{name} xmlns:xades141=\"{XADES141}\" Id=\"{id}\">"),
            format!("</{name}>"),
        )
    } else {
        (format!("<{name} Id=\"{id}\">"), format!("</{name}>"))
    };
    format!(
        "{open}<ds:CanonicalizationMethod Algorithm=\"{EXC_C14N}\"></ds:CanonicalizationMethod>{}{close}",
        element("xades:EncapsulatedTimeStamp", &b64::encode(token))
    )
}

pub fn finish(
    p: PreparedXades,
    signature: &[u8],
    tsa: Option<&dyn TimeStamper>,
    validation: Option<&dyn ValidationData>,
) -> Result<Finished, AdesError> {
    let cert = CertView::parse(&p.certificate)?;
    cert.verify(p.key_type, p.mechanism, &p.signed_info_c14n, signature)?;
    let value = ecdsa::fixed_width(p.key_type, signature)?;
    let hash = p.mechanism.hash();
    let sid = &p.sid;
    let signature_value = format!(
        "<ds:SignatureValue Id=\"{sid}-sigvalue\">{}</ds:SignatureValue>",
        b64::encode(&value)
    );
    let signature_value_c14n = canonical(&signature_value)?;

    // Unsigned signature properties, in order.
    let mut unsigned: Vec<String> = Vec::new();
    let mut tokens = Vec::new();
    if p.level >= Level::BT {
        let tsa = need_tsa(tsa)?;
        let token = timestamp::timestamp(tsa, hash, &hash.digest(&signature_value_c14n))?;
        unsigned.push(time_stamp_element(
            "xades:SignatureTimeStamp",
            &format!("{sid}-sigtst"),
            &token,
        ));
        tokens.push(token);
    }
    let mut info = Revocation::default();
    if p.level >= Level::BLt || p.collect {
        info = timestamp::collect_validation_data(validation, &p.certificate, &tokens)?;
    }
    let key_info_text = format!("<w xmlns:ds=\"{DS}\">{}</w>", p.key_info);
    let key_info_doc = c14n::parse_own(&key_info_text)?;
    let key_info_certs: Vec<Vec<u8>> = key_info_doc
        .descendants()
        .filter(|n| n.has_tag_name((DS, "X509Certificate")))
        .filter_map(|n| n.text().and_then(b64::decode))
        .collect();
    drop(key_info_doc);
    if p.level >= Level::BLt {
        unsigned.extend(validation_elements(&info, &key_info_certs));
    }
    if p.level >= Level::BLta {
        let tsa = need_tsa(tsa)?;
        let before = assemble(&p, &signature_value, &unsigned);
        let doc = c14n::parse_own(&before)?;
        let imprint = archive_imprint(doc.root_element(), &p.reference_octets, hash)?;
        drop(doc);
        let token = timestamp::timestamp(tsa, hash, &imprint)?;
        unsigned.push(time_stamp_element(
            "xades141:ArchiveTimeStamp",
            &format!("{sid}-ats"),
            &token,
        ));
        let mut have = info.clone();
        have.merge(Revocation {
            certificates: key_info_certs.clone(),
            ..Default::default()
        });
        let extra = timestamp::token_validation_data(validation, &token, &have)?;
        if !extra.is_empty() {
            unsigned.push(time_stamp_validation_data(&extra));
            info.merge(extra);
        }
    }
    let sig = assemble(&p, &signature_value, &unsigned);
    let output = match (p.envelope, p.enveloped) {
        (Envelope::Enveloped, Some((doc, ins))) => {
            Output::DocumentWithSignature(ins.splice(&doc, &sig).into_bytes())
        }
        _ => Output::SignatureObject(
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{sig}").into_bytes(),
        ),
    };
    Ok(Finished {
        output,
        validation_info: info,
    })
}

/// The `ds:Signature` element with the unsigned signature properties `unsigned`.
fn assemble(p: &PreparedXades, signature_value: &str, unsigned: &[String]) -> String {
    let sid = &p.sid;
    let mut sig = format!(
        "<ds:Signature xmlns:ds=\"{DS}\" Id=\"{sid}\">{}{signature_value}{}<ds:Object><xades:QualifyingProperties xmlns:xades=\"{XADES}\" Target=\"#{sid}\">{}",
        p.signed_info, p.key_info, p.signed_properties
    );
    if !unsigned.is_empty() {
        sig.push_str(&element(
            "xades:UnsignedProperties",
            &element("xades:UnsignedSignatureProperties", &unsigned.concat()),
        ));
    }
    sig.push_str("</xades:QualifyingProperties></ds:Object>");
    if let Some(o) = &p.data_object {
        sig.push_str(o);
    }
    sig.push_str("</ds:Signature>");
    sig
}

/// The imprint of a new `xades141:ArchiveTimeStamp` with exclusive C14N (EN 319 132-1
/// §5.5.2.2): the digest of the references' octets after their transforms
/// (`reference_octets`, in `ds:SignedInfo` order), then of `ds:SignedInfo`,
/// `ds:SignatureValue`, `ds:KeyInfo`, the unsigned signature properties present and every
/// `ds:Object` but the one holding `xades:QualifyingProperties`, each canonicalized. Signing
/// ([`finish`]) and augmentation (`extend`) both time-stamp this.
pub(crate) fn archive_imprint(
    signature: roxmltree::Node<'_, '_>,
    reference_octets: &[Vec<u8>],
    hash: HashAlgorithm,
) -> Result<Vec<u8>, AdesError> {
    let need = |name: &str| {
        child(signature, DS, name)
            .ok_or_else(|| AdesError::InvalidDocument(format!("the ds:Signature has no ds:{name}")))
    };
    let canonical = |n: roxmltree::Node<'_, '_>| {
        let mut out = Vec::new();
        c14n::element_subtree(n, &mut out);
        out
    };
    let mut ctx = digest::Context::new(hash.aws_lc());
    for octets in reference_octets {
        ctx.update(octets);
    }
    ctx.update(&canonical(need("SignedInfo")?));
    ctx.update(&canonical(need("SignatureValue")?));
    if let Some(k) = child(signature, DS, "KeyInfo") {
        ctx.update(&canonical(k));
    }
    let properties = children(signature, DS, "Object")
        .find_map(|o| child(o, XADES, "QualifyingProperties"))
        .and_then(|q| child(q, XADES, "UnsignedProperties"))
        .and_then(|u| child(u, XADES, "UnsignedSignatureProperties"));
    for p in properties
        .into_iter()
        .flat_map(|p| p.children().filter(|c| c.is_element()))
    {
        ctx.update(&canonical(p));
    }
    for object in children(signature, DS, "Object") {
        if child(object, XADES, "QualifyingProperties").is_none() {
            ctx.update(&canonical(object));
        }
    }
    Ok(ctx.finish().as_ref().to_vec())
}

/// The first child element of `n` named `name` in `ns`.
pub(crate) fn child<'a, 'input>(
    n: roxmltree::Node<'a, 'input>,
    ns: &str,
    name: &str,
) -> Option<roxmltree::Node<'a, 'input>> {
    n.children().find(|c| c.has_tag_name((ns, name)))
}

/// The child elements of `n` named `name` in `ns`.
pub(crate) fn children<'a, 'input>(
    n: roxmltree::Node<'a, 'input>,
    ns: &'static str,
    name: &'static str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'input>> {
    n.children().filter(move |c| c.has_tag_name((ns, name)))
}

#[cfg(test)]
pub(crate) mod tests;

/// The detached document's reference: its name when the request gives one.
fn detached_uri(req: &DocumentRequest) -> String {
    req.detached_name
        .as_deref()
        .map(crate::uri_reference)
        .unwrap_or_else(|| DETACHED_URI.into())
}
