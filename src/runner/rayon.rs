//! The `rayon` runner: a local pool of exactly W threads (never the global pool, so
//! `RAYON_NUM_THREADS` cannot change W), built before any timed region. Its build
//! time is reported separately. Tasks are split by rayon's own adaptive work stealing.
//!
//! The pool is built by [`Runner::prepare`] (before the first sample, and again after
//! a [`Runner::release`]) and torn down by release: the measurement releases a case's pools when its last
//! sample is done, or after each of its rounds when a sweep's pools would not fit
//! together, so a sweep of many worker counts never holds every pool at once (a sweep
//! over 1..140 workers once kept 10,000 threads alive and crashed). Release waits
//! until the pool's threads have exited, so the next pool never overlaps them.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::{
    CostModel, Job, Runner, RunnerEntry, RunnerId, RunnerInfo, RunnerOptions, Sample, Started, run_in_process,
};
use crate::error::BenchError;
use crate::workload::{Pipeline, TaskContext};

/// Runs tasks on a dedicated rayon pool.
pub struct RayonRunner {
    pool: Option<rayon::ThreadPool>,
    /// The pool threads' ids, to read how long they waited for a CPU and to see them exit.
    tids: Arc<Mutex<Vec<i32>>>,
    /// How many of the current pool's threads have finished.
    exited: Arc<std::sync::atomic::AtomicUsize>,
    pin: Option<Arc<[usize]>>,
    workers: usize,
    /// The first build's time.
    build_ns: Option<u64>,
}

impl RayonRunner {
    /// How long the pool's threads have waited for a CPU in all, ns, where known. They
    /// sleep between samples, and a sleeping thread accrues no run delay, so reading
    /// before and after (outside the region) measures the sample.
    fn waited(&self) -> Option<u64> {
        let tids = self.tids.lock().unwrap_or_else(|e| e.into_inner());
        tids.iter().map(|&tid| crate::sys::task_run_delay_ns(tid)).sum()
    }

    /// A runner on a pool of exactly `workers` threads, thread `i` pinned to
    /// `pin[i % len]` as it starts (outside any timed region) when given. The pool is
    /// built by `prepare`, so that building many runners holds no threads.
    pub fn new(workers: usize, pin: Option<Arc<[usize]>>) -> Result<Self, BenchError> {
        let (tids, exited) = (Arc::default(), Arc::default());
        Ok(RayonRunner { pool: None, tids, exited, pin, workers: workers.max(1), build_ns: None })
    }

    fn build(&mut self) -> Result<(), BenchError> {
        if self.pool.is_none() {
            let start = Instant::now();
            let record = Arc::clone(&self.tids);
            let exited = Arc::clone(&self.exited);
            let pin = self.pin.clone();
            let workers = self.workers;
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(workers)
                .thread_name(|i| format!("parbench-rayon-{i}"))
                .start_handler(move |i| {
                    record.lock().unwrap_or_else(|e| e.into_inner()).push(crate::sys::gettid());
                    if let Some(cpus) = &pin {
                        crate::sys::pin_current_thread(cpus[i % cpus.len()]);
                    }
                })
                .exit_handler(move |_| {
                    exited.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                })
                .build()
                .map_err(|e| BenchError::Io {
                    context: format!(
                        "building a rayon pool of {workers} threads ({})",
                        crate::sys::thread_start_hint()
                    ),
                    error: std::io::Error::other(e.to_string()),
                })?;
            self.build_ns.get_or_insert(start.elapsed().as_nanos() as u64);
            self.pool = Some(pool);
        }
        Ok(())
    }
}

/// The rayon runner's line in [`super::RUNNERS`].
pub(super) const ENTRY: RunnerEntry = RunnerEntry {
    info: RunnerInfo {
        id: RunnerId::new("rayon"),
        about: "a local rayon pool of exactly W threads (work stealing), built before timing",
        reference: false,
        one_address_space: true,
        processes: false,
        waits_well: true,
        max_workers: super::MAX_WORKERS,
        clamps: false,
        started: Started { held_threads: 1, held_tasks: 1, sample_threads: 0, sample_tasks: 0 },
        holds: Some("rayon pool"),
        cost: CostModel { start_s: 0.0, set_up_per_worker: false },
        pipeline: Some("data-parallel, for contrast: every pool thread takes items through all stages"),
        refusal: None,
        symbol: 'r',
        color: [44, 160, 44],
    },
    build: |workers, options: &RunnerOptions| Ok(Box::new(RayonRunner::new(workers, super::pin_cpus(options))?)),
};

impl Runner for RayonRunner {
    fn info(&self) -> &'static RunnerInfo {
        &ENTRY.info
    }

    fn prepare(&mut self, _job: &Job) -> Result<(), BenchError> {
        self.build()
    }

    fn sample(&mut self, job: &Job) -> Result<Sample, BenchError> {
        let workers = self.workers;
        let pool = self.pool.as_ref().expect("the rayon runner is prepared before its samples");
        let workload = job.workload.as_ref();
        let before = self.waited();
        let sample = run_in_process(ENTRY.info.id, workers, job, |slots, shared| {
            pool.install(|| {
                (0..workload.task_count()).into_par_iter().for_each(|task| {
                    let worker = rayon::current_thread_index().unwrap_or(0);
                    slots.run(task, &TaskContext { worker, workers, shared, timeout: job.timeout });
                });
            });
            Ok(())
        })?;
        let waited_ns = before.zip(self.waited()).map(|(a, b)| b.saturating_sub(a));
        Ok(Sample { waited_ns, ..sample })
    }

    /// Data-parallel, for contrast with the staged models: each pool thread takes
    /// whole items (work stealing over the items) through every stage.
    fn pipeline(&mut self, job: &Job, pipeline: &dyn Pipeline) -> Result<Sample, BenchError> {
        let pool = self.pool.as_ref().expect("the rayon runner is prepared before its samples");
        let values: Vec<u64> = (0..pipeline.items()).map(|i| pipeline.source(i)).collect();
        let stages = pipeline.stages().len();
        let before = self.waited();
        let sample = super::pipeline::run_flow(ENTRY.info.id, job, pipeline, &[self.workers], true, |flow| {
            pool.install(|| {
                values.par_iter().enumerate().for_each(|(item, &value)| {
                    let worker = rayon::current_thread_index().unwrap_or(0);
                    let mut value = value;
                    for stage in 0..stages {
                        let Some(next) = flow.run(stage, worker, worker, item, value) else { return };
                        value = next;
                    }
                    flow.sink.arrive(item, value);
                });
            });
            Ok(())
        })?;
        let waited_ns = before.zip(self.waited()).map(|(a, b)| b.saturating_sub(a));
        Ok(Sample { waited_ns, ..sample })
    }

    fn setup_ns(&self) -> Option<u64> {
        self.build_ns
    }

    fn release(&mut self) {
        let Some(pool) = self.pool.take() else { return };
        // Dropping a rayon pool only asks its threads to stop; wait until the kernel
        // has let them go (bounded: a thread stuck in a task is not waited for).
        drop(pool);
        let until = Instant::now() + Duration::from_secs(5);
        let gone = || self.exited.load(std::sync::atomic::Ordering::SeqCst) >= self.workers;
        while !gone() && Instant::now() < until {
            std::thread::sleep(Duration::from_micros(200));
        }
        // An exit handler runs just before its thread ends: wait for the kernel too.
        let tids = std::mem::take(&mut *self.tids.lock().unwrap_or_else(|e| e.into_inner()));
        for tid in tids {
            while std::path::Path::new(&format!("/proc/self/task/{tid}")).exists() && Instant::now() < until {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        self.exited.store(0, std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;

    #[test]
    fn a_released_pool_has_no_thread_left_and_is_built_again_for_the_next_sample() {
        let job = Job::build(&Registry::with_builtins(), "fib", &[("n", "10"), ("tasks", "4")], 4).unwrap();
        let mut runner = RayonRunner::new(64, None).unwrap();
        runner.prepare(&job).unwrap();
        runner.sample(&job).unwrap();
        let until = Instant::now() + Duration::from_secs(10);
        while runner.tids.lock().unwrap().len() < 64 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(1));
        }
        let tids = runner.tids.lock().unwrap().clone();
        assert_eq!(tids.len(), 64, "every pool thread started");
        let alive = |tids: &[i32]| {
            tids.iter().filter(|t| std::path::Path::new(&format!("/proc/self/task/{t}")).exists()).count()
        };
        assert_eq!(alive(&tids), 64);
        runner.release();
        assert_eq!(alive(&tids), 0, "the pool's threads outlived release");
        runner.prepare(&job).unwrap();
        let sample = runner.sample(&job).unwrap();
        assert!(matches!(sample.verification, crate::workload::Verification::Verified { .. }));
        assert!(runner.setup_ns().is_some());
    }
}
