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
        measurements.into_iter().map(|(m, skipped)| case_report(m, skipped, &environment, &settings)).collect();
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
fn case_report(m: Measurement, skipped: Vec<Skipped>, env: &Fingerprint, settings: &SettingsRecord) -> CaseReport {
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
        let preempted_samples = samples.iter().filter(|s| s.sample.preempted()).count();
        let warm = m.warmup.iter().find(|w| w.runner == kind);
        rows.push(RunnerRow {
            warmup_samples: warm.map_or(0, |w| w.samples),
            warmup_ms: warm.map_or(0.0, |w| ms(w.wall_ns)),
            warmed_up: warm.is_none_or(|w| w.steady),
            runner: kind,
            workers,
            wall_ms,
            speedup,
            efficiency: speedup.map(|s| s.median / workers as f64),
            cpu_utilisation: utilisation.unwrap_or(0.0),
            cpu_ms: per_sample(&|s| Some(ms(s.sample.cpu_ns))).unwrap_or(0.0),
            allocations_per_task: per_sample(&|s| s.sample.allocations.map(|a| a.count as f64 / m.tasks.max(1) as f64)),
            allocated_bytes_per_task: per_sample(&|s| {
                s.sample.allocations.map(|a| a.bytes as f64 / m.tasks.max(1) as f64)
            }),
            throughput_per_s: m
                .properties
                .throughput
                .and_then(|t| per_sample(&|s| Some(t.amount() as f64 / (s.sample.wall_ns.max(1) as f64 / 1e9)))),
            startup_ms: per_sample(&|s| s.sample.startup_ns.map(ms)),
            worker_setup_ms,
            teardown_ms: per_sample(&|s| s.sample.teardown_ns.map(ms)),
            setup_ms: m.setup_ns.iter().find(|(k, _)| *k == kind).map(|(_, ns)| ms(*ns)),
            imbalance,
            disturbed_samples,
            preempted_samples,
            result: row_result(&samples),
        });
    }
    let mut case = CaseReport {
        workload: m.workload,
        label: m.label,
        params: m.params.to_json(),
        race: m.properties.race,
        rounds: m.rounds,
        precision: m.precision,
        work: m.properties.work.clone(),
        throughput: m.properties.throughput,
        waits: m.properties.waits,
        setup_ms: Some(ms(m.workload_setup_ns)),
        tasks: m.tasks,
        workers: m.workers,
        rows,
        skipped,
        notes: Vec::new(),
        samples: m.samples,
    };
    case.notes = m.properties.note.into_iter().chain(case_notes(&case, env, settings)).collect();
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

fn case_notes(case: &CaseReport, env: &Fingerprint, settings: &SettingsRecord) -> Vec<String> {
    let mut notes = Vec::new();
    if let (Some(target), Some(reached)) = (settings.precision_target, case.precision) {
        let rounds = case.rounds;
        notes.push(if reached <= target {
            format!("{rounds} rounds: every speedup is known to ±{} (95% interval).", fmt_pct(reached))
        } else {
            format!(
                "{rounds} rounds, then no round started after --max-time: the widest speedup interval is ±{}, \
                 wider than the ±{} aimed for; raise --max-time for more rounds.",
                fmt_pct(reached),
                fmt_pct(target)
            )
        });
    }
    // Warm-up: said when a runner needed more than the usual three samples, or never
    // became steady.
    let slow: Vec<String> = case
        .rows
        .iter()
        .filter(|r| r.warmed_up && r.warmup_samples > settings.warmup.max(2) + 1)
        .map(|r| format!("{} {} samples ({})", r.runner, r.warmup_samples, fmt_ms(r.warmup_ms)))
        .collect();
    if !slow.is_empty() {
        notes.push(format!("Warm-up took longer before the samples were steady: {}.", slow.join(", ")));
    }
    for row in case.rows.iter().filter(|r| !r.warmed_up) {
        notes.push(format!(
            "{} was not steady after {} warm-up samples ({}): its times may still drift.",
            row.runner,
            row.warmup_samples,
            fmt_ms(row.warmup_ms)
        ));
    }
    let cores = env.available_parallelism;
    let parallel: Vec<&RunnerRow> = case.rows.iter().filter(|r| r.runner != RunnerKind::Serial).collect();
    notes.extend(winner(case, &parallel));
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
    let preempted: Vec<String> = case
        .rows
        .iter()
        .filter(|r| r.preempted_samples > 0)
        .map(|r| format!("{} {} of {}", r.runner, r.preempted_samples, r.wall_ms.n))
        .collect();
    if !preempted.is_empty() {
        notes.push(format!(
            "Preempted samples (workers waited for a CPU over {:.0}% of the time they could run): {}; \
             treat their times with care, or measure on a quieter machine or with --pin.",
            crate::runner::PREEMPTED_SHARE * 100.0,
            preempted.join(", ")
        ));
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

/// Names the fastest parallel runner only when the paired 95% interval of its wall
/// time against the runner-up's, round by round, excludes "no difference"; otherwise
/// the two tie.
fn winner(case: &CaseReport, parallel: &[&RunnerRow]) -> Option<String> {
    let speedup = |r: &RunnerRow| r.speedup.map(|s| s.median).unwrap_or(0.0);
    let mut ranked: Vec<&RunnerRow> = parallel.iter().copied().filter(|r| r.speedup.is_some()).collect();
    ranked.sort_by(|a, b| speedup(b).total_cmp(&speedup(a)));
    let best = *ranked.first()?;
    let s = speedup(best);
    if s <= 1.0 {
        return Some(format!(
            "No parallel runner beat serial; the best, {}, reached {s:.2}x: coordination cost more than it saved.",
            best.runner
        ));
    }
    let efficiency = fmt_pct(best.efficiency.unwrap_or(0.0));
    let Some(second) = ranked.get(1) else {
        return Some(format!(
            "{} reached {s:.2}x serial with {} workers ({efficiency} efficiency).",
            best.runner, best.workers
        ));
    };
    let wall = |sample: &crate::runner::Sample| sample.wall_ns as f64;
    let ratios = stats::paired_ratios(
        &crate::measure::by_round(&case.samples, best.runner, wall),
        &crate::measure::by_round(&case.samples, second.runner, wall),
    );
    let separated = stats::bootstrap_median(&ratios, 0.95, 2000, 1).is_some_and(|i| i.high < 1.0);
    Some(if separated {
        format!(
            "{} was fastest: {s:.2}x serial with {} workers ({efficiency} efficiency); faster than {} ({:.2}x) in the \
             paired 95% interval.",
            best.runner,
            best.workers,
            second.runner,
            speedup(second)
        )
    } else {
        format!(
            "{} and {} tie at {s:.2}x and {:.2}x serial: their paired 95% interval includes no difference.",
            best.runner,
            second.runner,
            speedup(second)
        )
    })
}

/// Ranks cases of one workload and worker count per parallel runner: by wall time
/// when they differ in one parameter only (the counter's `sync` modes, a swept
/// parameter of a user's workload), by cost per unit of work when they differ in more
/// and every one declares its work in the same unit. Cases that do different work with
/// no common unit are not ranked; races are left out.
fn sweep_comparison(cases: &[CaseReport]) -> Vec<String> {
    let mut notes = Vec::new();
    let mut seen = vec![false; cases.len()];
    for i in 0..cases.len() {
        if seen[i] || cases[i].race {
            continue;
        }
        let first = &cases[i];
        let group: Vec<&CaseReport> = cases[i..]
            .iter()
            .filter(|c| !c.race && c.workload == first.workload && c.workers == first.workers)
            .filter(|c| c.params.len() == first.params.len() && c.params.keys().all(|k| first.params.contains_key(k)))
            .collect();
        for (j, c) in cases.iter().enumerate().skip(i) {
            seen[j] |= group.iter().any(|g| std::ptr::eq(*g, c));
        }
        let differing: Vec<&String> =
            first.params.keys().filter(|k| group.iter().any(|c| c.params.get(*k) != first.params.get(*k))).collect();
        let unit = first
            .work
            .as_ref()
            .map(|w| &w.unit)
            .filter(|u| group.iter().all(|c| c.work.as_ref().map(|w| &w.unit) == Some(*u)));
        if group.len() < 2 || (differing.len() != 1 && unit.is_none()) {
            continue;
        }
        let name = |c: &CaseReport| -> String {
            let text = |k: &String| {
                c.params.get(k).and_then(|v| crate::workload::param::json_text(v).ok()).unwrap_or_default()
            };
            match differing.as_slice() {
                [one] => text(one),
                many => many.iter().map(|k| format!("{k}={}", text(k))).collect::<Vec<_>>().join(" "),
            }
        };
        for kind in [RunnerKind::Threads, RunnerKind::Rayon, RunnerKind::Process] {
            let mut costs: Vec<(String, f64)> = group
                .iter()
                .filter_map(|c| {
                    let row = c.rows.iter().find(|r| r.runner == kind)?;
                    let per = if unit.is_some() { c.work.as_ref()?.amount } else { 1.0 };
                    Some((name(c), row.wall_ms.median / per))
                })
                .collect();
            if costs.len() < 2 {
                continue;
            }
            costs.sort_by(|a, b| a.1.total_cmp(&b.1));
            match unit {
                Some(unit) => {
                    let list: Vec<String> = costs.iter().map(|(v, t)| format!("{v} {}", fmt_ns(t * 1e6))).collect();
                    notes.push(format!("With {kind}, per {unit}: {} was cheapest ({}).", costs[0].0, list.join(", ")));
                }
                None => {
                    let list: Vec<String> = costs.iter().map(|(v, t)| format!("{v} {}", fmt_ms(*t))).collect();
                    let key = differing[0];
                    notes.push(format!("With {kind}, {key} = {} was fastest ({}).", costs[0].0, list.join(", ")));
                }
            }
        }
    }
    notes
}

/// Nanoseconds with three significant digits: `0.532 ns`, `12.4 ns`, `1530 ns`.
fn fmt_ns(ns: f64) -> String {
    if ns >= 100.0 {
        format!("{ns:.0} ns")
    } else if ns >= 10.0 {
        format!("{ns:.1} ns")
    } else {
        format!("{ns:.3} ns")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;
    use crate::runner::{Sample, WorkerStats};

    /// Six rounds of serial 200 ms and the given threads and rayon times.
    fn two_runners(threads: [f64; 6], rayon: [f64; 6]) -> CaseReport {
        use RunnerKind::*;
        let mut samples = Vec::new();
        for round in 0..6 {
            for (position, (kind, ms)) in
                [(Serial, 200.0), (Threads, threads[round]), (Rayon, rayon[round])].into_iter().enumerate()
            {
                let w = kind.workers(2);
                let sample = Sample {
                    runner: kind,
                    workers: w,
                    wall_ns: (ms * 1e6) as u64,
                    cpu_ns: (ms * 1e6) as u64 * w as u64,
                    other_cpu_ns: Some(0),
                    startup_ns: None,
                    setup_ns: None,
                    teardown_ns: None,
                    allocations: None,
                    preemptions: None,
                    waited_ns: None,
                    per_worker: vec![WorkerStats { busy_ns: 1, tasks: 4 }; w],
                    tasks: Vec::new(),
                    verification: Verification::verified("ok"),
                };
                samples.push(RecordedSample { round: round as u32, position: position as u32, sample });
            }
        }
        let m = fixture::fib_measurement(vec![Serial, Threads, Rayon], samples);
        let settings = fixture::settings(vec![Serial, Threads, Rayon], 6, 1);
        build(vec![(m, Vec::new())], settings, fixture::environment(), vec![]).cases.remove(0)
    }

    #[test]
    fn a_winner_is_named_only_when_the_paired_interval_separates_it() {
        let clear = two_runners([100.0, 101.0, 99.0, 100.0, 102.0, 100.0], [120.0, 119.0, 121.0, 118.0, 122.0, 120.0]);
        assert!(clear.notes.iter().any(|n| n.starts_with("threads was fastest: 2.00x")), "{:?}", clear.notes);
        let close = two_runners([100.0, 101.0, 99.0, 100.0, 102.0, 100.0], [101.0, 100.0, 100.0, 99.0, 101.0, 101.0]);
        assert!(close.notes.iter().any(|n| n.contains("tie")), "{:?}", close.notes);
        assert!(!close.notes.iter().any(|n| n.contains("fastest")), "{:?}", close.notes);
    }
}
