//! Decoupled (out-of-band) credential authorization: CSC v2 asynchronous credentials/authorize.
//!
//! For a credential created with `--auth oob`, credentials/authorize records what the client
//! wants signed and answers 202 with a `handle`. The signer, signed in on Signet's approval page
//! (on their phone), sees the request and approves it with PIN and TOTP — verified by the SAM —
//! or denies it. The client polls credentials/authorizeCheck: 202 while pending, the SAD exactly
//! once after approval, an error after denial or expiry.
//!
//! A request moves Pending → Approved → Collected, or Pending → Denied, or Pending/Approved →
//! Expired, each step a compare-and-swap in the store. The SAD is created when the client
//! collects it (Approved → Collected), so no SAD ever waits in the database in a form that could
//! be handed out twice.

use axum::http::StatusCode;
use serde_json::json;
use signet_sam::{now_unix, secrets};
use signet_store::{CredentialBinding, NewAuditEvent, OobRequest, OobStatus, User};
use zeroize::Zeroizing;

use crate::AppState;
use crate::error::{ApiError, ApiResult};

/// What authorizeCheck has to say.
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Records a new request waiting for the signer; returns the handle the client polls with.
pub async fn request(
    state: &AppState,
    user: &User,
    binding: CredentialBinding,
    description: Option<String>,
) -> ApiResult<Zeroizing<String>> {
    let handle = secrets::random_secret().map_err(|_| ApiError::internal())?;
    let id = secrets::random_id().map_err(|_| ApiError::internal())?;
    let now = now_unix();
    let lifetime = state.config.oauth2.oob_lifetime.as_secs() as i64;
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
    state.store.insert_oob(record, audit).await?;
    Ok(handle)
}

fn expired() -> ApiError {
    ApiError::invalid_request("The authorization request expired before the signer approved it")
}

/// credentials/authorizeCheck for `handle`.
pub async fn check(state: &AppState, user: &User, handle: &str) -> ApiResult<Check> {
    let record = state
        .store
        .oob_by_handle(&secrets::secret_hash(handle))
        .await?;
    let Some(record) = record.filter(|r| r.user_id == user.id) else {
        return Err(ApiError::invalid_param("handle"));
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
        OobStatus::Pending | OobStatus::Approved if now >= record.expires_at => {
            state
                .store
                .set_oob_status(
                    &record.id,
                    record.status,
                    OobStatus::Expired,
                    audit("oob.expire", json!({ "request": record.id })),
                )
                .await?;
            Err(expired())
        }
        OobStatus::Pending => Ok(Check::Pending),
        OobStatus::Approved => {
            let sad = secrets::random_secret().map_err(|_| ApiError::internal())?;
            let sad_hash = secrets::secret_hash(&sad);
            let collected = OobStatus::Collected { sad_hash };
            let moved = state
                .store
                .set_oob_status(
                    &record.id,
                    OobStatus::Approved,
                    collected,
                    audit("oob.collect", json!({ "request": record.id })),
                )
                .await?;
            if !moved {
                return Err(ApiError::invalid_request(
                    "The SAD of this request was already handed out",
                ));
            }
            let expires_in = state
                .sam
                .issue_sad(
                    user,
                    &record.binding,
                    sad_hash,
                    None,
                    "credential.authorize",
                    json!({ "via": "oob", "request": record.id, "description": record.description }),
                )
                .await
                .map_err(|e| ApiError::from_sam(e, crate::csc::Version::V2))?;
            Ok(Check::Authorized { sad, expires_in })
        }
        OobStatus::Denied => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "access_denied",
            "The signer denied the authorization request",
        )),
        OobStatus::Expired => Err(expired()),
        OobStatus::Collected { .. } => Err(ApiError::invalid_request(
            "The SAD of this request was already handed out",
        )),
    }
}

/// The signer's answer on the approval page.
#[derive(Debug)]
pub enum Decision<'a> {
    Approve { pin: &'a str, otp: Option<&'a str> },
    Deny,
}

/// Why a decision could not be applied (shown on the approval page).
#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    #[error("This request is no longer waiting for approval")]
    NotPending,
    #[error("{0}")]
    Refused(String),
    #[error("{}", .0.description)]
    Api(ApiError),
}

impl From<ApiError> for DecisionError {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

impl From<signet_store::StoreError> for DecisionError {
    fn from(e: signet_store::StoreError) -> Self {
        Self::Api(e.into())
    }
}

/// A pending request of `user`, by its public ID.
pub async fn pending(state: &AppState, user: &User, id: &str) -> Result<OobRequest, DecisionError> {
    match state.store.oob_by_id(id).await? {
        Some(r)
            if r.user_id == user.id
                && r.status == OobStatus::Pending
                && now_unix() < r.expires_at =>
        {
            Ok(r)
        }
        _ => Err(DecisionError::NotPending),
    }
}

/// Applies the signer's decision on request `id`. Approval needs the factors (SAM).
pub async fn decide(
    state: &AppState,
    user: &User,
    id: &str,
    decision: Decision<'_>,
) -> Result<(), DecisionError> {
    let record = pending(state, user, id).await?;
    let cred_id = record.binding.credential_id.clone();
    let (to, audit) = match decision {
        Decision::Approve { pin, otp } => {
            state
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
                .map_err(|e| DecisionError::Refused(signet_service::describe(&e).into_owned()))?;
            (OobStatus::Approved, None)
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
    if state
        .store
        .set_oob_status(&record.id, OobStatus::Pending, to, audit)
        .await?
    {
        Ok(())
    } else {
        Err(DecisionError::NotPending)
    }
}
