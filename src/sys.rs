//! Operating-system measurements: the monotonic clock, CPU time from `getrusage`, and
//! the machine-wide busy time from `/proc/stat`; and the limits on how many threads
//! and processes may still start (`ulimit -u`, threads-max, pids.max, memory maps).
//!
//! The one decision a reader would otherwise get wrong: a [`Meter`] reads the slow
//! sources (`/proc/stat`, `getrusage`) *outside* the wall-clock interval it reports,
//! so the act of measuring never lands inside the timed region.

pub mod child;
pub mod keeper;
pub mod memory;
#[cfg(feature = "mpi")]
pub mod rank_guard;

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Duration;

/// Nanoseconds on `CLOCK_MONOTONIC`, a clock shared by every process on the machine,
/// so task start and end times reported by child processes line up with the parent's.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// User plus system CPU time, in nanoseconds, of this process (all threads) or of its
/// waited-for children.
fn rusage_ns(who: libc::c_int) -> u64 {
    // SAFETY: an all-zero rusage is a valid value, and getrusage only writes into it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is valid and writable; `who` is RUSAGE_SELF or RUSAGE_CHILDREN.
    unsafe { libc::getrusage(who, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Involuntary context switches of this process's threads and its reaped children:
/// how often the kernel took a CPU away from them.
pub fn involuntary_switches() -> u64 {
    let count = |who| {
        // SAFETY: an all-zero rusage is valid, and getrusage only writes into it.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `ru` is valid and writable; `who` is RUSAGE_SELF or RUSAGE_CHILDREN.
        unsafe { libc::getrusage(who, &mut ru) };
        ru.ru_nivcsw.max(0) as u64
    };
    count(libc::RUSAGE_SELF) + count(libc::RUSAGE_CHILDREN)
}

/// Time the calling thread has spent runnable but waiting for a CPU since it started,
/// ns (`/proc/thread-self/schedstat`); `None` where the kernel does not say. Reads into
/// a stack buffer: no allocation, so it may end a timed region.
pub fn thread_run_delay_ns() -> Option<u64> {
    read_schedstat("/proc/thread-self/schedstat")
}

/// The same for thread `tid` of this process.
pub fn task_run_delay_ns(tid: i32) -> Option<u64> {
    read_schedstat(&format!("/proc/self/task/{tid}/schedstat"))
}

/// The calling thread's id.
pub fn gettid() -> i32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() }
}

fn read_schedstat(path: &str) -> Option<u64> {
    use std::io::Read;
    let mut buf = [0u8; 128];
    let n = std::fs::File::open(path).ok()?.read(&mut buf).ok()?;
    // "<time on cpu ns> <run delay ns> <timeslices>"
    std::str::from_utf8(&buf[..n]).ok()?.split_ascii_whitespace().nth(1)?.parse().ok()
}

/// CPU time of this process (all threads), without its children.
pub fn cpu_self_ns() -> u64 {
    rusage_ns(libc::RUSAGE_SELF)
}

/// CPU time of this process and of all children it has reaped so far.
pub fn cpu_ns() -> u64 {
    rusage_ns(libc::RUSAGE_SELF) + rusage_ns(libc::RUSAGE_CHILDREN)
}

/// Busy CPU time of the whole machine (all processes), from the first line of
/// `/proc/stat`, in nanoseconds. `None` where `/proc/stat` is unavailable.
pub fn machine_busy_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    parse_proc_stat_busy(&text).map(|ticks| ticks * (1_000_000_000 / clock_ticks_per_sec()))
}

fn clock_ticks_per_sec() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 { hz as u64 } else { 100 }
}

/// Sum of the busy fields (user, nice, system, irq, softirq, steal) of the `cpu` line.
/// Idle and iowait are not busy; guest time is already counted in user.
fn parse_proc_stat_busy(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line.split_whitespace().skip(1).map(|f| f.parse().ok()).collect::<Option<_>>()?;
    let get = |i: usize| fields.get(i).copied().unwrap_or(0);
    Some(get(0) + get(1) + get(2) + get(5) + get(6) + get(7))
}

/// Measures one timed region: wall time, this process's CPU time (children included),
/// and the CPU time everything else on the machine used meanwhile.
///
/// Wall time and task times come from the same clock ([`monotonic_ns`]), so every task
/// of a region lies inside it.
pub struct Meter {
    busy_before: Option<u64>,
    cpu_before: u64,
    switches_before: u64,
    start_mono_ns: u64,
}

/// What a [`Meter`] measured.
#[derive(Clone, Copy, Debug)]
pub struct Measured {
    /// Wall time of the region.
    pub wall: Duration,
    /// User + system CPU time of parbench and its reaped children during the region.
    pub cpu_ns: u64,
    /// CPU time used by other processes during the region, if `/proc/stat` was readable.
    /// Coarse: `/proc/stat` counts in clock ticks (usually 10 ms).
    pub other_cpu_ns: Option<u64>,
    /// Involuntary context switches of parbench's threads and reaped children.
    pub preemptions: u64,
}

impl Measured {
    /// Two regions measured as one: wall, CPU and other CPU times added.
    pub fn plus(self, other: Measured) -> Measured {
        Measured {
            wall: self.wall + other.wall,
            cpu_ns: self.cpu_ns + other.cpu_ns,
            other_cpu_ns: self.other_cpu_ns.zip(other.other_cpu_ns).map(|(a, b)| a + b),
            preemptions: self.preemptions + other.preemptions,
        }
    }
}

impl Meter {
    /// Starts a region. The slow reads happen before the clock starts.
    pub fn start() -> Meter {
        let busy_before = machine_busy_ns();
        let switches_before = involuntary_switches();
        let cpu_before = cpu_ns();
        let start_mono_ns = monotonic_ns();
        Meter { busy_before, cpu_before, switches_before, start_mono_ns }
    }

    /// The region's start on the [`monotonic_ns`] clock, to make task times relative.
    pub fn start_mono_ns(&self) -> u64 {
        self.start_mono_ns
    }

    /// Ends the region. The clock stops before the slow reads.
    pub fn stop(self) -> Measured {
        let wall = Duration::from_nanos(monotonic_ns().saturating_sub(self.start_mono_ns));
        let cpu = cpu_ns().saturating_sub(self.cpu_before);
        let other_cpu_ns = match (self.busy_before, machine_busy_ns()) {
            (Some(before), Some(after)) => Some(after.saturating_sub(before).saturating_sub(cpu)),
            _ => None,
        };
        let preemptions = involuntary_switches().saturating_sub(self.switches_before);
        Measured { wall, cpu_ns: cpu, other_cpu_ns, preemptions }
    }
}

/// How a process ended: "exited with status 3", "was killed by signal 11 (SIGSEGV)".
pub fn describe_status(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with status {code}");
    }
    match status.signal() {
        Some(sig) => format!("was killed by signal {sig} ({})", signal_name(sig)),
        None => status.to_string(),
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGILL => "SIGILL",
        libc::SIGINT => "SIGINT",
        libc::SIGKILL => "SIGKILL",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGTERM => "SIGTERM",
        _ => "signal",
    }
}

/// The machine's online logical CPUs, whatever this process may use of them (its
/// affinity, as `mpirun` binds a rank or `taskset` a command, is no fact about the
/// machine); at least 1.
#[cfg(feature = "mpi")]
pub fn online_cpus() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(n).ok().filter(|&n| n > 0).unwrap_or_else(num_cpus::get)
}

/// The affinity of process `pid` (the launcher of this one), to run with; `false` when
/// it cannot be read or applied, and nothing changes then.
#[cfg(feature = "mpi")]
pub fn take_affinity_of(pid: libc::pid_t) -> bool {
    // SAFETY: an all-zero cpu_set_t is a valid empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: `set` is valid and writable and its size is passed; 0 means this thread.
    unsafe { libc::sched_getaffinity(pid, size, &mut set) == 0 && libc::sched_setaffinity(0, size, &set) == 0 }
}

/// The CPUs this process may run on (its affinity mask), in order; `[0]` if unknown.
pub fn allowed_cpus() -> Vec<usize> {
    // SAFETY: an all-zero cpu_set_t is a valid empty set; sched_getaffinity writes into it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is valid and writable, and its size is passed.
    let ok = unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) } == 0;
    // SAFETY: CPU_ISSET reads the set within its size.
    let cpus: Vec<usize> =
        (0..libc::CPU_SETSIZE as usize).filter(|&c| ok && unsafe { libc::CPU_ISSET(c, &set) }).collect();
    if cpus.is_empty() { vec![0] } else { cpus }
}

/// Pins the calling thread to `cpu`; returns the affinity it had, to restore with
/// [`restore_affinity`]. Errors are ignored: an unpinned thread still runs.
pub fn pin_current_thread(cpu: usize) -> Option<libc::cpu_set_t> {
    if cpu >= libc::CPU_SETSIZE as usize {
        return None;
    }
    // SAFETY: all-zero cpu_set_t values are valid empty sets.
    let (mut old, mut new): (libc::cpu_set_t, libc::cpu_set_t) = unsafe { (std::mem::zeroed(), std::mem::zeroed()) };
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: both sets are valid and writable; 0 means the calling thread.
    unsafe {
        let saved = libc::sched_getaffinity(0, size, &mut old) == 0;
        libc::CPU_SET(cpu, &mut new);
        libc::sched_setaffinity(0, size, &new);
        saved.then_some(old)
    }
}

/// Restores an affinity saved by [`pin_current_thread`].
pub fn restore_affinity(saved: Option<libc::cpu_set_t>) {
    if let Some(set) = saved {
        // SAFETY: `set` is a valid cpu_set_t; 0 means the calling thread.
        unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    }
}

/// Waits until child `pid` has exited (without reaping it) or `deadline` passes;
/// returns whether it exited. Polls a pidfd, so an exit is seen at once.
pub fn wait_for_exit(pid: u32, deadline: std::time::Instant) -> bool {
    use std::os::fd::AsRawFd;
    let Some(fd) = child::pidfd(pid) else { return false };
    let mut pfd = [libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 }];
    child::poll_until(&mut pfd, deadline) > 0
}

/// The machine's host name, for result folder names; "unknown" if it cannot be read.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn proc_stat_busy_sums_the_busy_fields_only() {
        let text = "cpu  100 5 20 9000 40 3 2 1 0 0\ncpu0 50 2 10 4500 20 1 1 0 0 0\n";
        // user 100 + nice 5 + system 20 + irq 3 + softirq 2 + steal 1; idle and iowait excluded.
        assert_eq!(parse_proc_stat_busy(text), Some(131));
    }

    #[test]
    fn a_pinned_thread_runs_on_its_core_and_can_be_restored() {
        std::thread::spawn(|| {
            let cpus = allowed_cpus();
            let target = *cpus.last().unwrap();
            let saved = pin_current_thread(target);
            assert!(saved.is_some());
            // SAFETY: sched_getcpu has no preconditions.
            assert_eq!(unsafe { libc::sched_getcpu() }, target as i32);
            restore_affinity(saved);
            assert_eq!(allowed_cpus(), cpus);
            assert!(pin_current_thread(1 << 20).is_none(), "an impossible core is refused");
        })
        .join()
        .unwrap();
    }

    #[test]
    fn this_thread_has_a_run_delay_and_a_switch_count() {
        // Linux with schedstats: both readable; the delay never goes backwards.
        let a = thread_run_delay_ns().expect("/proc/thread-self/schedstat is readable");
        let b = task_run_delay_ns(gettid()).expect("the same through the task directory");
        assert!(b >= a);
        assert!(read_schedstat("/nonexistent").is_none());
        let _ = involuntary_switches();
    }

    #[test]
    fn proc_stat_without_cpu_line_is_none() {
        assert_eq!(parse_proc_stat_busy("intr 1 2 3\n"), None);
    }

    #[test]
    fn threads_under_ulimit_v_count_an_arena_for_each_of_the_first_8_per_core() {
        const MIB: u64 = 1 << 20;
        // 4 arenas' room for threads of 2 MiB: each of the first takes 66 MiB.
        assert_eq!(threads_in(4 * 66 * MIB - 1, 2 * MIB, 16), 3);
        assert_eq!(threads_in(0, 2 * MIB, 16), 0);
        // Past the arenas every thread takes its stack only.
        assert_eq!(threads_in(16 * 66 * MIB + 10 * MIB, 2 * MIB, 16), 21);
    }

    #[test]
    fn meter_sees_cpu_time_spent_spinning() {
        let meter = Meter::start();
        let until = Instant::now() + Duration::from_millis(30);
        let mut x = 0u64;
        while Instant::now() < until {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let m = meter.stop();
        assert!(m.wall >= Duration::from_millis(30));
        // getrusage has at worst scheduler-tick granularity; a 30 ms spin shows up.
        assert!(m.cpu_ns > 0, "spinning used no CPU time: {m:?}");
    }
}

/// Memory maps a thread of this process costs: its stack and guard page, and the
/// alternate signal stack and guard page the Rust runtime adds (4.3 measured on
/// Linux x86-64; 7 leaves room for allocator arenas).
pub const MAPS_PER_THREAD: u64 = 7;

/// How many more threads and processes can start, by the tightest limit that applies.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Room {
    /// Tasks (threads and processes) that may still start, and the limit that says so:
    /// `ulimit -u` (RLIMIT_NPROC, per user), kernel.threads-max (the machine) or the
    /// cgroup's pids.max.
    pub tasks: Option<(u64, String)>,
    /// Threads this process may still start before running out of memory maps
    /// (vm.max_map_count, per process), and that limit.
    pub threads: Option<(u64, String)>,
    /// Threads that fit in the address space `ulimit -v` leaves, and that limit.
    pub address: Option<(u64, String)>,
}

/// Reads the limits on new threads and processes that apply to this process now.
pub fn room() -> Room {
    let mut tasks: Option<(u64, String)> = None;
    let mut keep = |room: u64, limit: String| {
        if tasks.as_ref().is_none_or(|(r, _)| room < *r) {
            tasks = Some((room, limit));
        }
    };
    // SAFETY: getrlimit writes into the struct it is given; getuid has no preconditions.
    let (nproc, uid) = unsafe {
        let mut rl = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        let ok = libc::getrlimit(libc::RLIMIT_NPROC, &mut rl) == 0;
        (ok.then_some(rl.rlim_cur).filter(|&c| c != libc::RLIM_INFINITY), libc::getuid())
    };
    // The kernel does not apply RLIMIT_NPROC to root.
    if let Some(limit) = nproc.filter(|_| uid != 0) {
        let used = user_tasks(uid);
        keep(limit.saturating_sub(used), format!("ulimit -u (RLIMIT_NPROC) {limit}, {used} in use by this user"));
    }
    let threads_max = read_u64("/proc/sys/kernel/threads-max");
    let total = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|t| t.split_whitespace().nth(3)?.split('/').nth(1)?.parse::<u64>().ok());
    if let (Some(max), Some(total)) = (threads_max, total) {
        keep(max.saturating_sub(total), format!("kernel.threads-max {max}, {total} in use on this machine"));
    }
    for dir in pids_cgroups() {
        let (Some(max), Some(current)) = (read_u64(dir.join("pids.max")), read_u64(dir.join("pids.current"))) else {
            continue;
        };
        keep(max.saturating_sub(current), format!("pids.max {max} of cgroup {}, {current} in use", dir.display()));
    }
    let threads = read_u64("/proc/sys/vm/max_map_count").zip(map_count()).map(|(max, used)| {
        let room = max.saturating_sub(used) / MAPS_PER_THREAD;
        (room, format!("vm.max_map_count {max} ({used} maps in use, about {MAPS_PER_THREAD} per thread)"))
    });
    Room { tasks, threads, address: address_space_room() }
}

/// Address space a thread of this process takes: its stack (Rust's default 2 MiB, or
/// `RUST_MIN_STACK`), guard pages and the alternate signal stack, rounded up.
fn thread_address_space() -> u64 {
    let stack = std::env::var("RUST_MIN_STACK").ok().and_then(|s| s.parse::<u64>().ok()).unwrap_or(2 << 20);
    stack + (64 << 10)
}

/// Address space kept free for the allocator beyond its arenas.
const ALLOCATOR_RESERVE: u64 = 128 << 20;

/// Address space glibc reserves for each allocator arena; threads get arenas of their
/// own, up to 8 per core.
const ARENA: u64 = 64 << 20;

/// Threads that fit in the address space `ulimit -v` (RLIMIT_AS) leaves this process,
/// and that limit. A thread started beyond it fails, or, when its stack fits but the
/// Rust runtime's signal stack does not, aborts the process (an allocation failure
/// inside the standard library): so cases are held to it before measuring. Counted as
/// if each of the first 8 x cores threads took an arena of its own, which is what lets
/// no allocation fail.
fn address_space_room() -> Option<(u64, String)> {
    // SAFETY: getrlimit writes into the struct it is given.
    let limit = unsafe {
        let mut rl = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        (libc::getrlimit(libc::RLIMIT_AS, &mut rl) == 0 && rl.rlim_cur != libc::RLIM_INFINITY).then_some(rl.rlim_cur)
    }?;
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let size = status.lines().find_map(|l| l.strip_prefix("VmSize:"))?;
    let used = size.trim().trim_end_matches("kB").trim().parse::<u64>().ok()? << 10;
    let arenas = 8 * std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    let room = threads_in(limit.saturating_sub(used).saturating_sub(ALLOCATOR_RESERVE), thread_address_space(), arenas);
    Some((room, format!("ulimit -v {} MiB ({} MiB in use)", limit >> 20, used >> 20)))
}

/// Threads of `per` bytes each that fit in `free` bytes when each of the first `arenas`
/// also takes an allocator arena.
fn threads_in(free: u64, per: u64, arenas: u64) -> u64 {
    let with_arena = free / (per + ARENA);
    if with_arena < arenas { with_arena } else { arenas + (free - arenas * (per + ARENA)) / per }
}

fn read_u64(path: impl AsRef<std::path::Path>) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Lines of /proc/self/maps: the memory maps of this process.
fn map_count() -> Option<u64> {
    use std::io::BufRead;
    let file = std::fs::File::open("/proc/self/maps").ok()?;
    Some(std::io::BufReader::new(file).lines().count() as u64)
}

/// Threads of every process whose real user is `uid` (what RLIMIT_NPROC counts).
fn user_tasks(uid: libc::uid_t) -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0 };
    entries
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())))
        .filter_map(|e| std::fs::read_to_string(e.path().join("status")).ok())
        .filter_map(|status| {
            let field = |name: &str| status.lines().find_map(|l| l.strip_prefix(name)).map(str::trim);
            let real_uid: libc::uid_t = field("Uid:")?.split_whitespace().next()?.parse().ok()?;
            (real_uid == uid).then(|| field("Threads:")?.parse::<u64>().ok()).flatten()
        })
        .sum()
}

/// This process's pids cgroup and its ancestors, each of which may limit it (cgroup v2,
/// or the v1 `pids` controller).
fn pids_cgroups() -> Vec<std::path::PathBuf> {
    let Ok(text) = std::fs::read_to_string("/proc/self/cgroup") else { return Vec::new() };
    let mut dirs = Vec::new();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next()) else { continue };
        let root = match controllers {
            "" => std::path::PathBuf::from("/sys/fs/cgroup"),
            c if c.split(',').any(|c| c == "pids") => std::path::PathBuf::from("/sys/fs/cgroup/pids"),
            _ => continue,
        };
        let mut dir = root.join(path.trim_start_matches('/'));
        while dir.starts_with(&root) {
            dirs.push(dir.clone());
            if !dir.pop() {
                break;
            }
        }
    }
    dirs
}

/// Why a thread could not start, and what to do: glibc reports a stack it could not
/// map (address space, `ulimit -v`; memory maps, vm.max_map_count) with the same EAGAIN
/// as a task limit (`ulimit -u`, threads-max, pids.max), so the limits are read to tell
/// which one it was.
pub fn thread_start_hint() -> String {
    let room = room();
    if let Some((0, limit)) = &room.threads {
        return format!("out of memory maps: {limit}; lower the worker count or raise vm.max_map_count");
    }
    if let Some((0, limit)) = &room.tasks {
        return format!("no room for another thread: {limit}; lower the worker count or raise that limit");
    }
    // SAFETY: getrlimit writes into the struct it is given.
    let address_space = unsafe {
        let mut rl = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        (libc::getrlimit(libc::RLIMIT_AS, &mut rl) == 0 && rl.rlim_cur != libc::RLIM_INFINITY).then_some(rl.rlim_cur)
    };
    match address_space {
        Some(bytes) => format!(
            "no address space for its stack: ulimit -v allows {} MiB; raise ulimit -v or lower the worker count",
            bytes >> 20
        ),
        None => "raise the process limit, ulimit -u, or lower the worker count".into(),
    }
}

/// Set before `main` when standard output was closed at start.
static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Runs before Rust's runtime starts (an ELF initializer), while a closed stdout is
/// still closed: the runtime then opens /dev/null in its place, and its stdout treats
/// EBADF as success, so later every write would vanish without an error.
extern "C" fn record_closed_stdout() {
    // SAFETY: F_GETFD on descriptor 1 only reads its flags.
    if unsafe { libc::fcntl(1, libc::F_GETFD) } < 0 {
        STDOUT_CLOSED.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

#[used]
// SAFETY: an initializer that makes one system call and stores a flag; it depends on
// nothing the runtime sets up.
#[unsafe(link_section = ".init_array")]
static RECORD_CLOSED_STDOUT: extern "C" fn() = record_closed_stdout;

/// `Err` when standard output was closed when the program started (`>&-`): nothing
/// written there can reach anyone. A pipe closed later (`| head`) is not this: its
/// writes fail with EPIPE, which callers treat as the reader being done.
pub fn stdout_open() -> std::io::Result<()> {
    if STDOUT_CLOSED.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(std::io::Error::other(
            "it was closed when parbench started (>&-), so nothing can be written there; redirect it to a file",
        ));
    }
    Ok(())
}

/// Whether this process was started by `mpirun` (OpenMPI's or a PMIx launcher's
/// variables), read without initialising MPI.
pub fn under_mpirun() -> bool {
    ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK"].iter().any(|v| std::env::var_os(v).is_some())
}

/// Rows and columns of the terminal standard error is, `None` when it is not a
/// terminal (or says it is 0 wide or high).
pub fn stderr_size() -> Option<(usize, usize)> {
    let mut size = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes one winsize into the struct passed, which lives here.
    let ok = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0 && size.ws_row > 0).then_some((usize::from(size.ws_row), usize::from(size.ws_col)))
}

/// A private character device like `/dev/{name}` (`null`, `full` or `zero`), made with
/// mknod in `dir`, for tests: they never point parbench at the machine's real device
/// nodes (an old bug, run as root, once replaced them with regular files).
#[cfg(test)]
pub(crate) fn test_device(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let minor = match name {
        "null" => 3,
        "zero" => 5,
        "full" => 7,
        other => panic!("no such device in this helper: {other}"),
    };
    let path = dir.join(name);
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("no NUL in a temp path");
    // SAFETY: mknod with a valid NUL-terminated path; it makes a node and touches no memory.
    let made = unsafe { libc::mknod(c_path.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, minor)) };
    assert_eq!(
        made,
        0,
        "mknod {} (tests that need a device run as root): {}",
        path.display(),
        std::io::Error::last_os_error()
    );
    path
}

/// Sets the calling thread's timer slack (how much later than asked the kernel may end
/// its sleeps, to batch wake-ups; 50 µs by default) and returns the one it had, to
/// restore with the same call. `None` where the kernel refuses.
#[cfg(feature = "mpi")]
pub fn set_timer_slack_ns(ns: u64) -> Option<u64> {
    // SAFETY: PR_GET_TIMERSLACK takes no pointer and returns the calling thread's slack.
    let old = unsafe { libc::prctl(libc::PR_GET_TIMERSLACK) };
    // SAFETY: PR_SET_TIMERSLACK takes an integer; 0 would mean the default, so at least 1.
    let set = unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, ns.max(1) as libc::c_ulong) };
    (old >= 0 && set == 0).then_some(old as u64)
}
