//! `parbench ab`: the built binary twice, and wrapper scripts in a temporary directory
//! standing for builds that are not parbench, plan otherwise, die, hang or fail. No
//! timing is asserted; the statistics of the paired rule are checked by the seeded
//! simulations in `src/ab/tests.rs`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

mod util;

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("parbench")
}

/// Sleeping tasks: samples of a few milliseconds whose wall time is mostly the sleep,
/// so that an A/A comparison is decided even on a loaded machine. Each test has a seed
/// of its own, which also names its processes (see [`tagged`]).
fn sleeps(seed: u32) -> Vec<String> {
    let line = format!("run sleep --ms 5 --tasks 2 --threads 2 --rounds 16 --warmup 0 --seed {seed}");
    line.split(' ').map(String::from).collect()
}

/// An executable script `name` in `dir` with `body` after the `#!/bin/sh` line.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A wrapper that runs the real binary with the arguments it is given.
fn same_build(dir: &Path) -> PathBuf {
    script(dir, "same.sh", &format!("exec '{}' \"$@\"", bin().display()))
}

/// The variable that marks every process a test starts: the builds inherit it, and
/// their workers and the wrapper scripts' children from them.
const MARK: &str = "PARBENCH_TEST_MARK";

/// The mark of test `seed`, made this test process's own: two runs of these tests at
/// once (two checkouts) never see each other's processes.
fn tagged(seed: u32) -> String {
    format!("ab-{seed}-{}", std::process::id())
}

/// `parbench ab BASE NEW EXTRA -- COMMAND`, its processes marked for test `seed`.
fn ab(seed: u32, base: &Path, new: &Path, extra: &[&str], command: &[String]) -> Command {
    let mut cmd = Command::cargo_bin("parbench").unwrap();
    cmd.arg("ab").arg(base).arg(new).args(extra).arg("--").args(command).env("RUST_BACKTRACE", "1");
    cmd.env(MARK, tagged(seed));
    cmd
}

/// The processes test `seed` started that are still running (pid and command line):
/// those whose environment holds its mark.
fn running(seed: u32) -> Vec<String> {
    let want = format!("{MARK}={}", tagged(seed));
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(env) = std::fs::read(entry.path().join("environ")) else { continue };
        if !env.split(|&b| b == 0).any(|v| v == want.as_bytes()) {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        found.push(format!("{pid}: {}", String::from_utf8_lossy(&cmdline).replace('\0', " ")));
    }
    found
}

fn one_error_line(names: &[&str]) -> impl Predicate<str> {
    let mut p = predicate::function(|s: &str| s.lines().count() == 1 && s.starts_with("parbench: ")).boxed();
    for name in names {
        p = p.and(predicate::str::contains(name.to_string())).boxed();
    }
    p.and(predicate::str::contains("panicked").not())
}

#[test]
fn the_same_binary_twice_is_no_regression() {
    let dir = tempfile::tempdir().unwrap();
    let out = ab(4101, &bin(), &same_build(dir.path()), &["--format", "json"], &sleeps(4101)).assert().code(0);
    let cmp: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(cmp["builds"]["new"]["program"], dir.path().join("same.sh").display().to_string());
    assert!(cmp["builds"]["base"]["environment"]["rustc"].as_str().unwrap().starts_with("rustc"));
    let cells = cmp["cells"].as_array().unwrap();
    assert!(cells.iter().all(|c| c["basis"] == "pairs" && c["verdict"] != "REGRESSION"), "{cells:#?}");
    // Every runner's wall cell, from 16 rounds of both.
    for runner in ["serial", "threads", "rayon", "process"] {
        let wall = cells.iter().find(|c| c["runner"] == runner && c["metric"] == "wall").unwrap();
        assert_eq!(wall["new_n"], 16, "{wall}");
    }
    assert!(running(4101).is_empty(), "{:?}", running(4101));
}

#[test]
fn a_program_that_is_not_parbench_is_an_input_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    // One that echoes (its first line is our greeting), one that exits at once, and
    // one that says hello in a form no parbench writes.
    let cat = script(dir.path(), "cat.sh", "exec cat");
    let exits = script(dir.path(), "true.sh", "exit 0");
    let garbled = script(dir.path(), "garbled.sh", "read -r line; echo 'hello parbench-samples/1 {\"plan\": 1}'; cat");
    for (program, why) in [(&cat, "first line"), (&exits, "without a hello"), (&garbled, "cannot read")] {
        let name = program.display().to_string();
        ab(4102, &bin(), program, &[], &sleeps(4102)).assert().code(2).stdout("").stderr(one_error_line(&[
            "NEW",
            &name,
            "not a parbench build",
            why,
        ]));
    }
    // A parbench of another protocol version: the real hello, relabelled.
    let other_version = script(
        dir.path(),
        "v2.sh",
        &format!("'{}' \"$@\" | sed -u '1s|parbench-samples/1|parbench-samples/2|'", bin().display()),
    );
    let name = other_version.display().to_string();
    ab(4102, &other_version, &bin(), &[], &sleeps(4102)).assert().code(2).stdout("").stderr(one_error_line(&[
        "BASE",
        &name,
        "not a parbench build",
        "parbench-samples/2",
    ]));
    let missing = dir.path().join("missing");
    ab(4102, &missing, &bin(), &[], &sleeps(4102)).assert().code(2).stderr(one_error_line(&["BASE", "cannot start"]));
    assert!(running(4102).is_empty(), "{:?}", running(4102));
}

#[test]
fn builds_that_plan_different_measurements_are_not_comparable() {
    let dir = tempfile::tempdir().unwrap();
    let other = script(
        dir.path(),
        "other.sh",
        &format!("exec '{}' serve-samples run sleep --ms 5 --tasks 3 --threads 2 --seed 4103", bin().display()),
    );
    ab(4103, &bin(), &other, &[], &sleeps(4103)).assert().code(3).stdout("").stderr(one_error_line(&[
        "not comparable",
        "other.sh",
        "tasks=2",
        "tasks=3",
    ]));
    assert!(running(4103).is_empty(), "{:?}", running(4103));
}

/// Passes the hello and the first two replies of the real binary on, then stops
/// passing anything: `then` says what the wrapper does after.
fn truncating(dir: &Path, name: &str, then: &str) -> PathBuf {
    let forward = "read -r l; printf '%s\\n' \"$l\"";
    let body = format!("'{}' \"$@\" | {{ {forward}; {forward}; {forward}; {then} }}", bin().display());
    script(dir, name, &body)
}

#[test]
fn a_build_that_dies_mid_run_fails_naming_it_and_leaves_nothing_running() {
    let dir = tempfile::tempdir().unwrap();
    let dies = truncating(dir.path(), "dies.sh", "exit 0;");
    let name = dies.display().to_string();
    ab(4104, &bin(), &dies, &[], &sleeps(4104)).assert().code(1).stdout("").stderr(one_error_line(&[
        "NEW",
        &name,
        "died during a sample of sleep",
    ]));
    assert!(running(4104).is_empty(), "{:?}", running(4104));
}

#[test]
fn a_build_that_hangs_mid_run_is_stopped_at_the_timeout_with_everything_it_started() {
    let dir = tempfile::tempdir().unwrap();
    // After two samples it keeps its output open and sends nothing: a hang.
    let hangs = truncating(dir.path(), "hangs.sh", "sleep 4105;");
    let name = hangs.display().to_string();
    ab(4105, &bin(), &hangs, &["--timeout", "3"], &sleeps(4105)).assert().code(1).stdout("").stderr(one_error_line(&[
        "NEW",
        &name,
        "hung",
        "--timeout",
    ]));
    // The wrapper's `sleep 4105` carries the mark too: it is stopped with the build.
    assert!(running(4105).is_empty(), "{:?}", running(4105));
}

#[test]
fn a_build_whose_tasks_fail_ends_the_comparison_naming_that_build() {
    let dir = tempfile::tempdir().unwrap();
    // The same binary, but its environment makes every task of this command fail.
    let failing = script(dir.path(), "failing.sh", &format!("AB_FAIL=1 exec '{}' \"$@\"", bin().display()));
    let command: Vec<String> =
        ["run", "command", "--cmd", "test -z \"$AB_FAIL\"", "--tasks", "2", "--threads", "2", "--seed", "4106"]
            .map(String::from)
            .to_vec();
    let name = failing.display().to_string();
    ab(4106, &bin(), &failing, &[], &command)
        .assert()
        .code(1)
        .stdout("")
        .stderr(one_error_line(&["NEW", &name, "failed"]));
    // The other way round, it is BASE that is named.
    ab(4106, &failing, &bin(), &[], &command).assert().code(1).stderr(one_error_line(&["BASE", &name, "failed"]));
    assert!(running(4106).is_empty(), "{:?}", running(4106));
}

#[test]
fn a_build_whose_sample_fails_verification_fails_naming_that_build() {
    let dir = tempfile::tempdir().unwrap();
    // The real hello, then, in place of the first sample, the reply of a build whose
    // sample failed verification.
    let forward = "read -r l; printf '%s\\n' \"$l\"";
    let fail = r#"read -r l; printf '%s\n' 'fail "sleep: verification failed: task 1 woke early"'; while read -r l; do :; done"#;
    let body = format!("'{}' \"$@\" | {{ {forward}; {fail}; }}", bin().display());
    let wrong = script(dir.path(), "wrong.sh", &body);
    let name = wrong.display().to_string();
    ab(4108, &wrong, &bin(), &[], &sleeps(4108)).assert().code(1).stdout("").stderr(one_error_line(&[
        "BASE",
        &name,
        "verification failed",
        "woke early",
    ]));
    assert!(running(4108).is_empty(), "{:?}", running(4108));
}

#[test]
fn an_interrupt_stops_both_builds_and_their_workers() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = sleeps(4107);
    // Long enough to be interrupted while measuring.
    let rounds = command.iter().position(|a| a == "16").unwrap();
    command[rounds] = "5000".into();
    let mut child = std::process::Command::new(bin())
        .arg("ab")
        .arg(bin())
        .arg(same_build(dir.path()))
        .arg("--")
        .args(&command)
        .env(MARK, tagged(4107))
        // A pipe, not the null device: nothing is written to it before the interrupt.
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Both servers up (and measuring, with process-runner workers coming and going).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while running(4107).iter().filter(|p| p.contains("serve-samples run sleep")).count() < 2 {
        assert!(std::time::Instant::now() < deadline, "the builds did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    let servers = util::children_of(child.id());
    // SAFETY: kill on the child this test started and has not reaped.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(running(4107).is_empty(), "{:?}", running(4107));
    for server in servers {
        assert!(util::children_of(server).is_empty(), "server {server} left children");
    }
}

#[test]
fn the_help_has_examples_and_the_exit_codes() {
    Command::cargo_bin("parbench")
        .unwrap()
        .args(["ab", "--help"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("parbench ab ./parbench-base ./parbench-new -- suite workloads/ci.toml"))
        .stdout(predicate::str::contains("Exit codes:"))
        .stdout(predicate::str::contains("3    not comparable"));
}
