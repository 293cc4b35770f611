//! A rank's guard (cargo feature `mpi`): under `mpirun`, the process `mpirun` starts
//! is a small parent of the rank that does the work, so that a rank's death and a
//! start that never ends are each one line and exit status 1.
//!
//! Two faults no rank can report about itself:
//! - A rank killed by a signal (SIGKILL above all) ends the job through `mpirun`,
//!   which then exits with 128 + the signal whatever rank 0 returns. The guard sees
//!   its rank die, names it and exits 1 instead, and `mpirun` passes that on.
//! - A rank stuck in MPI_Init, or in making the MPI window (collective: one missing
//!   rank holds every other), hangs before parbench has read `--timeout`. The guard
//!   waits that long for the rank to say it is up ([`started`]) and then kills it.
//!
//! The guard is the same program, started again with the same arguments: it only
//! forwards SIGINT, SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 (what `mpirun` forwards) to
//! the rank and waits; the rank dies with it
//! (`PR_SET_PDEATHSIG`). It is single-threaded and never initialises MPI.

use std::ffi::OsString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::Command;
use std::time::{Duration, Instant};

/// Set in the rank's environment: the descriptor it writes one byte to once it is up.
pub const READY_FD_ENV: &str = "PARBENCH_MPI_READY_FD";

/// Whether this process is a guarded rank (and not the guard `mpirun` started); ask
/// before [`keep_ready_fd_private`], which takes the variable it reads.
pub fn guarded() -> bool {
    std::env::var_os(READY_FD_ENV).is_some()
}

/// The ready descriptor's number, read from the environment once ([`keep_ready_fd_private`]).
static READY: std::sync::OnceLock<Option<RawFd>> = std::sync::OnceLock::new();

/// How the guarded rank ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// It exited with this status (it said why itself, if it failed).
    Exited(i32),
    /// It was killed by this signal, not one the guard forwarded.
    Killed(i32),
    /// It ended after the guard forwarded it this signal (an interrupt of the job).
    Forwarded(i32),
    /// It did not say it was up within the time given; it was killed.
    NotStarted,
}

/// Starts this program again as the guarded rank (`args` as this process got them)
/// and waits until it ends, giving it `start` to say it is up. Returns the rank's pid
/// and how it ended. Call it before any other thread exists.
pub fn run(args: &[OsString], start: Duration) -> std::io::Result<(u32, Ended)> {
    let signals = Signals::block()?;
    let (ready, write_end) = pipe()?;
    let write_fd = write_end.as_raw_fd();
    // SAFETY: getpid has no preconditions.
    let guard = unsafe { libc::getpid() };
    let mut command = Command::new("/proc/self/exe");
    if let Some(first) = args.first() {
        command.arg0(first);
    }
    command.args(args.iter().skip(1)).env(READY_FD_ENV, write_fd.to_string());
    // SAFETY: between fork and exec only async-signal-safe calls (sigemptyset,
    // sigprocmask, fcntl, prctl, getppid, _exit) on values of this frame.
    unsafe {
        command.pre_exec(move || {
            // The rank takes its signals itself: the guard's blocked set is not
            // inherited (std keeps a parent's mask across spawn).
            let mut none: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut none);
            libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
            // The rank inherits the write end, and nothing else of the guard's.
            libc::fcntl(write_fd, libc::F_SETFD, 0);
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if libc::getppid() != guard {
                libc::_exit(1);
            }
            Ok(())
        })
    };
    let mut child = command.spawn()?;
    drop(write_end);
    let pid = child.id();
    let deadline = Instant::now() + start;
    let mut ready = Some(ready);
    let mut forwarded = None;
    loop {
        let mut fds = vec![libc::pollfd { fd: signals.fd.as_raw_fd(), events: libc::POLLIN, revents: 0 }];
        if let Some(r) = &ready {
            fds.push(libc::pollfd { fd: r.as_raw_fd(), events: libc::POLLIN, revents: 0 });
        }
        let timeout_ms = if ready.is_some() {
            // Rounded up, so the wait never ends just before the deadline and spins.
            deadline.saturating_duration_since(Instant::now()).as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
        } else {
            -1
        };
        // SAFETY: `fds` is a valid slice of pollfd for the duration of the call.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
        if n < 0 {
            let error = std::io::Error::last_os_error();
            if error.kind() == std::io::ErrorKind::Interrupted {
                continue; // An unblocked signal; poll again.
            }
            // SAFETY: kill on our child, not yet reaped; then reaped.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            let _ = child.wait();
            return Err(error);
        }
        if n == 0 && ready.is_some() {
            // SAFETY: kill on our child, not yet reaped.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            child.wait()?;
            return Ok((pid, Ended::NotStarted));
        }
        if fds.get(1).is_some_and(|f| f.revents != 0) {
            // One byte: up. End of file: the rank closed it without a word (it is
            // ending; its exit comes as SIGCHLD). Either way the start is over.
            ready = None;
        }
        if fds[0].revents != 0 {
            let signal = signals.take()?;
            if signal != libc::SIGCHLD {
                // SAFETY: kill on our child, not yet reaped (it is reaped only below).
                unsafe { libc::kill(pid as libc::pid_t, signal) };
                forwarded = Some(signal);
            }
        }
        if let Some(status) = child.try_wait()? {
            let ended = match (status.code(), status.signal()) {
                (Some(code), _) => Ended::Exited(code),
                (None, Some(s)) if forwarded == Some(s) => Ended::Forwarded(s),
                (None, Some(s)) => Ended::Killed(s),
                (None, None) => Ended::Exited(1),
            };
            return Ok((pid, ended));
        }
    }
}

/// In the guarded rank: says it is up (MPI_Init and the window made). Call it once;
/// later calls do nothing.
pub fn started() {
    let Some(fd) = ready_fd() else { return };
    // SAFETY: the descriptor the guard handed this process, taken (and closed) once.
    let file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    let _ = std::io::Write::write_all(&mut &file, b"1");
}

/// In the guarded rank, first thing, while it has one thread: the ready descriptor is
/// closed on exec and its variable leaves the environment, so no worker process or
/// command it starts holds the descriptor or takes another for it.
pub fn keep_ready_fd_private() {
    let fd = std::env::var(READY_FD_ENV).ok().and_then(|v| v.parse::<RawFd>().ok()).filter(|&fd| fd > 2);
    let _ = READY.set(fd);
    // SAFETY: called before any other thread exists, so nothing reads the environment
    // meanwhile.
    unsafe { std::env::remove_var(READY_FD_ENV) };
    if let Some(fd) = fd {
        // SAFETY: fcntl on a descriptor number; on a bad one it fails and changes nothing.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
}

fn ready_fd_number() -> Option<RawFd> {
    READY.get().copied().flatten()
}

/// The ready descriptor, once: a second call finds it taken.
fn ready_fd() -> Option<RawFd> {
    static TAKEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let fd = ready_fd_number()?;
    // SAFETY: F_GETFD only reads the descriptor's flags; -1 means it is not open.
    let open = unsafe { libc::fcntl(fd, libc::F_GETFD) } >= 0;
    (open && !TAKEN.swap(true, std::sync::atomic::Ordering::SeqCst)).then_some(fd)
}

/// A pipe, both ends closed on exec (the child's end is opened up in `pre_exec`).
fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: pipe2 writes two descriptors into the array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: two new descriptors that nothing else owns.
    unsafe { Ok((OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))) }
}

/// SIGCHLD and the interrupts, blocked and read from a signalfd.
struct Signals {
    fd: OwnedFd,
}

impl Signals {
    fn block() -> std::io::Result<Signals> {
        // SAFETY: an all-zero sigset_t is valid; these calls only fill and apply it.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for s in [libc::SIGCHLD, libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGUSR1, libc::SIGUSR2] {
                libc::sigaddset(&mut set, s);
                // An ignored signal is dropped before the signalfd sees it, and a
                // job started in the background ignores SIGINT: the default, blocked,
                // only queues it.
                libc::signal(s, libc::SIG_DFL);
            }
            if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC);
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(Signals { fd: OwnedFd::from_raw_fd(fd) })
        }
    }

    /// The next signal (poll said one is there).
    fn take(&self) -> std::io::Result<i32> {
        // SAFETY: an all-zero signalfd_siginfo is valid; read fills it whole or fails.
        let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        // SAFETY: reads at most `size` bytes into `info`.
        let n = unsafe { libc::read(self.fd.as_raw_fd(), (&mut info as *mut libc::signalfd_siginfo).cast(), size) };
        if n as usize != size {
            return Err(std::io::Error::last_os_error());
        }
        Ok(info.ssi_signo as i32)
    }
}
