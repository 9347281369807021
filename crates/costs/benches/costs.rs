#![allow(missing_docs)]
//! Benches: per-order estimate, per-fill online update, Almgren–Chriss trajectory N = 1,000,
//! and 50 orders' estimates in a 500-asset snapshot (1,500 indicators): one `estimate` per
//! order against one `estimate_all`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use prudentia_core::traits::CostModel;
use prudentia_core::{
    AssetId, AssetInfo, Fill, Indicator, MarketSnapshot, Order, OrderType, Quote, Side, Timestamp, Venue,
};
use prudentia_costs::ac::{fill_trajectory, AcParams};
use prudentia_costs::model::{AdaptiveCostModel, CostModelConfig, FillEvent, OrderContext};
use prudentia_datasets::fills::fills;

fn events() -> Vec<FillEvent> {
    let s = fills(4096, 3).unwrap();
    (0..s.len())
        .map(|r| {
            let adv = 1e6;
            FillEvent {
                fill: Fill {
                    asset: AssetId::new("A"),
                    time: Timestamp::from_nanos(r as i64 + 1),
                    side: Side::Buy,
                    quantity: s.participation[r] * adv,
                    price: 100.0 * (1.0 + s.slippage_bps[r] * 1e-4),
                    arrival_price: 100.0,
                    order_type: s.core_order_type(r).unwrap(),
                    venue: Some(Venue(format!("V{}", s.venue[r]))),
                },
                order_time: Timestamp::from_nanos(r as i64),
                context: OrderContext {
                    spread_bps: s.spread_bps[r],
                    volatility: s.volatility[r],
                    adv_shares: adv,
                    queue_position: 0.0,
                    time_of_day: s.time_of_day[r],
                },
            }
        })
        .collect()
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
            let mut o = Order::new(
                AssetId::new(id(k * 10 + 3)),
                Side::Buy,
                1_000.0,
                OrderType::Market,
            )
            .expect("valid order");
            o.venue = Some(Venue(format!("V{}", k % 3)));
            o
        })
        .collect();
    (s, orders)
}

fn bench(c: &mut Criterion) {
    let ev = events();
    let mut model = AdaptiveCostModel::new(CostModelConfig::new(["V0", "V1", "V2"])).unwrap();
    for e in &ev[..2048] {
        model.learn_fill(e).unwrap();
    }
    let mut g = c.benchmark_group("costs");
    let ctx = ev[0].context;
    g.bench_function("estimate_order", |b| {
        b.iter(|| {
            model
                .estimate_order(black_box(5000.0), &OrderType::Market, Some("V1"), &ctx)
                .unwrap()
        })
    });
    // The per-fill update without the periodic refits (RLS, errors, window; the boosted
    // trees' and the calibration's batch refits are amortised: see fill_update_amortised).
    // The intervals are the largest allowed so that no refit happens within criterion's
    // iterations (at 1,000,000 a fast update crossed it and measured tree predictions).
    let mut cfg = CostModelConfig::new(["V0", "V1", "V2"]);
    cfg.recalibrate_every = prudentia_core::validate::MAX_WINDOW;
    cfg.tree_refit_every = prudentia_core::validate::MAX_WINDOW;
    cfg.tree_window = 4096;
    let mut m2 = AdaptiveCostModel::new(cfg).unwrap();
    let mut k = 0usize;
    g.bench_function("fill_update", |b| {
        b.iter(|| {
            k = (k + 1) & 4095;
            m2.learn_fill(black_box(&ev[k])).unwrap()
        })
    });
    let mut k2 = 0usize;
    g.sample_size(20);
    g.bench_function("fill_update_amortised", |b| {
        b.iter(|| {
            k2 = (k2 + 1) & 4095;
            model.learn_fill(black_box(&ev[k2])).unwrap()
        })
    });
    let p = AcParams {
        periods: 1000,
        ..AcParams::paper_example()
    };
    let mut out = vec![0.0; 1001];
    g.bench_function("ac_trajectory_n1000", |b| {
        b.iter(|| fill_trajectory(black_box(&p), 2e-6, &mut out).unwrap())
    });
    let (snapshot, orders) = snapshot_and_orders();
    g.bench_function("estimate_50_orders_500_assets_per_order", |b| {
        b.iter(|| {
            orders
                .iter()
                .map(|o| model.estimate(o, black_box(&snapshot)).unwrap().expected_bps)
                .sum::<f64>()
        })
    });
    g.bench_function("estimate_50_orders_500_assets_estimate_all", |b| {
        b.iter(|| {
            model
                .estimate_all(&orders, black_box(&snapshot))
                .into_iter()
                .map(|e| e.unwrap().expected_bps)
                .sum::<f64>()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
