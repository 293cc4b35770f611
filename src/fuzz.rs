//! Helpers for the property tests of the readers (result files, suite files, the
//! worker protocol): inputs made of arbitrary bytes or of mutations of valid ones, and
//! an allocator that measures what reading them allocates.
//!
//! Every property has a fixed case budget ([`config`]) and writes no regression files,
//! so `.ci/run` stays fast and leaves nothing behind.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use proptest::prelude::*;

/// A fixed case budget, no failure files.
pub fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// One change to a byte string.
#[derive(Clone, Debug)]
pub enum Mutation {
    /// Replace the byte at a position.
    Set(usize, u8),
    /// Remove up to `len` bytes at a position.
    Delete(usize, usize),
    /// Insert bytes at a position.
    Insert(usize, Vec<u8>),
    /// Copy a stretch (at most `len` bytes) of the input to another position.
    Duplicate(usize, usize, usize),
    /// Cut everything from a position on.
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Bytes that matter to JSON, TOML and the protocol, and any byte at all.
    let interesting = prop_oneof![
        Just(b'"'),
        Just(b'{'),
        Just(b'}'),
        Just(b'['),
        Just(b']'),
        Just(b','),
        Just(b':'),
        Just(b'='),
        Just(b'\n'),
        Just(b'-'),
        Just(b'9'),
        Just(b'0'),
        Just(b'e'),
        Just(b' '),
        any::<u8>(),
    ];
    prop_oneof![
        (any::<usize>(), interesting).prop_map(|(at, b)| Mutation::Set(at, b)),
        (any::<usize>(), 1usize..64).prop_map(|(at, len)| Mutation::Delete(at, len)),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..16)).prop_map(|(at, b)| Mutation::Insert(at, b)),
        (any::<usize>(), any::<usize>(), 1usize..256).prop_map(|(from, to, len)| Mutation::Duplicate(from, to, len)),
        any::<usize>().prop_map(Mutation::Truncate),
        // Numbers that overflow or size things: 2^32 - 1, 2^57, 2^64, negative.
        (
            any::<usize>(),
            prop_oneof![
                Just(b"4294967295".to_vec()),
                Just(b"144115188075855872".to_vec()),
                Just(b"18446744073709551616".to_vec()),
                Just(b"-5".to_vec()),
                Just(b"1e308".to_vec()),
            ]
        )
            .prop_map(|(at, b)| Mutation::Insert(at, b)),
    ]
}

/// 1 to 8 mutations.
pub fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    proptest::collection::vec(mutation(), 1..8)
}

/// `valid` with `mutations` applied, positions taken modulo the length.
pub fn mutate(valid: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut v = valid.to_vec();
    for m in mutations {
        let at = |i: usize, v: &Vec<u8>| if v.is_empty() { 0 } else { i % (v.len() + 1) };
        match m {
            Mutation::Set(i, b) if !v.is_empty() => {
                let i = i % v.len();
                v[i] = *b;
            }
            Mutation::Set(..) => {}
            Mutation::Delete(i, len) => {
                let i = at(*i, &v);
                let end = (i + len).min(v.len());
                v.drain(i..end);
            }
            Mutation::Insert(i, bytes) => {
                let i = at(*i, &v);
                v.splice(i..i, bytes.iter().copied());
            }
            Mutation::Duplicate(from, to, len) => {
                let from = at(*from, &v);
                let piece: Vec<u8> = v[from..(from + len).min(v.len())].to_vec();
                let to = at(*to, &v);
                v.splice(to..to, piece);
            }
            Mutation::Truncate(i) => {
                let i = at(*i, &v);
                v.truncate(i);
            }
        }
    }
    v
}

/// A parbench error is one line.
pub fn one_line(message: &str) -> bool {
    !message.is_empty() && !message.contains('\n')
}

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

/// The test binary's allocator: the system's, counting each thread's live bytes.
pub struct Counting;

fn note(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call is passed to the system allocator unchanged; only counters in
// thread-local `Cell`s (const-initialised, so touching them never allocates) change.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size() as isize);
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size() as isize);
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note(-(layout.size() as isize));
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size as isize - layout.size() as isize);
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs `f` and returns its result with the most bytes this thread held at once
/// during it, beyond what it held before.
pub fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let start = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(start));
    let value = f();
    let peak = PEAK.with(Cell::get);
    (value, (peak - start).max(0) as usize)
}

mod tests {
    use super::*;

    #[test]
    fn the_allocator_sees_what_a_thread_holds() {
        let (_, peak) = peak_of(|| std::hint::black_box(vec![0u8; 1 << 20]).len());
        assert!(peak >= 1 << 20, "{peak}");
        assert_eq!(mutate(b"abc", &[Mutation::Set(4, b'x'), Mutation::Truncate(2)]), b"ax");
        assert_eq!(mutate(b"abc", &[Mutation::Insert(1, vec![b'-']), Mutation::Delete(0, 1)]), b"-bc");
    }
}
