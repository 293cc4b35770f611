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

#[cfg(test)]
mod tests {
    use super::*;

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
