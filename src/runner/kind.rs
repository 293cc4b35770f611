//! The names of the runners: what the command line, result files and errors call
//! them. Kept apart from the implementations so that errors and results can name a
//! runner without depending on how it runs.

use serde::{Deserialize, Serialize};

/// The ways parbench can run tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum RunnerKind {
    /// All tasks in order on the calling thread: the reference.
    Serial,
    /// W `std::thread`s, spawned inside the timed region.
    Threads,
    /// A rayon pool of exactly W threads, built before the timed region.
    Rayon,
    /// W child processes of the running program.
    Process,
}

impl RunnerKind {
    /// All runners, in report order.
    pub const ALL: [RunnerKind; 4] = [RunnerKind::Serial, RunnerKind::Threads, RunnerKind::Rayon, RunnerKind::Process];

    /// Name as typed on the command line.
    pub fn name(self) -> &'static str {
        match self {
            RunnerKind::Serial => "serial",
            RunnerKind::Threads => "threads",
            RunnerKind::Rayon => "rayon",
            RunnerKind::Process => "process",
        }
    }

    /// One line for `parbench list`.
    pub fn about(self) -> &'static str {
        match self {
            RunnerKind::Serial => "all tasks in order on one thread; always measured, the reference for speedup",
            RunnerKind::Threads => "W std::threads spawned per sample; tasks claimed dynamically or split statically",
            RunnerKind::Rayon => "a local rayon pool of exactly W threads (work stealing), built before timing",
            RunnerKind::Process => "W child processes of this program, spawned per sample; tasks sent over pipes",
        }
    }

    /// Worker count this runner uses when the run asks for `workers`.
    pub fn workers(self, workers: usize) -> usize {
        if self == RunnerKind::Serial { 1 } else { workers }
    }

    /// Threads of parbench and tasks in all (threads and processes) this runner starts
    /// with `workers` workers: `(held, sample_threads, sample_tasks)`, where `held`
    /// lives through its case's round (a pool) and the others only during its sample
    /// (a process worker is a process and the thread that reads its replies).
    pub fn threads_started(self, workers: usize) -> (u64, u64, u64) {
        let w = self.workers(workers) as u64;
        match self {
            RunnerKind::Serial => (0, 0, 0),
            RunnerKind::Threads => (0, w, w),
            RunnerKind::Rayon => (w, 0, 0),
            RunnerKind::Process => (0, w, 2 * w),
        }
    }

    /// Whether all of this runner's workers share one address space (threads of one
    /// process), which some workloads need.
    pub fn one_address_space(self) -> bool {
        self != RunnerKind::Process
    }
}

impl std::fmt::Display for RunnerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
