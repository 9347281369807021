//! Behaviour of the decide/learn flows with small user-defined stages.

use std::sync::{Arc, Mutex};

use prudentia_core::traits::*;
use prudentia_core::*;
use prudentia_pipeline::*;

const N: usize = 4;

fn ids() -> Vec<AssetId> {
    (0..N).map(|i| AssetId::new(format!("A{i}"))).collect()
}

/// Deterministic price paths (seeded LCG), one snapshot per day; feature 0 = last return.
fn snapshots(days: usize, seed: u64) -> Vec<MarketSnapshot> {
    let mut s = seed;
    let mut next = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 11) as f64) / ((1u64 << 53) as f64) - 0.5
    };
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
            snapshot_at(d, &prices, &last_ret)
        })
        .collect()
}

fn snapshot_at(d: usize, prices: &[f64], feat: &[f64]) -> MarketSnapshot {
    let time = Timestamp::from_nanos(d as i64 * Timestamp::NANOS_PER_DAY);
    let ids = ids();
    MarketSnapshot {
        time,
        quotes: ids
            .iter()
            .zip(prices)
            .map(|(id, p)| Quote {
                asset: id.clone(),
                time,
                price: *p,
                volume: Some(1e6),
                spread_bps: Some(2.0),
            })
            .collect(),
        indicators: vec![],
        assets: ids
            .iter()
            .zip(prices.iter().zip(feat))
            .map(|(id, (p, f))| {
                let mut a = AssetInfo::new(id.clone(), *p).unwrap();
                a.features = vec![*f];
                a
            })
            .collect(),
    }
}

struct Momentum;
impl Forecaster for Momentum {
    fn forecast(&self, asset: &AssetInfo, _: &RegimeState) -> RoleResult<Forecast> {
        Ok(Forecast::new(asset.features[0], 0.02, Horizon::DAY)?)
    }
}

/// Long the assets with positive forecast, equal weight, fully invested.
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

/// Refuses any snapshot with a non-finite price.
struct NanGuard;
impl Guard for NanGuard {
    fn screen(&mut self, s: &MarketSnapshot) -> RoleResult<Screened> {
        let bad: Vec<String> = s
            .quotes
            .iter()
            .filter(|q| !q.price.is_finite())
            .map(|q| format!("{}: non-finite price", q.asset))
            .collect();
        if bad.is_empty() {
            Ok(Screened::Clean {
                snapshot: s.clone(),
                repaired: 0,
                quarantined: 0,
            })
        } else {
            Ok(Screened::SafeFallback {
                quarantined_share: bad.len() as f64 / s.quotes.len() as f64,
                reasons: bad,
            })
        }
    }
}

#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<(MarketSnapshot, DecisionRecord)>>>);
impl AuditSink for Sink {
    fn record(&mut self, s: &MarketSnapshot, r: &DecisionRecord) -> RoleResult<()> {
        self.0.lock().unwrap().push((s.clone(), r.clone()));
        Ok(())
    }
}

#[derive(Clone, Default)]
struct Counter(Arc<Mutex<usize>>);
impl OnlineLearner<Outcome> for Counter {
    fn learn(&mut self, _: &Outcome) -> RoleResult<()> {
        *self.0.lock().unwrap() += 1;
        Ok(())
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

fn pipeline() -> Pipeline {
    PipelineBuilder::new(config())
        .guard(Box::new(NanGuard))
        .forecaster(Box::new(Momentum))
        .optimizer(Box::new(LongPositive))
        .build()
        .unwrap()
}

fn quiet() -> BacktestConfig {
    BacktestConfig {
        show_progress: false,
        ..Default::default()
    }
}

#[test]
fn same_inputs_and_seed_give_identical_decisions() {
    let snaps = snapshots(80, 1);
    let a = walk_forward(&mut pipeline(), &snaps, &quiet()).unwrap();
    let b = walk_forward(&mut pipeline(), &snaps, &quiet()).unwrap();
    assert_eq!(
        serde_json::to_string(&a.decisions).unwrap(),
        serde_json::to_string(&b.decisions).unwrap()
    );
    assert_eq!(a.equity, b.equity);
    assert!(a.decisions.iter().any(|d| !d.orders.is_empty()));
}

#[test]
fn decision_at_t_ignores_data_after_t() {
    let snaps = snapshots(80, 2);
    let t = 40;
    let mut altered = snaps.clone();
    let other = snapshots(80, 99);
    for k in (t + 1)..altered.len() {
        // different prices and features after t, same times
        altered[k].quotes = other[k].quotes.clone();
        altered[k].assets = other[k].assets.clone();
    }
    let a = walk_forward(&mut pipeline(), &snaps, &quiet()).unwrap();
    let b = walk_forward(&mut pipeline(), &altered, &quiet()).unwrap();
    for k in 0..=t {
        assert_eq!(a.decisions[k], b.decisions[k], "decision {k} changed");
    }
    assert_ne!(a.decisions[t + 2..], b.decisions[t + 2..]);
}

#[test]
fn guard_refusal_is_a_safe_fallback_that_keeps_positions() {
    let mut snaps = snapshots(40, 3);
    snaps[30].quotes[1].price = f64::NAN;
    let run = walk_forward(&mut pipeline(), &snaps, &quiet()).unwrap();
    let d = &run.decisions[30];
    match &d.status {
        DecisionStatus::SafeFallback { reasons } => {
            assert_eq!(reasons, &vec!["A1: non-finite price".to_string()])
        }
        other => panic!("expected fallback, got {other:?}"),
    }
    assert!(d.orders.is_empty());
    assert_eq!(run.turnover[30], 0.0);
    // warm-up fallbacks before min_history
    assert!(matches!(
        run.decisions[3].status,
        DecisionStatus::SafeFallback { .. }
    ));
    assert!(matches!(run.decisions[20].status, DecisionStatus::Normal));
}

#[test]
fn a_replaced_stage_drives_the_weights() {
    struct AllInFirst;
    impl Optimizer for AllInFirst {
        fn optimize(&self, input: &PortfolioInput<'_>) -> RoleResult<TargetPortfolio> {
            let id = input.opportunities[0].asset.id.clone();
            Ok(TargetPortfolio {
                weights: Weights::new(vec![id], vec![1.0])?,
                status: Status::Converged,
            })
        }
    }
    let mut p = PipelineBuilder::new(config())
        .forecaster(Box::new(Momentum))
        .optimizer(Box::new(AllInFirst))
        .build()
        .unwrap();
    let run = walk_forward(&mut p, &snapshots(30, 4), &quiet()).unwrap();
    let last = run.decisions.last().unwrap();
    assert_eq!(last.sized.assets, vec![AssetId::new("A0")]);
    assert_eq!(last.sized.values, vec![1.0]);
}

#[test]
fn audit_records_chain_and_learners_are_called() {
    // The FNV chain moved out of the pipeline: the audit store chains records with SHA-256
    // (prudentia-audit). The pipeline hands every raw snapshot with its record, numbered,
    // seeded and content-addressed; the model hash covers configuration and model state.
    let sink = Sink::default();
    let counter = Counter::default();
    let state = Shared::new(vec![1.0_f64]);
    let mut p = PipelineBuilder::new(config())
        .forecaster(Box::new(Momentum))
        .optimizer(Box::new(LongPositive))
        .audit(Box::new(sink.clone()))
        .model_state("momentum", Box::new(state.clone()))
        .learner(Box::new(counter.clone()))
        .build()
        .unwrap();
    let snaps = snapshots(25, 5);
    walk_forward(&mut p, &snaps, &quiet()).unwrap();
    let recs = sink.0.lock().unwrap();
    assert_eq!(recs.len(), 24);
    assert_eq!(*counter.0.lock().unwrap(), 24);
    assert_eq!(recs[0].1.sequence, 0);
    for w in recs.windows(2) {
        assert_eq!(w[1].1.sequence, w[0].1.sequence + 1);
        assert_ne!(w[1].1.seed, w[0].1.seed);
        assert_eq!(w[1].1.model_hash, w[0].1.model_hash);
    }
    for (k, (s, r)) in recs.iter().enumerate() {
        assert_eq!(s, &snaps[k]);
        assert_eq!(r.inputs_digest, sha256_hex(&serde_json::to_vec(s).unwrap()));
        assert_eq!(r.model_hash.len(), 64);
        assert!(!r.timings_ns.is_empty());
    }
    assert!(recs[23].1.timings_ns.iter().any(|(s, _)| s == "forecast"));
    // a changed model changes the hash of the next record
    let before = recs[23].1.model_hash.clone();
    drop(recs);
    state.lock()[0] = 2.0;
    let _ = p.decide(&snapshots(27, 5)[25]).unwrap();
    let recs = sink.0.lock().unwrap();
    assert_ne!(recs[24].1.model_hash, before);
}

#[test]
fn stage_errors_name_the_stage_and_keep_the_typed_source() {
    #[derive(Debug, thiserror::Error)]
    #[error("model exploded")]
    struct Boom;
    struct Failing;
    impl Forecaster for Failing {
        fn forecast(&self, _: &AssetInfo, _: &RegimeState) -> RoleResult<Forecast> {
            Err(RoleError::implementation(Role::Forecaster, Boom))
        }
    }
    // stopping on a stage error (the default turns it into a recorded SafeFallback)
    let stop = PipelineConfig {
        on_stage_error: OnStageError::Stop,
        ..config()
    };
    let mut p = PipelineBuilder::new(stop)
        .forecaster(Box::new(Failing))
        .optimizer(Box::new(LongPositive))
        .build()
        .unwrap();
    let snaps = snapshots(20, 6);
    let err = walk_forward(&mut p, &snaps, &quiet()).unwrap_err();
    assert!(err.time().is_some_and(|t| snaps.iter().any(|s| s.time == t)));
    match &err {
        PipelineError::Stage { stage, source, .. } => {
            assert_eq!(*stage, Stage::Forecast);
            let inner = std::error::Error::source(source).unwrap();
            assert!(inner.downcast_ref::<Boom>().is_some());
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn bad_configuration_and_input_are_typed_errors() {
    let no_forecaster = PipelineBuilder::new(config())
        .optimizer(Box::new(LongPositive))
        .build();
    assert!(matches!(
        no_forecaster,
        Err(PipelineError::MissingStage {
            stage: Stage::Forecast
        })
    ));
    let no_optimizer = PipelineBuilder::new(config())
        .forecaster(Box::new(Momentum))
        .build();
    assert!(matches!(
        no_optimizer,
        Err(PipelineError::MissingStage {
            stage: Stage::Optimize
        })
    ));
    for bad in [
        PipelineConfig {
            universe: vec![],
            ..config()
        },
        PipelineConfig {
            min_history: 50,
            ..config()
        },
        PipelineConfig {
            universe: vec!["X".into(), "X".into()],
            ..config()
        },
        PipelineConfig {
            initial_equity: f64::NAN,
            ..config()
        },
    ] {
        assert!(matches!(
            PipelineBuilder::new(bad)
                .forecaster(Box::new(Momentum))
                .optimizer(Box::new(LongPositive))
                .build(),
            Err(PipelineError::Core(_))
        ));
    }
    let mut p = pipeline();
    let snaps = snapshots(5, 7);
    assert!(walk_forward(&mut p, &snaps[..1], &quiet()).is_err());
    let mut backwards = snaps.clone();
    backwards.swap(1, 2);
    assert!(matches!(
        walk_forward(&mut pipeline(), &backwards, &quiet()),
        Err(PipelineError::Core(CoreError::NotIncreasing { .. }))
    ));
    let nan = Outcome {
        realized_returns: vec![("A0".into(), f64::NAN)],
        ..Default::default()
    };
    assert!(p.learn(&nan).is_err());
    let neg_cost = BacktestConfig {
        cost_bps: -1.0,
        show_progress: false,
        ..Default::default()
    };
    assert!(walk_forward(&mut pipeline(), &snaps, &neg_cost).is_err());
}

#[test]
fn pipeline_is_send() {
    fn check<T: Send>() {}
    check::<Pipeline>();
}

#[test]
fn forecast_learners_get_raw_forecasts_with_realized_returns_and_shared_stages_see_both_flows() {
    #[derive(Default)]
    struct Collect(Vec<ForecastOutcome>);
    impl OnlineLearner<ForecastOutcome> for Collect {
        fn learn(&mut self, e: &ForecastOutcome) -> RoleResult<()> {
            self.0.push(e.clone());
            Ok(())
        }
    }
    /// Scales the mean by 2 when applied; counts outcomes when learning.
    #[derive(Default)]
    struct Doubler(usize);
    impl Calibrator for Doubler {
        fn calibrate(&self, f: &Forecast, _: &RegimeState) -> RoleResult<Forecast> {
            let mut g = f.clone();
            g.mean *= 2.0;
            Ok(g)
        }
    }
    impl OnlineLearner<Outcome> for Doubler {
        fn learn(&mut self, _: &Outcome) -> RoleResult<()> {
            self.0 += 1;
            Ok(())
        }
    }
    let collect = Shared::new(Collect::default());
    let doubler = Shared::new(Doubler::default());
    let mut p = PipelineBuilder::new(config())
        .forecaster(Box::new(Momentum))
        .calibrator(Box::new(doubler.clone()))
        .learner(Box::new(doubler.clone()))
        .optimizer(Box::new(LongPositive))
        .forecast_learner(Box::new(collect.clone()))
        .build()
        .unwrap();
    let snaps = snapshots(30, 8);
    let run = walk_forward(&mut p, &snaps, &quiet()).unwrap();
    let normal = run
        .decisions
        .iter()
        .filter(|d| d.status == DecisionStatus::Normal)
        .count();
    let events = &collect.lock().0;
    assert_eq!(events.len(), normal * N);
    assert_eq!(doubler.lock().0, 29);
    // the event carries the raw forecast; the decision the calibrated one
    let last = run.decisions.last().unwrap();
    let raw = &events[events.len() - N];
    assert_eq!(last.forecasts[0].1.mean, 2.0 * raw.forecast.mean);
    // and the realized return of the period after the decision
    let t = snaps.len() - 2;
    let expect = snaps[t + 1].quotes[0].price / snaps[t].quotes[0].price - 1.0;
    assert!((raw.realized - expect).abs() < 1e-15);
}

#[test]
fn backtest_keeps_outcomes_and_builds_a_metrics_report() {
    let snaps = snapshots(80, 9);
    let run = walk_forward(&mut pipeline(), &snaps, &quiet()).unwrap();
    assert_eq!(run.outcomes.len(), run.decisions.len());
    assert_eq!(run.outcomes[0].time, Some(snaps[1].time));
    let report = run.report(prudentia_metrics::ReportConfig::default()).unwrap();
    let json = report.to_json().unwrap();
    assert!(json.contains("sharpe") || json.contains("Sharpe"));
    // equity path and returns agree
    let mut e = 1_000_000.0;
    for (r, eq) in run.returns.iter().zip(&run.equity) {
        e *= 1.0 + r;
        assert!((e - eq).abs() < 1e-6 * e);
    }
}

#[test]
fn faults_in_decision_data_do_not_leak_into_realized_returns() {
    let prices = snapshots(60, 10);
    let mut faulty = prices.clone();
    faulty[30].quotes[2].price = f64::NAN; // the guard refuses this snapshot
    let run = walk_forward_with_prices(&mut pipeline(), &faulty, &prices, &quiet()).unwrap();
    let clean = walk_forward(&mut pipeline(), &prices, &quiet()).unwrap();
    assert!(matches!(
        run.decisions[30].status,
        DecisionStatus::SafeFallback { .. }
    ));
    // the fallback keeps the regime of the previous decision rather than `unknown`
    assert_eq!(run.decisions[30].regime, run.decisions[29].regime);
    // returns of the step are marked at the true prices
    for (a, b) in run.outcomes[30]
        .realized_returns
        .iter()
        .zip(&clean.outcomes[30].realized_returns)
    {
        assert_eq!(a, b);
    }
    assert_eq!(run.optimizer_status.len(), run.decisions.len());
    assert!(run.optimizer_status[30].is_none());
    assert_eq!(run.optimizer_status[40], Some(Status::Converged));
    assert!(walk_forward_with_prices(&mut pipeline(), &faulty, &prices[..59], &quiet()).is_err());
    let mut shifted = prices.clone();
    shifted[5].time = Timestamp::from_nanos(shifted[5].time.as_nanos() + 1);
    assert!(walk_forward_with_prices(&mut pipeline(), &faulty, &shifted, &quiet()).is_err());
}

/// Records what the fill learners receive.
#[derive(Clone, Default)]
struct FillRecorder(Arc<Mutex<Vec<Learned>>>);
/// What a fill learner saw: the order's asset and quantity, the fill's quantity, the market's time.
type Learned = (AssetId, f64, f64, Timestamp);
impl<'a> OnlineLearner<ExecutedOrder<'a>> for FillRecorder {
    fn learn(&mut self, e: &ExecutedOrder<'a>) -> RoleResult<()> {
        self.0.lock().unwrap().push((
            e.order.asset.clone(),
            e.order.quantity,
            e.fill.quantity,
            e.market.time,
        ));
        Ok(())
    }
}

fn fill_of(o: &Order, time: Timestamp, quantity: f64, arrival: f64) -> Fill {
    Fill {
        asset: o.asset.clone(),
        time,
        side: o.side,
        quantity,
        price: arrival * 1.001,
        arrival_price: arrival,
        order_type: o.order_type,
        venue: o.venue.clone(),
    }
}

#[test]
fn fills_reach_the_fill_learners_with_their_order_and_market_and_bad_fills_change_nothing() {
    let snaps = snapshots(60, 3);
    let recorder = FillRecorder::default();
    let mut p = PipelineBuilder::new(config())
        .forecaster(Box::new(Momentum))
        .optimizer(Box::new(LongPositive))
        .fill_learner(Box::new(recorder.clone()))
        .build()
        .unwrap();
    let mut t = 0;
    let report = loop {
        let r = p.decide(&snaps[t]).unwrap();
        if !r.decision.orders.is_empty() {
            break r;
        }
        p.learn(&Outcome::default()).unwrap();
        t += 1;
    };
    let order = &report.decision.orders[0];
    let time = report.decision.time;
    let arrival = snaps[t]
        .quotes
        .iter()
        .find(|q| q.asset == order.asset)
        .unwrap()
        .price;
    let good = fill_of(order, time, order.quantity, arrival);
    let other_side = Fill {
        side: match order.side {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        },
        ..good.clone()
    };
    let before_decision = Fill {
        time: Timestamp::from_nanos(time.as_nanos() - 1),
        ..good.clone()
    };
    let (w0, e0) = (p.current_weights().clone(), p.equity());
    for (k, fills) in [
        vec![other_side],
        vec![fill_of(order, time, order.quantity * 2.0, arrival)],
        vec![good.clone(), good.clone()],
        vec![before_decision],
    ]
    .into_iter()
    .enumerate()
    {
        let bad = Outcome {
            fills,
            ..Default::default()
        };
        assert!(p.learn(&bad).is_err(), "bad fills {k} accepted");
        assert_eq!(p.current_weights(), &w0, "bad fills {k} moved positions");
        assert_eq!(p.equity().to_bits(), e0.to_bits());
        assert!(recorder.0.lock().unwrap().is_empty(), "bad fills {k} learned");
    }
    // a partial fill is fine
    let half = fill_of(order, time, order.quantity / 2.0, arrival);
    p.learn(&Outcome {
        fills: vec![half],
        ..Default::default()
    })
    .unwrap();
    let got = recorder.0.lock().unwrap().clone();
    assert_eq!(
        got,
        vec![(order.asset.clone(), order.quantity, order.quantity / 2.0, time)]
    );
    // the orders were learned with their outcome: the same fill again is refused
    let again = Outcome {
        fills: vec![good],
        ..Default::default()
    };
    assert!(p.learn(&again).is_err());
    assert_eq!(recorder.0.lock().unwrap().len(), 1);
}

/// Fills every order at 10 bp worse than its arrival price.
struct TenBpBroker;
impl Broker for TenBpBroker {
    fn execute(
        &mut self,
        orders: &[Order],
        market: &MarketSnapshot,
        _until: Timestamp,
        _seed: u64,
    ) -> RoleResult<Vec<Fill>> {
        Ok(orders
            .iter()
            .map(|o| {
                let arrival = market.quotes.iter().find(|q| q.asset == o.asset).unwrap().price;
                let sign = if o.side == Side::Buy { 1.0 } else { -1.0 };
                Fill {
                    price: arrival * (1.0 + sign * 1e-3),
                    ..fill_of(o, market.time, o.quantity, arrival)
                }
            })
            .collect())
    }
}

#[test]
fn a_brokers_fills_are_learned_and_are_the_runs_trading_cost() {
    let snaps = snapshots(80, 5);
    // 10 bp on every order's notional = 10 bp on the turnover: the same run as a linear cost
    // of 10 bp without a broker
    let linear = BacktestConfig {
        cost_bps: 10.0,
        ..quiet()
    };
    let recorder = FillRecorder::default();
    let mut with = PipelineBuilder::new(config())
        .forecaster(Box::new(Momentum))
        .optimizer(Box::new(LongPositive))
        .broker(Box::new(TenBpBroker))
        .fill_learner(Box::new(recorder.clone()))
        .build()
        .unwrap();
    assert!(with.has_broker());
    let a = walk_forward(&mut with, &snaps, &quiet()).unwrap();
    let b = walk_forward(&mut pipeline(), &snaps, &linear).unwrap();
    // the same books; order quantities are whole shares, so the broker's cost differs from
    // the linear one by the rounding only (~1e-7 of equity per order here)
    assert_eq!(a.decisions.len(), b.decisions.len());
    for (x, y) in a.decisions.iter().zip(&b.decisions) {
        assert_eq!(x.sized, y.sized);
    }
    let orders: usize = a.decisions.iter().map(|d| d.orders.len()).sum();
    let fills: usize = a.outcomes.iter().map(|o| o.fills.len()).sum();
    assert!(orders > 20);
    // the fills' cost is booked: without it (no broker, no linear cost) returns are higher
    let free = BacktestConfig {
        cost_bps: 0.0,
        ..quiet()
    };
    let c = walk_forward(&mut pipeline(), &snaps, &free).unwrap();
    let (paid, gross): (f64, f64) = (a.returns.iter().sum(), c.returns.iter().sum());
    assert!(gross - paid > 1e-3 * 0.5, "{gross} vs {paid}");
    assert_eq!(fills, orders);
    assert_eq!(recorder.0.lock().unwrap().len(), orders);
    for (t, (x, y)) in a.returns.iter().zip(&b.returns).enumerate() {
        assert!((x - y).abs() < 1e-6, "period {t}: {x} vs {y}");
    }
}

/// `realized_returns` finds each asset's first quote through a map built once per snapshot
/// (it searched the quotes once per universe asset): the same returns, bit for bit, as the
/// former linear search, on snapshots with repeated, missing, reordered, non-finite, zero,
/// negative and implausible quotes and assets outside the universe.
#[test]
fn realized_returns_match_the_former_linear_search_bit_for_bit() {
    fn former(universe: &[AssetId], now: &MarketSnapshot, next: &MarketSnapshot) -> Vec<(AssetId, f64)> {
        let price = |s: &MarketSnapshot, id: &AssetId| {
            s.quotes
                .iter()
                .find(|q| &q.asset == id)
                .map(|q| q.price)
                .filter(|p| p.is_finite() && *p > 0.0)
        };
        universe
            .iter()
            .filter_map(|id| match (price(now, id), price(next, id)) {
                (Some(a), Some(b)) if plausible_ratio(b / a) => Some((id.clone(), b / a - 1.0)),
                _ => None,
            })
            .collect()
    }
    // (the crate's own check, `history::plausible_ratio`)
    fn plausible_ratio(ratio: f64) -> bool {
        ratio.is_finite() && (1.0 / MAX_PRICE_RATIO..=MAX_PRICE_RATIO).contains(&ratio)
    }
    let mut rng = prudentia_core::rng::SplitMix64::new(9);
    let universe: Vec<AssetId> = (0..25).map(|i| AssetId::new(format!("U{i}"))).collect();
    let snapshot = |rng: &mut prudentia_core::rng::SplitMix64| {
        let mut s = MarketSnapshot {
            time: Timestamp::from_nanos(0),
            quotes: Vec::new(),
            indicators: Vec::new(),
            assets: Vec::new(),
        };
        for _ in 0..rng.next_u64() % 60 {
            let k = rng.next_u64() % 30;
            let price = match rng.next_u64() % 10 {
                0 => f64::NAN,
                1 => 0.0,
                2 => -1.0,
                3 => f64::INFINITY,
                4 => 1e300,
                5 => 5e-324,
                _ => 50.0 + 100.0 * rng.next_f64(),
            };
            s.quotes.push(Quote {
                asset: AssetId::new(format!("U{k}")),
                time: Timestamp::from_nanos(0),
                price,
                volume: None,
                spread_bps: None,
            });
        }
        s
    };
    let mut compared = 0;
    for _ in 0..300 {
        let (a, b) = (snapshot(&mut rng), snapshot(&mut rng));
        let got = realized_returns(&universe, &a, &b);
        let want = former(&universe, &a, &b);
        let bits = |v: &[(AssetId, f64)]| {
            v.iter()
                .map(|(a, r)| (a.clone(), r.to_bits()))
                .collect::<Vec<_>>()
        };
        assert_eq!(bits(&got), bits(&want));
        compared += want.len();
    }
    assert!(compared > 300, "{compared} returns compared");
}

/// A large snapshot's digest taken on a second thread while the stages run
/// ([`PipelineBuilder::digest_aside`], the default) is the digest taken in the audit stage:
/// the SHA-256 of the snapshot's JSON, and the records are the same with it off.
#[test]
fn digests_taken_aside_equal_digests_taken_in_the_audit_stage() {
    let mut snaps = snapshots(30, 8);
    for s in &mut snaps {
        let time = s.time;
        // 600 values: above the size from which the digest is taken aside
        s.indicators.extend((0..600).map(|i| Indicator {
            name: format!("pad-{i}"),
            time,
            value: 0.5 * i as f64 + time.as_nanos() as f64 * 1e-18,
        }));
    }
    let run = |aside: bool| {
        let sink = Sink::default();
        let mut p = PipelineBuilder::new(config())
            .forecaster(Box::new(Momentum))
            .optimizer(Box::new(LongPositive))
            .audit(Box::new(sink.clone()))
            .digest_aside(aside)
            .build()
            .unwrap();
        walk_forward(&mut p, &snaps, &quiet()).unwrap();
        let mut recs = sink.0.lock().unwrap().clone();
        for (_, r) in &mut recs {
            r.timings_ns.clear();
        }
        recs
    };
    let (aside, inline) = (run(true), run(false));
    assert_eq!(aside.len(), 29);
    assert_eq!(aside, inline);
    for (s, r) in &aside {
        assert_eq!(r.inputs_digest, sha256_hex(&serde_json::to_vec(s).unwrap()));
    }
}
