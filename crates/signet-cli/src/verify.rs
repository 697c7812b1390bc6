//! `signet verify` and `signet extend`: validation (EN 319 102-1, with the TS 119 102-2
//! report) and augmentation to B-LT / B-LTA of any AdES signature, on this machine.
//!
//! Blocking, like `signet sign`: it runs before the server's async runtime is started. The
//! network is used only to fetch what the signature lacks (issuer certificates, CRLs, OCSP —
//! not with `--offline`), trusted lists named by URL, and the TSA of `signet extend`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use signet_ades::Level;
use signet_client::fetch::{HttpValidationData, LazyValidationData, Rfc3161TimeStamper};
use signet_client::{HttpOptions, http_client};
use signet_validation::trust::{self, TrustAnchors};
use signet_validation::{
    DetachedContent, Indication, Limits, Options, TrustListInfo, ValidationReport, report,
};
use time::OffsetDateTime;

/// Where trust comes from and what may be fetched (shared by `verify` and `extend`).
#[derive(Args, Debug)]
pub struct TrustArgs {
    /// A trust anchor: a PEM file with one or more certificates, or a DER certificate.
    #[arg(long, value_name = "PEM")]
    trust: Vec<PathBuf>,
    /// An ETSI TS 119 612 trusted list, or the EU list of trusted lists, as a file or an
    /// http(s) URL; its signature is checked and its granted CA/QC and TSA services trusted.
    /// A list of lists is followed to the national lists it points to (fetched unless given
    /// here too).
    #[arg(long, value_name = "FILE|URL")]
    trusted_list: Vec<String>,
    /// The detached document a detached signature signs (CAdES .p7s, XAdES, JAdES).
    #[arg(long, value_name = "DOC")]
    detached_content: Vec<PathBuf>,
    /// Use only the validation data inside the signature: fetch no certificate, CRL, OCSP
    /// response or trusted list (missing revocation data then gives TRY_LATER).
    #[arg(long)]
    offline: bool,
    /// Also trust this CA (PEM) for HTTPS to responders, TSAs and trusted list hosts.
    #[arg(long, value_name = "PEM")]
    ca_cert: Option<PathBuf>,
}

/// `signet verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The signed file: a PDF, a CMS/CAdES signature (.p7s/.p7m), an XML document with
    /// XAdES/XMLDSig signatures, or a JWS/JAdES (compact or JSON).
    file: PathBuf,
    #[command(flatten)]
    trust: TrustArgs,
    /// Validate as of this time (RFC 3339, e.g. 2026-01-31T12:00:00Z, or a date) instead of
    /// now.
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    /// Report form: text (a summary), json, or etsi (the ETSI TS 119 102-2 XML report).
    #[arg(long, default_value = "text", value_parser = ["text", "json", "etsi"])]
    report: String,
    /// Write the report to this file instead of standard output.
    #[arg(short = 'o', long = "output")]
    output: Option<PathBuf>,
}

/// `signet extend`.
#[derive(Args, Debug)]
pub struct ExtendArgs {
    /// The signed file (any format `signet verify` reads).
    file: PathBuf,
    /// The level to reach: B-T, B-LT or B-LTA (an LTA is renewed with a new archive
    /// time-stamp).
    #[arg(long)]
    level: String,
    /// The RFC 3161 time-stamping authority (needed for B-T and B-LTA).
    #[arg(long, value_name = "URL", env = "SIGNET_TSA")]
    tsa: Option<String>,
    #[command(flatten)]
    trust: TrustArgs,
    /// Output file (default: FILE with "-extended" before the extension).
    #[arg(short = 'o', long = "output")]
    output: Option<PathBuf>,
    /// Replace an existing output file.
    #[arg(long)]
    force: bool,
}

/// Everything a validation is run with, owned.
struct Setup {
    anchors: TrustAnchors,
    lists: Vec<TrustListInfo>,
    detached: Vec<DetachedContent>,
    /// Made on first use: a validation that needs no network never builds one.
    http: std::sync::OnceLock<reqwest::blocking::Client>,
    http_options: HttpOptions,
    fetcher: Option<LazyValidationData>,
}

/// The one HTTP client, made on first use: most validations never fetch anything, and making
/// a client (loading the system roots) costs more than validating.
fn lazy_client(
    cell: &std::sync::OnceLock<reqwest::blocking::Client>,
    options: &HttpOptions,
) -> anyhow::Result<reqwest::blocking::Client> {
    if let Some(c) = cell.get() {
        return Ok(c.clone());
    }
    let c = http_client(options).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(cell.get_or_init(|| c).clone())
}

impl Setup {
    fn load(args: &TrustArgs) -> anyhow::Result<Self> {
        let mut options = HttpOptions::default();
        if let Some(ca) = &args.ca_cert {
            let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
            let mut extra = TrustAnchors::default();
            extra
                .add_file(&pem, &ca.display().to_string())
                .map_err(|e| anyhow::anyhow!("--ca-cert {}: {e}", ca.display()))?;
            options.extra_roots = extra.anchors.into_iter().map(|a| a.der).collect();
        }
        let http = std::sync::OnceLock::new();
        let mut anchors = TrustAnchors::default();
        for path in &args.trust {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            anchors
                .add_file(&bytes, &path.display().to_string())
                .map_err(|e| anyhow::anyhow!("--trust {}: {e}", path.display()))?;
        }
        let fetch_list = |url: &str| -> Result<Vec<u8>, String> {
            if args.offline {
                return Err("fetching is off (--offline)".into());
            }
            let client = lazy_client(&http, &options).map_err(|e| e.to_string())?;
            signet_client::fetch::get_bytes(&client, url, trust::MAX_TRUSTED_LIST_BYTES)
        };
        let (lists, notes) = trust::load_trusted_lists(
            &args.trusted_list,
            &fetch_list,
            &Limits::default(),
            &mut anchors,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        for note in notes {
            eprintln!("note: {note}");
        }
        if anchors.anchors.is_empty() {
            bail!(
                "no trust anchor: give --trust ROOT.pem (a CA you trust) or --trusted-list (an EU trusted list)"
            );
        }

        let mut detached = Vec::new();
        for path in &args.detached_content {
            detached.push(DetachedContent {
                name: path.file_name().map(|n| n.to_string_lossy().into_owned()),
                bytes: std::fs::read(path)
                    .with_context(|| format!("reading {}", path.display()))?,
            });
        }
        let fetcher = (!args.offline).then(|| LazyValidationData::new(options.clone(), Vec::new()));
        Ok(Self {
            anchors,
            lists,
            detached,
            http,
            http_options: options,
            fetcher,
        })
    }

    fn http(&self) -> anyhow::Result<reqwest::blocking::Client> {
        lazy_client(&self.http, &self.http_options)
    }

    fn validate(
        &self,
        signed: &[u8],
        name: Option<&str>,
        at: OffsetDateTime,
    ) -> anyhow::Result<ValidationReport> {
        let options = Options {
            anchors: &self.anchors,
            trusted_lists: &self.lists,
            validation_time: at,
            fetcher: self
                .fetcher
                .as_ref()
                .map(|f| f as &dyn signet_ades::ValidationData),
            limits: validation_limits(),
            max_revocation_age: signet_validation::DEFAULT_MAX_REVOCATION_AGE,
        };
        signet_validation::validate(signed, name, &self.detached, &options)
            .map_err(|e| anyhow::anyhow!("{e}"))
    }
}

/// Validation reads whole files into memory: up to 256 MiB, more than signing accepts.
fn validation_limits() -> Limits {
    Limits {
        max_document_bytes: 256 << 20,
        ..Limits::default()
    }
}

fn file_name(path: &Path) -> Option<String> {
    path.file_name().map(|n| n.to_string_lossy().into_owned())
}

fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    let limit = validation_limits().max_document_bytes;
    if meta.len() > limit as u64 {
        bail!(
            "{} has {} bytes; validation reads files up to {limit} bytes",
            path.display(),
            meta.len()
        );
    }
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// Parses `--at`: RFC 3339, or a date (midnight UTC).
fn parse_time(text: &str) -> anyhow::Result<OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t);
    }
    let date = time::Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| {
        anyhow::anyhow!(
            "--at {text:?}: expected RFC 3339 (2026-01-31T12:00:00Z) or a date (2026-01-31)"
        )
    })?;
    Ok(date.midnight().assume_utc())
}

/// Exit code 0 only when every signature is TOTAL-PASSED; 1 otherwise; 2 (from `main`) when
/// the file could not be validated at all.
pub fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let signed = read_input(&args.file)?;
    let setup = Setup::load(&args.trust)?;
    let at = match &args.at {
        Some(t) => parse_time(t)?,
        None => OffsetDateTime::now_utc(),
    };
    let report = setup.validate(&signed, file_name(&args.file).as_deref(), at)?;
    let text = match args.report.as_str() {
        "json" => format!("{:#}\n", report::json(&report)),
        "etsi" => report::etsi_xml(&report),
        _ => report::text(&report),
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("{}: {}", args.file.display(), report.indication());
        }
        None => print!("{text}"),
    }
    Ok(if report.indication() == Indication::TotalPassed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// B-LT needs no time-stamp when the signature has one already; should it need one after
/// all, the error says which option is missing.
struct NoTsa;

impl signet_ades::TimeStamper for NoTsa {
    fn timestamp(
        &self,
        _: signet_core::HashAlgorithm,
        _: &[u8],
    ) -> Result<Vec<u8>, signet_ades::AdesError> {
        Err(signet_ades::AdesError::TimeStamp(
            "a time-stamp is needed: give --tsa URL".into(),
        ))
    }
}

/// `FILE-extended.EXT` beside the input.
fn default_output(input: &Path) -> PathBuf {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "signature".into());
    let name = match input.extension() {
        Some(ext) => format!("{stem}-extended.{}", ext.to_string_lossy()),
        None => format!("{stem}-extended"),
    };
    input.with_file_name(name)
}

/// Extends after validating: a signature that is not TOTAL-PASSED now is refused with the
/// reason, since time-stamping it would only preserve an invalid signature.
pub fn extend(args: ExtendArgs) -> anyhow::Result<ExitCode> {
    let target = Level::parse(&args.level).map_err(|e| anyhow::anyhow!("--level: {e}"))?;
    if target == Level::BB {
        bail!("--level B-B: a signature cannot be extended to B-B; use B-T, B-LT or B-LTA");
    }
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| default_output(&args.file));
    if output.exists() && !args.force {
        bail!(
            "{} exists; use --force to replace it or -o to name another file",
            output.display()
        );
    }
    let signed = read_input(&args.file)?;
    let setup = Setup::load(&args.trust)?;
    let now = OffsetDateTime::now_utc();
    let name = file_name(&args.file);
    let before = setup.validate(&signed, name.as_deref(), now)?;
    if let Some(bad) = before
        .signatures
        .iter()
        .find(|s| s.indication != Indication::TotalPassed)
    {
        let sub = bad
            .sub_indication
            .map(|s| format!("/{s}"))
            .unwrap_or_default();
        bail!(
            "cannot extend {}: signature {} is {}{sub}: {}",
            args.file.display(),
            bad.evidence.id,
            bad.indication,
            bad.errors
                .first()
                .map(String::as_str)
                .unwrap_or("see `signet verify`")
        );
    }
    if before.signatures.is_empty() {
        bail!("{} holds no signature to extend", args.file.display());
    }

    let tsa = match &args.tsa {
        Some(url) => Some(Rfc3161TimeStamper::new(setup.http()?, url.clone())),
        None if matches!(target, Level::BT | Level::BLta) => bail!(
            "--level {target} needs a time-stamping authority: give --tsa URL (or SIGNET_TSA)"
        ),
        None => None,
    };
    if args.trust.offline && matches!(target, Level::BLt | Level::BLta) {
        // Validation data may still all be inside; extension fails precisely if not.
        eprintln!("note: --offline: only validation data already present can be embedded");
    }
    // Every certificate the validation saw, so that issuers are found without fetching.
    let known: Vec<Vec<u8>> = before
        .signatures
        .iter()
        .flat_map(|s| s.chain.iter().map(|c| c.der.clone()))
        .collect();
    let validation = HttpValidationData::new(setup.http()?, known);
    let extended = signet_ades::extend::extend(
        signet_ades::extend::ExtendRequest {
            signature: signed,
            detached: setup.detached.first().map(|d| d.bytes.clone()),
            target,
            limits: validation_limits(),
        },
        tsa.as_ref()
            .map(|t| t as &dyn signet_ades::TimeStamper)
            .unwrap_or(&NoTsa),
        &validation,
    )
    .map_err(|e| anyhow::anyhow!("cannot extend {}: {e}", args.file.display()))?;

    let after = setup.validate(&extended.output, name.as_deref(), OffsetDateTime::now_utc())?;
    std::fs::write(&output, &extended.output)
        .with_context(|| format!("writing {}", output.display()))?;
    for line in &extended.added {
        eprintln!("added: {line}");
    }
    let mut short = false;
    for s in &after.signatures {
        let level = s
            .level
            .map(|l| l.to_string())
            .unwrap_or_else(|| "not baseline".into());
        eprintln!("{}: {} {level}", s.evidence.id, s.indication);
        if s.indication != Indication::TotalPassed || s.level.is_none_or(|l| l < target) {
            short = true;
        }
    }
    println!("{}", output.display());
    if short {
        eprintln!(
            "warning: the extended file does not validate at {target} here; see `signet verify {}`",
            output.display()
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
