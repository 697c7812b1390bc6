//! The `SEQUENCE { tbs, signatureAlgorithm, signature BIT STRING, ... }` shape shared by
//! certificates, CRLs and OCSP responses, and the check of its signature over the original
//! `tbs` bytes (re-encoding a decoded structure could change them and break the signature).

use signet_ades::asn1::{self, SEQUENCE, Tlv};

use crate::crypto::{self, EcdsaEncoding, SignatureAlgorithm, oid_text};

/// BIT STRING.
const BIT_STRING: u8 = 0x03;

/// A signed structure, sliced from its DER.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Signed<'a> {
    /// The to-be-signed part, as it is on the wire.
    pub tbs: Tlv<'a>,
    /// The signatureAlgorithm `AlgorithmIdentifier` TLV.
    pub algorithm: &'a [u8],
    /// The signature value (the BIT STRING without its unused-bits octet).
    pub signature: &'a [u8],
    /// What follows the signature (BasicOCSPResponse `certs`), if anything.
    pub rest: Option<Tlv<'a>>,
}

impl<'a> Signed<'a> {
    /// Slices `der` (exactly one SEQUENCE); `what` names it in errors.
    pub fn parse(der: &'a [u8], what: &str) -> Result<Self, String> {
        let bad = |m: String| format!("{what}: {m}");
        let outer = asn1::read_all(der)
            .and_then(|t| t.expect_tag(SEQUENCE, what))
            .map_err(|e| bad(e.to_string()))?;
        let parts = outer.children().map_err(|e| bad(e.to_string()))?;
        let (tbs, algorithm, bits) = match parts.as_slice() {
            [tbs, alg, bits] | [tbs, alg, bits, _] => (*tbs, *alg, *bits),
            _ => return Err(bad(format!("{} fields instead of 3", parts.len()))),
        };
        if tbs.tag != SEQUENCE || algorithm.tag != SEQUENCE || bits.tag != BIT_STRING {
            return Err(bad("unexpected field types".into()));
        }
        let signature = match bits.content.split_first() {
            Some((0, value)) => value,
            _ => return Err(bad("the signature BIT STRING has unused bits".into())),
        };
        Ok(Self {
            tbs,
            algorithm: algorithm.raw,
            signature,
            rest: parts.get(3).copied(),
        })
    }

    /// Checks the signature with the key of `spki` (a DER SubjectPublicKeyInfo).
    pub fn verify(&self, spki: &[u8]) -> Result<(), String> {
        verify(spki, self.algorithm, self.tbs.raw, self.signature)
    }
}

/// Checks `signature` over `message` with an X.509 `AlgorithmIdentifier` (ECDSA values are
/// DER, as X.509, CRLs and OCSP carry them).
pub(crate) fn verify(
    spki: &[u8],
    algorithm: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    crypto::verify(
        spki,
        signature_algorithm(algorithm)?,
        message,
        signature,
        EcdsaEncoding::Der,
    )
}

/// The algorithm of an `AlgorithmIdentifier` TLV.
fn signature_algorithm(algorithm: &[u8]) -> Result<SignatureAlgorithm, String> {
    let parts = asn1::read_all(algorithm)
        .and_then(|t| t.children())
        .map_err(|e| e.to_string())?;
    let oid = parts
        .first()
        .filter(|o| o.tag == asn1::OID)
        .ok_or("the AlgorithmIdentifier has no OID")?;
    let params = parts.get(1).map(|p| p.raw);
    SignatureAlgorithm::from_oid(&oid_text(oid.content), params, None)
}
