//! Helpers shared by the integration tests.

/// Pids of `parent`'s children, running or zombie, from /proc.
#[allow(dead_code)]
pub fn children_of(parent: u32) -> Vec<u32> {
    let mut kids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // Fields after the parenthesised command name: state, ppid, ...
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        if after.split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok()) == Some(parent) {
            kids.push(pid);
        }
    }
    kids
}

/// A private character device like `/dev/{name}` (`null`, `full` or `zero`), made with
/// mknod in `dir`: tests never point parbench at the machine's real device nodes (an
/// old bug, run as root, once replaced them with regular files).
#[allow(dead_code)]
pub fn device(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let minor = match name {
        "null" => 3,
        "zero" => 5,
        "full" => 7,
        other => panic!("no such device in this helper: {other}"),
    };
    let path = dir.join(name);
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: mknod with a valid NUL-terminated path; makes a node, touches no memory.
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
