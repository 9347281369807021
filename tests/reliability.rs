//! End-to-end reliability of the assembled chain (every role crate) on the synthetic market
//! under data faults (issue #22): a quote off by orders of magnitude, quarantined by the
//! defense guard, is not P&L; every weight change of every decision is an order or a reported
//! unexecuted change.

use prudentia::core::traits::RoleResult;
use prudentia::core::{DecisionStatus, MarketSnapshot};
use prudentia::datasets::{ForecasterSpec, SyntheticConfig, SyntheticMarket};
use prudentia::defense::{SnapshotGuard, SnapshotGuardConfig};
use prudentia::kelly::sizer::{KellySizer, KellySizerConfig};
use prudentia::pipeline::{
    walk_forward, BacktestConfig, BacktestResult, Pipeline, PipelineBuilder, PipelineConfig, PriceFaultKind,
    Shared,
};
use prudentia::portfolio::{Limits, PortfolioConfig, PortfolioOptimizer};

/// Reads (mean, sigma) from features 0 and 1 (the synthetic forecast panel).
struct PanelForecaster;
impl prudentia::core::traits::Forecaster for PanelForecaster {
    fn forecast(
        &self,
        a: &prudentia::core::AssetInfo,
        _: &prudentia::core::RegimeState,
    ) -> RoleResult<prudentia::core::Forecast> {
        Ok(prudentia::core::Forecast::new(
            a.features[0],
            a.features[1],
            prudentia::core::Horizon::DAY,
        )?)
    }
}

fn market_snapshots(seed: u64, days: usize) -> Vec<MarketSnapshot> {
    let market = SyntheticMarket::generate(&SyntheticConfig {
        n_assets: 8,
        n_sectors: 2,
        n_days: days,
        seed,
        ..Default::default()
    })
    .unwrap();
    let panel = market.forecasts(&ForecasterSpec::biased()).unwrap();
    (1..market.n_days())
        .map(|t| {
            let mut s = market.snapshot_before(t).unwrap();
            for (i, a) in s.assets.iter_mut().enumerate() {
                a.features = vec![panel.mean[[t, i]], panel.sigma[[t, i]]];
            }
            s
        })
        .collect()
}

fn chain(snapshots: &[MarketSnapshot]) -> Pipeline {
    let sizer = Shared::new(KellySizer::new(KellySizerConfig::default()).unwrap());
    PipelineBuilder::new(PipelineConfig {
        universe: snapshots[0].assets.iter().map(|a| a.id.clone()).collect(),
        history_window: 60,
        min_history: 20,
        seed: 11,
        ..Default::default()
    })
    .guard(Box::new(
        SnapshotGuard::new(SnapshotGuardConfig::default()).unwrap(),
    ))
    .forecaster(Box::new(PanelForecaster))
    .optimizer(Box::new(
        PortfolioOptimizer::new(PortfolioConfig {
            limits: Limits {
                weight_min: 0.0,
                weight_max: 0.4,
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
    .unwrap()
}

fn run(snapshots: &[MarketSnapshot]) -> BacktestResult {
    let quiet = BacktestConfig {
        show_progress: false,
        ..Default::default()
    };
    walk_forward(&mut chain(snapshots), snapshots, &quiet).unwrap()
}

/// Defect (2) of #22: one quote at 10⁶× its price, quarantined by the guard, produced a
/// 2.8·10⁵ daily return and a final equity of 2.8·10¹¹ (4.9·10³⁰³ at 1e300).
#[test]
fn a_quarantined_quote_spike_is_not_pnl_through_the_full_chain() {
    let clean = market_snapshots(21, 120);
    let base = run(&clean);
    let clean_final = *base.equity.last().unwrap();
    for target in [None, Some(1e300)] {
        let mut snaps = clean.clone();
        let t = 70;
        let q = &mut snaps[t].quotes[2];
        q.price = target.unwrap_or(q.price * 1e6);
        let asset = q.asset.clone();
        let r = run(&snaps);
        let worst = r.returns.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        assert!(worst < 0.5, "{target:?}: a daily return of {worst}");
        let last = *r.equity.last().unwrap();
        assert!(
            last < 1.5 * clean_final && last > clean_final / 1.5,
            "{target:?}: final equity {last} against {clean_final} on clean data"
        );
        assert!(
            r.faults.iter().any(|f| f.asset == asset
                && f.time == snaps[t].time
                && f.kind == PriceFaultKind::NotValidated),
            "{target:?}: {:?}",
            r.faults
        );
        assert!(
            r.decisions
                .iter()
                .filter(|d| d.status == DecisionStatus::Normal)
                .count()
                > 50
        );
    }
}

/// Defect (8) of #22 through the full chain: asset prices NaN or 0 with fine quotes; every
/// weight change is an order or a reported unexecuted change.
#[test]
fn every_weight_change_is_traded_or_reported_through_the_full_chain() {
    let mut snaps = market_snapshots(22, 90);
    for (t, s) in snaps.iter_mut().enumerate().skip(25) {
        let k = t % s.assets.len();
        s.assets[k].price = if t % 2 == 0 { f64::NAN } else { 0.0 };
    }
    let mut p = chain(&snaps);
    let universe = p.config().universe.clone();
    let mut orders = 0;
    for t in 0..snaps.len() - 1 {
        let before = p.current_weights().clone();
        let report = p.decide(&snaps[t]).unwrap();
        let d = &report.decision;
        for a in &universe {
            let (from, to) = (before.get(a), d.sized.get(a));
            let ordered = d.orders.iter().any(|o| &o.asset == a);
            let reported = report.unexecuted.iter().any(|u| &u.asset == a);
            assert!(
                from == to || ordered || reported,
                "step {t} {a}: {from} -> {to} untraded and unreported"
            );
            assert!(!(ordered && reported));
        }
        orders += d.orders.len();
        let outcome = prudentia::core::Outcome {
            realized_returns: prudentia::pipeline::realized_returns(&universe, &snaps[t], &snaps[t + 1]),
            ..Default::default()
        };
        p.learn(&outcome).unwrap();
    }
    assert!(orders > 50, "{orders}");
}
