//! Every runner x every built-in workload, with tiny parameters, through the whole
//! pipeline a user's command line takes (`parbench::measure`): each must produce a
//! verified result, and every task must run exactly once.

use parbench::{Registry, RunnerId, Verification};

const WORKER: &str = env!("CARGO_BIN_EXE_parbench");

/// Tiny command lines, one per workload configuration.
const TINY: &[&str] = &[
    "sleep --tasks 3 --ms 2",
    "mixed --tasks 3 --cpu-us 100 --io-ms 1 --steps 2",
    "fib --n 15 --tasks 5",
    "factorize --numbers 1,2,12,97,2139079",
    "factorize --count 3 --max 5000",
    "counter --increments 2000",
    "command --cmd true --tasks 3",
];

fn check_all(workers: usize, schedule: &str) {
    let registry = Registry::with_builtins();
    for tiny in TINY {
        let mut args: Vec<String> = format!("run {tiny}").split_whitespace().map(String::from).collect();
        let threads = workers.to_string();
        args.extend(
            ["--threads", &threads, "--schedule", schedule, "--rounds", "2", "--warmup", "0"].map(String::from),
        );
        args.extend(["--worker-program".to_string(), WORKER.to_string(), "--seed".into(), "3".into()]);
        let report = parbench::measure(&registry, &args).unwrap_or_else(|e| panic!("{tiny}: {e:#}"));
        for case in &report.cases {
            let runners: Vec<RunnerId> = case.rows.iter().map(|r| r.runner).collect();
            let expected = if case.label.contains("sync=mutex") { 3 } else { 4 };
            assert_eq!(runners.len(), expected, "{}: {runners:?}", case.label);
            assert_eq!(case.samples.len(), 2 * runners.len(), "{}", case.label);
            for s in &case.samples {
                let sample = &s.sample;
                let what = format!("{} under {} ({workers} workers, {schedule})", case.label, sample.runner);
                match &sample.verification {
                    Verification::Verified { .. } => {}
                    Verification::LostUpdates { .. } => assert!(case.race, "{what}: lost updates outside a race"),
                    Verification::Failed { reason } => panic!("{what}: {reason}"),
                }
                // Every task ran exactly once, on a worker that exists.
                let ran: u64 = sample.per_worker.iter().map(|w| w.tasks).sum();
                assert_eq!(ran as usize, case.tasks, "{what}");
                assert_eq!(sample.per_worker.len(), sample.runner.workers(workers), "{what}");
                assert!(sample.wall_ns > 0, "{what}");
                // Linux says how long the workers waited for a CPU, and how often the
                // kernel took one away.
                assert!(sample.waited_ns.is_some() && sample.preemptions.is_some(), "{what}");
                for t in &sample.tasks {
                    assert!(
                        t.start_ns <= t.end_ns && t.end_ns <= sample.wall_ns,
                        "{what}: task {t:?} outside the region"
                    );
                }
            }
        }
    }
}

#[test]
fn every_runner_verifies_every_workload_with_dynamic_scheduling() {
    check_all(2, "dynamic");
}

#[test]
fn every_runner_verifies_every_workload_with_static_scheduling() {
    check_all(3, "static");
}

#[test]
fn one_worker_and_more_workers_than_tasks_both_verify() {
    check_all(1, "dynamic");
    check_all(7, "dynamic");
}

#[test]
fn the_process_runner_counts_its_childrens_cpu_time() {
    // The same work costs roughly the same CPU time wherever it runs. Without
    // RUSAGE_CHILDREN the process runner would show only the parent's share, a few
    // percent of it. CPU time per unit of work still inflates on a busy machine
    // (shared caches, SMT siblings), and the two runners' samples are taken at
    // different moments, so the bound leaves room for a 3x difference.
    let args = ["run", "fib", "--n", "34", "--tasks", "4", "--threads", "2", "--runner", "process", "--rounds", "3"];
    let mut args: Vec<&str> = args.to_vec();
    args.extend(["--warmup", "0", "--worker-program", WORKER]);
    let report = parbench::measure(&Registry::with_builtins(), args).unwrap();
    let rows = &report.cases[0].rows;
    let cpu = |kind: RunnerId| rows.iter().find(|r| r.runner == kind).unwrap().cpu_ms;
    let (serial, process) = (cpu(RunnerId::new("serial")), cpu(RunnerId::new("process")));
    assert!(process >= 0.3 * serial, "process cpu {process} ms vs serial cpu {serial} ms");
    let samples = &report.cases[0].samples;
    assert!(
        samples.iter().filter(|s| s.sample.runner == RunnerId::new("process")).all(|s| s.sample.startup_ns.is_some())
    );
}
