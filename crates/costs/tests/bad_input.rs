//! Bad input: typed errors, and nothing learned from a rejected fill.

use prudentia_core::traits::{CostEstimate, CostModel, OnlineLearner, RoleResult};
use prudentia_core::{
    AssetId, AssetInfo, Indicator, MarketSnapshot, Order, OrderType, Quote, Side, Timestamp, Venue,
};
use prudentia_costs::model::AdaptiveCostModel;
use prudentia_costs::CostsError;
use prudentia_datasets::fills::fills;

use crate::common::{config, event};
use prudentia_costs::model::FillEvent;

type IsError = fn(&CostsError) -> bool;

fn trained() -> AdaptiveCostModel {
    let s = fills(600, 9).unwrap();
    let mut m = AdaptiveCostModel::new(config()).unwrap();
    for r in 0..600 {
        let _ = m.learn_fill(&event(&s, r, s.slippage_bps[r])).unwrap();
    }
    m
}

#[test]
fn bad_fills_are_typed_errors_and_change_nothing() {
    let s = fills(10, 9).unwrap();
    let mut m = trained();
    let before = m.clone();
    let good = event(&s, 1, 3.0);
    let mut cases: Vec<(&str, FillEvent, IsError)> = Vec::new();
    let mut e = good.clone();
    e.fill.quantity = 0.0;
    cases.push(("zero quantity", e, |e| {
        matches!(e, CostsError::BadQuantity { .. })
    }));
    let mut e = good.clone();
    e.fill.quantity = -5.0;
    cases.push(("negative quantity", e, |e| {
        matches!(e, CostsError::BadQuantity { .. })
    }));
    let mut e = good.clone();
    e.context.adv_shares = 0.0;
    cases.push(("zero ADV", e, |e| matches!(e, CostsError::ZeroVolume { .. })));
    let mut e = good.clone();
    e.fill.price = f64::NAN;
    cases.push(("NaN price", e, |e| matches!(e, CostsError::BadPrice { .. })));
    let mut e = good.clone();
    e.fill.arrival_price = f64::INFINITY;
    cases.push(("infinite arrival", e, |e| {
        matches!(e, CostsError::BadPrice { .. })
    }));
    let mut e = good.clone();
    e.order_time = Timestamp::from_nanos(e.fill.time.as_nanos() + 1);
    cases.push(("fill before order", e, |e| {
        matches!(e, CostsError::FillBeforeOrder { .. })
    }));
    let mut e = good.clone();
    e.fill.venue = Some(Venue("DARK9".into()));
    cases.push(("unknown venue", e, |e| matches!(e, CostsError::UnknownVenue(_))));
    for (label, e, is) in cases {
        let err = m.learn_fill(&e).unwrap_err();
        assert!(is(&err), "{label}: {err}");
        assert!(OnlineLearner::learn(&mut m, &e).is_err(), "{label}");
        assert_eq!(m, before, "{label}: a rejected fill changed the model");
    }
    assert!(m.learn_fill(&good).is_ok());
}

#[test]
fn cost_model_stage_sets_an_interval_and_refuses_bad_orders() {
    let m = trained();
    let mut info = AssetInfo::new("A", 100.0).unwrap();
    info.adv_shares = Some(1e6);
    let market = MarketSnapshot {
        time: Timestamp::from_nanos(18 * 3_600_000_000_000),
        quotes: vec![],
        indicators: vec![],
        assets: vec![info.clone()],
    };
    let mut order = Order::new(AssetId::new("A"), Side::Buy, 20_000.0, OrderType::Market).unwrap();
    order.venue = Some(Venue("V1".into()));
    let est = m.estimate(&order, &market).unwrap();
    let (lo, hi) = (est.lower_bps.unwrap(), est.upper_bps.unwrap());
    assert!(
        lo < est.expected_bps && est.expected_bps < hi && est.std_bps > 0.0,
        "{est:?}"
    );
    // zero ADV, unknown asset, unknown venue
    let mut zero = market.clone();
    zero.assets[0].adv_shares = Some(0.0);
    assert!(m.estimate(&order, &zero).is_err());
    let mut other = order.clone();
    other.asset = AssetId::new("B");
    assert!(m.estimate(&other, &market).is_err());
    let mut dark = order.clone();
    dark.venue = Some(Venue("DARK9".into()));
    assert!(m.estimate(&dark, &market).is_err());
    let ctx = m.context_from(&order, &market).unwrap();
    for q in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            m.estimate_order(q, &OrderType::Market, None, &ctx),
            Err(CostsError::BadQuantity { .. })
        ));
    }
}

/// Bit-level equality of two estimate results (errors by their debug text, which holds the
/// typed source and its values).
fn same_estimate(a: &RoleResult<CostEstimate>, b: &RoleResult<CostEstimate>) -> bool {
    let bits = |e: &CostEstimate| {
        (
            e.expected_bps.to_bits(),
            e.std_bps.to_bits(),
            e.lower_bps.map(f64::to_bits),
            e.upper_bps.map(f64::to_bits),
        )
    };
    match (a, b) {
        (Ok(x), Ok(y)) => bits(x) == bits(y),
        (Err(x), Err(y)) => format!("{x:?}") == format!("{y:?}"),
        _ => false,
    }
}

#[test]
fn estimate_all_is_estimate_per_order_bit_for_bit() {
    let m = trained();
    let time = Timestamp::from_nanos(15 * 3_600_000_000_000);
    let info = |id: &str, adv: Option<f64>| {
        let mut a = AssetInfo::new(id, 100.0).unwrap();
        a.adv_shares = adv;
        a
    };
    let quote = |id: &str, spread: Option<f64>| Quote {
        asset: AssetId::new(id),
        time,
        price: 100.0,
        volume: Some(1e5),
        spread_bps: spread,
    };
    let ind = |name: &str, value: f64| Indicator {
        name: name.into(),
        time,
        value,
    };
    let base = MarketSnapshot {
        time,
        // A twice (the first wins), C without volume, E with zero ADV, an id with a ':'
        assets: vec![
            info("A", Some(1e6)),
            info("B", Some(3e5)),
            info("A", Some(2e4)),
            info("C", None),
            info("E", Some(0.0)),
            info("X:Y", Some(5e5)),
            info("", Some(7e5)),
        ],
        // A twice, B without a spread, none for X:Y
        quotes: vec![
            quote("A", Some(4.0)),
            quote("B", None),
            quote("A", Some(40.0)),
            quote("", Some(2.5)),
        ],
        indicators: vec![
            ind("A:volatility", 0.02),
            ind("A:volatility", 0.09),
            ind("A:queue", 300.0),
            ind("A:depth", 1_000.0),
            ind("A:depth", 10.0),
            ind("volatility:B", 0.5),
            ind("B:volatility", f64::NAN),
            ind("B:queue", 50.0),
            ind("X:Y:depth", 800.0),
            ind("X:Y:queue", 900.0),
            ind("X:Y:volatility", 0.03),
            ind("Y:volatility", 0.7),
            ind(":depth", 400.0),
            ind(":queue", 100.0),
            ind("A:depth:x", 1.0),
            ind("A:Volatility", 1.0),
            ind("A::volatility", 1.0),
        ],
    };
    let order = |id: &str, venue: &str| {
        let mut o = Order::new(AssetId::new(id), Side::Buy, 5_000.0, OrderType::Market).unwrap();
        o.venue = Some(Venue(venue.into()));
        o
    };
    let mut orders: Vec<Order> = ["A", "B", "A", "C", "D", "E", "X:Y", "X", "Y", ""]
        .iter()
        .map(|id| order(id, "V1"))
        .collect();
    orders.push(order("A", "DARK9"));
    let mut limit = order("B", "V2");
    limit.order_type = OrderType::Limit;
    orders.push(limit);
    let mut big = order("A", "V0");
    big.quantity = 4e9;
    orders.push(big);
    let (mut oks, mut errs) = (0, 0);
    // rotations move which duplicate comes first
    for r in 0..base.indicators.len() {
        let mut market = base.clone();
        market.indicators.rotate_left(r);
        market.assets.rotate_left(r % base.assets.len());
        market.quotes.rotate_left(r % base.quotes.len());
        let all = m.estimate_all(&orders, &market);
        assert_eq!(all.len(), orders.len());
        for (k, (o, got)) in orders.iter().zip(&all).enumerate() {
            let one = m.estimate(o, &market);
            assert!(
                same_estimate(got, &one),
                "rotation {r}, order {k} ({}): batch {got:?} vs one {one:?}",
                o.asset
            );
            if one.is_ok() {
                oks += 1;
            } else {
                errs += 1;
            }
        }
    }
    assert!(oks > 0 && errs > 0, "{oks} ok, {errs} errors");
    assert!(m.estimate_all(&[], &base).is_empty());
}
