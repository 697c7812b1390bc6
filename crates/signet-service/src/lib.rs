//! Signet's protocol-neutral service layer (the server signing application of ETSI TS 119
//! 431-1, under its bindings).
//!
//! The bindings in `signet-server` — CSC API v1/v2, DSS-X 2.0, OAuth2, the consent and
//! approval pages — parse their wire format into the typed requests here, call [`Service`],
//! and write its typed answers and errors back in their own format. Everything that is not
//! about a wire format lives here: hash and document signing (with the pre-flight of the TSA
//! and validation data), signature validation and augmentation ([`verification`]),
//! time-stamping and the PKI services ([`pki::PkiService`]), the
//! "create once, first writer wins" bootstrap of the CA, TSA and audit keys ([`bootstrap`]),
//! administration ([`admin::Admin`]) and readiness.
//!
//! Keys are reached only through capabilities (`signet_keys::capability`): the SAM holds the
//! one that signs with signer keys, the PKI the one for its own service keys, readiness and
//! administration one that cannot sign at all.

#![forbid(unsafe_code)]

use std::sync::Arc;

use signet_keys::KeyProvisioning;
use signet_sam::Sam;
use signet_store::Store;

pub mod ades;
pub mod admin;
pub mod authorization;
pub mod bootstrap;
pub mod credentials;
pub mod decoupled;
pub mod documents;
pub mod messages;
pub mod pki;
pub mod readiness;
pub mod signing;
mod tsa_client;
pub mod verification;

pub use ades::AdesSettings;
pub use documents::{DocumentError, DocumentItem};
pub use messages::describe;
pub use pki::{PkiService, PkiServiceError, TimeStampSource, TsaSettings};
pub use readiness::Readiness;
pub use signing::{AlgorithmChoice, HashSignRequest};
pub use verification::{ValidationSettings, Verification, VerificationError};

/// The signing service of one node: what every binding calls.
pub struct Service {
    pub store: Arc<dyn Store>,
    pub sam: Arc<Sam>,
    pub pki: Arc<PkiService>,
    /// Document signing limits.
    pub ades: AdesSettings,
    /// Signature validation and augmentation.
    pub verification: Verification,
    /// For readiness: pings the key module, cannot sign.
    keys: KeyProvisioning,
}

impl Service {
    pub fn new(
        store: Arc<dyn Store>,
        sam: Arc<Sam>,
        pki: Arc<PkiService>,
        keys: KeyProvisioning,
        ades: AdesSettings,
        validation: ValidationSettings,
    ) -> Self {
        Self {
            verification: Verification::new(validation, Arc::clone(&pki)),
            store,
            sam,
            pki,
            ades,
            keys,
        }
    }

    /// Whether the store and the key module answer now.
    pub async fn readiness(&self) -> Readiness {
        readiness::check(self.store.as_ref(), &self.keys).await
    }

    /// An RFC 3161 TimeStampToken (DER) over `digest` (CSC signatures/timestamp).
    pub async fn timestamp(
        &self,
        hash: signet_core::HashAlgorithm,
        digest: &[u8],
        nonce: Option<&[u8]>,
    ) -> Result<Vec<u8>, PkiServiceError> {
        self.pki.timestamp(hash, digest, nonce).await
    }
}
