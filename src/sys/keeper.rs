//! A keeper: a small process between parbench and a program it starts, so that nothing
//! the program starts outlives the program or parbench, `kill -9` of parbench included.
//!
//! Process groups alone cannot promise that: a descendant that calls `setsid` leaves
//! the group, and a SIGKILL of parbench runs no clean-up at all. The keeper is the child
//! parbench spawns; it forks the program (which leads a process group of its own) and
//! then only waits. It is a child subreaper (`PR_SET_CHILD_SUBREAPER`), so every orphan
//! below it, `setsid` or not, becomes its child instead of init's, and the kernel sends
//! it [`STOP`] when the parbench thread that started it ends (`PR_SET_PDEATHSIG`). When
//! the program exits, or on [`STOP`], it kills the program's group and then every
//! process left below it, reaps them, and exits with the program's status (the same
//! exit code, or killed by the same signal), so callers see the program's own status.
//!
//! The keeper is a fork of parbench that never returns to Rust's runtime: between fork
//! and exit it makes only async-signal-safe system calls and allocates nothing.

use std::os::unix::process::CommandExt;
use std::process::Command;

/// The signal that stops a keeper: it kills everything below it and exits. The kernel
/// sends it when parbench (the thread that started the keeper) dies.
pub const STOP: libc::c_int = libc::SIGTERM;

/// The keeper's exit status when stopped before its program ended.
const STOPPED: libc::c_int = 128 + libc::SIGKILL;

/// Makes `command` start under a keeper: the pid of the spawned child is the keeper's,
/// its exit status the program's. The keeper leads a process group of its own, so a
/// group kill aimed elsewhere (a worker's) cannot kill it before it has cleaned up.
pub fn keep(command: &mut Command) {
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    command.process_group(0);
    // SAFETY: `become_keeper` makes only async-signal-safe calls and allocates nothing.
    unsafe { command.pre_exec(move || become_keeper(parent)) };
}

/// Asks keeper `pid` to kill its program and everything below it, and to exit; reap it
/// with the `Child` that spawned it. Call only while `pid` is not yet reaped.
pub fn stop(pid: u32) {
    // SAFETY: kill on a child we spawned and have not reaped.
    unsafe { libc::kill(pid as libc::pid_t, STOP) };
}

/// In the forked child: becomes the keeper and forks the program, which returns `Ok`
/// so that `Command` execs it. The keeper itself never returns.
fn become_keeper(parent: libc::pid_t) -> std::io::Result<()> {
    // SAFETY: only async-signal-safe calls (sigprocmask, prctl, getppid, fork, setpgid,
    // close_range, sigwaitinfo, waitpid, kill, open, read, close, _exit) on values of
    // this stack frame; `io::Error::last_os_error` does not allocate.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        libc::sigaddset(&mut set, STOP);
        // Blocked before anything can send them, so none is lost: they are taken with
        // sigwaitinfo below.
        libc::sigprocmask(libc::SIG_BLOCK, &set, &mut old);
        if libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1) != 0 || libc::prctl(libc::PR_SET_PDEATHSIG, STOP) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // parbench died before the death signal was asked for.
        if libc::getppid() != parent {
            libc::_exit(STOPPED);
        }
        let program = libc::fork();
        if program < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if program == 0 {
            libc::sigprocmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
            libc::setpgid(0, 0);
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            return Ok(());
        }
        // Nothing of parbench's stays open here: `Command` learns that the exec
        // succeeded when the program's copy of its status pipe closes, and the
        // program's pipes must close when the program (and what it started) ends.
        if libc::syscall(libc::SYS_close_range, 0u32, u32::MAX, 0u32) != 0 {
            for fd in 0..1024 {
                libc::close(fd);
            }
        }
        loop {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            if libc::sigwaitinfo(&set, &mut info) == STOP {
                kill_everything_below(program);
                libc::_exit(STOPPED);
            }
            loop {
                let mut status = 0;
                let pid = libc::waitpid(-1, &mut status, libc::WNOHANG);
                if pid <= 0 {
                    break;
                }
                if pid == program {
                    kill_everything_below(program);
                    exit_as(status);
                }
            }
        }
    }
}

/// Kills the program's process group, then every process left below the keeper (each
/// orphan comes to it, being a subreaper), until it has no child left.
///
/// # Safety
/// Only in the keeper: async-signal-safe calls only.
unsafe fn kill_everything_below(program: libc::pid_t) {
    // SAFETY: signals to processes below the keeper; reads of its own /proc entry.
    unsafe {
        libc::kill(-program, libc::SIGKILL);
        loop {
            let mut buf = [0u8; 4096];
            let fd = libc::open(c"/proc/thread-self/children".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
            if fd < 0 {
                // No way to find them: reap what has ended and stop.
                while libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) > 0 {}
                return;
            }
            let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
            libc::close(fd);
            let mut pid: libc::pid_t = 0;
            for &b in &buf[..n.max(0) as usize] {
                if b.is_ascii_digit() {
                    pid = pid.saturating_mul(10).saturating_add(libc::pid_t::from(b - b'0'));
                } else if pid > 0 {
                    // A child of ours: if a group has its id, the child leads it.
                    libc::kill(-pid, libc::SIGKILL);
                    libc::kill(pid, libc::SIGKILL);
                    pid = 0;
                }
            }
            if pid > 0 {
                libc::kill(-pid, libc::SIGKILL);
                libc::kill(pid, libc::SIGKILL);
            }
            // One child reaped per pass (they are all dying): no child left ends it.
            if libc::waitpid(-1, std::ptr::null_mut(), 0) < 0 && *libc::__errno_location() == libc::ECHILD {
                return;
            }
        }
    }
}

/// Exits with the program's wait status: its exit code, or killed by its signal.
///
/// # Safety
/// Only in the keeper: async-signal-safe calls only.
unsafe fn exit_as(status: libc::c_int) -> ! {
    // SAFETY: signal disposition, mask and limit of the keeper itself.
    unsafe {
        if libc::WIFSIGNALED(status) {
            let signal = libc::WTERMSIG(status);
            // No core file of the keeper: the program's, if any, is already written.
            let none = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
            libc::setrlimit(libc::RLIMIT_CORE, &none);
            libc::signal(signal, libc::SIG_DFL);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, signal);
            libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            libc::kill(libc::getpid(), signal);
            libc::_exit(128 + signal);
        }
        libc::_exit(libc::WEXITSTATUS(status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;

    fn kept(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.arg("-c").arg(script);
        keep(&mut command);
        command
    }

    #[test]
    fn the_keeper_exits_as_its_program_did() {
        assert_eq!(kept("exit 3").status().unwrap().code(), Some(3));
        assert_eq!(kept("kill -SEGV $$").status().unwrap().signal(), Some(libc::SIGSEGV));
        let out = kept("echo to stderr >&2").stderr(Stdio::piped()).output().unwrap();
        assert_eq!(out.stderr, b"to stderr\n");
        let mut missing = Command::new("/nonexistent/program");
        keep(&mut missing);
        assert_eq!(missing.spawn().unwrap_err().kind(), std::io::ErrorKind::NotFound);
    }
}
