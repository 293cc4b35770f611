//! `fib`: each task computes the n-th Fibonacci number by naive recursion, as in the
//! seeds. Pure CPU work with no memory traffic: the case where Python's threads do not
//! help and native threads should scale with the cores.
//!
//! Verified against an iterative computation, which shares no code with the recursion.

use std::hint::black_box;

use serde::{Deserialize, Serialize};

use super::{SharedState, TaskContext, Verification, Workload, WorkloadParams};

/// Largest accepted `n`: naive fib doubles in cost roughly every 1.4 steps of n, and
/// fib(50) already takes about 15 s per task on a 3 GHz core (fib(40): ~0.13 s).
pub const MAX_N: u32 = 50;

/// Parameters of [`FibWorkload`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FibParams {
    /// Which Fibonacci number each task computes.
    pub n: u32,
    /// Number of tasks.
    pub tasks: u32,
}

impl Default for FibParams {
    fn default() -> Self {
        FibParams { n: 34, tasks: 8 }
    }
}

/// Each task computes `fib(n)` recursively.
pub struct FibWorkload {
    params: FibParams,
}

impl FibWorkload {
    /// A fib workload with these parameters.
    pub fn new(params: FibParams) -> Self {
        FibWorkload { params }
    }
}

/// Naive doubly recursive Fibonacci, deliberately exponential. fib(1) = fib(2) = 1.
pub fn fib_recursive(n: u32) -> u64 {
    if n <= 2 {
        return u64::from(n > 0);
    }
    fib_recursive(n - 1) + fib_recursive(n - 2)
}

/// Iterative Fibonacci, the independent reference answer.
pub fn fib_iterative(n: u32) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a + b);
    }
    a
}

impl Workload for FibWorkload {
    fn params(&self) -> WorkloadParams {
        WorkloadParams::Fib(self.params.clone())
    }

    fn task_count(&self) -> usize {
        self.params.tasks as usize
    }

    fn run_task(&self, _task: usize, _ctx: &TaskContext<'_>) -> u64 {
        black_box(fib_recursive(black_box(self.params.n)))
    }

    fn verify(&self, checksums: &[u64], _shared: &SharedState) -> Verification {
        let n = self.params.n;
        let expected = fib_iterative(n);
        if checksums.len() != self.params.tasks as usize {
            return Verification::Failed {
                reason: format!("{} tasks reported, {} expected", checksums.len(), self.params.tasks),
            };
        }
        match checksums.iter().position(|&c| c != expected) {
            Some(task) => Verification::Failed {
                reason: format!("task {task} returned fib({n}) = {}, expected {expected}", checksums[task]),
            },
            None => {
                Verification::Verified { detail: format!("fib({n}) = {expected} in all {} tasks", checksums.len()) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recursive_and_iterative_agree_on_known_values() {
        for (n, want) in [(0, 0), (1, 1), (2, 1), (10, 55), (20, 6765), (34, 5_702_887)] {
            assert_eq!(fib_iterative(n), want, "iterative fib({n})");
            if n <= 34 {
                assert_eq!(fib_recursive(n), want, "recursive fib({n})");
            }
        }
    }

    #[test]
    fn fib_50_fits_in_u64() {
        assert_eq!(fib_iterative(MAX_N), 12_586_269_025);
    }

    #[test]
    fn a_wrong_task_result_fails_and_names_the_task() {
        let w = FibWorkload::new(FibParams { n: 10, tasks: 3 });
        let v = w.verify(&[55, 54, 55], &SharedState::heap(0));
        assert_eq!(v, Verification::Failed { reason: "task 1 returned fib(10) = 54, expected 55".into() });
        assert!(w.verify(&[55, 55, 55], &SharedState::heap(0)).is_ok());
    }
}
