//! The `async` runner: a tokio runtime of W worker threads (W = 1: a current-thread
//! runtime, the seeds' asyncio event loop), built before any timed region like the
//! rayon pool, its build reported as set-up. Every task is a future, and all of them
//! are spawned at once inside the timed region: many waiting tasks on few threads.
//!
//! A task's async form ([`crate::TypedWorkload::run_async`]) waits on the runtime's
//! timer, lent to it as a [`Timer`]; a task without one runs its sync form inline, on
//! the worker thread that polls it, which it blocks until it ends. That is the seeds'
//! lesson: async does not help CPU work. Each sample counts such tasks
//! ([`Sample::inline_tasks`]), so the report says so from the data.
//!
//! The runtime is released (its threads joined) by [`Runner::release`], and
//! [`AsyncRunner::runtime`] lends it to other shapes of work on the same runtime.
//! Spawning and the futures' boxes allocate per task inside the timed region: that is
//! part of what the model costs.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{
    CostModel, Job, Runner, RunnerEntry, RunnerId, RunnerInfo, RunnerOptions, Sample, Started, run_in_process,
};
use crate::error::BenchError;
use crate::workload::{TaskContext, TaskFuture, Timer};

thread_local! {
    /// The worker index of a runtime thread (0 on the thread of a current-thread
    /// runtime, which is the caller's).
    static WORKER: Cell<usize> = const { Cell::new(0) };
}

/// The worker thread polling the caller.
fn current_worker() -> usize {
    WORKER.with(Cell::get)
}

/// The runtime's timer, as the workload layer sees it.
struct TokioTimer;

impl Timer for TokioTimer {
    fn sleep(&self, duration: Duration) -> TaskFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// Runs every task as a future on a tokio runtime of W threads.
pub struct AsyncRunner {
    runtime: Option<tokio::runtime::Runtime>,
    /// The runtime threads' ids (none for a current-thread runtime), to read how long
    /// they waited for a CPU and to see them exit.
    tids: Arc<Mutex<Vec<i32>>>,
    pin: Option<Arc<[usize]>>,
    workers: usize,
    /// The first build's time.
    build_ns: Option<u64>,
}

impl AsyncRunner {
    /// A runner on a runtime of `workers` threads (a current-thread runtime for one),
    /// thread `i` pinned to `pin[i % len]` as it starts when given. The runtime is
    /// built by `prepare`.
    pub fn new(workers: usize, pin: Option<Arc<[usize]>>) -> Self {
        AsyncRunner { runtime: None, tids: Arc::default(), pin, workers: workers.max(1), build_ns: None }
    }

    /// The runtime, once prepared: for work of other shapes (stages joined by async
    /// channels) on the same threads.
    pub fn runtime(&self) -> Option<&tokio::runtime::Runtime> {
        self.runtime.as_ref()
    }

    fn build(&mut self) -> Result<(), BenchError> {
        if self.runtime.is_some() {
            return Ok(());
        }
        let start = Instant::now();
        let workers = self.workers;
        let mut builder = if workers == 1 {
            tokio::runtime::Builder::new_current_thread()
        } else {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            let (next, tids, pin) = (Arc::new(AtomicUsize::new(0)), Arc::clone(&self.tids), self.pin.clone());
            b.worker_threads(workers).thread_name("parbench-async").on_thread_start(move || {
                let worker = next.fetch_add(1, SeqCst) % workers;
                WORKER.with(|w| w.set(worker));
                tids.lock().unwrap_or_else(|e| e.into_inner()).push(crate::sys::gettid());
                if let Some(cpus) = &pin {
                    crate::sys::pin_current_thread(cpus[worker % cpus.len()]);
                }
            });
            b
        };
        let runtime = builder.enable_time().build().map_err(|error| BenchError::Io {
            context: format!("building a tokio runtime of {workers} threads ({})", crate::sys::thread_start_hint()),
            error,
        })?;
        self.build_ns.get_or_insert(start.elapsed().as_nanos() as u64);
        self.runtime = Some(runtime);
        Ok(())
    }
}

/// The async runner's line in [`super::RUNNERS`].
pub(super) const ENTRY: RunnerEntry = RunnerEntry {
    info: RunnerInfo {
        id: RunnerId::new("async"),
        about: "every task a future on a tokio runtime of W threads (1: current-thread), built before timing",
        reference: false,
        one_address_space: true,
        processes: false,
        waits_well: true,
        max_workers: super::MAX_WORKERS,
        clamps: false,
        started: Started { held_threads: 1, held_tasks: 1, sample_threads: 0, sample_tasks: 0 },
        holds: Some("tokio runtime"),
        cost: CostModel { start_s: 0.0, set_up_per_worker: false },
        refusal: None,
        symbol: 'a',
        color: [255, 127, 14],
        pipeline: Some(
            "a group of tasks per stage (W split over the stages) on the runtime, joined by bounded async \
             channels; a waiting stage waits on the runtime's timer, a computing one blocks its thread",
        ),
    },
    build: |workers, options: &RunnerOptions| Ok(Box::new(AsyncRunner::new(workers, super::pin_cpus(options)))),
};

impl Runner for AsyncRunner {
    fn info(&self) -> &'static RunnerInfo {
        &ENTRY.info
    }

    fn prepare(&mut self, _job: &Job) -> Result<(), BenchError> {
        self.build()
    }

    fn sample(&mut self, job: &Job) -> Result<Sample, BenchError> {
        let workers = self.workers;
        let runtime = self.runtime.as_ref().expect("the async runner is prepared before its samples");
        let tasks = job.workload.task_count();
        let saved = self.pin.as_ref().filter(|_| workers == 1).and_then(|cpus| crate::sys::pin_current_thread(cpus[0]));
        let before = self.waited();
        let mut inline = 0;
        let sample = run_in_process(ENTRY.info.id, workers, job, |slots, shared| {
            let futures = (0..tasks).map(|task| {
                let ctx = TaskContext { worker: 0, workers, shared, timeout: job.timeout };
                Box::pin(slots.run_async(task, ctx, &TokioTimer, current_worker)) as TaskFuture<'_, ()>
            });
            let joined = spawn_all_and_wait(runtime, futures);
            inline = slots.inline();
            joined
        });
        let waited_ns = before.zip(self.waited()).map(|(a, b)| b.saturating_sub(a));
        crate::sys::restore_affinity(saved);
        Ok(Sample { waited_ns, inline_tasks: Some(inline), ..sample? })
    }

    fn pipeline(&mut self, job: &Job, pipeline: &dyn crate::workload::Pipeline) -> Result<Sample, BenchError> {
        self.staged(job, pipeline)
    }

    fn setup_ns(&self) -> Option<u64> {
        self.build_ns
    }

    fn release(&mut self) {
        let Some(runtime) = self.runtime.take() else { return };
        // Dropping the runtime joins its threads; wait for the kernel to let them go
        // too (bounded), so that the next runtime never overlaps them.
        drop(runtime);
        let until = Instant::now() + Duration::from_secs(5);
        let tids = std::mem::take(&mut *self.tids.lock().unwrap_or_else(|e| e.into_inner()));
        for tid in tids {
            while std::path::Path::new(&format!("/proc/self/task/{tid}")).exists() && Instant::now() < until {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    }
}

impl AsyncRunner {
    /// How long the runtime's threads have waited for a CPU in all, ns, where known.
    /// They sleep between samples (a sleeping thread accrues no run delay), so reading
    /// before and after, outside the region, measures the sample. A current-thread
    /// runtime runs on this thread.
    fn waited(&self) -> Option<u64> {
        if self.workers == 1 {
            return crate::sys::thread_run_delay_ns();
        }
        let tids = self.tids.lock().unwrap_or_else(|e| e.into_inner());
        tids.iter().map(|&tid| crate::sys::task_run_delay_ns(tid)).sum()
    }

    /// The seeds' asyncio pipeline: a group of tasks per stage, each taking items from
    /// the bounded async channel before it and passing them to the one after; a source
    /// task feeds the first channel and a sink task drains the last. A channel closes
    /// when every sender on it is gone: the source's when it has sent every item, a
    /// stage's next when its last task has drained its input, which ends the next
    /// stage. On a fault every task stops at its next item (a send to a stage whose
    /// tasks are gone fails), so every channel closes and every task ends; a hanging
    /// stage is stopped by the flow's watchdog thread.
    fn staged(&self, job: &Job, pipeline: &dyn crate::workload::Pipeline) -> Result<Sample, BenchError> {
        use tokio::sync::{Mutex as AsyncMutex, mpsc};
        type Item = (usize, u64);
        let runtime = self.runtime.as_ref().expect("the async runner is prepared before its samples");
        let split = super::pipeline::split(self.workers, pipeline.stages());
        let values: Vec<u64> = (0..pipeline.items()).map(|i| pipeline.source(i)).collect();
        let (queue, stages) = (pipeline.queue().max(1), split.len());
        let before = self.waited();
        let sample = super::pipeline::run_flow(ENTRY.info.id, job, pipeline, &split, false, |flow| {
            // Channel s feeds stage s; channel `stages` feeds the sink. A stage's tasks
            // share its input's receiving end.
            let (mut senders, mut receivers): (Vec<_>, Vec<_>) =
                (0..=stages).map(|_| mpsc::channel::<Item>(queue)).map(|(s, r)| (Some(s), Some(r))).unzip();
            let sink = receivers[stages].take().expect("the last channel's receiver");
            let inputs: Vec<Arc<AsyncMutex<mpsc::Receiver<Item>>>> = receivers[..stages]
                .iter_mut()
                .map(|r| Arc::new(AsyncMutex::new(r.take().expect("each stage's receiver"))))
                .collect();
            let mut futures: Vec<TaskFuture<'_, ()>> = Vec::with_capacity(flow_tasks(&split));
            let mut slot = 0;
            for (stage, &count) in split.iter().enumerate() {
                for _ in 0..count {
                    let input = Arc::clone(&inputs[stage]);
                    let output = senders[stage + 1].clone().expect("held until every task is made");
                    let at = slot;
                    slot += 1;
                    futures.push(Box::pin(async move {
                        loop {
                            let next = input.lock().await.recv().await;
                            let Some((item, value)) = next else { break };
                            let Some(value) = flow.run_async(stage, at, at, item, value, &TokioTimer).await else {
                                break;
                            };
                            if output.send((item, value)).await.is_err() {
                                break;
                            }
                        }
                    }));
                }
            }
            let source = senders[0].take().expect("the first channel's sender");
            // Only the tasks hold the channels' ends now: when they end, the channels close.
            drop((senders, inputs));
            let values = &values;
            futures.push(Box::pin(async move {
                for (item, &value) in values.iter().enumerate() {
                    if flow.stopped() || source.send((item, value)).await.is_err() {
                        break;
                    }
                }
            }));
            futures.push(Box::pin(async move {
                let mut sink = sink;
                while let Some((item, value)) = sink.recv().await {
                    flow.sink.arrive(item, value);
                }
            }));
            spawn_all_and_wait(runtime, futures.into_iter())
        })?;
        let waited_ns = before.zip(self.waited()).map(|(a, b)| b.saturating_sub(a));
        Ok(Sample { waited_ns, ..sample })
    }
}

/// The tasks of an async pipeline: one per stage worker, the source and the sink.
fn flow_tasks(split: &[usize]) -> usize {
    split.iter().sum::<usize>() + 2
}

/// Aborts the process if dropped armed: a spawned future would outlive what it borrows.
struct MustJoin;

impl Drop for MustJoin {
    fn drop(&mut self) {
        eprintln!("parbench: a panic while async tasks were running; aborting, as they borrow its data");
        std::process::abort();
    }
}

/// Spawns every future on `runtime` at once and waits until all have ended: tokio
/// tasks that borrow the caller's data, made sound by never returning (nor unwinding)
/// before each has been dropped.
pub(crate) fn spawn_all_and_wait<'env>(
    runtime: &tokio::runtime::Runtime,
    futures: impl Iterator<Item = TaskFuture<'env, ()>>,
) -> Result<(), BenchError> {
    let armed = MustJoin;
    let handles: Vec<tokio::task::JoinHandle<()>> = futures
        .map(|future| {
            // SAFETY: only the lifetime changes. Every task is awaited below before this
            // function returns, and tokio drops a task's future (finished, panicked or
            // cancelled) before its join handle completes, so no task touches the
            // borrowed data after `'env`. A panic before that point aborts (`armed`).
            let future = unsafe { std::mem::transmute::<TaskFuture<'env, ()>, TaskFuture<'static, ()>>(future) };
            runtime.spawn(future)
        })
        .collect();
    let results = runtime.block_on(async {
        let mut failed = None;
        for handle in handles {
            if let Err(e) = handle.await {
                failed.get_or_insert(e);
            }
        }
        failed
    });
    std::mem::forget(armed);
    match results {
        // Tasks catch their panics themselves; this is a runtime that stopped them.
        Some(error) => Err(BenchError::Io {
            context: "running async tasks".into(),
            error: std::io::Error::other(error.to_string()),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;
    use crate::workload::Verification;

    fn sample(workers: usize, name: &str, values: &[(&str, &str)]) -> Sample {
        let job = Job::build(&Registry::with_builtins(), name, values, workers).unwrap();
        let mut runner = AsyncRunner::new(workers, None);
        runner.prepare(&job).unwrap();
        let sample = runner.sample(&job).unwrap();
        runner.release();
        sample
    }

    #[test]
    fn sleeping_tasks_wait_together_on_one_thread_and_verify() {
        // 20 tasks of 30 ms on one thread: spawned at once, they all wait together, so
        // every task starts before the first one ends.
        let s = sample(1, "sleep", &[("tasks", "20"), ("ms", "30")]);
        assert!(matches!(s.verification, Verification::Verified { .. }), "{:?}", s.verification);
        assert_eq!(s.inline_tasks, Some(0), "sleep has an async form");
        let first_end = s.tasks.iter().map(|t| t.end_ns).min().unwrap();
        assert!(s.tasks.iter().all(|t| t.start_ns < first_end), "{:?}", s.tasks);
        assert_eq!(s.per_worker.len(), 1);
        assert_eq!(s.per_worker[0].tasks, 20);
    }

    #[test]
    fn a_task_without_an_async_form_blocks_its_worker_thread() {
        // fib has no async form: each task runs inline, so on one thread no two
        // overlap, and the sample counts every one.
        let s = sample(1, "fib", &[("n", "18"), ("tasks", "6")]);
        assert!(matches!(s.verification, Verification::Verified { .. }), "{:?}", s.verification);
        assert_eq!(s.inline_tasks, Some(6));
        let mut spans: Vec<(u64, u64)> = s.tasks.iter().map(|t| (t.start_ns, t.end_ns)).collect();
        spans.sort();
        assert!(spans.windows(2).all(|w| w[0].1 <= w[1].0), "{spans:?}");
    }

    #[test]
    fn a_multi_thread_runtime_spreads_tasks_over_its_workers_and_releases_its_threads() {
        let job = Job::build(&Registry::with_builtins(), "counter", &[("increments", "20000"), ("sync", "atomic")], 3)
            .unwrap();
        let mut runner = AsyncRunner::new(3, None);
        runner.prepare(&job).unwrap();
        let s = runner.sample(&job).unwrap();
        assert!(matches!(s.verification, Verification::Verified { .. }), "{:?}", s.verification);
        assert!(s.tasks.iter().all(|t| (t.worker as usize) < 3));
        let tids = runner.tids.lock().unwrap().clone();
        assert_eq!(tids.len(), 3, "one id per runtime thread");
        assert!(runner.setup_ns().is_some());
        runner.release();
        let alive = tids.iter().filter(|t| std::path::Path::new(&format!("/proc/self/task/{t}")).exists()).count();
        assert_eq!(alive, 0, "the runtime's threads outlived release");
        // Built again for the next sample.
        runner.prepare(&job).unwrap();
        assert!(runner.sample(&job).unwrap().verification.is_ok());
        runner.release();
    }

    fn pipeline_sample(workers: usize, stages: &str) -> Result<Sample, BenchError> {
        let values = [("items", "16"), ("stages", stages), ("queue", "2")];
        let job = Job::build(&Registry::with_builtins(), "pipeline", &values, workers).unwrap();
        let mut runner = AsyncRunner::new(workers, None);
        runner.prepare(&job).unwrap();
        let sample = runner.run(&job);
        runner.release();
        sample
    }

    #[test]
    fn a_pipeline_runs_as_tasks_on_the_runtime_every_item_through_every_stage() {
        // One thread (a current-thread runtime) and three.
        for workers in [1, 3] {
            let s = pipeline_sample(workers, "cpu:10us,sleep:1ms,cpu:10us").unwrap();
            assert!(matches!(s.verification, Verification::Verified { .. }), "{workers}: {:?}", s.verification);
            let stats = s.pipeline.expect("a pipeline sample");
            assert_eq!(stats.stages.iter().map(|s| s.items).collect::<Vec<_>>(), vec![16, 16, 16]);
            assert_eq!(stats.stages.iter().map(|s| s.workers).sum::<usize>(), s.workers);
            assert_eq!(s.per_worker.iter().map(|w| w.tasks).sum::<u64>(), 48);
            // The runtime threads' wait for a CPU, read as for a sample of tasks.
            if crate::sys::thread_run_delay_ns().is_some() {
                assert!(s.waited_ns.is_some(), "{workers}: the pipeline's wait for a CPU is measured");
            }
        }
    }

    #[test]
    fn a_pipeline_on_one_thread_waits_on_the_runtimes_timer() {
        // One task per stage on one thread: were a sleep stage to block the thread, no
        // two stage calls could overlap, and their busy times would sum to less than
        // the wall time. Waiting on the timer, the two stages wait together.
        let s = pipeline_sample(1, "sleep:2ms,sleep:2ms").unwrap();
        assert!(s.verification.is_ok(), "{:?}", s.verification);
        let stats = s.pipeline.unwrap();
        let busy: u64 = stats.stages.iter().map(|s| s.busy_ns).sum();
        assert!(busy > s.wall_ns, "busy {busy} ns in {} ns of wall time: the stages never overlapped", s.wall_ns);
    }

    #[test]
    fn a_panicking_async_task_fails_the_sample_naming_it() {
        let job = Job::build(&Registry::with_builtins(), "command", &[("cmd", "exit 3"), ("tasks", "2")], 2).unwrap();
        let mut runner = AsyncRunner::new(2, None);
        runner.prepare(&job).unwrap();
        let err = runner.sample(&job).unwrap_err();
        assert!(matches!(err, BenchError::TaskFailed { runner: "async", .. }), "{err:?}");
        runner.release();
    }
}
