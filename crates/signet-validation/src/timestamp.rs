//! RFC 3161 time-stamp tokens: read, check the TSA's CMS signature, compare the imprint.

use signet_ades::asn1::{self, OCTET_STRING, SEQUENCE};
use signet_ades::oids;
use signet_core::HashAlgorithm;
use time::OffsetDateTime;

use crate::cms;
use crate::{Check, TimestampEvidence, TimestampKind};

/// A time-stamp token, read and its CMS signature checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub gen_time: OffsetDateTime,
    /// The messageImprint's hash algorithm and digest.
    pub hash: HashAlgorithm,
    pub imprint: Vec<u8>,
    /// The certificate that signed the token, DER.
    pub tsa_certificate: Option<Vec<u8>>,
    /// All certificates in the token, DER.
    pub certificates: Vec<Vec<u8>>,
    /// The token's CMS signature (message digest of the TSTInfo, signature value).
    pub signature_value: Check,
}

/// The messageImprint and genTime of a DER `TSTInfo` (RFC 3161 §2.4.2).
fn tst_info(der: &[u8]) -> Result<(HashAlgorithm, Vec<u8>, OffsetDateTime), String> {
    let bad = |m: &str| format!("malformed TSTInfo: {m}");
    let fields = asn1::read_all(der)
        .and_then(|t| t.expect_tag(SEQUENCE, "TSTInfo"))
        .and_then(|t| t.children())
        .map_err(|e| bad(&e.to_string()))?;
    // version, policy, messageImprint, serialNumber, genTime, ...
    let (Some(imprint), Some(gen_time)) = (fields.get(2), fields.get(4)) else {
        return Err(bad("too few fields"));
    };
    let imprint = imprint.children().map_err(|e| bad(&e.to_string()))?;
    let (Some(alg), Some(value)) = (imprint.first(), imprint.get(1)) else {
        return Err(bad("incomplete messageImprint"));
    };
    let (oid, _) = cms::algorithm(alg)?;
    let hash = HashAlgorithm::from_oid(&oid)
        .map_err(|_| format!("the time-stamp's hash algorithm {oid} is not supported"))?;
    if value.tag != OCTET_STRING {
        return Err(bad("hashedMessage is not an OCTET STRING"));
    }
    // RFC 3161 §2.4.1: the hashedMessage is a digest of the named algorithm (a longer or
    // shorter one could never match, and would be reported as a wrong imprint).
    if value.content.len() != hash.len() {
        return Err(bad(&format!(
            "a {} hashedMessage of {} bytes",
            hash.name(),
            value.content.len()
        )));
    }
    if gen_time.tag != asn1::GENERALIZED_TIME {
        return Err(bad("genTime is not a GeneralizedTime"));
    }
    Ok((hash, value.content.to_vec(), cms::asn1_time(gen_time)?))
}

/// Reads a DER `TimeStampToken` and checks its CMS signature.
///
/// The token's signature value, the message digest of the TSTInfo and, when the token has one,
/// its ESS signing certificate reference make up `signature_value`. A token without an ESS
/// reference is accepted here (its signer is identified by the SignerInfo alone); RFC 3161
/// requires one, but refusing it would say nothing about the time.
pub fn read_token(token: &[u8]) -> Result<TokenInfo, String> {
    let der = cms::to_der(token)?;
    let sd = cms::parse(&der)?;
    if crate::crypto::oid_text(sd.econtent_type.content) != oids::TST_INFO {
        return Err("the token's content is not a TSTInfo".into());
    }
    let tst = sd.econtent.ok_or("the token has no TSTInfo")?;
    let (hash, imprint, gen_time) = tst_info(tst)?;
    let [si] = sd.signer_infos.as_slice() else {
        return Err("a time-stamp token must have exactly one SignerInfo".into());
    };
    let check = cms::check_signer(&sd, si, Some(&[tst]), &[]);
    let reference = if check.has_certificate_reference {
        check.certificate_reference.clone()
    } else {
        Check::Passed
    };
    // A TSA need not add signing-time; a missing ESS reference is accepted (see above).
    let content_type = check
        .constraint_failures
        .iter()
        .find(|f| f.as_str() != cms::ESS_MISSING)
        .map(|f| Check::Failed(format!("time-stamp token: {f}")));
    let signature_value = [
        check.signature_value.clone(),
        check.intact.clone(),
        reference,
        content_type.unwrap_or(Check::Passed),
    ]
    .into_iter()
    .find(|c| !c.passed())
    .unwrap_or(Check::Passed);
    Ok(TokenInfo {
        gen_time,
        hash,
        imprint,
        tsa_certificate: check.certificate,
        certificates: sd.certificates().into_iter().map(<[u8]>::to_vec).collect(),
        signature_value,
    })
}

/// The evidence of a time-stamp `token` of `kind`, whose imprint must equal `covered(hash)`:
/// the digest, with the token's own hash algorithm, of what the time-stamp covers.
pub fn evidence(
    kind: TimestampKind,
    token: Vec<u8>,
    covered: &dyn Fn(HashAlgorithm) -> Vec<u8>,
) -> TimestampEvidence {
    match read_token(&token) {
        Ok(info) => TimestampEvidence {
            kind,
            time: Some(info.gen_time),
            intact: Check::from_bool(covered(info.hash) == info.imprint, || {
                "the time-stamp's message imprint does not match what it covers".into()
            }),
            signature_value: info.signature_value,
            tsa_certificate: info.tsa_certificate,
            certificates: info.certificates,
            token,
        },
        Err(e) => TimestampEvidence {
            kind,
            token,
            time: None,
            tsa_certificate: None,
            certificates: Vec::new(),
            intact: Check::NotChecked(e.clone()),
            signature_value: Check::Failed(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_ades::TimeStamper;
    use signet_ades::test_pki::TestPki;

    #[test]
    fn a_token_from_the_test_tsa() {
        let pki = TestPki::new();
        let digest = HashAlgorithm::Sha256.digest(b"hello");
        let token = pki.timestamp(HashAlgorithm::Sha256, &digest).unwrap();
        let info = read_token(&token).unwrap();
        assert_eq!(info.hash, HashAlgorithm::Sha256);
        assert_eq!(info.imprint, digest);
        assert_eq!(info.signature_value, Check::Passed);
        assert_eq!(
            info.tsa_certificate.as_deref(),
            Some(pki.tsa.certificate.as_slice())
        );
        let now = OffsetDateTime::now_utc();
        assert!((now - info.gen_time).whole_seconds().abs() < 60);

        let ev = evidence(TimestampKind::Signature, token.clone(), &|h| {
            h.digest(b"hello")
        });
        assert_eq!(ev.intact, Check::Passed);
        assert_eq!(ev.signature_value, Check::Passed);
        assert_eq!(ev.time, Some(info.gen_time));
        let ev = evidence(TimestampKind::Signature, token.clone(), &|h| {
            h.digest(b"other")
        });
        assert!(matches!(ev.intact, Check::Failed(_)));

        // A flipped byte in the TSA's signature value.
        let sig_at = token.len() - 10;
        let mut bad = token.clone();
        bad[sig_at] ^= 1;
        let info = read_token(&bad).unwrap();
        assert!(matches!(info.signature_value, Check::Failed(_)), "{info:?}");

        for cut in [0, 1, 10, token.len() / 2, token.len() - 1] {
            let ev = evidence(TimestampKind::Archive, token[..cut].to_vec(), &|h| {
                h.digest(b"hello")
            });
            assert!(matches!(ev.signature_value, Check::Failed(_)));
            assert_eq!(ev.time, None);
        }
    }
}
