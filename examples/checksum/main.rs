//! A complete program benchmarking its own workload with parbench: per-chunk checksums
//! of a generated buffer under the serial, threads, rayon and process runners.
//!
//! ```text
//! cargo run --release -p checksum -- run checksum --threads 4
//! cargo run --release -p checksum -- scale checksum --threads 1,2,4 --plot c.svg
//! cargo run --release -p checksum -- run checksum --size-mib 256 --format json --output a.json
//! cargo run --release -p checksum -- list
//! ```

mod workload;

fn main() -> std::process::ExitCode {
    parbench::main(parbench::Registry::new().register(workload::spec()))
}
