//! All statistics, computed here and only here, by hand: median, MAD, min, max, mean,
//! standard deviation, and paired per-round ratios.
//!
//! The one decision a reader would otherwise get wrong: speedup is the *median of
//! per-round paired ratios* (serial time / runner time within the same round), not a
//! ratio of medians or means. Pairing cancels slow drifts of a shared machine (another
//! job starting halfway through), because both sides of a pair saw the same load.
//! Every function returns finite numbers or `None`; nothing here can produce NaN.

use serde::{Deserialize, Serialize};

/// Summary of a set of measurements.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of values.
    pub n: usize,
    /// Median.
    pub median: f64,
    /// Median absolute deviation from the median (unscaled).
    pub mad: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (n - 1); 0 for a single value.
    pub stddev: f64,
}

/// Median of finite values; `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 { v[mid] } else { (v[mid - 1] + v[mid]) / 2.0 })
}

/// Summarises the finite values; `None` when there are none.
pub fn summarize(values: &[f64]) -> Option<Summary> {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    let med = median(&v)?;
    let deviations: Vec<f64> = v.iter().map(|x| (x - med).abs()).collect();
    let n = v.len();
    let mean = v.iter().sum::<f64>() / n as f64;
    let var = if n > 1 { v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64 } else { 0.0 };
    Some(Summary {
        n,
        median: med,
        mad: median(&deviations).unwrap_or(0.0),
        min: v.iter().copied().fold(f64::INFINITY, f64::min),
        max: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        mean,
        stddev: var.sqrt(),
    })
}

/// `numerator[i] / denominator[i]` for every pair where both are finite and the
/// denominator is positive.
pub fn paired_ratios(numerator: &[f64], denominator: &[f64]) -> Vec<f64> {
    numerator
        .iter()
        .zip(denominator)
        .filter(|(a, b)| a.is_finite() && b.is_finite() && **b > 0.0)
        .map(|(a, b)| a / b)
        .collect()
}

/// Median and range of a set of paired ratios.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RatioSummary {
    /// Median of the per-round ratios.
    pub median: f64,
    /// Smallest per-round ratio.
    pub min: f64,
    /// Largest per-round ratio.
    pub max: f64,
}

/// Median and range of paired ratios; `None` when no pair is usable.
pub fn ratio_summary(numerator: &[f64], denominator: &[f64]) -> Option<RatioSummary> {
    let s = summarize(&paired_ratios(numerator, denominator))?;
    Some(RatioSummary { median: s.median, min: s.min, max: s.max })
}

/// Sorted pairwise differences `y[j] - x[i]` for all i, j.
fn pairwise_differences(x: &[f64], y: &[f64]) -> Vec<f64> {
    let mut d: Vec<f64> = x.iter().flat_map(|a| y.iter().map(move |b| b - a)).collect();
    d.sort_by(f64::total_cmp);
    d
}

/// The standard normal quantile for a two-sided confidence level (0.95, 0.99, ...),
/// by Acklam's rational approximation (relative error below 1.2e-9). The constants are
/// the published ones, digit for digit.
#[allow(clippy::excessive_precision)]
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383577518672690e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] =
        [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// Upper tail of the standard normal distribution, P(Z > z), via the complementary
/// error function (Numerical Recipes' erfc approximation, relative error below 1.2e-7).
pub fn normal_upper_tail(z: f64) -> f64 {
    let x = z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * x.abs());
    let poly = -x * x - 1.26551223
        + t * (1.00002368
            + t * (0.37409196
                + t * (0.09678418
                    + t * (-0.18628806
                        + t * (0.27886807
                            + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
    let erfc = t * poly.exp();
    let erfc = if x >= 0.0 { erfc } else { 2.0 - erfc };
    erfc / 2.0
}

/// A location shift between two samples with its confidence interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shift {
    /// Hodges-Lehmann estimate: the median of all pairwise differences `y - x`.
    pub estimate: f64,
    /// Lower end of the Moses confidence interval.
    pub low: f64,
    /// Upper end of the Moses confidence interval.
    pub high: f64,
}

/// Hodges-Lehmann shift of `y` relative to `x`, with the distribution-free Moses
/// confidence interval at `confidence` (e.g. 0.99). The interval's order statistics
/// come from the normal approximation of the Mann-Whitney distribution. Deterministic:
/// no resampling. `None` if either sample is empty.
pub fn hodges_lehmann(x: &[f64], y: &[f64], confidence: f64) -> Option<Shift> {
    if x.is_empty() || y.is_empty() {
        return None;
    }
    let d = pairwise_differences(x, y);
    let estimate = median(&d)?;
    let (m, n) = (x.len() as f64, y.len() as f64);
    let z = normal_quantile(1.0 - (1.0 - confidence) / 2.0);
    let k = (m * n / 2.0 - z * (m * n * (m + n + 1.0) / 12.0).sqrt()).floor().max(0.0) as usize;
    let low = d[k.min(d.len() - 1)];
    let high = d[(d.len() - 1).saturating_sub(k)];
    Some(Shift { estimate, low, high })
}

/// Two-sided p-value of the Mann-Whitney U test (normal approximation with tie and
/// continuity corrections). 1.0 when a sample is empty or every value is tied.
pub fn mann_whitney_p(x: &[f64], y: &[f64]) -> f64 {
    let (m, n) = (x.len(), y.len());
    if m == 0 || n == 0 {
        return 1.0;
    }
    // Ranks of the pooled sample, ties getting their average rank.
    let mut pooled: Vec<(f64, bool)> = x.iter().map(|&v| (v, true)).chain(y.iter().map(|&v| (v, false))).collect();
    pooled.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = pooled.len();
    let mut rank_sum_x = 0.0;
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < total {
        let mut j = i;
        while j + 1 < total && pooled[j + 1].0 == pooled[i].0 {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        let t = (j - i + 1) as f64;
        tie_term += t * t * t - t;
        rank_sum_x += pooled[i..=j].iter().filter(|p| p.1).count() as f64 * rank;
        i = j + 1;
    }
    let (mf, nf, nt) = (m as f64, n as f64, total as f64);
    let u = rank_sum_x - mf * (mf + 1.0) / 2.0;
    let mean = mf * nf / 2.0;
    let var = mf * nf / 12.0 * ((nt + 1.0) - tie_term / (nt * (nt - 1.0)).max(1.0));
    if var <= 0.0 {
        return 1.0;
    }
    let z = ((u - mean).abs() - 0.5).max(0.0) / var.sqrt();
    (2.0 * normal_upper_tail(z)).min(1.0)
}

/// Holm's step-down adjustment of p-values (family-wise error control), returned in
/// the input order.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut adjusted = vec![1.0; p.len()];
    let mut running = 0.0f64;
    for (rank, &i) in order.iter().enumerate() {
        let v = ((p.len() - rank) as f64 * p[i]).min(1.0);
        running = running.max(v);
        adjusted[i] = running;
    }
    adjusted
}

/// Robust coefficient of variation: 1.4826 x MAD / |median| (0 for a zero median).
pub fn robust_cv(values: &[f64]) -> f64 {
    match summarize(values) {
        Some(s) if s.median != 0.0 => 1.4826 * s.mad / s.median.abs(),
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn summary_matches_hand_computed_values() {
        // 1, 2, 3, 4, 100: median 3, deviations 2,1,0,1,97 -> MAD 1, mean 22.
        let s = summarize(&[4.0, 100.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!((s.n, s.median, s.mad, s.min, s.max, s.mean), (5, 3.0, 1.0, 1.0, 100.0, 22.0));
        // Sample variance: (21^2 + 20^2 + 19^2 + 18^2 + 78^2) / 4 = 7610 / 4.
        assert!((s.stddev - (7610.0f64 / 4.0).sqrt()).abs() < 1e-9);
    }

    #[test]
    fn a_single_value_has_zero_spread() {
        let s = summarize(&[5.0]).unwrap();
        assert_eq!((s.mad, s.stddev, s.min, s.max), (0.0, 0.0, 5.0, 5.0));
    }

    #[test]
    fn non_finite_values_never_reach_a_summary() {
        let s = summarize(&[f64::NAN, 2.0, f64::INFINITY]).unwrap();
        assert_eq!((s.n, s.median), (1, 2.0));
        assert_eq!(summarize(&[f64::NAN]), None);
    }

    #[test]
    fn paired_ratios_skip_zero_denominators() {
        assert_eq!(paired_ratios(&[10.0, 10.0, 9.0], &[5.0, 0.0, 3.0]), vec![2.0, 3.0]);
    }

    #[test]
    fn speedup_is_the_median_of_paired_ratios_not_a_ratio_of_medians() {
        // Round 2 ran under load for both runners: pairing keeps the speedup at 2.
        let serial = [100.0, 300.0, 100.0];
        let threads = [50.0, 150.0, 50.0];
        let r = ratio_summary(&serial, &threads).unwrap();
        assert_eq!((r.median, r.min, r.max), (2.0, 2.0, 2.0));
    }

    #[test]
    fn normal_quantiles_match_tables() {
        assert!((normal_quantile(0.975) - 1.959964).abs() < 1e-5);
        assert!((normal_quantile(0.995) - 2.575829).abs() < 1e-5);
        assert!((normal_quantile(0.5)).abs() < 1e-9);
        assert!((normal_upper_tail(1.959964) - 0.025).abs() < 1e-6);
        assert!((normal_upper_tail(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_upper_tail(-1.0) - 0.841345).abs() < 1e-6);
    }

    #[test]
    fn hodges_lehmann_of_a_pure_shift_is_the_shift() {
        let x: Vec<f64> = (0..10).map(f64::from).collect();
        let y: Vec<f64> = x.iter().map(|v| v + 3.0).collect();
        let s = hodges_lehmann(&x, &y, 0.99).unwrap();
        assert_eq!(s.estimate, 3.0);
        assert!(s.low <= 3.0 && s.high >= 3.0 && s.low < s.high);
    }

    #[test]
    fn hodges_lehmann_on_a_hand_computed_case() {
        // Differences y - x for x = [1, 2], y = [4, 6]: 3, 5, 2, 4 -> median 3.5.
        let s = hodges_lehmann(&[1.0, 2.0], &[4.0, 6.0], 0.95).unwrap();
        assert_eq!(s.estimate, 3.5);
        // With 2 x 2 samples no order statistic excludes anything: the full range.
        assert_eq!((s.low, s.high), (2.0, 5.0));
    }

    #[test]
    fn moses_interval_shrinks_as_samples_grow() {
        let sample = |n: usize, shift: f64| -> Vec<f64> { (0..n).map(|i| ((i * 7919) % 101) as f64 + shift).collect() };
        let small = hodges_lehmann(&sample(10, 0.0), &sample(10, 5.0), 0.99).unwrap();
        let large = hodges_lehmann(&sample(100, 0.0), &sample(100, 5.0), 0.99).unwrap();
        assert!(large.high - large.low < small.high - small.low);
    }

    #[test]
    fn mann_whitney_separates_shifted_samples_and_not_identical_ones() {
        let x: Vec<f64> = (0..20).map(f64::from).collect();
        let far: Vec<f64> = x.iter().map(|v| v + 100.0).collect();
        assert!(mann_whitney_p(&x, &far) < 1e-6);
        assert!(mann_whitney_p(&x, &x) > 0.9);
        assert_eq!(mann_whitney_p(&[1.0, 1.0], &[1.0, 1.0]), 1.0);
    }

    #[test]
    fn mann_whitney_matches_a_textbook_value() {
        // x = 1..=5, y = 6..=10: U = 0, z = (12.5 - 0.5) / sqrt(22.9167) = 2.5067,
        // two-sided p = 0.01219 (normal approximation with continuity correction).
        let p = mann_whitney_p(&[1.0, 2.0, 3.0, 4.0, 5.0], &[6.0, 7.0, 8.0, 9.0, 10.0]);
        assert!((p - 0.01219).abs() < 1e-4, "{p}");
    }

    #[test]
    fn holm_adjusts_step_down_and_keeps_order() {
        // Sorted 0.01, 0.02, 0.04 -> 0.03, 0.04, 0.04 (monotone), in input order.
        let adj = holm(&[0.04, 0.01, 0.02]);
        assert_eq!(adj, vec![0.04, 0.03, 0.04]);
        assert_eq!(holm(&[0.9, 0.8]), vec![1.0, 1.0]);
    }

    #[test]
    fn robust_cv_of_constant_values_is_zero() {
        assert_eq!(robust_cv(&[3.0, 3.0, 3.0]), 0.0);
        assert!((robust_cv(&[9.0, 10.0, 11.0]) - 0.14826).abs() < 1e-9);
    }
}
