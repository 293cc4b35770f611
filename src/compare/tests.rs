//! The compare rule on synthetic results with known answers. The same reports are
//! written to `tests/data/compare/` (golden files for the CLI tests) when
//! `PARBENCH_WRITE_GOLDEN=1` is set.

use super::*;
use crate::measure::RecordedSample;
use crate::report::{build, fixture};
use crate::result::SCHEMA_VERSION;
use crate::rng::SplitMix64;
use crate::runner::{Sample, WorkerStats};
use crate::workload::Verification;

/// A fib result: 10 rounds; every sample is `base_ms x factor x (1 + noise)` with
/// deterministic noise of relative spread `cv`.
pub fn synthetic(seed: u64, cv: f64, slow_threads: f64, logical_cores: usize) -> Report {
    use RunnerKind::*;
    let mut rng = SplitMix64::new(seed);
    let mut noise = move || 1.0 + cv * ((rng.next_u64() % 20_001) as f64 / 10_000.0 - 1.0);
    let runners = [(Serial, 200.0, 1), (Threads, 102.0, 2), (Rayon, 101.0, 2), (Process, 108.0, 2)];
    let mut samples = Vec::new();
    for round in 0..10 {
        for (position, &(kind, ms, workers)) in runners.iter().enumerate() {
            let factor = if kind == Threads { slow_threads } else { 1.0 };
            let wall_ns = (ms * factor * noise() * 1e6) as u64;
            samples.push(RecordedSample {
                round,
                position: position as u32,
                sample: Sample {
                    runner: kind,
                    workers,
                    wall_ns,
                    cpu_ns: wall_ns * workers as u64,
                    other_cpu_ns: Some(0),
                    startup_ns: None,
                    setup_ns: None,
                    per_worker: vec![WorkerStats { busy_ns: wall_ns, tasks: 4 }; workers],
                    tasks: Vec::new(),
                    verification: Verification::Verified { detail: "fib(34) = 5702887 in all 8 tasks".into() },
                },
            });
        }
    }
    let m = fixture::fib_measurement(vec![Serial, Threads, Rayon, Process], samples);
    let settings = fixture::settings(vec![Serial, Threads, Rayon, Process], 10, 1);
    let mut env = fixture::environment();
    env.logical_cores = logical_cores;
    env.available_parallelism = logical_cores;
    let mut report = build(vec![(m, Vec::new())], settings, env, vec!["parbench".into()]);
    report.created_unix_s = 1_700_000_000 + seed;
    report
}

fn run(base: &[Report], new: &Report) -> Comparison {
    let bases: Vec<(String, Report)> = base.iter().enumerate().map(|(i, r)| (format!("base{i}"), r.clone())).collect();
    compare(&bases, "new", new, &Rules::default(), false).unwrap()
}

fn verdict_of(c: &Comparison, runner: RunnerKind, metric: Metric) -> Verdict {
    c.cells.iter().find(|x| x.runner == runner && x.metric == metric).unwrap().verdict
}

#[test]
fn a_against_a_is_unchanged_everywhere() {
    let c = run(&[synthetic(1, 0.02, 1.0, 2)], &synthetic(2, 0.02, 1.0, 2));
    assert_eq!(c.regressions().count(), 0);
    assert!(c.absolute_gated);
    assert!(c.cells.iter().all(|x| matches!(x.verdict, Verdict::Unchanged | Verdict::WithinNoise)), "{c:#?}");
}

#[test]
fn thirty_percent_slower_threads_is_a_regression_of_threads_only() {
    let c = run(&[synthetic(1, 0.02, 1.0, 2)], &synthetic(2, 0.02, 1.3, 2));
    assert_eq!(verdict_of(&c, RunnerKind::Threads, Metric::Wall), Verdict::Regression);
    assert_eq!(verdict_of(&c, RunnerKind::Threads, Metric::Speedup), Verdict::Regression);
    assert!(c.regressions().all(|x| x.runner == RunnerKind::Threads), "{:#?}", c.regressions().collect::<Vec<_>>());
    let cell = c.cells.iter().find(|x| x.runner == RunnerKind::Threads && x.metric == Metric::Wall).unwrap();
    assert!(cell.ratio_low <= cell.ratio && cell.ratio <= cell.ratio_high);
    assert!((cell.ratio - 1.3).abs() < 0.05, "{}", cell.ratio);
}

#[test]
fn thirty_percent_faster_is_an_improvement() {
    let c = run(&[synthetic(1, 0.02, 1.0, 2)], &synthetic(2, 0.02, 1.0 / 1.3, 2));
    assert_eq!(verdict_of(&c, RunnerKind::Threads, Metric::Wall), Verdict::Improvement);
    assert_eq!(c.regressions().count(), 0);
}

#[test]
fn a_high_spread_cell_is_unstable_not_a_regression() {
    let c = run(&[synthetic(1, 0.40, 1.0, 2)], &synthetic(2, 0.40, 1.2, 2));
    assert_eq!(verdict_of(&c, RunnerKind::Threads, Metric::Wall), Verdict::Unstable);
    assert_eq!(c.regressions().count(), 0);
}

#[test]
fn an_unstable_cell_still_fails_when_grossly_worse() {
    let c = run(&[synthetic(1, 0.30, 1.0, 2)], &synthetic(2, 0.30, 2.5, 2));
    assert_eq!(verdict_of(&c, RunnerKind::Threads, Metric::Wall), Verdict::Regression);
}

#[test]
fn a_different_core_count_is_incomparable() {
    let bases = vec![("b".to_string(), synthetic(1, 0.02, 1.0, 4))];
    let err = compare(&bases, "new", &synthetic(2, 0.02, 1.0, 2), &Rules::default(), false).unwrap_err();
    assert!(err.reason.contains("core counts"), "{}", err.reason);
    assert!(compare(&bases, "new", &synthetic(2, 0.02, 1.0, 2), &Rules::default(), true).is_ok());
}

#[test]
fn different_machines_gate_only_relative_metrics() {
    let mut base = synthetic(1, 0.02, 1.0, 2);
    base.environment.cpu_model = "Another CPU".into();
    // Everything 40% slower on the other machine: wall differs, speedup does not.
    let mut new = synthetic(2, 0.02, 1.0, 2);
    for s in &mut new.cases[0].samples {
        s.sample.wall_ns = s.sample.wall_ns * 14 / 10;
        s.sample.cpu_ns = s.sample.cpu_ns * 14 / 10;
    }
    let c = run(&[base], &new);
    assert!(!c.absolute_gated);
    assert_eq!(c.regressions().count(), 0, "{:#?}", c.regressions().collect::<Vec<_>>());
    assert!(c.cells.iter().filter(|x| x.metric == Metric::Wall).all(|x| !x.gated));
}

#[test]
fn run_to_run_spread_of_several_baselines_raises_the_threshold() {
    // Five baseline runs whose medians drift by +-15% from run to run.
    let bases: Vec<Report> = (0..5)
        .map(|i| {
            let mut r = synthetic(10 + i, 0.01, 1.0, 2);
            let drift = [1.0, 1.15, 0.85, 1.1, 0.9][i as usize];
            for s in &mut r.cases[0].samples {
                s.sample.wall_ns = (s.sample.wall_ns as f64 * drift) as u64;
            }
            r
        })
        .collect();
    let c = run(&bases, &synthetic(20, 0.01, 1.0, 2));
    let wall = c.cells.iter().find(|x| x.runner == RunnerKind::Serial && x.metric == Metric::Wall).unwrap();
    assert!(wall.threshold > 0.2, "threshold {}", wall.threshold);
    assert_eq!(c.regressions().count(), 0);
}

#[test]
fn a_value_one_baseline_run_has_shown_is_not_a_regression() {
    // Nine steady baseline runs and one whose threads ran 60% slower; a new run that
    // is 55% slower again has been seen before and must not fail.
    let mut bases: Vec<Report> = (0..10).map(|i| synthetic(30 + i, 0.01, 1.0, 2)).collect();
    bases[4] = synthetic(34, 0.01, 1.6, 2);
    let c = run(&bases, &synthetic(50, 0.01, 1.55, 2));
    let wall = c.cells.iter().find(|x| x.runner == RunnerKind::Threads && x.metric == Metric::Wall).unwrap();
    assert!(wall.threshold >= 0.55, "threshold {}", wall.threshold);
    assert_eq!(c.regressions().count(), 0, "{:#?}", c.regressions().collect::<Vec<_>>());
    // Beyond anything seen, it still fails.
    let worse = run(&bases, &synthetic(51, 0.01, 2.2, 2));
    assert!(worse.regressions().any(|x| x.runner == RunnerKind::Threads));
}

#[test]
fn the_unsynchronised_counter_is_reported_but_never_gated() {
    let mut base = synthetic(1, 0.02, 1.0, 2);
    let mut new = synthetic(2, 0.02, 2.0, 2);
    for r in [&mut base, &mut new] {
        r.cases[0].workload = "counter".into();
        r.cases[0].race = true;
    }
    let c = run(&[base], &new);
    assert!(c.cells.iter().all(|x| !x.gated));
    assert_eq!(c.regressions().count(), 0);
    assert!(c.cells.iter().any(|x| x.verdict == Verdict::Regression), "still reported: {:#?}", c.cells);
}

#[test]
fn too_few_samples_are_inconclusive() {
    let mut new = synthetic(2, 0.02, 1.3, 2);
    new.cases[0].samples.retain(|s| s.round < 3);
    let c = run(&[synthetic(1, 0.02, 1.0, 2)], &new);
    assert!(c.cells.iter().all(|x| x.verdict == Verdict::Inconclusive));
    assert_eq!(c.regressions().count(), 0);
}

#[test]
fn renders_put_the_verdict_first() {
    let c = run(&[synthetic(1, 0.02, 1.0, 2)], &synthetic(2, 0.02, 1.3, 2));
    let mut md = Vec::new();
    write(&c, crate::report::Format::Markdown, &mut md).unwrap();
    let md = String::from_utf8(md).unwrap();
    assert!(md.lines().next().unwrap().contains("REGRESSION"), "{md}");
    assert!(md.contains("<details>"), "unchanged rows are folded: {md}");
    let mut json = Vec::new();
    write(&c, crate::report::Format::Json, &mut json).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(v["schema_version"], COMPARE_SCHEMA_VERSION);
}

/// Writes the golden files used by `tests/compare.rs`. Run with
/// `PARBENCH_WRITE_GOLDEN=1 cargo test --lib write_golden_files`.
#[test]
fn write_golden_files() {
    if std::env::var_os("PARBENCH_WRITE_GOLDEN").is_none() {
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/compare");
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, r: &Report| {
        let text = serde_json::to_string_pretty(r).unwrap();
        std::fs::write(dir.join(name), text + "\n").unwrap();
    };
    write("base.json", &synthetic(1, 0.02, 1.0, 2));
    write("same.json", &synthetic(2, 0.02, 1.0, 2));
    write("slower.json", &synthetic(3, 0.02, 1.3, 2));
    write("noisy-base.json", &synthetic(4, 0.40, 1.0, 2));
    write("noisy-new.json", &synthetic(5, 0.40, 1.2, 2));
    write("four-cores.json", &synthetic(6, 0.02, 1.0, 4));
    let base = serde_json::to_string_pretty(&synthetic(1, 0.02, 1.0, 2)).unwrap();
    std::fs::write(dir.join("truncated.json"), &base[..base.len() / 2]).unwrap();
    let mut future: serde_json::Value = serde_json::from_str(&base).unwrap();
    future["schema_version"] = serde_json::json!(SCHEMA_VERSION + 1);
    std::fs::write(dir.join("future.json"), serde_json::to_string_pretty(&future).unwrap() + "\n").unwrap();
}
