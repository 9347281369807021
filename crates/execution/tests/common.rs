//! Shared helpers: the simulator's market states as execution market states, the action
//! space of the simulator (4 order types × 2 venues = 8 actions).

use prudentia_core::{AssetId, Fill, OrderType, Side, Timestamp, Venue};
use prudentia_datasets::fill_sim::{FillSimConfig, FillSimulator, SimMarketState};
use prudentia_execution::router::{RoutedFill, RoutingRecord};
use prudentia_execution::{ActionSpace, MarketState};

pub const ORDER_TYPES: [OrderType; 4] = [
    OrderType::Limit,
    OrderType::Market,
    OrderType::Pov { rate: 0.1 },
    OrderType::Pegged,
];

pub fn simulator() -> FillSimulator {
    FillSimulator::new(FillSimConfig::default()).expect("default simulator")
}

pub fn space(sim: &FillSimulator) -> ActionSpace {
    ActionSpace::new(
        ORDER_TYPES.to_vec(),
        sim.config()
            .venues
            .iter()
            .map(|v| Venue(v.name.clone()))
            .collect(),
    )
    .expect("valid space")
}

pub fn state(s: &SimMarketState) -> MarketState {
    MarketState {
        spread_bps: s.spread_bps,
        depth_shares: s.depth_shares,
        queue_ahead_shares: s.queue_ahead_shares,
        volatility: s.volatility,
        participation: s.participation,
        order_shares: s.order_shares,
        time_of_day: s.time_of_day,
        imbalance: s.imbalance,
    }
}

/// Executes `record`'s action on the simulator and returns the fill event (a buy at arrival
/// price 100).
pub fn fill_for(
    sim: &FillSimulator,
    sp: &ActionSpace,
    s: &SimMarketState,
    record: &RoutingRecord,
    seed: u64,
) -> (RoutedFill, f64) {
    let action = sp.action(record.action).expect("action in range");
    let n_venues = sp.venues().len();
    let f = sim
        .execute(s, action.order_type, record.action % n_venues, seed)
        .expect("valid state");
    let arrival = 100.0;
    let fill = Fill {
        asset: AssetId::new("XYZ"),
        time: Timestamp::from_nanos(0),
        side: Side::Buy,
        quantity: s.order_shares,
        price: f.average_price(arrival, true),
        arrival_price: arrival,
        order_type: action.order_type,
        venue: Some(action.venue),
    };
    (
        RoutedFill {
            routing: record.clone(),
            fill,
        },
        f.slippage_bps,
    )
}

/// Expected cost of every action in a state (the oracle's table).
#[allow(dead_code)]
pub fn expected_costs(sim: &FillSimulator, sp: &ActionSpace, s: &SimMarketState) -> Vec<f64> {
    let nv = sp.venues().len();
    (0..sp.len())
        .map(|a| {
            sim.expected_cost_bps(s, sp.action(a).expect("in range").order_type, a % nv)
                .expect("valid state")
        })
        .collect()
}
