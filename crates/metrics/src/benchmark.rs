//! Benchmark-relative statistics: alpha, beta, tracking error, information ratio and
//! up/down capture, with empyrical-reloaded's (0.7.1) conventions.
//!
//! For strategy returns `r_t`, benchmark returns `b_t` and a per-period risk-free rate `f`:
//!
//! - **beta** `= mean((b − b̄)(r − f)) / mean((b − b̄)²)` (empyrical `beta`); undefined when
//!   the benchmark's variance is below `1e-30`, as empyrical's NaN.
//! - **alpha** `= (1 + mean(r − f − β(b − f)))^k − 1`, annualized by compounding (empyrical
//!   `alpha`).
//! - **tracking error** `= std(r − b, n − 1)·√k`, the annualized dispersion of the active
//!   return (the denominator of empyrical's `excess_sharpe`).
//! - **information ratio** `= mean(r − b) / std(r − b, n − 1)·√k`: empyrical's
//!   `excess_sharpe` annualized like the Sharpe ratio.
//! - **up / down capture** `= CAGR(r | b > 0) / CAGR(b | b > 0)` (and `b < 0`), each CAGR over
//!   the selected periods only (empyrical `up_capture`, `down_capture`).
//!
//! Values agree with empyrical-reloaded to 1e-10 on `tests/fixtures/empyrical_benchmark.json`
//! (script: `tools/fixtures/metrics/benchmark_fixture.py`).

use serde::{Deserialize, Serialize};

use crate::error::{MetricsError, MetricsResult};
use crate::returns::Returns;
use crate::stats::{lane_sums, lane_sums2, Moments};
use crate::types::{Annualization, PerPeriodRate, Stat, Undefined};

/// Benchmark-relative statistics of a strategy.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RelativeStats {
    /// Annualized (compounded) Jensen's alpha.
    pub alpha: Stat,
    /// Beta to the benchmark.
    pub beta: Stat,
    /// Annualized standard deviation of the active return `r − b`.
    pub tracking_error: Stat,
    /// Annualized mean active return over its standard deviation.
    pub information_ratio: Stat,
    /// Correlation of the strategy's and the benchmark's returns.
    pub correlation: Stat,
    /// CAGR of the strategy over the benchmark's up periods, relative to the benchmark's.
    pub up_capture: Stat,
    /// CAGR of the strategy over the benchmark's down periods, relative to the benchmark's.
    pub down_capture: Stat,
}

fn check_pair(returns: &Returns, benchmark: &Returns) -> MetricsResult<()> {
    prudentia_core::validate::check_shape("benchmark", &[returns.len()], &[benchmark.len()])?;
    Ok(())
}

/// Beta of `returns` to `benchmark` (same length).
pub fn beta(returns: &Returns, benchmark: &Returns, risk_free: PerPeriodRate) -> MetricsResult<Stat> {
    check_pair(returns, benchmark)?;
    let (r, b) = (returns.values(), benchmark.values());
    if r.len() < 2 {
        return Ok(Stat::Undefined(Undefined::TooFewObservations {
            n: r.len(),
            min: 2,
        }));
    }
    let n = r.len() as f64;
    // The risk-free rate shifts both series; it does not change beta, but empyrical
    // subtracts it from the returns, so do we (same rounding). Two passes, no allocation.
    let f = risk_free.get();
    let [b_sum] = lane_sums(b, |x| [x - f]);
    let b_mean = b_sum / n;
    let [cov, var] = lane_sums2(b, r, |x, y| {
        let d = x - f - b_mean;
        [d * (y - f), d * d]
    });
    let (cov, var) = (cov / n, var / n);
    if var.is_nan() || var < 1e-30 {
        return Ok(Stat::Undefined(Undefined::ZeroDispersion));
    }
    Ok(Stat::from_value(cov / var))
}

/// Annualized alpha of `returns` over `benchmark` (same length).
pub fn alpha(
    returns: &Returns,
    benchmark: &Returns,
    risk_free: PerPeriodRate,
    annualization: Annualization,
) -> MetricsResult<Stat> {
    let beta = beta(returns, benchmark, risk_free)?;
    let Stat::Value(beta) = beta else {
        return Ok(beta);
    };
    let (r, b) = (returns.values(), benchmark.values());
    let f = risk_free.get();
    let [sum] = lane_sums2(r, b, |x, y| [(x - f) - beta * (y - f)]);
    let mean = sum / r.len() as f64;
    let base = 1.0 + mean;
    if base < 0.0 {
        return Ok(Stat::Undefined(Undefined::Overflow));
    }
    Ok(Stat::from_value(
        base.powf(annualization.periods_per_year()) - 1.0,
    ))
}

fn active(returns: &Returns, benchmark: &Returns) -> MetricsResult<Vec<f64>> {
    check_pair(returns, benchmark)?;
    Ok(returns
        .values()
        .iter()
        .zip(benchmark.values())
        .map(|(r, b)| r - b)
        .collect())
}

/// Annualized tracking error: `std(r − b, n − 1)·√k`.
pub fn tracking_error(
    returns: &Returns,
    benchmark: &Returns,
    annualization: Annualization,
) -> MetricsResult<Stat> {
    let a = active(returns, benchmark)?;
    if a.len() < 2 {
        return Ok(Stat::Undefined(Undefined::TooFewObservations {
            n: a.len(),
            min: 2,
        }));
    }
    let m = Moments::of(&a, 0.0);
    if m.constant {
        return Ok(Stat::Undefined(Undefined::ZeroDispersion));
    }
    Ok(Stat::from_value(m.std * annualization.periods_per_year().sqrt()))
}

/// Annualized information ratio: `mean(r − b) / std(r − b, n − 1)·√k` (empyrical's
/// `excess_sharpe` times `√k`).
pub fn information_ratio(
    returns: &Returns,
    benchmark: &Returns,
    annualization: Annualization,
) -> MetricsResult<Stat> {
    let a = active(returns, benchmark)?;
    if a.len() < 2 {
        return Ok(Stat::Undefined(Undefined::TooFewObservations {
            n: a.len(),
            min: 2,
        }));
    }
    let m = Moments::of(&a, 0.0);
    if m.constant {
        return Ok(Stat::Undefined(Undefined::ZeroDispersion));
    }
    Ok(Stat::from_value(
        m.mean / m.std * annualization.periods_per_year().sqrt(),
    ))
}

/// CAGR over the periods where the benchmark's return satisfies `keep`.
fn capture(
    returns: &Returns,
    benchmark: &Returns,
    annualization: Annualization,
    keep: impl Fn(f64) -> bool,
) -> MetricsResult<Stat> {
    check_pair(returns, benchmark)?;
    let pairs: Vec<(f64, f64)> = returns
        .values()
        .iter()
        .zip(benchmark.values())
        .filter(|(_, b)| keep(**b))
        .map(|(r, b)| (*r, *b))
        .collect();
    if pairs.is_empty() {
        return Ok(Stat::Undefined(Undefined::TooFewObservations { n: 0, min: 1 }));
    }
    let years = pairs.len() as f64 / annualization.periods_per_year();
    let cagr = |w: f64| w.powf(1.0 / years) - 1.0;
    let ws = pairs.iter().fold(1.0, |w, (r, _)| w * (1.0 + r));
    let wb = pairs.iter().fold(1.0, |w, (_, b)| w * (1.0 + b));
    Ok(Stat::ratio(cagr(ws), cagr(wb), Undefined::ZeroDenominator))
}

/// Up capture: the strategy's CAGR over the benchmark's positive periods relative to the
/// benchmark's CAGR over them (empyrical `up_capture`).
pub fn up_capture(
    returns: &Returns,
    benchmark: &Returns,
    annualization: Annualization,
) -> MetricsResult<Stat> {
    capture(returns, benchmark, annualization, |b| b > 0.0)
}

/// Down capture: as [`up_capture`] over the benchmark's negative periods.
pub fn down_capture(
    returns: &Returns,
    benchmark: &Returns,
    annualization: Annualization,
) -> MetricsResult<Stat> {
    capture(returns, benchmark, annualization, |b| b < 0.0)
}

impl RelativeStats {
    /// Every benchmark-relative statistic of `returns` against `benchmark` (same length,
    /// aligned period by period).
    ///
    /// ```
    /// use prudentia_metrics::{Annualization, PerPeriodRate, RelativeStats, Returns};
    ///
    /// # fn main() -> Result<(), prudentia_metrics::MetricsError> {
    /// let b = Returns::new(vec![0.01, -0.02, 0.015, -0.005, 0.02])?;
    /// let r = Returns::new(vec![0.02, -0.04, 0.03, -0.01, 0.04])?; // twice the benchmark
    /// let s = RelativeStats::compute(&r, &b, PerPeriodRate::ZERO, Annualization::Daily252)?;
    /// assert!((s.beta.value().unwrap() - 2.0).abs() < 1e-12);
    /// # Ok(()) }
    /// ```
    pub fn compute(
        returns: &Returns,
        benchmark: &Returns,
        risk_free: PerPeriodRate,
        annualization: Annualization,
    ) -> MetricsResult<RelativeStats> {
        check_pair(returns, benchmark)?;
        let (r, b) = (returns.values(), benchmark.values());
        let correlation = {
            let (mr, mb) = (Moments::of(r, 0.0), Moments::of(b, 0.0));
            if r.len() < 2 || mr.constant || mb.constant {
                Stat::Undefined(Undefined::ZeroDispersion)
            } else {
                let cov = r
                    .iter()
                    .zip(b)
                    .map(|(x, y)| (x - mr.mean) * (y - mb.mean))
                    .sum::<f64>()
                    / (r.len() - 1) as f64;
                Stat::from_value((cov / (mr.std * mb.std)).clamp(-1.0, 1.0))
            }
        };
        Ok(RelativeStats {
            alpha: alpha(returns, benchmark, risk_free, annualization)?,
            beta: beta(returns, benchmark, risk_free)?,
            tracking_error: tracking_error(returns, benchmark, annualization)?,
            information_ratio: information_ratio(returns, benchmark, annualization)?,
            correlation,
            up_capture: up_capture(returns, benchmark, annualization)?,
            down_capture: down_capture(returns, benchmark, annualization)?,
        })
    }
}

/// A benchmark attached to a [`Report`](crate::Report): its name, its own return statistics
/// and the strategy's statistics relative to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchmarkSummary {
    /// The benchmark's name.
    pub name: String,
    /// The benchmark's own return statistics (same settings as the report's).
    pub summary: crate::report::PerformanceSummary,
    /// The strategy relative to the benchmark.
    pub relative: RelativeStats,
    /// The benchmark's per-period returns, aligned with the report's.
    pub returns: Vec<f64>,
}

impl BenchmarkSummary {
    pub(crate) fn check(&self, n: usize) -> MetricsResult<()> {
        if self.returns.len() != n || !self.returns.iter().all(|r| r.is_finite() && *r >= -1.0) {
            return Err(MetricsError::Core(prudentia_core::CoreError::OutOfRange {
                field: "benchmark returns",
                value: self.returns.len() as f64,
                expected: "one finite return >= -1 per period of the report",
            }));
        }
        Ok(())
    }
}
