//! Formats a [`Comparison`]: a terminal table, Markdown for a CI job summary or pull
//! request comment (verdict line first, unchanged rows folded), or JSON.

use std::io::{self, Write};

use comfy_table::{CellAlignment, Table};

use super::{CellResult, Comparison, Verdict};
use crate::report::Format;

const COLUMNS: [&str; 9] =
    ["case", "runner", "metric", "base", "new", "change [99% CI]", "p (Holm)", "threshold", "verdict"];

fn change(c: &CellResult) -> String {
    let pct = |r: f64| format!("{:+.1}%", (r - 1.0) * 100.0);
    format!("{} [{}, {}]", pct(c.ratio), pct(c.ratio_low), pct(c.ratio_high))
}

fn value(c: &CellResult, v: f64) -> String {
    match c.metric {
        super::Metric::Wall => crate::report::fmt_ms(v),
        _ => format!("{v:.3}"),
    }
}

fn fmt_p(p: f64) -> String {
    if p < 0.001 { format!("{p:.0e}") } else { format!("{p:.3}") }
}

fn cells(c: &CellResult) -> Vec<String> {
    vec![
        format!("{} ·{}w", c.case, c.workers),
        c.runner.name().to_string(),
        c.metric.name().to_string(),
        value(c, c.base_median),
        value(c, c.new_median),
        change(c),
        if c.gated { fmt_p(c.p_adjusted) } else { format!("{} (not gated)", fmt_p(c.p)) },
        format!("{:.0}%", c.threshold * 100.0),
        c.verdict.name().to_string(),
    ]
}

/// The one-line summary: the verdict first.
pub fn headline(cmp: &Comparison) -> String {
    let gated = cmp.cells.iter().filter(|c| c.gated).count();
    let regressions: Vec<&CellResult> = cmp.regressions().collect();
    let counts = format!(
        "{gated} gated cells: {} unchanged, {} within noise, {} improved, {} unstable, {} inconclusive",
        cmp.count(Verdict::Unchanged),
        cmp.count(Verdict::WithinNoise),
        cmp.count(Verdict::Improvement),
        cmp.count(Verdict::Unstable),
        cmp.count(Verdict::Inconclusive)
    );
    if regressions.is_empty() {
        format!("no regression: {counts}")
    } else {
        let worst: Vec<String> = regressions
            .iter()
            .take(3)
            .map(|c| format!("{} · {} · {} {}", c.case, c.runner, c.metric.name(), change(c)))
            .collect();
        format!("REGRESSION in {} of {gated} gated cells ({}); {counts}", regressions.len(), worst.join("; "))
    }
}

fn context(cmp: &Comparison) -> Vec<String> {
    let mut lines = vec![format!("base: {} · new: {}", cmp.base_files.join(", "), cmp.new_file)];
    lines.push(if cmp.absolute_gated {
        "identical machines: absolute times are gated too".to_string()
    } else {
        "machines differ: only machine-independent metrics are gated (speedup, CPU inflation, overheads)".to_string()
    });
    if cmp.base_files.len() < 3 {
        lines.push(format!(
            "only {} baseline run(s): run-to-run variation is unknown, so a slow run and a regression look alike; \
             on shared machines compare against a directory of 5 or more runs (parbench baseline update)",
            cmp.base_files.len()
        ));
    }
    lines.extend(cmp.skipped_base.iter().map(|s| format!("baseline left out: {s}")));
    lines
}

fn table(rows: &[&CellResult]) -> Table {
    let mut t = Table::new();
    t.load_preset("  ── ══      ──    ").set_header(COLUMNS);
    for c in rows {
        t.add_row(cells(c));
    }
    for col in 3..8 {
        if let Some(c) = t.column_mut(col) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}

fn markdown_table(out: &mut dyn Write, rows: &[&CellResult]) -> io::Result<()> {
    writeln!(out, "| {} |", COLUMNS.join(" | "))?;
    writeln!(out, "|---|---|---|--:|--:|--:|--:|--:|---|")?;
    for c in rows {
        writeln!(out, "| {} |", cells(c).join(" | "))?;
    }
    Ok(())
}

/// Writes the comparison in `format` (table, markdown or json; csv is refused earlier).
pub fn write(cmp: &Comparison, format: Format, out: &mut dyn Write) -> io::Result<()> {
    let all: Vec<&CellResult> = cmp.cells.iter().collect();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, cmp).map_err(io::Error::other)?;
            writeln!(out)
        }
        Format::Markdown => {
            let mark = if cmp.regressions().next().is_some() { "❌" } else { "✅" };
            writeln!(out, "**parbench compare** {mark} {}\n", headline(cmp))?;
            for line in context(cmp) {
                writeln!(out, "- {line}")?;
            }
            let (quiet, loud): (Vec<&CellResult>, Vec<&CellResult>) =
                all.iter().partition(|c| c.verdict == Verdict::Unchanged);
            if !loud.is_empty() {
                writeln!(out)?;
                markdown_table(out, &loud)?;
            }
            if !quiet.is_empty() {
                writeln!(out, "\n<details><summary>{} unchanged cells</summary>\n", quiet.len())?;
                markdown_table(out, &quiet)?;
                writeln!(out, "\n</details>")?;
            }
            Ok(())
        }
        _ => {
            writeln!(out, "{}", headline(cmp))?;
            for line in context(cmp) {
                writeln!(out, "{line}")?;
            }
            writeln!(out, "{}", table(&all))
        }
    }
}
