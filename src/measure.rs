//! Measurement: warm-up, then rounds; each round runs every selected runner once, in a
//! seeded shuffled order, on the same workload.
//!
//! The one decision a reader would otherwise get wrong: a wrong answer ends the
//! measurement with an error, in warm-up too. A fast wrong answer is a failure, never a
//! timing. (The counter's `none` mode reports lost updates instead; that is its point.)

use serde::{Deserialize, Serialize};

use crate::error::BenchError;
use crate::rng::SplitMix64;
use crate::runner::{Job, Runner, RunnerKind, RunnerOptions, Sample};
use crate::workload::{Params, Properties, Verification, WorkloadSpec};

/// One workload configuration to measure, with its own settings (a suite mixes worker
/// counts and runners) and the runners that cannot run it.
#[derive(Clone, Debug)]
pub struct Case {
    /// The workload's declaration.
    pub spec: std::sync::Arc<WorkloadSpec>,
    /// Its values for this case.
    pub params: Params,
    /// `name (parameters)`.
    pub label: String,
    /// What the workload declared about this case.
    pub properties: Properties,
    /// How to measure it; `settings.runners` excludes the skipped runners.
    pub settings: Settings,
    /// Runners asked for but left out, and why.
    pub skipped: Vec<Skipped>,
}

/// A runner left out of a case, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// The runner.
    pub runner: RunnerKind,
    /// Why.
    pub reason: String,
}

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
///
/// The vector has one entry per round that occurs in `samples`, in round order, never
/// one per round number: the samples may come from a file, whose round numbers can be
/// anything up to 2^32 - 1.
pub fn by_round(samples: &[RecordedSample], runner: RunnerKind, value: impl Fn(&Sample) -> f64) -> Vec<f64> {
    let mut rounds: Vec<u32> = samples.iter().map(|s| s.round).collect();
    rounds.sort_unstable();
    rounds.dedup();
    let mut v = vec![f64::NAN; rounds.len()];
    for s in samples.iter().filter(|s| s.sample.runner == runner) {
        if let Ok(i) = rounds.binary_search(&s.round) {
            v[i] = value(&s.sample);
        }
    }
    v
}

/// Everything measured for one workload configuration.
#[derive(Clone, Debug)]
pub struct Measurement {
    /// The registered workload's name.
    pub workload: String,
    /// `name (parameters)`.
    pub label: String,
    /// Its parameter values.
    pub params: Params,
    /// What the workload declared about this case.
    pub properties: Properties,
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
    /// Building the workload in parbench (its set-up), once, before any sample, ns.
    pub workload_setup_ns: u64,
}

/// Called between samples (never inside one): `(samples done, samples total)`.
pub type Progress<'a> = &'a mut dyn FnMut(usize, usize);

/// One case during measurement.
struct CaseState<'a> {
    case: &'a Case,
    job: Job,
    runners: Vec<(RunnerKind, Box<dyn Runner>)>,
    rng: SplitMix64,
    samples: Vec<RecordedSample>,
    workload_setup_ns: u64,
}

impl CaseState<'_> {
    fn total_rounds(&self) -> u32 {
        self.case.settings.warmup + self.case.settings.rounds
    }

    /// Runs every runner of this case once, in a shuffled order.
    fn round(&mut self, round: u32, done: &mut usize, total: usize, progress: Progress<'_>) -> Result<(), BenchError> {
        let settings = &self.case.settings;
        let mut order: Vec<usize> = (0..self.runners.len()).collect();
        self.rng.shuffle(&mut order);
        for (position, &i) in order.iter().enumerate() {
            let (kind, runner) = &mut self.runners[i];
            let sample = runner.run(&self.job)?;
            if let Verification::Failed { reason } = &sample.verification {
                return Err(BenchError::Verification {
                    runner: *kind,
                    workload: self.case.label.clone(),
                    reason: reason.clone(),
                });
            }
            if round >= settings.warmup {
                let mut sample = sample;
                // Per-task records grow with tasks x samples; only the last round's are
                // kept (for timelines), the rest live on in `per_worker`.
                if round + 1 < self.total_rounds() {
                    sample.tasks = Vec::new();
                }
                let round = round - settings.warmup;
                self.samples.push(RecordedSample { round, position: position as u32, sample });
            }
            *done += 1;
            progress(*done, total);
        }
        Ok(())
    }
}

/// Builds a case's workload: its set-up, timed, outside every sample. A panic in the
/// user's constructor is an error naming the workload, not an abort.
pub(crate) fn build(case: &Case) -> Result<(Job, u64), BenchError> {
    let start = crate::sys::monotonic_ns();
    let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| case.spec.build(&case.params)));
    let elapsed = crate::sys::monotonic_ns() - start;
    let setup_error = |reason: String| BenchError::Setup { workload: case.label.clone(), reason };
    let workload = match built {
        Ok(Ok(w)) => w,
        Ok(Err(reason)) => return Err(setup_error(reason)),
        Err(payload) => {
            let message = payload.downcast_ref::<&str>().map(|s| s.to_string());
            let message = message.or_else(|| payload.downcast_ref::<String>().cloned());
            return Err(setup_error(format!("it panicked: {}", message.unwrap_or_default())));
        }
    };
    let job =
        Job { name: case.spec.name().to_string(), label: case.label.clone(), params: case.params.clone(), workload };
    Ok((job, elapsed))
}

/// Measures several workload configurations, interleaved: every round visits every
/// case in a shuffled order and runs each of its runners once, in a shuffled order.
///
/// Interleaving whole cases, not only runners, matters on a shared machine: a
/// disturbance lasting a few seconds then costs every case one noisy sample, instead
/// of shifting all rounds of whichever case happened to be running. The price is that
/// every case's workload is built (its set-up) before the first round and held until
/// the last.
pub fn measure_all(cases: &[Case], progress: Progress<'_>) -> Result<Vec<Measurement>, BenchError> {
    let mut states = Vec::with_capacity(cases.len());
    for case in cases {
        let settings = &case.settings;
        let mut runners: Vec<(RunnerKind, Box<dyn Runner>)> = Vec::with_capacity(settings.runners.len());
        for &kind in &settings.runners {
            runners.push((kind, kind.build(kind.workers(settings.workers), &settings.options)?));
        }
        let (job, workload_setup_ns) = build(case)?;
        let rng = SplitMix64::new(settings.seed);
        states.push(CaseState { case, job, runners, rng, samples: Vec::new(), workload_setup_ns });
    }
    let total: usize = states.iter().map(|c| c.total_rounds() as usize * c.runners.len()).sum();
    let rounds = states.iter().map(CaseState::total_rounds).max().unwrap_or(0);
    let mut case_rng = SplitMix64::new(cases.first().map(|c| c.settings.seed).unwrap_or(0) ^ 0x5EED_CA5E);
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
                workload: c.job.name,
                label: c.case.label.clone(),
                params: c.job.params,
                properties: c.case.properties.clone(),
                tasks: c.job.workload.task_count(),
                workers: c.case.settings.workers,
                runners,
                samples: c.samples,
                setup_ns,
                workload_setup_ns: c.workload_setup_ns,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;
    use crate::workload::Value;

    /// A fib case under `settings`.
    fn fib_case(n: u64, tasks: u64, settings: Settings) -> Case {
        let spec = std::sync::Arc::clone(Registry::with_builtins().get("fib").unwrap());
        let values = vec![("n".to_string(), Value::UInt(n)), ("tasks".to_string(), Value::UInt(tasks))];
        let params = Params::new(values, settings.workers, settings.seed);
        let label = format!("fib ({})", params.describe());
        Case { spec, params, label, properties: Properties::default(), settings, skipped: Vec::new() }
    }

    fn settings(runners: Vec<RunnerKind>) -> Settings {
        Settings { runners, workers: 2, options: RunnerOptions::default(), warmup: 1, rounds: 3, seed: 5 }
    }

    fn measure(case: Case, progress: Progress<'_>) -> Measurement {
        measure_all(&[case], progress).unwrap().remove(0)
    }

    #[test]
    fn every_round_has_every_runner_once_and_warmup_is_dropped() {
        let s = settings(vec![RunnerKind::Serial, RunnerKind::Threads, RunnerKind::Rayon]);
        let mut calls = 0;
        let m = measure(fib_case(12, 4, s.clone()), &mut |_, _| calls += 1);
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
        let mut s = settings(vec![RunnerKind::Serial, RunnerKind::Threads, RunnerKind::Rayon]);
        s.rounds = 12;
        let orders = |s: &Settings| -> Vec<RunnerKind> {
            let m = measure(fib_case(5, 2, s.clone()), &mut |_, _| {});
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
    fn by_round_is_sized_by_the_rounds_present_not_by_their_numbers() {
        let m = measure(fib_case(5, 2, settings(vec![RunnerKind::Serial, RunnerKind::Threads])), &mut |_, _| {});
        let mut samples = m.samples.clone();
        for s in &mut samples {
            if s.round == 2 {
                s.round = u32::MAX;
            }
        }
        let wall = |s: &Sample| s.wall_ns as f64;
        let serial = by_round(&samples, RunnerKind::Serial, wall);
        let threads = by_round(&samples, RunnerKind::Threads, wall);
        assert_eq!((serial.len(), threads.len()), (3, 3));
        let last = samples.iter().find(|s| s.round == u32::MAX && s.sample.runner == RunnerKind::Threads).unwrap();
        assert_eq!(threads[2], last.sample.wall_ns as f64, "the rounds still line up");
    }

    #[test]
    fn several_cases_are_interleaved_round_by_round() {
        let s = settings(vec![RunnerKind::Serial, RunnerKind::Threads]);
        let cases = vec![fib_case(5, 2, s.clone()), fib_case(6, 2, s.clone()), fib_case(7, 2, s)];
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
