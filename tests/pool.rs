//! The process-pool runner driven through the library, as the measurement drives it
//! (prepare, samples, release): its children are started once and reused; a child
//! killed between samples or during one ends the run with an error naming it, and no
//! child process survives, neither running nor as a zombie. The tests run one at a
//! time (a lock) so "this test process has no children left" is an exact check.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use parbench::error::BenchError;
use parbench::runner::{Job, ProcessPoolRunner, Runner, Schedule};
use parbench::{Registry, Verification};

mod util;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const WORKER: &str = env!("CARGO_BIN_EXE_parbench");

fn children_of_this_process() -> Vec<u32> {
    let mut kids = util::children_of(std::process::id());
    kids.sort();
    kids
}

fn pool(workers: usize, schedule: Schedule) -> ProcessPoolRunner {
    ProcessPoolRunner::with_program(workers, schedule, Duration::from_secs(30), WORKER.into(), vec!["worker".into()])
}

fn job(name: &str, values: &[(&str, &str)], workers: usize) -> Job {
    Job::build(&Registry::with_builtins(), name, values, workers).unwrap()
}

fn kill(pid: u32) {
    // SAFETY: SIGKILL to a worker process this test's runner started.
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) }, 0);
}

fn assert_nothing_left(err: &BenchError) {
    assert_eq!(children_of_this_process(), Vec::<u32>::new(), "children left behind after: {err}");
}

#[test]
fn the_pools_children_serve_every_sample_and_quit_at_release() {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let job = job("fib", &[("n", "15"), ("tasks", "7")], 3);
    let mut runner = pool(3, Schedule::Dynamic);
    assert!(runner.pids().is_empty() && runner.setup_ns().is_none(), "nothing starts before prepare");
    runner.prepare(&job).unwrap();
    let mut pids = runner.pids();
    pids.sort();
    assert_eq!(pids.len(), 3);
    assert_eq!(children_of_this_process(), pids, "the pool's children are this process's only ones");
    // What the limits check counts for the pool: its processes as tasks, no threads.
    let started = runner.info().threads_started(3);
    assert_eq!((started.held_tasks, started.held_threads), (pids.len() as u64, 0), "{started:?}");
    assert!(runner.setup_ns().is_some(), "the pool's start is its set-up");
    for _ in 0..3 {
        runner.prepare(&job).unwrap();
        let sample = runner.sample(&job).unwrap();
        assert!(matches!(sample.verification, Verification::Verified { .. }), "{:?}", sample.verification);
        assert_eq!(sample.per_worker.iter().map(|w| w.tasks).sum::<u64>(), 7);
        assert_eq!(sample.startup_ns, None, "no start-up inside a pool's sample");
        assert!(sample.cpu_ns > 0 && sample.waited_ns.is_some(), "statistics come back per sample");
        assert_eq!(children_of_this_process(), pids, "the same children, reused");
    }
    runner.release();
    assert_eq!(children_of_this_process(), Vec::<u32>::new(), "release reaps every child");
    // Prepared again after a release: a new pool.
    runner.prepare(&job).unwrap();
    assert!(runner.sample(&job).unwrap().verification.is_ok());
    let new: Vec<u32> = runner.pids();
    assert!(new.iter().all(|p| !pids.contains(p)), "{new:?} after {pids:?}");
    runner.release();
}

#[test]
fn a_worker_killed_between_samples_ends_the_run_naming_it() {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let job = job("fib", &[("n", "15"), ("tasks", "6")], 3);
    let mut runner = pool(3, Schedule::Dynamic);
    runner.prepare(&job).unwrap();
    assert!(runner.sample(&job).unwrap().verification.is_ok());
    let pids = runner.pids();
    kill(pids[1]);
    runner.prepare(&job).unwrap();
    let err = runner.sample(&job).expect_err("a dead worker cannot serve a sample");
    let msg = err.to_string();
    match &err {
        BenchError::WorkerFailed { worker: 1, pid, status, .. } if *pid == pids[1] => {
            assert!(status.contains("died between samples") && status.contains("signal 9 (SIGKILL)"), "{msg}")
        }
        _ => panic!("not worker 1 (pid {}) failing: {msg}", pids[1]),
    }
    assert!(msg.starts_with(&format!("worker 1 (pid {})", pids[1])) && !msg.contains('\n'), "{msg}");
    assert_nothing_left(&err);
    for pid in pids {
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "pid {pid} still exists");
    }
}

#[test]
fn a_worker_killed_during_a_sample_ends_it_naming_it() {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // Tasks of 10 s, killed long before they end.
    let job = job("sleep", &[("tasks", "2"), ("ms", "10000")], 2);
    let mut runner = pool(2, Schedule::Dynamic);
    runner.prepare(&job).unwrap();
    let pids = runner.pids();
    let victim = pids[0];
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        kill(victim);
    });
    let err = runner.sample(&job).expect_err("a killed worker fails the sample");
    killer.join().unwrap();
    let msg = err.to_string();
    match &err {
        BenchError::WorkerFailed { worker: 0, pid, status, .. } if *pid == victim => {
            assert!(status.contains("signal 9 (SIGKILL)"), "{msg}")
        }
        _ => panic!("not worker 0 (pid {victim}) failing: {msg}"),
    }
    assert_nothing_left(&err);
}

#[test]
fn the_timeout_applies_to_a_pools_samples() {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // A stand-in that sets up, opens its sample, and hangs on the first task.
    let script = "echo hello parbench-worker/6 $$; read setup; echo ready 0 0; read next; echo ready 0 0; \
                  exec sleep 1000";
    let args: Vec<OsString> = vec!["-c".into(), script.into(), "parbench-test-worker".into()];
    let job = job("fib", &[("n", "10"), ("tasks", "4")], 2);
    let mut runner = ProcessPoolRunner::with_program(
        2,
        Schedule::Dynamic,
        Duration::from_millis(300),
        PathBuf::from("/bin/sh"),
        args,
    );
    runner.prepare(&job).unwrap();
    let err = runner.sample(&job).expect_err("must time out");
    assert!(matches!(err, BenchError::WorkerTimeout { .. }), "{err}");
    assert!(err.to_string().contains("--timeout 0.3s"), "{err}");
    assert_nothing_left(&err);
}

#[test]
fn every_sample_of_the_pool_starts_from_zeroed_shared_memory_and_fresh_tasks() {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // The counter's shared memory is made with the pool: without zeroing it, the second
    // sample would count twice the increments. noop is the hidden calibration workload.
    let cases: &[(&str, &[(&str, &str)])] = &[
        ("counter", &[("sync", "atomic"), ("increments", "3000")]),
        ("counter", &[("sync", "sharded"), ("increments", "3000")]),
        ("counter", &[("sync", "none"), ("increments", "3000")]),
        ("noop", &[("tasks", "9")]),
        ("factorize", &[("count", "5"), ("max", "5000")]),
        ("command", &[("cmd", "true"), ("tasks", "3")]),
    ];
    for schedule in [Schedule::Dynamic, Schedule::Static] {
        for (name, values) in cases {
            let job = job(name, values, 2);
            let mut runner = pool(2, schedule);
            runner.prepare(&job).unwrap();
            for round in 0..3 {
                let sample = runner.sample(&job).unwrap_or_else(|e| panic!("{name} round {round}: {e}"));
                match &sample.verification {
                    Verification::Verified { .. } => {}
                    Verification::LostUpdates { expected, .. } if values.contains(&("sync", "none")) => {
                        assert_eq!(*expected, 6000)
                    }
                    other => panic!("{name} {values:?} round {round} ({schedule:?}): {other:?}"),
                }
            }
            runner.release();
            assert_eq!(children_of_this_process(), Vec::<u32>::new());
        }
    }
}

#[test]
fn a_mutex_counter_is_refused_under_the_pool_with_the_reason() {
    let args = ["run", "counter", "--sync", "mutex", "--runner", "process-pool", "--worker-program", WORKER];
    let err = parbench::measure(&Registry::with_builtins(), args).expect_err("a mutex is not shared by processes");
    let msg = format!("{err:#}");
    assert!(msg.contains("process-pool cannot run counter") && msg.contains("std::sync::Mutex"), "{msg}");
    assert!(!msg.contains('\n'), "{msg}");
}

#[test]
fn a_pool_worker_killed_during_a_run_ends_it_with_exit_1_naming_the_worker() {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // The task's shell finds its worker (its keeper's parent, when that is a `worker`
    // process: serial runs commands from parbench itself) and kills it.
    let cmd = r#"read -r _ _ _ p _ < /proc/$PPID/stat; case "$(tr '\0' ' ' < /proc/$p/cmdline)" in *" worker ") kill -KILL $p; sleep 5;; esac"#;
    let out = std::process::Command::new(WORKER)
        .args(["run", "command", "--cmd", cmd, "--tasks", "2", "--threads", "2", "--runner", "process-pool"])
        .args(["--rounds", "2", "--warmup", "0", "--limit", "none"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("was killed by signal 9 (SIGKILL)") && stderr.contains("before finishing its tasks"),
        "{stderr}"
    );
    let pid: u32 = stderr
        .split("(pid ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("no worker pid in {stderr}"));
    assert!(stderr.starts_with("parbench: error: worker "), "{stderr}");
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "worker {pid} is still there");
}

#[test]
fn a_pipelines_stages_are_the_pools_processes_reused_by_every_sample() {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let values = [("items", "20"), ("stages", "cpu:20us,sleep:1ms,cpu:20us"), ("queue", "4")];
    let job = job("pipeline", &values, 4);
    let mut runner = pool(4, Schedule::Dynamic);
    runner.prepare(&job).unwrap();
    let mut pids = runner.pids();
    pids.sort();
    assert_eq!(pids.len(), 4, "4 workers over 3 stages: a process each, the slowest stage two");
    for _ in 0..3 {
        runner.prepare(&job).unwrap();
        let sample = runner.run(&job).unwrap();
        assert!(matches!(sample.verification, Verification::Verified { .. }), "{:?}", sample.verification);
        let stats = sample.pipeline.expect("a pipeline sample");
        assert_eq!(stats.stages.iter().map(|s| s.items).collect::<Vec<_>>(), vec![20, 20, 20]);
        assert_eq!(stats.stages[1].workers, 2, "{stats:?}");
        assert_eq!(sample.startup_ns, None, "no start-up inside a pool's sample");
        assert!(sample.cpu_ns > 0, "the stages' statistics come back per sample");
        assert_eq!(children_of_this_process(), pids, "the same stage processes, reused");
    }
    // A stage killed between samples ends the run naming it, nothing left running.
    kill(runner.pids()[2]);
    runner.prepare(&job).unwrap();
    let err = runner.run(&job).expect_err("a dead stage cannot serve a sample");
    assert!(matches!(&err, BenchError::WorkerFailed { worker: 2, .. }), "{err}");
    assert!(err.to_string().contains("died between samples"), "{err}");
    assert_nothing_left(&err);
    runner.release();
}
