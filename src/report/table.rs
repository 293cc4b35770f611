//! The terminal table: a header, one table per case, and plain sentences under it.

use std::io::{self, Write};

use comfy_table::{CellAlignment, ContentArrangement, Table};

/// Horizontal rules above, below and under the header only; no rule between rows.
const STYLE: &str = "  ── ══      ──    ";

use super::{Reporter, case_cells, case_columns, case_footer, case_title, header_lines};
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

fn write_scale(a: &crate::result::ScaleAnalysis, out: &mut dyn Write) -> io::Result<()> {
    super::scale::write_text(a, super::fit::output_width(), out)
}

/// The terminal's width when the table goes to one, else `COLUMNS` (at most 100
/// columns), else 100.
fn width() -> usize {
    super::fit::output_width().map_or(100, |w| w.clamp(40, 100))
}

fn case_blocks(report: &Report) -> Vec<String> {
    report
        .cases
        .iter()
        .map(|case| {
            let mut table = Table::new();
            // Fits a narrower terminal by wrapping cells; elsewhere it is left as is.
            let columns = case_columns(case);
            table.load_preset(STYLE).set_content_arrangement(ContentArrangement::Dynamic).set_header(&columns);
            for row in &case.rows {
                table.add_row(case_cells(case, row));
            }
            for col in 1..columns.len() - 1 {
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
    fn a_declared_throughput_is_shown_beside_the_wall_time() {
        let mut report = crate::report::fixture::report();
        let case = &mut report.cases[0];
        case.throughput = Some(crate::result::Throughput::Bytes(3 << 30));
        for row in &mut case.rows {
            row.throughput_per_s = Some((3u64 << 30) as f64 / (row.wall_ms.median / 1e3));
        }
        let mut out = Vec::new();
        TableReporter.write(&report, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let header = text.lines().find(|l| l.contains("wall (median")).unwrap();
        assert!(header.find("min .. max").unwrap() < header.find("throughput").unwrap(), "{header}");
        assert!(text.contains(" GiB/s") || text.contains(" MiB/s"), "{text}");
    }

    #[test]
    fn a_measurement_by_an_unoptimised_build_says_so() {
        let mut report = crate::report::fixture::report();
        let text = |report: &Report| {
            let mut out = Vec::new();
            TableReporter.write(report, &mut out).unwrap();
            String::from_utf8(out).unwrap()
        };
        assert!(!text(&report).contains("unoptimised"));
        report.environment.optimised = false;
        assert!(text(&report).contains("build: unoptimised (a debug build)"), "{}", text(&report));
        // Older files, without the field, were optimised builds as far as they say.
        let json = serde_json::to_value(crate::report::fixture::report().environment).unwrap();
        assert!(json.get("optimised").is_none());
        let back: crate::result::Fingerprint = serde_json::from_value(json).unwrap();
        assert!(back.optimised);
    }

    #[test]
    fn table_snapshot() {
        let mut out = Vec::new();
        TableReporter.write(&crate::report::fixture::report(), &mut out).unwrap();
        insta::assert_snapshot!(String::from_utf8(out).unwrap());
    }
}
