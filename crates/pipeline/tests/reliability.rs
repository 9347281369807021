//! Reliability of the pipeline under bad data (issue #22): realized P&L from validated prices,
//! `learn` refusing a bad outcome without changing anything, and every weight change either
//! an order or a reported unexecuted change.

use prudentia_core::traits::*;
use prudentia_core::*;
use prudentia_pipeline::*;

const N: usize = 4;

fn ids() -> Vec<AssetId> {
    (0..N).map(|i| AssetId::new(format!("A{i}"))).collect()
}

/// Seeded LCG in [-0.5, 0.5).
fn lcg(seed: u64) -> impl FnMut() -> f64 {
    let mut s = seed;
    move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 11) as f64) / ((1u64 << 53) as f64) - 0.5
    }
}

/// Price paths (±1 % a day), one snapshot per day; feature 0 = last return.
fn snapshots(days: usize, seed: u64) -> Vec<MarketSnapshot> {
    let mut next = lcg(seed);
    let mut prices = vec![100.0; N];
    let mut last_ret = vec![0.0; N];
    (0..days)
        .map(|d| {
            if d > 0 {
                for i in 0..N {
                    let r = 0.0003 * i as f64 + 0.02 * next();
                    prices[i] *= 1.0 + r;
                    last_ret[i] = r;
                }
            }
            let time = Timestamp::from_nanos(d as i64 * Timestamp::NANOS_PER_DAY);
            MarketSnapshot {
                time,
                quotes: ids()
                    .iter()
                    .zip(&prices)
                    .map(|(id, p)| Quote {
                        asset: id.clone(),
                        time,
                        price: *p,
                        volume: Some(1e6),
                        spread_bps: Some(2.0),
                    })
                    .collect(),
                indicators: vec![],
                assets: ids()
                    .iter()
                    .zip(prices.iter().zip(&last_ret))
                    .map(|(id, (p, f))| {
                        let mut a = AssetInfo::new(id.clone(), *p).unwrap();
                        a.features = vec![*f];
                        a
                    })
                    .collect(),
            }
        })
        .collect()
}

struct Momentum;
impl Forecaster for Momentum {
    fn forecast(&self, asset: &AssetInfo, _: &RegimeState) -> RoleResult<Forecast> {
        let f = asset.features.first().copied().unwrap_or(0.0);
        Ok(Forecast::new(f, 0.02, Horizon::DAY)?)
    }
}

/// Long the assets with positive forecast, equal weight.
struct LongPositive;
impl Optimizer for LongPositive {
    fn optimize(&self, input: &PortfolioInput<'_>) -> RoleResult<TargetPortfolio> {
        let pos: Vec<&Opportunity> = input
            .opportunities
            .iter()
            .filter(|o| o.forecast.mean > 0.0)
            .collect();
        let ids = pos.iter().map(|o| o.asset.id.clone()).collect();
        let w = vec![1.0 / pos.len().max(1) as f64; pos.len()];
        Ok(TargetPortfolio {
            weights: Weights::new(ids, w)?,
            status: Status::Converged,
        })
    }
}

/// Equal weight over every opportunity (so every asset is always held).
struct Equal;
impl Optimizer for Equal {
    fn optimize(&self, input: &PortfolioInput<'_>) -> RoleResult<TargetPortfolio> {
        let n = input.opportunities.len();
        let ids = input.opportunities.iter().map(|o| o.asset.id.clone()).collect();
        Ok(TargetPortfolio {
            weights: Weights::new(ids, vec![1.0 / n as f64; n])?,
            status: Status::Converged,
        })
    }
}

/// Quarantines a quote (and its asset) whose price moved more than 50 % from the last
/// accepted one, as the defense crate's guard does with its validators.
#[derive(Default)]
struct JumpGuard(std::collections::HashMap<AssetId, f64>);
impl Guard for JumpGuard {
    fn screen(&mut self, s: &MarketSnapshot) -> RoleResult<Screened> {
        let mut out = s.clone();
        let mut quarantined = 0;
        out.quotes.retain(|q| {
            let ok = match self.0.get(&q.asset) {
                Some(last) => (q.price / last - 1.0).abs() < 0.5,
                None => q.price.is_finite() && q.price > 0.0,
            };
            if ok {
                self.0.insert(q.asset.clone(), q.price);
            } else {
                quarantined += 1;
            }
            ok
        });
        let kept: Vec<AssetId> = out.quotes.iter().map(|q| q.asset.clone()).collect();
        out.assets.retain(|a| kept.contains(&a.id));
        Ok(Screened::Clean {
            snapshot: out,
            repaired: 0,
            quarantined,
        })
    }
}

fn config() -> PipelineConfig {
    PipelineConfig {
        universe: ids(),
        history_window: 30,
        min_history: 10,
        seed: 42,
        ..Default::default()
    }
}

fn pipeline(guard: Option<Box<dyn Guard>>, optimizer: Box<dyn Optimizer>) -> Pipeline {
    let b = PipelineBuilder::new(config())
        .forecaster(Box::new(Momentum))
        .optimizer(optimizer);
    match guard {
        Some(g) => b.guard(g).build().unwrap(),
        None => b.build().unwrap(),
    }
}

fn quiet() -> BacktestConfig {
    BacktestConfig {
        show_progress: false,
        ..Default::default()
    }
}

/// Defect (2): one quote at 10⁶× (or 1e300) its price, quarantined by the guard, gave a
/// 2.8·10⁵ daily return and a final equity of 2.8·10¹¹ (4.9·10³⁰³ at 1e300).
#[test]
fn a_quarantined_price_spike_is_not_pnl() {
    for factor in [1e6, 1e300 / 100.0] {
        let mut snaps = snapshots(60, 11);
        let spike = snaps[30].quotes[1].price * factor;
        snaps[30].quotes[1].price = spike;
        snaps[30].assets[1].price = spike;
        let mut p = pipeline(Some(Box::new(JumpGuard::default())), Box::new(Equal));
        let run = walk_forward(&mut p, &snaps, &quiet()).unwrap();
        let worst = run.returns.iter().fold(0.0f64, |m, r| m.max(r.abs()));
        assert!(worst < 0.1, "factor {factor}: a daily return of {worst}");
        let last = *run.equity.last().unwrap();
        assert!(last < 2e6 && last > 5e5, "factor {factor}: final equity {last}");
        assert!(run.faults.iter().any(|f| f.asset == ids()[1]
            && f.time == snaps[30].time
            && f.kind == PriceFaultKind::NotValidated));
        // the asset's move over the quarantined day is realized the day after, from the carried price
        let r31 = run.outcomes[30]
            .realized_returns
            .iter()
            .find(|(a, _)| *a == ids()[1])
            .unwrap()
            .1;
        let expect = snaps[31].quotes[1].price / snaps[29].quotes[1].price - 1.0;
        assert!((r31 - expect).abs() < 1e-12);
        assert!(run.outcomes[29]
            .realized_returns
            .iter()
            .all(|(a, _)| *a != ids()[1]));
    }
}

/// Without a guard, the spike passes the quote checks, so the implausible move is a recorded
/// fault (both ways), never P&L; the decisions carry the last plausible price.
#[test]
fn an_implausible_move_without_a_guard_is_a_recorded_fault() {
    for factor in [1e6, 1e300 / 100.0, 1e-300] {
        let mut snaps = snapshots(60, 12);
        snaps[30].quotes[2].price *= factor;
        let mut p = pipeline(None, Box::new(Equal));
        let run = walk_forward(&mut p, &snaps, &quiet()).unwrap();
        let worst = run.returns.iter().fold(0.0f64, |m, r| m.max(r.abs()));
        assert!(worst < 0.1, "factor {factor}: a daily return of {worst}");
        let implausible: Vec<&PriceFault> = run
            .faults
            .iter()
            .filter(|f| matches!(f.kind, PriceFaultKind::Implausible { .. }))
            .collect();
        assert_eq!(implausible.len(), 2, "factor {factor}: {:?}", run.faults);
        assert!(implausible.iter().all(|f| f.asset == ids()[2]));
        assert!(run.equity.iter().all(|e| e.is_finite() && *e > 5e5 && *e < 2e6));
        assert!(serde_json::from_str::<BacktestResult>(&serde_json::to_string(&run).unwrap()).is_ok());
    }
}

/// Defect (5): an `Outcome` with `equity: Some(NaN)` moved positions and set equity to NaN,
/// after which every decision failed. A refused outcome now changes nothing.
#[test]
fn learn_refuses_a_bad_outcome_without_changing_anything() {
    let snaps = snapshots(40, 13);
    let mut p = pipeline(None, Box::new(LongPositive));
    walk_forward(&mut p, &snaps[..30], &quiet()).unwrap();
    let report = p.decide(&snaps[30]).unwrap();
    assert_eq!(report.decision.status, DecisionStatus::Normal);
    let (w0, e0) = (p.current_weights().clone(), p.equity());
    let good_returns: Vec<(AssetId, f64)> = ids().into_iter().map(|a| (a, 0.01)).collect();
    let fill = Fill {
        asset: ids()[0].clone(),
        time: snaps[31].time,
        side: Side::Buy,
        quantity: 10.0,
        price: 100.0,
        arrival_price: 100.0,
        order_type: OrderType::Market,
        venue: None,
    };
    let bad = [
        Outcome {
            equity: Some(f64::NAN),
            realized_returns: good_returns.clone(),
            ..Default::default()
        },
        Outcome {
            equity: Some(f64::INFINITY),
            ..Default::default()
        },
        Outcome {
            equity: Some(-1.0),
            ..Default::default()
        },
        Outcome {
            realized_returns: vec![(ids()[0].clone(), 0.01), (ids()[0].clone(), 0.02)],
            ..Default::default()
        },
        Outcome {
            realized_returns: vec![(ids()[0].clone(), -1.5)],
            ..Default::default()
        },
        Outcome {
            fills: vec![Fill {
                quantity: f64::NAN,
                ..fill.clone()
            }],
            ..Default::default()
        },
        Outcome {
            fills: vec![Fill {
                price: 0.0,
                ..fill.clone()
            }],
            ..Default::default()
        },
        Outcome {
            time: Some(snaps[0].time),
            ..Default::default()
        },
    ];
    for (k, outcome) in bad.iter().enumerate() {
        assert!(p.learn(outcome).is_err(), "bad outcome {k} accepted");
        assert_eq!(p.current_weights(), &w0, "bad outcome {k} moved positions");
        assert_eq!(
            p.equity().to_bits(),
            e0.to_bits(),
            "bad outcome {k} changed equity"
        );
    }
    // the decision is still pending: a good outcome applies it
    p.learn(&Outcome {
        realized_returns: good_returns,
        ..Default::default()
    })
    .unwrap();
    assert!(p.equity().is_finite() && p.equity() > 0.0);
    let sized = &report.decision.sized;
    for a in ids() {
        assert!((p.current_weights().get(&a) - sized.get(&a)).abs() < 1e-12);
    }
    assert!(p.decide(&snaps[31]).is_ok());
}

/// Defect (8): with `AssetInfo.price` NaN or 0 and a fine quote, `decide` changed the asset's
/// weight but emitted no order. It now trades at the validated quote price.
#[test]
fn an_invalid_asset_price_with_a_good_quote_still_trades() {
    let mut snaps = snapshots(80, 14);
    for s in snaps.iter_mut().skip(12) {
        s.assets[2].price = f64::NAN;
        s.assets[3].price = 0.0;
    }
    let mut p = pipeline(None, Box::new(LongPositive));
    let mut traded = 0;
    for t in 0..snaps.len() - 1 {
        let before = p.current_weights().clone();
        let report = p.decide(&snaps[t]).unwrap();
        let d = &report.decision;
        for k in [2, 3] {
            let id = &ids()[k];
            let delta = d.sized.get(id) - before.get(id);
            let shares = delta.abs() * p.equity() / snaps[t].quotes[k].price;
            if shares >= 1.0 {
                assert!(
                    d.orders.iter().any(|o| &o.asset == id),
                    "step {t}: {id} changed by {delta} without an order"
                );
                traded += 1;
            }
        }
        let outcome = Outcome {
            realized_returns: realized_returns(&ids(), &snaps[t], &snaps[t + 1]),
            ..Default::default()
        };
        p.learn(&outcome).unwrap();
    }
    assert!(traded > 10, "only {traded} trades of the assets");
}

/// Damage drawn per snapshot: asset prices NaN/0/negative/1e300/5e-324, quotes missing,
/// corrupted, future-dated or duplicated with another price, asset information missing or
/// duplicated.
fn corrupt(s: &mut MarketSnapshot, next: &mut impl FnMut() -> f64) {
    let bad = [f64::NAN, 0.0, -1.0, 1e300, 5e-324, f64::INFINITY];
    let pick = |u: f64| bad[((u + 0.5) * bad.len() as f64) as usize % bad.len()];
    for a in s.assets.iter_mut() {
        if next() < -0.3 {
            a.price = pick(next());
        }
    }
    for q in s.quotes.iter_mut() {
        if next() < -0.4 {
            q.price = pick(next());
        }
    }
    if next() < -0.3 {
        let k = ((next() + 0.5) * s.quotes.len() as f64) as usize % s.quotes.len();
        let mut q = s.quotes[k].clone();
        q.price *= 1.5;
        if next() < 0.0 {
            q.time = Timestamp::from_nanos(q.time.as_nanos() + Timestamp::NANOS_PER_DAY);
        }
        s.quotes.push(q);
    }
    if next() < -0.35 {
        s.quotes.pop();
    }
    if next() < -0.35 {
        s.assets.remove(0);
    }
    if next() < -0.4 {
        let a = s.assets[0].clone();
        s.assets.push(a);
    }
}

/// Every weight change of every decision is an order (on the right side) or an unexecuted
/// change with its reason; no order without a change; the book is finite.
#[test]
fn every_weight_change_is_an_order_or_reported() {
    let mut checked = 0;
    let mut unexecuted = 0;
    for seed in 0..6u64 {
        let mut snaps = snapshots(70, 100 + seed);
        let mut next = lcg(seed);
        for s in snaps.iter_mut().skip(1) {
            corrupt(s, &mut next);
        }
        let optimizer: Box<dyn Optimizer> = if seed % 2 == 0 {
            Box::new(LongPositive)
        } else {
            Box::new(Equal)
        };
        let mut p = pipeline(None, optimizer);
        for t in 0..snaps.len() - 1 {
            let before = p.current_weights().clone();
            let report = match p.decide(&snaps[t]) {
                Ok(r) => r,
                Err(e) => panic!("seed {seed} step {t}: {e}"),
            };
            let d = &report.decision;
            let mut assets: Vec<&AssetId> = d.sized.assets.iter().chain(&before.assets).collect();
            assets.sort();
            assets.dedup();
            for a in assets {
                let (from, to) = (before.get(a), d.sized.get(a));
                let orders: Vec<&Order> = d.orders.iter().filter(|o| &o.asset == a).collect();
                let skipped: Vec<&UnexecutedChange> =
                    report.unexecuted.iter().filter(|u| &u.asset == a).collect();
                assert!(
                    orders.len() + skipped.len() <= 1,
                    "seed {seed} step {t} {a}: {orders:?} {skipped:?}"
                );
                if let Some(o) = orders.first() {
                    assert_ne!(from, to);
                    assert_eq!(o.side, if to > from { Side::Buy } else { Side::Sell });
                    assert!(o.quantity.is_finite() && o.quantity > 0.0);
                } else if let Some(u) = skipped.first() {
                    assert_eq!(u.from, from);
                    assert!(u.from != u.to);
                    if u.reason.keeps_position() {
                        assert_eq!(
                            to, from,
                            "seed {seed} step {t} {a}: an untradable change moved the book"
                        );
                    } else {
                        assert_eq!(to, u.to);
                    }
                    unexecuted += 1;
                } else {
                    assert_eq!(
                        from, to,
                        "seed {seed} step {t} {a}: weight changed with no order and no report"
                    );
                }
                checked += 1;
            }
            assert!(d.sized.values.iter().all(|w| w.is_finite()));
            let outcome = Outcome {
                realized_returns: realized_returns(&ids(), &snaps[t], &snaps[t + 1]),
                ..Default::default()
            };
            p.learn(&outcome).unwrap();
            assert!(p.equity().is_finite() && p.equity() > 0.0);
        }
    }
    assert!(checked > 500, "{checked}");
    assert!(unexecuted > 0);
}

#[test]
fn decide_refuses_snapshots_out_of_time_order_without_changing_anything() {
    let snaps = snapshots(20, 15);
    let mut p = pipeline(None, Box::new(Equal));
    for s in &snaps[..12] {
        let _ = p.decide(s).unwrap();
    }
    let steps = p.steps();
    assert!(matches!(
        p.decide(&snaps[11]),
        Err(PipelineError::Core(CoreError::NotIncreasing { .. }))
    ));
    assert!(p.decide(&snaps[5]).is_err());
    assert_eq!(p.steps(), steps);
    assert!(p.decide(&snaps[12]).is_ok());
}

#[test]
fn a_first_snapshot_refused_before_the_history_can_be_given_again() {
    let snaps = snapshots(3, 16);
    let mut p = pipeline(None, Box::new(Equal));
    let mut partial = snaps[0].clone();
    partial.quotes.pop();
    assert!(matches!(
        p.decide(&partial),
        Err(PipelineError::Stage {
            stage: Stage::History,
            ..
        })
    ));
    assert_eq!(p.steps(), 0);
    assert!(p.decide(&snaps[0]).is_ok());
    assert!(p.decide(&snaps[0]).is_err());
}

#[test]
fn configs_and_sizes_are_checked_on_build_and_on_load() {
    for bad in [
        PipelineConfig {
            history_window: usize::MAX,
            ..config()
        },
        PipelineConfig {
            history_window: 1 << 40,
            ..config()
        },
        PipelineConfig {
            order_type: OrderType::Pov { rate: f64::NAN },
            ..config()
        },
        PipelineConfig {
            universe: (0..70_000).map(|i| AssetId::new(format!("X{i}"))).collect(),
            ..config()
        },
    ] {
        assert!(bad.validate().is_err());
        let json = serde_json::to_string(&bad).unwrap();
        assert!(serde_json::from_str::<PipelineConfig>(&json).is_err());
    }
    let json = serde_json::to_string(&config()).unwrap();
    assert_eq!(serde_json::from_str::<PipelineConfig>(&json).unwrap(), config());
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["min_history"] = 1000.into();
    assert!(serde_json::from_value::<PipelineConfig>(v).is_err());
    let bc = serde_json::to_string(&quiet()).unwrap();
    assert_eq!(serde_json::from_str::<BacktestConfig>(&bc).unwrap(), quiet());
    assert!(serde_json::from_str::<BacktestConfig>(&bc.replace("5.0", "-5.0")).is_err());
    for ratio in [1.0, f64::NAN, 0.5] {
        let c = BacktestConfig {
            max_price_ratio: ratio,
            ..quiet()
        };
        assert!(walk_forward(&mut pipeline(None, Box::new(Equal)), &snapshots(5, 1), &c).is_err());
    }
}

/// A learner's own error does not stop the others: every learner sees the accepted outcome,
/// the first error is returned, and the positions follow the outcome.
#[test]
fn a_failing_learner_does_not_stop_the_others() {
    #[derive(Default)]
    struct Count(usize);
    impl OnlineLearner<Outcome> for Count {
        fn learn(&mut self, _: &Outcome) -> RoleResult<()> {
            self.0 += 1;
            Ok(())
        }
    }
    struct Refuse;
    impl OnlineLearner<Outcome> for Refuse {
        fn learn(&mut self, _: &Outcome) -> RoleResult<()> {
            Err(CoreError::EmptyInput {
                field: "nothing",
                len: 0,
                min: 1,
            }
            .into())
        }
    }
    let count = Shared::new(Count::default());
    let mut p = PipelineBuilder::new(config())
        .forecaster(Box::new(Momentum))
        .optimizer(Box::new(Equal))
        .learner(Box::new(Refuse))
        .learner(Box::new(count.clone()))
        .build()
        .unwrap();
    let snaps = snapshots(15, 17);
    for s in &snaps[..12] {
        let _ = p.decide(s).unwrap();
    }
    let sized = p.decide(&snaps[12]).unwrap().decision.sized;
    let err = p.learn(&Outcome::default()).unwrap_err();
    assert!(matches!(
        err,
        PipelineError::Stage {
            stage: Stage::Learn,
            ..
        }
    ));
    assert_eq!(count.lock().0, 1);
    for a in ids() {
        assert_eq!(p.current_weights().get(&a), sized.get(&a));
    }
}
