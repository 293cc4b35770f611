//! The progress line on stderr while measuring: how far along the run is against its
//! time budget, the precision reached, and an estimate of the time left that is revised
//! after every round.
//!
//! `--rounds auto` cannot know how many samples it will take (it stops when the
//! intervals are narrow enough, when more rounds could not make them so, or at
//! `--max-time`), so the line never shows a sample count: it shows the rounds done, the
//! precision so far against the one aimed for, the elapsed time against `--max-time`,
//! and when the stopping rule expects to stop from the spread and the round times seen
//! so far ([`crate::measure::Stopping::expected_stop`]). What it shows is computed by
//! [`view`] and [`line`], pure functions of the measurement's [`Status`].
//!
//! Above it, on a terminal, the case that has just finished a round is shown as it
//! stands (its answer, table and notes so far, from the same analysis as the final
//! report; [`frame`]), redrawn between rounds, so that the answer forms while it runs.
//! It is erased when measuring ends and the report is printed once, as it is when
//! stderr is not a terminal.
//!
//! The line is drawn only when stderr is a terminal. It is redrawn between samples and
//! once a second by indicatif's ticking thread, so that the elapsed time moves during a
//! long sample; a redraw is one short write to stderr, so that thread costs a measured
//! sample a few microseconds a second at most.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::measure::Status;

/// What the progress line shows.
#[derive(Clone, Debug, PartialEq)]
pub struct View {
    /// How far along the run is, 0 to 1: elapsed / (elapsed + time left), or against
    /// `--max-time` while the time left is unknown.
    pub fraction: f64,
    /// The time left, when it can be estimated.
    pub eta: Option<Duration>,
    /// The words beside the bar.
    pub message: String,
}

/// What to show for `status`, taken `since` ago (the line ticks between updates), with
/// `estimate` the calibration's guess at the whole run, used until rounds have run.
pub fn view(status: &Status, since: Duration, estimate: Option<Duration>) -> View {
    let elapsed = status.elapsed + since;
    // Rounds left times the mean round so far, never past the budget: no round starts
    // that would end after it.
    let from_rounds = match (status.expected_rounds, status.round_time) {
        (Some(expected), Some(round)) if !status.warming_up => Some(round * expected.saturating_sub(status.rounds))
            .map(|left| (status.elapsed + left).saturating_sub(elapsed)),
        _ => None,
    };
    let from_estimate = estimate.map(|total| total.saturating_sub(elapsed));
    let till_budget = status.budget.map(|b| b.saturating_sub(elapsed));
    let eta = from_rounds.or(from_estimate).map(|left| till_budget.map_or(left, |b| left.min(b))).or(till_budget);
    let fraction = match (eta, status.budget) {
        (Some(left), _) if !(elapsed + left).is_zero() => elapsed.as_secs_f64() / (elapsed + left).as_secs_f64(),
        (_, Some(budget)) if !budget.is_zero() => elapsed.as_secs_f64() / budget.as_secs_f64(),
        _ => 0.0,
    };
    let mut parts = Vec::new();
    parts.push(match (status.warming_up, status.target, status.expected_rounds) {
        (true, _, _) => "warming up".to_string(),
        (false, Some(_), _) | (false, None, None) => format!("round {}", status.rounds),
        (false, None, Some(of)) => format!("round {} of {of}", status.rounds),
    });
    match (status.precision, status.target) {
        (Some(reached), Some(target)) => parts.push(format!("±{} (aim ±{})", pct(reached), pct(target))),
        (None, Some(target)) if !status.warming_up => parts.push(format!("aim ±{}", pct(target))),
        _ => {}
    }
    parts.push(match status.budget {
        Some(budget) => format!("{} of {}", clock(elapsed), clock(budget)),
        None => clock(elapsed),
    });
    if let Some(left) = eta {
        parts.push(if left < Duration::from_secs(1) { "ETA <1 s".to_string() } else { format!("ETA {}", clock(left)) });
    }
    View { fraction: fraction.clamp(0.0, 1.0), eta, message: parts.join(", ") }
}

/// `view` as one line of at most `width` columns: a bar of up to 30 columns when there
/// is room for at least 10 beside the words, else the words alone, cut to fit.
pub fn line(view: &View, width: usize) -> String {
    let words = view.message.chars().count();
    let room = width.saturating_sub(words + 3);
    if room < 10 {
        return view.message.chars().take(width).collect();
    }
    let inner = room.min(30);
    let filled = ((view.fraction * inner as f64).round() as usize).min(inner);
    let head = if filled < inner && filled > 0 { ">" } else { "" };
    let body = "=".repeat(filled.saturating_sub(head.len()));
    format!("[{body}{head}{}] {}", " ".repeat(inner - body.len() - head.len()), view.message)
}

/// `view` as the line drawn on a terminal of `width` columns, in `style`'s characters
/// (`--style ascii`: `+/-` for `±`), fitted after the characters are changed.
pub fn drawn(mut view: View, style: crate::report::Style, width: usize) -> String {
    view.message = crate::report::View { style, ..crate::report::View::default() }.chars(&view.message).into_owned();
    line(&view, width)
}

/// `±8.1%`-style percentages: one decimal.
fn pct(fraction: f64) -> String {
    format!("{:.1}%", fraction * 100.0)
}

/// `7 s`, `2 min 05 s`: whole seconds, so that the ticking line does not flicker.
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 { format!("{s} s") } else { format!("{} min {:02} s", s / 60, s % 60) }
}

/// What is drawn on a terminal of `rows` rows: the `case` lines so far, at most as many
/// as leave room for the progress line and the line the cursor rests on (the rest are
/// cut, with a last line saying how many), then `line`. Every line of `case` is already
/// fitted to the width, so none wraps and each is one row to erase at the next redraw.
pub fn frame(case: &[String], line: &str, rows: usize) -> String {
    let room = rows.saturating_sub(2);
    if room == 0 {
        return line.to_string();
    }
    let (shown, more) = if case.len() > room {
        let shown = room - 1;
        (&case[..shown], Some(format!("  ... {} more lines when it ends", case.len() - shown)))
    } else {
        (case, None)
    };
    let mut text = String::new();
    for l in shown.iter().map(String::as_str).chain(more.as_deref()) {
        text.push_str(l);
        text.push('\n');
    }
    text.push_str(line);
    text
}

/// The progress line on stderr, drawn only when stderr is a terminal: at once when the
/// run is estimated to last over a second, else once it has; with the live [`frame`]
/// above it once one is given.
pub struct Bar {
    bar: indicatif::ProgressBar,
    latest: Arc<Mutex<Option<(Status, Instant)>>>,
    case: Arc<Mutex<Vec<String>>>,
    start: Instant,
    shown: std::cell::Cell<bool>,
}

impl Bar {
    /// A line for a run estimated (by the calibration) at `estimate` (`None`: shown
    /// once it has lasted a second), in `style`'s characters.
    pub fn new(estimate: Option<&crate::analysis::estimate::Estimate>, style: crate::report::Style) -> Bar {
        let latest: Arc<Mutex<Option<(Status, Instant)>>> = Arc::new(Mutex::new(None));
        let case: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
        let total = estimate.map(|e| e.total);
        let (shared, shared_case) = (Arc::clone(&latest), Arc::clone(&case));
        let draw = move |_: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
            let Ok(latest) = shared.lock() else { return };
            let Some((status, at)) = latest.as_ref() else { return };
            let (rows, width) = crate::sys::stderr_size().unwrap_or((24, 80));
            // One column short of the width: a line that fills it wraps on some terminals.
            let progress = drawn(view(status, at.elapsed(), total), style, width.saturating_sub(1));
            let case = shared_case.lock().map(|c| c.clone()).unwrap_or_default();
            let _ = out.write_str(&frame(&case, &progress, rows));
        };
        let style = indicatif::ProgressStyle::with_template("{line}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .with_key("line", draw);
        let bar = indicatif::ProgressBar::hidden();
        bar.set_style(style);
        let progress = Bar { bar, latest, case, start: Instant::now(), shown: std::cell::Cell::new(false) };
        if estimate.is_some_and(|e| e.total > Duration::from_secs(1)) {
            progress.show();
        }
        progress
    }

    /// Starts drawing, when stderr is a terminal.
    fn show(&self) {
        if !self.shown.get() && self.is_live() {
            self.bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            self.bar.enable_steady_tick(Duration::from_secs(1));
            self.shown.set(true);
        }
    }

    /// Where the measurement stands now; called between samples.
    pub fn update(&self, status: &Status) {
        if let Ok(mut latest) = self.latest.lock() {
            *latest = Some((status.clone(), Instant::now()));
        }
        if !self.shown.get() && self.start.elapsed() > Duration::from_secs(1) {
            self.show();
        }
        self.bar.tick();
    }

    /// Whether the line and the live frame would be seen: stderr is a terminal, and not
    /// mpirun's (which forwards rank 0's stderr through a pseudo-terminal of its own,
    /// wherever the user's stderr goes).
    pub fn is_live(&self) -> bool {
        use std::io::IsTerminal;
        std::io::stderr().is_terminal() && !crate::sys::under_mpirun()
    }

    /// The width the live frame's lines must fit: stderr's, one column short.
    pub fn width(&self) -> usize {
        crate::sys::stderr_size().map_or(80, |(_, w)| w).saturating_sub(1)
    }

    /// Shows `case` (lines fitted to [`Bar::width`]) above the line from now on.
    pub fn show_case(&self, case: Vec<String>) {
        if let Ok(mut shown) = self.case.lock() {
            *shown = case;
        }
        self.bar.tick();
    }

    /// Clears the line, and the frame above it.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    /// `--rounds auto` with `--max-time 10` and `--precision 0.03` after `rounds`
    /// rounds of `round` seconds each at `elapsed`, the rule expecting to stop after
    /// `expected`, with the intervals at `precision` so far.
    fn auto(elapsed: f64, rounds: u32, expected: u32, round: f64, precision: Option<f64>) -> Status {
        Status {
            elapsed: secs(elapsed),
            budget: Some(secs(10.0)),
            warming_up: false,
            samples: rounds as usize * 4,
            rounds,
            expected_rounds: Some(expected),
            round_time: Some(secs(round)),
            precision,
            target: Some(0.03),
        }
    }

    #[test]
    fn auto_rounds_show_time_against_the_budget_and_never_a_sample_count() {
        // The old line: "24/24 samples ... ETA 0s", then "35/24", for 25 s more.
        let v = view(&auto(4.0, 7, 11, 0.5, Some(0.081)), Duration::ZERO, None);
        assert_eq!(v.message, "round 7, ±8.1% (aim ±3.0%), 4 s of 10 s, ETA 2 s");
        assert_eq!(v.eta, Some(secs(2.0)));
        assert!((v.fraction - 4.0 / 6.0).abs() < 1e-9, "{}", v.fraction);
        assert!(!v.message.contains("samples") && !v.message.contains('/'));
        // The rule expecting more rounds than the budget holds: the budget is the end.
        let capped = view(&auto(4.0, 7, 100, 0.5, Some(0.081)), Duration::ZERO, None);
        assert_eq!(capped.eta, Some(secs(6.0)));
        assert!((capped.fraction - 0.4).abs() < 1e-9);
    }

    #[test]
    fn an_estimate_that_turns_out_wrong_is_revised_after_the_next_round() {
        // The calibration guessed 5 s; rounds then took twice as long as it priced:
        // the time left follows the rounds measured, not the guess.
        let guess = Some(secs(5.0));
        let warming = Status { warming_up: true, expected_rounds: Some(7), ..auto(1.0, 0, 7, 0.0, None) };
        let warming = Status { round_time: None, ..warming };
        assert_eq!(view(&warming, Duration::ZERO, guess).eta, Some(secs(4.0)));
        let slow = view(&auto(3.0, 2, 7, 1.0, None), Duration::ZERO, guess);
        assert_eq!(slow.eta, Some(secs(5.0)), "5 rounds of 1 s to go, not the 2 s the guess left");
        let slower = view(&auto(5.0, 3, 7, 1.25, None), Duration::ZERO, guess);
        assert_eq!(slower.eta, Some(secs(5.0)));
        // And when the rule's expectation moves (a wider spread than it thought), so does
        // the estimate.
        let more = view(&auto(5.0, 7, 11, 0.5, Some(0.2)), Duration::ZERO, guess);
        assert_eq!(more.eta, Some(secs(2.0)));
    }

    #[test]
    fn the_elapsed_time_and_the_time_left_tick_between_updates() {
        let status = auto(4.0, 7, 11, 0.5, Some(0.081));
        let later = view(&status, secs(1.5), None);
        assert_eq!(later.message, "round 7, ±8.1% (aim ±3.0%), 5 s of 10 s, ETA <1 s");
        assert_eq!(later.eta, Some(secs(0.5)));
        let now = view(&status, Duration::ZERO, None);
        assert!(later.fraction > now.fraction);
        // An overrun past the estimate says so instead of "ETA 0s" and a stuck bar.
        let over = view(&status, secs(3.0), None);
        assert_eq!(over.eta, Some(Duration::ZERO));
        assert!(over.message.ends_with("ETA <1 s"), "{}", over.message);
    }

    #[test]
    fn warm_up_and_fixed_rounds_say_what_they_know() {
        let warm = Status {
            elapsed: secs(2.2),
            budget: Some(secs(10.0)),
            warming_up: true,
            target: Some(0.03),
            ..Status::default()
        };
        let v = view(&warm, Duration::ZERO, None);
        assert_eq!(v.message, "warming up, 2 s of 10 s, ETA 7 s");
        assert!((v.fraction - 0.22).abs() < 1e-9);
        let fixed = Status {
            elapsed: secs(65.0),
            rounds: 3,
            expected_rounds: Some(10),
            round_time: Some(secs(2.0)),
            ..Status::default()
        };
        let v = view(&fixed, Duration::ZERO, None);
        assert_eq!(v.message, "round 3 of 10, 1 min 05 s, ETA 14 s");
        let unknown = view(&Status { warming_up: true, ..Status::default() }, Duration::ZERO, None);
        assert_eq!((unknown.fraction, unknown.eta, unknown.message.as_str()), (0.0, None, "warming up, 0 s"));
    }

    #[test]
    fn the_live_frame_shows_the_case_above_the_line_and_never_more_rows_than_the_terminal() {
        let case: Vec<String> = (1..=10).map(|i| format!("line {i}")).collect();
        // Room for all: every line, then the progress line, one row per line.
        let tall = frame(&case, "[==>  ] round 3", 40);
        assert_eq!(tall.lines().count(), 11);
        assert!(tall.starts_with("line 1\nline 2\n") && tall.ends_with("line 10\n[==>  ] round 3"), "{tall}");
        // A terminal of 8 rows: 5 lines of the case, a line for the rest, the progress
        // line, and the row the cursor rests on.
        let short = frame(&case, "[==>  ] round 3", 8);
        let rows: Vec<&str> = short.lines().collect();
        assert_eq!(rows.len(), 7, "{short}");
        assert_eq!(rows[..5], ["line 1", "line 2", "line 3", "line 4", "line 5"]);
        assert_eq!(rows[5], "  ... 5 more lines when it ends");
        assert_eq!(rows[6], "[==>  ] round 3");
        // Nothing to show yet, or no room at all: the progress line alone.
        assert_eq!(frame(&[], "[] x", 24), "[] x");
        assert_eq!(frame(&case, "[] x", 2), "[] x");
        assert_eq!(frame(&case, "[] x", 3), "  ... 10 more lines when it ends\n[] x");
    }

    #[test]
    fn the_line_fits_the_terminal() {
        let v = view(&auto(4.0, 7, 11, 0.5, Some(0.081)), Duration::ZERO, None);
        for width in [20, 40, 59, 60, 80, 200] {
            let l = line(&v, width);
            assert!(l.chars().count() <= width, "{width}: {l:?}");
        }
        assert_eq!(line(&v, 90), format!("[{}>{}] {}", "=".repeat(19), " ".repeat(10), v.message), "20 of 30 filled");
        assert_eq!(line(&v, 40), v.message.chars().take(40).collect::<String>(), "no room for a bar");
        let full = View { fraction: 1.0, eta: None, message: "x".into() };
        assert_eq!(line(&full, 15), format!("[{}] x", "=".repeat(11)));
    }

    #[test]
    fn under_ascii_style_the_line_is_ascii_and_still_fits() {
        use crate::report::Style;
        let v = view(&auto(4.0, 7, 11, 0.5, Some(0.081)), Duration::ZERO, None);
        for width in [40, 60, 79] {
            let l = drawn(v.clone(), Style::Ascii, width);
            assert!(l.is_ascii() && l.chars().count() <= width, "{width}: {l:?}");
        }
        assert!(drawn(v.clone(), Style::Ascii, 79).contains("round 7, +/-8.1% (aim +/-3.0%)"));
        assert!(drawn(v, Style::Unicode, 79).contains("±8.1%"));
    }
}
