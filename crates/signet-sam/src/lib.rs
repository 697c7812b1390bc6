//! The Signature Activation Module (EN 419241-1 SAM; ETSI TS 119 431-1).
//!
//! Three operations, and the only path from a signer to their key:
//! - [`Sam::authorize`] checks the signer's factors (PIN; PIN and TOTP for SCAL2) and issues a
//!   SAD bound to signer, credential, hashes, hash algorithm, count and expiry;
//! - [`Sam::extend_transaction`] swaps a live SAD for a fresh one for the next batch;
//! - [`Sam::sign_hashes`] spends the SAD atomically (with its audit record) and only then asks
//!   the key module for signature values.
//!
//! Secrets (PIN, OTP, SAD) arrive as [`Zeroizing`] strings, are compared in constant time and
//! never appear in errors or audit records.

#![forbid(unsafe_code)]

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;
use signet_core::{AlgError, HashAlgorithm, SignMechanism};
use signet_keys::{KeyError, KeyRef, MasterKey, SignerKeys};
use signet_store::{
    Credential, CredentialBinding, NewAuditEvent, Purged, SadDecision, SadOutcome, SadRecord,
    SadRefusal, SecretHash, Store, StoreError, User,
};
use zeroize::Zeroizing;

pub mod approval;
pub mod sad;
pub mod secrets;
mod signer;
pub mod telemetry;
pub mod totp;

pub use approval::VerifiedFactors;
pub use secrets::PinHasher;

/// Tunables of sole control. Defaults follow the issue: SAD lifetime 300 s, lock after 5 failures.
#[derive(Debug, Clone)]
pub struct SamConfig {
    pub sad_lifetime: Duration,
    pub max_failures: u32,
    /// Accepted TOTP clock drift, in 30-second steps either way.
    pub totp_skew_steps: i64,
}

impl Default for SamConfig {
    fn default() -> Self {
        Self {
            sad_lifetime: Duration::from_secs(300),
            max_failures: 5,
            totp_skew_steps: 1,
        }
    }
}

/// Why the SAM refused. Typed, so that each binding words each case in its own format in one
/// place (signet-service's `describe` gives the client-facing text they share); `Display` is
/// for logs. Nothing here carries a secret, or tells one user about another's credentials.
#[derive(Debug, thiserror::Error)]
pub enum SamError {
    /// Unknown credential, or one that belongs to someone else (indistinguishable on purpose).
    #[error("unknown credential")]
    UnknownCredential,
    #[error("user disabled")]
    UserDisabled,
    #[error("credential disabled")]
    CredentialDisabled,
    #[error("credential locked")]
    CredentialLocked,
    /// What was asked does not fit the credential or the authorization.
    #[error("invalid request: {0:?}")]
    Request(RequestError),
    /// A required factor was not sent.
    #[error("missing factor {0}")]
    MissingFactor(Factor),
    #[error("invalid PIN")]
    InvalidPin,
    #[error("invalid OTP")]
    InvalidOtp,
    #[error("{0}")]
    Algorithm(#[from] AlgError),
    #[error("SAD refused: {}", refusal_code(*.0))]
    Sad(SadRefusal),
    #[error("key module unavailable")]
    KeyUnavailable,
    #[error("the credential key cannot be used")]
    KeyFailure,
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A deferred approval (authorization code, decoupled request) carries no valid seal of
    /// the signer's approval: it was not made by the SAM's factor check.
    #[error("no sealed approval by the signer")]
    Unapproved,
    #[error("internal error: {0}")]
    Internal(String),
}

/// A signer factor (EN 419241-1 SCAL2: knowledge and possession).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    Pin,
    Otp,
}

impl std::fmt::Display for Factor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Pin => "PIN",
            Self::Otp => "OTP",
        })
    }
}

/// What in a request does not fit the credential or the authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    /// `numSignatures` below 1.
    NumSignatures,
    /// More signatures than the credential's `multisign`.
    TooManySignatures,
    /// An empty list of hashes.
    EmptyHashes,
    /// A digest whose length is not its algorithm's.
    DigestLength,
    /// A SCAL2 authorization without the hashes it binds.
    HashesRequired,
    /// `numSignatures` differs from the number of hashes.
    HashCount,
    /// A document signing request with no document.
    NoDocument,
}

fn refusal_code(r: SadRefusal) -> &'static str {
    match r {
        SadRefusal::Unknown => "unknown_sad",
        SadRefusal::Expired => "expired_sad",
        SadRefusal::WrongCredential => "wrong_credential",
        SadRefusal::TooMany => "too_many_signatures",
        SadRefusal::HashNotAuthorized => "hash_not_authorized",
        SadRefusal::HashAlgorithm => "hash_algorithm_mismatch",
    }
}

/// credentials/authorize input, already decoded from either CSC version.
#[derive(Debug)]
pub struct AuthorizeRequest {
    pub credential_id: String,
    pub num_signatures: u32,
    pub hashes: Option<Vec<Vec<u8>>>,
    pub hash_algo: Option<HashAlgorithm>,
    pub pin: Option<Zeroizing<String>>,
    pub otp: Option<Zeroizing<String>>,
    pub description: Option<String>,
}

/// Signature values over client digests (CSC signHash, DSS-X with digests): the SAD, the
/// digests and the mechanism the binding resolved for the credential's key.
#[derive(Debug)]
pub struct SignRequest {
    pub sad: Zeroizing<String>,
    pub hashes: Vec<Vec<u8>>,
    pub mechanism: SignMechanism,
}

/// A SAD handed to the client. Only its hash is stored.
#[derive(Debug)]
pub struct IssuedSad {
    pub sad: Zeroizing<String>,
    pub expires_in: u64,
}

pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

/// The Signature Activation Module.
pub struct Sam {
    store: Arc<dyn Store>,
    keys: SignerKeys,
    master: MasterKey,
    pins: PinHasher,
    approvals: approval::ApprovalSeals,
    config: SamConfig,
    /// Where key-module calls run (see [`signer`]).
    signer: signer::Signer,
}

impl Sam {
    pub fn new(
        store: Arc<dyn Store>,
        keys: SignerKeys,
        master: MasterKey,
        config: SamConfig,
    ) -> Self {
        let pins = PinHasher::new(&master.derive("pin-hmac"));
        let approvals = approval::ApprovalSeals::new(&master.derive("signet approval seal v1"));
        let signer = signer::Signer::new(keys.concurrency());
        Self {
            store,
            keys,
            master,
            pins,
            approvals,
            config,
            signer,
        }
    }

    pub fn config(&self) -> &SamConfig {
        &self.config
    }

    /// The PIN reference value to store with a new credential.
    pub fn pin_reference(&self, credential_id: &str, pin: &str) -> Vec<u8> {
        self.pins.hash(credential_id, pin)
    }

    /// Seals a new TOTP secret for storage with the user.
    pub fn seal_totp_secret(&self, username: &str, secret: &[u8]) -> Result<Vec<u8>, SamError> {
        self.master
            .seal(&totp_context(username), secret)
            .map_err(|e| SamError::Internal(e.to_string()))
    }

    /// Opens a user's TOTP secret (for enrolment display and verification).
    pub fn open_totp_secret(&self, user: &User) -> Result<Zeroizing<Vec<u8>>, SamError> {
        self.master
            .open(&totp_context(&user.username), &user.totp_secret_sealed)
            .map_err(|_| SamError::Internal("TOTP secret cannot be opened".into()))
    }

    /// Loads a credential the user owns; anything else is "unknown".
    async fn owned_credential(
        &self,
        user: &User,
        credential_id: &str,
    ) -> Result<Credential, SamError> {
        match self.store.credential(credential_id).await? {
            Some(c) if c.user_id == user.id => Ok(c),
            _ => Err(SamError::UnknownCredential),
        }
    }

    /// Refuses a disabled user, a disabled credential or a locked one.
    pub fn check_usable(user: &User, cred: &Credential) -> Result<(), SamError> {
        if user.disabled {
            return Err(SamError::UserDisabled);
        }
        if cred.disabled {
            return Err(SamError::CredentialDisabled);
        }
        if cred.locked {
            return Err(SamError::CredentialLocked);
        }
        Ok(())
    }

    /// Loads a credential the user owns and that can be used now (user and credential enabled,
    /// not locked); anything else is refused exactly as an unknown credential or a disabled one.
    pub async fn usable_credential(
        &self,
        user: &User,
        credential_id: &str,
    ) -> Result<Credential, SamError> {
        let cred = self.owned_credential(user, credential_id).await?;
        Self::check_usable(user, &cred)?;
        Ok(cred)
    }

    /// Checks what an authorization asks for against the credential: `numSignatures` between 1
    /// and `multisign`, and for SCAL2 the hashes (their count equal to `numSignatures`, their
    /// length that of the hash algorithm). The result is exactly what a SAD will bind.
    pub fn check_binding(
        cred: &Credential,
        num_signatures: u32,
        hashes: Option<Vec<Vec<u8>>>,
        hash_algo: Option<HashAlgorithm>,
    ) -> Result<CredentialBinding, SamError> {
        if num_signatures < 1 {
            return Err(SamError::Request(RequestError::NumSignatures));
        }
        if num_signatures > cred.multisign {
            return Err(SamError::Request(RequestError::TooManySignatures));
        }
        let hash_algo =
            bound_hash_algorithm(num_signatures, hashes.as_deref(), hash_algo, cred.scal)?;
        Ok(CredentialBinding {
            credential_id: cred.id.clone(),
            num_signatures,
            hash_algo,
            hashes,
        })
    }

    /// Verifies the signer's factors for a credential outside credentials/authorize (the OAuth2
    /// consent page, the decoupled approval page): the PIN, and for SCAL2 a TOTP code accepted
    /// once per time step. A failure counts towards the lock-out and is audited under `event`
    /// with its reason; a success resets the counter and is audited under `event` with `detail`,
    /// and gives the proof a SAD is issued against.
    pub async fn verify_factors(
        &self,
        user: &User,
        credential_id: &str,
        pin: Option<&str>,
        otp: Option<&str>,
        event: &str,
        detail: serde_json::Value,
    ) -> Result<VerifiedFactors, SamError> {
        let cred = self.usable_credential(user, credential_id).await?;
        self.check_factors(user, &cred, pin, otp, event).await?;
        let mut fields = json!({ "result": "success", "scal": cred.scal });
        merge(&mut fields, detail);
        self.store
            .record_verification_success(
                &cred.id,
                NewAuditEvent::new(event, &user.username, Some(&cred.id), fields),
            )
            .await?;
        Ok(VerifiedFactors {
            user_id: user.id,
            credential_id: cred.id,
        })
    }

    /// Seals `proof` for `binding` into the record that will carry the approval until the SAD
    /// is issued (`record`: the authorization code's hash, the decoupled request's ID).
    pub fn seal_approval(
        &self,
        proof: &VerifiedFactors,
        record: &[u8],
        binding: &CredentialBinding,
    ) -> Result<SecretHash, SamError> {
        if proof.credential_id != binding.credential_id {
            return Err(SamError::UnknownCredential);
        }
        Ok(self.approvals.seal(record, proof.user_id, binding))
    }

    /// The proof an approval sealed into `record` carries, if `seal` is the SAM's seal of
    /// exactly this user and binding.
    pub fn sealed_approval(
        &self,
        user: &User,
        record: &[u8],
        binding: &CredentialBinding,
        seal: Option<&SecretHash>,
    ) -> Result<VerifiedFactors, SamError> {
        match seal {
            Some(seal) if self.approvals.verify(record, user.id, binding, seal) => {
                Ok(VerifiedFactors {
                    user_id: user.id,
                    credential_id: binding.credential_id.clone(),
                })
            }
            _ => {
                tracing::error!(credential = %binding.credential_id, "approval without a valid SAM seal refused");
                Err(SamError::Unapproved)
            }
        }
    }

    /// Factors: SCAL1 needs the PIN; SCAL2 the PIN and a TOTP code (auth.expression).
    async fn check_factors(
        &self,
        user: &User,
        cred: &Credential,
        pin: Option<&str>,
        otp: Option<&str>,
        event: &str,
    ) -> Result<(), SamError> {
        let pin = pin.ok_or(SamError::MissingFactor(Factor::Pin))?;
        let otp = if cred.scal >= 2 {
            Some(otp.ok_or(SamError::MissingFactor(Factor::Otp))?)
        } else {
            None
        };
        if !self.pins.verify(&cred.id, pin, &cred.pin_hash) {
            return Err(self
                .fail(user, cred, event, "invalid_pin", SamError::InvalidPin)
                .await);
        }
        if let Some(otp) = otp {
            let secret = self.open_totp_secret(user)?;
            let now = now_unix();
            let step = totp::matching_step(&secret, otp, now, self.config.totp_skew_steps);
            let accepted = match step {
                Some(step) => self.store.accept_totp_step(user.id, step).await?,
                None => false,
            };
            if !accepted {
                let reason = if step.is_some() {
                    "otp_reused"
                } else {
                    "invalid_otp"
                };
                return Err(self
                    .fail(user, cred, event, reason, SamError::InvalidOtp)
                    .await);
            }
        }
        Ok(())
    }

    /// Issues credential authorization under a secret the caller generated and handed out (a
    /// SAD, or a credential-scoped OAuth2 access token — a SAD in another envelope): inserts
    /// the SAD record under `secret_hash` with the binding, and the audit row `event`, in one
    /// transaction — only against `proof` that the SAM verified the signer's factors for this
    /// credential. The lifetime is at most the configured SAD lifetime.
    #[allow(clippy::too_many_arguments)] // each is one part of what the SAD binds or records
    pub async fn issue_sad(
        &self,
        proof: VerifiedFactors,
        user: &User,
        binding: &CredentialBinding,
        secret_hash: [u8; 32],
        lifetime: Option<Duration>,
        event: &str,
        detail: serde_json::Value,
    ) -> Result<u64, SamError> {
        if proof.user_id != user.id || proof.credential_id != binding.credential_id {
            return Err(SamError::UnknownCredential);
        }
        let cred = self.usable_credential(user, &binding.credential_id).await?;
        let checked = Self::check_binding(
            &cred,
            binding.num_signatures,
            binding.hashes.clone(),
            binding.hash_algo,
        )?;
        let max = self.config.sad_lifetime;
        let lifetime = lifetime.map_or(max, |l| l.min(max)).as_secs();
        self.insert_sad(user, &cred, &checked, secret_hash, lifetime, event, detail)
            .await?;
        Ok(lifetime)
    }

    #[allow(clippy::too_many_arguments)]
    async fn insert_sad(
        &self,
        user: &User,
        cred: &Credential,
        binding: &CredentialBinding,
        secret_hash: [u8; 32],
        expires_in: u64,
        event: &str,
        detail: serde_json::Value,
    ) -> Result<(), SamError> {
        let record = SadRecord {
            sad_hash: secret_hash,
            user_id: user.id,
            credential_id: cred.id.clone(),
            hash_algo: binding.hash_algo,
            hashes: binding.hashes.clone(),
            remaining: binding.num_signatures,
            expires_at: now_unix() + expires_in as i64,
        };
        let mut fields = json!({
            "result": "success",
            "scal": cred.scal,
            "num_signatures": binding.num_signatures,
            "hash_algorithm": binding.hash_algo.map(HashAlgorithm::oid),
            "hashes": binding.hashes.as_ref().map(|hs| hs.iter().map(|h| hex(h)).collect::<Vec<_>>()),
            "expires_in": expires_in,
        });
        merge(&mut fields, detail);
        let audit = NewAuditEvent::new(event, &user.username, Some(&cred.id), fields);
        self.store
            .record_authorization_success(record, audit)
            .await?;
        telemetry::sad_issued();
        Ok(())
    }

    /// credentials/authorize: verifies the signer's factors and issues a SAD.
    pub async fn authorize(
        &self,
        user: &User,
        req: AuthorizeRequest,
    ) -> Result<IssuedSad, SamError> {
        let cred = self.owned_credential(user, &req.credential_id).await?;
        self.authorize_credential(user, cred, req).await
    }

    /// [`Sam::authorize`] for a credential the caller already loaded (to look at its
    /// authorization mode first); ownership and usability are checked again here.
    pub async fn authorize_credential(
        &self,
        user: &User,
        cred: Credential,
        req: AuthorizeRequest,
    ) -> Result<IssuedSad, SamError> {
        if cred.user_id != user.id || cred.id != req.credential_id {
            return Err(SamError::UnknownCredential);
        }
        if let Err(e) = Self::check_usable(user, &cred) {
            if matches!(e, SamError::CredentialLocked) {
                telemetry::authorization_failure("credential_locked");
            }
            return Err(e);
        }
        let binding = Self::check_binding(&cred, req.num_signatures, req.hashes, req.hash_algo)?;
        self.check_factors(
            user,
            &cred,
            req.pin.as_deref().map(String::as_str),
            req.otp.as_deref().map(String::as_str),
            "credential.authorize",
        )
        .await?;
        let sad = secrets::random_secret()?;
        let expires_in = self.config.sad_lifetime.as_secs();
        self.insert_sad(
            user,
            &cred,
            &binding,
            secrets::secret_hash(&sad),
            expires_in,
            "credential.authorize",
            json!({ "description": req.description }),
        )
        .await?;
        Ok(IssuedSad { sad, expires_in })
    }

    /// Counts a failed factor check (and audits it under `event` with its reason); returns the
    /// error to show.
    async fn fail(
        &self,
        user: &User,
        cred: &Credential,
        event: &str,
        reason: &'static str,
        err: SamError,
    ) -> SamError {
        telemetry::authorization_failure(reason);
        let audit = NewAuditEvent::new(
            event,
            &user.username,
            Some(&cred.id),
            json!({ "result": "failure", "reason": reason }),
        );
        match self
            .store
            .record_authorization_failure(&cred.id, self.config.max_failures, audit)
            .await
        {
            Ok(_) => err,
            Err(e) => SamError::Store(e),
        }
    }

    /// credentials/extendTransaction: trades a live SAD for a new one with the same remaining
    /// count and a fresh lifetime, bound to the next batch's hashes (SCAL2).
    pub async fn extend_transaction(
        &self,
        user: &User,
        credential_id: &str,
        sad: &str,
        hashes: Option<Vec<Vec<u8>>>,
        hash_algo: Option<HashAlgorithm>,
    ) -> Result<IssuedSad, SamError> {
        let cred = self.owned_credential(user, credential_id).await?;
        Self::check_usable(user, &cred)?;
        let count = hashes.as_ref().map_or(1, |h| h.len() as u32);
        let new_algo = bound_hash_algorithm(count, hashes.as_deref(), hash_algo, cred.scal)?;
        let new_sad = secrets::random_secret()?;
        let expires_in = self.config.sad_lifetime.as_secs();
        let now = now_unix();
        let (user_id, cred_id, username) = (user.id, cred.id.clone(), user.username.clone());
        let hashes_for_closure = hashes.clone();
        let outcome = self
            .store
            .decide_sad(
                secrets::secret_hash(sad),
                Box::new(move |rec| {
                    let verdict = match rec {
                        None => Err(SadRefusal::Unknown),
                        Some(r) if r.user_id != user_id => Err(SadRefusal::Unknown),
                        Some(r) if r.credential_id != cred_id => Err(SadRefusal::WrongCredential),
                        Some(r) if r.expires_at <= now => Err(SadRefusal::Expired),
                        Some(r) => match &hashes_for_closure {
                            Some(h) if h.len() > r.remaining as usize => Err(SadRefusal::TooMany),
                            _ => Ok(()),
                        },
                    };
                    match verdict {
                        Ok(()) => SadDecision::Spend {
                            keep: None,
                            audit: NewAuditEvent::new(
                                "credential.extend",
                                &username,
                                Some(&cred_id),
                                json!({ "result": "success" }),
                            ),
                        },
                        Err(reason) => SadDecision::Refuse {
                            reason,
                            audit: Some(NewAuditEvent::new(
                                "credential.extend",
                                &username,
                                Some(&cred_id),
                                json!({ "result": "failure", "reason": refusal_code(reason) }),
                            )),
                        },
                    }
                }),
            )
            .await?;
        let old = match outcome {
            SadOutcome::Spent(old) => old,
            SadOutcome::Refused(r) => {
                telemetry::sad_refused(r, refusal_code(r));
                return Err(SamError::Sad(r));
            }
        };
        let record = SadRecord {
            sad_hash: secrets::secret_hash(&new_sad),
            user_id: user.id,
            credential_id: cred.id.clone(),
            hash_algo: new_algo.or(old.hash_algo),
            hashes: hashes.clone().or(old.hashes),
            remaining: old.remaining,
            expires_at: now + expires_in as i64,
        };
        let audit = NewAuditEvent::new(
            "credential.authorize",
            &user.username,
            Some(&cred.id),
            json!({
                "result": "success",
                "extended": true,
                "num_signatures": record.remaining,
                "hash_algorithm": record.hash_algo.map(HashAlgorithm::oid),
                "hashes": hashes.as_ref().map(|hs| hs.iter().map(|h| hex(h)).collect::<Vec<_>>()),
                "expires_in": expires_in,
            }),
        );
        self.store
            .record_authorization_success(record, audit)
            .await?;
        telemetry::sad_issued();
        Ok(IssuedSad {
            sad: new_sad,
            expires_in,
        })
    }

    /// Deletes what expired before `now` (SADs, tokens, flow records) and counts the SADs that
    /// expired unused. `signet serve` runs this every minute.
    pub async fn purge_expired(&self, now: i64) -> Result<Purged, StoreError> {
        let purged = self.store.purge_expired(now).await?;
        telemetry::sads_expired(purged.sads);
        Ok(purged)
    }

    /// signatures/signHash: spends the SAD, commits the audit record, then signs. `cred` is
    /// the credential [`Sam::signing_credential`] gave for this user.
    pub async fn sign_hashes(
        &self,
        user: &User,
        cred: &Credential,
        req: SignRequest,
    ) -> Result<Vec<Vec<u8>>, SamError> {
        self.check_signing_credential(user, cred)?;
        let mechanism = req.mechanism;
        if req.hashes.is_empty() {
            return Err(SamError::Request(RequestError::EmptyHashes));
        }
        let hash = mechanism.hash();
        if req.hashes.iter().any(|h| h.len() != hash.len()) {
            return Err(SamError::Request(RequestError::DigestLength));
        }
        let hashes = Arc::new(req.hashes);
        self.spend_and_sign(
            user,
            cred,
            &req.sad,
            mechanism,
            Spend {
                hash_algo: hash,
                presented: Arc::clone(&hashes),
                documents: false,
            },
            hashes,
        )
        .await
    }

    /// signatures/signDoc: the SAD (or credential token) binds the DOCUMENTS — the digest of
    /// each document as sent, or the digests the client gave — so it is spent against
    /// `document_digests` (computed with `document_hash`), one signature per document, with the
    /// same rule as [`Sam::sign_hashes`]; only then does the key module sign the DTBS/R
    /// digests the AdES engine derived from those documents (`dtbsr`, same order, made with
    /// `mechanism`'s hash). The audit record lists both.
    #[allow(clippy::too_many_arguments)] // each is one part of what the SAD must match
    pub async fn sign_documents(
        &self,
        user: &User,
        cred: &Credential,
        sad: &str,
        document_hash: HashAlgorithm,
        document_digests: Vec<Vec<u8>>,
        dtbsr: Vec<Vec<u8>>,
        mechanism: SignMechanism,
    ) -> Result<Vec<Vec<u8>>, SamError> {
        self.check_signing_credential(user, cred)?;
        if document_digests.is_empty() {
            return Err(SamError::Request(RequestError::NoDocument));
        }
        if document_digests.len() != dtbsr.len()
            || document_digests
                .iter()
                .any(|d| d.len() != document_hash.len())
            || dtbsr.iter().any(|d| d.len() != mechanism.hash().len())
        {
            return Err(SamError::Request(RequestError::DigestLength));
        }
        self.spend_and_sign(
            user,
            cred,
            sad,
            mechanism,
            Spend {
                hash_algo: document_hash,
                presented: Arc::new(document_digests),
                documents: true,
            },
            Arc::new(dtbsr),
        )
        .await
    }

    /// A credential the user owns, can use now, and whose key this node's key module holds.
    pub async fn signing_credential(
        &self,
        user: &User,
        credential_id: &str,
    ) -> Result<Credential, SamError> {
        let cred = self.owned_credential(user, credential_id).await?;
        self.check_signing_credential(user, &cred)?;
        Ok(cred)
    }

    /// What [`Sam::signing_credential`] checks, again at signing time on the credential it
    /// gave: the user's own, usable, and held by this node's key module.
    fn check_signing_credential(&self, user: &User, cred: &Credential) -> Result<(), SamError> {
        if cred.user_id != user.id {
            return Err(SamError::UnknownCredential);
        }
        Self::check_usable(user, cred)?;
        if cred.backend != self.keys.backend() {
            // A node configured with another key module cannot reach this key (scale-out with
            // mixed backends): say so instead of failing inside the key module.
            tracing::error!(credential = %cred.id, held_by = %cred.backend, node = self.keys.backend(), "credential key is in another key module");
            return Err(SamError::KeyUnavailable);
        }
        Ok(())
    }

    /// The part of signing shared by signHash and signDoc: spends the SAD against what was
    /// presented (with the `signature.create` audit row in the same transaction), then has the
    /// key module sign `digests`.
    async fn spend_and_sign(
        &self,
        user: &User,
        cred: &Credential,
        sad: &str,
        mechanism: SignMechanism,
        spend: Spend,
        digests: Arc<Vec<Vec<u8>>>,
    ) -> Result<Vec<Vec<u8>>, SamError> {
        let now = now_unix();
        let (user_id, username, cred_id) = (user.id, user.username.clone(), cred.id.clone());
        let to_sign = Arc::clone(&digests);
        let Spend {
            hash_algo,
            presented,
            documents,
        } = spend;
        let outcome = self
            .store
            .decide_sad(
                secrets::secret_hash(sad),
                Box::new(move |rec| {
                    let request = sad::SpendRequest {
                        user_id,
                        credential_id: &cred_id,
                        hash_algo,
                        hashes: &presented,
                        now,
                    };
                    match sad::judge(rec, &request) {
                        Ok(keep) => {
                            let mut fields = json!({
                                "algorithm": mechanism.name(),
                                "hash_algorithm": mechanism.hash().oid(),
                                "count": to_sign.len(),
                                "hashes": to_sign.iter().map(|h| hex(h)).collect::<Vec<_>>(),
                            });
                            if documents {
                                fields["document_hash_algorithm"] = json!(hash_algo.oid());
                                fields["documents"] =
                                    json!(presented.iter().map(|h| hex(h)).collect::<Vec<_>>());
                            }
                            SadDecision::Spend {
                                keep,
                                audit: NewAuditEvent::new(
                                    "signature.create",
                                    &username,
                                    Some(&cred_id),
                                    fields,
                                ),
                            }
                        }
                        Err(reason) => SadDecision::Refuse {
                            reason,
                            audit: Some(NewAuditEvent::new(
                                "signature.refused",
                                &username,
                                Some(&cred_id),
                                json!({ "reason": refusal_code(reason), "count": presented.len() }),
                            )),
                        },
                    }
                }),
            )
            .await?;
        if let SadOutcome::Refused(reason) = outcome {
            telemetry::sad_refused(reason, refusal_code(reason));
            return Err(SamError::Sad(reason));
        }
        telemetry::sad_spent();

        // The SAD is spent and the signature's audit record is committed: use the key.
        let keys = self.keys.clone();
        let key_ref = KeyRef(cred.key_ref.clone());
        let key_type = cred.key_type;
        let for_key = Arc::clone(&digests);
        let signed = self
            .signer
            .run(move || keys.sign_digests(&key_ref, key_type, mechanism, &for_key))
            .await?;
        match signed {
            Ok(values) => {
                telemetry::signatures(mechanism.name(), self.keys.backend(), values.len());
                Ok(values)
            }
            Err(e) => {
                tracing::error!(credential = %cred.id, error = %e, "key module failed after the SAD was spent");
                let audit = NewAuditEvent::new(
                    "signature.failed",
                    &user.username,
                    Some(&cred.id),
                    json!({ "algorithm": mechanism.name(), "count": digests.len(), "error": e.to_string() }),
                );
                self.store.append_audit(audit).await?;
                Err(match e {
                    KeyError::Unavailable(_) => SamError::KeyUnavailable,
                    _ => SamError::KeyFailure,
                })
            }
        }
    }
}

/// What a SAD is spent against: the digests presented (signHash: the hashes to sign; signDoc:
/// the document digests) and their algorithm.
struct Spend {
    hash_algo: HashAlgorithm,
    presented: Arc<Vec<Vec<u8>>>,
    /// The presented digests are of documents (audited as `documents`).
    documents: bool,
}

fn totp_context(username: &str) -> Vec<u8> {
    let mut ctx = b"signet-totp-v1\0".to_vec();
    ctx.extend_from_slice(username.as_bytes());
    ctx
}

/// The hash algorithm an authorization binds, checking the hashes it came with.
///
/// SCAL2 requires hashes (EN 419241-1: the SAD covers the exact DTBS/R). v1 clients send no
/// hash algorithm, so when absent it is inferred from the digest length, which is unambiguous
/// among SHA-256/384/512.
fn bound_hash_algorithm(
    num_signatures: u32,
    hashes: Option<&[Vec<u8>]>,
    hash_algo: Option<HashAlgorithm>,
    scal: u8,
) -> Result<Option<HashAlgorithm>, SamError> {
    let Some(hashes) = hashes else {
        if scal >= 2 {
            return Err(SamError::Request(RequestError::HashesRequired));
        }
        return Ok(hash_algo);
    };
    let Some(first) = hashes.first() else {
        return Err(SamError::Request(RequestError::EmptyHashes));
    };
    if hashes.len() != num_signatures as usize {
        return Err(SamError::Request(RequestError::HashCount));
    }
    let algo = match hash_algo {
        Some(a) => a,
        None => HashAlgorithm::ALL
            .into_iter()
            .find(|a| a.len() == first.len())
            .ok_or(SamError::Request(RequestError::DigestLength))?,
    };
    if hashes.iter().any(|h| h.len() != algo.len()) {
        return Err(SamError::Request(RequestError::DigestLength));
    }
    Ok(Some(algo))
}

/// Adds the members of `extra` (an object) to `fields` (an object); `null` members are skipped.
fn merge(fields: &mut serde_json::Value, extra: serde_json::Value) {
    if let (Some(out), serde_json::Value::Object(extra)) = (fields.as_object_mut(), extra) {
        for (k, v) in extra {
            if !v.is_null() {
                out.insert(k, v);
            }
        }
    }
}
