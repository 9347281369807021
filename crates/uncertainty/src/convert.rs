//! Conversions between quantiles, Normal distributions and (mean, sigma, horizon).
//!
//! - Normal → quantiles: `q_τ = μ + σ Φ⁻¹(τ)`.
//! - Quantiles → Normal: least squares of `q_τ` on `(1, Φ⁻¹(τ))`, i.e. the (μ, σ) whose
//!   quantiles are closest to the given ones; exact when they are Normal quantiles.
//! - Horizon: core's i.i.d. rule (`mean × k`, `sigma × √k`, `k = new/old days`), see
//!   [`prudentia_core::Forecast::rescale`].
//! - Crossing quantiles are an error ([`UncertaintyError::CrossingQuantiles`]) unless
//!   [`CrossingRepair::Rearrange`] is asked for: sorting the values (the monotone
//!   rearrangement of Chernozhukov, Fernández-Val & Galichon 2010), which never increases
//!   the pinball loss.

use prudentia_core::validate::{check_finite, check_len, check_shape};
use prudentia_core::{CoreError, Forecast, Horizon, Quantile};
use serde::{Deserialize, Serialize};

use crate::error::{Result, UncertaintyError};
use crate::normal;

/// What to do with crossing quantiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum CrossingRepair {
    /// Return [`UncertaintyError::CrossingQuantiles`] (default).
    #[default]
    Error,
    /// Sort the values (monotone rearrangement).
    Rearrange,
}

/// Checks quantile levels: each finite in (0, 1), strictly increasing, at least one.
pub fn check_levels(levels: &[f64]) -> Result<()> {
    check_len("quantile levels", levels.len(), 1)?;
    for &l in levels {
        if !(l > 0.0 && l < 1.0) {
            return Err(CoreError::OutOfRange {
                field: "quantile level",
                value: l,
                expected: "in (0, 1)",
            }
            .into());
        }
    }
    if let Some(i) = levels.windows(2).position(|w| w[1] <= w[0]) {
        return Err(CoreError::NotIncreasing {
            field: "quantile levels",
            index: i + 1,
        }
        .into());
    }
    Ok(())
}

/// Quantiles of N(μ, σ²) at the given levels.
///
/// Errors: bad levels, non-finite mean, sigma ≤ 0.
pub fn normal_quantiles(mean: f64, sigma: f64, levels: &[f64]) -> Result<Vec<Quantile>> {
    check_levels(levels)?;
    check_finite("mean", &[mean])?;
    crate::metrics::check_sigma(&[sigma])?;
    Ok(levels
        .iter()
        .map(|&l| Quantile {
            level: l,
            value: mean + sigma * normal::ppf(l),
        })
        .collect())
}

/// A forecast carrying its Normal quantiles.
pub fn forecast_with_quantiles(mean: f64, sigma: f64, horizon: Horizon, levels: &[f64]) -> Result<Forecast> {
    let q = normal_quantiles(mean, sigma, levels)?;
    Ok(Forecast::new(mean, sigma, horizon)?.with_quantiles(q)?)
}

/// Checks or repairs a quantile set: levels valid, values finite, values non-decreasing
/// (or rearranged). Returns the (possibly repaired) values.
pub fn check_quantiles(levels: &[f64], values: &[f64], repair: CrossingRepair) -> Result<Vec<f64>> {
    check_levels(levels)?;
    check_shape("quantile values", &[levels.len()], &[values.len()])?;
    check_finite("quantile values", values)?;
    let mut v = values.to_vec();
    if let Some(i) = v.windows(2).position(|w| w[1] < w[0]) {
        match repair {
            CrossingRepair::Error => {
                return Err(UncertaintyError::CrossingQuantiles {
                    index: i + 1,
                    level: levels[i + 1],
                    value: v[i + 1],
                    previous: v[i],
                })
            }
            CrossingRepair::Rearrange => v.sort_by(f64::total_cmp),
        }
    }
    Ok(v)
}

/// The Normal (μ, σ) closest in least squares to the given quantiles, as a forecast over
/// `horizon` that also carries the (repaired) quantiles.
///
/// Needs two or more quantiles with distinct values (else sigma is not identified:
/// [`CoreError::OutOfRange`] on `sigma`).
pub fn forecast_from_quantiles(
    levels: &[f64],
    values: &[f64],
    horizon: Horizon,
    repair: CrossingRepair,
) -> Result<Forecast> {
    let v = check_quantiles(levels, values, repair)?;
    check_len("quantile levels", levels.len(), 2)?;
    let z: Vec<f64> = levels.iter().map(|&l| normal::ppf(l)).collect();
    let n = z.len() as f64;
    let zm = z.iter().sum::<f64>() / n;
    let vm = v.iter().sum::<f64>() / n;
    let szz: f64 = z.iter().map(|a| (a - zm) * (a - zm)).sum();
    let szv: f64 = z.iter().zip(&v).map(|(a, b)| (a - zm) * (b - vm)).sum();
    let sigma = szv / szz;
    let mean = vm - sigma * zm;
    let q = levels
        .iter()
        .zip(&v)
        .map(|(&l, &x)| Quantile { level: l, value: x })
        .collect();
    Ok(Forecast::new(mean, sigma, horizon)?.with_quantiles(q)?)
}

/// A forecast's quantile at `level`: from its quantiles by linear interpolation when `level`
/// lies inside their range, else from its Normal (mean, sigma).
pub fn forecast_quantile(f: &Forecast, level: f64) -> Result<f64> {
    check_levels(&[level])?;
    let q = &f.quantiles;
    if q.len() >= 2 && level >= q[0].level && level <= q[q.len() - 1].level {
        let j = q.partition_point(|x| x.level < level).max(1);
        let (a, b) = (q[j - 1], q[j]);
        return Ok(a.value + (b.value - a.value) * (level - a.level) / (b.level - a.level));
    }
    Ok(f.mean + f.sigma * normal::ppf(level))
}
