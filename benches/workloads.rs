//! Criterion benches over parbench's own workload and runner registry, so they can
//! never drift from the CLI: one group per workload, one `BenchmarkId` per runner and
//! worker count, small parameters.
//!
//! Each iteration is one parbench sample. `iter_custom` reports the sample's own wall
//! time (the runner's timed region), so the result check, which runs after the
//! region, is outside the measured time, and every iteration's result is verified.
//!
//! `cargo bench` runs them; `cargo bench -- --quick` and `cargo bench -- --test` work too.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use parbench::runner::{RunnerKind, RunnerOptions};
use parbench::workload::{
    CounterParams, FactorizeParams, FibParams, SleepParams, SyncMode, Verification, WorkloadParams,
};

const WORKERS: [usize; 3] = [1, 2, 4];

fn options() -> RunnerOptions {
    // Benches are their own executables: the process runner must start parbench.
    RunnerOptions { worker_program: Some(env!("CARGO_BIN_EXE_parbench").into()), ..RunnerOptions::default() }
}

/// The benches of one workload: (function name, workload for W workers).
type Variant = (String, Box<dyn Fn(usize) -> WorkloadParams>);

fn variants(workload: &str) -> Vec<Variant> {
    let one = |f: Box<dyn Fn(usize) -> WorkloadParams>| vec![(String::new(), f)];
    match workload {
        "sleep" => one(Box::new(|_| WorkloadParams::Sleep(SleepParams { tasks: 4, ms: 2 }))),
        "fib" => one(Box::new(|_| WorkloadParams::Fib(FibParams { n: 24, tasks: 8 }))),
        "factorize" => one(Box::new(|_| WorkloadParams::Factorize(FactorizeParams::generate(8, 300_000, 1)))),
        _ => SyncMode::ALL
            .into_iter()
            .map(|sync| {
                let f: Box<dyn Fn(usize) -> WorkloadParams> = Box::new(move |w| {
                    WorkloadParams::Counter(CounterParams { tasks: w as u32, increments: 200_000, sync })
                });
                (format!("/{}", sync.name()), f)
            })
            .collect(),
    }
}

fn bench(c: &mut Criterion) {
    for name in ["sleep", "fib", "factorize", "counter"] {
        let mut group = c.benchmark_group(name);
        group.sample_size(10).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));
        for (suffix, make) in variants(name) {
            for kind in RunnerKind::ALL {
                for workers in WORKERS {
                    // Serial ignores the worker count except for the counter's tasks.
                    if kind == RunnerKind::Serial && workers != 1 && name != "counter" {
                        continue;
                    }
                    let params = make(workers);
                    let workload = params.build();
                    if workload.supports(kind).is_err() {
                        continue;
                    }
                    let mut runner = kind.build(kind.workers(workers), &options()).expect("runner builds");
                    let id = BenchmarkId::new(format!("{}{suffix}", kind.name()), workers);
                    group.bench_function(id, |b| {
                        b.iter_custom(|iters| {
                            let mut total = Duration::ZERO;
                            for _ in 0..iters {
                                let sample = runner.run(workload.as_ref()).expect("sample runs");
                                if let Verification::Failed { reason } = &sample.verification {
                                    panic!("{} under {kind}: wrong answer: {reason}", params.label());
                                }
                                total += Duration::from_nanos(sample.wall_ns);
                            }
                            total
                        })
                    });
                }
            }
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
