//! The terminal table: a header, one table per case, and plain sentences under it.

use std::io::{self, Write};

use comfy_table::{CellAlignment, ContentArrangement, Table};

/// Horizontal rules above, below and under the header only; no rule between rows.
const STYLE: &str = "  ── ══      ──    ";

use super::{COLUMNS, Reporter, case_footer, case_title, header_lines, row_cells};
use crate::result::Report;

/// Formats a report as text tables.
pub struct TableReporter;

impl Reporter for TableReporter {
    fn write(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "parbench {}", crate::text::terminal_safe(&report.environment.parbench_version))?;
        for line in header_lines(report) {
            for part in super::fmt::wrap(&line, width(), 2) {
                writeln!(out, "{part}")?;
            }
        }
        if let Some(a) = &report.scale {
            write_scale(a, out)?;
            return write_notes(&super::notes(report), out);
        }
        for line in &case_blocks(report) {
            writeln!(out)?;
            write!(out, "{line}")?;
        }
        write_notes(&super::notes(report), out)
    }
}

fn write_notes(notes: &[String], out: &mut dyn Write) -> io::Result<()> {
    for note in notes {
        writeln!(out)?;
        for line in super::fmt::wrap(note, width(), 2) {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

fn write_scale(a: &crate::scaling::ScaleAnalysis, out: &mut dyn Write) -> io::Result<()> {
    use super::scale;
    for f in &a.families {
        let mut table = Table::new();
        table.load_preset(STYLE).set_header(scale::COLUMNS);
        for p in &f.points {
            table.add_row(scale::cells(p));
        }
        for col in 1..scale::COLUMNS.len() {
            if let Some(c) = table.column_mut(col) {
                c.set_cell_alignment(CellAlignment::Right);
            }
        }
        writeln!(out, "\n{}\n{table}", scale::heading(a, f))?;
        for line in scale::summaries(f) {
            writeln!(out, "{line}")?;
        }
        writeln!(out)?;
        scale::text_plot(a, f, out)?;
    }
    writeln!(out, "\n{}", scale::interval_note(a))
}

/// The terminal's width when the table goes to one (at most 100 columns), else 100.
fn width() -> usize {
    Table::new().width().map_or(100, |w| usize::from(w).clamp(40, 100))
}

fn case_blocks(report: &Report) -> Vec<String> {
    report
        .cases
        .iter()
        .map(|case| {
            let mut table = Table::new();
            // Fits a narrower terminal by wrapping cells; elsewhere it is left as is.
            table.load_preset(STYLE).set_content_arrangement(ContentArrangement::Dynamic).set_header(COLUMNS);
            for row in &case.rows {
                table.add_row(row_cells(row));
            }
            for col in 1..COLUMNS.len() - 1 {
                if let Some(c) = table.column_mut(col) {
                    c.set_cell_alignment(CellAlignment::Right);
                }
            }
            let mut text = format!("{}\n{table}\n", case_title(case));
            for line in case_footer(case) {
                for part in super::fmt::wrap(&line, width(), 2) {
                    text.push_str(&part);
                    text.push('\n');
                }
            }
            text
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scale_table_prints_the_load_notes_under_it() {
        let mut report = crate::report::fixture::report();
        report.scale = Some(crate::scaling::ScaleAnalysis {
            weak: false,
            workers: vec![1, 2],
            cores: 2,
            bootstrap: 0,
            families: Vec::new(),
        });
        let mut rows = report.cases[0].rows.clone();
        rows[1].preempted_samples = 2;
        report.cases[0].rows = rows;
        report.notes = crate::report::load_notes(&report.cases, &report.environment);
        assert_eq!(report.notes.len(), 1, "{:?}", report.notes);
        let mut out = Vec::new();
        TableReporter.write(&report, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("fib (n=34, tasks=8) at 2 workers: Preempted samples"), "{text}");
    }

    #[test]
    fn table_snapshot() {
        let mut out = Vec::new();
        TableReporter.write(&crate::report::fixture::report(), &mut out).unwrap();
        insta::assert_snapshot!(String::from_utf8(out).unwrap());
    }
}
