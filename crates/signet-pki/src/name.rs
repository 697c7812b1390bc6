//! Distinguished names built attribute by attribute.
//!
//! Values are never spliced into an RFC 4514 string and re-parsed: a username such as
//! `doe, john` would otherwise become two RDNs. Each attribute is its own single-valued RDN with
//! a typed value, so any text (commas, plus signs, quotes, leading `#`) stays one value.

use const_oid::ObjectIdentifier;
use const_oid::db::rfc4519::{C, CN, O};
use der::Any;
use der::asn1::{PrintableStringRef, SetOfVec, Utf8StringRef};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

use crate::PkiError;

/// RFC 5280 Appendix A.1: `ub-common-name INTEGER ::= 64`.
const UB_COMMON_NAME: usize = 64;
/// RFC 5280 Appendix A.1: `ub-organization-name INTEGER ::= 64`.
const UB_ORGANIZATION_NAME: usize = 64;

/// Builds `C=<country>, O=<organization>, CN=<common_name>` in DER order (most significant RDN
/// first, RFC 5280 §4.1.2.4), i.e. `CN=…,O=…,C=…` as an RFC 4514 string.
///
/// CN and O are UTF8String (RFC 5280 §4.1.2.6: new certificates MUST use UTF8String for
/// DirectoryString); C is a two-letter PrintableString (X520countryName, ISO 3166).
pub(crate) fn build(
    common_name: &str,
    organization: Option<&str>,
    country: Option<&str>,
) -> Result<Name, PkiError> {
    let mut rdns = Vec::with_capacity(3);
    if let Some(country) = country {
        rdns.push(country_rdn(country)?);
    }
    if let Some(organization) = organization {
        check_directory_string("organization", organization, UB_ORGANIZATION_NAME)?;
        rdns.push(utf8_rdn(O, organization)?);
    }
    check_directory_string("common name", common_name, UB_COMMON_NAME)?;
    rdns.push(utf8_rdn(CN, common_name)?);
    Ok(RdnSequence(rdns))
}

/// Refuses values strict validators reject (empty, longer than the ASN.1 upper bound) and
/// control characters, which have no business in a name and enable display spoofing.
fn check_directory_string(what: &str, value: &str, upper_bound: usize) -> Result<(), PkiError> {
    let chars = value.chars().count();
    if chars == 0 {
        return Err(PkiError::InvalidName(format!("{what} is empty")));
    }
    if chars > upper_bound {
        return Err(PkiError::InvalidName(format!(
            "{what} has {chars} characters; RFC 5280 allows at most {upper_bound}"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(PkiError::InvalidName(format!(
            "{what} contains control characters"
        )));
    }
    Ok(())
}

fn utf8_rdn(oid: ObjectIdentifier, value: &str) -> Result<RelativeDistinguishedName, PkiError> {
    let value = Any::encode_from(&Utf8StringRef::new(value)?)?;
    single_rdn(oid, value)
}

fn country_rdn(country: &str) -> Result<RelativeDistinguishedName, PkiError> {
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(PkiError::InvalidName(format!(
            "country {country:?} is not a two-letter ISO 3166 code"
        )));
    }
    let upper = country.to_ascii_uppercase();
    let value = Any::encode_from(&PrintableStringRef::new(&upper)?)?;
    single_rdn(C, value)
}

fn single_rdn(oid: ObjectIdentifier, value: Any) -> Result<RelativeDistinguishedName, PkiError> {
    let set = SetOfVec::try_from(vec![AttributeTypeAndValue { oid, value }])?;
    Ok(RelativeDistinguishedName(set))
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Encode;

    #[test]
    fn display_is_rfc4514_with_escaping() {
        let name = build("doe, john+x", Some("Signet Demo"), Some("de")).unwrap();
        assert_eq!(name.to_string(), r"CN=doe\, john\+x,O=Signet Demo,C=DE");
        assert_eq!(name.0.len(), 3);
    }

    #[test]
    fn refuses_bad_values() {
        assert!(matches!(
            build("", None, None),
            Err(PkiError::InvalidName(_))
        ));
        assert!(matches!(
            build(&"a".repeat(65), None, None),
            Err(PkiError::InvalidName(_))
        ));
        assert!(build(&"é".repeat(64), None, None).is_ok());
        assert!(matches!(
            build("a\nb", None, None),
            Err(PkiError::InvalidName(_))
        ));
        assert!(matches!(
            build("a", Some(""), None),
            Err(PkiError::InvalidName(_))
        ));
        assert!(matches!(
            build("a", None, Some("DEU")),
            Err(PkiError::InvalidName(_))
        ));
        assert!(matches!(
            build("a", None, Some("D1")),
            Err(PkiError::InvalidName(_))
        ));
    }

    #[test]
    fn encodes_utf8_and_printable() {
        let der = build("alice", None, Some("FR")).unwrap().to_der().unwrap();
        // PrintableString "FR" and UTF8String "alice".
        assert!(der.windows(4).any(|w| w == [0x13, 0x02, b'F', b'R']));
        assert!(
            der.windows(7)
                .any(|w| w == [0x0c, 0x05, b'a', b'l', b'i', b'c', b'e'])
        );
    }
}
