//! The sentences of `parbench scale`, computed once from the sweep's numbers and stored
//! in the result: per workload one answer (the runner and worker count to use, with
//! its interval), then the per-runner findings with one sentence per cause, naming the
//! runners it applies to, so that a cause shared by every runner is said once.

use crate::report::fmt::{fmt_ms, fmt_pct};
use crate::result::{Best, Fit, Law, RunnerId, RunnerScaling, ScalePoint};

/// The share of the best measured speedup a recommended worker count must reach.
pub const GOOD_ENOUGH: f64 = 0.95;

/// `a`, `a and b`, `a, b and c`.
fn names(runners: &[RunnerId]) -> String {
    let names: Vec<String> = runners.iter().map(|r| r.to_string()).collect();
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// "1 worker" / "3 workers".
fn workers(n: usize) -> String {
    if n == 1 { "1 worker".into() } else { format!("{n} workers") }
}

/// The interval of a point, saying what it covers when that is less than 95%.
fn interval(p: &ScalePoint) -> String {
    match p.coverage {
        Some(c) if c < 0.95 => format!(
            "[{:.2}, {:.2}], the range of {} round(s), which holds the median {:.0}% of the time",
            p.speedup.low,
            p.speedup.high,
            p.rounds,
            c * 100.0
        ),
        _ => format!("95% interval [{:.2}, {:.2}]", p.speedup.low, p.speedup.high),
    }
}

/// The point to recommend: the fewest workers, of any runner, within [`GOOD_ENOUGH`] of
/// the best measured speedup (the higher speedup among equal counts).
pub(super) fn best(points: &[ScalePoint]) -> Option<Best> {
    let finite = || points.iter().filter(|p| p.speedup.estimate.is_finite());
    let top = finite().max_by(|a, b| a.speedup.estimate.total_cmp(&b.speedup.estimate))?;
    let chosen = finite()
        .filter(|p| p.speedup.estimate >= GOOD_ENOUGH * top.speedup.estimate)
        .min_by(|a, b| a.workers.cmp(&b.workers).then(b.speedup.estimate.total_cmp(&a.speedup.estimate)))?;
    Some(Best {
        runner: chosen.runner,
        workers: chosen.workers,
        speedup: chosen.speedup,
        coverage: chosen.coverage,
        best_runner: top.runner,
        best_workers: top.workers,
        best_speedup: top.speedup.estimate,
    })
}

/// The one-line answer for a workload, from [`best`]. `cpu_cores`: the available cores,
/// when the work is CPU-bound (its speedup cannot truly pass them).
pub(super) fn answer(
    best: &Best,
    points: &[ScalePoint],
    runners: &[RunnerScaling],
    cpu_cores: Option<usize>,
) -> String {
    let chosen = points.iter().find(|p| p.runner == best.runner && p.workers == best.workers);
    let shown = chosen.map(interval).unwrap_or_default();
    if best.best_speedup <= 1.0 {
        return format!(
            "No parallel runner beat serial at any worker count in the median: the best, {} with {}, reached \
             {:.2}x ({shown}); run this work serially.",
            best.runner,
            workers(best.workers),
            best.speedup.estimate
        );
    }
    let mut s =
        format!("Use {} with {}: {:.2}x serial ({shown})", best.runner, workers(best.workers), best.speedup.estimate);
    if (best.runner, best.workers) != (best.best_runner, best.best_workers) {
        s.push_str(&format!(
            ", {:.0}% of the best measured, {:.2}x ({} with {})",
            100.0 * best.speedup.estimate / best.best_speedup,
            best.best_speedup,
            best.best_runner,
            workers(best.best_workers)
        ));
    }
    if best.speedup.low <= 1.0 {
        s.push_str("; its interval reaches 1x, so more rounds would tell whether it beats serial at all");
    }
    // Past the cores, CPU-bound work was not faster: its many workers took a larger
    // share of a machine other processes were using than serial's one thread did.
    if let Some(cores) = cpu_cores.filter(|&c| best.speedup.estimate > c as f64) {
        s.push_str(&format!(
            "; but CPU-bound work cannot truly pass {cores}x on {cores} cores: on a machine other processes \
             use, more workers win a larger share of the CPU than serial's one thread, so measure on a quieter \
             machine"
        ));
    }
    let close: Vec<RunnerId> = runners
        .iter()
        .filter(|r| r.runner != best.runner)
        .filter(|r| {
            points.iter().any(|p| {
                p.runner == r.runner
                    && p.workers <= best.workers
                    && p.speedup.estimate >= GOOD_ENOUGH * best.best_speedup
            })
        })
        .map(|r| r.runner)
        .collect();
    if !close.is_empty() {
        s.push_str(&format!(
            "; {} {} as close to the best with as few workers",
            names(&close),
            if close.len() == 1 { "comes" } else { "come" }
        ));
    }
    s.push('.');
    s
}

/// R² and the degrees of freedom behind it. With one point to spare, a model passes
/// close to the points whatever it is, so its R² says little: said so.
fn goodness(r2: f64, dof: usize) -> String {
    if dof <= 1 { format!("R² {r2:.2} on {dof} dof, which says little") } else { format!("R² {r2:.2}, {dof} dof") }
}

/// The models of one runner, in words: what was fitted, on which points, and what is
/// extrapolation.
pub(super) fn fit_sentence(runner: RunnerId, fit: &Fit) -> String {
    let law = match fit.serial.law {
        Law::Amdahl => "Amdahl",
        Law::Gustafson => "Gustafson (scaled speedup)",
    };
    let mut s = format!(
        "{runner}: {law} serial fraction {:.1}% ({})",
        fit.serial.serial_fraction * 100.0,
        goodness(fit.serial.r2, fit.serial.dof)
    );
    match fit.usl {
        Some(u) => {
            s.push_str(&format!("; USL σ={:.3}, κ={:.4} ({})", u.sigma, u.kappa, goodness(u.r2, u.dof)));
            match (u.peak_workers, u.peak_capacity) {
                (Some(p), Some(c)) if p <= fit.fitted_up_to as f64 => {
                    s.push_str(&format!(", peaking at {:.2}x near {p:.0} workers", c * fit.base_speedup))
                }
                (Some(p), Some(c)) => s.push_str(&format!(
                    ", whose peak of {:.2}x near {p:.0} workers is an extrapolation beyond the fitted range",
                    c * fit.base_speedup
                )),
                _ => s.push_str(", no peak"),
            }
            if u.r2 < 0.5 {
                s.push_str(" (a poor fit: the sweep is noisy or the runner does not follow the model)");
            }
        }
        None => s.push_str("; no USL: it needs 3 worker counts above 1"),
    }
    s.push_str(&format!("; fitted on {} worker count(s) from 2 to {}", fit.points, fit.fitted_up_to));
    if (fit.base_speedup - 1.0).abs() >= 0.005 {
        s.push_str(&format!(", relative to its own 1-worker speedup of {:.2}x", fit.base_speedup));
    }
    s.push('.');
    s
}

/// Groups `runners` by `key`, in order of first appearance.
fn grouped<K: PartialEq>(
    runners: &[RunnerScaling],
    key: impl Fn(&RunnerScaling) -> Option<K>,
) -> Vec<(K, Vec<RunnerId>)> {
    let mut groups: Vec<(K, Vec<RunnerId>)> = Vec::new();
    for r in runners {
        let Some(k) = key(r) else { continue };
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, members)) => members.push(r.runner),
            None => groups.push((k, vec![r.runner])),
        }
    }
    groups
}

/// The per-runner findings of a workload: each runner's fit, then one sentence per
/// cause shared by several runners (no fit and why, the cores' limit), each runner's
/// own recommendation in one line, and the task size that pays back each fixed cost.
/// `useful` is the bound on useful workers of work that declares its compute share,
/// with the cores it was computed for.
pub(super) fn family_notes(
    runners: &[RunnerScaling],
    useful: Option<(f64, f64, usize)>,
    best: Option<&Best>,
) -> Vec<String> {
    let mut notes: Vec<String> =
        runners.iter().filter_map(|r| r.fit.as_ref().map(|f| fit_sentence(r.runner, f))).collect();
    for (why, members) in grouped(runners, |r| r.fit.is_none().then(|| r.no_fit.clone().unwrap_or_default())) {
        let why = if why.is_empty() { String::new() } else { format!(": {why}") };
        notes.push(format!("No fit for {}{why}.", names(&members)));
    }
    for (c, members) in grouped(runners, |r| r.limited_by_cores) {
        notes.push(format!(
            "Beyond {c} workers the {c} available cores limit this CPU-bound work (its speedup cannot truly pass \
             {c}x), so the models and Karp-Flatt of {} stop at {c} workers.",
            names(&members)
        ));
    }
    let own: Vec<String> = runners
        .iter()
        .filter_map(|r| {
            let rec = r.recommendation?;
            Some(if rec.workers == rec.best_workers {
                format!("{} {} ({:.2}x, its best)", r.runner, rec.workers, rec.speedup)
            } else {
                format!(
                    "{} {} ({:.2}x; its best {:.2}x at {})",
                    r.runner, rec.workers, rec.speedup, rec.best_speedup, rec.best_workers
                )
            })
        })
        .collect();
    if own.len() > 1 {
        notes.push(format!(
            "Per runner, the fewest workers within {:.0}% of its own best: {}.",
            GOOD_ENOUGH * 100.0,
            own.join(", ")
        ));
    }
    let paid: Vec<String> =
        runners.iter().filter_map(|r| r.break_even_task_ms.map(|t| format!("{} {}", r.runner, fmt_ms(t)))).collect();
    if !paid.is_empty() {
        notes.push(format!(
            "The fixed cost of each runner at the largest worker count is paid back by tasks of at least: {}.",
            paid.join(", ")
        ));
    }
    if let (Some((share, bound, cores)), Some(b)) = (useful, best) {
        notes.push(format!(
            "Each task computes {} of its time and waits the rest, so up to {:.1} workers per core ({bound:.1} on \
             {cores} core(s)) can be kept useful; the best measured was {} with {}, {:.2}x serial.",
            fmt_pct(share),
            1.0 / share,
            b.best_runner,
            workers(b.best_workers),
            b.best_speedup
        ));
    }
    notes
}

/// What the intervals are, under the tables: order statistics, and what a `*` means.
pub(super) fn interval_note(points: &[&ScalePoint]) -> String {
    let mut s = "Intervals: 95%, order statistics of the paired ratios (distribution-free).".to_string();
    let short = points.iter().filter(|p| p.coverage.is_some_and(|c| c < 0.95)).min_by_key(|p| p.rounds);
    if let Some(p) = short {
        s.push_str(&format!(
            " * fewer than 6 rounds: the range of the ratios, which holds the median only {:.0}% of the time at {} \
             round(s); measure more rounds.",
            p.coverage.unwrap_or(0.0) * 100.0,
            p.rounds
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::{Interval, Recommendation, SerialFit, UslFit};

    fn scaling(name: &'static str, fit: Option<Fit>) -> RunnerScaling {
        RunnerScaling {
            runner: RunnerId::new(name),
            no_fit: fit.is_none().then(|| {
                "too few points to fit: 1 worker count(s) above 1 where the models apply; a serial fraction \
                 needs 2, the USL 3"
                    .to_string()
            }),
            fit,
            limited_by_cores: None,
            recommendation: None,
            break_even_task_ms: None,
        }
    }

    fn fit(peak: f64, up_to: usize, base: f64) -> Fit {
        Fit {
            points: 3,
            fitted_up_to: up_to,
            base_speedup: base,
            serial: SerialFit { law: Law::Amdahl, serial_fraction: 0.05, r2: 0.98, dof: 2 },
            usl: Some(UslFit {
                sigma: 0.05,
                kappa: 0.01,
                r2: 0.97,
                dof: 1,
                peak_workers: Some(peak),
                peak_capacity: Some(5.0),
            }),
        }
    }

    fn point(runner: &'static str, workers: usize, speedup: f64) -> ScalePoint {
        ScalePoint {
            runner: RunnerId::new(runner),
            workers,
            rounds: 7,
            speedup: Interval { estimate: speedup, low: speedup - 0.05, high: speedup + 0.05 },
            coverage: Some(0.984),
            efficiency: Interval { estimate: speedup / workers as f64, low: 0.0, high: 1.0 },
            karp_flatt: None,
            wall_ms: 1.0,
            cpu_per_worker: None,
            imbalance: None,
            idle_fraction: None,
            overhead_ms: None,
        }
    }

    #[test]
    fn a_cause_every_runner_shares_is_said_once_naming_them() {
        // The old report printed the same "no fit" paragraph once per runner.
        let mut runners: Vec<RunnerScaling> = ["threads", "rayon", "process"].map(|n| scaling(n, None)).into();
        for r in &mut runners {
            r.limited_by_cores = Some(2);
        }
        let notes = family_notes(&runners, None, None);
        let no_fit: Vec<&String> = notes.iter().filter(|n| n.contains("too few points")).collect();
        assert_eq!(no_fit.len(), 1, "{notes:#?}");
        assert!(no_fit[0].starts_with("No fit for threads, rayon and process: too few points to fit"), "{notes:#?}");
        assert_eq!(notes.iter().filter(|n| n.contains("available cores limit")).count(), 1, "{notes:#?}");
        // A runner with its own reason gets its own sentence.
        runners[2].no_fit = Some("other".into());
        let notes = family_notes(&runners, None, None);
        assert!(notes.iter().any(|n| n == "No fit for threads and rayon: too few points to fit: 1 worker count(s) above 1 where the models apply; a serial fraction needs 2, the USL 3."), "{notes:#?}");
        assert!(notes.iter().any(|n| n == "No fit for process: other."), "{notes:#?}");
    }

    #[test]
    fn the_answer_is_the_fewest_workers_of_any_runner_near_the_best_with_its_interval() {
        // The command workload: every runner's advice differed; one answer now.
        let points = vec![
            point("threads", 1, 1.02),
            point("threads", 2, 1.09),
            point("process", 1, 0.80),
            point("process", 2, 1.05),
            point("rayon", 4, 1.10),
        ];
        let runners: Vec<RunnerScaling> = ["threads", "process", "rayon"].map(|n| scaling(n, None)).into();
        let best = best(&points).unwrap();
        assert_eq!((best.runner, best.workers), (RunnerId::new("threads"), 2));
        assert_eq!((best.best_runner, best.best_workers), (RunnerId::new("rayon"), 4));
        let a = answer(&best, &points, &runners, None);
        assert!(
            a.starts_with("Use threads with 2 workers: 1.09x serial (95% interval [1.04, 1.14]), 99% of the best measured, 1.10x (rayon with 4 workers); process comes as close"),
            "{a}"
        );
        let slow = vec![point("threads", 2, 0.9), point("process", 2, 0.7)];
        let a = answer(&best_of(&slow), &slow, &runners, None);
        assert!(a.starts_with("No parallel runner beat serial at any worker count in the median"), "{a}");
    }

    #[test]
    fn a_cpu_bound_speedup_past_the_cores_is_said_to_come_from_a_busy_machine() {
        // A sweep beside other work: process-pool at 8 workers on 2 cores "2.58x", the
        // answer's first words, with no word that 2 cores cannot give it.
        let points = vec![point("process-pool", 2, 1.56), point("process-pool", 8, 2.58)];
        let runners = vec![scaling("process-pool", None)];
        let best = best_of(&points);
        let a = answer(&best, &points, &runners, Some(2));
        assert!(a.starts_with("Use process-pool with 8 workers: 2.58x serial"), "{a}");
        assert!(a.contains("cannot truly pass 2x on 2 cores"), "{a}");
        // Within the cores, or work that waits (no core limit): no such clause.
        assert!(!answer(&best, &points, &runners, Some(4)).contains("truly"));
        assert!(!answer(&best, &points, &runners, None).contains("truly"));
    }

    fn best_of(points: &[ScalePoint]) -> Best {
        best(points).unwrap()
    }

    #[test]
    fn each_runners_own_recommendation_shares_one_line() {
        let mut runners: Vec<RunnerScaling> = ["threads", "process"].map(|n| scaling(n, None)).into();
        runners[0].recommendation =
            Some(Recommendation { workers: 2, speedup: 1.96, best_workers: 4, best_speedup: 2.0 });
        runners[1].recommendation =
            Some(Recommendation { workers: 4, speedup: 1.5, best_workers: 4, best_speedup: 1.5 });
        runners[0].break_even_task_ms = Some(0.02);
        let notes = family_notes(&runners, None, None);
        assert!(notes.iter().any(|n| n == "Per runner, the fewest workers within 95% of its own best: threads 2 (1.96x; its best 2.00x at 4), process 4 (1.50x, its best)."), "{notes:#?}");
        assert!(notes.iter().any(|n| n.ends_with("paid back by tasks of at least: threads 20 µs.")), "{notes:#?}");
    }

    #[test]
    fn a_peak_beyond_the_fitted_range_is_called_an_extrapolation() {
        let beyond = fit_sentence(RunnerId::new("threads"), &fit(9.7, 4, 1.0));
        assert!(beyond.contains("whose peak of 5.00x near 10 workers is an extrapolation"), "{beyond}");
        assert!(
            beyond.contains("(R² 0.98, 2 dof)") && beyond.contains("(R² 0.97 on 1 dof, which says little)"),
            "{beyond}"
        );
        let within = fit_sentence(RunnerId::new("threads"), &fit(3.2, 4, 0.8));
        assert!(within.contains("peaking at 4.00x near 3 workers"), "{within}");
        assert!(within.contains("relative to its own 1-worker speedup of 0.80x"), "{within}");
    }

    #[test]
    fn an_interval_from_too_few_rounds_is_explained() {
        let mut short = point("threads", 2, 1.9);
        (short.rounds, short.coverage) = (3, Some(0.75));
        let mut other = point("threads", 4, 1.9);
        (other.rounds, other.coverage) = (5, Some(0.9375));
        let note = interval_note(&[&short, &other]);
        assert!(note.contains("holds the median only 75% of the time at 3 round(s)"), "{note}");
        assert!(!interval_note(&[&point("threads", 2, 1.9)]).contains('*'));
        let a = answer(&best_of(&[short.clone()]), &[short], &[], None);
        assert!(a.contains("[1.85, 1.95], the range of 3 round(s), which holds the median 75% of the time"), "{a}");
        assert!(!a.contains("reaches 1x"), "{a}");
        let mut wide = point("threads", 2, 1.3);
        wide.speedup.low = 0.95;
        let a = answer(&best_of(&[wide.clone()]), &[wide], &[], None);
        assert!(a.contains("its interval reaches 1x, so more rounds would tell"), "{a}");
    }

    #[test]
    fn work_that_declares_its_compute_share_is_told_its_bound() {
        let points = vec![point("threads", 8, 7.5)];
        let best = best_of(&points);
        let notes = family_notes(&[scaling("threads", None)], Some((0.2, 10.0, 2)), Some(&best));
        assert!(
            notes.iter().any(|n| n.starts_with("Each task computes 20.0% of its time and waits the rest, so up to 5.0 workers per core (10.0 on 2 core(s))")
                && n.ends_with("the best measured was threads with 8 workers, 7.50x serial.")),
            "{notes:#?}"
        );
    }
}
