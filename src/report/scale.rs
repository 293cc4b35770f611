//! The scale section of the table, Markdown and CSV reporters: per workload, the answer
//! and the findings the analysis stored (printed as they are: no sentence is worded
//! here), a row per (runner, workers) with intervals, Karp-Flatt, load balance and
//! overhead, and a compact text plot for the terminal.

use std::io::{self, Write};

use super::fmt_ms;
use super::layout::{self, Column};
use super::view::View;
use crate::result::{FamilyScaling, RunnerId, ScaleAnalysis, ScalePoint};

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
pub(crate) fn text_plot(a: &ScaleAnalysis, f: &FamilyScaling, width: usize, out: &mut dyn Write) -> io::Result<()> {
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
    for line in crate::text::wrap(&format!("speedup ({}, * several, . ideal)", marks.join(", ")), width, 2) {
        writeln!(out, "{line}")?;
    }
    for (r, line) in grid.iter().enumerate() {
        let label = if r % 2 == 0 { format!("{:>6.1}x", top * (ROWS - r) as f64 / ROWS as f64) } else { " ".repeat(7) };
        writeln!(out, "{label} |{}", line.iter().collect::<String>().trim_end())?;
    }
    writeln!(out, "        +{}", "-".repeat(a.workers.len() * COL))?;
    let ticks: String = a.workers.iter().map(|w| format!("{:^width$}", w, width = COL)).collect();
    writeln!(out, "         {}  workers", ticks.trim_end())
}

/// The sweep table's columns, fitted by [`layout`](super::layout): the runner, its
/// workers and the speedup stay; efficiency (speedup / workers says it) goes first, then
/// idle, imbalance, Karp-Flatt and overhead.
fn sweep_columns(points: &[ScalePoint]) -> Vec<Column> {
    let rows: Vec<Vec<String>> = points.iter().map(cells).collect();
    let col = |i: usize| Column::new(COLUMNS[i], rows.iter().map(|r| r[i].clone()).collect());
    vec![
        col(0),
        col(1).right(),
        col(2).right().wrap(),
        col(3).or_title("efficiency").right().drop_at(1),
        col(4).right().drop_at(4),
        col(5).right().drop_at(3),
        col(6).right().drop_at(2),
        col(7).right().drop_at(5),
    ]
}

/// The scale section of the terminal table: per workload its heading, the answer, the
/// sweep table, the per-runner findings and the text plot; then the notes under all.
/// Everything fits the view's width (the full table for none, sentences folded at
/// [`text_width`](View::text_width)): the least important columns are left out first.
pub(crate) fn write_text(a: &ScaleAnalysis, view: &View, out: &mut dyn Write) -> io::Result<()> {
    let folded = |text: &str, out: &mut dyn Write| -> io::Result<()> {
        for line in view.wrap(&crate::text::terminal_safe(text), 2) {
            writeln!(out, "{line}")?;
        }
        Ok(())
    };
    for f in &a.families {
        writeln!(out)?;
        folded(&heading(a, f), out)?;
        if let Some(answer) = &f.answer {
            folded(answer, out)?;
        }
        for line in layout::render(&sweep_columns(&f.points), view) {
            writeln!(out, "{line}")?;
        }
        for note in &f.notes {
            folded(note, out)?;
        }
        writeln!(out)?;
        text_plot(a, f, view.text_width(), out)?;
    }
    for note in &a.notes {
        writeln!(out)?;
        folded(note, out)?;
    }
    Ok(())
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
    use crate::result::Interval;

    #[test]
    fn an_interval_from_too_few_rounds_is_marked() {
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
        assert_eq!(cells(&point(3, 0.75))[2], "1.90x [1.80, 2.00]*");
        assert_eq!(cells(&point(7, 0.984))[2], "1.90x [1.80, 2.00]");
    }

    /// Three runners at 1, 2, 4 and 8 workers, with the sentences the analysis stores.
    fn sweep() -> ScaleAnalysis {
        let mut points = Vec::new();
        for runner in ["threads", "rayon", "process"] {
            for w in [1usize, 2, 4, 8] {
                let s = (w.min(2) as f64) * 0.97;
                points.push(ScalePoint {
                    runner: RunnerId::new(runner),
                    workers: w,
                    rounds: 7,
                    speedup: Interval { estimate: s, low: s - 0.04, high: s + 0.03 },
                    coverage: Some(0.984),
                    efficiency: Interval {
                        estimate: s / w as f64,
                        low: (s - 0.04) / w as f64,
                        high: (s + 0.03) / w as f64,
                    },
                    karp_flatt: Some(0.015),
                    wall_ms: 51.5,
                    cpu_per_worker: Some(0.97),
                    imbalance: Some(1.04),
                    idle_fraction: Some(0.03),
                    overhead_ms: Some(12.25),
                });
            }
        }
        let family = FamilyScaling {
            label: "fib (n=30, tasks=8)".into(),
            cpu_bound: true,
            points,
            runners: Vec::new(),
            best: None,
            answer: Some("Use threads with 2 workers: 1.94x serial (95% interval [1.90, 1.97]); rayon and process come as close to the best with as few workers.".into()),
            notes: vec!["No fit for threads, rayon and process: too few points to fit: 1 worker count(s) above 1 where the models apply; a serial fraction needs 2, the USL 3.".into()],
        };
        ScaleAnalysis {
            weak: false,
            workers: vec![1, 2, 4, 8],
            cores: 2,
            families: vec![family],
            notes: vec!["Intervals: 95%, order statistics of the paired ratios (distribution-free).".into()],
        }
    }

    #[test]
    fn the_sweep_fits_60_80_and_120_columns_and_keeps_the_answer_and_the_speedups() {
        let render = |width: Option<usize>| {
            let mut out = Vec::new();
            write_text(&sweep(), &View { width, ..View::default() }, &mut out).unwrap();
            String::from_utf8(out).unwrap()
        };
        let full = render(None);
        assert!(full.lines().any(|l| l.chars().count() > 90), "the full table is 97 wide:\n{full}");
        for width in [60, 80, 120] {
            let text = render(Some(width));
            let widest = text.lines().map(|l| l.chars().count()).max().unwrap();
            assert!(widest <= width, "{width} columns, a line of {widest}:\n{text}");
            let lines: Vec<&str> = text.lines().collect();
            let answer = lines.iter().position(|l| l.starts_with("Use threads with 2 workers")).expect("the answer");
            let table = lines.iter().position(|l| l.contains("speedup [95% CI]")).expect("the speedup column");
            assert!(answer < table, "the answer comes first:\n{text}");
            assert!(text.contains("1.94x [1.90, 1.97]") && text.contains("process"), "{text}");
            // Sentences are folded at spaces: no word is cut.
            assert!(text.contains("distribution-free"), "{text}");
        }
        // At 120 columns the whole table fits; what goes first is efficiency, which
        // speedup / workers says.
        assert!(render(Some(120)).contains("efficiency [95% CI]"));
        let narrower = render(Some(90));
        assert!(!narrower.contains("efficiency") && narrower.contains("Karp-Flatt"), "{narrower}");
        assert!(narrower.contains("overhead") && narrower.contains("idle"), "{narrower}");
        assert!(render(Some(60)).contains("workers"));
    }
}
