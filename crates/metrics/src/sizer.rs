//! Sizer metrics: what the sizing earned per unit traded, whether its risk forecasts held,
//! its tail risk and its exposures.
//!
//! - PnL per unit of turnover: `Σ pnl_t / Σ turnover_t`, with turnover `Σ_i |w_i,t − w_i,t−1|`
//!   in units of equity (so the ratio is a return per unit of equity traded).
//! - Risk gap: realized volatility of the returns against the forecast volatility
//!   (root mean square of the forecast sigmas), their ratio and the standard deviation of
//!   the standardized returns `r_t / σ̂_t` (1 when the forecasts are calibrated).
//! - CVaR 95 and the maximum drawdown come from [`crate::tail`] and [`crate::drawdown`].

use prudentia_core::validate::{check_finite, check_len, check_shape};
use prudentia_core::{CoreError, Weights};
use serde::{Deserialize, Serialize};

use crate::error::MetricsResult;
use crate::returns::Returns;
use crate::stats::Moments;
use crate::types::{Annualization, Stat, Undefined};

/// `Σ pnl / Σ turnover` (per-period PnL and turnover in the same equity units).
/// Undefined when nothing was traded.
pub fn pnl_per_turnover(pnl: &[f64], turnover: &[f64]) -> MetricsResult<Stat> {
    check_shape("turnover", &[pnl.len()], &[turnover.len()])?;
    check_len("pnl", pnl.len(), 1)?;
    check_finite("pnl", pnl)?;
    check_finite("turnover", turnover)?;
    if let Some(t) = turnover.iter().find(|t| **t < 0.0) {
        return Err(CoreError::OutOfRange {
            field: "turnover",
            value: *t,
            expected: ">= 0",
        }
        .into());
    }
    Ok(Stat::ratio(
        pnl.iter().sum(),
        turnover.iter().sum(),
        Undefined::ZeroDenominator,
    ))
}

/// Forecast against realized risk.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RiskGap {
    /// Annualized forecast volatility: `√(mean σ̂_t²) · √k`.
    pub forecast_volatility: f64,
    /// Annualized realized volatility (`n − 1`).
    pub realized_volatility: Stat,
    /// `realized / forecast − 1`: > 0 when risk was underestimated.
    pub relative_gap: Stat,
    /// Standard deviation of `r_t / σ̂_t` (`n − 1`); 1 for calibrated forecasts.
    pub standardized_std: Stat,
    /// Share of periods with `|r_t| > 1.96 σ̂_t` (5 % for calibrated normal forecasts).
    pub exceedance_rate: f64,
}

/// Compares per-period forecast sigmas (finite, > 0) with the realized returns.
pub fn risk_gap(
    returns: &Returns,
    forecast_sigma: &[f64],
    annualization: Annualization,
) -> MetricsResult<RiskGap> {
    check_shape("forecast_sigma", &[returns.len()], &[forecast_sigma.len()])?;
    for &s in forecast_sigma {
        prudentia_core::validate::check_positive("forecast_sigma", s)?;
    }
    let r = returns.values();
    let n = r.len() as f64;
    let sk = annualization.periods_per_year().sqrt();
    let forecast = (forecast_sigma.iter().map(|s| s * s).sum::<f64>() / n).sqrt() * sk;
    let m = Moments::of(r, 0.0);
    let realized = crate::stats::volatility_from(m.n, m.std, annualization);
    let z: Vec<f64> = r.iter().zip(forecast_sigma).map(|(x, s)| x / s).collect();
    let mz = Moments::of(&z, 0.0);
    let standardized_std = if mz.n < 2 {
        Stat::Undefined(Undefined::TooFewObservations { n: mz.n, min: 2 })
    } else {
        Stat::from_value(mz.std)
    };
    let exceed = z.iter().filter(|z| z.abs() > 1.959_963_984_540_054).count() as f64 / n;
    Ok(RiskGap {
        forecast_volatility: forecast,
        realized_volatility: realized,
        relative_gap: realized.map(|v| v / forecast - 1.0),
        standardized_std,
        exceedance_rate: exceed,
    })
}

/// Exposure statistics over a sequence of weight vectors.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ExposureStats {
    /// Number of weight vectors.
    pub periods: usize,
    /// Mean gross exposure `Σ|w|`.
    pub mean_gross: f64,
    /// Largest gross exposure.
    pub max_gross: f64,
    /// Mean net exposure `Σw`.
    pub mean_net: f64,
    /// Smallest net exposure.
    pub min_net: f64,
    /// Largest net exposure.
    pub max_net: f64,
    /// Mean number of non-zero positions.
    pub mean_positions: f64,
    /// Largest single |weight| seen.
    pub max_abs_weight: f64,
    /// Mean turnover between consecutive weight vectors (0 with one vector).
    pub mean_turnover: f64,
    /// Largest turnover between consecutive weight vectors.
    pub max_turnover: f64,
}

/// Exposure statistics of `weights` (one vector per period, at least one).
pub fn exposure_stats(weights: &[Weights]) -> MetricsResult<ExposureStats> {
    check_len("weights", weights.len(), 1)?;
    for w in weights {
        check_finite("weights", &w.values)?;
    }
    let n = weights.len() as f64;
    let gross: Vec<f64> = weights.iter().map(Weights::gross).collect();
    let net: Vec<f64> = weights.iter().map(Weights::net).collect();
    let turnover: Vec<f64> = weights.windows(2).map(|p| p[0].turnover_to(&p[1])).collect();
    let fold_max = |v: &[f64]| v.iter().copied().fold(0.0_f64, f64::max);
    Ok(ExposureStats {
        periods: weights.len(),
        mean_gross: gross.iter().sum::<f64>() / n,
        max_gross: fold_max(&gross),
        mean_net: net.iter().sum::<f64>() / n,
        min_net: net.iter().copied().fold(f64::INFINITY, f64::min),
        max_net: net.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        mean_positions: weights
            .iter()
            .map(|w| w.values.iter().filter(|v| **v != 0.0).count() as f64)
            .sum::<f64>()
            / n,
        max_abs_weight: weights
            .iter()
            .flat_map(|w| w.values.iter().map(|v| v.abs()))
            .fold(0.0, f64::max),
        mean_turnover: if turnover.is_empty() {
            0.0
        } else {
            turnover.iter().sum::<f64>() / turnover.len() as f64
        },
        max_turnover: fold_max(&turnover),
    })
}

/// Sizer metrics gathered for a [`Report`](crate::Report).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SizerMetrics {
    /// PnL per unit of turnover.
    pub pnl_per_turnover: Stat,
    /// Forecast against realized risk, when forecasts were given.
    pub risk_gap: Option<RiskGap>,
    /// Historical CVaR 95 of the strategy's returns (a return, negative = loss).
    pub cvar_95: Stat,
    /// Maximum drawdown depth (≤ 0).
    pub max_drawdown: f64,
    /// Exposure statistics, when weights were given.
    pub exposure: Option<ExposureStats>,
}

impl SizerMetrics {
    /// Computes the sizer metrics of a strategy: its returns, per-period PnL and turnover,
    /// optional forecast sigmas (one per return) and optional weights.
    pub fn compute(
        returns: &Returns,
        pnl: &[f64],
        turnover: &[f64],
        forecast_sigma: Option<&[f64]>,
        weights: Option<&[Weights]>,
        annualization: Annualization,
    ) -> MetricsResult<Self> {
        Ok(Self {
            pnl_per_turnover: pnl_per_turnover(pnl, turnover)?,
            risk_gap: forecast_sigma
                .map(|s| risk_gap(returns, s, annualization))
                .transpose()?,
            cvar_95: crate::tail::conditional_value_at_risk(returns, crate::TailLevel::P05),
            max_drawdown: crate::drawdown::max_drawdown(returns).depth,
            exposure: weights.map(exposure_stats).transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pnl_turnover() {
        assert_eq!(
            pnl_per_turnover(&[1.0, 2.0], &[1.0, 2.0]).unwrap(),
            Stat::Value(1.0)
        );
        assert!(!pnl_per_turnover(&[1.0], &[0.0]).unwrap().is_defined());
        assert!(pnl_per_turnover(&[1.0], &[-1.0]).is_err());
        assert!(pnl_per_turnover(&[1.0], &[1.0, 2.0]).is_err());
        assert!(pnl_per_turnover(&[], &[]).is_err());
    }

    #[test]
    fn gap_detects_underestimated_risk() {
        let r = Returns::new(vec![0.02, -0.02, 0.02, -0.02]).unwrap();
        let g = risk_gap(&r, &[0.01; 4], Annualization::Daily252).unwrap();
        // realized s = √(4 · 0.0004 / 3), forecast 0.01 (both × √252).
        let s = (0.0016f64 / 3.0).sqrt();
        assert!((g.relative_gap.value().unwrap() - (s / 0.01 - 1.0)).abs() < 1e-12);
        assert_eq!(g.exceedance_rate, 1.0);
        assert!(risk_gap(&r, &[0.0; 4], Annualization::Daily252).is_err());
        assert!(risk_gap(&r, &[0.01; 3], Annualization::Daily252).is_err());
    }

    #[test]
    fn exposures() {
        let w1 = Weights::new(vec!["A".into(), "B".into()], vec![0.5, -0.25]).unwrap();
        let w2 = Weights::new(vec!["A".into()], vec![1.0]).unwrap();
        let e = exposure_stats(&[w1, w2]).unwrap();
        assert_eq!(e.max_gross, 1.0);
        assert_eq!(e.mean_gross, 0.875);
        assert_eq!(e.min_net, 0.25);
        assert_eq!(e.mean_positions, 1.5);
        assert_eq!(e.mean_turnover, 0.75);
        assert!(exposure_stats(&[]).is_err());
    }
}
