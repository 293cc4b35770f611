//! `command`: each task runs a shell command through `sh -c`, with `{task}` and
//! `{worker}` replaced by the task and worker index. A task is verified when the
//! command exits with status 0; anything else fails the run, naming the task, the
//! command and the tail of its stderr.
//!
//! Every runner starts one process per task here, so the comparison is about how
//! tasks are handed out and how many run at once.
//!
//! A command that outlives `--timeout` is killed (whatever the runner: the wait polls
//! a pidfd and the stderr pipe together, so waiting adds no latency). Each command runs
//! under a keeper ([`crate::sys::keeper`]): when `sh` ends, what it left running is
//! killed, and when parbench or a process-runner worker dies, even by SIGKILL, so is
//! everything the command started, `setsid` or not.

use std::io::Read;

use crate::sys::child::{keep_tail, pidfd, poll_until, read_tail, set_nonblocking};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
        one_machine: Some(
            "its tasks run a shell command, which means parbench's machine, its files and working directory".into(),
        ),
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
        match run_shell(&cmd, ctx.timeout) {
            Ok(()) => 0,
            // The runner catches this and reports it as the task's failure (exit 1).
            Err(why) => {
                std::panic::panic_any(super::TaskFailure(format!("command \"{}\" {why}", super::param::shown(&cmd))))
            }
        }
    }

    fn verify(&self, checksums: &[u64], _shared: &SharedState) -> Verification {
        Verification::each(checksums, self.tasks, |_| 0, "the command exited with status 0")
    }
}

/// Runs `sh -c cmd` with stdout discarded; `Err` says how it failed, with the tail of
/// its stderr. Killed after `timeout`.
fn run_shell(cmd: &str, timeout: Duration) -> Result<(), String> {
    let mut command = Command::new("sh");
    command.arg("-c").arg(cmd).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    // A parbench the command runs is not this run's worker.
    command.env_remove(crate::sys::child::PARENT_PID_ENV);
    // The child is a keeper: when sh ends, it kills whatever sh left behind, and when
    // this thread or parbench dies (kill -9 included), it kills everything too.
    crate::sys::keeper::keep(&mut command);
    let mut child = crate::interrupt::spawn(&mut command, crate::interrupt::Spawned::Keeper)
        .map_err(|e| format!("could not start sh: {e}"))?;
    let pid = child.id();
    let stderr = child.stderr.take().expect("stderr is piped");
    let (tail, finished) = wait_reading(pid, stderr, timeout);
    if !finished {
        crate::sys::keeper::stop(pid);
    }
    let status = child.wait();
    crate::interrupt::unregister_keeper(pid);
    let status = status.map_err(|e| format!("could not be waited for: {e}"))?;
    let how = if finished {
        if status.success() {
            return Ok(());
        }
        crate::sys::describe_status(status)
    } else {
        format!("did not finish within --timeout {}s and was killed", timeout.as_secs_f64())
    };
    let lines: Vec<String> = crate::sys::child::last_lines(&tail, 3).iter().map(|l| escape(l)).collect();
    match lines.len() {
        0 => Err(how),
        _ => Err(format!("{how}; its stderr ended with: {}", lines.join(" | "))),
    }
}

/// A line of another program's output, safe for a terminal: control characters escaped,
/// at most 200 characters kept.
fn escape(line: &str) -> String {
    crate::text::terminal_safe_cut(line, 200)
}

/// Reads `stderr` (keeping its tail) until process `pid` exits or `timeout` passes;
/// returns the tail and whether the process exited. Waits on a pidfd, so a grandchild
/// holding the pipe open cannot delay the answer; without pidfds (old kernels), reads
/// to the end of the pipe and the timeout is not applied.
fn wait_reading(pid: u32, mut stderr: std::process::ChildStderr, timeout: Duration) -> (Vec<u8>, bool) {
    use std::os::fd::AsRawFd;
    let Some(pidfd) = pidfd(pid) else { return (read_tail(stderr, STDERR_TAIL), true) };
    let deadline = Instant::now() + timeout;
    let mut tail = Vec::new();
    let mut pipe_open = true;
    let mut buf = [0u8; 4096];
    let exited = loop {
        if Instant::now() >= deadline {
            break false;
        }
        let mut fds = [
            libc::pollfd { fd: pidfd.as_raw_fd(), events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: if pipe_open { stderr.as_raw_fd() } else { -1 }, events: libc::POLLIN, revents: 0 },
        ];
        if poll_until(&mut fds, deadline) == 0 {
            continue;
        }
        if fds[1].revents != 0 {
            match stderr.read(&mut buf) {
                Ok(0) | Err(_) => pipe_open = false,
                Ok(n) => keep_tail(&mut tail, &buf[..n], STDERR_TAIL),
            }
            continue;
        }
        if fds[0].revents != 0 {
            break true;
        }
    };
    if exited && pipe_open {
        // What the command wrote last is already in the pipe; take it without waiting
        // for a grandchild that may hold the pipe open.
        set_nonblocking(&stderr);
        while let Ok(n @ 1..) = stderr.read(&mut buf) {
            keep_tail(&mut tail, &buf[..n], STDERR_TAIL);
        }
    }
    (tail, exited)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_command_names_its_status_and_stderr() {
        let err = run_shell("echo first >&2; echo oops >&2; exit 3", MINUTE).unwrap_err();
        assert_eq!(err, "exited with status 3; its stderr ended with: first | oops");
        assert!(run_shell("true", MINUTE).is_ok());
    }

    #[test]
    fn a_missing_program_is_a_failure() {
        let err = run_shell("parbench-no-such-program-xyz", MINUTE).unwrap_err();
        assert!(err.contains("status 127") && err.contains("not found"), "{err}");
    }

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn a_command_past_the_timeout_is_killed_with_what_it_started() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        // sh starts a sleep of its own (not exec'd), then waits for it.
        let cmd = format!("sleep 1000 & echo $! > {}; wait", pidfile.display());
        let err = run_shell(&cmd, Duration::from_millis(300)).unwrap_err();
        assert!(err.contains("did not finish within --timeout 0.3s and was killed"), "{err}");
        let pid: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
        // The sleep was in the command's process group, which got SIGKILL: it dies (gone,
        // or a zombie for init to reap) as soon as the kernel delivers the signal.
        let state = || {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            stat.rsplit(')').next().unwrap_or("").split_whitespace().next().unwrap_or("").to_string()
        };
        let dead = |s: &str| s.is_empty() || s == "Z" || s == "X";
        let until = std::time::Instant::now() + Duration::from_secs(10);
        while !dead(&state()) && std::time::Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(dead(&state()), "sleep {pid} survived the group kill: {}", state());
    }

    #[test]
    fn control_characters_from_a_command_are_escaped() {
        let err = run_shell("printf 'a\\033[2Jb\\r\\n' >&2; exit 1", MINUTE).unwrap_err();
        assert!(err.ends_with("a\\u{1b}[2Jb"), "{err}");
    }

    #[test]
    fn only_the_tail_of_a_long_stderr_is_kept() {
        let long = vec![b'x'; 100_000];
        assert_eq!(read_tail(&long[..], STDERR_TAIL).len(), STDERR_TAIL);
    }

    #[test]
    fn task_and_worker_are_substituted() {
        let dir = tempfile::tempdir().unwrap();
        let cmd = format!("echo {{task}}-{{worker}} > {}/out", dir.path().display());
        let w = CommandWorkload { cmd, tasks: 1 };
        let shared = SharedState::heap(0);
        assert_eq!(w.run_task(7, &TaskContext::new(3, 4, &shared)), 0);
        assert_eq!(std::fs::read_to_string(dir.path().join("out")).unwrap(), "7-3\n");
    }
}
