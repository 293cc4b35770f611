//! The scale section of the table, Markdown and CSV reporters: per workload, a row
//! per (runner, workers) with intervals, Karp-Flatt, load balance and overhead; the
//! fits in a sentence each; and a compact text plot for the terminal.

use std::io::{self, Write};

use super::fmt_ms;
use crate::runner::RunnerKind;
use crate::scaling::{FamilyScaling, ScaleAnalysis, ScalePoint};

/// Column titles of the sweep table.
pub(crate) const COLUMNS: [&str; 8] =
    ["runner", "workers", "speedup [95% CI]", "efficiency [95% CI]", "Karp-Flatt", "imbalance", "idle", "overhead"];

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map(f).unwrap_or_else(|| "-".into())
}

/// Cells of one sweep row.
pub(crate) fn cells(p: &ScalePoint) -> Vec<String> {
    vec![
        p.runner.name().to_string(),
        p.workers.to_string(),
        format!("{:.2}x [{:.2}, {:.2}]", p.speedup.estimate, p.speedup.low, p.speedup.high),
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
    format!("{} · workers {} · {kind}", f.label, list.join(","))
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
            let mark = match p.runner {
                RunnerKind::Threads => 't',
                RunnerKind::Rayon => 'r',
                RunnerKind::Process => 'p',
                RunnerKind::Serial => 's',
            };
            let cell = &mut grid[row_of(p.speedup.estimate)][x];
            *cell = if *cell == ' ' || *cell == '.' { mark } else { '*' };
        }
    }
    writeln!(out, "speedup (t threads, r rayon, p process, * several, . ideal)")?;
    for (r, line) in grid.iter().enumerate() {
        let label = if r % 2 == 0 { format!("{:>6.1}x", top * (ROWS - r) as f64 / ROWS as f64) } else { " ".repeat(7) };
        writeln!(out, "{label} |{}", line.iter().collect::<String>().trim_end())?;
    }
    writeln!(out, "        +{}", "-".repeat(a.workers.len() * COL))?;
    let ticks: String = a.workers.iter().map(|w| format!("{:^width$}", w, width = COL)).collect();
    writeln!(out, "         {}  workers", ticks.trim_end())
}

/// The summaries of a family, one line each.
pub(crate) fn summaries(f: &FamilyScaling) -> Vec<String> {
    f.runners.iter().map(|r| r.summary.clone()).collect()
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
                f.label.replace('"', "\"\""),
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
