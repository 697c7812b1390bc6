//! The one test PKI of the workspace (this crate's tests, and other crates' through the
//! `test-support` feature): a software key module, a CA and a TSA from signet-pki, with
//! time-stamps and validation data as the server's PKI service gives them, and signatures of
//! every format and level made with [`crate::prepare`] and [`crate::finish`].

use std::path::PathBuf;
use std::sync::Arc;

use signet_core::{HashAlgorithm, KeyType, SignMechanism};
use signet_keys::{KeyAccess, KeyModule, KeyRef, MasterKey, ServiceKeys, SoftKeyModule};
use signet_pki::{EmbeddedCa, RevocationStatus, SubjectName, TimeStampAuthority};

use crate::{
    AdesError, Content, DocumentRequest, Envelope, Finished, Format, Level, Limits, Revocation,
    SignedProps, Signer, TimeStamper, ValidationData,
};

/// The claimed signing time of test signatures: 2026-09-21T14:13:20Z.
pub const SIGNING_TIME: i64 = 1_790_000_000;

pub struct TestPki {
    pub keys: Arc<dyn KeyModule>,
    pub service: ServiceKeys,
    pub ca: EmbeddedCa,
    pub tsa: TimeStampAuthority,
    /// The default signer ("Alice", ECDSA P-256 / SHA-256) and its key.
    pub key: KeyRef,
    pub signer: Signer,
}

pub fn name(cn: &str) -> SubjectName {
    SubjectName {
        common_name: cn.into(),
        organization: None,
        country: None,
    }
}

impl TestPki {
    pub fn new() -> Self {
        let keys: Arc<dyn KeyModule> = Arc::new(SoftKeyModule::new(MasterKey::generate().unwrap()));
        let service = KeyAccess::new(Arc::clone(&keys)).service_keys();
        let ca = EmbeddedCa::create(&service, KeyType::EcP256, "Test CA", None, 30).unwrap();
        let tsa = TimeStampAuthority::create(
            &service,
            &ca,
            KeyType::EcP256,
            &name("Test TSA"),
            30,
            signet_pki::tsa::DEFAULT_POLICY_OID,
        )
        .unwrap();
        let (key, signer) = issue(&keys, &service, &ca, KeyType::EcP256, ES256);
        Self {
            keys,
            service,
            ca,
            tsa,
            key,
            signer,
        }
    }

    /// A new key of `key_type` with a certificate from the CA, as a signer using `mechanism`.
    pub fn signer(&self, key_type: KeyType, mechanism: SignMechanism) -> (KeyRef, Signer) {
        issue(&self.keys, &self.service, &self.ca, key_type, mechanism)
    }

    /// A new ECDSA P-256 / SHA-256 signer.
    pub fn es256(&self) -> (KeyRef, Signer) {
        self.signer(KeyType::EcP256, ES256)
    }

    /// A new RSA 2048 PKCS#1 v1.5 / SHA-256 signer.
    pub fn rs256(&self) -> (KeyRef, Signer) {
        self.signer(
            KeyType::Rsa2048,
            SignMechanism::RsaPkcs1 {
                hash: HashAlgorithm::Sha256,
            },
        )
    }

    /// The key module's signature value over `digest` (DER for ECDSA).
    pub fn sign(&self, key: &KeyRef, signer: &Signer, digest: &[u8]) -> Vec<u8> {
        self.keys
            .sign_digests(key, signer.key_type, signer.mechanism, &[digest.to_vec()])
            .unwrap()
            .remove(0)
    }

    /// The default signer's signature value over `digest`.
    pub fn sign_digest(&self, digest: &[u8]) -> Vec<u8> {
        self.sign(&self.key, &self.signer, digest)
    }

    /// `prepare`, the key module (`key`, for `request.signer`), then `finish` with this PKI as
    /// time-stamping authority and validation data source.
    pub fn finish(&self, key: &KeyRef, request: DocumentRequest) -> Result<Finished, AdesError> {
        let signer = request.signer.clone();
        let prepared = crate::prepare(request)?;
        let value = self.sign(key, &signer, prepared.dtbsr());
        crate::finish(prepared, &value, Some(self), Some(self))
    }

    /// The signature (or signed document) [`TestPki::finish`] makes of `request`.
    pub fn make_request(&self, key: &KeyRef, request: DocumentRequest) -> Vec<u8> {
        self.finish(key, request).unwrap().output.bytes().to_vec()
    }

    /// A signature of `document` by the default signer, at [`SIGNING_TIME`].
    pub fn make(
        &self,
        format: Format,
        level: Level,
        envelope: Envelope,
        document: &[u8],
    ) -> Vec<u8> {
        let content = Content::Document(document.to_vec());
        self.make_request(
            &self.key,
            request(&self.signer, format, level, envelope, content),
        )
    }
}

impl Default for TestPki {
    fn default() -> Self {
        Self::new()
    }
}

const ES256: SignMechanism = SignMechanism::Ecdsa {
    hash: HashAlgorithm::Sha256,
};

fn issue(
    keys: &Arc<dyn KeyModule>,
    service: &ServiceKeys,
    ca: &EmbeddedCa,
    key_type: KeyType,
    mechanism: SignMechanism,
) -> (KeyRef, Signer) {
    let generated = keys.generate(key_type, "signer").unwrap();
    let cert = ca
        .issue_signer_certificate(service, &name("Alice"), &generated.public_key_der, 30)
        .unwrap();
    (
        generated.key_ref,
        Signer {
            certificate: cert,
            chain: vec![ca.certificate.clone()],
            key_type,
            mechanism,
        },
    )
}

/// A request of `signer` with the defaults: SHA-256 document digest, no qualifying
/// properties, [`SIGNING_TIME`], default limits, no detached name.
pub fn request(
    signer: &Signer,
    format: Format,
    level: Level,
    envelope: Envelope,
    content: Content,
) -> DocumentRequest {
    DocumentRequest {
        format,
        level,
        envelope,
        content,
        document_hash: HashAlgorithm::Sha256,
        props: SignedProps::default(),
        signer: signer.clone(),
        signing_time: SIGNING_TIME,
        collect_validation_info: false,
        limits: Limits::default(),
        detached_name: None,
    }
}

impl TimeStamper for TestPki {
    fn timestamp(&self, hash: HashAlgorithm, digest: &[u8]) -> Result<Vec<u8>, AdesError> {
        self.tsa
            .timestamp(&self.service, hash, digest, None)
            .map_err(|e| AdesError::TimeStamp(e.to_string()))
    }
}

impl ValidationData for TestPki {
    fn chain_and_revocation(&self, certificate: &[u8]) -> Result<Revocation, AdesError> {
        let keys = &self.service;
        let ocsp = self
            .ca
            .ocsp_response_for(keys, certificate, RevocationStatus::Good)
            .map_err(|e| AdesError::ValidationData(e.to_string()))?;
        let crl = self
            .ca
            .crl(keys, &[], 1, 24)
            .map_err(|e| AdesError::ValidationData(e.to_string()))?;
        Ok(Revocation {
            certificates: vec![self.ca.certificate.clone()],
            crls: vec![crl],
            ocsp: vec![ocsp],
        })
    }
}

/// A small valid one-page PDF with a classic cross-reference table.
pub fn small_pdf() -> Vec<u8> {
    pdf_of(&[
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        "<< /Length 0 >>\nstream\n\nendstream",
    ])
}

/// A PDF of `objects` (numbered from 1, the first the catalog) with a classic cross-reference
/// table whose offsets are right.
pub fn pdf_of(objects: &[&str]) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// The interop venv's python (INTEROP_VENV, else target/interop-venv of the workspace);
/// `None` skips with a note, and with SIGNET_REQUIRE_INTEROP=1 a missing venv fails the test.
pub fn venv_python() -> Option<PathBuf> {
    let venv = std::env::var_os("INTEROP_VENV")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/interop-venv")
        });
    let py = venv.join("bin/python");
    if py.exists() {
        return Some(py);
    }
    assert!(
        std::env::var("SIGNET_REQUIRE_INTEROP").as_deref() != Ok("1"),
        "SIGNET_REQUIRE_INTEROP=1 but there is no interop venv at {}",
        venv.display()
    );
    eprintln!("SKIPPED: no interop venv at {}", venv.display());
    None
}
