//! prudentia-pipeline's newer entry points under bad input (#18): `PipelineState` and
//! `RunCheckpoint` checkpoints mutated field by field (every mutation is refused, or loads
//! into a pipeline that then decides / resumes without a panic or a NaN), `Pipeline::restore`
//! with foreign states, `run_grid` with absurd grids, `PipelineBuilder::selector_with_k` with
//! k = 0 / usize::MAX, `RefitSchedule` with every = 0 / huge windows, and
//! `resume_walk_forward` with tampered checkpoints, and a `Broker` whose fills are bad.

use proptest::prelude::*;
use prudentia_adversarial::{result, result_with, strategies::any_size, Check, Suite};
use prudentia_core::traits::*;
use prudentia_core::validate::MAX_WINDOW;
use prudentia_core::*;
use prudentia_defense::{SnapshotGuard, SnapshotGuardConfig};
use prudentia_kelly::sizer::{KellySizer, KellySizerConfig};
use prudentia_pipeline::*;
use serde::{Deserialize, Serialize};

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

/// Mean = feature 0 (+ the refitted mean shift), sigma 2 %.
struct Momentum(Shared<MeanShift>);
impl Forecaster for Momentum {
    fn forecast(&self, asset: &AssetInfo, _: &RegimeState) -> RoleResult<Forecast> {
        let f = asset.features.first().copied().unwrap_or(0.0);
        let shift = self.0.lock().shift;
        Ok(Forecast::new(f + 1e-4 + shift, 0.02, Horizon::DAY)?)
    }
}

/// A batch model refitted from past outcomes: a small shift of the forecast mean (the mean
/// realized return of the window, clipped to ±1 %), with a count of its refits.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct MeanShift {
    shift: f64,
    refits: u64,
}

impl Refit for MeanShift {
    fn refit(&mut self, _: Timestamp, data: &[RefitPoint]) -> RoleResult<()> {
        let (mut sum, mut n) = (0.0, 0usize);
        for o in data.iter().filter_map(|p| p.outcome.as_ref()) {
            for (_, r) in &o.realized_returns {
                sum += r;
                n += 1;
            }
        }
        let shift = if n == 0 { 0.0 } else { sum / n as f64 };
        if !shift.is_finite() {
            return Err(CoreError::NonFinite {
                field: "refit shift",
                index: 0,
                value: shift,
            }
            .into());
        }
        self.shift = shift.clamp(-0.01, 0.01);
        self.refits = self.refits.saturating_add(1);
        Ok(())
    }
}

/// Equal weight over the opportunities.
struct Equal;
impl Optimizer for Equal {
    fn optimize(&self, input: &PortfolioInput<'_>) -> RoleResult<TargetPortfolio> {
        let n = input.opportunities.len();
        let ids = input.opportunities.iter().map(|o| o.asset.id.clone()).collect();
        Ok(TargetPortfolio {
            weights: Weights::new(ids, vec![1.0 / n.max(1) as f64; n])?,
            status: Status::Converged,
        })
    }
}

/// The first `min(k, n)` opportunities.
struct FirstK(usize);
impl Selector for FirstK {
    fn select(&self, opportunities: &[Opportunity], _: ndarray::ArrayView2<'_, f64>) -> RoleResult<Slate> {
        let k = self.0.min(opportunities.len());
        Ok(Slate {
            indices: (0..k).collect(),
            objective: k as f64,
            gap: Some(0.0),
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

fn quiet() -> BacktestConfig {
    BacktestConfig {
        show_progress: false,
        ..Default::default()
    }
}

fn schedule(every: usize, window: RefitWindow) -> RefitSchedule {
    RefitSchedule {
        every,
        window,
        in_learn_flow: false,
    }
}

/// A pipeline with stage state: a shared guard, a shared Kelly sizer (also a learner) and a
/// refitted forecast shift, all registered for checkpoints; optionally a slate selector.
fn chain(config: PipelineConfig, refit: RefitSchedule, k: Option<usize>) -> PipelineResult<Pipeline> {
    let guard = Shared::new(SnapshotGuard::new(SnapshotGuardConfig::default()).expect("guard"));
    let sizer = Shared::new(KellySizer::new(KellySizerConfig::default()).expect("sizer"));
    let shift = Shared::new(MeanShift::default());
    let mut b = PipelineBuilder::new(config)
        .guard(Box::new(guard.clone()))
        .forecaster(Box::new(Momentum(shift.clone())))
        .optimizer(Box::new(Equal))
        .sizer(Box::new(sizer.clone()))
        .learner(Box::new(sizer.clone()))
        .refit("shift", refit, Box::new(shift.clone()))
        .stage_state("guard", Box::new(guard))
        .stage_state("sizer", Box::new(sizer))
        .stage_state("shift", Box::new(shift));
    if let Some(k) = k {
        b = b.selector_with_k(k, |k| Ok(Box::new(FirstK(k)) as Box<dyn Selector>));
    }
    b.build()
}

fn standard() -> Pipeline {
    chain(config(), schedule(3, RefitWindow::Trailing(10)), Some(2)).expect("pipeline")
}

/// Decides on `snap` and checks the report is finite.
fn decide_check(p: &mut Pipeline, snap: &MarketSnapshot) -> Check {
    result_with(p.decide(snap), |r| {
        if r.decision.sized.values.iter().all(|v| v.is_finite()) {
            Ok(())
        } else {
            Err("non-finite sized weights".into())
        }
    })
}

#[test]
fn pipeline_state_entry_points() {
    let mut s = Suite::new("pipeline_state");
    let snaps = snapshots(30, 11);

    // RefitSchedule: every = 0, windows of 0, the limit, beyond it and usize::MAX.
    for (every, window) in [
        (0, RefitWindow::Expanding),
        (0, RefitWindow::Trailing(5)),
        (1, RefitWindow::Trailing(0)),
        (1, RefitWindow::Trailing(MAX_WINDOW)),
        (1, RefitWindow::Trailing(MAX_WINDOW + 1)),
        (1, RefitWindow::Trailing(usize::MAX)),
        (1 << 40, RefitWindow::Trailing(1 << 40)),
        (usize::MAX, RefitWindow::Expanding),
        (usize::MAX, RefitWindow::Trailing(1)),
    ] {
        let sc = schedule(every, window);
        s.check(format!("RefitSchedule::validate {sc:?}"), move || {
            result(sc.validate())
        });
        let snaps = snaps.clone();
        s.check(format!("walk_forward with refit {sc:?}"), move || {
            let mut p = match chain(config(), sc, None) {
                Ok(p) => p,
                Err(_) => return Check::Rejected,
            };
            result_with(walk_forward(&mut p, &snaps[..12], &quiet()), |r| {
                if r.times.len() == 11 {
                    Ok(())
                } else {
                    Err(format!("{} decisions, expected 11", r.times.len()))
                }
            })
        });
    }
    // in the learn flow, refitting after every outcome over the whole history
    {
        let snaps = snaps.clone();
        s.check("walk_forward refit every decision in the learn flow", move || {
            let sc = RefitSchedule {
                every: 1,
                window: RefitWindow::Expanding,
                in_learn_flow: true,
            };
            let mut p = chain(config(), sc, None).expect("pipeline");
            result(walk_forward(&mut p, &snaps[..15], &quiet()))
        });
    }

    // seeded sweeps: schedules and slate sizes of any size
    {
        let snaps = snaps.clone();
        s.sweep(
            "walk_forward with a random refit schedule",
            (any_size(), any_size(), any::<bool>(), any::<bool>()),
            move |(every, n, trailing, in_learn_flow)| {
                let sc = RefitSchedule {
                    every,
                    window: if trailing {
                        RefitWindow::Trailing(n)
                    } else {
                        RefitWindow::Expanding
                    },
                    in_learn_flow,
                };
                match chain(config(), sc, None) {
                    Err(_) => Check::invariant(sc.validate().is_err(), "a valid schedule was refused"),
                    Ok(mut p) => result(walk_forward(&mut p, &snaps[..9], &quiet())),
                }
            },
        );
    }
    {
        let snaps = snaps.clone();
        s.sweep(
            "walk_forward with a random slate size",
            any_size(),
            move |k| match chain(config(), schedule(2, RefitWindow::Trailing(4)), Some(k)) {
                Err(_) => Check::invariant(k == 0, "only k = 0 is refused"),
                Ok(mut p) => result(walk_forward(&mut p, &snaps[..8], &quiet())),
            },
        );
    }

    // selector_with_k: 0 is a build error; usize::MAX, 1 << 40 and 1 decide.
    for k in [0usize, 1, 3, N, N + 1, 1 << 40, usize::MAX] {
        let snaps = snaps.clone();
        s.check(format!("selector_with_k {k}"), move || {
            let mut p = match chain(config(), schedule(2, RefitWindow::Trailing(4)), Some(k)) {
                Ok(p) => p,
                Err(_) => return Check::invariant(k == 0, "only k = 0 is refused"),
            };
            if k == 0 {
                return Check::invariant(false, "k = 0 was accepted");
            }
            result_with(walk_forward(&mut p, &snaps[..10], &quiet()), |r| {
                if r.times.len() == 9 {
                    Ok(())
                } else {
                    Err(format!("{} decisions, expected 9", r.times.len()))
                }
            })
        });
    }
    // a make(k) that fails for every k, and one that fails only for large k
    for fail_above in [0usize, 2] {
        let snaps = snaps.clone();
        s.check(format!("selector_with_k failing above {fail_above}"), move || {
            let b = PipelineBuilder::new(config())
                .forecaster(Box::new(Momentum(Shared::new(MeanShift::default()))))
                .optimizer(Box::new(Equal))
                .selector_with_k(usize::MAX, move |k| {
                    if k > fail_above {
                        Err(CoreError::OutOfRange {
                            field: "k",
                            value: k as f64,
                            expected: "small",
                        }
                        .into())
                    } else {
                        Ok(Box::new(FirstK(k)) as Box<dyn Selector>)
                    }
                });
            match b.build() {
                Err(_) => Check::Rejected,
                Ok(mut p) => result(walk_forward(&mut p, &snaps[..10], &quiet())),
            }
        });
    }

    // run_grid: empty, huge with failing builds, a bad backtest config, a mix.
    s.check("run_grid empty", || {
        let r = run_grid(
            &Vec::<u64>::new(),
            &GridConfig::default(),
            |_| -> PipelineResult<(Pipeline, &[MarketSnapshot])> { unreachable!("no parameters") },
        );
        Check::invariant(r.runs.is_empty() && !r.table().is_empty(), "an empty report")
    });
    s.check("run_grid 100k failing builds", || {
        let params: Vec<u64> = (0..100_000).collect();
        let mut g = GridConfig::default();
        g.backtest.show_progress = false;
        let r = run_grid(&params, &g, |_| {
            chain(
                PipelineConfig {
                    universe: vec![],
                    ..config()
                },
                schedule(1, RefitWindow::Expanding),
                None,
            )
            .map(|p| (p, &[][..]))
        });
        Check::invariant(
            r.runs.len() == 100_000 && r.runs.iter().all(|x| x.result.is_err()),
            "every run reported as failed",
        )
    });
    {
        let snaps = snaps.clone();
        s.check("run_grid with an invalid backtest config", move || {
            let mut g = GridConfig::default();
            g.backtest.show_progress = false;
            g.backtest.max_price_ratio = f64::NAN;
            let params = [1u64, 2];
            let r = run_grid(&params, &g, |&seed| {
                let p = chain(
                    PipelineConfig { seed, ..config() },
                    schedule(2, RefitWindow::Trailing(5)),
                    None,
                )?;
                Ok((p, &snaps[..8]))
            });
            Check::invariant(r.runs.len() == 2, "one entry per parameter")
                .and(|| Check::ok_finite(&r.summaries().iter().map(|(_, x)| x.clone()).collect::<Vec<_>>()))
        });
    }
    {
        let snaps = snaps.clone();
        s.check("run_grid over empty, one-snapshot and normal runs", move || {
            let mut g = GridConfig::default();
            g.backtest.show_progress = false;
            let params: Vec<usize> = vec![0, 1, 2, 12, usize::MAX];
            let r = run_grid(&params, &g, |&n| {
                let p = chain(config(), schedule(2, RefitWindow::Trailing(5)), Some(2))?;
                Ok((p, &snaps[..n.min(snaps.len())]))
            });
            let _ = r.table();
            Check::invariant(r.runs.len() == params.len(), "one entry per parameter")
                .and(|| Check::ok_finite(&r.summaries().iter().map(|(_, x)| x.clone()).collect::<Vec<_>>()))
        });
    }

    // restore: a state of another configuration, a state missing a stage, an extra stage,
    // a state of a pipeline without stage states.
    let mut warm = standard();
    walk_forward(&mut warm, &snaps[..13], &quiet()).expect("warm-up");
    let state = warm.checkpoint().expect("checkpoint");
    {
        let st = state.clone();
        let next = snaps[13].clone();
        s.check("restore into the same build", move || {
            let mut p = standard();
            match p.restore(st) {
                Ok(()) => decide_check(&mut p, &next),
                Err(e) => Check::invariant(false, format!("own checkpoint refused: {e}")),
            }
        });
    }
    {
        let st = state.clone();
        s.check("restore into another configuration", move || {
            let mut p = chain(
                PipelineConfig { seed: 4, ..config() },
                schedule(3, RefitWindow::Trailing(10)),
                Some(2),
            )
            .expect("pipeline");
            let before = p.checkpoint().expect("checkpoint");
            let r = p.restore(st);
            Check::invariant(r.is_err(), "a foreign configuration is refused").and(|| {
                Check::invariant(
                    p.checkpoint().expect("checkpoint") == before,
                    "a refused restore changes nothing",
                )
            })
        });
    }
    {
        let mut st = state.clone();
        st.stages.retain(|(n, _)| n != "sizer");
        s.check("restore with a stage missing", move || {
            let mut p = standard();
            let before = p.checkpoint().expect("checkpoint");
            let r = p.restore(st);
            Check::invariant(r.is_err(), "a missing stage is refused").and(|| {
                Check::invariant(
                    p.checkpoint().expect("checkpoint") == before,
                    "a refused restore changes nothing",
                )
            })
        });
    }
    {
        let mut st = state.clone();
        // the last stage refuses its state: the earlier ones must be rolled back
        if let Some((_, v)) = st.stages.iter_mut().find(|(n, _)| n == "shift") {
            *v = serde_json::json!({"shift": "not a number"});
        }
        st.stages.push(("unknown".into(), serde_json::json!(null)));
        s.check("restore with a refusing last stage", move || {
            let mut p = standard();
            let before = p.checkpoint().expect("checkpoint");
            let r = p.restore(st);
            Check::invariant(r.is_err(), "a refused stage state is an error").and(|| {
                Check::invariant(
                    p.checkpoint().expect("checkpoint") == before,
                    "a refused restore changes nothing",
                )
            })
        });
    }

    // resume_walk_forward with tampered checkpoints.
    let mut p = standard();
    let cp = walk_forward_until(&mut p, &snaps[..20], &quiet(), 8).expect("checkpoint");
    for (label, n_snaps) in [
        ("same", 20),
        ("shorter", 9),
        ("too short", 8),
        ("empty", 0),
        ("longer", 30),
    ] {
        let cp = cp.clone();
        let snaps = snaps.clone();
        s.check(format!("resume_walk_forward on {label} snapshots"), move || {
            let mut p = standard();
            result(resume_walk_forward(&mut p, &snaps[..n_snaps], &quiet(), cp))
        });
    }
    {
        let cp = cp.clone();
        let other = snapshots(20, 99);
        s.check("resume_walk_forward on other snapshots", move || {
            let mut p = standard();
            result(resume_walk_forward(&mut p, &other, &quiet(), cp))
        });
    }
    {
        let cp = cp.clone();
        let snaps = snaps.clone();
        s.check("resume_walk_forward into another build", move || {
            let mut p = chain(config(), schedule(3, RefitWindow::Trailing(10)), None).expect("pipeline");
            result(resume_walk_forward(&mut p, &snaps[..20], &quiet(), cp))
        });
    }
    for decisions in [0usize, 1, usize::MAX] {
        let cp = cp.clone();
        let snaps = snaps.clone();
        s.check(format!("resume_walk_forward_until {decisions}"), move || {
            let mut p = standard();
            result(resume_walk_forward_until(
                &mut p,
                &snaps[..20],
                &quiet(),
                cp,
                decisions,
            ))
        });
    }
    // runs marked at separate true prices: checkpoints, resumes with bad prices, crossed kinds.
    let prices_cp = walk_forward_with_prices_until(&mut standard(), &snaps[..20], &snaps[..20], &quiet(), 8)
        .expect("checkpoint with prices");
    for (label, n_prices, shift) in [
        ("same", 20, false),
        ("shorter", 12, false),
        ("empty", 0, false),
        ("other times", 20, true),
    ] {
        let cp = prices_cp.clone();
        let snaps = snaps.clone();
        s.check(
            format!("resume_walk_forward_with_prices, {label} prices"),
            move || {
                let mut prices = snaps[..n_prices].to_vec();
                if shift {
                    for q in &mut prices {
                        q.time = Timestamp::from_nanos(q.time.as_nanos() + 1);
                    }
                }
                let mut p = standard();
                result(resume_walk_forward_with_prices(
                    &mut p,
                    &snaps[..20],
                    &prices,
                    &quiet(),
                    cp,
                ))
            },
        );
    }
    for decisions in [0usize, 1, usize::MAX] {
        let cp = prices_cp.clone();
        let snaps = snaps.clone();
        s.check(
            format!("resume_walk_forward_with_prices_until {decisions}"),
            move || {
                let mut p = standard();
                result(resume_walk_forward_with_prices_until(
                    &mut p,
                    &snaps[..20],
                    &snaps[..20],
                    &quiet(),
                    cp,
                    decisions,
                ))
            },
        );
    }
    {
        let (with_prices, plain) = (prices_cp.clone(), cp.clone());
        let snaps = snaps.clone();
        s.check("a checkpoint resumed as the other kind of run", move || {
            let mut p = standard();
            let a = resume_walk_forward(&mut p, &snaps[..20], &quiet(), with_prices).is_err();
            let b =
                resume_walk_forward_with_prices(&mut p, &snaps[..20], &snaps[..20], &quiet(), plain).is_err();
            Check::invariant(a && b, "a checkpoint was resumed as the other kind of run")
                .and(|| Check::Rejected)
        });
    }
    s.finish();
}

#[test]
fn pipeline_state_checkpoints() {
    let mut s = Suite::new("pipeline_state checkpoints");
    let snaps = snapshots(24, 5);
    let mut warm = standard();
    walk_forward(&mut warm, &snaps[..13], &quiet()).expect("warm-up");
    let state = warm.checkpoint().expect("checkpoint");
    let next = snaps[13].clone();
    s.checkpoint("PipelineState", &state, move |json| {
        let st: PipelineState = match serde_json::from_str(&json) {
            Ok(v) => v,
            Err(_) => return Check::Rejected,
        };
        let mut p = standard();
        if p.restore(st).is_err() {
            return Check::Rejected;
        }
        decide_check(&mut p, &next)
    });

    let mut p = standard();
    let cp = walk_forward_until(&mut p, &snaps[..16], &quiet(), 9).expect("checkpoint");
    s.checkpoint("RunCheckpoint", &cp, move |json| {
        let cp: RunCheckpoint = match serde_json::from_str(&json) {
            Ok(v) => v,
            Err(_) => return Check::Rejected,
        };
        let mut p = standard();
        result(resume_walk_forward(&mut p, &snaps[..16], &quiet(), cp))
    });
    s.finish();
}

/// A broker whose fills are damaged in one way: (field, value) of every fill, or a fill of
/// another asset, another side, twice the quantity, a time before the decision or after the
/// next snapshot, or no fill at all.
struct BadBroker(u8, f64);
impl Broker for BadBroker {
    fn execute(
        &mut self,
        orders: &[Order],
        market: &MarketSnapshot,
        until: Timestamp,
        _: u64,
    ) -> RoleResult<Vec<Fill>> {
        let price = |a: &AssetId| {
            market
                .quotes
                .iter()
                .find(|q| &q.asset == a)
                .map_or(100.0, |q| q.price)
        };
        Ok(orders
            .iter()
            .map(|o| {
                let mut f = Fill {
                    asset: o.asset.clone(),
                    time: market.time,
                    side: o.side,
                    quantity: o.quantity,
                    price: price(&o.asset),
                    arrival_price: price(&o.asset),
                    order_type: o.order_type,
                    venue: o.venue.clone(),
                };
                match self.0 {
                    0 => f.price = self.1,
                    1 => f.quantity = self.1,
                    2 => f.arrival_price = self.1,
                    3 => f.asset = AssetId::new("ZZ"),
                    4 => {
                        f.side = match f.side {
                            Side::Buy => Side::Sell,
                            Side::Sell => Side::Buy,
                        }
                    }
                    5 => f.quantity *= 2.0,
                    6 => f.time = Timestamp::from_nanos(market.time.as_nanos() - 1),
                    7 => f.time = Timestamp::from_nanos(until.as_nanos() + 1),
                    _ => {}
                }
                f
            })
            .filter(|_| self.0 != 8)
            .collect())
    }
}

#[test]
fn pipeline_broker_fills() {
    let mut s = Suite::new("pipeline_state broker");
    let snaps = snapshots(30, 5);
    for mode in 0u8..9 {
        let values: Vec<f64> = if mode < 3 {
            vec![f64::NAN, f64::INFINITY, -1.0, 0.0, 5e-324, 1e300, f64::MAX]
        } else {
            vec![0.0]
        };
        for v in values {
            let snaps = snaps.clone();
            s.check(
                format!("walk_forward with a broker, damage {mode} value {v:e}"),
                move || {
                    let mut p = PipelineBuilder::new(config())
                        .forecaster(Box::new(Momentum(Shared::new(MeanShift::default()))))
                        .optimizer(Box::new(Equal))
                        .broker(Box::new(BadBroker(mode, v)))
                        .build()
                        .expect("pipeline");
                    result_with(walk_forward(&mut p, &snaps, &quiet()), |r| {
                        if r.returns.iter().chain(&r.equity).all(|x| x.is_finite()) {
                            Ok(())
                        } else {
                            Err("non-finite return or equity".into())
                        }
                    })
                },
            );
        }
    }
    s.finish();
}
