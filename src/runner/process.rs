//! The `process` runner: W child processes of the running program (`current_exe()`,
//! the user's bench binary when parbench is a library, with the hidden `worker`
//! subcommand), spawned inside the timed region because start-up is the honest cost of
//! processes. The children and their protocol are the worker layer's
//! (`crate::worker`); this file decides what is timed.
//!
//! A sample is timed in two parts with the workload's set-up between them: spawn until
//! every child has said hello (start-up), then the tasks until the last task's reply.
//! The set-up, where each child builds its own copy of the workload, its inputs and its
//! worker state, runs while the clock is stopped, as it does for the in-process
//! runners; its CPU time is taken out. So is the teardown: the outputs and statistics
//! travel back and the children free their set-up and exit after the clock has
//! stopped (reported on its own as `teardown_ns`).
//!
//! The set-up lines, the timed region and the collection of outputs and statistics are
//! functions of their own here, shared with the `process-pool` runner, which keeps its
//! children across samples instead.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::{
    CostModel, Job, Runner, RunnerEntry, RunnerId, RunnerInfo, RunnerOptions, Sample, Schedule, Started, TaskRecord,
    TaskSlots, finish_sample,
};
use crate::error::BenchError;
use crate::sys::Meter;
use crate::worker::lifecycle::{self, Ran};
use crate::worker::protocol::{Request, Setup, SharedSpec, Stats};
use crate::worker::{Children, Dispatch, Plan};
use crate::workload::{Prepare, SharedState};

/// Runs tasks in W child processes.
pub struct ProcessRunner {
    pin: Option<std::sync::Arc<[usize]>>,
    workers: usize,
    schedule: Schedule,
    timeout: Duration,
    program: PathBuf,
    args: Vec<OsString>,
}

impl ProcessRunner {
    /// A runner whose children are this executable's hidden `worker` subcommand.
    pub fn new(workers: usize, schedule: Schedule, timeout: Duration) -> Result<Self, BenchError> {
        let program = std::env::current_exe()
            .map_err(|error| BenchError::Io { context: "finding parbench's own executable".into(), error })?;
        Ok(Self::with_program(workers, schedule, timeout, program, vec!["worker".into()]))
    }

    /// A runner whose children run `program args...` (tests use this to start
    /// misbehaving children).
    pub fn with_program(
        workers: usize,
        schedule: Schedule,
        timeout: Duration,
        program: PathBuf,
        args: Vec<OsString>,
    ) -> Self {
        ProcessRunner { pin: None, workers: workers.max(1), schedule, timeout, program, args }
    }

    /// The same runner with child `w` pinned to `pin[w % len]` during its set-up.
    pub fn pinned(mut self, pin: Option<std::sync::Arc<[usize]>>) -> Self {
        self.pin = pin;
        self
    }

    /// Timed: spawn every child and wait for its hello.
    fn start(&self, stderr_files: Vec<std::fs::File>) -> Result<Children, BenchError> {
        let mut children = Children::spawn(&self.program, &self.args, stderr_files, self.timeout)?;
        lifecycle::hello(&mut children)?;
        Ok(children)
    }
}

/// The hand-out of tasks a schedule means.
pub(super) fn plan(schedule: Schedule) -> Plan {
    match schedule {
        Schedule::Dynamic => Plan::Dynamic,
        Schedule::Static => Plan::Static,
    }
}

/// Each child's set-up line, encoded before the clock starts. Under static scheduling
/// a child knows its block and makes only those inputs; under dynamic scheduling any
/// task may come to it.
pub(super) fn setups(
    job: &Job,
    workers: usize,
    schedule: Schedule,
    pin: Option<&[usize]>,
    shared: Option<SharedSpec>,
) -> Vec<Vec<u8>> {
    let tasks = job.workload.task_count();
    let params = job.params.to_json();
    (0..workers)
        .map(|worker| {
            let block = Schedule::static_block(tasks, worker, workers);
            let setup = Setup {
                worker,
                workers,
                workload: job.name.clone(),
                params: params.clone(),
                case_workers: job.params.workers(),
                seed: job.params.seed(),
                shared: shared.clone(),
                pin: pin.map(|cpus| cpus[worker % cpus.len()]),
                timeout_ms: job.timeout.as_millis().min(u128::from(u64::MAX)) as u64,
                inputs: (schedule == Schedule::Static).then_some([block.start, block.end]),
                stage: None,
            };
            let mut line = Vec::new();
            Request::Setup(Box::new(setup)).write(&mut line).expect("writing to memory");
            line
        })
        .collect()
}

/// The shared slots of a sample (or of a pool's every sample): shared memory the
/// children inherit when the workload needs any.
pub(super) fn shared_state(slots: usize) -> Result<(SharedState, Option<SharedSpec>), BenchError> {
    if slots == 0 {
        return Ok((SharedState::heap(0), None));
    }
    let state = SharedState::shared_memory(slots)
        .map_err(|error| BenchError::Io { context: "sharing memory with the worker processes".into(), error })?;
    let fd = state.inherited_fd().expect("shared memory has a descriptor");
    Ok((state, Some(SharedSpec { fd, slots })))
}

/// The process runner's line in [`super::RUNNERS`].
pub(super) const ENTRY: RunnerEntry = RunnerEntry {
    info: RunnerInfo {
        id: RunnerId::new("process"),
        about: "W child processes of this program, spawned per sample; tasks sent over pipes",
        reference: false,
        one_address_space: false,
        processes: true,
        waits_well: true,
        // Each child is a process and the pipes that join it; more would exhaust
        // descriptors and process limits long before they could help.
        max_workers: 256,
        clamps: false,
        // A process worker is a process; one poll loop in the calling thread reads
        // every child's replies.
        started: Started { held_threads: 0, held_tasks: 0, sample_threads: 0, sample_tasks: 1 },
        holds: None,
        cost: CostModel { start_s: 0.000_5, set_up_per_worker: true },
        pipeline: Some(
            "a group of worker processes per stage (W split over the stages); items travel over their pipes, \
             relayed by the parent's one poll loop",
        ),
        refusal: None,
        symbol: 'p',
        color: [214, 39, 40],
    },
    build: |workers, options: &RunnerOptions| {
        let runner = match &options.worker_program {
            Some(program) => ProcessRunner::with_program(
                workers,
                options.schedule,
                options.timeout,
                program.clone(),
                vec!["worker".into()],
            ),
            None => ProcessRunner::new(workers, options.schedule, options.timeout)?,
        };
        Ok(Box::new(runner.pinned(super::pin_cpus(options))))
    },
};

impl Runner for ProcessRunner {
    fn info(&self) -> &'static RunnerInfo {
        &ENTRY.info
    }

    fn sample(&mut self, job: &Job) -> Result<Sample, BenchError> {
        let workload = job.workload.as_ref();
        let (workers, tasks) = (self.workers, workload.task_count());
        let (shared, spec) = shared_state(workload.shared_slots(workers))?;
        // Everything that can be prepared is prepared before the clock starts.
        let setups = setups(job, workers, self.schedule, self.pin.as_deref(), spec);
        let mut outputs = parent_slots(job)?;
        let mut records = vec![TaskRecord { worker: 0, start_ns: 0, end_ns: 0 }; tasks];
        let mut dispatch = Dispatch::new(tasks, workers, plan(self.schedule));
        let stderr_files = Children::stderr_files(workers)?;

        // Timed: start-up, the honest cost of processes.
        let meter = Meter::start();
        let started = self.start(stderr_files);
        let startup = meter.stop();
        let mut children = started?;
        // Not timed: every child builds the workload, its inputs and its worker state.
        let (setup_ns, setup_cpu_ns) = lifecycle::set_up(&mut children, &setups)?;

        // Timed again: the tasks, until the last one's reply. Task times are shown after
        // the start-up on the sample's timeline.
        let region = run_region(&mut children, &mut dispatch, &mut records, job, ENTRY.info.id, startup.wall)?;
        let ended = Instant::now();

        // Not timed: outputs and statistics, then each child frees what it made and exits.
        let collected = collect(&mut children, &mut outputs)?;
        lifecycle::quit(&mut children)?;
        let teardown_ns = ended.elapsed().as_nanos() as u64;
        drop(children);
        // The children's CPU time counts from their start: their set-up is taken out.
        let collected = collected.without_cpu(setup_cpu_ns);
        let measured = startup.plus(region);
        let mut sample = collected.sample(ENTRY.info.id, workers, &mut outputs, measured, records, &shared);
        sample.startup_ns = Some(startup.wall.as_nanos() as u64);
        sample.setup_ns = Some(setup_ns);
        sample.teardown_ns = Some(teardown_ns);
        Ok(sample)
    }

    fn pipeline(&mut self, job: &Job, pipeline: &dyn crate::workload::Pipeline) -> Result<Sample, BenchError> {
        self.staged(job, pipeline)
    }
}

/// The parent's slots of a sample of worker processes: no inputs and no worker state,
/// only the outputs it collects (made before the clock starts).
pub(super) fn parent_slots(job: &Job) -> Result<TaskSlots<'_>, BenchError> {
    TaskSlots::new(job.workload.as_ref(), Prepare { inputs: 0..0, workers: 0..0 })
        .map_err(|reason| BenchError::Setup { workload: job.label.clone(), reason })
}

/// The timed region of a sample of worker processes: hands out every task as
/// `dispatch` decides and records each in `records`, times after `before` (a start-up
/// timed before it, shown first on the timeline). A task's failure is the sample's.
pub(super) fn run_region(
    children: &mut Children,
    dispatch: &mut Dispatch,
    records: &mut [TaskRecord],
    job: &Job,
    runner: RunnerId,
    before: Duration,
) -> Result<crate::sys::Measured, BenchError> {
    let meter = Meter::start();
    let origin = meter.start_mono_ns().saturating_sub(before.as_nanos() as u64);
    let ran = lifecycle::run_tasks(children, dispatch, |worker, task, start, end| {
        let (start_ns, end_ns) = (start.saturating_sub(origin), end.saturating_sub(origin));
        records[task] = TaskRecord { worker: worker as u32, start_ns, end_ns };
    });
    let region = meter.stop();
    match ran? {
        Ran::All => Ok(region),
        Ran::Failed { task, message } => {
            Err(BenchError::TaskFailed { runner: runner.as_str(), workload: job.label.clone(), task, message })
        }
    }
}

/// What the children sent back after a region: the sum of their statistics, and the
/// first output that could not be decoded.
pub(super) struct Collected {
    stats: Stats,
    undecodable: Option<String>,
}

/// Ends the sample in every child (untimed): their outputs into `outputs`, their
/// statistics summed.
pub(super) fn collect(children: &mut Children, outputs: &mut TaskSlots<'_>) -> Result<Collected, BenchError> {
    let mut undecodable = None;
    let slots = outputs.slots();
    let stats = lifecycle::collect(children, |task, json| {
        if let Err(detail) = slots.decode(task, json) {
            undecodable.get_or_insert(detail);
        }
    })?;
    Ok(Collected { stats, undecodable })
}

impl Collected {
    /// What workers sent back by another transport (the mpi runner's messages).
    #[cfg(feature = "mpi")]
    pub(super) fn new(stats: Stats, undecodable: Option<String>) -> Collected {
        Collected { stats, undecodable }
    }

    /// The same, with `cpu_ns` the children spent untimed (their set-up) taken out.
    pub(super) fn without_cpu(mut self, cpu_ns: u64) -> Collected {
        self.stats.cpu_ns = self.stats.cpu_ns.saturating_sub(cpu_ns);
        self
    }

    /// The verified sample: the parent's `measured` cost plus the children's CPU time,
    /// switches and CPU wait from their statistics (read before they freed anything; no
    /// child was reaped inside the region, so the meter counted the parent alone).
    pub(super) fn sample(
        self,
        runner: RunnerId,
        workers: usize,
        outputs: &mut TaskSlots<'_>,
        measured: crate::sys::Measured,
        records: Vec<TaskRecord>,
        shared: &SharedState,
    ) -> Sample {
        let stats = self.stats;
        let measured = with_children(measured, stats.cpu_ns, stats.switches);
        let mut sample = finish_sample(runner, workers, outputs.slots(), measured, records, shared);
        sample.waited_ns = stats.waited_ns;
        sample.children_peak_kib = stats.peak_kib;
        sample.allocations = stats.allocations.map(|(count, bytes)| super::Allocations { count, bytes });
        if let Some(detail) = self.undecodable {
            sample.verification = crate::workload::Verification::failed(format!(
                "an output did not survive the trip from its worker process as JSON ({detail}; NaN and \
                 infinities travel as null)"
            ));
        }
        sample
    }
}

impl ProcessRunner {
    /// The seeds' subprocess pipeline: a group of worker processes per stage, started
    /// per sample like the tasks' (start-up timed, set-up not); every item goes parent
    /// -> stage 1 -> parent -> stage 2 ... over the children's pipes, the parent's one
    /// poll loop keeping the queues between stages bounded. A stage that fails, exits
    /// or stays silent past `--timeout` ends the sample: dropping the children kills
    /// every stage's process group.
    fn staged(&self, job: &Job, pipeline: &dyn crate::workload::Pipeline) -> Result<Sample, BenchError> {
        let split = super::pipeline::split(self.workers, pipeline.stages());
        let stage_of = stage_of(&split);
        let setups = stage_setups(job, &stage_of, self.pin.as_deref());
        let stderr_files = Children::stderr_files(stage_of.len())?;

        // Timed: start-up. Not timed: each stage process builds the workload.
        let meter = Meter::start();
        let started = self.start(stderr_files);
        let startup = meter.stop();
        let mut children = started?;
        let (setup_ns, setup_cpu_ns) = lifecycle::set_up(&mut children, &setups)?;

        // Timed again: every item through every stage.
        let relayed = relay_region(&mut children, job, pipeline, &stage_of, ENTRY.info.id)?;
        let ended = Instant::now();
        let stats = lifecycle::collect(&mut children, |_, _| {})?;
        lifecycle::quit(&mut children)?;
        let teardown_ns = ended.elapsed().as_nanos() as u64;
        drop(children);

        let measured = measured(startup.plus(relayed.region), &stats, setup_cpu_ns);
        let mut sample = relayed.sample(ENTRY.info.id, pipeline, &split, &stage_of, measured, &stats);
        sample.startup_ns = Some(startup.wall.as_nanos() as u64);
        sample.setup_ns = Some(setup_ns);
        sample.teardown_ns = Some(teardown_ns);
        Ok(sample)
    }
}

/// The stage of each stage process, from the split of the workers over the stages.
pub(super) fn stage_of(split: &[usize]) -> Vec<usize> {
    split.iter().enumerate().flat_map(|(s, &n)| std::iter::repeat_n(s, n)).collect()
}

/// Each stage process's set-up line (child `w` runs stage `stage_of[w]`), encoded
/// before anything is timed.
pub(super) fn stage_setups(job: &Job, stage_of: &[usize], pin: Option<&[usize]>) -> Vec<Vec<u8>> {
    let params = job.params.to_json();
    let workers = stage_of.len();
    stage_of
        .iter()
        .enumerate()
        .map(|(worker, &stage)| {
            let setup = Setup {
                worker,
                workers,
                workload: job.name.clone(),
                params: params.clone(),
                case_workers: job.params.workers(),
                seed: job.params.seed(),
                shared: None,
                pin: pin.map(|cpus| cpus[worker % cpus.len()]),
                timeout_ms: job.timeout.as_millis().min(u128::from(u64::MAX)) as u64,
                inputs: Some([0, 0]),
                stage: Some(stage),
            };
            let mut line = Vec::new();
            Request::Setup(Box::new(setup)).write(&mut line).expect("writing to memory");
            line
        })
        .collect()
}

/// What a relayed region of stage processes measured: its cost, each child's busy
/// time and items, and what arrived at the sink.
pub(super) struct Relay {
    /// The parent's cost of the region.
    pub(super) region: crate::sys::Measured,
    busy: Vec<(u64, u64)>,
    sink: super::pipeline::Sink,
}

/// The timed region of a stage pipeline of processes set up as `stage_of` says: every
/// item relayed parent -> stage -> parent through every stage. A stage that fails,
/// exits or stays silent is the run's error naming it.
pub(super) fn relay_region(
    children: &mut Children,
    job: &Job,
    pipeline: &dyn crate::workload::Pipeline,
    stage_of: &[usize],
    runner: RunnerId,
) -> Result<Relay, BenchError> {
    use super::pipeline::{Fault, Sink};
    let values: Vec<u64> = (0..pipeline.items()).map(|i| pipeline.source(i)).collect();
    let sink = Sink::new(values.len());
    let mut busy = vec![(0u64, 0u64); stage_of.len()];
    let fault =
        |stage: usize, message: String| Fault { stage: Some(stage), message }.error(runner, job, pipeline.stages());
    let meter = Meter::start();
    let relayed = lifecycle::relay(
        children,
        stage_of,
        &values,
        pipeline.queue().max(1),
        |item, value| sink.arrive(item, value),
        |child, start, end| {
            busy[child].0 = busy[child].0.saturating_add(end.saturating_sub(start));
            busy[child].1 += 1;
        },
    );
    let region = meter.stop();
    match relayed {
        Err((stage, error)) => Err(fault(stage, error.to_string())),
        Ok(lifecycle::Relayed::Failed { stage, message }) => Err(fault(stage, message)),
        Ok(lifecycle::Relayed::All) => Ok(Relay { region, busy, sink }),
    }
}

impl Relay {
    /// The verified sample: per-stage statistics summed over each stage's processes,
    /// `measured` the sample's cost and `stats` the children's statistics.
    pub(super) fn sample(
        self,
        runner: RunnerId,
        pipeline: &dyn crate::workload::Pipeline,
        split: &[usize],
        stage_of: &[usize],
        measured: crate::sys::Measured,
        stats: &Stats,
    ) -> Sample {
        use super::pipeline::{PipelineStats, StageStats};
        let stages = pipeline
            .stages()
            .iter()
            .enumerate()
            .map(|(s, stage)| {
                let of_stage = stage_of.iter().zip(&self.busy).filter(|(of, _)| **of == s).map(|(_, b)| *b);
                let (busy_ns, items) = of_stage.fold((0, 0), |(a, b), (c, d)| (a + c, b + d));
                StageStats { name: stage.name.clone(), workers: split[s], items, busy_ns }
            })
            .collect();
        let per_worker = self.busy.iter().map(|&(busy_ns, tasks)| super::WorkerStats { busy_ns, tasks }).collect();
        let stats_of = PipelineStats::new(stages, false, pipeline.items(), measured.wall.as_nanos() as u64);
        let verification = self.sink.verify(pipeline);
        let mut sample =
            super::pipeline::pipeline_sample(runner, stage_of.len(), measured, per_worker, verification, stats_of);
        sample.waited_ns = stats.waited_ns;
        sample.children_peak_kib = stats.peak_kib;
        sample
    }
}

/// The parent's `measured` cost with the worker processes' CPU time and switches in
/// the timed parts added. The machine's busy time counted those processes as other
/// processes (they were not reaped when the clock stopped, so parbench's own CPU time
/// did not hold them): their CPU time is taken out of it, or a quiet machine would look
/// busy under every process runner.
fn with_children(mut measured: crate::sys::Measured, children_cpu_ns: u64, switches: u64) -> crate::sys::Measured {
    measured.cpu_ns = measured.cpu_ns.saturating_add(children_cpu_ns);
    measured.other_cpu_ns = measured.other_cpu_ns.map(|o| o.saturating_sub(children_cpu_ns));
    measured.preemptions = measured.preemptions.saturating_add(switches);
    measured
}

/// The cost of a stage pipeline's sample: its timed parts (start-up and region), plus
/// the stage processes' CPU time and switches less what their untimed set-up used.
pub(super) fn measured(timed: crate::sys::Measured, stats: &Stats, setup_cpu_ns: u64) -> crate::sys::Measured {
    with_children(timed, stats.cpu_ns.saturating_sub(setup_cpu_ns), stats.switches)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::with_children;
    use crate::sys::Measured;

    #[test]
    fn the_workers_cpu_time_is_parbench_s_not_another_process_s() {
        let ms = 1_000_000;
        let parent =
            Measured { wall: Duration::from_millis(50), cpu_ns: 2 * ms, other_cpu_ns: Some(95 * ms), preemptions: 1 };
        let m = with_children(parent, 90 * ms, 4);
        assert_eq!((m.cpu_ns, m.other_cpu_ns, m.preemptions), (92 * ms, Some(5 * ms), 5));
        // Ticks of /proc/stat can count less than the workers used: never below zero.
        assert_eq!(with_children(parent, 120 * ms, 0).other_cpu_ns, Some(0));
        assert_eq!(with_children(Measured { other_cpu_ns: None, ..parent }, 90 * ms, 0).other_cpu_ns, None);
    }
}
