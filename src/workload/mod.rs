//! Workloads: named kinds of work split into independent tasks, each with a known
//! answer that every runner's result is checked against.
//!
//! A workload is two things: a [`WorkloadSpec`] (name, declared parameters, hooks:
//! plain data the plan reads before anything runs) and the runnable [`Workload`] the
//! spec builds from one case's [`Params`]. The process runner sends the workload's name
//! and parameter values to its children, which build the same workload from their own
//! registry. The built-in workloads are declared through the same public API as a
//! user's.

use serde::{Deserialize, Serialize};

pub(crate) mod command;
pub(crate) mod counter;
pub(crate) mod factorize;
pub(crate) mod fib;
pub(crate) mod mixed;
pub(crate) mod noop;
pub mod param;
pub mod pipeline;
mod reader;
mod shared;
pub(crate) mod sleep;
pub(crate) mod slots;
pub mod spec;
mod timer;
mod topology;
mod typed;

pub use param::{Param, Params, Value};
pub use reader::{FromValue, ParamReader, Parameters, TypedParam};
pub use shared::{RemoteSlots, SharedState};
pub use spec::{Properties, Scaling, Work, WorkloadSpec};
pub use timer::{TaskFuture, Timer};
pub use topology::{Pipeline, Stage, StageContext, verify_sink};
pub use typed::{DynWorkload, Prepare, SampleSlots, Throughput, TypedWorkload};

/// A task's failure told as a complete sentence: a task that panics with it
/// (`std::panic::panic_any(TaskFailure(sentence))`) is reported with the sentence
/// alone, without the place in the source where it panicked, which would only
/// distract from what went wrong (a command that failed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskFailure(pub String);

/// Most tasks one sample may have.
pub const MAX_TASKS: u64 = 1_000_000;

/// Everything a task may use besides its index.
pub struct TaskContext<'a> {
    /// Index of the worker running the task (0-based, below `workers`).
    pub worker: usize,
    /// Number of workers of the runner (1 for serial).
    pub workers: usize,
    /// Per-sample state shared by all tasks of the sample (the counter's).
    pub shared: &'a SharedState,
    /// The run's `--timeout`: a task that waits for another program should not wait
    /// longer (the `command` workload kills its command then).
    pub timeout: std::time::Duration,
}

impl<'a> TaskContext<'a> {
    /// A context for worker `worker` of `workers`, with the default 60 s timeout: for
    /// calling a workload's tasks directly, in tests.
    pub fn new(worker: usize, workers: usize, shared: &'a SharedState) -> TaskContext<'a> {
        TaskContext { worker, workers, shared, timeout: std::time::Duration::from_secs(60) }
    }
}

/// The outcome of checking a sample's results against the independent answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Verification {
    /// Every result matched.
    Verified {
        /// What was checked, for the report ("fib(34) = 5702887 in all 8 tasks").
        detail: String,
    },
    /// The counter without synchronisation lost updates: reported, not a failure.
    LostUpdates {
        /// Increments performed.
        expected: u64,
        /// Final counter value.
        observed: u64,
    },
    /// A result did not match: the sample is a failure, never a timing.
    Failed {
        /// What did not match.
        reason: String,
    },
}

impl Verification {
    /// Every result matched; `detail` says what was checked.
    pub fn verified(detail: impl Into<String>) -> Verification {
        Verification::Verified { detail: detail.into() }
    }

    /// A result was wrong; `reason` names the task and the values.
    pub fn failed(reason: impl Into<String>) -> Verification {
        Verification::Failed { reason: reason.into() }
    }

    /// Checks that there is one output per task and that task `i`'s output equals
    /// `expected(i)`; `what` describes the answer for the report. Outputs may be any
    /// comparable type: checksums, strings, structs.
    pub fn each<T: PartialEq + std::fmt::Debug>(
        outputs: &[T],
        tasks: usize,
        expected: impl Fn(usize) -> T,
        what: &str,
    ) -> Verification {
        Verification::each_by(outputs, tasks, expected, |a, b| a == b, what)
    }

    /// Like [`Verification::each`] for floating-point outputs: task `i`'s output must lie
    /// within `tolerance` of `expected(i)`, relative to its size (absolute below 1).
    /// NaN never matches.
    pub fn each_within(
        outputs: &[f64],
        tasks: usize,
        expected: impl Fn(usize) -> f64,
        tolerance: f64,
        what: &str,
    ) -> Verification {
        let close = |a: &f64, b: &f64| (a - b).abs() <= tolerance * b.abs().max(1.0);
        Verification::each_by(outputs, tasks, expected, close, what)
    }

    /// Like [`Verification::each`], with `matches(output, expected)` deciding.
    pub fn each_by<T: std::fmt::Debug>(
        outputs: &[T],
        tasks: usize,
        expected: impl Fn(usize) -> T,
        matches: impl Fn(&T, &T) -> bool,
        what: &str,
    ) -> Verification {
        if outputs.len() != tasks {
            return Verification::failed(format!("{} tasks reported, {tasks} expected", outputs.len()));
        }
        for (i, output) in outputs.iter().enumerate() {
            let want = expected(i);
            if !matches(output, &want) {
                return Verification::failed(format!("task {i} returned {output:?}, expected {want:?}"));
            }
        }
        Verification::verified(format!("{what} in all {tasks} tasks"))
    }

    /// True unless the result was wrong.
    pub fn is_ok(&self) -> bool {
        !matches!(self, Verification::Failed { .. })
    }
}

/// A kind of work split into independent tasks: the part a user implements, in its
/// minimal form. For an untimed input per task, a state per worker or results other
/// than a checksum, implement [`TypedWorkload`] instead (every `Workload` is one).
///
/// A task returns a checksum of its result (pass inputs and results through
/// [`std::hint::black_box`] so the compiler cannot skip the work); after the timed
/// region, [`Workload::verify`] checks every checksum against an answer computed
/// another way. A task that panics fails the benchmark (exit 1) with its task index,
/// the runner and the panic message.
pub trait Workload: Send + Sync {
    /// Number of tasks in one sample. It depends only on the parameters, never on
    /// the runner, so every runner does the same total work.
    fn task_count(&self) -> usize;

    /// Runs task `task` (0-based, below `task_count`) and returns its checksum.
    fn run_task(&self, task: usize, ctx: &TaskContext<'_>) -> u64;

    /// The async form of task `task`, if it has one (default: none): a future that
    /// waits through `timer` instead of blocking, so that one worker thread of an async
    /// runner keeps many tasks waiting at once. Without one, an async runner runs
    /// [`run_task`](Self::run_task) inline, blocking the thread that polls it; other
    /// runners always run `run_task`. See [`TypedWorkload::run_async`].
    fn run_task_async<'a>(
        &'a self,
        _task: usize,
        _ctx: &'a TaskContext<'a>,
        _timer: &'a dyn Timer,
    ) -> Option<TaskFuture<'a, u64>> {
        None
    }

    /// Checks the checksums of all tasks (indexed by task) and the shared state
    /// against an independently computed answer.
    fn verify(&self, checksums: &[u64], shared: &SharedState) -> Verification;

    /// How many cache-line-padded shared slots one sample with `workers` workers
    /// needs (default none). Under the process runner they live in shared memory.
    fn shared_slots(&self, _workers: usize) -> usize {
        0
    }

    /// How much task `task` processes, for throughput beside the wall time (default:
    /// not declared).
    fn throughput(&self, _task: usize) -> Option<Throughput> {
        None
    }
}

/// The built-in workloads, declared through the public API like any user's.
pub(crate) fn builtins() -> Vec<WorkloadSpec> {
    vec![
        sleep::spec(),
        fib::spec(),
        mixed::spec(),
        factorize::spec(),
        counter::spec(),
        command::spec(),
        pipeline::spec(),
    ]
}
