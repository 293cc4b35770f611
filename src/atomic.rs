//! The one atomic writer for every file parbench writes: a file is written without a
//! name and gets its name only once complete, so an earlier file is never truncated or
//! half-replaced, and a `kill -9` in the middle leaves nothing behind.
//!
//! On Linux the file is opened with `O_TMPFILE` in the target's directory (no name at
//! all while it is written), then linked to a hidden temporary name and renamed over
//! the target, or linked straight to a new name that must not exist yet. Where
//! `O_TMPFILE` is not supported (some file systems), it is an ordinary hidden file
//! `.parbench-<host>-<pid>-<random>.tmp`; making one first removes such files left by
//! dead parbench processes of this host.
//!
//! Modes: a new file gets the usual mode (0666 minus the umask); a replaced file keeps
//! its mode.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

const PREFIX: &str = ".parbench-";
const SUFFIX: &str = ".tmp";

/// A file being written in the directory of its future name.
#[derive(Debug)]
pub struct TempFile {
    file: File,
    dir: PathBuf,
    /// Its hidden name, when it has one (no `O_TMPFILE`), registered for removal on
    /// Ctrl-C.
    named: Option<PathBuf>,
}

impl TempFile {
    /// A new file in the directory that `target` is (or will be) in.
    pub fn for_target(target: &Path) -> io::Result<TempFile> {
        TempFile::in_dir(directory_of(target))
    }

    /// A new file in `dir`.
    pub fn in_dir(dir: &Path) -> io::Result<TempFile> {
        let unnamed = OpenOptions::new().read(true).write(true).mode(0o666).custom_flags(libc::O_TMPFILE).open(dir);
        match unnamed {
            Ok(file) => Ok(TempFile { file, dir: dir.to_path_buf(), named: None }),
            // Not supported by the kernel or the file system: a hidden name instead.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL)) => {
                remove_stale(dir);
                let (file, path) = create_named(dir)?;
                crate::interrupt::register_temp_file(&path);
                Ok(TempFile { file, dir: dir.to_path_buf(), named: Some(path) })
            }
            Err(e) => Err(e),
        }
    }

    /// Gives the complete file the name `target`, replacing whatever file had it. The
    /// replaced file's mode is kept.
    pub fn persist(self, target: &Path) -> io::Result<()> {
        let mode = std::fs::metadata(target).ok().filter(|m| m.is_file()).map(|m| m.permissions().mode());
        self.prepare(mode)?;
        let named = self.name()?;
        if let Err(e) = std::fs::rename(&named, target) {
            let _ = std::fs::remove_file(&named);
            crate::interrupt::unregister_temp_file(&named);
            return Err(e);
        }
        crate::interrupt::unregister_temp_file(&named);
        sync_dir(&self.dir);
        Ok(())
    }

    /// Gives the complete file the name `target` only if no file has it: an error of
    /// kind [`io::ErrorKind::AlreadyExists`] otherwise, and nothing changes.
    pub fn persist_new(self, target: &Path) -> io::Result<()> {
        self.prepare(None)?;
        let result = match &self.named {
            None => link_unnamed(&self.file, target),
            Some(named) => {
                let linked = std::fs::hard_link(named, target);
                let _ = std::fs::remove_file(named);
                crate::interrupt::unregister_temp_file(named);
                linked
            }
        };
        result?;
        sync_dir(&self.dir);
        Ok(())
    }

    /// Flushes the contents to disk and sets the mode: `mode`, or the usual one.
    fn prepare(&self, mode: Option<u32>) -> io::Result<()> {
        self.file.sync_all()?;
        let mode = mode.unwrap_or(0o666 & !umask());
        self.file.set_permissions(std::fs::Permissions::from_mode(mode))
    }

    /// A hidden name for the file in its directory, registered for removal on Ctrl-C.
    fn name(&self) -> io::Result<PathBuf> {
        if let Some(named) = &self.named {
            return Ok(named.clone());
        }
        // A kill between this link and the rename would leave the name behind.
        remove_stale(&self.dir);
        loop {
            let path = self.dir.join(temp_name());
            crate::interrupt::register_temp_file(&path);
            match link_unnamed(&self.file, &path) {
                Ok(()) => return Ok(path),
                Err(e) => {
                    crate::interrupt::unregister_temp_file(&path);
                    if e.kind() != io::ErrorKind::AlreadyExists {
                        return Err(e);
                    }
                }
            }
        }
    }
}

impl Write for TempFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        // A file that was never persisted: an unnamed one vanishes when closed.
        if let Some(named) = &self.named {
            let _ = std::fs::remove_file(named);
            crate::interrupt::unregister_temp_file(named);
        }
    }
}

/// Writes `bytes` to `path` atomically, replacing any file there.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut temp = TempFile::for_target(path)?;
    temp.write_all(bytes)?;
    temp.persist(path)
}

/// The directory a file named `path` lives in.
pub fn directory_of(path: &Path) -> &Path {
    path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// Links an `O_TMPFILE` file to `target`; fails if `target` exists.
fn link_unnamed(file: &File, target: &Path) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let from = std::ffi::CString::new(format!("/proc/self/fd/{}", file.as_raw_fd())).expect("no NUL");
    let to = std::ffi::CString::new(target.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a path with a NUL byte"))?;
    // SAFETY: two NUL-terminated paths; linkat only reads them.
    let linked =
        unsafe { libc::linkat(libc::AT_FDCWD, from.as_ptr(), libc::AT_FDCWD, to.as_ptr(), libc::AT_SYMLINK_FOLLOW) };
    if linked == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() != Some(libc::ENOENT)
        || target.parent().is_some_and(|d| !d.as_os_str().is_empty() && !d.is_dir())
    {
        return Err(err);
    }
    // No /proc: linking by descriptor, which older kernels allow only with
    // CAP_DAC_READ_SEARCH.
    // SAFETY: an empty NUL-terminated path and a descriptor we own.
    let linked =
        unsafe { libc::linkat(file.as_raw_fd(), c"".as_ptr(), libc::AT_FDCWD, to.as_ptr(), libc::AT_EMPTY_PATH) };
    if linked == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// `.parbench-<host>-<pid>-<random>.tmp`: the host and pid say whose it is, so a
/// later run can tell a leftover of a dead process from a file being written.
fn temp_name() -> OsString {
    let host: String =
        crate::sys::hostname().chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '_' }).collect();
    let random = crate::rng::SplitMix64::new(crate::rng::fresh_seed()).next_u64();
    format!("{PREFIX}{host}-{}-{:016x}{SUFFIX}", std::process::id(), random).into()
}

fn create_named(dir: &Path) -> io::Result<(File, PathBuf)> {
    loop {
        let path = dir.join(temp_name());
        match OpenOptions::new().read(true).write(true).create_new(true).mode(0o600).open(&path) {
            Ok(file) => return Ok((file, path)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Removes hidden temporary files in `dir` left by parbench processes of this host
/// that are no longer running (killed before they could clean up).
pub fn remove_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let host = temp_name();
    let host = host.to_string_lossy();
    let host = host.rsplitn(3, '-').nth(2).unwrap_or_default().to_string();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some((owner, pid)) = owner_of(&name.to_string_lossy()) else { continue };
        // SAFETY: kill with signal 0 only checks whether the process exists.
        let dead = unsafe { libc::kill(pid, 0) } != 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        if owner == host && dead {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The host part (with the prefix) and pid of a temporary file's name.
fn owner_of(name: &str) -> Option<(String, libc::pid_t)> {
    let stem = name.strip_suffix(SUFFIX)?;
    let mut parts = stem.rsplitn(3, '-');
    let (_random, pid, host) = (parts.next()?, parts.next()?, parts.next()?);
    host.strip_prefix(PREFIX)?;
    Some((host.to_string(), pid.parse().ok().filter(|&p| p > 0)?))
}

/// Makes a rename or link in `dir` durable; best effort.
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
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

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn a_write_replaces_the_file_and_keeps_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.txt");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
        assert_eq!(names(dir.path()), ["x.txt"], "no temporary file left");
    }

    #[test]
    fn a_file_being_written_has_no_name() {
        let dir = tempfile::tempdir().unwrap();
        let mut temp = TempFile::in_dir(dir.path()).unwrap();
        temp.write_all(b"half").unwrap();
        assert_eq!(names(dir.path()), Vec::<String>::new());
        drop(temp);
        assert_eq!(names(dir.path()), Vec::<String>::new());
    }

    #[test]
    fn persist_new_never_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        std::fs::write(&path, "first").unwrap();
        let mut temp = TempFile::in_dir(dir.path()).unwrap();
        temp.write_all(b"second").unwrap();
        let err = temp.persist_new(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "first");
        let mut temp = TempFile::in_dir(dir.path()).unwrap();
        temp.write_all(b"third").unwrap();
        temp.persist_new(&dir.path().join("y.json")).unwrap();
        assert_eq!(names(dir.path()), ["x.json", "y.json"]);
    }

    #[test]
    fn stale_temporary_files_of_dead_processes_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mine = temp_name().to_string_lossy().into_owned();
        let (host, pid) = owner_of(&mine).unwrap();
        assert_eq!(pid, std::process::id() as libc::pid_t);
        // A pid above the kernel's limit (4194304) never runs.
        let dead = format!("{host}-99999999-0123456789abcdef{SUFFIX}");
        let other_host = format!("{PREFIX}elsewhere-99999999-0123456789abcdef{SUFFIX}");
        for name in [&mine, &dead, &other_host, &"unrelated.tmp".to_string()] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        remove_stale(dir.path());
        let mut expected = vec![mine, other_host, "unrelated.tmp".to_string()];
        expected.sort();
        assert_eq!(names(dir.path()), expected);
    }
}
