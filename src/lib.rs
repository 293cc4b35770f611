//! parbench: compare serial, threaded (std::thread), pooled (rayon) and multi-process
//! execution of the same workloads, and report wall time, speedup and efficiency you
//! can trust.
//!
//! Data flows one way: [`cli`] (syntax) -> [`plan`] (validated settings) ->
//! [`measure`] (rounds x runners x workload -> samples) -> [`stats`] and
//! [`report::build`] (every number, once) -> reporters (formatting only).
//!
//! The library is what `benches/` and `tests/` use, so they can never drift from the
//! command line.

#![warn(missing_docs)]

pub mod app;
pub mod atomic;
pub mod baseline;
pub mod cli;
pub mod compare;
pub mod error;
pub mod fingerprint;
pub mod interrupt;
pub mod measure;
pub mod plan;
pub mod plot;
pub mod report;
pub mod rng;
pub mod runner;
pub mod scaling;
pub mod stats;
pub mod suite;
pub mod sys;
pub mod workload;
