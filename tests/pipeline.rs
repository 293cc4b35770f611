//! The `pipeline` workload under every runner, from a program of its own (this test
//! binary, `harness = false`) whose registry adds the stage kinds that fail on purpose
//! (`fail`, `panic`, `hang`, `exit`): the process runner's stage processes re-execute
//! this binary, so they know those kinds too, while parbench's own registry never
//! does. Prints `N passed, N failed` like any test runner.

use std::process::ExitCode;
use std::time::Duration;

use parbench::runner::{Job, RunnerOptions};
use parbench::{Registry, RunnerId, Verification};

mod util;

fn registry() -> Registry {
    Registry::new().register(parbench::workload::pipeline::spec_with_faults())
}

/// Pids of this process's children, running or zombie.
fn children() -> Vec<u32> {
    util::children_of(std::process::id())
}

/// Threads of this process.
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

fn options(timeout: Duration) -> RunnerOptions {
    RunnerOptions { worker_program: Some(std::env::current_exe().unwrap()), timeout, ..RunnerOptions::default() }
}

/// A job of the pipeline with `stages`, 24 items and queues of 4, for 4 workers.
fn job(stages: &str, timeout: Duration) -> Job {
    let values = [("items", "24"), ("stages", stages), ("queue", "4")];
    let mut job = Job::build(&registry(), "pipeline", &values, 4).unwrap();
    job.timeout = timeout;
    job
}

/// One sample of `job` under `kind` with 4 workers.
fn sample(kind: RunnerId, job: &Job, timeout: Duration) -> Result<parbench::runner::Sample, String> {
    let mut runner = kind.build(kind.workers(4), &options(timeout)).unwrap();
    runner.prepare(job).map_err(|e| e.to_string())?;
    let sample = runner.run(job).map_err(|e| e.to_string());
    runner.release();
    sample
}

fn has_model(kind: RunnerId) -> bool {
    kind.info().is_some_and(|i| i.pipeline.is_some())
}

fn every_runner_runs_the_pipeline_verified_or_refuses_clearly() {
    let minute = Duration::from_secs(60);
    let job = job("cpu:50us,sleep:1ms,cpu:20us", minute);
    for kind in RunnerId::runnable() {
        let result = sample(kind, &job, minute);
        if !has_model(kind) {
            let err = result.expect_err("a runner without a pipeline model refuses");
            assert!(err.contains("has no pipeline model yet"), "{kind}: {err}");
            continue;
        }
        let sample = result.unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert!(matches!(sample.verification, Verification::Verified { .. }), "{kind}: {:?}", sample.verification);
        let stats = sample.pipeline.expect("a pipeline sample has its statistics");
        assert_eq!(stats.stages.len(), 3, "{kind}");
        for stage in &stats.stages {
            // Every item through every stage once: none lost, none repeated.
            assert_eq!(stage.items, 24, "{kind}: {stage:?}");
        }
        assert!(stats.bound_items_per_s > 0.0 && stats.items_per_s > 0.0, "{kind}: {stats:?}");
        let workers: usize =
            if stats.whole_items { stats.stages[0].workers } else { stats.stages.iter().map(|s| s.workers).sum() };
        assert_eq!(workers, sample.workers, "{kind}");
    }
    assert_eq!(children(), Vec::<u32>::new());
    // Measured as the command line does: one row per runner with a model, and the note
    // names each one's bottleneck and bound.
    let args = ["run", "pipeline", "--items", "16", "--stages", "sleep:1ms,cpu:20us", "--threads", "2"];
    let mut args = args.to_vec();
    args.extend(["--rounds", "1", "--warmup", "0"]);
    let report = parbench::measure(&registry(), args).unwrap();
    let case = &report.cases[0];
    let modelled: Vec<RunnerId> = RunnerId::runnable().into_iter().filter(|&k| has_model(k)).collect();
    assert_eq!(case.rows.iter().map(|r| r.runner).collect::<Vec<_>>(), modelled);
    let note =
        case.notes.iter().map(|n| &n.text).find(|n| n.starts_with("Pipeline throughput")).expect("a pipeline note");
    for kind in &modelled {
        assert!(note.contains(&format!("{kind}: ")), "{note}");
    }
    assert!(note.contains("stage 1 (sleep:1ms) on 1 worker, bound"), "{note}");
}

fn the_threads_model_joins_every_thread_it_starts() {
    let minute = Duration::from_secs(60);
    let before = threads();
    for stages in ["cpu:20us,sleep:1ms,cpu:20us", "sleep:1ms,fail:1ms,sleep:1ms", "sleep:1ms"] {
        let _ = sample(RunnerId::new("threads"), &job(stages, minute), minute);
        assert_eq!(threads(), before, "{stages}: every stage thread, the source and the watchdog were joined");
    }
}

/// Each runner with a model, the fault kinds it can meet (a stage process that exits
/// would end this process under an in-process runner).
fn faults(kind: RunnerId) -> Vec<&'static str> {
    let mut faults = vec!["fail:1ms", "panic:1ms"];
    if kind.processes() {
        faults.push("exit:1ms");
    }
    faults
}

fn a_failing_stage_ends_every_stage_and_is_named() {
    let minute = Duration::from_secs(60);
    let before = threads();
    for kind in RunnerId::runnable().into_iter().filter(|&k| has_model(k)) {
        for fault in faults(kind) {
            let job = job(&format!("sleep:1ms,{fault},cpu:20us"), minute);
            let err = sample(kind, &job, minute).expect_err("the stage fails");
            assert!(err.starts_with(&format!("stage 2 ({fault}) of pipeline")), "{kind}: {err}");
            assert!(err.contains(&format!("under the {kind} runner")), "{err}");
            assert!(err.ends_with("every stage was stopped"), "{err}");
            if fault == "exit:1ms" {
                assert!(err.contains("exited"), "{err}");
            } else {
                assert!(err.contains("item 12"), "the middle item: {err}");
            }
            assert_eq!(children(), Vec::<u32>::new(), "{kind} {fault}: nothing left running");
        }
    }
    assert_eq!(threads(), before);
}

fn a_hanging_stage_ends_every_stage_within_the_timeout_and_is_named() {
    let second = Duration::from_secs(1);
    for kind in RunnerId::runnable().into_iter().filter(|&k| has_model(k)) {
        let job = job("sleep:1ms,hang:1ms,sleep:1ms", second);
        let err = sample(kind, &job, second).expect_err("the stage hangs");
        assert!(err.starts_with("stage 2 (hang:1ms) of pipeline"), "{kind}: {err}");
        assert!(err.contains("no progress within --timeout 1"), "{kind}: {err}");
        assert_eq!(children(), Vec::<u32>::new(), "{kind}: nothing left running");
    }
}

fn as_program(args: &[&std::ffi::OsStr]) -> std::process::Output {
    std::process::Command::new(std::env::current_exe().unwrap()).args(args).output().unwrap()
}

fn bad_stages_are_usage_errors_naming_the_flag_and_the_value() {
    use std::os::unix::ffi::OsStrExt;
    let bad: [(&[u8], &str); 8] = [
        (b"", "--stages '': is empty"),
        (b"gpu:1ms", "\"gpu\" is not a stage kind (cpu, sleep, fail, panic, hang, exit)"),
        (b"cpu:0us", "is zero"),
        (b"cpu:11s", "longer than the 10 s allowed"),
        (b"cpu:200", "has no unit"),
        (b"cpu:1ms,,sleep:1ms", "an empty stage"),
        (b"cpu:1\x1bms", "\\u{1b}"),
        // Bytes that are not UTF-8 are refused for every flag alike, before any
        // parameter is parsed.
        (b"cpu:1\xffms", "invalid UTF-8"),
    ];
    for (value, says) in bad {
        let value = std::ffi::OsStr::from_bytes(value);
        let args = ["run", "pipeline", "--runner", "threads", "--rounds", "1", "--stages"].map(std::ffi::OsStr::new);
        let mut args = args.to_vec();
        args.push(value);
        let out = as_program(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{value:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{value:?}: one line: {stderr}");
        let named = stderr.contains("--stages") || says == "invalid UTF-8";
        assert!(named && stderr.contains(says), "{value:?}: {stderr}");
    }
}

fn a_failing_stage_on_the_command_line_is_exit_1_naming_it() {
    let args = ["run", "pipeline", "--items", "8", "--stages", "sleep:1ms,hang:1ms", "--runner", "process"];
    let mut args: Vec<&std::ffi::OsStr> = args.map(std::ffi::OsStr::new).to_vec();
    args.extend(["--timeout", "1", "--rounds", "1", "--warmup", "0", "--threads", "2"].map(std::ffi::OsStr::new));
    let out = as_program(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("stage 2 (hang:1ms)"), "{stderr}");
    assert_eq!(children(), Vec::<u32>::new());
}

fn main() -> ExitCode {
    // The process runner starts this binary as `<it> worker`; the tests above start it
    // as a user's program would be started.
    if std::env::args().nth(1).is_some_and(|a| a == "worker" || a == "run") {
        return parbench::main(registry());
    }
    let tests: [(&str, fn()); 6] = [
        (
            "every_runner_runs_the_pipeline_verified_or_refuses_clearly",
            every_runner_runs_the_pipeline_verified_or_refuses_clearly,
        ),
        ("the_threads_model_joins_every_thread_it_starts", the_threads_model_joins_every_thread_it_starts),
        ("a_failing_stage_ends_every_stage_and_is_named", a_failing_stage_ends_every_stage_and_is_named),
        (
            "a_hanging_stage_ends_every_stage_within_the_timeout_and_is_named",
            a_hanging_stage_ends_every_stage_within_the_timeout_and_is_named,
        ),
        (
            "bad_stages_are_usage_errors_naming_the_flag_and_the_value",
            bad_stages_are_usage_errors_naming_the_flag_and_the_value,
        ),
        (
            "a_failing_stage_on_the_command_line_is_exit_1_naming_it",
            a_failing_stage_on_the_command_line_is_exit_1_naming_it,
        ),
    ];
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let (mut passed, mut failed) = (0, 0);
    for (name, test) in tests {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        match std::panic::catch_unwind(test) {
            Ok(()) => {
                println!("test {name} ... ok");
                passed += 1;
            }
            Err(_) => {
                println!("test {name} ... FAILED");
                failed += 1;
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
