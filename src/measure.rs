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
use crate::workload::{Verification, WorkloadParams};

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
    /// Measured rounds.
    pub rounds: u32,
    /// Measured samples, warm-up excluded.
    pub samples: Vec<RecordedSample>,
    /// One-off set-up time per runner (rayon pool build), ns.
    pub setup_ns: Vec<(RunnerKind, u64)>,
}

/// Called between samples (never inside one): `(samples done, samples total)`.
pub type Progress<'a> = &'a mut dyn FnMut(usize, usize);

/// Measures one workload under `runners`.
pub fn measure(
    params: &WorkloadParams,
    runners: &[RunnerKind],
    settings: &Settings,
    progress: Progress<'_>,
) -> Result<Measurement, BenchError> {
    let workload = params.build();
    let mut built: Vec<(RunnerKind, Box<dyn Runner>)> = Vec::with_capacity(runners.len());
    for &kind in runners {
        built.push((kind, kind.build(kind.workers(settings.workers), &settings.options)?));
    }
    let setup_ns = built.iter().filter_map(|(k, r)| r.setup_ns().map(|ns| (*k, ns))).collect();
    let mut rng = SplitMix64::new(settings.seed);
    let total_rounds = settings.warmup + settings.rounds;
    let total = total_rounds as usize * built.len();
    let mut samples = Vec::with_capacity(settings.rounds as usize * built.len());
    let mut order: Vec<usize> = (0..built.len()).collect();
    for round in 0..total_rounds {
        rng.shuffle(&mut order);
        for (position, &i) in order.iter().enumerate() {
            let (kind, runner) = &mut built[i];
            let sample = runner.run(workload.as_ref())?;
            if let Verification::Failed { reason } = &sample.verification {
                return Err(BenchError::Verification {
                    runner: *kind,
                    workload: params.label(),
                    reason: reason.clone(),
                });
            }
            if round >= settings.warmup {
                samples.push(RecordedSample { round: round - settings.warmup, position: position as u32, sample });
            }
            progress(round as usize * built.len() + position + 1, total);
        }
    }
    let mut measured = runners.to_vec();
    measured.sort();
    Ok(Measurement {
        params: params.clone(),
        tasks: workload.task_count(),
        workers: settings.workers,
        runners: measured,
        rounds: settings.rounds,
        samples,
        setup_ns,
    })
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
        let m = measure(&params, &s.runners, &s, &mut |_, _| calls += 1).unwrap();
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
            let m = measure(&params, &s.runners, s, &mut |_, _| {}).unwrap();
            let mut v: Vec<_> = m.samples.iter().map(|r| (r.round, r.position, r.sample.runner)).collect();
            v.sort();
            v.into_iter().map(|(_, _, k)| k).collect()
        };
        let a = orders(&s);
        assert_eq!(a, orders(&s), "same seed, same order");
        let firsts: std::collections::HashSet<_> = a.chunks(3).map(|c| c[0]).collect();
        assert!(firsts.len() > 1, "12 rounds always started with the same runner: not shuffled");
    }
}
