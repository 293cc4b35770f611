//! Confidence intervals: the Hodges-Lehmann shift with its distribution-free Moses
//! interval (exact order statistics for small samples), and the percentile bootstrap
//! of a median.

use serde::{Deserialize, Serialize};

use super::normal::normal_quantile;
use super::rank::u_distribution;
use super::summary::median;
use crate::rng::SplitMix64;

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

/// Sorted pairwise differences `y[j] - x[i]` for all i, j.
fn pairwise_differences(x: &[f64], y: &[f64]) -> Vec<f64> {
    let mut d: Vec<f64> = x.iter().flat_map(|a| y.iter().map(move |b| b - a)).collect();
    d.sort_by(f64::total_cmp);
    d
}

/// The order statistic of the Moses interval for samples of `m` and `n` at
/// `confidence`: the interval is `[d[c], d[m n - 1 - c]]` of the sorted pairwise
/// differences, with `c` the largest count such that P(U <= c) <= (1 - confidence) / 2
/// (exact U distribution for small samples, normal approximation beyond). `None` when
/// the samples are too small for any interval at that confidence: even the full range
/// of differences covers less.
pub fn moses_rank(m: usize, n: usize, confidence: f64) -> Option<usize> {
    if m == 0 || n == 0 {
        return None;
    }
    let tail = (1.0 - confidence) / 2.0;
    match u_distribution(m, n) {
        Some(dist) => {
            let mut cumulative = 0.0;
            let mut c = None;
            for (u, p) in dist.iter().enumerate() {
                cumulative += p;
                // A relative tolerance: exact table values sit on the boundary.
                if cumulative > tail * (1.0 + 1e-9) {
                    break;
                }
                c = Some(u);
            }
            c
        }
        None => {
            let (mf, nf) = (m as f64, n as f64);
            let sd = (mf * nf * (mf + nf + 1.0) / 12.0).sqrt();
            let c = (mf * nf / 2.0 - 0.5 - normal_quantile(1.0 - tail) * sd).floor();
            (c >= 0.0).then_some(c as usize)
        }
    }
}

/// Hodges-Lehmann shift of `y` relative to `x` with its Moses confidence interval at
/// `confidence` (e.g. 0.99). `None` if either sample is empty or the samples are too
/// small for an interval at that confidence (see [`moses_rank`]). Deterministic.
pub fn moses_interval(x: &[f64], y: &[f64], confidence: f64) -> Option<Shift> {
    let c = moses_rank(x.len(), y.len(), confidence)?;
    let d = pairwise_differences(x, y);
    Some(Shift { estimate: median(&d)?, low: d[c], high: d[d.len() - 1 - c] })
}

/// Like [`moses_interval`], but when the samples are too small for the confidence the
/// interval is the full range of pairwise differences (which then covers less than
/// asked). `None` only if a sample is empty.
pub fn hodges_lehmann(x: &[f64], y: &[f64], confidence: f64) -> Option<Shift> {
    if x.is_empty() || y.is_empty() {
        return None;
    }
    moses_interval(x, y, confidence).or_else(|| {
        let d = pairwise_differences(x, y);
        Some(Shift { estimate: median(&d)?, low: d[0], high: d[d.len() - 1] })
    })
}

/// A point estimate with a confidence interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// The estimate (median of the observed values).
    pub estimate: f64,
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

/// Percentile-bootstrap interval of the median of `values` at `confidence` (e.g. 0.95),
/// from `resamples` resamples drawn with a generator seeded by `seed`.
pub fn bootstrap_median(values: &[f64], confidence: f64, resamples: usize, seed: u64) -> Option<Interval> {
    let estimate = median(values)?;
    let resamples = resamples.max(1);
    let mut rng = SplitMix64::new(seed);
    let n = values.len();
    let mut medians = Vec::with_capacity(resamples);
    let mut buf = vec![0.0; n];
    for _ in 0..resamples {
        for slot in buf.iter_mut() {
            *slot = values[rng.below(n as u64) as usize];
        }
        medians.push(median(&buf)?);
    }
    medians.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence) / 2.0;
    let at = |q: f64| medians[((q * (resamples - 1) as f64).round() as usize).min(resamples - 1)];
    Some(Interval { estimate, low: at(tail).min(estimate), high: at(1.0 - tail).max(estimate) })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // 2 x 2 samples cannot reach 95%: no Moses interval, and the fallback is the
        // full range.
        assert_eq!(moses_interval(&[1.0, 2.0], &[4.0, 6.0], 0.95), None);
        assert_eq!((s.low, s.high), (2.0, 5.0));
    }

    #[test]
    fn moses_order_statistics_match_the_tables() {
        // 5 against 5: at 95% the interval is [d(3), d(23)] (1-based), at 99% the full
        // range [d(1), d(25)]; 4 against 4 cannot reach 99% (2/70 > 1%).
        assert_eq!(moses_rank(5, 5, 0.95), Some(2));
        assert_eq!(moses_rank(5, 5, 0.99), Some(0));
        assert_eq!(moses_rank(4, 4, 0.99), None);
        assert_eq!(moses_rank(10, 10, 0.95), Some(23));
        assert_eq!(moses_rank(10, 10, 0.99), Some(16));
        // Large samples use the normal approximation, which lands next to the exact one.
        let exact = moses_rank(60, 60, 0.99).unwrap() as f64;
        let (m, n) = (60.0f64, 60.0f64);
        let normal = (m * n / 2.0 - 0.5 - 2.5758293035489 * (m * n * (m + n + 1.0) / 12.0).sqrt()).floor();
        assert!((exact - normal).abs() <= 1.0, "{exact} vs {normal}");
        assert!(moses_rank(400, 400, 0.99).is_some());
    }

    #[test]
    fn the_moses_interval_covers_the_true_shift_at_its_confidence() {
        // 2000 simulated 6-against-6 experiments with a true shift of 1. The exact 90%
        // interval [d(8), d(29)] misses with probability 2 x 43/924 = 9.3%: 186 +- 13.
        let mut rng = SplitMix64::new(5);
        let mut draw = || (rng.below(1_000_000) as f64) / 1e6;
        let mut misses = 0;
        for _ in 0..2000 {
            let x: Vec<f64> = (0..6).map(|_| draw() * 4.0).collect();
            let y: Vec<f64> = (0..6).map(|_| draw() * 4.0 + 1.0).collect();
            let s = moses_interval(&x, &y, 0.90).unwrap();
            misses += usize::from(s.low > 1.0 || s.high < 1.0);
        }
        assert!((135..=240).contains(&misses), "{misses} misses in 2000");
    }

    #[test]
    fn moses_interval_shrinks_as_samples_grow() {
        let sample = |n: usize, shift: f64| -> Vec<f64> { (0..n).map(|i| ((i * 7919) % 101) as f64 + shift).collect() };
        let small = hodges_lehmann(&sample(10, 0.0), &sample(10, 5.0), 0.99).unwrap();
        let large = hodges_lehmann(&sample(100, 0.0), &sample(100, 5.0), 0.99).unwrap();
        assert!(large.high - large.low < small.high - small.low);
    }

    #[test]
    fn the_bootstrap_interval_covers_the_true_median_about_as_often_as_asked() {
        // 300 samples of 31 values, uniform on [0, 1) (true median 0.5): a 90% interval
        // should miss about 30 times. Percentile intervals of a median are a little
        // liberal at this size; far more misses, or none, would be a broken interval.
        let mut rng = SplitMix64::new(17);
        let mut misses = 0;
        for i in 0..300 {
            let v: Vec<f64> = (0..31).map(|_| rng.below(1_000_000) as f64 / 1e6).collect();
            let b = bootstrap_median(&v, 0.90, 400, i).unwrap();
            misses += usize::from(b.low > 0.5 || b.high < 0.5);
        }
        assert!((10..=60).contains(&misses), "{misses} misses in 300");
    }

    #[test]
    fn bootstrap_intervals_shrink_with_more_samples_and_are_seeded() {
        let mut rng = SplitMix64::new(11);
        let mut draw = |n: usize| -> Vec<f64> { (0..n).map(|_| 1.8 + (rng.below(1000) as f64) / 5000.0).collect() };
        let small = bootstrap_median(&draw(8), 0.95, 2000, 1).unwrap();
        let large = bootstrap_median(&draw(200), 0.95, 2000, 1).unwrap();
        assert!(large.high - large.low < small.high - small.low, "{small:?} vs {large:?}");
        let v = draw(20);
        assert_eq!(bootstrap_median(&v, 0.95, 500, 7), bootstrap_median(&v, 0.95, 500, 7));
        assert_eq!(bootstrap_median(&[], 0.95, 500, 7), None);
    }
}
