//! Builds a finished [`Report`] from measurements: every number and every sentence is
//! computed here, once, from [`crate::stats`]. Reporters only format the result.

use crate::fingerprint::Fingerprint;
use crate::measure::{Measurement, RecordedSample};
use crate::result::{CaseReport, Report, RowResult, RunnerRow, SCHEMA_VERSION, SettingsRecord, Skipped};
use crate::runner::RunnerKind;
use crate::stats;
use crate::workload::Verification;

use super::fmt::{fmt_count, fmt_ms, fmt_pct};

/// A sample whose other-process CPU use exceeded this share of one core is flagged
/// as disturbed.
pub const DISTURBED_SHARE: f64 = 0.10;

/// Samples shorter than this (ms) are dominated by fixed costs; CPU utilisation is not
/// shown for them.
pub const SHORT_SAMPLE_MS: f64 = 0.2;

/// `/proc/stat` counts in ticks of 10 ms (USER_HZ = 100) and each core's count can be
/// one tick off at either end of a sample, so this much per logical core (plus one) is
/// measurement noise, not another process.
pub const PROC_STAT_TICK_NS: u64 = 10_000_000;

/// Whether other processes used enough CPU during a sample to distrust it.
pub fn is_disturbed(sample: &crate::runner::Sample, logical_cores: usize) -> bool {
    let slack = PROC_STAT_TICK_NS * (logical_cores as u64 + 1);
    sample.other_cpu_ns.is_some_and(|o| o > slack && o as f64 > DISTURBED_SHARE * sample.wall_ns as f64)
}

/// Builds a report: all statistics and sentences, computed once.
pub fn build(
    measurements: Vec<(Measurement, Vec<Skipped>)>,
    settings: SettingsRecord,
    environment: Fingerprint,
    command: Vec<String>,
) -> Report {
    let cases: Vec<CaseReport> =
        measurements.into_iter().map(|(m, skipped)| case_report(m, skipped, &environment)).collect();
    let notes = sweep_comparison(&cases);
    let created_unix_s =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    Report {
        schema_version: SCHEMA_VERSION,
        command,
        created_unix_s,
        environment,
        settings,
        suite: None,
        scale: None,
        cases,
        notes,
    }
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// Takes the measurement by value: its samples move into the report (for long runs
/// they are most of the memory), they are not copied.
fn case_report(m: Measurement, skipped: Vec<Skipped>, env: &Fingerprint) -> CaseReport {
    let wall = |s: &crate::runner::Sample| ms(s.wall_ns);
    let serial_wall = crate::measure::by_round(&m.samples, RunnerKind::Serial, wall);
    let mut rows = Vec::new();
    for &kind in &m.runners {
        let samples: Vec<&RecordedSample> = m.samples.iter().filter(|s| s.sample.runner == kind).collect();
        if samples.is_empty() {
            continue;
        }
        let walls: Vec<f64> = samples.iter().map(|s| ms(s.sample.wall_ns)).collect();
        let Some(wall_ms) = stats::summarize(&walls) else {
            continue;
        };
        let workers = samples[0].sample.workers;
        let speedup = stats::ratio_summary(&serial_wall, &crate::measure::by_round(&m.samples, kind, wall));
        let per_sample = |f: &dyn Fn(&RecordedSample) -> Option<f64>| -> Option<f64> {
            stats::median(&samples.iter().filter_map(|s| f(s)).collect::<Vec<_>>())
        };
        let utilisation = per_sample(&|s| Some(s.sample.cpu_ns as f64 / s.sample.wall_ns.max(1) as f64));
        let imbalance = per_sample(&|s| s.sample.imbalance());
        let worker_setup_ms = per_sample(&|s| s.sample.setup_ns.map(ms));
        let disturbed_samples = samples.iter().filter(|s| is_disturbed(&s.sample, env.logical_cores)).count();
        rows.push(RunnerRow {
            runner: kind,
            workers,
            wall_ms,
            speedup,
            efficiency: speedup.map(|s| s.median / workers as f64),
            cpu_utilisation: utilisation.unwrap_or(0.0),
            cpu_ms: per_sample(&|s| Some(ms(s.sample.cpu_ns))).unwrap_or(0.0),
            startup_ms: per_sample(&|s| s.sample.startup_ns.map(ms)),
            worker_setup_ms,
            setup_ms: m.setup_ns.iter().find(|(k, _)| *k == kind).map(|(_, ns)| ms(*ns)),
            imbalance,
            disturbed_samples,
            result: row_result(&samples),
        });
    }
    let mut case = CaseReport {
        workload: m.workload,
        label: m.label,
        params: m.params.to_json(),
        race: m.properties.race,
        waits: m.properties.waits,
        setup_ms: Some(ms(m.workload_setup_ns)),
        tasks: m.tasks,
        workers: m.workers,
        rows,
        skipped,
        notes: Vec::new(),
        samples: m.samples,
    };
    case.notes = m.properties.note.into_iter().chain(case_notes(&case, env)).collect();
    case
}

fn row_result(samples: &[&RecordedSample]) -> RowResult {
    let mut lost = Vec::new();
    let mut expected = 0;
    let mut detail = String::new();
    for s in samples {
        match &s.sample.verification {
            Verification::LostUpdates { expected: e, observed } => {
                expected = *e;
                lost.push((e - observed) as f64 / *e as f64);
            }
            Verification::Verified { detail: d } => {
                lost.push(0.0);
                detail.clone_from(d);
            }
            Verification::Failed { .. } => {}
        }
    }
    let samples_losing = lost.iter().filter(|&&l| l > 0.0).count();
    if samples_losing == 0 {
        return RowResult::Verified { detail };
    }
    RowResult::LostUpdates {
        expected,
        median_lost: stats::median(&lost).unwrap_or(0.0),
        max_lost: lost.iter().copied().fold(0.0, f64::max),
        samples_losing,
    }
}

fn case_notes(case: &CaseReport, env: &Fingerprint) -> Vec<String> {
    let mut notes = Vec::new();
    let cores = env.available_parallelism;
    let parallel: Vec<&RunnerRow> = case.rows.iter().filter(|r| r.runner != RunnerKind::Serial).collect();
    let best = parallel.iter().filter(|r| r.speedup.is_some()).max_by(|a, b| {
        a.speedup.map(|s| s.median).unwrap_or(0.0).total_cmp(&b.speedup.map(|s| s.median).unwrap_or(0.0))
    });
    if let Some(best) = best {
        let s = best.speedup.map(|s| s.median).unwrap_or(0.0);
        if s > 1.0 {
            notes.push(format!(
                "{} was fastest: {s:.2}x serial with {} workers ({} efficiency).",
                best.runner,
                best.workers,
                fmt_pct(best.efficiency.unwrap_or(0.0))
            ));
        } else {
            notes.push(format!(
                "No parallel runner beat serial; the best, {}, reached {s:.2}x: coordination cost more than it saved.",
                best.runner
            ));
        }
    }
    if !case.waits && case.workers > cores {
        notes.push(format!(
            "{} workers share {cores} available core(s), so CPU-bound speedup cannot exceed {cores}x.",
            case.workers
        ));
    }
    if let Some(task_ms) = case.params.get("ms").and_then(|v| v.as_f64()).filter(|_| case.workload == "sleep") {
        let waves = case.tasks.div_ceil(case.workers.max(1)) as f64;
        let ideal = waves * task_ms;
        if let Some(t) = case.rows.iter().find(|r| r.runner == RunnerKind::Threads) {
            notes.push(format!(
                "Sleeping tasks use almost no CPU (threads: {:.2} cores busy), so workers beyond the core count still help; \
                 the ideal wall time with {} workers is {}, threads took {}.",
                t.cpu_utilisation,
                case.workers,
                fmt_ms(ideal),
                fmt_ms(t.wall_ms.median)
            ));
        }
    }
    if let Some(p) = case.rows.iter().find(|r| r.runner == RunnerKind::Process) {
        if let Some(startup) = p.startup_ms {
            let share = if p.wall_ms.median > 0.0 {
                format!(", {} of their wall time", fmt_pct(startup / p.wall_ms.median))
            } else {
                String::new()
            };
            notes.push(format!(
                "Processes paid {} of start-up (spawn until the last of {} children answered){share}.",
                fmt_ms(startup),
                p.workers,
            ));
        }
    }
    let in_parbench = case.setup_ms.unwrap_or(0.0);
    let in_workers = case.rows.iter().filter_map(|r| r.worker_setup_ms).fold(0.0, f64::max);
    if in_parbench >= 1.0 || in_workers >= 1.0 {
        let workers = if in_workers > 0.0 {
            format!(" and up to {} in each worker process per sample", fmt_ms(in_workers))
        } else {
            String::new()
        };
        notes.push(format!(
            "Set-up (building the workload) took {} in parbench, once,{workers}; it is outside every timed region.",
            fmt_ms(in_parbench)
        ));
    }
    if let Some(r) = case.rows.iter().find(|r| r.runner == RunnerKind::Rayon) {
        if let Some(setup) = r.setup_ms {
            notes.push(format!("The rayon pool took {} to build, once, outside the timed region.", fmt_ms(setup)));
        }
    }
    for row in &case.rows {
        if let RowResult::LostUpdates { expected, median_lost, max_lost, samples_losing } = &row.result {
            notes.push(format!(
                "Without synchronisation, {} lost {} ({}) of the {} updates (median; up to {} in {samples_losing} of {} samples): \
                 two workers read the same value and one increment vanished.",
                row.runner,
                fmt_count((*median_lost * *expected as f64).round() as u64),
                fmt_pct(*median_lost),
                fmt_count(*expected),
                fmt_pct(*max_lost),
                row.wall_ms.n
            ));
        }
    }
    if case.rows.iter().any(|r| r.wall_ms.median < SHORT_SAMPLE_MS) {
        notes.push(format!(
            "Some samples took under {SHORT_SAMPLE_MS} ms: timer, spawn and scheduling costs dominate them, and CPU \
             utilisation is not meaningful at that scale; raise --tasks or the task size."
        ));
    }
    // CPU-bound work on W >= 2 workers that kept about one core busy: the workers
    // shared a core (placement), which is a finding about the scheduler, not the runner.
    if !case.waits && cores >= 2 {
        for r in parallel.iter().filter(|r| r.workers >= 2 && r.wall_ms.median >= SHORT_SAMPLE_MS) {
            if r.cpu_utilisation < 1.3 {
                notes.push(format!(
                    "{} kept only {:.2} cores busy with {} workers: its workers mostly shared one core. The kernel \
                     had not spread them before the sample ended; samples this short measure thread placement more \
                     than parallel speed.",
                    r.runner, r.cpu_utilisation, r.workers
                ));
            }
        }
    }
    let disturbed: usize = case.rows.iter().map(|r| r.disturbed_samples).sum();
    if disturbed > 0 {
        notes.push(format!(
            "{disturbed} sample(s) ran while other processes used more than {:.0}% of a core; treat their times with care.",
            DISTURBED_SHARE * 100.0
        ));
    }
    notes
}

/// For cases of one workload and worker count that differ in one parameter only (the
/// counter's `sync` modes, a swept parameter of a user's workload): which value was
/// fastest per parallel runner. Races are left out; cases that differ in more than one
/// value do different work and are not ranked.
fn sweep_comparison(cases: &[CaseReport]) -> Vec<String> {
    let mut notes = Vec::new();
    let mut grouped = vec![false; cases.len()];
    for i in 0..cases.len() {
        if grouped[i] || cases[i].race {
            continue;
        }
        let mut key: Option<&str> = None;
        let mut group = vec![i];
        for j in i + 1..cases.len() {
            let (a, b) = (&cases[i], &cases[j]);
            if b.race || a.workload != b.workload || a.workers != b.workers {
                continue;
            }
            let differing: Vec<&String> = a.params.keys().filter(|k| a.params.get(*k) != b.params.get(*k)).collect();
            if differing.len() == 1 && a.params.len() == b.params.len() && key.is_none_or(|k| k == differing[0]) {
                key = Some(differing[0]);
                group.push(j);
            }
        }
        let Some(key) = key else { continue };
        group.iter().for_each(|&g| grouped[g] = true);
        for kind in [RunnerKind::Threads, RunnerKind::Rayon, RunnerKind::Process] {
            let mut times: Vec<(String, f64)> = group
                .iter()
                .filter_map(|&g| {
                    let value = cases[g].params.get(key).map(crate::workload::param::json_text)?.ok()?;
                    cases[g].rows.iter().find(|r| r.runner == kind).map(|r| (value, r.wall_ms.median))
                })
                .collect();
            if times.len() < 2 {
                continue;
            }
            times.sort_by(|a, b| a.1.total_cmp(&b.1));
            let list: Vec<String> = times.iter().map(|(v, t)| format!("{v} {}", fmt_ms(*t))).collect();
            notes.push(format!("With {kind}, {key} = {} was fastest ({}).", times[0].0, list.join(", ")));
        }
    }
    notes
}
