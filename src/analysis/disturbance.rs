//! Which samples other processes disturbed: the one threshold and the one test, shared
//! by the rows (counts) and the notes (sentences).

/// A sample whose other-process CPU use exceeded this share of one core is flagged
/// as disturbed.
pub(super) const DISTURBED_SHARE: f64 = 0.10;

/// `/proc/stat` counts in ticks of 10 ms (USER_HZ = 100) and each core's count can be
/// one tick off at either end of a sample, so this much per logical core (plus one) is
/// measurement noise, not another process.
pub(super) const PROC_STAT_TICK_NS: u64 = 10_000_000;

/// Whether other processes used enough CPU during a sample to distrust it.
pub(crate) fn is_disturbed(sample: &crate::runner::Sample, logical_cores: usize) -> bool {
    let slack = PROC_STAT_TICK_NS * (logical_cores as u64 + 1);
    sample.other_cpu_ns.is_some_and(|o| o > slack && o as f64 > DISTURBED_SHARE * sample.wall_ns as f64)
}
