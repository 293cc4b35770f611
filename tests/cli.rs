//! Command-line integration tests: exit codes, one-line errors, output formats,
//! `--output` files, a closed stdout and process-runner timeouts.
//!
//! Every run here is tiny (fib(10), two tasks, one round, no warm-up) except the
//! timeout tests, which need a task that outlasts a 200 ms limit.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

mod util;

/// The fastest fib run that still exercises every runner.
const TINY_FIB: &[&str] =
    &["run", "fib", "--n", "10", "--tasks", "2", "--threads", "2", "--rounds", "1", "--warmup", "0"];

/// The runners, in report order.
const RUNNERS: [&str; 6] = ["serial", "threads", "rayon", "process", "process-pool", "async"];

/// `parbench` with `RUST_BACKTRACE=1`, so a panic or an error would show a backtrace.
fn parbench() -> Command {
    let mut cmd = Command::cargo_bin("parbench").expect("the parbench binary is built");
    cmd.env("RUST_BACKTRACE", "1");
    cmd
}

/// A tiny fib run with `extra` flags appended.
fn tiny_fib(extra: &[&str]) -> Command {
    let mut cmd = parbench();
    cmd.args(TINY_FIB).args(extra);
    cmd
}

/// Passes on exactly one line (with or without its newline).
fn one_line() -> impl Predicate<str> {
    predicate::function(|s: &str| s.lines().count() == 1)
}

/// Passes when there is neither a panic message nor a backtrace.
fn no_panic_or_backtrace() -> impl Predicate<str> {
    predicate::str::contains("stack backtrace").not().and(predicate::str::contains("panicked").not())
}

/// Runs `args` and checks the usage-error contract: exit 2, nothing on stdout, exactly
/// one stderr line starting `parbench: error: ` that contains every string in `names`
/// (the flag and the bad value), and no panic or backtrace.
fn assert_usage_error(args: &[&str], names: &[&str]) {
    let mut stderr =
        predicate::str::starts_with("parbench: error: ").and(one_line()).and(no_panic_or_backtrace()).boxed();
    for name in names {
        stderr = stderr.and(predicate::str::contains(*name)).boxed();
    }
    parbench().args(args).assert().code(2).stdout(predicate::str::is_empty()).stderr(stderr);
}

/// Names of `.parbench-*.tmp` files left in `dir`.
fn leftover_temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("the directory is readable")
        .map(|e| e.expect("a directory entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".parbench-") && name.ends_with(".tmp"))
        .collect()
}

/// The runner names of every row of every case in a JSON report.
fn runners_per_case(report: &Value) -> Vec<Vec<String>> {
    report["cases"]
        .as_array()
        .expect("cases is an array")
        .iter()
        .map(|case| {
            case["rows"]
                .as_array()
                .expect("rows is an array")
                .iter()
                .map(|row| row["runner"].as_str().expect("runner is a string").to_string())
                .collect()
        })
        .collect()
}

/// Asserts a parsed report is a complete tiny-fib result.
fn assert_complete_fib_report(report: &Value, seed: u64) {
    assert_eq!(report["schema_version"], 2, "schema_version");
    assert_eq!(report["settings"]["seed"], seed, "settings.seed");
    let cases = runners_per_case(report);
    assert!(!cases.is_empty(), "no cases in {report}");
    for runners in cases {
        for expected in RUNNERS {
            assert!(runners.iter().any(|r| r == expected), "runner {expected} missing from rows {runners:?}");
        }
    }
}

// ---------------------------------------------------------------------------------
// Usage errors: exit 2, one line, names the flag and the value.

/// One test per bad command line: `name: [args...] => [strings the message contains]`.
macro_rules! usage_errors {
    ($($name:ident: [$($arg:expr),* $(,)?] => [$($needle:expr),* $(,)?];)*) => {
        $(
            #[test]
            fn $name() {
                assert_usage_error(&[$($arg),*], &[$($needle),*]);
            }
        )*
    };
}

usage_errors! {
    rejects_zero_tasks_with_exit_2: ["run", "fib", "--tasks", "0"] => ["--tasks 0: 0 is out of range"];
    rejects_a_zero_millisecond_sleep_with_exit_2: ["run", "sleep", "--ms", "0"] => ["--ms 0: 0 is out of range"];
    rejects_a_sleep_over_ten_seconds_with_exit_2: ["run", "sleep", "--ms", "10001"] => ["--ms", "10001"];
    rejects_a_mixed_step_without_computation_with_exit_2: ["run", "mixed", "--cpu-us", "0"] => ["--cpu-us 0: 0 is out of range"];
    rejects_a_mixed_step_without_a_wait_with_exit_2: ["run", "mixed", "--io-ms", "0"] => ["--io-ms 0: 0 is out of range"];
    rejects_a_mixed_task_over_a_minute_with_exit_2:
        ["run", "mixed", "--cpu-us", "1000000", "--steps", "61"] => ["--steps 61 x (--cpu-us 1000000 + --io-ms 4)", "more than 60 s"];
    rejects_zero_counter_increments_with_exit_2: ["run", "counter", "--increments", "0"] => ["--increments 0: 0 is out of range"];
    rejects_fib_of_zero_with_exit_2: ["run", "fib", "--n", "0"] => ["--n 0: 0 is out of range"];
    rejects_fib_above_fifty_with_exit_2: ["run", "fib", "--n", "51"] => ["--n", "51"];
    rejects_factorizing_zero_with_exit_2: ["run", "factorize", "--numbers", "0"] => ["--numbers 0: 0 is out of range"];
    rejects_an_empty_number_list_with_exit_2: ["run", "factorize", "--numbers", ""] => ["--numbers ''", "empty"];
    rejects_an_empty_entry_in_the_number_list_with_exit_2:
        ["run", "factorize", "--numbers", "5,,7"] => ["--numbers", "empty"];
    rejects_zero_threads_with_exit_2: ["run", "fib", "--threads", "0"] => ["--threads", "'0'"];
    rejects_more_than_1024_threads_with_exit_2: ["run", "fib", "--threads", "1025"] => ["--threads", "1025"];
    rejects_300_worker_processes_when_process_is_asked_for_with_exit_2:
        ["run", "fib", "--threads", "300", "--runner", "process"] => ["--threads 300", "--runner process", "256"];
    rejects_mutex_under_an_explicit_process_runner_naming_the_modes_that_work_with_exit_2:
        ["run", "counter", "--sync", "mutex", "--runner", "process"]
        => ["--runner process", "mutex", "none", "atomic", "sharded"];
    rejects_an_unknown_runner_with_exit_2: ["run", "fib", "--runner", "bogus"] => ["--runner", "bogus"];
    rejects_an_unknown_sync_mode_with_exit_2: ["run", "counter", "--sync", "bogus"] => ["--sync", "bogus"];
    rejects_zero_rounds_with_exit_2: ["run", "fib", "--rounds", "0"] => ["--rounds", "'0'"];
    rejects_a_zero_timeout_with_exit_2: ["run", "fib", "--timeout", "0"] => ["--timeout", "'0'"];
    rejects_an_unknown_flag_with_exit_2: ["run", "fib", "--bogus"] => ["--bogus"];
    rejects_an_output_in_a_missing_directory_with_exit_2:
        ["run", "fib", "--output", "/nonexistent-dir/x.json"] => ["--output", "/nonexistent-dir/x.json"];
}

#[test]
fn rejects_an_output_with_an_unknown_extension_and_no_format_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.dat");
    let shown = path.to_str().unwrap();
    assert_usage_error(&["run", "fib", "--output", shown], &["--output", shown, "--format"]);
    assert!(!path.exists(), "{shown} was created");
    assert_eq!(leftover_temp_files(dir.path()), Vec::<String>::new());
}

#[test]
fn rejects_an_output_that_is_an_existing_directory_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let shown = dir.path().to_str().unwrap();
    assert_usage_error(&["run", "fib", "--output", shown], &["--output", shown]);
    assert_eq!(leftover_temp_files(dir.path()), Vec::<String>::new());
}

#[test]
fn rejects_an_output_directory_with_a_report_extension_saying_it_is_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.json");
    std::fs::create_dir(&target).unwrap();
    let shown = target.to_str().unwrap();
    assert_usage_error(&["run", "fib", "--output", shown], &["--output", shown, "directory"]);
}

#[test]
fn rejects_an_output_directory_without_an_extension_saying_it_is_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let shown = dir.path().to_str().unwrap();
    assert_usage_error(&["run", "fib", "--output", shown], &["--output", shown, "directory"]);
}

#[test]
fn rejects_a_timeout_below_one_millisecond_with_exit_2() {
    let mut args = TINY_FIB.to_vec();
    args.extend(["--runner", "serial", "--timeout", "0.5ms"]);
    assert_usage_error(&args, &["--timeout", "0.5ms"]);
}

// ---------------------------------------------------------------------------------
// Successful runs and their formats.

#[test]
fn counter_with_default_modes_and_runners_succeeds_and_says_process_was_skipped_for_mutex() {
    parbench()
        .args(["run", "counter", "--threads", "2", "--increments", "1000", "--rounds", "1", "--warmup", "0"])
        .assert()
        .success()
        .stderr(predicate::str::is_empty())
        .stdout(predicate::function(|out: &str| {
            out.lines().any(|l| l.starts_with("skipped process:") && l.contains("Mutex"))
        }))
        .stdout(predicate::str::contains("sync=mutex"))
        .stdout(predicate::str::contains("sync=sharded"));
}

#[test]
fn every_runner_reports_its_peak_memory_and_the_process_runners_their_childrens() {
    let out = tiny_fib(&["--format", "json"]).assert().success().get_output().stdout.clone();
    let report: Value = serde_json::from_slice(&out).unwrap();
    let rows = report["cases"][0]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), RUNNERS.len());
    for row in rows {
        let runner = row["runner"].as_str().unwrap();
        // At least the program itself is resident.
        assert!(row["peak_rss_mib"].as_f64().is_some_and(|m| m > 1.0), "{runner}: {row}");
        assert!(row["rss_rise_mib"].as_f64().is_some_and(|m| m >= 0.0), "{runner}: {row}");
        let processes = ["process", "process-pool"].contains(&runner);
        assert_eq!(row["children_peak_mib"].as_f64().is_some_and(|m| m > 1.0), processes, "{runner}");
    }
    let sample = &report["cases"][0]["samples"][0]["sample"];
    assert!(sample["memory"]["peak_kib"].as_u64() >= sample["memory"]["start_kib"].as_u64(), "{sample}");
    // The finding by default; how it is measured with -v.
    tiny_fib(&[]).assert().success().stdout(
        predicate::str::contains("added at most to peak RSS").and(predicate::str::contains("Peak RSS is").not()),
    );
    tiny_fib(&["-v"]).assert().success().stdout(predicate::str::contains("Peak RSS is parbench's"));
}

#[test]
fn cpu_work_under_the_async_runner_is_said_to_block_its_threads() {
    tiny_fib(&["--runner", "async"]).assert().success().stdout(
        predicate::str::contains("Its tasks have no async form")
            .and(predicate::str::contains("Async does not help CPU work.")),
    );
    parbench()
        .args(["run", "sleep", "--tasks", "6", "--ms", "5", "--threads", "2", "--runner", "async"])
        .args(["--rounds", "2", "--warmup", "0"])
        .assert()
        .success()
        .stdout(predicate::str::contains("async kept all 6 tasks waiting at once on 2 thread(s)"))
        .stdout(predicate::str::contains("no async form").not());
}

#[test]
fn list_names_every_workload_and_runner() {
    let mut names = predicate::str::contains("Workloads").boxed();
    for name in ["sleep", "fib", "factorize", "counter"].into_iter().chain(RUNNERS) {
        let name = name.to_string();
        names = names
            .and(predicate::function(move |out: &str| {
                out.lines().any(|l| l.split_whitespace().next() == Some(name.as_str()))
            }))
            .boxed();
    }
    parbench().arg("list").assert().success().stdout(names).stderr(predicate::str::is_empty());
}

#[test]
fn run_help_documents_the_exit_codes() {
    parbench()
        .args(["run", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Exit codes").and(predicate::str::contains("130")));
}

#[test]
fn run_fib_help_documents_the_exit_codes() {
    parbench()
        .args(["run", "fib", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Exit codes").and(predicate::str::contains("--tasks")));
}

#[test]
fn run_fib_help_lists_the_fib_flags() {
    parbench()
        .args(["run", "fib", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--n <N>").and(predicate::str::contains("--timeout")));
}

#[test]
fn json_output_is_a_complete_versioned_report_with_the_given_seed() {
    let out = tiny_fib(&["--seed", "42", "--format", "json"]).assert().success().stderr(predicate::str::is_empty());
    let report: Value = serde_json::from_slice(&out.get_output().stdout).expect("stdout is valid JSON");
    assert_complete_fib_report(&report, 42);
}

#[test]
fn csv_output_is_a_header_and_one_row_per_runner() {
    let out = tiny_fib(&["--format", "csv"]).assert().success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1 + RUNNERS.len(), "{stdout}");
    assert!(lines[0].starts_with("workload,") && lines[0].contains(",runner,"), "header: {}", lines[0]);
    for runner in RUNNERS {
        let rows = lines[1..].iter().filter(|l| l.starts_with("fib,") && l.contains(&format!(",{runner},"))).count();
        assert_eq!(rows, 1, "rows for {runner} in\n{stdout}");
    }
}

#[test]
fn markdown_output_is_a_pipe_table() {
    let out = tiny_fib(&["--format", "markdown"]).assert().success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(stdout.lines().any(|l| l.starts_with("| runner |")), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("|---")), "{stdout}");
    for runner in RUNNERS {
        assert!(stdout.lines().any(|l| l.starts_with(&format!("| {runner} |"))), "row {runner} in\n{stdout}");
    }
}

// ---------------------------------------------------------------------------------
// --output files.

#[test]
fn output_writes_a_complete_json_file_and_still_prints_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.json");
    std::fs::write(&path, b"an older, incomplete report").unwrap();
    tiny_fib(&["--seed", "9", "--output", path.to_str().unwrap()])
        .assert()
        .success()
        .stderr(predicate::str::is_empty())
        .stdout(predicate::str::contains("wall (median").and(predicate::str::starts_with("{").not()));
    let report: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).expect("the file is valid JSON");
    assert_complete_fib_report(&report, 9);
    assert_eq!(leftover_temp_files(dir.path()), Vec::<String>::new());
}

#[test]
fn output_format_follows_an_explicit_format_flag() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.dat");
    tiny_fib(&["--format", "csv", "--output", path.to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("wall (median"));
    let csv = std::fs::read_to_string(&path).unwrap();
    assert!(csv.starts_with("workload,"), "{csv}");
    assert_eq!(csv.lines().count(), 1 + RUNNERS.len(), "{csv}");
}

/// A pre-existing report file in a fresh directory, and its bytes.
fn existing_report() -> (tempfile::TempDir, PathBuf, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("existing.json");
    let bytes = b"{\"precious\": true}\n".to_vec();
    std::fs::File::create(&path).unwrap().write_all(&bytes).unwrap();
    (dir, path, bytes)
}

#[test]
fn a_parse_error_leaves_an_existing_output_file_unchanged() {
    let (dir, path, bytes) = existing_report();
    let shown = path.to_str().unwrap();
    assert_usage_error(&["run", "fib", "--tasks", "0", "--output", shown], &["--tasks"]);
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert_eq!(leftover_temp_files(dir.path()), Vec::<String>::new());
}

#[test]
fn a_refused_combination_leaves_an_existing_output_file_unchanged() {
    let (dir, path, bytes) = existing_report();
    let shown = path.to_str().unwrap();
    assert_usage_error(
        &["run", "counter", "--sync", "mutex", "--runner", "process", "--output", shown],
        &["--runner process"],
    );
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert_eq!(leftover_temp_files(dir.path()), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------
// A closed stdout.

#[test]
fn a_closed_stdout_after_ten_bytes_ends_quietly() {
    let bin = assert_cmd::cargo::cargo_bin("parbench");
    let script = format!("'{}' {} | head -c 10", bin.display(), TINY_FIB.join(" "));
    let out =
        std::process::Command::new("sh").args(["-c", &script]).env("RUST_BACKTRACE", "1").output().expect("sh runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "status {:?}, stderr: {stderr}", out.status);
    assert_eq!(out.stdout.len(), 10, "head passes on 10 bytes");
    assert!(stderr.is_empty(), "stderr should be empty, got: {stderr}");
}

/// Runs parbench with its stdout pipe closed before it writes anything.
fn run_with_stdout_closed(args: &[&str]) -> std::process::Output {
    let bin = assert_cmd::cargo::cargo_bin("parbench");
    let mut child = std::process::Command::new(bin)
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("parbench starts");
    drop(child.stdout.take());
    child.wait_with_output().expect("parbench finishes")
}

/// Runs parbench with its stdout closed from the start (the shell's `>&-`).
fn run_without_stdout(args: &[&str]) -> std::process::Output {
    use std::os::unix::process::CommandExt;
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("parbench"));
    command.args(args).env("RUST_BACKTRACE", "1").stderr(Stdio::piped());
    // SAFETY: close is async-signal-safe and changes only the child.
    unsafe {
        command.pre_exec(|| {
            libc::close(1);
            Ok(())
        });
    }
    command.output().expect("parbench runs")
}

#[test]
fn a_stdout_closed_from_the_start_is_an_error_not_a_silent_success() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/compare/");
    let (base, same) = (format!("{data}base.json"), format!("{data}same.json"));
    for (args, code) in [(TINY_FIB.to_vec(), 1), (vec!["list"], 2), (vec!["compare", &base, &same], 2)] {
        let out = run_without_stdout(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.starts_with("parbench: error: writing to stdout: it was closed"), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}

#[test]
fn a_run_whose_stdout_is_closed_before_it_writes_exits_0_quietly() {
    let out = run_with_stdout_closed(TINY_FIB);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(stderr.is_empty(), "stderr should be empty, got: {stderr}");
}

#[test]
fn list_with_a_closed_stdout_exits_0_quietly() {
    let out = run_with_stdout_closed(&["list"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(stderr.is_empty(), "stderr should be empty, got: {stderr}");
}

// ---------------------------------------------------------------------------------
// Benchmark failures: exit 1.

/// fib(40) takes well over 200 ms per task, so the process runner's sample times out.
/// A process-runner sample that cannot finish on any machine: each task sleeps 5 s
/// and the timeout allows 200 ms without progress. The seed puts the process runner
/// before serial in the round, so the test does not wait for serial's 10 s.
fn timing_out() -> Vec<String> {
    let seed = (0..1000u64)
        .find(|&seed| {
            let mut order = [0, 1];
            parbench::rng::SplitMix64::new(seed).shuffle(&mut order);
            order[0] == 1
        })
        .unwrap();
    "run sleep --ms 5000 --tasks 2 --threads 2 --runner process --timeout 200ms --rounds 1 --warmup 0 --limit none \
     --seed"
        .split_whitespace()
        .map(String::from)
        .chain([seed.to_string()])
        .collect()
}

/// Whether the process `pid` is still alive (present and not a zombie).
fn is_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()) != Some("Z"),
        Err(_) => false,
    }
}

#[test]
fn a_process_runner_timeout_exits_1_and_says_the_worker_was_killed() {
    let out = parbench().args(timing_out()).assert().code(1).stderr(
        predicate::str::starts_with("parbench: error: ")
            .and(one_line())
            .and(predicate::str::contains("--timeout"))
            .and(predicate::str::contains("killed"))
            .and(no_panic_or_backtrace()),
    );
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    if cfg!(target_os = "linux") {
        let pid: Option<u32> =
            stderr.split("pid ").nth(1).and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok());
        let pid = pid.unwrap_or_else(|| panic!("no worker pid in the error: {stderr}"));
        assert!(!is_alive(pid), "worker pid {pid} survived parbench: {stderr}");
    }
}

#[test]
fn a_failed_benchmark_leaves_an_existing_output_file_unchanged() {
    let (dir, path, bytes) = existing_report();
    let mut args = timing_out();
    args.extend(["--output".to_string(), path.to_str().unwrap().to_string()]);
    parbench().args(&args).assert().code(1).stderr(predicate::str::contains("--timeout").and(one_line()));
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert_eq!(leftover_temp_files(dir.path()), Vec::<String>::new());
}

#[test]
fn an_output_file_gets_the_usual_mode_not_0600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.json");
    Command::cargo_bin("parbench")
        .unwrap()
        .args(["run", "fib", "--n", "10", "--tasks", "2", "--threads", "2", "--rounds", "1", "--warmup", "0"])
        .arg("--output")
        .arg(&path)
        .assert()
        .success();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_ne!(mode, 0o600, "the report is readable only by its owner");
    assert_eq!(mode & 0o044, 0o044 & !umask_of_this_process(), "mode {mode:o}");
}

fn umask_of_this_process() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let v = status.lines().find_map(|l| l.strip_prefix("Umask:")).unwrap().trim().to_string();
    u32::from_str_radix(&v, 8).unwrap()
}

#[test]
fn an_unknown_runner_error_lists_the_runners_that_exist() {
    let out = Command::cargo_bin("parbench").unwrap().args(["run", "fib", "--runner", "bogus"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("serial") && stderr.contains("process"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

// ---------------------------------------------------------------------------------
// The command workload and programs that are not parbench workers.

#[test]
fn command_tasks_overlap_under_four_threads() {
    // Each task logs when it starts and ends; four threads must have had at least two
    // commands running at once. Serial (always measured) never overlaps, so any
    // overlap comes from the threads runner. This asserts concurrency, not speed.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let cmd = format!("echo $(date +%s%N) start >> {0}; sleep 0.3; echo $(date +%s%N) end >> {0}", log.display());
    parbench()
        .args(["run", "command", "--cmd", &cmd, "--tasks", "4", "--threads", "4", "--runner", "threads"])
        // No calibration, which would run a command once more before measuring.
        .args(["--rounds", "1", "--warmup", "0", "--limit", "none"])
        .assert()
        .success()
        .stdout(predicate::str::contains("every runner starts one process per task"));
    let mut events: Vec<(u128, i32)> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| {
            let (t, what) = l.split_once(' ').unwrap();
            (t.parse().unwrap(), if what == "start" { 1 } else { -1 })
        })
        .collect();
    assert_eq!(events.len(), 16, "8 commands (serial and threads), each logs twice");
    events.sort();
    let mut running = 0;
    let most = events.iter().map(|(_, d)| {
        running += d;
        running
    });
    assert!(most.max().unwrap() >= 2, "no two commands ever ran at once: {events:?}");
}

#[test]
fn a_failing_command_exits_1_naming_the_task_status_and_stderr() {
    parbench()
        .args(["run", "command", "--cmd", "echo disk on fire >&2; exit 3", "--tasks", "2"])
        .args(["--rounds", "1", "--warmup", "0", "--threads", "2"])
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty())
        .stderr(
            predicate::str::starts_with("parbench: error: task ")
                .and(predicate::str::contains("exited with status 3"))
                .and(predicate::str::contains("disk on fire"))
                .and(one_line()),
        );
}

#[test]
fn a_task_that_fails_while_calibrating_ends_the_run_at_once_with_the_measurement_error() {
    // The default --limit calibrates first; the failing command must not run again.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("runs");
    let cmd = format!("echo {{task}} >> '{}'; echo disk on fire >&2; exit 3", log.display());
    parbench()
        .args(["run", "command", "--cmd", &cmd, "--tasks", "4", "--threads", "2", "--rounds", "3"])
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty())
        .stderr(
            predicate::str::starts_with("parbench: error: task ")
                .and(predicate::str::contains("failed under the serial runner"))
                .and(predicate::str::contains("exited with status 3"))
                .and(predicate::str::contains("disk on fire"))
                .and(one_line()),
        );
    let runs = std::fs::read_to_string(&log).unwrap();
    assert_eq!(runs.lines().count(), 1, "the failing command ran more than once: {runs:?}");
}

#[test]
fn a_missing_program_in_a_command_exits_1() {
    parbench()
        .args(["run", "command", "--cmd", "parbench-no-such-program {task}", "--tasks", "2"])
        .args(["--rounds", "1", "--warmup", "0", "--threads", "2", "--runner", "process"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("status 127").and(predicate::str::contains("parbench-no-such-program 0")));
}

#[test]
fn a_worker_program_that_is_not_a_parbench_worker_is_named_as_such() {
    tiny_fib(&["--runner", "process", "--worker-program", "/bin/echo"]).assert().code(1).stderr(
        predicate::str::contains("did not answer parbench's worker handshake")
            .and(predicate::str::contains("parbench::main"))
            .and(one_line()),
    );
}

#[test]
fn an_unknown_parameter_suggests_the_close_one() {
    assert_usage_error(&["run", "fib", "--nn", "3"], &["--nn", "--n"]);
    assert_usage_error(&["run", "fibb"], &["fibb", "fib"]);
    assert_usage_error(&["run", "command", "--tasks", "2"], &["--cmd is required"]);
}

#[test]
fn cargo_bench_flags_are_accepted() {
    // `cargo bench -- run ...` appends --bench.
    tiny_fib(&["--bench"]).assert().success();
}

#[test]
fn pinned_workers_still_verify_and_the_result_says_so() {
    let out = tiny_fib(&["--pin", "--format", "json"]).assert().success().get_output().stdout.clone();
    let report: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(report["settings"]["pin"], true);
    assert_complete_fib_report(&report, 1);
}

// ---------------------------------------------------------------------------------
// Resource limits.

/// `parbench` with the file-size limit (`ulimit -f`) set to `bytes`, which also holds
/// for root: the way to make shared memory and output files run out of room.
fn parbench_with_file_size_limit(bytes: u64) -> Command {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("parbench"));
    cmd.env("RUST_BACKTRACE", "1");
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        cmd.pre_exec(move || {
            let limit = libc::rlimit { rlim_cur: bytes, rlim_max: bytes };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
        });
    }
    Command::from_std(cmd)
}

#[test]
fn shared_memory_that_cannot_be_reserved_is_named_not_a_sigbus() {
    parbench_with_file_size_limit(0)
        .args(["run", "counter", "--sync", "atomic", "--increments", "1000", "--threads", "2"])
        .args(["--runner", "process", "--rounds", "1", "--warmup", "0"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::starts_with("parbench: error: sharing memory with the worker processes: cannot reserve ")
                .and(predicate::str::contains("ulimit -f"))
                .and(one_line())
                .and(no_panic_or_backtrace()),
        );
}

#[test]
fn an_unusable_tmpdir_is_named_before_anything_is_measured() {
    parbench().args(TINY_FIB).env("TMPDIR", "/nonexistent").assert().code(2).stdout("").stderr(
        predicate::str::starts_with("parbench: error: TMPDIR=/nonexistent: ")
            .and(predicate::str::contains("process runner"))
            .and(one_line()),
    );
    // Without the process runner, TMPDIR is not needed.
    parbench().args(TINY_FIB).args(["--runner", "threads"]).env("TMPDIR", "/nonexistent").assert().success();
}

// ---------------------------------------------------------------------------------
// Paths that are not UTF-8.

#[test]
fn an_output_path_that_is_not_utf8_is_written_and_recorded_lossily() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(std::ffi::OsStr::from_bytes(b"r\xff.json"));
    tiny_fib(&[]).arg("--output").arg(&path).assert().success().stderr("");
    let report: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let command: Vec<&str> = report["command"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert!(command.iter().any(|a| a.ends_with("r\u{fffd}.json")), "{command:?}");
}

#[test]
fn a_suite_and_a_plot_whose_paths_are_not_utf8_run_to_the_end() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let name = |bytes: &[u8]| dir.path().join(std::ffi::OsStr::from_bytes(bytes));
    let suite = name(b"s\xff.toml");
    std::fs::write(&suite, "rounds = 1\nwarmup = 0\n[[bench]]\nworkload = \"fib\"\nn = 10\ntasks = 2\nthreads = [2]\n")
        .unwrap();
    parbench().arg("suite").arg(&suite).arg("--output").arg(name(b"o\xff.json")).assert().success().stderr("");
    parbench()
        .args(["scale", "fib", "--n", "10", "--tasks", "2", "--threads", "1,2", "--rounds", "1", "--warmup", "0"])
        .args(["--runner", "threads", "--plot"])
        .arg(name(b"p\xff.svg"))
        .assert()
        .success()
        .stderr(format!("parbench: wrote the speedup plot to {}\n", name(b"p\xff.svg").display()));
    assert!(name(b"o\xff.json").is_file() && name(b"p\xff.svg").is_file());
}

// ---------------------------------------------------------------------------------
// Where outputs go: special files, symlinks, stdout, collisions, failed writes.

/// A tiny scale sweep (threads only, two worker counts) with `extra` flags.
fn tiny_scale(extra: &[&str]) -> Command {
    let mut cmd = parbench();
    cmd.args(["scale", "fib", "--n", "10", "--tasks", "2", "--threads", "1,2", "--rounds", "1", "--warmup", "0"])
        .args(["--runner", "threads"])
        .args(extra);
    cmd
}

#[test]
fn an_output_onto_a_null_device_writes_through_and_leaves_the_device() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let null = util::device(dir.path(), "null");
    tiny_fib(&["--output", null.to_str().unwrap(), "--format", "json"]).assert().success().stderr("");
    let meta = std::fs::metadata(&null).unwrap();
    assert!(meta.file_type().is_char_device(), "the null device was replaced by a regular file");
}

#[test]
fn an_output_onto_a_fifo_writes_through_it() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("report.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    tiny_fib(&["--format", "json", "--output", fifo.to_str().unwrap()]).assert().success().stderr("");
    let report: Value = serde_json::from_slice(&reader.join().unwrap()).expect("the FIFO carried the JSON");
    assert_complete_fib_report(&report, 1);
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo(), "the FIFO was replaced");
}

#[test]
fn an_output_through_a_symlink_replaces_its_target_and_keeps_the_link() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("store")).unwrap();
    let real = dir.path().join("store/real.json");
    std::fs::write(&real, "old").unwrap();
    let link = dir.path().join("latest.json");
    std::os::unix::fs::symlink("store/real.json", &link).unwrap();
    tiny_fib(&["--output", link.to_str().unwrap()]).assert().success().stderr("");
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link was replaced");
    let report: Value = serde_json::from_slice(&std::fs::read(&real).unwrap()).unwrap();
    assert_complete_fib_report(&report, 1);
    assert_eq!(leftover_temp_files(dir.path()), Vec::<String>::new());
    assert_eq!(leftover_temp_files(&dir.path().join("store")), Vec::<String>::new());
}

#[test]
fn output_dash_puts_the_result_on_stdout_and_the_table_on_stderr() {
    let out = tiny_fib(&["--seed", "3", "--output", "-"]).assert().success();
    let report: Value = serde_json::from_slice(&out.get_output().stdout).expect("stdout is the JSON result");
    assert_complete_fib_report(&report, 3);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr);
    assert!(stderr.contains("wall (median"), "the table goes to stderr: {stderr}");
    let csv = tiny_fib(&["--output", "-", "--format", "csv"]).assert().success();
    assert!(String::from_utf8_lossy(&csv.get_output().stdout).starts_with("workload,"));
}

#[test]
fn an_output_equal_to_the_suite_file_is_refused_and_the_suite_survives() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("s.toml");
    let text = "rounds = 1\nwarmup = 0\n[[bench]]\nworkload = \"fib\"\nn = 10\ntasks = 2\nthreads = [2]\n";
    std::fs::write(&suite, text).unwrap();
    let shown = suite.to_str().unwrap();
    assert_usage_error(&["suite", shown, "--output", shown, "--format", "json"], &["--output", "the suite file"]);
    assert_eq!(std::fs::read_to_string(&suite).unwrap(), text);
    // The same file by another name.
    let alias = dir.path().join("alias.json");
    std::os::unix::fs::symlink(&suite, &alias).unwrap();
    assert_usage_error(&["suite", shown, "--output", alias.to_str().unwrap()], &["the suite file"]);
    assert_eq!(std::fs::read_to_string(&suite).unwrap(), text);
}

#[test]
fn a_plot_and_a_timeline_onto_one_file_are_refused_before_measuring() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("x.svg");
    let shown = svg.to_str().unwrap();
    let mut args = vec!["scale", "fib", "--n", "10", "--threads", "1,2", "--plot", shown, "--timeline", shown];
    assert_usage_error(&args, &["--plot", "--timeline", "the same file"]);
    args.truncate(6);
    args.extend(["--plot", "-", "--output", "-"]);
    assert_usage_error(&args, &["--plot -", "--output -", "standard output"]);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_plot_onto_an_existing_result_file_is_refused() {
    let (dir, path, bytes) = existing_report();
    let shown = path.to_str().unwrap();
    assert_usage_error(&["scale", "fib", "--n", "10", "--threads", "1,2", "--plot", shown], &["--plot", shown, ".svg"]);
    let disguised = dir.path().join("result.svg");
    std::fs::write(&disguised, &bytes).unwrap();
    let shown = disguised.to_str().unwrap();
    assert_usage_error(&["scale", "fib", "--threads", "1,2", "--timeline", shown], &["--timeline", "not an SVG"]);
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert_eq!(std::fs::read(&disguised).unwrap(), bytes);
}

#[test]
fn compare_whose_stdout_cannot_be_written_exits_2() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/compare/");
    let dir = tempfile::tempdir().unwrap();
    let full = std::fs::OpenOptions::new().write(true).open(util::device(dir.path(), "full")).unwrap();
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("parbench"))
        .args(["compare", &format!("{data}base.json"), &format!("{data}same.json")])
        .stdout(full)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("parbench: error: writing to stdout: ") && one_line().eval(&stderr), "{stderr}");
}

#[test]
fn an_output_that_fails_after_measuring_exits_1_naming_it_with_the_table_printed() {
    let dir = tempfile::tempdir().unwrap();
    let full = util::device(dir.path(), "full");
    let full = full.to_str().unwrap();
    tiny_fib(&["--output", full, "--format", "json"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("wall (median"))
        .stderr(predicate::str::starts_with(format!("parbench: error: writing --output {full}: ")).and(one_line()));
}

#[test]
fn an_unwritable_plot_is_refused_before_the_sweep_runs() {
    // Nothing, not even root, can create files in /proc.
    let dir = tempfile::tempdir().unwrap();
    let ok = dir.path().join("ok.json");
    tiny_scale(&["--plot", "/proc/parbench-plot.svg", "--output", ok.to_str().unwrap()])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::starts_with("parbench: error: --plot /proc/parbench-plot.svg: ").and(one_line()));
    assert!(!ok.exists());
}

#[test]
fn a_plot_that_fails_after_the_sweep_does_not_cost_the_other_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let ok = dir.path().join("ok.json");
    let timeline = dir.path().join("t.svg");
    let full = util::device(dir.path(), "full");
    let full = full.to_str().unwrap();
    tiny_scale(&["--plot", full, "--output", ok.to_str().unwrap(), "--timeline", timeline.to_str().unwrap()])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("speedup [95% CI]"))
        .stderr(
            predicate::str::starts_with(format!("parbench: wrote the task timeline to {}\n", timeline.display()))
                .and(predicate::str::contains(format!("\nparbench: error: writing --plot {full}: ")))
                .and(predicate::str::contains("wrote the speedup plot").not()),
        );
    let report: Value = serde_json::from_slice(&std::fs::read(&ok).unwrap()).unwrap();
    assert_eq!(report["schema_version"], 2);
    assert!(std::fs::read_to_string(&timeline).unwrap().contains("<svg"));
}

// ---------------------------------------------------------------------------------
// Estimated duration and --limit.

#[test]
fn a_run_that_would_take_days_is_refused_at_once_naming_the_limit() {
    let start = std::time::Instant::now();
    assert_usage_error(
        &["run", "fib", "--n", "50", "--tasks", "1000000", "--threads", "1024"],
        &["at least", "over --limit 10 min", "fib (n=50, tasks=1000000)"],
    );
    assert!(start.elapsed() < std::time::Duration::from_secs(10), "took {:?}", start.elapsed());
}

#[test]
fn a_suite_of_ten_thousand_rounds_is_refused_before_measuring() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("long.toml");
    std::fs::write(&suite, "rounds = 10000\nwarmup = 100\n[[bench]]\nworkload = \"fib\"\nn = 30\nthreads = [2]\n")
        .unwrap();
    assert_usage_error(&["suite", suite.to_str().unwrap()], &["this measurement would take", "--limit"]);
}

#[test]
fn the_limit_can_be_raised() {
    // Serial 2 x 300 ms and threads 300 ms: about 0.9 s.
    let args = ["run", "sleep", "--ms", "300", "--tasks", "2", "--threads", "2", "--runner", "threads"];
    let mut refused = args.to_vec();
    refused.extend(["--rounds", "1", "--warmup", "0", "--limit", "500ms"]);
    assert_usage_error(&refused, &["would take at least", "over --limit 500 ms"]);
    parbench().args(args).args(["--rounds", "1", "--warmup", "0", "--limit", "5s"]).assert().success().stderr("");
}

#[test]
fn a_seed_past_two_to_the_64_is_called_too_large() {
    assert_usage_error(&["run", "fib", "--seed", "18446744073709551616"], &["--seed", "is too large"]);
    assert_usage_error(&["run", "fib", "--seed", "-1"], &["--seed", "not a whole number"]);
}

#[test]
fn endless_inputs_are_cut_off_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let zero = util::device(dir.path(), "zero");
    let shown = zero.to_str().unwrap();
    assert_usage_error(&["suite", shown], &[&format!("suite file {shown}"), "larger than"]);
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/compare/base.json");
    assert_usage_error(&["compare", data, shown], &[&format!("{shown}: not a parbench result: line 1, column 1")]);
    let zero = std::fs::File::open(&zero).unwrap();
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("parbench"))
        .arg("worker")
        .stdin(zero)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("parbench: error: worker: a line longer than") && one_line().eval(&stderr), "{stderr}");
}

#[test]
fn output_dev_stdout_redirected_to_a_file_is_the_same_as_dash() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.json");
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("parbench"))
        .args(TINY_FIB)
        .args(["--output", "/dev/stdout", "--format", "json"])
        .stdout(std::fs::File::create(&path).unwrap())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("wall (median"), "the table goes to stderr: {stderr}");
    let report: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).expect("the file holds only the JSON");
    assert_complete_fib_report(&report, 1);
}

#[test]
fn a_program_started_as_a_worker_that_does_not_route_it_refuses_to_measure() {
    // What a user's main that ignores `worker` and calls parbench again would do: it
    // must not start workers of its own (and they theirs).
    tiny_fib(&[])
        .env("PARBENCH_PARENT_PID", "1")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("did not hand its `worker` subcommand to parbench::main").and(one_line()));
}

#[test]
fn nothing_a_command_started_survives_a_process_runner_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("sleep.pid");
    let cmd = format!("if [ {{worker}} = 1 ]; then sleep 1000 & echo $! > {}; wait; fi", pidfile.display());
    parbench()
        .args(["run", "command", "--cmd", &cmd, "--tasks", "2", "--threads", "2", "--runner", "process"])
        .args(["--schedule", "static", "--rounds", "1", "--warmup", "0", "--timeout", "1"])
        .assert()
        .code(1);
    let pid: u32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    // Killed with its worker's process group: it dies as soon as the signal is
    // delivered (or lingers as a zombie for init).
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while is_alive(pid) && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(!is_alive(pid), "the command's sleep {pid} outlived the run");
}

// ---------------------------------------------------------------------------------
// Thread limits.

/// `parbench` with at most `tasks` processes and threads for its user (`ulimit -u`);
/// as root, which the kernel exempts, it runs as the user `nobody` so the limit holds.
fn parbench_with_task_limit(tasks: u64) -> Command {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("parbench"));
    cmd.env("RUST_BACKTRACE", "1").current_dir(std::env::temp_dir());
    // SAFETY: setrlimit, setgroups, setgid and setuid are async-signal-safe and change
    // only the child.
    unsafe {
        cmd.pre_exec(move || {
            let limit = libc::rlimit { rlim_cur: tasks, rlim_max: tasks };
            let root = libc::geteuid() == 0;
            let failed = libc::setrlimit(libc::RLIMIT_NPROC, &limit) != 0
                || (root
                    && (libc::setgroups(0, std::ptr::null()) != 0
                        || libc::setgid(65534) != 0
                        || libc::setuid(65534) != 0));
            if failed { Err(std::io::Error::last_os_error()) } else { Ok(()) }
        });
    }
    Command::from_std(cmd)
}

#[test]
fn a_case_needing_more_threads_than_ulimit_u_allows_is_refused_before_measuring() {
    parbench_with_task_limit(64)
        .args(["run", "fib", "--n", "10", "--tasks", "2", "--threads", "100", "--runner", "rayon"])
        .args(["--rounds", "1", "--warmup", "0"])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(
            predicate::str::starts_with("parbench: error: fib ")
                .and(predicate::str::contains("with 100 workers would start 100 threads and processes at once"))
                .and(predicate::str::contains("ulimit -u (RLIMIT_NPROC) 64"))
                .and(one_line())
                .and(no_panic_or_backtrace()),
        );
}

#[test]
fn a_sweep_holds_one_case_pool_at_a_time() {
    // 1 + 2 + ... + 30 = 465 pool threads if every case kept its pool to the end;
    // one case at a time needs 30, well inside a limit of 100.
    parbench_with_task_limit(100)
        .args(["scale", "fib", "--n", "1", "--tasks", "1", "--runner", "rayon", "--threads", "1..30"])
        .args(["--rounds", "2", "--warmup", "1"])
        .assert()
        .success()
        .stderr(predicate::str::is_empty());
}

#[test]
fn threads_that_do_not_fit_under_ulimit_v_are_refused_before_measuring_naming_it() {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("parbench"));
    // 300 thread stacks of 2 MiB cannot fit in 400 MiB of address space. Started, a
    // thread whose stack fits but whose signal stack does not aborts the process
    // inside the standard library (3 runs in 8 did), so the case is refused first.
    // SAFETY: setrlimit is async-signal-safe and changes only the child.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit { rlim_cur: 400 << 20, rlim_max: 400 << 20 };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
        });
    }
    Command::from_std(cmd)
        .args(["run", "sleep", "--ms", "10", "--tasks", "300", "--threads", "300", "--runner", "threads"])
        .args(["--rounds", "1", "--warmup", "0"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            predicate::str::contains("with 300 workers would start 300 threads at once, but ulimit -v 400 MiB")
                .and(predicate::str::contains("ulimit -u").not())
                .and(one_line())
                .and(no_panic_or_backtrace()),
        );
}

// ---------------------------------------------------------------------------------
// Messages that name what they are about.

#[test]
fn missing_arguments_are_named() {
    assert_usage_error(&["compare"], &["<BASE>, <NEW>"]);
    assert_usage_error(&["compare", "a.json"], &["not provided: <NEW>"]);
    assert_usage_error(&["suite"], &["<FILE>"]);
    assert_usage_error(&["baseline", "update", "dir"], &["<NEW>"]);
}

#[test]
fn a_run_or_scale_without_a_workload_is_one_line_listing_the_workloads() {
    for command in ["run", "scale"] {
        assert_usage_error(&[command], &[&format!("'parbench {command}' needs one of: sleep, fib"), "command"]);
    }
}

#[test]
fn a_short_limit_is_shown_in_a_unit_that_fits() {
    assert_usage_error(&["run", "fib", "--limit", "1ms"], &["over --limit 1.0 ms"]);
}

#[test]
fn negative_fractions_reach_the_range_check() {
    assert_usage_error(&["compare", "a", "b", "--floor-absolute", "-0.5"], &["--floor-absolute", "-0.5", "between"]);
    assert_usage_error(&["compare", "a", "b", "--floor", "-0.5"], &["--floor ", "-0.5"]);
    assert_usage_error(&["baseline", "update", "d", "n", "--keep", "-1"], &["--keep", "-1"]);
    assert_usage_error(&["run", "fib", "--limit", "-1s"], &["--limit", "-1s"]);
    assert_usage_error(&["run", "fib", "--rounds", "-1"], &["--rounds", "-1"]);
}

#[test]
fn an_empty_worker_program_variable_matters_only_to_the_process_runner_and_is_named() {
    tiny_fib(&["--runner", "threads"]).env("PARBENCH_WORKER_PROGRAM", "").assert().success();
    let mut cmd = tiny_fib(&["--runner", "process"]);
    cmd.env("PARBENCH_WORKER_PROGRAM", "");
    cmd.assert().code(2).stderr(
        predicate::str::starts_with("parbench: error: PARBENCH_WORKER_PROGRAM is empty")
            .and(predicate::str::contains("--worker-program").not())
            .and(one_line()),
    );
}

#[test]
fn an_output_under_a_regular_file_says_that_file_is_not_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file.json");
    std::fs::write(&file, "{}").unwrap();
    let output = file.join("x.json");
    let shown = format!("{} is not a directory", file.display());
    assert_usage_error(&["run", "fib", "--output", output.to_str().unwrap()], &[&shown]);
}

#[test]
fn an_error_quoting_a_value_with_escape_sequences_shows_them_escaped() {
    // A path or a name from the command line went to the terminal raw: an escape
    // could clear the screen, a bidi override reorder the message.
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("a\u{1b}[2J").join("x.json");
    tiny_fib(&["--output"])
        .arg(&output)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("a\\u{1b}[2J"))
        .stderr(predicate::function(|s: &str| !s.contains('\u{1b}')))
        .stderr(one_line());
    parbench()
        .args(["run", "fi\u{202e}b"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("fi\\u{202e}b"))
        .stderr(predicate::function(|s: &str| !s.contains('\u{202e}')))
        .stderr(one_line());
}

#[test]
fn an_unknown_workload_is_called_a_workload_and_the_near_one_suggested() {
    assert_usage_error(&["run", "fibb"], &["unknown workload 'fibb'; did you mean 'fib'?", "workloads: sleep, fib"]);
    assert_usage_error(&["scale", "sleeep", "--threads", "1,2"], &["unknown workload 'sleeep'; did you mean 'sleep'?"]);
    parbench().args(["run", "fibb"]).assert().stderr(predicate::str::contains("subcommand").not());
}

#[test]
fn a_scale_flag_given_to_run_points_to_scale() {
    assert_usage_error(&["run", "fib", "--plot", "fib.svg"], &["--plot", "'parbench scale fib'"]);
    assert_usage_error(&["run", "fib", "--timeline", "t.svg"], &["--timeline", "'parbench scale fib'"]);
}

#[test]
fn compare_help_offers_only_the_formats_compare_writes() {
    let help = parbench().args(["compare", "--help"]).assert().success().get_output().stdout.clone();
    let help = String::from_utf8(help).unwrap();
    for written in ["table", "markdown", "json"] {
        assert!(help.contains(&format!("- {written}:")), "{help}");
    }
    for refused in ["csv", "bmf", "github-benchmark"] {
        assert!(!help.contains(refused), "{help}");
    }
    assert_usage_error(&["compare", "a.json", "b.json", "--format", "bmf"], &["'bmf'", "table, markdown, json"]);
}

/// The `Exit codes:` block of a help text, up to the next blank line.
fn exit_code_block(help: &str) -> Vec<&str> {
    help.lines().skip_while(|l| *l != "Exit codes:").skip(1).take_while(|l| !l.trim().is_empty()).collect()
}

#[test]
fn every_exit_code_block_reads_as_a_list_at_80_columns_and_wide() {
    let paths: &[&[&str]] = &[
        &[],
        &["run"],
        &["run", "fib"],
        &["scale"],
        &["scale", "fib"],
        &["suite"],
        &["compare"],
        &["baseline"],
        &["baseline", "update"],
        &["list"],
        &["completions"],
        &["man"],
    ];
    for columns in ["80", "200"] {
        for path in paths {
            let out = parbench().args(*path).arg("--help").env("COLUMNS", columns).assert().success();
            let help = String::from_utf8(out.get_output().stdout.clone()).unwrap();
            let block = exit_code_block(&help);
            assert!(!block.is_empty(), "{path:?} at {columns}: no exit codes in {help}");
            for line in &block {
                // Each line is a code with its meaning, or the meaning's continuation
                // under it: never a piece wrapped to the left margin.
                let code = line.len() > 7 && line[..7].trim().parse::<u8>().is_ok() && line.starts_with("  ");
                let continued = line.starts_with("       ") && !line[7..].starts_with(' ');
                assert!(code || continued, "{path:?} at {columns}: {line:?} in\n{}", block.join("\n"));
                assert!(line.chars().count() <= 80, "{path:?} at {columns}: {line:?}");
            }
            let codes: Vec<&str> =
                block.iter().filter_map(|l| l.split_whitespace().next()).filter(|w| w.parse::<u8>().is_ok()).collect();
            if path.is_empty() {
                assert_eq!(codes, ["0", "1", "2", "3", "130"], "{help}");
            }
            if path.first() == Some(&"compare") {
                assert_eq!(codes, ["0", "1", "2", "3"], "{help}");
            }
            if path.first().is_some_and(|p| ["run", "scale", "suite"].contains(p)) {
                assert_eq!(codes, ["0", "1", "2", "130"], "{path:?}: {help}");
            }
        }
    }
}

#[test]
fn compare_against_a_directory_not_made_yet_says_how_to_make_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("baselines");
    let new = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/compare/base.json");
    assert_usage_error(
        &["compare", missing.to_str().unwrap(), new],
        &["BASE ", "baselines", "parbench baseline update DIR NEW..."],
    );
}

#[test]
fn completions_are_printed_for_every_shell_from_the_same_commands() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = parbench().args(["completions", shell]).assert().success().stderr(predicate::str::is_empty());
        let script = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        for word in ["parbench", "compare", "baseline", "scale", "fib", "threads"] {
            assert!(script.contains(word), "{shell}: {word} missing");
        }
    }
    assert_usage_error(&["completions", "tcsh"], &["'tcsh'", "bash"]);
    // A closed pipe ends quietly, as every other output does.
    let out = run_with_stdout_closed(&["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn man_prints_a_roff_page_with_every_subcommand() {
    let out = parbench().arg("man").assert().success().stderr(predicate::str::is_empty());
    let page = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(page.starts_with(".TH parbench 1"), "{}", &page[..page.len().min(200)]);
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH SUBCOMMANDS", "Exit codes"] {
        assert!(page.contains(section), "{section} missing");
    }
    for sub in ["run", "scale", "suite", "compare", "baseline", "completions"] {
        assert!(page.contains(&format!("parbench\\-{sub}")) || page.contains(sub), "{sub}");
    }
}

#[test]
fn several_outputs_are_each_written_in_their_own_format() {
    let dir = tempfile::tempdir().unwrap();
    let at = |name: &str| dir.path().join(name).display().to_string();
    tiny_fib(&["--output", &at("a.json"), "--output", &at("a.md"), "--output", &format!("json:{}", at("out.txt"))])
        .assert()
        .success()
        .stdout(predicate::str::contains("verified"));
    for json in ["a.json", "out.txt"] {
        let report: Value = serde_json::from_slice(&std::fs::read(dir.path().join(json)).unwrap()).unwrap();
        assert_eq!(report["schema_version"], 2, "{json}");
    }
    let md = std::fs::read_to_string(dir.path().join("a.md")).unwrap();
    assert!(md.starts_with("# parbench") && md.contains("| serial"), "{md}");
    assert!(leftover_temp_files(dir.path()).is_empty());
}

#[test]
fn the_same_output_twice_is_refused_before_measuring() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.json").display().to_string();
    let again = dir.path().join(".").join("a.json").display().to_string();
    let md = format!("markdown:{a}");
    for (first, second) in [(&a, &a), (&a, &again), (&a, &md)] {
        let mut args = TINY_FIB.to_vec();
        args.extend(["--output", first, "--output", second]);
        assert_usage_error(&args, &["are the same file"]);
    }
    assert!(!dir.path().join("a.json").exists());
}

/// A tiny threads-only fib run with `extra` flags, its stdout piped, without the
/// colour and width variables of the environment the tests run in.
fn piped_run(extra: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = tiny_fib(&["--runner", "threads"]);
    cmd.args(extra).env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE").env_remove("COLUMNS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.assert().success().get_output().stdout.clone();
    String::from_utf8(out).unwrap()
}

#[test]
fn piped_output_has_no_colour_unless_asked_and_no_color_wins_over_clicolor_force() {
    assert!(!piped_run(&[], &[]).contains('\u{1b}'));
    assert!(piped_run(&["--color", "always"], &[]).contains("\u{1b}["));
    assert!(piped_run(&[], &[("CLICOLOR_FORCE", "1")]).contains("\u{1b}["));
    assert!(!piped_run(&[], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]).contains('\u{1b}'));
    assert!(!piped_run(&["--color", "never"], &[("CLICOLOR_FORCE", "1")]).contains('\u{1b}'));
    // A global flag: before the command too.
    let mut cmd = parbench();
    cmd.args(["--color", "always"]).args(TINY_FIB).args(["--runner", "threads"]);
    assert!(String::from_utf8(cmd.assert().success().get_output().stdout.clone()).unwrap().contains("\u{1b}["));
}

/// What `parbench ARGS` prints, stdout then stderr, without the colour variables of
/// the environment the tests run in, with `env` set.
fn printed(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = parbench();
    cmd.args(args).env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap()
}

#[test]
fn help_follows_the_color_flag() {
    assert!(!printed(&["ab", "--help"], &[]).contains('\u{1b}'), "piped: no colour");
    assert!(printed(&["--color", "always", "ab", "--help"], &[]).contains("\u{1b}["));
    assert!(printed(&["ab", "--help", "--color=always"], &[]).contains("\u{1b}["));
    assert!(printed(&["ab", "--help"], &[("CLICOLOR_FORCE", "1")]).contains("\u{1b}["));
    assert!(!printed(&["--color", "never", "ab", "--help"], &[("CLICOLOR_FORCE", "1")]).contains('\u{1b}'));
    // The help a missing subcommand prints, on stderr, too.
    assert!(!printed(&["--color", "never", "baseline"], &[("CLICOLOR_FORCE", "1")]).contains('\u{1b}'));
    // After `--` a flag is the measured command's, not this one's.
    assert!(!printed(&["ab", "a", "b", "--help", "--", "--color", "always"], &[]).contains('\u{1b}'));
}

#[test]
fn help_is_ascii_and_errors_follow_the_style() {
    for path in
        [&["ab"][..], &["run", "fib"], &["scale", "fib"], &["suite"], &["compare"], &["baseline", "update"], &[]]
    {
        let help = printed(&[path, &["--help"]].concat(), &[]);
        assert!(help.is_ascii(), "{path:?}: {:?}", help.chars().filter(|c| !c.is_ascii()).collect::<String>());
    }
    // A flag's error, and an error found after parsing (in a suite file).
    let flag = printed(&["--style", "ascii", "run", "fib", "--precision", "2"], &[]);
    assert!(flag.starts_with("parbench: error: ") && flag.is_ascii() && flag.contains("+/-3%"), "{flag}");
    assert!(printed(&["run", "fib", "--precision", "2"], &[]).contains("±3%"));
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("s.toml");
    std::fs::write(&suite, "name = \"s\"\nprecision = 2\n[[bench]]\nworkload = \"fib\"\n").unwrap();
    let file = printed(&["suite", suite.to_str().unwrap(), "--style", "ascii"], &[]);
    assert!(file.starts_with("parbench: error: ") && file.is_ascii() && file.contains("+/-3%"), "{file}");
}

#[test]
fn columns_fits_piped_output_and_without_it_the_table_is_whole() {
    for width in ["60", "80"] {
        let out = piped_run(&[], &[("COLUMNS", width)]);
        let w: usize = width.parse().unwrap();
        assert!(out.lines().all(|l| l.chars().count() <= w), "{width}:\n{out}");
        assert!(out.contains(" serial ") && out.contains(" threads ") && out.contains("speedup"), "{out}");
    }
    assert!(piped_run(&[], &[]).contains("min .. max"));
}

#[test]
fn quiet_prints_the_answer_and_ascii_style_no_unicode() {
    let quiet = piped_run(&["--quiet"], &[]);
    assert!(quiet.starts_with("threads reached") && !quiet.contains("parbench"), "{quiet}");
    assert_eq!(quiet.lines().filter(|l| !l.starts_with(' ')).count(), 1, "{quiet}");
    let ascii = piped_run(&["--style", "ascii"], &[]);
    for c in ['µ', '±', '─', '═', '·'] {
        assert!(!ascii.contains(c), "{c}: {ascii}");
    }
    assert!(ascii.contains("+/-"), "{ascii}");
    let verbose = piped_run(&["-v"], &[]);
    assert!(verbose.contains("no runner is named fastest"), "{verbose}");
    assert_usage_error(&["-q", "-v", "list"], &["--quiet", "--verbose"]);
}
