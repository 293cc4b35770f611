//! `parbench compare` on committed result files: synthetic golden files (written by
//! `PARBENCH_WRITE_GOLDEN=1 cargo test --lib write_golden_files`) and two real 5-round
//! runs of `parbench run fib` on unchanged code (`fib-5-rounds-*.json`, copied from
//! `results/2026-11-22-linux-vm/fib-repeat/`): each verdict and exit code of the design.

use std::io::Write as _;

use assert_cmd::Command;
use predicates::prelude::*;

fn compare(base: &str, new: &str) -> assert_cmd::assert::Assert {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/compare/");
    Command::cargo_bin("parbench")
        .unwrap()
        .arg("compare")
        .arg(format!("{dir}{base}"))
        .arg(format!("{dir}{new}"))
        .assert()
}

#[test]
fn a_against_a_is_unchanged_and_exits_0() {
    compare("base.json", "same.json").code(0).stdout(predicate::str::starts_with("no regression"));
}

#[test]
fn thirty_percent_slower_threads_is_a_regression_and_exits_1() {
    compare("base.json", "slower.json")
        .code(1)
        .stdout(predicate::str::starts_with("REGRESSION"))
        .stdout(predicate::str::contains("threads · wall +29.8%"));
}

#[test]
fn high_spread_data_within_its_interval_is_labelled_unstable_and_exits_0() {
    compare("noisy-base.json", "noisy-new.json").code(0).stdout(predicate::str::contains("(unstable: CV"));
}

#[test]
fn a_different_core_count_is_not_comparable_and_exits_3_with_both_fingerprints() {
    compare("base.json", "four-cores.json")
        .code(3)
        .stdout(predicate::str::contains("different core counts"))
        .stdout(predicate::str::contains("base: testhost").and(predicate::str::contains("new:  testhost")));
}

#[test]
fn allow_incomparable_compares_anyway() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/compare/");
    Command::cargo_bin("parbench")
        .unwrap()
        .args(["compare", "--allow-incomparable"])
        .arg(format!("{dir}base.json"))
        .arg(format!("{dir}four-cores.json"))
        .assert()
        .code(0);
}

#[test]
fn a_truncated_file_exits_2_naming_the_path_and_position() {
    compare("base.json", "truncated.json")
        .code(2)
        .stderr(predicate::str::contains("truncated.json: not a parbench result: line "))
        .stderr(predicate::function(|s: &str| s.lines().count() == 1));
}

#[test]
fn a_future_schema_version_exits_2() {
    compare("future.json", "base.json").code(2).stderr(predicate::str::contains("schema_version 3 is newer"));
}

#[test]
fn a_missing_file_exits_2() {
    compare("base.json", "nope.json").code(2).stderr(predicate::str::contains("nope.json"));
}

#[test]
fn a_baseline_directory_is_pooled() {
    let dir = tempfile::tempdir().unwrap();
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/compare/");
    std::fs::copy(format!("{data}base.json"), dir.path().join("a.json")).unwrap();
    std::fs::copy(format!("{data}same.json"), dir.path().join("b.json")).unwrap();
    Command::cargo_bin("parbench")
        .unwrap()
        .arg("compare")
        .arg(dir.path())
        .arg(format!("{data}slower.json"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("a.json, ").and(predicate::str::contains("b.json")));
}

#[test]
fn markdown_starts_with_the_verdict_and_json_is_versioned() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/compare/");
    let md = Command::cargo_bin("parbench")
        .unwrap()
        .args(["compare", "--format", "markdown"])
        .arg(format!("{data}base.json"))
        .arg(format!("{data}slower.json"))
        .output()
        .unwrap();
    let text = String::from_utf8(md.stdout).unwrap();
    assert!(text.starts_with("**parbench compare** ❌ REGRESSION"), "{text}");
    let json = Command::cargo_bin("parbench")
        .unwrap()
        .args(["compare", "--format", "json"])
        .arg(format!("{data}base.json"))
        .arg(format!("{data}same.json"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["schema_version"], 4);
}

#[test]
fn csv_is_refused_for_compare() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/compare/");
    Command::cargo_bin("parbench")
        .unwrap()
        .args(["compare", "--format", "csv"])
        .arg(format!("{data}base.json"))
        .arg(format!("{data}same.json"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--format"));
}

#[test]
fn baseline_update_keeps_the_newest_k() {
    let dir = tempfile::tempdir().unwrap();
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/compare/");
    Command::cargo_bin("parbench")
        .unwrap()
        .args(["baseline", "update", "--keep", "2"])
        .arg(dir.path())
        .arg(format!("{data}base.json"))
        .arg(format!("{data}same.json"))
        .arg(format!("{data}slower.json"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("removed"));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/compare/");

/// A copy of the committed result `name`, changed by `edit`, in `dir`.
fn edited(dir: &std::path::Path, name: &str, edit: impl Fn(&mut serde_json::Value)) -> std::path::PathBuf {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{DATA}{name}")).unwrap()).unwrap();
    edit(&mut v);
    let path = dir.join(format!("edited-{name}"));
    std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    path
}

/// Multiplies every wall time of `runner` by `factor`.
fn slower(runner: &'static str, factor: f64) -> impl Fn(&mut serde_json::Value) {
    move |v| {
        for case in v["cases"].as_array_mut().unwrap() {
            for s in case["samples"].as_array_mut().unwrap() {
                if s["runner"] == runner {
                    s["wall_ns"] = serde_json::json!((s["wall_ns"].as_u64().unwrap() as f64 * factor) as u64);
                }
            }
        }
    }
}

fn compare_paths(base: &std::path::Path, new: &std::path::Path) -> assert_cmd::assert::Assert {
    Command::cargo_bin("parbench").unwrap().arg("compare").arg(base).arg(new).assert()
}

fn one_line(s: &str) -> bool {
    s.lines().count() == 1
}

#[test]
fn doubled_threads_wall_times_at_five_rounds_are_a_regression_and_exit_1() {
    // The reported bug, on a real 5-round run: this said "no regression", exit 0.
    let dir = tempfile::tempdir().unwrap();
    let slow = edited(dir.path(), "fib-5-rounds-1.json", slower("threads", 2.0));
    compare_paths(format!("{DATA}fib-5-rounds-1.json").as_ref(), &slow)
        .code(1)
        .stdout(predicate::str::starts_with("REGRESSION"))
        .stdout(predicate::str::contains("threads · wall +100.0%"));
    // The same slowdown in a second run of the same code.
    let slow = edited(dir.path(), "fib-5-rounds-2.json", slower("threads", 2.0));
    compare_paths(format!("{DATA}fib-5-rounds-1.json").as_ref(), &slow).code(1);
}

#[test]
fn two_runs_of_unchanged_code_at_five_rounds_exit_0() {
    compare("fib-5-rounds-1.json", "fib-5-rounds-2.json").code(0).stdout(predicate::str::starts_with("no regression"));
    compare("fib-5-rounds-2.json", "fib-5-rounds-1.json").code(0).stdout(predicate::str::starts_with("no regression"));
}

#[test]
fn the_columns_name_the_ratio_its_interval_and_the_adjusted_p() {
    compare("base.json", "same.json")
        .stdout(predicate::str::contains("change NEW/BASE [99% CI]"))
        .stdout(predicate::str::contains("p (Holm-adjusted)"));
}

#[test]
fn unusable_new_files_exit_2_with_one_line_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let edits: [(&str, Edit); 5] = [
        ("has no cases", Box::new(|v| v["cases"] = serde_json::json!([]))),
        ("has no samples", Box::new(|v| v["cases"][0]["samples"] = serde_json::json!([]))),
        (
            "only serial samples",
            Box::new(|v| v["cases"][0]["samples"].as_array_mut().unwrap().retain(|s| s["runner"] == "serial")),
        ),
        ("workers: 0", Box::new(|v| v["cases"][0]["workers"] = serde_json::json!(0))),
        (
            "case 'fib (n=34, tasks=8)', runner serial, round 0: wall time 0 is a corrupt sample",
            Box::new(|v| {
                for s in v["cases"][0]["samples"].as_array_mut().unwrap() {
                    s["wall_ns"] = serde_json::json!(0);
                }
            }),
        ),
    ];
    for (what, edit) in edits {
        let bad = edited(dir.path(), "same.json", edit);
        let shown = bad.display().to_string();
        compare_paths(format!("{DATA}base.json").as_ref(), &bad)
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(format!("{shown}: ")).and(predicate::str::contains(what)))
            .stderr(predicate::function(one_line));
    }
}

#[test]
fn a_thousand_times_slower_new_against_one_five_round_baseline_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let slow = edited(dir.path(), "fib-5-rounds-2.json", |v| {
        for runner in ["serial", "threads", "rayon", "process"] {
            slower(runner, 1000.0)(v);
        }
    });
    compare_paths(format!("{DATA}fib-5-rounds-1.json").as_ref(), &slow)
        .code(1)
        .stdout(predicate::str::starts_with("REGRESSION"));
}

#[test]
fn when_no_gated_cell_can_be_judged_it_exits_2_after_the_table() {
    // Three rounds in NEW: every cell is INCONCLUSIVE.
    let dir = tempfile::tempdir().unwrap();
    let short = edited(dir.path(), "same.json", |v| {
        v["cases"][0]["samples"].as_array_mut().unwrap().retain(|s| s["round"].as_u64().unwrap() < 3)
    });
    compare_paths(format!("{DATA}base.json").as_ref(), &short)
        .code(2)
        .stdout(predicate::str::starts_with("NOT JUDGED"))
        .stderr(predicate::str::contains("could be decided").and(predicate::str::contains("--rounds 5")))
        .stderr(predicate::function(one_line));
}

#[test]
fn a_new_file_inside_the_baseline_directory_is_left_out_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["base.json", "same.json", "slower.json"] {
        std::fs::copy(format!("{DATA}{name}"), dir.path().join(name)).unwrap();
    }
    compare_paths(dir.path(), &dir.path().join("slower.json"))
        .code(1)
        .stdout(predicate::str::contains("slower.json: this is NEW itself"))
        .stdout(predicate::str::contains("base: ").and(predicate::str::contains("same.json · new")));
}

#[test]
fn a_round_number_near_two_to_the_32_sizes_nothing() {
    // One sample's round 4294967295 once sized a vector of 2^32 values (34 GB, abort).
    let dir = tempfile::tempdir().unwrap();
    let far = edited(dir.path(), "same.json", |v| v["cases"][0]["samples"][0]["round"] = serde_json::json!(u32::MAX));
    compare_paths(format!("{DATA}base.json").as_ref(), &far).code(0).stderr("");
    let far = edited(dir.path(), "base.json", |v| {
        for s in v["cases"][0]["samples"].as_array_mut().unwrap() {
            s["round"] = serde_json::json!(200_000_000 + s["round"].as_u64().unwrap());
        }
    });
    compare_paths(&far, format!("{DATA}same.json").as_ref()).code(0).stderr("");
}

#[test]
fn twelve_concurrent_baseline_updates_are_safe_and_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    // Three results of one class, a second apart: each update removes the others.
    let mut news = Vec::new();
    for (i, factor) in [1.0, 1.01, 1.02].into_iter().enumerate() {
        let path = edited(src.path(), "same.json", |v| {
            slower("threads", factor)(v);
            v["created_unix_s"] = serde_json::json!(1_700_000_100 + i as u64);
        });
        let named = src.path().join(format!("r{i}.json"));
        std::fs::rename(path, &named).unwrap();
        news.push(named);
    }
    let children: Vec<std::process::Child> = (0..12)
        .map(|i| {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("parbench"))
                .args(["baseline", "update", "--keep", "1"])
                .arg(dir.path())
                .arg(&news[i % 3])
                .arg(&news[(i + 1) % 3])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && stderr.is_empty(), "{:?}: {stderr}", out.status);
    }
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(left.len(), 1, "the newest one of the class: {left:?}");
    assert!(left[0].to_string_lossy().starts_with("1700000102-"), "{left:?}");
}

/// The exit status of `parbench args` run with at most `bytes` of data memory
/// (RLIMIT_DATA: the heap and private writable mappings, whoever the user): past it,
/// an allocation fails and parbench aborts.
fn status_within(bytes: u64, args: &[&std::ffi::OsStr]) -> std::process::ExitStatus {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("parbench"));
    cmd.args(args).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    // SAFETY: setrlimit is async-signal-safe and changes only the child.
    unsafe {
        cmd.pre_exec(move || {
            let limit = libc::rlimit { rlim_cur: bytes, rlim_max: bytes };
            if libc::setrlimit(libc::RLIMIT_DATA, &limit) == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
        });
    }
    cmd.status().unwrap()
}

#[test]
fn a_large_result_is_compared_within_twice_its_size_and_added_to_a_baseline_within_64_mib() {
    // About 20 MB: 60,000 samples, written a sample at a time: this test process must
    // stay small, as a child's peak memory counts the parent's from before its exec.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.json");
    {
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(format!("{DATA}same.json")).unwrap()).unwrap();
        let samples: Vec<serde_json::Value> =
            v["cases"][0]["samples"].as_array().unwrap().iter().filter(|s| s["round"] == 0).cloned().collect();
        v["cases"][0]["samples"] = serde_json::json!("SAMPLES");
        let text = serde_json::to_string(&v).unwrap();
        let (head, tail) = text.split_once("\"SAMPLES\"").unwrap();
        let mut out = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        write!(out, "{head}[").unwrap();
        for round in 0..60_000 / samples.len() {
            for (i, s) in samples.iter().enumerate() {
                let mut s = s.clone();
                s["round"] = serde_json::json!(round);
                let sep = if round == 0 && i == 0 { "" } else { "," };
                write!(out, "{sep}\n      {}", serde_json::to_string_pretty(&s).unwrap()).unwrap();
            }
        }
        write!(out, "]{tail}").unwrap();
    }
    let size = std::fs::metadata(&big).unwrap().len();
    assert!(size > 15 << 20, "{size} bytes");
    let base = std::path::PathBuf::from(format!("{DATA}same.json"));
    let status = status_within(2 * size, &["compare".as_ref(), base.as_os_str(), big.as_os_str()]);
    assert!(matches!(status.code(), Some(0 | 1)), "compare within twice the file's size: {status:?}");
    let baselines = dir.path().join("baselines");
    let status =
        status_within(64 << 20, &["baseline".as_ref(), "update".as_ref(), baselines.as_os_str(), big.as_os_str()]);
    assert!(status.success(), "baseline update within 64 MiB: {status:?}");
}

/// Keeps only the samples of `v`'s first case for which `keep` holds.
fn retain(keep: impl Fn(&serde_json::Value) -> bool) -> impl Fn(&mut serde_json::Value) {
    move |v| {
        let case = &mut v["cases"][0];
        case["samples"].as_array_mut().unwrap().retain(&keep);
        case["rows"].as_array_mut().unwrap().retain(|r| {
            let runner = r["runner"].clone();
            keep(&serde_json::json!({ "runner": runner, "wall_ns": 1, "round": 0 }))
        });
    }
}

#[test]
fn a_new_lacking_a_runner_or_a_case_of_base_names_each_missing_cell_and_exits_2() {
    // The reported bug: NEW without threads passed with "no regression", exit 0.
    let dir = tempfile::tempdir().unwrap();
    let base = std::path::PathBuf::from(format!("{DATA}base.json"));
    let no_threads = edited(dir.path(), "same.json", retain(|s| s["runner"] != "threads"));
    compare_paths(&base, &no_threads)
        .code(2)
        .stdout(predicate::str::starts_with(
            "MISSING in NEW: 1 cell(s) the baseline has (fib (n=34, tasks=8) ·2w · threads)",
        ))
        .stdout(predicate::str::contains("MISSING in NEW\n").or(predicate::str::contains("MISSING in NEW ")))
        .stderr(predicate::str::contains("lacks 1 cell(s) the baseline has (fib (n=34, tasks=8) ·2w · threads)"))
        .stderr(predicate::str::contains("--allow-missing"))
        .stderr(predicate::function(one_line));
    Command::cargo_bin("parbench")
        .unwrap()
        .args(["compare", "--allow-missing"])
        .arg(&base)
        .arg(&no_threads)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("1 cell(s) missing in NEW, allowed (fib (n=34, tasks=8) ·2w · threads)"));
    // A whole case: BASE measured a second one.
    let two_cases = edited(dir.path(), "base.json", |v| {
        let mut second = v["cases"][0].clone();
        second["label"] = serde_json::json!("fib (n=35, tasks=8)");
        v["cases"].as_array_mut().unwrap().push(second);
    });
    compare_paths(&two_cases, std::path::Path::new(&format!("{DATA}same.json")))
        .code(2)
        .stdout(predicate::str::contains("fib (n=35, tasks=8) ·2w (the whole case)"))
        .stderr(predicate::str::contains("fib (n=35, tasks=8) ·2w (the whole case)"));
}

#[test]
fn a_runner_new_has_and_the_baseline_lacks_is_named_as_not_judged() {
    // It was left out of the table and the context without a word.
    let dir = tempfile::tempdir().unwrap();
    let base = edited(dir.path(), "base.json", retain(|s| s["runner"] != "threads"));
    compare_paths(&base, std::path::Path::new(&format!("{DATA}same.json"))).code(0).stdout(predicate::str::contains(
        "in NEW only, not judged (no baseline run has them): fib (n=34, tasks=8) ·2w · threads",
    ));
}

#[test]
fn a_runner_whose_samples_all_have_wall_time_0_is_a_corrupt_input_naming_file_case_and_runner() {
    // It was dropped silently; a serial row of zeros showed speedups as +0.0%.
    let dir = tempfile::tempdir().unwrap();
    for runner in ["threads", "serial"] {
        let bad = edited(dir.path(), "same.json", move |v| {
            for s in v["cases"][0]["samples"].as_array_mut().unwrap() {
                if s["runner"] == runner {
                    s["wall_ns"] = serde_json::json!(0);
                }
            }
        });
        compare_paths(format!("{DATA}base.json").as_ref(), &bad)
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(format!(
                "{}: case 'fib (n=34, tasks=8)', runner {runner}, round 0: wall time 0 is a corrupt sample",
                bad.display()
            )))
            .stderr(predicate::function(one_line));
    }
}

#[test]
fn two_cases_alike_in_one_file_are_refused_not_matched_to_one_case() {
    // The reported bug: a second, 5x slower copy of a case passed against BASE's first.
    let dir = tempfile::tempdir().unwrap();
    let twice = edited(dir.path(), "same.json", |v| {
        let mut second = v["cases"][0].clone();
        for s in second["samples"].as_array_mut().unwrap() {
            s["wall_ns"] = serde_json::json!(s["wall_ns"].as_u64().unwrap() * 5);
        }
        v["cases"].as_array_mut().unwrap().push(second);
    });
    compare_paths(format!("{DATA}base.json").as_ref(), &twice)
        .code(2)
        .stderr(predicate::str::contains("cases #1 and #2 are both 'fib (n=34, tasks=8)' with 2 workers"))
        .stderr(predicate::function(one_line));
    // Two samples of one runner in one round: the second would replace the first.
    let again = edited(dir.path(), "same.json", |v| {
        let extra = v["cases"][0]["samples"][1].clone();
        v["cases"][0]["samples"].as_array_mut().unwrap().push(extra);
    });
    compare_paths(format!("{DATA}base.json").as_ref(), &again)
        .code(2)
        .stderr(predicate::str::contains("two samples in round 0"));
}

#[test]
fn results_of_a_different_schedule_or_pinning_are_not_comparable_and_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let base = std::path::PathBuf::from(format!("{DATA}base.json"));
    let static_ = edited(dir.path(), "same.json", |v| v["settings"]["schedule"] = serde_json::json!("static"));
    compare_paths(&base, &static_)
        .code(3)
        .stdout(predicate::str::contains("different schedules (base dynamic, new static)"));
    let pinned = edited(dir.path(), "slower.json", |v| v["settings"]["pin"] = serde_json::json!(true));
    compare_paths(&base, &pinned)
        .code(3)
        .stdout(predicate::str::contains("different pinning (base not pinned, new pinned)"));
}

#[test]
fn strings_from_result_files_reach_the_terminal_escaped_and_markdown_cells_escape_bars() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = |v: &mut serde_json::Value| {
        v["environment"]["hostname"] = serde_json::json!("h\u{1b}]0;owned\u{7}");
        v["environment"]["cpu_model"] = serde_json::json!("cpu\u{1b}[2J");
        v["cases"][0]["label"] = serde_json::json!("fib | x\u{1b}[31m\nno regression");
    };
    let base = edited(dir.path(), "base.json", hostile);
    let new = edited(dir.path(), "slower.json", hostile);
    let out = compare_paths(&base, &new).code(1).get_output().stdout.clone();
    let out = String::from_utf8(out).unwrap();
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out}");
    assert!(out.contains("fib | x\\u{1b}[31m\\nno regression · 2 workers"), "{out}");
    assert!(!out.lines().any(|l| l.starts_with("no regression")), "{out}");
    let md = Command::cargo_bin("parbench")
        .unwrap()
        .args(["compare", "--format", "markdown"])
        .arg(&base)
        .arg(&new)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let md = String::from_utf8(md).unwrap();
    assert!(md.contains("| fib \\| x\\u{1b}[31m\\nno regression ·2w |"), "{md}");
    // Not comparable: both fingerprints are printed, escaped.
    let four = edited(dir.path(), "four-cores.json", hostile);
    let out = compare_paths(&base, &four).code(3).get_output().stdout.clone();
    let out = String::from_utf8(out).unwrap();
    assert!(!out.contains('\u{1b}') && out.contains("h\\u{1b}]0;owned\\u{7} · cpu\\u{1b}[2J"), "{out}");
    // The result's own table shows the label and machine escaped too.
    let shown =
        Command::cargo_bin("parbench").unwrap().args(["compare", "--format", "json"]).arg(&base).arg(&new).assert();
    let json: serde_json::Value = serde_json::from_slice(&shown.get_output().stdout).unwrap();
    assert_eq!(json["cells"][0]["case"], "fib | x\u{1b}[31m\nno regression", "JSON keeps the value, escaped by JSON");
}

/// Makes a FIFO at `path` (never a real device node: tests make their own).
fn mkfifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

#[test]
fn a_file_under_several_names_counts_once_and_a_fifo_in_the_directory_is_skipped_with_a_note() {
    // The reported bug: a.json and two symlinks to it counted as three runs and turned
    // a clean comparison into REGRESSION; a FIFO blocked compare and baseline update.
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    std::fs::create_dir(&base).unwrap();
    std::fs::copy(format!("{DATA}base.json"), base.join("a.json")).unwrap();
    std::os::unix::fs::symlink(base.join("a.json"), base.join("b.json")).unwrap();
    std::os::unix::fs::symlink("a.json", base.join("c.json")).unwrap();
    std::fs::hard_link(base.join("a.json"), base.join("d.json")).unwrap();
    std::fs::copy(format!("{DATA}base.json"), base.join("e.json")).unwrap();
    mkfifo(&base.join("f.json"));
    std::os::unix::fs::symlink("nowhere.json", base.join("g.json")).unwrap();
    let run = |args: &[&std::ffi::OsStr]| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_parbench"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                child.kill().unwrap();
                panic!("parbench {args:?} blocked");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        child.wait_with_output().unwrap()
    };
    let new = format!("{DATA}same.json");
    let out = run(&["compare".as_ref(), base.as_os_str(), new.as_ref()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(&format!("base: {} · new", base.join("a.json").display())), "{stdout}");
    for (name, why) in [
        ("b.json", "the same file as"),
        ("c.json", "the same file as"),
        ("d.json", "the same file as"),
        ("e.json", "the same contents as"),
        ("f.json", "not a regular file"),
        ("g.json", "gone, or a link to nothing"),
    ] {
        assert!(stdout.contains(&format!("{}: {why}", base.join(name).display())), "{name}: {stdout}");
    }
    let more = format!("{DATA}slower.json");
    let out = run(&["baseline".as_ref(), "update".as_ref(), base.as_os_str(), more.as_ref()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("added") && stdout.contains("f.json: not a regular file"), "{stdout}");
    // Said once: the line begins "skipped", the reason does not say it again.
    assert!(stdout.contains("skipped ") && !stdout.contains("file, skipped"), "{stdout}");
}

#[test]
fn compare_output_honours_columns_when_not_a_terminal_and_keeps_the_full_table_without() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/compare/");
    let widest = |columns: Option<&str>| {
        let mut cmd = Command::cargo_bin("parbench").unwrap();
        cmd.arg("compare").arg(format!("{dir}base.json")).arg(format!("{dir}slower.json"));
        match columns {
            Some(c) => cmd.env("COLUMNS", c),
            None => cmd.env_remove("COLUMNS"),
        };
        let out = cmd.assert().code(1).get_output().stdout.clone();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("REGRESSION") && text.contains("threads"), "{text}");
        text.lines().map(|l| l.chars().count()).max().unwrap()
    };
    assert!(widest(Some("80")) <= 80);
    assert!(widest(Some("60")) <= 60);
    assert!(widest(None) > 120, "the full table in a file or pipe");
}
