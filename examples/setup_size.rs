//! `setup-size`: the same fixed tasks beside a set-up of any size, to check that no
//! runner times the freeing of its set-up. The process runner's children each build
//! (and touch) the buffer before the clock starts and free it after it stops, so its
//! wall time should not grow with `--setup-mib`:
//!
//! ```text
//! cargo run --release --example setup_size -- run setup-size --setup-mib 0,64,1024 --threads 2
//! ```

use parbench::{ParamReader, Parameters, Registry, SharedState, TaskContext, Verification, Workload, WorkloadSpec};

struct SetupParams {
    setup_mib: u64,
    tasks: u64,
    steps: u64,
}

impl Parameters for SetupParams {
    fn read(p: &mut ParamReader) -> Self {
        SetupParams {
            setup_mib: p.uint("setup-mib", 64).range(0, 4096).sweep().help("Size of the set-up buffer, MiB").get(),
            tasks: p.uint("tasks", 4).range(1, 1024).help("Number of tasks").get(),
            steps: p.uint("steps", 20_000_000).range(1, 1 << 40).smoke(1000).help("Loop steps per task").get(),
        }
    }
}

/// A buffer that is only there to be allocated, touched and freed; the tasks spin.
struct SetupSize {
    _buffer: Vec<u8>,
    tasks: usize,
    steps: u64,
}

/// `steps` steps of a xorshift, seeded by the task index.
fn spin(task: usize, steps: u64) -> u64 {
    let mut x = task as u64 + 1;
    for _ in 0..std::hint::black_box(steps) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

impl Workload for SetupSize {
    fn task_count(&self) -> usize {
        self.tasks
    }

    fn run_task(&self, task: usize, _ctx: &TaskContext<'_>) -> u64 {
        spin(task, self.steps)
    }

    fn verify(&self, checksums: &[u64], _shared: &SharedState) -> Verification {
        // The same loop once more: there is no closed form of a xorshift sequence.
        let expected = |t: usize| spin(t, self.steps);
        Verification::each(checksums, self.tasks, expected, "every task's xorshift matches")
    }
}

fn spec() -> WorkloadSpec {
    WorkloadSpec::with_params("setup-size", "fixed tasks beside a set-up buffer of any size", |p: SetupParams| {
        // vec![1; n] writes every byte: the pages are really there, and freeing them costs.
        let buffer = vec![1u8; (p.setup_mib as usize) << 20];
        Ok(SetupSize { _buffer: buffer, tasks: p.tasks as usize, steps: p.steps })
    })
}

fn main() -> std::process::ExitCode {
    parbench::main(Registry::new().register(spec()))
}
