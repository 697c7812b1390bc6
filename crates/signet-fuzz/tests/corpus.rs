//! Replays every committed fuzz input — the seed corpora in `fuzz/corpus/<target>/` and the
//! kept findings in `fuzz/regressions/<target>/` — through its target, so that the normal test
//! suite (and CI) checks every property on every input without fuzzing. Also keeps the list of
//! targets, the cargo-fuzz binaries and the corpora from drifting apart.

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use signet_fuzz::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files of `dir` (none when it does not exist), sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

#[test]
fn every_target_has_a_binary_and_a_seed_corpus() {
    let names: BTreeSet<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
    assert_eq!(names.len(), TARGETS.len(), "a target is listed twice");
    let binaries: BTreeSet<String> = files(&fuzz_dir().join("fuzz_targets"))
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    let listed: BTreeSet<String> = names.iter().map(|n| (*n).to_owned()).collect();
    assert_eq!(
        binaries, listed,
        "fuzz/fuzz_targets/*.rs and signet_fuzz::TARGETS differ"
    );
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    for name in &names {
        let source =
            std::fs::read_to_string(fuzz_dir().join(format!("fuzz_targets/{name}.rs"))).unwrap();
        assert!(
            source.contains(&format!("signet_fuzz::{name}(data)")),
            "fuzz_targets/{name}.rs does not call signet_fuzz::{name}"
        );
        assert!(
            manifest.contains(&format!(
                "name = \"{name}\"\npath = \"fuzz_targets/{name}.rs\""
            )),
            "fuzz/Cargo.toml has no [[bin]] {name}"
        );
        assert!(
            !files(&fuzz_dir().join("corpus").join(name)).is_empty(),
            "fuzz/corpus/{name} is missing or empty"
        );
    }
    // No corpus or regression directory for a target that does not exist.
    for kind in ["corpus", "regressions"] {
        for entry in std::fs::read_dir(fuzz_dir().join(kind)).unwrap() {
            let dir = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                names.contains(dir.as_str()),
                "fuzz/{kind}/{dir}: no such target"
            );
        }
    }
}

#[test]
fn corpora_and_regressions_replay_without_findings() {
    let failures: Vec<String> = std::thread::scope(|s| {
        let runs: Vec<_> = TARGETS
            .iter()
            .map(|&(name, target)| {
                s.spawn(move || {
                    let mut failed = Vec::new();
                    for kind in ["corpus", "regressions"] {
                        for file in files(&fuzz_dir().join(kind).join(name)) {
                            let data = std::fs::read(&file).unwrap();
                            if catch_unwind(AssertUnwindSafe(|| target(&data))).is_err() {
                                failed.push(format!(
                                    "{name}: fuzz/{kind}/{name}/{}",
                                    file.file_name().unwrap().to_string_lossy()
                                ));
                            }
                        }
                    }
                    failed
                })
            })
            .collect();
        runs.into_iter().flat_map(|r| r.join().unwrap()).collect()
    });
    assert!(
        failures.is_empty(),
        "inputs with findings:\n{}",
        failures.join("\n")
    );
}

/// The seeds reach the deep paths they were made for: the fuzz PKI's signatures validate,
/// its OCSP requests name its CA. (A fixture that no longer matches its seeds would leave the
/// fuzzer at the first checks.)
#[test]
fn seeds_are_valid_messages_of_the_fuzz_pki() {
    use der::Decode;
    let pki = signet_fuzz::fixture::pki();
    let corpus = fuzz_dir().join("corpus");
    let options = signet_validation::Options {
        anchors: &pki.anchors,
        trusted_lists: &[],
        validation_time: pki.validation_time(),
        fetcher: None,
        limits: signet_ades::Limits::default(),
        max_revocation_age: signet_validation::DEFAULT_MAX_REVOCATION_AGE,
    };
    let detached = [signet_validation::DetachedContent {
        name: Some("document.txt".into()),
        bytes: signet_fuzz::DETACHED_DOCUMENT.to_vec(),
    }];
    for path in [
        "validate_cades/attached-Ades-B-LTA",
        "validate_cades/detached-Ades-B-B",
        "validate_pades/pades-Ades-B-LTA",
        "validate_xades/enveloped-Ades-B-LTA",
        "validate_xades/detached-Ades-B-B",
        "jws/attached-Ades-B-LTA",
        "jws/detached-Ades-B-B",
    ] {
        let data = std::fs::read(corpus.join(path)).unwrap();
        let report = signet_validation::validate(&data, None, &detached, &options).unwrap();
        // B-B carries no revocation data (and fetching is off): INDETERMINATE, never FAILED.
        let expected = if path.ends_with("B-B") {
            signet_validation::Indication::Indeterminate
        } else {
            signet_validation::Indication::TotalPassed
        };
        assert_eq!(
            report.indication(),
            expected,
            "{path}: {}",
            signet_validation::report::text(&report)
        );
    }
    let request = std::fs::read(corpus.join("ocsp_request/signer.der")).unwrap();
    let answer = pki
        .ca
        .ocsp_response(&pki.service, &request, &|_| {
            signet_pki::RevocationStatus::Good
        })
        .unwrap();
    let resp = x509_ocsp::OcspResponse::from_der(&answer).unwrap();
    assert_eq!(
        resp.response_status,
        x509_ocsp::OcspResponseStatus::Successful
    );
}
