//! Ctrl-C and SIGTERM during a process-runner sample: parbench exits 130, every worker
//! process is gone, and no half-written output file or temporary file is left.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use parbench::rng::SplitMix64;

fn children_of(parent: u32) -> Vec<u32> {
    let mut kids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        if after.split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok()) == Some(parent) {
            kids.push(pid);
        }
    }
    kids
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
    let child = Command::new(env!("CARGO_BIN_EXE_parbench"))
        .args(["run", "sleep", "--ms", "10000", "--tasks", "2", "--threads", "2", "--runner", "process"])
        .args(["--warmup", "0", "--rounds", "1", "--seed", &seed_with_process_first().to_string()])
        .arg("--output")
        .arg(&output)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(20);
    let workers = loop {
        let kids = children_of(pid);
        if kids.len() == 2 {
            break kids;
        }
        assert!(Instant::now() < deadline, "parbench never started its 2 workers");
        std::thread::sleep(Duration::from_millis(20));
    };
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
