//! Reporters: formatting only. Each (`table`, `json`, `csv`, `markdown`, `bmf`) writes a
//! finished [`Report`](crate::result::Report), as [`crate::analysis`] built it or as a
//! result file loaded it, into any `io::Write`, so tests render fixed reports into a
//! `Vec<u8>`. They import nothing but the result model, [`crate::text`] and `fmt`.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::result::{CaseReport, Report, RowResult, RunnerRow, SHORT_SAMPLE_MS};

mod bmf;
mod csv;
pub(crate) mod fit;
pub mod fmt;
mod json;
mod markdown;
pub(crate) mod scale;
mod table;

pub use self::csv::CsvReporter;
pub use bmf::{BmfReporter, GithubBenchmarkReporter};
pub use fmt::{fmt_count, fmt_ms, fmt_pct};
pub use json::JsonReporter;
pub use markdown::MarkdownReporter;
pub use table::TableReporter;

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

    /// The reporter for this format: the one place a reporter is chosen.
    pub fn reporter(self) -> Box<dyn Reporter> {
        match self {
            Format::Table => Box::new(TableReporter),
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

/// Cells of one row, shared by the table and Markdown reporters.
pub(crate) fn row_cells(row: &RunnerRow) -> Vec<String> {
    let w = &row.wall_ms;
    vec![
        row.runner.as_str().to_string(),
        row.workers.to_string(),
        format!("{} ± {}", fmt_ms(w.median), fmt_ms(w.mad)),
        format!("{} .. {}", fmt_ms(w.min), fmt_ms(w.max)),
        row.speedup.map(|s| format!("{:.2}x", s.median)).unwrap_or_else(|| "-".into()),
        row.efficiency.map(fmt_pct).unwrap_or_else(|| "-".into()),
        if row.wall_ms.median < SHORT_SAMPLE_MS { "-".to_string() } else { format!("{:.2}", row.cpu_utilisation) },
        match &row.result {
            RowResult::Verified { .. } => "ok".to_string(),
            RowResult::LostUpdates { median_lost, expected, .. } => {
                format!(
                    "lost {} ({})",
                    fmt_pct(*median_lost),
                    fmt_count((*median_lost * *expected as f64).round() as u64)
                )
            }
        },
    ]
}

/// The columns of `case`'s table: [`COLUMNS`], with a throughput column beside the
/// wall time when the workload declares what a sample processes.
pub(crate) fn case_columns(case: &CaseReport) -> Vec<&'static str> {
    let mut columns = COLUMNS.to_vec();
    if case.throughput.is_some() {
        columns.insert(4, "throughput");
    }
    if counts_allocations(case) {
        columns.insert(columns.len() - 1, "allocs/task");
    }
    if measured_memory(case) {
        columns.insert(columns.len() - 1, "peak RSS");
    }
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

/// A row's cells matching [`case_columns`].
pub(crate) fn case_cells(case: &CaseReport, row: &RunnerRow) -> Vec<String> {
    let mut cells = row_cells(row);
    if let Some(unit) = case.throughput {
        cells.insert(4, row.throughput_per_s.map_or_else(|| "-".into(), |r| fmt::fmt_rate(r, unit)));
    }
    if counts_allocations(case) {
        let cell = match (row.allocations_per_task, row.allocated_bytes_per_task) {
            (Some(n), Some(b)) => format!("{} ({})", fmt_count(n.round() as u64), fmt::fmt_bytes(b)),
            _ => "-".into(),
        };
        cells.insert(cells.len() - 1, cell);
    }
    if measured_memory(case) {
        cells.insert(cells.len() - 1, memory_cell(row));
    }
    cells
}

/// Column titles matching [`row_cells`].
pub(crate) const COLUMNS: [&str; 8] =
    ["runner", "workers", "wall (median ± MAD)", "min .. max", "speedup", "efficiency", "CPU util", "result"];

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
    lines.extend(case.notes.iter().cloned());
    lines.into_iter().map(|l| safe(&l).into_owned()).collect()
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
        r.cases[0].notes.push("note\u{1b}[31m".into());
        r.notes.push("closing\r\u{1b}[K".into());
        for format in [Format::Table, Format::Markdown] {
            let mut out = Vec::new();
            format.reporter().write(&r, &mut out).unwrap();
            let out = String::from_utf8(out).unwrap();
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
