//! Pipeline v2 (issue #18): a stage's error or a non-optimal status on one day is a recorded
//! `SafeFallback` (or, when configured, an error carrying the decision time), never a crash
//! of the run and never a silent trade; the selector's k shrinks to what is feasible.

use crate::common;

use common::*;
use ndarray::ArrayView2;
use prudentia_core::traits::*;
use prudentia_core::*;
use prudentia_pipeline::*;

/// The marker a stub stage fails on: every asset's feature 0 (so forecast means too).
const MARK: f64 = 0.012_345_6;
const BAD_DAY: usize = 20;

fn marked(days: usize) -> Vec<MarketSnapshot> {
    let mut snaps = snapshots(days, 3);
    for a in &mut snaps[BAD_DAY].assets {
        a.features[0] = MARK;
    }
    snaps
}

fn fail() -> RoleError {
    RoleError::implementation(Role::Optimizer, Boom)
}
fn marked_snapshot(s: &MarketSnapshot) -> bool {
    s.assets.iter().any(|a| a.features.first() == Some(&MARK))
}
fn marked_opportunities(o: &[Opportunity]) -> bool {
    o.iter().any(|o| o.forecast.mean == MARK)
}

/// Implements every role and fails on the marked day.
struct Failing;
impl Guard for Failing {
    fn screen(&mut self, s: &MarketSnapshot) -> RoleResult<Screened> {
        if marked_snapshot(s) {
            return Err(fail());
        }
        Ok(Screened::Clean {
            snapshot: s.clone(),
            repaired: 0,
            quarantined: 0,
        })
    }
}
impl RegimeDetector for Failing {
    fn observe(&mut self, s: &MarketSnapshot) -> RoleResult<RegimeState> {
        if marked_snapshot(s) {
            return Err(fail());
        }
        Ok(RegimeState::default())
    }
}
impl Forecaster for Failing {
    fn forecast(&self, a: &AssetInfo, r: &RegimeState) -> RoleResult<Forecast> {
        if a.features[0] == MARK {
            return Err(fail());
        }
        Momentum.forecast(a, r)
    }
}
impl Calibrator for Failing {
    fn calibrate(&self, f: &Forecast, _: &RegimeState) -> RoleResult<Forecast> {
        if f.mean == MARK {
            return Err(fail());
        }
        Ok(f.clone())
    }
}
impl CausalFilter for Failing {
    fn filter(&self, o: Vec<Opportunity>) -> RoleResult<Vec<Opportunity>> {
        if marked_opportunities(&o) {
            return Err(fail());
        }
        Ok(o)
    }
}
impl Selector for Failing {
    fn select(&self, o: &[Opportunity], _: ArrayView2<'_, f64>) -> RoleResult<Slate> {
        if marked_opportunities(o) {
            return Err(fail());
        }
        Ok(Slate {
            indices: (0..o.len()).collect(),
            objective: 0.0,
            gap: Some(0.0),
            status: Status::Converged,
        })
    }
}
impl Optimizer for Failing {
    fn optimize(&self, input: &PortfolioInput<'_>) -> RoleResult<TargetPortfolio> {
        if marked_opportunities(input.opportunities) {
            return Err(fail());
        }
        Tilt(Status::Converged).optimize(input)
    }
}
impl Sizer for Failing {
    fn size(&self, w: &Weights, c: &SizingContext<'_>) -> RoleResult<Weights> {
        if marked_opportunities(c.opportunities) {
            return Err(fail());
        }
        Ok(w.clone())
    }
}
impl CostModel for Failing {
    fn estimate(&self, _: &Order, m: &MarketSnapshot) -> RoleResult<CostEstimate> {
        if marked_snapshot(m) {
            return Err(fail());
        }
        Ok(CostEstimate {
            expected_bps: 1.0,
            std_bps: 0.5,
            lower_bps: None,
            upper_bps: None,
        })
    }
}
impl ExecutionPolicy for Failing {
    fn route(&self, o: &Order, m: &MarketSnapshot, _: u64) -> RoleResult<Order> {
        if marked_snapshot(m) {
            return Err(fail());
        }
        Ok(o.clone())
    }
}

fn with_failing(stage: Stage, config: PipelineConfig) -> Pipeline {
    let b = PipelineBuilder::new(config)
        .forecaster(Box::new(Momentum))
        .optimizer(Box::new(Tilt(Status::Converged)));
    let b = match stage {
        Stage::Guard => b.guard(Box::new(Failing)),
        Stage::Regime => b.regime(Box::new(Failing)),
        Stage::Forecast => b.forecaster(Box::new(Failing)),
        Stage::Calibrate => b.calibrator(Box::new(Failing)),
        Stage::Causal => b.causal(Box::new(Failing)),
        Stage::Select => b.selector(Box::new(Failing)),
        Stage::Optimize => b.optimizer(Box::new(Failing)),
        Stage::Size => b.sizer(Box::new(Failing)),
        Stage::Orders => b.costs(Box::new(Failing)),
        Stage::Route => b.execution(Box::new(Failing)),
        other => panic!("no stub for {other}"),
    };
    b.build().unwrap()
}

const STAGES: [Stage; 10] = [
    Stage::Guard,
    Stage::Regime,
    Stage::Forecast,
    Stage::Calibrate,
    Stage::Causal,
    Stage::Select,
    Stage::Optimize,
    Stage::Size,
    Stage::Orders,
    Stage::Route,
];

#[test]
fn a_failing_stage_on_one_day_is_a_recorded_fallback_and_the_run_goes_on() {
    let snaps = marked(30);
    for stage in STAGES {
        let mut p = with_failing(stage, config());
        let run = walk_forward(&mut p, &snaps, &quiet()).unwrap_or_else(|e| panic!("{stage}: {e}"));
        assert_eq!(run.decisions.len(), 29, "{stage}");
        assert_eq!(run.failures.len(), 1, "{stage}: {:?}", run.failures);
        let f = &run.failures[0];
        assert_eq!((f.stage, f.time), (stage, day(BAD_DAY)), "{stage}");
        assert!(
            f.reason.contains("stub failure on purpose"),
            "{stage}: {}",
            f.reason
        );
        let d = &run.decisions[BAD_DAY];
        match &d.status {
            DecisionStatus::SafeFallback { reasons } => {
                let expected = format!("stage `{stage}` failed on {}", day(BAD_DAY));
                assert!(
                    reasons.iter().any(|r| r.contains(&expected)),
                    "{stage}: {reasons:?}"
                );
            }
            other => panic!("{stage}: {other:?}"),
        }
        // positions kept: no order, the sized book is the book before the decision
        assert!(d.orders.is_empty(), "{stage}");
        assert_eq!(run.turnover[BAD_DAY], 0.0, "{stage}");
        // the days around it are normal decisions that trade
        for t in [BAD_DAY - 1, BAD_DAY + 1] {
            assert_eq!(run.decisions[t].status, DecisionStatus::Normal, "{stage} day {t}");
            assert!(!run.decisions[t].orders.is_empty(), "{stage} day {t}");
        }
    }
}

#[test]
fn stop_on_stage_error_returns_the_stage_and_the_decision_time() {
    let snaps = marked(30);
    let stop = PipelineConfig {
        on_stage_error: OnStageError::Stop,
        ..config()
    };
    for stage in STAGES {
        let mut p = with_failing(stage, stop.clone());
        let err = walk_forward(&mut p, &snaps, &quiet()).unwrap_err();
        assert_eq!(err.stage(), Some(stage), "{err}");
        assert_eq!(err.time(), Some(day(BAD_DAY)), "{stage}: {err}");
        let PipelineError::Stage { source, .. } = &err else {
            panic!("{err:?}")
        };
        let inner = std::error::Error::source(source).unwrap();
        assert!(inner.downcast_ref::<Boom>().is_some(), "{stage}");
    }
}

/// Decides over `snaps` with an optimizer of fixed `status`; the last report.
fn last_report(status: Status, config: PipelineConfig) -> DecisionReport {
    let snaps = snapshots(15, 4);
    let mut p = PipelineBuilder::new(config)
        .forecaster(Box::new(Momentum))
        .optimizer(Box::new(Tilt(status)))
        .build()
        .unwrap();
    let mut last = None;
    for s in &snaps {
        last = Some(p.decide(s).unwrap());
    }
    last.unwrap()
}

fn fallback_reasons(r: &DecisionReport) -> Vec<String> {
    match &r.decision.status {
        DecisionStatus::SafeFallback { reasons } => reasons.clone(),
        DecisionStatus::Normal => Vec::new(),
    }
}

#[test]
fn a_non_optimal_optimizer_result_is_not_traded_unless_allowed_and_is_always_visible() {
    // iteration limit, not allowed: positions kept, status and reason visible
    let r = last_report(Status::IterationLimit { iterations: 50 }, config());
    assert_eq!(
        r.optimizer_status,
        Some(Status::IterationLimit { iterations: 50 })
    );
    assert!(r.decision.orders.is_empty());
    let reasons = fallback_reasons(&r);
    assert!(
        reasons.iter().any(|s| s.contains("iteration limit")),
        "{reasons:?}"
    );
    assert!(!r.decision.forecasts.is_empty(), "forecasts stay visible");

    // allowed: traded, with a note
    let allow = PipelineConfig {
        trade_non_optimal: true,
        ..config()
    };
    let r = last_report(Status::IterationLimit { iterations: 50 }, allow.clone());
    assert_eq!(r.decision.status, DecisionStatus::Normal);
    assert_eq!(
        r.optimizer_status,
        Some(Status::IterationLimit { iterations: 50 })
    );
    assert!(!r.decision.orders.is_empty());
    assert!(
        r.notes.iter().any(|n| n.contains("iteration limit")),
        "{:?}",
        r.notes
    );

    // infeasible and numerical failures are never traded, even when allowed
    let infeasible = Status::Infeasible {
        culprits: vec!["weight_max".into(), "net_min".into()],
    };
    for (status, word) in [
        (infeasible, "weight_max, net_min"),
        (
            Status::Numerical {
                message: "singular system".into(),
            },
            "numerical",
        ),
    ] {
        for cfg in [config(), allow.clone()] {
            let r = last_report(status.clone(), cfg);
            assert_eq!(r.optimizer_status, Some(status.clone()));
            assert!(r.decision.orders.is_empty());
            assert_eq!(r.decision.sized, r.decision.target);
            let reasons = fallback_reasons(&r);
            assert!(reasons.iter().any(|s| s.contains(word)), "{reasons:?}");
        }
    }

    // the optimizer's own explicit fallback policy is traded and noted
    let fb = Status::Fallback {
        reason: "scaled down current weights".into(),
        cause: Box::new(Status::Infeasible {
            culprits: vec!["weight_max".into()],
        }),
    };
    let r = last_report(fb, config());
    assert_eq!(r.decision.status, DecisionStatus::Normal);
    assert!(
        r.notes.iter().any(|n| n.contains("scaled down current weights")),
        "{:?}",
        r.notes
    );
}

/// Picks the first k opportunities; fails when k is above `feasible` (like a selector whose
/// sector caps cannot hold) or above the number of opportunities.
struct FirstK {
    k: usize,
    feasible: usize,
}
impl Selector for FirstK {
    fn select(&self, o: &[Opportunity], _: ArrayView2<'_, f64>) -> RoleResult<Slate> {
        if self.k > o.len() || self.k > self.feasible {
            return Err(RoleError::implementation(Role::Selector, Boom));
        }
        Ok(Slate {
            indices: (0..self.k).collect(),
            objective: 0.0,
            gap: Some(0.0),
            status: Status::Converged,
        })
    }
}

fn with_k(k: usize, feasible: usize) -> Pipeline {
    PipelineBuilder::new(config())
        .forecaster(Box::new(Momentum))
        .optimizer(Box::new(Tilt(Status::Converged)))
        .selector_with_k(k, move |k| Ok(Box::new(FirstK { k, feasible })))
        .build()
        .unwrap()
}

#[test]
fn the_selector_shrinks_k_to_what_is_feasible_and_says_so() {
    let snaps = snapshots(15, 5);
    let last = |mut p: Pipeline| {
        let mut r = None;
        for s in &snaps {
            r = Some(p.decide(s).unwrap());
        }
        r.unwrap()
    };
    // k feasible: no note
    let r = last(with_k(2, 4));
    assert_eq!(r.decision.selected.len(), 2);
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    // k above the number of opportunities (N = 4)
    let r = last(with_k(9, 9));
    assert_eq!(r.decision.selected.len(), N);
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("k shrunk from 9 to 4") && n.contains("only 4")),
        "{:?}",
        r.notes
    );
    // k infeasible for the selector: halved until it works
    let r = last(with_k(4, 1));
    assert_eq!(r.decision.status, DecisionStatus::Normal);
    assert_eq!(r.decision.selected.len(), 1);
    assert!(
        r.notes.iter().any(|n| n.contains("k shrunk from 4 to 1")),
        "{:?}",
        r.notes
    );
    // nothing feasible at all: a recorded fallback at the select stage
    let r = last(with_k(3, 0));
    assert_eq!(r.failure.as_ref().map(|f| f.stage), Some(Stage::Select));
    // k = 0 is refused when building
    let built = PipelineBuilder::new(config())
        .forecaster(Box::new(Momentum))
        .optimizer(Box::new(Tilt(Status::Converged)))
        .selector_with_k(0, |k| Ok(Box::new(FirstK { k, feasible: 9 })))
        .build();
    assert!(built.is_err());
}

/// Like [`FirstK`], but reports an infeasible k the way the selection crate does: an empty
/// slate whose status is `Infeasible`, not an error.
struct FirstKWithStatus {
    k: usize,
    feasible: usize,
}
impl Selector for FirstKWithStatus {
    fn select(&self, o: &[Opportunity], _: ArrayView2<'_, f64>) -> RoleResult<Slate> {
        let ok = self.k <= o.len() && self.k <= self.feasible;
        Ok(Slate {
            indices: if ok { (0..self.k).collect() } else { Vec::new() },
            objective: 0.0,
            gap: None,
            status: if ok {
                Status::Converged
            } else {
                Status::Infeasible {
                    culprits: vec!["sector caps".into()],
                }
            },
        })
    }
}

#[test]
fn an_infeasible_slate_status_is_a_failed_selection_not_an_empty_slate() {
    let snaps = snapshots(15, 5);
    let last = |mut p: Pipeline| {
        let mut r = None;
        for s in &snaps {
            r = Some(p.decide(s).unwrap());
        }
        r.unwrap()
    };
    // a plain selector: the day is a recorded fallback at the select stage, with the status
    let p = PipelineBuilder::new(config())
        .forecaster(Box::new(Momentum))
        .optimizer(Box::new(Tilt(Status::Converged)))
        .selector(Box::new(FirstKWithStatus { k: 3, feasible: 1 }))
        .build()
        .unwrap();
    let r = last(p);
    let failure = r.failure.as_ref().expect("a recorded failure");
    assert_eq!(failure.stage, Stage::Select);
    assert!(r.decision.orders.is_empty());
    let reasons = fallback_reasons(&r);
    assert!(reasons.iter().any(|s| s.contains("sector caps")), "{reasons:?}");
    // with a k family: k shrinks until the slate is feasible
    let p = PipelineBuilder::new(config())
        .forecaster(Box::new(Momentum))
        .optimizer(Box::new(Tilt(Status::Converged)))
        .selector_with_k(4, |k| Ok(Box::new(FirstKWithStatus { k, feasible: 2 })))
        .build()
        .unwrap();
    let r = last(p);
    assert_eq!(r.decision.status, DecisionStatus::Normal);
    assert_eq!(r.decision.selected.len(), 2);
    assert!(
        r.notes.iter().any(|n| n.contains("k shrunk from 4 to 2")),
        "{:?}",
        r.notes
    );
}

/// A router whose context for one asset cannot be built (its market data is missing, as when
/// the guard quarantined the asset's volatility indicator): it fails on that asset only and
/// sends every other order to venue "X" as a limit order.
struct NoContextFor(AssetId);
impl ExecutionPolicy for NoContextFor {
    fn route(&self, o: &Order, _: &MarketSnapshot, _: u64) -> RoleResult<Order> {
        if o.asset == self.0 {
            return Err(fail());
        }
        Ok(Order {
            order_type: OrderType::Limit,
            venue: Some(Venue("X".into())),
            limit_price: Some(1.0),
            ..o.clone()
        })
    }
}

#[test]
fn an_order_the_router_cannot_route_is_sent_unrouted_with_a_note_and_the_day_trades() {
    let snaps = snapshots(30, 3);
    let bad = AssetId::new("A2");
    let mut p = PipelineBuilder::new(config())
        .forecaster(Box::new(Momentum))
        .optimizer(Box::new(Tilt(Status::Converged)))
        .execution(Box::new(NoContextFor(bad.clone())))
        .build()
        .unwrap();
    let mut checked = 0;
    for (t, s) in snaps.iter().enumerate().take(snaps.len() - 1) {
        let r = p.decide(s).unwrap();
        let outcome = Outcome {
            realized_returns: realized_returns(&ids(), s, &snaps[t + 1]),
            ..Default::default()
        };
        p.learn(&outcome).unwrap();
        if r.decision.orders.is_empty() {
            continue;
        }
        assert_eq!(r.decision.status, DecisionStatus::Normal, "{:?}", r.notes);
        assert!(r.failure.is_none());
        for o in &r.decision.orders {
            if o.asset == bad {
                // the default action: the order as the pipeline made it, unrouted
                assert_eq!(o.order_type, config().order_type);
                assert_eq!(o.venue, None);
                assert!(
                    r.notes
                        .iter()
                        .any(|n| n.starts_with("route: the order for A2 was not routed")
                            && n.contains("stub failure on purpose")),
                    "{:?}",
                    r.notes
                );
                checked += 1;
            } else {
                assert_eq!(o.venue, Some(Venue("X".into())));
            }
        }
    }
    assert!(
        checked > 0,
        "no decision traded the asset the router cannot route"
    );
}

/// A cost model and a router whose batch calls drop the last order's result.
struct DropsOne;
impl CostModel for DropsOne {
    fn estimate(&self, _: &Order, _: &MarketSnapshot) -> RoleResult<CostEstimate> {
        Ok(CostEstimate {
            expected_bps: 1.0,
            std_bps: 0.5,
            lower_bps: None,
            upper_bps: None,
        })
    }
    fn estimate_all(&self, orders: &[Order], m: &MarketSnapshot) -> Vec<RoleResult<CostEstimate>> {
        orders.iter().skip(1).map(|o| self.estimate(o, m)).collect()
    }
}
impl ExecutionPolicy for DropsOne {
    fn route(&self, o: &Order, _: &MarketSnapshot, _: u64) -> RoleResult<Order> {
        Ok(o.clone())
    }
    fn route_all(
        &self,
        orders: &[Order],
        m: &MarketSnapshot,
        seeds: &[u64],
    ) -> RoleResult<Vec<RoleResult<Order>>> {
        Ok(orders
            .iter()
            .zip(seeds)
            .skip(1)
            .map(|(o, &s)| self.route(o, m, s))
            .collect())
    }
}

#[test]
fn a_batch_role_call_without_a_result_per_order_fails_its_stage() {
    let snaps = snapshots(30, 3);
    let stop = PipelineConfig {
        on_stage_error: OnStageError::Stop,
        ..config()
    };
    for stage in [Stage::Orders, Stage::Route] {
        let b = PipelineBuilder::new(stop.clone())
            .forecaster(Box::new(Momentum))
            .optimizer(Box::new(Tilt(Status::Converged)));
        let mut p = match stage {
            Stage::Orders => b.costs(Box::new(DropsOne)),
            _ => b.execution(Box::new(DropsOne)),
        }
        .build()
        .unwrap();
        let err = walk_forward(&mut p, &snaps, &quiet()).unwrap_err();
        assert_eq!(err.stage(), Some(stage), "{err}");
        assert!(
            matches!(
                &err,
                PipelineError::Stage {
                    source: RoleError::Core(CoreError::ShapeMismatch { .. }),
                    ..
                }
            ),
            "{err:?}"
        );
    }
}
