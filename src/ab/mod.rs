//! `parbench ab BASE NEW -- <run, scale or suite command line>`: a paired A/B gate of
//! two builds in one job.
//!
//! Comparing a run against results recorded on other days mostly measures the
//! machine: a shared runner drifts by more than the regressions worth catching, and
//! hosted CI gives another CPU model from one job to the next. `ab` measures both
//! builds on the same machine at the same time instead, round by round, and judges
//! the per-round ratios NEW/BASE, in which a slow minute, a slow day or a slow machine
//! cancels.
//!
//! Design: each build runs as a long-lived server of samples (the hidden
//! `serve-samples` subcommand every parbench program answers, [`serve`]), started once
//! and kept for the whole comparison, driven over a typed, versioned line protocol
//! ([`protocol`]): hello (protocol version, the plan, the build's fingerprint), then
//! "sample case i, runner r" -> one verified sample, then quit. No process starts
//! inside a timed region, and each build measures with its own code, whatever parbench
//! version the other was built with. (Running each build's whole measurement in turn,
//! or starting a build per sample, was the alternative: the first pairs nothing within
//! a round, the second adds a process start and a workload set-up to every sample.)
//!
//! Each round runs every case and runner in one seeded shuffled order, each under both
//! builds back to back in a random order of the two, one sample at a time (the other
//! build waits, idle, on its stdin), with the settings and seed of the one command
//! line both were given. The plans must agree
//! (exit 3 naming the first difference). The verdict is [`crate::compare::paired`]:
//! the rules, thresholds, table, Markdown and JSON of `compare`, on paired ratios.

use std::process::ExitCode;

use crate::analysis::disturbance::is_disturbed;
use crate::cli::AbArgs;
use crate::compare::PairCounts;
use crate::compare::{Build, Builds, CaseData, PairedCase, Rules};
use crate::error::UsageError;
use crate::measure::RecordedSample;
use crate::rng::SplitMix64;
use crate::runner::{RunnerId, Sample};

mod plan;
mod program;
mod protocol;
pub mod serve;
#[cfg(test)]
mod tests;

use plan::PlanSummary;
use program::Program;

/// Rounds when the command line asks for `--rounds auto`, whose stopping rule is for
/// speedups, not for paired ratios.
pub const AUTO_ROUNDS: u32 = 20;

/// Runs `parbench ab`; the exit status follows `compare` (0 no regression, 1 a
/// regression or a build that failed, 2 input errors, 3 plans that differ).
pub fn run(args: &AbArgs, display: crate::cli::Display) -> anyhow::Result<ExitCode> {
    let view = crate::console::view(display, false);
    crate::interrupt::install().map_err(|e| anyhow::anyhow!("installing the Ctrl-C handler: {e}"))?;
    let (base, base_hello) = Program::start("BASE", &args.base, &args.command, args.timeout)?;
    // On any error from here on, dropping a program stops it and its process group.
    let (new, new_hello) = Program::start("NEW", &args.new, &args.command, args.timeout)?;
    if let Some(difference) = plan::difference(&base_hello.plan, &new_hello.plan) {
        let line = format!(
            "parbench: not comparable: BASE {} and NEW {} plan different measurements ({})",
            crate::text::terminal_safe(&base.name),
            crate::text::terminal_safe(&new.name),
            crate::text::terminal_safe(&difference)
        );
        eprintln!("{}", crate::console::for_stderr(&view.chars(&line)));
        base.quit();
        new.quit();
        return Ok(ExitCode::from(3));
    }
    let summary: PlanSummary = serde_json::from_value(base_hello.plan.clone())
        .map_err(|e| UsageError::new(format!("BASE {}: a plan this parbench cannot read ({e})", base.name)))?;
    let settings = &summary.settings;
    let rounds = args.rounds.unwrap_or(if settings.precision_target.is_some() { AUTO_ROUNDS } else { settings.rounds });
    let warmup = settings.warmup;
    let mut programs = [base, new];
    let progress = crate::progress::Bar::new(None, display.style);
    let measured = measure(&mut programs, &summary, rounds, warmup, &progress);
    progress.finish();
    let (samples, pairs) = measured?;
    let builds = Builds {
        base: Build { program: programs[0].name.clone(), environment: base_hello.environment },
        new: Build { program: programs[1].name.clone(), environment: new_hello.environment },
        pairs,
    };
    let [base, new] = programs;
    base.quit();
    new.quit();
    let cases: Vec<PairedCase<'_>> = summary
        .cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (task_ms, tasks) = (c.task_ms, c.tasks);
            PairedCase {
                label: c.label.clone(),
                workers: c.workers,
                runners: sorted(&c.runners),
                race: c.race,
                base: CaseData { samples: &samples[0][i], task_ms, tasks },
                new: CaseData { samples: &samples[1][i], task_ms, tasks },
            }
        })
        .collect();
    let rules = Rules { floor_relative: args.floor, floor_absolute: args.floor, ..Default::default() };
    let cmp = crate::compare::paired(&cases, builds, &rules);
    crate::console::to_stdout(|out| crate::compare::write(&cmp, args.format, &view, out))?;
    Ok(cmp.exit()?)
}

/// Runners in report order.
fn sorted(runners: &[RunnerId]) -> Vec<RunnerId> {
    let mut v = runners.to_vec();
    v.sort();
    v
}

/// Per build (BASE, NEW), per case: the samples.
type BySide = [Vec<Vec<RecordedSample>>; 2];

/// Most times one pair is measured: a pair that other processes disturbed (one of its
/// two samples saw them use more CPU than [`is_disturbed`] allows, the same test the
/// notes of `run` use) is measured again, up to twice.
const MOST_TRIES: u32 = 3;

/// `warmup` unrecorded rounds, then `rounds` recorded ones. A round runs every (case,
/// runner) in a seeded shuffled order, and each under both builds back to back, the
/// build that goes first drawn at random: the two members of a pair are measured
/// seconds closer together than if every sample were shuffled on its own, so more of
/// the machine's drift is common to both and cancels.
///
/// What does not cancel is a burst of another process's work that lands on one member
/// of a pair (a compiler starting, a CI neighbour): on a shared 2-core machine such a
/// pair's ratio is off by 20-100%. A disturbed pair is therefore measured again, both
/// builds, in a fresh order, and the least disturbed attempt is kept. The test looks
/// only at the other processes' CPU time, never at the times measured, and treats both
/// builds alike, so it cannot favour either; a quiet machine measures each pair once.
/// At most as many pairs are measured again as the comparison has, so a machine busy
/// throughout takes at most twice as long, and what stayed disturbed is counted in the
/// result.
///
/// Per build, per case: the samples, numbered by round.
/// The rounds done are shown on `progress`.
fn measure(
    programs: &mut [Program; 2],
    summary: &PlanSummary,
    rounds: u32,
    warmup: u32,
    progress: &crate::progress::Bar,
) -> Result<(BySide, PairCounts), program::Fault> {
    let mut order: Vec<(usize, RunnerId)> = Vec::new();
    for (c, case) in summary.cases.iter().enumerate() {
        order.extend(case.runners.iter().map(|&runner| (c, runner)));
    }
    let cores = num_cpus::get();
    let mut rng = SplitMix64::new(summary.settings.seed ^ 0xAB_0AB0);
    let mut samples: [Vec<Vec<RecordedSample>>; 2] =
        [vec![Vec::new(); summary.cases.len()], vec![Vec::new(); summary.cases.len()]];
    let mut counts = PairCounts::default();
    let mut spare = order.len() * rounds as usize;
    let start = std::time::Instant::now();
    progress.update(&status(0, warmup, rounds, start.elapsed()));
    for round in 0..warmup + rounds {
        rng.shuffle(&mut order);
        for (pair, &(c, runner)) in order.iter().enumerate() {
            let label = &summary.cases[c].label;
            let (pair_samples, again) = one_pair(&mut spare, cores, || {
                let first = rng.below(2) as usize;
                let mut measured: [Option<Sample>; 2] = [None, None];
                for b in [first, 1 - first] {
                    measured[b] = Some(programs[b].sample(c, label, runner)?);
                }
                let [Some(base), Some(new)] = measured else { unreachable!("both builds measured") };
                Ok([base, new])
            })?;
            progress.update(&status(round, warmup, rounds, start.elapsed()));
            let Some(round) = round.checked_sub(warmup) else { continue };
            counts.count(&pair_samples, again, cores);
            for (b, sample) in pair_samples.into_iter().enumerate() {
                samples[b][c].push(RecordedSample { round, position: (2 * pair + b) as u32, sample });
            }
        }
        progress.update(&status(round + 1, warmup, rounds, start.elapsed()));
    }
    Ok((samples, counts))
}

/// Where a comparison stands for the progress line, after `done` rounds of both builds
/// (the first `warmup` of them unrecorded) of `warmup + rounds`, `elapsed` since the
/// first: the recorded rounds done of `rounds`, and the time left at the mean round.
fn status(done: u32, warmup: u32, rounds: u32, elapsed: std::time::Duration) -> crate::measure::Status {
    crate::measure::Status {
        elapsed,
        warming_up: done < warmup,
        rounds: done.saturating_sub(warmup),
        expected_rounds: Some(rounds),
        round_time: (done > 0).then(|| elapsed / done),
        ..crate::measure::Status::default()
    }
}

/// One pair of samples (BASE, NEW), measured by `measure` (both builds, in an order
/// of its own) until no other process disturbed it, at most [`MOST_TRIES`] times and
/// while `spare` re-measurements are left; the least disturbed attempt is kept. Also
/// says whether it was measured again.
fn one_pair<E>(
    spare: &mut usize,
    cores: usize,
    mut measure: impl FnMut() -> Result<[Sample; 2], E>,
) -> Result<([Sample; 2], bool), E> {
    let mut kept = measure()?;
    let mut again = false;
    for _ in 1..MOST_TRIES {
        if !pair_disturbed(&kept, cores) || *spare == 0 {
            break;
        }
        *spare -= 1;
        again = true;
        let attempt = measure()?;
        if disturbance(&attempt) < disturbance(&kept) {
            kept = attempt;
        }
    }
    Ok((kept, again))
}

fn pair_disturbed(pair: &[Sample; 2], cores: usize) -> bool {
    pair.iter().any(|s| is_disturbed(s, cores))
}

/// The larger of the two samples' [`other_share`].
fn disturbance(pair: &[Sample; 2]) -> f64 {
    other_share(&pair[0]).max(other_share(&pair[1]))
}

impl PairCounts {
    fn count(&mut self, pair: &[Sample; 2], again: bool, cores: usize) {
        self.pairs += 1;
        self.remeasured += usize::from(again);
        self.disturbed += usize::from(pair_disturbed(pair, cores));
    }
}

/// Other processes' CPU time during a sample, per nanosecond of the sample (0 when
/// unknown: nothing to choose between attempts by).
fn other_share(sample: &Sample) -> f64 {
    sample.other_cpu_ns.map_or(0.0, |o| o as f64 / sample.wall_ns.max(1) as f64)
}
