//! Validation data and time-stamps over HTTP, for B-T, B-LT and B-LTA signatures built on the
//! client (ETSI EN 319 102-1 §5.2.5; EN 319 122-1 / 319 142-1 / 319 132-1 levels).
//!
//! - [`Rfc3161TimeStamper`] asks an RFC 3161 time-stamping authority over HTTP (RFC 3161 §3.4).
//! - [`HttpValidationData`] builds a certificate's issuer chain from the certificates known in
//!   advance (the credential's chain) and, for the others, the authorityInfoAccess caIssuers
//!   URL (RFC 5280 §4.2.2.1); then proves every non-root certificate unrevoked with OCSP
//!   (RFC 6960, preferred) or a CRL (RFC 5280 §5) from its cRLDistributionPoints.
//!
//! Everything fetched is checked before it is embedded: issuer certificates and CRLs must be
//! signed by the issuer, OCSP responses by the issuer or a responder it authorized. An answer
//! that cannot be checked is an error, never an empty result: a B-LT signature without
//! revocation data would silently be a lower level. What is embedded are the exact bytes the
//! CA served. Only `http` and `https` URLs are followed (no LDAP, no `file`), and bodies are
//! capped so that a hostile or broken server cannot exhaust memory; timeouts are the HTTP
//! client's.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::asn1::{AnyRef, ObjectIdentifier, OctetString};
use der::oid::AssociatedOid;
use der::{Any, Decode, Encode, Reader, SliceReader, Tag, TagNumber, Tagged};
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};

use crate::http::{describe_failure, printable, read_limited};
use signet_ades::{AdesError, Revocation, TimeStamper, ValidationData};
use signet_core::{HashAlgorithm, SignMechanism};
use signet_pki::{RevocationList, RevocationStatus, TimeStampRequestInfo};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{AuthorityInfoAccessSyntax, CrlDistributionPoints, ExtendedKeyUsage};
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspRequest, OcspResponse, OcspResponseStatus, Request,
    TbsRequest,
};

/// Largest time-stamp reply accepted: a token with a certificate chain is a few kilobytes.
const MAX_TSA_REPLY: usize = 1 << 20;
/// Largest CRL accepted: big public CAs publish CRLs of several megabytes.
const MAX_CRL: usize = 10 << 20;
/// Largest certificate, certificate bundle or OCSP response accepted.
const MAX_OTHER: usize = 1 << 20;
/// Longest issuer chain, the certificate itself included. Real chains have 2 to 4.
const MAX_CHAIN: usize = 8;
/// Redirects followed for a GET. The shared client follows none (API calls must not hop), but
/// CRL and caIssuers URLs are often plain `http` names moved elsewhere.
const MAX_REDIRECTS: usize = 3;
/// How far in the future an OCSP or CRL thisUpdate may be, for clocks that disagree a little.
const CLOCK_SKEW_SECS: u64 = 300;

/// id-ad-ocsp (RFC 5280 §4.2.2.1).
const ID_AD_OCSP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1");
/// id-ad-caIssuers (RFC 5280 §4.2.2.1).
const ID_AD_CA_ISSUERS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.2");
/// id-pkix-ocsp-basic (RFC 6960 §4.2.1): the only response type there is.
const ID_PKIX_OCSP_BASIC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
/// id-kp-OCSPSigning (RFC 6960 §4.2.2.2): marks a responder the CA delegated to.
const ID_KP_OCSP_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.9");
/// id-sha1, for CertIDs only: the one hash every responder supports (RFC 5019 §2.1.1). It
/// names the issuer here, it protects nothing.
const ID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
/// id-signedData (RFC 5652 §5.1), for "certs-only" PKCS#7 bundles served as caIssuers.
const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");

// ---------------------------------------------------------------------------------------------
// RFC 3161 time-stamps

/// An RFC 3161 time-stamping authority reached over HTTP (`application/timestamp-query`).
#[derive(Debug, Clone)]
pub struct Rfc3161TimeStamper {
    http: reqwest::blocking::Client,
    url: String,
}

impl Rfc3161TimeStamper {
    /// A time-stamper posting requests to `url` with `http` (whose timeouts apply).
    pub fn new(http: reqwest::blocking::Client, url: impl Into<String>) -> Self {
        Self {
            http,
            url: url.into(),
        }
    }

    /// The TSA's URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl TimeStamper for Rfc3161TimeStamper {
    /// Sends a request with a fresh nonce and certReq TRUE (the token must carry the TSA
    /// certificate so that B-LT can find its chain and revocation data), and returns the token
    /// once its status, signature, messageImprint and nonce are checked.
    fn timestamp(&self, hash: HashAlgorithm, digest: &[u8]) -> Result<Vec<u8>, AdesError> {
        let fail = |what: String| AdesError::TimeStamp(format!("TSA {}: {what}", self.url));
        let info = TimeStampRequestInfo::new(hash, digest)
            .map_err(|e| fail(format!("cannot build the request: {e}")))?;
        let request = info
            .to_der()
            .map_err(|e| fail(format!("cannot encode the request: {e}")))?;
        let answer = post(
            &self.http,
            &self.url,
            "application/timestamp-query",
            "application/timestamp-reply",
            request,
            MAX_TSA_REPLY,
        )
        .map_err(fail)?;
        answer
            .refuse_error_page("a time-stamp reply")
            .map_err(fail)?;
        info.token_from_response(&answer.body)
            .map_err(|e| fail(e.to_string()))
    }
}

// ---------------------------------------------------------------------------------------------
// Validation data

/// Issuer chains and revocation data fetched over HTTP, cached per certificate: a batch signs
/// many documents with one certificate and time-stamps them with one TSA, and should ask the
/// CA once per run, not once per document. A cached answer is used until the earliest
/// nextUpdate of its OCSP responses and CRLs, after which validators would find it stale.
#[derive(Debug)]
pub struct HttpValidationData {
    http: reqwest::blocking::Client,
    /// DER certificates known in advance (the credential's chain from `credentials/info`),
    /// searched for issuers before any caIssuers URL is fetched.
    known: Vec<Vec<u8>>,
    /// Results by DER certificate. Failures are not cached: the next document retries.
    cache: Mutex<HashMap<Vec<u8>, Cached>>,
    /// Return the OCSP response or CRL that says a certificate is revoked, instead of failing.
    keep_revoked: bool,
}

impl HttpValidationData {
    /// Fetches with `http` (whose timeouts apply). `known_certificates` (DER, any order; the
    /// certificate itself may be among them) are preferred to fetched issuers.
    pub fn new(http: reqwest::blocking::Client, known_certificates: Vec<Vec<u8>>) -> Self {
        Self {
            http,
            known: known_certificates,
            cache: Mutex::new(HashMap::new()),
            keep_revoked: false,
        }
    }

    /// For a validator: a revoked certificate is an answer (the signed OCSP response or CRL
    /// saying so, for the validator to weigh against the proof of existence), not a failure.
    pub fn for_validation(
        http: reqwest::blocking::Client,
        known_certificates: Vec<Vec<u8>>,
    ) -> Self {
        Self {
            keep_revoked: true,
            ..Self::new(http, known_certificates)
        }
    }

    fn collect(&self, certificate: &[u8]) -> Result<Cached, AdesError> {
        let chain = self.chain(certificate)?;
        let mut revocation = Revocation {
            certificates: chain.iter().skip(1).map(|c| c.der.clone()).collect(),
            ..Revocation::default()
        };
        let mut fresh_until: Option<u64> = None;
        // Every certificate but the last, which is self-issued: a trust anchor has no
        // revocation status (RFC 5280 §6.1: it is not part of the path to check).
        for pair in chain.windows(2) {
            let [cert, issuer] = pair else { continue };
            let evidence = self.revocation_of(cert, issuer)?;
            let list = match evidence.source {
                Source::Ocsp => &mut revocation.ocsp,
                Source::Crl => &mut revocation.crls,
            };
            if !list.contains(&evidence.der) {
                list.push(evidence.der);
            }
            if let Some(next) = evidence.next_update {
                fresh_until = Some(fresh_until.map_or(next, |t| t.min(next)));
            }
        }
        Ok(Cached {
            revocation,
            fresh_until,
        })
    }

    /// `certificate` followed by its issuers, nearest first, up to a self-issued certificate.
    fn chain(&self, certificate: &[u8]) -> Result<Vec<Cert>, AdesError> {
        let first = Cert::parse(certificate.to_vec()).map_err(|e| {
            AdesError::ValidationData(format!("the certificate is not DER X.509: {e}"))
        })?;
        let mut chain = vec![first];
        while let Some(last) = chain.last() {
            if last.is_self_issued() {
                return Ok(chain);
            }
            if chain.len() >= MAX_CHAIN {
                return Err(AdesError::ValidationData(format!(
                    "the issuer chain of {} is longer than {MAX_CHAIN} certificates",
                    chain[0].describe()
                )));
            }
            let issuer = self.find_issuer(last)?;
            if chain.iter().any(|c| c.der == issuer.der) {
                return Err(AdesError::ValidationData(format!(
                    "the issuer chain of {} loops at {}",
                    chain[0].describe(),
                    issuer.describe()
                )));
            }
            chain.push(issuer);
        }
        Ok(chain)
    }

    /// The certificate that issued `cert`: a known one if any, else one fetched from a
    /// caIssuers URL. Either way its subject must be `cert`'s issuer and its key must verify
    /// `cert`'s signature.
    fn find_issuer(&self, cert: &Cert) -> Result<Cert, AdesError> {
        let known = self
            .known
            .iter()
            .filter(|der| der.as_slice() != cert.der.as_slice())
            .filter_map(|der| Cert::parse(der.clone()).ok())
            .find(|candidate| candidate.issued(cert));
        if let Some(issuer) = known {
            return Ok(issuer);
        }
        let urls = cert
            .access_urls(ID_AD_CA_ISSUERS)
            .map_err(AdesError::ValidationData)?;
        let mut failures = Vec::new();
        for url in &urls {
            match self.fetch_issuer(url, cert) {
                Ok(issuer) => return Ok(issuer),
                Err(e) => failures.push(e),
            }
        }
        let why = if urls.is_empty() {
            "it has no http(s) caIssuers URL".to_owned()
        } else {
            failures.join("; ")
        };
        Err(AdesError::ValidationData(format!(
            "the issuer \"{}\" of {} is not among the {} known certificates and could not be \
             fetched: {why}",
            cert.parsed.tbs_certificate.issuer,
            cert.describe(),
            self.known.len()
        )))
    }

    fn fetch_issuer(&self, url: &str, cert: &Cert) -> Result<Cert, String> {
        let fail = |what: String| format!("caIssuers {url}: {what}");
        let answer = get(&self.http, url, MAX_OTHER).map_err(fail)?;
        answer.refuse_error_page("a certificate").map_err(fail)?;
        let candidates = certificates_in(&answer.body);
        if candidates.is_empty() {
            return Err(fail(
                "not a DER or PEM certificate nor a PKCS#7 certificate bundle".into(),
            ));
        }
        candidates
            .into_iter()
            .filter_map(|der| Cert::parse(der).ok())
            .find(|candidate| candidate.issued(cert))
            .ok_or_else(|| {
                fail(format!(
                    "no certificate there has signed {}",
                    cert.describe()
                ))
            })
    }

    /// OCSP first (fresh, small, what validators prefer), then CRLs. A "revoked" answer from
    /// either is final; failures move on to the next source.
    fn revocation_of(&self, cert: &Cert, issuer: &Cert) -> Result<Evidence, AdesError> {
        let mut failures = Vec::new();
        // A malformed extension is one source less, not the end: the other may still answer.
        let ocsp_urls = cert.access_urls(ID_AD_OCSP).unwrap_or_else(|e| {
            failures.push(e);
            Vec::new()
        });
        for url in &ocsp_urls {
            match self.ocsp(url, cert, issuer) {
                Ok((der, next_update)) => {
                    return Ok(Evidence {
                        source: Source::Ocsp,
                        der,
                        next_update,
                    });
                }
                Err(Failure::Revoked(why, der)) => {
                    return self.revoked(why, Source::Ocsp, der);
                }
                Err(Failure::Unavailable(why)) => failures.push(why),
            }
        }
        let crl_urls = cert.crl_urls().unwrap_or_else(|e| {
            failures.push(e);
            Vec::new()
        });
        for url in &crl_urls {
            match self.crl(url, cert, issuer) {
                Ok((der, next_update)) => {
                    return Ok(Evidence {
                        source: Source::Crl,
                        der,
                        next_update,
                    });
                }
                Err(Failure::Revoked(why, der)) => {
                    return self.revoked(why, Source::Crl, der);
                }
                Err(Failure::Unavailable(why)) => failures.push(why),
            }
        }
        Err(AdesError::ValidationData(if failures.is_empty() {
            format!(
                "{} names neither an http(s) OCSP responder nor an http(s) CRL distribution \
                 point: its revocation status cannot be obtained",
                cert.describe()
            )
        } else {
            format!(
                "no revocation information for {}: {}",
                cert.describe(),
                failures.join("; ")
            )
        }))
    }

    /// A revoked certificate: an error when signing (B-LT must not embed it), the signed
    /// proof when validating ([`HttpValidationData::for_validation`]).
    fn revoked(&self, why: String, source: Source, der: Vec<u8>) -> Result<Evidence, AdesError> {
        if self.keep_revoked {
            Ok(Evidence {
                source,
                der,
                next_update: None,
            })
        } else {
            Err(AdesError::ValidationData(why))
        }
    }

    /// Asks the OCSP responder at `url` about `cert` (RFC 6960 §4.1, POST as in §A.1) and
    /// returns the DER OCSPResponse when it is successful, signed by the issuer or its
    /// delegated responder, current, and says "good"; with its nextUpdate.
    fn ocsp(
        &self,
        url: &str,
        cert: &Cert,
        issuer: &Cert,
    ) -> Result<(Vec<u8>, Option<u64>), Failure> {
        let unavailable = |what: String| Failure::Unavailable(format!("OCSP {url}: {what}"));
        let request = ocsp_request(cert, issuer)
            .map_err(|e| unavailable(format!("cannot encode the request: {e}")))?;
        let answer = post(
            &self.http,
            url,
            "application/ocsp-request",
            "application/ocsp-response",
            request,
            MAX_OTHER,
        )
        .map_err(unavailable)?;
        answer
            .refuse_error_page("an OCSP response")
            .map_err(unavailable)?;
        let response = OcspResponse::from_der(&answer.body)
            .map_err(|e| unavailable(format!("not a DER OCSPResponse: {e}")))?;
        if response.response_status != OcspResponseStatus::Successful {
            return Err(unavailable(format!(
                "the responder answered {}",
                ocsp_status_name(response.response_status)
            )));
        }
        let bytes = response
            .response_bytes
            .ok_or_else(|| unavailable("successful but without responseBytes".into()))?;
        if bytes.response_type != ID_PKIX_OCSP_BASIC {
            return Err(unavailable(format!(
                "unsupported response type {}",
                bytes.response_type
            )));
        }
        let basic_der = bytes.response.as_bytes();
        let basic = BasicOcspResponse::from_der(basic_der)
            .map_err(|e| unavailable(format!("not a DER BasicOCSPResponse: {e}")))?;
        verify_ocsp_signature(&basic, basic_der, issuer).map_err(unavailable)?;

        let serial = cert.serial();
        let single = basic
            .tbs_response_data
            .responses
            .iter()
            .find(|r| names_certificate(&r.cert_id, issuer, serial))
            .ok_or_else(|| {
                unavailable(format!("the response does not cover {}", cert.describe()))
            })?;
        let now = now_unix();
        let this_update = single.this_update.0.to_unix_duration().as_secs();
        if this_update > now.saturating_add(CLOCK_SKEW_SECS) {
            return Err(unavailable(format!(
                "thisUpdate {} is in the future",
                when(this_update)
            )));
        }
        let next_update = single
            .next_update
            .as_ref()
            .map(|t| t.0.to_unix_duration().as_secs());
        if let Some(next) = next_update
            && next < now
        {
            return Err(unavailable(format!(
                "the response is stale (nextUpdate {})",
                when(next)
            )));
        }
        match &single.cert_status {
            CertStatus::Good(_) => Ok((answer.body, next_update)),
            CertStatus::Revoked(info) => Err(Failure::Revoked(
                format!(
                    "{} is revoked since {}{} according to the OCSP responder {url}",
                    cert.describe(),
                    when(info.revocation_time.0.to_unix_duration().as_secs()),
                    info.revocation_reason
                        .map(|r| format!(" (reason {})", reason_name(r as u8)))
                        .unwrap_or_default()
                ),
                answer.body,
            )),
            CertStatus::Unknown(_) => Err(unavailable(format!(
                "the responder does not know {}",
                cert.describe()
            ))),
        }
    }

    /// Fetches the CRL at `url` and returns it when `issuer` signed it, it is current, and it
    /// does not list `cert`; with its nextUpdate.
    fn crl(
        &self,
        url: &str,
        cert: &Cert,
        issuer: &Cert,
    ) -> Result<(Vec<u8>, Option<u64>), Failure> {
        let unavailable = |what: String| Failure::Unavailable(format!("CRL {url}: {what}"));
        let answer = get(&self.http, url, MAX_CRL).map_err(unavailable)?;
        answer.refuse_error_page("a CRL").map_err(unavailable)?;
        let der = pem_blocks(&answer.body, "X509 CRL")
            .into_iter()
            .next()
            .unwrap_or(answer.body);
        let list = RevocationList::verified(&der, &issuer.der).map_err(|e| {
            unavailable(format!(
                "not a CRL issued by {}: {e}",
                issuer.parsed.tbs_certificate.subject
            ))
        })?;
        let now = now_unix();
        let this_update = u64::try_from(list.this_update).unwrap_or(0);
        if this_update > now.saturating_add(CLOCK_SKEW_SECS) {
            return Err(unavailable(format!(
                "thisUpdate {} is in the future",
                when(this_update)
            )));
        }
        let next_update = list.next_update.map(|t| u64::try_from(t).unwrap_or(0));
        if let Some(next) = next_update
            && next < now
        {
            return Err(unavailable(format!(
                "the CRL is stale (nextUpdate {})",
                when(next)
            )));
        }
        match list.status_of(cert.serial()) {
            RevocationStatus::Good => Ok((der, next_update)),
            RevocationStatus::Revoked { at, reason } => Err(Failure::Revoked(
                format!(
                    "{} is revoked since {}{} according to the CRL {url}",
                    cert.describe(),
                    when(u64::try_from(at).unwrap_or(0)),
                    reason
                        .map(|r| format!(" (reason {})", reason_name(r)))
                        .unwrap_or_default()
                ),
                der,
            )),
            RevocationStatus::Unknown => {
                Err(unavailable(format!("no status for {}", cert.describe())))
            }
        }
    }
}

impl ValidationData for HttpValidationData {
    /// The issuer chain of `certificate` (nearest first, up to and including a self-issued
    /// root) and one OCSP response or CRL for every certificate in it but the root. A revoked
    /// certificate, or one whose status cannot be obtained, is an error.
    fn chain_and_revocation(&self, certificate: &[u8]) -> Result<Revocation, AdesError> {
        let now = now_unix();
        let cached = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(certificate)
            .filter(|hit| hit.fresh_until.is_none_or(|t| now < t))
            .map(|hit| hit.revocation.clone());
        if let Some(hit) = cached {
            return Ok(hit);
        }
        // The lock is not held while fetching: HTTP may take the client's whole timeout.
        let fetched = self.collect(certificate)?;
        let revocation = fetched.revocation.clone();
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(certificate.to_vec(), fetched);
        Ok(revocation)
    }
}

/// [`HttpValidationData::for_validation`] whose HTTP client is made on first use: a validator
/// that finds everything in the signature never pays for the client (the system's roots, a
/// runtime thread), and a server can hold one made outside its async runtime.
#[derive(Debug)]
pub struct LazyValidationData {
    options: crate::HttpOptions,
    known: Vec<Vec<u8>>,
    fetcher: std::sync::OnceLock<Result<HttpValidationData, String>>,
}

impl LazyValidationData {
    pub fn new(options: crate::HttpOptions, known_certificates: Vec<Vec<u8>>) -> Self {
        Self {
            options,
            known: known_certificates,
            fetcher: std::sync::OnceLock::new(),
        }
    }
}

impl ValidationData for LazyValidationData {
    fn chain_and_revocation(&self, certificate: &[u8]) -> Result<Revocation, AdesError> {
        let fetcher = self.fetcher.get_or_init(|| {
            crate::http_client(&self.options)
                .map(|http| HttpValidationData::for_validation(http, self.known.clone()))
                .map_err(|e| e.to_string())
        });
        match fetcher {
            Ok(f) => f.chain_and_revocation(certificate),
            Err(e) => Err(AdesError::ValidationData(e.clone())),
        }
    }
}

/// A cached result and the earliest nextUpdate of its revocation data (Unix seconds), after
/// which it is fetched again; `None` when there is none to honour (a root).
#[derive(Debug)]
struct Cached {
    revocation: Revocation,
    fresh_until: Option<u64>,
}

/// What proves a certificate unrevoked: an OCSP response or a CRL, and its nextUpdate.
struct Evidence {
    source: Source,
    der: Vec<u8>,
    next_update: Option<u64>,
}

enum Source {
    Ocsp,
    Crl,
}

/// Why a revocation source gave no proof: the certificate is revoked (final), or the source
/// could not answer (try the next one).
enum Failure {
    /// Why, and the signed OCSP response or CRL that says so.
    Revoked(String, Vec<u8>),
    Unavailable(String),
}

// ---------------------------------------------------------------------------------------------
// Certificates

/// A certificate with its exact DER (what is embedded) and its parsed form.
struct Cert {
    der: Vec<u8>,
    parsed: Certificate,
}

impl Cert {
    fn parse(der: Vec<u8>) -> Result<Self, der::Error> {
        let parsed = Certificate::from_der(&der)?;
        Ok(Self { der, parsed })
    }

    /// Serial number content octets, as CRL entries and CertIDs carry them.
    fn serial(&self) -> &[u8] {
        self.parsed.tbs_certificate.serial_number.as_bytes()
    }

    /// Subject and serial, for messages.
    fn describe(&self) -> String {
        format!(
            "certificate \"{}\" (serial {})",
            self.parsed.tbs_certificate.subject,
            data_encoding::HEXUPPER.encode(self.serial())
        )
    }

    /// Subject = issuer: a root (or a CA's key-rollover certificate); the chain ends here.
    fn is_self_issued(&self) -> bool {
        self.parsed.tbs_certificate.subject == self.parsed.tbs_certificate.issuer
    }

    /// Whether this certificate issued `child`: names match and the signature verifies.
    fn issued(&self, child: &Cert) -> bool {
        self.parsed.tbs_certificate.subject == child.parsed.tbs_certificate.issuer
            && signet_pki::verify_issued_by(&child.der, &self.der).is_ok()
    }

    fn extension<T: AssociatedOid + for<'a> Decode<'a>>(&self) -> Result<Option<T>, String> {
        self.parsed
            .tbs_certificate
            .extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == T::OID)
            .map(|e| T::from_der(e.extn_value.as_bytes()))
            .transpose()
            .map_err(|e| {
                format!(
                    "{} has a malformed extension {}: {e}",
                    self.describe(),
                    T::OID
                )
            })
    }

    /// The http(s) URLs of authorityInfoAccess entries with `method`, in certificate order.
    fn access_urls(&self, method: ObjectIdentifier) -> Result<Vec<String>, String> {
        Ok(self
            .extension::<AuthorityInfoAccessSyntax>()?
            .map(|aia| aia.0)
            .unwrap_or_default()
            .into_iter()
            .filter(|d| d.access_method == method)
            .filter_map(|d| http_uri(&d.access_location))
            .collect())
    }

    /// The http(s) fullName URIs of the cRLDistributionPoints, in certificate order.
    fn crl_urls(&self) -> Result<Vec<String>, String> {
        Ok(self
            .extension::<CrlDistributionPoints>()?
            .map(|dps| dps.0)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|dp| match dp.distribution_point {
                Some(DistributionPointName::FullName(names)) => Some(names),
                _ => None,
            })
            .flatten()
            .filter_map(|name| http_uri(&name))
            .collect())
    }

    /// Whether this certificate is a responder `issuer` delegated OCSP signing to (RFC 6960
    /// §4.2.2.2: issued by the CA, with id-kp-OCSPSigning).
    fn is_ocsp_responder_for(&self, issuer: &Cert) -> bool {
        let delegated = self
            .extension::<ExtendedKeyUsage>()
            .ok()
            .flatten()
            .is_some_and(|eku| eku.0.contains(&ID_KP_OCSP_SIGNING));
        delegated && issuer.issued(self)
    }

    fn public_key_der(&self) -> Option<Vec<u8>> {
        self.parsed
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .ok()
    }
}

/// A URI general name that is an http or https URL.
fn http_uri(name: &GeneralName) -> Option<String> {
    match name {
        GeneralName::UniformResourceIdentifier(uri) => {
            let uri = uri.to_string();
            let lower = uri.to_ascii_lowercase();
            (lower.starts_with("http://") || lower.starts_with("https://")).then_some(uri)
        }
        _ => None,
    }
}

/// The DER certificates in what a caIssuers URL serves: one DER certificate
/// (`application/pkix-cert`, RFC 5280 §4.2.2.1), a "certs-only" PKCS#7 bundle
/// (`application/pkcs7-mime`), or PEM.
fn certificates_in(body: &[u8]) -> Vec<Vec<u8>> {
    if Certificate::from_der(body).is_ok() {
        return vec![body.to_vec()];
    }
    if let Some(certs) = certs_only(body) {
        return certs;
    }
    let mut certs = pem_blocks(body, "CERTIFICATE");
    for bundle in pem_blocks(body, "PKCS7") {
        certs.extend(certs_only(&bundle).unwrap_or_default());
    }
    certs
}

/// The certificates of a degenerate SignedData (RFC 5652 §5.1; RFC 5280 §4.2.2.1 "certs-only"):
///
/// ```text
/// ContentInfo { signedData, [0] SignedData { version, digestAlgorithms, encapContentInfo,
///                                            [0] IMPLICIT certificates, ... } }
/// ```
///
/// Only plain certificates are taken (CertificateChoices' SEQUENCE alternative).
fn certs_only(body: &[u8]) -> Option<Vec<Vec<u8>>> {
    let explicit0 = Tag::ContextSpecific {
        constructed: true,
        number: TagNumber::N0,
    };
    let content_info = AnyRef::from_der(body).ok()?;
    if content_info.tag() != Tag::Sequence {
        return None;
    }
    let mut reader = SliceReader::new(content_info.value()).ok()?;
    if reader.decode::<ObjectIdentifier>().ok()? != ID_SIGNED_DATA {
        return None;
    }
    let content: AnyRef<'_> = reader.decode().ok()?;
    if content.tag() != explicit0 {
        return None;
    }
    let signed_data = AnyRef::from_der(content.value()).ok()?;
    if signed_data.tag() != Tag::Sequence {
        return None;
    }
    let mut reader = SliceReader::new(signed_data.value()).ok()?;
    // version, digestAlgorithms, encapContentInfo
    for _ in 0..3 {
        reader.decode::<AnyRef<'_>>().ok()?;
    }
    let mut certs = Vec::new();
    while !reader.is_finished() {
        let field: AnyRef<'_> = reader.decode().ok()?;
        if field.tag() != explicit0 {
            continue;
        }
        let mut set = SliceReader::new(field.value()).ok()?;
        while !set.is_finished() {
            let choice: AnyRef<'_> = set.decode().ok()?;
            if choice.tag() == Tag::Sequence {
                certs.push(choice.to_der().ok()?);
            }
        }
    }
    Some(certs)
}

/// The contents of the PEM blocks labelled `label` (RFC 7468), leniently: any line length,
/// CRLF or LF, text around the blocks ignored.
fn pem_blocks(body: &[u8], label: &str) -> Vec<Vec<u8>> {
    let Ok(text) = std::str::from_utf8(body) else {
        return Vec::new();
    };
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let inside = &rest[start + begin.len()..];
        let Some(stop) = inside.find(&end) else {
            break;
        };
        let base64: String = inside[..stop]
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        if let Ok(der) = data_encoding::BASE64.decode(base64.as_bytes()) {
            blocks.push(der);
        }
        rest = &inside[stop + end.len()..];
    }
    blocks
}

// ---------------------------------------------------------------------------------------------
// OCSP

/// A DER OCSPRequest for `cert` with one SHA-1 CertID and no nonce: RFC 5019 §2.1 (what
/// every responder answers; a nonce would defeat responders that pre-produce responses).
fn ocsp_request(cert: &Cert, issuer: &Cert) -> Result<Vec<u8>, der::Error> {
    let cert_id = CertId {
        hash_algorithm: AlgorithmIdentifierOwned {
            oid: ID_SHA1,
            parameters: Some(Any::null()),
        },
        issuer_name_hash: OctetString::new(sha1(&issuer.parsed.tbs_certificate.subject.to_der()?))?,
        issuer_key_hash: OctetString::new(sha1(issuer_key(issuer)))?,
        serial_number: cert.parsed.tbs_certificate.serial_number.clone(),
    };
    OcspRequest {
        tbs_request: TbsRequest {
            request_list: vec![Request {
                req_cert: cert_id,
                single_request_extensions: None,
            }],
            ..TbsRequest::default()
        },
        optional_signature: None,
    }
    .to_der()
}

/// The issuer's subjectPublicKey BIT STRING value: what issuerKeyHash covers (RFC 6960 §4.1.1).
fn issuer_key(issuer: &Cert) -> &[u8] {
    issuer
        .parsed
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes()
}

/// Whether `id` names the certificate `serial` of `issuer`, hashed with the CertID's own
/// algorithm (SHA-1 or SHA-2): a responder may answer with another hash than requested.
fn names_certificate(id: &CertId, issuer: &Cert, serial: &[u8]) -> bool {
    let hash = |data: &[u8]| -> Option<Vec<u8>> {
        if id.hash_algorithm.oid == ID_SHA1 {
            Some(sha1(data))
        } else {
            HashAlgorithm::from_oid(&id.hash_algorithm.oid.to_string())
                .ok()
                .map(|h| h.digest(data))
        }
    };
    let Ok(name) = issuer.parsed.tbs_certificate.subject.to_der() else {
        return false;
    };
    id.serial_number.as_bytes() == serial
        && hash(&name).as_deref() == Some(id.issuer_name_hash.as_bytes())
        && hash(issuer_key(issuer)).as_deref() == Some(id.issuer_key_hash.as_bytes())
}

/// Checks that the issuer itself, or a responder it authorized whose certificate is in the
/// response, signed it (RFC 6960 §4.2.2.2 cases 1 and 2). The signature covers the DER of
/// tbsResponseData exactly as received.
fn verify_ocsp_signature(
    basic: &BasicOcspResponse,
    basic_der: &[u8],
    issuer: &Cert,
) -> Result<(), String> {
    let mechanism = signature_mechanism(&basic.signature_algorithm.oid).ok_or_else(|| {
        format!(
            "unsupported signature algorithm {}",
            basic.signature_algorithm.oid
        )
    })?;
    let signature = basic
        .signature
        .as_bytes()
        .ok_or("the signature BIT STRING has unused bits")?;
    let tbs = first_element(basic_der).map_err(|e| format!("malformed response: {e}"))?;
    let delegated = basic
        .certs
        .iter()
        .flatten()
        .filter_map(|c| c.to_der().ok())
        .filter_map(|der| Cert::parse(der).ok())
        .filter(|c| c.is_ocsp_responder_for(issuer));
    let verified = std::iter::once(issuer.public_key_der())
        .chain(delegated.map(|responder| responder.public_key_der()))
        .flatten()
        .any(|spki| signet_pki::verify_message(&spki, mechanism, &tbs, signature).is_ok());
    if verified {
        Ok(())
    } else {
        Err("the response is signed neither by the issuer nor by a responder it authorized".into())
    }
}

/// The signature mechanisms `signet_pki::verify_message` checks: ECDSA and RSA PKCS#1 v1.5
/// with SHA-2. (An RSASSA-PSS-signed response falls back to the CRL.)
fn signature_mechanism(oid: &ObjectIdentifier) -> Option<SignMechanism> {
    use HashAlgorithm::{Sha256, Sha384, Sha512};
    use signet_core::oid as o;
    Some(match oid.to_string().as_str() {
        o::ECDSA_WITH_SHA256 => SignMechanism::Ecdsa { hash: Sha256 },
        o::ECDSA_WITH_SHA384 => SignMechanism::Ecdsa { hash: Sha384 },
        o::ECDSA_WITH_SHA512 => SignMechanism::Ecdsa { hash: Sha512 },
        o::SHA256_WITH_RSA => SignMechanism::RsaPkcs1 { hash: Sha256 },
        o::SHA384_WITH_RSA => SignMechanism::RsaPkcs1 { hash: Sha384 },
        o::SHA512_WITH_RSA => SignMechanism::RsaPkcs1 { hash: Sha512 },
        _ => return None,
    })
}

/// The DER of the first element of a SEQUENCE, as received.
fn first_element(sequence_der: &[u8]) -> Result<Vec<u8>, der::Error> {
    let outer = AnyRef::from_der(sequence_der)?;
    let mut reader = SliceReader::new(outer.value())?;
    reader.decode::<AnyRef<'_>>()?.to_der()
}

fn sha1(data: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, data)
        .as_ref()
        .to_vec()
}

/// OCSPResponseStatus names (RFC 6960 §4.2.1).
fn ocsp_status_name(status: OcspResponseStatus) -> &'static str {
    match status {
        OcspResponseStatus::Successful => "successful",
        OcspResponseStatus::MalformedRequest => "malformedRequest",
        OcspResponseStatus::InternalError => "internalError",
        OcspResponseStatus::TryLater => "tryLater",
        OcspResponseStatus::SigRequired => "sigRequired",
        OcspResponseStatus::Unauthorized => "unauthorized",
    }
}

/// CRLReason names (RFC 5280 §5.3.1).
fn reason_name(code: u8) -> String {
    match code {
        0 => "unspecified".into(),
        1 => "keyCompromise".into(),
        2 => "cACompromise".into(),
        3 => "affiliationChanged".into(),
        4 => "superseded".into(),
        5 => "cessationOfOperation".into(),
        6 => "certificateHold".into(),
        8 => "removeFromCRL".into(),
        9 => "privilegeWithdrawn".into(),
        10 => "aACompromise".into(),
        other => other.to_string(),
    }
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A Unix time as RFC 3339 UTC, for messages.
fn when(unix_secs: u64) -> String {
    der::DateTime::from_unix_duration(Duration::from_secs(unix_secs))
        .map_or_else(|_| format!("@{unix_secs}"), |t| t.to_string())
}

// ---------------------------------------------------------------------------------------------
// HTTP

/// A 200 answer.
struct Answer {
    content_type: Option<String>,
    body: Vec<u8>,
}

impl Answer {
    /// Refuses what is plainly an error page (HTML, JSON, XML) with a message that says so,
    /// rather than a DER parse error. Anything else is left to the parser: servers label
    /// these media types loosely (`application/octet-stream`, `text/plain` for PEM…).
    fn refuse_error_page(&self, expected: &str) -> Result<(), String> {
        let Some(content_type) = &self.content_type else {
            return Ok(());
        };
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if essence.contains("html") || essence.contains("json") || essence.contains("xml") {
            Err(format!(
                "the server answered {essence}, not {expected} ({})",
                printable(&String::from_utf8_lossy(&self.body), 120)
            ))
        } else {
            Ok(())
        }
    }
}

/// `url` parsed, if it is http or https.
fn http_url(url: &str) -> Result<url::Url, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("not a URL ({e})"))?;
    match parsed.scheme() {
        "http" | "https" => Ok(parsed),
        other => Err(format!("{other} URLs are not fetched, only http(s)")),
    }
}

/// GET `url`, following at most [`MAX_REDIRECTS`] redirects to other http(s) URLs. Errors
/// do not repeat `url` (the caller names it) but do name where a redirect led.
/// GETs `url` (http or https, a few redirects followed) and returns at most `limit` bytes of
/// its body: trusted lists and other files a validation names by URL.
pub fn get_bytes(
    http: &reqwest::blocking::Client,
    url: &str,
    limit: usize,
) -> Result<Vec<u8>, String> {
    get(http, url, limit).map(|answer| answer.body)
}

fn get(http: &reqwest::blocking::Client, url: &str, limit: usize) -> Result<Answer, String> {
    let mut current = http_url(url)?;
    let mut redirected = false;
    for _ in 0..=MAX_REDIRECTS {
        let at = |e: String| {
            if redirected {
                format!("redirected to {current}: {e}")
            } else {
                e
            }
        };
        let response = http
            .get(current.clone())
            .send()
            .map_err(|e| at(describe_failure(&e)))?;
        if response.status().is_redirection()
            && let Some(location) = response.headers().get(LOCATION)
        {
            let next = location
                .to_str()
                .ok()
                .and_then(|location| current.join(location).ok())
                .ok_or_else(|| at("unreadable redirect Location".into()))?;
            current = http_url(next.as_str()).map_err(|e| format!("redirected to {next}: {e}"))?;
            redirected = true;
            continue;
        }
        return read(response, limit).map_err(at);
    }
    Err(format!("more than {MAX_REDIRECTS} redirects"))
}

/// POST `body` as `content_type` to `url` (no redirects: a POST is not replayed elsewhere).
fn post(
    http: &reqwest::blocking::Client,
    url: &str,
    content_type: &str,
    accept: &str,
    body: Vec<u8>,
    limit: usize,
) -> Result<Answer, String> {
    let response = http
        .post(http_url(url)?)
        .header(CONTENT_TYPE, content_type)
        .header(ACCEPT, accept)
        .body(body)
        .send()
        .map_err(|e| describe_failure(&e))?;
    read(response, limit)
}

/// The body of a 200 answer, at most `limit` bytes.
fn read(mut response: reqwest::blocking::Response, limit: usize) -> Result<Answer, String> {
    let status = response.status();
    if status != reqwest::StatusCode::OK {
        return Err(format!("the server answered HTTP {status}"));
    }
    let too_large = || format!("the answer is larger than {limit} bytes");
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = read_limited(&mut response, limit as u64)
        .map_err(|e| format!("reading the answer failed: {e}"))?
        .ok_or_else(too_large)?;
    Ok(Answer { content_type, body })
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use signet_core::KeyType;
    use signet_keys::{KeyAccess, KeyProvisioning, MasterKey, ServiceKeys, SoftKeyModule};
    use signet_pki::{
        EmbeddedCa, RevokedCertificate, SubjectName, TimeStampAuthority, ValidationUrls,
    };

    use super::*;

    // -----------------------------------------------------------------------------------------
    // A tiny HTTP/1.1 server: one connection at a time, answers by path, counts requests.

    struct Reply {
        status: u16,
        content_type: &'static str,
        location: Option<String>,
        body: Vec<u8>,
    }

    impl Reply {
        fn ok(content_type: &'static str, body: Vec<u8>) -> Self {
            Self {
                status: 200,
                content_type,
                location: None,
                body,
            }
        }

        fn status(status: u16) -> Self {
            Self {
                status,
                content_type: "text/plain",
                location: None,
                body: b"no".to_vec(),
            }
        }
    }

    type Handler = Box<dyn Fn(&[u8]) -> Reply + Send + Sync>;

    struct Server {
        base: String,
        routes: Arc<Mutex<HashMap<String, Handler>>>,
        requests: Arc<AtomicUsize>,
        paths: Arc<Mutex<Vec<String>>>,
    }

    impl Server {
        fn start() -> Self {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            let routes: Arc<Mutex<HashMap<String, Handler>>> = Arc::default();
            let requests = Arc::new(AtomicUsize::new(0));
            let paths: Arc<Mutex<Vec<String>>> = Arc::default();
            let (r, n, p) = (routes.clone(), requests.clone(), paths.clone());
            // The thread ends with the test process; each test has its own port.
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    let _ = serve(stream, &r, &n, &p);
                }
            });
            Self {
                base,
                routes,
                requests,
                paths,
            }
        }

        fn url(&self, path: &str) -> String {
            format!("{}{path}", self.base)
        }

        fn route(&self, path: &str, handler: impl Fn(&[u8]) -> Reply + Send + Sync + 'static) {
            self.routes
                .lock()
                .unwrap()
                .insert(path.to_owned(), Box::new(handler));
        }

        fn fixed(&self, path: &str, content_type: &'static str, body: Vec<u8>) {
            self.route(path, move |_| Reply::ok(content_type, body.clone()));
        }

        fn requests(&self) -> usize {
            self.requests.load(Ordering::SeqCst)
        }

        fn hits(&self, path: &str) -> usize {
            self.paths
                .lock()
                .unwrap()
                .iter()
                .filter(|p| *p == path)
                .count()
        }
    }

    fn serve(
        stream: TcpStream,
        routes: &Mutex<HashMap<String, Handler>>,
        requests: &AtomicUsize,
        paths: &Mutex<Vec<String>>,
    ) -> std::io::Result<()> {
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut request_line = String::new();
        reader.read_line(&mut request_line)?;
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("/")
            .to_owned();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        requests.fetch_add(1, Ordering::SeqCst);
        paths.lock().unwrap().push(path.clone());
        let reply = match routes.lock().unwrap().get(&path) {
            Some(handler) => handler(&body),
            None => Reply::status(404),
        };
        let mut out = stream;
        let mut head = format!(
            "HTTP/1.1 {} X\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
            reply.status,
            reply.content_type,
            reply.body.len()
        );
        if let Some(location) = &reply.location {
            head.push_str(&format!("Location: {location}\r\n"));
        }
        head.push_str("\r\n");
        out.write_all(head.as_bytes())?;
        out.write_all(&reply.body)?;
        out.flush()
    }

    /// A base URL where nothing listens (the port was just released).
    fn closed_base() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        base
    }

    /// Configured like the crate's client: aws-lc-rs rustls provider, no redirects.
    fn client() -> reqwest::blocking::Client {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    // -----------------------------------------------------------------------------------------
    // A real PKI: the embedded CA on a software key module, its URLs on the test server.

    struct Pki {
        keys: ServiceKeys,
        signers: KeyProvisioning,
        ca: EmbeddedCa,
    }

    fn pki(base: &str) -> Pki {
        let access = KeyAccess::new(Arc::new(SoftKeyModule::new(MasterKey::generate().unwrap())));
        let keys = access.service_keys();
        let mut ca = EmbeddedCa::create(&keys, KeyType::EcP256, "Test CA", None, 30).unwrap();
        ca.urls = Some(ValidationUrls::under(base));
        Pki {
            keys,
            signers: access.provisioning(),
            ca,
        }
    }

    fn name(cn: &str) -> SubjectName {
        SubjectName {
            common_name: cn.into(),
            organization: None,
            country: None,
        }
    }

    impl Pki {
        fn signer(&self) -> Vec<u8> {
            let key = self
                .signers
                .generate_signer_key(KeyType::EcP256, "alice")
                .unwrap();
            self.ca
                .issue_signer_certificate(&self.keys, &name("Alice"), &key.public_key_der, 30)
                .unwrap()
        }

        fn crl(&self, revoked: &[&[u8]]) -> Vec<u8> {
            let entries: Vec<RevokedCertificate> = revoked
                .iter()
                .map(|serial| RevokedCertificate {
                    serial: serial.to_vec(),
                    revoked_at: now_unix() as i64 - 60,
                    reason: Some(1),
                })
                .collect();
            self.ca.crl(&self.keys, &entries, 1, 24).unwrap()
        }

        /// Serves the CA certificate, a CRL listing `revoked`, and an OCSP responder
        /// answering `ocsp` for every certificate.
        fn serve(&self, server: &Server, revoked: &[&[u8]], ocsp: Option<RevocationStatus>) {
            server.fixed(
                "/ca/cert",
                "application/pkix-cert",
                self.ca.certificate.clone(),
            );
            server.fixed("/ca/crl", "application/pkix-crl", self.crl(revoked));
            match ocsp {
                Some(status) => {
                    let (ca, keys) = (self.ca.clone(), self.keys.clone());
                    server.route("/ocsp", move |request| {
                        let der = ca.ocsp_response(&keys, request, &|_| status).unwrap();
                        Reply::ok("application/ocsp-response", der)
                    });
                }
                None => server.route("/ocsp", |_| Reply::status(500)),
            }
        }
    }

    fn message(result: Result<Revocation, AdesError>) -> String {
        match result {
            Err(AdesError::ValidationData(m)) => m,
            other => panic!("expected a ValidationData error, got {other:?}"),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Validation data

    #[test]
    fn chain_from_ca_issuers_and_crl_when_ocsp_fails() {
        let server = Server::start();
        let pki = pki(&server.base);
        pki.serve(&server, &[], None);
        let signer = pki.signer();
        let data = HttpValidationData::new(client(), vec![]);
        let found = data.chain_and_revocation(&signer).unwrap();
        assert_eq!(found.certificates, vec![pki.ca.certificate.clone()]);
        assert_eq!(found.crls.len(), 1);
        assert!(found.ocsp.is_empty());
        RevocationList::verified(&found.crls[0], &pki.ca.certificate).unwrap();
        assert_eq!(server.hits("/ca/cert"), 1);
        assert_eq!(server.hits("/ocsp"), 1);
        assert_eq!(server.hits("/ca/crl"), 1);
    }

    #[test]
    fn ocsp_good_is_preferred_and_known_issuers_are_not_fetched() {
        let server = Server::start();
        let pki = pki(&server.base);
        pki.serve(&server, &[], Some(RevocationStatus::Good));
        let signer = pki.signer();
        // The credential's chain as credentials/info gives it: the certificate, then the CA.
        let data =
            HttpValidationData::new(client(), vec![signer.clone(), pki.ca.certificate.clone()]);
        let found = data.chain_and_revocation(&signer).unwrap();
        assert_eq!(found.certificates, vec![pki.ca.certificate.clone()]);
        assert!(found.crls.is_empty());
        assert_eq!(found.ocsp.len(), 1);
        // Exactly what the responder produced, and about this certificate.
        let response = OcspResponse::from_der(&found.ocsp[0]).unwrap();
        assert_eq!(response.response_status, OcspResponseStatus::Successful);
        let basic =
            BasicOcspResponse::from_der(response.response_bytes.unwrap().response.as_bytes())
                .unwrap();
        let single = &basic.tbs_response_data.responses[0];
        assert_eq!(
            single.cert_id.serial_number.as_bytes(),
            signet_pki::certificate_serial(&signer).unwrap()
        );
        assert!(matches!(single.cert_status, CertStatus::Good(_)));
        assert_eq!(server.hits("/ca/cert"), 0);
        assert_eq!(server.hits("/ca/crl"), 0);
        assert_eq!(server.hits("/ocsp"), 1);
    }

    #[test]
    fn ocsp_unknown_falls_back_to_the_crl() {
        let server = Server::start();
        let pki = pki(&server.base);
        pki.serve(&server, &[], Some(RevocationStatus::Unknown));
        let signer = pki.signer();
        let data = HttpValidationData::new(client(), vec![pki.ca.certificate.clone()]);
        let found = data.chain_and_revocation(&signer).unwrap();
        assert!(found.ocsp.is_empty());
        assert_eq!(found.crls.len(), 1);
    }

    #[test]
    fn ocsp_with_a_bad_signature_falls_back_to_the_crl() {
        let server = Server::start();
        let pki = pki(&server.base);
        pki.serve(&server, &[], None);
        let (ca, keys) = (pki.ca.clone(), pki.keys.clone());
        server.route("/ocsp", move |request| {
            let der = ca
                .ocsp_response(&keys, request, &|_| RevocationStatus::Good)
                .unwrap();
            // Same CertID and status, but producedAt moved: the signature no longer covers it.
            let mut response = OcspResponse::from_der(&der).unwrap();
            let bytes = response.response_bytes.as_mut().unwrap();
            let mut basic = BasicOcspResponse::from_der(bytes.response.as_bytes()).unwrap();
            let produced = basic.tbs_response_data.produced_at.0.to_unix_duration();
            basic.tbs_response_data.produced_at.0 =
                der::asn1::GeneralizedTime::from_unix_duration(produced + Duration::from_secs(1))
                    .unwrap();
            bytes.response = OctetString::new(basic.to_der().unwrap()).unwrap();
            Reply::ok("application/ocsp-response", response.to_der().unwrap())
        });
        let signer = pki.signer();
        let data = HttpValidationData::new(client(), vec![pki.ca.certificate.clone()]);
        let found = data.chain_and_revocation(&signer).unwrap();
        assert!(found.ocsp.is_empty());
        assert_eq!(found.crls.len(), 1);
        assert_eq!(server.hits("/ocsp"), 1);

        // Without a CRL the OCSP failure is what the error says.
        server.route("/ca/crl", |_| Reply::status(503));
        let data = HttpValidationData::new(client(), vec![pki.ca.certificate.clone()]);
        let m = message(data.chain_and_revocation(&signer));
        assert!(m.contains("signed neither by the issuer"), "{m}");
        assert!(m.contains("503"), "{m}");
    }

    #[test]
    fn ocsp_refused_by_another_ca_falls_back_to_the_crl() {
        let server = Server::start();
        let pki = pki(&server.base);
        pki.serve(&server, &[], None);
        // An impostor CA with the same name answers OCSP: its CertIDs would not match ours
        // (other key), so its responder says "unauthorized", and the CRL is used instead.
        let impostor = self::pki(&server.base);
        let (ca, keys) = (impostor.ca.clone(), impostor.keys.clone());
        server.route("/ocsp", move |request| {
            let der = ca
                .ocsp_response(&keys, request, &|_| RevocationStatus::Good)
                .unwrap();
            Reply::ok("application/ocsp-response", der)
        });
        let signer = pki.signer();
        let data = HttpValidationData::new(client(), vec![pki.ca.certificate.clone()]);
        let found = data.chain_and_revocation(&signer).unwrap();
        assert!(found.ocsp.is_empty());
        assert_eq!(found.crls.len(), 1);

        server.route("/ca/crl", |_| Reply::status(404));
        let data = HttpValidationData::new(client(), vec![pki.ca.certificate.clone()]);
        let m = message(data.chain_and_revocation(&signer));
        assert!(m.contains("answered unauthorized"), "{m}");
        assert!(m.contains("404"), "{m}");
    }

    #[test]
    fn revoked_by_crl_is_an_error() {
        let server = Server::start();
        let pki = pki(&server.base);
        let signer = pki.signer();
        let serial = signet_pki::certificate_serial(&signer).unwrap();
        pki.serve(&server, &[&serial], None);
        let data = HttpValidationData::new(client(), vec![pki.ca.certificate.clone()]);
        let m = message(data.chain_and_revocation(&signer));
        assert!(m.contains("is revoked"), "{m}");
        assert!(m.contains("keyCompromise"), "{m}");
        assert!(m.contains(&server.url("/ca/crl")), "{m}");
    }

    #[test]
    fn revoked_by_ocsp_is_an_error_even_if_the_crl_disagrees() {
        let server = Server::start();
        let pki = pki(&server.base);
        let at = now_unix() as i64 - 60;
        pki.serve(
            &server,
            &[],
            Some(RevocationStatus::Revoked {
                at,
                reason: Some(1),
            }),
        );
        let signer = pki.signer();
        let data = HttpValidationData::new(client(), vec![pki.ca.certificate.clone()]);
        let m = message(data.chain_and_revocation(&signer));
        assert!(m.contains("is revoked"), "{m}");
        assert!(m.contains(&server.url("/ocsp")), "{m}");
        assert_eq!(server.hits("/ca/crl"), 0);
    }

    #[test]
    fn unreachable_revocation_sources_are_an_error() {
        let closed = closed_base();
        let pki = pki(&closed);
        let signer = pki.signer();
        let data = HttpValidationData::new(client(), vec![pki.ca.certificate.clone()]);
        let m = message(data.chain_and_revocation(&signer));
        assert!(m.contains("no revocation information"), "{m}");
        assert!(m.contains(&format!("{closed}/ocsp")), "{m}");
        assert!(m.contains(&format!("{closed}/ca/crl")), "{m}");
        assert!(m.contains("cannot connect"), "{m}");
    }

    #[test]
    fn unreachable_issuer_is_an_error() {
        let closed = closed_base();
        let pki = pki(&closed);
        let signer = pki.signer();
        let data = HttpValidationData::new(client(), vec![]);
        let m = message(data.chain_and_revocation(&signer));
        assert!(m.contains("issuer"), "{m}");
        assert!(m.contains(&format!("{closed}/ca/cert")), "{m}");
    }

    #[test]
    fn missing_answers_are_an_error_naming_the_status() {
        let server = Server::start();
        let pki = pki(&server.base);
        let signer = pki.signer();
        // Nothing is routed: every URL answers 404.
        let data = HttpValidationData::new(client(), vec![pki.ca.certificate.clone()]);
        let m = message(data.chain_and_revocation(&signer));
        assert!(m.contains("404"), "{m}");
    }

    #[test]
    fn certificate_without_urls_is_an_error() {
        let server = Server::start();
        let mut pki = pki(&server.base);
        pki.ca.urls = None;
        let signer = pki.signer();
        let data = HttpValidationData::new(client(), vec![pki.ca.certificate.clone()]);
        let m = message(data.chain_and_revocation(&signer));
        assert!(m.contains("neither"), "{m}");
        assert_eq!(server.requests(), 0);
    }

    #[test]
    fn results_are_cached_per_certificate() {
        let server = Server::start();
        let pki = pki(&server.base);
        pki.serve(&server, &[], Some(RevocationStatus::Good));
        let signer = pki.signer();
        let data = HttpValidationData::new(client(), vec![]);
        let first = data.chain_and_revocation(&signer).unwrap();
        let requests = server.requests();
        assert_eq!(requests, 2); // caIssuers, OCSP
        let second = data.chain_and_revocation(&signer).unwrap();
        assert_eq!(first, second);
        assert_eq!(server.requests(), requests);
    }

    #[test]
    fn stale_cache_entries_are_fetched_again() {
        let server = Server::start();
        let pki = pki(&server.base);
        pki.serve(&server, &[], Some(RevocationStatus::Good));
        let signer = pki.signer();
        let data = HttpValidationData::new(client(), vec![pki.ca.certificate.clone()]);
        data.chain_and_revocation(&signer).unwrap();
        {
            let mut cache = data.cache.lock().unwrap();
            let entry = cache.get_mut(&signer).unwrap();
            // The OCSP response's nextUpdate, an hour from now.
            let fresh_until = entry.fresh_until.unwrap();
            assert!(fresh_until > now_unix() + 3_000 && fresh_until <= now_unix() + 3_600);
            entry.fresh_until = Some(now_unix() - 1);
        }
        data.chain_and_revocation(&signer).unwrap();
        assert_eq!(server.hits("/ocsp"), 2);
    }

    #[test]
    fn failures_are_not_cached() {
        let server = Server::start();
        let pki = pki(&server.base);
        let signer = pki.signer();
        let data = HttpValidationData::new(client(), vec![pki.ca.certificate.clone()]);
        assert!(data.chain_and_revocation(&signer).is_err());
        pki.serve(&server, &[], Some(RevocationStatus::Good));
        assert_eq!(data.chain_and_revocation(&signer).unwrap().ocsp.len(), 1);
    }

    #[test]
    fn a_root_needs_no_revocation_data() {
        let pki = pki(&closed_base());
        let data = HttpValidationData::new(client(), vec![]);
        let found = data.chain_and_revocation(&pki.ca.certificate).unwrap();
        assert!(found.is_empty());
    }

    #[test]
    fn known_impostor_issuer_is_skipped() {
        let server = Server::start();
        let pki = pki(&server.base);
        pki.serve(&server, &[], None);
        let impostor = self::pki(&server.base); // same name "Test CA", another key
        let signer = pki.signer();
        let data = HttpValidationData::new(client(), vec![impostor.ca.certificate.clone()]);
        let found = data.chain_and_revocation(&signer).unwrap();
        assert_eq!(found.certificates, vec![pki.ca.certificate.clone()]);
        assert_eq!(server.hits("/ca/cert"), 1);

        // And an impostor served at the caIssuers URL is refused.
        server.fixed(
            "/ca/cert",
            "application/pkix-cert",
            impostor.ca.certificate.clone(),
        );
        let data = HttpValidationData::new(client(), vec![]);
        let m = message(data.chain_and_revocation(&signer));
        assert!(m.contains("no certificate there has signed"), "{m}");
    }

    #[test]
    fn issuer_as_pem_or_pkcs7_bundle() {
        let server = Server::start();
        let pki = pki(&server.base);
        pki.serve(&server, &[], None);
        let signer = pki.signer();
        let pem = signet_pki::pem_certificate(&pki.ca.certificate).replace('\n', "\r\n");
        server.fixed("/ca/cert", "text/plain", pem.into_bytes());
        let data = HttpValidationData::new(client(), vec![]);
        let found = data.chain_and_revocation(&signer).unwrap();
        assert_eq!(found.certificates, vec![pki.ca.certificate.clone()]);

        // certs-only SignedData with an unrelated certificate first.
        let bundle = certs_only_bundle(&[&signer, &pki.ca.certificate]);
        assert_eq!(
            certs_only(&bundle).unwrap(),
            vec![signer.clone(), pki.ca.certificate.clone()]
        );
        server.fixed("/ca/cert", "application/pkcs7-mime", bundle);
        let data = HttpValidationData::new(client(), vec![]);
        let found = data.chain_and_revocation(&signer).unwrap();
        assert_eq!(found.certificates, vec![pki.ca.certificate.clone()]);
    }

    /// DER TLV with a short or long definite length.
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes: Vec<u8> = len
                .to_be_bytes()
                .into_iter()
                .skip_while(|b| *b == 0)
                .collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend(bytes);
        }
        out.extend_from_slice(content);
        out
    }

    fn certs_only_bundle(certs: &[&[u8]]) -> Vec<u8> {
        let id_data = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
        let signed_data = [
            tlv(0x02, &[1]),                       // version
            tlv(0x31, &[]),                        // digestAlgorithms
            tlv(0x30, &id_data.to_der().unwrap()), // encapContentInfo
            tlv(0xa0, &certs.concat()),            // certificates
            tlv(0x31, &[]),                        // signerInfos
        ]
        .concat();
        tlv(
            0x30,
            &[
                ID_SIGNED_DATA.to_der().unwrap(),
                tlv(0xa0, &tlv(0x30, &signed_data)),
            ]
            .concat(),
        )
    }

    fn redirect(status: u16, location: &str) -> Reply {
        Reply {
            status,
            content_type: "text/plain",
            location: Some(location.to_owned()),
            body: Vec::new(),
        }
    }

    #[test]
    fn redirects_are_followed_for_get() {
        let server = Server::start();
        let pki = pki(&server.base);
        pki.serve(&server, &[], None);
        // The CRL moved (relative Location), the CA certificate too (absolute Location).
        server.fixed("/crl/current.crl", "application/pkix-crl", pki.crl(&[]));
        server.route("/ca/crl", |_| redirect(301, "../crl/current.crl"));
        server.fixed(
            "/certs/ca.der",
            "application/pkix-cert",
            pki.ca.certificate.clone(),
        );
        let moved = server.url("/certs/ca.der");
        server.route("/ca/cert", move |_| redirect(302, &moved));
        let signer = pki.signer();
        let data = HttpValidationData::new(client(), vec![]);
        let found = data.chain_and_revocation(&signer).unwrap();
        assert_eq!(found.certificates, vec![pki.ca.certificate.clone()]);
        assert_eq!(found.crls.len(), 1);
        assert_eq!(server.hits("/crl/current.crl"), 1);

        let client = client();
        server.route("/loop", |_| redirect(302, "/loop"));
        let e = get(&client, &server.url("/loop"), MAX_OTHER).err().unwrap();
        assert!(e.contains("more than 3 redirects"), "{e}");
        server.route("/elsewhere", |_| redirect(307, "file:///etc/passwd"));
        let e = get(&client, &server.url("/elsewhere"), MAX_OTHER)
            .err()
            .unwrap();
        assert!(e.contains("redirected to file:///etc/passwd"), "{e}");
        assert!(e.contains("only http(s)"), "{e}");
        server.route("/gone", |_| redirect(302, "/nothing-here"));
        let e = get(&client, &server.url("/gone"), MAX_OTHER).err().unwrap();
        assert!(e.contains("/nothing-here"), "{e}");
        assert!(e.contains("404"), "{e}");
    }

    #[test]
    fn answers_are_size_capped() {
        let server = Server::start();
        server.fixed("/big", "application/pkix-cert", vec![0x30; MAX_OTHER + 1]);
        let e = get(&client(), &server.url("/big"), MAX_OTHER)
            .err()
            .unwrap();
        assert!(e.contains("larger than"), "{e}");
    }

    #[test]
    fn only_http_urls_are_fetched() {
        let e = get(
            &client(),
            "ldap://ldap.example/cn=CA?cACertificate",
            MAX_OTHER,
        )
        .err()
        .unwrap();
        assert!(e.contains("only http(s)"), "{e}");
        let e = get(&client(), "file:///etc/passwd", MAX_OTHER)
            .err()
            .unwrap();
        assert!(e.contains("only http(s)"), "{e}");
    }

    // -----------------------------------------------------------------------------------------
    // RFC 3161

    fn tsa_server() -> (Server, Pki, TimeStampAuthority) {
        let server = Server::start();
        let pki = pki(&server.base);
        let tsa = TimeStampAuthority::create(
            &pki.keys,
            &pki.ca,
            KeyType::EcP256,
            &name("Test TSA"),
            30,
            signet_pki::tsa::DEFAULT_POLICY_OID,
        )
        .unwrap();
        (server, pki, tsa)
    }

    fn stamp_error(stamper: &Rfc3161TimeStamper) -> String {
        let digest = HashAlgorithm::Sha256.digest(b"document");
        match stamper.timestamp(HashAlgorithm::Sha256, &digest) {
            Err(AdesError::TimeStamp(m)) => m,
            other => panic!("expected a TimeStamp error, got {other:?}"),
        }
    }

    #[test]
    fn rfc3161_token_from_a_tsa() {
        let (server, pki, tsa) = tsa_server();
        let (keys, unit) = (pki.keys.clone(), tsa.clone());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let requests = seen.clone();
        server.route("/tsa", move |request| {
            requests.lock().unwrap().push(request.to_vec());
            Reply::ok("application/timestamp-reply", unit.respond(&keys, request))
        });
        let stamper = Rfc3161TimeStamper::new(client(), server.url("/tsa"));
        let digest = HashAlgorithm::Sha384.digest(b"document");
        let token = stamper.timestamp(HashAlgorithm::Sha384, &digest).unwrap();
        let info = signet_pki::tsa::verify_token(&token, None).unwrap();
        assert_eq!(info.message_imprint, digest);
        assert_eq!(info.hash, HashAlgorithm::Sha384);
        assert_eq!(info.tsa_certificate, tsa.certificate);
        // certReq TRUE and a nonce were sent.
        let request = TimeStampRequestInfo::parse(&seen.lock().unwrap()[0]).unwrap();
        assert!(request.cert_req);
        assert!(request.nonce.is_some());
    }

    #[test]
    fn rfc3161_bad_answers_are_timestamp_errors() {
        let (server, pki, tsa) = tsa_server();
        let url = server.url("/tsa");
        let stamper = Rfc3161TimeStamper::new(client(), url.clone());

        server.fixed("/tsa", "application/timestamp-reply", b"garbage".to_vec());
        let m = stamper_error_names(&stamper, &url);
        assert!(m.contains("TimeStampResp"), "{m}");

        server.route("/tsa", |_| Reply::status(500));
        let m = stamper_error_names(&stamper, &url);
        assert!(m.contains("500"), "{m}");

        server.fixed(
            "/tsa",
            "text/html; charset=utf-8",
            b"<html>oops</html>".to_vec(),
        );
        let m = stamper_error_names(&stamper, &url);
        assert!(m.contains("text/html"), "{m}");

        // A valid reply to another request: the nonce and imprint do not match.
        let other = TimeStampRequestInfo::new(HashAlgorithm::Sha256, &[7; 32])
            .unwrap()
            .to_der()
            .unwrap();
        server.fixed(
            "/tsa",
            "application/timestamp-reply",
            tsa.respond(&pki.keys, &other),
        );
        let m = stamper_error_names(&stamper, &url);
        assert!(m.contains("messageImprint"), "{m}");

        let closed = format!("{}/tsa", closed_base());
        let m = stamper_error_names(&Rfc3161TimeStamper::new(client(), closed.clone()), &closed);
        assert!(m.contains("cannot connect"), "{m}");

        let m = stamp_error(&Rfc3161TimeStamper::new(client(), "ftp://tsa.example/"));
        assert!(m.contains("only http(s)"), "{m}");
    }

    fn stamper_error_names(stamper: &Rfc3161TimeStamper, url: &str) -> String {
        let m = stamp_error(stamper);
        assert!(m.contains(url), "{m}");
        m
    }
}
