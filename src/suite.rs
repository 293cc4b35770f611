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
//! schedule = "dynamic"  # optional; or ["static", "dynamic"]: one case each
//! ```
//!
//! A bench's keys other than `workload`, `threads`, `runners` and `schedule` are the
//! workload's declared parameters, validated by [`crate::plan`] exactly as flags are.
//! Every error names the file and the line of the offending `[[bench]]` table (or the
//! TOML position), so a CI log points straight at the typo.

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::UsageError;
use crate::measure::Rounds;
use crate::plan::{BenchRequest, Origin, Request, SuiteOrigin};
use crate::result::SuiteRecord;
use crate::runner::{RunnerId, Schedule};

/// Largest suite file read: suites are short; a larger file is a mistake (or
/// `/dev/zero`).
pub const MAX_SUITE_BYTES: u64 = 1 << 20;

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
    /// Measured rounds: a number, or "auto" (until --precision, at most --max-time).
    #[serde(default = "default_rounds")]
    pub rounds: SuiteRounds,
    /// Pin one worker per core.
    #[serde(default)]
    pub pin: bool,
    /// With rounds = "auto": the half-width of each speedup's 95% interval to reach.
    #[serde(default = "default_precision")]
    pub precision: f64,
    /// With rounds = "auto": seconds measuring may take, warm-up included; no round
    /// starts that would end after them.
    #[serde(default = "default_max_time")]
    pub max_time: f64,
    /// Seed of the runner order.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Process-runner timeout per sample, seconds.
    #[serde(default = "default_timeout")]
    pub timeout: f64,
    /// The benchmarks: `workload`, `threads`, optional `runners` and `schedule`, and
    /// the workload's parameters.
    #[serde(rename = "bench")]
    pub benches: Vec<toml::Spanned<toml::Table>>,
}

fn default_warmup() -> u32 {
    1
}
/// `rounds = 15` or `rounds = "auto"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SuiteRounds {
    /// A fixed count.
    Count(i64),
    /// `"auto"`.
    Word(String),
}

fn default_rounds() -> SuiteRounds {
    SuiteRounds::Count(5)
}
fn default_precision() -> f64 {
    0.03
}
fn default_max_time() -> f64 {
    20.0
}
fn default_seed() -> u64 {
    1
}
fn default_timeout() -> f64 {
    60.0
}

/// A loaded suite: what to measure (its record in `request.suite`).
#[derive(Debug)]
pub struct Suite {
    /// The benchmarks and settings, to be validated by [`crate::plan::plan`].
    pub request: Request,
}

/// Reads and parses a suite file (at most [`MAX_SUITE_BYTES`]).
pub fn load(path: &Path) -> Result<Suite, UsageError> {
    let shown = path.display().to_string();
    let fail = |e: String| UsageError::new(format!("suite file {shown}: {e}"));
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(MAX_SUITE_BYTES + 1).read_to_end(&mut bytes).map_err(|e| fail(e.to_string()))?;
    if bytes.len() as u64 > MAX_SUITE_BYTES {
        return Err(fail(format!("larger than {} KiB; a suite file is a short TOML file", MAX_SUITE_BYTES >> 10)));
    }
    let text = String::from_utf8(bytes)
        .map_err(|e| fail(format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to())))?;
    let mut suite = parse(&text, &shown)?;
    suite.request.inputs.push(("the suite file".into(), path.to_path_buf()));
    Ok(suite)
}

/// Parses a suite from text; `shown` names the file in errors.
pub fn parse(text: &str, shown: &str) -> Result<Suite, UsageError> {
    let file: SuiteFile = toml::from_str(text).map_err(|e| {
        let mut message = e.message().trim().replace('\n', " ");
        if message == "number too large to fit in target type" {
            message = format!("the number is too large: TOML integers go up to {}", i64::MAX);
        }
        let at = match e.span() {
            // Name the key whose value is wrong, when the line has one.
            Some(span) => {
                let line = line_of(text, span.start);
                let key = text.lines().nth(line - 1).and_then(|l| l.split_once('=')).map(|(k, _)| k.trim());
                match key.filter(|k| !k.is_empty() && !k.starts_with('[')) {
                    Some(key) => format!(" line {line}: {key}:"),
                    None => format!(" line {line}:"),
                }
            }
            None => String::new(),
        };
        UsageError::new(format!("suite file {shown}:{at} {message}"))
    })?;
    let err = |line: usize, what: String| UsageError::new(format!("suite file {shown}: line {line}: {what}"));
    let at = |key: &str| key_line(text, key);
    // A value as written in the file (1e300, not its 301 digits), or as read.
    let written = |key: &str, v: f64| {
        let line = text.lines().nth(at(key) - 1).and_then(|l| l.split_once('=')).map(|(_, v)| v);
        let value = line.map(|v| v.split('#').next().unwrap_or("").trim()).filter(|v| !v.is_empty());
        value.map_or_else(|| format!("{v:?}"), str::to_string)
    };
    if file.benches.is_empty() {
        return Err(err(1, "no [[bench]] tables: add at least one".into()));
    }
    // Every value is checked, used or not (precision with a fixed round count too),
    // by the rules the flags follow.
    if !crate::plan::precision_ok(file.precision) {
        return Err(err(
            at("precision"),
            format!(
                "precision = {} is not a fraction between 0.001 and 0.5 (0.03 = ±3%)",
                written("precision", file.precision)
            ),
        ));
    }
    let Some(max_time) = crate::plan::seconds(file.max_time) else {
        return Err(err(
            at("max_time"),
            format!(
                "max_time = {} is not between 0.001 and 86400 seconds (1 ms to 24 h)",
                written("max_time", file.max_time)
            ),
        ));
    };
    let rounds = match &file.rounds {
        SuiteRounds::Count(n) if (1..=10_000).contains(n) => Rounds::Fixed(*n as u32),
        SuiteRounds::Count(n) => {
            return Err(err(at("rounds"), format!("rounds = {n} is out of range 1..=10000 (or \"auto\")")));
        }
        SuiteRounds::Word(w) if w == "auto" => {
            Rounds::Auto { precision: file.precision, max_time_s: max_time.as_secs_f64() }
        }
        SuiteRounds::Word(w) => {
            return Err(err(at("rounds"), format!("rounds = {w:?}: give a number of rounds or \"auto\"")));
        }
    };
    if file.warmup > 100 {
        return Err(err(at("warmup"), format!("warmup = {} is out of range 0..=100", file.warmup)));
    }
    let Some(timeout) = crate::plan::seconds(file.timeout) else {
        return Err(err(
            at("timeout"),
            format!(
                "timeout = {} is not between 0.001 and 86400 seconds (1 ms to 24 h)",
                written("timeout", file.timeout)
            ),
        ));
    };
    let mut benches = Vec::new();
    for (index, spanned) in file.benches.iter().enumerate() {
        let line = line_of(text, spanned.span().start);
        let table = spanned.get_ref();
        let workload = match table.get("workload") {
            Some(toml::Value::String(w)) => w.clone(),
            Some(other) => {
                return Err(err(line, format!("[[bench]] #{}: workload = {other} is not a name", index + 1)));
            }
            None => return Err(err(line, format!("[[bench]] #{}: no workload: add workload = \"fib\"", index + 1))),
        };
        let place = |line: usize| {
            format!(
                "suite file {shown}: line {line}: [[bench]] #{} ({})",
                index + 1,
                crate::text::terminal_safe(&workload)
            )
        };
        let keys = table.keys().filter_map(|k| table_key_line(text, line, k).map(|l| (k.clone(), place(l)))).collect();
        let origin = SuiteOrigin { at: place(line), keys };
        benches.push(bench(table, workload, origin)?);
    }
    let name = file.name.clone().unwrap_or_else(|| {
        Path::new(shown).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "suite".into())
    });
    let record = SuiteRecord { name, file: shown.to_string(), digest: digest(&file) };
    let request = Request {
        benches,
        warmup: file.warmup,
        rounds,
        seed: file.seed,
        timeout,
        worker_program: None,
        pin: file.pin,
        output: Vec::new(),
        format: None,
        scale: None,
        suite: Some(record),
        inputs: Vec::new(),
        limit: crate::cli::DEFAULT_LIMIT,
    };
    Ok(Suite { request })
}

/// One `[[bench]]` table as a request: its own keys, then the workload's parameters
/// as raw text, exactly as flags would give them.
fn bench(table: &toml::Table, workload: String, origin: SuiteOrigin) -> Result<BenchRequest, UsageError> {
    let fail = |what: String| UsageError::new(format!("{}: {what}", origin.at));
    let fail_at = |key: &str, what: String| UsageError::new(format!("{}: {what}", origin.key(key)));
    let type_error = |key: &str, value: &toml::Value, expected: &str| {
        let shown = crate::workload::param::shown(&value.to_string());
        fail_at(key, format!("{key} = {shown}: expects {expected}, not {}", crate::plan::toml_type(value)))
    };
    let mut threads: Vec<usize> = Vec::new();
    match table.get("threads") {
        Some(toml::Value::Array(items)) if !items.is_empty() => {
            for v in items {
                let w = v.as_integer().ok_or_else(|| type_error("threads", v, "whole numbers of workers"))?;
                if !(1..=crate::plan::MAX_WORKERS as i64).contains(&w) {
                    let range = format!("threads = {w} is out of range 1..={}", crate::plan::MAX_WORKERS);
                    return Err(fail_at("threads", range));
                }
                // A worker count given twice is measured once.
                if !threads.contains(&(w as usize)) {
                    threads.push(w as usize);
                }
            }
        }
        Some(toml::Value::Array(_)) => {
            return Err(fail_at("threads", "threads is empty: give worker counts, e.g. threads = [1, 2]".into()));
        }
        Some(other) => return Err(type_error("threads", other, "a list of worker counts, e.g. [1, 2]")),
        None => return Err(fail("no threads: give worker counts, e.g. threads = [1, 2]".into())),
    }
    let words = |key: &str, expected: &str| -> Result<Option<Vec<String>>, UsageError> {
        match table.get(key) {
            None => Ok(None),
            Some(toml::Value::Array(items)) if items.is_empty() => {
                Err(fail_at(key, format!("{key} is empty: list {expected}, or leave it out")))
            }
            Some(toml::Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_string).ok_or_else(|| type_error(key, v, expected)))
                .collect::<Result<_, _>>()
                .map(Some),
            Some(toml::Value::String(s)) if key == "schedule" => Ok(Some(vec![s.clone()])),
            Some(other) => Err(type_error(key, other, &format!("a list of {expected}"))),
        }
    };
    let runners = words("runners", "runner names, e.g. [\"threads\"]")?
        .map(|names| {
            names
                .iter()
                .map(|n| {
                    RunnerId::known(n).ok_or_else(|| {
                        fail_at("runners", format!("runners: unknown runner {n:?}: use {}", RunnerId::known_list()))
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let schedules = words("schedule", "\"dynamic\" or \"static\"")?
        .map(|names| {
            names
                .iter()
                .map(|n| {
                    <Schedule as clap::ValueEnum>::from_str(n, false).map_err(|_| {
                        fail_at("schedule", format!("schedule: unknown schedule {n:?}: use dynamic or static"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_else(|| vec![Schedule::default()]);
    let mut values = Vec::new();
    for (key, value) in table {
        if ["workload", "threads", "runners", "schedule"].contains(&key.as_str()) {
            continue;
        }
        values.push((key.clone(), crate::plan::Raw::Toml(value.clone())));
    }
    Ok(BenchRequest { workload, values, threads, runners, schedules, origin: Origin::Suite(origin) })
}

/// The line of a top-level `key = ...` (before the first table header), or 1 when the
/// key is not written (a default).
fn key_line(text: &str, key: &str) -> usize {
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.starts_with('[') {
            break;
        }
        let Some((k, _)) = line.split_once('=') else { continue };
        if k.trim().trim_matches(|c| c == '"' || c == '\'') == key {
            return i + 1;
        }
    }
    1
}

/// The line of `key = ...` inside the table whose header is on line `table`: the
/// first such line before the next table header, if the key is written there.
fn table_key_line(text: &str, table: usize, key: &str) -> Option<usize> {
    for (i, line) in text.lines().enumerate().skip(table) {
        let line = line.trim_start();
        if line.starts_with('[') {
            break;
        }
        let Some((k, _)) = line.split_once('=') else { continue };
        if k.trim().trim_matches(|c| c == '"' || c == '\'') == key {
            return Some(i + 1);
        }
    }
    None
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// FNV-1a of the parsed configuration's canonical JSON: comments, ordering of keys
/// and layout do not change it; any value does.
fn digest(file: &SuiteFile) -> String {
    let canonical = serde_json::to_string(&canonical_json(file)).expect("a suite always serialises");
    let h = crate::result::fnv(canonical.as_bytes(), crate::result::FNV_OFFSET);
    format!("{h:016x}")
}

fn canonical_json(file: &SuiteFile) -> serde_json::Value {
    let benches: Vec<&toml::Table> = file.benches.iter().map(|b| b.get_ref()).collect();
    serde_json::json!({
        "warmup": file.warmup, "rounds": file.rounds, "seed": file.seed, "timeout": file.timeout,
        "precision": file.precision, "max_time": file.max_time, "pin": file.pin,
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

    fn cases(text: &str) -> Result<Vec<crate::measure::Case>, UsageError> {
        let suite = parse(text, "t.toml")?;
        crate::plan::plan(&crate::registry::Registry::with_builtins(), suite.request).map(|p| p.cases)
    }

    /// A suite from any text: cases, or a one-line error naming the file; never a
    /// panic, never more than 16 MiB held at once.
    fn plan_any(text: &str) -> Result<(), proptest::test_runner::TestCaseError> {
        let (outcome, peak) = crate::fuzz::peak_of(|| cases(text).map(drop));
        if let Err(e) = outcome {
            proptest::prop_assert!(crate::fuzz::one_line(&e.0), "{}", e.0);
            proptest::prop_assert!(e.0.starts_with("suite file t.toml: "), "{}", e.0);
        }
        proptest::prop_assert!(peak < 16 << 20, "{peak} bytes held at once");
        Ok(())
    }

    proptest::proptest! {
        #![proptest_config(crate::fuzz::config(150))]

        #[test]
        fn arbitrary_text_is_a_suite_or_a_one_line_error(chars in proptest::collection::vec(proptest::prelude::any::<char>(), 0..300)) {
            plan_any(&chars.into_iter().collect::<String>())?;
        }

        #[test]
        fn mutated_suites_are_planned_or_refused_in_one_line(m in crate::fuzz::mutations()) {
            plan_any(&String::from_utf8_lossy(&crate::fuzz::mutate(GOOD.as_bytes(), &m)))?;
        }
    }

    #[test]
    fn a_suite_expands_threads_and_sync_modes_into_cases() {
        let c = cases(GOOD).unwrap();
        assert_eq!(c.len(), 4);
        assert_eq!(c[1].settings.workers, 2);
        assert_eq!(parse(GOOD, "t.toml").unwrap().request.suite.unwrap().name, "t");
        // mutex under the default runners skips process instead of failing.
        let mutex = &c[3];
        assert!(mutex.label.contains("mutex"));
        assert_eq!(mutex.skipped[0].runner, RunnerId::new("process"));
    }

    #[test]
    fn comments_and_layout_do_not_change_the_digest_but_values_do() {
        let a = parse(GOOD, "t.toml").unwrap().request.suite.unwrap().digest;
        let b = parse(&format!("# a comment\n{GOOD}"), "t.toml").unwrap().request.suite.unwrap().digest;
        let c = parse(&GOOD.replace("n = 20", "n = 21"), "t.toml").unwrap().request.suite.unwrap().digest;
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn an_unknown_field_names_the_file_line_and_a_suggestion() {
        let err = cases(&GOOD.replace("n = 20", "nn = 20")).unwrap_err().0;
        assert!(err.starts_with("suite file t.toml: line 5:") && err.contains("field nn"), "{err}");
        assert!(err.contains("did you mean \"n\""), "{err}");
    }

    #[test]
    fn an_out_of_range_value_names_its_own_line_and_its_table() {
        let err = cases(&GOOD.replace("n = 20", "n = 60")).unwrap_err().0;
        assert!(err.starts_with("suite file t.toml: line 7: [[bench]] #1 (fib): n = 60"), "{err}");
        assert!(err.contains("1..=50"), "{err}");
        // Keys of the table's own: the line of `threads`, of the second table.
        let err = cases(&GOOD.replace("threads = [2]", "threads = [0]")).unwrap_err().0;
        assert!(err.starts_with("suite file t.toml: line 15: [[bench]] #2 (counter): threads = 0"), "{err}");
        let err = cases(&GOOD.replace("sync = [\"none\", \"mutex\"]", "sync = 3")).unwrap_err().0;
        assert!(err.starts_with("suite file t.toml: line 14: [[bench]] #2 (counter): sync = 3"), "{err}");
    }

    #[test]
    fn bad_top_level_values_are_refused_before_measuring_naming_their_line() {
        // GOOD has `name` on line 2 and `rounds = 3` on line 3; the value goes on line 4.
        let with = |line: &str| GOOD.replacen("rounds = 3\n", &format!("rounds = 3\n{line}\n"), 1);
        for (line, what) in [
            ("precision = nan", "precision = nan is not a fraction"),
            ("precision = -1.0", "precision = -1.0 is not a fraction"),
            ("max_time = -inf", "max_time = -inf is not between"),
            ("max_time = 1e300", "max_time = 1e300 is not between"),
            ("max_time = 0", "max_time = 0 is not between"),
            ("timeout = 0", "timeout = 0 is not between"),
            ("warmup = 101", "warmup = 101 is out of range"),
        ] {
            let err = parse(&with(line), "t.toml").unwrap_err().0;
            assert!(err.starts_with("suite file t.toml: line 4: ") && err.contains(what), "{line}: {err}");
        }
        // max_time = 0 with rounds = "auto", as the CLI refuses --max-time 0.
        let auto = GOOD.replace("rounds = 3", "rounds = \"auto\"\nmax_time = 0");
        let err = parse(&auto, "t.toml").unwrap_err().0;
        assert!(err.starts_with("suite file t.toml: line 4: max_time = 0"), "{err}");
        let err = parse(&GOOD.replace("rounds = 3", "rounds = 0"), "t.toml").unwrap_err().0;
        assert!(err.starts_with("suite file t.toml: line 3: rounds = 0"), "{err}");
    }

    #[test]
    fn a_nul_character_in_a_value_is_refused_before_measuring() {
        let text = "name = \"t\"\n[[bench]]\nworkload = \"command\"\ncmd = \"echo a\\u0000b\"\nthreads = [1]\n";
        let err = cases(text).unwrap_err().0;
        assert!(err.starts_with("suite file t.toml: line 4: [[bench]] #1 (command): cmd = "), "{err}");
        assert!(err.contains("NUL character") && crate::fuzz::one_line(&err), "{err}");
    }

    #[test]
    fn two_benches_measuring_the_same_case_are_refused_naming_both_lines() {
        let twice = format!("{GOOD}\n[[bench]]\nworkload = \"fib\"\nn = 20\ntasks = 4\nthreads = [2]\n");
        let err = cases(&twice).unwrap_err().0;
        assert!(err.starts_with("suite file t.toml: line 17: [[bench]] #3 (fib): measures fib"), "{err}");
        assert!(err.contains("with 2 workers, as line 5: [[bench]] #1 (fib) does already"), "{err}");
    }

    #[test]
    fn a_field_of_another_workload_is_refused() {
        let err = cases(&GOOD.replace("n = 20", "ms = 20")).unwrap_err().0;
        assert!(err.contains("field ms is not a parameter of fib"), "{err}");
    }

    #[test]
    fn syntax_errors_empty_suites_and_empty_lists_are_refused() {
        assert!(parse("rounds = [", "t.toml").unwrap_err().0.contains("line 1"));
        assert!(parse("rounds = 3\n", "t.toml").is_err());
        let zero = parse(&GOOD.replace("threads = [1, 2]", "threads = [0]"), "t.toml").unwrap_err().0;
        assert!(zero.contains("threads = 0"), "{zero}");
        let none = parse(&GOOD.replace("threads = [1, 2]", "threads = [1, 2]\nrunners = []"), "t.toml").unwrap_err().0;
        assert!(none.contains("runners is empty"), "{none}");
        let sync = cases(&GOOD.replace("sync = [\"none\", \"mutex\"]", "sync = []")).unwrap_err().0;
        assert!(sync.contains("sync is empty"), "{sync}");
    }

    #[test]
    fn numbers_out_of_their_type_name_the_key() {
        let err = parse("seed = 18446744073709551616\n", "t.toml").unwrap_err().0;
        assert_eq!(
            err,
            format!("suite file t.toml: line 1: seed: the number is too large: TOML integers go up to {}", i64::MAX)
        );
        let err =
            parse("rounds = 99999999999\n[[bench]]\nworkload = \"fib\"\nthreads = [1]\n", "t.toml").unwrap_err().0;
        assert!(err.contains("rounds = 99999999999 is out of range 1..=10000"), "{err}");
    }

    #[test]
    fn values_of_the_wrong_type_are_refused_naming_key_and_type() {
        let bench = |extra: &str| format!("[[bench]]\nworkload = \"fib\"\nthreads = [1]\n{extra}\n");
        for (extra, says) in [
            ("n = \"5\"", "n = \"5\": expects a whole number, not a string"),
            ("n = 5.0", "n = 5.0: expects a whole number, not a number with a fraction"),
            ("n = [5]", "expects a whole number, not a list"),
            ("n = true", "not true or false"),
            ("n = 1979-05-27", "not a date"),
            ("runners = \"threads\"", "runners = \"threads\": expects a list of runner names"),
            ("schedule = 1", "schedule = 1: expects a list of"),
        ] {
            let err = cases(&bench(extra)).unwrap_err().0;
            assert!(err.contains(says), "{extra}: {err}");
        }
        let factorize = "[[bench]]\nworkload = \"factorize\"\nthreads = [1]\nnumbers = 7\n";
        assert!(cases(factorize).unwrap_err().0.contains("expects a list of whole numbers"));
        let command = "[[bench]]\nworkload = \"command\"\nthreads = [1]\ncmd = 5\n";
        assert!(cases(command).unwrap_err().0.contains("cmd = 5: expects a string"));
        let threads = bench("").replace("threads = [1]", "threads = [\"1\"]");
        assert!(cases(&threads).unwrap_err().0.contains("threads = \"1\": expects whole numbers"));
    }

    #[test]
    fn a_worker_count_given_twice_is_measured_once() {
        let text = "[[bench]]\nworkload = \"fib\"\nthreads = [2, 1, 2, 1]\n";
        let workers: Vec<usize> = cases(text).unwrap().iter().map(|c| c.settings.workers).collect();
        assert_eq!(workers, [2, 1]);
    }

    #[test]
    fn explicit_mutex_under_an_explicit_process_runner_is_refused() {
        let text = "[[bench]]\nworkload = \"counter\"\nsync = [\"mutex\"]\nrunners = [\"process\"]\nthreads = [2]\n";
        assert!(cases(text).unwrap_err().0.contains("runner process cannot run"));
    }

    #[test]
    fn an_oversized_or_binary_suite_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.toml");
        std::fs::write(&big, vec![b'#'; MAX_SUITE_BYTES as usize + 10]).unwrap();
        assert!(load(&big).unwrap_err().0.contains("larger than"));
        let bin = dir.path().join("bin.toml");
        std::fs::write(&bin, [0xff, 0xfe, 0]).unwrap();
        assert!(load(&bin).unwrap_err().0.contains("not UTF-8"));
    }

    #[test]
    fn the_shipped_suites_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads");
        let mut found = 0;
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            if entry.path().extension().is_some_and(|e| e == "toml") {
                let suite = load(&entry.path()).unwrap_or_else(|e| panic!("{e}"));
                crate::plan::plan(&crate::registry::Registry::with_builtins(), suite.request)
                    .unwrap_or_else(|e| panic!("{e}"));
                found += 1;
            }
        }
        assert!(found >= 3, "expected seeds.toml, ci.toml and default.toml");
    }
}
