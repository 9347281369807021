//! Calibration and scoring metrics: ECE with equal-width or equal-mass bins, the probability
//! integral transform (PIT) with a histogram and uniformity tests, the CRPS of a Normal
//! forecast (Gneiting & Raftery 2007), and interval coverage and width.

use prudentia_core::validate::{check_finite, check_len, check_shape, check_size, MAX_DIM};
use prudentia_core::CoreError;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::normal;

/// How ECE bins are formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Binning {
    /// `n_bins` bins of equal width on [0, 1].
    EqualWidth,
    /// `n_bins` bins holding (as nearly as possible) equal numbers of predictions,
    /// by sorted prediction.
    EqualMass,
}

/// One row of a reliability table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// Lower edge of the bin's predictions.
    pub lower: f64,
    /// Upper edge of the bin's predictions.
    pub upper: f64,
    /// Number of predictions in the bin.
    pub count: usize,
    /// Mean predicted probability in the bin.
    pub mean_predicted: f64,
    /// Observed frequency of the event in the bin.
    pub observed: f64,
}

/// An expected calibration error with its reliability table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ece {
    /// `ECE = Σ_b (n_b / n) · |observed_b − mean_predicted_b|`.
    pub ece: f64,
    /// The non-empty bins.
    pub bins: Vec<ReliabilityBin>,
}

fn check_probs(field: &'static str, p: &[f64]) -> Result<()> {
    check_finite(field, p)?;
    if let Some(i) = p.iter().position(|&v| !(0.0..=1.0).contains(&v)) {
        return Err(CoreError::OutOfRange {
            field,
            value: p[i],
            expected: "in [0, 1]",
        }
        .into());
    }
    Ok(())
}

/// Expected calibration error of probability forecasts of a binary event.
///
/// Equal-width bins are `[k/B, (k+1)/B)` (the last closed). Equal-mass bins split the sorted
/// predictions into `B` runs of ⌊n/B⌋ or ⌈n/B⌉.
///
/// Errors: empty input, length mismatch, probabilities outside [0, 1] or NaN, `n_bins = 0`
/// or above `MAX_DIM`.
pub fn ece(probs: &[f64], outcomes: &[bool], n_bins: usize, binning: Binning) -> Result<Ece> {
    check_len("probs", probs.len(), 1)?;
    check_shape("outcomes", &[probs.len()], &[outcomes.len()])?;
    check_probs("probs", probs)?;
    check_len("n_bins", n_bins, 1)?;
    check_size("n_bins", n_bins, MAX_DIM)?;
    let n = probs.len();
    let mut groups: Vec<Vec<usize>> = vec![Vec::new(); n_bins];
    let mut edges: Vec<(f64, f64)> = Vec::with_capacity(n_bins);
    match binning {
        Binning::EqualWidth => {
            for (i, &p) in probs.iter().enumerate() {
                let b = ((p * n_bins as f64) as usize).min(n_bins - 1);
                groups[b].push(i);
            }
            for b in 0..n_bins {
                edges.push((b as f64 / n_bins as f64, (b + 1) as f64 / n_bins as f64));
            }
        }
        Binning::EqualMass => {
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|&a, &b| probs[a].total_cmp(&probs[b]));
            for b in 0..n_bins {
                let lo = b * n / n_bins;
                let hi = (b + 1) * n / n_bins;
                groups[b].extend_from_slice(&order[lo..hi]);
                if hi > lo {
                    edges.push((probs[order[lo]], probs[order[hi - 1]]));
                } else {
                    edges.push((f64::NAN, f64::NAN));
                }
            }
        }
    }
    let mut bins = Vec::new();
    let mut total = 0.0;
    for (g, &(lower, upper)) in groups.iter().zip(&edges) {
        if g.is_empty() {
            continue;
        }
        let c = g.len() as f64;
        let mp = g.iter().map(|&i| probs[i]).sum::<f64>() / c;
        let ob = g.iter().filter(|&&i| outcomes[i]).count() as f64 / c;
        total += c / n as f64 * (ob - mp).abs();
        bins.push(ReliabilityBin {
            lower,
            upper,
            count: g.len(),
            mean_predicted: mp,
            observed: ob,
        });
    }
    Ok(Ece { ece: total, bins })
}

/// PIT values `u_i = Φ((y_i − μ_i)/σ_i)` of Normal forecasts.
///
/// Errors: length mismatch, non-finite values, sigma ≤ 0.
pub fn pit_normal(mean: &[f64], sigma: &[f64], y: &[f64]) -> Result<Vec<f64>> {
    check_shape("sigma", &[mean.len()], &[sigma.len()])?;
    check_shape("y", &[mean.len()], &[y.len()])?;
    check_finite("mean", mean)?;
    check_finite("y", y)?;
    check_sigma(sigma)?;
    Ok(mean
        .iter()
        .zip(sigma)
        .zip(y)
        .map(|((&m, &s), &v)| normal::cdf((v - m) / s))
        .collect())
}

pub(crate) fn check_sigma(sigma: &[f64]) -> Result<()> {
    check_finite("sigma", sigma)?;
    if let Some(i) = sigma.iter().position(|&s| s <= 0.0) {
        return Err(CoreError::OutOfRange {
            field: "sigma",
            value: sigma[i],
            expected: "> 0",
        }
        .into());
    }
    Ok(())
}

/// A PIT histogram and two uniformity tests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PitHistogram {
    /// Counts in `n_bins` equal-width bins on [0, 1].
    pub counts: Vec<usize>,
    /// Pearson chi-square statistic against equal expected counts.
    pub chi_square: f64,
    /// Its p-value with `n_bins − 1` degrees of freedom.
    pub chi_square_p_value: f64,
    /// Kolmogorov–Smirnov statistic `D = sup |F_n(u) − u|`.
    pub ks_statistic: f64,
    /// Asymptotic KS p-value (Kolmogorov distribution with Stephens' small-sample correction).
    pub ks_p_value: f64,
}

/// Histogram of PIT values with chi-square and KS tests of uniformity. A calibrated
/// forecaster has uniform PIT; a ∪ shape means over-confidence, ∩ under-confidence, a slope bias.
///
/// Errors: empty input, values outside [0, 1] or NaN, fewer than 2 bins or more than
/// `MAX_DIM`.
pub fn pit_histogram(pit: &[f64], n_bins: usize) -> Result<PitHistogram> {
    check_len("pit", pit.len(), 1)?;
    check_probs("pit", pit)?;
    check_len("n_bins", n_bins, 2)?;
    check_size("n_bins", n_bins, MAX_DIM)?;
    let n = pit.len();
    let mut counts = vec![0usize; n_bins];
    for &u in pit {
        counts[((u * n_bins as f64) as usize).min(n_bins - 1)] += 1;
    }
    let e = n as f64 / n_bins as f64;
    let chi: f64 = counts.iter().map(|&c| (c as f64 - e).powi(2) / e).sum();
    let chi_p = gamma_q(0.5 * (n_bins - 1) as f64, 0.5 * chi);
    let mut s = pit.to_vec();
    s.sort_by(f64::total_cmp);
    let mut d: f64 = 0.0;
    for (i, &u) in s.iter().enumerate() {
        d = d.max((i + 1) as f64 / n as f64 - u).max(u - i as f64 / n as f64);
    }
    let sn = (n as f64).sqrt();
    let ks_p = kolmogorov_q((sn + 0.12 + 0.11 / sn) * d);
    Ok(PitHistogram {
        counts,
        chi_square: chi,
        chi_square_p_value: chi_p,
        ks_statistic: d,
        ks_p_value: ks_p,
    })
}

/// Kolmogorov survival function `Q(λ) = 2 Σ_{k≥1} (−1)^{k−1} exp(−2k²λ²)`.
fn kolmogorov_q(lambda: f64) -> f64 {
    if lambda < 0.2 {
        return 1.0;
    }
    let mut sum = 0.0;
    let mut sign = 1.0;
    for k in 1..=100 {
        let kf = k as f64;
        let term = sign * (-2.0 * kf * kf * lambda * lambda).exp();
        sum += term;
        if term.abs() < 1e-16 {
            break;
        }
        sign = -sign;
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

/// Regularized upper incomplete gamma `Q(a, x)` (series for x < a + 1, continued fraction
/// otherwise; Numerical Recipes §6.2).
pub(crate) fn gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let gln = libm::lgamma(a);
    if x < a + 1.0 {
        let mut ap = a;
        let mut sum = 1.0 / a;
        let mut del = sum;
        for _ in 0..1000 {
            ap += 1.0;
            del *= x / ap;
            sum += del;
            if del.abs() < sum.abs() * 1e-16 {
                break;
            }
        }
        1.0 - sum * (-x + a * x.ln() - gln).exp()
    } else {
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..1000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < 1e-16 {
                break;
            }
        }
        (-x + a * x.ln() - gln).exp() * h
    }
}

/// Calibration error of distributional forecasts from their PIT values: the mean over
/// `levels` of `|#{u_i ≤ p} / n − p|` (the quantile-calibration error of Kuleshov et al.
/// 2018, an ECE over the forecast's own quantile levels).
///
/// Errors: empty input, PIT or levels outside [0, 1].
pub fn quantile_calibration_error(pit: &[f64], levels: &[f64]) -> Result<f64> {
    check_len("pit", pit.len(), 1)?;
    check_len("levels", levels.len(), 1)?;
    check_probs("pit", pit)?;
    check_probs("levels", levels)?;
    let mut s = pit.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len() as f64;
    Ok(levels
        .iter()
        .map(|&p| (s.partition_point(|&u| u <= p) as f64 / n - p).abs())
        .sum::<f64>()
        / levels.len() as f64)
}

/// The nine levels 0.1, 0.2, …, 0.9 used by default for [`quantile_calibration_error`].
pub const DECILE_LEVELS: [f64; 9] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/// CRPS of a Normal forecast N(μ, σ²) at outcome y (Gneiting & Raftery 2007, eq. 21):
///
/// ```text
/// CRPS = σ [ z (2Φ(z) − 1) + 2φ(z) − 1/√π ],   z = (y − μ)/σ
/// ```
///
/// Errors: non-finite mean or y, sigma ≤ 0, a CRPS outside the finite range.
pub fn crps_normal(mean: f64, sigma: f64, y: f64) -> Result<f64> {
    check_finite("mean", &[mean])?;
    check_finite("y", &[y])?;
    check_sigma(&[sigma])?;
    let z = (y - mean) / sigma;
    let c =
        sigma * (z * (2.0 * normal::cdf(z) - 1.0) + 2.0 * normal::pdf(z) - 1.0 / std::f64::consts::PI.sqrt());
    crate::convert::finite_or_numerical(c, "CRPS")
}

/// Negative log-likelihood of y under N(μ, σ²).
pub fn nll_normal(mean: f64, sigma: f64, y: f64) -> f64 {
    let z = (y - mean) / sigma;
    0.5 * z * z + sigma.ln() + 0.5 * (2.0 * std::f64::consts::PI).ln()
}

/// Pinball (quantile) loss of predicting `q` for level `tau` at outcome `y`:
/// `ρ_τ(y − q) = max(τ (y − q), (τ − 1)(y − q))`.
pub fn pinball(tau: f64, q: f64, y: f64) -> f64 {
    let u = y - q;
    if u >= 0.0 {
        tau * u
    } else {
        (tau - 1.0) * u
    }
}

/// Coverage and width of prediction intervals.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IntervalScore {
    /// Share of outcomes with `lower ≤ y ≤ upper`.
    pub coverage: f64,
    /// Mean of `upper − lower`.
    pub mean_width: f64,
    /// Number of intervals.
    pub count: usize,
}

/// Coverage and mean width of intervals `[lower_i, upper_i]` for outcomes `y_i`.
///
/// Errors: empty input, length mismatch, non-finite values, `lower > upper`, a mean width
/// outside the finite range.
pub fn interval_score(lower: &[f64], upper: &[f64], y: &[f64]) -> Result<IntervalScore> {
    check_len("lower", lower.len(), 1)?;
    check_shape("upper", &[lower.len()], &[upper.len()])?;
    check_shape("y", &[lower.len()], &[y.len()])?;
    check_finite("lower", lower)?;
    check_finite("upper", upper)?;
    check_finite("y", y)?;
    if let Some(i) = lower.iter().zip(upper).position(|(l, u)| l > u) {
        return Err(CoreError::OutOfRange {
            field: "upper",
            value: upper[i],
            expected: ">= lower",
        }
        .into());
    }
    let n = lower.len();
    let covered = (0..n).filter(|&i| lower[i] <= y[i] && y[i] <= upper[i]).count();
    let mut width = (0..n).map(|i| upper[i] - lower[i]).sum::<f64>() / n as f64;
    if !width.is_finite() {
        width = (0..n)
            .map(|i| (0.5 * upper[i] - 0.5 * lower[i]) / n as f64)
            .sum::<f64>()
            * 2.0;
    }
    let width = crate::convert::finite_or_numerical(width, "interval width")?;
    Ok(IntervalScore {
        coverage: covered as f64 / n as f64,
        mean_width: width,
        count: n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crps_at_mean_is_closed_form() {
        // z = 0: CRPS = σ (2φ(0) − 1/√π) = σ (√2 − 1)/√π.
        let c = crps_normal(0.0, 2.0, 0.0).unwrap();
        let expect = 2.0 * (2f64.sqrt() - 1.0) / std::f64::consts::PI.sqrt();
        assert!((c - expect).abs() < 1e-15);
    }

    #[test]
    fn gamma_q_matches_chi_square_table() {
        // χ²(1) upper tail at 3.841459 is 0.05; χ²(9) at 16.918978 is 0.05 (standard tables).
        assert!((gamma_q(0.5, 3.841_458_820_694_124 / 2.0) - 0.05).abs() < 1e-9);
        assert!((gamma_q(4.5, 16.918_977_604_620_45 / 2.0) - 0.05).abs() < 1e-9);
    }

    #[test]
    fn perfect_ece_is_zero() {
        let p = [0.0, 0.0, 1.0, 1.0];
        let o = [false, false, true, true];
        assert_eq!(ece(&p, &o, 10, Binning::EqualWidth).unwrap().ece, 0.0);
        assert_eq!(ece(&p, &o, 2, Binning::EqualMass).unwrap().ece, 0.0);
    }
}
