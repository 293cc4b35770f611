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

/// Whether `word` (less the punctuation after it) is a unit, which stays on the line of
/// the number before it: `0 B`, `(4 s)`, never a line that starts `B.`.
fn is_unit(word: &str) -> bool {
    let unit = word.trim_end_matches([',', '.', ';', ':', ')']);
    matches!(unit, "ns" | "µs" | "us" | "ms" | "s" | "min" | "B" | "KiB" | "MiB" | "GiB" | "TiB")
}

/// `text` folded at spaces into lines of at most `width` visible columns (see
/// [`visible_width`]), later lines indented by `indent` spaces; a word longer than a
/// line stands alone, and a number keeps its unit ([`is_unit`]). For every command's
/// sentences under a table.
pub fn wrap(text: &str, width: usize, indent: usize) -> Vec<String> {
    // Leading spaces stay: the first line's own indent.
    let body = text.trim_start_matches(' ');
    let lead = text.len() - body.len();
    let mut words: Vec<String> = Vec::new();
    for word in body.split(' ') {
        match words.last_mut() {
            Some(number) if is_unit(word) && number.ends_with(|c: char| c.is_ascii_digit()) => {
                number.push(' ');
                number.push_str(word);
            }
            _ => words.push(word.to_string()),
        }
    }
    let mut lines = Vec::new();
    let mut line = " ".repeat(lead);
    let (mut used, mut empty) = (lead, true);
    for word in &words {
        let w = visible_width(word);
        if !empty && used + 1 + w > width {
            lines.push(std::mem::replace(&mut line, " ".repeat(indent)));
            used = indent;
        } else if !empty {
            line.push(' ');
            used += 1;
        }
        line.push_str(word);
        used += w;
        empty = false;
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
    fn a_number_keeps_its_unit_on_its_line() {
        // Was "... async 0" and "  B." at 80 columns, and "(4" and "  s);".
        let text = "The samples added at most: serial 0 B, threads 8.0 KiB, async 0 B; within --max-time (4 s); 12 ms.";
        for width in 12..60 {
            let lines = wrap(text, width, 2);
            let starts = |l: &String| l.trim_start().split(' ').next().is_some_and(is_unit);
            assert!(!lines.iter().skip(1).any(starts), "{width}: {lines:?}");
            assert!(lines.iter().all(|l| l.chars().count() <= width), "{width}: {lines:?}");
            assert_eq!(
                lines.join(" ").split_whitespace().collect::<Vec<_>>(),
                text.split_whitespace().collect::<Vec<_>>()
            );
        }
        assert_eq!(wrap("cores 2 tasks", 8, 0), ["cores 2", "tasks"], "only units are kept with a number");
        assert_eq!(wrap("  base: a b", 9, 4), ["  base: a", "    b"], "a line's own indent stays");
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
