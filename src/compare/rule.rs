//! The decision for one (cell, metric): from the baseline's values (one vector per
//! baseline run) and NEW's values to a verdict. See the module doc of
//! [`crate::compare`] for the rule and `README.md` beside this file for why.

use super::{Basis, CellResult, Metric, Rules, Verdict};
use crate::stats;

/// Where a cell sits, and whether it can fail the comparison.
pub(super) struct CellKey {
    pub case: String,
    pub workers: usize,
    pub runner: crate::runner::RunnerId,
    pub metric: Metric,
    pub gated: bool,
}

/// Robust standard deviation: 1.4826 x MAD.
fn robust_sd(values: &[f64]) -> f64 {
    stats::summarize(values).map_or(0.0, |s| 1.4826 * s.mad)
}

/// How much worse a NEW/BASE ratio is (> 1 worse), whatever the metric's direction.
fn badness(metric: Metric, ratio: f64) -> f64 {
    if metric.higher_is_better() { 1.0 / ratio } else { ratio }
}

/// The regression and improvement thresholds from the baseline's run medians: a
/// one-sided bound on where a run of unchanged code can land, plus the floor. The bound
/// is the worst run median relative to the centre and, from three runs on,
/// `spread_factor` robust standard deviations of the log run medians (widened for a
/// prediction: x sqrt(1 + 1/runs)). Only runs worse than the centre widen the
/// regression side and only better runs the improvement side, so an unusually fast run
/// never lets a slower NEW pass.
fn thresholds(metric: Metric, run_medians: &[f64], floor: f64, rules: &Rules) -> (f64, f64) {
    let Some(centre) = stats::median(run_medians) else { return (floor, floor) };
    let bad: Vec<f64> = run_medians.iter().map(|&r| badness(metric, r / centre)).collect();
    let k = bad.len() as f64;
    let spread = if bad.len() >= rules.min_runs {
        let logs: Vec<f64> = bad.iter().map(|b| b.ln()).collect();
        (rules.spread_factor * robust_sd(&logs) * (1.0 + 1.0 / k).sqrt()).exp()
    } else {
        1.0
    };
    let worst = bad.iter().copied().fold(1.0, f64::max);
    let best = bad.iter().copied().fold(1.0, f64::min);
    let up = worst.max(spread) * (1.0 + floor) - 1.0;
    let down = (1.0 / best).max(spread) * (1.0 + floor) - 1.0;
    (up, down)
}

/// Judges one cell. `per_run` holds the baseline's values run by run (empty vectors
/// for runs without this cell); all values are positive and finite.
pub(super) fn judge(key: CellKey, per_run: &[Vec<f64>], new: &[f64], rules: &Rules) -> CellResult {
    let metric = key.metric;
    let runs: Vec<&Vec<f64>> = per_run.iter().filter(|v| !v.is_empty()).collect();
    let run_medians: Vec<f64> = runs.iter().filter_map(|v| stats::median(v)).collect();
    let base: Vec<f64> = runs.iter().flat_map(|v| v.iter().copied()).collect();
    let floor = if metric.is_absolute() { rules.floor_absolute } else { rules.floor_relative };
    let (threshold, improvement_threshold) = thresholds(metric, &run_medians, floor, rules);
    let run_cv = stats::median(&runs.iter().map(|v| stats::robust_cv(v)).collect::<Vec<_>>()).unwrap_or(0.0);
    let mut cell = CellResult {
        case: key.case,
        workers: key.workers,
        runner: key.runner,
        metric,
        gated: key.gated,
        basis: if runs.len() >= rules.min_runs { Basis::Runs } else { Basis::Samples },
        base_runs: runs.len(),
        base_n: base.len(),
        new_n: new.len(),
        base_median: 0.0,
        new_median: stats::median(new).unwrap_or(0.0),
        ratio: 1.0,
        ratio_low: 1.0,
        ratio_high: 1.0,
        p: 1.0,
        p_adjusted: 1.0,
        threshold,
        improvement_threshold,
        cv: run_cv.max(stats::robust_cv(new)),
        unstable: false,
        medians_disagree: false,
        verdict: Verdict::Inconclusive,
        rounds_to_decide: None,
    };
    cell.unstable = cell.cv > rules.unstable_cv;
    if cell.basis == Basis::Runs {
        by_runs(&mut cell, &run_medians, rules);
    } else {
        by_samples(&mut cell, &runs, &base, new, rules);
    }
    cell
}

/// The limits on badness: above `up` is worse beyond the threshold, below `down`
/// better beyond it. The same for every cell, however noisy: the noise is already in
/// the interval (a noisy cell's interval is wide), so counting it again here would
/// hide slowdowns the interval has shown.
fn limits(cell: &CellResult) -> (f64, f64) {
    (1.0 + cell.threshold, 1.0 / (1.0 + cell.improvement_threshold))
}

/// Three or more baseline runs: NEW's median against the baseline's run medians. The
/// runs are the independent units; their samples are not (whole runs shift together).
fn by_runs(cell: &mut CellResult, run_medians: &[f64], rules: &Rules) {
    let centre = stats::median(run_medians).unwrap_or(0.0);
    cell.base_median = centre;
    if cell.new_n < rules.min_samples || centre <= 0.0 {
        cell.rounds_to_decide = Some(rules.min_samples);
        return;
    }
    let new = cell.new_median;
    cell.ratio = new / centre;
    let lowest = run_medians.iter().copied().fold(f64::INFINITY, f64::min);
    let highest = run_medians.iter().copied().fold(0.0, f64::max);
    cell.ratio_low = new / highest;
    cell.ratio_high = new / lowest;
    // NEW's rank among the runs, one-sided in the direction it moved: with k runs it
    // cannot go below 1 / (k + 1), so it informs and never decides.
    let bad = badness(cell.metric, cell.ratio);
    let mine = badness(cell.metric, new);
    let beyond = run_medians
        .iter()
        .filter(|&&r| {
            let theirs = badness(cell.metric, r);
            if bad >= 1.0 { theirs >= mine } else { theirs <= mine }
        })
        .count();
    cell.p = (beyond + 1) as f64 / (run_medians.len() + 1) as f64;
    cell.p_adjusted = cell.p;
    let (up, down) = limits(cell);
    cell.verdict = if bad > up {
        Verdict::Regression
    } else if bad < down {
        Verdict::Improvement
    } else {
        Verdict::Unchanged
    };
}

/// One or two baseline runs: the samples, pooled, against NEW's: Hodges-Lehmann on
/// logs with its Moses interval, judged against the limits.
fn by_samples(cell: &mut CellResult, runs: &[&Vec<f64>], base: &[f64], new: &[f64], rules: &Rules) {
    cell.base_median = stats::median(base).unwrap_or(0.0);
    let logs = |v: &[f64]| thin(v, MAX_SIDE).iter().map(|x| x.ln()).collect::<Vec<_>>();
    let (lb, ln) = (logs(base), logs(new));
    let confidence = 1.0 - rules.alpha;
    let enough = base.len() >= rules.min_samples && new.len() >= rules.min_samples;
    let shift = if enough { stats::moses_interval(&lb, &ln, confidence) } else { None };
    let Some(shift) = shift else {
        // Too few samples for the interval: say how many would give one.
        if let Some(s) = stats::hodges_lehmann(&lb, &ln, confidence) {
            (cell.ratio, cell.ratio_low, cell.ratio_high) = (s.estimate.exp(), s.low.exp(), s.high.exp());
        }
        let mut n = rules.min_samples;
        while stats::smallest_p(n, n, stats::Alternative::TwoSided) > rules.alpha {
            n += 1;
        }
        cell.rounds_to_decide = Some(n);
        return;
    };
    (cell.ratio, cell.ratio_low, cell.ratio_high) = (shift.estimate.exp(), shift.low.exp(), shift.high.exp());
    if cell.base_median > 0.0 && cell.new_median > 0.0 {
        // Both are estimates of the same change only when NEW is BASE shifted; a gap
        // of half the threshold between them is worth a word in the table.
        let gap = (cell.new_median / cell.base_median / cell.ratio).ln().abs();
        cell.medians_disagree = gap > (1.0 + cell.threshold).ln() / 2.0;
    }
    cell.p = stats::mann_whitney_p(&lb, &ln);
    cell.p_adjusted = cell.p;
    let Some(margin) = interval_verdict(cell) else { return };
    let residuals: Vec<f64> = runs
        .iter()
        .flat_map(|v| {
            let m = stats::median(v).unwrap_or(1.0).ln();
            v.iter().map(move |x| x.ln() - m)
        })
        .collect();
    let sigma = ((robust_sd(&residuals).powi(2) + robust_sd(&ln).powi(2)) / 2.0).sqrt();
    cell.rounds_to_decide = Some(rounds_to_decide(sigma, margin, rules.alpha, Design::TwoSamples).max(new.len() + 1));
}

/// Sets the verdict of a cell from its estimate and interval (`ratio`, `ratio_low`,
/// `ratio_high`) against its limits. For an INCONCLUSIVE cell (the estimate beyond a
/// limit, the interval reaching back inside it) returns the log margin from the
/// estimate to that limit, from which the rounds that would decide follow.
fn interval_verdict(cell: &mut CellResult) -> Option<f64> {
    let metric = cell.metric;
    let (est, a, b) = (badness(metric, cell.ratio), badness(metric, cell.ratio_low), badness(metric, cell.ratio_high));
    let (low, high) = (a.min(b), a.max(b));
    let (up, down) = limits(cell);
    cell.verdict = if low > up {
        Verdict::Regression
    } else if high < down {
        Verdict::Improvement
    } else if low >= down && high <= up {
        Verdict::Unchanged
    } else if est >= down && est <= up {
        Verdict::WithinNoise
    } else {
        cell.verdict = Verdict::Inconclusive;
        return Some(if est > up { (est / up).ln() } else { (down / est).ln() });
    };
    None
}

/// Judges one cell of `parbench ab` from the two builds' values round by round
/// (`NaN` where a round has none): the ratios NEW/BASE of the rounds with both, on
/// logs, their centre (the median of the Walsh averages) with its signed-rank
/// interval, judged against the floor by [`interval_verdict`]. No run-to-run bound:
/// a shift of the whole run (the machine slower today) is common to both members of
/// a pair and cancels in the ratio.
pub(super) fn judge_paired(key: CellKey, base: &[f64], new: &[f64], rules: &Rules) -> CellResult {
    let metric = key.metric;
    let ratios = stats::paired_ratios(new, base);
    let ratios: Vec<f64> = ratios.into_iter().filter(|r| r.is_finite() && *r > 0.0).collect();
    let logs: Vec<f64> = thin(&ratios, MAX_SIDE).iter().map(|r| r.ln()).collect();
    let finite = |v: &[f64]| v.iter().copied().filter(|x| x.is_finite()).collect::<Vec<f64>>();
    let (b, n) = (finite(base), finite(new));
    let floor = if metric.is_absolute() { rules.floor_absolute } else { rules.floor_relative };
    let mut cell = CellResult {
        case: key.case,
        workers: key.workers,
        runner: key.runner,
        metric,
        gated: key.gated,
        basis: Basis::Pairs,
        base_runs: 1,
        base_n: b.len(),
        new_n: ratios.len(),
        base_median: stats::median(&b).unwrap_or(0.0),
        new_median: stats::median(&n).unwrap_or(0.0),
        ratio: stats::median(&ratios).unwrap_or(1.0),
        ratio_low: 1.0,
        ratio_high: 1.0,
        p: 1.0,
        p_adjusted: 1.0,
        threshold: floor,
        improvement_threshold: floor,
        cv: stats::robust_cv(&ratios),
        unstable: false,
        medians_disagree: false,
        verdict: Verdict::Inconclusive,
        rounds_to_decide: None,
    };
    cell.unstable = cell.cv > rules.unstable_cv;
    let confidence = 1.0 - rules.alpha;
    let centre = if ratios.len() >= rules.min_samples { stats::signed_rank_interval(&logs, confidence) } else { None };
    let Some(centre) = centre else {
        cell.rounds_to_decide = Some(rules.min_samples.max(stats::fewest_for_signed_rank(confidence)));
        return cell;
    };
    // The ratio of the two medians is not compared with the change here: it ignores
    // the pairing, which is the point, so under drift it is expected to differ.
    (cell.ratio, cell.ratio_low, cell.ratio_high) = (centre.estimate.exp(), centre.low.exp(), centre.high.exp());
    cell.p = stats::signed_rank_p(&logs);
    cell.p_adjusted = cell.p;
    if let Some(margin) = interval_verdict(&mut cell) {
        let rounds = rounds_to_decide(robust_sd(&logs), margin, rules.alpha, Design::Pairs);
        cell.rounds_to_decide = Some(rounds.max(ratios.len() + 1));
    }
    cell
}

/// Most values per side that go into the Hodges-Lehmann estimate and its interval,
/// which take every pairwise difference: 2000 x 2000 pairs are 32 MB. The sample
/// counts come from files, so without a bound a large file would size an allocation.
pub(super) const MAX_SIDE: usize = 2000;

/// At most `max` of `values`: all of them, or evenly spaced order statistics. Fewer
/// values widen the interval, so a thinned cell is judged more cautiously, never less.
fn thin(values: &[f64], max: usize) -> Vec<f64> {
    if values.len() <= max {
        return values.to_vec();
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    (0..max).map(|i| sorted[(2 * i + 1) * sorted.len() / (2 * max)]).collect()
}

/// What an estimate is made of, for the rounds it needs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Design {
    /// Two independent samples of n each (Hodges-Lehmann of the differences).
    TwoSamples,
    /// n paired differences (the median of their Walsh averages).
    Pairs,
}

/// Rounds (per side) after which the interval's half-width, in logs, shrinks to
/// `margin`, for log values of spread `sigma`: the Hodges-Lehmann estimate has
/// variance (pi / 3) sigma^2 (1/m + 1/n) for normal data, so n = 2 (pi / 3) (z sigma /
/// margin)^2 with m = n; the one-sample estimate of n differences of spread sigma
/// (pi / 3) sigma^2 / n, so n = (pi / 3) (z sigma / margin)^2.
fn rounds_to_decide(sigma: f64, margin: f64, alpha: f64, design: Design) -> usize {
    if margin <= 0.0 {
        return 100_000;
    }
    let z = stats::normal_quantile(1.0 - alpha / 2.0);
    let samples = if design == Design::TwoSamples { 2.0 } else { 1.0 };
    let n = samples * std::f64::consts::PI / 3.0 * (z * sigma / margin).powi(2);
    n.ceil().clamp(0.0, 100_000.0) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_with_a_hundred_thousand_samples_a_side_is_judged_in_bounded_memory() {
        // Every pairwise difference would be 10^10 values (80 GB).
        let base: Vec<f64> = (0..100_000).map(|i| 100.0 + (i % 7) as f64).collect();
        let new: Vec<f64> = base.iter().map(|v| v * 2.0).collect();
        let key = CellKey {
            case: "c".into(),
            workers: 2,
            runner: crate::runner::RunnerId::new("threads"),
            metric: Metric::Wall,
            gated: true,
        };
        let cell = judge(key, &[base], &new, &Rules::default());
        assert_eq!(cell.verdict, Verdict::Regression, "{cell:?}");
        assert!((cell.ratio - 2.0).abs() < 0.05, "{cell:?}");
        assert_eq!(thin(&[3.0, 1.0, 2.0], 5), vec![3.0, 1.0, 2.0]);
        assert_eq!(thin(&[4.0, 1.0, 3.0, 2.0], 2), vec![2.0, 4.0]);
    }

    #[test]
    fn the_rounds_to_decide_follow_the_hodges_lehmann_variance() {
        // sigma 5%, margin 5%, 99%: 2 x 1.047 x 2.576^2 = 13.9 -> 14.
        assert_eq!(rounds_to_decide(0.05, 0.05, 0.01, Design::TwoSamples), 14);
        // Half the margin, four times the rounds.
        assert_eq!(rounds_to_decide(0.05, 0.025, 0.01, Design::TwoSamples), 56);
        // Paired differences of that spread: half as many (1.047 x 2.576^2 = 6.95).
        assert_eq!(rounds_to_decide(0.05, 0.05, 0.01, Design::Pairs), 7);
    }

    #[test]
    fn thresholds_are_one_sided() {
        let rules = Rules::default();
        // Nine runs at 100 and one at 62: the fast run widens only the improvement side.
        let mut runs = vec![100.0; 9];
        runs.push(62.0);
        let (up, down) = thresholds(Metric::Wall, &runs, 0.2, &rules);
        assert!((up - 0.2).abs() < 1e-12, "{up}");
        assert!((down - (100.0 / 62.0 * 1.2 - 1.0)).abs() < 1e-12, "{down}");
        // For speedup, higher is better: a high run widens the improvement side.
        let (up, down) = thresholds(Metric::Speedup, &[2.0, 2.0, 2.0, 2.0, 3.0], 0.1, &rules);
        assert!((up - 0.1).abs() < 1e-12, "{up}");
        assert!((down - (1.5 * 1.1 - 1.0)).abs() < 1e-12, "{down}");
    }

    #[test]
    fn the_run_to_run_bound_is_the_worst_run_or_three_robust_sds_plus_the_floor() {
        let rules = Rules::default();
        // One run: the floor alone. Two: the worse run above the centre, plus the floor.
        assert!((thresholds(Metric::Wall, &[100.0], 0.2, &rules).0 - 0.2).abs() < 1e-12);
        let (up, _) = thresholds(Metric::Wall, &[100.0, 110.0], 0.2, &rules);
        assert!((up - (110.0 / 105.0 * 1.2 - 1.0)).abs() < 1e-12, "{up}");
        // Five runs spread evenly in logs (0, +-5%, +-10%): MAD of the logs is 0.05, so
        // the bound is exp(3 x 1.4826 x 0.05 x sqrt(1.2)) = 1.276, above the worst run.
        let runs: Vec<f64> = [-0.1f64, -0.05, 0.0, 0.05, 0.1].iter().map(|l| 100.0 * l.exp()).collect();
        let (up, down) = thresholds(Metric::Wall, &runs, 0.2, &rules);
        let bound = (3.0 * 1.4826 * 0.05 * 1.2f64.sqrt()).exp();
        assert!((up - (bound * 1.2 - 1.0)).abs() < 1e-9, "{up} vs {}", bound * 1.2 - 1.0);
        assert!((down - up).abs() < 1e-9);
    }
}
