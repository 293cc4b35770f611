//! The full workload trait, [`TypedWorkload`]: an untimed input per task, a state per
//! worker, and results of any serialisable type. Every minimal [`Workload`] is one (no
//! input, no state, a `u64` checksum), so runners know a single form of workload.
//!
//! Runners never see the typed trait. A spec erases it, once, into a [`DynWorkload`]
//! whose [`DynWorkload::prepare`] makes one sample's typed slots with the clock stopped:
//! each task's input, each worker's state and an empty output place per task, each on
//! its own cache line. A task then only claims its slot and writes its output there:
//! nothing allocates, locks or prints per task inside the timed region, and inputs,
//! worker states and outputs are all dropped after the clock has stopped.

use std::cell::UnsafeCell;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use crossbeam::utils::CachePadded;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{SharedState, TaskContext, TaskFuture, Timer, Verification, Workload};

/// How much a task processes, for a throughput column beside its wall time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(tag = "unit", content = "amount", rename_all = "snake_case")]
pub enum Throughput {
    /// Bytes read or written (the table shows GiB/s).
    Bytes(u64),
    /// Elements processed (the table shows elements/s).
    Elements(u64),
}

impl Throughput {
    /// The same unit with `amount` instead.
    fn with(self, amount: u64) -> Throughput {
        match self {
            Throughput::Bytes(_) => Throughput::Bytes(amount),
            Throughput::Elements(_) => Throughput::Elements(amount),
        }
    }

    /// The amount, in its unit.
    pub fn amount(self) -> u64 {
        match self {
            Throughput::Bytes(n) | Throughput::Elements(n) => n,
        }
    }
}

/// A workload with an input per task, a state per worker and typed results.
///
/// Per sample, before the clock starts, parbench calls [`input`](Self::input) once for
/// every task and [`worker`](Self::worker) once for every worker; inside the timed
/// region, each task runs once with its own input and its worker's state; after it,
/// [`verify`](Self::verify) checks the outputs, indexed by task. The input is lent
/// (`&mut`), not given, so freeing it is never timed; a task that wants to own it can
/// `std::mem::take` it.
///
/// Under the `process` runner each child makes the inputs of the tasks it may run
/// (its block under `--schedule static`; every task under dynamic scheduling, where it
/// cannot know which it gets: that costs W times the inputs' memory and set-up time,
/// untimed) and its one worker state; outputs travel back as JSON after the timed
/// region ends.
///
/// ```
/// use parbench::{SharedState, TaskContext, TypedWorkload, Verification};
///
/// /// Sorts a reversed vector per task, in place: each sample sorts unsorted data.
/// struct Sort { len: u64, tasks: usize }
///
/// impl TypedWorkload for Sort {
///     type Input = Vec<u64>;
///     type Worker = ();
///     type Output = u64;
///     fn task_count(&self) -> usize { self.tasks }
///     fn input(&self, _task: usize) -> Vec<u64> { (0..self.len).rev().collect() }
///     fn worker(&self, _worker: usize) {}
///     fn run(&self, _task: usize, input: &mut Vec<u64>, _: &mut (), _: &TaskContext<'_>) -> u64 {
///         input.sort_unstable();
///         input[0]
///     }
///     fn verify(&self, outputs: &[u64], _: &SharedState) -> Verification {
///         Verification::each(outputs, self.tasks, |_| 0, "the smallest element is 0")
///     }
/// }
/// ```
pub trait TypedWorkload: Send + Sync {
    /// What one task works on, made untimed before each sample (criterion's
    /// `iter_batched`): `()` for none.
    type Input: Send;
    /// State one worker keeps across its tasks (a buffer, a connection), made untimed
    /// before each sample: `()` for none.
    type Worker: Send;
    /// What one task returns; it must survive a JSON round trip (the process runner's
    /// children send it back).
    type Output: Send + Serialize + DeserializeOwned;

    /// Number of tasks in one sample. It depends only on the parameters, never on the
    /// runner, so every runner does the same total work.
    fn task_count(&self) -> usize;

    /// The input of task `task`, made with the clock stopped, fresh for every sample.
    fn input(&self, task: usize) -> Self::Input;

    /// The state of worker `worker` (0-based), made with the clock stopped once per
    /// worker and sample, and lent to each task that worker runs. Under the
    /// `process-pool` runner each worker process makes its state once, when the pool
    /// starts, and keeps it across samples.
    fn worker(&self, worker: usize) -> Self::Worker;

    /// Runs task `task` on its input with its worker's state: the timed part.
    fn run(
        &self,
        task: usize,
        input: &mut Self::Input,
        worker: &mut Self::Worker,
        ctx: &TaskContext<'_>,
    ) -> Self::Output;

    /// The async form of task `task`, if it has one (default: none): a future that
    /// waits through `timer` (the polling runtime's) rather than blocking its thread,
    /// so that an async runner keeps many tasks waiting on few threads. An async runner
    /// polls it; other runners, and an async runner when this returns `None`, run
    /// [`run`](Self::run) instead: inline, on the worker thread that polls the task,
    /// which it blocks until the task ends. That is what async does to CPU work: it
    /// does not help.
    ///
    /// The async form gets the task's input but no worker state: many tasks wait at
    /// once on one worker thread, and one state cannot be lent to all of them. The
    /// future must end with the output `run` would return; it is verified the same
    /// way. `ctx.worker` is the worker thread that first polled it.
    fn run_async<'a>(
        &'a self,
        _task: usize,
        _input: &'a mut Self::Input,
        _ctx: &'a TaskContext<'a>,
        _timer: &'a dyn Timer,
    ) -> Option<TaskFuture<'a, Self::Output>> {
        None
    }

    /// Checks every task's output (indexed by task) and the shared state against an
    /// independently computed answer.
    fn verify(&self, outputs: &[Self::Output], shared: &SharedState) -> Verification;

    /// How many cache-line-padded shared slots one sample with `workers` workers needs
    /// (default none). Under the process runner they live in shared memory.
    fn shared_slots(&self, _workers: usize) -> usize {
        0
    }

    /// How much task `task` processes, for throughput beside the wall time (default:
    /// not declared). Every task must use the same unit.
    fn throughput(&self, _task: usize) -> Option<Throughput> {
        None
    }
}

/// A minimal workload is a typed one: no input, no worker state, a `u64` checksum.
impl<T: Workload + ?Sized> TypedWorkload for T {
    type Input = ();
    type Worker = ();
    type Output = u64;

    fn task_count(&self) -> usize {
        Workload::task_count(self)
    }
    fn input(&self, _task: usize) {}
    fn worker(&self, _worker: usize) {}
    fn run(&self, task: usize, _: &mut (), _: &mut (), ctx: &TaskContext<'_>) -> u64 {
        self.run_task(task, ctx)
    }
    fn run_async<'a>(
        &'a self,
        task: usize,
        _: &'a mut (),
        ctx: &'a TaskContext<'a>,
        timer: &'a dyn Timer,
    ) -> Option<TaskFuture<'a, u64>> {
        self.run_task_async(task, ctx, timer)
    }
    fn verify(&self, outputs: &[u64], shared: &SharedState) -> Verification {
        Workload::verify(self, outputs, shared)
    }
    fn shared_slots(&self, workers: usize) -> usize {
        Workload::shared_slots(self, workers)
    }
    fn throughput(&self, task: usize) -> Option<Throughput> {
        Workload::throughput(self, task)
    }
}

/// Which slots one sample needs: the tasks whose inputs to make and the workers whose
/// states to make (a process runner's child makes only its own; its parent, which only
/// collects outputs, none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepare {
    /// Tasks whose inputs are made; running any other task is refused.
    pub inputs: Range<usize>,
    /// Workers whose states are made.
    pub workers: Range<usize>,
}

/// A typed workload with its types erased: the one form every runner executes.
pub trait DynWorkload: Send + Sync {
    /// Number of tasks in one sample.
    fn task_count(&self) -> usize;

    /// Shared slots one sample with `workers` workers needs.
    fn shared_slots(&self, workers: usize) -> usize;

    /// What one sample processes in all, if the workload declares it.
    fn throughput(&self) -> Option<Throughput>;

    /// One sample's slots, made with the clock stopped: inputs, worker states and
    /// empty outputs. `Err` when the workload's `input` or `worker` panicked.
    fn prepare(&self, what: Prepare) -> Box<dyn SampleSlots + '_>;

    /// The workload's own topology, when it is a [`super::Pipeline`] rather than
    /// independent tasks: runners then run it in their pipeline model, and its task
    /// form refuses to run.
    fn pipeline(&self) -> Option<&dyn super::Pipeline> {
        None
    }
}

/// One sample's typed slots, shared by the workers of the timed region.
pub trait SampleSlots: Send + Sync {
    /// Runs task `task` on worker `ctx.worker`, storing its output and its start and
    /// end on the monotonic clock. A panic of the task propagates (the runner catches
    /// it); a task run twice, a task without a prepared input and a worker whose state
    /// is in use (a task re-entered through nested parallelism) are refused by a panic.
    fn run(&self, task: usize, ctx: &TaskContext<'_>);

    /// Task `task` in its async form, when its workload has one: a future that stores
    /// its output and its times like [`SampleSlots::run`] (from its first poll to its
    /// end). `None` when it has none: run it with `run` instead (the task is left
    /// unclaimed). A task run twice is refused by a panic, as by `run`.
    fn run_async<'a>(
        &'a self,
        task: usize,
        ctx: &'a TaskContext<'a>,
        timer: &'a dyn Timer,
    ) -> Option<TaskFuture<'a, ()>>;

    /// The worker, start and end (monotonic ns) of task `task`, if it ran.
    fn times(&self, task: usize) -> Option<(usize, u64, u64)>;

    /// The JSON text of task `task`'s output, if it ran (a child sends it back).
    fn encode(&mut self, task: usize) -> Option<String>;

    /// Stores task `task`'s output from its JSON text (a parent receives it).
    fn decode(&mut self, task: usize, json: &str) -> Result<(), String>;

    /// Verifies every output; a task without one fails the sample.
    fn verify(&mut self, shared: &SharedState) -> Verification;

    /// Makes the slots ready for another sample (untimed): every prepared task gets a
    /// fresh input, every output and time is cleared, and each worker keeps its state
    /// (a pool's worker process builds it once). A panicking `input` hook propagates.
    fn reset(&mut self);
}

/// The eraser: a typed workload behind [`DynWorkload`].
pub(crate) struct Erased<T>(pub(crate) T);

impl<T: TypedWorkload> DynWorkload for Erased<T> {
    fn task_count(&self) -> usize {
        self.0.task_count()
    }

    fn shared_slots(&self, workers: usize) -> usize {
        self.0.shared_slots(workers)
    }

    fn throughput(&self) -> Option<Throughput> {
        let mut tasks = (0..self.0.task_count()).map(|t| self.0.throughput(t));
        let first = tasks.next()??;
        let total = tasks.try_fold(first.amount(), |sum, t| match t {
            Some(t) if std::mem::discriminant(&t) == std::mem::discriminant(&first) => {
                Some(sum.saturating_add(t.amount()))
            }
            _ => None,
        })?;
        Some(first.with(total))
    }

    fn prepare(&self, what: Prepare) -> Box<dyn SampleSlots + '_> {
        let tasks = self.0.task_count();
        let slots = (0..tasks)
            .map(|t| {
                let input = what.inputs.contains(&t).then(|| self.0.input(t));
                CachePadded::new(TaskSlot {
                    claimed: AtomicBool::new(false),
                    input: UnsafeCell::new(input),
                    ..TaskSlot::empty()
                })
            })
            .collect();
        let workers = what
            .workers
            .clone()
            .map(|w| {
                CachePadded::new(WorkerSlot { busy: AtomicBool::new(false), state: UnsafeCell::new(self.0.worker(w)) })
            })
            .collect();
        Box::new(Slots {
            workload: &self.0,
            tasks: slots,
            inputs: what.inputs,
            workers,
            first_worker: what.workers.start,
        })
    }
}

/// One task's input, output and times.
struct TaskSlot<I, O> {
    claimed: AtomicBool,
    input: UnsafeCell<Option<I>>,
    output: UnsafeCell<Option<O>>,
    worker: AtomicU64,
    start: AtomicU64,
    end: AtomicU64,
}

impl<I, O> TaskSlot<I, O> {
    fn empty() -> Self {
        TaskSlot {
            claimed: AtomicBool::new(false),
            input: UnsafeCell::new(None),
            output: UnsafeCell::new(None),
            worker: AtomicU64::new(0),
            start: AtomicU64::new(0),
            end: AtomicU64::new(u64::MAX),
        }
    }
}

/// One worker's state, with a flag that makes a second, simultaneous use a panic
/// rather than two `&mut` to the same state.
struct WorkerSlot<W> {
    busy: AtomicBool,
    state: UnsafeCell<W>,
}

/// The task slots of a sample of `T`.
type TaskSlotsOf<T> = Box<[CachePadded<TaskSlot<<T as TypedWorkload>::Input, <T as TypedWorkload>::Output>>]>;

struct Slots<'a, T: TypedWorkload> {
    workload: &'a T,
    tasks: TaskSlotsOf<T>,
    /// The tasks whose inputs are made, again at each reset.
    inputs: Range<usize>,
    workers: Box<[CachePadded<WorkerSlot<T::Worker>>]>,
    first_worker: usize,
}

// SAFETY: the cells are only reached through `run`, which claims a task slot with an
// atomic swap (so one thread ever touches a task's input and output) and a worker slot
// with another (so one task at a time holds a worker's state), or through `&mut self`
// methods, which have the slots to themselves. The values inside are `Send`.
unsafe impl<T: TypedWorkload> Sync for Slots<'_, T> {}

/// Clears a worker's busy flag when its task ends, panic or not.
struct Release<'a>(&'a AtomicBool);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.store(false, std::sync::atomic::Ordering::Release);
    }
}

impl<T: TypedWorkload> SampleSlots for Slots<'_, T> {
    fn run(&self, task: usize, ctx: &TaskContext<'_>) {
        use std::sync::atomic::Ordering::{AcqRel, Acquire};
        let slot = &self.tasks[task];
        assert!(!slot.claimed.swap(true, AcqRel), "task {task} was run twice in one sample");
        let Some(cell) = ctx.worker.checked_sub(self.first_worker).and_then(|w| self.workers.get(w)) else {
            panic!("worker {} has no state in this sample", ctx.worker);
        };
        // A state without bytes (`()`) cannot be shared wrongly: tasks that re-enter
        // their worker through nested parallelism (rayon inside a task) stay allowed.
        let stateless = std::mem::size_of::<T::Worker>() == 0;
        assert!(
            stateless || !cell.busy.swap(true, Acquire),
            "worker {}'s state is in use by another of its tasks (a task re-entered through nested parallelism)",
            ctx.worker
        );
        let _release = (!stateless).then(|| Release(&cell.busy));
        // SAFETY: the task slot was claimed above by this call alone, and the worker
        // slot is held (busy) until `_release` drops: no other reference exists. A
        // zero-sized state is reached through a dangling pointer, valid for every
        // zero-sized type, so simultaneous tasks never alias one place.
        let input = unsafe { &mut *slot.input.get() };
        let state = if stateless {
            unsafe { std::ptr::NonNull::<T::Worker>::dangling().as_mut() }
        } else {
            unsafe { &mut *cell.state.get() }
        };
        let Some(input) = input.as_mut() else {
            panic!("task {task} has no input in this sample (its worker did not prepare it)");
        };
        let start = crate::sys::monotonic_ns();
        let output = self.workload.run(task, input, state, ctx);
        let end = crate::sys::monotonic_ns();
        // SAFETY: as above, this call owns the task slot.
        unsafe { *slot.output.get() = Some(output) };
        slot.worker.store(ctx.worker as u64, Relaxed);
        slot.start.store(start, Relaxed);
        slot.end.store(end, std::sync::atomic::Ordering::Release);
    }

    fn run_async<'a>(
        &'a self,
        task: usize,
        ctx: &'a TaskContext<'a>,
        timer: &'a dyn Timer,
    ) -> Option<TaskFuture<'a, ()>> {
        use std::sync::atomic::Ordering::{AcqRel, Release};
        let slot = &self.tasks[task];
        assert!(!slot.claimed.swap(true, AcqRel), "task {task} was run twice in one sample");
        // SAFETY: the task slot was claimed above by this call alone; the input stays
        // borrowed by the returned future only, and is given back (unclaimed) when
        // there is none.
        let input = unsafe { &mut *slot.input.get() };
        let Some(input) = input.as_mut() else {
            panic!("task {task} has no input in this sample (its worker did not prepare it)");
        };
        let Some(future) = self.workload.run_async(task, input, ctx, timer) else {
            slot.claimed.store(false, Release);
            return None;
        };
        Some(Box::pin(async move {
            let start = crate::sys::monotonic_ns();
            let output = future.await;
            let end = crate::sys::monotonic_ns();
            // The slot is reached through `self` (which is `Sync`), after the wait.
            let slot = &self.tasks[task];
            // SAFETY: as above, this future owns the task slot.
            unsafe { *slot.output.get() = Some(output) };
            slot.worker.store(ctx.worker as u64, Relaxed);
            slot.start.store(start, Relaxed);
            slot.end.store(end, Release);
        }))
    }

    fn times(&self, task: usize) -> Option<(usize, u64, u64)> {
        let slot = self.tasks.get(task)?;
        let end = slot.end.load(std::sync::atomic::Ordering::Acquire);
        (end != u64::MAX).then(|| (slot.worker.load(Relaxed) as usize, slot.start.load(Relaxed), end))
    }

    fn encode(&mut self, task: usize) -> Option<String> {
        let output = self.tasks.get_mut(task)?.output.get_mut().as_ref()?;
        Some(serde_json::to_string(output).unwrap_or_else(|e| panic!("task {task}'s output does not serialise: {e}")))
    }

    fn decode(&mut self, task: usize, json: &str) -> Result<(), String> {
        let tasks = self.tasks.len();
        let slot = self.tasks.get_mut(task).ok_or_else(|| format!("an output for task {task} of {tasks}"))?;
        let output = serde_json::from_str(json).map_err(|e| format!("task {task}'s output {json:?}: {e}"))?;
        *slot.output.get_mut() = Some(output);
        Ok(())
    }

    fn verify(&mut self, shared: &SharedState) -> Verification {
        let mut outputs = Vec::with_capacity(self.tasks.len());
        for (task, slot) in self.tasks.iter_mut().enumerate() {
            match slot.output.get_mut().take() {
                Some(output) => outputs.push(output),
                None => return Verification::failed(format!("task {task} returned no output")),
            }
        }
        let verdict = self.workload.verify(&outputs, shared);
        // Put them back: a caller may still encode them.
        for (slot, output) in self.tasks.iter_mut().zip(outputs) {
            *slot.output.get_mut() = Some(output);
        }
        verdict
    }

    fn reset(&mut self) {
        for (task, slot) in self.tasks.iter_mut().enumerate() {
            // The old input and output are dropped here, with the clock stopped.
            let input = self.inputs.contains(&task).then(|| self.workload.input(task));
            **slot = TaskSlot { input: UnsafeCell::new(input), ..TaskSlot::empty() };
        }
    }
}

/// A boxed workload is a workload, so a program can choose one at run time.
impl<W: Workload + ?Sized> Workload for Box<W> {
    fn task_count(&self) -> usize {
        (**self).task_count()
    }
    fn run_task(&self, task: usize, ctx: &TaskContext<'_>) -> u64 {
        (**self).run_task(task, ctx)
    }
    fn run_task_async<'a>(
        &'a self,
        task: usize,
        ctx: &'a TaskContext<'a>,
        timer: &'a dyn Timer,
    ) -> Option<TaskFuture<'a, u64>> {
        (**self).run_task_async(task, ctx, timer)
    }
    fn verify(&self, checksums: &[u64], shared: &SharedState) -> Verification {
        (**self).verify(checksums, shared)
    }
    fn shared_slots(&self, workers: usize) -> usize {
        (**self).shared_slots(workers)
    }
    fn throughput(&self, task: usize) -> Option<Throughput> {
        (**self).throughput(task)
    }
}

/// A boxed typed workload is one too, so a program can choose among typed workloads
/// of the same types at run time.
impl<I: Send, W: Send, O: Send + Serialize + DeserializeOwned> TypedWorkload
    for Box<dyn TypedWorkload<Input = I, Worker = W, Output = O>>
{
    type Input = I;
    type Worker = W;
    type Output = O;
    fn task_count(&self) -> usize {
        (**self).task_count()
    }
    fn input(&self, task: usize) -> I {
        (**self).input(task)
    }
    fn worker(&self, worker: usize) -> W {
        (**self).worker(worker)
    }
    fn run(&self, task: usize, input: &mut I, worker: &mut W, ctx: &TaskContext<'_>) -> O {
        (**self).run(task, input, worker, ctx)
    }
    fn run_async<'a>(
        &'a self,
        task: usize,
        input: &'a mut I,
        ctx: &'a TaskContext<'a>,
        timer: &'a dyn Timer,
    ) -> Option<TaskFuture<'a, O>> {
        (**self).run_async(task, input, ctx, timer)
    }
    fn verify(&self, outputs: &[O], shared: &SharedState) -> Verification {
        (**self).verify(outputs, shared)
    }
    fn shared_slots(&self, workers: usize) -> usize {
        (**self).shared_slots(workers)
    }
    fn throughput(&self, task: usize) -> Option<Throughput> {
        (**self).throughput(task)
    }
}
