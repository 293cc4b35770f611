//! The stopping rule of `--rounds auto`: when the paired speedups are known well
//! enough, or when the rounds that fit in the time left could not make them so. Pure:
//! no clock and no samples, so it is checked by seeded simulations with a known true
//! speedup (coverage of the reported interval, false futility calls).

use serde::{Deserialize, Serialize};

use super::{LOOK_GROWTH, MAX_AUTO_ROUNDS, MIN_AUTO_ROUNDS};

/// Why `--rounds auto` stopped measuring a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stopped {
    /// Every speedup is known to `--precision`.
    Reached,
    /// The spread so far says the rounds that fit in what is left of `--max-time`
    /// would not reach `--precision` (see [`Stopping`]).
    Futile,
    /// `--max-time` left no room for another round.
    OutOfTime,
    /// [`MAX_AUTO_ROUNDS`] rounds.
    RoundLimit,
}

/// One look of `--rounds auto` at the paired speedups.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Look {
    /// Rounds measured when it looked.
    pub rounds: u32,
    /// Which look it was (1-based).
    pub look: u32,
    /// The confidence of its intervals (see [`Stopping::confidence`]).
    pub confidence: f64,
    /// The widest relative half-width of the intervals; `None` while some runner has
    /// too few ratios for an interval.
    pub widest: Option<f64>,
    /// Each parallel runner's interval of its median speedup, in runner order.
    pub intervals: Vec<Option<crate::stats::Interval>>,
    /// For the look reported: the rounds after which, from the spread seen at this look,
    /// every interval would be within the precision (at the look that would see it);
    /// `None` when the spread cannot say (too few ratios), [`NEEDED_SEARCH`] when it
    /// would take more.
    #[serde(default)]
    pub needed: Option<u32>,
    /// Why the measurement ended at this look; `None` for a look it went on after.
    #[serde(default)]
    pub stopped: Option<Stopped>,
}

/// The most rounds [`Look::needed`] looks ahead for.
pub const NEEDED_SEARCH: u32 = 10 * MAX_AUTO_ROUNDS;

/// A futility stop needs the best projected half-width to miss the precision by this
/// factor: the spread of the first rounds is itself a rough estimate, and a run stopped
/// as futile that would have reached the precision is a false alarm. At 1.5 the
/// simulation in the tests gives up on at most 2.2% of runs that could have made it
/// (1.25: 4.8%), and still stops hopeless runs at their first or second look.
const FUTILITY_MARGIN: f64 = 1.5;

impl Look {
    /// Looks at `ratios` (one list per parallel runner) after `rounds` rounds, as look
    /// number `look`.
    pub fn at(rounds: u32, look: u32, ratios: &[Vec<f64>]) -> Look {
        let confidence = Stopping::confidence(look);
        let intervals: Vec<_> = ratios.iter().map(|r| crate::stats::median_interval(r, confidence)).collect();
        let widest = intervals.iter().try_fold(0.0f64, |widest, i| {
            let i = (*i)?;
            let half = (i.high - i.estimate).max(i.estimate - i.low) / i.estimate;
            (i.estimate > 0.0 && half.is_finite()).then_some(widest.max(half))
        });
        Look { rounds, look, confidence, widest, intervals, needed: None, stopped: None }
    }
}

/// The round count of the look after one at `rounds`.
fn next_look(rounds: u32) -> u32 {
    rounds.saturating_add(1).max((f64::from(rounds) * LOOK_GROWTH).ceil() as u32)
}

/// The widest spread of the runners' ratios ([`crate::stats::relative_spread`]); `None`
/// when some runner has too few ratios to say.
fn widest_spread(ratios: &[Vec<f64>]) -> Option<f64> {
    ratios.iter().try_fold(0.0f64, |widest, r| Some(widest.max(crate::stats::relative_spread(r)?)))
}

/// The half-width the intervals are expected to have after `rounds` rounds at the
/// confidence of look `number`, for ratios spread by `spread` (see
/// [`crate::stats::projected_half_width`]).
fn projected(spread: f64, rounds: u32, number: u32) -> Option<f64> {
    crate::stats::projected_half_width(spread, rounds as usize, Stopping::confidence(number))
}

/// The stopping rule of `--rounds auto`: look at the paired speedups after
/// [`MIN_AUTO_ROUNDS`] rounds and then after every [`LOOK_GROWTH`] times as many, and
/// stop at the first look where every runner's interval is within `precision`, or
/// where more rounds cannot get there in the time left.
///
/// Looking again and again at a 95% interval and stopping when it happens to be narrow
/// reports intervals that are too narrow: the run stops on a lucky stretch. So look j
/// asks for confidence 1 - 0.05 / (j (j + 1)); the chances of a miss at any look add up
/// to at most 0.05, and the interval that stopped the run (the one reported) covers the
/// true median speedup at least 95% of the time, whatever made it stop. The intervals
/// are order statistics of the ratios (distribution-free, see
/// [`crate::stats::median_interval`]), which hold their confidence at 7 rounds as at 700.
///
/// Futility: an interval narrows as 1 / sqrt(rounds) at best, so the spread at a look
/// says how wide the intervals would be at every later look that fits in the rounds
/// left (see [`crate::stats::projected_half_width`]). When even the best of them would
/// miss the precision by [`FUTILITY_MARGIN`], the rounds left would only spend the
/// time: the run stops there and reports the precision it reached. Stopping at a look
/// keeps the coverage (it is one of the looks the 5% is spread over). Pure: no clock,
/// no samples, so it is tested by simulation.
#[derive(Clone, Debug, PartialEq)]
pub struct Stopping {
    precision: f64,
    next: u32,
    /// The latest look taken.
    pub last: Option<Look>,
}

impl Stopping {
    /// A rule that stops once every interval's relative half-width is at most `precision`.
    pub fn new(precision: f64) -> Stopping {
        Stopping { precision, next: MIN_AUTO_ROUNDS, last: None }
    }

    /// The confidence of look `j` (1-based): 1 - 0.05 / (j (j + 1)), which sums to
    /// 0.95 over all looks (97.5% at the first, 99.17% at the second, ...).
    pub fn confidence(j: u32) -> f64 {
        let j = f64::from(j.max(1));
        1.0 - 0.05 / (j * (j + 1.0))
    }

    /// The number the next look will have.
    fn next_number(&self) -> u32 {
        self.last.as_ref().map_or(1, |l| l.look + 1)
    }

    /// The looks a run would still take from now until `end` rounds, as (rounds, look
    /// number): the scheduled ones, and one at `end` itself, the look a run ended by
    /// `--max-time` takes.
    fn looks_ahead(&self, rounds: u32, end: u32) -> Vec<(u32, u32)> {
        let mut looks = Vec::new();
        let (mut at, mut number) = (self.next, self.next_number());
        while at <= end {
            looks.push((at, number));
            (at, number) = (next_look(at), number + 1);
        }
        if looks.last().is_none_or(|&(r, _)| r < end) && end > rounds && end >= MIN_AUTO_ROUNDS {
            looks.push((end, number));
        }
        looks
    }

    /// The first scheduled look at which, from the spread of `ratios`, every interval
    /// would be within the precision: [`Look::needed`].
    fn needed(&self, ratios: &[Vec<f64>]) -> Option<u32> {
        let spread = widest_spread(ratios)?;
        let (mut rounds, mut number) = (MIN_AUTO_ROUNDS, 1);
        while rounds < NEEDED_SEARCH {
            if projected(spread, rounds, number)? <= self.precision {
                return Some(rounds);
            }
            (rounds, number) = (next_look(rounds), number + 1);
        }
        Some(NEEDED_SEARCH)
    }

    fn look(&mut self, rounds: u32, ratios: &[Vec<f64>]) -> &mut Look {
        let number = self.next_number();
        self.next = next_look(rounds);
        self.last.insert(Look::at(rounds, number, ratios))
    }

    /// After `rounds` rounds with `ratios` (each parallel runner's paired speedups),
    /// with `rounds_left` more rounds fitting in the time left: looks if a look is due,
    /// and says whether to stop, because every speedup is known well enough or because
    /// the rounds left would not make it so (see [`Stopping`]).
    pub fn after_round(&mut self, rounds: u32, ratios: &[Vec<f64>], rounds_left: u32) -> bool {
        if rounds < self.next {
            return false;
        }
        let precision = self.precision;
        let end = rounds.saturating_add(rounds_left).min(MAX_AUTO_ROUNDS);
        let widest = self.look(rounds, ratios).widest;
        let stopped = if widest.is_some_and(|w| w <= precision) {
            Some(Stopped::Reached)
        } else {
            let best = widest_spread(ratios).and_then(|spread| {
                self.looks_ahead(rounds, end)
                    .iter()
                    .filter_map(|&(r, number)| projected(spread, r, number))
                    .reduce(f64::min)
            });
            best.filter(|b| *b > precision * FUTILITY_MARGIN).map(|_| Stopped::Futile)
        };
        if let Some(look) = self.last.as_mut() {
            look.stopped = stopped;
        }
        stopped.is_some()
    }

    /// The rounds after which the run is expected to stop, with `rounds` done and
    /// `rounds_left` fitting in the time left: the first look the spread of `ratios`
    /// says reaches the precision; else the next look, where it would stop as futile;
    /// at most the end of the time. For a progress display: an estimate, revised as the
    /// spread is.
    pub fn expected_stop(&self, rounds: u32, ratios: &[Vec<f64>], rounds_left: u32) -> u32 {
        let end = rounds.saturating_add(rounds_left).min(MAX_AUTO_ROUNDS);
        let looks = self.looks_ahead(rounds, end);
        let spread = widest_spread(ratios);
        let reached = looks
            .iter()
            .find(|&&(r, number)| spread.and_then(|s| projected(s, r, number)).is_some_and(|w| w <= self.precision));
        match (reached, looks.first()) {
            (Some(&(r, _)), _) | (None, Some(&(r, _))) => r,
            (None, None) => end.max(rounds),
        }
        .max(rounds)
    }

    /// The look to report when the measurement ends after `rounds`, for reason `why`
    /// unless a look had stopped it: the last one if it was taken at these rounds,
    /// else one more look, spending the next share of the confidence, so that what is
    /// reported is always one of the looks the 95% is spread over.
    pub fn finish(&mut self, rounds: u32, ratios: &[Vec<f64>], why: Stopped) -> Look {
        let needed = self.needed(ratios);
        let look = match self.last.as_mut() {
            Some(l) if l.rounds == rounds => l,
            _ => self.look(rounds, ratios),
        };
        look.stopped.get_or_insert(why);
        look.needed = needed;
        look.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    #[test]
    fn a_look_is_zero_wide_for_identical_ratios_and_widens_with_noise() {
        let steady = vec![vec![2.0; 8]];
        assert_eq!(Look::at(8, 1, &steady).widest, Some(0.0));
        let noisy = vec![(0..8).map(|r| 200.0 / (80.0 + 10.0 * f64::from(r))).collect::<Vec<_>>()];
        assert!(Look::at(8, 1, &noisy).widest.unwrap() > 0.1);
        // 6 ratios cannot make the first look's 97.5% (their range covers 96.9%).
        assert_eq!(Look::at(6, 1, &[vec![2.0; 6]]).widest, None, "too few for the interval");
        assert_eq!(Look::at(7, 1, &[vec![2.0; 7], vec![]]).widest, None, "a runner with no pair yet");
        assert!((Stopping::confidence(1) - 0.975).abs() < 1e-12);
        let spent: f64 = (1..100_000).map(|j| 1.0 - Stopping::confidence(j)).sum();
        assert!(spent <= 0.05 && spent > 0.0499, "{spent}");
    }

    #[test]
    fn the_stopping_rule_looks_at_growing_intervals_and_reports_the_look_that_stopped_it() {
        let mut rule = Stopping::new(0.03);
        let ratios =
            |n: usize| vec![(0..n).map(|i| 2.0 * (1.0 + 0.2 * ((i * 7919 % 13) as f64 / 13.0 - 0.5))).collect()];
        let looked: Vec<u32> = (1..=100u32)
            .filter(|&n| {
                assert!(!rule.after_round(n, &ratios(n as usize), u32::MAX), "±3% is in reach by 1000 rounds");
                rule.last.as_ref().is_some_and(|l| l.rounds == n)
            })
            .collect();
        assert_eq!(looked, [7, 11, 17, 26, 39, 59, 89], "looks after 1.5 times as many rounds");
        assert_eq!(rule.last.as_ref().unwrap().look, 7);
        // Ending between looks (--max-time) takes one more look, at the next level;
        // ending on a look reports that look unchanged.
        let end = rule.finish(100, &ratios(100), Stopped::OutOfTime);
        assert_eq!((end.rounds, end.look, end.stopped), (100, 8, Some(Stopped::OutOfTime)));
        assert!((end.confidence - Stopping::confidence(8)).abs() < 1e-15);
        assert_eq!(rule.finish(100, &ratios(100), Stopped::OutOfTime), end);
        let mut quiet = Stopping::new(0.03);
        assert!(!quiet.after_round(6, &[vec![2.0; 6]], 0));
        assert!(quiet.after_round(7, &[vec![2.0; 7]], 0), "identical ratios stop at the first look");
        let look = quiet.finish(7, &[vec![2.0; 7]], Stopped::OutOfTime);
        assert_eq!((look.widest, look.stopped), (Some(0.0), Some(Stopped::Reached)), "the look that stopped it");
    }

    #[test]
    fn a_run_stops_at_a_look_when_the_rounds_left_cannot_reach_the_precision() {
        // Ratios spread ±15%: ±3% takes several hundred rounds. With 100 rounds left the
        // first look gives up; with the whole 1000 it goes on; ±30% is reached at once.
        let spread =
            |n: usize| vec![(0..n).map(|i| 2.0 * (1.0 + 0.3 * ((i * 7919 % 13) as f64 / 12.0 - 0.5))).collect()];
        let mut rule = Stopping::new(0.03);
        assert!(rule.after_round(7, &spread(7), 100));
        let look = rule.finish(7, &spread(7), Stopped::OutOfTime);
        assert_eq!(
            (look.rounds, look.look, look.stopped),
            (7, 1, Some(Stopped::Futile)),
            "the futile look is reported"
        );
        let needed = look.needed.unwrap();
        assert!((300..=1000).contains(&needed), "{needed}");
        let mut patient = Stopping::new(0.03);
        assert!(!patient.after_round(7, &spread(7), u32::MAX));
        assert!(patient.expected_stop(7, &spread(7), u32::MAX) >= needed);
        assert_eq!(patient.expected_stop(7, &spread(7), 20), 11, "futile at the next look");
        let mut loose = Stopping::new(0.3);
        assert!(loose.after_round(7, &spread(7), 0));
        assert_eq!(loose.last.unwrap().stopped, Some(Stopped::Reached));
        // No round left at all: the time, not futility, ends it.
        let mut out = Stopping::new(0.03);
        assert!(!out.after_round(7, &spread(7), 0));
        // Between looks nothing is decided; the expected stop is the next look that
        // reaches the precision.
        let mut calm = Stopping::new(0.03);
        let close =
            |n: usize| vec![(0..n).map(|i| 2.0 * (1.0 + 0.06 * ((i * 7919 % 13) as f64 / 12.0 - 0.5))).collect()];
        assert!(!calm.after_round(5, &close(5), 100));
        assert_eq!(calm.expected_stop(5, &close(5), 100), 7);
    }

    /// How one simulated `--rounds auto` run of one runner ended.
    struct Run {
        look: Look,
        /// Whether the rule without futility (going on to the budget) would have
        /// reached the precision: some look up to the budget, or the last one at it.
        reachable: bool,
    }

    /// A run whose ratios come from `draw`, with `budget` rounds fitting in --max-time;
    /// `or_without`: also find out whether the rule without futility would have reached
    /// the precision on the same ratios.
    fn simulate(draw: &mut dyn FnMut() -> f64, budget: u32, precision: f64, or_without: bool) -> Run {
        let all: Vec<f64> = (0..budget).map(|_| draw()).collect();
        let first = |n: u32| [all[..n as usize].to_vec()];
        let mut rule = Stopping::new(precision);
        let mut rounds = 0;
        let mut why = Stopped::OutOfTime;
        while rounds < budget {
            rounds += 1;
            // Between looks the rule decides nothing: only the looks are worth the copy.
            if rounds >= rule.next && rule.after_round(rounds, &first(rounds), budget - rounds) {
                break;
            }
            if rounds == MAX_AUTO_ROUNDS {
                why = Stopped::RoundLimit;
                break;
            }
        }
        let look = rule.finish(rounds, &first(rounds), why);
        // The same ratios without futility: the rule that only stops on the precision.
        let mut without = Stopping::new(precision);
        let mut reachable = false;
        let mut n = MIN_AUTO_ROUNDS;
        while or_without && n <= budget && !reachable {
            reachable = without.after_round(n, &first(n), u32::MAX)
                && without.last.as_ref().is_some_and(|l| l.stopped == Some(Stopped::Reached));
            n = without.next;
        }
        if or_without && !reachable && budget >= MIN_AUTO_ROUNDS {
            reachable =
                without.finish(budget, &first(budget), Stopped::OutOfTime).widest.is_some_and(|w| w <= precision);
        }
        Run { look, reachable }
    }

    /// Paired speedups around a true median of 2: lognormal with spread `noise`, and
    /// with probability `slow` a round disturbed both ways (a busy machine's outliers).
    fn ratios(seed: u64, noise: f64, slow: f64) -> impl FnMut() -> f64 {
        let mut rng = SplitMix64::new(seed);
        let mut uniform = move || (rng.below(1 << 53) as f64 + 0.5) / (1u64 << 53) as f64;
        move || {
            // Box-Muller: one standard normal from two uniforms.
            let z = (-2.0 * uniform().ln()).sqrt() * (std::f64::consts::TAU * uniform()).cos();
            let outlier = if uniform() < slow { if uniform() < 0.5 { 0.6 } else { 1.5 } } else { 1.0 };
            2.0 * (noise * z).exp() * outlier
        }
    }

    #[test]
    fn the_stopping_rule_covers_the_true_speedup_at_least_95_percent_of_the_time() {
        // 1000 runs per setting: a quiet run that reaches ±3% (1% noise at the first
        // look, 3% after about 26 rounds, 8% after about 200), and busy ones that stop
        // as futile within 30 or 100 rounds of budget. The rule guarantees at least 95%
        // whatever stops it, since the reported look is one of those the 5% is spread
        // over, and reaches about 98-99% here; with 1000 runs the share has a standard
        // error of 0.7 points at 95%, so a rule truly at 95% would still pass 0.94 in
        // 93% of seeds, and the old rule (a 95% bootstrap at every round from 5 on:
        // about 85% at 3% noise) fails by over ten.
        let settings = [(0.01, 0.0, 1000), (0.03, 0.0, 1000), (0.08, 0.0, 1000), (0.15, 0.1, 30), (0.3, 0.2, 100)];
        for (seed, (noise, slow, budget)) in settings.into_iter().enumerate() {
            let mut draw = ratios(seed as u64 + 1, noise, slow);
            let covered = (0..1000)
                .filter(|_| {
                    let run = simulate(&mut draw, budget, 0.03, false);
                    run.look.intervals[0].is_some_and(|i| i.low <= 2.0 && 2.0 <= i.high)
                })
                .count();
            assert!(covered >= 940, "noise {noise}, outliers {slow}, budget {budget}: {covered} of 1000 covered");
        }
    }

    #[test]
    fn futility_saves_the_time_of_runs_that_cannot_reach_the_precision_and_rarely_gives_up_on_one_that_could() {
        // A false alarm: a run stopped as futile that, going on to its budget, would
        // have reached ±3%. 500 runs at each spread, from easy to hopeless, within a
        // budget of 40 rounds (--max-time 10 at 0.25 s a round) or of 200; at most 3%
        // false alarms each (the rule gives 0-2.2%; 1.25 as the margin gave 4.8%). The
        // hopeless ones stop within a look or two of the minimum instead of running the
        // budget out (the old rule: 40 rounds every time).
        let settings = [
            (0.03, 40, None),
            (0.05, 40, None),
            (0.07, 40, None),
            (0.1, 40, Some(12.0)),
            (0.1, 200, None),
            (0.15, 200, None),
            (0.3, 40, Some(8.0)),
        ];
        for (seed, (noise, budget, hopeless)) in settings.into_iter().enumerate() {
            let mut draw = ratios(100 + seed as u64, noise, 0.0);
            let (mut futile, mut false_alarms, mut rounds) = (0, 0, 0);
            for _ in 0..500 {
                let run = simulate(&mut draw, budget, 0.03, true);
                rounds += run.look.rounds;
                if run.look.stopped == Some(Stopped::Futile) {
                    futile += 1;
                    false_alarms += usize::from(run.reachable);
                }
            }
            assert!(false_alarms <= 15, "noise {noise}, budget {budget}: {false_alarms} false alarms in 500");
            let mean = f64::from(rounds) / 500.0;
            if let Some(most) = hopeless {
                assert!(
                    futile >= 490 && mean < most,
                    "noise {noise}: futile {futile} of 500, {mean} rounds on average"
                );
            }
        }
    }
}
