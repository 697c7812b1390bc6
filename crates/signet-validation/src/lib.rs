//! AdES validation (ETSI EN 319 102-1) for the four formats Signet creates — CAdES, PAdES,
//! XAdES and JAdES, B-B to B-LTA — whoever produced them, with the ETSI TS 119 102-2
//! validation report, a JSON form and a short text summary.
//!
//! The work is split the way EU DSS splits it, so that the standard's process is written once:
//!
//! 1. A **format reader** (`cades`, `pades`, `xades`, `jades`) finds the signatures in a file
//!    and checks what the format alone can check — digests, signature values, the signing
//!    certificate reference, baseline attribute rules, time-stamp imprints — into a
//!    [`SignatureEvidence`].
//! 2. **`process`** runs EN 319 102-1 over the evidence: basic validation (with the certificate
//!    path and revocation of [`x509`]), validation with time (time-stamps as proofs of
//!    existence) and long-term validation (archive time-stamps), and decides the indication,
//!    the sub-indication and the level reached.
//! 3. **`report`** writes the result as TS 119 102-2 XML, JSON or text.
//!
//! Trust comes from [`trust`]: PEM/DER anchors and EU trusted lists (TS 119 612), whose XML
//! signatures are checked. Nothing here reaches the network by itself: revocation data that
//! the signature lacks is fetched only through a [`signet_ades::ValidationData`] the caller
//! passes.
//!
//! Every reader takes hostile input: sizes, object counts and nesting are bounded by
//! [`Limits`], XML refuses DTDs, DER is read strictly, and a file that cannot be read as its
//! format gives FORMAT_FAILURE, never a panic.

#![forbid(unsafe_code)]

mod cades;
mod cms;
pub mod crypto;
mod jades;
mod model;
mod pades;
mod process;
pub mod report;
mod timestamp;
pub mod trust;
pub mod x509;
mod xades;

pub use model::*;
pub use signet_ades::Limits;
