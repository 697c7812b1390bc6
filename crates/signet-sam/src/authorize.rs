//! Credential authorization: the signer's factors, the proof of their verification, and the
//! SADs issued against it (credentials/authorize, extendTransaction, the consent and approval
//! pages through the service layer).

use std::time::Duration;

use serde_json::json;
use signet_core::HashAlgorithm;
use signet_core::Untrusted;
use signet_store::{
    Credential, CredentialBinding, NewAuditEvent, SadDecision, SadOutcome, SadRecord, SecretHash,
    User,
};

use crate::error::refusal_code;
use crate::sad::{ExtendRequest, judge_extension};
use crate::{
    AuthorizeRequest, Factor, IssuedSad, RequestError, Sam, SamError, VerifiedFactors, hex,
    now_unix, secrets, telemetry, totp,
};

impl Sam {
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
                tracing::error!(credential = %Untrusted(&binding.credential_id), "approval without a valid SAM seal refused");
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
                Some(step) => Some(self.store.accept_totp_step(user.id, step).await?),
                None => None,
            };
            match otp_verdict(accepted) {
                OtpVerdict::Accepted => {}
                OtpVerdict::Wrong => {
                    return Err(self
                        .fail(user, cred, event, "invalid_otp", SamError::InvalidOtp)
                        .await);
                }
                OtpVerdict::Replayed => return Err(self.replayed(user, cred, event).await),
            }
        }
        Ok(())
    }

    /// A code that matches the signer's secret but whose time step was already accepted: a
    /// retry, a second tab, a replay of a code seen once. It proves possession of the
    /// authenticator, not a guess, so it does not count towards the lock-out (counting it let
    /// a retrying client lock its own signer out); it is refused and audited all the same.
    async fn replayed(&self, user: &User, cred: &Credential, event: &str) -> SamError {
        telemetry::authorization_failure("otp_reused");
        let audit = NewAuditEvent::new(
            event,
            &user.username,
            Some(&cred.id),
            json!({ "result": "failure", "reason": "otp_reused", "counted": false }),
        );
        match self.store.append_audit(audit).await {
            Ok(_) => SamError::OtpReplayed,
            Err(e) => SamError::Store(e),
        }
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
    /// count and a fresh lifetime, for the next batch's hashes ([`judge_extension`]: bound to
    /// the hashes the signer authorized, unless the operator allows rebinding).
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
        let cred_id_audit = cred.id.clone();
        let rebind = self.config.extend_rebinds_hashes;
        let hashes_for_closure = hashes.clone();
        let judged = move |rec: Option<&SadRecord>| {
            judge_extension(
                rec,
                &ExtendRequest {
                    user_id,
                    credential_id: &cred_id,
                    hashes: hashes_for_closure.as_deref(),
                    hash_algo: new_algo,
                    now,
                },
                rebind,
            )
        };
        let decide = judged.clone();
        let outcome = self
            .store
            .decide_sad(
                secrets::secret_hash(sad),
                Box::new(move |rec| match decide(rec) {
                    Ok(_) => SadDecision::Spend {
                        keep: None,
                        audit: NewAuditEvent::new(
                            "credential.extend",
                            &username,
                            Some(&cred_id_audit),
                            json!({ "result": "success" }),
                        ),
                    },
                    Err(reason) => SadDecision::Refuse {
                        reason,
                        audit: Some(NewAuditEvent::new(
                            "credential.extend",
                            &username,
                            Some(&cred_id_audit),
                            json!({ "result": "failure", "reason": refusal_code(reason) }),
                        )),
                    },
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
        // The same judgement the store's transaction just made on this record.
        let next = judged(Some(&old)).map_err(SamError::Sad)?;
        let record = SadRecord {
            sad_hash: secrets::secret_hash(&new_sad),
            expires_at: now + expires_in as i64,
            ..next
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
}

/// What a presented TOTP code amounts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OtpVerdict {
    /// Matches a step not used before: accepted (and that step is now spent).
    Accepted,
    /// Matches no step in the window: a guess, counted towards the lock-out.
    Wrong,
    /// Matches a step already spent: possession shown, not counted.
    Replayed,
}

/// `accepted`: `None` when the code matches no step in the window, else whether the store
/// accepted its step (false: that step, or a later one, was used already).
fn otp_verdict(accepted: Option<bool>) -> OtpVerdict {
    match accepted {
        None => OtpVerdict::Wrong,
        Some(true) => OtpVerdict::Accepted,
        Some(false) => OtpVerdict::Replayed,
    }
}

/// The hash algorithm an authorization binds, checking the hashes it came with.
///
/// SCAL2 requires hashes (EN 419241-1: the SAD covers the exact DTBS/R). v1 clients send no
/// hash algorithm, so when absent it is inferred from the digest length, which is unambiguous
/// among SHA-256/384/512.
pub(crate) fn bound_hash_algorithm(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_codes_matching_no_step_are_counted_as_wrong() {
        assert_eq!(otp_verdict(None), OtpVerdict::Wrong);
        assert_eq!(otp_verdict(Some(true)), OtpVerdict::Accepted);
        assert_eq!(otp_verdict(Some(false)), OtpVerdict::Replayed);
    }
}
