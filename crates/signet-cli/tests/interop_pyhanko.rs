//! Interoperability: pyHanko's CSCSigner (an independent CSC v1 client) signs a PDF against the
//! real server through the repository's driver `tests/interop/csc_sign_pdf.py`, and pyHanko's
//! validator plus poppler's pdfsig (`tests/interop/validate.sh pades`) judge the result with the
//! Signet CA as trust anchor.
//!
//! The tools come from `tests/interop/setup.sh`, which the README's test command runs. When
//! they are missing the test says so and passes only if SIGNET_REQUIRE_INTEROP is unset (a bare
//! `cargo test` on a developer machine); the test command sets it, so CI cannot skip.

mod common;

use std::path::Path;
use std::process::Command;

use common::interop::{Interop, interop, run};
use common::*;

impl common::interop::Interop {
    fn make_pdf(&self, out: &Path) {
        let st = Command::new(self.python())
            .arg(self.kit.join("make_pdf.py"))
            .arg(out)
            .status()
            .expect("make_pdf");
        assert!(st.success(), "make_pdf.py failed");
    }

    /// Runs csc_sign_pdf.py; returns (success, combined output).
    #[allow(clippy::too_many_arguments)]
    fn sign(
        &self,
        server: &Server,
        user: &TestUser,
        cred: &str,
        pin: &str,
        extra: &[&str],
        input: &Path,
        output: &Path,
    ) -> (bool, String) {
        run(Command::new(self.python())
            .arg(self.kit.join("csc_sign_pdf.py"))
            // `--name=value`: a random credential ID or password may start with '-', which
            // argparse would take for an option if it were a separate argument.
            .args([
                format!("--url={}", server.url),
                format!("--credential={cred}"),
                format!("--user={}", user.username),
                format!("--password={}", user.password),
                format!("--pin={pin}"),
                format!("--totp-secret={}", user.totp_base32),
            ])
            .args(extra)
            .arg(input)
            .arg(output))
    }

    /// Runs validate.sh pades; returns (accepted, output).
    fn validate_pades(&self, signed: &Path, ca: &Path) -> (bool, String) {
        self.validate(&[Path::new("pades"), signed, ca])
    }
}

/// The length of the first signed segment (`/ByteRange [0 LEN ...]`): the bytes before the
/// signature's /Contents.
fn first_signed_segment_len(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    let start = text.rfind("/ByteRange").expect("a /ByteRange");
    let numbers: Vec<usize> = text[start..]
        .trim_start_matches("/ByteRange")
        .trim_start()
        .trim_start_matches('[')
        .split_whitespace()
        .take(2)
        .map(|n| n.trim_end_matches(']').parse().expect("a ByteRange number"))
        .collect();
    assert_eq!(numbers[0], 0, "the first segment starts the file");
    numbers[1]
}

/// Signs with pyHanko for one credential type and API path, validates, then checks that one
/// flipped byte makes both validators reject the file.
fn sign_and_validate(tools: &Interop, key: &str, extra: &[&str]) {
    let server = Server::start();
    let user = server.add_user("signer");
    let pin = "20481024";
    let cred = server.create_credential(&user, pin, &["--key", key]);
    let dir = tempfile::tempdir().expect("tempdir");
    let (doc, signed) = (dir.path().join("doc.pdf"), dir.path().join("signed.pdf"));
    tools.make_pdf(&doc);
    let (ok, log) = tools.sign(&server, &user, &cred, pin, extra, &doc, &signed);
    assert!(
        ok,
        "pyHanko CSCSigner failed against Signet ({key} {extra:?}):\n{log}"
    );
    let (valid, report) = tools.validate_pades(&signed, &server.ca_pem());
    assert!(
        valid,
        "validators rejected the signature ({key} {extra:?}):\n{report}"
    );
    assert!(
        report.contains(":VALID") || report.contains("VALID"),
        "{report}"
    );
    assert!(
        report.contains("Signature is Valid"),
        "pdfsig did not accept: {report}"
    );

    // One flipped byte in the signed range must break it. The byte is taken from the middle of
    // the first /ByteRange segment: a fixed fraction of the file can land in the /Contents
    // placeholder (not signed, mostly zero padding), whose size moves with the certificate's.
    let mut bytes = std::fs::read(&signed).expect("read signed");
    let at = first_signed_segment_len(&bytes) / 2;
    bytes[at] ^= 0x01;
    let tampered = dir.path().join("tampered.pdf");
    std::fs::write(&tampered, &bytes).expect("write tampered");
    let (valid, report) = tools.validate_pades(&tampered, &server.ca_pem());
    assert!(!valid, "a tampered PDF was accepted ({key}):\n{report}");

    // The signature is in the audit log.
    let export = server.cli_ok(&["audit", "export"], &[]);
    assert!(
        export
            .lines()
            .any(|l| l.contains("\"signature.create\"") && l.contains(&cred)),
        "{export}"
    );
}

#[test]
fn pyhanko_signs_pdf_ecdsa_p256_v1() {
    let Some(tools) = interop() else { return };
    sign_and_validate(&tools, "ec-p256", &[]);
}

#[test]
fn pyhanko_signs_pdf_rsa_pss_on_v2_path() {
    // pyHanko sends v1 member names even on /csc/v2/: the v2 routes must accept them.
    let Some(tools) = interop() else { return };
    sign_and_validate(&tools, "rsa-2048", &["--api", "v2", "--pss"]);
}

#[test]
fn pyhanko_signs_pdf_ecdsa_p384() {
    let Some(tools) = interop() else { return };
    sign_and_validate(&tools, "ec-p384", &[]);
}
