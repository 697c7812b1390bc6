//! The audit chains this process appends to, handed out one per transaction.
//!
//! A transaction takes a chain that no other transaction of this process holds and keeps it
//! until it ends ([`ChainGuard`]), so its append never waits for another transaction's commit:
//! the chain head row it locks is its own. With as many chains as the process has database
//! connections, a free one always exists. Other processes use other names (the node ID is in
//! each), so nodes do not contend either.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Mutex, MutexGuard};

use crate::audit::{AuditConfig, AuditKey, valid_chain_name};
use crate::{SecretHash, StoreError};

/// A chain's head as this process last wrote it: (position, hash).
type CachedHead = Option<(i64, SecretHash)>;

pub(crate) struct ChainSlots {
    key: AuditKey,
    names: Box<[String]>,
    /// Each chain's head as this process last wrote it: a hint that saves reading (and
    /// locking) the head row first; the append checks it against the row and falls back to
    /// reading it when it is stale (a rolled-back transaction, another process on the chain).
    slots: Box<[Mutex<CachedHead>]>,
    next: AtomicUsize,
}

/// A chain held for one transaction; dropped after its commit or rollback.
pub(crate) struct ChainGuard<'a> {
    pub(crate) name: &'a str,
    pub(crate) key: &'a AuditKey,
    pub(crate) head: MutexGuard<'a, CachedHead>,
}

impl ChainSlots {
    pub(crate) fn new(config: AuditConfig) -> Result<Self, StoreError> {
        if config.chains.is_empty() {
            return Err(StoreError::Database("no audit chain configured".into()));
        }
        if let Some(bad) = config.chains.iter().find(|c| !valid_chain_name(c)) {
            return Err(StoreError::Database(format!(
                "invalid audit chain name {bad:?} (letters, digits and . _ : / - only)"
            )));
        }
        Ok(Self {
            slots: config.chains.iter().map(|_| Mutex::new(None)).collect(),
            names: config.chains.into_boxed_slice(),
            key: config.key,
            next: AtomicUsize::new(0),
        })
    }

    pub(crate) fn key(&self) -> &AuditKey {
        &self.key
    }

    /// The first free chain, lowest index first, so that a lightly loaded node writes long
    /// chains (and few of them) and only concurrent transactions spread out; waits only when
    /// every chain is held (more transactions than chains: never with one chain per
    /// connection).
    pub(crate) async fn acquire(&self) -> ChainGuard<'_> {
        let n = self.slots.len();
        let (i, held) = match (0..n).find_map(|i| self.slots[i].try_lock().ok().map(|g| (i, g))) {
            Some(found) => found,
            None => {
                let i = self.next.fetch_add(1, Ordering::Relaxed) % n;
                (i, self.slots[i].lock().await)
            }
        };
        ChainGuard {
            name: &self.names[i],
            key: &self.key,
            head: held,
        }
    }
}

impl std::fmt::Debug for ChainSlots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainSlots")
            .field("chains", &self.names)
            .finish_non_exhaustive()
    }
}
