//! Child orders: how a parent order is cut into per-period trades, and at which limit price
//! each child is sent.
//!
//! - [`Schedule::twap`]: equal slices over `periods` (time-weighted average price);
//! - [`Schedule::pov`]: `rate × expected volume` per period until the parent is done
//!   (percentage of volume), the last period taking what is left;
//! - [`Schedule::trajectory`]: any list of per-period trade sizes, e.g. the Almgren–Chriss
//!   (2000) trade list `nₖ = xₖ₋₁ − xₖ` with
//!   `xₖ = X sinh(κ (T − tₖ)) / sinh(κ T)` that a cost model computes.
//!
//! [`LimitPriceRule`] turns a quote into a limit price: join the near touch, improve it by
//! ticks (never crossing the spread), or peg to the mid. The touch is derived from core's
//! [`Quote`]: `bid = P (1 − s / 2·10⁴)`, `ask = P (1 + s / 2·10⁴)` for the quote's price `P`
//! (mid) and spread `s` in bps; prices are rounded to the tick grid on the passive side
//! (down for a buy, up for a sell).

use prudentia_core::validate::{check_finite, check_len, check_positive, check_size, MAX_WINDOW};
use prudentia_core::{CoreError, Quote, Side};
use serde::{Deserialize, Serialize};

use crate::error::{ExecutionError, ExecutionResult};

/// A parent order cut into per-period child quantities (shares, ≥ 0, summing to the parent).
///
/// Deserialization runs [`Schedule::check`].
///
/// ```
/// use prudentia_execution::schedule::Schedule;
///
/// let twap = Schedule::twap(1_000.0, 4)?;
/// assert_eq!(twap.quantities(), &[250.0; 4]);
/// // 10 % of an expected 3,000 shares per period
/// let pov = Schedule::pov(1_000.0, 0.1, &[3_000.0; 5])?;
/// assert_eq!(pov.quantities(), &[300.0, 300.0, 300.0, 100.0]);
/// let ac = Schedule::trajectory(vec![400.0, 300.0, 200.0, 100.0])?;
/// assert_eq!(ac.total(), 1_000.0);
/// # Ok::<(), prudentia_execution::ExecutionError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Schedule {
    quantities: Vec<f64>,
    total: f64,
}
prudentia_core::checked_serde!(Schedule, Schedule::check);

impl Schedule {
    /// `quantity / periods` in each of `periods` periods (1 ≤ periods ≤ `MAX_WINDOW`).
    pub fn twap(quantity: f64, periods: usize) -> ExecutionResult<Self> {
        check_positive("quantity", quantity)?;
        check_len("periods", periods, 1)?;
        check_size("periods", periods, MAX_WINDOW)?;
        let slice = quantity / periods as f64;
        let mut q = vec![slice; periods];
        // the last slice takes the rounding, so the slices sum to the parent exactly
        // (up to the last addition)
        let head: f64 = q[..periods - 1].iter().sum();
        q[periods - 1] = (quantity - head).max(0.0);
        Self::from_parts(q, quantity)
    }

    /// `rate × expected_volume[t]` per period until `quantity` is done. Fails with
    /// [`ExecutionError::Core`] (`OutOfRange` on `expected_volume`) when the expected volume
    /// cannot complete the parent at that rate.
    pub fn pov(quantity: f64, rate: f64, expected_volume: &[f64]) -> ExecutionResult<Self> {
        check_positive("quantity", quantity)?;
        if !(rate.is_finite() && rate > 0.0 && rate <= 1.0) {
            return Err(CoreError::OutOfRange {
                field: "rate",
                value: rate,
                expected: "a participation rate in (0, 1]",
            }
            .into());
        }
        check_len("expected_volume", expected_volume.len(), 1)?;
        check_size("expected_volume", expected_volume.len(), MAX_WINDOW)?;
        check_finite("expected_volume", expected_volume)?;
        let mut left = quantity;
        let mut q = Vec::new();
        for &v in expected_volume {
            if v < 0.0 {
                return Err(CoreError::OutOfRange {
                    field: "expected_volume",
                    value: v,
                    expected: ">= 0 shares",
                }
                .into());
            }
            if left <= 0.0 {
                break;
            }
            let take = (rate * v).min(left);
            q.push(take);
            left -= take;
        }
        if left > quantity * 1e-12 {
            return Err(CoreError::OutOfRange {
                field: "expected_volume",
                value: left,
                expected: "enough volume to complete the parent at the participation rate",
            }
            .into());
        }
        Self::from_parts(q, quantity)
    }

    /// Any per-period trade list (each finite and ≥ 0, total > 0), e.g. an Almgren–Chriss
    /// trade list.
    pub fn trajectory(quantities: Vec<f64>) -> ExecutionResult<Self> {
        check_size("quantities", quantities.len(), MAX_WINDOW)?;
        let total = quantities.iter().sum();
        Self::from_parts(quantities, total)
    }

    fn from_parts(quantities: Vec<f64>, total: f64) -> ExecutionResult<Self> {
        let mut s = Self { quantities, total };
        s.check()?;
        Ok(s)
    }

    /// Checks: at least one period, at most `MAX_WINDOW`, every quantity finite and ≥ 0,
    /// the total finite, > 0 and equal to the sum (to 1e-9 relative).
    pub fn check(&mut self) -> ExecutionResult<()> {
        check_len("quantities", self.quantities.len(), 1)?;
        check_size("quantities", self.quantities.len(), MAX_WINDOW)?;
        check_finite("quantities", &self.quantities)?;
        if let Some(&v) = self.quantities.iter().find(|q| **q < 0.0) {
            return Err(CoreError::OutOfRange {
                field: "quantities",
                value: v,
                expected: ">= 0 shares",
            }
            .into());
        }
        check_positive("total", self.total)?;
        let sum: f64 = self.quantities.iter().sum();
        if (sum - self.total).abs() > 1e-9 * self.total {
            return Err(CoreError::OutOfRange {
                field: "total",
                value: self.total,
                expected: "the sum of the per-period quantities",
            }
            .into());
        }
        Ok(())
    }

    /// Child quantity per period.
    pub fn quantities(&self) -> &[f64] {
        &self.quantities
    }

    /// The parent quantity.
    pub fn total(&self) -> f64 {
        self.total
    }

    /// Number of periods.
    pub fn len(&self) -> usize {
        self.quantities.len()
    }

    /// Always `false` for a valid schedule.
    pub fn is_empty(&self) -> bool {
        self.quantities.is_empty()
    }

    /// Shares still to trade after `periods` periods (the parent at 0, 0 at the end).
    pub fn remaining_after(&self, periods: usize) -> f64 {
        let done: f64 = self.quantities.iter().take(periods).sum();
        (self.total - done).max(0.0)
    }
}

/// Where a passive child order is priced.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[non_exhaustive]
pub enum LimitPriceRule {
    /// Join the near touch (bid for a buy, ask for a sell).
    Join,
    /// Improve the near touch by `ticks` ticks, never reaching the far touch (falls back to
    /// joining when the spread is too narrow).
    Improve {
        /// Ticks of improvement, ≥ 1.
        ticks: u32,
    },
    /// The mid price, rounded to the tick on the passive side.
    MidPeg,
}
prudentia_core::checked_serde!(LimitPriceRule, LimitPriceRule::check);

impl LimitPriceRule {
    /// Checks `ticks ≥ 1` for [`LimitPriceRule::Improve`].
    pub fn check(&mut self) -> ExecutionResult<()> {
        if let LimitPriceRule::Improve { ticks: 0 } = self {
            return Err(CoreError::OutOfRange {
                field: "ticks",
                value: 0.0,
                expected: ">= 1",
            }
            .into());
        }
        Ok(())
    }

    /// The limit price for `side` from `quote` on a grid of `tick` (currency units, > 0).
    ///
    /// ```
    /// use prudentia_core::{AssetId, Quote, Side, Timestamp};
    /// use prudentia_execution::schedule::LimitPriceRule;
    ///
    /// // mid 100, spread 10 bps: bid 99.95, ask 100.05
    /// let q = Quote { asset: AssetId::new("A"), time: Timestamp::from_nanos(0), price: 100.0,
    ///                 volume: None, spread_bps: Some(10.0) };
    /// let px = |r: LimitPriceRule, s| r.limit_price(s, &q, 0.01).unwrap();
    /// assert_eq!(px(LimitPriceRule::Join, Side::Buy), 99.95);
    /// assert_eq!(px(LimitPriceRule::Improve { ticks: 1 }, Side::Buy), 99.96);
    /// assert_eq!(px(LimitPriceRule::Improve { ticks: 1 }, Side::Sell), 100.04);
    /// assert!((px(LimitPriceRule::MidPeg, Side::Sell) - 100.0).abs() < 1e-9);
    /// ```
    pub fn limit_price(&self, side: Side, quote: &Quote, tick: f64) -> ExecutionResult<f64> {
        self.clone_checked()?;
        check_positive("tick", tick)?;
        check_positive("price", quote.price)?;
        let spread = quote
            .spread_bps
            .ok_or_else(|| ExecutionError::MissingMarketData {
                what: "spread_bps",
                asset: quote.asset.0.clone(),
            })?;
        prudentia_core::validate::check_range("spread_bps", spread, 0.0, 1e4, "in [0, 1e4] bps")?;
        let mid = quote.price;
        let half = mid * spread / 2e4;
        let (bid, ask) = (mid - half, mid + half);
        // grid index of a price, rounded on the passive side; bounded so that the tick
        // arithmetic stays exact enough
        let ratio = mid / tick;
        if !(ratio.is_finite() && ratio <= 1e15) {
            return Err(CoreError::OutOfRange {
                field: "tick",
                value: tick,
                expected: "a tick with price / tick <= 1e15",
            }
            .into());
        }
        // a decimal tick (0.01 = 1/100) divides the grid index by its integer inverse, so
        // that 1999 ticks of 0.01 print as 19.99 rather than 19.990000000000002
        let inv = (1.0 / tick).round();
        let on_grid = |i: f64| {
            if inv >= 1.0 && (inv * tick - 1.0).abs() < 1e-12 {
                i / inv
            } else {
                i * tick
            }
        };
        let down = |p: f64| on_grid((p / tick + 1e-9).floor());
        let up = |p: f64| on_grid((p / tick - 1e-9).ceil());
        let price = match (*self, side) {
            (LimitPriceRule::Join, Side::Buy) => down(bid),
            (LimitPriceRule::Join, Side::Sell) => up(ask),
            (LimitPriceRule::Improve { ticks }, Side::Buy) => {
                let p = on_grid((bid / tick + 1e-9).floor() + f64::from(ticks));
                if p < ask - tick * 1e-9 {
                    p
                } else {
                    down(bid)
                }
            }
            (LimitPriceRule::Improve { ticks }, Side::Sell) => {
                let p = on_grid((ask / tick - 1e-9).ceil() - f64::from(ticks));
                if p > bid + tick * 1e-9 {
                    p
                } else {
                    up(ask)
                }
            }
            (LimitPriceRule::MidPeg, Side::Buy) => down(mid),
            (LimitPriceRule::MidPeg, Side::Sell) => up(mid),
        };
        if !(price.is_finite() && price > 0.0) {
            return Err(CoreError::OutOfRange {
                field: "limit_price",
                value: price,
                expected: "finite and > 0 (the bid is at or below zero)",
            }
            .into());
        }
        Ok(price)
    }

    fn clone_checked(&self) -> ExecutionResult<()> {
        let mut c = *self;
        c.check()
    }
}
