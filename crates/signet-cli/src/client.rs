//! `signet admin client ...`: register and list OAuth2 clients.

use clap::Subcommand;
use serde_json::json;
use signet_server::admin::{Admin, ClientSpec};

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
        /// Bind the client to this user for client_credentials (e-seal); needs --confidential.
        #[arg(long)]
        user: Option<String>,
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
            json,
        } => {
            let new = admin
                .add_client(ClientSpec {
                    name,
                    redirect_uris,
                    confidential,
                    username: user,
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
