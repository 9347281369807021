//! The [`Monitor`]: turns per-decision and per-outcome metrics into points, Prometheus series
//! and alerts.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use crate::alerts::{Alert, AlertConfig, AlertRule};
use crate::error::{MonitorError, MonitorResult};
use crate::line::Point;
use crate::prom::Registry;
use prudentia_core::validate::{check_size, MAX_DIM, MAX_WINDOW};
use prudentia_core::{CoreError, Timestamp};

/// The most alerts kept for [`Monitor::take_alerts`] (older ones are dropped first).
pub const MAX_KEPT_ALERTS: usize = 10_000;

/// What a decision carries, in plain types (the pipeline's observer adapter fills it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionMetrics {
    /// Decision time.
    pub time: Timestamp,
    /// `Some(reasons)` when the decision was a safe fallback (joined with `; `).
    pub fallback: Option<String>,
    /// Regime label.
    pub regime: String,
    /// Posterior probability of a regime change, in [0, 1].
    pub change_probability: f64,
    /// Observations since the last change.
    pub run_length: usize,
    /// Probability of each regime label, each in [0, 1].
    pub regime_probabilities: Vec<(String, f64)>,
    /// Calibrated forecasts (asset, mean, sigma > 0) of the opportunities considered.
    pub forecasts: Vec<(String, f64, f64)>,
    /// Size of the selected slate.
    pub selected: usize,
    /// Orders: asset and expected cost (bps) when estimated.
    pub orders: Vec<(String, Option<f64>)>,
    /// Σ|w| of the sized book.
    pub gross_exposure: f64,
    /// Σw of the sized book.
    pub net_exposure: f64,
    /// Σ|w_sized − w_current| (one-way turnover of the decision).
    pub turnover: f64,
    /// Assets whose price was carried.
    pub carried_prices: usize,
    /// Weight changes that did not become orders.
    pub unexecuted: usize,
    /// Assets left out of forecasting.
    pub excluded: usize,
    /// The optimizer's status, when it ran.
    pub optimizer_status: Option<String>,
    /// Seconds per stage (finite, ≥ 0).
    pub stage_seconds: Vec<(String, f64)>,
    /// Drift statistics per feature, when the caller has them: (feature, PSI ≥ 0, KS in [0, 1]).
    pub drift: Vec<(String, f64, f64)>,
}

/// What an outcome carries, in plain types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeMetrics {
    /// Outcome time.
    pub time: Timestamp,
    /// Equity after the outcome (finite, ≥ 0).
    pub equity: f64,
    /// Realized return per asset (finite).
    pub realized_returns: Vec<(String, f64)>,
    /// Realized cost per fill: asset and implementation shortfall in bps (finite).
    pub fill_costs_bps: Vec<(String, f64)>,
}

impl Default for DecisionMetrics {
    /// Time 0, regime `unknown`, everything else empty or zero.
    fn default() -> Self {
        Self {
            time: Timestamp::from_nanos(0),
            fallback: None,
            regime: "unknown".into(),
            change_probability: 0.0,
            run_length: 0,
            regime_probabilities: Vec::new(),
            forecasts: Vec::new(),
            selected: 0,
            orders: Vec::new(),
            gross_exposure: 0.0,
            net_exposure: 0.0,
            turnover: 0.0,
            carried_prices: 0,
            unexecuted: 0,
            excluded: 0,
            optimizer_status: None,
            stage_seconds: Vec::new(),
            drift: Vec::new(),
        }
    }
}

impl Default for OutcomeMetrics {
    /// Time 0, equity 0, no returns or fills.
    fn default() -> Self {
        Self {
            time: Timestamp::from_nanos(0),
            equity: 0.0,
            realized_returns: Vec::new(),
            fill_costs_bps: Vec::new(),
        }
    }
}

/// Configuration of a [`Monitor`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[serde(default)]
pub struct MonitorConfig {
    /// Alert rules.
    pub alerts: AlertConfig,
    /// Tags added to every point and labels to no series (e.g. `("strategy", "core")`);
    /// at most 16, keys and values encodable in line protocol. Default none.
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    /// Node-exporter textfile path, written atomically every `textfile_every` decisions.
    /// Default none.
    #[serde(default)]
    pub textfile: Option<PathBuf>,
    /// Decisions between textfile writes, ≥ 1. Default 10.
    pub textfile_every: u64,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        Self {
            alerts: AlertConfig::default(),
            tags: Vec::new(),
            textfile: None,
            textfile_every: 10,
        }
    }
}

impl MonitorConfig {
    /// Checks every field.
    pub fn validate(&self) -> MonitorResult<()> {
        self.alerts.validate()?;
        check_size("tags", self.tags.len(), 16)?;
        let mut p = Point::new("m", Timestamp::from_nanos(0)).field("x", 1.0);
        p.tags.clone_from(&self.tags);
        p.to_line()?;
        if self.textfile_every == 0 {
            return Err(CoreError::OutOfRange {
                field: "textfile_every",
                value: 0.0,
                expected: ">= 1",
            }
            .into());
        }
        Ok(())
    }
}
prudentia_core::checked_serde!(MonitorConfig, MonitorConfig::validate);

/// The rolling state of a [`Monitor`]: what a restarted monitor needs to go on where it
/// stopped. Validated on load (config valid, windows within their lengths, values finite).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct MonitorState {
    config: MonitorConfig,
    equity_peak: Option<f64>,
    fallbacks: VecDeque<bool>,
    coverage: BTreeMap<String, VecDeque<bool>>,
    pending_regime: String,
    pending_forecasts: Vec<(String, f64, f64)>,
    pending_costs: Vec<(String, f64)>,
    decisions: u64,
    outcomes: u64,
}

impl MonitorState {
    fn new(config: MonitorConfig) -> Self {
        Self {
            config,
            equity_peak: None,
            fallbacks: VecDeque::new(),
            coverage: BTreeMap::new(),
            pending_regime: String::new(),
            pending_forecasts: Vec::new(),
            pending_costs: Vec::new(),
            decisions: 0,
            outcomes: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &MonitorConfig {
        &self.config
    }

    fn check(&mut self) -> MonitorResult<()> {
        self.config.validate()?;
        let a = &self.config.alerts;
        if let Some(p) = self.equity_peak {
            finite_nonneg("equity peak", p)?;
        }
        check_size("fallback window", self.fallbacks.len(), a.fallback_window)?;
        check_size("regimes tracked", self.coverage.len(), MAX_DIM)?;
        for w in self.coverage.values() {
            check_size("coverage window", w.len(), a.coverage_window)?;
        }
        check_size("pending forecasts", self.pending_forecasts.len(), MAX_WINDOW)?;
        check_size("pending costs", self.pending_costs.len(), MAX_WINDOW)?;
        for (_, m, s) in &self.pending_forecasts {
            finite("pending forecast mean", *m)?;
            positive("pending forecast sigma", *s)?;
        }
        for (_, c) in &self.pending_costs {
            finite("pending expected cost", *c)?;
        }
        Ok(())
    }
}
prudentia_core::checked_serde!(MonitorState, MonitorState::check);

fn finite(field: &'static str, v: f64) -> Result<(), CoreError> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(CoreError::NonFinite {
            field,
            index: 0,
            value: v,
        })
    }
}
fn finite_nonneg(field: &'static str, v: f64) -> Result<(), CoreError> {
    finite(field, v)?;
    if v < 0.0 {
        return Err(CoreError::OutOfRange {
            field,
            value: v,
            expected: ">= 0",
        });
    }
    Ok(())
}
fn positive(field: &'static str, v: f64) -> Result<(), CoreError> {
    finite(field, v)?;
    if v <= 0.0 {
        return Err(CoreError::OutOfRange {
            field,
            value: v,
            expected: "> 0",
        });
    }
    Ok(())
}
fn unit(field: &'static str, v: f64) -> Result<(), CoreError> {
    finite(field, v)?;
    if !(0.0..=1.0).contains(&v) {
        return Err(CoreError::OutOfRange {
            field,
            value: v,
            expected: "in [0, 1]",
        });
    }
    Ok(())
}

/// Where points go besides Prometheus.
pub trait PointSink: Send {
    /// Takes encoded points (already checked); must not block. Returns how many were accepted.
    fn send(&mut self, points: &[Point]) -> usize;
    /// Points dropped so far (for the `prudentia_monitor_dropped_points_total` counter).
    fn dropped(&self) -> u64;
    /// Delivers what is buffered, waiting up to `timeout`; `true` when done in time. The
    /// default has nothing buffered.
    fn flush(&self, timeout: std::time::Duration) -> bool {
        let _ = timeout;
        true
    }
}

#[cfg(feature = "influxdb")]
impl PointSink for crate::influx::InfluxWriter {
    fn send(&mut self, points: &[Point]) -> usize {
        self.push_all(points).unwrap_or(0)
    }
    fn dropped(&self) -> u64 {
        self.stats().dropped
    }
    fn flush(&self, timeout: std::time::Duration) -> bool {
        crate::influx::InfluxWriter::flush(self, timeout)
    }
}

/// Collects points in memory (for tests and custom exporters), up to a bound.
#[derive(Debug, Clone, Default)]
pub struct MemorySink {
    /// The points received.
    pub points: Vec<Point>,
    /// The most points kept (0 = [`MAX_WINDOW`]); later ones are dropped and counted.
    pub limit: usize,
    dropped: u64,
}

impl PointSink for MemorySink {
    fn send(&mut self, points: &[Point]) -> usize {
        let limit = if self.limit == 0 {
            MAX_WINDOW
        } else {
            self.limit.min(MAX_WINDOW)
        };
        let room = limit.saturating_sub(self.points.len()).min(points.len());
        self.points.extend_from_slice(&points[..room]);
        self.dropped = self.dropped.saturating_add((points.len() - room) as u64);
        room
    }
    fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// What one observed event produced.
#[derive(Debug, Clone, Default, PartialEq)]
#[must_use]
pub struct Observation {
    /// Alerts fired.
    pub alerts: Vec<Alert>,
    /// Points produced (and handed to the sinks).
    pub points: usize,
    /// Exporter failures of this event (Prometheus series limit, textfile write), which do
    /// not stop monitoring.
    pub export_errors: Vec<MonitorError>,
}

/// Streams pipeline metrics to point sinks (InfluxDB) and a Prometheus [`Registry`], and
/// evaluates the alert rules.
pub struct Monitor {
    state: MonitorState,
    registry: Arc<Mutex<Registry>>,
    sinks: Vec<Box<dyn PointSink>>,
    kept_alerts: VecDeque<Alert>,
    reported_dropped: u64,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("state", &self.state)
            .field("sinks", &self.sinks.len())
            .finish_non_exhaustive()
    }
}

const NS: &str = "prudentia_";

impl Monitor {
    /// A monitor with `config`, no sink and an empty registry.
    pub fn new(config: MonitorConfig) -> MonitorResult<Self> {
        config.validate()?;
        Ok(Self::restore(MonitorState::new(config)))
    }

    /// A monitor that continues from a saved state.
    pub fn restore(state: MonitorState) -> Self {
        Self {
            state,
            registry: Arc::new(Mutex::new(Registry::new())),
            sinks: Vec::new(),
            kept_alerts: VecDeque::new(),
            reported_dropped: 0,
        }
    }

    /// Adds a point sink (e.g. an `InfluxWriter`).
    #[must_use]
    pub fn with_sink(mut self, sink: Box<dyn PointSink>) -> Self {
        self.sinks.push(sink);
        self
    }

    /// The rolling state (for a checkpoint).
    pub fn state(&self) -> &MonitorState {
        &self.state
    }

    /// The Prometheus registry, shared (for [`serve`](crate::prom) or custom metrics).
    pub fn registry(&self) -> Arc<Mutex<Registry>> {
        Arc::clone(&self.registry)
    }

    /// The sinks, e.g. to read a writer's counters.
    pub fn sinks(&self) -> &[Box<dyn PointSink>] {
        &self.sinks
    }

    /// Flushes every sink, each waiting up to `timeout`; `true` when all completed.
    pub fn flush(&self, timeout: std::time::Duration) -> bool {
        let mut ok = true;
        for s in &self.sinks {
            ok &= s.flush(timeout);
        }
        ok
    }

    /// Removes and returns the sinks (e.g. to close an `InfluxWriter` and flush it).
    pub fn take_sinks(&mut self) -> Vec<Box<dyn PointSink>> {
        std::mem::take(&mut self.sinks)
    }

    /// Alerts fired since the last call (at most [`MAX_KEPT_ALERTS`], newest kept).
    pub fn take_alerts(&mut self) -> Vec<Alert> {
        self.kept_alerts.drain(..).collect()
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        lock(&self.registry)
    }

    /// Observes one decision. The whole input is checked first (numbers finite, probabilities
    /// in [0, 1], sigmas > 0, sizes within `MAX_WINDOW`, names encodable): a refused input
    /// changes nothing.
    pub fn on_decision(&mut self, m: &DecisionMetrics) -> MonitorResult<Observation> {
        // 1. check
        check_decision(m)?;

        // 2. alerts and points, from a copy of the rolling state
        let a = &self.state.config.alerts;
        let mut fallbacks = self.state.fallbacks.clone();
        fallbacks.push_back(m.fallback.is_some());
        while fallbacks.len() > a.fallback_window {
            fallbacks.pop_front();
        }
        let fallback_rate = fallbacks.iter().filter(|&&f| f).count() as f64 / fallbacks.len() as f64;
        let alerts = self.decision_alerts(m, fallbacks.len(), fallback_rate);
        let costs: Vec<f64> = m.orders.iter().filter_map(|(_, c)| *c).collect();
        let status = if m.fallback.is_some() {
            "fallback"
        } else {
            "normal"
        };
        let regime = if m.regime.is_empty() {
            "unknown"
        } else {
            m.regime.as_str()
        };
        let mut points = self.decision_points(m, [status, regime], fallback_rate, &costs);
        self.alert_points(&alerts, &mut points);
        crate::line::encode(&points)?;

        // 3. commit
        self.state.fallbacks = fallbacks;
        self.state.pending_regime = regime.to_string();
        self.state.pending_forecasts.clone_from(&m.forecasts);
        self.state.pending_costs = m
            .orders
            .iter()
            .filter_map(|(a, c)| c.map(|c| (a.clone(), c)))
            .collect();
        self.state.decisions = self.state.decisions.saturating_add(1);
        let export_errors = self.decision_metrics(m, status, fallback_rate, &costs);
        Ok(self.export(alerts, points, export_errors, true))
    }

    /// The alerts of a decision: the fallback rate over a full window, then drift per feature.
    fn decision_alerts(&self, m: &DecisionMetrics, window: usize, fallback_rate: f64) -> Vec<Alert> {
        let a = &self.state.config.alerts;
        let mut alerts = Vec::new();
        if window == a.fallback_window && fallback_rate > a.max_fallback_rate {
            alerts.push(alert(
                AlertRule::FallbackRate,
                m.time,
                fallback_rate,
                a.max_fallback_rate,
                None,
            ));
        }
        for (feature, psi, ks) in &m.drift {
            if *psi > a.max_psi {
                alerts.push(alert(AlertRule::DriftPsi, m.time, *psi, a.max_psi, Some(feature)));
            }
            if *ks > a.max_ks {
                alerts.push(alert(AlertRule::DriftKs, m.time, *ks, a.max_ks, Some(feature)));
            }
        }
        alerts
    }

    /// The points of a decision (`tags` = [status, regime]): the decision, then regime
    /// probabilities, stage timings and drift.
    fn decision_points(
        &self,
        m: &DecisionMetrics,
        tags: [&str; 2],
        fallback_rate: f64,
        costs: &[f64],
    ) -> Vec<Point> {
        let [status, regime] = tags;
        let mut d = self
            .point("decision", m.time)
            .tag("status", status)
            .tag("regime", regime)
            .field("change_probability", m.change_probability)
            .field("run_length", m.run_length)
            .field("forecasts", m.forecasts.len())
            .field("selected", m.selected)
            .field("orders", m.orders.len())
            .field("gross_exposure", m.gross_exposure)
            .field("net_exposure", m.net_exposure)
            .field("turnover", m.turnover)
            .field("carried_prices", m.carried_prices)
            .field("unexecuted", m.unexecuted)
            .field("excluded", m.excluded)
            .field("fallback_rate", fallback_rate)
            .field("step", i64::try_from(self.state.decisions).unwrap_or(i64::MAX));
        if !costs.is_empty() {
            d = d.field("expected_cost_bps", mean(costs));
        }
        if let Some(r) = &m.fallback {
            d = d.field("fallback_reason", r.as_str());
        }
        if let Some(s) = &m.optimizer_status {
            d = d.field("optimizer_status", s.as_str());
        }
        let mut points = vec![d];
        for (label, p) in &m.regime_probabilities {
            points.push(
                self.point("regime_probability", m.time)
                    .tag("regime", label.as_str())
                    .field("probability", *p),
            );
        }
        for (stage, s) in &m.stage_seconds {
            points.push(
                self.point("stage_timing", m.time)
                    .tag("stage", stage.as_str())
                    .field("seconds", *s),
            );
        }
        for (feature, psi, ks) in &m.drift {
            points.push(
                self.point("drift", m.time)
                    .tag("feature", feature.as_str())
                    .field("psi", *psi)
                    .field("ks", *ks),
            );
        }
        points
    }

    /// Updates the Prometheus registry after a decision; the errors of the export.
    fn decision_metrics(
        &self,
        m: &DecisionMetrics,
        status: &str,
        fallback_rate: f64,
        costs: &[f64],
    ) -> Vec<MonitorError> {
        let mut export_errors = Vec::new();
        {
            let mut r = self.lock();
            let mut e = |res: MonitorResult<()>| {
                if let Err(err) = res {
                    export_errors.push(err);
                }
            };
            e(r.inc_counter(
                &format!("{NS}decisions_total"),
                "Decisions observed",
                &[("status", status)],
                1.0,
            ));
            for (name, help, v) in [
                (
                    "regime_change_probability",
                    "Posterior probability of a regime change",
                    m.change_probability,
                ),
                (
                    "gross_exposure",
                    "Sum of absolute sized weights",
                    m.gross_exposure,
                ),
                ("net_exposure", "Sum of sized weights", m.net_exposure),
                ("turnover", "One-way turnover of the last decision", m.turnover),
                (
                    "fallback_rate",
                    "Share of fallback decisions in the rolling window",
                    fallback_rate,
                ),
                ("selected_assets", "Size of the selected slate", m.selected as f64),
                ("orders", "Orders of the last decision", m.orders.len() as f64),
                (
                    "carried_prices",
                    "Assets whose price was carried in the last decision",
                    m.carried_prices as f64,
                ),
                (
                    "unexecuted_changes",
                    "Weight changes that did not become orders",
                    m.unexecuted as f64,
                ),
                (
                    "excluded_assets",
                    "Assets left out of forecasting",
                    m.excluded as f64,
                ),
            ] {
                e(r.set_gauge(&format!("{NS}{name}"), help, &[], v));
            }
            if !costs.is_empty() {
                e(r.set_gauge(
                    &format!("{NS}expected_cost_bps"),
                    "Mean expected cost of the last orders (bps)",
                    &[],
                    mean(costs),
                ));
            }
            for (label, p) in &m.regime_probabilities {
                e(r.set_gauge(
                    &format!("{NS}regime_probability"),
                    "Probability of each regime",
                    &[("regime", label)],
                    *p,
                ));
            }
            for (stage, s) in &m.stage_seconds {
                e(r.observe(
                    &format!("{NS}stage_duration_seconds"),
                    "Wall-clock time per pipeline stage",
                    &[("stage", stage)],
                    *s,
                ));
            }
            for (feature, psi, ks) in &m.drift {
                e(r.set_gauge(
                    &format!("{NS}drift_psi"),
                    "Population stability index per feature",
                    &[("feature", feature)],
                    *psi,
                ));
                e(r.set_gauge(
                    &format!("{NS}drift_ks"),
                    "Kolmogorov-Smirnov statistic per feature",
                    &[("feature", feature)],
                    *ks,
                ));
            }
        }
        export_errors
    }

    /// Observes one outcome (after `learn`). Checked first like
    /// [`on_decision`](Self::on_decision).
    pub fn on_outcome(&mut self, m: &OutcomeMetrics) -> MonitorResult<Observation> {
        check_outcome(m)?;
        let a = &self.state.config.alerts;
        let mut alerts = Vec::new();
        let peak = self.state.equity_peak.map_or(m.equity, |p| p.max(m.equity));
        let drawdown = if peak > 0.0 {
            (1.0 - m.equity / peak).clamp(0.0, 1.0)
        } else {
            0.0
        };
        if drawdown > a.max_drawdown {
            alerts.push(alert(AlertRule::Drawdown, m.time, drawdown, a.max_drawdown, None));
        }
        let cov = self.rolled_coverage(m)?;
        let a = &self.state.config.alerts;
        if let (Some(c), true) = (
            cov.value,
            cov.samples > 0 && cov.window.len() >= a.coverage_min_samples,
        ) {
            if c < a.coverage_low {
                alerts.push(alert(
                    AlertRule::CoverageLow,
                    m.time,
                    c,
                    a.coverage_low,
                    Some(&cov.regime),
                ));
            } else if c > a.coverage_high {
                alerts.push(alert(
                    AlertRule::CoverageHigh,
                    m.time,
                    c,
                    a.coverage_high,
                    Some(&cov.regime),
                ));
            }
        }
        let cost_error = self.cost_error(m);
        if let Some(err) = cost_error {
            if err.abs() > a.max_cost_error_bps {
                alerts.push(alert(
                    AlertRule::CostModelError,
                    m.time,
                    err,
                    a.max_cost_error_bps,
                    None,
                ));
            }
        }
        let nominal = a.nominal_coverage();
        let mut points = self.outcome_points(m, drawdown, cost_error, &cov, nominal);
        self.alert_points(&alerts, &mut points);
        crate::line::encode(&points)?;

        // commit
        self.state.equity_peak = Some(peak);
        let export_errors = self.outcome_metrics(m, drawdown, cost_error, &cov, nominal);
        if cov.samples > 0 {
            self.state.coverage.insert(cov.regime, cov.window);
        }
        self.state.pending_forecasts.clear();
        self.state.pending_costs.clear();
        self.state.outcomes = self.state.outcomes.saturating_add(1);
        Ok(self.export(alerts, points, export_errors, false))
    }

    /// The interval coverage of the last decision's forecasts in the rolling window of its
    /// regime, from a copy of the window. Errors: a new regime beyond `MAX_DIM` tracked.
    fn rolled_coverage(&self, m: &OutcomeMetrics) -> MonitorResult<Coverage> {
        let a = &self.state.config.alerts;
        // interval coverage of the last decision's forecasts, per regime
        let mut window = self
            .state
            .coverage
            .get(&self.state.pending_regime)
            .cloned()
            .unwrap_or_default();
        let mut samples = 0usize;
        let realized_by_asset: std::collections::HashMap<&str, f64> =
            m.realized_returns.iter().map(|(a, r)| (a.as_str(), *r)).collect();
        for (asset, mu, sigma) in &self.state.pending_forecasts {
            if let Some(r) = realized_by_asset.get(asset.as_str()) {
                window.push_back((r - mu).abs() <= a.coverage_z * sigma);
                samples += 1;
            }
        }
        while window.len() > a.coverage_window {
            window.pop_front();
        }
        if samples > 0 && !self.state.coverage.contains_key(&self.state.pending_regime) {
            check_size(
                "regimes tracked",
                self.state.coverage.len().saturating_add(1),
                MAX_DIM,
            )?;
        }
        let coverage =
            (!window.is_empty()).then(|| window.iter().filter(|&&c| c).count() as f64 / window.len() as f64);
        let regime = self.state.pending_regime.clone();
        Ok(Coverage {
            window,
            samples,
            value: coverage,
            regime,
        })
    }

    /// Mean realized minus expected cost over the fills of the last decision's costed
    /// orders (bps), when finite.
    fn cost_error(&self, m: &OutcomeMetrics) -> Option<f64> {
        let matched: Vec<(f64, f64)> = m
            .fill_costs_bps
            .iter()
            .filter_map(|(asset, c)| {
                self.state
                    .pending_costs
                    .iter()
                    .find(|(a, _)| a == asset)
                    .map(|(_, e)| (*c, *e))
            })
            .collect();
        (!matched.is_empty())
            .then(|| {
                let (r, e): (Vec<f64>, Vec<f64>) = matched.iter().copied().unzip();
                mean(&r) - mean(&e)
            })
            .filter(|e| e.is_finite())
    }

    /// The points of an outcome: the outcome, then calibration when forecasts were scored.
    fn outcome_points(
        &self,
        m: &OutcomeMetrics,
        drawdown: f64,
        cost_error: Option<f64>,
        cov: &Coverage,
        nominal: f64,
    ) -> Vec<Point> {
        let realized: Vec<f64> = m.fill_costs_bps.iter().map(|(_, c)| *c).collect();
        let mut o = self
            .point("outcome", m.time)
            .field("equity", m.equity)
            .field("drawdown", drawdown)
            .field("fills", m.fill_costs_bps.len());
        if !realized.is_empty() && mean(&realized).is_finite() {
            o = o.field("realized_cost_bps", mean(&realized));
        }
        if let Some(err) = cost_error {
            o = o.field("cost_error_bps", err);
        }
        let mut points = vec![o];
        if let (Some(c), true) = (cov.value, cov.samples > 0) {
            points.push(
                self.point("calibration", m.time)
                    .tag("regime", cov.regime.as_str())
                    .field("coverage", c)
                    .field("calibration_error", c - nominal)
                    .field("samples", cov.window.len()),
            );
        }
        points
    }

    /// Updates the Prometheus registry after an outcome; the errors of the export.
    fn outcome_metrics(
        &self,
        m: &OutcomeMetrics,
        drawdown: f64,
        cost_error: Option<f64>,
        cov: &Coverage,
        nominal: f64,
    ) -> Vec<MonitorError> {
        let mut export_errors = Vec::new();
        {
            let mut r = self.lock();
            let mut e = |res: MonitorResult<()>| {
                if let Err(err) = res {
                    export_errors.push(err);
                }
            };
            e(r.inc_counter(&format!("{NS}outcomes_total"), "Outcomes observed", &[], 1.0));
            e(r.set_gauge(
                &format!("{NS}equity"),
                "Equity after the last outcome",
                &[],
                m.equity,
            ));
            e(r.set_gauge(
                &format!("{NS}drawdown"),
                "Drawdown from the equity peak",
                &[],
                drawdown,
            ));
            if let Some(err) = cost_error {
                e(r.set_gauge(
                    &format!("{NS}cost_error_bps"),
                    "Mean realized minus expected cost of the last fills (bps)",
                    &[],
                    err,
                ));
            }
            if let (Some(c), true) = (cov.value, cov.samples > 0) {
                e(r.set_gauge(
                    &format!("{NS}interval_coverage"),
                    "Rolling forecast interval coverage per regime",
                    &[("regime", &cov.regime)],
                    c,
                ));
                e(r.set_gauge(
                    &format!("{NS}calibration_error"),
                    "Rolling coverage minus nominal coverage per regime",
                    &[("regime", &cov.regime)],
                    c - nominal,
                ));
            }
        }
        export_errors
    }

    /// Counts a failed pipeline call (`decide` or `learn`) by stage.
    pub fn on_error(&mut self, call: &str, stage: &str) {
        let mut r = self.lock();
        let _ = r.inc_counter(
            &format!("{NS}errors_total"),
            "Failed pipeline calls",
            &[("call", call), ("stage", stage)],
            1.0,
        );
    }

    fn point(&self, measurement: &str, time: Timestamp) -> Point {
        let mut p = Point::new(measurement, time);
        p.tags.clone_from(&self.state.config.tags);
        p
    }

    fn alert_points(&self, alerts: &[Alert], points: &mut Vec<Point>) {
        for al in alerts {
            let mut p = self
                .point("alert", al.time)
                .tag("rule", al.rule.name())
                .field("value", al.value)
                .field("threshold", al.threshold);
            if let Some(s) = &al.subject {
                p = p.tag("subject", if s.is_empty() { "none" } else { s.as_str() });
            }
            points.push(p);
        }
    }

    fn export(
        &mut self,
        alerts: Vec<Alert>,
        points: Vec<Point>,
        mut export_errors: Vec<MonitorError>,
        decision: bool,
    ) -> Observation {
        for s in &mut self.sinks {
            s.send(&points);
        }
        let dropped: u64 = self
            .sinks
            .iter()
            .map(|s| s.dropped())
            .fold(0, u64::saturating_add);
        {
            let registry = Arc::clone(&self.registry);
            let mut r = lock(&registry);
            let mut e = |res: MonitorResult<()>| {
                if let Err(err) = res {
                    export_errors.push(err);
                }
            };
            for rule in AlertRule::ALL {
                let n = alerts.iter().filter(|a| a.rule == rule).count();
                e(r.inc_counter(
                    &format!("{NS}alerts_total"),
                    "Alerts fired per rule",
                    &[("rule", rule.name())],
                    n as f64,
                ));
            }
            let delta = dropped.saturating_sub(self.reported_dropped);
            e(r.inc_counter(
                &format!("{NS}monitor_dropped_points_total"),
                "Points the sinks dropped",
                &[],
                delta as f64,
            ));
            self.reported_dropped = self.reported_dropped.max(dropped);
        }
        if decision {
            if let Some(path) = &self.state.config.textfile {
                if self.state.decisions % self.state.config.textfile_every == 0 {
                    if let Err(err) = self.lock().write_textfile(path) {
                        export_errors.push(err);
                    }
                }
            }
        }
        if !export_errors.is_empty() {
            let _ = lock(&self.registry).inc_counter(
                &format!("{NS}monitor_export_errors_total"),
                "Exporter failures (series limit, textfile write)",
                &[],
                export_errors.len() as f64,
            );
        }
        for al in &alerts {
            if self.kept_alerts.len() >= MAX_KEPT_ALERTS {
                self.kept_alerts.pop_front();
            }
            self.kept_alerts.push_back(al.clone());
        }
        Observation {
            points: points.len(),
            alerts,
            export_errors,
        }
    }
}

/// The whole decision input checked (numbers finite, probabilities in [0, 1], sigmas > 0,
/// sizes within `MAX_WINDOW`).
fn check_decision(m: &DecisionMetrics) -> MonitorResult<()> {
    unit("change probability", m.change_probability)?;
    for (_, p) in &m.regime_probabilities {
        unit("regime probability", *p)?;
    }
    for (what, n) in [
        ("regime probabilities", m.regime_probabilities.len()),
        ("forecasts", m.forecasts.len()),
        ("orders", m.orders.len()),
        ("stage timings", m.stage_seconds.len()),
        ("drift statistics", m.drift.len()),
    ] {
        check_size(what, n, MAX_WINDOW)?;
    }
    check_size("regime probabilities", m.regime_probabilities.len(), MAX_DIM)?;
    for (_, mean, sigma) in &m.forecasts {
        finite("forecast mean", *mean)?;
        positive("forecast sigma", *sigma)?;
    }
    for (_, c) in &m.orders {
        if let Some(c) = c {
            finite("expected cost (bps)", *c)?;
        }
    }
    finite_nonneg("gross exposure", m.gross_exposure)?;
    finite("net exposure", m.net_exposure)?;
    finite_nonneg("turnover", m.turnover)?;
    for (_, s) in &m.stage_seconds {
        finite_nonneg("stage seconds", *s)?;
    }
    for (_, psi, ks) in &m.drift {
        finite_nonneg("drift PSI", *psi)?;
        unit("drift KS", *ks)?;
    }

    Ok(())
}

/// The whole outcome input checked.
fn check_outcome(m: &OutcomeMetrics) -> MonitorResult<()> {
    finite_nonneg("equity", m.equity)?;
    check_size("realized returns", m.realized_returns.len(), MAX_WINDOW)?;
    check_size("fill costs", m.fill_costs_bps.len(), MAX_WINDOW)?;
    for (_, r) in &m.realized_returns {
        finite("realized return", *r)?;
    }
    for (_, c) in &m.fill_costs_bps {
        finite("fill cost (bps)", *c)?;
    }
    Ok(())
}

/// The rolling interval coverage of one regime after an outcome.
struct Coverage {
    /// The regime's window, updated.
    window: VecDeque<bool>,
    /// Forecasts scored by this outcome.
    samples: usize,
    /// Share covered in the window.
    value: Option<f64>,
    /// The regime of the last decision.
    regime: String,
}

fn lock(registry: &Mutex<Registry>) -> MutexGuard<'_, Registry> {
    match registry.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

fn alert(rule: AlertRule, time: Timestamp, value: f64, threshold: f64, subject: Option<&str>) -> Alert {
    Alert {
        rule,
        time,
        value,
        threshold,
        subject: subject.map(str::to_string),
    }
}

/// Mean with a rescaled sum (finite for finite input of any magnitude).
fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let n = xs.len() as f64;
    xs.iter().map(|x| x / n).sum::<f64>()
}
