//! Per-sample state shared by all tasks of one sample: cache-line-padded atomic slots
//! and a mutex-protected counter.
//!
//! The slots live on the heap for in-process runners and in shared memory for the
//! process runner, so that child processes really contend on the same cache line,
//! like Python's `multiprocessing.Value`. The mutex only exists inside one process;
//! workloads that need it refuse the process runner.
//!
//! The shared memory never has a name: a memfd (or an unnamed file in `/dev/shm` on
//! kernels without memfd) whose descriptor the children inherit, so a `kill -9` of
//! parbench leaves nothing behind in `/dev/shm`. Its pages are reserved when it is
//! made, so a full `/dev/shm` or memory is an error naming it, not a SIGBUS in a
//! worker at its first increment.
//!
//! Workers that share no memory at all (the mpi runner's ranks) reach the slots
//! through [`RemoteSlots`], which the runner's layer implements (one-sided MPI
//! operations on a window); a workload that supports them uses [`SharedState::load`],
//! [`SharedState::store`] and [`SharedState::fetch_add`], which work on every kind of
//! storage, rather than [`SharedState::slots`].

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;

use crossbeam::utils::CachePadded;
use memmap2::MmapMut;

type Slot = CachePadded<AtomicU64>;

/// Slots that live in another process, possibly on another machine, reached by
/// messages or one-sided operations (the mpi runner's window). Each call completes
/// before it returns.
pub trait RemoteSlots: Send + Sync {
    /// Number of slots.
    fn len(&self) -> usize;
    /// Whether there are no slots.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Reads slot `i` (a plain read: not ordered with other workers' writes).
    fn load(&self, i: usize) -> u64;
    /// Writes `value` to slot `i` (a plain write: another worker's may land between
    /// this worker's load and store).
    fn store(&self, i: usize, value: u64);
    /// Adds `value` to slot `i` atomically; returns the value before.
    fn fetch_add(&self, i: usize, value: u64) -> u64;
}

enum Storage {
    Heap(Box<[Slot]>),
    Mapped {
        map: MmapMut,
        len: usize,
        // The parent's descriptor, open while the sample runs so children inherit it.
        file: Option<File>,
    },
    Remote(Box<dyn RemoteSlots>),
}

/// Shared state of one sample.
pub struct SharedState {
    storage: Storage,
    /// A counter behind a `std::sync::Mutex`, for the counter's `mutex` mode.
    pub mutex: Mutex<u64>,
}

impl SharedState {
    /// `slots` zeroed slots on the heap.
    pub fn heap(slots: usize) -> SharedState {
        let storage = Storage::Heap((0..slots).map(|_| Slot::new(AtomicU64::new(0))).collect());
        SharedState { storage, mutex: Mutex::new(0) }
    }

    /// `slots` zeroed slots in new, nameless shared memory whose descriptor
    /// ([`SharedState::inherited_fd`]) child processes inherit and map with
    /// [`SharedState::open_inherited`]. Its pages are reserved now.
    pub fn shared_memory(slots: usize) -> std::io::Result<SharedState> {
        let bytes = bytes_for(slots)?;
        let file = nameless_file()?;
        reserve(&file, bytes)?;
        let map = map_file(&file)?;
        Ok(SharedState { storage: Storage::Mapped { map, len: slots, file: Some(file) }, mutex: Mutex::new(0) })
    }

    /// Slots reached through `remote` (no memory shared with this process).
    pub fn remote(remote: Box<dyn RemoteSlots>) -> SharedState {
        SharedState { storage: Storage::Remote(remote), mutex: Mutex::new(0) }
    }

    /// Number of slots.
    pub fn len(&self) -> usize {
        match &self.storage {
            Storage::Remote(remote) => remote.len(),
            _ => self.slots().len(),
        }
    }

    /// Whether there are no slots.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads slot `i` (relaxed, or a remote read).
    #[inline]
    pub fn load(&self, i: usize) -> u64 {
        match &self.storage {
            Storage::Remote(remote) => remote.load(i),
            _ => self.slots()[i].load(Relaxed),
        }
    }

    /// Writes slot `i` (relaxed, or a remote write).
    #[inline]
    pub fn store(&self, i: usize, value: u64) {
        match &self.storage {
            Storage::Remote(remote) => remote.store(i, value),
            _ => self.slots()[i].store(value, Relaxed),
        }
    }

    /// Adds `value` to slot `i` atomically (relaxed, or a remote atomic); returns the
    /// value before.
    #[inline]
    pub fn fetch_add(&self, i: usize, value: u64) -> u64 {
        match &self.storage {
            Storage::Remote(remote) => remote.fetch_add(i, value),
            _ => self.slots()[i].fetch_add(value, Relaxed),
        }
    }

    /// The descriptor children inherit, for shared memory made by this process.
    pub fn inherited_fd(&self) -> Option<RawFd> {
        match &self.storage {
            Storage::Mapped { file: Some(file), .. } => Some(file.as_raw_fd()),
            _ => None,
        }
    }

    /// Maps `slots` slots of the shared memory a parent made with
    /// [`SharedState::shared_memory`], inherited as descriptor `fd`. The descriptor
    /// itself is left open (it was not opened here); the mapping uses a duplicate.
    /// Every size is checked: the slot count comes from another process.
    pub fn open_inherited(fd: RawFd, slots: usize) -> std::io::Result<SharedState> {
        let bytes = bytes_for(slots)?;
        if fd < 3 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("descriptor {fd} is not shared memory"),
            ));
        }
        // SAFETY: F_DUPFD_CLOEXEC on any integer is safe; a bad descriptor is an error.
        let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
        if dup < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `dup` was just returned by fcntl and is owned by nothing else.
        let file = unsafe { File::from_raw_fd(dup) };
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("descriptor {fd} is not shared memory"),
            ));
        }
        if meta.len() < bytes {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("shared memory holds {} bytes, {slots} slots need {bytes}", meta.len()),
            ));
        }
        let map = map_file(&file)?;
        Ok(SharedState { storage: Storage::Mapped { map, len: slots, file: None }, mutex: Mutex::new(0) })
    }

    /// The slots, each on its own cache line, in this process's memory.
    ///
    /// # Panics
    /// For remote slots ([`SharedState::remote`]), which are not in this process's
    /// memory: use [`SharedState::load`], [`SharedState::store`] and
    /// [`SharedState::fetch_add`].
    pub fn slots(&self) -> &[Slot] {
        match &self.storage {
            Storage::Heap(slots) => slots,
            Storage::Remote(_) => std::panic::panic_any(super::TaskFailure(
                "this workload reads its shared slots as memory, and its workers share none (the mpi runner's \
                 ranks): it must use SharedState::load, store and fetch_add"
                    .into(),
            )),
            Storage::Mapped { map, len, .. } => {
                let ptr = map.as_ptr() as *const Slot;
                debug_assert_eq!(ptr as usize % std::mem::align_of::<Slot>(), 0);
                debug_assert!(map.len() >= len * std::mem::size_of::<Slot>());
                // SAFETY: the mapping is page-aligned (so aligned for Slot), holds at
                // least `len` slots (checked, without overflow, when mapped), was
                // zero-filled when reserved, and AtomicU64 has no invalid bit
                // patterns. It lives as long as `self`.
                unsafe { std::slice::from_raw_parts(ptr, *len) }
            }
        }
    }
}

/// Bytes of `slots` slots, or an error when that does not fit in a file size.
fn bytes_for(slots: usize) -> std::io::Result<u64> {
    slots
        .checked_mul(std::mem::size_of::<Slot>())
        .and_then(|b| u64::try_from(b).ok())
        .filter(|&b| b <= i64::MAX as u64)
        .ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{slots} shared slots are too many"))
        })
}

/// A new file without a name whose descriptor child processes inherit.
fn nameless_file() -> std::io::Result<File> {
    // No MFD_CLOEXEC: the descriptor must survive the children's exec.
    // SAFETY: a NUL-terminated name and valid flags.
    let fd = unsafe { libc::memfd_create(c"parbench-shared".as_ptr(), 0) };
    if fd >= 0 {
        // SAFETY: memfd_create returned a new descriptor that nothing else owns.
        return Ok(unsafe { File::from_raw_fd(fd) });
    }
    // Kernels without memfd (before 3.17): an unnamed file, made inheritable.
    let dir = std::path::Path::new("/dev/shm");
    let file = if dir.is_dir() { tempfile::tempfile_in(dir) } else { tempfile::tempfile() }?;
    // SAFETY: F_SETFD on a descriptor we own; clearing FD_CLOEXEC only.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETFD, 0) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(file)
}

/// Allocates every page of `file` now, so that touching one later cannot fail with
/// SIGBUS when shared memory runs out.
fn reserve(file: &File, bytes: u64) -> std::io::Result<()> {
    if bytes == 0 {
        return Ok(());
    }
    // SAFETY: posix_fallocate on a descriptor we own, with a checked length.
    let err = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, bytes as libc::off_t) };
    match err {
        0 => Ok(()),
        libc::EOPNOTSUPP | libc::EINVAL => file.set_len(bytes),
        err => {
            let os = std::io::Error::from_raw_os_error(err);
            let why = match err {
                libc::ENOSPC | libc::ENOMEM => "shared memory is full",
                libc::EFBIG => "that is over the file size limit, ulimit -f",
                _ => "the system refused",
            };
            Err(std::io::Error::new(os.kind(), format!("cannot reserve {bytes} bytes of shared memory, {why}: {os}")))
        }
    }
}

fn map_file(file: &File) -> std::io::Result<MmapMut> {
    // SAFETY: the memory is private to this run (made by this parbench), only accessed
    // through atomics, so concurrent modification by other processes is expected and
    // sound, and it is never truncated while mapped.
    unsafe { MmapMut::map_mut(file) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    #[test]
    fn shared_slots_are_shared_between_two_mappings() {
        let parent = SharedState::shared_memory(3).unwrap();
        let child = SharedState::open_inherited(parent.inherited_fd().unwrap(), 3).unwrap();
        child.slots()[2].fetch_add(5, Ordering::Relaxed);
        assert_eq!(parent.slots()[2].load(Ordering::Relaxed), 5);
        assert_eq!(parent.slots()[0].load(Ordering::Relaxed), 0);
    }

    #[test]
    fn shared_memory_has_no_name_and_its_descriptor_is_inherited() {
        let parent = SharedState::shared_memory(1).unwrap();
        let fd = parent.inherited_fd().unwrap();
        let target = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
        let target = target.to_string_lossy();
        assert!(target.starts_with("/memfd:") || target.ends_with("(deleted)"), "{target}");
        // SAFETY: F_GETFD on a descriptor this test owns through `parent`.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        assert_eq!(flags & libc::FD_CLOEXEC, 0, "children must inherit it");
    }

    #[test]
    fn slot_counts_from_another_process_are_checked() {
        let parent = SharedState::shared_memory(1).unwrap();
        let fd = parent.inherited_fd().unwrap();
        assert!(SharedState::open_inherited(fd, 4).is_err(), "more slots than the memory holds");
        // 2^57 slots of 128 bytes overflow a 64-bit size: refused, not wrapped around.
        let err = SharedState::open_inherited(fd, 1 << 57).err().unwrap();
        assert!(err.to_string().contains("too many"), "{err}");
        assert!(SharedState::open_inherited(fd, usize::MAX).is_err());
        assert!(SharedState::open_inherited(0, 1).is_err(), "stdin is not shared memory");
        assert!(SharedState::open_inherited(9999, 1).is_err(), "no such descriptor");
    }
}
