//! Readiness: can this node serve signatures right now? The store answers a trivial read and
//! the key module a ping, each within [`READY_TIMEOUT`].

use std::time::Duration;

use signet_keys::{KeyError, KeyProvisioning};
use signet_store::{Store, StoreError};

/// How long each readiness check may take.
pub const READY_TIMEOUT: Duration = Duration::from_secs(5);

/// Which dependency is not ready, and why: error kinds only ("unavailable", "corrupt",
/// "timeout"...), never messages, since a database error text may name paths or hosts and the
/// readiness endpoint can be reachable by anyone who can reach the service.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Readiness {
    pub store: Option<String>,
    pub key_module: Option<String>,
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.store.is_none() && self.key_module.is_none()
    }
}

/// Checks the store and the key module concurrently.
pub async fn check(store: &dyn Store, keys: &KeyProvisioning) -> Readiness {
    let store = async {
        match tokio::time::timeout(READY_TIMEOUT, store.setting("readyz")).await {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some(store_error_kind(&e).to_owned()),
            Err(_) => Some("timeout".to_owned()),
        }
    };
    let keys = async {
        let keys = keys.clone();
        let ping = tokio::task::spawn_blocking(move || keys.ping());
        match tokio::time::timeout(READY_TIMEOUT, ping).await {
            Ok(Ok(Ok(()))) => None,
            Ok(Ok(Err(e))) => Some(key_error_kind(&e).to_owned()),
            Ok(Err(_)) => Some("internal".to_owned()),
            Err(_) => Some("timeout".to_owned()),
        }
    };
    let (store, key_module) = tokio::join!(store, keys);
    if store.is_some() || key_module.is_some() {
        tracing::warn!(?store, ?key_module, "not ready");
    }
    Readiness { store, key_module }
}

fn store_error_kind(e: &StoreError) -> &'static str {
    match e {
        StoreError::Database(_) => "unavailable",
        StoreError::Corrupt(_) => "corrupt",
        StoreError::Conflict(_) | StoreError::NotFound(_) => "error",
    }
}

fn key_error_kind(e: &KeyError) -> &'static str {
    match e {
        KeyError::Unavailable(_) => "unavailable",
        _ => "error",
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use signet_keys::{GeneratedKey, KeyAccess, KeyModule, KeyRef, MasterKey, SoftKeyModule};

    use super::*;

    /// A key module whose token went away.
    struct GoneToken;

    impl KeyModule for GoneToken {
        fn backend(&self) -> &'static str {
            "pkcs11"
        }
        fn generate(&self, _: signet_core::KeyType, _: &str) -> Result<GeneratedKey, KeyError> {
            Err(KeyError::NotFound)
        }
        fn sign_digests(
            &self,
            _: &KeyRef,
            _: signet_core::KeyType,
            _: signet_core::SignMechanism,
            _: &[Vec<u8>],
        ) -> Result<Vec<Vec<u8>>, KeyError> {
            Err(KeyError::NotFound)
        }
        fn key_label(&self, _: &KeyRef) -> Result<String, KeyError> {
            Err(KeyError::NotFound)
        }
        fn destroy(&self, _: &KeyRef) -> Result<(), KeyError> {
            Ok(())
        }
        fn ping(&self) -> Result<(), KeyError> {
            Err(KeyError::Unavailable(
                "PKCS#11 token \"secret-label\" gone".into(),
            ))
        }
    }

    #[tokio::test]
    async fn failures_name_the_dependency_without_details() {
        let store = signet_store::SqliteStore::open_in_memory().expect("store");
        let soft = KeyAccess::new(Arc::new(SoftKeyModule::new(
            MasterKey::generate().expect("master key"),
        )));
        let ok = check(&store, &soft.provisioning()).await;
        assert!(ok.is_ready());
        let gone = KeyAccess::new(Arc::new(GoneToken));
        let failed = check(&store, &gone.provisioning()).await;
        assert_eq!(
            failed,
            Readiness {
                store: None,
                key_module: Some("unavailable".into())
            }
        );
        assert_eq!(
            store_error_kind(&StoreError::Database(
                "unable to open /var/lib/signet/signet.db".into()
            )),
            "unavailable"
        );
    }
}
