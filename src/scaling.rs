//! Scaling analysis for `parbench scale`: bootstrap confidence intervals of speedup,
//! the Karp-Flatt serial fraction, and Amdahl and Universal Scalability Law fits with
//! a recommended worker count. All by hand, all deterministic (seeded).
//!
//! The one decision a reader would otherwise get wrong: the USL is fitted by the
//! standard linearisation `p / S(p) - 1 = sigma (p - 1) + kappa p (p - 1)` (a linear
//! least-squares problem in sigma and kappa, constrained to be non-negative), and its
//! goodness of fit is then judged on the speedups themselves, not on the transformed
//! values.

use serde::{Deserialize, Serialize};

use crate::measure::{Measurement, by_round};
use crate::rng::SplitMix64;
use crate::runner::RunnerKind;
use crate::stats;

/// A point estimate with a confidence interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// The estimate (median of the observed values).
    pub estimate: f64,
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

/// Percentile-bootstrap interval of the median of `values` at `confidence` (e.g. 0.95),
/// from `resamples` resamples drawn with a generator seeded by `seed`.
pub fn bootstrap_median(values: &[f64], confidence: f64, resamples: usize, seed: u64) -> Option<Interval> {
    let estimate = stats::median(values)?;
    let mut rng = SplitMix64::new(seed);
    let n = values.len();
    let mut medians = Vec::with_capacity(resamples);
    let mut buf = vec![0.0; n];
    for _ in 0..resamples {
        for slot in buf.iter_mut() {
            *slot = values[rng.below(n as u64) as usize];
        }
        medians.push(stats::median(&buf)?);
    }
    medians.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence) / 2.0;
    let at = |q: f64| medians[((q * (resamples - 1) as f64).round() as usize).min(resamples - 1)];
    Some(Interval { estimate, low: at(tail).min(estimate), high: at(1.0 - tail).max(estimate) })
}

/// Karp-Flatt experimentally determined serial fraction for speedup `s` on `p` workers:
/// e = (1/s - 1/p) / (1 - 1/p). Undefined for p = 1.
pub fn karp_flatt(s: f64, p: f64) -> Option<f64> {
    (p > 1.0 && s > 0.0).then(|| (1.0 / s - 1.0 / p) / (1.0 - 1.0 / p))
}

/// Amdahl's law: speedup on `p` workers with serial fraction `f`.
pub fn amdahl(f: f64, p: f64) -> f64 {
    1.0 / (f + (1.0 - f) / p)
}

/// The Universal Scalability Law: speedup on `p` workers with contention `sigma` and
/// coherency `kappa`.
pub fn usl(sigma: f64, kappa: f64, p: f64) -> f64 {
    p / (1.0 + sigma * (p - 1.0) + kappa * p * (p - 1.0))
}

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

fn r_squared(observed: &[(f64, f64)], model: impl Fn(f64) -> f64) -> f64 {
    let mean = observed.iter().map(|o| o.1).sum::<f64>() / observed.len() as f64;
    let total: f64 = observed.iter().map(|o| (o.1 - mean).powi(2)).sum();
    let residual: f64 = observed.iter().map(|&(p, s)| (s - model(p)).powi(2)).sum();
    if total > 0.0 {
        1.0 - residual / total
    } else if residual < 1e-12 {
        1.0
    } else {
        0.0
    }
}

/// Least-squares serial fraction of Amdahl's law, by golden-section search on [0, 1].
fn fit_amdahl(points: &[(f64, f64)]) -> f64 {
    let cost = |f: f64| points.iter().map(|&(p, s)| (s - amdahl(f, p)).powi(2)).sum::<f64>();
    let (mut a, mut b) = (0.0f64, 1.0f64);
    let g = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..100 {
        let (c, d) = (b - g * (b - a), a + g * (b - a));
        if cost(c) < cost(d) { b = d } else { a = c }
    }
    (a + b) / 2.0
}

/// Non-negative least squares of y = sigma x1 + kappa x2 (two unknowns).
fn fit_usl(points: &[(f64, f64)]) -> (f64, f64) {
    let rows: Vec<(f64, f64, f64)> = points.iter().map(|&(p, s)| (p - 1.0, p * (p - 1.0), p / s - 1.0)).collect();
    let (mut a11, mut a12, mut a22, mut b1, mut b2) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(x1, x2, y) in &rows {
        a11 += x1 * x1;
        a12 += x1 * x2;
        a22 += x2 * x2;
        b1 += x1 * y;
        b2 += x2 * y;
    }
    let det = a11 * a22 - a12 * a12;
    if det.abs() > 1e-12 {
        let sigma = (b1 * a22 - b2 * a12) / det;
        let kappa = (a11 * b2 - a12 * b1) / det;
        if sigma >= 0.0 && kappa >= 0.0 {
            return (sigma, kappa);
        }
    }
    // A constrained corner: the better of (sigma only) and (kappa only).
    let only_sigma = if a11 > 0.0 { (b1 / a11).max(0.0) } else { 0.0 };
    let only_kappa = if a22 > 0.0 { (b2 / a22).max(0.0) } else { 0.0 };
    let sse = |s: f64, k: f64| rows.iter().map(|&(x1, x2, y)| (y - s * x1 - k * x2).powi(2)).sum::<f64>();
    if sse(only_sigma, 0.0) <= sse(0.0, only_kappa) { (only_sigma, 0.0) } else { (0.0, only_kappa) }
}

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
        families.push(FamilyScaling { label: largest.label.clone(), points, runners: scalings });
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
        s.push_str(&format!(" Its fixed cost is paid back by tasks of {} or more.", crate::report::fmt::fmt_ms(t)));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn karp_flatt_matches_the_formula_on_hand_computed_cases() {
        // Perfect scaling: e = 0. Speedup 1 on 4 workers: e = (1 - 1/4) / (1 - 1/4) = 1.
        assert_eq!(karp_flatt(4.0, 4.0), Some(0.0));
        assert_eq!(karp_flatt(1.0, 4.0), Some(1.0));
        // s = 3 on p = 4: (1/3 - 1/4) / (3/4) = (1/12) / (3/4) = 1/9.
        assert!(close(karp_flatt(3.0, 4.0).unwrap(), 1.0 / 9.0, 1e-12));
        assert_eq!(karp_flatt(1.0, 1.0), None);
        // For Amdahl data, Karp-Flatt recovers the serial fraction exactly.
        assert!(close(karp_flatt(amdahl(0.1, 8.0), 8.0).unwrap(), 0.1, 1e-12));
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

    #[test]
    fn bootstrap_intervals_contain_the_estimate_and_shrink_with_more_samples() {
        let mut rng = SplitMix64::new(11);
        let mut draw = |n: usize| -> Vec<f64> { (0..n).map(|_| 1.8 + (rng.below(1000) as f64) / 5000.0).collect() };
        let small = bootstrap_median(&draw(8), 0.95, 2000, 1).unwrap();
        let large = bootstrap_median(&draw(200), 0.95, 2000, 1).unwrap();
        for i in [small, large] {
            assert!(i.low <= i.estimate && i.estimate <= i.high, "{i:?}");
        }
        assert!(large.high - large.low < small.high - small.low, "{small:?} vs {large:?}");
        // Seeded: the same data and seed give the same interval.
        let v = draw(20);
        assert_eq!(bootstrap_median(&v, 0.95, 500, 7), bootstrap_median(&v, 0.95, 500, 7));
    }
}
