//! Measurement: warm-up, then rounds; each round runs every selected runner once, in a
//! seeded shuffled order, on the same workload.
//!
//! The one decision a reader would otherwise get wrong: a wrong answer ends the
//! measurement with an error, in warm-up too. A fast wrong answer is a failure, never a
//! timing. (The counter's `none` mode reports lost updates instead; that is its point.)

use serde::{Deserialize, Serialize};

use crate::error::BenchError;
use crate::rng::SplitMix64;
use crate::runner::{Runner, RunnerKind, RunnerOptions, Sample};
use crate::workload::{Verification, Workload, WorkloadParams};

/// How to measure, every default resolved.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Runners to measure; serial is always among them.
    pub runners: Vec<RunnerKind>,
    /// Workers (W) for every parallel runner.
    pub workers: usize,
    /// Options passed to runners.
    pub options: RunnerOptions,
    /// Discarded rounds before measuring.
    pub warmup: u32,
    /// Measured rounds.
    pub rounds: u32,
    /// Seed for the runner order.
    pub seed: u64,
}

/// One sample with its place in the measurement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordedSample {
    /// Round index (0-based, warm-up excluded).
    pub round: u32,
    /// Position of this runner within the round's shuffled order.
    pub position: u32,
    /// The sample.
    #[serde(flatten)]
    pub sample: Sample,
}

/// One value per round of `runner`'s samples, `NaN` for a round it has no sample in:
/// the vectors of two runners line up round by round, for pairing (see
/// [`crate::stats::paired_ratios`], which skips the `NaN`s).
pub fn by_round(samples: &[RecordedSample], runner: RunnerKind, value: impl Fn(&Sample) -> f64) -> Vec<f64> {
    let rounds = samples.iter().map(|s| s.round as usize + 1).max().unwrap_or(0);
    let mut v = vec![f64::NAN; rounds];
    for s in samples.iter().filter(|s| s.sample.runner == runner) {
        v[s.round as usize] = value(&s.sample);
    }
    v
}

/// Everything measured for one workload configuration.
#[derive(Clone, Debug)]
pub struct Measurement {
    /// The workload.
    pub params: WorkloadParams,
    /// Its task count.
    pub tasks: usize,
    /// Workers of the parallel runners.
    pub workers: usize,
    /// Runners measured, in report order.
    pub runners: Vec<RunnerKind>,
    /// Measured samples, warm-up excluded.
    pub samples: Vec<RecordedSample>,
    /// One-off set-up time per runner (rayon pool build), ns.
    pub setup_ns: Vec<(RunnerKind, u64)>,
}

/// Called between samples (never inside one): `(samples done, samples total)`.
pub type Progress<'a> = &'a mut dyn FnMut(usize, usize);

/// Measures one workload under `settings.runners`.
pub fn measure(
    params: &WorkloadParams,
    settings: &Settings,
    progress: Progress<'_>,
) -> Result<Measurement, BenchError> {
    let mut all = measure_all(&[(params.clone(), settings.clone())], progress)?;
    Ok(all.remove(0))
}

/// One case during measurement.
struct CaseState<'a> {
    params: &'a WorkloadParams,
    settings: &'a Settings,
    workload: Box<dyn Workload>,
    runners: Vec<(RunnerKind, Box<dyn Runner>)>,
    rng: SplitMix64,
    samples: Vec<RecordedSample>,
}

impl CaseState<'_> {
    fn total_rounds(&self) -> u32 {
        self.settings.warmup + self.settings.rounds
    }

    /// Runs every runner of this case once, in a shuffled order.
    fn round(&mut self, round: u32, done: &mut usize, total: usize, progress: Progress<'_>) -> Result<(), BenchError> {
        let mut order: Vec<usize> = (0..self.runners.len()).collect();
        self.rng.shuffle(&mut order);
        for (position, &i) in order.iter().enumerate() {
            let (kind, runner) = &mut self.runners[i];
            let sample = runner.run(self.workload.as_ref())?;
            if let Verification::Failed { reason } = &sample.verification {
                return Err(BenchError::Verification {
                    runner: *kind,
                    workload: self.params.label(),
                    reason: reason.clone(),
                });
            }
            if round >= self.settings.warmup {
                let mut sample = sample;
                // Per-task records grow with tasks x samples; only the last round's are
                // kept (for timelines), the rest live on in `per_worker`.
                if round + 1 < self.total_rounds() {
                    sample.tasks = Vec::new();
                }
                let round = round - self.settings.warmup;
                self.samples.push(RecordedSample { round, position: position as u32, sample });
            }
            *done += 1;
            progress(*done, total);
        }
        Ok(())
    }
}

/// Measures several workload configurations, interleaved: every round visits every
/// case in a shuffled order and runs each of its runners once, in a shuffled order.
///
/// Interleaving whole cases, not only runners, matters on a shared machine: a
/// disturbance lasting a few seconds then costs every case one noisy sample, instead
/// of shifting all rounds of whichever case happened to be running.
pub fn measure_all(
    cases: &[(WorkloadParams, Settings)],
    progress: Progress<'_>,
) -> Result<Vec<Measurement>, BenchError> {
    let mut states = Vec::with_capacity(cases.len());
    for (params, settings) in cases {
        let mut runners: Vec<(RunnerKind, Box<dyn Runner>)> = Vec::with_capacity(settings.runners.len());
        for &kind in &settings.runners {
            runners.push((kind, kind.build(kind.workers(settings.workers), &settings.options)?));
        }
        let rng = SplitMix64::new(settings.seed);
        states.push(CaseState { params, settings, workload: params.build(), runners, rng, samples: Vec::new() });
    }
    let total: usize = states.iter().map(|c| c.total_rounds() as usize * c.runners.len()).sum();
    let rounds = states.iter().map(CaseState::total_rounds).max().unwrap_or(0);
    let mut case_rng = SplitMix64::new(cases.first().map(|c| c.1.seed).unwrap_or(0) ^ 0x5EED_CA5E);
    let mut order: Vec<usize> = (0..states.len()).collect();
    let mut done = 0;
    for round in 0..rounds {
        case_rng.shuffle(&mut order);
        for &i in &order {
            if round < states[i].total_rounds() {
                states[i].round(round, &mut done, total, progress)?;
            }
        }
    }
    Ok(states
        .into_iter()
        .map(|c| {
            let setup_ns = c.runners.iter().filter_map(|(k, r)| r.setup_ns().map(|ns| (*k, ns))).collect();
            let mut runners: Vec<RunnerKind> = c.runners.iter().map(|(k, _)| *k).collect();
            runners.sort();
            Measurement {
                params: c.params.clone(),
                tasks: c.workload.task_count(),
                workers: c.settings.workers,
                runners,
                samples: c.samples,
                setup_ns,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::FibParams;

    fn settings(runners: Vec<RunnerKind>) -> Settings {
        Settings { runners, workers: 2, options: RunnerOptions::default(), warmup: 1, rounds: 3, seed: 5 }
    }

    #[test]
    fn every_round_has_every_runner_once_and_warmup_is_dropped() {
        let params = WorkloadParams::Fib(FibParams { n: 12, tasks: 4 });
        let s = settings(vec![RunnerKind::Serial, RunnerKind::Threads, RunnerKind::Rayon]);
        let mut calls = 0;
        let m = measure(&params, &s, &mut |_, _| calls += 1).unwrap();
        assert_eq!(calls, 12);
        assert_eq!(m.samples.len(), 9);
        for round in 0..3 {
            let mut kinds: Vec<RunnerKind> =
                m.samples.iter().filter(|r| r.round == round).map(|r| r.sample.runner).collect();
            kinds.sort();
            assert_eq!(kinds, s.runners);
        }
        assert!(m.setup_ns.iter().any(|(k, _)| *k == RunnerKind::Rayon));
    }

    #[test]
    fn the_order_within_rounds_is_shuffled_and_reproducible() {
        let params = WorkloadParams::Fib(FibParams { n: 5, tasks: 2 });
        let mut s = settings(vec![RunnerKind::Serial, RunnerKind::Threads, RunnerKind::Rayon]);
        s.rounds = 12;
        let orders = |s: &Settings| -> Vec<RunnerKind> {
            let m = measure(&params, s, &mut |_, _| {}).unwrap();
            let mut v: Vec<_> = m.samples.iter().map(|r| (r.round, r.position, r.sample.runner)).collect();
            v.sort();
            v.into_iter().map(|(_, _, k)| k).collect()
        };
        let a = orders(&s);
        assert_eq!(a, orders(&s), "same seed, same order");
        let firsts: std::collections::HashSet<_> = a.chunks(3).map(|c| c[0]).collect();
        assert!(firsts.len() > 1, "12 rounds always started with the same runner: not shuffled");
    }

    #[test]
    fn several_cases_are_interleaved_round_by_round() {
        let fib = |n| WorkloadParams::Fib(FibParams { n, tasks: 2 });
        let s = settings(vec![RunnerKind::Serial, RunnerKind::Threads]);
        let cases = vec![(fib(5), s.clone()), (fib(6), s.clone()), (fib(7), s)];
        let mut seen = Vec::new();
        let all = measure_all(&cases, &mut |done, total| seen.push((done, total))).unwrap();
        assert_eq!(all.len(), 3);
        assert!(all.iter().all(|m| m.samples.len() == 6), "3 rounds x 2 runners each");
        assert_eq!(seen.last(), Some(&(24, 24)), "warm-up included in progress");
        // Each case's results are its own: the fib(7) case verified fib(7).
        let last = &all[2].samples[0].sample.verification;
        assert!(matches!(last, Verification::Verified { detail } if detail.contains("fib(7) = 13")), "{last:?}");
    }
}
