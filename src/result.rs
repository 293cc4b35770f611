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

pub use crate::analysis::scaling::{
    Best, FamilyScaling, Fit, Interval, Law, Recommendation, RunnerScaling, ScaleAnalysis, ScalePoint, SerialFit,
    UslFit,
};
use crate::error::UsageError;
pub use crate::fingerprint::Fingerprint;
pub use crate::measure::{RecordedSample, Skipped};
pub use crate::runner::RunnerId;
use crate::stats::{RatioSummary, Summary};
pub use crate::workload::Throughput;

/// Version of the JSON result format. Bump on any incompatible change.
pub const SCHEMA_VERSION: u32 = 2;

/// Oldest version [`load`] reads.
pub const OLDEST_SCHEMA_VERSION: u32 = 1;

/// Samples shorter than this (ms) are dominated by fixed costs: their CPU utilisation
/// says little, so reporters do not show it and the notes say why.
pub const SHORT_SAMPLE_MS: f64 = 0.2;

/// Largest result file read.
pub const MAX_RESULT_BYTES: u64 = 1 << 30;

/// A finished run, ready to be formatted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Report {
    /// Result format version ([`SCHEMA_VERSION`]).
    #[serde(deserialize_with = "schema_version")]
    #[schemars(with = "u32")]
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
    pub scale: Option<ScaleAnalysis>,
    /// One entry per workload configuration.
    pub cases: Vec<CaseReport>,
    /// Sentences comparing cases (e.g. counter synchronisation modes).
    pub notes: Vec<String>,
}

/// The suite a result came from: results of different suite configurations are not
/// comparable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SettingsRecord {
    /// Workers for parallel runners.
    pub workers: usize,
    /// Runners measured.
    pub runners: Vec<RunnerId>,
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// Each task's duration by design (a sleep), when the workload declares one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_ms: Option<f64>,
    /// The share of each task's time spent computing by design, the rest waiting, when
    /// the workload declares it (`mixed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute_share: Option<f64>,
    /// Rounds measured.
    #[serde(default)]
    pub rounds: u32,
    /// With `--rounds auto`: the widest half-width of the speedups' 95% intervals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<f64>,
    /// How much work one sample does, when the workload says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work: Option<crate::workload::Work>,
    /// What one sample processes (bytes or elements), when the workload declares it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput: Option<Throughput>,
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
    /// The one-line answer: who is fastest, by how much, or a tie, or that no runner
    /// beat serial (absent in files written before it, and without a parallel runner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Answer>,
    /// What the numbers mean, one note per cause, naming the runners it applies to.
    pub notes: Vec<Note>,
    /// Every measured sample.
    pub samples: Vec<RecordedSample>,
}

/// Derived statistics of one runner on one case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunnerRow {
    /// The runner.
    pub runner: RunnerId,
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
    /// Median of the case's throughput over each sample's wall time, per second (bytes
    /// or elements, as the case's `throughput` says).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput_per_s: Option<f64>,
    /// Median allocations per task, when the program counts them
    /// ([`CountingAlloc`](crate::CountingAlloc)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocations_per_task: Option<f64>,
    /// Median bytes allocated per task, when counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocated_bytes_per_task: Option<f64>,
    /// parbench's resident high-water mark during this runner's samples (the most of
    /// any sample; each sample's mark was reset as it began), MiB, where measured. A
    /// pool or runtime the runner holds across samples is in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_mib: Option<f64>,
    /// The most any of its samples raised parbench's resident set above what it was as
    /// the sample began (what the sample itself made: threads it started, futures,
    /// inputs), MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_rise_mib: Option<f64>,
    /// Process runners: the most of any sample of its worker processes' resident
    /// high-water marks summed, MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub children_peak_mib: Option<f64>,
    /// Process runner: median time until the last child answered, milliseconds.
    pub startup_ms: Option<f64>,
    /// Process runner: median of the longest set-up of any child per sample, paid with
    /// the clock stopped, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_setup_ms: Option<f64>,
    /// Process runner: median time from the end of the timed region until every child
    /// had sent its outputs, freed its set-up and exited, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teardown_ms: Option<f64>,
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
    /// 10% of a core (beyond the
    /// `/proc/stat` rounding).
    pub disturbed_samples: usize,
    /// What the result check found.
    pub result: RowResult,
}

/// The result check of a row, over all its samples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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

/// A runner's id is its name, a string: results name runners a build may lack.
impl schemars::JsonSchema for RunnerId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RunnerId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A runner's name (serial, threads, rayon, process, or one of a build with more runners)"
        })
    }
}

fn yes() -> bool {
    true
}

/// A case's answer in one line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Answer {
    /// The sentence: `rayon is fastest: 1.93x serial [1.88, 1.97]`.
    pub text: String,
    /// The runner named fastest, when the paired intervals name one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fastest: Option<RunnerId>,
}

/// One note of a case: a cause, the runners it applies to and one sentence naming
/// them, with the sentences per runner it stands for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(from = "NoteInFile")]
pub struct Note {
    /// What the note is about.
    pub cause: Cause,
    /// The runners it applies to (empty: the case as a whole).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runners: Vec<RunnerId>,
    /// One sentence, naming the runners.
    pub text: String,
    /// The full sentences it stands for, one per runner; empty when `text` is all of it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub detail: Vec<String>,
}

impl Note {
    /// A note on the case as a whole.
    pub fn case(cause: Cause, text: String) -> Note {
        Note { cause, runners: Vec::new(), text, detail: Vec::new() }
    }

    /// The sentences `-v` shows: the full ones it stands for, or its text.
    pub fn full(&self) -> &[String] {
        if self.detail.is_empty() { std::slice::from_ref(&self.text) } else { &self.detail }
    }
}

/// The causes of notes: each case has at most one note per cause (and variant).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// Said by the workload itself.
    Workload,
    /// What `--rounds auto` reached.
    Precision,
    /// Warm-up took longer than usual.
    SlowWarmUp,
    /// Warm-up ended before the times were steady.
    Unsteady,
    /// Warm-up got under 75% of the cores its workers could use.
    WarmUpCores,
    /// The full sentence behind the answer (shown with `-v`).
    Verdict,
    /// More workers than cores.
    Oversubscribed,
    /// Sleeping tasks and the ideal wall time.
    Sleeping,
    /// Process start-up.
    StartUp,
    /// Building the workload.
    SetUp,
    /// Processes exiting after the clock stopped.
    TearDown,
    /// A pool built once.
    PoolBuild,
    /// Unsynchronised updates lost.
    LostUpdates,
    /// Samples too short to say much.
    ShortSamples,
    /// Fewer cores busy than workers, while other processes used the machine.
    BusyMachine,
    /// Fewer cores busy than workers in short samples: thread placement.
    Placement,
    /// Fewer cores busy than workers on a quiet machine.
    SharedCore,
    /// Workers denied CPU they could have used.
    Preempted,
    /// Samples during which other processes used the CPU.
    Disturbed,
    /// Other processes' CPU use, and all it did to the samples (cores left idle,
    /// preempted and disturbed samples, warm-up short of cores): one note for them,
    /// each as its detail.
    Load,
    /// Peak memory per runner.
    Memory,
    /// Tasks without an async form blocked an async runner's threads.
    Blocking,
    /// A pipeline's bottleneck and throughput bound.
    Pipeline,
    /// The bound on useful workers of work that computes part of its time.
    UsefulWorkers,
    /// A note from a file written before notes had causes.
    Other,
}

impl Cause {
    /// Whether the note warns that the times may mislead (shown highlighted).
    pub fn warns(self) -> bool {
        matches!(
            self,
            Cause::Unsteady
                | Cause::WarmUpCores
                | Cause::Load
                | Cause::LostUpdates
                | Cause::ShortSamples
                | Cause::BusyMachine
                | Cause::Placement
                | Cause::SharedCore
                | Cause::Preempted
                | Cause::Disturbed
        )
    }
}

/// A note as files hold it: a plain sentence (files written before notes had causes),
/// or the note itself.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
enum NoteInFile {
    Text(String),
    Note {
        cause: Cause,
        #[serde(default)]
        runners: Vec<RunnerId>,
        text: String,
        #[serde(default)]
        detail: Vec<String>,
    },
}

impl From<NoteInFile> for Note {
    fn from(n: NoteInFile) -> Note {
        match n {
            NoteInFile::Text(text) => Note::case(Cause::Other, text),
            NoteInFile::Note { cause, runners, text, detail } => Note { cause, runners, text, detail },
        }
    }
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

/// Reads a result file of this or an older schema version, streaming: nothing but
/// the result itself is held in memory. Errors are usage errors (exit 2) naming the
/// path and, for anything wrong inside the file, its line and column.
pub fn load(path: &Path) -> Result<Report, UsageError> {
    let mut report: Report = load_as(path)?;
    if report.schema_version == 1 {
        upgrade_v1(&mut report);
    }
    upgrade_task_ms(&mut report);
    Ok(report)
}

/// Reads the result file at `path` as a `T`: [`Report`], or a type that reads only
/// part of it (`baseline update` reads the fingerprint and checks the samples one at
/// a time). At most [`MAX_RESULT_BYTES`] are read; errors as for [`load`].
pub fn load_as<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, UsageError> {
    let shown = path.display();
    let fail = |what: String| UsageError::new(format!("{shown}: {what}"));
    let too_large = || fail(format!("larger than {} GiB: not a parbench result", MAX_RESULT_BYTES >> 30));
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    if file.metadata().is_ok_and(|m| m.is_file() && m.len() > MAX_RESULT_BYTES) {
        return Err(too_large());
    }
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file).take(MAX_RESULT_BYTES + 1);
    let mut de = serde_json::Deserializer::from_reader(&mut reader);
    let read = T::deserialize(&mut de).and_then(|value| de.end().map(|()| value));
    match read {
        Ok(value) => Ok(value),
        Err(_) if reader.limit() == 0 => Err(too_large()),
        Err(e) if e.is_io() => Err(fail(format!("cannot read it: {e}"))),
        Err(e) => Err(fail(describe(&e))),
    }
}

/// A JSON error as `not a parbench result: line L, column C: what`.
fn describe(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let what = text.strip_suffix(&format!(" at line {} column {}", e.line(), e.column())).unwrap_or(&text);
    let at = format!("line {}, column {}", e.line(), e.column());
    if what.starts_with("missing field `schema_version`") {
        "not a parbench result (no schema_version)".to_string()
    } else if what.starts_with("schema_version ") || what.starts_with("unsupported schema_version") {
        format!("{at}: {what}")
    } else {
        format!("not a parbench result: {at}: {what}")
    }
}

/// Reads `schema_version`, refusing a version this parbench cannot read. It comes
/// first in every file parbench writes, so a newer file is refused by its version,
/// before any field it may have changed.
pub fn schema_version<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    use serde::de::Error;
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => match n.as_u64() {
            Some(v) if v > u64::from(SCHEMA_VERSION) => Err(D::Error::custom(format!(
                "schema_version {v} is newer than this parbench understands ({SCHEMA_VERSION}); upgrade parbench"
            ))),
            Some(v) if v >= u64::from(OLDEST_SCHEMA_VERSION) => Ok(v as u32),
            _ => Err(D::Error::custom(format!("unsupported schema_version {n}"))),
        },
        other => Err(D::Error::custom(format!("schema_version is {other}, not a number"))),
    }
}

/// Version 1 to 2: parameters were tagged with the workload's name; the counter's
/// `none` mode and `sleep` were known by name.
fn upgrade_v1(report: &mut Report) {
    for case in &mut report.cases {
        case.params.remove("workload");
        case.params.remove("generated");
        case.race = case.workload == "counter" && case.params.get("sync").and_then(|s| s.as_str()) == Some("none");
        case.waits = case.workload == "sleep";
    }
}

/// Files written before workloads declared their tasks' duration knew only `sleep`'s,
/// by name: give its cases the duration its parameters say.
fn upgrade_task_ms(report: &mut Report) {
    for case in report.cases.iter_mut().filter(|c| c.task_ms.is_none() && c.workload == "sleep") {
        case.task_ms = case.params.get("ms").and_then(|v| v.as_f64());
    }
}

/// The result files of a path: the path itself, or the distinct regular `*.json`
/// files of a directory.
#[derive(Debug, Default)]
pub struct ResultFiles {
    /// Files to read, sorted by name; each distinct file once.
    pub files: Vec<PathBuf>,
    /// Directory entries left out, and why (one line each).
    pub skipped: Vec<String>,
}

/// Every distinct regular `*.json` file in `path` if it is a directory, else `path`
/// itself (which may be a pipe the user handed over, so it is not checked).
///
/// In a directory, a file reached under two names (a symlink, a hard link) or a copy
/// with the same bytes counts once: each would otherwise weigh as a run of its own.
/// Anything but a regular file (a FIFO, a device, a directory named `x.json`, a
/// dangling link) is skipped with a note: opening a FIFO would block forever.
pub fn result_files(path: &Path) -> Result<ResultFiles, UsageError> {
    if !path.is_dir() {
        return Ok(ResultFiles { files: vec![path.to_path_buf()], skipped: Vec::new() });
    }
    let mut names: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| UsageError::new(format!("{}: {e}", path.display())))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    names.sort();
    let mut found = ResultFiles::default();
    let mut seen: Vec<((u64, u64), u64, PathBuf)> = Vec::new();
    for name in names {
        let shown = name.display();
        match identify(&name) {
            Ok(Some((id, digest))) => {
                if let Some((_, _, first)) = seen.iter().find(|(i, _, _)| *i == id) {
                    found.skipped.push(format!("{shown}: the same file as {}, counted once", first.display()));
                } else if let Some((_, _, first)) = seen.iter().find(|(_, d, _)| *d == digest) {
                    found.skipped.push(format!("{shown}: the same contents as {}, counted once", first.display()));
                } else {
                    seen.push((id, digest, name.clone()));
                    found.files.push(name);
                }
            }
            Ok(None) => found.skipped.push(format!("{shown}: not a regular file")),
            // Another update may have removed it meanwhile: not an error.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                found.skipped.push(format!("{shown}: gone, or a link to nothing"))
            }
            Err(e) => found.skipped.push(format!("{shown}: {e}")),
        }
    }
    if found.files.is_empty() {
        return Err(UsageError::new(format!("{}: no *.json result files in this directory", path.display())));
    }
    Ok(found)
}

/// A regular file's (device, inode) and a digest of its bytes; `None` for anything
/// else. Opened without blocking, and checked once open, so a FIFO never blocks.
fn identify(path: &Path) -> std::io::Result<Option<((u64, u64), u64)>> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    if !std::fs::metadata(path)?.is_file() {
        return Ok(None);
    }
    let mut file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Ok(None);
    }
    let mut buf = vec![0u8; 1 << 16];
    let mut h = FNV_OFFSET;
    loop {
        match file.read(&mut buf)? {
            0 => return Ok(Some(((meta.dev(), meta.ino()), h))),
            n => h = fnv(&buf[..n], h),
        }
    }
}

/// FNV-1a's offset basis: the digest of nothing.
pub(crate) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a over `bytes`, continuing from `h`: a digest of contents (not a secure one;
/// it tells copies apart from other results, nothing more).
pub(crate) fn fnv(bytes: &[u8], mut h: u64) -> u64 {
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::fuzz;

    /// Reads `bytes` as a result file: a result, which then also validates and
    /// compares against a valid one, or a one-line error naming the file; never a
    /// panic, and never more than 16 MiB held at once.
    fn read_any(bytes: &[u8]) -> Result<(), TestCaseError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        std::fs::write(&path, bytes).unwrap();
        let base = vec![("base.json".to_string(), crate::analysis::fixture::report())];
        let (outcome, peak) = fuzz::peak_of(|| match load(&path) {
            Ok(report) => {
                if crate::compare::validate("r.json", &report).is_ok() {
                    let rules = crate::compare::Rules::default();
                    let _ = crate::compare::compare(&base, "r.json", &report, &rules, true);
                }
                Ok(())
            }
            Err(e) => Err(e.0),
        });
        if let Err(message) = outcome {
            prop_assert!(fuzz::one_line(&message), "{message}");
            prop_assert!(message.starts_with(&format!("{}: ", path.display())), "{message}");
        }
        prop_assert!(peak < 16 << 20, "{peak} bytes held at once");
        Ok(())
    }

    fn valid() -> Vec<u8> {
        serde_json::to_vec_pretty(&crate::analysis::fixture::report()).unwrap()
    }

    proptest! {
        #![proptest_config(fuzz::config(150))]

        #[test]
        fn arbitrary_bytes_are_refused_in_one_line(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            read_any(&bytes)?;
        }

        #[test]
        fn mutated_results_are_read_or_refused_in_bounded_memory(m in fuzz::mutations()) {
            read_any(&fuzz::mutate(&valid(), &m))?;
        }
    }

    #[test]
    fn a_saved_report_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        let report = crate::analysis::fixture::report();
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
        let mut v1 = report.clone();
        v1.cases[0].workload = "counter".into();
        v1.cases[0].params = serde_json::json!({"workload": "counter", "tasks": 2, "increments": 5, "sync": "none"})
            .as_object()
            .unwrap()
            .clone();
        v1.cases.push(v1.cases[0].clone());
        v1.cases[1].workload = "sleep".into();
        v1.cases[1].params = serde_json::json!({"workload": "sleep", "tasks": 2, "ms": 5}).as_object().unwrap().clone();
        upgrade_v1(&mut v1);
        assert!(v1.cases[0].race && !v1.cases[0].waits);
        assert!(v1.cases[1].waits && !v1.cases[1].race);
        assert_eq!(serde_json::Value::Object(v1.cases[1].params.clone()), serde_json::json!({"tasks": 2, "ms": 5}));
    }

    #[test]
    fn a_file_with_a_runner_this_build_lacks_loads_and_sorts_after_the_known_ones() {
        // A build with an optional runner (mpi behind a feature) wrote this file; this
        // build has no such runner and must still read, compare and report it.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        let mut report = crate::analysis::fixture::report();
        // (With the feature, this build knows mpi: another id plays its part.)
        let foreign = if cfg!(feature = "mpi") { "gpu" } else { "mpi" };
        let text = serde_json::to_string(&report).unwrap().replace("\"process\"", &format!("\"{foreign}\""));
        assert!(text.contains(&format!("\"{foreign}\"")), "the fixture has process rows to rename");
        std::fs::write(&path, text).unwrap();
        let loaded = load(&path).unwrap();
        let mpi = RunnerId::intern(foreign);
        assert!(mpi.info().is_none() && !mpi.is_reference() && !mpi.processes());
        assert!(loaded.cases.iter().flat_map(|c| &c.rows).any(|r| r.runner == mpi));
        let mut ids = loaded.settings.runners.clone();
        ids.sort();
        assert_eq!(ids.last(), Some(&mpi), "an unknown runner sorts after this build's runners");
        assert_eq!(ids[0], RunnerId::reference());
        // Written back, the id is the same plain string.
        report = loaded;
        assert!(serde_json::to_string(&report).unwrap().contains(&format!("\"runner\":\"{foreign}\"")));
    }

    #[test]
    fn errors_inside_a_result_file_name_their_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        let good = serde_json::to_string_pretty(&crate::analysis::fixture::report()).unwrap();
        let bad = good.replacen("\"wall_ns\": ", "\"wall_ns\": -", 1);
        std::fs::write(&path, &bad).unwrap();
        let line = bad[..bad.find("\"wall_ns\": -").unwrap()].matches('\n').count() + 1;
        let err = load(&path).unwrap_err().0;
        let prefix = format!("{}: not a parbench result: line ", path.display());
        // A sample's fields are read as a whole (flattened), so the position is the end
        // of the sample that holds the bad value.
        let at: usize = err.strip_prefix(&prefix).and_then(|r| r.split(',').next()?.parse().ok()).expect(&err);
        assert!((line..line + 40).contains(&at), "{err}: the value is on line {line}");
        assert!(err.contains("invalid value: integer `-"), "{err}");
        std::fs::write(&path, format!("{good} trailing")).unwrap();
        assert!(load(&path).unwrap_err().0.contains("trailing characters"));
        std::fs::write(&path, "{\"cases\": []}").unwrap();
        assert!(load(&path).unwrap_err().0.ends_with("not a parbench result (no schema_version)"));
        let zero = crate::sys::test_device(dir.path(), "zero");
        let err = load(&zero).unwrap_err().0;
        assert!(err.starts_with(&format!("{}: not a parbench result: line 1, column 1", zero.display())), "{err}");
        let err = load(dir.path()).unwrap_err().0;
        assert!(err.contains("cannot read it"), "{err}");
    }

    #[test]
    fn a_string_schema_version_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        std::fs::write(&path, r#"{"schema_version": "1"}"#).unwrap();
        assert!(load(&path).unwrap_err().0.contains("schema_version is \"1\", not a number"));
        std::fs::write(&path, r#"{"schema_version": 0}"#).unwrap();
        assert!(load(&path).unwrap_err().0.contains("unsupported schema_version 0"));
        std::fs::write(&path, r#"{"schema_version": 99}"#).unwrap();
        assert!(load(&path).unwrap_err().0.contains("newer"));
    }
}
