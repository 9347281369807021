//! Bad input: typed errors, and nothing learned from a rejected fill.

use prudentia_core::traits::{CostModel, OnlineLearner};
use prudentia_core::{AssetId, AssetInfo, MarketSnapshot, Order, OrderType, Side, Timestamp, Venue};
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
