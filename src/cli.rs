//! Command-line syntax. The fixed commands are clap derive types; `run` and `scale`
//! get one subcommand per registered workload, whose flags are built from the
//! workload's declared parameters. Parsing yields an [`Invocation`]: a
//! [`plan::Request`](crate::plan::Request) of raw text values for the measuring
//! commands, which [`crate::plan`] validates, once, for flags and suite files alike.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Args, FromArgMatches, Subcommand};

use crate::measure::Rounds;
use crate::plan::{BenchRequest, Origin, Request, ScaleRequest};
use crate::registry::Registry;
use crate::report::Format;
use crate::runner::{RunnerId, Schedule};
use crate::workload::WorkloadSpec;

// Every line of these blocks fits 78 columns: clap wraps help text at the terminal's
// width, and a longer line would be broken again without its hanging indent.
macro_rules! exit_codes {
    () => {
        "\
Exit codes:
  0    success
  1    a benchmark failed: a wrong answer, or a worker process crashed or
       timed out; or an output could not be written after measuring (named;
       the others are still written)
  2    usage or input error (bad flag value, unusable output, estimated
       beyond --limit); nothing was measured
  130  interrupted (Ctrl-C, SIGTERM or SIGHUP); every worker process was
       stopped"
    };
}

macro_rules! run_examples {
    () => {
        "\
Examples:
  parbench run fib --threads 4              fib(34) x 8 tasks, every runner
  parbench run sleep --threads 8 --ms 20    I/O-bound: more workers than cores
  parbench run factorize --schedule static,dynamic
  parbench run counter --sync none,atomic   the unsynchronised counter
  parbench run command --cmd 'xz -9 -c d/{task}.bin >/dev/null' --tasks 8
  parbench run fib --format json --output fib.json"
    };
}

const EXIT_CODES: &str = exit_codes!();
/// The top-level help: the codes of every subcommand.
const TOP_EXIT_CODES: &str = "\
Exit codes:
  0    success; compare, ab: no gated regression
  1    a benchmark failed: a wrong answer, or a worker process crashed or
       timed out; or an output could not be written after measuring (named;
       the others are still written); compare, ab: a regression
  2    usage or input error (bad flag value, unusable file or output,
       estimated beyond --limit); nothing was measured
  3    compare: the results are not comparable (different machine class,
       suite configuration, schedule or pinning; --allow-incomparable);
       ab: the two builds plan different measurements
  130  interrupted (Ctrl-C, SIGTERM or SIGHUP); every worker process was
       stopped";
const SCALE_AFTER_HELP: &str = "\
Examples:
  parbench scale fib --threads 1,2,4,8 --plot fib.svg
  parbench scale factorize --threads 1..4 --timeline factorize.svg
  parbench scale sleep --threads auto --weak
  parbench scale counter --sync atomic,sharded --threads 1,2,4 --output c.json";
const COMPARE_AFTER_HELP: &str = "\
Examples:
  parbench compare results/baseline/ci.json new.json
  parbench compare baselines/ new.json --format markdown >> $GITHUB_STEP_SUMMARY

Exit codes:
  0    no gated regression
  1    a regression
  2    input error: unreadable, corrupt or wrong-version result, nothing to
       compare, no gated cell could be judged, NEW lacks a case or runner of
       BASE (--allow-missing), or stdout could not be written
  3    not comparable: different machine class, suite configuration,
       schedule or pinning (--allow-incomparable)";
const AB_AFTER_HELP: &str = "\
Examples:
  parbench ab ./parbench-base ./parbench-new -- suite workloads/ci.toml
  parbench ab target/base/bench target/new/bench -- run checksum --threads 4
  parbench ab A B --format markdown -- run fib --n 28 --threads 2

Both programs are started once, as servers of samples, and kept; every round
runs each case and runner under both, in one seeded shuffled order. The
verdict is compare's, on the per-round ratios NEW/BASE (signed-rank interval).

Exit codes:
  0    no gated regression
  1    a regression; or a build failed verification, died or hung (named)
  2    usage or input error: a program that is not a parbench build (named),
       a command line the builds refuse, no gated cell could be judged
  3    not comparable: the two builds plan different measurements (the
       first difference is named)
  130  interrupted; both builds and everything they started were stopped";
const BASELINE_AFTER_HELP: &str = "\
Examples:
  parbench baseline update baselines/ new.json --keep 10

Exit codes:
  0    the directory is updated
  2    input error: an unreadable or refused result, or the directory
       could not be written; nothing in it changed";
const SUITE_AFTER_HELP: &str = concat!(
    "Examples:\n",
    "  parbench suite workloads/ci.toml --output results/ci.json\n",
    "  parbench suite workloads/seeds.toml --format markdown\n\n",
    exit_codes!()
);
const OTHER_AFTER_HELP: &str = "\
Exit codes:
  0    success
  2    usage error, or stdout could not be written";
const RUN_EXAMPLES: &str = run_examples!();

/// The help's examples for the workloads `registry` has: the lines of `examples`
/// (`  parbench run fib ...`) naming a workload `keep` accepts, or, when none does (a
/// user's program registers only its own), one line per such workload of `registry`.
fn examples_for(registry: &Registry, examples: &str, keep: &dyn Fn(&str) -> bool) -> String {
    // Programs that register none of the built-ins get examples of their own workloads.
    let mut lines = examples.lines();
    let heading = lines.next().unwrap_or("Examples:");
    let verb = if examples.contains("parbench scale ") { "scale" } else { "run" };
    let mut kept: Vec<String> = lines
        .filter(|l| l.split_whitespace().nth(2).is_some_and(|w| registry.get(w).is_some() && keep(w)))
        .map(String::from)
        .collect();
    if kept.is_empty() {
        kept = registry
            .visible()
            .filter(|s| keep(s.name()))
            .take(4)
            .map(|s| {
                format!("  parbench {verb} {} --threads {}", s.name(), if verb == "scale" { "1,2,4" } else { "4" })
            })
            .collect();
    }
    if kept.is_empty() { String::new() } else { format!("{heading}\n{}", kept.join("\n")) }
}

/// `run`'s and `scale`'s help after the options: examples for `registry`'s workloads, exit codes.
fn after_help(registry: &Registry, examples: &str, keep: &dyn Fn(&str) -> bool) -> String {
    match examples_for(registry, examples, keep) {
        e if e.is_empty() => EXIT_CODES.to_string(),
        e => format!("{e}\n\n{EXIT_CODES}"),
    }
}

/// Compare serial, threaded, pooled (rayon) and multi-process execution of the same
/// workloads, with verified results and paired statistics.
const ABOUT: &str = "Compare serial, threaded, pooled (rayon) and multi-process execution of the same \
                     workloads, with verified results and paired statistics";

/// The commands whose syntax does not depend on the registry.
#[derive(Debug, Subcommand)]
enum Fixed {
    /// Run a suite file (workloads/*.toml) and write one result.
    #[command(after_help = SUITE_AFTER_HELP)]
    Suite(SuiteArgs),
    /// Decide whether NEW regressed against BASE (a result file, or a directory of
    /// recent baseline results from the same machine class).
    #[command(after_help = COMPARE_AFTER_HELP)]
    Compare(CompareArgs),
    /// Decide whether build NEW is slower than build BASE: both measured round by
    /// round in one job, judged on the paired ratios (an A/B gate for CI).
    #[command(after_help = AB_AFTER_HELP)]
    Ab(AbArgs),
    /// Maintain a directory of baseline results.
    #[command(subcommand, after_help = BASELINE_AFTER_HELP)]
    Baseline(BaselineCommand),
    /// List the workloads and runners with their parameters and defaults.
    #[command(after_help = OTHER_AFTER_HELP)]
    List,
    /// Print a shell completion script (e.g. `parbench completions bash >
    /// ~/.local/share/bash-completion/completions/parbench`).
    #[command(after_help = OTHER_AFTER_HELP)]
    Completions {
        /// The shell.
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) to stdout (e.g. `parbench man | man -l -`).
    #[command(after_help = OTHER_AFTER_HELP)]
    Man,
    /// Internal: a process-runner worker, driven over stdin and stdout.
    #[command(hide = true)]
    Worker,
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Invocation {
    /// `run` or `scale`: measure.
    Measure(Box<Request>),
    /// `suite FILE`.
    Suite(SuiteArgs),
    /// `compare BASE NEW`.
    Compare(CompareArgs),
    /// `ab BASE NEW -- ...`.
    Ab(AbArgs),
    /// `baseline ...`.
    Baseline(BaselineCommand),
    /// `list`.
    List,
    /// `completions SHELL`.
    Completions(clap_complete::Shell),
    /// `man`.
    Man,
    /// `worker` (normally caught before parsing, see [`crate::main`]).
    Worker,
}

/// The whole command line, with one `run` and one `scale` subcommand per workload of
/// `registry`.
pub fn command(registry: &Registry) -> clap::Command {
    let workloads =
        |scale: bool| registry.visible().map(move |spec| workload_command(registry, spec, scale)).collect::<Vec<_>>();
    let run = clap::Command::new("run")
        .about("Measure one workload under the serial, threads, rayon, process and async runners")
        .after_help(after_help(registry, RUN_EXAMPLES, &|_| true))
        .subcommand_required(true)
        .subcommand_value_name("WORKLOAD")
        .subcommand_help_heading("Workloads")
        .disable_help_subcommand(true)
        .subcommands(workloads(false));
    let scale = clap::Command::new("scale")
        .about(
            "Sweep worker counts: speedup and efficiency with confidence intervals, Amdahl and USL fits, \
             runner overheads, load balance, plots",
        )
        .after_help(after_help(registry, SCALE_AFTER_HELP, &|_| true))
        .subcommand_required(true)
        .subcommand_value_name("WORKLOAD")
        .subcommand_help_heading("Workloads")
        .disable_help_subcommand(true)
        .subcommands(workloads(true));
    let top = clap::Command::new("parbench")
        .version(env!("CARGO_PKG_VERSION"))
        .about(ABOUT)
        .after_help(TOP_EXIT_CODES)
        .max_term_width(100)
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(run)
        .subcommand(scale);
    let top = DisplayArgs::augment_args(top.next_help_heading("Display"));
    // The derive would take the enum's doc comment as the program's description.
    Fixed::augment_subcommands(top).about(ABOUT)
}

/// How the output is shown: flags every command takes, anywhere on the line.
#[derive(Debug, Args)]
pub struct DisplayArgs {
    /// Colour: auto (when stdout is a terminal; NO_COLOR turns it off, CLICOLOR_FORCE
    /// on), always or never.
    #[arg(long, value_name = "WHEN", default_value = "auto", global = true)]
    pub color: crate::report::ColorChoice,
    /// Characters: unicode, or ascii for logs and terminals without Unicode (us, +/-).
    #[arg(long, value_name = "STYLE", default_value = "unicode", global = true)]
    pub style: crate::report::Style,
    /// Print only the answer line of each case (and errors).
    #[arg(short = 'q', long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print every note in full: the sentence behind the answer, each runner's own.
    #[arg(short = 'v', long, global = true)]
    pub verbose: bool,
}

/// How to show the output, from [`DisplayArgs`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Display {
    /// `--color`.
    pub color: crate::report::ColorChoice,
    /// `--style`.
    pub style: crate::report::Style,
    /// `--quiet`, `--verbose` or neither.
    pub detail: crate::report::Detail,
}

/// One workload's subcommand: its declared parameters, then the flags every workload
/// takes.
fn workload_command(registry: &Registry, spec: &WorkloadSpec, scale: bool) -> clap::Command {
    let this = |w: &str| w == spec.name();
    let help = after_help(registry, if scale { SCALE_AFTER_HELP } else { RUN_EXAMPLES }, &this);
    let mut cmd = clap::Command::new(spec.name().to_string())
        .about(spec.about().to_string())
        .after_help(help)
        .next_help_heading("Workload parameters");
    for p in spec.params() {
        let help = format!("{} {}", p.help, p.default_and_range()).trim().to_string();
        let mut arg = Arg::new(p.name().to_string())
            .long(p.name().to_string())
            .value_name(p.value_name())
            .help(help)
            .action(ArgAction::Set)
            .allow_hyphen_values(true);
        if p.sweep {
            arg = arg.value_delimiter(',').action(ArgAction::Append);
        }
        cmd = cmd.arg(arg);
    }
    let cmd = CommonArgs::augment_args(cmd.next_help_heading("Measurement"));
    let cmd = if scale { ScaleFlags::augment_args(cmd) } else { cmd };
    // The derive would take the flag structs' doc comments as the workload's description.
    cmd.about(spec.about().to_string())
}

/// Parses a command line (program name first) against `registry`: what it asks for.
pub fn parse<I, T>(registry: &Registry, args: I) -> Result<Invocation, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    parse_with_display(registry, args).map(|(invocation, _)| invocation)
}

/// Parses a command line (program name first) against `registry`: what it asks for,
/// and how to show the output.
pub fn parse_with_display<I, T>(registry: &Registry, args: I) -> Result<(Invocation, Display), clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let mut cmd = command(registry).color(help_color(&args));
    cmd.build();
    let matches = cmd.try_get_matches_from_mut(&args).map_err(|e| in_words_of_parbench(&cmd, &args, e))?;
    let flags = DisplayArgs::from_arg_matches(&matches)?;
    let detail = match (flags.quiet, flags.verbose) {
        (true, _) => crate::report::Detail::Quiet,
        (_, true) => crate::report::Detail::Verbose,
        _ => crate::report::Detail::Normal,
    };
    let display = Display { color: flags.color, style: flags.style, detail };
    invocation(registry, &matches).map(|i| (i, display))
}

/// The value of the last `flag VALUE` or `flag=VALUE` before any `--`, read before
/// parsing: for what clap prints itself (help, errors), which the parsed flags come
/// too late for.
fn early_value(args: &[OsString], flag: &str) -> Option<String> {
    let mut found = None;
    let mut args = args.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(arg) = args.next() {
        match arg.as_ref() {
            "--" => break,
            a if a == flag => found = args.next().map(|v| v.into_owned()),
            a => {
                if let Some(v) = a.strip_prefix(flag).and_then(|v| v.strip_prefix('=')) {
                    found = Some(v.to_string());
                }
            }
        }
    }
    found
}

/// `--color` for the help clap prints: `auto` (clap's, which heeds `NO_COLOR` and
/// `CLICOLOR_FORCE`) when absent or not a colour choice.
fn help_color(args: &[OsString]) -> clap::ColorChoice {
    match early_value(args, "--color").as_deref() {
        Some("always") => clap::ColorChoice::Always,
        Some("never") => clap::ColorChoice::Never,
        _ => clap::ColorChoice::Auto,
    }
}

/// `--timeout` of a run or scale as the command line gives it, before it is parsed
/// (an MPI rank's guard waits that long for MPI to start, and MPI starts first): the
/// default when absent or not a duration (the parse proper then reports it).
#[cfg_attr(not(feature = "mpi"), allow(dead_code))]
pub fn early_timeout(args: &[OsString]) -> std::time::Duration {
    early_value(args, "--timeout")
        .and_then(|v| parse_timeout(&v).ok())
        .unwrap_or_else(|| parse_timeout(TIMEOUT_DEFAULT).expect("the default is a duration"))
}

/// `--style` as the command line gives it, for a command line that does not parse:
/// its error is written in that style too.
pub fn early_style(args: &[OsString]) -> crate::report::Style {
    match early_value(args, "--style").as_deref() {
        Some("ascii") => crate::report::Style::Ascii,
        _ => crate::report::Style::Unicode,
    }
}

fn invocation(registry: &Registry, matches: &ArgMatches) -> Result<Invocation, clap::Error> {
    match matches.subcommand() {
        Some((which @ ("run" | "scale"), sub)) => {
            let (name, m) = sub.subcommand().expect("a workload subcommand is required");
            let spec = registry.get(name).expect("subcommands come from the registry");
            measure_request(spec, m, which == "scale").map(|r| Invocation::Measure(Box::new(r)))
        }
        _ => Ok(match Fixed::from_arg_matches(matches)? {
            Fixed::Suite(a) => Invocation::Suite(a),
            Fixed::Compare(a) => Invocation::Compare(a),
            Fixed::Ab(a) => Invocation::Ab(a),
            Fixed::Baseline(b) => Invocation::Baseline(b),
            Fixed::List => Invocation::List,
            Fixed::Completions { shell } => Invocation::Completions(shell),
            Fixed::Man => Invocation::Man,
            Fixed::Worker => Invocation::Worker,
        }),
    }
}

/// Rewords the parse errors whose clap wording misleads: a workload clap calls a
/// subcommand, and a flag unknown here that another subcommand takes (`run ... --plot`
/// is `scale`'s), which clap calls only unexpected.
fn in_words_of_parbench(cmd: &clap::Command, args: &[OsString], e: clap::Error) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let string = |kind| match e.get(kind) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        Some(ContextValue::Strings(list)) => list.first().cloned(),
        _ => None,
    };
    // The subcommands the command line named, from the program on.
    let mut path = vec![cmd];
    for arg in args.iter().skip(1) {
        match arg.to_str().and_then(|a| path.last().and_then(|c| c.find_subcommand(a))) {
            Some(sub) => path.push(sub),
            None => break,
        }
    }
    let here = path.last().expect("the program itself");
    let named = path.iter().map(|c| c.get_name()).collect::<Vec<_>>().join(" ");
    match e.kind() {
        ErrorKind::InvalidSubcommand if here.get_subcommand_value_name() == Some("WORKLOAD") => {
            let Some(typed) = string(ContextKind::InvalidSubcommand) else { return e };
            let guess =
                string(ContextKind::SuggestedSubcommand).map(|s| format!(" did you mean '{s}'?")).unwrap_or_default();
            let names: Vec<&str> = here
                .get_subcommands()
                .filter(|c| !c.is_hide_set() && c.get_name() != "help")
                .map(|c| c.get_name())
                .collect();
            clap::Error::raw(
                ErrorKind::InvalidSubcommand,
                format!("unknown workload '{typed}';{guess} workloads: {}\n", names.join(", ")),
            )
        }
        ErrorKind::UnknownArgument => {
            let Some(typed) = string(ContextKind::InvalidArg) else { return e };
            let flag = typed.split('=').next().unwrap_or(&typed);
            let takes = |c: &clap::Command| {
                c.get_arguments().any(|a| {
                    !a.is_hide_set()
                        && (a.get_long().is_some_and(|l| flag.strip_prefix("--") == Some(l))
                            || a.get_short().is_some_and(|s| flag == format!("-{s}")))
                })
            };
            let mut elsewhere = Vec::new();
            commands_taking(cmd, &mut vec![cmd.get_name()], &takes, &mut elsewhere);
            // The same workload under another command first: `run fib --plot` -> `scale fib`.
            elsewhere.sort_by_key(|p| p.last() != Some(&here.get_name()));
            let Some(mut other) = elsewhere.into_iter().find(|p| p.join(" ") != named) else { return e };
            // A flag of another workload is a flag of every workload: say so.
            let parent = other.get(1).and_then(|p| cmd.find_subcommand(p));
            let workload = parent.is_some_and(|p| p.get_subcommand_value_name() == Some("WORKLOAD"));
            if other.len() == 3 && workload && other[2] != here.get_name() {
                other[2] = "<WORKLOAD>";
            }
            let other = other.join(" ");
            clap::Error::raw(
                ErrorKind::UnknownArgument,
                format!("'{named}' takes no {flag}; it is a flag of '{other}' (see {other} --help)\n"),
            )
        }
        _ => e,
    }
}

/// The paths (`parbench scale fib`) of the visible commands under `cmd` that `takes`.
fn commands_taking<'a>(
    cmd: &'a clap::Command,
    path: &mut Vec<&'a str>,
    takes: &dyn Fn(&clap::Command) -> bool,
    found: &mut Vec<Vec<&'a str>>,
) {
    if takes(cmd) {
        found.push(path.clone());
    }
    for sub in cmd.get_subcommands().filter(|c| !c.is_hide_set()) {
        path.push(sub.get_name());
        commands_taking(sub, path, takes, found);
        path.pop();
    }
}

/// Writes the completion script for `shell`, from the same definitions as parsing.
pub fn completions(
    registry: &Registry,
    shell: clap_complete::Shell,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let mut cmd = command(registry);
    let name = cmd.get_name().to_string();
    // Into memory first: the generator panics on a failed write (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, name, &mut script);
    out.write_all(&script)
}

/// Writes the manual page (roff), from the same definitions as parsing. The title
/// line comes first, as `man` and `file` expect; the string definitions the generator
/// puts before it follow it (they only need to precede their use).
pub fn man(registry: &Registry, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut page = Vec::new();
    clap_mangen::Man::new(command(registry)).render(&mut page)?;
    let text = String::from_utf8_lossy(&page);
    let (title, rest): (Vec<&str>, Vec<&str>) = text.lines().partition(|l| l.starts_with(".TH "));
    for line in title.into_iter().chain(rest) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

fn measure_request(spec: &WorkloadSpec, m: &ArgMatches, scale: bool) -> Result<Request, clap::Error> {
    let common = CommonArgs::from_arg_matches(m)?;
    let world = mpi_workers(common.runners.as_deref());
    let threads = match (common.threads.map(|t| t.0), scale) {
        (None, false) => vec![world.unwrap_or_else(crate::fingerprint::available_parallelism)],
        (None, true) => world.map_or_else(auto_threads, sub_worlds),
        (Some(list), true) => list,
        (Some(list), false) if list.len() == 1 => list,
        (Some(_), false) => {
            let typed = m.get_raw("threads").into_iter().flatten().next().map(|t| t.to_string_lossy().into_owned());
            return Err(clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!(
                    "--threads {}: run takes one worker count; use `parbench scale` to sweep several\n",
                    typed.unwrap_or_default()
                ),
            ));
        }
    };
    let values = spec
        .params()
        .iter()
        .filter_map(|p| {
            m.get_many::<String>(p.name())
                .map(|v| (p.name().to_string(), crate::plan::Raw::Texts(v.cloned().collect())))
        })
        .collect();
    let scale = if scale {
        let flags = ScaleFlags::from_arg_matches(m)?;
        Some(ScaleRequest { weak: flags.weak, plot: flags.plot, timeline: flags.timeline })
    } else {
        None
    };
    Ok(Request {
        benches: vec![BenchRequest {
            workload: spec.name().to_string(),
            values,
            threads,
            runners: common.runners,
            schedules: common
                .schedule
                .iter()
                .enumerate()
                .filter(|(i, s)| !common.schedule[..*i].contains(s))
                .map(|(_, s)| *s)
                .collect(),
            origin: Origin::Cli,
        }],
        warmup: common.warmup,
        rounds: match common.rounds.0 {
            Some(n) => Rounds::Fixed(n),
            None => Rounds::Auto {
                precision: common.precision,
                max_time_s: common
                    .max_time
                    .unwrap_or(if scale.is_some() { SCALE_MAX_TIME } else { RUN_MAX_TIME })
                    .as_secs_f64(),
            },
        },
        seed: common.seed,
        timeout: common.timeout,
        worker_program: common.worker_program,
        pin: common.pin,
        output: common.output,
        format: common.format,
        scale,
        suite: None,
        inputs: Vec::new(),
        limit: common.limit,
    })
}

/// `--max-time` of `run`: an answer within about 10 s, as hyperfine gives one.
const RUN_MAX_TIME: std::time::Duration = std::time::Duration::from_secs(10);
/// `--max-time` of `scale`, whose budget is shared by every worker count.
const SCALE_MAX_TIME: std::time::Duration = std::time::Duration::from_secs(30);

/// The flags `scale` adds to the workload flags of `run`.
#[derive(Debug, Args)]
pub struct ScaleFlags {
    /// Weak scaling: grow the work with the worker count (default: strong scaling,
    /// the total work fixed across the sweep).
    #[arg(long)]
    pub weak: bool,
    /// Write a speedup plot (SVG): one line per runner with its 95% band, the ideal
    /// line and the fitted USL curve.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Write a timeline (SVG) of one round at the largest worker count: one lane per
    /// worker, one bar per task, per runner.
    #[arg(long, value_name = "FILE.svg")]
    pub timeline: Option<PathBuf>,
}

/// Worker counts: `4`, `1,2,4,8`, `1..16` (inclusive) or `auto`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadSpec(pub Vec<usize>);

/// `parbench compare BASE NEW`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Baseline: a result file, or a directory of result files.
    #[arg(value_name = "BASE")]
    pub base: PathBuf,
    /// The new result file.
    #[arg(value_name = "NEW")]
    pub new: PathBuf,
    /// Output format: table, markdown (for a CI job summary or PR comment) or json.
    #[arg(long, value_name = "FORMAT", default_value = "table", value_parser = compare_format())]
    pub format: Format,
    /// Compare even when machines or suite configurations differ.
    #[arg(long)]
    pub allow_incomparable: bool,
    /// Show cases and runners of BASE that NEW lacks instead of failing (exit 2).
    #[arg(long)]
    pub allow_missing: bool,
    /// Smallest relative change of a machine-independent metric that can fail (0.10 = 10%).
    #[arg(long, value_name = "FRACTION", default_value = "0.10", value_parser = parse_fraction, allow_hyphen_values = true)]
    pub floor: f64,
    /// Smallest relative change of an absolute time that can fail.
    #[arg(long, value_name = "FRACTION", default_value = "0.20", value_parser = parse_fraction, allow_hyphen_values = true)]
    pub floor_absolute: f64,
}

/// `parbench ab BASE NEW -- COMMAND...`.
#[derive(Debug, Args)]
pub struct AbArgs {
    /// The base build: a parbench binary, or a bench binary built on parbench's library.
    #[arg(value_name = "BASE")]
    pub base: PathBuf,
    /// The new build.
    #[arg(value_name = "NEW")]
    pub new: PathBuf,
    /// Rounds, each measuring every case and runner under both builds [default: the
    /// command line's --rounds, or 20 with --rounds auto].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub rounds: Option<u32>,
    /// Smallest relative change of any metric that can fail (0.02 = 2%): both builds
    /// run on one machine in the same rounds, so a small change is measurable.
    #[arg(long, value_name = "FRACTION", default_value = "0.02", value_parser = parse_fraction, allow_hyphen_values = true)]
    pub floor: f64,
    /// Longest wait for any reply of a build (its hello, one sample): 300, 90s, 5m; a
    /// build that takes longer is stopped, with everything it started.
    #[arg(long, value_name = "DURATION", default_value = "300", value_parser = parse_timeout)]
    pub timeout: std::time::Duration,
    /// Output format: table, markdown (for a CI job summary or PR comment) or json.
    #[arg(long, value_name = "FORMAT", default_value = "table", value_parser = compare_format())]
    pub format: Format,
    /// What both builds measure: a run, scale or suite command line, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND", num_args = 1..)]
    pub command: Vec<OsString>,
}

/// The formats `compare` writes: its help offers only those, and any other is refused
/// while parsing, with the list.
fn compare_format() -> impl clap::builder::TypedValueParser<Value = Format> {
    use clap::ValueEnum;
    use clap::builder::TypedValueParser;
    let written = [Format::Table, Format::Markdown, Format::Json];
    clap::builder::PossibleValuesParser::new(written.iter().filter_map(ValueEnum::to_possible_value))
        .map(|name: String| Format::from_str(&name, false).expect("a name of a possible value"))
}

/// `parbench baseline ...`.
#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Add NEW result files to DIR and keep only the newest K results of their machine
    /// class and suite.
    #[command(after_help = BASELINE_AFTER_HELP)]
    Update {
        /// The baseline directory (created if missing).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Result files to add.
        #[arg(value_name = "NEW", required = true)]
        new: Vec<PathBuf>,
        /// How many results of one machine class and suite to keep.
        #[arg(long, value_name = "K", default_value = "10", allow_hyphen_values = true,
              value_parser = clap::value_parser!(u32).range(1..=1000))]
        keep: u32,
    },
}

/// `parbench suite FILE`.
#[derive(Debug, Args)]
pub struct SuiteArgs {
    /// The suite file (TOML; see workloads/README.md).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Output format (for stdout, or for --output).
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<Format>,
    /// Also write the report to FILE, atomically; repeat for several (-o r.json -o r.md).
    /// Each one's format comes from a FORMAT: prefix (json:out.txt), else its extension
    /// (.json, .csv, .md, .txt), else --format. The table still goes to stdout; with
    /// `-`, the report goes to stdout and the table to stderr.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Vec<PathBuf>,
    /// Refuse a suite whose warm-up and rounds are estimated (from a short calibration)
    /// to take longer than this: 90s, 30m, 2h, or none.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_limit, allow_hyphen_values = true)]
    pub limit: std::time::Duration,
}

/// The default `--limit`: 10 minutes.
pub const DEFAULT_LIMIT: std::time::Duration = std::time::Duration::from_secs(600);

/// `--seed`: a whole number from 0 to 2^64 - 1; too large is said as such.
fn parse_seed(s: &str) -> Result<u64, String> {
    let t = s.trim();
    t.parse::<u64>().map_err(|_| {
        if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
            format!("{t} is too large: at most {}", u64::MAX)
        } else {
            format!("{t:?} is not a whole number from 0 to {}", u64::MAX)
        }
    })
}

/// `--limit`: a duration with a unit (ms, s, m, h; seconds without one), or `none`.
fn parse_limit(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    if t == "none" {
        return Ok(std::time::Duration::MAX);
    }
    let units = [("ms", 1e-3), ("s", 1.0), ("m", 60.0), ("h", 3600.0)];
    let (number, scale) = units.iter().find_map(|(u, f)| t.strip_suffix(u).map(|n| (n, *f))).unwrap_or((t, 1.0));
    number
        .trim()
        .parse::<f64>()
        .ok()
        .map(|v| v * scale)
        .filter(|v| v.is_finite() && *v >= 0.001 && *v <= 1e9)
        .map(std::time::Duration::from_secs_f64)
        .ok_or_else(|| format!("{s:?} is not a duration (e.g. 90s, 30m, 2h, or none)"))
}

/// Flags every workload accepts.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Workers (W) for every parallel runner (1..=1024; the process runner allows at
    /// most 256). `scale` takes a list: 1,2,4,8, a range 1..16 (inclusive) or auto
    /// (powers of two up to the available cores, the physical and logical core counts,
    /// and twice the logical count) [default: the available parallelism; scale: auto;
    /// under mpirun, unless --runner leaves mpi out: the serving ranks, ranks - 1,
    /// and for scale the powers of two up to them].
    #[arg(short = 't', long, value_name = "W", value_parser = parse_thread_spec, allow_hyphen_values = true)]
    pub threads: Option<ThreadSpec>,
    /// Runners, comma-separated; serial is always measured as the reference
    /// [default: serial,threads,rayon,process,async].
    #[arg(short = 'r', long = "runner", value_name = "LIST", value_delimiter = ',', value_parser = RunnerId::value_parser())]
    pub runners: Option<Vec<RunnerId>>,
    /// How the threads and process runners assign tasks to workers: dynamic, static,
    /// or both (static,dynamic: one case each). Serial and rayon ignore it.
    #[arg(long, value_name = "KIND", default_value = "dynamic", value_delimiter = ',')]
    pub schedule: Vec<Schedule>,
    /// Pin one worker per core (CPU affinity): removes thread placement noise, at the
    /// price of measuring pinned threads. Serial is pinned to the first allowed core.
    #[arg(long)]
    pub pin: bool,
    /// Least warm-up samples per runner before measuring; each runner warms up until
    /// its samples are steady (0..=100; 0: no warm-up).
    #[arg(long, value_name = "N", default_value = "1", allow_hyphen_values = true,
          value_parser = clap::value_parser!(u32).range(0..=100))]
    pub warmup: u32,
    /// Measured rounds; each runs every runner once in a shuffled order: a number
    /// (1..=10000) or `auto`, which adds rounds until every speedup is known to
    /// --precision or more rounds could not make it so within --max-time (at least 7).
    #[arg(long, value_name = "N|auto", default_value = "auto", value_parser = parse_rounds, allow_hyphen_values = true)]
    pub rounds: RoundsArg,
    /// With --rounds auto: the half-width of each speedup's 95% interval to reach, as a
    /// fraction (0.03 = 3%; 0.001..=0.5).
    #[arg(long, value_name = "FRACTION", default_value = "0.03", value_parser = parse_precision, allow_hyphen_values = true)]
    pub precision: f64,
    /// With --rounds auto: the time to an answer, from the start of the command (its calibration and warm-up included): no round
    /// starts that would end after it (e.g. 10, 90, 500ms) [default: 10; scale: 30].
    #[arg(long, value_name = "SECS", value_parser = parse_timeout, allow_hyphen_values = true)]
    pub max_time: Option<std::time::Duration>,
    /// Seed for the runner order in each round (and the numbers of factorize --count);
    /// recorded in the results.
    #[arg(long, value_name = "S", default_value = "1", allow_negative_numbers = true, value_parser = parse_seed)]
    pub seed: u64,
    /// Longest a process-runner worker may go without reporting progress (a finished
    /// task) before all workers are killed, and longest a `command` task may run, in
    /// seconds (e.g. 60, 2.5, 500ms, 10m). A task of your own running in a thread
    /// cannot be stopped; Ctrl-C still ends the run.
    #[arg(long, value_name = "SECS", default_value = TIMEOUT_DEFAULT, value_parser = parse_timeout, allow_hyphen_values = true)]
    pub timeout: std::time::Duration,
    /// The program the process runner starts as `PROGRAM worker` [default:
    /// $PARBENCH_WORKER_PROGRAM, else this program]; it must hand its `worker`
    /// subcommand to parbench.
    #[arg(long, value_name = "PROGRAM")]
    pub worker_program: Option<PathBuf>,
    /// Output format (for stdout, or for --output).
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<Format>,
    /// Also write the report to FILE, atomically; repeat for several (-o r.json -o r.md).
    /// Each one's format comes from a FORMAT: prefix (json:out.txt), else its extension
    /// (.json, .csv, .md, .txt), else --format. The table still goes to stdout; with
    /// `-`, the report goes to stdout and the table to stderr.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Vec<PathBuf>,
    /// Refuse a run whose warm-up and rounds are estimated (from a short calibration)
    /// to take longer than this: 90s, 30m, 2h, or none.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_limit, allow_hyphen_values = true)]
    pub limit: std::time::Duration,
}

fn parse_threads(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let v: u64 = t.parse().map_err(|_| {
        if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
            format!("{t} is too large: at most {} workers", crate::plan::MAX_WORKERS)
        } else {
            format!("{t:?} is not a whole number of workers")
        }
    })?;
    if v < 1 || v > crate::plan::MAX_WORKERS as u64 {
        return Err(format!("{v} is out of range 1..={} (workers)", crate::plan::MAX_WORKERS));
    }
    Ok(v as usize)
}

/// W, the serving ranks of the MPI world, when the runners include mpi under `mpirun`:
/// the worker counts then come from the world, not from rank 0's cores (`mpirun -n 3`
/// on a 16-core node gives 2 workers, as on 2 cores). `None` otherwise, and in a world
/// with no serving rank (the mpi runner then says how to launch it).
fn mpi_workers(runners: Option<&[crate::runner::RunnerId]>) -> Option<usize> {
    #[cfg(feature = "mpi")]
    // No --runner under mpirun: the runners of this process, mpi among them.
    if runners.is_none_or(|r| r.contains(&crate::runner::RunnerId::new("mpi"))) {
        return crate::worker::mpi::world().map(|w| w.size - 1).filter(|&w| w >= 1);
    }
    let _ = runners;
    None
}

/// The worker counts `scale` sweeps in an MPI world of `w` serving ranks: the powers
/// of two up to `w`, and `w`.
fn sub_worlds(w: usize) -> Vec<usize> {
    let mut v: Vec<usize> = std::iter::successors(Some(1usize), |p| Some(p * 2)).take_while(|&p| p < w).collect();
    v.push(w);
    v
}

/// `auto`: powers of two up to the available parallelism, plus the physical and
/// logical core counts and twice the logical count.
pub fn auto_threads() -> Vec<usize> {
    let available = crate::fingerprint::available_parallelism();
    let logical = num_cpus::get();
    let mut v: Vec<usize> =
        std::iter::successors(Some(1usize), |p| Some(p * 2)).take_while(|&p| p <= available).collect();
    v.extend([available, num_cpus::get_physical(), logical, 2 * logical]);
    v.retain(|&w| (1..=1024).contains(&w));
    v.sort();
    v.dedup();
    v
}

fn parse_thread_spec(s: &str) -> Result<ThreadSpec, String> {
    let t = s.trim();
    let mut v = if t == "auto" {
        auto_threads()
    } else if let Some((a, b)) = t.split_once("..") {
        let (lo, hi) = (parse_threads(a)?, parse_threads(b.trim_start_matches('='))?);
        if lo > hi {
            return Err(format!("range {t} is empty: write low..high, e.g. 1..16"));
        }
        (lo..=hi).collect()
    } else {
        t.split(',').map(parse_threads).collect::<Result<Vec<_>, _>>()?
    };
    v.sort();
    v.dedup();
    Ok(ThreadSpec(v))
}

/// `--rounds`: a count, or `auto` (`None`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoundsArg(pub Option<u32>);

fn parse_rounds(s: &str) -> Result<RoundsArg, String> {
    let t = s.trim();
    if t == "auto" {
        return Ok(RoundsArg(None));
    }
    match t.parse::<u64>() {
        Ok(n) if (1..=10_000).contains(&n) => Ok(RoundsArg(Some(n as u32))),
        Ok(n) => Err(format!("{n} is out of range 1..=10000 (or auto)")),
        Err(_) => Err(format!("{t:?} is not a number of rounds or auto")),
    }
}

fn parse_precision(s: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| crate::plan::precision_ok(*v))
        .ok_or_else(|| format!("{s:?} is not a fraction between 0.001 and 0.5 (0.03 = ±3%)"))
}

fn parse_fraction(s: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0 && *v < 10.0)
        .ok_or_else(|| format!("{s:?} is not a fraction between 0 and 10 (0.10 = 10%)"))
}

/// `--timeout` of run and scale when not given, in seconds.
const TIMEOUT_DEFAULT: &str = "60";

fn parse_timeout(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let (number, scale) = if let Some(ms) = t.strip_suffix("ms") {
        (ms, 1e-3)
    } else if let Some(m) = t.strip_suffix('m') {
        (m, 60.0)
    } else if let Some(h) = t.strip_suffix('h') {
        (h, 3600.0)
    } else {
        (t.strip_suffix('s').unwrap_or(t), 1.0)
    };
    number
        .trim()
        .parse::<f64>()
        .ok()
        .and_then(|v| crate::plan::seconds(v * scale))
        .ok_or_else(|| format!("{s:?} is not a duration between 1ms and 24h (e.g. 60, 2.5, 500ms, 10m, 2h)"))
}

/// A clap error in one line, keeping its list of allowed values or its suggestion:
/// they say what to type instead.
pub(crate) fn clap_message(e: &clap::Error) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    if e.kind() == clap::error::ErrorKind::InvalidUtf8 {
        return format!("{first}: give flags and values as UTF-8 text (file paths may be any bytes)");
    }
    let strings = |kind: clap::error::ContextKind| match e.get(kind) {
        Some(clap::error::ContextValue::Strings(list)) => {
            list.iter().filter(|s| *s != "help").cloned().collect::<Vec<_>>()
        }
        Some(clap::error::ContextValue::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    };
    match e.kind() {
        // clap lists the missing arguments on lines of their own: name them here.
        clap::error::ErrorKind::MissingRequiredArgument => {
            let missing = strings(clap::error::ContextKind::InvalidArg);
            let usage = usage_line(&text).map(|u| format!("; usage: {u}")).unwrap_or_default();
            return format!("{first} {}{usage}", missing.join(", "));
        }
        clap::error::ErrorKind::MissingSubcommand => {
            let command = strings(clap::error::ContextKind::InvalidSubcommand).join(" ");
            let names = strings(clap::error::ContextKind::ValidSubcommand).join(", ");
            return format!("'{command}' needs one of: {names}; see --help");
        }
        _ => {}
    }
    let hint = text.lines().map(str::trim).find(|l| l.starts_with("[possible values:") || l.starts_with("tip:"));
    match hint {
        Some(hint) => format!("{first}; {}", hint.trim_start_matches("tip: ")),
        // parbench's own rewording already says where to look.
        None if first.contains("workloads: ") || first.contains("--help)") => first.to_string(),
        None => format!("{first}; see --help"),
    }
}

/// The `Usage: ...` line of a clap error, without its label.
fn usage_line(text: &str) -> Option<&str> {
    text.lines().find_map(|l| l.trim().strip_prefix("Usage: "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A workload that does nothing: for registries of a user's program.
    struct Nothing;
    impl crate::Workload for Nothing {
        fn task_count(&self) -> usize {
            1
        }
        fn run_task(&self, _: usize, _: &crate::TaskContext<'_>) -> u64 {
            0
        }
        fn verify(&self, _: &[u64], _: &crate::SharedState) -> crate::Verification {
            crate::Verification::verified("ok")
        }
    }

    #[test]
    fn help_examples_name_only_registered_workloads() {
        let spec = crate::WorkloadSpec::new("sort", "sorts", |_: &crate::Params| Ok(Nothing));
        let mine = Registry::new().register(spec);
        let help = |registry: &Registry, path: &[&str]| {
            let mut cmd = command(registry);
            let mut sub = &mut cmd;
            for p in path {
                sub = sub.find_subcommand_mut(p).unwrap();
            }
            sub.render_long_help().to_string()
        };
        for path in [&["run"][..], &["scale"], &["run", "sort"], &["scale", "sort"]] {
            let text = help(&mine, path);
            let examples: Vec<&str> = text.lines().filter(|l| l.starts_with("  parbench ")).collect();
            assert!(examples.iter().all(|l| l.contains(" sort ")), "{path:?}: {examples:?}");
            assert!(text.contains(&format!("parbench {} sort --threads", path[0])), "{path:?}: {text}");
        }
        // The built-ins keep their examples; a workload's own help shows its own.
        let builtins = Registry::with_builtins();
        assert!(help(&builtins, &["run"]).contains("parbench run counter --sync none,atomic"));
        let fib = help(&builtins, &["run", "fib"]);
        assert!(fib.contains("parbench run fib --threads 4") && !fib.contains("parbench run sleep"), "{fib}");
        assert!(fib.contains("Exit codes:"));
        // The workloads are listed as workloads, and `help` is not one of them.
        for verb in ["run", "scale"] {
            let text = help(&builtins, &[verb]);
            assert!(text.contains("\nWorkloads:\n  sleep") && !text.contains("Commands:"), "{text}");
            assert!(!text.contains("  help "), "{text}");
        }
    }

    #[test]
    fn an_unknown_workload_of_a_users_program_is_called_a_workload_with_its_names() {
        let mine = Registry::new()
            .register(crate::WorkloadSpec::new("sort", "sorts", |_: &crate::Params| Ok(Nothing)))
            .register(crate::WorkloadSpec::new("shuffle", "shuffles", |_: &crate::Params| Ok(Nothing)));
        for verb in ["run", "scale"] {
            let err = parse(&mine, ["mybench", verb, "sortt"]).unwrap_err();
            let message = clap_message(&err);
            assert_eq!(message, "unknown workload 'sortt'; did you mean 'sort'? workloads: sort, shuffle");
        }
    }

    #[test]
    fn a_flag_of_another_subcommand_names_that_subcommand() {
        let registry = Registry::with_builtins();
        let message = |args: &[&str]| clap_message(&parse(&registry, args).unwrap_err());
        let plot = message(&["parbench", "run", "fib", "--plot", "f.svg"]);
        assert!(plot.contains("takes no --plot") && plot.contains("'parbench scale fib'"), "{plot}");
        let timeline = message(&["parbench", "run", "sleep", "--timeline=t.svg"]);
        assert!(timeline.contains("--timeline") && timeline.contains("'parbench scale sleep'"), "{timeline}");
        // A workload flag on compare: every workload takes it.
        let threads = message(&["parbench", "compare", "a", "b", "--threads", "2"]);
        assert!(threads.contains("'parbench run <WORKLOAD>'"), "{threads}");
        let allow = message(&["parbench", "run", "fib", "--allow-missing"]);
        assert!(allow.contains("'parbench compare'"), "{allow}");
        // A flag no command takes keeps clap's suggestion.
        let bogus = message(&["parbench", "run", "fib", "--roundz", "3"]);
        assert!(bogus.contains("'--rounds'"), "{bogus}");
    }

    #[test]
    fn cli_definition_is_consistent() {
        command(&Registry::with_builtins()).debug_assert();
    }

    #[test]
    fn workload_flags_come_from_the_declarations() {
        let help = command(&Registry::with_builtins())
            .find_subcommand_mut("run")
            .unwrap()
            .find_subcommand_mut("fib")
            .unwrap()
            .render_long_help()
            .to_string();
        assert!(help.contains("--n <N>") && help.contains("[default: 34] (1..=50)"), "{help}");
    }

    #[test]
    fn run_refuses_a_list_of_worker_counts() {
        let err = parse(&Registry::with_builtins(), ["parbench", "run", "fib", "--threads", "1,2"]).unwrap_err();
        assert!(err.to_string().contains("use `parbench scale`"), "{err}");
    }

    #[test]
    fn thread_specs_accept_lists_ranges_and_auto() {
        assert_eq!(parse_thread_spec("4"), Ok(ThreadSpec(vec![4])));
        assert_eq!(parse_thread_spec("8,1,2,2"), Ok(ThreadSpec(vec![1, 2, 8])));
        assert_eq!(parse_thread_spec("2..5"), Ok(ThreadSpec(vec![2, 3, 4, 5])));
        assert_eq!(parse_thread_spec("2..=3"), Ok(ThreadSpec(vec![2, 3])));
        let auto = parse_thread_spec("auto").unwrap().0;
        assert_eq!(auto[0], 1);
        assert!(auto.contains(&(2 * num_cpus::get())));
        assert!(parse_thread_spec("5..2").is_err());
        assert!(parse_thread_spec("0,2").unwrap_err().contains("0 is out of range"));
        assert!(parse_thread_spec("1,x").is_err());
        assert!(parse_thread_spec("18446744073709551616").unwrap_err().contains("too large"));
    }

    #[test]
    fn limits_accept_units_and_none() {
        assert_eq!(parse_limit("10m"), Ok(std::time::Duration::from_secs(600)));
        assert_eq!(parse_limit("2h"), Ok(std::time::Duration::from_secs(7200)));
        assert_eq!(parse_limit("90"), Ok(std::time::Duration::from_secs(90)));
        assert_eq!(parse_limit("500ms"), Ok(std::time::Duration::from_millis(500)));
        assert_eq!(parse_limit("none"), Ok(std::time::Duration::MAX));
        assert!(parse_limit("0").is_err() && parse_limit("soon").is_err() && parse_limit("1e99").is_err());
    }

    #[test]
    fn scale_in_an_mpi_world_sweeps_powers_of_two_up_to_the_serving_ranks() {
        assert_eq!(sub_worlds(1), vec![1]);
        assert_eq!(sub_worlds(2), vec![1, 2]);
        assert_eq!(sub_worlds(4), vec![1, 2, 4]);
        assert_eq!(sub_worlds(16), vec![1, 2, 4, 8, 16]);
        assert_eq!(sub_worlds(6), vec![1, 2, 4, 6]);
    }

    #[test]
    fn the_timeout_is_read_before_the_parse_with_the_default_when_absent_or_bad() {
        let args = |line: &str| line.split(' ').map(OsString::from).collect::<Vec<_>>();
        let secs = std::time::Duration::from_secs;
        assert_eq!(early_timeout(&args("parbench run fib --timeout 2s")), secs(2));
        assert_eq!(early_timeout(&args("parbench run fib --timeout=500ms")), std::time::Duration::from_millis(500));
        assert_eq!(early_timeout(&args("parbench run fib")), secs(60));
        assert_eq!(early_timeout(&args("parbench run fib --timeout nope")), secs(60));
        assert_eq!(early_timeout(&args("parbench run command -- x --timeout 5")), secs(60), "after -- is not ours");
    }

    #[test]
    fn timeouts_accept_seconds_and_milliseconds() {
        assert_eq!(parse_timeout("60"), Ok(std::time::Duration::from_secs(60)));
        assert_eq!(parse_timeout("2.5s"), Ok(std::time::Duration::from_millis(2500)));
        assert_eq!(parse_timeout("500ms"), Ok(std::time::Duration::from_millis(500)));
        assert!(parse_timeout("0").is_err());
        assert!(parse_timeout("-1").is_err());
        assert!(parse_timeout("nan").is_err());
        assert!(parse_timeout("0.5ms").is_err());
        assert!(parse_timeout("1e-9").is_err());
    }
}
