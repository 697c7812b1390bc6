//! Operator actions: enrol users, issue credentials, disable/enable/unlock, revoke, OAuth2
//! clients.
//!
//! These run from the `signet admin` command line against the same store as the server. Key
//! generation happens inside the key module; the certificate comes from the embedded CA; every
//! action is audited with actor `admin`. No admin operation can create a signature with a
//! signer's key — only the SAM can.

use std::sync::Arc;

use serde_json::json;
use signet_core::KeyType;
use signet_keys::{KeyProvisioning, KeyRef, ServiceKeys};
use signet_pki::{EmbeddedCa, SubjectName};
use signet_sam::{Sam, now_unix, secrets, totp};
use signet_store::{
    AuthMode, Credential, NewAuditEvent, NewUser, OAuthClient, Store, StoreError, User,
};
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    // Transparent: `#[from]` makes the inner error the source, and `{0}` would then be printed
    // twice by error-chain printers (`signet: user bob already exists: user bob already exists`).
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] signet_keys::KeyError),
    #[error(transparent)]
    Pki(#[from] signet_pki::PkiError),
    #[error(transparent)]
    Sam(#[from] signet_sam::SamError),
}

impl From<crate::bootstrap::BootstrapError> for AdminError {
    fn from(e: crate::bootstrap::BootstrapError) -> Self {
        use crate::bootstrap::BootstrapError as B;
        match e {
            B::Store(e) => Self::Store(e),
            B::Key(e) => Self::Key(e),
            B::Pki(e) => Self::Pki(e),
            B::Internal(text) => Self::Invalid(text),
        }
    }
}

const ADMIN: &str = "admin";

/// CRLReason names (RFC 5280 §5.3.1) for `admin credential revoke --reason`.
pub const REVOCATION_REASONS: &[(&str, u8)] = &[
    ("unspecified", 0),
    ("keyCompromise", 1),
    ("affiliationChanged", 3),
    ("superseded", 4),
    ("cessationOfOperation", 5),
    ("privilegeWithdrawn", 9),
];

/// The CRLReason code for a name of [`REVOCATION_REASONS`] (case-insensitive).
pub fn parse_reason(name: &str) -> Option<u8> {
    REVOCATION_REASONS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, code)| *code)
}

fn reason_name(code: u8) -> String {
    REVOCATION_REASONS
        .iter()
        .find(|(_, c)| *c == code)
        .map_or_else(|| code.to_string(), |(n, _)| (*n).to_owned())
}

/// What a new credential looks like.
#[derive(Debug)]
pub struct CredentialSpec {
    pub username: String,
    pub key_type: KeyType,
    pub scal: u8,
    pub multisign: u32,
    pub pin: Zeroizing<String>,
    pub description: Option<String>,
}

/// What a new OAuth2 client looks like.
#[derive(Debug, Clone)]
pub struct ClientSpec {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub confidential: bool,
    /// The user a `client_credentials` token or a mutual-TLS request acts for (e-seal clients).
    pub username: Option<String>,
    /// SHA-256 of the client's TLS certificate (DER): requests over mutual TLS with it and no
    /// Bearer token act for `username`.
    pub tls_certificate_sha256: Option<[u8; 32]>,
}

/// A registered client and its secret (confidential clients; shown once).
pub struct NewClient {
    pub client: OAuthClient,
    pub secret: Option<Zeroizing<String>>,
}

/// A newly enrolled user and their TOTP secret (shown once, to be put in an authenticator).
pub struct EnrolledUser {
    pub user: User,
    pub totp_secret: Zeroizing<Vec<u8>>,
}

/// Everything admin operations need.
pub struct Admin {
    pub store: Arc<dyn Store>,
    /// Creates and destroys signer keys; cannot sign.
    pub keys: KeyProvisioning,
    /// The CA key, to certify new signer keys.
    pub service_keys: ServiceKeys,
    pub sam: Arc<Sam>,
    pub ca: EmbeddedCa,
    pub signer_validity_days: u32,
    pub organization: Option<String>,
}

/// Whether a redirect URI may be registered: absolute, no fragment, and `https`, `http` on a
/// loopback host (RFC 8252 §7.3), or a private-use scheme with a dot (RFC 8252 §7.1).
pub fn acceptable_redirect_uri(uri: &str) -> Result<(), String> {
    let url = url::Url::parse(uri).map_err(|e| format!("{uri}: not an absolute URI ({e})"))?;
    if url.fragment().is_some() {
        return Err(format!("{uri}: a redirect URI must not have a fragment"));
    }
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err(format!(
            "{uri}: http is only allowed for loopback redirect URIs; use https"
        )),
        s if s.contains('.') => Ok(()),
        _ => Err(format!(
            "{uri}: use https, http on loopback, or a private-use scheme like com.example.app"
        )),
    }
}

/// Usernames appear in certificate subjects, audit rows and URLs: keep them plain.
pub fn validate_username(name: &str) -> Result<(), AdminError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "._@+-".contains(c);
    if name.is_empty() || name.len() > 64 || !name.chars().all(ok_char) {
        return Err(AdminError::Invalid(
            "username must be 1-64 characters of letters, digits and . _ @ + -".into(),
        ));
    }
    Ok(())
}

fn validate_secret(what: &str, value: &str, min: usize, max: usize) -> Result<(), AdminError> {
    let n = value.chars().count();
    if n < min || n > max || value.chars().any(char::is_control) {
        return Err(AdminError::Invalid(format!(
            "{what} must be {min}-{max} printable characters"
        )));
    }
    Ok(())
}

impl Admin {
    /// Enrols a user with a password and a TOTP secret (given, or generated).
    pub async fn add_user(
        &self,
        username: &str,
        password: &str,
        totp_secret: Option<Vec<u8>>,
    ) -> Result<EnrolledUser, AdminError> {
        validate_username(username)?;
        validate_secret("the password", password, 8, 1024)?;
        let secret = Zeroizing::new(match totp_secret {
            Some(s) => s,
            None => secrets::random_bytes(totp::SECRET_LEN)?,
        });
        let pw = Zeroizing::new(password.to_owned());
        let password_hash = tokio::task::spawn_blocking(move || secrets::hash_password(&pw))
            .await
            .map_err(|e| AdminError::Invalid(format!("hashing task failed: {e}")))??;
        let sealed = self.sam.seal_totp_secret(username, &secret)?;
        let user = self
            .store
            .create_user(
                NewUser {
                    username: username.to_owned(),
                    password_hash,
                    totp_secret_sealed: sealed,
                },
                NewAuditEvent::new("user.create", ADMIN, None, json!({ "username": username })),
            )
            .await?;
        Ok(EnrolledUser {
            user,
            totp_secret: secret,
        })
    }

    /// Generates a key in the key module, has the CA certify it and stores the credential
    /// (authorized explicitly: factors sent to credentials/authorize).
    pub async fn create_credential(&self, spec: CredentialSpec) -> Result<Credential, AdminError> {
        self.create_credential_with_mode(spec, AuthMode::Explicit)
            .await
    }

    /// [`Admin::create_credential`] with the way the credential is authorized: `explicit`,
    /// `oauth2code` (only through the OAuth2 consent page) or `oob` (approved on Signet's
    /// approval page after credentials/authorize answered 202).
    pub async fn create_credential_with_mode(
        &self,
        spec: CredentialSpec,
        auth_mode: AuthMode,
    ) -> Result<Credential, AdminError> {
        if !(1..=2).contains(&spec.scal) {
            return Err(AdminError::Invalid("--scal must be 1 or 2".into()));
        }
        if spec.multisign == 0 || spec.multisign > 10_000 {
            return Err(AdminError::Invalid(
                "--multisign must be between 1 and 10000".into(),
            ));
        }
        validate_secret("the PIN", &spec.pin, 4, 64)?;
        let user = self
            .store
            .user_by_name(&spec.username)
            .await?
            .ok_or_else(|| AdminError::Invalid(format!("no user named {}", spec.username)))?;
        let id = secrets::random_id()?;
        let keys = self.keys.clone();
        let (key_type, label) = (spec.key_type, id.clone());
        let generated =
            tokio::task::spawn_blocking(move || keys.generate_signer_key(key_type, &label))
                .await
                .map_err(|e| AdminError::Invalid(format!("key generation task failed: {e}")))??;
        self.store
            .append_audit(NewAuditEvent::new(
                "key.generate",
                ADMIN,
                Some(&id),
                json!({ "key_type": key_type.name(), "backend": self.keys.backend() }),
            ))
            .await?;
        let subject = SubjectName {
            common_name: user.username.clone(),
            organization: self.organization.clone(),
            country: None,
        };
        let keys = self.service_keys.clone();
        let ca = self.ca.clone();
        let spki = generated.public_key_der.clone();
        let days = self.signer_validity_days;
        let certificate = tokio::task::spawn_blocking(move || {
            ca.issue_signer_certificate(&keys, &subject, &spki, days)
        })
        .await
        .map_err(|e| AdminError::Invalid(format!("certificate task failed: {e}")))??;
        // Issued before it is stored or handed out (OCSP never says "unknown" about it).
        let serial = signet_pki::certificate_serial(&certificate)?;
        self.store
            .record_issued_certificate(&serial, "signer", now_unix())
            .await?;
        let credential = Credential {
            pin_hash: self.sam.pin_reference(&id, &spec.pin),
            id: id.clone(),
            user_id: user.id,
            key_type,
            backend: self.keys.backend().to_owned(),
            key_ref: generated.key_ref.0,
            public_key: generated.public_key_der,
            certificate,
            chain: vec![self.ca.certificate.clone()],
            scal: spec.scal,
            multisign: spec.multisign,
            auth_mode,
            description: spec.description.clone(),
            disabled: false,
            failed_attempts: 0,
            locked: false,
            created_at: now_unix(),
        };
        self.store
            .create_credential(
                credential.clone(),
                NewAuditEvent::new(
                    "credential.create",
                    ADMIN,
                    Some(&id),
                    json!({
                        "username": user.username,
                        "key_type": key_type.name(),
                        "scal": spec.scal,
                        "multisign": spec.multisign,
                        "auth_mode": auth_mode.as_str(),
                        "backend": self.keys.backend(),
                    }),
                ),
            )
            .await?;
        Ok(credential)
    }

    /// Registers an OAuth2 client. A confidential client gets a 256-bit secret, shown once and
    /// stored only as its SHA-256; `username` binds it to a user for `client_credentials`
    /// (e-seal clients), which requires a confidential client, or for mutual TLS, which
    /// requires a TLS certificate.
    pub async fn add_client(&self, spec: ClientSpec) -> Result<NewClient, AdminError> {
        let name = spec.name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(AdminError::Invalid(
                "the client name must be 1-100 printable characters".into(),
            ));
        }
        for uri in &spec.redirect_uris {
            acceptable_redirect_uri(uri).map_err(AdminError::Invalid)?;
        }
        if spec.redirect_uris.is_empty() && spec.username.is_none() {
            return Err(AdminError::Invalid(
                "give at least one --redirect-uri (or --user for a client_credentials or TLS client)"
                    .into(),
            ));
        }
        if spec.username.is_some() && !spec.confidential && spec.tls_certificate_sha256.is_none() {
            return Err(AdminError::Invalid(
                "--user needs a --confidential client (client_credentials) or --tls-certificate (mutual TLS)"
                    .into(),
            ));
        }
        if spec.tls_certificate_sha256.is_some() && spec.username.is_none() {
            return Err(AdminError::Invalid(
                "--tls-certificate needs --user: the user the certificate acts for".into(),
            ));
        }
        let user_id = match &spec.username {
            None => None,
            Some(u) => Some(
                self.store
                    .user_by_name(u)
                    .await?
                    .ok_or_else(|| AdminError::Invalid(format!("no user named {u}")))?
                    .id,
            ),
        };
        let client_id = secrets::random_id()?;
        let secret = if spec.confidential {
            Some(secrets::random_secret()?)
        } else {
            None
        };
        let client = OAuthClient {
            client_id: client_id.clone(),
            name: name.to_owned(),
            secret_hash: secret.as_ref().map(|s| secrets::secret_hash(s)),
            redirect_uris: spec.redirect_uris.clone(),
            user_id,
            tls_certificate_sha256: spec.tls_certificate_sha256,
            created_at: now_unix(),
        };
        self.store
            .create_client(
                client.clone(),
                NewAuditEvent::new(
                    "oauth2.client.create",
                    ADMIN,
                    None,
                    json!({
                        "client_id": client_id,
                        "name": name,
                        "redirect_uris": spec.redirect_uris,
                        "confidential": spec.confidential,
                        "username": spec.username,
                        "tls_certificate_sha256": spec
                            .tls_certificate_sha256
                            .map(|h| data_encoding::HEXLOWER.encode(&h)),
                    }),
                ),
            )
            .await?;
        Ok(NewClient { client, secret })
    }

    /// Revokes the credential's certificate (RFC 5280 §5.3.1 `reason`, e.g. 1 keyCompromise;
    /// `None` = unspecified): recorded for the CRL and the OCSP responder, the credential
    /// disabled for good, audited as `credential.revoke` — all in one transaction.
    pub async fn revoke_credential(&self, id: &str, reason: Option<u8>) -> Result<(), AdminError> {
        if let Some(code) = reason
            && !matches!(code, 0..=6 | 8..=10)
        {
            return Err(AdminError::Invalid(format!(
                "{code} is not a CRLReason code"
            )));
        }
        let cred = self
            .store
            .credential(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("credential {id}")))?;
        let serial = signet_pki::certificate_serial(&cred.certificate)?;
        let serial_hex = data_encoding::HEXUPPER.encode(&serial);
        let revocation = signet_store::Revocation {
            serial,
            credential_id: id.to_owned(),
            revoked_at: now_unix(),
            reason,
        };
        self.store
            .revoke_certificate(
                revocation,
                NewAuditEvent::new(
                    "credential.revoke",
                    ADMIN,
                    Some(id),
                    json!({ "serial": serial_hex, "reason": reason.map(reason_name) }),
                ),
            )
            .await?;
        Ok(())
    }

    pub async fn set_credential_disabled(
        &self,
        id: &str,
        disabled: bool,
    ) -> Result<(), AdminError> {
        if !disabled
            && let Some(cred) = self.store.credential(id).await?
            && self
                .store
                .revocation(&signet_pki::certificate_serial(&cred.certificate)?)
                .await?
                .is_some()
        {
            return Err(AdminError::Invalid(format!(
                "credential {id} cannot be enabled: its certificate is revoked"
            )));
        }
        let kind = if disabled {
            "credential.disable"
        } else {
            "credential.enable"
        };
        self.store
            .set_credential_disabled(
                id,
                disabled,
                NewAuditEvent::new(kind, ADMIN, Some(id), json!({})),
            )
            .await?;
        Ok(())
    }

    /// Destroys the credential's key in the key module, then deletes the credential and its SADs.
    ///
    /// Order matters: the credential is disabled first, so a failure to destroy the key leaves
    /// a disabled credential the operator can delete again, never a usable one without a key.
    pub async fn delete_credential(&self, id: &str) -> Result<(), AdminError> {
        let cred = self
            .store
            .credential(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("credential {id}")))?;
        if cred.backend != self.keys.backend() {
            return Err(AdminError::Invalid(format!(
                "credential {id} is held by the {} key module but this node runs {}",
                cred.backend,
                self.keys.backend()
            )));
        }
        if !cred.disabled {
            self.set_credential_disabled(id, true).await?;
        }
        let keys = self.keys.clone();
        let key_ref = KeyRef(cred.key_ref.clone());
        let destroyed = tokio::task::spawn_blocking(move || keys.destroy_signer_key(&key_ref))
            .await
            .map_err(|e| AdminError::Invalid(format!("key destruction task failed: {e}")))?;
        match destroyed {
            // Already gone (an earlier delete destroyed it, then the row deletion failed).
            Ok(()) | Err(signet_keys::KeyError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
        self.store
            .append_audit(NewAuditEvent::new(
                "key.destroy",
                ADMIN,
                Some(id),
                json!({ "backend": cred.backend, "key_type": cred.key_type.name() }),
            ))
            .await?;
        self.store
            .delete_credential(
                id,
                NewAuditEvent::new("credential.delete", ADMIN, Some(id), json!({})),
            )
            .await?;
        Ok(())
    }

    pub async fn unlock_credential(&self, id: &str) -> Result<(), AdminError> {
        self.store
            .unlock_credential(
                id,
                NewAuditEvent::new("credential.unlock", ADMIN, Some(id), json!({})),
            )
            .await?;
        Ok(())
    }

    pub async fn set_user_disabled(
        &self,
        username: &str,
        disabled: bool,
    ) -> Result<(), AdminError> {
        let kind = if disabled {
            "user.disable"
        } else {
            "user.enable"
        };
        self.store
            .set_user_disabled(
                username,
                disabled,
                NewAuditEvent::new(kind, ADMIN, None, json!({ "username": username })),
            )
            .await?;
        Ok(())
    }
}
