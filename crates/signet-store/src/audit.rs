//! The hash-chained audit log (EN 419241-1 / TS 119 431-1 event logging).
//!
//! Each record carries the hash of its predecessor, and its own hash covers its sequence number,
//! time, kind, actor, credential, detail and that predecessor hash, so altering, deleting or
//! reordering any row breaks the chain at that row. [`verify_chain`] finds the first break.

use serde::{Deserialize, Serialize};

use crate::SecretHash;

/// An event to append; the store assigns sequence, time and hashes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAuditEvent {
    /// Dotted event kind, e.g. `auth.login`, `credential.authorize`, `signature.create`.
    pub kind: String,
    /// Who acted: a username, `admin`, or `system`.
    pub actor: String,
    pub credential_id: Option<String>,
    /// Event details. Never secrets: no PIN, OTP, password, SAD, token or key material.
    pub detail: serde_json::Value,
}

impl NewAuditEvent {
    pub fn new(
        kind: &str,
        actor: &str,
        credential_id: Option<&str>,
        detail: serde_json::Value,
    ) -> Self {
        Self {
            kind: kind.to_owned(),
            actor: actor.to_owned(),
            credential_id: credential_id.map(str::to_owned),
            detail,
        }
    }
}

/// A stored audit record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub seq: i64,
    /// Unix time in milliseconds.
    pub time_ms: i64,
    pub kind: String,
    pub actor: String,
    pub credential_id: Option<String>,
    /// The detail JSON exactly as stored (and hashed).
    pub detail: String,
    pub prev_hash: SecretHash,
    pub hash: SecretHash,
}

/// The chain's starting point: the `prev_hash` of record 1.
pub const GENESIS: SecretHash = [0u8; 32];

/// SHA-256 over the record's fields, each length-prefixed so that no two records hash alike.
pub fn record_hash(
    seq: i64,
    time_ms: i64,
    kind: &str,
    actor: &str,
    credential_id: Option<&str>,
    detail: &str,
    prev_hash: &SecretHash,
) -> SecretHash {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(b"signet-audit-v1");
    ctx.update(prev_hash);
    ctx.update(&seq.to_be_bytes());
    ctx.update(&time_ms.to_be_bytes());
    for field in [Some(kind), Some(actor), credential_id, Some(detail)] {
        match field {
            Some(text) => {
                ctx.update(&[1]);
                ctx.update(&(text.len() as u64).to_be_bytes());
                ctx.update(text.as_bytes());
            }
            None => ctx.update(&[0]),
        }
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The first place where the chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at record {seq}: {reason}")]
pub struct AuditBreak {
    pub seq: i64,
    pub reason: String,
}

/// Incremental chain checker: feed records in order, then call [`ChainVerifier::finish`] with
/// the stored head to detect removal of the newest records.
#[derive(Debug)]
pub struct ChainVerifier {
    expected_seq: i64,
    prev: SecretHash,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self {
            expected_seq: 1,
            prev: GENESIS,
        }
    }
}

impl ChainVerifier {
    pub fn check(&mut self, r: &AuditRecord) -> Result<(), AuditBreak> {
        let fail = |reason: &str| AuditBreak {
            seq: r.seq,
            reason: reason.to_owned(),
        };
        if r.seq != self.expected_seq {
            return Err(AuditBreak {
                seq: self.expected_seq,
                reason: format!("record missing (next present record is {})", r.seq),
            });
        }
        if r.prev_hash != self.prev {
            return Err(fail(
                "previous-hash link does not match (record removed or reordered)",
            ));
        }
        let computed = record_hash(
            r.seq,
            r.time_ms,
            &r.kind,
            &r.actor,
            r.credential_id.as_deref(),
            &r.detail,
            &r.prev_hash,
        );
        if computed != r.hash {
            return Err(fail("content does not match its hash (record altered)"));
        }
        self.prev = r.hash;
        self.expected_seq += 1;
        Ok(())
    }

    /// Number of records checked so far.
    pub fn count(&self) -> i64 {
        self.expected_seq - 1
    }

    /// Compares the end of the chain with the head the store recorded.
    pub fn finish(&self, head: Option<(i64, SecretHash)>) -> Result<(), AuditBreak> {
        match head {
            None if self.count() == 0 => Ok(()),
            None => Err(AuditBreak {
                seq: 0,
                reason: "chain head record missing".into(),
            }),
            Some((seq, hash)) if seq == self.count() && hash == self.prev => Ok(()),
            Some((seq, _)) => Err(AuditBreak {
                seq: self.count().min(seq) + 1,
                reason: format!(
                    "chain ends at record {} but the head says {seq} (records removed or head altered)",
                    self.count()
                ),
            }),
        }
    }
}

/// Verifies a whole chain held in memory against its head.
pub fn verify_chain(
    records: &[AuditRecord],
    head: Option<(i64, SecretHash)>,
) -> Result<i64, AuditBreak> {
    let mut v = ChainVerifier::default();
    for r in records {
        v.check(r)?;
    }
    v.finish(head)?;
    Ok(v.count())
}
