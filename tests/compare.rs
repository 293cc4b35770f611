//! `parbench compare` on committed golden result files (written by
//! `PARBENCH_WRITE_GOLDEN=1 cargo test --lib write_golden_files`): each verdict and
//! exit code of the design.

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
fn high_spread_data_is_unstable_and_exits_0() {
    compare("noisy-base.json", "noisy-new.json").code(0).stdout(predicate::str::contains("UNSTABLE"));
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
    assert_eq!(v["schema_version"], 1);
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
