//! What a build will measure, as it tells `parbench ab` in its hello, and the first
//! difference between two builds' plans (exit 3: they would measure different things).

use serde::{Deserialize, Serialize};

use crate::measure::Skipped;
use crate::plan::Plan;
use crate::result::{SettingsRecord, SuiteRecord};
use crate::runner::RunnerId;

/// The parts of a plan both builds must share.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanSummary {
    /// The suite it came from, if any (name, file, digest of the configuration).
    pub suite: Option<SuiteRecord>,
    /// The settings, as a result records them.
    pub settings: SettingsRecord,
    /// Every case, in plan order.
    pub cases: Vec<CaseSummary>,
}

/// One case of a plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseSummary {
    /// `name (parameters)`.
    pub label: String,
    /// The workload's name.
    pub workload: String,
    /// Its parameter values.
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Workers of the parallel runners.
    pub workers: usize,
    /// Tasks per sample (from the built workload).
    pub tasks: usize,
    /// Each task's duration by design, if declared (a sleep).
    #[serde(default)]
    pub task_ms: Option<f64>,
    /// A race by design: shown, never gated.
    #[serde(default)]
    pub race: bool,
    /// The runners it measures.
    pub runners: Vec<RunnerId>,
    /// Runners left out, and why.
    #[serde(default)]
    pub skipped: Vec<Skipped>,
    /// Least warm-up samples per runner.
    pub warmup: u32,
    /// The seed.
    pub seed: u64,
}

/// The summary of `plan`, whose cases have `tasks` tasks each.
pub fn summary(plan: &Plan, tasks: &[usize]) -> PlanSummary {
    let cases = plan
        .cases
        .iter()
        .zip(tasks)
        .map(|(c, &tasks)| CaseSummary {
            label: c.label.clone(),
            workload: c.spec.name().to_string(),
            params: c.params.to_json(),
            workers: c.settings.workers,
            tasks,
            task_ms: c.properties.task_ms,
            race: c.properties.race,
            runners: c.settings.runners.clone(),
            skipped: c.skipped.clone(),
            warmup: c.settings.warmup,
            seed: c.settings.seed,
        })
        .collect();
    PlanSummary { suite: plan.suite.clone(), settings: plan.record.clone(), cases }
}

/// The first difference between two plans as JSON, `path: base X, new Y`; `None` when
/// they agree. A key that only one side has is no difference: it is a field the other
/// build's version does not know, not a different measurement.
pub fn difference(base: &serde_json::Value, new: &serde_json::Value) -> Option<String> {
    difference_at("plan", base, new)
}

fn difference_at(path: &str, base: &serde_json::Value, new: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match (base, new) {
        (Value::Object(b), Value::Object(n)) => b
            .iter()
            .filter_map(|(k, bv)| n.get(k).map(|nv| (k, bv, nv)))
            .find_map(|(k, bv, nv)| difference_at(&format!("{path}.{k}"), bv, nv)),
        (Value::Array(b), Value::Array(n)) if b.len() != n.len() => {
            Some(format!("{path}: base has {} entries, new {}", b.len(), n.len()))
        }
        (Value::Array(b), Value::Array(n)) => {
            b.iter().zip(n).enumerate().find_map(|(i, (bv, nv))| difference_at(&format!("{path}[{i}]"), bv, nv))
        }
        // Numbers of either representation (1 and 1.0) are the same value.
        (Value::Number(b), Value::Number(n)) if b.as_f64() == n.as_f64() => None,
        _ if base == new => None,
        _ => Some(format!("{path}: base {base}, new {new}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_first_difference_is_named_with_its_path() {
        let base = json!({"cases": [{"label": "fib (n=30)", "workers": 2}], "settings": {"seed": 1}});
        assert_eq!(difference(&base, &base.clone()), None);
        let other = json!({"cases": [{"label": "fib (n=31)", "workers": 2}], "settings": {"seed": 1}});
        assert_eq!(
            difference(&base, &other).as_deref(),
            Some(r#"plan.cases[0].label: base "fib (n=30)", new "fib (n=31)""#)
        );
        let more = json!({"cases": [{"label": "fib (n=30)", "workers": 2}, {}], "settings": {"seed": 1}});
        assert_eq!(difference(&base, &more).as_deref(), Some("plan.cases: base has 1 entries, new 2"));
        // A field only one version knows is not a difference; 1 and 1.0 are equal.
        let newer = json!({"cases": [{"label": "fib (n=30)", "workers": 2.0, "added": true}], "settings": {"seed": 1}});
        assert_eq!(difference(&base, &newer), None);
    }
}
