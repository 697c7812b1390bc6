//! `signet audit prove` / `verify-proof`: one record's inclusion in a signed checkpoint, as a
//! self-contained JSON document an auditor checks offline with only the audit certificate.

use data_encoding::BASE64;
use serde::{Deserialize, Serialize};
use signet_store::AuditRecord;

use crate::checkpoint::{self, AuditCertificate, Checkpoint};
use crate::log::{Snapshot, leaf};
use crate::merkle::{self, Hash};

/// An inclusion proof (format `signet-audit-inclusion-proof/1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InclusionProof {
    pub format: String,
    /// Every field the record's hash covers (hashes in hex), without its MAC.
    pub record: AuditRecord,
    pub leaf_index: u64,
    pub tree_size: u64,
    /// The audit path, base64 hashes, leaf to root (RFC 9162 §2.1.3).
    pub path: Vec<String>,
    /// The signed checkpoint (note text) whose root the path leads to.
    pub checkpoint: String,
    /// Its RFC 3161 time-stamp token, base64 DER.
    pub timestamp: Option<String>,
}

const FORMAT: &str = "signet-audit-inclusion-proof/1";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProofFailure(pub String);

fn pf(m: impl Into<String>) -> ProofFailure {
    ProofFailure(m.into())
}

/// Proves record `seq` in the newest checkpoint of `log`.
pub fn prove(log: &Snapshot, seq: i64) -> Result<InclusionProof, ProofFailure> {
    let record = log
        .record(seq)
        .ok_or_else(|| pf(format!("no audit record {seq}")))?;
    let latest = log
        .checkpoints
        .last()
        .ok_or_else(|| pf("the log has no checkpoint yet: nothing is sealed"))?;
    let sealed = log.sealed_records().map_err(pf)?;
    let index = sealed.iter().position(|r| r.seq == seq).map(|i| i as u64);
    let leaves: Vec<Hash> = sealed.into_iter().map(leaf).collect();
    let index = index.ok_or_else(|| {
        pf(format!(
            "record {seq} is not sealed yet (the next checkpoint will include it)"
        ))
    })?;
    let path = merkle::inclusion_proof(&leaves, index).map_err(|e| pf(e.to_string()))?;
    Ok(InclusionProof {
        format: FORMAT.into(),
        record: AuditRecord {
            mac: None,
            ..record.clone()
        },
        leaf_index: index,
        tree_size: leaves.len() as u64,
        path: path.iter().map(|h| BASE64.encode(h)).collect(),
        checkpoint: latest.note.clone(),
        timestamp: latest.timestamp.as_ref().map(|t| BASE64.encode(t)),
    })
}

/// Checks a proof with the audit certificate alone: the record's fields give its hash, the path
/// leads from its leaf to the checkpoint's root, the checkpoint is signed by the certificate's
/// key and its time-stamp (if any) covers it. The verified checkpoint is returned.
pub fn verify_proof(
    proof: &InclusionProof,
    certificate: &AuditCertificate,
) -> Result<Checkpoint, ProofFailure> {
    if proof.format != FORMAT {
        return Err(pf(format!("not a {FORMAT} document")));
    }
    let record = &proof.record;
    if record.computed_hash() != record.hash {
        return Err(pf(
            "the record's fields do not give its hash (record altered)",
        ));
    }
    let (cp, _) = checkpoint::verify_note(&proof.checkpoint, std::slice::from_ref(certificate))
        .map_err(|e| pf(format!("checkpoint: {e}")))?;
    if cp.tree_size != proof.tree_size {
        return Err(pf("the proof's tree size is not the checkpoint's"));
    }
    let path = proof
        .path
        .iter()
        .map(|h| {
            BASE64
                .decode(h.as_bytes())
                .ok()
                .and_then(|v| Hash::try_from(v.as_slice()).ok())
                .ok_or_else(|| pf("a path entry is not a base64 SHA-256 hash"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    merkle::verify_inclusion(
        &leaf(record),
        proof.leaf_index,
        cp.tree_size,
        &path,
        &cp.root,
    )
    .map_err(|e| pf(format!("the record is not in the checkpoint's tree: {e}")))?;
    if let Some(token) = &proof.timestamp {
        let der = BASE64
            .decode(token.as_bytes())
            .map_err(|_| pf("the time-stamp is not base64"))?;
        let info = signet_pki::tsa::verify_token(&der, None)
            .map_err(|e| pf(format!("time-stamp: {e}")))?;
        if info.message_imprint != checkpoint::note_hash(&proof.checkpoint) {
            return Err(pf("the time-stamp does not cover the checkpoint"));
        }
    }
    Ok(cp)
}
