//! Per-sample state shared by all tasks of one sample: cache-line-padded atomic slots
//! and a mutex-protected counter.
//!
//! The slots live on the heap for in-process runners and in a memory-mapped file for
//! the process runner, so that child processes really contend on the same cache line,
//! like Python's `multiprocessing.Value`. The mutex only exists inside one process;
//! workloads that need it refuse the process runner.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use crossbeam::utils::CachePadded;
use memmap2::MmapMut;

type Slot = CachePadded<AtomicU64>;

enum Storage {
    Heap(Box<[Slot]>),
    Mapped {
        map: MmapMut,
        len: usize,
        // Keeps the parent's file alive (and deletes it when the sample ends).
        _file: Option<tempfile::NamedTempFile>,
    },
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

    /// `slots` zeroed slots in a new memory-mapped temporary file; returns the file's
    /// path for child processes to map with [`SharedState::open_mapped`].
    pub fn create_mapped(slots: usize) -> std::io::Result<(SharedState, PathBuf)> {
        let dir = Path::new("/dev/shm");
        let file = if dir.is_dir() {
            tempfile::Builder::new().prefix("parbench-").tempfile_in(dir)
        } else {
            tempfile::Builder::new().prefix("parbench-").tempfile()
        }?;
        file.as_file().set_len(bytes_for(slots))?;
        let path = file.path().to_path_buf();
        crate::interrupt::register_temp_file(&path);
        let map = map_file(file.as_file())?;
        let storage = Storage::Mapped { map, len: slots, _file: Some(file) };
        Ok((SharedState { storage, mutex: Mutex::new(0) }, path))
    }

    /// Maps the slots a parent created with [`SharedState::create_mapped`].
    pub fn open_mapped(path: &Path, slots: usize) -> std::io::Result<SharedState> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let actual = file.metadata()?.len();
        if actual < bytes_for(slots) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("shared file {} holds {actual} bytes, need {}", path.display(), bytes_for(slots)),
            ));
        }
        let storage = Storage::Mapped { map: map_file(&file)?, len: slots, _file: None };
        Ok(SharedState { storage, mutex: Mutex::new(0) })
    }

    /// The slots, each on its own cache line.
    pub fn slots(&self) -> &[Slot] {
        match &self.storage {
            Storage::Heap(slots) => slots,
            Storage::Mapped { map, len, .. } => {
                let ptr = map.as_ptr() as *const Slot;
                debug_assert_eq!(ptr as usize % std::mem::align_of::<Slot>(), 0);
                // SAFETY: the mapping is page-aligned (so aligned for Slot), holds at
                // least `len` slots (checked when mapped), was zero-filled by set_len,
                // and AtomicU64 has no invalid bit patterns. It lives as long as `self`.
                unsafe { std::slice::from_raw_parts(ptr, *len) }
            }
        }
    }
}

impl Drop for SharedState {
    fn drop(&mut self) {
        if let Storage::Mapped { _file: Some(file), .. } = &self.storage {
            crate::interrupt::unregister_temp_file(file.path());
        }
    }
}

fn bytes_for(slots: usize) -> u64 {
    (slots * std::mem::size_of::<Slot>()) as u64
}

fn map_file(file: &std::fs::File) -> std::io::Result<MmapMut> {
    // SAFETY: the file is private to this run (a fresh temp file), only accessed
    // through atomics, so concurrent modification by other processes is expected and
    // sound, and it is never truncated while mapped.
    unsafe { MmapMut::map_mut(file) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    #[test]
    fn mapped_slots_are_shared_between_two_mappings() {
        let (parent, path) = SharedState::create_mapped(3).unwrap();
        let child = SharedState::open_mapped(&path, 3).unwrap();
        child.slots()[2].fetch_add(5, Ordering::Relaxed);
        assert_eq!(parent.slots()[2].load(Ordering::Relaxed), 5);
        assert_eq!(parent.slots()[0].load(Ordering::Relaxed), 0);
    }

    #[test]
    fn mapped_file_is_removed_with_the_parent_state() {
        let (parent, path) = SharedState::create_mapped(1).unwrap();
        assert!(path.exists());
        drop(parent);
        assert!(!path.exists());
    }

    #[test]
    fn opening_a_short_file_is_an_error() {
        let (_parent, path) = SharedState::create_mapped(1).unwrap();
        assert!(SharedState::open_mapped(&path, 4).is_err());
    }
}
