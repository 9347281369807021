//! The router: masks, seeded decisions with propensities, order routing from a snapshot,
//! learning from fills, bad input.

use prudentia_core::traits::{ExecutionPolicy, OnlineLearner};
use prudentia_core::{
    AssetId, AssetInfo, Indicator, MarketSnapshot, Order, OrderType, Quote, Side, Timestamp, Venue,
};
use prudentia_execution::router::{ExecutionRouter, FixedAction, RouterConfig, RoutingPolicy, UniformRandom};
use prudentia_execution::{ActionMask, ExecutionError, MaskRules, N_FEATURES};

use crate::common::*;

fn uniform_router() -> ExecutionRouter {
    let sim = simulator();
    let sp = space(&sim);
    let policy = UniformRandom {
        n_actions: sp.len(),
        context_dim: N_FEATURES,
    };
    ExecutionRouter::new(RouterConfig::default(), sp, Box::new(policy)).unwrap()
}

fn snapshot() -> MarketSnapshot {
    let t = Timestamp::from_nanos(0);
    let mut asset = AssetInfo::new("XYZ", 100.0).unwrap();
    asset.adv_shares = Some(1e6);
    let ind = |name: &str, value| Indicator {
        name: name.into(),
        time: t,
        value,
    };
    MarketSnapshot {
        time: t,
        quotes: vec![Quote {
            asset: AssetId::new("XYZ"),
            time: t,
            price: 100.0,
            volume: None,
            spread_bps: Some(10.0),
        }],
        indicators: vec![
            ind("XYZ:depth", 3_000.0),
            ind("XYZ:volatility", 0.02),
            ind("XYZ:queue", 1_000.0),
            ind("time_of_day", 0.25),
        ],
        assets: vec![asset],
    }
}

#[test]
fn routes_orders_with_type_venue_limit_price_and_log() {
    let router = uniform_router();
    let order = Order::new(AssetId::new("XYZ"), Side::Buy, 500.0, OrderType::Market).unwrap();
    let snap = snapshot();
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..64 {
        let routed = router.route(&order, &snap, seed).unwrap();
        let log = routed.routing.clone().unwrap();
        assert_eq!(log.seed, seed);
        assert_eq!(log.propensity, 1.0 / 8.0);
        let action = router.space().action(log.action).unwrap();
        assert_eq!(routed.order_type, action.order_type);
        assert_eq!(routed.venue, Some(action.venue));
        match routed.order_type {
            // join the bid: 100 × (1 − 10 / 2e4) = 99.95
            OrderType::Limit => assert!((routed.limit_price.unwrap() - 99.95).abs() < 1e-9),
            OrderType::Pegged => assert!((routed.limit_price.unwrap() - 100.0).abs() < 1e-9),
            _ => assert_eq!(routed.limit_price, None),
        }
        // the same seed routes the same way
        assert_eq!(router.route(&order, &snap, seed).unwrap(), routed);
        seen.insert(log.action);
    }
    assert_eq!(
        seen.len(),
        8,
        "uniform routing should reach every action in 64 draws"
    );
}

#[test]
fn masks_keep_venues_down_and_disallowed_types_out() {
    let mut router = uniform_router();
    router
        .set_rules(MaskRules {
            venues_down: vec![Venue("INV".into())],
            disallowed_order_types: vec![OrderType::Market],
        })
        .unwrap();
    let st = state(&simulator().sample_state(1));
    for seed in 0..50 {
        let d = router.decide(&st, None, seed).unwrap();
        let a = router.space().action(d.action).unwrap();
        assert_eq!(a.venue, Venue("LIT".into()));
        assert_ne!(a.order_type, OrderType::Market);
        assert_eq!(d.propensity, 1.0 / 3.0);
    }
    // an extra per-call mask intersects the rules
    let only_limit_lit = ActionMask::new((0..8).map(|a| a == 0).collect()).unwrap();
    assert_eq!(router.decide(&st, Some(&only_limit_lit), 3).unwrap().action, 0);
    let only_market = ActionMask::new((0..8).map(|a| a == 2).collect()).unwrap();
    assert!(matches!(
        router.decide(&st, Some(&only_market), 3),
        Err(ExecutionError::EmptyMask { .. })
    ));
    // every venue down: an empty mask, and the router keeps its rules
    let all_down = MaskRules {
        venues_down: vec![Venue("INV".into()), Venue("LIT".into())],
        ..MaskRules::default()
    };
    assert!(matches!(
        router.set_rules(all_down),
        Err(ExecutionError::EmptyMask { n_actions: 8 })
    ));
    assert!(router.decide(&st, None, 0).is_ok());
    assert!(matches!(
        ActionMask::new(vec![false; 8]),
        Err(ExecutionError::EmptyMask { .. })
    ));
}

#[test]
fn learns_from_fills_and_refuses_bad_ones() {
    let sim = simulator();
    let sp = space(&sim);
    let mut router = ExecutionRouter::new(
        RouterConfig::default(),
        sp.clone(),
        Box::new(FixedAction {
            action: 1,
            n_actions: 8,
            context_dim: N_FEATURES,
        }),
    )
    .unwrap();
    let s = sim.sample_state(5);
    let d = router.decide(&state(&s), None, 11).unwrap();
    let (event, slip) = fill_for(&sim, &sp, &s, &d, 11);
    let reward = router.learn_fill(&event).unwrap();
    assert!(
        (reward + slip).abs() < 1e-9,
        "reward {reward} is minus the slippage {slip}"
    );
    router.learn(&event).unwrap();

    // a reward for an action never taken: the fill used another venue or order type
    // (action 1 is a limit order at INV)
    assert_eq!(event.fill.venue, Some(Venue("INV".into())));
    let mut other_venue = event.clone();
    other_venue.fill.venue = Some(Venue("LIT".into()));
    assert!(matches!(
        router.learn_fill(&other_venue),
        Err(ExecutionError::ActionNeverTaken { .. })
    ));
    let mut other_type = event.clone();
    other_type.fill.order_type = OrderType::Pegged;
    assert!(matches!(
        router.learn_fill(&other_type),
        Err(ExecutionError::ActionNeverTaken { .. })
    ));
    let mut unrouted = event.clone();
    unrouted.fill.venue = None;
    assert!(router.learn_fill(&unrouted).is_err());
    // an action outside the space
    let mut out = event.clone();
    out.routing.action = 8;
    assert!(matches!(
        router.learn_fill(&out),
        Err(ExecutionError::ActionOutOfRange { action: 8, .. })
    ));
    // NaN in the context, a context of the wrong length, a propensity of 0, a NaN price
    let mut nan = event.clone();
    nan.routing.context[3] = f64::NAN;
    assert!(router.learn_fill(&nan).is_err());
    let mut short = event.clone();
    short.routing.context.pop();
    assert!(matches!(
        router.learn_fill(&short),
        Err(ExecutionError::ContextLength {
            expected: 12,
            found: 11
        })
    ));
    let mut zero = event.clone();
    zero.routing.propensity = 0.0;
    assert!(matches!(
        router.learn_fill(&zero),
        Err(ExecutionError::BadPropensity { .. })
    ));
    let mut bad_price = event.clone();
    bad_price.fill.price = f64::NAN;
    assert!(router.learn_fill(&bad_price).is_err());
    // the role-trait door reports the same refusal
    assert!(OnlineLearner::learn(&mut router, &other_venue).is_err());
}

#[test]
fn bad_market_data_and_policies_are_typed_errors() {
    let router = uniform_router();
    let order = Order::new(AssetId::new("XYZ"), Side::Buy, 500.0, OrderType::Market).unwrap();
    let mut snap = snapshot();
    snap.indicators.retain(|i| i.name != "XYZ:depth");
    assert!(matches!(
        router.route_order(&order, &snap, 0),
        Err(ExecutionError::MissingMarketData { .. })
    ));
    let mut snap = snapshot();
    snap.quotes[0].spread_bps = Some(f64::NAN);
    assert!(router.route_order(&order, &snap, 0).is_err());
    let other = Order::new(AssetId::new("ABC"), Side::Buy, 500.0, OrderType::Market).unwrap();
    assert!(router.route_order(&other, &snapshot(), 0).is_err());
    // NaN and out-of-range market states
    let mut st = state(&simulator().sample_state(2));
    st.volatility = f64::NAN;
    assert!(router.decide(&st, None, 0).is_err());
    st.volatility = 0.02;
    st.imbalance = 2.0;
    assert!(router.decide(&st, None, 0).is_err());
    // policies of the wrong shape
    let sp = space(&simulator());
    let wrong_actions = UniformRandom {
        n_actions: 7,
        context_dim: N_FEATURES,
    };
    assert!(ExecutionRouter::new(RouterConfig::default(), sp.clone(), Box::new(wrong_actions)).is_err());
    let wrong_dim = UniformRandom {
        n_actions: 8,
        context_dim: 5,
    };
    assert!(matches!(
        ExecutionRouter::new(RouterConfig::default(), sp, Box::new(wrong_dim)),
        Err(ExecutionError::ContextLength {
            expected: 12,
            found: 5
        })
    ));
    // a policy asked with a context of the wrong length or NaN
    let p = UniformRandom {
        n_actions: 2,
        context_dim: 3,
    };
    let m = ActionMask::all(2).unwrap();
    assert!(matches!(
        p.choose(&[1.0; 4], &m, true, 0),
        Err(ExecutionError::ContextLength { .. })
    ));
    assert!(p.choose(&[1.0, f64::NAN, 0.0], &m, true, 0).is_err());
    let bad_tick = RouterConfig {
        tick: 0.0,
        ..RouterConfig::default()
    };
    let sp = space(&simulator());
    let p = UniformRandom {
        n_actions: 8,
        context_dim: N_FEATURES,
    };
    assert!(ExecutionRouter::new(bad_tick, sp, Box::new(p)).is_err());
}

/// The pipeline sends an order it could not route as it made it (no routing log). Through
/// the pipeline's learn door such a fill is skipped and teaches the bandit nothing; called
/// directly, `learn_executed` refuses it. A routed order's costly fill, by contrast, moves
/// the next choice away from its action (so the comparison can fail).
#[test]
fn an_unrouted_order_is_skipped_by_the_learn_flow_and_refused_directly() {
    use prudentia_core::{ExecutedOrder, Fill};
    use prudentia_learn::bandit::{LinUcb, LinUcbConfig};
    let linucb = || {
        let sp = space(&simulator());
        let p = LinUcb::new(LinUcbConfig {
            n_actions: sp.len(),
            dim: N_FEATURES,
            ..Default::default()
        })
        .unwrap();
        ExecutionRouter::new(RouterConfig::default(), sp, Box::new(p)).unwrap()
    };
    let snap = snapshot();
    let order = Order::new(AssetId::new("XYZ"), Side::Buy, 500.0, OrderType::Market).unwrap();
    let fill_of = |o: &Order| Fill {
        asset: AssetId::new("XYZ"),
        time: snap.time,
        side: Side::Buy,
        quantity: 500.0,
        price: 100.5, // 50 bps of slippage
        arrival_price: 100.0,
        order_type: o.order_type,
        venue: o.venue.clone(),
    };
    let choice = |r: &ExecutionRouter| r.route(&order, &snap, 7).unwrap().routing.unwrap().action;

    // a routed order's costly fill changes the next choice
    let mut learner = linucb();
    let before = choice(&learner);
    let routed = learner.route(&order, &snap, 7).unwrap();
    let fill = fill_of(&routed);
    let event = ExecutedOrder {
        order: &routed,
        fill: &fill,
        market: &snap,
    };
    OnlineLearner::learn(&mut learner, &event).unwrap();
    assert_ne!(
        choice(&learner),
        before,
        "learning a 50 bp fill moves LinUCB off the action"
    );

    // an unrouted order: skipped by the learn door, refused directly, nothing learned
    let mut router = linucb();
    let unrouted = order.clone();
    assert!(unrouted.routing.is_none());
    let fill = fill_of(&unrouted);
    let event = ExecutedOrder {
        order: &unrouted,
        fill: &fill,
        market: &snap,
    };
    OnlineLearner::learn(&mut router, &event).unwrap();
    assert!(matches!(
        router.learn_executed(&event),
        Err(ExecutionError::ActionNeverTaken { .. })
    ));
    assert_eq!(choice(&router), before);
}

#[test]
fn route_all_is_route_per_order_bit_for_bit() {
    let router = uniform_router();
    let t = Timestamp::from_nanos(0);
    let info = |id: &str, adv: Option<f64>| {
        let mut a = AssetInfo::new(id, 100.0).unwrap();
        a.adv_shares = adv;
        a
    };
    let quote = |id: &str, spread: Option<f64>, volume: Option<f64>| Quote {
        asset: AssetId::new(id),
        time: t,
        price: 100.0,
        volume,
        spread_bps: spread,
    };
    let ind = |name: &str, value: f64| Indicator {
        name: name.into(),
        time: t,
        value,
    };
    let base = MarketSnapshot {
        time: t,
        // A twice (the first wins); B without ADV (the quote's volume serves); C without a
        // spread; D without a quote; X:Y with a ':' in its id
        quotes: vec![
            quote("A", Some(10.0), None),
            quote("B", Some(4.0), Some(2e5)),
            quote("A", Some(80.0), None),
            quote("C", None, Some(1e5)),
            quote("X:Y", Some(6.0), None),
            quote("E", Some(5.0), None),
            quote("", Some(3.0), None),
        ],
        indicators: vec![
            ind("A:depth", 3_000.0),
            ind("A:depth", 30.0),
            ind("A:volatility", 0.02),
            ind("A:volatility", 0.04),
            ind("A:queue", 1_000.0),
            ind("A:imbalance", 0.3),
            ind("A:imbalance", -0.9),
            ind("time_of_day", 0.25),
            ind("time_of_day", 0.75),
            ind("B:depth", 500.0),
            ind("volatility:B", 0.01),
            ind("B:volatility", 0.03),
            ind("C:depth", 100.0),
            ind("C:volatility", 0.01),
            ind("X:Y:depth", 800.0),
            ind("X:Y:volatility", 0.015),
            ind("Y:queue", 10.0),
            ind("E:depth", 900.0),
            ind("E:volatility", 50.0),
            ind(":depth", 700.0),
            ind(":volatility", 0.02),
            ind("A:depth:x", 1.0),
            ind("A:Depth", 1.0),
        ],
        assets: vec![
            info("A", Some(1e6)),
            info("A", Some(10.0)),
            info("B", None),
            info("C", Some(1e6)),
            info("D", Some(1e6)),
            info("X:Y", Some(3e5)),
            info("E", Some(1e6)),
            info("", Some(1e6)),
        ],
    };
    let order = |id: &str, ty: OrderType| Order::new(AssetId::new(id), Side::Buy, 500.0, ty).unwrap();
    let mut orders: Vec<Order> = ["A", "B", "A", "C", "D", "E", "X:Y", "X", "Y", "", "Z"]
        .iter()
        .map(|id| order(id, OrderType::Market))
        .collect();
    orders.push(order("A", OrderType::Limit));
    let mut sell = order("B", OrderType::Pegged);
    sell.side = Side::Sell;
    orders.push(sell);
    let mut bad = order("A", OrderType::Market);
    bad.quantity = -1.0;
    orders.push(bad);
    let seeds: Vec<u64> = (0..orders.len() as u64).map(|k| k * 7 + 3).collect();
    let (mut oks, mut errs) = (0, 0);
    // rotations move which duplicate comes first
    for r in 0..base.indicators.len() {
        let mut snap = base.clone();
        snap.indicators.rotate_left(r);
        snap.assets.rotate_left(r % base.assets.len());
        snap.quotes.rotate_left(r % base.quotes.len());
        let all = router.route_all(&orders, &snap, &seeds).unwrap();
        let with_records = router.route_orders(&orders, &snap, &seeds).unwrap();
        assert_eq!((all.len(), with_records.len()), (orders.len(), orders.len()));
        for (k, o) in orders.iter().enumerate() {
            // debug text: exact for every f64 (and -0.0), and holds an error's typed source
            let one = format!("{:?}", router.route(o, &snap, seeds[k]));
            assert_eq!(
                format!("{:?}", all[k]),
                one,
                "rotation {r}, order {k} ({})",
                o.asset
            );
            let one = format!("{:?}", router.route_order(o, &snap, seeds[k]));
            assert_eq!(format!("{:?}", with_records[k]), one, "rotation {r}, order {k}");
            if all[k].is_ok() {
                oks += 1;
            } else {
                errs += 1;
            }
        }
    }
    assert!(oks > 0 && errs > 0, "{oks} ok, {errs} errors");
    // one seed per order
    assert!(router.route_all(&orders, &base, &seeds[1..]).is_err());
    assert!(matches!(
        router.route_orders(&orders, &base, &[]),
        Err(ExecutionError::Core(
            prudentia_core::CoreError::ShapeMismatch { .. }
        ))
    ));
    assert!(router.route_all(&[], &base, &[]).unwrap().is_empty());
}
