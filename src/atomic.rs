//! Atomic file writes: a temporary file in the target's directory, renamed over the
//! target once complete, so an earlier file is never truncated or half-replaced.
//!
//! The one decision a reader would otherwise get wrong: temporary files are created
//! 0600, so before the rename the file gets the mode of the file it replaces, or the
//! usual mode for new files (0666 minus the umask).

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// A new temporary file next to `path`, registered for removal on Ctrl-C.
pub fn temp_for(path: &Path) -> io::Result<tempfile::NamedTempFile> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let temp = tempfile::Builder::new().prefix(".parbench-").suffix(".tmp").tempfile_in(dir)?;
    crate::interrupt::register_temp_file(temp.path());
    Ok(temp)
}

/// Flushes `temp` to disk, gives it the right mode and renames it over `path`.
pub fn persist(temp: tempfile::NamedTempFile, path: &Path) -> io::Result<()> {
    let temp_path = temp.path().to_path_buf();
    temp.as_file().sync_all()?;
    let mode = std::fs::metadata(path).map(|m| m.permissions().mode()).unwrap_or(0o666 & !umask());
    temp.as_file().set_permissions(std::fs::Permissions::from_mode(mode))?;
    temp.persist(path).map_err(|e| e.error)?;
    crate::interrupt::unregister_temp_file(&temp_path);
    Ok(())
}

/// Writes `bytes` to `path` atomically.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut temp = temp_for(path)?;
    io::Write::write_all(&mut temp, bytes)?;
    persist(temp, path)
}

/// The process umask, read from /proc (reading it with umask(2) would change it).
fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Umask:").map(|v| v.trim().to_string())))
        .and_then(|v| u32::from_str_radix(&v, 8).ok())
        .unwrap_or(0o022)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_replaces_the_file_and_keeps_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.txt");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
    }
}
