//! The audit log's records: keyed hash chains (EN 419241-1 / TS 119 431-1 event logging).
//!
//! Records go into several independent chains (one per writer slot of each node: see
//! [`AuditConfig`]), so that a transaction appending to its chain never waits for another
//! transaction's commit. Each chain is dense (`chain_seq` 1, 2, 3, …) and linked: a record's hash
//! covers its chain, position, time, kind, actor, credential, detail and its predecessor's hash.
//! Each record also carries a MAC of that hash under a key derived from the master key, so that
//! someone with database access alone can neither forge a record nor recompute a chain after
//! removing one. Sealing the chains into signed Merkle checkpoints, which also catches removal
//! of the newest records and rewrites by a holder of the master key, is `signet-audit`'s part.
//!
//! Records written before the log had chains and MACs (version 1) form the chain `legacy`; they
//! keep their original hashes and get MACs when the log is upgraded ([`crate::Store::upgrade_audit`]).

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::SecretHash;

/// An event to append; the store assigns chain, position, time, hashes and MAC.
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

/// The chain of the records written before chains existed (version 1 records).
pub const LEGACY_CHAIN: &str = "legacy";

/// A stored audit record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// The record's number in the database: unique and increasing in the order records were
    /// written, but not dense across chains and not covered by the hash (it is a locator).
    pub seq: i64,
    pub chain: String,
    /// Position in its chain, from 1, without gaps.
    pub chain_seq: i64,
    /// 1: a record from before the keyed chains ([`record_hash_v1`]); 2: [`record_hash_v2`].
    pub version: u8,
    /// Unix time in milliseconds.
    pub time_ms: i64,
    pub kind: String,
    pub actor: String,
    pub credential_id: Option<String>,
    /// The detail JSON exactly as stored (and hashed).
    pub detail: String,
    /// Hex in JSON, as are `hash` and `mac`.
    #[serde(with = "hex_hash")]
    pub prev_hash: SecretHash,
    #[serde(with = "hex_hash")]
    pub hash: SecretHash,
    /// HMAC-SHA256 of `hash` under the audit MAC key; `None` only for version 1 records not yet
    /// upgraded (and in inclusion proofs, which a verifier without the key checks).
    #[serde(
        default,
        with = "hex_hash::opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub mac: Option<SecretHash>,
}

/// Hashes as lowercase hex in JSON (audit exports and inclusion proofs).
mod hex_hash {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::SecretHash;

    pub fn serialize<S: Serializer>(h: &SecretHash, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&data_encoding::HEXLOWER.encode(h))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SecretHash, D::Error> {
        let text = String::deserialize(d)?;
        data_encoding::HEXLOWER
            .decode(text.as_bytes())
            .ok()
            .and_then(|v| SecretHash::try_from(v.as_slice()).ok())
            .ok_or_else(|| serde::de::Error::custom("not a hex SHA-256 hash"))
    }

    pub mod opt {
        use super::*;

        pub fn serialize<S: Serializer>(h: &Option<SecretHash>, s: S) -> Result<S::Ok, S::Error> {
            match h {
                Some(h) => super::serialize(h, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<SecretHash>, D::Error> {
            super::deserialize(d).map(Some)
        }
    }
}

impl AuditRecord {
    /// The hash the record's fields give, by its version's formula.
    pub fn computed_hash(&self) -> SecretHash {
        if self.version == 1 {
            record_hash_v1(
                self.chain_seq,
                self.time_ms,
                &self.kind,
                &self.actor,
                self.credential_id.as_deref(),
                &self.detail,
                &self.prev_hash,
            )
        } else {
            record_hash_v2(
                &self.chain,
                self.chain_seq,
                self.time_ms,
                &self.kind,
                &self.actor,
                self.credential_id.as_deref(),
                &self.detail,
                &self.prev_hash,
            )
        }
    }
}

/// A chain's starting point: the `prev_hash` of its first record.
pub const GENESIS: SecretHash = [0u8; 32];

fn hash_fields(ctx: &mut aws_lc_rs::digest::Context, fields: &[Option<&str>]) {
    for field in fields {
        match field {
            Some(text) => {
                ctx.update(&[1]);
                ctx.update(&(text.len() as u64).to_be_bytes());
                ctx.update(text.as_bytes());
            }
            None => ctx.update(&[0]),
        }
    }
}

fn finish(ctx: aws_lc_rs::digest::Context) -> SecretHash {
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The version 1 record hash (the single chain of earlier releases), kept so that those records
/// verify unchanged: SHA-256 over the fields, each length-prefixed so no two records hash alike.
pub fn record_hash_v1(
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
    hash_fields(
        &mut ctx,
        &[Some(kind), Some(actor), credential_id, Some(detail)],
    );
    finish(ctx)
}

/// The version 2 record hash: like version 1, with the chain's name in front, so a record cannot
/// be moved to another chain.
#[allow(clippy::too_many_arguments)]
pub fn record_hash_v2(
    chain: &str,
    chain_seq: i64,
    time_ms: i64,
    kind: &str,
    actor: &str,
    credential_id: Option<&str>,
    detail: &str,
    prev_hash: &SecretHash,
) -> SecretHash {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(b"signet-audit-v2");
    ctx.update(prev_hash);
    hash_fields(&mut ctx, &[Some(chain)]);
    ctx.update(&chain_seq.to_be_bytes());
    ctx.update(&time_ms.to_be_bytes());
    hash_fields(
        &mut ctx,
        &[Some(kind), Some(actor), credential_id, Some(detail)],
    );
    finish(ctx)
}

/// The key that MACs audit records: derived from the master key (HKDF, a label of its own), so
/// every node that shares a database has it and nobody with the database alone does.
#[derive(Clone)]
pub struct AuditKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(..)")
    }
}

impl AuditKey {
    pub fn new(key: [u8; 32]) -> Self {
        Self(Zeroizing::new(key))
    }

    /// HMAC-SHA256 of a record hash.
    pub fn mac(&self, hash: &SecretHash) -> SecretHash {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &self.0[..]);
        let tag = aws_lc_rs::hmac::sign(&key, hash);
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// Whether `mac` is the MAC of `hash`, compared in constant time.
    pub fn verify(&self, hash: &SecretHash, mac: &SecretHash) -> bool {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &self.0[..]);
        aws_lc_rs::hmac::verify(&key, hash, mac).is_ok()
    }
}

/// Which chains a store appends to and with which key.
///
/// `chains` names one chain per concurrent writer of this process: a transaction takes a chain
/// no other transaction of this process holds, so it never waits for another's commit. Names
/// must be unique across the processes sharing a database (they start with the node's ID); two
/// processes that do share a name stay correct (the chain head row is locked) but wait for each
/// other.
#[derive(Debug, Clone)]
pub struct AuditConfig {
    pub key: AuditKey,
    pub chains: Vec<String>,
}

impl AuditConfig {
    /// `count` chains `<node>/0` … `<node>/<count-1>`.
    pub fn node(key: AuditKey, node: &str, count: usize) -> Self {
        Self {
            key,
            chains: (0..count.max(1)).map(|i| format!("{node}/{i}")).collect(),
        }
    }

    /// For tests of the store alone: a fixed key, which real nodes never use (theirs derives
    /// from the master key, so records written with this one fail their verification).
    pub fn unkeyed() -> Self {
        Self::node(AuditKey::new([0u8; 32]), "local", 1)
    }
}

/// Whether `name` can be a chain name: it appears in checkpoint text as one word.
pub fn valid_chain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:/-".contains(&b))
}

/// The newest record of a chain as the chain table keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub chain: String,
    pub seq: i64,
    pub hash: SecretHash,
}

/// A signed checkpoint as stored: the sealer's output (see `signet-audit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// 1, 2, 3, … without gaps; the sealer that inserts `n` first wins.
    pub n: i64,
    pub tree_size: i64,
    /// The signed note (C2SP tlog-checkpoint text with its signature line).
    pub note: String,
    /// RFC 3161 TimeStampToken over SHA-256 of `note`, DER.
    pub timestamp: Option<Vec<u8>>,
    /// The Merkle tree's right edge after this checkpoint, so the next sealer can extend it.
    pub frontier: Vec<u8>,
    pub created_ms: i64,
}

/// What links a record into its chain and authenticates it: what a sealer needs to check
/// before it certifies a record's hash (the fields behind the hash are `verify`'s to recompute).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainLink {
    pub chain_seq: i64,
    pub prev_hash: SecretHash,
    pub hash: SecretHash,
    pub mac: Option<SecretHash>,
}

/// The first place where a chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit chain {chain} broken at record {chain_seq}: {reason}")]
pub struct AuditBreak {
    pub chain: String,
    pub chain_seq: i64,
    pub reason: String,
}

/// Checks one chain: feed its records in order. With a key, every MAC is checked too.
#[derive(Debug)]
pub struct ChainVerifier<'k> {
    chain: String,
    expected: i64,
    prev: SecretHash,
    key: Option<&'k AuditKey>,
}

impl<'k> ChainVerifier<'k> {
    pub fn new(chain: &str, key: Option<&'k AuditKey>) -> Self {
        Self::resume(chain, 0, GENESIS, key)
    }

    /// Continues a chain whose record `seq` had hash `hash` (a checkpoint's head).
    pub fn resume(chain: &str, seq: i64, hash: SecretHash, key: Option<&'k AuditKey>) -> Self {
        Self {
            chain: chain.to_owned(),
            expected: seq + 1,
            prev: hash,
            key,
        }
    }

    pub fn check(&mut self, r: &AuditRecord) -> Result<(), AuditBreak> {
        let chain = self.chain.clone();
        let fail = |reason: String| AuditBreak {
            chain: chain.clone(),
            chain_seq: r.chain_seq,
            reason,
        };
        if r.chain != self.chain {
            return Err(fail(format!("record of chain {}", r.chain)));
        }
        let legacy_ok = r.version == 2 || (r.version == 1 && r.chain == LEGACY_CHAIN);
        if !legacy_ok {
            return Err(fail(format!("unknown record version {}", r.version)));
        }
        // Place, link and MAC first: a record that is missing, moved or forged is reported
        // as such, and one whose MAC holds but whose text does not give its hash was altered
        // after it was written.
        self.check_link(&ChainLink {
            chain_seq: r.chain_seq,
            prev_hash: r.prev_hash,
            hash: r.hash,
            mac: r.mac,
        })?;
        if r.computed_hash() != r.hash {
            return Err(fail(
                "content does not match its hash (record altered)".into(),
            ));
        }
        Ok(())
    }

    /// Checks a record's place and MAC without recomputing its hash from its fields: enough to
    /// certify the hash (a MAC proves a holder of the audit key wrote it, so fields altered
    /// later no longer match a certified hash, which full verification reports).
    pub fn check_link(&mut self, link: &ChainLink) -> Result<(), AuditBreak> {
        let fail = |at: i64, reason: String| AuditBreak {
            chain: self.chain.clone(),
            chain_seq: at,
            reason,
        };
        if link.chain_seq != self.expected {
            return Err(fail(
                self.expected,
                format!("record missing (next present record is {})", link.chain_seq),
            ));
        }
        if link.prev_hash != self.prev {
            return Err(fail(
                link.chain_seq,
                "previous-hash link does not match (record removed or reordered)".into(),
            ));
        }
        if let Some(key) = self.key {
            match &link.mac {
                Some(mac) if key.verify(&link.hash, mac) => {}
                Some(_) => {
                    return Err(fail(
                        link.chain_seq,
                        "MAC does not verify (record forged or rewritten without the audit key)"
                            .into(),
                    ));
                }
                None => return Err(fail(link.chain_seq, "record has no MAC".into())),
            }
        }
        self.prev = link.hash;
        self.expected += 1;
        Ok(())
    }

    /// The position of the last record checked (0: none).
    pub fn last(&self) -> i64 {
        self.expected - 1
    }

    /// The hash of the last record checked (the chain's start before any).
    pub fn last_hash(&self) -> SecretHash {
        self.prev
    }

    /// Compares the end of the chain with the head the chain table keeps.
    pub fn finish(&self, head: Option<&ChainHead>) -> Result<(), AuditBreak> {
        let (seq, hash) = head.map_or((0, GENESIS), |h| (h.seq, h.hash));
        if seq == self.last() && hash == self.prev {
            return Ok(());
        }
        Err(AuditBreak {
            chain: self.chain.clone(),
            chain_seq: self.last().min(seq) + 1,
            reason: format!(
                "chain ends at record {} but its head says {seq} (records removed or head altered)",
                self.last()
            ),
        })
    }
}

/// Verifies every chain held in memory (records in any order of chains, each chain in order)
/// against the chain heads; the number of records checked.
pub fn verify_chains(
    records: &[AuditRecord],
    heads: &[ChainHead],
    key: Option<&AuditKey>,
) -> Result<i64, AuditBreak> {
    let mut chains: std::collections::BTreeMap<&str, ChainVerifier<'_>> = Default::default();
    for r in records {
        chains
            .entry(r.chain.as_str())
            .or_insert_with(|| ChainVerifier::new(&r.chain, key))
            .check(r)?;
    }
    for head in heads {
        match chains.get(head.chain.as_str()) {
            Some(v) => v.finish(Some(head))?,
            None => ChainVerifier::new(&head.chain, key).finish(Some(head))?,
        }
    }
    for (name, v) in &chains {
        if !heads.iter().any(|h| h.chain == *name) {
            v.finish(None)?;
        }
    }
    Ok(records.len() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(chain: &str, chain_seq: i64, prev: SecretHash, key: &AuditKey) -> AuditRecord {
        let mut r = AuditRecord {
            seq: chain_seq,
            chain: chain.into(),
            chain_seq,
            version: 2,
            time_ms: 1_000 + chain_seq,
            kind: "k".into(),
            actor: "a".into(),
            credential_id: None,
            detail: "{}".into(),
            prev_hash: prev,
            hash: GENESIS,
            mac: None,
        };
        r.hash = r.computed_hash();
        r.mac = Some(key.mac(&r.hash));
        r
    }

    #[test]
    fn chain_checks_links_hashes_and_macs() {
        let key = AuditKey::new([7; 32]);
        let a = record("n/0", 1, GENESIS, &key);
        let b = record("n/0", 2, a.hash, &key);
        let head = ChainHead {
            chain: "n/0".into(),
            seq: 2,
            hash: b.hash,
        };
        assert_eq!(
            verify_chains(
                &[a.clone(), b.clone()],
                std::slice::from_ref(&head),
                Some(&key)
            ),
            Ok(2)
        );
        // The same records under another key: forged.
        let other = AuditKey::new([8; 32]);
        let err = verify_chains(
            &[a.clone(), b.clone()],
            std::slice::from_ref(&head),
            Some(&other),
        )
        .unwrap_err();
        assert_eq!((err.chain_seq, err.reason.starts_with("MAC")), (1, true));
        // A record moved to another chain no longer matches its hash.
        let mut moved = a.clone();
        moved.chain = "n/1".into();
        let err = verify_chains(&[moved], &[], Some(&key)).unwrap_err();
        assert!(err.reason.contains("altered"), "{err}");
        // Newest record removed.
        let err = verify_chains(&[a], &[head], Some(&key)).unwrap_err();
        assert_eq!(err.chain_seq, 2);
    }

    #[test]
    fn version_one_formula_is_unchanged() {
        // A record of the single-chain log as issue 1 wrote it must verify byte for byte.
        // (The pre-issue-12 fixtures in compat_tests.rs hold real ones; this pins the formula.)
        let h = record_hash_v1(1, 5, "k", "a", None, "{}", &GENESIS);
        assert_eq!(
            data_encoding::HEXLOWER.encode(&h),
            "98eb038fc60ed2cf90f5f2e52921398656e29684ba73092589bce43b9564ec55"
        );
        assert_ne!(
            h,
            record_hash_v2(LEGACY_CHAIN, 1, 5, "k", "a", None, "{}", &GENESIS)
        );
    }

    #[test]
    fn chain_names() {
        assert!(valid_chain_name("node-a/3"));
        assert!(!valid_chain_name("a b"));
        assert!(!valid_chain_name(""));
        assert!(!valid_chain_name("a\nb"));
    }
}
