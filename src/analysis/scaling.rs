//! Scaling analysis for `parbench scale`: per runner and worker count, the paired
//! speedup with its distribution-free interval (order statistics of the paired ratios,
//! which hold their 95% at the few rounds a sweep has, as a bootstrap does not),
//! Karp-Flatt, load balance and overhead; per runner, the model fits where they apply
//! and the measured recommendation. All deterministic. The models and intervals live in
//! [`crate::stats`], the sentences in [`super::scale_notes`].
//!
//! Where the models apply: CPU-bound work (what the workload declares: not
//! `Properties::waits`) cannot run faster than the available cores, so the flattening
//! beyond them is the core count, not serial work or contention. Such work is fitted
//! only up to the cores, Karp-Flatt is left blank beyond them, and the analysis says
//! that the cores limit the rest of the curve. Work that waits (sleep, commands) keeps
//! its whole sweep. The declaration decides, not the serial runner's CPU use: on a
//! loaded machine that falls to 0.5 for work that computes all the time. Each runner
//! is fitted, and its Karp-Flatt computed, on its relative capacity S(p) / S(1), since
//! S(1) of the process runner is well below 1; a model is fitted only with at least one
//! degree of freedom left.

use serde::de::{DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};

use crate::measure::{Measurement, by_round};
use crate::runner::RunnerId;
use crate::stats;
use crate::stats::models::{fit_amdahl, fit_gustafson, fit_usl, r_squared};

use super::scale_notes::{self, GOOD_ENOUGH};

pub use crate::stats::interval::Interval;
pub use crate::stats::models::{amdahl, gustafson, karp_flatt, usl};

/// The law that relates a serial fraction to speedup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Law {
    /// Fixed total work (strong scaling): S(p) = 1 / (f + (1 - f) / p).
    Amdahl,
    /// Work growing with the workers (weak scaling): S(p) = p - f (p - 1).
    Gustafson,
}

/// A one-parameter serial-fraction fit.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SerialFit {
    /// Amdahl for strong scaling, Gustafson for weak scaling.
    pub law: Law,
    /// The fitted serial fraction (0 ..= 1).
    pub serial_fraction: f64,
    /// R² on the fitted relative capacities.
    pub r2: f64,
    /// Degrees of freedom left: fitted worker counts - 1.
    pub dof: usize,
}

/// A Universal Scalability Law fit.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UslFit {
    /// Contention.
    pub sigma: f64,
    /// Coherency.
    pub kappa: f64,
    /// R² on the fitted relative capacities.
    pub r2: f64,
    /// Degrees of freedom left: fitted worker counts - 2.
    pub dof: usize,
    /// Worker count at the curve's peak (none when kappa is 0: no peak).
    pub peak_workers: Option<f64>,
    /// Relative capacity at the peak.
    pub peak_capacity: Option<f64>,
}

/// The models fitted to one runner's sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Fit {
    /// Worker counts above 1 that were fitted.
    pub points: usize,
    /// The largest worker count fitted: beyond it a model is an extrapolation.
    pub fitted_up_to: usize,
    /// The runner's speedup at one worker, which the capacities are relative to (1 when
    /// the sweep has no one-worker point).
    pub base_speedup: f64,
    /// Amdahl or Gustafson.
    pub serial: SerialFit,
    /// The USL, when there are enough points for two parameters.
    pub usl: Option<UslFit>,
}

impl Fit {
    /// The fitted USL as a speedup vs serial at `p` workers.
    pub fn usl_speedup(&self, p: f64) -> Option<f64> {
        self.usl.map(|u| self.base_speedup * usl(u.sigma, u.kappa, p))
    }
}

/// Why there is no fit, for `n` usable worker counts above 1.
pub fn too_few_points(n: usize) -> String {
    format!(
        "too few points to fit: {n} worker count(s) above 1 where the models apply; a serial fraction needs 2, \
         the USL 3"
    )
}

/// Fits the serial-fraction `law` and the USL to `(workers, speedup)` points, on the
/// relative capacity S(p) / S(1). A model needs one more worker count above 1 than it
/// has parameters; `Err` says why no model could be fitted.
pub fn fit(points: &[(f64, f64)], law: Law) -> Result<Fit, String> {
    let usable = |s: f64| s.is_finite() && s > 0.0;
    let base = points.iter().find(|p| p.0 == 1.0 && usable(p.1)).map_or(1.0, |p| p.1);
    let mut fitted: Vec<(f64, f64)> =
        points.iter().filter(|p| p.0 > 1.0 && usable(p.1)).map(|&(p, s)| (p, s / base)).collect();
    fitted.sort_by(|a, b| a.0.total_cmp(&b.0));
    fitted.dedup_by(|a, b| a.0 == b.0);
    let n = fitted.len();
    if n < 2 {
        return Err(too_few_points(n));
    }
    let serial_fraction = match law {
        Law::Amdahl => fit_amdahl(&fitted),
        Law::Gustafson => fit_gustafson(&fitted),
    };
    let r2 = match law {
        Law::Amdahl => r_squared(&fitted, |p| amdahl(serial_fraction, p)),
        Law::Gustafson => r_squared(&fitted, |p| gustafson(serial_fraction, p)),
    };
    let usl_fit = (n >= 3).then(|| {
        let (sigma, kappa) = fit_usl(&fitted);
        let peak_workers = (kappa > 0.0).then(|| ((1.0 - sigma) / kappa).sqrt().max(1.0));
        UslFit {
            sigma,
            kappa,
            r2: r_squared(&fitted, |p| usl(sigma, kappa, p)),
            dof: n - 2,
            peak_workers,
            peak_capacity: peak_workers.map(|p| usl(sigma, kappa, p)),
        }
    });
    Ok(Fit {
        points: n,
        fitted_up_to: fitted[n - 1].0 as usize,
        base_speedup: base,
        serial: SerialFit { law, serial_fraction, r2, dof: n - 1 },
        usl: usl_fit,
    })
}

/// What the measurement itself recommends: the smallest measured worker count within
/// `GOOD_ENOUGH` (95%) of the best measured speedup. Never outside the measured range.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Recommendation {
    /// The recommended worker count.
    pub workers: usize,
    /// Its measured speedup.
    pub speedup: f64,
    /// The worker count with the best measured speedup.
    pub best_workers: usize,
    /// The best measured speedup.
    pub best_speedup: f64,
}

/// The recommendation from measured `(workers, speedup)` points.
pub fn recommend(points: &[(usize, f64)]) -> Option<Recommendation> {
    let &(best_workers, best_speedup) =
        points.iter().filter(|p| p.1.is_finite()).max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))?;
    let &(workers, speedup) = points
        .iter()
        .filter(|p| p.1 >= GOOD_ENOUGH * best_speedup)
        .min_by_key(|p| p.0)
        .unwrap_or(&(best_workers, best_speedup));
    Some(Recommendation { workers, speedup, best_workers, best_speedup })
}

/// Results written by an older parbench may hold a fit of another shape: it is derived
/// data, so it is dropped rather than refusing the whole file.
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(d)?;
    Ok(value.and_then(|v| serde_json::from_value(v).ok()))
}

/// One (runner, worker count) cell of a sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScalePoint {
    /// Runner.
    pub runner: RunnerId,
    /// Worker count.
    pub workers: usize,
    /// Paired samples (rounds) behind the estimate.
    pub rounds: usize,
    /// Speedup vs serial in the same round: median with its 95% interval (order
    /// statistics of the paired ratios), or with fewer rounds than that needs (6), the
    /// range of the ratios. Under `--weak` the serial run does the grown work too:
    /// Gustafson's scaled speedup.
    pub speedup: Interval,
    /// The confidence the speedup interval really has: at least 0.95, less for the
    /// range of fewer than 6 ratios (0.75 for 3). Absent in files from before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<f64>,
    /// Efficiency (speedup / workers), or weak-scaling efficiency under `--weak`.
    pub efficiency: Interval,
    /// Karp-Flatt serial fraction of the relative capacity S(p) / S(1): strong scaling
    /// with a capacity above 1 only, and for CPU-bound work not beyond the cores (there
    /// it would measure the core count).
    pub karp_flatt: Option<f64>,
    /// Median wall time, ms.
    pub wall_ms: f64,
    /// Median CPU utilisation per worker: CPU time / (workers x wall time).
    #[serde(default)]
    pub cpu_per_worker: Option<f64>,
    /// Median load imbalance: busiest worker's busy time / mean busy time.
    pub imbalance: Option<f64>,
    /// Median idle fraction: 1 - busy time / (workers x wall time).
    pub idle_fraction: Option<f64>,
    /// The runner's fixed cost at this worker count (empty tasks), ms.
    pub overhead_ms: Option<f64>,
}

/// The scaling of one runner on one workload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunnerScaling {
    /// Runner.
    pub runner: RunnerId,
    /// The fit, when the sweep allows one.
    #[serde(default, deserialize_with = "lenient")]
    #[schemars(with = "Option<Fit>")]
    pub fit: Option<Fit>,
    /// Why there is no fit.
    pub no_fit: Option<String>,
    /// CPU-bound work swept beyond the available cores: the core count, which limits
    /// the curve from there on (the fit stops there).
    #[serde(default)]
    pub limited_by_cores: Option<usize>,
    /// The measured recommendation.
    #[serde(default)]
    pub recommendation: Option<Recommendation>,
    /// Smallest task, in ms, for which this runner beats serial at the largest worker
    /// count, given its calibrated overhead, the sweep's task count and the parallelism
    /// the work can use there (min(workers, cores) for CPU-bound work).
    pub break_even_task_ms: Option<f64>,
}

/// The one recommendation for a workload: the fewest workers, of any runner, within
/// 95% of the best measured speedup.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Best {
    /// The runner to use.
    pub runner: RunnerId,
    /// With this many workers.
    pub workers: usize,
    /// Its speedup vs serial, with the interval of its cell.
    pub speedup: Interval,
    /// The confidence that interval really has (see [`ScalePoint::coverage`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<f64>,
    /// The runner of the best measured speedup.
    pub best_runner: RunnerId,
    /// Its worker count.
    pub best_workers: usize,
    /// The best measured speedup.
    pub best_speedup: f64,
}

/// One workload configuration swept over worker counts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FamilyScaling {
    /// The workload at the largest worker count.
    pub label: String,
    /// Whether the work keeps a core busy: the workload does not declare that it waits.
    #[serde(default)]
    pub cpu_bound: bool,
    /// Every cell.
    pub points: Vec<ScalePoint>,
    /// Per runner.
    pub runners: Vec<RunnerScaling>,
    /// The one recommendation (none when no cell was measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best: Option<Best>,
    /// The recommendation in a sentence, printed first. Absent in files from before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// The per-runner findings, one sentence per cause naming the runners it applies to.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// The whole sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScaleAnalysis {
    /// Weak scaling (work grows with the workers) rather than strong.
    pub weak: bool,
    /// The worker counts swept.
    pub workers: Vec<usize>,
    /// Cores available to the measurement (affinity and cgroup limits included).
    #[serde(default)]
    pub cores: usize,
    /// One entry per workload configuration.
    pub families: Vec<FamilyScaling>,
    /// Sentences under all the tables (what the intervals are).
    #[serde(default)]
    pub notes: Vec<String>,
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
}

fn median_of(m: &Measurement, runner: RunnerId, f: impl Fn(&crate::runner::Sample) -> Option<f64>) -> Option<f64> {
    stats::median(
        &m.samples.iter().filter(|s| s.sample.runner == runner).filter_map(|s| f(&s.sample)).collect::<Vec<_>>(),
    )
}

/// Analyses a sweep on this machine's available cores (see [`analyze_on`]).
pub fn analyze(input: &SweepInput<'_>) -> ScaleAnalysis {
    analyze_on(input, crate::fingerprint::available_parallelism())
}

/// Analyses a sweep measured with `cores` available cores: intervals, Karp-Flatt,
/// fits where they apply, recommendations, overheads and load balance.
pub fn analyze_on(input: &SweepInput<'_>, cores: usize) -> ScaleAnalysis {
    let cores = cores.max(1);
    let max_workers = input.workers.iter().copied().max().unwrap_or(1);
    let tagged = || input.measurements.iter().zip(input.family_of.iter().copied());
    let overhead = |runner: RunnerId, workers: usize| -> Option<f64> {
        let (m, _) = tagged().find(|(m, f)| f.is_none() && m.workers == workers)?;
        median_of(m, runner, |s| Some(s.wall_ns as f64 / 1e6))
    };
    let law = if input.weak { Law::Gustafson } else { Law::Amdahl };
    let mut families = Vec::new();
    for family in 0..input.families {
        let ms: Vec<&Measurement> = tagged().filter(|(_, f)| *f == Some(family)).map(|(m, _)| m).collect();
        let Some(largest) = ms.iter().max_by_key(|m| m.workers) else { continue };
        let cpu_bound = ms.iter().any(|m| !m.properties.waits);
        let mut runners: Vec<RunnerId> = ms.iter().flat_map(|m| m.runners.iter().copied()).collect();
        runners.sort();
        runners.dedup();
        runners.retain(|&r| !r.is_reference());
        let mut points = Vec::new();
        let mut scalings = Vec::new();
        for &runner in &runners {
            let mut measured = Vec::new();
            for m in ms.iter().filter(|m| m.runners.contains(&runner)) {
                let wall = |s: &crate::runner::Sample| s.wall_ns as f64;
                let ratios = stats::paired_ratios(
                    &by_round(&m.samples, RunnerId::reference(), wall),
                    &by_round(&m.samples, runner, wall),
                );
                // Under --rounds auto, the confidence of the look that ended the case (as
                // `run`'s answer): a plain 95% after a data-dependent stop is too narrow.
                let confidence = m.precision.as_ref().filter(|l| l.rounds == m.rounds).map_or(0.95, |l| l.confidence);
                let Some((speedup, coverage)) = stats::interval::median_interval_or_range(&ratios, confidence) else {
                    continue;
                };
                let w = m.workers as f64;
                measured.push((m.workers, speedup.estimate));
                points.push(ScalePoint {
                    runner,
                    workers: m.workers,
                    rounds: ratios.len(),
                    speedup,
                    coverage: Some(coverage),
                    efficiency: Interval {
                        estimate: speedup.estimate / w,
                        low: speedup.low / w,
                        high: speedup.high / w,
                    },
                    // Filled in below, once the runner's one-worker speedup is known.
                    karp_flatt: None,
                    wall_ms: median_of(m, runner, |s| Some(s.wall_ns as f64 / 1e6)).unwrap_or(0.0),
                    cpu_per_worker: median_of(m, runner, |s| {
                        (s.wall_ns > 0).then(|| s.cpu_ns as f64 / (s.wall_ns as f64 * s.workers.max(1) as f64))
                    }),
                    imbalance: median_of(m, runner, crate::runner::Sample::imbalance),
                    idle_fraction: median_of(m, runner, |s| {
                        let busy: f64 = s.per_worker.iter().map(|x| x.busy_ns as f64).sum();
                        let capacity = s.workers as f64 * s.wall_ns as f64;
                        (capacity > 0.0).then(|| (1.0 - busy / capacity).clamp(0.0, 1.0))
                    }),
                    overhead_ms: overhead(runner, m.workers),
                });
            }
            // Karp-Flatt on the same S(p) / S(1) as the fits. It assumes fixed work and
            // a capacity the serial fraction can explain (none below 1), and beyond the
            // cores CPU-bound work measures the core count, not a serial fraction.
            let base = measured.iter().find(|p| p.0 == 1 && p.1 > 0.0).map_or(1.0, |p| p.1);
            for point in points.iter_mut().filter(|p| p.runner == runner) {
                let capacity = point.speedup.estimate / base;
                let beyond = cpu_bound && point.workers > cores;
                if !input.weak && !beyond && capacity > 1.0 {
                    point.karp_flatt = karp_flatt(capacity, point.workers as f64);
                }
            }
            let swept_beyond = measured.iter().any(|p| p.0 > cores);
            let limited_by_cores = (cpu_bound && swept_beyond).then_some(cores);
            let fit_points: Vec<(f64, f64)> = measured
                .iter()
                .filter(|p| limited_by_cores.is_none() || p.0 <= cores)
                .map(|&(w, s)| (w as f64, s))
                .collect();
            let (fit, no_fit) = match fit(&fit_points, law) {
                Ok(f) => (Some(f), None),
                Err(why) => (None, Some(why)),
            };
            let usable = if cpu_bound { max_workers.min(cores) } else { max_workers };
            let break_even_task_ms = (usable > 1)
                .then(|| overhead(runner, max_workers))
                .flatten()
                .map(|o| o / (largest.tasks as f64 * (1.0 - 1.0 / usable as f64)));
            scalings.push(RunnerScaling {
                runner,
                fit,
                no_fit,
                limited_by_cores,
                recommendation: recommend(&measured),
                break_even_task_ms,
            });
        }
        let best = scale_notes::best(&points);
        let answer = best.as_ref().map(|b| scale_notes::answer(b, &points, &scalings, cpu_bound.then_some(cores)));
        let useful = ms
            .iter()
            .find_map(|m| m.properties.compute_share)
            .map(|share| (share, super::notes::useful_workers(share, cores), cores));
        let notes = scale_notes::family_notes(&scalings, useful, best.as_ref());
        families.push(FamilyScaling {
            label: largest.label.clone(),
            cpu_bound,
            points,
            runners: scalings,
            best,
            answer,
            notes,
        });
    }
    let all: Vec<&ScalePoint> = families.iter().flat_map(|f| &f.points).collect();
    let notes = if all.is_empty() { Vec::new() } else { vec![scale_notes::interval_note(&all)] };
    ScaleAnalysis { weak: input.weak, workers: input.workers.clone(), cores, families, notes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::RecordedSample;
    use crate::rng::SplitMix64;
    use crate::runner::{Sample, WorkerStats};
    use crate::workload::Verification;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn the_amdahl_fit_recovers_a_serial_fraction_of_ten_percent() {
        let points: Vec<(f64, f64)> = [1.0, 2.0, 4.0, 8.0, 16.0].iter().map(|&p| (p, amdahl(0.1, p))).collect();
        let fit = fit(&points, Law::Amdahl).unwrap();
        assert!(close(fit.serial.serial_fraction, 0.1, 1e-4), "{fit:?}");
        assert!(fit.serial.r2 > 0.9999);
        assert_eq!((fit.points, fit.fitted_up_to, fit.serial.dof, fit.usl.unwrap().dof), (4, 16, 3, 2));
    }

    #[test]
    fn the_usl_fit_recovers_sigma_and_kappa_and_the_peak() {
        let (sigma, kappa) = (0.05, 0.002);
        let points: Vec<(f64, f64)> =
            [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0].iter().map(|&p| (p, usl(sigma, kappa, p))).collect();
        let u = fit(&points, Law::Amdahl).unwrap().usl.unwrap();
        assert!(close(u.sigma, sigma, 1e-6) && close(u.kappa, kappa, 1e-7), "{u:?}");
        assert!(u.r2 > 0.9999);
        // Peak at sqrt((1 - 0.05) / 0.002) = 21.8 workers.
        assert!(close(u.peak_workers.unwrap(), ((1.0 - sigma) / kappa).sqrt(), 1e-3));
    }

    #[test]
    fn noisy_usl_data_still_fits_closely() {
        let mut rng = SplitMix64::new(3);
        let points: Vec<(f64, f64)> = [1.0, 2.0, 4.0, 8.0, 12.0, 16.0, 24.0, 32.0]
            .iter()
            .map(|&p| (p, usl(0.03, 0.001, p) * (1.0 + ((rng.below(2001) as f64) / 1000.0 - 1.0) * 0.01)))
            .collect();
        let u = fit(&points, Law::Amdahl).unwrap().usl.unwrap();
        assert!(close(u.sigma, 0.03, 0.01) && close(u.kappa, 0.001, 0.0005), "{u:?}");
    }

    #[test]
    fn each_model_needs_a_degree_of_freedom() {
        // auto = 1,2,4: two counts above 1 fit a serial fraction (1 dof) but not the
        // USL, whose two parameters would pass through both points exactly.
        let f = fit(&[(1.0, 1.0), (2.0, 1.9), (4.0, 3.3)], Law::Amdahl).unwrap();
        assert_eq!((f.points, f.serial.dof), (2, 1));
        assert_eq!(f.usl, None);
        // One count above 1 (or the same count twice): nothing.
        let err = fit(&[(1.0, 1.0), (2.0, 1.9)], Law::Amdahl).unwrap_err();
        assert!(err.starts_with("too few points to fit: 1 worker count(s)"), "{err}");
        assert!(fit(&[(1.0, 1.0), (2.0, 1.9), (2.0, 1.8)], Law::Amdahl).is_err());
    }

    #[test]
    fn capacities_are_relative_to_the_runners_own_one_worker_speedup() {
        // A process runner at 0.8x with one worker and perfectly proportional beyond:
        // relative to itself it has no serial fraction. On raw speedups it would seem
        // to have a large one.
        let points: Vec<(f64, f64)> = [1.0, 2.0, 3.0, 4.0].iter().map(|&p| (p, 0.8 * p)).collect();
        let f = fit(&points, Law::Amdahl).unwrap();
        assert_eq!(f.base_speedup, 0.8);
        assert!(f.serial.serial_fraction < 1e-6, "{f:?}");
        assert!(close(f.usl_speedup(3.0).unwrap(), 2.4, 1e-6));
        let raw = fit(&points[1..], Law::Amdahl).unwrap();
        assert!(raw.serial.serial_fraction > 0.05, "{raw:?}");
    }

    #[test]
    fn weak_scaling_fits_gustafson_not_amdahl() {
        let points: Vec<(f64, f64)> = [1.0, 2.0, 4.0, 8.0].iter().map(|&p| (p, gustafson(0.1, p))).collect();
        let f = fit(&points, Law::Gustafson).unwrap();
        assert_eq!(f.serial.law, Law::Gustafson);
        assert!(close(f.serial.serial_fraction, 0.1, 1e-12) && f.serial.r2 > 0.9999, "{f:?}");
    }

    #[test]
    fn the_recommendation_is_the_smallest_measured_count_within_95_percent_of_the_best() {
        // Two cores: perfect scaling to 2 workers, flat beyond.
        let r = recommend(&[(1, 1.0), (2, 1.98), (4, 1.95), (8, 1.9)]).unwrap();
        assert_eq!((r.workers, r.best_workers), (2, 2));
        // Still climbing at the end of the sweep: the largest measured count, never more.
        let r = recommend(&[(1, 1.0), (2, 2.0), (4, 3.9), (8, 7.5)]).unwrap();
        assert_eq!((r.workers, r.best_workers), (8, 8));
        // 3.9 is 95.1% of 4.1: 4 workers suffice.
        let r = recommend(&[(2, 2.0), (4, 3.9), (6, 4.1)]).unwrap();
        assert_eq!((r.workers, r.speedup, r.best_workers, r.best_speedup), (4, 3.9, 6, 4.1));
        assert_eq!(recommend(&[]), None);
    }

    /// A measurement at `workers` with 5 rounds: serial `serial_ms` of wall, the others
    /// `runner_ms(kind)`; CPU time is `cpu` x wall x workers (1 = CPU-bound, 0 = waits).
    fn measurement(
        label: &str,
        workers: usize,
        serial_ms: f64,
        runner_ms: impl Fn(RunnerId) -> f64,
        cpu: f64,
    ) -> Measurement {
        let runners = vec![RunnerId::new("serial"), RunnerId::new("threads"), RunnerId::new("process")];
        let mut samples = Vec::new();
        for round in 0..5u32 {
            for (position, &kind) in runners.iter().enumerate() {
                let w = kind.workers(workers);
                let ms = if kind == RunnerId::new("serial") { serial_ms } else { runner_ms(kind) };
                // A little deterministic noise so the intervals have some width.
                let ms = ms * (1.0 + 0.002 * f64::from(round % 3));
                let wall_ns = (ms * 1e6) as u64;
                let busy = (cpu * ms * 1e6) as u64;
                samples.push(RecordedSample {
                    round,
                    position: position as u32,
                    sample: Sample::simulated(
                        kind,
                        w,
                        wall_ns,
                        (cpu * ms * 1e6 * w.min(2) as f64) as u64,
                        vec![WorkerStats { busy_ns: busy, tasks: 1 }; w],
                        Verification::Verified { detail: "ok".into() },
                    ),
                });
            }
        }
        let mut m = crate::analysis::fixture::fib_measurement(runners, samples);
        m.label = label.to_string();
        m.workers = workers;
        m.properties.waits = cpu < 0.5;
        m
    }

    /// A sweep on 1, 2, 4, 8 workers whose threads runner reaches `speedup(p)`; the
    /// process runner is 20% slower. Plus the overhead calibration (1 ms at every count).
    fn sweep(speedup: impl Fn(usize) -> f64, cpu: f64) -> (Vec<Measurement>, Vec<Option<usize>>) {
        let fib = || "fib (n=30, tasks=8)";
        let mut ms = Vec::new();
        let mut family_of = Vec::new();
        for p in [1, 2, 4, 8] {
            let serial = 100.0;
            ms.push(measurement(
                fib(),
                p,
                serial,
                |k| serial / speedup(p) * if k == RunnerId::new("process") { 1.2 } else { 1.0 },
                cpu,
            ));
            family_of.push(Some(0));
        }
        for p in [1, 2, 4, 8] {
            ms.push(measurement("noop (tasks=8) (calibration)", p, 0.5, |_| 1.0, cpu));
            family_of.push(None);
        }
        (ms, family_of)
    }

    fn analyse(ms: &[Measurement], family_of: &[Option<usize>], weak: bool, cores: usize) -> ScaleAnalysis {
        let input = SweepInput { measurements: ms, family_of, families: 1, weak, workers: vec![1, 2, 4, 8] };
        analyze_on(&input, cores)
    }

    fn threads(a: &ScaleAnalysis) -> &RunnerScaling {
        a.families[0].runners.iter().find(|r| r.runner == RunnerId::new("threads")).unwrap()
    }

    #[test]
    fn cpu_bound_work_is_fitted_only_up_to_the_cores() {
        // fib on 2 cores swept to 8 workers: perfect to 2, flat beyond. Fitting the whole
        // sweep blamed the flattening on serial work (Amdahl 42%) and a USL peak.
        let (ms, family_of) = sweep(|p| p.min(2) as f64, 1.0);
        let on_two = analyse(&ms, &family_of, false, 2);
        assert!(on_two.families[0].cpu_bound);
        let t = threads(&on_two);
        assert_eq!(t.limited_by_cores, Some(2));
        assert_eq!(t.fit, None);
        assert!(t.no_fit.as_deref().unwrap().starts_with("too few points to fit: 1 worker count"), "{t:?}");
        assert_eq!(t.recommendation.unwrap().workers, 2);
        // The same numbers from a machine with 8 cores are a real flattening: fitted.
        let on_eight = analyse(&ms, &family_of, false, 8);
        let t = threads(&on_eight);
        assert_eq!(t.limited_by_cores, None);
        assert!(t.fit.as_ref().unwrap().serial.serial_fraction > 0.3);
    }

    #[test]
    fn work_that_waits_keeps_its_whole_sweep() {
        let (ms, family_of) = sweep(|p| p as f64 * 0.98, 0.01);
        let a = analyse(&ms, &family_of, false, 2);
        assert!(!a.families[0].cpu_bound);
        let t = threads(&a);
        assert_eq!(t.limited_by_cores, None);
        let fit = t.fit.as_ref().unwrap();
        assert_eq!((fit.points, fit.fitted_up_to), (3, 8));
        assert!(fit.serial.serial_fraction < 0.01, "{fit:?}");
    }

    #[test]
    fn karp_flatt_is_shown_only_where_the_speedup_is_above_1_and_the_work_is_fixed() {
        let (ms, family_of) = sweep(|p| if p == 1 { 1.0 } else { 0.9 * p as f64 }, 0.01);
        let a = analyse(&ms, &family_of, false, 8);
        for p in &a.families[0].points {
            assert_eq!(p.karp_flatt.is_some(), p.speedup.estimate > 1.0, "{p:?}");
        }
        // The process runner at 1 worker: 1/1.2 = 0.83x, no Karp-Flatt.
        let process_one = a.families[0].points.iter().find(|p| p.runner == RunnerId::new("process") && p.workers == 1);
        assert_eq!(process_one.unwrap().karp_flatt, None);
        let weak = analyse(&ms, &family_of, true, 8);
        assert!(weak.families[0].points.iter().all(|p| p.karp_flatt.is_none()));
        assert!(weak.families[0].runners.iter().all(|r| r.fit.as_ref().is_none_or(|f| f.serial.law == Law::Gustafson)));
    }

    #[test]
    fn declared_cpu_bound_work_is_limited_by_the_cores_even_when_a_loaded_machine_halves_its_cpu_use() {
        // fib on a loaded 2-core machine: the serial runner got half a core (CPU / wall
        // 0.5). The old rule called that work that waits and fitted the flat curve
        // beyond the cores as serial work.
        let (mut ms, family_of) = sweep(|p| p.min(2) as f64, 0.5);
        for m in &mut ms {
            m.properties.waits = false;
        }
        let a = analyse(&ms, &family_of, false, 2);
        assert!(a.families[0].cpu_bound);
        assert_eq!(threads(&a).limited_by_cores, Some(2));
        // Declared waiting work keeps its whole sweep, whatever its CPU use.
        for m in &mut ms {
            m.properties.waits = true;
        }
        let a = analyse(&ms, &family_of, false, 2);
        assert!(!a.families[0].cpu_bound);
        assert_eq!(threads(&a).limited_by_cores, None);
    }

    #[test]
    fn a_few_rounds_get_the_range_of_their_ratios_with_the_confidence_it_really_has() {
        // 5 rounds: no 95% interval of a median exists (the range covers 1 - 2/32); the
        // percentile bootstrap called a narrower interval 95%.
        let (ms, family_of) = sweep(|p| p.min(2) as f64, 1.0);
        let a = analyse(&ms, &family_of, false, 2);
        let p = a.families[0].points.iter().find(|p| p.runner == RunnerId::new("threads") && p.workers == 2).unwrap();
        assert_eq!(p.coverage, Some(1.0 - 2.0 / 32.0));
        let ratios = stats::paired_ratios(
            &by_round(&ms[1].samples, RunnerId::new("serial"), |s| s.wall_ns as f64),
            &by_round(&ms[1].samples, RunnerId::new("threads"), |s| s.wall_ns as f64),
        );
        let lowest = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let highest = ratios.iter().copied().fold(0.0, f64::max);
        assert_eq!((p.speedup.low, p.speedup.high), (lowest, highest));
    }

    #[test]
    fn under_rounds_auto_a_point_has_the_interval_of_the_look_that_ended_its_case() {
        // 60 noisy rounds at 2 workers, ended by --max-time at their 5th look: a plain
        // 95% interval afterwards would be narrower than the one the stopping rule saw.
        let (mut ms, family_of) = sweep(|p| p.min(2) as f64, 1.0);
        let mut rng = crate::rng::SplitMix64::new(5);
        let template = ms[1].samples.clone();
        ms[1].samples = (0..60u32)
            .flat_map(|round| {
                let noise = 0.9 + rng.below(1001) as f64 / 5000.0;
                template.iter().filter(|s| s.round == 0).map(move |s| {
                    let mut s = s.clone();
                    s.round = round;
                    if s.sample.runner != RunnerId::new("serial") {
                        s.sample.wall_ns = (s.sample.wall_ns as f64 * noise) as u64;
                    }
                    s
                })
            })
            .collect();
        ms[1].rounds = 60;
        let point = |ms: &[Measurement]| {
            let a = analyse(ms, &family_of, false, 2);
            a.families[0]
                .points
                .iter()
                .find(|p| p.runner == RunnerId::new("threads") && p.workers == 2)
                .unwrap()
                .clone()
        };
        let plain = point(&ms);
        let runners = [RunnerId::new("serial"), RunnerId::new("threads"), RunnerId::new("process")];
        let look = crate::measure::Look::at(60, 5, &crate::measure::speedup_ratios(&ms[1].samples, &runners));
        ms[1].precision = Some(look.clone());
        let auto = point(&ms);
        let seen = look.intervals[0].unwrap();
        assert_eq!((auto.speedup.low, auto.speedup.high), (seen.low, seen.high));
        assert!(auto.speedup.low < plain.speedup.low && auto.speedup.high > plain.speedup.high, "{plain:?} {auto:?}");
        assert_eq!(
            auto.coverage,
            Some(stats::interval::order_coverage(60, stats::interval::sign_rank(60, look.confidence).unwrap()))
        );
    }

    #[test]
    fn karp_flatt_uses_the_relative_capacity_and_stops_at_the_cores() {
        // CPU-bound on 2 cores, perfect to 2 and flat beyond: at 4 and 8 workers the
        // old value (0.33 and 0.43) measured the core count, not a serial fraction.
        let (ms, family_of) = sweep(|p| p.min(2) as f64, 1.0);
        let a = analyse(&ms, &family_of, false, 2);
        let kf = |runner: RunnerId, workers: usize| {
            a.families[0].points.iter().find(|p| p.runner == runner && p.workers == workers).unwrap().karp_flatt
        };
        assert!(
            kf(RunnerId::new("threads"), 2).is_some_and(|e| e.abs() < 0.01),
            "{:?}",
            kf(RunnerId::new("threads"), 2)
        );
        assert_eq!((kf(RunnerId::new("threads"), 4), kf(RunnerId::new("threads"), 8)), (None, None));
        // The process runner is 20% slower at every count (S(1) = 0.83): relative to
        // its own one worker it scales perfectly to 2, as its fit says. On the raw
        // speedup (1.67 on 2) Karp-Flatt was 0.2.
        assert!(
            kf(RunnerId::new("process"), 2).is_some_and(|e| e.abs() < 0.01),
            "{:?}",
            kf(RunnerId::new("process"), 2)
        );
    }

    #[test]
    fn the_break_even_task_size_uses_the_parallelism_the_work_can_use() {
        // Overhead 1 ms at 8 workers, 8 tasks. CPU-bound on 2 cores: 1 / (8 x (1 - 1/2))
        // = 0.25 ms. Work that waits uses all 8: 1 / (8 x (1 - 1/8)) = 0.143 ms.
        let (ms, family_of) = sweep(|p| p.min(2) as f64, 1.0);
        let cpu = threads(&analyse(&ms, &family_of, false, 2)).break_even_task_ms.unwrap();
        assert!(close(cpu, 0.25, 0.01), "{cpu}");
        let (ms, family_of) = sweep(|p| p as f64, 0.0);
        let waits = threads(&analyse(&ms, &family_of, false, 2)).break_even_task_ms.unwrap();
        assert!(close(waits, 1.0 / 7.0, 0.01), "{waits}");
    }

    #[test]
    fn an_old_fit_in_a_result_file_is_dropped_not_refused() {
        let old = serde_json::json!({
            "runner": "threads",
            "fit": {"amdahl_serial_fraction": 0.4, "amdahl_r2": 0.9, "usl_sigma": 0.1, "usl_kappa": 0.0,
                    "usl_r2": 0.9, "peak_workers": null, "peak_speedup": 10.0, "recommended_workers": 5},
            "no_fit": null,
            "break_even_task_ms": 0.1,
            "summary": "threads: ..."
        });
        let r: RunnerScaling = serde_json::from_value(old).unwrap();
        assert_eq!((r.fit, r.limited_by_cores), (None, None));
    }
}
