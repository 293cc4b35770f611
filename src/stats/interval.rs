//! Confidence intervals: the Hodges-Lehmann shift with its distribution-free Moses
//! interval (exact order statistics for small samples), the distribution-free interval
//! of a median (order statistics chosen by the binomial distribution: the sign test's
//! interval).
//!
//! Both hold their confidence at any count and for any distribution. A percentile
//! bootstrap of a median, which parbench used before, does not at the small counts a
//! benchmark has (about 87% for a "95%" interval of 7 values).

use serde::{Deserialize, Serialize};

use super::normal::normal_quantile;
use super::rank::u_distribution;
use super::summary::median;

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
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Interval {
    /// The estimate (median of the observed values).
    pub estimate: f64,
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

/// The order statistic of the distribution-free interval of a median of `n` values at
/// `confidence`: with the values sorted, the interval is `[x[c], x[n - 1 - c]]`, `c`
/// the largest count with 2 P(B <= c) <= 1 - confidence, B ~ Binomial(n, 1/2). Each
/// end misses the median with probability P(B <= c) at most, whatever the
/// distribution (ties included). `None` when `n` values cannot reach `confidence`:
/// even their full range covers only 1 - 2^(1 - n).
pub fn sign_rank(n: usize, confidence: f64) -> Option<usize> {
    if n == 0 || !(confidence > 0.0 && confidence < 1.0) {
        return None;
    }
    let tail = (1.0 - confidence) / 2.0;
    // P(B = k) in logarithms, so that no power of two underflows for large n.
    let mut log_pmf = -(n as f64) * std::f64::consts::LN_2;
    let mut cumulative = 0.0;
    let mut c = None;
    for k in 0..n.div_ceil(2) {
        cumulative += log_pmf.exp();
        // A relative tolerance: exact table values sit on the boundary.
        if cumulative > tail * (1.0 + 1e-9) {
            break;
        }
        c = Some(k);
        log_pmf += ((n - k) as f64).ln() - ((k + 1) as f64).ln();
    }
    c
}

/// The fewest values for which a distribution-free interval of their median at
/// `confidence` exists (6 at 95%: their range covers 1 - 2/64 = 96.9%).
pub fn fewest_for_interval(confidence: f64) -> usize {
    // The range of n values is the widest interval: it exists once 2^-n <= the tail.
    if !(confidence > 0.0 && confidence < 1.0) {
        return usize::MAX;
    }
    let guess = (2.0 / (1.0 - confidence)).log2().floor().max(1.0) as usize;
    (guess.saturating_sub(1)..=guess + 2).find(|&n| sign_rank(n, confidence).is_some()).unwrap_or(usize::MAX)
}

/// The distribution-free interval of the median of the finite `values` at
/// `confidence` (see [`sign_rank`]); `None` when there are too few values for it.
pub fn median_interval(values: &[f64], confidence: f64) -> Option<Interval> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let c = sign_rank(v.len(), confidence)?;
    Some(Interval { estimate: median(&v)?, low: v[c], high: v[v.len() - 1 - c] })
}

/// The spread of the finite `values` relative to their median, as a normal sigma:
/// 1.4826 MAD / median (robust to the slow outliers of a busy machine). `None` with
/// fewer than three values or a median that is not positive.
pub fn relative_spread(values: &[f64]) -> Option<f64> {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.len() < 3 {
        return None;
    }
    let mid = median(&v)?;
    let deviations: Vec<f64> = v.iter().map(|x| (x - mid).abs()).collect();
    (mid > 0.0).then_some(1.4826 * median(&deviations)? / mid)
}

/// The relative half-width (half-width / median) the interval of the median of `n`
/// values at `confidence` ([`median_interval`]) is expected to have when the values
/// spread by `spread` ([`relative_spread`]); `None` when `n` is too small for
/// `confidence`.
///
/// The interval's ends are the order statistics `c` and `n - 1 - c` ([`sign_rank`]),
/// which sit near the quantiles `p = (c + 1) / (n + 1)` and `1 - p`; with the spread
/// taken as normal, that is `spread z(1 - p)` from the median. For large `n` this is
/// the median's standard error `sqrt(pi / 2) spread / sqrt(n)` times the interval's z:
/// the half-width shrinks as 1 / sqrt(n), and no faster.
pub fn projected_half_width(spread: f64, n: usize, confidence: f64) -> Option<f64> {
    if n > EXACT_PROJECTION && confidence > 0.0 && confidence < 1.0 {
        // Past a few hundred values the order statistics are as good as normal, and
        // finding them exactly costs a pass over the binomial per call.
        let z = normal_quantile(1.0 - (1.0 - confidence) / 2.0);
        return Some(spread * (std::f64::consts::PI / 2.0).sqrt() * z / (n as f64).sqrt());
    }
    let c = sign_rank(n, confidence)?;
    let p = (c + 1) as f64 / (n + 1) as f64;
    Some(spread * normal_quantile(1.0 - p))
}

/// Counts up to which [`projected_half_width`] uses the exact order statistics.
const EXACT_PROJECTION: usize = 200;

/// The confidence of the order-statistic interval `[x[c], x[n - 1 - c]]` of a median of
/// `n` values: 1 - 2 P(B <= c), B ~ Binomial(n, 1/2).
pub fn order_coverage(n: usize, c: usize) -> f64 {
    let mut log_pmf = -(n as f64) * std::f64::consts::LN_2;
    let mut tail = 0.0;
    for k in 0..=c.min(n) {
        tail += log_pmf.exp();
        log_pmf += ((n - k) as f64).ln() - ((k + 1) as f64).ln();
    }
    (1.0 - 2.0 * tail).max(0.0)
}

/// [`median_interval`] at `confidence`, or when there are too few values for it, their
/// full range; with the confidence the interval really has (the range of 3 values
/// covers the median 75% of the time). `None` only without a finite value.
pub fn median_interval_or_range(values: &[f64], confidence: f64) -> Option<(Interval, f64)> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let c = sign_rank(n, confidence).unwrap_or(0);
    Some((Interval { estimate: median(&v)?, low: v[c], high: v[n - 1 - c] }, order_coverage(n, c)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

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
    fn sign_ranks_match_the_binomial_tables() {
        // 95%: n = 5 cannot (2/32 > 5%) and n = 6 is the range (2/64). Dropping one
        // value at each end needs P(B <= 1) <= 2.5%: 9/256 = 3.5% at n = 8, 10/512 =
        // 1.95% at n = 9.
        assert_eq!(sign_rank(5, 0.95), None);
        assert_eq!(sign_rank(6, 0.95), Some(0));
        assert_eq!(sign_rank(8, 0.95), Some(0));
        assert_eq!(sign_rank(9, 0.95), Some(1));
        // Published: n = 20 at 95% is [x(6), x(15)] 1-based; n = 100 is [x(40), x(61)].
        assert_eq!(sign_rank(20, 0.95), Some(5));
        assert_eq!(sign_rank(100, 0.95), Some(39));
        assert_eq!(sign_rank(100, 0.99), Some(36));
        assert_eq!(fewest_for_interval(0.95), 6);
        assert_eq!(fewest_for_interval(0.99), 8);
        assert_eq!(sign_rank(0, 0.95), None);
        // Large counts neither underflow nor take long, and land near the normal rank.
        let c = sign_rank(100_000, 0.95).unwrap() as f64;
        let normal = 50_000.0 - 1.959964 * (100_000f64).sqrt() / 2.0;
        assert!((c - normal).abs() <= 2.0, "{c} vs {normal}");
    }

    #[test]
    fn the_projected_half_width_matches_the_intervals_it_projects() {
        // Lognormal ratios of spread 0.1 around 2: at 400 values the projection from the
        // first 20 lands near the half-width the interval of all 400 really has, and it
        // shrinks as 1 / sqrt(n).
        let mut rng = SplitMix64::new(7);
        let mut normal = move || {
            let u = |r: &mut SplitMix64| (r.below(1 << 53) as f64 + 0.5) / (1u64 << 53) as f64;
            (-2.0 * u(&mut rng).ln()).sqrt() * (std::f64::consts::TAU * u(&mut rng)).cos()
        };
        let values: Vec<f64> = (0..400).map(|_| 2.0 * (0.1 * normal()).exp()).collect();
        let early = projected_half_width(relative_spread(&values[..20]).unwrap(), 400, 0.95).unwrap();
        let i = median_interval(&values, 0.95).unwrap();
        let real = (i.high - i.low) / 2.0 / i.estimate;
        assert!((early / real - 1.0).abs() < 0.35, "projected {early}, real {real}");
        let (at50, at200) =
            (projected_half_width(0.1, 50, 0.95).unwrap(), projected_half_width(0.1, 200, 0.95).unwrap());
        assert!((at50 / at200 - 2.0).abs() < 0.15, "{at50} / {at200}");
        // The exact order statistics and the normal form beyond them meet.
        let (exact, normal) = (projected_half_width(0.1, 200, 0.99), projected_half_width(0.1, 201, 0.99));
        assert!((exact.unwrap() / normal.unwrap() - 1.0).abs() < 0.03, "{exact:?} vs {normal:?}");
        // Identical values spread by nothing; too few values, or too small an n, say nothing.
        assert_eq!(relative_spread(&[2.0; 5]), Some(0.0));
        assert_eq!(relative_spread(&[2.0, 2.1]), None);
        assert_eq!(relative_spread(&[-1.0, -1.0, -1.0]), None);
        assert_eq!(projected_half_width(0.1, 5, 0.95), None);
        // 1.4826 x MAD: 1, 2, 3, 4, 5 have median 3 and MAD 1.
        assert!((relative_spread(&[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap() - 1.4826 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn the_median_interval_covers_the_true_median_at_least_as_often_as_asked() {
        // Skewed (lognormal-like) values at every small count: the order statistics
        // hold 95% where the percentile bootstrap does not. 2000 samples per count: a
        // true 95% coverage falls below 93.5% with probability about 0.1%.
        let mut rng = SplitMix64::new(23);
        for n in [6, 7, 9, 12, 20] {
            let mut covered = 0;
            for _ in 0..2000 {
                let v: Vec<f64> = (0..n).map(|_| (2.0 * (rng.below(1_000_000) as f64 / 1e6)).exp()).collect();
                let i = median_interval(&v, 0.95).unwrap();
                covered += usize::from(i.low <= 1f64.exp() && 1f64.exp() <= i.high);
            }
            assert!(covered >= 1870, "n = {n}: {covered} of 2000 covered");
        }
        assert_eq!(median_interval(&[1.0, 2.0, 3.0], 0.95), None);
        let (range, coverage) = median_interval_or_range(&[3.0, 1.0, 2.0], 0.95).unwrap();
        assert_eq!((range.low, range.estimate, range.high, coverage), (1.0, 2.0, 3.0, 0.75));
        let (_, coverage) = median_interval_or_range(&[1.0; 20], 0.95).unwrap();
        assert!((coverage - (1.0 - 2.0 * 21700.0 / 1048576.0)).abs() < 1e-12, "{coverage}");
        assert_eq!(median_interval_or_range(&[], 0.95), None);
        let i = median_interval(&[5.0, 1.0, 4.0, 2.0, 3.0, 6.0, f64::NAN], 0.95).unwrap();
        assert_eq!((i.estimate, i.low, i.high), (3.5, 1.0, 6.0));
    }
}
