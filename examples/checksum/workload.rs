//! `checksum`: per-chunk checksums of a generated buffer, the kind of workload a user
//! writes for their own code. The buffer is the set-up: it is generated once per
//! process (in parbench and in every worker process), outside every timed region.
//!
//! A task hashes its chunk (64-bit FNV-1a, eight bytes per loop step, read from the
//! buffer). The independent answer never reads the buffer: it recomputes each byte
//! from the generator's formula and hashes it one byte at a time, once, on first use.

use std::sync::OnceLock;

use parbench::{Param, Params, SharedState, TaskContext, Throughput, Verification, Workload, WorkloadSpec};

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// The `checksum` declaration: its parameters and how to build it.
pub fn spec() -> WorkloadSpec {
    WorkloadSpec::new("checksum", "per-chunk checksums (FNV-1a) of a generated buffer", |p: &Params| {
        Ok(Checksum::new(p.uint("size-mib") as usize, p.uint("chunks") as usize, p.seed()))
    })
    .param(Param::uint("size-mib", 64).range(1, 4096).smoke(2u64).help("Size of the generated buffer, MiB"))
    .param(Param::uint("chunks", 64).range(1, 65_536).help("Number of chunks, one task each"))
}

/// Byte `i` of the buffer for `seed`: a SplitMix64 step of `seed + i`.
fn byte_at(seed: u64, i: u64) -> u8 {
    let mut z = seed.wrapping_add(i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) as u8
}

/// The buffer and the chunking.
pub struct Checksum {
    data: Vec<u8>,
    chunks: usize,
    seed: u64,
    expected: OnceLock<Vec<u64>>,
}

impl Checksum {
    /// Generates `size_mib` MiB from `seed`, split into `chunks` chunks.
    pub fn new(size_mib: usize, chunks: usize, seed: u64) -> Checksum {
        let data = (0..(size_mib << 20) as u64).map(|i| byte_at(seed, i)).collect();
        Checksum { data, chunks, seed, expected: OnceLock::new() }
    }

    fn chunk(&self, task: usize) -> std::ops::Range<usize> {
        (task * self.data.len() / self.chunks)..((task + 1) * self.data.len() / self.chunks)
    }
}

impl Workload for Checksum {
    fn task_count(&self) -> usize {
        self.chunks
    }

    fn run_task(&self, task: usize, _ctx: &TaskContext<'_>) -> u64 {
        let bytes = std::hint::black_box(&self.data[self.chunk(task)]);
        let mut hash = FNV_OFFSET;
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            for &b in word {
                hash = (hash ^ u64::from(b)).wrapping_mul(FNV_PRIME);
            }
        }
        for &b in words.remainder() {
            hash = (hash ^ u64::from(b)).wrapping_mul(FNV_PRIME);
        }
        hash
    }

    fn throughput(&self, task: usize) -> Option<Throughput> {
        Some(Throughput::Bytes(self.chunk(task).len() as u64))
    }

    fn verify(&self, checksums: &[u64], _shared: &SharedState) -> Verification {
        let expected = self.expected.get_or_init(|| {
            (0..self.chunks)
                .map(|task| {
                    self.chunk(task)
                        .fold(FNV_OFFSET, |h, i| (h ^ u64::from(byte_at(self.seed, i as u64))).wrapping_mul(FNV_PRIME))
                })
                .collect()
        });
        let what = format!("FNV-1a recomputed byte by byte from the generator ({} bytes)", self.data.len());
        Verification::each(checksums, self.chunks, |t| expected[t], &what)
    }
}
