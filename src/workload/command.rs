//! `command`: each task runs a shell command through `sh -c`, with `{task}` and
//! `{worker}` replaced by the task and worker index. A task is verified when the
//! command exits with status 0; anything else fails the run, naming the task, the
//! command and the tail of its stderr.
//!
//! Every runner starts one process per task here, so the comparison is about how
//! tasks are handed out and how many run at once. Each command runs in a process group
//! of its own, registered for Ctrl-C, and dies with the thread that started it.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use super::{Param, Params, Properties, SharedState, TaskContext, Value, Verification, Workload, WorkloadSpec};

/// How much of a command's stderr is kept for the error message.
const STDERR_TAIL: usize = 4096;

/// The `command` declaration.
pub fn spec() -> WorkloadSpec {
    WorkloadSpec::new(
        "command",
        "each task runs a shell command (sh -c); {task} and {worker} are replaced by their indexes",
        |p: &Params| Ok(CommandWorkload { cmd: p.text("cmd").to_string(), tasks: p.uint("tasks") as usize }),
    )
    .param(Param::text("cmd", "").required().help(
        "The command each task runs through sh -c; {task} and {worker} become the task and worker index. \
         Its stdout is discarded; a non-zero exit fails the run",
    ))
    .param(Param::uint("tasks", 8).range(1, super::MAX_TASKS).help("Number of tasks"))
    .check(|p| {
        if p.text("cmd").trim().is_empty() {
            return Err("the command (cmd) is empty: give one, e.g. --cmd 'sleep 0.1'".into());
        }
        Ok(())
    })
    .properties(|_| Properties {
        waits: true,
        note: Some(
            "Under the command workload every runner starts one process per task (sh -c): the comparison \
             measures how tasks are handed out and how many run at once, not threads against processes."
                .into(),
        ),
        ..Properties::default()
    })
    .calibration(|p| p.with("cmd", Value::Text("true".into())))
}

/// Runs a shell command per task.
pub struct CommandWorkload {
    cmd: String,
    tasks: usize,
}

impl Workload for CommandWorkload {
    fn task_count(&self) -> usize {
        self.tasks
    }

    fn run_task(&self, task: usize, ctx: &TaskContext<'_>) -> u64 {
        let cmd = self.cmd.replace("{task}", &task.to_string()).replace("{worker}", &ctx.worker.to_string());
        match run_shell(&cmd) {
            Ok(()) => 0,
            // The runner catches this and reports it as the task's failure (exit 1).
            Err(why) => panic!("command {cmd:?} {why}"),
        }
    }

    fn verify(&self, checksums: &[u64], _shared: &SharedState) -> Verification {
        Verification::each(checksums, self.tasks, |_| 0, "the command exited with status 0")
    }
}

/// Runs `sh -c cmd` with stdout discarded; `Err` says how it failed, with the tail of
/// its stderr.
fn run_shell(cmd: &str) -> Result<(), String> {
    let mut command = Command::new("sh");
    command.arg("-c").arg(cmd).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).process_group(0);
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        })
    };
    let mut child = command.spawn().map_err(|e| format!("could not start sh: {e}"))?;
    crate::interrupt::register_group(child.id());
    let tail = child.stderr.take().map(read_tail).unwrap_or_default();
    let status = child.wait();
    crate::interrupt::unregister_group(child.id());
    let status = status.map_err(|e| format!("could not be waited for: {e}"))?;
    if status.success() {
        return Ok(());
    }
    let how = crate::sys::describe_status(status);
    let tail = String::from_utf8_lossy(&tail);
    let lines: Vec<&str> = tail.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    match lines.len() {
        0 => Err(how),
        n => Err(format!("{how}; its stderr ended with: {}", lines[n.saturating_sub(3)..].join(" | "))),
    }
}

/// Reads a stream to its end, keeping only its last [`STDERR_TAIL`] bytes.
fn read_tail(mut stream: impl Read) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                kept.extend_from_slice(&buf[..n]);
                if kept.len() > 2 * STDERR_TAIL {
                    kept.drain(..kept.len() - STDERR_TAIL);
                }
            }
        }
    }
    if kept.len() > STDERR_TAIL {
        kept.drain(..kept.len() - STDERR_TAIL);
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_command_names_its_status_and_stderr() {
        let err = run_shell("echo first >&2; echo oops >&2; exit 3").unwrap_err();
        assert_eq!(err, "exited with status 3; its stderr ended with: first | oops");
        assert!(run_shell("true").is_ok());
    }

    #[test]
    fn a_missing_program_is_a_failure() {
        let err = run_shell("parbench-no-such-program-xyz").unwrap_err();
        assert!(err.contains("status 127") && err.contains("not found"), "{err}");
    }

    #[test]
    fn only_the_tail_of_a_long_stderr_is_kept() {
        let long = vec![b'x'; 100_000];
        assert_eq!(read_tail(&long[..]).len(), STDERR_TAIL);
    }

    #[test]
    fn task_and_worker_are_substituted() {
        let dir = tempfile::tempdir().unwrap();
        let cmd = format!("echo {{task}}-{{worker}} > {}/out", dir.path().display());
        let w = CommandWorkload { cmd, tasks: 1 };
        let shared = SharedState::heap(0);
        assert_eq!(w.run_task(7, &TaskContext { worker: 3, workers: 4, shared: &shared }), 0);
        assert_eq!(std::fs::read_to_string(dir.path().join("out")).unwrap(), "7-3\n");
    }
}
