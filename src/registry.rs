//! The registry: workload names to their declarations. The command line, suite
//! files, the worker protocol and result files all look workloads up here, so a
//! workload registered by a user gets every feature a built-in one has.

use std::sync::Arc;

use crate::error::UsageError;
use crate::workload::{WorkloadSpec, builtins, noop};

/// Names parbench itself uses as flags or suite keys: no workload parameter may take
/// them.
pub const RESERVED: &[&str] = &[
    "threads",
    "runner",
    "runners",
    "schedule",
    "warmup",
    "rounds",
    "seed",
    "timeout",
    "format",
    "output",
    "plot",
    "timeline",
    "weak",
    "workload",
    "worker-program",
    "help",
    "version",
    "name",
    "description",
    "bench",
    "test",
];

/// The workloads a program can run.
///
/// ```
/// let registry = parbench::Registry::with_builtins();
/// assert!(registry.get("fib").is_some());
/// assert!(parbench::Registry::new().get("fib").is_none());
/// ```
#[derive(Clone, Debug)]
pub struct Registry {
    specs: Vec<Arc<WorkloadSpec>>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

impl Registry {
    /// A registry with no workloads of its own (parbench's hidden calibration workload
    /// is always there).
    pub fn new() -> Registry {
        Registry { specs: vec![Arc::new(noop::spec())] }
    }

    /// A registry with parbench's built-in workloads: sleep, fib, mixed, factorize,
    /// counter, command and pipeline.
    pub fn with_builtins() -> Registry {
        builtins().into_iter().fold(Registry::new(), Registry::register)
    }

    /// Adds a workload. Mistakes in the declaration (a reserved or repeated name, a
    /// default outside its own range) are reported when the registry is used.
    pub fn register(mut self, spec: WorkloadSpec) -> Registry {
        self.specs.push(Arc::new(spec));
        self
    }

    /// The workload called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<WorkloadSpec>> {
        self.specs.iter().find(|s| s.name == name)
    }

    /// Workloads offered to users, in registration order.
    pub fn visible(&self) -> impl Iterator<Item = &Arc<WorkloadSpec>> {
        self.specs.iter().filter(|s| !s.hidden)
    }

    /// Looks a workload up for the user; the error lists what exists and suggests a
    /// close name.
    pub fn lookup(&self, name: &str) -> Result<&Arc<WorkloadSpec>, String> {
        self.get(name).filter(|s| !s.hidden).ok_or_else(|| {
            let names: Vec<String> = self.visible().map(|s| s.name.clone()).collect();
            let hint = crate::workload::param::suggest(name, names.iter());
            format!(
                "unknown workload \"{}\"{}; registered are {}",
                crate::workload::param::shown(name),
                if hint.is_empty() { String::new() } else { format!(" ({})", hint.trim_start_matches("; ")) },
                if names.is_empty() { "none".to_string() } else { names.join(", ") }
            )
        })
    }

    /// Checks every declaration: names, reserved parameter names, defaults.
    pub fn validate(&self) -> Result<(), UsageError> {
        let err = |spec: &WorkloadSpec, what: String| UsageError::new(format!("workload {:?}: {what}", spec.name));
        for (i, spec) in self.specs.iter().enumerate() {
            if !crate::workload::param::valid_name(&spec.name) {
                return Err(err(
                    spec,
                    "a workload name starts with a lowercase letter, then lowercase letters, digits, - and _".into(),
                ));
            }
            if ["help", "list", noop::NAME].contains(&spec.name.as_str()) && !(spec.hidden && i == 0) {
                return Err(err(spec, "this name is reserved by parbench; choose another".into()));
            }
            if self.specs[..i].iter().any(|s| s.name == spec.name) {
                return Err(err(spec, "registered twice; give each workload its own name".into()));
            }
            for (j, p) in spec.params.iter().enumerate() {
                if RESERVED.contains(&p.name.as_str()) {
                    return Err(err(
                        spec,
                        format!(
                            "parameter name {:?} is reserved by parbench (it is one of its own flags); rename it",
                            p.name
                        ),
                    ));
                }
                if spec.params[..j].iter().any(|q| q.name == p.name) {
                    return Err(err(spec, format!("parameter {:?} is declared twice", p.name)));
                }
                p.check_declaration().map_err(|e| err(spec, format!("parameter {:?}: {e}", p.name)))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{Param, Params, SharedState, TaskContext, Verification, Workload};

    struct Nothing;
    impl Workload for Nothing {
        fn task_count(&self) -> usize {
            1
        }
        fn run_task(&self, _: usize, _: &TaskContext<'_>) -> u64 {
            0
        }
        fn verify(&self, _: &[u64], _: &SharedState) -> Verification {
            Verification::verified("nothing")
        }
    }

    fn spec(name: &str, param: Param) -> WorkloadSpec {
        WorkloadSpec::new(name, "test", |_: &Params| Ok(Nothing)).param(param)
    }

    #[test]
    fn the_builtins_declare_valid_parameters() {
        Registry::with_builtins().validate().unwrap();
        let registry = Registry::with_builtins();
        let names: Vec<&str> = registry.visible().map(|s| s.name()).collect();
        assert_eq!(names, ["sleep", "fib", "mixed", "factorize", "counter", "command", "pipeline"]);
    }

    #[test]
    fn a_reserved_parameter_name_is_refused_with_its_name() {
        let r = Registry::new().register(spec("mine", Param::uint("threads", 1)));
        let err = r.validate().unwrap_err().0;
        assert!(err.contains("\"mine\"") && err.contains("\"threads\" is reserved"), "{err}");
    }

    #[test]
    fn names_parbench_needs_are_refused() {
        for name in ["noop", "help", "Mine", "a/b", "-x"] {
            let r = Registry::new().register(spec(name, Param::uint("x", 1)));
            assert!(r.validate().is_err(), "{name} accepted");
        }
    }

    #[test]
    fn a_workload_registered_twice_is_refused() {
        let r = Registry::with_builtins().register(spec("fib", Param::uint("x", 1)));
        assert!(r.validate().unwrap_err().0.contains("registered twice"));
    }

    #[test]
    fn unknown_workloads_get_a_suggestion_and_hidden_ones_stay_hidden() {
        let r = Registry::with_builtins();
        assert!(r.lookup("fibb").unwrap_err().contains("did you mean \"fib\""));
        assert!(r.lookup("noop").is_err());
        assert!(r.get("noop").is_some());
    }
}
