//! The sentences of a report: per-case notes (start-up and set-up costs, lost updates,
//! short or disturbed samples, idle or shared cores, warm-up, precision), one per cause
//! naming the runners it applies to, the case's answer ([`super::answer`]), and the
//! closing notes across cases (a swept parameter, load), each saying what was computed.
//! Computed once, here; reporters print them as they are.

use crate::fingerprint::Fingerprint;
use crate::measure::{Look, MAX_AUTO_ROUNDS, Stopped, WarmUp};
use crate::report::fmt::{fmt_bytes, fmt_count, fmt_ms, fmt_pct};
use crate::result::{Answer, CaseReport, Cause, Note, RowResult, RunnerRow, SHORT_SAMPLE_MS, SettingsRecord};
use crate::runner::RunnerId;
use crate::stats;
use crate::text::names;

use super::disturbance::DISTURBED_SHARE;

pub(super) fn case_notes(
    case: &CaseReport,
    env: &Fingerprint,
    settings: &SettingsRecord,
    look: Option<&Look>,
    warmup: &[WarmUp],
) -> (Option<Answer>, Vec<Note>) {
    let mut notes = Vec::new();
    if let (Some(target), Some(look)) = (settings.precision_target, look) {
        notes.push(Note::case(Cause::Precision, precision_note(case.rounds, target, settings.max_time_s, look)));
    }
    notes.extend(warmup_notes(case, settings, warmup));
    let cores = env.available_parallelism;
    let parallel: Vec<&RunnerRow> = case.rows.iter().filter(|r| !r.runner.is_reference()).collect();
    let busy = busy_machine(case, &parallel);
    let answer = super::answer::answer(case, &parallel, busy, look);
    if let Some((_, verdict)) = &answer {
        notes.push(Note::case(Cause::Verdict, verdict.clone()));
    }
    if !case.waits && case.workers > cores {
        notes.push(Note::case(
            Cause::Oversubscribed,
            format!(
                "{} workers share {cores} available core(s), so CPU-bound speedup cannot exceed {cores}x.",
                case.workers
            ),
        ));
    }
    if let Some(task_ms) = case.task_ms {
        let waves = case.tasks.div_ceil(case.workers.max(1)) as f64;
        let ideal = waves * task_ms;
        if let Some(t) = parallel.iter().find(|r| r.runner.info().is_some_and(|i| i.waits_well)) {
            notes.push(Note {
                runners: vec![t.runner],
                ..Note::case(
                    Cause::Sleeping,
                    format!(
                        "Sleeping tasks use almost no CPU ({}: {:.2} cores busy), so workers beyond the core count \
                         still help; the ideal wall time with {} workers is {}, {} took {}.",
                        t.runner,
                        t.cpu_utilisation,
                        case.workers,
                        fmt_ms(ideal),
                        t.runner,
                        fmt_ms(t.wall_ms.median)
                    ),
                )
            });
        }
        // A runner whose tasks all waited in their async form kept every one waiting at
        // once: its ideal is one task's time, whatever its thread count.
        for r in parallel.iter().filter(|r| inline_tasks(case, r.runner) == Some(0)) {
            let text = format!(
                "{} kept all {} tasks waiting at once on {} thread(s), as futures: the ideal wall time is one \
                 task's {}, it took {}.",
                r.runner,
                case.tasks,
                r.workers,
                fmt_ms(task_ms),
                fmt_ms(r.wall_ms.median)
            );
            notes.push(Note { runners: vec![r.runner], ..Note::case(Cause::Sleeping, text) });
        }
    }
    notes.extend(blocking_notes(case, &parallel));
    if let Some(share) = case.compute_share {
        notes.extend(useful_workers_note(case, &parallel, share, cores));
    }
    if let Some(p) = case.rows.iter().find(|r| r.startup_ms.is_some()) {
        if let Some(startup) = p.startup_ms {
            let share = if p.wall_ms.median > 0.0 {
                format!(", {} of their wall time", fmt_pct(startup / p.wall_ms.median))
            } else {
                String::new()
            };
            notes.push(Note {
                runners: vec![p.runner],
                ..Note::case(
                    Cause::StartUp,
                    format!(
                        "Processes paid {} of start-up (spawn until the last of {} children answered){share}.",
                        fmt_ms(startup),
                        p.workers,
                    ),
                )
            });
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
        notes.push(Note::case(
            Cause::SetUp,
            format!(
                "Set-up (building the workload) took {} in parbench, once,{workers}; it is outside every timed \
                 region.",
                fmt_ms(in_parbench)
            ),
        ));
    }
    // Freeing a large set-up costs too: the process runner's children do it after the
    // clock has stopped, and the sentence says how long it took.
    let teardown = case.rows.iter().filter_map(|r| r.teardown_ms).fold(0.0, f64::max);
    if teardown >= 1.0 {
        notes.push(Note::case(
            Cause::TearDown,
            format!(
                "Processes sent their outputs, freed their set-up and exited in {} per sample after the clock \
                 stopped; that is not part of their wall time.",
                fmt_ms(teardown)
            ),
        ));
    }
    // Every pool or runtime held across samples (rayon's threads, process-pool's
    // started processes, the tokio runtime), named as its runner names it: one note
    // for them all, each runner's own sentence as its detail.
    let pools: Vec<(RunnerId, f64)> = case.rows.iter().filter_map(|r| r.setup_ms.map(|s| (r.runner, s))).collect();
    let holds = |r: RunnerId| r.info().and_then(|i| i.holds);
    let items = pools
        .iter()
        .map(|&(r, setup)| {
            let text = match holds(r) {
                Some(holds) => format!("The {holds} took {} to build, once, outside the timed region.", fmt_ms(setup)),
                None => format!("The {r} runner's set-up took {}, once, outside the timed region.", fmt_ms(setup)),
            };
            (r, text)
        })
        .collect();
    notes.extend(per_runner(Cause::PoolBuild, items, |runners| {
        let built: Vec<String> =
            runners.iter().map(|&r| holds(r).map_or_else(|| format!("{r} runner's set-up"), str::to_string)).collect();
        let times: Vec<String> = pools.iter().map(|&(_, s)| fmt_ms(s)).collect();
        format!("The {} took {} to build, once each, outside the timed region.", names(&built), names(&times))
    }));
    notes.extend(lost_updates_note(case));
    if case.rows.iter().any(|r| r.wall_ms.median < SHORT_SAMPLE_MS) {
        notes.push(Note::case(
            Cause::ShortSamples,
            format!(
                "Some samples took under {SHORT_SAMPLE_MS} ms: timer, spawn and scheduling costs dominate them, and \
                 CPU utilisation is not meaningful at that scale; raise --tasks or the task size."
            ),
        ));
    }
    notes.extend(memory_note(case));
    notes.extend(pipeline_note(case));
    notes.extend(few_cores_notes(case, &parallel, cores, busy));
    notes.extend(preempted_note(case, cores));
    notes.extend(disturbed_note(case));
    (answer.map(|(a, _)| a), one_load_note(case, busy, warmup, notes))
}

/// The notes other processes' CPU use explains, when the numbers show that it did.
const LOAD_CAUSES: [Cause; 4] = [Cause::BusyMachine, Cause::Preempted, Cause::Disturbed, Cause::WarmUpCores];

/// One cause, one note: when other processes used the machine (`busy`, or samples
/// they disturbed) and that shows in more than one way (cores left idle, samples
/// preempted or disturbed, warm-up short of cores), those notes become one that names
/// the load once and says what it did, each runner's full sentences as its detail.
fn one_load_note(case: &CaseReport, busy: Option<f64>, warmup: &[WarmUp], notes: Vec<Note>) -> Vec<Note> {
    let disturbed: usize = case.rows.iter().map(|r| r.disturbed_samples).sum();
    let is_load = |n: &Note| LOAD_CAUSES.contains(&n.cause);
    let at = notes.iter().position(is_load).unwrap_or(notes.len());
    let (load, mut rest): (Vec<Note>, Vec<Note>) = notes.into_iter().partition(is_load);
    if load.len() < 2 || (busy.is_none() && disturbed == 0) {
        rest.extend(load);
        return rest;
    }
    let of = |cause: Cause| -> Vec<RunnerId> {
        let mut runners: Vec<RunnerId> = case.rows.iter().map(|r| r.runner).collect();
        runners.retain(|r| load.iter().any(|n| n.cause == cause && n.runners.contains(r)));
        runners
    };
    let rows = |runners: &[RunnerId]| -> Vec<&RunnerRow> {
        case.rows.iter().filter(|r| runners.contains(&r.runner)).collect()
    };
    let every = |runners: &[RunnerId]| runners.len() == case.rows.len();
    let mut clauses = Vec::new();
    let idle = of(Cause::BusyMachine);
    if !idle.is_empty() {
        let rows = rows(&idle);
        let busy: Vec<String> = rows.iter().map(|r| format!("{:.2}", r.cpu_utilisation)).collect();
        let workers = rows[0].workers;
        let with = if rows.iter().all(|r| r.workers == workers) {
            format!("{workers} workers")
        } else {
            "their workers".into()
        };
        clauses.push(format!("{} kept only {} cores busy with {with}", names(&idle), names(&busy)));
    }
    let preempted = of(Cause::Preempted);
    if !preempted.is_empty() {
        let rows = rows(&preempted);
        if every(&preempted) && rows.iter().all(|r| r.preempted_samples == r.wall_ms.n) {
            clauses.push("every sample was preempted".to_string());
        } else {
            let each: Vec<String> =
                rows.iter().map(|r| format!("{} {} of {}", r.runner, r.preempted_samples, r.wall_ms.n)).collect();
            clauses.push(format!("samples were preempted ({})", each.join(", ")));
        }
    }
    let hit = of(Cause::Disturbed);
    if !hit.is_empty() {
        let total: usize = case.rows.iter().map(|r| r.wall_ms.n).sum();
        let whose = if every(&hit) { String::new() } else { format!(" ({})", names(&hit)) };
        clauses.push(format!("{disturbed} of {total} samples were disturbed{whose}"));
    }
    let short = of(Cause::WarmUpCores);
    if !short.is_empty() {
        let unsettled: Vec<RunnerId> = warmup
            .iter()
            .filter(|w| short.contains(&w.runner) && !w.steady && !w.times_settled)
            .map(|w| w.runner)
            .collect();
        let their = if short.len() == 1 || every(&short) { "its" } else { "their" };
        let steady = match unsettled.len() {
            0 => String::new(),
            n if n == short.len() => " and did not settle".to_string(),
            _ => format!(" ({} did not settle)", names(&unsettled)),
        };
        let who = if every(&short) { "every runner".to_string() } else { names(&short) };
        clauses.push(format!("{who} got under 75% of {their} cores in warm-up{steady}"));
    }
    let head = match busy {
        Some(others) => {
            format!(
                "Other processes used up to {others:.2} cores during the samples (median per sample, from /proc/stat)"
            )
        }
        None => format!(
            "Other processes used over {:.0}% of a core during some samples (from /proc/stat)",
            DISTURBED_SHARE * 100.0
        ),
    };
    let mut runners: Vec<RunnerId> = case.rows.iter().map(|r| r.runner).collect();
    runners.retain(|r| load.iter().any(|n| n.runners.contains(r)));
    let note = Note {
        cause: Cause::Load,
        runners,
        text: format!("{head}: {}. Treat these times with care, or measure on a quieter machine.", clauses.join("; ")),
        detail: load.iter().flat_map(|n| n.full().iter().cloned()).collect(),
    };
    // Where the first of them stood: the load comes before what it does not explain.
    rest.insert(at.min(rest.len()), note);
    rest
}

/// What the peak RSS column is, and how much each runner's samples added to the
/// resident set they began with.
fn memory_note(case: &CaseReport) -> Option<Note> {
    let rises: Vec<String> = case
        .rows
        .iter()
        .filter_map(|r| Some(format!("{} {}", r.runner, fmt_bytes(r.rss_rise_mib? * (1u64 << 20) as f64))))
        .collect();
    if rises.is_empty() {
        return None;
    }
    let children = if case.rows.iter().any(|r| r.children_peak_mib.is_some()) {
        " For process runners, + the peaks of their worker processes, summed."
    } else {
        ""
    };
    let rises = rises.join(", ");
    Some(Note {
        detail: vec![format!(
            "Peak RSS is parbench's resident high-water mark during each runner's samples (the most of any sample; \
             reset as each began, through /proc/self/clear_refs), a pool or runtime held across samples \
             included.{children} The samples themselves added at most: {rises}."
        )],
        ..Note::case(
            Cause::Memory,
            format!("The samples added at most to peak RSS (-v says how it is measured): {rises}."),
        )
    })
}

/// The most tasks of `runner`'s samples that ran without an async form, when the
/// runner polls futures (others do not count them).
fn inline_tasks(case: &CaseReport, runner: RunnerId) -> Option<u64> {
    case.samples.iter().filter(|s| s.sample.runner == runner).filter_map(|s| s.sample.inline_tasks).max()
}

/// Runners of futures whose tasks had no async form: each blocked its worker thread,
/// so no more ran (or waited) at once than the runner has threads.
fn blocking_notes(case: &CaseReport, parallel: &[&RunnerRow]) -> Vec<Note> {
    let mut notes = Vec::new();
    for r in parallel {
        let Some(inline) = inline_tasks(case, r.runner).filter(|&n| n > 0) else { continue };
        let which = if inline as usize >= case.tasks {
            "Its tasks have no async form".to_string()
        } else {
            format!("{inline} of its {} tasks had no async form", case.tasks)
        };
        let text = if case.waits {
            format!(
                "{}: {which}: each blocked its worker thread while it waited, so no more than its {} thread(s) \
                 waited at once; only tasks that wait through the runtime overlap beyond its threads.",
                r.runner, r.workers
            )
        } else {
            format!(
                "{}: {which}: each ran inline and blocked its worker thread, so at most {} ran at once, as with \
                 threads. Async does not help CPU work.",
                r.runner, r.workers
            )
        };
        notes.push(Note { runners: vec![r.runner], ..Note::case(Cause::Blocking, text) });
    }
    notes
}

/// A pipeline's bottleneck per runner: the stage with the least throughput (its
/// workers over its measured time per item; under a whole-item model, all workers over
/// the sum of the stage times), the bound it sets and the measured items per second,
/// medians over the samples.
fn pipeline_note(case: &CaseReport) -> Option<Note> {
    let mut parts = Vec::new();
    for row in &case.rows {
        let stats: Vec<&crate::runner::pipeline::PipelineStats> = case
            .samples
            .iter()
            .filter(|s| s.sample.runner == row.runner)
            .filter_map(|s| s.sample.pipeline.as_ref())
            .collect();
        let (Some(bound), Some(measured)) = (
            stats::median(&stats.iter().map(|p| p.bound_items_per_s).collect::<Vec<_>>()),
            stats::median(&stats.iter().map(|p| p.items_per_s).collect::<Vec<_>>()),
        ) else {
            continue;
        };
        // The stage most often the bottleneck.
        let mut counts = std::collections::BTreeMap::new();
        for p in &stats {
            *counts.entry(p.bottleneck).or_insert(0) += 1;
        }
        let Some((&bottleneck, _)) = counts.iter().max_by_key(|(stage, n)| (**n, std::cmp::Reverse(**stage))) else {
            continue;
        };
        let Some(stage) = stats[0].stages.get(bottleneck) else { continue };
        let s = if stage.workers == 1 { "" } else { "s" };
        let who = if stats[0].whole_items {
            format!("whole items on {} worker{s}, slowest stage {} ({})", stage.workers, bottleneck + 1, stage.name)
        } else {
            format!("stage {} ({}) on {} worker{s}", bottleneck + 1, stage.name, stage.workers)
        };
        parts.push(format!("{}: {who}, bound {bound:.0}, measured {measured:.0}", row.runner));
    }
    if parts.is_empty() {
        return None;
    }
    Some(Note::case(
        Cause::Pipeline,
        format!(
            "Pipeline throughput in items/s, the bound being the bottleneck stage's workers over its measured time per \
         item (whole items: the workers over the sum of the stage times): {}.",
            parts.join("; ")
        ),
    ))
}

/// The most workers that can be kept useful on `cores` cores by tasks that compute
/// `share` of their time and wait the rest: (cpu + io) / cpu per core, times the cores.
pub(crate) fn useful_workers(share: f64, cores: usize) -> f64 {
    cores.max(1) as f64 / share
}

/// For work that computes a declared share of its time: the bound on useful workers
/// next to the best measured runner.
fn useful_workers_note(case: &CaseReport, parallel: &[&RunnerRow], share: f64, cores: usize) -> Option<Note> {
    let speedup = |r: &RunnerRow| r.speedup.map_or(0.0, |s| s.median);
    let best = parallel.iter().filter(|r| r.speedup.is_some()).max_by(|a, b| speedup(a).total_cmp(&speedup(b)))?;
    let bound = useful_workers(share, cores);
    let tail = if best.workers >= case.tasks && (case.tasks as f64) < bound {
        format!(
            "with {} tasks, more workers have nothing to run; more tasks would let up to {bound:.0} help",
            case.tasks
        )
    } else if (best.workers as f64) < bound {
        format!("more workers can still help, up to about {bound:.0}")
    } else {
        format!("workers beyond about {bound:.0} only wait for a core")
    };
    Some(Note::case(
        Cause::UsefulWorkers,
        format!(
            "Each task computes {} of its time and waits the rest, so up to {:.1} workers per core ({bound:.1} on {cores} \
         core(s)) can be kept useful; the best measured, {}, reached {:.2}x serial with {} workers: {tail}.",
            fmt_pct(share),
            1.0 / share,
            best.runner,
            speedup(best),
            best.workers
        ),
    ))
}

/// One note of `cause` for `runners`: the sentence for one runner as it is; for
/// several, `grouped` naming them all, with each runner's own sentence as detail.
fn per_runner(
    cause: Cause,
    items: Vec<(RunnerId, String)>,
    grouped: impl FnOnce(&[RunnerId]) -> String,
) -> Option<Note> {
    let runners: Vec<RunnerId> = items.iter().map(|(r, _)| *r).collect();
    match items.len() {
        0 => None,
        1 => Some(Note { cause, runners, text: items[0].1.clone(), detail: Vec::new() }),
        _ => {
            Some(Note { cause, text: grouped(&runners), runners, detail: items.into_iter().map(|(_, t)| t).collect() })
        }
    }
}

/// The updates the unsynchronised counter lost, one note for every runner that lost
/// some. A median of no loss (some samples lost a few) is said so, not as "lost 0".
fn lost_updates_note(case: &CaseReport) -> Option<Note> {
    let losing: Vec<(&RunnerRow, u64, f64, usize)> = case
        .rows
        .iter()
        .filter_map(|row| match &row.result {
            RowResult::LostUpdates { expected, median_lost, samples_losing, max_lost } => {
                Some((row, *expected, *median_lost, *samples_losing)).filter(|_| *max_lost > 0.0)
            }
            RowResult::Verified { .. } => None,
        })
        .collect();
    let expected = losing.first().map(|l| l.1)?;
    let count = |share: f64| fmt_count((share * expected as f64).round() as u64);
    let lost = |(row, _, median, samples): &(&RunnerRow, u64, f64, usize)| -> String {
        let max = match &row.result {
            RowResult::LostUpdates { max_lost, .. } => *max_lost,
            RowResult::Verified { .. } => 0.0,
        };
        if (median * expected as f64).round() >= 1.0 {
            format!(
                "{} lost {} ({}) of the {} updates (median; up to {} in {samples} of {} samples)",
                row.runner,
                count(*median),
                fmt_pct(*median),
                fmt_count(expected),
                fmt_pct(max),
                row.wall_ms.n
            )
        } else {
            format!(
                "{} lost updates in {samples} of {} samples (up to {}, {}, of the {} updates; none in the median \
                 sample)",
                row.runner,
                row.wall_ms.n,
                count(max),
                fmt_pct(max),
                fmt_count(expected)
            )
        }
    };
    let why = "two workers read the same value and one increment vanished.";
    let items: Vec<(RunnerId, String)> =
        losing.iter().map(|l| (l.0.runner, format!("Without synchronisation, {}: {why}", lost(l)))).collect();
    let all: Vec<String> = losing.iter().map(lost).collect();
    per_runner(Cause::LostUpdates, items, |_| format!("Without synchronisation, {}: {why}", all.join("; ")))
}

fn disturbed_note(case: &CaseReport) -> Option<Note> {
    let disturbed: usize = case.rows.iter().map(|r| r.disturbed_samples).sum();
    (disturbed > 0).then(|| Note {
        runners: case.rows.iter().filter(|r| r.disturbed_samples > 0).map(|r| r.runner).collect(),
        ..Note::case(
            Cause::Disturbed,
            format!(
                "{disturbed} sample(s) ran while other processes used more than {:.0}% of a core; treat their times \
                 with care.",
                DISTURBED_SHARE * 100.0
            ),
        )
    })
}

/// The notes about the machine's load (preempted and disturbed samples) of `cases`:
/// one per workload, across its worker counts, naming the counts it applies to.
/// `scale` prints these under its tables in place of the notes of `run` (its cases
/// differ in workers, and its calibration cases are no finding).
pub fn load_notes<'a>(cases: impl IntoIterator<Item = &'a CaseReport>, env: &Fingerprint) -> Vec<String> {
    let cores = env.available_parallelism;
    let mut workloads: Vec<(&str, Vec<&CaseReport>)> = Vec::new();
    for case in cases {
        match workloads.iter_mut().find(|(label, _)| *label == case.label) {
            Some((_, cases)) => cases.push(case),
            None => workloads.push((&case.label, vec![case])),
        }
    }
    let at = |cases: &[&CaseReport]| {
        let counts: Vec<usize> = cases.iter().map(|c| c.workers).collect();
        let unit = if counts == [1] { "worker" } else { "workers" };
        format!("at {} {unit}", names(&counts))
    };
    workloads
        .into_iter()
        .filter_map(|(label, cases)| {
            let mut parts = Vec::new();
            let preempted: Vec<&CaseReport> =
                cases.iter().copied().filter(|c| c.rows.iter().any(|r| r.preempted_samples > 0)).collect();
            if !preempted.is_empty() {
                // Per runner, over every worker count.
                let mut each: Vec<(RunnerId, usize, usize)> = Vec::new();
                for row in cases.iter().flat_map(|c| &c.rows) {
                    match each.iter_mut().find(|(r, _, _)| *r == row.runner) {
                        Some((_, hit, n)) => (*hit, *n) = (*hit + row.preempted_samples, *n + row.wall_ms.n),
                        None => each.push((row.runner, row.preempted_samples, row.wall_ms.n)),
                    }
                }
                let list: Vec<String> = each.iter().map(|(r, hit, n)| format!("{r} {hit} of {n}")).collect();
                let beyond = if cases.iter().any(|c| c.workers > cores) {
                    format!(", beyond {cores} workers only CPU they could have had")
                } else {
                    String::new()
                };
                parts.push(format!(
                    "samples were preempted {} (workers denied over {:.0}% of the CPU they could use{beyond}): {}",
                    at(&preempted),
                    crate::runner::PREEMPTED_SHARE * 100.0,
                    list.join(", ")
                ));
            }
            let disturbed: Vec<&CaseReport> =
                cases.iter().copied().filter(|c| c.rows.iter().any(|r| r.disturbed_samples > 0)).collect();
            if !disturbed.is_empty() {
                let hit: usize = cases.iter().flat_map(|c| &c.rows).map(|r| r.disturbed_samples).sum();
                let n: usize = cases.iter().flat_map(|c| &c.rows).map(|r| r.wall_ms.n).sum();
                parts.push(format!(
                    "{hit} of {n} samples ran while other processes used more than {:.0}% of a core ({})",
                    DISTURBED_SHARE * 100.0,
                    at(&disturbed)
                ));
            }
            (!parts.is_empty()).then(|| {
                format!(
                    "{label}: {}. Treat their times with care, or measure on a quieter machine or with --pin.",
                    parts.join("; ")
                )
            })
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

/// The most cores other processes used (median per sample) during any parallel
/// runner's samples, when that reached [`SHARED_CORES`]: the machine was busy, and that
/// is the one cause named for cores left idle and for a slow parallel runner.
fn busy_machine(case: &CaseReport, parallel: &[&RunnerRow]) -> Option<f64> {
    parallel.iter().filter_map(|r| others_cores(case, r.runner)).filter(|o| *o >= SHARED_CORES).reduce(f64::max)
}

/// Samples under this median (ms) are short enough for thread placement to dominate.
const PLACEMENT_MS: f64 = 100.0;

/// CPU-bound work on W >= 2 workers that kept about one core busy, with the cause the
/// numbers show: other processes' CPU use, measured per sample (when the machine was
/// busy during any runner's samples, that is the cause named for all); else, for short
/// samples, thread placement; else the workers shared a core or waited for each other.
/// One note per cause, naming its runners.
fn few_cores_notes(case: &CaseReport, parallel: &[&RunnerRow], cores: usize, busy: Option<f64>) -> Vec<Note> {
    if case.waits || cores < 2 {
        return Vec::new();
    }
    let idle: Vec<&RunnerRow> = parallel
        .iter()
        .copied()
        .filter(|r| r.workers >= 2 && r.wall_ms.median >= SHORT_SAMPLE_MS && r.cpu_utilisation < 1.3)
        .collect();
    let head = |r: &RunnerRow| {
        format!("{} kept only {:.2} cores busy with {} workers", r.runner, r.cpu_utilisation, r.workers)
    };
    // Every idle runner under one cause: the machine's load when it was busy.
    let cause = |r: &RunnerRow| match busy {
        Some(_) => Cause::BusyMachine,
        None if r.wall_ms.median < PLACEMENT_MS => Cause::Placement,
        None => Cause::SharedCore,
    };
    let mut notes = Vec::new();
    for which in [Cause::BusyMachine, Cause::Placement, Cause::SharedCore] {
        let rows: Vec<&RunnerRow> = idle.iter().copied().filter(|r| cause(r) == which).collect();
        let others = |r: &RunnerRow| others_cores(case, r.runner).unwrap_or(0.0);
        let items = rows
            .iter()
            .map(|r| {
                (
                    r.runner,
                    match which {
                        Cause::BusyMachine => format!(
                            "{} while other processes used {:.2} cores (median per sample, from /proc/stat): the \
                             machine was shared, and its workers got what was left; measure on a quieter machine.",
                            head(r),
                            others(r)
                        ),
                        Cause::Placement => format!(
                            "{}: its workers mostly shared one core. The kernel had not spread them before the \
                             sample ended; samples this short measure thread placement more than parallel speed.",
                            head(r)
                        ),
                        _ => format!(
                            "{}, and other processes used little CPU: its workers mostly shared one core or waited \
                             for each other.",
                            head(r)
                        ),
                    },
                )
            })
            .collect();
        let busy_list: Vec<String> = rows.iter().map(|r| format!("{:.2}", r.cpu_utilisation)).collect();
        let workers = rows.first().map_or(0, |r| r.workers);
        let same_workers = rows.iter().all(|r| r.workers == workers);
        let grouped = |runners: &[RunnerId]| {
            let with = if same_workers { format!("{workers} workers") } else { "their workers".to_string() };
            let head = format!("{} kept only {} cores busy with {with}", names(runners), names(&busy_list));
            match which {
                Cause::BusyMachine => format!(
                    "{head} while other processes used up to {:.2} cores (median per sample, from /proc/stat): \
                     the machine was shared, and their workers got what was left; measure on a quieter machine.",
                    busy.unwrap_or(0.0)
                ),
                Cause::Placement => format!(
                    "{head}: their workers mostly shared one core. The kernel had not spread them before the \
                     sample ended; samples this short measure thread placement more than parallel speed."
                ),
                _ => format!(
                    "{head}, and other processes used little CPU: their workers mostly shared one core or waited \
                     for each other."
                ),
            }
        };
        notes.extend(per_runner(which, items, grouped));
    }
    notes
}

/// Samples whose workers were denied CPU they could have used (see
/// [`crate::runner::Sample::preempted`]), per runner.
fn preempted_note(case: &CaseReport, cores: usize) -> Option<Note> {
    let rows: Vec<&RunnerRow> = case.rows.iter().filter(|r| r.preempted_samples > 0).collect();
    if rows.is_empty() {
        return None;
    }
    let preempted: Vec<String> =
        rows.iter().map(|r| format!("{} {} of {}", r.runner, r.preempted_samples, r.wall_ms.n)).collect();
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
    Some(Note {
        runners: rows.iter().map(|r| r.runner).collect(),
        ..Note::case(
            Cause::Preempted,
            format!(
                "Preempted samples ({why}): {}; treat their times with care, or measure on a quieter machine or \
                 with --pin.",
                preempted.join(", ")
            ),
        )
    })
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
/// never settled, with the reason the numbers show (their times, or their CPU use):
/// one note per reason, naming its runners.
fn warmup_notes(case: &CaseReport, settings: &SettingsRecord, warmup: &[WarmUp]) -> Vec<Note> {
    let mut notes = Vec::new();
    let usual = settings.warmup.max(crate::measure::SETTLE_SAMPLES as u32) + 1;
    let slow: Vec<&RunnerRow> = case.rows.iter().filter(|r| r.warmed_up && r.warmup_samples > usual).collect();
    if !slow.is_empty() {
        let list: Vec<String> = slow
            .iter()
            .map(|r| format!("{} {} samples ({})", r.runner, r.warmup_samples, fmt_ms(r.warmup_ms)))
            .collect();
        notes.push(Note {
            runners: slow.iter().map(|r| r.runner).collect(),
            ..Note::case(
                Cause::SlowWarmUp,
                format!("Warm-up took longer before the samples were steady: {}.", list.join(", ")),
            )
        });
    }
    let why = |usable: usize| {
        let spread = if usable > 1 { " (or the kernel had not spread the workers)" } else { "" };
        format!("other work shared the cores{spread}")
    };
    let cores =
        |got: f64, usable: usize| format!("{got:.1} of its {usable} {}", if usable == 1 { "core" } else { "cores" });
    let took = |w: &WarmUp| format!("{} warm-up samples ({})", w.samples, fmt_ms(ms(w.wall_ns)));
    let unsteady: Vec<&WarmUp> = warmup.iter().filter(|w| !w.steady).collect();
    // The three reasons: short of cores though the times settled; short of cores and
    // unsettled; unsettled times alone.
    let settled_short = |w: &&WarmUp| w.short_of_cores.is_some() && w.times_settled;
    let unsettled_short = |w: &&WarmUp| w.short_of_cores.is_some() && !w.times_settled;
    let counts = |ws: &[&WarmUp]| {
        let mut n: Vec<u32> = ws.iter().map(|w| w.samples).collect();
        n.dedup();
        match n.as_slice() {
            [one] => format!("{one} warm-up samples"),
            _ => format!("warm-up ({} samples)", names(&ws.iter().map(|w| w.samples).collect::<Vec<_>>())),
        }
    };
    let got_list = |ws: &[&WarmUp]| -> String {
        names(
            &ws.iter()
                .filter_map(|w| {
                    w.short_of_cores.map(|(got, usable)| {
                        format!("{} {got:.1} of {usable} {}", w.runner, if usable == 1 { "core" } else { "cores" })
                    })
                })
                .collect::<Vec<_>>(),
        )
    };
    let spread = |ws: &[&WarmUp]| why(ws.iter().filter_map(|w| w.short_of_cores.map(|c| c.1)).max().unwrap_or(1));
    let group: Vec<&WarmUp> = unsteady.iter().copied().filter(settled_short).collect();
    let items = group
        .iter()
        .map(|w| {
            let (got, usable) = w.short_of_cores.unwrap_or((0.0, 1));
            (
                w.runner,
                format!(
                    "{} got {} in {}, under the 75% its workers could use, though its times had settled: {}, and \
                     its times include that.",
                    w.runner,
                    cores(got, usable),
                    took(w),
                    why(usable)
                ),
            )
        })
        .collect();
    notes.extend(per_runner(Cause::WarmUpCores, items, |runners| {
        format!(
            "{} got under the 75% of the cores their workers could use in warm-up ({}), though their times had \
             settled: {}, and their times include that.",
            names(runners),
            got_list(&group),
            spread(&group)
        )
    }));
    let group: Vec<&WarmUp> = unsteady.iter().copied().filter(unsettled_short).collect();
    let items = group
        .iter()
        .map(|w| {
            let (got, usable) = w.short_of_cores.unwrap_or((0.0, 1));
            (
                w.runner,
                format!(
                    "{} was not steady after {}, and got {}: {}; its times may still drift.",
                    w.runner,
                    took(w),
                    cores(got, usable),
                    why(usable)
                ),
            )
        })
        .collect();
    notes.extend(per_runner(Cause::WarmUpCores, items, |runners| {
        format!(
            "{} were not steady after {}, and got {}: {}; their times may still drift.",
            names(runners),
            counts(&group),
            got_list(&group),
            spread(&group)
        )
    }));
    let group: Vec<&WarmUp> = unsteady.iter().copied().filter(|w| w.short_of_cores.is_none()).collect();
    let items = group
        .iter()
        .map(|w| (w.runner, format!("{} was not steady after {}: its times may still drift.", w.runner, took(w))))
        .collect();
    notes.extend(per_runner(Cause::Unsteady, items, |runners| {
        format!("{} were not steady after {}: their times may still drift.", names(runners), counts(&group))
    }));
    notes
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
                stats::Fastest::Tie { best: i, tied } => {
                    let all: Vec<&str> = std::iter::once(i).chain(tied).map(|j| costs[j].0.as_str()).collect();
                    format!("{what} {} tie in the paired 95% interval ({list}).", names(&all))
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
