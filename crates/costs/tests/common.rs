//! Synthetic fill events from `prudentia_datasets::fills`.

use prudentia_core::{AssetId, Fill, Side, Timestamp, Venue};
use prudentia_costs::model::{CostModelConfig, FillEvent, OrderContext};
use prudentia_datasets::fills::FillSample;

pub const ADV: f64 = 1e6;

pub fn config() -> CostModelConfig {
    CostModelConfig::new(["V0", "V1", "V2"])
}

/// [`config`] with a shorter memory, for a residual that changes: RLS forgetting 0.995
/// (effective memory 200 fills instead of 500), trees refitted every 100 fills on the last 500
/// (instead of every 500 on 2,000), held-out error half-life 100 fills (instead of 500).
pub fn short_memory_config() -> CostModelConfig {
    CostModelConfig {
        forgetting: 0.995,
        tree_refit_every: 100,
        tree_window: 500,
        error_halflife: 100.0,
        ..config()
    }
}

/// Row `r` of a sample as a fill event whose realized cost is `slippage_bps` (buys and sells
/// alternate; the arrival price is 100).
pub fn event(s: &FillSample, r: usize, slippage_bps: f64) -> FillEvent {
    let side = if r % 2 == 0 { Side::Buy } else { Side::Sell };
    let sign = if r % 2 == 0 { 1.0 } else { -1.0 };
    FillEvent {
        fill: Fill {
            asset: AssetId::new("A"),
            time: Timestamp::from_nanos(1_000 * r as i64 + 500),
            side,
            quantity: s.participation[r] * ADV,
            price: 100.0 * (1.0 + sign * slippage_bps * 1e-4),
            arrival_price: 100.0,
            order_type: s.core_order_type(r).expect("row"),
            venue: Some(Venue(format!("V{}", s.venue[r]))),
        },
        order_time: Timestamp::from_nanos(1_000 * r as i64),
        context: OrderContext {
            spread_bps: s.spread_bps[r],
            volatility: s.volatility[r],
            adv_shares: ADV,
            queue_position: 0.0,
            time_of_day: s.time_of_day[r],
        },
    }
}

pub fn rmse(e: &[f64]) -> f64 {
    (e.iter().map(|v| v * v).sum::<f64>() / e.len() as f64).sqrt()
}
