//! `signet bench`: signing throughput of the key module and of the server, in one run on one
//! machine (issue §7, BENCHMARKS.md).
//!
//! Three kinds of scenario, each timed for `--duration` seconds after an untimed setup:
//!
//! - **raw**: [`KeyModule::sign_digests`](signet_keys::KeyModule::sign_digests) called directly
//!   from as many OS threads as the machine has cores, in batches of `--batch` digests. This is
//!   the ceiling: the server cannot sign faster than its key module on the same cores.
//! - **batch**: `signatures/signHash` over HTTP carrying `--batch` hashes, each request spending
//!   a SAD pre-authorized (before the timer starts) for exactly those hashes.
//! - **flow**: `credentials/authorize` (SCAL1, PIN) then `signatures/signHash` of one hash, in a
//!   closed loop per client, across many credentials and users.
//! - **cluster** (issue 13, not part of `all`): the flow against 1, 2, 4 … `signet serve`
//!   processes sharing one PostgreSQL database reached through a delay proxy: see [`cluster`].
//!
//! The server is the real one ([`Node`] and [`signet_server::serve`], as `signet serve` builds
//! them: HTTP, JSON, SQLite store in WAL mode, SAM, audit chain) on an ephemeral loopback port
//! with a temporary data directory, in this process. Clients are tasks on the same tokio runtime,
//! each with one keep-alive HTTP/1.1 connection. Sharing the runtime and the cores with the
//! clients is deliberate: it is what one machine can do end to end, and BENCHMARKS.md says so.
//!
//! Any request that does not answer 200 fails the whole bench (non-zero exit) with the error
//! body: a benchmark of error responses would be meaningless. Missing a target does not fail it —
//! timings depend on the machine and its load, so they are reported (PASS/MISS), never asserted.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

mod batch;
mod cluster;
mod cpu;
mod flow;
pub(crate) mod http;
pub(crate) mod load;
pub(crate) mod progress;
mod proxy;
mod raw;
pub(crate) mod report;
pub(crate) mod setup;

use report::{Measurement, Report};
use setup::{Fixture, Needs};

/// Which scenarios to run.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// raw, batch and flow.
    All,
    /// Key module only (no HTTP).
    Raw,
    /// signHash with pre-authorized multi-hash SADs; also runs raw, since its targets are ratios.
    Batch,
    /// authorize + signHash pairs with many clients and credentials.
    Flow,
    /// The flow against `--nodes` `signet serve` processes on one PostgreSQL database behind a
    /// delay proxy (needs --database-url; not part of `all`).
    Cluster,
}

/// Options of `signet bench`.
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Seconds each scenario is timed for (setup, pre-authorization and warm-up are not timed).
    #[arg(long, default_value_t = 10.0, value_parser = parse_seconds)]
    pub duration: f64,
    /// Concurrent HTTP clients, one keep-alive connection each (batch and flow).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub clients: u32,
    /// Hashes per signHash request and per SAD in the batch scenario; digests per raw call.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub batch: u32,
    #[arg(long, value_enum, default_value_t = Scenario::All)]
    pub scenario: Scenario,
    /// Print the results as one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Run the bench server on this store instead of a SQLite file in the temporary data
    /// directory, e.g. `postgres://postgres@127.0.0.1:5432/signet_bench`. Give it an empty
    /// database: the bench enrols its own signers (and leaves them there). For the cluster
    /// scenario: a PostgreSQL URL allowed to create databases (e.g.
    /// `postgres://postgres@127.0.0.1:5432/postgres`); each node count runs on a fresh database
    /// created there and dropped afterwards.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Cluster: the node counts to measure, in order (the ratios are to the 1-node figure).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1,2,4",
        value_parser = clap::value_parser!(u32).range(1..=16)
    )]
    pub nodes: Vec<u32>,
    /// Cluster: delay the proxy adds to each direction between the nodes and PostgreSQL, in
    /// milliseconds (a round trip costs twice that).
    #[arg(long, default_value_t = 1.0, value_parser = parse_delay_ms)]
    pub db_delay_ms: f64,
    /// Cluster: passed to the nodes as SIGNET_AUDIT__SEAL_INTERVAL_MS (audit seal interval,
    /// 0 = sealing disabled); by default the nodes use their own default.
    #[arg(long, value_name = "MS")]
    pub seal_interval_ms: Option<u64>,
}

fn parse_delay_ms(text: &str) -> Result<f64, String> {
    let ms: f64 = text
        .parse()
        .map_err(|_| format!("{text} is not a number of milliseconds"))?;
    if !(0.0..=1000.0).contains(&ms) {
        return Err("the delay must be between 0 and 1000 ms".into());
    }
    Ok(ms)
}

fn parse_seconds(text: &str) -> Result<f64, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("{text} is not a number of seconds"))?;
    if !(0.1..=3600.0).contains(&secs) {
        return Err("the duration must be between 0.1 and 3600 seconds".into());
    }
    Ok(secs)
}

impl BenchArgs {
    fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.duration)
    }

    fn runs_raw(&self) -> bool {
        matches!(
            self.scenario,
            Scenario::All | Scenario::Raw | Scenario::Batch
        )
    }

    fn runs_batch(&self) -> bool {
        matches!(self.scenario, Scenario::All | Scenario::Batch)
    }

    fn runs_flow(&self) -> bool {
        matches!(self.scenario, Scenario::All | Scenario::Flow)
    }
}

pub async fn run(args: BenchArgs, config: &crate::config::Config) -> anyhow::Result<()> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let mut report = Report::new(&args, threads);
    if args.scenario == Scenario::Cluster {
        progress::note(&format!(
            "signet bench: {} core(s), {}, load average {} — cluster of signet serve processes",
            threads, report.machine.cpu_model, report.machine.load_average
        ));
        cluster::run(&args, config, &mut report).await?;
        return print(&args, report);
    }
    progress::note(&format!(
        "signet bench: {} core(s), {}, load average {} — setting up a server in a temporary data directory",
        threads, report.machine.cpu_model, report.machine.load_average
    ));

    if args.database_url.is_some() {
        // Not the URL itself: it may carry a password.
        progress::note("store: the database of --database-url instead of SQLite");
    }
    let needs = Needs {
        signing_keys: args.runs_raw() || args.runs_batch(),
        flow: args.runs_flow(),
    };
    report.key_module = if config.keys.backend == "pkcs11" {
        format!("PKCS#11 token {:?}", config.keys.pkcs11_token)
    } else {
        config.keys.backend.clone()
    };
    progress::note(&format!("key module: {}", report.key_module));
    let fixture = Arc::new(
        Fixture::start(&args, needs, config)
            .await
            .context("bench setup")?,
    );
    let outcome = run_scenarios(&args, &fixture, threads, &mut report).await;
    // Stop the server whatever happened, so that its temporary directory can go.
    let stopped = match Arc::try_unwrap(fixture) {
        Ok(fixture) => fixture.stop().await,
        Err(_) => Ok(()),
    };
    outcome?;
    stopped?;
    print(&args, report)
}

fn print(args: &BenchArgs, mut report: Report) -> anyhow::Result<()> {
    report.finish();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report.to_json())?);
    } else {
        print!("{}", report.table());
    }
    Ok(())
}

async fn run_scenarios(
    args: &BenchArgs,
    fixture: &Arc<Fixture>,
    threads: usize,
    report: &mut Report,
) -> anyhow::Result<()> {
    let duration = args.duration();
    let batch = args.batch as usize;
    if args.runs_raw() {
        for cred in &fixture.signing {
            let m = raw::run(fixture, cred, batch, duration, threads).await?;
            report.push(m);
        }
    }
    if args.runs_batch() {
        for cred in &fixture.signing {
            let raw_rate = report.raw_rate(cred.key_type);
            let m = batch::run(fixture, cred, raw_rate, args).await?;
            report.push(m);
        }
    }
    if args.runs_flow() {
        let m: Measurement = flow::run(fixture, args).await?;
        report.push(m);
    }
    Ok(())
}
