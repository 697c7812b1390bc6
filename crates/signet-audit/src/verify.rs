//! `signet audit verify`: everything an auditor can check, failing at the first break.
//!
//! In order: every chain (record hashes, links, MACs when the key is at hand, the head the chain
//! table keeps); every checkpoint in sequence (its number, its signature by an audit
//! certificate the CA issued, its time-stamp over the note, its link to the previous one, that
//! the records it names are there and unchanged, and that the Merkle root over all leaves so far
//! is the one it signed — which makes each checkpoint consistent with every earlier one); then,
//! given a checkpoint kept elsewhere, that today's log extends it (an RFC 9162 consistency
//! proof from its size to the newest). Records after the newest checkpoint are reported as not
//! yet sealed, with their age.

use signet_store::AuditKey;
use signet_store::audit::ChainVerifier;

use crate::checkpoint::{self, AuditCertificate, Checkpoint};
use crate::log::{Snapshot, leaf, new_leaves};
use crate::merkle::{self, Frontier, Hash};

/// What failed, for the exit code: a record, a checkpoint, or the trusted checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    Record,
    Checkpoint,
    Trusted,
}

/// The first failure, described precisely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

fn fail(kind: FailureKind, message: impl Into<String>) -> Failure {
    Failure {
        kind,
        message: message.into(),
    }
}

/// What the verifier is given besides the log.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The record MAC key (from the master key); without it MACs are not checked.
    pub mac_key: Option<AuditKey>,
    /// Audit certificates that may sign checkpoints.
    pub certificates: Vec<AuditCertificate>,
    /// The CA certificate the built-in TSA's certificate must chain to; `None`: time-stamp
    /// signatures are checked but their issuer is not.
    pub tsa_issuer: Option<Vec<u8>>,
    /// A signed checkpoint kept outside the database, which the log must extend.
    pub trusted_checkpoint: Option<String>,
}

/// Records after the newest checkpoint, per chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsealed {
    pub chain: String,
    pub count: usize,
    /// Time of the oldest, Unix milliseconds.
    pub oldest_ms: i64,
}

/// A log that verified.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub records: usize,
    pub chains: usize,
    pub checkpoints: usize,
    pub tree_size: u64,
    pub root: Option<Hash>,
    pub unsealed: Vec<Unsealed>,
    /// Size of the trusted checkpoint the log was proved to extend.
    pub extends_trusted: Option<u64>,
    /// Things worth an auditor's attention that are not breaks (e.g. a checkpoint without a
    /// time-stamp because the TSA was unreachable).
    pub warnings: Vec<String>,
}

/// Verifies `log`; the first failure or a report.
pub fn verify(log: &Snapshot, options: &Options) -> Result<Report, Failure> {
    let mut report = Report {
        records: log.record_count(),
        chains: log.chains.len(),
        ..Report::default()
    };
    // 1. Every chain, then its head.
    for (name, records) in &log.chains {
        let mut v = ChainVerifier::new(name, options.mac_key.as_ref());
        for r in records {
            v.check(r).map_err(|b| {
                let which = if b.chain_seq == r.chain_seq {
                    format!(" (record {})", r.seq)
                } else {
                    String::new()
                };
                fail(
                    FailureKind::Record,
                    format!("chain {name} position {}{which}: {}", b.chain_seq, b.reason),
                )
            })?;
        }
        let head = log.heads.iter().find(|h| &h.chain == name);
        v.finish(head).map_err(|b| {
            fail(
                FailureKind::Record,
                format!("chain {} position {}: {}", b.chain, b.chain_seq, b.reason),
            )
        })?;
    }
    if let Some(orphan) = log
        .heads
        .iter()
        .find(|h| h.seq > 0 && !log.chains.contains_key(&h.chain))
    {
        return Err(fail(
            FailureKind::Record,
            format!(
                "chain {} has a head at {} but no records (records removed)",
                orphan.chain, orphan.seq
            ),
        ));
    }

    // 2. Every checkpoint, in order, rebuilding the tree.
    let mut frontier = Frontier::new();
    let mut previous: Option<Checkpoint> = None;
    let mut previous_note: Option<&str> = None;
    // The tree's root at every checkpoint size, for the trusted checkpoint.
    let mut roots: Vec<(u64, Hash)> = Vec::new();
    let mut origin: Option<String> = None;
    for (i, stored) in log.checkpoints.iter().enumerate() {
        let n = stored.n;
        let cfail = |m: String| fail(FailureKind::Checkpoint, format!("checkpoint {n}: {m}"));
        if n != i as i64 + 1 {
            return Err(fail(
                FailureKind::Checkpoint,
                format!("checkpoint {} is missing (next present is {n})", i + 1),
            ));
        }
        let (cp, _) = checkpoint::verify_note(&stored.note, &options.certificates)
            .map_err(|e| cfail(e.to_string()))?;
        if let Some(o) = &origin
            && *o != cp.origin
        {
            return Err(cfail(format!(
                "origin {} differs from the log's {o}",
                cp.origin
            )));
        }
        origin.get_or_insert_with(|| cp.origin.clone());
        let expected_previous = previous_note.map(checkpoint::note_hash);
        if cp.previous != expected_previous {
            return Err(cfail(
                "its previous-checkpoint hash does not match checkpoint before it (checkpoints removed, reordered or rewritten)".into(),
            ));
        }
        match &stored.timestamp {
            Some(token) => check_timestamp(token, &stored.note, options)
                .map_err(|m| cfail(format!("time-stamp: {m}")))?,
            None => report.warnings.push(format!(
                "checkpoint {n} has no time-stamp (the TSA was unavailable when it was sealed)"
            )),
        }
        if let Some(p) = &previous
            && cp.time_ms < p.time_ms
        {
            report.warnings.push(format!(
                "checkpoint {n} is dated before checkpoint {}",
                n - 1
            ));
        }
        let leaves = new_leaves(&log.chains, previous.as_ref(), &cp).map_err(cfail)?;
        for r in &leaves {
            frontier.push(leaf(r));
        }
        if frontier.size() != cp.tree_size || frontier.root() != cp.root {
            return Err(cfail(format!(
                "its Merkle root does not match the records it seals (tree size {} computed, {} signed)",
                frontier.size(),
                cp.tree_size
            )));
        }
        if stored.tree_size as u64 != cp.tree_size || stored.frontier != frontier.to_bytes() {
            return Err(cfail(
                "the stored tree state does not match the signed checkpoint".into(),
            ));
        }
        roots.push((cp.tree_size, cp.root));
        previous = Some(cp);
        previous_note = Some(&stored.note);
    }
    report.checkpoints = log.checkpoints.len();
    report.tree_size = frontier.size();
    report.root = previous.as_ref().map(|c| c.root);

    // 3. Unsealed records.
    for (name, records) in &log.chains {
        let sealed = previous.as_ref().map_or(0, |p| p.head(name).0);
        let rest: Vec<_> = records.iter().filter(|r| r.chain_seq > sealed).collect();
        if let Some(oldest) = rest.iter().map(|r| r.time_ms).min() {
            report.unsealed.push(Unsealed {
                chain: name.clone(),
                count: rest.len(),
                oldest_ms: oldest,
            });
        }
    }

    // 4. The trusted checkpoint.
    if let Some(text) = &options.trusted_checkpoint {
        let tfail = |m: String| fail(FailureKind::Trusted, format!("trusted checkpoint: {m}"));
        let (trusted, _) = checkpoint::verify_note(text, &options.certificates)
            .map_err(|e| tfail(e.to_string()))?;
        if let Some(o) = &origin
            && *o != trusted.origin
        {
            return Err(tfail(format!(
                "it is of log {}, this is {o}",
                trusted.origin
            )));
        }
        let latest = previous.as_ref().ok_or_else(|| {
            tfail("the log has no checkpoint at all (log deleted or truncated)".into())
        })?;
        if trusted.tree_size > latest.tree_size {
            return Err(tfail(format!(
                "the log has {} sealed records, fewer than the {} it had (newest records removed or log truncated)",
                latest.tree_size, trusted.tree_size
            )));
        }
        let leaves = all_leaves(log).map_err(tfail)?;
        let proof = merkle::consistency_proof(&leaves, trusted.tree_size)
            .map_err(|e| tfail(e.to_string()))?;
        merkle::verify_consistency(
            trusted.tree_size,
            latest.tree_size,
            &trusted.root,
            &latest.root,
            &proof,
        )
        .map_err(|_| {
            tfail(format!(
                "today's log does not extend it: the first {} records are not the ones it sealed (records removed, altered or the log rewritten)",
                trusted.tree_size
            ))
        })?;
        report.extends_trusted = Some(trusted.tree_size);
    }
    Ok(report)
}

/// Every sealed leaf, in tree order.
pub fn all_leaves(log: &Snapshot) -> Result<Vec<Hash>, String> {
    Ok(log.sealed_records()?.into_iter().map(leaf).collect())
}

/// The token is a valid RFC 3161 token over SHA-256 of the note, by a TSA the CA issued when
/// the issuer is known.
fn check_timestamp(token: &[u8], note: &str, options: &Options) -> Result<(), String> {
    let info = signet_pki::tsa::verify_token(token, None).map_err(|e| e.to_string())?;
    if info.hash != signet_core::HashAlgorithm::Sha256
        || info.message_imprint != checkpoint::note_hash(note)
    {
        return Err("it does not cover this checkpoint".into());
    }
    if let Some(ca) = &options.tsa_issuer
        && signet_pki::verify_issued_by(&info.tsa_certificate, ca).is_err()
    {
        return Err("its TSA certificate is not issued by the embedded CA".into());
    }
    Ok(())
}
