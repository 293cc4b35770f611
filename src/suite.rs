//! Suite files: declarative TOML in `workloads/` saying which workloads, with which
//! parameters, under which runners and worker counts, for how many rounds.
//!
//! ```toml
//! name = "example"
//! rounds = 5            # optional: warmup (1), rounds (5), seed (1), timeout (60 s)
//!
//! [[bench]]
//! workload = "fib"      # sleep | fib | factorize | counter
//! n = 30                # the workload's parameters, as on the command line
//! tasks = 8
//! threads = [1, 2, 4]   # worker counts: one case per count
//! runners = ["serial", "threads", "rayon", "process"]   # optional, default all
//! schedule = "dynamic"  # optional
//! ```
//!
//! The one decision a reader would otherwise get wrong: every error names the file and
//! the line of the offending `[[bench]]` table (or the TOML position), so a CI log
//! points straight at the typo. Values are validated by the same rules as the CLI.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::UsageError;
use crate::measure::Settings;
use crate::plan::Case;
use crate::report::SuiteRecord;
use crate::runner::{RunnerKind, RunnerOptions, Schedule};
use crate::workload::{CounterParams, FactorizeParams, FibParams, SleepParams, SyncMode, WorkloadParams};

/// A parsed suite file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteFile {
    /// Name (defaults to the file stem).
    #[serde(default)]
    pub name: Option<String>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Discarded rounds.
    #[serde(default = "default_warmup")]
    pub warmup: u32,
    /// Measured rounds.
    #[serde(default = "default_rounds")]
    pub rounds: u32,
    /// Seed of the runner order.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Process-runner timeout per sample, seconds.
    #[serde(default = "default_timeout")]
    pub timeout: f64,
    /// The benchmarks.
    #[serde(rename = "bench")]
    pub benches: Vec<toml::Spanned<Bench>>,
}

fn default_warmup() -> u32 {
    1
}
fn default_rounds() -> u32 {
    5
}
fn default_seed() -> u64 {
    1
}
fn default_timeout() -> f64 {
    60.0
}

/// One `[[bench]]` table.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bench {
    /// Workload name.
    pub workload: String,
    /// Worker counts; one case per count.
    pub threads: Vec<usize>,
    /// Runners (serial is always added); default all.
    #[serde(default)]
    pub runners: Option<Vec<RunnerKind>>,
    /// Task assignment for threads and process.
    #[serde(default)]
    pub schedule: Option<Schedule>,
    /// sleep, fib: tasks.
    #[serde(default)]
    pub tasks: Option<u32>,
    /// sleep: milliseconds.
    #[serde(default)]
    pub ms: Option<u32>,
    /// fib: n.
    #[serde(default)]
    pub n: Option<u32>,
    /// factorize: numbers.
    #[serde(default)]
    pub numbers: Option<Vec<u64>>,
    /// factorize: generated count.
    #[serde(default)]
    pub count: Option<u32>,
    /// factorize: generated maximum.
    #[serde(default)]
    pub max: Option<u64>,
    /// counter: increments per worker.
    #[serde(default)]
    pub increments: Option<u64>,
    /// counter: synchronisation modes.
    #[serde(default)]
    pub sync: Option<Vec<SyncMode>>,
}

/// A loaded suite: its cases, ready to measure.
#[derive(Debug)]
pub struct Suite {
    /// What the report records about the suite.
    pub record: SuiteRecord,
    /// The parsed file.
    pub file: SuiteFile,
    /// Every case, in file order.
    pub cases: Vec<Case>,
}

/// Reads, parses and validates a suite file.
pub fn load(path: &Path) -> Result<Suite, UsageError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| UsageError::new(format!("suite file {shown}: {e}")))?;
    parse(&text, &shown)
}

/// Parses a suite from text; `shown` names the file in errors.
pub fn parse(text: &str, shown: &str) -> Result<Suite, UsageError> {
    let file: SuiteFile = toml::from_str(text).map_err(|e| {
        let at = e.span().map(|s| format!(" line {}:", line_of(text, s.start))).unwrap_or_default();
        UsageError::new(format!("suite file {shown}:{at} {}", e.message().trim().replace('\n', " ")))
    })?;
    let err = |line: usize, what: String| UsageError::new(format!("suite file {shown}: line {line}: {what}"));
    if file.benches.is_empty() {
        return Err(err(1, "no [[bench]] tables: add at least one".into()));
    }
    if !(1..=10_000).contains(&file.rounds) {
        return Err(err(1, format!("rounds = {} is out of range 1..=10000", file.rounds)));
    }
    if file.warmup > 100 {
        return Err(err(1, format!("warmup = {} is out of range 0..=100", file.warmup)));
    }
    if !(file.timeout.is_finite() && (0.001..=86_400.0).contains(&file.timeout)) {
        return Err(err(1, format!("timeout = {} is not between 0.001 and 86400 seconds", file.timeout)));
    }
    let mut cases = Vec::new();
    for (index, spanned) in file.benches.iter().enumerate() {
        let line = line_of(text, spanned.span().start);
        let bench = spanned.get_ref();
        let at = |what: String| err(line, format!("[[bench]] #{} ({}): {what}", index + 1, bench.workload));
        if bench.threads.is_empty() {
            return Err(at("threads is empty: give worker counts, e.g. threads = [1, 2]".into()));
        }
        if let Some(&w) = bench.threads.iter().find(|&&w| !(1..=1024).contains(&w)) {
            return Err(at(format!("threads = {w} is out of range 1..=1024")));
        }
        for &workers in &bench.threads {
            let (params, explicit_variant) = bench_params(bench, workers, file.seed).map_err(&at)?;
            for p in params {
                p.validate().map_err(&at)?;
                let settings = Settings {
                    runners: bench.runners.clone().unwrap_or_else(|| RunnerKind::ALL.to_vec()),
                    workers,
                    options: RunnerOptions {
                        schedule: bench.schedule.unwrap_or_default(),
                        timeout: std::time::Duration::from_secs_f64(file.timeout),
                        worker_program: None,
                    },
                    warmup: file.warmup,
                    rounds: file.rounds,
                    seed: file.seed,
                };
                cases.push(Case::new(p, settings, bench.runners.is_some(), explicit_variant).map_err(&at)?);
            }
        }
    }
    let name = file.name.clone().unwrap_or_else(|| {
        Path::new(shown).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "suite".into())
    });
    let record = SuiteRecord { name, file: shown.to_string(), digest: digest(&file) };
    Ok(Suite { record, file, cases })
}

/// The workload parameters of one bench for one worker count, and whether the
/// counter's modes were listed explicitly.
fn bench_params(b: &Bench, workers: usize, seed: u64) -> Result<(Vec<WorkloadParams>, bool), String> {
    let allowed: &[&str] = match b.workload.as_str() {
        "sleep" => &["tasks", "ms"],
        "fib" => &["tasks", "n"],
        "factorize" => &["numbers", "count", "max"],
        "counter" => &["increments", "sync"],
        other => return Err(format!("unknown workload {other:?}: use sleep, fib, factorize or counter")),
    };
    let given = [
        ("tasks", b.tasks.is_some()),
        ("ms", b.ms.is_some()),
        ("n", b.n.is_some()),
        ("numbers", b.numbers.is_some()),
        ("count", b.count.is_some()),
        ("max", b.max.is_some()),
        ("increments", b.increments.is_some()),
        ("sync", b.sync.is_some()),
    ];
    if let Some((field, _)) = given.iter().find(|(f, set)| *set && !allowed.contains(f)) {
        return Err(format!("field {field} does not apply to {}; it takes {}", b.workload, allowed.join(", ")));
    }
    let params = match b.workload.as_str() {
        "sleep" => {
            let d = SleepParams::default();
            vec![WorkloadParams::Sleep(SleepParams { tasks: b.tasks.unwrap_or(d.tasks), ms: b.ms.unwrap_or(d.ms) })]
        }
        "fib" => {
            let d = FibParams::default();
            vec![WorkloadParams::Fib(FibParams { n: b.n.unwrap_or(d.n), tasks: b.tasks.unwrap_or(d.tasks) })]
        }
        "factorize" => {
            let p = match (&b.numbers, b.count, b.max) {
                (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                    return Err("give either numbers or count/max, not both".into());
                }
                (Some(n), None, None) => FactorizeParams { numbers: n.clone(), generated: None },
                (None, None, None) => FactorizeParams::default(),
                (None, count, max) => FactorizeParams::generate(
                    count.unwrap_or(4),
                    max.unwrap_or(crate::plan::DEFAULT_GENERATED_MAX),
                    seed,
                ),
            };
            vec![WorkloadParams::Factorize(p)]
        }
        _ => {
            let modes = b.sync.clone().unwrap_or_else(|| SyncMode::ALL.to_vec());
            if modes.is_empty() {
                return Err("sync is empty: list modes, e.g. sync = [\"atomic\"]".into());
            }
            let increments = b.increments.unwrap_or(1_000_000);
            modes
                .into_iter()
                .map(|sync| WorkloadParams::Counter(CounterParams { tasks: workers as u32, increments, sync }))
                .collect()
        }
    };
    Ok((params, b.sync.is_some()))
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// FNV-1a of the parsed configuration's canonical JSON: comments, ordering of keys
/// and layout do not change it; any value does.
fn digest(file: &SuiteFile) -> String {
    let canonical = serde_json::to_string(&canonical_json(file)).expect("a suite always serialises");
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in canonical.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn canonical_json(file: &SuiteFile) -> serde_json::Value {
    let benches: Vec<&Bench> = file.benches.iter().map(|b| b.get_ref()).collect();
    serde_json::json!({
        "warmup": file.warmup, "rounds": file.rounds, "seed": file.seed, "timeout": file.timeout,
        "benches": benches,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "t"
rounds = 3

[[bench]]
workload = "fib"
n = 20
tasks = 4
threads = [1, 2]

[[bench]]
workload = "counter"
increments = 1000
sync = ["none", "mutex"]
threads = [2]
"#;

    #[test]
    fn a_suite_expands_threads_and_sync_modes_into_cases() {
        let s = parse(GOOD, "t.toml").unwrap();
        assert_eq!(s.cases.len(), 4);
        assert_eq!(s.cases[1].settings.workers, 2);
        assert_eq!(s.record.name, "t");
        // mutex under the default runners skips process instead of failing.
        let mutex = &s.cases[3];
        assert!(mutex.params.label().contains("mutex"));
        assert_eq!(mutex.skipped[0].runner, RunnerKind::Process);
    }

    #[test]
    fn comments_and_layout_do_not_change_the_digest_but_values_do() {
        let a = parse(GOOD, "t.toml").unwrap().record.digest;
        let b = parse(&format!("# a comment\n{GOOD}"), "t.toml").unwrap().record.digest;
        let c = parse(&GOOD.replace("n = 20", "n = 21"), "t.toml").unwrap().record.digest;
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn an_unknown_field_names_the_file_and_line() {
        let err = parse(&GOOD.replace("n = 20", "nn = 20"), "w/t.toml").unwrap_err().0;
        assert!(err.starts_with("suite file w/t.toml: line 7:") && err.contains("nn"), "{err}");
    }

    #[test]
    fn an_out_of_range_value_names_the_bench_line_and_field() {
        let err = parse(&GOOD.replace("n = 20", "n = 60"), "t.toml").unwrap_err().0;
        assert!(err.contains("line 5") && err.contains("n = 60") && err.contains("1..=50"), "{err}");
    }

    #[test]
    fn a_field_of_another_workload_is_refused() {
        let err = parse(&GOOD.replace("n = 20", "ms = 20"), "t.toml").unwrap_err().0;
        assert!(err.contains("field ms does not apply to fib"), "{err}");
    }

    #[test]
    fn syntax_errors_and_empty_suites_are_refused() {
        assert!(parse("rounds = [", "t.toml").unwrap_err().0.contains("line 1"));
        assert!(parse("rounds = 3\n", "t.toml").is_err());
        let zero = parse(&GOOD.replace("threads = [1, 2]", "threads = [0]"), "t.toml").unwrap_err().0;
        assert!(zero.contains("threads = 0"), "{zero}");
    }

    #[test]
    fn explicit_mutex_under_an_explicit_process_runner_is_refused() {
        let text = "[[bench]]\nworkload = \"counter\"\nsync = [\"mutex\"]\nrunners = [\"process\"]\nthreads = [2]\n";
        assert!(parse(text, "t.toml").unwrap_err().0.contains("runner process cannot run"));
    }

    #[test]
    fn the_shipped_suites_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads");
        let mut found = 0;
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            if entry.path().extension().is_some_and(|e| e == "toml") {
                load(&entry.path()).unwrap_or_else(|e| panic!("{e}"));
                found += 1;
            }
        }
        assert!(found >= 3, "expected seeds.toml, ci.toml and default.toml");
    }
}
