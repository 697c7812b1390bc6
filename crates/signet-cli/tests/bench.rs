//! `signet bench` runs end to end and prints its report. Functional checks only: timings depend
//! on the machine and its load, so no figure is asserted here (BENCHMARKS.md records them).

use std::process::Command;

const SIGNET: &str = env!("CARGO_BIN_EXE_signet");

fn bench(args: &[&str]) -> (String, String) {
    let data = tempfile::tempdir().expect("tempdir");
    let out = Command::new(SIGNET)
        .arg("--data")
        .arg(data.path())
        .arg("bench")
        .args(args)
        .env_remove("SIGNET_MASTER_KEY")
        .output()
        .expect("run signet bench");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "signet bench failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    (stdout, stderr)
}

#[test]
fn all_scenarios_print_the_table() {
    let (stdout, stderr) = bench(&["--duration", "1", "--clients", "2", "--batch", "4"]);
    for header in [
        "SCENARIO", "RATE", "P50", "P99", "CPU", "RATIO", "TARGET", "RESULT",
    ] {
        assert!(stdout.contains(header), "no {header} column in:\n{stdout}");
    }
    for row in [
        "raw ecdsa-p256",
        "raw rsa-2048",
        "batch ecdsa-p256",
        "batch rsa-2048",
        "flow ecdsa-p256",
    ] {
        assert!(
            stdout.lines().any(|l| l.starts_with(row)),
            "no {row} row in:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("sig/s") && stdout.contains("pairs/s"),
        "{stdout}"
    );
    // Progress goes to standard error, results to standard output.
    assert!(stderr.contains("flow ecdsa-p256"), "{stderr}");
    assert!(!stdout.contains("setup:"), "{stdout}");
}

#[test]
fn json_output_is_machine_readable() {
    let (stdout, _) = bench(&[
        "--duration",
        "0.5",
        "--clients",
        "2",
        "--scenario",
        "flow",
        "--json",
    ]);
    let report: serde_json::Value =
        serde_json::from_str(&stdout).expect("stdout is one JSON document");
    let results = report["results"].as_array().expect("results array");
    assert_eq!(results.len(), 1, "{report}");
    assert_eq!(results[0]["scenario"], "flow");
    assert_eq!(results[0]["key"], "ecdsa-p256");
    assert!(
        results[0]["operations"].as_u64().is_some_and(|n| n > 0),
        "{report}"
    );
    assert!(results[0]["p99_ms"].is_number(), "{report}");
    assert_eq!(report["settings"]["clients"], 2);
    assert!(report["machine"]["cores"].as_u64().is_some_and(|n| n >= 1));
}

#[test]
fn rejects_bad_options() {
    let out = Command::new(SIGNET)
        .args(["bench", "--batch", "0"])
        .output()
        .expect("run signet bench");
    assert!(!out.status.success());
    let out = Command::new(SIGNET)
        .args(["bench", "--duration", "0"])
        .output()
        .expect("run signet bench");
    assert!(!out.status.success());
}
