//! The worker protocol between the process runner and its children: small, versioned,
//! line-based, over the child's stdin and stdout.
//!
//! ```text
//! parent -> child   parbench-worker/1 {"worker":0,"workers":2,"params":{...},"shared":null}
//! child  -> parent  ready <pid> <ready_ns>
//! parent -> child   run <first> <end>                 (tasks first..end, end exclusive)
//! child  -> parent  done <task> <checksum> <start_ns> <end_ns>   (one line per task)
//! parent -> child   quit
//! child  -> parent  bye
//! ```
//!
//! Times are `CLOCK_MONOTONIC` nanoseconds, comparable across processes, taken by the
//! child: they do not include the delay until the parent gets a CPU to read them. A child that
//! reads end-of-file on stdin exits quietly: its parent is gone. Anything unexpected
//! is an error on the child's stderr and exit status 2.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::sys::monotonic_ns;
use crate::workload::{SharedState, TaskContext, WorkloadParams};

/// The first token of the set-up line; the number is the protocol version.
pub const HELLO: &str = "parbench-worker/1";

/// Environment variable carrying the parent's pid, so a child can tell whether the
/// parent died before the child asked to be killed along with it.
pub const PARENT_PID_ENV: &str = "PARBENCH_PARENT_PID";

/// Where the sample's shared slots live.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedSpec {
    /// The memory-mapped file.
    pub path: PathBuf,
    /// Number of slots in it.
    pub slots: usize,
}

/// Everything a child needs to know, sent once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setup {
    /// This child's worker index.
    pub worker: usize,
    /// Total workers.
    pub workers: usize,
    /// The workload to build.
    pub params: WorkloadParams,
    /// The shared slots, if the workload needs any.
    pub shared: Option<SharedSpec>,
}

impl Setup {
    /// The set-up line, newline included.
    pub fn to_line(&self) -> String {
        let json = serde_json::to_string(self).expect("set-up data always serialises");
        format!("{HELLO} {json}\n")
    }
}

/// A line a child sends to its parent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The child is set up.
    Ready {
        /// Its pid.
        pid: u32,
        /// When it became ready, monotonic ns.
        ready_ns: u64,
    },
    /// One task finished.
    Done {
        /// Task index.
        task: usize,
        /// Its checksum.
        checksum: u64,
        /// Start, monotonic ns.
        start_ns: u64,
        /// End, monotonic ns.
        end_ns: u64,
    },
    /// The child is about to exit after `quit`.
    Bye,
}

impl Reply {
    /// Parses one line from a child; `Err` describes what was wrong.
    pub fn parse(line: &str) -> Result<Reply, String> {
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        let num = |s: &str| s.parse::<u64>().map_err(|_| format!("bad number {s:?} in {line:?}"));
        match fields.as_slice() {
            ["ready", pid, at] => Ok(Reply::Ready { pid: num(pid)? as u32, ready_ns: num(at)? }),
            ["done", task, checksum, start, end] => Ok(Reply::Done {
                task: num(task)? as usize,
                checksum: num(checksum)?,
                start_ns: num(start)?,
                end_ns: num(end)?,
            }),
            ["bye"] => Ok(Reply::Bye),
            _ => Err(format!("unexpected line {:?}", truncate(line, 120))),
        }
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// The child side: reads requests from `input`, runs tasks, answers on `out`.
/// Returns `Ok` on `quit` or end of input.
pub fn serve(input: impl BufRead, mut out: impl Write) -> Result<(), String> {
    let mut lines = input.lines();
    let Some(first) = lines.next() else {
        return Ok(());
    };
    let first = first.map_err(|e| format!("reading set-up: {e}"))?;
    let json = first.strip_prefix(HELLO).and_then(|rest| rest.strip_prefix(' ')).ok_or_else(|| {
        format!(
            "expected protocol {HELLO}, got {:?}: parent and worker are different parbench versions",
            truncate(&first, 60)
        )
    })?;
    let setup: Setup = serde_json::from_str(json).map_err(|e| format!("bad set-up: {e}"))?;
    let workload = setup.params.build();
    let shared = match &setup.shared {
        Some(spec) => SharedState::open_mapped(&spec.path, spec.slots)
            .map_err(|e| format!("mapping shared file {}: {e}", spec.path.display()))?,
        None => SharedState::heap(0),
    };
    let tasks = workload.task_count();
    let io = |e: std::io::Error| format!("writing to parent: {e}");
    writeln!(out, "ready {} {}", std::process::id(), monotonic_ns()).map_err(io)?;
    out.flush().map_err(io)?;
    let ctx = TaskContext { worker: setup.worker, workers: setup.workers, shared: &shared };
    for line in lines {
        let line = line.map_err(|e| format!("reading request: {e}"))?;
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        match fields.as_slice() {
            ["run", first, end] => {
                let range = first.parse::<usize>().ok().zip(end.parse::<usize>().ok());
                let Some((first, end)) = range.filter(|(a, b)| a <= b && *b <= tasks) else {
                    return Err(format!("bad request {line:?} for {tasks} tasks"));
                };
                for task in first..end {
                    let start = monotonic_ns();
                    let checksum = workload.run_task(task, &ctx);
                    let end = monotonic_ns();
                    writeln!(out, "done {task} {checksum} {start} {end}").map_err(io)?;
                    out.flush().map_err(io)?;
                }
            }
            ["quit"] => {
                writeln!(out, "bye").map_err(io)?;
                return out.flush().map_err(io);
            }
            _ => return Err(format!("unexpected request {:?}", truncate(&line, 120))),
        }
    }
    Ok(())
}

/// Entry point of the hidden `parbench worker` subcommand.
pub fn worker_main() -> Result<(), String> {
    die_with_parent();
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    serve(stdin.lock(), std::io::BufWriter::new(stdout.lock()))
}

/// Asks the kernel to kill this child when its parent dies, so no worker can outlive
/// parbench even if parbench itself is killed with SIGKILL.
fn die_with_parent() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl(PR_SET_PDEATHSIG) takes a signal number and has no memory effects.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
        // The parent may have died before the prctl: then we were re-parented.
        let expected = std::env::var(PARENT_PID_ENV).ok().and_then(|p| p.parse::<i32>().ok());
        // SAFETY: getppid has no preconditions.
        if expected.is_some_and(|p| p != unsafe { libc::getppid() }) {
            std::process::exit(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::FibParams;

    fn setup_line() -> String {
        Setup { worker: 0, workers: 1, params: WorkloadParams::Fib(FibParams { n: 10, tasks: 3 }), shared: None }
            .to_line()
    }

    fn serve_str(input: &str) -> (Result<(), String>, String) {
        let mut out = Vec::new();
        let r = serve(input.as_bytes(), &mut out);
        (r, String::from_utf8(out).unwrap())
    }

    #[test]
    fn a_child_runs_the_requested_tasks_and_says_bye() {
        let (r, out) = serve_str(&format!("{}run 0 2\nrun 2 3\nquit\n", setup_line()));
        assert_eq!(r, Ok(()));
        let replies: Vec<Reply> = out.lines().map(|l| Reply::parse(l).unwrap()).collect();
        assert!(matches!(replies[0], Reply::Ready { .. }));
        let done: Vec<(usize, u64)> = replies
            .iter()
            .filter_map(|r| match r {
                Reply::Done { task, checksum, .. } => Some((*task, *checksum)),
                _ => None,
            })
            .collect();
        assert_eq!(done, vec![(0, 55), (1, 55), (2, 55)]);
        assert_eq!(replies.last(), Some(&Reply::Bye));
    }

    #[test]
    fn end_of_input_means_the_parent_is_gone() {
        assert_eq!(serve_str("").0, Ok(()));
        assert_eq!(serve_str(&setup_line()).0, Ok(()));
    }

    #[test]
    fn a_different_protocol_version_is_refused() {
        let line = setup_line().replace("/1 ", "/2 ");
        let err = serve_str(&line).0.unwrap_err();
        assert!(err.contains("expected protocol parbench-worker/1"), "{err}");
    }

    #[test]
    fn out_of_range_tasks_are_refused() {
        let err = serve_str(&format!("{}run 2 4\n", setup_line())).0.unwrap_err();
        assert!(err.contains("bad request"), "{err}");
    }

    #[test]
    fn replies_parse_strictly() {
        assert_eq!(Reply::parse("ready 12 99"), Ok(Reply::Ready { pid: 12, ready_ns: 99 }));
        assert!(Reply::parse("ready 12").is_err());
        assert_eq!(
            Reply::parse("done 3 55 10 20"),
            Ok(Reply::Done { task: 3, checksum: 55, start_ns: 10, end_ns: 20 })
        );
        assert!(Reply::parse("done 3 55 10").is_err());
        assert!(Reply::parse("done x 55 10 20").is_err());
        assert!(Reply::parse("hello").is_err());
    }
}
