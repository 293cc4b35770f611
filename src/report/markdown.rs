//! GitHub-flavoured Markdown: for READMEs, job summaries and pull-request comments.

use std::io::{self, Write};

use super::{Reporter, case_cells, case_columns, case_footer, case_title, header_lines};
use crate::result::Report;

/// Formats a report as Markdown.
pub struct MarkdownReporter;

fn escape(cell: &str) -> String {
    super::markdown_cell(cell)
}

impl Reporter for MarkdownReporter {
    fn write(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "# parbench {}\n", crate::text::terminal_safe(&report.environment.parbench_version))?;
        for line in header_lines(report) {
            writeln!(out, "- {line}")?;
        }
        if let Some(a) = &report.scale {
            use super::scale;
            for f in &a.families {
                writeln!(out, "\n## {}\n", scale::heading(a, f))?;
                writeln!(out, "| {} |", scale::COLUMNS.join(" | "))?;
                writeln!(out, "|---|--:|--:|--:|--:|--:|--:|--:|")?;
                for p in &f.points {
                    writeln!(out, "| {} |", scale::cells(p).join(" | "))?;
                }
                writeln!(out)?;
                for line in f.answer.iter().chain(&f.notes) {
                    writeln!(out, "{}  ", crate::text::terminal_safe(line))?;
                }
                writeln!(out, "\n```")?;
                scale::text_plot(a, f, out)?;
                writeln!(out, "```")?;
            }
            for note in &a.notes {
                writeln!(out, "\n{}", crate::text::terminal_safe(note))?;
            }
            if !report.notes.is_empty() {
                writeln!(out)?;
                for note in &super::notes(report) {
                    writeln!(out, "{note}  ")?;
                }
            }
            return Ok(());
        }
        for case in &report.cases {
            writeln!(out, "\n## {}\n", case_title(case))?;
            let columns = case_columns(case);
            writeln!(out, "| {} |", columns.join(" | "))?;
            let align: Vec<&str> =
                (0..columns.len()).map(|i| if i == 0 || i == columns.len() - 1 { "---" } else { "--:" }).collect();
            writeln!(out, "|{}|", align.join("|"))?;
            for row in &case.rows {
                let cells: Vec<String> = case_cells(case, row).iter().map(|c| escape(c)).collect();
                writeln!(out, "| {} |", cells.join(" | "))?;
            }
            writeln!(out)?;
            for line in case_footer(case) {
                writeln!(out, "{line}  ")?;
            }
        }
        if !report.notes.is_empty() {
            writeln!(out)?;
            for note in &super::notes(report) {
                writeln!(out, "{note}  ")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_snapshot() {
        let mut out = Vec::new();
        MarkdownReporter.write(&crate::report::fixture::report(), &mut out).unwrap();
        insta::assert_snapshot!(String::from_utf8(out).unwrap());
    }
}
