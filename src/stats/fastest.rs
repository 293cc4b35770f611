//! Which of several runners measured in the same rounds was fastest: ranked and tested
//! with one statistic, the paired ratio of their wall times round by round, and its
//! distribution-free interval ([`super::interval::median_interval`]).
//!
//! Ranking by one number (the median speedup against serial) and testing another (the
//! ratio of the two runners' times) can name a runner first that the test itself
//! finds slower: medians of ratios are not transitive. Here the first is the runner
//! whose median time ratio is below 1 against the most others, and it is named fastest
//! only when its interval against every other lies wholly below 1, each at the
//! confidence divided over the comparisons (Bonferroni), so that identical runners
//! produce a false winner in at most 1 - `confidence` of measurements, at any count.

use super::interval::{Interval, fewest_for_interval, median_interval};
use super::summary::{median, paired_ratios};

/// What the paired times say about the fastest of several runners.
#[derive(Clone, Debug, PartialEq)]
pub enum Fastest {
    /// Too few paired rounds for an interval at the confidence each comparison needs.
    TooFewRounds {
        /// Paired rounds available (the fewest of any pair).
        rounds: usize,
        /// Rounds the interval needs.
        needed: usize,
    },
    /// `best` was faster than every other runner: each paired interval of its time over
    /// another's lies below 1. `ratio` is its interval against `runner_up`, the closest.
    Winner {
        /// Index of the fastest.
        best: usize,
        /// Index of the closest other.
        runner_up: usize,
        /// best / runner-up time ratio, with its interval.
        ratio: Interval,
    },
    /// No runner was separated from all others; `best` ranks first and `tied` are all
    /// the runners it could not be told from, the closest first.
    Tie {
        /// Index of the first in the paired ranking.
        best: usize,
        /// Indices of every runner it is not separated from (at least one), closest
        /// first.
        tied: Vec<usize>,
    },
}

/// The fastest of the runners whose per-round wall times are `walls[i]` (rounds line
/// up by index; `NaN` where a runner has no sample), at `confidence` overall. `None`
/// with fewer than two runners.
pub fn fastest(walls: &[Vec<f64>], confidence: f64) -> Option<Fastest> {
    let k = walls.len();
    if k < 2 {
        return None;
    }
    // Every ordered pair's ratios and log median ratio, once.
    let pairs: Vec<Vec<(Vec<f64>, f64)>> = (0..k)
        .map(|a| {
            (0..k)
                .map(|b| {
                    let r = paired_ratios(&walls[a], &walls[b]);
                    let m = median(&r).filter(|m| *m > 0.0).map_or(0.0, f64::ln);
                    (r, m)
                })
                .collect()
        })
        .collect();
    let ratios = |a: usize, b: usize| pairs[a][b].0.as_slice();
    let log_median = |a: usize, b: usize| pairs[a][b].1;
    // Rank by wins (median ratio below 1), then by the mean log ratio to the others.
    let score = |a: usize| -> (usize, f64) {
        let others = (0..k).filter(|&b| b != a);
        let wins = others.clone().filter(|&b| log_median(a, b) < 0.0).count();
        (wins, others.map(|b| log_median(a, b)).sum::<f64>() / (k - 1) as f64)
    };
    let scores: Vec<(usize, f64)> = (0..k).map(score).collect();
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| scores[b].0.cmp(&scores[a].0).then(scores[a].1.total_cmp(&scores[b].1)));
    let best = order[0];
    let level = 1.0 - (1.0 - confidence) / (k - 1) as f64;
    let rounds = (0..k).filter(|&b| b != best).map(|b| ratios(best, b).len()).min().unwrap_or(0);
    let needed = fewest_for_interval(level);
    if rounds < needed {
        return Some(Fastest::TooFewRounds { rounds, needed });
    }
    // The closest other: the largest median time ratio best / other.
    let others = || (0..k).filter(|&b| b != best);
    let runner_up = others().max_by(|&a, &b| log_median(best, a).total_cmp(&log_median(best, b))).unwrap_or(order[1]);
    let intervals: Vec<Option<Interval>> = others().map(|b| median_interval(ratios(best, b), level)).collect();
    if intervals.iter().all(|i| i.is_some_and(|i| i.high < 1.0)) {
        let ratio = median_interval(ratios(best, runner_up), level)?;
        return Some(Fastest::Winner { best, runner_up, ratio });
    }
    // Every rival the best is not separated from, the closest first.
    let mut tied: Vec<usize> =
        others().zip(&intervals).filter(|(_, i)| i.is_none_or(|i| i.high >= 1.0)).map(|(b, _)| b).collect();
    tied.sort_by(|&a, &b| log_median(best, b).total_cmp(&log_median(best, a)));
    Some(Fastest::Tie { best, tied })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    /// `n` rounds of `k` runners with the same true time: each round shares a factor
    /// (the machine's mood, up to ±40%), each sample has its own noise of ±5%. The
    /// sign test's size does not depend on the shape of the noise, so uniform noise
    /// (cheap to draw) tests it as well as lognormal.
    fn identical(k: usize, n: usize, rng: &mut SplitMix64) -> Vec<Vec<f64>> {
        let mut unit = || rng.below(1 << 30) as f64 / (1u64 << 30) as f64 - 0.5;
        let moods: Vec<f64> = (0..n).map(|_| 1.0 + 0.8 * unit()).collect();
        (0..k).map(|_| moods.iter().map(|m| 100.0 * m * (1.0 + 0.1 * unit())).collect()).collect()
    }

    #[test]
    fn identical_runners_get_a_false_winner_at_most_5_percent_of_the_time_at_every_round_count() {
        // 2000 simulated measurements per round count: the share has a standard error
        // of 0.49 points at 5%, so 6.5% is three standard errors above a rule at exactly
        // 5%, and the old rule's 11.7% at 7 rounds is 13 above. The old rule (rank by median speedup, 95% bootstrap of the ratio to the
        // runner-up) named a false winner in 11.7% at 7 rounds; this one never exceeds
        // 1 - 0.95 by construction (checked exactly below for two runners).
        let mut rng = SplitMix64::new(12);
        let counts: [&[usize]; 2] =
            [&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 20, 30, 50], &[7, 8, 9, 17]];
        for (k, counts) in [2, 3].into_iter().zip(counts) {
            for &n in counts {
                let runs = 2000;
                let wins = (0..runs)
                    .filter(|_| matches!(fastest(&identical(k, n, &mut rng), 0.95), Some(Fastest::Winner { .. })))
                    .count();
                let rate = wins as f64 / runs as f64;
                assert!(rate <= 0.065, "{k} runners, {n} rounds: {wins} false winners in {runs}");
            }
        }
        // Two runners: a winner needs its whole interval below 1, which identical runners
        // give with probability P(B <= c) for either of them: 2 P(B <= c) <= 5% exactly.
        for n in 1..=200usize {
            if let Some(c) = super::super::interval::sign_rank(n, 0.95) {
                let mut log_pmf = -(n as f64) * std::f64::consts::LN_2;
                let mut tail = 0.0;
                for k in 0..=c {
                    tail += log_pmf.exp();
                    log_pmf += ((n - k) as f64).ln() - ((k + 1) as f64).ln();
                }
                assert!(2.0 * tail <= 0.05 + 1e-12, "{n} rounds: size {}", 2.0 * tail);
            }
        }
    }

    #[test]
    fn a_clearly_faster_runner_is_named_and_ranked_by_the_statistic_it_is_tested_on() {
        let a: Vec<f64> = (0..8).map(|i| 100.0 + f64::from(i % 3)).collect();
        let b: Vec<f64> = a.iter().map(|t| t * 1.2).collect();
        match fastest(&[b.clone(), a.clone()], 0.95) {
            Some(Fastest::Winner { best: 1, runner_up: 0, ratio }) => assert!(ratio.high < 1.0 && ratio.low > 0.8),
            other => panic!("{other:?}"),
        }
        // Equal times: a tie, whatever the order.
        assert!(matches!(fastest(&[a.clone(), a.clone()], 0.95), Some(Fastest::Tie { .. })));
        // One round (or five) is too few for a 95% interval: nothing is named.
        let one = fastest(&[vec![100.0], vec![120.0]], 0.95);
        assert_eq!(one, Some(Fastest::TooFewRounds { rounds: 1, needed: 6 }));
        let five = |k: usize| fastest(&vec![vec![100.0; 5]; k], 0.95);
        assert_eq!(five(2), Some(Fastest::TooFewRounds { rounds: 5, needed: 6 }));
        assert_eq!(five(3), Some(Fastest::TooFewRounds { rounds: 5, needed: 7 }), "97.5% per comparison");
        assert_eq!(fastest(&[a], 0.95), None);
    }

    #[test]
    fn the_first_is_the_one_the_paired_ratios_favour_not_the_best_median_speedup() {
        // Against a serial time of 100: y is a little faster than x in 6 of 8 rounds and
        // far slower in 2, so x has the higher median speedup (2.2x against 2.1x) while
        // y is faster round by round (x / y has median 1.04).
        let serial = [100.0; 8];
        let x = [50.0, 50.0, 50.0, 41.667, 41.667, 41.667, 45.45, 45.45];
        let y = [47.62, 47.62, 47.62, 40.0, 40.0, 40.0, 100.0, 100.0];
        let speedup = |t: &[f64]| median(&paired_ratios(&serial, t)).unwrap();
        assert!(speedup(&x) > speedup(&y), "{} {}", speedup(&x), speedup(&y));
        assert!(median(&paired_ratios(&x, &y)).unwrap() > 1.0);
        match fastest(&[x.to_vec(), y.to_vec()], 0.95) {
            Some(Fastest::Tie { best: 1, tied }) if tied == [0] => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_tie_names_every_runner_the_first_cannot_be_told_from_the_closest_first() {
        // a and b cannot be told apart; c is close to both but noisier; d is far
        // slower in every round.
        let a: Vec<f64> = (0..12).map(|i| 100.0 + f64::from(i % 4)).collect();
        let b: Vec<f64> = (0..12).map(|i| 100.0 + f64::from((i + 2) % 4)).collect();
        let c: Vec<f64> = (0..12).map(|i| 101.0 + 6.0 * f64::from(i % 3) - 6.0).collect();
        let d: Vec<f64> = a.iter().map(|t| t * 1.5).collect();
        match fastest(&[d, c, a, b], 0.95) {
            Some(Fastest::Tie { best, tied }) => {
                let mut all = tied.clone();
                all.push(best);
                all.sort_unstable();
                assert_eq!(all, [1, 2, 3], "every runner but the slow one: best {best}, tied {tied:?}");
            }
            other => panic!("{other:?}"),
        }
    }
}
