//! The shared vocabulary: identifiers, time, forecasts, opportunities, snapshots, regimes,
//! weights, orders, outcomes and decisions.
//!
//! All types are plain data with serde, so every stage's input and output can be logged,
//! checkpointed and replayed.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, CoreResult};
use crate::validate::{
    check_finite, check_non_negative, check_open_unit, check_positive, check_probability, check_shape,
};

/// Identifier of an asset or opportunity (a ticker, a contract code, …).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AssetId(pub String);

impl AssetId {
    /// Creates an id from anything string-like.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }
    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AssetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for AssetId {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl From<String> for AssetId {
    fn from(s: String) -> Self {
        Self(s)
    }
}

/// A point in time: nanoseconds since the Unix epoch, UTC.
///
/// Daily data use midnight UTC of the trading date ([`Timestamp::from_ymd`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    /// Nanoseconds in one day.
    pub const NANOS_PER_DAY: i64 = 86_400_000_000_000;

    /// From nanoseconds since the Unix epoch.
    pub const fn from_nanos(nanos: i64) -> Self {
        Self(nanos)
    }
    /// Nanoseconds since the Unix epoch.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }
    /// Midnight UTC of a calendar date; `None` if the date does not exist.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Self> {
        chrono::NaiveDate::from_ymd_opt(year, month, day).map(Self::from_date)
    }
    /// Midnight UTC of a `chrono` date.
    ///
    /// Dates outside the range an `i64` of nanoseconds can hold (about 1677-09-21 to
    /// 2262-04-11) saturate at [`i64::MIN`] / [`i64::MAX`] nanoseconds.
    pub fn from_date(date: chrono::NaiveDate) -> Self {
        let days = date
            .signed_duration_since(chrono::NaiveDate::default())
            .num_days();
        Self(days.saturating_mul(Self::NANOS_PER_DAY))
    }
    /// The UTC calendar date of this instant.
    pub fn date(self) -> chrono::NaiveDate {
        let days = self.0.div_euclid(Self::NANOS_PER_DAY);
        chrono::NaiveDate::default() + chrono::Duration::days(days)
    }
    /// Whole days elapsed from `earlier` to `self` (negative if `earlier` is later).
    pub fn days_since(self, earlier: Timestamp) -> f64 {
        // i128: the difference of two i64 can exceed i64.
        (self.0 as i128 - earlier.0 as i128) as f64 / Self::NANOS_PER_DAY as f64
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.rem_euclid(Self::NANOS_PER_DAY) == 0 {
            write!(f, "{}", self.date())
        } else {
            write!(f, "{}ns", self.0)
        }
    }
}

/// How far ahead a forecast looks, in trading days.
///
/// Scaling rule ([`Forecast::rescale`]): returns over consecutive periods are treated as
/// independent and identically distributed, so the mean scales with the number of
/// periods `k` and sigma with `sqrt(k)`. Annualization uses 252 trading days.
///
/// Deserialization checks the length (finite and > 0), like [`Horizon::trading_days`].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Horizon {
    trading_days: f64,
}
crate::checked_serde!(Horizon, Horizon::check);

impl Horizon {
    /// One trading day.
    pub const DAY: Horizon = Horizon { trading_days: 1.0 };
    /// Trading days in a year, the annualization convention.
    pub const TRADING_DAYS_PER_YEAR: f64 = 252.0;

    /// A horizon of `days` trading days (may be fractional for intraday horizons).
    pub fn trading_days(days: f64) -> CoreResult<Self> {
        if days.is_finite() && days > 0.0 {
            Ok(Self { trading_days: days })
        } else {
            Err(CoreError::OutOfRange {
                field: "horizon",
                value: days,
                expected: "finite and > 0 trading days",
            })
        }
    }
    /// One year of 252 trading days.
    pub fn year() -> Self {
        Self {
            trading_days: Self::TRADING_DAYS_PER_YEAR,
        }
    }
    /// Length in trading days.
    pub fn days(self) -> f64 {
        self.trading_days
    }

    fn check(&mut self) -> CoreResult<()> {
        Self::trading_days(self.trading_days).map(|_| ())
    }
}

impl Default for Horizon {
    fn default() -> Self {
        Self::DAY
    }
}

/// One quantile of a predictive distribution.
///
/// Deserialization checks the level (in (0, 1)) and the value (finite).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Quantile {
    /// Level in (0, 1).
    pub level: f64,
    /// Value of the quantile.
    pub value: f64,
}
crate::checked_serde!(Quantile, Quantile::check);

impl Quantile {
    /// Checks the level (in (0, 1)) and the value (finite).
    pub fn check(&mut self) -> CoreResult<()> {
        check_open_unit("quantile level", self.level)?;
        check_finite("quantile value", &[self.value])
    }
}

/// A causal effect estimate attached to a forecast (from the causal crate).
///
/// Deserialization checks `cate` finite, `std_error` finite and ≥ 0, `p_value` in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct CausalEffect {
    /// Conditional average treatment effect, in return units over the forecast horizon.
    pub cate: f64,
    /// Its standard error.
    pub std_error: f64,
    /// Two-sided p-value of "effect = 0".
    pub p_value: f64,
}
crate::checked_serde!(CausalEffect, CausalEffect::check);

impl CausalEffect {
    /// Checks `cate` finite, `std_error` finite and ≥ 0, `p_value` in [0, 1].
    pub fn check(&mut self) -> CoreResult<()> {
        check_finite("cate", &[self.cate])?;
        check_non_negative("std_error", self.std_error)?;
        check_probability("p_value", self.p_value)
    }
}

/// How well calibrated the forecaster that produced a forecast has been.
///
/// Deserialization checks `ece` finite and ≥ 0 and `coverage` in [0, 1].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct CalibrationSummary {
    /// Expected calibration error of the forecaster's recent predictions.
    pub ece: f64,
    /// Empirical coverage of its nominal intervals, if tracked.
    pub coverage: Option<f64>,
    /// Number of outcomes the summary rests on.
    pub samples: usize,
    /// Regime whose calibrator was applied, if any.
    pub regime: Option<RegimeLabel>,
}
crate::checked_serde!(CalibrationSummary, CalibrationSummary::check);

impl CalibrationSummary {
    /// Checks `ece` finite and ≥ 0 and `coverage` in [0, 1].
    pub fn check(&mut self) -> CoreResult<()> {
        check_non_negative("ece", self.ece)?;
        if let Some(c) = self.coverage {
            check_probability("coverage", c)?;
        }
        Ok(())
    }
}

/// A predictive distribution summarized by (mean, sigma, horizon), with optional detail.
///
/// Deserialization runs [`Forecast::check`]: a loaded forecast obeys the same rules as one
/// built with [`Forecast::new`] and [`Forecast::with_quantiles`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Forecast {
    /// Expected return over the horizon.
    pub mean: f64,
    /// Standard deviation of the return over the horizon (> 0).
    pub sigma: f64,
    /// The horizon.
    pub horizon: Horizon,
    /// Quantiles, sorted by level, non-crossing.
    #[serde(default)]
    pub quantiles: Vec<Quantile>,
    /// Mean conditional on each regime, when the forecaster provides it.
    #[serde(default)]
    pub regime_means: BTreeMap<RegimeLabel, f64>,
    /// Causal effect of the signal behind this forecast, when estimated.
    #[serde(default)]
    pub causal_effect: Option<CausalEffect>,
    /// Calibration summary of the producing forecaster, when tracked.
    #[serde(default)]
    pub calibration: Option<CalibrationSummary>,
}
crate::checked_serde!(Forecast, Forecast::check);

fn check_quantiles(quantiles: &[Quantile]) -> CoreResult<()> {
    for q in quantiles {
        check_open_unit("quantile level", q.level)?;
        check_finite("quantile value", &[q.value])?;
    }
    for (i, w) in quantiles.windows(2).enumerate() {
        if w[1].level <= w[0].level {
            return Err(CoreError::NotIncreasing {
                field: "quantile levels",
                index: i + 1,
            });
        }
        if w[1].value < w[0].value {
            return Err(CoreError::NotIncreasing {
                field: "quantile values (crossing)",
                index: i + 1,
            });
        }
    }
    Ok(())
}

fn check_sigma(sigma: f64) -> CoreResult<()> {
    if sigma.is_finite() && sigma > 0.0 {
        Ok(())
    } else {
        Err(CoreError::OutOfRange {
            field: "sigma",
            value: sigma,
            expected: "finite and > 0",
        })
    }
}

impl Forecast {
    /// A validated forecast: `mean` finite, `sigma` finite and > 0.
    pub fn new(mean: f64, sigma: f64, horizon: Horizon) -> CoreResult<Self> {
        check_finite("mean", &[mean])?;
        check_sigma(sigma)?;
        Ok(Self {
            mean,
            sigma,
            horizon,
            quantiles: Vec::new(),
            regime_means: BTreeMap::new(),
            causal_effect: None,
            calibration: None,
        })
    }

    /// Adds quantiles after checking levels in (0, 1), finite values, strictly increasing
    /// levels and non-decreasing values (no crossing).
    pub fn with_quantiles(mut self, quantiles: Vec<Quantile>) -> CoreResult<Self> {
        check_quantiles(&quantiles)?;
        self.quantiles = quantiles;
        Ok(self)
    }

    /// Checks every invariant: `mean` finite, `sigma` finite and > 0, the horizon valid,
    /// quantiles as in [`with_quantiles`](Self::with_quantiles), regime means finite, and the
    /// causal effect and calibration summary valid. Run on every deserialized forecast.
    pub fn check(&mut self) -> CoreResult<()> {
        check_finite("mean", &[self.mean])?;
        check_sigma(self.sigma)?;
        self.horizon.check()?;
        check_quantiles(&self.quantiles)?;
        for m in self.regime_means.values() {
            check_finite("regime_means", &[*m])?;
        }
        if let Some(c) = &mut self.causal_effect {
            c.check()?;
        }
        if let Some(c) = &mut self.calibration {
            c.check()?;
        }
        Ok(())
    }

    /// The same forecast over another horizon under the i.i.d. rule: mean × k, sigma × √k
    /// with k = new days / old days. Quantiles are rescaled around the mean the same way.
    ///
    /// # Errors
    /// [`CoreError::OutOfRange`] when the rescaled forecast cannot be represented: a mean,
    /// quantile or regime mean that overflows, or a sigma that overflows or underflows to 0
    /// (e.g. a daily forecast rescaled to a horizon of 1e300 days). Nothing non-finite is
    /// ever returned.
    pub fn rescale(&self, to: Horizon) -> CoreResult<Forecast> {
        let k = to.days() / self.horizon.days();
        let sk = k.sqrt();
        let mut out = self.clone();
        out.mean = self.mean * k;
        out.sigma = self.sigma * sk;
        out.horizon = to;
        for q in &mut out.quantiles {
            q.value = out.mean + (q.value - self.mean) * sk;
        }
        for m in out.regime_means.values_mut() {
            *m *= k;
        }
        let representable = k.is_finite()
            && k > 0.0
            && out.mean.is_finite()
            && out.sigma.is_finite()
            && out.sigma > 0.0
            && out.quantiles.iter().all(|q| q.value.is_finite())
            && out.regime_means.values().all(|m| m.is_finite());
        if !representable {
            return Err(CoreError::OutOfRange {
                field: "horizon",
                value: to.days(),
                expected:
                    "a horizon at which the rescaled mean, sigma and quantiles stay finite (and sigma > 0)",
            });
        }
        // Rounding can make rescaled quantiles cross by an ulp; keep them ordered.
        for i in 1..out.quantiles.len() {
            if out.quantiles[i].value < out.quantiles[i - 1].value {
                out.quantiles[i].value = out.quantiles[i - 1].value;
            }
        }
        Ok(out)
    }

    /// Mean divided by sigma, the forecast's signal-to-noise ratio. Saturates at
    /// ±[`f64::MAX`] when the ratio overflows (a huge mean over a tiny sigma), so it is
    /// always finite for a valid forecast.
    pub fn sharpe(&self) -> f64 {
        (self.mean / self.sigma).clamp(f64::MIN, f64::MAX)
    }
}

/// Static and slowly changing facts about a tradable asset, plus the features forecasters use.
///
/// Deserialization runs [`AssetInfo::check`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct AssetInfo {
    /// The asset.
    pub id: AssetId,
    /// Sector label, if known.
    pub sector: Option<String>,
    /// Last price (currency units per share), > 0.
    pub price: f64,
    /// Average daily volume in shares, if known.
    pub adv_shares: Option<f64>,
    /// Shares available to borrow for shorting; `None` = unknown (treated as unavailable by sizers).
    pub borrow_available_shares: Option<f64>,
    /// Lot size in shares (1 for most equities).
    pub lot_size: f64,
    /// Feature vector for forecasters and policies.
    #[serde(default)]
    pub features: Vec<f64>,
}
crate::checked_serde!(AssetInfo, AssetInfo::check);

impl AssetInfo {
    /// An asset with a price and defaults elsewhere (no sector, unknown ADV and borrow, lot 1).
    pub fn new(id: impl Into<AssetId>, price: f64) -> CoreResult<Self> {
        if !(price.is_finite() && price > 0.0) {
            return Err(CoreError::OutOfRange {
                field: "price",
                value: price,
                expected: "finite and > 0",
            });
        }
        Ok(Self {
            id: id.into(),
            sector: None,
            price,
            adv_shares: None,
            borrow_available_shares: None,
            lot_size: 1.0,
            features: Vec::new(),
        })
    }

    /// Checks every invariant: `price` and `lot_size` finite and > 0, ADV and borrow finite
    /// and ≥ 0 when known, features finite. Run on every deserialized value.
    pub fn check(&mut self) -> CoreResult<()> {
        check_positive("price", self.price)?;
        check_positive("lot_size", self.lot_size)?;
        if let Some(v) = self.adv_shares {
            check_non_negative("adv_shares", v)?;
        }
        if let Some(v) = self.borrow_available_shares {
            check_non_negative("borrow_available_shares", v)?;
        }
        check_finite("features", &self.features)
    }
}

/// An asset together with its (calibrated) forecast: the unit that selection, portfolio
/// construction and sizing work on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Opportunity {
    /// The asset.
    pub asset: AssetInfo,
    /// Its forecast.
    pub forecast: Forecast,
}

/// One quote in a market snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    /// The asset.
    pub asset: AssetId,
    /// When this quote was observed (may lag the snapshot time if stale).
    pub time: Timestamp,
    /// Last or mid price; may be non-finite in raw data (defense decides).
    pub price: f64,
    /// Traded volume over the bar, if known.
    pub volume: Option<f64>,
    /// Quoted spread in basis points, if known.
    pub spread_bps: Option<f64>,
}

/// A named scalar market indicator (VIX, a credit spread, a realized volatility, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Indicator {
    /// Name, e.g. `"vix"`.
    pub name: String,
    /// When it was observed.
    pub time: Timestamp,
    /// Its value; may be non-finite in raw data.
    pub value: f64,
}

/// Everything the pipeline sees at one decision time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarketSnapshot {
    /// Decision time.
    pub time: Timestamp,
    /// Quotes, one per asset.
    pub quotes: Vec<Quote>,
    /// Market indicators.
    #[serde(default)]
    pub indicators: Vec<Indicator>,
    /// Per-asset information (price, sector, ADV, features) for the assets that can be traded.
    #[serde(default)]
    pub assets: Vec<AssetInfo>,
}

impl MarketSnapshot {
    /// The value of a named indicator, if present.
    pub fn indicator(&self, name: &str) -> Option<f64> {
        self.indicators.iter().find(|i| i.name == name).map(|i| i.value)
    }
}

/// A regime label. The common labels are associated constants; any other name works too.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RegimeLabel(pub Cow<'static, str>);

impl RegimeLabel {
    /// Risk-on: rising, calm markets.
    pub const RISK_ON: RegimeLabel = RegimeLabel(Cow::Borrowed("risk_on"));
    /// Risk-off: falling markets, flight to quality.
    pub const RISK_OFF: RegimeLabel = RegimeLabel(Cow::Borrowed("risk_off"));
    /// High volatility.
    pub const HIGH_VOL: RegimeLabel = RegimeLabel(Cow::Borrowed("high_vol"));
    /// Low volatility.
    pub const LOW_VOL: RegimeLabel = RegimeLabel(Cow::Borrowed("low_vol"));
    /// Liquid markets.
    pub const LIQUID: RegimeLabel = RegimeLabel(Cow::Borrowed("liquid"));
    /// Illiquid markets.
    pub const ILLIQUID: RegimeLabel = RegimeLabel(Cow::Borrowed("illiquid"));
    /// No regime information.
    pub const UNKNOWN: RegimeLabel = RegimeLabel(Cow::Borrowed("unknown"));

    /// A label with any name.
    pub fn new(name: impl Into<String>) -> Self {
        Self(Cow::Owned(name.into()))
    }
    /// The label's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RegimeLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the regime stage knows about the current market.
///
/// Deserialization checks every probability (in [0, 1]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct RegimeState {
    /// Most likely (or rule-assigned) regime.
    pub label: RegimeLabel,
    /// Probability of each regime, summing to one.
    pub probabilities: Vec<(RegimeLabel, f64)>,
    /// Observations since the last detected change (MAP run length).
    pub run_length: usize,
    /// Posterior probability that a change happened at this observation.
    pub change_probability: f64,
    /// Whether the label changed at this observation.
    pub changed: bool,
    /// When the current regime began, if known.
    pub since: Option<Timestamp>,
}
crate::checked_serde!(RegimeState, RegimeState::check);

impl RegimeState {
    /// A state with a single certain label and no change information.
    pub fn certain(label: RegimeLabel) -> Self {
        Self {
            probabilities: vec![(label.clone(), 1.0)],
            label,
            run_length: 0,
            change_probability: 0.0,
            changed: false,
            since: None,
        }
    }

    /// Checks every probability (`probabilities` and `change_probability`) is finite and in
    /// [0, 1] (up to 1e-9 of rounding above 1, as a posterior normalization may leave).
    pub fn check(&mut self) -> CoreResult<()> {
        let prob = |field: &'static str, p: f64| {
            crate::validate::check_range(field, p, 0.0, 1.0 + 1e-9, "a probability in [0, 1]")
        };
        for (_, p) in &self.probabilities {
            prob("probabilities", *p)?;
        }
        prob("change_probability", self.change_probability)
    }
}

impl Default for RegimeState {
    fn default() -> Self {
        Self::certain(RegimeLabel::UNKNOWN)
    }
}

/// Portfolio weights as fractions of equity (negative = short).
///
/// Deserialization checks equal lengths and finite values, like [`Weights::new`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Weights {
    /// Assets, in the same order as `values`.
    pub assets: Vec<AssetId>,
    /// Weight per asset.
    pub values: Vec<f64>,
}
crate::checked_serde!(Weights, Weights::check);

impl Weights {
    /// Weights after checking equal lengths and finite values.
    pub fn new(assets: Vec<AssetId>, values: Vec<f64>) -> CoreResult<Self> {
        crate::validate::check_shape("weights", &[assets.len()], &[values.len()])?;
        check_finite("weights", &values)?;
        Ok(Self { assets, values })
    }
    /// Checks equal lengths and finite values (run on every deserialized value).
    pub fn check(&mut self) -> CoreResult<()> {
        check_shape("weights", &[self.assets.len()], &[self.values.len()])?;
        check_finite("weights", &self.values)
    }
    /// Number of assets.
    pub fn len(&self) -> usize {
        self.values.len()
    }
    /// Whether there are no assets.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
    /// Σ|w|.
    pub fn gross(&self) -> f64 {
        self.values.iter().map(|w| w.abs()).sum()
    }
    /// Σw.
    pub fn net(&self) -> f64 {
        self.values.iter().sum()
    }
    /// The weight of one asset (0 if absent, or if the public fields were made to disagree
    /// in length and the asset has no value).
    pub fn get(&self, id: &AssetId) -> f64 {
        self.assets
            .iter()
            .position(|a| a == id)
            .and_then(|i| self.values.get(i).copied())
            .unwrap_or(0.0)
    }
    /// L1 distance Σ|w − w'| over the union of assets (turnover of a rebalance).
    pub fn turnover_to(&self, other: &Weights) -> f64 {
        let mut t: f64 = self
            .assets
            .iter()
            .zip(&self.values)
            .map(|(a, w)| (w - other.get(a)).abs())
            .sum();
        for (a, w) in other.assets.iter().zip(&other.values) {
            if !self.assets.contains(a) {
                t += w.abs();
            }
        }
        t
    }
}

/// Buy or sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Side {
    /// Buy.
    Buy,
    /// Sell (or sell short).
    Sell,
}

/// How an order is worked.
///
/// Deserialization checks a POV rate (in (0, 1]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub enum OrderType {
    /// Limit order at the order's limit price.
    Limit,
    /// Market order.
    Market,
    /// Percentage of volume, at `rate` ∈ (0, 1] of market volume.
    Pov {
        /// Participation rate.
        rate: f64,
    },
    /// Pegged to the primary quote (mid or near touch).
    Pegged,
}
crate::checked_serde!(OrderType, OrderType::check);

impl OrderType {
    /// Checks a POV participation rate is finite and in (0, 1].
    pub fn check(&mut self) -> CoreResult<()> {
        if let OrderType::Pov { rate } = *self {
            if !(rate.is_finite() && rate > 0.0 && rate <= 1.0) {
                return Err(CoreError::OutOfRange {
                    field: "rate",
                    value: rate,
                    expected: "a participation rate in (0, 1]",
                });
            }
        }
        Ok(())
    }
}

/// A trading venue.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Venue(pub String);

/// An order to send.
///
/// Deserialization runs [`Order::check`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Order {
    /// The asset.
    pub asset: AssetId,
    /// Buy or sell.
    pub side: Side,
    /// Quantity in shares (> 0).
    pub quantity: f64,
    /// Order type.
    pub order_type: OrderType,
    /// Venue, once routed.
    pub venue: Option<Venue>,
    /// Limit price, for limit orders.
    pub limit_price: Option<f64>,
    /// Expected cost in basis points of notional, once estimated.
    pub expected_cost_bps: Option<f64>,
    /// The cost model's interval around the expected cost, `(lower, upper)` bps, when it
    /// gives one. Absent in older serialized orders.
    #[serde(default)]
    pub expected_cost_interval_bps: Option<(f64, f64)>,
    /// How a routing policy chose the order type and venue (for replay and off-policy
    /// evaluation), once routed. Absent in older serialized orders.
    #[serde(default)]
    pub routing: Option<RoutingLog>,
}
crate::checked_serde!(Order, Order::check);

/// What a routing policy logs with each routed order: the action it chose, the probability
/// with which it chose it and the seed it drew with, so that the decision replays exactly
/// and can be used for off-policy evaluation.
///
/// Deserialization checks the propensity (in (0, 1]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct RoutingLog {
    /// Index of the chosen action in the policy's action space.
    pub action: usize,
    /// Probability with which the policy chose it, in (0, 1].
    pub propensity: f64,
    /// The seed of the choice.
    pub seed: u64,
}
crate::checked_serde!(RoutingLog, RoutingLog::check);

impl RoutingLog {
    /// Checks the propensity is in (0, 1].
    pub fn check(&mut self) -> CoreResult<()> {
        if !(self.propensity > 0.0 && self.propensity <= 1.0) {
            return Err(CoreError::OutOfRange {
                field: "propensity",
                value: self.propensity,
                expected: "a probability in (0, 1]",
            });
        }
        Ok(())
    }
}

impl Order {
    /// A validated order with no venue, limit or cost yet.
    pub fn new(asset: AssetId, side: Side, quantity: f64, order_type: OrderType) -> CoreResult<Self> {
        if !(quantity.is_finite() && quantity > 0.0) {
            return Err(CoreError::OutOfRange {
                field: "quantity",
                value: quantity,
                expected: "finite and > 0",
            });
        }
        Ok(Self {
            asset,
            side,
            quantity,
            order_type,
            venue: None,
            limit_price: None,
            expected_cost_bps: None,
            expected_cost_interval_bps: None,
            routing: None,
        })
    }

    /// Checks `quantity` finite and > 0, the limit price finite and > 0 when set, the
    /// expected cost finite when set, the routing propensity in (0, 1] when set. Run on every
    /// deserialized order.
    pub fn check(&mut self) -> CoreResult<()> {
        check_positive("quantity", self.quantity)?;
        self.order_type.check()?;
        if let Some(p) = self.limit_price {
            check_positive("limit_price", p)?;
        }
        if let Some((lo, hi)) = self.expected_cost_interval_bps {
            check_finite("expected_cost_interval_bps", &[lo, hi])?;
            if lo > hi {
                return Err(CoreError::OutOfRange {
                    field: "expected_cost_interval_bps",
                    value: lo,
                    expected: "lower <= upper",
                });
            }
        }
        if let Some(c) = self.expected_cost_bps {
            check_finite("expected_cost_bps", &[c])?;
        }
        if let Some(r) = &mut self.routing {
            r.check()?;
        }
        Ok(())
    }
}

/// An execution report.
///
/// Deserialization checks `quantity`, `price` and `arrival_price` finite and > 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Fill {
    /// The asset.
    pub asset: AssetId,
    /// When it filled.
    pub time: Timestamp,
    /// Side.
    pub side: Side,
    /// Shares filled.
    pub quantity: f64,
    /// Average fill price.
    pub price: f64,
    /// Price when the decision was made (for implementation shortfall).
    pub arrival_price: f64,
    /// Order type used.
    pub order_type: OrderType,
    /// Venue used.
    pub venue: Option<Venue>,
}
crate::checked_serde!(Fill, Fill::check);

impl Fill {
    /// `sign · (P_fill / P_arrival − 1) · 10⁴`: the fill's cost against its arrival price in
    /// basis points (positive = worse than arrival; buy sign +1, sell −1). The one definition
    /// of slippage the cost model, the router, the metrics and the monitor use.
    pub fn slippage_bps(&self) -> f64 {
        let sign = match self.side {
            Side::Buy => 1.0,
            Side::Sell => -1.0,
        };
        sign * (self.price / self.arrival_price - 1.0) * 1e4
    }

    /// Checks `quantity`, `price` and `arrival_price` finite and > 0.
    pub fn check(&mut self) -> CoreResult<()> {
        check_positive("quantity", self.quantity)?;
        check_positive("price", self.price)?;
        check_positive("arrival_price", self.arrival_price)?;
        self.order_type.check()
    }
}

/// What happened after a decision: realized returns and fills. The input of `learn`.
///
/// Deserialization checks realized returns and equity finite.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Outcome {
    /// Time the outcome was observed.
    pub time: Option<Timestamp>,
    /// Realized return per asset over the decision's horizon.
    pub realized_returns: Vec<(AssetId, f64)>,
    /// Fills of the decision's orders.
    pub fills: Vec<Fill>,
    /// Portfolio equity after the outcome, if tracked.
    pub equity: Option<f64>,
}
crate::checked_serde!(Outcome, Outcome::check);

impl Outcome {
    /// Checks realized returns and equity finite.
    pub fn check(&mut self) -> CoreResult<()> {
        for (_, r) in &self.realized_returns {
            check_finite("realized_returns", &[*r])?;
        }
        if let Some(e) = self.equity {
            check_finite("equity", &[e])?;
        }
        Ok(())
    }
}

/// A forecast paired with what happened: what calibrators and forecast-quality trackers
/// learn from. The pipeline emits one per forecast asset after each outcome.
///
/// Deserialization checks `realized` finite (the forecast checks itself).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct ForecastOutcome {
    /// The asset.
    pub asset: AssetId,
    /// The raw (uncalibrated) forecast made at decision time.
    pub forecast: Forecast,
    /// The regime label at decision time.
    pub regime: RegimeLabel,
    /// The realized return over the forecast's horizon.
    pub realized: f64,
}
crate::checked_serde!(ForecastOutcome, ForecastOutcome::check);

impl ForecastOutcome {
    /// Checks `realized` finite.
    pub fn check(&mut self) -> CoreResult<()> {
        check_finite("realized", &[self.realized])
    }
}

/// One fill together with the order it filled and the market the order was decided and
/// routed in: what cost models and execution policies learn from
/// (`OnlineLearner<ExecutedOrder<'_>>`). The pipeline's learn flow emits one per fill of an
/// outcome, after checking that the fill matches one of the last decision's orders (same
/// asset and side, not more than the order's quantity, not before the decision).
///
/// ```
/// use prudentia_core::traits::OnlineLearner;
/// use prudentia_core::{ExecutedOrder, RoleResult};
///
/// /// Tracks the mean slippage against arrival, bps.
/// #[derive(Default)]
/// struct Slippage { sum: f64, n: u32 }
/// impl<'a> OnlineLearner<ExecutedOrder<'a>> for Slippage {
///     fn learn(&mut self, e: &ExecutedOrder<'a>) -> RoleResult<()> {
///         self.sum += e.slippage_bps();
///         self.n += 1;
///         Ok(())
///     }
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExecutedOrder<'a> {
    /// The order as sent (routed, with its expected cost and routing log when the pipeline
    /// has those stages).
    pub order: &'a Order,
    /// The fill.
    pub fill: &'a Fill,
    /// The (guard-cleaned) snapshot the order was decided and routed on.
    pub market: &'a MarketSnapshot,
}

impl ExecutedOrder<'_> {
    /// `sign · (P_fill / P_arrival − 1) · 10⁴`: the fill's cost against its arrival price in
    /// basis points (positive = worse than arrival; buy sign +1, sell −1).
    pub fn slippage_bps(&self) -> f64 {
        self.fill.slippage_bps()
    }
}

/// Whether a decision was made normally or fell back to a safe default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DecisionStatus {
    /// All stages ran.
    Normal,
    /// The guard refused the snapshot; the decision keeps the previous positions.
    SafeFallback {
        /// Why.
        reasons: Vec<String>,
    },
}

/// The output of one `decide` call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Decision time.
    pub time: Timestamp,
    /// Status.
    pub status: DecisionStatus,
    /// Regime at decision time.
    pub regime: RegimeState,
    /// Calibrated forecast per opportunity considered.
    pub forecasts: Vec<(AssetId, Forecast)>,
    /// The selected slate.
    pub selected: Vec<AssetId>,
    /// Target weights from the optimizer.
    pub target: Weights,
    /// Sized weights (after Kelly sizing and guards).
    pub sized: Weights,
    /// Orders to reach the sized weights.
    pub orders: Vec<Order>,
}

/// One entry of the audit log: a decision plus what is needed to explain and reproduce it.
///
/// The pipeline fills it and hands it, together with the raw snapshot, to an
/// [`AuditSink`](crate::traits::AuditSink). Digests are lowercase hex SHA-256. The chain hash
/// that links records (tamper evidence) belongs to the store, not to the record: the audit
/// crate's log computes it over the exact stored bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// The pipeline's decision number, from 0.
    pub sequence: u64,
    /// Identifier of the policy (pipeline configuration) that decided.
    pub policy_id: String,
    /// SHA-256 (hex) of the serialized state of the pipeline configuration and of every
    /// registered stage at decision time: a changed model changes the hash.
    pub model_hash: String,
    /// Version of the feature definitions.
    pub feature_version: String,
    /// Seed used for any randomness in the decision.
    pub seed: u64,
    /// SHA-256 (hex) of the raw snapshot's serialized bytes (its content address).
    pub inputs_digest: String,
    /// The decision (regime, forecasts, slate, target and sized weights, orders, status).
    pub decision: Decision,
    /// The optimizer's status, when the optimizer ran.
    #[serde(default)]
    pub optimizer_status: Option<crate::status::Status>,
    /// Wall-clock time per stage in nanoseconds (not deterministic; never compared on replay).
    #[serde(default)]
    pub timings_ns: Vec<(String, u64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_date_round_trip() {
        let t = Timestamp::from_ymd(2008, 9, 15).unwrap();
        assert_eq!(t.date().to_string(), "2008-09-15");
        assert_eq!(t.to_string(), "2008-09-15");
        let before = Timestamp::from_ymd(1969, 12, 31).unwrap();
        assert_eq!(before.as_nanos(), -Timestamp::NANOS_PER_DAY);
        assert_eq!(before.date().to_string(), "1969-12-31");
        assert!(Timestamp::from_ymd(2021, 2, 30).is_none());
        assert_eq!(t.days_since(Timestamp::from_ymd(2008, 9, 14).unwrap()), 1.0);
    }

    #[test]
    fn forecast_validation_and_rescale() {
        assert!(Forecast::new(f64::NAN, 1.0, Horizon::DAY).is_err());
        assert!(Forecast::new(0.0, 0.0, Horizon::DAY).is_err());
        assert!(Forecast::new(0.0, -1.0, Horizon::DAY).is_err());
        assert!(Horizon::trading_days(0.0).is_err());
        let f = Forecast::new(0.001, 0.02, Horizon::DAY)
            .unwrap()
            .with_quantiles(vec![
                Quantile {
                    level: 0.1,
                    value: -0.02,
                },
                Quantile {
                    level: 0.9,
                    value: 0.022,
                },
            ])
            .unwrap();
        let g = f.rescale(Horizon::trading_days(4.0).unwrap()).unwrap();
        assert!((g.mean - 0.004).abs() < 1e-15);
        assert!((g.sigma - 0.04).abs() < 1e-15);
        assert!((g.quantiles[0].value - (0.004 - 0.021 * 2.0)).abs() < 1e-15);
        let back = g.rescale(Horizon::DAY).unwrap();
        assert!((back.sigma - f.sigma).abs() < 1e-15);
    }

    #[test]
    fn quantiles_must_not_cross() {
        let f = Forecast::new(0.0, 1.0, Horizon::DAY).unwrap();
        let crossing = vec![
            Quantile {
                level: 0.1,
                value: 1.0,
            },
            Quantile {
                level: 0.9,
                value: 0.0,
            },
        ];
        assert!(matches!(
            f.clone().with_quantiles(crossing),
            Err(CoreError::NotIncreasing { .. })
        ));
        let bad_level = vec![Quantile {
            level: 1.0,
            value: 1.0,
        }];
        assert!(matches!(
            f.clone().with_quantiles(bad_level),
            Err(CoreError::OutOfRange { .. })
        ));
        let unsorted = vec![
            Quantile {
                level: 0.9,
                value: 0.0,
            },
            Quantile {
                level: 0.1,
                value: 1.0,
            },
        ];
        assert!(f.with_quantiles(unsorted).is_err());
    }

    #[test]
    fn weights_measures() {
        let w = Weights::new(vec!["A".into(), "B".into()], vec![0.5, -0.25]).unwrap();
        assert_eq!(w.gross(), 0.75);
        assert_eq!(w.net(), 0.25);
        let v = Weights::new(vec!["B".into(), "C".into()], vec![0.25, 0.1]).unwrap();
        assert!((w.turnover_to(&v) - (0.5 + 0.5 + 0.1)).abs() < 1e-15);
        assert!(Weights::new(vec!["A".into()], vec![]).is_err());
        assert!(Weights::new(vec!["A".into()], vec![f64::NAN]).is_err());
    }

    #[test]
    fn rescale_to_an_absurd_horizon_is_an_error_not_infinity() {
        let f = Forecast::new(0.001, 1e300, Horizon::DAY).unwrap();
        assert!(matches!(
            f.rescale(Horizon::trading_days(1e300).unwrap()),
            Err(CoreError::OutOfRange { .. })
        ));
        let tiny = Forecast::new(0.001, 0.02, Horizon::trading_days(1e-300).unwrap()).unwrap();
        assert!(tiny.rescale(Horizon::trading_days(1e300).unwrap()).is_err());
        // sigma would underflow to 0
        let g = Forecast::new(0.0, 5e-324, Horizon::DAY).unwrap();
        assert!(g.rescale(Horizon::trading_days(1e-10).unwrap()).is_err());
        let h = Forecast::new(1e300, 1.0, Horizon::DAY).unwrap();
        assert!(h.rescale(Horizon::trading_days(1e10).unwrap()).is_err());
        assert!(h.sharpe().is_finite());
        assert!(Forecast::new(1e300, 1e-300, Horizon::DAY)
            .unwrap()
            .sharpe()
            .is_finite());
    }

    #[test]
    fn invalid_values_do_not_load() {
        let ok = serde_json::to_string(&Forecast::new(0.01, 0.2, Horizon::DAY).unwrap()).unwrap();
        assert!(serde_json::from_str::<Forecast>(&ok).is_ok());
        for bad in [
            ok.replace("\"trading_days\":1.0", "\"trading_days\":0.0"),
            ok.replace("\"trading_days\":1.0", "\"trading_days\":-3.0"),
            ok.replace("\"sigma\":0.2", "\"sigma\":-0.2"),
            ok.replace("\"sigma\":0.2", "\"sigma\":0.0"),
            ok.replace(
                "\"quantiles\":[]",
                "\"quantiles\":[{\"level\":0.9,\"value\":1.0},{\"level\":0.1,\"value\":0.0}]",
            ),
            ok.replace(
                "\"quantiles\":[]",
                "\"quantiles\":[{\"level\":1.5,\"value\":1.0}]",
            ),
        ] {
            assert_ne!(bad, ok);
            assert!(serde_json::from_str::<Forecast>(&bad).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<Horizon>("{\"trading_days\":0.0}").is_err());
        let a = serde_json::to_string(&AssetInfo::new("A", 10.0).unwrap()).unwrap();
        assert!(serde_json::from_str::<AssetInfo>(&a).is_ok());
        assert!(serde_json::from_str::<AssetInfo>(&a.replace("\"price\":10.0", "\"price\":-10.0")).is_err());
        assert!(
            serde_json::from_str::<AssetInfo>(&a.replace("\"lot_size\":1.0", "\"lot_size\":0.0")).is_err()
        );
        let o = Order::new("A".into(), Side::Buy, 5.0, OrderType::Pov { rate: 0.1 }).unwrap();
        let o = serde_json::to_string(&o).unwrap();
        assert!(serde_json::from_str::<Order>(&o).is_ok());
        assert!(serde_json::from_str::<Order>(&o.replace("\"quantity\":5.0", "\"quantity\":-5.0")).is_err());
        assert!(serde_json::from_str::<Order>(&o.replace("\"rate\":0.1", "\"rate\":2.0")).is_err());
        // routing log: absent in older orders, validated when present
        let old_order = o.replace(",\"routing\":null", "");
        assert!(!old_order.contains("routing"));
        assert!(serde_json::from_str::<Order>(&old_order).is_ok());
        let routed = o.replace(
            "\"routing\":null",
            "\"routing\":{\"action\":3,\"propensity\":0.25,\"seed\":7}",
        );
        let back: Order = serde_json::from_str(&routed).unwrap();
        assert_eq!(back.routing.as_ref().map(|r| (r.action, r.seed)), Some((3, 7)));
        assert!(serde_json::from_str::<Order>(&routed.replace("0.25", "0.0")).is_err());
        assert!(serde_json::from_str::<Weights>("{\"assets\":[\"A\"],\"values\":[]}").is_err());
        let w = Weights {
            assets: vec!["A".into(), "B".into()],
            values: vec![0.5],
        };
        assert_eq!(w.get(&"B".into()), 0.0);
        let r = serde_json::to_string(&RegimeState::default()).unwrap();
        assert!(serde_json::from_str::<RegimeState>(&r.replace("1.0", "1.5")).is_err());
    }

    #[test]
    fn timestamps_at_the_extremes_do_not_overflow() {
        let (lo, hi) = (Timestamp::from_nanos(i64::MIN), Timestamp::from_nanos(i64::MAX));
        assert!(hi.days_since(lo) > 0.0 && lo.days_since(hi) < 0.0);
        let far = Timestamp::from_ymd(9999, 12, 31).unwrap();
        assert_eq!(far.as_nanos(), i64::MAX);
        let _ = hi.date();
        let _ = lo.date();
    }

    #[test]
    fn serde_round_trip() {
        let mut f = Forecast::new(0.01, 0.2, Horizon::DAY).unwrap();
        f.regime_means.insert(RegimeLabel::HIGH_VOL, -0.01);
        let s = serde_json::to_string(&f).unwrap();
        let g: Forecast = serde_json::from_str(&s).unwrap();
        assert_eq!(f, g);
        let r = RegimeState::certain(RegimeLabel::new("custom"));
        let s = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<RegimeState>(&s).unwrap(), r);
    }
}
