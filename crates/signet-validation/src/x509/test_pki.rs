//! A hand-built PKI for the tests: ECDSA P-256 keys (aws-lc-rs) and certificates, CRLs and
//! OCSP responses written field by field, so that tests can make what a real CA never would
//! (a non-CA issuer, a missing keyCertSign, a delegated OCSP responder, a tampered CRL).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use signet_ades::asn1::{self, seq, tlv};

pub const OCSP_SIGNING: &str = "1.3.6.1.5.5.7.3.9";
/// 2023-11-14T22:13:20Z, the tests' "now".
pub const NOW: i64 = 1_700_000_000;
const DAY: i64 = 86_400;

pub struct Key(EcdsaKeyPair);

impl Key {
    pub fn new() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        Self(EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap())
    }

    pub fn point(&self) -> &[u8] {
        self.0.public_key().as_ref()
    }

    pub fn spki(&self) -> Vec<u8> {
        let alg = seq(&[&oid("1.2.840.10045.2.1"), &oid("1.2.840.10045.3.1.7")]);
        seq(&[&alg, &bits(self.point())])
    }

    /// `SEQUENCE { tbs, ecdsa-with-SHA256, BIT STRING signature }`.
    pub fn sign_structure(&self, tbs: &[u8], extra: &[&[u8]]) -> Vec<u8> {
        let sig = self.0.sign(&SystemRandom::new(), tbs).unwrap();
        let mut parts: Vec<&[u8]> = vec![tbs];
        let alg = ecdsa_sha256();
        let value = bits(sig.as_ref());
        parts.push(&alg);
        parts.push(&value);
        parts.extend_from_slice(extra);
        seq(&parts)
    }
}

/// What kind of certificate to issue.
#[derive(Clone, Copy)]
pub struct Profile {
    /// basicConstraints: `None` absent, `Some((cA, pathLen))`.
    pub ca: Option<(bool, Option<u8>)>,
    /// keyUsage BIT STRING content (unused-bits octet first), `None` absent.
    pub key_usage: Option<&'static [u8]>,
    pub ocsp_signing: bool,
}

pub const CA: Profile = Profile {
    ca: Some((true, None)),
    key_usage: Some(&[0x01, 0x06]), // keyCertSign | cRLSign
    ocsp_signing: false,
};
pub const LEAF: Profile = Profile {
    ca: Some((false, None)),
    key_usage: Some(&[0x06, 0xc0]), // digitalSignature | nonRepudiation
    ocsp_signing: false,
};
pub const RESPONDER: Profile = Profile {
    ca: None,
    key_usage: Some(&[0x07, 0x80]), // digitalSignature
    ocsp_signing: true,
};

/// A certificate and its key.
pub struct Issued {
    pub der: Vec<u8>,
    pub key: Key,
    pub name: Vec<u8>,
    pub serial: u64,
}

/// A self-signed CA certificate.
pub fn root(cn: &str) -> Issued {
    let key = Key::new();
    let name = name(cn);
    let der = certificate(&name, &key, (&name, &key), 1, CA);
    Issued {
        der,
        key,
        name,
        serial: 1,
    }
}

/// A certificate for `cn` issued by `issuer`.
pub fn issue(issuer: &Issued, cn: &str, serial: u64, profile: Profile) -> Issued {
    let key = Key::new();
    let name = name(cn);
    let der = certificate(&name, &key, (&issuer.name, &issuer.key), serial, profile);
    Issued {
        der,
        key,
        name,
        serial,
    }
}

/// A certificate for `subject`'s name and key issued by `issuer` (a cross-certificate).
pub fn issue_with_key(issuer: &Issued, subject: &Issued, serial: u64, profile: Profile) -> Vec<u8> {
    certificate(
        &subject.name,
        &subject.key,
        (&issuer.name, &issuer.key),
        serial,
        profile,
    )
}

fn certificate(
    subject: &[u8],
    key: &Key,
    (issuer, issuer_key): (&[u8], &Key),
    serial: u64,
    profile: Profile,
) -> Vec<u8> {
    let mut exts = Vec::new();
    if let Some((ca, path_len)) = profile.ca {
        let mut fields = Vec::new();
        if ca {
            fields.push(vec![0x01, 0x01, 0xff]);
        }
        if let Some(n) = path_len {
            fields.push(asn1::uint(n.into()));
        }
        let parts: Vec<&[u8]> = fields.iter().map(Vec::as_slice).collect();
        exts.push(extension("2.5.29.19", true, &seq(&parts)));
    }
    if let Some(ku) = profile.key_usage {
        exts.push(extension("2.5.29.15", true, &tlv(0x03, ku)));
    }
    if profile.ocsp_signing {
        exts.push(extension("2.5.29.37", false, &seq(&[&oid(OCSP_SIGNING)])));
    }
    exts.push(extension(
        "2.5.29.14",
        false,
        &asn1::octet_string(&key_id(key)),
    ));
    exts.push(extension(
        "2.5.29.35",
        false,
        &seq(&[&tlv(0x80, &key_id(issuer_key))]),
    ));
    let ext_parts: Vec<&[u8]> = exts.iter().map(Vec::as_slice).collect();
    let validity = seq(&[&time(NOW - 365 * DAY), &time(NOW + 365 * DAY)]);
    let tbs = seq(&[
        &asn1::cons(asn1::ctx(0), &[&asn1::uint(2)]),
        &asn1::uint(serial),
        &ecdsa_sha256(),
        issuer,
        &validity,
        subject,
        &key.spki(),
        &asn1::cons(asn1::ctx(3), &[&seq(&ext_parts)]),
    ]);
    issuer_key.sign_structure(&tbs, &[])
}

/// A CRL of `issuer` listing `(serial, revoked at, reason code)`.
pub fn crl(issuer: &Issued, revoked: &[(u64, i64, Option<u8>)], this_update: i64) -> Vec<u8> {
    let entries: Vec<Vec<u8>> = revoked
        .iter()
        .map(|(serial, at, reason)| {
            let mut parts = vec![asn1::uint(*serial), time(*at)];
            if let Some(code) = reason {
                let value = tlv(0x0a, &[*code]);
                parts.push(seq(&[&extension("2.5.29.21", false, &value)]));
            }
            let parts: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
            seq(&parts)
        })
        .collect();
    let entry_parts: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
    let mut fields = vec![
        asn1::uint(1),
        ecdsa_sha256(),
        issuer.name.clone(),
        time(this_update),
        time(this_update + 7 * DAY),
    ];
    if !entries.is_empty() {
        fields.push(seq(&entry_parts));
    }
    let fields: Vec<&[u8]> = fields.iter().map(Vec::as_slice).collect();
    issuer.key.sign_structure(&seq(&fields), &[])
}

/// What an OCSP response says.
pub enum Status {
    Good,
    Revoked(i64, Option<u8>),
    Unknown,
}

/// A successful OCSP response about `cert` (issued by `issuer`) signed by `signer`'s key,
/// carrying `certs`; thisUpdate = producedAt = `at`, nextUpdate a day later.
pub fn ocsp(
    issuer: &Issued,
    cert: &Issued,
    status: Status,
    at: i64,
    signer: &Issued,
    certs: &[&[u8]],
) -> Vec<u8> {
    let sha1 = |d: &[u8]| {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, d);
        asn1::octet_string(digest.as_ref())
    };
    let cert_id = seq(&[
        &seq(&[&oid("1.3.14.3.2.26"), &asn1::null()]),
        &sha1(&issuer.name),
        &sha1(issuer.key.point()),
        &asn1::uint(cert.serial),
    ]);
    let status = match status {
        Status::Good => vec![0x80, 0x00],
        Status::Unknown => vec![0x82, 0x00],
        Status::Revoked(when, reason) => {
            let reason = reason.map(|r| asn1::cons(asn1::ctx(0), &[&tlv(0x0a, &[r])]));
            asn1::cons(
                asn1::ctx(1),
                &[&generalized(when), reason.as_deref().unwrap_or_default()],
            )
        }
    };
    let single = seq(&[
        &cert_id,
        &status,
        &generalized(at),
        &asn1::cons(asn1::ctx(0), &[&generalized(at + DAY)]),
    ]);
    let responder = asn1::cons(asn1::ctx(2), &[&asn1::octet_string(&key_id(&signer.key))]);
    let data = seq(&[&responder, &generalized(at), &seq(&[&single])]);
    let certs = asn1::cons(asn1::ctx(0), &[&seq(certs)]);
    let basic = signer.key.sign_structure(&data, &[&certs]);
    let bytes = seq(&[&oid("1.3.6.1.5.5.7.48.1.1"), &asn1::octet_string(&basic)]);
    seq(&[&tlv(0x0a, &[0]), &asn1::cons(asn1::ctx(0), &[&bytes])])
}

pub fn name(cn: &str) -> Vec<u8> {
    let atv = seq(&[&oid("2.5.4.3"), &asn1::utf8(cn)]);
    seq(&[&asn1::cons(asn1::SET, &[&atv])])
}

fn key_id(key: &Key) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, key.point())
        .as_ref()
        .to_vec()
}

fn extension(id: &str, critical: bool, value: &[u8]) -> Vec<u8> {
    if critical {
        seq(&[&oid(id), &[0x01, 0x01, 0xff], &asn1::octet_string(value)])
    } else {
        seq(&[&oid(id), &asn1::octet_string(value)])
    }
}

fn ecdsa_sha256() -> Vec<u8> {
    seq(&[&oid("1.2.840.10045.4.3.2")])
}

fn oid(dotted: &str) -> Vec<u8> {
    asn1::oid(dotted).unwrap()
}

fn bits(value: &[u8]) -> Vec<u8> {
    let mut content = vec![0];
    content.extend_from_slice(value);
    tlv(0x03, &content)
}

pub fn time(unix: i64) -> Vec<u8> {
    asn1::cms_time(unix).unwrap()
}

fn generalized(unix: i64) -> Vec<u8> {
    let t = time::OffsetDateTime::from_unix_timestamp(unix).unwrap();
    let text = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    tlv(asn1::GENERALIZED_TIME, text.as_bytes())
}

/// `time` as the model holds it.
pub fn at(unix: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(unix).unwrap()
}
