//! The PKI services of one node: the embedded CA's CRL and OCSP answers, validation data for
//! AdES B-LT, and time-stamps from the built-in TSA or an external one. The HTTP routes that
//! publish them are in the server; this is what they, the signing paths and the audit sealer
//! call.
//!
//! The built-in TSA is created the first time it is needed ([`crate::bootstrap`]), so its
//! certificate carries the URLs of the server that created it. Every signature goes through
//! [`ServiceKeys`]: the CA and TSA keys only, never a signer's.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::{Duration, Instant};

use signet_core::{HashAlgorithm, KeyType};
use signet_keys::ServiceKeys;
use signet_pki::revocation::OCSP_MALFORMED_REQUEST;
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

    /// Answers a DER OCSPRequest ([`EmbeddedCa::ocsp_response`]) from the store: `revoked`
    /// for a revoked certificate, `good` for one the CA issued (the issued-certificate list),
    /// `unknown` for any other serial. At most
    /// [`signet_pki::revocation::MAX_OCSP_REQUESTS`] CertIDs, each looked up.
    pub async fn ocsp(&self, request_der: Vec<u8>) -> Result<Vec<u8>, PkiServiceError> {
        let Some(serials) = EmbeddedCa::ocsp_request_serials(&request_der) else {
            return Ok(OCSP_MALFORMED_REQUEST.to_vec());
        };
        let mut statuses: HashMap<Vec<u8>, RevocationStatus> = HashMap::new();
        for serial in serials {
            if let Entry::Vacant(vacant) = statuses.entry(serial) {
                let status = self.ocsp_status(vacant.key()).await?;
                vacant.insert(status);
            }
        }
        let (ca, keys) = (self.ca.clone(), self.keys.clone());
        blocking(move || {
            let status_of = |serial: &[u8]| {
                statuses
                    .get(serial)
                    .copied()
                    .unwrap_or(RevocationStatus::Unknown)
            };
            ca.ocsp_response(&keys, &request_der, &status_of)
        })
        .await
    }

    /// What OCSP says about a serial: revoked if recorded so, good if issued, else unknown
    /// (current practice for serials a CA never issued; RFC 6960 §2.2 would allow "good").
    async fn ocsp_status(&self, serial: &[u8]) -> Result<RevocationStatus, PkiServiceError> {
        if let Some(r) = self.store.revocation(serial).await? {
            return Ok(RevocationStatus::Revoked {
                at: r.revoked_at,
                reason: r.reason,
            });
        }
        Ok(if self.store.certificate_issued(serial).await? {
            RevocationStatus::Good
        } else {
            RevocationStatus::Unknown
        })
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

/// Records a certificate the embedded CA just issued in the issued-certificate list (what OCSP
/// answers `good` for), before it is handed out or stored anywhere: a certificate in use is
/// never `unknown`, at worst a discarded one (a node that lost a bootstrap race) is `good`.
pub async fn record_issued(
    store: &dyn Store,
    certificate_der: &[u8],
    kind: &str,
) -> Result<(), PkiServiceError> {
    let serial = certificate_serial(certificate_der)?;
    store
        .record_issued_certificate(&serial, kind, signet_sam::now_unix())
        .await?;
    Ok(())
}

/// Settings key set once the certificates of a store from before the issued-certificate list
/// (schema version 7) are in it.
const ISSUED_INDEXED: &str = "pki.issued_indexed";

/// Puts the certificates issued before the issued-certificate list existed into it, once per
/// store: the CA's, the built-in TSA's, every credential's and `others` (the audit keys',
/// which the caller reads). Certificates of credentials deleted earlier cannot be recovered:
/// OCSP answers `unknown` for them unless they were revoked. Returns how many were indexed
/// (0 when already done).
pub async fn index_issued_certificates(
    store: &dyn Store,
    ca_certificate: &[u8],
    others: &[(&str, Vec<u8>)],
) -> Result<usize, PkiServiceError> {
    if store.setting(ISSUED_INDEXED).await?.is_some() {
        return Ok(0);
    }
    let mut certificates: Vec<(&str, Vec<u8>)> = vec![("ca", ca_certificate.to_vec())];
    if let Some(tsa) = store.setting(bootstrap::TSA_CERTIFICATE).await? {
        certificates.push(("tsa", tsa));
    }
    for credential in store.list_credentials().await? {
        certificates.push(("signer", credential.certificate));
    }
    certificates.extend(others.iter().cloned());
    let mut indexed = 0;
    for (kind, der) in &certificates {
        // A certificate that cannot be read names no serial to answer for: skipped, so that
        // one bad row does not keep the node from starting.
        let Ok(serial) = certificate_serial(der) else {
            tracing::warn!(
                kind,
                "a stored certificate cannot be read; not indexed for OCSP"
            );
            continue;
        };
        store
            .record_issued_certificate(&serial, kind, signet_sam::now_unix())
            .await?;
        indexed += 1;
    }
    store
        .put_settings_if_absent(&[(ISSUED_INDEXED, b"1")], None)
        .await?;
    Ok(indexed)
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

#[cfg(test)]
mod tests {
    use signet_keys::{KeyAccess, MasterKey, SoftKeyModule};
    use signet_pki::SubjectName;
    use signet_store::SqliteStore;

    use super::*;
    use crate::bootstrap::{CaSettings, load_or_create_ca};

    #[tokio::test]
    async fn ocsp_answers_good_only_for_issued_certificates() {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().expect("store"));
        let access = KeyAccess::new(Arc::new(SoftKeyModule::new(
            MasterKey::generate().expect("master key"),
        )));
        let keys = access.service_keys();
        let ca = load_or_create_ca(&*store, &keys, &CaSettings::default())
            .await
            .expect("CA");
        // The bootstrap recorded the CA's own certificate as it made it.
        let ca_serial = certificate_serial(&ca.certificate).expect("serial");
        assert!(store.certificate_issued(&ca_serial).await.expect("lookup"));

        // A signer certificate from before the list: indexed once, a garbage one skipped.
        let key = access
            .provisioning()
            .generate_signer_key(KeyType::EcP256, "legacy")
            .expect("key");
        let subject = SubjectName {
            common_name: "legacy".into(),
            organization: None,
            country: None,
        };
        let signer = ca
            .issue_signer_certificate(&keys, &subject, &key.public_key_der, 30)
            .expect("certificate");
        let signer_serial = certificate_serial(&signer).expect("serial");
        assert!(
            !store
                .certificate_issued(&signer_serial)
                .await
                .expect("lookup")
        );
        let others = [("signer", signer.clone()), ("audit", b"not DER".to_vec())];
        assert_eq!(
            index_issued_certificates(&*store, &ca.certificate, &others)
                .await
                .expect("index"),
            2
        );
        assert!(
            store
                .certificate_issued(&signer_serial)
                .await
                .expect("lookup")
        );
        assert_eq!(
            index_issued_certificates(&*store, &ca.certificate, &others)
                .await
                .expect("index"),
            0,
            "once per store"
        );

        let pki = PkiService::new(
            Arc::clone(&store),
            keys,
            ca,
            TimeStampSource::External {
                url: "http://127.0.0.1:9/tsa".into(),
            },
        );
        assert_eq!(
            pki.ocsp_status(&signer_serial).await.expect("status"),
            RevocationStatus::Good
        );
        assert_eq!(
            pki.ocsp_status(&ca_serial).await.expect("status"),
            RevocationStatus::Good
        );
        let mut never = signer_serial.clone();
        never[15] ^= 1;
        assert_eq!(
            pki.ocsp_status(&never).await.expect("status"),
            RevocationStatus::Unknown
        );
        assert_eq!(
            pki.ocsp(b"not an OCSP request".to_vec())
                .await
                .expect("answer"),
            OCSP_MALFORMED_REQUEST
        );
    }
}
