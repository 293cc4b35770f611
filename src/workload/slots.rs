//! Running one sample's tasks in their typed slots, for every runner and every worker
//! process: each task's panic caught quietly (the first failure recorded, later tasks
//! skipped), and what each task allocated counted when a counting allocator is in
//! place. Nothing allocates or locks per task. A worker process kept across samples
//! resets its slots between them ([`TaskSlots::reset`]): fresh inputs, its worker
//! state kept.

use std::sync::atomic::Ordering::Relaxed;

use super::{DynWorkload, Prepare, SampleSlots, TaskContext, TaskFuture, Timer};

/// Runs a user's code (a task, a constructor, a verification) catching a panic: `Err`
/// holds the message (with the panic's place when known). The panic hook stays quiet,
/// so nothing is printed from inside a timed region; the failure is reported once, as
/// an error.
pub(crate) fn catch_quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    task_panic::run(f)
}

mod task_panic {
    use std::cell::{Cell, RefCell};
    use std::panic::{AssertUnwindSafe, catch_unwind};

    thread_local! {
        static IN_TASK: Cell<bool> = const { Cell::new(false) };
        static PLACE: RefCell<Option<String>> = const { RefCell::new(None) };
    }

    static HOOK: std::sync::Once = std::sync::Once::new();

    /// Chains a hook that records where a task panicked instead of printing it;
    /// other panics go to the previous hook.
    pub(super) fn install() {
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if IN_TASK.with(Cell::get) {
                    PLACE.with(|p| *p.borrow_mut() = info.location().map(|l| l.to_string()));
                } else {
                    previous(info);
                }
            }));
        });
    }

    pub(super) fn run<T>(f: impl FnOnce() -> T) -> Result<T, String> {
        install();
        IN_TASK.with(|t| t.set(true));
        let result = catch_unwind(AssertUnwindSafe(f));
        IN_TASK.with(|t| t.set(false));
        result.map_err(|payload| {
            let place = PLACE.with(|p| p.borrow_mut().take());
            if let Some(failure) = payload.downcast_ref::<crate::workload::TaskFailure>() {
                return failure.0.clone();
            }
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_string());
            match place {
                Some(place) => format!("panicked at {place}: {message}"),
                None => message,
            }
        })
    }
}

/// One sample's typed slots ([`SampleSlots`]: inputs, worker states, outputs, all made
/// before the clock starts) and the first task failure: each task writes its own slot
/// exactly once, so nothing allocates or locks per task inside the region.
pub(crate) struct TaskSlots<'a> {
    slots: Box<dyn SampleSlots + 'a>,
    /// Allocations and bytes of each task, when a [`crate::CountingAlloc`] counts them
    /// (else empty).
    allocations: Box<[crossbeam::utils::CachePadded<[std::sync::atomic::AtomicU64; 2]>]>,
    /// Set by the first task that panics; later tasks are skipped.
    failed: std::sync::atomic::AtomicBool,
    failure: std::sync::Mutex<Option<(usize, String)>>,
    /// Tasks an async runner ran through [`TaskSlots::run_async`]: in their async form,
    /// and without one (inline, blocking the polling thread).
    in_async_form: std::sync::atomic::AtomicU64,
    inline: std::sync::atomic::AtomicU64,
}

impl<'a> TaskSlots<'a> {
    /// Prepares a sample of `workload` (untimed): the inputs of `what.inputs`, the
    /// states of `what.workers`. `Err` holds the message of a panicking `input` or
    /// `worker` hook.
    pub(crate) fn new(workload: &'a dyn DynWorkload, what: Prepare) -> Result<Self, String> {
        let tasks = workload.task_count();
        let slots = catch_quietly(|| workload.prepare(what))?;
        // The quiet panic hook is installed here, untimed, not by the first task.
        task_panic::install();
        let counted = if crate::counting::thread_counts().is_some() { tasks } else { 0 };
        let allocations = (0..counted).map(|_| Default::default()).collect();
        Ok(TaskSlots {
            slots,
            allocations,
            failed: Default::default(),
            failure: Default::default(),
            in_async_form: Default::default(),
            inline: Default::default(),
        })
    }

    /// Runs task `task` on `ctx.worker`, recording its output and times, or the panic of
    /// the first task that fails (then the remaining tasks are skipped).
    pub(crate) fn run(&self, task: usize, ctx: &TaskContext<'_>) {
        if self.failed.load(Relaxed) {
            return;
        }
        let before = crate::counting::thread_counts();
        if let Err(message) = task_panic::run(|| self.slots.run(task, ctx)) {
            self.fail(task, message);
        }
        if let (Some((count, bytes)), Some(slot)) = (before, self.allocations.get(task)) {
            let (now_count, now_bytes) = crate::counting::thread_counts().unwrap_or((count, bytes));
            slot[0].store(now_count - count, Relaxed);
            slot[1].store(now_bytes - bytes, Relaxed);
        }
    }

    /// Makes the slots ready for another sample (untimed): fresh inputs, no outputs,
    /// no failure, no allocations counted, each worker's state kept. `Err` holds the
    /// message of a panicking `input` hook.
    pub(crate) fn reset(&mut self) -> Result<(), String> {
        catch_quietly(|| self.slots.reset())?;
        *self.failed.get_mut() = false;
        *self.inline.get_mut() = 0;
        *self.in_async_form.get_mut() = 0;
        *self.failure.get_mut().unwrap_or_else(|e| e.into_inner()) = None;
        for slot in self.allocations.iter_mut() {
            slot.iter_mut().for_each(|counter| *counter.get_mut() = 0);
        }
        Ok(())
    }

    /// Task `task` for an async runner, polled on one of its worker threads: the
    /// workload's async form when it has one, else its sync task run inline by the
    /// poll (blocking that thread until it ends). `ctx.worker` is replaced by
    /// `worker()`, the worker thread that first polls it. A panic in any poll is the
    /// task's failure, as in [`TaskSlots::run`].
    pub(crate) async fn run_async(
        &self,
        task: usize,
        mut ctx: TaskContext<'_>,
        timer: &dyn Timer,
        worker: fn() -> usize,
    ) {
        if self.failed.load(Relaxed) {
            return;
        }
        ctx.worker = worker();
        match task_panic::run(|| self.slots.run_async(task, &ctx, timer)) {
            Err(message) => self.fail(task, message),
            Ok(None) => {
                self.inline.fetch_add(1, Relaxed);
                self.run(task, &ctx);
            }
            Ok(Some(future)) => {
                self.in_async_form.fetch_add(1, Relaxed);
                if let Err(message) = (Quiet { future }).await {
                    self.fail(task, message);
                }
            }
        }
    }

    fn fail(&self, task: usize, message: String) {
        self.failed.store(true, Relaxed);
        self.failure.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert((task, message));
    }

    /// Of the tasks run by [`TaskSlots::run_async`]: how many ran without an async
    /// form (inline, each blocking its worker thread), if any ran so.
    pub(crate) fn inline(&self) -> u64 {
        self.inline.load(Relaxed)
    }

    /// What the tasks allocated in all (count, bytes), when counted. Tasks in their
    /// async form move between threads across their waits, so per-thread counts do
    /// not see what they allocated: a sample with any is not counted.
    pub(crate) fn allocations(&self) -> Option<(u64, u64)> {
        if self.in_async_form.load(Relaxed) > 0 {
            return None;
        }
        (!self.allocations.is_empty()).then(|| {
            let sum = |i: usize| self.allocations.iter().map(|a| a[i].load(Relaxed)).sum();
            (sum(0), sum(1))
        })
    }

    /// Worker, start and end of task `task`, once it ran.
    pub(crate) fn times(&self, task: usize) -> Option<(usize, u64, u64)> {
        self.slots.times(task)
    }

    /// Whether a task has failed (a child stops at its first failure).
    pub(crate) fn failure(&self) -> Option<(usize, String)> {
        self.failure.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The slots, after all workers have been joined.
    pub(crate) fn slots(&mut self) -> &mut (dyn SampleSlots + 'a) {
        self.slots.as_mut()
    }
}

/// A task's async form with each poll run like a sync task (see [`catch_quietly`]): a
/// panic in any poll ends it with the panic's message, printed by no one.
struct Quiet<'a> {
    future: TaskFuture<'a, ()>,
}

impl std::future::Future for Quiet<'_> {
    type Output = Result<(), String>;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        match task_panic::run(|| self.future.as_mut().poll(cx)) {
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Ok(std::task::Poll::Ready(())) => std::task::Poll::Ready(Ok(())),
            Err(message) => std::task::Poll::Ready(Err(message)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::typed::Erased;
    use crate::workload::{SharedState, TypedWorkload, Verification};

    /// Each task takes its input (so a reused input would be empty) and returns it
    /// with how many tasks its worker's state had seen before.
    struct Taking;

    impl TypedWorkload for Taking {
        type Input = Vec<u64>;
        type Worker = u64;
        type Output = (Vec<u64>, u64);
        fn task_count(&self) -> usize {
            3
        }
        fn input(&self, task: usize) -> Vec<u64> {
            vec![task as u64; 2]
        }
        fn worker(&self, _worker: usize) -> u64 {
            0
        }
        fn run(&self, _task: usize, input: &mut Vec<u64>, seen: &mut u64, _: &TaskContext<'_>) -> (Vec<u64>, u64) {
            *seen += 1;
            (std::mem::take(input), *seen - 1)
        }
        fn verify(&self, outputs: &[(Vec<u64>, u64)], _: &SharedState) -> Verification {
            Verification::each_by(outputs, 3, |t| (vec![t as u64; 2], 0), |a, b| a.0 == b.0, "fresh inputs")
        }
    }

    #[test]
    fn a_reset_gives_fresh_inputs_and_keeps_each_workers_state() {
        let workload = Erased(Taking);
        let shared = SharedState::heap(0);
        let ctx = TaskContext::new(0, 1, &shared);
        let mut slots = TaskSlots::new(&workload, Prepare { inputs: 0..3, workers: 0..1 }).unwrap();
        (0..3).for_each(|task| slots.run(task, &ctx));
        assert!(slots.slots().verify(&shared).is_ok());
        // Without a reset a second run of a task is refused.
        slots.run(1, &ctx);
        assert!(slots.failure().is_some_and(|(task, m)| task == 1 && m.contains("run twice")), "{:?}", slots.failure());
        slots.reset().unwrap();
        assert_eq!(slots.failure(), None);
        assert_eq!(slots.times(0), None, "times are cleared");
        (0..3).rev().for_each(|task| slots.run(task, &ctx));
        assert_eq!(slots.failure(), None);
        assert!(slots.slots().verify(&shared).is_ok(), "inputs were not made again");
        // The worker's state counted on across the samples: 3 tasks before these.
        let seen: Vec<String> = (0..3).map(|t| slots.slots().encode(t).unwrap()).collect();
        assert_eq!(seen, ["[[0,0],5]", "[[1,1],4]", "[[2,2],3]"]);
    }
}
