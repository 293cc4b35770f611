//! Measurement: set-up, warm-up, then rounds; each round runs every selected runner
//! once, in a seeded shuffled order, on the same workload.
//!
//! Warm-up runs each runner until its samples are steady (see [`settled`]), not for a
//! fixed count: a pool whose threads start on one core is otherwise measured before the
//! kernel spread them. `--rounds auto` keeps adding interleaved rounds until every
//! runner's paired speedup is known to `--precision`, or until the spread says the
//! rounds left could not make it so, at least [`MIN_AUTO_ROUNDS`] (see [`Stopping`]: the
//! rule looks at the data repeatedly, so it spends its 5% of misses over the looks).
//! `--max-time` is the wall time of the whole measurement from the first warm-up
//! sample, untimed parts of samples included: warm-up beyond each runner's least
//! samples gets a quarter of it, and no round starts that its case's rounds so far say
//! would end after it.
//!
//! The one decision a reader would otherwise get wrong: a wrong answer ends the
//! measurement with an error, in warm-up too. A fast wrong answer is a failure, never a
//! timing. (The counter's `none` mode reports lost updates instead; that is its point.)

use serde::{Deserialize, Serialize};

use crate::error::BenchError;
use crate::rng::SplitMix64;
use crate::runner::{Job, Runner, RunnerId, RunnerOptions, Sample};
use crate::workload::{Params, Properties, Verification, WorkloadSpec};

mod stopping;
pub use stopping::{Look, Stopped, Stopping};

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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Skipped {
    /// The runner.
    pub runner: RunnerId,
    /// Why.
    pub reason: String,
}

/// How to measure, every default resolved.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Runners to measure; serial is always among them.
    pub runners: Vec<RunnerId>,
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
    /// starts that would end more than `max_time_s` seconds after the command began
    /// (its calibration and the workloads' set-up included).
    Auto {
        /// Target half-width of the 95% interval of each speedup, relative.
        precision: f64,
        /// Seconds from the command's start after which no round ends.
        max_time_s: f64,
    },
}

/// Rounds `--rounds auto` always runs: its first look, the fewest paired ratios whose
/// range is an interval at that look's confidence (97.5%; 6 ratios cover only 96.9%).
pub const MIN_AUTO_ROUNDS: u32 = 7;

/// Each look of `--rounds auto` comes after this factor more rounds than the last: few
/// looks keep the confidence each must reach modest (the 10th look, after 302
/// rounds, needs 99.95%), and a run stops at most this factor later than it could have.
const LOOK_GROWTH: f64 = 1.5;

/// Most rounds `--rounds auto` runs, however noisy the samples.
pub const MAX_AUTO_ROUNDS: u32 = 1000;

/// Most extra warm-up samples per runner, and longest warm-up, before measuring anyway.
const MAX_EXTRA_WARMUP: u32 = 10;
const MAX_WARMUP: std::time::Duration = std::time::Duration::from_secs(5);

/// With `--rounds auto`, the share of `--max-time` warm-up may take beyond each
/// runner's least samples, split evenly between the runners of all cases: a warm-up
/// that cannot settle (a busy machine) would otherwise leave no time for rounds.
const WARMUP_SHARE: f64 = 0.25;

/// Warm-up samples a runner takes at the least when samples are short: `--warmup`
/// (`least`), but never fewer than settling needs ([`SETTLE_SAMPLES`]) unless warm-up
/// is off. For the duration estimate and the progress total.
pub fn usual_warmup(least: u32) -> u32 {
    if least == 0 { 0 } else { least.max(SETTLE_SAMPLES as u32) }
}

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
    pub runner: RunnerId,
    /// Samples it took.
    pub samples: u32,
    /// Their total wall time, ns.
    pub wall_ns: u64,
    /// Whether its samples became steady (else the limit ended it).
    pub steady: bool,
    /// When it did not become steady and its last samples did not get the CPU they
    /// could use: the cores they got (median CPU time / wall time) and the cores they
    /// could have used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_of_cores: Option<(f64, usize)>,
    /// When it did not become steady: whether its times had settled (so the CPU use
    /// alone failed).
    #[serde(default)]
    pub times_settled: bool,
}

/// Warm-up samples that must agree before a level counts as settled.
pub const SETTLE_SAMPLES: usize = 3;

/// What the latest warm-up samples say.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Settling {
    /// The last [`SETTLE_SAMPLES`] lie within 10% of their median, with no monotone
    /// trend, and (CPU-bound work) used at least 75% of the cores they could have.
    Settled,
    /// Fewer samples than [`SETTLE_SAMPLES`] yet.
    TooFew,
    /// Their times still differ by more than 10%, or still rise or fall; and, for
    /// CPU-bound work that also got too little CPU, the cores it got of those it could use.
    Drifting {
        /// `(got, usable)` when the CPU use was short too.
        short_of_cores: Option<(f64, usize)>,
    },
    /// Their times agree, but the workers got only `got` of the `usable` cores: other
    /// work shares them, or the kernel has not spread the workers yet.
    ShortOfCores {
        /// Cores they got: median CPU time / wall time.
        got: f64,
        /// Cores they could have used: min(workers, available cores).
        usable: usize,
    },
}

/// Whether warm-up samples, given as `(wall ns, CPU ns)` in the order they ran, have
/// reached a settled level. Two samples within 10% say nothing about a trend (a
/// start-up slowdown decaying from 60% to 25% passes that test), so it takes three,
/// within 10% of their median and neither strictly rising nor strictly falling.
/// `cpu_bound` work must also keep 75% of its `usable` cores busy (samples under a
/// millisecond are excused: their CPU use is mostly start-up). Pure, for tests.
pub fn settled(samples: &[(u64, u64)], usable: usize, cpu_bound: bool) -> Settling {
    let Some(last) = samples.len().checked_sub(SETTLE_SAMPLES).map(|from| &samples[from..]) else {
        return Settling::TooFew;
    };
    let walls: Vec<f64> = last.iter().map(|s| s.0 as f64).collect();
    let Some(mid) = crate::stats::median(&walls) else { return Settling::TooFew };
    let agree = walls.iter().all(|w| (w - mid).abs() <= 0.1 * mid);
    let rising = walls.windows(2).all(|p| p[1] > p[0]);
    let falling = walls.windows(2).all(|p| p[1] < p[0]);
    let short = short_of_cores(last, usable, cpu_bound);
    match (agree && !rising && !falling, short) {
        (false, short_of_cores) => Settling::Drifting { short_of_cores },
        (true, None) => Settling::Settled,
        (true, Some((got, usable))) => Settling::ShortOfCores { got, usable },
    }
}

/// `(cores got, usable)` when CPU-bound samples of a millisecond or more kept under 75%
/// of their usable cores busy (median CPU time / wall time).
fn short_of_cores(last: &[(u64, u64)], usable: usize, cpu_bound: bool) -> Option<(f64, usize)> {
    if !cpu_bound || last.iter().any(|s| s.0 < 1_000_000) {
        return None;
    }
    let busy: Vec<f64> = last.iter().map(|s| s.1 as f64 / s.0.max(1) as f64).collect();
    let got = crate::stats::median(&busy)?;
    (got < 0.75 * usable as f64).then_some((got, usable))
}

/// One sample with its place in the measurement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
pub fn by_round(samples: &[RecordedSample], runner: RunnerId, value: impl Fn(&Sample) -> f64) -> Vec<f64> {
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
    pub runners: Vec<RunnerId>,
    /// Measured samples, warm-up excluded.
    pub samples: Vec<RecordedSample>,
    /// One-off set-up time per runner (rayon pool build), ns.
    pub setup_ns: Vec<(RunnerId, u64)>,
    /// Building the workload in parbench (its set-up), once, before any sample, ns.
    pub workload_setup_ns: u64,
    /// Each runner's warm-up.
    pub warmup: Vec<WarmUp>,
    /// Rounds measured.
    pub rounds: u32,
    /// With `--rounds auto`: the look that ended the measurement (the interval that
    /// stopped it, or the last look when `--max-time` did), `None` with fixed rounds.
    pub precision: Option<Look>,
}

/// Where a measurement stands, for a progress display: passed after every sample.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Status {
    /// Since measuring began, warm-up included.
    pub elapsed: std::time::Duration,
    /// With `--rounds auto`: `--max-time`, after which no round starts.
    pub budget: Option<std::time::Duration>,
    /// Whether the runners are still warming up.
    pub warming_up: bool,
    /// Samples taken, warm-up included.
    pub samples: usize,
    /// Rounds done (by the case furthest along).
    pub rounds: u32,
    /// The rounds after which it is expected to stop: the count asked for, or what the
    /// stopping rule projects from the spread so far (see [`Stopping::expected_stop`]);
    /// `None` before it can say.
    pub expected_rounds: Option<u32>,
    /// Wall time of one round of every case still measuring, mean so far.
    pub round_time: Option<std::time::Duration>,
    /// The widest speedup half-width at the latest look (of any case), relative.
    pub precision: Option<f64>,
    /// With `--rounds auto`: `--precision`, the half-width aimed for.
    pub target: Option<f64>,
}

/// Told between samples (never inside one) where the measurement stands: after every
/// sample, and after every round once the stopping rule has looked; and, when it asks,
/// the case that has just finished a round as it stands, so that a live view can show
/// the answer forming.
pub trait Watch {
    /// Where the measurement stands.
    fn status(&mut self, status: &Status);
    /// Whether to be given [`Watch::partial`] after every round (copying a case's
    /// samples so far costs a little between rounds).
    fn wants_partial(&self) -> bool {
        false
    }
    /// The case that has just finished a round, as it stands: the same [`Measurement`]
    /// the run ends with, without its final interval.
    fn partial(&mut self, _case: &Measurement) {}
}

impl<F: FnMut(&Status)> Watch for F {
    fn status(&mut self, status: &Status) {
        self(status)
    }
}

/// What [`measure_all`] tells how far it is.
pub type Progress<'a> = &'a mut dyn Watch;

/// One case during measurement.
struct CaseState<'a> {
    case: &'a Case,
    job: Job,
    runners: Vec<(RunnerId, Box<dyn Runner>)>,
    rng: SplitMix64,
    samples: Vec<RecordedSample>,
    workload_setup_ns: u64,
    warmup: Vec<WarmUp>,
    rounds: u32,
    /// Wall time of its rounds so far, ns.
    round_ns: u64,
    stopping: Option<Stopping>,
    /// Why `--rounds auto` stopped it.
    stopped: Option<Stopped>,
    done: bool,
}

impl<'a> CaseState<'a> {
    /// The case as measured so far, with `precision` (the stopping rule's final look,
    /// once it has stopped).
    fn measurement(&self, precision: Option<Look>) -> Measurement {
        let setup_ns = self.runners.iter().filter_map(|(k, r)| r.setup_ns().map(|ns| (*k, ns))).collect();
        let mut runners: Vec<RunnerId> = self.runners.iter().map(|(k, _)| *k).collect();
        runners.sort();
        Measurement {
            workload: self.job.name.clone(),
            label: self.case.label.clone(),
            params: self.job.params.clone(),
            properties: Properties { throughput: self.job.workload.throughput(), ..self.case.properties.clone() },
            tasks: self.job.workload.task_count(),
            workers: self.case.settings.workers,
            runners,
            samples: self.samples.clone(),
            setup_ns,
            workload_setup_ns: self.workload_setup_ns,
            warmup: self.warmup.clone(),
            rounds: self.rounds,
            precision,
        }
    }

    /// Builds the case's runners and its workload, before any sample.
    fn start(case: &'a Case) -> Result<Self, BenchError> {
        let settings = &case.settings;
        let mut runners: Vec<(RunnerId, Box<dyn Runner>)> = Vec::with_capacity(settings.runners.len());
        for &kind in &settings.runners {
            runners.push((kind, kind.build(kind.workers(settings.workers), &settings.options)?));
        }
        let (job, workload_setup_ns) = build(case)?;
        let rng = SplitMix64::new(settings.seed);
        Ok(CaseState {
            case,
            job,
            runners,
            rng,
            samples: Vec::new(),
            workload_setup_ns,
            warmup: Vec::new(),
            rounds: 0,
            round_ns: 0,
            stopping: match settings.rounds {
                Rounds::Auto { precision, .. } if !case.properties.race => Some(Stopping::new(precision)),
                _ => None,
            },
            stopped: None,
            done: false,
        })
    }

    /// One sample of runner `i`, verified: a wrong answer ends the measurement.
    fn sample(&mut self, i: usize) -> Result<Sample, BenchError> {
        let (kind, runner) = &mut self.runners[i];
        runner.prepare(&self.job)?;
        // parbench's resident peak during this sample alone, the runner's prepared pool
        // or runtime included; the children's peaks come in the sample itself.
        let start_kib = crate::sys::memory::reset_peak();
        let mut sample = runner.run(&self.job)?;
        // One mark per process: a peak below the start was reset meanwhile by a
        // measurement running beside this one (a program measuring in several
        // threads), and says nothing.
        sample.memory = start_kib
            .zip(crate::sys::memory::peak_kib())
            .map(|(start_kib, peak_kib)| crate::runner::Memory { start_kib, peak_kib })
            .filter(|m| m.peak_kib >= m.start_kib);
        if let Verification::Failed { reason } = &sample.verification {
            return Err(BenchError::Verification {
                runner: kind.as_str(),
                workload: self.case.label.clone(),
                reason: reason.clone(),
            });
        }
        Ok(sample)
    }

    /// Warms each runner up until its samples are steady (see [`settled`]), each for at
    /// most `longest` beyond its least samples.
    fn warm_up(
        &mut self,
        cores: usize,
        longest: std::time::Duration,
        progress: &mut dyn FnMut(),
    ) -> Result<(), BenchError> {
        let minimum = self.case.settings.warmup;
        if minimum == 0 {
            return Ok(());
        }
        for i in 0..self.runners.len() {
            let kind = self.runners[i].0;
            let usable = kind.workers(self.case.settings.workers).min(cores);
            let started = std::time::Instant::now();
            let mut seen: Vec<(u64, u64)> = Vec::new();
            let mut settling = Settling::TooFew;
            let limit = minimum.max(SETTLE_SAMPLES as u32) + MAX_EXTRA_WARMUP;
            while seen.len() < limit as usize && (seen.len() < minimum as usize || started.elapsed() < longest) {
                let s = self.sample(i)?;
                seen.push((s.wall_ns, s.cpu_ns));
                progress();
                settling = settled(&seen, usable, !self.case.properties.waits);
                if seen.len() >= minimum as usize && settling == Settling::Settled {
                    break;
                }
            }
            self.warmup.push(WarmUp {
                runner: kind,
                samples: seen.len() as u32,
                wall_ns: seen.iter().map(|s| s.0).sum(),
                steady: settling == Settling::Settled,
                short_of_cores: match settling {
                    Settling::ShortOfCores { got, usable } => Some((got, usable)),
                    Settling::Drifting { short_of_cores } => short_of_cores,
                    _ => None,
                },
                times_settled: matches!(settling, Settling::ShortOfCores { .. }),
            });
        }
        Ok(())
    }

    /// Runs every runner of this case once, in a shuffled order, and adds its wall time
    /// (untimed parts of the samples included: inputs, a child's set-up and teardown)
    /// to the case's.
    fn round(&mut self, progress: &mut dyn FnMut()) -> Result<(), BenchError> {
        let mut order: Vec<usize> = (0..self.runners.len()).collect();
        self.rng.shuffle(&mut order);
        let started = std::time::Instant::now();
        for (position, &i) in order.iter().enumerate() {
            let sample = self.sample(i)?;
            self.samples.push(RecordedSample { round: self.rounds, position: position as u32, sample });
            progress();
        }
        self.round_ns += started.elapsed().as_nanos() as u64;
        self.rounds += 1;
        Ok(())
    }

    /// The mean wall time of its rounds so far, ns (0 before the first).
    fn round_time_ns(&self) -> u64 {
        self.round_ns / u64::from(self.rounds.max(1))
    }

    /// Whether this case has measured enough rounds, with `rounds_left` more fitting in
    /// what is left of `--max-time`.
    fn decide(&mut self, rounds_left: u32) {
        match self.case.settings.rounds {
            Rounds::Fixed(n) => self.done = self.rounds >= n,
            // A race has no speedup to pin down: the minimum is enough.
            Rounds::Auto { .. } if self.case.properties.race => self.done = self.rounds >= MIN_AUTO_ROUNDS,
            Rounds::Auto { .. } => {
                let ratios = self.speedup_ratios();
                let Some(stopping) = self.stopping.as_mut() else { return };
                if stopping.after_round(self.rounds, &ratios, rounds_left) {
                    self.stopped = stopping.last.as_ref().and_then(|l| l.stopped);
                } else if self.rounds >= MAX_AUTO_ROUNDS {
                    self.stopped = Some(Stopped::RoundLimit);
                }
                self.done = self.stopped.is_some();
            }
        }
    }

    /// The rounds this case is expected to stop after, with `rounds_left` fitting in
    /// the time left.
    fn expected_rounds(&self, rounds_left: u32) -> u32 {
        match (self.case.settings.rounds, &self.stopping) {
            (Rounds::Fixed(n), _) => n,
            (Rounds::Auto { .. }, Some(stopping)) if !self.done => {
                stopping.expected_stop(self.rounds, &self.speedup_ratios(), rounds_left)
            }
            (Rounds::Auto { .. }, _) => self.rounds.max(MIN_AUTO_ROUNDS),
        }
    }

    /// Each parallel runner's paired speedups (serial / runner, round by round).
    fn speedup_ratios(&self) -> Vec<Vec<f64>> {
        let kinds: Vec<RunnerId> = self.runners.iter().map(|(k, _)| *k).collect();
        speedup_ratios(&self.samples, &kinds)
    }

    /// Frees what the runners hold between samples (a rayon pool), to be built again
    /// at its next sample.
    fn release(&mut self) {
        self.runners.iter_mut().for_each(|(_, runner)| runner.release());
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

/// Pool threads and processes every case may hold from its first sample to its last.
const HOLD_POOL_THREADS: u64 = 2048;

/// Whether every case may keep its pools from its first sample to its last (as a
/// single `run` does): when all of them fit in [`HOLD_POOL_THREADS`] and in half of
/// what the machine's limits leave. Otherwise a case's pools are released after each
/// of its rounds, so that only one case's exist at a time (a sweep over 1..1024
/// workers would otherwise hold half a million threads).
pub(crate) fn hold_pools(cases: &[Case]) -> bool {
    let held = |count: fn(&crate::runner::Started) -> u64| -> u64 {
        cases
            .iter()
            .flat_map(|c| c.settings.runners.iter().map(|r| count(&r.threads_started(c.settings.workers))))
            .sum()
    };
    let room = crate::sys::room();
    let half = |limit: &Option<(u64, String)>| limit.as_ref().map_or(u64::MAX, |(left, _)| left / 2);
    held(|s| s.held_tasks) <= HOLD_POOL_THREADS.min(half(&room.tasks))
        && held(|s| s.held_threads) <= half(&room.threads)
}

/// Each parallel runner's paired speedups (serial / runner wall time, round by round),
/// in the order of `runners`, serial left out.
pub fn speedup_ratios(samples: &[RecordedSample], runners: &[RunnerId]) -> Vec<Vec<f64>> {
    let wall = |s: &Sample| s.wall_ns as f64;
    let serial = by_round(samples, RunnerId::reference(), wall);
    runners
        .iter()
        .filter(|&&k| !k.is_reference())
        .map(|&kind| crate::stats::paired_ratios(&serial, &by_round(samples, kind, wall)))
        .collect()
}

/// One case built for sampling one runner at a time, in whatever order the caller
/// chooses: `parbench ab`'s server, whose parent interleaves two programs. The same
/// runners, workload and verification as [`measure_all`]: a wrong answer is an error.
pub struct Sampler<'a>(CaseState<'a>);

impl<'a> Sampler<'a> {
    /// Builds the case's runners and workload.
    pub fn new(case: &'a Case) -> Result<Self, BenchError> {
        CaseState::start(case).map(Sampler)
    }

    /// The workload's task count.
    pub fn tasks(&self) -> usize {
        self.0.job.workload.task_count()
    }

    /// One verified sample of `runner`; `None` if the case does not run it.
    pub fn sample(&mut self, runner: RunnerId) -> Option<Result<Sample, BenchError>> {
        let i = self.0.runners.iter().position(|(kind, _)| *kind == runner)?;
        Some(self.0.sample(i))
    }

    /// Frees what the runners hold between samples (a rayon pool).
    pub fn release(&mut self) {
        self.0.release();
    }
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
/// the last. Runners' pools are held only while they fit (see [`hold_pools`]).
pub fn measure_all(
    cases: &[Case],
    since: std::time::Instant,
    progress: Progress<'_>,
) -> Result<Vec<Measurement>, BenchError> {
    let mut states = Vec::with_capacity(cases.len());
    for case in cases {
        states.push(CaseState::start(case)?);
    }
    let hold = hold_pools(cases);
    let cores = crate::fingerprint::available_parallelism();
    let budget = cases
        .iter()
        .filter_map(|c| match c.settings.rounds {
            Rounds::Auto { max_time_s, .. } => Some(std::time::Duration::from_secs_f64(max_time_s)),
            Rounds::Fixed(_) => None,
        })
        .max();
    let target = cases
        .iter()
        .filter_map(|c| match c.settings.rounds {
            Rounds::Auto { precision, .. } => Some(precision),
            Rounds::Fixed(_) => None,
        })
        .reduce(f64::min);
    // Warm-up beyond each runner's least samples gets its share of --max-time.
    let runners: u32 = states.iter().map(|s| s.runners.len() as u32).sum();
    let longest = budget.map_or(MAX_WARMUP, |b| (b.mul_f64(WARMUP_SHARE) / runners.max(1)).min(MAX_WARMUP));
    // --max-time counts from `since`: the command's start, so that its calibration and
    // the workloads' set-up are part of the time to an answer.
    let started = since;
    let mut status = Status { budget, target, warming_up: true, ..Status::default() };
    status.expected_rounds = states.iter().map(|s| s.case.settings.rounds.minimum()).max();
    for state in &mut states {
        state.warm_up(cores, longest, &mut || {
            status.samples += 1;
            status.elapsed = started.elapsed();
            progress.status(&status);
        })?;
        if !hold {
            state.release();
        }
    }
    status.warming_up = false;
    let mut case_rng = SplitMix64::new(cases.first().map(|c| c.settings.seed).unwrap_or(0) ^ 0x5EED_CA5E);
    let mut order: Vec<usize> = (0..states.len()).collect();
    loop {
        // Once its minimum is in, no round of a case starts that would end after
        // --max-time (its rounds so far say how long one takes).
        if let Some(budget) = budget {
            let elapsed = started.elapsed();
            for state in states.iter_mut().filter(|s| !s.done && s.rounds >= s.case.settings.rounds.minimum()) {
                if elapsed + std::time::Duration::from_nanos(state.round_time_ns()) > budget {
                    state.done = true;
                    state.stopped = Some(Stopped::OutOfTime);
                }
            }
        }
        if states.iter().all(|s| s.done) {
            break;
        }
        case_rng.shuffle(&mut order);
        for &i in &order {
            if states[i].done {
                continue;
            }
            states[i].round(&mut || {
                status.samples += 1;
                status.elapsed = started.elapsed();
                progress.status(&status);
            })?;
            let left = rounds_left(&states, budget, started.elapsed());
            states[i].decide(left);
            if !hold || states[i].done {
                states[i].release();
            }
            status = Status { elapsed: started.elapsed(), ..round_status(&states, &status, left) };
            if progress.wants_partial() {
                progress.partial(&states[i].measurement(None));
            }
            progress.status(&status);
        }
    }
    Ok(states
        .into_iter()
        .map(|mut c| {
            c.trim_task_records();
            // The interval that stopped the run, never a fresh one computed afterwards.
            let ratios = c.speedup_ratios();
            let (rounds, why) = (c.rounds, c.stopped.unwrap_or(Stopped::OutOfTime));
            let precision = c.stopping.as_mut().map(|s| s.finish(rounds, &ratios, why));
            c.measurement(precision)
        })
        .collect())
}

/// The rounds of every case still measuring that fit in what is left of `budget`
/// after `elapsed`, from their rounds' mean times; `u32::MAX` without a budget.
fn rounds_left(states: &[CaseState<'_>], budget: Option<std::time::Duration>, elapsed: std::time::Duration) -> u32 {
    let Some(budget) = budget else { return u32::MAX };
    let pass: u64 = states.iter().filter(|s| !s.done).map(CaseState::round_time_ns).sum();
    let left = budget.saturating_sub(elapsed).as_nanos() as u64;
    left.checked_div(pass).map_or(u32::MAX, |n| u32::try_from(n).unwrap_or(u32::MAX))
}

/// Where the rounds stand after one, for the progress display: the rounds of the case
/// furthest along, and when the slowest to finish is expected to.
fn round_status(states: &[CaseState<'_>], last: &Status, rounds_left: u32) -> Status {
    let active: Vec<&CaseState<'_>> = states.iter().filter(|s| !s.done).collect();
    let rounds = states.iter().map(|s| s.rounds).max().unwrap_or(0);
    let to_go = active.iter().map(|s| s.expected_rounds(rounds_left).saturating_sub(s.rounds)).max().unwrap_or(0);
    let pass: u64 = active.iter().map(|s| s.round_time_ns()).sum();
    let widest = states.iter().filter_map(|s| s.stopping.as_ref()?.last.as_ref()?.widest).reduce(f64::max);
    Status {
        rounds,
        expected_rounds: Some(rounds + to_go),
        round_time: (pass > 0).then(|| std::time::Duration::from_nanos(pass)),
        precision: widest,
        ..last.clone()
    }
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

    fn settings(runners: Vec<RunnerId>) -> Settings {
        Settings {
            runners,
            workers: 2,
            options: RunnerOptions::default(),
            warmup: 1,
            rounds: Rounds::Fixed(3),
            seed: 5,
        }
    }

    #[test]
    fn pools_are_held_across_rounds_only_while_a_sweep_s_pools_fit_together() {
        let sweep = |counts: std::ops::RangeInclusive<usize>| -> Vec<Case> {
            counts
                .map(|w| {
                    fib_case(
                        5,
                        2,
                        Settings { workers: w, ..settings(vec![RunnerId::new("serial"), RunnerId::new("rayon")]) },
                    )
                })
                .collect()
        };
        assert!(hold_pools(&sweep(1..=8)), "a small sweep keeps its warm pools");
        // 1 + 2 + ... + 140 = 9,870 threads at once: released after every round.
        assert!(!hold_pools(&sweep(1..=140)));
    }

    fn measure(case: Case, progress: Progress<'_>) -> Measurement {
        measure_all(&[case], std::time::Instant::now(), progress).unwrap().remove(0)
    }

    #[test]
    fn every_round_has_every_runner_once_and_warmup_is_dropped() {
        let s = settings(vec![RunnerId::new("serial"), RunnerId::new("threads"), RunnerId::new("rayon")]);
        let mut calls = 0;
        let m = measure(fib_case(12, 4, s.clone()), &mut |_: &Status| calls += 1);
        let warmed: u32 = m.warmup.iter().map(|w| w.samples).sum();
        assert_eq!(calls, 9 + warmed as usize + 3, "a status after every sample and every round");
        assert!(m.warmup.iter().all(|w| w.samples >= 1), "{:?}", m.warmup);
        assert_eq!(m.samples.len(), 9);
        for round in 0..3 {
            let mut kinds: Vec<RunnerId> =
                m.samples.iter().filter(|r| r.round == round).map(|r| r.sample.runner).collect();
            kinds.sort();
            assert_eq!(kinds, s.runners);
        }
        assert!(m.setup_ns.iter().any(|(k, _)| *k == RunnerId::new("rayon")));
    }

    #[test]
    fn the_order_within_rounds_is_shuffled_and_reproducible() {
        let mut s = settings(vec![RunnerId::new("serial"), RunnerId::new("threads"), RunnerId::new("rayon")]);
        s.rounds = Rounds::Fixed(12);
        let orders = |s: &Settings| -> Vec<RunnerId> {
            let m = measure(fib_case(5, 2, s.clone()), &mut |_: &Status| {});
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
        let m = measure(
            fib_case(5, 2, settings(vec![RunnerId::new("serial"), RunnerId::new("threads")])),
            &mut |_: &Status| {},
        );
        let mut samples = m.samples.clone();
        for s in &mut samples {
            if s.round == 2 {
                s.round = u32::MAX;
            }
        }
        let wall = |s: &Sample| s.wall_ns as f64;
        let serial = by_round(&samples, RunnerId::new("serial"), wall);
        let threads = by_round(&samples, RunnerId::new("threads"), wall);
        assert_eq!((serial.len(), threads.len()), (3, 3));
        let last = samples.iter().find(|s| s.round == u32::MAX && s.sample.runner == RunnerId::new("threads")).unwrap();
        assert_eq!(threads[2], last.sample.wall_ns as f64, "the rounds still line up");
    }

    #[test]
    fn a_watch_that_asks_is_shown_each_case_as_it_stands_after_every_round() {
        // The live view's input: after each round of a case, that case with the samples
        // of every round so far, analysed by the same code as the final report.
        struct Seen {
            wants: bool,
            statuses: usize,
            partial: Vec<(String, u32, usize, Option<Look>)>,
        }
        impl Watch for Seen {
            fn status(&mut self, _: &Status) {
                self.statuses += 1;
            }
            fn wants_partial(&self) -> bool {
                self.wants
            }
            fn partial(&mut self, case: &Measurement) {
                self.partial.push((case.label.clone(), case.rounds, case.samples.len(), case.precision.clone()));
            }
        }
        let s = settings(vec![RunnerId::new("serial"), RunnerId::new("threads")]);
        let cases = vec![fib_case(5, 2, s.clone()), fib_case(6, 2, s)];
        let mut live = Seen { wants: true, statuses: 0, partial: Vec::new() };
        let all = measure_all(&cases, std::time::Instant::now(), &mut live).unwrap();
        assert_eq!(live.partial.len(), 6, "3 rounds of each of 2 cases: {:?}", live.partial);
        for m in &all {
            let mine: Vec<_> = live.partial.iter().filter(|p| p.0 == m.label).collect();
            assert_eq!(mine.iter().map(|p| (p.1, p.2)).collect::<Vec<_>>(), [(1, 2), (2, 4), (3, 6)], "{}", m.label);
            assert!(mine.iter().all(|p| p.3.is_none()), "no final interval before the end");
        }
        assert!(live.statuses > 6);
        let mut quiet = Seen { wants: false, statuses: 0, partial: Vec::new() };
        measure_all(&cases, std::time::Instant::now(), &mut quiet).unwrap();
        assert!(quiet.partial.is_empty(), "a watch that does not ask is never given a copy");
        assert!(quiet.statuses > 6, "but is told every status");
    }

    #[test]
    fn several_cases_are_interleaved_round_by_round() {
        let s = settings(vec![RunnerId::new("serial"), RunnerId::new("threads")]);
        let cases = vec![fib_case(5, 2, s.clone()), fib_case(6, 2, s.clone()), fib_case(7, 2, s)];
        let mut seen: Vec<Status> = Vec::new();
        let all =
            measure_all(&cases, std::time::Instant::now(), &mut |status: &Status| seen.push(status.clone())).unwrap();
        assert_eq!(all.len(), 3);
        assert!(all.iter().all(|m| m.samples.len() == 6), "3 rounds x 2 runners each");
        let warmed: usize = all.iter().flat_map(|m| &m.warmup).map(|w| w.samples as usize).sum();
        assert_eq!(seen.len(), 18 + warmed + 9, "a status after every sample, warm-up included, and every round");
        assert!(seen[..warmed].iter().enumerate().all(|(i, s)| s.samples == i + 1 && s.warming_up));
        assert!(seen[warmed..].iter().all(|s| !s.warming_up));
        assert!(seen.windows(2).all(|w| w[1].samples - w[0].samples <= 1), "every sample counted once");
        assert!(seen.windows(2).all(|w| w[0].elapsed <= w[1].elapsed), "the elapsed time only grows");
        let last = seen.last().unwrap();
        assert_eq!((last.rounds, last.expected_rounds, last.budget), (3, Some(3), None), "fixed rounds: 3 of 3");
        assert_eq!(last.round_time, None, "no round to go");
        let middle = &seen[warmed + 9];
        assert!(middle.round_time.is_some_and(|t| t > std::time::Duration::ZERO), "{middle:?}");
        // Each case's results are its own: the fib(7) case verified fib(7).
        let last = &all[2].samples[0].sample.verification;
        assert!(matches!(last, Verification::Verified { detail } if detail.contains("fib(7) = 13")), "{last:?}");
    }

    #[test]
    fn auto_rounds_run_the_minimum_and_no_round_starts_after_max_time() {
        let mut s = settings(vec![RunnerId::new("serial"), RunnerId::new("threads")]);
        // An unreachable precision and no time at all: exactly the minimum.
        s.rounds = Rounds::Auto { precision: 1e-12, max_time_s: 0.0 };
        let m = measure(fib_case(10, 2, s.clone()), &mut |_: &Status| {});
        assert_eq!(m.rounds, MIN_AUTO_ROUNDS);
        assert_eq!(m.samples.len(), 2 * MIN_AUTO_ROUNDS as usize);
        let look = m.precision.unwrap();
        assert_eq!((look.rounds, look.look), (MIN_AUTO_ROUNDS, 1), "the look at the last round is reported");
        assert_eq!(look.stopped, Some(Stopped::OutOfTime));
        // Any precision reached at once: also the minimum, however long it may run, and
        // the reported look is the one that stopped it.
        s.rounds = Rounds::Auto { precision: 100.0, max_time_s: 3600.0 };
        let m = measure(fib_case(10, 2, s.clone()), &mut |_: &Status| {});
        assert_eq!(m.rounds, MIN_AUTO_ROUNDS);
        let look = m.precision.unwrap();
        assert!(look.widest.is_some_and(|w| w <= 100.0));
        assert_eq!(look.stopped, Some(Stopped::Reached));
        // A precision no timing reaches (±0.0001%), with an hour to spare: the first look
        // sees that more rounds cannot get there, and stops (the old rule ran the hour,
        // or 1000 rounds).
        s.rounds = Rounds::Auto { precision: 1e-6, max_time_s: 3600.0 };
        let mut statuses = Vec::new();
        let m = measure(fib_case(10, 2, s), &mut |status: &Status| statuses.push(status.clone()));
        assert_eq!(m.rounds, MIN_AUTO_ROUNDS);
        let look = m.precision.unwrap();
        assert_eq!(look.stopped, Some(Stopped::Futile));
        assert!(look.needed.is_some_and(|n| n > MAX_AUTO_ROUNDS), "{:?}", look.needed);
        let last = statuses.last().unwrap();
        assert_eq!((last.budget, last.target), (Some(std::time::Duration::from_secs(3600)), Some(1e-6)));
        assert_eq!(last.precision, look.widest, "the progress line saw the look");
    }

    #[test]
    fn the_usual_warm_up_counts_the_samples_settling_needs() {
        // The estimate and the progress total counted --warmup 1 as one sample, while
        // settling takes three.
        assert_eq!(usual_warmup(0), 0, "off is off");
        assert_eq!(usual_warmup(1), SETTLE_SAMPLES as u32);
        assert_eq!(usual_warmup(12), 12);
        let m = measure(
            fib_case(5, 2, settings(vec![RunnerId::new("serial"), RunnerId::new("threads")])),
            &mut |_: &Status| {},
        );
        assert!(m.warmup.iter().all(|w| w.samples >= usual_warmup(1)), "{:?}", m.warmup);
    }

    #[test]
    fn warm_up_settles_only_on_three_samples_without_a_trend() {
        let ms = |walls: &[f64]| -> Vec<(u64, u64)> { walls.iter().map(|&w| ((w * 1e6) as u64, 0)).collect() };
        // A start-up slowdown of 24% decaying over four samples: two in a row within
        // 10% (124 -> 115) said nothing about the trend.
        let decaying = ms(&[124.0, 115.0, 108.0, 102.0, 100.0, 101.0, 100.0]);
        let first = (1..=decaying.len()).find(|&n| settled(&decaying[..n], 1, false) == Settling::Settled);
        assert_eq!(first, Some(6), "settles on 100, 101, 100 only");
        assert_eq!(settled(&decaying[..2], 1, false), Settling::TooFew);
        let drifting = Settling::Drifting { short_of_cores: None };
        assert_eq!(settled(&decaying[..3], 1, false), drifting, "within 10% but falling");
        assert_eq!(settled(&ms(&[100.0, 120.0, 100.0]), 1, false), drifting, "20% apart");
        assert_eq!(settled(&ms(&[100.0, 104.0, 98.0]), 1, false), Settling::Settled);
        // Settled times but the workers got 1.2 of their 2 cores: contention, said so.
        let contended: Vec<(u64, u64)> =
            [100.0, 103.0, 99.0].iter().map(|&w| ((w * 1e6) as u64, (w * 1.2e6) as u64)).collect();
        let short = settled(&contended, 2, true);
        assert!(matches!(short, Settling::ShortOfCores { got, usable: 2 } if (got - 1.2).abs() < 1e-9), "{short:?}");
        assert_eq!(settled(&contended, 1, true), Settling::Settled, "1.2 of 1 core is plenty");
        assert_eq!(settled(&contended, 2, false), Settling::Settled, "work that waits needs no cores");
        // Drifting and short of cores: both are said.
        let both: Vec<(u64, u64)> =
            [100.0, 130.0, 99.0].iter().map(|&w| ((w * 1e6) as u64, (w * 0.4e6) as u64)).collect();
        let drift = settled(&both, 2, true);
        assert!(
            matches!(drift, Settling::Drifting { short_of_cores: Some((got, 2)) } if (got - 0.4).abs() < 1e-9),
            "{drift:?}"
        );
    }
}
