//! Dotted OIDs as they travel in CSC JSON (`hashAlgorithmOID`, `signAlgo`, `key.algo`, `key.curve`).

pub const SHA256: &str = "2.16.840.1.101.3.4.2.1";
pub const SHA384: &str = "2.16.840.1.101.3.4.2.2";
pub const SHA512: &str = "2.16.840.1.101.3.4.2.3";

pub const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
pub const MGF1: &str = "1.2.840.113549.1.1.8";
pub const RSASSA_PSS: &str = "1.2.840.113549.1.1.10";
pub const SHA256_WITH_RSA: &str = "1.2.840.113549.1.1.11";
pub const SHA384_WITH_RSA: &str = "1.2.840.113549.1.1.12";
pub const SHA512_WITH_RSA: &str = "1.2.840.113549.1.1.13";

pub const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
pub const ECDSA_WITH_SHA256: &str = "1.2.840.10045.4.3.2";
pub const ECDSA_WITH_SHA384: &str = "1.2.840.10045.4.3.3";
pub const ECDSA_WITH_SHA512: &str = "1.2.840.10045.4.3.4";

pub const CURVE_P256: &str = "1.2.840.10045.3.1.7";
pub const CURVE_P384: &str = "1.3.132.0.34";
