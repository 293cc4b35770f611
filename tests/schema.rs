//! The JSON Schemas under `schema/`: each equals the one generated from the Rust types
//! (`PARBENCH_UPDATE_SCHEMA=1 cargo test --test schema` rewrites them), and real output
//! of `run`, `scale` and `compare` is valid against them.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn parbench() -> Command {
    Command::cargo_bin("parbench").unwrap()
}

fn checked_in(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap() + "\n"
}

#[test]
fn the_checked_in_schemas_are_the_generated_ones() {
    let update = std::env::var_os("PARBENCH_UPDATE_SCHEMA").is_some();
    for (path, generate) in parbench::schema::FILES {
        let text = pretty(&generate());
        let file = checked_in(path);
        if update {
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, &text).unwrap();
        }
        let stored = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(
            stored == text,
            "{path} is not the schema the types generate; run PARBENCH_UPDATE_SCHEMA=1 cargo test --test schema \
             and commit it"
        );
    }
}

/// The checked-in schema at `path`, compiled.
fn validator(path: &str) -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(checked_in(path)).unwrap()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn assert_valid(validator: &jsonschema::Validator, what: &str, value: &serde_json::Value) {
    let errors: Vec<String> = validator.iter_errors(value).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{what} does not follow its schema: {errors:#?}");
}

fn read(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

const TINY: [&str; 6] = ["--rounds", "2", "--warmup", "0", "--threads", "2"];

#[test]
fn real_run_scale_and_compare_output_follows_the_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let result = validator("schema/result.schema.json");
    let (base, new, scaled) = (dir.path().join("base.json"), dir.path().join("new.json"), dir.path().join("s.json"));
    for file in [&base, &new] {
        parbench()
            .args(["run", "fib", "--n", "12", "--tasks", "3"])
            .args(TINY)
            .arg("--output")
            .arg(file)
            .assert()
            .success();
    }
    // The race and the declared shares and durations fill the optional fields.
    let counter = dir.path().join("counter.json");
    parbench()
        .args(["run", "counter", "--increments", "1000", "--sync", "none,atomic"])
        .args(TINY)
        .arg("--output")
        .arg(&counter)
        .assert()
        .success();
    let mixed = dir.path().join("mixed.json");
    parbench()
        .args(["run", "mixed", "--cpu-us", "50", "--io-ms", "1", "--steps", "1", "--tasks", "2"])
        .args(TINY)
        .arg("--output")
        .arg(&mixed)
        .assert()
        .success();
    for file in [&base, &counter, &mixed] {
        let value = read(file);
        assert!(!value["cases"][0]["samples"].as_array().unwrap().is_empty());
        assert_valid(&result, &file.display().to_string(), &value);
    }
    parbench()
        .args(["scale", "fib", "--n", "12", "--tasks", "3", "--threads", "1,2,3", "--rounds", "3", "--warmup", "0"])
        .arg("--output")
        .arg(&scaled)
        .assert()
        .success();
    let value = read(&scaled);
    assert!(value["scale"]["families"][0]["answer"].is_string(), "{value}");
    assert_valid(&result, "the scale result", &value);
    let compared =
        parbench().args(["compare", "--format", "json", "--allow-incomparable"]).arg(&base).arg(&new).output().unwrap();
    let value: serde_json::Value = serde_json::from_slice(&compared.stdout).unwrap();
    assert!(!value["cells"].as_array().unwrap().is_empty(), "{value}");
    assert_valid(&validator("schema/compare.schema.json"), "the comparison", &value);
    // And the schemas are not vacuous: a result without its cases is refused.
    let mut broken = read(&base);
    broken.as_object_mut().unwrap().remove("cases");
    assert!(!result.is_valid(&broken));
    broken = read(&base);
    broken["cases"][0]["rows"][0]["workers"] = serde_json::json!("two");
    assert!(!result.is_valid(&broken));
}
