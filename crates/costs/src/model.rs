//! The adaptive cost model: a power-law impact base ([`crate::impact`]) recalibrated from a
//! window of fills, plus a residual slippage learned online from every fill by two learners
//! from `prudentia-learn` — recursive least squares with forgetting over one-hot venue,
//! order type and time-of-day bucket and the numeric spread, queue position, volatility and
//! participation (with a predictive interval), and boosted trees refitted in batches — of
//! which the one with the lower held-out error (each fill is predicted before it is learned
//! from, an exponentially weighted prequential error) gives the estimate.
//!
//! Drift of the residual is monitored: every learned fill's standardized residual
//! `(realized − expected) / sd` (bps over the predictive sd, both before the fill is learned)
//! is fed to an optional [`DriftDetector`] (core's trait; defense's Page–Hinkley and ADWIN
//! implement it), attached with [`AdaptiveCostModel::set_drift_detector`]. Detections are
//! counted in the model's [`DriftState`] (saved with it) and reported per fill in
//! [`FillAttribution::drift`]. The detector itself is not part of a checkpoint: attach it
//! again after a load.

use std::collections::{HashMap, VecDeque};

use prudentia_core::drift::{DriftDetector, DriftSignal};
use prudentia_core::traits::{CostEstimate, CostModel, OnlineLearner, Role, RoleError, RoleResult};
use prudentia_core::validate::{check_len, check_size, MAX_WINDOW};
use prudentia_core::{
    AssetId, AssetInfo, CoreError, Fill, MarketSnapshot, Order, OrderType, Quote, Side, Timestamp,
};
use prudentia_learn::boost::{BatchRefit, BatchRefitConfig, BoostConfig};
use prudentia_learn::rls::{RecursiveLeastSquares, RlsConfig, RlsPrediction};
use serde::{Deserialize, Serialize};

use crate::error::{CostsError, CostsResult};
use crate::impact::{
    calibrate, check_inputs, Calibration, CalibrationConfig, ImpactObservation, ImpactParams,
};

/// Most venues a model distinguishes.
pub const MAX_VENUES: usize = 16;
/// Most time-of-day buckets.
pub const MAX_TIME_BUCKETS: usize = 24;
const N_ORDER_TYPES: usize = 4;
const MAX_FEATURES: usize = 1 + MAX_VENUES + N_ORDER_TYPES + MAX_TIME_BUCKETS + 4;
const N_TREE_FEATURES: usize = 7;
/// Largest |residual| (bps) a fill may carry; beyond it the fill is refused as an outlier.
pub const MAX_COST_BPS: f64 = 1e5;
/// Largest magnitude of a standardized residual fed to the drift detector; beyond it the
/// value is clipped (a residual of a million predictive sds is a change either way).
pub const MAX_STANDARDIZED_RESIDUAL: f64 = 1e6;

/// The market context of one order, at the time it was sent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OrderContext {
    /// Quoted spread, bps (≥ 0).
    pub spread_bps: f64,
    /// Daily volatility, decimal (≥ 0).
    pub volatility: f64,
    /// Average daily volume, shares (> 0).
    pub adv_shares: f64,
    /// Queue position in `[0, 1]` (share of the displayed size ahead; 0 when unknown).
    pub queue_position: f64,
    /// Time of day as a fraction of the session, `[0, 1]`.
    pub time_of_day: f64,
}

impl OrderContext {
    fn check(&self) -> CostsResult<()> {
        if !(self.adv_shares.is_finite() && self.adv_shares > 0.0) {
            return Err(CostsError::ZeroVolume {
                field: "adv_shares",
                value: self.adv_shares,
            });
        }
        for (field, v) in [
            ("queue_position", self.queue_position),
            ("time_of_day", self.time_of_day),
        ] {
            if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
                return Err(CoreError::OutOfRange {
                    field,
                    value: v,
                    expected: "in [0, 1]",
                }
                .into());
            }
        }
        Ok(())
    }
}

/// A fill to learn from: the execution report, when its order was sent, and the order's
/// market context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FillEvent {
    /// The execution report (quantity, price, arrival price, side, order type, venue).
    pub fill: Fill,
    /// When the order was sent (a fill cannot precede it).
    pub order_time: Timestamp,
    /// The market context at the order.
    pub context: OrderContext,
}

/// Settings of an [`AdaptiveCostModel`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct CostModelConfig {
    /// Venue names (1..=16); a fill or order at another venue is an error.
    pub venues: Vec<String>,
    /// Time-of-day buckets of the RLS one-hot (1..=24, default 8).
    pub time_buckets: usize,
    /// The impact model before any calibration.
    pub prior: ImpactParams,
    /// Calibration settings.
    pub calibration: CalibrationConfig,
    /// Recalibrate the impact every this many fills (default 500; 1..=MAX_WINDOW).
    pub recalibrate_every: usize,
    /// Fills kept for calibration (default 5,000; 16..=MAX_WINDOW).
    pub calibration_window: usize,
    /// RLS forgetting factor (default 0.998, in (0, 1]).
    pub forgetting: f64,
    /// Boosted-tree residual: refit every this many fills on the last `tree_window`.
    pub tree_refit_every: usize,
    /// Rows the boosted-tree residual is refitted on (default 2,000).
    pub tree_window: usize,
    /// Boosted-tree settings (default 100 rounds of depth 3, learning rate 0.1).
    pub boost: BoostConfig,
    /// Half-life, in fills, of the held-out squared errors that choose the learner
    /// (default 500, finite ≥ 1).
    pub error_halflife: f64,
    /// Width of the reported interval in standard deviations (default 1.645: 90%).
    pub interval_z: f64,
    /// Volatility used when the snapshot has no `<asset>:volatility` indicator (default 0.02).
    pub default_volatility: f64,
    /// Spread used when the asset's quote has none, bps (default 10).
    pub default_spread_bps: f64,
    /// Session open and close, hours UTC (default 14.5 and 21.0), for the time of day.
    pub session_hours: (f64, f64),
}
prudentia_core::checked_serde!(CostModelConfig, CostModelConfig::validate);

impl CostModelConfig {
    /// Defaults for the given venues.
    pub fn new(venues: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            venues: venues.into_iter().map(Into::into).collect(),
            time_buckets: 8,
            prior: ImpactParams::default(),
            calibration: CalibrationConfig::default(),
            recalibrate_every: 500,
            calibration_window: 5000,
            forgetting: 0.998,
            tree_refit_every: 500,
            tree_window: 2000,
            boost: BoostConfig::default(),
            error_halflife: 500.0,
            interval_z: 1.645,
            default_volatility: 0.02,
            default_spread_bps: 10.0,
            session_hours: (14.5, 21.0),
        }
    }

    /// Checks the settings.
    pub fn validate(&self) -> CostsResult<()> {
        check_len("venues", self.venues.len(), 1)?;
        check_size("venues", self.venues.len(), MAX_VENUES)?;
        for (i, v) in self.venues.iter().enumerate() {
            if v.is_empty() || self.venues[..i].contains(v) {
                return Err(CoreError::OutOfRange {
                    field: "venues",
                    value: i as f64,
                    expected: "non-empty, distinct names",
                }
                .into());
            }
        }
        check_len("time_buckets", self.time_buckets, 1)?;
        check_size("time_buckets", self.time_buckets, MAX_TIME_BUCKETS)?;
        self.prior.validate()?;
        self.calibration.validate()?;
        check_len("recalibrate_every", self.recalibrate_every, 1)?;
        check_size("recalibrate_every", self.recalibrate_every, MAX_WINDOW)?;
        check_len("calibration_window", self.calibration_window, 16)?;
        check_size("calibration_window", self.calibration_window, MAX_WINDOW)?;
        self.tree_config()?;
        self.rls_config().validate()?;
        let range = |field, v: f64, ok: bool, expected| -> CostsResult<()> {
            if ok && v.is_finite() {
                Ok(())
            } else {
                Err(CoreError::OutOfRange {
                    field,
                    value: v,
                    expected,
                }
                .into())
            }
        };
        range(
            "error_halflife",
            self.error_halflife,
            self.error_halflife >= 1.0,
            ">= 1",
        )?;
        range(
            "interval_z",
            self.interval_z,
            self.interval_z > 0.0 && self.interval_z <= 10.0,
            "in (0, 10]",
        )?;
        range(
            "default_volatility",
            self.default_volatility,
            (0.0..=10.0).contains(&self.default_volatility),
            "in [0, 10]",
        )?;
        range(
            "default_spread_bps",
            self.default_spread_bps,
            (0.0..=1e5).contains(&self.default_spread_bps),
            "in [0, 1e5]",
        )?;
        let (o, c) = self.session_hours;
        range(
            "session_hours",
            o,
            (0.0..24.0).contains(&o) && c > o && c <= 24.0,
            "0 <= open < close <= 24",
        )?;
        Ok(())
    }

    fn n_features(&self) -> usize {
        1 + self.venues.len() + N_ORDER_TYPES + self.time_buckets + 4
    }

    fn rls_config(&self) -> RlsConfig {
        RlsConfig::new(self.n_features())
            .forgetting(self.forgetting)
            .initial_precision(1e-2)
    }

    fn tree_config(&self) -> CostsResult<BatchRefitConfig> {
        let c = BatchRefitConfig {
            boost: self.boost,
            n_features: N_TREE_FEATURES,
            window: self.tree_window,
            every: self.tree_refit_every,
            min_rows: self.tree_refit_every.min(self.tree_window),
        };
        c.validate()?;
        Ok(c)
    }
}

/// Which residual learner gives the estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResidualLearner {
    /// No residual yet (the base model alone).
    None,
    /// Recursive least squares.
    Rls,
    /// Boosted trees.
    Trees,
}

/// A per-order cost estimate in bps with its parts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OrderCost {
    /// Half the quoted spread, bps.
    pub spread_bps: f64,
    /// Modelled impact (temporary + permanent + intercept), bps.
    pub impact_bps: f64,
    /// Learned residual, bps.
    pub residual_bps: f64,
    /// Total expected cost, bps.
    pub expected_bps: f64,
    /// Standard deviation of the realized cost around it, bps.
    pub std_bps: f64,
    /// Which learner gave the residual.
    pub learner: ResidualLearner,
}

/// The cost attribution of one fill (a serde record for the audit log): realized cost
/// against the arrival price split into spread, modelled impact, learned residual and what
/// is left, in bps of the arrival notional and in currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FillAttribution {
    /// The asset.
    pub asset: AssetId,
    /// Fill time.
    pub time: Timestamp,
    /// Side.
    pub side: Side,
    /// Shares.
    pub quantity: f64,
    /// Arrival (decision) price.
    pub arrival_price: f64,
    /// Average fill price.
    pub fill_price: f64,
    /// Arrival notional `quantity × arrival_price`, currency.
    pub notional: f64,
    /// Realized cost (implementation shortfall), bps.
    pub realized_bps: f64,
    /// Half spread, bps.
    pub spread_bps: f64,
    /// Modelled impact, bps.
    pub impact_bps: f64,
    /// Learned residual, bps.
    pub residual_bps: f64,
    /// What is left: realized − spread − impact − residual, bps.
    pub unexplained_bps: f64,
    /// Realized cost, currency.
    pub realized: f64,
    /// Half spread, currency.
    pub spread: f64,
    /// Modelled impact, currency.
    pub impact: f64,
    /// Learned residual, currency.
    pub residual: f64,
    /// What is left, currency.
    pub unexplained: f64,
    /// The standardized residual `(realized − expected) / sd` under the model before the
    /// fill, clipped to ±[`MAX_STANDARDIZED_RESIDUAL`] (0 in records written before it
    /// existed).
    #[serde(default)]
    pub standardized_residual: f64,
    /// What the drift detector made of the standardized residual (`None`: no detector
    /// attached, the detector refused the value, or the attribution was not learned from).
    #[serde(default)]
    pub drift: Option<DriftSignal>,
}

/// The drift monitoring of the standardized residuals (see the [module docs](self)), saved
/// with the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriftState {
    /// Residuals the detector processed.
    pub monitored: u64,
    /// Residuals the detector refused (an error of the detector; the fill was learned).
    pub refused: u64,
    /// Detections.
    pub detections: u64,
    /// The model's fill count ([`AdaptiveCostModel::fills`]) just after the last detection.
    pub last_detection: Option<u64>,
}

impl DriftState {
    fn check(&self, fills: u64) -> CostsResult<()> {
        let ok = self.detections <= self.monitored
            && self.monitored.saturating_add(self.refused) <= fills
            && match self.last_detection {
                None => self.detections == 0,
                Some(f) => self.detections > 0 && f >= 1 && f <= fills,
            };
        if ok {
            Ok(())
        } else {
            Err(CoreError::OutOfRange {
                field: "drift",
                value: self.detections as f64,
                expected: "detections <= monitored, monitored + refused <= fills, last detection <= fills",
            }
            .into())
        }
    }
}

/// The attached drift detector: not saved, cloned with the model, and not part of its value
/// (two models that differ only in the detector compare equal).
#[derive(Debug, Clone, Default)]
struct DetectorSlot(Option<Box<dyn DriftDetector>>);

impl PartialEq for DetectorSlot {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// The adaptive cost model (see the [module docs](self)). Validated on load; a checkpoint
/// continues identically.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct AdaptiveCostModel {
    config: CostModelConfig,
    impact: ImpactParams,
    calibration: Option<Calibration>,
    window: VecDeque<ImpactObservation>,
    since_calibration: usize,
    rls: RecursiveLeastSquares,
    trees: BatchRefit,
    /// Exponentially weighted held-out squared errors: base alone, RLS, trees.
    errors: [f64; 3],
    fills: u64,
    tree_refit_failures: u64,
    #[serde(default)]
    rls_restarts: u64,
    #[serde(default)]
    drift: DriftState,
    #[serde(skip)]
    detector: DetectorSlot,
}
prudentia_core::checked_serde!(AdaptiveCostModel, AdaptiveCostModel::check);

/// A validated fill, ready to learn from.
struct Prepared {
    obs: ImpactObservation,
    venue: usize,
    order_type: usize,
    queue: f64,
    tod: f64,
    realized_bps: f64,
    notional: f64,
}

fn order_type_index(t: &OrderType) -> usize {
    match t {
        OrderType::Limit => 0,
        OrderType::Market => 1,
        OrderType::Pov { .. } => 2,
        OrderType::Pegged => 3,
    }
}

impl AdaptiveCostModel {
    /// A model at its prior: no residual, the configured prior impact.
    pub fn new(config: CostModelConfig) -> CostsResult<Self> {
        config.validate()?;
        Ok(Self {
            impact: config.prior,
            calibration: None,
            window: VecDeque::new(),
            since_calibration: 0,
            rls: RecursiveLeastSquares::new(config.rls_config())?,
            trees: BatchRefit::new(config.tree_config()?)?,
            errors: [0.0; 3],
            fills: 0,
            tree_refit_failures: 0,
            rls_restarts: 0,
            drift: DriftState::default(),
            detector: DetectorSlot::default(),
            config,
        })
    }

    /// Attaches a drift detector for the standardized residuals (replacing and returning any
    /// previous one; `None` detaches). The counts in [`drift`](Self::drift) carry on.
    ///
    /// ```
    /// use prudentia_core::drift::{DriftDetector, DriftSignal};
    /// use prudentia_core::RoleResult;
    /// use prudentia_costs::model::{AdaptiveCostModel, CostModelConfig};
    ///
    /// #[derive(Clone)]
    /// struct Never;
    /// impl DriftDetector for Never {
    ///     fn update(&mut self, _: f64) -> RoleResult<DriftSignal> {
    ///         Ok(DriftSignal { detected: false, statistic: 0.0 })
    ///     }
    ///     fn boxed_clone(&self) -> Box<dyn DriftDetector> {
    ///         Box::new(self.clone())
    ///     }
    /// }
    /// let mut model = AdaptiveCostModel::new(CostModelConfig::new(["XNYS"]))?;
    /// assert!(model.set_drift_detector(Some(Box::new(Never))).is_none());
    /// assert!(model.has_drift_detector());
    /// # Ok::<(), prudentia_costs::CostsError>(())
    /// ```
    pub fn set_drift_detector(
        &mut self,
        detector: Option<Box<dyn DriftDetector>>,
    ) -> Option<Box<dyn DriftDetector>> {
        std::mem::replace(&mut self.detector.0, detector)
    }

    /// [`set_drift_detector`](Self::set_drift_detector) as a builder.
    #[must_use]
    pub fn with_drift_detector(mut self, detector: Box<dyn DriftDetector>) -> Self {
        self.detector.0 = Some(detector);
        self
    }

    /// Whether a drift detector is attached.
    pub fn has_drift_detector(&self) -> bool {
        self.detector.0.is_some()
    }

    /// The drift monitoring counts.
    pub fn drift(&self) -> &DriftState {
        &self.drift
    }

    fn check(&mut self) -> CostsResult<()> {
        self.config.validate()?;
        self.impact.validate()?;
        check_size("window", self.window.len(), self.config.calibration_window)?;
        check_size(
            "since_calibration",
            self.since_calibration,
            self.config.recalibrate_every,
        )?;
        for o in &self.window {
            check_inputs(o.spread_bps, o.volatility, o.participation)?;
            if !(o.cost_bps.is_finite() && o.cost_bps.abs() <= MAX_COST_BPS) {
                return Err(CoreError::OutOfRange {
                    field: "window cost_bps",
                    value: o.cost_bps,
                    expected: "finite, |cost| <= 1e5",
                }
                .into());
            }
        }
        if self.rls.config() != &self.config.rls_config() {
            return Err(CoreError::OutOfRange {
                field: "rls",
                value: self.rls.config().n_features as f64,
                expected: "the RLS settings of the config",
            }
            .into());
        }
        if self.trees.config() != &self.config.tree_config()? {
            return Err(CoreError::OutOfRange {
                field: "trees",
                value: self.trees.config().window as f64,
                expected: "the boosted-tree settings of the config",
            }
            .into());
        }
        self.drift.check(self.fills)?;
        self.probe()?;
        if self.errors.iter().any(|e| !(e.is_finite() && *e >= 0.0)) {
            return Err(CoreError::OutOfRange {
                field: "errors",
                value: self.errors.iter().copied().fold(0.0, f64::max),
                expected: "finite and >= 0",
            }
            .into());
        }
        Ok(())
    }

    /// A loaded model must be usable: a typical order is estimated and a typical fill
    /// learned (on a copy of the RLS) without a numerical failure.
    fn probe(&self) -> CostsResult<()> {
        let p = Prepared {
            obs: ImpactObservation {
                spread_bps: 10.0,
                volatility: 0.02,
                participation: 0.01,
                cost_bps: 10.0,
            },
            venue: 0,
            order_type: 1,
            queue: 0.5,
            tod: 0.5,
            realized_bps: 10.0,
            notional: 1e6,
        };
        // The RLS state of this model: coefficients of bps-sized targets on O(1) features
        // (a mutated checkpoint could make every fill's update overflow). P is kept as a
        // square root, positive semidefinite by construction and checked on load by the
        // RLS itself; a Cholesky factorization of P is not required here, since after a
        // long run on the one-hot design its condition number can approach 1e16 and the
        // model's own checkpoint must reload.
        if let Some(b) = self.rls.coefficients().iter().find(|b| b.abs() > 1e9) {
            return Err(CoreError::OutOfRange {
                field: "rls coefficients",
                value: *b,
                expected: "|b| <= 1e9",
            }
            .into());
        }
        let c = self.cost_of(&p)?;
        let mut x = [0.0; MAX_FEATURES];
        let d = self.rls_features(&p, &mut x);
        let _ = self.rls.predict_one(&x[..d])?;
        let mut rls = self.rls.clone();
        let _ = rls.update(&x[..d], 10.0 - c.spread_bps - c.impact_bps)?;
        let _ = self.trees.predict_one(&Self::tree_features(&p))?;
        Ok(())
    }

    /// The settings.
    pub fn config(&self) -> &CostModelConfig {
        &self.config
    }

    /// The current impact parameters.
    pub fn impact(&self) -> &ImpactParams {
        &self.impact
    }

    /// The last calibration (`None` before the first).
    pub fn calibration(&self) -> Option<&Calibration> {
        self.calibration.as_ref()
    }

    /// Times the RLS residual restarted from its prior after a numerical failure.
    pub fn rls_restarts(&self) -> u64 {
        self.rls_restarts
    }

    /// Fills learned from.
    pub fn fills(&self) -> u64 {
        self.fills
    }

    /// Held-out (predict-then-learn) root mean squared errors, exponentially weighted, in
    /// bps: base model alone, base + RLS residual, base + boosted-tree residual.
    pub fn held_out_rmse(&self) -> [f64; 3] {
        self.errors.map(f64::sqrt)
    }

    /// The learner that currently gives the residual.
    pub fn learner(&self) -> ResidualLearner {
        if self.fills == 0 {
            ResidualLearner::None
        } else if self.trees.model().is_some() && self.errors[2] < self.errors[1] {
            ResidualLearner::Trees
        } else {
            ResidualLearner::Rls
        }
    }

    fn venue_index(&self, venue: Option<&str>) -> CostsResult<usize> {
        match venue {
            None => Ok(0),
            Some(v) => self
                .config
                .venues
                .iter()
                .position(|x| x == v)
                .ok_or_else(|| CostsError::UnknownVenue(v.to_string())),
        }
    }

    fn rls_features(&self, p: &Prepared, out: &mut [f64; MAX_FEATURES]) -> usize {
        let nv = self.config.venues.len();
        let nb = self.config.time_buckets;
        let d = self.config.n_features();
        out[..d].iter_mut().for_each(|v| *v = 0.0);
        out[0] = 1.0;
        out[1 + p.venue] = 1.0;
        out[1 + nv + p.order_type] = 1.0;
        let bucket = ((p.tod * nb as f64) as usize).min(nb - 1);
        out[1 + nv + N_ORDER_TYPES + bucket] = 1.0;
        let k = 1 + nv + N_ORDER_TYPES + nb;
        out[k] = p.obs.spread_bps / 10.0;
        out[k + 1] = p.queue;
        out[k + 2] = p.obs.volatility * 100.0;
        out[k + 3] = p.obs.participation.min(10.0) * 10.0;
        d
    }

    fn tree_features(p: &Prepared) -> [f64; N_TREE_FEATURES] {
        [
            p.venue as f64,
            p.order_type as f64,
            p.tod,
            p.obs.spread_bps,
            p.queue,
            p.obs.volatility,
            p.obs.participation,
        ]
    }

    fn prepare_order(
        &self,
        quantity: f64,
        order_type: &OrderType,
        venue: Option<&str>,
        ctx: &OrderContext,
    ) -> CostsResult<Prepared> {
        if !(quantity.is_finite() && quantity > 0.0) {
            return Err(CostsError::BadQuantity {
                field: "quantity",
                value: quantity,
            });
        }
        ctx.check()?;
        let participation = quantity / ctx.adv_shares;
        check_inputs(ctx.spread_bps, ctx.volatility, participation)?;
        Ok(Prepared {
            obs: ImpactObservation {
                spread_bps: ctx.spread_bps,
                volatility: ctx.volatility,
                participation,
                cost_bps: 0.0,
            },
            venue: self.venue_index(venue)?,
            order_type: order_type_index(order_type),
            queue: ctx.queue_position,
            tod: ctx.time_of_day,
            realized_bps: 0.0,
            notional: 0.0,
        })
    }

    /// The estimate from the learner in use only (the other learner is not evaluated).
    fn cost_of(&self, p: &Prepared) -> CostsResult<OrderCost> {
        let learner = self.learner();
        let rls = match learner {
            ResidualLearner::Rls => {
                let mut x = [0.0; MAX_FEATURES];
                let d = self.rls_features(p, &mut x);
                Some(self.rls.predict_one(&x[..d])?)
            }
            _ => None,
        };
        let tree = match learner {
            ResidualLearner::Trees => self.trees.predict_one(&Self::tree_features(p))?,
            _ => None,
        };
        self.cost_from(p, learner, rls, tree)
    }

    /// The estimate given the learners' predictions (`rls` is `Some` when `learner` is
    /// [`ResidualLearner::Rls`]; a missing tree prediction counts as 0).
    fn cost_from(
        &self,
        p: &Prepared,
        learner: ResidualLearner,
        rls: Option<RlsPrediction>,
        tree: Option<f64>,
    ) -> CostsResult<OrderCost> {
        let spread = 0.5 * p.obs.spread_bps;
        let impact = self.impact.intercept_bps
            + self
                .impact
                .impact_raw(p.obs.spread_bps, p.obs.volatility, p.obs.participation)
            - spread;
        let (residual, sd) = match (learner, rls) {
            (ResidualLearner::Rls, Some(r)) => (r.mean, r.variance.map_or(self.errors[1].sqrt(), f64::sqrt)),
            (ResidualLearner::Trees, _) => (tree.unwrap_or(0.0), self.errors[2].sqrt()),
            _ => (0.0, self.calibration.as_ref().map_or(0.0, |c| c.residual_sd_bps)),
        };
        let expected = spread + impact + residual;
        // Before the data say anything, the prior: the modelled impact itself as the spread.
        let sd = if sd > 0.0 { sd } else { impact.abs().max(1.0) };
        if !(expected.is_finite() && sd.is_finite()) {
            return Err(CoreError::Numerical {
                operation: "cost estimate",
                detail: "estimate outside the f64 range",
            }
            .into());
        }
        Ok(OrderCost {
            spread_bps: spread,
            impact_bps: impact,
            residual_bps: residual,
            expected_bps: expected,
            std_bps: sd,
            learner,
        })
    }

    /// The expected cost of an order of `quantity` shares in `ctx`, in bps, with its parts.
    ///
    /// Errors: quantity not finite and > 0, zero or non-finite ADV, spread, volatility or
    /// context out of range, an unknown venue.
    pub fn estimate_order(
        &self,
        quantity: f64,
        order_type: &OrderType,
        venue: Option<&str>,
        ctx: &OrderContext,
    ) -> CostsResult<OrderCost> {
        let p = self.prepare_order(quantity, order_type, venue, ctx)?;
        self.cost_of(&p)
    }

    fn prepare_fill(&self, e: &FillEvent) -> CostsResult<Prepared> {
        let f = &e.fill;
        for (field, v) in [("price", f.price), ("arrival_price", f.arrival_price)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(CostsError::BadPrice { field, value: v });
            }
        }
        if f.time < e.order_time {
            return Err(CostsError::FillBeforeOrder {
                order: e.order_time.as_nanos(),
                fill: f.time.as_nanos(),
            });
        }
        if let OrderType::Pov { rate } = f.order_type {
            if !(rate.is_finite() && rate > 0.0 && rate <= 1.0) {
                return Err(CoreError::OutOfRange {
                    field: "pov rate",
                    value: rate,
                    expected: "in (0, 1]",
                }
                .into());
            }
        }
        let mut p = self.prepare_order(
            f.quantity,
            &f.order_type,
            f.venue.as_ref().map(|v| v.0.as_str()),
            &e.context,
        )?;
        let realized = f.slippage_bps();
        if !(realized.is_finite() && realized.abs() <= MAX_COST_BPS) {
            return Err(CoreError::OutOfRange {
                field: "realized cost (bps)",
                value: realized,
                expected: "|cost| <= 1e5 bps",
            }
            .into());
        }
        let notional = f.quantity * f.arrival_price;
        if !notional.is_finite() {
            return Err(CostsError::BadQuantity {
                field: "notional",
                value: notional,
            });
        }
        p.obs.cost_bps = realized;
        p.realized_bps = realized;
        p.notional = notional;
        Ok(p)
    }

    /// The attribution of a fill under the current model (does not learn).
    pub fn attribute(&self, e: &FillEvent) -> CostsResult<FillAttribution> {
        let p = self.prepare_fill(e)?;
        let c = self.cost_of(&p)?;
        Ok(self.attribution(e, &p, &c))
    }

    fn attribution(&self, e: &FillEvent, p: &Prepared, c: &OrderCost) -> FillAttribution {
        let unexplained = p.realized_bps - c.spread_bps - c.impact_bps - c.residual_bps;
        // `std_bps > 0` and both costs are finite, so this is a number (maybe ±inf before
        // the clip).
        let z = ((p.realized_bps - c.expected_bps) / c.std_bps)
            .clamp(-MAX_STANDARDIZED_RESIDUAL, MAX_STANDARDIZED_RESIDUAL);
        let ccy = |bps: f64| bps * 1e-4 * p.notional;
        FillAttribution {
            asset: e.fill.asset.clone(),
            time: e.fill.time,
            side: e.fill.side,
            quantity: e.fill.quantity,
            arrival_price: e.fill.arrival_price,
            fill_price: e.fill.price,
            notional: p.notional,
            realized_bps: p.realized_bps,
            spread_bps: c.spread_bps,
            impact_bps: c.impact_bps,
            residual_bps: c.residual_bps,
            unexplained_bps: unexplained,
            realized: ccy(p.realized_bps),
            spread: ccy(c.spread_bps),
            impact: ccy(c.impact_bps),
            residual: ccy(c.residual_bps),
            unexplained: ccy(unexplained),
            standardized_residual: if z.is_nan() { 0.0 } else { z },
            drift: None,
        }
    }

    /// Learns from one fill and returns its attribution under the model before the fill.
    /// A rejected fill (bad quantity, price, volume, a fill before its order, an unknown
    /// venue) changes nothing.
    pub fn learn_fill(&mut self, e: &FillEvent) -> CostsResult<FillAttribution> {
        let p = self.prepare_fill(e)?;
        // Each learner predicts once: for the estimate (the attribution) and for its
        // held-out error.
        let mut x = [0.0; MAX_FEATURES];
        let d = self.rls_features(&p, &mut x);
        let rls = self.rls.predict_one(&x[..d])?;
        let rls_pred = rls.mean;
        let tf = Self::tree_features(&p);
        let tree_pred = self.trees.predict_one(&tf)?;
        let c = self.cost_from(&p, self.learner(), Some(rls), tree_pred)?;
        let mut attribution = self.attribution(e, &p, &c);
        let base = c.spread_bps + c.impact_bps;
        let target = p.realized_bps - base;
        // The only fallible state change comes first. The input is validated, so an error
        // here is numerical (P lost positive definiteness to rounding over a long run):
        // the RLS restarts from its prior, counted in `rls_restarts`, and learns the fill.
        if self.rls.update(&x[..d], target).is_err() {
            let mut fresh = RecursiveLeastSquares::new(self.config.rls_config())?;
            let _ = fresh.update(&x[..d], target)?;
            self.rls = fresh;
            self.rls_restarts = self.rls_restarts.saturating_add(1);
        }
        // From here on nothing fails on validated input.
        let alpha = 1.0 - 0.5f64.powf(1.0 / self.config.error_halflife);
        let w = if self.fills < 1 << 20 {
            (1.0 / (self.fills + 1) as f64).max(alpha)
        } else {
            alpha
        };
        let tree_err = tree_pred.map_or(f64::INFINITY, |t| (target - t).powi(2));
        for (k, err) in [target * target, (target - rls_pred).powi(2), tree_err]
            .into_iter()
            .enumerate()
        {
            let err = if err.is_finite() {
                err
            } else {
                self.errors[1] * 4.0
            };
            self.errors[k] += w * (err.min(MAX_COST_BPS * MAX_COST_BPS) - self.errors[k]);
        }
        if self.trees.push(&tf, target).is_err() {
            self.tree_refit_failures = self.tree_refit_failures.saturating_add(1);
        }
        if self.window.len() == self.config.calibration_window {
            let _ = self.window.pop_front();
        }
        self.window.push_back(p.obs);
        self.fills = self.fills.saturating_add(1);
        self.since_calibration = (self.since_calibration + 1).min(self.config.recalibrate_every);
        if self.since_calibration >= self.config.recalibrate_every && self.window.len() > 8 {
            self.since_calibration = 0;
            let obs: Vec<ImpactObservation> = self.window.iter().copied().collect();
            let cfg = CalibrationConfig {
                initial: self.impact,
                ..self.config.calibration
            };
            if let Ok(cal) = calibrate(&obs, &cfg) {
                if cal.params.validate().is_ok() {
                    self.impact = cal.params;
                    self.calibration = Some(cal);
                }
            }
        }
        // Last, after the model learned the fill: a detector error is counted, not returned
        // (the fill was learned).
        if let Some(d) = self.detector.0.as_mut() {
            match d.update(attribution.standardized_residual) {
                Ok(signal) if signal.statistic.is_finite() => {
                    self.drift.monitored = self.drift.monitored.saturating_add(1);
                    if signal.detected {
                        self.drift.detections = self.drift.detections.saturating_add(1);
                        self.drift.last_detection = Some(self.fills);
                    }
                    attribution.drift = Some(signal);
                }
                _ => self.drift.refused = self.drift.refused.saturating_add(1),
            }
        }
        Ok(attribution)
    }

    /// The order's market context from a snapshot: price and ADV from the asset's
    /// [`prudentia_core::AssetInfo`], spread from its quote (else the default), volatility
    /// from the `<asset>:volatility` indicator (else the default), the queue position from
    /// the `<asset>:queue` and `<asset>:depth` indicators (shares ahead over displayed
    /// depth, clamped to [0, 1]; 0 when either is missing), time of day from the snapshot
    /// time within the session. The indicator names are the execution crate's, so one
    /// snapshot serves both stages.
    pub fn context_from(&self, order: &Order, market: &MarketSnapshot) -> CostsResult<OrderContext> {
        self.context_with(order, market.time, MarketFacts::find(order, market))
    }

    /// The order's context from what the snapshot holds for its asset (see
    /// [`AdaptiveCostModel::context_from`]).
    fn context_with(
        &self,
        order: &Order,
        time: Timestamp,
        facts: MarketFacts<'_>,
    ) -> CostsResult<OrderContext> {
        let info = facts
            .info
            .ok_or_else(|| CostsError::UnknownAsset(order.asset.to_string()))?;
        let adv = info.adv_shares.unwrap_or(0.0);
        if !(adv.is_finite() && adv > 0.0) {
            return Err(CostsError::ZeroVolume {
                field: "adv_shares",
                value: adv,
            });
        }
        let spread = facts
            .quote
            .and_then(|q| q.spread_bps)
            .unwrap_or(self.config.default_spread_bps);
        let [vol, queue, depth] = facts.named;
        let vol = vol.unwrap_or(self.config.default_volatility);
        let queue_position = match (queue, depth) {
            (Some(q), Some(d)) if q.is_finite() && d.is_finite() && d > 0.0 => (q / d).clamp(0.0, 1.0),
            _ => 0.0,
        };
        let (open, close) = self.config.session_hours;
        let hours = time.as_nanos().rem_euclid(Timestamp::NANOS_PER_DAY) as f64 / 3.6e12;
        let tod = ((hours - open) / (close - open)).clamp(0.0, 1.0);
        Ok(OrderContext {
            spread_bps: spread,
            volatility: vol,
            adv_shares: adv,
            queue_position,
            time_of_day: tod,
        })
    }

    /// The role's estimate of `order` in the context `ctx`.
    fn estimate_in(&self, order: &Order, ctx: CostsResult<OrderContext>) -> RoleResult<CostEstimate> {
        let wrap = |e: CostsError| RoleError::implementation(Role::Costs, e);
        let ctx = ctx.map_err(wrap)?;
        let c = self
            .estimate_order(
                order.quantity,
                &order.order_type,
                order.venue.as_ref().map(|v| v.0.as_str()),
                &ctx,
            )
            .map_err(wrap)?;
        let half = self.config.interval_z * c.std_bps;
        Ok(CostEstimate {
            expected_bps: c.expected_bps,
            std_bps: c.std_bps,
            lower_bps: Some(c.expected_bps - half),
            upper_bps: Some(c.expected_bps + half),
        })
    }
}

/// The indicator suffixes [`AdaptiveCostModel::context_from`] reads, in the order of
/// [`MarketFacts::named`].
const NAMED: [&str; 3] = ["volatility", "queue", "depth"];

/// What a snapshot holds for one asset: its first [`AssetInfo`], its first quote and the
/// first value of each `<asset>:<suffix>` indicator of [`NAMED`] (first match, as `find`).
#[derive(Debug, Clone, Copy, Default)]
struct MarketFacts<'a> {
    info: Option<&'a AssetInfo>,
    quote: Option<&'a Quote>,
    named: [Option<f64>; 3],
}

impl<'a> MarketFacts<'a> {
    /// One order's facts by linear scans of the snapshot.
    fn find(order: &Order, market: &'a MarketSnapshot) -> Self {
        let asset = order.asset.0.as_str();
        let indicator = |suffix: &str| {
            market
                .indicators
                .iter()
                .find(|i| indicator_asset(&i.name, suffix) == Some(asset))
                .map(|i| i.value)
        };
        Self {
            info: market.assets.iter().find(|a| a.id == order.asset),
            quote: market.quotes.iter().find(|q| q.asset == order.asset),
            named: NAMED.map(indicator),
        }
    }
}

/// The asset of indicator `name` when it is `"<asset>:<suffix>"`.
fn indicator_asset<'n>(name: &'n str, suffix: &str) -> Option<&'n str> {
    name.strip_suffix(suffix)?.strip_suffix(':')
}

/// The facts of every asset some order names, from one pass over the snapshot (first match
/// per asset, as [`MarketFacts::find`]).
struct SnapshotIndex<'a> {
    facts: HashMap<&'a str, MarketFacts<'a>>,
}

impl<'a> SnapshotIndex<'a> {
    fn new(orders: &'a [Order], market: &'a MarketSnapshot) -> Self {
        let mut facts: HashMap<&'a str, MarketFacts<'a>> = HashMap::with_capacity(orders.len());
        for o in orders {
            let _ = facts.entry(o.asset.0.as_str()).or_default();
        }
        for a in &market.assets {
            if let Some(f) = facts.get_mut(a.id.0.as_str()) {
                let _ = f.info.get_or_insert(a);
            }
        }
        for q in &market.quotes {
            if let Some(f) = facts.get_mut(q.asset.0.as_str()) {
                let _ = f.quote.get_or_insert(q);
            }
        }
        for i in &market.indicators {
            // the suffixes hold no ':', so the last ':' separates the asset
            let Some((asset, suffix)) = i.name.rsplit_once(':') else {
                continue;
            };
            let Some(k) = NAMED.iter().position(|n| *n == suffix) else {
                continue;
            };
            if let Some(f) = facts.get_mut(asset) {
                let _ = f.named[k].get_or_insert(i.value);
            }
        }
        Self { facts }
    }

    fn get(&self, order: &Order) -> MarketFacts<'a> {
        self.facts
            .get(order.asset.0.as_str())
            .copied()
            .unwrap_or_default()
    }
}

impl CostModel for AdaptiveCostModel {
    /// The expected cost with its standard deviation and the `± interval_z · sd` interval.
    fn estimate(&self, order: &Order, market: &MarketSnapshot) -> RoleResult<CostEstimate> {
        self.estimate_in(order, self.context_from(order, market))
    }

    /// The estimates of [`CostModel::estimate`], from one pass over the snapshot (its
    /// assets, quotes and indicators are indexed once for all orders).
    fn estimate_all(&self, orders: &[Order], market: &MarketSnapshot) -> Vec<RoleResult<CostEstimate>> {
        let index = SnapshotIndex::new(orders, market);
        orders
            .iter()
            .map(|o| self.estimate_in(o, self.context_with(o, market.time, index.get(o))))
            .collect()
    }
}

impl OnlineLearner<FillEvent> for AdaptiveCostModel {
    fn learn(&mut self, event: &FillEvent) -> RoleResult<()> {
        self.learn_fill(event)
            .map(|_| ())
            .map_err(|e| RoleError::implementation(Role::Costs, e))
    }
}
