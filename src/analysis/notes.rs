//! The sentences of a report: per-case notes (start-up and set-up costs, lost updates,
//! short or disturbed samples, idle or shared cores, warm-up, precision, the fastest
//! runner) and the closing notes across cases (a swept parameter, load), each saying what
//! was computed. Computed once, here; reporters print them as they are.

use crate::fingerprint::Fingerprint;
use crate::measure::{Look, MAX_AUTO_ROUNDS, Stopped, WarmUp};
use crate::report::fmt::{fmt_count, fmt_ms, fmt_pct};
use crate::result::{CaseReport, RowResult, RunnerRow, SHORT_SAMPLE_MS, SettingsRecord};
use crate::runner::RunnerId;
use crate::stats;

use super::disturbance::DISTURBED_SHARE;

pub(super) fn case_notes(
    case: &CaseReport,
    env: &Fingerprint,
    settings: &SettingsRecord,
    look: Option<&Look>,
    warmup: &[WarmUp],
) -> Vec<String> {
    let mut notes = Vec::new();
    if let (Some(target), Some(look)) = (settings.precision_target, look) {
        notes.push(precision_note(case.rounds, target, settings.max_time_s, look));
    }
    notes.extend(warmup_notes(case, settings, warmup));
    let cores = env.available_parallelism;
    let parallel: Vec<&RunnerRow> = case.rows.iter().filter(|r| !r.runner.is_reference()).collect();
    notes.extend(winner(case, &parallel));
    if !case.waits && case.workers > cores {
        notes.push(format!(
            "{} workers share {cores} available core(s), so CPU-bound speedup cannot exceed {cores}x.",
            case.workers
        ));
    }
    if let Some(task_ms) = case.task_ms {
        let waves = case.tasks.div_ceil(case.workers.max(1)) as f64;
        let ideal = waves * task_ms;
        if let Some(t) = parallel.iter().find(|r| r.runner.info().is_some_and(|i| i.waits_well)) {
            notes.push(format!(
                "Sleeping tasks use almost no CPU ({}: {:.2} cores busy), so workers beyond the core count still help; \
                 the ideal wall time with {} workers is {}, {} took {}.",
                t.runner,
                t.cpu_utilisation,
                case.workers,
                fmt_ms(ideal),
                t.runner,
                fmt_ms(t.wall_ms.median)
            ));
        }
    }
    if let Some(p) = case.rows.iter().find(|r| r.startup_ms.is_some()) {
        if let Some(startup) = p.startup_ms {
            let share = if p.wall_ms.median > 0.0 {
                format!(", {} of their wall time", fmt_pct(startup / p.wall_ms.median))
            } else {
                String::new()
            };
            notes.push(format!(
                "Processes paid {} of start-up (spawn until the last of {} children answered){share}.",
                fmt_ms(startup),
                p.workers,
            ));
        }
    }
    let in_parbench = case.setup_ms.unwrap_or(0.0);
    let in_workers = case.rows.iter().filter_map(|r| r.worker_setup_ms).fold(0.0, f64::max);
    if in_parbench >= 1.0 || in_workers >= 1.0 {
        let workers = if in_workers > 0.0 {
            format!(" and up to {} in each worker process per sample", fmt_ms(in_workers))
        } else {
            String::new()
        };
        notes.push(format!(
            "Set-up (building the workload) took {} in parbench, once,{workers}; it is outside every timed region.",
            fmt_ms(in_parbench)
        ));
    }
    // Freeing a large set-up costs too: the process runner's children do it after the
    // clock has stopped, and the sentence says how long it took.
    let teardown = case.rows.iter().filter_map(|r| r.teardown_ms).fold(0.0, f64::max);
    if teardown >= 1.0 {
        notes.push(format!(
            "Processes sent their outputs, freed their set-up and exited in {} per sample after the clock \
             stopped; that is not part of their wall time.",
            fmt_ms(teardown)
        ));
    }
    if let Some(r) = case.rows.iter().find(|r| r.setup_ms.is_some()) {
        if let Some(setup) = r.setup_ms {
            notes.push(format!(
                "The {} pool took {} to build, once, outside the timed region.",
                r.runner,
                fmt_ms(setup)
            ));
        }
    }
    for row in &case.rows {
        if let RowResult::LostUpdates { expected, median_lost, max_lost, samples_losing } = &row.result {
            notes.push(format!(
                "Without synchronisation, {} lost {} ({}) of the {} updates (median; up to {} in {samples_losing} of {} samples): \
                 two workers read the same value and one increment vanished.",
                row.runner,
                fmt_count((*median_lost * *expected as f64).round() as u64),
                fmt_pct(*median_lost),
                fmt_count(*expected),
                fmt_pct(*max_lost),
                row.wall_ms.n
            ));
        }
    }
    if case.rows.iter().any(|r| r.wall_ms.median < SHORT_SAMPLE_MS) {
        notes.push(format!(
            "Some samples took under {SHORT_SAMPLE_MS} ms: timer, spawn and scheduling costs dominate them, and CPU \
             utilisation is not meaningful at that scale; raise --tasks or the task size."
        ));
    }
    notes.extend(few_cores_notes(case, &parallel, cores));
    notes.extend(preempted_note(case, cores));
    notes.extend(disturbed_note(case));
    notes
}

fn disturbed_note(case: &CaseReport) -> Option<String> {
    let disturbed: usize = case.rows.iter().map(|r| r.disturbed_samples).sum();
    (disturbed > 0).then(|| {
        format!(
            "{disturbed} sample(s) ran while other processes used more than {:.0}% of a core; treat their times with care.",
            DISTURBED_SHARE * 100.0
        )
    })
}

/// The notes about the machine's load (preempted and disturbed samples) of `cases`,
/// each introduced by its case and worker count: `scale` prints these under its tables
/// in place of the notes of `run` (its cases differ in workers, and its calibration
/// cases are no finding), as `run` prints them under each case's table.
pub fn load_notes<'a>(cases: impl IntoIterator<Item = &'a CaseReport>, env: &Fingerprint) -> Vec<String> {
    cases
        .into_iter()
        .flat_map(|case| {
            let notes = preempted_note(case, env.available_parallelism).into_iter().chain(disturbed_note(case));
            let workers = if case.workers == 1 { "1 worker".to_string() } else { format!("{} workers", case.workers) };
            notes.map(move |n| format!("{} at {workers}: {n}", case.label))
        })
        .collect()
}

/// Median cores other processes used during `runner`'s samples (`/proc/stat`), where
/// known.
fn others_cores(case: &CaseReport, runner: RunnerId) -> Option<f64> {
    let shares: Vec<f64> = case
        .samples
        .iter()
        .filter(|s| s.sample.runner == runner && s.sample.wall_ns > 0)
        .filter_map(|s| s.sample.other_cpu_ns.map(|o| o as f64 / s.sample.wall_ns as f64))
        .collect();
    stats::median(&shares)
}

/// Other processes using at least this many cores are named as the reason a runner kept
/// fewer cores busy than it has workers.
const SHARED_CORES: f64 = 0.5;

/// Samples under this median (ms) are short enough for thread placement to dominate.
const PLACEMENT_MS: f64 = 100.0;

/// CPU-bound work on W >= 2 workers that kept about one core busy, with the cause the
/// numbers show: other processes' CPU use, measured per sample; else, for short
/// samples, thread placement; else the workers shared a core or waited for each other.
fn few_cores_notes(case: &CaseReport, parallel: &[&RunnerRow], cores: usize) -> Vec<String> {
    if case.waits || cores < 2 {
        return Vec::new();
    }
    let mut notes = Vec::new();
    for r in parallel.iter().filter(|r| r.workers >= 2 && r.wall_ms.median >= SHORT_SAMPLE_MS) {
        if r.cpu_utilisation >= 1.3 {
            continue;
        }
        let head = format!("{} kept only {:.2} cores busy with {} workers", r.runner, r.cpu_utilisation, r.workers);
        notes.push(match others_cores(case, r.runner) {
            Some(others) if others >= SHARED_CORES => format!(
                "{head} while other processes used {others:.2} cores (median per sample, from /proc/stat): the \
                 machine was shared, and its workers got what was left; measure on a quieter machine."
            ),
            _ if r.wall_ms.median < PLACEMENT_MS => format!(
                "{head}: its workers mostly shared one core. The kernel had not spread them before the sample \
                 ended; samples this short measure thread placement more than parallel speed."
            ),
            _ => format!(
                "{head}, and other processes used little CPU: its workers mostly shared one core or waited for \
                 each other."
            ),
        });
    }
    notes
}

/// Samples whose workers were denied CPU they could have used (see
/// [`crate::runner::Sample::preempted`]), per runner.
fn preempted_note(case: &CaseReport, cores: usize) -> Option<String> {
    let preempted: Vec<String> = case
        .rows
        .iter()
        .filter(|r| r.preempted_samples > 0)
        .map(|r| format!("{} {} of {}", r.runner, r.preempted_samples, r.wall_ms.n))
        .collect();
    if preempted.is_empty() {
        return None;
    }
    let share = crate::runner::PREEMPTED_SHARE * 100.0;
    let why = if case.workers > cores {
        format!(
            "{} workers on {cores} cores wait for each other by design; counted is only CPU they could have used \
             and did not get, over {share:.0}% of their cores' time",
            case.workers
        )
    } else {
        format!("the workers were denied over {share:.0}% of the CPU time they could have used")
    };
    Some(format!(
        "Preempted samples ({why}): {}; treat their times with care, or measure on a quieter machine or with --pin.",
        preempted.join(", ")
    ))
}

/// What `--rounds auto` reached and why it stopped: the look that stopped the run (or
/// the last one), in words. The interval is the one the stopping rule saw, never one
/// computed afterwards. Raising `--max-time` is suggested only when the spread says
/// more rounds would reach the precision.
fn precision_note(rounds: u32, target: f64, max_time_s: Option<f64>, look: &Look) -> String {
    let looks = if look.look == 1 { "its one look".to_string() } else { format!("the {} looks", look.look) };
    let interval = format!("a 95% interval allowing for {looks} at the data");
    let max_time = max_time_s.map_or_else(|| "--max-time".to_string(), |t| format!("--max-time ({t} s)"));
    let aim = fmt_pct(target);
    // What the spread at that look says reaching the precision would take.
    let needed = match look.needed {
        Some(n) if n > MAX_AUTO_ROUNDS => format!(
            " At this spread ±{aim} would take more than the {MAX_AUTO_ROUNDS} rounds --rounds auto runs: a quieter \
             machine narrows it, a longer --max-time would not."
        ),
        Some(n) if n > rounds => format!(" At this spread ±{aim} would take about {} rounds.", fmt_count(u64::from(n))),
        _ => String::new(),
    };
    let Some(reached) = look.widest else {
        return format!(
            "{rounds} rounds, then no round started after {max_time}: too few for a 95% interval of every speedup; \
             raise --max-time for more rounds."
        );
    };
    let reached = fmt_pct(reached);
    match look.stopped {
        _ if look.widest.is_some_and(|w| w <= target) => {
            format!("{rounds} rounds: every speedup is known to ±{reached} ({interval}).")
        }
        Some(Stopped::Futile) => format!(
            "Stopped after {rounds} rounds: more rounds would not reach ±{aim} within {max_time}; reached ±{reached} \
             ({interval}).{needed}"
        ),
        Some(Stopped::RoundLimit) => format!(
            "Stopped at the limit of {rounds} rounds: the widest speedup interval is ±{reached}, wider than the \
             ±{aim} aimed for ({interval})."
        ),
        _ => {
            let more = match (look.needed, max_time_s) {
                (Some(n), Some(t)) if n > rounds && n <= MAX_AUTO_ROUNDS => {
                    let longer = (t * f64::from(n) / f64::from(rounds.max(1))).ceil();
                    format!(
                        " About {} rounds would reach it: --max-time {longer} allows them.",
                        fmt_count(u64::from(n))
                    )
                }
                _ => needed.clone(),
            };
            format!(
                "Stopped after {rounds} rounds at {max_time}: the widest speedup interval is ±{reached}, wider than \
                 the ±{aim} aimed for ({interval}).{more}"
            )
        }
    }
}

/// Warm-up in words: runners that needed more than the usual samples, and runners that
/// never settled, with the reason the numbers show (their times, or their CPU use).
fn warmup_notes(case: &CaseReport, settings: &SettingsRecord, warmup: &[WarmUp]) -> Vec<String> {
    let mut notes = Vec::new();
    let usual = settings.warmup.max(crate::measure::SETTLE_SAMPLES as u32) + 1;
    let slow: Vec<String> = case
        .rows
        .iter()
        .filter(|r| r.warmed_up && r.warmup_samples > usual)
        .map(|r| format!("{} {} samples ({})", r.runner, r.warmup_samples, fmt_ms(r.warmup_ms)))
        .collect();
    if !slow.is_empty() {
        notes.push(format!("Warm-up took longer before the samples were steady: {}.", slow.join(", ")));
    }
    for w in warmup.iter().filter(|w| !w.steady) {
        let took = format!("{} warm-up samples ({})", w.samples, fmt_ms(ms(w.wall_ns)));
        let why = |usable: usize| {
            let spread = if usable > 1 { " (or the kernel had not spread the workers)" } else { "" };
            format!("other work shared the cores{spread}")
        };
        let cores = |got: f64, usable: usize| {
            format!("{got:.1} of its {usable} {}", if usable == 1 { "core" } else { "cores" })
        };
        notes.push(match w.short_of_cores {
            Some((got, usable)) if w.times_settled => format!(
                "{} got {} in {took}, under the 75% its workers could use, though its times had settled: {}, and \
                 its times include that.",
                w.runner,
                cores(got, usable),
                why(usable)
            ),
            Some((got, usable)) => format!(
                "{} was not steady after {took}, and got {}: {}; its times may still drift.",
                w.runner,
                cores(got, usable),
                why(usable)
            ),
            None => format!("{} was not steady after {took}: its times may still drift.", w.runner),
        });
    }
    notes
}

/// Names the fastest parallel runner only when the paired 95% intervals of its wall
/// time against every other's, round by round, exclude "no difference" (see
/// [`stats::fastest`]: ranked and tested on the same paired ratios); otherwise the
/// first two tie, and with too few rounds for the interval nothing is named.
fn winner(case: &CaseReport, parallel: &[&RunnerRow]) -> Option<String> {
    let speedup = |r: &RunnerRow| r.speedup.map(|s| s.median).unwrap_or(0.0);
    let mut ranked: Vec<&RunnerRow> = parallel.iter().copied().filter(|r| r.speedup.is_some()).collect();
    ranked.sort_by(|a, b| speedup(b).total_cmp(&speedup(a)));
    let best = *ranked.first()?;
    let s = speedup(best);
    if s <= 1.0 {
        // "Cost more than it saved" is a finding only when the interval says so.
        let wall = |sample: &crate::runner::Sample| sample.wall_ns as f64;
        let ratios = stats::paired_ratios(
            &crate::measure::by_round(&case.samples, RunnerId::reference(), wall),
            &crate::measure::by_round(&case.samples, best.runner, wall),
        );
        return Some(match stats::median_interval(&ratios, 0.95) {
            Some(i) if i.high < 1.0 => format!(
                "No parallel runner beat serial; the best, {}, reached {s:.2}x (95% interval [{:.2}, {:.2}]): \
                 coordination cost more than it saved.",
                best.runner, i.low, i.high
            ),
            Some(i) => format!(
                "No parallel runner beat serial; the best, {}, reached {s:.2}x, which its 95% interval [{:.2}, \
                 {:.2}] cannot tell from serial.",
                best.runner, i.low, i.high
            ),
            None => format!(
                "No parallel runner beat serial in the median; the best, {}, reached {s:.2}x, from too few rounds \
                 for a 95% interval.",
                best.runner
            ),
        });
    }
    let efficiency = fmt_pct(best.efficiency.unwrap_or(0.0));
    if ranked.len() < 2 {
        return Some(format!(
            "{} reached {s:.2}x serial with {} workers ({efficiency} efficiency).",
            best.runner, best.workers
        ));
    }
    let wall = |sample: &crate::runner::Sample| sample.wall_ns as f64;
    let walls: Vec<Vec<f64>> = ranked.iter().map(|r| crate::measure::by_round(&case.samples, r.runner, wall)).collect();
    let described = |i: usize| (ranked[i].runner, speedup(ranked[i]));
    Some(match stats::fastest(&walls, 0.95)? {
        stats::Fastest::TooFewRounds { rounds, needed } => format!(
            "{} reached {s:.2}x serial with {} workers ({efficiency} efficiency); with {rounds} paired round(s) no \
             runner is named fastest: a paired 95% interval between {} runners needs {needed} rounds.",
            best.runner,
            best.workers,
            ranked.len()
        ),
        stats::Fastest::Winner { best, runner_up, ratio } => {
            let ((first, s), (second, s2)) = (described(best), described(runner_up));
            let efficiency = fmt_pct(ranked[best].efficiency.unwrap_or(0.0));
            format!(
                "{first} was fastest: {s:.2}x serial with {} workers ({efficiency} efficiency); faster than {second} \
                 ({s2:.2}x) in the paired 95% interval (its time {:.2}x theirs, [{:.2}, {:.2}]).",
                ranked[best].workers, ratio.estimate, ratio.low, ratio.high
            )
        }
        stats::Fastest::Tie { best, runner_up } => {
            let ((first, s), (second, s2)) = (described(best), described(runner_up));
            format!(
                "{first} and {second} tie at {s:.2}x and {s2:.2}x serial: their paired 95% interval includes no \
                 difference."
            )
        }
    })
}

/// Ranks cases of one workload and worker count per parallel runner: by wall time
/// when they differ in one parameter only (the counter's `sync` modes, a swept
/// parameter of a user's workload), by cost per unit of work when they differ in more
/// and every one declares its work in the same unit. Cases that do different work with
/// no common unit are not ranked; races are left out.
pub(super) fn sweep_comparison(cases: &[CaseReport]) -> Vec<String> {
    let mut notes = Vec::new();
    let mut seen = vec![false; cases.len()];
    for i in 0..cases.len() {
        if seen[i] || cases[i].race {
            continue;
        }
        let first = &cases[i];
        let group: Vec<&CaseReport> = cases[i..]
            .iter()
            .filter(|c| !c.race && c.workload == first.workload && c.workers == first.workers)
            .filter(|c| c.params.len() == first.params.len() && c.params.keys().all(|k| first.params.contains_key(k)))
            .collect();
        for (j, c) in cases.iter().enumerate().skip(i) {
            seen[j] |= group.iter().any(|g| std::ptr::eq(*g, c));
        }
        let differing: Vec<&String> =
            first.params.keys().filter(|k| group.iter().any(|c| c.params.get(*k) != first.params.get(*k))).collect();
        let unit = first
            .work
            .as_ref()
            .map(|w| &w.unit)
            .filter(|u| group.iter().all(|c| c.work.as_ref().map(|w| &w.unit) == Some(*u)));
        if group.len() < 2 || (differing.len() != 1 && unit.is_none()) {
            continue;
        }
        let name = |c: &CaseReport| -> String {
            let text = |k: &String| {
                c.params.get(k).and_then(|v| crate::workload::param::json_text(v).ok()).unwrap_or_default()
            };
            match differing.as_slice() {
                [one] => text(one),
                many => many.iter().map(|k| format!("{k}={}", text(k))).collect::<Vec<_>>().join(" "),
            }
        };
        let mut kinds: Vec<RunnerId> =
            group.iter().flat_map(|c| c.rows.iter().map(|r| r.runner)).filter(|r| !r.is_reference()).collect();
        kinds.sort();
        kinds.dedup();
        for kind in kinds {
            // (name, median cost, cost per round): rounds of the cases ran interleaved,
            // round i of each in the same pass, so they pair by round as runners do.
            let costs: Vec<(String, f64, Vec<f64>)> = group
                .iter()
                .filter_map(|c| {
                    let row = c.rows.iter().find(|r| r.runner == kind)?;
                    let per = if unit.is_some() { c.work.as_ref()?.amount } else { 1.0 };
                    let walls = crate::measure::by_round(&c.samples, kind, |s| ms(s.wall_ns) / per);
                    Some((name(c), row.wall_ms.median / per, walls))
                })
                .collect();
            if costs.len() < 2 {
                continue;
            }
            let mut order: Vec<usize> = (0..costs.len()).collect();
            order.sort_by(|&a, &b| costs[a].1.total_cmp(&costs[b].1));
            let list: Vec<String> = order
                .iter()
                .map(|&i| match unit {
                    Some(_) => format!("{} {}", costs[i].0, fmt_ns(costs[i].1 * 1e6)),
                    None => format!("{} {}", costs[i].0, fmt_ms(costs[i].1)),
                })
                .collect();
            let list = list.join(", ");
            let (what, best) = match unit {
                Some(unit) => (format!("With {kind}, per {unit}:"), "cheapest"),
                None => (format!("With {kind}, {} =", differing[0]), "fastest"),
            };
            // Named, like the fastest runner, only when the paired intervals separate it.
            let walls: Vec<Vec<f64>> = costs.iter().map(|c| c.2.clone()).collect();
            let Some(verdict) = stats::fastest(&walls, 0.95) else { continue };
            notes.push(match verdict {
                stats::Fastest::Winner { best: i, .. } => format!("{what} {} was {best} ({list}).", costs[i].0),
                stats::Fastest::Tie { best: i, runner_up: j } => {
                    format!("{what} {} and {} tie in the paired 95% interval ({list}).", costs[i].0, costs[j].0)
                }
                stats::Fastest::TooFewRounds { rounds, needed } => format!(
                    "{what} {list}; {rounds} round(s) are too few to name the {best} (a paired 95% interval needs \
                     {needed})."
                ),
            });
        }
    }
    notes
}

/// Nanoseconds with three significant digits: `0.532 ns`, `12.4 ns`, `1530 ns`.
fn fmt_ns(ns: f64) -> String {
    if ns >= 100.0 {
        format!("{ns:.0} ns")
    } else if ns >= 10.0 {
        format!("{ns:.1} ns")
    } else {
        format!("{ns:.3} ns")
    }
}

/// Nanoseconds as milliseconds.
pub(super) fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}
