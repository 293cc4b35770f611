//! Summaries of one set of measurements: median, MAD, min, max, mean, standard
//! deviation, robust CV, and paired per-round ratios.
//!
//! Speedup is the *median of per-round paired ratios* (serial time / runner time within
//! the same round), not a ratio of medians or means: pairing cancels slow drifts of a
//! shared machine, because both sides of a pair saw the same load.

use serde::{Deserialize, Serialize};

/// Summary of a set of measurements.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
    fn robust_cv_of_constant_values_is_zero() {
        assert_eq!(robust_cv(&[3.0, 3.0, 3.0]), 0.0);
        assert!((robust_cv(&[9.0, 10.0, 11.0]) - 0.14826).abs() < 1e-9);
    }
}
