//! Measurements -> a finished [`Report`]: every row's numbers (summaries, paired
//! speedups, verification, disturbance counts), computed once from [`crate::stats`];
//! the sentences come from [`super::notes`].

use crate::fingerprint::Fingerprint;
use crate::measure::{Measurement, RecordedSample};
use crate::result::{CaseReport, Cause, Note, Report, RowResult, RunnerRow, SCHEMA_VERSION, SettingsRecord, Skipped};
use crate::runner::RunnerId;
use crate::stats;
use crate::workload::Verification;

use super::disturbance::is_disturbed;
use super::notes::{case_notes, ms, sweep_comparison};

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

/// Takes the measurement by value: its samples move into the report (for long runs
/// they are most of the memory), they are not copied.
fn case_report(m: Measurement, skipped: Vec<Skipped>, env: &Fingerprint, settings: &SettingsRecord) -> CaseReport {
    let wall = |s: &crate::runner::Sample| ms(s.wall_ns);
    let serial_wall = crate::measure::by_round(&m.samples, RunnerId::reference(), wall);
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
        // Peaks are the most of any sample, not a median: the high-water mark is the
        // question.
        let most = |f: &dyn Fn(&RecordedSample) -> Option<u64>| -> Option<f64> {
            samples.iter().filter_map(|s| f(s)).max().map(|kib| kib as f64 / 1024.0)
        };
        let disturbed_samples = samples.iter().filter(|s| is_disturbed(&s.sample, env.logical_cores)).count();
        let preempted_samples = samples.iter().filter(|s| s.sample.preempted(env.available_parallelism)).count();
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
            peak_rss_mib: most(&|s| s.sample.memory.map(|m| m.peak_kib)),
            rss_rise_mib: most(&|s| s.sample.memory.map(|m| m.peak_kib.saturating_sub(m.start_kib))),
            children_peak_mib: most(&|s| s.sample.children_peak_kib),
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
    let look = m.precision;
    let warmup = m.warmup;
    let mut case = CaseReport {
        workload: m.workload,
        label: m.label,
        params: m.params.to_json(),
        race: m.properties.race,
        rounds: m.rounds,
        precision: look.as_ref().and_then(|l| l.widest),
        work: m.properties.work.clone(),
        throughput: m.properties.throughput,
        waits: m.properties.waits,
        task_ms: m.properties.task_ms,
        compute_share: m.properties.compute_share,
        setup_ms: Some(ms(m.workload_setup_ns)),
        tasks: m.tasks,
        workers: m.workers,
        rows,
        skipped,
        answer: None,
        notes: Vec::new(),
        samples: m.samples,
    };
    let (answer, notes) = case_notes(&case, env, settings, look.as_ref(), &warmup);
    case.answer = answer;
    case.notes = m.properties.note.map(|n| Note::case(Cause::Workload, n)).into_iter().chain(notes).collect();
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
