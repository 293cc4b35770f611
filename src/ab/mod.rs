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

use crate::cli::AbArgs;
use crate::compare::{Build, Builds, CaseData, PairedCase, Rules};
use crate::error::UsageError;
use crate::measure::RecordedSample;
use crate::rng::SplitMix64;
use crate::runner::RunnerId;

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
        eprintln!(
            "parbench: not comparable: BASE {} and NEW {} plan different measurements ({})",
            crate::text::terminal_safe(&base.name),
            crate::text::terminal_safe(&new.name),
            crate::text::terminal_safe(&difference)
        );
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
    let samples = measure(&mut programs, &summary, rounds, warmup)?;
    let builds = Builds {
        base: Build { program: programs[0].name.clone(), environment: base_hello.environment },
        new: Build { program: programs[1].name.clone(), environment: new_hello.environment },
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

/// `warmup` unrecorded rounds, then `rounds` recorded ones. A round runs every (case,
/// runner) in a seeded shuffled order, and each under both builds back to back, the
/// build that goes first drawn at random: the two members of a pair are measured
/// seconds closer together than if every sample were shuffled on its own, so more of
/// the machine's drift is common to both and cancels. Per build, per case: the
/// samples, numbered by round.
fn measure(
    programs: &mut [Program; 2],
    summary: &PlanSummary,
    rounds: u32,
    warmup: u32,
) -> Result<[Vec<Vec<RecordedSample>>; 2], program::Fault> {
    let mut order: Vec<(usize, RunnerId)> = Vec::new();
    for (c, case) in summary.cases.iter().enumerate() {
        order.extend(case.runners.iter().map(|&runner| (c, runner)));
    }
    let mut rng = SplitMix64::new(summary.settings.seed ^ 0xAB_0AB0);
    let mut samples: [Vec<Vec<RecordedSample>>; 2] =
        [vec![Vec::new(); summary.cases.len()], vec![Vec::new(); summary.cases.len()]];
    let progress = Progress::new(warmup + rounds);
    for round in 0..warmup + rounds {
        rng.shuffle(&mut order);
        for (pair, &(c, runner)) in order.iter().enumerate() {
            let first = rng.below(2) as usize;
            for (k, b) in [first, 1 - first].into_iter().enumerate() {
                let sample = programs[b].sample(c, &summary.cases[c].label, runner)?;
                if let Some(round) = round.checked_sub(warmup) {
                    let position = (2 * pair + k) as u32;
                    samples[b][c].push(RecordedSample { round, position, sample });
                }
            }
        }
        progress.update(round + 1);
    }
    progress.finish();
    Ok(samples)
}

/// Rounds done, on stderr when it is a terminal; drawn between samples only.
struct Progress(indicatif::ProgressBar);

impl Progress {
    fn new(total: u32) -> Self {
        use std::io::IsTerminal;
        let bar = indicatif::ProgressBar::hidden();
        if std::io::stderr().is_terminal() {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} round {pos}/{len} of both builds, {elapsed} elapsed, ETA {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
        }
        bar.set_length(u64::from(total));
        Progress(bar)
    }

    fn update(&self, done: u32) {
        self.0.set_position(u64::from(done));
    }

    fn finish(&self) {
        self.0.finish_and_clear();
    }
}
