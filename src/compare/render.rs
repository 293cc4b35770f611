//! Formats a [`Comparison`]: a terminal table, Markdown for a CI job summary or pull
//! request comment (verdict line first, unchanged rows folded), or JSON.

use std::io::{self, Write};

use super::{Basis, CellResult, Comparison, Outcome, Verdict};
use crate::report::Format;
use crate::report::layout::Column;
use crate::report::view::{Paint, View};

/// Labels, file names and reasons come from files: escaped before they are shown.
fn safe(s: &str) -> std::borrow::Cow<'_, str> {
    crate::text::terminal_safe(s)
}

/// Why two results cannot be compared, with both fingerprints, for the terminal: in
/// `view`'s characters, folded to its width.
pub fn incomparable(inc: &super::Incomparable, view: &View) -> String {
    let fp = |f: &crate::fingerprint::Fingerprint| {
        format!(
            "{} · {} · {} logical / {} physical cores, {} available · {} {}",
            f.hostname,
            f.cpu_model,
            f.logical_cores,
            f.physical_cores,
            f.available_parallelism,
            f.arch,
            f.kernel.as_deref().unwrap_or("")
        )
    };
    let lines = [
        format!("not comparable: {} (--allow-incomparable compares anyway)", inc.reason),
        format!("  base: {}", fp(&inc.base)),
        format!("  new:  {}", fp(&inc.new)),
    ];
    // The reason's own lines under it; a fingerprint's under its values.
    let indents = [2, 8, 8];
    lines.iter().zip(indents).flat_map(|(l, indent)| view.wrap(&safe(l), indent)).map(|l| l + "\n").collect()
}

/// Column titles; the interval and p columns say what they hold, which depends on the
/// basis of the cells shown.
fn columns(cmp: &Comparison, rows: &[&CellResult]) -> Vec<String> {
    let samples = rows.iter().any(|c| c.basis == Basis::Samples);
    let runs = rows.iter().any(|c| c.basis == Basis::Runs);
    let pairs = rows.iter().any(|c| c.basis == Basis::Pairs);
    let ci = format!("{:.0}% CI", (1.0 - cmp.rules.alpha) * 100.0);
    let (change, p) = match (samples, runs) {
        _ if pairs => (format!("change NEW/BASE [{ci}, paired rounds]"), "p (Holm-adjusted)".to_string()),
        (true, true) => (format!("change NEW/BASE [{ci} | vs runs]"), "p (info)".to_string()),
        (false, true) => ("change NEW/BASE [vs each base run]".to_string(), "p (rank among runs, info)".to_string()),
        _ => (format!("change NEW/BASE [{ci}]"), "p (Holm-adjusted)".to_string()),
    };
    ["case", "runner", "metric", "base", "new"]
        .into_iter()
        .map(String::from)
        .chain([change, p, "threshold".to_string(), "verdict".to_string()])
        .collect()
}

fn pct(r: f64) -> String {
    format!("{:+.1}%", (r - 1.0) * 100.0)
}

/// The estimate and its interval; where the medians beside it say otherwise, their
/// ratio too, marked, so the columns never seem to contradict each other unexplained.
/// Paired rounds too few for an interval have none (the cell keeps its empty `1.0, 1.0`),
/// and say so rather than show `[+0.0%, +0.0%]` around an estimate outside it.
fn change(c: &CellResult) -> String {
    if c.basis == Basis::Pairs && c.ratio_low == c.ratio_high {
        return format!("{} [no CI yet]", pct(c.ratio));
    }
    let shown = format!("{} [{}, {}]", pct(c.ratio), pct(c.ratio_low), pct(c.ratio_high));
    if c.medians_disagree && c.base_median > 0.0 {
        format!("{shown} (medians {}*)", pct(c.new_median / c.base_median))
    } else {
        shown
    }
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

fn verdict(c: &CellResult) -> String {
    let v = match (c.verdict, c.rounds_to_decide) {
        (Verdict::Inconclusive, Some(n)) => format!("INCONCLUSIVE ({n} rounds)"),
        (v, _) => v.name().to_string(),
    };
    if c.unstable { format!("{v} (unstable: CV {:.0}%)", c.cv * 100.0) } else { v }
}

fn cells(c: &CellResult) -> Vec<String> {
    vec![
        format!("{} ·{}w", safe(&c.case), c.workers),
        c.runner.as_str().to_string(),
        c.metric.name().to_string(),
        value(c, c.base_median),
        value(c, c.new_median),
        change(c),
        if c.gated { fmt_p(c.p_adjusted) } else { format!("{} (not gated)", fmt_p(c.p)) },
        format!("+{:.0}%", c.threshold * 100.0),
        verdict(c),
    ]
}

/// The one-line summary: the verdict first.
pub fn headline(cmp: &Comparison) -> String {
    let gated = cmp.gated();
    let (unstable, inconclusive) = (cmp.unstable(), cmp.count(Verdict::Inconclusive));
    let noisy = match unstable {
        0 => String::new(),
        n => format!(
            " ({n} unstable, CV above {:.0}%: judged on their intervals all the same)",
            cmp.rules.unstable_cv * 100.0
        ),
    };
    let counts = format!(
        "{gated} gated cells: {} unchanged, {} within noise, {} improved, {inconclusive} inconclusive{noisy}",
        cmp.count(Verdict::Unchanged),
        cmp.count(Verdict::WithinNoise),
        cmp.count(Verdict::Improvement),
    );
    let decide =
        cmp.rounds_to_decide().map(|n| format!("; about {n} rounds per side would decide")).unwrap_or_default();
    let judged = match cmp.judged() {
        Outcome::Regression => {
            let regressions: Vec<&CellResult> = cmp.regressions().collect();
            let worst: Vec<String> = regressions
                .iter()
                .take(3)
                .map(|c| format!("{} · {} · {} {}", c.case, c.runner, c.metric.name(), change(c)))
                .collect();
            format!("REGRESSION in {} of {gated} gated cells ({}); {counts}", regressions.len(), worst.join("; "))
        }
        Outcome::NothingJudged if gated == 0 => "NOT JUDGED: no cell can be gated".to_string(),
        Outcome::NothingJudged => format!("NOT JUDGED: none of the {gated} gated cells could be decided{decide}"),
        Outcome::NoRegression if 2 * inconclusive > gated => format!(
            "no regression shown, but most gated cells are undecided ({inconclusive} of {gated} inconclusive){decide}; \
             {counts}"
        ),
        Outcome::NoRegression | Outcome::Missing => format!("no regression: {counts}"),
    };
    let missing: Vec<String> = cmp.missing.iter().map(|m| m.to_string()).collect();
    match (cmp.outcome(), missing.len()) {
        (_, 0) => judged,
        (Outcome::Missing, n) => {
            format!("MISSING in NEW: {n} cell(s) the baseline has ({}); of the rest: {judged}", missing.join("; "))
        }
        (_, n) => format!("{judged}; {n} cell(s) missing in NEW, allowed ({})", missing.join("; ")),
    }
}

/// A table row for a case or runner NEW lacks.
fn missing_cells(m: &super::Missing) -> Vec<String> {
    let runner = m.runner.map_or_else(|| "(all)".to_string(), |r| r.as_str().to_string());
    let mut row = vec![format!("{} ·{}w", safe(&m.case), m.workers), runner];
    row.extend(std::iter::repeat_n("-".to_string(), 6));
    row.push("MISSING in NEW".to_string());
    row
}

/// A build of `parbench ab`, in one line: the program, its commit, toolchain and the
/// cores it could use.
fn build(b: &super::Build) -> String {
    let f = &b.environment;
    let commit = f.git_commit.as_deref().unwrap_or("commit unknown");
    let debug = if f.optimised { "" } else { ", NOT optimised" };
    format!(
        "{} (parbench {}, {commit}, {}, {} cores available{debug})",
        b.program, f.parbench_version, f.rustc, f.available_parallelism
    )
}

/// The pairs other processes disturbed, measured again and kept disturbed.
fn remeasured(p: crate::compare::PairCounts) -> String {
    let again =
        format!("{} of {} pairs measured again: other processes used the CPU during them", p.remeasured, p.pairs);
    match p.disturbed {
        0 => format!("{again}; every pair kept is undisturbed"),
        d => format!("{again}; {d} stayed disturbed (the machine was busy; their ratios are noisier)"),
    }
}

fn context(cmp: &Comparison) -> Vec<String> {
    let mut lines = match &cmp.builds {
        Some(builds) => vec![format!("base: {}", build(&builds.base)), format!("new:  {}", build(&builds.new))],
        None => vec![format!("base: {} · new: {}", cmp.base_files.join(", "), cmp.new_file)],
    };
    if let Some(pairs) = cmp.builds.as_ref().map(|b| b.pairs).filter(|p| p.remeasured > 0) {
        lines.push(remeasured(pairs));
    }
    lines.push(if cmp.builds.is_some() {
        "both builds measured in every round, on one machine: absolute times are gated too".to_string()
    } else if cmp.absolute_gated {
        "identical machines: absolute times are gated too".to_string()
    } else {
        "machines differ: only machine-independent metrics are gated (speedup, CPU inflation, overheads)".to_string()
    });
    let confidence = (1.0 - cmp.rules.alpha) * 100.0;
    let gated_samples = cmp.cells.iter().filter(|c| c.gated && c.basis == Basis::Samples).count();
    if cmp.cells.iter().any(|c| c.basis == Basis::Samples) {
        lines.push(format!(
            "judged on pooled samples: NEW/BASE is the Hodges-Lehmann ratio with its {confidence:.0}% Moses interval; \
             a regression is an interval wholly beyond the threshold; p is the exact Mann-Whitney p, Holm-adjusted \
             over {gated_samples} gated cells, shown for information"
        ));
    }
    if let Some(runs) = cmp.cells.iter().filter(|c| c.basis == Basis::Runs).map(|c| c.base_runs).max() {
        lines.push(format!(
            "judged run by run: NEW's median against the centre of the {runs} baseline run medians (the bracket is \
             NEW against the highest and the lowest run median); a regression is beyond the threshold; p is NEW's rank among \
             the runs, which cannot go below 1/{}, shown for information",
            runs + 1
        ));
    }
    let gated_pairs = cmp.cells.iter().filter(|c| c.gated && c.basis == Basis::Pairs).count();
    if cmp.cells.iter().any(|c| c.basis == Basis::Pairs) {
        lines.push(format!(
            "judged on paired rounds: every round measured both builds in a shuffled order; NEW/BASE is the centre \
             of the per-round ratios (the median of their Walsh averages) with its {confidence:.0}% signed-rank \
             interval; a regression is an interval wholly beyond the threshold; p is the Wilcoxon signed-rank p, \
             Holm-adjusted over {gated_pairs} gated cells, shown for information"
        ));
    }
    if cmp.base_files.len() < 3 && cmp.cells.iter().any(|c| c.basis != Basis::Pairs) {
        lines.push(format!(
            "only {} baseline run(s): run-to-run variation is unknown, so a slow run and a regression look alike; \
             on shared machines compare against a directory of 5 or more runs (parbench baseline update)",
            cmp.base_files.len()
        ));
    }
    if cmp.cells.iter().any(|c| c.medians_disagree) {
        lines.push(
            "* the ratio of the medians is far from the change: the samples are not one \
             distribution shifted (several modes, or rounds far off), so the medians alone mislead; the change is \
             the typical NEW/BASE ratio over all pairs of samples, and it decides"
                .to_string(),
        );
    }
    let inconclusive = cmp.count(Verdict::Inconclusive);
    if let (true, Some(n)) = (inconclusive > 0, cmp.rounds_to_decide()) {
        lines.push(format!(
            "{inconclusive} gated cell(s) INCONCLUSIVE: about {n} rounds per side would decide them ({})",
            super::more_rounds(cmp, n)
        ));
    }
    if !cmp.new_only.is_empty() {
        let cells: Vec<String> = cmp.new_only.iter().map(|m| safe(&m.to_string()).into_owned()).collect();
        lines.push(format!("in NEW only, not judged (no baseline run has them): {}", cells.join("; ")));
    }
    lines.extend(cmp.skipped_base.iter().map(|s| format!("baseline left out: {s}")));
    lines
}

/// A verdict's colour: regressions red, improvements green, unstable cells yellow.
fn paint(c: &CellResult) -> Option<Paint> {
    match c.verdict {
        Verdict::Regression => Some(Paint::Red),
        Verdict::Improvement => Some(Paint::Green),
        _ if c.unstable => Some(Paint::Yellow),
        _ => None,
    }
}

/// The terminal table, in `view`'s characters, verdicts coloured when it has colour,
/// fitted to the view's width as far as the columns that stay allow.
fn table(cmp: &Comparison, rows: &[&CellResult], view: &View) -> Vec<String> {
    let all: Vec<Vec<String>> = rows.iter().map(|c| cells(c)).chain(cmp.missing.iter().map(missing_cells)).collect();
    // Each case heads its cells on a line of its own, in place of a column repeating it.
    let cases = rows.iter().map(|c| (&c.case, c.workers)).chain(cmp.missing.iter().map(|m| (&m.case, m.workers)));
    let mut headings: Vec<(usize, String)> = Vec::new();
    for (r, (case, workers)) in cases.enumerate() {
        let unit = if workers == 1 { "worker" } else { "workers" };
        let heading = view.chars(&format!("{} · {workers} {unit}", safe(case))).into_owned();
        if headings.last().is_none_or(|(_, last)| *last != heading) {
            headings.push((r, heading));
        }
    }
    let titles = columns(cmp, rows);
    let columns: Vec<Column> = titles
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, title)| {
            let cells = all.iter().map(|r| view.chars(r.get(i).map_or("", String::as_str)).into_owned()).collect();
            let mut column = Column::new(&view.chars(title), cells);
            if let Some((short, _)) = title.split_once(" [").or_else(|| title.split_once(" (")) {
                column = column.or_title(short);
            }
            // To fit a width, p goes first, then the threshold, then the two medians.
            match i {
                3 | 4 => column.right().drop_at(3),
                5 => column.or_title("change").right().wrap(),
                6 => column.right().drop_at(1),
                7 => column.right().drop_at(2),
                8 => Column { paints: rows.iter().map(|c| paint(c)).collect(), ..column }.wrap(),
                2 => column.wrap(),
                _ => column,
            }
        })
        .collect();
    crate::report::layout::render_grouped(&columns, &headings, view)
}

fn markdown_table(
    cmp: &Comparison,
    out: &mut dyn Write,
    rows: &[&CellResult],
    missing: &[super::Missing],
) -> io::Result<()> {
    let line = |cells: Vec<String>| {
        let cells: Vec<String> = cells.iter().map(|c| crate::report::markdown_cell(c)).collect();
        format!("| {} |", cells.join(" | "))
    };
    writeln!(out, "{}", line(columns(cmp, rows)))?;
    writeln!(out, "|---|---|---|--:|--:|--:|--:|--:|---|")?;
    for c in rows {
        writeln!(out, "{}", line(cells(c)))?;
    }
    for m in missing {
        writeln!(out, "{}", line(missing_cells(m)))?;
    }
    Ok(())
}

/// Writes the comparison in `format` (table, markdown or json; csv is refused earlier);
/// the table as `view` says (colour, characters).
pub fn write(cmp: &Comparison, format: Format, view: &View, out: &mut dyn Write) -> io::Result<()> {
    let all: Vec<&CellResult> = cmp.cells.iter().collect();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, cmp).map_err(io::Error::other)?;
            writeln!(out)
        }
        Format::Markdown => {
            let mark = match cmp.outcome() {
                Outcome::Regression => "❌",
                Outcome::NothingJudged | Outcome::Missing => "⚠️",
                Outcome::NoRegression => "✅",
            };
            let command = if cmp.builds.is_some() { "ab" } else { "compare" };
            writeln!(out, "**parbench {command}** {mark} {}\n", safe(&headline(cmp)))?;
            for line in context(cmp) {
                writeln!(out, "- {}", safe(&line))?;
            }
            let (quiet, loud): (Vec<&CellResult>, Vec<&CellResult>) =
                all.iter().partition(|c| c.verdict == Verdict::Unchanged);
            if !loud.is_empty() || !cmp.missing.is_empty() {
                writeln!(out)?;
                markdown_table(cmp, out, &loud, &cmp.missing)?;
            }
            if !quiet.is_empty() {
                writeln!(out, "\n<details><summary>{} unchanged cells</summary>\n", quiet.len())?;
                markdown_table(cmp, out, &quiet, &[])?;
                writeln!(out, "\n</details>")?;
            }
            Ok(())
        }
        _ => {
            let headline = safe(&headline(cmp)).into_owned();
            // Folded only to a width the view knows: a log keeps its lines whole.
            let fold = |line: &str| match view.width {
                Some(_) => view.wrap(line, 2),
                None => vec![view.chars(line).into_owned()],
            };
            for line in fold(&headline) {
                let shown = match cmp.outcome() {
                    Outcome::Regression => view.paint(Paint::Red, &line),
                    Outcome::NoRegression => view.paint(Paint::Green, &line),
                    Outcome::NothingJudged | Outcome::Missing => view.paint(Paint::Yellow, &line),
                };
                writeln!(out, "{shown}")?;
            }
            // --quiet: the verdict line alone, as run's answer lines.
            if view.detail == crate::report::Detail::Quiet {
                return Ok(());
            }
            for line in context(cmp) {
                fold(&safe(&line)).iter().try_for_each(|l| writeln!(out, "{l}"))?;
            }
            table(cmp, &all, view).iter().try_for_each(|l| writeln!(out, "{l}"))
        }
    }
}
