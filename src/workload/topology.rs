//! The second shape of workload: a [`Pipeline`], which defines its own topology
//! (items flowing through stages joined by bounded queues) instead of independent
//! tasks. Each runner runs it in its own model (serial: every item through every stage
//! in turn; threads: a group of threads per stage; rayon: every worker takes items
//! through all stages; process: a process group per stage; process-pool: the pool's processes as stages;
//! async: a task per stage worker, joined by async channels); the workload only says
//! what the stages are and what each does to an item.
//!
//! A pipeline is registered with [`super::WorkloadSpec::pipeline`]. Its
//! [`DynWorkload`] form says so ([`DynWorkload::pipeline`]), and a runner without a
//! pipeline model is refused by the plan before anything runs.

use std::sync::atomic::AtomicBool;

use super::typed::{DynWorkload, Erased, Prepare, SampleSlots, Throughput};
use super::{SharedState, TaskContext, TaskFailure, TaskFuture, Timer, Verification, Workload};

/// One stage of a pipeline, as the report names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stage {
    /// How the user wrote it: `cpu:200us`.
    pub name: String,
    /// How long it is meant to take per item, ns (the declared duration).
    pub nominal_ns: u64,
}

/// What a stage may use besides the item.
pub struct StageContext<'a> {
    /// Index of the worker running it (0-based, unique among the sample's workers).
    pub worker: usize,
    /// Set when the pipeline is being torn down (another stage failed, or the run's
    /// `--timeout` passed without progress): a stage that waits should stop waiting.
    pub stop: &'a AtomicBool,
    /// The run's `--timeout`.
    pub timeout: std::time::Duration,
}

/// Items flowing through stages joined by bounded queues: the part a user implements.
///
/// Before the clock starts, every item's first value is made by [`source`](Self::source);
/// inside the timed region, each item passes through every stage in order
/// ([`stage`](Self::stage)); after it, [`verify`](Self::verify) gets the items as they
/// arrived at the sink. A stage that returns `Err` or panics fails the run (exit 1)
/// naming the stage, and every other stage is ended.
pub trait Pipeline: Send + Sync {
    /// Number of items in one sample.
    fn items(&self) -> usize;

    /// The stages, in order (at least one).
    fn stages(&self) -> &[Stage];

    /// Capacity of each queue between two stages.
    fn queue(&self) -> usize;

    /// Item `item`'s value before the first stage (made untimed).
    fn source(&self, item: usize) -> u64;

    /// Runs stage `stage` (0-based) on item `item` whose value is `value`; returns the
    /// value passed on to the next stage (or to the sink after the last).
    fn stage(&self, stage: usize, item: usize, value: u64, ctx: &StageContext<'_>) -> Result<u64, String>;

    /// Stage `stage`'s async form, for a runner that polls stages as futures and lends
    /// them its runtime's `timer`: a stage that waits should wait on it. By default the
    /// sync [`stage`](Self::stage) runs inline, blocking the worker thread that polls
    /// it (right for a stage that computes: async does not help CPU work).
    fn stage_async<'a>(
        &'a self,
        stage: usize,
        item: usize,
        value: u64,
        ctx: StageContext<'a>,
        timer: &'a dyn Timer,
    ) -> TaskFuture<'a, Result<u64, String>> {
        let _ = timer;
        Box::pin(async move { self.stage(stage, item, value, &ctx) })
    }

    /// Checks what arrived at the sink, `(item, final value)` in arrival order, against
    /// an independently computed answer: every item exactly once, each with its value
    /// ([`verify_sink`] does both).
    fn verify(&self, sink: &[(usize, u64)]) -> Verification;
}

/// Checks a sink: exactly `items` arrivals, each item once (none lost, none
/// duplicated), item `i` with the value `expected(i)`; `what` says what was checked.
pub fn verify_sink(sink: &[(usize, u64)], items: usize, expected: impl Fn(usize) -> u64, what: &str) -> Verification {
    let mut seen = vec![false; items];
    for &(item, value) in sink {
        match seen.get_mut(item) {
            None => return Verification::failed(format!("item {item} arrived at the sink, but there are {items}")),
            Some(true) => return Verification::failed(format!("item {item} arrived at the sink twice")),
            Some(seen) => *seen = true,
        }
        let want = expected(item);
        if value != want {
            return Verification::failed(format!("item {item} arrived as {value}, expected {want}"));
        }
    }
    if let Some(lost) = seen.iter().position(|s| !s) {
        let missing = seen.iter().filter(|s| !**s).count();
        return Verification::failed(format!(
            "{} of {items} items arrived at the sink: {missing} lost, the first item {lost}",
            sink.len()
        ));
    }
    Verification::verified(format!("{what} for all {items} items, each once"))
}

/// A pipeline behind [`DynWorkload`]: it says it is one. Its task form (task `i` is
/// item `i` through every stage) is what parbench's calibration prices before a run;
/// runners never run it, they run a pipeline in their own model.
pub(crate) struct ErasedPipeline<P>(Erased<WholeItems<P>>);

impl<P: Pipeline> ErasedPipeline<P> {
    pub(crate) fn new(pipeline: P) -> Self {
        ErasedPipeline(Erased(WholeItems(pipeline)))
    }
}

/// A pipeline as independent tasks: each item through every stage in turn.
struct WholeItems<P>(P);

impl<P: Pipeline> Workload for WholeItems<P> {
    fn task_count(&self) -> usize {
        self.0.items()
    }

    fn run_task(&self, task: usize, ctx: &TaskContext<'_>) -> u64 {
        let stop = AtomicBool::new(false);
        let stage_ctx = StageContext { worker: ctx.worker, stop: &stop, timeout: ctx.timeout };
        let stages = self.0.stages();
        (0..stages.len()).fold(self.0.source(task), |value, s| match self.0.stage(s, task, value, &stage_ctx) {
            Ok(value) => value,
            Err(message) => std::panic::panic_any(TaskFailure(format!(
                "stage {} ({}) failed on item {task}: {message}",
                s + 1,
                stages[s].name
            ))),
        })
    }

    fn verify(&self, checksums: &[u64], _shared: &SharedState) -> Verification {
        let sink: Vec<(usize, u64)> = checksums.iter().copied().enumerate().collect();
        self.0.verify(&sink)
    }
}

impl<P: Pipeline> DynWorkload for ErasedPipeline<P> {
    fn task_count(&self) -> usize {
        self.0.task_count()
    }

    fn shared_slots(&self, _workers: usize) -> usize {
        0
    }

    fn throughput(&self) -> Option<Throughput> {
        Some(Throughput::Elements(self.0.0.0.items() as u64))
    }

    fn prepare(&self, what: Prepare) -> Box<dyn SampleSlots + '_> {
        self.0.prepare(what)
    }

    fn pipeline(&self) -> Option<&dyn Pipeline> {
        Some(&self.0.0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sink_with_a_lost_a_duplicated_or_a_wrong_item_fails() {
        let expected = |i: usize| 10 * i as u64;
        let good = [(2, 20), (0, 0), (1, 10)];
        assert!(verify_sink(&good, 3, expected, "x").is_ok());
        let lost = verify_sink(&[(2, 20), (0, 0)], 3, expected, "x");
        assert_eq!(lost, Verification::failed("2 of 3 items arrived at the sink: 1 lost, the first item 1"));
        let twice = verify_sink(&[(2, 20), (0, 0), (2, 20)], 3, expected, "x");
        assert_eq!(twice, Verification::failed("item 2 arrived at the sink twice"));
        // A duplicate in place of a lost item: the count is right, the identity is not.
        assert!(!verify_sink(&[(0, 0), (0, 0), (1, 10)], 3, expected, "x").is_ok());
        let wrong = verify_sink(&[(0, 0), (1, 11), (2, 20)], 3, expected, "x");
        assert_eq!(wrong, Verification::failed("item 1 arrived as 11, expected 10"));
        assert!(!verify_sink(&[(0, 0), (1, 10), (3, 30)], 3, expected, "x").is_ok());
    }
}
