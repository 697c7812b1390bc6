//! CPU time of this process and of the rest of the machine, to tell "the cores were busy with
//! overhead" from "the cores were idle" from "someone else had the cores" when a rate falls
//! short.

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

/// Busy time of the whole machine so far: user, nice, system, irq, softirq and steal (time
/// the hypervisor gave to someone else) summed over all cores, from `/proc/stat`.
fn machine_busy_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map_while(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal
    let busy = v.first()? + v.get(1)? + v.get(2)? + v.get(5)? + v.get(6)? + v.get(7)?;
    Some(Duration::from_secs_f64(busy as f64 / USER_HZ))
}

/// Cores kept busy over a timed scenario, on average.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuUse {
    /// By this process: server and clients.
    pub ours: f64,
    /// By everything else on the machine (other processes, the hypervisor's steal): when this
    /// is not near zero, the figures measured the machine's load as much as Signet.
    pub others: f64,
}

/// Measures [`CpuUse`] between [`CpuMeter::start`] and [`CpuMeter::stop`].
pub struct CpuMeter {
    wall: Instant,
    ours: Option<Duration>,
    machine: Option<Duration>,
}

impl CpuMeter {
    pub fn start() -> Self {
        Self {
            wall: Instant::now(),
            ours: process_cpu_time(),
            machine: machine_busy_time(),
        }
    }

    /// Average cores busy since `start` (10 ms resolution), if `/proc` is readable.
    pub fn stop(&self) -> Option<CpuUse> {
        let wall = self.wall.elapsed().as_secs_f64();
        if wall <= 0.0 {
            return None;
        }
        let ours = process_cpu_time()?.saturating_sub(self.ours?).as_secs_f64() / wall;
        let machine = machine_busy_time()?
            .saturating_sub(self.machine?)
            .as_secs_f64()
            / wall;
        Some(CpuUse {
            ours,
            others: (machine - ours).max(0.0),
        })
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
        assert!(machine_busy_time().is_some());
        let used = meter.stop().expect("/proc readable");
        assert!(used.ours >= 0.0 && used.others >= 0.0);
    }
}
