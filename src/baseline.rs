//! `parbench baseline update DIR NEW...`: keep a directory of recent baseline results
//! for `parbench compare`.
//!
//! Results are grouped by machine class and configuration (architecture, CPU model,
//! core counts, and the suite digest or the measured cases); only the newest K of each
//! group are kept. A new result is validated (it must read as a result of a known
//! schema, every sample included) before anything in DIR changes, and copied in
//! atomically under a name that is never reused for other contents:
//! `<created>-<suite>-<host>-<digest of the bytes>.json`. The same result added twice
//! is found present, never copied again.
//!
//! Results are read streaming, only their fingerprint and the keys of their cases are
//! kept, and each sample is checked and dropped: memory stays small whatever the file
//! sizes. Several updates of one DIR may run at once: names never collide, and a file
//! another update removed first is not an error.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::atomic::TempFile;
use crate::error::UsageError;
use crate::fingerprint::Fingerprint;
use crate::result::{FNV_OFFSET, RecordedSample, RunnerRow, SettingsRecord, SuiteRecord, fnv};

/// What `baseline update` reads of a result file.
#[derive(Deserialize)]
struct Head {
    #[serde(deserialize_with = "crate::result::schema_version", rename = "schema_version")]
    _schema_version: u32,
    created_unix_s: u64,
    environment: Fingerprint,
    #[serde(default)]
    suite: Option<SuiteRecord>,
    settings: SettingsRecord,
    cases: CaseKeys,
}

/// The cases of a result, reduced to what groups it: an order-independent digest of
/// `label@workers`. Rows and samples are read and checked one at a time, not kept.
#[derive(Clone, Copy, PartialEq, Eq)]
struct CaseKeys {
    count: usize,
    sum: u64,
    xor: u64,
}

#[derive(Deserialize)]
struct CaseHead {
    label: String,
    workers: usize,
    #[serde(rename = "rows")]
    _rows: Checked<RunnerRow>,
    #[serde(rename = "samples")]
    _samples: Checked<TimedSample>,
}

impl<'de> Deserialize<'de> for CaseKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = CaseKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of cases")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<CaseKeys, A::Error> {
                let mut keys = CaseKeys { count: 0, sum: 0, xor: 0 };
                let mut seen = std::collections::HashSet::new();
                while let Some(case) = seq.next_element::<CaseHead>()? {
                    let h = fnv(format!("{}@{}", case.label, case.workers).as_bytes(), FNV_OFFSET);
                    // compare refuses such a file; admitted here, it would stop every
                    // comparison against the directory.
                    if !seen.insert((case.label.clone(), case.workers)) {
                        return Err(serde::de::Error::custom(format!(
                            "case '{}' with {} workers appears twice, so compare could not match it",
                            crate::text::terminal_safe(&case.label),
                            case.workers
                        )));
                    }
                    keys = CaseKeys { count: keys.count + 1, sum: keys.sum.wrapping_add(h), xor: keys.xor ^ h };
                }
                Ok(keys)
            }
        }
        d.deserialize_seq(Visit)
    }
}

/// A sample, read in full (so checked) and refused with a wall time of 0, which
/// compare refuses as corrupt: admitted here, it would stop every comparison against
/// the directory.
struct TimedSample;

impl<'de> Deserialize<'de> for TimedSample {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = RecordedSample::deserialize(d)?;
        if s.sample.wall_ns == 0 {
            return Err(serde::de::Error::custom(format!(
                "runner {}, round {}: wall time 0 is a corrupt sample",
                s.sample.runner, s.round
            )));
        }
        Ok(TimedSample)
    }
}

/// A list whose elements are each read as a `T` (so checked) and dropped.
struct Checked<T>(std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Checked<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Visit<T> {
            type Value = Checked<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Checked<T>, A::Error> {
                while seq.next_element::<T>()?.is_some() {}
                Ok(Checked(std::marker::PhantomData))
            }
        }
        d.deserialize_seq(Visit(std::marker::PhantomData))
    }
}

/// The grouping key: results with equal keys replace each other as baselines.
fn class(r: &Head) -> String {
    let e = &r.environment;
    let config = match &r.suite {
        Some(s) => format!("suite {} {}", s.name, s.digest),
        None => format!("cases {} {:016x} {:016x}", r.cases.count, r.cases.sum, r.cases.xor),
    };
    // Results that `compare` would refuse as not comparable are different groups.
    let how = format!("{}|{}", r.settings.schedule.name(), r.settings.pin);
    format!(
        "{}|{}|{}|{}|{}|{how}|{config}",
        e.arch, e.cpu_model, e.logical_cores, e.physical_cores, e.available_parallelism
    )
}

/// A name that sorts by time and differs for different contents:
/// `<unix seconds>-<suite or "run">-<host>-<digest>.json`.
fn file_name(r: &Head, digest: u64, attempt: usize) -> String {
    let what = r.suite.as_ref().map(|s| s.name.as_str()).unwrap_or("run");
    let clean =
        |s: &str| s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect::<String>();
    let again = if attempt == 0 { String::new() } else { format!("-{attempt}") };
    format!("{}-{}-{}-{digest:016x}{again}.json", r.created_unix_s, clean(what), clean(&r.environment.hostname))
}

/// What an update did.
#[derive(Debug, Default)]
pub struct Update {
    /// Files written into DIR.
    pub added: Vec<PathBuf>,
    /// New results that DIR already held (same contents), left as they were.
    pub present: Vec<PathBuf>,
    /// Files removed from DIR.
    pub removed: Vec<PathBuf>,
    /// Entries of DIR left alone, and why (not regular files, second names of a file).
    pub skipped: Vec<String>,
}

impl Update {
    /// What the update did, an entry a line (`added`, `present`, `removed`,
    /// `skipped`), terminal-safe (the names come from the directory), in `view`'s
    /// characters and folded at spaces to its width, later lines under the name.
    pub fn lines(&self, view: &crate::report::View) -> Vec<String> {
        let shown = |verb: &str, p: &PathBuf, after: &str| format!("{verb:<7} {}{after}", p.display());
        let entries = (self.added.iter().map(|p| shown("added", p, "")))
            .chain(self.present.iter().map(|p| shown("present", p, " (already there)")))
            .chain(self.removed.iter().map(|p| shown("removed", p, "")))
            .chain(self.skipped.iter().map(|s| format!("skipped {s}")));
        entries.flat_map(|l| view.wrap(&crate::text::terminal_safe(&l), 8)).collect()
    }
}

/// Adds `new` to `dir`, then keeps the newest `keep` results of each affected group.
pub fn update(dir: &Path, new: &[PathBuf], keep: usize) -> Result<Update, UsageError> {
    let heads: Vec<Head> = new.iter().map(|p| crate::result::load_as::<Head>(p)).collect::<Result<_, _>>()?;
    std::fs::create_dir_all(dir).map_err(|e| UsageError::new(format!("baseline directory {}: {e}", dir.display())))?;
    let mut done = Update::default();
    for (path, head) in new.iter().zip(&heads) {
        let io = |e: std::io::Error| UsageError::new(format!("copying {} into {}: {e}", path.display(), dir.display()));
        let mut attempt = 0;
        loop {
            let mut temp = TempFile::in_dir(dir).map_err(io)?;
            let digest = copy_hashing(path, &mut temp).map_err(io)?;
            let target = dir.join(file_name(head, digest, attempt));
            match temp.persist_new(&target) {
                Ok(()) => done.added.push(target),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => match same_contents(path, &target) {
                    Ok(true) => done.present.push(target),
                    // Another result with the same digest: never overwrite it.
                    Ok(false) => {
                        attempt += 1;
                        continue;
                    }
                    // A concurrent update removed it meanwhile: try again.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(io(e)),
                },
                Err(e) => return Err(io(e)),
            }
            break;
        }
    }
    let classes: std::collections::BTreeSet<String> = heads.iter().map(class).collect();
    let mut existing: Vec<(u64, PathBuf, String)> = Vec::new();
    let listed = crate::result::result_files(dir)?;
    done.skipped = listed.skipped;
    for path in listed.files {
        // Files that do not read (or that another update just removed) are not ours
        // to delete; they are skipped.
        if let Ok(r) = crate::result::load_as::<Head>(&path) {
            existing.push((r.created_unix_s, path, class(&r)));
        }
    }
    existing.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
    for c in &classes {
        for (_, path, _) in existing.iter().filter(|(_, _, k)| k == c).skip(keep) {
            match std::fs::remove_file(path) {
                Ok(()) => done.removed.push(path.clone()),
                // A concurrent update removed it first: the directory is as it should be.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(UsageError::new(format!("removing {}: {e}", path.display()))),
            }
        }
    }
    Ok(done)
}

/// Copies `from` into `to`, returning a digest of the bytes.
fn copy_hashing(from: &Path, to: &mut impl Write) -> std::io::Result<u64> {
    let mut file = std::fs::File::open(from)?;
    let mut buf = vec![0u8; 1 << 16];
    let mut h = FNV_OFFSET;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(h);
        }
        h = fnv(&buf[..n], h);
        to.write_all(&buf[..n])?;
    }
}

/// Whether two files hold the same bytes, read a block at a time.
fn same_contents(a: &Path, b: &Path) -> std::io::Result<bool> {
    let (mut a, mut b) =
        (std::io::BufReader::new(std::fs::File::open(a)?), std::io::BufReader::new(std::fs::File::open(b)?));
    let (mut x, mut y) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        let n = read_full(&mut a, &mut x)?;
        let m = read_full(&mut b, &mut y)?;
        if n != m || x[..n] != y[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_an_update_did_fits_the_width_and_breaks_only_between_words() {
        let done = Update {
            added: vec![PathBuf::from("baselines/1796236279-ci-runner-b0d2d170512b7573.json")],
            present: vec![PathBuf::from("baselines/1796236279-ci-runner-0123456789abcdef.json")],
            removed: Vec::new(),
            skipped: vec![
                "baselines/link.json: the same file as baselines/1796236279-ci-runner-b0d2d170512b7573.json, \
                 counted once"
                    .into(),
            ],
        };
        let view = crate::report::View { width: Some(80), ..crate::report::View::default() };
        let lines = done.lines(&view);
        assert!(lines.iter().all(|l| l.chars().count() <= 80), "{lines:#?}");
        assert_eq!(lines[0], "added   baselines/1796236279-ci-runner-b0d2d170512b7573.json");
        assert!(lines[1].starts_with("present ") && lines[1].ends_with("(already there)"), "{lines:#?}");
        assert!(lines[2].starts_with("skipped baselines/link.json: the same file as"), "{lines:#?}");
        assert!(lines[3].starts_with("        baselines/") && lines.len() == 4, "{lines:#?}");
        let words = |ls: &[String]| ls.join(" ").split_whitespace().map(String::from).collect::<Vec<_>>();
        let whole = done.lines(&crate::report::View { width: Some(200), ..view });
        assert_eq!(whole.len(), 3, "{whole:#?}");
        assert_eq!(words(&lines), words(&whole));
    }

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
        let left = crate::result::result_files(dir.path()).unwrap().files;
        assert_eq!(left.len(), 3, "{left:?}");
        // The two newest of the 2-core class survive (created 1_700_000_002 and 3).
        let names: Vec<String> = left.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert!(names.iter().any(|n| n.starts_with("1700000003")) && names.iter().any(|n| n.starts_with("1700000002")));
        assert!(names.iter().any(|n| n.starts_with("1700000009")), "the 4-core result is another class");
    }

    #[test]
    fn results_created_in_the_same_second_never_share_a_name_and_none_is_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let src = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        for i in 0..3 {
            let mut r = crate::compare::tests::synthetic(i, 0.02, 1.0 + i as f64, 2);
            r.created_unix_s = 1_700_000_000;
            let p = src.path().join(format!("r{i}.json"));
            std::fs::write(&p, serde_json::to_string(&r).unwrap()).unwrap();
            paths.push(p);
        }
        let done = update(dir.path(), &paths, 10).unwrap();
        assert_eq!(done.added.len(), 3, "{done:?}");
        assert_eq!(crate::result::result_files(dir.path()).unwrap().files.len(), 3);
        // The same results again, and one twice: found present, nothing copied again.
        let again = [paths.clone(), vec![paths[0].clone()]].concat();
        let done = update(dir.path(), &again, 10).unwrap();
        assert_eq!((done.added.len(), done.present.len(), done.removed.len()), (0, 4, 0), "{done:?}");
        for (p, kept) in paths.iter().zip(&done.present) {
            assert_eq!(std::fs::read(p).unwrap(), std::fs::read(kept).unwrap());
        }
    }

    #[test]
    fn a_result_compare_would_refuse_is_refused_before_anything_changes() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = crate::compare::tests::synthetic(1, 0.02, 1.0, 2);
        r.cases.push(r.cases[0].clone());
        let twice = dir.path().join("twice.json");
        std::fs::write(&twice, serde_json::to_string(&r).unwrap()).unwrap();
        let base = dir.path().join("base");
        let err = update(&base, &[twice], 2).unwrap_err().to_string();
        assert!(err.contains("case 'fib (n=34, tasks=8)' with 2 workers appears twice"), "{err}");
        assert!(!base.exists());
        let mut r = crate::compare::tests::synthetic(1, 0.02, 1.0, 2);
        r.cases[0].samples[6].sample.wall_ns = 0;
        let zero = dir.path().join("zero.json");
        std::fs::write(&zero, serde_json::to_string(&r).unwrap()).unwrap();
        let err = update(&base, &[zero], 2).unwrap_err().to_string();
        assert!(err.contains("runner rayon, round 1: wall time 0 is a corrupt sample"), "{err}");
        assert!(!base.exists());
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
