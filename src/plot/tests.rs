//! Every picture rendered (resvg) and checked: its size, that it is not blank, that its
//! legend and labels are there, that runners' curves, intervals and the cores marker
//! have colours of their own, and that nothing runs off the edge.

use resvg::tiny_skia::Pixmap;

use super::{color, speedup::CORES, tint};
use crate::analysis::scaling::{ScaleAnalysis, SweepInput};
use crate::fingerprint::Fingerprint;
use crate::measure::{Measurement, RecordedSample};
use crate::runner::kind::test_ids;
use crate::runner::{RunnerId, Sample, TaskRecord, WorkerStats};
use crate::workload::Verification;

const RUNNERS: [RunnerId; 4] =
    [RunnerId::new("serial"), RunnerId::new("threads"), RunnerId::new("rayon"), RunnerId::new("process")];

/// A sweep of waiting work (sleep-like) at `workers`: 8 tasks of 10 ms, 6 rounds; each
/// runner's tasks all start at once, one per worker, round-robin.
fn measurement(label: &str, workers: usize, runners: &[RunnerId]) -> Measurement {
    let mut samples = Vec::new();
    for round in 0..6u32 {
        for (position, &kind) in runners.iter().enumerate() {
            let w = kind.workers(workers);
            let slow = match kind {
                test_ids::Rayon => 1.05,
                test_ids::Process => 1.3,
                _ => 1.0,
            };
            let task_ms = 10.0 * slow * (1.0 + 0.01 * f64::from(round % 3));
            let waves = 8usize.div_ceil(w);
            let tasks: Vec<TaskRecord> = (0..8)
                .map(|i| {
                    let start = (i / w) as f64 * task_ms;
                    TaskRecord {
                        worker: (i % w) as u32,
                        start_ns: (start * 1e6) as u64,
                        end_ns: ((start + task_ms) * 1e6) as u64,
                    }
                })
                .collect();
            let wall_ns = (waves as f64 * task_ms * 1e6) as u64;
            samples.push(RecordedSample {
                round,
                position: position as u32,
                sample: Sample {
                    waited_ns: Some(wall_ns / 10),
                    tasks,
                    ..Sample::simulated(
                        kind,
                        w,
                        wall_ns,
                        wall_ns * 8,
                        vec![WorkerStats { busy_ns: wall_ns, tasks: 1 }; w],
                        Verification::Verified { detail: "ok".into() },
                    )
                },
            });
        }
    }
    let mut m = crate::analysis::fixture::fib_measurement(runners.to_vec(), samples);
    m.label = label.to_string();
    m.workers = workers;
    m.rounds = 6;
    m.properties.waits = true;
    m
}

fn sweep(label: &str, runners: &[RunnerId]) -> (Vec<Measurement>, ScaleAnalysis) {
    let ms: Vec<_> = [1, 2, 4, 8].iter().map(|&p| measurement(label, p, runners)).collect();
    let analysis = analyse(&ms);
    (ms, analysis)
}

/// The analysis on 2 cores.
fn analyse(ms: &[Measurement]) -> ScaleAnalysis {
    let family_of = vec![Some(0); ms.len()];
    let input =
        SweepInput { measurements: ms, family_of: &family_of, families: 1, weak: false, workers: vec![1, 2, 4, 8] };
    crate::analysis::scaling::analyze_on(&input, 2)
}

fn environment() -> Fingerprint {
    Fingerprint { available_parallelism: 2, ..crate::analysis::fixture::environment() }
}

fn render(svg: &str) -> Pixmap {
    let mut options = resvg::usvg::Options::default();
    options.fontdb_mut().load_system_fonts();
    options.fontdb_mut().set_sans_serif_family("DejaVu Sans");
    let tree = resvg::usvg::Tree::from_str(svg, &options).expect("the SVG parses");
    let size = tree.size().to_int_size();
    let mut pixmap = Pixmap::new(size.width(), size.height()).expect("a non-empty picture");
    resvg::render(&tree, resvg::tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap
}

/// Pixels within a few levels of `c` (anti-aliased edges are not counted).
fn count(pixmap: &Pixmap, c: plotters::style::RGBColor) -> usize {
    pixmap
        .pixels()
        .iter()
        .filter(|p| {
            let p = p.demultiply();
            p.alpha() > 250
                && [(p.red(), c.0), (p.green(), c.1), (p.blue(), c.2)].iter().all(|(a, b)| a.abs_diff(*b) <= 6)
        })
        .count()
}

fn ink(pixmap: &Pixmap) -> usize {
    pixmap.pixels().iter().filter(|p| p.alpha() > 0 && (p.red(), p.green(), p.blue()) != (255, 255, 255)).count()
}

/// The x coordinates of the `<text>` elements whose content is exactly `label`.
fn text_x(svg: &str, label: &str) -> Vec<f64> {
    svg.split("<text")
        .skip(1)
        .filter(|t| t.split_once('>').and_then(|(_, rest)| rest.split('<').next()).is_some_and(|c| c.trim() == label))
        .filter_map(|t| t.split("x=\"").nth(1)?.split('"').next()?.parse().ok())
        .collect()
}

#[test]
fn the_speedup_plot_renders_with_its_legend_and_a_colour_per_runner_curve_and_interval() {
    let (_, analysis) = sweep("sleep (tasks=8, ms=10)", &RUNNERS);
    let svg = super::speedup_svg(&analysis, &environment()).unwrap();
    let pixmap = render(&svg);
    assert_eq!(pixmap.width(), 1100);
    assert!((560..800).contains(&pixmap.height()), "one panel and its title: {}", pixmap.height());
    assert!(ink(&pixmap) > 20_000, "not blank: {} pixels drawn", ink(&pixmap));
    for entry in ["ideal (speedup = workers)", "2 available cores", "threads measured, 95% CI", "rayon USL fit"] {
        assert!(svg.contains(entry), "legend entry {entry:?}");
    }
    // Legend box, curves, intervals and the cores marker each have pixels of their own
    // colour, and no two of those colours are alike.
    let mut colours = vec![CORES, plotters::style::RGBColor(200, 200, 200)];
    for runner in &RUNNERS[1..] {
        colours.extend([color(*runner), tint(color(*runner), 0.5)]);
    }
    for c in &colours {
        assert!(count(&pixmap, *c) > 20, "{c:?}: {} pixels", count(&pixmap, *c));
    }
    for (i, a) in colours.iter().enumerate() {
        for b in &colours[i + 1..] {
            let d = a.0.abs_diff(b.0) as u32 + a.1.abs_diff(b.1) as u32 + a.2.abs_diff(b.2) as u32;
            assert!(d > 60, "{a:?} and {b:?} look alike");
        }
    }
}

#[test]
fn the_worker_axis_is_log2_with_a_tick_at_each_swept_count() {
    let (_, analysis) = sweep("sleep (tasks=8, ms=10)", &RUNNERS[..2]);
    let svg = super::speedup_svg(&analysis, &environment()).unwrap();
    let xs: Vec<f64> = ["1", "2", "4", "8"].iter().map(|l| *text_x(&svg, l).first().expect(l)).collect();
    let steps: Vec<f64> = xs.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(steps.iter().all(|s| (s - steps[0]).abs() <= 2.0 && *s > 50.0), "evenly spaced doublings: {xs:?}");
    // No tick in between (3, 5, 6, 7 are not swept).
    assert!(text_x(&svg, "3").is_empty() && text_x(&svg, "6").is_empty());
}

#[test]
fn a_fit_from_one_worker_stays_inside_a_chart_that_starts_at_two() {
    // Swept at 2, 4 and 8: the chart starts left of 2, the USL curve from 1 worker.
    let ms: Vec<_> = [2, 4, 8].iter().map(|&p| measurement("sleep (tasks=8, ms=10)", p, &RUNNERS[..2])).collect();
    let family_of = vec![Some(0); ms.len()];
    let input =
        SweepInput { measurements: &ms, family_of: &family_of, families: 1, weak: false, workers: vec![2, 4, 8] };
    let analysis = crate::analysis::scaling::analyze_on(&input, 2);
    let svg = super::speedup_svg(&analysis, &environment()).unwrap();
    assert!(svg.contains("threads USL fit"), "a fit to draw");
    let pixmap = render(&svg);
    // The y axis: the leftmost column of the chart's dark axis line, in the middle rows.
    let y_mid = pixmap.height() / 2;
    let axis = (0..pixmap.width())
        .find(|&x| pixmap.pixel(x, y_mid).is_some_and(|p| p.red() < 140 && p.green() < 140 && p.blue() < 140))
        .expect("the y axis");
    // Along it, no run of the threads colour: the curve's points left of the chart
    // were drawn on its edge.
    let c = color(RunnerId::new("threads"));
    let near = |p: resvg::tiny_skia::ColorU8| {
        [(p.red(), c.0), (p.green(), c.1), (p.blue(), c.2)].iter().all(|(a, b)| a.abs_diff(*b) <= 40)
    };
    let on_axis = (0..pixmap.height())
        .filter(|&y| (axis..axis + 4).any(|x| pixmap.pixel(x, y).is_some_and(|p| near(p.demultiply()))))
        .count();
    assert!(on_axis < 12, "{on_axis} rows of the threads colour along the y axis");
}

#[test]
fn a_runner_without_a_fit_says_so_in_the_legend() {
    // CPU-bound work is fitted only up to the 2 cores: too few points.
    let (mut ms, _) = sweep("fib (n=30, tasks=8)", &RUNNERS[..2]);
    ms.iter_mut().for_each(|m| m.properties.waits = false);
    let svg = super::speedup_svg(&analyse(&ms), &environment()).unwrap();
    assert!(svg.contains("threads: no fit (the table says why)") && !svg.contains("USL fit"), "{svg}");
}

#[test]
fn a_long_title_is_wrapped_inside_the_picture_not_cut() {
    let label = "command (cmd='sleep 0.01 && printf %s {task} >/dev/null', shell=sh, tasks=64, timeout=30s, \
                 env=PARBENCH_EXAMPLE_VARIABLE_WITH_A_LONG_NAME)";
    let (ms, analysis) = sweep(label, &RUNNERS[..2]);
    let env = Fingerprint {
        cpu_model: "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz with a long name".into(),
        ..environment()
    };
    for svg in [super::speedup_svg(&analysis, &env).unwrap(), super::timeline_svg(&ms, 2).unwrap()] {
        for word in label.split(' ') {
            let word = word.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('\'', "&apos;");
            assert!(svg.contains(&word) || svg.contains(&word.replace("&apos;", "'")), "{word:?} in a title");
        }
        let pixmap = render(&svg);
        // The right margin of the title rows stays white.
        let right: usize = (0..90)
            .flat_map(|y| (pixmap.width() - 12..pixmap.width()).map(move |x| (x, y)))
            .filter(|&(x, y)| pixmap.pixel(x, y).is_some_and(|p| p.red() < 200))
            .count();
        assert_eq!(right, 0, "title ink in the right margin");
    }
}

#[test]
fn the_timeline_renders_a_legend_numbered_tasks_and_large_lane_labels() {
    let (ms, _) = sweep("sleep (tasks=8, ms=10)", &RUNNERS);
    let svg = super::timeline_svg(&ms, 2).unwrap();
    let pixmap = render(&svg);
    assert_eq!(pixmap.width(), 1100);
    // Four panels, 1 + 8 + 8 + 8 lanes.
    assert!(pixmap.height() > 25 * 28, "{}", pixmap.height());
    assert!(ink(&pixmap) > 20_000, "not blank");
    assert!(svg.contains("a task (its number)") && svg.contains("filled to the most"), "legend");
    for task in 0..8 {
        assert!(text_x(&svg, &task.to_string()).len() >= 4, "task {task} numbered in each panel");
    }
    let lane = svg.split("<text").find(|t| t.contains("worker 7\n")).expect("a lane label");
    let size: f64 = lane.split("font-size=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().parse().unwrap();
    // plotters writes sizes in points (px / 1.24): 12.9 is 16 px, where 8.9 was.
    assert!(size >= 12.5, "lane labels at {size}");
    for runner in RUNNERS {
        assert!(count(&pixmap, color(runner)) > 100, "{runner}'s bars");
    }
}

#[test]
fn a_one_lane_panel_sets_its_label_off_the_axis_as_the_others_and_the_last_axis_title_has_room() {
    let (ms, _) = sweep("sleep (tasks=8, ms=10)", &RUNNERS[..2]);
    let svg = super::timeline_svg(&ms, 2).unwrap();
    // Serial's one lane and threads' first of eight: their labels end at one x (with
    // plotters' default ticks, a share of the panel's height, serial's touched the axis).
    let xs = text_x(&svg, "worker 0");
    assert_eq!(xs.len(), 2, "{xs:?}");
    assert_eq!(xs[0], xs[1], "lane labels end at different distances from the axis");
    // The bottom rows are white: the last "ms since the sample started" is not cut.
    let pixmap = render(&svg);
    let inked = (pixmap.height() - 6..pixmap.height())
        .filter(|&y| (0..pixmap.width()).any(|x| pixmap.pixel(x, y).is_some_and(|p| p.red() < 200)))
        .count();
    assert_eq!(inked, 0, "ink in the last 6 rows");
}

#[test]
fn tasks_back_to_back_on_a_lane_are_drawn_apart() {
    // Serial runs its 8 tasks one after another, each filled in full: one bar each,
    // with white between them (they were one dark block).
    let (ms, _) = sweep("sleep (tasks=8, ms=10)", &RUNNERS[..2]);
    let svg = super::timeline_svg(&ms, 2).unwrap();
    let lane = svg.split("<text").find(|t| t.contains("worker 0\n")).expect("serial's lane label");
    let y: f64 = lane.split("y=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().parse().unwrap();
    let pixmap = render(&svg);
    // Below the task numbers, within the bars.
    let row = y as u32 + 7;
    let grey = color(RunnerId::new("serial"));
    let is_bar: Vec<bool> = (0..pixmap.width())
        .map(|x| {
            let p = pixmap.pixel(x, row).unwrap().demultiply();
            [(p.red(), grey.0), (p.green(), grey.1), (p.blue(), grey.2)].iter().all(|(a, b)| a.abs_diff(*b) <= 30)
        })
        .collect();
    // Runs of the bar's colour at least 20 px long (not the axis beside them).
    let runs = is_bar.split(|b| !b).filter(|run| run.len() >= 20).count();
    assert_eq!(runs, 8, "separate bars along serial's lane");
}

#[test]
fn eight_tasks_at_once_on_two_cores_are_filled_to_a_quarter() {
    let (ms, _) = sweep("sleep (tasks=8, ms=10)", &RUNNERS[..2]);
    let at8 = ms.iter().find(|m| m.workers == 8).unwrap();
    let sample = &at8.samples.iter().find(|s| s.sample.runner == RunnerId::new("threads")).unwrap().sample;
    let share = super::timeline::cpu_share(sample, 2).unwrap();
    assert!((share.on_cpu - 0.25).abs() < 1e-9, "{}", share.on_cpu);
    assert!((share.waiting.unwrap() - 0.1 / 8.0).abs() < 1e-3);
    // Serially the tasks never overlap: the CPU time is the bound.
    let mut serial = sample.clone();
    serial.tasks = (0..8).map(|i| TaskRecord { worker: 0, start_ns: i * 10, end_ns: i * 10 + 10 }).collect();
    serial.cpu_ns = 40;
    assert!((super::timeline::cpu_share(&serial, 2).unwrap().on_cpu - 0.5).abs() < 1e-9);
    // In the picture: a quarter of each threads bar is solid, the rest the light tint.
    let svg = super::timeline_svg(std::slice::from_ref(at8), 2).unwrap();
    let pixmap = render(&svg);
    let c = color(RunnerId::new("threads"));
    let (solid, light) = (count(&pixmap, c) as f64, count(&pixmap, tint(c, 0.8)) as f64);
    assert!((0.2..0.45).contains(&(solid / light)), "solid {solid} vs light {light}");
}

#[test]
fn wrap_breaks_at_spaces_and_keeps_every_word() {
    assert_eq!(super::wrap("a bb ccc dddd", 6), ["a bb", "ccc", "dddd"]);
    assert_eq!(super::wrap("averyveryverylongword x", 5), ["averyveryverylongword", "x"]);
}

/// Not a check: renders the SVG files named in `PARBENCH_SVG` (separated by spaces)
/// to PNGs beside them, the way these tests see them (the recorded examples under
/// `results/` were rendered so).
#[test]
#[ignore = "a tool: PARBENCH_SVG='a.svg b.svg' cargo test --lib plot::tests::render -- --ignored"]
fn render_svg_files_to_png() {
    let paths = std::env::var("PARBENCH_SVG").unwrap_or_default();
    for path in paths.split_whitespace() {
        let pixmap = render(&std::fs::read_to_string(path).unwrap());
        pixmap.save_png(std::path::Path::new(path).with_extension("png")).unwrap();
    }
}
