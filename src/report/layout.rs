//! Fitting a table to a width: columns give up first their long titles, then, in the
//! order of their ranks, their longer cells or their place, until the table fits.
//! Widths are visible columns ([`crate::text::visible_width`]), so colour costs none.
//! For every table parbench prints on a terminal (`run`, `scale`, `compare`).

use super::view::{Paint, View};
use crate::text::visible_width;

/// One column: its titles and its cells, each longest first.
#[derive(Clone, Debug, Default)]
pub struct Column {
    /// Titles, longest first: the second is taken once anything must give, the last
    /// once the cells take their shortest form.
    pub titles: Vec<String>,
    /// Per row, the cell's forms, longest first.
    pub cells: Vec<Vec<String>>,
    /// Per row, a paint for the cell (empty: none).
    pub paints: Vec<Option<Paint>>,
    /// Aligned right (numbers).
    pub right: bool,
    /// At this rank the cells take their shortest form (`None`: never).
    pub shorten: Option<u8>,
    /// At this rank the column is left out (`None`: never).
    pub drop: Option<u8>,
    /// When nothing else is left to give, its cells fold at spaces over several lines.
    pub wrap: bool,
}

impl Column {
    /// A column of single-form cells, kept at any width.
    pub fn new(title: &str, cells: Vec<String>) -> Column {
        Column {
            titles: vec![title.to_string()],
            cells: cells.into_iter().map(|c| vec![c]).collect(),
            ..Column::default()
        }
    }

    /// A shorter title (see [`Column::titles`]).
    pub fn or_title(mut self, title: &str) -> Column {
        self.titles.push(title.to_string());
        self
    }

    /// Aligned right.
    pub fn right(mut self) -> Column {
        self.right = true;
        self
    }

    /// Left out at `rank`.
    pub fn drop_at(mut self, rank: u8) -> Column {
        self.drop = Some(rank);
        self
    }

    /// Cells in their shortest form at `rank`.
    pub fn shorten_at(mut self, rank: u8) -> Column {
        self.shorten = Some(rank);
        self
    }

    /// Cells that fold at spaces once nothing else can give.
    pub fn wrap(mut self) -> Column {
        self.wrap = true;
        self
    }
}

/// `text` folded at spaces into lines of at most `width` visible columns (a word
/// longer than that stands alone).
fn fold(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && visible_width(&line) + 1 + visible_width(word) > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines
}

/// The longest word of a column's cells and title: as narrow as it can fold.
fn narrowest(c: &Column, f: Form) -> usize {
    let words = |t: &str| t.split(' ').map(visible_width).max().unwrap_or(0);
    (0..c.cells.len()).map(|r| words(cell(c, r, f))).chain([visible_width(title(c, f))]).max().unwrap_or(0)
}

/// Which form each column takes.
#[derive(Clone, Copy)]
struct Form {
    short_title: bool,
    short_cells: bool,
    shown: bool,
}

/// The full title; the second once titles shorten; the last once the cells do.
fn title(c: &Column, f: Form) -> &str {
    let last = c.titles.len().saturating_sub(1);
    let i = if f.short_cells {
        last
    } else if f.short_title {
        last.min(1)
    } else {
        0
    };
    c.titles.get(i).map_or("", String::as_str)
}

fn cell(c: &Column, row: usize, f: Form) -> &str {
    let forms = &c.cells[row];
    let t = if f.short_cells { forms.last() } else { forms.first() };
    t.map_or("", String::as_str)
}

fn width_of(c: &Column, f: Form) -> usize {
    (0..c.cells.len()).map(|r| visible_width(cell(c, r, f))).chain([visible_width(title(c, f))]).max().unwrap_or(0)
}

/// Gap between columns.
const GAP: usize = 2;

fn total(columns: &[Column], forms: &[Form]) -> usize {
    let shown: Vec<usize> = columns.iter().zip(forms).filter(|(_, f)| f.shown).map(|(c, f)| width_of(c, *f)).collect();
    1 + shown.iter().sum::<usize>() + GAP * shown.len().saturating_sub(1)
}

/// The table's lines: a rule, the titles, a heavy rule, the rows, a rule; fitted to
/// the view's width when it has one (as far as the columns allow), else at full
/// length. Cells are in the view's characters already.
pub fn render(columns: &[Column], view: &View) -> Vec<String> {
    render_grouped(columns, &[], view)
}

/// [`render`] with rows in groups: each `(row, heading)` puts the heading on a line of
/// its own above that row (folded to the width), in place of a column that would
/// repeat it on every row of the group.
pub fn render_grouped(columns: &[Column], headings: &[(usize, String)], view: &View) -> Vec<String> {
    let mut forms = vec![Form { short_title: false, short_cells: false, shown: true }; columns.len()];
    if let Some(width) = view.width {
        // (rank, column, drop?) in the order things give; titles first of all.
        let mut steps: Vec<(u8, usize, bool)> = Vec::new();
        for (i, c) in columns.iter().enumerate() {
            steps.extend(c.shorten.map(|r| (r, i, false)));
            steps.extend(c.drop.map(|r| (r, i, true)));
        }
        steps.sort_by_key(|s| s.0);
        if total(columns, &forms) > width {
            forms.iter_mut().for_each(|f| f.short_title = true);
        }
        for (_, i, drop) in steps {
            if total(columns, &forms) <= width {
                break;
            }
            if drop { forms[i].shown = false } else { forms[i].short_cells = true }
        }
    }
    let mut shown: Vec<(&Column, Form, usize)> =
        columns.iter().zip(&forms).filter(|(_, f)| f.shown).map(|(c, f)| (c, *f, width_of(c, *f))).collect();
    let sum = |shown: &[(&Column, Form, usize)]| {
        1 + shown.iter().map(|s| s.2).sum::<usize>() + GAP * shown.len().saturating_sub(1)
    };
    // Still too wide: the folding columns give, one column at a time from the widest,
    // so they end about as wide as each other (the row is as tall as its tallest
    // cell), none below its longest word.
    if let Some(width) = view.width {
        while sum(&shown) > width {
            let widest = (0..shown.len())
                .filter(|&i| {
                    shown[i].0.wrap && shown[i].2 > narrowest(shown[i].0, Form { short_cells: true, ..shown[i].1 })
                })
                .max_by_key(|&i| shown[i].2);
            let Some(i) = widest else { break };
            if !shown[i].1.short_cells {
                // Its shortest title and cells first.
                shown[i].1.short_cells = true;
                shown[i].2 = shown[i].2.min(width_of(shown[i].0, shown[i].1));
            } else {
                shown[i].2 -= 1;
            }
        }
    }
    let line = |texts: Vec<(String, usize, bool)>| -> String {
        let mut out = String::from(" ");
        for (i, (text, w, right)) in texts.iter().enumerate() {
            if i > 0 {
                out.push_str(&" ".repeat(GAP));
            }
            let pad = " ".repeat(w.saturating_sub(visible_width(text)));
            if *right {
                out.push_str(&pad);
                out.push_str(text);
            } else {
                out.push_str(text);
                out.push_str(&pad);
            }
        }
        out.trim_end().to_string()
    };
    let width = sum(&shown);
    let mut lines = vec![view.rule(width, false)];
    lines.push(line(shown.iter().map(|(c, f, w)| (title(c, *f).to_string(), *w, c.right)).collect()));
    lines.push(view.rule(width, true));
    let rows = columns.first().map_or(0, |c| c.cells.len());
    for r in 0..rows {
        for (_, heading) in headings.iter().filter(|(row, _)| *row == r) {
            let room = view.width.map_or(usize::MAX, |w| w.saturating_sub(1).max(1));
            lines.extend(fold(heading, room).into_iter().map(|l| format!(" {l}")));
        }
        let folded: Vec<Vec<String>> = shown
            .iter()
            .map(|(c, f, w)| {
                let text = cell(c, r, *f);
                let parts = if visible_width(text) > *w { fold(text, *w) } else { vec![text.to_string()] };
                match c.paints.get(r).copied().flatten() {
                    Some(p) => parts.iter().map(|t| view.paint(p, t)).collect(),
                    None => parts,
                }
            })
            .collect();
        let height = folded.iter().map(Vec::len).max().unwrap_or(1);
        for k in 0..height {
            lines.push(line(
                folded
                    .iter()
                    .zip(&shown)
                    .map(|(parts, (c, _, w))| (parts.get(k).cloned().unwrap_or_default(), *w, c.right))
                    .collect(),
            ));
        }
    }
    lines.push(view.rule(width, false));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns() -> Vec<Column> {
        vec![
            Column::new("name", vec!["alpha".into(), "b".into()]),
            Column::new("range (low .. high)", vec!["1 .. 2000".into(), "3 .. 4".into()]).or_title("range").drop_at(1),
            Column {
                cells: vec![vec!["12.5 ± 0.3".into(), "12.5".into()], vec!["7 ± 1".into(), "7".into()]],
                ..Column::new("value ± spread", vec![])
            }
            .or_title("value")
            .right()
            .shorten_at(2),
        ]
    }

    #[test]
    fn folding_columns_give_last_at_spaces_and_keep_every_word() {
        let columns = vec![
            Column::new("case", vec!["fib (n=34, tasks=8) · 2w".into()]).wrap(),
            Column::new("change", vec!["+30.0% [+29.1%, +30.8%]".into()]).right().wrap(),
        ];
        let full = render(&columns, &View::default());
        assert_eq!(full.len(), 5, "one line per row at full width: {full:?}");
        let narrow = render(&columns, &View { width: Some(30), ..View::default() });
        assert!(narrow.iter().all(|l| visible_width(l) <= 30), "{narrow:?}");
        assert!(narrow.len() > 5, "the row folds over more lines: {narrow:?}");
        let words = |lines: &[String]| lines[3..lines.len() - 1].join(" ").split_whitespace().count();
        assert_eq!(words(&narrow), words(&full), "{narrow:?}");
    }

    #[test]
    fn folding_columns_give_in_turn_so_no_one_column_folds_alone() {
        // The old rule took the whole excess from the widest column: compare's change
        // column folded to 10 characters over five lines while the case column kept 25.
        let columns = vec![
            Column::new("case", vec!["fib (n=25, tasks=8) ·2w".into()]).wrap(),
            Column::new("change", vec!["-13.7% [-39.4%, +32.7%] (medians -6.7%*)".into()]).right().wrap(),
        ];
        let narrow = render(&columns, &View { width: Some(44), ..View::default() });
        assert!(narrow.iter().all(|l| visible_width(l) <= 44), "{narrow:?}");
        let rows = narrow.len() - 4;
        assert!(rows <= 3, "the row is as tall as its tallest cell, about balanced: {narrow:#?}");
        // The narrower column gave too.
        assert!(!narrow[3].contains("fib (n=25, tasks=8) ·2w"), "{narrow:#?}");
    }

    #[test]
    fn columns_give_up_titles_then_cells_and_places_by_rank() {
        let at = |width| render(&columns(), &View { width: Some(width), ..View::default() });
        let full = render(&columns(), &View::default());
        assert!(full[1].contains("range (low .. high)") && full[3].contains("12.5 ± 0.3"), "{full:?}");
        for width in [40, 30, 20, 13] {
            let lines = at(width);
            assert!(lines.iter().all(|l| visible_width(l) <= width), "{width}: {lines:?}");
            assert!(lines[3].contains("alpha") && lines[3].contains("12.5"), "{width}: {lines:?}");
        }
        assert!(at(30)[1].contains("range") && !at(30)[1].contains("low"), "{:?}", at(30));
        assert!(!at(20)[1].contains("range") && at(20)[3].contains("± 0.3"), "{:?}", at(20));
        assert!(!at(13)[3].contains('±'), "{:?}", at(13));
    }

    #[test]
    fn colour_takes_no_width() {
        let mut c = columns();
        c[0].paints = vec![Some(Paint::Green), None];
        let plain = render(&c, &View::default());
        let painted = render(&c, &View { color: true, ..View::default() });
        assert!(painted[3].contains("\u{1b}[1;32malpha\u{1b}[0m"), "{painted:?}");
        assert_eq!(
            painted.iter().map(|l| visible_width(l)).collect::<Vec<_>>(),
            plain.iter().map(|l| visible_width(l)).collect::<Vec<_>>()
        );
    }
}
