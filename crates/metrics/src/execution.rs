//! Execution metrics over fills: slippage in basis points, implementation shortfall against
//! the arrival price, and fill rate.
//!
//! For a fill of `q` shares at average price `p` with arrival (decision) price `a`, and
//! `s = +1` for a buy, `−1` for a sell:
//! - slippage `= s (p − a) / a · 10⁴` bps, positive when the fill was worse than arrival;
//! - implementation shortfall of a set of fills, the execution-cost part of Perold (1988):
//!   `Σ s (p − a) q / Σ a q · 10⁴` bps (notional-weighted slippage). The opportunity cost
//!   of unfilled shares needs a later price and is not included; the fill rate reports how
//!   much went unfilled.
//! - fill rate `= Σ filled shares / Σ ordered shares`, matching fills to orders by asset and
//!   side, each (asset, side) capped at its ordered quantity.

use std::collections::BTreeMap;

use prudentia_core::validate::{check_len, check_positive};
use prudentia_core::{AssetId, Fill, Order, Side};
use serde::{Deserialize, Serialize};

use crate::error::MetricsResult;
use crate::stats::{percentile_sorted, sorted_copy};
use crate::types::{Stat, Undefined};

fn sign(side: Side) -> f64 {
    match side {
        Side::Buy => 1.0,
        Side::Sell => -1.0,
    }
}

fn check_fill(f: &Fill) -> MetricsResult<()> {
    check_positive("fill.quantity", f.quantity)?;
    check_positive("fill.price", f.price)?;
    check_positive("fill.arrival_price", f.arrival_price)?;
    Ok(())
}

/// Slippage of one fill against its arrival price, in bps (positive = cost).
pub fn slippage_bps(fill: &Fill) -> MetricsResult<f64> {
    check_fill(fill)?;
    finite_or_error("slippage_bps", fill.slippage_bps())
}

/// `Ok(v)` if `v` is finite; otherwise the inputs were too extreme for `f64` (e.g. a fill
/// price 10³⁰⁰ times the arrival price): a typed error.
fn finite_or_error(field: &'static str, v: f64) -> MetricsResult<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(prudentia_core::CoreError::NonFinite {
            field,
            index: 0,
            value: v,
        }
        .into())
    }
}

/// Notional-weighted implementation shortfall of the fills against arrival, in bps.
pub fn implementation_shortfall_bps(fills: &[Fill]) -> MetricsResult<f64> {
    check_len("fills", fills.len(), 1)?;
    let (mut cost, mut notional) = (0.0, 0.0);
    for f in fills {
        check_fill(f)?;
        cost += sign(f.side) * (f.price - f.arrival_price) * f.quantity;
        notional += f.arrival_price * f.quantity;
    }
    finite_or_error("implementation_shortfall_bps", cost / notional * 1e4)
}

/// Filled over ordered shares, matched by (asset, side). Undefined without orders.
pub fn fill_rate(orders: &[Order], fills: &[Fill]) -> MetricsResult<Stat> {
    let mut ordered: BTreeMap<(AssetId, bool), f64> = BTreeMap::new();
    for o in orders {
        check_positive("order.quantity", o.quantity)?;
        *ordered.entry((o.asset.clone(), o.side == Side::Buy)).or_default() += o.quantity;
    }
    let mut filled: BTreeMap<(AssetId, bool), f64> = BTreeMap::new();
    for f in fills {
        check_fill(f)?;
        *filled.entry((f.asset.clone(), f.side == Side::Buy)).or_default() += f.quantity;
    }
    let total: f64 = ordered.values().sum();
    let done: f64 = ordered
        .iter()
        .map(|(k, q)| filled.get(k).copied().unwrap_or(0.0).min(*q))
        .sum();
    Ok(Stat::ratio(done, total, Undefined::ZeroDenominator))
}

/// Execution metrics of a set of fills.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionMetrics {
    /// Number of fills.
    pub fills: usize,
    /// Arrival notional `Σ a q`.
    pub notional: f64,
    /// Implementation shortfall against arrival, bps.
    pub implementation_shortfall_bps: f64,
    /// Mean per-fill slippage, bps.
    pub mean_slippage_bps: f64,
    /// Median per-fill slippage, bps.
    pub median_slippage_bps: f64,
    /// 95th percentile of per-fill slippage, bps (the bad tail).
    pub p95_slippage_bps: f64,
    /// Filled over ordered shares, when the orders were given.
    pub fill_rate: Option<Stat>,
    /// Implementation shortfall per venue (fills without a venue under `""`), bps.
    pub shortfall_by_venue_bps: BTreeMap<String, f64>,
}

impl ExecutionMetrics {
    /// Computes the metrics of `fills` (at least one), with the fill rate if `orders` given.
    pub fn compute(fills: &[Fill], orders: Option<&[Order]>) -> MetricsResult<Self> {
        check_len("fills", fills.len(), 1)?;
        let slips = fills
            .iter()
            .map(slippage_bps)
            .collect::<MetricsResult<Vec<f64>>>()?;
        let sorted = sorted_copy(&slips);
        let mut venues: BTreeMap<String, Vec<Fill>> = BTreeMap::new();
        for f in fills {
            let v = f.venue.as_ref().map(|v| v.0.clone()).unwrap_or_default();
            venues.entry(v).or_default().push(f.clone());
        }
        let shortfall_by_venue_bps = venues
            .into_iter()
            .map(|(v, fs)| implementation_shortfall_bps(&fs).map(|s| (v, s)))
            .collect::<MetricsResult<_>>()?;
        Ok(Self {
            fills: fills.len(),
            notional: fills.iter().map(|f| f.arrival_price * f.quantity).sum(),
            implementation_shortfall_bps: implementation_shortfall_bps(fills)?,
            mean_slippage_bps: slips.iter().sum::<f64>() / slips.len() as f64,
            median_slippage_bps: percentile_sorted(&sorted, 0.5),
            p95_slippage_bps: percentile_sorted(&sorted, 0.95),
            fill_rate: orders.map(|o| fill_rate(o, fills)).transpose()?,
            shortfall_by_venue_bps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prudentia_core::{OrderType, Timestamp, Venue};

    fn fill(side: Side, q: f64, p: f64, a: f64, venue: Option<&str>) -> Fill {
        Fill {
            asset: "X".into(),
            time: Timestamp::from_nanos(0),
            side,
            quantity: q,
            price: p,
            arrival_price: a,
            order_type: OrderType::Market,
            venue: venue.map(|v| Venue(v.into())),
        }
    }

    #[test]
    fn slippage_signs() {
        // Buying at 100.1 against 100: 10 bps cost; selling at 99.9: 10 bps cost.
        assert!((slippage_bps(&fill(Side::Buy, 1.0, 100.1, 100.0, None)).unwrap() - 10.0).abs() < 1e-9);
        assert!((slippage_bps(&fill(Side::Sell, 1.0, 99.9, 100.0, None)).unwrap() - 10.0).abs() < 1e-9);
        assert!(slippage_bps(&fill(Side::Buy, 1.0, 100.0, 0.0, None)).is_err());
    }

    #[test]
    fn shortfall_and_fill_rate() {
        let fills = [
            fill(Side::Buy, 100.0, 100.2, 100.0, Some("A")),
            fill(Side::Buy, 300.0, 100.0, 100.0, Some("B")),
        ];
        // (0.2 · 100) / (100 · 400) = 5 bps.
        assert!((implementation_shortfall_bps(&fills).unwrap() - 5.0).abs() < 1e-9);
        let order = Order::new("X".into(), Side::Buy, 800.0, OrderType::Limit).unwrap();
        assert_eq!(
            fill_rate(std::slice::from_ref(&order), &fills).unwrap(),
            Stat::Value(0.5)
        );
        let m = ExecutionMetrics::compute(&fills, Some(&[order])).unwrap();
        assert_eq!(m.fills, 2);
        assert!((m.shortfall_by_venue_bps["A"] - 20.0).abs() < 1e-9);
        assert_eq!(m.shortfall_by_venue_bps["B"], 0.0);
        assert!(!fill_rate(&[], &fills).unwrap().is_defined());
        assert!(ExecutionMetrics::compute(&[], None).is_err());
    }
}
