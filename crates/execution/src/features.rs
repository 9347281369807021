//! Context features from the market state: a documented feature vector of fixed length
//! [`N_FEATURES`].
//!
//! | index | feature | from |
//! |---|---|---|
//! | 0 | 1 (bias) | |
//! | 1 | `s / 10` | quoted spread `s` in bps |
//! | 2 | `ln(1 + s)` | |
//! | 3 | `100 σ` | daily volatility `σ` (decimal), i.e. in percent |
//! | 4 | `10 √q` | participation `q` = order shares / ADV |
//! | 5 | `ln(1 + Q / D)` | queue ahead `Q` and depth at the touch `D`, shares |
//! | 6 | `ln(1 + N / D)` | order shares `N` over the depth |
//! | 7 | `h` | time of day, fraction of the session in [0, 1] |
//! | 8 | `(2h − 1)²` | U-shape over the session |
//! | 9 | `ι` | book imbalance in [−1, 1], positive when the order's own side is heavier |
//! | 10 | `100 σ · 10 √q` | square-root impact proxy |
//! | 11 | `ln(1 + D) / 10` | depth |
//!
//! Every input has a documented range ([`MarketState::check`]); inside it every feature is
//! finite and of order 1–100, so linear bandits need no further scaling.

use std::collections::HashMap;

use prudentia_core::validate::check_range;
use prudentia_core::{AssetInfo, MarketSnapshot, Order, Quote};
use serde::{Deserialize, Serialize};

use crate::error::{ExecutionError, ExecutionResult};

/// Length of the context vector [`MarketState::features`] builds.
pub const N_FEATURES: usize = 12;

/// The largest share count (depth, queue, order size) a market state accepts: 10¹⁵.
pub const MAX_SHARES: f64 = 1e15;

/// The market state an order is routed in.
///
/// Deserialization runs [`MarketState::check`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct MarketState {
    /// Quoted spread in bps, in (0, 10⁴].
    pub spread_bps: f64,
    /// Shares displayed at the touch on the order's side, in [1, 10¹⁵].
    pub depth_shares: f64,
    /// Shares ahead of a new limit order at the touch, in [0, 10¹⁵] (the depth when joining
    /// the back of the queue).
    pub queue_ahead_shares: f64,
    /// Daily volatility (decimal), in [0, 10].
    pub volatility: f64,
    /// Order shares over average daily volume, in [0, 100].
    pub participation: f64,
    /// Order shares, in [0, 10¹⁵].
    pub order_shares: f64,
    /// Fraction of the trading session elapsed, in [0, 1].
    pub time_of_day: f64,
    /// Book imbalance in [−1, 1], positive when the order's own side of the book is heavier.
    pub imbalance: f64,
}
prudentia_core::checked_serde!(MarketState, MarketState::check);

/// The indicator name suffixes [`MarketState::from_snapshot`] reads (`"<asset>:depth"`, …).
pub mod indicator {
    /// Shares at the touch on the order's side (required).
    pub const DEPTH: &str = "depth";
    /// Shares ahead in the queue (optional; default: the depth).
    pub const QUEUE: &str = "queue";
    /// Daily volatility, decimal (required).
    pub const VOLATILITY: &str = "volatility";
    /// Book imbalance in [−1, 1] (optional; default 0).
    pub const IMBALANCE: &str = "imbalance";
    /// Fraction of the session elapsed (a market-wide indicator named `time_of_day`;
    /// optional, default 0.5).
    pub const TIME_OF_DAY: &str = "time_of_day";
}

impl MarketState {
    /// Checks every field is finite and inside its documented range.
    pub fn check(&mut self) -> ExecutionResult<()> {
        check_range(
            "spread_bps",
            self.spread_bps,
            f64::MIN_POSITIVE,
            1e4,
            "in (0, 1e4] bps",
        )?;
        check_range(
            "depth_shares",
            self.depth_shares,
            1.0,
            MAX_SHARES,
            "in [1, 1e15] shares",
        )?;
        check_range(
            "queue_ahead_shares",
            self.queue_ahead_shares,
            0.0,
            MAX_SHARES,
            "in [0, 1e15] shares",
        )?;
        check_range(
            "volatility",
            self.volatility,
            0.0,
            10.0,
            "a daily volatility in [0, 10]",
        )?;
        check_range(
            "participation",
            self.participation,
            0.0,
            100.0,
            "in [0, 100] of ADV",
        )?;
        check_range(
            "order_shares",
            self.order_shares,
            0.0,
            MAX_SHARES,
            "in [0, 1e15] shares",
        )?;
        check_range(
            "time_of_day",
            self.time_of_day,
            0.0,
            1.0,
            "a session fraction in [0, 1]",
        )?;
        check_range("imbalance", self.imbalance, -1.0, 1.0, "in [-1, 1]")?;
        Ok(())
    }

    /// The context vector (see the [module docs](self)), after [`MarketState::check`].
    ///
    /// ```
    /// use prudentia_execution::{MarketState, N_FEATURES};
    /// let state = MarketState {
    ///     spread_bps: 5.0, depth_shares: 2_000.0, queue_ahead_shares: 1_500.0,
    ///     volatility: 0.02, participation: 0.01, order_shares: 500.0,
    ///     time_of_day: 0.3, imbalance: 0.1,
    /// };
    /// let x = state.features()?;
    /// assert_eq!(x.len(), N_FEATURES);
    /// assert_eq!(x[0], 1.0);
    /// # Ok::<(), prudentia_execution::ExecutionError>(())
    /// ```
    pub fn features(&self) -> ExecutionResult<[f64; N_FEATURES]> {
        let mut out = [0.0; N_FEATURES];
        self.write_features(&mut out)?;
        Ok(out)
    }

    /// Writes the context vector into `out` (no allocation); `out` must hold
    /// [`N_FEATURES`] values.
    pub fn write_features(&self, out: &mut [f64]) -> ExecutionResult<()> {
        if out.len() != N_FEATURES {
            return Err(ExecutionError::ContextLength {
                expected: N_FEATURES,
                found: out.len(),
            });
        }
        let mut s = *self;
        s.check()?;
        let vol_pct = 100.0 * s.volatility;
        let sqrt_q = 10.0 * s.participation.sqrt();
        let h = s.time_of_day;
        out[0] = 1.0;
        out[1] = s.spread_bps / 10.0;
        out[2] = s.spread_bps.ln_1p();
        out[3] = vol_pct;
        out[4] = sqrt_q;
        out[5] = (s.queue_ahead_shares / s.depth_shares).ln_1p();
        out[6] = (s.order_shares / s.depth_shares).ln_1p();
        out[7] = h;
        out[8] = (2.0 * h - 1.0).powi(2);
        out[9] = s.imbalance;
        out[10] = vol_pct * sqrt_q;
        out[11] = s.depth_shares.ln_1p() / 10.0;
        Ok(())
    }

    /// The market state of `order` in `snapshot`: the spread from the asset's quote, the
    /// participation from the order's quantity over the asset's ADV (or the quote's volume
    /// when the ADV is unknown), and the indicators `"<asset>:depth"` and
    /// `"<asset>:volatility"` (required), `"<asset>:queue"` (default: the depth),
    /// `"<asset>:imbalance"` (default 0) and `"time_of_day"` (default 0.5). Values outside
    /// their ranges are errors, as in [`MarketState::check`].
    pub fn from_snapshot(order: &Order, snapshot: &MarketSnapshot) -> ExecutionResult<Self> {
        Self::from_facts(
            order,
            MarketFacts::find(order, snapshot),
            snapshot.indicator(indicator::TIME_OF_DAY),
        )
    }

    /// The market state of `order` from what the snapshot holds for its asset and the
    /// snapshot's `time_of_day` indicator (see [`MarketState::from_snapshot`]).
    pub(crate) fn from_facts(
        order: &Order,
        facts: MarketFacts<'_>,
        time_of_day: Option<f64>,
    ) -> ExecutionResult<Self> {
        let missing = |what: &'static str| ExecutionError::MissingMarketData {
            what,
            asset: order.asset.0.clone(),
        };
        let quote = facts.quote.ok_or_else(|| missing("quote"))?;
        let spread_bps = quote.spread_bps.ok_or_else(|| missing("spread_bps"))?;
        let adv = facts
            .info
            .and_then(|a| a.adv_shares)
            .or(quote.volume)
            .ok_or_else(|| missing("ADV or volume"))?;
        let [depth, volatility, queue, imbalance] = facts.named;
        let depth_shares = depth.ok_or_else(|| missing("depth indicator"))?;
        let volatility = volatility.ok_or_else(|| missing("volatility indicator"))?;
        let participation = if adv > 0.0 {
            order.quantity / adv
        } else {
            f64::INFINITY
        };
        let mut s = Self {
            spread_bps,
            depth_shares,
            queue_ahead_shares: queue.unwrap_or(depth_shares),
            volatility,
            participation,
            order_shares: order.quantity,
            time_of_day: time_of_day.unwrap_or(0.5),
            imbalance: imbalance.unwrap_or(0.0),
        };
        s.check()?;
        Ok(s)
    }
}

/// The per-asset indicator suffixes [`MarketState::from_snapshot`] reads, in the order of
/// [`MarketFacts::named`].
const NAMED: [&str; 4] = [
    indicator::DEPTH,
    indicator::VOLATILITY,
    indicator::QUEUE,
    indicator::IMBALANCE,
];

/// What a snapshot holds for one asset: its first quote, its first [`AssetInfo`] and the
/// first value of each `"<asset>:<suffix>"` indicator of [`NAMED`] (first match, as `find`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MarketFacts<'a> {
    pub(crate) quote: Option<&'a Quote>,
    pub(crate) info: Option<&'a AssetInfo>,
    pub(crate) named: [Option<f64>; 4],
}

impl<'a> MarketFacts<'a> {
    /// One order's facts by linear scans of the snapshot.
    pub(crate) fn find(order: &Order, snapshot: &'a MarketSnapshot) -> Self {
        let asset = order.asset.0.as_str();
        let named = |suffix: &str| {
            snapshot
                .indicators
                .iter()
                .find(|i| indicator_asset(&i.name, suffix) == Some(asset))
                .map(|i| i.value)
        };
        Self {
            quote: snapshot.quotes.iter().find(|q| q.asset == order.asset),
            info: snapshot.assets.iter().find(|a| a.id == order.asset),
            named: NAMED.map(named),
        }
    }
}

/// The asset of indicator `name` when it is `"<asset>:<suffix>"`.
fn indicator_asset<'n>(name: &'n str, suffix: &str) -> Option<&'n str> {
    name.strip_suffix(suffix)?.strip_suffix(':')
}

/// The facts of every asset some order names, from one pass over the snapshot (first match
/// per asset, as [`MarketFacts::find`]), and the snapshot's `time_of_day` indicator.
pub(crate) struct SnapshotIndex<'a> {
    facts: HashMap<&'a str, MarketFacts<'a>>,
    pub(crate) time_of_day: Option<f64>,
}

impl<'a> SnapshotIndex<'a> {
    pub(crate) fn new(orders: &'a [Order], snapshot: &'a MarketSnapshot) -> Self {
        let mut facts: HashMap<&'a str, MarketFacts<'a>> = HashMap::with_capacity(orders.len());
        for o in orders {
            let _ = facts.entry(o.asset.0.as_str()).or_default();
        }
        for q in &snapshot.quotes {
            if let Some(f) = facts.get_mut(q.asset.0.as_str()) {
                let _ = f.quote.get_or_insert(q);
            }
        }
        for a in &snapshot.assets {
            if let Some(f) = facts.get_mut(a.id.0.as_str()) {
                let _ = f.info.get_or_insert(a);
            }
        }
        let mut time_of_day = None;
        for i in &snapshot.indicators {
            // the suffixes hold no ':', so the last ':' separates the asset
            let Some((asset, suffix)) = i.name.rsplit_once(':') else {
                if time_of_day.is_none() && i.name == indicator::TIME_OF_DAY {
                    time_of_day = Some(i.value);
                }
                continue;
            };
            let Some(k) = NAMED.iter().position(|n| *n == suffix) else {
                continue;
            };
            if let Some(f) = facts.get_mut(asset) {
                let _ = f.named[k].get_or_insert(i.value);
            }
        }
        Self { facts, time_of_day }
    }

    /// The facts of `order`'s asset (none when no order of the index named it).
    pub(crate) fn get(&self, order: &Order) -> MarketFacts<'a> {
        self.facts
            .get(order.asset.0.as_str())
            .copied()
            .unwrap_or_default()
    }
}
