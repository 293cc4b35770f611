//! `parbench baseline update DIR NEW...`: keep a directory of recent baseline results
//! for `parbench compare`.
//!
//! Results are grouped by machine class and configuration (architecture, CPU model,
//! core counts, and the suite digest or the measured cases); only the newest K of each
//! group are kept. The one decision a reader would otherwise get wrong: a new result is
//! validated (it must load as a result of this schema) before anything in DIR changes,
//! and it is copied in atomically, so a failed update never damages the baseline.

use std::path::{Path, PathBuf};

use crate::error::UsageError;
use crate::result::Report;
use crate::result::load as load_result;

/// The grouping key: results with equal keys replace each other as baselines.
fn class(r: &Report) -> String {
    let e = &r.environment;
    let config = match &r.suite {
        Some(s) => format!("suite {} {}", s.name, s.digest),
        None => {
            let mut cases: Vec<String> = r.cases.iter().map(|c| format!("{}@{}", c.label, c.workers)).collect();
            cases.sort();
            cases.join(";")
        }
    };
    format!("{}|{}|{}|{}|{}|{config}", e.arch, e.cpu_model, e.logical_cores, e.physical_cores, e.available_parallelism)
}

/// A file name that sorts by time: `<unix seconds>-<suite or "run">-<host>.json`.
fn file_name(r: &Report) -> String {
    let what = r.suite.as_ref().map(|s| s.name.as_str()).unwrap_or("run");
    let clean =
        |s: &str| s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect::<String>();
    format!("{}-{}-{}.json", r.created_unix_s, clean(what), clean(&r.environment.hostname))
}

/// What an update did.
#[derive(Debug, Default)]
pub struct Update {
    /// Files written into DIR.
    pub added: Vec<PathBuf>,
    /// Files removed from DIR.
    pub removed: Vec<PathBuf>,
}

/// Adds `new` to `dir`, then keeps the newest `keep` results of each affected group.
pub fn update(dir: &Path, new: &[PathBuf], keep: usize) -> Result<Update, UsageError> {
    let reports: Vec<Report> = new.iter().map(|p| load_result(p)).collect::<Result<_, _>>()?;
    std::fs::create_dir_all(dir).map_err(|e| UsageError::new(format!("baseline directory {}: {e}", dir.display())))?;
    let mut done = Update::default();
    for (path, report) in new.iter().zip(&reports) {
        let target = dir.join(file_name(report));
        let io = |e: std::io::Error| UsageError::new(format!("copying {} into {}: {e}", path.display(), dir.display()));
        let temp = tempfile::Builder::new().prefix(".parbench-").suffix(".tmp").tempfile_in(dir).map_err(io)?;
        std::fs::copy(path, temp.path()).map_err(io)?;
        temp.persist(&target).map_err(|e| io(e.error))?;
        done.added.push(target);
    }
    let classes: Vec<String> = reports.iter().map(class).collect();
    let mut existing: Vec<(u64, PathBuf, String)> = Vec::new();
    for path in crate::result::result_files(dir)? {
        // Files that do not load are not ours to delete; they are skipped.
        if let Ok(r) = load_result(&path) {
            existing.push((r.created_unix_s, path, class(&r)));
        }
    }
    existing.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
    for c in classes.iter().collect::<std::collections::BTreeSet<_>>() {
        for (_, path, _) in existing.iter().filter(|(_, _, k)| k == c).skip(keep) {
            std::fs::remove_file(path).map_err(|e| UsageError::new(format!("removing {}: {e}", path.display())))?;
            done.removed.push(path.clone());
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_k_of_a_class_and_leaves_other_classes_alone() {
        let dir = tempfile::tempdir().unwrap();
        let src = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        for i in 0..4 {
            let r = crate::compare::tests::synthetic(i, 0.02, 1.0, 2);
            let p = src.path().join(format!("r{i}.json"));
            std::fs::write(&p, serde_json::to_string(&r).unwrap()).unwrap();
            paths.push(p);
        }
        let other = crate::compare::tests::synthetic(9, 0.02, 1.0, 4);
        let other_path = src.path().join("other.json");
        std::fs::write(&other_path, serde_json::to_string(&other).unwrap()).unwrap();
        update(dir.path(), &[other_path], 2).unwrap();
        let done = update(dir.path(), &paths, 2).unwrap();
        assert_eq!(done.added.len(), 4);
        assert_eq!(done.removed.len(), 2);
        let left = crate::result::result_files(dir.path()).unwrap();
        assert_eq!(left.len(), 3, "{left:?}");
        // The two newest of the 2-core class survive (created 1_700_000_002 and 3).
        let names: Vec<String> = left.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert!(names.iter().any(|n| n.starts_with("1700000003")) && names.iter().any(|n| n.starts_with("1700000002")));
        assert!(names.iter().any(|n| n.starts_with("1700000009")), "the 4-core result is another class");
    }

    #[test]
    fn a_corrupt_new_file_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{ not json").unwrap();
        let base = dir.path().join("base");
        assert!(update(&base, &[bad], 2).is_err());
        assert!(!base.exists());
    }
}
