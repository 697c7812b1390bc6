//! One X.509 certificate as path building and revocation checking need it: the raw names,
//! key and serial (compared byte for byte), the validity period and the few extensions that
//! decide whether it may issue certificates.

use der::Decode;
use signet_ades::asn1::{self, INTEGER, SEQUENCE, Tlv};
use time::OffsetDateTime;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::time::{Time, Validity};

use super::signed::Signed;

const ID_CE_SUBJECT_KEY_IDENTIFIER: &str = "2.5.29.14";
const ID_CE_KEY_USAGE: &str = "2.5.29.15";
const ID_CE_BASIC_CONSTRAINTS: &str = "2.5.29.19";
const ID_CE_AUTHORITY_KEY_IDENTIFIER: &str = "2.5.29.35";
const ID_CE_EXT_KEY_USAGE: &str = "2.5.29.37";

/// A parsed certificate. Owned, so certificates fetched while building a path can join the
/// others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cert {
    pub der: Vec<u8>,
    /// Content octets of the serialNumber INTEGER.
    pub serial: Vec<u8>,
    /// The issuer and subject Name TLVs, as on the wire.
    pub issuer: Vec<u8>,
    pub subject: Vec<u8>,
    /// The SubjectPublicKeyInfo TLV.
    pub spki: Vec<u8>,
    /// The subjectPublicKey BIT STRING value (what OCSP key hashes cover).
    pub public_key: Vec<u8>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// basicConstraints: `(cA, pathLenConstraint)`; `None` when absent.
    pub basic_constraints: Option<(bool, Option<u8>)>,
    /// keyUsage; `None` when absent (any use).
    pub key_usage: Option<KeyUsage>,
    pub subject_key_id: Option<Vec<u8>>,
    pub authority_key_id: Option<Vec<u8>>,
    /// extKeyUsage purposes, dotted; empty when absent.
    pub ext_key_usage: Vec<String>,
}

impl Cert {
    pub fn parse(der: &[u8]) -> Result<Self, String> {
        let signed = Signed::parse(der, "certificate")?;
        let bad = |m: String| format!("certificate: {m}");
        let fields = signed.tbs.children().map_err(|e| bad(e.to_string()))?;
        // TBSCertificate (RFC 5280 §4.1): [0] version OPTIONAL, serialNumber, signature,
        // issuer, validity, subject, subjectPublicKeyInfo, [1], [2], [3] extensions.
        let skip = usize::from(fields.first().is_some_and(|f| f.tag == asn1::ctx(0)));
        let field = |i: usize, tag: u8, name: &str| {
            fields
                .get(skip + i)
                .filter(|f| f.tag == tag)
                .copied()
                .ok_or_else(|| bad(format!("{name} is missing or of the wrong type")))
        };
        let serial = field(0, INTEGER, "serialNumber")?;
        let issuer = field(2, SEQUENCE, "issuer")?;
        let validity = field(3, SEQUENCE, "validity")?;
        let subject = field(4, SEQUENCE, "subject")?;
        let spki = field(5, SEQUENCE, "subjectPublicKeyInfo")?;
        let validity =
            Validity::from_der(validity.raw).map_err(|e| bad(format!("validity: {e}")))?;
        let mut cert = Self {
            der: der.to_vec(),
            serial: serial.content.to_vec(),
            issuer: issuer.raw.to_vec(),
            subject: subject.raw.to_vec(),
            spki: spki.raw.to_vec(),
            public_key: public_key(spki).map_err(bad)?,
            not_before: time_of(validity.not_before).map_err(bad)?,
            not_after: time_of(validity.not_after).map_err(bad)?,
            basic_constraints: None,
            key_usage: None,
            subject_key_id: None,
            authority_key_id: None,
            ext_key_usage: Vec::new(),
        };
        if let Some(extensions) = fields.iter().skip(skip + 6).find(|f| f.tag == asn1::ctx(3)) {
            let list = Vec::<Extension>::from_der(extensions.content)
                .map_err(|e| bad(format!("extensions: {e}")))?;
            for ext in &list {
                cert.read_extension(ext)
                    .map_err(|e| bad(format!("extension {}: {e}", ext.extn_id)))?;
            }
        }
        Ok(cert)
    }

    fn read_extension(&mut self, ext: &Extension) -> Result<(), der::Error> {
        let value = ext.extn_value.as_bytes();
        match ext.extn_id.to_string().as_str() {
            ID_CE_BASIC_CONSTRAINTS => {
                let bc = BasicConstraints::from_der(value)?;
                self.basic_constraints = Some((bc.ca, bc.path_len_constraint));
            }
            ID_CE_KEY_USAGE => self.key_usage = Some(KeyUsage::from_der(value)?),
            ID_CE_SUBJECT_KEY_IDENTIFIER => {
                self.subject_key_id = Some(SubjectKeyIdentifier::from_der(value)?.0.into_bytes());
            }
            ID_CE_AUTHORITY_KEY_IDENTIFIER => {
                let aki = AuthorityKeyIdentifier::from_der(value)?;
                self.authority_key_id = aki.key_identifier.map(|k| k.into_bytes());
            }
            ID_CE_EXT_KEY_USAGE => {
                let eku = ExtendedKeyUsage::from_der(value)?;
                self.ext_key_usage = eku.0.iter().map(ToString::to_string).collect();
            }
            _ => {}
        }
        Ok(())
    }

    /// Whether the certificate's signature verifies with `issuer`'s key.
    pub fn verify_issued_by(&self, issuer: &Cert) -> Result<(), String> {
        Signed::parse(&self.der, "certificate")?.verify(&issuer.spki)
    }

    /// Whether `issuer` may be this certificate's issuer by name or key identifier.
    pub fn names_as_issuer(&self, issuer: &Cert) -> bool {
        self.issuer == issuer.subject
            || (self.authority_key_id.is_some() && self.authority_key_id == issuer.subject_key_id)
    }

    /// Self-issued: the same name as subject and issuer (RFC 5280 §3.2).
    pub fn is_self_issued(&self) -> bool {
        self.issuer == self.subject
    }

    pub fn valid_at(&self, at: OffsetDateTime) -> bool {
        self.not_before <= at && at <= self.not_after
    }

    pub fn subject_text(&self) -> String {
        name_text(&self.subject)
    }

    pub fn issuer_text(&self) -> String {
        name_text(&self.issuer)
    }

    /// The serial number, lower-case hex without a sign octet.
    pub fn serial_hex(&self) -> String {
        data_encoding::HEXLOWER.encode(strip_zeros(&self.serial))
    }
}

/// A DER Name as RFC 4514 text (most specific RDN first).
pub(crate) fn name_text(der: &[u8]) -> String {
    Name::from_der(der).map_or_else(
        |_| format!("(unreadable name of {} bytes)", der.len()),
        |n| n.to_string(),
    )
}

/// Two serial numbers (INTEGER content octets) are equal, whatever sign octets they carry.
pub(crate) fn same_serial(a: &[u8], b: &[u8]) -> bool {
    strip_zeros(a) == strip_zeros(b)
}

fn strip_zeros(serial: &[u8]) -> &[u8] {
    let zeros = serial.iter().take_while(|b| **b == 0).count();
    serial
        .get(zeros.min(serial.len().saturating_sub(1))..)
        .unwrap_or(serial)
}

/// An X.509 `Time` (UTCTime or GeneralizedTime).
pub(crate) fn time_of(time: Time) -> Result<OffsetDateTime, String> {
    unix_time(time.to_unix_duration())
}

pub(crate) fn unix_time(since_epoch: std::time::Duration) -> Result<OffsetDateTime, String> {
    i64::try_from(since_epoch.as_secs())
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .ok_or_else(|| "time out of range".into())
}

/// A `Time` TLV as read by the DER reader.
pub(crate) fn time_tlv(tlv: Tlv<'_>) -> Result<OffsetDateTime, String> {
    time_of(Time::from_der(tlv.raw).map_err(|e| format!("time: {e}"))?)
}

fn public_key(spki: Tlv<'_>) -> Result<Vec<u8>, String> {
    let parts = spki.children().map_err(|e| e.to_string())?;
    match parts.get(1) {
        Some(bits) if bits.tag == 0x03 => match bits.content.split_first() {
            Some((0, key)) => Ok(key.to_vec()),
            _ => Err("subjectPublicKey has unused bits".into()),
        },
        _ => Err("subjectPublicKeyInfo has no subjectPublicKey".into()),
    }
}
