//! The terminal table: a header, one table per case, and plain sentences under it.

use std::io::{self, Write};

use super::view::{Detail, Paint, View};
use super::{Reporter, answer_line, case_footer, case_notes, case_table, case_title, header_lines};
use crate::result::{CaseReport, Report};

/// Formats a report as text tables, as `view` says: the answer first, then each case's
/// table and its notes, fitted to the view's width.
pub struct TableReporter {
    /// Width, colour, characters and how much is said.
    pub view: View,
}

impl Reporter for TableReporter {
    fn write(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        let view = &self.view;
        if report.scale.is_none() && view.detail == Detail::Quiet {
            return write_lines(&answers(report, view), out);
        }
        let mut head = vec![format!("parbench {}", crate::text::terminal_safe(&report.environment.parbench_version))];
        for line in header_lines(report) {
            head.extend(view.wrap(&line, 2));
        }
        write_lines(&head, out)?;
        if let Some(a) = &report.scale {
            write_scale(a, view, out)?;
            return write_notes(&super::notes(report), view, out);
        }
        let answers = answers(report, view);
        if !answers.is_empty() {
            writeln!(out)?;
            write_lines(&answers, out)?;
        }
        let mut legend = true;
        for case in &report.cases {
            writeln!(out)?;
            let has_speedup = case.rows.iter().any(|r| r.speedup.is_some());
            write_lines(&case_block(case, view, legend && has_speedup), out)?;
            legend &= !has_speedup;
        }
        write_notes(&super::notes(report), view, out)
    }
}

fn write_lines(lines: &[String], out: &mut dyn Write) -> io::Result<()> {
    lines.iter().try_for_each(|l| writeln!(out, "{l}"))
}

/// What the live view shows of a report of one case measured so far: its answer, then
/// its block (title, table, footer, notes) as the final report will show it.
pub fn live_lines(report: &Report, view: &View) -> Vec<String> {
    let mut lines = answers(report, view);
    for case in &report.cases {
        lines.extend(case_block(case, view, false));
    }
    lines
}

/// The answer of each case, in bold, folded to the width: introduced by the case's
/// label when there are several.
pub(crate) fn answers(report: &Report, view: &View) -> Vec<String> {
    let labelled = report.cases.iter().filter(|c| c.answer.is_some()).count() > 1;
    let mut lines = Vec::new();
    for case in &report.cases {
        if let Some(answer) = answer_line(case, labelled) {
            lines.extend(view.wrap(&answer, 2).iter().map(|l| view.paint(Paint::Bold, l)));
        }
    }
    lines
}

fn write_notes(notes: &[String], view: &View, out: &mut dyn Write) -> io::Result<()> {
    for note in notes {
        writeln!(out)?;
        write_lines(&view.wrap(note, 2), out)?;
    }
    Ok(())
}

/// The scale report (its answer, tables and findings, fitted to the view's width), in
/// the view's characters.
fn write_scale(a: &crate::result::ScaleAnalysis, view: &View, out: &mut dyn Write) -> io::Result<()> {
    let mut text = Vec::new();
    super::scale::write_text(a, view, &mut text)?;
    out.write_all(view.chars(&String::from_utf8_lossy(&text)).as_bytes())
}

/// One case: its title, its table fitted to the width, what the speedup is (`legend`,
/// once), what was verified, and its notes, warnings highlighted. A pure function of
/// the case and the view, so a table can be redrawn as rounds come in.
pub fn case_block(case: &CaseReport, view: &View, legend: bool) -> Vec<String> {
    let mut lines = view.wrap(&case_title(case), 2);
    lines.extend(super::layout::render(&case_table(case, view), view));
    if legend {
        lines.extend(view.wrap(super::SPEEDUP_LEGEND, 2));
    }
    for line in case_footer(case) {
        lines.extend(view.wrap(&line, 2));
    }
    for (note, warns) in case_notes(case, view.detail) {
        let wrapped = view.wrap(&note, 2);
        lines.extend(wrapped.into_iter().map(|l| if warns { view.paint(Paint::Yellow, &l) } else { l }));
    }
    lines
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
        TableReporter { view: View::default() }.write(&report, &mut out).unwrap();
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
            TableReporter { view: View::default() }.write(report, &mut out).unwrap();
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

    fn render(report: &Report, view: View) -> String {
        let mut out = Vec::new();
        TableReporter { view }.write(report, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_line_fits_the_width_and_keeps_runner_median_speedup_and_result() {
        let report = crate::report::fixture::report();
        let full = render(&report, View::default());
        assert!(full.lines().any(|l| l.chars().count() > 80), "the full table is wider than 80");
        for width in [60, 80, 120] {
            let text = render(&report, View { width: Some(width), ..View::default() });
            for line in text.lines() {
                assert!(crate::text::visible_width(line) <= width, "{width}: {line:?}\n{text}");
            }
            for case in &report.cases {
                // The case's own lines: from its title (folded or not) on.
                let title = format!("{} ·", case.label);
                let start = text.lines().position(|l| l.starts_with(&title) && !l.contains(": threads")).unwrap();
                for row in &case.rows {
                    let line = text
                        .lines()
                        .skip(start)
                        .find(|l| l.split_whitespace().next() == Some(row.runner.as_str()) && l.contains(" ms"))
                        .unwrap_or_else(|| panic!("{width}: no row of {}\n{text}", row.runner));
                    let speedup = format!("{:.2}x", row.speedup.unwrap().median);
                    let median = crate::report::fmt_ms(row.wall_ms.median);
                    assert!(line.contains(&speedup) && line.contains(&median), "{width}: {line}");
                    assert!(line.contains("ok") || line.contains("lost 25.0%"), "{width}: {line}");
                }
            }
        }
        // At 80 the range goes first; at 120 everything stays.
        let at80 = render(&report, View { width: Some(80), ..View::default() });
        assert!(!at80.contains("min .. max") && at80.contains("median ± MAD"), "{at80}");
        assert!(render(&report, View { width: Some(120), ..View::default() }).contains("min .. max"));
    }

    #[test]
    fn the_answer_comes_first_and_the_speedup_is_explained_once() {
        let report = crate::report::fixture::report();
        let text = render(&report, View::default());
        let after_header = text.lines().skip_while(|l| !l.starts_with("warm-up:")).nth(2).unwrap();
        assert!(after_header.starts_with("fib (n=34, tasks=8): threads reached 2.00x serial"), "{text}");
        assert_eq!(text.matches("not a ratio of the medians").count(), 1, "{text}");
        // The old table's verdict note sits under the table; now only -v shows it.
        assert!(!text.contains("no runner is named fastest"), "{text}");
        let verbose = render(&report, View { detail: Detail::Verbose, ..View::default() });
        let verbose = verbose.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(verbose.contains("no runner is named fastest and none is said to beat serial"), "{verbose}");
    }

    #[test]
    fn quiet_prints_the_answers_only() {
        let mut report = crate::report::fixture::report();
        let quiet = render(&report, View { detail: Detail::Quiet, ..View::default() });
        let answers: Vec<&str> = quiet.lines().filter(|l| !l.starts_with(' ')).collect();
        assert_eq!(answers.len(), 4, "{quiet}");
        assert!(answers.iter().all(|l| l.contains(": threads reached")), "{quiet}");
        report.cases.truncate(1);
        let one = render(&report, View { detail: Detail::Quiet, ..View::default() });
        assert_eq!(one, "threads reached 2.00x serial (median of 3 round(s); an interval needs 6)\n");
    }

    #[test]
    fn colour_marks_the_answer_the_fastest_runner_and_warnings_and_takes_no_width() {
        let mut report = crate::report::fixture::report();
        report.cases[0].answer.as_mut().unwrap().fastest = Some(crate::result::RunnerId::new("threads"));
        let plain = render(&report, View { width: Some(80), ..View::default() });
        assert!(!plain.contains('\u{1b}'), "no colour unless asked: {plain}");
        let painted = render(&report, View { width: Some(80), color: true, ..View::default() });
        assert!(painted.contains("\u{1b}[1mfib (n=34, tasks=8): threads reached"), "{painted}");
        assert!(painted.contains(" \u{1b}[1;32mthreads\u{1b}[0m "), "{painted}");
        assert!(painted.contains("\u{1b}[33mWithout synchronisation"), "{painted}");
        let widths = |t: &str| t.lines().map(crate::text::visible_width).collect::<Vec<_>>();
        assert_eq!(widths(&painted), widths(&plain));
    }

    #[test]
    fn ascii_style_writes_only_ascii() {
        let report = crate::report::fixture::report();
        let text = render(&report, View { style: crate::report::Style::Ascii, width: Some(80), ..View::default() });
        assert!(text.is_ascii(), "{}", text.chars().filter(|c| !c.is_ascii()).collect::<String>());
        assert!(text.contains("+/-") && text.contains("120 us") && text.contains("-----"), "{text}");
    }

    #[test]
    fn a_counter_row_whose_median_sample_lost_nothing_says_in_how_many_samples() {
        let mut report = crate::report::fixture::report();
        let none = report.cases.iter_mut().find(|c| c.label.contains("sync=none")).unwrap();
        none.rows[1].result = crate::result::RowResult::LostUpdates {
            expected: 2000,
            median_lost: 0.0,
            max_lost: 0.001,
            samples_losing: 1,
        };
        let text = render(&report, View::default());
        assert!(!text.contains("lost 0.0%") && text.contains("lost in 1 of 3"), "{text}");
    }

    #[test]
    fn table_snapshot() {
        let mut out = Vec::new();
        TableReporter { view: View::default() }.write(&crate::report::fixture::report(), &mut out).unwrap();
        insta::assert_snapshot!(String::from_utf8(out).unwrap());
    }
}
