//! The plan: validated cases with every default resolved. Flags and suite files both
//! arrive here as a [`Request`] of raw text values; [`plan`] is the one path from
//! there to cases, for `run`, `scale` and `suite` alike. Nothing after this module sees
//! clap or TOML types.
//!
//! A combination that cannot run (a workload that needs one address space under the
//! `process` runner, or more than 256 processes) is an error only when the user asked
//! for both sides explicitly; when a default produced it, that one cell is skipped
//! with a note, so `parbench run counter` just works.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::UsageError;
use crate::measure::{Case, Rounds, Settings};
use crate::output::Output;
use crate::registry::Registry;
use crate::report::Format;
use crate::result::{SettingsRecord, Skipped, SuiteRecord};
use crate::runner::{RunnerId, RunnerOptions, Schedule};
use crate::workload::{Param, Params, Scaling, Value, WorkloadSpec, noop};

pub use crate::runner::MAX_WORKERS;

/// Most cases one plan measures: more is a mistake in a suite (a sweep of every worker
/// count up to 1024 times every mode is about 4000).
pub const MAX_CASES: usize = 10_000;

/// Where a bench's values came from, so errors name flags (`--n 60`) or suite keys
/// (`suite file s.toml: line 6: [[bench]] #1 (fib): n = 60`, the key's own line).
#[derive(Clone, Debug)]
pub enum Origin {
    /// The command line.
    Cli,
    /// A `[[bench]]` table.
    Suite(SuiteOrigin),
}

/// Where a `[[bench]]` table and each of its keys are in a suite file.
#[derive(Clone, Debug)]
pub struct SuiteOrigin {
    /// `suite file s.toml: line 5: [[bench]] #1 (fib)`: the table's own line.
    pub at: String,
    /// The same, with each written key's own line in place of the table's.
    pub keys: Vec<(String, String)>,
}

impl SuiteOrigin {
    /// Where `key` is written, or the table when it is not.
    pub fn key(&self, key: &str) -> &str {
        self.keys.iter().find(|(k, _)| k == key).map_or(self.at.as_str(), |(_, at)| at.as_str())
    }
}

impl Origin {
    /// `--n 60: ` or `suite file ...: n = 60: `, before a message about a value.
    fn value(&self, name: &str, value: &str) -> String {
        match self {
            Origin::Cli if value.is_empty() || value.contains(char::is_whitespace) => format!("--{name} '{value}'"),
            Origin::Cli => format!("--{name} {value}"),
            Origin::Suite(s) if value.parse::<f64>().is_ok() => format!("{}: {name} = {value}", s.key(name)),
            Origin::Suite(s) => format!("{}: {name} = {value:?}", s.key(name)),
        }
    }

    /// How the user named a runner: `--runner process` or `runner process`.
    fn runner(&self, runner: RunnerId) -> String {
        match self {
            Origin::Cli => format!("--runner {runner}"),
            Origin::Suite(_) => format!("runner {runner}"),
        }
    }

    fn param(&self, name: &str) -> String {
        match self {
            Origin::Cli => format!("--{name}"),
            Origin::Suite(s) => format!("{}: {name}", s.key(name)),
        }
    }

    fn error(&self, what: impl std::fmt::Display) -> UsageError {
        match self {
            Origin::Cli => UsageError::new(what.to_string()),
            Origin::Suite(s) => UsageError::new(format!("{}: {what}", s.at)),
        }
    }

    /// An error about the value of `key`, at the key's own line in a suite.
    fn key_error(&self, key: &str, what: impl std::fmt::Display) -> UsageError {
        match self {
            Origin::Cli => UsageError::new(what.to_string()),
            Origin::Suite(s) => UsageError::new(format!("{}: {what}", s.key(key))),
        }
    }
}

/// One benchmark as asked for: a workload, raw parameter values, worker counts,
/// runners.
#[derive(Clone, Debug)]
pub struct BenchRequest {
    /// The workload's registered name.
    pub workload: String,
    /// Given parameters: name and raw value.
    pub values: Vec<(String, Raw)>,
    /// Worker counts: one case per count.
    pub threads: Vec<usize>,
    /// Runners, when given explicitly (serial is always added).
    pub runners: Option<Vec<RunnerId>>,
    /// Task assignments for threads and process: one case each.
    pub schedules: Vec<Schedule>,
    /// Where it came from, for errors.
    pub origin: Origin,
}

/// The one rule for `--precision` and a suite's `precision`: a finite fraction
/// between 0.001 and 0.5.
pub fn precision_ok(v: f64) -> bool {
    v.is_finite() && (0.001..=0.5).contains(&v)
}

/// The one rule for durations in seconds (`--timeout`, `--max-time`, a suite's
/// `timeout` and `max_time`): finite, from 1 ms to 24 h.
pub fn seconds(v: f64) -> Option<std::time::Duration> {
    (v.is_finite() && (0.001..=86_400.0).contains(&v)).then(|| std::time::Duration::from_secs_f64(v))
}

/// A parameter's value as given, before it is checked against the declaration.
#[derive(Clone, Debug)]
pub enum Raw {
    /// From the command line: one text per value (several for a swept parameter).
    Texts(Vec<String>),
    /// From a suite file: the TOML value as written, so its type can be checked too.
    Toml(toml::Value),
}

/// What `scale` adds to a request.
#[derive(Clone, Debug)]
pub struct ScaleRequest {
    /// Weak scaling.
    pub weak: bool,
    /// Speedup plot to write.
    pub plot: Option<PathBuf>,
    /// Timeline to write.
    pub timeline: Option<PathBuf>,
}

/// Everything asked for, before validation.
#[derive(Clone, Debug)]
pub struct Request {
    /// The benchmarks.
    pub benches: Vec<BenchRequest>,
    /// Least warm-up samples per runner.
    pub warmup: u32,
    /// How many rounds to measure.
    pub rounds: Rounds,
    /// Seed of the runner order (and of workloads that draw inputs).
    pub seed: u64,
    /// Longest silence of a worker process.
    pub timeout: std::time::Duration,
    /// The program whose `worker` subcommand the process runner starts.
    pub worker_program: Option<PathBuf>,
    /// Pin one worker per core.
    pub pin: bool,
    /// Report files (`--output`, any number): each a path, or `FORMAT:PATH`.
    pub output: Vec<PathBuf>,
    /// Format for stdout or the report file.
    pub format: Option<Format>,
    /// Set for `scale`.
    pub scale: Option<ScaleRequest>,
    /// Set for `suite`.
    pub suite: Option<SuiteRecord>,
    /// Files read (the suite file): no output may be one of them. What each is, and
    /// its path.
    pub inputs: Vec<(String, PathBuf)>,
    /// Longest the measurement may be expected to take (`--limit`).
    pub limit: std::time::Duration,
}

/// Where the report goes (`--output`), checked when the plan is built; see
/// [`crate::output`].
#[derive(Debug)]
pub struct OutputFile {
    /// Where to write it.
    pub output: Output,
    /// Format of the report there.
    pub format: Format,
}

/// Everything a run will do.
#[derive(Debug)]
pub struct Plan {
    /// Workload configurations, measured interleaved.
    pub cases: Vec<Case>,
    /// The settings as recorded in the report.
    pub record: SettingsRecord,
    /// The suite this plan came from, if any.
    pub suite: Option<SuiteRecord>,
    /// Format for the terminal.
    pub stdout_format: Format,
    /// Whether that goes to stderr (an output is `-`, standard output).
    pub table_on_stderr: bool,
    /// Report files, each written on its own.
    pub output: Vec<OutputFile>,
    /// Set for `parbench scale`.
    pub scale: Option<ScaleSpec>,
    /// Longest the measurement may be expected to take (`--limit`).
    pub limit: std::time::Duration,
}

/// What `parbench scale` adds to a plan.
#[derive(Debug)]
pub struct ScaleSpec {
    /// Worker counts swept.
    pub workers: Vec<usize>,
    /// Weak scaling.
    pub weak: bool,
    /// Per case of the plan: the workload family it belongs to, or `None` for the
    /// overhead calibration on empty tasks.
    pub family_of: Vec<Option<usize>>,
    /// Number of families.
    pub families: usize,
    /// Speedup plot to write.
    pub plot: Option<Output>,
    /// Timeline to write.
    pub timeline: Option<Output>,
}

/// Validates a request against the registry and resolves every default.
pub fn plan(registry: &Registry, mut request: Request) -> Result<Plan, UsageError> {
    registry.validate()?;
    // The flag wins; the environment variable also serves suites. Either is checked
    // only when a process runner will start it, naming where it came from.
    let program_source = match (&request.worker_program, std::env::var_os(WORKER_PROGRAM_ENV)) {
        (Some(_), _) => "--worker-program",
        (None, Some(program)) => {
            request.worker_program = Some(PathBuf::from(program));
            WORKER_PROGRAM_ENV
        }
        (None, None) => "",
    };
    let mut cases = Vec::new();
    let mut family_of = Vec::new();
    let mut families = 0;
    let mut first_family: Option<(Arc<WorkloadSpec>, Params)> = None;
    let mut origins: std::collections::HashMap<(String, usize), &Origin> = std::collections::HashMap::new();
    for bench in &request.benches {
        let spec = registry.lookup(&bench.workload).map_err(|e| bench.origin.error(e))?;
        let combos = combinations(spec, bench)?;
        let max = bench.threads.iter().copied().max().unwrap_or(1);
        if bench.schedules.is_empty() {
            return Err(bench.origin.error("schedule is empty: give dynamic, static or both"));
        }
        for ((values, defaulted), &schedule) in
            combos.iter().flat_map(|combo| bench.schedules.iter().map(move |s| (combo, s)))
        {
            for &workers in &bench.threads {
                let mut params = Params::new(values.clone(), workers, request.seed);
                if let Some(scale) = &request.scale {
                    let scaling = Scaling { workers, max_workers: max, weak: scale.weak };
                    params = spec.scaled(&params, scaling).map_err(|e| bench.origin.error(e))?;
                    // Derived values obey the declared ranges too: a worker process
                    // checks them, and sizes follow from them.
                    params = Params::from_json(&spec.params, &params.to_json(), params.workers(), params.seed())
                        .map_err(|e| {
                            let how = if scale.weak { "weak" } else { "strong" };
                            let s = if workers == 1 { "" } else { "s" };
                            bench.origin.error(format!(
                                "{how} scaling to {workers} worker{s} makes {e}; lower the value or the largest worker count"
                            ))
                        })?;
                }
                spec.run_check(&params).map_err(|e| bench.origin.error(e))?;
                if first_family.is_none() {
                    first_family = Some((Arc::clone(spec), params.clone()));
                }
                if cases.len() >= MAX_CASES {
                    return Err(bench.origin.error(format!(
                        "more than {MAX_CASES} cases (workloads x values x schedules x worker counts); measure fewer at once"
                    )));
                }
                let mut c = case(spec, params, bench, &request, workers, *defaulted)?;
                c.settings.options.schedule = schedule;
                if bench.schedules.len() > 1 {
                    c.label = format!("{} [{} schedule]", c.label, schedule.name());
                    let ignore = "serial and rayon ignore the schedule (rayon balances by work stealing), so their \
                                  rows repeat under each schedule.";
                    c.properties.note = Some(match c.properties.note.take() {
                        Some(note) => format!("{note} {ignore}"),
                        None => ignore.to_string(),
                    });
                }
                // Results match cases by label and workers: two alike could not be told
                // apart, and compare would pair both with one.
                if let Some(first) = origins.insert((c.label.clone(), workers), &bench.origin) {
                    let place = |o: &Origin| match o {
                        Origin::Suite(s) => s.at.find("line ").map_or(s.at.as_str(), |i| &s.at[i..]).to_string(),
                        Origin::Cli => "the command line".to_string(),
                    };
                    return Err(bench.origin.error(format!(
                        "measures {} with {workers} workers, as {} does already: remove one of the two",
                        c.label,
                        place(first)
                    )));
                }
                cases.push(c);
                family_of.push(request.scale.as_ref().map(|_| families));
            }
            families += 1;
        }
    }
    let scale = match &request.scale {
        None => None,
        Some(scale) => {
            let workers = request.benches.first().map(|b| b.threads.clone()).unwrap_or_default();
            // Each runner's fixed cost, on the workload's own empty tasks when it
            // declares them, else on parbench's.
            for &w in &workers {
                let own = first_family.as_ref().and_then(|(spec, params)| {
                    spec.calibration_of(params).map(|p| (Arc::clone(spec), Params::new(p.to_values(), w, request.seed)))
                });
                let (spec, params) = own.unwrap_or_else(|| {
                    let noop = Arc::clone(registry.get(noop::NAME).expect("noop is always registered"));
                    (noop, Params::new(vec![("tasks".into(), Value::UInt(w as u64))], w, request.seed))
                });
                let bench = BenchRequest {
                    workload: spec.name().to_string(),
                    values: Vec::new(),
                    threads: vec![w],
                    runners: request.benches.first().and_then(|b| b.runners.clone()),
                    schedules: request.benches.first().map(|b| b.schedules.clone()).unwrap_or_default(),
                    origin: Origin::Cli,
                };
                // Calibration never fails the plan: a runner it cannot use is skipped.
                let mut c = case(&spec, params, &bench, &request, w, true)?;
                c.label = format!("{} (calibration)", c.label);
                cases.push(c);
                family_of.push(None);
            }
            Some(ScaleSpec { workers, weak: scale.weak, family_of, families, plot: None, timeline: None })
        }
    };
    check_result_size(&cases)?;
    check_thread_room(&cases, &crate::sys::room())?;
    let process = cases.iter().any(|c| c.settings.runners.iter().any(|r| r.processes()));
    if process {
        if let Some(program) = &request.worker_program {
            check_program(program, program_source)?;
        }
        check_temp_dir()?;
    }
    // Every output is checked, and none may be an input or another output, before
    // anything is measured.
    let output = request.output.iter().map(|path| output_file(path, request.format)).collect::<Result<Vec<_>, _>>()?;
    let mut scale = scale;
    if let (Some(spec), Some(asked)) = (&mut scale, &request.scale) {
        spec.plot = asked.plot.as_deref().map(|p| Output::prepare_svg("--plot", p)).transpose()?;
        spec.timeline = asked.timeline.as_deref().map(|p| Output::prepare_svg("--timeline", p)).transpose()?;
    }
    let outputs: Vec<&Output> = output
        .iter()
        .map(|o| &o.output)
        .chain(scale.iter().flat_map(|s| s.plot.iter().chain(s.timeline.iter())))
        .collect();
    let mut inputs: Vec<(String, PathBuf)> = request.inputs.clone();
    match &request.worker_program {
        Some(program) if process => inputs.push(("the worker program".into(), program.clone())),
        Some(_) => {}
        None if process => inputs.extend(std::env::current_exe().ok().map(|e| ("parbench's own program".into(), e))),
        None => {}
    }
    crate::output::check_distinct(&outputs, &inputs)?;
    let table_on_stderr = outputs.iter().any(|o| o.is_stdout());
    let stdout_format = if !output.is_empty() { Format::Table } else { request.format.unwrap_or_default() };
    let mut runners: Vec<RunnerId> = cases.iter().flat_map(|c| c.settings.runners.iter().copied()).collect();
    runners.sort();
    runners.dedup();
    let record = SettingsRecord {
        workers: cases.iter().map(|c| c.settings.workers).max().unwrap_or(1),
        runners,
        schedule: request.benches.first().and_then(|b| b.schedules.first().copied()).unwrap_or_default(),
        warmup: request.warmup,
        rounds: request.rounds.minimum(),
        precision_target: match request.rounds {
            Rounds::Auto { precision, .. } => Some(precision),
            Rounds::Fixed(_) => None,
        },
        max_time_s: match request.rounds {
            Rounds::Auto { max_time_s, .. } => Some(max_time_s),
            Rounds::Fixed(_) => None,
        },
        seed: request.seed,
        timeout_s: request.timeout.as_secs_f64(),
        pin: request.pin,
    };
    Ok(Plan {
        cases,
        record,
        suite: request.suite,
        stdout_format,
        table_on_stderr,
        output,
        scale,
        limit: request.limit,
    })
}

/// One combination of parameter values, and whether a default sweep produced it.
type Combination = (Vec<(String, Value)>, bool);

/// Every combination of values the bench asks for (several only for swept
/// parameters).
fn combinations(spec: &WorkloadSpec, bench: &BenchRequest) -> Result<Vec<Combination>, UsageError> {
    let origin = &bench.origin;
    for (name, _) in &bench.values {
        if !spec.params.iter().any(|p| &p.name == name) {
            let names: Vec<String> = spec.params.iter().map(|p| p.name.clone()).collect();
            let hint = crate::workload::param::suggest(name, names.iter());
            let takes = if names.is_empty() { "none".to_string() } else { names.join(", ") };
            return Err(origin.error(format!(
                "{} is not a parameter of {}{hint}; it takes {takes}",
                origin_name(origin, name),
                spec.name
            )));
        }
    }
    let mut combos: Vec<Combination> = vec![(Vec::new(), false)];
    for param in &spec.params {
        let given = bench.values.iter().find(|(n, _)| n == &param.name).map(|(_, v)| v);
        let options: Vec<Option<Value>> = match given {
            Some(raw) => parse_values(param, &texts(param, raw, origin)?, origin)?.into_iter().map(Some).collect(),
            None => param.absent_values().map_err(|e| UsageError::new(format!("{} {e}", origin.param(&param.name))))?,
        };
        let defaulted = given.is_none() && options.len() > 1;
        combos = combos
            .into_iter()
            .flat_map(|(values, d)| {
                options.iter().map(move |o| {
                    let mut values = values.clone();
                    values.extend(o.clone().map(|v| (param.name.clone(), v)));
                    (values, d || defaulted)
                })
            })
            .collect();
    }
    Ok(combos)
}

fn origin_name(origin: &Origin, name: &str) -> String {
    match origin {
        Origin::Cli => format!("--{name}"),
        Origin::Suite(_) => format!("field {name}"),
    }
}

/// The texts a raw value stands for; a suite value must have the parameter's type
/// (`n = "5"` is refused, as `n = 5.0` and `numbers = 7` are).
fn texts(param: &Param, raw: &Raw, origin: &Origin) -> Result<Vec<String>, UsageError> {
    use crate::workload::param::Kind;
    let value = match raw {
        Raw::Texts(texts) => return Ok(texts.clone()),
        Raw::Toml(value) => value,
    };
    let scalar = |v: &toml::Value| -> Option<String> {
        match (&param.kind, v) {
            (Kind::UInt { .. }, toml::Value::Integer(i)) => Some(i.to_string()),
            (Kind::Float { .. }, toml::Value::Integer(i)) => Some(i.to_string()),
            (Kind::Float { .. }, toml::Value::Float(f)) => Some(f.to_string()),
            (Kind::Text | Kind::Choice(_), toml::Value::String(s)) => Some(s.clone()),
            _ => None,
        }
    };
    let found = match value {
        toml::Value::Array(items) if matches!(param.kind, Kind::UIntList { .. }) => items
            .iter()
            .map(|v| v.as_integer().map(|i| i.to_string()))
            .collect::<Option<Vec<_>>>()
            .map(|items| vec![items.join(",")]),
        toml::Value::Array(items) if param.sweep => items.iter().map(scalar).collect::<Option<Vec<_>>>(),
        toml::Value::Array(_) => None,
        _ if matches!(param.kind, Kind::UIntList { .. }) => None,
        v => scalar(v).map(|t| vec![t]),
    };
    found.ok_or_else(|| {
        let expected = match &param.kind {
            Kind::UInt { .. } => "a whole number".to_string(),
            Kind::Float { .. } => "a number".to_string(),
            Kind::Text => "a string".to_string(),
            Kind::Choice(c) => format!("a string ({})", c.join(", ")),
            Kind::UIntList { .. } => "a list of whole numbers, e.g. [1, 2]".to_string(),
        };
        let or_list = if param.sweep { " or a list of them" } else { "" };
        let shown = crate::workload::param::shown(&value.to_string());
        origin.key_error(
            &param.name,
            format!("{} = {shown}: expects {expected}{or_list}, not {}", param.name, toml_type(value)),
        )
    })
}

/// "a string", "an array", ...: how TOML calls a value's type.
pub(crate) fn toml_type(value: &toml::Value) -> &'static str {
    match value {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "a whole number",
        toml::Value::Float(_) => "a number with a fraction",
        toml::Value::Boolean(_) => "true or false",
        toml::Value::Datetime(_) => "a date",
        toml::Value::Array(_) => "a list",
        toml::Value::Table(_) => "a table",
    }
}

/// Parses the given texts of one parameter; several only when it is swept. Repeated
/// values of a sweep are measured once.
fn parse_values(param: &Param, texts: &[String], origin: &Origin) -> Result<Vec<Value>, UsageError> {
    // No argument or environment value can hold a NUL byte (a suite's "\u0000" can):
    // refused here, before measuring, not by the first task.
    if let Some(t) = texts.iter().find(|t| t.contains('\0')) {
        return Err(UsageError::new(format!(
            "{}: holds a NUL character, which no command line or argument can carry",
            origin.value(&param.name, t)
        )));
    }
    if texts.is_empty() {
        return Err(UsageError::new(format!("{} is empty: give at least one value", origin.param(&param.name))));
    }
    if texts.len() > 1 && !param.sweep {
        return Err(UsageError::new(format!("{} takes one value, not {}", origin.param(&param.name), texts.join(","))));
    }
    let mut values: Vec<Value> = Vec::new();
    for text in texts {
        let v = param.parse(text).map_err(|e| UsageError::new(format!("{}: {e}", origin.value(&param.name, text))))?;
        if !values.contains(&v) {
            values.push(v);
        }
    }
    Ok(values)
}

/// Builds a case, skipping runners that cannot run it. An error when the user asked
/// explicitly for both the runner and the combination that it cannot run.
fn case(
    spec: &Arc<WorkloadSpec>,
    params: Params,
    bench: &BenchRequest,
    request: &Request,
    workers: usize,
    defaulted: bool,
) -> Result<Case, UsageError> {
    let properties = spec.properties_of(&params);
    let label = crate::workload::param::label(&spec.name, &params);
    let explicit_runners = bench.runners.is_some();
    let mut runners = bench.runners.clone().unwrap_or_else(RunnerId::all);
    runners.push(RunnerId::reference());
    runners.sort();
    runners.dedup();
    let mut skipped = Vec::new();
    // Runners this process cannot run and nobody asked for (the mpi runner outside
    // mpirun): left out without a word, as from a build without them.
    let mut quietly = Vec::new();
    for &runner in &runners {
        let info = runner.info().expect("the plan's runners are this build's");
        let unavailable = info.refusal.and_then(|refusal| refusal(workers, &properties));
        if let Some((reason, quiet)) = unavailable {
            let runner = bench.origin.runner(runner);
            if explicit_runners && bench.runners.as_ref().is_some_and(|r| r.contains(&info.id)) {
                return Err(bench.origin.error(format!("{runner} {reason}")));
            }
            if !quiet {
                skipped.push(Skipped { runner: info.id, reason });
            } else {
                quietly.push(info.id);
            }
            continue;
        }
        let refusal = if !info.clamps && workers > info.max_workers {
            let threads = match bench.origin {
                Origin::Cli => format!("--threads {workers}"),
                Origin::Suite(_) => format!("threads = {workers}"),
            };
            let unit = if info.processes { "processes" } else { "workers" };
            Some((format!("{threads} exceeds the {runner} runner's limit of {} {unit}", info.max_workers), true))
        } else if spec.is_pipeline() && info.pipeline.is_none() {
            let why = format!("{} is a pipeline and the {runner} runner has no pipeline model yet", spec.name);
            Some((why, true))
        } else if !runner.one_address_space() {
            properties.one_address_space.clone().map(|why| (why, false))
        } else {
            None
        };
        if let Some((reason, from_workers)) = refusal {
            if explicit_runners && (from_workers || !defaulted) {
                let runner = bench.origin.runner(runner);
                return Err(bench.origin.error(format!("{runner} cannot run {label}: {reason}")));
            }
            skipped.push(Skipped { runner, reason });
        }
    }
    runners.retain(|k| !skipped.iter().any(|s| s.runner == *k) && !quietly.contains(k));
    let settings = Settings {
        runners,
        workers,
        options: RunnerOptions {
            schedule: bench.schedules.first().copied().unwrap_or_default(),
            timeout: request.timeout,
            worker_program: request.worker_program.clone(),
            pin: request.pin,
        },
        warmup: request.warmup,
        rounds: request.rounds,
        seed: request.seed,
    };
    Ok(Case { spec: Arc::clone(spec), params, label, properties, settings, skipped })
}

/// Every measured sample is recorded, with one entry per worker: a result larger than
/// parbench reads back ([`crate::result::MAX_RESULT_BYTES`]) is refused now, not
/// written after the whole measurement. The sizes are low estimates of the JSON.
fn check_result_size(cases: &[Case]) -> Result<(), UsageError> {
    let bytes: u64 = cases
        .iter()
        .map(|c| {
            let rounds = match c.settings.rounds {
                Rounds::Fixed(n) => n,
                Rounds::Auto { .. } => crate::measure::MAX_AUTO_ROUNDS,
            };
            let samples = u64::from(rounds) * c.settings.runners.len() as u64;
            samples.saturating_mul(300 + 60 * c.settings.workers as u64)
        })
        .fold(0u64, u64::saturating_add);
    if bytes > crate::result::MAX_RESULT_BYTES {
        return Err(UsageError::new(format!(
            "the result would record at least {} MiB of samples (rounds x runners x workers), more than the {} GiB \
             parbench reads back; lower the rounds or the worker count",
            bytes >> 20,
            crate::result::MAX_RESULT_BYTES >> 30
        )));
    }
    Ok(())
}

/// Threads and processes alive at once are one case's (see `measure_all`): its pool,
/// held through its round, and the busiest of its samples. A case that would need
/// more than the machine's limits allow is refused now, not crashed in.
fn check_thread_room(cases: &[Case], room: &crate::sys::Room) -> Result<(), UsageError> {
    for case in cases {
        let (mut threads, mut tasks, mut sample_threads, mut sample_tasks) = (0u64, 0u64, 0u64, 0u64);
        for runner in &case.settings.runners {
            let started = runner.threads_started(case.settings.workers);
            threads += started.held_threads;
            tasks += started.held_tasks;
            sample_threads = sample_threads.max(started.sample_threads);
            sample_tasks = sample_tasks.max(started.sample_tasks);
        }
        let (threads, tasks) = (threads + sample_threads, tasks + sample_tasks);
        let limits = [
            (tasks, "threads and processes", &room.tasks),
            (threads, "threads", &room.threads),
            (threads, "threads", &room.address),
        ];
        for (needed, what, limit) in limits {
            if let Some((left, limit)) = limit.as_ref().filter(|(left, _)| needed > *left) {
                return Err(UsageError::new(format!(
                    "{} with {} workers would start {needed} {what} at once, but {limit} leaves room for {left}: \
                     lower the worker count (--threads) or raise that limit",
                    case.label, case.settings.workers
                )));
            }
        }
    }
    Ok(())
}

/// The environment variable that names the worker program when `--worker-program`
/// does not.
pub const WORKER_PROGRAM_ENV: &str = "PARBENCH_WORKER_PROGRAM";

/// The worker program must be a file this user may execute; `source` is the flag or
/// the environment variable that named it.
fn check_program(program: &Path, source: &str) -> Result<(), UsageError> {
    use std::os::unix::fs::PermissionsExt;
    let shown = program.display();
    if program.as_os_str().is_empty() {
        let fix = if source == WORKER_PROGRAM_ENV { "unset it" } else { "leave the flag out" };
        return Err(UsageError::new(format!(
            "{source} is empty: name the program the process runner starts, or {fix} to use this program"
        )));
    }
    match std::fs::metadata(program) {
        Err(e) => Err(UsageError::new(format!("{source} {shown}: {e}"))),
        Ok(m) if !m.is_file() => Err(UsageError::new(format!("{source} {shown}: not a file"))),
        Ok(m) if m.permissions().mode() & 0o111 == 0 => {
            Err(UsageError::new(format!("{source} {shown}: not executable")))
        }
        Ok(_) => Ok(()),
    }
}

/// The process runner keeps each worker's stderr in an unnamed file in the temporary
/// directory: one that cannot hold files is named now, before anything is measured.
fn check_temp_dir() -> Result<(), UsageError> {
    tempfile::tempfile().map(drop).map_err(|e| {
        let dir = match std::env::var_os("TMPDIR") {
            Some(dir) => format!("TMPDIR={}", Path::new(&dir).display()),
            None => format!("the temporary directory {}", std::env::temp_dir().display()),
        };
        UsageError::new(format!(
            "{dir}: cannot create files there ({e}); the process runner keeps its workers' stderr there: \
             set TMPDIR to a writable directory"
        ))
    })
}

/// `FORMAT:PATH` (`json:out.txt`, `md:-`): the format named before the first colon, and
/// the path after it; `None` when the text before the colon names no format (a path
/// that merely contains a colon, or `./json:x` for a file of that name).
fn format_prefix(path: &Path) -> Option<(Format, PathBuf)> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_os_str().as_bytes();
    let colon = bytes.iter().position(|&b| b == b':')?;
    let format = match std::str::from_utf8(&bytes[..colon]).ok()? {
        "md" => Format::Markdown,
        "txt" => Format::Table,
        name => clap::ValueEnum::from_str(name, true).ok()?,
    };
    Some((format, PathBuf::from(std::ffi::OsStr::from_bytes(&bytes[colon + 1..]))))
}

/// Checks one `--output` and prepares it, before anything is measured. Its format is a
/// `FORMAT:` prefix, else the extension (which `--format` must agree with), else
/// `--format`; `-` (standard output) takes the format of `--format`, JSON by default.
pub fn output_file(path: &Path, format: Option<Format>) -> Result<OutputFile, UsageError> {
    if let Some((format, rest)) = format_prefix(path) {
        if rest.as_os_str().is_empty() {
            return Err(UsageError::new(format!("--output {}: give a file name after the colon", path.display())));
        }
        return Ok(OutputFile { output: Output::prepare("--output", &rest)?, format });
    }
    let shown = path.display();
    let format = match (format, Format::from_extension(path)) {
        _ if path.as_os_str() == "-" => format.unwrap_or(Format::Json),
        (Some(asked), Some(implied)) if asked != implied && !matches!(asked, Format::Bmf | Format::GithubBenchmark) => {
            return Err(UsageError::new(format!(
                "--output {shown}: the extension says {implied:?} but --format says {asked:?}; make them agree"
            )));
        }
        (Some(f), _) | (None, Some(f)) => f,
        (None, None) if path.is_dir() => {
            return Err(UsageError::new(format!("--output {shown}: is a directory; give a file name")));
        }
        (None, None) => {
            return Err(UsageError::new(format!(
                "--output {shown}: cannot tell the format from the extension; use .json, .csv, .md or .txt, \
                 a format prefix (json:{shown}), or add --format"
            )));
        }
    };
    Ok(OutputFile { output: Output::prepare("--output", path)?, format })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan of a whole command line (`parbench scale ...`).
    fn plan_line(argv: &str) -> Result<Plan, UsageError> {
        let invocation = crate::cli::parse(&Registry::with_builtins(), argv.split_whitespace()).unwrap();
        let crate::cli::Invocation::Measure(request) = invocation else { panic!("not a measurement") };
        plan(&Registry::with_builtins(), *request)
    }

    fn plan_args(args: &str) -> Result<Plan, UsageError> {
        plan_line(&format!("parbench run {args}"))
    }

    #[test]
    fn a_case_needing_more_threads_than_the_limits_allow_is_refused_naming_the_limit() {
        let sweep = plan_line("parbench scale fib --threads 1..140 --rounds 1").unwrap();
        let room = |tasks: u64, threads: u64| crate::sys::Room {
            tasks: Some((tasks, "ulimit -u (RLIMIT_NPROC) 500, 10 in use by this user".into())),
            threads: Some((threads, "vm.max_map_count 65530".into())),
            address: None,
        };
        // One case at a time: 140 threads of each pool (or runtime) and 140 pool
        // processes held through the case, plus 140 for the busiest sample (the threads
        // runner's threads, or the process runner's children, read by one poll loop),
        // not the 9,870 of every pool of the sweep at once. The pool's processes are
        // tasks, but no threads of parbench: they take none of its maps or address space.
        let started: Vec<crate::runner::Started> = RunnerId::all().iter().map(|r| r.threads_started(140)).collect();
        let held_threads: u64 = started.iter().map(|s| s.held_threads).sum();
        let held_tasks: u64 = started.iter().map(|s| s.held_tasks).sum();
        assert_eq!(held_threads, 2 * 140, "the rayon pool and the async runtime are threads");
        assert_eq!(held_tasks, 3 * 140, "and the pool's processes are tasks");
        let (tasks, threads) = (held_tasks + 140, held_threads + 140);
        assert!(check_thread_room(&sweep.cases, &room(tasks, threads)).is_ok());
        let err = check_thread_room(&sweep.cases, &room(tasks - 1, 10_000)).unwrap_err().0;
        assert!(err.contains(&format!("with 140 workers would start {tasks} threads and processes at once")), "{err}");
        assert!(
            err.contains("ulimit -u (RLIMIT_NPROC) 500") && err.contains(&format!("room for {}", tasks - 1)),
            "{err}"
        );
        let err = check_thread_room(&sweep.cases, &room(10_000, threads - 1)).unwrap_err().0;
        assert!(err.contains(&format!("with 140 workers would start {threads} threads at once")), "{err}");
        assert!(err.contains("vm.max_map_count"), "{err}");
        assert!(check_thread_room(&sweep.cases, &crate::sys::Room::default()).is_ok(), "no limit known");
        let address = |left: u64| crate::sys::Room {
            address: Some((left, "ulimit -v 1024 MiB (15 MiB in use)".into())),
            ..room(10_000, 10_000)
        };
        assert!(check_thread_room(&sweep.cases, &address(threads)).is_ok());
        let err = check_thread_room(&sweep.cases, &address(threads - 1)).unwrap_err().0;
        assert!(err.contains(&format!("{threads} threads at once")) && err.contains("ulimit -v 1024 MiB"), "{err}");
    }

    #[test]
    fn serial_is_always_measured() {
        let p = plan_args("fib --runner threads --threads 2").unwrap();
        assert_eq!(p.cases[0].settings.runners, vec![RunnerId::new("serial"), RunnerId::new("threads")]);
    }

    #[test]
    fn counter_defaults_to_all_modes_and_skips_mutex_under_process() {
        let p = plan_args("counter --threads 2").unwrap();
        assert_eq!(p.cases.len(), 4);
        let mutex = p.cases.iter().find(|c| c.label.contains("sync=mutex")).unwrap();
        let skipped: Vec<RunnerId> = mutex.skipped.iter().map(|s| s.runner).collect();
        assert_eq!(skipped, [RunnerId::new("process"), RunnerId::new("process-pool")]);
        assert!(!mutex.settings.runners.iter().any(|r| r.processes()));
    }

    #[test]
    fn mutex_with_an_explicit_process_runner_is_refused() {
        let err = plan_args("counter --sync mutex --runner process").unwrap_err();
        assert!(err.0.contains("runner process cannot run") && err.0.contains("atomic"), "{err}");
        // Asked for process explicitly but not mutex: mutex is skipped, not an error.
        let p = plan_args("counter --runner process").unwrap();
        assert_eq!(p.cases.len(), 4);
    }

    #[test]
    fn counter_tasks_follow_the_worker_count() {
        let p = plan_args("counter --threads 3 --sync atomic").unwrap();
        assert_eq!(p.cases[0].spec.build(&p.cases[0].params).unwrap().task_count(), 3);
    }

    #[test]
    fn too_many_processes_are_refused_only_when_asked_for() {
        assert!(plan_args("fib --threads 300 --runner process").is_err());
        let p = plan_args("fib --threads 300").unwrap();
        assert_eq!(p.cases[0].skipped[0].runner, RunnerId::new("process"));
    }

    #[test]
    fn values_are_checked_with_the_flag_named() {
        let err = plan_args("fib --n 60").unwrap_err().0;
        assert_eq!(err, "--n 60: 60 is out of range 1..=50");
        let err = plan_args("factorize --numbers 1,2 --count 3").unwrap_err().0;
        assert!(err.contains("not both"), "{err}");
        let err = plan_args("command --tasks 2").unwrap_err().0;
        assert_eq!(err, "--cmd is required");
    }

    #[test]
    fn two_schedules_give_one_case_each_and_say_what_ignores_them() {
        let p = plan_args("factorize --schedule static,dynamic --threads 2").unwrap();
        let labels: Vec<&str> = p.cases.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(labels.len(), 2);
        assert!(labels[0].ends_with("[static schedule]") && labels[1].ends_with("[dynamic schedule]"), "{labels:?}");
        assert_eq!(p.cases[0].settings.options.schedule, Schedule::Static);
        assert!(p.cases[0].properties.note.as_deref().unwrap().contains("rayon ignore"));
        assert_eq!(plan_args("factorize").unwrap().cases.len(), 1);
    }

    #[test]
    fn generated_factorize_numbers_use_the_seed() {
        let a = plan_args("factorize --count 3 --max 1000 --seed 4").unwrap();
        let b = plan_args("factorize --count 3 --max 1000 --seed 4").unwrap();
        assert_eq!(a.cases[0].params, b.cases[0].params);
        assert_eq!(a.cases[0].params.seed(), 4);
    }

    #[test]
    fn weak_scaling_past_the_task_limit_is_refused_before_measuring() {
        let err = plan_line("parbench scale fib --n 1 --tasks 1000000 --threads 1,1024 --weak").unwrap_err().0;
        assert!(err.contains("more than the 1000000 allowed"), "{err}");
    }

    #[test]
    fn derived_values_beyond_their_declared_range_are_refused_before_measuring() {
        // Strong scaling keeps increments x workers: 1e10 x 2 at one worker is over 1e10.
        let argv = "parbench scale counter --sync atomic --increments 10000000000 --threads 1,2";
        let err = plan_line(argv).unwrap_err().0;
        assert!(err.starts_with("strong scaling to 1 worker makes increments: 20000000000 is out of range"), "{err}");
    }

    #[test]
    fn a_result_too_large_to_read_back_is_refused_before_measuring() {
        let err = plan_args("fib --n 1 --tasks 1 --threads 1024 --rounds 10000").unwrap_err().0;
        assert!(err.starts_with("the result would record at least ") && err.contains("1 GiB"), "{err}");
        plan_args("fib --n 1 --tasks 1 --threads 1024 --rounds 1000").unwrap();
    }

    #[test]
    fn an_output_in_a_missing_directory_is_refused() {
        let err = plan_args("fib --output /nonexistent-dir/x.json").unwrap_err();
        assert!(err.0.contains("--output /nonexistent-dir/x.json"), "{err}");
    }

    #[test]
    fn an_output_without_a_known_extension_needs_a_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("result.dat");
        let err = plan_args(&format!("fib --output {}", path.display())).unwrap_err();
        assert!(err.0.contains("--format"), "{err}");
        let ok = plan_args(&format!("fib --output {} --format json", path.display())).unwrap();
        assert_eq!(ok.output[0].format, Format::Json);
    }

    #[test]
    fn each_output_takes_its_format_from_a_prefix_or_its_extension() {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str| dir.path().join(name).display().to_string();
        let plan = plan_args(&format!(
            "fib --output {} --output json:{} --output md:{} --output CSV:{}",
            at("a.md"),
            at("b.txt"),
            at("c"),
            at("d.json")
        ))
        .unwrap();
        let formats: Vec<Format> = plan.output.iter().map(|o| o.format).collect();
        assert_eq!(formats, [Format::Markdown, Format::Json, Format::Markdown, Format::Csv]);
        assert_eq!(plan.output[1].output.path, dir.path().join("b.txt"));
        // A colon after no format name is part of the path.
        let plain = plan_args(&format!("fib --output {}", at("x:y.json"))).unwrap();
        assert_eq!(
            (plain.output[0].format, plain.output[0].output.path.clone()),
            (Format::Json, dir.path().join("x:y.json"))
        );
        assert!(plan_args("fib --output json:").unwrap_err().0.contains("after the colon"));
    }
}
