//! Fixtures of the augmentation tests: the extension call with the test PKI
//! ([`crate::test_pki`]), and the third-party judges of `tests/interop/validate.sh` (skipped
//! without the interop venv unless SIGNET_REQUIRE_INTEROP is set).

use std::path::{Path, PathBuf};
use std::process::Command;

use lopdf::{Document, Object, Stream, dictionary};

use crate::test_pki::{TestPki, name};
use crate::{AdesError, Level, Limits, Revocation};

use super::{ExtendRequest, Extended, extend};

/// What the augmentation tests ask of the test PKI besides signatures.
pub trait Augment {
    /// [`extend`] with this PKI as time-stamping authority and validation data source.
    fn extend(
        &self,
        signature: &[u8],
        detached: Option<&[u8]>,
        target: Level,
    ) -> Result<Extended, AdesError>;

    /// A certificate from the test CA for a public key made elsewhere (SubjectPublicKeyInfo
    /// DER), so that another producer's signature chains to the test CA.
    fn certify(&self, spki: &[u8]) -> Vec<u8>;

    /// What the validation data source returns for the signer and for the TSA: the CA
    /// certificate, a CRL and OCSP responses.
    fn expected_certificates(&self) -> Vec<Vec<u8>>;
}

impl Augment for TestPki {
    fn extend(
        &self,
        signature: &[u8],
        detached: Option<&[u8]>,
        target: Level,
    ) -> Result<Extended, AdesError> {
        extend(
            ExtendRequest {
                signature: signature.to_vec(),
                detached: detached.map(<[u8]>::to_vec),
                target,
                limits: Limits::default(),
            },
            self,
            self,
        )
    }

    fn certify(&self, spki: &[u8]) -> Vec<u8> {
        self.ca
            .issue_signer_certificate(&self.service, &name("Bob"), spki, 30)
            .unwrap()
    }

    fn expected_certificates(&self) -> Vec<Vec<u8>> {
        vec![self.ca.certificate.clone(), self.tsa.certificate.clone()]
    }
}

/// A one-page PDF written by lopdf, with a classic cross-reference table.
pub fn pdf() -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let content = doc.add_object(Stream::new(dictionary! {}, b"BT ET".to_vec()));
    let page = doc.add_object(dictionary! {
        "Type" => "Page",
        "Parent" => pages_id,
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        "Contents" => content,
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => vec![page.into()],
            "Count" => 1,
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

/// How often `needle` occurs in `haystack`.
pub fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

/// Asserts that `data` holds what the test PKI's validation data source gives for the signer
/// and the TSA: both certificates, at least one CRL and one OCSP response per certificate.
pub fn assert_validation_data(data: &Revocation, fixture: &TestPki) {
    for c in fixture.expected_certificates() {
        assert!(data.certificates.contains(&c), "a certificate is missing");
    }
    assert!(!data.crls.is_empty(), "no CRL");
    assert!(data.ocsp.len() >= 2, "{} OCSP responses", data.ocsp.len());
}

/// The interop venv and `tests/interop`, or `None` (the caller skips) when they are missing;
/// with SIGNET_REQUIRE_INTEROP set, missing tools fail the test.
pub struct Judges {
    pub python: PathBuf,
    kit: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Judges {
    pub fn find() -> Option<Self> {
        let kit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop");
        match crate::test_pki::venv_python() {
            Some(python) if kit.join("validate.sh").exists() => Some(Self {
                python,
                kit,
                dir: tempfile::tempdir().unwrap(),
            }),
            _ if std::env::var_os("SIGNET_REQUIRE_INTEROP").is_some() => {
                panic!("the interop venv or tests/interop is missing (tests/interop/setup.sh)")
            }
            _ => {
                eprintln!("SKIPPED: no interop venv (tests/interop/setup.sh)");
                None
            }
        }
    }

    /// Writes `bytes` to a file of the temporary folder.
    pub fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// The test CA as PEM, in the temporary folder.
    pub fn ca(&self, fixture: &TestPki) -> PathBuf {
        self.file("ca.pem", fixture.ca.certificate_pem().as_bytes())
    }

    /// `validate.sh KIND ARGS...`: whether every judge of the kind accepted, and what they
    /// said.
    pub fn validate(&self, kind: &str, args: &[&Path]) -> (bool, String) {
        let venv = self
            .python
            .parent()
            .and_then(Path::parent)
            .unwrap_or(Path::new("."));
        run(Command::new("bash")
            .arg(self.kit.join("validate.sh"))
            .arg(kind)
            .args(args)
            .env("INTEROP_VENV", venv))
    }

    /// A Python script with `args`.
    pub fn python(&self, script: &str, args: &[&Path]) -> (bool, String) {
        run(Command::new(&self.python).arg("-c").arg(script).args(args))
    }

    /// The repository's Python judges (`judges.py xades|jades ...`).
    pub fn judge(&self, args: &[&Path]) -> (bool, String) {
        run(Command::new(&self.python)
            .arg(self.kit.join("judges.py"))
            .args(args))
    }
}

/// Runs a command: whether it succeeded, and its output.
pub fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A P-256 key made by Python's `cryptography`: writes `key.pem` (PKCS#8) and returns the
/// SubjectPublicKeyInfo DER.
pub fn python_key(judges: &Judges) -> (PathBuf, Vec<u8>) {
    let key = judges.dir.path().join("key.pem");
    let spki = judges.dir.path().join("spki.der");
    let (ok, log) = judges.python(
        "import sys\n\
         from cryptography.hazmat.primitives.asymmetric import ec\n\
         from cryptography.hazmat.primitives import serialization as s\n\
         k = ec.generate_private_key(ec.SECP256R1())\n\
         open(sys.argv[1], 'wb').write(k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))\n\
         open(sys.argv[2], 'wb').write(k.public_key().public_bytes(s.Encoding.DER, s.PublicFormat.SubjectPublicKeyInfo))\n",
        &[&key, &spki],
    );
    assert!(ok, "{log}");
    let der = std::fs::read(&spki).unwrap();
    (key, der)
}
