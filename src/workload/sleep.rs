//! `sleep`: each task sleeps for a fixed time. The I/O-bound stand-in from the seeds
//! (downloads, network calls): waiting, not computing, so even more workers than cores
//! help.
//!
//! A task's checksum is the time it actually slept, in nanoseconds, measured inside the
//! task; verification checks that no task woke early.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{SharedState, TaskContext, Verification, Workload, WorkloadParams};

/// Longest accepted sleep per task, in milliseconds.
pub const MAX_MS: u64 = 10_000;

/// Parameters of [`SleepWorkload`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SleepParams {
    /// Number of tasks.
    pub tasks: u32,
    /// How long each task sleeps, in milliseconds.
    pub ms: u32,
}

impl Default for SleepParams {
    fn default() -> Self {
        SleepParams { tasks: 8, ms: 50 }
    }
}

/// Each task sleeps `ms` milliseconds.
pub struct SleepWorkload {
    params: SleepParams,
}

impl SleepWorkload {
    /// A sleep workload with these parameters.
    pub fn new(params: SleepParams) -> Self {
        SleepWorkload { params }
    }
}

impl Workload for SleepWorkload {
    fn params(&self) -> WorkloadParams {
        WorkloadParams::Sleep(self.params.clone())
    }

    fn task_count(&self) -> usize {
        self.params.tasks as usize
    }

    fn run_task(&self, _task: usize, _ctx: &TaskContext<'_>) -> u64 {
        let start = Instant::now();
        std::thread::sleep(Duration::from_millis(u64::from(self.params.ms)));
        start.elapsed().as_nanos() as u64
    }

    fn verify(&self, checksums: &[u64], _shared: &SharedState) -> Verification {
        let wanted = u64::from(self.params.ms) * 1_000_000;
        if checksums.len() != self.params.tasks as usize {
            return Verification::Failed {
                reason: format!("{} tasks reported, {} expected", checksums.len(), self.params.tasks),
            };
        }
        if let Some((task, &slept)) = checksums.iter().enumerate().find(|(_, s)| **s < wanted) {
            return Verification::Failed {
                reason: format!("task {task} slept {slept} ns, less than the requested {} ms", self.params.ms),
            };
        }
        let longest = checksums.iter().copied().max().unwrap_or(0);
        Verification::Verified {
            detail: format!(
                "all {} tasks slept >= {} ms (longest {:.1} ms)",
                checksums.len(),
                self.params.ms,
                longest as f64 / 1e6
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload() -> SleepWorkload {
        SleepWorkload::new(SleepParams { tasks: 2, ms: 3 })
    }

    #[test]
    fn a_task_reports_at_least_the_requested_sleep() {
        let shared = SharedState::heap(0);
        let slept = workload().run_task(0, &TaskContext { worker: 0, workers: 1, shared: &shared });
        assert!(slept >= 3_000_000, "slept only {slept} ns");
    }

    #[test]
    fn an_early_wake_up_fails_verification() {
        let v = workload().verify(&[3_000_000, 2_999_999], &SharedState::heap(0));
        assert!(matches!(v, Verification::Failed { ref reason } if reason.contains("task 1")), "{v:?}");
    }

    #[test]
    fn a_missing_task_fails_verification() {
        assert!(!workload().verify(&[3_000_000], &SharedState::heap(0)).is_ok());
    }

    #[test]
    fn full_sleeps_verify() {
        assert!(workload().verify(&[3_000_000, 3_100_000], &SharedState::heap(0)).is_ok());
    }
}
