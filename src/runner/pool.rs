//! The `process-pool` runner: W worker processes (this program's hidden `worker`
//! subcommand, as under `process`) started once per case, before any timed region, and
//! reused for every sample of it: the seeds' `multiprocessing.Pool` and
//! `ProcessPoolExecutor`. Their start-up and set-up (each child builds the workload,
//! its inputs and its worker state) are the pool's set-up, reported once like the
//! rayon pool's build; a sample times only the hand-out of its tasks.
//!
//! Each sample is opened untimed with `next` (every child makes its inputs again and
//! keeps its worker state), timed from the first task sent to the last task's reply,
//! and closed untimed by the outputs and each child's statistics (CPU time, switches,
//! CPU wait of that sample: a pool never exits, so nothing is read from exit-time
//! usage). Shared memory (the counter's) is made with the pool, so the children inherit
//! it, and zeroed before every sample. Release asks the children to quit and reaps
//! them; any error drops the pool, which kills and reaps every child.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use super::TaskRecord;
use super::process::{
    collect, measured, parent_slots, plan, relay_region, run_region, setups, shared_state, stage_of, stage_setups,
};
use super::{CostModel, Job, Runner, RunnerEntry, RunnerId, RunnerInfo, RunnerOptions, Sample, Schedule, Started};
use crate::error::BenchError;
use crate::worker::{Dispatch, Pool};
use crate::workload::SharedState;

/// Runs tasks in W worker processes kept across samples.
pub struct ProcessPoolRunner {
    pin: Option<std::sync::Arc<[usize]>>,
    workers: usize,
    schedule: Schedule,
    timeout: Duration,
    program: PathBuf,
    args: Vec<OsString>,
    held: Option<Held>,
    /// The first start's time.
    setup_ns: Option<u64>,
}

/// A started pool and what it was started for.
struct Held {
    pool: Pool,
    /// The shared slots its children inherited.
    shared: SharedState,
    /// The job's label: a pool serves one case.
    label: String,
    /// For a pipeline: the workers per stage and each child's stage.
    stages: Option<(Vec<usize>, Vec<usize>)>,
}

impl ProcessPoolRunner {
    /// A runner whose children run `program args...` (this program's `worker`
    /// subcommand, or a test's stand-in).
    pub fn with_program(
        workers: usize,
        schedule: Schedule,
        timeout: Duration,
        program: PathBuf,
        args: Vec<OsString>,
    ) -> Self {
        ProcessPoolRunner {
            pin: None,
            workers: workers.max(1),
            schedule,
            timeout,
            program,
            args,
            held: None,
            setup_ns: None,
        }
    }

    /// The same runner with child `w` pinned to `pin[w % len]` from its set-up on.
    pub fn pinned(mut self, pin: Option<std::sync::Arc<[usize]>>) -> Self {
        self.pin = pin;
        self
    }

    /// The pids of the pool's children, in worker order (none before `prepare`).
    pub fn pids(&self) -> Vec<u32> {
        self.held.as_ref().map_or_else(Vec::new, |h| h.pool.pids())
    }

    /// One sample on the prepared pool.
    fn sample_pooled(&mut self, job: &Job) -> Result<Sample, BenchError> {
        let workers = self.workers;
        let held = match self.held.as_mut() {
            Some(held) if held.label == job.label => held,
            _ => {
                return Err(BenchError::Setup {
                    workload: job.label.clone(),
                    reason: "the process-pool runner was not prepared for it".into(),
                });
            }
        };
        let tasks = job.workload.task_count();
        // Untimed: the parent's outputs, the hand-out, the shared slots zeroed, and every
        // child's fresh inputs. The children count their statistics from here.
        let mut outputs = parent_slots(job)?;
        let mut records = vec![TaskRecord { worker: 0, start_ns: 0, end_ns: 0 }; tasks];
        let mut dispatch = Dispatch::new(tasks, workers, plan(self.schedule));
        held.shared.slots().iter().for_each(|slot| slot.store(0, Relaxed));
        let (reset_ns, _) = held.pool.next_sample()?;
        // Timed: the tasks, from the first sent to the last one's reply.
        let region = run_region(held.pool.children(), &mut dispatch, &mut records, job, ENTRY.info.id, Duration::ZERO)?;
        // Untimed: outputs and statistics; the children stay, waiting for the next sample.
        let collected = collect(held.pool.children(), &mut outputs)?;
        let mut sample = collected.sample(ENTRY.info.id, workers, &mut outputs, region, records, &held.shared);
        sample.setup_ns = Some(reset_ns);
        Ok(sample)
    }
}

impl ProcessPoolRunner {
    /// One pipeline sample on the prepared stage processes: opened untimed with `next`,
    /// every item relayed parent -> stage -> parent as under `process` (timed), then
    /// each stage's statistics (untimed); the processes stay for the next sample.
    fn staged(&mut self, job: &Job, pipeline: &dyn crate::workload::Pipeline) -> Result<Sample, BenchError> {
        let held = match self.held.as_mut() {
            Some(held) if held.label == job.label && held.stages.is_some() => held,
            _ => {
                return Err(BenchError::Setup {
                    workload: job.label.clone(),
                    reason: "the process-pool runner was not prepared for it as a pipeline".into(),
                });
            }
        };
        let (split, stage_of) = held.stages.clone().expect("a pipeline's pool");
        let (reset_ns, _) = held.pool.next_sample()?;
        let relayed = relay_region(held.pool.children(), job, pipeline, &stage_of, ENTRY.info.id)?;
        let stats = crate::worker::lifecycle::collect(held.pool.children(), |_, _| {})?;
        // The statistics count from the `next`: no set-up to take out, no start-up.
        let measured = measured(relayed.region, &stats, 0);
        let mut sample = relayed.sample(ENTRY.info.id, pipeline, &split, &stage_of, measured, &stats);
        sample.setup_ns = Some(reset_ns);
        Ok(sample)
    }
}

/// The process-pool runner's line in [`super::RUNNERS`].
pub(super) const ENTRY: RunnerEntry = RunnerEntry {
    info: RunnerInfo {
        id: RunnerId::new("process-pool"),
        about: "W worker processes started once per case before timing, reused by every sample; tasks sent over pipes",
        reference: false,
        one_address_space: false,
        processes: true,
        waits_well: true,
        // As for the process runner: each child is a process and its pipes.
        max_workers: 256,
        clamps: false,
        // Its processes live through the case's rounds, like a pool's threads, but
        // each is a process of its own: no thread of parbench's (the parent reads every
        // child in its one poll loop), so none of parbench's maps or address space.
        started: Started { held_threads: 0, held_tasks: 1, sample_threads: 0, sample_tasks: 0 },
        holds: Some("pool of worker processes"),
        cost: CostModel { start_s: 0.0, set_up_per_worker: true },
        refusal: None,
        symbol: 'P',
        color: [148, 103, 189],
        pipeline: Some(
            "a group of pool processes per stage (W split over the stages), started once with the pool and \
             reused by every sample; items travel over their pipes, relayed by the parent's one poll loop",
        ),
    },
    build: |workers, options: &RunnerOptions| {
        let program = match &options.worker_program {
            Some(program) => program.clone(),
            None => std::env::current_exe()
                .map_err(|error| BenchError::Io { context: "finding parbench's own executable".into(), error })?,
        };
        let runner =
            ProcessPoolRunner::with_program(workers, options.schedule, options.timeout, program, vec!["worker".into()]);
        Ok(Box::new(runner.pinned(super::pin_cpus(options))))
    },
};

impl Runner for ProcessPoolRunner {
    fn info(&self) -> &'static RunnerInfo {
        &ENTRY.info
    }

    /// Starts the pool for `job`'s case, untimed: shared memory, then every child's
    /// spawn, hello and set-up.
    fn prepare(&mut self, job: &Job) -> Result<(), BenchError> {
        if self.held.as_ref().is_some_and(|h| h.label == job.label) {
            return Ok(());
        }
        self.release();
        let (shared, spec) = shared_state(job.workload.shared_slots(self.workers))?;
        // A pipeline's pool is its stages: a group of processes per stage, set up once.
        let stages = job.workload.pipeline().map(|pipeline| {
            let split = super::pipeline::split(self.workers, pipeline.stages());
            let stage_of = stage_of(&split);
            (split, stage_of)
        });
        let setups = match &stages {
            Some((_, stage_of)) => stage_setups(job, stage_of, self.pin.as_deref()),
            None => setups(job, self.workers, self.schedule, self.pin.as_deref(), spec),
        };
        let pool = Pool::start(&self.program, &self.args, &setups, self.timeout)?;
        self.setup_ns.get_or_insert(pool.started_ns());
        self.held = Some(Held { pool, shared, label: job.label.clone(), stages });
        Ok(())
    }

    fn sample(&mut self, job: &Job) -> Result<Sample, BenchError> {
        let sample = self.sample_pooled(job);
        if sample.is_err() {
            // Nothing outlives a failed sample: dropping the pool kills and reaps every
            // child with its process group.
            self.held = None;
        }
        sample
    }

    fn pipeline(&mut self, job: &Job, pipeline: &dyn crate::workload::Pipeline) -> Result<Sample, BenchError> {
        let sample = self.staged(job, pipeline);
        if sample.is_err() {
            // As for tasks: a failed stage ends every stage process and reaps it.
            self.held = None;
        }
        sample
    }

    fn setup_ns(&self) -> Option<u64> {
        self.setup_ns
    }

    fn release(&mut self) {
        if let Some(held) = self.held.take() {
            // A child that fails to quit cleanly is killed and reaped all the same.
            let _ = held.pool.quit();
        }
    }
}
