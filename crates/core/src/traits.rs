//! One small, object-safe trait per pipeline role.
//!
//! The decide flow (guard → regime → forecast → calibrate → causal filter → select →
//! optimize → size → cost → route → audit) uses only `&self` methods or filters whose
//! state is a deterministic function of the market data seen (a trailing window, a
//! change-point posterior). Learning from outcomes goes through [`OnlineLearner`], called
//! only from the learn flow. Batch fitting is [`Fit`], separate from both. This split is
//! what makes a recorded decision replayable.
//!
//! Every role trait returns [`RoleResult`], whose error keeps the implementation's own
//! typed error as its source, so `Box<dyn Selector>` and friends work for any implementer.

use std::error::Error as StdError;
use std::fmt;

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::CoreError;
use crate::types::{
    AssetInfo, DecisionRecord, Forecast, MarketSnapshot, Opportunity, Order, RegimeState, Weights,
};

/// The pipeline roles, used to label errors and timings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Role {
    /// Input validation and quarantine.
    Guard,
    /// Regime detection.
    Regime,
    /// Forecasting.
    Forecaster,
    /// Forecast calibration.
    Calibrator,
    /// Causal filtering of signals.
    Causal,
    /// Slate selection.
    Selector,
    /// Portfolio optimization.
    Optimizer,
    /// Position sizing.
    Sizer,
    /// Cost estimation.
    Costs,
    /// Order routing.
    Execution,
    /// Decision recording.
    Audit,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Role::Guard => "guard",
            Role::Regime => "regime",
            Role::Forecaster => "forecaster",
            Role::Calibrator => "calibrator",
            Role::Causal => "causal",
            Role::Selector => "selector",
            Role::Optimizer => "optimizer",
            Role::Sizer => "sizer",
            Role::Costs => "costs",
            Role::Execution => "execution",
            Role::Audit => "audit",
        };
        f.write_str(s)
    }
}

/// The error of a role-trait call: either a [`CoreError`] or an implementation's own error,
/// kept as the typed source (downcast with [`std::error::Error::source`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RoleError {
    /// A shared validation error.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// An implementation-specific error.
    #[error("{role}: {source}")]
    Implementation {
        /// The role whose implementation failed.
        role: Role,
        /// The implementation's error.
        #[source]
        source: Box<dyn StdError + Send + Sync + 'static>,
    },
}

impl RoleError {
    /// Wraps an implementation's error.
    pub fn implementation(role: Role, source: impl StdError + Send + Sync + 'static) -> Self {
        RoleError::Implementation {
            role,
            source: Box::new(source),
        }
    }
}

/// Result of a role-trait call.
pub type RoleResult<T> = Result<T, RoleError>;

/// What the guard made of a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Screened {
    /// The snapshot (with repaired values substituted and quarantined ones removed) is safe.
    Clean {
        /// The cleaned snapshot.
        snapshot: MarketSnapshot,
        /// Number of values repaired.
        repaired: usize,
        /// Number of values quarantined.
        quarantined: usize,
    },
    /// Too much of the snapshot is suspect: keep positions and say why.
    SafeFallback {
        /// Human-readable reasons, one per quarantined input or failed check.
        reasons: Vec<String>,
        /// Share of the snapshot's values that were quarantined.
        quarantined_share: f64,
    },
}

/// Keeps bad data out of decisions (defense crate).
pub trait Guard: Send {
    /// Screens one snapshot, advancing the guard's trailing windows.
    fn screen(&mut self, snapshot: &MarketSnapshot) -> RoleResult<Screened>;
}

/// Tells which regime the market is in (regime crate).
pub trait RegimeDetector: Send {
    /// Filters one (clean) snapshot into the current regime. Uses data up to this snapshot only.
    fn observe(&mut self, snapshot: &MarketSnapshot) -> RoleResult<RegimeState>;
}

/// Produces a forecast for one asset (user models, uncertainty crate).
pub trait Forecaster: Send + Sync {
    /// Forecast for `asset` given the regime. Must not learn.
    fn forecast(&self, asset: &AssetInfo, regime: &RegimeState) -> RoleResult<Forecast>;
}

/// Calibrates a raw forecast, typically per regime (uncertainty crate).
pub trait Calibrator: Send + Sync {
    /// The calibrated forecast.
    fn calibrate(&self, forecast: &Forecast, regime: &RegimeState) -> RoleResult<Forecast>;
}

/// Keeps the opportunities whose signal has a significant causal effect (causal crate).
pub trait CausalFilter: Send + Sync {
    /// The kept opportunities, ranked best first.
    fn filter(&self, opportunities: Vec<Opportunity>) -> RoleResult<Vec<Opportunity>>;
}

/// The chosen slate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slate {
    /// Indices into the opportunities passed to [`Selector::select`], ascending.
    pub indices: Vec<usize>,
    /// Objective value of the slate.
    pub objective: f64,
    /// Relative optimality gap (0 when proven optimal; `None` when no bound is known).
    pub gap: Option<f64>,
    /// How the selection ended: an empty slate with [`Status::Infeasible`] (proven: no slate
    /// meets the constraints) or [`Status::NotFound`] (a heuristic found none) is not the
    /// same answer as an empty slate chosen on purpose.
    ///
    /// [`Status::Infeasible`]: crate::status::Status::Infeasible
    /// [`Status::NotFound`]: crate::status::Status::NotFound
    pub status: crate::status::Status,
}

/// Chooses a diversified subset of opportunities (selection crate).
pub trait Selector: Send + Sync {
    /// Selects from `opportunities` given their correlation matrix (n × n).
    fn select(&self, opportunities: &[Opportunity], correlation: ArrayView2<'_, f64>) -> RoleResult<Slate>;

    /// Selects given a correlation matrix its producer proved positive semi-definite (see
    /// [`PsdCorrelation`](crate::estimators::PsdCorrelation)), so an implementation that
    /// checks positive semi-definiteness may skip that check. Default:
    /// [`select`](Self::select) on the matrix.
    fn select_psd(
        &self,
        opportunities: &[Opportunity],
        correlation: &crate::estimators::PsdCorrelation,
    ) -> RoleResult<Slate> {
        self.select(opportunities, correlation.view())
    }
}

/// The input of a portfolio optimizer.
#[derive(Debug, Clone, PartialEq)]
pub struct PortfolioInput<'a> {
    /// The selected opportunities.
    pub opportunities: &'a [Opportunity],
    /// Covariance of their returns over the forecast horizon (n × n), if available.
    pub covariance: Option<ArrayView2<'a, f64>>,
    /// Return scenarios (T × n), if available (for CVaR).
    pub scenarios: Option<ArrayView2<'a, f64>>,
    /// Current weights (for turnover).
    pub current: &'a Weights,
}

/// Target weights and how they were obtained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[must_use]
pub struct TargetPortfolio {
    /// Target weights.
    pub weights: Weights,
    /// How the optimization ended (an infeasible problem is an answer, not an error; a
    /// fallback keeps the primary solve's status as its cause).
    pub status: crate::status::Status,
}

/// Builds target weights inside risk limits (portfolio crate).
pub trait Optimizer: Send + Sync {
    /// Optimizes target weights.
    fn optimize(&self, input: &PortfolioInput<'_>) -> RoleResult<TargetPortfolio>;
}

/// Context a sizer needs besides the target weights.
#[derive(Debug, Clone, PartialEq)]
pub struct SizingContext<'a> {
    /// Opportunities behind the weights (prices, ADV, borrow, forecasts).
    pub opportunities: &'a [Opportunity],
    /// Current equity (currency units, > 0).
    pub equity: f64,
    /// Current weights.
    pub current: &'a Weights,
}

/// Decides how much capital to commit (kelly crate).
pub trait Sizer: Send + Sync {
    /// Sized weights.
    fn size(&self, target: &Weights, context: &SizingContext<'_>) -> RoleResult<Weights>;
}

/// An estimate of what an order will cost.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CostEstimate {
    /// Expected cost in basis points of notional.
    pub expected_bps: f64,
    /// Standard deviation of the cost in basis points.
    pub std_bps: f64,
    /// Lower end of the cost's predictive interval, bps (`None`: not given; older records
    /// load without it).
    #[serde(default)]
    pub lower_bps: Option<f64>,
    /// Upper end of the cost's predictive interval, bps (`None`: not given).
    #[serde(default)]
    pub upper_bps: Option<f64>,
}

/// Estimates trading costs (costs crate).
pub trait CostModel: Send + Sync {
    /// Expected cost of `order` in the given market.
    fn estimate(&self, order: &Order, market: &MarketSnapshot) -> RoleResult<CostEstimate>;

    /// Expected costs of all `orders` in one market: one result per order, in order, each
    /// exactly what [`CostModel::estimate`] returns for that order (errors included).
    ///
    /// The default calls `estimate` per order. Implementations that look the order's asset
    /// up in the snapshot override it to index the snapshot once per call instead of
    /// scanning it once per order (the pipeline's orders stage calls this).
    fn estimate_all(&self, orders: &[Order], market: &MarketSnapshot) -> Vec<RoleResult<CostEstimate>> {
        orders.iter().map(|o| self.estimate(o, market)).collect()
    }
}

/// Chooses order type and venue (execution crate).
pub trait ExecutionPolicy: Send + Sync {
    /// The routed order. `seed` drives any randomness (e.g. Thompson sampling).
    fn route(&self, order: &Order, market: &MarketSnapshot, seed: u64) -> RoleResult<Order>;

    /// Routes all `orders` in one market, order `k` with `seeds[k]`: one result per order,
    /// in order, each exactly what [`ExecutionPolicy::route`] returns for that order and
    /// seed (errors included). Unequal lengths of `orders` and `seeds` are
    /// [`CoreError::ShapeMismatch`] (nothing is routed).
    ///
    /// The default calls `route` per order. Implementations that look the order's asset up
    /// in the snapshot override it to index the snapshot once per call instead of scanning
    /// it once per order (the pipeline's route stage calls this).
    fn route_all(
        &self,
        orders: &[Order],
        market: &MarketSnapshot,
        seeds: &[u64],
    ) -> RoleResult<Vec<RoleResult<Order>>> {
        crate::validate::check_shape("seeds", &[orders.len()], &[seeds.len()])?;
        Ok(orders
            .iter()
            .zip(seeds)
            .map(|(o, &seed)| self.route(o, market, seed))
            .collect())
    }
}

/// Records decisions (audit crate).
///
/// The pipeline calls it after every decision with the raw snapshot the decision was made
/// from (so that it can be stored and replayed) and the record. An `Ok` means the record was
/// accepted under the sink's durability policy.
pub trait AuditSink: Send {
    /// Appends a record together with its raw input snapshot.
    fn record(&mut self, snapshot: &MarketSnapshot, record: &DecisionRecord) -> RoleResult<()>;
    /// Records an outcome the pipeline is about to learn from (after it was validated and
    /// before any state changes), so that a replay can feed the same outcomes. Default: ignored.
    fn outcome(&mut self, outcome: &crate::types::Outcome) -> RoleResult<()> {
        let _ = outcome;
        Ok(())
    }
}

/// An online model that learns from events of type `E` (outcomes, fills, labelled forecasts).
/// Called only from the learn flow.
pub trait OnlineLearner<E: ?Sized>: Send {
    /// Updates the model with one event.
    fn learn(&mut self, event: &E) -> RoleResult<()>;
}

/// Batch fitting: a configuration fits data into a model (linfa's `Fit`).
pub trait Fit<D: ?Sized> {
    /// The fitted model.
    type Model;
    /// The error of a failed fit.
    type Error: StdError;
    /// Fits a model. How the fit ended (converged, iteration limit, separation, …) is a
    /// [`crate::status::Status`] inside the model; `Err` means the call was wrong.
    fn fit(&self, data: &D) -> Result<Self::Model, Self::Error>;
}

/// Prediction from a fitted model: one output per row of `x` (n × features), an ndarray view
/// so that slices and transposes need no copy. Object-safe (`Box<dyn Predict<Output = _,
/// Error = _>>` works).
pub trait Predict {
    /// The predictions (e.g. `Array1<f64>`, one per row).
    type Output;
    /// The error of a refused prediction (wrong width, non-finite input).
    type Error: StdError;
    /// Predicts for every row of `x`.
    fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Self::Output, Self::Error>;
}

/// A chosen action with the probability the policy gave it (logged for off-policy evaluation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionChoice {
    /// Index of the chosen action.
    pub action: usize,
    /// Probability with which the policy chose it, in (0, 1].
    pub propensity: f64,
    /// The policy's score for every action.
    pub scores: Vec<f64>,
}

/// A contextual policy over a finite set of actions that learns from rewards (bandits,
/// regime-conditional heads). `choose` does not learn; `update` does.
pub trait OnlinePolicy: Send + Sync {
    /// Number of actions.
    fn n_actions(&self) -> usize;
    /// Chooses an action for `context`. `explore = false` asks for the greedy action.
    /// `seed` drives any randomness.
    fn choose(&self, context: &[f64], explore: bool, seed: u64) -> RoleResult<ActionChoice>;
    /// Learns from the reward of `action` in `context`.
    fn update(&mut self, context: &[f64], action: usize, reward: f64) -> RoleResult<()>;
}

/// Something that can produce a covariance matrix from return rows (T × n).
pub trait CovarianceEstimator: Send + Sync {
    /// The estimated n × n covariance.
    fn estimate(&self, returns: ArrayView2<'_, f64>) -> Result<Array2<f64>, CoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::too_many_arguments)]
    fn assert_object_safe(
        _: Option<Box<dyn Guard>>,
        _: Option<Box<dyn RegimeDetector>>,
        _: Option<Box<dyn Forecaster>>,
        _: Option<Box<dyn Calibrator>>,
        _: Option<Box<dyn CausalFilter>>,
        _: Option<Box<dyn Selector>>,
        _: Option<Box<dyn Optimizer>>,
        _: Option<Box<dyn Sizer>>,
        _: Option<Box<dyn CostModel>>,
        _: Option<Box<dyn ExecutionPolicy>>,
        _: Option<Box<dyn AuditSink>>,
        _: Option<Box<dyn OnlineLearner<crate::types::Outcome>>>,
        _: Option<Box<dyn OnlinePolicy>>,
        _: Option<Box<dyn CovarianceEstimator>>,
        _: Option<Box<dyn Predict<Output = ndarray::Array1<f64>, Error = CoreError>>>,
    ) {
    }

    #[test]
    fn role_traits_are_object_safe() {
        assert_object_safe(
            None, None, None, None, None, None, None, None, None, None, None, None, None, None, None,
        );
    }

    #[test]
    fn role_error_keeps_typed_source() {
        #[derive(Debug, thiserror::Error)]
        #[error("mine")]
        struct Mine;
        let e = RoleError::implementation(Role::Selector, Mine);
        assert_eq!(e.to_string(), "selector: mine");
        let src = std::error::Error::source(&e).unwrap();
        assert!(src.downcast_ref::<Mine>().is_some());
        let c: RoleError = CoreError::EmptyInput {
            field: "x",
            len: 0,
            min: 1,
        }
        .into();
        assert!(matches!(c, RoleError::Core(_)));
    }

    #[test]
    fn errors_are_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<RoleError>();
        check::<CoreError>();
    }

    /// Costs the order's quantity in bps; routes only positive seeds (seed 0 is an error).
    struct PerOrder;
    impl CostModel for PerOrder {
        fn estimate(&self, order: &Order, _: &MarketSnapshot) -> RoleResult<CostEstimate> {
            if order.asset.0 == "bad" {
                return Err(CoreError::UnknownId {
                    kind: "asset",
                    id: order.asset.to_string(),
                }
                .into());
            }
            Ok(CostEstimate {
                expected_bps: order.quantity,
                std_bps: 1.0,
                lower_bps: None,
                upper_bps: None,
            })
        }
    }
    impl ExecutionPolicy for PerOrder {
        fn route(&self, order: &Order, _: &MarketSnapshot, seed: u64) -> RoleResult<Order> {
            if seed == 0 {
                return Err(CoreError::UnknownId {
                    kind: "seed",
                    id: "0".into(),
                }
                .into());
            }
            let mut o = order.clone();
            o.quantity += seed as f64;
            Ok(o)
        }
    }

    #[test]
    fn batch_defaults_are_the_per_order_calls() {
        use crate::types::{OrderType, Side, Timestamp};
        let market = MarketSnapshot {
            time: Timestamp::from_nanos(0),
            quotes: vec![],
            indicators: vec![],
            assets: vec![],
        };
        let orders: Vec<Order> = [("a", 1.0), ("bad", 2.0), ("c", 3.0)]
            .iter()
            .map(|(id, q)| Order::new(crate::AssetId::new(*id), Side::Buy, *q, OrderType::Market).unwrap())
            .collect();
        let costs = PerOrder.estimate_all(&orders, &market);
        assert_eq!(costs.len(), 3);
        assert_eq!(costs[0].as_ref().unwrap().expected_bps, 1.0);
        assert!(costs[1].is_err());
        assert_eq!(costs[2].as_ref().unwrap().expected_bps, 3.0);
        let routes = PerOrder.route_all(&orders, &market, &[5, 0, 7]).unwrap();
        assert_eq!(routes.len(), 3);
        assert_eq!(routes[0].as_ref().unwrap().quantity, 6.0);
        assert!(routes[1].is_err());
        assert_eq!(routes[2].as_ref().unwrap().quantity, 10.0);
        assert!(matches!(
            PerOrder.route_all(&orders, &market, &[1, 2]),
            Err(RoleError::Core(CoreError::ShapeMismatch { .. }))
        ));
        assert!(PerOrder.estimate_all(&[], &market).is_empty());
        assert!(PerOrder.route_all(&[], &market, &[]).unwrap().is_empty());
    }
}
