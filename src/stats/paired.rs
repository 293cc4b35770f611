//! Paired differences: the Wilcoxon signed-rank test and its interval for the centre
//! of the differences (the one-sample Hodges-Lehmann estimate, the median of the Walsh
//! averages), exact for small counts.
//!
//! For `parbench ab`, where every round measures both builds and the differences of
//! the log times, round by round, are the data: the machine's drift is common to both
//! members of a pair and cancels. The signed-rank interval assumes the differences are
//! symmetric about their centre (a shift of logs is), which the sign test's interval
//! ([`super::median_interval`]) does not; in exchange it is about 1.5 times as
//! efficient for normal-like data (95% of the mean's efficiency, against 64%).

use super::interval::Shift;
use super::normal::{normal_quantile, normal_upper_tail};
use super::summary::median;

/// Counts above which the normal approximation replaces the exact distribution of W+
/// (the exact count takes n x n (n + 1) / 2 steps: 32 million at 400).
const EXACT_MAX: usize = 400;

/// The exact null distribution of the signed-rank statistic W+ for `n` differences
/// without ties or zeros: `dist[w]` = P(W+ = w), w in 0 ..= n (n + 1) / 2. `None`
/// beyond [`EXACT_MAX`].
pub fn signed_rank_distribution(n: usize) -> Option<Vec<f64>> {
    if n > EXACT_MAX {
        return None;
    }
    let top = n * (n + 1) / 2;
    // counts[s]: subsets of the ranks seen so far with sum s, scaled by 1/2 per rank,
    // so the counts stay probabilities and never overflow.
    let mut counts = vec![0.0f64; top + 1];
    counts[0] = 1.0;
    for rank in 1..=n {
        for s in (0..=top).rev() {
            let with = if s >= rank { counts[s - rank] } else { 0.0 };
            counts[s] = (counts[s] + with) / 2.0;
        }
    }
    Some(counts)
}

/// The order statistic of the signed-rank interval for `n` differences at
/// `confidence`: with the n (n + 1) / 2 Walsh averages sorted, the interval is
/// `[w[c], w[M - 1 - c]]`, `c` the largest count with P(W+ <= c) <= (1 - confidence) / 2.
/// `None` when `n` differences cannot reach `confidence` (the full range of 7 covers
/// 1 - 2/128 = 98.4%, so 99% needs 8).
pub fn signed_rank_order(n: usize, confidence: f64) -> Option<usize> {
    if n == 0 || !(confidence > 0.0 && confidence < 1.0) {
        return None;
    }
    let tail = (1.0 - confidence) / 2.0;
    match signed_rank_distribution(n) {
        Some(dist) => {
            let mut cumulative = 0.0;
            let mut c = None;
            for (w, p) in dist.iter().enumerate() {
                cumulative += p;
                // A relative tolerance: exact table values sit on the boundary.
                if cumulative > tail * (1.0 + 1e-9) {
                    break;
                }
                c = Some(w);
            }
            c
        }
        None => {
            let nf = n as f64;
            let sd = (nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0).sqrt();
            let c = (nf * (nf + 1.0) / 4.0 - 0.5 - normal_quantile(1.0 - tail) * sd).floor();
            (c >= 0.0).then_some(c as usize)
        }
    }
}

/// The fewest differences for which a signed-rank interval at `confidence` exists.
pub fn fewest_for_signed_rank(confidence: f64) -> usize {
    (1..64).find(|&n| signed_rank_order(n, confidence).is_some()).unwrap_or(usize::MAX)
}

/// Sorted Walsh averages `(d[i] + d[j]) / 2`, i <= j.
fn walsh_averages(d: &[f64]) -> Vec<f64> {
    let mut w = Vec::with_capacity(d.len() * (d.len() + 1) / 2);
    for (i, a) in d.iter().enumerate() {
        w.extend(d[i..].iter().map(|b| (a + b) / 2.0));
    }
    w.sort_by(f64::total_cmp);
    w
}

/// The centre of the finite differences `d` (the median of their Walsh averages) with
/// its signed-rank confidence interval at `confidence`. `None` when there are too few
/// differences for it (see [`signed_rank_order`]). Deterministic.
pub fn signed_rank_interval(d: &[f64], confidence: f64) -> Option<Shift> {
    let d: Vec<f64> = d.iter().copied().filter(|x| x.is_finite()).collect();
    let c = signed_rank_order(d.len(), confidence)?;
    let w = walsh_averages(&d);
    Some(Shift { estimate: median(&w)?, low: w[c], high: w[w.len() - 1 - c] })
}

/// Two-sided p of the Wilcoxon signed-rank test that the differences `d` are centred
/// on 0: exact without ties or zeros up to [`EXACT_MAX`] differences, else the normal
/// approximation with midranks, the tie correction and a continuity correction. Zeros
/// are dropped. 1 when nothing is left.
pub fn signed_rank_p(d: &[f64]) -> f64 {
    let mut d: Vec<f64> = d.iter().copied().filter(|x| x.is_finite() && *x != 0.0).collect();
    let n = d.len();
    if n == 0 {
        return 1.0;
    }
    d.sort_by(|a, b| a.abs().total_cmp(&b.abs()));
    // Midranks of |d|, and the tie correction sum of (t^3 - t).
    let mut ranks = vec![0.0; n];
    let mut ties = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && d[j + 1].abs() == d[i].abs() {
            j += 1;
        }
        let t = (j - i + 1) as f64;
        ranks[i..=j].iter_mut().for_each(|r| *r = (i + j + 2) as f64 / 2.0);
        ties += t * t * t - t;
        i = j + 1;
    }
    let w: f64 = d.iter().zip(&ranks).filter(|(x, _)| **x > 0.0).map(|(_, r)| r).sum();
    if ties == 0.0 {
        if let Some(dist) = signed_rank_distribution(n) {
            let w = w.round() as usize;
            let low: f64 = dist[..=w].iter().sum();
            let high: f64 = dist[w..].iter().sum();
            return (2.0 * low.min(high)).min(1.0);
        }
    }
    let nf = n as f64;
    let mean = nf * (nf + 1.0) / 4.0;
    let var = nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0 - ties / 48.0;
    if var <= 0.0 {
        return 1.0;
    }
    let z = ((w - mean).abs() - 0.5).max(0.0) / var.sqrt();
    (2.0 * normal_upper_tail(z)).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    #[test]
    fn the_signed_rank_distribution_matches_the_tables() {
        // n = 3: sums 0..6 of subsets of {1, 2, 3}: 1, 1, 1, 2, 1, 1, 1 (of 8).
        let d = signed_rank_distribution(3).unwrap();
        let eighths: Vec<f64> = d.iter().map(|p| p * 8.0).collect();
        assert_eq!(eighths, [1.0, 1.0, 1.0, 2.0, 1.0, 1.0, 1.0]);
        // Published critical values (two-sided 5%): n = 10 -> 8, n = 20 -> 52; 1%:
        // n = 10 -> 3, n = 20 -> 37.
        assert_eq!(signed_rank_order(10, 0.95), Some(8));
        assert_eq!(signed_rank_order(20, 0.95), Some(52));
        assert_eq!(signed_rank_order(10, 0.99), Some(3));
        assert_eq!(signed_rank_order(20, 0.99), Some(37));
        // 7 differences cannot reach 99% (2/128 > 1%), 8 can (2/256).
        assert_eq!(signed_rank_order(7, 0.99), None);
        assert_eq!(signed_rank_order(8, 0.99), Some(0));
        assert_eq!(fewest_for_signed_rank(0.99), 8);
        // Beyond the exact counts, the normal approximation lands next to them.
        let exact = signed_rank_order(EXACT_MAX, 0.99).unwrap() as f64;
        let nf = EXACT_MAX as f64;
        let normal = nf * (nf + 1.0) / 4.0 - 0.5 - 2.5758293 * (nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0).sqrt();
        // (within 10 of 80,200 averages: 0.004 standard deviations)
        assert!((exact - normal).abs() <= 10.0, "{exact} vs {normal}");
        assert!(signed_rank_order(EXACT_MAX + 1, 0.99).is_some());
    }

    #[test]
    fn the_walsh_median_of_a_hand_computed_case() {
        // Walsh averages of 1, 2, 6: 1, 1.5, 2, 3.5, 4, 6 -> median 2.75.
        let w = walsh_averages(&[6.0, 1.0, 2.0]);
        assert_eq!(w, [1.0, 1.5, 2.0, 3.5, 4.0, 6.0]);
        assert_eq!(signed_rank_interval(&[6.0, 1.0, 2.0], 0.5).map(|s| s.estimate), Some(2.75));
        assert_eq!(signed_rank_interval(&[1.0; 7], 0.99), None);
    }

    #[test]
    fn the_signed_rank_interval_covers_the_true_centre_at_its_confidence() {
        // 2000 experiments of 12 symmetric (uniform) differences centred on 0.3. The
        // exact 95% interval of 12 misses with probability 2 x P(W+ <= 13) = 4.2%
        // (84 of 2000, sd 9).
        let mut rng = SplitMix64::new(11);
        let mut draw = || rng.below(1_000_000) as f64 / 1e6;
        let miss_p =
            2.0 * signed_rank_distribution(12).unwrap()[..=signed_rank_order(12, 0.95).unwrap()].iter().sum::<f64>();
        let mut misses = 0;
        for _ in 0..2000 {
            let d: Vec<f64> = (0..12).map(|_| draw() * 2.0 - 1.0 + 0.3).collect();
            let s = signed_rank_interval(&d, 0.95).unwrap();
            misses += usize::from(s.low > 0.3 || s.high < 0.3);
        }
        let expected = miss_p * 2000.0;
        assert!((misses as f64 - expected).abs() < 35.0, "{misses} misses, {expected} expected");
    }

    #[test]
    fn the_signed_rank_p_is_exact_for_small_counts() {
        // All 6 positive: W+ = 21, the largest of 64 outcomes: p = 2/64.
        assert!((signed_rank_p(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]) - 2.0 / 64.0).abs() < 1e-12);
        // Symmetric about 0: p = 1.
        assert_eq!(signed_rank_p(&[-1.0, 1.0, -2.0, 2.0]), 1.0);
        assert_eq!(signed_rank_p(&[0.0, 0.0]), 1.0);
        // Ties use the normal approximation and stay in range.
        let p = signed_rank_p(&[1.0; 30]);
        assert!(p > 0.0 && p < 1e-5, "{p}");
    }
}
