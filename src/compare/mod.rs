//! `parbench compare BASE NEW`: did NEW regress against BASE, beyond noise?
//!
//! The rule, built to hold on a shared, noisy 2-core machine:
//! 1. Comparability first: the same suite configuration, architecture and core counts,
//!    else exit 3. Absolute times are gated only when the environment fingerprints are
//!    identical; otherwise only machine-independent metrics are: speedup (paired within
//!    rounds; efficiency is speedup / W, so it is the same test), CPU inflation (runner
//!    CPU / serial CPU), sleep overhead (wall / ideal wall) and process overhead (the
//!    process runner's start-up as a share of its own wall time, so that another
//!    runner's improvement never counts against it).
//! 2. Per (cell, metric): the effect as a ratio NEW/BASE, estimated by Hodges-Lehmann
//!    on log values with a 99% Moses interval, a Mann-Whitney test, Holm's correction
//!    across all gated pairs, and a threshold from the run-to-run spread of the baseline
//!    runs: max(floor, 3 x their robust CV, the ratio of their largest to smallest
//!    median - 1). A REGRESSION needs both significance and an effect beyond the
//!    threshold.
//! 3. A cell whose own spread is too large (robust CV > 15%) is UNSTABLE and only fails
//!    when grossly worse: at least 1.5x, and beyond the threshold.
//!
//! Cells of the counter's `none` mode are reported but never gated: they time a data
//! race, whose speed depends on how the workers' stores interleave (up to 2x between
//! runs of unchanged code here), so no threshold separates a regression from luck.
//!
//! Why the range of run medians: twelve runs of the ci suite on unchanged code on a
//! shared 2-core VM showed whole runs in a different state (the unsynchronised
//! counter's median wall time ranged from 79 to 160 ms between runs; the process
//! runner's start-up share from 1.3% to 8.7%). A robust spread ignores such runs by
//! design, which is right within a run and wrong between runs: a value the baseline's
//! own runs have shown is not a regression.
//!
//! The one decision a reader would otherwise get wrong: the baseline may be a directory
//! of several runs; their samples are pooled for the test, and the spread *between*
//! their medians sets the threshold. That is what keeps a slow afternoon from failing
//! CI: a single run's samples cannot show run-to-run drift, several runs can.

use serde::{Deserialize, Serialize};

use crate::fingerprint::Fingerprint;
use crate::measure::by_round;
use crate::result::{CaseReport, Report};
use crate::runner::{RunnerKind, Sample};
use crate::stats;

mod render;

pub use render::write;

/// Version of the comparison JSON.
pub const COMPARE_SCHEMA_VERSION: u32 = 1;

/// Tunable rule parameters (defaults from the design; see the module doc).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rules {
    /// Smallest threshold for relative (machine-independent) metrics.
    pub floor_relative: f64,
    /// Smallest threshold for absolute times.
    pub floor_absolute: f64,
    /// Multiple of the baseline's run-to-run spread used as threshold.
    pub spread_factor: f64,
    /// Robust CV above which a cell is UNSTABLE.
    pub unstable_cv: f64,
    /// An UNSTABLE cell fails only when at least this much worse.
    pub gross: f64,
    /// Family-wise significance level (and 1 - confidence of the intervals).
    pub alpha: f64,
    /// Fewer samples than this on either side: INCONCLUSIVE.
    pub min_samples: usize,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            floor_relative: 0.10,
            floor_absolute: 0.20,
            spread_factor: 3.0,
            unstable_cv: 0.15,
            gross: 1.5,
            alpha: 0.01,
            min_samples: 5,
        }
    }
}

/// The verdict of one (cell, metric).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    /// Significantly worse, beyond the threshold.
    Regression,
    /// Too noisy to judge (robust CV above the limit) and not grossly worse.
    Unstable,
    /// Too few samples.
    Inconclusive,
    /// Significantly better, beyond the threshold.
    Improvement,
    /// A difference that is either not significant or smaller than the threshold.
    WithinNoise,
    /// No significant difference and within the threshold.
    Unchanged,
}

impl Verdict {
    /// Upper-case name, as printed.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Regression => "REGRESSION",
            Verdict::Improvement => "IMPROVEMENT",
            Verdict::Unchanged => "UNCHANGED",
            Verdict::WithinNoise => "WITHIN_NOISE",
            Verdict::Unstable => "UNSTABLE",
            Verdict::Inconclusive => "INCONCLUSIVE",
        }
    }
}

/// What is compared in a cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Wall time per sample, ms (absolute; lower is better).
    Wall,
    /// Serial wall / runner wall per round (higher is better).
    Speedup,
    /// Runner CPU / serial CPU per round (lower is better).
    CpuInflation,
    /// Wall / ideal wall for sleeping tasks (lower is better).
    SleepOverhead,
    /// Process start-up / process wall per sample (lower is better).
    ProcessOverhead,
}

impl Metric {
    /// Name as printed.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Wall => "wall",
            Metric::Speedup => "speedup",
            Metric::CpuInflation => "cpu_inflation",
            Metric::SleepOverhead => "sleep_overhead",
            Metric::ProcessOverhead => "process_overhead",
        }
    }

    fn higher_is_better(self) -> bool {
        self == Metric::Speedup
    }

    fn is_absolute(self) -> bool {
        self == Metric::Wall
    }
}

/// The comparison of one metric of one runner in one case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellResult {
    /// Case label.
    pub case: String,
    /// Workers of the case.
    pub workers: usize,
    /// Runner.
    pub runner: RunnerKind,
    /// Metric.
    pub metric: Metric,
    /// Whether this cell can fail the comparison.
    pub gated: bool,
    /// Baseline samples (pooled over baseline runs).
    pub base_n: usize,
    /// New samples.
    pub new_n: usize,
    /// Baseline median.
    pub base_median: f64,
    /// New median.
    pub new_median: f64,
    /// NEW / BASE (Hodges-Lehmann on logs), with its 99% interval.
    pub ratio: f64,
    /// Lower end of the interval.
    pub ratio_low: f64,
    /// Upper end of the interval.
    pub ratio_high: f64,
    /// Mann-Whitney p-value.
    pub p: f64,
    /// Holm-adjusted p-value (equal to `p` for ungated cells).
    pub p_adjusted: f64,
    /// Relative threshold used (0.10 = 10%).
    pub threshold: f64,
    /// Largest robust CV of the two sides.
    pub cv: f64,
    /// The verdict.
    pub verdict: Verdict,
}

impl CellResult {
    /// How much worse NEW is, as a factor > 1 (or better, < 1), whatever the metric's
    /// direction.
    pub fn badness(&self) -> f64 {
        if self.metric.higher_is_better() { 1.0 / self.ratio } else { self.ratio }
    }
}

/// The whole comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Format version.
    pub schema_version: u32,
    /// Baseline files used.
    pub base_files: Vec<String>,
    /// Baseline files left out, and why.
    pub skipped_base: Vec<String>,
    /// The new file.
    pub new_file: String,
    /// Whether absolute times were gated (identical fingerprints).
    pub absolute_gated: bool,
    /// The rules applied.
    pub rules: Rules,
    /// Every cell.
    pub cells: Vec<CellResult>,
}

impl Comparison {
    /// Gated cells that regressed.
    pub fn regressions(&self) -> impl Iterator<Item = &CellResult> {
        self.cells.iter().filter(|c| c.gated && c.verdict == Verdict::Regression)
    }

    /// Count of gated cells with `verdict`.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.cells.iter().filter(|c| c.gated && c.verdict == verdict).count()
    }
}

/// Why two results cannot be compared.
#[derive(Debug)]
pub struct Incomparable {
    /// The reason, one line.
    pub reason: String,
    /// Baseline fingerprint.
    pub base: Box<Fingerprint>,
    /// New fingerprint.
    pub new: Box<Fingerprint>,
}

/// Fingerprint fields that must match for results to be comparable at all.
fn machine_class(f: &Fingerprint) -> (String, usize, usize) {
    (f.arch.clone(), f.logical_cores, f.available_parallelism)
}

/// Fingerprint fields that must match for absolute times to be comparable.
fn identical_machine(a: &Fingerprint, b: &Fingerprint) -> bool {
    machine_class(a) == machine_class(b)
        && a.cpu_model == b.cpu_model
        && a.physical_cores == b.physical_cores
        && a.os == b.os
        && a.kernel == b.kernel
}

fn case_keys(r: &Report) -> Vec<(String, usize)> {
    let mut keys: Vec<(String, usize)> = r.cases.iter().map(|c| (c.label.clone(), c.workers)).collect();
    keys.sort();
    keys
}

/// Why `base` cannot be compared with `new`, if it cannot.
pub fn incomparability(base: &Report, new: &Report) -> Option<String> {
    let (b, n) = (&base.environment, &new.environment);
    if b.arch != n.arch {
        return Some(format!("different architectures (base {}, new {})", b.arch, n.arch));
    }
    if (b.logical_cores, b.available_parallelism) != (n.logical_cores, n.available_parallelism) {
        return Some(format!(
            "different core counts (base {} logical / {} available, new {} logical / {} available)",
            b.logical_cores, b.available_parallelism, n.logical_cores, n.available_parallelism
        ));
    }
    match (&base.suite, &new.suite) {
        (Some(bs), Some(ns)) if bs.digest != ns.digest => Some(format!(
            "different suite configurations (base {} digest {}, new {} digest {})",
            bs.name, bs.digest, ns.name, ns.digest
        )),
        (Some(_), None) | (None, Some(_)) => Some("one result comes from a suite and the other does not".into()),
        (None, None) if case_keys(base) != case_keys(new) => Some("the results measured different workloads".into()),
        _ => None,
    }
}

/// Compares NEW against the baseline runs. `Err(Incomparable)` when no baseline is
/// comparable and `allow_incomparable` is off.
pub fn compare(
    bases: &[(String, Report)],
    new_name: &str,
    new: &Report,
    rules: &Rules,
    allow_incomparable: bool,
) -> Result<Comparison, Incomparable> {
    let mut used = Vec::new();
    let mut skipped_base = Vec::new();
    let mut first_reason = None;
    for (name, base) in bases {
        match incomparability(base, new) {
            Some(reason) if !allow_incomparable => {
                skipped_base.push(format!("{name}: {reason}"));
                first_reason.get_or_insert((reason, base.environment.clone()));
            }
            _ => used.push((name.as_str(), base)),
        }
    }
    if used.is_empty() {
        let (reason, base) = first_reason.expect("no baseline at all is caught earlier");
        return Err(Incomparable { reason, base: Box::new(base), new: Box::new(new.environment.clone()) });
    }
    let absolute_gated = used.iter().all(|(_, b)| identical_machine(&b.environment, &new.environment));
    let mut cells = Vec::new();
    for case in &new.cases {
        let base_cases: Vec<&CaseReport> = used
            .iter()
            .filter_map(|(_, b)| b.cases.iter().find(|c| c.label == case.label && c.workers == case.workers))
            .collect();
        if base_cases.is_empty() {
            continue;
        }
        for row in &case.rows {
            for metric in metrics_for(case, row.runner) {
                let new_values = values(case, row.runner, metric);
                let per_run: Vec<Vec<f64>> = base_cases.iter().map(|c| values(c, row.runner, metric)).collect();
                if new_values.is_empty() || per_run.iter().all(Vec::is_empty) {
                    continue;
                }
                let gated = (!metric.is_absolute() || absolute_gated) && !is_race(case);
                cells.push(cell(case, row.runner, metric, gated, &per_run, &new_values, rules));
            }
        }
    }
    // Holm across every gated, judgeable pair; then the verdicts.
    let judged: Vec<usize> =
        (0..cells.len()).filter(|&i| cells[i].gated && cells[i].verdict != Verdict::Inconclusive).collect();
    let adjusted = stats::holm(&judged.iter().map(|&i| cells[i].p).collect::<Vec<_>>());
    for (&i, &p) in judged.iter().zip(&adjusted) {
        cells[i].p_adjusted = p;
    }
    for c in cells.iter_mut().filter(|c| c.verdict != Verdict::Inconclusive) {
        c.verdict = verdict(c, rules);
    }
    Ok(Comparison {
        schema_version: COMPARE_SCHEMA_VERSION,
        base_files: used.iter().map(|(n, _)| n.to_string()).collect(),
        skipped_base,
        new_file: new_name.to_string(),
        absolute_gated,
        rules: rules.clone(),
        cells,
    })
}

/// A case the workload declared a race (the unsynchronised counter): reported, never
/// gated.
fn is_race(case: &CaseReport) -> bool {
    case.race
}

/// The built-in `sleep` workload's sleep per task: its ideal wall time is known.
fn sleep_ms(case: &CaseReport) -> Option<f64> {
    (case.workload == "sleep").then(|| case.params.get("ms")?.as_f64()).flatten()
}

fn metrics_for(case: &CaseReport, runner: RunnerKind) -> Vec<Metric> {
    let mut m = vec![Metric::Wall];
    let sleep = sleep_ms(case).is_some();
    if runner != RunnerKind::Serial {
        m.push(Metric::Speedup);
        // Sleeping tasks use almost no CPU: a ratio of two near-zero CPU times is noise.
        if !sleep {
            m.push(Metric::CpuInflation);
        }
    }
    if sleep {
        m.push(Metric::SleepOverhead);
    }
    if runner == RunnerKind::Process {
        m.push(Metric::ProcessOverhead);
    }
    m
}

/// One value per sample (or per round, for paired metrics) of `metric`.
fn values(case: &CaseReport, runner: RunnerKind, metric: Metric) -> Vec<f64> {
    let positive = |v: f64| (v.is_finite() && v > 0.0).then_some(v);
    let mine = || case.samples.iter().map(|s| &s.sample).filter(|s| s.runner == runner);
    let wall = |s: &Sample| s.wall_ns as f64;
    let cpu = |s: &Sample| s.cpu_ns as f64;
    match metric {
        Metric::Wall => mine().filter_map(|s| positive(s.wall_ns as f64 / 1e6)).collect(),
        Metric::Speedup => stats::paired_ratios(
            &by_round(&case.samples, RunnerKind::Serial, wall),
            &by_round(&case.samples, runner, wall),
        ),
        Metric::CpuInflation => by_round(&case.samples, runner, cpu)
            .into_iter()
            .zip(by_round(&case.samples, RunnerKind::Serial, cpu))
            // Below a millisecond of serial CPU the ratio is clock-tick noise.
            .filter_map(|(me, serial)| if serial >= 1e6 { positive(me / serial) } else { None })
            .collect(),
        Metric::ProcessOverhead => {
            mine().filter_map(|s| positive(s.startup_ns? as f64 / s.wall_ns.max(1) as f64)).collect()
        }
        Metric::SleepOverhead => {
            let Some(ms) = sleep_ms(case) else { return Vec::new() };
            mine()
                .filter_map(|s| {
                    let ideal = case.tasks.div_ceil(s.workers.max(1)) as f64 * ms * 1e6;
                    positive(s.wall_ns as f64 / ideal)
                })
                .collect()
        }
    }
}

fn cell(
    case: &CaseReport,
    runner: RunnerKind,
    metric: Metric,
    gated: bool,
    per_run: &[Vec<f64>],
    new: &[f64],
    rules: &Rules,
) -> CellResult {
    let base: Vec<f64> = per_run.iter().flatten().copied().collect();
    let floor = if metric.is_absolute() { rules.floor_absolute } else { rules.floor_relative };
    let run_medians: Vec<f64> = per_run.iter().filter_map(|v| stats::median(v)).collect();
    // Run-to-run spread: 3x the robust CV needs at least three runs to mean anything;
    // the range between the extreme run medians counts from two runs on.
    let spread = if run_medians.len() >= 3 { rules.spread_factor * stats::robust_cv(&run_medians) } else { 0.0 };
    let lowest = run_medians.iter().copied().fold(f64::INFINITY, f64::min);
    let highest = run_medians.iter().copied().fold(0.0, f64::max);
    let range = if run_medians.len() >= 2 && lowest > 0.0 { highest / lowest - 1.0 } else { 0.0 };
    let logs = |v: &[f64]| v.iter().map(|x| x.ln()).collect::<Vec<_>>();
    let (lb, ln) = (logs(&base), logs(new));
    let shift = stats::hodges_lehmann(&lb, &ln, 1.0 - rules.alpha);
    let p = stats::mann_whitney_p(&lb, &ln);
    let enough = base.len() >= rules.min_samples && new.len() >= rules.min_samples;
    let (ratio, low, high) = shift.map(|s| (s.estimate.exp(), s.low.exp(), s.high.exp())).unwrap_or((1.0, 1.0, 1.0));
    CellResult {
        case: case.label.clone(),
        workers: case.workers,
        runner,
        metric,
        gated,
        base_n: base.len(),
        new_n: new.len(),
        base_median: stats::median(&base).unwrap_or(0.0),
        new_median: stats::median(new).unwrap_or(0.0),
        ratio,
        ratio_low: low,
        ratio_high: high,
        p,
        p_adjusted: p,
        threshold: floor.max(spread).max(range),
        cv: stats::robust_cv(&base).max(stats::robust_cv(new)),
        verdict: if enough { Verdict::Unchanged } else { Verdict::Inconclusive },
    }
}

fn verdict(c: &CellResult, rules: &Rules) -> Verdict {
    let bad = c.badness();
    let significant = c.p_adjusted < rules.alpha;
    let limit = 1.0 + c.threshold;
    if c.cv > rules.unstable_cv {
        let gross = rules.gross.max(limit);
        return if significant && bad >= gross { Verdict::Regression } else { Verdict::Unstable };
    }
    match (significant, bad) {
        (true, b) if b > limit => Verdict::Regression,
        (true, b) if b < 1.0 / limit => Verdict::Improvement,
        (false, b) if b <= limit && b >= 1.0 / limit => Verdict::Unchanged,
        _ => Verdict::WithinNoise,
    }
}

#[cfg(test)]
pub(crate) mod tests;
