//! The JSON result: a versioned object (`schema_version`) with the environment, the
//! settings and seed, every raw sample and the derived statistics.
//!
//! serde_json writes non-finite floats as `null`; the statistics never produce them,
//! and a test checks the output contains no NaN or infinity either way.

use std::io::{self, Write};

use super::Reporter;
use crate::result::Report;

/// Formats a report as pretty-printed JSON.
pub struct JsonReporter;

impl Reporter for JsonReporter {
    fn write(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, report).map_err(io::Error::other)?;
        writeln!(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::SCHEMA_VERSION;

    #[test]
    fn json_round_trips_and_is_versioned() {
        let report = crate::report::fixture::report();
        let mut out = Vec::new();
        JsonReporter.write(&report, &mut out).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["schema_version"], SCHEMA_VERSION);
        assert_eq!(value["settings"]["seed"], 42);
        assert_eq!(value["cases"][0]["samples"].as_array().unwrap().len(), 12);
        let back: Report = serde_json::from_slice(&out).unwrap();
        assert_eq!(back.cases.len(), report.cases.len());
        assert_eq!(back.cases[0].rows, report.cases[0].rows);
    }

    /// Keys whose value may legitimately be `null` (an absent optional value).
    const OPTIONAL: [&str; 10] = [
        "speedup",
        "efficiency",
        "startup_ms",
        "setup_ms",
        "imbalance",
        "other_cpu_ns",
        "kernel",
        "os_release",
        "git_commit",
        "rayon_num_threads",
    ];

    fn assert_no_stray_null(value: &serde_json::Value, key: &str) {
        match value {
            serde_json::Value::Null => assert!(OPTIONAL.contains(&key), "`{key}` is null: a non-finite float?"),
            serde_json::Value::Array(items) => items.iter().for_each(|v| assert_no_stray_null(v, key)),
            serde_json::Value::Object(map) => map.iter().for_each(|(k, v)| assert_no_stray_null(v, k)),
            _ => {}
        }
    }

    #[test]
    fn degenerate_samples_never_put_nan_or_infinity_in_the_json() {
        let mut report = crate::report::fixture::report();
        // Zero wall times would divide by zero if the statistics were careless.
        for case in &mut report.cases {
            for s in &mut case.samples {
                s.sample.wall_ns = 0;
                s.sample.cpu_ns = 0;
            }
        }
        let measurements: Vec<_> = report
            .cases
            .iter()
            .map(|c| {
                let runners = c.rows.iter().map(|r| r.runner).collect();
                (crate::report::fixture::fib_measurement(runners, c.samples.clone()), Vec::new())
            })
            .collect();
        let rebuilt =
            crate::report::build(measurements, report.settings.clone(), crate::report::fixture::environment(), vec![]);
        let mut out = Vec::new();
        JsonReporter.write(&rebuilt, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("NaN") && !text.contains("inf"), "{text}");
        assert_no_stray_null(&serde_json::from_str(&text).unwrap(), "");
    }
}
