//! `fib`: each task computes the n-th Fibonacci number by naive recursion, as in the
//! seeds. Pure CPU work with no memory traffic: the case where Python's threads do not
//! help and native threads should scale with the cores.
//!
//! Verified against an iterative computation, which shares no code with the recursion.

use std::hint::black_box;

use super::{Param, Params, SharedState, TaskContext, Verification, Workload, WorkloadSpec};

/// Largest accepted `n`: naive fib doubles in cost roughly every 1.4 steps of n, and
/// fib(50) already takes about 15 s per task on a 3 GHz core (fib(40): ~0.13 s).
pub const MAX_N: u64 = 50;

/// The `fib` declaration.
pub fn spec() -> WorkloadSpec {
    WorkloadSpec::new("fib", "each task computes naive recursive fib(n): pure CPU, no memory traffic", |p: &Params| {
        Ok(FibWorkload { n: p.uint("n") as u32, tasks: p.uint("tasks") as usize })
    })
    .param(
        Param::uint("n", 34)
            .range(1, MAX_N)
            .smoke(20u64)
            .help("Which Fibonacci number each task computes; cost grows 1.6x per step (fib(50): ~15 s a task)"),
    )
    .param(Param::uint("tasks", 8).range(1, super::MAX_TASKS).help("Number of tasks"))
    .calibration(|p| p.with("n", super::Value::UInt(1)))
}

/// Each task computes `fib(n)` recursively.
pub struct FibWorkload {
    n: u32,
    tasks: usize,
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
    fn task_count(&self) -> usize {
        self.tasks
    }

    fn run_task(&self, _task: usize, _ctx: &TaskContext<'_>) -> u64 {
        black_box(fib_recursive(black_box(self.n)))
    }

    fn verify(&self, checksums: &[u64], _shared: &SharedState) -> Verification {
        let (n, expected) = (self.n, fib_iterative(self.n));
        match Verification::each(checksums, self.tasks, |_| expected, &format!("fib({n}) = {expected}")) {
            Verification::Failed { reason } => Verification::failed(format!("fib({n}): {reason}")),
            ok => ok,
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
        assert_eq!(fib_iterative(MAX_N as u32), 12_586_269_025);
    }

    #[test]
    fn a_wrong_task_result_fails_and_names_the_task() {
        let w = FibWorkload { n: 10, tasks: 3 };
        let v = w.verify(&[55, 54, 55], &SharedState::heap(0));
        assert_eq!(v, Verification::Failed { reason: "fib(10): task 1 returned 54, expected 55".into() });
        assert!(!w.verify(&[55, 55], &SharedState::heap(0)).is_ok(), "a missing task fails");
        assert!(w.verify(&[55, 55, 55], &SharedState::heap(0)).is_ok());
    }
}
