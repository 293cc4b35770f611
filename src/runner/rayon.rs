//! The `rayon` runner: a local pool of exactly W threads (never the global pool, so
//! `RAYON_NUM_THREADS` cannot change W), built once before any timed region. Its build
//! time is reported separately. Tasks are split by rayon's own adaptive work stealing.

use std::time::Instant;

use rayon::prelude::*;

use super::{Job, Runner, RunnerKind, Sample, run_in_process};
use crate::error::BenchError;
use crate::workload::TaskContext;

/// Runs tasks on a dedicated rayon pool.
pub struct RayonRunner {
    pool: rayon::ThreadPool,
    /// The pool threads' ids, to read how long they waited for a CPU.
    tids: std::sync::Arc<std::sync::Mutex<Vec<i32>>>,
    workers: usize,
    build_ns: u64,
}

impl RayonRunner {
    /// Builds a pool of exactly `workers` threads, thread `i` pinned to
    /// `pin[i % len]` as it starts (outside any timed region) when given.
    pub fn new(workers: usize, pin: Option<std::sync::Arc<[usize]>>) -> Result<Self, BenchError> {
        let start = Instant::now();
        let tids = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = std::sync::Arc::clone(&tids);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(workers.max(1))
            .thread_name(|i| format!("parbench-rayon-{i}"))
            .start_handler(move |i| {
                record.lock().unwrap_or_else(|e| e.into_inner()).push(crate::sys::gettid());
                if let Some(cpus) = &pin {
                    crate::sys::pin_current_thread(cpus[i % cpus.len()]);
                }
            })
            .build()
            .map_err(|e| BenchError::Io {
                context: format!("building a rayon pool of {workers} threads"),
                error: std::io::Error::other(e.to_string()),
            })?;
        Ok(RayonRunner { pool, tids, workers: workers.max(1), build_ns: start.elapsed().as_nanos() as u64 })
    }
}

impl Runner for RayonRunner {
    fn run(&mut self, job: &Job) -> Result<Sample, BenchError> {
        let (pool, workers) = (&self.pool, self.workers);
        let workload = job.workload.as_ref();
        // The pool's threads sleep between samples, and a sleeping thread accrues no run
        // delay, so reading before and after (outside the region) measures the sample.
        let waited = || -> Option<u64> {
            let tids = self.tids.lock().unwrap_or_else(|e| e.into_inner());
            tids.iter().map(|&tid| crate::sys::task_run_delay_ns(tid)).sum()
        };
        let before = waited();
        let sample = run_in_process(RunnerKind::Rayon, workers, job, |slots, shared| {
            pool.install(|| {
                (0..workload.task_count()).into_par_iter().for_each(|task| {
                    let worker = rayon::current_thread_index().unwrap_or(0);
                    slots.run(task, &TaskContext { worker, workers, shared, timeout: job.timeout });
                });
            });
            Ok(())
        })?;
        let waited_ns = before.zip(waited()).map(|(a, b)| b.saturating_sub(a));
        Ok(Sample { waited_ns, ..sample })
    }

    fn setup_ns(&self) -> Option<u64> {
        Some(self.build_ns)
    }
}
