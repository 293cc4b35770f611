//! Tables that fit the width they are printed in: the least important columns are left
//! out first, in an order each table gives, and only when the most important ones
//! still do not fit are their cells wrapped. Used by `scale` and `compare`.

use comfy_table::{CellAlignment, ContentArrangement, Table};

/// Horizontal rules above, below and under the header only; no rule between rows.
pub const STYLE: &str = "  ── ══      ──    ";

/// Notes are folded to this many columns where the width is not known.
pub const NOTE_WIDTH: usize = 100;

/// A table's columns and rows, and which to leave out first when it is too wide.
pub struct Fitted<'a> {
    /// Column titles.
    pub columns: Vec<String>,
    /// Rows of cells, as many as there are columns.
    pub rows: Vec<Vec<String>>,
    /// Column indices to leave out, least important first.
    pub drop_order: &'a [usize],
    /// Columns aligned to the right.
    pub right: &'a [usize],
}

impl Fitted<'_> {
    fn table(&self, keep: &[usize], width: Option<usize>) -> Table {
        let mut t = Table::new();
        t.load_preset(STYLE).set_header(keep.iter().map(|&i| self.columns[i].clone()));
        for row in &self.rows {
            t.add_row(keep.iter().map(|&i| row[i].clone()));
        }
        for (at, i) in keep.iter().enumerate() {
            if self.right.contains(i) {
                if let Some(c) = t.column_mut(at) {
                    c.set_cell_alignment(CellAlignment::Right);
                }
            }
        }
        if let Some(w) = width {
            t.set_content_arrangement(ContentArrangement::Dynamic).set_width(w.min(u16::MAX as usize) as u16);
        }
        t
    }

    /// The table as text within `width` columns (the full table for `None`).
    pub fn render(&self, width: Option<usize>) -> String {
        let mut keep: Vec<usize> = (0..self.columns.len()).collect();
        let Some(width) = width else { return self.table(&keep, None).to_string() };
        let widest = |text: &str| text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
        for drop in self.drop_order {
            if widest(&self.table(&keep, None).to_string()) <= width {
                break;
            }
            keep.retain(|i| i != drop);
        }
        let text = self.table(&keep, None).to_string();
        if widest(&text) <= width { text } else { self.table(&keep, Some(width)).to_string() }
    }
}

/// Every line of `text` within `width` columns, folded at spaces, continuation lines
/// indented by two.
pub fn fold(text: &str, width: usize) -> Vec<String> {
    crate::text::wrap(text, width, 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fitted() -> Fitted<'static> {
        Fitted {
            columns: ["name", "key figure", "detail one", "detail two"].map(String::from).into(),
            rows: vec![
                ["threads", "1.95x [1.90, 1.99]", "a rather long detail", "another long detail"]
                    .map(String::from)
                    .into(),
                ["process", "1.80x [1.70, 1.85]", "short", "x"].map(String::from).into(),
            ],
            drop_order: &[3, 2],
            right: &[1],
        }
    }

    #[test]
    fn the_least_important_columns_go_first_and_the_key_ones_stay() {
        let full = fitted().render(None);
        assert!(full.contains("another long detail") && full.contains("a rather long detail"));
        let full_width = full.lines().map(|l| l.chars().count()).max().unwrap();
        let narrower = fitted().render(Some(full_width - 1));
        assert!(!narrower.contains("detail two") && narrower.contains("detail one"), "{narrower}");
        let narrow = fitted().render(Some(34));
        assert!(!narrow.contains("detail") && narrow.contains("1.95x [1.90, 1.99]"), "{narrow}");
        for width in [20, 34, 60] {
            let text = fitted().render(Some(width));
            assert!(text.lines().all(|l| l.chars().count() <= width), "{width}:\n{text}");
            assert!(text.contains("threads") && text.contains("process"), "{text}");
        }
    }
}
