//! A small PKI for the tests: a software key module, a CA and a TSA, and XAdES signatures
//! made by `signet_ades::{prepare, finish}` with them (as signet-ades' own test PKI).

use std::sync::Arc;

use signet_ades::{
    AdesError, Content, DocumentRequest, Envelope, Format, Level, Limits, Revocation, SignedProps,
    Signer, TimeStamper, ValidationData,
};
use signet_core::{HashAlgorithm, KeyType, SignMechanism};
use signet_keys::{KeyAccess, KeyModule, KeyRef, MasterKey, ServiceKeys, SoftKeyModule};
use signet_pki::{EmbeddedCa, RevocationStatus, SubjectName, TimeStampAuthority};

pub struct TestPki {
    pub keys: Arc<dyn KeyModule>,
    pub service: ServiceKeys,
    pub ca: EmbeddedCa,
    pub tsa: TimeStampAuthority,
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
        Self {
            keys,
            service,
            ca,
            tsa,
        }
    }

    /// A key of `key_type` with a certificate from the CA, as a signer using `mechanism`.
    pub fn signer(&self, key_type: KeyType, mechanism: SignMechanism) -> (KeyRef, Signer) {
        let generated = self.keys.generate(key_type, "signer").unwrap();
        let cert = self
            .ca
            .issue_signer_certificate(&self.service, &name("Alice"), &generated.public_key_der, 30)
            .unwrap();
        (
            generated.key_ref,
            Signer {
                certificate: cert,
                chain: vec![self.ca.certificate.clone()],
                key_type,
                mechanism,
            },
        )
    }

    pub fn es256(&self) -> (KeyRef, Signer) {
        self.signer(
            KeyType::EcP256,
            SignMechanism::Ecdsa {
                hash: HashAlgorithm::Sha256,
            },
        )
    }

    pub fn rs256(&self) -> (KeyRef, Signer) {
        self.signer(
            KeyType::Rsa2048,
            SignMechanism::RsaPkcs1 {
                hash: HashAlgorithm::Sha256,
            },
        )
    }

    /// A XAdES signature of `document` by `signer`, as Signet makes it.
    pub fn xades(
        &self,
        (key, signer): &(KeyRef, Signer),
        level: Level,
        envelope: Envelope,
        document: &[u8],
        detached_name: Option<&str>,
    ) -> Vec<u8> {
        let prepared = signet_ades::prepare(DocumentRequest {
            format: Format::Xades,
            level,
            envelope,
            content: Content::Document(document.to_vec()),
            document_hash: HashAlgorithm::Sha256,
            props: SignedProps::default(),
            signer: signer.clone(),
            signing_time: 1_790_000_000,
            collect_validation_info: false,
            limits: Limits::default(),
            detached_name: detached_name.map(str::to_owned),
        })
        .unwrap();
        let value = self
            .keys
            .sign_digests(
                key,
                signer.key_type,
                signer.mechanism,
                &[prepared.dtbsr().to_vec()],
            )
            .unwrap()
            .remove(0);
        signet_ades::finish(prepared, &value, Some(self), Some(self))
            .unwrap()
            .output
            .bytes()
            .to_vec()
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
