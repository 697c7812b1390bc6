//! A signer's credentials as every binding describes them: the record, its certificate's
//! summary and whether it can sign now. A user only ever sees their own credentials: another
//! user's credential ID is answered exactly as an unknown one.

use signet_pki::CertSummary;
use signet_sam::{SamError, now_unix};
use signet_store::{Credential, StoreError, User};

use crate::Service;

/// One credential and what its certificate says now.
#[derive(Debug, Clone)]
pub struct CredentialView {
    pub credential: Credential,
    /// The certificate's subject, issuer, serial and validity; `None` if it cannot be read.
    pub certificate: Option<CertSummary>,
    /// The certificate is within its validity period now.
    pub certificate_valid: bool,
}

impl CredentialView {
    fn of(credential: Credential, now: i64) -> Self {
        let certificate = signet_pki::summarize(&credential.certificate).ok();
        let certificate_valid = certificate
            .as_ref()
            .is_some_and(|s| s.not_before <= now && now <= s.not_after);
        Self {
            credential,
            certificate,
            certificate_valid,
        }
    }

    /// The key can be used now: the credential is neither disabled nor locked.
    pub fn key_enabled(&self) -> bool {
        !self.credential.disabled && !self.credential.locked
    }

    /// The key can be used and its certificate is valid (CSC `onlyValid`).
    pub fn usable(&self) -> bool {
        self.key_enabled() && self.certificate_valid
    }
}

impl Service {
    /// The user's credentials, oldest first; only the usable ones when `only_usable`.
    pub async fn credentials(
        &self,
        user: &User,
        only_usable: bool,
    ) -> Result<Vec<CredentialView>, StoreError> {
        let now = now_unix();
        Ok(self
            .store
            .credentials_of_user(user.id)
            .await?
            .into_iter()
            .map(|c| CredentialView::of(c, now))
            .filter(|v| !only_usable || v.usable())
            .collect())
    }

    /// One of the user's credentials; anyone else's is [`SamError::UnknownCredential`].
    pub async fn credential(&self, user: &User, id: &str) -> Result<CredentialView, SamError> {
        match self.store.credential(id).await? {
            Some(c) if c.user_id == user.id => Ok(CredentialView::of(c, now_unix())),
            _ => Err(SamError::UnknownCredential),
        }
    }
}
