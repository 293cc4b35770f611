//! The `serial` runner: every task in order on the calling thread. The reference every
//! speedup is computed against. With `--pin` the thread is pinned to the first allowed
//! core for the sample and its affinity restored after, both outside the timed region.

use std::sync::Arc;

use super::{
    CostModel, Job, Runner, RunnerEntry, RunnerId, RunnerInfo, RunnerOptions, Sample, Started, run_in_process,
};
use crate::error::BenchError;
use crate::workload::{Pipeline, TaskContext};

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

/// The serial runner's line in [`super::RUNNERS`].
pub(super) const ENTRY: RunnerEntry = RunnerEntry {
    info: RunnerInfo {
        id: RunnerId::new("serial"),
        about: "all tasks in order on one thread; always measured, the reference for speedup",
        reference: true,
        one_address_space: true,
        processes: false,
        waits_well: false,
        max_workers: 1,
        clamps: true,
        started: Started { held_threads: 0, held_tasks: 0, sample_threads: 0, sample_tasks: 0 },
        holds: None,
        cost: CostModel { start_s: 0.0, set_up_per_worker: false },
        pipeline: Some("each item through every stage in turn, on one thread"),
        refusal: None,
        symbol: 's',
        color: [90, 90, 90],
    },
    build: |_, options: &RunnerOptions| Ok(Box::new(SerialRunner::new(super::pin_cpus(options)))),
};

impl Runner for SerialRunner {
    fn info(&self) -> &'static RunnerInfo {
        &ENTRY.info
    }

    fn sample(&mut self, job: &Job) -> Result<Sample, BenchError> {
        let workload = job.workload.as_ref();
        let saved = self.pin.as_ref().and_then(|cpus| crate::sys::pin_current_thread(cpus[0]));
        let delay_before = crate::sys::thread_run_delay_ns();
        let sample = run_in_process(ENTRY.info.id, 1, job, |slots, shared| {
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

    /// Each item through every stage in turn, then the next item.
    fn pipeline(&mut self, job: &Job, pipeline: &dyn Pipeline) -> Result<Sample, BenchError> {
        let values: Vec<u64> = (0..pipeline.items()).map(|i| pipeline.source(i)).collect();
        let stages = pipeline.stages().len();
        // The items run on this thread: its run delay before and after is the sample's.
        let before = crate::sys::thread_run_delay_ns();
        let sample = super::pipeline::run_flow(ENTRY.info.id, job, pipeline, &[1], true, |flow| {
            'items: for (item, &value) in values.iter().enumerate() {
                let mut value = value;
                for stage in 0..stages {
                    let Some(next) = flow.run(stage, 0, 0, item, value) else { break 'items };
                    value = next;
                }
                flow.sink.arrive(item, value);
            }
            Ok(())
        })?;
        let waited_ns = before.zip(crate::sys::thread_run_delay_ns()).map(|(a, b)| b.saturating_sub(a));
        Ok(Sample { waited_ns, ..sample })
    }
}
