//! Prometheus metrics of the sealer (exported by the server's recorder, `/metrics`).
//!
//! Alert on `signet_audit_seal_failures_total` increasing (a sealer found a record it will not
//! certify, or cannot sign) and on `signet_audit_last_checkpoint_timestamp_seconds` falling
//! behind while the service is busy (summed over nodes: only the sealing node moves it).

use metrics::{Unit, counter, describe_counter, describe_gauge, gauge};

const CHECKPOINTS: &str = "signet_audit_checkpoints_total";
const FAILURES: &str = "signet_audit_seal_failures_total";
const TREE_SIZE: &str = "signet_audit_sealed_records";
const LAST: &str = "signet_audit_last_checkpoint_timestamp_seconds";

/// Describes the metrics, so `/metrics` lists them (at zero) before the first seal.
pub fn describe() {
    describe_counter!(
        CHECKPOINTS,
        Unit::Count,
        "Audit checkpoints this node sealed"
    );
    describe_counter!(
        FAILURES,
        Unit::Count,
        "Sealing rounds that failed (tampered records, a checkpoint that does not verify, signing)"
    );
    describe_gauge!(
        TREE_SIZE,
        Unit::Count,
        "Records sealed in the newest checkpoint this node made"
    );
    describe_gauge!(
        LAST,
        Unit::Seconds,
        "Unix time of the newest checkpoint this node made"
    );
    counter!(CHECKPOINTS).increment(0);
    counter!(FAILURES).increment(0);
}

pub(crate) fn sealed(tree_size: i64, time_ms: i64) {
    counter!(CHECKPOINTS).increment(1);
    gauge!(TREE_SIZE).set(tree_size as f64);
    gauge!(LAST).set(time_ms as f64 / 1000.0);
}

pub(crate) fn failed() {
    counter!(FAILURES).increment(1);
}
