//! The PKI services of one node: the embedded CA's CRL and OCSP answers, validation data for
//! AdES B-LT, and time-stamps from the built-in TSA or an external one. The HTTP routes that
//! publish them are in the server; this is what they, the signing paths and the audit sealer
//! call.
//!
//! The built-in TSA is created the first time it is needed ([`crate::bootstrap`]), so its
//! certificate carries the URLs of the server that created it. Every signature goes through
//! [`ServiceKeys`]: the CA and TSA keys only, never a signer's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use signet_core::{HashAlgorithm, KeyType};
use signet_keys::ServiceKeys;
use signet_pki::{
    EmbeddedCa, PkiError, RevocationStatus, RevokedCertificate, TimeStampAuthority,
    TimeStampRequestInfo, certificate_serial,
};
use signet_store::{Store, StoreError};
use tokio::sync::{Mutex, OnceCell};

use crate::bootstrap;
use crate::tsa_client::external_timestamp;

/// CRL nextUpdate, hours after thisUpdate.
pub const CRL_NEXT_UPDATE_HOURS: u32 = 24;
/// A CRL is re-signed at least this often even when nothing changed.
const CRL_CACHE: Duration = Duration::from_secs(3_600);

/// How the built-in TSA is created on first use.
#[derive(Debug, Clone)]
pub struct TsaSettings {
    /// commonName of the TSA certificate.
    pub common_name: String,
    /// organizationName of the TSA certificate.
    pub organization: Option<String>,
    pub key_type: KeyType,
    /// Certificate validity, capped at the CA certificate's.
    pub validity_days: u32,
    /// TSTInfo.policy, dotted.
    pub policy_oid: String,
}

impl Default for TsaSettings {
    fn default() -> Self {
        Self {
            common_name: "Signet Time-Stamping Authority".into(),
            organization: Some("Signet".into()),
            key_type: KeyType::EcP256,
            validity_days: 3650,
            policy_oid: signet_pki::tsa::DEFAULT_POLICY_OID.into(),
        }
    }
}

/// Where time-stamp tokens come from.
#[derive(Debug, Clone)]
pub enum TimeStampSource {
    /// The built-in TSA (served at `/tsa`).
    Builtin(TsaSettings),
    /// An external RFC 3161 TSA reached by HTTP POST (RFC 3161 §3.4) at this `http://` or
    /// `https://` URL (TLS verified against `SSL_CERT_FILE` or the system CA bundle).
    External { url: String },
}

impl Default for TimeStampSource {
    fn default() -> Self {
        Self::Builtin(TsaSettings::default())
    }
}

/// Why validation data or a time-stamp could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum PkiServiceError {
    /// The caller's input is unusable (wrong digest length, not our certificate...).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Pki(PkiError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The external TSA failed or answered something unusable.
    #[error("external TSA {url}: {reason}")]
    ExternalTsa { url: String, reason: String },
    #[error("{0}")]
    Internal(String),
}

impl From<PkiError> for PkiServiceError {
    fn from(e: PkiError) -> Self {
        match e {
            PkiError::InvalidInput(text) => Self::Invalid(text),
            other => Self::Pki(other),
        }
    }
}

/// The certificates and revocation data that validate one certificate issued by the embedded
/// CA (what AdES B-LT embeds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationValues {
    /// The issuer chain, nearest first: the CA certificate.
    pub chain: Vec<Vec<u8>>,
    /// The current CRL (DER).
    pub crls: Vec<Vec<u8>>,
    /// A fresh OCSP response for the certificate (DER OCSPResponse).
    pub ocsp: Vec<Vec<u8>>,
}

struct CachedCrl {
    der: Vec<u8>,
    revoked: Vec<RevokedCertificate>,
    made: Instant,
}

/// The embedded CA's publication services and the time-stamping source of one node.
pub struct PkiService {
    store: Arc<dyn Store>,
    keys: ServiceKeys,
    ca: EmbeddedCa,
    source: TimeStampSource,
    builtin: OnceCell<Arc<TimeStampAuthority>>,
    crl: Mutex<Option<CachedCrl>>,
}

impl std::fmt::Debug for PkiService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PkiService")
            .field("source", &self.source)
            .field("urls", &self.ca.urls)
            .finish_non_exhaustive()
    }
}

impl PkiService {
    /// `ca.urls` go into the TSA certificate when the built-in TSA is created.
    pub fn new(
        store: Arc<dyn Store>,
        keys: ServiceKeys,
        ca: EmbeddedCa,
        source: TimeStampSource,
    ) -> Self {
        Self {
            store,
            keys,
            ca,
            source,
            builtin: OnceCell::new(),
            crl: Mutex::new(None),
        }
    }

    pub fn ca(&self) -> &EmbeddedCa {
        &self.ca
    }

    pub fn source(&self) -> &TimeStampSource {
        &self.source
    }

    /// Answers a DER RFC 3161 `TimeStampReq` with the built-in TSA (`/tsa`): always a
    /// `TimeStampResp`, a rejection for a malformed request. `None` when an external TSA is
    /// configured.
    pub async fn respond_to_timestamp_request(
        &self,
        request_der: Vec<u8>,
    ) -> Result<Option<Vec<u8>>, PkiServiceError> {
        let Some(tsa) = self.builtin_tsa().await? else {
            return Ok(None);
        };
        let keys = self.keys.clone();
        tokio::task::spawn_blocking(move || tsa.respond(&keys, &request_der))
            .await
            .map(Some)
            .map_err(|e| PkiServiceError::Internal(format!("TSA task failed: {e}")))
    }

    /// The built-in TSA, loaded from the store or created (first use of the data directory);
    /// `None` when an external TSA is configured.
    pub async fn builtin_tsa(&self) -> Result<Option<Arc<TimeStampAuthority>>, PkiServiceError> {
        let TimeStampSource::Builtin(settings) = &self.source else {
            return Ok(None);
        };
        let tsa = self
            .builtin
            .get_or_try_init(|| async {
                bootstrap::load_or_create_tsa(self.store.as_ref(), &self.keys, &self.ca, settings)
                    .await
                    .map(Arc::new)
            })
            .await?;
        Ok(Some(Arc::clone(tsa)))
    }

    /// An RFC 3161 TimeStampToken (DER) over `message_imprint`, a `hash` digest, from the
    /// built-in TSA or the external one. `nonce` is a big-endian unsigned integer.
    pub async fn timestamp(
        &self,
        hash: HashAlgorithm,
        message_imprint: &[u8],
        nonce: Option<&[u8]>,
    ) -> Result<Vec<u8>, PkiServiceError> {
        match &self.source {
            TimeStampSource::Builtin(_) => {
                let tsa = self
                    .builtin_tsa()
                    .await?
                    .ok_or_else(|| PkiServiceError::Internal("no built-in TSA".into()))?;
                let keys = self.keys.clone();
                let (imprint, nonce) = (message_imprint.to_vec(), nonce.map(<[u8]>::to_vec));
                blocking(move || tsa.timestamp(&keys, hash, &imprint, nonce.as_deref())).await
            }
            TimeStampSource::External { url } => {
                let mut request = TimeStampRequestInfo::new(hash, message_imprint)?;
                if let Some(nonce) = nonce {
                    request.nonce = Some(nonce.to_vec());
                }
                external_timestamp(url, &request).await
            }
        }
    }

    /// Whether time-stamps can be had now: the built-in TSA loads (or is created), or the
    /// external TSA answers a request (over a zero SHA-256 digest; the token is dropped).
    pub async fn check_timestamping(&self) -> Result<(), PkiServiceError> {
        match &self.source {
            TimeStampSource::Builtin(_) => self.builtin_tsa().await.map(|_| ()),
            TimeStampSource::External { .. } => self
                .timestamp(HashAlgorithm::Sha256, &[0; 32], None)
                .await
                .map(|_| ()),
        }
    }

    /// [`PkiService::timestamp`] for a caller already on a blocking thread of `runtime` (the
    /// AdES engine finishing signatures). The built-in TSA, once loaded (the pre-flight loads
    /// it), signs right here, with no hop back to the runtime and out to another blocking
    /// thread; an external TSA, or a TSA not loaded yet, goes through the runtime.
    pub fn timestamp_blocking(
        &self,
        runtime: &tokio::runtime::Handle,
        hash: HashAlgorithm,
        message_imprint: &[u8],
    ) -> Result<Vec<u8>, PkiServiceError> {
        if let (TimeStampSource::Builtin(_), Some(tsa)) = (&self.source, self.builtin.get()) {
            return Ok(tsa.timestamp(&self.keys, hash, message_imprint, None)?);
        }
        runtime.block_on(self.timestamp(hash, message_imprint, None))
    }

    /// The revocation status of a certificate the CA issued, by serial (content octets of the
    /// DER INTEGER): revoked if recorded, good otherwise (RFC 6960 §2.2: "good" says that no
    /// certificate with this serial number is revoked).
    pub async fn status_of(&self, serial: &[u8]) -> Result<RevocationStatus, PkiServiceError> {
        Ok(match self.store.revocation(serial).await? {
            Some(r) => RevocationStatus::Revoked {
                at: r.revoked_at,
                reason: r.reason,
            },
            None => RevocationStatus::Good,
        })
    }

    /// The current DER CRL: re-signed when the revocations changed or the cached one is an
    /// hour old. The cRLNumber is thisUpdate in Unix milliseconds, which grows from one CRL to
    /// the next without shared state between nodes (RFC 5280 §5.2.3 asks only that it
    /// increase).
    pub async fn current_crl(&self) -> Result<Vec<u8>, PkiServiceError> {
        let revoked: Vec<RevokedCertificate> = self
            .store
            .revocations()
            .await?
            .into_iter()
            .map(|r| RevokedCertificate {
                serial: r.serial,
                revoked_at: r.revoked_at,
                reason: r.reason,
            })
            .collect();
        let mut cache = self.crl.lock().await;
        if let Some(c) = cache.as_ref()
            && c.revoked == revoked
            && c.made.elapsed() < CRL_CACHE
        {
            return Ok(c.der.clone());
        }
        let number = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .map_err(|_| PkiServiceError::Internal("clock before 1970".into()))?;
        let (ca, keys, list) = (self.ca.clone(), self.keys.clone(), revoked.clone());
        let der = blocking(move || ca.crl(&keys, &list, number, CRL_NEXT_UPDATE_HOURS)).await?;
        *cache = Some(CachedCrl {
            der: der.clone(),
            revoked,
            made: Instant::now(),
        });
        Ok(der)
    }

    /// Answers a DER OCSPRequest ([`EmbeddedCa::ocsp_response`]) with the revocations in the
    /// store.
    pub async fn ocsp(&self, request_der: Vec<u8>) -> Result<Vec<u8>, PkiServiceError> {
        let revoked = self.store.revocations().await?;
        let (ca, keys) = (self.ca.clone(), self.keys.clone());
        blocking(move || {
            let status_of = |serial: &[u8]| {
                revoked
                    .iter()
                    .find(|r| r.serial == serial)
                    .map_or(RevocationStatus::Good, |r| RevocationStatus::Revoked {
                        at: r.revoked_at,
                        reason: r.reason,
                    })
            };
            ca.ocsp_response(&keys, &request_der, &status_of)
        })
        .await
    }

    /// Chain, CRL and a fresh OCSP response for `certificate_der`, which must have been issued
    /// by the embedded CA (a signer or the built-in TSA).
    pub async fn validation_values(
        &self,
        certificate_der: &[u8],
    ) -> Result<ValidationValues, PkiServiceError> {
        let serial = certificate_serial(certificate_der)?;
        let status = self.status_of(&serial).await?;
        let (ca, keys, cert) = (self.ca.clone(), self.keys.clone(), certificate_der.to_vec());
        let ocsp = blocking(move || ca.ocsp_response_for(&keys, &cert, status)).await?;
        Ok(ValidationValues {
            chain: vec![self.ca.certificate.clone()],
            crls: vec![self.current_crl().await?],
            ocsp: vec![ocsp],
        })
    }
}

/// Runs a key-module operation on a blocking thread (RSA and HSM calls block).
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, PkiError> + Send + 'static,
) -> Result<T, PkiServiceError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| PkiServiceError::Internal(format!("signing task failed: {e}")))?
        .map_err(PkiServiceError::from)
}
