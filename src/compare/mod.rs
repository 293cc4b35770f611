//! `parbench compare BASE NEW`: did NEW regress against BASE, beyond noise?
//!
//! 1. Comparability: the same suite configuration, architecture and core counts, else
//!    exit 3. Absolute times are gated only on identical machines; otherwise only the
//!    machine-independent metrics are (speedup, CPU inflation, sleep and process
//!    overhead). Cells of the counter's `none` mode time a data race: reported, never
//!    gated.
//! 2. Per (cell, metric), a one-sided threshold: a bound on where a run of unchanged
//!    code lands (the worst baseline run median relative to the centre of the run
//!    medians and, from three runs on, 3 robust SDs of the log run medians), times
//!    1 + floor (10% relative, 20% absolute). Only runs worse than the centre widen the
//!    regression side; only better runs the improvement side.
//! 3. The verdict follows the size of the change and its uncertainty:
//!    - 3 or more baseline runs: runs are the unit. NEW's median beyond the centre of the
//!      run medians times 1 + threshold is a REGRESSION. The p shown is NEW's rank
//!      among the runs, for information (it cannot go below 1 / (runs + 1)).
//!    - 1 or 2 baseline runs: samples are pooled; NEW/BASE is the Hodges-Lehmann ratio
//!      on logs with its 99% Moses interval (exact for small samples). An interval
//!      wholly beyond the threshold is a REGRESSION (IMPROVEMENT), wholly inside it
//!      UNCHANGED; an estimate inside with an interval reaching out is WITHIN_NOISE; an
//!      estimate beyond with an interval reaching back is INCONCLUSIVE, with the rounds
//!      per side that would decide it. Holm-adjusted exact Mann-Whitney p-values are
//!      shown for information; they do not decide.
//!    - Every cell is judged on its interval, however noisy: the noise is in the interval
//!      already. A robust CV above 15% labels a cell "unstable", for the reader; the
//!      label never changes the verdict. Fewer than 5 samples on a side is INCONCLUSIVE.
//! 4. Exit 1 on any gated REGRESSION; exit 2 when no gated cell could be judged (all
//!    INCONCLUSIVE) or an input holds nothing to compare; else 0.
//!
//! `parbench ab` ([`paired`]) measures both builds in every round of one job, so its
//! data are pairs: per round, NEW/BASE. The centre of the log ratios (the median of
//! their Walsh averages) with its 99% signed-rank interval takes the place of the
//! Moses interval, and the threshold is the floor alone: the machine's drift between
//! runs, which the run-to-run bound is for, is common to both members of a pair. The
//! verdicts, the limits and the exit codes are the ones above.
//!
//! Why, with the measurements behind each choice: `README.md` beside this file.

use serde::{Deserialize, Serialize};

use crate::error::UsageError;
use crate::fingerprint::Fingerprint;
use crate::measure::{RecordedSample, by_round};
use crate::result::{CaseReport, Report};
use crate::runner::{RunnerId, Sample};
use crate::stats;

mod input;
mod render;
mod rule;

#[cfg(test)]
pub(crate) use input::validate;
pub use input::{incomparability, load_inputs};
#[cfg(test)]
use render::headline;
pub use render::{incomparable, write};

/// Version of the comparison JSON.
pub const COMPARE_SCHEMA_VERSION: u32 = 4;

/// Tunable rule parameters (defaults from the design; see the module doc).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Rules {
    /// Smallest threshold for relative (machine-independent) metrics.
    pub floor_relative: f64,
    /// Smallest threshold for absolute times.
    pub floor_absolute: f64,
    /// Robust standard deviations of the baseline's log run medians in the run-to-run
    /// bound (three or more runs).
    pub spread_factor: f64,
    /// Robust CV above which a cell is labelled unstable (a label only: the verdict
    /// follows the interval, which carries the noise).
    pub unstable_cv: f64,
    /// 1 - confidence of the intervals (and the level of the p-values shown).
    pub alpha: f64,
    /// Fewer samples than this on either side: INCONCLUSIVE.
    pub min_samples: usize,
    /// From this many baseline runs on, cells are judged run by run.
    pub min_runs: usize,
    /// A case or runner of BASE that NEW lacks is shown, and not an input error.
    #[serde(default)]
    pub allow_missing: bool,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            floor_relative: 0.10,
            floor_absolute: 0.20,
            spread_factor: 3.0,
            unstable_cv: 0.15,
            alpha: 0.01,
            min_samples: 5,
            min_runs: 3,
            allow_missing: false,
        }
    }
}

/// The verdict of one (cell, metric).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    /// Worse beyond the threshold: the interval (or, by runs, NEW's median) lies wholly
    /// beyond it.
    Regression,
    /// The data cannot decide: too few samples, or an estimate beyond the threshold
    /// whose interval reaches back inside it. See [`CellResult::rounds_to_decide`].
    Inconclusive,
    /// Better beyond the threshold.
    Improvement,
    /// The estimate is within the threshold, but the interval reaches beyond it.
    WithinNoise,
    /// Within the threshold, interval and all.
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
            Verdict::Inconclusive => "INCONCLUSIVE",
        }
    }
}

/// What is compared in a cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
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

/// What a cell's interval and p-value are computed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Samples pooled over one or two baseline runs: a Moses interval and an exact
    /// Mann-Whitney test.
    Samples,
    /// Three or more baseline runs: NEW's median against the runs' medians.
    Runs,
    /// Rounds that measured both builds (`parbench ab`): the per-round NEW/BASE ratios,
    /// with a signed-rank interval and test.
    Pairs,
}

/// The comparison of one metric of one runner in one case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CellResult {
    /// Case label.
    pub case: String,
    /// Workers of the case.
    pub workers: usize,
    /// Runner.
    pub runner: RunnerId,
    /// Metric.
    pub metric: Metric,
    /// Whether this cell can fail the comparison.
    pub gated: bool,
    /// What the interval and p-value are computed from.
    pub basis: Basis,
    /// Baseline runs holding this cell (1 for pairs).
    pub base_runs: usize,
    /// Baseline samples (all runs).
    pub base_n: usize,
    /// New samples; for pairs, the rounds with a ratio.
    pub new_n: usize,
    /// Baseline: median of the pooled samples, or, by runs, median of the run medians.
    pub base_median: f64,
    /// New median.
    pub new_median: f64,
    /// NEW / BASE: the Hodges-Lehmann ratio on logs (for pairs, of the per-round
    /// ratios), or, by runs, the ratio of medians.
    pub ratio: f64,
    /// Lower end: of the Moses (pairs: signed-rank) interval, or, by runs, NEW / the
    /// highest run median.
    pub ratio_low: f64,
    /// Upper end: of the Moses (pairs: signed-rank) interval, or, by runs, NEW / the
    /// lowest run median.
    pub ratio_high: f64,
    /// Samples: exact two-sided Mann-Whitney p. Pairs: two-sided Wilcoxon signed-rank
    /// p. Runs: NEW's one-sided rank among the run medians, (runs at least as extreme +
    /// 1) / (runs + 1). For information.
    pub p: f64,
    /// Samples and pairs: Holm-adjusted over the gated cells of that basis. Runs:
    /// equal to `p`.
    pub p_adjusted: f64,
    /// Regression threshold (0.10 = 10% worse).
    pub threshold: f64,
    /// Improvement threshold (0.10 = 10% better).
    pub improvement_threshold: f64,
    /// Largest robust CV within a run (NEW, or the median over the baseline runs); for
    /// pairs, the robust CV of the per-round ratios.
    pub cv: f64,
    /// `cv` is above [`Rules::unstable_cv`]: a label for the reader, never part of the
    /// verdict (a noisy cell's interval is wide already).
    #[serde(default)]
    pub unstable: bool,
    /// Samples: the ratio of the medians shown, `new_median / base_median`, differs
    /// from `ratio` by more than half the threshold. The samples are then not one
    /// distribution shifted (several modes, or rounds far off), and the medians alone
    /// mislead.
    #[serde(default)]
    pub medians_disagree: bool,
    /// The verdict.
    pub verdict: Verdict,
    /// INCONCLUSIVE cells: rounds per side (baseline and NEW) that would decide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounds_to_decide: Option<usize>,
}

/// A case, or one runner of a case, that one side measured and the other did not.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Missing {
    /// Case label.
    pub case: String,
    /// Workers of the case.
    pub workers: usize,
    /// The runner the other side lacks; `None`: the whole case.
    pub runner: Option<RunnerId>,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self.runner {
            Some(r) => write!(f, "{} ·{}w · {r}", self.case, self.workers),
            None => write!(f, "{} ·{}w (the whole case)", self.case, self.workers),
        }
    }
}

/// The whole comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// What the baseline measured and NEW lacks: nothing can be said about it.
    #[serde(default)]
    pub missing: Vec<Missing>,
    /// What NEW measured and no baseline run has (a runner or case added since): shown,
    /// never judged, never an error.
    #[serde(default)]
    pub new_only: Vec<Missing>,
    /// `parbench ab`: the two programs measured, as each described itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builds: Option<Builds>,
}

/// The two programs `parbench ab` measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Builds {
    /// BASE.
    pub base: Build,
    /// NEW.
    pub new: Build,
    /// How the pairs of samples went.
    #[serde(default)]
    pub pairs: PairCounts,
}

/// The pairs `parbench ab` recorded (one sample of each build of one case and runner,
/// in one round), and how many other processes disturbed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PairCounts {
    /// Pairs recorded (rounds x cases x runners).
    pub pairs: usize,
    /// Pairs measured again because other processes used the CPU during them.
    pub remeasured: usize,
    /// Pairs recorded disturbed all the same (every attempt was, or the budget of
    /// attempts, as many as the pairs, was spent).
    pub disturbed: usize,
}

/// One program `parbench ab` measured: as given, and its fingerprint (git commit,
/// rustc, parbench version; the machine as the program saw it, affinity included).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Build {
    /// The program as given on the command line.
    pub program: String,
    /// Its own fingerprint.
    pub environment: Fingerprint,
}

/// What a comparison amounts to, for the exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// No gated regression, and at least one gated cell was judged (exit 0).
    NoRegression,
    /// A gated regression (exit 1).
    Regression,
    /// No gated cell could be judged: nothing, or only INCONCLUSIVE cells (exit 2).
    NothingJudged,
    /// NEW lacks cases or runners the baseline has, and `--allow-missing` is off
    /// (exit 2, whatever the other cells say).
    Missing,
}

/// What would decide the undecided cells, `n` rounds a side: for `ab`, one more run
/// of it with `--rounds n` (both builds are measured by it); for `compare`, results
/// of both BASE and NEW measured with `--rounds n`.
fn more_rounds(cmp: &Comparison, n: usize) -> String {
    if cmp.builds.is_some() {
        format!("run ab again with --rounds {n}")
    } else {
        format!("measure both BASE and NEW with --rounds {n}")
    }
}

impl Comparison {
    /// Gated cells that regressed.
    pub fn regressions(&self) -> impl Iterator<Item = &CellResult> {
        self.cells.iter().filter(|c| c.gated && c.verdict == Verdict::Regression)
    }

    /// Count of gated cells labelled unstable.
    pub fn unstable(&self) -> usize {
        self.cells.iter().filter(|c| c.gated && c.unstable).count()
    }

    /// Count of gated cells with `verdict`.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.cells.iter().filter(|c| c.gated && c.verdict == verdict).count()
    }

    /// Count of gated cells.
    pub fn gated(&self) -> usize {
        self.cells.iter().filter(|c| c.gated).count()
    }

    /// The most rounds per side any gated INCONCLUSIVE cell needs to be decided.
    pub fn rounds_to_decide(&self) -> Option<usize> {
        self.cells.iter().filter(|c| c.gated).filter_map(|c| c.rounds_to_decide).max()
    }

    /// The input error of a comparison that judged nothing: which file (for `ab`, the
    /// NEW build), and what to do.
    pub fn nothing_judged(&self) -> UsageError {
        let gated = self.gated();
        UsageError::new(match self.rounds_to_decide() {
            _ if gated == 0 => format!(
                "{}: no cell of this comparison can be gated (only ungated metrics or cases); nothing was judged",
                self.new_file
            ),
            Some(n) => format!(
                "{}: none of the {gated} gated cells could be decided (all INCONCLUSIVE); {} or more",
                self.new_file,
                more_rounds(self, n)
            ),
            None => format!("{}: none of the {gated} gated cells could be decided (all INCONCLUSIVE)", self.new_file),
        })
    }

    /// The input error of a comparison with missing cells: which, and what to do.
    pub fn missing_error(&self) -> UsageError {
        let names: Vec<String> = self.missing.iter().map(ToString::to_string).collect();
        UsageError::new(format!(
            "{}: lacks {} cell(s) the baseline has ({}); nothing can be said about them: measure them, or pass \
             --allow-missing",
            self.new_file,
            names.len(),
            names.join("; ")
        ))
    }

    /// The exit status: 0 no regression, 1 a regression; the input error (exit 2) of a
    /// comparison that judged nothing or lacks cells.
    pub fn exit(&self) -> Result<std::process::ExitCode, UsageError> {
        match self.outcome() {
            Outcome::Regression => Ok(std::process::ExitCode::from(1)),
            Outcome::NoRegression => Ok(std::process::ExitCode::SUCCESS),
            Outcome::NothingJudged => Err(self.nothing_judged()),
            Outcome::Missing => Err(self.missing_error()),
        }
    }

    /// Regression, no regression, nothing judged, or missing cells.
    pub fn outcome(&self) -> Outcome {
        if !self.missing.is_empty() && !self.rules.allow_missing { Outcome::Missing } else { self.judged() }
    }

    /// What the cells that were compared say: regression, no regression, or nothing
    /// judged, whatever is missing.
    pub fn judged(&self) -> Outcome {
        if self.regressions().next().is_some() {
            Outcome::Regression
        } else if self.gated() == self.count(Verdict::Inconclusive) {
            Outcome::NothingJudged
        } else {
            Outcome::NoRegression
        }
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
    let absolute_gated = used.iter().all(|(_, b)| input::identical_machine(&b.environment, &new.environment));
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
            for metric in metrics_for(case.task_ms, row.runner) {
                let new_values = values(&CaseData::of(case), row.runner, metric);
                let per_run: Vec<Vec<f64>> =
                    base_cases.iter().map(|c| values(&CaseData::of(c), row.runner, metric)).collect();
                if new_values.is_empty() || per_run.iter().all(Vec::is_empty) {
                    continue;
                }
                let gated = (!metric.is_absolute() || absolute_gated) && !is_race(case);
                let key = rule::CellKey {
                    case: case.label.clone(),
                    workers: case.workers,
                    runner: row.runner,
                    metric,
                    gated,
                };
                cells.push(rule::judge(key, &per_run, &new_values, rules));
            }
        }
    }
    let mut missing = std::collections::BTreeSet::new();
    for (_, base) in &used {
        for bc in &base.cases {
            match new.cases.iter().find(|c| c.label == bc.label && c.workers == bc.workers) {
                None => {
                    missing.insert(Missing { case: bc.label.clone(), workers: bc.workers, runner: None });
                }
                Some(nc) => {
                    for row in bc.rows.iter().filter(|r| !nc.rows.iter().any(|n| n.runner == r.runner)) {
                        let runner = Some(row.runner);
                        missing.insert(Missing { case: bc.label.clone(), workers: bc.workers, runner });
                    }
                }
            }
        }
    }
    let mut new_only = std::collections::BTreeSet::new();
    for nc in &new.cases {
        let in_base: Vec<&CaseReport> = used
            .iter()
            .filter_map(|(_, b)| b.cases.iter().find(|c| c.label == nc.label && c.workers == nc.workers))
            .collect();
        if in_base.is_empty() {
            new_only.insert(Missing { case: nc.label.clone(), workers: nc.workers, runner: None });
            continue;
        }
        for row in nc.rows.iter().filter(|r| !in_base.iter().any(|b| b.rows.iter().any(|x| x.runner == r.runner))) {
            new_only.insert(Missing { case: nc.label.clone(), workers: nc.workers, runner: Some(row.runner) });
        }
    }
    holm(&mut cells, rules);
    Ok(Comparison {
        schema_version: COMPARE_SCHEMA_VERSION,
        base_files: used.iter().map(|(n, _)| n.to_string()).collect(),
        skipped_base,
        new_file: new_name.to_string(),
        absolute_gated,
        rules: rules.clone(),
        cells,
        missing: missing.into_iter().collect(),
        new_only: new_only.into_iter().collect(),
        builds: None,
    })
}

/// Holm over the gated sample-based or paired cells that have a p-value; for
/// information.
fn holm(cells: &mut [CellResult], rules: &Rules) {
    let family: Vec<usize> = (0..cells.len())
        .filter(|&i| {
            let c = &cells[i];
            c.gated && c.basis != Basis::Runs && c.base_n >= rules.min_samples && c.new_n >= rules.min_samples
        })
        .collect();
    let adjusted = stats::holm(&family.iter().map(|&i| cells[i].p).collect::<Vec<_>>());
    for (&i, &p) in family.iter().zip(&adjusted) {
        cells[i].p_adjusted = p;
    }
}

/// What a case's metrics are computed from: a result's case, or the samples one build
/// gave `parbench ab`.
#[derive(Clone, Copy, Debug)]
pub struct CaseData<'a> {
    /// The samples, with their rounds.
    pub samples: &'a [RecordedSample],
    /// Each task's duration by design (a sleep), if declared.
    pub task_ms: Option<f64>,
    /// Tasks per sample.
    pub tasks: usize,
}

impl<'a> CaseData<'a> {
    /// The samples of a result's case.
    pub fn of(case: &'a CaseReport) -> Self {
        CaseData { samples: &case.samples, task_ms: case.task_ms, tasks: case.tasks }
    }
}

/// One case that both builds of `parbench ab` measured in the same rounds.
#[derive(Clone, Debug)]
pub struct PairedCase<'a> {
    /// Case label.
    pub label: String,
    /// Workers of the case.
    pub workers: usize,
    /// Its runners, in report order.
    pub runners: Vec<RunnerId>,
    /// A race by design: shown, never gated.
    pub race: bool,
    /// BASE's samples.
    pub base: CaseData<'a>,
    /// NEW's samples, numbered by the same rounds.
    pub new: CaseData<'a>,
}

/// Judges NEW against BASE from rounds that measured both (`parbench ab`): per round
/// and metric the ratio NEW/BASE, judged by [`rule::judge_paired`] with the verdicts,
/// limits and outcome of [`compare`]. Both ran on one machine in one job, so absolute
/// times are gated too.
pub fn paired(cases: &[PairedCase<'_>], builds: Builds, rules: &Rules) -> Comparison {
    let mut cells = Vec::new();
    for case in cases {
        for &runner in &case.runners {
            for metric in metrics_for(case.new.task_ms, runner) {
                let key = rule::CellKey {
                    case: case.label.clone(),
                    workers: case.workers,
                    runner,
                    metric,
                    gated: !case.race,
                };
                let (base, new) = (per_round(&case.base, runner, metric), per_round(&case.new, runner, metric));
                // A metric neither build has a value of in any round (no CPU time to
                // speak of) is no cell, as in `compare`.
                if !base.iter().zip(&new).any(|(b, n)| b.is_finite() && n.is_finite()) {
                    continue;
                }
                cells.push(rule::judge_paired(key, &base, &new, rules));
            }
        }
    }
    holm(&mut cells, rules);
    Comparison {
        schema_version: COMPARE_SCHEMA_VERSION,
        base_files: vec![builds.base.program.clone()],
        skipped_base: Vec::new(),
        new_file: builds.new.program.clone(),
        absolute_gated: true,
        rules: rules.clone(),
        cells,
        missing: Vec::new(),
        new_only: Vec::new(),
        builds: Some(builds),
    }
}
/// A case the workload declared a race (the unsynchronised counter): reported, never
/// gated.
fn is_race(case: &CaseReport) -> bool {
    case.race
}

fn metrics_for(task_ms: Option<f64>, runner: RunnerId) -> Vec<Metric> {
    let mut m = vec![Metric::Wall];
    let sleep = task_ms.is_some();
    if !runner.is_reference() {
        m.push(Metric::Speedup);
        // Sleeping tasks use almost no CPU: a ratio of two near-zero CPU times is noise.
        if !sleep {
            m.push(Metric::CpuInflation);
        }
    }
    if sleep {
        m.push(Metric::SleepOverhead);
    }
    if runner.processes() {
        m.push(Metric::ProcessOverhead);
    }
    m
}

/// One value per sample (or per round, for paired metrics) of `metric`.
fn values(case: &CaseData<'_>, runner: RunnerId, metric: Metric) -> Vec<f64> {
    per_round(case, runner, metric).into_iter().filter(|v| v.is_finite()).collect()
}

/// One value of `metric` per round of `case` (in round order), `NaN` for a round
/// without one: rounds line up across runners, and across the two builds of
/// `parbench ab`. Every value is positive and finite or `NaN`.
fn per_round(case: &CaseData<'_>, runner: RunnerId, metric: Metric) -> Vec<f64> {
    let positive = |v: f64| if v.is_finite() && v > 0.0 { v } else { f64::NAN };
    let of = |r: RunnerId, value: &dyn Fn(&Sample) -> f64| by_round(case.samples, r, value);
    let wall = |s: &Sample| s.wall_ns as f64;
    let cpu = |s: &Sample| s.cpu_ns as f64;
    let serial = RunnerId::reference();
    let each = |value: &dyn Fn(&Sample) -> f64| of(runner, value).into_iter().map(positive).collect();
    let pairs = |value: &dyn Fn(f64, f64) -> f64, get: &dyn Fn(&Sample) -> f64| -> Vec<f64> {
        of(runner, get).into_iter().zip(of(serial, get)).map(|(me, serial)| positive(value(me, serial))).collect()
    };
    match metric {
        Metric::Wall => each(&|s| s.wall_ns as f64 / 1e6),
        Metric::Speedup => pairs(&|me, serial| serial / me, &wall),
        // Below a millisecond of serial CPU the ratio is clock-tick noise.
        Metric::CpuInflation => pairs(&|me, serial| if serial >= 1e6 { me / serial } else { f64::NAN }, &cpu),
        Metric::ProcessOverhead => each(&|s| s.startup_ns.map_or(f64::NAN, |st| st as f64 / s.wall_ns.max(1) as f64)),
        Metric::SleepOverhead => {
            let Some(ms) = case.task_ms else { return Vec::new() };
            let tasks = case.tasks;
            each(&|s| s.wall_ns as f64 / (tasks.div_ceil(s.workers.max(1)) as f64 * ms * 1e6))
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
