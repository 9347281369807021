//! Observers: plug-ins the pipeline calls after every `decide` and `learn`, for monitoring
//! without code in the stages (the argmin observer pattern, with a no-op default).
//!
//! [`MonitorObserver`] is the adapter to `prudentia-monitor`: it extracts the plain
//! [`DecisionMetrics`] / [`OutcomeMetrics`] from a [`DecisionReport`] and an [`Outcome`] and
//! hands them to a shared [`Monitor`] (InfluxDB, Prometheus, alerts). The monitor crate depends
//! only on core; the extraction that needs pipeline types lives here.

use std::sync::{Arc, Mutex};

use prudentia_core::{Outcome, Timestamp, Weights};
use prudentia_monitor::{DecisionMetrics, Monitor, OutcomeMetrics};

use crate::error::PipelineError;
use crate::pipeline::DecisionReport;

/// Called by the pipeline after every `decide` and `learn`. Both methods default to doing
/// nothing. An observer must not block: it runs inside `decide`.
pub trait Observer: Send {
    /// After a `decide` call: its report or its error, and the book held before the decision
    /// (positions move to the decision's weights only at the next `learn`).
    fn after_decide(&mut self, result: Result<&DecisionReport, &PipelineError>, current: &Weights) {
        let _ = (result, current);
    }
    /// After a `learn` call: the outcome, the pipeline's equity afterwards, and whether it was
    /// accepted (a refused outcome changed nothing).
    fn after_learn(&mut self, outcome: &Outcome, equity: f64, result: Result<(), &PipelineError>) {
        let _ = (outcome, equity, result);
    }
}

/// An observer that does nothing (the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopObserver;

impl Observer for NoopObserver {}

/// The plain metrics of one decision report; `current` is the book before the decision.
pub fn decision_metrics(report: &DecisionReport, current: &Weights) -> DecisionMetrics {
    let d = &report.decision;
    let fallback = match &d.status {
        prudentia_core::DecisionStatus::SafeFallback { reasons } => Some(reasons.join("; ")),
        _ => None,
    };
    let sized = &d.sized;
    let gross = sized.values.iter().map(|w| w.abs()).sum::<f64>();
    let net = sized.values.iter().sum::<f64>();
    let mut turnover = 0.0;
    for (a, w) in sized.assets.iter().zip(&sized.values) {
        turnover += (w - current.get(a)).abs();
    }
    for (a, w) in current.assets.iter().zip(&current.values) {
        if !sized.assets.contains(a) {
            turnover += w.abs();
        }
    }
    DecisionMetrics {
        time: d.time,
        fallback,
        regime: d.regime.label.to_string(),
        change_probability: d.regime.change_probability,
        run_length: d.regime.run_length,
        regime_probabilities: d
            .regime
            .probabilities
            .iter()
            .map(|(l, p)| (l.to_string(), *p))
            .collect(),
        forecasts: d
            .forecasts
            .iter()
            .map(|(a, f)| (a.to_string(), f.mean, f.sigma))
            .collect(),
        selected: d.selected.len(),
        orders: d
            .orders
            .iter()
            .map(|o| (o.asset.to_string(), o.expected_cost_bps))
            .collect(),
        gross_exposure: gross,
        net_exposure: net,
        turnover,
        carried_prices: report.carried_prices.len(),
        unexecuted: report.unexecuted.len(),
        excluded: report.excluded.len(),
        optimizer_status: report.optimizer_status.as_ref().map(|s| format!("{s:?}")),
        stage_seconds: report
            .timings
            .0
            .iter()
            .map(|(s, t)| (s.to_string(), t.as_secs_f64()))
            .collect(),
        drift: Vec::new(),
    }
}

/// The plain metrics of one accepted outcome: equity, realized returns, and the implementation
/// shortfall of each fill in bps (`±(price − arrival) / arrival · 10⁴`, positive = cost; fills
/// whose shortfall is not finite are left out). `fallback_time` is used when the outcome has
/// no time.
pub fn outcome_metrics(outcome: &Outcome, equity: f64, fallback_time: Timestamp) -> OutcomeMetrics {
    OutcomeMetrics {
        time: outcome.time.unwrap_or(fallback_time),
        equity,
        realized_returns: outcome
            .realized_returns
            .iter()
            .map(|(a, r)| (a.to_string(), *r))
            .collect(),
        fill_costs_bps: outcome
            .fills
            .iter()
            .filter_map(|f| {
                let bps = f.slippage_bps();
                bps.is_finite().then(|| (f.asset.to_string(), bps))
            })
            .collect(),
    }
}

/// Feeds a shared [`Monitor`] from the pipeline. Failed pipeline calls are counted
/// (`prudentia_errors_total{call, stage}`); a monitoring input the monitor refuses is counted
/// as `call="observe"` and never disturbs the pipeline.
#[derive(Debug, Clone)]
pub struct MonitorObserver {
    monitor: Arc<Mutex<Monitor>>,
    last_time: Timestamp,
}

impl MonitorObserver {
    /// An observer feeding `monitor` (keep a clone of the `Arc` to read alerts and counters).
    pub fn new(monitor: Arc<Mutex<Monitor>>) -> Self {
        Self {
            monitor,
            last_time: Timestamp::from_nanos(0),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Monitor) -> R) -> R {
        match self.monitor.lock() {
            Ok(mut m) => f(&mut m),
            Err(p) => f(&mut p.into_inner()),
        }
    }
}

fn stage_of(e: &PipelineError) -> String {
    match e {
        PipelineError::Stage { stage, .. } | PipelineError::MissingStage { stage } => stage.to_string(),
        _ => "input".to_string(),
    }
}

impl Observer for MonitorObserver {
    fn after_decide(&mut self, result: Result<&DecisionReport, &PipelineError>, current: &Weights) {
        match result {
            Ok(report) => {
                self.last_time = report.decision.time;
                let m = decision_metrics(report, current);
                self.with(|mon| {
                    if mon.on_decision(&m).is_err() {
                        mon.on_error("observe", "decision");
                    }
                    // a stage failure turned into a fallback still counts as the stage's error
                    if let Some(f) = &report.failure {
                        mon.on_error("decide", &f.stage.to_string());
                    }
                });
            }
            Err(e) => self.with(|mon| mon.on_error("decide", &stage_of(e))),
        }
    }

    fn after_learn(&mut self, outcome: &Outcome, equity: f64, result: Result<(), &PipelineError>) {
        // a learner's error comes after the outcome was applied: the outcome still counts
        let applied = match result {
            Ok(()) => true,
            Err(e) => {
                self.with(|mon| mon.on_error("learn", &stage_of(e)));
                matches!(
                    e,
                    PipelineError::Stage {
                        stage: crate::Stage::Learn,
                        ..
                    }
                )
            }
        };
        if applied {
            let m = outcome_metrics(outcome, equity, self.last_time);
            self.with(|mon| {
                if mon.on_outcome(&m).is_err() {
                    mon.on_error("observe", "outcome");
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{walk_forward, BacktestConfig, PipelineBuilder, PipelineConfig};
    use prudentia_core::traits::*;
    use prudentia_core::*;
    use prudentia_monitor::{MonitorConfig, Point, PointSink};

    struct Flat;
    impl Forecaster for Flat {
        fn forecast(&self, _: &AssetInfo, _: &RegimeState) -> RoleResult<Forecast> {
            Ok(Forecast::new(5e-4, 0.01, Horizon::DAY)?)
        }
    }
    struct Equal;
    impl Optimizer for Equal {
        fn optimize(&self, input: &PortfolioInput<'_>) -> RoleResult<TargetPortfolio> {
            let n = input.opportunities.len() as f64;
            let ids = input.opportunities.iter().map(|o| o.asset.id.clone()).collect();
            let w = Weights::new(ids, vec![1.0 / n; input.opportunities.len()])?;
            Ok(TargetPortfolio {
                weights: w,
                status: Status::Converged,
            })
        }
    }

    fn snapshots(n: i64) -> (Vec<AssetId>, Vec<MarketSnapshot>) {
        let ids: Vec<AssetId> = vec!["A".into(), "B".into()];
        let s = (0..n)
            .map(|t| {
                let time = Timestamp::from_nanos(t * Timestamp::NANOS_PER_DAY);
                let prices = [100.0 * (1.0 + 0.01 * ((t % 3) as f64)), 50.0 + (t % 4) as f64];
                MarketSnapshot {
                    time,
                    quotes: ids
                        .iter()
                        .zip(prices)
                        .map(|(id, p)| Quote {
                            asset: id.clone(),
                            time,
                            price: p,
                            volume: None,
                            spread_bps: None,
                        })
                        .collect(),
                    indicators: vec![],
                    assets: ids
                        .iter()
                        .zip(prices)
                        .map(|(id, p)| AssetInfo::new(id.clone(), p).unwrap())
                        .collect(),
                }
            })
            .collect();
        (ids, s)
    }

    #[derive(Default)]
    struct Calls {
        decide_ok: usize,
        decide_err: usize,
        learn_ok: usize,
        learn_err: usize,
    }
    struct Recorder(Arc<Mutex<Calls>>);
    impl Observer for Recorder {
        fn after_decide(&mut self, r: Result<&DecisionReport, &PipelineError>, _: &Weights) {
            let mut c = self.0.lock().unwrap();
            if r.is_ok() {
                c.decide_ok += 1;
            } else {
                c.decide_err += 1;
            }
        }
        fn after_learn(&mut self, _: &Outcome, _: f64, r: Result<(), &PipelineError>) {
            let mut c = self.0.lock().unwrap();
            if r.is_ok() {
                c.learn_ok += 1;
            } else {
                c.learn_err += 1;
            }
        }
    }

    fn pipeline(ids: Vec<AssetId>, observer: Box<dyn Observer>) -> crate::Pipeline {
        let config = PipelineConfig {
            universe: ids,
            min_history: 5,
            history_window: 20,
            ..Default::default()
        };
        PipelineBuilder::new(config)
            .forecaster(Box::new(Flat))
            .optimizer(Box::new(Equal))
            .observer(observer)
            .build()
            .unwrap()
    }

    #[test]
    fn observer_sees_every_decide_and_learn() {
        let (ids, snaps) = snapshots(12);
        let calls = Arc::new(Mutex::new(Calls::default()));
        let mut p = pipeline(ids.clone(), Box::new(Recorder(Arc::clone(&calls))));
        let _ = p.decide(&snaps[0]).unwrap();
        assert!(p.decide(&snaps[0]).is_err()); // not increasing: an error, observed
        p.learn(&Outcome {
            time: None,
            realized_returns: vec![(ids[0].clone(), 0.01)],
            fills: vec![],
            equity: None,
        })
        .unwrap();
        assert!(p
            .learn(&Outcome {
                time: None,
                realized_returns: vec![(ids[0].clone(), f64::NAN)],
                fills: vec![],
                equity: None,
            })
            .is_err());
        let c = calls.lock().unwrap();
        assert_eq!((c.decide_ok, c.decide_err, c.learn_ok, c.learn_err), (1, 1, 1, 1));
        // the default observer does nothing and changes no result
        let (ids, snaps) = snapshots(3);
        let mut q = pipeline(ids, Box::new(NoopObserver));
        assert!(q.decide(&snaps[1]).is_ok());
    }

    struct Shared(Arc<Mutex<Vec<Point>>>);
    impl PointSink for Shared {
        fn send(&mut self, points: &[Point]) -> usize {
            self.0.lock().unwrap().extend_from_slice(points);
            points.len()
        }
        fn dropped(&self) -> u64 {
            0
        }
    }

    #[test]
    fn monitor_observer_streams_a_backtest() {
        let (ids, snaps) = snapshots(40);
        let points = Arc::new(Mutex::new(Vec::new()));
        let monitor = Monitor::new(MonitorConfig::default())
            .unwrap()
            .with_sink(Box::new(Shared(Arc::clone(&points))));
        let monitor = Arc::new(Mutex::new(monitor));
        let mut p = pipeline(ids, Box::new(MonitorObserver::new(Arc::clone(&monitor))));
        let run = walk_forward(
            &mut p,
            &snaps,
            &BacktestConfig {
                show_progress: false,
                ..Default::default()
            },
        )
        .unwrap();
        let n = run.decisions.len();
        let points = points.lock().unwrap();
        let count = |m: &str| points.iter().filter(|p| p.measurement == m).count();
        assert_eq!(count("decision"), n);
        assert!(count("stage_timing") >= n);
        assert!(count("outcome") >= n - 1);
        let fallbacks = run
            .decisions
            .iter()
            .filter(|d| matches!(d.status, DecisionStatus::SafeFallback { .. }))
            .count();
        let registry = monitor.lock().unwrap().registry();
        let r = registry.lock().unwrap();
        assert_eq!(
            r.value("prudentia_decisions_total", &[("status", "fallback")]),
            Some(fallbacks as f64)
        );
        assert_eq!(
            r.value("prudentia_decisions_total", &[("status", "normal")]),
            Some((n - fallbacks) as f64)
        );
        assert_eq!(r.value("prudentia_gross_exposure", &[]), Some(1.0));
        // the last decision's metrics, as extracted
        let last = run.decisions.last().unwrap();
        let first_points = points
            .iter()
            .find(|p| p.measurement == "decision" && p.time == last.time)
            .unwrap();
        assert!(first_points
            .tags
            .contains(&("status".to_string(), "normal".to_string())));
    }

    #[test]
    fn extraction() {
        let (ids, snaps) = snapshots(10);
        let mut p = pipeline(ids.clone(), Box::new(NoopObserver));
        let mut report = None;
        for s in &snaps {
            report = Some(p.decide(s).unwrap());
            p.learn(&Outcome {
                time: Some(s.time),
                realized_returns: vec![],
                fills: vec![],
                equity: None,
            })
            .unwrap();
        }
        let report = report.unwrap();
        let current = Weights::new(ids.clone(), vec![0.2, 0.0]).unwrap();
        let m = decision_metrics(&report, &current);
        assert_eq!(m.time, report.decision.time);
        assert_eq!(m.forecasts.len(), 2);
        assert!((m.gross_exposure - 1.0).abs() < 1e-12 && (m.net_exposure - 1.0).abs() < 1e-12);
        assert!((m.turnover - (0.3 + 0.5)).abs() < 1e-12, "{}", m.turnover);
        assert_eq!(m.stage_seconds.len(), report.timings.0.len());
        let fill = |side, price| Fill {
            asset: ids[0].clone(),
            time: Timestamp::from_nanos(0),
            side,
            quantity: 1.0,
            price,
            arrival_price: 100.0,
            order_type: OrderType::Market,
            venue: None,
        };
        let o = Outcome {
            time: None,
            realized_returns: vec![(ids[0].clone(), 0.01)],
            fills: vec![fill(Side::Buy, 100.1), fill(Side::Sell, 100.1)],
            equity: None,
        };
        let om = outcome_metrics(&o, 5.0, Timestamp::from_nanos(7));
        assert_eq!(om.time, Timestamp::from_nanos(7));
        assert!((om.fill_costs_bps[0].1 - 10.0).abs() < 1e-9 && (om.fill_costs_bps[1].1 + 10.0).abs() < 1e-9);
    }
}
