//! A small PKI for the unit tests of the formats: a software key module, a CA and a TSA, with
//! time-stamps and validation data as the server's PKI service gives them.

use std::sync::Arc;

use signet_core::{HashAlgorithm, KeyType, SignMechanism};
use signet_keys::{KeyAccess, KeyModule, KeyRef, MasterKey, ServiceKeys, SoftKeyModule};
use signet_pki::{EmbeddedCa, RevocationStatus, SubjectName, TimeStampAuthority};

use crate::{AdesError, Revocation, Signer, TimeStamper, ValidationData};

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

    /// The key module's signature value over `digest`.
    pub fn sign(&self, key: &KeyRef, signer: &Signer, digest: &[u8]) -> Vec<u8> {
        self.keys
            .sign_digests(key, signer.key_type, signer.mechanism, &[digest.to_vec()])
            .unwrap()
            .remove(0)
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
