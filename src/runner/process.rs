//! The `process` runner: W child processes of parbench itself (`current_exe()` with
//! the hidden `worker` subcommand), spawned inside the timed region because start-up is
//! the honest cost of processes. Tasks are handed out over the line protocol in
//! [`protocol`](super::protocol), one at a time to whichever child is free (dynamic,
//! like a process pool) or as one contiguous block per child (static).
//!
//! The one decision a reader would otherwise get wrong: every child is owned by a
//! [`Children`] guard whose `Drop` kills and reaps it, so *every* return path, error or
//! panic included, leaves no process behind. Errors name the worker, its pid, its exit
//! status or signal and the tail of its stderr.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crossbeam::channel::{self, Receiver, RecvTimeoutError};

use super::protocol::{PARENT_PID_ENV, Reply, Setup, SharedSpec};
use super::{Runner, RunnerKind, Sample, Schedule, TaskRecord, finish_sample};
use crate::error::BenchError;
use crate::interrupt;
use crate::sys::Meter;
use crate::workload::{SharedState, Workload};

/// Runs tasks in W child processes.
pub struct ProcessRunner {
    workers: usize,
    schedule: Schedule,
    timeout: Duration,
    program: PathBuf,
    args: Vec<OsString>,
}

impl ProcessRunner {
    /// A runner whose children are this executable's hidden `worker` subcommand.
    pub fn new(workers: usize, schedule: Schedule, timeout: Duration) -> Result<Self, BenchError> {
        let program = std::env::current_exe()
            .map_err(|source| BenchError::Io { context: "finding parbench's own executable".into(), source })?;
        Ok(Self::with_program(workers, schedule, timeout, program, vec!["worker".into()]))
    }

    /// A runner whose children run `program args...` (tests use this to start
    /// misbehaving children).
    pub fn with_program(
        workers: usize,
        schedule: Schedule,
        timeout: Duration,
        program: PathBuf,
        args: Vec<OsString>,
    ) -> Self {
        ProcessRunner { workers: workers.max(1), schedule, timeout, program, args }
    }
}

enum Event {
    Line(String),
    Eof,
}

struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    pid: u32,
    reaped: bool,
}

/// Owns the children of one sample; dropping it kills and reaps all of them.
struct Children {
    workers: Vec<Worker>,
    readers: Vec<std::thread::JoinHandle<()>>,
    events: Receiver<(usize, Event)>,
}

impl Children {
    fn spawn(program: &PathBuf, args: &[OsString], count: usize) -> Result<Children, BenchError> {
        let (tx, events) = channel::unbounded();
        let mut children = Children { workers: Vec::with_capacity(count), readers: Vec::new(), events };
        for index in 0..count {
            let mut child = Command::new(program)
                .args(args)
                .env(PARENT_PID_ENV, std::process::id().to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|source| BenchError::Spawn {
                    worker: index,
                    program: program.display().to_string(),
                    source,
                })?;
            let pid = child.id();
            interrupt::register_child(pid);
            let stdout = child.stdout.take().expect("stdout is piped");
            let stdin = child.stdin.take();
            children.workers.push(Worker { child, stdin, pid, reaped: false });
            let tx = tx.clone();
            let reader = std::thread::Builder::new()
                .name(format!("parbench-worker-{index}-reader"))
                .spawn(move || {
                    for line in BufReader::new(stdout).lines() {
                        match line {
                            Ok(line) => {
                                if tx.send((index, Event::Line(line))).is_err() {
                                    return;
                                }
                            }
                            Err(_) => break,
                        }
                    }
                    let _ = tx.send((index, Event::Eof));
                })
                .map_err(|source| BenchError::Io { context: "starting a reader thread".into(), source })?;
            children.readers.push(reader);
        }
        Ok(children)
    }

    fn pid(&self, worker: usize) -> u32 {
        self.workers[worker].pid
    }

    /// Sends one line; a closed pipe means the child died, reported with its status.
    fn send(&mut self, worker: usize, line: &str) -> Result<(), BenchError> {
        let w = &mut self.workers[worker];
        let result = match w.stdin.as_mut() {
            Some(stdin) => stdin.write_all(line.as_bytes()).and_then(|_| stdin.flush()),
            None => Ok(()),
        };
        result.map_err(|_| self.failure(worker, "closed its input early".into()))
    }

    /// Kills (if still running) and reaps one child; returns its status.
    fn reap(&mut self, worker: usize) -> Option<ExitStatus> {
        let w = &mut self.workers[worker];
        if w.reaped {
            return None;
        }
        if !matches!(w.child.try_wait(), Ok(Some(_))) {
            let _ = w.child.kill();
        }
        let status = w.child.wait().ok();
        w.reaped = true;
        interrupt::unregister_child(w.pid);
        status
    }

    /// The last lines of a reaped child's stderr.
    fn stderr_tail(&mut self, worker: usize) -> String {
        let mut text = String::new();
        if let Some(mut err) = self.workers[worker].child.stderr.take() {
            let _ = err.read_to_string(&mut text);
        }
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let tail = lines[lines.len().saturating_sub(3)..].join("\n");
        let chars = tail.chars().count();
        if chars > 400 { tail.chars().skip(chars - 400).collect() } else { tail }
    }

    /// Builds the error for a child that misbehaved, after killing and reaping it.
    fn failure(&mut self, worker: usize, what: String) -> BenchError {
        let status = self.reap(worker);
        let stderr_tail = self.stderr_tail(worker);
        BenchError::WorkerFailed {
            worker,
            pid: self.pid(worker),
            status: match status {
                Some(s) => format!("{what} ({})", describe_status(s)),
                None => what,
            },
            stderr_tail,
        }
    }

    fn protocol_error(&mut self, worker: usize, detail: String) -> BenchError {
        self.reap(worker);
        let stderr_tail = self.stderr_tail(worker);
        BenchError::Protocol { worker, pid: self.pid(worker), detail, stderr_tail }
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for worker in 0..self.workers.len() {
            self.workers[worker].stdin = None;
            self.reap(worker);
        }
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }
}

/// "exited with status 3", "was killed by signal 11 (SIGSEGV)".
fn describe_status(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with status {code}");
    }
    match status.signal() {
        Some(sig) => format!("was killed by signal {sig} ({})", signal_name(sig)),
        None => status.to_string(),
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGILL => "SIGILL",
        libc::SIGINT => "SIGINT",
        libc::SIGKILL => "SIGKILL",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGTERM => "SIGTERM",
        _ => "signal",
    }
}

impl Runner for ProcessRunner {
    fn run(&mut self, workload: &dyn Workload) -> Result<Sample, BenchError> {
        let workers = self.workers;
        let tasks = workload.task_count();
        let slots = workload.shared_slots(workers);
        let io = |context: &str| {
            let context = context.to_string();
            move |source| BenchError::Io { context, source }
        };
        let (shared, spec) = if slots > 0 {
            let (state, path) = SharedState::create_mapped(slots).map_err(io("creating the shared counter file"))?;
            (state, Some(SharedSpec { path, slots }))
        } else {
            (SharedState::heap(0), None)
        };
        // Everything that can be prepared is prepared before the clock starts.
        let setups: Vec<String> = (0..workers)
            .map(|worker| Setup { worker, workers, params: workload.params(), shared: spec.clone() }.to_line())
            .collect();
        let mut checksums = vec![0u64; tasks];
        let mut records = vec![TaskRecord { worker: 0, start_ns: 0, end_ns: 0 }; tasks];
        let mut done = vec![false; tasks];
        let mut ready_ns = vec![None::<u64>; workers];

        let meter = Meter::start();
        let origin = meter.start_mono_ns();
        let deadline = Instant::now() + self.timeout;
        let mut children = Children::spawn(&self.program, &self.args, workers)?;
        let mut next = 0usize;
        for (worker, setup) in setups.iter().enumerate() {
            children.send(worker, setup)?;
            let block = match self.schedule {
                Schedule::Dynamic => next..(next + 1).min(tasks),
                Schedule::Static => Schedule::static_block(tasks, worker, workers),
            };
            next = next.max(block.end);
            if !block.is_empty() {
                children.send(worker, &format!("run {} {}\n", block.start, block.end))?;
            }
        }

        let mut finished = 0usize;
        while finished < tasks {
            let (worker, event) = match children.events.recv_deadline(deadline) {
                Ok(message) => message,
                Err(RecvTimeoutError::Timeout) => {
                    let worker = (0..workers).find(|&w| ready_ns[w].is_none()).unwrap_or(0);
                    return Err(BenchError::WorkerTimeout { worker, pid: children.pid(worker), timeout: self.timeout });
                }
                Err(RecvTimeoutError::Disconnected) => {
                    unreachable!("the runner holds no sender, readers send Eof")
                }
            };
            let line = match event {
                Event::Line(line) => line,
                Event::Eof => {
                    return Err(children.failure(worker, "exited before finishing its tasks".into()));
                }
            };
            match Reply::parse(&line) {
                Ok(Reply::Ready { .. }) if ready_ns[worker].is_none() => {
                    ready_ns[worker] = Some(crate::sys::monotonic_ns().saturating_sub(origin));
                }
                Ok(Reply::Done { task, checksum, start_ns, end_ns }) if task < tasks && !done[task] => {
                    done[task] = true;
                    finished += 1;
                    checksums[task] = checksum;
                    records[task] = TaskRecord {
                        worker: worker as u32,
                        start_ns: start_ns.saturating_sub(origin),
                        end_ns: end_ns.saturating_sub(origin),
                    };
                    if self.schedule == Schedule::Dynamic && next < tasks {
                        children.send(worker, &format!("run {next} {}\n", next + 1))?;
                        next += 1;
                    }
                }
                Ok(other) => {
                    return Err(children.protocol_error(worker, format!("unexpected reply {other:?}")));
                }
                Err(detail) => return Err(children.protocol_error(worker, detail)),
            }
        }

        for worker in 0..workers {
            children.send(worker, "quit\n")?;
            children.workers[worker].stdin = None;
        }
        let mut said_bye = vec![false; workers];
        let mut closed = 0;
        while closed < workers {
            match children.events.recv_deadline(deadline) {
                Ok((worker, Event::Line(line))) if line == "bye" => said_bye[worker] = true,
                Ok((worker, Event::Line(line))) => {
                    return Err(children.protocol_error(worker, format!("unexpected line {line:?} after quit")));
                }
                Ok((worker, Event::Eof)) => {
                    closed += 1;
                    if !said_bye[worker] {
                        return Err(children.failure(worker, "exited without acknowledging quit".into()));
                    }
                }
                Err(_) => {
                    let worker = (0..workers).find(|&w| !said_bye[w]).unwrap_or(0);
                    return Err(BenchError::WorkerTimeout { worker, pid: children.pid(worker), timeout: self.timeout });
                }
            }
        }
        for worker in 0..workers {
            let status = children.reap(worker);
            if let Some(status) = status.filter(|s| !s.success()) {
                let stderr_tail = children.stderr_tail(worker);
                return Err(BenchError::WorkerFailed {
                    worker,
                    pid: children.pid(worker),
                    status: describe_status(status),
                    stderr_tail,
                });
            }
        }
        // Children are reaped, so RUSAGE_CHILDREN now includes their CPU time.
        let measured = meter.stop();
        drop(children);

        let mut sample = finish_sample(RunnerKind::Process, workers, workload, measured, &checksums, records, &shared);
        sample.startup_ns = ready_ns.iter().flatten().copied().max();
        Ok(sample)
    }
}
