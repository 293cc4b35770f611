//! `sleep`: each task sleeps for a fixed time. The I/O-bound stand-in from the seeds
//! (downloads, network calls): waiting, not computing, so even more workers than cores
//! help.
//!
//! A task's checksum is the time it actually slept, in nanoseconds, measured inside the
//! task; verification checks that no task woke early.
//!
//! Its async form waits on the polling runtime's timer instead of blocking a thread, so
//! the async runner keeps every task waiting at once on few threads (the seeds'
//! asyncio).

use std::time::{Duration, Instant};

use super::{
    Param, Params, Properties, SharedState, TaskContext, TaskFuture, Timer, Verification, Workload, WorkloadSpec,
};

/// Longest accepted sleep per task, in milliseconds.
pub const MAX_MS: u64 = 10_000;

/// The `sleep` declaration.
pub fn spec() -> WorkloadSpec {
    WorkloadSpec::new("sleep", "each task sleeps: waiting, not computing (the I/O-bound stand-in)", |p: &Params| {
        Ok(SleepWorkload { tasks: p.uint("tasks") as usize, ms: p.uint("ms") })
    })
    .param(Param::uint("tasks", 8).range(1, super::MAX_TASKS).help("Number of tasks"))
    .param(Param::uint("ms", 50).range(1, MAX_MS).smoke(2u64).help("How long each task sleeps, in milliseconds"))
    .properties(|p| Properties { waits: true, task_ms: Some(p.uint("ms") as f64), ..Properties::default() })
}

/// Each task sleeps `ms` milliseconds.
pub struct SleepWorkload {
    tasks: usize,
    ms: u64,
}

impl Workload for SleepWorkload {
    fn task_count(&self) -> usize {
        self.tasks
    }

    fn run_task(&self, _task: usize, _ctx: &TaskContext<'_>) -> u64 {
        let start = Instant::now();
        std::thread::sleep(Duration::from_millis(self.ms));
        start.elapsed().as_nanos() as u64
    }

    fn run_task_async<'a>(
        &'a self,
        _task: usize,
        _ctx: &'a TaskContext<'a>,
        timer: &'a dyn Timer,
    ) -> Option<TaskFuture<'a, u64>> {
        let ms = self.ms;
        Some(Box::pin(async move {
            // The clock starts before the timer's deadline is set, as in `run_task`.
            let start = Instant::now();
            timer.sleep(Duration::from_millis(ms)).await;
            start.elapsed().as_nanos() as u64
        }))
    }

    fn verify(&self, checksums: &[u64], _shared: &SharedState) -> Verification {
        let wanted = self.ms * 1_000_000;
        if checksums.len() != self.tasks {
            return Verification::Failed {
                reason: format!("{} tasks reported, {} expected", checksums.len(), self.tasks),
            };
        }
        if let Some((task, &slept)) = checksums.iter().enumerate().find(|(_, s)| **s < wanted) {
            return Verification::Failed {
                reason: format!("task {task} slept {slept} ns, less than the requested {} ms", self.ms),
            };
        }
        let longest = checksums.iter().copied().max().unwrap_or(0);
        Verification::Verified {
            detail: format!(
                "all {} tasks slept >= {} ms (longest {:.1} ms)",
                checksums.len(),
                self.ms,
                longest as f64 / 1e6
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload() -> SleepWorkload {
        SleepWorkload { tasks: 2, ms: 3 }
    }

    #[test]
    fn a_task_reports_at_least_the_requested_sleep() {
        let shared = SharedState::heap(0);
        let slept = workload().run_task(0, &TaskContext::new(0, 1, &shared));
        assert!(slept >= 3_000_000, "slept only {slept} ns");
    }

    /// A timer that records what it was asked to wait for, and does not wait.
    #[derive(Default)]
    struct Recording(std::sync::Mutex<Vec<Duration>>);

    impl Timer for Recording {
        fn sleep(&self, duration: Duration) -> TaskFuture<'static, ()> {
            self.0.lock().unwrap().push(duration);
            Box::pin(std::future::ready(()))
        }
    }

    #[test]
    fn the_async_form_waits_on_the_timer_it_is_lent() {
        let (shared, timer) = (SharedState::heap(0), Recording::default());
        let ctx = TaskContext::new(0, 1, &shared);
        let w = workload();
        let mut future = w.run_task_async(0, &ctx, &timer).expect("sleep has an async form");
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(future.as_mut().poll(&mut cx).is_ready());
        assert_eq!(*timer.0.lock().unwrap(), [Duration::from_millis(3)]);
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
