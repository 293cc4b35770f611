//! SVG pictures for `parbench scale`: the speedup curve and the task timeline.
//!
//! Pictures are rendered into a string (plotters' SVG backend), which the caller
//! writes like every output ([`crate::output`]), so a failed run never leaves half an
//! SVG behind.

use plotters::prelude::*;

use crate::fingerprint::Fingerprint;
use crate::measure::Measurement;
use crate::runner::RunnerKind;
use crate::scaling::ScaleAnalysis;

fn color(runner: RunnerKind) -> RGBColor {
    match runner {
        RunnerKind::Serial => RGBColor(90, 90, 90),
        RunnerKind::Threads => RGBColor(31, 119, 180),
        RunnerKind::Rayon => RGBColor(44, 160, 44),
        RunnerKind::Process => RGBColor(214, 39, 40),
    }
}

fn plot_error<E: std::fmt::Debug>(e: E) -> std::io::Error {
    std::io::Error::other(format!("{e:?}"))
}

/// Speedup against workers: one line per runner with its 95% band, the ideal line and
/// the fitted USL curve; one panel per workload configuration.
pub fn speedup_svg(analysis: &ScaleAnalysis, env: &Fingerprint) -> std::io::Result<String> {
    let panels = analysis.families.len().max(1);
    let (width, height) = (900u32, 560u32 * panels as u32);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let max_w = analysis.workers.iter().copied().max().unwrap_or(1) as f64;
        for (area, family) in root.split_evenly((panels, 1)).iter().zip(&analysis.families) {
            let top = family
                .points
                .iter()
                .map(|p| p.speedup.high)
                .fold(max_w.min(2.0 * env.available_parallelism as f64).max(1.0), f64::max);
            let kind = if analysis.weak { "weak" } else { "strong" };
            let caption = format!(
                "{} · {kind} scaling · {} ({} cores available)",
                family.label, env.cpu_model, env.available_parallelism
            );
            let mut chart = ChartBuilder::on(area)
                .caption(caption, ("sans-serif", 18))
                .margin(16)
                .x_label_area_size(44)
                .y_label_area_size(60)
                .build_cartesian_2d(0.0..max_w * 1.05 + 0.5, 0.0..top * 1.15)
                .map_err(plot_error)?;
            chart
                .configure_mesh()
                .x_desc("workers")
                .x_labels((max_w as usize + 2).min(17))
                .x_label_formatter(&|x| if (x - x.round()).abs() < 1e-6 { format!("{x:.0}") } else { String::new() })
                .y_desc(if analysis.weak {
                    "scaled speedup vs serial (median, 95% CI)"
                } else {
                    "speedup vs serial (median of paired rounds, 95% CI)"
                })
                .axis_desc_style(("sans-serif", 15))
                .label_style(("sans-serif", 13))
                .light_line_style(RGBColor(235, 235, 235))
                .draw()
                .map_err(plot_error)?;
            let ideal_top = max_w.min(top * 1.15);
            chart
                .draw_series(LineSeries::new(
                    [(1.0, 1.0), (ideal_top, ideal_top)],
                    RGBColor(160, 160, 160).stroke_width(2),
                ))
                .map_err(plot_error)?
                .label("ideal (speedup = workers)")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RGBColor(160, 160, 160).stroke_width(2)));
            if env.available_parallelism as f64 <= max_w {
                let cores = env.available_parallelism as f64;
                chart
                    .draw_series(LineSeries::new(
                        [(cores, 0.0), (cores, top * 1.15)],
                        RGBColor(120, 120, 120).stroke_width(1),
                    ))
                    .map_err(plot_error)?
                    .label(format!("{} available cores", env.available_parallelism))
                    .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RGBColor(120, 120, 120)));
            }
            for runner in &family.runners {
                let c = color(runner.runner);
                let mut pts: Vec<_> = family.points.iter().filter(|p| p.runner == runner.runner).collect();
                pts.sort_by_key(|p| p.workers);
                if pts.len() >= 2 {
                    let band: Vec<(f64, f64)> = pts
                        .iter()
                        .map(|p| (p.workers as f64, p.speedup.high))
                        .chain(pts.iter().rev().map(|p| (p.workers as f64, p.speedup.low)))
                        .collect();
                    chart.draw_series(std::iter::once(Polygon::new(band, c.mix(0.15)))).map_err(plot_error)?;
                }
                for p in &pts {
                    let x = p.workers as f64;
                    chart
                        .draw_series(std::iter::once(PathElement::new(
                            [(x, p.speedup.low), (x, p.speedup.high)],
                            c.stroke_width(1),
                        )))
                        .map_err(plot_error)?;
                }
                chart
                    .draw_series(LineSeries::new(
                        pts.iter().map(|p| (p.workers as f64, p.speedup.estimate)),
                        c.stroke_width(2),
                    ))
                    .map_err(plot_error)?
                    .label(format!("{} (measured)", runner.runner))
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], c.stroke_width(2)));
                chart
                    .draw_series(pts.iter().map(|p| Circle::new((p.workers as f64, p.speedup.estimate), 4, c.filled())))
                    .map_err(plot_error)?;
                // The USL only where it was fitted: beyond, it would be an extrapolation.
                if let Some((fit, u)) = runner.fit.as_ref().and_then(|f| Some((f, f.usl?))) {
                    let up_to = fit.fitted_up_to as f64;
                    let curve = (0..=200)
                        .map(|i| 1.0 + (up_to - 1.0) * i as f64 / 200.0)
                        .filter_map(|p| Some((p, fit.usl_speedup(p)?)));
                    chart
                        .draw_series(LineSeries::new(curve, c.mix(0.5).stroke_width(1)))
                        .map_err(plot_error)?
                        .label(format!(
                            "{} USL fit to {} workers (σ={:.3}, κ={:.4})",
                            runner.runner, fit.fitted_up_to, u.sigma, u.kappa
                        ))
                        .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], c.mix(0.5)));
                }
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .label_font(("sans-serif", 13))
                .background_style(WHITE.mix(0.9))
                .border_style(RGBColor(200, 200, 200))
                .draw()
                .map_err(plot_error)?;
        }
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

/// One round at the largest worker count of the first workload: one panel per runner,
/// one lane per worker, one bar per task, time in milliseconds.
pub fn timeline_svg(measured: &[Measurement]) -> std::io::Result<String> {
    let Some(m) = measured.iter().filter(|m| !m.label.ends_with("(calibration)")).max_by_key(|m| m.workers) else {
        return Err(std::io::Error::other("no measurement to draw"));
    };
    let last = m.samples.iter().map(|s| s.round).max().unwrap_or(0);
    let mut samples: Vec<_> = m.samples.iter().filter(|s| s.round == last && !s.sample.tasks.is_empty()).collect();
    samples.sort_by_key(|s| s.sample.runner);
    let longest = samples.iter().map(|s| s.sample.wall_ns).max().unwrap_or(1) as f64 / 1e6;
    let lanes: usize = samples.iter().map(|s| s.sample.workers).sum();
    let height = 90 + 84 * samples.len() as u32 + 22 * lanes as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, height)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let (title, body) = root.split_vertically(40);
        title
            .draw(&Text::new(
                format!(
                    "{} · {} workers · one round (round {last}), time in ms from the start of each sample",
                    m.label.clone(),
                    m.workers
                ),
                (16, 12),
                ("sans-serif", 16),
            ))
            .map_err(plot_error)?;
        let heights: Vec<u32> = samples.iter().map(|s| 84 + 22 * s.sample.workers as u32).collect();
        let mut rest = body;
        for (s, h) in samples.iter().zip(heights) {
            let (area, below) = rest.split_vertically(h);
            rest = below;
            let sample = &s.sample;
            let c = color(sample.runner);
            let mut chart = ChartBuilder::on(&area)
                .caption(
                    format!(
                        "{}: {} worker{}, wall {}",
                        sample.runner,
                        sample.workers,
                        if sample.workers == 1 { "" } else { "s" },
                        crate::report::fmt_ms(sample.wall_ns as f64 / 1e6)
                    ),
                    ("sans-serif", 14),
                )
                .margin_left(16)
                .margin_right(24)
                .x_label_area_size(34)
                .y_label_area_size(70)
                .build_cartesian_2d(0.0..longest * 1.02, -0.5..sample.workers as f64 - 0.5)
                .map_err(plot_error)?;
            chart
                .configure_mesh()
                .disable_y_mesh()
                .y_labels(sample.workers * 2 + 1)
                .y_label_formatter(&|y| {
                    if (y - y.round()).abs() < 0.01 && *y >= -0.01 { format!("worker {:.0}", y) } else { String::new() }
                })
                .x_desc("ms since the sample started")
                .label_style(("sans-serif", 11))
                .light_line_style(RGBColor(240, 240, 240))
                .draw()
                .map_err(plot_error)?;
            chart
                .draw_series(sample.tasks.iter().enumerate().map(|(i, t)| {
                    let y = t.worker as f64;
                    let shade = if i % 2 == 0 { c.mix(0.85) } else { c.mix(0.55) };
                    Rectangle::new(
                        [(t.start_ns as f64 / 1e6, y - 0.35), (t.end_ns as f64 / 1e6, y + 0.35)],
                        shade.filled(),
                    )
                }))
                .map_err(plot_error)?;
        }
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}
