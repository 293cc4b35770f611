//! Runs a parsed command line: the one `run` that `main` calls.

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{BaselineCommand, Cli, Command, CompareArgs, SuiteArgs};
use crate::error::UsageError;
use crate::measure;
use crate::plan::Plan;
use crate::report::{self, Report};
use crate::runner::RunnerKind;
use crate::workload::CATALOG;

/// Runs the command and returns its exit code. Errors carry a [`UsageError`] (exit 2)
/// or anything else (exit 1); `compare` also returns 1 (regression) and 3 (not
/// comparable) as plain exit codes.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(args) => execute(Plan::from_args(&args.workload)?),
        Command::Suite(args) => execute(suite_plan(&args)?),
        Command::Scale(args) => execute(Plan::for_scale(&args)?),
        Command::Compare(args) => compare(&args),
        Command::Baseline(BaselineCommand::Update { dir, new, keep }) => {
            let done = crate::baseline::update(&dir, &new, keep as usize)?;
            let mut out = io::stdout().lock();
            let lines = done.added.iter().map(|p| format!("added   {}", p.display()));
            let lines = lines.chain(done.removed.iter().map(|p| format!("removed {}", p.display())));
            ignore_broken_pipe(lines.into_iter().try_for_each(|l| writeln!(out, "{l}")))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::List => ignore_broken_pipe(list(&mut io::stdout().lock())).map(|_| ExitCode::SUCCESS),
        Command::Worker => crate::runner::protocol::worker_main()
            .map(|_| ExitCode::SUCCESS)
            .map_err(|e| UsageError::new(format!("worker: {e}")).into()),
    }
}

fn compare(args: &CompareArgs) -> anyhow::Result<ExitCode> {
    if !matches!(args.format, report::Format::Table | report::Format::Markdown | report::Format::Json) {
        let name = clap::ValueEnum::to_possible_value(&args.format).map(|v| v.get_name().to_string());
        return Err(UsageError::new(format!(
            "--format {} is not available for compare; use table, markdown or json",
            name.unwrap_or_default()
        ))
        .into());
    }
    let inputs = crate::compare::load_inputs(&args.base, &args.new)?;
    let rules =
        crate::compare::Rules { floor_relative: args.floor, floor_absolute: args.floor_absolute, ..Default::default() };
    let mut out = io::stdout().lock();
    match crate::compare::compare(&inputs.bases, &inputs.new_name, &inputs.new, &rules, args.allow_incomparable) {
        Ok(mut cmp) => {
            cmp.skipped_base.extend(inputs.left_out);
            ignore_broken_pipe(crate::compare::write(&cmp, args.format, &mut out))?;
            match cmp.outcome() {
                crate::compare::Outcome::Regression => Ok(ExitCode::from(1)),
                crate::compare::Outcome::NoRegression => Ok(ExitCode::SUCCESS),
                crate::compare::Outcome::NothingJudged => Err(cmp.nothing_judged().into()),
            }
        }
        Err(inc) => {
            let fp = |f: &crate::fingerprint::Fingerprint| {
                format!(
                    "{} · {} · {} logical / {} physical cores, {} available · {} {}",
                    f.hostname,
                    f.cpu_model,
                    f.logical_cores,
                    f.physical_cores,
                    f.available_parallelism,
                    f.arch,
                    f.kernel.as_deref().unwrap_or("")
                )
            };
            let text = format!(
                "not comparable: {} (--allow-incomparable compares anyway)\n  base: {}\n  new:  {}\n",
                inc.reason,
                fp(&inc.base),
                fp(&inc.new)
            );
            ignore_broken_pipe(out.write_all(text.as_bytes()))?;
            Ok(ExitCode::from(3))
        }
    }
}

fn suite_plan(args: &SuiteArgs) -> anyhow::Result<Plan> {
    let suite = crate::suite::load(&args.file)?;
    let f = &suite.file;
    let base = measure::Settings {
        runners: Vec::new(),
        workers: 1,
        options: crate::runner::RunnerOptions {
            timeout: std::time::Duration::from_secs_f64(f.timeout),
            ..Default::default()
        },
        warmup: f.warmup,
        rounds: f.rounds,
        seed: f.seed,
    };
    let mut plan = Plan::new(suite.cases, &base, args.output.as_deref(), args.format)?;
    plan.suite = Some(suite.record);
    Ok(plan)
}

fn execute(plan: Plan) -> anyhow::Result<ExitCode> {
    crate::interrupt::install().context("installing the Ctrl-C handler")?;
    let environment = crate::fingerprint::collect();
    let cases: Vec<_> = plan.cases.iter().map(|c| (c.params.clone(), c.settings.clone())).collect();
    let progress = Progress::new();
    let measured = measure::measure_all(&cases, &mut |done, total| progress.update(done, total))?;
    progress.finish();
    let analysis = plan.scale.as_ref().map(|spec| {
        crate::scaling::analyze(&crate::scaling::SweepInput {
            measurements: &measured,
            family_of: &spec.family_of,
            families: spec.families,
            weak: spec.weak,
            workers: spec.workers.clone(),
            bootstrap: spec.bootstrap,
            seed: plan.record.seed,
        })
    });
    if let (Some(spec), Some(analysis)) = (&plan.scale, &analysis) {
        if let Some(path) = &spec.plot {
            crate::plot::speedup_svg(analysis, &environment, path)
                .with_context(|| format!("writing --plot {}", path.display()))?;
        }
        if let Some(path) = &spec.timeline {
            crate::plot::timeline_svg(&measured, path)
                .with_context(|| format!("writing --timeline {}", path.display()))?;
        }
    }
    let measurements: Vec<_> = measured.into_iter().zip(plan.cases.iter().map(|c| c.skipped.clone())).collect();
    let mut report = report::build(measurements, plan.record.clone(), environment, std::env::args().collect());
    report.suite = plan.suite.clone();
    report.scale = analysis;
    if let Some(output) = plan.output {
        write_file(&report, output)?;
    }
    ignore_broken_pipe(write_stdout(&report, plan.stdout_format))?;
    Ok(ExitCode::SUCCESS)
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
    let mut writer = io::BufWriter::new(output.temp);
    output.format.reporter().write(report, &mut writer).with_context(|| format!("writing --output {shown}"))?;
    let temp = writer.into_inner().map_err(|e| e.into_error()).with_context(|| format!("writing --output {shown}"))?;
    crate::atomic::persist(temp, &output.path).with_context(|| format!("writing --output {shown}"))
}

/// A progress bar with ETA on stderr, drawn only when stderr is a terminal and the run
/// has lasted over a second. It is updated between samples only (no ticking thread),
/// so it never runs inside a timed region.
struct Progress {
    bar: indicatif::ProgressBar,
    start: std::time::Instant,
    shown: std::cell::Cell<bool>,
}

impl Progress {
    fn new() -> Self {
        let bar = indicatif::ProgressBar::hidden();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} samples, {elapsed} elapsed, ETA {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Progress { bar, start: std::time::Instant::now(), shown: std::cell::Cell::new(false) }
    }

    fn update(&self, done: usize, total: usize) {
        use std::io::IsTerminal;
        if !self.shown.get() && self.start.elapsed() > std::time::Duration::from_secs(1) && io::stderr().is_terminal() {
            self.bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            self.shown.set(true);
        }
        self.bar.set_length(total as u64);
        self.bar.set_position(done as u64);
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
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
