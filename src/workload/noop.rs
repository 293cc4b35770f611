//! `noop`: empty tasks. Internal: `parbench scale` runs it to calibrate each runner's
//! fixed cost (thread spawn and join, pool dispatch, process spawn and protocol round
//! trip). Not offered on the command line or in suites, where it would only measure
//! overhead under a workload's name.

use serde::{Deserialize, Serialize};

use super::{SharedState, TaskContext, Verification, Workload, WorkloadParams};

/// Parameters of [`NoopWorkload`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoopParams {
    /// Number of empty tasks.
    pub tasks: u32,
}

/// Tasks that do nothing but return their index.
pub struct NoopWorkload {
    params: NoopParams,
}

impl NoopWorkload {
    /// A noop workload with these parameters.
    pub fn new(params: NoopParams) -> Self {
        NoopWorkload { params }
    }
}

impl Workload for NoopWorkload {
    fn params(&self) -> WorkloadParams {
        WorkloadParams::Noop(self.params.clone())
    }

    fn task_count(&self) -> usize {
        self.params.tasks as usize
    }

    fn run_task(&self, task: usize, _ctx: &TaskContext<'_>) -> u64 {
        std::hint::black_box(task as u64)
    }

    fn verify(&self, checksums: &[u64], _shared: &SharedState) -> Verification {
        if checksums.iter().enumerate().all(|(i, &c)| c == i as u64) && checksums.len() == self.params.tasks as usize {
            Verification::Verified { detail: format!("{} empty tasks ran once each", checksums.len()) }
        } else {
            Verification::Failed { reason: "an empty task was lost or ran twice".into() }
        }
    }
}
