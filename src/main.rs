//! The `parbench` binary: parse, call [`parbench::app::run`], turn an error into one
//! line on stderr and an exit code (0 ok, 1 benchmark failed, 2 usage, 130 interrupt).

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use parbench::cli::Cli;
use parbench::error::UsageError;

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("parbench: internal error: {info}; please report this as a bug");
    }));
    // The process runner's children start here: skip building and parsing the whole
    // CLI, whose cost would otherwise count as process start-up in every sample.
    if std::env::args_os().nth(1).is_some_and(|a| a == "worker") && std::env::args_os().len() == 2 {
        return match parbench::runner::protocol::worker_main() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("parbench: error: worker: {e}");
                ExitCode::from(2)
            }
        };
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_error(e),
    };
    match parbench::app::run(cli) {
        Ok(code) => code,
        Err(e) => {
            // After Ctrl-C the workers die too, and that can surface here first: the
            // signal handler thread is about to stop everything and exit 130.
            if parbench::interrupt::interrupted() {
                loop {
                    std::thread::park();
                }
            }
            eprintln!("parbench: error: {e:#}");
            if e.downcast_ref::<UsageError>().is_some() { ExitCode::from(2) } else { ExitCode::from(1) }
        }
    }
}

/// Help and version print as usual; every real parse error becomes one line.
fn clap_error(e: clap::Error) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            let _ = e.print();
            ExitCode::from(2)
        }
        _ => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            // Keep clap's list of allowed values: it says what to type instead.
            let allowed = text.lines().map(str::trim).find(|l| l.starts_with("[possible values:"));
            match allowed {
                Some(allowed) => eprintln!("parbench: error: {first} {allowed}"),
                None => eprintln!("parbench: error: {first}; see --help"),
            }
            ExitCode::from(2)
        }
    }
}
