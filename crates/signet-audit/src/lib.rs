//! The audit log's tamper evidence above the store's keyed chains (issue 13).
//!
//! The store appends each record, MACed, to one of several chains in the transaction of the
//! change it records (`signet-store`). This crate seals those chains: a [`seal::Sealer`] puts
//! every new record into one RFC 9162 Merkle tree, in a deterministic order, and writes a
//! [`checkpoint::Checkpoint`] signed by the audit key (in the key module) and time-stamped;
//! [`verify`] checks all of it, and [`proof`] proves one record's inclusion to someone who has
//! only the audit certificate.
//!
//! # The order of the leaves
//!
//! Checkpoint `k` names each chain's head. Its new leaves are, chain by chain in byte order of
//! the chain names, the records after the previous checkpoint's head up to this one's, in chain
//! order. So the tree is fully determined by the checkpoints and the records, nothing about
//! the order is stored that could be altered, and each record's leaf is
//! `leaf_hash(record hash)`.

#![forbid(unsafe_code)]

pub mod checkpoint;
pub mod key;
pub mod log;
pub mod merkle;
pub mod proof;
pub mod seal;
pub mod telemetry;
pub mod verify;
