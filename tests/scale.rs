//! `parbench scale` end to end on tiny sweeps: JSON with the sweep and fits, both SVGs,
//! the explanation when a fit is impossible, weak scaling, and bad inputs.

use assert_cmd::Command;
use predicates::prelude::*;

fn parbench() -> Command {
    Command::cargo_bin("parbench").unwrap()
}

const TINY: [&str; 4] = ["--rounds", "3", "--warmup", "0"];

#[test]
fn a_sweep_writes_json_with_the_sweep_and_both_pictures() {
    let dir = tempfile::tempdir().unwrap();
    let (json, plot, timeline) = (dir.path().join("s.json"), dir.path().join("s.svg"), dir.path().join("t.svg"));
    let done = parbench()
        .args(["scale", "fib", "--n", "18", "--tasks", "6", "--threads", "1,2,3"])
        .args(TINY)
        .arg("--output")
        .arg(&json)
        .arg("--plot")
        .arg(&plot)
        .arg("--timeline")
        .arg(&timeline)
        .assert()
        .success()
        .stdout(predicate::str::contains("speedup [95% CI]").and(predicate::str::contains("Karp-Flatt")));
    // Each picture says, in one line, which file it went to.
    let stderr = String::from_utf8_lossy(&done.get_output().stderr).into_owned();
    for line in [
        format!("parbench: wrote the speedup plot to {}", plot.display()),
        format!("parbench: wrote the task timeline to {}", timeline.display()),
    ] {
        assert_eq!(stderr.lines().filter(|l| *l == line).count(), 1, "{line:?} in {stderr:?}");
    }
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let family = &v["scale"]["families"][0];
    let points = family["points"].as_array().unwrap();
    let parallel = parbench::RunnerId::runnable().into_iter().filter(|r| !r.is_reference()).count();
    assert_eq!(points.len(), parallel * 3, "every parallel runner at 1, 2 and 3 workers");
    for p in points {
        let (s, e) = (&p["speedup"], &p["efficiency"]);
        let w = p["workers"].as_f64().unwrap();
        for key in ["estimate", "low", "high"] {
            let (s, e) = (s[key].as_f64().unwrap(), e[key].as_f64().unwrap());
            assert!((e * w - s).abs() < 1e-9, "efficiency is speedup / workers: {p}");
        }
        // Karp-Flatt is on the relative capacity S(p) / S(1), above 1 only, and for this
        // CPU-bound work not beyond the cores.
        let one = points.iter().find(|q| q["runner"] == p["runner"] && q["workers"] == 1).unwrap();
        let capacity = s["estimate"].as_f64().unwrap() / one["speedup"]["estimate"].as_f64().unwrap();
        let cores = std::thread::available_parallelism().unwrap().get() as f64;
        let expected = capacity > 1.0 && w > 1.0 && w <= cores;
        assert_eq!(!p["karp_flatt"].is_null(), expected, "Karp-Flatt only above 1x, within the cores: {p}");
        assert!(p["cpu_per_worker"].as_f64().is_some(), "{p}");
        assert!(p["overhead_ms"].as_f64().is_some(), "every cell has a calibrated overhead");
    }
    assert_eq!(v["scale"]["cores"].as_u64(), Some(std::thread::available_parallelism().unwrap().get() as u64));
    assert!(family["cpu_bound"].is_boolean());
    assert_eq!(family["runners"].as_array().unwrap().len(), parallel);
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("workers") && svg.contains("ideal") && svg.contains("threads"));
    let tl = std::fs::read_to_string(&timeline).unwrap();
    assert!(tl.contains("worker 0") && tl.contains("process"), "timeline labels");
    use std::os::unix::fs::PermissionsExt;
    assert_ne!(std::fs::metadata(&plot).unwrap().permissions().mode() & 0o777, 0o600);
}

#[test]
fn a_sweep_with_one_worker_count_explains_that_no_fit_is_possible() {
    parbench()
        .args(["scale", "fib", "--n", "15", "--tasks", "4", "--threads", "2", "--runner", "threads"])
        .args(TINY)
        .assert()
        .success()
        .stdout(predicate::str::contains("No fit for threads: too few points to fit: 1 worker count(s) above 1"));
}

#[test]
fn a_sweep_leads_with_one_answer_and_says_a_shared_cause_once() {
    // Three runners at one worker count: the old report printed the same "no fit"
    // paragraph three times and no answer for the workload.
    let done = parbench()
        .args(["scale", "command", "--cmd", "true", "--tasks", "4", "--threads", "2"])
        .args(TINY)
        .assert()
        .success();
    let out = String::from_utf8_lossy(&done.get_output().stdout).into_owned();
    assert_eq!(out.matches("too few points to fit").count(), 1, "{out}");
    assert!(out.contains("No fit for threads, rayon, process, ") && out.contains(": too few points"), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    let heading = lines.iter().position(|l| l.starts_with("command (")).expect("a heading");
    let answer = lines.iter().position(|l| l.starts_with("Use ") || l.starts_with("No parallel runner beat serial"));
    let table = lines.iter().position(|l| l.contains("speedup [95% CI]")).expect("a table");
    assert!(answer.is_some_and(|a| heading < a && a < table), "the answer between heading and table: {out}");
}

#[test]
fn weak_scaling_grows_the_work_with_the_workers() {
    let out = parbench()
        .args(["scale", "sleep", "--ms", "1", "--tasks", "2", "--threads", "1,2", "--runner", "threads", "--weak"])
        .args(TINY)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tasks: Vec<u64> = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["workload"] == "sleep")
        .map(|c| c["tasks"].as_u64().unwrap())
        .collect();
    assert_eq!(tasks, vec![2, 4]);
    assert_eq!(v["scale"]["weak"], true);
}

#[test]
fn csv_carries_the_sweep() {
    parbench()
        .args(["scale", "fib", "--n", "12", "--tasks", "2", "--threads", "1,2", "--runner", "rayon"])
        .args(TINY)
        .args(["--format", "csv"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("workload,runner,workers,rounds,speedup"))
        .stdout(predicate::function(|s: &str| s.lines().count() == 3));
}

#[test]
fn run_refuses_a_list_of_worker_counts() {
    parbench()
        .args(["run", "fib", "--threads", "1,2"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--threads 1,2").and(predicate::str::contains("parbench scale")));
}

#[test]
fn a_plot_in_a_missing_directory_is_refused_before_measuring() {
    parbench()
        .args(["scale", "fib", "--threads", "1,2", "--plot", "/nonexistent-dir/p.svg"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--plot /nonexistent-dir/p.svg"));
}

#[test]
fn the_retired_bootstrap_flag_is_refused_as_unknown() {
    // The intervals are order statistics of the paired ratios: no resampling to size.
    parbench()
        .args(["scale", "fib", "--threads", "1,2", "--bootstrap", "200"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--bootstrap").and(predicate::str::contains("panicked").not()));
}

#[test]
fn an_empty_range_is_refused() {
    parbench()
        .args(["scale", "fib", "--threads", "4..2"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--threads").and(predicate::str::contains("4..2")));
}

#[test]
fn scale_output_honours_columns_when_not_a_terminal() {
    let run = |columns: &str| {
        let done = parbench()
            .env("COLUMNS", columns)
            .args(["scale", "fib", "--n", "12", "--tasks", "4", "--threads", "1,2"])
            .args(TINY)
            .assert()
            .success();
        String::from_utf8_lossy(&done.get_output().stdout).into_owned()
    };
    for width in [60usize, 80] {
        let out = run(&width.to_string());
        let widest = out.lines().map(|l| l.chars().count()).max().unwrap();
        assert!(widest <= width, "{width} columns, a line of {widest}:\n{out}");
        assert!(out.contains("speedup [95% CI]") && out.contains("process"), "{out}");
    }
}
