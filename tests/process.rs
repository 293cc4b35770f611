//! The process runner with misbehaving children: each failure becomes a typed error
//! naming the worker, and no child process survives, neither running nor as a zombie.
//!
//! Children here are small shell scripts speaking (or breaking) the worker protocol.
//! The tests run one at a time (a lock) so "this test process has no children left" is
//! an exact check.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use parbench::error::BenchError;
use parbench::runner::{Job, ProcessRunner, Runner, Schedule};

mod util;

/// Pids of this process's children, running or zombie.
fn children_of_this_process() -> Vec<u32> {
    util::children_of(std::process::id())
}

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn shell_runner(workers: usize, script: &str, timeout: Duration) -> ProcessRunner {
    let args: Vec<OsString> = vec!["-c".into(), script.into(), "parbench-test-worker".into()];
    ProcessRunner::with_program(workers, Schedule::Dynamic, timeout, PathBuf::from("/bin/sh"), args)
}

fn job(name: &str, values: &[(&str, &str)]) -> Job {
    Job::build(&parbench::Registry::with_builtins(), name, values, 2).unwrap()
}

fn fib() -> Job {
    job("fib", &[("n", "10"), ("tasks", "4")])
}

/// The start of a well-behaved worker in shell: hello, read the set-up, ready.
const READY: &str = "echo hello parbench-worker/6 $$; read setup; echo ready 0 0;";

/// Runs `script` as every worker and returns the error, checking no child survives.
fn failure(workers: usize, script: &str, timeout: Duration) -> BenchError {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let err = shell_runner(workers, script, timeout).sample(&fib()).expect_err("the sample must fail");
    assert_eq!(children_of_this_process(), Vec::<u32>::new(), "children left behind after: {err}");
    if let Some(pid) = err.worker_pid() {
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "pid {pid} still exists");
    }
    err
}

#[test]
fn a_child_killed_by_a_signal_is_reported_with_the_signal() {
    let err = failure(2, &format!("{READY} read request; kill -SEGV $$"), Duration::from_secs(20));
    let msg = err.to_string();
    assert!(matches!(err, BenchError::WorkerFailed { .. }), "{msg}");
    assert!(msg.contains("signal 11 (SIGSEGV)"), "{msg}");
}

#[test]
fn a_child_exiting_with_a_failure_status_is_reported_with_its_stderr() {
    let err = failure(
        2,
        "echo hello parbench-worker/6 $$; read setup; echo 'boom: disk on fire' >&2; exit 3",
        Duration::from_secs(20),
    );
    let msg = err.to_string();
    assert!(matches!(err, BenchError::WorkerFailed { .. }), "{msg}");
    assert!(msg.contains("exited with status 3") && msg.contains("boom: disk on fire"), "{msg}");
    assert!(msg.starts_with("worker "), "{msg}");
    assert!(!msg.contains('\n'), "errors are one line: {msg}");
}

#[test]
fn a_hanging_child_times_out_and_is_killed() {
    let start = Instant::now();
    let err = failure(2, &format!("{READY} exec sleep 1000"), Duration::from_millis(300));
    assert!(matches!(err, BenchError::WorkerTimeout { .. }), "{err}");
    assert!(err.to_string().contains("--timeout 0.3s"), "{err}");
    // Not a timing assertion on speed: only that the 1000 s sleep did not run out.
    assert!(start.elapsed() < Duration::from_secs(60));
}

#[test]
fn a_program_that_does_not_route_worker_to_parbench_is_named_as_such() {
    let err = failure(2, "echo 'running 0 tests'; exec sleep 1000", Duration::from_secs(20));
    let msg = err.to_string();
    assert!(matches!(err, BenchError::Handshake { .. }), "{msg}");
    assert!(msg.contains("\"running 0 tests\"") && msg.contains("parbench::main"), "{msg}");
    let silent = failure(1, "exec sleep 1000", Duration::from_millis(300));
    assert!(silent.to_string().contains("stayed silent"), "{silent}");
    let quiet_exit = failure(1, "exit 0", Duration::from_secs(20));
    assert!(quiet_exit.to_string().contains("without a word"), "{quiet_exit}");
}

#[test]
fn a_child_printing_garbage_after_the_handshake_is_a_protocol_error() {
    let err = failure(2, &format!("{READY} echo 'I am not a worker'; exec sleep 1000"), Duration::from_secs(20));
    let msg = err.to_string();
    assert!(matches!(err, BenchError::Protocol { .. }), "{msg}");
    assert!(msg.contains("I am not a worker"), "{msg}");
}

#[test]
fn another_protocol_version_is_refused_with_both_versions() {
    let err = failure(1, "echo hello parbench-worker/1 $$; exec sleep 1000", Duration::from_secs(20));
    assert!(err.to_string().contains("speaks parbench-worker/1, this parbench speaks parbench-worker/6"), "{err}");
}

#[test]
fn a_child_claiming_a_task_it_was_not_given_is_a_protocol_error() {
    let err = failure(1, &format!("{READY} read r; echo done 99 0 0; exec sleep 1000"), Duration::from_secs(20));
    assert!(matches!(err, BenchError::Protocol { .. }), "{err}");
}

#[test]
fn a_child_claiming_a_task_not_yet_handed_out_is_a_protocol_error_at_once() {
    // One worker, four tasks: it holds tasks 0 and 1; task 3 was not sent to anyone.
    let start = Instant::now();
    let err = failure(1, &format!("{READY} read r; echo done 3 0 0; exec sleep 1000"), Duration::from_secs(20));
    assert!(matches!(err, BenchError::Protocol { .. }), "{err}");
    assert!(err.to_string().contains("task 3, which it was not running"), "{err}");
    // Not a timing assertion on speed: only that it was not waited out to the timeout.
    assert!(start.elapsed() < Duration::from_secs(15), "waited for the timeout");
}

#[test]
fn a_child_that_quits_early_without_a_status_is_reported() {
    let err = failure(2, &format!("{READY} exit 0"), Duration::from_secs(20));
    // Whether the exit or the closed pipe is seen first is up to the scheduler.
    assert!(err.to_string().contains("before finishing its tasks"), "{err}");
}

#[test]
fn a_grandchild_holding_the_pipes_open_does_not_hang_the_runner() {
    // `sleep` without exec is a grandchild that inherits stdout and stderr; the worker
    // itself exits with an error. The runner must report it without waiting for sleep.
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("grandchild.pid");
    let script = format!("{READY} sleep 30 & echo $! > {}; echo 'oops' >&2; exit 4", pidfile.display());
    let start = Instant::now();
    let err = shell_runner(1, &script, Duration::from_secs(20)).sample(&fib()).expect_err("must fail");
    assert!(err.to_string().contains("status 4"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(20), "waited for the grandchild");
    // Clean up the grandchild (it is not ours to track: the worker started it).
    if let Ok(pid) = std::fs::read_to_string(&pidfile).unwrap_or_default().trim().parse::<i32>() {
        // SAFETY: signalling the sleep this test's script started.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

#[test]
fn a_child_that_never_reads_cannot_block_the_runner_past_the_timeout() {
    // 100,000 numbers make a set-up line of about 800 KB, far more than a pipe holds;
    // the child never reads it. Writing must give up at the deadline, not hang.
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let numbers: Vec<u64> = (1..=100_000).map(|i| 1_000_000 + i).collect();
    let list: Vec<String> = numbers.iter().map(u64::to_string).collect();
    let workload = job("factorize", &[("numbers", &list.join(","))]);
    let start = Instant::now();
    let err = shell_runner(1, "echo hello parbench-worker/6 $$; exec sleep 1000", Duration::from_millis(300))
        .sample(&workload)
        .expect_err("must time out");
    assert!(matches!(err, BenchError::WorkerTimeout { .. }), "{err}");
    assert!(err.to_string().contains("--timeout 0.3s"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(30), "blocked writing to the child");
    assert_eq!(children_of_this_process(), Vec::<u32>::new());
}

#[test]
fn a_missing_program_is_a_spawn_error() {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut runner = ProcessRunner::with_program(
        2,
        Schedule::Dynamic,
        Duration::from_secs(5),
        PathBuf::from("/nonexistent/parbench"),
        vec![],
    );
    let err = runner.sample(&fib()).expect_err("cannot spawn");
    assert!(matches!(err, BenchError::Spawn { .. }), "{err}");
    assert!(err.to_string().contains("/nonexistent/parbench"), "{err}");
}

#[test]
fn a_successful_sample_leaves_no_child_behind() {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let program = PathBuf::from(env!("CARGO_BIN_EXE_parbench"));
    let workload = job("sleep", &[("tasks", "4"), ("ms", "1")]);
    for schedule in [Schedule::Dynamic, Schedule::Static] {
        let mut runner =
            ProcessRunner::with_program(3, schedule, Duration::from_secs(20), program.clone(), vec!["worker".into()]);
        let sample = runner.sample(&workload).unwrap();
        assert!(sample.verification.is_ok(), "{:?}", sample.verification);
        assert_eq!(children_of_this_process(), Vec::<u32>::new());
    }
}

#[test]
fn a_real_worker_that_times_out_is_killed_mid_task() {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let program = PathBuf::from(env!("CARGO_BIN_EXE_parbench"));
    let workload = job("sleep", &[("tasks", "2"), ("ms", "10000")]);
    let mut runner =
        ProcessRunner::with_program(2, Schedule::Dynamic, Duration::from_millis(300), program, vec!["worker".into()]);
    let err = runner.sample(&workload).expect_err("must time out");
    assert!(matches!(err, BenchError::WorkerTimeout { .. }), "{err}");
    assert_eq!(children_of_this_process(), Vec::<u32>::new());
}

#[test]
fn a_panicking_task_in_a_worker_names_the_task_and_leaves_no_child() {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let program = PathBuf::from(env!("CARGO_BIN_EXE_parbench"));
    let workload = job("command", &[("cmd", "test {task} != 2 || exit 9"), ("tasks", "4")]);
    let mut runner =
        ProcessRunner::with_program(2, Schedule::Dynamic, Duration::from_secs(20), program, vec!["worker".into()]);
    let err = runner.sample(&workload).expect_err("task 2 fails");
    assert!(matches!(err, BenchError::TaskFailed { task: 2, .. }), "{err}");
    assert!(err.to_string().contains("status 9") && err.to_string().contains("process runner"), "{err}");
    assert_eq!(children_of_this_process(), Vec::<u32>::new());
}
