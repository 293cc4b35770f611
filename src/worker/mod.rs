//! The worker layer: everything a parent needs to drive worker processes, below every
//! runner that uses processes. [`protocol`] is the one typed grammar of requests and
//! replies, [`children`] owns the processes and drives them all from one `poll` loop,
//! [`dispatch`] decides which task goes to which worker, as a pure state machine,
//! [`lifecycle`] has the phases of a session, [`pool`] keeps children across samples,
//! and [`serve`] is the worker's side. Behind the `mpi` feature, `mpi` carries the same
//! protocol between the ranks of an MPI world.
//!
//! It knows workloads only as data (a set-up names one); it never imports the
//! registry, plans, reports, results or the command layer.

pub mod children;
pub mod dispatch;
pub mod lifecycle;
#[cfg(feature = "mpi")]
pub mod mpi;
pub mod pool;
pub mod protocol;
pub mod serve;

pub use children::Children;
pub use dispatch::{Dispatch, Plan, static_block};
pub use pool::Pool;
