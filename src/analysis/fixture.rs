//! A fixed, fake report built by the analysis from exact samples (no live timings), for
//! the analysis, result, compare and plot tests; the reporters read it as `report/fixture.json`.

use super::build;
use crate::fingerprint::Fingerprint;
use crate::measure::{Measurement, RecordedSample};
use crate::result::{Report, SettingsRecord, Skipped};
use crate::runner::{RunnerId, Sample, Schedule, WorkerStats};
use crate::workload::{Params, Properties, Value, Verification};

fn sample(runner: RunnerId, workers: usize, wall_ms: f64, cpu_ms: f64, verification: Verification) -> Sample {
    let wall_ns = (wall_ms * 1e6) as u64;
    let per_worker = vec![WorkerStats { busy_ns: wall_ns * 9 / 10, tasks: 4 }; workers];
    Sample {
        startup_ns: (runner == RunnerId::new("process")).then_some(1_500_000),
        setup_ns: (runner == RunnerId::new("process")).then_some(10_000),
        waited_ns: Some(0),
        ..Sample::simulated(runner, workers, wall_ns, (cpu_ms * 1e6) as u64, per_worker, verification)
    }
}

fn ok(detail: &str) -> Verification {
    Verification::Verified { detail: detail.into() }
}

fn rounds(rows: &[(RunnerId, [f64; 3], Verification)], workers: usize) -> Vec<RecordedSample> {
    let mut out = Vec::new();
    for round in 0..3 {
        for (position, (kind, walls, v)) in rows.iter().enumerate() {
            let w = kind.workers(workers);
            out.push(RecordedSample {
                round,
                position: position as u32,
                sample: sample(*kind, w, walls[round as usize], walls[round as usize] * w as f64, v.clone()),
            });
        }
    }
    out
}

/// The fixed environment of the fixture.
pub fn environment() -> Fingerprint {
    Fingerprint {
        cpu_model: "Test CPU 9000".into(),
        logical_cores: 4,
        physical_cores: 2,
        available_parallelism: 2,
        os: "linux".into(),
        os_release: Some("Test Linux".into()),
        kernel: Some("6.1.0-test".into()),
        arch: "x86_64".into(),
        hostname: "testhost".into(),
        rustc: "rustc 1.95.0".into(),
        parbench_version: "0.1.0".into(),
        git_commit: Some("abcdef123456".into()),
        rayon_num_threads: None,
        optimised: true,
        mpi: None,
    }
}

/// Recorded settings with these runners, rounds and seed (2 workers, 1 warm-up).
pub fn settings(runners: Vec<RunnerId>, rounds: u32, seed: u64) -> SettingsRecord {
    SettingsRecord {
        workers: 2,
        runners,
        schedule: Schedule::Dynamic,
        warmup: 1,
        rounds,
        precision_target: None,
        max_time_s: None,
        seed,
        timeout_s: 60.0,
        pin: false,
    }
}

/// A measurement of fib(34) x 8 tasks with 2 workers, from these samples.
pub fn fib_measurement(runners: Vec<RunnerId>, samples: Vec<RecordedSample>) -> Measurement {
    let params = Params::new(vec![("n".into(), Value::UInt(34)), ("tasks".into(), Value::UInt(8))], 2, 1);
    Measurement {
        workload: "fib".into(),
        label: format!("fib ({})", params.describe()),
        params,
        properties: Properties::default(),
        tasks: 8,
        workers: 2,
        runners,
        samples,
        setup_ns: Vec::new(),
        workload_setup_ns: 0,
        warmup: Vec::new(),
        rounds: 3,
        precision: None,
    }
}

/// A report with a fib case under all runners and three counter cases.
pub fn report() -> Report {
    use crate::runner::kind::test_ids::*;
    let settings = self::settings(vec![Serial, Threads, Rayon, Process], 3, 42);
    let fib_ok = || ok("fib(34) = 5702887 in all 8 tasks");
    let params =
        |values: Vec<(&str, Value)>| Params::new(values.into_iter().map(|(n, v)| (n.to_string(), v)).collect(), 2, 42);
    let fib_params = params(vec![("n", Value::UInt(34)), ("tasks", Value::UInt(8))]);
    let fib = Measurement {
        workload: "fib".into(),
        label: format!("fib ({})", fib_params.describe()),
        params: fib_params,
        properties: Properties::default(),
        tasks: 8,
        workers: 2,
        runners: vec![Serial, Threads, Rayon, Process],
        samples: rounds(
            &[
                (Serial, [200.0, 210.0, 190.0], fib_ok()),
                (Threads, [100.0, 105.0, 100.0], fib_ok()),
                (Rayon, [101.0, 104.0, 99.0], fib_ok()),
                (Process, [110.0, 112.0, 108.0], fib_ok()),
            ],
            2,
        ),
        setup_ns: vec![(Rayon, 120_000)],
        workload_setup_ns: 2_000,
        warmup: Vec::new(),
        rounds: 3,
        precision: None,
    };
    let counter = |sync: &str, threads: [f64; 3], v: Verification| {
        let p = params(vec![("increments", Value::UInt(1000)), ("sync", Value::Text(sync.into()))]);
        Measurement {
            workload: "counter".into(),
            label: format!("counter ({})", p.describe()),
            params: p,
            properties: Properties {
                race: sync == "none",
                work: Some(crate::workload::Work { amount: 2000.0, unit: "increment".into() }),
                ..Properties::default()
            },
            tasks: 2,
            workers: 2,
            runners: vec![Serial, Threads],
            samples: rounds(
                &[(Serial, [10.0, 10.0, 10.0], ok("counter = 2000 = 2 tasks x 1000")), (Threads, threads, v)],
                2,
            ),
            setup_ns: Vec::new(),
            workload_setup_ns: 1_000,
            warmup: Vec::new(),
            rounds: 3,
            precision: None,
        }
    };
    let lost = Verification::LostUpdates { expected: 2000, observed: 1500 };
    let measurements = vec![
        (fib, Vec::new()),
        (counter("none", [6.0, 6.0, 6.0], lost), vec![Skipped { runner: Process, reason: "not selected".into() }]),
        (counter("atomic", [30.0, 31.0, 29.0], ok("counter = 2000 = 2 tasks x 1000")), Vec::new()),
        (counter("sharded", [5.0, 5.5, 5.0], ok("counter = 2000 = 2 tasks x 1000")), Vec::new()),
    ];
    let mut report = build(measurements, settings, environment(), vec!["parbench".into(), "run".into(), "fib".into()]);
    report.created_unix_s = 1_700_000_000;
    report
}
