//! The library side of `scripts/bench-verify`: validates one file RUNS times in this process
//! (after one untimed warm-up), as `tests/interop/bench_validate.py` does with pyHanko, and
//! prints one JSON line: runs, seconds, per_second, and the indication and level (the same every
//! run, or the bench fails).
//!
//! usage: cargo run --release -p signet-validation --example bench_validate -- FILE ROOT.pem RUNS

use std::time::Instant;

use signet_validation::trust::TrustAnchors;
use signet_validation::{Limits, Options, ValidationReport, report, validate};

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [file, root, runs] = args.as_slice() else {
        return Err("usage: bench_validate FILE ROOT.pem RUNS".into());
    };
    let runs: u32 = runs.parse().map_err(|_| "RUNS is a number")?;
    let signed = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
    let mut anchors = TrustAnchors::default();
    anchors.add_file(
        &std::fs::read(root).map_err(|e| format!("{root}: {e}"))?,
        root,
    )?;
    let name = std::path::Path::new(file)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    let once = || -> Result<(ValidationReport, usize), String> {
        let options = Options {
            anchors: &anchors,
            trusted_lists: &[],
            validation_time: time::OffsetDateTime::now_utc(),
            fetcher: None,
            limits: Limits {
                max_document_bytes: 256 << 20,
                ..Limits::default()
            },
            max_revocation_age: signet_validation::DEFAULT_MAX_REVOCATION_AGE,
        };
        let r = validate(&signed, name.as_deref(), &[], &options).map_err(|e| e.to_string())?;
        // The report is part of the work, as pyHanko's summary is on its side.
        let json = report::json(&r).to_string();
        Ok((r, json.len()))
    };
    let verdict = |r: &ValidationReport| {
        r.signatures
            .iter()
            .map(|s| format!("{} {:?}", s.indication, s.level))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (first, _) = once()?;
    let expected = verdict(&first);
    let started = Instant::now();
    for _ in 0..runs {
        let (r, _) = once()?;
        if verdict(&r) != expected {
            return Err(format!(
                "the verdict changed: {} then {}",
                expected,
                verdict(&r)
            ));
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "runs": runs,
            "seconds": (seconds * 1000.0).round() / 1000.0,
            "per_second": (f64::from(runs) / seconds * 100.0).round() / 100.0,
            "indication": first.indication().name(),
            "verdict": expected,
        })
    );
    Ok(())
}
