//! `signet sign` and `signet credentials`: the signature creation application for any CSC
//! server (ETSI TS 119 432's SCA on the signer's side). Documents stay on the machine: each is
//! prepared here, only its DTBS/R digest goes to `signatures/signHash`, and the signature is
//! assembled here (see `signet_client::batch`).
//!
//! Blocking on purpose (one request after another, a terminal in front); it runs before the
//! server's async runtime is started.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use signet_ades::{Envelope, Format, Level};
use signet_client::ApiVersion;
use signet_client::batch::{DocumentSigner, Profile as SignProfile, output_name};
use signet_client::fetch::{HttpValidationData, Rfc3161TimeStamper};

mod profile;
mod session;
mod ui;

use session::{Interactive, Session, Settings};

/// Where to connect (shared by `sign` and `credentials`).
#[derive(Args, Debug, Clone)]
pub struct ConnectArgs {
    /// The CSC server's base URL (env SIGNET_SERVER; a trailing /csc/v1 or /csc/v2 is fine).
    #[arg(long, env = "SIGNET_SERVER")]
    server: Option<String>,
    /// CSC API version: v1 or v2 (default v2).
    #[arg(long, value_parser = ["v1", "v2"])]
    api: Option<String>,
    /// Service authentication: auto, basic (SIGNET_USER, SIGNET_PASSWORD), oauth2 (browser),
    /// client-credentials (--client-id, SIGNET_CLIENT_SECRET) or external (none in the
    /// protocol: a VPN, a gateway, a private network).
    #[arg(long, default_value = "auto", value_parser = ["auto", "basic", "oauth2", "client-credentials", "external"])]
    auth: String,
    /// The user name for basic authentication (else SIGNET_USER, the profile, or a prompt).
    #[arg(long)]
    user: Option<String>,
    /// OAuth2 client ID for browser authorization (a public client registered with
    /// http://127.0.0.1/callback) or client credentials.
    #[arg(long, env = "SIGNET_CLIENT_ID")]
    client_id: Option<String>,
    /// Also trust this CA (PEM) for the server's TLS certificate.
    #[arg(long, value_name = "PEM")]
    ca_cert: Option<PathBuf>,
    /// Use this saved profile (default: "default", if saved).
    #[arg(long)]
    profile: Option<String>,
    /// No progress bar or spinner (they are also off when stderr is not a terminal).
    #[arg(long, short)]
    quiet: bool,
}

/// `signet sign`.
#[derive(Args, Debug)]
pub struct SignArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// The credential to sign with (default: the user's only one).
    #[arg(long)]
    credential: Option<String>,
    /// Signature format (default from the file: PDF → pades, XML → xades, JSON → jades, else
    /// cades).
    #[arg(long, value_parser = ["pades", "cades", "xades", "jades"])]
    format: Option<String>,
    /// Baseline level: B-B, B-T (a time-stamp), B-LT (with validation data), B-LTA.
    #[arg(long, default_value = "B-B")]
    level: String,
    /// A detached signature (CAdES .p7s, XAdES, JAdES) beside the document.
    #[arg(long)]
    detached: bool,
    /// Envelope by its CSC name (Attached, Detached, Parallel, Enveloped, Enveloping,
    /// Certification, Revision); PAdES defaults to Revision (an approval signature).
    #[arg(long, conflicts_with = "detached")]
    envelope: Option<String>,
    /// An RFC 3161 time-stamping authority (default: the server's signatures/timestamp).
    #[arg(long, value_name = "URL")]
    tsa: Option<String>,
    /// Output file (one input only).
    #[arg(short = 'o', long = "output", conflicts_with = "out_dir")]
    output: Option<PathBuf>,
    /// Output folder (default: beside each input).
    #[arg(long)]
    out_dir: Option<PathBuf>,
    /// Replace existing output files (and the input itself when it is named as the output).
    #[arg(long)]
    force: bool,
    /// Save --server, --api, --user, --client-id, --ca-cert, --credential and --tsa in the
    /// profile, for next time.
    #[arg(long)]
    save_profile: bool,
    /// The documents.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// `signet credentials`.
#[derive(Args, Debug)]
pub struct CredentialsArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn settings(c: &ConnectArgs, p: &profile::Profile) -> anyhow::Result<Settings> {
    let server = c.server.clone().or_else(|| p.server.clone()).context(
        "which server? give --server URL (or SIGNET_SERVER), or save one with --save-profile",
    )?;
    let api = match c.api.as_deref().or(p.api.as_deref()).unwrap_or("v2") {
        "v1" => ApiVersion::V1,
        "v2" => ApiVersion::V2,
        other => bail!("unknown API version {other:?} in the profile: use v1 or v2"),
    };
    Ok(Settings {
        server,
        api,
        // The flag, then the environment, then the profile.
        user: c
            .user
            .clone()
            .or_else(|| std::env::var("SIGNET_USER").ok().filter(|u| !u.is_empty()))
            .or_else(|| p.user.clone()),
        client_id: c.client_id.clone().or_else(|| p.client_id.clone()),
        ca_cert: c.ca_cert.clone().or_else(|| p.ca_cert.clone()),
        auth: c.auth.clone(),
        quiet: c.quiet,
    })
}

fn load_profile(c: &ConnectArgs) -> anyhow::Result<profile::Profile> {
    profile::load(
        c.profile.as_deref().unwrap_or("default"),
        c.profile.is_some(),
    )
}

/// One input and where its result goes.
struct Item {
    input: PathBuf,
    /// Bytes, when planned: bounds how much one group holds in memory.
    size: u64,
    output: PathBuf,
    format: Format,
    envelope: Envelope,
}

/// Exit code: 0 when every document was signed, 1 when some failed.
pub fn sign(args: SignArgs) -> anyhow::Result<std::process::ExitCode> {
    let started = Instant::now();
    let saved = load_profile(&args.connect)?;
    let settings = settings(&args.connect, &saved)?;
    let level = Level::parse(&args.level).map_err(|e| anyhow::anyhow!("--level: {e}"))?;
    if args.output.is_some() && args.files.len() > 1 {
        bail!("-o names one output file; for several inputs use --out-dir");
    }
    // Plan every output before anything is signed: a name clash or an existing file is found
    // now, not after the signer has approved.
    let mut items = Vec::new();
    let mut planned: Vec<PathBuf> = Vec::new();
    for input in &args.files {
        let item = plan(input, &args)?;
        if planned.contains(&item.output) {
            bail!("two inputs would be written to {}", item.output.display());
        }
        planned.push(item.output.clone());
        items.push(item);
    }

    let session = Session::open(&settings)?;
    let credential_id =
        session.pick_credential(args.credential.as_deref().or(saved.credential.as_deref()))?;
    let credential = session
        .client
        .credential_info(&credential_id)
        .with_context(|| format!("reading credential {credential_id} (credentials/info)"))?;
    if args.save_profile {
        let path = profile::save(
            args.connect.profile.as_deref().unwrap_or("default"),
            profile::Profile {
                server: Some(settings.server.clone()),
                api: Some(match settings.api {
                    ApiVersion::V1 => "v1".into(),
                    ApiVersion::V2 => "v2".into(),
                }),
                credential: Some(credential_id.clone()),
                user: settings.user.clone(),
                client_id: settings.client_id.clone(),
                ca_cert: settings.ca_cert.clone(),
                tsa: args.tsa.clone().or(saved.tsa.clone()),
            },
        )?;
        if !settings.quiet {
            eprintln!("saved the connection settings in {}", path.display());
        }
    }

    // Time-stamps and validation data, from B-T and B-LT on.
    let needs_tsa = level != Level::BB;
    let rfc3161 = args
        .tsa
        .clone()
        .or(saved.tsa.clone())
        .map(|url| Rfc3161TimeStamper::new(session.http.clone(), url));
    if needs_tsa && rfc3161.is_none() && !session.info.offers("signatures/timestamp") {
        bail!(
            "level {} needs a time-stamp: the server does not offer signatures/timestamp; give --tsa URL",
            level.csc_name()
        );
    }
    let validation = HttpValidationData::new(session.http.clone(), credential.certificates.clone());
    let mut signer = DocumentSigner::new(&session.client, &credential)?;
    let csc_tsa: &dyn signet_ades::TimeStamper = &session.client;
    signer.tsa = match &rfc3161 {
        _ if !needs_tsa => None,
        Some(t) => Some(t),
        None => Some(csc_tsa),
    };
    signer.validation = Some(&validation);
    let mut authorizer = Interactive::new(&session);

    let bar = ui::progress(items.len() as u64, settings.quiet);
    let mut signed = 0usize;
    let mut failures: Vec<(PathBuf, String)> = Vec::new();
    let mut stopped: Option<String> = None;
    let signing_time = unix_now();
    // As few authorizations as the credential allows: one per `multisign` documents.
    let groups = groups(&items, credential.multisign.max(1) as usize, GROUP_BYTES);
    let mut first = 1;
    for (n, group) in groups.iter().copied().enumerate() {
        let range = (first, first + group.len() - 1);
        first += group.len();
        if let Some(reason) = &stopped {
            for item in group {
                failures.push((item.input.clone(), reason.clone()));
            }
            bar.inc(group.len() as u64);
            continue;
        }
        // Step one, locally: read and prepare each document.
        let mut prepared = Vec::new();
        let mut prepared_items = Vec::new();
        for item in group {
            let profile = SignProfile {
                format: item.format,
                level,
                envelope: item.envelope,
                props: Default::default(),
            };
            let result = std::fs::read(&item.input)
                .map_err(|e| format!("cannot read it: {e}"))
                .and_then(|doc| {
                    let name = item
                        .input
                        .file_name()
                        .and_then(|n| n.to_str())
                        .unwrap_or("document");
                    signer
                        .prepare(name, doc, &profile, signing_time)
                        .map_err(|e| e.to_string())
                });
            match result {
                Ok(p) => {
                    prepared.push(p);
                    prepared_items.push(item);
                }
                Err(e) => {
                    failures.push((item.input.clone(), e));
                    bar.inc(1);
                }
            }
        }
        if prepared.is_empty() {
            continue;
        }
        // Step two, remote: one authorization and one signHash for the group. Step three,
        // locally: each signature assembled, checked against the certificate, written.
        bar.set_message("authorizing…");
        let results = bar.suspend(|| {
            // On a terminal, say which documents the next prompt is for when there are several
            // authorizations (a second one-time code would otherwise come unexplained).
            if groups.len() > 1 && !settings.quiet && ui::interactive() {
                eprintln!(
                    "Authorization {} of {}: documents {}–{} of {}",
                    n + 1,
                    groups.len(),
                    range.0,
                    range.1,
                    items.len()
                );
            }
            signer.sign_group(prepared, &mut authorizer)
        });
        bar.set_message("");
        match results {
            Ok(results) => {
                for (item, result) in prepared_items.into_iter().zip(results) {
                    let written = result
                        .map_err(|e| e.to_string())
                        .and_then(|f| write_output(&item.output, f.output.bytes(), args.force));
                    match written {
                        Ok(()) => signed += 1,
                        Err(e) => failures.push((item.input.clone(), e)),
                    }
                    bar.inc(1);
                }
            }
            Err(e) => {
                let reason = e.to_string();
                for item in prepared_items {
                    failures.push((item.input.clone(), reason.clone()));
                    bar.inc(1);
                }
                // The cause (a wrong PIN, a refusing server) would repeat for every group; a
                // second wrong PIN could lock the credential. Stop here.
                stopped = Some(format!(
                    "not signed: stopped after the error above ({reason})"
                ));
            }
        }
    }
    bar.finish_and_clear();
    let authorizations = authorizer.authorizations;
    summary(
        signed,
        &failures,
        authorizations,
        started,
        level,
        settings.quiet,
    );
    Ok(if failures.is_empty() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::from(1)
    })
}

/// Most document bytes one group holds in memory (a group is read and prepared before its one
/// signHash): a credential with a high `multisign` and large files costs another authorization
/// rather than the machine's memory.
const GROUP_BYTES: u64 = 512 << 20;

/// Consecutive groups of at most `multisign` items and `max_bytes` bytes (a single larger
/// item is a group of its own).
fn groups(items: &[Item], multisign: usize, max_bytes: u64) -> Vec<&[Item]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0u64);
    for (i, item) in items.iter().enumerate() {
        if i > start && (i - start == multisign || bytes + item.size > max_bytes) {
            out.push(&items[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += item.size;
    }
    if start < items.len() {
        out.push(&items[start..]);
    }
    out
}

/// Where `input`'s result goes, in what format; refuses to overwrite unless --force.
fn plan(input: &Path, args: &SignArgs) -> anyhow::Result<Item> {
    let name = input
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{}: not a file name", input.display()))?;
    let meta = std::fs::metadata(input).with_context(|| format!("{}", input.display()))?;
    if !meta.is_file() {
        bail!("{}: not a file", input.display());
    }
    let format = match args.format.as_deref() {
        Some("pades") => Format::Pades,
        Some("cades") => Format::Cades,
        Some("xades") => Format::Xades,
        Some("jades") => Format::Jades,
        _ => {
            let mut head = [0u8; 64];
            let n = std::fs::File::open(input)
                .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
                .unwrap_or(0);
            SignProfile::format_for(name, &head[..n])
        }
    };
    let envelope = match (&args.envelope, args.detached, format) {
        (Some(e), _, f) => f
            .envelope(e)
            .map_err(|e| anyhow::anyhow!("--envelope: {e}"))?,
        (None, true, Format::Pades) => bail!(
            "{}: a PDF signature is inside the PDF; --detached is for CAdES, XAdES and JAdES (use --format cades for a .p7s)",
            input.display()
        ),
        (None, true, _) => Envelope::Detached,
        (None, false, Format::Pades) => Envelope::Revision,
        (None, false, f) => f.default_envelope(false),
    };
    let output = match (&args.output, &args.out_dir) {
        (Some(o), _) => o.clone(),
        (None, Some(dir)) => dir.join(output_name(name, format, envelope)),
        (None, None) => input.with_file_name(output_name(name, format, envelope)),
    };
    if same_file(&output, input) && !args.force {
        bail!(
            "{}: the output would replace the input; add --force to sign it in place",
            input.display()
        );
    }
    if output.exists() && !args.force {
        bail!(
            "{} exists already; add --force to replace it, or choose -o / --out-dir",
            output.display()
        );
    }
    Ok(Item {
        input: input.to_owned(),
        size: meta.len(),
        output,
        format,
        envelope,
    })
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Writes through a temporary file in the same folder and renames it: a reader never sees a
/// half-written signature, and a failure leaves no output.
fn write_output(path: &Path, bytes: &[u8], force: bool) -> Result<(), String> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let fail = |e: std::io::Error| format!("writing {}: {e}", path.display());
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    std::io::Write::write_all(&mut tmp, bytes).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    if force {
        tmp.persist(path).map_err(|e| fail(e.error))?;
    } else {
        // Not replacing a file that appeared meanwhile.
        tmp.persist_noclobber(path).map_err(|e| fail(e.error))?;
    }
    Ok(())
}

fn summary(
    signed: usize,
    failures: &[(PathBuf, String)],
    authorizations: u32,
    started: Instant,
    level: Level,
    quiet: bool,
) {
    for (input, why) in failures {
        eprintln!("error: {}: {why}", input.display());
    }
    let secs = started.elapsed().as_secs_f64();
    if !quiet || !failures.is_empty() {
        eprintln!(
            "signed {signed} of {} document{} ({}) in {secs:.1} s with {authorizations} authorization{}{}",
            signed + failures.len(),
            if signed + failures.len() == 1 {
                ""
            } else {
                "s"
            },
            level.csc_name(),
            if authorizations == 1 { "" } else { "s" },
            if failures.is_empty() {
                String::new()
            } else {
                format!("; {} failed", failures.len())
            }
        );
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `signet credentials`: the user's credentials, one line each (or JSON).
pub fn credentials(args: CredentialsArgs) -> anyhow::Result<std::process::ExitCode> {
    let saved = load_profile(&args.connect)?;
    let settings = settings(&args.connect, &saved)?;
    let session = Session::open(&settings)?;
    let ids = session
        .client
        .list_credentials()
        .context("listing credentials")?;
    let mut rows = Vec::new();
    for id in &ids {
        let c = session
            .client
            .credential_info(id)
            .with_context(|| format!("credential {id} (credentials/info)"))?;
        // certInfo is optional for a server: read what it left out from the certificate.
        let summary = c
            .certificates
            .first()
            .and_then(|der| signet_pki::summarize(der).ok());
        let from_cert = |given: &Option<String>, read: fn(&signet_pki::CertSummary) -> String| {
            given.clone().or_else(|| summary.as_ref().map(read))
        };
        let key = match c.key_type() {
            Ok(k) => k.name().to_owned(),
            Err(_) => format!("{} bits", c.key_len),
        };
        rows.push(serde_json::json!({
            "credentialID": c.id,
            "subject": from_cert(&c.subject_dn, |s| s.subject_dn.clone()),
            "validFrom": from_cert(&c.valid_from, |s| s.valid_from.clone()),
            "validTo": from_cert(&c.valid_to, |s| s.valid_to.clone()),
            "certStatus": c.cert_status,
            "key": key,
            "keyStatus": c.key_status,
            "SCAL": c.scal,
            "authMode": c.auth_mode.name(),
            "authExpression": c.auth_expression,
            "multisign": c.multisign,
            "description": c.description,
        }));
    }
    if args.json {
        println!("{}", serde_json::Value::Array(rows));
        return Ok(std::process::ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!("no credentials");
    }
    for r in &rows {
        let s = |k: &str| r[k].as_str().unwrap_or("-").to_owned();
        println!("{}", s("credentialID"));
        println!("  subject    {}", s("subject"));
        println!(
            "  valid      {} to {} ({})",
            s("validFrom"),
            s("validTo"),
            s("certStatus")
        );
        println!("  key        {} ({})", s("key"), s("keyStatus"));
        println!(
            "  SCAL {}     authorization {}{}, multisign {}",
            r["SCAL"],
            s("authMode"),
            r["authExpression"]
                .as_str()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default(),
            r["multisign"]
        );
    }
    Ok(std::process::ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(sizes: &[u64]) -> Vec<Item> {
        sizes
            .iter()
            .map(|&size| Item {
                input: PathBuf::new(),
                size,
                output: PathBuf::new(),
                format: Format::Cades,
                envelope: Envelope::Attached,
            })
            .collect()
    }

    fn lens(items: &[Item], multisign: usize, max: u64) -> Vec<usize> {
        groups(items, multisign, max)
            .iter()
            .map(|g| g.len())
            .collect()
    }

    #[test]
    fn groups_respect_multisign_and_memory() {
        assert_eq!(lens(&items(&[1; 5]), 2, 100), [2, 2, 1]);
        assert_eq!(lens(&items(&[1; 5]), 10, 100), [5]);
        assert_eq!(lens(&items(&[40, 40, 40, 40]), 10, 100), [2, 2]);
        // One file above the limit is signed alone, not refused.
        assert_eq!(lens(&items(&[10, 500, 10]), 10, 100), [1, 1, 1]);
        assert!(groups(&items(&[]), 3, 100).is_empty());
    }
}
