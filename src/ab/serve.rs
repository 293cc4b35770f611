//! The build's side of `parbench ab`: the hidden `serve-samples` subcommand, which
//! plans a `run`, `scale` or `suite` command line, builds every case, says hello with
//! the plan and its fingerprint, then measures one verified sample per request until
//! told to quit.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use super::protocol::{Hello, Reply, Request, VERSION};
use crate::measure::Sampler;
use crate::registry::Registry;

/// `<program> serve-samples <command line>`: serves samples over stdin and stdout.
/// Exit 0 after `quit` (or when the parent goes away), 1 when measuring failed, 2 on a
/// command line or request it refuses.
pub fn main(registry: &Registry, args: &[OsString]) -> ExitCode {
    // The parent keeps this process from its start to its end; it must not outlive it.
    crate::sys::child::die_with_parent();
    let mut out = match protocol_out() {
        Ok(out) => out,
        Err(e) => {
            eprintln!("parbench: error: serve-samples: {e}");
            return ExitCode::from(2);
        }
    };
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut buf = Vec::new();
    let mut send = |reply: Reply| out.write_all(reply.line().as_bytes()).and_then(|()| out.flush()).is_ok();
    let refuse = |send: &mut dyn FnMut(Reply) -> bool, message: String| {
        send(Reply::Error(message));
        ExitCode::from(2)
    };
    match crate::worker::protocol::read_line(&mut input, &mut buf) {
        Ok(Some(line)) => match Request::parse(line) {
            Ok(Request::Greeting(v)) if v == VERSION => {}
            Ok(Request::Greeting(v)) => return refuse(&mut send, format!("this build speaks {VERSION}, not {v}")),
            _ => return refuse(&mut send, format!("expected the greeting `ab {VERSION}`")),
        },
        _ => return ExitCode::from(2),
    }
    let plan = match crate::app::plan_of(registry, args, "serve-samples") {
        Ok((plan, _)) => plan,
        Err(e) => return refuse(&mut send, e.to_string()),
    };
    let mut samplers = Vec::with_capacity(plan.cases.len());
    for case in &plan.cases {
        match Sampler::new(case) {
            Ok(s) => samplers.push(s),
            Err(e) => {
                send(Reply::Fail(e.to_string()));
                return ExitCode::from(1);
            }
        }
    }
    let hold = crate::measure::hold_pools(&plan.cases);
    let tasks: Vec<usize> = samplers.iter().map(Sampler::tasks).collect();
    let summary = super::plan::summary(&plan, &tasks);
    let hello = Hello {
        plan: serde_json::to_value(&summary).expect("a plan summary serialises"),
        environment: crate::fingerprint::collect(),
    };
    if !send(Reply::Hello(VERSION.to_string(), Box::new(hello))) {
        return ExitCode::SUCCESS;
    }
    loop {
        let line = match crate::worker::protocol::read_line(&mut input, &mut buf) {
            Ok(Some(line)) => line,
            // The parent went away: nothing is left to serve.
            Ok(None) => return ExitCode::SUCCESS,
            Err(e) => return refuse(&mut send, e),
        };
        match Request::parse(line) {
            Ok(Request::Quit) => return ExitCode::SUCCESS,
            Ok(Request::Sample { case, runner }) => {
                let Some(sampler) = samplers.get_mut(case) else {
                    return refuse(&mut send, format!("no case {case}: the plan has {}", plan.cases.len()));
                };
                let Some(result) = sampler.sample(runner) else {
                    return refuse(&mut send, format!("case {case} does not run the {runner} runner"));
                };
                if !hold {
                    sampler.release();
                }
                match result {
                    Ok(mut sample) => {
                        // The per-task records are for timelines; ab does not draw them.
                        sample.tasks = Vec::new();
                        if !send(Reply::Sample(Box::new(sample))) {
                            return ExitCode::SUCCESS;
                        }
                    }
                    Err(e) => {
                        send(Reply::Fail(e.to_string()));
                        return ExitCode::from(1);
                    }
                }
            }
            Ok(Request::Greeting(_)) => return refuse(&mut send, "a second greeting".into()),
            Err(e) => return refuse(&mut send, e),
        }
    }
}

/// The protocol's own copy of stdout; stdout itself then goes to stderr, so that
/// nothing a workload prints can break a protocol line.
fn protocol_out() -> std::io::Result<std::io::BufWriter<std::fs::File>> {
    use std::os::fd::FromRawFd;
    // SAFETY: dup of descriptor 1 returns a new descriptor (or -1) that we then own.
    let fd = unsafe { libc::fcntl(1, libc::F_DUPFD_CLOEXEC, 3) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor nothing else owns.
    let file = unsafe { std::fs::File::from_raw_fd(fd) };
    // SAFETY: dup2 of stderr onto stdout; both descriptors stay open.
    if unsafe { libc::dup2(2, 1) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(std::io::BufWriter::new(file))
}
