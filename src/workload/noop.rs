//! `noop`: empty tasks. Internal: `parbench scale` runs it to calibrate each runner's
//! fixed cost (thread spawn and join, pool dispatch, process spawn and protocol round
//! trip). Registered hidden: not offered on the command line or in suites, where it
//! would only measure overhead under a workload's name.

use super::{Param, Params, SharedState, TaskContext, Verification, Workload, WorkloadSpec};

/// Name of the calibration workload.
pub const NAME: &str = "noop";

/// The hidden `noop` declaration.
pub fn spec() -> WorkloadSpec {
    WorkloadSpec::new(NAME, "empty tasks: each runner's fixed cost", |p: &Params| {
        Ok(NoopWorkload { tasks: p.uint("tasks") as usize })
    })
    .param(Param::uint("tasks", 1).range(1, super::MAX_TASKS).help("Number of empty tasks"))
    .hidden()
}

/// Tasks that do nothing but return their index.
pub struct NoopWorkload {
    tasks: usize,
}

impl Workload for NoopWorkload {
    fn task_count(&self) -> usize {
        self.tasks
    }

    fn run_task(&self, task: usize, _ctx: &TaskContext<'_>) -> u64 {
        std::hint::black_box(task as u64)
    }

    fn verify(&self, checksums: &[u64], _shared: &SharedState) -> Verification {
        Verification::each(checksums, self.tasks, |i| i as u64, "each empty task ran once")
    }
}
