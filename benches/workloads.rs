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
use parbench::runner::{Job, RunnerOptions};
use parbench::{Registry, Verification};

const WORKERS: [usize; 3] = [1, 2, 4];

fn options() -> RunnerOptions {
    // Benches are their own executables: the process runner must start parbench.
    RunnerOptions { worker_program: Some(env!("CARGO_BIN_EXE_parbench").into()), ..RunnerOptions::default() }
}

/// The benches of one workload: (function-name suffix, parameter values), small sizes.
fn variants(workload: &str) -> Vec<(String, Vec<(&'static str, &'static str)>)> {
    let one = |values: Vec<(&'static str, &'static str)>| vec![(String::new(), values)];
    match workload {
        "sleep" => one(vec![("tasks", "4"), ("ms", "2")]),
        "fib" => one(vec![("n", "24"), ("tasks", "8")]),
        "factorize" => one(vec![("count", "8"), ("max", "300000")]),
        "command" => one(vec![("cmd", "true"), ("tasks", "4")]),
        "mixed" => one(vec![("tasks", "4"), ("cpu-us", "200"), ("io-ms", "1"), ("steps", "2")]),
        "pipeline" => one(vec![("items", "16"), ("stages", "cpu:50us,sleep:200us,cpu:50us"), ("queue", "4")]),
        "counter" => ["none", "mutex", "atomic", "sharded"]
            .into_iter()
            .map(|sync| (format!("/{sync}"), vec![("increments", "200000"), ("sync", sync)]))
            .collect(),
        // A workload added later is benched at its defaults until it has a line here.
        _ => one(Vec::new()),
    }
}

fn bench(c: &mut Criterion) {
    let registry = Registry::with_builtins();
    for spec in registry.visible() {
        let name = spec.name();
        let mut group = c.benchmark_group(name);
        group.sample_size(10).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));
        for (suffix, values) in variants(name) {
            for kind in parbench::RunnerId::all() {
                for workers in WORKERS {
                    // A one-worker runner ignores the worker count except for the counter's tasks.
                    if kind.workers(workers) != workers && name != "counter" {
                        continue;
                    }
                    // A std::sync::Mutex cannot be shared between processes.
                    if !kind.one_address_space() && suffix == "/mutex" {
                        continue;
                    }
                    let job = Job::build(&registry, name, &values, workers).expect("workload builds");
                    let mut runner = kind.build(kind.workers(workers), &options()).expect("runner builds");
                    runner.prepare(&job).expect("runner prepares");
                    let id = BenchmarkId::new(format!("{}{suffix}", kind.as_str()), workers);
                    group.bench_function(id, |b| {
                        b.iter_custom(|iters| {
                            let mut total = Duration::ZERO;
                            for _ in 0..iters {
                                let sample = runner.run(&job).expect("sample runs");
                                if let Verification::Failed { reason } = &sample.verification {
                                    panic!("{} under {kind}: wrong answer: {reason}", job.label);
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
