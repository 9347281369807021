//! Walk-forward backtest driver.

use std::time::Duration;

use prudentia_core::traits::OptimStatus;
use prudentia_core::validate::check_non_negative;
use prudentia_core::{AssetId, CoreError, Decision, MarketSnapshot, Outcome, Timestamp};
use prudentia_metrics::{BacktestRecord, MetricsError, Report, ReportConfig};
use serde::{Deserialize, Serialize};

use crate::error::{PipelineError, PipelineResult, Stage};
use crate::pipeline::Pipeline;

/// Settings of a walk-forward run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestConfig {
    /// Linear trading cost in basis points of traded notional (turnover). Default 5.
    pub cost_bps: f64,
    /// Show a progress bar on standard error (hidden automatically when it is not a terminal).
    /// Default true.
    pub show_progress: bool,
}

impl Default for BacktestConfig {
    fn default() -> Self {
        Self {
            cost_bps: 5.0,
            show_progress: true,
        }
    }
}

/// What a walk-forward run produced, one entry per decision (the last snapshot only provides
/// the final outcome).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestResult {
    /// Decision times.
    pub times: Vec<Timestamp>,
    /// Decisions.
    pub decisions: Vec<Decision>,
    /// Portfolio return over the period after each decision, net of costs.
    pub returns: Vec<f64>,
    /// Turnover (Σ|Δw|) of each decision.
    pub turnover: Vec<f64>,
    /// Equity after each period.
    pub equity: Vec<f64>,
    /// The outcome each decision was followed by (what `learn` received).
    pub outcomes: Vec<Outcome>,
    /// The optimizer's status at each decision (`None` when it did not run).
    pub optimizer_status: Vec<Option<OptimStatus>>,
    /// Total wall-clock time per stage over the run.
    pub stage_time: Vec<(Stage, Duration)>,
}

impl BacktestResult {
    /// The metrics report of the run (prudentia-metrics): return statistics, drawdowns,
    /// sizer metrics, and the selector, execution and health sections the decisions and
    /// outcomes allow.
    pub fn report(&self, config: ReportConfig) -> Result<Report, MetricsError> {
        Report::for_backtest(
            config,
            &BacktestRecord {
                times: &self.times,
                returns: &self.returns,
                turnover: &self.turnover,
                decisions: &self.decisions,
                outcomes: &self.outcomes,
            },
        )
    }
}

/// Runs `pipeline` over `snapshots` in time order: decide at t, realize returns from the quotes
/// at t and t+1, learn, move on. The decision at t sees snapshots up to t only.
pub fn walk_forward(
    pipeline: &mut Pipeline,
    snapshots: &[MarketSnapshot],
    config: &BacktestConfig,
) -> PipelineResult<BacktestResult> {
    walk_forward_with_prices(pipeline, snapshots, snapshots, config)
}

/// [`walk_forward`] with the decisions made on `snapshots` (which may carry data faults for
/// the guard to catch) and the realized returns taken from the quotes of `prices` (the true
/// prices trades would have been marked at). Both must have the same length and times.
pub fn walk_forward_with_prices(
    pipeline: &mut Pipeline,
    snapshots: &[MarketSnapshot],
    prices: &[MarketSnapshot],
    config: &BacktestConfig,
) -> PipelineResult<BacktestResult> {
    check_non_negative("cost_bps", config.cost_bps)?;
    prudentia_core::validate::check_shape("prices", &[snapshots.len()], &[prices.len()])?;
    if let Some(i) = snapshots.iter().zip(prices).position(|(a, b)| a.time != b.time) {
        return Err(CoreError::ShapeMismatch {
            field: "prices (times differ from the snapshots')",
            expected: vec![i],
            found: vec![i],
        }
        .into());
    }
    if snapshots.len() < 2 {
        return Err(CoreError::EmptyInput {
            field: "snapshots",
            len: snapshots.len(),
            min: 2,
        }
        .into());
    }
    let steps = snapshots.len() - 1;
    let bar = if config.show_progress {
        indicatif::ProgressBar::new(steps as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let universe = pipeline.config().universe.clone();
    let mut out = BacktestResult {
        times: Vec::with_capacity(steps),
        decisions: Vec::with_capacity(steps),
        returns: Vec::with_capacity(steps),
        turnover: Vec::with_capacity(steps),
        equity: Vec::with_capacity(steps),
        outcomes: Vec::with_capacity(steps),
        optimizer_status: Vec::with_capacity(steps),
        stage_time: Vec::new(),
    };
    for t in 0..steps {
        let now = &snapshots[t];
        let next = &snapshots[t + 1];
        if next.time <= now.time {
            return Err(CoreError::NotIncreasing {
                field: "snapshot times",
                index: t + 1,
            }
            .into());
        }
        let before = pipeline.current_weights().clone();
        let report = pipeline.decide(now)?;
        for (s, d) in &report.timings.0 {
            match out.stage_time.iter_mut().find(|(x, _)| x == s) {
                Some((_, acc)) => *acc += *d,
                None => out.stage_time.push((*s, *d)),
            }
        }
        let decision = report.decision;
        out.optimizer_status.push(report.optimizer_status);
        let turnover = decision.sized.turnover_to(&before);
        let realized = realized_returns(&universe, &prices[t], &prices[t + 1]);
        let gross: f64 = decision
            .sized
            .assets
            .iter()
            .zip(&decision.sized.values)
            .map(|(a, w)| w * realized.iter().find(|(b, _)| b == a).map_or(0.0, |(_, r)| *r))
            .sum();
        let net = gross - turnover * config.cost_bps * 1e-4;
        let equity = pipeline.equity() * (1.0 + net).max(0.0);
        let outcome = Outcome {
            time: Some(next.time),
            realized_returns: realized,
            fills: Vec::new(),
            equity: Some(equity),
        };
        pipeline.learn(&outcome).map_err(|e| match e {
            PipelineError::Core(c) => PipelineError::Stage {
                stage: Stage::Learn,
                source: c.into(),
            },
            other => other,
        })?;
        out.times.push(now.time);
        out.decisions.push(decision);
        out.returns.push(net);
        out.turnover.push(turnover);
        out.equity.push(equity);
        out.outcomes.push(outcome);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(out)
}

/// Simple returns of the universe assets from the quotes of `now` to those of `next`;
/// assets without a valid price in either snapshot are left out.
pub fn realized_returns(
    universe: &[AssetId],
    now: &MarketSnapshot,
    next: &MarketSnapshot,
) -> Vec<(AssetId, f64)> {
    let price = |s: &MarketSnapshot, id: &AssetId| {
        s.quotes
            .iter()
            .find(|q| &q.asset == id)
            .map(|q| q.price)
            .filter(|p| p.is_finite() && *p > 0.0)
    };
    universe
        .iter()
        .filter_map(|id| match (price(now, id), price(next, id)) {
            (Some(a), Some(b)) => Some((id.clone(), b / a - 1.0)),
            _ => None,
        })
        .collect()
}
