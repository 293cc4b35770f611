//! Workloads: named kinds of work split into independent tasks, each with a known
//! answer that every runner's result is checked against.
//!
//! The one decision a reader would otherwise get wrong: a workload's *parameters* are
//! plain serialisable data ([`WorkloadParams`]), and the runnable [`Workload`] is built
//! from them in exactly one place ([`WorkloadParams::build`]). The process runner
//! sends the parameters to its children, which build the same workload themselves.

use serde::{Deserialize, Serialize};

use crate::runner::RunnerKind;

pub mod counter;
pub mod factorize;
pub mod fib;
pub mod noop;
mod shared;
pub mod sleep;

pub use counter::{CounterParams, CounterWorkload, SyncMode};
pub use factorize::{FactorizeParams, FactorizeWorkload};
pub use fib::{FibParams, FibWorkload};
pub use noop::{NoopParams, NoopWorkload};
pub use shared::SharedState;
pub use sleep::{SleepParams, SleepWorkload};

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
}

/// The outcome of checking a sample's results against the independent answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    /// True unless the result was wrong.
    pub fn is_ok(&self) -> bool {
        !matches!(self, Verification::Failed { .. })
    }
}

/// A kind of work split into independent tasks.
pub trait Workload: Send + Sync {
    /// The parameters this workload was built from.
    fn params(&self) -> WorkloadParams;

    /// Number of tasks in one sample. It depends only on the parameters, never on
    /// the runner, so every runner does the same total work.
    fn task_count(&self) -> usize;

    /// Runs task `task` and returns its checksum.
    fn run_task(&self, task: usize, ctx: &TaskContext<'_>) -> u64;

    /// Checks the checksums of all tasks (indexed by task) and the shared state
    /// against an independently computed answer.
    fn verify(&self, checksums: &[u64], shared: &SharedState) -> Verification;

    /// How many cache-line-padded shared slots one sample with `workers` workers
    /// needs (default none).
    fn shared_slots(&self, _workers: usize) -> usize {
        0
    }

    /// Whether `runner` can run this workload; `Err` says why not and what to use.
    fn supports(&self, _runner: RunnerKind) -> Result<(), String> {
        Ok(())
    }
}

/// A workload's parameters: plain data, sent to worker processes and recorded in
/// results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "workload", rename_all = "snake_case")]
pub enum WorkloadParams {
    /// See [`SleepWorkload`].
    Sleep(SleepParams),
    /// See [`FibWorkload`].
    Fib(FibParams),
    /// See [`FactorizeWorkload`].
    Factorize(FactorizeParams),
    /// See [`CounterWorkload`].
    Counter(CounterParams),
    /// See [`NoopWorkload`] (internal: overhead calibration).
    Noop(NoopParams),
}

impl WorkloadParams {
    /// Builds the runnable workload. The one place a workload kind is chosen.
    pub fn build(&self) -> Box<dyn Workload> {
        match self {
            WorkloadParams::Sleep(p) => Box::new(SleepWorkload::new(p.clone())),
            WorkloadParams::Fib(p) => Box::new(FibWorkload::new(p.clone())),
            WorkloadParams::Factorize(p) => Box::new(FactorizeWorkload::new(p.clone())),
            WorkloadParams::Counter(p) => Box::new(CounterWorkload::new(p.clone())),
            WorkloadParams::Noop(p) => Box::new(NoopWorkload::new(p.clone())),
        }
    }

    /// The workload's name, as typed on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            WorkloadParams::Sleep(_) => "sleep",
            WorkloadParams::Fib(_) => "fib",
            WorkloadParams::Factorize(_) => "factorize",
            WorkloadParams::Counter(_) => "counter",
            WorkloadParams::Noop(_) => "noop",
        }
    }

    /// The parameters in one short line: `n=34, tasks=8`.
    pub fn describe(&self) -> String {
        match self {
            WorkloadParams::Sleep(p) => format!("tasks={}, ms={}", p.tasks, p.ms),
            WorkloadParams::Fib(p) => format!("n={}, tasks={}", p.n, p.tasks),
            WorkloadParams::Factorize(p) => p.describe(),
            WorkloadParams::Counter(p) => {
                format!("tasks={}, increments={}, sync={}", p.tasks, p.increments, p.sync.name())
            }
            WorkloadParams::Noop(p) => format!("tasks={}", p.tasks),
        }
    }

    /// Checks every parameter is in range; `Err` names the parameter, the value and
    /// the allowed range. The CLI's value parsers enforce the same limits.
    pub fn validate(&self) -> Result<(), String> {
        fn range(name: &str, v: u64, min: u64, max: u64) -> Result<(), String> {
            if (min..=max).contains(&v) { Ok(()) } else { Err(format!("{name} = {v} is out of range {min}..={max}")) }
        }
        match self {
            WorkloadParams::Sleep(p) => {
                range("tasks", p.tasks.into(), 1, MAX_TASKS)?;
                range("ms", p.ms.into(), 1, sleep::MAX_MS)
            }
            WorkloadParams::Fib(p) => {
                range("tasks", p.tasks.into(), 1, MAX_TASKS)?;
                range("n", p.n.into(), 1, fib::MAX_N.into())
            }
            WorkloadParams::Factorize(p) => {
                if p.numbers.is_empty() {
                    return Err("numbers is empty: give at least one number".into());
                }
                range("number of numbers", p.numbers.len() as u64, 1, MAX_TASKS)?;
                p.numbers.iter().try_for_each(|&n| range("a number", n, 1, factorize::MAX_NUMBER))
            }
            WorkloadParams::Counter(p) => {
                range("tasks", p.tasks.into(), 1, MAX_TASKS)?;
                range("increments", p.increments, 1, counter::MAX_INCREMENTS)
            }
            WorkloadParams::Noop(p) => range("tasks", p.tasks.into(), 1, MAX_TASKS),
        }
    }

    /// The same workload sized for `workers` workers of a sweep whose largest worker
    /// count is `max_workers`. Strong scaling (`weak = false`) keeps the total work
    /// fixed; weak scaling grows it in proportion to the workers. The counter always
    /// has one task per worker; under strong scaling its per-task increments shrink so
    /// that the total stays `increments x max_workers`.
    pub fn scaled(&self, workers: usize, max_workers: usize, weak: bool) -> WorkloadParams {
        let w = workers.max(1) as u32;
        match (self, weak) {
            (WorkloadParams::Sleep(p), true) => WorkloadParams::Sleep(SleepParams { tasks: p.tasks * w, ..p.clone() }),
            (WorkloadParams::Fib(p), true) => WorkloadParams::Fib(FibParams { tasks: p.tasks * w, ..p.clone() }),
            (WorkloadParams::Factorize(p), true) => WorkloadParams::Factorize(FactorizeParams {
                numbers: (0..w).flat_map(|_| p.numbers.iter().copied()).collect(),
                generated: p.generated.clone(),
            }),
            (WorkloadParams::Counter(p), weak) => {
                let increments =
                    if weak { p.increments } else { (p.increments * max_workers as u64 / u64::from(w)).max(1) };
                WorkloadParams::Counter(CounterParams { tasks: w, increments, sync: p.sync })
            }
            (other, _) => other.clone(),
        }
    }

    /// `name (parameters)`, the label used in reports.
    pub fn label(&self) -> String {
        format!("{} ({})", self.name(), self.describe())
    }
}

/// One entry of `parbench list`.
pub struct CatalogEntry {
    /// Name on the command line.
    pub name: &'static str,
    /// One line: what a task does.
    pub about: &'static str,
    /// Parameters with defaults.
    pub params: &'static str,
}

/// Every workload, for `parbench list` and help texts.
pub const CATALOG: &[CatalogEntry] = &[
    CatalogEntry {
        name: "sleep",
        about: "each task sleeps: waiting, not computing (the I/O-bound stand-in)",
        params: "--tasks 8, --ms 50 (1..=10000)",
    },
    CatalogEntry {
        name: "fib",
        about: "each task computes naive recursive fib(n): pure CPU, no memory traffic",
        params: "--n 34 (1..=50), --tasks 8",
    },
    CatalogEntry {
        name: "factorize",
        about: "each task finds all divisors of one number by trial division 1..=n",
        params: "--numbers 2139079,1214759,1516637,1852285, or --count K --max M --seed S",
    },
    CatalogEntry {
        name: "counter",
        about: "each worker adds 1 to one shared counter, many times: contention and lost updates",
        params: "--increments 1000000 (per worker), --sync none,mutex,atomic,sharded (default: all)",
    },
];
