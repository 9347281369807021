//! End-to-end behaviour of the assembled chain (every role crate) on the synthetic market:
//! determinism, no look-ahead, the safe-fallback path and a replaced stage.

use prudentia::core::traits::{Optimizer, PortfolioInput, RoleResult, TargetPortfolio};
use prudentia::core::Status;
use prudentia::core::{DecisionStatus, MarketSnapshot, Weights};
use prudentia::datasets::{ForecasterSpec, SyntheticConfig, SyntheticMarket};
use prudentia::defense::{SnapshotGuard, SnapshotGuardConfig};
use prudentia::kelly::sizer::{KellySizer, KellySizerConfig};
use prudentia::pipeline::{
    walk_forward, BacktestConfig, BacktestResult, Pipeline, PipelineBuilder, PipelineConfig, Shared,
};
use prudentia::portfolio::{Limits, PortfolioConfig, PortfolioOptimizer};
use prudentia::regime::detector::{MarketRegimeDetector, MarketRegimeDetectorConfig};
use prudentia::selection::{DiversityAwareSelector, ProblemConfig, SelectorConfig};
use prudentia::uncertainty::calibrate::{CalibratorConfig, RegimeCalibrator};

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
        n_assets: 12,
        n_sectors: 3,
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

fn chain(snapshots: &[MarketSnapshot], optimizer: Option<Box<dyn Optimizer>>) -> Pipeline {
    let sizer = Shared::new(KellySizer::new(KellySizerConfig::default()).unwrap());
    let optimizer = optimizer.unwrap_or_else(|| {
        Box::new(
            PortfolioOptimizer::new(PortfolioConfig {
                limits: Limits {
                    weight_min: -0.1,
                    weight_max: 0.4,
                    gross_max: Some(1.5),
                    net_min: Some(1.0),
                    net_max: Some(1.0),
                    ..Default::default()
                },
                ..Default::default()
            })
            .unwrap(),
        )
    });
    PipelineBuilder::new(PipelineConfig {
        universe: snapshots[0].assets.iter().map(|a| a.id.clone()).collect(),
        history_window: 120,
        min_history: 40,
        seed: 7,
        ..Default::default()
    })
    .guard(Box::new(
        SnapshotGuard::new(SnapshotGuardConfig::default()).unwrap(),
    ))
    .regime(Box::new(
        MarketRegimeDetector::new(MarketRegimeDetectorConfig {
            vix_indicator: "realized_vol_20".into(),
            ..Default::default()
        })
        .unwrap(),
    ))
    .forecaster(Box::new(PanelForecaster))
    .calibrator(Box::new(
        RegimeCalibrator::new(CalibratorConfig::default()).unwrap(),
    ))
    .selector(Box::new(
        DiversityAwareSelector::new(SelectorConfig {
            problem: ProblemConfig {
                return_scale: prudentia::selection::ReturnScale::Raw,
                k: 5,
                lambda: 1e-4,
                ..Default::default()
            },
            ..Default::default()
        })
        .unwrap(),
    ))
    .optimizer(optimizer)
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
    walk_forward(&mut chain(snapshots, None), snapshots, &quiet).unwrap()
}

#[test]
fn the_full_chain_trades_and_is_deterministic() {
    let snaps = market_snapshots(5, 200);
    let a = run(&snaps);
    let b = run(&snaps);
    assert_eq!(
        serde_json::to_string(&a.decisions).unwrap(),
        serde_json::to_string(&b.decisions).unwrap()
    );
    assert_eq!(a.returns, b.returns);
    let normal = a
        .decisions
        .iter()
        .filter(|d| d.status == DecisionStatus::Normal)
        .count();
    assert!(normal > 100, "only {normal} normal decisions");
    assert!(a.decisions.iter().any(|d| !d.orders.is_empty()));
    assert!(a.decisions.iter().all(|d| d.selected.len() <= 5));
    assert!(a
        .optimizer_status
        .iter()
        .flatten()
        .any(|s| *s == Status::Converged));
    // Kelly only scales the optimizer's book down (cap_at_target), so the gross limit holds
    for d in a.decisions.iter().filter(|d| d.status == DecisionStatus::Normal) {
        assert!(d.sized.values.iter().all(|w| w.is_finite()));
        assert!(d.sized.gross() <= d.target.gross() + 1e-9);
        assert!(d.target.gross() <= 1.5 + 1e-6);
    }
}

#[test]
fn no_look_ahead_through_the_full_chain() {
    let snaps = market_snapshots(6, 160);
    let other = market_snapshots(99, 160);
    let t = 100;
    let mut altered = snaps.clone();
    for k in (t + 1)..altered.len() {
        altered[k].quotes = other[k].quotes.clone();
        altered[k].assets = other[k].assets.clone();
        altered[k].indicators = other[k].indicators.clone();
    }
    let a = run(&snaps);
    let b = run(&altered);
    for k in 0..=t {
        assert_eq!(a.decisions[k], b.decisions[k], "decision {k} changed");
    }
    assert_ne!(a.decisions[t + 2..], b.decisions[t + 2..]);
}

#[test]
fn a_corrupted_snapshot_takes_the_fallback_path() {
    let mut snaps = market_snapshots(7, 120);
    for q in snaps[80].quotes.iter_mut().take(6) {
        q.price = f64::NAN;
    }
    let r = run(&snaps);
    match &r.decisions[80].status {
        DecisionStatus::SafeFallback { reasons } => assert!(reasons.len() >= 6, "{reasons:?}"),
        s => panic!("expected fallback, got {s:?}"),
    }
    assert!(r.decisions[80].orders.is_empty());
    assert_eq!(r.turnover[80], 0.0);
    // positions are kept as they stand (decision 79's book after one day's drift)
    assert_eq!(r.decisions[80].sized, r.decisions[80].target);
    assert_eq!(r.decisions[80].sized.assets, r.decisions[79].sized.assets);
    assert_eq!(r.decisions[81].status, DecisionStatus::Normal);
}

#[test]
fn a_user_optimizer_replaces_the_portfolio_stage() {
    struct EqualWeight;
    impl Optimizer for EqualWeight {
        fn optimize(&self, input: &PortfolioInput<'_>) -> RoleResult<TargetPortfolio> {
            let n = input.opportunities.len();
            let ids = input.opportunities.iter().map(|o| o.asset.id.clone()).collect();
            Ok(TargetPortfolio {
                weights: Weights::new(ids, vec![1.0 / n as f64; n])?,
                status: Status::Converged,
            })
        }
    }
    let snaps = market_snapshots(8, 120);
    let quiet = BacktestConfig {
        show_progress: false,
        ..Default::default()
    };
    let r = walk_forward(&mut chain(&snaps, Some(Box::new(EqualWeight))), &snaps, &quiet).unwrap();
    let d = r
        .decisions
        .iter()
        .rev()
        .find(|d| d.status == DecisionStatus::Normal)
        .unwrap();
    assert_eq!(d.target.len(), 5);
    assert!(d.target.values.iter().all(|w| (w - 0.2).abs() < 1e-15));
}
