//! prudentia-pipeline under bad input: `decide` and `learn` on corrupted snapshots and
//! outcomes, walk-forward runs on small corrupted series, and checkpoint mutation of the
//! pipeline's serde types. Pipelines are built from the role crates (defense guard, portfolio
//! optimizer, Kelly sizer) and small local stages, as the end-to-end tests do.

use proptest::prelude::*;
use prudentia_adversarial::{result, result_with, strategies::*, Check, Suite};
use prudentia_core::traits::*;
use prudentia_core::*;
use prudentia_defense::{SnapshotGuard, SnapshotGuardConfig};
use prudentia_kelly::sizer::{KellySizer, KellySizerConfig};
use prudentia_pipeline::*;
use prudentia_portfolio::{Limits, PortfolioConfig, PortfolioOptimizer};

const N: usize = 4;

fn ids() -> Vec<AssetId> {
    (0..N).map(|i| AssetId::new(format!("A{i}"))).collect()
}

/// Clean price paths (seeded, ±1 % a day), one snapshot per day; feature 0 = last return.
fn snapshots(days: usize, seed: u64) -> Vec<MarketSnapshot> {
    let mut s = seed;
    let mut next = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 11) as f64) / ((1u64 << 53) as f64) - 0.5
    };
    let mut prices = vec![100.0; N];
    let mut last = vec![0.0; N];
    (0..days)
        .map(|d| {
            if d > 0 {
                for i in 0..N {
                    let r = 0.0005 * i as f64 + 0.02 * next();
                    prices[i] *= 1.0 + r;
                    last[i] = r;
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
                    .zip(prices.iter().zip(&last))
                    .map(|(id, (p, f))| {
                        let mut a = AssetInfo::new(id.clone(), *p).unwrap();
                        a.features = vec![*f];
                        a.adv_shares = Some(1e7);
                        a.borrow_available_shares = Some(1e6);
                        a
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Mean = feature 0 (or 0), sigma 2 %.
struct Momentum;
impl Forecaster for Momentum {
    fn forecast(&self, asset: &AssetInfo, _: &RegimeState) -> RoleResult<Forecast> {
        let f = asset.features.first().copied().unwrap_or(0.0);
        Ok(Forecast::new(f + 1e-4, 0.02, Horizon::DAY)?)
    }
}

/// Equal weight over the opportunities.
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

fn config() -> PipelineConfig {
    PipelineConfig {
        universe: ids(),
        history_window: 20,
        min_history: 5,
        seed: 3,
        ..Default::default()
    }
}

/// Chain 0: defense guard + equal weights. Chain 1: defense guard + portfolio optimizer +
/// shared Kelly sizer (also a learner).
fn chain(kind: u8, config: PipelineConfig) -> PipelineResult<Pipeline> {
    let b = PipelineBuilder::new(config)
        .guard(Box::new(
            SnapshotGuard::new(SnapshotGuardConfig::default()).unwrap(),
        ))
        .forecaster(Box::new(Momentum));
    if kind == 0 {
        return b.optimizer(Box::new(Equal)).build();
    }
    let sizer = Shared::new(KellySizer::new(KellySizerConfig::default()).unwrap());
    b.optimizer(Box::new(
        PortfolioOptimizer::new(PortfolioConfig {
            limits: Limits {
                weight_min: 0.0,
                weight_max: 0.5,
                net_min: Some(1.0),
                net_max: Some(1.0),
                ..Default::default()
            },
            ..Default::default()
        })
        .unwrap(),
    ))
    .sizer(Box::new(sizer.clone()))
    .learner(Box::new(sizer))
    .build()
}

fn quiet() -> BacktestConfig {
    BacktestConfig {
        show_progress: false,
        ..Default::default()
    }
}

/// A pipeline of `kind` warmed on 12 clean days, and the next clean snapshot.
fn warmed(kind: u8) -> (Pipeline, MarketSnapshot) {
    let snaps = snapshots(14, 7);
    let mut p = chain(kind, config()).unwrap();
    walk_forward(&mut p, &snaps[..13], &quiet()).unwrap();
    (p, snaps[13].clone())
}

/// Every weight change of a decision is an order on the right side or a reported
/// unexecuted change; no order without a change.
fn conservation(before: &Weights, r: &DecisionReport) -> Result<(), String> {
    let d = &r.decision;
    let mut assets: Vec<&AssetId> = d.sized.assets.iter().chain(&before.assets).collect();
    assets.sort();
    assets.dedup();
    for a in assets {
        let (from, to) = (before.get(a), d.sized.get(a));
        let orders = d.orders.iter().filter(|o| &o.asset == a).count();
        let skipped: Vec<&UnexecutedChange> = r.unexecuted.iter().filter(|u| &u.asset == a).collect();
        if orders + skipped.len() > 1 {
            return Err(format!(
                "{a}: {orders} orders and {} unexecuted entries",
                skipped.len()
            ));
        }
        if orders == 1 && from == to {
            return Err(format!("{a}: an order without a weight change"));
        }
        if orders == 0 && skipped.is_empty() && from != to {
            return Err(format!("{a}: weight {from} -> {to} without an order or a report"));
        }
        if let Some(u) = skipped.first() {
            if u.reason.keeps_position() && to != from {
                return Err(format!("{a}: untradable change moved the book"));
            }
        }
    }
    Ok(())
}

/// Decides on `snap` after warming, judges the report, and checks a failed decide left the
/// pipeline's book as it was.
fn decide_on(kind: u8, snap: MarketSnapshot) -> Check {
    let (mut p, _) = warmed(kind);
    let before = p.current_weights().clone();
    let (e0, steps) = (p.equity(), p.steps());
    match p.decide(&snap) {
        Ok(r) => result_with(Ok::<_, String>(r), |r| conservation(&before, r)),
        Err(_) => Check::invariant(
            p.current_weights() == &before && p.equity() == e0 && p.steps() <= steps + 1,
            "a failed decide changed the book",
        )
        .and(|| Check::Rejected),
    }
}

/// The damage a table entry does to the next snapshot.
#[derive(Debug, Clone, Copy)]
enum Damage {
    QuotePrice(usize, f64),
    AssetPrice(usize, f64),
    BothPrices(usize, f64),
    AllQuotes(f64),
    FutureQuote(usize),
    DuplicateQuote(usize, f64),
    NoQuotes,
    NoAssets,
    MissingAsset(usize),
    DuplicateAsset(usize),
    ForeignAsset,
    LotSize(usize, f64),
    Feature(usize, f64),
    StaleTime,
}

fn damage(s: &mut MarketSnapshot, d: Damage) {
    let (nq, na) = (s.quotes.len().max(1), s.assets.len().max(1));
    match d {
        Damage::QuotePrice(i, v) => s.quotes.get_mut(i % nq).into_iter().for_each(|q| q.price = v),
        Damage::AssetPrice(i, v) => s.assets.get_mut(i % na).into_iter().for_each(|a| a.price = v),
        Damage::BothPrices(i, v) => {
            s.quotes.get_mut(i % nq).into_iter().for_each(|q| q.price = v);
            s.assets.get_mut(i % na).into_iter().for_each(|a| a.price = v);
        }
        Damage::AllQuotes(v) => s.quotes.iter_mut().for_each(|q| q.price = v),
        Damage::FutureQuote(i) => s.quotes.get_mut(i % nq).into_iter().for_each(|q| {
            q.time = Timestamp::from_nanos(q.time.as_nanos() + 3 * Timestamp::NANOS_PER_DAY);
            q.price *= 1.3;
        }),
        Damage::DuplicateQuote(i, f) => {
            if let Some(q) = s.quotes.get(i % nq) {
                let mut q = q.clone();
                q.price *= f;
                s.quotes.push(q);
            }
        }
        Damage::NoQuotes => s.quotes.clear(),
        Damage::NoAssets => s.assets.clear(),
        Damage::MissingAsset(i) => {
            if i % na < s.assets.len() {
                s.assets.remove(i % na);
            }
            if i % nq < s.quotes.len() {
                s.quotes.remove(i % nq);
            }
        }
        Damage::DuplicateAsset(i) => {
            if let Some(a) = s.assets.get(i % na) {
                let mut a = a.clone();
                a.price *= 2.0;
                s.assets.push(a);
            }
        }
        Damage::ForeignAsset => {
            let mut a = AssetInfo::new("ZZ", 10.0).unwrap();
            a.features = vec![0.01];
            s.assets.push(a);
            s.quotes.push(Quote {
                asset: "ZZ".into(),
                time: s.time,
                price: f64::NAN,
                volume: None,
                spread_bps: None,
            });
        }
        Damage::LotSize(i, v) => s.assets.get_mut(i % na).into_iter().for_each(|a| a.lot_size = v),
        Damage::Feature(i, v) => s
            .assets
            .get_mut(i % na)
            .into_iter()
            .for_each(|a| a.features = vec![v]),
        Damage::StaleTime => s.time = Timestamp::from_nanos(0),
    }
}

fn damage_strategy() -> impl Strategy<Value = Vec<Damage>> {
    let one = prop_oneof![
        (0..N, special_f64()).prop_map(|(i, v)| Damage::QuotePrice(i, v)),
        (0..N, special_f64()).prop_map(|(i, v)| Damage::AssetPrice(i, v)),
        (0..N, price()).prop_map(|(i, v)| Damage::BothPrices(i, v)),
        price().prop_map(Damage::AllQuotes),
        (0..N).prop_map(Damage::FutureQuote),
        (0..N, finite_f64()).prop_map(|(i, f)| Damage::DuplicateQuote(i, f)),
        Just(Damage::NoQuotes),
        Just(Damage::NoAssets),
        (0..N).prop_map(Damage::MissingAsset),
        (0..N).prop_map(Damage::DuplicateAsset),
        Just(Damage::ForeignAsset),
        (0..N, any_f64()).prop_map(|(i, v)| Damage::LotSize(i, v)),
        (0..N, any_f64()).prop_map(|(i, v)| Damage::Feature(i, v)),
    ];
    proptest::collection::vec(one, 1..4)
}

type OutcomeDraw = (Vec<(usize, f64)>, Option<f64>, Option<(f64, f64)>);

fn outcome_strategy() -> impl Strategy<Value = OutcomeDraw> {
    (
        proptest::collection::vec((0..N + 1, any_f64()), 0..6),
        proptest::option::of(any_f64()),
        proptest::option::of((any_f64(), any_f64())),
    )
}

fn series_strategy() -> impl Strategy<Value = (usize, Vec<(usize, Vec<Damage>)>, u8, f64)> {
    (
        2usize..14,
        proptest::collection::vec((0usize..14, damage_strategy()), 0..4),
        0u8..2,
        any_f64(),
    )
}

#[test]
fn pipeline_build_decide_learn() {
    let mut s = Suite::new("pipeline");

    // Construction: bad configurations and sizes are typed errors.
    let sizes = [0usize, 1, 2, 1 << 20, 1 << 40, usize::MAX];
    for w in sizes {
        s.check(format!("build history_window {w}"), move || {
            let c = PipelineConfig {
                history_window: w,
                min_history: 2,
                ..config()
            };
            match chain(0, c) {
                Ok(p) => Check::ok_finite(&p.equity()),
                Err(_) => Check::Rejected,
            }
        });
        s.check(format!("ReturnHistory::new {w}x{w}"), move || {
            result(ReturnHistory::new(w, w).map(|h| h.len()))
        });
    }
    for e in SPECIAL_F64 {
        s.check(format!("build initial_equity {e}"), move || {
            match chain(
                1,
                PipelineConfig {
                    initial_equity: e,
                    ..config()
                },
            ) {
                Ok(p) => Check::ok_finite(&p.equity()),
                Err(_) => Check::Rejected,
            }
        });
        s.check(format!("build POV rate {e}"), move || {
            let c = PipelineConfig {
                order_type: OrderType::Pov { rate: e },
                ..config()
            };
            match chain(0, c) {
                Ok(mut p) => {
                    let run = walk_forward(&mut p, &snapshots(12, 1), &quiet());
                    result(run)
                }
                Err(_) => Check::Rejected,
            }
        });
    }
    s.check("build empty universe", || {
        match chain(
            0,
            PipelineConfig {
                universe: vec![],
                ..config()
            },
        ) {
            Ok(_) => Check::Broken("an empty universe was accepted".into()),
            Err(_) => Check::Rejected,
        }
    });
    s.sweep(
        "ReturnHistory push",
        (
            1usize..5,
            2usize..6,
            proptest::collection::vec(vec_f64(0..6), 1..8),
        ),
        |(n, w, rows)| {
            let mut h = match ReturnHistory::new(n, w) {
                Ok(h) => h,
                Err(_) => return Check::Rejected,
            };
            for r in &rows {
                let before = h.clone();
                if h.push_prices(r).is_err() && h != before {
                    return Check::Broken("a refused push changed the history".into());
                }
            }
            if h.len() >= 2 {
                result(h.correlation())
            } else {
                result(h.returns(&[0]))
            }
        },
    );

    // decide on a corrupted snapshot, after a clean warm-up, for both chains.
    for kind in [0u8, 1] {
        let table = [
            Damage::QuotePrice(1, f64::NAN),
            Damage::QuotePrice(1, 0.0),
            Damage::QuotePrice(1, -5.0),
            Damage::QuotePrice(1, 1e300),
            Damage::QuotePrice(1, 5e-324),
            Damage::QuotePrice(1, f64::MAX),
            Damage::AssetPrice(2, f64::NAN),
            Damage::AssetPrice(2, 0.0),
            Damage::AssetPrice(2, -1.0),
            Damage::AssetPrice(2, 1e300),
            Damage::AssetPrice(2, 5e-324),
            Damage::BothPrices(0, 1e300),
            Damage::BothPrices(0, 5e-324),
            Damage::AllQuotes(1e300),
            Damage::AllQuotes(5e-324),
            Damage::AllQuotes(f64::NAN),
            Damage::FutureQuote(3),
            Damage::DuplicateQuote(1, 3.0),
            Damage::NoQuotes,
            Damage::NoAssets,
            Damage::MissingAsset(2),
            Damage::DuplicateAsset(1),
            Damage::ForeignAsset,
            Damage::LotSize(1, f64::NAN),
            Damage::LotSize(1, 0.0),
            Damage::LotSize(1, 5e-324),
            Damage::LotSize(1, 1e300),
            Damage::Feature(1, f64::NAN),
            Damage::Feature(1, 1e300),
            Damage::StaleTime,
        ];
        for d in table {
            s.check(format!("decide chain {kind} on {d:?}"), move || {
                let (_, mut snap) = warmed(kind);
                damage(&mut snap, d);
                let verdict = decide_on(kind, snap);
                // with local stages, every damage but a stale time must give a decision
                // (a fallback at worst): bad prices are carried, bad asset facts excluded
                let must_decide = kind == 0 && !matches!(d, Damage::StaleTime);
                match verdict {
                    Check::Rejected if must_decide => Check::Broken(format!("{d:?} was refused")),
                    Check::Ok if matches!(d, Damage::StaleTime) => {
                        Check::Broken("a snapshot older than the last decision was accepted".into())
                    }
                    other => other,
                }
            });
        }
        s.sweep(
            &format!("decide chain {kind} on random damage"),
            damage_strategy(),
            move |ds| {
                let (_, mut snap) = warmed(kind);
                for d in ds {
                    damage(&mut snap, d);
                }
                match decide_on(kind, snap) {
                    Check::Rejected if kind == 0 => Check::Broken("damaged data was refused".into()),
                    other => other,
                }
            },
        );
    }

    // learn: bad outcomes are refused and change nothing; accepted ones keep equity finite.
    for kind in [0u8, 1] {
        s.sweep(
            &format!("learn chain {kind}"),
            outcome_strategy(),
            move |(rets, equity, fill)| {
                let (mut p, snap) = warmed(kind);
                if p.decide(&snap).is_err() {
                    return Check::Broken("a clean decide failed".into());
                }
                let names: Vec<AssetId> = ids().into_iter().chain(["ZZ".into()]).collect();
                let o = Outcome {
                    time: Some(Timestamp::from_nanos(
                        snap.time.as_nanos() + Timestamp::NANOS_PER_DAY,
                    )),
                    realized_returns: rets.iter().map(|(i, r)| (names[*i].clone(), *r)).collect(),
                    fills: fill
                        .map(|(q, px)| Fill {
                            asset: ids()[0].clone(),
                            time: snap.time,
                            side: Side::Buy,
                            quantity: q,
                            price: px,
                            arrival_price: 100.0,
                            order_type: OrderType::Market,
                            venue: None,
                        })
                        .into_iter()
                        .collect(),
                    equity,
                };
                let (w0, e0) = (p.current_weights().clone(), p.equity());
                match p.learn(&o) {
                    Ok(()) => Check::ok_finite(&(p.equity(), p.current_weights())).and(|| {
                        let next = snapshots(15, 7)[14].clone();
                        match p.decide(&next) {
                            Ok(r) => Check::ok_finite(&r),
                            Err(e) => Check::Broken(format!("decide after an accepted learn failed: {e}")),
                        }
                    }),
                    Err(PipelineError::Stage { .. }) => Check::Rejected, // a learner's own refusal
                    Err(_) => Check::invariant(
                        p.current_weights() == &w0 && p.equity().to_bits() == e0.to_bits(),
                        "a refused outcome changed the pipeline",
                    )
                    .and(|| Check::Rejected),
                }
            },
        );
    }

    s.finish();
}

#[test]
fn pipeline_walk_forward() {
    let mut s = Suite::new("pipeline walk_forward");
    s.sweep(
        "walk_forward on a small corrupted series",
        series_strategy(),
        |(len, hits, kind, cost)| {
            let mut snaps = snapshots(len, 5);
            for (t, ds) in hits {
                if t > 0 && t < snaps.len() {
                    for d in ds {
                        if !matches!(d, Damage::StaleTime) {
                            damage(&mut snaps[t], d);
                        }
                    }
                }
            }
            let mut p = chain(kind, config()).unwrap();
            let c = BacktestConfig {
                cost_bps: if cost.is_finite() { cost.abs() } else { cost },
                ..quiet()
            };
            result_with(walk_forward(&mut p, &snaps, &c), |r| {
                let n = r.decisions.len();
                if [
                    r.returns.len(),
                    r.equity.len(),
                    r.turnover.len(),
                    r.outcomes.len(),
                    r.unexecuted.len(),
                ]
                .iter()
                .any(|&l| l != n)
                {
                    return Err("per-decision lists of different lengths".into());
                }
                if r.returns.iter().any(|x| x.abs() > 9.0) {
                    return Err(format!("an implausible period return {:?}", r.returns));
                }
                Ok(())
            })
        },
    );
    s.sweep(
        "walk_forward_with_prices, corrupted marks",
        series_strategy(),
        |(len, hits, kind, _)| {
            let snaps = snapshots(len, 6);
            let mut marks = snaps.clone();
            for (t, ds) in hits {
                if t < marks.len() {
                    for d in ds {
                        if !matches!(d, Damage::StaleTime) {
                            damage(&mut marks[t], d);
                        }
                    }
                }
            }
            let mut p = chain(kind, config()).unwrap();
            result_with(walk_forward_with_prices(&mut p, &snaps, &marks, &quiet()), |r| {
                if r.returns.iter().any(|x| x.abs() > 9.0) {
                    return Err(format!("an implausible period return {:?}", r.returns));
                }
                Ok(())
            })
        },
    );
    for (label, mut snaps) in [
        ("one snapshot", snapshots(1, 1)),
        ("empty", vec![]),
        ("repeated times", snapshots(6, 1)),
    ] {
        if label == "repeated times" {
            snaps[3].time = snaps[2].time;
        }
        s.check(format!("walk_forward {label}"), move || {
            let mut p = chain(0, config()).unwrap();
            result(walk_forward(&mut p, &snaps, &quiet()))
        });
    }
    s.finish();
}

#[test]
fn pipeline_checkpoints() {
    let mut s = Suite::new("pipeline checkpoints");
    s.checkpoint("PipelineConfig", &config(), |json| {
        let c: PipelineConfig = match serde_json::from_str(&json) {
            Ok(c) => c,
            Err(_) => return Check::Rejected,
        };
        // a valid universe of other names is still a valid configuration; use the data's names
        if c.universe != ids() {
            return Check::invariant(c.validate().is_ok(), "a loaded configuration does not validate");
        }
        let mut p = match chain(0, c) {
            Ok(p) => p,
            Err(e) => return Check::Broken(format!("a loaded configuration does not build: {e}")),
        };
        result(walk_forward(&mut p, &snapshots(10, 2), &quiet()))
    });

    let mut h = ReturnHistory::new(3, 4).unwrap();
    for p in [
        [100.0, 50.0, 10.0],
        [101.0, 49.0, 10.5],
        [99.0, 51.0, 10.2],
        [100.5, 50.5, 10.1],
    ] {
        h.push_prices(&p).unwrap();
    }
    s.checkpoint("ReturnHistory", &h, |json| {
        let mut h: ReturnHistory = match serde_json::from_str(&json) {
            Ok(h) => h,
            Err(_) => return Check::Rejected,
        };
        let n = h.last_prices().map_or(3, |l| l.len());
        let pushed = h.push_prices(&vec![100.0; n]);
        let cols: Vec<usize> = (0..n).collect();
        match (pushed, h.returns(&cols)) {
            (Ok(()), Ok(r)) => Check::ok_finite(&r).and(|| {
                if h.len() >= 2 {
                    result(h.correlation())
                } else {
                    Check::Ok
                }
            }),
            _ => Check::Rejected,
        }
    });

    s.checkpoint("BacktestConfig", &quiet(), |json| {
        let c: BacktestConfig = match serde_json::from_str(&json) {
            Ok(c) => c,
            Err(_) => return Check::Rejected,
        };
        let c = BacktestConfig {
            show_progress: false,
            ..c
        };
        let mut p = chain(0, config()).unwrap();
        result(walk_forward(&mut p, &snapshots(10, 3), &c))
    });

    let mut snaps = snapshots(9, 4);
    snaps[6].quotes[1].price *= 1e6;
    let mut p = chain(0, config()).unwrap();
    let run = walk_forward(&mut p, &snaps, &quiet()).unwrap();
    s.checkpoint("BacktestResult", &run, |json| {
        let r: BacktestResult = match serde_json::from_str(&json) {
            Ok(r) => r,
            Err(_) => return Check::Rejected,
        };
        let n = r.decisions.len();
        Check::ok_finite(&r).and(|| {
            Check::invariant(
                r.returns.len() == n && r.equity.len() == n && r.times.len() == n,
                "a loaded result has lists of different lengths",
            )
        })
    });
    s.finish();
}

/// A router that fails on the orders of the assets in `fail` (bit i: asset `A{i}`), as a
/// router whose context cannot be built from the snapshot does, and gives the orders of the
/// assets in `bad` the limit price `x` (possibly NaN, infinite, zero or negative).
struct Flaky {
    fail: u8,
    bad: u8,
    x: f64,
}
impl ExecutionPolicy for Flaky {
    fn route(&self, o: &Order, _: &MarketSnapshot, _: u64) -> RoleResult<Order> {
        let i = ids().iter().position(|a| *a == o.asset).unwrap_or(0);
        if self.fail & (1 << i) != 0 {
            return Err(RoleError::implementation(Role::Execution, std::fmt::Error));
        }
        let mut o = o.clone();
        if self.bad & (1 << i) != 0 {
            o.order_type = OrderType::Limit;
            o.limit_price = Some(self.x);
        }
        Ok(o)
    }
}

#[test]
fn pipeline_route_fallback() {
    let mut s = Suite::new("pipeline (route fallback)");
    s.sweep(
        "decide with a router failing on some orders and mispricing others",
        (0u8..16, 0u8..16, any_f64(), 0u64..4),
        |(fail, bad, x, seed)| {
            let snaps = snapshots(15, 7 + seed);
            let built = PipelineBuilder::new(config())
                .guard(Box::new(
                    SnapshotGuard::new(SnapshotGuardConfig::default()).unwrap(),
                ))
                .forecaster(Box::new(Momentum))
                .optimizer(Box::new(Equal))
                .execution(Box::new(Flaky { fail, bad, x }))
                .build();
            let mut p = match built {
                Ok(p) => p,
                Err(e) => return Check::Broken(format!("valid pipeline refused: {e}")),
            };
            let run = match walk_forward(&mut p, &snaps, &quiet()) {
                Ok(r) => r,
                Err(e) => return Check::Broken(format!("a route failure stopped the run: {e}")),
            };
            for d in &run.decisions {
                for o in &d.orders {
                    let failed = ids()
                        .iter()
                        .position(|a| *a == o.asset)
                        .is_some_and(|i| fail & (1 << i) != 0);
                    // a failed order is sent as the pipeline made it: never the router's price
                    if failed && o.limit_price.is_some() {
                        return Check::Broken(format!("an unrouted order carries a limit price: {o:?}"));
                    }
                }
            }
            result(Ok::<_, String>(run.decisions))
        },
    );
    s.finish();
}
