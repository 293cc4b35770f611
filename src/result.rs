//! The result model: what a run produced, as written to and read from JSON result
//! files. `compare`, `baseline`, the reporters and users' programs read it.
//!
//! Version 2 (this one) records each case's workload by its registered name with its
//! parameter values as a plain object, so results of users' workloads load like the
//! built-in ones. Version 1 files (closed set of built-in workloads) still load: their
//! tagged parameters become the same plain object. Everything read from a file is
//! bounded: the file's size, and nothing in it sizes an allocation unchecked.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::UsageError;
use crate::fingerprint::Fingerprint;
pub use crate::measure::{RecordedSample, Skipped};
use crate::runner::RunnerKind;
use crate::stats::{RatioSummary, Summary};

/// Version of the JSON result format. Bump on any incompatible change.
pub const SCHEMA_VERSION: u32 = 2;

/// Oldest version [`load`] reads.
pub const OLDEST_SCHEMA_VERSION: u32 = 1;

/// Largest result file read.
pub const MAX_RESULT_BYTES: u64 = 1 << 30;

/// A finished run, ready to be formatted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Result format version ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The command line that produced it.
    pub command: Vec<String>,
    /// Unix time (seconds) when the run finished.
    pub created_unix_s: u64,
    /// Machine and build.
    pub environment: Fingerprint,
    /// How it was measured.
    pub settings: SettingsRecord,
    /// The suite file this run came from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suite: Option<SuiteRecord>,
    /// The scaling analysis of `parbench scale`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<crate::scaling::ScaleAnalysis>,
    /// One entry per workload configuration.
    pub cases: Vec<CaseReport>,
    /// Sentences comparing cases (e.g. counter synchronisation modes).
    pub notes: Vec<String>,
}

/// The suite a result came from: results of different suite configurations are not
/// comparable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuiteRecord {
    /// The suite's name.
    pub name: String,
    /// The file it was read from.
    pub file: String,
    /// Digest of the parsed configuration (comments and layout do not change it).
    pub digest: String,
}

/// The measurement settings, as recorded. For a suite, `workers` is the largest worker
/// count and `runners` the union; each case records its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SettingsRecord {
    /// Workers for parallel runners.
    pub workers: usize,
    /// Runners measured.
    pub runners: Vec<RunnerKind>,
    /// Task assignment for threads and process.
    pub schedule: crate::runner::Schedule,
    /// Least warm-up samples per runner (each warms up until steady).
    pub warmup: u32,
    /// Measured rounds: the count, or with `--rounds auto` the minimum.
    pub rounds: u32,
    /// With `--rounds auto`: the half-width of each speedup's 95% interval aimed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision_target: Option<f64>,
    /// With `--rounds auto`: measured work after which no round started, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_time_s: Option<f64>,
    /// Seed of the runner order.
    pub seed: u64,
    /// Process-runner timeout per sample, seconds.
    pub timeout_s: f64,
    /// Workers were pinned one per core.
    #[serde(default)]
    pub pin: bool,
}

/// Results for one workload configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseReport {
    /// Workload name.
    pub workload: String,
    /// `name (parameters)`.
    pub label: String,
    /// Parameter values, by declared name.
    pub params: serde_json::Map<String, serde_json::Value>,
    /// The result varies by design (a race): reported, never gated by `compare`.
    #[serde(default)]
    pub race: bool,
    /// The tasks mostly wait rather than compute.
    #[serde(default)]
    pub waits: bool,
    /// Rounds measured.
    #[serde(default)]
    pub rounds: u32,
    /// With `--rounds auto`: the widest half-width of the speedups' 95% intervals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<f64>,
    /// How much work one sample does, when the workload says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work: Option<crate::workload::Work>,
    /// Building the workload in parbench (its set-up), outside every sample, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup_ms: Option<f64>,
    /// Tasks per sample.
    pub tasks: usize,
    /// Workers of the parallel runners.
    pub workers: usize,
    /// One row per runner, in report order.
    pub rows: Vec<RunnerRow>,
    /// Runners left out.
    pub skipped: Vec<Skipped>,
    /// Plain sentences saying what the numbers mean.
    pub notes: Vec<String>,
    /// Every measured sample.
    pub samples: Vec<RecordedSample>,
}

/// Derived statistics of one runner on one case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunnerRow {
    /// The runner.
    pub runner: RunnerKind,
    /// Its worker count.
    pub workers: usize,
    /// Wall time, milliseconds.
    pub wall_ms: Summary,
    /// Serial / runner, paired per round.
    pub speedup: Option<RatioSummary>,
    /// Speedup / workers.
    pub efficiency: Option<f64>,
    /// Median of CPU time / wall time per sample (1.0 = one busy core).
    pub cpu_utilisation: f64,
    /// Median CPU time, milliseconds.
    pub cpu_ms: f64,
    /// Process runner: median time until the last child answered, milliseconds.
    pub startup_ms: Option<f64>,
    /// Process runner: median of the longest set-up of any child per sample, paid with
    /// the clock stopped, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_setup_ms: Option<f64>,
    /// One-off set-up outside the samples (rayon pool build), milliseconds.
    pub setup_ms: Option<f64>,
    /// Median load imbalance: busiest worker's busy time / mean busy time.
    pub imbalance: Option<f64>,
    /// Warm-up samples this runner took before measuring.
    #[serde(default)]
    pub warmup_samples: u32,
    /// Their total wall time, ms.
    #[serde(default)]
    pub warmup_ms: f64,
    /// Whether its warm-up samples became steady (else the warm-up limit ended it).
    #[serde(default = "yes")]
    pub warmed_up: bool,
    /// Samples whose workers waited for a CPU more than
    /// [`PREEMPTED_SHARE`](crate::runner::PREEMPTED_SHARE) of workers x wall time.
    #[serde(default)]
    pub preempted_samples: usize,
    /// Samples during which other processes used more than
    /// [`DISTURBED_SHARE`](crate::report::DISTURBED_SHARE) of a core (beyond the
    /// `/proc/stat` rounding).
    pub disturbed_samples: usize,
    /// What the result check found.
    pub result: RowResult,
}

/// The result check of a row, over all its samples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RowResult {
    /// Every sample verified.
    Verified {
        /// What was checked.
        detail: String,
    },
    /// The unsynchronised counter lost updates in some samples.
    LostUpdates {
        /// Increments per sample.
        expected: u64,
        /// Median share of updates lost (0..1).
        median_lost: f64,
        /// Largest share lost.
        max_lost: f64,
        /// Samples that lost at least one update.
        samples_losing: usize,
    },
}

fn yes() -> bool {
    true
}

impl CaseReport {
    /// The parameters in one line: `n=34, tasks=8`.
    pub fn params_line(&self) -> String {
        let text = |v: &serde_json::Value| crate::workload::param::json_text(v).unwrap_or_else(|_| v.to_string());
        self.params.iter().map(|(k, v)| format!("{k}={}", text(v))).collect::<Vec<_>>().join(", ")
    }
}

impl Report {
    /// Writes the report as a JSON result file, atomically: an earlier file at `path`
    /// is replaced only by a complete new one.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let mut bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        bytes.push(b'\n');
        crate::atomic::write(path, &bytes)
    }
}

/// Reads a result file of this or an older schema version. Errors are usage errors
/// (exit 2) naming the path and, for JSON errors, the line and column.
pub fn load(path: &Path) -> Result<Report, UsageError> {
    let shown = path.display();
    let fail = |what: String| UsageError::new(format!("{shown}: {what}"));
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(MAX_RESULT_BYTES + 1).read_to_end(&mut bytes).map_err(|e| fail(e.to_string()))?;
    if bytes.len() as u64 > MAX_RESULT_BYTES {
        return Err(fail(format!("larger than {} GiB: not a parbench result", MAX_RESULT_BYTES >> 30)));
    }
    let mut value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| fail(format!("not a parbench result: line {}, column {}: {e}", e.line(), e.column())))?;
    drop(bytes);
    match value.get("schema_version") {
        Some(serde_json::Value::Number(n)) => match n.as_u64() {
            Some(v) if v > u64::from(SCHEMA_VERSION) => {
                return Err(fail(format!(
                    "schema_version {v} is newer than this parbench understands ({SCHEMA_VERSION}); upgrade parbench"
                )));
            }
            Some(1) => upgrade_v1(&mut value),
            Some(v) if v == u64::from(SCHEMA_VERSION) => {}
            _ => return Err(fail(format!("unsupported schema_version {n}"))),
        },
        Some(other) => return Err(fail(format!("schema_version is {other}, not a number"))),
        None => return Err(fail("not a parbench result (no schema_version)".into())),
    }
    serde_json::from_value(value).map_err(|e| fail(format!("not a parbench result: {e}")))
}

/// Version 1 to 2: parameters were tagged with the workload's name; the counter's
/// `none` mode and `sleep` were known by name.
fn upgrade_v1(value: &mut serde_json::Value) {
    let Some(cases) = value.get_mut("cases").and_then(|c| c.as_array_mut()) else { return };
    for case in cases {
        let Some(case) = case.as_object_mut() else { continue };
        let workload = case.get("workload").and_then(|w| w.as_str()).unwrap_or_default().to_string();
        if let Some(params) = case.get_mut("params").and_then(|p| p.as_object_mut()) {
            params.remove("workload");
            params.remove("generated");
            let race = workload == "counter" && params.get("sync").and_then(|s| s.as_str()) == Some("none");
            case.insert("race".into(), race.into());
        }
        case.insert("waits".into(), (workload == "sleep").into());
    }
}

/// Every `*.json` in `path` if it is a directory, else `path` itself.
pub fn result_files(path: &Path) -> Result<Vec<PathBuf>, UsageError> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| UsageError::new(format!("{}: {e}", path.display())))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(UsageError::new(format!("{}: no *.json result files in this directory", path.display())));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_report_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        let report = crate::report::fixture::report();
        report.save(&path).unwrap();
        assert_eq!(load(&path).unwrap(), report);
    }

    #[test]
    fn version_1_files_still_load() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/compare/base.json");
        let report = load(&path).unwrap();
        assert_eq!(report.schema_version, 1);
        let fib = &report.cases[0];
        assert_eq!(fib.workload, "fib");
        assert!(!fib.params.contains_key("workload"));
        assert!(!fib.race);
        let mut v1 = serde_json::json!({"cases": [
            {"workload": "counter", "params": {"workload": "counter", "tasks": 2, "increments": 5, "sync": "none"}},
            {"workload": "sleep", "params": {"workload": "sleep", "tasks": 2, "ms": 5}},
        ]});
        upgrade_v1(&mut v1);
        assert_eq!(v1["cases"][0]["race"], true);
        assert_eq!(v1["cases"][1]["waits"], true);
        assert_eq!(v1["cases"][1]["params"], serde_json::json!({"tasks": 2, "ms": 5}));
    }

    #[test]
    fn a_string_schema_version_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        std::fs::write(&path, r#"{"schema_version": "1"}"#).unwrap();
        assert!(load(&path).unwrap_err().0.contains("schema_version is \"1\", not a number"));
        std::fs::write(&path, r#"{"schema_version": 99}"#).unwrap();
        assert!(load(&path).unwrap_err().0.contains("newer"));
    }
}
