//! Ctrl-C and SIGTERM during a process-runner sample: parbench exits 130, every worker
//! process is gone, and no half-written output file or temporary file is left.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use parbench::rng::SplitMix64;

mod util;
use util::children_of;

/// Starts parbench with one measured round in which the process runner comes first,
/// and waits until its two workers exist.
fn start_with_two_workers(mut command: Command) -> (std::process::Child, Vec<u32>) {
    let child = command
        .args(["--warmup", "0", "--rounds", "1", "--seed", &seed_with_process_first().to_string()])
        // Its tasks never end: no calibration of them before measuring.
        .args(["--limit", "none"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let workers = wait_for_workers(child.id(), 2);
    (child, workers)
}

/// Waits (up to 20 s) until parbench `pid` has `n` worker processes, and returns them.
fn wait_for_workers(pid: u32, n: usize) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let kids = children_of(pid);
        if kids.len() == n {
            return kids;
        }
        assert!(Instant::now() < deadline, "parbench never started its {n} workers");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A seed for which the process runner comes first in round 0 (runners are
/// [serial, process]), so the children exist long before serial would run.
fn seed_with_process_first() -> u64 {
    (0..1000)
        .find(|&seed| {
            let mut order = [0, 1];
            SplitMix64::new(seed).shuffle(&mut order);
            order[0] == 1
        })
        .unwrap()
}

fn interrupt_with(signal: libc::c_int) {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("result.json");
    let mut command = Command::new(env!("CARGO_BIN_EXE_parbench"));
    command
        .args(["run", "sleep", "--ms", "10000", "--tasks", "2", "--threads", "2", "--runner", "process"])
        .arg("--output")
        .arg(&output);
    let (child, workers) = start_with_two_workers(command);
    let pid = child.id();
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(pid as libc::pid_t, signal) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "stderr: {stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    for worker in workers {
        assert!(!std::path::Path::new(&format!("/proc/{worker}")).exists(), "worker {worker} survived");
    }
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(left.is_empty(), "files left behind: {left:?}");
}

#[test]
fn sigint_during_a_sample_kills_the_workers_and_exits_130() {
    interrupt_with(libc::SIGINT);
}

#[test]
fn sigterm_during_a_sample_kills_the_workers_and_exits_130() {
    interrupt_with(libc::SIGTERM);
}

fn shm_files() -> Vec<String> {
    std::fs::read_dir("/dev/shm")
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect::<Vec<String>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|n: &String| n.starts_with("parbench-"))
        .collect()
}

/// A terminal's Ctrl-C signals the whole process group: the workers die of SIGINT at
/// the same moment, and parbench must still exit 130 (not report a crashed worker),
/// and remove the counter's shared-memory file.
#[test]
fn ctrl_c_to_the_whole_process_group_exits_130_and_removes_the_shared_file() {
    use std::os::unix::process::CommandExt;
    let before = shm_files();
    let mut command = Command::new(env!("CARGO_BIN_EXE_parbench"));
    command
        .args(["run", "counter", "--sync", "atomic", "--increments", "10000000000", "--threads", "2"])
        .args(["--runner", "process"])
        .process_group(0);
    let (child, workers) = start_with_two_workers(command);
    let pid = child.id();
    // Let the workers get going, then signal the group, as a terminal does.
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: signalling the process group this test created.
    unsafe { libc::kill(-(pid as libc::pid_t), libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "stderr: {stderr}");
    assert!(stderr.starts_with("parbench: interrupted by SIGINT"), "{stderr}");
    for worker in workers {
        assert!(!std::path::Path::new(&format!("/proc/{worker}")).exists(), "worker {worker} survived");
    }
    let after: Vec<String> = shm_files().into_iter().filter(|f| !before.contains(f)).collect();
    assert!(after.is_empty(), "shared-memory files left behind: {after:?}");
}

/// `kill -9` of parbench cannot be caught: the counter's shared memory must have no
/// name to leave behind, and the workers die with their parent.
#[test]
fn sigkill_during_the_counter_under_process_leaves_nothing_in_dev_shm() {
    let before = shm_files();
    let mut command = Command::new(env!("CARGO_BIN_EXE_parbench"));
    command
        .args(["run", "counter", "--sync", "atomic", "--increments", "10000000000", "--threads", "2"])
        .args(["--runner", "process"]);
    let (mut child, workers) = start_with_two_workers(command);
    // The workers exist, so the shared memory they map exists too.
    child.kill().unwrap();
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    // Dead means gone or a zombie: their new parent may be slow to reap them.
    let running = |pid: &u32| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()).is_some_and(|s| s != "Z")
    };
    while workers.iter().any(running) {
        assert!(Instant::now() < deadline, "workers {workers:?} outlived parbench");
        std::thread::sleep(Duration::from_millis(20));
    }
    let after: Vec<String> = shm_files().into_iter().filter(|f| !before.contains(f)).collect();
    assert!(after.is_empty(), "shared-memory files left behind: {after:?}");
}

#[test]
fn sighup_during_a_sample_kills_the_workers_and_exits_130() {
    interrupt_with(libc::SIGHUP);
}

/// `kill -9` of parbench while it measures, with `--output` set: the file being
/// prepared has no name, so nothing is left in the directory.
#[test]
fn sigkill_while_measuring_leaves_no_temporary_file_next_to_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_parbench"));
    command
        .args(["run", "sleep", "--ms", "10000", "--tasks", "2", "--threads", "2", "--runner", "process"])
        .arg("--output")
        .arg(dir.path().join("result.json"));
    let (mut child, _workers) = start_with_two_workers(command);
    child.kill().unwrap();
    child.wait().unwrap();
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(left.is_empty(), "files left behind: {left:?}");
}

/// An interrupt after the result file was saved (here: while the table waits for a
/// full pipe) still exits 130, and says the result was saved and where.
#[test]
fn an_interrupt_after_the_result_was_saved_says_so_and_where() {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("result.json");
    // A pipe that holds one page: the counter's table (about 8 KB) cannot fit, so
    // parbench blocks printing it, after saving the result.
    let mut fds = [0; 2];
    // SAFETY: pipe writes two new descriptors into `fds`.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: F_SETPIPE_SZ on the pipe just made.
    assert!(unsafe { libc::fcntl(fds[0], libc::F_SETPIPE_SZ, 4096) } >= 4096);
    // SAFETY: both descriptors are new and owned by nothing else.
    let (read_end, write_end) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let mut child = Command::new(env!("CARGO_BIN_EXE_parbench"))
        .args(["run", "counter", "--increments", "1000", "--threads", "2", "--runner", "threads"])
        .args(["--rounds", "1", "--warmup", "0", "--output"])
        .arg(&output)
        .stdout(Stdio::from(write_end))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !output.exists() {
        assert!(Instant::now() < deadline, "the result was never saved");
        assert!(child.try_wait().unwrap().is_none(), "parbench ended before the table was printed");
        std::thread::sleep(Duration::from_millis(5));
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    drop(read_end);
    assert_eq!(status.code(), Some(130), "stderr: {stderr}");
    let expected = format!("after the result was saved (--output {})", output.display());
    assert!(stderr.starts_with("parbench: interrupted by SIGINT ") && stderr.contains(&expected), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&output).unwrap()).unwrap();
    assert_eq!(report["schema_version"], 2);
}
