//! Untimed setup: a real server on a temporary data directory, enrolled users with SCAL1
//! credentials, and an access token per user obtained over HTTP.
//!
//! Credentials are SCAL1 (PIN only) on purpose: SCAL2 needs a fresh TOTP code per authorization
//! and accepts each 30-second step once per user, so authorizations cannot be produced in bulk
//! ahead of a timed run. The SCAL2 extra work (one TOTP check and one small write) is in the
//! authorize path, which the batch scenario does not time.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use bytes::Bytes;
use hyper::header::HeaderValue;
use serde::Deserialize;
use signet_core::{KeyType, SignMechanism};
use signet_keys::KeyRef;
use signet_service::admin::CredentialSpec;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use zeroize::Zeroizing;

use super::BenchArgs;
use super::http::{self, Client, SadReply, SignValues};
use super::progress;
use crate::config::Config;
use crate::node::Node;

/// The PIN of every bench credential (they live in a throwaway data directory).
pub const PIN: &str = "271828";
/// Users the flow credentials are spread over.
const FLOW_USERS: usize = 8;
/// Flow credentials; clients cycle through them so that many credentials are exercised.
const FLOW_CREDENTIALS: usize = 64;
/// Lifetime of bench SADs: pre-authorized SADs must outlive setup plus the longest timed run.
const SAD_LIFETIME_SECONDS: u64 = 2 * 3600 + 600;

/// Which parts of the fixture the selected scenarios need.
#[derive(Debug, Clone, Copy)]
pub struct Needs {
    /// An ECDSA P-256 and an RSA-2048 credential with multisign = `--batch` (raw and batch).
    pub signing_keys: bool,
    /// [`FLOW_CREDENTIALS`] ECDSA P-256 credentials over [`FLOW_USERS`] users.
    pub flow: bool,
}

/// An enrolled user and their access token.
#[derive(Clone)]
pub struct Signer {
    /// `Bearer <access token>`.
    pub bearer: HeaderValue,
}

/// A credential the bench signs with.
#[derive(Clone)]
pub struct BenchCredential {
    pub id: String,
    pub key_type: KeyType,
    pub key_ref: KeyRef,
    /// DER SubjectPublicKeyInfo, to verify a sample signature.
    pub public_key: Vec<u8>,
    /// Index into [`Fixture::signers`].
    pub owner: usize,
    /// The `signAlgo` OID sent with signHash (SHA-256 with the key's algorithm).
    pub sign_algo: &'static str,
    /// The same choice for direct key-module calls.
    pub mechanism: SignMechanism,
}

/// A running bench server and its enrolled signers.
pub struct Fixture {
    pub node: Node,
    pub addr: SocketAddr,
    pub signers: Vec<Signer>,
    /// ECDSA P-256 then RSA-2048 (raw and batch); empty when not needed.
    pub signing: Vec<BenchCredential>,
    /// Flow credentials; empty when not needed.
    pub flow: Vec<BenchCredential>,
    shutdown: oneshot::Sender<()>,
    server: JoinHandle<std::io::Result<()>>,
    seal_shutdown: oneshot::Sender<()>,
    sealer: Option<JoinHandle<()>>,
    /// Declared last: removed after the node has closed its database.
    _dir: tempfile::TempDir,
}

#[derive(Deserialize)]
struct LoginReply {
    access_token: String,
}

impl Fixture {
    /// `base` is the operator's configuration: its key module (`[keys]`, SIGNET_KEY_BACKEND,
    /// SIGNET_PKCS11_*) and limits are what is measured. Its store is not: the bench enrols
    /// its own signers, so it runs on a SQLite file in the temporary directory unless
    /// `--database-url` names another store explicitly.
    pub async fn start(args: &BenchArgs, needs: Needs, base: &Config) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("signet-bench-")
            .tempdir()
            .context("creating the bench data directory")?;
        let mut config = base.clone();
        config.sam.sad_lifetime_seconds = SAD_LIFETIME_SECONDS.max(args.duration as u64 * 4);
        config.store = Config::default().store;
        // Every bench client comes from 127.0.0.1 at thousands of requests per second: the
        // per-address limits are for the Internet, not for this measurement.
        config.http = bench_http(&config.http, args.clients);
        if let Some(url) = &args.database_url {
            config.store.database_url.clone_from(url);
        }
        let node = Node::open_server(dir.path(), &config).await?;

        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the bench server")?;
        let addr = listener.local_addr()?;
        let (shutdown, stop) = oneshot::channel::<()>();
        let state = node.app_state();
        // The audit sealer runs as in `signet serve` (audit.seal_interval_ms; 0 = none), so
        // its cost is part of what is measured.
        let (seal_shutdown, seal_stop) = oneshot::channel::<()>();
        let sealer = node
            .sealer(std::sync::Arc::clone(&state.service.pki))
            .map(|sealer| {
                tokio::spawn(sealer.run(async move {
                    let _ = seal_stop.await;
                }))
            });
        let server = tokio::spawn(signet_server::serve(listener, state, async move {
            let _ = stop.await;
        }));

        let mut users: Vec<(String, Zeroizing<String>)> = Vec::new();
        let mut signing = Vec::new();
        let mut flow = Vec::new();
        if needs.signing_keys {
            progress::note(
                "setup: enrolling the batch signer, generating ECDSA P-256 and RSA-2048 keys",
            );
            let owner = users.len();
            users.push(enrol(&node, "bench-batch").await?);
            for key_type in [KeyType::EcP256, KeyType::Rsa2048] {
                signing
                    .push(credential(&node, &users[owner].0, owner, key_type, args.batch).await?);
            }
        }
        if needs.flow {
            flow = enrol_flow(&node, &mut users).await?;
        }
        let signers = log_in(addr, &users).await?;
        Ok(Self {
            node,
            addr,
            signers,
            signing,
            flow,
            shutdown,
            server,
            seal_shutdown,
            sealer,
            _dir: dir,
        })
    }

    /// Stops the server, waiting for it to drain, then removes the data directory.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(());
        let _ = self.seal_shutdown.send(());
        if let Some(sealer) = self.sealer {
            let _ = tokio::time::timeout(Duration::from_secs(10), sealer).await;
        }
        match tokio::time::timeout(Duration::from_secs(10), self.server).await {
            Ok(Ok(result)) => result.context("bench server")?,
            Ok(Err(e)) => bail!("bench server task failed: {e}"),
            Err(_) => bail!("bench server did not stop within 10 s"),
        }
        Ok(())
    }

    /// One authorize + signHash of a known message outside any timed loop, verified with the
    /// credential's public key: proof that what the bench counts are real signatures.
    pub async fn check_signature(self: &Arc<Self>, cred: &BenchCredential) -> anyhow::Result<()> {
        check_signature(self.addr, &self.signers[cred.owner].bearer, cred).await
    }
}

/// Enrols [`FLOW_USERS`] users (appended to `users`) with [`FLOW_CREDENTIALS`] ECDSA P-256
/// SCAL1 credentials over them, and returns the credentials.
pub async fn enrol_flow(
    node: &Node,
    users: &mut Vec<(String, Zeroizing<String>)>,
) -> anyhow::Result<Vec<BenchCredential>> {
    progress::note(&format!(
        "setup: enrolling {FLOW_USERS} flow signers with {FLOW_CREDENTIALS} ECDSA P-256 credentials"
    ));
    let first = users.len();
    for u in 0..FLOW_USERS {
        users.push(enrol(node, &format!("bench-flow-{u}")).await?);
    }
    let mut flow = Vec::with_capacity(FLOW_CREDENTIALS);
    for c in 0..FLOW_CREDENTIALS {
        let owner = first + c % FLOW_USERS;
        flow.push(credential(node, &users[owner].0, owner, KeyType::EcP256, 1).await?);
    }
    Ok(flow)
}

/// One login per user over HTTP at `addr` (argon2, tens of milliseconds each): untimed. The
/// signers come back in the order of `users`.
pub async fn log_in(
    addr: SocketAddr,
    users: &[(String, Zeroizing<String>)],
) -> anyhow::Result<Vec<Signer>> {
    let mut client = Client::connect(addr).await?;
    let mut signers = Vec::with_capacity(users.len());
    for (username, password) in users {
        let basic = http::basic(username, password)?;
        let reply: LoginReply = client
            .post_ok(http::LOGIN, Some(&basic), Bytes::from_static(b"{}"))
            .await?;
        signers.push(Signer {
            bearer: http::bearer(&reply.access_token)?,
        });
    }
    Ok(signers)
}

/// [`Fixture::check_signature`] against the server at `addr`, as the holder of `bearer`.
pub async fn check_signature(
    addr: SocketAddr,
    bearer: &HeaderValue,
    cred: &BenchCredential,
) -> anyhow::Result<()> {
    let message = random_bytes(32)?;
    let digest = signet_core::HashAlgorithm::Sha256.digest(&message);
    let hashes = vec![digest];
    let mut client = Client::connect(addr).await?;
    let sad: SadReply = client
        .post_ok(
            http::AUTHORIZE,
            Some(bearer),
            http::body::authorize(&cred.id, PIN, &hashes),
        )
        .await?;
    let signed: SignValues = client
        .post_ok(
            http::SIGN_HASH,
            Some(bearer),
            http::body::sign_hash(&cred.id, &sad.sad, &hashes, cred.sign_algo),
        )
        .await?;
    let [value] = signed.signatures.as_slice() else {
        bail!(
            "signHash of one hash returned {} signatures",
            signed.signatures.len()
        );
    };
    let value = signet_core::b64::decode(value).context("signature is not Base64")?;
    let algorithm: &'static dyn VerificationAlgorithm = match cred.key_type {
        KeyType::EcP256 => &signature::ECDSA_P256_SHA256_ASN1,
        KeyType::Rsa2048 => &signature::RSA_PKCS1_2048_8192_SHA256,
        other => bail!("no verifier for {other} in the bench"),
    };
    UnparsedPublicKey::new(algorithm, &cred.public_key)
        .verify(&message, &value)
        .map_err(|_| {
            anyhow::anyhow!(
                "a {} signature from signHash does not verify",
                cred.key_type
            )
        })
}

/// Enrols `username` with a random password.
async fn enrol(node: &Node, username: &str) -> anyhow::Result<(String, Zeroizing<String>)> {
    let password = signet_sam::secrets::random_secret()?;
    node.admin.add_user(username, &password, None).await?;
    Ok((username.to_owned(), password))
}

async fn credential(
    node: &Node,
    username: &str,
    owner: usize,
    key_type: KeyType,
    multisign: u32,
) -> anyhow::Result<BenchCredential> {
    let cred = node
        .admin
        .create_credential(CredentialSpec {
            username: username.to_owned(),
            key_type,
            scal: 1,
            multisign,
            pin: Zeroizing::new(PIN.to_owned()),
            description: Some("signet bench".into()),
        })
        .await?;
    let mechanism = SignMechanism::default_for(key_type);
    Ok(BenchCredential {
        id: cred.id,
        key_type,
        key_ref: KeyRef(cred.key_ref),
        public_key: cred.public_key,
        owner,
        sign_algo: mechanism.signature_oid(),
        mechanism,
    })
}

/// `n` bytes from the system CSPRNG.
pub fn random_bytes(n: usize) -> anyhow::Result<Vec<u8>> {
    let mut out = vec![0u8; n];
    aws_lc_rs::rand::fill(&mut out).map_err(|_| anyhow::anyhow!("random generator failed"))?;
    Ok(out)
}

/// `n` random SHA-256-sized digests.
pub fn random_digests(n: usize) -> anyhow::Result<Vec<Vec<u8>>> {
    (0..n).map(|_| random_bytes(32)).collect()
}

/// `[http]` for a bench server: no per-address connection cap or rate limit, and room for
/// every client's connection.
pub fn bench_http(base: &crate::config::Http, clients: u32) -> crate::config::Http {
    crate::config::Http {
        max_connections: base.max_connections.max(clients as usize + 64),
        max_connections_per_address: 0,
        requests_per_second: 0.0,
        ..base.clone()
    }
}
