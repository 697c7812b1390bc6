//! `signet verify` and `signet extend` as a user runs them, against a real Signet (its CA, OCSP
//! responder and TSA): Signet's own signatures at every format × level, broken variants with
//! the EN 319 102-1 sub-indication each must get, revocation before and after the proof of
//! existence, extension from B-B to B-LTA judged by the third-party validators, and a corpus of
//! signatures made by other software (tests/interop/validation_corpus.py) on which Signet's
//! indication must agree with pyHanko's validator.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::interop::{interop, workspace_root};
use common::sign_cli::{client, documents, judge, signer_env, text, write};
use common::*;
use serde_json::Value;

const PIN: &str = "13579";

/// The names `signet sign` gives the signed outputs of [`documents`], in their order.
const SIGNED_NAMES: [&str; 4] = [
    "contract-signed.pdf",
    "invoice-signed.xml",
    "claims.json.jws.json",
    "report.txt.p7m",
];

/// Signs the four documents at `level` with `signet sign`; returns the outputs.
fn sign_all(server: &Server, user: &TestUser, dir: &Path, level: &str) -> Vec<PathBuf> {
    let docs = documents(dir);
    let mut args = vec![
        "sign".to_string(),
        "--server".into(),
        server.url.clone(),
        "--level".into(),
        level.into(),
    ];
    args.extend(docs.iter().map(|p| p.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = client(&args, &signer_env(user, PIN), dir);
    assert_eq!(out.status.code(), Some(0), "sign {level}: {}", text(&out));
    SIGNED_NAMES.iter().map(|name| dir.join(name)).collect()
}

fn run(args: &[&str], cwd: &Path) -> Output {
    client(args, &[], cwd)
}

/// `signet verify FILE --report json ARGS`: the exit code and the JSON report.
fn verify_json(file: &Path, extra: &[&str]) -> (Option<i32>, Value) {
    let cwd = file.parent().unwrap();
    let mut args = vec!["verify", file.to_str().unwrap(), "--report", "json"];
    args.extend(extra);
    let out = run(&args, cwd);
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}): {}", text(&out)));
    (out.status.code(), report)
}

/// (indication, sub-indication, level) of the report's only signature.
fn verdict(report: &Value) -> (String, String, String) {
    let sigs = report["signatures"].as_array().expect("signatures");
    assert_eq!(sigs.len(), 1, "{report:#}");
    let s = &sigs[0];
    let field = |k: &str| s[k].as_str().unwrap_or("").to_string();
    (field("indication"), field("subIndication"), field("level"))
}

/// The level's short name (`B-LTA`) of the report's `PAdES-BASELINE-LTA`.
fn short_level(level: &str) -> &str {
    match level.rsplit('-').next() {
        Some("LTA") => "B-LTA",
        Some("LT") => "B-LT",
        Some("T") => "B-T",
        Some("B") => "B-B",
        _ => "none",
    }
}

fn xmllint_schema(xml: &[u8]) {
    let schema = workspace_root()
        .join("crates/signet-validation/tests/data/etsi-validation-report/TS119102-2-v141.xsd");
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "report.xml", xml);
    let out = std::process::Command::new("xmllint")
        .args(["--nonet", "--noout", "--schema"])
        .arg(&schema)
        .arg(&file)
        .output()
        .expect("xmllint (libxml2-utils) is installed by the test command");
    assert!(
        out.status.success(),
        "the ETSI report is not valid against TS 119 102-2:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn signet_signatures_validate_at_the_level_they_were_made() {
    let server = Server::start();
    let user = server.add_user("vera");
    server.create_credential(&user, PIN, &["--scal", "1", "--multisign", "10"]);
    let ca = server.ca_pem();
    let ca = ca.to_str().unwrap();
    for level in ["B-B", "B-T", "B-LT", "B-LTA"] {
        let dir = tempfile::tempdir().unwrap();
        for out in sign_all(&server, &user, dir.path(), level) {
            let name = out.file_name().unwrap().to_string_lossy().into_owned();
            let (code, report) = verify_json(&out, &["--trust", ca]);
            let (indication, sub, got) = verdict(&report);
            assert_eq!(
                (code, indication.as_str(), sub.as_str(), short_level(&got)),
                (Some(0), "TOTAL-PASSED", "", level),
                "{name} at {level}: {report:#}"
            );
            // The ETSI report of the same validation is valid against the official XSD.
            let etsi = run(
                &[
                    "verify",
                    out.to_str().unwrap(),
                    "--trust",
                    ca,
                    "--report",
                    "etsi",
                ],
                dir.path(),
            );
            assert_eq!(etsi.status.code(), Some(0), "{}", text(&etsi));
            assert!(
                String::from_utf8_lossy(&etsi.stdout)
                    .contains("urn:etsi:019102:mainindication:total-passed"),
                "{}",
                text(&etsi)
            );
            xmllint_schema(&etsi.stdout);
        }
    }
}

#[test]
fn offline_a_b_b_lacks_revocation_data_but_a_b_lt_carries_its_own() {
    let server = Server::start();
    let user = server.add_user("otto");
    server.create_credential(&user, PIN, &["--scal", "1", "--multisign", "10"]);
    let ca = server.ca_pem();
    let ca = ca.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bb = sign_all(&server, &user, dir.path(), "B-B");
    let (code, report) = verify_json(&bb[0], &["--trust", ca, "--offline"]);
    let (indication, sub, _) = verdict(&report);
    assert_eq!(
        (code, indication.as_str(), sub.as_str()),
        (Some(1), "INDETERMINATE", "TRY_LATER"),
        "{report:#}"
    );
    // The human summary says why.
    let out = run(
        &[
            "verify",
            bb[0].to_str().unwrap(),
            "--trust",
            ca,
            "--offline",
        ],
        dir.path(),
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains("INDETERMINATE") && summary.contains("revocation"),
        "{summary}"
    );

    let dir = tempfile::tempdir().unwrap();
    for out in sign_all(&server, &user, dir.path(), "B-LT") {
        let (code, report) = verify_json(&out, &["--trust", ca, "--offline"]);
        let (indication, _, level) = verdict(&report);
        assert_eq!(
            (code, indication.as_str(), short_level(&level)),
            (Some(0), "TOTAL-PASSED", "B-LT"),
            "{}: {report:#}",
            out.display()
        );
    }
}

/// Replaces the first occurrence of `from` in the file by `to` (same length).
fn patch(path: &Path, from: &[u8], to: &[u8], into: &Path) {
    assert_eq!(from.len(), to.len());
    let mut bytes = std::fs::read(path).unwrap();
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .unwrap_or_else(|| {
            panic!(
                "{} has no {:?}",
                path.display(),
                String::from_utf8_lossy(from)
            )
        });
    bytes[at..at + from.len()].copy_from_slice(to);
    std::fs::write(into, bytes).unwrap();
}

#[test]
fn broken_signatures_get_the_standard_sub_indications() {
    let server = Server::start();
    let user = server.add_user("bruno");
    server.create_credential(&user, PIN, &["--scal", "1", "--multisign", "10"]);
    let ca = server.ca_pem();
    let ca = ca.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let signed = sign_all(&server, &user, dir.path(), "B-T");
    let (pdf, xml, jws, p7m) = (&signed[0], &signed[1], &signed[2], &signed[3]);

    // Content changed under the signature: HASH_FAILURE.
    let cases: Vec<(PathBuf, &str, &str)> = vec![
        {
            let out = dir.path().join("pdf-content.pdf");
            patch(
                pdf,
                b"/MediaBox [0 0 595 842]",
                b"/MediaBox [0 0 595 843]",
                &out,
            );
            (out, "TOTAL-FAILED", "HASH_FAILURE")
        },
        {
            let out = dir.path().join("xml-content.xml");
            patch(
                xml,
                b"<Total>117.00</Total>",
                b"<Total>917.00</Total>",
                &out,
            );
            (out, "TOTAL-FAILED", "HASH_FAILURE")
        },
        {
            let out = dir.path().join("p7m-content.p7m");
            patch(p7m, b"Quarterly", b"Quarterlx", &out);
            (out, "TOTAL-FAILED", "HASH_FAILURE")
        },
    ];
    for (file, indication, sub) in &cases {
        let (code, report) = verify_json(file, &["--trust", ca]);
        let (got, got_sub, _) = verdict(&report);
        assert_eq!(
            (code, got.as_str(), got_sub.as_str()),
            (Some(1), *indication, *sub),
            "{}: {report:#}",
            file.display()
        );
    }

    // A flipped signature value: SIG_CRYPTO_FAILURE (the JWS signature is the last member
    // of the JSON serialization; change one base64url character of it).
    let text_jws = std::fs::read_to_string(jws).unwrap();
    let value: Value = serde_json::from_str(&text_jws).unwrap();
    let sig = value["signature"]
        .as_str()
        .or_else(|| value["signatures"][0]["signature"].as_str())
        .expect("a JWS signature")
        .to_string();
    let mut flipped = sig.clone().into_bytes();
    flipped[10] = if flipped[10] == b'A' { b'B' } else { b'A' };
    let bad = dir.path().join("jws-signature.json");
    std::fs::write(
        &bad,
        text_jws.replace(&sig, std::str::from_utf8(&flipped).unwrap()),
    )
    .unwrap();
    let (code, report) = verify_json(&bad, &["--trust", ca]);
    let (got, got_sub, _) = verdict(&report);
    assert_eq!(
        (code, got.as_str(), got_sub.as_str()),
        (Some(1), "TOTAL-FAILED", "SIG_CRYPTO_FAILURE"),
        "{report:#}"
    );

    // Trusting another CA: no chain.
    let other = Server::start();
    let other_ca = other.ca_pem();
    let (code, report) = verify_json(pdf, &["--trust", other_ca.to_str().unwrap()]);
    let (got, got_sub, _) = verdict(&report);
    assert_eq!(
        (code, got.as_str(), got_sub.as_str()),
        (Some(1), "INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND"),
        "{report:#}"
    );

    // Not a signature at all, and a truncated one: a clear error, exit code 2, no panic.
    let junk = write(dir.path(), "junk.bin", b"\x00\x01not a signature");
    let out = run(
        &["verify", junk.to_str().unwrap(), "--trust", ca],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("not a PDF, a CMS signature, an XML document or a JWS"),
        "{}",
        text(&out)
    );
    let bytes = std::fs::read(p7m).unwrap();
    let truncated = write(dir.path(), "truncated.p7m", &bytes[..bytes.len() / 2]);
    let (code, report) = verify_json(&truncated, &["--trust", ca]);
    let (got, got_sub, _) = verdict(&report);
    assert_eq!(
        (code, got.as_str(), got_sub.as_str()),
        (Some(1), "TOTAL-FAILED", "FORMAT_FAILURE"),
        "{report:#}"
    );
    // No trust given: told what to give.
    let out = run(&["verify", pdf.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--trust"),
        "{}",
        text(&out)
    );
}

#[test]
fn revocation_after_the_proof_of_existence_keeps_a_b_lta_valid() {
    let server = Server::start();
    let user = server.add_user("rita");
    let cred = server.create_credential(&user, PIN, &["--scal", "1", "--multisign", "10"]);
    let ca = server.ca_pem();
    let ca = ca.to_str().unwrap();
    let (bb_dir, lta_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let bb = sign_all(&server, &user, bb_dir.path(), "B-B");
    let lta = sign_all(&server, &user, lta_dir.path(), "B-LTA");
    // Revocation times have a one-second resolution: be sure they follow the signatures.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    server.cli_ok(
        &[
            "admin",
            "credential",
            "revoke",
            &cred,
            "--reason",
            "keyCompromise",
        ],
        &[],
    );
    // B-B: the revocation comes from the OCSP responder now, and nothing proves the signature
    // existed before it.
    let (code, report) = verify_json(&bb[0], &["--trust", ca]);
    let (got, got_sub, _) = verdict(&report);
    assert_eq!(
        (code, got.as_str(), got_sub.as_str()),
        (Some(1), "INDETERMINATE", "REVOKED_NO_POE"),
        "{report:#}"
    );
    // B-LTA: the time-stamps prove the signature existed before the revocation.
    for out in &lta {
        let (code, report) = verify_json(out, &["--trust", ca]);
        let (got, _, level) = verdict(&report);
        assert_eq!(
            (code, got.as_str(), short_level(&level)),
            (Some(0), "TOTAL-PASSED", "B-LTA"),
            "{}: {report:#}",
            out.display()
        );
    }
}

#[test]
fn extend_b_b_to_b_lta_in_every_format() {
    let server = Server::start();
    let user = server.add_user("edda");
    server.create_credential(&user, PIN, &["--scal", "1", "--multisign", "10"]);
    let ca = server.ca_pem();
    let ca = ca.to_str().unwrap();
    let tsa = format!("{}/tsa", server.url);
    let dir = tempfile::tempdir().unwrap();
    let docs = documents(dir.path());
    for (out, input) in sign_all(&server, &user, dir.path(), "B-B")
        .into_iter()
        .zip(&docs)
    {
        let extended = dir.path().join(format!(
            "lta-{}",
            out.file_name().unwrap().to_string_lossy()
        ));
        let run_out = run(
            &[
                "extend",
                out.to_str().unwrap(),
                "--level",
                "B-LTA",
                "--tsa",
                &tsa,
                "--trust",
                ca,
                "-o",
                extended.to_str().unwrap(),
            ],
            dir.path(),
        );
        assert_eq!(run_out.status.code(), Some(0), "{}", text(&run_out));
        let (code, report) = verify_json(&extended, &["--trust", ca, "--offline"]);
        let (got, _, level) = verdict(&report);
        assert_eq!(
            (code, got.as_str(), short_level(&level)),
            (Some(0), "TOTAL-PASSED", "B-LTA"),
            "{}: {report:#}",
            extended.display()
        );
        judge(&extended, input, Path::new(ca), false);
    }

    // A signature that does not validate is not extended, and the reason is given.
    let broken = dir.path().join("broken.pdf");
    patch(
        &dir.path().join("contract-signed.pdf"),
        b"/MediaBox [0 0 595 842]",
        b"/MediaBox [0 0 595 843]",
        &broken,
    );
    let out = run(
        &[
            "extend",
            broken.to_str().unwrap(),
            "--level",
            "B-LT",
            "--trust",
            ca,
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot extend") && stderr.contains("TOTAL-FAILED/HASH_FAILURE"),
        "{stderr}"
    );
    assert!(!dir.path().join("broken-extended.pdf").exists());
}

#[test]
fn third_party_signatures_agree_with_pyhanko() {
    let Some(tools) = interop() else { return };
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    let out = std::process::Command::new(tools.python())
        .arg(tools.kit.join("validation_corpus.py"))
        .arg(&corpus)
        .output()
        .unwrap();
    assert!(out.status.success(), "corpus: {}", text(&out));
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(corpus.join("manifest.json")).unwrap()).unwrap();
    let root = corpus.join("root.pem");
    let entries = manifest["entries"].as_array().expect("manifest entries");
    assert!(entries.len() >= 10, "{manifest:#}");
    let mut disagreements = Vec::new();
    for entry in entries {
        let file = corpus.join(entry["file"].as_str().unwrap());
        let mut extra = vec!["--trust", root.to_str().unwrap(), "--offline"];
        let detached = entry["detached_content"]
            .as_str()
            .map(|d| corpus.join(d).display().to_string());
        if let Some(d) = &detached {
            extra.extend(["--detached-content", d.as_str()]);
        }
        let (_, report) = verify_json(&file, &extra);
        let (indication, sub, level) = verdict(&report);
        let expect = &entry["expect"];
        let want = |k: &str| expect[k].as_str().map(str::to_string);
        let mut problems = Vec::new();
        if want("indication").as_deref() != Some(indication.as_str()) {
            problems.push(format!(
                "indication {indication} (expected {:?})",
                want("indication")
            ));
        }
        if let Some(s) = want("sub_indication")
            && s != sub
        {
            problems.push(format!("sub-indication {sub:?} (expected {s})"));
        }
        if let Some(l) = want("level")
            && short_level(&level) != l
        {
            problems.push(format!("level {level:?} (expected {l})"));
        }
        // pyHanko's own verdict on the formats it validates.
        let format = entry["format"].as_str().unwrap_or_default();
        if matches!(format, "PAdES" | "CAdES") {
            let mut cmd = std::process::Command::new(tools.python());
            cmd.arg(tools.kit.join("validation_judge.py"))
                .arg(&file)
                .arg("--trust")
                .arg(&root)
                .arg("--format")
                .arg(format.to_ascii_lowercase());
            if let Some(d) = &detached {
                cmd.arg("--detached").arg(d);
            }
            let judged = cmd.output().unwrap();
            let verdict: Value = serde_json::from_slice(&judged.stdout)
                .unwrap_or_else(|e| panic!("pyHanko judge ({e}): {}", text(&judged)));
            // Where pyHanko departs from EN 319 102-1 the manifest says what it answers and
            // why; everywhere else it must give Signet's indication.
            let pyhanko_expects = entry["pyhanko"]["expect"]["indication"]
                .as_str()
                .unwrap_or(indication.as_str());
            if verdict["indication"].as_str() != Some(pyhanko_expects) {
                problems.push(format!(
                    "pyHanko says {} ({}), expected {pyhanko_expects}",
                    verdict["indication"], verdict["detail"]
                ));
            }
        }
        if !problems.is_empty() {
            disagreements.push(format!(
                "{}: {}\n  report: {}",
                entry["file"],
                problems.join("; "),
                report["signatures"][0]["errors"]
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} of {} corpus files disagree:\n{}",
        disagreements.len(),
        entries.len(),
        disagreements.join("\n")
    );
}

/// A TS 119 612 list of `territory`: one granted CA/QC service with `ca` (DER), and pointers
/// `(territory, location, signer certificate DER)` to other lists.
fn trusted_list(territory: &str, ca: Option<&[u8]>, pointers: &[(&str, &str, &[u8])]) -> String {
    const TSL: &str = "http://uri.etsi.org/02231/v2#";
    const TYPES: &str = "http://uri.etsi.org/02231/v2/additionaltypes#";
    let pointers: String = pointers
        .iter()
        .map(|(t, location, cert)| {
            format!(
                "<OtherTSLPointer><ServiceDigitalIdentities><ServiceDigitalIdentity><DigitalId><X509Certificate>{}</X509Certificate></DigitalId></ServiceDigitalIdentity></ServiceDigitalIdentities><TSLLocation>{location}</TSLLocation><AdditionalInformation><OtherInformation><SchemeTerritory>{t}</SchemeTerritory></OtherInformation><OtherInformation><ns3:MimeType>application/vnd.etsi.tsl+xml</ns3:MimeType></OtherInformation></AdditionalInformation></OtherTSLPointer>",
                b64(cert)
            )
        })
        .collect();
    let pointers = if pointers.is_empty() {
        String::new()
    } else {
        format!("<PointersToOtherTSL>{pointers}</PointersToOtherTSL>")
    };
    let services = ca
        .map(|ca| {
            format!(
                "<TrustServiceProviderList><TrustServiceProvider><TSPInformation><TSPName><Name xml:lang=\"en\">Signet test TSP</Name></TSPName></TSPInformation><TSPServices><TSPService><ServiceInformation><ServiceTypeIdentifier>http://uri.etsi.org/TrstSvc/Svctype/CA/QC</ServiceTypeIdentifier><ServiceName><Name xml:lang=\"en\">Signet test CA</Name></ServiceName><ServiceDigitalIdentity><DigitalId><X509Certificate>{}</X509Certificate></DigitalId></ServiceDigitalIdentity><ServiceStatus>http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted</ServiceStatus><StatusStartingTime>2020-01-01T00:00:00Z</StatusStartingTime></ServiceInformation></TSPService></TSPServices></TrustServiceProvider></TrustServiceProviderList>",
                b64(ca)
            )
        })
        .unwrap_or_default();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<TrustServiceStatusList xmlns=\"{TSL}\" xmlns:ns3=\"{TYPES}\" Id=\"tsl\" TSLTag=\"http://uri.etsi.org/19612/TSLTag\"><SchemeInformation><TSLVersionIdentifier>5</TSLVersionIdentifier><TSLSequenceNumber>7</TSLSequenceNumber><TSLType>http://uri.etsi.org/TrstSvc/TrustedList/TSLType/EUgeneric</TSLType><SchemeOperatorName><Name xml:lang=\"en\">Test operator</Name></SchemeOperatorName><SchemeTerritory>{territory}</SchemeTerritory>{pointers}<ListIssueDateTime>2026-11-01T10:00:00Z</ListIssueDateTime><NextUpdate><dateTime>2027-05-01T10:00:00Z</dateTime></NextUpdate></SchemeInformation>{services}</TrustServiceStatusList>\n"
    )
}

/// The DER of a PEM certificate file's first certificate.
fn pem_der(path: &Path) -> Vec<u8> {
    let pem = std::fs::read_to_string(path).unwrap();
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    unb64(&body)
}

#[test]
fn trusted_lists_are_checked_and_named_in_the_report() {
    let server = Server::start();
    let user = server.add_user("tina");
    server.create_credential(&user, PIN, &["--scal", "1", "--multisign", "10"]);
    let ca_der = pem_der(&server.ca_pem());
    let dir = tempfile::tempdir().unwrap();
    let sign_xml = |name: &str, xml: String| -> PathBuf {
        let input = write(dir.path(), name, xml.as_bytes());
        let out = client(
            &[
                "sign",
                "--server",
                &server.url,
                "--format",
                "xades",
                input.to_str().unwrap(),
            ],
            &signer_env(&user, PIN),
            dir.path(),
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        dir.path().join(name.replace(".xml", "-signed.xml"))
    };
    // The national list names Signet's CA as a granted CA/QC service; it is signed (enveloped
    // XAdES over the whole list) by the test user, whose certificate the list of lists names.
    let national = sign_xml("tl-xx.xml", trusted_list("XX", Some(&ca_der), &[]));
    let signed_list = std::fs::read_to_string(&national).unwrap();
    // KeyInfo's first certificate: the signer's.
    let tag = "<ds:X509Certificate>";
    let start = signed_list.find(tag).expect("KeyInfo") + tag.len();
    let end = start + signed_list[start..].find('<').unwrap();
    let signer = unb64(&signed_list[start..end]);
    let lotl = sign_xml(
        "lotl.xml",
        trusted_list(
            "EU",
            None,
            &[("XX", "https://tl.invalid/tl-xx.xml", &signer)],
        ),
    );
    let pdf = &sign_all(&server, &user, dir.path(), "B-LT")[0];

    // The national list alone, then with the list of lists that points to it.
    for lists in [vec![&national], vec![&lotl, &national]] {
        let mut args = vec!["--offline"];
        for l in &lists {
            args.extend(["--trusted-list", l.to_str().unwrap()]);
        }
        let (code, report) = verify_json(pdf, &args);
        let (got, _, level) = verdict(&report);
        assert_eq!(
            (code, got.as_str(), short_level(&level)),
            (Some(0), "TOTAL-PASSED", "B-LT"),
            "{report:#}"
        );
        let named: Vec<(&str, &str)> = report["trustedLists"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["territory"].as_str().unwrap(),
                    l["sha256"].as_str().unwrap(),
                )
            })
            .collect();
        let digest = |p: &Path| data_encoding::HEXUPPER.encode(&sha256(&std::fs::read(p).unwrap()));
        let expected: Vec<(String, String)> = lists
            .iter()
            .map(|l| {
                let t = if *l == &lotl { "EU" } else { "XX" };
                (t.to_string(), digest(l))
            })
            .collect();
        let expected: Vec<(&str, &str)> = expected
            .iter()
            .map(|(t, d)| (t.as_str(), d.as_str()))
            .collect();
        assert_eq!(named, expected, "{report:#}");
    }

    // A list altered after signing is refused, and so is a national list the list of lists
    // does not name the signer of.
    let altered = dir.path().join("tl-altered.xml");
    patch(&national, b"Signet test CA<", b"Signet test CB<", &altered);
    let out = run(
        &[
            "verify",
            pdf.to_str().unwrap(),
            "--trusted-list",
            altered.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("trusted list"),
        "{}",
        text(&out)
    );
    let wrong_lotl = sign_xml(
        "lotl-wrong.xml",
        trusted_list(
            "EU",
            None,
            &[("XX", "https://tl.invalid/tl-xx.xml", &ca_der)],
        ),
    );
    let out = run(
        &[
            "verify",
            pdf.to_str().unwrap(),
            "--trusted-list",
            wrong_lotl.to_str().unwrap(),
            "--trusted-list",
            national.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("not signed by a certificate the list of lists"),
        "{}",
        text(&out)
    );
}
