//! Before committing to a measurement: how long will it take? A short calibration runs
//! a few tasks of each case, one at a time, and the plan's samples are priced from
//! them. A plan whose warm-up and rounds alone would outlast `--limit` (10 minutes by
//! default) is refused before anything is measured; an estimate over a minute is
//! printed as measuring begins.
//!
//! The estimate is deliberately optimistic (parallel runners are priced at perfect
//! speedup on the available cores), so a refusal is never caused by pessimism. A task
//! too slow to finish within the calibration gives a lower bound, and the refusal says
//! "at least". The calibration runs on its own thread, never while anything is timed.
//!
//! A task that fails while calibrating (a panic, a command that exits non-zero or
//! outlasts `--timeout`) ends the run at once with the error the measurement would
//! give: running it again to measure would only pay the same wait twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::error::{BenchError, UsageError};
use crate::measure::Case;
use crate::runner::RunnerId;
use crate::workload::{SharedState, TaskContext};

/// Calibration time spread over all cases; every case runs at least one task.
const BUDGET: Duration = Duration::from_millis(150);

/// Estimates above this are printed when measuring begins.
pub const SHOW_ABOVE: Duration = Duration::from_secs(60);

/// How long a plan's measurement is expected to take.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// Expected wall time of the whole measurement.
    pub total: Duration,
    /// Whether a task outlasted the calibration, so `total` is only a lower bound.
    pub at_least: bool,
}

impl Estimate {
    /// "about 3 min 20 s", or "at least ...".
    pub fn describe(&self) -> String {
        format!("{} {}", if self.at_least { "at least" } else { "about" }, fmt_duration(self.total))
    }

    /// The line printed as measuring begins, when the estimate is over a minute.
    pub fn notice(&self) -> Option<String> {
        (self.total > SHOW_ABOVE)
            .then(|| format!("parbench: measuring has begun; it takes {} (from a short calibration)", self.describe()))
    }
}

/// What one case costs.
struct Price {
    /// Seconds of one task, and of making its input.
    per_task: (f64, f64),
    /// Seconds of one round: one sample of every runner.
    round: f64,
    /// Seconds paid once (building the workload).
    once: f64,
    at_least: bool,
}

/// Why a plan is not measured.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// It would take longer than the limit (exit 2).
    #[error(transparent)]
    TooLong(#[from] UsageError),
    /// A task failed while calibrating (exit 1), as it would have while measuring.
    #[error(transparent)]
    Failed(#[from] BenchError),
}

/// Calibrates `cases` and estimates their measurement; refuses it when the warm-up and
/// rounds would take longer than `limit`, or when a task fails. `limit_flag` names the
/// limit in the refusal.
pub fn check(cases: &[Case], limit: Duration, limit_flag: &str) -> Result<Estimate, Refusal> {
    let cores = crate::fingerprint::available_parallelism();
    let budget = BUDGET / cases.len().max(1) as u32;
    let mut total = 0.0;
    let mut at_least = false;
    let mut longest: Option<(f64, &str)> = None;
    let refuse = |total: f64, at_least: bool, longest: Option<(f64, &str)>| {
        let estimate = Estimate { total: Duration::from_secs_f64(total), at_least };
        let worst =
            longest.map(|(s, label)| format!("; the longest case, {label}, {}", round_time(s))).unwrap_or_default();
        UsageError::new(format!(
            "this measurement would take {}{worst}; that is over {limit_flag} {}: lower the rounds or warm-up, make \
             the work or the sweep smaller, or raise {limit_flag}",
            estimate.describe(),
            fmt_duration(limit)
        ))
    };
    // A task's time depends on the parameter values, not on the worker count: a sweep
    // calibrates each configuration once.
    let mut known: std::collections::HashMap<String, (f64, f64)> = std::collections::HashMap::new();
    for (i, case) in cases.iter().enumerate() {
        // With --rounds auto, the rounds that always run: the "fixed minimum".
        let samples = f64::from(crate::measure::usual_warmup(case.settings.warmup) + case.settings.rounds.minimum());
        let over = |price: &Price| total + price.once + samples * price.round > limit.as_secs_f64();
        let key = format!("{} {:?}", case.spec.name(), case.params.to_json());
        let price = match calibrate(case, budget, cores, known.get(&key).copied(), &|p: &Price| over(p)) {
            Ok(price) => price,
            Err(Stopped::Over(p)) => {
                return Err(refuse(total + p.once + samples * p.round, true, Some((p.round, &case.label))).into());
            }
            Err(Stopped::Failed(e)) => return Err(e.into()),
        };
        known.insert(key, price.per_task);
        let cost = price.once + samples * price.round;
        total += cost;
        at_least |= price.at_least;
        if longest.is_none_or(|(s, _)| price.round > s) {
            longest = Some((price.round, &case.label));
        }
        if total > limit.as_secs_f64() {
            // The cases not priced yet would only add to it.
            return Err(refuse(total, at_least || i + 1 < cases.len(), longest).into());
        }
    }
    Ok(Estimate { total: Duration::from_secs_f64(total), at_least })
}

/// "takes about 2 s a round".
fn round_time(secs: f64) -> String {
    format!("takes {} a round", fmt_duration(Duration::from_secs_f64(secs)))
}

/// Why a calibration stopped early.
enum Stopped {
    /// The time so far is already over the limit: a lower bound of the price.
    Over(Price),
    /// A task failed.
    Failed(BenchError),
}

/// What the calibration thread reports after each task.
enum Progress {
    /// Tasks done so far, the time they took, and the time making their inputs took.
    Done(usize, Duration, Duration),
    /// Task `task` failed with this message.
    Failed(usize, String),
}

/// Prices one case from a few of its tasks run one at a time. While the first task
/// has not finished, its time so far is a lower bound: `Err` with that bound as soon
/// as `over` says it is already too much.
fn calibrate(
    case: &Case,
    budget: Duration,
    cores: usize,
    known: Option<(f64, f64)>,
    over: &dyn Fn(&Price) -> bool,
) -> Result<Price, Stopped> {
    // A set-up that fails is reported by the measurement itself; it costs nothing here.
    let Ok((job, setup_ns)) = crate::measure::build(case) else {
        return Ok(Price { per_task: (0.0, 0.0), round: 0.0, once: 0.0, at_least: false });
    };
    let once = setup_ns as f64 / 1e9;
    let tasks = job.workload.task_count();
    if let Some(per_task) = known {
        return Ok(price(case, cores, tasks, per_task, once, false));
    }
    let (tx, rx) = std::sync::mpsc::channel::<Progress>();
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = Arc::clone(&stop);
    let timeout = case.settings.options.timeout;
    let worker = std::thread::Builder::new().name("parbench-calibration".into()).spawn(move || {
        let workload = job.workload.as_ref();
        let shared = SharedState::heap(workload.shared_slots(1));
        let ctx = TaskContext { worker: 0, workers: 1, shared: &shared, timeout };
        let (mut running, mut preparing) = (Duration::ZERO, Duration::ZERO);
        for i in 0..tasks {
            // Spread over the task indices: tasks may differ in size.
            let task = ((i as f64 * 0.618_033_988_749_895).fract() * tasks as f64) as usize;
            let task = task.min(tasks - 1);
            // Each sample makes every task's input untimed: that costs wall time too.
            let start = Instant::now();
            let what = crate::workload::Prepare { inputs: task..task + 1, workers: 0..1 };
            let slots = match crate::runner::TaskSlots::new(workload, what) {
                Ok(slots) => slots,
                Err(message) => {
                    let _ = tx.send(Progress::Failed(task, format!("preparing its input {message}")));
                    return;
                }
            };
            let ran = Instant::now();
            slots.run(task, &ctx);
            let done = Instant::now();
            if let Some((task, message)) = slots.failure() {
                let _ = tx.send(Progress::Failed(task, message));
                return;
            }
            // Freeing the input and the worker's state is untimed as well.
            drop(slots);
            running += done - ran;
            preparing += (ran - start) + done.elapsed();
            if tx.send(Progress::Done(i + 1, running, preparing)).is_err() || stopped.load(Ordering::Relaxed) {
                return;
            }
            let elapsed = running + preparing;
            let mean = elapsed / (i as u32 + 1);
            if elapsed + mean > budget {
                return;
            }
        }
    });
    let Ok(worker) = worker else {
        return Ok(Price { per_task: (0.0, 0.0), round: 0.0, once, at_least: false });
    };
    let started = Instant::now();
    let mut last: Option<(usize, Duration, Duration)> = None;
    loop {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(Progress::Done(done, running, preparing)) => last = Some((done, running, preparing)),
            Ok(Progress::Failed(task, message)) => {
                let _ = worker.join();
                // Worker 0 of 1 running tasks in turn is the reference runner; the
                // measurement would fail the same way in its first sample.
                let runner = RunnerId::reference();
                return Err(Stopped::Failed(BenchError::TaskFailed {
                    runner: runner.as_str(),
                    workload: case.label.clone(),
                    task,
                    message,
                }));
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) if last.is_none() => {
                let bound = price(case, cores, tasks, (started.elapsed().as_secs_f64(), 0.0), once, true);
                if over(&bound) {
                    // The task keeps running on its thread; the refusal ends the process.
                    stop.store(true, Ordering::Relaxed);
                    return Err(Stopped::Over(bound));
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
    }
    let _ = worker.join();
    let per_task = last.map_or((0.0, 0.0), |(done, running, preparing)| {
        (running.as_secs_f64() / done as f64, preparing.as_secs_f64() / done as f64)
    });
    Ok(price(case, cores, tasks, per_task, once, false))
}

/// A round of `case` when a task takes `per_task.0` seconds and making its input (with
/// its worker's state) `per_task.1`: serial runs every task in turn; a parallel runner
/// at best divides that by its workers (by the cores, unless the tasks wait); threads
/// and processes also start (about 20 µs and 0.5 ms each). Every sample makes its
/// inputs untimed, in parbench for the in-process runners and in the children for
/// `process`, which also build the workload in each child: untimed, yet part of the
/// wall time `--max-time` and `--limit` bound.
fn price(case: &Case, cores: usize, tasks: usize, per_task: (f64, f64), once: f64, at_least: bool) -> Price {
    let (per_task, per_input) = per_task;
    let inputs = per_input * tasks as f64;
    let serial = per_task * tasks as f64;
    let workers = case.settings.workers.max(1);
    let round = case
        .settings
        .runners
        .iter()
        .filter_map(|r| r.info())
        .map(|info| {
            let workers = info.workers(workers);
            let lanes = if case.properties.waits { workers } else { workers.min(cores) };
            let parallel = serial / lanes.min(tasks).max(1) as f64;
            let set_up = if info.cost.set_up_per_worker { once + inputs / workers as f64 } else { inputs };
            // Threads and processes are started inside every sample.
            parallel + set_up + workers as f64 * info.cost.start_s
        })
        .sum();
    Price { per_task: (per_task, per_input), round, once, at_least }
}

/// `45 s`, `3 min 20 s`, `2 h 5 min`, `1.5 s`, `250 ms`, `1.5 ms`, `40 µs`: a unit
/// that fits, so that a short limit never reads as `0.0 s`.
pub fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    match s {
        _ if s < 0.000_999_5 => return format!("{} µs", (s * 1e6).round()),
        _ if s < 0.009_95 => return format!("{:.1} ms", s * 1e3),
        _ if s < 0.999_5 => return format!("{} ms", (s * 1e3).round()),
        _ => {}
    }
    if s >= 3600.0 * 24.0 * 365.0 {
        return "more than a year".into();
    }
    let whole = s.round() as u64;
    match whole {
        _ if s < 10.0 => format!("{:.1} s", s),
        0..60 => format!("{whole} s"),
        60..3600 if whole % 60 == 0 => format!("{} min", whole / 60),
        60..3600 => format!("{} min {} s", whole / 60, whole % 60),
        _ if (whole / 60) % 60 == 0 => format!("{} h", whole / 3600),
        _ => format!("{} h {} min", whole / 3600, (whole / 60) % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_a_person_would_say_them() {
        let f = |s: f64| fmt_duration(Duration::from_secs_f64(s));
        assert_eq!(f(1.54), "1.5 s");
        assert_eq!(f(45.0), "45 s");
        assert_eq!(f(200.0), "3 min 20 s");
        assert_eq!(f(600.0), "10 min");
        assert_eq!(f(7500.0), "2 h 5 min");
        assert_eq!(f(1e12), "more than a year");
        assert_eq!(f(0.001), "1.0 ms");
        assert_eq!(f(0.25), "250 ms");
        assert_eq!(f(0.0015), "1.5 ms");
        assert_eq!(f(0.000_04), "40 µs");
        assert_eq!(f(0.0), "0 µs");
        assert_eq!(f(0.9996), "1.0 s");
    }

    #[test]
    fn an_estimate_over_a_minute_is_announced() {
        let short = Estimate { total: Duration::from_secs(59), at_least: false };
        assert_eq!(short.notice(), None);
        let long = Estimate { total: Duration::from_secs(200), at_least: false };
        assert_eq!(
            long.notice().unwrap(),
            "parbench: measuring has begun; it takes about 3 min 20 s (from a short calibration)"
        );
    }
}
