//! `signet audit verify` and `signet audit export`.
//!
//! Export writes `detail` as the exact stored JSON text, so an auditor can recompute every
//! record hash (signet_store::audit::record_hash) from the export alone.

use std::io::Write;
use std::process::ExitCode;

use signet_store::audit::ChainVerifier;

use crate::node::Node;

const PAGE: u32 = 1000;

pub async fn verify(node: &Node) -> anyhow::Result<ExitCode> {
    // Read the head first: records appended after it (by a running server) are not judged.
    let head = node.store.audit_head().await?;
    let last = head.map_or(0, |(seq, _)| seq);
    let mut verifier = ChainVerifier::default();
    let mut after = 0;
    'pages: loop {
        let page = node.store.audit_records(after, PAGE).await?;
        for r in &page {
            if r.seq > last && verifier.count() >= last {
                break 'pages;
            }
            if let Err(e) = verifier.check(r) {
                eprintln!("audit chain BROKEN: {e}");
                return Ok(ExitCode::FAILURE);
            }
        }
        match page.last() {
            Some(r) => after = r.seq,
            None => break,
        }
    }
    if let Err(e) = verifier.finish(head) {
        eprintln!("audit chain BROKEN: {e}");
        return Ok(ExitCode::FAILURE);
    }
    println!("audit chain OK: {} records", verifier.count());
    Ok(ExitCode::SUCCESS)
}

pub async fn export(node: &Node) -> anyhow::Result<ExitCode> {
    let hex = data_encoding::HEXLOWER;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut after = 0;
    loop {
        let page = node.store.audit_records(after, PAGE).await?;
        for r in &page {
            let line = serde_json::json!({
                "seq": r.seq, "time_ms": r.time_ms, "kind": r.kind, "actor": r.actor,
                "credential_id": r.credential_id, "detail": r.detail,
                "prev_hash": hex.encode(&r.prev_hash), "hash": hex.encode(&r.hash),
            });
            writeln!(out, "{line}")?;
        }
        match page.last() {
            Some(last) => after = last.seq,
            None => break,
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
