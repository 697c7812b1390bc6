//! Encodings and clocks shared by the backends, so that both store byte-identical values: the
//! list blob of certificate chains and bound hashes, the text of audit records, and the times
//! the store stamps on rows.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::audit::{AuditKey, AuditRecord, NewAuditEvent};
use crate::{SecretHash, StoreError};

/// Unix time in seconds; 0 if the clock is before 1970 (never fails: only used for bookkeeping).
pub(crate) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Unix time in milliseconds, as audit records carry it.
pub(crate) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Why a stored value did not decode.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Malformed(pub &'static str);

/// Encodes a list of byte strings as `u32-be length || bytes`, repeated. The empty list is the
/// empty blob (distinct from SQL NULL, which callers use for "no list").
pub(crate) fn encode_list(items: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(items.iter().map(|i| 4 + i.len()).sum());
    for item in items {
        // A single item over 4 GiB cannot come from a request or a certificate chain; saturating
        // would produce a blob that fails to decode rather than a silently wrong one.
        let len = u32::try_from(item.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(item);
    }
    out
}

/// Inverse of [`encode_list`]; fails on truncated or trailing data.
pub(crate) fn decode_list(mut blob: &[u8]) -> Result<Vec<Vec<u8>>, Malformed> {
    let mut items = Vec::new();
    while !blob.is_empty() {
        let (len, rest) = blob
            .split_first_chunk::<4>()
            .ok_or(Malformed("truncated list length"))?;
        let len = usize::try_from(u32::from_be_bytes(*len))
            .map_err(|_| Malformed("list item too long"))?;
        if rest.len() < len {
            return Err(Malformed("truncated list item"));
        }
        let (item, rest) = rest.split_at(len);
        items.push(item.to_vec());
        blob = rest;
    }
    Ok(items)
}

/// The text an audit field is stored (and hashed) as. PostgreSQL `text` cannot hold NUL, and an
/// actor can be whatever a client typed as its username; both backends replace NUL with U+FFFD
/// so that the same event yields the same record on either.
pub(crate) fn audit_text(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\0') {
        std::borrow::Cow::Owned(text.replace('\0', "\u{fffd}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// The record that follows `(prev_seq, prev_hash)` on `chain` for `event`, stamped now and
/// MACed with `key`: what both backends insert while they hold the chain head. Its `seq` is 0:
/// the database numbers it on insert.
pub(crate) fn next_audit_record(
    chain: &str,
    prev_seq: i64,
    prev_hash: &SecretHash,
    key: &AuditKey,
    event: &NewAuditEvent,
) -> Result<AuditRecord, StoreError> {
    let chain_seq = prev_seq
        .checked_add(1)
        .ok_or_else(|| StoreError::Corrupt("audit sequence exhausted".into()))?;
    let detail = serde_json::to_string(&event.detail)
        .map_err(|e| StoreError::Database(format!("cannot serialize audit detail: {e}")))?;
    let mut record = AuditRecord {
        seq: 0,
        chain: chain.to_owned(),
        chain_seq,
        version: 2,
        time_ms: now_millis(),
        kind: audit_text(&event.kind).into_owned(),
        actor: audit_text(&event.actor).into_owned(),
        credential_id: event
            .credential_id
            .as_deref()
            .map(|c| audit_text(c).into_owned()),
        detail,
        prev_hash: *prev_hash,
        hash: [0; 32],
        mac: None,
    };
    record.hash = record.computed_hash();
    record.mac = Some(key.mac(&record.hash));
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_roundtrip_and_malformed() {
        let items = vec![vec![], vec![1, 2, 3], vec![0xff; 300]];
        assert_eq!(decode_list(&encode_list(&items)).ok(), Some(items));
        assert_eq!(decode_list(&[]).ok(), Some(vec![]));
        assert!(decode_list(&[0, 0, 0]).is_err());
        assert!(decode_list(&[0, 0, 0, 5, 1, 2]).is_err());
    }

    #[test]
    fn audit_text_replaces_nul_only() {
        assert_eq!(audit_text("alice"), "alice");
        assert_eq!(audit_text("a\0b"), "a\u{fffd}b");
    }
}
