//! CSC `signed_props` for XAdES and JAdES: the qualifying properties both formats share
//! (EN 319 132-1 §5.2, TS 119 182-1 §5.2), kept as values rather than DER so that each format
//! writes them in its own syntax (XML elements, JSON header parameters).
//!
//! Names are accepted as CAdES names them (what CSC clients send for every format), as the
//! XAdES element names and as the JAdES header names; values are plain text.

use signet_core::HashAlgorithm;

use crate::{AdesError, Format, oids};

/// The signed qualifying properties a client asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QualifyingProps {
    /// CommitmentTypeIndication / `srCms`: dotted OIDs.
    pub commitment_types: Vec<String>,
    /// SignatureProductionPlaceV2 / `sigPl`.
    pub production_place: Option<ProductionPlace>,
    /// SignerRoleV2 ClaimedRoles / `srAts` claimed: text.
    pub claimed_roles: Vec<String>,
    /// SignaturePolicyIdentifier / `sigPId`.
    pub policy: Option<Policy>,
    /// DataObjectFormat MimeType / `cty`.
    pub mime_type: Option<String>,
}

/// Where the signature was produced. Text given alone is the city.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductionPlace {
    pub street_address: Option<String>,
    pub city: Option<String>,
    pub state_or_province: Option<String>,
    pub postal_code: Option<String>,
    /// ISO 3166 country code or name.
    pub country_name: Option<String>,
}

/// The signature policy the signature claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    /// The policy follows from the context (XAdES SignaturePolicyImplied; JAdES `sigPId`
    /// without a hash).
    Implied,
    /// A policy by OID with the digest of its document (XAdES SigPolicyHash; JAdES `hashAV`).
    Explicit {
        oid: String,
        hash: HashAlgorithm,
        digest: Vec<u8>,
        /// Where the policy document can be fetched (SPURI / `spURI`).
        uri: Option<String>,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Prop {
    Computed,
    Commitment,
    Place,
    Role,
    Policy,
    MimeType,
}

/// (accepted names, property). Matching is case-insensitive.
const NAMES: &[(&[&str], Prop)] = &[
    (
        &[
            "signing-time",
            "SigningTime",
            "sigT",
            "1.2.840.113549.1.9.5",
            "signing-certificate",
            "signing-certificate-v2",
            "SigningCertificate",
            "SigningCertificateV2",
            "x5t#o",
            "sigX5ts",
            "content-type",
            "message-digest",
        ],
        Prop::Computed,
    ),
    (
        &[
            "commitment-type-indication",
            "CommitmentTypeIndication",
            "srCms",
            oids::COMMITMENT_TYPE_INDICATION,
        ],
        Prop::Commitment,
    ),
    (
        &[
            "signer-location",
            "SignatureProductionPlace",
            "SignatureProductionPlaceV2",
            "sigPl",
            oids::SIGNER_LOCATION,
        ],
        Prop::Place,
    ),
    (
        &[
            "signer-role",
            "signer-attributes-v2",
            "SignerRole",
            "SignerRoleV2",
            "srAts",
            oids::SIGNER_ATTRIBUTES_V2,
        ],
        Prop::Role,
    ),
    (
        &[
            "signature-policy-identifier",
            "SignaturePolicyIdentifier",
            "sigPId",
            oids::SIGNATURE_POLICY_IDENTIFIER,
        ],
        Prop::Policy,
    ),
    (
        &[
            "mime-type",
            "MimeType",
            "DataObjectFormat",
            "cty",
            oids::MIME_TYPE,
        ],
        Prop::MimeType,
    ),
];

const MAX_TEXT: usize = 1024;

impl QualifyingProps {
    /// Reads CSC `signed_props` entries (name, optional value) for XAdES or JAdES.
    pub fn from_csc(
        format: Format,
        entries: &[(String, Option<String>)],
    ) -> Result<Self, AdesError> {
        let mut props = Self::default();
        let mut unknown = Vec::new();
        for (name, value) in entries {
            let name = name.trim();
            let value = value.as_deref().map(str::trim).filter(|v| !v.is_empty());
            if let Some(v) = value
                && v.chars().count() > MAX_TEXT
            {
                return Err(invalid(format!(
                    "signed_props: {name} longer than {MAX_TEXT} characters"
                )));
            }
            let Some((_, prop)) = NAMES
                .iter()
                .find(|(names, _)| names.iter().any(|n| n.eq_ignore_ascii_case(name)))
            else {
                unknown.push(name.to_owned());
                continue;
            };
            let needs_value = || invalid(format!("signed_props: {name} needs an attribute_value"));
            match prop {
                Prop::Computed => {
                    if value.is_some() {
                        return Err(invalid(format!(
                            "signed_props: {name} is computed by the service and cannot be given"
                        )));
                    }
                }
                Prop::Commitment => {
                    let v = value.ok_or_else(needs_value)?;
                    let oid = oids::COMMITMENT_TYPES
                        .iter()
                        .find(|(n, o)| n.eq_ignore_ascii_case(v) || *o == v)
                        .map(|(_, o)| (*o).to_owned())
                        .or_else(|| is_dotted_oid(v).then(|| v.to_owned()))
                        .ok_or_else(|| {
                            invalid(format!(
                                "signed_props: commitment type {v:?} is neither a dotted OID nor one of proofOfOrigin, proofOfReceipt, proofOfDelivery, proofOfSender, proofOfApproval, proofOfCreation"
                            ))
                        })?;
                    if !props.commitment_types.contains(&oid) {
                        props.commitment_types.push(oid);
                    }
                }
                Prop::Place => {
                    let v = value.ok_or_else(needs_value)?;
                    set_once(&mut props.production_place, parse_place(v)?, name)?;
                }
                Prop::Role => {
                    let v = value.ok_or_else(needs_value)?;
                    props.claimed_roles.push(v.to_owned());
                }
                Prop::Policy => {
                    let v = value.ok_or_else(needs_value)?;
                    set_once(&mut props.policy, parse_policy(v)?, name)?;
                }
                Prop::MimeType => {
                    let v = value.ok_or_else(needs_value)?;
                    if !v.contains('/') || v.chars().any(char::is_whitespace) {
                        return Err(invalid(format!(
                            "signed_props: {name} {v:?} is not a media type such as application/xml"
                        )));
                    }
                    set_once(&mut props.mime_type, v.to_owned(), name)?;
                }
            }
        }
        if !unknown.is_empty() {
            return Err(invalid(format!(
                "Unknown signed_props attribute_name {} for signature_format {}: supported are commitment-type-indication, signer-location, signer-role, signature-policy-identifier and mime-type (or the {} names of the same properties)",
                unknown.join(", "),
                format.letter(),
                format.name()
            )));
        }
        Ok(props)
    }
}

fn invalid(text: String) -> AdesError {
    AdesError::InvalidRequest(text)
}

fn set_once<T>(slot: &mut Option<T>, value: T, name: &str) -> Result<(), AdesError> {
    if slot.is_some() {
        return Err(invalid(format!("signed_props lists {name} twice")));
    }
    *slot = Some(value);
    Ok(())
}

fn is_dotted_oid(s: &str) -> bool {
    let mut arcs = s.split('.');
    let ok = arcs
        .clone()
        .all(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()));
    ok && arcs.next().is_some() && arcs.next().is_some() && !s.is_empty()
}

/// Text is the city; a JSON object may name `streetAddress`, `city`, `stateOrProvince`,
/// `postalCode` and `countryName`.
fn parse_place(v: &str) -> Result<ProductionPlace, AdesError> {
    if !v.starts_with('{') {
        return Ok(ProductionPlace {
            city: Some(v.to_owned()),
            ..Default::default()
        });
    }
    let bad = || {
        invalid(
            "signed_props: signer-location as JSON must be an object of strings named streetAddress, city, stateOrProvince, postalCode, countryName".into(),
        )
    };
    let value: serde_json::Value = serde_json::from_str(v).map_err(|_| bad())?;
    let obj = value.as_object().ok_or_else(bad)?;
    let mut place = ProductionPlace::default();
    for (k, v) in obj {
        let text = v.as_str().ok_or_else(bad)?.to_owned();
        let slot = match k.as_str() {
            "streetAddress" => &mut place.street_address,
            "city" => &mut place.city,
            "stateOrProvince" => &mut place.state_or_province,
            "postalCode" => &mut place.postal_code,
            "countryName" => &mut place.country_name,
            _ => return Err(bad()),
        };
        *slot = Some(text);
    }
    if place == ProductionPlace::default() {
        return Err(bad());
    }
    Ok(place)
}

/// `implied`, or `OID;hash;Base64 digest[;URI]` where hash is a hash OID or name (SHA-256).
fn parse_policy(v: &str) -> Result<Policy, AdesError> {
    if v.eq_ignore_ascii_case("implied") {
        return Ok(Policy::Implied);
    }
    let bad = || {
        invalid(format!(
            "signed_props: signature-policy-identifier {v:?} is neither \"implied\" nor \"OID;hash algorithm;Base64 digest[;URI]\""
        ))
    };
    let parts: Vec<&str> = v.split(';').map(str::trim).collect();
    let (oid, hash, digest, uri) = match parts.as_slice() {
        [oid, hash, digest] => (oid, hash, digest, None),
        [oid, hash, digest, uri] => (oid, hash, digest, Some((*uri).to_owned())),
        _ => return Err(bad()),
    };
    let oid = oid.strip_prefix("urn:oid:").unwrap_or(oid);
    if !is_dotted_oid(oid) {
        return Err(bad());
    }
    let hash = HashAlgorithm::from_oid(hash)
        .ok()
        .or_else(|| {
            HashAlgorithm::ALL
                .into_iter()
                .find(|h| h.name().eq_ignore_ascii_case(hash))
        })
        .ok_or_else(bad)?;
    let digest = signet_core::b64::decode(digest).ok_or_else(bad)?;
    if digest.len() != hash.len() {
        return Err(bad());
    }
    Ok(Policy::Explicit {
        oid: oid.to_owned(),
        hash,
        digest,
        uri,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(name: &str, value: Option<&str>) -> (String, Option<String>) {
        (name.into(), value.map(Into::into))
    }

    #[test]
    fn reads_the_shared_properties_under_every_name() {
        let p = QualifyingProps::from_csc(
            Format::Xades,
            &[
                e("commitment-type-indication", Some("proofOfApproval")),
                e("srCms", Some("1.2.3.4")),
                e("SignatureProductionPlace", Some("Brussels")),
                e("signer-role", Some("Director")),
                e("srAts", Some("CFO")),
                e("sigPId", Some("implied")),
                e("cty", Some("application/xml")),
                e("sigT", None),
            ],
        )
        .unwrap();
        assert_eq!(
            p.commitment_types,
            ["1.2.840.113549.1.9.16.6.5".to_owned(), "1.2.3.4".to_owned()]
        );
        assert_eq!(
            p.production_place.unwrap().city.as_deref(),
            Some("Brussels")
        );
        assert_eq!(p.claimed_roles, ["Director", "CFO"]);
        assert_eq!(p.policy, Some(Policy::Implied));
        assert_eq!(p.mime_type.as_deref(), Some("application/xml"));
    }

    #[test]
    fn explicit_policy_and_structured_place() {
        let digest = signet_core::b64::encode(&[7u8; 32]);
        let p = QualifyingProps::from_csc(
            Format::Jades,
            &[
                e(
                    "signature-policy-identifier",
                    Some(&format!(
                        "urn:oid:1.2.3;2.16.840.1.101.3.4.2.1;{digest};https://p.example/x"
                    )),
                ),
                e("sigPl", Some(r#"{"city":"Gent","countryName":"BE"}"#)),
            ],
        )
        .unwrap();
        assert_eq!(
            p.policy,
            Some(Policy::Explicit {
                oid: "1.2.3".into(),
                hash: HashAlgorithm::Sha256,
                digest: vec![7; 32],
                uri: Some("https://p.example/x".into()),
            })
        );
        let place = p.production_place.unwrap();
        assert_eq!(place.city.as_deref(), Some("Gent"));
        assert_eq!(place.country_name.as_deref(), Some("BE"));
    }

    #[test]
    fn refusals() {
        for bad in [
            e("Reason", Some("x")),
            e("signing-time", Some("2020")),
            e("srCms", None),
            e("srCms", Some("proofOfNothing")),
            e("sigPId", Some("1.2.3")),
            e("sigPId", Some("1.2.3;SHA-256;AAAA")),
            e("sigPl", Some(r#"{"planet":"Mars"}"#)),
            e("cty", Some("not a type")),
            e("x", Some("y")),
        ] {
            assert!(
                QualifyingProps::from_csc(Format::Xades, std::slice::from_ref(&bad)).is_err(),
                "{bad:?}"
            );
        }
        let twice = [e("sigPl", Some("A")), e("signer-location", Some("B"))];
        assert!(QualifyingProps::from_csc(Format::Jades, &twice).is_err());
    }
}
