//! Where outputs go: `--output`, `--plot` and `--timeline` are each checked before
//! anything is measured and written on their own afterwards.
//!
//! An output is one of three things:
//! - `-` or another name of standard output (`/dev/stdout`): standard output (the
//!   table then goes to standard error);
//! - an existing device, FIFO or `/proc/self/fd/N` (`/dev/null`, `/dev/stdout`, a
//!   named pipe): written through (appended to), never replaced;
//! - a regular file, new or existing, reached through any symlinks: the file at the
//!   end of the links is replaced atomically (the links stay), via [`crate::atomic`].
//!   Its unnamed temporary file is made at once, which proves the directory writable.
//!
//! No two outputs, and no output and input (a suite file, the worker program), may be
//! the same file: that is refused before measuring, whichever names lead to it.

use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::atomic::{TempFile, directory_of};
use crate::error::UsageError;

/// One output, checked and ready to be written once.
#[derive(Debug)]
pub struct Output {
    /// The flag that named it, for messages: `--output`.
    pub flag: &'static str,
    /// The path as given.
    pub path: PathBuf,
    target: Target,
}

#[derive(Debug)]
enum Target {
    /// `-`.
    Stdout,
    /// An existing device or FIFO: opened for writing and written through.
    Through,
    /// A regular file: `real` (symlinks followed) is replaced by `temp` when complete.
    File { real: PathBuf, temp: TempFile },
}

/// What makes two outputs (or an output and an input) the same.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Identity {
    Stdout,
    Inode(u64, u64),
    NewFile(PathBuf),
}

impl Output {
    /// Checks `path` for `flag` and prepares it, before anything is measured.
    pub fn prepare(flag: &'static str, path: &Path) -> Result<Output, UsageError> {
        let shown = path.display();
        let fail = |what: String| UsageError::new(format!("{flag} {shown}: {what}"));
        // `-`, and any name of this process's own stdout when that is a file or a pipe
        // (`/dev/stdout > r.json`): the report goes to stdout and the table to stderr,
        // so the two never overwrite or interleave with each other.
        let stdout = || {
            let (a, b) = (std::fs::metadata(path).ok()?, std::fs::metadata("/proc/self/fd/1").ok()?);
            Some((a.dev(), a.ino()) == (b.dev(), b.ino()) && !a.file_type().is_char_device())
        };
        if path.as_os_str() == "-" || stdout() == Some(true) {
            return Ok(Output { flag, path: path.to_path_buf(), target: Target::Stdout });
        }
        let target = match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => return Err(fail("is a directory; give a file name".into())),
            Ok(meta) if meta.file_type().is_block_device() => {
                return Err(fail("is a block device; parbench writes reports to files, devices and pipes only".into()));
            }
            Ok(meta) if meta.file_type().is_socket() => {
                return Err(fail("is a socket; parbench writes reports to files, devices and pipes only".into()));
            }
            Ok(meta) if !meta.is_file() => Target::Through,
            _ => match resolve(path) {
                // `/dev/stdout` and `/proc/self/fd/N` name an open file: write through it.
                Ok((_, true)) => Target::Through,
                Ok((real, false)) => {
                    let dir = directory_of(&real);
                    if !dir.is_dir() {
                        return Err(fail(missing_directory(dir)));
                    }
                    let temp = TempFile::for_target(&real)
                        .map_err(|e| fail(format!("cannot write in {}: {e}", dir.display())))?;
                    Target::File { real, temp }
                }
                Err(e) => return Err(fail(e.to_string())),
            },
        };
        if let Target::Through = target {
            let c = std::ffi::CString::new(std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()))
                .map_err(|_| fail("a path with a NUL byte".into()))?;
            // SAFETY: a NUL-terminated path; access only reads it.
            if unsafe { libc::access(c.as_ptr(), libc::W_OK) } != 0 {
                return Err(fail(format!("cannot write to it: {}", io::Error::last_os_error())));
            }
        }
        Ok(Output { flag, path: path.to_path_buf(), target })
    }

    /// Like [`Output::prepare`], for an SVG image: a file must be named `*.svg`, and an
    /// existing file must be an SVG image, so a result file is never replaced by a
    /// plot.
    pub fn prepare_svg(flag: &'static str, path: &Path) -> Result<Output, UsageError> {
        let output = Output::prepare(flag, path)?;
        if let Target::File { real, .. } = &output.target {
            let fail = |what: &str| UsageError::new(format!("{flag} {}: {what}", path.display()));
            if !real.extension().is_some_and(|e| e.eq_ignore_ascii_case("svg")) {
                return Err(fail("an SVG image needs a file name ending in .svg"));
            }
            if real.exists() && !looks_like_svg(real) {
                return Err(fail("exists and is not an SVG image; remove it or choose another name"));
            }
        }
        Ok(output)
    }

    /// Whether this output is standard output.
    pub fn is_stdout(&self) -> bool {
        matches!(self.target, Target::Stdout)
    }

    /// The file that is written: the end of the symlinks for a regular file.
    #[cfg(test)]
    pub fn written_path(&self) -> &Path {
        match &self.target {
            Target::File { real, .. } => real,
            _ => &self.path,
        }
    }

    fn identity(&self) -> Option<Identity> {
        match &self.target {
            Target::Stdout => Some(Identity::Stdout),
            // Writing two reports to /dev/null or a terminal is harmless.
            Target::Through => match std::fs::metadata(&self.path) {
                Ok(m) if m.file_type().is_char_device() => None,
                Ok(m) => Some(Identity::Inode(m.dev(), m.ino())),
                Err(_) => None,
            },
            Target::File { real, .. } => match std::fs::metadata(real) {
                Ok(m) => Some(Identity::Inode(m.dev(), m.ino())),
                Err(_) => {
                    let dir = std::fs::canonicalize(directory_of(real)).ok()?;
                    Some(Identity::NewFile(dir.join(real.file_name()?)))
                }
            },
        }
    }

    /// Writes the output with `write`: through, to standard output, or into the
    /// temporary file that then replaces the target. Errors name the flag and path.
    pub fn write(self, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), OutputError> {
        let fail = |error: io::Error| OutputError { flag: self.flag, path: self.path.clone(), error };
        match self.target {
            Target::Stdout => {
                crate::sys::stdout_open().map_err(fail)?;
                let mut out = io::BufWriter::new(io::stdout().lock());
                write(&mut out).and_then(|()| out.flush()).map_err(fail)
            }
            Target::Through => {
                // Appending: a descriptor of a regular file (`/dev/stdout > file`) may
                // already hold output, which must not be overwritten; for devices and
                // pipes it changes nothing.
                let file = std::fs::OpenOptions::new().append(true).open(&self.path).map_err(fail)?;
                let mut out = io::BufWriter::new(file);
                write(&mut out).and_then(|()| out.flush()).map_err(fail)
            }
            Target::File { real, mut temp } => {
                let mut out = io::BufWriter::new(&mut temp);
                write(&mut out).and_then(|()| out.flush()).map_err(fail)?;
                drop(out);
                crate::interrupt::saving(self.flag, &real, || temp.persist(&real)).map_err(fail)
            }
        }
    }
}

/// An output that could not be written.
#[derive(Debug)]
pub struct OutputError {
    /// The flag.
    pub flag: &'static str,
    /// The path as given.
    pub path: PathBuf,
    /// What went wrong.
    pub error: io::Error,
}

impl std::fmt::Display for OutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "writing {} {}: {}", self.flag, self.path.display(), self.error)
    }
}

/// Refuses two outputs that are the same file, and an output that is one of `inputs`
/// (what it is, and its path).
pub fn check_distinct(outputs: &[&Output], inputs: &[(String, PathBuf)]) -> Result<(), UsageError> {
    let named: Vec<(&Output, Identity)> = outputs.iter().filter_map(|o| Some((*o, o.identity()?))).collect();
    for (i, (a, id)) in named.iter().enumerate() {
        if let Some((b, _)) = named[..i].iter().find(|(_, other)| other == id) {
            let what = if *id == Identity::Stdout { "both standard output" } else { "the same file" };
            return Err(UsageError::new(format!(
                "{} {} and {} {} are {what}; give each output its own",
                b.flag,
                b.path.display(),
                a.flag,
                a.path.display()
            )));
        }
        for (what, input) in inputs {
            let same = std::fs::metadata(input).is_ok_and(|m| *id == Identity::Inode(m.dev(), m.ino()));
            if same {
                return Err(UsageError::new(format!(
                    "{} {} is {what} {}; writing it would destroy an input: choose another name",
                    a.flag,
                    a.path.display(),
                    input.display()
                )));
            }
        }
    }
    Ok(())
}

/// Why `dir` cannot hold a new file: the nearest of it and its parents that exists is
/// not a directory (`file.json/x.json`), or it does not exist, or it cannot be looked at.
fn missing_directory(dir: &Path) -> String {
    for ancestor in dir.ancestors().filter(|a| !a.as_os_str().is_empty()) {
        match std::fs::metadata(ancestor) {
            Ok(meta) if meta.is_dir() => break,
            Ok(_) => return format!("{} is not a directory; the file needs one to go in", ancestor.display()),
            Err(e) if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR) => {}
            Err(e) => return format!("directory {}: {e}", ancestor.display()),
        }
    }
    format!("directory {} does not exist; create it first", dir.display())
}

/// `path` with every symlink followed, also when the last one points to a file that
/// does not exist yet; and whether the way led through `/proc` or `/dev/fd` (a
/// descriptor of this process, not a file to replace).
fn resolve(path: &Path) -> io::Result<(PathBuf, bool)> {
    let mut p = path.to_path_buf();
    let mut via_descriptor = false;
    for _ in 0..40 {
        via_descriptor |= p.starts_with("/proc") || p.starts_with("/dev/fd");
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(&p)?;
                p = if target.is_absolute() { target } else { directory_of(&p).join(target) };
            }
            _ => return Ok((p, via_descriptor)),
        }
    }
    Err(io::Error::from_raw_os_error(libc::ELOOP))
}

/// Whether the file starts like an SVG image (an `<svg` element in its first 4 KiB).
fn looks_like_svg(path: &Path) -> bool {
    use std::io::Read;
    let mut head = Vec::new();
    let read = std::fs::File::open(path).and_then(|f| f.take(4096).read_to_end(&mut head));
    read.is_ok() && head.windows(4).any(|w| w == b"<svg")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symlink_is_followed_and_its_target_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        std::fs::write(&real, "old").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink("real.json", &link).unwrap();
        let out = Output::prepare("--output", &link).unwrap();
        assert_eq!(out.written_path(), real);
        out.write(|w| w.write_all(b"new")).unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link stays a link");
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
        // A dangling link creates its target.
        let dangling = dir.path().join("dangling.json");
        std::os::unix::fs::symlink("made.json", &dangling).unwrap();
        Output::prepare("--output", &dangling).unwrap().write(|w| w.write_all(b"made")).unwrap();
        assert_eq!(std::fs::read_to_string(dir.path().join("made.json")).unwrap(), "made");
    }

    #[test]
    fn a_descriptor_of_this_process_is_written_through_even_onto_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = std::fs::File::create(dir.path().join("held.json")).unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
        let out = Output::prepare("--output", Path::new(&format!("/proc/self/fd/{fd}"))).unwrap();
        assert!(matches!(out.target, Target::Through), "{out:?}");
    }

    #[test]
    fn devices_are_written_through() {
        let out = Output::prepare("--output", Path::new("/dev/zero")).unwrap();
        assert!(matches!(out.target, Target::Through));
        out.write(|w| w.write_all(b"gone")).unwrap();
        assert!(std::fs::metadata("/dev/zero").unwrap().file_type().is_char_device());
        let err = Output::prepare("--output", Path::new("/dev/full")).unwrap().write(|w| w.write_all(b"x"));
        assert!(err.unwrap_err().to_string().starts_with("writing --output /dev/full: "));
    }

    #[test]
    fn the_same_file_under_two_names_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.svg");
        let b = dir.path().join("sub/../a.svg");
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let (x, y) = (Output::prepare_svg("--plot", &a).unwrap(), Output::prepare_svg("--timeline", &b).unwrap());
        let err = check_distinct(&[&x, &y], &[]).unwrap_err().0;
        assert!(err.contains("--plot") && err.contains("--timeline") && err.contains("the same file"), "{err}");
        let suite = dir.path().join("s.toml");
        std::fs::write(&suite, "").unwrap();
        std::os::unix::fs::symlink(&suite, dir.path().join("alias.json")).unwrap();
        let out = Output::prepare("--output", &dir.path().join("alias.json")).unwrap();
        let err = check_distinct(&[&out], &[("the suite file".into(), suite)]).unwrap_err().0;
        assert!(err.contains("is the suite file"), "{err}");
        let (n1, n2) = (
            Output::prepare("--output", Path::new("/dev/zero")).unwrap(),
            Output::prepare("--plot", Path::new("/dev/zero")).unwrap(),
        );
        check_distinct(&[&n1, &n2], &[]).unwrap();
    }

    #[test]
    fn a_plot_must_be_an_svg_and_never_replaces_another_kind_of_file() {
        let dir = tempfile::tempdir().unwrap();
        let result = dir.path().join("r.json");
        std::fs::write(&result, "{}").unwrap();
        assert!(Output::prepare_svg("--plot", &result).unwrap_err().0.contains(".svg"));
        let fake = dir.path().join("fake.svg");
        std::fs::write(&fake, "{\"schema_version\": 2}").unwrap();
        assert!(Output::prepare_svg("--plot", &fake).unwrap_err().0.contains("is not an SVG image"));
        let real = dir.path().join("real.svg");
        std::fs::write(&real, "<?xml version=\"1.0\"?>\n<svg></svg>").unwrap();
        Output::prepare_svg("--plot", &real).unwrap();
    }
}
