//! `signet audit …`: verify the log, print checkpoints, prove and check single records, seal,
//! rotate the audit key, export. The checks themselves are `signet-audit`'s; this is reading
//! files and printing.
//!
//! `verify` exits 0 when the log verifies, 2 when a record fails (hash, link, MAC, missing), 3
//! when a checkpoint fails (signature, time-stamp, root, sequence) and 4 when the log does not
//! extend the trusted checkpoint; 1 for anything else (unreadable file, database down).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use data_encoding::{BASE64, HEXLOWER};
use serde_json::json;
use signet_audit::checkpoint::{AuditCertificate, Checkpoint, note_hash, verify_note};
use signet_audit::log::Snapshot;
use signet_audit::proof::{InclusionProof, prove, verify_proof};
use signet_audit::seal::Sealed;
use signet_audit::verify::{FailureKind, Options, verify as verify_log};

use crate::node::Node;

const PAGE: u32 = 1000;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check every record (hash, chain link, MAC), every checkpoint (signature, time-stamp,
    /// Merkle root, link to the previous) and report records not yet sealed. Exit 0: intact;
    /// 2: a record fails; 3: a checkpoint fails; 4: the log does not extend --trusted-checkpoint.
    Verify {
        /// A signed checkpoint kept outside the database (`signet audit checkpoint`, or a file
        /// of `audit.checkpoint_dir`): prove that today's log extends it.
        #[arg(long, value_name = "FILE")]
        trusted_checkpoint: Option<PathBuf>,
        /// Trust only this audit certificate (PEM or DER) for checkpoint signatures, instead of
        /// the ones in the database that the embedded CA issued.
        #[arg(long, value_name = "FILE")]
        audit_cert: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Print the newest signed checkpoint (C2SP signed note), to keep elsewhere or give to a
    /// witness.
    Checkpoint {
        /// Also its time-stamp, tree size, root, time and certificate, as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a proof that record SEQ is in the newest checkpoint (JSON), to check offline with
    /// `signet audit verify-proof` and the audit certificate.
    Prove {
        /// The record's number (`seq` in `signet audit export`).
        seq: i64,
        /// Write the proof here instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Check an inclusion proof offline, with only the audit certificate (no database, no
    /// data directory).
    VerifyProof {
        proof: PathBuf,
        /// The audit certificate, PEM or DER (`signet audit certificate`).
        #[arg(long, value_name = "FILE")]
        cert: PathBuf,
    },
    /// Seal now (what `serve` does every `audit.seal_interval_ms`): records appended while no
    /// server runs are otherwise sealed by the next `serve`.
    Seal,
    /// Print the current audit certificate (PEM).
    Certificate,
    /// Replace the audit key by a new one in the key module; older checkpoints keep verifying
    /// with the old certificate.
    RotateKey,
    /// Write every record as JSON lines (with chain, hashes and MAC) to standard output.
    Export,
}

/// Runs `verify-proof`, which needs no data directory.
pub fn verify_proof_command(proof: &Path, cert: &Path) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(proof).with_context(|| format!("reading {}", proof.display()))?;
    let proof: InclusionProof =
        serde_json::from_str(&text).context("the proof is not an inclusion proof JSON document")?;
    let certificate = AuditCertificate::from_der(&read_certificate(cert)?)
        .context("the audit certificate does not parse")?;
    match verify_proof(&proof, &certificate) {
        Ok(cp) => {
            println!(
                "proof OK: record {} ({} by {}, {}) is leaf {} of the {}-record log {} signed at {}",
                proof.record.seq,
                proof.record.kind,
                proof.record.actor,
                format_time(proof.record.time_ms),
                proof.leaf_index,
                cp.tree_size,
                cp.origin,
                format_time(cp.time_ms)
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("proof FAILED: {e}");
            Ok(ExitCode::from(2))
        }
    }
}

pub async fn run(node: &Node, command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify {
            trusted_checkpoint,
            audit_cert,
            json,
        } => {
            verify(
                node,
                trusted_checkpoint.as_deref(),
                audit_cert.as_deref(),
                json,
            )
            .await
        }
        AuditCommand::Checkpoint { json } => checkpoint(node, json).await,
        AuditCommand::Prove { seq, output } => prove_command(node, seq, output.as_deref()).await,
        AuditCommand::VerifyProof { proof, cert } => verify_proof_command(&proof, &cert),
        AuditCommand::Seal => seal(node).await,
        AuditCommand::Certificate => {
            let key = signet_audit::key::load(node.store.as_ref())
                .await?
                .context("the log has no audit key")?;
            print!(
                "{}",
                signet_pki::pem_certificate(&key.certificate.certificate)
            );
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::RotateKey => {
            let key = signet_audit::key::rotate(
                node.store.as_ref(),
                &node.service_keys(),
                &node.admin.ca,
                &node.audit_key_settings,
            )
            .await?;
            println!(
                "audit key rotated: new key ID {} (running servers sign their next checkpoint with it)",
                HEXLOWER.encode(&key.certificate.key_id)
            );
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Export => export(node).await,
    }
}

/// A certificate file, PEM or DER.
fn read_certificate(path: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Ok(bytes);
    };
    let Some(start) = text.find("-----BEGIN CERTIFICATE-----") else {
        return Ok(bytes);
    };
    let body = &text[start + "-----BEGIN CERTIFICATE-----".len()..];
    let end = body
        .find("-----END CERTIFICATE-----")
        .with_context(|| format!("{}: unterminated PEM certificate", path.display()))?;
    let b64: String = body[..end].split_whitespace().collect();
    BASE64
        .decode(b64.as_bytes())
        .with_context(|| format!("{}: the PEM certificate is not base64", path.display()))
}

fn format_time(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{ms} ms"))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Reads the log, with a record count on a terminal for long logs.
async fn snapshot(node: &Node) -> anyhow::Result<Snapshot> {
    let terminal = std::io::stderr().is_terminal();
    let mut shown = 0;
    let mut progress = |n: usize| {
        if terminal && n >= shown + 50_000 {
            shown = n;
            eprint!("\rreading the audit log: {n} records");
        }
    };
    let log = Snapshot::read_with_progress(node.store.as_ref(), &mut progress).await?;
    if terminal && shown > 0 {
        eprintln!();
    }
    Ok(log)
}

/// The audit certificates checkpoints may be signed with: the one given, else those in the
/// database that the embedded CA issued.
async fn certificates(
    node: &Node,
    pinned: Option<&Path>,
) -> anyhow::Result<(Vec<AuditCertificate>, Vec<String>)> {
    if let Some(path) = pinned {
        let cert = AuditCertificate::from_der(&read_certificate(path)?)
            .context("the audit certificate does not parse")?;
        return Ok((vec![cert], Vec::new()));
    }
    Ok(
        signet_audit::key::trusted_certificates(node.store.as_ref(), &node.admin.ca.certificate)
            .await?,
    )
}

async fn verify(
    node: &Node,
    trusted: Option<&Path>,
    pinned: Option<&Path>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let trusted_checkpoint = match trusted {
        Some(path) => Some(read_checkpoint_file(path)?),
        None => None,
    };
    let (certificates, mut problems) = certificates(node, pinned).await?;
    let log = snapshot(node).await?;
    let builtin_tsa = matches!(
        node.time_stamps,
        signet_service::TimeStampSource::Builtin(_)
    );
    let options = Options {
        mac_key: Some(node.audit_mac_key.clone()),
        certificates,
        tsa_issuer: builtin_tsa.then(|| node.admin.ca.certificate.clone()),
        trusted_checkpoint,
    };
    match verify_log(&log, &options) {
        Ok(mut report) => {
            report.warnings.append(&mut problems);
            let now = now_ms();
            if json {
                let unsealed: Vec<_> = report
                    .unsealed
                    .iter()
                    .map(|u| json!({"chain": u.chain, "records": u.count, "oldest_age_ms": now - u.oldest_ms}))
                    .collect();
                println!(
                    "{}",
                    json!({
                        "ok": true,
                        "records": report.records,
                        "chains": report.chains,
                        "checkpoints": report.checkpoints,
                        "tree_size": report.tree_size,
                        "root": report.root.map(|r| BASE64.encode(&r)),
                        "extends_trusted_checkpoint": report.extends_trusted,
                        "unsealed": unsealed,
                        "warnings": report.warnings,
                    })
                );
            } else {
                println!(
                    "audit log OK: {} records in {} chains, {} checkpoints (tree size {})",
                    report.records, report.chains, report.checkpoints, report.tree_size
                );
                if let Some(size) = report.extends_trusted {
                    println!("  extends the trusted checkpoint of tree size {size}");
                }
                let count: usize = report.unsealed.iter().map(|u| u.count).sum();
                if let Some(oldest) = report.unsealed.iter().map(|u| u.oldest_ms).min() {
                    println!(
                        "  not yet sealed: {count} records, the oldest {:.1} s old",
                        (now - oldest) as f64 / 1000.0
                    );
                } else {
                    println!("  every record is sealed");
                }
                for w in &report.warnings {
                    println!("  warning: {w}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(failure) => {
            if json {
                println!("{}", json!({"ok": false, "error": failure.message}));
            }
            eprintln!("audit log BROKEN: {}", failure.message);
            Ok(ExitCode::from(match failure.kind {
                FailureKind::Record => 2,
                FailureKind::Checkpoint => 3,
                FailureKind::Trusted => 4,
            }))
        }
    }
}

/// A checkpoint file: the signed note itself, or the JSON `signet audit checkpoint --json`
/// prints (its `checkpoint` member).
fn read_checkpoint_file(path: &Path) -> anyhow::Result<String> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if text.trim_start().starts_with('{') {
        let value: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
        return value["checkpoint"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("{}: no \"checkpoint\" member", path.display()));
    }
    Ok(text)
}

async fn checkpoint(node: &Node, json: bool) -> anyhow::Result<ExitCode> {
    let Some(latest) = node.store.latest_audit_checkpoint().await? else {
        eprintln!(
            "no checkpoint yet: nothing has been sealed (is a server running, or try `signet audit seal`)"
        );
        return Ok(ExitCode::FAILURE);
    };
    if !json {
        print!("{}", latest.note);
        return Ok(ExitCode::SUCCESS);
    }
    let (certificates, _) = certificates(node, None).await?;
    let (cp, cert): (Checkpoint, &AuditCertificate) = verify_note(&latest.note, &certificates)
        .context("the newest checkpoint does not verify")?;
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "n": latest.n,
            "origin": cp.origin,
            "tree_size": cp.tree_size,
            "root": BASE64.encode(&cp.root),
            "time": format_time(cp.time_ms),
            "checkpoint": latest.note,
            "sha256": HEXLOWER.encode(&note_hash(&latest.note)),
            "timestamp": latest.timestamp.as_ref().map(|t| BASE64.encode(t)),
            "certificate": signet_pki::pem_certificate(&cert.certificate),
        }))?
    );
    Ok(ExitCode::SUCCESS)
}

async fn prove_command(node: &Node, seq: i64, output: Option<&Path>) -> anyhow::Result<ExitCode> {
    let log = snapshot(node).await?;
    let proof = match prove(&log, seq) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("cannot prove record {seq}: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let text = serde_json::to_string_pretty(&proof)? + "\n";
    match output {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

async fn seal(node: &Node) -> anyhow::Result<ExitCode> {
    let pki = node.serving_pki();
    // As `serve` does: the built-in TSA first, so its creation record is sealed too.
    if matches!(pki.source(), signet_service::TimeStampSource::Builtin(_)) {
        pki.builtin_tsa().await.context("the built-in TSA")?;
    }
    let sealer = node.sealer_with(Some(pki), 1_000);
    let mut sealed = 0;
    loop {
        match sealer.seal_once().await? {
            Sealed::Checkpoint { stored, more } => {
                sealed += 1;
                println!(
                    "checkpoint {} sealed: tree size {}",
                    stored.n, stored.tree_size
                );
                if !more {
                    break;
                }
            }
            Sealed::UpToDate => {
                if sealed == 0 {
                    println!("nothing to seal: every record is in a checkpoint");
                }
                break;
            }
            Sealed::NotSealer => {
                println!("another node is sealing (it holds the sealer lease): nothing done");
                break;
            }
        }
    }
    node.store.release_audit_sealer_lease(&node.node_id).await?;
    Ok(ExitCode::SUCCESS)
}

async fn export(node: &Node) -> anyhow::Result<ExitCode> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut after = 0;
    loop {
        let page = node.store.audit_records(after, PAGE).await?;
        for r in &page {
            // The record as stored: hashes and MAC in hex, `detail` the exact JSON text hashed.
            let line = serde_json::to_string(r)?;
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
