//! Scaling analysis for `parbench scale`: bootstrap confidence intervals of speedup,
//! the Karp-Flatt serial fraction, and Amdahl and Universal Scalability Law fits with
//! a recommended worker count. All deterministic (seeded). The models and the
//! bootstrap themselves live in [`crate::stats`]; this module decides where they apply.

use serde::{Deserialize, Serialize};

use crate::measure::{Measurement, by_round};
use crate::runner::RunnerKind;
use crate::stats;

pub use crate::stats::interval::{Interval, bootstrap_median};
pub use crate::stats::models::{amdahl, karp_flatt, usl};
use crate::stats::models::{fit_amdahl, fit_usl, r_squared};

/// A fitted scaling model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fit {
    /// Amdahl serial fraction.
    pub amdahl_serial_fraction: f64,
    /// R² of the Amdahl fit on the speedups.
    pub amdahl_r2: f64,
    /// USL contention (sigma).
    pub usl_sigma: f64,
    /// USL coherency (kappa).
    pub usl_kappa: f64,
    /// R² of the USL fit on the speedups.
    pub usl_r2: f64,
    /// Worker count at the USL's peak (infinite when kappa is 0: no peak).
    pub peak_workers: Option<f64>,
    /// Speedup at the peak, or the asymptote 1/sigma when there is no peak.
    pub peak_speedup: Option<f64>,
    /// Smallest worker count reaching 95% of the best speedup, measured or predicted
    /// (the predicted peak, or the prediction at the largest measured count when the
    /// curve has no peak). Measured points are preferred: a smooth model cannot follow
    /// the sharp knee at the core count, where the measurement already shows the
    /// answer.
    pub recommended_workers: usize,
}

/// Why no fit was made.
pub const TOO_FEW_POINTS: &str = "a fit needs speedups at three or more different worker counts, one of them above 1";

/// Fits Amdahl and the USL to `(workers, speedup)` points; `Err` explains why not.
pub fn fit(points: &[(f64, f64)], max_measured: usize) -> Result<Fit, &'static str> {
    let mut distinct: Vec<f64> = points.iter().map(|p| p.0).collect();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    if distinct.len() < 3 || !distinct.iter().any(|&p| p > 1.0) || points.iter().any(|p| p.1.is_nan() || p.1 <= 0.0) {
        return Err(TOO_FEW_POINTS);
    }
    let f = fit_amdahl(points);
    let (sigma, kappa) = fit_usl(points);
    let (peak_workers, peak_speedup) = if kappa > 0.0 {
        let p = ((1.0 - sigma) / kappa).sqrt().max(1.0);
        (Some(p), Some(usl(sigma, kappa, p)))
    } else if sigma > 0.0 {
        (None, Some(1.0 / sigma))
    } else {
        (None, None)
    };
    let target_at = peak_workers.map(|p| p.round().max(1.0) as usize).unwrap_or(max_measured.max(1));
    let best_measured = points.iter().map(|p| p.1).fold(0.0, f64::max);
    let target = 0.95 * usl(sigma, kappa, target_at as f64).max(best_measured);
    let mut measured: Vec<(f64, f64)> = points.to_vec();
    measured.sort_by(|a, b| a.0.total_cmp(&b.0));
    let recommended_workers = measured
        .iter()
        .find(|p| p.1 >= target)
        .map(|p| p.0 as usize)
        .or_else(|| (1..=target_at).find(|&p| usl(sigma, kappa, p as f64) >= target))
        .unwrap_or(target_at);
    Ok(Fit {
        amdahl_serial_fraction: f,
        amdahl_r2: r_squared(points, |p| amdahl(f, p)),
        usl_sigma: sigma,
        usl_kappa: kappa,
        usl_r2: r_squared(points, |p| usl(sigma, kappa, p)),
        peak_workers,
        peak_speedup,
        recommended_workers,
    })
}

/// One (runner, worker count) cell of a sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScalePoint {
    /// Runner.
    pub runner: RunnerKind,
    /// Worker count.
    pub workers: usize,
    /// Paired samples (rounds) behind the estimate.
    pub rounds: usize,
    /// Speedup vs serial in the same round: median with its 95% bootstrap interval.
    pub speedup: Interval,
    /// Efficiency (speedup / workers), or weak-scaling efficiency under `--weak`.
    pub efficiency: Interval,
    /// Karp-Flatt serial fraction (undefined for one worker).
    pub karp_flatt: Option<f64>,
    /// Median wall time, ms.
    pub wall_ms: f64,
    /// Median load imbalance: busiest worker's busy time / mean busy time.
    pub imbalance: Option<f64>,
    /// Median idle fraction: 1 - busy time / (workers x wall time).
    pub idle_fraction: Option<f64>,
    /// The runner's fixed cost at this worker count (empty tasks), ms.
    pub overhead_ms: Option<f64>,
}

/// The scaling of one runner on one workload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunnerScaling {
    /// Runner.
    pub runner: RunnerKind,
    /// The fit, when the sweep allows one.
    pub fit: Option<Fit>,
    /// Why there is no fit.
    pub no_fit: Option<String>,
    /// Smallest task, in ms, for which this runner beats serial at the largest worker
    /// count, given its calibrated overhead and the sweep's task count.
    pub break_even_task_ms: Option<f64>,
    /// The finding in one or two sentences.
    pub summary: String,
}

/// One workload configuration swept over worker counts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FamilyScaling {
    /// The workload at the largest worker count.
    pub label: String,
    /// Every cell.
    pub points: Vec<ScalePoint>,
    /// Per runner.
    pub runners: Vec<RunnerScaling>,
}

/// The whole sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScaleAnalysis {
    /// Weak scaling (work grows with the workers) rather than strong.
    pub weak: bool,
    /// The worker counts swept.
    pub workers: Vec<usize>,
    /// Bootstrap resamples per interval.
    pub bootstrap: u32,
    /// One entry per workload configuration.
    pub families: Vec<FamilyScaling>,
}

/// What to analyse.
pub struct SweepInput<'a> {
    /// Measurements in plan order.
    pub measurements: &'a [Measurement],
    /// For each measurement, the workload family it belongs to (`None` for the
    /// overhead calibration on empty tasks).
    pub family_of: &'a [Option<usize>],
    /// Number of families.
    pub families: usize,
    /// Weak scaling.
    pub weak: bool,
    /// Worker counts swept.
    pub workers: Vec<usize>,
    /// Bootstrap resamples.
    pub bootstrap: u32,
    /// Seed of the bootstrap.
    pub seed: u64,
}

fn median_of(m: &Measurement, runner: RunnerKind, f: impl Fn(&crate::runner::Sample) -> Option<f64>) -> Option<f64> {
    stats::median(
        &m.samples.iter().filter(|s| s.sample.runner == runner).filter_map(|s| f(&s.sample)).collect::<Vec<_>>(),
    )
}

/// Analyses a sweep: intervals, Karp-Flatt, fits, overheads and load balance.
pub fn analyze(input: &SweepInput<'_>) -> ScaleAnalysis {
    let max_workers = input.workers.iter().copied().max().unwrap_or(1);
    let tagged = || input.measurements.iter().zip(input.family_of.iter().copied());
    let overhead = |runner: RunnerKind, workers: usize| -> Option<f64> {
        let (m, _) = tagged().find(|(m, f)| f.is_none() && m.workers == workers)?;
        median_of(m, runner, |s| Some(s.wall_ns as f64 / 1e6))
    };
    let mut families = Vec::new();
    for family in 0..input.families {
        let ms: Vec<&Measurement> = tagged().filter(|(_, f)| *f == Some(family)).map(|(m, _)| m).collect();
        let Some(largest) = ms.iter().max_by_key(|m| m.workers) else { continue };
        let mut runners: Vec<RunnerKind> = ms.iter().flat_map(|m| m.runners.iter().copied()).collect();
        runners.sort();
        runners.dedup();
        runners.retain(|&r| r != RunnerKind::Serial);
        let mut points = Vec::new();
        let mut scalings = Vec::new();
        for &runner in &runners {
            let mut fit_points = Vec::new();
            for m in ms.iter().filter(|m| m.runners.contains(&runner)) {
                let wall = |s: &crate::runner::Sample| s.wall_ns as f64;
                let ratios = stats::paired_ratios(
                    &by_round(&m.samples, RunnerKind::Serial, wall),
                    &by_round(&m.samples, runner, wall),
                );
                let seed = input.seed ^ (m.workers as u64) << 8 ^ runner as u64;
                let Some(speedup) = bootstrap_median(&ratios, 0.95, input.bootstrap as usize, seed) else { continue };
                let w = m.workers as f64;
                fit_points.push((w, speedup.estimate));
                points.push(ScalePoint {
                    runner,
                    workers: m.workers,
                    rounds: ratios.len(),
                    speedup,
                    efficiency: Interval {
                        estimate: speedup.estimate / w,
                        low: speedup.low / w,
                        high: speedup.high / w,
                    },
                    karp_flatt: karp_flatt(speedup.estimate, w),
                    wall_ms: median_of(m, runner, |s| Some(s.wall_ns as f64 / 1e6)).unwrap_or(0.0),
                    imbalance: median_of(m, runner, crate::runner::Sample::imbalance),
                    idle_fraction: median_of(m, runner, |s| {
                        let busy: f64 = s.per_worker.iter().map(|x| x.busy_ns as f64).sum();
                        let capacity = s.workers as f64 * s.wall_ns as f64;
                        (capacity > 0.0).then(|| (1.0 - busy / capacity).clamp(0.0, 1.0))
                    }),
                    overhead_ms: overhead(runner, m.workers),
                });
            }
            let break_even_task_ms = (max_workers > 1)
                .then(|| overhead(runner, max_workers))
                .flatten()
                .map(|o| o / (largest.tasks as f64 * (1.0 - 1.0 / max_workers as f64)));
            let (fit, no_fit) = match fit(&fit_points, max_workers) {
                Ok(f) => (Some(f), None),
                Err(why) => (None, Some(why.to_string())),
            };
            let summary = summarize(runner, fit.as_ref(), no_fit.as_deref(), break_even_task_ms, max_workers);
            scalings.push(RunnerScaling { runner, fit, no_fit, break_even_task_ms, summary });
        }
        families.push(FamilyScaling { label: largest.params.label(), points, runners: scalings });
    }
    ScaleAnalysis { weak: input.weak, workers: input.workers.clone(), bootstrap: input.bootstrap, families }
}

/// "1 worker gives" / "3 workers give".
fn workers(n: usize) -> String {
    if n == 1 { "1 worker gives".into() } else { format!("{n} workers give") }
}

fn summarize(
    runner: RunnerKind,
    fit: Option<&Fit>,
    no_fit: Option<&str>,
    break_even: Option<f64>,
    max: usize,
) -> String {
    let mut s = match (fit, no_fit) {
        (Some(f), _) => {
            let shape = match (f.peak_workers, f.peak_speedup) {
                (Some(p), Some(sp)) if p < max as f64 => format!(
                    "throughput peaks at {sp:.2}x with about {p:.0} workers and falls beyond; {} 95% of the peak",
                    workers(f.recommended_workers)
                ),
                (Some(p), Some(sp)) => format!(
                    "the USL predicts a peak of {sp:.2}x at about {p:.0} workers, beyond the sweep; {} 95% of the speedup at {max}",
                    workers(f.recommended_workers)
                ),
                (None, Some(limit)) => format!(
                    "speedup approaches {limit:.1}x with no peak; {} 95% of the speedup at {max}",
                    workers(f.recommended_workers)
                ),
                _ => format!("scales linearly within the sweep; use {max} workers or more"),
            };
            let shape = if f.usl_r2 < 0.5 {
                format!(
                    "the fit is poor, so no recommendation: the sweep is too noisy or {runner} does not follow the model"
                )
            } else {
                shape
            };
            format!(
                "{runner}: Amdahl serial fraction {:.1}% (R² {:.2}); USL σ={:.3}, κ={:.4} (R² {:.2}): {shape}.",
                f.amdahl_serial_fraction * 100.0,
                f.amdahl_r2,
                f.usl_sigma,
                f.usl_kappa,
                f.usl_r2
            )
        }
        (None, Some(why)) => format!("{runner}: no fit: {why}."),
        _ => format!("{runner}: no fit."),
    };
    if let Some(t) = break_even {
        s.push_str(&format!(" Its fixed cost is paid back by tasks of {} or more.", crate::report::fmt_ms(t)));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn the_amdahl_fit_recovers_a_serial_fraction_of_ten_percent() {
        let points: Vec<(f64, f64)> = [1.0, 2.0, 4.0, 8.0, 16.0].iter().map(|&p| (p, amdahl(0.1, p))).collect();
        let fit = fit(&points, 16).unwrap();
        assert!(close(fit.amdahl_serial_fraction, 0.1, 1e-4), "{fit:?}");
        assert!(fit.amdahl_r2 > 0.9999);
    }

    #[test]
    fn the_usl_fit_recovers_sigma_and_kappa_and_the_peak() {
        let (sigma, kappa) = (0.05, 0.002);
        let points: Vec<(f64, f64)> =
            [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0].iter().map(|&p| (p, usl(sigma, kappa, p))).collect();
        let fit = fit(&points, 64).unwrap();
        assert!(close(fit.usl_sigma, sigma, 1e-6) && close(fit.usl_kappa, kappa, 1e-7), "{fit:?}");
        assert!(fit.usl_r2 > 0.9999);
        // Peak at sqrt((1 - 0.05) / 0.002) = 21.8 workers.
        assert!(close(fit.peak_workers.unwrap(), ((1.0 - sigma) / kappa).sqrt(), 1e-3));
        assert!(fit.recommended_workers < 22 && fit.recommended_workers > 8, "{fit:?}");
    }

    #[test]
    fn the_recommendation_prefers_a_measured_knee_over_the_smooth_curve() {
        // Two cores: perfect scaling to 2 workers, flat beyond; the USL smooths the knee
        // and would put 95% of its peak at 3 workers. The measurement says 2.
        let points = [(1.0, 1.0), (2.0, 1.98), (4.0, 1.95)];
        assert_eq!(fit(&points, 4).unwrap().recommended_workers, 2);
    }

    #[test]
    fn noisy_usl_data_still_fits_closely() {
        let mut rng = SplitMix64::new(3);
        let points: Vec<(f64, f64)> = [1.0, 2.0, 4.0, 8.0, 12.0, 16.0, 24.0, 32.0]
            .iter()
            .map(|&p| (p, usl(0.03, 0.001, p) * (1.0 + ((rng.below(2001) as f64) / 1000.0 - 1.0) * 0.01)))
            .collect();
        let fit = fit(&points, 32).unwrap();
        assert!(close(fit.usl_sigma, 0.03, 0.01) && close(fit.usl_kappa, 0.001, 0.0005), "{fit:?}");
    }

    #[test]
    fn a_sweep_with_one_or_two_points_explains_that_no_fit_is_possible() {
        assert_eq!(fit(&[(2.0, 1.9)], 2), Err(TOO_FEW_POINTS));
        assert_eq!(fit(&[(1.0, 1.0), (2.0, 1.9), (2.0, 1.8)], 2), Err(TOO_FEW_POINTS));
        assert!(TOO_FEW_POINTS.contains("three"));
    }
}
