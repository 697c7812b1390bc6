//! ETSI TS 119 612 trusted lists: the EU list of lists (LOTL) and the national lists it points
//! to. A list is used only when its enveloped XML signature verifies; which certificate may
//! sign a national list is the LOTL's pointer's business ([`signed_by_one_of`]).
//!
//! Only what trust anchors need is read: the scheme information, each service's type, current
//! status and certificates, and the pointers to other lists.

use roxmltree::Node;
use signet_ades::cert::CertView;
use signet_core::HashAlgorithm;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Anchor, TrustAnchors};
use crate::xades::xmldsig::{self, DS, base64, text_of};
use crate::{Limits, TrustListInfo};

const TSL: &str = "http://uri.etsi.org/02231/v2#";
const ADDITIONAL_TYPES: &str = "http://uri.etsi.org/02231/v2/additionaltypes#";
/// Most services and pointers read from one list (the largest national lists have a few
/// hundred services).
const MAX_SERVICES: usize = 10_000;
const MAX_POINTERS: usize = 1_000;
/// Most certificates one service or pointer may list.
const MAX_CERTIFICATES: usize = 100;

/// Service types whose certificates become trust anchors: CAs issuing qualified certificates
/// and time-stamping authorities.
const ANCHOR_TYPES: &[&str] = &[
    "http://uri.etsi.org/TrstSvc/Svctype/CA/QC",
    "http://uri.etsi.org/TrstSvc/Svctype/TSA/QTST",
    "http://uri.etsi.org/TrstSvc/Svctype/TSA",
];
/// Current statuses that make a service trusted: `granted` (TS 119 612 v2) and the older
/// `accredited` and `undersupervision` (v1 and TS 102 231 URIs).
const TRUSTED_STATUSES: &[&str] = &[
    "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted",
    "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/accredited",
    "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/undersupervision",
    "http://uri.etsi.org/TrstSvc/Svcstatus/accredited",
    "http://uri.etsi.org/TrstSvc/Svcstatus/undersupervision",
];

/// A trusted list whose signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedList {
    pub info: TrustListInfo,
    /// The certificate that signed the list, DER.
    pub signer: Vec<u8>,
    pub services: Vec<TrustService>,
    pub pointers: Vec<TslPointer>,
}

/// One `TSPService` with its current status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustService {
    /// The provider's `TSPName` (English when given).
    pub provider: String,
    /// `ServiceName` (English when given).
    pub name: String,
    /// `ServiceTypeIdentifier` URI.
    pub service_type: String,
    /// `ServiceStatus` URI (the current one, not the history).
    pub status: String,
    /// `ServiceDigitalIdentity/DigitalId/X509Certificate`, DER.
    pub certificates: Vec<Vec<u8>>,
}

/// One `OtherTSLPointer`: where another list is and who may sign it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TslPointer {
    /// `TSLLocation`.
    pub location: String,
    /// `AdditionalInformation/OtherInformation/SchemeTerritory`.
    pub territory: String,
    /// `AdditionalInformation/OtherInformation/MimeType`.
    pub mime_type: Option<String>,
    /// The certificates allowed to sign that list, DER.
    pub certificates: Vec<Vec<u8>>,
}

fn child<'a, 'i>(parent: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    xmldsig::child(parent, TSL, name)
}

fn required<'a, 'i>(parent: Node<'a, 'i>, name: &str) -> Result<Node<'a, 'i>, String> {
    child(parent, name).ok_or_else(|| {
        format!(
            "the trusted list has no {name} in {}",
            parent.tag_name().name()
        )
    })
}

fn date_time(n: Node<'_, '_>, what: &str) -> Result<OffsetDateTime, String> {
    let text = text_of(n);
    OffsetDateTime::parse(&text, &Rfc3339)
        .map_err(|_| format!("the trusted list's {what} {text:?} is not an xsd:dateTime"))
}

/// The English `Name` of an `InternationalNamesType`, else the first one.
fn name_of(names: Option<Node<'_, '_>>) -> String {
    let Some(names) = names else {
        return String::new();
    };
    let all: Vec<Node<'_, '_>> = names
        .children()
        .filter(|n| n.has_tag_name((TSL, "Name")))
        .collect();
    all.iter()
        .find(|n| n.attribute(("http://www.w3.org/XML/1998/namespace", "lang")) == Some("en"))
        .or(all.first())
        .map(|n| text_of(*n))
        .unwrap_or_default()
}

/// `DigitalId/X509Certificate` of a `ServiceDigitalIdentity`, each parsed as X.509.
fn certificates(identity: Node<'_, '_>) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    for id in identity
        .children()
        .filter(|n| n.has_tag_name((TSL, "DigitalId")))
    {
        for c in id
            .children()
            .filter(|n| n.has_tag_name((TSL, "X509Certificate")))
        {
            if out.len() == MAX_CERTIFICATES {
                return Err(format!(
                    "a ServiceDigitalIdentity lists more than {MAX_CERTIFICATES} certificates"
                ));
            }
            let der = base64(&text_of(c)).ok_or("an X509Certificate is not base64")?;
            CertView::parse(&der).map_err(|e| format!("an X509Certificate: {e}"))?;
            out.push(der);
        }
    }
    Ok(out)
}

/// Reads a TS 119 612 trusted list from `bytes` (read from `source`, a path or URL) and
/// verifies its enveloped signature. A list whose signature does not verify is refused with
/// the reason.
pub fn read_trusted_list(
    bytes: &[u8],
    source: &str,
    limits: &Limits,
) -> Result<TrustedList, String> {
    if bytes.len() > limits.max_document_bytes {
        return Err(format!(
            "the trusted list {source} has {} bytes, more than the limit of {}",
            bytes.len(),
            limits.max_document_bytes
        ));
    }
    let doc = signet_ades::xml::parse_untrusted(bytes, limits.max_xml_depth)
        .map_err(|e| format!("the trusted list {source}: {e}"))?;
    let root = doc.root_element();
    if !root.has_tag_name((TSL, "TrustServiceStatusList")) {
        return Err(format!(
            "{source} is not a trusted list (no TrustServiceStatusList)"
        ));
    }
    let signature = root
        .children()
        .find(|n| n.has_tag_name((DS, "Signature")))
        .ok_or_else(|| format!("the trusted list {source} is not signed"))?;
    let signer = xmldsig::verify_enveloped(&doc, signature, limits)
        .map_err(|e| format!("the trusted list {source} has an invalid signature: {e}"))?;

    let scheme = required(root, "SchemeInformation")?;
    let sequence = text_of(required(scheme, "TSLSequenceNumber")?);
    let info = TrustListInfo {
        source: source.to_owned(),
        territory: text_of(required(scheme, "SchemeTerritory")?),
        sequence_number: sequence
            .parse()
            .map_err(|_| format!("TSLSequenceNumber {sequence:?} is not a number"))?,
        issued: date_time(required(scheme, "ListIssueDateTime")?, "ListIssueDateTime")?,
        next_update: match child(scheme, "NextUpdate").and_then(|n| child(n, "dateTime")) {
            Some(n) => Some(date_time(n, "NextUpdate")?),
            None => None,
        },
        sha256: data_encoding::HEXUPPER.encode(&HashAlgorithm::Sha256.digest(bytes)),
    };

    let mut pointers = Vec::new();
    if let Some(list) = child(scheme, "PointersToOtherTSL") {
        for p in list
            .children()
            .filter(|n| n.has_tag_name((TSL, "OtherTSLPointer")))
        {
            if pointers.len() == MAX_POINTERS {
                return Err(format!(
                    "the trusted list has more than {MAX_POINTERS} pointers"
                ));
            }
            pointers.push(pointer(p)?);
        }
    }

    let mut services = Vec::new();
    if let Some(providers) = child(root, "TrustServiceProviderList") {
        for tsp in providers
            .children()
            .filter(|n| n.has_tag_name((TSL, "TrustServiceProvider")))
        {
            let provider = name_of(child(tsp, "TSPInformation").and_then(|i| child(i, "TSPName")));
            let Some(list) = child(tsp, "TSPServices") else {
                continue;
            };
            for s in list
                .children()
                .filter(|n| n.has_tag_name((TSL, "TSPService")))
            {
                if services.len() == MAX_SERVICES {
                    return Err(format!(
                        "the trusted list has more than {MAX_SERVICES} services"
                    ));
                }
                let info = required(s, "ServiceInformation")?;
                services.push(TrustService {
                    provider: provider.clone(),
                    name: name_of(child(info, "ServiceName")),
                    service_type: text_of(required(info, "ServiceTypeIdentifier")?),
                    status: text_of(required(info, "ServiceStatus")?),
                    certificates: match child(info, "ServiceDigitalIdentity") {
                        Some(id) => certificates(id)?,
                        None => Vec::new(),
                    },
                });
            }
        }
    }
    Ok(TrustedList {
        info,
        signer,
        services,
        pointers,
    })
}

fn pointer(p: Node<'_, '_>) -> Result<TslPointer, String> {
    let mut certs = Vec::new();
    if let Some(ids) = child(p, "ServiceDigitalIdentities") {
        for id in ids
            .children()
            .filter(|n| n.has_tag_name((TSL, "ServiceDigitalIdentity")))
        {
            for c in certificates(id)? {
                if certs.len() == MAX_CERTIFICATES {
                    return Err(format!(
                        "an OtherTSLPointer lists more than {MAX_CERTIFICATES} certificates"
                    ));
                }
                certs.push(c);
            }
        }
    }
    let other: Vec<Node<'_, '_>> = child(p, "AdditionalInformation")
        .map(|a| {
            a.children()
                .filter(|n| n.has_tag_name((TSL, "OtherInformation")))
                .flat_map(|o| o.children().filter(|n| n.is_element()))
                .collect()
        })
        .unwrap_or_default();
    Ok(TslPointer {
        location: text_of(required(p, "TSLLocation")?),
        territory: other
            .iter()
            .find(|n| n.has_tag_name((TSL, "SchemeTerritory")))
            .map(|n| text_of(*n))
            .unwrap_or_default(),
        mime_type: other
            .iter()
            .find(|n| {
                n.has_tag_name((ADDITIONAL_TYPES, "MimeType")) || n.tag_name().name() == "MimeType"
            })
            .map(|n| text_of(*n)),
        certificates: certs,
    })
}

/// Adds the certificates of `list`'s CA/QC and TSA services whose current status is granted
/// (or the older accredited / under supervision) to `into`, named `TL <territory>: <service>`.
/// Certificates already there are not added twice.
pub fn anchors_from(list: &TrustedList, into: &mut TrustAnchors) {
    for s in &list.services {
        if !ANCHOR_TYPES.contains(&s.service_type.as_str())
            || !TRUSTED_STATUSES.contains(&s.status.as_str())
        {
            continue;
        }
        for der in &s.certificates {
            if into.anchors.iter().any(|a| a.der == *der) {
                continue;
            }
            into.anchors.push(Anchor {
                der: der.clone(),
                source: format!("TL {}: {}", list.info.territory, s.name),
            });
        }
    }
}

/// Whether `list` was signed with one of `allowed` (the certificates a LOTL pointer names for
/// it): the same certificate, or one with the same public key (a re-issued certificate).
pub fn signed_by_one_of(list: &TrustedList, allowed: &[Vec<u8>]) -> bool {
    let spki = |der: &[u8]| CertView::parse(der).ok().map(|c| c.spki.to_vec());
    let signer_key = spki(&list.signer);
    allowed
        .iter()
        .any(|a| *a == list.signer || (signer_key.is_some() && spki(a) == signer_key))
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use signet_ades::{Envelope, Level};
    use signet_core::b64;

    use super::*;
    use signet_ades::test_pki::TestPki;

    const GRANTED: &str = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted";
    const WITHDRAWN: &str = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/withdrawn";
    const CA_QC: &str = "http://uri.etsi.org/TrstSvc/Svctype/CA/QC";
    const QTST: &str = "http://uri.etsi.org/TrstSvc/Svctype/TSA/QTST";

    fn service(kind: &str, name: &str, cert: &[u8], status: &str) -> String {
        format!(
            "<TSPService><ServiceInformation><ServiceTypeIdentifier>{kind}</ServiceTypeIdentifier><ServiceName><Name xml:lang=\"en\">{name}</Name></ServiceName><ServiceDigitalIdentity><DigitalId><X509Certificate>{}</X509Certificate></DigitalId></ServiceDigitalIdentity><ServiceStatus>{status}</ServiceStatus><StatusStartingTime>2020-01-01T00:00:00Z</StatusStartingTime></ServiceInformation></TSPService>",
            b64::encode(cert)
        )
    }

    /// A minimal TS 119 612 list of territory BE: a granted CA/QC service (the test CA), a
    /// withdrawn QTST service (the test TSA), and a pointer to NL's list.
    fn list(pki: &TestPki, pointer_cert: &[u8]) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<TrustServiceStatusList xmlns=\"{TSL}\" xmlns:ns3=\"{ADDITIONAL_TYPES}\" Id=\"tsl\" TSLTag=\"http://uri.etsi.org/19612/TSLTag\">\n<SchemeInformation><TSLVersionIdentifier>5</TSLVersionIdentifier><TSLSequenceNumber>42</TSLSequenceNumber><TSLType>http://uri.etsi.org/TrstSvc/TrustedList/TSLType/EUgeneric</TSLType><SchemeOperatorName><Name xml:lang=\"en\">Test Operator</Name></SchemeOperatorName><SchemeTerritory>BE</SchemeTerritory><PointersToOtherTSL><OtherTSLPointer><ServiceDigitalIdentities><ServiceDigitalIdentity><DigitalId><X509Certificate>{}</X509Certificate></DigitalId></ServiceDigitalIdentity></ServiceDigitalIdentities><TSLLocation>https://example.org/tl-nl.xml</TSLLocation><AdditionalInformation><OtherInformation><TSLType>http://uri.etsi.org/TrstSvc/TrustedList/TSLType/EUgeneric</TSLType></OtherInformation><OtherInformation><SchemeTerritory>NL</SchemeTerritory></OtherInformation><OtherInformation><ns3:MimeType>application/vnd.etsi.tsl+xml</ns3:MimeType></OtherInformation></AdditionalInformation></OtherTSLPointer></PointersToOtherTSL><ListIssueDateTime>2026-01-15T10:00:00Z</ListIssueDateTime><NextUpdate><dateTime>2026-07-15T10:00:00Z</dateTime></NextUpdate></SchemeInformation>\n<TrustServiceProviderList><TrustServiceProvider><TSPInformation><TSPName><Name xml:lang=\"fr\">Fournisseur</Name><Name xml:lang=\"en\">Test Provider</Name></TSPName></TSPInformation><TSPServices>{}{}</TSPServices></TrustServiceProvider></TrustServiceProviderList>\n</TrustServiceStatusList>\n",
            b64::encode(pointer_cert),
            service(CA_QC, "Test CA service", &pki.ca.certificate, GRANTED),
            service(QTST, "Test TSA service", &pki.tsa.certificate, WITHDRAWN),
        )
    }

    fn at(text: &str) -> OffsetDateTime {
        OffsetDateTime::parse(text, &Rfc3339).unwrap()
    }

    #[test]
    fn a_signed_list_is_read_and_gives_its_granted_anchors() {
        let pki = TestPki::new();
        let signer = pki.es256();
        let other = pki.rs256();
        let unsigned = list(&pki, &other.1.certificate);
        // Signed as EU lists are: an enveloped XAdES B-B over the whole document.
        let bytes = crate::xades::tests::xades(
            &pki,
            &signer,
            Level::BB,
            Envelope::Enveloped,
            unsigned.as_bytes(),
            None,
        );
        let limits = Limits::default();
        let tl = read_trusted_list(&bytes, "tl-be.xml", &limits).unwrap();
        assert_eq!(
            tl.info,
            TrustListInfo {
                source: "tl-be.xml".into(),
                territory: "BE".into(),
                sequence_number: 42,
                issued: at("2026-01-15T10:00:00Z"),
                next_update: Some(at("2026-07-15T10:00:00Z")),
                sha256: data_encoding::HEXUPPER.encode(&HashAlgorithm::Sha256.digest(&bytes)),
            }
        );
        assert_eq!(tl.signer, signer.1.certificate);
        assert_eq!(
            tl.services,
            [
                TrustService {
                    provider: "Test Provider".into(),
                    name: "Test CA service".into(),
                    service_type: CA_QC.into(),
                    status: GRANTED.into(),
                    certificates: vec![pki.ca.certificate.clone()],
                },
                TrustService {
                    provider: "Test Provider".into(),
                    name: "Test TSA service".into(),
                    service_type: QTST.into(),
                    status: WITHDRAWN.into(),
                    certificates: vec![pki.tsa.certificate.clone()],
                },
            ]
        );
        assert_eq!(
            tl.pointers,
            [TslPointer {
                location: "https://example.org/tl-nl.xml".into(),
                territory: "NL".into(),
                mime_type: Some("application/vnd.etsi.tsl+xml".into()),
                certificates: vec![other.1.certificate.clone()],
            }]
        );

        let mut anchors = TrustAnchors::default();
        anchors_from(&tl, &mut anchors);
        anchors_from(&tl, &mut anchors);
        assert_eq!(
            anchors.anchors,
            [Anchor {
                der: pki.ca.certificate.clone(),
                source: "TL BE: Test CA service".into(),
            }]
        );
        assert!(signed_by_one_of(
            &tl,
            std::slice::from_ref(&signer.1.certificate)
        ));
        assert!(!signed_by_one_of(
            &tl,
            &[pki.ca.certificate.clone(), other.1.certificate]
        ));

        // A withdrawn service made granted after signing.
        let text = String::from_utf8(bytes.clone()).unwrap();
        let tampered = text.replacen(WITHDRAWN, GRANTED, 1);
        let e = read_trusted_list(tampered.as_bytes(), "tl-be.xml", &limits).unwrap_err();
        assert_eq!(
            e,
            "the trusted list tl-be.xml has an invalid signature: reference \"\" (the whole document): the digest of \"\" (the whole document) does not match its DigestValue"
        );
        assert_eq!(
            read_trusted_list(unsigned.as_bytes(), "x", &limits).unwrap_err(),
            "the trusted list x is not signed"
        );
        assert_eq!(
            read_trusted_list(b"<r/>", "x", &limits).unwrap_err(),
            "x is not a trusted list (no TrustServiceStatusList)"
        );

        // xmlsec1 agrees that the fixture's signature is good.
        if !crate::xades::tests::have_xmlsec1() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tl.xml");
        let ca = dir.path().join("ca.der");
        std::fs::write(&file, &bytes).unwrap();
        std::fs::write(&ca, &pki.ca.certificate).unwrap();
        let out = Command::new("xmlsec1")
            .arg("--verify")
            .arg("--trusted-der")
            .arg(&ca)
            .args([
                "--id-attr:Id",
                "http://uri.etsi.org/01903/v1.3.2#:SignedProperties",
            ])
            .args(["--id-attr:Id", "http://www.w3.org/2000/09/xmldsig#:KeyInfo"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "xmlsec1: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn lists_signed_by_xmlsec1_and_what_they_must_cover() {
        if !crate::xades::tests::have_xmlsec1() {
            return;
        }
        let pki = TestPki::new();
        let dir = tempfile::tempdir().unwrap();
        let (key, cert, der) = crate::xades::tests::openssl_key(dir.path(), "rsa");
        let unsigned = list(&pki, &pki.ca.certificate).replacen(
            "<SchemeInformation>",
            "<SchemeInformation Id=\"scheme\">",
            1,
        );
        let sign = |reference: &str| {
            let template = unsigned.replacen(
                "</TrustServiceStatusList>",
                &format!(
                    "<ds:Signature xmlns:ds=\"{DS}\"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/><ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/>{reference}</ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo></ds:Signature></TrustServiceStatusList>"
                ),
                1,
            );
            crate::xades::tests::xmlsec1_sign(
                dir.path(),
                &template,
                &key,
                &cert,
                &[&format!("{TSL}:SchemeInformation")],
            )
        };
        let digest = "<ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><ds:DigestValue/>";
        let whole = sign(&format!(
            "<ds:Reference URI=\"\"><ds:Transforms><ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/><ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></ds:Transforms>{digest}</ds:Reference>"
        ));
        let tl = read_trusted_list(&whole, "x", &Limits::default()).unwrap();
        assert_eq!(tl.signer, der);
        assert_eq!(tl.services.len(), 2);
        // A good signature over the scheme information alone leaves the services unsigned.
        let part = sign(&format!(
            "<ds:Reference URI=\"#scheme\">{digest}</ds:Reference>"
        ));
        assert_eq!(
            read_trusted_list(&part, "x", &Limits::default()).unwrap_err(),
            "the trusted list x has an invalid signature: the signature does not cover the whole document"
        );
    }
}
