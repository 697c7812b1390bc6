//! The fuzz PKI: a CA, a TSA and a signer whose keys are sealed under a committed test master
//! key, so that the seed corpora (OCSP requests naming this CA, CRLs and OCSP responses it
//! signed, signatures by its signer) mean the same to every run. Test material only: written
//! once by `examples/seeds.rs`, never used by a Signet node.

use std::sync::{Arc, OnceLock};

use signet_core::{HashAlgorithm, KeyType, SignMechanism};
use signet_keys::{KeyAccess, KeyModule, KeyRef, MasterKey, ServiceKeys, SoftKeyModule};
use signet_pki::{EmbeddedCa, TimeStampAuthority, ValidationUrls};
use signet_validation::trust::TrustAnchors;
use time::OffsetDateTime;

/// Where the fixture's services claim to live (URLs in its certificates; never fetched).
pub const BASE_URL: &str = "http://127.0.0.1:8080";

pub struct Pki {
    pub keys: Arc<dyn KeyModule>,
    pub service: ServiceKeys,
    pub ca: EmbeddedCa,
    pub tsa: TimeStampAuthority,
    pub signer_key: KeyRef,
    pub signer: signet_ades::Signer,
    /// When the fixture was made (Unix seconds): validations run an hour later, so a run
    /// today and one in ten years judge the same.
    pub created: i64,
    pub anchors: TrustAnchors,
}

/// The signer's mechanism: ECDSA P-256 with SHA-256.
pub const SIGNER_MECHANISM: SignMechanism = SignMechanism::Ecdsa {
    hash: HashAlgorithm::Sha256,
};

/// The fixed parts of the fuzz PKI, from `fixtures/`.
pub struct Files<'a> {
    pub master_hex: &'a str,
    pub ca: &'a [u8],
    pub ca_key: &'a [u8],
    pub tsa: &'a [u8],
    pub tsa_key: &'a [u8],
    pub signer: &'a [u8],
    pub signer_key: &'a [u8],
    pub created: &'a str,
}

const FILES: Files<'static> = Files {
    master_hex: include_str!("../fixtures/master.hex"),
    ca: include_bytes!("../fixtures/ca.der"),
    ca_key: include_bytes!("../fixtures/ca.keyref"),
    tsa: include_bytes!("../fixtures/tsa.der"),
    tsa_key: include_bytes!("../fixtures/tsa.keyref"),
    signer: include_bytes!("../fixtures/signer.der"),
    signer_key: include_bytes!("../fixtures/signer.keyref"),
    created: include_str!("../fixtures/created"),
};

impl Pki {
    /// Opens the PKI described by `files`.
    pub fn open(files: &Files<'_>) -> Self {
        let master = MasterKey::from_env_value(files.master_hex).expect("fixture master key");
        let keys: Arc<dyn KeyModule> = Arc::new(SoftKeyModule::new(master));
        let service = KeyAccess::new(Arc::clone(&keys)).service_keys();
        let mut ca = EmbeddedCa {
            key_ref: KeyRef(files.ca_key.to_vec()),
            key_type: KeyType::EcP256,
            certificate: files.ca.to_vec(),
            urls: None,
        };
        ca.urls = Some(ValidationUrls::under(BASE_URL));
        let tsa = TimeStampAuthority {
            key_ref: KeyRef(files.tsa_key.to_vec()),
            key_type: KeyType::EcP256,
            certificate: files.tsa.to_vec(),
            chain: vec![files.ca.to_vec()],
            policy_oid: signet_pki::tsa::DEFAULT_POLICY_OID.to_owned(),
        };
        let signer = signet_ades::Signer {
            certificate: files.signer.to_vec(),
            chain: vec![files.ca.to_vec()],
            key_type: KeyType::EcP256,
            mechanism: SIGNER_MECHANISM,
        };
        let mut anchors = TrustAnchors::default();
        anchors
            .add_der(files.ca.to_vec(), "fuzz CA")
            .expect("fixture CA certificate");
        Self {
            keys,
            service,
            ca,
            tsa,
            signer_key: KeyRef(files.signer_key.to_vec()),
            signer,
            created: files.created.trim().parse().expect("fixture creation time"),
            anchors,
        }
    }

    /// The time validations run at: an hour after the fixture was made.
    pub fn validation_time(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.created + 3600).expect("fixture time")
    }
}

/// The committed fuzz PKI, opened once per process.
pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| Pki::open(&FILES))
}
