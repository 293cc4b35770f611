//! The `serial` runner: every task in order on the calling thread. The reference every
//! speedup is computed against.

use super::{Job, Runner, RunnerKind, Sample, run_in_process};
use crate::error::BenchError;
use crate::workload::TaskContext;

/// Runs all tasks in order on the calling thread.
pub struct SerialRunner;

impl Runner for SerialRunner {
    fn run(&mut self, job: &Job) -> Result<Sample, BenchError> {
        let workload = job.workload.as_ref();
        run_in_process(RunnerKind::Serial, 1, job, |slots, shared, origin| {
            let ctx = TaskContext { worker: 0, workers: 1, shared };
            for task in 0..workload.task_count() {
                slots.run(workload, task, &ctx, origin);
            }
            Ok(())
        })
    }
}
