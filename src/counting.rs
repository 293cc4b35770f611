//! An optional counting global allocator a user installs in their bench, so the table
//! and the JSON show allocations and bytes per task under each runner (divan's
//! allocation profiler), and allocator contention under threads becomes visible.
//!
//! The counters are per thread (`const` thread-locals without destructors, so reading
//! them never allocates or registers anything), so counting adds no shared cache line
//! to contend on. A task's count is the difference of its thread's counters around it;
//! a process-runner child sends its total in its last reply.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// The system allocator, counting each thread's allocations and bytes. Install it in
/// your bench binary:
///
/// ```
/// #[global_allocator]
/// static ALLOC: parbench::CountingAlloc = parbench::CountingAlloc;
/// # fn main() {}
/// ```
pub struct CountingAlloc;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    static BYTES: Cell<u64> = const { Cell::new(0) };
}

static INSTALLED: AtomicBool = AtomicBool::new(false);

fn count(bytes: usize) {
    if !INSTALLED.load(Relaxed) {
        INSTALLED.store(true, Relaxed);
    }
    // During thread teardown the thread-locals may be gone: then nothing is counted.
    let _ = ALLOCATIONS.try_with(|a| a.set(a.get() + 1));
    let _ = BYTES.try_with(|b| b.set(b.get() + bytes as u64));
}

// SAFETY: every call is passed to the system allocator unchanged; counting only
// touches plain thread-local integers, which never allocate.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: the caller's contract is System's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations and bytes allocated so far by the calling thread, or `None` when no
/// [`CountingAlloc`] is installed.
pub(crate) fn thread_counts() -> Option<(u64, u64)> {
    INSTALLED.load(Relaxed).then(|| (ALLOCATIONS.with(Cell::get), BYTES.with(Cell::get)))
}
