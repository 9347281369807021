//! The `Pipeline`: boxed role-trait objects composed into `decide` and `learn`.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use ndarray::Array2;
use prudentia_core::estimators::{ledoit_wolf, sample_covariance};
use prudentia_core::traits::{
    AuditSink, Calibrator, CausalFilter, CostModel, ExecutionPolicy, Forecaster, Guard, OnlineLearner,
    Optimizer, PortfolioInput, RegimeDetector, Screened, Selector, Sizer, SizingContext, Slate,
};
use prudentia_core::validate::{
    check_elements, check_finite, check_finite_2d, check_len, check_non_negative, check_positive,
    check_range, check_size, MAX_DIM, MAX_ELEMENTS, MAX_WINDOW,
};
use prudentia_core::Status;
use prudentia_core::{
    AssetId, AssetInfo, CoreError, Decision, DecisionRecord, DecisionStatus, ExecutedOrder, Fill, Forecast,
    ForecastOutcome, MarketSnapshot, Opportunity, Order, OrderType, Outcome, RegimeLabel, RegimeState,
    RoleResult, Side, Timestamp, Weights,
};
use serde::{Deserialize, Serialize};

use crate::digest::{sha256_snapshot_hex_with, ModelHasher, ModelState};
use crate::error::{PipelineError, PipelineResult, Stage};
use crate::history::{plausible_ratio, ReturnHistory};
use crate::observer::Observer;
use crate::refit::{PipelineState, Refit, RefitPoint, RefitSchedule, StageState};

/// Which covariance the optimizer receives (over the trailing return window).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum CovarianceChoice {
    /// Unbiased sample covariance.
    Sample,
    /// Ledoit–Wolf shrinkage (default).
    #[default]
    LedoitWolf,
}

/// Settings of a [`Pipeline`]. Checked by [`PipelineConfig::validate`] when a pipeline is
/// built and when a configuration is deserialized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[serde(default)]
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
    /// What a stage failure on one decision does: a recorded `SafeFallback` (default) or an
    /// error that stops the run.
    #[serde(default)]
    pub on_stage_error: OnStageError,
    /// Whether an optimizer result stopped at its iteration limit
    /// (`Status::IterationLimit`, `TimeLimit`, `ReducedAccuracy` or `Heuristic`) is traded (with a note in the decision report);
    /// otherwise the day is a `SafeFallback` that keeps positions. Default false. Infeasible
    /// and numerically failed results are never traded.
    #[serde(default)]
    pub trade_non_optimal: bool,
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
            on_stage_error: OnStageError::Fallback,
            trade_non_optimal: false,
        }
    }
}

prudentia_core::checked_serde!(PipelineConfig, PipelineConfig::check_loaded);

impl PipelineConfig {
    /// Checks every field: a universe of 1 to `MAX_DIM` distinct assets, `2 ≤ min_history ≤
    /// history_window ≤ MAX_WINDOW` with `history_window × assets` and `assets²` at most
    /// `MAX_ELEMENTS` (`prudentia_core::validate`), a finite positive initial equity and a
    /// POV rate in (0, 1].
    pub fn validate(&self) -> Result<(), CoreError> {
        check_len("universe", self.universe.len(), 1)?;
        check_size("universe", self.universe.len(), MAX_DIM)?;
        check_len("history_window", self.history_window, 2)?;
        check_size("history_window", self.history_window, MAX_WINDOW)?;
        check_elements(
            "history_window × universe",
            &[self.history_window, self.universe.len()],
            MAX_ELEMENTS,
        )?;
        check_elements(
            "universe × universe",
            &[self.universe.len(), self.universe.len()],
            MAX_ELEMENTS,
        )?;
        check_len("min_history", self.min_history, 2)?;
        if let OrderType::Pov { rate } = self.order_type {
            check_range("order_type POV rate", rate, f64::MIN_POSITIVE, 1.0, "in (0, 1]")?;
        }
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

    fn check_loaded(&mut self) -> Result<(), CoreError> {
        self.validate()
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
    pub optimizer_status: Option<Status>,
    /// The audit record, when an audit sink is attached.
    pub record: Option<DecisionRecord>,
    /// Time per stage (not deterministic; kept out of the decision).
    pub timings: StageTimings,
    /// Universe assets without a validated price in the snapshot (quote missing, invalid,
    /// quarantined, future-dated, contradicted or implausible): their last price was carried
    /// and they were not traded.
    pub carried_prices: Vec<AssetId>,
    /// Every weight change of `decision.sized` from the current book that did not become an
    /// order, with the reason. Together with `decision.orders` it accounts for every change:
    /// an asset whose weight changes has an order or an entry here.
    #[serde(default)]
    pub unexecuted: Vec<UnexecutedChange>,
    /// Universe assets of the snapshot left out of forecasting because their information was
    /// unusable (duplicated, no valid price, invalid lot size, volume or features), with the
    /// reason.
    #[serde(default)]
    pub excluded: Vec<(AssetId, String)>,
    /// The stage failure this decision fell back from (under [`OnStageError::Fallback`]).
    #[serde(default)]
    pub failure: Option<StageFailure>,
    /// What the decision should be read with: the selector's k shrunk to what was feasible,
    /// a non-optimal optimizer result traded, the optimizer's explicit fallback policy.
    #[serde(default)]
    pub notes: Vec<String>,
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
    selector_k: Option<SelectorK>,
    optimizer: Option<Box<dyn Optimizer>>,
    sizer: Option<Box<dyn Sizer>>,
    costs: Option<Box<dyn CostModel>>,
    execution: Option<Box<dyn ExecutionPolicy>>,
    audit: Option<Box<dyn AuditSink>>,
    model_states: Vec<(String, Box<dyn ModelState>)>,
    learners: Vec<Box<dyn OnlineLearner<Outcome>>>,
    forecast_learners: Vec<Box<dyn OnlineLearner<ForecastOutcome>>>,
    fill_learners: Vec<Box<dyn FillLearner>>,
    broker: Option<Box<dyn Broker>>,
    observer: Option<Box<dyn Observer>>,
    refits: Vec<Refitter>,
    stage_states: Vec<(String, Box<dyn StageState>)>,
    digest_aside: bool,
}

/// An online model that learns from the fills of the pipeline's orders (cost models,
/// execution policies): `OnlineLearner<ExecutedOrder<'a>>` for every lifetime. Implemented
/// for every such learner.
pub trait FillLearner: for<'a> OnlineLearner<ExecutedOrder<'a>> {}
impl<T: ?Sized + for<'a> OnlineLearner<ExecutedOrder<'a>>> FillLearner for T {}

/// What stands in for the market in a walk-forward run: it executes the orders of each
/// decision and reports their fills, which [`walk_forward`](crate::walk_forward) puts into
/// the outcome it learns from (so cost models and execution policies learn from them) and
/// books as the period's trading cost instead of [`BacktestConfig::cost_bps`](crate::BacktestConfig).
/// A live deployment has no broker here: fills come with the outcomes it passes to
/// [`Pipeline::learn`].
pub trait Broker: Send {
    /// The fills of `orders`, decided on `market` (the guard-cleaned snapshot), by
    /// `until` (the time of the next snapshot). An order may fill partly or not at all; each
    /// fill must match an order's asset and side, not exceed its quantity, and be timed
    /// within `[market.time, until]`. `seed` is the decision's seed.
    fn execute(
        &mut self,
        orders: &[Order],
        market: &MarketSnapshot,
        until: Timestamp,
        seed: u64,
    ) -> RoleResult<Vec<Fill>>;
}

/// A registered refit hook.
struct Refitter {
    name: String,
    schedule: RefitSchedule,
    model: Box<dyn Refit>,
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
            selector_k: None,
            optimizer: None,
            sizer: None,
            costs: None,
            execution: None,
            audit: None,
            model_states: Vec::new(),
            learners: Vec::new(),
            forecast_learners: Vec::new(),
            fill_learners: Vec::new(),
            broker: None,
            observer: None,
            refits: Vec::new(),
            stage_states: Vec::new(),
            digest_aside: true,
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
    /// Slate selection with a slate size the pipeline may shrink: `make(k)` builds the
    /// selector for slate size `k` (e.g. a `DiversityAwareSelector` with `problem.k = k`).
    /// When there are fewer opportunities than `k`, or the selector fails, the pipeline
    /// retries with a smaller k (the number of opportunities, then halving) and records
    /// "selector: k shrunk from … to …" in [`DecisionReport::notes`]. Replaces any
    /// [`selector`](Self::selector). `make(k)` is called here once; an error or `k = 0` is
    /// reported by [`build`](Self::build).
    pub fn selector_with_k(
        mut self,
        k: usize,
        make: impl Fn(usize) -> RoleResult<Box<dyn Selector>> + Send + Sync + 'static,
    ) -> Self {
        self.selector = make(k.max(1)).ok();
        self.selector_k = Some(SelectorK {
            k,
            make: Box::new(make),
        });
        self
    }
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

    /// Adds a batch model refitted on `schedule` with the data of past decisions only (see
    /// [`Refit`]). Hooks run in registration order.
    pub fn refit(mut self, name: impl Into<String>, schedule: RefitSchedule, model: Box<dyn Refit>) -> Self {
        self.refits.push(Refitter {
            name: name.into(),
            schedule,
            model,
        });
        self
    }

    /// Registers a stage whose state goes into [`Pipeline::checkpoint`] under `name` (e.g. a
    /// [`Shared`](crate::Shared) guard, regime detector or calibrator whose type is
    /// `Serialize + Deserialize`). Stages without state need nothing.
    pub fn stage_state(mut self, name: impl Into<String>, state: Box<dyn StageState>) -> Self {
        self.stage_states.push((name.into(), state));
        self
    }

    /// Whether the audit record's snapshot digest (SHA-256 of the snapshot's JSON, ~0.3 ms
    /// for 500 assets) of a large snapshot is taken on a second thread while the stages
    /// run, when the machine has more than one core and an audit sink is attached. Default
    /// true. The digest is the same either way; this trades a thread start (~20 µs) for
    /// the digest's time in the audit stage. Turn it off where every core is busy already
    /// (e.g. many pipelines run side by side).
    pub fn digest_aside(mut self, on: bool) -> Self {
        self.digest_aside = on;
        self
    }

    /// Observer called after every `decide` and `learn` (monitoring); none by default.
    pub fn observer(mut self, observer: Box<dyn Observer>) -> Self {
        self.observer = Some(observer);
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

    /// Adds an online model updated with every fill of the last decision's orders, paired
    /// with its order and the snapshot the order was decided on ([`ExecutedOrder`]): cost
    /// models and execution policies.
    pub fn fill_learner(mut self, learner: Box<dyn FillLearner>) -> Self {
        self.fill_learners.push(learner);
        self
    }

    /// The simulated market of walk-forward runs ([`Broker`]); none by default (no fills,
    /// the linear cost of [`BacktestConfig::cost_bps`](crate::BacktestConfig)).
    pub fn broker(mut self, broker: Box<dyn Broker>) -> Self {
        self.broker = Some(broker);
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
        if let Some(sk) = &self.selector_k {
            check_len("selector k", sk.k, 1)?;
            if self.selector.is_none() {
                return Err(PipelineError::MissingStage { stage: Stage::Select });
            }
        }
        for r in &self.refits {
            r.schedule.validate()?;
        }
        let refit_cap = self.refits.iter().map(|r| r.schedule.len()).max().unwrap_or(0);
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
        let mut universe_by_id: Vec<usize> = (0..n).collect();
        universe_by_id.sort_by(|&a, &b| self.config.universe[a].cmp(&self.config.universe[b]));
        Ok(Pipeline {
            equity: self.config.initial_equity,
            config: self.config,
            guard: self.guard,
            regime: self.regime,
            forecaster,
            calibrator: self.calibrator,
            causal: self.causal,
            selector: self.selector,
            selector_k: self.selector_k,
            optimizer,
            sizer: self.sizer,
            costs: self.costs,
            execution: self.execution,
            audit: self.audit,
            model_states: self.model_states,
            config_hash: None,
            learners: self.learners,
            forecast_learners: self.forecast_learners,
            fill_learners: self.fill_learners,
            broker: self.broker,
            observer: self.observer,
            refits: self.refits,
            refit_data: VecDeque::new(),
            refit_cap,
            stage_states: self.stage_states,
            pending_notes: Vec::new(),
            pending_forecasts: Vec::new(),
            universe_pos,
            universe_by_id,
            history,
            current,
            pending: None,
            pending_orders: Vec::new(),
            pending_market: None,
            last_regime: None,
            last_time: None,
            step: 0,
            digest_buf: Vec::new(),
            digest_aside: self.digest_aside
                && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1),
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
    selector_k: Option<SelectorK>,
    optimizer: Box<dyn Optimizer>,
    sizer: Option<Box<dyn Sizer>>,
    costs: Option<Box<dyn CostModel>>,
    execution: Option<Box<dyn ExecutionPolicy>>,
    audit: Option<Box<dyn AuditSink>>,
    model_states: Vec<(String, Box<dyn ModelState>)>,
    /// The model hasher after the configuration (kept from the first audit record on).
    config_hash: Option<ModelHasher>,
    learners: Vec<Box<dyn OnlineLearner<Outcome>>>,
    forecast_learners: Vec<Box<dyn OnlineLearner<ForecastOutcome>>>,
    fill_learners: Vec<Box<dyn FillLearner>>,
    broker: Option<Box<dyn Broker>>,
    observer: Option<Box<dyn Observer>>,
    refits: Vec<Refitter>,
    /// Past decisions' clean snapshots and outcomes, for the refits (at most `refit_cap`).
    refit_data: VecDeque<RefitPoint>,
    refit_cap: usize,
    stage_states: Vec<(String, Box<dyn StageState>)>,
    /// Notes for the next decision report (refit failures).
    pending_notes: Vec<String>,
    /// Raw forecasts and regime of the last decision, for the forecast learners.
    pending_forecasts: Vec<(AssetId, Forecast, RegimeLabel)>,
    history: ReturnHistory,
    /// Position of each universe asset in `config.universe`.
    universe_pos: HashMap<AssetId, usize>,
    /// Positions of the universe assets in the order of their ids.
    universe_by_id: Vec<usize>,
    current: Weights,
    pending: Option<Weights>,
    /// The orders of the last decision, until its outcome is learned (fills must match them).
    pending_orders: Vec<Order>,
    /// The clean snapshot the last decision's orders were made on (kept only with fill
    /// learners or a broker).
    pending_market: Option<MarketSnapshot>,
    last_regime: Option<RegimeState>,
    /// Time of the last decision (snapshot times must increase).
    last_time: Option<Timestamp>,
    equity: f64,
    step: u64,
    /// The buffer of the audit record's snapshot digest, kept across decisions (scratch).
    digest_buf: Vec<u8>,
    /// Whether a large snapshot's digest is taken on a second thread (see
    /// [`PipelineBuilder::digest_aside`]; false on a single core).
    digest_aside: bool,
}

/// Values (quotes, indicators and assets) from which a snapshot's digest is taken on a
/// second thread: about 70 kB of JSON, ~0.07 ms of writing and hashing against ~0.02 ms to
/// start and join a thread.
const DIGEST_ASIDE_MIN_VALUES: usize = 512;

/// The audit record's snapshot digest, being taken on a second thread.
type DigestAside<'scope> = std::thread::ScopedJoinHandle<'scope, (String, Vec<u8>)>;

/// A serialization failure while building an audit record.
fn audit_error(e: serde_json::Error) -> PipelineError {
    PipelineError::Stage {
        stage: Stage::Audit,
        source: prudentia_core::RoleError::implementation(prudentia_core::Role::Audit, e),
        time: None,
    }
}

/// A batch role call (`estimate_all`, `route_all`) must give one result per order.
fn check_batch_len(stage: Stage, field: &'static str, orders: usize, results: usize) -> PipelineResult<()> {
    prudentia_core::validate::check_shape(field, &[orders], &[results]).map_err(PipelineError::core_at(stage))
}

/// The per-decision seed from the base seed and the step (core's SplitMix64 derivation).
fn derive_seed(base: u64, step: u64) -> u64 {
    prudentia_core::rng::SplitMix64::derive(base, step)
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
    /// Whether a [`Broker`] executes the orders of walk-forward runs.
    pub fn has_broker(&self) -> bool {
        self.broker.is_some()
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
    ///
    /// Snapshot times must strictly increase from one decision to the next (a snapshot refused
    /// before its prices entered the history may be given again). Prices are validated
    /// before use: a universe asset's price of this snapshot is the price of its quote in the
    /// guard's clean snapshot when that is finite and > 0, not dated after the snapshot, not
    /// contradicted by another quote of the same time, and within
    /// [`MAX_PRICE_RATIO`](crate::MAX_PRICE_RATIO) of its last price; otherwise the last
    /// validated price is carried (listed in [`DecisionReport::carried_prices`]) and the asset
    /// is not traded. A snapshot with no validated price at all is a `SafeFallback`.
    /// Every weight change of the decision either becomes an order or is listed in
    /// [`DecisionReport::unexecuted`] with its reason.
    pub fn decide(&mut self, snapshot: &MarketSnapshot) -> PipelineResult<DecisionReport> {
        match self.screen(snapshot) {
            Ok(screened) => self.decide_screened(screened),
            Err(e) => {
                self.observe_decide(Err(&e));
                Err(e)
            }
        }
    }

    fn observe_decide(&mut self, result: Result<&DecisionReport, &PipelineError>) {
        if let Some(o) = &mut self.observer {
            o.after_decide(result, &self.current);
        }
    }

    /// Runs the guard on `snapshot` (the first step of [`decide`](Self::decide)); checks that
    /// the snapshot comes after the last decision's.
    pub(crate) fn screen<'a>(
        &mut self,
        snapshot: &'a MarketSnapshot,
    ) -> PipelineResult<ScreenedSnapshot<'a>> {
        if let Some(last) = self.last_time {
            if snapshot.time <= last {
                return Err(PipelineError::Core(CoreError::NotIncreasing {
                    field: "snapshot times (decide)",
                    index: usize::try_from(self.step).unwrap_or(usize::MAX),
                }));
            }
        }
        let mut timings = StageTimings::default();
        let t0 = Instant::now();
        let mut failure = None;
        let screened = match &mut self.guard {
            Some(g) => match g.screen(snapshot) {
                Ok(s) => s,
                Err(e) if self.config.on_stage_error == OnStageError::Fallback => {
                    let f = StageFailure {
                        time: snapshot.time,
                        stage: Stage::Guard,
                        reason: e.to_string(),
                    };
                    let reasons = vec![f.to_string()];
                    failure = Some(f);
                    Screened::SafeFallback {
                        reasons,
                        quarantined_share: 1.0,
                    }
                }
                Err(e) => return Err(PipelineError::at(Stage::Guard)(e).with_time(snapshot.time)),
            },
            None => Screened::Clean {
                snapshot: snapshot.clone(),
                repaired: 0,
                quarantined: 0,
            },
        };
        timings.push(Stage::Guard, t0);
        Ok(ScreenedSnapshot {
            raw: snapshot,
            screened,
            timings,
            failure,
        })
    }

    /// The validated price of each universe asset in a clean snapshot (see [`decide`](Self::decide)),
    /// before the check against the last price.
    pub(crate) fn quote_prices(&self, clean: &MarketSnapshot) -> Vec<Option<f64>> {
        let n = self.config.universe.len();
        // (time, price, ambiguous) of the latest usable quote per asset
        let mut best: Vec<Option<(Timestamp, f64, bool)>> = vec![None; n];
        for (k, q) in clean.quotes.iter().enumerate() {
            let Some(i) = self.position_near(k, &q.asset) else {
                continue;
            };
            if !(q.price.is_finite() && q.price > 0.0) || q.time > clean.time {
                continue;
            }
            best[i] = match best[i] {
                None => Some((q.time, q.price, false)),
                Some((t, p, amb)) if q.time == t => Some((t, p, amb || p != q.price)),
                Some((t, _, _)) if q.time > t => Some((q.time, q.price, false)),
                keep => keep,
            };
        }
        best.into_iter()
            .map(|b| b.and_then(|(_, p, ambiguous)| (!ambiguous).then_some(p)))
            .collect()
    }

    /// Decides on a screened snapshot (the rest of [`decide`](Self::decide)), then calls the
    /// observer.
    pub(crate) fn decide_screened(
        &mut self,
        screened: ScreenedSnapshot<'_>,
    ) -> PipelineResult<DecisionReport> {
        let raw = screened.raw;
        let values = raw.quotes.len() + raw.indicators.len() + raw.assets.len();
        let result = if self.digest_aside && self.audit.is_some() && values >= DIGEST_ASIDE_MIN_VALUES {
            // the digest depends on the raw snapshot alone: it is taken while the stages run
            // and joined by the audit stage (the same digest as taken there)
            let mut buf = std::mem::take(&mut self.digest_buf);
            std::thread::scope(|scope| {
                let aside = std::thread::Builder::new()
                    .name("prudentia-digest".into())
                    .spawn_scoped(scope, move || {
                        let digest = sha256_snapshot_hex_with(raw, &mut buf);
                        (digest, buf)
                    })
                    .ok();
                self.decide_screened_unobserved(screened, aside)
            })
        } else {
            self.decide_screened_unobserved(screened, None)
        }
        .map_err(|e| e.with_time(raw.time));
        self.observe_decide(result.as_ref());
        result
    }

    /// The decide flow after the guard: the chain of stages, then the audit record. A stage
    /// failure (under [`OnStageError::Fallback`]) becomes a `SafeFallback` decision.
    fn decide_screened_unobserved(
        &mut self,
        screened: ScreenedSnapshot<'_>,
        digest: Option<DigestAside<'_>>,
    ) -> PipelineResult<DecisionReport> {
        let ScreenedSnapshot {
            raw,
            screened,
            timings,
            failure,
        } = screened;
        let seed = derive_seed(self.config.seed, self.step);
        self.refit_due(false)?;
        self.pending_forecasts.clear();
        let mut day = Day {
            raw,
            seed,
            timings,
            carried: Vec::new(),
            prices: Vec::new(),
            notes: std::mem::take(&mut self.pending_notes),
            failure,
        };
        let (made, market) = match screened {
            Screened::Clean { snapshot, .. } => {
                let made = match self.chain(&snapshot, &mut day) {
                    Ok(made) => made,
                    Err(e) => match self.stage_failed(&snapshot, &mut day, e) {
                        Ok(made) => made,
                        Err(e) => {
                            self.pending_notes = day.notes;
                            return Err(e);
                        }
                    },
                };
                let keep_market = !made.decision.orders.is_empty()
                    && (!self.fill_learners.is_empty() || self.broker.is_some());
                // the clean snapshot goes to the fills (with orders and someone to fill them)
                // and to the refits' data; it is cloned only when both keep it
                let (market, for_refits) = match (keep_market, self.refit_cap > 0) {
                    (true, true) => (Some(snapshot.clone()), Some(snapshot)),
                    (true, false) => (Some(snapshot), None),
                    (false, true) => (None, Some(snapshot)),
                    (false, false) => (None, None),
                };
                if let Some(snapshot) = for_refits {
                    if self.refit_data.len() >= self.refit_cap {
                        self.refit_data.pop_front();
                    }
                    self.refit_data.push_back(RefitPoint {
                        snapshot,
                        outcome: None,
                    });
                }
                (made, market)
            }
            Screened::SafeFallback { reasons, .. } => {
                // the snapshot counts as seen (later ones must be newer)
                self.last_time = Some(raw.time);
                (
                    Made::fallback(self.fallback(raw, self.last_regime(), reasons)),
                    None,
                )
            }
        };
        self.finish(made, market, day, digest)
    }

    /// The chain of stages on a clean snapshot.
    fn chain(&mut self, clean: &MarketSnapshot, day: &mut Day<'_>) -> PipelineResult<Made> {
        if !self.history_stage(clean, day)? {
            let why = "no validated price in the snapshot: every price carried";
            return Ok(Made::fallback(self.fallback(
                clean,
                self.last_regime(),
                vec![why.into()],
            )));
        }
        let regime = self.regime_stage(clean, day)?;
        if self.history.len() < self.config.min_history {
            let (have, need) = (self.history.len(), self.config.min_history);
            let why = format!("warming up: {have} of {need} returns in history");
            return Ok(Made::fallback(self.fallback(clean, regime, vec![why])));
        }
        let (opportunities, excluded) = self.forecast_stage(clean, &regime, day)?;
        let opportunities = self.calibrate_stage(opportunities, &regime, day)?;
        let forecasts: Vec<(AssetId, Forecast)> = opportunities
            .iter()
            .map(|o| (o.asset.id.clone(), o.forecast.clone()))
            .collect();
        let considered = self.causal_stage(opportunities, day)?;
        if considered.is_empty() {
            let why = "no opportunity left after filtering".to_string();
            let decision = Decision {
                forecasts,
                ..self.fallback(clean, regime, vec![why])
            };
            return Ok(Made {
                excluded,
                ..Made::fallback(decision)
            });
        }
        let selected = self.select_stage(&considered, day)?;
        let (target, status) = match self.optimize_stage(&selected, day)? {
            Ok(target) => target,
            Err((status, why)) => {
                let decision = Decision {
                    forecasts,
                    ..self.fallback(clean, regime, vec![why])
                };
                return Ok(Made {
                    excluded,
                    optimizer_status: Some(status),
                    ..Made::fallback(decision)
                });
            }
        };
        let sized = self.size_stage(&target, &considered, day)?;
        let (orders, unexecuted, sized) = self.orders_stage(&sized, clean, day)?;
        let orders = self.route_stage(orders, clean, day)?;
        let decision = Decision {
            time: clean.time,
            status: DecisionStatus::Normal,
            regime,
            forecasts,
            selected: selected.iter().map(|o| o.asset.id.clone()).collect(),
            target,
            sized,
            orders,
        };
        Ok(Made {
            decision,
            optimizer_status: Some(status),
            unexecuted,
            excluded,
        })
    }

    /// A stage failed on a clean snapshot: a `SafeFallback` with the stage, the reason and the
    /// date under [`OnStageError::Fallback`], the error otherwise. The pipeline's own input
    /// refusals (snapshot time, a first snapshot without every price) and audit failures are
    /// always errors: a refused snapshot changes nothing, and a decision that cannot be
    /// recorded is not made.
    fn stage_failed(
        &mut self,
        clean: &MarketSnapshot,
        day: &mut Day<'_>,
        error: PipelineError,
    ) -> PipelineResult<Made> {
        let stage = match error.stage() {
            Some(s) if !matches!(s, Stage::History | Stage::Audit | Stage::Learn) => s,
            _ => return Err(error),
        };
        if self.config.on_stage_error == OnStageError::Stop {
            return Err(error);
        }
        let failure = StageFailure {
            time: clean.time,
            stage,
            reason: std::error::Error::source(&error).map_or_else(|| error.to_string(), |s| s.to_string()),
        };
        self.pending_forecasts.clear();
        let decision = self.fallback(clean, self.last_regime(), vec![failure.to_string()]);
        day.failure = Some(failure);
        Ok(Made::fallback(decision))
    }

    fn last_regime(&self) -> RegimeState {
        self.last_regime.clone().unwrap_or_default()
    }

    /// History: the validated prices of the snapshot, the last one carried where there is
    /// none. `false` when no price could be validated (and there is a history to carry).
    fn history_stage(&mut self, clean: &MarketSnapshot, day: &mut Day<'_>) -> PipelineResult<bool> {
        let t0 = Instant::now();
        let mut current_prices = self.quote_prices(clean);
        if let Some(last) = self.history.last_prices() {
            for (p, l) in current_prices.iter_mut().zip(last) {
                if p.is_some_and(|p| !plausible_ratio(p / l)) {
                    *p = None;
                }
            }
        }
        let carried: Vec<AssetId> = self
            .config
            .universe
            .iter()
            .zip(&current_prices)
            .filter(|(_, p)| p.is_none())
            .map(|(id, _)| id.clone())
            .collect();
        let prices: Vec<f64> = match self.history.last_prices() {
            Some(last) => {
                if carried.len() == current_prices.len() {
                    day.timings.push(Stage::History, t0);
                    day.carried = carried;
                    day.prices = current_prices;
                    self.last_time = Some(day.raw.time);
                    return Ok(false);
                }
                current_prices
                    .iter()
                    .zip(last)
                    .map(|(p, l)| p.unwrap_or(*l))
                    .collect()
            }
            None => {
                // a first snapshot without a validated price for every asset is refused
                if !carried.is_empty() {
                    return Err(PipelineError::Stage {
                        stage: Stage::History,
                        source: CoreError::UnknownId {
                            kind: "validated quote (no price yet) for universe asset",
                            id: carried
                                .iter()
                                .map(|a| a.to_string())
                                .collect::<Vec<_>>()
                                .join(","),
                        }
                        .into(),
                        time: None,
                    });
                }
                current_prices.iter().map(|p| p.unwrap_or(f64::NAN)).collect()
            }
        };
        self.history
            .push_prices(&prices)
            .map_err(PipelineError::core_at(Stage::History))?;
        day.timings.push(Stage::History, t0);
        day.carried = carried;
        day.prices = current_prices;
        // the snapshot counts as seen once its prices are in the history; a refusal before
        // that leaves it retryable
        self.last_time = Some(day.raw.time);
        Ok(true)
    }

    /// Regime: the detector's state (finite), or `unknown` without a detector.
    fn regime_stage(&mut self, clean: &MarketSnapshot, day: &mut Day<'_>) -> PipelineResult<RegimeState> {
        let t0 = Instant::now();
        let regime = match &mut self.regime {
            Some(r) => r.observe(clean).map_err(PipelineError::at(Stage::Regime))?,
            None => RegimeState::default(),
        };
        day.timings.push(Stage::Regime, t0);
        if !regime.change_probability.is_finite() || regime.probabilities.iter().any(|(_, p)| !p.is_finite())
        {
            return Err(PipelineError::Stage {
                stage: Stage::Regime,
                source: CoreError::NonFinite {
                    field: "regime state",
                    index: 0,
                    value: regime.change_probability,
                }
                .into(),
                time: None,
            });
        }
        self.last_regime = Some(regime.clone());
        Ok(regime)
    }

    /// Forecast: one checked forecast per universe asset whose facts are usable; the others
    /// are excluded with the reason. Keeps the raw forecasts for the forecast learners.
    #[allow(clippy::type_complexity)]
    fn forecast_stage(
        &mut self,
        clean: &MarketSnapshot,
        regime: &RegimeState,
        day: &mut Day<'_>,
    ) -> PipelineResult<(Vec<Opportunity>, Vec<(AssetId, String)>)> {
        let t0 = Instant::now();
        let mut opportunities = Vec::with_capacity(self.config.universe.len());
        let mut excluded = Vec::new();
        let mut seen = vec![false; self.config.universe.len()];
        for (k, asset) in clean.assets.iter().enumerate() {
            let Some(i) = self.position_near(k, &asset.id) else {
                continue;
            };
            if std::mem::replace(&mut seen[i], true) {
                excluded.push((asset.id.clone(), "duplicated asset information".to_string()));
                continue;
            }
            let asset = match usable_asset(asset, day.prices[i]) {
                Ok(a) => a,
                Err(why) => {
                    excluded.push((asset.id.clone(), why.to_string()));
                    continue;
                }
            };
            let f = self
                .forecaster
                .forecast(&asset, regime)
                .map_err(PipelineError::at(Stage::Forecast))?;
            check_forecast(&f).map_err(PipelineError::core_at(Stage::Forecast))?;
            opportunities.push(Opportunity { asset, forecast: f });
        }
        day.timings.push(Stage::Forecast, t0);
        if !self.forecast_learners.is_empty() {
            self.pending_forecasts = opportunities
                .iter()
                .map(|o| (o.asset.id.clone(), o.forecast.clone(), regime.label.clone()))
                .collect();
        }
        Ok((opportunities, excluded))
    }

    /// Calibrate: every forecast through the calibrator, checked.
    fn calibrate_stage(
        &self,
        mut opportunities: Vec<Opportunity>,
        regime: &RegimeState,
        day: &mut Day<'_>,
    ) -> PipelineResult<Vec<Opportunity>> {
        if let Some(cal) = &self.calibrator {
            let t0 = Instant::now();
            for o in &mut opportunities {
                o.forecast = cal
                    .calibrate(&o.forecast, regime)
                    .map_err(PipelineError::at(Stage::Calibrate))?;
                check_forecast(&o.forecast).map_err(PipelineError::core_at(Stage::Calibrate))?;
            }
            day.timings.push(Stage::Calibrate, t0);
        }
        Ok(opportunities)
    }

    /// Causal filter: the opportunities it keeps, checked.
    fn causal_stage(
        &self,
        opportunities: Vec<Opportunity>,
        day: &mut Day<'_>,
    ) -> PipelineResult<Vec<Opportunity>> {
        let Some(c) = &self.causal else {
            return Ok(opportunities);
        };
        let t0 = Instant::now();
        let kept = c
            .filter(opportunities)
            .map_err(PipelineError::at(Stage::Causal))?;
        for o in &kept {
            check_forecast(&o.forecast).map_err(PipelineError::core_at(Stage::Causal))?;
        }
        day.timings.push(Stage::Causal, t0);
        Ok(kept)
    }

    /// Select: the slate of the selector (every opportunity without one). With a
    /// [`PipelineBuilder::selector_with_k`] selector, k is shrunk to what is feasible and
    /// the decision's notes say so.
    fn select_stage(
        &self,
        opportunities: &[Opportunity],
        day: &mut Day<'_>,
    ) -> PipelineResult<Vec<Opportunity>> {
        let t0 = Instant::now();
        let Some(sel) = &self.selector else {
            day.timings.push(Stage::Select, t0);
            return Ok(opportunities.to_vec());
        };
        let mut hint = 0;
        let columns: Vec<usize> = opportunities
            .iter()
            .map(|o| self.universe_index_after(&mut hint, &o.asset.id))
            .collect::<Result<_, _>>()
            .map_err(PipelineError::core_at(Stage::Select))?;
        // the rolling correlation is PSD by construction: it comes with the certificate, so
        // a selector that checks positive semi-definiteness can skip its O(n³) check
        let sub = self
            .history
            .correlation_of_psd(&columns)
            .map_err(PipelineError::core_at(Stage::Select))?;
        let slate = match &self.selector_k {
            None => sel.select_psd(opportunities, &sub).and_then(found),
            Some(k) => k.select(sel.as_ref(), opportunities, &sub, &mut day.notes),
        }
        .map_err(PipelineError::at(Stage::Select))?;
        let mut picked = vec![false; opportunities.len()];
        let selected = slate
            .indices
            .iter()
            .filter(|&&i| i < picked.len() && !std::mem::replace(&mut picked[i], true))
            .filter_map(|&i| opportunities.get(i).cloned())
            .collect();
        day.timings.push(Stage::Select, t0);
        Ok(selected)
    }

    /// Optimize: the optimizer's weights over the covariance and scenarios of the trailing
    /// window. A result that is not optimal is traded only when the configuration allows it
    /// (`Err` with the status and the reason otherwise: the day keeps its positions).
    #[allow(clippy::type_complexity)]
    fn optimize_stage(
        &self,
        selected: &[Opportunity],
        day: &mut Day<'_>,
    ) -> PipelineResult<Result<(Weights, Status), (Status, String)>> {
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
        check_finite_2d("covariance", covariance.view()).map_err(PipelineError::core_at(Stage::Optimize))?;
        let input = PortfolioInput {
            opportunities: selected,
            covariance: Some(covariance.view()),
            scenarios: Some(scenarios.view()),
            current: &self.current,
        };
        let target = self
            .optimizer
            .optimize(&input)
            .map_err(PipelineError::at(Stage::Optimize))?;
        day.timings.push(Stage::Optimize, t0);
        let status = target.status;
        let refused = match &status {
            Status::Converged => None,
            Status::Fallback { reason, .. } => {
                day.notes.push(format!(
                    "optimizer: its explicit fallback policy made the weights ({reason})"
                ));
                None
            }
            Status::IterationLimit { .. }
            | Status::TimeLimit { .. }
            | Status::ReducedAccuracy { .. }
            | Status::Heuristic
                if self.config.trade_non_optimal =>
            {
                day.notes.push(format!(
                    "optimizer ended with `{status}`: the result is traded (trade_non_optimal)"
                ));
                None
            }
            Status::IterationLimit { .. }
            | Status::TimeLimit { .. }
            | Status::ReducedAccuracy { .. }
            | Status::Heuristic => Some(format!(
                "optimizer ended with `{status}`: not traded (trade_non_optimal is off)"
            )),
            Status::Infeasible { culprits } => Some(format!(
                "optimizer: infeasible limits ({}): positions kept",
                culprits.join(", ")
            )),
            Status::Numerical { message } => {
                Some(format!("optimizer: numerical error ({message}): positions kept"))
            }
            other => Some(format!("optimizer status `{other}`: positions kept")),
        };
        if let Some(why) = refused {
            return Ok(Err((status, why)));
        }
        self.check_book("target weights", &target.weights)
            .map_err(PipelineError::core_at(Stage::Optimize))?;
        Ok(Ok((target.weights, status)))
    }

    /// Size: the sizer's weights for the assets with an opportunity this time; the others
    /// (e.g. a quarantined quote) are held as the target has them.
    fn size_stage(
        &self,
        target: &Weights,
        considered: &[Opportunity],
        day: &mut Day<'_>,
    ) -> PipelineResult<Weights> {
        let sized = match &self.sizer {
            Some(s) => {
                let t0 = Instant::now();
                let mut with_opportunity = vec![false; self.config.universe.len()];
                let mut hint = 0;
                for o in considered {
                    if let Some(i) = self.position_near(hint, &o.asset.id) {
                        with_opportunity[i] = true;
                        hint = i + 1;
                    }
                }
                let n = target.assets.len();
                let (mut ids, mut vals) = (Vec::with_capacity(n), Vec::with_capacity(n));
                let (mut held_ids, mut held_vals) = (Vec::new(), Vec::new());
                for (a, w) in target.assets.iter().zip(&target.values) {
                    // target assets are universe assets (checked)
                    if self.universe_pos.get(a).is_some_and(|&i| with_opportunity[i]) {
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
                    opportunities: considered,
                    equity: self.equity,
                    current: &self.current,
                };
                let mut w = s.size(&sizable, &ctx).map_err(PipelineError::at(Stage::Size))?;
                w.assets.extend(held_ids);
                w.values.extend(held_vals);
                day.timings.push(Stage::Size, t0);
                w
            }
            None => target.clone(),
        };
        self.check_book("sized weights", &sized)
            .map_err(PipelineError::core_at(Stage::Size))?;
        Ok(sized)
    }

    /// Orders and costs: the orders of the weight changes (the book keeps the current weight
    /// where a change cannot be traded) with their expected cost.
    #[allow(clippy::type_complexity)]
    fn orders_stage(
        &self,
        sized: &Weights,
        clean: &MarketSnapshot,
        day: &mut Day<'_>,
    ) -> PipelineResult<(Vec<Order>, Vec<UnexecutedChange>, Weights)> {
        let t0 = Instant::now();
        let (mut orders, unexecuted) = self.orders_for(sized, clean, &day.prices)?;
        let sized = executable_book(sized, &unexecuted);
        if let Some(c) = &self.costs {
            // one call for all orders: the model indexes the snapshot once
            let estimates = c.estimate_all(&orders, clean);
            check_batch_len(Stage::Orders, "cost estimates", orders.len(), estimates.len())?;
            for (o, est) in orders.iter_mut().zip(estimates) {
                let est = est.map_err(PipelineError::at(Stage::Orders))?;
                if !est.expected_bps.is_finite() {
                    return Err(PipelineError::Stage {
                        stage: Stage::Orders,
                        source: CoreError::NonFinite {
                            field: "expected cost (bps)",
                            index: 0,
                            value: est.expected_bps,
                        }
                        .into(),
                        time: None,
                    });
                }
                o.expected_cost_bps = Some(est.expected_bps);
                o.expected_cost_interval_bps = match (est.lower_bps, est.upper_bps) {
                    (Some(lo), Some(hi)) if lo.is_finite() && hi.is_finite() && lo <= hi => Some((lo, hi)),
                    _ => None,
                };
            }
        }
        day.timings.push(Stage::Orders, t0);
        Ok((orders, unexecuted, sized))
    }

    /// Route: every order through the execution policy with its own derived seed, checked.
    ///
    /// When the policy fails on some orders but not on all of them (typically: the market
    /// data one order's context needs is missing, e.g. an indicator the guard quarantined),
    /// each failed order is sent as the pipeline made it (the configured default order type,
    /// unrouted) and the decision's notes say which order and why. When it fails on every
    /// order, the policy itself is at fault and the stage fails as before.
    fn route_stage(
        &self,
        mut orders: Vec<Order>,
        clean: &MarketSnapshot,
        day: &mut Day<'_>,
    ) -> PipelineResult<Vec<Order>> {
        if let Some(x) = &self.execution {
            let t0 = Instant::now();
            let mut failed = Vec::new();
            // one call for all orders (each with its own derived seed): the policy indexes
            // the snapshot once
            let seeds: Vec<u64> = (0..orders.len() as u64)
                .map(|k| derive_seed(day.seed, k))
                .collect();
            let routes = x
                .route_all(&orders, clean, &seeds)
                .map_err(PipelineError::at(Stage::Route))?;
            check_batch_len(Stage::Route, "routed orders", orders.len(), routes.len())?;
            for (k, (o, route)) in orders.iter_mut().zip(routes).enumerate() {
                match route {
                    Ok(routed) => {
                        check_order(&routed).map_err(PipelineError::core_at(Stage::Route))?;
                        *o = routed;
                    }
                    Err(e) => failed.push((k, e)),
                }
            }
            if !failed.is_empty() && failed.len() == orders.len() {
                let (_, e) = failed.swap_remove(0);
                return Err(PipelineError::at(Stage::Route)(e));
            }
            for (k, e) in failed {
                if let Some(o) = orders.get(k) {
                    day.notes.push(format!(
                        "route: the order for {} was not routed ({e}); sent as {:?}",
                        o.asset, o.order_type
                    ));
                }
            }
            day.timings.push(Stage::Route, t0);
        }
        Ok(orders)
    }

    /// Weights from a stage: equal lengths, finite, universe assets only, no duplicates.
    fn check_book(&self, field: &'static str, w: &Weights) -> Result<(), CoreError> {
        prudentia_core::validate::check_shape(field, &[w.assets.len()], &[w.values.len()])?;
        prudentia_core::validate::check_finite(field, &w.values)?;
        let mut seen = vec![false; self.config.universe.len()];
        for a in &w.assets {
            let i = self.universe_index(a)?;
            if std::mem::replace(&mut seen[i], true) {
                return Err(CoreError::UnknownId {
                    kind: "duplicated asset in weights",
                    id: a.to_string(),
                });
            }
        }
        Ok(())
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

    /// The position of `id` in the universe, `None` outside it: `universe_pos[id]`, tried
    /// first at `hint` (a snapshot usually lists its assets in the universe's order, so the
    /// `k`-th quote is the `k`-th universe asset): one comparison of the ids instead of
    /// hashing one. The same answer as the map (universe ids are distinct).
    fn position_near(&self, hint: usize, id: &AssetId) -> Option<usize> {
        match self.config.universe.get(hint) {
            Some(u) if u == id => Some(hint),
            _ => self.universe_pos.get(id).copied(),
        }
    }

    /// [`universe_index`](Self::universe_index) tried first at `*hint`, which then moves
    /// past the answer (a subsequence of the universe, in its order, is found by
    /// comparisons alone).
    fn universe_index_after(&self, hint: &mut usize, id: &AssetId) -> Result<usize, CoreError> {
        let i = match self.position_near(*hint, id) {
            Some(i) => i,
            None => self.universe_index(id)?,
        };
        *hint = i + 1;
        Ok(i)
    }

    /// Orders for the weight changes from the current book to `sized`, at the validated
    /// prices of this snapshot; the changes that cannot become an order, with the reason.
    /// In the order of the asset ids; for an asset listed twice in a book its first weight
    /// counts, as in `Weights::get`, and its first lot size in the snapshot.
    ///
    /// Both books hold universe assets (the sized one is checked, the current one is made
    /// from them), so the weights and lot sizes are gathered by universe position and walked
    /// in the universe's id order (sorted once, when the pipeline is built): no map, no sort
    /// per decision. A book with another asset takes [`orders_for_by_id`](Self::orders_for_by_id),
    /// the same computation over maps keyed by id.
    fn orders_for(
        &self,
        sized: &Weights,
        market: &MarketSnapshot,
        prices: &[Option<f64>],
    ) -> PipelineResult<(Vec<Order>, Vec<UnexecutedChange>)> {
        let n = self.config.universe.len();
        // first occurrence wins, as in `Weights::get`; `None`: an asset outside the universe
        let by_position = |w: &Weights| -> Option<Vec<Option<f64>>> {
            let mut out = vec![None; n];
            for (k, (a, v)) in w.assets.iter().zip(&w.values).enumerate() {
                let i = self.position_near(k, a)?;
                out[i].get_or_insert(*v);
            }
            Some(out)
        };
        let (Some(current), Some(target)) = (by_position(&self.current), by_position(sized)) else {
            return self.orders_for_by_id(sized, market, prices);
        };
        let mut lots: Vec<Option<f64>> = vec![None; n];
        for (k, a) in market.assets.iter().enumerate() {
            if let Some(i) = self.position_near(k, &a.id) {
                lots[i].get_or_insert(a.lot_size);
            }
        }
        let mut orders = Vec::new();
        let mut unexecuted = Vec::new();
        for &i in &self.universe_by_id {
            let (from, to) = match (current[i], target[i]) {
                (None, None) => continue,
                (from, to) => (from.unwrap_or(0.0), to.unwrap_or(0.0)),
            };
            let id = &self.config.universe[i];
            if let Some(o) = self.order_for(
                id,
                from,
                to,
                prices.get(i).copied().flatten(),
                lots[i],
                &mut unexecuted,
            )? {
                orders.push(o);
            }
        }
        Ok((orders, unexecuted))
    }

    /// [`orders_for`](Self::orders_for) over maps keyed by asset id (books with assets
    /// outside the universe).
    fn orders_for_by_id(
        &self,
        sized: &Weights,
        market: &MarketSnapshot,
        prices: &[Option<f64>],
    ) -> PipelineResult<(Vec<Order>, Vec<UnexecutedChange>)> {
        // first occurrence wins, as in `Weights::get`
        fn by_asset(w: &Weights) -> HashMap<&AssetId, f64> {
            let mut m = HashMap::with_capacity(w.assets.len());
            for (a, v) in w.assets.iter().zip(&w.values) {
                m.entry(a).or_insert(*v);
            }
            m
        }
        let (current, target) = (by_asset(&self.current), by_asset(sized));
        let mut lots: HashMap<&AssetId, f64> = HashMap::with_capacity(market.assets.len());
        for a in &market.assets {
            lots.entry(&a.id).or_insert(a.lot_size);
        }
        let mut ids: Vec<&AssetId> = sized.assets.iter().chain(self.current.assets.iter()).collect();
        ids.sort();
        ids.dedup();
        let mut orders = Vec::new();
        let mut unexecuted = Vec::new();
        for id in ids {
            let from = current.get(id).copied().unwrap_or(0.0);
            let to = target.get(id).copied().unwrap_or(0.0);
            let price = self
                .universe_pos
                .get(id)
                .and_then(|&i| prices.get(i).copied().flatten());
            if let Some(o) = self.order_for(id, from, to, price, lots.get(id).copied(), &mut unexecuted)? {
                orders.push(o);
            }
        }
        Ok((orders, unexecuted))
    }

    /// The order for one asset's change `from → to` at its validated `price` (if any) and
    /// lot size (`None`: not in the snapshot, one share), or the reason it is not traded
    /// (pushed to `unexecuted`); nothing when the weight does not change.
    fn order_for(
        &self,
        id: &AssetId,
        from: f64,
        to: f64,
        price: Option<f64>,
        lot: Option<f64>,
        unexecuted: &mut Vec<UnexecutedChange>,
    ) -> PipelineResult<Option<Order>> {
        let delta = to - from;
        if delta == 0.0 {
            return Ok(None);
        }
        let skip = |reason| UnexecutedChange {
            asset: id.clone(),
            from,
            to,
            reason,
        };
        let Some(price) = price else {
            unexecuted.push(skip(UnexecutedReason::NoValidatedPrice));
            return Ok(None);
        };
        let lot = match lot {
            Some(l) if l.is_finite() && l > 0.0 => l,
            Some(_) => {
                unexecuted.push(skip(UnexecutedReason::InvalidLotSize));
                return Ok(None);
            }
            None => 1.0,
        };
        let shares = ((delta.abs() * self.equity / price) / lot).floor() * lot;
        if !shares.is_finite() {
            unexecuted.push(skip(UnexecutedReason::NotRepresentable));
            return Ok(None);
        }
        if shares <= 0.0 {
            unexecuted.push(skip(UnexecutedReason::BelowOneLot));
            return Ok(None);
        }
        let side = if delta > 0.0 { Side::Buy } else { Side::Sell };
        Order::new(id.clone(), side, shares, self.config.order_type)
            .map(Some)
            .map_err(PipelineError::core_at(Stage::Orders))
    }

    /// Audit and bookkeeping of a made decision.
    fn finish(
        &mut self,
        made: Made,
        market: Option<MarketSnapshot>,
        day: Day<'_>,
        digest: Option<DigestAside<'_>>,
    ) -> PipelineResult<DecisionReport> {
        let Made {
            decision,
            optimizer_status,
            unexecuted,
            excluded,
        } = made;
        let Day {
            raw,
            seed,
            mut timings,
            carried,
            notes,
            failure,
            ..
        } = day;
        let mut record = None;
        if self.audit.is_some() {
            let t0 = Instant::now();
            let r = DecisionRecord {
                sequence: self.step,
                policy_id: self.config.policy_id.clone(),
                model_hash: self.model_hash()?,
                feature_version: self.config.feature_version.clone(),
                seed,
                inputs_digest: match digest.map(std::thread::ScopedJoinHandle::join) {
                    Some(Ok((digest, buf))) => {
                        self.digest_buf = buf;
                        digest
                    }
                    // not taken aside (or that thread failed): taken here
                    _ => sha256_snapshot_hex_with(raw, &mut self.digest_buf),
                },
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
        self.pending_orders.clone_from(&decision.orders);
        self.pending_market = market;
        self.step = self.step.saturating_add(1);
        Ok(DecisionReport {
            decision,
            optimizer_status,
            record,
            timings,
            carried_prices: carried,
            unexecuted,
            excluded,
            failure,
            notes,
        })
    }

    /// Runs the refits due now (`in_learn`: the learn flow's, otherwise those at the start of a
    /// decision): every `every` decisions, on the last `window` decisions made.
    fn refit_due(&mut self, in_learn: bool) -> PipelineResult<()> {
        if self.refits.is_empty() || self.step == 0 {
            return Ok(());
        }
        let data = self.refit_data.make_contiguous();
        let Some(now) = data.last().map(|p| p.snapshot.time) else {
            return Ok(());
        };
        for r in &mut self.refits {
            let every = r.schedule.every as u64;
            if r.schedule.in_learn_flow != in_learn || self.step % every != 0 {
                continue;
            }
            let window = &data[data.len().saturating_sub(r.schedule.len())..];
            if let Err(e) = r.model.refit(now, window) {
                if self.config.on_stage_error == OnStageError::Stop {
                    return Err(PipelineError::at(Stage::Refit)(e).with_time(now));
                }
                self.pending_notes.push(format!(
                    "refit `{}` failed on {now}: {e}; the previous model is kept",
                    r.name
                ));
            }
        }
        Ok(())
    }

    /// The pipeline's state (see [`PipelineState`]) with the state of every stage registered
    /// with [`PipelineBuilder::stage_state`]: with the same stages, [`restore`](Self::restore)
    /// continues the run exactly where it was.
    pub fn checkpoint(&self) -> PipelineResult<PipelineState> {
        let stages = self
            .stage_states
            .iter()
            .map(|(name, s)| s.save().map(|v| (name.clone(), v)).map_err(|e| (name.clone(), e)))
            .collect::<Result<_, _>>()
            .map_err(|(name, source)| PipelineError::StageState { name, source })?;
        Ok(PipelineState {
            config: self.config.clone(),
            history: self.history.clone(),
            current: self.current.clone(),
            pending: self.pending.clone(),
            pending_orders: self.pending_orders.clone(),
            pending_market: self.pending_market.clone(),
            last_regime: self.last_regime.clone(),
            last_time: self.last_time,
            equity: self.equity,
            step: self.step,
            pending_forecasts: self.pending_forecasts.clone(),
            refit_data: self.refit_data.clone(),
            pending_notes: self.pending_notes.clone(),
            stages,
        })
    }

    /// Continues from a checkpoint of a pipeline built the same way: the configuration must be
    /// equal and every registered stage state present under its name. Everything is checked
    /// first; a stage that refuses its state is rolled back with the others, and a refused
    /// checkpoint changes nothing.
    pub fn restore(&mut self, mut state: PipelineState) -> PipelineResult<()> {
        state.check()?;
        if state.config != self.config {
            return Err(CoreError::UnknownId {
                kind: "checkpoint of another configuration",
                id: state.config.policy_id.clone(),
            }
            .into());
        }
        let mut saved = Vec::with_capacity(self.stage_states.len());
        for (name, _) in &self.stage_states {
            if !state.stages.iter().any(|(n, _)| n == name) {
                return Err(CoreError::UnknownId {
                    kind: "stage state missing from the checkpoint",
                    id: name.clone(),
                }
                .into());
            }
        }
        let load_error = |name: &str, source| PipelineError::StageState {
            name: name.to_string(),
            source,
        };
        for i in 0..self.stage_states.len() {
            let (name, stage) = &mut self.stage_states[i];
            let before = stage.save().map_err(|e| load_error(name, e))?;
            let value = state.stages.iter().find(|(n, _)| n == name).map(|(_, v)| v);
            let loaded = match value {
                Some(v) => stage.load(v),
                None => Ok(()), // checked above
            };
            if let Err(e) = loaded {
                let err = load_error(name, e);
                for ((_, s), b) in self.stage_states.iter_mut().zip(&saved) {
                    let _ = s.load(b);
                }
                return Err(err);
            }
            saved.push(before);
        }
        self.history = state.history;
        self.current = state.current;
        self.pending = state.pending;
        self.pending_orders = state.pending_orders;
        self.pending_market = state.pending_market;
        self.last_regime = state.last_regime;
        self.last_time = state.last_time;
        self.equity = state.equity;
        self.step = state.step;
        self.pending_forecasts = state.pending_forecasts;
        self.refit_data = state.refit_data;
        self.pending_notes = state.pending_notes;
        Ok(())
    }

    /// SHA-256 of the configuration and every registered model-state source. The
    /// configuration never changes once built (a checkpoint is restored only into a pipeline
    /// of an equal one), so the hasher's state after it is kept from the first record on and
    /// only the model states are serialized for each decision: the same digest as hashing
    /// everything again.
    fn model_hash(&mut self) -> PipelineResult<String> {
        let after_config = match &mut self.config_hash {
            Some(h) => h,
            slot => {
                let mut h = ModelHasher::new();
                h.part("config", |out| serde_json::to_writer(out, &self.config))
                    .map_err(audit_error)?;
                slot.insert(h)
            }
        };
        let mut h = after_config.clone();
        for (name, state) in &self.model_states {
            h.part(name, |out| state.write_state(out)).map_err(audit_error)?;
        }
        Ok(h.finish())
    }

    /// Learns from what happened after the last decision: positions move to the decided
    /// weights, equity grows by the portfolio return `Σ w_i r_i` (or is set from
    /// `outcome.equity`), weights drift with returns, and every online learner is updated.
    ///
    /// The whole outcome is checked first (realized returns finite and ≥ −1, one per asset;
    /// equity finite and ≥ 0; fills with finite positive quantities and prices; not dated
    /// before the last decision; the resulting positions and equity finite): a refused outcome
    /// changes nothing. Once it is accepted, the pipeline's positions and equity are updated and
    /// every learner is called, the forecast learners with one event per forecast asset that
    /// has a realized return; a learner's error does not stop the others and the first one is
    /// returned (as [`Stage::Learn`]) after all have run.
    pub fn learn(&mut self, outcome: &Outcome) -> PipelineResult<()> {
        let result = self.learn_unobserved(outcome);
        if let Some(o) = &mut self.observer {
            o.after_learn(outcome, self.equity, result.as_ref().map(|_| ()));
        }
        result
    }

    fn learn_unobserved(&mut self, outcome: &Outcome) -> PipelineResult<()> {
        // 1. check the outcome
        let (returns, fill_orders) = self.check_outcome(outcome).map_err(PipelineError::Core)?;
        // 2. what the outcome implies, without changing anything yet
        let Implied { book, equity, events } =
            self.implied(outcome, &returns).map_err(PipelineError::Core)?;
        // 3. record the accepted outcome (the audit log sees exactly what is learned), commit,
        //    then the learners
        if let Some(sink) = &mut self.audit {
            sink.outcome(outcome).map_err(PipelineError::at(Stage::Audit))?;
        }
        self.current = book;
        self.pending = None;
        self.equity = equity;
        if !self.forecast_learners.is_empty() {
            self.pending_forecasts.clear();
        }
        if let Some(last) = self.refit_data.back_mut() {
            if last.outcome.is_none() {
                last.outcome = Some(outcome.clone());
            }
        }
        match self.run_learners(outcome, &fill_orders, &events) {
            Some(e) => Err(match outcome.time.or(self.last_time) {
                Some(t) => e.with_time(t),
                None => e,
            }),
            None => Ok(()),
        }
    }

    /// Checks a whole outcome (see [`learn`](Self::learn)) without changing anything: its
    /// realized returns by asset, and the order of the last decision each fill belongs to.
    #[allow(clippy::type_complexity)]
    fn check_outcome<'o>(
        &self,
        outcome: &'o Outcome,
    ) -> Result<(HashMap<&'o AssetId, f64>, Vec<usize>), CoreError> {
        let mut returns: HashMap<&AssetId, f64> = HashMap::with_capacity(outcome.realized_returns.len());
        for (index, (a, r)) in outcome.realized_returns.iter().enumerate() {
            if !r.is_finite() || *r < -1.0 {
                return Err(CoreError::OutOfRange {
                    field: "realized return",
                    value: *r,
                    expected: "finite and >= -1",
                });
            }
            if returns.insert(a, *r).is_some() {
                return Err(CoreError::UnknownId {
                    kind: "duplicated asset in realized returns",
                    id: format!("{a} (entry {index})"),
                });
            }
        }
        if let Some(e) = outcome.equity {
            check_non_negative("outcome equity", e)?;
        }
        for f in &outcome.fills {
            check_positive("fill quantity", f.quantity)?;
            check_positive("fill price", f.price)?;
            check_positive("fill arrival price", f.arrival_price)?;
            if let OrderType::Pov { rate } = f.order_type {
                check_range("fill POV rate", rate, f64::MIN_POSITIVE, 1.0, "in (0, 1]")?;
            }
        }
        if let (Some(t), Some(last)) = (outcome.time, self.last_time) {
            if t < last {
                return Err(CoreError::NotIncreasing {
                    field: "outcome time (before the last decision)",
                    index: 0,
                });
            }
        }
        let fill_orders = self.match_fills(&outcome.fills)?;
        Ok((returns, fill_orders))
    }

    /// What a checked outcome implies, computed without changing anything: the book drifted
    /// with the returns, the equity after them, and the forecast learners' events.
    fn implied(&self, outcome: &Outcome, returns: &HashMap<&AssetId, f64>) -> Result<Implied, CoreError> {
        let mut book = self.pending.clone().unwrap_or_else(|| self.current.clone());
        let ret = |id: &AssetId| returns.get(id).copied().unwrap_or(0.0);
        let rp: f64 = book
            .assets
            .iter()
            .zip(&book.values)
            .map(|(a, w)| w * ret(a))
            .sum();
        let growth = 1.0 + rp;
        if !growth.is_finite() {
            return Err(CoreError::NonFinite {
                field: "portfolio return of the outcome",
                index: 0,
                value: rp,
            });
        }
        if growth > 0.0 {
            for (a, w) in book.assets.iter().zip(book.values.iter_mut()) {
                *w = *w * (1.0 + ret(a)) / growth;
            }
            check_finite("drifted weights", &book.values)?;
        }
        let equity = match outcome.equity {
            Some(e) => e,
            None => self.equity * growth.max(0.0),
        };
        if !equity.is_finite() {
            return Err(CoreError::NonFinite {
                field: "equity after the outcome",
                index: 0,
                value: equity,
            });
        }
        let events: Vec<ForecastOutcome> = if self.forecast_learners.is_empty() {
            Vec::new()
        } else {
            self.pending_forecasts
                .iter()
                .filter_map(|(asset, forecast, regime)| {
                    returns.get(asset).map(|realized| ForecastOutcome {
                        asset: asset.clone(),
                        forecast: forecast.clone(),
                        regime: regime.clone(),
                        realized: *realized,
                    })
                })
                .collect()
        };
        Ok(Implied { book, equity, events })
    }

    /// The learn-flow refits, then every learner on an accepted outcome: the outcome
    /// learners, the fill learners (one event per fill, with its order and the decision's
    /// market) and the forecast learners. All run; the first error is returned.
    fn run_learners(
        &mut self,
        outcome: &Outcome,
        fill_orders: &[usize],
        events: &[ForecastOutcome],
    ) -> Option<PipelineError> {
        let orders = std::mem::take(&mut self.pending_orders);
        let market = self.pending_market.take();
        let mut first_error = self.refit_due(true).err();
        for l in &mut self.learners {
            if let Err(e) = l.learn(outcome) {
                first_error.get_or_insert(PipelineError::at(Stage::Learn)(e));
            }
        }
        if let Some(market) = &market {
            for (fill, k) in outcome.fills.iter().zip(fill_orders) {
                let event = ExecutedOrder {
                    order: &orders[*k],
                    fill,
                    market,
                };
                for l in &mut self.fill_learners {
                    if let Err(e) = l.learn(&event) {
                        first_error.get_or_insert(PipelineError::at(Stage::Learn)(e));
                    }
                }
            }
        }
        for event in events {
            for l in &mut self.forecast_learners {
                if let Err(e) = l.learn(event) {
                    first_error.get_or_insert(PipelineError::at(Stage::Learn)(e));
                }
            }
        }
        first_error
    }
}

/// What an accepted outcome implies (see [`Pipeline::learn`]).
struct Implied {
    /// The decided (or current) book drifted with the realized returns.
    book: Weights,
    equity: f64,
    /// One event per forecast asset with a realized return (only with forecast learners).
    events: Vec<ForecastOutcome>,
}

impl Pipeline {
    /// The fills of the last decision's orders from the [`Broker`] (none without a broker or
    /// orders), checked like the fills of an outcome, and their cost in currency
    /// (`Σ sign · (P_fill − P_arrival) · quantity`, fees included in the fill price).
    pub(crate) fn broker_fills(&mut self, until: Timestamp) -> PipelineResult<(Vec<Fill>, f64)> {
        let (Some(broker), Some(market)) = (&mut self.broker, &self.pending_market) else {
            return Ok((Vec::new(), 0.0));
        };
        let seed = derive_seed(self.config.seed ^ 0x6272_6f6b_6572, self.step);
        let fills = broker
            .execute(&self.pending_orders, market, until, seed)
            .map_err(PipelineError::at(Stage::Learn))?;
        let mut cost = 0.0;
        for (index, f) in fills.iter().enumerate() {
            let mut checked = f.clone();
            checked.check()?;
            if f.time > until {
                return Err(CoreError::OutOfRange {
                    field: "broker fill time (after the next snapshot)",
                    value: index as f64,
                    expected: "at most the next snapshot's time",
                }
                .into());
            }
            let sign = match f.side {
                Side::Buy => 1.0,
                Side::Sell => -1.0,
            };
            cost += sign * (f.price - f.arrival_price) * f.quantity;
        }
        self.match_fills(&fills)?;
        if !cost.is_finite() {
            return Err(CoreError::NonFinite {
                field: "cost of the broker's fills",
                index: 0,
                value: cost,
            }
            .into());
        }
        Ok((fills, cost))
    }

    /// The order of the last decision each fill belongs to (same asset and side), checking
    /// that no fill precedes the decision and that the fills of an order do not exceed its
    /// quantity (relative tolerance 1e-9).
    fn match_fills(&self, fills: &[Fill]) -> Result<Vec<usize>, CoreError> {
        let mut filled = vec![0.0_f64; self.pending_orders.len()];
        let mut matched = Vec::with_capacity(fills.len());
        for (index, f) in fills.iter().enumerate() {
            if let Some(last) = self.last_time {
                if f.time < last {
                    return Err(CoreError::NotIncreasing {
                        field: "fill time (before the decision of its order)",
                        index,
                    });
                }
            }
            let k = self
                .pending_orders
                .iter()
                .position(|o| o.asset == f.asset && o.side == f.side)
                .ok_or_else(|| CoreError::UnknownId {
                    kind: "fill without an order of the last decision (asset and side)",
                    id: format!("{} {:?} (fill {index})", f.asset, f.side),
                })?;
            filled[k] += f.quantity;
            let ordered = self.pending_orders[k].quantity;
            if filled[k] > ordered * (1.0 + 1e-9) {
                return Err(CoreError::OutOfRange {
                    field: "filled quantity of an order",
                    value: filled[k],
                    expected: "at most the order's quantity",
                });
            }
            matched.push(k);
        }
        Ok(matched)
    }
}

/// The snapshot of a `decide` call after the guard, waiting for the rest of the flow.
pub(crate) struct ScreenedSnapshot<'a> {
    pub(crate) raw: &'a MarketSnapshot,
    pub(crate) screened: Screened,
    pub(crate) timings: StageTimings,
    /// The guard's failure, turned into a `SafeFallback` (under [`OnStageError::Fallback`]).
    pub(crate) failure: Option<StageFailure>,
}

/// What a pipeline does when a stage fails on one decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum OnStageError {
    /// The decision is a `SafeFallback` that keeps current positions, with the stage, the
    /// reason and the date in its reasons and in [`DecisionReport::failure`]; a walk-forward
    /// run records it and goes on (default).
    #[default]
    Fallback,
    /// `decide` returns the error ([`PipelineError::Stage`] with the time) and a walk-forward
    /// run stops.
    Stop,
}

/// A stage that failed on one decision and was turned into a `SafeFallback`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageFailure {
    /// Time of the decision.
    pub time: Timestamp,
    /// The failing stage.
    pub stage: Stage,
    /// The stage's error, in words.
    pub reason: String,
}

impl std::fmt::Display for StageFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "stage `{}` failed on {}: {}",
            self.stage, self.time, self.reason
        )
    }
}

/// A selector family indexed by the slate size k ([`PipelineBuilder::selector_with_k`]): the
/// pipeline asks for `k`, shrinks it to what is feasible and says so in the decision's notes.
struct SelectorK {
    k: usize,
    make: SelectorFactory,
}

/// Builds a selector for a slate size.
pub type SelectorFactory = Box<dyn Fn(usize) -> RoleResult<Box<dyn Selector>> + Send + Sync>;

impl SelectorK {
    /// The slate of `sel` (built for `self.k`); when k exceeds the number of opportunities, or
    /// the selector fails, k is shrunk (to the number of opportunities, then halved) until a
    /// selector succeeds. Every shrink is a note. The last error is returned when even k = 1
    /// fails.
    fn select(
        &self,
        sel: &dyn Selector,
        opportunities: &[Opportunity],
        correlation: &prudentia_core::estimators::PsdCorrelation,
        notes: &mut Vec<String>,
    ) -> RoleResult<Slate> {
        let n = opportunities.len();
        let (mut k, mut why) = if self.k > n {
            (n, format!("only {n} opportunities"))
        } else {
            match sel.select_psd(opportunities, correlation).and_then(found) {
                Ok(slate) => return Ok(slate),
                Err(e) if self.k <= 1 => return Err(e),
                Err(e) => (self.k / 2, e.to_string()),
            }
        };
        loop {
            let attempt =
                (self.make)(k).and_then(|s| s.select_psd(opportunities, correlation).and_then(found));
            match attempt {
                Ok(slate) => {
                    notes.push(format!("selector: k shrunk from {} to {k} ({why})", self.k));
                    return Ok(slate);
                }
                Err(e) if k <= 1 => return Err(e),
                Err(e) => {
                    why = e.to_string();
                    k /= 2;
                }
            }
        }
    }
}

/// A slate the selector reports as infeasible or not found is a failed selection (a
/// `SafeFallback` for the day, or a smaller k with [`PipelineBuilder::selector_with_k`]), not an
/// empty slate chosen on purpose.
fn found(slate: Slate) -> RoleResult<Slate> {
    match &slate.status {
        Status::Infeasible { .. } | Status::NotFound => Err(prudentia_core::RoleError::implementation(
            prudentia_core::Role::Selector,
            NoSlate(slate.status.to_string()),
        )),
        _ => Ok(slate),
    }
}

/// The selector returned no slate (its status says why).
#[derive(Debug, thiserror::Error)]
#[error("no slate: {0}")]
struct NoSlate(String);

/// Why a weight change of a decision did not become an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum UnexecutedReason {
    /// The asset has no validated price in the snapshot (missing, invalid, quarantined or
    /// implausible quote): the position is kept as it stands.
    NoValidatedPrice,
    /// The asset's lot size is not finite and > 0: the position is kept as it stands.
    InvalidLotSize,
    /// The order quantity is not a finite number of shares (e.g. a price of 5e-324): the
    /// position is kept as it stands.
    NotRepresentable,
    /// The change is worth less than one lot: no order, and the book moves by this lot
    /// rounding residual as it does for every order's fractional part.
    BelowOneLot,
}

impl UnexecutedReason {
    /// Whether the decision's sized book keeps the current weight of the asset (every reason
    /// but the lot rounding residual).
    pub fn keeps_position(self) -> bool {
        !matches!(self, UnexecutedReason::BelowOneLot)
    }
}

/// A weight change of a decision that did not become an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnexecutedChange {
    /// The asset.
    pub asset: AssetId,
    /// Its weight before the decision.
    pub from: f64,
    /// The weight the sizer asked for.
    pub to: f64,
    /// Why no order was made.
    pub reason: UnexecutedReason,
}

/// One decision on its way down the chain: what the stages leave for the report.
struct Day<'a> {
    raw: &'a MarketSnapshot,
    seed: u64,
    timings: StageTimings,
    /// Universe assets whose price was carried.
    carried: Vec<AssetId>,
    /// Validated price per universe asset (`None` = carried).
    prices: Vec<Option<f64>>,
    notes: Vec<String>,
    failure: Option<StageFailure>,
}

/// A made decision with what goes beside it into the report.
struct Made {
    decision: Decision,
    optimizer_status: Option<Status>,
    unexecuted: Vec<UnexecutedChange>,
    excluded: Vec<(AssetId, String)>,
}

impl Made {
    fn fallback(decision: Decision) -> Self {
        Self {
            decision,
            optimizer_status: None,
            unexecuted: Vec::new(),
            excluded: Vec::new(),
        }
    }
}

/// `sized` with the current weight kept for every change that cannot be traded.
fn executable_book(sized: &Weights, unexecuted: &[UnexecutedChange]) -> Weights {
    let mut w = sized.clone();
    for u in unexecuted.iter().filter(|u| u.reason.keeps_position()) {
        match w.assets.iter().position(|a| a == &u.asset) {
            Some(i) => w.values[i] = u.from,
            None => {
                w.assets.push(u.asset.clone());
                w.values.push(u.from);
            }
        }
    }
    w
}

/// The asset information a forecaster may use: an invalid price is replaced by the validated
/// quote price of the snapshot; other invalid facts exclude the asset (the reason).
fn usable_asset(asset: &AssetInfo, quote: Option<f64>) -> Result<AssetInfo, &'static str> {
    let mut a = asset.clone();
    if !(a.price.is_finite() && a.price > 0.0) {
        a.price = quote.ok_or("no valid price (asset information and quote)")?;
    }
    if !(a.lot_size.is_finite() && a.lot_size > 0.0) {
        return Err("lot size not finite and > 0");
    }
    let bad = |x: Option<f64>| x.is_some_and(|x| !(x.is_finite() && x >= 0.0));
    if bad(a.adv_shares) || bad(a.borrow_available_shares) {
        return Err("average daily volume or borrow availability not finite and >= 0");
    }
    if a.features.iter().any(|x| !x.is_finite()) {
        return Err("non-finite feature");
    }
    Ok(a)
}

/// Every number of a forecast is finite (and its sigma and horizon > 0).
fn check_forecast(f: &Forecast) -> Result<(), CoreError> {
    check_finite("forecast mean", &[f.mean])?;
    check_positive("forecast sigma", f.sigma)?;
    check_positive("forecast horizon (days)", f.horizon.days())?;
    for q in &f.quantiles {
        check_finite("forecast quantile", &[q.level, q.value])?;
    }
    for m in f.regime_means.values() {
        check_finite("forecast regime mean", &[*m])?;
    }
    if let Some(c) = &f.causal_effect {
        check_finite("forecast causal effect", &[c.cate, c.std_error, c.p_value])?;
    }
    if let Some(c) = &f.calibration {
        check_finite("forecast calibration", &[c.ece, c.coverage.unwrap_or(0.0)])?;
    }
    Ok(())
}

/// A routed order still has a finite positive quantity and finite prices and costs.
fn check_order(o: &Order) -> Result<(), CoreError> {
    check_positive("routed order quantity", o.quantity)?;
    if let Some(p) = o.limit_price {
        check_positive("routed order limit price", p)?;
    }
    if let Some(c) = o.expected_cost_bps {
        check_finite("routed order expected cost", &[c])?;
    }
    if let OrderType::Pov { rate } = o.order_type {
        check_range("routed order POV rate", rate, f64::MIN_POSITIVE, 1.0, "in (0, 1]")?;
    }
    Ok(())
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
            .field("fill_learners", &self.fill_learners.len())
            .field("broker", &self.broker.is_some())
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prudentia_core::rng::SplitMix64;
    use prudentia_core::traits::TargetPortfolio;

    struct Flat;
    impl Forecaster for Flat {
        fn forecast(&self, _: &AssetInfo, _: &RegimeState) -> RoleResult<Forecast> {
            Ok(Forecast::new(0.0, 0.01, prudentia_core::Horizon::DAY)?)
        }
    }
    struct Nothing;
    impl Optimizer for Nothing {
        fn optimize(&self, input: &PortfolioInput<'_>) -> RoleResult<TargetPortfolio> {
            Ok(TargetPortfolio {
                weights: input.current.clone(),
                status: Status::Converged,
            })
        }
    }

    /// The orders of the indexed path (books gathered by universe position, walked in the
    /// universe's id order) equal those of the former path over maps keyed by id and a sort
    /// of the ids, bit for bit, with the same unexecuted changes: random universes whose
    /// order is not the id order, books with repeated, missing and out-of-order assets,
    /// snapshots listing assets twice, out of order, outside the universe and with invalid
    /// lot sizes, and prices missing. A book with an asset outside the universe takes the
    /// former path.
    #[test]
    fn indexed_orders_match_the_orders_by_id_bit_for_bit() {
        let mut rng = SplitMix64::new(2026);
        let below = |rng: &mut SplitMix64, n: u64| (rng.next_u64() % n.max(1)) as usize;
        let mut checked = 0;
        for case in 0..300 {
            let n = 1 + below(&mut rng, 40);
            let universe: Vec<AssetId> = (0..n)
                .map(|i| AssetId(format!("{}-{i}", (rng.next_u64() % 1000))))
                .collect();
            let mut p = PipelineBuilder::new(PipelineConfig {
                universe: universe.clone(),
                ..Default::default()
            })
            .forecaster(Box::new(Flat))
            .optimizer(Box::new(Nothing))
            .build()
            .unwrap();
            p.equity = 1e3 + 1e6 * rng.next_f64();
            let book = |rng: &mut SplitMix64, outsider: bool| {
                let len = below(rng, 2 * n as u64 + 1);
                let mut w = Weights {
                    assets: Vec::new(),
                    values: Vec::new(),
                };
                for _ in 0..len {
                    w.assets.push(universe[below(rng, n as u64)].clone());
                    let v = match rng.next_u64() % 4 {
                        0 => 0.0,
                        1 => 1e-9 * rng.next_f64(),
                        _ => rng.next_f64() - 0.5,
                    };
                    w.values.push(v);
                }
                if outsider {
                    w.assets.push(AssetId::from("outside"));
                    w.values.push(0.25);
                }
                w
            };
            let outsider = case % 10 == 0;
            p.current = book(&mut rng, outsider && case % 20 == 0);
            let sized = book(&mut rng, outsider && case % 20 != 0);
            let mut assets = Vec::new();
            for _ in 0..below(&mut rng, 2 * n as u64 + 2) {
                let id = if rng.next_u64() % 8 == 0 {
                    AssetId::from("stranger")
                } else {
                    universe[below(&mut rng, n as u64)].clone()
                };
                let mut a = AssetInfo::new(id, 10.0).unwrap();
                a.lot_size = match rng.next_u64() % 6 {
                    0 => f64::NAN,
                    1 => 0.0,
                    2 => 100.0,
                    _ => 1.0,
                };
                assets.push(a);
            }
            let market = MarketSnapshot {
                time: Timestamp::from_nanos(0),
                quotes: Vec::new(),
                indicators: Vec::new(),
                assets,
            };
            let prices: Vec<Option<f64>> = (0..n)
                .map(|_| (rng.next_u64() % 5 != 0).then(|| 0.5 + 200.0 * rng.next_f64()))
                .collect();
            let fast = p.orders_for(&sized, &market, &prices).unwrap();
            let former = p.orders_for_by_id(&sized, &market, &prices).unwrap();
            assert_eq!(format!("{fast:?}"), format!("{former:?}"), "case {case}");
            checked += fast.0.len() + fast.1.len();
        }
        assert!(checked > 1000, "{checked} orders and unexecuted changes compared");
    }
}
