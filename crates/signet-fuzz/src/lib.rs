//! Signet's fuzz targets: one function per parser or decision function that untrusted bytes
//! reach from the network, each calling exactly the code the server runs on them and
//! asserting the target's properties. A panic is a finding.
//!
//! `fuzz/` (cargo-fuzz, libFuzzer) runs each function as a target of the same name
//! (`scripts/fuzz`); `tests/corpus.rs` replays every committed corpus and regression input
//! through them in the normal test suite. [`TARGETS`] is the list both follow.

#![forbid(unsafe_code)]

mod csc;
mod dssx;
pub mod fixture;
mod formats;
mod judge;
mod oauth2;
mod pki;

pub use csc::{csc_v1_request, csc_v2_request};
pub use dssx::{dssx_json, dssx_xml};
pub use formats::{
    DETACHED_DOCUMENT, jws, pdf_read, revocation, timestamp_token, trusted_list, validate_cades,
    validate_pades, validate_xades, xml_c14n,
};
pub use judge::judge;
pub use oauth2::{oauth2_authorize, oauth2_par, oauth2_token};
pub use pki::{certificate, ocsp_request, tsp_request};

/// A fuzz target: its name (the cargo-fuzz target and corpus directory) and its function.
pub type Target = (&'static str, fn(&[u8]));

/// Every target.
pub const TARGETS: &[Target] = &[
    ("csc_v1_request", csc_v1_request),
    ("csc_v2_request", csc_v2_request),
    ("oauth2_authorize", oauth2_authorize),
    ("oauth2_token", oauth2_token),
    ("oauth2_par", oauth2_par),
    ("dssx_xml", dssx_xml),
    ("dssx_json", dssx_json),
    ("pdf_read", pdf_read),
    ("tsp_request", tsp_request),
    ("ocsp_request", ocsp_request),
    ("certificate", certificate),
    ("xml_c14n", xml_c14n),
    ("jws", jws),
    ("validate_cades", validate_cades),
    ("validate_pades", validate_pades),
    ("validate_xades", validate_xades),
    ("timestamp_token", timestamp_token),
    ("revocation", revocation),
    ("trusted_list", trusted_list),
    ("judge", judge),
];
