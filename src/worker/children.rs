//! The worker processes of one parent, driven by one `poll(2)` loop: spawning (each in
//! a process group of its own, with the death signal armed by the child), reading their
//! replies into fixed per-child buffers, writing requests without blocking past a
//! deadline, stderr tails, and killing and reaping.
//!
//! No thread per child: one `poll` over every child's stdout and pidfd wakes the parent
//! for a line or an exit. A child's stdout is read into a buffer made at spawn and
//! lines are handed out in place, so a `done` reply costs no allocation.
//!
//! [`Children`]'s `Drop` kills and reaps every child (its whole process group), so
//! *every* return path, error or panic included, leaves no process behind. Errors name
//! the worker, its pid, its exit status or signal and the tail of its stderr.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::protocol::MAX_LINE;
use crate::error::BenchError;
use crate::interrupt;
use crate::sys::child::{
    PARENT_PID_ENV, file_tail, has_exited, kill_group, last_lines, pidfd, poll_until, set_nonblocking,
};

/// Something that happened to one child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A complete line is waiting: read it with [`Children::line`].
    Line,
    /// Its stdout closed.
    Eof,
    /// It exited (its stdout may still be held open by a process it started).
    Exited,
    /// It sent a line longer than [`MAX_LINE`].
    Overlong,
}

/// How often exits are checked on kernels without pidfds.
const EXIT_POLL: Duration = Duration::from_millis(50);

/// First size of a child's read buffer: room for many `done` lines.
const BUFFER: usize = 16 << 10;

struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: ChildStdout,
    pidfd: Option<OwnedFd>,
    stderr: std::fs::File,
    pid: u32,
    /// Bytes read and not yet handed out: `buf[head..filled]` (the buffer is zeroed
    /// once, at spawn, and grows only for a line longer than it).
    buf: Vec<u8>,
    head: usize,
    filled: usize,
    /// The end of the line last handed out (its newline), consumed on the next event.
    line_end: Option<usize>,
    eof: bool,
    eof_told: bool,
    exited: bool,
    exit_told: bool,
    /// `try_wait` or `wait` has collected its status (its pid may be reused).
    waited: bool,
    reaped: bool,
}

/// Owns a parent's worker processes; dropping it kills and reaps all of them.
pub struct Children {
    /// The program every child runs, for errors.
    program: String,
    workers: Vec<Worker>,
    fds: Vec<libc::pollfd>,
    /// Where the search for the next line starts, so one chatty child cannot starve
    /// the others.
    cursor: usize,
    /// `--timeout`: the longest silence allowed.
    pub timeout: Duration,
    /// When the current wait gives up. Reading and writing both respect it.
    pub deadline: Instant,
}

impl Children {
    /// One stderr file per child, made before any timed region. stderr goes to an
    /// unnamed temporary file, not a pipe: a chatty child can never block on a full
    /// pipe, and the tail can be read after it died.
    pub fn stderr_files(count: usize) -> Result<Vec<std::fs::File>, BenchError> {
        let io = |error| BenchError::Io { context: "creating a file for a worker's stderr".into(), error };
        (0..count).map(|_| tempfile::tempfile().map_err(io)).collect()
    }

    /// Starts one child per stderr file, each running `program args...`.
    pub fn spawn(
        program: &Path,
        args: &[OsString],
        stderr_files: Vec<std::fs::File>,
        timeout: Duration,
    ) -> Result<Children, BenchError> {
        let mut children = Children {
            program: program.display().to_string(),
            workers: Vec::with_capacity(stderr_files.len()),
            fds: Vec::with_capacity(2 * stderr_files.len()),
            cursor: 0,
            timeout,
            deadline: Instant::now() + timeout,
        };
        for (index, stderr) in stderr_files.into_iter().enumerate() {
            let stderr_child = stderr
                .try_clone()
                .map_err(|error| BenchError::Io { context: "sharing a worker's stderr file".into(), error })?;
            // Each child leads a process group of its own, so that killing the group also
            // kills whatever its tasks started (a command's sh and its children).
            let mut command = Command::new(program);
            command
                .process_group(0)
                .args(args)
                .env(PARENT_PID_ENV, std::process::id().to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::from(stderr_child));
            let mut child = interrupt::spawn(&mut command, interrupt::Spawned::Worker)
                .map_err(|error| BenchError::Spawn { worker: index, program: children.program.clone(), error })?;
            let pid = child.id();
            let stdout = child.stdout.take().expect("stdout is piped");
            let stdin = child.stdin.take();
            // Non-blocking both ways: reads take what is there, and a write to a child
            // that stopped reading gives up at the deadline instead of waiting forever.
            set_nonblocking(&stdout);
            if let Some(stdin) = &stdin {
                set_nonblocking(stdin);
            }
            children.workers.push(Worker {
                pidfd: pidfd(pid),
                child,
                stdin,
                stdout,
                stderr,
                pid,
                buf: vec![0; BUFFER],
                head: 0,
                filled: 0,
                line_end: None,
                eof: false,
                eof_told: false,
                exited: false,
                exit_told: false,
                waited: false,
                reaped: false,
            });
        }
        Ok(children)
    }

    /// Number of children.
    pub fn len(&self) -> usize {
        self.workers.len()
    }

    /// Child `worker`'s pid.
    pub fn pid(&self, worker: usize) -> u32 {
        self.workers[worker].pid
    }

    /// Whether child `worker` has been seen to exit.
    pub fn exited(&self, worker: usize) -> bool {
        self.workers[worker].exited
    }

    /// The line of the last [`Event::Line`] of `worker`, without its newline; valid
    /// until the next call of [`Children::next_event`].
    pub fn line(&self, worker: usize) -> Result<&str, String> {
        let w = &self.workers[worker];
        let end = w.line_end.expect("a line was announced");
        std::str::from_utf8(&w.buf[w.head..end]).map_err(|_| "a line that is not UTF-8".to_string())
    }

    /// The next event from any child, or `None` at the deadline.
    pub fn next_event(&mut self) -> Option<(usize, Event)> {
        for w in &mut self.workers {
            if let Some(end) = w.line_end.take() {
                w.head = end + 1;
            }
        }
        loop {
            if let Some(event) = self.buffered() {
                return Some(event);
            }
            if Instant::now() >= self.deadline {
                return None;
            }
            self.wait();
        }
    }

    /// A line already read, an end of output, an exit or an overlong line not yet told.
    fn buffered(&mut self) -> Option<(usize, Event)> {
        let count = self.workers.len();
        for step in 0..count {
            let index = (self.cursor + step) % count;
            let w = &mut self.workers[index];
            if let Some(at) = w.buf[w.head..w.filled].iter().position(|&b| b == b'\n') {
                w.line_end = Some(w.head + at);
                self.cursor = index + 1;
                return Some((index, Event::Line));
            }
            if w.filled - w.head > MAX_LINE {
                w.head = w.filled;
                return Some((index, Event::Overlong));
            }
        }
        for (index, w) in self.workers.iter_mut().enumerate() {
            if w.eof && !w.eof_told {
                w.eof_told = true;
                return Some((index, Event::Eof));
            }
            if w.exited && !w.exit_told {
                w.exit_told = true;
                return Some((index, Event::Exited));
            }
        }
        None
    }

    /// One `poll` over every open stdout and every live child's pidfd, then reads what
    /// is ready.
    fn wait(&mut self) {
        self.fds.clear();
        let mut deadline = self.deadline;
        for w in &self.workers {
            let fd = if w.eof { -1 } else { w.stdout.as_raw_fd() };
            self.fds.push(libc::pollfd { fd, events: libc::POLLIN, revents: 0 });
            let pidfd = match (&w.pidfd, w.exited) {
                (Some(fd), false) => fd.as_raw_fd(),
                (None, false) => {
                    deadline = deadline.min(Instant::now() + EXIT_POLL);
                    -1
                }
                _ => -1,
            };
            self.fds.push(libc::pollfd { fd: pidfd, events: libc::POLLIN, revents: 0 });
        }
        poll_until(&mut self.fds, deadline);
        for index in 0..self.workers.len() {
            let (out, exit) = (self.fds[2 * index].revents, self.fds[2 * index + 1].revents);
            let w = &mut self.workers[index];
            let exited = if w.pidfd.is_some() {
                exit != 0
            } else {
                !w.exited && matches!(w.child.try_wait(), Ok(Some(_))) && {
                    w.waited = true;
                    true
                }
            };
            // An exit is told after what the child wrote before it: drain the pipe first.
            if out != 0 || exited {
                read_ready(w);
            }
            w.exited |= exited;
        }
    }

    /// The first child that has exited, checked now without waiting; it is not reaped
    /// (see [`Children::failure`]).
    pub fn first_exited(&mut self) -> Option<usize> {
        self.workers.iter_mut().position(|w| {
            w.exited |= !w.waited && has_exited(w.pid);
            w.exited
        })
    }

    /// Writes `bytes` to child `worker`, waiting (with poll) while its pipe is full,
    /// but not past the deadline. A closed pipe means the child died.
    pub fn send(&mut self, worker: usize, bytes: &[u8]) -> Result<(), BenchError> {
        self.send_or(worker, bytes, "closed its input before finishing its tasks")
    }

    /// [`Children::send`], with `dead` saying what a closed pipe means.
    pub fn send_or(&mut self, worker: usize, bytes: &[u8], dead: &str) -> Result<(), BenchError> {
        let Some(stdin) = self.workers[worker].stdin.as_mut() else { return Ok(()) };
        let mut rest = bytes;
        while !rest.is_empty() {
            match stdin.write(rest) {
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() >= self.deadline {
                        return Err(self.timed_out(worker));
                    }
                    let mut fds = [libc::pollfd { fd: stdin.as_raw_fd(), events: libc::POLLOUT, revents: 0 }];
                    poll_until(&mut fds, self.deadline);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return Err(self.failure(worker, dead.into())),
            }
        }
        Ok(())
    }

    /// Closes child `worker`'s stdin: it reads end of input.
    pub fn close_input(&mut self, worker: usize) {
        self.workers[worker].stdin = None;
    }

    /// Kills (its whole group) and reaps one child; returns its status, `None` if it
    /// was reaped before.
    pub fn reap(&mut self, worker: usize) -> Option<ExitStatus> {
        let w = &mut self.workers[worker];
        if w.reaped {
            return None;
        }
        // The whole group, also after a clean exit: nothing a task started outlives the
        // child. Safe while the child is not reaped (a zombie keeps its group id).
        if !w.waited {
            kill_group(w.pid);
        }
        let status = w.child.wait().ok();
        interrupt::unregister_child(w.pid);
        w.reaped = true;
        w.waited = true;
        w.exited = true;
        status
    }

    /// Waits (until the deadline) for a child that said its last word to exit by
    /// itself, then kills whatever its group left and reaps it.
    pub fn reap_exiting(&mut self, worker: usize) -> Option<ExitStatus> {
        let w = &mut self.workers[worker];
        if !w.waited && crate::sys::wait_for_exit(w.pid, self.deadline) {
            // A zombie, not reaped: its group id is still ours to signal.
            kill_group(w.pid);
        }
        self.reap(worker)
    }

    /// The last lines child `worker` wrote to stderr (of its last 4 KiB, at most 400
    /// characters).
    pub fn stderr_tail(&mut self, worker: usize) -> String {
        let bytes = file_tail(&mut self.workers[worker].stderr, 4096);
        let tail = last_lines(&bytes, 3).join("\n");
        let chars = tail.chars().count();
        if chars > 400 { tail.chars().skip(chars - 400).collect() } else { tail }
    }

    /// The error for a child that misbehaved, after killing and reaping it.
    pub fn failure(&mut self, worker: usize, what: String) -> BenchError {
        let pid = self.pid(worker);
        let status = self.reap(worker);
        BenchError::WorkerFailed {
            worker,
            pid,
            status: match status {
                Some(s) => format!("{what} ({})", crate::sys::describe_status(s)),
                None => what,
            },
            stderr_tail: self.stderr_tail(worker),
        }
    }

    /// The error for a child that failed with `status` after its work was done.
    pub fn failed_status(&mut self, worker: usize, status: ExitStatus) -> BenchError {
        let pid = self.pid(worker);
        let stderr_tail = self.stderr_tail(worker);
        BenchError::WorkerFailed { worker, pid, status: crate::sys::describe_status(status), stderr_tail }
    }

    /// The error for a child that stayed silent past the deadline, after killing it.
    pub fn timed_out(&mut self, worker: usize) -> BenchError {
        let pid = self.pid(worker);
        self.reap(worker);
        BenchError::WorkerTimeout { worker, pid, timeout: self.timeout, stderr_tail: self.stderr_tail(worker) }
    }

    /// The error for a program that does not speak the protocol at all.
    pub fn handshake(&mut self, worker: usize, what: String) -> BenchError {
        self.reap(worker);
        let stderr_tail = self.stderr_tail(worker);
        BenchError::Handshake { program: self.program.clone(), what, stderr_tail }
    }

    /// The error for a child that broke the protocol, after killing it.
    pub fn protocol_error(&mut self, worker: usize, detail: String) -> BenchError {
        let pid = self.pid(worker);
        self.reap(worker);
        BenchError::Protocol { worker, pid, detail, stderr_tail: self.stderr_tail(worker) }
    }
}

/// Reads everything child `w` has written so far (its stdout is non-blocking). The
/// unread rest moves to the front first, so the buffer grows only for long lines.
fn read_ready(w: &mut Worker) {
    if w.eof {
        return;
    }
    if w.head > 0 && w.line_end.is_none() {
        w.buf.copy_within(w.head..w.filled, 0);
        w.filled -= w.head;
        w.head = 0;
    }
    loop {
        if w.filled == w.buf.len() {
            if w.filled - w.head > MAX_LINE {
                return;
            }
            let grown = 2 * w.buf.len();
            w.buf.resize(grown, 0);
        }
        match w.stdout.read(&mut w.buf[w.filled..]) {
            Ok(0) => {
                w.eof = true;
                return;
            }
            Ok(n) => w.filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                // WouldBlock: all read for now. Anything else: the pipe is unusable.
                w.eof |= e.kind() != std::io::ErrorKind::WouldBlock;
                return;
            }
        }
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
