//! `signet`: run the remote signing service and administer it.
//!
//! Thin on purpose (the ripgrep habit): parsing arguments, reading secrets from the environment
//! or standard input, and printing; the work happens in the library crates.

#![forbid(unsafe_code)]

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use serde_json::json;
use signet_core::KeyType;
use signet_sam::totp;
use signet_service::admin::CredentialSpec;
use zeroize::Zeroizing;

mod audit;
mod bench;
mod client;
mod config;
mod demo;
mod node;
mod serve;
mod sign;
mod soak;
mod verify;

use config::Config;
use node::Node;

#[derive(Parser)]
#[command(
    name = "signet",
    version,
    about = "Signet: remote signature creation service (CSC API v1/v2, SCAL2 sole control)"
)]
struct Cli {
    /// Data directory (master key, database, CA certificate).
    #[arg(
        long,
        global = true,
        env = "SIGNET_DATA",
        default_value = "./signet-data"
    )]
    data: PathBuf,
    /// TOML configuration file.
    #[arg(long, global = true, env = "SIGNET_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Listen address (default 127.0.0.1:8080; env SIGNET_LISTEN).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Run a demo server with a demo signer and SCAL2 credential in a fresh data directory.
    Demo {
        #[arg(long)]
        listen: Option<String>,
        /// Keep the keys in a SoftHSM2 token initialized in the data directory (PKCS#11).
        #[arg(long)]
        hsm: bool,
    },
    /// Operator commands.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Audit log commands.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Measure signing throughput (key module and HTTP), see BENCHMARKS.md.
    Bench(bench::BenchArgs),
    /// Soak a running server (`--data`/`--config` of its node) with valid and hostile load for
    /// a bounded time, then check memory, descriptors, 5xx, the audit log and latency
    /// (docs/security.md, scripts/soak). Exit 0 only when every check passes.
    Soak(soak::SoakArgs),
    /// Sign documents with a credential on any CSC server; the documents stay on this machine
    /// (hash-only: only their digests are sent). See README "Sign documents".
    Sign(sign::SignArgs),
    /// List your credentials on a CSC server: certificate, key, SCAL, authorization, multisign.
    Credentials(sign::CredentialsArgs),
    /// Validate the signatures of a file (PAdES, CAdES, XAdES, JAdES, B-B to B-LTA) per ETSI
    /// EN 319 102-1; exit code 0 only when every signature is TOTAL-PASSED.
    Verify(verify::VerifyArgs),
    /// Extend a valid signature to B-T, B-LT or B-LTA: time-stamps and validation data.
    Extend(verify::ExtendArgs),
    /// Print the current TOTP code for a Base32 secret (for trying the API by hand).
    Totp {
        /// Base32 TOTP secret as printed by `admin user add`.
        secret: String,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Users (signers).
    #[command(subcommand)]
    User(UserCommand),
    /// Signing credentials.
    #[command(subcommand)]
    Credential(CredentialCommand),
    /// OAuth2 clients (applications that send signers to the consent page).
    #[command(subcommand)]
    Client(client::ClientCommand),
    /// Print the embedded CA certificate (PEM).
    CaCert,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Enrol a user. Password from env SIGNET_PASSWORD, else one line of standard input.
    Add {
        username: String,
        /// Use this Base32 TOTP secret instead of generating one.
        #[arg(long)]
        totp_secret: Option<String>,
        #[arg(long)]
        json: bool,
    },
    List {
        #[arg(long)]
        json: bool,
    },
    Disable {
        username: String,
    },
    Enable {
        username: String,
    },
}

#[derive(Subcommand)]
enum CredentialCommand {
    /// Generate a key and certificate for a user. PIN from env SIGNET_PIN, else standard input.
    Create(CreateArgs),
    List {
        #[arg(long)]
        json: bool,
    },
    Disable(CredentialId),
    Enable(CredentialId),
    /// Clear a lock-out after too many failed authorizations.
    Unlock(CredentialId),
    /// Destroy the credential's key in the key module and delete the credential.
    Delete(CredentialId),
    /// Revoke the credential's certificate (published in the CRL and by the OCSP responder)
    /// and disable the credential for good.
    Revoke(RevokeArgs),
}

#[derive(Args)]
struct RevokeArgs {
    #[arg(allow_hyphen_values = true)]
    id: String,
    /// CRLReason (RFC 5280 §5.3.1): unspecified, keyCompromise, affiliationChanged,
    /// superseded, cessationOfOperation or privilegeWithdrawn.
    #[arg(long, default_value = "unspecified")]
    reason: String,
}

/// A credential ID argument. IDs are base64url and older ones may start with '-'.
#[derive(Args)]
struct CredentialId {
    #[arg(allow_hyphen_values = true)]
    id: String,
}

#[derive(Args)]
struct CreateArgs {
    #[arg(long)]
    user: String,
    /// ec-p256, ec-p384, rsa-2048, rsa-3072 or rsa-4096.
    #[arg(long, default_value = "ec-p256")]
    key: String,
    /// Sole control assurance level: 2 = PIN and TOTP, hashes bound to the SAD; 1 = PIN.
    #[arg(long, default_value_t = 2)]
    scal: u8,
    /// Signatures one authorization may cover.
    #[arg(long, default_value_t = 1)]
    multisign: u32,
    /// How the signer authorizes: explicit (factors sent to credentials/authorize), oauth2code
    /// (OAuth2 consent page only) or oob (approved on Signet's approval page).
    #[arg(long, default_value = "explicit")]
    auth: String,
    #[arg(long)]
    description: Option<String>,
    #[arg(long)]
    json: bool,
}

/// A secret from an environment variable, else one line of standard input.
fn secret_input(var: &str, what: &str) -> anyhow::Result<Zeroizing<String>> {
    if let Ok(v) = std::env::var(var)
        && !v.is_empty()
    {
        return Ok(Zeroizing::new(v));
    }
    let mut line = Zeroizing::new(String::new());
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .with_context(|| format!("reading the {what} from standard input"))?;
    let trimmed = Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_owned());
    if trimmed.is_empty() {
        bail!("no {what} given: set {var} or write it on standard input");
    }
    Ok(trimmed)
}

fn init_logging(config: &Config) {
    let filter = std::env::var("SIGNET_LOG").unwrap_or_else(|_| config.log.level.clone());
    let mut filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // tokio-postgres logs every statement's parameters at debug level: password, PIN and secret
    // hashes, sealed keys. Never below info, whatever SIGNET_LOG says (an added directive
    // replaces the user's for the same target).
    for quiet in ["tokio_postgres=info", "tokio_postgres::query=info"] {
        if let Ok(directive) = quiet.parse() {
            filter = filter.add_directive(directive);
        }
    }
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if config.log.format == "json" {
        // One flat object per line: the event's fields (message, status, ...) at the top, and
        // the innermost span's fields (request_id, method, route) under "span", so that every
        // line about a request carries its ID without the duplicate "spans" list.
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init();
    } else {
        builder.init();
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // The client commands are blocking and need neither the data directory nor a runtime.
    let result = match cli.command {
        Command::Sign(args) => sign::sign(args),
        Command::Credentials(args) => sign::credentials(args),
        Command::Verify(args) => verify::verify(args),
        Command::Extend(args) => verify::extend(args),
        command => return serve_main(Cli { command, ..cli }),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("signet: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

fn serve_main(cli: Cli) -> std::process::ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("signet: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("signet: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    let mut config = Config::load(cli.config.as_deref())?;
    if let Command::Totp { secret } = &cli.command {
        let bytes = totp::parse_base32(secret).context("not a Base32 TOTP secret")?;
        println!(
            "{}",
            totp::code_string(&bytes, totp::step_at(signet_sam::now_unix()))
        );
        return Ok(std::process::ExitCode::SUCCESS);
    }
    match cli.command {
        Command::Serve { listen } => {
            if let Some(l) = listen {
                config.listen = l;
            }
            init_logging(&config);
            let node = Node::open_server(&cli.data, &config).await?;
            serve::run(&node, &config).await?;
        }
        Command::Demo { listen, hsm } => {
            if let Some(l) = listen {
                config.listen = l;
            }
            init_logging(&config);
            demo::run(&config, hsm).await?;
        }
        Command::Bench(args) => bench::run(args, &config).await?,
        Command::Soak(args) => {
            return soak::run(args, &cli.data, cli.config.as_deref(), &config).await;
        }
        Command::Admin(cmd) => admin(&cli.data, &config, cmd).await?,
        Command::Audit(audit::AuditCommand::VerifyProof { proof, cert }) => {
            // Offline: no data directory, no database.
            return audit::verify_proof_command(&proof, &cert);
        }
        Command::Audit(cmd) => {
            let node = Node::open(&cli.data, &config).await?;
            return audit::run(&node, cmd).await;
        }
        // Handled in main() before the runtime starts.
        Command::Totp { .. }
        | Command::Sign(_)
        | Command::Credentials(_)
        | Command::Verify(_)
        | Command::Extend(_) => {}
    }
    Ok(std::process::ExitCode::SUCCESS)
}

async fn admin(data: &std::path::Path, config: &Config, cmd: AdminCommand) -> anyhow::Result<()> {
    let node = Node::open(data, config).await?;
    let admin = &node.admin;
    match cmd {
        AdminCommand::CaCert => print!("{}", admin.ca.certificate_pem()),
        AdminCommand::Client(cmd) => client::run(admin, cmd).await?,
        AdminCommand::User(UserCommand::Add {
            username,
            totp_secret,
            json,
        }) => {
            let secret = match totp_secret {
                Some(s) => Some(
                    totp::parse_base32(&s)
                        .context("--totp-secret is not Base32 (at least 80 bits)")?,
                ),
                None => None,
            };
            let password = secret_input("SIGNET_PASSWORD", "password")?;
            let enrolled = admin.add_user(&username, &password, secret).await?;
            let b32 = totp::secret_base32(&enrolled.totp_secret);
            let uri = totp::otpauth_uri(&config.service.name, &username, &enrolled.totp_secret);
            if json {
                println!(
                    "{}",
                    json!({ "username": username, "totp_secret": b32, "totp_uri": uri })
                );
            } else {
                println!("user {username} enrolled\nTOTP secret: {b32}\nTOTP URI:    {uri}");
            }
        }
        AdminCommand::User(UserCommand::List { json }) => {
            let users = node.store.list_users().await?;
            if json {
                let rows: Vec<_> = users
                    .iter()
                    .map(|u| json!({ "username": u.username, "disabled": u.disabled, "created_at": u.created_at }))
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                println!("{:<32} {:<9}", "USERNAME", "STATUS");
                for u in users {
                    println!(
                        "{:<32} {:<9}",
                        u.username,
                        if u.disabled { "disabled" } else { "enabled" }
                    );
                }
            }
        }
        AdminCommand::User(UserCommand::Disable { username }) => {
            admin.set_user_disabled(&username, true).await?;
            println!("user {username} disabled");
        }
        AdminCommand::User(UserCommand::Enable { username }) => {
            admin.set_user_disabled(&username, false).await?;
            println!("user {username} enabled");
        }
        AdminCommand::Credential(CredentialCommand::Create(args)) => {
            let key_type: KeyType = args.key.parse()?;
            let auth_mode = signet_store::AuthMode::parse(&args.auth).with_context(|| {
                format!("--auth {}: use explicit, oauth2code or oob", args.auth)
            })?;
            let pin = secret_input("SIGNET_PIN", "PIN")?;
            let spec = CredentialSpec {
                username: args.user.clone(),
                key_type,
                scal: args.scal,
                multisign: args.multisign,
                pin,
                description: args.description,
            };
            let cred = admin.create_credential_with_mode(spec, auth_mode).await?;
            let b64 = signet_core::b64::encode;
            if args.json {
                println!(
                    "{}",
                    json!({
                        "credential_id": cred.id,
                        "certificate": b64(&cred.certificate),
                        "ca_certificate": b64(&admin.ca.certificate),
                    })
                );
            } else {
                println!(
                    "credential {} created for {} ({}, SCAL{}, multisign {})",
                    cred.id, args.user, key_type, cred.scal, cred.multisign
                );
            }
        }
        AdminCommand::Credential(CredentialCommand::List { json }) => {
            let creds = node.store.list_credentials().await?;
            let users = node.store.list_users().await?;
            let name = |id: i64| {
                users
                    .iter()
                    .find(|u| u.id == id)
                    .map(|u| u.username.clone())
                    .unwrap_or_default()
            };
            let status = |c: &signet_store::Credential| {
                if c.disabled {
                    "disabled"
                } else if c.locked {
                    "locked"
                } else {
                    "enabled"
                }
            };
            if json {
                let rows: Vec<_> = creds
                    .iter()
                    .map(|c| {
                        json!({
                            "credential_id": c.id, "username": name(c.user_id), "key": c.key_type.name(),
                            "scal": c.scal, "multisign": c.multisign, "status": status(c), "backend": c.backend,
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                println!(
                    "{:<24} {:<20} {:<9} {:<5} {:<9} {:<9}",
                    "CREDENTIAL", "USER", "KEY", "SCAL", "MULTISIGN", "STATUS"
                );
                for c in &creds {
                    println!(
                        "{:<24} {:<20} {:<9} {:<5} {:<9} {:<9}",
                        c.id,
                        name(c.user_id),
                        c.key_type.name(),
                        c.scal,
                        c.multisign,
                        status(c)
                    );
                }
            }
        }
        AdminCommand::Credential(CredentialCommand::Disable(CredentialId { id })) => {
            admin.set_credential_disabled(&id, true).await?;
            println!("credential {id} disabled");
        }
        AdminCommand::Credential(CredentialCommand::Enable(CredentialId { id })) => {
            admin.set_credential_disabled(&id, false).await?;
            println!("credential {id} enabled");
        }
        AdminCommand::Credential(CredentialCommand::Delete(CredentialId { id })) => {
            admin.delete_credential(&id).await?;
            println!("credential {id} deleted, key destroyed");
        }
        AdminCommand::Credential(CredentialCommand::Unlock(CredentialId { id })) => {
            admin.unlock_credential(&id).await?;
            println!("credential {id} unlocked");
        }
        AdminCommand::Credential(CredentialCommand::Revoke(RevokeArgs { id, reason })) => {
            let code = signet_service::admin::parse_reason(&reason).with_context(|| {
                let names: Vec<&str> = signet_service::admin::REVOCATION_REASONS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect();
                format!("--reason {reason}: use one of {}", names.join(", "))
            })?;
            // Unspecified is the absence of a reason code (RFC 5280 §5.3.1).
            admin
                .revoke_credential(&id, (code != 0).then_some(code))
                .await?;
            println!("credential {id} revoked ({reason}); its certificate is in the CRL");
        }
    }
    Ok(())
}
