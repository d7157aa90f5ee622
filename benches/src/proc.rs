//! CPU time of a process from `/proc/PID/stat`, the figure every benchmark here reports.

/// `utime + stime` of process `pid` (this process when None) in seconds, given the kernel's
/// clock ticks per second (`getconf CLK_TCK`, 100 on Linux).
pub fn cpu_seconds(pid: Option<u32>, clk_tck: u64) -> Option<f64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the parenthesised command name, which may contain spaces.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / clk_tck.max(1) as f64)
}

/// `VmHWM` (peak resident set) of process `pid` in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        assert!(cpu_seconds(None, 100).is_some_and(|s| s >= 0.0));
        assert!(cpu_seconds(Some(std::process::id()), 100).is_some());
        assert!(peak_rss_kib(std::process::id()).is_some_and(|k| k > 0));
        assert!(cpu_seconds(Some(u32::MAX), 100).is_none());
    }
}
