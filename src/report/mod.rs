//! Reporters: formatting only. Each (`table`, `json`, `csv`, `markdown`, `bmf`) writes a
//! finished [`Report`](crate::result::Report), as [`crate::analysis`] built it or as a
//! result file loaded it, into any `io::Write`, so tests render fixed reports into a
//! `Vec<u8>`. They import nothing but the result model, [`crate::text`] and `fmt`.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::result::{CaseReport, Report, RowResult, RunnerRow, SHORT_SAMPLE_MS};

mod bmf;
mod csv;
pub mod fmt;
mod json;
pub mod layout;
mod markdown;
pub(crate) mod scale;
mod table;
pub mod view;

pub use self::csv::CsvReporter;
pub use bmf::{BmfReporter, GithubBenchmarkReporter};
pub use fmt::{fmt_count, fmt_ms, fmt_pct};
pub use json::JsonReporter;
pub use markdown::MarkdownReporter;
pub use table::{TableReporter, live_lines};
pub use view::{ColorChoice, Detail, Style, Terminal, View};

/// Output formats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// A table for the terminal.
    #[default]
    Table,
    /// The full versioned JSON result.
    Json,
    /// One row per runner and case.
    Csv,
    /// GitHub-flavoured Markdown.
    Markdown,
    /// Bencher Metric Format (JSON), for bencher.dev.
    Bmf,
    /// github-action-benchmark's custom JSON (customSmallerIsBetter).
    GithubBenchmark,
}

impl Format {
    /// The format a file name suggests by its extension, if any.
    pub fn from_extension(path: &std::path::Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "md" | "markdown" => Some(Format::Markdown),
            "txt" => Some(Format::Table),
            _ => None,
        }
    }

    /// The reporter for this format: the one place a reporter is chosen. Only the
    /// table heeds `view`.
    pub fn reporter(self, view: View) -> Box<dyn Reporter> {
        match self {
            Format::Table => Box::new(TableReporter { view }),
            Format::Json => Box::new(JsonReporter),
            Format::Csv => Box::new(CsvReporter),
            Format::Markdown => Box::new(MarkdownReporter),
            Format::Bmf => Box::new(BmfReporter),
            Format::GithubBenchmark => Box::new(GithubBenchmarkReporter),
        }
    }
}

/// Formats a finished report. Reporters compute nothing.
pub trait Reporter {
    /// Writes `report` to `out`.
    fn write(&self, report: &Report, out: &mut dyn Write) -> io::Result<()>;
}

/// A cell of a Markdown table: a `|` would end the cell early.
pub(crate) fn markdown_cell(cell: &str) -> String {
    cell.replace('|', "\\|")
}

/// A string from a result file, safe for a terminal (see [`crate::text`]).
fn safe(s: &str) -> std::borrow::Cow<'_, str> {
    crate::text::terminal_safe(s)
}

/// The header lines shared by the table and Markdown reporters.
pub(crate) fn header_lines(report: &Report) -> Vec<String> {
    let e = &report.environment;
    let s = &report.settings;
    let mut lines = vec![
        format!(
            "machine: {} · {} logical / {} physical cores, {} available · {} {}",
            safe(&e.cpu_model),
            e.logical_cores,
            e.physical_cores,
            e.available_parallelism,
            safe(&e.os),
            safe(e.kernel.as_deref().unwrap_or(""))
        )
        .trim_end()
        .to_string(),
        format!(
            "{}; runners in shuffled order (seed {}), schedule {}",
            match (s.precision_target, s.max_time_s) {
                (Some(p), Some(t)) => {
                    format!(
                        "rounds until each speedup is known to ±{} (at least {}, none after {t} s)",
                        fmt_pct(p),
                        s.rounds
                    )
                }
                _ => format!("{} rounds", s.rounds),
            },
            s.seed,
            s.schedule.name()
        ),
        match s.warmup {
            0 => "no warm-up".to_string(),
            n => format!(
                "warm-up: each runner until its samples are steady, at least {n} sample{}",
                if n == 1 { "" } else { "s" }
            ),
        },
    ];
    if !e.optimised {
        lines.push("build: unoptimised (a debug build): these times say little about release code".to_string());
    }
    lines
}

/// The per-case title line.
pub(crate) fn case_title(case: &CaseReport) -> String {
    let plural = if case.workers == 1 { "" } else { "s" };
    format!("{} · {} tasks · {} worker{plural}", safe(&case.label), case.tasks, case.workers)
}

/// The result cell: `ok`, or the median share of updates lost; when the median sample
/// lost none (some samples lost a few), in how many samples any were lost, never a
/// "lost 0.0% (0)". Longest form first.
fn result_cell(row: &RunnerRow) -> Vec<String> {
    match &row.result {
        RowResult::Verified { .. } => vec!["ok".to_string()],
        RowResult::LostUpdates { median_lost, expected, samples_losing, .. } => {
            let count = (*median_lost * *expected as f64).round() as u64;
            if count == 0 {
                vec![format!("lost in {samples_losing} of {}", row.wall_ms.n)]
            } else {
                vec![
                    format!("lost {} ({})", fmt_pct(*median_lost), fmt_count(count)),
                    format!("lost {}", fmt_pct(*median_lost)),
                ]
            }
        }
    }
}

/// The columns of `case`'s table, with their shorter forms and the order they give way
/// in to fit a width: the range first, then efficiency, throughput and allocations, CPU
/// use, the MAD, the worker count. Runner, median, speedup and result always stay.
/// `fastest` is painted in the runner column. Cells are terminal-safe, in `view`'s
/// characters.
pub(crate) fn case_table(case: &CaseReport, view: &view::View) -> Vec<layout::Column> {
    use layout::Column;
    let text = |s: String| view.chars(&s).into_owned();
    let cells = |f: &dyn Fn(&RunnerRow) -> String| case.rows.iter().map(|r| text(f(r))).collect::<Vec<_>>();
    let forms = |f: &dyn Fn(&RunnerRow) -> Vec<String>| {
        case.rows.iter().map(|r| f(r).into_iter().map(text).collect()).collect::<Vec<Vec<String>>>()
    };
    let fastest = case.answer.as_ref().and_then(|a| a.fastest);
    let mut runner = Column::new("runner", cells(&|r| safe(r.runner.as_str()).into_owned()));
    runner.paints = case.rows.iter().map(|r| (Some(r.runner) == fastest).then_some(view::Paint::Green)).collect();
    let mut columns = vec![
        runner,
        Column::new("workers", cells(&|r| r.workers.to_string())).right().drop_at(6),
        Column {
            cells: forms(&|r| {
                vec![format!("{} ± {}", fmt_ms(r.wall_ms.median), fmt_ms(r.wall_ms.mad)), fmt_ms(r.wall_ms.median)]
            }),
            ..Column::new(&text("wall (median ± MAD)".into()), Vec::new())
        }
        .or_title(&text("median ± MAD".into()))
        .or_title("median")
        .right()
        .shorten_at(5),
        Column::new("min .. max", cells(&|r| format!("{} .. {}", fmt_ms(r.wall_ms.min), fmt_ms(r.wall_ms.max))))
            .right()
            .drop_at(1),
    ];
    if let Some(unit) = case.throughput {
        let rate = |r: &RunnerRow| r.throughput_per_s.map_or_else(|| "-".into(), |v| fmt::fmt_rate(v, unit));
        columns.push(Column::new("throughput", cells(&rate)).right().drop_at(3));
    }
    columns.push(
        Column::new(
            "speedup",
            cells(&|r| r.speedup.map(|s| format!("{:.2}x", s.median)).unwrap_or_else(|| "-".into())),
        )
        .right(),
    );
    columns.push(
        Column::new("efficiency", cells(&|r| r.efficiency.map(fmt_pct).unwrap_or_else(|| "-".into())))
            .or_title("eff.")
            .right()
            .drop_at(2),
    );
    let util = |r: &RunnerRow| {
        if r.wall_ms.median < SHORT_SAMPLE_MS { "-".to_string() } else { format!("{:.2}", r.cpu_utilisation) }
    };
    columns.push(Column::new("CPU util", cells(&util)).or_title("CPU").right().drop_at(4));
    if counts_allocations(case) {
        let allocs = |r: &RunnerRow| match (r.allocations_per_task, r.allocated_bytes_per_task) {
            (Some(n), Some(b)) => format!("{} ({})", fmt_count(n.round() as u64), fmt::fmt_bytes(b)),
            _ => "-".into(),
        };
        columns.push(Column::new("allocs/task", cells(&allocs)).right().drop_at(3));
    }
    if measured_memory(case) {
        columns.push(Column::new("peak RSS", cells(&memory_cell)).right().drop_at(1));
    }
    columns.push(Column { cells: forms(&result_cell), ..Column::new("result", Vec::new()) }.shorten_at(7));
    columns
}

/// Whether the resident peaks of the runners were measured.
fn measured_memory(case: &CaseReport) -> bool {
    case.rows.iter().any(|r| r.peak_rss_mib.is_some() || r.children_peak_mib.is_some())
}

/// A row's resident peak: parbench's, and its worker processes' summed after a `+`.
fn memory_cell(row: &RunnerRow) -> String {
    let mib = |m: f64| fmt::fmt_bytes(m * (1u64 << 20) as f64);
    match (row.peak_rss_mib, row.children_peak_mib) {
        (Some(own), Some(children)) => format!("{} + {} children", mib(own), mib(children)),
        (Some(own), None) => mib(own),
        (None, Some(children)) => format!("{} children", mib(children)),
        (None, None) => "-".into(),
    }
}

/// Whether the program counted allocations (with the counting allocator).
fn counts_allocations(case: &CaseReport) -> bool {
    case.rows.iter().any(|r| r.allocations_per_task.is_some())
}

/// Said once, under the first table with speedups: what the speedup column is.
pub(crate) const SPEEDUP_LEGEND: &str =
    "speedup: the median of the per-round ratios serial time / runner time, not a ratio of the medians shown.";

/// The case's answer, terminal-safe; introduced by its label when `labelled`.
pub(crate) fn answer_line(case: &CaseReport, labelled: bool) -> Option<String> {
    let answer = &case.answer.as_ref()?.text;
    Some(if labelled { format!("{}: {}", safe(&case.label), safe(answer)) } else { safe(answer).into_owned() })
}

/// The verification details and skipped runners, one line each.
pub(crate) fn case_footer(case: &CaseReport) -> Vec<String> {
    let mut lines = Vec::new();
    let verified: Vec<(&str, &str)> = case
        .rows
        .iter()
        .filter_map(|r| match &r.result {
            RowResult::Verified { detail } => Some((r.runner.as_str(), detail.as_str())),
            RowResult::LostUpdates { .. } => None,
        })
        .collect();
    match verified.first() {
        // A detail that holds for every runner, or only for those it names.
        Some((_, detail)) if verified.len() == case.rows.len() => lines.push(format!("verified: {detail}")),
        Some((_, detail)) => {
            let names: Vec<&str> = verified.iter().map(|(n, _)| *n).collect();
            lines.push(format!("verified ({}): {detail}", names.join(", ")));
        }
        None => {}
    }
    for s in &case.skipped {
        lines.push(format!("skipped {}: {}", s.runner, s.reason));
    }
    lines.into_iter().map(|l| safe(&l).into_owned()).collect()
}

/// The case's notes at `detail`, terminal-safe, each with whether it warns: one per
/// cause; with `-v`, the full sentence behind the answer and each runner's own.
pub(crate) fn case_notes(case: &CaseReport, detail: view::Detail) -> Vec<(String, bool)> {
    use crate::result::Cause;
    let mut lines = Vec::new();
    for note in &case.notes {
        let warns = note.cause.warns();
        match detail {
            view::Detail::Quiet => {}
            view::Detail::Normal if note.cause == Cause::Verdict => {}
            view::Detail::Normal => lines.push((safe(&note.text).into_owned(), warns)),
            view::Detail::Verbose => lines.extend(note.full().iter().map(|t| (safe(t).into_owned(), warns))),
        }
    }
    lines
}

/// The report's closing notes, safe for a terminal.
pub(crate) fn notes(report: &Report) -> Vec<String> {
    report.notes.iter().map(|n| safe(n).into_owned()).collect()
}

#[cfg(test)]
pub(crate) mod fixture;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_from_the_result_file_are_escaped_in_the_table_and_markdown() {
        let mut r = fixture::report();
        r.environment.cpu_model = "cpu\u{1b}]0;title\u{7}".into();
        r.cases[0].label = "fib | x\u{1b}[2J".into();
        r.cases[0].notes.push(crate::result::Note::case(crate::result::Cause::Other, "note\u{1b}[31m".into()));
        r.cases[0].answer.as_mut().unwrap().text.push_str("\u{1b}[2J");
        r.notes.push("closing\r\u{1b}[K".into());
        for format in [Format::Table, Format::Markdown] {
            let mut out = Vec::new();
            format.reporter(View { color: true, ..View::default() }).write(&r, &mut out).unwrap();
            let out = String::from_utf8(out).unwrap();
            // With colour on, the only escapes are parbench's own colours.
            let own = ["\u{1b}[0m", "\u{1b}[1m", "\u{1b}[33m", "\u{1b}[1;31m", "\u{1b}[1;32m"];
            assert!(own.iter().any(|c| out.contains(c)) == (format == Format::Table), "{out}");
            let out = own.iter().fold(out, |o, c| o.replace(c, ""));
            assert!(!out.contains('\u{1b}') && !out.contains('\r') && !out.contains('\u{7}'), "{out}");
            assert!(out.contains("cpu\\u{1b}]0;title\\u{7}") && out.contains("fib | x\\u{1b}[2J"), "{out}");
            assert!(out.contains("note\\u{1b}[31m") && out.contains("closing\\r\\u{1b}[K"), "{out}");
        }
    }

    #[test]
    fn format_follows_the_file_extension() {
        use std::path::Path;
        assert_eq!(Format::from_extension(Path::new("a/b.JSON")), Some(Format::Json));
        assert_eq!(Format::from_extension(Path::new("x.md")), Some(Format::Markdown));
        assert_eq!(Format::from_extension(Path::new("x")), None);
    }

    #[test]
    fn the_footer_says_whose_count_held() {
        let r = fixture::report();
        let none = r.cases.iter().find(|c| c.label.contains("sync=none")).unwrap();
        // Serial counted exactly, threads lost updates: the footer says whose count held.
        assert!(case_footer(none).iter().any(|l| l.starts_with("verified (serial): ")), "{:?}", case_footer(none));
    }
}
