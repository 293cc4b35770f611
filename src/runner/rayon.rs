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
    workers: usize,
    build_ns: u64,
}

impl RayonRunner {
    /// Builds a pool of exactly `workers` threads.
    pub fn new(workers: usize) -> Result<Self, BenchError> {
        let start = Instant::now();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(workers.max(1))
            .thread_name(|i| format!("parbench-rayon-{i}"))
            .build()
            .map_err(|e| BenchError::Io {
                context: format!("building a rayon pool of {workers} threads"),
                error: std::io::Error::other(e.to_string()),
            })?;
        Ok(RayonRunner { pool, workers: workers.max(1), build_ns: start.elapsed().as_nanos() as u64 })
    }
}

impl Runner for RayonRunner {
    fn run(&mut self, job: &Job) -> Result<Sample, BenchError> {
        let (pool, workers) = (&self.pool, self.workers);
        let workload = job.workload.as_ref();
        run_in_process(RunnerKind::Rayon, workers, job, |slots, shared, origin| {
            pool.install(|| {
                (0..workload.task_count()).into_par_iter().for_each(|task| {
                    let worker = rayon::current_thread_index().unwrap_or(0);
                    slots.run(workload, task, &TaskContext { worker, workers, shared }, origin);
                });
            });
            Ok(())
        })
    }

    fn setup_ns(&self) -> Option<u64> {
        Some(self.build_ns)
    }
}
