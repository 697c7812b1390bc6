//! Credential authorization (TS 119 432 credential authorization; EN 419241-1 sole control):
//! the three ways a signer authorizes a credential, each ending in a SAD that the SAM issues
//! against a proof that it verified the signer's factors.
//! - Explicit: the client sends the factors (CSC credentials/authorize with PIN/OTP).
//! - OAuth2 consent: the signer enters them on Signet's consent page; the SAM seals the approval
//!   into the authorization code, and the SAD — the credential-scoped access token — is issued
//!   against that seal at the token endpoint ([`Service::redeem_consent`]).
//! - Decoupled approval: see [`crate::decoupled`].

use std::time::Duration;

use serde_json::json;
use signet_sam::{AuthorizeRequest, IssuedSad, SamError};
use signet_store::{Credential, CredentialBinding, SecretHash, User};

use crate::Service;

impl Service {
    /// Explicit authorization: verifies the factors in `req` and issues a SAD for `cred`
    /// (which the caller loaded to look at its authorization mode; the SAM checks ownership
    /// and usability again).
    pub async fn authorize_explicit(
        &self,
        user: &User,
        cred: Credential,
        req: AuthorizeRequest,
    ) -> Result<IssuedSad, SamError> {
        self.sam.authorize_credential(user, cred, req).await
    }

    /// OAuth2 consent, at the token endpoint: issues the SAD under `token_hash` (the hash of
    /// the access token handed out) for the approved `binding`, only if `approval` is the
    /// SAM's seal of the signer's approval into the code `code_hash`. Returns its lifetime.
    #[allow(clippy::too_many_arguments)] // each is one part of what the SAD binds or records
    pub async fn redeem_consent(
        &self,
        user: &User,
        code_hash: &SecretHash,
        binding: &CredentialBinding,
        approval: Option<&SecretHash>,
        token_hash: SecretHash,
        lifetime: Duration,
        client_id: &str,
    ) -> Result<u64, SamError> {
        let proof = self
            .sam
            .sealed_approval(user, code_hash, binding, approval)?;
        self.sam
            .issue_sad(
                proof,
                user,
                binding,
                token_hash,
                Some(lifetime),
                "credential.authorize",
                json!({ "via": "oauth2", "client_id": client_id }),
            )
            .await
    }
}
