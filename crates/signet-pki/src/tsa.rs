//! The built-in time-stamping authority (RFC 3161, RFC 5816) and helpers for external ones.
//!
//! A [`TimeStampAuthority`] is one time-stamping unit: a key in the key module (label
//! `signet-tsa`) and a certificate from the embedded CA with the critical id-kp-timeStamping
//! extended key usage (RFC 3161 §2.3). Its tokens are CMS SignedData (RFC 5652 §5) whose
//! encapsulated content is a DER TSTInfo (RFC 3161 §2.4.2):
//!
//! - version 1, the TSA policy, the messageImprint as given, a random positive 128-bit
//!   serialNumber, genTime = now in whole seconds (`YYYYMMDDhhmmssZ`, no fraction — RFC 3161
//!   §2.4.2 allows omitting it, and the `der` crate encodes none), accuracy 1 second (the true
//!   time lies in `[genTime, genTime + 1s)` because the clock is truncated), ordering absent
//!   (FALSE), the nonce when the request had one;
//! - one SignerInfo (version 1, issuerAndSerialNumber of the TSA certificate) whose signed
//!   attributes are content-type = id-ct-TSTInfo, message-digest, and signing-certificate-v2
//!   with one ESSCertIDv2 (RFC 5816 §2.2.1, RFC 5035: SHA-256 of the TSA certificate —
//!   hashAlgorithm omitted as its DEFAULT — and issuerSerial);
//! - the TSA certificate in `certificates` (RFC 3161 §2.4.1: when certReq is TRUE; tokens made
//!   for CSC signatures/timestamp and AdES always include it).
//!
//! Everything is canonical DER: SET OF components (digestAlgorithms, certificates,
//! signerInfos, signed attributes, attribute values) are sorted per X.690 §11.6 by the `der`
//! crate's `SetOfVec`, which the tests cross-check byte by byte; rfc3161-client and pyHanko
//! refuse tokens that are not.

use std::time::Duration;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{BitString, GeneralizedTime, Int, OctetString, SetOfVec};
use der::{Any, Decode, Encode, Sequence, Tag};
use signet_core::{HashAlgorithm, KeyType, SignMechanism};
use signet_keys::{KeyRef, ServiceKey, ServiceKeys};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier};
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;
use x509_tsp::{Accuracy, MessageImprint, TimeStampReq, TspVersion, TstInfo};

use crate::ca::ID_KP_TIME_STAMPING;
use crate::sign::{digest_algorithm, sign_verified, signature_algorithm, verify_signature};
use crate::validity::now_unix;
use crate::{EmbeddedCa, PkiError, SubjectName};

/// The default TSA policy (RFC 3161 §2.4.2 `policy`): an OID under IANA's enterprise number
/// 32473, which RFC 5612 reserves for documentation. Deployments that publish a time-stamp
/// policy (ETSI EN 319 421) configure their own OID instead.
pub const DEFAULT_POLICY_OID: &str = "1.3.6.1.4.1.32473.3161.1";

/// id-signedData (RFC 5652 §5.1).
const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
/// id-ct-TSTInfo (RFC 3161 §2.4.2).
const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// id-contentType (RFC 5652 §11.1).
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
/// id-messageDigest (RFC 5652 §11.2).
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
/// id-aa-signingCertificateV2 (RFC 5035 §3).
const ID_AA_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");

/// Length of the random serial number in bytes (128 bits).
const SERIAL_BYTES: usize = 16;
/// Length of the nonce Signet puts in requests to an external TSA (64 bits, like OpenSSL).
const REQUEST_NONCE_BYTES: usize = 8;
/// Longest nonce accepted (RFC 3161 leaves it open; 64 bytes is far beyond any real client).
const MAX_NONCE_BYTES: usize = 64;

/// RFC 5035 §5.4.1 `ESSCertIDv2`; `hash_algorithm` is `None` for its DEFAULT, id-sha256
/// (X.690 §11.5: a DER encoding omits a value equal to the default).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertIdV2 {
    #[asn1(optional = "true")]
    hash_algorithm: Option<AlgorithmIdentifierOwned>,
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<IssuerSerial>,
}

/// RFC 5035 §5.4.1 `IssuerSerial`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial_number: SerialNumber,
}

/// RFC 5035 §5.4.1 `SigningCertificateV2` (no policies).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

/// RFC 3161 §2.4.2 `PKIStatusInfo` (from RFC 4210), owned.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct StatusInfo {
    status: u8,
    #[asn1(optional = "true")]
    status_string: Option<Vec<String>>,
    #[asn1(optional = "true")]
    fail_info: Option<BitString>,
}

/// RFC 3161 §2.4.2 `TimeStampResp`, with the token kept as raw DER.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct TimeStampResp {
    status: StatusInfo,
    #[asn1(optional = "true")]
    time_stamp_token: Option<Any>,
}

/// PKIStatus values (RFC 3161 §2.4.2).
const STATUS_GRANTED: u8 = 0;
const STATUS_GRANTED_WITH_MODS: u8 = 1;
const STATUS_REJECTION: u8 = 2;

/// PKIFailureInfo bits (RFC 3161 §2.4.2), named as the RFC names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)]
enum Failure {
    /// Unrecognized or unsupported algorithm identifier.
    BadAlg = 0,
    /// Transaction not permitted or supported.
    BadRequest = 2,
    /// The data submitted has the wrong format.
    BadDataFormat = 5,
    /// The requested TSA policy is not supported by the TSA.
    UnacceptedPolicy = 15,
    /// The requested extension is not supported by the TSA.
    UnacceptedExtension = 16,
    /// The request cannot be handled due to system failure.
    SystemFailure = 25,
}

/// A rejected request: the failure bit and a text for statusString.
struct Rejection(Failure, String);

/// The fields of a TimeStampReq (RFC 3161 §2.4.1) Signet looks at, or sends to an external
/// TSA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeStampRequestInfo {
    /// messageImprint.hashAlgorithm (SHA-256, SHA-384 or SHA-512).
    pub hash: HashAlgorithm,
    /// messageImprint.hashedMessage.
    pub message_imprint: Vec<u8>,
    /// The nonce as a big-endian unsigned integer (no sign octet), if any.
    pub nonce: Option<Vec<u8>>,
    /// certReq: whether the TSA certificate must be in the token.
    pub cert_req: bool,
    /// reqPolicy, dotted.
    pub policy: Option<String>,
}

impl TimeStampRequestInfo {
    /// A request for `message_imprint` (a `hash` digest) with a fresh random 64-bit nonce and
    /// certReq TRUE: what Signet sends to an external TSA.
    pub fn new(hash: HashAlgorithm, message_imprint: &[u8]) -> Result<Self, PkiError> {
        check_imprint(hash, message_imprint)?;
        let mut nonce = [0u8; REQUEST_NONCE_BYTES];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| PkiError::Random)?;
        Ok(Self {
            hash,
            message_imprint: message_imprint.to_vec(),
            nonce: Some(strip_zeros(&nonce).to_vec()),
            cert_req: true,
            policy: None,
        })
    }

    /// Parses a DER TimeStampReq. Refuses what Signet's TSA cannot honour: a hash other than
    /// SHA-256/384/512, a hashedMessage of the wrong length, extensions, negative nonces.
    pub fn parse(request_der: &[u8]) -> Result<Self, PkiError> {
        parse_request(request_der)
            .map(|(info, _)| info)
            .map_err(|Rejection(_, text)| PkiError::InvalidInput(text))
    }

    /// The DER TimeStampReq (RFC 3161 §2.4.1): version 1, messageImprint with the hash's
    /// AlgorithmIdentifier (parameters absent, RFC 5754 §2), reqPolicy, nonce, certReq.
    pub fn to_der(&self) -> Result<Vec<u8>, PkiError> {
        let policy = self
            .policy
            .as_deref()
            .map(policy_object_id)
            .transpose()
            .map_err(|e| PkiError::InvalidInput(format!("policy: {e}")))?;
        let req = TimeStampReq {
            version: TspVersion::V1,
            message_imprint: MessageImprint {
                hash_algorithm: digest_algorithm(self.hash)?,
                hashed_message: OctetString::new(self.message_imprint.clone())?,
            },
            req_policy: policy,
            nonce: self.nonce.as_deref().map(positive_int).transpose()?,
            cert_req: self.cert_req,
            extensions: None,
        };
        Ok(req.to_der()?)
    }

    /// Takes the token out of a DER TimeStampResp an external TSA sent for this request:
    /// status granted (or grantedWithMods), a token whose TSTInfo carries this messageImprint
    /// and nonce. The token's signature is checked with the certificate in it
    /// ([`verify_token`]); whether that certificate is trusted is the caller's business.
    pub fn token_from_response(&self, response_der: &[u8]) -> Result<Vec<u8>, PkiError> {
        let resp = TimeStampResp::from_der(response_der)
            .map_err(|e| PkiError::InvalidInput(format!("not a DER TimeStampResp: {e}")))?;
        let status = resp.status.status;
        if status != STATUS_GRANTED && status != STATUS_GRANTED_WITH_MODS {
            let text = resp
                .status
                .status_string
                .map(|s| s.join("; "))
                .unwrap_or_default();
            return Err(PkiError::InvalidInput(format!(
                "the TSA refused the request (PKIStatus {status}{}{text})",
                if text.is_empty() { "" } else { ": " }
            )));
        }
        let token = resp
            .time_stamp_token
            .ok_or_else(|| PkiError::InvalidInput("the TSA granted but sent no token".into()))?
            .to_der()?;
        let info = verify_token(&token, None)?;
        if info.hash != self.hash || info.message_imprint != self.message_imprint {
            return Err(PkiError::InvalidInput(
                "the TSA's token is for another messageImprint".into(),
            ));
        }
        if info.nonce != self.nonce {
            return Err(PkiError::InvalidInput(
                "the TSA's token does not carry the request's nonce".into(),
            ));
        }
        Ok(token)
    }
}

/// What a time-stamp token says, after [`verify_token`] checked it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeStampTokenInfo {
    /// TSTInfo.policy, dotted.
    pub policy: String,
    /// messageImprint.hashAlgorithm.
    pub hash: HashAlgorithm,
    /// messageImprint.hashedMessage.
    pub message_imprint: Vec<u8>,
    /// serialNumber content octets.
    pub serial: Vec<u8>,
    /// genTime, Unix seconds.
    pub gen_time: i64,
    /// The nonce as a big-endian unsigned integer, if any.
    pub nonce: Option<Vec<u8>>,
    /// The certificate that signed the token (DER).
    pub tsa_certificate: Vec<u8>,
}

/// The built-in TSA: a time-stamping unit whose key is in the key module.
#[derive(Clone, Debug)]
pub struct TimeStampAuthority {
    /// Handle of the TSA key in the key module.
    pub key_ref: KeyRef,
    /// Type of the TSA key; selects the signature mechanism ([`SignMechanism::default_for`]).
    pub key_type: KeyType,
    /// The TSA certificate (DER), issued by the embedded CA.
    pub certificate: Vec<u8>,
    /// Its issuer chain, nearest first (the embedded CA certificate).
    pub chain: Vec<Vec<u8>>,
    /// TSTInfo.policy, dotted (e.g. [`DEFAULT_POLICY_OID`]).
    pub policy_oid: String,
}

impl TimeStampAuthority {
    /// Generates the TSA key (label `signet-tsa`) and has `ca` issue its certificate
    /// ([`EmbeddedCa::issue_tsa_certificate`]). If issuance fails the key is destroyed again.
    pub fn create(
        keys: &ServiceKeys,
        ca: &EmbeddedCa,
        key_type: KeyType,
        subject: &SubjectName,
        validity_days: u32,
        policy_oid: &str,
    ) -> Result<Self, PkiError> {
        policy_object_id(policy_oid)
            .map_err(|e| PkiError::InvalidInput(format!("TSA policy {policy_oid:?}: {e}")))?;
        let generated = keys.generate(ServiceKey::Tsa, key_type)?;
        match ca.issue_tsa_certificate(keys, subject, &generated.public_key_der, validity_days) {
            Ok(certificate) => Ok(Self {
                key_ref: generated.key_ref,
                key_type,
                certificate,
                chain: vec![ca.certificate.clone()],
                policy_oid: policy_oid.to_owned(),
            }),
            Err(e) => {
                let _ = keys.destroy(ServiceKey::Tsa, &generated.key_ref);
                Err(e)
            }
        }
    }

    /// An RFC 3161 TimeStampToken (DER ContentInfo with SignedData, see the module
    /// documentation) over `message_imprint`, a digest made with `hash`, including the TSA
    /// certificate. `nonce` is a big-endian unsigned integer (CSC `nonce` hex, decoded) of at
    /// most 64 bytes. genTime is now in whole seconds, with accuracy ±1 s.
    pub fn timestamp(
        &self,
        keys: &ServiceKeys,
        hash: HashAlgorithm,
        message_imprint: &[u8],
        nonce: Option<&[u8]>,
    ) -> Result<Vec<u8>, PkiError> {
        check_imprint(hash, message_imprint)?;
        let nonce = match nonce {
            None => None,
            Some(n) if n.len() > MAX_NONCE_BYTES => {
                return Err(PkiError::InvalidInput(format!(
                    "nonce longer than {MAX_NONCE_BYTES} bytes"
                )));
            }
            Some(n) => Some(positive_int(n)?),
        };
        let imprint = MessageImprint {
            hash_algorithm: digest_algorithm(hash)?,
            hashed_message: OctetString::new(message_imprint)?,
        };
        self.token(keys, imprint, nonce, true)
    }

    /// Answers a DER TimeStampReq with a DER TimeStampResp (RFC 3161 §2.4.2): `granted` with a
    /// token, or `rejection` with a statusString and one PKIFailureInfo bit — badDataFormat
    /// (not a DER TimeStampReq, or a hashedMessage of the wrong length), badAlg (hash other
    /// than SHA-256/384/512), unacceptedPolicy (reqPolicy other than ours),
    /// unacceptedExtension (any extension), systemFailure (the key module failed). The
    /// messageImprint is echoed exactly as requested; the certificate is included only when
    /// certReq is TRUE (§2.4.1). Never fails: every outcome is a response.
    pub fn respond(&self, keys: &ServiceKeys, request_der: &[u8]) -> Vec<u8> {
        let outcome = parse_request(request_der).and_then(|(info, req)| {
            if let Some(policy) = &info.policy
                && *policy != self.policy_oid
            {
                return Err(Rejection(
                    Failure::UnacceptedPolicy,
                    format!("policy {policy} is not supported"),
                ));
            }
            self.token(keys, req.message_imprint, req.nonce, info.cert_req)
                .map_err(|e| Rejection(Failure::SystemFailure, e.to_string()))
        });
        let resp = match outcome {
            Ok(token) => Any::from_der(&token).map(|token| TimeStampResp {
                status: StatusInfo {
                    status: STATUS_GRANTED,
                    status_string: None,
                    fail_info: None,
                },
                time_stamp_token: Some(token),
            }),
            Err(Rejection(failure, text)) => failure_bits(failure).map(|bits| TimeStampResp {
                status: StatusInfo {
                    status: STATUS_REJECTION,
                    status_string: Some(vec![text]),
                    fail_info: Some(bits),
                },
                time_stamp_token: None,
            }),
        };
        // Encoding a rejection cannot fail; if even that did, answer the fixed DER of
        // `rejection, systemFailure`.
        resp.and_then(|r| r.to_der())
            .unwrap_or_else(|_| SYSTEM_FAILURE_RESPONSE.to_vec())
    }

    fn token(
        &self,
        keys: &ServiceKeys,
        message_imprint: MessageImprint,
        nonce: Option<Int>,
        include_certificate: bool,
    ) -> Result<Vec<u8>, PkiError> {
        let cert = Certificate::from_der(&self.certificate)?;
        let policy = policy_object_id(&self.policy_oid)
            .map_err(|e| PkiError::InvalidInput(format!("TSA policy: {e}")))?;
        let now = now_unix()?;
        let tst_info = TstInfo {
            version: TspVersion::V1,
            policy,
            message_imprint,
            serial_number: random_serial()?,
            gen_time: GeneralizedTime::from_unix_duration(Duration::from_secs(now))?,
            accuracy: Some(Accuracy {
                seconds: Some(1),
                millis: None,
                micros: None,
            }),
            ordering: false,
            nonce,
            tsa: None,
            extensions: None,
        };
        let tst_der = tst_info.to_der()?;

        let mechanism = SignMechanism::default_for(self.key_type);
        let hash = mechanism.hash();
        let signed_attrs = signed_attributes(&cert, &self.certificate, &hash.digest(&tst_der))?;
        // RFC 5652 §5.4: the signature covers the DER of the SET OF signed attributes (tag 0x31).
        let signed_attrs_der = signed_attrs.to_der()?;
        let tsa_spki = cert.tbs_certificate.subject_public_key_info.to_der()?;
        let signature = sign_verified(
            keys,
            ServiceKey::Tsa,
            &self.key_ref,
            self.key_type,
            mechanism,
            &tsa_spki,
            &signed_attrs_der,
        )?;

        let signer_info = SignerInfo {
            // RFC 5652 §5.3: version 1 with issuerAndSerialNumber.
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: cert.tbs_certificate.issuer.clone(),
                serial_number: cert.tbs_certificate.serial_number.clone(),
            }),
            digest_alg: digest_algorithm(hash)?,
            signed_attrs: Some(signed_attrs),
            signature_algorithm: signature_algorithm(mechanism)?,
            signature: OctetString::new(signature)?,
            unsigned_attrs: None,
        };
        let certificates = if include_certificate {
            Some(CertificateSet(SetOfVec::try_from(vec![
                CertificateChoices::Certificate(cert),
            ])?))
        } else {
            None
        };
        let signed_data = SignedData {
            // RFC 5652 §5.1: version 3 because eContentType is not id-data.
            version: CmsVersion::V3,
            digest_algorithms: SetOfVec::try_from(vec![digest_algorithm(hash)?])?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: ID_CT_TST_INFO,
                econtent: Some(Any::new(Tag::OctetString, tst_der)?),
            },
            certificates,
            crls: None,
            signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info])?),
        };
        let content_info = ContentInfo {
            content_type: ID_SIGNED_DATA,
            content: Any::encode_from(&signed_data)?,
        };
        Ok(content_info.to_der()?)
    }
}

/// The signed attributes of a token: content-type, message-digest, signing-certificate-v2.
fn signed_attributes(
    tsa_cert: &Certificate,
    tsa_cert_der: &[u8],
    tst_digest: &[u8],
) -> Result<SetOfVec<Attribute>, PkiError> {
    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash_algorithm: None,
            cert_hash: OctetString::new(HashAlgorithm::Sha256.digest(tsa_cert_der))?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(
                    tsa_cert.tbs_certificate.issuer.clone(),
                )],
                serial_number: tsa_cert.tbs_certificate.serial_number.clone(),
            }),
        }],
    };
    let attribute = |oid: ObjectIdentifier, value: Any| -> Result<Attribute, PkiError> {
        Ok(Attribute {
            oid,
            values: SetOfVec::try_from(vec![value])?,
        })
    };
    Ok(SetOfVec::try_from(vec![
        attribute(ID_CONTENT_TYPE, Any::encode_from(&ID_CT_TST_INFO)?)?,
        attribute(
            ID_MESSAGE_DIGEST,
            Any::encode_from(&OctetString::new(tst_digest)?)?,
        )?,
        attribute(ID_AA_SIGNING_CERTIFICATE_V2, Any::encode_from(&ess)?)?,
    ])?)
}

/// Verifies a DER TimeStampToken and returns what it says.
///
/// Checks: ContentInfo id-signedData with one SignerInfo; eContentType id-ct-TSTInfo; signed
/// attributes content-type = id-ct-TSTInfo and message-digest = digest of the eContent; a
/// signing-certificate-v2 (or v1) whose first certificate hash matches the signing certificate;
/// that certificate has the id-kp-timeStamping extended key usage; the signature over the
/// signed attributes verifies with its key. The certificate is `tsa_certificate_der` if given,
/// else the one in the token matching the SignerInfo's sid. Path validation (is the TSA
/// trusted?) is left to the caller.
pub fn verify_token(
    token_der: &[u8],
    tsa_certificate_der: Option<&[u8]>,
) -> Result<TimeStampTokenInfo, PkiError> {
    let bad = |what: &str| PkiError::InvalidInput(format!("invalid time-stamp token: {what}"));
    let content_info = ContentInfo::from_der(token_der)?;
    if content_info.content_type != ID_SIGNED_DATA {
        return Err(bad("not SignedData"));
    }
    let signed_data: SignedData = content_info.content.decode_as()?;
    if signed_data.encap_content_info.econtent_type != ID_CT_TST_INFO {
        return Err(bad("eContentType is not id-ct-TSTInfo"));
    }
    let econtent = signed_data
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or_else(|| bad("no eContent"))?;
    let tst_der = econtent.decode_as::<OctetString>()?.as_bytes().to_vec();
    let tst = TstInfo::from_der(&tst_der)?;
    let [signer_info] = signed_data.signer_infos.0.as_slice() else {
        return Err(bad("not exactly one SignerInfo"));
    };

    let certificate_der = match tsa_certificate_der {
        Some(der) => der.to_vec(),
        None => {
            let SignerIdentifier::IssuerAndSerialNumber(sid) = &signer_info.sid else {
                return Err(bad("sid is not issuerAndSerialNumber"));
            };
            signed_data
                .certificates
                .iter()
                .flat_map(|set| set.0.iter())
                .find_map(|choice| match choice {
                    CertificateChoices::Certificate(c)
                        if c.tbs_certificate.issuer == sid.issuer
                            && c.tbs_certificate.serial_number == sid.serial_number =>
                    {
                        Some(c.to_der())
                    }
                    _ => None,
                })
                .transpose()?
                .ok_or_else(|| bad("the signer's certificate is not in the token"))?
        }
    };
    let cert = Certificate::from_der(&certificate_der)?;
    let has_tsa_eku = cert
        .tbs_certificate
        .get::<x509_cert::ext::pkix::ExtendedKeyUsage>()?
        .is_some_and(|(critical, eku)| critical && eku.0 == [ID_KP_TIME_STAMPING]);
    if !has_tsa_eku {
        return Err(bad(
            "the signer's certificate lacks the critical id-kp-timeStamping extended key usage",
        ));
    }

    let attrs = signer_info
        .signed_attrs
        .as_ref()
        .ok_or_else(|| bad("no signed attributes"))?;
    let single = |oid: ObjectIdentifier| -> Result<&Any, PkiError> {
        let attr = attrs
            .iter()
            .find(|a| a.oid == oid)
            .ok_or_else(|| bad(&format!("signed attribute {oid} missing")))?;
        match attr.values.as_slice() {
            [value] => Ok(value),
            _ => Err(bad(&format!("signed attribute {oid} must have one value"))),
        }
    };
    if single(ID_CONTENT_TYPE)?.decode_as::<ObjectIdentifier>()? != ID_CT_TST_INFO {
        return Err(bad("content-type attribute is not id-ct-TSTInfo"));
    }
    let digest_hash = HashAlgorithm::from_oid(&signer_info.digest_alg.oid.to_string())
        .map_err(|_| bad("unsupported digestAlgorithm"))?;
    let message_digest = single(ID_MESSAGE_DIGEST)?.decode_as::<OctetString>()?;
    if message_digest.as_bytes() != digest_hash.digest(&tst_der).as_slice() {
        return Err(bad("message-digest does not match the TSTInfo"));
    }
    let ess: SigningCertificateV2 = single(ID_AA_SIGNING_CERTIFICATE_V2)?.decode_as()?;
    let first = ess
        .certs
        .first()
        .ok_or_else(|| bad("empty signing-certificate-v2"))?;
    let ess_hash = match &first.hash_algorithm {
        None => HashAlgorithm::Sha256,
        Some(alg) => HashAlgorithm::from_oid(&alg.oid.to_string())
            .map_err(|_| bad("unsupported ESSCertIDv2 hash"))?,
    };
    if first.cert_hash.as_bytes() != ess_hash.digest(&certificate_der).as_slice() {
        return Err(bad("ESSCertIDv2 does not match the signer's certificate"));
    }
    verify_signature(
        &cert.tbs_certificate.subject_public_key_info,
        &signer_info.signature_algorithm,
        &attrs.to_der()?,
        signer_info.signature.as_bytes(),
    )?;

    let hash = HashAlgorithm::from_oid(&tst.message_imprint.hash_algorithm.oid.to_string())
        .map_err(|_| bad("unsupported messageImprint hash"))?;
    Ok(TimeStampTokenInfo {
        policy: tst.policy.to_string(),
        hash,
        message_imprint: tst.message_imprint.hashed_message.as_bytes().to_vec(),
        serial: tst.serial_number.as_bytes().to_vec(),
        gen_time: i64::try_from(tst.gen_time.to_unix_duration().as_secs())
            .map_err(|_| bad("genTime out of range"))?,
        nonce: tst
            .nonce
            .as_ref()
            .map(|n| strip_zeros(n.as_bytes()).to_vec()),
        tsa_certificate: certificate_der,
    })
}

/// Parses and vets a TimeStampReq, keeping the ASN.1 values to echo (messageImprint as sent,
/// nonce as sent).
/// A dotted policy OID, encoded by [`signet_core::oid::der_content`] (`ObjectIdentifier::new`
/// of const-oid 0.9 writes arcs that are powers of 128 wrongly).
fn policy_object_id(dotted: &str) -> Result<ObjectIdentifier, String> {
    let content = signet_core::oid::der_content(dotted)
        .ok_or_else(|| "not an object identifier".to_owned())?;
    ObjectIdentifier::from_bytes(&content).map_err(|e| e.to_string())
}

fn parse_request(der: &[u8]) -> Result<(TimeStampRequestInfo, TimeStampReq), Rejection> {
    let req = TimeStampReq::from_der(der).map_err(|e| {
        Rejection(
            Failure::BadDataFormat,
            format!("not a DER TimeStampReq: {e}"),
        )
    })?;
    let imprint = &req.message_imprint;
    let oid = imprint.hash_algorithm.oid.to_string();
    let hash = HashAlgorithm::from_oid(&oid).map_err(|_| {
        Rejection(
            Failure::BadAlg,
            format!("hash algorithm {oid} is not supported (use SHA-256, SHA-384 or SHA-512)"),
        )
    })?;
    // RFC 5754 §2: parameters absent or NULL.
    if imprint
        .hash_algorithm
        .parameters
        .as_ref()
        .is_some_and(|p| !p.is_null())
    {
        return Err(Rejection(
            Failure::BadAlg,
            "hash algorithm parameters must be absent or NULL".into(),
        ));
    }
    check_imprint(hash, imprint.hashed_message.as_bytes())
        .map_err(|e| Rejection(Failure::BadDataFormat, e.to_string()))?;
    if req.extensions.is_some() {
        return Err(Rejection(
            Failure::UnacceptedExtension,
            "request extensions are not supported".into(),
        ));
    }
    let nonce = match &req.nonce {
        None => None,
        Some(n) => {
            let bytes = n.as_bytes();
            if bytes.first().is_some_and(|b| b & 0x80 != 0) || bytes.len() > MAX_NONCE_BYTES + 1 {
                return Err(Rejection(
                    Failure::BadRequest,
                    "the nonce must be a positive integer of at most 64 bytes".into(),
                ));
            }
            Some(strip_zeros(bytes).to_vec())
        }
    };
    let info = TimeStampRequestInfo {
        hash,
        message_imprint: imprint.hashed_message.as_bytes().to_vec(),
        nonce,
        cert_req: req.cert_req,
        policy: req.req_policy.map(|p| p.to_string()),
    };
    Ok((info, req))
}

fn check_imprint(hash: HashAlgorithm, imprint: &[u8]) -> Result<(), PkiError> {
    if imprint.len() != hash.len() {
        return Err(PkiError::InvalidInput(format!(
            "a {} digest is {} bytes, not {}",
            hash.name(),
            hash.len(),
            imprint.len()
        )));
    }
    Ok(())
}

/// A random positive INTEGER of [`SERIAL_BYTES`] bytes of entropy (RFC 3161 §2.4.2: unique
/// for each token from a TSA; 128 random bits make collisions negligible).
fn random_serial() -> Result<Int, PkiError> {
    let mut bytes = [0u8; SERIAL_BYTES];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| PkiError::Random)?;
    positive_int(&bytes)
}

/// The DER INTEGER for a big-endian unsigned magnitude: leading zeros stripped, one `00`
/// added when the top bit is set (X.690 §8.3.2).
fn positive_int(magnitude: &[u8]) -> Result<Int, PkiError> {
    let stripped = strip_zeros(magnitude);
    let mut bytes = Vec::with_capacity(stripped.len() + 1);
    if stripped.first().is_none_or(|b| b & 0x80 != 0) {
        bytes.push(0);
    }
    bytes.extend_from_slice(stripped);
    Ok(Int::new(&bytes)?)
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

/// A PKIFailureInfo BIT STRING with one named bit set, in DER (X.690 §11.2.2: trailing zero
/// bits removed, so the last octet holds the bit).
fn failure_bits(failure: Failure) -> der::Result<BitString> {
    let bit = failure as usize;
    let mut bytes = vec![0u8; bit / 8 + 1];
    if let Some(last) = bytes.last_mut() {
        *last = 0x80 >> (bit % 8);
    }
    BitString::new((7 - bit % 8) as u8, bytes)
}

/// `TimeStampResp { status { rejection, failInfo systemFailure } }` in DER: the answer when
/// even a rejection cannot be encoded.
pub(crate) const SYSTEM_FAILURE_RESPONSE: &[u8] = &[
    0x30, 0x0c, 0x30, 0x0a, 0x02, 0x01, 0x02, 0x03, 0x05, 0x06, 0x00, 0x00, 0x00, 0x40,
];
