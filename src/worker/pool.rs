//! Worker processes kept across samples: started once (spawn, hello, set-up), then
//! one sample after another on the same children, each opened with `next` (fresh
//! inputs, the worker state kept), and asked to quit at the end. The `process-pool`
//! runner keeps one per case; any topology of processes kept across samples can keep
//! one the same way.
//!
//! A child that dies between samples is found when the next one opens, and named; as
//! everywhere in this layer, dropping the pool kills and reaps every child with its
//! process group.

use std::ffi::OsString;
use std::path::Path;
use std::time::{Duration, Instant};

use super::children::Children;
use super::lifecycle;
use crate::error::BenchError;

/// Started worker processes, set up and waiting for samples.
pub struct Pool {
    children: Children,
    started_ns: u64,
}

impl Pool {
    /// Starts one child per set-up line, each running `program args...`, and waits
    /// until every one has said hello and built its workload, inputs and worker state.
    pub fn start(program: &Path, args: &[OsString], setups: &[Vec<u8>], timeout: Duration) -> Result<Pool, BenchError> {
        let started = Instant::now();
        let stderr_files = Children::stderr_files(setups.len())?;
        let mut children = Children::spawn(program, args, stderr_files, timeout)?;
        lifecycle::hello(&mut children)?;
        lifecycle::set_up(&mut children, setups)?;
        Ok(Pool { children, started_ns: started.elapsed().as_nanos() as u64 })
    }

    /// How long starting took: spawn, hello and set-up of every child.
    pub fn started_ns(&self) -> u64 {
        self.started_ns
    }

    /// Opens the next sample in every child (see [`lifecycle::next_sample`]): returns
    /// the longest reset and its CPU time. A child that died since the last sample is
    /// an error naming it.
    pub fn next_sample(&mut self) -> Result<(u64, u64), BenchError> {
        lifecycle::next_sample(&mut self.children)
    }

    /// The children, for a sample's dispatch and collection.
    pub fn children(&mut self) -> &mut Children {
        &mut self.children
    }

    /// The children's pids, in worker order.
    pub fn pids(&self) -> Vec<u32> {
        (0..self.children.len()).map(|w| self.children.pid(w)).collect()
    }

    /// Asks every child to quit and reaps it (see [`lifecycle::quit`]).
    pub fn quit(mut self) -> Result<(), BenchError> {
        lifecycle::quit(&mut self.children)
    }
}
