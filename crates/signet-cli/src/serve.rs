//! `signet serve`: bind, announce readiness, serve until SIGTERM/SIGINT, drain (within
//! `[http] shutdown_grace_seconds`, whatever clients do). SIGHUP resets the key module's
//! sessions (reconnect after HSM maintenance).
//!
//! With `[tls] certificate` and `key` the listener speaks HTTPS only (rustls, TLS 1.2 and 1.3);
//! with `[metrics] listen` a second, plain-HTTP listener serves `/metrics` alone, meant for a
//! loopback or management address that only the Prometheus scraper reaches.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use signet_server::Listener;
use signet_server::tls::{TlsFiles, TlsServerConfig, server_config};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Config;
use crate::node::Node;

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested, draining in-flight requests");
}

/// The rustls configuration of `[tls]`, or `None` for plain HTTP. Errors name the file.
fn tls_config(config: &Config) -> anyhow::Result<Option<Arc<TlsServerConfig>>> {
    let t = &config.tls;
    if !t.enabled() {
        return Ok(None);
    }
    let files = TlsFiles {
        certificate: PathBuf::from(&t.certificate),
        key: PathBuf::from(&t.key),
        client_ca: (!t.client_ca.is_empty()).then(|| PathBuf::from(&t.client_ca)),
        require_client_certificate: t.require_client_certificate,
    };
    Ok(Some(server_config(&files)?))
}

/// The listeners of a node, bound but not yet serving: `signet demo` prints the address
/// actually bound (port 0 picks a free one) before it serves.
pub struct Bound {
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    tls: Option<Arc<TlsServerConfig>>,
    /// The address the main listener is bound to.
    pub addr: std::net::SocketAddr,
}

impl Bound {
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }
}

/// Binds the main listener (and the metrics one, if configured).
pub async fn bind(config: &Config) -> anyhow::Result<Bound> {
    // TLS files are checked before binding, so a bad file fails the start with its name.
    let tls = tls_config(config)?;
    let listen = &config.listen;
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let metrics_listener = match config.metrics.listen.as_str() {
        "" => None,
        m => Some(
            TcpListener::bind(m)
                .await
                .with_context(|| format!("cannot listen on {m} (metrics.listen)"))?,
        ),
    };
    Ok(Bound {
        listener,
        metrics_listener,
        tls,
        addr,
    })
}

pub async fn run(node: &Node, config: &Config) -> anyhow::Result<()> {
    serve(node, bind(config).await?).await
}

/// Serves on bound listeners until SIGTERM/SIGINT, then drains.
pub async fn serve(node: &Node, bound: Bound) -> anyhow::Result<()> {
    let scheme = bound.scheme();
    let Bound {
        listener,
        metrics_listener,
        tls,
        addr,
    } = bound;
    if let Some(m) = &metrics_listener
        && let Ok(a) = m.local_addr()
    {
        tracing::info!(addr = %a, "metrics listening on http://{a}/metrics");
    }
    let mut server_config = (*node.server).clone();
    if server_config.oauth2.public_url.is_empty() {
        // No public URL configured: the issuer is the address actually bound.
        server_config.oauth2.public_url = format!("{scheme}://{addr}");
    }
    if server_config.service.logo.is_empty() {
        server_config.service.logo = format!(
            "{}/logo.png",
            server_config.oauth2.public_url.trim_end_matches('/')
        );
    }
    // CRL, OCSP and CA URLs in certificates issued from now on name this server.
    let pki = node.serving_at(&server_config.oauth2.public_url).await?;
    let mut state = node.app_state_with(Arc::clone(&pki));
    state.config = Arc::new(server_config);
    let keys = node.keys.clone();
    let reconnect = tokio::spawn(async move {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            return;
        };
        while hup.recv().await.is_some() {
            tracing::info!(
                backend = keys.backend(),
                "SIGHUP: resetting key module sessions"
            );
            let keys = keys.clone();
            let _ = tokio::task::spawn_blocking(move || keys.reset_sessions()).await;
        }
    });
    // One signal, two listeners: both stop accepting at once; the main one drains.
    let (stop, stopped) = watch::channel(false);
    let signals = tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let until_stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let metrics = metrics_listener.map(|listener| {
        let shutdown = until_stopped(stopped.clone());
        tokio::spawn(signet_server::net::serve_metrics(
            listener,
            node.server.http.clone(),
            shutdown,
        ))
    });
    let listener = match tls {
        Some(tls) => Listener::Tls(listener, tls),
        None => Listener::Plain(listener),
    };
    // The built-in TSA is created now (first start) rather than by the first checkpoint, so
    // that its `tsa.create` record is not appended behind a client's back later.
    if matches!(pki.source(), signet_service::TimeStampSource::Builtin(_))
        && let Err(e) = pki.builtin_tsa().await
    {
        tracing::warn!(error = %e, "the built-in TSA is not available");
    }
    // Tests and supervisors read this line for the address actually bound (port 0): it comes
    // last, once every listener is bound and the node is ready (connections made meanwhile
    // wait in the listen backlog).
    tracing::info!(%addr, data = %node.data_dir.display(), "signet listening on {scheme}://{addr}");
    // The sealer stops with the server, after one last seal, so nothing the server audited is
    // left unsealed by a clean shutdown.
    if state.config.ops.metrics {
        // Installed here already (serve_on would), so the sealer's metrics are described
        // before its first round.
        signet_server::ops::install_metrics();
        signet_audit::telemetry::describe();
    }
    let sealer = node
        .sealer(pki)
        .map(|sealer| tokio::spawn(sealer.run(until_stopped(stopped.clone()))));
    let served = signet_server::serve_on(listener, state, until_stopped(stopped)).await;
    if let Some(sealer) = sealer
        && let Err(e) = sealer.await
    {
        tracing::error!(error = %e, "audit sealer task failed");
    }
    reconnect.abort();
    signals.abort();
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    served?;
    tracing::info!("signet stopped");
    Ok(())
}
