//! The SAM's Prometheus metrics: signatures, authorization failures and the life of SADs.
//!
//! They are counted here, where the events happen, rather than in the HTTP front, so that every
//! path to a signature (CSC v1/v2, OAuth2 credential tokens, decoupled approval) is counted once
//! and exactly when the SAM decided. The `metrics` facade is a no-op until a recorder is
//! installed (`signet serve` installs the Prometheus one), so library users pay nothing.
//!
//! Label values come from closed sets (algorithm names, backend names, reason codes): never
//! user input, so the number of series stays bounded.

use metrics::{Unit, counter, describe_counter};
use signet_store::SadRefusal;

/// Signature values created, by algorithm (e.g. `ecdsa-sha256`) and key module backend.
pub const SIGNATURES: &str = "signet_signatures_total";
/// Refused signer authorizations and SAD uses, by reason (`invalid_pin`, `expired_sad`, ...).
pub const AUTHORIZATION_FAILURES: &str = "signet_authorization_failures_total";
/// SADs issued: credentials/authorize, extendTransaction, OAuth2 credential tokens, approvals.
pub const SAD_ISSUED: &str = "signet_sad_issued_total";
/// SAD uses that authorized a signHash (a multi-signature SAD counts once per use).
pub const SAD_SPENT: &str = "signet_sad_spent_total";
/// SADs that expired: refused at use for being expired, or purged unused after expiry.
pub const SAD_EXPIRED: &str = "signet_sad_expired_total";

/// Registers descriptions, and the unlabelled counters at zero so that they are scraped (and
/// alert rules see a series) before the first event.
pub fn describe() {
    describe_counter!(
        SIGNATURES,
        Unit::Count,
        "Signature values created, by algorithm and key module backend"
    );
    describe_counter!(
        AUTHORIZATION_FAILURES,
        Unit::Count,
        "Refused signer authorizations and SAD uses, by reason"
    );
    describe_counter!(SAD_ISSUED, Unit::Count, "SADs issued");
    describe_counter!(
        SAD_SPENT,
        Unit::Count,
        "SAD uses that authorized a signHash"
    );
    describe_counter!(
        SAD_EXPIRED,
        Unit::Count,
        "SADs refused as expired or purged after expiry"
    );
    for name in [SAD_ISSUED, SAD_SPENT, SAD_EXPIRED] {
        counter!(name).increment(0);
    }
}

pub(crate) fn signatures(algorithm: &'static str, backend: &'static str, count: usize) {
    counter!(SIGNATURES, "algorithm" => algorithm, "backend" => backend).increment(count as u64);
}

pub(crate) fn authorization_failure(reason: &'static str) {
    counter!(AUTHORIZATION_FAILURES, "reason" => reason).increment(1);
}

pub(crate) fn sad_issued() {
    counter!(SAD_ISSUED).increment(1);
}

pub(crate) fn sad_spent() {
    counter!(SAD_SPENT).increment(1);
}

pub(crate) fn sads_expired(count: u64) {
    counter!(SAD_EXPIRED).increment(count);
}

/// A refused SAD: a failure with the refusal's reason code, and an expiry when it expired.
pub(crate) fn sad_refused(reason: SadRefusal, code: &'static str) {
    authorization_failure(code);
    if reason == SadRefusal::Expired {
        sads_expired(1);
    }
}
