//! parbench: compare serial, threaded (std::thread), pooled (rayon) and multi-process
//! execution of the same workloads, and report wall time, speedup and efficiency you
//! can trust.
//!
//! To measure your own code, implement [`Workload`] (how many tasks, run one task and
//! return a checksum, verify the checksums against an answer computed another way), or
//! [`TypedWorkload`] for an untimed input per task, a state per worker and outputs of
//! any type; declare it with a [`WorkloadSpec`] (name, parameters with defaults and
//! ranges, typed with [`Parameters`]), register it in a [`Registry`] and hand control
//! to [`main`]. Your program then has
//! parbench's whole command line for your workload: `run`, `scale`, `suite`,
//! `compare`, `list`, and the hidden `worker` subcommand the `process` runner needs.
//!
//! ```
//! use parbench::{Param, Params, Registry, SharedState, TaskContext, Verification, Workload, WorkloadSpec};
//!
//! /// Task `t` sums the squares of `t*per_task .. (t+1)*per_task`.
//! struct SumSquares {
//!     per_task: u64,
//!     tasks: usize,
//! }
//!
//! impl Workload for SumSquares {
//!     fn task_count(&self) -> usize {
//!         self.tasks
//!     }
//!
//!     fn run_task(&self, task: usize, _ctx: &TaskContext<'_>) -> u64 {
//!         let start = task as u64 * self.per_task;
//!         let range = std::hint::black_box(start..start + self.per_task);
//!         range.map(|i| i.wrapping_mul(i)).fold(0u64, u64::wrapping_add)
//!     }
//!
//!     fn verify(&self, checksums: &[u64], _shared: &SharedState) -> Verification {
//!         // The closed form n(n+1)(2n+1)/6, computed without the loop the tasks use.
//!         let upto = |n: u64| (n as u128 * (n as u128 + 1) * (2 * n as u128 + 1) / 6) as u64;
//!         let expected = |t: usize| {
//!             let (a, b) = (t as u64 * self.per_task, (t as u64 + 1) * self.per_task);
//!             upto(b - 1).wrapping_sub(if a == 0 { 0 } else { upto(a - 1) })
//!         };
//!         Verification::each(checksums, self.tasks, expected, "sums of squares match the closed form")
//!     }
//! }
//!
//! fn spec() -> WorkloadSpec {
//!     WorkloadSpec::new("sum-squares", "sums of squares over ranges", |p: &Params| {
//!         Ok(SumSquares { per_task: p.uint("per-task"), tasks: p.uint("tasks") as usize })
//!     })
//!     .param(Param::uint("per-task", 100_000).range(1, 1 << 30).help("Numbers per task"))
//!     .param(Param::uint("tasks", 8).range(1, 10_000).help("Number of tasks"))
//! }
//!
//! // A bench binary would end with: fn main() -> std::process::ExitCode {
//! //     parbench::main(Registry::new().register(spec())) }
//! // Here, in a doc test, measure in-process runners and use the numbers:
//! let registry = Registry::new().register(spec());
//! let args = ["run", "sum-squares", "--threads", "2", "--runner", "threads,rayon", "--rounds", "2"];
//! let report = parbench::measure(&registry, args).unwrap();
//! let runners: Vec<_> = report.cases[0].rows.iter().map(|r| r.runner.as_str()).collect();
//! assert_eq!(runners, ["serial", "threads", "rayon"]);
//! ```
//!
//! Data flows one way: `cli` (syntax) -> `plan` (validated cases) -> `measure`
//! (rounds x runners x cases -> samples) -> `analysis` (every number and sentence, once) ->
//! reporters (formatting only). The built-in workloads are registered through the
//! same API ([`Registry::with_builtins`]); the `parbench` binary is
//! `parbench::main(Registry::with_builtins())`.

#![warn(missing_docs)]

mod ab;
mod analysis;
mod app;
mod console;
mod entry;
mod registry;

#[cfg(test)]
mod fuzz;
/// In tests, the allocator counts what each thread holds, for the property tests'
/// bounds on what reading hostile input may allocate.
#[cfg(test)]
#[global_allocator]
static ALLOCATOR: fuzz::Counting = fuzz::Counting;

mod atomic;
mod baseline;
mod cli;
mod compare;
mod counting;
pub mod error;
mod fingerprint;
mod interrupt;
mod measure;
mod output;
mod plan;
mod plot;
mod progress;
mod report;
pub mod result;
#[doc(hidden)]
pub mod rng;
#[doc(hidden)]
pub mod runner;
#[doc(hidden)]
pub mod schema;
mod stats;
mod suite;
mod sys;
mod text;
mod worker;
#[doc(hidden)]
pub mod workload;

pub use app::measure;
pub use counting::CountingAlloc;
pub use entry::main;
pub use error::{BenchError, UsageError};
pub use registry::Registry;
pub use runner::RunnerId;
pub use workload::{
    Param, ParamReader, Parameters, Params, Pipeline, Properties, Scaling, SharedState, Stage, StageContext,
    TaskContext, TaskFailure, TaskFuture, Throughput, Timer, TypedWorkload, Value, Verification, Work, Workload,
    WorkloadSpec, verify_sink,
};
