//! The main example's chain on the shipped real data (shortened: forecaster fitted on
//! 2010–2013, 130 daily decisions from 2014), recorded in an audit log through the pipeline's
//! audit sink, replays with every decision bit-identical; a deliberately changed model is
//! caught at its first differing decision; and a policy diff compares two policies.

use chrono::NaiveDate;
use ndarray::{Array1, Array2};
use prudentia::audit::{policy_diff, replay, AuditLog, Durability, LogConfig, ReplayPolicy};
use prudentia::core::{
    AssetId, AssetInfo, Decision, DecisionStatus, Horizon, Indicator, MarketSnapshot, Outcome, Quote,
    Timestamp,
};
use prudentia::defense::{SnapshotGuard, SnapshotGuardConfig};
use prudentia::kelly::sizer::{KellySizer, KellySizerConfig};
use prudentia::pipeline::{
    walk_forward_with_prices, BacktestConfig, FixedState, Pipeline, PipelineBuilder, PipelineConfig,
    PipelineError, Shared,
};
use prudentia::portfolio::{Limits, Objective, PortfolioConfig, PortfolioOptimizer};
use prudentia::regime::detector::{MarketRegimeDetector, MarketRegimeDetectorConfig};
use prudentia::selection::{DiversityAwareSelector, ProblemConfig, SelectorConfig};
use prudentia::uncertainty::calibrate::{CalibratorConfig, RegimeCalibrator};
use prudentia::uncertainty::hetero::{HeteroConfig, HeteroForecaster, HeteroscedasticRegression};
use prudentia_datasets::{sector_of, sp500_index, sp500_stocks, vix};

const DAYS: usize = 130;

fn features(r: &Array2<f64>, t: usize, j: usize) -> Vec<f64> {
    let mean = |n: usize| (t + 1 - n..=t).map(|s| r[[s, j]]).sum::<f64>() / n as f64;
    let m20 = mean(20);
    let var = (t + 1 - 20..=t).map(|s| (r[[s, j]] - m20).powi(2)).sum::<f64>() / 19.0;
    vec![m20, mean(120), var.sqrt()]
}

struct Data {
    tickers: Vec<String>,
    forecaster: HeteroForecaster,
    snapshots: Vec<MarketSnapshot>,
}

fn data() -> Data {
    let prices = sp500_stocks().unwrap();
    let index = sp500_index().unwrap();
    let vix = vix().unwrap();
    let tickers: Vec<String> = prices.columns().to_vec();
    let px = prices.complete_values().unwrap().to_owned();
    let idx = index.column_complete("SP500").unwrap().to_owned();
    let dates: Vec<NaiveDate> = prices.naive_dates();
    let n = tickers.len();
    let mut ret = Array2::<f64>::zeros(px.dim());
    for t in 1..px.nrows() {
        for j in 0..n {
            ret[[t, j]] = px[[t, j]] / px[[t - 1, j]] - 1.0;
        }
    }
    let row = |d: NaiveDate| dates.iter().position(|x| *x >= d).unwrap_or(dates.len());
    let (fit_start, fit_end) = (
        row(NaiveDate::from_ymd_opt(2010, 1, 4).unwrap()),
        row(NaiveDate::from_ymd_opt(2014, 1, 1).unwrap()),
    );
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for t in fit_start.max(120)..fit_end - 1 {
        for j in 0..n {
            xs.extend(features(&ret, t, j));
            ys.push(ret[[t + 1, j]]);
        }
    }
    let x = Array2::from_shape_vec((ys.len(), 3), xs).unwrap();
    let model = HeteroscedasticRegression::new(HeteroConfig::default())
        .unwrap()
        .fit(x.view(), Array1::from(ys).view())
        .unwrap();
    let mut snapshots = Vec::new();
    for (k, d) in vix.naive_dates().iter().enumerate() {
        let v = vix.values()[[k, 0]];
        let Some(t) = dates.iter().position(|x| x == d) else {
            continue;
        };
        if v.is_nan() || snapshots.len() == DAYS + 1 {
            continue;
        }
        let time = Timestamp::from_date(*d);
        let quote = |asset: AssetId, price| Quote {
            asset,
            time,
            price,
            volume: None,
            spread_bps: None,
        };
        let mut quotes: Vec<Quote> = (0..n)
            .map(|j| quote(AssetId::new(&tickers[j]), px[[t, j]]))
            .collect();
        quotes.push(quote(AssetId::new("SP500"), idx[t]));
        let assets = (0..n)
            .map(|j| {
                let mut a = AssetInfo::new(AssetId::new(&tickers[j]), px[[t, j]]).unwrap();
                a.sector = sector_of(&tickers[j]).map(str::to_owned);
                a.features = features(&ret, t, j);
                a
            })
            .collect();
        snapshots.push(MarketSnapshot {
            time,
            quotes,
            indicators: vec![Indicator {
                name: "vix".into(),
                time,
                value: v,
            }],
            assets,
        });
    }
    assert_eq!(snapshots.len(), DAYS + 1);
    Data {
        tickers,
        forecaster: HeteroForecaster {
            model,
            horizon: Horizon::DAY,
        },
        snapshots,
    }
}

/// The main example's pipeline (k = slate size), with an optional audit log.
fn pipeline(d: &Data, forecaster: HeteroForecaster, k: usize, log: Option<Shared<AuditLog>>) -> Pipeline {
    let calibrator = Shared::new(RegimeCalibrator::new(CalibratorConfig::default()).unwrap());
    let sizer = Shared::new(KellySizer::new(KellySizerConfig::default()).unwrap());
    let optimizer = PortfolioOptimizer::new(PortfolioConfig {
        objective: Objective::MeanCvar,
        cvar_penalty: 0.5,
        turnover_penalty: 5e-3,
        limits: Limits {
            weight_min: -0.1,
            weight_max: 0.3,
            gross_max: Some(1.5),
            net_min: Some(1.0),
            net_max: Some(1.0),
            sector_net_max: Some(0.4),
            ..Default::default()
        },
        ..Default::default()
    })
    .unwrap();
    let mut b = PipelineBuilder::new(PipelineConfig {
        universe: d.tickers.iter().map(AssetId::new).collect(),
        history_window: 252,
        min_history: 60,
        seed: 2024,
        policy_id: format!("daily k={k}"),
        ..Default::default()
    })
    .guard(Box::new(
        SnapshotGuard::new(SnapshotGuardConfig::default()).unwrap(),
    ))
    .regime(Box::new(
        MarketRegimeDetector::new(MarketRegimeDetectorConfig {
            reference: Some(AssetId::new("SP500")),
            ..Default::default()
        })
        .unwrap(),
    ))
    .forecaster(Box::new(forecaster.clone()))
    .model_state("forecaster", Box::new(FixedState(forecaster)))
    .calibrator(Box::new(calibrator.clone()))
    .model_state("calibrator", Box::new(calibrator))
    .selector(Box::new(
        DiversityAwareSelector::new(SelectorConfig {
            problem: ProblemConfig {
                return_scale: prudentia::selection::ReturnScale::Raw,
                k,
                lambda: 2e-4,
                ..Default::default()
            },
            ..Default::default()
        })
        .unwrap(),
    ))
    .optimizer(Box::new(optimizer))
    .sizer(Box::new(sizer.clone()))
    .learner(Box::new(sizer.clone()))
    .model_state("sizer", Box::new(sizer));
    if let Some(log) = log {
        b = b.audit(Box::new(log));
    }
    b.build().unwrap()
}

/// A pipeline as a replay policy.
struct Policy(Pipeline);
impl ReplayPolicy for Policy {
    type Error = PipelineError;
    fn decide(&mut self, s: &MarketSnapshot) -> Result<Decision, PipelineError> {
        self.0.decide(s).map(|r| r.decision)
    }
    fn learn(&mut self, o: &Outcome) -> Result<(), PipelineError> {
        self.0.learn(o)
    }
}

#[test]
fn the_recorded_main_example_replays_bit_identically() {
    let d = data();
    let dir = std::env::temp_dir().join(format!("prudentia-audit-replay-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let log = Shared::new(
        AuditLog::open(
            &dir,
            LogConfig {
                durability: Durability::None,
                ..Default::default()
            },
        )
        .unwrap(),
    );
    let quiet = BacktestConfig {
        show_progress: false,
        ..Default::default()
    };
    let mut p = pipeline(&d, d.forecaster.clone(), 8, Some(log.clone()));
    let run = walk_forward_with_prices(&mut p, &d.snapshots, &d.snapshots, &quiet).unwrap();
    assert_eq!(run.decisions.len(), DAYS);
    let recorded = log.lock().all().unwrap();
    assert!(log.lock().verify().unwrap().is_ok());
    assert_eq!(recorded.len(), DAYS);
    for (r, dec) in recorded.iter().zip(&run.decisions) {
        assert_eq!(&r.record.decision, dec);
        assert_eq!(r.outcomes.len(), 1);
    }
    let first_normal = run
        .decisions
        .iter()
        .position(|x| x.status == DecisionStatus::Normal)
        .unwrap();
    assert!(first_normal < DAYS - 20);
    // the model hash moves with the learned state (calibrator, governor)
    assert_ne!(
        recorded[first_normal].record.model_hash,
        recorded[DAYS - 1].record.model_hash
    );

    // replay from a fresh pipeline: every decision bit-identical
    let r = replay(
        &recorded,
        &mut Policy(pipeline(&d, d.forecaster.clone(), 8, None)),
    );
    assert!(r.is_identical(), "{:?}", r.first_difference);
    assert_eq!((r.decisions, r.identical, r.outcomes), (DAYS, DAYS, DAYS));

    // a deliberately changed model: caught at the first decision that uses forecasts
    let mut changed = d.forecaster.clone();
    // (the model's fields are private: change one coefficient through its validated checkpoint)
    let mut state = serde_json::to_value(&changed.model).expect("model serializes");
    let c0 = state["mean_coef"][0].as_f64().expect("a first mean coefficient");
    state["mean_coef"][0] = serde_json::json!(c0 + 1e-6);
    changed.model = serde_json::from_value(state).expect("changed model reloads");
    let r = replay(&recorded, &mut Policy(pipeline(&d, changed, 8, None)));
    let diff = r.first_difference.expect("changed model caught");
    assert_eq!(diff.decision_number, first_normal as u64);
    assert_eq!(diff.field, "forecasts");
    assert_eq!(r.identical, first_normal);

    // policy diff: a slate of 5 instead of 8 on the same recorded inputs
    let diff = policy_diff(
        &recorded,
        &mut Policy(pipeline(&d, d.forecaster.clone(), 5, None)),
    );
    assert!(diff.stopped.is_none());
    assert_eq!(diff.decisions.len(), DAYS);
    assert!(diff.differing > 0);
    assert!(diff.pnl_gap.is_some_and(f64::is_finite));
    drop(log);
    let _ = std::fs::remove_dir_all(&dir);
}
