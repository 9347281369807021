//! Routes parent orders on the seeded fill simulator with LinUCB over order type × venue,
//! learning from each fill, and prints the order type, venue and propensity per order; then
//! evaluates the learned (greedy) policy offline on a log collected under a uniform policy.
//!
//! Run: `cargo run -p prudentia-execution --example route`

use ndarray::Array2;
use prudentia_core::traits::{ExecutionPolicy, OnlineLearner};
use prudentia_core::{
    AssetId, AssetInfo, Fill, Indicator, MarketSnapshot, Order, OrderType, Quote, Side, Timestamp, Venue,
};
use prudentia_datasets::fill_sim::{FillSimConfig, FillSimulator, SimMarketState};
use prudentia_execution::ope::{LoggedData, OffPolicyEvaluator, OpeConfig};
use prudentia_execution::router::{ExecutionRouter, RoutedFill, RouterConfig, RoutingPolicy, UniformRandom};
use prudentia_execution::{ActionMask, ActionSpace, MarketState, N_FEATURES};
use prudentia_learn::bandit::{LinUcb, LinUcbConfig};

/// A snapshot carrying a simulated market state for asset `XYZ` (mid 50).
fn snapshot(s: &SimMarketState, t: i64) -> MarketSnapshot {
    let time = Timestamp::from_nanos(t);
    let ind = |name: &str, value| Indicator {
        name: name.into(),
        time,
        value,
    };
    let mut asset = AssetInfo::new("XYZ", 50.0).expect("valid price");
    asset.adv_shares = Some(s.order_shares / s.participation);
    MarketSnapshot {
        time,
        quotes: vec![Quote {
            asset: AssetId::new("XYZ"),
            time,
            price: 50.0,
            volume: None,
            spread_bps: Some(s.spread_bps),
        }],
        indicators: vec![
            ind("XYZ:depth", s.depth_shares),
            ind("XYZ:queue", s.queue_ahead_shares),
            ind("XYZ:volatility", s.volatility),
            ind("XYZ:imbalance", s.imbalance),
            ind("time_of_day", s.time_of_day),
        ],
        assets: vec![asset],
    }
}

fn type_name(o: OrderType) -> String {
    match o {
        OrderType::Limit => "limit".into(),
        OrderType::Market => "market".into(),
        OrderType::Pov { rate } => format!("POV {:.0}%", rate * 100.0),
        OrderType::Pegged => "mid-peg".into(),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = FillSimulator::new(FillSimConfig::default())?;
    let venues: Vec<Venue> = sim
        .config()
        .venues
        .iter()
        .map(|v| Venue(v.name.clone()))
        .collect();
    let space = ActionSpace::new(
        vec![
            OrderType::Limit,
            OrderType::Market,
            OrderType::Pov { rate: 0.1 },
            OrderType::Pegged,
        ],
        venues,
    )?;
    let policy = LinUcb::new(LinUcbConfig {
        n_actions: space.len(),
        dim: N_FEATURES,
        ..Default::default()
    })?;
    let mut router = ExecutionRouter::new(RouterConfig::default(), space.clone(), Box::new(policy))?;
    let n_venues = space.venues().len();

    println!("order  side  shares  type        venue  propensity  limit    slippage_bps");
    let n = 2_000u64;
    let mut total = 0.0;
    for t in 0..n {
        let s = sim.sample_state(t);
        let side = if t % 2 == 0 { Side::Buy } else { Side::Sell };
        let order = Order::new(AssetId::new("XYZ"), side, s.order_shares, OrderType::Market)?;
        let snap = snapshot(&s, t as i64);
        // the role-trait door (what a pipeline calls), then the record for learning
        let routed = router.route(&order, &snap, t)?;
        let (_, record) = router.route_order(&order, &snap, t)?;
        let log = routed.routing.clone().expect("routed orders carry their log");
        let fill = sim.execute(&s, routed.order_type, log.action % n_venues, 1_000_000 + t)?;
        let event = RoutedFill {
            routing: record,
            fill: Fill {
                asset: order.asset.clone(),
                time: snap.time,
                side,
                quantity: order.quantity,
                price: fill.average_price(50.0, side == Side::Buy),
                arrival_price: 50.0,
                order_type: routed.order_type,
                venue: routed.venue.clone(),
            },
        };
        router.learn(&event)?;
        total += fill.slippage_bps;
        if t < 12 || t % 250 == 1 {
            println!(
                "{t:>5}  {:<4}  {:>6.0}  {:<10}  {:<5}  {:>10.3}  {:>7}  {:>12.2}",
                format!("{side:?}"),
                order.quantity,
                type_name(routed.order_type),
                routed.venue.as_ref().map_or("-", |v| v.0.as_str()),
                log.propensity,
                routed.limit_price.map_or("-".to_string(), |p| format!("{p:.2}")),
                fill.slippage_bps,
            );
        }
    }
    println!("mean slippage over {n} orders: {:.2} bps", total / n as f64);

    // off-policy evaluation: a uniform logging policy, the learned greedy policy as target
    let uniform = UniformRandom {
        n_actions: space.len(),
        context_dim: N_FEATURES,
    };
    let m = 20_000usize;
    let k = space.len();
    let mut x = Array2::zeros((m, N_FEATURES));
    let (mut actions, mut rewards, mut props) = (Vec::new(), Vec::new(), Vec::new());
    let mut target = Array2::zeros((m, k));
    let greedy = RouterConfig {
        explore: false,
        ..RouterConfig::default()
    };
    let learned = router.policy();
    let all = ActionMask::all(k)?;
    for i in 0..m {
        let s = sim.sample_state(5_000_000 + i as u64);
        let st = MarketState {
            spread_bps: s.spread_bps,
            depth_shares: s.depth_shares,
            queue_ahead_shares: s.queue_ahead_shares,
            volatility: s.volatility,
            participation: s.participation,
            order_shares: s.order_shares,
            time_of_day: s.time_of_day,
            imbalance: s.imbalance,
        };
        let ctx = st.features()?;
        let (a, p) = uniform.choose(&ctx, &all, true, i as u64)?;
        let f = sim.execute(
            &s,
            space.action(a).expect("in range").order_type,
            a % n_venues,
            9_000_000 + i as u64,
        )?;
        x.row_mut(i).assign(&ndarray::ArrayView1::from(&ctx[..]));
        actions.push(a);
        rewards.push(-f.slippage_bps);
        props.push(p);
        let (best, _) = learned.choose(&ctx, &all, greedy.explore, 0)?;
        target[[i, best]] = 1.0;
    }
    let log = LoggedData::new(x.view(), &actions, &rewards, &props);
    let report = OffPolicyEvaluator::new(OpeConfig::default())?.evaluate(&log, target.view())?;
    let logged_mean = rewards.iter().sum::<f64>() / m as f64;
    println!(
        "off-policy value of the learned greedy policy (reward = -slippage bps), {m} uniform-logged orders:"
    );
    for (name, e) in [("IPS", report.ips), ("DM", report.dm), ("DR", report.dr)] {
        println!(
            "  {name:<5} {:>7.2}  95% normal [{:.2}, {:.2}]",
            e.value, e.normal.lower, e.normal.upper
        );
    }
    if let Some(e) = report.snips {
        println!(
            "  SNIPS {:>7.2}  95% normal [{:.2}, {:.2}]",
            e.value, e.normal.lower, e.normal.upper
        );
    }
    println!(
        "  logging policy's own value {logged_mean:.2}; effective sample size {:.0}; support {:?}",
        report.effective_sample_size, report.support
    );
    Ok(())
}
