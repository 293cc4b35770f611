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
}
