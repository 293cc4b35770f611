//! The entry point every parbench program shares: the `parbench` binary and a user's
//! bench binary alike hand their command line to [`main`].
//!
//! It routes the hidden `worker` subcommand first (the process runner re-executes the
//! running program, so a user's binary must answer it too) and `serve-samples` (the
//! samples server `parbench ab` drives), accepts the `--bench` and
//! `--test` flags that `cargo bench` adds, and turns every error into one line and an
//! exit code: 0 ok, 1 benchmark failed, 2 usage, 130 interrupt.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::error::ErrorKind;

use crate::cli::Invocation;
use crate::error::UsageError;
use crate::registry::Registry;

/// Runs the program: parses the command line against `registry` and does what it
/// says. Call it from `main` and return its exit code.
pub fn main(registry: Registry) -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("parbench: internal error: {info}; please report this as a bug");
    }));
    // Past a file-size limit (ulimit -f) a write fails with EFBIG, reported naming
    // the file, instead of SIGXFSZ ending parbench without a word.
    // SAFETY: setting a signal's disposition to SIG_IGN has no other effect.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    let args: Vec<OsString> = std::env::args_os().collect();
    // The process runner's children start here: skip building and parsing the whole
    // CLI, whose cost would otherwise count as process start-up in every sample.
    if args.len() == 2 && args[1] == "worker" {
        return match crate::app::serve_worker(&registry) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("parbench: error: worker: {}", crate::text::terminal_safe(&e.to_string()));
                ExitCode::from(2)
            }
        };
    }
    // `parbench ab` drives this program as a server of samples.
    if args.get(1).is_some_and(|a| a == "serve-samples") {
        return crate::ab::serve::main(&registry, &args[2..]);
    }
    // Under mpirun every rank starts here: MPI_Init first, before anything is timed;
    // rank 0 goes on as parbench, the other ranks serve the mpi runner until it stops
    // them. Outside mpirun, MPI is never initialised.
    #[cfg(feature = "mpi")]
    if crate::worker::mpi::launched() {
        use crate::worker::mpi::Role;
        // The process mpirun started guards the rank that works (the same program,
        // started again): a rank's death or a start that never ends is then exit 1
        // naming the rank, not mpirun's own status.
        if !crate::sys::rank_guard::guarded() {
            return crate::worker::mpi::guard(&args, crate::cli::early_timeout(&args));
        }
        crate::sys::rank_guard::keep_ready_fd_private();
        return match crate::worker::mpi::init(&crate::fingerprint::this_node()) {
            Ok(Role::Server) => serve_rank(&registry),
            Ok(Role::Root) => {
                let code = command(registry, args);
                crate::worker::mpi::finish();
                code
            }
            Err(e) => {
                eprintln!("parbench: error: starting MPI: {}", crate::text::terminal_safe(&e));
                ExitCode::from(1)
            }
        };
    }
    command(registry, args)
}

/// A serving rank of an MPI world: it never reads the command line into output.
#[cfg(feature = "mpi")]
fn serve_rank(registry: &Registry) -> ExitCode {
    let find = |name: &str| registry.get(name).map(|spec| &**spec);
    let workloads =
        crate::worker::serve::Workloads { find: &find, max_workers: crate::runner::MAX_WORKERS, remote: None };
    match crate::worker::mpi::serve_ranks(&workloads) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("parbench: error: mpi rank: {}", crate::text::terminal_safe(&e));
            ExitCode::from(1)
        }
    }
}

/// The command line of rank 0, or of parbench without MPI.
fn command(registry: Registry, mut args: Vec<OsString>) -> ExitCode {
    // A user's mistake in a declaration is reported before anything else reads it.
    if let Err(e) = registry.validate() {
        return finish(Err(e.into()));
    }
    // Started as a worker by the process runner, yet here: this program's main did
    // not hand `worker` to parbench (and measuring again would start workers of its
    // own, and they theirs).
    if std::env::var_os(crate::sys::child::PARENT_PID_ENV).is_some() {
        return finish(Err(crate::app::not_a_worker().into()));
    }
    let mode = bench_mode(&args);
    args.retain(|a| a != "--bench");
    if let Some(mode) = mode {
        return every_default(&registry, mode == BenchMode::Smoke);
    }
    let (invocation, display) = match crate::cli::parse_with_display(&registry, &args) {
        Ok(parsed) => parsed,
        Err(e) => return clap_error(e, crate::cli::early_style(&args)),
    };
    finish_in(crate::app::run(&registry, invocation, display), display.style)
}

/// What a bench target started without a command does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BenchMode {
    /// `cargo bench --bench NAME`: every workload, measured at default settings.
    Full,
    /// `cargo test --bench NAME` (no arguments) or `-- --test`: one round each.
    Smoke,
}

/// `cargo bench` appends `--bench` to whatever follows `--`, so `--bench` alone is the
/// full measurement; `cargo bench -- --test` gives `--test --bench`, the smoke test;
/// `cargo test` runs a bench target with no arguments at all, the smoke test too. Any
/// other command line is parsed as usual (`None`).
fn bench_mode(args: &[OsString]) -> Option<BenchMode> {
    let bench = args.iter().skip(1).any(|a| a == "--bench");
    let rest: Vec<&OsString> = args.iter().skip(1).filter(|a| *a != "--bench").collect();
    match rest.as_slice() {
        [test] if *test == "--test" => Some(BenchMode::Smoke),
        [] if bench => Some(BenchMode::Full),
        [] if !args.first().is_some_and(|a| is_parbench(a)) => Some(BenchMode::Smoke),
        _ => None,
    }
}

/// Whether the program is parbench's own binary (a user's program is not).
fn is_parbench(argv0: &std::ffi::OsStr) -> bool {
    std::path::Path::new(argv0).file_stem().is_some_and(|s| s == "parbench")
}

/// `cargo bench` with nothing after `--`: each registered workload that needs no
/// parameter, with its defaults; `--test`: the same, one round, no warm-up, at the
/// smoke sizes parameters declare ([`crate::Param::smoke`]).
fn every_default(registry: &Registry, smoke: bool) -> ExitCode {
    if let Err(e) = registry.validate() {
        return finish(Err(e.into()));
    }
    let runnable: Vec<_> =
        registry.visible().filter(|s| s.params().iter().all(|p| p.absent_values().is_ok())).collect();
    for spec in runnable {
        let args = default_run(spec, smoke);
        let invocation = match crate::cli::parse(registry, &args) {
            Ok(Invocation::Measure(request)) => Invocation::Measure(request),
            Ok(_) => unreachable!("a run command line"),
            Err(e) => return clap_error(e, crate::report::Style::default()),
        };
        match crate::app::run(registry, invocation, crate::cli::Display::default()) {
            Ok(code) if code == ExitCode::SUCCESS => {}
            other => return finish(other),
        }
    }
    ExitCode::SUCCESS
}

/// The command line that measures `spec` at its defaults, or smoke-tests it: one
/// round, no warm-up, at the smoke sizes its parameters declare.
fn default_run(spec: &crate::WorkloadSpec, smoke: bool) -> Vec<String> {
    let mut args = vec!["parbench".to_string(), "run".into(), spec.name().to_string()];
    if smoke {
        args.extend(["--rounds", "1", "--warmup", "0"].map(String::from));
        for p in spec.params() {
            if let Some(value) = &p.smoke {
                args.extend([format!("--{}", p.name()), value.to_string()]);
            }
        }
    }
    args
}

fn finish(result: anyhow::Result<ExitCode>) -> ExitCode {
    finish_in(result, crate::report::Style::default())
}

/// The error line for `message`: terminal-safe (messages quote values from the command
/// line, files and other programs: none of them may act on the terminal or break the
/// line), in `style`'s characters; on a terminal, folded to its width.
fn error_line(message: &str, style: crate::report::Style) -> String {
    let view = crate::report::View { style, ..crate::report::View::default() };
    crate::console::for_stderr(&format!("parbench: error: {}", view.chars(&crate::text::terminal_safe(message))))
}

/// The exit code of `result`, its error printed in `style`.
fn finish_in(result: anyhow::Result<ExitCode>, style: crate::report::Style) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => {
            // After Ctrl-C the workers die too, and that can surface here first: the
            // signal handler thread is about to stop everything and exit 130.
            if crate::interrupt::interrupted() {
                loop {
                    std::thread::park();
                }
            }
            eprintln!("{}", error_line(&format!("{e:#}"), style));
            if e.downcast_ref::<UsageError>().is_some() { ExitCode::from(2) } else { ExitCode::from(1) }
        }
    }
}

/// Help and version print as usual; every real parse error becomes one line, in
/// `style`.
fn clap_error(e: clap::Error, style: crate::report::Style) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::from(2)
        }
        _ => {
            eprintln!("{}", error_line(&crate::cli::clap_message(&e), style));
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(args: &[&str]) -> Option<BenchMode> {
        bench_mode(&args.iter().map(OsString::from).collect::<Vec<_>>())
    }

    #[test]
    fn cargo_bench_alone_measures_and_cargo_test_smoke_tests() {
        // `cargo bench --bench parallel`: the full measurement, in a user's program too.
        assert_eq!(mode(&["target/release/deps/parallel-1f2e", "--bench"]), Some(BenchMode::Full));
        assert_eq!(mode(&["parbench", "--bench"]), Some(BenchMode::Full));
        // `cargo bench --bench parallel -- --test` and `cargo test --bench parallel`.
        assert_eq!(mode(&["parallel-1f2e", "--test", "--bench"]), Some(BenchMode::Smoke));
        assert_eq!(mode(&["parallel-1f2e", "--test"]), Some(BenchMode::Smoke));
        assert_eq!(mode(&["parallel-1f2e"]), Some(BenchMode::Smoke));
        // parbench itself with no arguments prints its help instead.
        assert_eq!(mode(&["parbench"]), None);
        assert_eq!(mode(&["parallel-1f2e", "run", "primes", "--bench"]), None);
    }

    #[test]
    fn the_smoke_test_uses_the_declared_smoke_sizes_and_the_measurement_the_defaults() {
        let registry = Registry::with_builtins();
        let fib = registry.get("fib").unwrap();
        assert_eq!(default_run(fib, false), ["parbench", "run", "fib"]);
        let smoke = default_run(fib, true);
        assert_eq!(smoke[..7], ["parbench", "run", "fib", "--rounds", "1", "--warmup", "0"]);
        assert!(smoke.windows(2).any(|w| w[0] == "--n" && w[1] == "20"), "{smoke:?}");
        // Every smoke command line parses.
        for spec in registry.visible().filter(|s| s.params().iter().all(|p| p.absent_values().is_ok())) {
            let args = default_run(spec, true);
            assert!(crate::cli::parse(&registry, &args).is_ok(), "{args:?}");
        }
    }
}
