//! Every runner x every built-in workload, with tiny parameters, through the whole
//! pipeline a user's command line takes (`parbench::measure`): each must produce a
//! verified result, and every task must run exactly once, or the runner must be
//! refused with a reason. The matrix follows the runner list and the registry: a new
//! runner is in it at once, and a new workload fails
//! `every_built_in_workload_is_in_the_matrix` until it has a line here.

use parbench::{Registry, RunnerId, Verification};

const WORKER: &str = env!("CARGO_BIN_EXE_parbench");

/// Tiny command lines, at least one per workload.
const TINY: &[&str] = &[
    "sleep --tasks 3 --ms 2",
    "mixed --tasks 3 --cpu-us 100 --io-ms 1 --steps 2",
    "fib --n 15 --tasks 5",
    "factorize --numbers 1,2,12,97,2139079",
    "factorize --count 3 --max 5000",
    "counter --increments 2000",
    "command --cmd true --tasks 3",
    "pipeline --items 6 --stages cpu:20us,sleep:1ms,cpu:20us --queue 2",
];

#[test]
fn every_built_in_workload_is_in_the_matrix() {
    let registry = Registry::with_builtins();
    for spec in registry.visible() {
        let covered = TINY.iter().any(|t| t.split_whitespace().next() == Some(spec.name()));
        assert!(covered, "workload {} has no line in TINY", spec.name());
    }
}

fn check_all(workers: usize, schedule: &str) {
    let registry = Registry::with_builtins();
    // A runner this process cannot run at all (the mpi runner outside mpirun) is not
    // asked for; it says why in one line.
    let every: Vec<RunnerId> = RunnerId::all()
        .into_iter()
        .filter(|r| match r.refusal(workers) {
            Some(why) => {
                assert!(!why.is_empty() && !why.contains('\n'), "{r}: {why:?}");
                false
            }
            None => true,
        })
        .collect();
    let names: Vec<&str> = every.iter().map(|r| r.as_str()).collect();
    for tiny in TINY {
        let mut args: Vec<String> = format!("run {tiny}").split_whitespace().map(String::from).collect();
        let threads = workers.to_string();
        args.extend(
            ["--threads", &threads, "--schedule", schedule, "--rounds", "2", "--warmup", "0"].map(String::from),
        );
        args.extend(["--runner".to_string(), names.join(",")]);
        args.extend(["--worker-program".to_string(), WORKER.to_string(), "--seed".into(), "3".into()]);
        let report = parbench::measure(&registry, &args).unwrap_or_else(|e| panic!("{tiny}: {e:#}"));
        for case in &report.cases {
            let runners: Vec<RunnerId> = case.rows.iter().map(|r| r.runner).collect();
            // Every runner of this build either measured the case or was left out
            // with a reason.
            for runner in &every {
                let measured = runners.contains(runner);
                let skipped = case.skipped.iter().find(|s| s.runner == *runner);
                assert!(measured != skipped.is_some(), "{}: {runner} measured and skipped, or neither", case.label);
                if let Some(s) = skipped {
                    assert!(
                        !s.reason.is_empty() && !s.reason.contains('\n'),
                        "{}: {runner}: {:?}",
                        case.label,
                        s.reason
                    );
                }
            }
            // Only the counter's mutex, which needs one address space, and a pipeline
            // under a runner with no pipeline model leave runners out.
            let expected: Vec<RunnerId> = every
                .iter()
                .copied()
                .filter(|r| !case.label.contains("sync=mutex") || r.info().is_some_and(|i| i.one_address_space))
                .filter(|r| !case.label.starts_with("pipeline") || r.info().is_some_and(|i| i.pipeline.is_some()))
                .collect();
            assert_eq!(runners, expected, "{}: {:?}", case.label, case.skipped);
            assert_eq!(case.samples.len(), 2 * runners.len(), "{}", case.label);
            for s in &case.samples {
                let sample = &s.sample;
                let what = format!("{} under {} ({workers} workers, {schedule})", case.label, sample.runner);
                match &sample.verification {
                    Verification::Verified { .. } => {}
                    Verification::LostUpdates { .. } => assert!(case.race, "{what}: lost updates outside a race"),
                    Verification::Failed { reason } => panic!("{what}: {reason}"),
                }
                if let Some(stats) = &sample.pipeline {
                    // A pipeline's workers are its stages' (or, item by item, all of
                    // them); every item passed every stage exactly once.
                    assert!(stats.stages.iter().all(|st| st.items as usize == case.tasks), "{what}: {stats:?}");
                    let calls: u64 = sample.per_worker.iter().map(|w| w.tasks).sum();
                    assert_eq!(calls as usize, case.tasks * stats.stages.len(), "{what}");
                    assert_eq!(sample.per_worker.len(), sample.workers, "{what}");
                    assert_eq!(sample.children_peak_kib.is_some_and(|k| k > 0), sample.runner.processes(), "{what}");
                    // Its workers' wait for a CPU, as for tasks.
                    assert!(sample.waited_ns.is_some() && sample.preemptions.is_some(), "{what}");
                    continue;
                }
                // Every task ran exactly once, on a worker that exists.
                let ran: u64 = sample.per_worker.iter().map(|w| w.tasks).sum();
                assert_eq!(ran as usize, case.tasks, "{what}");
                assert_eq!(sample.per_worker.len(), sample.runner.workers(workers), "{what}");
                assert!(sample.wall_ns > 0, "{what}");
                // Linux says how long the workers waited for a CPU, and how often the
                // kernel took one away.
                assert!(sample.waited_ns.is_some() && sample.preemptions.is_some(), "{what}");
                // Its worker processes' resident peak when it has any (parbench's own
                // is checked by the CLI tests: these tests measure in parallel in one
                // process, and each resets the process's mark).
                assert_eq!(sample.children_peak_kib.is_some_and(|k| k > 0), sample.runner.processes(), "{what}");
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
