//! A user's workload, registered through the public API in a program of its own (this
//! test binary, `harness = false`), measured under every runner: the process runner
//! re-executes this binary, whose `main` hands `worker` to parbench exactly as a
//! user's bench binary does. Prints `N passed, N failed` like any test runner.

use std::process::ExitCode;

use parbench::{
    BenchError, Param, Params, Registry, RunnerKind, SharedState, TaskContext, Verification, Workload, WorkloadSpec,
};

mod util;

/// Pids of this process's children, running or zombie.
fn children() -> Vec<u32> {
    util::children_of(std::process::id())
}

#[path = "../examples/checksum/workload.rs"]
mod checksum;

/// Task `panic-at` panics; the others return their index.
struct Panicky {
    tasks: usize,
    at: usize,
}

impl Workload for Panicky {
    fn task_count(&self) -> usize {
        self.tasks
    }
    fn run_task(&self, task: usize, _: &TaskContext<'_>) -> u64 {
        assert!(task != self.at, "task {task} hit the planted bug");
        task as u64
    }
    fn verify(&self, checksums: &[u64], _: &SharedState) -> Verification {
        Verification::each(checksums, self.tasks, |t| t as u64, "each task returned its index")
    }
}

/// Every task returns 1; verification expects 2.
struct Wrong;

impl Workload for Wrong {
    fn task_count(&self) -> usize {
        3
    }
    fn run_task(&self, _: usize, _: &TaskContext<'_>) -> u64 {
        1
    }
    fn verify(&self, checksums: &[u64], _: &SharedState) -> Verification {
        Verification::each(checksums, 3, |_| 2, "every task returned 2")
    }
}

/// Its verification panics.
struct PanickyVerify;

impl Workload for PanickyVerify {
    fn task_count(&self) -> usize {
        2
    }
    fn run_task(&self, _: usize, _: &TaskContext<'_>) -> u64 {
        1
    }
    fn verify(&self, _: &[u64], _: &SharedState) -> Verification {
        panic!("verification exploded")
    }
}

/// Its tasks print to stdout, as debugging code does.
struct Chatty;

impl Workload for Chatty {
    fn task_count(&self) -> usize {
        3
    }
    fn run_task(&self, task: usize, _: &TaskContext<'_>) -> u64 {
        println!("hello from task {task}");
        task as u64
    }
    fn verify(&self, checksums: &[u64], _: &SharedState) -> Verification {
        Verification::each(checksums, 3, |t| t as u64, "each task returned its index")
    }
}

fn registry() -> Registry {
    let panicky = WorkloadSpec::new("panicky", "panics in one task", |p: &Params| {
        Ok(Panicky { tasks: p.uint("tasks") as usize, at: p.uint("panic-at") as usize })
    })
    .param(Param::uint("tasks", 4).range(1, 100))
    .param(Param::uint("panic-at", 2).range(0, 100));
    let wrong = WorkloadSpec::new("wrong", "gives a wrong answer", |_: &Params| Ok(Wrong));
    let bad_verify = WorkloadSpec::new("bad-verify", "its verification panics", |_: &Params| Ok(PanickyVerify));
    let bad_build = WorkloadSpec::new("bad-build", "its constructor panics", |_: &Params| -> Result<Wrong, String> {
        panic!("builder exploded")
    });
    Registry::new()
        .register(checksum::spec())
        .register(panicky)
        .register(wrong)
        .register(bad_verify)
        .register(bad_build)
        .register(WorkloadSpec::new("chatty", "prints from its tasks", |_: &Params| Ok(Chatty)))
}

fn run(args: &[&str]) -> anyhow::Result<parbench::result::Report> {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    all.extend(["--threads", "2", "--rounds", "2", "--warmup", "0"]);
    parbench::measure(&registry(), all)
}

fn the_example_verifies_under_every_runner() {
    for schedule in ["dynamic", "static"] {
        let report = run(&["checksum", "--size-mib", "2", "--chunks", "16", "--schedule", schedule]).unwrap();
        let case = &report.cases[0];
        let runners: Vec<RunnerKind> = case.rows.iter().map(|r| r.runner).collect();
        assert_eq!(runners, RunnerKind::ALL, "every runner measured");
        assert_eq!(case.samples.len(), 8);
        for s in &case.samples {
            assert!(matches!(s.sample.verification, Verification::Verified { .. }), "{:?}", s.sample.verification);
        }
        // The process runner's children built their own buffer, with the clock stopped.
        let process = case.samples.iter().find(|s| s.sample.runner == RunnerKind::Process).unwrap();
        assert!(process.sample.setup_ns.is_some_and(|ns| ns > 0));
        assert_eq!(report.schema_version, 2);
        assert_eq!(case.params["size-mib"], 2);
    }
}

fn a_panicking_task_names_the_task_and_runner_under_every_runner() {
    for runner in ["serial", "threads", "rayon", "process"] {
        let err = run(&["panicky", "--runner", runner]).expect_err("task 2 panics");
        let text = err.to_string();
        let bench = err.downcast_ref::<BenchError>().unwrap_or_else(|| panic!("not a benchmark failure: {text}"));
        assert!(matches!(bench, BenchError::TaskFailed { task: 2, .. }), "{text}");
        assert!(text.contains("planted bug") && text.contains("task 2 of panicky"), "{text}");
        assert!(!text.contains('\n'), "one line: {text}");
        assert_eq!(children(), Vec::<u32>::new(), "children left after {runner}");
    }
}

fn a_wrong_answer_names_the_workload_and_runner() {
    for runner in ["threads", "process"] {
        let err = run(&["wrong", "--runner", runner]).expect_err("wrong answer");
        let text = err.to_string();
        assert!(text.contains("wrong answer for wrong ()") || text.contains("wrong answer for wrong"), "{text}");
        // Serial is always measured and may fail first; either way a runner is named.
        assert!(text.contains("the serial runner") || text.contains(&format!("the {runner} runner")), "{text}");
        assert_eq!(children(), Vec::<u32>::new());
    }
}

fn an_unknown_parameter_is_a_usage_error_with_a_suggestion() {
    let err = run(&["checksum", "--size-mb", "2"]).expect_err("unknown flag");
    assert!(err.downcast_ref::<parbench::UsageError>().is_some(), "{err}");
    assert!(err.to_string().contains("--size-mb"), "{err}");
}

/// This binary as a user's program: `<it> run ...`.
fn as_program(args: &[&str]) -> std::process::Output {
    std::process::Command::new(std::env::current_exe().unwrap()).args(args).env("RUST_BACKTRACE", "1").output().unwrap()
}

fn a_panic_in_user_code_outside_a_task_is_one_line_naming_the_workload() {
    for (workload, says) in [("bad-verify", "verification exploded"), ("bad-build", "builder exploded")] {
        let out = as_program(&["run", workload, "--threads", "2", "--rounds", "1", "--runner", "threads"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{workload}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{workload}: one line: {stderr}");
        assert!(stderr.contains(workload) && stderr.contains(says), "{stderr}");
        assert!(!stderr.contains("internal error") && !stderr.contains("backtrace"), "{stderr}");
    }
}

fn a_task_that_prints_does_not_break_the_process_runner() {
    let report = run(&["chatty", "--runner", "process"]).unwrap();
    assert!(report.cases[0].rows.iter().any(|r| r.runner == RunnerKind::Process));
}

fn main() -> ExitCode {
    // The process runner starts this binary as `<it> worker`; the tests above start it
    // as a user's program would be started.
    if std::env::args().nth(1).is_some_and(|a| a == "worker" || a == "run") {
        return parbench::main(registry());
    }
    let tests: [(&str, fn()); 6] = [
        ("a_task_that_prints_does_not_break_the_process_runner", a_task_that_prints_does_not_break_the_process_runner),
        (
            "a_panic_in_user_code_outside_a_task_is_one_line_naming_the_workload",
            a_panic_in_user_code_outside_a_task_is_one_line_naming_the_workload,
        ),
        ("the_example_verifies_under_every_runner", the_example_verifies_under_every_runner),
        (
            "a_panicking_task_names_the_task_and_runner_under_every_runner",
            a_panicking_task_names_the_task_and_runner_under_every_runner,
        ),
        ("a_wrong_answer_names_the_workload_and_runner", a_wrong_answer_names_the_workload_and_runner),
        (
            "an_unknown_parameter_is_a_usage_error_with_a_suggestion",
            an_unknown_parameter_is_a_usage_error_with_a_suggestion,
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
