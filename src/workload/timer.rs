//! What the async form of a task may wait on, without the workload layer naming a
//! runtime: a task's async form ([`TypedWorkload::run_async`](super::TypedWorkload::run_async),
//! [`Workload::run_task_async`](super::Workload::run_task_async)) is a boxed future that
//! waits through the [`Timer`] its runner lends it (the async runner's is its runtime's
//! timer). A workload without an async form needs none of this: an async runner then
//! runs its sync task inline, blocking the worker thread that polls it.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A task's async form: a future that a runner polls, borrowing what the task was lent.
pub type TaskFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The timer of the runtime that polls a task's async form.
pub trait Timer: Send + Sync {
    /// A future that completes once `duration` has passed, never earlier; while it
    /// waits, its worker thread polls other tasks.
    fn sleep(&self, duration: Duration) -> TaskFuture<'static, ()>;
}
