//! The worker protocol between the process runner and its children: small, versioned,
//! line-based, over the child's stdin and stdout.
//!
//! ```text
//! child  -> parent  hello parbench-worker/4 <pid>          (first, before reading anything)
//! parent -> child   setup {"worker":0,"workers":2,"workload":"fib","params":{...},...}
//! child  -> parent  ready <setup_ns> <setup_cpu_ns>       (workload, inputs and worker state made)
//! parent -> child   run <first> <end>                     (tasks first..end, end exclusive)
//! child  -> parent  done <task> <start_ns> <end_ns>       (one line per task)
//! child  -> parent  fail <task> <message as a JSON string>       (the task panicked)
//! parent -> child   quit                                  (the timed region has ended)
//! child  -> parent  output <task> <output as JSON>        (one line per task it ran)
//! child  -> parent  bye <cpu_ns> <switches> <waited_ns|-> [<allocations> <bytes>]
//!                   (its CPU time, involuntary switches and CPU wait so far; what its
//!                   tasks allocated, when the program counts allocations)
//! ```
//!
//! The parent's clock stops at the last `done`: the outputs travel, and each child
//! frees its workload, inputs and worker state as it exits, with the clock stopped. A
//! child's CPU time therefore comes in its `bye`, not from `getrusage` after it is
//! reaped, which would count the freeing.
//!
//! The child speaks first, so a program that does not hand its `worker` subcommand to
//! parbench (a libtest harness, a `main` that ignores its arguments) is recognised by
//! its first line, or its silence, and named as such. The set-up (building the
//! workload) happens between `setup` and `ready`, while the parent's clock is stopped.
//! Times are `CLOCK_MONOTONIC` nanoseconds, comparable across processes. A child that
//! reads end-of-file on stdin exits quietly: its parent is gone. Anything unexpected is
//! an error on the child's stderr and exit status 2.

use std::io::{BufRead, Read, Write};

use serde::{Deserialize, Serialize};

use crate::registry::Registry;
use crate::sys::monotonic_ns;
use crate::workload::{DynWorkload, Params, Prepare, SharedState, TaskContext};

/// The protocol's name and version, sent in the child's first line.
pub const VERSION: &str = "parbench-worker/4";

/// Environment variable carrying the parent's pid, so a child can tell whether the
/// parent died before the child asked to be killed along with it.
pub const PARENT_PID_ENV: &str = "PARBENCH_PARENT_PID";

/// Longest line either side accepts: a set-up line with a million numbers is about
/// 9 MB, so 16 MiB leaves room and still bounds what a broken peer can make us hold.
pub const MAX_LINE: usize = 16 << 20;

/// Where the sample's shared slots live: nameless shared memory the child inherited
/// as descriptor `fd` (see [`SharedState::shared_memory`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedSpec {
    /// The inherited descriptor.
    pub fd: i32,
    /// Number of slots in it.
    pub slots: usize,
}

/// Everything a child needs to know, sent once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Setup {
    /// This child's worker index.
    pub worker: usize,
    /// Workers of the runner.
    pub workers: usize,
    /// The registered workload's name.
    pub workload: String,
    /// Its parameter values.
    pub params: serde_json::Map<String, serde_json::Value>,
    /// The case's worker count, as the workload sees it ([`Params::workers`]).
    pub case_workers: usize,
    /// The run's seed ([`Params::seed`]).
    pub seed: u64,
    /// The shared slots, if the workload needs any.
    pub shared: Option<SharedSpec>,
    /// The core to pin this child to (`--pin`), during its set-up.
    #[serde(default)]
    pub pin: Option<usize>,
    /// The run's `--timeout` in milliseconds, passed to tasks.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// The tasks whose inputs this child makes, `[first, end)`: its block under static
    /// scheduling; every task when absent (dynamic scheduling, where it cannot know).
    #[serde(default)]
    pub inputs: Option<[usize; 2]>,
}

fn default_timeout_ms() -> u64 {
    60_000
}

impl Setup {
    /// The set-up line, newline included.
    pub fn to_line(&self) -> String {
        let json = serde_json::to_string(self).expect("set-up data always serialises");
        format!("setup {json}\n")
    }
}

/// A line a child sends to its parent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The child started and speaks `version`.
    Hello {
        /// The protocol version it speaks.
        version: String,
        /// Its pid.
        pid: u32,
    },
    /// The child built the workload.
    Ready {
        /// Wall time of the set-up, ns.
        setup_ns: u64,
        /// CPU time of the set-up, ns.
        setup_cpu_ns: u64,
    },
    /// One task finished.
    Done {
        /// Task index.
        task: usize,
        /// Start, monotonic ns.
        start_ns: u64,
        /// End, monotonic ns.
        end_ns: u64,
    },
    /// One task panicked.
    Fail {
        /// Task index.
        task: usize,
        /// The panic message.
        message: String,
    },
    /// One task's output, after the timed region.
    Output {
        /// Task index.
        task: usize,
        /// The output as JSON text.
        json: String,
    },
    /// The child is about to exit after `quit`.
    Bye {
        /// Its CPU time (its own children included) since it started, ns.
        cpu_ns: u64,
        /// Its involuntary context switches since it started.
        switches: u64,
        /// How long it waited for a CPU since it was ready, ns, if it knows.
        waited_ns: Option<u64>,
        /// What its tasks allocated (count, bytes), when counted.
        allocations: Option<(u64, u64)>,
    },
}

impl Reply {
    /// Parses one line from a child; `Err` describes what was wrong.
    pub fn parse(line: &str) -> Result<Reply, String> {
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        let num = |s: &str| s.parse::<u64>().map_err(|_| format!("bad number {:?} in {:?}", s, truncate(line, 120)));
        let index = |s: &str| num(s).and_then(|v| usize::try_from(v).map_err(|e| e.to_string()));
        match fields.as_slice() {
            ["hello", version, pid] => {
                let pid = u32::try_from(num(pid)?).map_err(|_| format!("bad pid in {line:?}"))?;
                Ok(Reply::Hello { version: version.to_string(), pid })
            }
            ["ready", setup, cpu] => Ok(Reply::Ready { setup_ns: num(setup)?, setup_cpu_ns: num(cpu)? }),
            ["done", task, start, end] => {
                Ok(Reply::Done { task: index(task)?, start_ns: num(start)?, end_ns: num(end)? })
            }
            ["output", task, _, ..] => {
                let json = line.trim_start().splitn(3, ' ').nth(2).unwrap_or("").to_string();
                Ok(Reply::Output { task: index(task)?, json })
            }
            ["fail", task, ..] => {
                let rest = line.trim_start().splitn(3, ' ').nth(2).unwrap_or("");
                let message = serde_json::from_str::<String>(rest).map_err(|_| format!("bad fail line {line:?}"))?;
                Ok(Reply::Fail { task: index(task)?, message })
            }
            ["bye", cpu, switches, waited, allocations @ ..] if matches!(allocations.len(), 0 | 2) => Ok(Reply::Bye {
                cpu_ns: num(cpu)?,
                switches: num(switches)?,
                waited_ns: if *waited == "-" { None } else { Some(num(waited)?) },
                allocations: match allocations {
                    [count, bytes] => Some((num(count)?, num(bytes)?)),
                    _ => None,
                },
            }),
            _ => Err(format!("unexpected line {:?}", truncate(line, 120))),
        }
    }
}

/// The first `max` characters of `s`.
pub(crate) fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Reads one line of at most [`MAX_LINE`] bytes, without its newline; `None` at end of
/// input.
pub(crate) fn read_line(input: &mut impl BufRead) -> Result<Option<String>, String> {
    let mut buf = Vec::new();
    let n =
        input.by_ref().take(MAX_LINE as u64 + 1).read_until(b'\n', &mut buf).map_err(|e| format!("reading: {e}"))?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
    } else if buf.len() > MAX_LINE {
        return Err(format!("a line longer than {MAX_LINE} bytes"));
    }
    String::from_utf8(buf).map(Some).map_err(|_| "a line that is not UTF-8".to_string())
}

/// The child side: says hello, reads the set-up, builds the workload from `registry`,
/// prepares its inputs and worker state, then runs tasks on request. Returns `Ok` on
/// `quit` or end of input.
///
/// The phases are separate functions (build, prepare, serve the sample) so that a
/// worker kept across samples can repeat the last two.
pub fn serve(registry: &Registry, mut input: impl BufRead, mut out: impl Write) -> Result<(), String> {
    writeln!(out, "hello {VERSION} {}", std::process::id()).map_err(write_error)?;
    out.flush().map_err(write_error)?;
    let Some(first) = read_line(&mut input)? else {
        return Ok(());
    };
    let json =
        first.strip_prefix("setup ").ok_or_else(|| format!("expected a setup line, got {:?}", truncate(&first, 60)))?;
    let setup: Setup = serde_json::from_str(json).map_err(|e| format!("bad set-up: {e}"))?;
    let (start, cpu) = (monotonic_ns(), crate::sys::cpu_self_ns());
    let (workload, shared) = build(registry, &setup)?;
    let mut slots = prepare(workload.as_ref(), &setup)?;
    let (setup_ns, setup_cpu_ns) = (monotonic_ns() - start, crate::sys::cpu_self_ns().saturating_sub(cpu));
    writeln!(out, "ready {setup_ns} {setup_cpu_ns}").map_err(write_error)?;
    out.flush().map_err(write_error)?;
    let timeout = std::time::Duration::from_millis(setup.timeout_ms);
    let ctx = TaskContext { worker: setup.worker, workers: setup.workers, shared: &shared, timeout };
    serve_sample(&mut slots, &ctx, workload.task_count(), input, out)
}

fn write_error(e: std::io::Error) -> String {
    format!("writing to parent: {e}")
}

/// Checks the set-up and builds the workload and its shared state (untimed).
fn build(registry: &Registry, setup: &Setup) -> Result<(Box<dyn DynWorkload>, SharedState), String> {
    let spec = registry.get(&setup.workload).ok_or_else(|| {
        format!(
            "workload {:?} is not registered in this program; parent and worker are different programs",
            setup.workload
        )
    })?;
    let workers = 1..=super::MAX_WORKERS;
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
    let workload = super::catch_quietly(|| spec.build(&params))
        .map_err(|panic| format!("its constructor {panic}"))
        .and_then(|built| built)
        .map_err(|e| format!("setting up {}: {e}", setup.workload))?;
    // The slot count crosses the protocol: it must be exactly what this workload
    // needs, and it is mapped with every size checked.
    let needed = workload.shared_slots(setup.workers);
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
fn prepare<'a>(workload: &'a dyn DynWorkload, setup: &Setup) -> Result<super::TaskSlots<'a>, String> {
    let tasks = workload.task_count();
    let inputs = match setup.inputs {
        None => 0..tasks,
        Some([first, end]) if first <= end && end <= tasks => first..end,
        Some([first, end]) => return Err(format!("bad set-up: inputs {first}..{end} for {tasks} tasks")),
    };
    let what = Prepare { inputs, workers: setup.worker..setup.worker + 1 };
    super::TaskSlots::new(workload, what).map_err(|e| format!("preparing {}: {e}", setup.workload))
}

/// Runs the requested tasks of one sample, then, on `quit`, sends the outputs and what
/// this process used.
fn serve_sample(
    slots: &mut super::TaskSlots<'_>,
    ctx: &TaskContext<'_>,
    tasks: usize,
    mut input: impl BufRead,
    mut out: impl Write,
) -> Result<(), String> {
    let io = write_error;
    let delay_at_ready = crate::sys::thread_run_delay_ns();
    let mut ran = Vec::new();
    while let Some(line) = read_line(&mut input)? {
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        match fields.as_slice() {
            ["run", first, end] => {
                let range = first.parse::<usize>().ok().zip(end.parse::<usize>().ok());
                let Some((first, end)) = range.filter(|(a, b)| a <= b && *b <= tasks) else {
                    return Err(format!("bad request {:?} for {tasks} tasks", truncate(&line, 120)));
                };
                for task in first..end {
                    slots.run(task, ctx);
                    if let Some((_, message)) = slots.failure() {
                        let message = serde_json::to_string(&message).expect("strings serialise");
                        writeln!(out, "fail {task} {message}").map_err(io)?;
                        return out.flush().map_err(io);
                    }
                    let (_, start, end) = slots.slots().times(task).unwrap_or((0, 0, 0));
                    writeln!(out, "done {task} {start} {end}").map_err(io)?;
                    out.flush().map_err(io)?;
                    ran.push(task);
                }
            }
            ["quit"] => {
                // The parent's clock has stopped: now the outputs, then what this
                // process used, read before anything is freed.
                send_outputs(slots, &ran, &mut out)?;
                let (cpu, switches) = (crate::sys::cpu_ns(), crate::sys::involuntary_switches());
                let waited = match delay_at_ready.zip(crate::sys::thread_run_delay_ns()) {
                    Some((a, b)) => b.saturating_sub(a).to_string(),
                    None => "-".to_string(),
                };
                match slots.allocations() {
                    Some(a) => writeln!(out, "bye {cpu} {switches} {waited} {} {}", a.count, a.bytes).map_err(io)?,
                    None => writeln!(out, "bye {cpu} {switches} {waited}").map_err(io)?,
                }
                return out.flush().map_err(io);
            }
            _ => return Err(format!("unexpected request {:?}", truncate(&line, 120))),
        }
    }
    Ok(())
}

/// One `output` line per task this child ran.
fn send_outputs(slots: &mut super::TaskSlots<'_>, ran: &[usize], out: &mut impl Write) -> Result<(), String> {
    for &task in ran {
        let json = super::catch_quietly(|| slots.slots().encode(task))
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
        writeln!(out, "output {task} {json}").map_err(write_error)?;
    }
    Ok(())
}

static IN_WORKER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether this process is a process-runner worker (its parent kills its whole process
/// group on any failure).
pub fn in_worker() -> bool {
    IN_WORKER.load(std::sync::atomic::Ordering::Relaxed)
}

/// Entry point of the hidden `worker` subcommand of every program that hands control
/// to [`crate::main`].
pub fn worker_main(registry: &Registry) -> Result<(), String> {
    die_with_parent();
    IN_WORKER.store(true, std::sync::atomic::Ordering::Relaxed);
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
    serve(registry, stdin.lock(), std::io::BufWriter::new(protocol))
}

/// Asks the kernel to kill this child when its parent dies, so no worker can outlive
/// parbench even if parbench itself is killed with SIGKILL.
fn die_with_parent() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl(PR_SET_PDEATHSIG) takes a signal number and has no memory effects.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
        // The parent may have died before the prctl: then we were re-parented.
        let expected = std::env::var(PARENT_PID_ENV).ok().and_then(|p| p.parse::<i32>().ok());
        // SAFETY: getppid has no preconditions.
        if expected.is_some_and(|p| p != unsafe { libc::getppid() }) {
            std::process::exit(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        };
        setup.to_line()
    }

    fn fib_line() -> String {
        setup_line("fib", serde_json::json!({"n": 10, "tasks": 3}))
    }

    fn serve_str(input: &str) -> (Result<(), String>, String) {
        let mut out = Vec::new();
        let r = serve(&Registry::with_builtins(), input.as_bytes(), &mut out);
        (r, String::from_utf8(out).unwrap())
    }

    #[test]
    fn a_child_says_hello_first_runs_the_requested_tasks_and_says_bye() {
        let (r, out) = serve_str(&format!("{}run 0 2\nrun 2 3\nquit\n", fib_line()));
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
        assert_eq!(done, vec![0, 1, 2]);
        // The outputs come after quit, outside the parent's timed region.
        let outputs: Vec<(usize, &str)> = replies
            .iter()
            .filter_map(|r| match r {
                Reply::Output { task, json } => Some((*task, json.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(outputs, vec![(0, "55"), (1, "55"), (2, "55")]);
        assert!(matches!(replies.last(), Some(Reply::Bye { .. })), "{replies:?}");
    }

    /// A workload whose every parameter value is cheap, so that mutated set-ups can
    /// never ask for long work.
    fn tiny_registry() -> Registry {
        use crate::workload::{Param, Verification, Workload, WorkloadSpec};
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
        Registry::new().register(spec)
    }

    fn valid_session() -> Vec<u8> {
        let setup = setup_line("tiny", serde_json::json!({"tasks": 4, "size": 10}));
        format!("{setup}run 0 2\nrun 2 4\nquit\n").into_bytes()
    }

    /// A worker fed `input`: `Ok`, or a one-line error; never a panic, never more than
    /// 16 MiB held at once.
    fn serve_any(input: &[u8]) -> Result<(), proptest::test_runner::TestCaseError> {
        let registry = tiny_registry();
        let mut out = Vec::new();
        let (result, peak) = crate::fuzz::peak_of(|| serve(&registry, input, &mut out));
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

        #[test]
        fn arbitrary_replies_parse_or_are_refused(line in proptest::collection::vec(proptest::prelude::any::<char>(), 0..200)) {
            let line: String = line.into_iter().collect();
            if let Err(e) = Reply::parse(&line) {
                proptest::prop_assert!(!e.is_empty());
            }
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
            let mut setup: Setup = serde_json::from_str(text["setup ".len()..].trim()).unwrap();
            setup.shared = Some(SharedSpec { fd, slots });
            setup.to_line()
        };
        for slots in [1 << 57, usize::MAX, 1] {
            let err = serve_str(&line(slots, 3)).0.unwrap_err();
            assert!(err.starts_with(&format!("bad set-up: {slots} shared slots, counter needs ")), "{err}");
        }
        // The right count on a descriptor that is not shared memory.
        let registry = Registry::with_builtins();
        let spec = registry.get("counter").unwrap();
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
    fn an_overlong_line_is_refused_without_reading_it_all() {
        let mut input = std::io::repeat(b'x').take(MAX_LINE as u64 * 4);
        let mut reader = std::io::BufReader::new(&mut input);
        assert!(read_line(&mut reader).unwrap_err().contains("longer than"));
    }

    #[test]
    fn a_panicking_task_is_reported_as_a_fail_line() {
        let line = setup_line("command", serde_json::json!({"cmd": "exit 4", "tasks": 1}));
        let (r, out) = serve_str(&format!("{line}run 0 1\n"));
        assert_eq!(r, Ok(()));
        let last = Reply::parse(out.lines().last().unwrap()).unwrap();
        assert!(matches!(&last, Reply::Fail { task: 0, message } if message.contains("status 4")), "{last:?}");
    }

    #[test]
    fn replies_parse_strictly() {
        assert_eq!(Reply::parse("hello parbench-worker/4 12"), Ok(Reply::Hello { version: VERSION.into(), pid: 12 }));
        assert_eq!(Reply::parse("ready 12 99"), Ok(Reply::Ready { setup_ns: 12, setup_cpu_ns: 99 }));
        assert!(Reply::parse("ready 12").is_err());
        assert_eq!(Reply::parse("done 3 10 20"), Ok(Reply::Done { task: 3, start_ns: 10, end_ns: 20 }));
        assert_eq!(Reply::parse("output 3 [1, 2]"), Ok(Reply::Output { task: 3, json: "[1, 2]".into() }));
        assert!(Reply::parse("output 3").is_err());
        assert_eq!(Reply::parse("fail 2 \"a b\""), Ok(Reply::Fail { task: 2, message: "a b".into() }));
        assert!(Reply::parse("done 3 55 10 20").is_err());
        assert!(Reply::parse("done x 10 20").is_err());
        assert!(Reply::parse("hello").is_err());
        let bye = |waited_ns, allocations| Reply::Bye { cpu_ns: 5, switches: 6, waited_ns, allocations };
        assert_eq!(Reply::parse("bye 5 6 -"), Ok(bye(None, None)));
        assert_eq!(Reply::parse("bye 5 6 42"), Ok(bye(Some(42), None)));
        assert_eq!(Reply::parse("bye 5 6 42 7 800"), Ok(bye(Some(42), Some((7, 800)))));
        assert!(Reply::parse("bye 5 6 42 7").is_err());
        assert!(Reply::parse("bye 42").is_err());
        assert!(Reply::parse("bye 5 6 x").is_err());
        assert!(Reply::parse("running 0 tests").is_err());
    }
}
