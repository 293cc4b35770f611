//! What every runner's pipeline model shares: the sink that counts arrivals, the
//! in-process [`Flow`] (each stage call timed and its failure caught, a stop signal
//! that ends every stage, a watchdog for `--timeout`), how W workers are split over
//! the stages, and the statistics that name the bottleneck stage and the throughput
//! bound it sets.
//!
//! Each runner's model lives in its own file, as its [`super::Runner::pipeline`]: the
//! model is the runner (its threads, its pool, its processes), and a runner without one
//! refuses. A runner's [`super::RunnerInfo::pipeline`] says in a sentence what its model
//! is, so that the plan can refuse a runner without one before anything runs.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use crossbeam::utils::CachePadded;
use serde::{Deserialize, Serialize};

use super::{Job, RunnerId, Sample, WorkerStats};
use crate::error::BenchError;
use crate::sys::monotonic_ns;
use crate::workload::{Pipeline, Stage, StageContext, TaskFuture, Timer, Verification, slots::catch_quietly};

/// A stage's future with its panics caught at every poll, as a sync stage's are.
struct Quietly<'a>(TaskFuture<'a, Result<u64, String>>);

impl std::future::Future for Quietly<'_> {
    type Output = Result<Result<u64, String>, String>;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        let future = &mut self.0;
        match catch_quietly(|| future.as_mut().poll(cx)) {
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Ok(std::task::Poll::Ready(result)) => std::task::Poll::Ready(Ok(result)),
            Err(message) => std::task::Poll::Ready(Err(message)),
        }
    }
}

/// One stage as measured in a sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StageStats {
    /// The stage as written: `cpu:200us`.
    pub name: String,
    /// Workers that ran it (under a whole-item model, every worker).
    pub workers: usize,
    /// Items it processed.
    pub items: u64,
    /// Time spent inside it, summed over its workers, ns.
    pub busy_ns: u64,
}

impl StageStats {
    /// Mean time per item, ns.
    pub fn mean_ns(&self) -> f64 {
        self.busy_ns as f64 / self.items.max(1) as f64
    }
}

/// A pipeline sample's stages, bottleneck, bound and measured throughput.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PipelineStats {
    /// Every stage, in order.
    pub stages: Vec<StageStats>,
    /// Each worker takes an item through every stage (serial, rayon) rather than a
    /// group of workers per stage: the bound is then the workers over the sum of the
    /// stage times.
    pub whole_items: bool,
    /// Index of the bottleneck stage: the one with the least throughput (workers over
    /// its time per item), or under a whole-item model the slowest.
    pub bottleneck: usize,
    /// Items per second the stage times allow: the bottleneck's workers over its mean
    /// time per item (whole items: all workers over the sum of the stage means).
    pub bound_items_per_s: f64,
    /// Items per second measured: items over the sample's wall time.
    pub items_per_s: f64,
}

impl PipelineStats {
    /// The statistics of `stages` for `items` items in `wall_ns`.
    pub fn new(stages: Vec<StageStats>, whole_items: bool, items: usize, wall_ns: u64) -> PipelineStats {
        let rate = |s: &StageStats| s.workers as f64 * 1e9 / s.mean_ns().max(1.0);
        let (bottleneck, bound) = if whole_items {
            let sum: f64 = stages.iter().map(StageStats::mean_ns).sum();
            let slowest = (0..stages.len()).max_by(|&a, &b| stages[a].mean_ns().total_cmp(&stages[b].mean_ns()));
            let workers = stages.first().map_or(1, |s| s.workers);
            (slowest.unwrap_or(0), workers as f64 * 1e9 / sum.max(1.0))
        } else {
            let least = (0..stages.len()).min_by(|&a, &b| rate(&stages[a]).total_cmp(&rate(&stages[b])));
            let least = least.unwrap_or(0);
            (least, stages.get(least).map_or(0.0, rate))
        };
        let items_per_s = items as f64 * 1e9 / wall_ns.max(1) as f64;
        PipelineStats { stages, whole_items, bottleneck, bound_items_per_s: bound, items_per_s }
    }
}

/// Splits `workers` over the stages: the same number each, at least one, and the rest
/// one each to the stages declared slowest.
pub fn split(workers: usize, stages: &[Stage]) -> Vec<usize> {
    let count = stages.len().max(1);
    let base = (workers / count).max(1);
    let mut split = vec![base; stages.len()];
    let mut order: Vec<usize> = (0..stages.len()).collect();
    order.sort_by_key(|&s| std::cmp::Reverse(stages[s].nominal_ns));
    for &s in order.iter().take(workers.saturating_sub(base * count)) {
        split[s] += 1;
    }
    split
}

/// Why a pipeline stopped: the stage (if one is to blame) and what happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// The stage, 0-based.
    pub stage: Option<usize>,
    /// What it did.
    pub message: String,
}

impl Fault {
    /// The run's error, naming the stage.
    pub fn error(self, runner: RunnerId, job: &Job, stages: &[Stage]) -> BenchError {
        let stage = match self.stage {
            Some(s) => format!("{} ({})", s + 1, stages.get(s).map_or("?", |s| s.name.as_str())),
            None => "none in particular".to_string(),
        };
        BenchError::StageFailed { runner: runner.as_str(), workload: job.label.clone(), stage, message: self.message }
    }
}

/// The message of a stage that made no progress within the timeout.
pub fn stuck(timeout: Duration) -> String {
    format!("it made no progress within --timeout {}s (raise --timeout for slower stages)", timeout.as_secs_f64())
}

/// Arrivals at the sink, per item: how often and with what value. Nothing locks.
pub struct Sink {
    count: Box<[AtomicU32]>,
    value: Box<[AtomicU64]>,
    /// Arrivals of items that do not exist.
    strays: AtomicUsize,
}

impl Sink {
    /// An empty sink for `items` items (made before the clock starts).
    pub fn new(items: usize) -> Sink {
        Sink {
            count: (0..items).map(|_| AtomicU32::new(0)).collect(),
            value: (0..items).map(|_| AtomicU64::new(0)).collect(),
            strays: AtomicUsize::new(0),
        }
    }

    /// Item `item` arrived with `value`.
    pub fn arrive(&self, item: usize, value: u64) {
        match (self.count.get(item), self.value.get(item)) {
            (Some(count), Some(slot)) => {
                slot.store(value, Relaxed);
                count.fetch_add(1, Relaxed);
            }
            _ => {
                self.strays.fetch_add(1, Relaxed);
            }
        }
    }

    /// What arrived, `(item, value)` (a duplicate as often as it came; a stray as an
    /// item past the end), for the pipeline's verification.
    pub fn arrivals(&self) -> Vec<(usize, u64)> {
        let mut out = Vec::with_capacity(self.count.len());
        for (item, (count, value)) in self.count.iter().zip(self.value.iter()).enumerate() {
            for _ in 0..count.load(Relaxed) {
                out.push((item, value.load(Relaxed)));
            }
        }
        out.extend((0..self.strays.load(Relaxed)).map(|_| (self.count.len(), 0)));
        out
    }

    /// The pipeline's verdict on what arrived (a panicking verification fails).
    pub fn verify(&self, pipeline: &dyn Pipeline) -> Verification {
        let arrivals = self.arrivals();
        catch_quietly(|| pipeline.verify(&arrivals))
            .unwrap_or_else(|message| Verification::failed(format!("its verification {message}")))
    }
}

/// One worker's place in an in-process flow.
#[derive(Default)]
struct Slot {
    /// Start of the stage call in progress (monotonic ns), 0 when idle.
    since: AtomicU64,
    /// The stage of that call.
    stage: AtomicUsize,
    busy_ns: AtomicU64,
    items: AtomicU64,
}

/// An in-process pipeline sample: every stage call goes through [`Flow::run`], which
/// times it, catches its failure and stops every stage on the first one.
pub struct Flow<'a> {
    /// The pipeline.
    pub pipeline: &'a dyn Pipeline,
    stop: AtomicBool,
    fault: Mutex<Option<Fault>>,
    /// Monotonic ns of the last stage call that ended (or the region's start).
    progress: AtomicU64,
    slots: Box<[CachePadded<Slot>]>,
    stage_busy: Box<[CachePadded<(AtomicU64, AtomicU64)>]>,
    /// What arrived.
    pub sink: Sink,
    timeout: Duration,
}

impl<'a> Flow<'a> {
    /// A flow for `workers` worker slots, made before the clock starts.
    pub fn new(pipeline: &'a dyn Pipeline, workers: usize, timeout: Duration) -> Flow<'a> {
        let stages = pipeline.stages().len();
        Flow {
            pipeline,
            stop: AtomicBool::new(false),
            fault: Mutex::new(None),
            progress: AtomicU64::new(monotonic_ns()),
            slots: (0..workers).map(|_| CachePadded::new(Slot::default())).collect(),
            stage_busy: (0..stages).map(|_| CachePadded::new((AtomicU64::new(0), AtomicU64::new(0)))).collect(),
            sink: Sink::new(pipeline.items()),
            timeout,
        }
    }

    /// Marks the start of the timed region (progress is counted from here).
    pub fn start(&self) {
        self.progress.store(monotonic_ns(), Relaxed);
    }

    /// Whether every stage should stop.
    pub fn stopped(&self) -> bool {
        self.stop.load(Relaxed)
    }

    /// Stops every stage, recording why (the first reason is kept).
    pub fn fail(&self, fault: Fault) {
        let mut slot = self.fault.lock().unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert(fault);
        self.stop.store(true, Relaxed);
    }

    /// The first fault, if any.
    pub fn fault(&self) -> Option<Fault> {
        self.fault.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Runs stage `stage` on `item` in worker slot `slot` (the stage sees `worker`);
    /// `None` when the flow has stopped (this call's failure included).
    pub fn run(&self, stage: usize, slot: usize, worker: usize, item: usize, value: u64) -> Option<u64> {
        if self.stopped() {
            return None;
        }
        let start = self.begin(stage, slot);
        let ctx = StageContext { worker, stop: &self.stop, timeout: self.timeout };
        let result = catch_quietly(|| self.pipeline.stage(stage, item, value, &ctx));
        self.end(stage, slot, item, start, result)
    }

    /// The same for a runner that polls stages as futures: the stage's async form
    /// ([`Pipeline::stage_async`]), lent `timer`; its panic is caught at every poll.
    pub async fn run_async(
        &self,
        stage: usize,
        slot: usize,
        worker: usize,
        item: usize,
        value: u64,
        timer: &dyn Timer,
    ) -> Option<u64> {
        if self.stopped() {
            return None;
        }
        let start = self.begin(stage, slot);
        let ctx = StageContext { worker, stop: &self.stop, timeout: self.timeout };
        let result = match catch_quietly(|| self.pipeline.stage_async(stage, item, value, ctx, timer)) {
            Ok(future) => Quietly(future).await,
            Err(message) => Err(message),
        };
        self.end(stage, slot, item, start, result)
    }

    /// A stage call begins in `slot`: its start, monotonic ns.
    fn begin(&self, stage: usize, slot: usize) -> u64 {
        let place = &self.slots[slot];
        let start = monotonic_ns();
        place.stage.store(stage, Relaxed);
        place.since.store(start, Relaxed);
        start
    }

    /// A stage call begun at `start` ended with `result` (`Err`: it panicked): counted,
    /// and a failure stops the flow.
    fn end(
        &self,
        stage: usize,
        slot: usize,
        item: usize,
        start: u64,
        result: Result<Result<u64, String>, String>,
    ) -> Option<u64> {
        let place = &self.slots[slot];
        let end = monotonic_ns();
        place.since.store(0, Relaxed);
        self.progress.store(end, Relaxed);
        place.busy_ns.fetch_add(end - start, Relaxed);
        place.items.fetch_add(1, Relaxed);
        let (busy, items) = &*self.stage_busy[stage];
        busy.fetch_add(end - start, Relaxed);
        items.fetch_add(1, Relaxed);
        match result {
            Ok(Ok(value)) if !self.stopped() => Some(value),
            Ok(Ok(_)) => None,
            Ok(Err(message)) | Err(message) => {
                self.fail(Fault { stage: Some(stage), message: format!("item {item}: {message}") });
                None
            }
        }
    }

    /// Watches for `--timeout` without progress until `done` is dropped: then stops
    /// every stage, naming the one whose call has run longest.
    pub fn watch(&self, done: std::sync::mpsc::Receiver<()>) {
        let timeout = self.timeout.as_nanos().min(u64::MAX as u128) as u64;
        loop {
            let now = monotonic_ns();
            let left = self.progress.load(Relaxed).saturating_add(timeout).saturating_sub(now);
            if left == 0 {
                let busy = self.slots.iter().filter(|s| s.since.load(Relaxed) != 0);
                let oldest = busy.min_by_key(|s| s.since.load(Relaxed)).map(|s| s.stage.load(Relaxed));
                self.fail(Fault { stage: oldest, message: stuck(self.timeout) });
                return;
            }
            match done.recv_timeout(Duration::from_nanos(left)) {
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                _ => return,
            }
        }
    }

    /// Per-worker busy time and item counts.
    pub fn per_worker(&self) -> Vec<WorkerStats> {
        self.slots
            .iter()
            .map(|s| WorkerStats { busy_ns: s.busy_ns.load(Relaxed), tasks: s.items.load(Relaxed) })
            .collect()
    }

    /// Per-stage statistics, with `workers(stage)` workers each.
    pub fn stage_stats(&self, workers: impl Fn(usize) -> usize) -> Vec<StageStats> {
        self.pipeline
            .stages()
            .iter()
            .zip(self.stage_busy.iter())
            .enumerate()
            .map(|(s, (stage, busy))| StageStats {
                name: stage.name.clone(),
                workers: workers(s),
                items: busy.1.load(Relaxed),
                busy_ns: busy.0.load(Relaxed),
            })
            .collect()
    }
}

/// A pipeline sample of an in-process model: runs `region` (which moves every item
/// through the flow) between the meter's start and stop, with a watchdog thread for
/// `--timeout`; on a fault, the error naming the stage.
pub fn run_flow(
    runner: RunnerId,
    job: &Job,
    pipeline: &dyn Pipeline,
    split: &[usize],
    whole_items: bool,
    region: impl FnOnce(&Flow<'_>) -> Result<(), BenchError>,
) -> Result<Sample, BenchError> {
    let workers: usize = if whole_items { split[0] } else { split.iter().sum() };
    let flow = Flow::new(pipeline, workers, job.timeout);
    let (done, watched) = std::sync::mpsc::channel::<()>();
    let (measured, ran) = std::thread::scope(|scope| {
        let flow = &flow;
        let watchdog = std::thread::Builder::new()
            .name("parbench-watchdog".into())
            .spawn_scoped(scope, move || flow.watch(watched))
            .map_err(|error| BenchError::Io { context: "starting the pipeline's watchdog thread".into(), error })?;
        let meter = crate::sys::Meter::start();
        flow.start();
        let ran = region(flow);
        let measured = meter.stop();
        drop(done);
        let _ = watchdog.join();
        Ok::<_, BenchError>((measured, ran))
    })?;
    ran?;
    if let Some(fault) = flow.fault() {
        return Err(fault.error(runner, job, pipeline.stages()));
    }
    let stages = flow.stage_stats(|s| if whole_items { workers } else { split[s] });
    let wall_ns = measured.wall.as_nanos() as u64;
    let stats = PipelineStats::new(stages, whole_items, pipeline.items(), wall_ns);
    Ok(pipeline_sample(runner, workers, measured, flow.per_worker(), flow.sink.verify(pipeline), stats))
}

/// A verified pipeline sample.
pub fn pipeline_sample(
    runner: RunnerId,
    workers: usize,
    measured: crate::sys::Measured,
    per_worker: Vec<WorkerStats>,
    verification: Verification,
    stats: PipelineStats,
) -> Sample {
    Sample {
        pipeline: Some(stats),
        ..Sample::measured(runner, workers, measured, per_worker, Vec::new(), verification)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(name: &str, nominal_ns: u64) -> Stage {
        Stage { name: name.into(), nominal_ns }
    }

    #[test]
    fn workers_are_split_evenly_and_the_rest_goes_to_the_slowest_stages() {
        let stages = [stage("cpu:200us", 200_000), stage("sleep:1ms", 1_000_000), stage("cpu:300us", 300_000)];
        assert_eq!(split(6, &stages), vec![2, 2, 2]);
        assert_eq!(split(7, &stages), vec![2, 3, 2]);
        assert_eq!(split(8, &stages), vec![2, 3, 3]);
        assert_eq!(split(1, &stages), vec![1, 1, 1], "every stage has a worker");
    }

    #[test]
    fn the_bottleneck_is_the_stage_with_the_least_throughput_per_worker() {
        let s = |name: &str, workers, mean_us: u64| StageStats {
            name: name.into(),
            workers,
            items: 10,
            busy_ns: 10 * mean_us * 1000,
        };
        // 1 ms sleeps on 2 workers: 2000 items/s; 200 us on 2 workers: 10000 items/s.
        let stats = PipelineStats::new(vec![s("a", 2, 200), s("b", 2, 1000), s("c", 2, 200)], false, 64, 64_000_000);
        assert_eq!(stats.bottleneck, 1);
        assert!((stats.bound_items_per_s - 2000.0).abs() < 1e-6, "{stats:?}");
        assert!((stats.items_per_s - 1000.0).abs() < 1e-6);
        // One worker per stage, the slow one given three: now the first stage bounds.
        let stats = PipelineStats::new(vec![s("a", 1, 400), s("b", 3, 1000)], false, 1, 1);
        assert_eq!(stats.bottleneck, 0);
        // Whole items: 4 workers over 1.4 ms per item.
        let stats = PipelineStats::new(vec![s("a", 4, 200), s("b", 4, 1000), s("c", 4, 200)], true, 1, 1);
        assert_eq!(stats.bottleneck, 1);
        assert!((stats.bound_items_per_s - 4e9 / 1.4e6).abs() < 1e-6, "{stats:?}");
    }

    #[test]
    fn a_sink_counts_duplicates_and_strays() {
        let sink = Sink::new(3);
        sink.arrive(0, 5);
        sink.arrive(2, 7);
        sink.arrive(2, 7);
        sink.arrive(9, 1);
        assert_eq!(sink.arrivals(), vec![(0, 5), (2, 7), (2, 7), (3, 0)]);
    }
}
