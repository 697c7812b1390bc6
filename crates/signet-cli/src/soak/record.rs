//! What the load saw, shared by every worker: latencies per flow, every HTTP status, failures,
//! and every signature a client received (to find its audit record afterwards).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::PoisonError;
use std::time::{Duration, Instant};

use hyper::StatusCode;

/// A kind of traffic. Valid flows must succeed; hostile and slow traffic must be refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Flow {
    /// auth/login with the right password (each signer again every minute).
    Login,
    /// SCAL1: credentials/authorize with the PIN, then signatures/signHash.
    Scal1Hash,
    /// SCAL2: authorize with PIN and TOTP, bound to the hash, then signHash.
    Scal2Hash,
    /// SCAL2: authorize bound to the document's digest, then signDoc (CAdES).
    Scal2Doc,
    /// SCAL1 signDoc, one flow per format; levels B-B, B-T, B-B, B-LT in turn.
    Pades,
    Cades,
    Xades,
    Jades,
    /// DSS-X 2.0 SignRequest (CAdES), XML and JSON syntax in turn.
    DssX,
    /// OAuth2 authorization code + PKCE (plain, PAR, PAR + RAR in turn) for an oauth2code
    /// credential: sign-in, consent with the PIN, token, signHash with the credential token.
    OAuthCode,
    /// OAuth2 client_credentials (e-seal client), credentials/list, authorize + signHash,
    /// token revocation.
    OAuthClient,
    /// An RFC 3161 request to the built-in TSA, the token checked.
    Tsa,
    /// An OCSP request to the CA's responder for a signer certificate, the response checked.
    Ocsp,
    /// Malformed, oversized, unauthenticated or misdirected requests.
    Hostile,
    /// Requests that stop half-way (headers, body, chunked) and are held open a while.
    Slow,
}

impl Flow {
    pub const ALL: [Flow; 15] = [
        Flow::Login,
        Flow::Scal1Hash,
        Flow::Scal2Hash,
        Flow::Scal2Doc,
        Flow::Pades,
        Flow::Cades,
        Flow::Xades,
        Flow::Jades,
        Flow::DssX,
        Flow::OAuthCode,
        Flow::OAuthClient,
        Flow::Tsa,
        Flow::Ocsp,
        Flow::Hostile,
        Flow::Slow,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Flow::Login => "login",
            Flow::Scal1Hash => "scal1-signhash",
            Flow::Scal2Hash => "scal2-signhash",
            Flow::Scal2Doc => "scal2-signdoc",
            Flow::Pades => "signdoc-pades",
            Flow::Cades => "signdoc-cades",
            Flow::Xades => "signdoc-xades",
            Flow::Jades => "signdoc-jades",
            Flow::DssX => "dssx-sign",
            Flow::OAuthCode => "oauth2-code",
            Flow::OAuthClient => "oauth2-client",
            Flow::Tsa => "tsa",
            Flow::Ocsp => "ocsp",
            Flow::Hostile => "hostile",
            Flow::Slow => "slow",
        }
    }

    /// A valid flow: every request of it must succeed.
    pub fn valid(self) -> bool {
        !matches!(self, Flow::Hostile | Flow::Slow)
    }
}

/// What the audit log must show for a signature a client received.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Evidence {
    /// signHash: the hash signed (hex), among the record's `hashes`.
    Hash(String),
    /// signDoc, DSS-X: the document's SHA-256 (hex), among the record's `documents`.
    Document(String),
}

/// One signature a client received.
#[derive(Clone, Debug)]
pub struct Received {
    pub flow: Flow,
    pub credential: String,
    pub evidence: Evidence,
}

/// One finished operation of a flow.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub flow: Flow,
    /// When it started, from the start of the load.
    pub at: Duration,
    pub latency_us: u64,
}

/// Kept messages per kind: enough to diagnose, bounded however long the soak runs.
const KEPT_MESSAGES: usize = 40;

#[derive(Default)]
struct Inner {
    samples: Vec<Sample>,
    statuses: BTreeMap<(Flow, u16), u64>,
    server_errors: u64,
    server_error_messages: Vec<String>,
    failures: BTreeMap<Flow, u64>,
    failure_messages: Vec<String>,
    received: Vec<Received>,
    /// Slow connections: (opened, answered by the server, closed by the server).
    slow: (u64, u64, u64),
}

/// The shared record of the load.
pub struct Recorder {
    pub start: Instant,
    inner: Mutex<Inner>,
}

/// A copy of everything recorded, for the report.
pub struct Snapshot {
    pub samples: Vec<Sample>,
    pub statuses: BTreeMap<(Flow, u16), u64>,
    pub server_errors: u64,
    pub server_error_messages: Vec<String>,
    pub failures: BTreeMap<Flow, u64>,
    pub failure_messages: Vec<String>,
    pub received: Vec<Received>,
    pub slow: (u64, u64, u64),
}

impl Recorder {
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An answer to a request of `flow`. Any 5xx is a server error, whoever asked.
    pub fn status(&self, flow: Flow, what: &str, status: StatusCode, body: &[u8]) {
        let mut inner = self.lock();
        *inner.statuses.entry((flow, status.as_u16())).or_default() += 1;
        if status.is_server_error() {
            inner.server_errors += 1;
            if inner.server_error_messages.len() < KEPT_MESSAGES {
                let text = excerpt(body);
                inner
                    .server_error_messages
                    .push(format!("{} {what}: {status} {text}", flow.name()));
            }
        }
    }

    /// A finished operation that started at `t0`.
    pub fn sample(&self, flow: Flow, t0: Instant) {
        let sample = Sample {
            flow,
            at: t0.saturating_duration_since(self.start),
            latency_us: t0.elapsed().as_micros() as u64,
        };
        self.lock().samples.push(sample);
    }

    /// A valid flow failed, or a hostile request got an answer it should not have.
    pub fn failure(&self, flow: Flow, message: &str) {
        let mut inner = self.lock();
        *inner.failures.entry(flow).or_default() += 1;
        if inner.failure_messages.len() < KEPT_MESSAGES {
            let at = self.start.elapsed().as_secs_f64();
            inner
                .failure_messages
                .push(format!("{at:.1} s {}: {message}", flow.name()));
        }
    }

    pub fn signature(&self, flow: Flow, credential: &str, evidence: Evidence) {
        self.lock().received.push(Received {
            flow,
            credential: credential.to_owned(),
            evidence,
        });
    }

    pub fn slow_connection(&self, answered: bool, closed_by_server: bool) {
        let mut inner = self.lock();
        inner.slow.0 += 1;
        inner.slow.1 += u64::from(answered);
        inner.slow.2 += u64::from(closed_by_server);
    }

    /// (requests answered, server errors, failures, signatures received) so far.
    pub fn counts(&self) -> (u64, u64, u64, usize) {
        let inner = self.lock();
        (
            inner.statuses.values().sum(),
            inner.server_errors,
            inner.failures.values().sum(),
            inner.received.len(),
        )
    }

    pub fn snapshot(&self) -> Snapshot {
        let inner = self.lock();
        Snapshot {
            samples: inner.samples.clone(),
            statuses: inner.statuses.clone(),
            server_errors: inner.server_errors,
            server_error_messages: inner.server_error_messages.clone(),
            failures: inner.failures.clone(),
            failure_messages: inner.failure_messages.clone(),
            received: inner.received.clone(),
            slow: inner.slow,
        }
    }
}

/// At most 200 printable characters of an answer, for a message.
pub fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(body)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect()
}
