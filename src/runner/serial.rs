//! The `serial` runner: every task in order on the calling thread. The reference every
//! speedup is computed against. With `--pin` the thread is pinned to the first allowed
//! core for the sample and its affinity restored after, both outside the timed region.

use std::sync::Arc;

use super::{Job, Runner, RunnerKind, Sample, run_in_process};
use crate::error::BenchError;
use crate::workload::TaskContext;

/// Runs all tasks in order on the calling thread.
pub struct SerialRunner {
    pin: Option<Arc<[usize]>>,
}

impl SerialRunner {
    /// A serial runner, pinned to `pin[0]` during samples when given.
    pub fn new(pin: Option<Arc<[usize]>>) -> Self {
        SerialRunner { pin }
    }
}

impl Runner for SerialRunner {
    fn run(&mut self, job: &Job) -> Result<Sample, BenchError> {
        let workload = job.workload.as_ref();
        let saved = self.pin.as_ref().and_then(|cpus| crate::sys::pin_current_thread(cpus[0]));
        let delay_before = crate::sys::thread_run_delay_ns();
        let sample = run_in_process(RunnerKind::Serial, 1, job, |slots, shared| {
            let ctx = TaskContext { worker: 0, workers: 1, shared, timeout: job.timeout };
            for task in 0..workload.task_count() {
                slots.run(task, &ctx);
            }
            Ok(())
        });
        let waited = delay_before.zip(crate::sys::thread_run_delay_ns()).map(|(a, b)| b.saturating_sub(a));
        crate::sys::restore_affinity(saved);
        sample.map(|s| Sample { waited_ns: waited, ..s })
    }
}
