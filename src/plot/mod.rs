//! SVG pictures for `parbench scale`: the speedup curve ([`speedup_svg`]) and the task
//! timeline ([`timeline_svg`]).
//!
//! Pictures are rendered into a string (plotters' SVG backend), which the caller
//! writes like every output ([`crate::output`]), so a failed run never leaves half an
//! SVG behind. Titles and legends are laid out here rather than by plotters, which
//! cuts a caption that is wider than the picture instead of wrapping it.

mod speedup;
mod timeline;

#[cfg(test)]
mod tests;

use plotters::prelude::*;

pub use speedup::speedup_svg;
pub use timeline::timeline_svg;

use crate::runner::RunnerId;

/// Each runner's colour, shared by both pictures so a runner looks the same in each.
fn color(runner: RunnerId) -> RGBColor {
    // A runner of another build gets a colour no runner of this build has.
    let [r, g, b] = runner.info().map_or([148, 103, 189], |i| i.color);
    RGBColor(r, g, b)
}

/// `c` mixed with white: `amount` 0 is `c`, 1 is white. Opaque, so overlapping marks
/// of two runners do not blend into a third colour.
fn tint(c: RGBColor, amount: f64) -> RGBColor {
    let mix = |v: u8| (f64::from(v) + (255.0 - f64::from(v)) * amount).round() as u8;
    RGBColor(mix(c.0), mix(c.1), mix(c.2))
}

fn plot_error<E: std::fmt::Debug>(e: E) -> std::io::Error {
    std::io::Error::other(format!("{e:?}"))
}

/// Splits `text` at spaces into lines of at most `width` characters (a longer word
/// gets a line of its own), so a long workload label is wrapped, never cut.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split(' ') {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// Characters of sans-serif text at `size` px that fit in `px` pixels (DejaVu Sans,
/// the widest common fallback, averages about 0.6 em per character).
fn chars_in(px: u32, size: u32) -> usize {
    (f64::from(px) / (0.6 * f64::from(size))).floor().max(10.0) as usize
}
