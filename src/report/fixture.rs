//! The fixture report for reporter tests, read as a result file: `fixture.json` is what
//! `analysis::fixture::report()` builds (a test there keeps it so), so the reporters'
//! tests need nothing but the result model.

use crate::result::Report;

/// A report with a fib case under all runners and three counter cases.
pub fn report() -> Report {
    serde_json::from_str(include_str!("fixture.json")).expect("fixture.json is a current result")
}
