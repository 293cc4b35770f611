//! The environment fingerprint stored with every result: what machine, OS, toolchain
//! and parbench produced the numbers.
//!
//! `available_parallelism` is the number that bounds speedup: it honours CPU affinity
//! and cgroup quotas, unlike the logical core count, and the two differ in containers.

use serde::{Deserialize, Serialize};

/// Facts about the machine and build that produced a result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Fingerprint {
    /// CPU model name from /proc/cpuinfo.
    pub cpu_model: String,
    /// Logical cores (hardware threads) as `num_cpus` counts them: affinity and cgroup
    /// quota applied, so usually the available parallelism. Kept so, since `compare`'s
    /// machine class has always used it; an MPI node's count is the machine's.
    pub logical_cores: usize,
    /// Physical cores.
    pub physical_cores: usize,
    /// Cores this process may use (affinity and cgroup limits applied).
    pub available_parallelism: usize,
    /// Operating system family (`linux`).
    pub os: String,
    /// Distribution name, if known.
    pub os_release: Option<String>,
    /// Kernel release.
    pub kernel: Option<String>,
    /// CPU architecture.
    pub arch: String,
    /// Host name.
    pub hostname: String,
    /// rustc that built parbench.
    pub rustc: String,
    /// parbench version.
    pub parbench_version: String,
    /// Git commit parbench was built from, if known.
    pub git_commit: Option<String>,
    /// `RAYON_NUM_THREADS` if set (parbench's pools ignore it, but it is recorded).
    pub rayon_num_threads: Option<String>,
    /// Whether parbench, and so normally the code it measured (a bench target shares
    /// its profile), was built with optimisations; written only when it was not.
    #[serde(default = "optimised", skip_serializing_if = "is_optimised")]
    pub optimised: bool,
    /// The MPI world the run was launched in (`mpirun`), if any: its library and every
    /// node of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mpi: Option<MpiWorld>,
}

/// The MPI world of a run under `mpirun`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MpiWorld {
    /// The MPI library's version line (`MPI_Get_library_version`).
    pub library: String,
    /// Ranks in the world (rank 0 runs parbench, the others are the mpi runner's
    /// workers).
    pub ranks: usize,
    /// Every node of the world, once, ordered by host name.
    pub nodes: Vec<Node>,
}

/// One machine of an MPI world.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Node {
    /// Host name.
    pub host: String,
    /// CPU model name.
    pub cpu_model: String,
    /// Logical cores of the node, online (not those the rank was bound to).
    pub logical_cores: usize,
    /// Ranks of the world on it.
    pub ranks: usize,
}

impl Fingerprint {
    /// The nodes the run used: its MPI world's, or this one machine.
    pub fn nodes(&self) -> Vec<(String, String, usize)> {
        match &self.mpi {
            Some(world) => world.nodes.iter().map(|n| (n.host.clone(), n.cpu_model.clone(), n.logical_cores)).collect(),
            None => vec![(self.hostname.clone(), self.cpu_model.clone(), self.logical_cores)],
        }
    }
}

/// This machine as a node of an MPI world, as JSON (each rank sends its own to rank 0).
#[cfg(feature = "mpi")]
pub fn this_node() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let node = Node {
        host: crate::sys::hostname(),
        cpu_model: cpu_model(&cpuinfo).unwrap_or_else(|| "unknown".into()),
        logical_cores: crate::sys::online_cpus(),
        ranks: 1,
    };
    serde_json::to_string(&node).expect("a node is JSON")
}

/// The MPI world of this run, from the nodes its ranks described.
#[cfg(feature = "mpi")]
fn mpi_world() -> Option<MpiWorld> {
    let world = crate::worker::mpi::world()?;
    let mut nodes: Vec<Node> = Vec::new();
    for text in &world.nodes {
        let Ok(node) = serde_json::from_str::<Node>(text) else { continue };
        match nodes.iter_mut().find(|n| n.host == node.host) {
            Some(known) => known.ranks += 1,
            None => nodes.push(node),
        }
    }
    nodes.sort();
    Some(MpiWorld { library: world.library.clone(), ranks: world.size, nodes })
}

#[cfg(not(feature = "mpi"))]
fn mpi_world() -> Option<MpiWorld> {
    None
}

fn optimised() -> bool {
    true
}

fn is_optimised(optimised: &bool) -> bool {
    *optimised
}

/// Reads the fingerprint of this machine and build.
pub fn collect() -> Fingerprint {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    Fingerprint {
        cpu_model: cpu_model(&cpuinfo).unwrap_or_else(|| "unknown".into()),
        logical_cores: num_cpus::get(),
        physical_cores: num_cpus::get_physical(),
        available_parallelism: available_parallelism(),
        os: std::env::consts::OS.to_string(),
        os_release: os_release(),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_string()),
        arch: std::env::consts::ARCH.to_string(),
        hostname: crate::sys::hostname(),
        rustc: env!("PARBENCH_RUSTC_VERSION").to_string(),
        parbench_version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: option_env!("PARBENCH_GIT_COMMIT").filter(|s| !s.is_empty()).map(String::from),
        rayon_num_threads: std::env::var("RAYON_NUM_THREADS").ok(),
        optimised: !cfg!(debug_assertions),
        mpi: mpi_world(),
    }
}

/// Cores this process may use; 1 if unknown.
pub fn available_parallelism() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("model name") || l.starts_with("Model") || l.starts_with("Hardware"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
}

fn os_release() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    let line = text.lines().find(|l| l.starts_with("PRETTY_NAME="))?;
    Some(line.trim_start_matches("PRETTY_NAME=").trim_matches('"').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_model_is_read_and_whitespace_normalised() {
        let info = "processor\t: 0\nmodel name\t: AMD  EPYC 7B13 64-Core Processor\n";
        assert_eq!(cpu_model(info).as_deref(), Some("AMD EPYC 7B13 64-Core Processor"));
        assert_eq!(cpu_model("processor: 0\n"), None);
    }

    #[test]
    fn this_machine_has_at_least_one_core() {
        let f = collect();
        assert!(f.logical_cores >= 1 && f.physical_cores >= 1 && f.available_parallelism >= 1);
        assert_eq!(f.parbench_version, env!("CARGO_PKG_VERSION"));
    }
}
