//! Text from outside parbench (another program's stderr, strings read from result
//! files: hostnames, CPU models, labels, notes) made safe for a terminal. A crafted
//! result file must not be able to clear the screen, set the title or fake a line of
//! the verdict, so every such string passes through [`terminal_safe`] before it is
//! printed. Leaf module: it imports nothing of the crate, so every layer may use it.

use std::borrow::Cow;

/// Whether `c` would act on a terminal or on how text is shown rather than be shown:
/// control characters (escape, carriage return, newline, ...) and the bidirectional
/// overrides and isolates, which reorder what follows them.
fn acts(c: char) -> bool {
    c.is_control() || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every character that would act on a terminal written as a Rust escape
/// (`\u{1b}`, `\n`); borrowed when there is none.
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    if !s.chars().any(acts) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.chars().map(|c| if acts(c) { c.escape_default().collect() } else { c.to_string() }).collect())
}

/// [`terminal_safe`], cut after `max` characters (marked with `...`): for lines of
/// another program's output, which can be of any length.
pub fn terminal_safe_cut(s: &str, max: usize) -> String {
    let clean = terminal_safe(s);
    match clean.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", &clean[..i]),
        None => clean.into_owned(),
    }
}

/// The columns `s` takes on a terminal: its characters, less the colour and style
/// sequences (`ESC [ ... m`) parbench itself adds. Untrusted text never carries an
/// escape by then ([`terminal_safe`] wrote it out), so these are all ours.
pub fn visible_width(s: &str) -> usize {
    let mut width = 0;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters... final byte in @..~.
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
        } else {
            width += 1;
        }
    }
    width
}

/// `text` folded at spaces into lines of at most `width` visible columns (see
/// [`visible_width`]), later lines indented by `indent` spaces; a word longer than a
/// line stands alone. For every command's sentences under a table.
pub fn wrap(text: &str, width: usize, indent: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for word in text.split(' ') {
        let w = visible_width(word);
        let has_word = used > indent || (lines.is_empty() && used > 0);
        if has_word && used + 1 + w > width {
            lines.push(std::mem::replace(&mut line, " ".repeat(indent)));
            used = indent;
        } else if has_word {
            line.push(' ');
            used += 1;
        }
        line.push_str(word);
        used += w;
    }
    lines.push(line);
    lines
}

/// `a`, `a and b`, `a, b and c`.
pub fn names<T: std::fmt::Display>(items: &[T]) -> String {
    let items: Vec<String> = items.iter().map(ToString::to_string).collect();
    match items.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_ignore_colour_and_wrapping_keeps_lines_within_the_width() {
        assert_eq!(visible_width("\u{1b}[1;32mrayon\u{1b}[0m ±"), 7);
        let text = "threads kept only 0.99 cores busy with 2 workers: its workers mostly shared one core.";
        let lines = wrap(text, 40, 2);
        assert!(lines.iter().all(|l| l.chars().count() <= 40), "{lines:?}");
        assert_eq!(lines.join(" ").split_whitespace().collect::<Vec<_>>(), text.split_whitespace().collect::<Vec<_>>());
        assert!(lines[1].starts_with("  "));
        assert_eq!(wrap("short", 40, 2), vec!["short"]);
        // Painted words count by what shows: the same breaks as without the colour.
        let painted = text.replace("threads", "\u{1b}[33mthreads\u{1b}[0m");
        let plain: Vec<String> =
            wrap(&painted, 40, 2).iter().map(|l| l.replace("\u{1b}[33m", "").replace("\u{1b}[0m", "")).collect();
        assert_eq!(plain, lines);
        // A word longer than the line stands alone, and nothing is lost.
        assert_eq!(wrap("a verylongwordindeed b", 8, 2), ["a", "  verylongwordindeed", "  b"]);
    }

    #[test]
    fn escape_sequences_newlines_and_bidi_overrides_are_shown_not_acted_on() {
        assert_eq!(terminal_safe("host\u{1b}]0;pwned\u{7}\u{1b}[2J"), "host\\u{1b}]0;pwned\\u{7}\\u{1b}[2J");
        assert_eq!(terminal_safe("a\nno regression\r"), "a\\nno regression\\r");
        assert_eq!(terminal_safe("x\u{202e}gnp.exe"), "x\\u{202e}gnp.exe");
        assert!(matches!(terminal_safe("plain · ünïcode 4w"), Cow::Borrowed(_)));
        assert_eq!(terminal_safe_cut("abcdef", 3), "abc...");
        assert_eq!(terminal_safe_cut("a\u{1b}", 10), "a\\u{1b}");
    }
}
