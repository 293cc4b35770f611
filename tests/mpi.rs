//! The mpi runner under a real `mpirun` (OpenMPI, 3 ranks on this machine): verified
//! results, scale over 1..2 serving ranks, a killed rank, a hung rank and a rank that
//! never starts ending the run with nothing left running, and the feature build without mpirun refusing it.
#![cfg(feature = "mpi")]

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const PARBENCH: &str = env!("CARGO_BIN_EXE_parbench");

/// The mpi runner's samples of `run counter --sync SYNC` with `increments` per worker
/// on both serving ranks, from the JSON report.
fn counter_samples(sync: &str, increments: u64) -> Vec<serde_json::Value> {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("counter.json");
    let increments = increments.to_string();
    let args = ["run", "counter", "--sync", sync, "--increments", &increments, "--runner", "serial,mpi"];
    let out = mpirun(&format!("counter-{sync}"), &args)
        .args(["--rounds", "3", "--warmup", "0", "--format", "json", "--output"])
        .arg(&json)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let case = &report["cases"][0];
    assert_eq!(case["workers"], 2, "{case}");
    let samples: Vec<_> =
        case["samples"].as_array().unwrap().iter().filter(|s| s["runner"] == "mpi").cloned().collect();
    assert_eq!(samples.len(), 3, "{case}");
    samples
}

#[test]
fn counter_atomic_under_mpi_counts_exactly_on_the_window() {
    // MPI_Fetch_and_op on rank 0's window: every increment of both ranks lands.
    for s in counter_samples("atomic", 20_000) {
        assert_eq!(s["verification"]["status"], "verified", "{s}");
        let detail = s["verification"]["detail"].as_str().unwrap();
        assert!(detail.starts_with("counter = 40000 = 2 tasks x 20000"), "{s}");
    }
}

#[test]
fn counter_none_under_mpi_never_over_counts() {
    // A separate get and put on the window: updates may be lost, never gained; a
    // counter of 0 would mean the ranks did not share it (verification fails then).
    let expected = 2 * 100_000;
    let mut lost = Vec::new();
    for s in counter_samples("none", 100_000) {
        let v = &s["verification"];
        match v["status"].as_str() {
            Some("lost_updates") => {
                assert_eq!(v["expected"], expected, "{s}");
                let observed = v["observed"].as_u64().unwrap();
                assert!(observed > 0 && observed < expected, "{s}");
                lost.push(expected - observed);
            }
            Some("verified") => lost.push(0),
            _ => panic!("neither verified nor lost updates: {s}"),
        }
    }
    eprintln!("sync none under mpi lost {lost:?} of {expected} updates per sample");
}

/// `mark`, made this test process's own: two runs of these tests at once (two
/// checkouts) must never find, stop or kill each other's ranks.
fn tagged(mark: &str) -> String {
    format!("{mark}-{}", std::process::id())
}

/// `mpirun -n 3 parbench ARGS`, every rank marked with `mark` in its environment.
fn mpirun(mark: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("mpirun");
    cmd.args(["--allow-run-as-root", "--oversubscribe", "-n", "3", "-x", "PARBENCH_TEST_MARK"]);
    cmd.arg(PARBENCH).args(args).env("PARBENCH_TEST_MARK", tagged(mark)).env("NO_COLOR", "1");
    cmd.stdin(Stdio::null());
    cmd
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Which of a rank's two processes: the guard mpirun started, or the rank it started
/// that does the work (its environment names the guard's ready descriptor).
#[derive(Clone, Copy, PartialEq)]
enum Part {
    Guard,
    Worker,
}

/// Pids of the processes whose environment holds `PARBENCH_TEST_MARK=mark` (and, when
/// given, `OMPI_COMM_WORLD_RANK=rank` and the part of the rank).
fn marked(mark: &str, rank: Option<(usize, Part)>) -> Vec<u32> {
    let want = format!("PARBENCH_TEST_MARK={}", tagged(mark));
    let part = rank.map(|(_, p)| p);
    let rank = rank.map(|(r, _)| format!("OMPI_COMM_WORLD_RANK={r}"));
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        let Ok(env) = std::fs::read(entry.path().join("environ")) else { continue };
        let vars: Vec<&[u8]> = env.split(|&b| b == 0).collect();
        let has = |v: &str| vars.contains(&v.as_bytes());
        let exe = std::fs::read_link(entry.path().join("exe")).ok();
        let is_parbench =
            exe.is_some_and(|e| e.file_name().is_some_and(|n| n.to_string_lossy().starts_with("parbench")));
        let worker = vars.iter().any(|v| v.starts_with(b"PARBENCH_MPI_READY_FD="));
        if is_parbench
            && has(&want)
            && rank.as_deref().is_none_or(has)
            && part.is_none_or(|p| worker == (p == Part::Worker))
        {
            pids.push(pid);
        }
    }
    pids
}

/// The pid of `part` of rank `rank` of the run marked `mark`, once it is up.
fn rank_pid(mark: &str, rank: usize, part: Part) -> u32 {
    let start = Instant::now();
    loop {
        if let Some(&pid) = marked(mark, Some((rank, part))).first() {
            return pid;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "rank {rank} never started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn fib_under_mpi_is_verified_with_two_ranks_as_workers() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("fib.json");
    let out = mpirun(
        "fib",
        &["run", "fib", "--n", "18", "--tasks", "8", "--runner", "serial,mpi", "--rounds", "2", "--warmup", "0"],
    )
    .args(["--format".as_ref(), "json".as_ref(), "--output".as_ref(), json.as_os_str()])
    .output()
    .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    // Only rank 0 prints, and only rank 0 wrote the file.
    assert!(!stdout.contains("\"schema_version\""), "{stdout}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let case = &report["cases"][0];
    assert!(case["rows"].as_array().unwrap().iter().any(|r| r["runner"] == "mpi"), "{case}");
    assert_eq!(case["workers"], 2);
    let samples = case["samples"].as_array().unwrap();
    let mpi_samples: Vec<_> = samples.iter().filter(|s| s["runner"] == "mpi").collect();
    assert_eq!(mpi_samples.len(), 2);
    for s in &mpi_samples {
        assert_eq!(s["verification"]["status"], "verified", "{s}");
        // Both serving ranks ran tasks, all 8 of them between them.
        let tasks: Vec<u64> =
            s["per_worker"].as_array().unwrap().iter().map(|w| w["tasks"].as_u64().unwrap()).collect();
        assert_eq!(tasks.iter().sum::<u64>(), 8, "{s}");
    }
    // The fingerprint records the MPI world: its library and its one node, 3 ranks.
    let world = &report["environment"]["mpi"];
    let library = world["library"].as_str().unwrap();
    assert!(library.starts_with("Open MPI v4") && !library.contains('\0'), "{world}");
    assert_eq!(world["ranks"], 3);
    assert_eq!(world["nodes"].as_array().unwrap().len(), 1, "{world}");
    assert_eq!(world["nodes"][0]["ranks"], 3, "{world}");
}

#[test]
fn scale_sweeps_one_and_two_serving_ranks() {
    // No --threads: the worker counts come from the world (2 serving ranks), not from
    // this machine's cores (auto would ask for 4 here, and more on a bigger machine).
    let out = mpirun("scale", &["scale", "fib", "--n", "16", "--tasks", "4", "--runner", "mpi"])
        .args(["--rounds", "3", "--warmup", "1", "--format", "json"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON on stdout");
    let mut workers: Vec<u64> = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["rows"].as_array().unwrap().iter().any(|r| r["runner"] == "mpi"))
        .map(|c| c["workers"].as_u64().unwrap())
        .collect();
    workers.sort();
    workers.dedup();
    assert_eq!(workers, [1, 2], "{stdout}");
}

#[test]
fn more_workers_than_serving_ranks_is_refused_with_the_launch_to_use() {
    let out = mpirun("many", &["run", "fib", "--n", "10", "--runner", "mpi", "--threads", "3"]).output().unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--runner mpi has 2 serving ranks") && stderr.contains("mpirun -n 4"), "{stderr}");
    assert!(marked("many", None).is_empty());
}

#[test]
fn a_killed_rank_ends_the_job_naming_the_rank_and_nothing_survives() {
    let child = mpirun("killed", &["run", "sleep", "--tasks", "400", "--ms", "20", "--runner", "mpi"])
        .args(["--rounds", "3", "--warmup", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let victim = rank_pid("killed", 2, Part::Worker);
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: kill(2) on the pid of a process this test's run started.
    unsafe { libc::kill(victim as i32, libc::SIGKILL) };
    let out = child.wait_with_output().unwrap();
    let (_, stderr) = text(&out);
    // The rank's guard sees it die, names it and exits 1, and mpirun passes that on
    // (without the guard, mpirun would exit 137 whatever rank 0 says).
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let line = format!("parbench: error: mpi rank 2 (pid {victim} on ");
    assert!(stderr.contains(&line) && stderr.contains("was killed by signal 9 (SIGKILL)"), "{stderr}");
    assert!(marked("killed", None).is_empty(), "a rank survived");
}

#[test]
fn a_rank_that_never_starts_ends_the_job_with_exit_1_within_the_timeout() {
    // The job's third rank is not parbench and never calls MPI_Init, so MPI_Init of the
    // other two never ends: before parbench has read its command line, its guards
    // wait --timeout (at least 10 s) for the ranks to be up, then kill them.
    let mark = tagged("never");
    let started = Instant::now();
    // `timeout`: without the guards the job would never end.
    let out = Command::new("timeout")
        .args([
            "60",
            "mpirun",
            "--allow-run-as-root",
            "--oversubscribe",
            "-x",
            "PARBENCH_TEST_MARK",
            "-n",
            "2",
            PARBENCH,
        ])
        .args(["run", "fib", "--n", "10", "--runner", "serial,mpi", "--timeout", "2s", ":", "-n", "1", "sleep", "30"])
        .env("PARBENCH_TEST_MARK", &mark)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("parbench: error: mpi rank 0 (pid ") || stderr.contains("parbench: error: mpi rank 1 (pid ")
    );
    // --timeout 2s, but MPI_Init gets at least 10 s.
    assert!(stderr.contains("did not get through MPI_Init within 10s (--timeout, at least 10s)"), "{stderr}");
    // mpirun ends the sleeping rank too, long before its 30 s.
    assert!(started.elapsed() < Duration::from_secs(25), "took {:?}", started.elapsed());
    assert!(marked("never", None).is_empty(), "a rank survived");
}

#[test]
fn a_hung_rank_ends_the_run_with_exit_1_naming_it_within_the_timeout() {
    let child = mpirun("hung", &["run", "sleep", "--tasks", "400", "--ms", "20", "--runner", "mpi"])
        .args(["--rounds", "3", "--warmup", "0", "--timeout", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let victim = rank_pid("hung", 1, Part::Worker);
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: kill(2) on the pid of a process this test's run started.
    unsafe { libc::kill(victim as i32, libc::SIGSTOP) };
    let out = child.wait_with_output().unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("parbench: error: mpi rank 1 (pid") && stderr.contains("--timeout 2s"), "{stderr}");
    assert!(marked("hung", None).is_empty(), "a rank survived");
}

#[test]
fn rank_0_sees_the_machine_as_without_mpirun_when_mpirun_binds_by_default() {
    // Not oversubscribed, mpirun binds every rank by default (at 2 ranks, each to a
    // core): rank 0 measured threads on one core. It now runs on mpirun's CPUs, and the
    // fingerprint counts the machine's cores, not the rank's.
    let dir = tempfile::tempdir().unwrap();
    let fingerprint = |json: &std::path::Path, launch: Option<&[&str]>| {
        let args =
            ["run", "fib", "--n", "15", "--runner", "serial", "--rounds", "1", "--warmup", "0", "--format", "json"];
        let mut cmd = match launch {
            Some(flags) => {
                let mut c = Command::new("mpirun");
                c.args(["--allow-run-as-root", "--oversubscribe", "-n", "2"]).args(flags).arg(PARBENCH);
                c
            }
            None => Command::new(PARBENCH),
        };
        let out = cmd.args(args).arg("--output").arg(json).stdin(Stdio::null()).output().unwrap();
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
        let report: serde_json::Value = serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap();
        report["environment"].clone()
    };
    let alone = fingerprint(&dir.path().join("alone.json"), None);
    let default = fingerprint(&dir.path().join("default.json"), Some(&[]));
    for key in ["available_parallelism", "logical_cores"] {
        assert_eq!(default[key], alone[key], "{key}: {default}");
    }
    assert_eq!(default["mpi"]["nodes"][0]["logical_cores"], alone["logical_cores"], "{default}");
    // --bind-to asked for is kept: one CPU for rank 0, the node still its own size.
    // (On one CPU, -n 2 is oversubscribed and nothing is bound: only the node's size
    // is checked there.)
    let core = fingerprint(&dir.path().join("core.json"), Some(&["--bind-to", "core"]));
    assert_eq!(core["mpi"]["nodes"][0]["logical_cores"], alone["logical_cores"], "{core}");
    if alone["available_parallelism"].as_u64() >= Some(2) {
        assert_eq!(core["available_parallelism"], 1, "{core}");
    }
}

#[test]
fn without_mpirun_the_mpi_runner_is_refused_with_how_to_launch_it() {
    let out = Command::new(PARBENCH).args(["run", "fib", "--n", "10", "--runner", "mpi"]).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--runner mpi runs only under mpirun") && stderr.contains("mpirun -n 3 parbench run"),
        "{stderr}"
    );
    // Without --runner, the run is the default build's: no mpi row and no word of it.
    let out =
        Command::new(PARBENCH).args(["run", "fib", "--n", "10", "--rounds", "1", "--warmup", "0"]).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stdout.contains("mpi") && !stderr.contains("mpi"), "{stdout}\n{stderr}");
}

#[test]
fn an_interrupt_of_rank_0_ends_every_rank_with_exit_130() {
    let child = mpirun("interrupt", &["run", "sleep", "--tasks", "400", "--ms", "20", "--runner", "mpi"])
        .args(["--rounds", "3", "--warmup", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // What mpirun started is rank 0's guard: it passes the interrupt on to the rank.
    let root = rank_pid("interrupt", 0, Part::Guard);
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: kill(2) on the pid of a process this test's run started.
    unsafe { libc::kill(root as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("parbench: interrupted by SIGINT"), "{stderr}");
    assert!(marked("interrupt", None).is_empty(), "a rank survived");
}

#[test]
fn workloads_that_need_parbenchs_machine_are_skipped_or_refused_with_their_reason() {
    // Asked for by name: refused, exit 2, one line with the reason.
    let out = mpirun("counter", &["run", "counter", "--increments", "1000", "--sync", "sharded", "--runner", "mpi"])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--runner mpi has ranks that may be on other machines and share no memory"), "{stderr}");
    assert!(stderr.contains("only none and atomic run on a one-sided MPI window"), "{stderr}");
    // Among all runners: skipped with the reason, the others measured.
    let out = mpirun("command", &["run", "command", "--cmd", "true", "--tasks", "2", "--rounds", "1", "--warmup", "0"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let words = stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("skipped mpi: has ranks that may be on other machines"), "{stdout}");
    assert!(words.contains("its tasks run a shell command"), "{stdout}");
}
