//! How the terminal table is shown: its width, colour, character set and how much it
//! says. A [`View`] is plain data: the command layer decides it from the flags, the
//! environment and the terminal ([`View::resolve`]), and rendering stays a pure
//! function of the report and the view.

use std::borrow::Cow;

/// Characters for the table and units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Style {
    /// Unicode: the micro and plus-minus signs, box-drawing rules.
    #[default]
    Unicode,
    /// ASCII only, for logs and terminals without Unicode: `us`, `+/-`, `-` and `=`.
    Ascii,
}

/// When to colour the output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// When stdout is a terminal, unless `NO_COLOR` is set (or `CLICOLOR_FORCE` forces it).
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// How much the table says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Detail {
    /// The answer line(s) only.
    Quiet,
    /// The answer, the table and one note per cause.
    #[default]
    Normal,
    /// Everything: the full sentence behind the answer and each runner's own notes.
    Verbose,
}

/// A colour or emphasis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Paint {
    /// A regression, a failure.
    Red,
    /// An improvement, the fastest runner.
    Green,
    /// A warning, an unstable cell.
    Yellow,
    /// The answer.
    Bold,
}

/// How the terminal table is shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct View {
    /// Columns to fit; `None`: the full table, sentences folded at 100 columns.
    pub width: Option<usize>,
    /// Colour and emphasis with terminal escape sequences.
    pub color: bool,
    /// Characters.
    pub style: Style,
    /// How much is said.
    pub detail: Detail,
}

/// Where the output goes, as the command layer finds it.
#[derive(Clone, Debug, Default)]
pub struct Terminal {
    /// Stdout is a terminal.
    pub is_terminal: bool,
    /// Its width, when it is one and says.
    pub width: Option<usize>,
    /// `COLUMNS`.
    pub columns: Option<String>,
    /// `NO_COLOR`.
    pub no_color: Option<String>,
    /// `CLICOLOR_FORCE`.
    pub clicolor_force: Option<String>,
}

/// Sentences fold here when the width is not known.
pub const DEFAULT_WIDTH: usize = 100;

impl View {
    /// The view for `terminal` with these flags: the terminal's width when stdout is
    /// one, else `COLUMNS` when set, else none (the full table); colour as `color`
    /// says, `auto` meaning a terminal, not with `NO_COLOR` set (non-empty), and always
    /// with `CLICOLOR_FORCE` set (not `0`).
    pub fn resolve(color: ColorChoice, style: Style, detail: Detail, terminal: &Terminal) -> View {
        let set = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty());
        let color = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto if set(&terminal.no_color) => false,
            ColorChoice::Auto if set(&terminal.clicolor_force) && terminal.clicolor_force.as_deref() != Some("0") => {
                true
            }
            ColorChoice::Auto => terminal.is_terminal,
        };
        let columns = terminal.columns.as_deref().and_then(|c| c.trim().parse::<usize>().ok()).filter(|&c| c > 0);
        let width = if terminal.is_terminal { terminal.width.or(columns) } else { columns };
        View { width: width.map(|w| w.max(20)), color, style, detail }
    }

    /// The width sentences fold at.
    pub fn text_width(&self) -> usize {
        self.width.unwrap_or(DEFAULT_WIDTH)
    }

    /// `text` in `paint`, when colour is on.
    pub fn paint(&self, paint: Paint, text: &str) -> String {
        if !self.color || text.is_empty() {
            return text.to_string();
        }
        let code = match paint {
            Paint::Red => "1;31",
            Paint::Green => "1;32",
            Paint::Yellow => "33",
            Paint::Bold => "1",
        };
        format!("\u{1b}[{code}m{text}\u{1b}[0m")
    }

    /// `text` in the view's characters: in ASCII, `µ` is `u`, `±` is `+/-`, `·` is `-`.
    pub fn chars<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if self.style == Style::Unicode || text.is_ascii() {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            match c {
                'µ' | 'μ' => out.push('u'),
                '±' => out.push_str("+/-"),
                '·' | '─' | '–' | '—' => out.push('-'),
                '═' => out.push('='),
                '×' => out.push('x'),
                '…' => out.push_str("..."),
                '≤' => out.push_str("<="),
                '≥' => out.push_str(">="),
                c => out.push(c),
            }
        }
        Cow::Owned(out)
    }

    /// A rule of `width` columns: light above and below a table, heavy under its header.
    pub fn rule(&self, width: usize, heavy: bool) -> String {
        let c = match (self.style, heavy) {
            (Style::Unicode, false) => '─',
            (Style::Unicode, true) => '═',
            (Style::Ascii, false) => '-',
            (Style::Ascii, true) => '=',
        };
        std::iter::repeat_n(c, width).collect()
    }

    /// `text` folded to the view's width in its characters, later lines indented.
    pub fn wrap(&self, text: &str, indent: usize) -> Vec<String> {
        crate::text::wrap(&self.chars(text), self.text_width(), indent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(is_terminal: bool, env: &[(&str, &str)]) -> Terminal {
        let get = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string());
        Terminal {
            is_terminal,
            width: is_terminal.then_some(120),
            columns: get("COLUMNS"),
            no_color: get("NO_COLOR"),
            clicolor_force: get("CLICOLOR_FORCE"),
        }
    }

    #[test]
    fn colour_follows_the_flag_the_terminal_and_the_environment() {
        let color = |choice, t: &Terminal| View::resolve(choice, Style::Unicode, Detail::Normal, t).color;
        assert!(color(ColorChoice::Auto, &term(true, &[])));
        assert!(!color(ColorChoice::Auto, &term(false, &[])), "piped: no colour by default");
        assert!(!color(ColorChoice::Auto, &term(true, &[("NO_COLOR", "1")])));
        assert!(color(ColorChoice::Auto, &term(true, &[("NO_COLOR", "")])), "an empty NO_COLOR is unset");
        assert!(color(ColorChoice::Auto, &term(false, &[("CLICOLOR_FORCE", "1")])));
        assert!(!color(ColorChoice::Auto, &term(false, &[("CLICOLOR_FORCE", "0")])));
        assert!(!color(ColorChoice::Auto, &term(false, &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")])));
        assert!(color(ColorChoice::Always, &term(false, &[("NO_COLOR", "1")])));
        assert!(!color(ColorChoice::Never, &term(true, &[("CLICOLOR_FORCE", "1")])));
    }

    #[test]
    fn the_width_is_the_terminal_s_else_columns_else_none() {
        let width = |t: &Terminal| View::resolve(ColorChoice::Auto, Style::Unicode, Detail::Normal, t).width;
        assert_eq!(width(&term(true, &[("COLUMNS", "80")])), Some(120));
        assert_eq!(width(&term(false, &[("COLUMNS", "80")])), Some(80));
        assert_eq!(width(&term(false, &[("COLUMNS", "x")])), None);
        assert_eq!(width(&term(false, &[])), None);
    }

    #[test]
    fn ascii_style_spells_units_and_rules_in_ascii() {
        let v = View { style: Style::Ascii, ..View::default() };
        assert_eq!(v.chars("812 µs ± 3 µs · x"), "812 us +/- 3 us - x");
        assert_eq!(v.rule(3, true), "===");
        assert_eq!(View::default().chars("±"), "±");
        assert_eq!(v.paint(Paint::Red, "x"), "x", "no colour unless asked");
        let c = View { color: true, ..v };
        assert_eq!(c.paint(Paint::Red, "x"), "\u{1b}[1;31mx\u{1b}[0m");
    }
}
