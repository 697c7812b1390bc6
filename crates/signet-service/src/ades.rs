//! Glue between the AdES engine (signet-ades) and this node's PKI services: the engine asks
//! two small traits for time-stamps and validation data, implemented here with
//! [`PkiService`] — the built-in TSA or an external one, the embedded
//! CA's CRL and OCSP responses.
//!
//! The engine runs on a blocking thread (`spawn_blocking`: hashing documents, parsing PDFs),
//! so these implementations block on the async PKI calls through the runtime handle.

use std::sync::Arc;

use signet_ades::{AdesError, Revocation, TimeStamper, ValidationData};
use signet_core::HashAlgorithm;
use signet_core::Untrusted;

use crate::pki::{PkiService, PkiServiceError};

/// signDoc settings: how much a request may carry.
#[derive(Debug, Clone)]
pub struct AdesSettings {
    /// Largest signDoc request body, in bytes (documents travel Base64-encoded in JSON).
    pub max_request_bytes: usize,
    /// Most documents (or document digests) in one signDoc request.
    pub max_documents: usize,
    /// Per-document limits (size, PDF objects).
    pub limits: signet_ades::Limits,
}

impl Default for AdesSettings {
    fn default() -> Self {
        let limits = signet_ades::Limits::default();
        Self {
            // One maximal document in Base64 (4/3) plus room for the JSON around it.
            max_request_bytes: limits.max_document_bytes / 3 * 4 + (1 << 20),
            max_documents: 16,
            limits,
        }
    }
}

/// [`TimeStamper`] over the node's time-stamping source.
pub struct PkiTimeStamper {
    pub pki: Arc<PkiService>,
    pub runtime: tokio::runtime::Handle,
}

impl TimeStamper for PkiTimeStamper {
    fn timestamp(&self, hash: HashAlgorithm, digest: &[u8]) -> Result<Vec<u8>, AdesError> {
        self.pki
            .timestamp_blocking(&self.runtime, hash, digest)
            .map_err(|e| AdesError::TimeStamp(describe(&e)))
    }
}

/// [`ValidationData`] from the embedded CA: its certificate, its current CRL and a fresh OCSP
/// response for the certificate (a signer's or the built-in TSA's).
pub struct PkiValidationData {
    pub pki: Arc<PkiService>,
    pub runtime: tokio::runtime::Handle,
    /// Answers fetched before signing ([`preflight`]), by certificate.
    pub fetched: Vec<(Vec<u8>, Revocation)>,
}

impl ValidationData for PkiValidationData {
    fn chain_and_revocation(&self, certificate: &[u8]) -> Result<Revocation, AdesError> {
        if let Some((_, known)) = self.fetched.iter().find(|(c, _)| c == certificate) {
            return Ok(known.clone());
        }
        self.runtime
            .block_on(validation_values(&self.pki, certificate))
    }
}

async fn validation_values(pki: &PkiService, certificate: &[u8]) -> Result<Revocation, AdesError> {
    let values = pki
        .validation_values(certificate)
        .await
        .map_err(|e| AdesError::ValidationData(describe(&e)))?;
    Ok(Revocation {
        certificates: values.chain,
        crls: values.crls,
        ocsp: values.ocsp,
    })
}

/// Checks, before a SAD is spent, the services that finishing the signatures will need: the
/// time-stamping source (`tsa`: B-T and above) and the signer's validation data (`signer`:
/// B-LT and above, or validation info asked for), which is returned for reuse. A TSA or CA
/// that is down now costs the signer no authorization; only an outage in the milliseconds
/// between this check and finishing still does (the audit log then shows the spent SAD).
pub async fn preflight(
    pki: &PkiService,
    tsa: bool,
    signer: Option<&[u8]>,
) -> Result<Vec<(Vec<u8>, Revocation)>, AdesError> {
    if tsa {
        pki.check_timestamping()
            .await
            .map_err(|e| AdesError::TimeStamp(describe(&e)))?;
    }
    match signer {
        None => Ok(Vec::new()),
        Some(cert) => Ok(vec![(cert.to_vec(), validation_values(pki, cert).await?)]),
    }
}

/// A client-safe description: what failed, without internals of the store or key module.
pub(crate) fn describe(e: &PkiServiceError) -> String {
    match e {
        PkiServiceError::Invalid(text) => text.clone(),
        PkiServiceError::ExternalTsa { .. } => e.to_string(),
        PkiServiceError::Store(inner) => {
            tracing::error!(error = %Untrusted(&inner), "store failure while collecting validation data");
            "storage unavailable".into()
        }
        PkiServiceError::Pki(inner) => {
            tracing::error!(error = %Untrusted(&inner), "PKI failure");
            "the CA or TSA could not sign".into()
        }
        PkiServiceError::Internal(inner) => {
            tracing::error!(error = %Untrusted(&inner), "PKI failure");
            "internal error".into()
        }
    }
}
