//! CSV: one row per (case, runner) with raw numbers, for spreadsheets and scripts.
//! Times are in milliseconds; empty cells mean "not applicable".

use std::io::{self, Write};

use super::Reporter;
use crate::result::{Report, RowResult};

/// Formats a report as CSV.
pub struct CsvReporter;

const HEADER: &str = "workload,params,tasks,runner,workers,samples,wall_median_ms,wall_mad_ms,wall_min_ms,\
wall_max_ms,wall_mean_ms,wall_stddev_ms,speedup_median,speedup_min,speedup_max,efficiency,cpu_utilisation,\
cpu_median_ms,startup_ms,imbalance,disturbed_samples,result,lost_updates_median";

/// A field from the result (a workload name, parameters from a suite file): control
/// characters escaped, as everywhere text from files is shown, then quoted if needed.
fn quote(field: &str) -> String {
    let field = crate::text::terminal_safe(field);
    if field.contains([',', '"', '\n']) { format!("\"{}\"", field.replace('"', "\"\"")) } else { field.into_owned() }
}

fn opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.6}")).unwrap_or_default()
}

impl Reporter for CsvReporter {
    fn write(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        if let Some(a) = &report.scale {
            return super::scale::write_csv(a, out);
        }
        writeln!(out, "{HEADER}")?;
        for case in &report.cases {
            for row in &case.rows {
                let w = &row.wall_ms;
                let (result, lost) = match &row.result {
                    RowResult::Verified { .. } => ("verified", None),
                    RowResult::LostUpdates { median_lost, .. } => ("lost_updates", Some(*median_lost)),
                };
                let fields = [
                    quote(&case.workload),
                    quote(&case.params_line()),
                    case.tasks.to_string(),
                    row.runner.as_str().to_string(),
                    row.workers.to_string(),
                    w.n.to_string(),
                    format!("{:.6}", w.median),
                    format!("{:.6}", w.mad),
                    format!("{:.6}", w.min),
                    format!("{:.6}", w.max),
                    format!("{:.6}", w.mean),
                    format!("{:.6}", w.stddev),
                    opt(row.speedup.map(|s| s.median)),
                    opt(row.speedup.map(|s| s.min)),
                    opt(row.speedup.map(|s| s.max)),
                    opt(row.efficiency),
                    format!("{:.6}", row.cpu_utilisation),
                    format!("{:.6}", row.cpu_ms),
                    opt(row.startup_ms),
                    opt(row.imbalance),
                    row.disturbed_samples.to_string(),
                    result.to_string(),
                    opt(lost),
                ];
                writeln!(out, "{}", fields.join(","))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_in_fields_are_escaped_so_a_row_stays_one_line() {
        assert_eq!(quote("a\r\u{1b}[2Jb"), "a\\r\\u{1b}[2Jb");
        assert_eq!(quote("x,\ny"), "\"x,\\ny\"");
    }

    #[test]
    fn csv_snapshot() {
        let mut out = Vec::new();
        CsvReporter.write(&crate::report::fixture::report(), &mut out).unwrap();
        insta::assert_snapshot!(String::from_utf8(out).unwrap());
    }

    #[test]
    fn every_csv_row_has_as_many_fields_as_the_header() {
        let mut out = Vec::new();
        CsvReporter.write(&crate::report::fixture::report(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let width = HEADER.split(',').count();
        for line in text.lines() {
            // params may be quoted and contain commas; count outside quotes.
            let mut fields = 1;
            let mut quoted = false;
            for ch in line.chars() {
                match ch {
                    '"' => quoted = !quoted,
                    ',' if !quoted => fields += 1,
                    _ => {}
                }
            }
            assert_eq!(fields, width, "{line}");
        }
    }

    #[test]
    fn fields_with_commas_are_quoted() {
        assert_eq!(quote("n=1, tasks=2"), "\"n=1, tasks=2\"");
        assert_eq!(quote("say \"hi\", ok"), "\"say \"\"hi\"\", ok\"");
        assert_eq!(quote("plain"), "plain");
    }
}
