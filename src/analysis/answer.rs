//! A case's answer in one line: the fastest runner with its speedup and interval, a
//! tie, or that no runner beat serial; and the full sentence behind it (`-v`). Both
//! come from the paired per-round ratios, as the table's speedups do, so the answer
//! never says what the table's numbers or the notes contradict: a tie is a tie of
//! runners that beat serial, and a slow parallel runner on a busy machine is blamed on
//! the machine, not on coordination.
//!
//! Under `--rounds auto` the rounds measured depend on what the first rounds showed,
//! so a plain 95% interval at the end would be narrower than it is: the answer's
//! intervals are then those of the look that ended the measurement (the confidence
//! spread over every look, [`crate::measure::Stopping`]), the ones its precision note
//! gives.

use crate::result::{Answer, CaseReport, RunnerRow};
use crate::runner::RunnerId;
use crate::stats::{self, Interval};

/// Confidence of every interval in the answer with a fixed number of rounds.
const CONFIDENCE: f64 = 0.95;

/// The answer and the full sentence behind it, for a case with at least one parallel
/// runner with a speedup. `busy`: the cores other processes used, when the machine was
/// busy (see `notes::busy_machine`). `look`: the look of `--rounds auto` that ended the
/// measurement, whose confidence the intervals take.
pub(super) fn answer(
    case: &CaseReport,
    parallel: &[&RunnerRow],
    busy: Option<f64>,
    look: Option<&crate::measure::Look>,
) -> Option<(Answer, String)> {
    let look = look.filter(|l| l.rounds == case.rounds);
    let confidence = look.map_or(CONFIDENCE, |l| l.confidence);
    // How the sentences behind the answer name the interval.
    let allowing = match look {
        Some(l) if l.look > 1 => format!(" (allowing for the {} looks at the data)", l.look),
        Some(_) => " (allowing for its one look at the data)".to_string(),
        None => String::new(),
    };
    let paired = format!("paired 95% interval{allowing}");
    let speedup = |r: &RunnerRow| r.speedup.map(|s| s.median).unwrap_or(0.0);
    let mut ranked: Vec<&RunnerRow> = parallel.iter().copied().filter(|r| r.speedup.is_some()).collect();
    ranked.sort_by(|a, b| speedup(b).total_cmp(&speedup(a)));
    let best = *ranked.first()?;
    let wall = |sample: &crate::runner::Sample| sample.wall_ns as f64;
    let serial = crate::measure::by_round(&case.samples, RunnerId::reference(), wall);
    let walls: Vec<Vec<f64>> = ranked.iter().map(|r| crate::measure::by_round(&case.samples, r.runner, wall)).collect();
    let intervals: Vec<Option<Interval>> =
        walls.iter().map(|w| stats::median_interval(&stats::paired_ratios(&serial, w), confidence)).collect();
    let shown = |i: usize| match intervals[i] {
        Some(iv) => format!("{:.2}x serial [{:.2}, {:.2}]", speedup(ranked[i]), iv.low, iv.high),
        None => format!("{:.2}x serial", speedup(ranked[i])),
    };
    let plain = |text: String, long: String| Some((Answer { text, fastest: None }, long));
    let needed = stats::interval::fewest_for_interval(confidence);
    // Too few rounds for any interval: the median, and what an answer needs.
    if intervals[0].is_none() {
        let rounds = serial.len().min(walls[0].len());
        let text = format!(
            "{} reached {:.2}x serial (median of {rounds} round(s); an interval needs {needed})",
            best.runner,
            speedup(best)
        );
        let long = format!(
            "{} reached {:.2}x serial with {} workers ({} efficiency) in the median of {rounds} paired round(s); a \
             {paired} of a speedup needs {needed} rounds, so no runner is named fastest and none is said to \
             beat serial.",
            best.runner,
            speedup(best),
            best.workers,
            crate::report::fmt_pct(best.efficiency.unwrap_or(0.0))
        );
        return plain(text, long);
    }
    let beat = |i: usize| intervals[i].is_some_and(|iv| iv.low > 1.0);
    if !(0..ranked.len()).any(beat) {
        // The best by its median: its interval includes 1, or lies below it.
        let below = intervals[0].is_some_and(|iv| iv.high < 1.0);
        let why = match (below, busy) {
            (true, Some(others)) => {
                format!("other processes used {others:.2} cores during the samples, so the workers got what was left")
            }
            (true, None) => "coordination cost more than it saved".to_string(),
            (false, _) => "its interval cannot tell it from serial".to_string(),
        };
        let text = format!("no runner beat serial: the best, {}, reached {}; {why}", best.runner, shown(0));
        let long = format!(
            "No parallel runner beat serial in the paired 95% intervals{allowing} of their speedups; the best, {}, \
             reached {}: {why}.",
            best.runner,
            shown(0)
        );
        return plain(text, long);
    }
    // The answer is about the runners that beat serial: a runner with a higher median
    // whose interval reaches back to serial is neither "the most" nor in a tie.
    let keep: Vec<usize> = (0..ranked.len()).filter(|&i| beat(i)).collect();
    // Runners with higher medians left out are said to be, so the line never reads as
    // if the runners it names were the top of the table.
    let above: Vec<usize> = (0..keep[0]).collect();
    let aside = match above.as_slice() {
        [] => String::new(),
        [one] => format!("; {} reached {} but cannot be told from serial", ranked[*one].runner, shown(*one)),
        more => format!(
            "; {} reached more, but cannot be told from serial",
            crate::text::names(&more.iter().map(|&i| ranked[i].runner).collect::<Vec<_>>())
        ),
    };
    let ranked: Vec<&RunnerRow> = keep.iter().map(|&i| ranked[i]).collect();
    let walls: Vec<Vec<f64>> = keep.iter().map(|&i| walls[i].clone()).collect();
    let intervals: Vec<Option<Interval>> = keep.iter().map(|&i| intervals[i]).collect();
    let shown = |i: usize| match intervals[i] {
        Some(iv) => format!("{:.2}x serial [{:.2}, {:.2}]", speedup(ranked[i]), iv.low, iv.high),
        None => format!("{:.2}x serial", speedup(ranked[i])),
    };
    let best = ranked[0];
    if ranked.len() == 1 {
        let text = format!("{} beat serial: {}{aside}", best.runner, shown(0));
        let long = format!(
            "{} beat serial: {} with {} workers ({} efficiency), in the {paired} of its speedup.",
            best.runner,
            shown(0),
            best.workers,
            crate::report::fmt_pct(best.efficiency.unwrap_or(0.0))
        );
        // Fastest only when no runner with a higher median was left out.
        return Some((Answer { text, fastest: (keep[0] == 0).then_some(best.runner) }, long));
    }
    Some(match stats::fastest(&walls, confidence)? {
        stats::Fastest::TooFewRounds { rounds, needed } => {
            let beaten: Vec<RunnerId> = ranked.iter().map(|r| r.runner).collect();
            let text = format!(
                "{} beat serial, {} the most: {}; {rounds} rounds are too few to name the fastest ({needed} needed){aside}",
                crate::text::names(&beaten),
                best.runner,
                shown(0)
            );
            let long = format!(
                "{} reached {} with {} workers; with {rounds} paired round(s) no runner is named fastest: a {paired} \
                 between {} runners needs {needed} rounds.",
                best.runner,
                shown(0),
                best.workers,
                ranked.len()
            );
            (Answer { text, fastest: None }, long)
        }
        stats::Fastest::Winner { best, runner_up, ratio } => {
            let (first, second) = (ranked[best], ranked[runner_up]);
            // The runner-up is the rival closest in the paired rounds, not always the
            // second by median: with more than one rival, it is named as the closest.
            let rival = if ranked.len() > 2 { "the closest, " } else { "" };
            let text = format!(
                "{} is fastest: {}, ahead of {rival}{} ({:.2}x){aside}",
                first.runner,
                shown(best),
                second.runner,
                speedup(second)
            );
            let long = format!(
                "{} was fastest: {} with {} workers ({} efficiency); faster than {} ({:.2}x) in the {paired} \
                 (its time {:.2}x theirs, [{:.2}, {:.2}]).",
                first.runner,
                shown(best),
                first.workers,
                crate::report::fmt_pct(first.efficiency.unwrap_or(0.0)),
                second.runner,
                speedup(second),
                ratio.estimate,
                ratio.low,
                ratio.high
            );
            (Answer { text, fastest: Some(first.runner) }, long)
        }
        stats::Fastest::Tie { best, tied } => {
            // Every runner the first cannot be told from, in the table's order (by
            // median speedup), so no runner between them goes unnamed.
            let mut all: Vec<usize> = std::iter::once(best).chain(tied).collect();
            all.sort_unstable();
            let runners = crate::text::names(&all.iter().map(|&i| ranked[i].runner).collect::<Vec<_>>());
            let speedups = crate::text::names(&all.iter().map(|&i| shown(i)).collect::<Vec<_>>());
            let text = format!("{runners} tie: {speedups}{aside}");
            let long = format!(
                "{runners} tie at {speedups}: the {paired} of {} against each of the others includes no \
                 difference.",
                ranked[best].runner
            );
            (Answer { text, fastest: None }, long)
        }
    })
}
