//! Exports for dashboards people already use: Bencher Metric Format (`bmf`) and the
//! custom JSON of github-action-benchmark (`github-benchmark`, for its
//! `customSmallerIsBetter` tool). One benchmark per (case, runner).

use std::io::{self, Write};

use serde_json::{Map, Value, json};

use super::Reporter;
use crate::result::{CaseReport, Report, RunnerRow};

fn name(case: &CaseReport, row: &RunnerRow) -> String {
    format!("{} · {} · {} workers", case.label, row.runner, row.workers)
}

/// Bencher Metric Format: `{ name: { "latency": {value, lower_value, upper_value}, ... } }`
/// with latency in nanoseconds (Bencher's built-in measure) and speedup as a custom one.
pub struct BmfReporter;

impl Reporter for BmfReporter {
    fn write(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        let mut all = Map::new();
        for case in &report.cases {
            for row in &case.rows {
                let w = &row.wall_ms;
                let mut measures = Map::new();
                measures.insert(
                    "latency".into(),
                    json!({ "value": w.median * 1e6, "lower_value": w.min * 1e6, "upper_value": w.max * 1e6 }),
                );
                if let Some(s) = row.speedup {
                    measures.insert(
                        "speedup".into(),
                        json!({ "value": s.median, "lower_value": s.min, "upper_value": s.max }),
                    );
                }
                all.insert(name(case, row), Value::Object(measures));
            }
        }
        serde_json::to_writer_pretty(&mut *out, &Value::Object(all)).map_err(io::Error::other)?;
        writeln!(out)
    }
}

/// github-action-benchmark's custom format: `[{name, unit, value, range, extra}]`, wall
/// time median in milliseconds (smaller is better).
pub struct GithubBenchmarkReporter;

impl Reporter for GithubBenchmarkReporter {
    fn write(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        let mut entries = Vec::new();
        for case in &report.cases {
            for row in &case.rows {
                let speedup = row.speedup.map(|s| format!("speedup {:.2}x; ", s.median)).unwrap_or_default();
                entries.push(json!({
                    "name": name(case, row),
                    "unit": "ms",
                    "value": row.wall_ms.median,
                    "range": format!("± {:.3}", row.wall_ms.mad),
                    "extra": format!("{speedup}{} samples; median ± MAD", row.wall_ms.n),
                }));
            }
        }
        serde_json::to_writer_pretty(&mut *out, &entries).map_err(io::Error::other)?;
        writeln!(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bmf_has_one_benchmark_per_case_and_runner_in_nanoseconds() {
        let mut out = Vec::new();
        BmfReporter.write(&crate::report::fixture::report(), &mut out).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        let threads = &v["fib (n=34, tasks=8) · threads · 2 workers"];
        assert_eq!(threads["latency"]["value"], 100e6);
        assert_eq!(threads["speedup"]["value"], 2.0);
        assert_eq!(v.as_object().unwrap().len(), 4 + 3 * 2);
    }

    #[test]
    fn github_benchmark_is_a_list_of_named_values() {
        let mut out = Vec::new();
        GithubBenchmarkReporter.write(&crate::report::fixture::report(), &mut out).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        let first = &v.as_array().unwrap()[0];
        assert_eq!(first["name"], "fib (n=34, tasks=8) · serial · 1 workers");
        assert_eq!(first["unit"], "ms");
        assert_eq!(first["value"], 200.0);
    }
}
