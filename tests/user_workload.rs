//! A user's workload, registered through the public API in a program of its own (this
//! test binary, `harness = false`), measured under every runner: the process runner
//! re-executes this binary, whose `main` hands `worker` to parbench exactly as a
//! user's bench binary does. Prints `N passed, N failed` like any test runner.

use std::process::ExitCode;

use parbench::{
    BenchError, Param, Params, Registry, RunnerId, SharedState, TaskContext, TypedWorkload, Verification, Workload,
    WorkloadSpec,
};

mod util;

// Counts each thread's allocations, so the report shows them per task.
#[global_allocator]
static ALLOC: parbench::CountingAlloc = parbench::CountingAlloc;

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

/// Sorts a reversed vector per task, in place, and reports whether it found its input
/// already sorted: every sample must hand every task fresh, unsorted data.
struct InPlaceSort {
    len: usize,
    tasks: usize,
}

impl TypedWorkload for InPlaceSort {
    type Input = Vec<u64>;
    type Worker = ();
    /// (was the input sorted before the task sorted it, its smallest element after)
    type Output = (bool, u64);
    fn task_count(&self) -> usize {
        self.tasks
    }
    fn input(&self, task: usize) -> Vec<u64> {
        (0..self.len as u64).rev().map(|v| v + task as u64).collect()
    }
    fn worker(&self, _: usize) {}
    fn throughput(&self, _: usize) -> Option<parbench::Throughput> {
        Some(parbench::Throughput::Elements(self.len as u64))
    }
    fn run(&self, _: usize, input: &mut Vec<u64>, _: &mut (), _: &TaskContext<'_>) -> (bool, u64) {
        let was_sorted = input.is_sorted();
        input.sort_unstable();
        (was_sorted, input[0])
    }
    fn verify(&self, outputs: &[(bool, u64)], _: &SharedState) -> Verification {
        Verification::each(outputs, self.tasks, |t| (false, t as u64), "each task sorted unsorted data")
    }
}

/// Worker states: each counts the tasks it ran, so the outputs show whether one state
/// served all of a worker's tasks.
struct PerWorker {
    tasks: usize,
}

/// One worker's state.
struct Counter {
    worker: usize,
    ran: u64,
}

impl TypedWorkload for PerWorker {
    type Input = ();
    type Worker = Counter;
    /// (the worker the state was made for, the worker that ran the task, tasks this
    /// state had run including this one)
    type Output = (usize, usize, u64);
    fn task_count(&self) -> usize {
        self.tasks
    }
    fn input(&self, _: usize) {}
    fn worker(&self, worker: usize) -> Counter {
        Counter { worker, ran: 0 }
    }
    fn run(&self, _: usize, _: &mut (), state: &mut Counter, ctx: &TaskContext<'_>) -> (usize, usize, u64) {
        state.ran += 1;
        (state.worker, ctx.worker, state.ran)
    }
    fn verify(&self, outputs: &[(usize, usize, u64)], _: &SharedState) -> Verification {
        if let Some((t, o)) = outputs.iter().enumerate().find(|(_, o)| o.0 != o.1) {
            return Verification::failed(format!("task {t} got the state of worker {} on worker {}", o.0, o.1));
        }
        // Per worker, its tasks saw consecutive counts m + 1, ..., m + k: one state,
        // reused (m is 0 when the state was made for the sample; a process pool's
        // worker keeps its state across samples, so m counts its earlier tasks).
        let mut counts: Vec<Vec<u64>> = Vec::new();
        for &(worker, _, ran) in outputs {
            counts.resize(counts.len().max(worker + 1), Vec::new());
            counts[worker].push(ran);
        }
        for (worker, mut seen) in counts.into_iter().enumerate() {
            seen.sort_unstable();
            let first = seen.first().copied().unwrap_or(1).max(1);
            if seen != (first..first + seen.len() as u64).collect::<Vec<_>>() {
                return Verification::failed(format!("worker {worker}'s state saw counts {seen:?}"));
            }
        }
        Verification::verified("one state per worker, reused by each of its tasks")
    }
}

/// Logs, to the file `log`, the monotonic time each task starts and each worker state
/// and workload copy is freed; its set-up holds `setup-mib` MiB, touched.
struct Teardown {
    log: String,
    tasks: usize,
    _setup: Vec<u8>,
}

/// A worker state that logs when it is freed.
struct Logged(String);

fn log_line(path: &str, line: String) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().append(true).create(true).open(path).unwrap();
    file.write_all(format!("{line}\n").as_bytes()).unwrap();
}

fn now_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid timespec; CLOCK_MONOTONIC exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

impl Drop for Logged {
    fn drop(&mut self) {
        log_line(&self.0, format!("drop {}", now_ns()));
    }
}

impl Drop for Teardown {
    fn drop(&mut self) {
        log_line(&self.log, format!("drop {}", now_ns()));
    }
}

impl TypedWorkload for Teardown {
    type Input = ();
    type Worker = Logged;
    type Output = u64;
    fn task_count(&self) -> usize {
        self.tasks
    }
    fn input(&self, _: usize) {}
    fn worker(&self, _: usize) -> Logged {
        Logged(self.log.clone())
    }
    fn run(&self, task: usize, _: &mut (), _: &mut Logged, _: &TaskContext<'_>) -> u64 {
        log_line(&self.log, format!("task {task} {}", now_ns()));
        task as u64
    }
    fn verify(&self, outputs: &[u64], _: &SharedState) -> Verification {
        Verification::each(outputs, self.tasks, |t| t as u64, "each task returned its index")
    }
}

/// Task `t` sums 1/k over its range forwards; the answer sums it backwards, which
/// rounds differently: the outputs match within a tolerance, not bit for bit.
struct Harmonic {
    per_task: u64,
    tasks: usize,
}

impl TypedWorkload for Harmonic {
    type Input = ();
    type Worker = ();
    type Output = f64;
    fn task_count(&self) -> usize {
        self.tasks
    }
    fn input(&self, _: usize) {}
    fn worker(&self, _: usize) {}
    fn run(&self, task: usize, _: &mut (), _: &mut (), _: &TaskContext<'_>) -> f64 {
        let first = 1 + task as u64 * self.per_task;
        (first..first + self.per_task).map(|k| 1.0 / k as f64).sum()
    }
    fn verify(&self, outputs: &[f64], _: &SharedState) -> Verification {
        let backwards = |t: usize| {
            let first = 1 + t as u64 * self.per_task;
            (first..first + self.per_task).rev().map(|k| 1.0 / k as f64).sum()
        };
        Verification::each_within(outputs, self.tasks, backwards, 1e-12, "harmonic sums match summed backwards")
    }
}

/// Its tasks return NaN, which JSON cannot carry.
struct NotANumber;

impl TypedWorkload for NotANumber {
    type Input = ();
    type Worker = ();
    type Output = f64;
    fn task_count(&self) -> usize {
        2
    }
    fn input(&self, _: usize) {}
    fn worker(&self, _: usize) {}
    fn run(&self, _: usize, _: &mut (), _: &mut (), _: &TaskContext<'_>) -> f64 {
        f64::NAN
    }
    fn verify(&self, outputs: &[f64], _: &SharedState) -> Verification {
        Verification::each_within(outputs, 2, |_| 1.0, 1e-9, "every output is 1")
    }
}

/// A structured output: each task names itself and lists its first squares.
struct Labelled {
    tasks: usize,
}

impl TypedWorkload for Labelled {
    type Input = ();
    type Worker = ();
    type Output = (String, Vec<u32>);
    fn task_count(&self) -> usize {
        self.tasks
    }
    fn input(&self, _: usize) {}
    fn worker(&self, _: usize) {}
    fn run(&self, task: usize, _: &mut (), _: &mut (), _: &TaskContext<'_>) -> (String, Vec<u32>) {
        (format!("task {task}"), (0..task as u32).map(|i| i * i).collect())
    }
    fn verify(&self, outputs: &[(String, Vec<u32>)], _: &SharedState) -> Verification {
        let expected = |t: usize| (format!("task {t}"), (0..t as u32).map(|i| i.pow(2)).collect());
        Verification::each(outputs, self.tasks, expected, "labels and squares match")
    }
}

/// A workload chosen at run time, boxed: minimal (`Box<dyn Workload>`) or typed
/// (`Box<dyn TypedWorkload<...>>`).
fn boxed_specs() -> [WorkloadSpec; 2] {
    let minimal = WorkloadSpec::new("boxed", "a workload chosen by a parameter", |p: &Params| {
        Ok(match p.text("kind") {
            "wrong" => Box::new(Wrong) as Box<dyn Workload>,
            _ => Box::new(Chatty),
        })
    })
    .param(Param::choice("kind", &["chatty", "wrong"], "chatty"));
    type Typed = Box<dyn TypedWorkload<Input = (), Worker = (), Output = f64>>;
    let typed = WorkloadSpec::new("boxed-typed", "a typed workload chosen by a parameter", |p: &Params| {
        Ok(match p.text("kind") {
            "harmonic" => Box::new(Harmonic { per_task: 1000, tasks: 3 }) as Typed,
            _ => Box::new(Harmonic { per_task: 10, tasks: 2 }),
        })
    })
    .param(Param::choice("kind", &["harmonic", "small"], "harmonic"));
    [minimal, typed]
}

/// Each task makes exactly three allocations of 1000 bytes.
struct Allocating;

impl Workload for Allocating {
    fn task_count(&self) -> usize {
        4
    }
    fn run_task(&self, task: usize, _: &TaskContext<'_>) -> u64 {
        let buffers: Vec<Vec<u8>> = Vec::new();
        let mut buffers = std::hint::black_box(buffers);
        buffers.reserve_exact(2);
        buffers.push(vec![1u8; 1000 - 2 * std::mem::size_of::<Vec<u8>>()]);
        buffers.push(vec![2u8; 1000]);
        std::hint::black_box(&buffers);
        task as u64
    }
    fn verify(&self, checksums: &[u64], _: &SharedState) -> Verification {
        Verification::each(checksums, 4, |t| t as u64, "each task returned its index")
    }
}

/// Making each task's input takes `ms` milliseconds; the tasks are empty.
struct SlowInput {
    ms: u64,
}

impl TypedWorkload for SlowInput {
    type Input = ();
    type Worker = ();
    type Output = u64;
    fn task_count(&self) -> usize {
        20
    }
    fn input(&self, _: usize) {
        std::thread::sleep(std::time::Duration::from_millis(self.ms));
    }
    fn worker(&self, _: usize) {}
    fn run(&self, task: usize, _: &mut (), _: &mut (), _: &TaskContext<'_>) -> u64 {
        task as u64
    }
    fn verify(&self, outputs: &[u64], _: &SharedState) -> Verification {
        Verification::each(outputs, 20, |t| t as u64, "each task returned its index")
    }
}

/// Its set-up (the constructor, in parbench and in every worker process) sleeps.
struct SlowSetUp;

impl Workload for SlowSetUp {
    fn task_count(&self) -> usize {
        2
    }
    fn run_task(&self, task: usize, _: &TaskContext<'_>) -> u64 {
        task as u64
    }
    fn verify(&self, checksums: &[u64], _: &SharedState) -> Verification {
        Verification::each(checksums, 2, |t| t as u64, "each task returned its index")
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
        .register(
            WorkloadSpec::new("in-place-sort", "sorts its input in place", |p: &Params| {
                Ok(InPlaceSort { len: p.uint("len") as usize, tasks: p.uint("tasks") as usize })
            })
            .param(Param::uint("len", 1000).range(2, 1 << 20))
            .param(Param::uint("tasks", 6).range(1, 64)),
        )
        .register(
            WorkloadSpec::new("per-worker", "counts tasks per worker state", |p: &Params| {
                Ok(PerWorker { tasks: p.uint("tasks") as usize })
            })
            .param(Param::uint("tasks", 9).range(1, 64)),
        )
        .register(
            WorkloadSpec::new("slow-set-up", "sleeps in its constructor", |p: &Params| {
                std::thread::sleep(std::time::Duration::from_millis(p.uint("setup-ms")));
                Ok(SlowSetUp)
            })
            .param(Param::uint("setup-ms", 40).range(0, 10_000)),
        )
        .register(WorkloadSpec::new("allocating", "three allocations per task", |_: &Params| Ok(Allocating)))
        .register(
            WorkloadSpec::new("slow-input", "inputs that take a while to make", |p: &Params| {
                Ok(SlowInput { ms: p.uint("ms") })
            })
            .param(Param::uint("ms", 50).range(0, 10_000)),
        )
        .register(
            WorkloadSpec::new("harmonic", "float outputs", |p: &Params| {
                Ok(Harmonic { per_task: p.uint("per-task"), tasks: p.uint("tasks") as usize })
            })
            .param(Param::uint("per-task", 100_000).range(1, 1 << 30))
            .param(Param::uint("tasks", 5).range(1, 64)),
        )
        .register(WorkloadSpec::new("nan", "returns NaN", |_: &Params| Ok(NotANumber)))
        .register(WorkloadSpec::new("labelled", "structured outputs", |_: &Params| Ok(Labelled { tasks: 5 })))
        .register(boxed_specs()[0].clone())
        .register(boxed_specs()[1].clone())
        .register(
            WorkloadSpec::new("teardown", "logs when its set-up is freed", |p: &Params| {
                let mut setup = vec![0u8; (p.uint("setup-mib") as usize) << 20];
                setup.iter_mut().step_by(4096).for_each(|b| *b = 1);
                Ok(Teardown { log: p.text("log").to_string(), tasks: p.uint("tasks") as usize, _setup: setup })
            })
            .param(Param::text("log", "").required())
            .param(Param::uint("tasks", 4).range(1, 64))
            .param(Param::uint("setup-mib", 0).range(0, 1024)),
        )
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
        let runners: Vec<RunnerId> = case.rows.iter().map(|r| r.runner).collect();
        assert_eq!(runners, RunnerId::runnable(), "every runner measured");
        assert_eq!(case.samples.len(), 2 * RunnerId::runnable().len());
        for s in &case.samples {
            assert!(matches!(s.sample.verification, Verification::Verified { .. }), "{:?}", s.sample.verification);
        }
        // The process runner's children built their own buffer, with the clock stopped.
        let process = case.samples.iter().find(|s| s.sample.runner == RunnerId::new("process")).unwrap();
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

fn every_runner_hands_every_task_a_fresh_input_every_sample() {
    for schedule in ["dynamic", "static"] {
        // Two samples per runner: in the second, reused inputs would be sorted.
        let args = ["in-place-sort", "--schedule", schedule];
        let report = run(&args).unwrap_or_else(|e| panic!("{schedule}: {e:#}"));
        let case = &report.cases[0];
        assert_eq!(case.rows.iter().map(|r| r.runner).collect::<Vec<_>>(), RunnerId::runnable());
        assert!(case.samples.iter().all(|s| s.sample.verification.is_ok()));
    }
}

fn a_declared_throughput_is_in_the_table_and_the_json() {
    let report = run(&["in-place-sort", "--runner", "threads"]).unwrap();
    let case = &report.cases[0];
    assert_eq!(case.throughput, Some(parbench::Throughput::Elements(6 * 1000)));
    assert!(case.rows.iter().all(|r| r.throughput_per_s.is_some_and(|t| t > 0.0)), "{:?}", case.rows);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["cases"][0]["throughput"], serde_json::json!({"unit": "elements", "amount": 6000}));
    let out = as_program(&["run", "in-place-sort", "--runner", "threads", "--rounds", "1", "--warmup", "0"]);
    let table = String::from_utf8_lossy(&out.stdout);
    let header = table.lines().find(|l| l.contains("wall (median")).unwrap();
    assert!(header.contains("throughput"), "{table}");
    assert!(table.lines().any(|l| l.trim_start().starts_with("threads") && l.contains("elem/s")), "{table}");
}

fn every_runner_gives_each_worker_one_state_for_all_its_tasks() {
    for schedule in ["dynamic", "static"] {
        let report = run(&["per-worker", "--schedule", schedule]).unwrap_or_else(|e| panic!("{schedule}: {e:#}"));
        let case = &report.cases[0];
        assert_eq!(case.rows.len(), RunnerId::runnable().len());
        assert!(case.samples.iter().all(|s| s.sample.verification.is_ok()));
    }
}

/// Under every runner, one sample of `teardown`: every worker state and workload copy
/// is freed after the timed region has ended (the region's end is bounded from above
/// by each task's logged start minus its recorded start, plus the wall time).
fn no_runner_times_the_freeing_of_its_set_up() {
    use parbench::runner::{Job, RunnerOptions};
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let log = log.to_str().unwrap();
    let registry = registry();
    let options = RunnerOptions { worker_program: Some(std::env::current_exe().unwrap()), ..RunnerOptions::default() };
    for kind in RunnerId::runnable() {
        let values = [("log", log), ("tasks", "4"), ("setup-mib", "64")];
        let job = Job::build(&registry, "teardown", &values, 2).unwrap();
        let mut runner = kind.build(kind.workers(2), &options).unwrap();
        let _ = std::fs::remove_file(log);
        runner.prepare(&job).unwrap();
        let sample = runner.sample(&job).unwrap();
        // A process pool keeps its children (and their worker states) until released.
        runner.release();
        let text = std::fs::read_to_string(log).unwrap();
        let mut origin = u64::MAX;
        let mut drops = Vec::new();
        for line in text.lines() {
            let f: Vec<u64> = line.split(' ').skip(1).map(|n| n.parse().unwrap()).collect();
            match line.split(' ').next() {
                Some("task") => origin = origin.min(f[1] - sample.tasks[f[0] as usize].start_ns),
                _ => drops.push(f[0]),
            }
        }
        let end = origin + sample.wall_ns;
        // Each worker's state; under processes also each child's copy of the workload.
        let copies = if kind.processes() { 4 } else { sample.workers };
        assert_eq!(drops.len(), copies, "{kind}: {text}");
        for drop in drops {
            assert!(drop > end, "{kind}: freed {} ns before the timed region ended", end - drop);
        }
        if kind == RunnerId::new("process") {
            assert!(sample.teardown_ns.is_some(), "the process runner reports its teardown");
        }
    }
    let report = run(&["teardown", "--log", log, "--runner", "process", "--setup-mib", "256"]).unwrap();
    let case = &report.cases[0];
    assert!(case.notes.iter().any(|n| n.text.contains("freed their set-up and exited in")), "{:?}", case.notes);
    for row in &case.rows {
        assert_eq!(row.teardown_ms.is_some(), row.runner == RunnerId::new("process"), "{}", row.runner);
    }
}

fn outputs_of_any_type_are_verified_under_every_runner() {
    for workload in ["harmonic", "labelled", "boxed-typed"] {
        let report = run(&[workload]).unwrap_or_else(|e| panic!("{workload}: {e:#}"));
        let case = &report.cases[0];
        assert_eq!(case.rows.len(), RunnerId::runnable().len(), "{workload}");
        for s in &case.samples {
            assert!(matches!(s.sample.verification, Verification::Verified { .. }), "{workload}: {s:?}");
        }
    }
}

fn an_output_json_cannot_carry_is_a_wrong_answer_that_says_why() {
    let err = run(&["nan", "--runner", "threads"]).expect_err("NaN is not 1");
    assert!(err.to_string().contains("returned NaN, expected 1.0"), "{err}");
    use parbench::runner::{Job, RunnerOptions};
    let options = RunnerOptions { worker_program: Some(std::env::current_exe().unwrap()), ..RunnerOptions::default() };
    let job = Job::build(&registry(), "nan", &[], 2).unwrap();
    let sample = RunnerId::new("process").build(2, &options).unwrap().sample(&job).unwrap();
    match sample.verification {
        Verification::Failed { reason } => assert!(reason.contains("travel as null"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(children(), Vec::<u32>::new());
}

fn a_boxed_workload_chosen_at_run_time_is_measured() {
    let report = run(&["boxed", "--kind", "chatty", "--runner", "threads,process"]).unwrap();
    assert_eq!(report.cases[0].rows.len(), 3);
    let err = run(&["boxed", "--kind", "wrong", "--runner", "threads"]).expect_err("the wrong one was chosen");
    assert!(err.to_string().contains("wrong answer for boxed"), "{err}");
    let report = run(&["boxed-typed", "--kind", "small", "--runner", "process"]).unwrap();
    assert_eq!(report.cases[0].tasks, 2);
}

fn max_time_counts_the_untimed_set_up_of_worker_processes() {
    // Each process sample sets up for 40 ms with the clock stopped: the minimum of
    // rounds takes over 200 ms, past --max-time 0.1, so no further round starts.
    // Counting only the timed regions (a few ms a round), it ran about 25.
    let args = ["run", "slow-set-up", "--runner", "process", "--threads", "2", "--warmup", "0", "--rounds", "auto"];
    let mut args = args.to_vec();
    args.extend(["--precision", "0.001", "--max-time", "0.1"]);
    let report = parbench::measure(&registry(), args).unwrap();
    let minimum = report.settings.rounds as usize;
    assert_eq!(report.cases[0].samples.len(), 2 * minimum, "the minimum of {minimum} rounds, no more");
}

fn allocations_per_task_are_counted_under_every_runner() {
    let report = run(&["allocating"]).unwrap();
    let case = &report.cases[0];
    assert_eq!(case.rows.len(), RunnerId::runnable().len());
    for row in &case.rows {
        assert_eq!(row.allocations_per_task, Some(3.0), "{}", row.runner);
        // Two Vec headers, 1000 bytes less them, and 1000 bytes.
        assert_eq!(row.allocated_bytes_per_task, Some(2000.0), "{}", row.runner);
    }
    let out = as_program(&["run", "allocating", "--runner", "threads", "--rounds", "1", "--warmup", "0"]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("allocs/task") && table.contains("3 (2.0 KiB)"), "{table}");
}

fn the_limit_estimate_prices_the_untimed_inputs() {
    // 20 inputs of 5 ms: 100 ms a sample, untimed; 2 runners x (10 rounds + warm-up)
    // is over 2 s, past --limit 1s. Pricing only the empty tasks, it was accepted.
    let args = ["run", "slow-input", "--ms", "5", "--runner", "threads", "--threads", "2", "--rounds", "10"];
    let mut args = args.to_vec();
    args.extend(["--limit", "1s"]);
    let out = as_program(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("would take") && stderr.contains("--limit"), "{stderr}");
}

fn a_task_that_prints_does_not_break_the_process_runner() {
    let report = run(&["chatty", "--runner", "process"]).unwrap();
    assert!(report.cases[0].rows.iter().any(|r| r.runner == RunnerId::new("process")));
}

fn main() -> ExitCode {
    // The process runner starts this binary as `<it> worker`; the tests above start it
    // as a user's program would be started.
    if std::env::args().nth(1).is_some_and(|a| a == "worker" || a == "run") {
        return parbench::main(registry());
    }
    let tests: [(&str, fn()); 16] = [
        ("the_limit_estimate_prices_the_untimed_inputs", the_limit_estimate_prices_the_untimed_inputs),
        (
            "an_output_json_cannot_carry_is_a_wrong_answer_that_says_why",
            an_output_json_cannot_carry_is_a_wrong_answer_that_says_why,
        ),
        ("allocations_per_task_are_counted_under_every_runner", allocations_per_task_are_counted_under_every_runner),
        ("a_declared_throughput_is_in_the_table_and_the_json", a_declared_throughput_is_in_the_table_and_the_json),
        (
            "max_time_counts_the_untimed_set_up_of_worker_processes",
            max_time_counts_the_untimed_set_up_of_worker_processes,
        ),
        ("outputs_of_any_type_are_verified_under_every_runner", outputs_of_any_type_are_verified_under_every_runner),
        ("a_boxed_workload_chosen_at_run_time_is_measured", a_boxed_workload_chosen_at_run_time_is_measured),
        (
            "every_runner_hands_every_task_a_fresh_input_every_sample",
            every_runner_hands_every_task_a_fresh_input_every_sample,
        ),
        (
            "every_runner_gives_each_worker_one_state_for_all_its_tasks",
            every_runner_gives_each_worker_one_state_for_all_its_tasks,
        ),
        ("no_runner_times_the_freeing_of_its_set_up", no_runner_times_the_freeing_of_its_set_up),
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
