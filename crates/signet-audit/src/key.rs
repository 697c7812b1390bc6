//! The audit key: signs checkpoints. Generated in the key module (label `signet-audit`; on
//! PKCS#11 inside the token, non-extractable), separate from signer keys and the CA key, with
//! its own certificate from the embedded CA. Created once per log ("first writer wins", like
//! the CA and the TSA); rotated by `signet audit rotate-key`, after which older checkpoints
//! still verify with the certificates kept under [`CERTIFICATES`].

use serde_json::json;
use signet_core::KeyType;
use signet_keys::{KeyRef, ServiceKey, ServiceKeys};
use signet_pki::{EmbeddedCa, SubjectName};
use signet_service::bootstrap::{self, BootstrapError, Created};
use signet_store::{NewAuditEvent, Store, StoreError};

use crate::checkpoint::AuditCertificate;

/// Settings keys of the current audit key and of the log's identity.
const KEY_REF: &str = "audit.key_ref";
const CERTIFICATE: &str = "audit.certificate";
/// Every audit certificate the log has used, oldest first (length-prefixed DER).
pub const CERTIFICATES: &str = "audit.certificates";
const ORIGIN: &str = "audit.origin";

/// The key type of audit keys: checkpoints are C2SP ECDSA notes, which name P-256.
pub const KEY_TYPE: KeyType = KeyType::EcP256;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] signet_keys::KeyError),
    #[error(transparent)]
    Pki(#[from] signet_pki::PkiError),
    #[error("{0}")]
    Internal(String),
}

/// How the audit key and the log's identity are created.
#[derive(Debug, Clone)]
pub struct AuditKeySettings {
    /// The log's identity (checkpoint origin and key name); empty: `signet/audit/<random>`.
    pub origin: String,
    pub common_name: String,
    pub organization: Option<String>,
    pub validity_days: u32,
}

impl Default for AuditKeySettings {
    fn default() -> Self {
        Self {
            origin: String::new(),
            common_name: "Signet Audit Log".into(),
            organization: Some("Signet".into()),
            validity_days: 3650,
        }
    }
}

/// The audit key in use.
#[derive(Debug, Clone)]
pub struct AuditSigningKey {
    pub origin: String,
    pub key_ref: KeyRef,
    pub certificate: AuditCertificate,
}

fn encode_certificates(certs: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in certs {
        out.extend_from_slice(&(c.len() as u32).to_be_bytes());
        out.extend_from_slice(c);
    }
    out
}

fn decode_certificates(mut blob: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut out = Vec::new();
    while !blob.is_empty() {
        let corrupt = || StoreError::Corrupt("audit certificate list".into());
        let len: [u8; 4] = blob
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(corrupt)?;
        let len = u32::from_be_bytes(len) as usize;
        let cert = blob.get(4..4 + len).ok_or_else(corrupt)?;
        out.push(cert.to_vec());
        blob = &blob[4 + len..];
    }
    Ok(out)
}

/// Every audit certificate the log has used (DER), oldest first.
pub async fn certificates(store: &dyn Store) -> Result<Vec<Vec<u8>>, StoreError> {
    match store.setting(CERTIFICATES).await? {
        Some(blob) => decode_certificates(&blob),
        None => Ok(Vec::new()),
    }
}

/// The log's identity, once created.
pub async fn origin(store: &dyn Store) -> Result<Option<String>, StoreError> {
    Ok(store
        .setting(ORIGIN)
        .await?
        .map(|o| String::from_utf8_lossy(&o).into_owned()))
}

/// The current audit key, if the log has one.
pub async fn load(store: &dyn Store) -> Result<Option<AuditSigningKey>, KeyError> {
    let (Some(key_ref), Some(certificate), Some(origin)) = (
        store.setting(KEY_REF).await?,
        store.setting(CERTIFICATE).await?,
        origin(store).await?,
    ) else {
        return Ok(None);
    };
    Ok(Some(AuditSigningKey {
        origin,
        key_ref: KeyRef(key_ref),
        certificate: AuditCertificate::from_der(&certificate)?,
    }))
}

/// A new key and its certificate (not yet recorded anywhere). Blocks: run it on a blocking
/// thread.
fn generate(
    keys: &ServiceKeys,
    ca: &EmbeddedCa,
    s: &AuditKeySettings,
) -> Result<(KeyRef, Vec<u8>), KeyError> {
    let generated = keys.generate(ServiceKey::Audit, KEY_TYPE)?;
    let subject = SubjectName {
        common_name: s.common_name.clone(),
        organization: s.organization.clone(),
        country: None,
    };
    match ca.issue_audit_certificate(keys, &subject, &generated.public_key_der, s.validity_days) {
        Ok(cert) => Ok((generated.key_ref, cert)),
        Err(e) => {
            let _ = keys.destroy(ServiceKey::Audit, &generated.key_ref);
            Err(KeyError::Pki(e))
        }
    }
}

impl From<KeyError> for BootstrapError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::Store(e) => Self::Store(e),
            KeyError::Key(e) => Self::Key(e),
            KeyError::Pki(e) => Self::Pki(e),
            KeyError::Internal(text) => Self::Internal(text),
        }
    }
}

impl From<BootstrapError> for KeyError {
    fn from(e: BootstrapError) -> Self {
        match e {
            BootstrapError::Store(e) => Self::Store(e),
            BootstrapError::Key(e) => Self::Key(e),
            BootstrapError::Pki(e) => Self::Pki(e),
            BootstrapError::Internal(text) => Self::Internal(text),
        }
    }
}

fn random_origin() -> Result<String, KeyError> {
    let mut id = [0u8; 8];
    aws_lc_rs::rand::fill(&mut id).map_err(|_| KeyError::Internal("no randomness".into()))?;
    Ok(format!(
        "signet/audit/{}",
        data_encoding::HEXLOWER.encode(&id)
    ))
}

/// Loads the audit key or creates it (with the log's identity), recording an
/// `audit.key.create` event, once per log ([`signet_service::bootstrap::load_or_create`]).
pub async fn load_or_create(
    store: &dyn Store,
    keys: &ServiceKeys,
    ca: &EmbeddedCa,
    settings: &AuditKeySettings,
) -> Result<AuditSigningKey, KeyError> {
    if let Some(key) = load(store).await? {
        return Ok(key);
    }
    let origin = if settings.origin.is_empty() {
        random_origin()?
    } else {
        settings.origin.clone()
    };
    if origin.contains(char::is_whitespace) || origin.is_empty() {
        return Err(KeyError::Internal(format!(
            "audit.origin {origin:?} must be one word (e.g. example.org/signet/audit)"
        )));
    }
    let (ca, s, backend) = (ca.clone(), settings.clone(), keys.backend());
    let key = bootstrap::load_or_create(
        store,
        keys,
        ServiceKey::Audit,
        "audit key",
        || async { Ok(load(store).await?) },
        move |keys| {
            let (key_ref, certificate) = generate(&keys, &ca, &s)?;
            let audit_cert = AuditCertificate::from_der(&certificate).map_err(KeyError::from)?;
            let audit = NewAuditEvent::new(
                "audit.key.create",
                "system",
                None,
                json!({
                    "origin": origin,
                    "key_id": data_encoding::HEXLOWER.encode(&audit_cert.key_id),
                    "backend": backend,
                }),
            );
            let certs = encode_certificates(std::slice::from_ref(&certificate));
            Ok(Created {
                issued: vec![("audit", certificate.clone())],
                key_ref: key_ref.clone(),
                settings: vec![
                    (KEY_REF, key_ref.0.clone()),
                    (CERTIFICATE, certificate),
                    (CERTIFICATES, certs),
                    (ORIGIN, origin.as_bytes().to_vec()),
                ],
                audit,
                value: AuditSigningKey {
                    origin,
                    key_ref,
                    certificate: audit_cert,
                },
            })
        },
    )
    .await?;
    Ok(key)
}

/// Replaces the audit key by a new one, keeping the old certificate for verification, and
/// records `audit.key.rotate`. The old key stays in the key module (destroy it there once no
/// node runs with it any more: sealers pick the new key up at their next checkpoint).
pub async fn rotate(
    store: &dyn Store,
    keys: &ServiceKeys,
    ca: &EmbeddedCa,
    settings: &AuditKeySettings,
) -> Result<AuditSigningKey, KeyError> {
    let old = load_or_create(store, keys, ca, settings).await?;
    let (keys2, ca2, s) = (keys.clone(), ca.clone(), settings.clone());
    let (key_ref, certificate) = tokio::task::spawn_blocking(move || generate(&keys2, &ca2, &s))
        .await
        .map_err(|e| KeyError::Internal(format!("audit key task failed: {e}")))??;
    let audit_cert = AuditCertificate::from_der(&certificate)?;
    // Issued before anything names it (OCSP must never say "unknown" about it).
    store
        .record_issued_certificate(
            &signet_pki::certificate_serial(&certificate)?,
            "audit",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64),
        )
        .await?;
    let mut certs = certificates(store).await?;
    certs.push(certificate.clone());
    store
        .put_setting(CERTIFICATES, &encode_certificates(&certs))
        .await?;
    store.put_setting(KEY_REF, &key_ref.0).await?;
    store.put_setting(CERTIFICATE, &certificate).await?;
    store
        .append_audit(NewAuditEvent::new(
            "audit.key.rotate",
            "admin",
            None,
            json!({
                "old_key_id": data_encoding::HEXLOWER.encode(&old.certificate.key_id),
                "new_key_id": data_encoding::HEXLOWER.encode(&audit_cert.key_id),
            }),
        ))
        .await?;
    Ok(AuditSigningKey {
        origin: old.origin,
        key_ref,
        certificate: audit_cert,
    })
}

/// The audit certificates a verifier may use: every one the log has used that the embedded CA
/// (`ca_certificate`) issued. Others are left out (and named in the returned list of
/// problems): someone with database access could add a certificate of their own, but not one
/// the CA, whose key is in the key module, signed.
pub async fn trusted_certificates(
    store: &dyn Store,
    ca_certificate: &[u8],
) -> Result<(Vec<AuditCertificate>, Vec<String>), KeyError> {
    let mut trusted = Vec::new();
    let mut problems = Vec::new();
    for (i, der) in certificates(store).await?.iter().enumerate() {
        match signet_pki::verify_issued_by(der, ca_certificate)
            .and_then(|()| AuditCertificate::from_der(der))
        {
            Ok(cert) => trusted.push(cert),
            Err(e) => problems.push(format!(
                "audit certificate {} is not issued by the CA and is ignored: {e}",
                i + 1
            )),
        }
    }
    Ok((trusted, problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_lists_round_trip() {
        let certs = vec![vec![1, 2, 3], vec![], vec![9; 300]];
        assert_eq!(
            decode_certificates(&encode_certificates(&certs)).unwrap(),
            certs
        );
        assert!(decode_certificates(&[0, 0, 0, 9, 1]).is_err());
    }
}
