//! prudentia-execution (and datasets' fill simulator) under bad input: every constructor,
//! decision, update, evaluation and deserialize entry point, with a table of bad values,
//! seeded sweeps and checkpoint mutations (load, then use).

use ndarray::Array2;
use proptest::prelude::*;
use prudentia_adversarial::{result, result_with, strategies::*, Check, Suite};
use prudentia_core::traits::ExecutionPolicy;
use prudentia_core::{
    AssetId, AssetInfo, Fill, Indicator, MarketSnapshot, Order, OrderType, Quote, Side, Timestamp, Venue,
};
use prudentia_datasets::fill_sim::{FillSimConfig, FillSimulator, SimMarketState};
use prudentia_execution::ope::{LoggedData, OffPolicyEvaluator, OpeConfig, RewardModel};
use prudentia_execution::router::{ExecutionRouter, RoutedFill, RouterConfig, RoutingRecord, UniformRandom};
use prudentia_execution::schedule::{LimitPriceRule, Schedule};
use prudentia_execution::{ActionMask, ActionSpace, MarketState, N_FEATURES};
use prudentia_learn::bandit::{LinUcb, LinUcbConfig};

const BAD: [f64; 10] = [
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    1e300,
    -1e300,
    5e-324,
    f64::MAX,
    0.0,
    -1.0,
    1e-300,
];

const SIZES: [usize; 5] = [0, 1, 1 << 20, 1 << 40, usize::MAX];

fn space() -> ActionSpace {
    ActionSpace::new(
        vec![
            OrderType::Limit,
            OrderType::Market,
            OrderType::Pov { rate: 0.1 },
            OrderType::Pegged,
        ],
        vec![Venue("LIT".into()), Venue("INV".into())],
    )
    .expect("valid space")
}

fn market_state() -> MarketState {
    MarketState {
        spread_bps: 5.0,
        depth_shares: 2_000.0,
        queue_ahead_shares: 1_000.0,
        volatility: 0.02,
        participation: 0.01,
        order_shares: 500.0,
        time_of_day: 0.4,
        imbalance: 0.1,
    }
}

/// Field `i` (0..8) of a market state set to `v`.
fn with_field(i: usize, v: f64) -> MarketState {
    let mut s = market_state();
    match i {
        0 => s.spread_bps = v,
        1 => s.depth_shares = v,
        2 => s.queue_ahead_shares = v,
        3 => s.volatility = v,
        4 => s.participation = v,
        5 => s.order_shares = v,
        6 => s.time_of_day = v,
        _ => s.imbalance = v,
    }
    s
}

fn sim_state(s: &MarketState) -> SimMarketState {
    SimMarketState {
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

fn linucb_router() -> ExecutionRouter {
    let p = LinUcb::new(LinUcbConfig {
        n_actions: 8,
        dim: N_FEATURES,
        ..Default::default()
    })
    .expect("valid config");
    ExecutionRouter::new(RouterConfig::default(), space(), Box::new(p)).expect("valid router")
}

fn snapshot(spread: f64, depth: f64, vol: f64, adv: f64) -> MarketSnapshot {
    let t = Timestamp::from_nanos(0);
    let mut asset = AssetInfo::new("XYZ", 100.0).expect("valid asset");
    asset.adv_shares = Some(1.0);
    asset.adv_shares = Some(adv.abs());
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
            spread_bps: Some(spread),
        }],
        indicators: vec![ind("XYZ:depth", depth), ind("XYZ:volatility", vol)],
        assets: vec![asset],
    }
}

fn fill_event(record: &RoutingRecord, price: f64, arrival: f64) -> RoutedFill {
    let a = space().action(record.action.min(7)).expect("in range");
    RoutedFill {
        routing: record.clone(),
        fill: Fill {
            asset: AssetId::new("XYZ"),
            time: Timestamp::from_nanos(0),
            side: Side::Buy,
            quantity: 100.0,
            price,
            arrival_price: arrival,
            order_type: a.order_type,
            venue: Some(a.venue),
        },
    }
}

#[test]
fn actions_features_schedules() {
    let mut s = Suite::new("execution");
    // action spaces and masks
    s.check("space: no order types", || {
        result(ActionSpace::new(vec![], vec![Venue("A".into())]))
    });
    s.check("space: no venues", || {
        result(ActionSpace::new(vec![OrderType::Market], vec![]))
    });
    s.check("space: duplicate venue", || {
        result(ActionSpace::new(
            vec![OrderType::Market],
            vec![Venue("A".into()), Venue("A".into())],
        ))
    });
    s.check("space: 257 venues", || {
        result(ActionSpace::new(
            vec![OrderType::Market],
            (0..257).map(|i| Venue(i.to_string())).collect(),
        ))
    });
    for rate in BAD {
        s.check(format!("space: POV rate {rate}"), move || {
            result(ActionSpace::new(
                vec![OrderType::Pov { rate }],
                vec![Venue("A".into())],
            ))
        });
    }
    s.check("space: out-of-range action is None", || {
        let sp = space();
        Check::invariant(
            sp.action(8).is_none() && sp.action(usize::MAX).is_none(),
            "action(8) is None",
        )
    });
    for n in SIZES {
        s.check(format!("mask: all({n})"), move || result(ActionMask::all(n)));
    }
    s.check("mask: empty", || result(ActionMask::new(vec![false; 8])));
    s.checkpoint("ActionSpace", &space(), |json| {
        match serde_json::from_str::<ActionSpace>(&json) {
            Err(_) => Check::Rejected,
            Ok(sp) => {
                let ok = (0..sp.len()).all(|i| sp.action(i).is_some()) && sp.action(sp.len()).is_none();
                Check::invariant(ok, "every index below len is an action")
            }
        }
    });
    s.checkpoint(
        "ActionMask",
        &ActionMask::new(vec![true, false, true]).expect("valid"),
        |json| match serde_json::from_str::<ActionMask>(&json) {
            Err(_) => Check::Rejected,
            Ok(m) => Check::invariant(m.as_slice().iter().any(|&a| a), "a loaded mask allows something"),
        },
    );

    // market states and features
    for i in 0..8 {
        for v in BAD {
            s.check(format!("features: field {i} = {v}"), move || {
                result(with_field(i, v).features())
            });
        }
    }
    s.sweep("features: random states", (0usize..8, any_f64()), |(i, v)| {
        result_with(with_field(i, v).features(), |x| {
            if x[0] == 1.0 {
                Ok(())
            } else {
                Err("bias feature".into())
            }
        })
    });
    s.check("features: wrong buffer length", || {
        result(market_state().write_features(&mut [0.0; 11]).map(|_| 0))
    });
    s.checkpoint(
        "MarketState",
        &market_state(),
        |json| match serde_json::from_str::<MarketState>(&json) {
            Err(_) => Check::Rejected,
            Ok(st) => result(st.features()),
        },
    );
    for v in BAD {
        s.check(format!("from_snapshot: spread {v}"), move || {
            let o = Order::new(AssetId::new("XYZ"), Side::Buy, 100.0, OrderType::Market).expect("valid");
            result(MarketState::from_snapshot(&o, &snapshot(v, 1000.0, 0.02, 1e6)))
        });
        s.check(format!("from_snapshot: depth {v}"), move || {
            let o = Order::new(AssetId::new("XYZ"), Side::Buy, 100.0, OrderType::Market).expect("valid");
            result(MarketState::from_snapshot(&o, &snapshot(5.0, v, 0.02, 1e6)))
        });
        s.check(format!("from_snapshot: ADV {v}"), move || {
            let o = Order::new(AssetId::new("XYZ"), Side::Buy, 100.0, OrderType::Market).expect("valid");
            result(MarketState::from_snapshot(&o, &snapshot(5.0, 1000.0, 0.02, v)))
        });
    }

    // schedules and limit prices
    for q in BAD {
        s.check(format!("twap: quantity {q}"), move || {
            result(Schedule::twap(q, 10))
        });
        s.check(format!("pov: rate {q}"), move || {
            result(Schedule::pov(100.0, q, &[1000.0; 3]))
        });
        s.check(format!("pov: volume {q}"), move || {
            result(Schedule::pov(100.0, 0.5, &[q, 1000.0, 1000.0]))
        });
        s.check(format!("trajectory: entry {q}"), move || {
            result(Schedule::trajectory(vec![10.0, q, 5.0]))
        });
    }
    for n in SIZES {
        s.check(format!("twap: periods {n}"), move || {
            result_with(Schedule::twap(1000.0, n), |sch| {
                let sum: f64 = sch.quantities().iter().sum();
                if (sum - 1000.0).abs() <= 1e-9 * 1000.0 {
                    Ok(())
                } else {
                    Err(format!("sum {sum}"))
                }
            })
        });
    }
    s.check("pov: not enough volume", || {
        result(Schedule::pov(1e6, 0.1, &[10.0; 3]))
    });
    s.check("trajectory: empty", || result(Schedule::trajectory(vec![])));
    s.check("trajectory: all zero", || {
        result(Schedule::trajectory(vec![0.0; 4]))
    });
    s.sweep("trajectory: random", vec_f64(0..20), |v| {
        result(Schedule::trajectory(v))
    });
    s.checkpoint(
        "Schedule",
        &Schedule::twap(1000.0, 4).expect("valid"),
        |json| match serde_json::from_str::<Schedule>(&json) {
            Err(_) => Check::Rejected,
            Ok(sch) => result_with(Ok::<_, String>(sch.remaining_after(2)), |r| {
                if *r >= 0.0 && *r <= sch.total() {
                    Ok(())
                } else {
                    Err(format!("remaining {r}"))
                }
            }),
        },
    );
    let rules = [
        LimitPriceRule::Join,
        LimitPriceRule::Improve { ticks: 1 },
        LimitPriceRule::MidPeg,
    ];
    for rule in rules {
        for v in BAD {
            s.check(format!("limit price {rule:?}: tick {v}"), move || {
                let q = Quote {
                    asset: AssetId::new("A"),
                    time: Timestamp::from_nanos(0),
                    price: 100.0,
                    volume: None,
                    spread_bps: Some(10.0),
                };
                result(rule.limit_price(Side::Buy, &q, v))
            });
            s.check(
                format!("limit price {rule:?}: price {v}, spread {v}"),
                move || {
                    let q = Quote {
                        asset: AssetId::new("A"),
                        time: Timestamp::from_nanos(0),
                        price: v,
                        volume: None,
                        spread_bps: Some(v),
                    };
                    result_with(rule.limit_price(Side::Sell, &q, 0.01), |p| {
                        if *p > 0.0 {
                            Ok(())
                        } else {
                            Err(format!("price {p}"))
                        }
                    })
                },
            );
        }
    }
    s.check("limit price: improve by 0 ticks", || {
        let q = Quote {
            asset: AssetId::new("A"),
            time: Timestamp::from_nanos(0),
            price: 100.0,
            volume: None,
            spread_bps: Some(10.0),
        };
        result(LimitPriceRule::Improve { ticks: 0 }.limit_price(Side::Buy, &q, 0.01))
    });
    s.checkpoint(
        "LimitPriceRule",
        &LimitPriceRule::Improve { ticks: 2 },
        |json| match serde_json::from_str::<LimitPriceRule>(&json) {
            Err(_) => Check::Rejected,
            Ok(rule) => {
                let q = Quote {
                    asset: AssetId::new("A"),
                    time: Timestamp::from_nanos(0),
                    price: 100.0,
                    volume: None,
                    spread_bps: Some(10.0),
                };
                result(rule.limit_price(Side::Buy, &q, 0.01))
            }
        },
    );
    s.finish();
}

const N: usize = 6;

type Log = (Array2<f64>, Vec<usize>, Vec<f64>, Vec<f64>, Array2<f64>);

/// A small valid log: contexts, actions, rewards, propensities, target policy.
fn base() -> Log {
    (
        Array2::from_shape_fn((N, 2), |(i, j)| (i + j) as f64 * 0.3),
        vec![0usize, 1, 0, 1, 0, 1],
        vec![1.0, 0.5, -0.2, 0.3, 0.8, 0.1],
        vec![0.5; 6],
        Array2::from_elem((N, 2), 0.5),
    )
}

#[test]
fn off_policy_evaluation() {
    let mut s = Suite::new("execution-ope");
    for v in BAD {
        s.check(format!("ope: reward {v}"), move || {
            let (x, a, mut r, p, t) = base();
            r[2] = v;
            let eval = OffPolicyEvaluator::new(OpeConfig::default()).expect("valid");
            result(eval.evaluate(&LoggedData::new(x.view(), &a, &r, &p), t.view()))
        });
        s.check(format!("ope: propensity {v}"), move || {
            let (x, a, r, mut p, t) = base();
            p[1] = v;
            let eval = OffPolicyEvaluator::new(OpeConfig::default()).expect("valid");
            result(eval.evaluate(&LoggedData::new(x.view(), &a, &r, &p), t.view()))
        });
        s.check(format!("ope: context {v}"), move || {
            let (mut x, a, r, p, t) = base();
            x[[3, 1]] = v;
            let eval = OffPolicyEvaluator::new(OpeConfig::default()).expect("valid");
            result(eval.evaluate(&LoggedData::new(x.view(), &a, &r, &p), t.view()))
        });
        s.check(format!("ope: target {v}"), move || {
            let (x, a, r, p, mut t) = base();
            t[[0, 0]] = v;
            let eval = OffPolicyEvaluator::new(OpeConfig::default()).expect("valid");
            result(eval.evaluate(&LoggedData::new(x.view(), &a, &r, &p), t.view()))
        });
        s.check(format!("ope: q_hat {v}"), move || {
            let (x, a, r, p, t) = base();
            let mut q = Array2::zeros((N, 2));
            q[[1, 1]] = v;
            let eval = OffPolicyEvaluator::new(OpeConfig::default()).expect("valid");
            result(eval.evaluate_with_rewards(&LoggedData::new(x.view(), &a, &r, &p), t.view(), q.view()))
        });
        s.check(format!("ope: confidence {v}"), move || {
            result(
                OffPolicyEvaluator::new(OpeConfig {
                    confidence: v,
                    ..OpeConfig::default()
                })
                .map(|e| *e.config()),
            )
        });
        s.check(format!("reward model: ridge {v}"), move || {
            let (x, a, r, p, _) = base();
            result(RewardModel::fit(&LoggedData::new(x.view(), &a, &r, &p), 2, v))
        });
    }
    s.check("ope: action out of range", || {
        let (x, mut a, r, p, t) = base();
        a[0] = 2;
        let eval = OffPolicyEvaluator::new(OpeConfig::default()).expect("valid");
        result(eval.evaluate(&LoggedData::new(x.view(), &a, &r, &p), t.view()))
    });
    s.check("ope: mismatched lengths", || {
        let (x, a, r, p, t) = base();
        let eval = OffPolicyEvaluator::new(OpeConfig::default()).expect("valid");
        result(eval.evaluate(&LoggedData::new(x.view(), &a[..5], &r, &p), t.view()))
    });
    s.check("ope: empty log", || {
        let x = Array2::<f64>::zeros((0, 2));
        let t = Array2::<f64>::zeros((0, 2));
        let eval = OffPolicyEvaluator::new(OpeConfig::default()).expect("valid");
        result(eval.evaluate(&LoggedData::new(x.view(), &[], &[], &[]), t.view()))
    });
    s.check("ope: zero target columns", || {
        let (x, a, r, p, _) = base();
        let t = Array2::<f64>::zeros((N, 0));
        let eval = OffPolicyEvaluator::new(OpeConfig::default()).expect("valid");
        result(eval.evaluate(&LoggedData::new(x.view(), &a, &r, &p), t.view()))
    });
    for b in SIZES {
        s.check(format!("ope: bootstrap samples {b}"), move || {
            result(
                OffPolicyEvaluator::new(OpeConfig {
                    bootstrap_samples: b,
                    ..OpeConfig::default()
                })
                .map(|e| *e.config()),
            )
        });
    }
    s.check("ope: tiny propensities on huge rewards", || {
        let (x, a, _, _, t) = base();
        let r = vec![f64::MAX; 6];
        let p = vec![5e-324; 6];
        let eval = OffPolicyEvaluator::new(OpeConfig::default()).expect("valid");
        result(eval.evaluate(&LoggedData::new(x.view(), &a, &r, &p), t.view()))
    });
    s.sweep(
        "ope: random rewards and propensities",
        (
            vec_f64(6..7),
            proptest::collection::vec(prop_oneof![0.01..1.0f64, special_f64()], 6),
        ),
        move |(r, p)| {
            let (x, a, _, _, t) = base();
            let eval = OffPolicyEvaluator::new(OpeConfig {
                bootstrap_samples: 20,
                ..OpeConfig::default()
            })
            .expect("valid");
            result_with(
                eval.evaluate(&LoggedData::new(x.view(), &a, &r, &p), t.view()),
                |rep| {
                    if rep.ips.normal.lower <= rep.ips.normal.upper && rep.effective_sample_size >= 0.0 {
                        Ok(())
                    } else {
                        Err("interval bounds or ESS".into())
                    }
                },
            )
        },
    );
    s.sweep("reward model: random contexts", matrix(0..12, 0..4), move |x| {
        let rows = x.nrows();
        let a: Vec<usize> = (0..rows).map(|i| i % 2).collect();
        let r: Vec<f64> = (0..rows).map(|i| i as f64 * 0.1).collect();
        let p = vec![0.5; rows];
        let fitted = RewardModel::fit(&LoggedData::new(x.view(), &a, &r, &p), 2, 1.0);
        match fitted {
            Err(_) => Check::Rejected,
            Ok(m) => result(m.predict(x.view())),
        }
    });
    s.checkpoint(
        "OpeConfig",
        &OpeConfig::default(),
        |json| match serde_json::from_str::<OpeConfig>(&json) {
            Err(_) => Check::Rejected,
            Ok(c) => match OffPolicyEvaluator::new(OpeConfig {
                bootstrap_samples: c.bootstrap_samples.min(50),
                ..c
            }) {
                Err(_) => Check::Broken("a loaded config is refused by the evaluator".into()),
                Ok(eval) => {
                    let x = Array2::from_shape_fn((4, 1), |(i, _)| i as f64);
                    let t = Array2::from_elem((4, 2), 0.5);
                    result(eval.evaluate(
                        &LoggedData::new(x.view(), &[0, 1, 0, 1], &[1.0, 0.0, 0.5, 0.2], &[0.5; 4]),
                        t.view(),
                    ))
                }
            },
        },
    );
    let (x, a, r, p, _) = base();
    let model = RewardModel::fit(&LoggedData::new(x.view(), &a, &r, &p), 2, 1.0).expect("fits");
    s.checkpoint("RewardModel", &model, move |json| {
        match serde_json::from_str::<RewardModel>(&json) {
            Err(_) => Check::Rejected,
            Ok(m) => {
                let x = Array2::from_elem((3, m.n_features()), 0.5);
                result(m.predict(x.view()))
            }
        }
    });
    s.finish();
}

#[test]
fn router_and_fill_simulator() {
    let mut s = Suite::new("execution-router");
    for i in 0..8 {
        for v in BAD {
            s.check(format!("decide: state field {i} = {v}"), move || {
                result(linucb_router().decide(&with_field(i, v), None, 1))
            });
        }
    }
    s.check("decide: empty mask intersection", || {
        let m = ActionMask::new((0..8).map(|a| a == 0).collect()).expect("valid");
        let mut r = linucb_router();
        let rules = prudentia_execution::MaskRules {
            venues_down: vec![Venue("LIT".into())],
            ..Default::default()
        };
        match r.set_rules(rules) {
            Err(_) => Check::Broken("valid rules refused".into()),
            Ok(()) => result(r.decide(&market_state(), Some(&m), 0)),
        }
    });
    s.check("decide: mask of the wrong length", || {
        let m = ActionMask::all(7).expect("valid");
        result(linucb_router().decide(&market_state(), Some(&m), 0))
    });
    s.sweep(
        "decide: random seeds and states",
        (any::<u64>(), 0usize..8, finite_f64()),
        |(seed, i, v)| {
            result_with(linucb_router().decide(&with_field(i, v), None, seed), |d| {
                if d.action < 8 && d.propensity > 0.0 && d.propensity <= 1.0 {
                    Ok(())
                } else {
                    Err(format!("action {} propensity {}", d.action, d.propensity))
                }
            })
        },
    );
    // The pipeline's batch entry point: every order's own result, exactly the per-order
    // route's (errors included), over a snapshot with a duplicated quote and indicator.
    s.sweep(
        "ExecutionPolicy::route_all",
        (
            (any_f64(), any_f64(), any_f64()),
            (any_f64(), any_f64(), any::<u64>()),
        ),
        |((spread, depth, vol), (adv, quantity, seed))| {
            let r = linucb_router();
            let mut mk = snapshot(spread, depth, vol, adv);
            let mut dup = mk.quotes[0].clone();
            dup.spread_bps = Some(5.0);
            mk.quotes.push(dup);
            mk.indicators.push(Indicator {
                name: "XYZ:depth".into(),
                time: mk.time,
                value: 1000.0,
            });
            let order = |id: &str, ty: OrderType| Order {
                asset: AssetId::new(id),
                side: Side::Buy,
                quantity,
                order_type: ty,
                venue: None,
                limit_price: None,
                expected_cost_bps: None,
                expected_cost_interval_bps: None,
                routing: None,
            };
            let orders = [
                order("XYZ", OrderType::Market),
                order("XYZ", OrderType::Limit),
                order("ABC", OrderType::Market),
            ];
            let seeds = [seed, seed ^ 1, seed.wrapping_add(2)];
            let all = match r.route_all(&orders, &mk, &seeds) {
                Ok(all) => all,
                Err(e) => return Check::Broken(format!("one seed per order was refused: {e}")),
            };
            let mut routed = Vec::new();
            for (k, got) in all.into_iter().enumerate() {
                let one = r.route(&orders[k], &mk, seeds[k]);
                if format!("{got:?}") != format!("{one:?}") {
                    return Check::Broken(format!("order {k}: batch {got:?} vs one {one:?}"));
                }
                routed.extend(got.ok());
            }
            if routed.is_empty() {
                Check::Rejected
            } else {
                Check::ok_finite(&routed)
            }
        },
    );
    s.check("route_all: seeds of another length", || {
        let o = Order::new(AssetId::new("XYZ"), Side::Sell, 100.0, OrderType::Market).expect("valid");
        result(
            linucb_router()
                .route_all(&[o.clone(), o], &snapshot(5.0, 1000.0, 0.02, 1e6), &[1])
                .map(|v| v.len())
                .map_err(|e| e.to_string()),
        )
    });
    s.check("route_orders: no orders", || {
        match linucb_router().route_orders(&[], &snapshot(5.0, 1000.0, 0.02, 1e6), &[]) {
            Ok(v) => Check::invariant(v.is_empty(), "results without orders"),
            Err(e) => Check::Broken(format!("no orders and no seeds were refused: {e}")),
        }
    });
    for v in BAD {
        s.check(format!("route: spread {v}"), move || {
            let o = Order::new(AssetId::new("XYZ"), Side::Sell, 100.0, OrderType::Market).expect("valid");
            result(
                linucb_router()
                    .route(&o, &snapshot(v, 1000.0, 0.02, 1e6), 3)
                    .map_err(|e| e.to_string()),
            )
        });
        s.check(format!("route: volatility {v}"), move || {
            let o = Order::new(AssetId::new("XYZ"), Side::Sell, 100.0, OrderType::Market).expect("valid");
            result(
                linucb_router()
                    .route(&o, &snapshot(5.0, 1000.0, v, 1e6), 3)
                    .map_err(|e| e.to_string()),
            )
        });
        s.check(format!("learn: fill price {v}"), move || {
            let mut r = linucb_router();
            let d = r.decide(&market_state(), None, 0).expect("valid");
            let before = r.decide(&market_state(), None, 1).expect("valid");
            match r.learn_fill(&fill_event(&d, v, 100.0)) {
                Ok(reward) => Check::ok_finite(&reward),
                Err(_) => {
                    let after = r.decide(&market_state(), None, 1).expect("valid");
                    Check::invariant(before == after, "a refused fill changed the policy")
                        .and(|| Check::Rejected)
                }
            }
        });
        s.check(format!("learn: context entry {v}"), move || {
            let mut r = linucb_router();
            let mut d = r.decide(&market_state(), None, 0).expect("valid");
            d.context[4] = v;
            result(r.learn_fill(&fill_event(&d, 100.1, 100.0)))
        });
        s.check(format!("learn: propensity {v}"), move || {
            let mut r = linucb_router();
            let mut d = r.decide(&market_state(), None, 0).expect("valid");
            d.propensity = v;
            result(r.learn_fill(&fill_event(&d, 100.1, 100.0)))
        });
    }
    s.check("learn: a fill for an action never taken", || {
        let mut r = linucb_router();
        let d = r.decide(&market_state(), None, 0).expect("valid");
        let mut e = fill_event(&d, 100.1, 100.0);
        e.fill.venue = Some(Venue("DARK".into()));
        result(r.learn_fill(&e))
    });
    for a in [8, 1 << 40, usize::MAX] {
        s.check(format!("learn: action {a}"), move || {
            let mut r = linucb_router();
            let mut d = r.decide(&market_state(), None, 0).expect("valid");
            d.action = a;
            result(r.learn_fill(&fill_event(&d, 100.1, 100.0)))
        });
    }
    s.check("learn: a context of the wrong length", || {
        let mut r = linucb_router();
        let mut d = r.decide(&market_state(), None, 0).expect("valid");
        d.context.push(1.0);
        result(r.learn_fill(&fill_event(&d, 100.1, 100.0)))
    });
    s.check("router: policy of the wrong shape", || {
        let p = UniformRandom {
            n_actions: 3,
            context_dim: N_FEATURES,
        };
        result(ExecutionRouter::new(RouterConfig::default(), space(), Box::new(p)).map(|_| 0))
    });
    for v in BAD {
        s.check(format!("router: tick {v}"), move || {
            let p = UniformRandom {
                n_actions: 8,
                context_dim: N_FEATURES,
            };
            let c = RouterConfig {
                tick: v,
                ..RouterConfig::default()
            };
            result(ExecutionRouter::new(c, space(), Box::new(p)).map(|_| 0))
        });
    }
    let record = linucb_router().decide(&market_state(), None, 5).expect("valid");
    s.checkpoint("RoutingRecord", &record, |json| {
        match serde_json::from_str::<RoutingRecord>(&json) {
            Err(_) => Check::Rejected,
            Ok(d) => {
                let mut r = linucb_router();
                match r.learn_fill(&fill_event(&d, 100.1, 100.0)) {
                    Ok(reward) => Check::ok_finite(&reward),
                    Err(_) => Check::Rejected,
                }
            }
        }
    });
    s.checkpoint(
        "RouterConfig",
        &RouterConfig::default(),
        |json| match serde_json::from_str::<RouterConfig>(&json) {
            Err(_) => Check::Rejected,
            Ok(c) => {
                let p = UniformRandom {
                    n_actions: 8,
                    context_dim: N_FEATURES,
                };
                match ExecutionRouter::new(c, space(), Box::new(p)) {
                    Err(_) => Check::Rejected,
                    Ok(r) => {
                        let o = Order::new(AssetId::new("XYZ"), Side::Buy, 100.0, OrderType::Market)
                            .expect("valid");
                        result(r.route_order(&o, &snapshot(5.0, 1000.0, 0.02, 1e6), 1))
                    }
                }
            }
        },
    );

    // the fill simulator
    let sim = FillSimulator::new(FillSimConfig::default()).expect("valid");
    for i in 0..8 {
        for v in BAD {
            let sim = sim.clone();
            s.check(format!("fill sim: state field {i} = {v}"), move || {
                let st = sim_state(&with_field(i, v));
                result(sim.execute(&st, OrderType::Limit, 0, 1))
                    .and(|| result(sim.expected_cost_bps(&st, OrderType::Pegged, 1)))
            });
        }
    }
    for venue in [2usize, 1 << 40, usize::MAX] {
        let sim = sim.clone();
        s.check(format!("fill sim: venue {venue}"), move || {
            result(sim.execute(&sim_state(&market_state()), OrderType::Market, venue, 0))
        });
    }
    {
        let sim = sim.clone();
        s.sweep(
            "fill sim: random states and seeds",
            (any::<u64>(), 0usize..8, finite_f64()),
            move |(seed, i, v)| {
                let st = sim_state(&with_field(i, v));
                result_with(
                    sim.execute(&st, OrderType::Limit, (seed % 2) as usize, seed),
                    |f| {
                        if (0.0..=1.0).contains(&f.passive_fraction) {
                            Ok(())
                        } else {
                            Err("passive fraction".into())
                        }
                    },
                )
            },
        );
    }
    s.checkpoint(
        "FillSimConfig",
        &FillSimConfig::default(),
        |json| match serde_json::from_str::<FillSimConfig>(&json) {
            Err(_) => Check::Rejected,
            Ok(c) => match FillSimulator::new(c) {
                Err(_) => Check::Broken("a loaded config is refused".into()),
                Ok(sim) => {
                    let st = sim.sample_state(3);
                    result(sim.execute(&st, OrderType::Limit, 0, 4))
                }
            },
        },
    );
    // The pipeline's learn flow: a fill with its routed order and the snapshot it was routed on.
    s.sweep(
        "learn_executed",
        ((price(), any_f64(), any_f64()), (any_f64(), any_f64(), 0usize..3)),
        |((fill_price, spread, depth), (propensity, vol, routing))| {
            let mut r = linucb_router();
            let good = snapshot(5.0, 1000.0, 0.02, 1e6);
            let order = Order::new(AssetId::new("XYZ"), Side::Buy, 100.0, OrderType::Market).expect("order");
            let (mut routed, _) = match r.route_order(&order, &good, 3) {
                Ok(x) => x,
                Err(e) => return Check::Broken(format!("a good order was not routed: {e}")),
            };
            match routing {
                0 => {}
                1 => routed.routing = None,
                _ => {
                    if let Some(log) = &mut routed.routing {
                        log.propensity = propensity;
                    }
                }
            }
            let market = snapshot(spread, depth, vol, 1e6);
            let fill = Fill {
                asset: AssetId::new("XYZ"),
                time: Timestamp::from_nanos(0),
                side: Side::Buy,
                quantity: 100.0,
                price: fill_price,
                arrival_price: 100.0,
                order_type: routed.order_type,
                venue: routed.venue.clone(),
            };
            let before = r.decide(&market_state(), None, 1).map_err(|e| e.to_string());
            let out = r.learn_executed(&prudentia_core::ExecutedOrder {
                order: &routed,
                fill: &fill,
                market: &market,
            });
            if out.is_err() && r.decide(&market_state(), None, 1).map_err(|e| e.to_string()) != before {
                return Check::Broken("a refused fill changed the policy".into());
            }
            result(out)
        },
    );
    s.finish();
}
