//! `signet soak`: a bounded soak of a running `signet serve` (issue 17, docs/security.md).
//!
//! For `--minutes`, workers on their own keep-alive connections run every valid flow — SCAL1
//! and SCAL2 signHash, signDoc in the four AdES formats, DSS-X, OAuth2 (authorization code with
//! PKCE, plain, PAR and RAR; client_credentials), the TSA, OCSP — paced, interleaved with
//! hostile requests and slow clients, while the server process's memory, file descriptors and
//! CPU are sampled from /proc every second. Then the audit log is verified and every signature
//! a client received is looked up in it, and the run is judged:
//!
//! - no 5xx answer at all, no failed valid flow, every hostile request refused as expected;
//! - memory flat after warm-up: the median RSS of the last third of the run at most
//!   [`RSS_TOLERANCE_FRACTION`] plus [`RSS_TOLERANCE_MIB`] above the first third's;
//! - no file descriptor growth: the most open in the last third at most [`FD_TOLERANCE`] above
//!   the most in the first, and after the load no more than before it plus [`FD_TOLERANCE`];
//! - `signet audit verify` passes, and every signature received has its record;
//! - latency stable: per flow, the last third's p50 and p95 not grossly above the first
//!   third's ([`report`]).
//!
//! The setup uses `signet admin` on the server's data directory (`--data`, `--config`) as an
//! operator would; the server must be the only one on that data directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

mod audit;
mod conn;
mod fixture;
mod flows;
mod hostile;
mod monitor;
mod record;
mod report;

use crate::bench::load::StopFlag;
use crate::bench::progress;
use fixture::{Admin, Credential, Fixture};
use flows::Job;
use monitor::ProcSample;
use record::{Flow, Recorder};

/// Allowed growth of the median RSS from the first to the last third of the run (after
/// warm-up): a fraction of the first third's median, plus a constant.
pub const RSS_TOLERANCE_FRACTION: f64 = 0.10;
pub const RSS_TOLERANCE_MIB: f64 = 16.0;
/// Allowed growth of open file descriptors.
pub const FD_TOLERANCE: u64 = 8;
/// A run that has failed this often stops early: the verdict is known.
const MAX_FAILURES: u64 = 200;

/// Options of `signet soak`.
#[derive(clap::Args, Debug, Clone)]
pub struct SoakArgs {
    /// Base URL of the server under test, as `signet serve` printed it (plain HTTP, e.g.
    /// http://127.0.0.1:41234).
    #[arg(long)]
    pub url: String,
    /// Process ID of that server: its memory, descriptors and CPU are read from /proc/PID.
    #[arg(long)]
    pub pid: u32,
    /// How long the load runs.
    #[arg(long, default_value_t = 30.0, value_parser = parse_minutes)]
    pub minutes: f64,
    /// Also write every figure and verdict as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

fn parse_minutes(text: &str) -> Result<f64, String> {
    let m: f64 = text
        .parse()
        .map_err(|_| format!("{text} is not a number of minutes"))?;
    if !(0.5..=24.0 * 60.0).contains(&m) {
        return Err("the soak runs between 0.5 minutes and 24 hours".into());
    }
    Ok(m)
}

/// What the workers share.
pub struct Ctx {
    pub addr: SocketAddr,
    /// `http://host:port`, no trailing slash.
    pub base: String,
    pub fixture: Fixture,
    pub rec: Recorder,
    pub stop: StopFlag,
    pub deadline: Instant,
    /// `limits.max_body_bytes` of the server's configuration (the oversized case exceeds it).
    pub max_body_bytes: usize,
}

impl Ctx {
    pub fn running(&self) -> bool {
        !self.stop.raised() && Instant::now() < self.deadline
    }

    pub fn failed(&self, flow: Flow, message: &str) {
        self.rec.failure(flow, message);
        if self.rec.counts().2 >= MAX_FAILURES {
            self.stop.raise();
        }
    }

    /// Every credential, for OCSP requests about their certificates.
    pub fn credentials(&self) -> impl Iterator<Item = &Credential> {
        let f = &self.fixture;
        f.scal1
            .iter()
            .chain(&f.scal2)
            .chain([&f.documents, &f.dssx, &f.oauth, &f.seal])
            .map(|a| &a.credential)
    }
}

fn parse_url(url: &str) -> anyhow::Result<(String, SocketAddr)> {
    let parsed = url::Url::parse(url).with_context(|| format!("--url {url}"))?;
    if parsed.scheme() != "http" {
        bail!("--url must be a plain http:// URL (the soak's client does not speak TLS)");
    }
    let addr = parsed
        .socket_addrs(|| Some(80))
        .with_context(|| format!("--url {url}: no address"))?
        .into_iter()
        .next()
        .with_context(|| format!("--url {url}: no address"))?;
    Ok((url.trim_end_matches('/').to_owned(), addr))
}

/// Runs the soak; the exit code is 0 when every check passed, 1 otherwise.
pub async fn run(
    args: SoakArgs,
    data: &Path,
    config_file: Option<&Path>,
    config: &crate::config::Config,
) -> anyhow::Result<ExitCode> {
    let (base, addr) = parse_url(&args.url)?;
    if monitor::sample(args.pid, Duration::ZERO)?.is_none() {
        bail!("no process {} to watch", args.pid);
    }
    let duration = Duration::from_secs_f64(args.minutes * 60.0);
    let admin = Admin::new(data, config_file)?;
    let setup = Instant::now();
    let fixture = admin.fixture().await.context("soak setup")?;
    progress::note(&format!("setup: {:.1} s", setup.elapsed().as_secs_f64()));

    let before =
        monitor::sample(args.pid, Duration::ZERO)?.context("the server exited during setup")?;
    let rec = Recorder::new();
    let ctx = Arc::new(Ctx {
        addr,
        base,
        fixture,
        deadline: rec.start + duration,
        rec,
        stop: StopFlag::default(),
        max_body_bytes: config.limits.max_body_bytes,
    });
    progress::note(&format!(
        "soak: {} for {}, server pid {} (RSS {:.1} MiB, {} fds before the load)",
        ctx.base,
        report::clock(duration),
        args.pid,
        before.rss_kib as f64 / 1024.0,
        before.fds
    ));
    let mut workers = tokio::task::JoinSet::new();
    workers.spawn(flows::signer(Arc::clone(&ctx), Job::Scal1(vec![0, 1])));
    workers.spawn(flows::signer(Arc::clone(&ctx), Job::Scal1(vec![2, 3])));
    workers.spawn(flows::signer(Arc::clone(&ctx), Job::Scal2));
    workers.spawn(flows::signer(Arc::clone(&ctx), Job::Documents));
    workers.spawn(flows::signer(Arc::clone(&ctx), Job::DssX));
    let oauth2 = [Flow::OAuthCode, Flow::OAuthClient];
    workers.spawn(flows::alternate(Arc::clone(&ctx), oauth2));
    workers.spawn(flows::alternate(Arc::clone(&ctx), [Flow::Tsa, Flow::Ocsp]));
    workers.spawn(hostile::hostile(Arc::clone(&ctx)));
    workers.spawn(hostile::slow(Arc::clone(&ctx)));

    let mut samples: Vec<ProcSample> = Vec::new();
    let mut ended = Ending::Completed;
    let mut line = report::ProgressLine::new(duration);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let interrupt = tokio::signal::ctrl_c();
    tokio::pin!(interrupt);
    while ctx.running() {
        tokio::select! {
            _ = tick.tick() => {}
            _ = &mut interrupt => {
                ended = Ending::Interrupted;
                ctx.stop.raise();
                break;
            }
        }
        match monitor::sample(args.pid, ctx.rec.start.elapsed())? {
            Some(s) => {
                line.show(&ctx.rec, &s);
                samples.push(s);
            }
            None => {
                ended = Ending::ServerExited;
                ctx.stop.raise();
                break;
            }
        }
    }
    if ended == Ending::Completed && ctx.stop.raised() {
        ended = Ending::TooManyFailures;
    }
    line.finish();
    ctx.stop.raise();
    let drained = tokio::time::timeout(conn::ANSWER_TIMEOUT + Duration::from_secs(15), async {
        while workers.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        workers.abort_all();
        ctx.rec.failure(
            Flow::Slow,
            "workers did not finish within the answer timeout after the end",
        );
    }
    let load_time = ctx.rec.start.elapsed();

    // Every client connection is closed now: what the server still holds, it keeps.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = monitor::sample(args.pid, load_time)?;
    if after.is_none() && ended == Ending::Completed {
        ended = Ending::ServerExited;
    }
    progress::note("checking the audit log (signet audit verify, signet audit export)");
    let snapshot = ctx.rec.snapshot();
    let verified = audit::verify(&admin).await?;
    let matched = audit::match_signatures(&admin, &snapshot.received).await?;

    let outcome = report::Outcome {
        duration,
        load_time,
        ended: ended.describe(),
        snapshot,
        samples,
        before,
        after,
        verified,
        matched,
    };
    let judged = report::judge(&outcome);
    print!("{}", judged.text);
    if let Some(path) = &args.report {
        std::fs::write(path, serde_json::to_string_pretty(&judged.json)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(if judged.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ending {
    Completed,
    Interrupted,
    ServerExited,
    TooManyFailures,
}

impl Ending {
    fn describe(self) -> Option<&'static str> {
        match self {
            Ending::Completed => None,
            Ending::Interrupted => Some("interrupted (Ctrl-C) before the end"),
            Ending::ServerExited => Some("the server process exited during the soak"),
            Ending::TooManyFailures => Some("stopped early: too many failures"),
        }
    }
}
