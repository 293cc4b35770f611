//! The speedup plot: speedup against workers on a log2 worker axis, one panel per
//! workload configuration.
//!
//! Each runner's measured line is solid with dots, its 95% intervals are whiskers in a
//! lighter tint of its colour, nudged sideways per runner so that three runners'
//! intervals stay apart (translucent bands blended into one grey strip), and its
//! fitted curve is dashed. The available cores are a dashed orange line with its own
//! label, unlike any gridline.

use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{chars_in, color, plot_error, tint, wrap};
use crate::fingerprint::Fingerprint;
use crate::result::{FamilyScaling, ScaleAnalysis};

/// Picture width, and the part of it the legend takes on the right.
const WIDTH: u32 = 1100;
const LEGEND: u32 = 300;
const PANEL: u32 = 560;
const TITLE_SIZE: u32 = 18;
const SUB_SIZE: u32 = 14;
const IDEAL: RGBColor = RGBColor(150, 150, 150);
/// The available-cores marker: a colour no runner and no gridline uses.
pub(super) const CORES: RGBColor = RGBColor(230, 120, 0);

/// The worker axis, in log2 of the worker count: ticks and gridlines at the swept
/// counts only, labelled with the count itself.
struct WorkerAxis {
    lo: f64,
    hi: f64,
    keys: Vec<f64>,
}

impl Ranged for WorkerAxis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let share = (value - self.lo) / (self.hi - self.lo);
        limit.0 + (share * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        // No minor lines between worker counts: they would stand for no count.
        if hint.weight().allow_light_points() { Vec::new() } else { self.keys.clone() }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

impl ValueFormatter<f64> for WorkerAxis {
    fn format(value: &f64) -> String {
        format!("{:.0}", value.exp2())
    }
}

/// One legend line: what its glyph looks like, and its text (a second, grey line may
/// follow for details).
enum Glyph {
    Measured(RGBColor),
    Fit(RGBColor),
    Ideal,
    Cores,
    /// Text only: a runner without a fit.
    Note,
}

/// Speedup against workers: one line per runner with its 95% intervals, the ideal
/// line and the fitted USL curve; one panel per workload configuration.
pub fn speedup_svg(analysis: &ScaleAnalysis, env: &Fingerprint) -> std::io::Result<String> {
    let kind = if analysis.weak { "weak" } else { "strong" };
    let subtitle = format!("{kind} scaling · {} · {} cores available", env.cpu_model, env.available_parallelism);
    let titles: Vec<Vec<(String, u32)>> = analysis
        .families
        .iter()
        .map(|f| {
            let label = wrap(&f.label, chars_in(WIDTH - 32, TITLE_SIZE)).into_iter().map(|l| (l, TITLE_SIZE));
            label.chain(wrap(&subtitle, chars_in(WIDTH - 32, SUB_SIZE)).into_iter().map(|l| (l, SUB_SIZE))).collect()
        })
        .collect();
    let title_height = |lines: usize| 16 + 24 * lines as u32;
    let heights: Vec<u32> = titles.iter().map(|t| title_height(t.len()) + PANEL).collect();
    let mut svg = String::new();
    {
        let total = heights.iter().sum::<u32>().max(PANEL);
        let root = SVGBackend::with_string(&mut svg, (WIDTH, total)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let mut rest = root.clone();
        for ((family, title), h) in analysis.families.iter().zip(&titles).zip(heights) {
            let (area, below) = rest.split_vertically(h);
            rest = below;
            let (head, body) = area.split_vertically(title_height(title.len()));
            for (i, (line, size)) in title.iter().enumerate() {
                let shade = if *size == TITLE_SIZE { BLACK } else { RGBColor(90, 90, 90) };
                let font = ("sans-serif", *size).into_font().color(&shade);
                head.draw(&Text::new(line.clone(), (16, 12 + 24 * i as i32), font)).map_err(plot_error)?;
            }
            panel(&body, analysis, family, env)?;
        }
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

/// One workload's chart and its legend, on `area`.
fn panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    analysis: &ScaleAnalysis,
    family: &FamilyScaling,
    env: &Fingerprint,
) -> std::io::Result<()> {
    let (plot_area, legend_area) = area.split_horizontally(WIDTH - LEGEND);
    let mut workers: Vec<usize> = analysis.workers.iter().copied().filter(|&w| w >= 1).collect();
    workers.sort_unstable();
    workers.dedup();
    if workers.is_empty() {
        workers.push(1);
    }
    let lx = |w: f64| w.max(1.0).log2();
    let (min_w, max_w) = (workers[0] as f64, *workers.last().unwrap_or(&1) as f64);
    let cores = env.available_parallelism.max(1) as f64;
    let top = family
        .points
        .iter()
        .map(|p| p.speedup.high)
        .filter(|v| v.is_finite())
        .fold(max_w.min(2.0 * cores).max(1.0), f64::max)
        * 1.15;
    let (x_lo, x_hi) = (lx(min_w) - 0.3, lx(max_w) + 0.3);
    // A tick per swept count, but not so close to the last that their labels collide
    // (1..64 swept: 33 and 34 would share a place).
    let mut keys: Vec<f64> = Vec::new();
    for x in workers.iter().map(|&w| lx(w as f64)) {
        if keys.last().is_none_or(|last| x - last >= (x_hi - x_lo) / 24.0) {
            keys.push(x);
        }
    }
    let mut chart = ChartBuilder::on(&plot_area)
        .margin(12)
        .margin_top(4)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(WorkerAxis { lo: x_lo, hi: x_hi, keys }, 0.0..top)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_desc("workers (log2 scale)")
        .y_desc(if analysis.weak {
            "scaled speedup vs serial (median, 95% CI)"
        } else {
            "speedup vs serial (median of paired rounds, 95% CI)"
        })
        .y_label_formatter(&|y| format!("{y:.1}x"))
        .axis_desc_style(("sans-serif", 15))
        .label_style(("sans-serif", 14))
        .bold_line_style(RGBColor(222, 222, 222))
        .light_line_style(RGBColor(246, 246, 246))
        .draw()
        .map_err(plot_error)?;
    let mut legend: Vec<(Glyph, String, Option<String>)> = Vec::new();

    // The ideal line, speedup = workers, as far as the chart reaches.
    let ideal = (0..=120).map(|i| x_lo + (x_hi - x_lo) * f64::from(i) / 120.0).filter_map(|x| {
        let w = x.exp2();
        (w >= 1.0 && w <= top).then_some((x, w))
    });
    chart.draw_series(LineSeries::new(ideal, IDEAL.stroke_width(2))).map_err(plot_error)?;
    legend.push((Glyph::Ideal, "ideal (speedup = workers)".into(), None));

    if (min_w..=max_w * 1.2).contains(&cores) {
        let x = lx(cores);
        chart
            .draw_series(DashedLineSeries::new([(x, 0.0), (x, top)], 8, 5, CORES.stroke_width(2)))
            .map_err(plot_error)?;
        chart
            .draw_series(std::iter::once(
                EmptyElement::at((x, top))
                    + Text::new(
                        format!("{} cores", env.available_parallelism),
                        (6, 6),
                        ("sans-serif", 14).into_font().color(&CORES),
                    ),
            ))
            .map_err(plot_error)?;
        legend.push((Glyph::Cores, format!("{} available cores", env.available_parallelism), None));
    }

    let n = family.runners.len().max(1) as f64;
    for (k, runner) in family.runners.iter().enumerate() {
        let c = color(runner.runner);
        let whisker = tint(c, 0.5).stroke_width(2);
        let dodge = (k as f64 - (n - 1.0) / 2.0) * 0.045;
        let mut pts: Vec<_> = family.points.iter().filter(|p| p.runner == runner.runner).collect();
        pts.sort_by_key(|p| p.workers);
        for p in &pts {
            let x = lx(p.workers as f64) + dodge;
            let (lo, hi) = (p.speedup.low, p.speedup.high);
            let bar = [(x, lo), (x, hi)];
            let caps = [[(x - 0.02, lo), (x + 0.02, lo)], [(x - 0.02, hi), (x + 0.02, hi)]];
            chart.draw_series(std::iter::once(PathElement::new(bar, whisker))).map_err(plot_error)?;
            chart.draw_series(caps.map(|cap| PathElement::new(cap, whisker))).map_err(plot_error)?;
        }
        let line = pts.iter().map(|p| (lx(p.workers as f64) + dodge, p.speedup.estimate));
        chart.draw_series(LineSeries::new(line.clone(), c.stroke_width(3))).map_err(plot_error)?;
        chart.draw_series(line.map(|xy| Circle::new(xy, 5, c.filled()))).map_err(plot_error)?;
        legend.push((Glyph::Measured(c), format!("{} measured, 95% CI", runner.runner), None));
        // The USL only where it was fitted: beyond, it would be an extrapolation.
        if let Some((fit, u)) = runner.fit.as_ref().and_then(|f| Some((f, f.usl?))) {
            let up_to = lx(fit.fitted_up_to as f64);
            // Only inside the chart: plotters draws a point outside it on the edge, so a
            // curve from 1 worker on a sweep from 2 ran up the y axis.
            let curve: Vec<(f64, f64)> = (0..=100)
                .map(|i| up_to * f64::from(i) / 100.0)
                .filter_map(|x| Some((x + dodge, fit.usl_speedup(x.exp2())?)))
                .filter(|(x, y)| y.is_finite() && (0.0..=top).contains(y) && (x_lo..=x_hi).contains(x))
                .collect();
            chart.draw_series(DashedLineSeries::new(curve, 10, 6, c.stroke_width(2))).map_err(plot_error)?;
            legend.push((
                Glyph::Fit(c),
                format!("{} USL fit, 1-{} workers", runner.runner, fit.fitted_up_to),
                Some(format!("σ={:.3}, κ={:.4}", u.sigma, u.kappa)),
            ));
        } else if runner.no_fit.is_some() {
            legend.push((Glyph::Note, format!("{}: no fit (the table says why)", runner.runner), None));
        }
    }
    draw_legend(&legend_area, &legend)
}

fn draw_legend(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    entries: &[(Glyph, String, Option<String>)],
) -> std::io::Result<()> {
    let rows: i32 = entries.iter().map(|(_, _, d)| if d.is_some() { 2 } else { 1 }).sum();
    let (x0, y0, w) = (4, 16, LEGEND as i32 - 20);
    area.draw(&Rectangle::new([(x0, y0), (x0 + w, y0 + 14 + 22 * rows)], RGBColor(200, 200, 200)))
        .map_err(plot_error)?;
    let mut y = y0 + 18;
    for (glyph, text, detail) in entries {
        let (a, b) = ((x0 + 10, y), (x0 + 42, y));
        match glyph {
            Glyph::Measured(c) => {
                area.draw(&PathElement::new([(a.0 + 16, y - 8), (a.0 + 16, y + 8)], tint(*c, 0.5).stroke_width(2)))
                    .map_err(plot_error)?;
                area.draw(&PathElement::new([a, b], c.stroke_width(3))).map_err(plot_error)?;
                area.draw(&Circle::new((a.0 + 16, y), 5, c.filled())).map_err(plot_error)?;
            }
            Glyph::Fit(c) => {
                area.draw(&PathElement::new([a, (a.0 + 12, y)], c.stroke_width(2))).map_err(plot_error)?;
                area.draw(&PathElement::new([(a.0 + 20, y), b], c.stroke_width(2))).map_err(plot_error)?;
            }
            Glyph::Ideal => area.draw(&PathElement::new([a, b], IDEAL.stroke_width(2))).map_err(plot_error)?,
            Glyph::Note => {}
            Glyph::Cores => {
                area.draw(&PathElement::new([a, (a.0 + 12, y)], CORES.stroke_width(2))).map_err(plot_error)?;
                area.draw(&PathElement::new([(a.0 + 20, y), b], CORES.stroke_width(2))).map_err(plot_error)?;
            }
        }
        let font = ("sans-serif", 14).into_font().color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
        let font =
            if matches!(glyph, Glyph::Note) { font.clone().color(&RGBColor(100, 100, 100)) } else { font.clone() };
        area.draw(&Text::new(text.clone(), (b.0 + 8, y), font.clone())).map_err(plot_error)?;
        y += 22;
        if let Some(detail) = detail {
            area.draw(&Text::new(detail.clone(), (b.0 + 8, y - 2), font.color(&RGBColor(100, 100, 100))))
                .map_err(plot_error)?;
            y += 22;
        }
    }
    Ok(())
}
