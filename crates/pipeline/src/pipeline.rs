//! The `Pipeline`: boxed role-trait objects composed into `decide` and `learn`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ndarray::{Array2, Axis};
use prudentia_core::estimators::{ledoit_wolf, sample_covariance};
use prudentia_core::traits::{
    AuditSink, Calibrator, CausalFilter, CostModel, ExecutionPolicy, Forecaster, Guard, OnlineLearner,
    OptimStatus, Optimizer, PortfolioInput, RegimeDetector, Screened, Selector, Sizer, SizingContext,
};
use prudentia_core::validate::{check_len, check_positive};
use prudentia_core::{
    AssetId, CoreError, Decision, DecisionRecord, DecisionStatus, Forecast, ForecastOutcome, MarketSnapshot,
    Opportunity, Order, OrderType, Outcome, RegimeLabel, RegimeState, Side, Weights,
};
use serde::{Deserialize, Serialize};

use crate::digest::{sha256_hex, ModelHasher, ModelState};
use crate::error::{PipelineError, PipelineResult, Stage};
use crate::history::ReturnHistory;

/// Which covariance the optimizer receives (over the trailing return window).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum CovarianceChoice {
    /// Unbiased sample covariance.
    Sample,
    /// Ledoit–Wolf shrinkage (default).
    #[default]
    LedoitWolf,
}

/// Settings of a [`Pipeline`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineConfig {
    /// The tradable universe, in a fixed order. Snapshots must quote these assets.
    pub universe: Vec<AssetId>,
    /// Trailing window of daily returns kept for correlation, covariance and scenarios. Default 252.
    pub history_window: usize,
    /// Returns needed before the first real decision; earlier snapshots give a
    /// `SafeFallback` ("warming up"). Default 60, at least 2.
    pub min_history: usize,
    /// Base seed; the seed of decision `k` is derived from it and `k`. Default 0.
    pub seed: u64,
    /// Policy identifier written to audit records. Default `"prudentia"`.
    pub policy_id: String,
    /// Feature-definition version written to audit records. Default `"1"`.
    pub feature_version: String,
    /// Order type of generated orders before routing. Default market.
    pub order_type: OrderType,
    /// Starting equity in currency units. Default 1,000,000.
    pub initial_equity: f64,
    /// Covariance estimator for the optimizer. Default Ledoit–Wolf.
    pub covariance: CovarianceChoice,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            universe: Vec::new(),
            history_window: 252,
            min_history: 60,
            seed: 0,
            policy_id: "prudentia".into(),
            feature_version: "1".into(),
            order_type: OrderType::Market,
            initial_equity: 1_000_000.0,
            covariance: CovarianceChoice::LedoitWolf,
        }
    }
}

impl PipelineConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), CoreError> {
        check_len("universe", self.universe.len(), 1)?;
        check_len("history_window", self.history_window, 2)?;
        check_len("min_history", self.min_history, 2)?;
        if self.min_history > self.history_window {
            return Err(CoreError::OutOfRange {
                field: "min_history",
                value: self.min_history as f64,
                expected: "<= history_window",
            });
        }
        check_positive("initial_equity", self.initial_equity)?;
        let mut ids: Vec<&AssetId> = self.universe.iter().collect();
        ids.sort();
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(CoreError::UnknownId {
                kind: "duplicate universe asset",
                id: w[0].to_string(),
            });
        }
        Ok(())
    }
}

/// Wall-clock time spent per stage in one call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StageTimings(pub Vec<(Stage, Duration)>);

impl StageTimings {
    fn push(&mut self, stage: Stage, since: Instant) {
        self.0.push((stage, since.elapsed()));
    }
    /// Total time.
    pub fn total(&self) -> Duration {
        self.0.iter().map(|(_, d)| *d).sum()
    }
    /// Time of one stage (zero if it did not run).
    pub fn of(&self, stage: Stage) -> Duration {
        self.0.iter().filter(|(s, _)| *s == stage).map(|(_, d)| *d).sum()
    }
}

/// What `decide` returns: the decision plus what is useful to inspect but not part of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[must_use]
pub struct DecisionReport {
    /// The decision (deterministic given inputs and seed).
    pub decision: Decision,
    /// The optimizer's status, when it ran.
    pub optimizer_status: Option<OptimStatus>,
    /// The audit record, when an audit sink is attached.
    pub record: Option<DecisionRecord>,
    /// Time per stage (not deterministic; kept out of the decision).
    pub timings: StageTimings,
    /// Universe assets whose quote was missing after screening (their last price was carried).
    pub carried_prices: Vec<AssetId>,
}

/// Builder of a [`Pipeline`]. A forecaster and an optimizer are required; every other stage
/// is optional and skipped when absent.
pub struct PipelineBuilder {
    config: PipelineConfig,
    guard: Option<Box<dyn Guard>>,
    regime: Option<Box<dyn RegimeDetector>>,
    forecaster: Option<Box<dyn Forecaster>>,
    calibrator: Option<Box<dyn Calibrator>>,
    causal: Option<Box<dyn CausalFilter>>,
    selector: Option<Box<dyn Selector>>,
    optimizer: Option<Box<dyn Optimizer>>,
    sizer: Option<Box<dyn Sizer>>,
    costs: Option<Box<dyn CostModel>>,
    execution: Option<Box<dyn ExecutionPolicy>>,
    audit: Option<Box<dyn AuditSink>>,
    model_states: Vec<(String, Box<dyn ModelState>)>,
    learners: Vec<Box<dyn OnlineLearner<Outcome>>>,
    forecast_learners: Vec<Box<dyn OnlineLearner<ForecastOutcome>>>,
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $t:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, stage: Box<$t>) -> Self {
            self.$name = Some(stage);
            self
        }
    };
}

impl PipelineBuilder {
    /// A builder with `config` and no stages.
    pub fn new(config: PipelineConfig) -> Self {
        Self {
            config,
            guard: None,
            regime: None,
            forecaster: None,
            calibrator: None,
            causal: None,
            selector: None,
            optimizer: None,
            sizer: None,
            costs: None,
            execution: None,
            audit: None,
            model_states: Vec::new(),
            learners: Vec::new(),
            forecast_learners: Vec::new(),
        }
    }
    setter!(
        /// Input screening; without it every snapshot is taken as clean.
        guard: dyn Guard
    );
    setter!(
        /// Regime detection; without it the regime is `unknown`.
        regime: dyn RegimeDetector
    );
    setter!(
        /// The forecaster (required).
        forecaster: dyn Forecaster
    );
    setter!(
        /// Forecast calibration.
        calibrator: dyn Calibrator
    );
    setter!(
        /// Causal filtering of opportunities.
        causal: dyn CausalFilter
    );
    setter!(
        /// Slate selection; without it every opportunity goes to the optimizer.
        selector: dyn Selector
    );
    setter!(
        /// Portfolio optimizer (required).
        optimizer: dyn Optimizer
    );
    setter!(
        /// Position sizing; without it the optimizer's weights are used as they are.
        sizer: dyn Sizer
    );
    setter!(
        /// Cost estimation of orders.
        costs: dyn CostModel
    );
    setter!(
        /// Order routing.
        execution: dyn ExecutionPolicy
    );
    setter!(
        /// Audit sink.
        audit: dyn AuditSink
    );
    /// Registers a source of model state for the model hash of audit records (e.g. a
    /// [`Shared`](crate::Shared) stage whose type is `Serialize`, or a
    /// [`FixedState`](crate::FixedState) fitted model). The hash covers the configuration and
    /// every registered source in registration order, so a changed model changes it.
    pub fn model_state(mut self, name: impl Into<String>, state: Box<dyn ModelState>) -> Self {
        self.model_states.push((name.into(), state));
        self
    }

    /// Adds an online model updated by `learn` (calibrators, bandits, governors, …).
    pub fn learner(mut self, learner: Box<dyn OnlineLearner<Outcome>>) -> Self {
        self.learners.push(learner);
        self
    }

    /// Adds an online model updated with every (raw forecast, realized return) pair of the
    /// last decision (calibrators, forecast-quality trackers).
    pub fn forecast_learner(mut self, learner: Box<dyn OnlineLearner<ForecastOutcome>>) -> Self {
        self.forecast_learners.push(learner);
        self
    }

    /// Validates the configuration and checks the required stages.
    pub fn build(self) -> PipelineResult<Pipeline> {
        self.config.validate()?;
        let forecaster = self.forecaster.ok_or(PipelineError::MissingStage {
            stage: Stage::Forecast,
        })?;
        let optimizer = self.optimizer.ok_or(PipelineError::MissingStage {
            stage: Stage::Optimize,
        })?;
        let n = self.config.universe.len();
        let history = ReturnHistory::new(n, self.config.history_window)?;
        let current = Weights::new(self.config.universe.clone(), vec![0.0; n])?;
        let universe_pos = self
            .config
            .universe
            .iter()
            .enumerate()
            .map(|(i, a)| (a.clone(), i))
            .collect();
        Ok(Pipeline {
            equity: self.config.initial_equity,
            config: self.config,
            guard: self.guard,
            regime: self.regime,
            forecaster,
            calibrator: self.calibrator,
            causal: self.causal,
            selector: self.selector,
            optimizer,
            sizer: self.sizer,
            costs: self.costs,
            execution: self.execution,
            audit: self.audit,
            model_states: self.model_states,
            learners: self.learners,
            forecast_learners: self.forecast_learners,
            pending_forecasts: Vec::new(),
            universe_pos,
            history,
            current,
            pending: None,
            last_regime: None,
            step: 0,
        })
    }
}

/// A decision pipeline assembled from role-trait objects.
///
/// `decide` runs guard → history → regime → forecast → calibrate → causal → select →
/// optimize → size → orders (+ costs) → route → audit, and never learns: only the guard's
/// windows, the return history and the regime filter advance, deterministically, from the
/// snapshot. `learn` applies the outcome (positions, equity) and updates the online models.
pub struct Pipeline {
    config: PipelineConfig,
    guard: Option<Box<dyn Guard>>,
    regime: Option<Box<dyn RegimeDetector>>,
    forecaster: Box<dyn Forecaster>,
    calibrator: Option<Box<dyn Calibrator>>,
    causal: Option<Box<dyn CausalFilter>>,
    selector: Option<Box<dyn Selector>>,
    optimizer: Box<dyn Optimizer>,
    sizer: Option<Box<dyn Sizer>>,
    costs: Option<Box<dyn CostModel>>,
    execution: Option<Box<dyn ExecutionPolicy>>,
    audit: Option<Box<dyn AuditSink>>,
    model_states: Vec<(String, Box<dyn ModelState>)>,
    learners: Vec<Box<dyn OnlineLearner<Outcome>>>,
    forecast_learners: Vec<Box<dyn OnlineLearner<ForecastOutcome>>>,
    /// Raw forecasts and regime of the last decision, for the forecast learners.
    pending_forecasts: Vec<(AssetId, Forecast, RegimeLabel)>,
    history: ReturnHistory,
    /// Position of each universe asset in `config.universe`.
    universe_pos: HashMap<AssetId, usize>,
    current: Weights,
    pending: Option<Weights>,
    last_regime: Option<RegimeState>,
    equity: f64,
    step: u64,
}

/// A serialization failure while building an audit record.
fn audit_error(e: serde_json::Error) -> PipelineError {
    PipelineError::Stage {
        stage: Stage::Audit,
        source: prudentia_core::RoleError::implementation(prudentia_core::Role::Audit, e),
    }
}

/// splitmix64: derives the per-decision seed from the base seed and the step.
fn derive_seed(base: u64, step: u64) -> u64 {
    let mut z = base ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Pipeline {
    /// The configuration.
    pub fn config(&self) -> &PipelineConfig {
        &self.config
    }
    /// Current positions as weights of equity.
    pub fn current_weights(&self) -> &Weights {
        &self.current
    }
    /// Current equity.
    pub fn equity(&self) -> f64 {
        self.equity
    }
    /// Decisions made so far.
    pub fn steps(&self) -> u64 {
        self.step
    }

    fn fallback(&self, snapshot: &MarketSnapshot, regime: RegimeState, reasons: Vec<String>) -> Decision {
        Decision {
            time: snapshot.time,
            status: DecisionStatus::SafeFallback { reasons },
            regime,
            forecasts: Vec::new(),
            selected: Vec::new(),
            target: self.current.clone(),
            sized: self.current.clone(),
            orders: Vec::new(),
        }
    }

    /// Makes one decision from a snapshot. Does not learn.
    pub fn decide(&mut self, snapshot: &MarketSnapshot) -> PipelineResult<DecisionReport> {
        let seed = derive_seed(self.config.seed, self.step);
        let mut timings = StageTimings::default();
        self.pending_forecasts.clear();

        // 1. guard
        let t0 = Instant::now();
        let screened = match &mut self.guard {
            Some(g) => g.screen(snapshot).map_err(PipelineError::at(Stage::Guard))?,
            None => Screened::Clean {
                snapshot: snapshot.clone(),
                repaired: 0,
                quarantined: 0,
            },
        };
        timings.push(Stage::Guard, t0);
        let clean = match screened {
            Screened::Clean { snapshot, .. } => snapshot,
            Screened::SafeFallback { reasons, .. } => {
                let regime = self.last_regime.clone().unwrap_or_default();
                let decision = self.fallback(snapshot, regime, reasons);
                return self.finish(decision, None, timings, Vec::new(), seed, snapshot);
            }
        };

        // 2. history
        let t0 = Instant::now();
        let mut carried = Vec::new();
        let mut prices = Vec::with_capacity(self.config.universe.len());
        let quote_prices: HashMap<&AssetId, f64> = clean
            .quotes
            .iter()
            .filter(|q| q.price.is_finite() && q.price > 0.0)
            .map(|q| (&q.asset, q.price))
            .collect();
        for id in &self.config.universe {
            match quote_prices.get(id) {
                Some(&p) => prices.push(p),
                None => {
                    carried.push(id.clone());
                    prices.push(f64::NAN);
                }
            }
        }
        if !carried.is_empty() {
            // carry the last known price; a first snapshot with a missing quote is refused
            let last: Vec<Option<f64>> = match self.history.last_prices() {
                Some(l) => l.iter().map(|v| Some(*v)).collect(),
                None => vec![None; prices.len()],
            };
            for (p, l) in prices.iter_mut().zip(last) {
                if p.is_nan() {
                    match l {
                        Some(v) => *p = v,
                        None => {
                            return Err(PipelineError::Stage {
                                stage: Stage::History,
                                source: CoreError::UnknownId {
                                    kind: "quote (no price yet) for universe asset",
                                    id: carried
                                        .iter()
                                        .map(|a| a.to_string())
                                        .collect::<Vec<_>>()
                                        .join(","),
                                }
                                .into(),
                            })
                        }
                    }
                }
            }
        }
        self.history
            .push_prices(&prices)
            .map_err(PipelineError::core_at(Stage::History))?;
        timings.push(Stage::History, t0);

        // 3. regime
        let t0 = Instant::now();
        let regime = match &mut self.regime {
            Some(r) => r.observe(&clean).map_err(PipelineError::at(Stage::Regime))?,
            None => RegimeState::default(),
        };
        timings.push(Stage::Regime, t0);
        self.last_regime = Some(regime.clone());

        if self.history.len() < self.config.min_history {
            let reason = format!(
                "warming up: {} of {} returns in history",
                self.history.len(),
                self.config.min_history
            );
            let decision = self.fallback(&clean, regime, vec![reason]);
            return self.finish(decision, None, timings, carried, seed, snapshot);
        }

        // 4-5. forecast and calibrate
        let t0 = Instant::now();
        let mut opportunities = Vec::new();
        for asset in &clean.assets {
            if !self.universe_pos.contains_key(&asset.id) {
                continue;
            }
            let f = self
                .forecaster
                .forecast(asset, &regime)
                .map_err(PipelineError::at(Stage::Forecast))?;
            opportunities.push(Opportunity {
                asset: asset.clone(),
                forecast: f,
            });
        }
        timings.push(Stage::Forecast, t0);
        self.pending_forecasts = opportunities
            .iter()
            .map(|o| (o.asset.id.clone(), o.forecast.clone(), regime.label.clone()))
            .collect();
        if let Some(cal) = &self.calibrator {
            let t0 = Instant::now();
            for o in &mut opportunities {
                o.forecast = cal
                    .calibrate(&o.forecast, &regime)
                    .map_err(PipelineError::at(Stage::Calibrate))?;
            }
            timings.push(Stage::Calibrate, t0);
        }
        let forecasts: Vec<(AssetId, _)> = opportunities
            .iter()
            .map(|o| (o.asset.id.clone(), o.forecast.clone()))
            .collect();

        // 6. causal filter
        if let Some(c) = &self.causal {
            let t0 = Instant::now();
            opportunities = c
                .filter(opportunities)
                .map_err(PipelineError::at(Stage::Causal))?;
            timings.push(Stage::Causal, t0);
        }
        if opportunities.is_empty() {
            let decision = Decision {
                forecasts,
                ..self.fallback(&clean, regime, vec!["no opportunity left after filtering".into()])
            };
            return self.finish(decision, None, timings, carried, seed, snapshot);
        }

        // 7. select
        let t0 = Instant::now();
        let columns: Vec<usize> = opportunities
            .iter()
            .map(|o| self.universe_index(&o.asset.id))
            .collect::<Result<_, _>>()
            .map_err(PipelineError::core_at(Stage::Select))?;
        let considered = opportunities.clone();
        let selected: Vec<Opportunity> = match &self.selector {
            Some(sel) => {
                let full = self
                    .history
                    .correlation()
                    .map_err(PipelineError::core_at(Stage::Select))?;
                let sub = full.select(Axis(0), &columns).select(Axis(1), &columns);
                let slate = sel
                    .select(&opportunities, sub.view())
                    .map_err(PipelineError::at(Stage::Select))?;
                slate
                    .indices
                    .iter()
                    .filter_map(|&i| opportunities.get(i).cloned())
                    .collect()
            }
            None => opportunities,
        };
        timings.push(Stage::Select, t0);

        // 8. optimize
        let t0 = Instant::now();
        let cols: Vec<usize> = selected
            .iter()
            .map(|o| self.universe_index(&o.asset.id))
            .collect::<Result<_, _>>()
            .map_err(PipelineError::core_at(Stage::Optimize))?;
        let scenarios = self
            .history
            .returns(&cols)
            .map_err(PipelineError::core_at(Stage::Optimize))?;
        let covariance: Array2<f64> = match self.config.covariance {
            CovarianceChoice::Sample => sample_covariance(scenarios.view(), 1),
            CovarianceChoice::LedoitWolf => ledoit_wolf(scenarios.view(), false).map(|e| e.covariance),
        }
        .map_err(PipelineError::core_at(Stage::Optimize))?;
        let input = PortfolioInput {
            opportunities: &selected,
            covariance: Some(covariance.view()),
            scenarios: Some(scenarios.view()),
            current: &self.current,
        };
        let target = self
            .optimizer
            .optimize(&input)
            .map_err(PipelineError::at(Stage::Optimize))?;
        timings.push(Stage::Optimize, t0);
        let status = target.status.clone();
        let target_weights = match status {
            OptimStatus::Infeasible { .. } | OptimStatus::NumericalError => self.current.clone(),
            _ => target.weights,
        };

        // 9. size: assets without an opportunity this time (e.g. a quarantined quote) are
        // held as they are, the rest go to the sizer
        let sized = match &self.sizer {
            Some(s) => {
                let t0 = Instant::now();
                let (mut ids, mut vals, mut held_ids, mut held_vals) = (vec![], vec![], vec![], vec![]);
                for (a, w) in target_weights.assets.iter().zip(&target_weights.values) {
                    if considered.iter().any(|o| &o.asset.id == a) {
                        ids.push(a.clone());
                        vals.push(*w);
                    } else {
                        held_ids.push(a.clone());
                        held_vals.push(*w);
                    }
                }
                let sizable = Weights::new(ids, vals).map_err(PipelineError::core_at(Stage::Size))?;
                // every considered opportunity, so that positions outside the slate (kept by a
                // fallback) can still be sized from their forecasts
                let ctx = SizingContext {
                    opportunities: &considered,
                    equity: self.equity,
                    current: &self.current,
                };
                let mut w = s.size(&sizable, &ctx).map_err(PipelineError::at(Stage::Size))?;
                w.assets.extend(held_ids);
                w.values.extend(held_vals);
                timings.push(Stage::Size, t0);
                w
            }
            None => target_weights.clone(),
        };

        // 10. orders and costs
        let t0 = Instant::now();
        let mut orders = self.orders_for(&sized, &clean)?;
        if let Some(c) = &self.costs {
            for o in &mut orders {
                let est = c.estimate(o, &clean).map_err(PipelineError::at(Stage::Orders))?;
                o.expected_cost_bps = Some(est.expected_bps);
            }
        }
        timings.push(Stage::Orders, t0);

        // 11. route
        if let Some(x) = &self.execution {
            let t0 = Instant::now();
            for (k, o) in orders.iter_mut().enumerate() {
                *o = x
                    .route(o, &clean, derive_seed(seed, k as u64))
                    .map_err(PipelineError::at(Stage::Route))?;
            }
            timings.push(Stage::Route, t0);
        }

        let decision = Decision {
            time: clean.time,
            status: DecisionStatus::Normal,
            regime,
            forecasts,
            selected: selected.iter().map(|o| o.asset.id.clone()).collect(),
            target: target_weights,
            sized,
            orders,
        };
        self.finish(decision, Some(status), timings, carried, seed, snapshot)
    }

    fn universe_index(&self, id: &AssetId) -> Result<usize, CoreError> {
        self.universe_pos
            .get(id)
            .copied()
            .ok_or_else(|| CoreError::UnknownId {
                kind: "asset (not in the universe)",
                id: id.to_string(),
            })
    }

    fn orders_for(&self, sized: &Weights, market: &MarketSnapshot) -> PipelineResult<Vec<Order>> {
        let mut ids: Vec<&AssetId> = sized.assets.iter().chain(self.current.assets.iter()).collect();
        ids.sort();
        ids.dedup();
        let mut orders = Vec::new();
        for id in ids {
            let delta = sized.get(id) - self.current.get(id);
            if delta == 0.0 {
                continue;
            }
            let info = market.assets.iter().find(|a| &a.id == id);
            let price = info
                .map(|a| a.price)
                .or_else(|| market.quotes.iter().find(|q| &q.asset == id).map(|q| q.price));
            let Some(price) = price.filter(|p| p.is_finite() && *p > 0.0) else {
                continue;
            };
            let lot = info.map_or(1.0, |a| a.lot_size).max(f64::MIN_POSITIVE);
            let shares = ((delta.abs() * self.equity / price) / lot).floor() * lot;
            if shares <= 0.0 {
                continue;
            }
            let side = if delta > 0.0 { Side::Buy } else { Side::Sell };
            let order = Order::new(id.clone(), side, shares, self.config.order_type)
                .map_err(PipelineError::core_at(Stage::Orders))?;
            orders.push(order);
        }
        Ok(orders)
    }

    fn finish(
        &mut self,
        decision: Decision,
        optimizer_status: Option<OptimStatus>,
        mut timings: StageTimings,
        carried_prices: Vec<AssetId>,
        seed: u64,
        raw: &MarketSnapshot,
    ) -> PipelineResult<DecisionReport> {
        let mut record = None;
        if self.audit.is_some() {
            let t0 = Instant::now();
            let r = DecisionRecord {
                sequence: self.step,
                policy_id: self.config.policy_id.clone(),
                model_hash: self.model_hash()?,
                feature_version: self.config.feature_version.clone(),
                seed,
                inputs_digest: sha256_hex(&serde_json::to_vec(raw).map_err(audit_error)?),
                decision: decision.clone(),
                optimizer_status: optimizer_status.clone(),
                timings_ns: timings
                    .0
                    .iter()
                    .map(|(s, d)| (s.to_string(), u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)))
                    .collect(),
            };
            if let Some(sink) = &mut self.audit {
                sink.record(raw, &r).map_err(PipelineError::at(Stage::Audit))?;
            }
            record = Some(r);
            timings.push(Stage::Audit, t0);
        }
        self.pending = Some(decision.sized.clone());
        self.step += 1;
        Ok(DecisionReport {
            decision,
            optimizer_status,
            record,
            timings,
            carried_prices,
        })
    }

    /// SHA-256 of the configuration and every registered model-state source.
    fn model_hash(&self) -> PipelineResult<String> {
        let mut h = ModelHasher::new();
        h.part("config", |out| serde_json::to_writer(out, &self.config))
            .map_err(audit_error)?;
        for (name, state) in &self.model_states {
            h.part(name, |out| state.write_state(out)).map_err(audit_error)?;
        }
        Ok(h.finish())
    }

    /// Learns from what happened after the last decision: positions move to the decided
    /// weights (or to what the fills imply, when fills are given and cover them), equity
    /// grows by the portfolio return `Σ w_i r_i` (or is set from `outcome.equity`), weights
    /// drift with returns, and every online learner is updated.
    pub fn learn(&mut self, outcome: &Outcome) -> PipelineResult<()> {
        for (_, r) in &outcome.realized_returns {
            if !r.is_finite() || *r < -1.0 {
                return Err(PipelineError::Core(CoreError::OutOfRange {
                    field: "realized return",
                    value: *r,
                    expected: "finite and >= -1",
                }));
            }
        }
        if let Some(sink) = &mut self.audit {
            sink.outcome(outcome).map_err(PipelineError::at(Stage::Audit))?;
        }
        if let Some(w) = self.pending.take() {
            self.current = w;
        }
        let ret = |id: &AssetId| {
            outcome
                .realized_returns
                .iter()
                .find(|(a, _)| a == id)
                .map_or(0.0, |(_, r)| *r)
        };
        let rp: f64 = self
            .current
            .assets
            .iter()
            .zip(&self.current.values)
            .map(|(a, w)| w * ret(a))
            .sum();
        let growth = 1.0 + rp;
        if growth > 0.0 {
            for (a, w) in self
                .current
                .assets
                .clone()
                .iter()
                .zip(self.current.values.iter_mut())
            {
                *w = *w * (1.0 + ret(a)) / growth;
            }
        }
        self.equity = match outcome.equity {
            Some(e) => e,
            None => self.equity * growth.max(0.0),
        };
        for l in &mut self.learners {
            l.learn(outcome).map_err(PipelineError::at(Stage::Learn))?;
        }
        if !self.forecast_learners.is_empty() {
            for (asset, forecast, regime) in std::mem::take(&mut self.pending_forecasts) {
                let Some((_, realized)) = outcome.realized_returns.iter().find(|(a, _)| *a == asset) else {
                    continue;
                };
                let event = ForecastOutcome {
                    asset,
                    forecast,
                    regime,
                    realized: *realized,
                };
                for l in &mut self.forecast_learners {
                    l.learn(&event).map_err(PipelineError::at(Stage::Learn))?;
                }
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("config", &self.config)
            .field("step", &self.step)
            .field("equity", &self.equity)
            .field("guard", &self.guard.is_some())
            .field("regime", &self.regime.is_some())
            .field("calibrator", &self.calibrator.is_some())
            .field("causal", &self.causal.is_some())
            .field("selector", &self.selector.is_some())
            .field("sizer", &self.sizer.is_some())
            .field("costs", &self.costs.is_some())
            .field("execution", &self.execution.is_some())
            .field("audit", &self.audit.is_some())
            .field("learners", &self.learners.len())
            .field("forecast_learners", &self.forecast_learners.len())
            .finish()
    }
}
