//! The `mpi` runner (cargo feature `mpi`): the ranks of the MPI world `mpirun`
//! started. Rank 0 is parbench itself; worker `w` is rank `w + 1`, so W workers use
//! the first W serving ranks (W = world size - 1 at most; `scale` sweeps 1..W of
//! them). The messages and the ranks' side are the worker layer's
//! ([`crate::worker::mpi`]), and the tasks are handed out by the same dispatch as the
//! process runners'.
//!
//! MPI_Init ran before the command line was read; its cost is the runner's set-up,
//! reported like the rayon pool's build. A case opens a session on its ranks untimed
//! (each builds the workload, its inputs and its worker state, like a process pool's
//! children); a sample is opened untimed with `next`, timed from the first task sent
//! to the last task's reply, and closed untimed by the outputs (checksums, verified at
//! rank 0) and each rank's statistics.
//!
//! Ranks may be on other machines and share no memory: a workload's shared slots (the
//! counter's, in modes none and atomic) are the world's one-sided MPI window at rank 0
//! ([`crate::worker::mpi::window`]), zeroed by rank 0 before each sample and read by it
//! for the verification after; a workload that needs parbench's machine (memory its
//! workers share, the command's shell) or one address space is skipped, or refused
//! with its reason when asked for.

use std::time::Duration;

use super::process::{Collected, parent_slots, plan, setups};
use super::{
    CostModel, Job, Runner, RunnerEntry, RunnerId, RunnerInfo, RunnerOptions, Sample, Schedule, Started, TaskRecord,
};
use crate::error::BenchError;
use crate::sys::Meter;
use crate::worker::Dispatch;
use crate::worker::lifecycle::Ran;
use crate::worker::mpi::Ranks;
use crate::workload::SharedState;

/// Runs tasks on the serving ranks of the MPI world.
pub struct MpiRunner {
    workers: usize,
    schedule: Schedule,
    timeout: Duration,
    held: Option<(Ranks, String)>,
}

/// Why the mpi runner cannot run `workers` workers of a workload in this process:
/// outside `mpirun` (quiet when not asked for: the build then behaves as one without
/// the feature), a workload that needs parbench's machine, or a world with too few
/// ranks.
fn refusal(workers: usize, properties: &crate::workload::Properties) -> Option<(String, bool)> {
    let Some(world) = crate::worker::mpi::world() else {
        let why = "runs only under mpirun: launch it as `mpirun -n 3 parbench run ... --runner mpi` (rank 0 runs \
                   parbench, the other ranks are its workers)";
        return Some((why.into(), true));
    };
    if let Some(why) = &properties.one_machine {
        return Some((format!("has ranks that may be on other machines and share no memory, and {why}"), false));
    }
    let serving = world.size - 1;
    (workers > serving).then(|| {
        let why = format!(
            "has {serving} serving rank{} in this MPI world and {workers} workers need {workers}: launch with \
             mpirun -n {}",
            if serving == 1 { "" } else { "s" },
            workers + 1
        );
        (why, false)
    })
}

/// The mpi runner's line in [`super::RUNNERS`].
pub(super) const ENTRY: RunnerEntry = RunnerEntry {
    info: RunnerInfo {
        id: RunnerId::new("mpi"),
        about: "the ranks of the MPI world (run under mpirun; W = ranks - 1); tasks sent as MPI messages",
        reference: false,
        one_address_space: false,
        processes: true,
        waits_well: true,
        max_workers: 1024,
        clamps: false,
        // Its ranks are started by mpirun, not by parbench.
        started: Started { held_threads: 0, held_tasks: 0, sample_threads: 0, sample_tasks: 0 },
        cost: CostModel { start_s: 0.0, set_up_per_worker: true },
        pipeline: None,
        holds: Some("MPI world"),
        refusal: Some(refusal),
        symbol: 'm',
        color: [23, 190, 207],
    },
    build: |workers, options: &RunnerOptions| {
        Ok(Box::new(MpiRunner {
            workers: workers.max(1),
            schedule: options.schedule,
            timeout: options.timeout,
            held: None,
        }))
    },
};

impl MpiRunner {
    fn sample_held(&mut self, job: &Job) -> Result<Sample, BenchError> {
        let workers = self.workers;
        let ranks = match self.held.as_mut() {
            Some((ranks, label)) if *label == job.label => ranks,
            _ => {
                return Err(BenchError::Setup {
                    workload: job.label.clone(),
                    reason: "the mpi runner was not prepared for it".into(),
                });
            }
        };
        let tasks = job.workload.task_count();
        // Untimed: the outputs, the hand-out and every rank's fresh inputs.
        let mut outputs = parent_slots(job)?;
        let mut records = vec![TaskRecord { worker: 0, start_ns: 0, end_ns: 0 }; tasks];
        let mut dispatch = Dispatch::new(tasks, workers, plan(self.schedule));
        let shared = shared_slots(job, workers)?;
        for slot in 0..shared.len() {
            shared.store(slot, 0);
        }
        let (reset_ns, _) = ranks.next_sample()?;
        // Timed: the tasks, from the first sent to the last one's reply.
        let meter = Meter::start();
        let origin = meter.start_mono_ns();
        let ran = ranks.run_tasks(&mut dispatch, |worker, task, start, end| {
            // Task times come from each rank's own clock: relative to the rank's first
            // task they would mean more across nodes, but on one node they line up.
            let (start_ns, end_ns) = (start.saturating_sub(origin), end.saturating_sub(origin));
            records[task] = TaskRecord { worker: worker as u32, start_ns, end_ns };
        });
        let mut region = meter.stop();
        if let Ran::Failed { task, message } = ran? {
            return Err(BenchError::TaskFailed {
                runner: ENTRY.info.id.as_str(),
                workload: job.label.clone(),
                task,
                message,
            });
        }
        // Untimed: outputs and statistics; the ranks keep the workload for the next sample.
        let mut undecodable = None;
        let slots = outputs.slots();
        let stats = ranks.collect(|task, json| {
            if let Err(detail) = slots.decode(task, json) {
                undecodable.get_or_insert(detail);
            }
        })?;
        // The ranks' CPU time is theirs, not other processes' (on one node /proc/stat
        // counted it as busy; the sample counts it with the ranks' statistics).
        region.other_cpu_ns = region.other_cpu_ns.map(|other| other.saturating_sub(stats.cpu_ns));
        let collected = Collected::new(stats, undecodable);
        let mut sample = collected.sample(ENTRY.info.id, workers, &mut outputs, region, records, &shared);
        sample.setup_ns = Some(reset_ns);
        Ok(sample)
    }
}

/// The job's shared slots on the world's window (none when it needs none).
fn shared_slots(job: &Job, workers: usize) -> Result<SharedState, BenchError> {
    match job.workload.shared_slots(workers) {
        0 => Ok(SharedState::heap(0)),
        slots => crate::worker::mpi::window(slots)
            .map_err(|reason| BenchError::Setup { workload: job.label.clone(), reason }),
    }
}

impl Runner for MpiRunner {
    fn info(&self) -> &'static RunnerInfo {
        &ENTRY.info
    }

    fn prepare(&mut self, job: &Job) -> Result<(), BenchError> {
        // A session another mpi runner opened since (another worker count of a scale
        // sweep) has taken the ranks: this one sets them up again, untimed.
        if self.held.as_ref().is_some_and(|(ranks, label)| *label == job.label && ranks.current()) {
            return Ok(());
        }
        self.release();
        // A workload whose slots do not fit the window is refused before any rank sets up.
        shared_slots(job, self.workers)?;
        let mut ranks = Ranks::start(self.workers, self.timeout)?;
        ranks.set_up(&setups(job, self.workers, self.schedule, None, None))?;
        self.held = Some((ranks, job.label.clone()));
        Ok(())
    }

    fn sample(&mut self, job: &Job) -> Result<Sample, BenchError> {
        let sample = self.sample_held(job);
        if sample.is_err() {
            // A rank may be busy or hung: the session is not reused (rank 0 aborts the
            // job when parbench ends).
            self.held = None;
        }
        sample
    }

    fn setup_ns(&self) -> Option<u64> {
        crate::worker::mpi::world().map(|w| w.init_ns)
    }

    fn release(&mut self) {
        if let Some((ranks, _)) = self.held.take() {
            ranks.quit();
        }
    }
}
