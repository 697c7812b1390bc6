//! Signed-document formats: PDF reading for PAdES (lopdf and the incremental-update writer's
//! own reading of the trailer and cross-reference data), XML canonicalization, and the
//! validation readers of `signet-validation` (CAdES/CMS, PAdES, XAdES, JAdES/JWS, time-stamp
//! tokens, CRLs and OCSP responses, trusted lists) as DSS-X `verify` runs them.

use signet_ades::pdf::{self, NewObject};
use signet_ades::xml::{self, C14n, NodeSet};
use signet_ades::{Content, DocumentRequest, Format, Level, Limits, SignedProps};
use signet_core::HashAlgorithm;
use signet_validation::x509::{ChainContext, validate_chain};
use signet_validation::{DetachedContent, Options, ValidationError};

use crate::fixture::pki;

/// The detached document every detached seed signature covers.
pub const DETACHED_DOCUMENT: &[u8] = b"Signet fuzz: the detached document.\n";

pub fn pdf_read(data: &[u8]) {
    let limits = Limits::default();
    let Ok(state) = pdf::read(data, &limits) else {
        return;
    };
    // An incremental update written over an accepted document must read back (ISO 32000-1
    // §7.5.6): that is what every signature, DSS and document time-stamp appends.
    let mut out = data.to_vec();
    let mut next = state.clone();
    let id = next.allocate();
    next.append(&mut out, &[NewObject::stream(id, b"fuzz")])
        .expect("an increment can be written");
    let again = pdf::read(&out, &limits)
        .unwrap_or_else(|e| panic!("our increment made the PDF unreadable: {e}"));
    assert_eq!(again.root, state.root);
    assert_eq!(again.page, state.page);
    assert!(again.next_id > id.0);
    // What signing a PDF reads and writes before the key is used.
    let signer = pki().signer.clone();
    let _ = signet_ades::prepare(DocumentRequest {
        format: Format::Pades,
        level: Level::BB,
        envelope: Format::Pades.default_envelope(false),
        content: Content::Document(data.to_vec()),
        document_hash: HashAlgorithm::Sha256,
        props: SignedProps::default(),
        signer,
        signing_time: pki().created,
        collect_validation_info: false,
        limits,
        detached_name: None,
    });
}

pub fn xml_c14n(data: &[u8]) {
    let depth = Limits::default().max_xml_depth;
    let Ok(doc) = xml::parse_untrusted(data, depth) else {
        return;
    };
    // Canonical XML is a fixed point: canonicalizing it again changes nothing.
    let whole = xml::document(&doc);
    let reparsed = xml::parse_untrusted(&whole, depth + 1)
        .unwrap_or_else(|e| panic!("canonical XML does not parse: {e}"));
    assert_eq!(
        xml::document(&reparsed),
        whole,
        "exclusive C14N is not idempotent"
    );
    let inclusive = xml::canonicalize(NodeSet::subtree(doc.root()), &C14n::default_inclusive());
    let reparsed = xml::parse_untrusted(&inclusive, depth + 1)
        .unwrap_or_else(|e| panic!("canonical XML does not parse: {e}"));
    let again = xml::canonicalize(
        NodeSet::subtree(reparsed.root()),
        &C14n::default_inclusive(),
    );
    assert_eq!(again, inclusive, "inclusive C14N is not idempotent");
    // Subtrees, as same-document references and Signet's own fragments are canonicalized.
    for element in doc.descendants().filter(|n| n.is_element()).take(8) {
        let mut out = Vec::new();
        xml::element_subtree(element, &mut out);
        let sub = xml::parse_untrusted(&out, depth + 1)
            .unwrap_or_else(|e| panic!("a canonical subtree does not parse: {e}"));
        assert_eq!(xml::document(&sub), out, "subtree C14N is not idempotent");
    }
}

/// Validates `data` as DSS-X verify does (offline, with the fuzz CA as trust anchor), when it
/// is of `format`, and writes the reports.
fn validate(format: signet_validation::Format, data: &[u8]) {
    if signet_validation::detect_format(data) != Some(format) {
        return;
    }
    let pki = pki();
    let detached = [DetachedContent {
        name: Some("document.txt".into()),
        bytes: DETACHED_DOCUMENT.to_vec(),
    }];
    let options = Options {
        anchors: &pki.anchors,
        trusted_lists: &[],
        validation_time: pki.validation_time(),
        fetcher: None,
        limits: Limits::default(),
        max_revocation_age: signet_validation::DEFAULT_MAX_REVOCATION_AGE,
    };
    match signet_validation::validate(data, Some("fuzz"), &detached, &options) {
        Ok(report) => {
            let _ = signet_validation::report::etsi_xml(&report);
            let _ = signet_validation::report::json(&report);
            let _ = signet_validation::report::text(&report);
        }
        Err(ValidationError::TooLarge(_)) => panic!("a fuzz input is never too large"),
        Err(_) => {}
    }
}

pub fn validate_cades(data: &[u8]) {
    validate(signet_validation::Format::Cades, data);
}

pub fn validate_pades(data: &[u8]) {
    validate(signet_validation::Format::Pades, data);
}

pub fn validate_xades(data: &[u8]) {
    validate(signet_validation::Format::Xades, data);
}

/// The JWS reader: JAdES in the JSON serializations and compact JWS.
pub fn jws(data: &[u8]) {
    validate(signet_validation::Format::Jades, data);
}

pub fn timestamp_token(data: &[u8]) {
    if let Ok(info) = signet_validation::timestamp::read_token(data) {
        assert_eq!(info.imprint.len(), info.hash.len());
    }
}

/// A CRL (selector byte even) or an OCSP response (odd) about the fuzz signer's certificate,
/// in a chain validation.
pub fn revocation(data: &[u8]) {
    let Some((&selector, der)) = data.split_first() else {
        return;
    };
    let pki = pki();
    let item = [der.to_vec()];
    let (crls, ocsp): (&[Vec<u8>], &[Vec<u8>]) = if selector % 2 == 0 {
        (&item, &[])
    } else {
        (&[], &item)
    };
    let ctx = ChainContext {
        pool: &[],
        anchors: &pki.anchors,
        crls,
        ocsp,
        fetcher: None,
        at: pki.validation_time(),
    };
    let _ = validate_chain(&pki.signer.certificate, &ctx);
}

pub fn trusted_list(data: &[u8]) {
    let limits = Limits::default();
    if let Ok(list) = signet_validation::trust::tl::read_trusted_list(data, "fuzz", &limits) {
        let mut anchors = signet_validation::trust::TrustAnchors::default();
        signet_validation::trust::tl::anchors_from(&list, &mut anchors);
    }
}
