//! Scaling models: Amdahl's law (fixed work), Gustafson's law (work growing with the
//! workers), the Universal Scalability Law and the Karp-Flatt metric, with their
//! least-squares fits. [`crate::analysis::scaling`] decides where they apply.
//!
//! The USL is fitted by the standard linearisation `p / S(p) - 1 = sigma (p - 1) +
//! kappa p (p - 1)` (a linear least-squares problem in sigma and kappa, constrained to
//! be non-negative); its goodness of fit is judged on the speedups themselves, not on
//! the transformed values.

/// Karp-Flatt experimentally determined serial fraction for speedup `s` on `p` workers:
/// e = (1/s - 1/p) / (1 - 1/p). Undefined for p = 1.
pub fn karp_flatt(s: f64, p: f64) -> Option<f64> {
    (p > 1.0 && s > 0.0).then(|| (1.0 / s - 1.0 / p) / (1.0 - 1.0 / p))
}

/// Amdahl's law: speedup on `p` workers with serial fraction `f`.
pub fn amdahl(f: f64, p: f64) -> f64 {
    1.0 / (f + (1.0 - f) / p)
}

/// Gustafson's law: scaled speedup on `p` workers when the work grows with them and a
/// fraction `alpha` of the (parallel) run time is serial.
pub fn gustafson(alpha: f64, p: f64) -> f64 {
    p - alpha * (p - 1.0)
}

/// The Universal Scalability Law: speedup on `p` workers with contention `sigma` and
/// coherency `kappa`.
pub fn usl(sigma: f64, kappa: f64, p: f64) -> f64 {
    p / (1.0 + sigma * (p - 1.0) + kappa * p * (p - 1.0))
}

/// R² of `model` on `(x, y)` points: 1 - residual / total sum of squares.
pub fn r_squared(observed: &[(f64, f64)], model: impl Fn(f64) -> f64) -> f64 {
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

/// Least-squares serial fraction of Amdahl's law on `(workers, speedup)` points, by
/// golden-section search on [0, 1].
pub fn fit_amdahl(points: &[(f64, f64)]) -> f64 {
    let cost = |f: f64| points.iter().map(|&(p, s)| (s - amdahl(f, p)).powi(2)).sum::<f64>();
    let (mut a, mut b) = (0.0f64, 1.0f64);
    let g = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..100 {
        let (c, d) = (b - g * (b - a), a + g * (b - a));
        if cost(c) < cost(d) { b = d } else { a = c }
    }
    (a + b) / 2.0
}

/// Least-squares serial fraction of Gustafson's law on `(workers, scaled speedup)`
/// points (closed form: the law is linear in alpha), clamped to [0, 1].
pub fn fit_gustafson(points: &[(f64, f64)]) -> f64 {
    let (num, den) = points.iter().fold((0.0, 0.0), |(n, d), &(p, s)| (n + (p - 1.0) * (p - s), d + (p - 1.0).powi(2)));
    if den > 0.0 { (num / den).clamp(0.0, 1.0) } else { 0.0 }
}

/// USL `(sigma, kappa)` on `(workers, speedup)` points: non-negative least squares of
/// the linearised form.
pub fn fit_usl(points: &[(f64, f64)]) -> (f64, f64) {
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
    fn the_fits_recover_the_parameters_of_exact_data() {
        let points: Vec<(f64, f64)> = [1.0, 2.0, 4.0, 8.0, 16.0].iter().map(|&p| (p, amdahl(0.1, p))).collect();
        assert!(close(fit_amdahl(&points), 0.1, 1e-4));
        let points: Vec<(f64, f64)> = [1.0, 2.0, 4.0, 8.0, 16.0].iter().map(|&p| (p, usl(0.05, 0.002, p))).collect();
        let (sigma, kappa) = fit_usl(&points);
        assert!(close(sigma, 0.05, 1e-9) && close(kappa, 0.002, 1e-10), "{sigma} {kappa}");
        assert!(r_squared(&points, |p| usl(sigma, kappa, p)) > 0.999_999);
        let points: Vec<(f64, f64)> = [2.0, 4.0, 8.0].iter().map(|&p| (p, gustafson(0.2, p))).collect();
        assert!(close(fit_gustafson(&points), 0.2, 1e-12));
        // Gustafson at alpha 0.2 on 8 workers: 8 - 0.2 x 7 = 6.6; Amdahl at 0.2: 1/(0.2 + 0.1) = 3.33.
        assert!(close(gustafson(0.2, 8.0), 6.6, 1e-12) && close(amdahl(0.2, 8.0), 1.0 / 0.3, 1e-12));
    }
}
