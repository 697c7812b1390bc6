//! The node-wide service identities — the embedded CA, the built-in TSA and the audit key —
//! are made once per data store: "create once, first writer wins".
//!
//! Several nodes may start on one database at the same moment. Each may make a key and a
//! certificate, but they are recorded with [`Store::put_settings_if_absent`], so exactly one
//! set of settings (and one audit record) is stored; a node that lost destroys the key it made
//! (best effort: an orphaned key in a token is harmless, a sealed software key is just bytes)
//! and uses the stored one. [`load_or_create`] is that rule, written once; each identity only
//! says how to load itself and how to make itself.

use std::future::Future;

use serde_json::json;
use signet_core::KeyType;
use signet_keys::{KeyError, KeyRef, ServiceKey, ServiceKeys};
use signet_pki::{EmbeddedCa, PkiError, SubjectName, TimeStampAuthority};
use signet_store::{NewAuditEvent, Store, StoreError};

use crate::pki::{PkiServiceError, TsaSettings};

/// Why an identity could not be loaded or made.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Pki(#[from] PkiError),
    #[error("{0}")]
    Internal(String),
}

/// What [`load_or_create`]'s `create` made: the value, the key it made (destroyed again if
/// another node wins), and what to record.
pub struct Created<T> {
    pub value: T,
    pub key_ref: KeyRef,
    pub settings: Vec<(&'static str, Vec<u8>)>,
    pub audit: NewAuditEvent,
    /// The certificates the embedded CA issued for it, with their kind ("ca", "tsa",
    /// "audit"): recorded as issued before anything else (OCSP).
    pub issued: Vec<(&'static str, Vec<u8>)>,
}

/// Loads an identity with `load`, or makes it with `create` (run on a blocking thread: key
/// generation and certificate signing block) and records it unless another node recorded one
/// first, in which case ours is destroyed and theirs loaded. `what` names it in errors.
pub async fn load_or_create<T, L, F>(
    store: &dyn Store,
    keys: &ServiceKeys,
    purpose: ServiceKey,
    what: &str,
    load: L,
    create: impl FnOnce(ServiceKeys) -> Result<Created<T>, BootstrapError> + Send + 'static,
) -> Result<T, BootstrapError>
where
    T: Send + 'static,
    L: Fn() -> F,
    F: Future<Output = Result<Option<T>, BootstrapError>>,
{
    if let Some(found) = load().await? {
        return Ok(found);
    }
    let for_create = keys.clone();
    let made = tokio::task::spawn_blocking(move || create(for_create))
        .await
        .map_err(|e| BootstrapError::Internal(format!("creating the {what} failed: {e}")))??;
    // Issued before anything names it (OCSP must never say "unknown" about it).
    for (kind, certificate) in &made.issued {
        let serial = signet_pki::certificate_serial(certificate)?;
        store
            .record_issued_certificate(&serial, kind, signet_sam::now_unix())
            .await?;
    }
    let settings: Vec<(&str, &[u8])> = made
        .settings
        .iter()
        .map(|(k, v)| (*k, v.as_slice()))
        .collect();
    if store
        .put_settings_if_absent(&settings, Some(made.audit))
        .await?
    {
        tracing::info!(what, backend = keys.backend(), "created");
        return Ok(made.value);
    }
    let (for_destroy, ours) = (keys.clone(), made.key_ref);
    match tokio::task::spawn_blocking(move || for_destroy.destroy(purpose, &ours)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(what, error = %e, "could not destroy the unused key"),
        Err(e) => tracing::warn!(what, error = %e, "could not destroy the unused key"),
    }
    load().await?.ok_or_else(|| {
        BootstrapError::Store(StoreError::Corrupt(format!(
            "the {what} settings are incomplete"
        )))
    })
}

/// A key type recorded as text in the settings.
pub fn parse_key_type(bytes: &[u8], what: &str) -> Result<KeyType, StoreError> {
    String::from_utf8_lossy(bytes)
        .parse::<KeyType>()
        .map_err(|e| StoreError::Corrupt(format!("{what} key type: {e}")))
}

// ---------------------------------------------------------------------------------------------
// The embedded CA.

/// Settings keys under which the embedded CA is kept in the store.
const CA_KEY_REF: &str = "ca.key_ref";
const CA_KEY_TYPE: &str = "ca.key_type";
const CA_CERTIFICATE: &str = "ca.certificate";

/// How the embedded CA is created on first use.
#[derive(Debug, Clone)]
pub struct CaSettings {
    pub common_name: String,
    pub organization: Option<String>,
    pub key_type: KeyType,
    pub validity_days: u32,
}

impl Default for CaSettings {
    fn default() -> Self {
        Self {
            common_name: "Signet Embedded CA".into(),
            organization: Some("Signet".into()),
            key_type: KeyType::EcP256,
            validity_days: 3650,
        }
    }
}

async fn load_ca(store: &dyn Store) -> Result<Option<EmbeddedCa>, BootstrapError> {
    let (Some(key_ref), Some(key_type), Some(cert)) = (
        store.setting(CA_KEY_REF).await?,
        store.setting(CA_KEY_TYPE).await?,
        store.setting(CA_CERTIFICATE).await?,
    ) else {
        return Ok(None);
    };
    Ok(Some(EmbeddedCa {
        key_ref: KeyRef(key_ref),
        key_type: parse_key_type(&key_type, "CA")?,
        certificate: cert,
        urls: None,
    }))
}

/// Loads the embedded CA, creating it (key in the key module, self-signed certificate, a
/// `ca.create` audit record) the first time.
pub async fn load_or_create_ca(
    store: &dyn Store,
    keys: &ServiceKeys,
    settings: &CaSettings,
) -> Result<EmbeddedCa, BootstrapError> {
    let s = settings.clone();
    let backend = keys.backend();
    load_or_create(
        store,
        keys,
        ServiceKey::Ca,
        "embedded CA",
        || load_ca(store),
        move |keys| {
            let ca = EmbeddedCa::create(
                &keys,
                s.key_type,
                &s.common_name,
                s.organization.as_deref(),
                s.validity_days,
            )?;
            Ok(Created {
                key_ref: ca.key_ref.clone(),
                settings: vec![
                    (CA_KEY_REF, ca.key_ref.0.clone()),
                    (CA_KEY_TYPE, ca.key_type.name().as_bytes().to_vec()),
                    (CA_CERTIFICATE, ca.certificate.clone()),
                ],
                issued: vec![("ca", ca.certificate.clone())],
                audit: NewAuditEvent::new(
                    "ca.create",
                    "system",
                    None,
                    json!({ "key_type": ca.key_type.name(), "backend": backend, "subject": s.common_name }),
                ),
                value: ca,
            })
        },
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// The built-in TSA.

/// Settings keys of the built-in TSA in the store.
const TSA_KEY_REF: &str = "tsa.key_ref";
const TSA_KEY_TYPE: &str = "tsa.key_type";
pub(crate) const TSA_CERTIFICATE: &str = "tsa.certificate";

async fn load_tsa(
    store: &dyn Store,
    ca: &EmbeddedCa,
    settings: &TsaSettings,
) -> Result<Option<TimeStampAuthority>, BootstrapError> {
    let (Some(key_ref), Some(key_type), Some(certificate)) = (
        store.setting(TSA_KEY_REF).await?,
        store.setting(TSA_KEY_TYPE).await?,
        store.setting(TSA_CERTIFICATE).await?,
    ) else {
        return Ok(None);
    };
    Ok(Some(TimeStampAuthority {
        key_ref: KeyRef(key_ref),
        key_type: parse_key_type(&key_type, "TSA")?,
        certificate,
        chain: vec![ca.certificate.clone()],
        policy_oid: settings.policy_oid.clone(),
    }))
}

/// Loads the built-in TSA or creates it: key in the key module, certificate from `ca`,
/// recorded under `tsa.*` together with a `tsa.create` audit record.
pub async fn load_or_create_tsa(
    store: &dyn Store,
    keys: &ServiceKeys,
    ca: &EmbeddedCa,
    settings: &TsaSettings,
) -> Result<TimeStampAuthority, PkiServiceError> {
    let (ca2, s) = (ca.clone(), settings.clone());
    let backend = keys.backend();
    load_or_create(
        store,
        keys,
        ServiceKey::Tsa,
        "built-in TSA",
        || load_tsa(store, ca, settings),
        move |keys| {
            let tsa = TimeStampAuthority::create(
                &keys,
                &ca2,
                s.key_type,
                &SubjectName {
                    common_name: s.common_name.clone(),
                    organization: s.organization.clone(),
                    country: None,
                },
                s.validity_days,
                &s.policy_oid,
            )?;
            Ok(Created {
                key_ref: tsa.key_ref.clone(),
                settings: vec![
                    (TSA_KEY_REF, tsa.key_ref.0.clone()),
                    (TSA_KEY_TYPE, tsa.key_type.name().as_bytes().to_vec()),
                    (TSA_CERTIFICATE, tsa.certificate.clone()),
                ],
                issued: vec![("tsa", tsa.certificate.clone())],
                audit: NewAuditEvent::new(
                    "tsa.create",
                    "system",
                    None,
                    json!({
                        "key_type": tsa.key_type.name(),
                        "backend": backend,
                        "subject": s.common_name,
                        "policy": s.policy_oid,
                    }),
                ),
                value: tsa,
            })
        },
    )
    .await
    .map_err(PkiServiceError::from)
}

impl From<BootstrapError> for PkiServiceError {
    fn from(e: BootstrapError) -> Self {
        match e {
            BootstrapError::Store(e) => Self::Store(e),
            BootstrapError::Pki(e) => Self::from(e),
            BootstrapError::Key(e) => Self::Pki(PkiError::KeyModule(e)),
            BootstrapError::Internal(text) => Self::Internal(text),
        }
    }
}
