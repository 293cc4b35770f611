//! `factorize`: each task finds all divisors of one number by trial division over
//! 1..=n, as in the seeds (the numbers 2139079, 1214759, 1516637, 1852285).
//!
//! A task's checksum is an order-sensitive hash of the divisors it found, in the order
//! found. Verification computes the divisors independently, in pairs up to sqrt(n), and
//! compares hashes: the trial-division list must equal the independent list exactly
//! (same divisors, same count). Tasks have unequal cost (cost is n), which
//! is what makes static and dynamic scheduling differ.

use super::{Param, Params, SharedState, TaskContext, Verification, Workload, WorkloadSpec};
use crate::rng::SplitMix64;

/// The seeds' numbers.
pub const SEED_NUMBERS: [u64; 4] = [2_139_079, 1_214_759, 1_516_637, 1_852_285];

/// Largest accepted number: trial division of 1..=n takes about n divisions, so beyond
/// u32::MAX a single task would run for minutes.
pub const MAX_NUMBER: u64 = u32::MAX as u64;

/// Largest generated number when `--count` is given without `--max`.
pub const DEFAULT_GENERATED_MAX: u64 = 2_000_000;

/// The `factorize` declaration.
pub fn spec() -> WorkloadSpec {
    WorkloadSpec::new(
        "factorize",
        "each task finds all divisors of one number by trial division 1..=n: CPU work of unequal size",
        |p: &Params| Ok(FactorizeWorkload { numbers: numbers(p) }),
    )
    .param(
        Param::uint_list("numbers", &SEED_NUMBERS)
            .range(1, MAX_NUMBER)
            .optional()
            .help("Numbers, one task each (default: the seeds' 2139079,1214759,1516637,1852285)"),
    )
    .param(
        Param::uint("count", 4)
            .range(1, super::MAX_TASKS)
            .optional()
            .help("Generate this many numbers instead, uniform in 2..=MAX, from --seed"),
    )
    .param(
        Param::uint("max", DEFAULT_GENERATED_MAX)
            .range(1, MAX_NUMBER)
            .optional()
            .help("Largest generated number [with --count, default: 2000000]"),
    )
    .check(|p| match (p.get("numbers"), p.get("count"), p.get("max")) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err("give either numbers or count/max, not both".into()),
        (None, None, Some(_)) => Err("max needs count: give count too, e.g. count = 16".into()),
        _ => Ok(()),
    })
    .scaling(|p, s| {
        if !s.weak {
            return Ok(p.clone());
        }
        let grow = |n: u64| n.checked_mul(s.workers as u64).filter(|&n| n <= super::MAX_TASKS);
        let too_many = || format!("weak scaling to {} workers makes more than {} numbers", s.workers, super::MAX_TASKS);
        match p.get("count") {
            Some(super::Value::UInt(c)) => Ok(p.with("count", super::Value::UInt(grow(*c).ok_or_else(too_many)?))),
            _ => {
                let given = numbers(p);
                grow(given.len() as u64).ok_or_else(too_many)?;
                let numbers = given.iter().copied().cycle().take(given.len() * s.workers);
                Ok(p.with("numbers", super::Value::List(numbers.collect())))
            }
        }
    })
}

/// The numbers of a case: the list, `count` numbers drawn from the run's seed, or the
/// seeds' numbers.
fn numbers(p: &Params) -> Vec<u64> {
    match (p.get("count"), p.get("max")) {
        (None, None) if p.get("numbers").is_some() => p.list("numbers").to_vec(),
        (None, None) => SEED_NUMBERS.to_vec(),
        (count, max) => {
            let count = count.map_or(4, |_| p.uint("count"));
            let max = max.map_or(DEFAULT_GENERATED_MAX, |_| p.uint("max"));
            generate(count, max, p.seed())
        }
    }
}

/// `count` numbers drawn uniformly from 2..=max with a seeded generator.
pub fn generate(count: u64, max: u64, seed: u64) -> Vec<u64> {
    let mut rng = SplitMix64::new(seed);
    let span = max.saturating_sub(1).max(1);
    (0..count).map(|_| (2 + rng.below(span)).min(max)).collect()
}

/// Each task lists the divisors of one number by trial division.
pub struct FactorizeWorkload {
    numbers: Vec<u64>,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fold(hash: u64, divisor: u64) -> u64 {
    (hash ^ divisor).wrapping_mul(FNV_PRIME)
}

/// Trial division over 1..=n, as the seeds do; returns the hash of the divisors found.
/// Folding into a hash instead of pushing to a list keeps allocation out of the task.
pub fn divisors_by_trial_division(n: u64) -> u64 {
    let n = std::hint::black_box(n);
    let mut hash = FNV_OFFSET;
    for d in 1..=n {
        if n % d == 0 {
            hash = fold(hash, d);
        }
    }
    hash
}

/// Independent answer: divisors found in pairs (d, n/d) for d up to sqrt(n), sorted.
pub fn divisors_by_sqrt(n: u64) -> Vec<u64> {
    let mut small = Vec::new();
    let mut large = Vec::new();
    let mut d = 1u64;
    while d * d <= n {
        if n % d == 0 {
            small.push(d);
            if d != n / d {
                large.push(n / d);
            }
        }
        d += 1;
    }
    small.extend(large.into_iter().rev());
    small
}

impl Workload for FactorizeWorkload {
    fn task_count(&self) -> usize {
        self.numbers.len()
    }

    fn run_task(&self, task: usize, _ctx: &TaskContext<'_>) -> u64 {
        std::hint::black_box(divisors_by_trial_division(self.numbers[task]))
    }

    fn verify(&self, checksums: &[u64], _shared: &SharedState) -> Verification {
        let numbers = &self.numbers;
        if checksums.len() != numbers.len() {
            return Verification::Failed {
                reason: format!("{} tasks reported, {} expected", checksums.len(), numbers.len()),
            };
        }
        let mut total = 0usize;
        for (&n, &got) in numbers.iter().zip(checksums) {
            // The hash covers the whole ordered list, so equality means the task found
            // exactly these divisors: each divides n, none is missing or extra.
            let divisors = divisors_by_sqrt(n);
            let expected = divisors.iter().fold(FNV_OFFSET, |h, &d| fold(h, d));
            if got != expected {
                return Verification::Failed {
                    reason: format!(
                        "the divisors found for {n} differ from its {} divisors found independently",
                        divisors.len()
                    ),
                };
            }
            total += divisors.len();
        }
        Verification::Verified { detail: format!("all divisors of {} numbers ({total} divisors) match", numbers.len()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqrt_divisors_of_known_numbers() {
        assert_eq!(divisors_by_sqrt(1), vec![1]);
        assert_eq!(divisors_by_sqrt(12), vec![1, 2, 3, 4, 6, 12]);
        assert_eq!(divisors_by_sqrt(49), vec![1, 7, 49]);
        assert_eq!(divisors_by_sqrt(13), vec![1, 13]);
    }

    #[test]
    fn the_seed_numbers_verify_through_both_methods() {
        let w = FactorizeWorkload { numbers: SEED_NUMBERS.to_vec() };
        let sums: Vec<u64> = SEED_NUMBERS.iter().map(|&n| divisors_by_trial_division(n)).collect();
        let v = w.verify(&sums, &SharedState::heap(0));
        assert!(v.is_ok(), "{v:?}");
    }

    #[test]
    fn a_wrong_divisor_list_fails() {
        let w = FactorizeWorkload { numbers: vec![12] };
        // The hash of 1,2,3,4,6 (12 itself missing) must not pass.
        let wrong = [1u64, 2, 3, 4, 6].iter().fold(FNV_OFFSET, |h, &d| fold(h, d));
        assert!(!w.verify(&[wrong], &SharedState::heap(0)).is_ok());
        assert!(w.verify(&[divisors_by_trial_division(12)], &SharedState::heap(0)).is_ok());
    }

    #[test]
    fn generated_numbers_are_reproducible_and_in_range() {
        let a = generate(50, 1000, 9);
        assert_eq!(a, generate(50, 1000, 9));
        assert!(a.iter().all(|&n| (2..=1000).contains(&n)));
        assert_ne!(a, generate(50, 1000, 10));
        assert_eq!(generate(3, 1, 0), vec![1, 1, 1]);
    }
}
