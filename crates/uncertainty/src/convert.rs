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

use prudentia_core::validate::{check_finite, check_len, check_shape, check_size, MAX_DIM};
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
    check_size("quantile levels", levels.len(), MAX_DIM)?;
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
/// Errors: bad levels, more than `MAX_DIM` levels, non-finite mean, sigma ≤ 0, a quantile
/// outside the finite range.
pub fn normal_quantiles(mean: f64, sigma: f64, levels: &[f64]) -> Result<Vec<Quantile>> {
    check_levels(levels)?;
    check_finite("mean", &[mean])?;
    crate::scores::check_sigma(&[sigma])?;
    levels
        .iter()
        .map(|&l| {
            finite_or_numerical(mean + sigma * normal::ppf(l), "normal quantile")
                .map(|value| Quantile { level: l, value })
        })
        .collect()
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
                    row: None,
                    index: i + 1,
                    level: Some(levels[i + 1]),
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
///
/// Errors: a level outside (0, 1); an invalid forecast ([`check_forecast`]); a quantile
/// outside the finite range (`CoreError::Numerical`).
pub fn forecast_quantile(f: &Forecast, level: f64) -> Result<f64> {
    check_levels(&[level])?;
    check_forecast(f)?;
    let q = &f.quantiles;
    let v = if q.len() >= 2 && level >= q[0].level && level <= q[q.len() - 1].level {
        let j = q.partition_point(|x| x.level < level).clamp(1, q.len() - 1);
        let (a, b) = (q[j - 1], q[j]);
        let t = (level - a.level) / (b.level - a.level);
        let d = a.value + (b.value - a.value) * t;
        if d.is_finite() {
            d
        } else {
            (a.value * (1.0 - t) + b.value * t).clamp(a.value, b.value)
        }
    } else {
        f.mean + f.sigma * normal::ppf(level)
    };
    finite_or_numerical(v, "forecast quantile")
}

/// `Ok(v)` if finite, else `CoreError::Numerical` naming `operation`.
pub(crate) fn finite_or_numerical(v: f64, operation: &'static str) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(CoreError::Numerical {
            operation,
            detail: "the result is outside the finite range",
        }
        .into())
    }
}

/// Fails unless the horizon is finite and > 0 (a `Horizon` loaded from JSON is not checked).
pub(crate) fn check_horizon(h: Horizon) -> Result<()> {
    let d = h.days();
    if d.is_finite() && d > 0.0 {
        Ok(())
    } else {
        Err(CoreError::OutOfRange {
            field: "horizon",
            value: d,
            expected: "finite and > 0 trading days",
        }
        .into())
    }
}

/// Checks every number a [`Forecast`] carries (its fields are public, so one built by hand
/// or loaded from JSON may hold anything): mean finite, sigma finite and > 0, horizon
/// finite and > 0, quantiles with increasing levels in (0, 1) and finite non-crossing
/// values, finite regime means, causal effect and calibration summary.
pub fn check_forecast(f: &Forecast) -> Result<()> {
    check_horizon(f.horizon)?;
    Forecast::new(f.mean, f.sigma, f.horizon)?.with_quantiles(f.quantiles.clone())?;
    for v in f.regime_means.values() {
        check_finite("regime mean", &[*v])?;
    }
    if let Some(c) = &f.causal_effect {
        check_finite("causal effect", &[c.cate, c.std_error, c.p_value])?;
    }
    if let Some(c) = &f.calibration {
        check_finite("calibration ece", &[c.ece])?;
        if let Some(cov) = c.coverage {
            check_finite("calibration coverage", &[cov])?;
        }
    }
    Ok(())
}
