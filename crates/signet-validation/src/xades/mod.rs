//! The XAdES reader (EN 319 132-1): every `ds:Signature` of an XML document — enveloped,
//! enveloping or detached — checked as far as the format allows: the XMLDSig core (references
//! and signature value), the signed `SigningCertificate(V2)` and `SigningTime`, the embedded
//! validation data, and what each time-stamp covers.
//!
//! A `ds:Signature` inside another one (a counter-signature) is not reported separately.

#[cfg(test)]
pub(crate) mod tests;
pub(crate) mod xmldsig;

use roxmltree::Node;
use signet_ades::asn1;
use signet_ades::cert::CertView;
use time::OffsetDateTime;

use self::xmldsig::{DS, ReferenceCheck, Signature, base64, child, children, text_of};
use crate::{
    Check, DetachedContent, Format, Limits, SignatureEvidence, SignedDataObject, TimestampEvidence,
    TimestampKind, ValidationError,
};
use signet_ades::xml::{self as c14n, C14n, NodeSet};

const XADES: &str = "http://uri.etsi.org/01903/v1.3.2#";
const XADES141: &str = "http://uri.etsi.org/01903/v1.4.1#";
const SIGNED_PROPERTIES_TYPE: &str = "http://uri.etsi.org/01903#SignedProperties";
/// Most signatures read from one document: each costs passes over the whole document.
const MAX_SIGNATURES: usize = 100;
/// Most time-stamp tokens read from one signature.
const MAX_TIMESTAMPS: usize = 100;
/// Most certificates, CRLs or OCSP responses read from one signature.
const MAX_VALUES: usize = 10_000;

/// Finds every XAdES signature in `input` and checks what the format alone can check.
/// `NotASignature` when the input holds none; a document that is not readable XML gives one
/// evidence with `format_error` set (FORMAT_FAILURE), as does a signature that cannot be read.
pub fn read(
    input: &[u8],
    detached: &[DetachedContent],
    limits: &Limits,
) -> Result<Vec<SignatureEvidence>, ValidationError> {
    read_with(input, detached, limits, &stamp_evidence)
}

/// [`read`], with the evidence of each time-stamp built by `stamp`.
fn read_with(
    input: &[u8],
    detached: &[DetachedContent],
    limits: &Limits,
    stamp: &StampFn<'_>,
) -> Result<Vec<SignatureEvidence>, ValidationError> {
    if input.len() > limits.max_document_bytes {
        return Err(ValidationError::TooLarge(format!(
            "the XML document of {} bytes exceeds the limit of {} bytes",
            input.len(),
            limits.max_document_bytes
        )));
    }
    let doc = match signet_ades::xml::parse_untrusted(input, limits.max_xml_depth) {
        Ok(doc) => doc,
        Err(e) => {
            let mut ev = SignatureEvidence::new(SignatureEvidence::id_for(input), Format::Xades);
            ev.format_error = Some(e.to_string());
            return Ok(vec![ev]);
        }
    };
    let signatures: Vec<Node<'_, '_>> = doc
        .descendants()
        .filter(|n| n.has_tag_name((DS, "Signature")))
        .filter(|n| {
            !n.ancestors()
                .skip(1)
                .any(|a| a.has_tag_name((DS, "Signature")))
        })
        .collect();
    if signatures.is_empty() {
        return Err(ValidationError::NotASignature(
            "the XML document has no ds:Signature".into(),
        ));
    }
    if signatures.len() > MAX_SIGNATURES {
        return Err(ValidationError::TooLarge(format!(
            "the XML document has more than {MAX_SIGNATURES} signatures"
        )));
    }
    let ids = xmldsig::Ids::new(&doc);
    let cx = xmldsig::Context::new(&doc, &ids, detached, limits);
    Ok(signatures
        .into_iter()
        .map(|s| read_one(&cx, s, stamp))
        .collect())
}

/// Builds the evidence of one time-stamp token of `kind` over `covered` (the octets it must
/// cover, or why they cannot be computed).
type StampFn<'f> = dyn Fn(TimestampKind, Vec<u8>, Result<&[u8], String>) -> TimestampEvidence + 'f;

fn stamp_evidence(
    kind: TimestampKind,
    token: Vec<u8>,
    covered: Result<&[u8], String>,
) -> TimestampEvidence {
    match covered {
        Ok(input) => crate::timestamp::evidence(kind, token, &|h| h.digest(input)),
        Err(e) => {
            let mut t = crate::timestamp::evidence(kind, token, &|_| Vec::new());
            t.intact = Check::Failed(e);
            t
        }
    }
}

/// The parts of `xades:QualifyingProperties` the reader uses.
struct Qualifying<'a, 'i> {
    element: Node<'a, 'i>,
    signed: Option<Node<'a, 'i>>,
    /// `SignedSignatureProperties`.
    signature_props: Option<Node<'a, 'i>>,
    /// `SignedDataObjectProperties`.
    data_props: Option<Node<'a, 'i>>,
    /// `UnsignedSignatureProperties`.
    unsigned: Option<Node<'a, 'i>>,
}

fn qualifying<'a, 'i>(sig: &Signature<'a, 'i>) -> Option<Qualifying<'a, 'i>> {
    let element = children(sig.element, DS, "Object")
        .find_map(|o| child(o, XADES, "QualifyingProperties"))?;
    let signed = child(element, XADES, "SignedProperties");
    Some(Qualifying {
        element,
        signed,
        signature_props: signed.and_then(|s| child(s, XADES, "SignedSignatureProperties")),
        data_props: signed.and_then(|s| child(s, XADES, "SignedDataObjectProperties")),
        unsigned: child(element, XADES, "UnsignedProperties")
            .and_then(|u| child(u, XADES, "UnsignedSignatureProperties")),
    })
}

fn read_one(
    cx: &xmldsig::Context<'_, '_, '_>,
    element: Node<'_, '_>,
    stamp: &StampFn<'_>,
) -> SignatureEvidence {
    let sig = match xmldsig::parse(element) {
        Ok(sig) => sig,
        Err(e) => {
            let raw = cx.doc.input_text().get(element.range()).unwrap_or_default();
            let mut ev =
                SignatureEvidence::new(SignatureEvidence::id_for(raw.as_bytes()), Format::Xades);
            ev.format_error = Some(e);
            return ev;
        }
    };
    let mut ev = SignatureEvidence::new(SignatureEvidence::id_for(&sig.value), Format::Xades);
    ev.signature_algorithm = Some(sig.method.clone());
    let q = qualifying(&sig);
    let signed_props = q.as_ref().and_then(|q| q.signed);
    if let Some(q) = &q {
        let own = sig.element.attribute("Id").map(|id| format!("#{id}"));
        if q.element.attribute("Target").is_none()
            || q.element.attribute("Target") != own.as_deref()
        {
            ev.constraint_failures
                .push("xades:QualifyingProperties/@Target does not name this signature".into());
        }
    }

    // The references: the data objects, and the SignedProperties, which must be signed.
    let checks: Vec<ReferenceCheck<'_, '_>> = sig
        .references
        .iter()
        .map(|r| xmldsig::check_reference(&sig, r, cx))
        .collect();
    let mut signed_properties_signed = false;
    for (r, check) in sig.references.iter().zip(&checks) {
        let is_props = signed_props.is_some_and(|p| check.target == Some(p.id()));
        if is_props {
            signed_properties_signed = true;
            if check.intact.passed() {
                continue;
            }
        } else if r.kind.as_deref() == Some(SIGNED_PROPERTIES_TYPE) {
            ev.constraint_failures.push(format!(
                "the SignedProperties reference {} does not point to this signature's xades:SignedProperties",
                r.name()
            ));
        }
        if ev.digest_algorithm.is_none() && !is_props {
            ev.digest_algorithm = r.digest_algorithm();
        }
        ev.signed_data.push(SignedDataObject {
            name: if is_props {
                format!("{} (SignedProperties)", r.name())
            } else {
                r.name()
            },
            found: check.found.clone(),
            intact: check.intact.clone(),
        });
    }
    if !signed_properties_signed {
        ev.constraint_failures
            .push("no SignedProperties reference".into());
    }

    // Certificates, revocation data.
    let unsigned = q.as_ref().and_then(|q| q.unsigned);
    for c in &sig.key_certificates {
        let _ = push_unique(&mut ev.certificates, c.clone());
    }
    let mut has_certificate_values = false;
    let mut has_revocation_values = false;
    if let Some(u) = unsigned {
        has_certificate_values = child(u, XADES, "CertificateValues").is_some();
        has_revocation_values = child(u, XADES, "RevocationValues").is_some();
        let containers = std::iter::once(u).chain(children(u, XADES141, "TimeStampValidationData"));
        for container in containers {
            read_values(container, &mut ev);
        }
    }
    ev.has_validation_data =
        has_revocation_values && (has_certificate_values || sig.key_certificates.len() > 1);

    // The signed signature properties.
    let props = q.as_ref().and_then(|q| q.signature_props);
    match props.and_then(|p| child(p, XADES, "SigningTime")) {
        Some(t) => match date_time(&text_of(t)) {
            Some(t) => ev.claimed_signing_time = Some(t),
            None => ev.constraint_failures.push(format!(
                "SigningTime {:?} is not an xsd:dateTime",
                text_of(t)
            )),
        },
        None => ev
            .constraint_failures
            .push("SigningTime is missing (EN 319 132-1 baseline)".into()),
    }
    let (certificate, reference) =
        signing_certificate(props, &sig.key_certificates, &ev.certificates);
    if let Check::NotChecked(why) = &reference {
        ev.constraint_failures.push(why.clone());
    }
    ev.signing_certificate_reference = reference;
    ev.signature_value = match &certificate {
        Some(c) => xmldsig::verify_signed_info(&sig, c),
        None => Check::NotChecked(
            "the signature names no certificate (KeyInfo has no X509Certificate)".into(),
        ),
    };
    ev.signing_certificate = certificate;

    // Time-stamps: content time-stamps among the signed properties, then the unsigned ones.
    let mut stamps: Vec<(TimestampKind, Node<'_, '_>)> = Vec::new();
    if let Some(d) = q.as_ref().and_then(|q| q.data_props) {
        for n in d.children().filter(|n| {
            n.has_tag_name((XADES, "AllDataObjectsTimeStamp"))
                || n.has_tag_name((XADES, "IndividualDataObjectsTimeStamp"))
        }) {
            stamps.push((TimestampKind::Content, n));
        }
    }
    if let Some(u) = unsigned {
        for n in u.children() {
            if n.has_tag_name((XADES, "SignatureTimeStamp")) {
                stamps.push((TimestampKind::Signature, n));
            } else if n.has_tag_name((XADES141, "ArchiveTimeStamp"))
                || n.has_tag_name((XADES, "ArchiveTimeStamp"))
            {
                stamps.push((TimestampKind::Archive, n));
            }
        }
    }
    let parts = Parts {
        cx,
        sig: &sig,
        checks: &checks,
        signed_props,
        qualifying: q.as_ref().map(|q| q.element),
    };
    for (kind, n) in stamps {
        if ev.timestamps.len() >= MAX_TIMESTAMPS {
            ev.constraint_failures
                .push(format!("more than {MAX_TIMESTAMPS} time-stamps"));
            break;
        }
        let covered = parts.covered(kind, n);
        for token in children(n, XADES, "EncapsulatedTimeStamp").take(MAX_TIMESTAMPS) {
            let token = base64(&text_of(token)).unwrap_or_default();
            let covered = covered.as_deref().map_err(Clone::clone);
            ev.timestamps.push(stamp(kind, token, covered));
        }
    }
    ev
}

/// Adds `item` unless it is there already or `list` is full (false then).
fn push_unique(list: &mut Vec<Vec<u8>>, item: Vec<u8>) -> bool {
    if list.len() >= MAX_VALUES {
        return false;
    }
    if !list.contains(&item) {
        list.push(item);
    }
    true
}

/// `CertificateValues` and `RevocationValues` directly under `container`.
fn read_values(container: Node<'_, '_>, ev: &mut SignatureEvidence) {
    let mut full = false;
    for values in children(container, XADES, "CertificateValues") {
        for c in children(values, XADES, "EncapsulatedX509Certificate") {
            if let Some(der) = base64(&text_of(c)) {
                full |= !push_unique(&mut ev.certificates, der);
            }
        }
    }
    for values in children(container, XADES, "RevocationValues") {
        for crls in children(values, XADES, "CRLValues") {
            for c in children(crls, XADES, "EncapsulatedCRLValue") {
                if let Some(der) = base64(&text_of(c)) {
                    full |= !push_unique(&mut ev.crls, der);
                }
            }
        }
        for ocsp in children(values, XADES, "OCSPValues") {
            for o in children(ocsp, XADES, "EncapsulatedOCSPValue") {
                if let Some(der) = base64(&text_of(o)) {
                    full |= !push_unique(&mut ev.ocsp_responses, ocsp_response(der));
                }
            }
        }
    }
    if full {
        ev.constraint_failures.push(format!(
            "more than {MAX_VALUES} certificates, CRLs or OCSP responses: the rest were not read"
        ));
    }
}

/// An `OCSPResponse` as found, or a bare `BasicOCSPResponse` wrapped into a successful one
/// (RFC 6960 §4.2.1) so that `process` reads one form.
fn ocsp_response(der: Vec<u8>) -> Vec<u8> {
    let basic = asn1::read_all(&der)
        .and_then(|t| t.children())
        .is_ok_and(|c| c.first().is_some_and(|f| f.tag == asn1::SEQUENCE));
    if !basic {
        return der;
    }
    let Ok(oid) = asn1::oid("1.3.6.1.5.5.7.48.1.1") else {
        return der;
    };
    let bytes = asn1::seq(&[&oid, &asn1::octet_string(&der)]);
    asn1::seq(&[&asn1::tlv(0x0a, &[0]), &asn1::cons(asn1::ctx(0), &[&bytes])])
}

/// `xsd:dateTime`; a time without a zone is taken as UTC.
fn date_time(text: &str) -> Option<OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    OffsetDateTime::parse(text, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(&format!("{text}Z"), &Rfc3339))
        .ok()
}

/// One `xades:Cert` of `SigningCertificate(V2)`.
struct CertRef {
    digest_method: String,
    digest: Option<Vec<u8>>,
    /// `IssuerSerialV2`: DER `IssuerSerial`.
    issuer_serial: Option<Vec<u8>>,
    /// `IssuerSerial/X509SerialNumber`: decimal.
    serial: Option<String>,
}

fn cert_refs(signing_certificate: Node<'_, '_>) -> Vec<CertRef> {
    children(signing_certificate, XADES, "Cert")
        .take(100)
        .map(|cert| {
            let digest = child(cert, XADES, "CertDigest");
            CertRef {
                digest_method: digest
                    .and_then(|d| child(d, DS, "DigestMethod"))
                    .and_then(|m| m.attribute("Algorithm"))
                    .unwrap_or_default()
                    .to_owned(),
                digest: digest
                    .and_then(|d| child(d, DS, "DigestValue"))
                    .and_then(|v| base64(&text_of(v))),
                issuer_serial: child(cert, XADES, "IssuerSerialV2")
                    .and_then(|v| base64(&text_of(v))),
                serial: child(cert, XADES, "IssuerSerial")
                    .and_then(|s| child(s, DS, "X509SerialNumber"))
                    .map(text_of),
            }
        })
        .collect()
}

/// The signing certificate and the check of its signed reference: the certificate among
/// `candidates` whose digest the first `xades:Cert` of `SigningCertificateV2` (or
/// `SigningCertificate`) names, else the first `KeyInfo` certificate. `NotChecked` when the
/// signature has no such property (a baseline constraint).
fn signing_certificate(
    props: Option<Node<'_, '_>>,
    key_certificates: &[Vec<u8>],
    candidates: &[Vec<u8>],
) -> (Option<Vec<u8>>, Check) {
    let fallback = key_certificates.first().cloned();
    let Some(property) = props.and_then(|p| {
        child(p, XADES, "SigningCertificateV2").or_else(|| child(p, XADES, "SigningCertificate"))
    }) else {
        return (
            fallback,
            Check::NotChecked("SigningCertificateV2 is missing (EN 319 132-1 baseline)".into()),
        );
    };
    let refs = cert_refs(property);
    let Some(first) = refs.first() else {
        return (
            fallback,
            Check::Failed("SigningCertificateV2 has no xades:Cert".into()),
        );
    };
    let Some(h) = signet_core::xmldsig::digest_from_uri(&first.digest_method) else {
        return (
            fallback,
            Check::Failed(format!(
                "SigningCertificateV2 uses the unsupported digest {} (SHA-1 is not accepted)",
                first.digest_method
            )),
        );
    };
    let found = key_certificates
        .iter()
        .chain(candidates)
        .find(|c| Some(h.digest(c)) == first.digest);
    match found {
        Some(c) => (Some(c.clone()), issuer_serial_check(first, c)),
        None => (
            fallback,
            Check::Failed(
                "no certificate of the signature has the digest its SigningCertificateV2 names"
                    .into(),
            ),
        ),
    }
}

fn issuer_serial_check(r: &CertRef, certificate: &[u8]) -> Check {
    let Ok(cert) = CertView::parse(certificate) else {
        return Check::Failed("the signing certificate is not an X.509 certificate".into());
    };
    if let Some(der) = &r.issuer_serial {
        return Check::from_bool(issuer_serial_matches(der, &cert), || {
            "IssuerSerialV2 does not name the signing certificate".into()
        });
    }
    if let Some(serial) = &r.serial {
        let ours = asn1::read_all(cert.serial)
            .map(|t| decimal(t.content))
            .unwrap_or_default();
        return Check::from_bool(serial.trim_start_matches('0') == ours, || {
            format!("IssuerSerial names serial number {serial}, the certificate has {ours}")
        });
    }
    Check::Passed
}

/// `IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber INTEGER }` (RFC 5035) against
/// the certificate's issuer name and serial, compared as DER.
fn issuer_serial_matches(der: &[u8], cert: &CertView<'_>) -> bool {
    let parse = || -> Option<bool> {
        let seq = asn1::read_all(der).ok()?;
        let parts = seq.children().ok()?;
        let names = parts.first()?.children().ok()?;
        let directory = names.iter().find(|n| n.tag == asn1::ctx(4))?;
        let serial = parts.get(1)?;
        Some(directory.content == cert.issuer && serial.raw == cert.serial)
    };
    parse().unwrap_or(false)
}

/// A non-negative big-endian integer in decimal, without leading zeros ("" for zero).
fn decimal(bytes: &[u8]) -> String {
    let mut digits: Vec<u8> = Vec::new(); // little-endian base 10
    for &b in bytes.iter().take(128) {
        let mut carry = u32::from(b);
        for d in digits.iter_mut() {
            let v = u32::from(*d) * 256 + carry;
            *d = (v % 10) as u8;
            carry = v / 10;
        }
        while carry > 0 {
            digits.push((carry % 10) as u8);
            carry /= 10;
        }
    }
    digits.iter().rev().map(|d| char::from(b'0' + d)).collect()
}

/// What the time-stamps of one signature can cover.
struct Parts<'s, 'a, 'i> {
    cx: &'s xmldsig::Context<'a, 'i, 's>,
    sig: &'s Signature<'a, 'i>,
    checks: &'s [ReferenceCheck<'a, 'i>],
    signed_props: Option<Node<'a, 'i>>,
    qualifying: Option<Node<'a, 'i>>,
}

impl Parts<'_, '_, '_> {
    /// The octets time-stamp `element` of `kind` covers, canonicalized with its own
    /// `ds:CanonicalizationMethod` (inclusive C14N 1.0 when absent, EN 319 132-1 §4.5).
    fn covered(&self, kind: TimestampKind, element: Node<'_, '_>) -> Result<Vec<u8>, String> {
        let c = match child(element, DS, "CanonicalizationMethod") {
            None => C14n::default_inclusive(),
            Some(m) => C14n::from_element(m).ok_or_else(|| {
                format!(
                    "the time-stamp's CanonicalizationMethod {} is not supported",
                    m.attribute("Algorithm").unwrap_or("(none)")
                )
            })?,
        };
        let canon = |n: Node<'_, '_>| -> Result<Vec<u8>, String> {
            let set = NodeSet {
                comments: true,
                ..NodeSet::subtree(n)
            };
            self.cx.charge(xmldsig::cost(&set))?;
            Ok(c14n::canonicalize(set, &c))
        };
        match kind {
            // EN 319 132-1 §5.3: the ds:SignatureValue element.
            TimestampKind::Signature => canon(self.sig.value_element),
            TimestampKind::Content => self.content(element, &c),
            TimestampKind::Archive => {
                let mut out = Vec::new();
                // §5.5.2.3 steps 2-3: every reference, after its transforms.
                for (r, check) in self.sig.references.iter().zip(self.checks) {
                    let data = check.data.as_ref().ok_or_else(|| {
                        format!(
                            "the archive time-stamp covers {}, which could not be read",
                            r.name()
                        )
                    })?;
                    out.extend(self.octets(data, &c)?);
                }
                // Step 4: SignedInfo, SignatureValue, KeyInfo.
                out.extend(canon(self.sig.signed_info)?);
                out.extend(canon(self.sig.value_element)?);
                if let Some(k) = self.sig.key_info {
                    out.extend(canon(k)?);
                }
                // Step 5: the unsigned signature properties before this time-stamp.
                for p in element
                    .prev_siblings()
                    .skip(1)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                {
                    if p.is_element() {
                        out.extend(canon(p)?);
                    }
                }
                // Step 6: the ds:Object elements other than the QualifyingProperties' one.
                for o in children(self.sig.element, DS, "Object") {
                    let holds_qp = self
                        .qualifying
                        .is_some_and(|q| q.ancestors().any(|a| a.id() == o.id()));
                    if !holds_qp {
                        out.extend(canon(o)?);
                    }
                }
                Ok(out)
            }
        }
    }

    /// EN 319 132-1 §5.2.8/§5.2.9: the data object references (all, or those an
    /// `IndividualDataObjectsTimeStamp` includes), after their transforms.
    fn content(&self, element: Node<'_, '_>, c: &C14n) -> Result<Vec<u8>, String> {
        let individual = element.has_tag_name((XADES, "IndividualDataObjectsTimeStamp"));
        let included: Vec<&str> = children(element, XADES, "Include")
            .filter_map(|i| i.attribute("URI"))
            .filter_map(|u| u.strip_prefix('#'))
            .collect();
        let mut out = Vec::new();
        for (r, check) in self.sig.references.iter().zip(self.checks) {
            let is_props = self
                .signed_props
                .is_some_and(|p| check.target == Some(p.id()))
                || r.kind.as_deref() == Some(SIGNED_PROPERTIES_TYPE);
            let wanted = if individual {
                r.element
                    .attribute("Id")
                    .is_some_and(|id| included.contains(&id))
            } else {
                !is_props
            };
            if wanted {
                let data = check.data.as_ref().ok_or_else(|| {
                    format!(
                        "the content time-stamp covers {}, which could not be read",
                        r.name()
                    )
                })?;
                out.extend(self.octets(data, c)?);
            }
        }
        Ok(out)
    }

    /// A reference's data as octets, its cost taken from the budget.
    fn octets(&self, data: &xmldsig::Data<'_, '_>, c: &C14n) -> Result<Vec<u8>, String> {
        self.cx.charge(match data {
            xmldsig::Data::Nodes(set) => xmldsig::cost(set),
            xmldsig::Data::Octets(o) => o.len(),
        })?;
        Ok(data.octets(c))
    }
}
