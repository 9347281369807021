//! Health metrics gathered from the other stages' outputs, computed once, here:
//! quarantine rates (from the guard's [`Screened`] results) and safe-fallback rates (from
//! [`Decision`]s), calibration of forecasts
//! (expected calibration error, interval coverage), and regime changes (from the regime
//! stage's [`RegimeState`]s).
//!
//! Calibration of a Normal forecast `(μ_t, σ_t)` against the realized `y_t` uses the
//! probability integral transform `u_t = Φ((y_t − μ_t)/σ_t)` (Gneiting & Raftery 2007):
//! the central interval at level `c` covers `y_t` iff `|u_t − ½| ≤ c/2`, and the quantile
//! calibration error is `ECE = (1/L) Σ_ℓ |#{u_t ≤ τ_ℓ}/n − τ_ℓ|` over the levels
//! `τ = 0.05, 0.10, …, 0.95`. For probability forecasts of binary events,
//! [`binary_ece`] is the usual binned ECE `Σ_b (n_b/n) |ȳ_b − p̄_b|`.

use std::collections::BTreeMap;

use prudentia_core::traits::Screened;
use prudentia_core::validate::{
    check_finite, check_len, check_probability, check_shape, check_size, MAX_DIM,
};
use prudentia_core::{Decision, DecisionStatus, Forecast, RegimeLabel, RegimeState};
use serde::{Deserialize, Serialize};

use crate::error::MetricsResult;
use crate::normal;

/// What the input guard did over a run: snapshots screened and refused, values quarantined
/// and repaired (not the quarantine store's own counters, `prudentia_defense::QuarantineStats`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GuardStats {
    /// Snapshots screened.
    pub snapshots: usize,
    /// Snapshots refused (safe fallback).
    pub fallbacks: usize,
    /// `fallbacks / snapshots`.
    pub fallback_rate: f64,
    /// Values quarantined in accepted snapshots.
    pub quarantined_values: usize,
    /// Values repaired in accepted snapshots.
    pub repaired_values: usize,
    /// Mean share of a snapshot's values quarantined (accepted: quarantined over quotes
    /// kept plus quarantined; refused: the guard's reported share).
    pub mean_quarantined_share: f64,
}

/// Quarantine statistics of the guard's outputs (at least one).
pub fn guard_stats(screened: &[Screened]) -> MetricsResult<GuardStats> {
    check_len("screened", screened.len(), 1)?;
    let (mut fallbacks, mut quarantined, mut repaired, mut share) = (0usize, 0usize, 0usize, 0.0);
    for s in screened {
        match s {
            Screened::Clean {
                snapshot,
                repaired: r,
                quarantined: q,
            } => {
                quarantined = quarantined.saturating_add(*q);
                repaired = repaired.saturating_add(*r);
                let total = snapshot.quotes.len().saturating_add(*q);
                if total > 0 {
                    share += *q as f64 / total as f64;
                }
            }
            Screened::SafeFallback {
                quarantined_share, ..
            } => {
                check_probability("quarantined_share", *quarantined_share)?;
                fallbacks += 1;
                share += quarantined_share;
            }
        }
    }
    let n = screened.len() as f64;
    Ok(GuardStats {
        snapshots: screened.len(),
        fallbacks,
        fallback_rate: fallbacks as f64 / n,
        quarantined_values: quarantined,
        repaired_values: repaired,
        mean_quarantined_share: share / n,
    })
}

/// Binned expected calibration error of probability forecasts of binary events:
/// `bins` equal-width bins on [0, 1] (in `[1, MAX_DIM]`).
pub fn binary_ece(probabilities: &[f64], outcomes: &[bool], bins: usize) -> MetricsResult<f64> {
    check_len("probabilities", probabilities.len(), 1)?;
    check_shape("outcomes", &[probabilities.len()], &[outcomes.len()])?;
    check_len("bins", bins, 1)?;
    check_size("bins", bins, MAX_DIM)?;
    for &p in probabilities {
        check_probability("probabilities", p)?;
    }
    let mut count = vec![0usize; bins];
    let mut sum_p = vec![0.0; bins];
    let mut sum_y = vec![0.0; bins];
    for (&p, &y) in probabilities.iter().zip(outcomes) {
        let b = ((p * bins as f64) as usize).min(bins - 1);
        count[b] += 1;
        sum_p[b] += p;
        sum_y[b] += f64::from(u8::from(y));
    }
    let n = probabilities.len() as f64;
    Ok((0..bins)
        .filter(|&b| count[b] > 0)
        .map(|b| (sum_y[b] - sum_p[b]).abs() / n)
        .sum())
}

/// Calibration of Normal forecasts against realized values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastCalibration {
    /// Number of forecast–outcome pairs.
    pub samples: usize,
    /// Quantile calibration error over τ = 0.05, …, 0.95 (0 = perfect).
    pub ece: f64,
    /// Empirical coverage of the central 50 %, 80 %, 90 % and 95 % intervals, keyed by
    /// nominal level in percent.
    pub coverage: BTreeMap<u32, f64>,
    /// Mean PIT value (½ when unbiased).
    pub mean_pit: f64,
}

/// Calibration of `forecasts` against `realized` (same length, at least one; realized
/// values finite). The forecasts must already be on the realized values' horizon.
pub fn forecast_calibration(forecasts: &[Forecast], realized: &[f64]) -> MetricsResult<ForecastCalibration> {
    check_len("forecasts", forecasts.len(), 1)?;
    check_shape("realized", &[forecasts.len()], &[realized.len()])?;
    check_finite("realized", realized)?;
    let pit: Vec<f64> = forecasts
        .iter()
        .zip(realized)
        .map(|(f, y)| normal::cdf((y - f.mean) / f.sigma))
        .collect();
    let n = pit.len() as f64;
    let levels: Vec<f64> = (1..=19).map(|i| i as f64 * 0.05).collect();
    let ece = levels
        .iter()
        .map(|&t| (pit.iter().filter(|u| **u <= t).count() as f64 / n - t).abs())
        .sum::<f64>()
        / levels.len() as f64;
    let coverage = [50u32, 80, 90, 95]
        .iter()
        .map(|&c| {
            let half = c as f64 / 200.0;
            let hit = pit.iter().filter(|u| (*u - 0.5).abs() <= half).count() as f64 / n;
            (c, hit)
        })
        .collect();
    Ok(ForecastCalibration {
        samples: pit.len(),
        ece,
        coverage,
        mean_pit: pit.iter().sum::<f64>() / n,
    })
}

/// Share of `y` inside `[lower, upper]` (same lengths, at least one, finite).
pub fn interval_coverage(lower: &[f64], upper: &[f64], y: &[f64]) -> MetricsResult<f64> {
    check_len("y", y.len(), 1)?;
    check_shape("lower", &[y.len()], &[lower.len()])?;
    check_shape("upper", &[y.len()], &[upper.len()])?;
    check_finite("lower", lower)?;
    check_finite("upper", upper)?;
    check_finite("y", y)?;
    let hits = (0..y.len())
        .filter(|&i| lower[i] <= y[i] && y[i] <= upper[i])
        .count();
    Ok(hits as f64 / y.len() as f64)
}

/// Regime changes over a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegimeChangeStats {
    /// Observations.
    pub observations: usize,
    /// Observations flagged `changed`.
    pub changes: usize,
    /// `changes / observations`.
    pub change_rate: f64,
    /// Mean length of a regime spell, `observations / (changes + 1)`.
    pub mean_spell: f64,
    /// Share of observations per label.
    pub time_share: BTreeMap<RegimeLabel, f64>,
}

/// Regime-change statistics of the regime stage's outputs (at least one).
pub fn regime_change_stats(states: &[RegimeState]) -> MetricsResult<RegimeChangeStats> {
    check_len("states", states.len(), 1)?;
    let changes = states.iter().filter(|s| s.changed).count();
    let n = states.len() as f64;
    let mut time_share: BTreeMap<RegimeLabel, f64> = BTreeMap::new();
    for s in states {
        *time_share.entry(s.label.clone()).or_default() += 1.0 / n;
    }
    Ok(RegimeChangeStats {
        observations: states.len(),
        changes,
        change_rate: changes as f64 / n,
        mean_spell: n / (changes + 1) as f64,
        time_share,
    })
}

/// How often decisions fell back to keeping positions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FallbackStats {
    /// Decisions.
    pub decisions: usize,
    /// Decisions with [`DecisionStatus::SafeFallback`].
    pub fallbacks: usize,
    /// `fallbacks / decisions`.
    pub fallback_rate: f64,
}

/// Fallback statistics of a run's decisions (at least one).
pub fn fallback_stats(decisions: &[Decision]) -> MetricsResult<FallbackStats> {
    check_len("decisions", decisions.len(), 1)?;
    let fallbacks = decisions
        .iter()
        .filter(|d| matches!(d.status, DecisionStatus::SafeFallback { .. }))
        .count();
    Ok(FallbackStats {
        decisions: decisions.len(),
        fallbacks,
        fallback_rate: fallbacks as f64 / decisions.len() as f64,
    })
}

/// The health section of a [`Report`](crate::Report).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HealthMetrics {
    /// Guard quarantine statistics.
    pub quarantine: Option<GuardStats>,
    /// Decisions that fell back to keeping positions.
    #[serde(default)]
    pub fallbacks: Option<FallbackStats>,
    /// Forecast calibration.
    pub calibration: Option<ForecastCalibration>,
    /// Regime changes.
    pub regimes: Option<RegimeChangeStats>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use prudentia_core::{Horizon, MarketSnapshot, Timestamp};

    #[test]
    fn quarantine() {
        let snap = MarketSnapshot {
            time: Timestamp::from_nanos(0),
            quotes: vec![],
            indicators: vec![],
            assets: vec![],
        };
        let s = [
            Screened::Clean {
                snapshot: snap,
                repaired: 1,
                quarantined: 0,
            },
            Screened::SafeFallback {
                reasons: vec!["stale".into()],
                quarantined_share: 0.5,
            },
        ];
        let q = guard_stats(&s).unwrap();
        assert_eq!((q.fallbacks, q.repaired_values), (1, 1));
        assert_eq!(q.fallback_rate, 0.5);
        assert_eq!(q.mean_quarantined_share, 0.25);
        assert!(guard_stats(&[]).is_err());
    }

    #[test]
    fn calibration_measures() {
        // Perfectly calibrated bins: p = 0.25 with 1 of 4 true, p = 0.75 with 3 of 4 true.
        let p = [0.25, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75, 0.75];
        let y = [true, false, false, false, true, true, true, false];
        assert!(binary_ece(&p, &y, 10).unwrap().abs() < 1e-15);
        assert!((binary_ece(&[1.0], &[false], 10).unwrap() - 1.0).abs() < 1e-15);
        assert!(binary_ece(&[1.5], &[false], 10).is_err());
        // Outcomes at the forecast quantiles Φ⁻¹((i − ½)/n): PIT exactly uniform on a grid.
        let n = 200;
        let f: Vec<Forecast> = (0..n)
            .map(|_| Forecast::new(0.0, 1.0, Horizon::DAY).unwrap())
            .collect();
        let y: Vec<f64> = (0..n)
            .map(|i| normal::quantile((i as f64 + 0.5) / n as f64))
            .collect();
        let c = forecast_calibration(&f, &y).unwrap();
        assert!(c.ece < 0.01, "{}", c.ece);
        assert!((c.coverage[&90] - 0.9).abs() < 0.01);
        assert!((c.mean_pit - 0.5).abs() < 1e-9);
        assert_eq!(
            interval_coverage(&[0.0, 0.0], &[1.0, 1.0], &[0.5, 2.0]).unwrap(),
            0.5
        );
        assert!(forecast_calibration(&f, &y[1..]).is_err());
    }

    #[test]
    fn regime_changes() {
        let mut a = RegimeState::certain(RegimeLabel::RISK_ON);
        let mut b = RegimeState::certain(RegimeLabel::RISK_OFF);
        b.changed = true;
        a.changed = false;
        let s = regime_change_stats(&[a.clone(), a, b.clone(), b]).unwrap();
        assert_eq!(s.changes, 2);
        assert!((s.mean_spell - 4.0 / 3.0).abs() < 1e-15);
        assert_eq!(s.time_share[&RegimeLabel::RISK_ON], 0.5);
    }
}
