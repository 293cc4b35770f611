//! The worker layer over MPI (cargo feature `mpi`): the same typed requests and
//! replies as the worker processes' pipes ([`super::protocol`]), carried by MPI
//! messages between rank 0 and the other ranks of the world.
//!
//! Every rank starts the same program under `mpirun`. [`init`] calls MPI_Init first
//! thing (before any timed region; its cost is kept as set-up) and gathers each rank's
//! node description at rank 0. Rank 0 goes on to run the command line; every other rank
//! calls [`serve_ranks`]: it waits for `start` (a session: [`super::serve::serve`] over
//! MPI messages instead of stdin and stdout, so a rank builds and runs workloads exactly
//! as a worker process does) or `stop` (MPI_Finalize and exit 0). Only rank 0 prints or
//! writes files.
//!
//! Waiting never spins: a rank with nothing to do probes for a message and sleeps a
//! little between probes ([`Naps`]), so idle ranks leave the cores to rank 0's other
//! runners (the serial reference above all). Rank 0 waits for replies the same way,
//! with a deadline of `--timeout` of silence: a rank that hangs is named and the job
//! aborted (exit 1). A rank that dies, or never gets through MPI_Init, is named by its
//! guard ([`guard`], what `mpirun` started), which exits 1 and so ends the job.
//!
//! The counter's shared slots are a one-sided MPI window ([`window`]): `size + 1` u64s
//! in rank 0's memory, one per slot the counter can need (counter, start gate, a shard
//! per serving rank). Creating a window is collective over its communicator, and a
//! case's session spans only some of the ranks, so the window is made once, over the
//! whole world, in [`init`] (before anything is timed) and freed, collectively again,
//! when rank 0 stops the ranks. Every rank holds a passive-target epoch on it
//! (MPI_Win_lock_all) from then on; each operation is flushed before it returns.

use std::collections::VecDeque;
use std::io::{BufRead, Read, Write};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use mpi::Tag;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, Destination, MatchedReceiveVec, Source};

use super::protocol::{Reply, Request, VERSION};
use crate::error::BenchError;
use crate::workload::{RemoteSlots, SharedState};

/// A request line from rank 0 to a serving rank.
const REQUEST: Tag = 1;
/// Reply lines from a serving rank to rank 0.
const REPLY: Tag = 2;
/// Rank 0 opens a session on a serving rank.
const START: Tag = 3;
/// Rank 0 ends a serving rank.
const STOP: Tag = 4;
/// A rank's node description, sent to rank 0 once after MPI_Init.
const NODE: Tag = 5;

/// The first sleep between probes of a waiting rank; each empty probe doubles it, up
/// to [`SAMPLE_NAP`] inside a sample (and for rank 0), [`IDLE_NAP`] between samples
/// and between sessions (what comes next is untimed: `next` opens a sample). A
/// busy rank hardly waits (the dispatch keeps a task queued ahead of it); an idle one
/// wakes rarely and leaves the cores to whatever rank 0 measures.
const NAP: Duration = Duration::from_micros(10);
const SAMPLE_NAP: Duration = Duration::from_micros(200);
const IDLE_NAP: Duration = Duration::from_millis(2);
/// How long a serving rank keeps the first, shortest nap before the naps double, when
/// it waits inside a sample ([`Request::answered_at_once`]). Rank 0 answers its
/// `ready` with the first task and a `done` with the next one (when none was queued
/// ahead) or `finish` within microseconds of reading it, and the rank's wait is on
/// the sample's clock (its core idles meanwhile): doubled naps would add up to
/// [`SAMPLE_NAP`] to each such hand-out. Outside a sample the naps double from the
/// first: rank 0 may be measuring another runner meanwhile, and eager probes would
/// take a share of the cores it computes on. Rank 0 itself waits eagerly too: it waits
/// only inside the mpi runner, where a reply it notices late is a task handed out late
/// (at 130 µs tasks, one rank was idle 45% of a sample; eager, the speedup went from
/// 0.54x to 0.69x, `results/2026-12-03-linux-vm/mpi-eager-root/`).
const EAGER: Duration = Duration::from_millis(1);
/// A waiting thread's timer slack: Linux ends a sleep up to 50 µs late by default
/// (to batch wake-ups), which would make [`NAP`] six times as long as asked.
const NAP_SLACK_NS: u64 = 1_000;

/// The sleeps of one wait for a message: [`NAP`] while the wait is young (for
/// `eager`), then doubling up to `longest`. The thread's timer slack is
/// [`NAP_SLACK_NS`] until the wait ends (restored on drop: what a task sleeps keeps
/// the default, as under the other runners).
struct Naps {
    nap: Duration,
    longest: Duration,
    eager_until: Instant,
    slack: Option<Option<u64>>,
}

impl Naps {
    fn new(eager: Duration, longest: Duration) -> Naps {
        Naps { nap: NAP, longest, eager_until: Instant::now() + eager, slack: None }
    }

    /// Starts over from the shortest nap (a message came), the timer slack kept.
    fn restart(&mut self, eager: Duration) {
        (self.nap, self.eager_until) = (NAP, Instant::now() + eager);
    }

    /// Sleeps the current nap.
    fn sleep(&mut self) {
        self.slack.get_or_insert_with(|| crate::sys::set_timer_slack_ns(NAP_SLACK_NS));
        std::thread::sleep(self.nap);
        if self.nap < self.longest && Instant::now() >= self.eager_until {
            self.nap = (self.nap * 2).min(self.longest);
        }
    }
}

impl Drop for Naps {
    fn drop(&mut self) {
        if let Some(Some(old)) = self.slack {
            crate::sys::set_timer_slack_ns(old);
        }
    }
}

/// Whether this process was started by `mpirun` (OpenMPI's or a PMIx launcher's
/// variables), read without initialising MPI.
pub fn launched() -> bool {
    crate::sys::under_mpirun()
}

/// The guard of a rank ([`crate::sys::rank_guard`]), which is what `mpirun` starts:
/// it starts the rank, gives it `timeout` (`--timeout`, at least [`START_AT_LEAST`]) to
/// get through MPI_Init and the window, and turns the rank's end into its own exit status, with one line naming
/// the rank when it was killed or never started (exit 1).
pub fn guard(args: &[std::ffi::OsString], timeout: Duration) -> std::process::ExitCode {
    // --timeout is a limit on a task's silence, often set short for short tasks;
    // MPI_Init across nodes may take longer than that, and killing a healthy job is
    // worse than waiting a little longer for a hung one.
    let start = timeout.max(START_AT_LEAST);
    use crate::sys::rank_guard::Ended;
    use std::os::unix::process::ExitStatusExt;
    let rank = ["OMPI_COMM_WORLD_RANK", "PMIX_RANK"].iter().find_map(|v| std::env::var(v).ok());
    let rank = crate::text::terminal_safe(rank.as_deref().unwrap_or("?"));
    let host = crate::sys::hostname();
    let failed = |what: String| {
        eprintln!("parbench: error: mpi rank {rank} {what}; the MPI job ends");
        std::process::ExitCode::from(1)
    };
    let (bound, policy) = mpirun_binding();
    if root_takes_launchers_cpus(&rank, bound, policy.as_deref()) {
        // SAFETY: getppid has no preconditions.
        crate::sys::take_affinity_of(unsafe { libc::getppid() });
    }
    match crate::sys::rank_guard::run(args, start) {
        Ok((_, Ended::Exited(code))) => std::process::ExitCode::from(code.clamp(0, 255) as u8),
        Ok((_, Ended::Forwarded(signal))) => std::process::ExitCode::from((128 + signal).clamp(0, 255) as u8),
        Ok((pid, Ended::Killed(signal))) => {
            let how = crate::sys::describe_status(std::process::ExitStatus::from_raw(signal));
            failed(format!("(pid {pid} on {host}) {how}"))
        }
        Ok((pid, Ended::NotStarted)) => failed(format!(
            "(pid {pid} on {host}) did not get through MPI_Init within {}s (--timeout, at least {}s) and was \
             killed: a rank of the job hung or is not this program",
            start.as_secs_f64(),
            START_AT_LEAST.as_secs()
        )),
        Err(e) => failed(format!("could not be started on {host}: {e}")),
    }
}

/// The least time a rank's guard gives it to get through MPI_Init and the window.
const START_AT_LEAST: Duration = Duration::from_secs(10);

/// Whether rank 0 (`rank`) runs on the CPUs of its launcher (`mpirun` or its daemon,
/// which are the user's) instead of those `mpirun` bound it to. Rank 0 runs the local
/// runners and the serial reference, which must see the machine as without MPI; but
/// not oversubscribed, `mpirun` binds by default (each rank to a core at 2 ranks or
/// fewer, to a socket above), and `mpirun -n 2` on 2 cores measured threads on one
/// core. `bound` and `policy` as [`mpirun_binding`] reads them; a binding asked for
/// is kept.
fn root_takes_launchers_cpus(rank: &str, bound: bool, policy: Option<&str>) -> bool {
    rank == "0" && bound && policy.is_none()
}

/// How `mpirun` (OpenMPI 4) bound this rank, from its environment: whether it bound
/// it (`OMPI_MCA_orte_bound_at_launch`), and the binding asked for with `--bind-to`
/// (`OMPI_MCA_hwloc_base_binding_policy`), if any.
fn mpirun_binding() -> (bool, Option<String>) {
    let bound = std::env::var_os("OMPI_MCA_orte_bound_at_launch").is_some_and(|b| b == "1");
    (bound, std::env::var("OMPI_MCA_hwloc_base_binding_policy").ok())
}

/// The CPU a serving rank binds itself to: one per CPU (hardware thread), spread by
/// its rank on the node (`local_rank`) over the CPUs it may use. Polling for
/// messages, unbound ranks are often stacked on one core by the scheduler while
/// another idles (on 2 cores, a third of their time waiting to run, against a tenth
/// bound). Only where mpirun
/// left the ranks unbound, as it does when oversubscribed: `None` where it bound them
/// (`bound`, see [`mpirun_binding`]; its default binding above 2 ranks is to
/// a socket, whose CPUs a node-wide local rank would index unevenly), where it was
/// told how to bind (`policy`: --bind-to, in the environment), or where the rank may
/// use one CPU only. Rank 0 is never bound: it runs the local runners.
fn serving_cpu(bound: bool, policy: Option<&str>, allowed: &[usize], local_rank: Option<usize>) -> Option<usize> {
    if bound || policy.is_some() || allowed.len() < 2 {
        return None;
    }
    local_rank.map(|l| allowed[l % allowed.len()])
}

/// The MPI world as rank 0 sees it.
#[derive(Clone, Debug)]
pub struct World {
    /// Ranks in the world (rank 0 and W = size - 1 serving ranks).
    pub size: usize,
    /// How long MPI_Init and the gathering of the nodes took, ns.
    pub init_ns: u64,
    /// The MPI library's version line.
    pub library: String,
    /// Each rank's node description (as given to [`init`]), in rank order.
    pub nodes: Vec<String>,
    /// Each rank's host name and pid, in rank order.
    pub ranks: Vec<(String, u32)>,
}

/// What this process is in the MPI world.
pub enum Role {
    /// Rank 0: runs the command line.
    Root,
    /// Another rank: serves sessions until rank 0 says stop.
    Server,
}

static UNIVERSE: Mutex<Option<Universe>> = Mutex::new(None);
static WORLD: OnceLock<World> = OnceLock::new();
/// Set when a session failed and a rank may be busy, hung or dead: rank 0 then ends
/// the job with MPI_Abort instead of stopping each rank.
static POISONED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// The number of the session opened last: one session at a time holds the ranks.
static SESSION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The world's window of shared slots, in rank 0's memory.
struct Window {
    win: mpi::ffi::MPI_Win,
    slots: usize,
}

// SAFETY: an MPI_Win is a handle MPI may be called with from any thread: MPI was
// initialised with MPI_THREAD_MULTIPLE.
unsafe impl Send for Window {}
// SAFETY: as for Send; MPI serialises what it must itself.
unsafe impl Sync for Window {}

static WINDOW: OnceLock<Window> = OnceLock::new();

/// Makes the world's window collectively (every rank calls it once, right after
/// MPI_Init): `slots` u64s at rank 0, none elsewhere, and opens this rank's
/// passive-target epoch on it.
fn create_window(slots: usize) -> Result<(), String> {
    let rank = comm().rank();
    let bytes = if rank == 0 { slots * std::mem::size_of::<u64>() } else { 0 };
    let mut base: *mut u64 = std::ptr::null_mut();
    // SAFETY: MPI is initialised; `base` receives the pointer to `bytes` bytes MPI
    // allocated, and `win` the handle. The constants are the library's.
    let (win, rc) = unsafe {
        let mut win = mpi::ffi::RSMPI_WIN_NULL;
        let rc = mpi::ffi::MPI_Win_allocate(
            bytes as mpi::ffi::MPI_Aint,
            std::mem::size_of::<u64>() as i32,
            mpi::ffi::RSMPI_INFO_NULL,
            mpi::ffi::RSMPI_COMM_WORLD,
            (&mut base as *mut *mut u64).cast(),
            &mut win,
        );
        (win, rc)
    };
    if rc != 0 {
        return Err(format!("MPI_Win_allocate of {bytes} bytes failed (error {rc})"));
    }
    if rank == 0 && !base.is_null() {
        // SAFETY: MPI gave this rank `slots` u64s at `base`; no epoch is open yet.
        unsafe { std::ptr::write_bytes(base, 0, slots) };
    }
    // SAFETY: a window just made; NOCHECK: no rank ever locks it exclusively.
    let rc = unsafe { mpi::ffi::MPI_Win_lock_all(mpi::ffi::MPI_MODE_NOCHECK as i32, win) };
    if rc != 0 {
        return Err(format!("MPI_Win_lock_all failed (error {rc})"));
    }
    let _ = WINDOW.set(Window { win, slots });
    Ok(())
}

/// Ends this rank's epoch and frees the window (collective: every rank, before
/// MPI_Finalize).
fn free_window() {
    if let Some(window) = WINDOW.get() {
        let mut win = window.win;
        // SAFETY: the window is open with this rank's lock_all; nothing uses it after.
        unsafe {
            mpi::ffi::MPI_Win_unlock_all(win);
            mpi::ffi::MPI_Win_free(&mut win);
        }
    }
}

/// `slots` shared slots on the world's window, for a rank's tasks or rank 0's zeroing
/// and verification; an error when the window has fewer.
pub fn window(slots: usize) -> Result<SharedState, String> {
    let window = WINDOW.get().ok_or("the MPI window was not made (MPI is not initialised)")?;
    if slots > window.slots {
        return Err(format!("the workload needs {slots} shared slots and the MPI window holds {}", window.slots));
    }
    Ok(SharedState::remote(Box::new(WindowSlots { window, slots })))
}

/// Slots of the window, reached with one-sided operations on rank 0's memory.
struct WindowSlots {
    window: &'static Window,
    slots: usize,
}

impl WindowSlots {
    fn at(&self, i: usize) -> mpi::ffi::MPI_Aint {
        assert!(i < self.slots, "slot {i} of {}", self.slots);
        i as mpi::ffi::MPI_Aint
    }
}

impl RemoteSlots for WindowSlots {
    fn len(&self) -> usize {
        self.slots
    }

    /// MPI_Get, flushed.
    fn load(&self, i: usize) -> u64 {
        let mut value = 0u64;
        // SAFETY: one u64 into `value`, from slot `i` of rank 0's window (checked in
        // range), inside this rank's epoch; the flush completes it before `value` is read.
        unsafe {
            let t = mpi::ffi::RSMPI_UINT64_T;
            mpi::ffi::MPI_Get((&mut value as *mut u64).cast(), 1, t, 0, self.at(i), 1, t, self.window.win);
            mpi::ffi::MPI_Win_flush(0, self.window.win);
        }
        value
    }

    /// MPI_Put, flushed: a write separate from any read, so updates can be lost.
    fn store(&self, i: usize, value: u64) {
        // SAFETY: as for `load`; `value` outlives the flush that completes the put.
        unsafe {
            let t = mpi::ffi::RSMPI_UINT64_T;
            mpi::ffi::MPI_Put((&value as *const u64).cast(), 1, t, 0, self.at(i), 1, t, self.window.win);
            mpi::ffi::MPI_Win_flush(0, self.window.win);
        }
    }

    /// MPI_Fetch_and_op with MPI_SUM, flushed: atomic at rank 0.
    fn fetch_add(&self, i: usize, value: u64) -> u64 {
        let mut old = 0u64;
        // SAFETY: as for `load`.
        unsafe {
            mpi::ffi::MPI_Fetch_and_op(
                (&value as *const u64).cast(),
                (&mut old as *mut u64).cast(),
                mpi::ffi::RSMPI_UINT64_T,
                0,
                self.at(i),
                mpi::ffi::RSMPI_SUM,
                self.window.win,
            );
            mpi::ffi::MPI_Win_flush(0, self.window.win);
        }
        old
    }
}

fn comm() -> SimpleCommunicator {
    SimpleCommunicator::world()
}

/// The world, at rank 0 after [`init`]; `None` when not launched by `mpirun`.
pub fn world() -> Option<&'static World> {
    WORLD.get()
}

/// Initialises MPI (call it first thing, before any timed region) and gathers every
/// rank's `node` description (and host name and pid) at rank 0.
pub fn init(node: &str) -> Result<Role, String> {
    let started = Instant::now();
    let (universe, _) = mpi::initialize_with_threading(mpi::Threading::Multiple)
        .ok_or_else(|| "MPI was initialised already".to_string())?;
    let world = universe.world();
    let (rank, size) = (world.rank() as usize, world.size() as usize);
    let host = mpi::environment::processor_name().unwrap_or_else(|_| "?".into());
    let own = serde_json::json!({ "node": node, "host": host, "pid": std::process::id() }).to_string();
    *UNIVERSE.lock().unwrap_or_else(|e| e.into_inner()) = Some(universe);
    // Collective over the world: every rank makes it now, before anything is timed.
    create_window(size + 1)?;
    if rank != 0 {
        let (bound, policy) = mpirun_binding();
        let local = std::env::var("OMPI_COMM_WORLD_LOCAL_RANK").ok().and_then(|l| l.parse().ok());
        if let Some(cpu) = serving_cpu(bound, policy.as_deref(), &crate::sys::allowed_cpus(), local) {
            crate::sys::pin_current_thread(cpu);
        }
        world.process_at_rank(0).send_with_tag(own.as_bytes(), NODE);
        crate::sys::rank_guard::started();
        return Ok(Role::Server);
    }
    let mut texts = vec![own];
    for r in 1..size {
        let (bytes, _) = world.process_at_rank(r as i32).receive_vec_with_tag::<u8>(NODE);
        texts.push(String::from_utf8_lossy(&bytes).into_owned());
    }
    let (mut nodes, mut ranks) = (Vec::new(), Vec::new());
    for text in texts {
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("a rank's node description: {e}"))?;
        nodes.push(v["node"].as_str().unwrap_or_default().to_string());
        ranks.push((v["host"].as_str().unwrap_or("?").to_string(), v["pid"].as_u64().unwrap_or(0) as u32));
    }
    let library = mpi::environment::library_version().unwrap_or_default().lines().next().unwrap_or("").to_string();
    let init_ns = started.elapsed().as_nanos() as u64;
    // The C string's terminator may come along in the length MPI reports.
    let library = library.trim_matches(|c: char| c == '\0' || c.is_whitespace()).to_string();
    let _ = WORLD.set(World { size, init_ns, library, nodes, ranks });
    crate::sys::rank_guard::started();
    Ok(Role::Root)
}

/// Ends rank 0's part of the world after the command line: stops every serving rank
/// and finalises MPI, or, after a failed session (a rank may be hung), prints nothing
/// more and aborts the job with exit status 1.
pub fn finish() {
    let Some(world) = WORLD.get() else { return };
    if POISONED.load(std::sync::atomic::Ordering::SeqCst) {
        comm().abort(1);
    }
    for r in 1..world.size {
        comm().process_at_rank(r as i32).send_with_tag(&[0u8][..], STOP);
    }
    free_window();
    UNIVERSE.lock().unwrap_or_else(|e| e.into_inner()).take();
}

/// A serving rank's life: a session per `start` until `stop`, then MPI_Finalize.
pub fn serve_ranks(workloads: &super::serve::Workloads<'_>) -> Result<(), String> {
    // A workload's shared slots are the world's window.
    let workloads =
        &super::serve::Workloads { find: workloads.find, max_workers: workloads.max_workers, remote: Some(&window) };
    // What a task prints goes to stderr, as in a worker process; the protocol has its
    // messages.
    // A `start` inside a session ends it and opens the next one at once: rank 0 opens
    // a session for whichever runner measures next (a scale sweep interleaves runners
    // of different worker counts), and a runner whose session was taken opens its own
    // again before its next sample.
    let mut started = false;
    loop {
        if !started {
            match receive_from_root(Duration::ZERO, IDLE_NAP).0 {
                START => {}
                STOP => break,
                _ => continue,
            }
        }
        let mut input = RankInput { buf: Vec::new(), pos: 0, stopped: false, restarted: false, in_sample: false };
        let result = super::serve::serve(workloads, &mut input, RankOutput(Vec::new()));
        if let Err(e) = result {
            // Rank 0 sees the session end in silence or in a protocol error; say why.
            eprintln!("parbench: error: mpi rank {}: {e}", comm().rank());
        }
        if input.stopped {
            break;
        }
        started = input.restarted;
    }
    free_window();
    UNIVERSE.lock().unwrap_or_else(|e| e.into_inner()).take();
    Ok(())
}

/// The next message from rank 0, waited for without spinning (the shortest naps for
/// `eager`, then doubling up to `longest`).
fn receive_from_root(eager: Duration, longest: Duration) -> (Tag, Vec<u8>) {
    let world = comm();
    let root = world.process_at_rank(0);
    let mut naps = Naps::new(eager, longest);
    loop {
        if let Some(probed) = root.immediate_matched_probe() {
            let (bytes, status) = probed.matched_receive_vec::<u8>();
            return (status.tag(), bytes);
        }
        naps.sleep();
    }
}

/// A serving rank's input: the request lines rank 0 sends; `stop` and `start` (of the
/// next session) read as the end of input.
struct RankInput {
    buf: Vec<u8>,
    pos: usize,
    stopped: bool,
    restarted: bool,
    /// Whether the last request is answered by one that comes at once (a sample is
    /// open): the wait for it is eager.
    in_sample: bool,
}

impl Read for RankInput {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for RankInput {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        while self.pos == self.buf.len() && !self.stopped && !self.restarted {
            // Between samples the next request is untimed and a while coming (rank 0
            // measures the other runners meanwhile, serial above all): the naps grow
            // to the idle ones, so the ranks wake a tenth as often beside them.
            let (eager, longest) = if self.in_sample { (EAGER, SAMPLE_NAP) } else { (Duration::ZERO, IDLE_NAP) };
            let (tag, bytes) = receive_from_root(eager, longest);
            match tag {
                REQUEST => {
                    self.in_sample = Request::answered_at_once(&bytes);
                    (self.buf, self.pos) = (bytes, 0);
                }
                STOP => self.stopped = true,
                START => self.restarted = true,
                _ => {}
            }
        }
        Ok(&self.buf[self.pos..])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
    }
}

/// A serving rank's output: reply lines, sent to rank 0 as one message per flush.
struct RankOutput(Vec<u8>);

impl Write for RankOutput {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.0.is_empty() {
            comm().process_at_rank(0).send_with_tag(&self.0[..], REPLY);
            self.0.clear();
        }
        Ok(())
    }
}

/// Rank 0's side of a session with the first `workers` serving ranks (worker `w` is
/// rank `w + 1`): it sends requests and waits for replies with a deadline.
pub struct Ranks {
    workers: usize,
    lines: Vec<VecDeque<String>>,
    timeout: Duration,
    /// When the current wait gives up.
    pub deadline: Instant,
    /// Each worker's pid, from its hello.
    pids: Vec<u32>,
    /// Its number (see [`Ranks::current`]).
    session: u64,
}

impl Ranks {
    /// Opens a session on ranks 1..=workers and waits for each one's hello. An error
    /// when the world has fewer serving ranks.
    pub fn start(workers: usize, timeout: Duration) -> Result<Ranks, BenchError> {
        let world = WORLD.get().ok_or_else(|| BenchError::Io {
            context: "starting the mpi runner".into(),
            error: std::io::Error::other("not launched by mpirun"),
        })?;
        if workers + 1 > world.size {
            return Err(BenchError::Io {
                context: format!("starting the mpi runner with {workers} workers"),
                error: std::io::Error::other(format!(
                    "the MPI world has {} serving rank{}; launch with mpirun -n {}",
                    world.size - 1,
                    if world.size == 2 { "" } else { "s" },
                    workers + 1
                )),
            });
        }
        let mut ranks = Ranks {
            workers,
            lines: vec![VecDeque::new(); workers],
            timeout,
            deadline: Instant::now() + timeout,
            pids: world.ranks[1..=workers].iter().map(|(_, pid)| *pid).collect(),
            session: SESSION.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1,
        };
        for w in 0..workers {
            comm().process_at_rank(w as i32 + 1).send_with_tag(&[0u8][..], START);
        }
        let mut heard = vec![false; workers];
        for _ in 0..workers {
            let (w, reply) = ranks.next(|| heard.iter().position(|h| !h).unwrap_or(0))?;
            match reply {
                Reply::Hello { version, .. } if version == VERSION && !heard[w] => heard[w] = true,
                other => return Err(ranks.error(w, format!("answered {other:?} instead of its hello"))),
            }
        }
        Ok(ranks)
    }

    /// Sends `request` to worker `worker`.
    pub fn send(&mut self, worker: usize, request: &Request) {
        let mut line = Vec::with_capacity(64);
        request.write(&mut line).expect("writing to memory");
        self.send_bytes(worker, &line);
    }

    /// Sends an encoded request line to worker `worker`.
    pub fn send_bytes(&mut self, worker: usize, line: &[u8]) {
        comm().process_at_rank(worker as i32 + 1).send_with_tag(line, REQUEST);
    }

    /// Restarts the deadline: `--timeout` of silence from now.
    pub fn heard(&mut self) {
        self.deadline = Instant::now() + self.timeout;
    }

    /// The next reply of any worker, waited for until the deadline; past it, the
    /// worker `blame()` names is the error.
    pub fn next(&mut self, blame: impl Fn() -> usize) -> Result<(usize, Reply), BenchError> {
        let world = comm();
        let mut naps = Naps::new(EAGER, SAMPLE_NAP);
        loop {
            if let Some(w) = (0..self.workers).find(|&w| !self.lines[w].is_empty()) {
                let line = self.lines[w].pop_front().expect("a line");
                if line.trim().is_empty() {
                    continue;
                }
                return match Reply::parse(&line) {
                    Ok(reply) => Ok((w, reply)),
                    Err(detail) => Err(self.error(w, format!("broke the worker protocol: {detail}"))),
                };
            }
            if let Some(probed) = world.any_process().immediate_matched_probe_with_tag(REPLY) {
                let (bytes, status) = probed.matched_receive_vec::<u8>();
                let w = (status.source_rank() as usize).wrapping_sub(1);
                if w < self.workers {
                    let text = String::from_utf8_lossy(&bytes);
                    self.lines[w].extend(text.lines().map(str::to_string));
                }
                naps.restart(EAGER);
                continue;
            }
            if Instant::now() >= self.deadline {
                let w = blame();
                let what = format!(
                    "reported no progress within --timeout {}s (raise --timeout for longer tasks)",
                    self.timeout.as_secs_f64()
                );
                return Err(self.error(w, what));
            }
            naps.sleep();
        }
    }

    /// Whether this is still the session that holds the ranks (a later one ends it).
    pub fn current(&self) -> bool {
        SESSION.load(std::sync::atomic::Ordering::SeqCst) == self.session
    }

    /// The error about worker `worker` (rank `worker + 1`); the job is aborted at the
    /// end, as the rank may be hung.
    pub fn error(&self, worker: usize, what: String) -> BenchError {
        POISONED.store(true, std::sync::atomic::Ordering::SeqCst);
        let rank = worker + 1;
        let host = WORLD.get().and_then(|w| w.ranks.get(rank)).map_or("?".to_string(), |(h, _)| h.clone());
        BenchError::Rank { rank, pid: self.pids.get(worker).copied().unwrap_or(0), host, what }
    }

    /// Ends the session, if it still holds the ranks: every rank returns to waiting
    /// for the next `start`.
    pub fn quit(mut self) {
        if self.current() {
            for w in 0..self.workers {
                self.send(w, &Request::Quit);
            }
        }
    }
}

/// The phases of a session, as [`super::lifecycle`] has them for worker processes.
impl Ranks {
    /// Sends each worker its set-up line and waits until every one has built the
    /// workload; returns the longest set-up and their set-up CPU time.
    pub fn set_up(&mut self, setups: &[Vec<u8>]) -> Result<(u64, u64), BenchError> {
        for (w, line) in setups.iter().enumerate() {
            self.send_bytes(w, line);
        }
        self.ready()
    }

    /// Opens another sample (untimed): every worker makes its inputs again.
    pub fn next_sample(&mut self) -> Result<(u64, u64), BenchError> {
        for w in 0..self.workers {
            self.send(w, &Request::Next);
        }
        self.ready()
    }

    fn ready(&mut self) -> Result<(u64, u64), BenchError> {
        self.heard();
        let (mut longest, mut cpu) = (0u64, 0u64);
        let mut ready = vec![false; self.workers];
        for _ in 0..self.workers {
            let (w, reply) = self.next(|| ready.iter().position(|r| !r).unwrap_or(0))?;
            match reply {
                Reply::Ready { setup_ns, setup_cpu_ns } if !ready[w] => {
                    ready[w] = true;
                    longest = longest.max(setup_ns);
                    cpu = cpu.saturating_add(setup_cpu_ns);
                }
                other => return Err(self.error(w, format!("broke the worker protocol: unexpected reply {other:?}"))),
            }
        }
        Ok((longest, cpu))
    }

    /// Hands out one sample's tasks as `dispatch` decides (the same dispatch as the
    /// worker processes') and waits for every `done`, calling `done(worker, task,
    /// start_ns, end_ns)` for each; a task's failure is returned as it is.
    pub fn run_tasks(
        &mut self,
        dispatch: &mut super::Dispatch,
        mut done: impl FnMut(usize, usize, u64, u64),
    ) -> Result<super::lifecycle::Ran, BenchError> {
        let mut line = Vec::with_capacity(64);
        let mut run = |ranks: &mut Ranks, worker: usize, tasks: std::ops::Range<usize>| {
            line.clear();
            Request::Run { first: tasks.start, end: tasks.end }.write(&mut line).expect("writing to memory");
            ranks.send_bytes(worker, &line);
        };
        self.heard();
        dispatch.start(|worker, tasks| run(self, worker, tasks));
        while !dispatch.complete() {
            let (worker, reply) = self.next(|| dispatch.quietest())?;
            self.heard();
            match reply {
                Reply::Done { task, start_ns, end_ns } => match dispatch.done(worker, task) {
                    Ok(next) => {
                        done(worker, task, start_ns, end_ns);
                        if let Some(tasks) = next {
                            run(self, worker, tasks);
                        }
                    }
                    Err(super::dispatch::Fault::Unexpected { task }) => {
                        let what = format!("broke the worker protocol: it reported task {task}, not its own");
                        return Err(self.error(worker, what));
                    }
                },
                Reply::Fail { task, message } if dispatch.busy(worker) => {
                    return Ok(super::lifecycle::Ran::Failed { task, message });
                }
                other => return Err(self.error(worker, format!("broke the worker protocol: unexpected {other:?}"))),
            }
        }
        Ok(super::lifecycle::Ran::All)
    }

    /// Ends the sample in every worker: sends `finish`, hands each output to
    /// `output(task, json)` and sums the workers' statistics.
    pub fn collect(&mut self, mut output: impl FnMut(usize, &str)) -> Result<super::protocol::Stats, BenchError> {
        for w in 0..self.workers {
            self.send(w, &Request::Finish);
        }
        self.heard();
        let mut sum = super::protocol::Stats { waited_ns: Some(0), peak_kib: Some(0), ..Default::default() };
        let mut reported = vec![false; self.workers];
        for _ in 0..self.workers {
            loop {
                let (w, reply) = self.next(|| reported.iter().position(|r| !r).unwrap_or(0))?;
                self.heard();
                match reply {
                    Reply::Output { task, json } if !reported[w] => output(task, &json),
                    Reply::Stats(stats) if !reported[w] => {
                        reported[w] = true;
                        sum.cpu_ns = sum.cpu_ns.saturating_add(stats.cpu_ns);
                        sum.switches = sum.switches.saturating_add(stats.switches);
                        sum.waited_ns = sum.waited_ns.zip(stats.waited_ns).map(|(a, b)| a.saturating_add(b));
                        sum.peak_kib = sum.peak_kib.zip(stats.peak_kib).map(|(a, b)| a.saturating_add(b));
                        break;
                    }
                    other => {
                        return Err(self.error(w, format!("broke the worker protocol: {other:?} after finish")));
                    }
                }
            }
        }
        Ok(sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slack_ns() -> u64 {
        // SAFETY: PR_GET_TIMERSLACK takes no pointer.
        unsafe { libc::prctl(libc::PR_GET_TIMERSLACK) as u64 }
    }

    #[test]
    fn serving_ranks_bind_one_per_core_unless_mpirun_was_told_how_or_bound_them() {
        assert_eq!(serving_cpu(false, None, &[0, 1], Some(1)), Some(1));
        assert_eq!(serving_cpu(false, None, &[0, 1], Some(2)), Some(0), "ranks 1 and 2 of a 2-core node part");
        assert_eq!(serving_cpu(false, None, &[4, 5, 6, 7], Some(5)), Some(5), "within the CPUs it may use");
        assert_eq!(serving_cpu(false, None, &[0, 1, 2, 3], Some(0)), Some(0), "a node without rank 0");
        assert_eq!(serving_cpu(false, Some("none"), &[0, 1], Some(1)), None, "--bind-to none");
        assert_eq!(serving_cpu(false, Some("core"), &[0, 1], Some(1)), None);
        assert_eq!(serving_cpu(false, None, &[3], Some(1)), None, "it may use one CPU only");
        assert_eq!(serving_cpu(false, None, &[0, 1], None), None, "a launcher that gives no local rank");
        let socket = [0, 2, 4, 6, 8, 10, 12, 14];
        assert_eq!(serving_cpu(true, None, &socket, Some(2)), None, "mpirun bound it, to a socket by default");
    }

    #[test]
    fn rank_0_takes_back_the_cpus_only_from_mpiruns_default_binding() {
        assert!(root_takes_launchers_cpus("0", true, None), "mpirun -n 2 bound it to a core");
        assert!(!root_takes_launchers_cpus("1", true, None), "a serving rank keeps its core");
        assert!(!root_takes_launchers_cpus("0", true, Some("core")), "--bind-to core was asked for");
        assert!(!root_takes_launchers_cpus("0", false, None), "not bound (oversubscribed)");
        assert!(!root_takes_launchers_cpus("?", true, None));
    }

    #[test]
    fn a_serving_ranks_naps_stay_shortest_while_the_wait_is_young_then_double() {
        let mut naps = Naps::new(Duration::from_secs(60), SAMPLE_NAP);
        for _ in 0..5 {
            naps.sleep();
            assert_eq!(naps.nap, NAP);
        }
        let mut naps = Naps::new(Duration::ZERO, SAMPLE_NAP);
        naps.sleep();
        assert_eq!(naps.nap, NAP * 2);
        for _ in 0..10 {
            naps.sleep();
        }
        assert_eq!(naps.nap, SAMPLE_NAP, "doubling stops at the longest");
        naps.restart(Duration::from_secs(60));
        naps.sleep();
        assert_eq!(naps.nap, NAP, "a message starts the naps over");
    }

    #[test]
    fn a_wait_sleeps_with_a_fine_timer_slack_and_gives_the_threads_back() {
        std::thread::spawn(|| {
            let before = slack_ns();
            assert!(before > NAP_SLACK_NS, "the default slack is {before} ns");
            let mut naps = Naps::new(Duration::ZERO, SAMPLE_NAP);
            assert_eq!(slack_ns(), before, "nothing changes before the first nap");
            naps.sleep();
            assert_eq!(slack_ns(), NAP_SLACK_NS);
            naps.restart(Duration::ZERO);
            naps.sleep();
            assert_eq!(slack_ns(), NAP_SLACK_NS);
            drop(naps);
            assert_eq!(slack_ns(), before, "restored when the wait ends");
        })
        .join()
        .unwrap();
    }
}
