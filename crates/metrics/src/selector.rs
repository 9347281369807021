//! Selector metrics: how good were the chosen slates, judged with hindsight.
//!
//! For one decision with realized returns `y_1..y_n` of the `n` candidates and a chosen
//! slate `S` of size `K`:
//! - regret against the best `K` in hindsight: `mean_{top-K}(y) − mean_S(y)` (≥ 0; 0 when
//!   the slate was the best possible),
//! - top-K hit rate: `|S ∩ top-K(y)| / K`,
//! - the slate's average pairwise correlation: `2/(K(K−1)) Σ_{i<j ∈ S} ρ_ij`.
//!
//! [`SelectorMetrics`] averages these over decisions; [`performance_by_regime`] splits a
//! return series by regime label.

use std::collections::BTreeMap;

use ndarray::ArrayView2;
use prudentia_core::validate::{check_finite, check_len, check_shape, check_square};
use prudentia_core::{CoreError, RegimeLabel};
use serde::{Deserialize, Serialize};

use crate::error::MetricsResult;
use crate::returns::Returns;
use crate::stats::{self, Moments};
use crate::types::{Annualization, PerPeriodRate, Stat};

/// One selection decision scored with hindsight.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SlateOutcome {
    /// Mean realized return of the chosen slate.
    pub slate_return: f64,
    /// Mean realized return of the best `K` candidates in hindsight.
    pub best_k_return: f64,
    /// `best_k_return − slate_return` (≥ 0).
    pub regret: f64,
    /// Share of the slate that was in the hindsight top `K`.
    pub hit_rate: f64,
}

fn check_slate(n: usize, selected: &[usize]) -> MetricsResult<()> {
    check_len("selected", selected.len(), 1)?;
    for (i, &s) in selected.iter().enumerate() {
        if s >= n {
            return Err(CoreError::OutOfRange {
                field: "selected",
                value: s as f64,
                expected: "indices < number of candidates",
            }
            .into());
        }
        if selected[..i].contains(&s) {
            return Err(CoreError::OutOfRange {
                field: "selected",
                value: s as f64,
                expected: "distinct indices",
            }
            .into());
        }
    }
    Ok(())
}

/// Scores one slate: `realized[i]` is candidate `i`'s realized return, `selected` the
/// chosen indices (distinct, in range, non-empty). Ties in the top-`K` are broken by index.
///
/// Realized returns must be finite with a magnitude of at most `1e100` (so regrets and
/// their sums stay finite).
pub fn score_slate(realized: &[f64], selected: &[usize]) -> MetricsResult<SlateOutcome> {
    check_len("realized", realized.len(), 1)?;
    check_finite("realized", realized)?;
    if let Some(&value) = realized.iter().find(|x| x.abs() > 1e100) {
        return Err(CoreError::OutOfRange {
            field: "realized",
            value,
            expected: "a magnitude of at most 1e100",
        }
        .into());
    }
    check_slate(realized.len(), selected)?;
    let k = selected.len();
    let mut order: Vec<usize> = (0..realized.len()).collect();
    order.sort_by(|&a, &b| realized[b].total_cmp(&realized[a]).then(a.cmp(&b)));
    let top = &order[..k];
    let best_k_return = top.iter().map(|&i| realized[i]).sum::<f64>() / k as f64;
    let slate_return = selected.iter().map(|&i| realized[i]).sum::<f64>() / k as f64;
    // Hits count candidates whose return is at least the K-th best (so ties are not misses).
    let kth = realized[top[k - 1]];
    let hits = selected.iter().filter(|&&i| realized[i] >= kth).count().min(k);
    Ok(SlateOutcome {
        slate_return,
        best_k_return,
        regret: (best_k_return - slate_return).max(0.0),
        hit_rate: hits as f64 / k as f64,
    })
}

/// Average pairwise correlation of the slate, from the candidates' correlation matrix.
/// Undefined (`Err`-free) for a slate of one: returns [`Stat::Undefined`].
pub fn slate_average_correlation(
    correlation: ArrayView2<'_, f64>,
    selected: &[usize],
) -> MetricsResult<Stat> {
    let n = check_square("correlation", correlation)?;
    check_slate(n, selected)?;
    let k = selected.len();
    if k < 2 {
        return Ok(Stat::Undefined(crate::Undefined::TooFewObservations {
            n: k,
            min: 2,
        }));
    }
    let mut sum = 0.0;
    for (a, &i) in selected.iter().enumerate() {
        for &j in &selected[a + 1..] {
            let c = correlation[[i, j]];
            if !c.is_finite() {
                return Err(CoreError::NonFinite {
                    field: "correlation",
                    index: i * n + j,
                    value: c,
                }
                .into());
            }
            sum += c;
        }
    }
    Ok(Stat::from_value(sum / (k * (k - 1) / 2) as f64))
}

/// Selector metrics averaged over decisions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectorMetrics {
    /// Number of decisions.
    pub decisions: usize,
    /// Mean regret against the best `K` in hindsight.
    pub mean_regret: f64,
    /// Cumulative regret (sum over decisions).
    pub cumulative_regret: f64,
    /// Mean top-`K` hit rate.
    pub mean_hit_rate: f64,
    /// Mean realized slate return.
    pub mean_slate_return: f64,
    /// Mean of the slates' average pairwise correlations (over slates where it is defined).
    pub mean_slate_correlation: Stat,
}

impl SelectorMetrics {
    /// Aggregates per-decision outcomes and slate correlations (`None` where unknown).
    pub fn from_outcomes(outcomes: &[SlateOutcome], correlations: &[Stat]) -> MetricsResult<Self> {
        check_len("outcomes", outcomes.len(), 1)?;
        let n = outcomes.len() as f64;
        let sum = |f: fn(&SlateOutcome) -> f64| outcomes.iter().map(f).sum::<f64>();
        let defined: Vec<f64> = correlations.iter().filter_map(|c| c.value()).collect();
        let mean_slate_correlation = if defined.is_empty() {
            Stat::Undefined(crate::Undefined::TooFewObservations { n: 0, min: 1 })
        } else {
            Stat::from_value(defined.iter().sum::<f64>() / defined.len() as f64)
        };
        let m = Self {
            decisions: outcomes.len(),
            mean_regret: sum(|o| o.regret) / n,
            cumulative_regret: sum(|o| o.regret),
            mean_hit_rate: sum(|o| o.hit_rate) / n,
            mean_slate_return: sum(|o| o.slate_return) / n,
            mean_slate_correlation,
        };
        for value in [
            m.mean_regret,
            m.cumulative_regret,
            m.mean_hit_rate,
            m.mean_slate_return,
        ] {
            if !value.is_finite() {
                return Err(CoreError::NonFinite {
                    field: "outcomes",
                    index: 0,
                    value,
                }
                .into());
            }
        }
        Ok(m)
    }
}

/// Performance of the periods spent in one regime.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RegimePerformance {
    /// Number of periods in the regime.
    pub periods: usize,
    /// Share of all periods.
    pub share: f64,
    /// Mean return per period.
    pub mean: f64,
    /// Compounded return over the regime's periods.
    pub cumulative_return: Stat,
    /// Annualized volatility.
    pub annual_volatility: Stat,
    /// Annualized Sharpe ratio.
    pub sharpe: Stat,
    /// Share of periods with a positive return.
    pub hit_rate: f64,
}

/// Splits `returns` by `labels` (one label per return) and summarizes each regime.
pub fn performance_by_regime(
    returns: &Returns,
    labels: &[RegimeLabel],
    risk_free: PerPeriodRate,
    annualization: Annualization,
) -> MetricsResult<BTreeMap<RegimeLabel, RegimePerformance>> {
    check_shape("labels", &[returns.len()], &[labels.len()])?;
    let mut groups: BTreeMap<RegimeLabel, Vec<f64>> = BTreeMap::new();
    for (r, l) in returns.values().iter().zip(labels) {
        groups.entry(l.clone()).or_default().push(*r);
    }
    let total = returns.len() as f64;
    groups
        .into_iter()
        .map(|(label, v)| {
            let m = Moments::of(&v, risk_free.get());
            let hits = v.iter().filter(|x| **x > 0.0).count() as f64 / v.len() as f64;
            let perf = RegimePerformance {
                periods: v.len(),
                share: v.len() as f64 / total,
                mean: v.iter().sum::<f64>() / v.len() as f64,
                cumulative_return: Stat::from_value(stats::final_wealth(&v) - 1.0),
                annual_volatility: stats::volatility_from(m.n, m.std, annualization),
                sharpe: stats::sharpe_from(&m.mean_std(), annualization),
                hit_rate: hits,
            };
            Ok((label, perf))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn regret_and_hits() {
        let y = [0.05, -0.02, 0.03, 0.01];
        let best = score_slate(&y, &[0, 2]).unwrap();
        assert_eq!(best.regret, 0.0);
        assert_eq!(best.hit_rate, 1.0);
        let o = score_slate(&y, &[1, 2]).unwrap();
        // best 2: (0.05 + 0.03)/2 = 0.04; slate: (−0.02 + 0.03)/2 = 0.005.
        assert!((o.regret - 0.035).abs() < 1e-15);
        assert_eq!(o.hit_rate, 0.5);
        assert!(score_slate(&y, &[4]).is_err());
        assert!(score_slate(&y, &[1, 1]).is_err());
        assert!(score_slate(&y, &[]).is_err());
        assert!(score_slate(&[f64::NAN], &[0]).is_err());
    }

    #[test]
    fn slate_correlation() {
        let c = array![[1.0, 0.5, 0.1], [0.5, 1.0, -0.3], [0.1, -0.3, 1.0]];
        let s = slate_average_correlation(c.view(), &[0, 1, 2])
            .unwrap()
            .value()
            .unwrap();
        assert!((s - 0.1).abs() < 1e-15);
        assert!(!slate_average_correlation(c.view(), &[1]).unwrap().is_defined());
        assert!(slate_average_correlation(array![[1.0, 0.0]].view(), &[0]).is_err());
    }

    #[test]
    fn by_regime() {
        let r = Returns::new(vec![0.01, -0.02, 0.03, 0.0]).unwrap();
        let l = vec![
            RegimeLabel::RISK_ON,
            RegimeLabel::RISK_OFF,
            RegimeLabel::RISK_ON,
            RegimeLabel::RISK_OFF,
        ];
        let p = performance_by_regime(&r, &l, PerPeriodRate::ZERO, Annualization::Daily252).unwrap();
        let on = p[&RegimeLabel::RISK_ON];
        assert_eq!(on.periods, 2);
        assert!((on.mean - 0.02).abs() < 1e-15);
        assert!((on.cumulative_return.value().unwrap() - (1.01 * 1.03 - 1.0)).abs() < 1e-15);
        assert_eq!(p[&RegimeLabel::RISK_OFF].hit_rate, 0.0);
        assert!(performance_by_regime(&r, &l[..3], PerPeriodRate::ZERO, Annualization::Daily252).is_err());
    }
}
