//! Resident memory of this process (`/proc/self/status`): its resident set now
//! (`VmRSS`) and its high-water mark (`VmHWM`), which Linux resets to the current
//! resident set when `5` is written to `/proc/self/clear_refs`, so that the peak of one
//! stretch of time (a sample) can be read on its own.

/// Resets this process's resident high-water mark to its current resident set and
/// returns that, in KiB; `None` when the mark cannot be reset (not Linux, or refused):
/// then no peak of a stretch of time can be told apart from the process's own.
pub fn reset_peak() -> Option<u64> {
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    peak_kib()
}

/// This process's resident high-water mark since it started or since the last
/// [`reset_peak`], KiB.
pub fn peak_kib() -> Option<u64> {
    status_kib(&std::fs::read_to_string("/proc/self/status").ok()?, "VmHWM")
}

/// This process's resident set now, KiB.
#[cfg(test)]
pub(crate) fn rss_kib() -> Option<u64> {
    status_kib(&std::fs::read_to_string("/proc/self/status").ok()?, "VmRSS")
}

/// The value of a `Name:   1234 kB` line of a `/proc/<pid>/status` text.
fn status_kib(status: &str, name: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))?;
    let mut fields = line.split_ascii_whitespace();
    let value = fields.next()?.parse().ok()?;
    (fields.next() == Some("kB")).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_are_read_by_name_in_kib() {
        let status = "Name:\tparbench\nVmPeak:\t  10000 kB\nVmHWM:\t    2200 kB\nVmRSS:\t    2100 kB\nThreads:\t1\n";
        assert_eq!(status_kib(status, "VmHWM"), Some(2200));
        assert_eq!(status_kib(status, "VmRSS"), Some(2100));
        assert_eq!(status_kib(status, "Threads"), None, "no unit");
        assert_eq!(status_kib(status, "VmSwap"), None);
        assert_eq!(status_kib("VmHWMx:\t5 kB\n", "VmHWM"), None, "another field");
    }

    #[test]
    fn the_peak_rises_with_touched_memory_and_falls_when_reset_after_it_is_freed() {
        const SIZE: usize = 96 << 20;
        let Some(start) = reset_peak() else {
            // Not Linux or not allowed: nothing to measure, and nothing claims it.
            assert!(std::fs::write("/proc/self/clear_refs", "5").is_err());
            return;
        };
        // Every page written (not `vec![0; n]`, whose pages may stay untouched).
        let block = std::hint::black_box(vec![1u8; SIZE]);
        let peak = peak_kib().unwrap();
        assert!(peak >= start + (SIZE as u64 >> 10) * 9 / 10, "start {start} KiB, peak {peak} KiB");
        drop(block);
        let after = reset_peak().unwrap();
        // Other tests of this process allocate meanwhile, but not a block this size.
        assert!(after + (SIZE as u64 >> 10) / 2 <= peak, "peak {peak} KiB, after reset {after} KiB");
        assert!(rss_kib().unwrap() > 0);
    }
}
