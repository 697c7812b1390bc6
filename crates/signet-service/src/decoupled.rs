//! Decoupled (out-of-band) credential authorization: the signer approves on another device.
//!
//! For a credential created with `--auth oob`, an authorization request records what the client
//! wants signed and gives the client a handle. The signer, signed in on Signet's approval page
//! (on their phone), sees the request and approves it with PIN and TOTP — verified by the SAM,
//! which seals the approval into the request — or denies it. The client polls with the handle:
//! pending, then the SAD exactly once after approval, an error after denial or expiry.
//!
//! A request moves Pending → Approved → Collected, or Pending → Denied, or Pending/Approved →
//! Expired, each step a compare-and-swap in the store. The SAD is created when the client
//! collects it (Approved → Collected), against the SAM's seal of the approval, so no SAD ever
//! waits in the database in a form that could be handed out twice, and no approval written
//! by anyone but the SAM yields one. CSC (202 + `handle` + authorizeCheck) and the approval
//! pages are bindings of this.

use std::time::Duration;

use serde_json::json;
use signet_sam::{SamError, now_unix, secrets};
use signet_store::{CredentialBinding, NewAuditEvent, OobRequest, OobStatus, StoreError, User};
use zeroize::Zeroizing;

use crate::Service;

/// What polling has to say.
#[derive(Debug)]
pub enum Check {
    /// The signer has not decided yet.
    Pending,
    /// Approved: the SAD, handed out now and never again.
    Authorized {
        sad: Zeroizing<String>,
        expires_in: u64,
    },
}

/// The signer's answer on the approval page.
#[derive(Debug)]
pub enum Decision<'a> {
    Approve { pin: &'a str, otp: Option<&'a str> },
    Deny,
}

/// Why a decoupled authorization step failed.
#[derive(Debug, thiserror::Error)]
pub enum DecoupledError {
    /// No request of this user has that handle.
    #[error("unknown handle")]
    UnknownHandle,
    #[error("the authorization request expired before the signer approved it")]
    Expired,
    #[error("the SAD of this request was already handed out")]
    AlreadyCollected,
    #[error("the signer denied the authorization request")]
    Denied,
    /// The request is no longer waiting for the signer's decision.
    #[error("the request is no longer waiting for approval")]
    NotPending,
    /// The signer's factors were refused (the approval page shows why).
    #[error("approval refused: {0}")]
    Refused(SamError),
    /// The SAM would not issue the SAD.
    #[error(transparent)]
    Sam(SamError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

impl Service {
    /// Records a new request waiting for the signer, for `lifetime`; returns the handle the
    /// client polls with.
    pub async fn request_decoupled(
        &self,
        user: &User,
        binding: CredentialBinding,
        description: Option<String>,
        lifetime: Duration,
    ) -> Result<Zeroizing<String>, DecoupledError> {
        let handle = secrets::random_secret().map_err(DecoupledError::Sam)?;
        let id = secrets::random_id().map_err(DecoupledError::Sam)?;
        let now = now_unix();
        let lifetime = lifetime.as_secs() as i64;
        let audit = NewAuditEvent::new(
            "oob.request",
            &user.username,
            Some(&binding.credential_id),
            json!({
                "request": id,
                "num_signatures": binding.num_signatures,
                "hash_algorithm": binding.hash_algo.map(|h| h.oid()),
                "hashes": binding.hashes.as_ref().map(|hs| hs.iter().map(|h| hex(h)).collect::<Vec<_>>()),
                "description": description,
                "expires_in": lifetime,
            }),
        );
        let record = OobRequest {
            id,
            handle_hash: secrets::secret_hash(&handle),
            user_id: user.id,
            binding,
            description,
            status: OobStatus::Pending,
            created_at: now,
            expires_at: now + lifetime,
        };
        self.store.insert_oob(record, audit).await?;
        Ok(handle)
    }

    /// Polls the request behind `handle`: pending, or the SAD (once).
    pub async fn check_decoupled(
        &self,
        user: &User,
        handle: &str,
    ) -> Result<Check, DecoupledError> {
        let record = self
            .store
            .oob_by_handle(&secrets::secret_hash(handle))
            .await?;
        let Some(record) = record.filter(|r| r.user_id == user.id) else {
            return Err(DecoupledError::UnknownHandle);
        };
        let now = now_unix();
        let audit = |kind: &str, detail| {
            Some(NewAuditEvent::new(
                kind,
                &user.username,
                Some(&record.binding.credential_id),
                detail,
            ))
        };
        match record.status {
            OobStatus::Pending | OobStatus::Approved { .. } if now >= record.expires_at => {
                self.store
                    .set_oob_status(
                        &record.id,
                        record.status,
                        OobStatus::Expired,
                        audit("oob.expire", json!({ "request": record.id })),
                    )
                    .await?;
                Err(DecoupledError::Expired)
            }
            OobStatus::Pending => Ok(Check::Pending),
            OobStatus::Approved { approval } => {
                let proof = self
                    .sam
                    .sealed_approval(
                        user,
                        record.id.as_bytes(),
                        &record.binding,
                        approval.as_ref(),
                    )
                    .map_err(DecoupledError::Sam)?;
                let sad = secrets::random_secret().map_err(DecoupledError::Sam)?;
                let sad_hash = secrets::secret_hash(&sad);
                let moved = self
                    .store
                    .set_oob_status(
                        &record.id,
                        record.status,
                        OobStatus::Collected { sad_hash },
                        audit("oob.collect", json!({ "request": record.id })),
                    )
                    .await?;
                if !moved {
                    return Err(DecoupledError::AlreadyCollected);
                }
                let expires_in = self
                    .sam
                    .issue_sad(
                        proof,
                        user,
                        &record.binding,
                        sad_hash,
                        None,
                        "credential.authorize",
                        json!({ "via": "oob", "request": record.id, "description": record.description }),
                    )
                    .await
                    .map_err(DecoupledError::Sam)?;
                Ok(Check::Authorized { sad, expires_in })
            }
            OobStatus::Denied => Err(DecoupledError::Denied),
            OobStatus::Expired => Err(DecoupledError::Expired),
            OobStatus::Collected { .. } => Err(DecoupledError::AlreadyCollected),
        }
    }

    /// A pending request of `user`, by its public ID.
    pub async fn pending_decoupled(
        &self,
        user: &User,
        id: &str,
    ) -> Result<OobRequest, DecoupledError> {
        match self.store.oob_by_id(id).await? {
            Some(r)
                if r.user_id == user.id
                    && r.status == OobStatus::Pending
                    && now_unix() < r.expires_at =>
            {
                Ok(r)
            }
            _ => Err(DecoupledError::NotPending),
        }
    }

    /// Applies the signer's decision on request `id`. Approval needs the factors, verified by
    /// the SAM, which seals the approval into the request.
    pub async fn decide_decoupled(
        &self,
        user: &User,
        id: &str,
        decision: Decision<'_>,
    ) -> Result<(), DecoupledError> {
        let record = self.pending_decoupled(user, id).await?;
        let cred_id = record.binding.credential_id.clone();
        let (to, audit) = match decision {
            Decision::Approve { pin, otp } => {
                let proof = self
                    .sam
                    .verify_factors(
                        user,
                        &cred_id,
                        Some(pin),
                        otp,
                        "oob.approve",
                        json!({ "request": record.id }),
                    )
                    .await
                    .map_err(DecoupledError::Refused)?;
                let approval = self
                    .sam
                    .seal_approval(&proof, record.id.as_bytes(), &record.binding)
                    .map_err(DecoupledError::Refused)?;
                (
                    OobStatus::Approved {
                        approval: Some(approval),
                    },
                    None,
                )
            }
            Decision::Deny => (
                OobStatus::Denied,
                Some(NewAuditEvent::new(
                    "oob.deny",
                    &user.username,
                    Some(&cred_id),
                    json!({ "request": record.id }),
                )),
            ),
        };
        if self
            .store
            .set_oob_status(&record.id, OobStatus::Pending, to, audit)
            .await?
        {
            Ok(())
        } else {
            Err(DecoupledError::NotPending)
        }
    }
}
