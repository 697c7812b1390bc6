//! The server process seen from outside, through /proc: resident memory, open file
//! descriptors, threads and CPU time, sampled every second.

use std::time::Duration;

use anyhow::Context;

/// One look at the process.
#[derive(Clone, Copy, Debug)]
pub struct ProcSample {
    /// From the start of the load.
    pub at: Duration,
    pub rss_kib: u64,
    /// The anonymous part of it (heap, stacks): what a leak grows. The rest is mostly file
    /// pages (the executable, the database's memory-mapped parts).
    pub anon_kib: u64,
    pub fds: u64,
    pub threads: u64,
    /// User + system CPU time so far, in clock ticks.
    pub cpu_ticks: u64,
}

/// Samples process `pid` now: `None` once it has exited.
pub fn sample(pid: u32, at: Duration) -> anyhow::Result<Option<ProcSample>> {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return Ok(None);
    };
    let field = |name: &str| -> Option<&str> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .map(str::trim)
    };
    // A zombie (exited, not yet reaped by its parent) has no memory left to report.
    if field("State").is_some_and(|s| s.starts_with('Z') || s.starts_with('X')) {
        return Ok(None);
    }
    let number = |name: &str| -> anyhow::Result<u64> {
        field(name)
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("/proc/{pid}/status has no {name}"))
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .with_context(|| format!("listing /proc/{pid}/fd"))?
        .count() as u64;
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Ok(None);
    };
    // Fields after the command name (which may contain spaces, hence the last ')'): utime and
    // stime are fields 14 and 15 of the line, 12 and 13 after it.
    let cpu_ticks = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect::<Vec<_>>())
        .and_then(|f| Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?))
        .with_context(|| format!("/proc/{pid}/stat is malformed"))?;
    Ok(Some(ProcSample {
        at,
        rss_kib: number("VmRSS")?,
        anon_kib: number("RssAnon")?,
        fds,
        threads: number("Threads")?,
        cpu_ticks,
    }))
}

/// Clock ticks per second for `cpu_ticks` (USER_HZ: 100 on every Linux architecture Signet
/// builds for).
pub const TICKS_PER_SECOND: f64 = 100.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_this_process() {
        let s = sample(std::process::id(), Duration::ZERO)
            .expect("own /proc entry")
            .expect("alive");
        assert!(s.rss_kib > 0 && s.fds >= 3 && s.threads >= 1);
    }

    #[test]
    fn a_missing_process_has_exited() {
        // PIDs are below 2^22 on Linux.
        assert!(
            sample(u32::MAX, Duration::ZERO)
                .expect("no error")
                .is_none()
        );
    }
}
