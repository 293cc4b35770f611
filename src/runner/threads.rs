//! The `threads` runner: W `std::thread`s spawned inside the timed region (thread
//! creation is part of the honest cost), with tasks claimed dynamically from a shared
//! atomic index or split into contiguous static blocks.
//!
//! With `--pin`, each thread pins itself to its core as it starts, inside the timed
//! region: a system call per thread, part of what pinned threads cost.
//!
//! Each thread reads how long it waited for a CPU (`/proc/thread-self/schedstat`, into a
//! stack buffer) as its last act, so that read ends the timed region.
//!
//! A thread that cannot be started (a process limit) is an error, not a panic: the
//! threads already started finish the tasks, then the sample fails naming the limit.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};

use super::{
    CostModel, Job, Runner, RunnerEntry, RunnerId, RunnerInfo, RunnerOptions, Sample, Schedule, Started, run_in_process,
};
use crate::error::BenchError;
use crate::workload::{Pipeline, TaskContext};

/// Runs tasks on W scoped OS threads.
pub struct ThreadRunner {
    workers: usize,
    schedule: Schedule,
    pin: Option<Arc<[usize]>>,
}

impl ThreadRunner {
    /// A runner with `workers` threads and the given task assignment; worker `w` is
    /// pinned to `pin[w % len]` when given.
    pub fn new(workers: usize, schedule: Schedule, pin: Option<Arc<[usize]>>) -> Self {
        ThreadRunner { workers: workers.max(1), schedule, pin }
    }
}

/// The threads runner's line in [`super::RUNNERS`].
pub(super) const ENTRY: RunnerEntry = RunnerEntry {
    info: RunnerInfo {
        id: RunnerId::new("threads"),
        about: "W std::threads spawned per sample; tasks claimed dynamically or split statically",
        reference: false,
        one_address_space: true,
        processes: false,
        waits_well: true,
        max_workers: super::MAX_WORKERS,
        clamps: false,
        started: Started { held_threads: 0, held_tasks: 0, sample_threads: 1, sample_tasks: 1 },
        holds: None,
        cost: CostModel { start_s: 0.000_02, set_up_per_worker: false },
        pipeline: Some(
            "a group of threads per stage (W split over the stages), joined by bounded crossbeam channels; \
             closing a channel ends the next stage",
        ),
        refusal: None,
        symbol: 't',
        color: [31, 119, 180],
    },
    build: |workers, options: &RunnerOptions| {
        Ok(Box::new(ThreadRunner::new(workers, options.schedule, super::pin_cpus(options))))
    },
};

impl Runner for ThreadRunner {
    fn info(&self) -> &'static RunnerInfo {
        &ENTRY.info
    }

    fn sample(&mut self, job: &Job) -> Result<Sample, BenchError> {
        let (workers, schedule) = (self.workers, self.schedule);
        let workload = job.workload.as_ref();
        let tasks = workload.task_count();
        let next = AtomicUsize::new(0);
        let (waited, known) = (AtomicU64::new(0), AtomicBool::new(true));
        let pin = self.pin.as_deref();
        let sample = run_in_process(ENTRY.info.id, workers, job, |slots, shared| {
            let failed = std::thread::scope(|scope| {
                for worker in 0..workers {
                    let (next, waited, known) = (&next, &waited, &known);
                    let started = spawn(scope, worker, move || {
                        if let Some(cpus) = pin {
                            crate::sys::pin_current_thread(cpus[worker % cpus.len()]);
                        }
                        let ctx = TaskContext { worker, workers, shared, timeout: job.timeout };
                        match schedule {
                            Schedule::Dynamic => loop {
                                let task = next.fetch_add(1, Relaxed);
                                if task >= tasks {
                                    break;
                                }
                                slots.run(task, &ctx);
                            },
                            Schedule::Static => {
                                for task in Schedule::static_block(tasks, worker, workers) {
                                    slots.run(task, &ctx);
                                }
                            }
                        }
                        add_own_wait(waited, known);
                    });
                    if let Err(error) = started {
                        // Static blocks of the missing threads would never run: stop
                        // the others early instead.
                        next.store(tasks, Relaxed);
                        return Some((worker, error));
                    }
                }
                None
            });
            // Named only once the started threads have ended and freed their stacks:
            // reading the limits allocates, which fails (an abort) while the address
            // space is full of stacks under `ulimit -v`.
            match failed {
                Some((worker, error)) => Err(BenchError::Io {
                    context: format!(
                        "starting thread {} of {workers} ({})",
                        worker + 1,
                        crate::sys::thread_start_hint()
                    ),
                    error,
                }),
                None => Ok(()),
            }
        })?;
        Ok(Sample { waited_ns: known.into_inner().then(|| waited.into_inner()), ..sample })
    }

    fn pipeline(&mut self, job: &Job, pipeline: &dyn Pipeline) -> Result<Sample, BenchError> {
        self.staged(job, pipeline)
    }
}

impl ThreadRunner {
    /// The seeds' assembly line: a group of threads per stage, each taking items from
    /// the bounded channel before it and passing them to the one after; a source
    /// thread feeds the first channel and the calling thread is the sink. A channel is
    /// closed when every sender on it is gone (the seeds' `ClosableQueue` and its
    /// sentinel): the source closes the first when it has sent every item, each stage
    /// closes the next when its last thread has drained its input, and the sink ends
    /// when the last closes. On a fault every thread stops at its next item, so every
    /// channel closes the same way and every thread is joined.
    fn staged(&self, job: &Job, pipeline: &dyn Pipeline) -> Result<Sample, BenchError> {
        let split = super::pipeline::split(self.workers, pipeline.stages());
        let values: Vec<u64> = (0..pipeline.items()).map(|i| pipeline.source(i)).collect();
        let (queue, stages) = (pipeline.queue().max(1), split.len());
        let (waited, known) = (AtomicU64::new(0), AtomicBool::new(true));
        let sample = super::pipeline::run_flow(ENTRY.info.id, job, pipeline, &split, false, |flow| {
            std::thread::scope(|scope| {
                // Channel s feeds stage s; channel `stages` feeds the sink.
                let (mut senders, mut receivers): (Vec<_>, Vec<_>) = (0..=stages)
                    .map(|_| crossbeam::channel::bounded::<(usize, u64)>(queue))
                    .map(|(s, r)| (Some(s), Some(r)))
                    .unzip();
                let mut started = Ok(());
                let mut slot = 0;
                'spawn: for (stage, &count) in split.iter().enumerate() {
                    for worker in 0..count {
                        let input = receivers[stage].clone().expect("held until every thread is started");
                        let output = senders[stage + 1].clone().expect("held until every thread is started");
                        let at = slot;
                        slot += 1;
                        let (waited, known) = (&waited, &known);
                        let thread = spawn(scope, at, move || {
                            for (item, value) in input.iter() {
                                let Some(value) = flow.run(stage, at, at, item, value) else { break };
                                if output.send((item, value)).is_err() {
                                    break;
                                }
                            }
                            add_own_wait(waited, known);
                        });
                        if let Err(error) = thread {
                            started = Err(BenchError::Io {
                                context: format!(
                                    "starting thread {} of stage {} ({})",
                                    worker + 1,
                                    stage + 1,
                                    crate::sys::thread_start_hint()
                                ),
                                error,
                            });
                            break 'spawn;
                        }
                    }
                }
                let source = senders[0].take().expect("the first channel's sender");
                let sink = receivers[stages].take().expect("the last channel's receiver");
                // Only the threads hold the channels' ends now: when they go, the
                // channels close.
                drop((senders, receivers));
                if started.is_ok() {
                    let values = &values;
                    let fed = spawn(scope, usize::MAX, move || {
                        for (item, &value) in values.iter().enumerate() {
                            if flow.stopped() || source.send((item, value)).is_err() {
                                break;
                            }
                        }
                    });
                    if let Err(error) = fed {
                        started =
                            Err(BenchError::Io { context: "starting the pipeline's source thread".into(), error });
                    }
                }
                if started.is_err() {
                    // The threads already started stop at their next item.
                    flow.fail(super::pipeline::Fault { stage: None, message: "not every thread started".into() });
                }
                for (item, value) in sink.iter() {
                    flow.sink.arrive(item, value);
                }
                started
            })
        })?;
        Ok(Sample { waited_ns: known.into_inner().then(|| waited.into_inner()), ..sample })
    }
}

/// Adds how long the calling thread, a worker started for this sample, waited for a
/// CPU to `waited` (its whole life is the sample); clears `known` when Linux does not
/// say.
fn add_own_wait(waited: &AtomicU64, known: &AtomicBool) {
    match crate::sys::thread_run_delay_ns() {
        Some(ns) => waited.fetch_add(ns, Relaxed),
        None => u64::from(known.swap(false, Relaxed)),
    };
}

/// Starts one worker thread. Tests make the `n`-th start fail the way a process limit
/// does (root ignores `ulimit -u`, so the limit cannot be produced there).
fn spawn<'scope, 'env>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    worker: usize,
    f: impl FnOnce() + Send + 'scope,
) -> std::io::Result<std::thread::ScopedJoinHandle<'scope, ()>> {
    #[cfg(test)]
    if tests::FAIL_SPAWN_AT.with(|at| at.get()) == Some(worker) {
        return Err(std::io::Error::from_raw_os_error(libc::EAGAIN));
    }
    let _ = worker;
    std::thread::Builder::new().spawn_scoped(scope, f)
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::registry::Registry;

    thread_local! {
        /// The worker whose thread fails to start, in this test thread only.
        pub(super) static FAIL_SPAWN_AT: Cell<Option<usize>> = const { Cell::new(None) };
    }

    #[test]
    fn a_thread_that_cannot_start_is_an_error_naming_the_limit_once() {
        let job = Job::build(&Registry::with_builtins(), "fib", &[("n", "15"), ("tasks", "8")], 4).unwrap();
        for schedule in [Schedule::Dynamic, Schedule::Static] {
            FAIL_SPAWN_AT.with(|at| at.set(Some(2)));
            let result = ThreadRunner::new(4, schedule, None).sample(&job);
            FAIL_SPAWN_AT.with(|at| at.set(None));
            let err = anyhow::Error::from(result.expect_err("the third thread could not start"));
            let text = format!("{err:#}");
            assert!(text.starts_with("starting thread 3 of 4 (raise the process limit, ulimit -u"), "{text}");
            assert_eq!(text.matches("os error 11").count(), 1, "the OS error appears once: {text}");
        }
        // The runner is usable again once threads can start.
        let sample = ThreadRunner::new(4, Schedule::Dynamic, None).sample(&job).unwrap();
        assert!(matches!(sample.verification, crate::workload::Verification::Verified { .. }));
    }
}
