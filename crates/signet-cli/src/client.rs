//! `signet admin client ...`: register and list OAuth2 clients.

use clap::Subcommand;
use serde_json::json;
use signet_service::admin::{Admin, ClientSpec};

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Register a client. Prints its client_id, and its secret when --confidential (shown once).
    Add {
        /// Shown to signers on the consent page.
        name: String,
        /// A redirect URI (exact match); repeat for several.
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// A confidential client, authenticated with a secret (Basic or client_secret).
        #[arg(long)]
        confidential: bool,
        /// Bind the client to this user for client_credentials or mutual TLS (e-seal); needs
        /// --confidential or --tls-certificate.
        #[arg(long)]
        user: Option<String>,
        /// PEM file with the client's TLS certificate: over mutual TLS, requests presenting it
        /// without a Bearer token act for --user (CSC authType "TLS"). Only its SHA-256 is kept.
        #[arg(long, value_name = "FILE.pem")]
        tls_certificate: Option<std::path::PathBuf>,
        /// Print {"client_id", "client_secret"} (client_secret null for public clients).
        #[arg(long)]
        json: bool,
    },
    List {
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(admin: &Admin, cmd: ClientCommand) -> anyhow::Result<()> {
    match cmd {
        ClientCommand::Add {
            name,
            redirect_uris,
            confidential,
            user,
            tls_certificate,
            json,
        } => {
            let tls_certificate_sha256 = tls_certificate
                .as_deref()
                .map(signet_server::tls::certificate_fingerprint_file)
                .transpose()?;
            let new = admin
                .add_client(ClientSpec {
                    name,
                    redirect_uris,
                    confidential,
                    username: user,
                    tls_certificate_sha256,
                })
                .await?;
            let secret = new.secret.as_ref().map(|s| s.as_str());
            if json {
                println!(
                    "{}",
                    json!({ "client_id": new.client.client_id, "client_secret": secret })
                );
            } else {
                println!(
                    "client {} registered: {}",
                    new.client.name, new.client.client_id
                );
                if let Some(secret) = secret {
                    println!("client secret (shown once): {secret}");
                }
            }
        }
        ClientCommand::List { json } => {
            let clients = admin.store.list_clients().await?;
            if json {
                let rows: Vec<_> = clients
                    .iter()
                    .map(|c| {
                        json!({
                            "client_id": c.client_id, "name": c.name, "confidential": c.is_confidential(),
                            "redirect_uris": c.redirect_uris, "client_credentials": c.user_id.is_some(),
                            "tls_certificate_sha256": c.tls_certificate_sha256.map(|h| data_encoding::HEXLOWER.encode(&h)),
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                println!(
                    "{:<24} {:<12} {:<24} REDIRECT URIS",
                    "CLIENT ID", "TYPE", "NAME"
                );
                for c in clients {
                    let kind = if c.is_confidential() {
                        "confidential"
                    } else {
                        "public"
                    };
                    println!(
                        "{:<24} {:<12} {:<24} {}",
                        c.client_id,
                        kind,
                        c.name,
                        c.redirect_uris.join(" ")
                    );
                }
            }
        }
    }
    Ok(())
}
