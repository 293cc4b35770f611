//! Reading the files `compare` is given: result files, baseline directories, and the
//! checks that turn an unusable file into a one-line input error (exit 2) instead of a
//! comparison of nothing.

use std::path::Path;

use crate::error::UsageError;
use crate::fingerprint::Fingerprint;
use crate::result::{Report, load as load_result, result_files};

/// Checks that `report` holds something to compare: cases, samples, a parallel runner,
/// non-zero worker counts and wall times. The error names `path`.
pub fn validate(path: &str, report: &Report) -> Result<(), UsageError> {
    // Labels come from the file: escaped, as everything else printed from it.
    let fail = |what: String| {
        Err(UsageError::new(crate::text::terminal_safe(&format!("{path}: {what}; it cannot be compared")).into_owned()))
    };
    if report.cases.is_empty() {
        return fail("the result has no cases".into());
    }
    let mut keys = std::collections::HashMap::new();
    for (index, case) in report.cases.iter().enumerate() {
        // Cases are matched by label and worker count: two alike would both be
        // matched to one case of the other file.
        if let Some(first) = keys.insert((case.label.as_str(), case.workers), index) {
            return fail(format!(
                "cases #{} and #{} are both '{}' with {} workers, so neither can be matched",
                first + 1,
                index + 1,
                case.label,
                case.workers
            ));
        }
        if case.samples.is_empty() {
            return fail(format!("case '{}' has no samples", case.label));
        }
        if case.workers == 0 || case.samples.iter().any(|s| s.sample.workers == 0) {
            return fail(format!("case '{}' has workers: 0", case.label));
        }
        let mut seen = std::collections::HashSet::new();
        for s in &case.samples {
            // A time of 0 is no measurement: it would turn a speedup into 0 or drop
            // a runner from the comparison unseen.
            if s.sample.wall_ns == 0 {
                return fail(format!(
                    "case '{}', runner {}, round {}: wall time 0 is a corrupt sample",
                    case.label, s.sample.runner, s.round
                ));
            }
            // Rounds pair the runners: a second sample of a runner in one round would
            // silently replace the first.
            if !seen.insert((s.sample.runner, s.round)) {
                return fail(format!(
                    "case '{}', runner {}: two samples in round {}",
                    case.label, s.sample.runner, s.round
                ));
            }
        }
    }
    let samples = || report.cases.iter().flat_map(|c| &c.samples);
    if samples().all(|s| s.sample.runner.is_reference()) {
        return fail("it has only serial samples, and compare judges parallel runners".into());
    }
    Ok(())
}

/// Everything `compare` reads, loaded and checked.
#[derive(Debug)]
pub struct Inputs {
    /// Baseline runs: (file name as given, result).
    pub bases: Vec<(String, Report)>,
    /// Baseline files left out before comparing, and why.
    pub left_out: Vec<String>,
    /// NEW's file name as given.
    pub new_name: String,
    /// NEW.
    pub new: Report,
}

/// Loads and validates BASE (a file or a directory of results) and NEW. A NEW that
/// lies inside the BASE directory is not its own baseline: it is left out, with a note.
pub fn load_inputs(base: &Path, new: &Path) -> Result<Inputs, UsageError> {
    let new_name = new.display().to_string();
    let new_report = load_result(new)?;
    validate(&new_name, &new_report)?;
    let same_file = |p: &Path| match (std::fs::canonicalize(p), std::fs::canonicalize(new)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    // A missing BASE is most often a baseline directory not made yet.
    if let Err(e) = std::fs::metadata(base) {
        return Err(UsageError::new(format!(
            "BASE {}: {e}; give a result file, or a directory of results made by \
             `parbench baseline update DIR NEW...` (run it once first)",
            base.display()
        )));
    }
    let mut bases = Vec::new();
    let mut left_out = Vec::new();
    let listed = result_files(base)?;
    left_out.extend(listed.skipped);
    let directory = base.is_dir();
    for path in listed.files {
        let name = path.display().to_string();
        if directory && same_file(&path) {
            left_out.push(format!("{name}: this is NEW itself"));
            continue;
        }
        let report = load_result(&path)?;
        validate(&name, &report)?;
        bases.push((name, report));
    }
    if bases.is_empty() {
        return Err(UsageError::new(format!(
            "{}: no baseline result besides NEW itself; add earlier runs (parbench baseline update)",
            base.display()
        )));
    }
    Ok(Inputs { bases, left_out, new_name, new: new_report })
}

/// Fingerprint fields that must match for results to be comparable at all.
fn machine_class(f: &Fingerprint) -> (String, usize, usize) {
    (f.arch.clone(), f.logical_cores, f.available_parallelism)
}

/// Fingerprint fields that must match for absolute times to be comparable.
pub(super) fn identical_machine(a: &Fingerprint, b: &Fingerprint) -> bool {
    machine_class(a) == machine_class(b)
        && a.cpu_model == b.cpu_model
        && a.physical_cores == b.physical_cores
        && a.os == b.os
        && a.kernel == b.kernel
}

fn case_keys(r: &Report) -> Vec<(String, usize)> {
    let mut keys: Vec<(String, usize)> = r.cases.iter().map(|c| (c.label.clone(), c.workers)).collect();
    keys.sort();
    keys
}

/// Why `base` cannot be compared with `new`, if it cannot.
pub fn incomparability(base: &Report, new: &Report) -> Option<String> {
    let (b, n) = (&base.environment, &new.environment);
    if b.arch != n.arch {
        return Some(format!("different architectures (base {}, new {})", b.arch, n.arch));
    }
    if (b.logical_cores, b.available_parallelism) != (n.logical_cores, n.available_parallelism) {
        return Some(format!(
            "different core counts (base {} logical / {} available, new {} logical / {} available)",
            b.logical_cores, b.available_parallelism, n.logical_cores, n.available_parallelism
        ));
    }
    // Ranks on other machines are another machine class: an MPI world's nodes (a run
    // without one ran on its one machine; two runs without one compare as before).
    // An MPI node counts the machine's online CPUs, a run without MPI the CPUs it was
    // given (quota and affinity applied, checked above): between the two, the hosts
    // and their CPU models are what can differ.
    let (mut bn, mut nn) = (b.nodes(), n.nodes());
    if b.mpi.is_none() || n.mpi.is_none() {
        for node in bn.iter_mut().chain(nn.iter_mut()) {
            node.2 = 0; // not compared, not shown
        }
    }
    if (b.mpi.is_some() || n.mpi.is_some()) && bn != nn {
        let hosts =
            |nodes: &[(String, String, usize)]| nodes.iter().map(|n| n.0.as_str()).collect::<Vec<_>>().join(",");
        // The same hosts: what differs is on them, said in full.
        let full = |nodes: &[(String, String, usize)]| {
            let node = |n: &(String, String, usize)| match n.2 {
                0 => format!("{} ({})", n.0, n.1),
                cores => format!("{} ({}, {cores} logical cores)", n.0, n.1),
            };
            nodes.iter().map(node).collect::<Vec<_>>().join(", ")
        };
        let (b_text, n_text) = if hosts(&bn) == hosts(&nn) { (full(&bn), full(&nn)) } else { (hosts(&bn), hosts(&nn)) };
        return Some(format!("different node sets (base {b_text}, new {n_text})"));
    }
    // Settings that change what is measured, not how often: a static schedule and a
    // dynamic one, or pinned and free workers, are different experiments.
    let (bs, ns) = (&base.settings, &new.settings);
    if bs.schedule != ns.schedule {
        return Some(format!("different schedules (base {}, new {})", bs.schedule.name(), ns.schedule.name()));
    }
    if bs.pin != ns.pin {
        let pinned = |p: bool| if p { "pinned" } else { "not pinned" };
        return Some(format!("different pinning (base {}, new {})", pinned(bs.pin), pinned(ns.pin)));
    }
    let base_keys = case_keys(base);
    match (&base.suite, &new.suite) {
        (Some(bs), Some(ns)) if bs.digest != ns.digest => Some(format!(
            "different suite configurations (base {} digest {}, new {} digest {})",
            bs.name, bs.digest, ns.name, ns.digest
        )),
        (Some(_), None) | (None, Some(_)) => Some("one result comes from a suite and the other does not".into()),
        // NEW lacking some of BASE's cases is a partial result (a late failure keeps
        // what was finished): those are named as missing. A case BASE never measured
        // means another experiment.
        (None, None) if !case_keys(new).iter().all(|k| base_keys.binary_search(k).is_ok()) => {
            Some("the results measured different workloads".into())
        }
        _ => None,
    }
}
