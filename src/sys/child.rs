//! Child-process plumbing shared by everything that starts programs (the worker layer
//! and the `command` workload): pidfds, non-blocking pipes, `poll` until a deadline,
//! process-group kills, the death signal, and bounded tails of a child's stderr.

use std::io::{Read, Seek, SeekFrom};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Instant;

/// Environment variable carrying the parent's pid, so a child can tell whether the
/// parent died before the child asked to be killed along with it.
pub const PARENT_PID_ENV: &str = "PARBENCH_PARENT_PID";

/// A pidfd for child `pid` (readable once it has exited), or `None` on kernels
/// without pidfds.
pub fn pidfd(pid: u32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) } as RawFd;
    // SAFETY: a non-negative result is a new descriptor that nothing else owns.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Makes reads and writes on `fd` return `WouldBlock` instead of waiting.
pub fn set_nonblocking(fd: &impl AsRawFd) {
    let fd = fd.as_raw_fd();
    // SAFETY: fcntl on a descriptor the caller owns; only adds O_NONBLOCK to its flags.
    unsafe { libc::fcntl(fd, libc::F_SETFL, libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK) };
}

/// Waits with `poll(2)` until an entry of `fds` is ready or `deadline` passes; returns
/// the number of ready entries, 0 at the deadline. A signal only shortens the wait.
pub fn poll_until(fds: &mut [libc::pollfd], deadline: Instant) -> usize {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return 0;
    }
    // Rounded up, so a wait never ends just before its deadline and spins.
    let ms = left.as_micros().div_ceil(1000).clamp(1, i32::MAX as u128) as libc::c_int;
    // SAFETY: `fds` is a valid slice of pollfd for the duration of the call.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
    n.max(0) as usize
}

/// Whether child `pid` has exited, checked now, without waiting and without reaping
/// it (it stays a zombie, so its process group can still be killed).
pub fn has_exited(pid: u32) -> bool {
    // SAFETY: an all-zero siginfo_t is valid; waitid writes it and, with WNOWAIT,
    // leaves the child waitable.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let done =
            libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, libc::WEXITED | libc::WNOHANG | libc::WNOWAIT);
        done == 0 && info.si_pid() != 0
    }
}

/// SIGKILL to the process group led by child `pid`. Call only while `pid` is not yet
/// reaped, so the group id cannot have been reused.
pub fn kill_group(pid: u32) {
    // SAFETY: kill on the process group of a child the caller has not reaped.
    unsafe { libc::kill(-(pid as libc::pid_t), libc::SIGKILL) };
}

/// Asks the kernel to kill this process when its parent dies, so no worker outlives
/// parbench even if parbench itself is killed with SIGKILL. Exits at once if the parent
/// named by [`PARENT_PID_ENV`] died before the request.
pub fn die_with_parent() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl(PR_SET_PDEATHSIG) takes a signal number and has no memory effects.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
        let expected = std::env::var(PARENT_PID_ENV).ok().and_then(|p| p.parse::<i32>().ok());
        // SAFETY: getppid has no preconditions.
        if expected.is_some_and(|p| p != unsafe { libc::getppid() }) {
            std::process::exit(0);
        }
    }
}

/// Appends `bytes` to `tail`, keeping at least the last `keep` bytes and at most twice
/// that.
pub fn keep_tail(tail: &mut Vec<u8>, bytes: &[u8], keep: usize) {
    tail.extend_from_slice(bytes);
    if tail.len() > 2 * keep {
        tail.drain(..tail.len() - keep);
    }
}

/// Reads `stream` to its end, keeping only its last `keep` bytes.
pub fn read_tail(mut stream: impl Read, keep: usize) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => keep_tail(&mut kept, &buf[..n], keep),
        }
    }
    if kept.len() > keep {
        kept.drain(..kept.len() - keep);
    }
    kept
}

/// The last `keep` bytes of a file (a child's stderr kept in a temporary file).
pub fn file_tail(file: &mut std::fs::File, keep: usize) -> Vec<u8> {
    let len = file.seek(SeekFrom::End(0)).unwrap_or(0);
    let mut bytes = Vec::new();
    if file.seek(SeekFrom::Start(len.saturating_sub(keep as u64))).is_ok() {
        let _ = file.read_to_end(&mut bytes);
    }
    bytes
}

/// The last `count` non-blank lines of `bytes`, trimmed.
pub fn last_lines(bytes: &[u8], count: usize) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    lines[lines.len().saturating_sub(count)..].iter().map(|l| l.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_tail_of_a_long_stream_is_kept() {
        assert_eq!(read_tail(&vec![b'x'; 100_000][..], 4096).len(), 4096);
        let mut tail = Vec::new();
        for _ in 0..100 {
            keep_tail(&mut tail, &[b'y'; 1000], 4096);
        }
        assert!((4096..=8192).contains(&tail.len()));
    }

    #[test]
    fn last_lines_skip_blank_ones() {
        assert_eq!(last_lines(b"a\n\n b \nc\n\n", 2), vec!["b", "c"]);
        assert!(last_lines(b"", 3).is_empty());
    }
}
