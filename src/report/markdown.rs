//! GitHub-flavoured Markdown: for READMEs, job summaries and pull-request comments.

use std::io::{self, Write};

use super::{Reporter, answer_line, case_footer, case_notes, case_table, case_title, header_lines};
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
                scale::text_plot(a, f, usize::MAX, out)?;
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
        let mut legend = true;
        for case in &report.cases {
            writeln!(out, "\n## {}\n", case_title(case))?;
            if let Some(answer) = answer_line(case, false) {
                writeln!(out, "**{}**\n", escape(&answer))?;
            }
            let columns = case_table(case, &super::View::default());
            let titles: Vec<String> = columns.iter().map(|c| escape(&c.titles[0])).collect();
            writeln!(out, "| {} |", titles.join(" | "))?;
            let align: Vec<&str> = columns.iter().map(|c| if c.right { "--:" } else { "---" }).collect();
            writeln!(out, "|{}|", align.join("|"))?;
            for row in 0..case.rows.len() {
                let cells: Vec<String> = columns.iter().map(|c| escape(&c.cells[row][0])).collect();
                writeln!(out, "| {} |", cells.join(" | "))?;
            }
            writeln!(out)?;
            if legend && case.rows.iter().any(|r| r.speedup.is_some()) {
                writeln!(out, "{}  ", super::SPEEDUP_LEGEND)?;
                legend = false;
            }
            for line in case_footer(case) {
                writeln!(out, "{line}  ")?;
            }
            for (note, _) in case_notes(case, super::Detail::Normal) {
                writeln!(out, "{note}  ")?;
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
