//! Hash algorithms, key types and the signature mechanism a request selects.
//!
//! A CSC client names a signature algorithm by OID (`signAlgo`), sometimes with a separate hash
//! OID (`hashAlgorithmOID`, v1 `hashAlgo`) and DER parameters (`signAlgoParams` for RSASSA-PSS).
//! [`SignMechanism::resolve`] turns that triple into the one operation the key module performs,
//! or says precisely why it cannot (csc-api.md §4.11, §6).

use std::fmt;
use std::str::FromStr;

use der::asn1::ObjectIdentifier;
use der::{Decode, Sequence};
use serde::{Deserialize, Serialize};
use spki::AlgorithmIdentifierOwned;

use crate::oid;

/// Why an algorithm request was refused. Messages are safe to show to clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlgError {
    #[error("Unsupported hash algorithm {0}")]
    UnsupportedHash(String),
    #[error("Unsupported signature algorithm {0}")]
    UnsupportedSignAlgo(String),
    #[error("Signature algorithm {0} is not supported by the credential key")]
    SignAlgoNotForKey(String),
    #[error("hashAlgorithmOID is required for signature algorithm {0}")]
    HashRequired(String),
    #[error("hashAlgorithmOID {hash} contradicts signature algorithm {sign}")]
    HashContradicts { hash: String, sign: String },
    #[error("Invalid signAlgoParams: {0}")]
    InvalidParams(&'static str),
    #[error("Unknown key type {0} (expected ec-p256, ec-p384, rsa-2048, rsa-3072 or rsa-4096)")]
    UnknownKeyType(String),
}

/// Digest algorithms accepted for signing. Nothing weaker than SHA-256 (ETSI TS 119 312).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HashAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlgorithm {
    pub const ALL: [HashAlgorithm; 3] = [Self::Sha256, Self::Sha384, Self::Sha512];

    pub fn from_oid(dotted: &str) -> Result<Self, AlgError> {
        match dotted {
            oid::SHA256 => Ok(Self::Sha256),
            oid::SHA384 => Ok(Self::Sha384),
            oid::SHA512 => Ok(Self::Sha512),
            other => Err(AlgError::UnsupportedHash(other.to_owned())),
        }
    }

    pub fn oid(self) -> &'static str {
        match self {
            Self::Sha256 => oid::SHA256,
            Self::Sha384 => oid::SHA384,
            Self::Sha512 => oid::SHA512,
        }
    }

    /// Digest length in bytes.
    #[allow(clippy::len_without_is_empty)] // a digest length, not a container
    pub fn len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
        }
    }

    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        aws_lc_rs::digest::digest(self.aws_lc(), data)
            .as_ref()
            .to_vec()
    }

    pub fn aws_lc(self) -> &'static aws_lc_rs::digest::Algorithm {
        match self {
            Self::Sha256 => &aws_lc_rs::digest::SHA256,
            Self::Sha384 => &aws_lc_rs::digest::SHA384,
            Self::Sha512 => &aws_lc_rs::digest::SHA512,
        }
    }

    /// DER prefix of `DigestInfo ::= SEQUENCE { digestAlgorithm, digest OCTET STRING }` up to the
    /// digest bytes (RFC 8017 §9.2 note 1), so that `prefix || digest` is the DigestInfo.
    pub fn digest_info_prefix(self) -> &'static [u8] {
        match self {
            Self::Sha256 => &[
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20,
            ],
            Self::Sha384 => &[
                0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x02, 0x05, 0x00, 0x04, 0x30,
            ],
            Self::Sha512 => &[
                0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x03, 0x05, 0x00, 0x04, 0x40,
            ],
        }
    }

    /// `prefix || digest`: the DigestInfo that RSASSA-PKCS1-v1_5 pads and signs.
    pub fn digest_info(self, digest: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.digest_info_prefix().len() + digest.len());
        out.extend_from_slice(self.digest_info_prefix());
        out.extend_from_slice(digest);
        out
    }
}

/// Key types a credential can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KeyType {
    EcP256,
    EcP384,
    Rsa2048,
    Rsa3072,
    Rsa4096,
}

const EC_SIGN_ALGOS: &[&str] = &[
    oid::ECDSA_WITH_SHA256,
    oid::ECDSA_WITH_SHA384,
    oid::ECDSA_WITH_SHA512,
];
const RSA_SIGN_ALGOS: &[&str] = &[
    oid::SHA256_WITH_RSA,
    oid::SHA384_WITH_RSA,
    oid::SHA512_WITH_RSA,
    oid::RSA_ENCRYPTION,
    oid::RSASSA_PSS,
];

impl KeyType {
    pub const ALL: [KeyType; 5] = [
        Self::EcP256,
        Self::EcP384,
        Self::Rsa2048,
        Self::Rsa3072,
        Self::Rsa4096,
    ];

    /// The name used on the command line and in the database.
    pub fn name(self) -> &'static str {
        match self {
            Self::EcP256 => "ec-p256",
            Self::EcP384 => "ec-p384",
            Self::Rsa2048 => "rsa-2048",
            Self::Rsa3072 => "rsa-3072",
            Self::Rsa4096 => "rsa-4096",
        }
    }

    /// Key size in bits (CSC `key.len`).
    pub fn bits(self) -> u32 {
        match self {
            Self::EcP256 => 256,
            Self::EcP384 => 384,
            Self::Rsa2048 => 2048,
            Self::Rsa3072 => 3072,
            Self::Rsa4096 => 4096,
        }
    }

    pub fn is_rsa(self) -> bool {
        matches!(self, Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096)
    }

    /// CSC `key.curve` (EC keys only).
    pub fn curve_oid(self) -> Option<&'static str> {
        match self {
            Self::EcP256 => Some(oid::CURVE_P256),
            Self::EcP384 => Some(oid::CURVE_P384),
            _ => None,
        }
    }

    /// Every `signAlgo` this key accepts: CSC `key.algo`.
    pub fn sign_algorithms(self) -> &'static [&'static str] {
        if self.is_rsa() {
            RSA_SIGN_ALGOS
        } else {
            EC_SIGN_ALGOS
        }
    }

    /// The hash a signer of this key uses by default (certificates, CRLs issued by it).
    pub fn default_hash(self) -> HashAlgorithm {
        match self {
            Self::EcP384 => HashAlgorithm::Sha384,
            _ => HashAlgorithm::Sha256,
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeyType {
    type Err = AlgError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| AlgError::UnknownKeyType(s.to_owned()))
    }
}

/// The single operation the key module performs over a precomputed digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SignMechanism {
    /// ECDSA over the digest; the value is DER `SEQUENCE { r, s }` (what CMS and pyHanko expect).
    Ecdsa { hash: HashAlgorithm },
    /// RSASSA-PKCS1-v1_5 over `DigestInfo(hash, digest)`.
    RsaPkcs1 { hash: HashAlgorithm },
    /// RSASSA-PSS with MGF1 over the same hash.
    RsaPss { hash: HashAlgorithm, salt: PssSalt },
}

/// The RSASSA-PSS salt lengths Signet signs with. RFC 8017 allows any length; real clients use
/// one of these two: the digest length (RFC 4055's recommendation, the default without
/// parameters) or the maximum `emLen - hLen - 2` (pyHanko, via `cryptography`'s
/// `calculate_max_pss_salt_length`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PssSalt {
    DigestLength,
    Maximum,
}

impl PssSalt {
    /// The salt length in bytes for `hash` and an RSA key of `key_type`.
    pub fn len(self, hash: HashAlgorithm, key_type: KeyType) -> usize {
        match self {
            Self::DigestLength => hash.len(),
            Self::Maximum => (key_type.bits() as usize).div_ceil(8) - hash.len() - 2,
        }
    }
}

/// RSASSA-PSS-params (RFC 8017 A.2.3). Absent fields take the (SHA-1) defaults, which we refuse.
#[derive(Sequence)]
struct PssParams {
    #[asn1(context_specific = "0", optional = "true")]
    hash: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", optional = "true")]
    mask_gen: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", optional = "true")]
    salt_length: Option<u32>,
    #[asn1(context_specific = "3", optional = "true")]
    trailer_field: Option<u32>,
}

impl SignMechanism {
    pub fn hash(self) -> HashAlgorithm {
        match self {
            Self::Ecdsa { hash } | Self::RsaPkcs1 { hash } | Self::RsaPss { hash, .. } => hash,
        }
    }

    /// Short, stable name for audit records and metrics, e.g. `ecdsa-sha256`.
    pub fn name(self) -> &'static str {
        use HashAlgorithm::*;
        match self {
            Self::Ecdsa { hash: Sha256 } => "ecdsa-sha256",
            Self::Ecdsa { hash: Sha384 } => "ecdsa-sha384",
            Self::Ecdsa { hash: Sha512 } => "ecdsa-sha512",
            Self::RsaPkcs1 { hash: Sha256 } => "rsa-pkcs1-sha256",
            Self::RsaPkcs1 { hash: Sha384 } => "rsa-pkcs1-sha384",
            Self::RsaPkcs1 { hash: Sha512 } => "rsa-pkcs1-sha512",
            Self::RsaPss {
                hash: Sha256,
                salt: PssSalt::DigestLength,
            } => "rsa-pss-sha256",
            Self::RsaPss {
                hash: Sha384,
                salt: PssSalt::DigestLength,
            } => "rsa-pss-sha384",
            Self::RsaPss {
                hash: Sha512,
                salt: PssSalt::DigestLength,
            } => "rsa-pss-sha512",
            Self::RsaPss {
                hash: Sha256,
                salt: PssSalt::Maximum,
            } => "rsa-pss-sha256-maxsalt",
            Self::RsaPss {
                hash: Sha384,
                salt: PssSalt::Maximum,
            } => "rsa-pss-sha384-maxsalt",
            Self::RsaPss {
                hash: Sha512,
                salt: PssSalt::Maximum,
            } => "rsa-pss-sha512-maxsalt",
        }
    }

    /// The OID naming this mechanism in an X.509 / CMS AlgorithmIdentifier.
    pub fn signature_oid(self) -> &'static str {
        use HashAlgorithm::*;
        match self {
            Self::Ecdsa { hash: Sha256 } => oid::ECDSA_WITH_SHA256,
            Self::Ecdsa { hash: Sha384 } => oid::ECDSA_WITH_SHA384,
            Self::Ecdsa { hash: Sha512 } => oid::ECDSA_WITH_SHA512,
            Self::RsaPkcs1 { hash: Sha256 } => oid::SHA256_WITH_RSA,
            Self::RsaPkcs1 { hash: Sha384 } => oid::SHA384_WITH_RSA,
            Self::RsaPkcs1 { hash: Sha512 } => oid::SHA512_WITH_RSA,
            Self::RsaPss { .. } => oid::RSASSA_PSS,
        }
    }

    /// The default mechanism for a key: what the embedded CA uses with its own key.
    pub fn default_for(key: KeyType) -> Self {
        let hash = key.default_hash();
        if key.is_rsa() {
            Self::RsaPkcs1 { hash }
        } else {
            Self::Ecdsa { hash }
        }
    }

    /// Resolves a client's `signAlgo` (+ `hashAlgorithmOID`, + `signAlgoParams` DER) for `key`.
    ///
    /// Rules (csc-api.md §4.11): the signature OID must be one the key advertises in `key.algo`;
    /// a hash OID is required when the signature OID implies none (rsaEncryption, RSASSA-PSS
    /// without parameters) and must not contradict one that does.
    pub fn resolve(
        key: KeyType,
        sign_algo: &str,
        hash_algo: Option<&str>,
        params: Option<&[u8]>,
    ) -> Result<Self, AlgError> {
        let hash = hash_algo.map(HashAlgorithm::from_oid).transpose()?;
        let implied = match sign_algo {
            oid::ECDSA_WITH_SHA256 | oid::SHA256_WITH_RSA => Some(HashAlgorithm::Sha256),
            oid::ECDSA_WITH_SHA384 | oid::SHA384_WITH_RSA => Some(HashAlgorithm::Sha384),
            oid::ECDSA_WITH_SHA512 | oid::SHA512_WITH_RSA => Some(HashAlgorithm::Sha512),
            oid::RSA_ENCRYPTION | oid::RSASSA_PSS | oid::EC_PUBLIC_KEY => None,
            other => return Err(AlgError::UnsupportedSignAlgo(other.to_owned())),
        };
        // id-ecPublicKey is a key OID some clients send as signAlgo; accept it with a hash.
        let for_key = key.sign_algorithms().contains(&sign_algo)
            || (sign_algo == oid::EC_PUBLIC_KEY && !key.is_rsa());
        if !for_key {
            return Err(AlgError::SignAlgoNotForKey(sign_algo.to_owned()));
        }
        let (from_params, salt) = match (sign_algo, params) {
            (oid::RSASSA_PSS, Some(der)) => {
                let (hash, salt) = parse_pss_params(der, key)?;
                (Some(hash), salt)
            }
            _ => (None, PssSalt::DigestLength),
        };
        let chosen = implied.or(from_params).or(hash);
        let Some(chosen) = chosen else {
            return Err(AlgError::HashRequired(sign_algo.to_owned()));
        };
        for given in [hash, from_params].into_iter().flatten() {
            if given != chosen {
                return Err(AlgError::HashContradicts {
                    hash: given.oid().to_owned(),
                    sign: sign_algo.to_owned(),
                });
            }
        }
        Ok(match sign_algo {
            oid::RSASSA_PSS => Self::RsaPss { hash: chosen, salt },
            _ if key.is_rsa() => Self::RsaPkcs1 { hash: chosen },
            _ => Self::Ecdsa { hash: chosen },
        })
    }
}

/// Parses RSASSA-PSS-params and returns the hash and salt, accepting only what the key module
/// can do: MGF1 with the same hash, a [`PssSalt`] length, trailer field 1.
fn parse_pss_params(der: &[u8], key: KeyType) -> Result<(HashAlgorithm, PssSalt), AlgError> {
    let params = PssParams::from_der(der)
        .map_err(|_| AlgError::InvalidParams("not DER RSASSA-PSS-params"))?;
    let hash_id = params.hash.ok_or(AlgError::InvalidParams(
        "SHA-1 (the default hash) is not allowed",
    ))?;
    let hash = HashAlgorithm::from_oid(&hash_id.oid.to_string())?;
    let mgf = params.mask_gen.ok_or(AlgError::InvalidParams(
        "MGF1 with SHA-1 (the default) is not allowed",
    ))?;
    if mgf.oid != ObjectIdentifier::new_unwrap(oid::MGF1) {
        return Err(AlgError::InvalidParams(
            "mask generation function must be MGF1",
        ));
    }
    let mgf_hash = mgf
        .parameters
        .as_ref()
        .and_then(|any| any.decode_as::<AlgorithmIdentifierOwned>().ok())
        .ok_or(AlgError::InvalidParams("MGF1 parameters missing"))?;
    if mgf_hash.oid != hash_id.oid {
        return Err(AlgError::InvalidParams(
            "MGF1 hash must equal the message hash",
        ));
    }
    let salt_len = params.salt_length.unwrap_or(20) as usize;
    let salt = [PssSalt::DigestLength, PssSalt::Maximum]
        .into_iter()
        .find(|s| s.len(hash, key) == salt_len)
        .ok_or(AlgError::InvalidParams(
            "salt length must be the digest length or the maximum for the key",
        ))?;
    if params.trailer_field.unwrap_or(1) != 1 {
        return Err(AlgError::InvalidParams("trailer field must be 1"));
    }
    Ok((hash, salt))
}

/// DER RSASSA-PSS-params for `hash` with MGF1(`hash`) and salt = digest length: what we put in
/// certificates and CMS when signing with PSS, and what `info.signAlgorithms.algoParams` lists.
pub fn pss_params_der(hash: HashAlgorithm) -> Vec<u8> {
    use der::Encode;
    let hash_id = AlgorithmIdentifierOwned {
        oid: ObjectIdentifier::new_unwrap(hash.oid()),
        parameters: Some(der::Any::null()),
    };
    let mgf_params = der::Any::encode_from(&hash_id).ok();
    let params = PssParams {
        hash: Some(hash_id.clone()),
        mask_gen: Some(AlgorithmIdentifierOwned {
            oid: ObjectIdentifier::new_unwrap(oid::MGF1),
            parameters: mgf_params,
        }),
        salt_length: Some(hash.len() as u32),
        trailer_field: None,
    };
    params.to_der().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_info_is_der() {
        for h in HashAlgorithm::ALL {
            let info = h.digest_info(&vec![0xab; h.len()]);
            assert_eq!(info.len(), info[1] as usize + 2, "{h:?}");
            assert_eq!(info[info.len() - h.len() - 1] as usize, h.len());
        }
    }

    #[test]
    fn resolves_ecdsa_and_rsa() {
        assert_eq!(
            SignMechanism::resolve(KeyType::EcP256, oid::ECDSA_WITH_SHA256, None, None),
            Ok(SignMechanism::Ecdsa {
                hash: HashAlgorithm::Sha256
            })
        );
        // pyHanko always sends hashAlgo too; a consistent one is fine.
        assert_eq!(
            SignMechanism::resolve(
                KeyType::Rsa2048,
                oid::SHA384_WITH_RSA,
                Some(oid::SHA384),
                None
            ),
            Ok(SignMechanism::RsaPkcs1 {
                hash: HashAlgorithm::Sha384
            })
        );
        assert_eq!(
            SignMechanism::resolve(
                KeyType::Rsa2048,
                oid::RSA_ENCRYPTION,
                Some(oid::SHA512),
                None
            ),
            Ok(SignMechanism::RsaPkcs1 {
                hash: HashAlgorithm::Sha512
            })
        );
    }

    #[test]
    fn refuses_wrong_combinations() {
        assert_eq!(
            SignMechanism::resolve(KeyType::EcP256, oid::SHA256_WITH_RSA, None, None),
            Err(AlgError::SignAlgoNotForKey(oid::SHA256_WITH_RSA.into()))
        );
        assert_eq!(
            SignMechanism::resolve(KeyType::Rsa2048, oid::RSA_ENCRYPTION, None, None),
            Err(AlgError::HashRequired(oid::RSA_ENCRYPTION.into()))
        );
        assert_eq!(
            SignMechanism::resolve(
                KeyType::EcP256,
                oid::ECDSA_WITH_SHA256,
                Some(oid::SHA512),
                None
            ),
            Err(AlgError::HashContradicts {
                hash: oid::SHA512.into(),
                sign: oid::ECDSA_WITH_SHA256.into()
            })
        );
        assert_eq!(
            SignMechanism::resolve(KeyType::EcP256, "1.2.3", None, None),
            Err(AlgError::UnsupportedSignAlgo("1.2.3".into()))
        );
        assert!(matches!(
            SignMechanism::resolve(
                KeyType::EcP256,
                oid::ECDSA_WITH_SHA256,
                Some("1.3.14.3.2.26"),
                None
            ),
            Err(AlgError::UnsupportedHash(_))
        ));
    }

    #[test]
    fn pss_params_round_trip() {
        for h in HashAlgorithm::ALL {
            let der = pss_params_der(h);
            assert_eq!(
                SignMechanism::resolve(KeyType::Rsa3072, oid::RSASSA_PSS, None, Some(&der)),
                Ok(SignMechanism::RsaPss {
                    hash: h,
                    salt: PssSalt::DigestLength
                })
            );
        }
        let der = pss_params_der(HashAlgorithm::Sha256);
        assert!(matches!(
            SignMechanism::resolve(
                KeyType::Rsa3072,
                oid::RSASSA_PSS,
                Some(oid::SHA384),
                Some(&der)
            ),
            Err(AlgError::HashContradicts { .. })
        ));
        assert!(matches!(
            SignMechanism::resolve(KeyType::Rsa3072, oid::RSASSA_PSS, None, Some(&[0x30, 0x00])),
            Err(AlgError::InvalidParams(_))
        ));
        assert!(matches!(
            SignMechanism::resolve(KeyType::Rsa3072, oid::RSASSA_PSS, None, Some(b"junk")),
            Err(AlgError::InvalidParams(_))
        ));
    }

    #[test]
    fn pss_maximum_salt_as_pyhanko_sends_it() {
        use der::Encode;
        // pyHanko: salt = emLen - hLen - 2 = 256 - 32 - 2 = 222 for RSA-2048 with SHA-256.
        let mut params = PssParams::from_der(&pss_params_der(HashAlgorithm::Sha256)).unwrap();
        params.salt_length = Some(222);
        let der = params.to_der().unwrap();
        assert_eq!(
            SignMechanism::resolve(
                KeyType::Rsa2048,
                oid::RSASSA_PSS,
                Some(oid::SHA256),
                Some(&der)
            ),
            Ok(SignMechanism::RsaPss {
                hash: HashAlgorithm::Sha256,
                salt: PssSalt::Maximum
            })
        );
        assert_eq!(
            PssSalt::Maximum.len(HashAlgorithm::Sha512, KeyType::Rsa4096),
            512 - 64 - 2
        );
        // The same salt on a bigger key is neither policy.
        assert!(matches!(
            SignMechanism::resolve(KeyType::Rsa3072, oid::RSASSA_PSS, None, Some(&der)),
            Err(AlgError::InvalidParams(_))
        ));
        params.salt_length = Some(20);
        let der = params.to_der().unwrap();
        assert!(matches!(
            SignMechanism::resolve(KeyType::Rsa2048, oid::RSASSA_PSS, None, Some(&der)),
            Err(AlgError::InvalidParams(_))
        ));
    }

    #[test]
    fn key_type_names() {
        for k in KeyType::ALL {
            assert_eq!(k.name().parse::<KeyType>(), Ok(k));
        }
        assert!("dsa-1024".parse::<KeyType>().is_err());
    }
}
