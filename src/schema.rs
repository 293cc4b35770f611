//! JSON Schemas of the files parbench writes, generated from the Rust types that write
//! them: a result (`run` and `scale`, [`crate::result::Report`]) and a comparison
//! (`compare --format json`). The checked-in copies under `schema/` are tested to equal
//! these, and real output is tested against them, so they cannot go stale.

/// The schema of a result file (`run` and `scale` JSON).
pub fn result() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(crate::result::Report)).expect("a schema is JSON")
}

/// The schema of `compare --format json`.
pub fn comparison() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(crate::compare::Comparison)).expect("a schema is JSON")
}

/// Makes one schema.
pub type Generator = fn() -> serde_json::Value;

/// Each checked-in schema file, by its path in the repository, with its generator.
pub const FILES: [(&str, Generator); 2] =
    [("schema/result.schema.json", result), ("schema/compare.schema.json", comparison)];
