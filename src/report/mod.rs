//! Report data and reporters.
//!
//! [`build`] turns measurements into a finished [`Report`]: every number and every
//! sentence is computed there, once, from [`crate::stats`]. Reporters
//! (`table`, `json`, `csv`, `markdown`) only format a finished report into any
//! `io::Write`, so tests render fixed reports into a `Vec<u8>`.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::fingerprint::Fingerprint;
use crate::measure::{Measurement, RecordedSample, Settings};
use crate::runner::RunnerKind;
use crate::stats::{self, RatioSummary, Summary};
use crate::workload::{SyncMode, Verification, WorkloadParams};

mod bmf;
mod csv;
mod json;
mod markdown;
pub(crate) mod scale;
mod table;

pub use self::csv::CsvReporter;
pub use bmf::{BmfReporter, GithubBenchmarkReporter};
pub use json::JsonReporter;
pub use markdown::MarkdownReporter;
pub use table::TableReporter;

/// Version of the JSON result format. Bump on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

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

/// A finished run, ready to be formatted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Result format version ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The command line that produced it.
    pub command: Vec<String>,
    /// Unix time (seconds) when the run finished.
    pub created_unix_s: u64,
    /// Machine and build.
    pub environment: Fingerprint,
    /// How it was measured.
    pub settings: SettingsRecord,
    /// The suite file this run came from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suite: Option<SuiteRecord>,
    /// The scaling analysis of `parbench scale`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<crate::scaling::ScaleAnalysis>,
    /// One entry per workload configuration.
    pub cases: Vec<CaseReport>,
    /// Sentences comparing cases (e.g. counter synchronisation modes).
    pub notes: Vec<String>,
}

/// The suite a result came from: results of different suite configurations are not
/// comparable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuiteRecord {
    /// The suite's name.
    pub name: String,
    /// The file it was read from.
    pub file: String,
    /// Digest of the parsed configuration (comments and layout do not change it).
    pub digest: String,
}

/// The measurement settings, as recorded. For a suite, `workers` is the largest worker
/// count and `runners` the union; each case records its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SettingsRecord {
    /// Workers for parallel runners.
    pub workers: usize,
    /// Runners measured.
    pub runners: Vec<RunnerKind>,
    /// Task assignment for threads and process.
    pub schedule: crate::runner::Schedule,
    /// Warm-up rounds (discarded).
    pub warmup: u32,
    /// Measured rounds.
    pub rounds: u32,
    /// Seed of the runner order.
    pub seed: u64,
    /// Process-runner timeout per sample, seconds.
    pub timeout_s: f64,
}

impl SettingsRecord {
    /// Records `settings`.
    pub fn new(settings: &Settings) -> Self {
        SettingsRecord {
            workers: settings.workers,
            runners: settings.runners.clone(),
            schedule: settings.options.schedule,
            warmup: settings.warmup,
            rounds: settings.rounds,
            seed: settings.seed,
            timeout_s: settings.options.timeout.as_secs_f64(),
        }
    }
}

/// A runner left out of a case, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// The runner.
    pub runner: RunnerKind,
    /// Why.
    pub reason: String,
}

/// Results for one workload configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseReport {
    /// Workload name.
    pub workload: String,
    /// `name (parameters)`.
    pub label: String,
    /// Parameters.
    pub params: WorkloadParams,
    /// Tasks per sample.
    pub tasks: usize,
    /// Workers of the parallel runners.
    pub workers: usize,
    /// One row per runner, in report order.
    pub rows: Vec<RunnerRow>,
    /// Runners left out.
    pub skipped: Vec<Skipped>,
    /// Plain sentences saying what the numbers mean.
    pub notes: Vec<String>,
    /// Every measured sample.
    pub samples: Vec<RecordedSample>,
}

/// Derived statistics of one runner on one case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunnerRow {
    /// The runner.
    pub runner: RunnerKind,
    /// Its worker count.
    pub workers: usize,
    /// Wall time, milliseconds.
    pub wall_ms: Summary,
    /// Serial / runner, paired per round.
    pub speedup: Option<RatioSummary>,
    /// Speedup / workers.
    pub efficiency: Option<f64>,
    /// Median of CPU time / wall time per sample (1.0 = one busy core).
    pub cpu_utilisation: f64,
    /// Median CPU time, milliseconds.
    pub cpu_ms: f64,
    /// Process runner: median time until the last child was ready, milliseconds.
    pub startup_ms: Option<f64>,
    /// One-off set-up outside the samples (rayon pool build), milliseconds.
    pub setup_ms: Option<f64>,
    /// Median load imbalance: busiest worker's busy time / mean busy time.
    pub imbalance: Option<f64>,
    /// Samples during which other processes used more than [`DISTURBED_SHARE`] of a
    /// core (beyond the `/proc/stat` rounding, see [`is_disturbed`]).
    pub disturbed_samples: usize,
    /// What the result check found.
    pub result: RowResult,
}

/// The result check of a row, over all its samples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RowResult {
    /// Every sample verified.
    Verified {
        /// What was checked.
        detail: String,
    },
    /// The unsynchronised counter lost updates in some samples.
    LostUpdates {
        /// Increments per sample.
        expected: u64,
        /// Median share of updates lost (0..1).
        median_lost: f64,
        /// Largest share lost.
        max_lost: f64,
        /// Samples that lost at least one update.
        samples_losing: usize,
    },
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
    let notes = counter_comparison(&cases);
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
            setup_ms: m.setup_ns.iter().find(|(k, _)| *k == kind).map(|(_, ns)| ms(*ns)),
            imbalance,
            disturbed_samples,
            result: row_result(&samples),
        });
    }
    let mut case = CaseReport {
        workload: m.params.name().to_string(),
        label: m.params.label(),
        params: m.params,
        tasks: m.tasks,
        workers: m.workers,
        rows,
        skipped,
        notes: Vec::new(),
        samples: m.samples,
    };
    case.notes = case_notes(&case, env);
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

/// Formats milliseconds with a unit that suits the magnitude: `812 µs`, `12.3 ms`, `1.52 s`.
pub fn fmt_ms(value: f64) -> String {
    let abs = value.abs();
    if abs == 0.0 {
        "0 ms".to_string()
    } else if abs >= 1000.0 {
        format!("{:.2} s", value / 1000.0)
    } else if abs >= 100.0 {
        format!("{value:.0} ms")
    } else if abs >= 10.0 {
        format!("{value:.1} ms")
    } else if abs >= 1.0 {
        format!("{value:.2} ms")
    } else {
        format!("{:.0} µs", value * 1000.0)
    }
}

/// A count with thousands separators: `998,004`.
pub fn fmt_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A percentage with one decimal: `48.2%`.
pub fn fmt_pct(fraction: f64) -> String {
    format!("{:.1}%", fraction * 100.0)
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
    let is_sleep = matches!(case.params, WorkloadParams::Sleep(_));
    if !is_sleep && case.workers > cores {
        notes.push(format!(
            "{} workers share {cores} available core(s), so CPU-bound speedup cannot exceed {cores}x.",
            case.workers
        ));
    }
    if let WorkloadParams::Sleep(p) = &case.params {
        let waves = case.tasks.div_ceil(case.workers.max(1)) as f64;
        let ideal = waves * f64::from(p.ms);
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
                "Processes paid {} of start-up (spawn until the last of {} children was ready){share}.",
                fmt_ms(startup),
                p.workers,
            ));
        }
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
    if !is_sleep && cores >= 2 {
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

/// For a counter run over several synchronisation modes: which mode was fastest per
/// parallel runner.
fn counter_comparison(cases: &[CaseReport]) -> Vec<String> {
    let counters: Vec<(SyncMode, &CaseReport)> = cases
        .iter()
        .filter_map(|c| match &c.params {
            WorkloadParams::Counter(p) => Some((p.sync, c)),
            _ => None,
        })
        .collect();
    if counters.len() < 2 {
        return Vec::new();
    }
    let mut notes = Vec::new();
    for kind in [RunnerKind::Threads, RunnerKind::Rayon, RunnerKind::Process] {
        let mut times: Vec<(SyncMode, f64)> = counters
            .iter()
            .filter(|(mode, _)| *mode != SyncMode::None)
            .filter_map(|(mode, c)| c.rows.iter().find(|r| r.runner == kind).map(|r| (*mode, r.wall_ms.median)))
            .collect();
        if times.len() < 2 {
            continue;
        }
        times.sort_by(|a, b| a.1.total_cmp(&b.1));
        let list: Vec<String> = times.iter().map(|(m, t)| format!("{} {}", m.name(), fmt_ms(*t))).collect();
        notes.push(format!(
            "With {kind}, {} was the fastest correct synchronisation ({}).",
            times[0].0.name(),
            list.join(", ")
        ));
    }
    notes
}

/// Output formats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// A table for the terminal.
    #[default]
    Table,
    /// The full versioned JSON result.
    Json,
    /// One row per runner and case.
    Csv,
    /// GitHub-flavoured Markdown.
    Markdown,
    /// Bencher Metric Format (JSON), for bencher.dev.
    Bmf,
    /// github-action-benchmark's custom JSON (customSmallerIsBetter).
    GithubBenchmark,
}

impl Format {
    /// The format a file name suggests by its extension, if any.
    pub fn from_extension(path: &std::path::Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "md" | "markdown" => Some(Format::Markdown),
            "txt" => Some(Format::Table),
            _ => None,
        }
    }

    /// The reporter for this format: the one place a reporter is chosen.
    pub fn reporter(self) -> Box<dyn Reporter> {
        match self {
            Format::Table => Box::new(TableReporter),
            Format::Json => Box::new(JsonReporter),
            Format::Csv => Box::new(CsvReporter),
            Format::Markdown => Box::new(MarkdownReporter),
            Format::Bmf => Box::new(BmfReporter),
            Format::GithubBenchmark => Box::new(GithubBenchmarkReporter),
        }
    }
}

/// Formats a finished report. Reporters compute nothing.
pub trait Reporter {
    /// Writes `report` to `out`.
    fn write(&self, report: &Report, out: &mut dyn Write) -> io::Result<()>;
}

/// The header lines shared by the table and Markdown reporters.
pub(crate) fn header_lines(report: &Report) -> Vec<String> {
    let e = &report.environment;
    let s = &report.settings;
    vec![
        format!(
            "machine: {} · {} logical / {} physical cores, {} available · {} {}",
            e.cpu_model,
            e.logical_cores,
            e.physical_cores,
            e.available_parallelism,
            e.os,
            e.kernel.as_deref().unwrap_or("")
        )
        .trim_end()
        .to_string(),
        format!(
            "{} rounds after {} warm-up, runners in shuffled order (seed {}), schedule {}",
            s.rounds,
            s.warmup,
            s.seed,
            s.schedule.name()
        ),
    ]
}

/// The per-case title line.
pub(crate) fn case_title(case: &CaseReport) -> String {
    let plural = if case.workers == 1 { "" } else { "s" };
    format!("{} · {} tasks · {} worker{plural}", case.label, case.tasks, case.workers)
}

/// Cells of one row, shared by the table and Markdown reporters.
pub(crate) fn row_cells(row: &RunnerRow) -> Vec<String> {
    let w = &row.wall_ms;
    vec![
        row.runner.name().to_string(),
        row.workers.to_string(),
        format!("{} ± {}", fmt_ms(w.median), fmt_ms(w.mad)),
        format!("{} .. {}", fmt_ms(w.min), fmt_ms(w.max)),
        row.speedup.map(|s| format!("{:.2}x", s.median)).unwrap_or_else(|| "-".into()),
        row.efficiency.map(fmt_pct).unwrap_or_else(|| "-".into()),
        if row.wall_ms.median < SHORT_SAMPLE_MS { "-".to_string() } else { format!("{:.2}", row.cpu_utilisation) },
        match &row.result {
            RowResult::Verified { .. } => "ok".to_string(),
            RowResult::LostUpdates { median_lost, expected, .. } => {
                format!(
                    "lost {} ({})",
                    fmt_pct(*median_lost),
                    fmt_count((*median_lost * *expected as f64).round() as u64)
                )
            }
        },
    ]
}

/// Column titles matching [`row_cells`].
pub(crate) const COLUMNS: [&str; 8] =
    ["runner", "workers", "wall (median ± MAD)", "min .. max", "speedup", "efficiency", "CPU util", "result"];

/// The verification details and skipped runners, one line each.
pub(crate) fn case_footer(case: &CaseReport) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(RowResult::Verified { detail }) =
        case.rows.iter().map(|r| &r.result).find(|r| matches!(r, RowResult::Verified { .. }))
    {
        lines.push(format!("verified: {detail}"));
    }
    for s in &case.skipped {
        lines.push(format!("skipped {}: {}", s.runner, s.reason));
    }
    lines.extend(case.notes.iter().cloned());
    lines
}

#[cfg(test)]
pub(crate) mod fixture;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_pick_a_readable_unit() {
        assert_eq!(fmt_ms(0.8123), "812 µs");
        assert_eq!(fmt_ms(1.234), "1.23 ms");
        assert_eq!(fmt_ms(12.34), "12.3 ms");
        assert_eq!(fmt_ms(123.4), "123 ms");
        assert_eq!(fmt_ms(1520.0), "1.52 s");
    }

    #[test]
    fn format_follows_the_file_extension() {
        use std::path::Path;
        assert_eq!(Format::from_extension(Path::new("a/b.JSON")), Some(Format::Json));
        assert_eq!(Format::from_extension(Path::new("x.md")), Some(Format::Markdown));
        assert_eq!(Format::from_extension(Path::new("x")), None);
    }

    #[test]
    fn fixture_report_has_speedups_paired_per_round() {
        let r = fixture::report();
        let fib = &r.cases[0];
        let threads = fib.rows.iter().find(|r| r.runner == RunnerKind::Threads).unwrap();
        // serial rounds 200,210,190 / threads 100,105,100 -> ratios 2.0, 2.0, 1.9.
        assert_eq!(threads.speedup.unwrap().median, 2.0);
        assert_eq!(threads.efficiency, Some(1.0));
    }

    #[test]
    fn the_counter_none_case_reports_lost_updates_in_a_sentence() {
        let r = fixture::report();
        let none = r.cases.iter().find(|c| c.label.contains("sync=none")).unwrap();
        assert!(none.notes.iter().any(|n| n.contains("lost 500 (25.0%) of the 2,000 updates")), "{:?}", none.notes);
        assert!(r.notes.iter().any(|n| n.contains("sharded was the fastest")), "{:?}", r.notes);
    }
}
