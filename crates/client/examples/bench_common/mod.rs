//! What both engine benchmark examples (`bench_producer`, `bench_consumer`) measure and
//! parse the same way: the process's CPU and context switches, its peak RSS, and `--flag
//! value` arguments. A folder without `main.rs`, so cargo does not take it for an example.

use std::collections::HashMap;

/// Counters of the whole process (all threads) from getrusage(RUSAGE_SELF).
#[derive(Clone, Copy)]
pub struct Usage {
    pub cpu_user: f64,
    pub cpu_system: f64,
    pub voluntary: i64,
    pub involuntary: i64,
}

pub fn usage() -> Usage {
    // SAFETY: getrusage only writes into the zeroed struct it is given.
    let mut raw: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut raw) };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Usage {
        cpu_user: seconds(raw.ru_utime),
        cpu_system: seconds(raw.ru_stime),
        voluntary: raw.ru_nvcsw,
        involuntary: raw.ru_nivcsw,
    }
}

/// VmHWM of /proc/self/status in bytes, 0 where it cannot be read.
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| line.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

/// `--name value` pairs of the command line.
pub fn parse_args() -> Result<HashMap<String, String>, String> {
    let mut args = std::env::args().skip(1);
    let mut values = HashMap::new();
    while let Some(flag) = args.next() {
        let name = flag
            .strip_prefix("--")
            .ok_or_else(|| format!("unexpected argument {flag}"))?;
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        values.insert(name.to_owned(), value);
    }
    Ok(values)
}
