//! CPU time of this process, to tell "the cores were busy with overhead" from "the cores were
//! idle" when a rate falls short.

use std::time::{Duration, Instant};

/// Linux reports `/proc` times in USER_HZ, which is 100 on every architecture Signet targets.
const USER_HZ: f64 = 100.0;

/// User + system CPU time of the whole process (all threads) so far.
fn process_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Field 2 (comm) is parenthesised and may contain spaces: count fields after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After comm: state is field 3, so utime (14) and stime (15) are the 12th and 13th here.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_secs_f64((utime + stime) as f64 / USER_HZ))
}

/// Measures how many cores the process kept busy between `start` and `cores_used`.
pub struct CpuMeter {
    wall: Instant,
    cpu: Option<Duration>,
}

impl CpuMeter {
    pub fn start() -> Self {
        Self {
            wall: Instant::now(),
            cpu: process_cpu_time(),
        }
    }

    /// Average number of cores busy since `start` (10 ms resolution), if `/proc` is readable.
    pub fn cores_used(&self) -> Option<f64> {
        let wall = self.wall.elapsed().as_secs_f64();
        let used = process_cpu_time()?.checked_sub(self.cpu?)?;
        (wall > 0.0).then(|| used.as_secs_f64() / wall)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_cpu_time() {
        let meter = CpuMeter::start();
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(process_cpu_time().is_some());
        assert!(meter.cores_used().is_some_and(|c| c >= 0.0));
    }
}
