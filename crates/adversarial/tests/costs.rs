//! prudentia-costs under bad input: Almgren–Chriss, impact calibration, the adaptive cost
//! model's estimate, learn, attribution, pipeline stage and checkpoints.

use proptest::prelude::*;
use prudentia_adversarial::{result, strategies::*, Check, Suite};
use prudentia_core::traits::{CostModel, OnlineLearner};
use prudentia_core::{AssetId, AssetInfo, Fill, MarketSnapshot, Order, OrderType, Side, Timestamp, Venue};
use prudentia_costs::ac::{closed_form_cost, cost_moments, efficient_frontier, optimal_trajectory, AcParams};
use prudentia_costs::impact::{calibrate, CalibrationConfig, ImpactObservation, ImpactParams};
use prudentia_costs::model::{AdaptiveCostModel, CostModelConfig, FillEvent, OrderContext};

const BAD: [f64; 10] = [
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    1e300,
    -1e300,
    5e-324,
    f64::MAX,
    f64::MIN,
    0.0,
    -1.0,
];

fn ctx() -> OrderContext {
    OrderContext {
        spread_bps: 8.0,
        volatility: 0.02,
        adv_shares: 1e6,
        queue_position: 0.3,
        time_of_day: 0.4,
    }
}

fn event(i: usize) -> FillEvent {
    let q = 1000.0 + (i % 17) as f64 * 3000.0;
    let slip = 4.0 + 0.5 * 200.0 * (q / 1e6f64).sqrt() + ((i * 7) % 5) as f64 - 2.0;
    FillEvent {
        fill: Fill {
            asset: AssetId::new("A"),
            time: Timestamp::from_nanos(10 * i as i64 + 5),
            side: if i % 2 == 0 { Side::Buy } else { Side::Sell },
            quantity: q,
            price: 100.0 * (1.0 + if i % 2 == 0 { 1.0 } else { -1.0 } * slip * 1e-4),
            arrival_price: 100.0,
            order_type: [OrderType::Limit, OrderType::Market, OrderType::Pegged][i % 3],
            venue: Some(Venue(["X", "Y"][i % 2].into())),
        },
        order_time: Timestamp::from_nanos(10 * i as i64),
        context: OrderContext {
            time_of_day: (i % 10) as f64 / 10.0,
            ..ctx()
        },
    }
}

fn small_config() -> CostModelConfig {
    let mut c = CostModelConfig::new(["X", "Y"]);
    c.recalibrate_every = 20;
    c.calibration_window = 40;
    c.tree_refit_every = 20;
    c.tree_window = 40;
    c.boost.n_rounds = 10;
    c
}

fn trained() -> AdaptiveCostModel {
    let mut m = AdaptiveCostModel::new(small_config()).expect("config");
    for i in 0..45 {
        let _ = m.learn_fill(&event(i)).expect("learn");
    }
    m
}

fn market() -> MarketSnapshot {
    let mut info = AssetInfo::new("A", 100.0).expect("asset");
    info.adv_shares = Some(1e6);
    MarketSnapshot {
        time: Timestamp::from_nanos(60_000_000_000_000),
        quotes: vec![],
        indicators: vec![],
        assets: vec![info],
    }
}

#[test]
fn costs_ac_and_calibration() {
    let mut s = Suite::new("costs ac + impact");
    // Almgren–Chriss: a bad value in each parameter, and bad λ.
    for (bi, bad) in BAD.iter().copied().enumerate() {
        for field in 0..7 {
            s.check(format!("AcParams field {field} = bad[{bi}] {bad:e}"), move || {
                let mut p = AcParams::paper_example();
                match field {
                    0 => p.shares = bad,
                    1 => p.horizon = bad,
                    2 => p.sigma = bad,
                    3 => p.epsilon = bad,
                    4 => p.eta = bad,
                    5 => p.gamma = bad,
                    _ => {
                        return result(optimal_trajectory(&p, bad))
                            .and(|| result(closed_form_cost(&AcParams::paper_example(), bad)))
                    }
                }
                result(optimal_trajectory(&p, 1e-6))
                    .and(|| result(closed_form_cost(&p, 1e-6)))
                    .and(|| result(efficient_frontier(&p, &[0.0, 1e-6])))
            });
        }
    }
    for n in [0usize, 1, 1 << 20, 1 << 40, usize::MAX] {
        s.check(format!("AcParams periods = {n}"), move || {
            let p = AcParams {
                periods: n,
                ..AcParams::paper_example()
            };
            result(optimal_trajectory(&p, 1e-6))
        });
    }
    s.sweep(
        "AC sweep",
        (any_f64(), any_f64(), any_f64(), any_f64(), any_f64(), 1usize..50),
        |(shares, sigma, eta, gamma, lambda, periods)| {
            let p = AcParams {
                shares,
                sigma,
                eta,
                gamma,
                periods,
                ..AcParams::paper_example()
            };
            result(optimal_trajectory(&p, lambda))
        },
    );
    s.sweep("cost_moments", vec_f64(0..8), |h| {
        result(cost_moments(&AcParams::paper_example(), &h))
    });
    // Impact model and calibration.
    s.sweep(
        "ImpactParams::cost_bps",
        (any_f64(), any_f64(), any_f64()),
        |(a, b, c)| result(ImpactParams::default().cost_bps(a, b, c)),
    );
    for (bi, bad) in BAD.iter().copied().enumerate() {
        for field in 0..4 {
            s.check(format!("calibrate obs field {field} = bad[{bi}]"), move || {
                let mut obs: Vec<ImpactObservation> = (1..60)
                    .map(|i| ImpactObservation {
                        spread_bps: 10.0,
                        volatility: 0.02,
                        participation: i as f64 / 500.0,
                        cost_bps: 5.0 + 100.0 * (i as f64 / 500.0).sqrt() + (i % 3) as f64,
                    })
                    .collect();
                match field {
                    0 => obs[7].spread_bps = bad,
                    1 => obs[7].volatility = bad,
                    2 => obs[7].participation = bad,
                    _ => obs[7].cost_bps = bad,
                }
                result(calibrate(&obs, &CalibrationConfig::default()))
            });
        }
    }
    s.check("calibrate empty", || {
        result(calibrate(&[], &CalibrationConfig::default()))
    });
    s.sweep(
        "calibrate sweep",
        proptest::collection::vec((finite_f64(), 0.0..1.0f64, 1e-6..1.0f64, finite_f64()), 0..40),
        |rows| {
            let obs: Vec<ImpactObservation> = rows
                .into_iter()
                .map(|(s, v, q, c)| ImpactObservation {
                    spread_bps: s.abs().min(1e5),
                    volatility: v,
                    participation: q,
                    cost_bps: c,
                })
                .collect();
            let cfg = CalibrationConfig {
                fit_permanent: true,
                ..Default::default()
            };
            result(calibrate(&obs, &cfg))
        },
    );
    s.sweep(
        "CalibrationConfig",
        (any_f64(), any_f64(), any_f64(), any_f64(), any_size()),
        |(c, eta, exponent, gamma, max_iterations)| {
            let cfg = CalibrationConfig {
                initial: ImpactParams {
                    intercept_bps: c,
                    eta,
                    exponent,
                    gamma,
                },
                max_iterations,
                ..Default::default()
            };
            let obs: Vec<ImpactObservation> = (1..30)
                .map(|i| ImpactObservation {
                    spread_bps: 10.0,
                    volatility: 0.02,
                    participation: i as f64 / 100.0,
                    cost_bps: (i % 7) as f64,
                })
                .collect();
            result(calibrate(&obs, &cfg))
        },
    );
    s.checkpoint(
        "AcParams",
        &AcParams::paper_example(),
        |json| match serde_json::from_str::<AcParams>(&json) {
            Err(_) => Check::Rejected,
            Ok(p) => result(optimal_trajectory(&p, 1e-6)),
        },
    );
    s.finish();
}

#[test]
fn costs_model() {
    let mut s = Suite::new("costs model");
    // Config sizes and values.
    for n in [0usize, 1 << 20, 1 << 40, usize::MAX] {
        s.check(format!("config sizes = {n}"), move || {
            let mut c = small_config();
            c.time_buckets = n;
            let a = result(AdaptiveCostModel::new(c));
            let mut c = small_config();
            c.calibration_window = n;
            let b = result(AdaptiveCostModel::new(c));
            let mut c = small_config();
            c.tree_window = n;
            a.and(|| b).and(|| result(AdaptiveCostModel::new(c)))
        });
    }
    s.check("no venues", || {
        result(AdaptiveCostModel::new(CostModelConfig::new(Vec::<String>::new())))
    });
    s.sweep(
        "config floats",
        (any_f64(), any_f64(), any_f64(), any_f64()),
        |(f, h, z, v)| {
            let mut c = small_config();
            c.forgetting = f;
            c.error_halflife = h;
            c.interval_z = z;
            c.default_volatility = v;
            result(AdaptiveCostModel::new(c))
        },
    );
    // Per-order estimates with bad context values.
    for (bi, bad) in BAD.iter().copied().enumerate() {
        for field in 0..6 {
            s.check(format!("estimate_order field {field} = bad[{bi}]"), move || {
                let m = trained();
                let mut c = ctx();
                let mut q = 5000.0;
                match field {
                    0 => c.spread_bps = bad,
                    1 => c.volatility = bad,
                    2 => c.adv_shares = bad,
                    3 => c.queue_position = bad,
                    4 => c.time_of_day = bad,
                    _ => q = bad,
                }
                result(m.estimate_order(q, &OrderType::Market, Some("Y"), &c))
            });
        }
    }
    s.check("estimate unknown venue", || {
        result(trained().estimate_order(1.0, &OrderType::Market, Some("Z"), &ctx()))
    });
    s.sweep(
        "estimate sweep",
        (any_f64(), any_f64(), any_f64(), any_f64(), any_f64()),
        |(q, sp, vol, adv, tod)| {
            let c = OrderContext {
                spread_bps: sp,
                volatility: vol,
                adv_shares: adv,
                queue_position: 0.0,
                time_of_day: tod,
            };
            result(trained().estimate_order(q, &OrderType::Pov { rate: 0.1 }, None, &c))
        },
    );
    // Learning from bad fills: typed error and no change.
    for (bi, bad) in BAD.iter().copied().enumerate() {
        for field in 0..5 {
            s.check(format!("learn_fill field {field} = bad[{bi}]"), move || {
                let mut m = trained();
                let before = m.clone();
                let mut e = event(50);
                match field {
                    0 => e.fill.quantity = bad,
                    1 => e.fill.price = bad,
                    2 => e.fill.arrival_price = bad,
                    3 => e.context.adv_shares = bad,
                    _ => e.context.spread_bps = bad,
                }
                match m.learn_fill(&e) {
                    Err(_) => Check::invariant(m == before, "a rejected fill changed the model")
                        .and(|| Check::Rejected),
                    Ok(a) => Check::ok_finite(&a).and(|| Check::ok_finite(&m)),
                }
            });
        }
    }
    s.check("fill before its order", || {
        let mut m = trained();
        let mut e = event(50);
        e.order_time = Timestamp::from_nanos(i64::MAX);
        result(OnlineLearner::learn(&mut m, &e))
    });
    s.sweep(
        "learn sweep",
        (price(), price(), any_f64(), 0.0..1.0f64, any::<bool>()),
        |(p, a, q, tod, buy)| {
            let mut m = trained();
            let mut e = event(60);
            e.fill.price = p;
            e.fill.arrival_price = a;
            e.fill.quantity = q;
            e.fill.side = if buy { Side::Buy } else { Side::Sell };
            e.context.time_of_day = tod;
            let before = m.clone();
            match m.learn_fill(&e) {
                Err(_) => {
                    Check::invariant(m == before, "a rejected fill changed the model").and(|| Check::Rejected)
                }
                Ok(att) => {
                    let json = serde_json::to_string(&m).unwrap_or_default();
                    Check::ok_finite(&att).and(|| Check::ok_finite(&m)).and(|| {
                        Check::invariant(
                            serde_json::from_str::<AdaptiveCostModel>(&json).is_ok(),
                            "own output does not reload",
                        )
                    })
                }
            }
        },
    );
    s.sweep("attribute sweep", (price(), any_f64()), |(p, q)| {
        let mut e = event(61);
        e.fill.price = p;
        e.fill.quantity = q;
        result(trained().attribute(&e))
    });
    // The pipeline stage.
    s.sweep(
        "CostModel::estimate",
        (any_f64(), any_f64(), any_f64()),
        |(q, adv, price)| {
            let m = trained();
            let mut mk = market();
            mk.assets[0].adv_shares = Some(adv);
            mk.assets[0].price = price;
            let order = Order {
                asset: AssetId::new("A"),
                side: Side::Buy,
                quantity: q,
                order_type: OrderType::Market,
                venue: None,
                limit_price: None,
                expected_cost_bps: None,
                expected_cost_interval_bps: None,
                routing: None,
            };
            result(m.estimate(&order, &mk).map_err(|e| e.to_string()))
        },
    );
    // The pipeline's batch entry point: every order's own result, exactly the per-order
    // estimate's (errors included), over a snapshot with duplicated assets and indicators.
    s.sweep(
        "CostModel::estimate_all",
        ((any_f64(), any_f64(), any_f64()), (any_f64(), any_f64())),
        |((q, adv, vol), (queue, depth))| {
            let m = trained();
            let mut mk = market();
            mk.assets[0].adv_shares = Some(adv);
            mk.assets.push(mk.assets[0].clone());
            mk.assets[1].adv_shares = Some(1e6);
            for (name, value) in [
                ("A:volatility", vol),
                ("A:queue", queue),
                ("A:depth", depth),
                ("A:depth", 1000.0),
                ("A:volatility", 0.02),
            ] {
                mk.indicators.push(prudentia_core::Indicator {
                    name: name.into(),
                    time: mk.time,
                    value,
                });
            }
            let order = |id: &str, venue: Option<&str>| Order {
                asset: AssetId::new(id),
                side: Side::Buy,
                quantity: q,
                order_type: OrderType::Market,
                venue: venue.map(|v| Venue(v.into())),
                limit_price: None,
                expected_cost_bps: None,
                expected_cost_interval_bps: None,
                routing: None,
            };
            let orders = [
                order("A", Some("X")),
                order("A", None),
                order("B", Some("X")),
                order("A", Some("Z")),
            ];
            let mut ok = Vec::new();
            for (k, got) in m.estimate_all(&orders, &mk).into_iter().enumerate() {
                let one = m.estimate(&orders[k], &mk);
                if format!("{got:?}") != format!("{one:?}") {
                    return Check::Broken(format!("order {k}: batch {got:?} vs one {one:?}"));
                }
                ok.extend(got.ok());
            }
            if ok.is_empty() {
                Check::Rejected
            } else {
                Check::ok_finite(&ok)
            }
        },
    );
    s.check("CostModel::estimate_all: no orders", || {
        Check::invariant(
            trained().estimate_all(&[], &market()).is_empty(),
            "estimates without orders",
        )
    });
    s.checkpoint(
        "AdaptiveCostModel",
        &trained(),
        |json| match serde_json::from_str::<AdaptiveCostModel>(&json) {
            Err(_) => Check::Rejected,
            Ok(mut m) => {
                for i in 45..70 {
                    match m.learn_fill(&event(i)) {
                        Ok(_) => {}
                        // a mutated venue list no longer names the fill's venue: correct
                        Err(prudentia_costs::CostsError::UnknownVenue(_)) => return Check::Rejected,
                        Err(e) => return Check::Broken(format!("a loaded model refused a good fill: {e}")),
                    }
                }
                result(m.estimate_order(5000.0, &OrderType::Market, Some("X"), &ctx()))
            }
        },
    );
    // The pipeline's learn flow: a fill with its order and the snapshot it was decided on.
    s.sweep(
        "learn_executed",
        ((price(), any_f64(), any_f64()), (any_f64(), any_f64(), any_f64())),
        |((fill_price, quantity, adv), (vol, queue, depth))| {
            let mut m = trained();
            let before = serde_json::to_string(&m).expect("serializes");
            let mut mk = market();
            mk.assets[0].adv_shares = Some(adv);
            for (name, value) in [("A:volatility", vol), ("A:queue", queue), ("A:depth", depth)] {
                mk.indicators.push(prudentia_core::Indicator {
                    name: name.into(),
                    time: mk.time,
                    value,
                });
            }
            let mut order =
                Order::new(AssetId::new("A"), Side::Buy, 5000.0, OrderType::Market).expect("order");
            order.venue = Some(Venue("X".into()));
            let fill = Fill {
                asset: AssetId::new("A"),
                time: mk.time,
                side: Side::Buy,
                quantity,
                price: fill_price,
                arrival_price: 100.0,
                order_type: OrderType::Market,
                venue: Some(Venue("X".into())),
            };
            let r = m.learn_executed(&prudentia_core::ExecutedOrder {
                order: &order,
                fill: &fill,
                market: &mk,
            });
            if r.is_err() && serde_json::to_string(&m).expect("serializes") != before {
                return Check::Broken("a refused fill changed the model".into());
            }
            result(r)
        },
    );
    s.finish();
}
