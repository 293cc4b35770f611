//! Runs a parsed command line: the one `run` that `main` calls.

use std::io::{self, Write};

use std::os::unix::fs::PermissionsExt;

use anyhow::Context;

use crate::cli::{Cli, Command, SuiteArgs};
use crate::error::UsageError;
use crate::measure;
use crate::plan::Plan;
use crate::report::{self, Report};
use crate::runner::RunnerKind;
use crate::workload::CATALOG;

/// Runs the command. Errors carry a [`UsageError`] (exit 2) or anything else (exit 1).
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(args) => execute(Plan::from_args(&args.workload)?),
        Command::Suite(args) => execute(suite_plan(&args)?),
        Command::List => ignore_broken_pipe(list(&mut io::stdout().lock())),
        Command::Worker => {
            crate::runner::protocol::worker_main().map_err(|e| UsageError::new(format!("worker: {e}")).into())
        }
    }
}

fn suite_plan(args: &SuiteArgs) -> anyhow::Result<Plan> {
    let suite = crate::suite::load(&args.file)?;
    let output = match &args.output {
        Some(path) => Some(crate::plan::output_file(path, args.format)?),
        None => None,
    };
    let f = &suite.file;
    let mut runners: Vec<RunnerKind> = suite.cases.iter().flat_map(|c| c.settings.runners.iter().copied()).collect();
    runners.sort();
    runners.dedup();
    let record = report::SettingsRecord {
        workers: suite.cases.iter().map(|c| c.settings.workers).max().unwrap_or(1),
        runners,
        schedule: Default::default(),
        warmup: f.warmup,
        rounds: f.rounds,
        seed: f.seed,
        timeout_s: f.timeout,
    };
    let stdout_format = if output.is_some() { report::Format::Table } else { args.format.unwrap_or_default() };
    Ok(Plan { cases: suite.cases, record, suite: Some(suite.record), stdout_format, output })
}

fn execute(plan: Plan) -> anyhow::Result<()> {
    crate::interrupt::install().context("installing the Ctrl-C handler")?;
    let environment = crate::fingerprint::collect();
    let mut measurements = Vec::with_capacity(plan.cases.len());
    for case in &plan.cases {
        let m = measure::measure(&case.params, &case.settings.runners, &case.settings, &mut |_, _| {})?;
        measurements.push((m, case.skipped.clone()));
    }
    let mut report = report::build(&measurements, plan.record.clone(), environment, std::env::args().collect());
    report.suite = plan.suite.clone();
    if let Some(output) = plan.output {
        write_file(&report, output)?;
    }
    ignore_broken_pipe(write_stdout(&report, plan.stdout_format))
}

fn write_stdout(report: &Report, format: report::Format) -> io::Result<()> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    format.reporter().write(report, &mut out)?;
    out.flush()
}

/// Writes the complete report to the temporary file, then renames it over the target:
/// an earlier file at that path is replaced only by a complete new one.
fn write_file(report: &Report, output: crate::plan::OutputFile) -> anyhow::Result<()> {
    let shown = output.path.display().to_string();
    let temp_path = output.temp.path().to_path_buf();
    let mut writer = io::BufWriter::new(output.temp);
    output.format.reporter().write(report, &mut writer).with_context(|| format!("writing --output {shown}"))?;
    let temp = writer.into_inner().map_err(|e| e.into_error()).with_context(|| format!("writing --output {shown}"))?;
    // tempfile creates 0600 files; a report gets the mode of the file it replaces, or
    // the usual mode for new files (0666 minus the umask).
    let mode = std::fs::metadata(&output.path).map(|m| m.permissions().mode()).unwrap_or(0o666 & !umask());
    temp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting the mode of --output {shown}"))?;
    temp.as_file().sync_all().with_context(|| format!("writing --output {shown}"))?;
    temp.persist(&output.path).map_err(|e| e.error).with_context(|| format!("renaming into --output {shown}"))?;
    crate::interrupt::unregister_temp_file(&temp_path);
    Ok(())
}

/// The process umask, read from /proc (reading it with umask(2) would change it).
fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Umask:").map(|v| v.trim().to_string())))
        .and_then(|v| u32::from_str_radix(&v, 8).ok())
        .unwrap_or(0o022)
}

/// `parbench run ... | head` ends quietly: a closed stdout is not an error.
fn ignore_broken_pipe(result: io::Result<()>) -> anyhow::Result<()> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to stdout"),
    }
}

fn list(out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "Workloads (parbench run <workload> --help shows every flag):")?;
    for w in CATALOG {
        writeln!(out, "  {:<10} {}", w.name, w.about)?;
        writeln!(out, "  {:<10} {}", "", w.params)?;
    }
    writeln!(out)?;
    writeln!(out, "Runners (--runner LIST, comma-separated; default: all):")?;
    for k in RunnerKind::ALL {
        writeln!(out, "  {:<10} {}", k.name(), k.about())?;
    }
    writeln!(out)?;
    writeln!(out, "Common flags: --threads W, --schedule dynamic|static, --warmup 1, --rounds 5, --seed 1,")?;
    writeln!(out, "              --timeout 60, --format table|json|csv|markdown, --output FILE")
}
