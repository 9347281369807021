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

use prudentia_core::validate::check_range;
use prudentia_core::{MarketSnapshot, Order};
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
        let asset = &order.asset.0;
        let missing = |what: &'static str| ExecutionError::MissingMarketData {
            what,
            asset: asset.clone(),
        };
        let quote = snapshot
            .quotes
            .iter()
            .find(|q| q.asset == order.asset)
            .ok_or_else(|| missing("quote"))?;
        let spread_bps = quote.spread_bps.ok_or_else(|| missing("spread_bps"))?;
        let adv = snapshot
            .assets
            .iter()
            .find(|a| a.id == order.asset)
            .and_then(|a| a.adv_shares)
            .or(quote.volume)
            .ok_or_else(|| missing("ADV or volume"))?;
        let named = |suffix: &str| {
            snapshot
                .indicators
                .iter()
                .find(|i| {
                    i.name.len() == asset.len() + 1 + suffix.len()
                        && i.name.starts_with(asset.as_str())
                        && i.name[asset.len()..].starts_with(':')
                        && i.name.ends_with(suffix)
                })
                .map(|i| i.value)
        };
        let depth_shares = named(indicator::DEPTH).ok_or_else(|| missing("depth indicator"))?;
        let volatility = named(indicator::VOLATILITY).ok_or_else(|| missing("volatility indicator"))?;
        let participation = if adv > 0.0 {
            order.quantity / adv
        } else {
            f64::INFINITY
        };
        let mut s = Self {
            spread_bps,
            depth_shares,
            queue_ahead_shares: named(indicator::QUEUE).unwrap_or(depth_shares),
            volatility,
            participation,
            order_shares: order.quantity,
            time_of_day: snapshot.indicator(indicator::TIME_OF_DAY).unwrap_or(0.5),
            imbalance: named(indicator::IMBALANCE).unwrap_or(0.0),
        };
        s.check()?;
        Ok(s)
    }
}
