//! Runs a parsed command line: the one `run` that `main` calls.

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{BaselineCommand, CompareArgs, Display, Invocation};
pub(crate) use crate::console::to_stdout;
use crate::console::view;
use crate::error::UsageError;
use crate::measure::{self, Measurement};
use crate::plan::{Plan, Request};
use crate::registry::Registry;
use crate::report;
use crate::result::Report;

/// Runs a parsed command line and returns its exit code. Errors carry a
/// [`UsageError`] (exit 2) or anything else (exit 1); `compare` also returns 1
/// (regression) and 3 (not comparable) as plain exit codes. `display` says how the
/// terminal output is shown.
pub fn run(registry: &Registry, invocation: Invocation, display: Display) -> anyhow::Result<ExitCode> {
    match invocation {
        Invocation::Measure(request) => execute(registry, *request, display),
        Invocation::Suite(args) => {
            let mut request = crate::suite::load(&args.file)?.request;
            request.output = args.output;
            request.format = args.format;
            request.limit = args.limit;
            execute(registry, request, display)
        }
        Invocation::Compare(args) => compare(&args, display),
        Invocation::Ab(args) => crate::ab::run(&args, display),
        Invocation::Baseline(BaselineCommand::Update { dir, new, keep }) => {
            let done = crate::baseline::update(&dir, &new, keep as usize)?;
            let lines = done.lines(&view(display, false));
            to_stdout(|out| lines.iter().try_for_each(|l| writeln!(out, "{l}")))?;
            Ok(ExitCode::SUCCESS)
        }
        Invocation::Completions(shell) => {
            to_stdout(|out| crate::cli::completions(registry, shell, out))?;
            Ok(ExitCode::SUCCESS)
        }
        Invocation::Man => {
            to_stdout(|out| crate::cli::man(registry, out)).map(|_| ExitCode::SUCCESS).map_err(Into::into)
        }
        Invocation::List => {
            to_stdout(|out| list(registry, &view(display, false), out)).map(|_| ExitCode::SUCCESS).map_err(Into::into)
        }
        Invocation::Worker => serve_worker(registry)
            .map(|_| ExitCode::SUCCESS)
            .map_err(|e| UsageError::new(format!("worker: {e}")).into()),
    }
}

/// Measures what `args` asks for (a command line without the program name, e.g.
/// `["run", "fib", "--threads", "2"]`) and returns the result, printing nothing: the
/// library's way to run a plan and use the numbers.
///
/// The `process` runner starts the running program again as `<program> worker`, so a
/// program that measures with it must hand that to [`crate::main`] first:
/// `if std::env::args().nth(1).as_deref() == Some("worker") { return parbench::main(registry); }`.
/// Without that, the worker refuses to measure and the sample fails, naming the cause.
///
/// ```no_run
/// let registry = parbench::Registry::with_builtins();
/// let report = parbench::measure(&registry, ["run", "fib", "--n", "20", "--threads", "2"]).unwrap();
/// assert!(report.cases[0].rows.iter().all(|row| row.speedup.is_some()));
/// ```
pub fn measure<I, T>(registry: &Registry, args: I) -> anyhow::Result<Report>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    if std::env::var_os(crate::sys::child::PARENT_PID_ENV).is_some() {
        return Err(not_a_worker().into());
    }
    let (plan, command) = plan_of(registry, args, "measure")?;
    Ok(measure_plan(
        &plan,
        command,
        crate::fingerprint::collect(),
        std::time::Instant::now(),
        &mut |_: &measure::Status| {},
    )?
    .0)
}

/// The plan of a `run`, `scale` or `suite` command line without the program name, and
/// that command line as a report records it. `who` names the caller in the error for
/// any other command.
pub(crate) fn plan_of<I, T>(registry: &Registry, args: I, who: &str) -> Result<(Plan, Vec<String>), UsageError>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let argv: Vec<std::ffi::OsString> =
        std::iter::once(std::ffi::OsString::from("parbench")).chain(args.into_iter().map(Into::into)).collect();
    let command = argv.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let request = match crate::cli::parse(registry, &argv) {
        Ok(Invocation::Measure(request)) => *request,
        Ok(Invocation::Suite(args)) => crate::suite::load(&args.file)?.request,
        Ok(_) => return Err(UsageError::new(format!("{who} takes a run, scale or suite command line"))),
        Err(e) => return Err(UsageError::new(crate::cli::clap_message(&e))),
    };
    Ok((crate::plan::plan(registry, request)?, command))
}

/// Measures every case of `plan` and builds the report; for `scale`, the analysis too.
/// `command` is what the report records as the command line that measured.
fn measure_plan(
    plan: &Plan,
    command: Vec<String>,
    environment: crate::fingerprint::Fingerprint,
    since: std::time::Instant,
    progress: measure::Progress<'_>,
) -> anyhow::Result<(Report, Vec<Measurement>)> {
    let measured = measure::measure_all(&plan.cases, since, progress)?;
    let analysis = plan.scale.as_ref().map(|spec| {
        crate::analysis::scaling::analyze(&crate::analysis::scaling::SweepInput {
            measurements: &measured,
            family_of: &spec.family_of,
            families: spec.families,
            weak: spec.weak,
            workers: spec.workers.clone(),
        })
    });
    let kept = if plan.scale.as_ref().is_some_and(|s| s.timeline.is_some()) { measured.clone() } else { Vec::new() };
    let measurements: Vec<_> = measured.into_iter().zip(plan.cases.iter().map(|c| c.skipped.clone())).collect();
    let mut report = crate::analysis::build(measurements, plan.record.clone(), environment, command);
    report.suite = plan.suite.clone();
    if let Some(spec) = &plan.scale {
        let swept = report.cases.iter().zip(&spec.family_of).filter(|(_, f)| f.is_some()).map(|(c, _)| c);
        report.notes = crate::analysis::load_notes(swept, &report.environment);
    }
    report.scale = analysis;
    Ok((report, kept))
}

/// What `run`, `scale` and `suite` show on stderr while measuring: the progress line,
/// and on a terminal, above it, the case that has just finished a round as the report
/// will show it (analysed by the same [`crate::analysis::build`]), so the answer forms
/// while it runs. Drawn between samples only, never inside a timed region.
struct Live<'a> {
    progress: &'a crate::progress::Bar,
    plan: &'a Plan,
    environment: crate::fingerprint::Fingerprint,
    /// The view of the frame; `None` with `--quiet`.
    view: Option<report::View>,
}

impl measure::Watch for Live<'_> {
    fn status(&mut self, status: &measure::Status) {
        self.progress.update(status);
    }

    fn wants_partial(&self) -> bool {
        self.view.is_some() && self.progress.is_live()
    }

    fn partial(&mut self, case: &Measurement) {
        let Some(view) = &self.view else { return };
        let view = report::View { width: Some(self.progress.width()), ..*view };
        let skipped = self.plan.cases.iter().find(|c| c.label == case.label).map(|c| c.skipped.clone());
        let report = crate::analysis::build(
            vec![(case.clone(), skipped.unwrap_or_default())],
            self.plan.record.clone(),
            self.environment.clone(),
            Vec::new(),
        );
        self.progress.show_case(report::live_lines(&report, &view));
    }
}

fn compare(args: &CompareArgs, display: Display) -> anyhow::Result<ExitCode> {
    let view = view(display, false);
    let inputs = crate::compare::load_inputs(&args.base, &args.new)?;
    let rules = crate::compare::Rules {
        floor_relative: args.floor,
        floor_absolute: args.floor_absolute,
        allow_missing: args.allow_missing,
        ..Default::default()
    };
    match crate::compare::compare(&inputs.bases, &inputs.new_name, &inputs.new, &rules, args.allow_incomparable) {
        Ok(mut cmp) => {
            cmp.skipped_base.extend(inputs.left_out);
            to_stdout(|out| crate::compare::write(&cmp, args.format, &view, out))?;
            Ok(cmp.exit()?)
        }
        Err(inc) => {
            let text = crate::compare::incomparable(&inc, &view);
            to_stdout(|out| out.write_all(text.as_bytes()))?;
            Ok(ExitCode::from(3))
        }
    }
}

fn execute(registry: &Registry, request: Request, display: Display) -> anyhow::Result<ExitCode> {
    let since = std::time::Instant::now();
    let mut plan = crate::plan::plan(registry, request)?;
    crate::interrupt::install().context("installing the Ctrl-C handler")?;
    // `--limit none` skips the calibration: nothing to refuse.
    let unlimited = plan.limit == std::time::Duration::MAX;
    let estimate = (!unlimited)
        .then(|| crate::analysis::estimate::check(&plan.cases, plan.limit, "--limit"))
        .transpose()
        .map_err(|refusal| match refusal {
            crate::analysis::estimate::Refusal::TooLong(usage) => anyhow::Error::from(usage),
            crate::analysis::estimate::Refusal::Failed(failure) => failure.into(),
        })?;
    if let Some(line) = estimate.as_ref().and_then(crate::analysis::estimate::Estimate::notice) {
        eprintln!("{}", crate::console::for_stderr(&line));
    }
    let progress = crate::progress::Bar::new(estimate.as_ref(), display.style);
    // Arguments need not be UTF-8 (a path); the record shows them lossily.
    let command = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
    let live_view = (display.detail != report::Detail::Quiet).then(|| view(display, true));
    let environment = crate::fingerprint::collect();
    let mut watch = Live { progress: &progress, plan: &plan, environment: environment.clone(), view: live_view };
    let (report, measured) = measure_plan(&plan, command, environment, since, &mut watch)?;
    progress.finish();
    // Each output is written on its own: one that fails does not stop the others or
    // the table, and the run then exits 1 naming it. The result file goes first, so
    // an interrupt while the table is printed finds it saved.
    let mut failures: Vec<String> = Vec::new();
    for output in std::mem::take(&mut plan.output) {
        failures.extend(write_output(output.output, &|out| {
            output.format.reporter(report::View::default()).write(&report, out)
        }));
    }
    if let (Some(spec), Some(analysis)) = (&mut plan.scale, &report.scale) {
        let pictures = [
            (spec.plot.take(), "speedup plot", crate::plot::speedup_svg(analysis, &report.environment)),
            (
                spec.timeline.take(),
                "task timeline",
                crate::plot::timeline_svg(&measured, report.environment.available_parallelism),
            ),
        ];
        for (output, what, svg) in pictures {
            let Some(output) = output else { continue };
            match svg {
                Ok(svg) => {
                    // Say where it went: the table does not mention pictures.
                    let shown = (!output.is_stdout()).then(|| output.path.display().to_string());
                    match write_output(output, &|out| out.write_all(svg.as_bytes())) {
                        Some(failure) => failures.push(failure),
                        None => shown.into_iter().for_each(|path| {
                            eprintln!(
                                "{}",
                                crate::console::for_stderr(&format!("parbench: wrote the {what} to {path}"))
                            )
                        }),
                    }
                }
                Err(e) => failures.push(format!("drawing {} {}: {e}", output.flag, output.path.display())),
            }
        }
    }
    let shown = if plan.table_on_stderr { "stderr" } else { "stdout" };
    let view = view(display, plan.table_on_stderr);
    if let Err(e) = write_terminal(&report, plan.stdout_format, plan.table_on_stderr, view) {
        if e.kind() != io::ErrorKind::BrokenPipe {
            failures.push(format!("writing to {shown}: {e}"));
        }
    }
    if failures.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        // Measuring succeeded; only writing failed: exit 1, naming every output lost.
        Err(anyhow::anyhow!("{}", failures.join("; ")))
    }
}

/// Writes one output; the error, if any, names it. A closed stdout is not an error.
fn write_output(output: crate::output::Output, write: &dyn Fn(&mut dyn Write) -> io::Result<()>) -> Option<String> {
    let stdout = output.is_stdout();
    match output.write(write) {
        Ok(()) => None,
        Err(e) if stdout && e.error.kind() == io::ErrorKind::BrokenPipe => None,
        Err(e) => Some(e.to_string()),
    }
}

/// The report for the terminal: stdout, or stderr when stdout carries an output.
fn write_terminal(report: &Report, format: report::Format, on_stderr: bool, view: report::View) -> io::Result<()> {
    if on_stderr {
        let mut out = io::BufWriter::new(io::stderr().lock());
        format.reporter(view).write(report, &mut out)?;
        return out.flush();
    }
    crate::sys::stdout_open()?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    format.reporter(view).write(report, &mut out)?;
    out.flush()
}

/// `parbench list`, within 80 columns, or the view's width when narrower.
fn list(registry: &Registry, view: &report::View, out: &mut dyn Write) -> io::Result<()> {
    let width = view.width.map_or(LIST_WIDTH, |w| w.min(LIST_WIDTH));
    // `text` folded to the width: the first line indented by `first`, the rest by `rest`.
    let mut wrapped = |text: &str, first: usize, rest: usize| -> io::Result<()> {
        let text = view.chars(text);
        for line in crate::text::wrap(&text, width.saturating_sub(first), rest.saturating_sub(first)) {
            writeln!(out, "{}{}", " ".repeat(first), line.trim_end())?;
        }
        Ok(())
    };
    wrapped("Workloads (run <workload> --help shows every flag):", 0, 2)?;
    for spec in registry.visible() {
        wrapped("", 0, 0)?;
        wrapped(&format!("{:<10} {}", spec.name(), spec.about()), 2, 13)?;
        for p in spec.params() {
            wrapped(&format!("--{} <{}>  {}", p.name(), p.value_name(), p.default_and_range()), 4, 8)?;
            if !p.help.is_empty() {
                wrapped(&p.help, 8, 8)?;
            }
        }
    }
    wrapped("", 0, 0)?;
    wrapped("Runners (--runner LIST, comma-separated; default: all):", 0, 2)?;
    for r in crate::runner::RUNNERS {
        wrapped(&format!("{:<10} {}", r.info.id, r.info.about), 2, 13)?;
    }
    wrapped("", 0, 0)?;
    wrapped(
        "Common flags: --threads W, --schedule dynamic|static, --warmup 1, --rounds auto, --seed 1, --timeout 60, \
         --output FILE, --format table|json|csv|markdown|bmf|github-benchmark",
        0,
        2,
    )
}

/// The widest `parbench list` gets, however wide the terminal: a reference to read.
const LIST_WIDTH: usize = 80;

/// The error of a program started as a worker whose main did not route `worker`.
/// The hidden `worker` subcommand: serves a process runner from this program's
/// workloads.
pub(crate) fn serve_worker(registry: &Registry) -> Result<(), String> {
    let find = |name: &str| registry.get(name).map(|spec| &**spec);
    crate::worker::serve::worker_main(&crate::worker::serve::Workloads {
        find: &find,
        max_workers: crate::runner::MAX_WORKERS,
        remote: None,
    })
}

pub(crate) fn not_a_worker() -> UsageError {
    UsageError::new(format!(
        "this program was started by parbench's process runner ({} is set) but did not hand its `worker` \
         subcommand to parbench::main; route it there first (see parbench::main) so it does not measure again",
        crate::sys::child::PARENT_PID_ENV
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn list_fits_a_narrow_terminal_and_stays_at_80_columns_on_a_wide_one() {
        let registry = crate::registry::Registry::with_builtins();
        let listed = |width: Option<usize>| {
            let mut out = Vec::new();
            super::list(&registry, &crate::report::View { width, ..crate::report::View::default() }, &mut out).unwrap();
            String::from_utf8(out).unwrap()
        };
        for (width, most) in [(Some(50), 50), (Some(60), 60), (Some(120), 80), (None, 80)] {
            let text = listed(width);
            assert!(text.lines().all(|l| l.chars().count() <= most), "{width:?}:\n{text}");
            assert!(
                text.contains("  fib ") && text.contains("    --n <N>") && text.contains("github-benchmark"),
                "{text}"
            );
        }
        // Folding moves words between lines, never loses one.
        let words = |t: &str| t.split_whitespace().map(String::from).collect::<Vec<_>>();
        assert_eq!(words(&listed(Some(50))), words(&listed(None)));
    }
}
