//! The task timeline: one round at the largest worker count, one panel per runner, one
//! lane per worker, one numbered bar per task.
//!
//! A bar spans a task's start to its end, which on fewer cores than workers includes
//! time spent waiting for a CPU. How much of it was on a CPU is not recorded per task
//! (that would add work inside the timed region); the sample's CPU time over its summed
//! task time is, so every bar is filled to that share and the panel says so, with the
//! run-queue wait where the runner measured it. Eight bars side by side on two cores
//! then show a quarter filled, not eight tasks truly running at once.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{chars_in, color, plot_error, tint, wrap};
use crate::measure::Measurement;
use crate::runner::Sample;

const WIDTH: u32 = 1100;
const LANE: u32 = 28;
/// Above each panel's lanes: its two caption lines; below: the time axis.
const PANEL_HEAD: u32 = 50;
const PANEL_AXIS: u32 = 40;
const LABEL_SIZE: u32 = 16;
/// Below the last panel: room under its axis title's descenders.
const BOTTOM: u32 = 12;
/// Tick marks, in pixels: plotters' default is a share of the panel's size, which
/// leaves a one-lane panel almost none and its lane label touching the axis.
const TICK: i32 = 5;
const DARK: RGBColor = RGBColor(30, 30, 30);
const GREY: RGBColor = RGBColor(90, 90, 90);

/// How much of a sample's task time can have been on a CPU, from what the sample
/// records anyway.
pub(super) struct CpuShare {
    /// An upper bound on on-CPU time over summed task time: no more than `cores` tasks
    /// run at once (from the task records), and no more than the sample's CPU time,
    /// which also holds the runner's own coordination.
    pub(super) on_cpu: f64,
    /// Run-queue wait over the workers' whole time (workers x wall), where the runner
    /// measured it.
    pub(super) waiting: Option<f64>,
}

pub(super) fn cpu_share(sample: &Sample, cores: usize) -> Option<CpuShare> {
    let mut edges: Vec<(u64, i64)> =
        sample.tasks.iter().flat_map(|t| [(t.start_ns, 1), (t.end_ns.max(t.start_ns), -1)]).collect();
    // Ends before starts at one instant: back-to-back tasks are not concurrent.
    edges.sort_unstable();
    let (mut open, mut at, mut task_ns, mut runnable_ns) = (0i64, 0u64, 0f64, 0f64);
    for (t, step) in edges {
        let span = t.saturating_sub(at) as f64;
        task_ns += span * open as f64;
        runnable_ns += span * open.min(cores.max(1) as i64) as f64;
        (open, at) = (open + step, t);
    }
    (task_ns > 0.0).then(|| CpuShare {
        on_cpu: (runnable_ns / task_ns).min(sample.cpu_ns as f64 / task_ns).min(1.0),
        waiting: sample
            .waited_ns
            .map(|w| (w as f64 / (sample.workers.max(1) as f64 * sample.wall_ns.max(1) as f64)).min(1.0)),
    })
}

fn percent(share: f64) -> String {
    format!("{:.0}%", 100.0 * share)
}

/// One round at the largest worker count of the first workload: one panel per runner,
/// one lane per worker, one bar per task, time in milliseconds; `cores` is how many
/// cores the run had.
pub fn timeline_svg(measured: &[Measurement], cores: usize) -> std::io::Result<String> {
    let Some(m) = measured.iter().filter(|m| !m.label.ends_with("(calibration)")).max_by_key(|m| m.workers) else {
        return Err(std::io::Error::other("no measurement to draw"));
    };
    let last = m.samples.iter().map(|s| s.round).max().unwrap_or(0);
    let mut samples: Vec<_> = m.samples.iter().filter(|s| s.round == last && !s.sample.tasks.is_empty()).collect();
    samples.sort_by_key(|s| s.sample.runner);
    let longest = samples.iter().map(|s| s.sample.wall_ns).max().unwrap_or(1).max(1) as f64 / 1e6;
    let mut title = wrap(&m.label, chars_in(WIDTH - 32, 18));
    let sub = format!("{} workers · one round (round {last}) · time in ms from the start of each sample", m.workers);
    let sub = wrap(&sub, chars_in(WIDTH - 32, 14));
    let head = 20 + 24 * (title.len() + sub.len()) as u32 + 64;
    let heights: Vec<u32> =
        samples.iter().map(|s| PANEL_HEAD + PANEL_AXIS + LANE * s.sample.workers.max(1) as u32).collect();
    let height = head + heights.iter().sum::<u32>() + BOTTOM;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let (top, body) = root.split_vertically(head);
        let mut y = 12;
        for line in title.drain(..) {
            top.draw(&Text::new(line, (16, y), ("sans-serif", 18))).map_err(plot_error)?;
            y += 24;
        }
        for line in sub {
            top.draw(&Text::new(line, (16, y), ("sans-serif", 14).into_font().color(&GREY))).map_err(plot_error)?;
            y += 24;
        }
        legend(&top, y + 4, cores)?;
        let mut rest = body;
        for (s, h) in samples.iter().zip(heights) {
            let (area, below) = rest.split_vertically(h);
            rest = below;
            panel(&area, &s.sample, longest, cores)?;
        }
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

/// The shading's key: an empty bar, a filled one and a task number.
fn legend(area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>, y: i32, cores: usize) -> std::io::Result<()> {
    let c = RGBColor(110, 110, 110);
    let left = Pos::new(HPos::Left, VPos::Center);
    let font = ("sans-serif", 14).into_font().color(&BLACK).pos(left);
    let bar = |x: i32, y: i32, filled: f64| -> std::io::Result<()> {
        area.draw(&Rectangle::new([(x, y - 9), (x + 44, y + 9)], tint(c, 0.8).filled())).map_err(plot_error)?;
        let fill_top = y + 9 - (18.0 * filled) as i32;
        area.draw(&Rectangle::new([(x, fill_top), (x + 44, y + 9)], c.filled())).map_err(plot_error)?;
        area.draw(&Rectangle::new([(x, y - 9), (x + 44, y + 9)], c.stroke_width(1))).map_err(plot_error)?;
        Ok(())
    };
    bar(16, y + 9, 0.0)?;
    area.draw(&Text::new(
        "3",
        (38, y + 9),
        ("sans-serif", 13).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Center)),
    ))
    .map_err(plot_error)?;
    area.draw(&Text::new(
        "a task (its number), from its start to its end: on a CPU, waiting for one, or blocked (a sleep, I/O)",
        (70, y + 9),
        font.clone(),
    ))
    .map_err(plot_error)?;
    bar(16, y + 36, 0.25)?;
    let filled = format!(
        "filled to the most of its time it can have been on a CPU: {cores} task{} at once on {cores} core{}, \
         within the sample's CPU time (not measured per task)",
        if cores == 1 { "" } else { "s" },
        if cores == 1 { "" } else { "s" },
    );
    area.draw(&Text::new(filled, (70, y + 36), font)).map_err(plot_error)?;
    Ok(())
}

fn panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    sample: &Sample,
    longest: f64,
    cores: usize,
) -> std::io::Result<()> {
    let c = color(sample.runner);
    let share = cpu_share(sample, cores);
    let (head, chart_area) = area.split_vertically(PANEL_HEAD);
    let caption = format!(
        "{}: {} worker{}, wall {}",
        sample.runner,
        sample.workers,
        if sample.workers == 1 { "" } else { "s" },
        crate::report::fmt_ms(sample.wall_ns as f64 / 1e6)
    );
    head.draw(&Text::new(caption, (16, 8), ("sans-serif", 16).into_font().color(&c))).map_err(plot_error)?;
    if let Some(share) = &share {
        let mut line = format!("tasks were on a CPU at most {} of their time", percent(share.on_cpu));
        if let Some(w) = share.waiting {
            line.push_str(&format!("; the workers waited for a CPU {} of their time (run queue)", percent(w)));
        }
        head.draw(&Text::new(line, (16, 28), ("sans-serif", 14).into_font().color(&GREY))).map_err(plot_error)?;
    }
    let lanes = sample.workers.max(1);
    let mut chart = ChartBuilder::on(&chart_area)
        .margin_left(16)
        .margin_right(24)
        .x_label_area_size(PANEL_AXIS - 4)
        .y_label_area_size(96)
        .build_cartesian_2d(0.0..longest * 1.02, -0.5..lanes as f64 - 0.5)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(lanes * 2 + 1)
        .y_label_formatter(&|y| {
            if (y - y.round()).abs() < 0.01 && *y >= -0.01 { format!("worker {:.0}", y) } else { String::new() }
        })
        .x_desc("ms since the sample started")
        .label_style(("sans-serif", LABEL_SIZE))
        .axis_desc_style(("sans-serif", 14))
        .bold_line_style(RGBColor(225, 225, 225))
        .light_line_style(RGBColor(247, 247, 247))
        .set_all_tick_mark_size(TICK)
        .draw()
        .map_err(plot_error)?;
    let filled = share.as_ref().map_or(1.0, |s| s.on_cpu);
    let (half, light) = (0.38, tint(c, 0.8));
    // A pixel, in ms: bars wider than a few pixels give one up at each end, so tasks
    // back to back on a lane stay apart (a filled bar's outline is its fill's colour).
    let pixels = chart.backend_coord(&(longest, 0.0)).0 - chart.backend_coord(&(0.0, 0.0)).0;
    let pixel = longest / f64::from(pixels.max(1));
    for (i, t) in sample.tasks.iter().enumerate() {
        let (x0, x1, y) = (t.start_ns as f64 / 1e6, t.end_ns as f64 / 1e6, f64::from(t.worker));
        let inset = if x1 - x0 > 4.0 * pixel { pixel } else { 0.0 };
        let (x0, x1) = (x0 + inset, x1 - inset);
        let (lo, hi) = (y - half, y + half);
        // Lanes run downwards from worker 0 at the bottom: fill from the bar's bottom.
        let fill_top = lo + 2.0 * half * filled;
        chart.draw_series(std::iter::once(Rectangle::new([(x0, lo), (x1, hi)], light.filled()))).map_err(plot_error)?;
        chart
            .draw_series(std::iter::once(Rectangle::new([(x0, lo), (x1, fill_top)], c.filled())))
            .map_err(plot_error)?;
        chart
            .draw_series(std::iter::once(Rectangle::new([(x0, lo), (x1, hi)], c.stroke_width(1))))
            .map_err(plot_error)?;
        // The number where it fits: in the larger of the filled and the empty part.
        let label = i.to_string();
        let (px0, px1) = (chart.backend_coord(&(x0, y)).0, chart.backend_coord(&(x1, y)).0);
        if px1 - px0 >= 9 * label.len() as i32 + 6 {
            let (at, ink) = if filled >= 0.5 { ((lo + fill_top) / 2.0, WHITE) } else { ((fill_top + hi) / 2.0, DARK) };
            let font = ("sans-serif", 13).into_font().color(&ink).pos(Pos::new(HPos::Center, VPos::Center));
            chart.draw_series(std::iter::once(Text::new(label, ((x0 + x1) / 2.0, at), font))).map_err(plot_error)?;
        }
    }
    Ok(())
}
