//! Runners: ways to execute all tasks of a workload with W workers, returning one
//! [`Sample`].
//!
//! Runners never print and never compute statistics. The one decision a reader would
//! otherwise get wrong: the timed region is measured *by the runner* with a
//! `Meter`, because only the runner knows where its parallel
//! region starts (after the rayon pool is built, before the processes are spawned).
//! Verification happens after the region ends, never inside it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::BenchError;
use crate::workload::{DynWorkload, Params, Prepare, SampleSlots, SharedState, Verification};

mod asynchronous;
pub mod kind;
#[cfg(feature = "mpi")]
mod mpi;
pub mod pipeline;
pub mod pool;
pub mod process;
mod rayon;
mod serial;
mod threads;

pub(crate) use crate::workload::slots::{TaskSlots, catch_quietly};
pub use kind::{CostModel, RunnerId, RunnerInfo, Started};

/// Most workers of any runner.
pub const MAX_WORKERS: usize = 1024;

pub use self::rayon::RayonRunner;
pub use asynchronous::AsyncRunner;
pub use pool::ProcessPoolRunner;
pub use process::ProcessRunner;
pub use serial::SerialRunner;
pub use threads::ThreadRunner;

/// Builds a runner for a worker count with the run's options.
pub type BuildRunner = fn(usize, &RunnerOptions) -> Result<Box<dyn Runner>, BenchError>;

/// A runner of this build: what it is and how to build it.
pub struct RunnerEntry {
    /// What other modules may ask about it.
    pub info: RunnerInfo,
    /// Builds it for `workers` workers (already limited by its info).
    pub build: BuildRunner,
}

/// The runners of this build, in report order. Adding a runner is a new file in this
/// directory with its `ENTRY`, and its line here.
pub static RUNNERS: &[RunnerEntry] = &[
    serial::ENTRY,
    threads::ENTRY,
    self::rayon::ENTRY,
    process::ENTRY,
    pool::ENTRY,
    asynchronous::ENTRY,
    #[cfg(feature = "mpi")]
    mpi::ENTRY,
];

impl RunnerId {
    /// Builds the runner: the one place an implementation is chosen. Set-up cost that
    /// is not part of a sample (the rayon pool) is paid before its first sample.
    pub fn build(self, workers: usize, options: &RunnerOptions) -> Result<Box<dyn Runner>, BenchError> {
        let entry = RUNNERS.iter().find(|r| r.info.id == self).ok_or_else(|| BenchError::Io {
            context: format!("building the {self} runner"),
            error: std::io::Error::other("this build of parbench has no such runner"),
        })?;
        (entry.build)(entry.info.workers(workers), options)
    }
}

/// The cores workers are pinned to, in order (worker `w` gets `cpus[w % len]`), when
/// `--pin` asks for it.
pub(crate) fn pin_cpus(options: &RunnerOptions) -> Option<std::sync::Arc<[usize]>> {
    options.pin.then(|| crate::sys::allowed_cpus().into())
}

/// How tasks are assigned to workers by the `threads` and `process` runners.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// Workers claim the next task when they finish one (like a pool).
    #[default]
    Dynamic,
    /// Worker w gets a contiguous block of tasks up front.
    Static,
}

impl Schedule {
    /// Name as typed on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Schedule::Dynamic => "dynamic",
            Schedule::Static => "static",
        }
    }

    /// The contiguous block of `tasks` that worker `worker` of `workers` gets.
    pub fn static_block(tasks: usize, worker: usize, workers: usize) -> std::ops::Range<usize> {
        crate::worker::static_block(tasks, worker, workers)
    }
}

/// Settings shared by the runners.
#[derive(Clone, Debug)]
pub struct RunnerOptions {
    /// Task assignment for `threads` and `process`.
    pub schedule: Schedule,
    /// Longest a process-runner sample may take before its children are killed.
    pub timeout: Duration,
    /// The parbench executable whose `worker` subcommand the process runner starts;
    /// `None` means this executable. Tests and benches, which are other executables,
    /// set it to the built `parbench` binary.
    pub worker_program: Option<std::path::PathBuf>,
    /// Pin one worker per core (CPU affinity); serial to the first allowed core.
    pub pin: bool,
}

impl Default for RunnerOptions {
    fn default() -> Self {
        RunnerOptions {
            schedule: Schedule::Dynamic,
            timeout: Duration::from_secs(60),
            worker_program: None,
            pin: false,
        }
    }
}

/// One case's workload, built and ready to run: in-process runners execute
/// `workload`; the process runner's children rebuild it from `name` and `params`.
pub struct Job {
    /// The registered workload's name.
    pub name: String,
    /// `name (parameters)`, for errors.
    pub label: String,
    /// The case's parameter values.
    pub params: Params,
    /// The built workload.
    pub workload: Box<dyn DynWorkload>,
    /// The run's `--timeout`, passed to tasks.
    pub timeout: Duration,
}

impl Job {
    /// Builds the workload `name` of `registry` with these parameter values (the rest
    /// take their defaults) for `workers` workers: for tests and benches that drive a
    /// runner directly.
    pub fn build(
        registry: &crate::Registry,
        name: &str,
        values: &[(&str, &str)],
        workers: usize,
    ) -> Result<Job, String> {
        let spec = registry.get(name).ok_or_else(|| format!("no workload {name:?}"))?;
        // The same path as a worker's set-up: each value parsed by its declaration, the
        // rest take their defaults.
        let given = values.iter().map(|(n, t)| (n.to_string(), serde_json::Value::String(t.to_string()))).collect();
        let params = Params::from_json(spec.params(), &given, workers, 1)?;
        let workload = spec.build(&params)?;
        let label = crate::workload::param::label(name, &params);
        Ok(Job { name: name.to_string(), label, params, workload, timeout: Duration::from_secs(60) })
    }
}

/// Executes all tasks of a workload, one sample at a time: [`Runner::prepare`] before
/// the samples, outside every timed region; [`Runner::release`] after them.
pub trait Runner {
    /// What this runner is: its id, capabilities, limits and cost model.
    fn info(&self) -> &'static RunnerInfo;

    /// Acquires what the runner holds across the samples of `job`'s case (a pool of
    /// threads, started processes with the workload set up, a runtime), outside every
    /// timed region; does nothing when it holds them already. Called before every
    /// sample, and again after a release.
    fn prepare(&mut self, _job: &Job) -> Result<(), BenchError> {
        Ok(())
    }

    /// Runs every task of `job` once and returns the sample, verified. The runner has
    /// been prepared.
    fn sample(&mut self, job: &Job) -> Result<Sample, BenchError>;

    /// Runs every item of the pipeline `pipeline` (the workload of `job`) once, in this
    /// runner's own pipeline model, and returns the sample, verified. A runner whose
    /// info declares a model implements it; the default refuses.
    fn pipeline(&mut self, job: &Job, pipeline: &dyn crate::workload::Pipeline) -> Result<Sample, BenchError> {
        let _ = pipeline;
        Err(BenchError::Setup {
            workload: job.label.clone(),
            reason: format!("the {} runner has no pipeline model yet", self.info().id),
        })
    }

    /// One sample of `job` in this runner's model: [`Runner::pipeline`] for a workload
    /// that defines its own topology, [`Runner::sample`] for independent tasks.
    fn run(&mut self, job: &Job) -> Result<Sample, BenchError> {
        match job.workload.pipeline() {
            Some(pipeline) => self.pipeline(job, pipeline),
            None => self.sample(job),
        }
    }

    /// Set-up time paid once outside the samples (the rayon pool build, a process
    /// pool's start), if any.
    fn setup_ns(&self) -> Option<u64> {
        None
    }

    /// Frees what the runner holds between samples (the rayon pool's threads, a
    /// process pool's children); the next [`Runner::prepare`] acquires it again.
    fn release(&mut self) {}
}

/// What the tasks of a sample allocated, counted by a [`crate::CountingAlloc`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Allocations {
    /// Allocations (and reallocations).
    pub count: u64,
    /// Bytes requested.
    pub bytes: u64,
}

/// Resident memory (RSS) during one sample, KiB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Memory {
    /// parbench's resident set as the sample began (after the runner's `prepare`:
    /// a pool or runtime it holds is already in it).
    pub start_kib: u64,
    /// parbench's resident high-water mark during the sample (reset as it began).
    pub peak_kib: u64,
}

/// When and where one task ran, relative to the start of the timed region.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// Worker that ran it.
    pub worker: u32,
    /// Start, ns after the region started.
    pub start_ns: u64,
    /// End, ns after the region started.
    pub end_ns: u64,
}

/// What one worker did in a sample.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WorkerStats {
    /// Time spent inside tasks.
    pub busy_ns: u64,
    /// Tasks run.
    pub tasks: u64,
}

/// One timed execution of all tasks by one runner.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Sample {
    /// Which runner.
    pub runner: RunnerId,
    /// Workers it used.
    pub workers: usize,
    /// Wall time of the timed region.
    pub wall_ns: u64,
    /// User + system CPU time (children included) during the region.
    pub cpu_ns: u64,
    /// CPU time other processes used during the region (coarse), if known.
    pub other_cpu_ns: Option<u64>,
    /// Process runner: time from the region's start until the last child answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_ns: Option<u64>,
    /// Process runner: the longest set-up (building the workload, its inputs and its
    /// worker state) of any child, paid while the clock was stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup_ns: Option<u64>,
    /// Process runner: from the last task's reply (the end of the timed region) until
    /// every child had exited, freeing what its set-up made; not part of `wall_ns`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teardown_ns: Option<u64>,
    /// What the tasks allocated, when the program installed a [`crate::CountingAlloc`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocations: Option<Allocations>,
    /// Involuntary context switches of parbench's threads and its reaped children
    /// during the sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preemptions: Option<u64>,
    /// Time the workers spent runnable but waiting for a CPU, summed over workers, ns
    /// (`/proc/.../schedstat`), where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waited_ns: Option<u64>,
    /// Async runner: the tasks that had no async form and ran inline, each blocking
    /// its worker thread until it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline_tasks: Option<u64>,
    /// parbench's resident memory during the sample, where it could be measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Memory>,
    /// Process runners: the resident high-water marks of the sample's worker
    /// processes, summed, KiB (each over its own life; they need not all have peaked
    /// at once, so their peak together was at most this).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub children_peak_kib: Option<u64>,
    /// Per worker: busy time and task count.
    pub per_worker: Vec<WorkerStats>,
    /// Per task: where and when it ran. Not written to result files (it grows with
    /// the task count); summarised in `per_worker`.
    #[serde(skip)]
    pub tasks: Vec<TaskRecord>,
    /// The result check.
    pub verification: Verification,
    /// A pipeline's stages, bottleneck, throughput bound and measured throughput.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<pipeline::PipelineStats>,
}

/// A sample is preempted when its workers were denied CPU time they could have used
/// for more than this share of min(workers, cores) x wall time.
pub const PREEMPTED_SHARE: f64 = 0.05;

impl Sample {
    /// Whether, on `cores` cores, the workers were denied more than [`PREEMPTED_SHARE`]
    /// of the CPU time they could have used. W CPU-bound workers on C < W cores must
    /// wait (1 - C/W) of their time for each other; that is the plan, not preemption.
    /// What counts is CPU they could have had and did not get: min(C x wall, CPU +
    /// waited) - CPU, against min(W, C) x wall.
    pub fn preempted(&self, cores: usize) -> bool {
        let Some(waited) = self.waited_ns else { return false };
        let (wall, cpu) = (self.wall_ns as f64, self.cpu_ns as f64);
        let denied = (cores as f64 * wall).min(cpu + waited as f64) - cpu;
        denied > PREEMPTED_SHARE * self.workers.min(cores) as f64 * wall
    }

    /// Load imbalance: the busiest worker's busy time over the mean busy time (1.0 is
    /// perfect balance); `None` when no worker was busy.
    pub fn imbalance(&self) -> Option<f64> {
        let busy: Vec<f64> = self.per_worker.iter().map(|w| w.busy_ns as f64).collect();
        let mean = busy.iter().sum::<f64>() / busy.len().max(1) as f64;
        (mean > 0.0).then(|| busy.iter().copied().fold(0.0, f64::max) / mean)
    }
}

/// Task records of `slots` relative to `origin` after all workers have been joined, or
/// the first task failure.
fn records(slots: &TaskSlots<'_>, tasks: usize, origin: u64) -> Result<Vec<TaskRecord>, (usize, String)> {
    if let Some(failure) = slots.failure() {
        return Err(failure);
    }
    Ok((0..tasks)
        .map(|task| {
            let (worker, start, end) = slots.times(task).unwrap_or((0, origin, origin));
            TaskRecord {
                worker: worker as u32,
                start_ns: start.saturating_sub(origin),
                end_ns: end.saturating_sub(origin),
            }
        })
        .collect())
}

/// Assembles a verified sample from the raw results of a region.
pub(crate) fn finish_sample(
    runner: RunnerId,
    workers: usize,
    slots: &mut dyn SampleSlots,
    measured: crate::sys::Measured,
    tasks: Vec<TaskRecord>,
    shared: &SharedState,
) -> Sample {
    let mut per_worker = vec![WorkerStats::default(); workers];
    for t in &tasks {
        if let Some(w) = per_worker.get_mut(t.worker as usize) {
            // Task times may come from a worker process: saturate, never overflow.
            w.busy_ns = w.busy_ns.saturating_add(t.end_ns.saturating_sub(t.start_ns));
            w.tasks += 1;
        }
    }
    let verification = catch_quietly(|| slots.verify(shared))
        .unwrap_or_else(|message| Verification::failed(format!("its verification {message}")));
    Sample::measured(runner, workers, measured, per_worker, tasks, verification)
}

impl Sample {
    /// A sample of what a runner's meter measured, its workers and tasks, and its
    /// verification; every other field empty, for the runner to fill in.
    pub(crate) fn measured(
        runner: RunnerId,
        workers: usize,
        measured: crate::sys::Measured,
        per_worker: Vec<WorkerStats>,
        tasks: Vec<TaskRecord>,
        verification: Verification,
    ) -> Sample {
        Sample {
            runner,
            workers,
            wall_ns: measured.wall.as_nanos() as u64,
            cpu_ns: measured.cpu_ns,
            other_cpu_ns: measured.other_cpu_ns,
            startup_ns: None,
            setup_ns: None,
            teardown_ns: None,
            allocations: None,
            preemptions: Some(measured.preemptions),
            waited_ns: None,
            inline_tasks: None,
            memory: None,
            children_peak_kib: None,
            per_worker,
            tasks,
            verification,
            pipeline: None,
        }
    }
}

#[cfg(test)]
impl Sample {
    /// A sample for unit tests, through [`Sample::measured`] as a runner makes one:
    /// `wall_ns` of wall time, `cpu_ns` of CPU, no CPU of other processes and no
    /// preemption, these workers and this verification; the test sets what else it needs.
    pub(crate) fn simulated(
        runner: RunnerId,
        workers: usize,
        wall_ns: u64,
        cpu_ns: u64,
        per_worker: Vec<WorkerStats>,
        verification: Verification,
    ) -> Sample {
        let measured =
            crate::sys::Measured { wall: Duration::from_nanos(wall_ns), cpu_ns, other_cpu_ns: Some(0), preemptions: 0 };
        Sample::measured(runner, workers, measured, per_worker, Vec::new(), verification)
    }
}

/// Runs an in-process sample: shared state, inputs, worker states and output slots
/// are prepared before the clock starts, and dropped after it stops; `region` executes
/// the tasks and may fail to start its workers.
pub(crate) fn run_in_process(
    runner: RunnerId,
    workers: usize,
    job: &Job,
    region: impl FnOnce(&TaskSlots<'_>, &SharedState) -> Result<(), BenchError>,
) -> Result<Sample, BenchError> {
    let workload = job.workload.as_ref();
    let tasks = workload.task_count();
    let shared = SharedState::heap(workload.shared_slots(workers));
    let what = Prepare { inputs: 0..tasks, workers: 0..workers };
    let mut slots = TaskSlots::new(workload, what).map_err(|reason| BenchError::Setup {
        workload: job.label.clone(),
        reason: format!("preparing a sample {reason}"),
    })?;
    let meter = crate::sys::Meter::start();
    let origin = meter.start_mono_ns();
    let started = region(&slots, &shared);
    let measured = meter.stop();
    started?;
    let records = records(&slots, tasks, origin).map_err(|(task, message)| BenchError::TaskFailed {
        runner: runner.as_str(),
        workload: job.label.clone(),
        task,
        message,
    })?;
    let mut sample = finish_sample(runner, workers, slots.slots(), measured, records, &shared);
    sample.allocations = slots.allocations().map(|(count, bytes)| Allocations { count, bytes });
    // The inputs, worker states and outputs are freed here, with the clock stopped.
    drop(slots);
    Ok(sample)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_is_preempted_only_when_its_workers_were_denied_cpu_they_could_use() {
        let sample = |workers, cpu_ms: f64, waited_ms: Option<f64>| Sample {
            preemptions: Some(3),
            waited_ns: waited_ms.map(|w| (w * 1e6) as u64),
            ..Sample::simulated(
                RunnerId::new("threads"),
                workers,
                1_000_000_000,
                (cpu_ms * 1e6) as u64,
                Vec::new(),
                Verification::verified("ok"),
            )
        };
        // 2 workers on 2 cores for 1 s: 5% of 2 s is 100 ms.
        assert!(!sample(2, 1900.0, Some(100.0)).preempted(2));
        assert!(sample(2, 1880.0, Some(120.0)).preempted(2));
        // 4 CPU-bound workers on 2 cores, alone: 2 s of CPU, and each waited half the
        // time for the others (2 s in all). Nothing was denied: not preempted.
        assert!(!sample(4, 2000.0, Some(2000.0)).preempted(2));
        // The same with other work taking one core: 1 s of CPU, 3 s waited. The workers
        // could have used 2 s and got 1: preempted.
        assert!(sample(4, 1000.0, Some(3000.0)).preempted(2));
        assert!(!sample(2, 0.0, None).preempted(2), "unknown is not preempted");
    }

    #[test]
    fn a_task_failure_is_its_sentence_and_any_other_panic_names_its_place() {
        let failure =
            catch_quietly(|| std::panic::panic_any(crate::workload::TaskFailure("command \"x\" failed".into())));
        assert_eq!(failure, Err::<(), _>("command \"x\" failed".to_string()));
        let other = catch_quietly(|| panic!("boom")).unwrap_err();
        assert!(other.starts_with("panicked at src/runner/mod.rs:") && other.ends_with(": boom"), "{other}");
    }

    #[test]
    fn a_runner_without_a_pipeline_model_refuses_a_pipeline_in_one_line() {
        struct TasksOnly;
        static INFO: RunnerInfo = RunnerInfo { id: RunnerId::new("tasks-only"), pipeline: None, ..serial::ENTRY.info };
        impl Runner for TasksOnly {
            fn info(&self) -> &'static RunnerInfo {
                &INFO
            }
            fn sample(&mut self, _job: &Job) -> Result<Sample, BenchError> {
                panic!("a pipeline is never run as tasks")
            }
        }
        let job = Job::build(&crate::Registry::with_builtins(), "pipeline", &[("items", "2")], 1).unwrap();
        let err = TasksOnly.run(&job).expect_err("refused").to_string();
        assert_eq!(
            err,
            "setting up pipeline (items=2, stages=\"cpu:200us,sleep:1ms,cpu:200us\", queue=16) failed: the \
             tasks-only runner has no pipeline model yet"
        );
    }

    #[test]
    fn static_blocks_cover_every_task_once() {
        for (tasks, workers) in [(8, 3), (3, 8), (4, 4), (1, 2), (10, 1)] {
            let mut all: Vec<usize> = (0..workers).flat_map(|w| Schedule::static_block(tasks, w, workers)).collect();
            all.sort();
            assert_eq!(all, (0..tasks).collect::<Vec<_>>(), "{tasks} tasks, {workers} workers");
        }
    }
}
