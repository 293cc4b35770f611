//! The `process` runner: W child processes of the running program (`current_exe()`,
//! the user's bench binary when parbench is a library, with the hidden `worker`
//! subcommand), spawned inside the timed region because start-up is the honest cost of
//! processes. Tasks are handed out over the line protocol in
//! [`protocol`](super::protocol): dynamically, like a process pool, or as one
//! contiguous block per child (static).
//!
//! A sample is timed in two parts with the workload's set-up between them: spawn until
//! every child has said hello (start-up), then the tasks until the last task's reply.
//! The set-up, where each child builds its own copy of the workload, its inputs and its
//! worker state, runs while the clock is stopped, as it does for the in-process
//! runners; its CPU time is taken out. So is the teardown: the outputs travel back and
//! the children free their set-up and exit after the clock has stopped (reported on its
//! own as `teardown_ns`).
//!
//! Dynamic hand-out keeps one task queued ahead in each child's stdin while more tasks
//! remain than there are workers. Without it, every finished task would wait for the
//! parent to be scheduled, read the reply and answer, which on a machine whose cores are
//! all busy with the children costs a scheduler time slice per task. Near the end, only
//! one task per child is in flight, so uneven tasks still balance.
//!
//! Every child is owned by a `Children` guard whose `Drop` kills and reaps it, so *every* return path, error or
//! panic included, leaves no process behind. Errors name the worker, its pid, its exit
//! status or signal and the tail of its stderr.

use std::ffi::OsString;
use std::io::{BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crossbeam::channel::{self, Receiver, RecvTimeoutError};

use super::protocol::{PARENT_PID_ENV, Reply, Setup, SharedSpec, VERSION};
use super::{
    CostModel, Job, Runner, RunnerEntry, RunnerId, RunnerInfo, RunnerOptions, Sample, Schedule, Started, TaskRecord,
    TaskSlots, finish_sample,
};
use crate::error::BenchError;
use crate::interrupt;
use crate::sys::Meter;
use crate::workload::{Prepare, SharedState};

/// Runs tasks in W child processes.
pub struct ProcessRunner {
    pin: Option<std::sync::Arc<[usize]>>,
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
            .map_err(|error| BenchError::Io { context: "finding parbench's own executable".into(), error })?;
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
        ProcessRunner { pin: None, workers: workers.max(1), schedule, timeout, program, args }
    }

    /// The same runner with child `w` pinned to `pin[w % len]` during its set-up.
    pub fn pinned(mut self, pin: Option<std::sync::Arc<[usize]>>) -> Self {
        self.pin = pin;
        self
    }
}

enum Event {
    /// A line on the child's stdout.
    Line(String),
    /// The child's stdout closed.
    Eof,
    /// The child exited (seen by polling; its stdout may still be held open by a
    /// process it started).
    Exited,
}

/// Longest wait for a new child's hello (less when --timeout is shorter).
const HANDSHAKE: Duration = Duration::from_secs(15);

/// How often the runner checks whether a child exited while waiting for its output.
const EXIT_POLL: Duration = Duration::from_millis(50);

struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    stderr: std::fs::File,
    pid: u32,
    exited: bool,
    reaped: bool,
}

/// Owns the children of one sample; dropping it kills and reaps all of them.
///
/// Reader threads are not joined: each ends when its pipe closes, which a grandchild
/// that inherited the pipe could delay indefinitely; the runner must not wait for that.
struct Children {
    /// The program every child runs, for errors.
    program: String,
    workers: Vec<Worker>,
    events: Receiver<(usize, Event)>,
    /// `--timeout`: the longest silence allowed.
    timeout: Duration,
    /// When the sample gives up: `timeout` after the last progress. Reading and
    /// writing both respect it.
    deadline: Instant,
}

impl Children {
    /// One stderr file per child, made before the timed region. stderr goes to an
    /// unnamed temporary file, not a pipe: a chatty child can never block on a full
    /// pipe, and the tail can be read after it died.
    fn stderr_files(count: usize) -> Result<Vec<std::fs::File>, BenchError> {
        let io = |error| BenchError::Io { context: "creating a file for a worker's stderr".into(), error };
        (0..count).map(|_| tempfile::tempfile().map_err(io)).collect()
    }

    fn spawn(
        program: &PathBuf,
        args: &[OsString],
        stderr_files: Vec<std::fs::File>,
        timeout: Duration,
    ) -> Result<Children, BenchError> {
        let (tx, events) = channel::unbounded();
        let workers = Vec::with_capacity(stderr_files.len());
        let mut children = Children {
            program: program.display().to_string(),
            workers,
            events,
            timeout,
            deadline: Instant::now() + timeout,
        };
        for (index, stderr) in stderr_files.into_iter().enumerate() {
            let stderr_child = stderr
                .try_clone()
                .map_err(|error| BenchError::Io { context: "sharing a worker's stderr file".into(), error })?;
            // Each child leads a process group of its own, so that killing the group also
            // kills whatever its tasks started (a command's sh and its children).
            let mut child = Command::new(program)
                .process_group(0)
                .args(args)
                .env(PARENT_PID_ENV, std::process::id().to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::from(stderr_child))
                .spawn()
                .map_err(|error| BenchError::Spawn { worker: index, program: program.display().to_string(), error })?;
            let pid = child.id();
            interrupt::register_child(pid);
            let stdout = child.stdout.take().expect("stdout is piped");
            let stdin = child.stdin.take();
            if let Some(stdin) = &stdin {
                use std::os::fd::AsRawFd;
                let fd = stdin.as_raw_fd();
                // Non-blocking, so that `send` can give up at the deadline instead of
                // waiting forever on a child that stopped reading.
                // SAFETY: fcntl on a pipe fd we own; only adds O_NONBLOCK to its flags.
                unsafe { libc::fcntl(fd, libc::F_SETFL, libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK) };
            }
            children.workers.push(Worker { child, stdin, stderr, pid, exited: false, reaped: false });
            let tx = tx.clone();
            std::thread::Builder::new()
                .name(format!("parbench-worker-{index}-reader"))
                .spawn(move || {
                    let mut reader = BufReader::new(stdout);
                    while let Ok(Some(line)) = super::protocol::read_line(&mut reader) {
                        if tx.send((index, Event::Line(line))).is_err() {
                            return;
                        }
                    }
                    let _ = tx.send((index, Event::Eof));
                })
                .map_err(|error| BenchError::Io { context: "starting a reader thread".into(), error })?;
        }
        Ok(children)
    }

    /// The next event from any child, or `None` at the deadline.
    fn next_event(&mut self) -> Option<(usize, Event)> {
        loop {
            let left = self.deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())?;
            let slice = left.min(EXIT_POLL);
            match self.events.recv_timeout(slice) {
                Ok(message) => return Some(message),
                Err(RecvTimeoutError::Timeout) => {}
                // Every reader has finished; only exits remain to be seen.
                Err(RecvTimeoutError::Disconnected) => std::thread::sleep(slice),
            }
            for (index, w) in self.workers.iter_mut().enumerate() {
                if !w.exited && matches!(w.child.try_wait(), Ok(Some(_))) {
                    w.exited = true;
                    return Some((index, Event::Exited));
                }
            }
        }
    }

    fn pid(&self, worker: usize) -> u32 {
        self.workers[worker].pid
    }

    /// Sends one line; a closed pipe means the child died, reported with its status.
    /// Writes one line to a child, waiting (with poll) while its pipe is full, but not
    /// past the deadline.
    fn send(&mut self, worker: usize, line: &str) -> Result<(), BenchError> {
        use std::os::fd::AsRawFd;
        let Some(stdin) = self.workers[worker].stdin.as_mut() else { return Ok(()) };
        let mut rest = line.as_bytes();
        while !rest.is_empty() {
            match stdin.write(rest) {
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    let left = self.deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(self.timeout(worker));
                    }
                    let mut fds = libc::pollfd { fd: stdin.as_raw_fd(), events: libc::POLLOUT, revents: 0 };
                    let ms = left.as_millis().clamp(1, i32::MAX as u128) as libc::c_int;
                    // SAFETY: one valid pollfd for the duration of the call.
                    unsafe { libc::poll(&mut fds, 1, ms) };
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return Err(self.failure(worker, "closed its input before finishing its tasks".into())),
            }
        }
        Ok(())
    }

    /// Kills (if still running) and reaps one child; returns its status.
    fn reap(&mut self, worker: usize) -> Option<ExitStatus> {
        let w = &mut self.workers[worker];
        if w.reaped {
            return None;
        }
        // The whole group, also after a clean exit: nothing a task started outlives the
        // sample. The group id is the child's pid, safe to signal while the child is not
        // reaped; `try_wait` in `next_event` may have reaped it already, and then the
        // group is left alone.
        if !w.exited {
            // SAFETY: kill on the process group of a child we spawned and have not reaped.
            unsafe { libc::kill(-(w.pid as libc::pid_t), libc::SIGKILL) };
        }
        let status = w.child.wait().ok();
        w.reaped = true;
        interrupt::unregister_child(w.pid);
        status
    }

    /// The last lines a child wrote to stderr (its last 4 KiB).
    fn stderr_tail(&mut self, worker: usize) -> String {
        use std::io::{Seek, SeekFrom};
        let err = &mut self.workers[worker].stderr;
        let len = err.seek(SeekFrom::End(0)).unwrap_or(0);
        let mut bytes = Vec::new();
        if err.seek(SeekFrom::Start(len.saturating_sub(4096))).is_ok() {
            let _ = err.read_to_end(&mut bytes);
        }
        let text = String::from_utf8_lossy(&bytes);
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
                Some(s) => format!("{what} ({})", crate::sys::describe_status(s)),
                None => what,
            },
            stderr_tail,
        }
    }

    fn timeout(&mut self, worker: usize) -> BenchError {
        self.reap(worker);
        let stderr_tail = self.stderr_tail(worker);
        BenchError::WorkerTimeout { worker, pid: self.pid(worker), timeout: self.timeout, stderr_tail }
    }

    fn handshake(&mut self, worker: usize, what: String) -> BenchError {
        self.reap(worker);
        let stderr_tail = self.stderr_tail(worker);
        let program = self.program.clone();
        BenchError::Handshake { program, what, stderr_tail }
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
    }
}

/// Dynamic hand-out: tops up `worker`'s queue. It holds two tasks (one running, one
/// waiting) while more tasks remain unassigned than there are workers, else one.
fn feed(
    children: &mut Children,
    worker: usize,
    pending: &mut [usize],
    next: &mut usize,
    tasks: usize,
) -> Result<(), BenchError> {
    loop {
        let depth = if tasks - *next > pending.len() { 2 } else { 1 };
        if pending[worker] >= depth || *next >= tasks {
            return Ok(());
        }
        pending[worker] += 1;
        children.send(worker, &format!("run {} {}\n", *next, *next + 1))?;
        *next += 1;
    }
}

impl ProcessRunner {
    /// Phase one, timed: spawn every child and wait until each has said hello. Blank
    /// lines are passed over (a libtest harness starts with one), anything else that is
    /// not a hello means the program does not route `worker` to parbench.
    fn start_children(&self, stderr_files: Vec<std::fs::File>) -> Result<Children, BenchError> {
        let mut children = Children::spawn(&self.program, &self.args, stderr_files, self.timeout)?;
        // A program that answers at all answers at once: its silence is not waited out
        // for the whole --timeout.
        children.deadline = Instant::now() + self.timeout.min(HANDSHAKE);
        let mut answered = vec![false; self.workers];
        while answered.iter().any(|a| !a) {
            let Some((worker, event)) = children.next_event() else {
                let worker = answered.iter().position(|a| !a).unwrap_or(0);
                let waited = self.timeout.min(HANDSHAKE).as_secs_f64();
                return Err(children.handshake(worker, format!("it stayed silent for {waited}s")));
            };
            let line = match event {
                Event::Line(line) if line.trim().is_empty() => continue,
                Event::Line(line) => line,
                Event::Eof | Event::Exited => {
                    let status = children.reap(worker).map(crate::sys::describe_status);
                    let what = format!("it {} without a word", status.as_deref().unwrap_or("exited"));
                    return Err(children.handshake(worker, what));
                }
            };
            match Reply::parse(&line) {
                Ok(Reply::Hello { version, .. }) if version == VERSION && !answered[worker] => answered[worker] = true,
                Ok(Reply::Hello { version, .. }) => {
                    return Err(children.protocol_error(
                        worker,
                        format!("it speaks {version}, this parbench speaks {VERSION}: rebuild the worker program"),
                    ));
                }
                _ => {
                    let what = format!("its first line was {:?}", super::protocol::truncate(&line, 60));
                    return Err(children.handshake(worker, what));
                }
            }
        }
        Ok(children)
    }

    /// Phase two, untimed: send the set-up and wait until every child has built the
    /// workload. Returns the longest set-up and the children's set-up CPU time.
    fn set_up(&self, children: &mut Children, setups: &[String]) -> Result<(u64, u64), BenchError> {
        for (worker, setup) in setups.iter().enumerate() {
            children.send(worker, setup)?;
        }
        let (mut longest, mut cpu) = (0u64, 0u64);
        let mut ready = vec![false; self.workers];
        children.deadline = Instant::now() + self.timeout;
        while ready.iter().any(|r| !r) {
            let Some((worker, event)) = children.next_event() else {
                let worker = ready.iter().position(|r| !r).unwrap_or(0);
                return Err(children.timeout(worker));
            };
            match event {
                Event::Line(line) => match Reply::parse(&line) {
                    Ok(Reply::Ready { setup_ns, setup_cpu_ns }) if !ready[worker] => {
                        ready[worker] = true;
                        longest = longest.max(setup_ns);
                        cpu = cpu.saturating_add(setup_cpu_ns);
                    }
                    Ok(other) => return Err(children.protocol_error(worker, format!("unexpected reply {other:?}"))),
                    Err(detail) => return Err(children.protocol_error(worker, detail)),
                },
                Event::Eof | Event::Exited if ready[worker] => {
                    return Err(children.failure(worker, "exited before finishing its tasks".into()));
                }
                Event::Eof | Event::Exited => {
                    return Err(children.failure(worker, "exited while setting up the workload".into()));
                }
            }
        }
        Ok((longest, cpu))
    }
}

/// What the children said after the timed region: their CPU time, involuntary context
/// switches and CPU wait, summed.
struct Farewell {
    cpu_ns: u64,
    switches: u64,
    waited_ns: Option<u64>,
    allocations: Option<super::Allocations>,
    /// The first output that did not decode (a NaN travels as JSON `null`).
    undecodable: Option<String>,
}

impl ProcessRunner {
    /// Phase three, timed: hands out the tasks and waits for every `done`. The region
    /// ends at the last one; nothing after it (outputs, exits) is timed.
    fn dispatch(
        &self,
        children: &mut Children,
        job: &Job,
        tasks: usize,
        origin: u64,
        records: &mut [TaskRecord],
    ) -> Result<(), BenchError> {
        let workers = self.workers;
        // The timeout is a limit on silence, not on the sample: it restarts whenever a
        // worker reports progress, so long samples that keep finishing tasks run on,
        // while a hung worker is caught within one timeout.
        // When each worker last reported anything: the quietest busy one is blamed.
        let mut heard = vec![Instant::now(); workers];
        children.deadline = Instant::now() + self.timeout;
        let mut next = 0usize;
        let mut done = vec![false; tasks];
        // Tasks sent to each worker and not yet done: for the look-ahead, and for whom
        // to blame on a timeout.
        let mut pending = vec![0usize; workers];
        if self.schedule == Schedule::Static {
            for (worker, queued) in pending.iter_mut().enumerate() {
                let block = Schedule::static_block(tasks, worker, workers);
                if !block.is_empty() {
                    *queued += block.len();
                    children.send(worker, &format!("run {} {}\n", block.start, block.end))?;
                }
            }
        }
        let dynamic = self.schedule == Schedule::Dynamic;
        if dynamic {
            // One task each first, then the look-ahead: with few tasks, handing the
            // second task to worker 0 before worker 1 has any would be a static split.
            for (worker, queued) in pending.iter_mut().enumerate().take(tasks) {
                *queued += 1;
                children.send(worker, &format!("run {next} {}\n", next + 1))?;
                next += 1;
            }
            for worker in 0..workers {
                feed(children, worker, &mut pending, &mut next, tasks)?;
            }
        }
        let mut finished = 0usize;
        while finished < tasks {
            let Some((worker, event)) = children.next_event() else {
                let worker = (0..workers).filter(|&w| pending[w] > 0).min_by_key(|&w| heard[w]).unwrap_or(0);
                return Err(children.timeout(worker));
            };
            heard[worker] = Instant::now();
            children.deadline = heard[worker] + self.timeout;
            let line = match event {
                Event::Line(line) => line,
                Event::Eof | Event::Exited => {
                    return Err(children.failure(worker, "exited before finishing its tasks".into()));
                }
            };
            match Reply::parse(&line) {
                Ok(Reply::Done { task, start_ns, end_ns }) if task < tasks && !done[task] => {
                    done[task] = true;
                    finished += 1;
                    pending[worker] = pending[worker].saturating_sub(1);
                    records[task] = TaskRecord {
                        worker: worker as u32,
                        start_ns: start_ns.saturating_sub(origin),
                        end_ns: end_ns.saturating_sub(origin),
                    };
                    if dynamic {
                        feed(children, worker, &mut pending, &mut next, tasks)?;
                    }
                }
                Ok(Reply::Fail { task, message }) if task < tasks => {
                    return Err(BenchError::TaskFailed {
                        runner: ENTRY.info.id.as_str(),
                        workload: job.label.clone(),
                        task,
                        message,
                    });
                }
                Ok(other) => {
                    return Err(children.protocol_error(worker, format!("unexpected reply {other:?}")));
                }
                Err(detail) => return Err(children.protocol_error(worker, detail)),
            }
        }
        Ok(())
    }

    /// Phase four, untimed: asks every child to quit, stores the outputs it sends into
    /// `outputs`, collects its `bye`, and reaps it.
    fn finish(
        &self,
        children: &mut Children,
        outputs: &mut dyn crate::workload::SampleSlots,
    ) -> Result<Farewell, BenchError> {
        let workers = self.workers;
        for worker in 0..workers {
            children.send(worker, "quit\n")?;
            children.workers[worker].stdin = None;
        }
        children.deadline = Instant::now() + self.timeout;
        let mut said_bye = vec![false; workers];
        let mut farewell = Farewell {
            cpu_ns: 0,
            switches: 0,
            waited_ns: Some(0),
            allocations: Some(Default::default()),
            undecodable: None,
        };
        let mut closed = vec![false; workers];
        while closed.iter().any(|c| !c) {
            match children.next_event() {
                Some((worker, Event::Line(line))) => match Reply::parse(&line) {
                    Ok(Reply::Output { task, json }) if !said_bye[worker] => {
                        children.deadline = Instant::now() + self.timeout;
                        if let Err(detail) = outputs.decode(task, &json) {
                            farewell.undecodable.get_or_insert(detail);
                        }
                    }
                    Ok(Reply::Bye { cpu_ns, switches, waited_ns, allocations }) if !said_bye[worker] => {
                        farewell.allocations =
                            farewell.allocations.zip(allocations).map(|(a, (count, bytes))| super::Allocations {
                                count: a.count.saturating_add(count),
                                bytes: a.bytes.saturating_add(bytes),
                            });
                        farewell.cpu_ns = farewell.cpu_ns.saturating_add(cpu_ns);
                        farewell.switches = farewell.switches.saturating_add(switches);
                        farewell.waited_ns = farewell.waited_ns.zip(waited_ns).map(|(a, b)| a.saturating_add(b));
                        said_bye[worker] = true;
                        closed[worker] = children.workers[worker].exited;
                    }
                    _ => {
                        return Err(children.protocol_error(worker, format!("unexpected line {line:?} after quit")));
                    }
                },
                Some((worker, Event::Eof)) => {
                    closed[worker] = true;
                    if !said_bye[worker] {
                        return Err(children.failure(worker, "exited without acknowledging quit".into()));
                    }
                }
                // The exit may be seen before the reader forwarded `bye`: a clean exit
                // waits for `bye` or end of output; a failed one is reported now.
                Some((worker, Event::Exited)) => {
                    let failed = matches!(children.workers[worker].child.try_wait(), Ok(Some(s)) if !s.success());
                    if failed {
                        return Err(children.failure(worker, "failed after quit".into()));
                    }
                    closed[worker] = said_bye[worker];
                }
                None => {
                    let worker = (0..workers).find(|&w| !said_bye[w]).unwrap_or(0);
                    return Err(children.timeout(worker));
                }
            }
        }
        for worker in 0..workers {
            // It said bye and closed its output: it is exiting. Let it, rather than kill
            // it a moment before it would have (and report a SIGKILL).
            let w = &mut children.workers[worker];
            if !w.exited && crate::sys::wait_for_exit(w.pid, children.deadline) {
                w.exited = true;
                // SAFETY: the child is a zombie, not reaped: its group id is still ours.
                unsafe { libc::kill(-(w.pid as libc::pid_t), libc::SIGKILL) };
            }
            let status = children.reap(worker);
            if let Some(status) = status.filter(|s| !s.success()) {
                let stderr_tail = children.stderr_tail(worker);
                return Err(BenchError::WorkerFailed {
                    worker,
                    pid: children.pid(worker),
                    status: crate::sys::describe_status(status),
                    stderr_tail,
                });
            }
        }
        Ok(farewell)
    }
}

/// The process runner's line in [`super::RUNNERS`].
pub(super) const ENTRY: RunnerEntry = RunnerEntry {
    info: RunnerInfo {
        id: RunnerId::new("process"),
        about: "W child processes of this program, spawned per sample; tasks sent over pipes",
        reference: false,
        one_address_space: false,
        processes: true,
        waits_well: true,
        // Each child is a process and the pipes that join it; more would exhaust
        // descriptors and process limits long before they could help.
        max_workers: 256,
        clamps: false,
        // A process worker is a process and the thread that reads its replies.
        started: Started { held: 0, sample_threads: 1, sample_tasks: 2 },
        cost: CostModel { start_s: 0.000_5, set_up_per_worker: true },
        symbol: 'p',
        color: [214, 39, 40],
    },
    build: |workers, options: &RunnerOptions| {
        let runner = match &options.worker_program {
            Some(program) => ProcessRunner::with_program(
                workers,
                options.schedule,
                options.timeout,
                program.clone(),
                vec!["worker".into()],
            ),
            None => ProcessRunner::new(workers, options.schedule, options.timeout)?,
        };
        Ok(Box::new(runner.pinned(super::pin_cpus(options))))
    },
};

impl Runner for ProcessRunner {
    fn info(&self) -> &'static RunnerInfo {
        &ENTRY.info
    }

    fn sample(&mut self, job: &Job) -> Result<Sample, BenchError> {
        let workload = job.workload.as_ref();
        let workers = self.workers;
        let tasks = workload.task_count();
        let slots = workload.shared_slots(workers);
        let io = |context: &str| {
            let context = context.to_string();
            move |error| BenchError::Io { context, error }
        };
        let (shared, spec) = if slots > 0 {
            let state = SharedState::shared_memory(slots).map_err(io("sharing memory with the worker processes"))?;
            let fd = state.inherited_fd().expect("shared memory has a descriptor");
            (state, Some(SharedSpec { fd, slots }))
        } else {
            (SharedState::heap(0), None)
        };
        // Everything that can be prepared is prepared before the clock starts.
        let params = job.params.to_json();
        let setups: Vec<String> = (0..workers)
            .map(|worker| {
                // Under static scheduling a child knows its block and makes only those
                // inputs; under dynamic scheduling any task may come to it.
                let block = Schedule::static_block(tasks, worker, workers);
                Setup {
                    worker,
                    workers,
                    workload: job.name.clone(),
                    params: params.clone(),
                    case_workers: job.params.workers(),
                    seed: job.params.seed(),
                    shared: spec.clone(),
                    pin: self.pin.as_ref().map(|cpus| cpus[worker % cpus.len()]),
                    timeout_ms: job.timeout.as_millis().min(u128::from(u64::MAX)) as u64,
                    inputs: (self.schedule == Schedule::Static).then_some([block.start, block.end]),
                }
                .to_line()
            })
            .collect();
        // The parent makes no inputs and no worker state: it only collects outputs.
        let mut outputs = TaskSlots::new(workload, Prepare { inputs: 0..0, workers: 0..0 })
            .map_err(|reason| BenchError::Setup { workload: job.label.clone(), reason })?;
        let mut records = vec![TaskRecord { worker: 0, start_ns: 0, end_ns: 0 }; tasks];
        let stderr_files = Children::stderr_files(workers)?;

        // Timed: start-up, the honest cost of processes.
        let meter = Meter::start();
        let start_up = self.start_children(stderr_files);
        let startup = meter.stop();
        let mut children = start_up?;
        // Not timed: every child builds the workload, its inputs and its worker state.
        let (setup_ns, setup_cpu_ns) = self.set_up(&mut children, &setups)?;

        // Timed again: the tasks, until the last one's reply.
        let meter = Meter::start();
        // Task times are shown after the start-up on the sample's timeline.
        let origin = meter.start_mono_ns().saturating_sub(startup.wall.as_nanos() as u64);
        let dispatched = self.dispatch(&mut children, job, tasks, origin, &mut records);
        let region = meter.stop();
        dispatched?;
        let ended = Instant::now();

        // Not timed: outputs, then each child frees what it made and exits.
        let farewell = self.finish(&mut children, outputs.slots())?;
        let teardown_ns = ended.elapsed().as_nanos() as u64;
        drop(children);
        // No child was reaped inside the regions, so the meters counted the parent
        // alone; the children's own CPU time (start-up and tasks, without the set-up)
        // comes from their `bye`, read before they freed anything.
        let mut measured = startup.plus(region);
        measured.cpu_ns = measured.cpu_ns.saturating_add(farewell.cpu_ns.saturating_sub(setup_cpu_ns));
        measured.preemptions = measured.preemptions.saturating_add(farewell.switches);

        let mut sample = finish_sample(ENTRY.info.id, workers, outputs.slots(), measured, records, &shared);
        sample.startup_ns = Some(startup.wall.as_nanos() as u64);
        sample.setup_ns = Some(setup_ns);
        sample.teardown_ns = Some(teardown_ns);
        sample.waited_ns = farewell.waited_ns;
        sample.allocations = farewell.allocations;
        if let Some(detail) = farewell.undecodable {
            sample.verification = crate::workload::Verification::failed(format!(
                "an output did not survive the trip from its worker process as JSON ({detail}; NaN and \
                 infinities travel as null)"
            ));
        }
        Ok(sample)
    }
}
