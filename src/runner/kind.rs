//! What a runner is, as every other module sees it: its id (a plain string, the key of
//! rows in results, reports, comparisons and plans) and its [`RunnerInfo`]
//! (capabilities, limits, cost model). Modules ask a runner's info, never match its
//! name, so a build with other runners (mpi behind a feature) reads the same files:
//! an id that this build does not know still loads, sorts after the known ones, and
//! reports with neutral defaults.

use std::collections::HashSet;
use std::sync::Mutex;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A runner's id, as typed on the command line and written to result files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RunnerId(&'static str);

/// Ids read from files that this build has no runner for, kept for the process's life
/// (one string per distinct id) so that ids stay `Copy`.
static FOREIGN: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);

impl RunnerId {
    /// The id `id` (for a runner's own file and for tests).
    pub const fn new(id: &'static str) -> Self {
        RunnerId(id)
    }

    /// The id spelled `id`, known to this build or not.
    pub fn intern(id: &str) -> Self {
        if let Some(known) = super::RUNNERS.iter().find(|r| r.info.id.0 == id) {
            return known.info.id;
        }
        let mut foreign = FOREIGN.lock().unwrap_or_else(|e| e.into_inner());
        let set = foreign.get_or_insert_with(HashSet::new);
        match set.get(id) {
            Some(&s) => RunnerId(s),
            None => {
                let s: &'static str = Box::leak(id.to_string().into_boxed_str());
                set.insert(s);
                RunnerId(s)
            }
        }
    }

    /// This build's runners, in report order.
    pub fn all() -> Vec<RunnerId> {
        super::RUNNERS.iter().map(|r| r.info.id).collect()
    }

    /// This build's runners that this process can run, in report order: all of them
    /// but the mpi runner outside `mpirun`.
    pub fn runnable() -> Vec<RunnerId> {
        Self::all().into_iter().filter(|r| r.refusal(1).is_none()).collect()
    }

    /// The id a runner of this build has, if any.
    pub fn known(id: &str) -> Option<Self> {
        super::RUNNERS.iter().map(|r| r.info.id).find(|k| k.0 == id)
    }

    /// This build's runner ids for an error: `serial, threads, rayon or process`.
    pub fn known_list() -> String {
        let ids: Vec<&str> = super::RUNNERS.iter().map(|r| r.info.id.0).collect();
        match ids.split_last() {
            Some((last, [])) => last.to_string(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }

    /// Parses `--runner` values: this build's runners, each with its one-line help.
    pub fn value_parser() -> impl clap::builder::TypedValueParser<Value = RunnerId> {
        use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
        let values = super::RUNNERS.iter().map(|r| PossibleValue::new(r.info.id.0).help(r.info.about));
        PossibleValuesParser::new(values).map(|id| RunnerId::intern(&id))
    }

    /// The id as text.
    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// What this build knows about the runner; `None` for an id from another build.
    pub fn info(self) -> Option<&'static RunnerInfo> {
        super::RUNNERS.iter().map(|r| &r.info).find(|i| i.id == self)
    }

    /// The runner every speedup is computed against: the one whose info says it is
    /// the reference.
    pub fn reference() -> Self {
        super::RUNNERS.iter().map(|r| r.info.id).find(|id| id.is_reference()).expect("one runner is the reference")
    }

    /// Whether this is the reference runner.
    pub fn is_reference(self) -> bool {
        self.info().is_some_and(|i| i.reference)
    }

    /// Worker count this runner uses when the run asks for `workers`.
    pub fn workers(self, workers: usize) -> usize {
        self.info().map_or(workers, |i| i.workers(workers))
    }

    /// What it starts with `workers` workers (see [`Started`]; an unknown runner
    /// starts nothing here).
    pub fn threads_started(self, workers: usize) -> Started {
        self.info().map_or(Started::default(), |i| i.threads_started(workers))
    }

    /// Whether its workers share one address space (an unknown runner: assume not).
    pub fn one_address_space(self) -> bool {
        self.info().is_some_and(|i| i.one_address_space)
    }

    /// Why this process cannot run it with `workers` workers, if it cannot (the mpi
    /// runner outside `mpirun`, or in a world with too few ranks).
    pub fn refusal(self, workers: usize) -> Option<String> {
        let any = crate::workload::Properties::default();
        self.info().and_then(|i| i.refusal).and_then(|refusal| refusal(workers, &any)).map(|(why, _)| why)
    }

    /// Whether its workers are processes (an unknown runner: assume not).
    pub fn processes(self) -> bool {
        self.info().is_some_and(|i| i.processes)
    }

    /// Position in report order: the runners of this build in list order, then the
    /// others.
    fn rank(self) -> usize {
        super::RUNNERS.iter().position(|r| r.info.id == self).unwrap_or(usize::MAX)
    }
}

impl Ord for RunnerId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.rank(), self.0).cmp(&(other.rank(), other.0))
    }
}

impl PartialOrd for RunnerId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Display for RunnerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `pad`, not `write_str`: tables align ids with `{:<10}`.
        f.pad(self.0)
    }
}

impl Serialize for RunnerId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for RunnerId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let id = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(RunnerId::intern(&id))
    }
}

/// Threads and tasks (threads and processes) a runner starts per worker: `held_*` live
/// through its case's round (a pool, a runtime, pool processes), the others only during
/// its sample. Threads of parbench count against every limit (tasks, memory maps,
/// address space); a worker process only against the tasks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Started {
    /// Threads of parbench held across samples, per worker.
    pub held_threads: u64,
    /// Tasks in all (threads of parbench and worker processes) held across samples,
    /// per worker.
    pub held_tasks: u64,
    /// Threads of parbench started per sample, per worker.
    pub sample_threads: u64,
    /// Tasks in all (threads and processes) started per sample, per worker.
    pub sample_tasks: u64,
}

impl Started {
    /// Every count times `n`.
    pub fn times(self, n: u64) -> Started {
        Started {
            held_threads: self.held_threads * n,
            held_tasks: self.held_tasks * n,
            sample_threads: self.sample_threads * n,
            sample_tasks: self.sample_tasks * n,
        }
    }
}

/// What a round of a runner costs beyond its tasks, for the estimate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CostModel {
    /// Seconds to start one worker inside each sample.
    pub start_s: f64,
    /// Whether each worker builds the workload and makes its share of the inputs itself
    /// (a process), rather than parbench making all inputs once per sample.
    pub set_up_per_worker: bool,
}

/// Why a runner cannot run `workers` workers of a workload with these properties in
/// this process, and whether to stay quiet about it when it was not asked for by name;
/// `None` when it can.
pub type Refusal = fn(usize, &crate::workload::Properties) -> Option<(String, bool)>;

/// Everything other modules may ask about a runner.
#[derive(Clone, Copy, Debug)]
pub struct RunnerInfo {
    /// Its id.
    pub id: RunnerId,
    /// One line for `parbench list` and `--help`.
    pub about: &'static str,
    /// Whether speedups are computed against it (exactly one runner).
    pub reference: bool,
    /// Whether all its workers share one address space (threads of one process),
    /// which some workloads need.
    pub one_address_space: bool,
    /// Whether its workers are processes (start-up measured, a program to start).
    pub processes: bool,
    /// Whether workers that wait (sleep, I/O) overlap their waits.
    pub waits_well: bool,
    /// Most workers it runs; a larger request is clamped (`clamps`) or refused.
    pub max_workers: usize,
    /// Whether a request above `max_workers` is clamped rather than refused.
    pub clamps: bool,
    /// What it starts, per worker.
    pub started: Started,
    /// What it builds before timing and holds across samples, as a sentence names it
    /// ("rayon pool"); `None`: it holds nothing.
    pub holds: Option<&'static str>,
    /// Its costs beyond the tasks.
    pub cost: CostModel,
    /// Its pipeline model in a sentence (`None`: it has none yet, and is refused a
    /// pipeline); [`super::Runner::pipeline`] runs it.
    pub pipeline: Option<&'static str>,
    /// Why it cannot run `workers` workers in this process, if it cannot (the mpi
    /// runner outside `mpirun`), and whether to stay quiet about it when the runner
    /// was not asked for by name; `None`: it always can.
    pub refusal: Option<Refusal>,
    /// One letter marking it in text plots.
    pub symbol: char,
    /// Its colour in pictures (red, green, blue).
    pub color: [u8; 3],
}

impl RunnerInfo {
    /// Worker count used when the run asks for `workers`.
    pub fn workers(&self, workers: usize) -> usize {
        if self.clamps { workers.min(self.max_workers) } else { workers }
    }

    /// What it starts with `workers` workers.
    pub fn threads_started(&self, workers: usize) -> Started {
        self.started.times(self.workers(workers) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_align_in_columns_and_sort_in_list_order_then_by_text() {
        assert_eq!(format!("{:<8}|{:>8}", RunnerId::new("serial"), RunnerId::new("rayon")), "serial  |   rayon");
        let mut ids = [RunnerId::intern("zz"), RunnerId::intern("aa"), RunnerId::new("process"), RunnerId::reference()];
        ids.sort();
        let text: Vec<&str> = ids.iter().map(|i| i.as_str()).collect();
        assert_eq!(text, ["serial", "process", "aa", "zz"]);
        assert_eq!(RunnerId::known("threads"), Some(RunnerId::new("threads")));
        if cfg!(feature = "mpi") {
            assert_eq!(RunnerId::known("mpi"), Some(RunnerId::new("mpi")));
            assert_eq!(RunnerId::known_list(), "serial, threads, rayon, process, process-pool, async or mpi");
        } else {
            assert_eq!(RunnerId::known("mpi"), None);
            assert_eq!(RunnerId::known_list(), "serial, threads, rayon, process, process-pool or async");
        }
    }

    #[test]
    fn an_mpi_sample_reads_in_builds_with_and_without_the_feature_and_writes_back_the_same() {
        // A sample of the mpi runner as a build with the feature writes it: the id is a
        // plain string, so a build without the runner reads it as a foreign id, sorts it
        // after its own and writes it back unchanged.
        let text = r#"{"runner":"mpi","workers":2,"wall_ns":5,"cpu_ns":9,"other_cpu_ns":null,"per_worker":[],
            "verification":{"status":"verified","detail":"ok"}}"#;
        let sample: super::super::Sample = serde_json::from_str(text).unwrap();
        assert_eq!(sample.runner.as_str(), "mpi");
        assert_eq!(sample.runner.info().is_some(), cfg!(feature = "mpi"));
        assert!(RunnerId::new("async") < sample.runner);
        let back = serde_json::to_value(&sample).unwrap();
        assert_eq!(back["runner"], "mpi");
        assert_eq!(serde_json::from_value::<super::super::Sample>(back).unwrap(), sample);
    }
}

/// This build's runner ids under short names, for unit tests that build samples by hand.
#[cfg(test)]
#[allow(non_upper_case_globals)]
pub(crate) mod test_ids {
    use super::RunnerId;

    pub const Serial: RunnerId = RunnerId::new("serial");
    pub const Threads: RunnerId = RunnerId::new("threads");
    pub const Rayon: RunnerId = RunnerId::new("rayon");
    pub const Process: RunnerId = RunnerId::new("process");
    pub const Async: RunnerId = RunnerId::new("async");
}
