//! Command-line syntax: clap derive types only. Nothing here decides a default that
//! depends on the machine or combines flags; [`crate::plan`] does that, once.
//!
//! Value parsers reject zero and absurd values at parse time, with a message that says
//! what is allowed and why.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::report::Format;
use crate::runner::{RunnerKind, Schedule};
use crate::workload::SyncMode;

macro_rules! exit_codes {
    () => {
        "\
Exit codes:
  0    success
  1    a benchmark failed: a wrong answer, or a worker process crashed or timed out
  2    usage or input error (bad flag value, unwritable --output); nothing was measured
  130  interrupted (Ctrl-C or SIGTERM); every worker process was stopped"
    };
}

macro_rules! run_examples {
    () => {
        "\
Examples:


  parbench run fib --threads 4                 fib(34) x 8 tasks, every runner, 4 workers
  parbench run sleep --threads 8 --ms 20       I/O-bound: more workers than cores still help
  parbench run factorize --runner serial,process --schedule static
  parbench run counter --sync none,atomic      watch the unsynchronised counter lose updates
  parbench run fib --format json --output fib.json"
    };
}

const EXIT_CODES: &str = exit_codes!();
const SCALE_AFTER_HELP: &str = "\
Examples:
  parbench scale fib --threads 1,2,4,8 --plot fib.svg
  parbench scale factorize --threads 1..4 --schedule static --timeline factorize.svg
  parbench scale sleep --threads auto --weak
  parbench scale counter --sync atomic,sharded --threads 1,2,4 --format json --output c.json";
const COMPARE_AFTER_HELP: &str = "\
Examples:
  parbench compare results/baseline/ci.json new.json
  parbench compare baselines/ci-linux-2core/ new.json --format markdown >> $GITHUB_STEP_SUMMARY

Exit codes:
  0    no gated regression
  1    a regression
  2    usage or input error: unreadable, corrupt or wrong-version result file
  3    not comparable: different machine class or suite configuration (--allow-incomparable)";
const SUITE_AFTER_HELP: &str = concat!(
    "Examples:\n",
    "  parbench suite workloads/ci.toml --output results/ci.json\n",
    "  parbench suite workloads/seeds.toml --format markdown\n\n",
    exit_codes!()
);
const RUN_AFTER_HELP: &str = concat!(run_examples!(), "\n\n", exit_codes!());

/// Compare serial, threaded, pooled (rayon) and multi-process execution of the same
/// workloads, with verified results and paired statistics.
#[derive(Debug, Parser)]
#[command(name = "parbench", version, after_help = EXIT_CODES, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Measure one workload under the serial, threads, rayon and process runners.
    #[command(after_help = RUN_AFTER_HELP)]
    Run(RunArgs),
    /// Run a suite file (workloads/*.toml) and write one result.
    #[command(after_help = SUITE_AFTER_HELP)]
    Suite(SuiteArgs),
    /// Sweep worker counts: speedup and efficiency with confidence intervals, Amdahl
    /// and USL fits, runner overheads, load balance, plots.
    #[command(after_help = SCALE_AFTER_HELP)]
    Scale(ScaleArgs),
    /// Decide whether NEW regressed against BASE (a result file, or a directory of
    /// recent baseline results from the same machine class).
    #[command(after_help = COMPARE_AFTER_HELP)]
    Compare(CompareArgs),
    /// Maintain a directory of baseline results.
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// List the workloads and runners with their parameters and defaults.
    List,
    /// Internal: a process-runner worker, driven over stdin and stdout.
    #[command(hide = true)]
    Worker,
}

/// `parbench scale <workload>`: the workload flags of `run`, with `--threads` a list.
#[derive(Debug, Args)]
pub struct ScaleArgs {
    /// The workload to sweep.
    #[command(subcommand)]
    pub workload: WorkloadArgs,
    /// Weak scaling: grow the work with the worker count (default: strong scaling,
    /// the total work fixed across the sweep).
    #[arg(long, global = true)]
    pub weak: bool,
    /// Write a speedup plot (SVG): one line per runner with its 95% band, the ideal
    /// line and the fitted USL curve.
    #[arg(long, value_name = "FILE.svg", global = true)]
    pub plot: Option<PathBuf>,
    /// Write a timeline (SVG) of one round at the largest worker count: one lane per
    /// worker, one bar per task, per runner.
    #[arg(long, value_name = "FILE.svg", global = true)]
    pub timeline: Option<PathBuf>,
    /// Bootstrap resamples for the confidence intervals.
    #[arg(long, value_name = "N", default_value = "2000", global = true,
          value_parser = clap::value_parser!(u32).range(100..=100_000))]
    pub bootstrap: u32,
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
    #[arg(long, value_name = "FORMAT", default_value = "table")]
    pub format: Format,
    /// Compare even when machines or suite configurations differ.
    #[arg(long)]
    pub allow_incomparable: bool,
    /// Smallest relative change of a machine-independent metric that can fail (0.10 = 10%).
    #[arg(long, value_name = "FRACTION", default_value = "0.10", value_parser = parse_fraction)]
    pub floor: f64,
    /// Smallest relative change of an absolute time that can fail.
    #[arg(long, value_name = "FRACTION", default_value = "0.20", value_parser = parse_fraction)]
    pub floor_absolute: f64,
}

/// `parbench baseline ...`.
#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Add NEW result files to DIR and keep only the newest K results of their machine
    /// class and suite.
    Update {
        /// The baseline directory (created if missing).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Result files to add.
        #[arg(value_name = "NEW", required = true)]
        new: Vec<PathBuf>,
        /// How many results of one machine class and suite to keep.
        #[arg(long, value_name = "K", default_value = "10", value_parser = clap::value_parser!(u32).range(1..=1000))]
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
    /// Also write the report to FILE, atomically; its format comes from --format or the
    /// extension (.json, .csv, .md, .txt). The table still goes to stdout.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `parbench run <workload>`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The workload to measure.
    #[command(subcommand)]
    pub workload: WorkloadArgs,
}

/// One subcommand per workload, each with its own parameters and the common flags.
#[derive(Debug, Subcommand)]
pub enum WorkloadArgs {
    /// Tasks that sleep: waiting, not computing (the I/O-bound case).
    #[command(after_help = RUN_AFTER_HELP)]
    Sleep {
        /// Number of tasks.
        #[arg(long, value_name = "N", default_value = "8", value_parser = parse_tasks)]
        tasks: u32,
        /// How long each task sleeps, in milliseconds (1..=10000).
        #[arg(long, value_name = "MS", default_value = "50", value_parser = parse_ms)]
        ms: u32,
        /// Flags every workload accepts.
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Naive recursive fib(n) per task: pure CPU work.
    #[command(after_help = RUN_AFTER_HELP)]
    Fib {
        /// Which Fibonacci number each task computes (1..=50).
        #[arg(long, value_name = "N", default_value = "34", value_parser = parse_fib_n)]
        n: u32,
        /// Number of tasks.
        #[arg(long, value_name = "N", default_value = "8", value_parser = parse_tasks)]
        tasks: u32,
        /// Flags every workload accepts.
        #[command(flatten)]
        common: CommonArgs,
    },
    /// All divisors of each number by trial division: CPU work of unequal size.
    #[command(after_help = RUN_AFTER_HELP)]
    Factorize {
        /// Comma-separated numbers, one task each [default: 2139079,1214759,1516637,1852285].
        #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = parse_number,
              conflicts_with_all = ["count", "max"])]
        numbers: Option<Vec<u64>>,
        /// Generate this many numbers instead (uniform in 2..=MAX, from --seed).
        #[arg(long, value_name = "K", value_parser = parse_tasks)]
        count: Option<u32>,
        /// Largest generated number [default: 2000000].
        #[arg(long, value_name = "M", value_parser = parse_number)]
        max: Option<u64>,
        /// Flags every workload accepts.
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Workers increment one shared counter: contention and lost updates.
    #[command(after_help = RUN_AFTER_HELP)]
    Counter {
        /// Increments per worker.
        #[arg(long, value_name = "N", default_value = "1000000", value_parser = parse_increments)]
        increments: u64,
        /// Synchronisation modes, comma-separated [default: none,mutex,atomic,sharded].
        #[arg(long, value_name = "MODES", value_delimiter = ',')]
        sync: Option<Vec<SyncMode>>,
        /// Flags every workload accepts.
        #[command(flatten)]
        common: CommonArgs,
    },
}

/// Flags every workload accepts.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Workers (W) for every parallel runner (1..=1024; the process runner allows at
    /// most 256). `scale` takes a list: 1,2,4,8, a range 1..16 (inclusive) or auto
    /// (powers of two up to the available cores, the physical and logical core counts,
    /// and twice the logical count) [default: the available parallelism; scale: auto].
    #[arg(short = 't', long, value_name = "W", value_parser = parse_thread_spec)]
    pub threads: Option<ThreadSpec>,
    /// Runners, comma-separated; serial is always measured as the reference
    /// [default: serial,threads,rayon,process].
    #[arg(short = 'r', long = "runner", value_name = "LIST", value_delimiter = ',')]
    pub runners: Option<Vec<RunnerKind>>,
    /// How the threads and process runners assign tasks to workers.
    #[arg(long, value_name = "KIND", default_value = "dynamic")]
    pub schedule: Schedule,
    /// Discarded warm-up rounds before measuring (0..=100).
    #[arg(long, value_name = "N", default_value = "1", value_parser = clap::value_parser!(u32).range(0..=100))]
    pub warmup: u32,
    /// Measured rounds; each runs every runner once in a shuffled order (1..=10000).
    #[arg(long, value_name = "N", default_value = "5", value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub rounds: u32,
    /// Seed for the runner order in each round (and the numbers of factorize --count);
    /// recorded in the results.
    #[arg(long, value_name = "S", default_value = "1", allow_negative_numbers = true)]
    pub seed: u64,
    /// Longest a process-runner worker may go without reporting progress (a finished
    /// task) before all workers are killed, in seconds (e.g. 60, 2.5, 500ms).
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = parse_timeout)]
    pub timeout: std::time::Duration,
    /// Output format (for stdout, or for --output).
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<Format>,
    /// Also write the report to FILE, atomically; its format comes from --format or the
    /// extension (.json, .csv, .md, .txt). The table still goes to stdout.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

impl WorkloadArgs {
    /// The common flags of whichever workload was chosen.
    pub fn common(&self) -> &CommonArgs {
        match self {
            WorkloadArgs::Sleep { common, .. }
            | WorkloadArgs::Fib { common, .. }
            | WorkloadArgs::Factorize { common, .. }
            | WorkloadArgs::Counter { common, .. } => common,
        }
    }
}

fn parse_in_range(s: &str, min: u64, max: u64, what: &str) -> Result<u64, String> {
    let v: u64 = s.trim().parse().map_err(|_| format!("{s:?} is not a whole number ({what})"))?;
    if v < min || v > max {
        return Err(format!("{v} is out of range {min}..={max} ({what})"));
    }
    Ok(v)
}

fn parse_tasks(s: &str) -> Result<u32, String> {
    parse_in_range(s, 1, crate::workload::MAX_TASKS, "tasks per sample").map(|v| v as u32)
}

fn parse_ms(s: &str) -> Result<u32, String> {
    parse_in_range(s, 1, crate::workload::sleep::MAX_MS, "milliseconds of sleep per task").map(|v| v as u32)
}

fn parse_fib_n(s: &str) -> Result<u32, String> {
    let max = u64::from(crate::workload::fib::MAX_N);
    let v: u64 = s.trim().parse().map_err(|_| format!("{s:?} is not a whole number"))?;
    match v {
        0 => Err("0 is out of range 1..=50: fib(0) is no work at all".into()),
        v if v > max => Err(format!(
            "{v} is out of range 1..=50: naive fib(n) costs about 1.6x more per step of n, so fib(50) \
             already takes about 15 s per task on a 3 GHz core{}",
            if v - max <= 20 {
                format!(" and fib({v}) would take about {:.0}x longer", 1.618f64.powi((v - max) as i32))
            } else {
                String::new()
            }
        )),
        v => Ok(v as u32),
    }
}

fn parse_number(s: &str) -> Result<u64, String> {
    if s.trim().is_empty() {
        return Err("the list is empty or has an empty entry: give numbers like 2139079,1214759".into());
    }
    parse_in_range(s, 1, crate::workload::factorize::MAX_NUMBER, "trial division of n takes n steps")
}

fn parse_increments(s: &str) -> Result<u64, String> {
    parse_in_range(s, 1, crate::workload::counter::MAX_INCREMENTS, "increments per worker")
}

fn parse_threads(s: &str) -> Result<usize, String> {
    parse_in_range(s, 1, 1024, "workers").map(|v| v as usize)
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

fn parse_fraction(s: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0 && *v < 10.0)
        .ok_or_else(|| format!("{s:?} is not a fraction between 0 and 10 (0.10 = 10%)"))
}

fn parse_timeout(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let (number, scale) =
        if let Some(ms) = t.strip_suffix("ms") { (ms, 1e-3) } else { (t.strip_suffix('s').unwrap_or(t), 1.0) };
    let secs = number
        .trim()
        .parse::<f64>()
        .ok()
        .map(|v| v * scale)
        .filter(|v| v.is_finite() && *v >= 0.001 && *v <= 86_400.0)
        .ok_or_else(|| format!("{s:?} is not a duration between 1ms and 24h (e.g. 60, 2.5, 500ms)"))?;
    Ok(std::time::Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
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

    #[test]
    fn fib_n_explains_why_large_values_are_refused() {
        assert_eq!(parse_fib_n("50"), Ok(50));
        let err = parse_fib_n("60").unwrap_err();
        assert!(err.contains("1..=50") && err.contains("15 s"), "{err}");
        assert!(parse_fib_n("0").is_err());
        assert!(parse_fib_n("51").unwrap_err().contains("about 2x longer"));
        assert!(!parse_fib_n("99999999999").unwrap_err().contains("inf"));
    }
}
