//! The verdict and the tables: latency per flow and time window, process figures, and one line
//! per check with PASS or FAIL.
//!
//! The run after warm-up ([`warm_up`]) is cut in thirds; memory, descriptors and latency of
//! the last third are compared with the first. Latency drifts grossly when the last third's
//! p50 exceeds [`DRIFT_FACTOR`] times the first third's plus [`DRIFT_P50_SLACK_MS`], or its p95
//! [`DRIFT_FACTOR`] times plus [`DRIFT_P95_SLACK_MS`]: the slack keeps a busy shared machine
//! from failing a flow that takes a few milliseconds. Flows with fewer than
//! [`DRIFT_MIN_SAMPLES`] operations in a third are reported, not judged.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::audit::{Matched, Verified};
use super::monitor::{ProcSample, TICKS_PER_SECOND};
use super::record::{Flow, Recorder, Sample, Snapshot};
use super::{FD_TOLERANCE, RSS_TOLERANCE_FRACTION, RSS_TOLERANCE_MIB};
use crate::bench::report::nearest_rank;

pub const DRIFT_FACTOR: f64 = 3.0;
pub const DRIFT_P50_SLACK_MS: f64 = 20.0;
pub const DRIFT_P95_SLACK_MS: f64 = 50.0;
pub const DRIFT_MIN_SAMPLES: usize = 10;

/// Warm-up: a tenth of the run, at least 20 s and at most 2 minutes (connections, caches and
/// the allocator's arenas settle), and never more than a third.
pub fn warm_up(run: Duration) -> Duration {
    (run / 10)
        .clamp(Duration::from_secs(20), Duration::from_secs(120))
        .min(run / 3)
}

/// Latency windows: a minute, or 30 s for runs under 10 minutes.
pub fn window(run: Duration) -> Duration {
    if run >= Duration::from_secs(600) {
        Duration::from_secs(60)
    } else {
        Duration::from_secs(30)
    }
}

/// `mm:ss`.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    format!("{:02}:{:02}", s / 60, s % 60)
}

/// Everything measured.
pub struct Outcome {
    pub duration: Duration,
    /// How long the load actually ran (shorter when it stopped early).
    pub load_time: Duration,
    /// Why it ended early, if it did.
    pub ended: Option<&'static str>,
    pub snapshot: Snapshot,
    pub samples: Vec<ProcSample>,
    /// The process before the load and 3 s after it (`None`: it had exited).
    pub before: ProcSample,
    pub after: Option<ProcSample>,
    pub verified: Verified,
    pub matched: Matched,
}

pub struct Judged {
    pub passed: bool,
    pub text: String,
    pub json: Value,
}

struct Check {
    name: &'static str,
    passed: bool,
    detail: String,
}

/// Nearest-rank percentile of latencies in microseconds, as milliseconds.
fn percentile_ms(sorted_us: &[u64], p: f64) -> Option<f64> {
    nearest_rank(sorted_us, p).map(|us| us as f64 / 1000.0)
}

fn median(values: &mut [u64]) -> Option<u64> {
    values.sort_unstable();
    nearest_rank(values, 50.0)
}

fn ms(v: Option<f64>) -> String {
    match v {
        Some(v) if v >= 100.0 => format!("{v:.0}"),
        Some(v) => format!("{v:.1}"),
        None => "-".into(),
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Latencies (µs, sorted) of `flow` in `[from, to)`.
fn latencies(samples: &[Sample], flow: Flow, from: Duration, to: Duration) -> Vec<u64> {
    let mut v: Vec<u64> = samples
        .iter()
        .filter(|s| s.flow == flow && s.at >= from && s.at < to)
        .map(|s| s.latency_us)
        .collect();
    v.sort_unstable();
    v
}

pub fn judge(o: &Outcome) -> Judged {
    let run = o.load_time.min(o.duration);
    let warm = warm_up(o.duration).min(run / 3);
    let third = run.saturating_sub(warm) / 3;
    let first = (warm, warm + third);
    let last = (run.saturating_sub(third), run + Duration::from_secs(3600));
    let in_range = |s: &&ProcSample, (from, to): (Duration, Duration)| s.at >= from && s.at < to;
    let mut text = String::new();
    let mut checks = Vec::new();
    let snap = &o.snapshot;

    // Latency per flow and window.
    let win = window(o.duration);
    let windows = run.as_secs().div_ceil(win.as_secs()).max(1);
    let flows: Vec<Flow> = Flow::ALL
        .into_iter()
        .filter(|f| snap.samples.iter().any(|s| s.flow == *f))
        .collect();
    let mut window_json = Vec::new();
    let _ = writeln!(
        text,
        "\n== latency per {} s window (ms)\n{:<16} {:>11} {:>7} {:>8} {:>8} {:>8}",
        win.as_secs(),
        "flow",
        "window",
        "ops",
        "p50",
        "p95",
        "p99"
    );
    for &flow in &flows {
        for w in 0..windows {
            let from = win * w as u32;
            let l = latencies(&snap.samples, flow, from, from + win);
            let p = |q| percentile_ms(&l, q);
            let _ = writeln!(
                text,
                "{:<16} {:>5}-{:<5} {:>7} {:>8} {:>8} {:>8}",
                flow.name(),
                clock(from),
                clock((from + win).min(run)),
                l.len(),
                ms(p(50.0)),
                ms(p(95.0)),
                ms(p(99.0))
            );
            window_json.push(json!({
                "flow": flow.name(), "from_s": from.as_secs(), "ops": l.len(),
                "p50_ms": p(50.0), "p95_ms": p(95.0), "p99_ms": p(99.0),
            }));
        }
    }

    // Flow totals and drift.
    let _ = writeln!(
        text,
        "\n== flows (whole run; drift: last third against the first, after {} s warm-up)\n{:<16} {:>7} {:>6} {:>8} {:>8} {:>8}  {:>17}  {:>17}  statuses",
        warm.as_secs(),
        "flow",
        "ops",
        "fail",
        "p50",
        "p95",
        "p99",
        "p50 first→last",
        "p95 first→last"
    );
    let mut drifted = Vec::new();
    let mut flow_json = Vec::new();
    for flow in Flow::ALL {
        let all = latencies(&snap.samples, flow, Duration::ZERO, Duration::MAX);
        let a = latencies(&snap.samples, flow, first.0, first.1);
        let b = latencies(&snap.samples, flow, last.0, last.1);
        let judged = a.len() >= DRIFT_MIN_SAMPLES && b.len() >= DRIFT_MIN_SAMPLES;
        let (a50, a95, b50, b95) = (
            percentile_ms(&a, 50.0),
            percentile_ms(&a, 95.0),
            percentile_ms(&b, 50.0),
            percentile_ms(&b, 95.0),
        );
        if judged
            && let (Some(a50), Some(a95), Some(b50), Some(b95)) = (a50, a95, b50, b95)
            && (b50 > DRIFT_FACTOR * a50 + DRIFT_P50_SLACK_MS
                || b95 > DRIFT_FACTOR * a95 + DRIFT_P95_SLACK_MS)
        {
            drifted.push(format!(
                "{}: p50 {a50:.1}→{b50:.1} ms, p95 {a95:.1}→{b95:.1} ms",
                flow.name()
            ));
        }
        let mut classes: BTreeMap<String, u64> = BTreeMap::new();
        for ((f, status), n) in &snap.statuses {
            if *f == flow {
                *classes.entry(format!("{}xx", status / 100)).or_default() += n;
            }
        }
        let failures = snap.failures.get(&flow).copied().unwrap_or(0);
        if all.is_empty() && failures == 0 && classes.is_empty() {
            continue;
        }
        let statuses: Vec<String> = classes.iter().map(|(c, n)| format!("{c} {n}")).collect();
        let mark = if judged { "" } else { "*" };
        let _ = writeln!(
            text,
            "{:<16} {:>7} {:>6} {:>8} {:>8} {:>8}  {:>17}  {:>17}  {}",
            flow.name(),
            all.len(),
            failures,
            ms(percentile_ms(&all, 50.0)),
            ms(percentile_ms(&all, 95.0)),
            ms(percentile_ms(&all, 99.0)),
            format!("{}→{}{mark}", ms(a50), ms(b50)),
            format!("{}→{}{mark}", ms(a95), ms(b95)),
            statuses.join(", ")
        );
        flow_json.push(json!({
            "flow": flow.name(), "ops": all.len(), "failures": failures,
            "p50_ms": percentile_ms(&all, 50.0), "p95_ms": percentile_ms(&all, 95.0),
            "p99_ms": percentile_ms(&all, 99.0),
            "first_third": { "ops": a.len(), "p50_ms": a50, "p95_ms": a95 },
            "last_third": { "ops": b.len(), "p50_ms": b50, "p95_ms": b95 },
            "drift_judged": judged, "statuses": classes,
        }));
    }
    let _ = writeln!(
        text,
        "(* fewer than {DRIFT_MIN_SAMPLES} operations in a third: reported, not judged)"
    );

    // Process figures.
    let rss = |range| {
        let mut v: Vec<u64> = o
            .samples
            .iter()
            .filter(|s| in_range(s, range))
            .map(|s| s.rss_kib)
            .collect();
        median(&mut v)
    };
    let fd_max = |range| {
        o.samples
            .iter()
            .filter(|s| in_range(s, range))
            .map(|s| s.fds)
            .max()
    };
    let (rss_first, rss_last) = (rss(first), rss(last));
    let (fd_first, fd_last) = (fd_max(first), fd_max(last));
    let slope = rss_slope_mib_per_hour(o.samples.iter().filter(|s| s.at >= warm));
    let peak = o.samples.iter().map(|s| s.rss_kib).max();
    let threads = o.samples.iter().map(|s| s.threads).max();
    let cpu = o.samples.first().zip(o.samples.last()).and_then(|(a, b)| {
        let secs = (b.at - a.at).as_secs_f64();
        (secs > 0.0).then(|| (b.cpu_ticks - a.cpu_ticks) as f64 / TICKS_PER_SECOND / secs)
    });
    let _ = writeln!(text, "\n== server process");
    let _ = writeln!(
        text,
        "RSS: {:.1} MiB before the load, median {} MiB in the first third, {} MiB in the last, peak {}, trend {} MiB/h",
        mib(o.before.rss_kib),
        rss_first.map_or("-".into(), |v| format!("{:.1}", mib(v))),
        rss_last.map_or("-".into(), |v| format!("{:.1}", mib(v))),
        peak.map_or("-".into(), |v| format!("{:.1}", mib(v))),
        slope.map_or("-".into(), |v| format!("{v:+.1}"))
    );
    let _ = writeln!(
        text,
        "file descriptors: {} before the load, at most {} in the first third and {} in the last, {} after; threads at most {}; CPU {} cores on average",
        o.before.fds,
        fd_first.map_or("-".into(), |v| v.to_string()),
        fd_last.map_or("-".into(), |v| v.to_string()),
        o.after.map_or("-".into(), |a| a.fds.to_string()),
        threads.map_or("-".into(), |v| v.to_string()),
        cpu.map_or("-".into(), |c| format!("{c:.2}"))
    );
    let (slow_opened, slow_answered, slow_closed) = snap.slow;
    let _ = writeln!(
        text,
        "slow clients: {slow_opened} half-sent requests held 2-12 s; the server answered {slow_answered} and closed {slow_closed} before the client gave up"
    );

    // Checks.
    checks.push(Check {
        name: "ran to the end",
        passed: o.ended.is_none(),
        detail: o
            .ended
            .map_or_else(|| format!("{} of load", clock(run)), str::to_owned),
    });
    checks.push(Check {
        name: "no 5xx",
        passed: snap.server_errors == 0,
        detail: format!(
            "{} answers, {} of them 5xx",
            snap.statuses.values().sum::<u64>(),
            snap.server_errors
        ),
    });
    let valid_failures: u64 = snap
        .failures
        .iter()
        .filter(|(f, _)| f.valid())
        .map(|(_, n)| n)
        .sum();
    let operations = snap.samples.iter().filter(|s| s.flow.valid()).count();
    checks.push(Check {
        name: "valid flows succeed",
        passed: valid_failures == 0,
        detail: format!("{operations} operations, {valid_failures} failed"),
    });
    let missing: Vec<&str> = Flow::ALL
        .into_iter()
        .filter(|f| *f != Flow::Slow && !snap.samples.iter().any(|s| s.flow == *f))
        .map(Flow::name)
        .chain((slow_opened == 0).then_some(Flow::Slow.name()))
        .collect();
    checks.push(Check {
        name: "every flow exercised",
        passed: missing.is_empty(),
        detail: if missing.is_empty() {
            format!("{} flows", Flow::ALL.len())
        } else {
            format!("never completed: {}", missing.join(", "))
        },
    });
    let hostile_failures: u64 = snap
        .failures
        .iter()
        .filter(|(f, _)| !f.valid())
        .map(|(_, n)| n)
        .sum();
    let hostile_answers: u64 = snap
        .statuses
        .iter()
        .filter(|((f, _), _)| *f == Flow::Hostile)
        .map(|(_, n)| n)
        .sum();
    checks.push(Check {
        name: "hostile requests refused",
        passed: hostile_failures == 0,
        detail: format!(
            "{hostile_answers} answers, {slow_opened} slow clients, {hostile_failures} not as expected"
        ),
    });
    let rss_ok = match (rss_first, rss_last) {
        (Some(a), Some(b)) => {
            let limit = mib(a) * RSS_TOLERANCE_FRACTION + RSS_TOLERANCE_MIB;
            let growth = mib(b) - mib(a);
            (
                growth <= limit,
                format!(
                    "median {:.1} → {:.1} MiB ({growth:+.1}, allowed +{limit:.1})",
                    mib(a),
                    mib(b)
                ),
            )
        }
        _ => (false, "too few samples".into()),
    };
    checks.push(Check {
        name: "memory flat after warm-up",
        passed: rss_ok.0,
        detail: rss_ok.1,
    });
    let fd_ok = match (fd_first, fd_last, o.after) {
        (Some(a), Some(b), Some(after)) => (
            b <= a + FD_TOLERANCE && after.fds <= o.before.fds + FD_TOLERANCE,
            format!(
                "max {a} → {b} under load, {} before → {} after (allowed +{FD_TOLERANCE})",
                o.before.fds, after.fds
            ),
        ),
        _ => (false, "too few samples".into()),
    };
    checks.push(Check {
        name: "no descriptor growth",
        passed: fd_ok.0,
        detail: fd_ok.1,
    });
    let m = &o.matched;
    checks.push(Check {
        name: "every signature audited",
        passed: m.missing_count == 0 && m.received > 0,
        detail: format!(
            "{} signatures received, {} signature.create records, {} without a record",
            m.received, m.records, m.missing_count
        ),
    });
    checks.push(Check {
        name: "audit verify",
        passed: o.verified.ok,
        detail: o.verified.summary.clone(),
    });
    checks.push(Check {
        name: "latency stable",
        passed: drifted.is_empty(),
        detail: if drifted.is_empty() {
            format!(
                "no flow's last-third p50 > {DRIFT_FACTOR}x first + {DRIFT_P50_SLACK_MS} ms or p95 > {DRIFT_FACTOR}x + {DRIFT_P95_SLACK_MS} ms"
            )
        } else {
            drifted.join("; ")
        },
    });

    let passed = checks.iter().all(|c| c.passed);
    let _ = writeln!(text, "\n== checks");
    for c in &checks {
        let verdict = if c.passed { "PASS" } else { "FAIL" };
        let _ = writeln!(text, "{verdict}  {:<26} {}", c.name, c.detail);
    }
    for (title, lines) in [
        ("5xx answers", &snap.server_error_messages),
        ("failures", &snap.failure_messages),
        ("signatures without an audit record", &m.missing),
    ] {
        if !lines.is_empty() {
            let _ = writeln!(text, "\n== {title} (first {})", lines.len());
            for l in lines {
                let _ = writeln!(text, "  {l}");
            }
        }
    }
    let failed = checks.iter().filter(|c| !c.passed).count();
    let _ = writeln!(
        text,
        "\nsoak {}",
        if passed {
            "PASSED".to_owned()
        } else {
            format!("FAILED: {failed} check(s)")
        }
    );

    let json = json!({
        "passed": passed,
        "minutes": o.duration.as_secs_f64() / 60.0,
        "load_seconds": run.as_secs_f64(),
        "warm_up_seconds": warm.as_secs(),
        "window_seconds": win.as_secs(),
        "checks": checks.iter().map(|c| json!({"name": c.name, "passed": c.passed, "detail": c.detail})).collect::<Vec<_>>(),
        "flows": flow_json,
        "windows": window_json,
        "process": {
            "rss_mib_before": mib(o.before.rss_kib),
            "rss_mib_first_third_median": rss_first.map(mib),
            "rss_mib_last_third_median": rss_last.map(mib),
            "rss_mib_peak": peak.map(mib),
            "rss_trend_mib_per_hour": slope,
            "fds_before": o.before.fds,
            "fds_first_third_max": fd_first,
            "fds_last_third_max": fd_last,
            "fds_after": o.after.map(|a| a.fds),
            "threads_max": threads,
            "cpu_cores_average": cpu,
            "samples": o.samples.iter().map(|s| json!([s.at.as_secs(), s.rss_kib, s.anon_kib, s.fds])).collect::<Vec<_>>(),
        },
        "slow_clients": { "opened": slow_opened, "answered": slow_answered, "closed_by_server": slow_closed },
        "server_errors": snap.server_error_messages,
        "failures": snap.failure_messages,
    });
    Judged { passed, text, json }
}

/// Least-squares slope of RSS over time, in MiB per hour.
fn rss_slope_mib_per_hour<'a>(samples: impl Iterator<Item = &'a ProcSample>) -> Option<f64> {
    let points: Vec<(f64, f64)> = samples
        .map(|s| (s.at.as_secs_f64() / 3600.0, mib(s.rss_kib)))
        .collect();
    let n = points.len() as f64;
    if points.len() < 3 {
        return None;
    }
    let (mx, my) = (
        points.iter().map(|p| p.0).sum::<f64>() / n,
        points.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// The running line on standard error: redrawn every second on a terminal, a new line every
/// 15 s otherwise (CI logs).
pub struct ProgressLine {
    total: Duration,
    terminal: bool,
    last: Option<Instant>,
}

impl ProgressLine {
    pub fn new(total: Duration) -> Self {
        Self {
            total,
            terminal: std::io::stderr().is_terminal(),
            last: None,
        }
    }

    pub fn show(&mut self, rec: &Recorder, s: &ProcSample) {
        let every = if self.terminal {
            Duration::ZERO
        } else {
            Duration::from_secs(15)
        };
        if self.last.is_some_and(|t| t.elapsed() < every) {
            return;
        }
        self.last = Some(Instant::now());
        let (answers, server_errors, failures, signatures) = rec.counts();
        let line = format!(
            "soak {} / {}: {answers} answers, {signatures} signatures, {failures} failures, {server_errors} 5xx | server RSS {:.1} MiB, {} fds",
            clock(s.at),
            clock(self.total),
            mib(s.rss_kib),
            s.fds
        );
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r\x1b[2K{line}");
        } else {
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
    }

    pub fn finish(&self) {
        if self.terminal {
            eprintln!();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warm_up_and_windows_scale_with_the_run() {
        let min = |m: u64| Duration::from_secs(m * 60);
        assert_eq!(warm_up(min(2)), Duration::from_secs(20));
        assert_eq!(warm_up(min(5)), Duration::from_secs(30));
        assert_eq!(warm_up(min(30)), Duration::from_secs(120));
        assert_eq!(warm_up(Duration::from_secs(30)), Duration::from_secs(10));
        assert_eq!(window(min(2)), Duration::from_secs(30));
        assert_eq!(window(min(30)), Duration::from_secs(60));
    }

    #[test]
    fn slope_of_a_steady_climb() {
        let samples: Vec<ProcSample> = (0..10)
            .map(|i| ProcSample {
                at: Duration::from_secs(i * 360),
                rss_kib: 1024 * (100 + i),
                anon_kib: 1024 * (90 + i),
                fds: 10,
                threads: 4,
                cpu_ticks: 0,
            })
            .collect();
        let slope = rss_slope_mib_per_hour(samples.iter()).expect("slope");
        assert!((slope - 10.0).abs() < 1e-9, "{slope}");
        assert_eq!(rss_slope_mib_per_hour(samples[..2].iter()), None);
    }
}
