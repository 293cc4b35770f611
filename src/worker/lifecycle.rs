//! The phases of a session with worker processes, each a function over [`Children`],
//! so that a runner that starts its children per sample (`process`) and one that keeps
//! them across samples (a pool) share them: hello (start-up), set-up, dispatch of one
//! sample's tasks, collection of its outputs and statistics, the next sample (a pool's),
//! and quit.

use std::time::{Duration, Instant};

use super::children::{Children, Event};
use super::dispatch::{Dispatch, Fault};
use super::protocol::{Reply, Request, Stats, VERSION, truncate};
use crate::error::BenchError;

/// Longest wait for a new child's hello (less when --timeout is shorter).
const HANDSHAKE: Duration = Duration::from_secs(15);

/// Waits until every child has said hello in this protocol's version. Blank lines are
/// passed over (a libtest harness starts with one); anything else that is not a hello
/// means the program does not route `worker` to parbench.
pub fn hello(children: &mut Children) -> Result<(), BenchError> {
    // A program that answers at all answers at once: its silence is not waited out for
    // the whole --timeout.
    let patience = children.timeout.min(HANDSHAKE);
    children.deadline = Instant::now() + patience;
    let mut answered = vec![false; children.len()];
    let mut left = children.len();
    while left > 0 {
        let Some((worker, event)) = children.next_event() else {
            let worker = answered.iter().position(|a| !a).unwrap_or(0);
            let what = format!("it stayed silent for {}s", patience.as_secs_f64());
            return Err(children.handshake(worker, what));
        };
        let line = match event {
            Event::Line => children.line(worker).map(str::to_string),
            Event::Overlong => Err("an overlong first line".into()),
            Event::Eof | Event::Exited => {
                let status = children.reap(worker).map(crate::sys::describe_status);
                let what = format!("it {} without a word", status.as_deref().unwrap_or("exited"));
                return Err(children.handshake(worker, what));
            }
        };
        let line = line.unwrap_or_else(|e| e);
        if line.trim().is_empty() {
            continue;
        }
        match Reply::parse(&line) {
            Ok(Reply::Hello { version, .. }) if version == VERSION && !answered[worker] => {
                answered[worker] = true;
                left -= 1;
            }
            Ok(Reply::Hello { version, .. }) => {
                let detail = format!("it speaks {version}, this parbench speaks {VERSION}: rebuild the worker program");
                return Err(children.protocol_error(worker, detail));
            }
            _ => {
                let what = format!("its first line was {:?}", truncate(&line, 60));
                return Err(children.handshake(worker, what));
            }
        }
    }
    Ok(())
}

/// The next line of `worker` as a reply, or the error that ends the session.
fn reply(children: &mut Children, worker: usize, event: Event, exiting: &str) -> Result<Reply, BenchError> {
    match event {
        Event::Line => {}
        Event::Overlong => {
            let detail = format!("a line longer than {} bytes", super::protocol::MAX_LINE);
            return Err(children.protocol_error(worker, detail));
        }
        Event::Eof | Event::Exited => return Err(children.failure(worker, exiting.into())),
    }
    let parsed = children.line(worker).and_then(Reply::parse);
    parsed.map_err(|detail| children.protocol_error(worker, detail))
}

/// Sends each child its set-up line (encoded before) and waits until every one has
/// built the workload. Returns the longest set-up and the children's set-up CPU time.
pub fn set_up(children: &mut Children, setups: &[Vec<u8>]) -> Result<(u64, u64), BenchError> {
    children.deadline = Instant::now() + children.timeout;
    for (worker, setup) in setups.iter().enumerate() {
        children.send(worker, setup)?;
    }
    ready(children, ["exited while setting up the workload", "exited before finishing its tasks"])
}

/// Opens another sample in children kept from the last one (a pool), untimed: each
/// makes its inputs again, keeps its worker state and counts its statistics from its
/// `ready`. Returns the longest reset and the children's CPU time for it. A child that
/// died since its last sample is an error naming it.
pub fn next_sample(children: &mut Children) -> Result<(u64, u64), BenchError> {
    const DIED: &str = "died between samples";
    if let Some(worker) = children.first_exited() {
        return Err(children.failure(worker, DIED.into()));
    }
    children.deadline = Instant::now() + children.timeout;
    let mut line = [0u8; 8];
    let len = encode(&Request::Next, &mut line);
    for worker in 0..children.len() {
        children.send_or(worker, &line[..len], DIED)?;
    }
    ready(children, [DIED; 2])
}

/// Waits until every child has said `ready`; `exiting` says what an exit means, before
/// and after the child's `ready`. Returns the longest time and the sum of CPU times the
/// children reported.
fn ready(children: &mut Children, exiting: [&str; 2]) -> Result<(u64, u64), BenchError> {
    let (mut longest, mut cpu) = (0u64, 0u64);
    let mut ready = vec![false; children.len()];
    let mut left = children.len();
    while left > 0 {
        let Some((worker, event)) = children.next_event() else {
            let worker = ready.iter().position(|r| !r).unwrap_or(0);
            return Err(children.timed_out(worker));
        };
        match reply(children, worker, event, exiting[usize::from(ready[worker])])? {
            Reply::Ready { setup_ns, setup_cpu_ns } if !ready[worker] => {
                ready[worker] = true;
                left -= 1;
                longest = longest.max(setup_ns);
                cpu = cpu.saturating_add(setup_cpu_ns);
            }
            other => {
                let detail = format!("unexpected reply {other:?}");
                return Err(children.protocol_error(worker, detail));
            }
        }
    }
    Ok((longest, cpu))
}

/// Writes `request` into `line` (a stack buffer: no allocation per request); returns
/// its length.
fn encode(request: &Request, line: &mut [u8]) -> usize {
    let mut cursor = std::io::Cursor::new(line);
    request.write(&mut cursor).expect("the request fits its buffer");
    cursor.position() as usize
}

/// How a sample's tasks ended, short of an error of the children.
#[derive(Debug, PartialEq, Eq)]
pub enum Ran {
    /// Every task finished.
    All,
    /// A task panicked in its worker: the sample fails with its message.
    Failed {
        /// The task.
        task: usize,
        /// Its panic message.
        message: String,
    },
}

/// Hands out one sample's tasks as `dispatch` decides and waits for every `done`,
/// calling `done(worker, task, start_ns, end_ns)` for each. The timeout is a limit on
/// silence, not on the sample: it restarts whenever a worker reports progress, so long
/// samples that keep finishing tasks run on, while a hung worker is caught within one
/// timeout (the quietest busy worker is blamed).
pub fn run_tasks(
    children: &mut Children,
    dispatch: &mut Dispatch,
    mut done: impl FnMut(usize, usize, u64, u64),
) -> Result<Ran, BenchError> {
    let mut line = [0u8; 64];
    children.deadline = Instant::now() + children.timeout;
    let mut first = Ok(());
    dispatch.start(|worker, tasks| {
        if first.is_ok() {
            first = send_run(children, &mut line, worker, tasks);
        }
    });
    first?;
    while !dispatch.complete() {
        let Some((worker, event)) = children.next_event() else {
            let worker = dispatch.quietest();
            return Err(children.timed_out(worker));
        };
        children.deadline = Instant::now() + children.timeout;
        match reply(children, worker, event, "exited before finishing its tasks")? {
            Reply::Done { task, start_ns, end_ns } => match dispatch.done(worker, task) {
                Ok(next) => {
                    done(worker, task, start_ns, end_ns);
                    if let Some(tasks) = next {
                        send_run(children, &mut line, worker, tasks)?;
                    }
                }
                Err(Fault::Unexpected { task }) => {
                    let detail = format!("it reported task {task}, which it was not running");
                    return Err(children.protocol_error(worker, detail));
                }
            },
            Reply::Fail { task, message } if dispatch.busy(worker) => return Ok(Ran::Failed { task, message }),
            other => {
                let detail = format!("unexpected reply {other:?}");
                return Err(children.protocol_error(worker, detail));
            }
        }
    }
    Ok(Ran::All)
}

/// How a pipeline's items ended, short of an error of the children.
#[derive(Debug, PartialEq, Eq)]
pub enum Relayed {
    /// Every item reached the sink.
    All,
    /// A stage failed in its process: the sample fails with its message.
    Failed {
        /// The stage (0-based).
        stage: usize,
        /// What it said.
        message: String,
    },
}

/// A pipeline's stage processes, driven from the parent's one poll loop: child `c`
/// runs stage `stage_of[c]`. Items start as `values` and pass parent -> stage 1 ->
/// parent -> stage 2 ... -> parent, each hop over the children's pipes; the parent
/// gives an item to the least-loaded process of its stage, and keeps at most `queue`
/// items, besides one in each of its processes, sent to a stage and not yet taken by the
/// next (the bounded queue between two stages; it also keeps every pipe from filling). `arrive(item, value)` is told what
/// leaves the last stage, `done(child, start_ns, end_ns)` each stage call's times.
///
/// The timeout is a limit on silence, as for tasks: the process that has waited
/// longest on an item it was sent is blamed. An error carries the stage of the child
/// it is about.
pub fn relay(
    children: &mut Children,
    stage_of: &[usize],
    values: &[u64],
    queue: usize,
    mut arrive: impl FnMut(usize, u64),
    mut done: impl FnMut(usize, u64, u64),
) -> Result<Relayed, (usize, BenchError)> {
    let stages = stage_of.iter().max().map_or(0, |s| s + 1);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); stages];
    for (child, &stage) in stage_of.iter().enumerate() {
        members[stage].push(child);
    }
    let mut outstanding = vec![0usize; stage_of.len()];
    let mut waiting_since = vec![Instant::now(); stage_of.len()];
    let mut in_flight = vec![0usize; stages];
    // ready[s]: items that left stage s - 1 and wait for stage s (ready[0] unused:
    // the source hands out `next`).
    let mut ready: Vec<std::collections::VecDeque<(usize, u64)>> =
        (0..stages).map(|_| std::collections::VecDeque::with_capacity(queue)).collect();
    let (mut next, mut sunk) = (0usize, 0usize);
    let mut line = [0u8; 64];
    children.deadline = Instant::now() + children.timeout;
    while sunk < values.len() {
        // Feed from the last stage back, so that room made downstream is used first.
        for stage in (0..stages).rev() {
            let waiting_after = |ready: &[std::collections::VecDeque<(usize, u64)>]| {
                ready.get(stage + 1).map_or(0, std::collections::VecDeque::len)
            };
            // Like a group of threads on a bounded channel: each process holds one item,
            // and `queue` more wait. Both pipes stay far from full (at most 1024 + 256
            // lines of under 64 bytes each way).
            while in_flight[stage] + waiting_after(&ready) < queue + members[stage].len() {
                let item = if stage == 0 {
                    (next < values.len()).then(|| {
                        next += 1;
                        (next - 1, values[next - 1])
                    })
                } else {
                    ready[stage].pop_front()
                };
                let Some((item, value)) = item else { break };
                let child = *members[stage].iter().min_by_key(|&&c| outstanding[c]).expect("every stage has a process");
                if outstanding[child] == 0 {
                    waiting_since[child] = Instant::now();
                }
                outstanding[child] += 1;
                in_flight[stage] += 1;
                let mut cursor = std::io::Cursor::new(&mut line[..]);
                Request::Item { item, value }.write(&mut cursor).expect("an item line fits 64 bytes");
                let len = cursor.position() as usize;
                children.send(child, &line[..len]).map_err(|e| (stage, e))?;
            }
        }
        let Some((child, event)) = children.next_event() else {
            let busy = (0..stage_of.len()).filter(|&c| outstanding[c] > 0);
            let child = busy.min_by_key(|&c| waiting_since[c]).unwrap_or(0);
            return Err((stage_of[child], children.timed_out(child)));
        };
        children.deadline = Instant::now() + children.timeout;
        let stage = stage_of[child];
        match reply(children, child, event, "exited before passing on its items").map_err(|e| (stage, e))? {
            Reply::Item { item, value, start_ns, end_ns } if outstanding[child] > 0 => {
                outstanding[child] -= 1;
                waiting_since[child] = Instant::now();
                in_flight[stage] -= 1;
                done(child, start_ns, end_ns);
                match ready.get_mut(stage + 1) {
                    Some(queue) => queue.push_back((item, value)),
                    None => {
                        arrive(item, value);
                        sunk += 1;
                    }
                }
            }
            Reply::Fail { task, message } => {
                return Ok(Relayed::Failed { stage, message: format!("item {task}: {message}") });
            }
            other => {
                let detail = format!("unexpected reply {other:?}");
                return Err((stage, children.protocol_error(child, detail)));
            }
        }
    }
    Ok(Relayed::All)
}

/// Writes a `run` request through a stack buffer: no allocation per request.
fn send_run(
    children: &mut Children,
    line: &mut [u8; 64],
    worker: usize,
    tasks: std::ops::Range<usize>,
) -> Result<(), BenchError> {
    let len = encode(&Request::Run { first: tasks.start, end: tasks.end }, line);
    children.send(worker, &line[..len])
}

/// Ends the sample in every child: sends `finish`, hands each `output` to
/// `output(task, json)`, and sums the children's `stats`.
pub fn collect(children: &mut Children, mut output: impl FnMut(usize, &str)) -> Result<Stats, BenchError> {
    children.deadline = Instant::now() + children.timeout;
    let mut line = [0u8; 8];
    let len = encode(&Request::Finish, &mut line);
    for worker in 0..children.len() {
        children.send(worker, &line[..len])?;
    }
    let mut sum = Stats { waited_ns: Some(0), peak_kib: Some(0), allocations: Some((0, 0)), ..Stats::default() };
    let mut reported = vec![false; children.len()];
    let mut left = children.len();
    while left > 0 {
        let Some((worker, event)) = children.next_event() else {
            let worker = reported.iter().position(|r| !r).unwrap_or(0);
            return Err(children.timed_out(worker));
        };
        children.deadline = Instant::now() + children.timeout;
        match reply(children, worker, event, "exited without sending its statistics")? {
            Reply::Output { task, json } if !reported[worker] => output(task, &json),
            Reply::Stats(stats) if !reported[worker] => {
                reported[worker] = true;
                left -= 1;
                sum.cpu_ns = sum.cpu_ns.saturating_add(stats.cpu_ns);
                sum.switches = sum.switches.saturating_add(stats.switches);
                sum.waited_ns = sum.waited_ns.zip(stats.waited_ns).map(|(a, b)| a.saturating_add(b));
                sum.peak_kib = sum.peak_kib.zip(stats.peak_kib).map(|(a, b)| a.saturating_add(b));
                sum.allocations = sum
                    .allocations
                    .zip(stats.allocations)
                    .map(|((c, b), (count, bytes))| (c.saturating_add(count), b.saturating_add(bytes)));
            }
            other => {
                let detail = format!("unexpected line {other:?} after finish");
                return Err(children.protocol_error(worker, detail));
            }
        }
    }
    Ok(sum)
}

/// Asks every child to quit and reaps it: each frees what it made and exits by itself
/// (a clean exit is not turned into a SIGKILL); one that fails or outstays the timeout
/// is an error.
pub fn quit(children: &mut Children) -> Result<(), BenchError> {
    children.deadline = Instant::now() + children.timeout;
    let mut line = [0u8; 8];
    let len = encode(&Request::Quit, &mut line);
    for worker in 0..children.len() {
        children.send(worker, &line[..len])?;
        children.close_input(worker);
    }
    for worker in 0..children.len() {
        if !children.exited(worker) && !crate::sys::wait_for_exit(children.pid(worker), children.deadline) {
            return Err(children.timed_out(worker));
        }
        if let Some(status) = children.reap_exiting(worker).filter(|s| !s.success()) {
            return Err(children.failed_status(worker, status));
        }
    }
    Ok(())
}
