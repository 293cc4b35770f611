//! The scale section of the table, Markdown and CSV reporters: per workload, a row
//! per (runner, workers) with intervals, Karp-Flatt, load balance and overhead; the
//! scaling fits stored in the result, put in sentences that say what was computed and
//! what is extrapolation; and a compact text plot for the terminal.

use std::io::{self, Write};

use super::fmt_ms;
use crate::result::{FamilyScaling, Fit, Law, RunnerId, RunnerScaling, ScaleAnalysis, ScalePoint};

/// Column titles of the sweep table.
pub(crate) const COLUMNS: [&str; 8] =
    ["runner", "workers", "speedup [95% CI]", "efficiency [95% CI]", "Karp-Flatt", "imbalance", "idle", "overhead"];

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map(f).unwrap_or_else(|| "-".into())
}

/// Whether a cell's interval covers less than 95%: the range of too few ratios.
fn short_of_95(p: &ScalePoint) -> bool {
    p.coverage.is_some_and(|c| c < 0.95)
}

/// Cells of one sweep row; an interval that covers less than 95% is marked `*`.
pub(crate) fn cells(p: &ScalePoint) -> Vec<String> {
    let mark = if short_of_95(p) { "*" } else { "" };
    vec![
        p.runner.as_str().to_string(),
        p.workers.to_string(),
        format!("{:.2}x [{:.2}, {:.2}]{mark}", p.speedup.estimate, p.speedup.low, p.speedup.high),
        format!(
            "{:.0}% [{:.0}, {:.0}]",
            p.efficiency.estimate * 100.0,
            p.efficiency.low * 100.0,
            p.efficiency.high * 100.0
        ),
        opt(p.karp_flatt, |e| format!("{e:.3}")),
        opt(p.imbalance, |i| format!("{i:.2}")),
        opt(p.idle_fraction, |i| format!("{:.0}%", i * 100.0)),
        opt(p.overhead_ms, fmt_ms),
    ]
}

/// The lines above a family's table.
pub(crate) fn heading(a: &ScaleAnalysis, f: &FamilyScaling) -> String {
    let list: Vec<String> = a.workers.iter().map(usize::to_string).collect();
    let kind = if a.weak { "weak scaling: work grows with the workers" } else { "strong scaling: fixed total work" };
    let bound = match (f.cpu_bound, a.cores) {
        (_, 0) => String::new(),
        (true, c) => format!(" · CPU-bound, {c} cores available"),
        (false, _) => " · the workload declares that it waits, so the cores do not bound it".to_string(),
    };
    format!("{} · workers {} · {kind}{bound}", crate::text::terminal_safe(&f.label), list.join(","))
}

/// A text plot of speedup against workers: one letter per runner, `.` on the ideal line.
pub(crate) fn text_plot(a: &ScaleAnalysis, f: &FamilyScaling, out: &mut dyn Write) -> io::Result<()> {
    const ROWS: usize = 10;
    const COL: usize = 6;
    let top =
        f.points.iter().map(|p| p.speedup.estimate).fold(1.0f64, f64::max).max(
            a.workers.iter().copied().max().unwrap_or(1).min(f.points.iter().map(|p| p.workers).max().unwrap_or(1))
                as f64,
        );
    let mut grid = vec![vec![' '; a.workers.len() * COL]; ROWS + 1];
    let row_of = |v: f64| ROWS - ((v / top) * ROWS as f64).round().clamp(0.0, ROWS as f64) as usize;
    for (i, &w) in a.workers.iter().enumerate() {
        let x = i * COL + COL / 2;
        let r = row_of(w as f64);
        grid[r][x] = '.';
        for p in f.points.iter().filter(|p| p.workers == w) {
            let mark = p.runner.info().map_or('?', |i| i.symbol);
            let cell = &mut grid[row_of(p.speedup.estimate)][x];
            *cell = if *cell == ' ' || *cell == '.' { mark } else { '*' };
        }
    }
    // The runners this family plotted, each with its mark.
    let mut plotted: Vec<RunnerId> = f.points.iter().map(|p| p.runner).filter(|r| !r.is_reference()).collect();
    plotted.sort();
    plotted.dedup();
    let marks: Vec<String> = plotted.iter().map(|r| format!("{} {r}", r.info().map_or('?', |i| i.symbol))).collect();
    writeln!(out, "speedup ({}, * several, . ideal)", marks.join(", "))?;
    for (r, line) in grid.iter().enumerate() {
        let label = if r % 2 == 0 { format!("{:>6.1}x", top * (ROWS - r) as f64 / ROWS as f64) } else { " ".repeat(7) };
        writeln!(out, "{label} |{}", line.iter().collect::<String>().trim_end())?;
    }
    writeln!(out, "        +{}", "-".repeat(a.workers.len() * COL))?;
    let ticks: String = a.workers.iter().map(|w| format!("{:^width$}", w, width = COL)).collect();
    writeln!(out, "         {}  workers", ticks.trim_end())
}

/// What the intervals are, under the tables: order statistics, and what a `*` means.
pub(crate) fn interval_note(a: &ScaleAnalysis) -> String {
    let mut s = "Intervals: 95%, order statistics of the paired ratios (distribution-free).".to_string();
    let short = a.families.iter().flat_map(|f| &f.points).filter(|p| short_of_95(p)).min_by_key(|p| p.rounds);
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

/// "1 worker gives" / "3 workers give".
fn give(n: usize) -> String {
    if n == 1 { "1 worker gives".into() } else { format!("{n} workers give") }
}

/// R² and the degrees of freedom behind it. With one point to spare, a model passes
/// close to the points whatever it is, so its R² says little: said so.
fn goodness(r2: f64, dof: usize) -> String {
    if dof <= 1 { format!("R² {r2:.2} on {dof} dof, which says little") } else { format!("R² {r2:.2}, {dof} dof") }
}

/// The models of one runner, in words: what was fitted, on which points, and what is
/// extrapolation.
fn fit_sentence(runner: RunnerId, fit: &Fit) -> String {
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

/// The finding for one runner, in a few sentences.
pub(crate) fn summary(r: &RunnerScaling) -> String {
    let mut s = match (&r.fit, &r.no_fit) {
        (Some(f), _) => fit_sentence(r.runner, f),
        (None, Some(why)) => format!("{}: no fit: {why}.", r.runner),
        _ => format!("{}: no fit.", r.runner),
    };
    if let Some(c) = r.limited_by_cores {
        s.push_str(&format!(
            " Beyond {c} workers the {c} available cores limit this CPU-bound work (its speedup cannot truly pass {c}x), \
             so the models and Karp-Flatt stop at {c} workers."
        ));
    }
    if let Some(rec) = r.recommendation {
        if rec.workers == rec.best_workers {
            s.push_str(&format!(" {} the best measured speedup, {:.2}x.", give(rec.workers), rec.speedup));
        } else {
            s.push_str(&format!(
                " {} {:.2}x, {:.0}% of the best measured speedup ({:.2}x at {}).",
                give(rec.workers),
                rec.speedup,
                100.0 * rec.speedup / rec.best_speedup,
                rec.best_speedup,
                rec.best_workers
            ));
        }
    }
    if let Some(t) = r.break_even_task_ms {
        s.push_str(&format!(" Its fixed cost is paid back by tasks of {} or more.", fmt_ms(t)));
    }
    s
}

/// The summaries of a family, one line each.
pub(crate) fn summaries(f: &FamilyScaling) -> Vec<String> {
    f.runners.iter().map(summary).collect()
}

/// CSV rows of the sweep.
pub(crate) fn write_csv(a: &ScaleAnalysis, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "workload,runner,workers,rounds,speedup,speedup_low,speedup_high,efficiency,efficiency_low,efficiency_high,\
         karp_flatt,wall_ms,imbalance,idle_fraction,overhead_ms"
    )?;
    let o = |v: Option<f64>| v.map(|x| format!("{x:.6}")).unwrap_or_default();
    for f in &a.families {
        for p in &f.points {
            writeln!(
                out,
                "\"{}\",{},{},{},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{},{:.6},{},{},{}",
                crate::text::terminal_safe(&f.label).replace('"', "\"\""),
                p.runner,
                p.workers,
                p.rounds,
                p.speedup.estimate,
                p.speedup.low,
                p.speedup.high,
                p.efficiency.estimate,
                p.efficiency.low,
                p.efficiency.high,
                o(p.karp_flatt),
                p.wall_ms,
                o(p.imbalance),
                o(p.idle_fraction),
                o(p.overhead_ms)
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::{Interval, Recommendation, SerialFit, UslFit};

    fn runner(fit: Option<Fit>) -> RunnerScaling {
        RunnerScaling {
            runner: RunnerId::new("threads"),
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

    #[test]
    fn the_recommendation_sentence_says_what_was_computed() {
        let mut r = runner(None);
        r.recommendation = Some(Recommendation { workers: 2, speedup: 1.96, best_workers: 4, best_speedup: 2.0 });
        let s = summary(&r);
        assert!(s.contains("2 workers give 1.96x, 98% of the best measured speedup (2.00x at 4)."), "{s}");
        r.recommendation = Some(Recommendation { workers: 1, speedup: 1.0, best_workers: 1, best_speedup: 1.0 });
        assert!(summary(&r).contains("1 worker gives the best measured speedup, 1.00x."), "{}", summary(&r));
    }

    #[test]
    fn a_peak_beyond_the_fitted_range_is_called_an_extrapolation() {
        let beyond = summary(&runner(Some(fit(9.7, 4, 1.0))));
        assert!(beyond.contains("whose peak of 5.00x near 10 workers is an extrapolation"), "{beyond}");
        assert!(
            beyond.contains("(R² 0.98, 2 dof)") && beyond.contains("(R² 0.97 on 1 dof, which says little)"),
            "{beyond}"
        );
        let within = summary(&runner(Some(fit(3.2, 4, 0.8))));
        assert!(within.contains("peaking at 4.00x near 3 workers"), "{within}");
        assert!(within.contains("relative to its own 1-worker speedup of 0.80x"), "{within}");
    }

    #[test]
    fn an_interval_from_too_few_rounds_is_marked_and_explained() {
        let point = |rounds, coverage| ScalePoint {
            runner: RunnerId::new("threads"),
            workers: 2,
            rounds,
            speedup: Interval { estimate: 1.9, low: 1.8, high: 2.0 },
            coverage: Some(coverage),
            efficiency: Interval { estimate: 0.95, low: 0.9, high: 1.0 },
            karp_flatt: None,
            wall_ms: 1.0,
            cpu_per_worker: None,
            imbalance: None,
            idle_fraction: None,
            overhead_ms: None,
        };
        let family = |points| FamilyScaling { label: "fib".into(), cpu_bound: true, points, runners: Vec::new() };
        let analysis = |points| ScaleAnalysis {
            weak: false,
            workers: vec![2],
            cores: 2,
            bootstrap: 0,
            families: vec![family(points)],
        };
        assert_eq!(cells(&point(3, 0.75))[2], "1.90x [1.80, 2.00]*");
        let note = interval_note(&analysis(vec![point(3, 0.75), point(5, 0.9375)]));
        assert!(note.contains("holds the median only 75% of the time at 3 round(s)"), "{note}");
        assert_eq!(cells(&point(7, 0.984))[2], "1.90x [1.80, 2.00]");
        assert!(!interval_note(&analysis(vec![point(7, 0.984)])).contains('*'));
    }

    #[test]
    fn a_cpu_bound_sweep_beyond_the_cores_says_what_limits_it() {
        let mut r = runner(None);
        r.limited_by_cores = Some(2);
        let s = summary(&r);
        assert!(s.starts_with("threads: no fit: too few points to fit"), "{s}");
        assert!(s.contains("Beyond 2 workers the 2 available cores limit this CPU-bound work"), "{s}");
    }
}
