//! The `parbench` binary: the built-in workloads, handed to the shared entry point.

fn main() -> std::process::ExitCode {
    parbench::main(parbench::Registry::with_builtins())
}
