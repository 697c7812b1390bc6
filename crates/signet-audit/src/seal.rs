//! The sealer: at least once per interval while there are new records, one signed, time-stamped
//! checkpoint over everything appended since the last one.
//!
//! Exactly one sealer works at a time across all nodes: each round starts by taking (or
//! renewing) the lease row, and a checkpoint is stored only under the next free number, so even
//! two sealers that both believe they hold the lease (clocks far apart) cannot fork the log: the
//! second insert of a number is refused and its checkpoint thrown away. A sealer killed
//! mid-round leaves nothing behind (the checkpoint is one insert); the next round, on this node
//! after restart or on another once the lease expired, carries on from the last stored
//! checkpoint.
//!
//! Before it seals, the sealer checks every new record's place in its chain (position, link) and
//! MAC, and that the last checkpoint verifies: it never certifies a hash that a holder of the
//! audit key did not write, and a database altered under it stops the sealing (and is reported
//! every round) rather than being certified. It does not recompute each record's hash from its
//! text (the cost of sealing stays small): a record whose text is altered after it was written
//! keeps a certified hash that no longer matches, which `audit verify` reports.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use signet_keys::{ServiceKey, ServiceKeys};
use signet_store::audit::{AuditBreak, ChainVerifier};
use signet_store::{AuditKey, ChainHead, Store, StoreError, StoredCheckpoint};

use crate::checkpoint::{self, AuditCertificate, Checkpoint, MECHANISM, NoteError};
use crate::key::AuditSigningKey;
use crate::merkle::{Frontier, ProofError};

/// Where checkpoint time-stamps come from (the node's TSA: built in or external).
#[async_trait::async_trait]
pub trait TimeStamper: Send + Sync {
    /// An RFC 3161 TimeStampToken (DER) over a SHA-256 digest.
    async fn timestamp(&self, sha256: &[u8; 32]) -> Result<Vec<u8>, String>;
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("refusing to seal: {0}")]
    Tampered(String),
    #[error("refusing to seal: the last checkpoint does not verify: {0}")]
    BadCheckpoint(String),
    #[error("signing the checkpoint failed: {0}")]
    Sign(String),
    #[error("writing the checkpoint file failed: {0}")]
    File(String),
}

impl From<AuditBreak> for SealError {
    fn from(b: AuditBreak) -> Self {
        Self::Tampered(b.to_string())
    }
}

impl From<NoteError> for SealError {
    fn from(e: NoteError) -> Self {
        Self::BadCheckpoint(e.to_string())
    }
}

impl From<ProofError> for SealError {
    fn from(e: ProofError) -> Self {
        Self::BadCheckpoint(format!("stored tree state: {e}"))
    }
}

/// What one round did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sealed {
    /// Another node holds the lease, or stored this number first.
    NotSealer,
    /// Nothing new since the last checkpoint.
    UpToDate,
    /// A new checkpoint; `more` when records were left for the next round (batch limit).
    Checkpoint {
        stored: StoredCheckpoint,
        more: bool,
    },
}

/// How a sealer runs.
#[derive(Debug, Clone)]
pub struct SealerConfig {
    /// Time between rounds.
    pub interval: Duration,
    /// This node's name for the lease (stable across restarts, so a restarted node takes its
    /// lease back at once).
    pub holder: String,
    /// Also write each checkpoint here (`checkpoint-<n>.txt`, and `.tst` for its time-stamp).
    pub checkpoint_dir: Option<PathBuf>,
    /// Most records sealed by one checkpoint.
    pub max_records: usize,
}

impl SealerConfig {
    fn lease_ms(&self) -> i64 {
        let ms = self.interval.as_millis().saturating_mul(3).max(3_000);
        i64::try_from(ms).unwrap_or(i64::MAX)
    }
}

/// A sealer for one node.
pub struct Sealer {
    pub store: Arc<dyn Store>,
    pub keys: ServiceKeys,
    pub mac_key: AuditKey,
    pub time_stamps: Option<Arc<dyn TimeStamper>>,
    pub config: SealerConfig,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Sealer {
    /// One round: take the lease, then seal what is new.
    pub async fn seal_once(&self) -> Result<Sealed, SealError> {
        let now = now_ms();
        let lease = self.config.lease_ms();
        if !self
            .store
            .take_audit_sealer_lease(&self.config.holder, now, lease)
            .await?
        {
            return Ok(Sealed::NotSealer);
        }
        let latest = self.store.latest_audit_checkpoint().await?;
        let (previous, mut frontier, n) = match &latest {
            None => (None, Frontier::new(), 1),
            Some(stored) => {
                let trusted = crate::key::certificates(self.store.as_ref())
                    .await?
                    .iter()
                    .filter_map(|der| AuditCertificate::from_der(der).ok())
                    .collect::<Vec<_>>();
                let (cp, _) = checkpoint::verify_note(&stored.note, &trusted)?;
                let frontier = Frontier::from_bytes(&stored.frontier)?;
                if frontier.size() != cp.tree_size || frontier.root() != cp.root {
                    return Err(SealError::BadCheckpoint(format!(
                        "checkpoint {}: the stored tree state does not match its root",
                        stored.n
                    )));
                }
                (Some(cp), frontier, stored.n + 1)
            }
        };
        let mut heads = self.store.audit_heads().await?;
        heads.sort_by(|a, b| a.chain.cmp(&b.chain));
        let mut budget = self.config.max_records.max(1);
        let mut more = false;
        let mut sealed_heads: Vec<ChainHead> = Vec::new();
        let mut added = 0usize;
        for head in &heads {
            let (from_seq, from_hash) = previous
                .as_ref()
                .map_or((0, signet_store::audit::GENESIS), |p| p.head(&head.chain));
            if head.seq < from_seq {
                return Err(SealError::Tampered(format!(
                    "chain {} head went back from {from_seq} to {}",
                    head.chain, head.seq
                )));
            }
            let wanted = usize::try_from(head.seq - from_seq).unwrap_or(usize::MAX);
            let take = wanted.min(budget);
            let mut verifier =
                ChainVerifier::resume(&head.chain, from_seq, from_hash, Some(&self.mac_key));
            if take > 0 {
                let limit = u32::try_from(take).unwrap_or(u32::MAX);
                let records = self
                    .store
                    .audit_chain_links(&head.chain, from_seq, limit)
                    .await?;
                for link in &records {
                    verifier.check_link(link)?;
                    frontier.push(crate::merkle::leaf_hash(&link.hash));
                }
                if records.len() < take {
                    return Err(SealError::Tampered(format!(
                        "chain {} has records up to {} but its head says {}",
                        head.chain,
                        verifier.last(),
                        head.seq
                    )));
                }
                added += records.len();
                budget -= records.len();
            }
            more |= take < wanted;
            if verifier.last() > 0 {
                sealed_heads.push(ChainHead {
                    chain: head.chain.clone(),
                    seq: verifier.last(),
                    hash: verifier.last_hash(),
                });
            }
        }
        if let Some(p) = &previous
            && let Some(lost) = p
                .chains
                .iter()
                .find(|h| !sealed_heads.iter().any(|s| s.chain == h.chain))
        {
            return Err(SealError::Tampered(format!(
                "chain {} sealed before has no head any more",
                lost.chain
            )));
        }
        if added == 0 {
            return Ok(Sealed::UpToDate);
        }
        // Loaded per checkpoint, not per round: a rotated key is used from the next checkpoint.
        let Some(key) = crate::key::load(self.store.as_ref())
            .await
            .map_err(|e| SealError::Sign(e.to_string()))?
        else {
            return Err(SealError::Sign("the log has no audit key yet".into()));
        };
        let checkpoint = Checkpoint {
            origin: key.origin.clone(),
            tree_size: frontier.size(),
            root: frontier.root(),
            time_ms: now_ms(),
            previous: latest.as_ref().map(|s| checkpoint::note_hash(&s.note)),
            chains: sealed_heads,
        };
        let note = self.sign(&key, &checkpoint).await?;
        let timestamp = match &self.time_stamps {
            Some(tsa) => match tsa.timestamp(&checkpoint::note_hash(&note)).await {
                Ok(token) => Some(token),
                Err(e) => {
                    // The signature alone already binds the checkpoint; a missing time-stamp
                    // is reported by `audit verify` rather than holding the log unsealed.
                    tracing::warn!(error = %e, "audit checkpoint sealed without a time-stamp");
                    None
                }
            },
            None => None,
        };
        let stored = StoredCheckpoint {
            n,
            tree_size: i64::try_from(checkpoint.tree_size).unwrap_or(i64::MAX),
            note,
            timestamp,
            frontier: frontier.to_bytes(),
            created_ms: checkpoint.time_ms,
        };
        if !self.store.insert_audit_checkpoint(&stored).await? {
            return Ok(Sealed::NotSealer);
        }
        if let Some(dir) = &self.config.checkpoint_dir {
            write_files(dir, &stored)?;
        }
        Ok(Sealed::Checkpoint { stored, more })
    }

    async fn sign(
        &self,
        key: &AuditSigningKey,
        checkpoint: &Checkpoint,
    ) -> Result<String, SealError> {
        let body = checkpoint.body();
        let digest = MECHANISM.hash().digest(body.as_bytes());
        let keys = self.keys.clone();
        let key_ref = key.key_ref.clone();
        let signature = tokio::task::spawn_blocking(move || {
            keys.sign_digests(
                ServiceKey::Audit,
                &key_ref,
                crate::key::KEY_TYPE,
                MECHANISM,
                &[digest],
            )
        })
        .await
        .map_err(|e| SealError::Sign(format!("signing task failed: {e}")))?
        .map_err(|e| SealError::Sign(e.to_string()))?
        .pop()
        .ok_or_else(|| SealError::Sign("the key module returned no signature".into()))?;
        signet_pki::verify_message(
            &key.certificate.spki,
            MECHANISM,
            body.as_bytes(),
            &signature,
        )
        .map_err(|e| {
            SealError::Sign(format!("the audit key does not match its certificate: {e}"))
        })?;
        Ok(checkpoint::signed_note(
            &body,
            &key.origin,
            key.certificate.key_id,
            &signature,
        ))
    }

    /// Seals every interval until `shutdown` resolves, then once more and gives the lease up.
    /// Errors are logged (once per distinct message) and retried next round.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut last_error: Option<String> = None;
        loop {
            let outcome = self.seal_once().await;
            let again_now = matches!(&outcome, Ok(Sealed::Checkpoint { more: true, .. }));
            match outcome {
                Ok(Sealed::Checkpoint { stored, .. }) => {
                    tracing::debug!(
                        n = stored.n,
                        tree_size = stored.tree_size,
                        "audit checkpoint"
                    );
                    crate::telemetry::sealed(stored.tree_size, stored.created_ms);
                    last_error = None;
                }
                Ok(_) => last_error = None,
                Err(e) => {
                    crate::telemetry::failed();
                    let text = e.to_string();
                    if last_error.as_deref() != Some(text.as_str()) {
                        tracing::error!(error = %text, "audit sealing failed");
                        last_error = Some(text);
                    }
                }
            }
            if again_now {
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep(self.config.interval) => {}
                () = &mut shutdown => break,
            }
        }
        loop {
            match self.seal_once().await {
                Ok(Sealed::Checkpoint { more: true, .. }) => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::error!(error = %e, "final audit seal failed");
                    break;
                }
            }
        }
        if let Err(e) = self
            .store
            .release_audit_sealer_lease(&self.config.holder)
            .await
        {
            tracing::warn!(error = %e, "could not release the audit sealer lease");
        }
    }
}

/// `checkpoint-<n>.txt` (the signed note) and `checkpoint-<n>.tst` (its RFC 3161 token), each
/// written to a temporary name and renamed, so a reader never sees half a file.
fn write_files(dir: &std::path::Path, stored: &StoredCheckpoint) -> Result<(), SealError> {
    let fail = |e: std::io::Error| SealError::File(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(fail)?;
    let mut files = vec![("txt", stored.note.as_bytes())];
    if let Some(token) = &stored.timestamp {
        files.push(("tst", token.as_slice()));
    }
    for (ext, bytes) in files {
        let name = format!("checkpoint-{:010}.{ext}", stored.n);
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, bytes).map_err(fail)?;
        std::fs::rename(&tmp, dir.join(&name)).map_err(fail)?;
    }
    Ok(())
}
