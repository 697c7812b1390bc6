//! The cluster scenario (issue 13): a cluster simulated on one machine. For each `--nodes`
//! count, on a fresh PostgreSQL database each time:
//!
//! 1. the database `signet_cluster_<pid>_<n>` is created through `--database-url` (the
//!    administrative URL), and the flow signers and credentials are enrolled in it by a node
//!    opened in this process directly on it (untimed);
//! 2. a [`DelayProxy`] in this process delays each direction between the nodes and PostgreSQL
//!    by `--db-delay-ms` (the kernel of the reference machine has no netem);
//! 3. `n` `signet serve` child processes (this executable) start on the proxied database, each
//!    with a data directory of its own and the same master key, as a real cluster would;
//! 4. the flow's closed loop (authorize SCAL1 PIN + signHash of one hash) runs with the
//!    `--clients` split round-robin over the nodes.
//!
//! Then the nodes are killed, the proxy stopped and the database dropped — also when anything
//! fails and on SIGINT or SIGTERM. The nodes run on the built-in defaults and the environment
//! (SIGNET_STORE__MAX_CONNECTIONS and the like reach them), not on `--config`;
//! `--seal-interval-ms` reaches them as SIGNET_AUDIT__SEAL_INTERVAL_MS.
//!
//! Everything shares the machine's cores: nodes, PostgreSQL, proxy and clients. The table's CPU
//! column is this process (clients and proxy), OTHERS the nodes and PostgreSQL.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, anyhow, bail, ensure};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::oneshot;
use tokio_postgres::NoTls;
use url::Url;
use zeroize::Zeroizing;

use super::BenchArgs;
use super::flow::{self, Workload};
use super::http::Client;
use super::progress;
use super::proxy::DelayProxy;
use super::report::{Kind, Report};
use super::setup;
use crate::config::Config;
use crate::node::Node;

/// How long a node may take to report its address.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Log lines of a node kept for an error message.
const LOG_TAIL: usize = 30;
/// The nodes' log filter: warnings, and the info line with the address they listen on.
const NODE_LOG: &str = "warn,signet=info";

pub async fn run(args: &BenchArgs, base: &Config, report: &mut Report) -> anyhow::Result<()> {
    ensure!(
        base.keys.backend != "pkcs11",
        "the cluster scenario runs on the software key module: nodes on PKCS#11 would have to \
         share one token"
    );
    let Some(admin) = args.database_url.as_deref() else {
        bail!(
            "--scenario cluster needs --database-url: a PostgreSQL URL allowed to create \
             databases, e.g. postgres://postgres@127.0.0.1:5432/postgres"
        );
    };
    let admin = Url::parse(admin).context("--database-url is not a URL")?;
    ensure!(
        matches!(admin.scheme(), "postgres" | "postgresql"),
        "--scenario cluster needs a postgres:// --database-url"
    );
    let upstream = upstream_addr(&admin).await?;
    let exe = std::env::current_exe().context("locating the signet executable")?;
    report.key_module = "software".into();
    progress::note(&format!(
        "cluster: nodes {:?}, {} ms each way between the nodes and PostgreSQL at {upstream}, {} \
         clients",
        args.nodes, args.db_delay_ms, args.clients
    ));
    // Registered before anything starts, so that an interruption always reaches the cleanup.
    let mut interrupt = signal(SignalKind::interrupt()).context("handling SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("handling SIGTERM")?;
    for &n in &args.nodes {
        let n = n as usize;
        let name = format!("signet_cluster_{}_{n}", std::process::id());
        let cluster = Cluster {
            args,
            base,
            admin: &admin,
            upstream,
            exe: &exe,
            name: &name,
            nodes: n,
        };
        let outcome = tokio::select! {
            m = cluster.measure() => m,
            _ = interrupt.recv() => Err(anyhow!("interrupted (SIGINT)")),
            _ = terminate.recv() => Err(anyhow!("terminated (SIGTERM)")),
        };
        // The nodes and the proxy are gone by now (killed when dropped, on every path): drop
        // the database whatever happened.
        let dropped = drop_database(&admin, &name).await;
        let m = outcome.with_context(|| format!("cluster of {n} node(s)"))?;
        dropped?;
        report.push(m);
    }
    Ok(())
}

/// One node count.
struct Cluster<'a> {
    args: &'a BenchArgs,
    base: &'a Config,
    admin: &'a Url,
    upstream: SocketAddr,
    exe: &'a Path,
    name: &'a str,
    nodes: usize,
}

impl Cluster<'_> {
    async fn measure(&self) -> anyhow::Result<super::report::Measurement> {
        let n = self.nodes;
        let label = format!("cluster {n} node(s)");
        create_database(self.admin, self.name).await?;
        // Declared before the nodes: removed after they are killed.
        // Named after this process, so that scripts/bench-cluster finds it should we be killed.
        let prefix = format!("signet-cluster-{}-", std::process::id());
        let dir = tempfile::Builder::new()
            .prefix(&prefix)
            .tempdir()
            .context("creating the cluster's data directories")?;

        // Enrolment, in this process, directly on the database (untimed).
        let enrol_dir = dir.path().join("enrol");
        let mut config = self.base.clone();
        config.store = Config::default().store;
        config.store.database_url = database_url(self.admin, self.name, None)?.into();
        let mut users = Vec::new();
        let creds = {
            let node = Node::open(&enrol_dir, &config)
                .await
                .context("opening the cluster database for enrolment")?;
            setup::enrol_flow(&node, &mut users).await?
        };
        let master_key = master_key_value(&enrol_dir)?;

        let delay = Duration::from_secs_f64(self.args.db_delay_ms / 1e3);
        let proxy = DelayProxy::start(self.upstream, delay).await?;
        let proxied = database_url(self.admin, self.name, Some(proxy.addr()))?;
        progress::note(&format!(
            "{label}: starting {n} signet serve process(es) behind the delay proxy"
        ));
        let mut nodes = Vec::with_capacity(n);
        for i in 0..n {
            nodes.push(NodeProcess::spawn(
                self.exe,
                &dir.path().join(format!("node-{i}")),
                &proxied,
                &master_key,
                self.args.seal_interval_ms,
                &setup::bench_http(&self.base.http, self.args.clients),
            )?);
        }
        let mut addrs = Vec::with_capacity(n);
        for (i, node) in nodes.iter_mut().enumerate() {
            addrs.push(
                node.address()
                    .await
                    .with_context(|| format!("node {i} did not start"))?,
            );
        }

        // Tokens live in the database: logged in on one node, valid on all.
        let signers = setup::log_in(addrs[0], &users).await?;
        for (i, addr) in addrs.iter().enumerate() {
            let cred = &creds[i % creds.len()];
            setup::check_signature(*addr, &signers[cred.owner].bearer, cred)
                .await
                .with_context(|| format!("a verified signature from node {i}"))?;
        }
        let workload = Arc::new(Workload { creds, signers });
        let mut clients = Vec::with_capacity(self.args.clients as usize);
        for i in 0..self.args.clients as usize {
            clients.push(Client::connect(addrs[i % n]).await?);
        }
        let measured =
            flow::measure(Kind::Cluster(n), &workload, clients, self.args.duration()).await;

        for node in nodes {
            node.stop().await;
        }
        proxy.stop().await;
        drop(dir);
        measured
    }
}

/// A `signet serve` child process.
struct NodeProcess {
    child: Child,
    address: Option<oneshot::Receiver<String>>,
    log: Arc<Mutex<VecDeque<String>>>,
}

impl NodeProcess {
    fn spawn(
        exe: &Path,
        data: &Path,
        database_url: &Url,
        master_key: &str,
        seal_interval_ms: Option<u64>,
        http: &crate::config::Http,
    ) -> anyhow::Result<Self> {
        let mut cmd = Command::new(exe);
        cmd.arg("--data")
            .arg(data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("SIGNET_DATABASE_URL", database_url.as_str())
            .env("SIGNET_MASTER_KEY", master_key)
            .env("SIGNET_LOG", NODE_LOG)
            // One port per node: a metrics listener from the environment would collide.
            .env_remove("SIGNET_METRICS__LISTEN")
            // All clients are on 127.0.0.1: no per-address cap or rate limit (setup::bench_http).
            .env(
                "SIGNET_HTTP__MAX_CONNECTIONS",
                http.max_connections.to_string(),
            )
            .env(
                "SIGNET_HTTP__MAX_CONNECTIONS_PER_ADDRESS",
                http.max_connections_per_address.to_string(),
            )
            .env(
                "SIGNET_HTTP__REQUESTS_PER_SECOND",
                http.requests_per_second.to_string(),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(ms) = seal_interval_ms {
            cmd.env("SIGNET_AUDIT__SEAL_INTERVAL_MS", ms.to_string());
        }
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting {} serve", exe.display()))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| anyhow!("no standard error of signet serve"))?;
        let (tx, rx) = oneshot::channel();
        let log = Arc::new(Mutex::new(VecDeque::with_capacity(LOG_TAIL)));
        let sink = Arc::clone(&log);
        // Drains standard error for the node's whole life (a full pipe would stall it).
        tokio::spawn(async move {
            let mut tx = Some(tx);
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = listening_url(&line)
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(url.to_owned());
                }
                let mut tail = sink.lock().unwrap_or_else(PoisonError::into_inner);
                if tail.len() == LOG_TAIL {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
        });
        Ok(Self {
            child,
            address: Some(rx),
            log,
        })
    }

    /// Waits for the node to report the address it listens on.
    async fn address(&mut self) -> anyhow::Result<SocketAddr> {
        let rx = self
            .address
            .take()
            .ok_or_else(|| anyhow!("the node's address was asked for twice"))?;
        let url = tokio::select! {
            url = rx => url.ok(),
            () = tokio::time::sleep(START_TIMEOUT) => {
                bail!("no address within {} s{}", START_TIMEOUT.as_secs(), self.tail());
            }
        };
        let Some(url) = url else {
            // Standard error closed without the address: the node is exiting.
            let status = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
            // Let the reader task store the last lines.
            tokio::time::sleep(Duration::from_millis(50)).await;
            let status = match status {
                Ok(Ok(s)) => s.to_string(),
                _ => "unknown status".into(),
            };
            bail!("signet serve exited ({status}){}", self.tail());
        };
        let addr = url
            .strip_prefix("http://")
            .ok_or_else(|| anyhow!("the node listens on {url}, not on plain HTTP"))?
            .trim_end_matches('/');
        addr.parse()
            .with_context(|| format!("the node reported the address {url}"))
    }

    /// The last log lines, for an error message.
    fn tail(&self) -> String {
        let tail = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        if tail.is_empty() {
            return ", without a word on standard error".into();
        }
        let mut out = String::from("; its last log lines:");
        for line in tail.iter() {
            out.push_str("\n  ");
            out.push_str(line);
        }
        out
    }

    /// Kills the node and reaps it.
    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// The URL in `signet listening on http://…`, as `signet serve` logs it.
fn listening_url(line: &str) -> Option<&str> {
    let rest = line.split("signet listening on ").nth(1)?;
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"')
        .unwrap_or(rest.len());
    let url = &rest[..end];
    (url.starts_with("http://") || url.starts_with("https://")).then_some(url)
}

/// The master key the enrolment node used, as SIGNET_MASTER_KEY takes it: the environment's
/// when set (the node read it too), else the key file it created.
fn master_key_value(enrol_dir: &Path) -> anyhow::Result<Zeroizing<String>> {
    if let Ok(v) = std::env::var("SIGNET_MASTER_KEY")
        && !v.is_empty()
    {
        return Ok(Zeroizing::new(v));
    }
    let path: PathBuf = enrol_dir.join("master.key");
    let bytes = Zeroizing::new(
        std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?,
    );
    Ok(Zeroizing::new(data_encoding::HEXLOWER.encode(&bytes)))
}

/// The TCP address of the PostgreSQL server `admin` names.
async fn upstream_addr(admin: &Url) -> anyhow::Result<SocketAddr> {
    let port = admin.port().unwrap_or(5432);
    let addr = match admin.host() {
        Some(url::Host::Ipv4(ip)) => SocketAddr::from((ip, port)),
        Some(url::Host::Ipv6(ip)) => SocketAddr::from((ip, port)),
        Some(url::Host::Domain(host)) if !host.is_empty() => tokio::net::lookup_host((host, port))
            .await
            .with_context(|| format!("resolving {host}"))?
            .next()
            .ok_or_else(|| anyhow!("{host} has no address"))?,
        _ => bail!("--database-url must name a TCP host (the proxy cannot relay a Unix socket)"),
    };
    Ok(addr)
}

/// `admin` with the database `name`, and with the proxy as host when given.
fn database_url(admin: &Url, name: &str, proxy: Option<SocketAddr>) -> anyhow::Result<Url> {
    let mut url = admin.clone();
    url.set_path(&format!("/{name}"));
    if let Some(proxy) = proxy {
        url.set_host(Some(&proxy.ip().to_string()))
            .context("setting the proxy's host")?;
        url.set_port(Some(proxy.port()))
            .map_err(|()| anyhow!("cannot set a port in the database URL"))?;
    }
    Ok(url)
}

async fn admin_client(admin: &Url) -> anyhow::Result<tokio_postgres::Client> {
    // Not the URL in the message: it may carry a password.
    let (client, connection) = tokio_postgres::connect(admin.as_str(), NoTls)
        .await
        .context("connecting to PostgreSQL with --database-url")?;
    tokio::spawn(connection);
    Ok(client)
}

/// Creates the database `name` (dropping a leftover of the same name first).
async fn create_database(admin: &Url, name: &str) -> anyhow::Result<()> {
    let client = admin_client(admin).await?;
    // Two queries: one would be an implicit transaction, which neither statement allows.
    for sql in [
        format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
        format!("CREATE DATABASE \"{name}\""),
    ] {
        client
            .batch_execute(&sql)
            .await
            .with_context(|| format!("creating the database {name}"))?;
    }
    Ok(())
}

/// Drops the database `name` and every connection to it.
async fn drop_database(admin: &Url, name: &str) -> anyhow::Result<()> {
    admin_client(admin)
        .await?
        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await
        .with_context(|| format!("dropping the database {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_listening_url() {
        let line = "2026-01-01T00:00:00Z  INFO signet::serve: signet listening on \
                    http://127.0.0.1:41234 addr=127.0.0.1:41234";
        assert_eq!(listening_url(line), Some("http://127.0.0.1:41234"));
        assert_eq!(listening_url("signet listening on nothing"), None);
    }

    #[test]
    fn database_urls_keep_the_credentials() {
        let admin = Url::parse("postgres://bench:s%40cret@db.example:6432/postgres?x=1").unwrap();
        let direct = database_url(&admin, "signet_cluster_1_2", None).unwrap();
        assert_eq!(
            direct.as_str(),
            "postgres://bench:s%40cret@db.example:6432/signet_cluster_1_2?x=1"
        );
        let proxied = database_url(
            &admin,
            "signet_cluster_1_2",
            Some("127.0.0.1:5555".parse().unwrap()),
        )
        .unwrap();
        assert_eq!(
            proxied.as_str(),
            "postgres://bench:s%40cret@127.0.0.1:5555/signet_cluster_1_2?x=1"
        );
    }
}
