//! CSC `signed_props`: the signed attributes (CAdES) and signature dictionary entries (PAdES)
//! a client asks for (csc-api.md §4.12; ETSI TS 119 432 §7.14).
//!
//! Each entry names an attribute (by CSC name or dotted OID) and may carry a value: Base64 of
//! the DER attribute value, or for the textual ones plain text. Without a value the service
//! computes the attribute when it can; attributes the service always computes (content-type,
//! message-digest, signing-certificate-v2, CAdES signing-time) cannot be overridden.

use crate::asn1::{self, SEQUENCE, Tlv};
use crate::qualifying::QualifyingProps;
use crate::{AdesError, Format, oids};

/// PAdES signature dictionary entries (ISO 32000-1 Table 252).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PdfProps {
    pub reason: Option<String>,
    pub location: Option<String>,
    pub contact_info: Option<String>,
    pub name: Option<String>,
}

/// The resolved `signed_props`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignedProps {
    /// Extra CMS signed attributes: dotted OID and the DER attribute value.
    pub attributes: Vec<(String, Vec<u8>)>,
    pub pdf: PdfProps,
    /// XAdES and JAdES: the qualifying properties asked for.
    pub qualifying: QualifyingProps,
}

/// How an attribute's value is obtained.
#[derive(Clone, Copy)]
enum Kind {
    /// Always computed by the service; a request for it without a value is a no-op.
    Computed,
    /// CAdES signing-time: computed for CAdES, forbidden in PAdES (EN 319 142-1 §5.3).
    SigningTime,
    /// DER value, or a commitment type name / OID.
    Commitment,
    /// DER value, or text for the locality.
    SignerLocation,
    /// DER value, or `implied`.
    Policy,
    /// DER value, or text for the description of id-data content.
    ContentHints,
    /// DER value, or text (UTF8String).
    MimeType,
    /// DER value, or text for a claimed role.
    SignerAttributes,
    /// DER value, or text used as the identifier octets.
    ContentIdentifier,
    /// A DER value only.
    DerOnly,
    /// PAdES dictionary text.
    Pdf(PdfKey),
}

#[derive(Clone, Copy)]
enum PdfKey {
    Reason,
    Location,
    ContactInfo,
    Name,
}

struct Known {
    name: &'static str,
    oid: Option<&'static str>,
    kind: Kind,
    /// Formats the attribute belongs to (EN 319 142-1 §5.2/§5.3 restricts PAdES CMS).
    formats: &'static [Format],
}

const BOTH: &[Format] = &[Format::Cades, Format::Pades];
const CADES: &[Format] = &[Format::Cades];
const PADES: &[Format] = &[Format::Pades];

const KNOWN: &[Known] = &[
    Known {
        name: "content-type",
        oid: Some(oids::CONTENT_TYPE),
        kind: Kind::Computed,
        formats: BOTH,
    },
    Known {
        name: "message-digest",
        oid: Some(oids::MESSAGE_DIGEST),
        kind: Kind::Computed,
        formats: BOTH,
    },
    Known {
        name: "signing-certificate-v2",
        oid: Some(oids::SIGNING_CERTIFICATE_V2),
        kind: Kind::Computed,
        formats: BOTH,
    },
    Known {
        name: "signing-time",
        oid: Some(oids::SIGNING_TIME),
        kind: Kind::SigningTime,
        formats: BOTH,
    },
    Known {
        name: "commitment-type-indication",
        oid: Some(oids::COMMITMENT_TYPE_INDICATION),
        kind: Kind::Commitment,
        formats: BOTH,
    },
    Known {
        name: "signer-location",
        oid: Some(oids::SIGNER_LOCATION),
        kind: Kind::SignerLocation,
        formats: CADES,
    },
    Known {
        name: "signature-policy-identifier",
        oid: Some(oids::SIGNATURE_POLICY_IDENTIFIER),
        kind: Kind::Policy,
        formats: BOTH,
    },
    Known {
        name: "content-hints",
        oid: Some(oids::CONTENT_HINTS),
        kind: Kind::ContentHints,
        formats: CADES,
    },
    Known {
        name: "mime-type",
        oid: Some(oids::MIME_TYPE),
        kind: Kind::MimeType,
        formats: CADES,
    },
    Known {
        name: "signer-attributes-v2",
        oid: Some(oids::SIGNER_ATTRIBUTES_V2),
        kind: Kind::SignerAttributes,
        formats: BOTH,
    },
    Known {
        name: "content-identifier",
        oid: Some(oids::CONTENT_IDENTIFIER),
        kind: Kind::ContentIdentifier,
        formats: CADES,
    },
    Known {
        name: "content-reference",
        oid: Some(oids::CONTENT_REFERENCE),
        kind: Kind::DerOnly,
        formats: CADES,
    },
    Known {
        name: "content-time-stamp",
        oid: Some(oids::CONTENT_TIME_STAMP),
        kind: Kind::DerOnly,
        formats: BOTH,
    },
    Known {
        name: "Reason",
        oid: None,
        kind: Kind::Pdf(PdfKey::Reason),
        formats: PADES,
    },
    Known {
        name: "Location",
        oid: None,
        kind: Kind::Pdf(PdfKey::Location),
        formats: PADES,
    },
    Known {
        name: "ContactInfo",
        oid: None,
        kind: Kind::Pdf(PdfKey::ContactInfo),
        formats: PADES,
    },
    Known {
        name: "Name",
        oid: None,
        kind: Kind::Pdf(PdfKey::Name),
        formats: PADES,
    },
];

/// Attributes a client may not add as signed attributes under any name: unsigned ones, and
/// the computed ones (handled above).
const UNSIGNED: &[&str] = &[
    oids::SIGNATURE_TIME_STAMP,
    oids::ARCHIVE_TIME_STAMP_V3,
    oids::ATS_HASH_INDEX_V3,
];

/// Longest PDF text entry accepted.
const MAX_TEXT: usize = 1024;

impl SignedProps {
    /// Resolves CSC `signed_props` entries (`attribute_name`, optional `attribute_value`) for
    /// `format`. Unknown or misplaced names are refused together, listed by name.
    pub fn from_csc(
        format: Format,
        entries: &[(String, Option<String>)],
    ) -> Result<Self, AdesError> {
        if matches!(format, Format::Xades | Format::Jades) {
            return Ok(SignedProps {
                qualifying: QualifyingProps::from_csc(format, entries)?,
                ..Default::default()
            });
        }
        let mut props = SignedProps::default();
        let mut unknown = Vec::new();
        for (name, value) in entries {
            let value = value.as_deref().filter(|v| !v.is_empty());
            let known = KNOWN
                .iter()
                .find(|k| k.name.eq_ignore_ascii_case(name.trim()) || k.oid == Some(name.trim()));
            let Some(known) = known else {
                if is_dotted_oid(name.trim()) {
                    props.add_generic(name.trim(), value)?;
                } else {
                    unknown.push(name.clone());
                }
                continue;
            };
            if !known.formats.contains(&format) {
                return Err(AdesError::InvalidRequest(misplaced(known, format)));
            }
            props.add_known(known, format, value)?;
        }
        if !unknown.is_empty() {
            let names: Vec<&str> = KNOWN
                .iter()
                .filter(|k| k.formats.contains(&format))
                .filter(|k| match k.kind {
                    Kind::Computed => false,
                    Kind::SigningTime => format == Format::Cades,
                    _ => true,
                })
                .map(|k| k.name)
                .collect();
            return Err(AdesError::InvalidRequest(format!(
                "Unknown signed_props attribute_name {} for signature_format {}: supported are {} or a dotted OID with a DER value",
                unknown.join(", "),
                format.letter(),
                names.join(", ")
            )));
        }
        Ok(props)
    }

    fn push(&mut self, oid: &str, value: Vec<u8>) -> Result<(), AdesError> {
        if self.attributes.iter().any(|(o, _)| o == oid) {
            return Err(AdesError::InvalidRequest(format!(
                "signed_props lists attribute {oid} twice"
            )));
        }
        self.attributes.push((oid.to_owned(), value));
        Ok(())
    }

    fn add_generic(&mut self, oid: &str, value: Option<&str>) -> Result<(), AdesError> {
        if UNSIGNED.contains(&oid) {
            return Err(AdesError::InvalidRequest(format!(
                "signed_props: {oid} is an unsigned attribute added by the conformance level"
            )));
        }
        let Some(value) = value else {
            return Err(AdesError::InvalidRequest(format!(
                "signed_props: attribute {oid} needs an attribute_value (Base64 DER)"
            )));
        };
        let der = decode_der(value, None).ok_or_else(|| {
            AdesError::InvalidRequest(format!(
                "signed_props: attribute_value of {oid} is not Base64 of one DER value"
            ))
        })?;
        asn1::oid(oid)?;
        self.push(oid, der)
    }

    fn add_known(
        &mut self,
        known: &Known,
        format: Format,
        value: Option<&str>,
    ) -> Result<(), AdesError> {
        let oid = known.oid.unwrap_or_default();
        let needs_value = || {
            AdesError::InvalidRequest(format!(
                "signed_props: {} needs an attribute_value",
                known.name
            ))
        };
        let der = match known.kind {
            Kind::Computed => {
                return match value {
                    None => Ok(()),
                    Some(_) => Err(AdesError::InvalidRequest(format!(
                        "signed_props: {} is computed by the service and cannot be given",
                        known.name
                    ))),
                };
            }
            Kind::SigningTime => {
                return match (format, value) {
                    (Format::Cades, None) => Ok(()),
                    (Format::Cades, Some(_)) => Err(AdesError::InvalidRequest(
                        "signed_props: signing-time is the service's clock and cannot be given"
                            .into(),
                    )),
                    (_, _) => Err(AdesError::InvalidRequest(
                        "signed_props: PAdES signatures carry no signing-time attribute (EN 319 142-1 §5.3); the time is the signature dictionary's /M".into(),
                    )),
                };
            }
            Kind::Pdf(key) => {
                let text = value.ok_or_else(needs_value)?;
                if text.chars().count() > MAX_TEXT {
                    return Err(AdesError::InvalidRequest(format!(
                        "signed_props: {} longer than {MAX_TEXT} characters",
                        known.name
                    )));
                }
                let slot = match key {
                    PdfKey::Reason => &mut self.pdf.reason,
                    PdfKey::Location => &mut self.pdf.location,
                    PdfKey::ContactInfo => &mut self.pdf.contact_info,
                    PdfKey::Name => &mut self.pdf.name,
                };
                *slot = Some(text.to_owned());
                return Ok(());
            }
            Kind::Commitment => {
                let v = value.ok_or_else(needs_value)?;
                match decode_der(v, Some(SEQUENCE)) {
                    Some(der) => der,
                    None => {
                        let oid = oids::COMMITMENT_TYPES
                            .iter()
                            .find(|(n, o)| n.eq_ignore_ascii_case(v.trim()) || *o == v.trim())
                            .map(|(_, o)| *o)
                            .ok_or_else(|| {
                                AdesError::InvalidRequest(format!(
                                    "signed_props: commitment-type-indication {v:?} is neither Base64 DER nor one of proofOfOrigin, proofOfReceipt, proofOfDelivery, proofOfSender, proofOfApproval, proofOfCreation"
                                ))
                            })?;
                        // CommitmentTypeIndication ::= SEQUENCE { commitmentTypeId, ... }
                        asn1::seq(&[&asn1::oid(oid)?])
                    }
                }
            }
            Kind::SignerLocation => {
                let v = value.ok_or_else(needs_value)?;
                decode_der(v, Some(SEQUENCE)).unwrap_or_else(|| {
                    // SignerLocation ::= SEQUENCE { countryName [0], localityName [1], ... }
                    // with EXPLICIT tags around DirectoryString (EN 319 122-1 §5.2.5).
                    asn1::seq(&[&asn1::cons(asn1::ctx(1), &[&asn1::utf8(v)])])
                })
            }
            Kind::Policy => {
                let v = value.ok_or_else(needs_value)?;
                if v.trim().eq_ignore_ascii_case("implied") {
                    // SignaturePolicyIdentifier ::= CHOICE { signaturePolicyId, signaturePolicyImplied NULL }
                    asn1::null()
                } else {
                    decode_der(v, Some(SEQUENCE)).ok_or_else(|| {
                        AdesError::InvalidRequest(
                            "signed_props: signature-policy-identifier must be Base64 DER SignaturePolicyId or \"implied\"".into(),
                        )
                    })?
                }
            }
            Kind::ContentHints => {
                let v = value.ok_or_else(needs_value)?;
                match decode_der(v, Some(SEQUENCE)) {
                    Some(der) => der,
                    // ContentHints ::= SEQUENCE { contentDescription UTF8String OPTIONAL, contentType }
                    None => asn1::seq(&[&asn1::utf8(v), &asn1::oid(oids::DATA)?]),
                }
            }
            Kind::MimeType => {
                let v = value.ok_or_else(needs_value)?;
                decode_der(v, Some(asn1::UTF8_STRING)).unwrap_or_else(|| asn1::utf8(v))
            }
            Kind::SignerAttributes => {
                let v = value.ok_or_else(needs_value)?;
                match decode_der(v, Some(SEQUENCE)) {
                    Some(der) => der,
                    None => {
                        // SignerAttributeV2 ::= SEQUENCE { claimedAttributes [0] ClaimedAttributes, ... }
                        let attr = asn1::seq(&[
                            &asn1::oid(oids::AT_NAME)?,
                            &asn1::set_of(vec![asn1::utf8(v)]),
                        ]);
                        asn1::seq(&[&asn1::cons(asn1::ctx(0), &[&asn1::seq(&[&attr])])])
                    }
                }
            }
            Kind::ContentIdentifier => {
                let v = value.ok_or_else(needs_value)?;
                decode_der(v, Some(asn1::OCTET_STRING))
                    .unwrap_or_else(|| asn1::octet_string(v.as_bytes()))
            }
            Kind::DerOnly => {
                let v = value.ok_or_else(needs_value)?;
                decode_der(v, None).ok_or_else(|| {
                    AdesError::InvalidRequest(format!(
                        "signed_props: {} must be Base64 of one DER value",
                        known.name
                    ))
                })?
            }
        };
        self.push(oid, der)
    }
}

fn misplaced(known: &Known, format: Format) -> String {
    match (known.name, format) {
        ("signer-location", Format::Pades) => {
            "signed_props: PAdES has no signer-location attribute (EN 319 142-1 §5.2); use Location"
                .into()
        }
        (name, Format::Cades) if known.oid.is_none() => format!(
            "signed_props: {name} is a PAdES signature dictionary entry, not a CAdES attribute"
        ),
        (name, _) => format!(
            "signed_props: {name} is not used with signature_format {}",
            format.letter()
        ),
    }
}

fn is_dotted_oid(s: &str) -> bool {
    s.contains('.')
        && s.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Base64 of exactly one DER TLV (with tag `tag` when given), or `None`.
fn decode_der(value: &str, tag: Option<u8>) -> Option<Vec<u8>> {
    let bytes = signet_core::b64::decode(value.trim())?;
    let tlv: Tlv<'_> = asn1::read_all(&bytes).ok()?;
    if tag.is_some_and(|t| t != tlv.tag) {
        return None;
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: &str, v: Option<&str>) -> (String, Option<String>) {
        (n.to_owned(), v.map(str::to_owned))
    }

    #[test]
    fn cades_props() {
        let p = SignedProps::from_csc(
            Format::Cades,
            &[
                entry("commitment-type-indication", Some("proofOfApproval")),
                entry("signer-location", Some("Paris")),
                entry("content-hints", Some("a contract")),
                entry("signing-time", None),
                entry("mime-type", Some("application/pdf")),
            ],
        )
        .unwrap();
        assert_eq!(p.attributes.len(), 4);
        assert_eq!(p.attributes[0].0, oids::COMMITMENT_TYPE_INDICATION);
        // SEQUENCE { OID 1.2.840.113549.1.9.16.6.5 }
        assert_eq!(p.attributes[0].1[..4], [0x30, 0x0d, 0x06, 0x0b]);
        assert_eq!(
            p.attributes[1].1,
            asn1::seq(&[&asn1::cons(0xa1, &[&asn1::utf8("Paris")])])
        );
    }

    #[test]
    fn der_values_and_oids() {
        let der = signet_core::b64::encode(&asn1::seq(&[&asn1::oid("1.2.3.4").unwrap()]));
        let p = SignedProps::from_csc(
            Format::Pades,
            &[
                entry("1.2.840.113549.1.9.16.2.16", Some(&der)),
                entry("1.2.3.4.5", Some(&der)),
                entry("Reason", Some("I approve")),
                entry("location", Some("Brussels")),
            ],
        )
        .unwrap();
        assert_eq!(p.attributes.len(), 2);
        assert_eq!(p.pdf.reason.as_deref(), Some("I approve"));
        assert_eq!(p.pdf.location.as_deref(), Some("Brussels"));
    }

    #[test]
    fn refusals() {
        for (format, e) in [
            (Format::Pades, entry("signing-time", None)),
            (Format::Pades, entry("signer-location", Some("x"))),
            (Format::Cades, entry("Reason", Some("x"))),
            (Format::Cades, entry("message-digest", Some("AAAA"))),
            (Format::Cades, entry("commitment-type-indication", None)),
            (
                Format::Cades,
                entry("commitment-type-indication", Some("proofOfNothing")),
            ),
            (Format::Cades, entry("1.2.3", None)),
            (Format::Cades, entry("1.2.3", Some("not der"))),
            (
                Format::Cades,
                entry("1.2.840.113549.1.9.16.2.14", Some("BQA=")),
            ),
            (Format::Cades, entry("SignerRoleV2", Some("x"))),
            (
                Format::Cades,
                entry("signature-policy-identifier", Some("nope")),
            ),
        ] {
            assert!(
                SignedProps::from_csc(format, std::slice::from_ref(&e)).is_err(),
                "{e:?}"
            );
        }
        let err = SignedProps::from_csc(
            Format::Cades,
            &[entry("foo", None), entry("bar", Some("x"))],
        )
        .unwrap_err();
        assert!(err.to_string().contains("foo, bar"), "{err}");
        let twice = [
            entry("mime-type", Some("a/b")),
            entry("0.4.0.1733.2.1", Some("c/d")),
        ];
        assert!(SignedProps::from_csc(Format::Cades, &twice).is_err());
    }
}
