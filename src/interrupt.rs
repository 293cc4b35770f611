//! Ctrl-C, SIGTERM and SIGHUP (a closed terminal): kill and reap every worker process,
//! remove half-written temporary files, and exit with status 130, saying which
//! outputs were already saved.
//!
//! The one decision a reader would otherwise get wrong: the handler runs on its own
//! thread (signal-hook's iterator), not in signal context, so it may lock, kill, wait
//! and print. Everything that must be cleaned up is registered here while it exists;
//! the process runner registers each child right after spawning it. Children also ask
//! the kernel to die with their parent (see `sys::child::die_with_parent`), which covers the
//! window between spawn and registration and a SIGKILL of parbench itself.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Set in signal context the moment SIGINT, SIGTERM or SIGHUP arrives, before the handler
/// thread runs: a Ctrl-C reaches the workers too, and the main thread must not report
/// their deaths as a benchmark failure.
static INTERRUPTED: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// Whether an interrupt has arrived; the handler thread is then about to exit 130.
pub fn interrupted() -> bool {
    INTERRUPTED.get().is_some_and(|f| f.load(Ordering::SeqCst))
}

struct Registry {
    pids: Vec<u32>,
    keepers: Vec<u32>,
    temp_files: Vec<PathBuf>,
    /// Outputs written completely: flag and path.
    saved: Vec<(&'static str, PathBuf)>,
}

static REGISTRY: Mutex<Registry> =
    Mutex::new(Registry { pids: Vec::new(), keepers: Vec::new(), temp_files: Vec::new(), saved: Vec::new() });

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Held (shared) from a spawn until its child is registered, and (exclusively) by the
/// handler before it kills: a child that exists but is not registered yet would
/// otherwise be missed, left to die of its death signal after parbench exited, unreaped.
static SPAWNING: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// What a spawned child is, for the handler.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Spawned {
    /// A worker process: killed on interrupt with its process group (each worker leads
    /// one), and reaped.
    Worker,
    /// A keeper ([`crate::sys::keeper`], a `command` task's): on interrupt it is
    /// stopped, which kills everything below it, and reaped.
    Keeper,
}

/// Spawns `command` and registers the child before an interrupt can be handled.
/// Spawns on many threads run at once; only the handler waits for them.
pub fn spawn(command: &mut std::process::Command, what: Spawned) -> std::io::Result<std::process::Child> {
    let _spawning = SPAWNING.read().unwrap_or_else(|e| e.into_inner());
    let child = command.spawn()?;
    let mut reg = registry();
    match what {
        Spawned::Worker => reg.pids.push(child.id()),
        Spawned::Keeper => reg.keepers.push(child.id()),
    }
    Ok(child)
}

/// Forgets a child that has been reaped.
pub fn unregister_child(pid: u32) {
    registry().pids.retain(|&p| p != pid);
}

/// Forgets a keeper that has been reaped.
pub fn unregister_keeper(pid: u32) {
    registry().keepers.retain(|&p| p != pid);
}

/// Records a temporary file to delete on interrupt.
pub fn register_temp_file(path: &Path) {
    registry().temp_files.push(path.to_path_buf());
}

/// Forgets a temporary file that was persisted or deleted.
pub fn unregister_temp_file(path: &Path) {
    registry().temp_files.retain(|p| p != path);
}

/// Held while an output gets its name and is recorded as saved: the handler waits for
/// it, so an interrupt never exits between the two and misreports the output.
static SAVING: Mutex<()> = Mutex::new(());

/// Runs `persist` (which gives the output of `flag` its name at `path`) and, if it
/// succeeds, records it as saved, so that an interrupt after it says so and where.
pub fn saving<T>(flag: &'static str, path: &Path, persist: impl FnOnce() -> std::io::Result<T>) -> std::io::Result<T> {
    let _saving = SAVING.lock().unwrap_or_else(|e| e.into_inner());
    let result = persist()?;
    registry().saved.push((flag, path.to_path_buf()));
    Ok(result)
}

/// Installs the SIGINT/SIGTERM/SIGHUP handler thread. Call once, from the CLI.
pub fn install() -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let flag = INTERRUPTED.get_or_init(|| Arc::new(AtomicBool::new(false)));
    for signal in [SIGINT, SIGTERM, SIGHUP] {
        signal_hook::flag::register(signal, Arc::clone(flag))?;
    }
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new().name("parbench-signals".into()).spawn(move || {
        if let Some(signal) = signals.forever().next() {
            let _saving = SAVING.lock().unwrap_or_else(|e| e.into_inner());
            // Spawns in flight finish and register first; none starts after this.
            let _spawning = SPAWNING.write().unwrap_or_else(|e| e.into_inner());
            let reg = registry();
            for &pid in &reg.pids {
                // SAFETY: kill and waitpid on a worker we spawned and have not reaped yet
                // (children are unregistered only after being waited for). Each leads its
                // own process group: the group goes too, with what its tasks started.
                unsafe {
                    libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
                    libc::kill(pid as libc::pid_t, libc::SIGKILL);
                    libc::waitpid(pid as libc::pid_t, std::ptr::null_mut(), 0);
                }
            }
            for &pid in &reg.keepers {
                crate::sys::keeper::stop(pid);
            }
            for &pid in &reg.keepers {
                // SAFETY: waitpid on a keeper we spawned and have not reaped; it exits
                // once everything below it is dead. The task's own wait may reap it
                // first, and then this returns at once.
                unsafe { libc::waitpid(pid as libc::pid_t, std::ptr::null_mut(), 0) };
            }
            for path in &reg.temp_files {
                let _ = std::fs::remove_file(path);
            }
            let name = match signal {
                SIGINT => "SIGINT",
                SIGHUP => "SIGHUP",
                _ => "SIGTERM",
            };
            let saved: Vec<String> =
                reg.saved.iter().map(|(flag, path)| format!("{flag} {}", path.display())).collect();
            if saved.is_empty() {
                eprintln!("parbench: interrupted by {name}; every worker process was stopped");
            } else {
                eprintln!(
                    "parbench: interrupted by {name} after the result was saved ({}); every worker process was stopped",
                    saved.join(", ")
                );
            }
            std::process::exit(130);
        }
    })?;
    Ok(())
}
