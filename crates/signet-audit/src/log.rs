//! Reading the whole log for verification and proofs, and the one order of its leaves.

use std::collections::BTreeMap;

use signet_store::{AuditRecord, ChainHead, Store, StoreError, StoredCheckpoint};

use crate::checkpoint::{Checkpoint, NoteError};
use crate::merkle::{Hash, leaf_hash};

/// Records read per query.
const PAGE: u32 = 5_000;

/// The log as one reader saw it: checkpoints first, then the chains' names and heads, then each
/// chain's records up to its head. Read in that order, every record a checkpoint names is there (a head only
/// grows, and a record is committed with its head) and records appended meanwhile are left out.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub checkpoints: Vec<StoredCheckpoint>,
    pub heads: Vec<ChainHead>,
    /// Each chain's records in chain order, by chain name.
    pub chains: BTreeMap<String, Vec<AuditRecord>>,
}

impl Snapshot {
    /// Reads the log, calling `progress` with the number of records read so far.
    pub async fn read_with_progress(
        store: &dyn Store,
        progress: &mut (dyn FnMut(usize) + Send),
    ) -> Result<Self, StoreError> {
        let mut checkpoints = Vec::new();
        loop {
            let after = checkpoints.last().map_or(0, |c: &StoredCheckpoint| c.n);
            let page = store.audit_checkpoints(after, 1_000).await?;
            let done = page.len() < 1_000;
            checkpoints.extend(page);
            if done {
                break;
            }
        }
        // Names before heads: a chain whose first record commits in between has a head then
        // (it commits with the record), and is read up to it; read the other way round, it
        // would show records but no head, a false alarm.
        let mut names: Vec<String> = store.audit_chain_names().await?;
        let heads = store.audit_heads().await?;
        names.extend(heads.iter().map(|h| h.chain.clone()));
        names.sort();
        names.dedup();
        let mut chains = BTreeMap::new();
        let mut total = 0;
        for name in names {
            let limit = heads.iter().find(|h| h.chain == name).map(|h| h.seq);
            let mut records: Vec<AuditRecord> = Vec::new();
            loop {
                let after = records.last().map_or(0, |r| r.chain_seq);
                if limit.is_some_and(|l| after >= l) {
                    break;
                }
                let page = store.audit_chain_records(&name, after, PAGE).await?;
                let done = page.len() < PAGE as usize;
                total += page.len();
                records.extend(
                    page.into_iter()
                        .filter(|r| limit.is_none_or(|l| r.chain_seq <= l)),
                );
                progress(total);
                if done {
                    break;
                }
            }
            chains.insert(name, records);
        }
        Ok(Self {
            checkpoints,
            heads,
            chains,
        })
    }

    pub fn record_count(&self) -> usize {
        self.chains.values().map(Vec::len).sum()
    }

    /// The record numbered `seq`, if read.
    pub fn record(&self, seq: i64) -> Option<&AuditRecord> {
        self.chains.values().flatten().find(|r| r.seq == seq)
    }

    /// Every sealed record in leaf order, checkpoint by checkpoint (signatures unchecked: the
    /// verifier checks them).
    pub fn sealed_records(&self) -> Result<Vec<&AuditRecord>, String> {
        let mut out = Vec::new();
        let mut previous: Option<Checkpoint> = None;
        for stored in &self.checkpoints {
            let cp = parse_stored(stored).map_err(|e| e.to_string())?;
            out.extend(new_leaves(&self.chains, previous.as_ref(), &cp)?);
            previous = Some(cp);
        }
        Ok(out)
    }
}

/// The leaves a checkpoint adds after `previous`: chain by chain in byte order of the names,
/// each chain's records after the previous head up to this one's, in chain order. `None` when a
/// record it names is not in `chains` (the caller reports that as a break).
pub fn new_leaves<'a>(
    chains: &'a BTreeMap<String, Vec<AuditRecord>>,
    previous: Option<&Checkpoint>,
    current: &Checkpoint,
) -> Result<Vec<&'a AuditRecord>, String> {
    let mut out = Vec::new();
    for head in &current.chains {
        let (from, _) = previous.map_or((0, [0; 32]), |p| p.head(&head.chain));
        if head.seq < from {
            return Err(format!(
                "chain {} goes back from {from} to {}",
                head.chain, head.seq
            ));
        }
        let records = chains.get(&head.chain).map_or(&[][..], Vec::as_slice);
        // Chains are dense from 1 (checked separately), so position p is at index p - 1.
        let wanted = usize::try_from(from).unwrap_or(usize::MAX)
            ..usize::try_from(head.seq).unwrap_or(usize::MAX);
        let slice = records.get(wanted).ok_or_else(|| {
            format!(
                "chain {} has {} records but the checkpoint seals {}",
                head.chain,
                records.len(),
                head.seq
            )
        })?;
        match slice.last() {
            Some(last) if last.hash != head.hash || last.chain_seq != head.seq => {
                return Err(format!(
                    "chain {} record {} is not the one the checkpoint sealed",
                    head.chain, head.seq
                ));
            }
            _ => {}
        }
        out.extend(slice);
    }
    if let Some(p) = previous
        && let Some(lost) = p
            .chains
            .iter()
            .find(|h| !current.chains.iter().any(|c| c.chain == h.chain))
    {
        return Err(format!(
            "chain {} disappears from the checkpoint",
            lost.chain
        ));
    }
    Ok(out)
}

/// The leaf of a record.
pub fn leaf(record: &AuditRecord) -> Hash {
    leaf_hash(&record.hash)
}

/// Parses a stored checkpoint's note without checking its signature (the verifier checks it
/// separately, with the certificates it trusts).
pub fn parse_stored(stored: &StoredCheckpoint) -> Result<Checkpoint, NoteError> {
    let opened = crate::checkpoint::open_note(&stored.note)?;
    Checkpoint::parse(&opened.body)
}
