//! Where the command layer's output goes: the view a terminal (or a pipe) allows, and
//! writing to stdout for the commands that measure nothing.

use std::io::{self, Write};

use crate::cli::Display;
use crate::error::UsageError;
use crate::report;

/// How the table is shown on stdout (or on stderr, `on_stderr`): `display`'s flags,
/// with the width and colour the terminal and the environment allow.
pub(crate) fn view(display: Display, on_stderr: bool) -> report::View {
    use std::io::IsTerminal;
    // Under mpirun, rank 0's output reaches the user through mpirun's forwarding, on a
    // pseudo-terminal of its own whatever the user's output is (a file, a pipe): treated
    // as no terminal, so no colour or width unless asked for.
    let is_terminal =
        !crate::sys::under_mpirun() && if on_stderr { io::stderr().is_terminal() } else { io::stdout().is_terminal() };
    let var = |name: &str| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
    let terminal = report::Terminal {
        is_terminal,
        // The terminal's size as stdout sees it; on stderr, COLUMNS says. So it does
        // under mpirun, which relays rank 0's output through a pseudo-terminal of its
        // own whose size is not the user's terminal's.
        width: if on_stderr || crate::sys::under_mpirun() {
            None
        } else {
            comfy_table::Table::new().width().map(usize::from)
        },
        columns: var("COLUMNS"),
        no_color: var("NO_COLOR"),
        clicolor_force: var("CLICOLOR_FORCE"),
    };
    report::View::resolve(display.color, display.style, display.detail, &terminal)
}

/// For the commands that measure nothing (`compare`, `baseline`, `list`): writes to
/// stdout with `write` and flushes. `... | head` ends quietly (a closed stdout is not
/// an error); any other failure is exit 2, as nothing was measured that it could lose.
pub(crate) fn to_stdout(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), UsageError> {
    let mut out = io::stdout().lock();
    match crate::sys::stdout_open().and_then(|()| write(&mut out)).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(UsageError::new(format!("writing to stdout: {e}"))),
        Ok(()) => Ok(()),
    }
}

/// A line of parbench's own on stderr (an error, a notice): on a terminal, folded at
/// spaces to its width, later lines indented (the terminal would break it mid-word);
/// elsewhere the one line, for logs and scripts to match.
pub(crate) fn for_stderr(line: &str) -> String {
    use std::io::IsTerminal;
    let terminal = io::stderr().is_terminal() && !crate::sys::under_mpirun();
    fold(line, terminal.then(crate::sys::stderr_size).flatten().map(|(_, columns)| columns))
}

/// `line` folded to `width` columns (at least 20), one column short as a line that
/// fills the terminal wraps on some; unchanged without a width.
fn fold(line: &str, width: Option<usize>) -> String {
    match width {
        Some(columns) => crate::text::wrap(line, columns.max(21) - 1, 2).join("\n"),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn stderr_lines_fold_at_spaces_on_a_terminal_and_stay_one_line_elsewhere() {
        let error = "parbench: error: invalid value 'x' for '--timeout <DURATION>': \"x\" is not a duration between \
                     1ms and 24h (e.g. 60, 2.5, 500ms, 10m, 2h); see --help";
        assert_eq!(super::fold(error, None), error, "piped: one line");
        let folded = super::fold(error, Some(80));
        assert!(folded.lines().count() > 1 && folded.lines().all(|l| l.chars().count() < 80), "{folded}");
        assert!(folded.lines().skip(1).all(|l| l.starts_with("  ")), "{folded}");
        assert_eq!(folded.split_whitespace().collect::<Vec<_>>(), error.split_whitespace().collect::<Vec<_>>());
    }
}
