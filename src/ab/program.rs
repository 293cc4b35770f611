//! One build as `parbench ab` drives it: a long-lived `serve-samples` process, started
//! once, asked for one sample at a time, with a deadline on every reply; stopped with
//! its whole process group when it misbehaves, when `ab` ends, and on interrupt.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Duration;

use super::protocol::{Hello, Reply, Request, VERSION, short};
use crate::error::UsageError;
use crate::runner::{RunnerId, Sample};

/// How much of a build's stderr is kept for its error messages.
const STDERR_TAIL: usize = 8192;

/// A running build.
pub struct Program {
    /// `BASE` or `NEW`.
    pub role: &'static str,
    /// The program as given.
    pub name: String,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    lines: Receiver<Result<String, String>>,
    stderr: Receiver<Vec<u8>>,
    timeout: Duration,
}

/// What went wrong with a build, for the exit status: not a parbench build (2), or a
/// build that failed while measuring (1).
#[derive(Debug)]
pub enum Fault {
    /// Not a parbench build, another protocol version, or a command line it refused.
    NotABuild(UsageError),
    /// It failed, died or hung while measuring.
    Failed(anyhow::Error),
}

impl From<Fault> for anyhow::Error {
    fn from(f: Fault) -> Self {
        match f {
            Fault::NotABuild(e) => e.into(),
            Fault::Failed(e) => e,
        }
    }
}

impl Program {
    /// Starts `program serve-samples <command>` and reads its hello. Every wait is
    /// bounded by `timeout`.
    pub fn start(
        role: &'static str,
        program: &Path,
        command: &[OsString],
        timeout: Duration,
    ) -> Result<(Program, Hello), Fault> {
        let name = program.display().to_string();
        let mut cmd = Command::new(program);
        cmd.arg("serve-samples")
            .args(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group: everything it starts is stopped with it, and a
            // Ctrl-C at the terminal reaches parbench, which stops both builds.
            .process_group(0)
            .env_remove(crate::sys::child::PARENT_PID_ENV);
        let mut child = crate::interrupt::spawn(&mut cmd, crate::interrupt::Spawned::Worker)
            .map_err(|e| Fault::NotABuild(UsageError::new(format!("{role} {name}: cannot start it: {e}"))))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr_pipe = child.stderr.take().expect("stderr is piped");
        let (line_tx, lines) = channel();
        std::thread::spawn(move || {
            let mut reader = std::io::BufReader::new(stdout);
            let mut buf = Vec::new();
            loop {
                let line = crate::worker::protocol::read_line(&mut reader, &mut buf);
                let end = !matches!(line, Ok(Some(_)));
                let sent = match line {
                    Ok(Some(l)) => line_tx.send(Ok(l.to_string())),
                    Ok(None) => break,
                    Err(e) => line_tx.send(Err(e)),
                };
                if sent.is_err() || end {
                    break;
                }
            }
        });
        let (tail_tx, stderr) = channel();
        std::thread::spawn(move || {
            let _ = tail_tx.send(crate::sys::child::read_tail(stderr_pipe, STDERR_TAIL));
        });
        let stdin = child.stdin.take();
        let mut p = Program { role, name, child: Some(child), stdin, lines, stderr, timeout };
        p.send(&Request::Greeting(VERSION.to_string()));
        let not_a_build = |p: &mut Program, what: String| {
            let why = p.stop_and_describe();
            Fault::NotABuild(UsageError::new(format!(
                "{} {} is not a parbench build that `ab` can drive: {what}{why}",
                p.role, p.name
            )))
        };
        match p.receive() {
            Ok(Some(line)) => match Reply::parse(&line) {
                Ok(Reply::Hello(version, hello)) if version == VERSION => Ok((p, *hello)),
                Ok(Reply::Hello(version, _)) => {
                    Err(not_a_build(&mut p, format!("it speaks {version:?}, this parbench {VERSION}")))
                }
                Ok(Reply::Error(message)) => {
                    p.stop();
                    Err(Fault::NotABuild(UsageError::new(format!("{role} {}: {message}", p.name))))
                }
                Ok(Reply::Fail(message)) => {
                    p.stop();
                    Err(Fault::Failed(anyhow::anyhow!("{role} {} failed while setting up: {message}", p.name)))
                }
                Ok(Reply::Sample(_)) => Err(not_a_build(&mut p, "a sample before its hello".into())),
                Err(e) => Err(not_a_build(&mut p, format!("its first line was {e}"))),
            },
            Ok(None) => Err(not_a_build(&mut p, "it ended its output without a hello".into())),
            Err(Some(e)) => Err(not_a_build(&mut p, e)),
            Err(None) => {
                let waited = p.timeout;
                Err(not_a_build(&mut p, format!("no hello within {waited:?} (--timeout)")))
            }
        }
    }

    /// One verified sample of `runner` on case `case` (named `label` in errors).
    pub fn sample(&mut self, case: usize, label: &str, runner: RunnerId) -> Result<Sample, Fault> {
        self.send(&Request::Sample { case, runner });
        let during = format!("a sample of {label} under the {runner} runner");
        let failed = |p: &mut Program, what: String| {
            let why = p.stop_and_describe();
            Fault::Failed(anyhow::anyhow!("{} {} {what} during {during}{why}", p.role, p.name))
        };
        match self.receive() {
            Ok(Some(line)) => match Reply::parse(&line) {
                Ok(Reply::Sample(sample)) if sample.runner == runner => Ok(*sample),
                Ok(Reply::Sample(sample)) => Err(failed(self, format!("sent a sample of {}", sample.runner))),
                Ok(Reply::Fail(message)) => {
                    self.stop();
                    Err(Fault::Failed(anyhow::anyhow!("{} {} failed: {message}", self.role, self.name)))
                }
                Ok(Reply::Error(message)) => Err(failed(self, format!("refused a request ({message})"))),
                Ok(Reply::Hello(..)) => Err(failed(self, "said hello again".into())),
                Err(e) => Err(failed(self, format!("sent {e}"))),
            },
            Ok(None) => Err(failed(self, "died".into())),
            Err(Some(e)) => Err(failed(self, format!("sent {e}"))),
            Err(None) => {
                self.stop();
                Err(Fault::Failed(anyhow::anyhow!(
                    "{} {} hung: no reply within {:?} (--timeout) to {during}; it was stopped",
                    self.role,
                    self.name,
                    self.timeout
                )))
            }
        }
    }

    /// Asks the build to quit and waits a moment for it; stops it either way.
    pub fn quit(mut self) {
        self.send(&Request::Quit);
        // Closing stdin ends a build that does not read `quit` too.
        self.stdin = None;
        if let Some(child) = &self.child {
            crate::sys::wait_for_exit(child.id(), std::time::Instant::now() + Duration::from_secs(5));
        }
        self.stop();
    }

    fn send(&mut self, request: &Request) {
        // A build that has gone away is noticed at the next receive, with its status.
        if let Some(stdin) = &mut self.stdin {
            if stdin.write_all(request.line().as_bytes()).and_then(|()| stdin.flush()).is_err() {
                self.stdin = None;
            }
        }
    }

    /// The next line: `Ok(None)` at the end of the build's output, `Err(None)` at the
    /// deadline, `Err(Some(why))` for an unreadable line.
    fn receive(&mut self) -> Result<Option<String>, Option<String>> {
        match self.lines.recv_timeout(self.timeout) {
            Ok(Ok(line)) => Ok(Some(line)),
            Ok(Err(e)) => Err(Some(e)),
            Err(RecvTimeoutError::Disconnected) => Ok(None),
            Err(RecvTimeoutError::Timeout) => Err(None),
        }
    }

    /// Stops the build and says how it ended and what it last wrote to stderr. It is
    /// given a second to exit first, so that a build that closed its output reports
    /// its own status.
    fn stop_and_describe(&mut self) -> String {
        let exited = self.child.as_ref().is_some_and(|child| {
            crate::sys::wait_for_exit(child.id(), std::time::Instant::now() + Duration::from_secs(1))
        });
        let status = self.stop();
        let tail = self.stderr.recv_timeout(Duration::from_secs(1)).unwrap_or_default();
        let last = crate::sys::child::last_lines(&tail, 2);
        let status = match status {
            Some(s) if exited => format!(" (it {})", crate::sys::describe_status(s)),
            Some(_) => " (it was still running, and was stopped)".to_string(),
            None => String::new(),
        };
        let said = if last.is_empty() { String::new() } else { format!("; its stderr ends: {}", last.join(" | ")) };
        format!("{status}{}", short(&said))
    }

    /// Kills the build's process group and reaps it; its status, if it was running.
    fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        self.stdin = None;
        // Already exited: its status stays, and its group (anything it left) goes.
        crate::sys::child::kill_group(child.id());
        let _ = child.kill();
        let status = child.wait().ok();
        crate::interrupt::unregister_child(child.id());
        status
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        self.stop();
    }
}
