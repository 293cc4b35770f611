//! The worker side of the process runners: the hidden `worker` subcommand. It says
//! hello, builds the workload named in the set-up from the [`Workloads`] it is given
//! (the program's registry, passed as data), makes its inputs
//! and worker state, runs the tasks it is sent and, at `finish`, sends their outputs and
//! the sample's statistics, all in the grammar of [`crate::worker::protocol`]. After the
//! statistics it waits for the next request: `next` opens another sample on the same
//! worker state (a pool), `quit` ends the session.
//!
//! The set-up happens between `setup` and `ready`, while the parent's clock is stopped.
//! A child that reads end of input exits quietly: its parent is gone. Anything
//! unexpected is an error on the child's stderr and exit status 2. The protocol keeps
//! the original stdout to itself; what a task prints goes to stderr.

use std::io::{BufRead, Write};

use super::protocol::{MAX_LINE, Reply, Request, Setup, Stats, VERSION, read_line, truncate};
use crate::sys::monotonic_ns;
use crate::workload::slots::{TaskSlots, catch_quietly};
use crate::workload::{DynWorkload, Params, Prepare, SharedState, TaskContext, WorkloadSpec};

/// What a worker can build: the workloads of its program, by name, and the most
/// workers a set-up may name.
pub struct Workloads<'r> {
    /// The declaration of the workload called so, if the program has one.
    pub find: &'r dyn Fn(&str) -> Option<&'r WorkloadSpec>,
    /// The most workers of any runner.
    pub max_workers: usize,
    /// Where a workload's shared slots are when the set-up names no shared memory:
    /// `remote(slots)` reaches them without memory (the mpi ranks' window); `None` for
    /// worker processes, which are always given shared memory.
    pub remote: Option<&'r dyn Fn(usize) -> Result<SharedState, String>>,
}

/// The child side: says hello, reads the set-up, builds the workload from `workloads`,
/// prepares its inputs and worker state, then runs tasks on request. Returns `Ok` on
/// `quit` or end of input.
///
/// The phases are separate functions: build and prepare once, at the set-up; then
/// serve samples, as many as the parent asks for (a pool's worker serves every sample
/// of its case, its worker state built once).
pub fn serve(workloads: &Workloads<'_>, mut input: impl BufRead, mut out: impl Write) -> Result<(), String> {
    let io = write_error;
    Reply::Hello { version: VERSION.into(), pid: std::process::id() }.write(&mut out).map_err(io)?;
    out.flush().map_err(io)?;
    let mut line = Vec::new();
    let Some(first) = read_line(&mut input, &mut line)? else {
        return Ok(());
    };
    let setup = match Request::parse(first) {
        Ok(Request::Setup(setup)) => setup,
        _ => return Err(format!("expected a setup line, got {:?}", truncate(first, 60))),
    };
    let (start, cpu) = (monotonic_ns(), crate::sys::cpu_self_ns());
    let (workload, shared) = build(workloads, &setup)?;
    if let Some(stage) = setup.stage {
        return serve_stage(workload.as_ref(), &setup, stage, (start, cpu), input, &mut line, out);
    }
    let mut slots = prepare(workload.as_ref(), &setup)?;
    let (setup_ns, setup_cpu_ns) = (monotonic_ns() - start, crate::sys::cpu_self_ns().saturating_sub(cpu));
    Reply::Ready { setup_ns, setup_cpu_ns }.write(&mut out).map_err(io)?;
    out.flush().map_err(io)?;
    let timeout = std::time::Duration::from_millis(setup.timeout_ms);
    let ctx = TaskContext { worker: setup.worker, workers: setup.workers, shared: &shared, timeout };
    serve_samples(&mut slots, &ctx, workload.task_count(), &mut input, &mut line, out)
}

fn write_error(e: std::io::Error) -> String {
    format!("writing to parent: {e}")
}

/// Checks the set-up and builds the workload and its shared state (untimed).
fn build(workloads: &Workloads<'_>, setup: &Setup) -> Result<(Box<dyn DynWorkload>, SharedState), String> {
    let spec = (workloads.find)(&setup.workload).ok_or_else(|| {
        format!(
            "workload {:?} is not registered in this program; parent and worker are different programs",
            setup.workload
        )
    })?;
    let workers = 1..=workloads.max_workers;
    if !workers.contains(&setup.case_workers) || !workers.contains(&setup.workers) || setup.worker >= setup.workers {
        return Err(format!(
            "bad set-up: worker {} of {} for {} case workers",
            setup.worker, setup.workers, setup.case_workers
        ));
    }
    let params = Params::from_json(&spec.params, &setup.params, setup.case_workers, setup.seed)
        .map_err(|e| format!("bad set-up: {e}"))?;
    if let Some(cpu) = setup.pin {
        crate::sys::pin_current_thread(cpu);
    }
    let workload = catch_quietly(|| spec.build(&params))
        .map_err(|panic| format!("its constructor {panic}"))
        .and_then(|built| built)
        .map_err(|e| format!("setting up {}: {e}", setup.workload))?;
    // The slot count crosses the protocol: it must be exactly what this workload
    // needs, and it is mapped with every size checked.
    let needed = workload.shared_slots(setup.workers);
    if let (None, Some(remote), true) = (&setup.shared, workloads.remote, needed > 0) {
        return Ok((workload, remote(needed)?));
    }
    let shared = match &setup.shared {
        Some(spec) if spec.slots == needed && needed > 0 => SharedState::open_inherited(spec.fd, spec.slots)
            .map_err(|e| format!("mapping the shared memory (descriptor {}): {e}", spec.fd))?,
        None if needed == 0 => SharedState::heap(0),
        given => {
            let given = given.as_ref().map_or(0, |s| s.slots);
            return Err(format!("bad set-up: {given} shared slots, {} needs {needed}", setup.workload));
        }
    };
    Ok((workload, shared))
}

/// Makes this child's inputs and its one worker state (untimed): the inputs of the
/// tasks the set-up names, or of every task.
fn prepare<'a>(workload: &'a dyn DynWorkload, setup: &Setup) -> Result<TaskSlots<'a>, String> {
    let tasks = workload.task_count();
    let inputs = match setup.inputs {
        None => 0..tasks,
        Some([first, end]) if first <= end && end <= tasks => first..end,
        Some([first, end]) => return Err(format!("bad set-up: inputs {first}..{end} for {tasks} tasks")),
    };
    let what = Prepare { inputs, workers: setup.worker..setup.worker + 1 };
    TaskSlots::new(workload, what).map_err(|e| format!("preparing {}: {e}", setup.workload))
}

/// Serves samples until `quit` or end of input: runs the requested tasks; on `finish`,
/// sends their outputs and the sample's statistics; on `next`, makes the slots ready
/// for another sample (fresh inputs, the worker state kept) and says `ready`.
fn serve_samples(
    slots: &mut TaskSlots<'_>,
    ctx: &TaskContext<'_>,
    tasks: usize,
    input: &mut impl BufRead,
    line: &mut Vec<u8>,
    mut out: impl Write,
) -> Result<(), String> {
    let io = write_error;
    // Without a `next`, the sample counts CPU time and switches from the process start
    // (start-up is part of the cost of processes; the parent subtracts the set-up), CPU
    // wait from here; after a `next`, everything from its `ready`.
    let mut since = Usage { cpu_ns: 0, switches: 0, waited_ns: crate::sys::thread_run_delay_ns() };
    // The tasks of the current sample, until its `finish`.
    let mut ran = Vec::with_capacity(tasks);
    // Whether any task has run on the slots since they were made or last reset.
    let mut used = false;
    while let Some(text) = read_line(input, line)? {
        match Request::parse(text) {
            Ok(Request::Run { first, end }) if first <= end && end <= tasks => {
                used |= first < end;
                for task in first..end {
                    slots.run(task, ctx);
                    if let Some((_, message)) = slots.failure() {
                        Reply::Fail { task, message }.write(&mut out).map_err(io)?;
                        return out.flush().map_err(io);
                    }
                    let (_, start_ns, end_ns) = slots.times(task).unwrap_or((0, 0, 0));
                    Reply::Done { task, start_ns, end_ns }.write(&mut out).map_err(io)?;
                    out.flush().map_err(io)?;
                    ran.push(task);
                }
            }
            Ok(Request::Finish) => {
                // The parent's clock has stopped: now the outputs, then what this
                // process used, read before anything is freed (its resident peak
                // before the outputs' text adds to it).
                let peak_kib = crate::sys::memory::peak_kib();
                send_outputs(slots, &ran, &mut out)?;
                let now = Usage::now();
                let stats = Stats {
                    cpu_ns: now.cpu_ns.saturating_sub(since.cpu_ns),
                    switches: now.switches.saturating_sub(since.switches),
                    waited_ns: now.waited_ns.zip(since.waited_ns).map(|(b, a)| b.saturating_sub(a)),
                    peak_kib,
                    allocations: slots.allocations(),
                };
                Reply::Stats(stats).write(&mut out).map_err(io)?;
                out.flush().map_err(io)?;
                since = now;
                ran.clear();
            }
            Ok(Request::Next) if ran.is_empty() => {
                // Untimed, like the set-up: the parent's clock starts after `ready`.
                let (start, cpu) = (monotonic_ns(), crate::sys::cpu_self_ns());
                if used {
                    slots.reset().map_err(|e| format!("making the inputs of the next sample: {e}"))?;
                    used = false;
                }
                let (reset_ns, reset_cpu_ns) = (monotonic_ns() - start, crate::sys::cpu_self_ns().saturating_sub(cpu));
                since = Usage::now();
                Reply::Ready { setup_ns: reset_ns, setup_cpu_ns: reset_cpu_ns }.write(&mut out).map_err(io)?;
                out.flush().map_err(io)?;
            }
            Ok(Request::Next) => return Err("a next sample before this one's finish".into()),
            Ok(Request::Quit) => return Ok(()),
            Ok(Request::Run { .. }) => return Err(format!("bad request {:?} for {tasks} tasks", truncate(text, 120))),
            Ok(Request::Setup(_)) => return Err("a second set-up in one session".into()),
            Ok(Request::Item { .. }) => return Err("an item for a worker that is not a pipeline stage".into()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A pipeline stage's side: says ready, then passes on every item it is sent, through
/// its stage; `finish` sends the sample's statistics and `next` opens another sample
/// (a pool's stage), until `quit` or end of input. A
/// stage that fails answers `fail` and waits to be ended.
fn serve_stage(
    workload: &dyn DynWorkload,
    setup: &Setup,
    stage: usize,
    (start, cpu): (u64, u64),
    mut input: impl BufRead,
    line: &mut Vec<u8>,
    mut out: impl Write,
) -> Result<(), String> {
    let io = write_error;
    let pipeline = workload.pipeline().ok_or_else(|| format!("bad set-up: {} is not a pipeline", setup.workload))?;
    let stages = pipeline.stages().len();
    if stage >= stages {
        return Err(format!("bad set-up: stage {stage} of a pipeline of {stages}"));
    }
    let (setup_ns, setup_cpu_ns) = (monotonic_ns() - start, crate::sys::cpu_self_ns().saturating_sub(cpu));
    Reply::Ready { setup_ns, setup_cpu_ns }.write(&mut out).map_err(io)?;
    out.flush().map_err(io)?;
    // Nothing else stops a stage process: its parent kills it.
    let stop = std::sync::atomic::AtomicBool::new(false);
    let timeout = std::time::Duration::from_millis(setup.timeout_ms);
    let ctx = crate::workload::StageContext { worker: setup.worker, stop: &stop, timeout };
    let mut since = Usage { cpu_ns: 0, switches: 0, waited_ns: crate::sys::thread_run_delay_ns() };
    while let Some(text) = read_line(&mut input, line)? {
        match Request::parse(text) {
            Ok(Request::Item { item, value }) => {
                let start_ns = monotonic_ns();
                let passed = catch_quietly(|| pipeline.stage(stage, item, value, &ctx)).and_then(|r| r);
                let end_ns = monotonic_ns();
                match passed {
                    Ok(value) => Reply::Item { item, value, start_ns, end_ns }.write(&mut out).map_err(io)?,
                    Err(message) => Reply::Fail { task: item, message }.write(&mut out).map_err(io)?,
                }
                out.flush().map_err(io)?;
            }
            Ok(Request::Finish) => {
                let now = Usage::now();
                let stats = Stats {
                    cpu_ns: now.cpu_ns.saturating_sub(since.cpu_ns),
                    switches: now.switches.saturating_sub(since.switches),
                    waited_ns: now.waited_ns.zip(since.waited_ns).map(|(b, a)| b.saturating_sub(a)),
                    peak_kib: crate::sys::memory::peak_kib(),
                    allocations: None,
                };
                Reply::Stats(stats).write(&mut out).map_err(io)?;
                out.flush().map_err(io)?;
                since = now;
            }
            Ok(Request::Next) => {
                // A pool's stage serves sample after sample: nothing to make again (a
                // stage keeps no inputs); its statistics count from this `ready`.
                since = Usage::now();
                Reply::Ready { setup_ns: 0, setup_cpu_ns: 0 }.write(&mut out).map_err(io)?;
                out.flush().map_err(io)?;
            }
            Ok(Request::Quit) => return Ok(()),
            Ok(_) => return Err(format!("bad request {:?} for a pipeline stage", truncate(text, 120))),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// What this process has used so far.
#[derive(Clone, Copy)]
struct Usage {
    cpu_ns: u64,
    switches: u64,
    waited_ns: Option<u64>,
}

impl Usage {
    fn now() -> Usage {
        Usage {
            cpu_ns: crate::sys::cpu_ns(),
            switches: crate::sys::involuntary_switches(),
            waited_ns: crate::sys::thread_run_delay_ns(),
        }
    }
}

/// One `output` line per task this child ran.
fn send_outputs(slots: &mut TaskSlots<'_>, ran: &[usize], out: &mut impl Write) -> Result<(), String> {
    for &task in ran {
        let json = catch_quietly(|| slots.slots().encode(task))
            .map_err(|panic| format!("encoding task {task}'s output {panic}"))?;
        let Some(json) = json else { continue };
        if json.len() > MAX_LINE - 64 {
            return Err(format!(
                "task {task}'s output is {} bytes of JSON, more than the {} MiB a line may carry back to \
                 parbench; return a digest of it instead",
                json.len(),
                MAX_LINE >> 20
            ));
        }
        Reply::Output { task, json }.write(out).map_err(write_error)?;
    }
    Ok(())
}

/// Entry point of the hidden `worker` subcommand of every program that hands control
/// to [`crate::main`].
pub fn worker_main(workloads: &Workloads<'_>) -> Result<(), String> {
    crate::sys::child::die_with_parent();
    // The protocol keeps the original stdout to itself; what a task prints goes to
    // stderr (kept in a file by the parent), so a println! cannot break the protocol.
    use std::os::fd::FromRawFd;
    // SAFETY: dup and dup2 on the standard descriptors, which this process owns.
    let protocol = unsafe {
        let fd = libc::dup(1);
        if fd < 0 || libc::dup2(2, 1) < 0 {
            return Err(format!("setting up the protocol's output: {}", std::io::Error::last_os_error()));
        }
        std::fs::File::from_raw_fd(fd)
    };
    let stdin = std::io::stdin();
    serve(workloads, stdin.lock(), std::io::BufWriter::new(protocol))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serves `input` with the workloads `specs`, as a program's registry would.
    fn serve_with(specs: &[WorkloadSpec], input: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        let find = |name: &str| specs.iter().find(|s| s.name == name);
        serve(&Workloads { find: &find, max_workers: 1024, remote: None }, input, out)
    }

    fn setup_line(workload: &str, params: serde_json::Value) -> String {
        let setup = Setup {
            worker: 0,
            workers: 1,
            workload: workload.into(),
            params: params.as_object().unwrap().clone(),
            case_workers: 1,
            seed: 1,
            shared: None,
            pin: None,
            timeout_ms: 60_000,
            inputs: None,
            stage: None,
        };
        let mut line = Vec::new();
        Request::Setup(Box::new(setup)).write(&mut line).unwrap();
        String::from_utf8(line).unwrap()
    }

    #[test]
    fn a_stage_serves_sample_after_sample_as_a_pools_stage_does() {
        let params = serde_json::json!({"items": 4, "stages": "sleep:1ms,cpu:10us", "queue": 2});
        // The set-up of stage 2 (0-based 1).
        let line = setup_line("pipeline", params).replacen('{', "{\"stage\":1,", 1);
        let sample = "item 0 5\nitem 3 7\nfinish\n";
        let (r, out) = serve_str(&format!("{line}{sample}next\n{sample}quit\n"));
        assert_eq!(r, Ok(()), "{out}");
        let replies = replies(&out);
        let items: Vec<(usize, u64)> = replies
            .iter()
            .filter_map(|r| match r {
                Reply::Item { item, value, .. } => Some((*item, *value)),
                _ => None,
            })
            .collect();
        // The same items give the same values in both samples.
        assert_eq!(items.len(), 4, "{out}");
        assert_eq!(items[..2], items[2..], "{out}");
        let kinds: Vec<&str> = replies
            .iter()
            .map(|r| match r {
                Reply::Hello { .. } => "hello",
                Reply::Ready { .. } => "ready",
                Reply::Item { .. } => "item",
                Reply::Stats(_) => "stats",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["hello", "ready", "item", "item", "stats", "ready", "item", "item", "stats"], "{out}");
    }

    fn fib_line() -> String {
        setup_line("fib", serde_json::json!({"n": 10, "tasks": 3}))
    }

    fn serve_str(input: &str) -> (Result<(), String>, String) {
        let mut out = Vec::new();
        let r = serve_with(&crate::workload::builtins(), input.as_bytes(), &mut out);
        (r, String::from_utf8(out).unwrap())
    }

    #[test]
    fn a_child_says_hello_first_runs_the_requested_tasks_and_reports_each_sample() {
        let (r, out) = serve_str(&format!("{}run 0 2\nrun 2 3\nfinish\nquit\n", fib_line()));
        assert_eq!(r, Ok(()));
        let replies: Vec<Reply> = out.lines().map(|l| Reply::parse(l).unwrap()).collect();
        assert!(matches!(&replies[0], Reply::Hello { version, .. } if version == VERSION));
        assert!(matches!(replies[1], Reply::Ready { .. }));
        let done: Vec<usize> = replies
            .iter()
            .filter_map(|r| match r {
                Reply::Done { task, .. } => Some(*task),
                _ => None,
            })
            .collect();
        assert_eq!(done, vec![0, 1, 2], "{out}");
        // The outputs come after finish, outside the parent's timed region, followed by
        // the sample's statistics: the worker reports without exiting.
        let outputs: Vec<(usize, &str)> = replies
            .iter()
            .filter_map(|r| match r {
                Reply::Output { task, json } => Some((*task, json.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(outputs, vec![(0, "55"), (1, "55"), (2, "55")]);
        assert!(matches!(replies.last(), Some(Reply::Stats(s)) if s.cpu_ns > 0), "{replies:?}");
        // Its resident peak comes with them: at least what it holds now.
        let Some(Reply::Stats(stats)) = replies.last() else { unreachable!() };
        assert!(stats.peak_kib.unwrap() >= crate::sys::memory::rss_kib().unwrap() / 2, "{stats:?}");
        // A task run twice in one sample is refused as the task's failure.
        let (r, out) = serve_str(&format!("{}run 0 2\nrun 1 2\n", fib_line()));
        assert_eq!(r, Ok(()));
        assert!(out.lines().last().unwrap().contains("run twice"), "{out}");
    }

    /// Every reply of `out`, parsed.
    fn replies(out: &str) -> Vec<Reply> {
        out.lines().map(|l| Reply::parse(l).unwrap_or_else(|e| panic!("{e}: {out}"))).collect()
    }

    /// A workload whose task takes its input (a reused one would be empty) and returns
    /// it with how many tasks its worker state has run before.
    fn stateful_workloads() -> Vec<WorkloadSpec> {
        use crate::workload::{TypedWorkload, Verification};
        struct Stateful;
        impl TypedWorkload for Stateful {
            type Input = Vec<u64>;
            type Worker = u64;
            type Output = (Vec<u64>, u64);
            fn task_count(&self) -> usize {
                2
            }
            fn input(&self, task: usize) -> Vec<u64> {
                vec![task as u64 + 7]
            }
            fn worker(&self, _worker: usize) -> u64 {
                0
            }
            fn run(&self, _: usize, input: &mut Vec<u64>, seen: &mut u64, _: &TaskContext<'_>) -> (Vec<u64>, u64) {
                *seen += 1;
                (std::mem::take(input), *seen - 1)
            }
            fn verify(&self, _: &[(Vec<u64>, u64)], _: &SharedState) -> Verification {
                Verification::verified("")
            }
        }
        vec![WorkloadSpec::new("stateful", "a worker state across samples", |_: &Params| Ok(Stateful))]
    }

    #[test]
    fn a_pool_worker_serves_sample_after_sample_on_one_worker_state_with_fresh_inputs() {
        let specs = stateful_workloads();
        let setup = setup_line("stateful", serde_json::json!({}));
        let sample = "next\nrun 0 1\nrun 1 2\nfinish\n";
        let mut out = Vec::new();
        let input = format!("{setup}{sample}{sample}{sample}quit\n");
        assert_eq!(serve_with(&specs, input.as_bytes(), &mut out), Ok(()));
        let out = String::from_utf8(out).unwrap();
        let replies = replies(&out);
        // hello, the set-up's ready, then per sample: ready, 2 done, 2 outputs, stats.
        assert_eq!(replies.len(), 2 + 3 * 6, "{out}");
        let outputs: Vec<(usize, &str)> = replies
            .iter()
            .filter_map(|r| match r {
                Reply::Output { task, json } => Some((*task, json.as_str())),
                _ => None,
            })
            .collect();
        // Every sample got fresh inputs; the one worker state counted on through them.
        let expected = [(0, "[[7],0]"), (1, "[[8],1]"), (0, "[[7],2]"), (1, "[[8],3]"), (0, "[[7],4]"), (1, "[[8],5]")];
        assert_eq!(outputs, expected, "{out}");
        let stats = replies.iter().filter(|r| matches!(r, Reply::Stats(_))).count();
        let ready = replies.iter().filter(|r| matches!(r, Reply::Ready { .. })).count();
        assert_eq!((stats, ready), (3, 4), "one statistics reply per sample: {out}");
    }

    #[test]
    fn a_next_sample_before_this_ones_finish_is_refused() {
        let (r, _) = serve_str(&format!("{}next\nrun 0 1\nnext\n", fib_line()));
        assert!(r.unwrap_err().contains("before this one's finish"));
        // Without the next, the same task again in a second sample is a task failure.
        let (r, out) = serve_str(&format!("{}run 0 1\nfinish\nrun 0 1\n", fib_line()));
        assert_eq!(r, Ok(()));
        assert!(out.lines().last().unwrap().contains("run twice"), "{out}");
    }

    /// A workload whose every parameter value is cheap, so that mutated set-ups can
    /// never ask for long work.
    fn tiny_workloads() -> Vec<WorkloadSpec> {
        use crate::workload::{Param, Verification, Workload};
        struct Tiny(usize, u64);
        impl Workload for Tiny {
            fn task_count(&self) -> usize {
                self.0
            }
            fn run_task(&self, task: usize, _ctx: &TaskContext<'_>) -> u64 {
                (0..self.1).sum::<u64>() + task as u64
            }
            fn verify(&self, _checksums: &[u64], _shared: &SharedState) -> Verification {
                Verification::Verified { detail: String::new() }
            }
        }
        let spec =
            WorkloadSpec::new("tiny", "cheap tasks", |p: &Params| Ok(Tiny(p.uint("tasks") as usize, p.uint("size"))))
                .param(crate::workload::Param::uint("tasks", 4).range(1, 64))
                .param(Param::uint("size", 10).range(1, 1000));
        vec![spec]
    }

    fn valid_session() -> Vec<u8> {
        let setup = setup_line("tiny", serde_json::json!({"tasks": 4, "size": 10}));
        format!("{setup}run 0 2\nrun 2 4\nfinish\nnext\nrun 0 4\nfinish\nquit\n").into_bytes()
    }

    /// A worker fed `input`: `Ok`, or a one-line error; never a panic, never more than
    /// 16 MiB held at once.
    fn serve_any(input: &[u8]) -> Result<(), proptest::test_runner::TestCaseError> {
        let specs = tiny_workloads();
        let mut out = Vec::new();
        let (result, peak) = crate::fuzz::peak_of(|| serve_with(&specs, input, &mut out));
        if let Err(e) = result {
            proptest::prop_assert!(crate::fuzz::one_line(&e), "{e}");
        }
        proptest::prop_assert!(peak < 16 << 20, "{peak} bytes held at once");
        Ok(())
    }

    proptest::proptest! {
        #![proptest_config(crate::fuzz::config(200))]

        #[test]
        fn arbitrary_bytes_never_crash_a_worker(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            serve_any(&bytes)?;
        }

        #[test]
        fn mutated_sessions_never_crash_a_worker(m in crate::fuzz::mutations()) {
            serve_any(&crate::fuzz::mutate(&valid_session(), &m))?;
        }

    }

    #[test]
    fn end_of_input_means_the_parent_is_gone() {
        assert_eq!(serve_str("").0, Ok(()));
        assert_eq!(serve_str(&fib_line()).0, Ok(()));
    }

    #[test]
    fn an_unregistered_workload_and_bad_values_are_refused() {
        let err = serve_str(&setup_line("nope", serde_json::json!({}))).0.unwrap_err();
        assert!(err.contains("\"nope\" is not registered"), "{err}");
        let err = serve_str(&setup_line("fib", serde_json::json!({"n": 99}))).0.unwrap_err();
        assert!(err.contains("n: 99 is out of range"), "{err}");
    }

    #[test]
    fn a_shared_slot_count_that_overflows_is_refused_not_mapped() {
        let counter = serde_json::json!({"increments": 10, "sync": "atomic"});
        let line = |slots: usize, fd: i32| {
            let text = setup_line("counter", counter.clone());
            let Ok(Request::Setup(mut setup)) = Request::parse(text.trim_end()) else { panic!("{text}") };
            setup.shared = Some(crate::worker::protocol::SharedSpec { fd, slots });
            let mut line = Vec::new();
            Request::Setup(setup).write(&mut line).unwrap();
            String::from_utf8(line).unwrap()
        };
        for slots in [1 << 57, usize::MAX, 1] {
            let err = serve_str(&line(slots, 3)).0.unwrap_err();
            assert!(err.starts_with(&format!("bad set-up: {slots} shared slots, counter needs ")), "{err}");
        }
        // The right count on a descriptor that is not shared memory.
        let builtins = crate::workload::builtins();
        let spec = builtins.iter().find(|s| s.name == "counter").unwrap();
        let params = Params::from_json(&spec.params, counter.as_object().unwrap(), 1, 1).unwrap();
        let slots = spec.build(&params).unwrap().shared_slots(1);
        let err = serve_str(&line(slots, 0)).0.unwrap_err();
        assert!(err.contains("descriptor 0"), "{err}");
        let err = serve_str(&line(slots, 999)).0.unwrap_err();
        assert!(err.contains("descriptor 999"), "{err}");
    }

    #[test]
    fn out_of_range_tasks_are_refused() {
        let err = serve_str(&format!("{}run 2 4\n", fib_line())).0.unwrap_err();
        assert!(err.contains("bad request"), "{err}");
    }

    #[test]
    fn a_panicking_task_is_reported_as_a_fail_line() {
        let line = setup_line("command", serde_json::json!({"cmd": "exit 4", "tasks": 1}));
        let (r, out) = serve_str(&format!("{line}run 0 1\n"));
        assert_eq!(r, Ok(()));
        let last = Reply::parse(out.lines().last().unwrap()).unwrap();
        assert!(matches!(&last, Reply::Fail { task: 0, message } if message.contains("status 4")), "{last:?}");
    }
}
