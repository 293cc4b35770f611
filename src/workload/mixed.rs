//! `mixed`: each task computes for `--cpu-us` of its thread's CPU time, then blocks for
//! `--io-ms`, `--steps` times: the seeds' program that computes while a slow call
//! waits, the realistic middle between `fib` (all computing) and `sleep` (all waiting).
//! While one task waits, another can use the core, so up to (cpu + io) / cpu workers
//! per core are useful; the notes give that bound next to the measured best.
//!
//! The computation is a chain of steps of a 64-bit linear congruential generator,
//! carried on until the thread's own CPU clock (`CLOCK_THREAD_CPUTIME_ID`) has advanced
//! by `--cpu-us`: every runner's task gets that much CPU however busy the machine is,
//! and a task preempted by another does not count the other's time. A task reports how
//! many steps it took and where the chain ended; verification jumps the generator
//! ahead by that many steps in O(log n) (a closed form that shares no code with the
//! loop) and checks that every step computed and slept at least its time.
//!
//! Its async form computes inline (blocking the worker thread that polls it, as CPU
//! work under async does) and waits on the runtime's timer, so an async runner's few
//! threads compute for one task while the others wait.

use std::hint::black_box;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{
    Param, Params, Properties, SharedState, TaskContext, TaskFuture, Timer, TypedWorkload, Verification, WorkloadSpec,
};

/// Longest computation per step, in microseconds (one second).
pub const MAX_CPU_US: u64 = 1_000_000;
/// Longest wait per step, in milliseconds.
pub const MAX_IO_MS: u64 = 10_000;
/// Most steps per task.
pub const MAX_STEPS: u64 = 10_000;
/// Longest a task may take by design (steps x (cpu + io)), in seconds.
pub const MAX_TASK_S: u64 = 60;

/// The generator (Knuth's MMIX constants): x' = A x + C mod 2^64.
const A: u64 = 6_364_136_223_846_793_005;
const C: u64 = 1_442_695_040_888_963_407;
/// Generator steps between two reads of the thread's CPU clock (a system call).
const CHUNK: u64 = 1024;

/// The `mixed` declaration.
pub fn spec() -> WorkloadSpec {
    WorkloadSpec::new(
        "mixed",
        "each task computes, then waits for a slow call, several times: the middle between fib and sleep",
        |p: &Params| Ok(MixedWorkload { tasks: p.uint("tasks") as usize, shape: Shape::of(p) }),
    )
    .param(Param::uint("tasks", 8).range(1, super::MAX_TASKS).help("Number of tasks"))
    .param(
        Param::uint("cpu-us", 1000)
            .range(1, MAX_CPU_US)
            .smoke(100u64)
            .help("CPU time each step computes, in microseconds (of the task's own thread)"),
    )
    .param(Param::uint("io-ms", 4).range(1, MAX_IO_MS).smoke(1u64).help("How long each step then waits, in milliseconds"))
    .param(Param::uint("steps", 5).range(1, MAX_STEPS).smoke(2u64).help("Compute-then-wait steps per task"))
    .check(|p| {
        let shape = Shape::of(p);
        let task = shape.task_time();
        if task > Duration::from_secs(MAX_TASK_S) {
            return Err(format!(
                "--steps {} x (--cpu-us {} + --io-ms {}) is {:.1} s per task, more than {MAX_TASK_S} s; lower one of them",
                shape.steps,
                shape.cpu.as_micros(),
                shape.io.as_millis(),
                task.as_secs_f64()
            ));
        }
        Ok(())
    })
    .properties(|p| {
        let shape = Shape::of(p);
        Properties {
            waits: true,
            compute_share: Some(shape.cpu.as_secs_f64() / (shape.cpu + shape.io).as_secs_f64()),
            ..Properties::default()
        }
    })
}

/// One task's shape: `steps` times, compute for `cpu`, then wait for `io`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// CPU time computed per step.
    pub cpu: Duration,
    /// Time waited per step.
    pub io: Duration,
    /// Steps per task.
    pub steps: u64,
}

impl Shape {
    fn of(p: &Params) -> Shape {
        Shape {
            cpu: Duration::from_micros(p.uint("cpu-us")),
            io: Duration::from_millis(p.uint("io-ms")),
            steps: p.uint("steps"),
        }
    }

    /// A task's duration by design, with a core to itself.
    pub fn task_time(&self) -> Duration {
        (self.cpu + self.io).saturating_mul(self.steps.min(u64::from(u32::MAX)) as u32)
    }
}

/// What one task reports: where its computation ended and the least any of its steps
/// computed and waited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MixedOutput {
    /// The generator's value the task started from.
    pub seed: u64,
    /// Generator steps computed, over all of the task's steps.
    pub iterations: u64,
    /// The generator's value after them.
    pub state: u64,
    /// The least CPU time one step computed, ns.
    pub least_cpu_ns: u64,
    /// The least time one step waited, ns.
    pub least_wait_ns: u64,
}

/// The task's starting value: distinct per task, so no two tasks compute the same chain.
pub fn seed_of(task: usize) -> u64 {
    (task as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x2545_f491_4f6c_dd1d
}

/// The calling thread's CPU time, ns.
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_THREAD_CPUTIME_ID always exists
    // on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Advances `state` until the thread has computed for `cpu`; returns the generator
/// steps taken and the CPU time they took, ns.
pub fn compute_for(state: &mut u64, cpu: Duration) -> (u64, u64) {
    let want = cpu.as_nanos() as u64;
    let start = thread_cpu_ns();
    let mut x = black_box(*state);
    let mut iterations = 0;
    loop {
        for _ in 0..CHUNK {
            x = x.wrapping_mul(A).wrapping_add(C);
        }
        x = black_box(x);
        iterations += CHUNK;
        let spent = thread_cpu_ns().saturating_sub(start);
        if spent >= want {
            *state = x;
            return (iterations, spent);
        }
    }
}

/// One task: `steps` times, compute for `cpu`, then sleep for `io`. An async form can
/// call [`compute_for`] and await a timer in the same pattern.
pub fn run_task(seed: u64, shape: Shape) -> MixedOutput {
    let mut out =
        MixedOutput { seed, state: seed, least_cpu_ns: u64::MAX, least_wait_ns: u64::MAX, ..MixedOutput::default() };
    for _ in 0..shape.steps {
        let (iterations, cpu_ns) = compute_for(&mut out.state, shape.cpu);
        out.iterations += iterations;
        out.least_cpu_ns = out.least_cpu_ns.min(cpu_ns);
        let start = Instant::now();
        std::thread::sleep(shape.io);
        out.least_wait_ns = out.least_wait_ns.min(start.elapsed().as_nanos() as u64);
    }
    out
}

/// The generator jumped `n` steps ahead of `x` by repeated squaring of the affine map
/// (Brown, "Random number generation with arbitrary strides", 1994).
pub fn jump(x: u64, mut n: u64) -> u64 {
    let (mut acc_mul, mut acc_add) = (1u64, 0u64);
    let (mut mul, mut add) = (A, C);
    while n > 0 {
        if n & 1 == 1 {
            acc_mul = acc_mul.wrapping_mul(mul);
            acc_add = acc_add.wrapping_mul(mul).wrapping_add(add);
        }
        add = mul.wrapping_add(1).wrapping_mul(add);
        mul = mul.wrapping_mul(mul);
        n >>= 1;
    }
    acc_mul.wrapping_mul(x).wrapping_add(acc_add)
}

/// Each task computes and waits `steps` times.
pub struct MixedWorkload {
    tasks: usize,
    shape: Shape,
}

impl MixedWorkload {
    fn check(&self, task: usize, out: &MixedOutput) -> Result<(), String> {
        let (cpu, io) = (self.shape.cpu.as_nanos() as u64, self.shape.io.as_nanos() as u64);
        if out.seed != seed_of(task) {
            return Err(format!("task {task} started from {:#x}, not its seed {:#x}", out.seed, seed_of(task)));
        }
        let want = jump(out.seed, out.iterations);
        if out.state != want {
            return Err(format!(
                "task {task} ended its {} generator steps at {:#x}, expected {want:#x}",
                out.iterations, out.state
            ));
        }
        if out.iterations < self.shape.steps {
            return Err(format!(
                "task {task} computed {} generator steps in {} steps",
                out.iterations, self.shape.steps
            ));
        }
        if out.least_cpu_ns < cpu {
            return Err(format!(
                "task {task} computed only {} ns in a step, less than {} µs",
                out.least_cpu_ns,
                cpu / 1000
            ));
        }
        if out.least_wait_ns < io {
            return Err(format!(
                "task {task} waited only {} ns in a step, less than {} ms",
                out.least_wait_ns,
                io / 1_000_000
            ));
        }
        Ok(())
    }
}

impl TypedWorkload for MixedWorkload {
    type Input = ();
    type Worker = ();
    type Output = MixedOutput;

    fn task_count(&self) -> usize {
        self.tasks
    }

    fn input(&self, _task: usize) {}

    fn worker(&self, _worker: usize) {}

    fn run(&self, task: usize, _: &mut (), _: &mut (), _ctx: &TaskContext<'_>) -> MixedOutput {
        run_task(seed_of(task), self.shape)
    }

    fn run_async<'a>(
        &'a self,
        task: usize,
        _: &'a mut (),
        _ctx: &'a TaskContext<'a>,
        timer: &'a dyn Timer,
    ) -> Option<TaskFuture<'a, MixedOutput>> {
        let (seed, shape) = (seed_of(task), self.shape);
        Some(Box::pin(async move {
            let mut out = MixedOutput {
                seed,
                state: seed,
                least_cpu_ns: u64::MAX,
                least_wait_ns: u64::MAX,
                ..MixedOutput::default()
            };
            for _ in 0..shape.steps {
                let (iterations, cpu_ns) = compute_for(&mut out.state, shape.cpu);
                out.iterations += iterations;
                out.least_cpu_ns = out.least_cpu_ns.min(cpu_ns);
                let start = Instant::now();
                timer.sleep(shape.io).await;
                out.least_wait_ns = out.least_wait_ns.min(start.elapsed().as_nanos() as u64);
            }
            out
        }))
    }

    fn verify(&self, outputs: &[MixedOutput], _shared: &SharedState) -> Verification {
        if outputs.len() != self.tasks {
            return Verification::failed(format!("{} tasks reported, {} expected", outputs.len(), self.tasks));
        }
        if let Some(why) = outputs.iter().enumerate().find_map(|(i, o)| self.check(i, o).err()) {
            return Verification::failed(why);
        }
        let steps: u64 = outputs.iter().map(|o| o.iterations).sum();
        Verification::verified(format!(
            "all {} tasks computed >= {} µs and waited >= {} ms in each of {} steps ({steps} generator steps checked)",
            self.tasks,
            self.shape.cpu.as_micros(),
            self.shape.io.as_millis(),
            self.shape.steps
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload(tasks: usize) -> MixedWorkload {
        MixedWorkload {
            tasks,
            shape: Shape { cpu: Duration::from_micros(200), io: Duration::from_millis(1), steps: 3 },
        }
    }

    fn run(w: &MixedWorkload) -> Vec<MixedOutput> {
        let shared = SharedState::heap(0);
        (0..w.tasks).map(|t| w.run(t, &mut (), &mut (), &TaskContext::new(0, 1, &shared))).collect()
    }

    /// A timer that records what it was asked and waits for real (a thread sleep
    /// inside the poll), so the async form can be driven without a runtime.
    struct Blocking(std::sync::Mutex<Vec<Duration>>);

    impl Timer for Blocking {
        fn sleep(&self, duration: Duration) -> TaskFuture<'static, ()> {
            self.0.lock().unwrap().push(duration);
            Box::pin(async move { std::thread::sleep(duration) })
        }
    }

    #[test]
    fn the_async_form_waits_on_the_timer_and_verifies_like_the_sync_task() {
        let w = MixedWorkload {
            tasks: 2,
            shape: Shape { cpu: Duration::from_micros(50), io: Duration::from_millis(2), steps: 3 },
        };
        let shared = SharedState::heap(0);
        let ctx = TaskContext::new(0, 1, &shared);
        let timer = Blocking(Default::default());
        let waker = std::task::Waker::noop();
        let outputs: Vec<MixedOutput> = (0..2)
            .map(|t| {
                let mut input = ();
                let mut future = w.run_async(t, &mut input, &ctx, &timer).expect("mixed has an async form");
                match future.as_mut().poll(&mut std::task::Context::from_waker(waker)) {
                    std::task::Poll::Ready(out) => out,
                    std::task::Poll::Pending => panic!("a blocking timer never leaves the task pending"),
                }
            })
            .collect();
        assert_eq!(*timer.0.lock().unwrap(), vec![Duration::from_millis(2); 6], "every step waits on the timer");
        assert!(w.verify(&outputs, &shared).is_ok(), "{:?}", w.verify(&outputs, &shared));
    }

    #[test]
    fn the_jump_ahead_equals_stepping_one_at_a_time() {
        for (x, n) in [(0u64, 0u64), (1, 1), (seed_of(3), 1000), (u64::MAX, 4097), (seed_of(0), 65_537)] {
            let mut y = x;
            for _ in 0..n {
                y = y.wrapping_mul(A).wrapping_add(C);
            }
            assert_eq!(jump(x, n), y, "x={x:#x}, n={n}");
        }
    }

    #[test]
    fn every_step_computes_and_waits_at_least_its_time_and_verifies() {
        let w = workload(2);
        let outputs = run(&w);
        for o in &outputs {
            assert!(o.least_cpu_ns >= 200_000 && o.least_wait_ns >= 1_000_000, "{o:?}");
            assert!(o.iterations >= 3 * CHUNK, "{o:?}");
        }
        let v = w.verify(&outputs, &SharedState::heap(0));
        assert!(v.is_ok(), "{v:?}");
    }

    #[test]
    fn a_wrong_state_a_short_wait_or_a_missing_task_fails_and_names_the_task() {
        let w = workload(2);
        let good = run(&w);
        let fails = |outputs: &[MixedOutput], want: &str| match w.verify(outputs, &SharedState::heap(0)) {
            Verification::Failed { reason } => assert!(reason.contains(want), "{reason}"),
            v => panic!("{v:?} should fail with {want}"),
        };
        let mut bad = good.clone();
        bad[1].state ^= 1;
        fails(&bad, "task 1 ended its");
        let mut bad = good.clone();
        bad[1].iterations += 1;
        fails(&bad, "task 1 ended its");
        let mut bad = good.clone();
        bad[0].least_wait_ns = 999_999;
        fails(&bad, "task 0 waited only 999999 ns");
        let mut bad = good.clone();
        bad[0].least_cpu_ns = 199_999;
        fails(&bad, "task 0 computed only");
        let mut bad = good.clone();
        bad[1] = bad[0];
        fails(&bad, "task 1 started from");
        fails(&good[..1], "1 tasks reported, 2 expected");
    }

    #[test]
    fn the_declaration_says_the_tasks_wait_and_what_share_computes() {
        let params = |cpu: u64, io: u64, steps: u64| {
            let values = [("tasks", 8), ("cpu-us", cpu), ("io-ms", io), ("steps", steps)];
            Params::new(values.iter().map(|&(k, v)| (k.to_string(), super::super::Value::UInt(v))).collect(), 2, 0)
        };
        let spec = spec();
        let props = spec.properties_of(&params(1000, 3, 5));
        assert!(props.waits);
        assert_eq!(props.compute_share, Some(0.25));
        assert!(spec.run_check(&params(1000, 3, 5)).is_ok());
        let err = spec.run_check(&params(1_000_000, 10_000, 6)).unwrap_err();
        assert!(err.contains("--steps 6 x (--cpu-us 1000000 + --io-ms 10000) is 66.0 s per task"), "{err}");
    }
}
