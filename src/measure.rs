//! Measurement: set-up, warm-up, then rounds; each round runs every selected runner
//! once, in a seeded shuffled order, on the same workload.
//!
//! Warm-up runs each runner until its samples are steady (two in a row within 10%, and
//! for CPU-bound work with the CPU use its workers can have), not for a fixed count: a
//! pool whose threads start on one core is otherwise measured before the kernel spread
//! them. `--rounds auto` keeps adding interleaved rounds until every runner's paired
//! speedup is known to `--precision` (95% bootstrap interval), at least
//! [`MIN_AUTO_ROUNDS`] and never starting a round after `--max-time` of measuring (the
//! untimed parts of samples included).
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
    /// Least warm-up samples per runner (more until its samples are steady; 0: none).
    pub warmup: u32,
    /// How many rounds to measure.
    pub rounds: Rounds,
    /// Seed for the runner order.
    pub seed: u64,
}

/// How many rounds to measure.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounds {
    /// Exactly this many.
    Fixed(u32),
    /// Until every runner's paired speedup is known within `precision` (a fraction;
    /// half-width of its 95% interval), at least [`MIN_AUTO_ROUNDS`], and no round
    /// starts after `max_time_s` seconds of measured work.
    Auto {
        /// Target half-width of the 95% interval of each speedup, relative.
        precision: f64,
        /// Measured work after which no round starts, seconds.
        max_time_s: f64,
    },
}

/// Rounds `--rounds auto` always runs.
pub const MIN_AUTO_ROUNDS: u32 = 5;

/// Most rounds `--rounds auto` runs, however noisy the samples.
pub const MAX_AUTO_ROUNDS: u32 = 1000;

/// Most extra warm-up samples per runner, and longest warm-up, before measuring anyway.
const MAX_EXTRA_WARMUP: u32 = 10;
const MAX_WARMUP: std::time::Duration = std::time::Duration::from_secs(5);

impl Rounds {
    /// The rounds that always run.
    pub fn minimum(self) -> u32 {
        match self {
            Rounds::Fixed(n) => n,
            Rounds::Auto { .. } => MIN_AUTO_ROUNDS,
        }
    }
}

/// How one runner's warm-up went.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct WarmUp {
    /// The runner.
    pub runner: RunnerKind,
    /// Samples it took.
    pub samples: u32,
    /// Their total wall time, ns.
    pub wall_ns: u64,
    /// Whether its samples became steady (else the limit ended it).
    pub steady: bool,
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
    /// Each runner's warm-up.
    pub warmup: Vec<WarmUp>,
    /// Rounds measured.
    pub rounds: u32,
    /// With `--rounds auto`: the widest half-width of the runners' speedup intervals
    /// reached (relative), `None` with fixed rounds.
    pub precision: Option<f64>,
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
    warmup: Vec<WarmUp>,
    rounds: u32,
    precision: Option<f64>,
    done: bool,
}

impl CaseState<'_> {
    /// One sample of runner `i`, verified: a wrong answer ends the measurement.
    fn sample(&mut self, i: usize) -> Result<Sample, BenchError> {
        let (kind, runner) = &mut self.runners[i];
        let sample = runner.run(&self.job)?;
        if let Verification::Failed { reason } = &sample.verification {
            return Err(BenchError::Verification {
                runner: *kind,
                workload: self.case.label.clone(),
                reason: reason.clone(),
            });
        }
        Ok(sample)
    }

    /// Warms each runner up until its samples are steady (see the module doc).
    fn warm_up(&mut self, cores: usize, progress: &mut dyn FnMut()) -> Result<(), BenchError> {
        let minimum = self.case.settings.warmup;
        if minimum == 0 {
            return Ok(());
        }
        for i in 0..self.runners.len() {
            let kind = self.runners[i].0;
            let usable = kind.workers(self.case.settings.workers).min(cores) as f64;
            let started = std::time::Instant::now();
            let (mut samples, mut wall_ns, mut steady) = (0u32, 0u64, false);
            let mut previous: Option<u64> = None;
            while samples < minimum + MAX_EXTRA_WARMUP && (samples < minimum || started.elapsed() < MAX_WARMUP) {
                let s = self.sample(i)?;
                samples += 1;
                wall_ns += s.wall_ns;
                progress();
                let agrees = previous.is_some_and(|p| (s.wall_ns as f64 - p as f64).abs() <= 0.1 * p as f64);
                // CPU use is meaningful only for CPU-bound samples of a millisecond or more.
                let busy = s.cpu_ns as f64 / s.wall_ns.max(1) as f64;
                let uses_its_cores = self.case.properties.waits || s.wall_ns < 1_000_000 || busy >= 0.75 * usable;
                previous = Some(s.wall_ns);
                steady = agrees && uses_its_cores;
                if samples >= minimum && steady {
                    break;
                }
            }
            self.warmup.push(WarmUp { runner: kind, samples, wall_ns, steady });
        }
        Ok(())
    }

    /// Runs every runner of this case once, in a shuffled order; returns the wall time
    /// measured.
    fn round(&mut self, progress: &mut dyn FnMut()) -> Result<u64, BenchError> {
        let mut order: Vec<usize> = (0..self.runners.len()).collect();
        self.rng.shuffle(&mut order);
        let mut measured = 0;
        for (position, &i) in order.iter().enumerate() {
            // --max-time bounds the time spent measuring, untimed parts of a sample
            // (inputs, a child's set-up and teardown) included, not only timed regions.
            let started = std::time::Instant::now();
            let sample = self.sample(i)?;
            measured += started.elapsed().as_nanos() as u64;
            self.samples.push(RecordedSample { round: self.rounds, position: position as u32, sample });
            progress();
        }
        self.rounds += 1;
        Ok(measured)
    }

    /// Whether this case has measured enough rounds.
    fn decide(&mut self) {
        match self.case.settings.rounds {
            Rounds::Fixed(n) => self.done = self.rounds >= n,
            Rounds::Auto { precision, .. } => {
                if self.rounds < MIN_AUTO_ROUNDS {
                    return;
                }
                // Checking costs a bootstrap per runner: every round at first, then
                // every tenth of the rounds so far.
                let every = (self.rounds / 10).max(1);
                if self.rounds != MIN_AUTO_ROUNDS && self.rounds % every != 0 {
                    return;
                }
                let widest = if self.case.properties.race {
                    Some(0.0)
                } else {
                    speedup_precision(
                        &self.samples,
                        &self.runners.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
                        self.rng.next_u64(),
                    )
                };
                self.precision = widest;
                self.done = widest.is_some_and(|w| w <= precision) || self.rounds >= MAX_AUTO_ROUNDS;
            }
        }
    }

    /// Drops the per-task records of all but the last round (they grow with tasks x
    /// samples; the last round's are kept for timelines).
    fn trim_task_records(&mut self) {
        let last = self.rounds.saturating_sub(1);
        for s in self.samples.iter_mut().filter(|s| s.round != last) {
            s.sample.tasks = Vec::new();
        }
    }
}

/// The widest relative half-width of the 95% bootstrap intervals of the paired speedups
/// of `runners` (serial excluded); `None` when a runner has no pair yet.
pub fn speedup_precision(samples: &[RecordedSample], runners: &[RunnerKind], seed: u64) -> Option<f64> {
    let wall = |s: &Sample| s.wall_ns as f64;
    let serial = by_round(samples, RunnerKind::Serial, wall);
    let mut widest: f64 = 0.0;
    for &kind in runners.iter().filter(|&&k| k != RunnerKind::Serial) {
        let ratios = crate::stats::paired_ratios(&serial, &by_round(samples, kind, wall));
        let interval = crate::stats::bootstrap_median(&ratios, 0.95, 1000, seed)?;
        if interval.estimate <= 0.0 {
            return None;
        }
        let half = (interval.high - interval.estimate).max(interval.estimate - interval.low) / interval.estimate;
        widest = widest.max(half);
    }
    Some(widest)
}

/// Builds a case's workload: its set-up, timed, outside every sample. A panic in the
/// user's constructor is an error naming the workload, not an abort.
pub(crate) fn build(case: &Case) -> Result<(Job, u64), BenchError> {
    let start = crate::sys::monotonic_ns();
    let built = crate::runner::catch_quietly(|| case.spec.build(&case.params));
    let elapsed = crate::sys::monotonic_ns() - start;
    let setup_error = |reason: String| BenchError::Setup { workload: case.label.clone(), reason };
    let workload = match built {
        Ok(Ok(w)) => w,
        Ok(Err(reason)) => return Err(setup_error(reason)),
        Err(message) => return Err(setup_error(format!("its constructor {message}"))),
    };
    let job = Job {
        name: case.spec.name().to_string(),
        label: case.label.clone(),
        params: case.params.clone(),
        workload,
        timeout: case.settings.options.timeout,
    };
    Ok((job, elapsed))
}

/// Measures several workload configurations, interleaved: every round visits every
/// case still measuring in a shuffled order and runs each of its runners once, in a
/// shuffled order.
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
        states.push(CaseState {
            case,
            job,
            runners,
            rng,
            samples: Vec::new(),
            workload_setup_ns,
            warmup: Vec::new(),
            rounds: 0,
            precision: None,
            done: false,
        });
    }
    // Progress counts samples; with --rounds auto the total grows as rounds are added.
    let planned = |states: &[CaseState<'_>], done: usize| -> usize {
        let minimum: usize = states
            .iter()
            .map(|c| {
                (c.case.settings.warmup + c.case.settings.rounds.minimum().max(c.rounds)) as usize * c.runners.len()
            })
            .sum();
        minimum.max(done)
    };
    let mut done = 0;
    let total = planned(&states, 0);
    let cores = crate::fingerprint::available_parallelism();
    for state in &mut states {
        state.warm_up(cores, &mut || {
            done += 1;
            progress(done, total);
        })?;
    }
    let max_time_ns = cases
        .iter()
        .filter_map(|c| match c.settings.rounds {
            Rounds::Auto { max_time_s, .. } => Some((max_time_s * 1e9) as u64),
            Rounds::Fixed(_) => None,
        })
        .max();
    let mut case_rng = SplitMix64::new(cases.first().map(|c| c.settings.seed).unwrap_or(0) ^ 0x5EED_CA5E);
    let mut order: Vec<usize> = (0..states.len()).collect();
    let mut measured_ns = 0u64;
    loop {
        // No round starts after --max-time of measured work, once the minimum is in.
        let out_of_time = max_time_ns.is_some_and(|max| measured_ns >= max);
        for state in states.iter_mut().filter(|s| !s.done) {
            if out_of_time && state.rounds >= state.case.settings.rounds.minimum() {
                state.done = true;
            }
        }
        if states.iter().all(|s| s.done) {
            break;
        }
        case_rng.shuffle(&mut order);
        let total = planned(&states, done);
        for &i in &order {
            if states[i].done {
                continue;
            }
            measured_ns += states[i].round(&mut || {
                done += 1;
                progress(done, total.max(done));
            })?;
            states[i].decide();
        }
    }
    Ok(states
        .into_iter()
        .map(|mut c| {
            c.trim_task_records();
            let setup_ns = c.runners.iter().filter_map(|(k, r)| r.setup_ns().map(|ns| (*k, ns))).collect();
            let mut runners: Vec<RunnerKind> = c.runners.iter().map(|(k, _)| *k).collect();
            runners.sort();
            let precision = match c.case.settings.rounds {
                Rounds::Auto { .. } if !c.case.properties.race => {
                    speedup_precision(&c.samples, &runners, c.case.settings.seed)
                }
                _ => None,
            };
            Measurement {
                workload: c.job.name,
                label: c.case.label.clone(),
                params: c.job.params,
                properties: Properties { throughput: c.job.workload.throughput(), ..c.case.properties.clone() },
                tasks: c.job.workload.task_count(),
                workers: c.case.settings.workers,
                runners,
                samples: c.samples,
                setup_ns,
                workload_setup_ns: c.workload_setup_ns,
                warmup: c.warmup,
                rounds: c.rounds,
                precision,
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
        Settings {
            runners,
            workers: 2,
            options: RunnerOptions::default(),
            warmup: 1,
            rounds: Rounds::Fixed(3),
            seed: 5,
        }
    }

    fn measure(case: Case, progress: Progress<'_>) -> Measurement {
        measure_all(&[case], progress).unwrap().remove(0)
    }

    #[test]
    fn every_round_has_every_runner_once_and_warmup_is_dropped() {
        let s = settings(vec![RunnerKind::Serial, RunnerKind::Threads, RunnerKind::Rayon]);
        let mut calls = 0;
        let m = measure(fib_case(12, 4, s.clone()), &mut |_, _| calls += 1);
        let warmed: u32 = m.warmup.iter().map(|w| w.samples).sum();
        assert_eq!(calls, 9 + warmed as usize);
        assert!(m.warmup.iter().all(|w| w.samples >= 1), "{:?}", m.warmup);
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
        s.rounds = Rounds::Fixed(12);
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
        let (done, total) = *seen.last().unwrap();
        assert_eq!(done, total, "progress ends complete");
        let warmed: u32 = all.iter().flat_map(|m| &m.warmup).map(|w| w.samples).sum();
        assert_eq!(done, 18 + warmed as usize, "warm-up included in progress");
        // Each case's results are its own: the fib(7) case verified fib(7).
        let last = &all[2].samples[0].sample.verification;
        assert!(matches!(last, Verification::Verified { detail } if detail.contains("fib(7) = 13")), "{last:?}");
    }

    #[test]
    fn auto_rounds_run_the_minimum_and_no_round_starts_after_max_time() {
        let mut s = settings(vec![RunnerKind::Serial, RunnerKind::Threads]);
        // An unreachable precision and no time at all: exactly the minimum.
        s.rounds = Rounds::Auto { precision: 1e-12, max_time_s: 0.0 };
        let m = measure(fib_case(10, 2, s.clone()), &mut |_, _| {});
        assert_eq!(m.rounds, MIN_AUTO_ROUNDS);
        assert_eq!(m.samples.len(), 2 * MIN_AUTO_ROUNDS as usize);
        assert!(m.precision.is_some());
        // Any precision reached at once: also the minimum, however long it may run.
        s.rounds = Rounds::Auto { precision: 100.0, max_time_s: 3600.0 };
        assert_eq!(measure(fib_case(10, 2, s), &mut |_, _| {}).rounds, MIN_AUTO_ROUNDS);
    }

    #[test]
    fn speedup_precision_is_zero_for_identical_ratios_and_grows_with_noise() {
        let sample = |runner, round, ms: f64| RecordedSample {
            round,
            position: 0,
            sample: Sample {
                runner,
                workers: 2,
                wall_ns: (ms * 1e6) as u64,
                cpu_ns: 0,
                other_cpu_ns: None,
                startup_ns: None,
                setup_ns: None,
                teardown_ns: None,
                allocations: None,
                preemptions: None,
                waited_ns: None,
                per_worker: Vec::new(),
                tasks: Vec::new(),
                verification: Verification::verified("ok"),
            },
        };
        let runners = [RunnerKind::Serial, RunnerKind::Threads];
        let steady: Vec<_> = (0..8)
            .flat_map(|r| [sample(RunnerKind::Serial, r, 200.0), sample(RunnerKind::Threads, r, 100.0)])
            .collect();
        assert_eq!(speedup_precision(&steady, &runners, 1), Some(0.0));
        let noisy: Vec<_> = (0..8)
            .flat_map(|r| {
                [sample(RunnerKind::Serial, r, 200.0), sample(RunnerKind::Threads, r, 80.0 + 10.0 * f64::from(r))]
            })
            .collect();
        assert!(speedup_precision(&noisy, &runners, 1).unwrap() > 0.1);
        assert_eq!(speedup_precision(&steady[..1], &runners, 1), None, "no pair yet");
    }
}
