//! Ctrl-C and SIGTERM during a process-runner sample: parbench exits 130, every worker
//! process is gone, and no half-written output file or temporary file is left. And
//! nothing a command starts outlives its task, or parbench killed with SIGKILL.

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
/// [serial, process] or [serial, process-pool]), so the children exist long before
/// serial would run.
fn seed_with_process_first() -> u64 {
    (0..1000)
        .find(|&seed| {
            let mut order = [0, 1];
            SplitMix64::new(seed).shuffle(&mut order);
            order[0] == 1
        })
        .unwrap()
}

fn interrupt_with(signal: libc::c_int, runner: &str) {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("result.json");
    let mut command = Command::new(env!("CARGO_BIN_EXE_parbench"));
    command
        .args(["run", "sleep", "--ms", "10000", "--tasks", "2", "--threads", "2", "--runner", runner])
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
    interrupt_with(libc::SIGINT, "process");
}

/// A pool's children live from the case's start to its end: an interrupt ends them.
#[test]
fn sigint_during_a_process_pool_sample_kills_the_pools_workers_and_exits_130() {
    interrupt_with(libc::SIGINT, "process-pool");
}

#[test]
fn sigterm_during_a_sample_kills_the_workers_and_exits_130() {
    interrupt_with(libc::SIGTERM, "process");
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
    interrupt_with(libc::SIGHUP, "process");
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

// ---------------------------------------------------------------------------------
// Nothing a command starts outlives its task or parbench.

/// Whether `pid` is alive: present and not a zombie (a zombie is dead, waiting for
/// whichever process inherited it to reap it).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()) != Some("Z"),
        Err(_) => false,
    }
}

/// Waits (up to 10 s) until none of `pids` is alive; returns those still alive, after
/// killing them (they are this test's), so a failing test leaves nothing behind.
fn survivors(pids: &[u32]) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left: Vec<u32> = pids.iter().copied().filter(|&p| alive(p)).collect();
        if left.is_empty() || Instant::now() > deadline {
            for &pid in &left {
                // SAFETY: kill on a process this test's command started.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            }
            return left;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits (up to 20 s) until `dir` holds `n` pid files (`*.pid`, each one number and
/// a newline), and returns the pids; fails if `child` ends first.
fn wait_for_pid_files(dir: &std::path::Path, n: usize, child: &mut std::process::Child) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let pids: Vec<u32> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".pid"))
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .filter(|text| text.ends_with('\n'))
            .filter_map(|text| text.trim().parse().ok())
            .collect();
        if pids.len() >= n {
            return pids;
        }
        assert!(child.try_wait().unwrap().is_none(), "parbench ended before its commands started");
        assert!(Instant::now() < deadline, "the commands never wrote their pid files");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A command whose task starts a sleep in the background and another that leaves its
/// session (`setsid`), records both pids in `dir` and then waits for them. The seed
/// puts the named runner first (runners are [serial, runner]).
fn lingering_command(dir: &std::path::Path) -> String {
    let d = dir.display();
    format!(
        "sleep 1000 & echo $! > {d}/{{task}}-bg.tmp; setsid sleep 1000 & echo $! > {d}/{{task}}-setsid.tmp; \
         mv {d}/{{task}}-bg.tmp {d}/{{task}}-bg.pid; mv {d}/{{task}}-setsid.tmp {d}/{{task}}-setsid.pid; wait"
    )
}

#[test]
fn kill_9_of_parbench_kills_what_its_commands_started_under_every_runner() {
    for runner in ["threads", "rayon", "process", "process-pool"] {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_parbench"))
            .args(["run", "command", "--cmd", &lingering_command(dir.path()), "--tasks", "1", "--threads", "1"])
            .args(["--runner", runner, "--rounds", "1", "--warmup", "0", "--limit", "none"])
            .args(["--seed", &seed_with_process_first().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pids = wait_for_pid_files(dir.path(), 2, &mut child);
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(survivors(&pids), Vec::<u32>::new(), "under {runner}, these outlived kill -9 of parbench");
    }
}

#[test]
fn what_a_finished_command_left_running_is_killed_when_its_task_ends() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    // Each task starts two sleeps and ends at once, leaving them behind.
    let cmd = format!(
        "sleep 1000 & echo $! > {d}/{{task}}-$$-bg.pid; setsid sleep 1000 & echo $! > {d}/{{task}}-$$-setsid.pid"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_parbench"))
        .args(["run", "command", "--cmd", &cmd, "--tasks", "2", "--threads", "2", "--rounds", "1", "--warmup", "0"])
        .args(["--limit", "none"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let pids: Vec<u32> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok()?.trim().parse().ok())
        .collect();
    // Two tasks, two sleeps each, in each runner's sample.
    assert_eq!(pids.len(), 4 * parbench::RunnerId::runnable().len(), "{pids:?}");
    assert_eq!(survivors(&pids), Vec::<u32>::new(), "these outlived their tasks");
}

#[test]
fn ctrl_c_during_a_command_kills_what_it_started_and_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_parbench"))
        .args(["run", "command", "--cmd", &lingering_command(dir.path()), "--tasks", "1", "--threads", "1"])
        .args(["--runner", "threads", "--rounds", "1", "--warmup", "0", "--limit", "none"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pids = wait_for_pid_files(dir.path(), 2, &mut child);
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    // Stopped and reaped before parbench exited, not some time after.
    let left: Vec<u32> = pids.iter().copied().filter(|&p| alive(p)).collect();
    assert_eq!(survivors(&pids), Vec::<u32>::new(), "these outlived the interrupt");
    assert!(left.is_empty(), "alive when parbench exited: {left:?}");
}
