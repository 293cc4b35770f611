//! Typed errors. Two families, because callers act on them differently:
//! [`UsageError`] (bad flags or input files: exit 2, nothing was measured) and
//! [`BenchError`] (a benchmark failed while running: exit 1).

use std::time::Duration;

/// A usage or input error: the message names the flag or file and the bad value.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl UsageError {
    /// Builds a usage error from anything displayable.
    pub fn new(msg: impl Into<String>) -> Self {
        UsageError(msg.into())
    }
}

/// A benchmark failed: a wrong answer, or a worker process that misbehaved.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A runner produced a result that does not match the independent answer.
    #[error("the {runner} runner gave a wrong answer for {workload}: {reason}")]
    Verification {
        /// Which runner (its id).
        runner: &'static str,
        /// The workload label.
        workload: String,
        /// What did not match.
        reason: String,
    },
    /// A task panicked (a user's task, or a `command` that failed).
    #[error("task {task} of {workload} failed under the {runner} runner: {message}")]
    TaskFailed {
        /// Which runner (its id).
        runner: &'static str,
        /// The workload label.
        workload: String,
        /// The task index.
        task: usize,
        /// The panic message.
        message: String,
    },
    /// A pipeline stage failed (an error, a panic, its process exited) or made no
    /// progress within `--timeout`; every stage was ended.
    #[error("stage {stage} of {workload} failed under the {runner} runner: {message}; every stage was stopped")]
    StageFailed {
        /// Which runner (its id).
        runner: &'static str,
        /// The workload label.
        workload: String,
        /// The stage: its number from 1 and its name.
        stage: String,
        /// What happened.
        message: String,
    },
    /// Building the workload (its set-up) failed.
    #[error("setting up {workload} failed: {reason}")]
    Setup {
        /// The workload label.
        workload: String,
        /// Why.
        reason: String,
    },
    /// The worker program does not speak the worker protocol: its `main` does not hand
    /// the `worker` subcommand to parbench.
    #[error(
        "worker program {program} did not answer parbench's worker handshake ({what}): its main must hand \
         control to parbench::main so that `{program} worker` reaches parbench (a bench target needs \
         `harness = false`); or name the right program with --worker-program{}",
        stderr_suffix(.stderr_tail)
    )]
    Handshake {
        /// The program that was started.
        program: String,
        /// What it did instead.
        what: String,
        /// The last lines of its stderr.
        stderr_tail: String,
    },
    /// A worker process could not be started.
    #[error("could not start worker {worker} ({program}): {error}")]
    Spawn {
        /// Worker index.
        worker: usize,
        /// The program that was executed.
        program: String,
        /// The OS error (part of the message, so not also a `source()`: printed with
        /// its chain, the text would appear twice).
        error: std::io::Error,
    },
    /// A worker process exited early, with a failure status, or by a signal.
    #[error("worker {worker} (pid {pid}) {status}{}", stderr_suffix(.stderr_tail))]
    WorkerFailed {
        /// Worker index.
        worker: usize,
        /// Its process id.
        pid: u32,
        /// "exited with status 3", "was killed by signal 9 (SIGKILL)", ...
        status: String,
        /// The last lines of its stderr.
        stderr_tail: String,
    },
    /// A worker process did not finish the sample in time.
    #[error("worker {worker} (pid {pid}) reported no progress within --timeout {}; it was killed (raise --timeout for longer tasks){}", fmt_secs(*.timeout), stderr_suffix(.stderr_tail))]
    WorkerTimeout {
        /// Worker index.
        worker: usize,
        /// Its process id.
        pid: u32,
        /// The limit that was exceeded.
        timeout: Duration,
        /// The last lines of its stderr.
        stderr_tail: String,
    },
    /// A worker process wrote something the protocol does not allow.
    #[error("worker {worker} (pid {pid}) broke the worker protocol: {detail}{}", stderr_suffix(.stderr_tail))]
    Protocol {
        /// Worker index.
        worker: usize,
        /// Its process id.
        pid: u32,
        /// What was wrong.
        detail: String,
        /// The last lines of its stderr.
        stderr_tail: String,
    },
    /// A rank of the MPI world died, hung past `--timeout` or broke the protocol; rank 0
    /// ends the whole MPI job.
    #[error("mpi rank {rank} (pid {pid} on {host}) {what}; rank 0 aborts the MPI job")]
    Rank {
        /// The rank (1.. are the workers).
        rank: usize,
        /// Its process id on its node.
        pid: u32,
        /// Its node's host name.
        host: String,
        /// What happened.
        what: String,
    },
    /// Talking to a worker or setting up shared memory failed.
    #[error("{context}: {error}")]
    Io {
        /// What parbench was doing.
        context: String,
        /// The OS error (part of the message, not also a `source()`).
        error: std::io::Error,
    },
}

impl BenchError {
    /// The pid of the worker process the error is about, if any.
    pub fn worker_pid(&self) -> Option<u32> {
        match self {
            BenchError::WorkerFailed { pid, .. }
            | BenchError::WorkerTimeout { pid, .. }
            | BenchError::Protocol { pid, .. } => Some(*pid),
            _ => None,
        }
    }
}

fn stderr_suffix(tail: &str) -> String {
    let tail = tail.trim();
    if tail.is_empty() {
        String::new()
    } else {
        // Errors are one line: fold the child's stderr lines together.
        format!("; its stderr ended with: {}", tail.lines().collect::<Vec<_>>().join(" | "))
    }
}

fn fmt_secs(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}
