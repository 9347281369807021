//! [`Report::for_backtest`]: the whole report of a walk-forward run from what a backtest
//! driver records — returns, turnover, and optionally the core [`Decision`]s and
//! [`Outcome`]s — so every metric is computed once, here.
//!
//! From the decisions: exposures of the sized weights, safe-fallback rate, regime changes.
//! With the outcomes as well: selector metrics (each decision's candidates are its
//! forecasts' assets, scored on the outcome's realized returns), forecast calibration
//! (every forecast against its asset's realized return; forecasts must be on the period's
//! horizon), and execution metrics of the outcomes' fills against the decisions' orders.
//! The slate correlation needs the candidates' correlation matrix, which a decision does
//! not carry: it is left undefined here; compute it with
//! [`slate_average_correlation`](crate::slate_average_correlation) where the matrix is known.

use prudentia_core::validate::check_shape;
use prudentia_core::{Decision, Fill, Forecast, Order, Outcome, Timestamp};

use crate::error::MetricsResult;
use crate::execution::ExecutionMetrics;
use crate::health::{fallback_stats, forecast_calibration, regime_change_stats, HealthMetrics};
use crate::report::{Report, ReportConfig};
use crate::returns::{NanPolicy, Returns};
use crate::selector::{score_slate, SelectorMetrics};
use crate::sizer::SizerMetrics;
use crate::types::{Stat, Undefined};

/// What a backtest recorded, one entry per period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BacktestRecord<'a> {
    /// A strictly increasing time per period, labelling its return (e.g. the decision time).
    pub times: &'a [Timestamp],
    /// Portfolio return per period, net of costs (finite, ≥ −1).
    pub returns: &'a [f64],
    /// Turnover `Σ|Δw|` per period, in units of equity (≥ 0).
    pub turnover: &'a [f64],
    /// The decisions, one per period, or empty.
    pub decisions: &'a [Decision],
    /// The outcomes, one per period (needs the decisions), or empty.
    pub outcomes: &'a [Outcome],
}

impl Report {
    /// The report of a backtest: return statistics and curves, sizer metrics, and the
    /// selector, execution and health sections that the decisions and outcomes allow.
    ///
    /// With [`ReportConfig::drop_warmup`], the leading warm-up periods
    /// ([`BacktestRecord::warmup_periods`]) are left out of every statistic and curve; the
    /// report's `warmup_dropped` says how many.
    pub fn for_backtest(config: ReportConfig, record: &BacktestRecord<'_>) -> MetricsResult<Report> {
        record.check()?;
        let skip = if config.drop_warmup {
            record.warmup_periods()
        } else {
            0
        };
        let record = &record.skip(skip);
        let returns = Returns::with_times(record.returns.to_vec(), record.times.to_vec(), NanPolicy::Reject)?;
        let decisions = record.decisions;
        let weights: Vec<_> = decisions.iter().map(|d| d.sized.clone()).collect();
        let sizer = SizerMetrics::compute(
            &returns,
            record.returns,
            record.turnover,
            None,
            (!weights.is_empty()).then_some(weights.as_slice()),
            config.annualization,
        )?;
        let mut report = Report::new(config, &returns)?.with_sizer(sizer);
        report.warmup_dropped = skip;
        if decisions.is_empty() {
            return Ok(report);
        }
        let mut health = HealthMetrics {
            fallbacks: Some(fallback_stats(decisions)?),
            regimes: Some(regime_change_stats(
                &decisions.iter().map(|d| d.regime.clone()).collect::<Vec<_>>(),
            )?),
            ..HealthMetrics::default()
        };
        if record.outcomes.is_empty() {
            return Ok(report.with_health(health));
        }

        let mut slates = Vec::new();
        let mut correlations = Vec::new();
        let mut forecasts: Vec<Forecast> = Vec::new();
        let mut realized_all = Vec::new();
        let mut fills: Vec<Fill> = Vec::new();
        let mut orders: Vec<Order> = Vec::new();
        for (d, o) in decisions.iter().zip(record.outcomes) {
            let realized = |id| o.realized_returns.iter().find(|(a, _)| a == id).map(|(_, r)| *r);
            // Candidates with a realized return.
            let cands: Vec<(&prudentia_core::AssetId, &Forecast, f64)> = d
                .forecasts
                .iter()
                .filter_map(|(a, f)| realized(a).filter(|r| r.is_finite()).map(|r| (a, f, r)))
                .collect();
            for (_, f, r) in &cands {
                forecasts.push((*f).clone());
                realized_all.push(*r);
            }
            let y: Vec<f64> = cands.iter().map(|c| c.2).collect();
            let selected: Vec<usize> = d
                .selected
                .iter()
                .filter_map(|s| cands.iter().position(|c| c.0 == s))
                .collect();
            if !selected.is_empty() {
                slates.push(score_slate(&y, &selected)?);
                correlations.push(Stat::Undefined(Undefined::TooFewObservations { n: 0, min: 2 }));
            }
            fills.extend(o.fills.iter().cloned());
            orders.extend(d.orders.iter().cloned());
        }
        if !slates.is_empty() {
            report = report.with_selector(SelectorMetrics::from_outcomes(&slates, &correlations)?);
        }
        if !forecasts.is_empty() {
            health.calibration = Some(forecast_calibration(&forecasts, &realized_all)?);
        }
        if !fills.is_empty() {
            let orders = (!orders.is_empty()).then_some(orders.as_slice());
            report = report.with_execution(ExecutionMetrics::compute(&fills, orders)?);
        }
        Ok(report.with_health(health))
    }
}

impl<'a> BacktestRecord<'a> {
    /// Checks that every per-period slice has one entry per return (decisions and outcomes
    /// may be empty) and that the times are one per return.
    pub fn check(&self) -> MetricsResult<()> {
        let n = self.returns.len();
        check_shape("times", &[n], &[self.times.len()])?;
        check_shape("turnover", &[n], &[self.turnover.len()])?;
        if !self.decisions.is_empty() {
            check_shape("decisions", &[n], &[self.decisions.len()])?;
        }
        if !self.outcomes.is_empty() {
            check_shape("outcomes", &[self.decisions.len()], &[self.outcomes.len()])?;
        }
        Ok(())
    }

    /// The warm-up: the number of leading periods whose decision is a safe fallback that
    /// holds no position (gross exposure 0), as while a pipeline's return history fills.
    /// 0 without decisions.
    pub fn warmup_periods(&self) -> usize {
        self.decisions
            .iter()
            .take_while(|d| {
                matches!(d.status, prudentia_core::DecisionStatus::SafeFallback { .. })
                    && d.sized.gross() == 0.0
            })
            .count()
    }

    /// The record without its first `k` periods (all of them when `k` exceeds the length).
    pub fn skip(&self, k: usize) -> BacktestRecord<'a> {
        let cut = |len: usize| k.min(len);
        BacktestRecord {
            times: &self.times[cut(self.times.len())..],
            returns: &self.returns[cut(self.returns.len())..],
            turnover: &self.turnover[cut(self.turnover.len())..],
            decisions: &self.decisions[cut(self.decisions.len())..],
            outcomes: &self.outcomes[cut(self.outcomes.len())..],
        }
    }
}
