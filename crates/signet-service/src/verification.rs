//! Signature validation (ETSI EN 319 102-1, `signet-validation`) and augmentation to B-T,
//! B-LT or B-LTA, for every binding that offers them (DSS-X VerifyRequest today).
//!
//! Trust is set once at startup: the embedded CA's certificate (so that Signet's own
//! signatures validate out of the box), the PEM/DER anchors of `[validation] trust` and the
//! EU trusted lists of `[validation] trusted_lists`. Validation data a signature lacks is
//! fetched when `[validation] fetch` allows it: for certificates the embedded CA issued, from
//! the CA itself (its CRL and a fresh OCSP response, no HTTP round trip to ourselves); for any
//! other, through the network fetcher the caller provides.
//!
//! Validation is CPU work over hostile input: it runs on the blocking thread pool, within the
//! configured limits.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use signet_ades::asn1;
use signet_ades::cert::CertView;
use signet_ades::{AdesError, Level, Revocation, TimeStamper, ValidationData};
use signet_validation::trust::{Anchor, TrustAnchors};
use signet_validation::{
    DetachedContent, Indication, Options, TrustListInfo, ValidationError, ValidationReport,
};

use crate::ades::{PkiTimeStamper, PkiValidationData, describe};
use crate::pki::PkiService;

/// The validation library, for the bindings: they write its reports
/// (`validation::report::etsi_xml`) and map its indications onto their result codes.
pub use signet_validation as validation;
/// The time type of [`Verification::verify`]'s validation time.
pub use time::OffsetDateTime;

/// Revocation freshness of Signet's default policy (EN 319 102-1 §5.2.5): revocation data
/// issued more than this before the best signature time does not prove the certificate was
/// unrevoked then.
pub const MAX_REVOCATION_AGE: Duration = Duration::from_secs(24 * 3600);

/// Largest trust anchor file read at startup: a CA bundle is a few hundred kilobytes.
const MAX_ANCHOR_FILE_BYTES: u64 = 16 << 20;

/// How validation is set up, once, at startup.
#[derive(Clone)]
pub struct ValidationSettings {
    /// The embedded CA's certificate and the configured anchors ([`load_anchors`]).
    pub anchors: TrustAnchors,
    /// The trusted lists the anchors came from, named in every report.
    pub trusted_lists: Vec<TrustListInfo>,
    /// `[validation] fetch`: validation may fetch the issuer certificates, CRLs and OCSP
    /// responses a signature lacks. Off: only what the signature carries counts.
    pub fetch: bool,
    /// Fetches validation data over the network for certificates the embedded CA did not
    /// issue (`None`: only the embedded CA's own data can be had).
    pub network: Option<Arc<dyn ValidationData>>,
    /// Size, PDF object and XML depth limits of one signed file.
    pub limits: signet_ades::Limits,
    pub max_revocation_age: Duration,
}

impl Default for ValidationSettings {
    fn default() -> Self {
        Self {
            anchors: TrustAnchors::default(),
            trusted_lists: Vec::new(),
            fetch: true,
            network: None,
            limits: signet_ades::Limits::default(),
            max_revocation_age: MAX_REVOCATION_AGE,
        }
    }
}

impl std::fmt::Debug for ValidationSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidationSettings")
            .field("anchors", &self.anchors.anchors.len())
            .field("trusted_lists", &self.trusted_lists.len())
            .field("fetch", &self.fetch)
            .field("network", &self.network.is_some())
            .field("limits", &self.limits)
            .finish()
    }
}

/// Where the embedded CA's certificate comes from, in reports.
pub const EMBEDDED_CA_SOURCE: &str = "Signet embedded CA";

/// The trust anchors of a node: the embedded CA's certificate first, then every certificate
/// of each file (PEM, or one DER certificate).
pub fn load_anchors(ca_certificate: &[u8], files: &[PathBuf]) -> Result<TrustAnchors, String> {
    let mut anchors = TrustAnchors::default();
    // Our own certificate: taken as it is (the CA made it), named for the report.
    anchors.anchors.push(Anchor {
        der: ca_certificate.to_vec(),
        source: EMBEDDED_CA_SOURCE.into(),
    });
    for path in files {
        let shown = path.display().to_string();
        let size = std::fs::metadata(path)
            .map_err(|e| format!("validation.trust {shown}: {e}"))?
            .len();
        if size > MAX_ANCHOR_FILE_BYTES {
            return Err(format!(
                "validation.trust {shown}: {size} bytes, more than the {MAX_ANCHOR_FILE_BYTES} a certificate file may have"
            ));
        }
        let bytes = std::fs::read(path).map_err(|e| format!("validation.trust {shown}: {e}"))?;
        anchors
            .add_file(&bytes, &shown)
            .map_err(|e| format!("validation.trust: {e}"))?;
    }
    Ok(anchors)
}

/// Loads `[validation] trusted_lists` (files, or http(s) URLs read with `fetch`) into
/// `anchors` and returns the snapshots for the reports (`signet_validation::trust`: each
/// list's XML signature is checked; a list of lists is followed to its national lists, which
/// must be signed by a certificate it names). Notes about lists that could not be fetched are
/// logged.
pub fn load_trusted_lists(
    sources: &[String],
    fetch: &dyn Fn(&str) -> Result<Vec<u8>, String>,
    limits: &signet_ades::Limits,
    anchors: &mut TrustAnchors,
) -> Result<Vec<TrustListInfo>, String> {
    let (used, notes) =
        signet_validation::trust::load_trusted_lists(sources, fetch, limits, anchors)
            .map_err(|e| format!("validation.trusted_lists: {e}"))?;
    for note in notes {
        tracing::warn!(note = %note, "trusted list skipped");
    }
    Ok(used)
}

/// Why a validation or an augmentation did not give a result.
#[derive(Debug, thiserror::Error)]
pub enum VerificationError {
    /// The file could not be validated at all (too large, not a signature).
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// Augmentation refused: the signature did not validate (the report says why).
    #[error("the signature is {}, not TOTAL-PASSED", .0.indication())]
    NotValid(Box<ValidationReport>),
    /// The augmentation engine refused the signature or could not finish it (a time-stamp
    /// or validation data it could not get).
    #[error("{0}")]
    Augmentation(AdesError),
    #[error("internal error")]
    Internal,
}

struct Inner {
    settings: ValidationSettings,
    pki: Arc<PkiService>,
}

/// Validation and augmentation for one node.
#[derive(Clone)]
pub struct Verification {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Verification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verification")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

/// The engine's one entry point for augmentation: the signed file (and its detached
/// content, at most one document) brought to `target` with `tsa` and `validation`.
fn augment(
    signed: Vec<u8>,
    detached: &[DetachedContent],
    target: Level,
    limits: signet_ades::Limits,
    tsa: &dyn TimeStamper,
    validation: &dyn ValidationData,
) -> Result<Vec<u8>, AdesError> {
    let detached = match detached {
        [] => None,
        [one] => Some(one.bytes.clone()),
        _ => {
            return Err(AdesError::InvalidRequest(
                "a detached signature is augmented with its one detached document".into(),
            ));
        }
    };
    signet_ades::extend::extend(
        signet_ades::extend::ExtendRequest {
            signature: signed,
            detached,
            target,
            limits,
        },
        tsa,
        validation,
    )
    .map(|e| e.output)
}

impl Verification {
    pub fn new(settings: ValidationSettings, pki: Arc<PkiService>) -> Self {
        Self {
            inner: Arc::new(Inner { settings, pki }),
        }
    }

    /// The limits of one signed file (the bindings bound their bodies with it).
    pub fn limits(&self) -> signet_ades::Limits {
        self.inner.settings.limits
    }

    /// Validates every signature of `signed` (named `name` in the report) at `at` (`None`:
    /// now), with `detached` content for detached signatures.
    pub async fn verify(
        &self,
        signed: Vec<u8>,
        name: Option<String>,
        detached: Vec<DetachedContent>,
        at: Option<OffsetDateTime>,
    ) -> Result<ValidationReport, VerificationError> {
        let inner = Arc::clone(&self.inner);
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let fetcher = inner.fetcher(runtime, inner.settings.fetch);
            inner.validate(&signed, name.as_deref(), &detached, at, &fetcher)
        })
        .await
        .map_err(|_| VerificationError::Internal)?
    }

    /// Validates `signed` now and, when every signature passes, brings it to `target`:
    /// time-stamps from the node's TSA, validation data from the embedded CA (and, when
    /// fetching is on, the network). Returns the augmented file and the report that allowed
    /// it.
    pub async fn extend(
        &self,
        signed: Vec<u8>,
        name: Option<String>,
        detached: Vec<DetachedContent>,
        target: Level,
    ) -> Result<(Vec<u8>, ValidationReport), VerificationError> {
        let inner = Arc::clone(&self.inner);
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            // Augmentation must add validation data: the embedded CA's is always at hand, the
            // network's only when fetching is on.
            let fetcher = inner.fetcher(runtime.clone(), true);
            let report = inner.validate(&signed, name.as_deref(), &detached, None, &fetcher)?;
            if report.indication() != Indication::TotalPassed {
                return Err(VerificationError::NotValid(Box::new(report)));
            }
            // A time-stamp is needed for B-LTA, or for a signature without one yet: the TSA
            // is asked first (loading the built-in one), so that one that is down is said so.
            let needs_tsa = target == Level::BLta
                || report
                    .signatures
                    .iter()
                    .any(|s| s.level.is_none_or(|l| l < Level::BT));
            if needs_tsa {
                runtime
                    .block_on(inner.pki.check_timestamping())
                    .map_err(|e| {
                        VerificationError::Augmentation(AdesError::TimeStamp(describe(&e)))
                    })?;
            }
            let tsa = PkiTimeStamper {
                pki: Arc::clone(&inner.pki),
                runtime,
            };
            let output = augment(
                signed,
                &detached,
                target,
                inner.settings.limits,
                &tsa,
                &fetcher,
            )
            .map_err(VerificationError::Augmentation)?;
            Ok((output, report))
        })
        .await
        .map_err(|_| VerificationError::Internal)?
    }
}

impl Inner {
    /// The fetcher of a validation: `None` when `allowed` is false.
    fn fetcher(&self, runtime: tokio::runtime::Handle, allowed: bool) -> Fetcher {
        Fetcher {
            pki: Arc::clone(&self.pki),
            runtime,
            network: self
                .settings
                .network
                .clone()
                .filter(|_| self.settings.fetch),
            allowed,
        }
    }

    fn validate(
        &self,
        signed: &[u8],
        name: Option<&str>,
        detached: &[DetachedContent],
        at: Option<OffsetDateTime>,
        fetcher: &Fetcher,
    ) -> Result<ValidationReport, VerificationError> {
        let s = &self.settings;
        let options = Options {
            anchors: &s.anchors,
            trusted_lists: &s.trusted_lists,
            validation_time: at.unwrap_or_else(OffsetDateTime::now_utc),
            fetcher: fetcher.allowed.then_some(fetcher as &dyn ValidationData),
            limits: s.limits,
            max_revocation_age: s.max_revocation_age,
        };
        Ok(signet_validation::validate(
            signed, name, detached, &options,
        )?)
    }
}

/// Validation data: the embedded CA answers for the certificates it issued; the network
/// fetcher, if any, for the others.
struct Fetcher {
    pki: Arc<PkiService>,
    runtime: tokio::runtime::Handle,
    network: Option<Arc<dyn ValidationData>>,
    /// Whether validation may use this at all.
    allowed: bool,
}

impl ValidationData for Fetcher {
    fn chain_and_revocation(&self, certificate: &[u8]) -> Result<Revocation, AdesError> {
        let ca = &self.pki.ca().certificate;
        if certificate == ca.as_slice() {
            // A trust anchor has no issuer and no revocation status (RFC 5280 §6.1).
            return Ok(Revocation::default());
        }
        if issued_by(certificate, ca) {
            let own = PkiValidationData {
                pki: Arc::clone(&self.pki),
                runtime: self.runtime.clone(),
                fetched: Vec::new(),
            };
            return own.chain_and_revocation(certificate);
        }
        match &self.network {
            Some(network) => network.chain_and_revocation(certificate),
            None => Err(AdesError::ValidationData(
                "the certificate was not issued by Signet's CA and fetching validation data is off ([validation] fetch)".into(),
            )),
        }
    }
}

/// Whether `ca` issued `certificate`: the issuer name is the CA's subject and the CA's key
/// verifies the certificate's signature (two Signet nodes' CAs share a default name).
fn issued_by(certificate: &[u8], ca: &[u8]) -> bool {
    use signet_validation::crypto::{self, EcdsaEncoding, SignatureAlgorithm};
    let (Ok(c), Ok(a)) = (CertView::parse(certificate), CertView::parse(ca)) else {
        return false;
    };
    if c.issuer != a.subject {
        return false;
    }
    // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
    let signed = || -> Option<(Vec<u8>, SignatureAlgorithm, Vec<u8>)> {
        let parts = asn1::read_all(certificate).ok()?.children().ok()?;
        let [tbs, algorithm, value] = parts.as_slice() else {
            return None;
        };
        let algorithm = algorithm.children().ok()?;
        let oid = crypto::oid_text(algorithm.first()?.content);
        let params = algorithm.get(1).map(|p| p.raw);
        let alg = SignatureAlgorithm::from_oid(&oid, params, None).ok()?;
        let (0, bits) = value.content.split_first()? else {
            return None;
        };
        Some((tbs.raw.to_vec(), alg, bits.to_vec()))
    };
    signed().is_some_and(|(tbs, alg, value)| {
        crypto::verify(a.spki, alg, &tbs, &value, EcdsaEncoding::Der).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use signet_keys::{KeyAccess, MasterKey, SoftKeyModule};
    use signet_store::{SqliteStore, Store};

    use super::*;
    use crate::bootstrap::{CaSettings, load_or_create_ca};
    use crate::pki::TimeStampSource;

    /// A node's PKI on an in-memory store with software keys.
    async fn pki() -> Arc<PkiService> {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().expect("store"));
        let keys = KeyAccess::new(Arc::new(SoftKeyModule::new(
            MasterKey::generate().expect("master key"),
        )));
        let ca = load_or_create_ca(store.as_ref(), &keys.service_keys(), &CaSettings::default())
            .await
            .expect("CA");
        Arc::new(PkiService::new(
            store,
            keys.service_keys(),
            ca,
            TimeStampSource::default(),
        ))
    }

    #[test]
    fn anchors_start_with_the_embedded_ca() {
        let ca = vec![0x30, 0x03, 0x02, 0x01, 0x01];
        assert_eq!(
            load_anchors(&ca, &[]).expect("anchors").anchors,
            vec![Anchor {
                der: ca.clone(),
                source: EMBEDDED_CA_SOURCE.into()
            }]
        );
        let missing = PathBuf::from("/nonexistent/signet/anchors.pem");
        let err = load_anchors(&ca, &[missing]).expect_err("missing file");
        assert!(
            err.starts_with("validation.trust /nonexistent/signet/anchors.pem: "),
            "{err}"
        );
        let not_a_certificate = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"));
        let err = load_anchors(&ca, &[not_a_certificate]).expect_err("not a certificate");
        assert!(err.starts_with("validation.trust: "), "{err}");
    }

    #[test]
    fn configured_trusted_lists_are_never_ignored() {
        let mut anchors = TrustAnchors::default();
        let limits = signet_ades::Limits::default();
        let offline = |url: &str| -> Result<Vec<u8>, String> { Err(format!("offline: {url}")) };
        assert_eq!(
            load_trusted_lists(&[], &offline, &limits, &mut anchors),
            Ok(Vec::new())
        );
        // A list that cannot be had, or is not a trusted list, stops the start.
        let err = load_trusted_lists(
            &["https://tl.invalid/eu-lotl.xml".into()],
            &offline,
            &limits,
            &mut anchors,
        )
        .expect_err("unreachable");
        assert_eq!(
            err,
            "validation.trusted_lists: trusted list https://tl.invalid/eu-lotl.xml: offline: https://tl.invalid/eu-lotl.xml"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let junk = dir.path().join("tl.xml");
        std::fs::write(&junk, "<TrustServiceStatusList/>").expect("write");
        let err = load_trusted_lists(
            &[junk.display().to_string()],
            &offline,
            &limits,
            &mut anchors,
        )
        .expect_err("unsigned");
        assert!(err.starts_with("validation.trusted_lists: "), "{err}");
        assert!(anchors.anchors.is_empty());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_embedded_ca_answers_for_its_own_certificates() {
        let pki = pki().await;
        let tsa = pki.builtin_tsa().await.expect("TSA").expect("built in");
        let ca = pki.ca().certificate.clone();
        let other = self::pki().await.ca().certificate.clone();
        assert!(issued_by(&tsa.certificate, &ca));
        assert!(!issued_by(&tsa.certificate, &other));
        assert!(!issued_by(b"junk", &ca));
        let fetcher = Fetcher {
            pki: Arc::clone(&pki),
            runtime: tokio::runtime::Handle::current(),
            network: None,
            allowed: true,
        };
        let (tsa_cert, ca2) = (tsa.certificate.clone(), ca.clone());
        let (own, anchor, foreign) = tokio::task::spawn_blocking(move || {
            (
                fetcher.chain_and_revocation(&tsa_cert),
                fetcher.chain_and_revocation(&ca2),
                fetcher.chain_and_revocation(&other),
            )
        })
        .await
        .expect("task");
        let own = own.expect("own certificate");
        assert_eq!(own.certificates, vec![ca]);
        assert_eq!((own.crls.len(), own.ocsp.len()), (1, 1));
        assert_eq!(anchor, Ok(Revocation::default()));
        match foreign {
            Err(AdesError::ValidationData(text)) => assert!(text.contains("fetch"), "{text}"),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn unusable_input_is_an_error_not_a_report() {
        let pki = pki().await;
        let settings = ValidationSettings {
            limits: signet_ades::Limits {
                max_document_bytes: 64,
                ..signet_ades::Limits::default()
            },
            ..ValidationSettings::default()
        };
        let v = Verification::new(settings, pki);
        assert_eq!(v.limits().max_document_bytes, 64);
        match v.verify(b"hello".to_vec(), None, Vec::new(), None).await {
            Err(VerificationError::Validation(ValidationError::NotASignature(text))) => {
                assert_eq!(
                    text,
                    "the file is not a PDF, a CMS signature, an XML document or a JWS"
                )
            }
            other => panic!("{other:?}"),
        }
        match v.verify(vec![b'%'; 65], None, Vec::new(), None).await {
            Err(VerificationError::Validation(ValidationError::TooLarge(text))) => {
                assert_eq!(text, "the file has 65 bytes; the limit is 64 bytes")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            v.extend(b"hello".to_vec(), None, Vec::new(), Level::BLt)
                .await,
            Err(VerificationError::Validation(
                ValidationError::NotASignature(_)
            ))
        ));
    }
}
