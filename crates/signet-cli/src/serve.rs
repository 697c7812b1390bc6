//! `signet serve`: bind, announce readiness, serve until SIGTERM/SIGINT, drain. SIGHUP resets
//! the key module's sessions (reconnect after HSM maintenance).

use anyhow::Context;
use tokio::net::TcpListener;

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

pub async fn run(node: &Node, listen: &str) -> anyhow::Result<()> {
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, data = %node.data_dir.display(), "signet listening on http://{addr}");
    let mut state = node.app_state();
    let mut config = (*state.config).clone();
    if config.oauth2.public_url.is_empty() {
        // No public URL configured: the issuer is the address actually bound.
        config.oauth2.public_url = format!("http://{addr}");
    }
    if config.service.logo.is_empty() {
        config.service.logo = format!(
            "{}/logo.png",
            config.oauth2.public_url.trim_end_matches('/')
        );
    }
    state.config = std::sync::Arc::new(config);
    let keys = std::sync::Arc::clone(&node.keys);
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
            let keys = std::sync::Arc::clone(&keys);
            let _ = tokio::task::spawn_blocking(move || keys.reset_sessions()).await;
        }
    });
    let served = signet_server::serve(listener, state, shutdown_signal()).await;
    reconnect.abort();
    served?;
    tracing::info!("signet stopped");
    Ok(())
}
