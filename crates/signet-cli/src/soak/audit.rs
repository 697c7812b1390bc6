//! The audit checks, with the operator's commands: `signet audit verify --json` must pass, and
//! `signet audit export` must hold a `signature.create` record for every signature a client
//! received — same credential, and the hash signed (signHash) or the document's digest
//! (signDoc, DSS-X) among the record's `hashes` or `documents`.

use std::collections::HashSet;

use anyhow::Context;
use serde_json::Value;
use signet_store::audit::AuditRecord;
use tokio::io::AsyncBufReadExt;

use super::fixture::Admin;
use super::record::{Evidence, Received};

/// What `audit verify` said.
pub struct Verified {
    pub ok: bool,
    /// Its JSON report, or its error output.
    pub summary: String,
}

pub async fn verify(admin: &Admin) -> anyhow::Result<Verified> {
    let out = admin
        .command(&["audit", "verify", "--json"])
        .output()
        .await
        .context("running signet audit verify")?;
    let report: Option<Value> = serde_json::from_slice(&out.stdout).ok();
    let ok = out.status.success() && report.as_ref().is_some_and(|r| r["ok"] == true);
    let summary = match &report {
        Some(r) if ok => format!(
            "{} records in {} chains, {} checkpoints, {} warning(s)",
            r["records"],
            r["chains"],
            r["checkpoints"],
            r["warnings"].as_array().map_or(0, Vec::len)
        ),
        _ => format!(
            "exit {}: {}{}",
            out.status
                .code()
                .map_or("by signal".into(), |c| c.to_string()),
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
    };
    Ok(Verified { ok, summary })
}

/// The result of matching the received signatures against the exported log.
pub struct Matched {
    /// `signature.create` records in the log.
    pub records: usize,
    pub received: usize,
    /// Received signatures without a record (the first few, described).
    pub missing: Vec<String>,
    pub missing_count: usize,
}

/// Streams `signet audit export` and matches every received signature.
pub async fn match_signatures(admin: &Admin, received: &[Received]) -> anyhow::Result<Matched> {
    let mut child = admin
        .command(&["audit", "export"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("running signet audit export")?;
    let stdout = child
        .stdout
        .take()
        .context("signet audit export has no output")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    // (credential, evidence) of every signature the log records.
    let mut logged: HashSet<(String, Evidence)> = HashSet::new();
    let mut records = 0;
    while let Some(line) = lines.next_line().await? {
        let record: AuditRecord =
            serde_json::from_str(&line).context("an audit export line is not a record")?;
        if record.kind != "signature.create" {
            continue;
        }
        records += 1;
        let Some(credential) = record.credential_id else {
            continue;
        };
        let detail: Value = serde_json::from_str(&record.detail)
            .with_context(|| format!("record {}: detail is not JSON", record.seq))?;
        for (field, make) in [
            ("hashes", Evidence::Hash as fn(String) -> Evidence),
            ("documents", Evidence::Document),
        ] {
            for hex in detail[field].as_array().into_iter().flatten() {
                if let Some(hex) = hex.as_str() {
                    logged.insert((credential.clone(), make(hex.to_owned())));
                }
            }
        }
    }
    let status = child.wait().await?;
    anyhow::ensure!(status.success(), "signet audit export failed ({status})");
    let mut missing = Vec::new();
    let mut missing_count = 0;
    for r in received {
        if !logged.contains(&(r.credential.clone(), r.evidence.clone())) {
            missing_count += 1;
            if missing.len() < 10 {
                missing.push(format!(
                    "{} credential {} {:?}",
                    r.flow.name(),
                    r.credential,
                    r.evidence
                ));
            }
        }
    }
    Ok(Matched {
        records,
        received: received.len(),
        missing,
        missing_count,
    })
}
