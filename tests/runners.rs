//! Every runner x every workload, with tiny parameters, through the same library code
//! the CLI uses: each must produce a verified result.

use std::time::Duration;

use parbench::measure::{Settings, measure};
use parbench::runner::{RunnerKind, RunnerOptions, Schedule};
use parbench::workload::{
    CounterParams, FactorizeParams, FibParams, SleepParams, SyncMode, Verification, WorkloadParams,
};

fn options(schedule: Schedule) -> RunnerOptions {
    RunnerOptions {
        schedule,
        timeout: Duration::from_secs(30),
        worker_program: Some(env!("CARGO_BIN_EXE_parbench").into()),
    }
}

fn tiny_workloads(workers: u32) -> Vec<WorkloadParams> {
    let mut v = vec![
        WorkloadParams::Sleep(SleepParams { tasks: 3, ms: 2 }),
        WorkloadParams::Fib(FibParams { n: 15, tasks: 5 }),
        WorkloadParams::Factorize(FactorizeParams { numbers: vec![1, 2, 12, 97, 2_139_079], generated: None }),
        WorkloadParams::Factorize(FactorizeParams::generate(3, 5000, 11)),
    ];
    for sync in SyncMode::ALL {
        v.push(WorkloadParams::Counter(CounterParams { tasks: workers, increments: 2000, sync }));
    }
    v
}

fn check_all(workers: usize, schedule: Schedule) {
    for params in tiny_workloads(workers as u32) {
        let workload = params.build();
        let runners: Vec<RunnerKind> = RunnerKind::ALL.into_iter().filter(|&k| workload.supports(k).is_ok()).collect();
        let settings =
            Settings { runners: runners.clone(), workers, options: options(schedule), warmup: 0, rounds: 2, seed: 3 };
        let m = measure(&params, &settings, &mut |_, _| {}).unwrap_or_else(|e| panic!("{}: {e}", params.label()));
        assert_eq!(m.samples.len(), 2 * runners.len(), "{}", params.label());
        for s in &m.samples {
            let sample = &s.sample;
            let what = format!("{} under {} ({workers} workers, {schedule:?})", params.label(), sample.runner);
            match &sample.verification {
                Verification::Verified { .. } => {}
                Verification::LostUpdates { .. } => {
                    assert!(matches!(params, WorkloadParams::Counter(CounterParams { sync: SyncMode::None, .. })))
                }
                Verification::Failed { reason } => panic!("{what}: {reason}"),
            }
            // Every task ran exactly once, on a worker that exists.
            let ran: u64 = sample.per_worker.iter().map(|w| w.tasks).sum();
            assert_eq!(ran as usize, workload.task_count(), "{what}");
            assert_eq!(sample.per_worker.len(), sample.runner.workers(workers), "{what}");
            assert!(sample.wall_ns > 0, "{what}");
            for t in &sample.tasks {
                assert!(t.start_ns <= t.end_ns && t.end_ns <= sample.wall_ns, "{what}: task {t:?} outside the region");
            }
        }
    }
}

#[test]
fn every_runner_verifies_every_workload_with_dynamic_scheduling() {
    check_all(2, Schedule::Dynamic);
}

#[test]
fn every_runner_verifies_every_workload_with_static_scheduling() {
    check_all(3, Schedule::Static);
}

#[test]
fn one_worker_and_more_workers_than_tasks_both_verify() {
    check_all(1, Schedule::Dynamic);
    check_all(7, Schedule::Dynamic);
}

#[test]
fn the_process_runner_counts_its_childrens_cpu_time() {
    // The same work costs roughly the same CPU time wherever it runs. Without
    // RUSAGE_CHILDREN the process runner would show only the parent's share, a few
    // percent of it. CPU time per unit of work still inflates on a busy machine
    // (shared caches, SMT siblings), and the two runners' samples are taken at
    // different moments, so the bound leaves room for a 3x difference.
    let params = WorkloadParams::Fib(FibParams { n: 34, tasks: 4 });
    let settings = Settings {
        runners: vec![RunnerKind::Serial, RunnerKind::Process],
        workers: 2,
        options: options(Schedule::Dynamic),
        warmup: 0,
        rounds: 3,
        seed: 1,
    };
    let m = measure(&params, &settings, &mut |_, _| {}).unwrap();
    let cpu = |kind: RunnerKind| -> u64 {
        let mut v: Vec<u64> = m.samples.iter().filter(|s| s.sample.runner == kind).map(|s| s.sample.cpu_ns).collect();
        v.sort();
        v[v.len() / 2]
    };
    let (serial, process) = (cpu(RunnerKind::Serial), cpu(RunnerKind::Process));
    assert!(process as f64 >= 0.3 * serial as f64, "process cpu {process} ns vs serial cpu {serial} ns");
    assert!(m.samples.iter().filter(|s| s.sample.runner == RunnerKind::Process).all(|s| s.sample.startup_ns.is_some()));
}
