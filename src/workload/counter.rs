//! `counter`: every worker adds 1 to one shared counter, `increments` times; the seeds'
//! unlocked counter that loses updates, and three correct ways to synchronise it.
//!
//! There is one task per worker of the run, fixed in the parameters (`tasks`), so the
//! total is `tasks x increments` for every runner, serial included. The `none` mode
//! reproduces the race *without* undefined behaviour: a relaxed atomic load followed by
//! a separate relaxed store, so two workers can read the same value and one increment
//! vanishes. Lost updates are reported, not treated as a failure. `sharded` gives each
//! worker its own cache line and sums at the end.
//!
//! The counter and the gate are reached through [`SharedState`]'s `load`, `store` and
//! `fetch_add`, so `none` and `atomic` run unchanged where the slots are not memory
//! (the mpi runner's one-sided window: a get and a put for `none`, a fetch-and-op for
//! `atomic`); `mutex` and `sharded` need memory the workers share.
//!
//! The one decision a reader would otherwise get wrong: tasks start together. A million
//! increments take a fraction of a millisecond, less than it takes to start a second
//! thread or process, so without a start gate the workers would rarely overlap and
//! contention (and lost updates) would depend on spawn latency. Each task waits until
//! as many tasks have arrived as can run at once (or 50 ms have passed, so a runner
//! that runs two tasks on one thread can never deadlock).

use std::sync::atomic::Ordering::Relaxed;

use super::{Param, Params, Properties, SharedState, TaskContext, Value, Verification, Workload, WorkloadSpec};

/// Longest a task waits at the start gate for the other workers.
const GATE_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(50);

/// Slot layout: the shared counter, the start gate, then one shard per worker.
const COUNTER: usize = 0;
const GATE: usize = 1;
const SHARDS: usize = 2;

/// Most increments per worker: about ten seconds of contended work.
pub const MAX_INCREMENTS: u64 = 10_000_000_000;

/// How the workers synchronise on the counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SyncMode {
    /// Unsynchronised read-modify-write: loses updates under contention.
    None,
    /// `std::sync::Mutex` around the counter.
    Mutex,
    /// One atomic `fetch_add` per increment.
    Atomic,
    /// One cache-line-padded slot per worker, summed at the end.
    Sharded,
}

impl SyncMode {
    /// All modes, in report order.
    pub const ALL: [SyncMode; 4] = [SyncMode::None, SyncMode::Mutex, SyncMode::Atomic, SyncMode::Sharded];

    /// Name as typed on the command line.
    pub fn name(self) -> &'static str {
        match self {
            SyncMode::None => "none",
            SyncMode::Mutex => "mutex",
            SyncMode::Atomic => "atomic",
            SyncMode::Sharded => "sharded",
        }
    }

    fn of(p: &Params) -> SyncMode {
        let name = p.text("sync");
        SyncMode::ALL.into_iter().find(|m| m.name() == name).expect("sync is a declared choice")
    }
}

/// The `counter` declaration.
pub fn spec() -> WorkloadSpec {
    let modes: Vec<&str> = SyncMode::ALL.iter().map(|m| m.name()).collect();
    WorkloadSpec::new(
        "counter",
        "each worker adds 1 to one shared counter, many times: contention and lost updates",
        |p: &Params| {
            Ok(CounterWorkload { tasks: p.workers(), increments: p.uint("increments"), sync: SyncMode::of(p) })
        },
    )
    .param(Param::uint("increments", 1_000_000).range(1, MAX_INCREMENTS).smoke(10_000u64).help("Increments per worker"))
    .param(Param::choice("sync", &modes, "none").sweep().help("Synchronisation modes, one case each"))
    .properties(|p| {
        let sync = SyncMode::of(p);
        Properties {
            one_address_space: (sync == SyncMode::Mutex).then(|| {
                "a std::sync::Mutex lives in one process's memory, so separate processes cannot share it; \
                 with the process runner use sync none, atomic or sharded"
                    .to_string()
            }),
            one_machine: matches!(sync, SyncMode::Mutex | SyncMode::Sharded).then(|| {
                format!(
                    "sync {} keeps its state in memory its workers share (only none and atomic run on a one-sided \
                     MPI window)",
                    sync.name()
                )
            }),
            race: sync == SyncMode::None,
            work: Some(super::Work {
                amount: p.uint("increments") as f64 * p.workers() as f64,
                unit: "increment".into(),
            }),
            ..Properties::default()
        }
    })
    // One task per worker; strong scaling keeps the total `increments x max_workers`.
    .scaling(|p, s| {
        if s.weak {
            return Ok(p.clone());
        }
        let total = p.uint("increments").saturating_mul(s.max_workers as u64);
        Ok(p.with("increments", Value::UInt((total / s.workers.max(1) as u64).max(1))))
    })
}

/// Workers increment one shared counter.
pub struct CounterWorkload {
    tasks: usize,
    increments: u64,
    sync: SyncMode,
}

impl CounterWorkload {
    /// The counter's final value, read the way its mode stores it.
    fn observed(&self, shared: &SharedState) -> u64 {
        match self.sync {
            SyncMode::None | SyncMode::Atomic => shared.load(COUNTER),
            SyncMode::Mutex => *shared.mutex.lock().unwrap_or_else(|e| e.into_inner()),
            SyncMode::Sharded => shared.slots()[SHARDS..].iter().map(|s| s.load(Relaxed)).sum(),
        }
    }
}

impl Workload for CounterWorkload {
    fn task_count(&self) -> usize {
        self.tasks
    }

    fn shared_slots(&self, workers: usize) -> usize {
        // The counter, the gate, and one shard per worker (not per task), so a
        // worker's shard is only ever written by that worker.
        SHARDS + workers
    }

    fn run_task(&self, _task: usize, ctx: &TaskContext<'_>) -> u64 {
        let n = std::hint::black_box(self.increments);
        // The counter and the gate go through the shared state's own operations, so the
        // same code runs on memory and on an MPI window (none and atomic modes).
        let shared = ctx.shared;
        let together = ctx.workers.min(self.tasks) as u64;
        let arrived = shared.fetch_add(GATE, 1) + 1;
        if arrived < together {
            // Spin briefly, then yield: if the scheduler put the other worker on this
            // core, spinning would burn the time slice it needs to arrive.
            let start = std::time::Instant::now();
            let mut spins = 0u32;
            while shared.load(GATE) < together && start.elapsed() < GATE_TIMEOUT {
                if spins < 1000 {
                    spins += 1;
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
        }
        match self.sync {
            SyncMode::None => {
                for _ in 0..n {
                    // Deliberately not atomic as a whole: another worker may store
                    // between this load and this store, and its update is lost.
                    let v = shared.load(COUNTER);
                    shared.store(COUNTER, v + 1);
                }
            }
            SyncMode::Atomic => {
                for _ in 0..n {
                    shared.fetch_add(COUNTER, 1);
                }
            }
            SyncMode::Mutex => {
                for _ in 0..n {
                    *ctx.shared.mutex.lock().unwrap_or_else(|e| e.into_inner()) += 1;
                }
            }
            SyncMode::Sharded => {
                // A worker owns its slot, so a plain load and store cannot race.
                let slot = &shared.slots()[SHARDS + ctx.worker];
                for _ in 0..n {
                    slot.store(slot.load(Relaxed) + 1, Relaxed);
                }
            }
        }
        n
    }

    fn verify(&self, checksums: &[u64], shared: &SharedState) -> Verification {
        let inc = self.increments;
        if let Some(task) = checksums.iter().position(|&c| c != inc) {
            return Verification::Failed {
                reason: format!("task {task} reported {} increments, expected {inc}", checksums[task]),
            };
        }
        let expected = inc * checksums.len() as u64;
        let observed = self.observed(shared);
        match self.sync {
            // Every increment lost is impossible (each task's first store lands): a zero
            // means the workers did not share the counter at all.
            SyncMode::None if observed == 0 => Verification::Failed {
                reason: format!("sync none: counter = 0 after {expected} increments: the workers did not share it"),
            },
            SyncMode::None if observed < expected => Verification::LostUpdates { expected, observed },
            SyncMode::None if observed == expected => Verification::Verified {
                detail: format!("counter = {observed} = {} tasks x {inc}; no update was lost", checksums.len()),
            },
            _ if observed == expected => {
                Verification::Verified { detail: format!("counter = {observed} = {} tasks x {inc}", checksums.len()) }
            }
            mode => Verification::Failed {
                reason: format!("sync {}: counter = {observed}, expected {expected}", mode.name()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_serially(sync: SyncMode, workers: usize) -> (CounterWorkload, SharedState, Vec<u64>) {
        let w = CounterWorkload { tasks: workers, increments: 1000, sync };
        let shared = SharedState::heap(w.shared_slots(workers));
        let sums = (0..w.task_count()).map(|t| w.run_task(t, &TaskContext::new(t, 1, &shared))).collect();
        (w, shared, sums)
    }

    #[test]
    fn every_mode_counts_exactly_without_contention() {
        for sync in SyncMode::ALL {
            let (w, shared, sums) = run_serially(sync, 3);
            assert_eq!(w.observed(&shared), 3000, "{sync:?}");
            assert!(matches!(w.verify(&sums, &shared), Verification::Verified { .. }), "{sync:?}");
        }
    }

    #[test]
    fn lost_updates_are_reported_not_failed_for_none() {
        let (w, shared, sums) = run_serially(SyncMode::None, 2);
        shared.slots()[COUNTER].store(1500, Relaxed);
        assert_eq!(w.verify(&sums, &shared), Verification::LostUpdates { expected: 2000, observed: 1500 });
    }

    #[test]
    fn a_counter_nobody_shared_fails_even_for_none() {
        let (w, shared, sums) = run_serially(SyncMode::None, 2);
        shared.slots()[COUNTER].store(0, Relaxed);
        assert!(!w.verify(&sums, &shared).is_ok());
    }

    #[test]
    fn the_start_gate_lets_two_threads_contend_and_lose_updates() {
        // With the gate, two threads start together; 2 x 10 million unsynchronised
        // increments on two cores practically always collide. With fewer cores the
        // threads may not overlap, so only the count's bounds are asserted there.
        // A busy machine (other tests) may still deschedule one thread for the whole
        // run, so up to five attempts are allowed before calling it a failure.
        let w = CounterWorkload { tasks: 2, increments: 10_000_000, sync: SyncMode::None };
        let mut lost_any = false;
        for _ in 0..5 {
            let shared = SharedState::heap(w.shared_slots(2));
            std::thread::scope(|s| {
                for worker in 0..2 {
                    let (w, shared) = (&w, &shared);
                    s.spawn(move || w.run_task(worker, &TaskContext::new(worker, 2, shared)));
                }
            });
            assert_eq!(shared.slots()[GATE].load(Relaxed), 2);
            let observed = w.observed(&shared);
            assert!(observed > 0 && observed <= 20_000_000);
            lost_any |= observed < 20_000_000;
            if lost_any {
                break;
            }
        }
        if crate::fingerprint::available_parallelism() >= 2 {
            assert!(lost_any, "no update lost in five runs although both threads started together");
        }
    }

    #[test]
    fn the_gate_never_waits_for_a_worker_that_cannot_come() {
        // Serial runs the two tasks one after the other with workers = 1: no waiting.
        let start = std::time::Instant::now();
        run_serially(SyncMode::Atomic, 2);
        assert!(start.elapsed() < GATE_TIMEOUT);
    }

    /// Slots behind a lock, standing for a remote window: `load` and `store` are
    /// separate operations, as MPI_Get and MPI_Put are.
    struct Remote(std::sync::Mutex<Vec<u64>>);

    impl crate::workload::RemoteSlots for Remote {
        fn len(&self) -> usize {
            self.0.lock().unwrap().len()
        }
        fn load(&self, i: usize) -> u64 {
            self.0.lock().unwrap()[i]
        }
        fn store(&self, i: usize, value: u64) {
            self.0.lock().unwrap()[i] = value;
        }
        fn fetch_add(&self, i: usize, value: u64) -> u64 {
            let mut slots = self.0.lock().unwrap();
            slots[i] += value;
            slots[i] - value
        }
    }

    #[test]
    fn none_and_atomic_count_on_remote_slots_and_only_they_may_leave_the_machine() {
        for sync in [SyncMode::None, SyncMode::Atomic] {
            let w = CounterWorkload { tasks: 2, increments: 500, sync };
            let shared = SharedState::remote(Box::new(Remote(std::sync::Mutex::new(vec![0; w.shared_slots(2)]))));
            let sums: Vec<u64> = (0..2).map(|t| w.run_task(t, &TaskContext::new(t, 1, &shared))).collect();
            assert_eq!(shared.load(COUNTER), 1000, "{sync:?}");
            assert_eq!(shared.load(GATE), 2, "{sync:?}");
            assert!(matches!(w.verify(&sums, &shared), Verification::Verified { .. }), "{sync:?}");
        }
        let case = |sync: &str| {
            let values = vec![("increments".into(), Value::UInt(1)), ("sync".into(), Value::Text(sync.into()))];
            spec().properties_of(&Params::new(values, 2, 1)).one_machine
        };
        assert_eq!((case("none"), case("atomic")), (None, None));
        assert!(case("sharded").is_some_and(|why| why.contains("sync sharded")));
        assert!(case("mutex").is_some());
    }

    #[test]
    fn a_short_count_fails_for_atomic() {
        let (w, shared, sums) = run_serially(SyncMode::Atomic, 2);
        shared.slots()[COUNTER].store(1999, Relaxed);
        assert!(!w.verify(&sums, &shared).is_ok());
    }

    #[test]
    fn mutex_needs_one_address_space_and_none_is_a_race() {
        let case = |sync: &str| {
            let values = vec![("increments".into(), Value::UInt(1)), ("sync".into(), Value::Text(sync.into()))];
            spec().properties_of(&Params::new(values, 2, 1))
        };
        assert!(case("mutex").one_address_space.is_some());
        assert!(case("atomic").one_address_space.is_none());
        assert!(case("none").race && !case("sharded").race);
    }

    #[test]
    fn unsynchronised_threads_lose_updates_or_at_least_never_gain() {
        let w = CounterWorkload { tasks: 2, increments: 200_000, sync: SyncMode::None };
        let shared = SharedState::heap(w.shared_slots(2));
        std::thread::scope(|s| {
            for worker in 0..2 {
                let (w, shared) = (&w, &shared);
                s.spawn(move || w.run_task(worker, &TaskContext::new(worker, 2, shared)));
            }
        });
        // Whether updates are lost depends on the scheduler; the count can never exceed
        // the number of increments, and verification must not call it a failure.
        assert!(w.observed(&shared) <= 400_000);
        assert!(w.verify(&[200_000, 200_000], &shared).is_ok());
    }
}
