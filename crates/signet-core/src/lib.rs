//! Algorithms, OIDs and encodings shared by every Signet component.
//!
//! This crate does no I/O and holds no keys: it answers "what does this OID mean", "how long is
//! a SHA-384 digest" and "which signature mechanism does this `signAlgo` + `signAlgoParams`
//! select for this key", so the protocol front, the SAM and the key module agree on one answer.

#![forbid(unsafe_code)]

pub mod alg;
pub mod b64;
pub mod oid;
pub mod untrusted;
pub mod xmldsig;

pub use alg::{AlgError, HashAlgorithm, KeyType, PssSalt, SignMechanism};
pub use untrusted::{Untrusted, cap_message};
