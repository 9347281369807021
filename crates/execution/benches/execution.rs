//! Benches of the hot paths: one routing decision (8 actions, d = 12) with LinUCB and linear
//! Thompson sampling, off-policy evaluation over 1M logged decisions (8 actions), and 50
//! orders routed in a 500-asset snapshot (1,500 indicators): one `route` per order against
//! one `route_all`.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use ndarray::Array2;
use prudentia_core::traits::ExecutionPolicy;
use prudentia_core::{
    AssetId, AssetInfo, Indicator, MarketSnapshot, Order, OrderType, Quote, Side, Timestamp, Venue,
};
use prudentia_execution::ope::{LoggedData, OffPolicyEvaluator, OpeConfig};
use prudentia_execution::router::{ExecutionRouter, RouterConfig, RoutingPolicy};
use prudentia_execution::{ActionSpace, MarketState, N_FEATURES};
use prudentia_learn::bandit::{LinUcb, LinUcbConfig, LinearBandit, LinearThompson, LinearThompsonConfig};

fn trained(mut policy: Box<dyn RoutingPolicy>) -> ExecutionRouter {
    let space = ActionSpace::new(
        vec![
            OrderType::Limit,
            OrderType::Market,
            OrderType::Pov { rate: 0.1 },
            OrderType::Pegged,
        ],
        vec![Venue("LIT".into()), Venue("INV".into())],
    )
    .expect("valid space");
    // 2,000 updates so the state is not at its prior
    for t in 0..2_000u64 {
        let x: Vec<f64> = (0..N_FEATURES)
            .map(|j| ((t as f64 + 1.0) * (j as f64 + 1.0) * 0.37).sin())
            .collect();
        let a = (t % 8) as usize;
        policy.learn(&x, a, x[1] - 0.1 * a as f64).expect("valid update");
    }
    ExecutionRouter::new(RouterConfig::default(), space, policy).expect("valid router")
}

fn routing(c: &mut Criterion) {
    let state = MarketState {
        spread_bps: 6.0,
        depth_shares: 2_500.0,
        queue_ahead_shares: 1_200.0,
        volatility: 0.018,
        participation: 0.004,
        order_shares: 800.0,
        time_of_day: 0.35,
        imbalance: 0.2,
    };
    let linucb = LinUcb::new(LinUcbConfig {
        n_actions: 8,
        dim: N_FEATURES,
        ..Default::default()
    })
    .expect("valid");
    let ts = LinearThompson::new(LinearThompsonConfig {
        n_actions: 8,
        dim: N_FEATURES,
        ..Default::default()
    })
    .expect("valid");
    let mut g = c.benchmark_group("route_decision_8_actions_d12");
    {
        // the bandit's own choice, without the router (features, mask, record)
        let mut p = LinUcb::new(LinUcbConfig {
            n_actions: 8,
            dim: N_FEATURES,
            ..Default::default()
        })
        .expect("valid");
        for t in 0..2_000u64 {
            let x: Vec<f64> = (0..N_FEATURES)
                .map(|j| ((t as f64 + 1.0) * (j as f64 + 1.0) * 0.37).sin())
                .collect();
            let a = (t % 8) as usize;
            LinearBandit::learn(&mut p, &x, a, x[1] - 0.1 * a as f64).expect("valid update");
        }
        let x = state.features().expect("valid state");
        let mut scores = [0.0; 8];
        let mut seed = 0u64;
        g.bench_function("linucb_bandit_only", |b| {
            b.iter(|| {
                seed = seed.wrapping_add(1);
                p.decide(&x, None, true, seed, &mut scores)
                    .expect("valid context")
            })
        });
    }
    for (name, router) in [
        ("linucb", trained(Box::new(linucb))),
        ("thompson", trained(Box::new(ts))),
    ] {
        let mut seed = 0u64;
        g.bench_function(name, |b| {
            b.iter(|| {
                seed = seed.wrapping_add(1);
                router.decide(&state, None, seed).expect("valid state")
            })
        });
    }
    g.finish();
}

/// A decide-sized snapshot (as benches/decide.rs: 500 assets, a quote each, the indicators
/// `<asset>:depth`, `<asset>:volatility` and `volatility:<asset>`) and 50 orders spread over it.
fn snapshot_and_orders() -> (MarketSnapshot, Vec<Order>) {
    let n = 500;
    let time = Timestamp::from_nanos(15 * 3_600_000_000_000);
    let id = |i: usize| format!("A{i:04}");
    let mut s = MarketSnapshot {
        time,
        quotes: vec![],
        indicators: vec![],
        assets: vec![],
    };
    for i in 0..n {
        let mut a = AssetInfo::new(id(i).as_str(), 50.0 + i as f64).expect("valid asset");
        a.adv_shares = Some(2e5 + 1e4 * i as f64);
        s.assets.push(a);
        s.quotes.push(Quote {
            asset: AssetId::new(id(i)),
            time,
            price: 50.0 + i as f64,
            volume: Some(1e5),
            spread_bps: Some(2.0 + (i % 18) as f64),
        });
        let vol = 0.01 + 0.02 * (i % 7) as f64 / 7.0;
        for (name, value) in [
            (format!("{}:depth", id(i)), 500.0 + 9.0 * i as f64),
            (format!("{}:volatility", id(i)), vol),
            (format!("volatility:{}", id(i)), vol),
        ] {
            s.indicators.push(Indicator { name, time, value });
        }
    }
    let orders = (0..50)
        .map(|k| {
            Order::new(
                AssetId::new(id(k * 10 + 3)),
                Side::Buy,
                1_000.0,
                OrderType::Market,
            )
            .expect("valid order")
        })
        .collect();
    (s, orders)
}

fn route_orders(c: &mut Criterion) {
    let linucb = LinUcb::new(LinUcbConfig {
        n_actions: 8,
        dim: N_FEATURES,
        ..Default::default()
    })
    .expect("valid");
    let router = trained(Box::new(linucb));
    let (snapshot, orders) = snapshot_and_orders();
    let seeds: Vec<u64> = (0..orders.len() as u64).collect();
    let mut g = c.benchmark_group("route_50_orders_500_assets");
    g.bench_function("per_order", |b| {
        b.iter(|| {
            orders
                .iter()
                .zip(&seeds)
                .map(|(o, &seed)| router.route(o, &snapshot, seed).expect("routable").quantity)
                .sum::<f64>()
        })
    });
    g.bench_function("route_all", |b| {
        b.iter(|| {
            router
                .route_all(&orders, &snapshot, &seeds)
                .expect("one seed per order")
                .into_iter()
                .map(|r| r.expect("routable").quantity)
                .sum::<f64>()
        })
    });
    g.finish();
}

fn ope(c: &mut Criterion) {
    let n = 1_000_000;
    let k = 8;
    // a deterministic log: cyclic actions, varying propensities and rewards
    let x = Array2::from_shape_fn((n, 2), |(i, j)| ((i * 7 + j * 13) % 101) as f64 / 101.0);
    let actions: Vec<usize> = (0..n).map(|i| (i * 5) % k).collect();
    let props: Vec<f64> = (0..n).map(|i| 0.05 + 0.1 * ((i % 7) as f64 / 7.0)).collect();
    let rewards: Vec<f64> = (0..n).map(|i| ((i * 31) % 17) as f64 - 8.0).collect();
    let target = Array2::from_shape_fn((n, k), |(i, a)| if a == i % k { 0.3 } else { 0.1 });
    let q = Array2::from_shape_fn((n, k), |(i, a)| ((i + a) % 5) as f64 - 2.0);
    let log = LoggedData::new(x.view(), &actions, &rewards, &props);
    let eval = OffPolicyEvaluator::new(OpeConfig {
        bootstrap_samples: 0,
        ..OpeConfig::default()
    })
    .expect("valid config");
    let mut g = c.benchmark_group("ope");
    g.sample_size(10);
    g.bench_function("ips_snips_dm_dr_normal_ci_1M_rounds_8_actions", |b| {
        b.iter(|| {
            eval.evaluate_with_rewards(&log, target.view(), q.view())
                .expect("valid log")
        })
    });
    g.finish();
}

criterion_group!(benches, routing, route_orders, ope);
criterion_main!(benches);
