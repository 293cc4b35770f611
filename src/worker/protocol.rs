//! The worker protocol between a parent and its worker processes: one grammar, typed
//! requests and replies, versioned, one line each over the child's stdin and stdout.
//!
//! ```text
//! child  -> parent  hello parbench-worker/6 <pid>          (first, before reading anything)
//! parent -> child   setup {"worker":0,"workers":2,"workload":"fib","params":{...},...}
//! child  -> parent  ready <setup_ns> <setup_cpu_ns>       (workload, inputs and worker state made)
//! parent -> child   run <first> <end>                     (tasks first..end, end exclusive)
//! child  -> parent  done <task> <start_ns> <end_ns>       (one line per task)
//! child  -> parent  fail <task> <message as a JSON string>       (the task panicked)
//! parent -> child   finish                                (the timed region has ended)
//! child  -> parent  output <task> <output as JSON>        (one line per task it ran)
//! child  -> parent  stats <cpu_ns> <switches> <waited_ns|-> <peak_kib|-> [<allocations> <bytes>]
//! parent -> child   next                                  (another sample: fresh inputs)
//! child  -> parent  ready <reset_ns> <reset_cpu_ns>       (inputs made again, worker state kept)
//! parent -> child   quit                                  (free everything and exit)
//! ```
//!
//! A session is `setup`, then one or more samples (`run`... `finish`), each after the
//! first opened by `next`, then `quit`. The `process` runner's children serve one
//! sample; a pool's serve one per sample of its case, and open each with `next`, the
//! first included (on slots that no task has used, `next` makes nothing).
//!
//! A child set up as stage `s` of a pipeline (`"stage": s` in its set-up) is sent
//! items instead of tasks, and answers each with the value it passes on:
//!
//! ```text
//! parent -> child   item <item> <value>
//! child  -> parent  item <item> <value> <start_ns> <end_ns>
//! child  -> parent  fail <item> <message as a JSON string>       (the stage failed)
//! ```
//!
//! `stats` is the per-sample statistics reply: CPU time, involuntary switches and CPU
//! wait since the sample's `next` was answered (without one, since the child started),
//! the child's resident high-water mark (KiB, since it started), and what the tasks
//! allocated, when the program counts allocations. It is read before anything is
//! freed, so a worker reports its CPU time without exiting, and freeing is not counted.
//!
//! The child speaks first, so a program that does not hand its `worker` subcommand to
//! parbench is recognised by its first line, or its silence. Times are
//! `CLOCK_MONOTONIC` nanoseconds, comparable across processes. Replies are parsed in
//! place from the line, a `done` without allocating, and requests are written into a
//! caller's buffer, so the timed region allocates nothing per line.

use std::io::Write;

use serde::{Deserialize, Serialize};

/// The protocol's name and version, sent in the child's first line.
pub const VERSION: &str = "parbench-worker/6";

/// Longest line either side accepts: a set-up line with a million numbers is about
/// 9 MB, so 16 MiB leaves room and still bounds what a broken peer can make us hold.
pub const MAX_LINE: usize = 16 << 20;

/// Where the sample's shared slots live: nameless shared memory the child inherited
/// as descriptor `fd`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedSpec {
    /// The inherited descriptor.
    pub fd: i32,
    /// Number of slots in it.
    pub slots: usize,
}

/// Everything a child needs to know to build its workload, sent once.
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
    /// The case's worker count, as the workload sees it.
    pub case_workers: usize,
    /// The run's seed.
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
    /// The pipeline stage this child runs (0-based), when the workload is a pipeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<usize>,
}

fn default_timeout_ms() -> u64 {
    60_000
}

/// A line the parent sends to a child.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    /// Build the workload, its inputs and this worker's state.
    Setup(Box<Setup>),
    /// Run tasks `first..end`, in order.
    Run {
        /// First task.
        first: usize,
        /// One past the last task.
        end: usize,
    },
    /// Run this child's pipeline stage on item `item` whose value is `value`.
    Item {
        /// Item index.
        item: usize,
        /// Its value.
        value: u64,
    },
    /// The sample's timed region has ended: send the outputs and the `stats`.
    Finish,
    /// Another sample follows: make the inputs again (the worker state is kept) and
    /// count the statistics from here.
    Next,
    /// Free everything and exit.
    Quit,
}

/// Statistics of one sample as a child saw them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Stats {
    /// CPU time (its own children included) since the previous report, ns.
    pub cpu_ns: u64,
    /// Involuntary context switches since the previous report.
    pub switches: u64,
    /// Time spent waiting for a CPU since the previous report, ns, if known.
    pub waited_ns: Option<u64>,
    /// Its resident high-water mark since it started, KiB, if known.
    pub peak_kib: Option<u64>,
    /// What its tasks allocated (count, bytes), when counted.
    pub allocations: Option<(u64, u64)>,
}

/// A line a child sends to its parent. Only the replies of the timed region (`done`)
/// must not allocate; they hold numbers alone.
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
    /// A pipeline stage passed item `item` on with `value`.
    Item {
        /// Item index.
        item: usize,
        /// The value passed on.
        value: u64,
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
    /// The sample's statistics, after the outputs.
    Stats(Stats),
}

/// Splits the first word off `line`: (word, rest after one space).
fn word(line: &str) -> (&str, &str) {
    match line.split_once(' ') {
        Some((w, rest)) => (w, rest),
        None => (line, ""),
    }
}

/// Parses the whitespace-separated numbers of `rest` into `out`, exactly `out.len()`
/// of them, `-` standing for `None` at the places `dashes` allows it.
fn numbers<const N: usize>(line: &str, rest: &str, dashes: &[usize]) -> Result<[Option<u64>; N], String> {
    let mut out = [None; N];
    let mut fields = rest.split_ascii_whitespace();
    for (i, slot) in out.iter_mut().enumerate() {
        let field = fields.next().ok_or_else(|| format!("too few fields in {:?}", truncate(line, 120)))?;
        if dashes.contains(&i) && field == "-" {
            continue;
        }
        let value = field
            .parse::<u64>()
            .map_err(|_| format!("bad number {:?} in {:?}", truncate(field, 40), truncate(line, 120)))?;
        *slot = Some(value);
    }
    if fields.next().is_some() {
        return Err(format!("too many fields in {:?}", truncate(line, 120)));
    }
    Ok(out)
}

fn index(line: &str, field: &str) -> Result<usize, String> {
    field.parse::<usize>().map_err(|_| format!("bad number {:?} in {:?}", truncate(field, 40), truncate(line, 120)))
}

impl Request {
    /// Parses one line from the parent; `Err` describes what was wrong.
    pub fn parse(line: &str) -> Result<Request, String> {
        let (verb, rest) = word(line);
        match verb {
            "setup" => {
                serde_json::from_str(rest).map(|s| Request::Setup(Box::new(s))).map_err(|e| format!("bad set-up: {e}"))
            }
            "run" => match numbers::<2>(line, rest, &[])? {
                [Some(first), Some(end)] => Ok(Request::Run {
                    first: usize::try_from(first).map_err(|e| e.to_string())?,
                    end: usize::try_from(end).map_err(|e| e.to_string())?,
                }),
                _ => unreachable!("numbers fills every field without a dash"),
            },
            "item" => {
                let (item, value) = word(rest);
                let [value] = numbers::<1>(line, value, &[])?;
                Ok(Request::Item { item: index(line, item)?, value: value.unwrap_or(0) })
            }
            "finish" if rest.is_empty() => Ok(Request::Finish),
            "next" if rest.is_empty() => Ok(Request::Next),
            "quit" if rest.is_empty() => Ok(Request::Quit),
            _ => Err(format!("unexpected request {:?}", truncate(line, 120))),
        }
    }

    /// Whether the request in `line` is answered by a reply that the parent answers at
    /// once, within a sample: `next` (its `ready` by the first task) and `run` (each
    /// `done` by the next task or `finish`). After any other request the next one may
    /// be a long while coming (the parent measures its other runners meanwhile).
    #[cfg(feature = "mpi")]
    pub fn answered_at_once(line: &[u8]) -> bool {
        line.starts_with(b"run ") || line.strip_suffix(b"\n").unwrap_or(line) == b"next"
    }

    /// Writes the request as one line, newline included. A `run` line fits a 64-byte
    /// stack buffer, so the dispatch allocates nothing.
    pub fn write(&self, out: &mut impl Write) -> std::io::Result<()> {
        match self {
            Request::Setup(setup) => {
                out.write_all(b"setup ")?;
                serde_json::to_writer(&mut *out, setup).map_err(std::io::Error::other)?;
                out.write_all(b"\n")
            }
            Request::Run { first, end } => writeln!(out, "run {first} {end}"),
            Request::Item { item, value } => writeln!(out, "item {item} {value}"),
            Request::Finish => out.write_all(b"finish\n"),
            Request::Next => out.write_all(b"next\n"),
            Request::Quit => out.write_all(b"quit\n"),
        }
    }
}

impl Reply {
    /// Parses one line from a child; `Err` describes what was wrong.
    pub fn parse(line: &str) -> Result<Reply, String> {
        let (verb, rest) = word(line);
        let n = |v: Option<u64>| v.unwrap_or(0);
        match verb {
            "hello" => {
                let (version, pid) = word(rest);
                let [pid] = numbers::<1>(line, pid, &[])?;
                let pid = u32::try_from(n(pid)).map_err(|_| format!("bad pid in {:?}", truncate(line, 120)))?;
                Ok(Reply::Hello { version: version.to_string(), pid })
            }
            "ready" => {
                let [setup, cpu] = numbers::<2>(line, rest, &[])?;
                Ok(Reply::Ready { setup_ns: n(setup), setup_cpu_ns: n(cpu) })
            }
            "done" => {
                let (task, times) = word(rest);
                let [start, end] = numbers::<2>(line, times, &[])?;
                Ok(Reply::Done { task: index(line, task)?, start_ns: n(start), end_ns: n(end) })
            }
            "item" => {
                let (item, rest) = word(rest);
                let [value, start, end] = numbers::<3>(line, rest, &[])?;
                Ok(Reply::Item { item: index(line, item)?, value: n(value), start_ns: n(start), end_ns: n(end) })
            }
            "output" => {
                let (task, json) = word(rest);
                if json.trim().is_empty() {
                    return Err(format!("an output line without output: {:?}", truncate(line, 120)));
                }
                Ok(Reply::Output { task: index(line, task)?, json: json.to_string() })
            }
            "fail" => {
                let (task, message) = word(rest);
                let message = serde_json::from_str::<String>(message)
                    .map_err(|_| format!("bad fail line {:?}", truncate(line, 120)))?;
                Ok(Reply::Fail { task: index(line, task)?, message })
            }
            "stats" => {
                let fields = rest.split_ascii_whitespace().count();
                let (cpu_ns, switches, waited_ns, peak_kib, allocations) = match fields {
                    4 => {
                        let [c, s, w, p] = numbers::<4>(line, rest, &[2, 3])?;
                        (n(c), n(s), w, p, None)
                    }
                    6 => {
                        let [c, s, w, p, a, b] = numbers::<6>(line, rest, &[2, 3])?;
                        (n(c), n(s), w, p, Some((n(a), n(b))))
                    }
                    _ => return Err(format!("a stats line needs 4 or 6 fields: {:?}", truncate(line, 120))),
                };
                Ok(Reply::Stats(Stats { cpu_ns, switches, waited_ns, peak_kib, allocations }))
            }
            _ => Err(format!("unexpected line {:?}", truncate(line, 120))),
        }
    }

    /// Writes the reply as one line, newline included.
    pub fn write(&self, out: &mut impl Write) -> std::io::Result<()> {
        match self {
            Reply::Hello { version, pid } => writeln!(out, "hello {version} {pid}"),
            Reply::Ready { setup_ns, setup_cpu_ns } => writeln!(out, "ready {setup_ns} {setup_cpu_ns}"),
            Reply::Done { task, start_ns, end_ns } => writeln!(out, "done {task} {start_ns} {end_ns}"),
            Reply::Item { item, value, start_ns, end_ns } => writeln!(out, "item {item} {value} {start_ns} {end_ns}"),
            Reply::Fail { task, message } => {
                let message = serde_json::to_string(message).expect("strings serialise");
                writeln!(out, "fail {task} {message}")
            }
            Reply::Output { task, json } => writeln!(out, "output {task} {json}"),
            Reply::Stats(s) => {
                write!(out, "stats {} {}", s.cpu_ns, s.switches)?;
                for field in [s.waited_ns, s.peak_kib] {
                    match field {
                        Some(v) => write!(out, " {v}")?,
                        None => write!(out, " -")?,
                    }
                }
                match s.allocations {
                    Some((count, bytes)) => writeln!(out, " {count} {bytes}"),
                    None => writeln!(out),
                }
            }
        }
    }
}

/// The first `max` characters of `s`.
pub fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Reads one line of at most [`MAX_LINE`] bytes into `buf` (reused, so reading
/// allocates only while the buffer grows), without its newline; `None` at end of input.
pub fn read_line<'b>(input: &mut impl std::io::BufRead, buf: &'b mut Vec<u8>) -> Result<Option<&'b str>, String> {
    use std::io::{BufRead, Read};
    buf.clear();
    let n = input.by_ref().take(MAX_LINE as u64 + 1).read_until(b'\n', buf).map_err(|e| format!("reading: {e}"))?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
    } else if buf.len() > MAX_LINE {
        return Err(format!("a line longer than {MAX_LINE} bytes"));
    }
    std::str::from_utf8(buf).map(Some).map_err(|_| "a line that is not UTF-8".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(write: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> String {
        let mut out = Vec::new();
        write(&mut out).unwrap();
        String::from_utf8(out).unwrap().trim_end_matches('\n').to_string()
    }

    #[test]
    fn every_reply_reads_back_as_written() {
        let stats = |waited_ns, peak_kib, allocations| {
            Reply::Stats(Stats { cpu_ns: 5, switches: 6, waited_ns, peak_kib, allocations })
        };
        let replies = [
            Reply::Hello { version: VERSION.into(), pid: 12 },
            Reply::Ready { setup_ns: 12, setup_cpu_ns: 99 },
            Reply::Done { task: 3, start_ns: 10, end_ns: 20 },
            Reply::Fail { task: 2, message: "a b\n\"c\"".into() },
            Reply::Output { task: 3, json: "[1, 2]".into() },
            stats(None, None, None),
            stats(Some(42), None, None),
            stats(None, Some(2048), None),
            stats(Some(42), Some(2048), Some((7, 800))),
            stats(Some(42), None, Some((7, 800))),
            Reply::Item { item: 3, value: u64::MAX, start_ns: 10, end_ns: 20 },
        ];
        for reply in replies {
            let text = line(|out| reply.write(out));
            assert_eq!(Reply::parse(&text), Ok(reply), "{text}");
        }
    }

    #[test]
    fn every_request_reads_back_as_written() {
        let setup = Setup {
            worker: 1,
            workers: 2,
            workload: "fib".into(),
            params: serde_json::Map::new(),
            case_workers: 2,
            seed: 7,
            shared: Some(SharedSpec { fd: 3, slots: 4 }),
            pin: None,
            timeout_ms: 10,
            inputs: Some([0, 2]),
            stage: Some(1),
        };
        for request in [
            Request::Setup(Box::new(setup)),
            Request::Run { first: 3, end: 9 },
            Request::Item { item: 4, value: u64::MAX },
            Request::Finish,
            Request::Next,
            Request::Quit,
        ] {
            let text = line(|out| request.write(out));
            assert_eq!(Request::parse(&text), Ok(request), "{text}");
        }
    }

    #[test]
    #[cfg(feature = "mpi")]
    fn only_next_and_run_are_answered_at_once_within_a_sample() {
        for request in [
            Request::Run { first: 3, end: 9 },
            Request::Next,
            Request::Item { item: 4, value: 1 },
            Request::Finish,
            Request::Quit,
        ] {
            let text = line(|out| request.write(out));
            let expected = matches!(request, Request::Run { .. } | Request::Next);
            assert_eq!(Request::answered_at_once(text.as_bytes()), expected, "{text}");
        }
        assert!(!Request::answered_at_once(b"nextx\n") && !Request::answered_at_once(b"runner"));
    }

    #[test]
    fn replies_parse_strictly() {
        for bad in [
            "ready 12",
            "output 3",
            "output 3 ",
            "done 3 55 10 20",
            "done x 10 20",
            "hello",
            "hello v",
            "stats 5 6 42 7 8",
            "stats 5 6 42",
            "stats 42",
            "stats 5 6 x -",
            "stats - 6 1 2",
            "stats 5 6 - - - 8",
            "fail 2 not-json",
            "item 3 5 10",
            "item x 5 10 20",
            "running 0 tests",
            "",
        ] {
            assert!(Reply::parse(bad).is_err(), "{bad:?}");
        }
        for bad in [
            "run 1",
            "run 1 2 3",
            "run -1 2",
            "finish now",
            "next 1",
            "quit 1",
            "setup {",
            "bye",
            "item 1",
            "item 1 2 3",
        ] {
            assert!(Request::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_overlong_line_is_refused_without_reading_it_all() {
        use std::io::Read;
        let mut input = std::io::repeat(b'x').take(MAX_LINE as u64 * 4);
        let mut reader = std::io::BufReader::new(&mut input);
        assert!(read_line(&mut reader, &mut Vec::new()).unwrap_err().contains("longer than"));
    }

    proptest::proptest! {
        #![proptest_config(crate::fuzz::config(200))]

        #[test]
        fn arbitrary_lines_parse_or_are_refused(line in proptest::collection::vec(proptest::prelude::any::<char>(), 0..200)) {
            let line: String = line.into_iter().collect();
            if let Err(e) = Reply::parse(&line) {
                proptest::prop_assert!(!e.is_empty());
            }
            if let Err(e) = Request::parse(&line) {
                proptest::prop_assert!(!e.is_empty());
            }
        }
    }
}
