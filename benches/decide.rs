//! One `decide` of the full chain at n = 500 opportunities, K = 50 (issue #10 target ≤ 50 ms),
//! with a per-stage breakdown printed before the measurement; and the same with the monitoring
//! observer attached (InfluxDB writer to a local port + Prometheus textfile and endpoint, issue
//! #21: the observer may add at most 5 %).
//!
//! Chain: SnapshotGuard → MarketRegimeDetector → forecaster (a synthetic over-confident
//! forecast panel carried in the asset features) → RegimeCalibrator → DiversityAwareSelector
//! (K = 50; greedy + swap at this size) → mean–CVaR over 252 scenarios → KellySizer.
#![allow(missing_docs)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use prudentia::core::traits::Forecaster;
use prudentia::core::{AssetInfo, Forecast, Horizon, MarketSnapshot, Outcome, RegimeState, RoleResult};
use prudentia::datasets::ForecasterSpec;
use prudentia::datasets::{SyntheticConfig, SyntheticMarket};
use prudentia::defense::{SnapshotGuard, SnapshotGuardConfig};
use prudentia::kelly::sizer::{KellySizer, KellySizerConfig};
use prudentia::monitor::influx::{InfluxConfig, InfluxWriter};
use prudentia::monitor::{Monitor, MonitorConfig};
use prudentia::pipeline::{
    realized_returns, MonitorObserver, Pipeline, PipelineBuilder, PipelineConfig, Shared,
};
use prudentia::portfolio::{Limits, PortfolioConfig, PortfolioOptimizer};
use prudentia::regime::detector::{MarketRegimeDetector, MarketRegimeDetectorConfig};
use prudentia::selection::{CorrelationConfig, DiversityAwareSelector, ProblemConfig, SelectorConfig};
use prudentia::uncertainty::calibrate::{CalibratorConfig, RegimeCalibrator};

const N: usize = 500;
const K: usize = 50;

/// Reads (mean, sigma) from features 0 and 1.
struct FeatureForecaster;
impl Forecaster for FeatureForecaster {
    fn forecast(&self, a: &AssetInfo, _: &RegimeState) -> RoleResult<Forecast> {
        Ok(Forecast::new(a.features[0], a.features[1], Horizon::DAY)?)
    }
}

fn snapshots() -> Vec<MarketSnapshot> {
    let market = SyntheticMarket::generate(&SyntheticConfig {
        n_assets: N,
        n_sectors: 10,
        n_days: 320,
        seed: 11,
        ..Default::default()
    })
    .expect("valid synthetic config");
    let panel = market.forecasts(&ForecasterSpec::overconfident()).expect("panel");
    let snapshots: Vec<MarketSnapshot> = (1..market.n_days())
        .map(|t| {
            let mut s = market.snapshot_before(t).expect("in range");
            for (i, a) in s.assets.iter_mut().enumerate() {
                a.features = vec![panel.mean[[t, i]], panel.sigma[[t, i]]];
            }
            s
        })
        .collect();
    snapshots
}

/// A monitor with both exporters: the InfluxDB writer (to `PRUDENTIA_INFLUXDB_URL`, or a local
/// port with nothing behind it, so points are dropped and counted) and the Prometheus textfile
/// (every 10 decisions) plus its local endpoint.
fn monitor() -> Arc<Mutex<Monitor>> {
    let dir = std::env::temp_dir().join(format!("prudentia-decide-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = std::env::var("PRUDENTIA_INFLUXDB_URL").unwrap_or_else(|_| "http://127.0.0.1:9".into());
    let writer = InfluxWriter::spawn(InfluxConfig {
        url,
        timeout_ms: 200,
        ..Default::default()
    })
    .expect("writer");
    let monitor = Monitor::new(MonitorConfig {
        textfile: Some(dir.join("prudentia.prom")),
        textfile_every: 10,
        ..Default::default()
    })
    .expect("monitor")
    .with_sink(Box::new(writer));
    let server = prudentia::monitor::prom::serve("127.0.0.1:0".parse().expect("addr"), monitor.registry())
        .expect("serve");
    std::mem::forget(server); // keep the endpoint up for the whole bench
    Arc::new(Mutex::new(monitor))
}

fn build(snapshots: &[MarketSnapshot], check_psd: bool, observed: bool) -> Pipeline {
    let universe = snapshots[0].assets.iter().map(|a| a.id.clone()).collect();
    let sizer = Shared::new(KellySizer::new(KellySizerConfig::default()).expect("valid"));
    let builder = PipelineBuilder::new(PipelineConfig {
        universe,
        history_window: 252,
        min_history: 252,
        ..Default::default()
    })
    .guard(Box::new(
        SnapshotGuard::new(SnapshotGuardConfig::default()).expect("valid"),
    ))
    .regime(Box::new(
        MarketRegimeDetector::new(MarketRegimeDetectorConfig {
            vix_indicator: "realized_vol_20".into(),
            ..Default::default()
        })
        .expect("valid"),
    ))
    .forecaster(Box::new(FeatureForecaster))
    .calibrator(Box::new(
        RegimeCalibrator::new(CalibratorConfig::default()).expect("valid"),
    ))
    .selector(Box::new(
        DiversityAwareSelector::new(SelectorConfig {
            problem: ProblemConfig {
                return_scale: prudentia::selection::ReturnScale::Raw,
                k: K,
                lambda: 1e-4,
                correlation: CorrelationConfig {
                    check_psd,
                    ..Default::default()
                },
            },
            ..Default::default()
        })
        .expect("valid"),
    ))
    .optimizer(Box::new(
        PortfolioOptimizer::new(PortfolioConfig {
            limits: Limits {
                weight_max: 0.1,
                net_max: Some(1.0),
                ..Default::default()
            },
            ..Default::default()
        })
        .expect("valid"),
    ))
    .sizer(Box::new(sizer.clone()))
    .learner(Box::new(sizer));
    let builder = if observed {
        builder.observer(Box::new(MonitorObserver::new(monitor())))
    } else {
        builder
    };
    builder.build().expect("valid pipeline")
}

const WARM: usize = 252;

/// Runs the pipeline over the first `WARM` snapshots (decide + learn).
fn warm(pipeline: &mut Pipeline, snapshots: &[MarketSnapshot]) {
    for t in 0..WARM {
        step(pipeline, snapshots, t);
    }
}

fn step(pipeline: &mut Pipeline, snapshots: &[MarketSnapshot], t: usize) {
    let universe = pipeline.config().universe.clone();
    let _ = pipeline.decide(&snapshots[t]).expect("decide");
    let outcome = Outcome {
        realized_returns: realized_returns(&universe, &snapshots[t], &snapshots[t + 1]),
        ..Default::default()
    };
    pipeline.learn(&outcome).expect("learn");
}

/// Median time per stage over the next `STAGE_DAYS` decisions (after the one above), printed
/// as a table: one decision is too noisy on a shared machine.
const STAGE_DAYS: usize = 30;

fn stage_table(pipeline: &mut Pipeline, snapshots: &[MarketSnapshot]) {
    let universe = pipeline.config().universe.clone();
    let mut per_stage: Vec<(String, Vec<f64>)> = Vec::new();
    let mut totals = Vec::new();
    for t in WARM + 1..(WARM + 1 + STAGE_DAYS).min(snapshots.len() - 1) {
        let report = pipeline.decide(&snapshots[t]).expect("decide");
        for (s, d) in &report.timings.0 {
            let ms = d.as_secs_f64() * 1e3;
            match per_stage.iter_mut().find(|(n, _)| *n == s.to_string()) {
                Some((_, v)) => v.push(ms),
                None => per_stage.push((s.to_string(), vec![ms])),
            }
        }
        totals.push(report.timings.total().as_secs_f64() * 1e3);
        let outcome = Outcome {
            realized_returns: realized_returns(&universe, &snapshots[t], &snapshots[t + 1]),
            ..Default::default()
        };
        pipeline.learn(&outcome).expect("learn");
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    eprintln!("  median over {} decisions:", totals.len());
    for (s, v) in &mut per_stage {
        eprintln!("  {:<10} {:>9.3} ms", s, median(v));
    }
    eprintln!("  {:<10} {:>9.3} ms", "total", median(&mut totals));
}

fn bench(c: &mut Criterion) {
    let snapshots = snapshots();
    for (check_psd, observed) in [(true, false), (false, false), (false, true)] {
        let mut pipeline = build(&snapshots, check_psd, observed);
        warm(&mut pipeline, &snapshots);
        let report = pipeline.decide(&snapshots[WARM]).expect("decide");
        eprintln!(
            "decide n = {N}, K = {K}, selector check_psd = {check_psd}: status {:?}, {} selected, {} orders; per stage:",
            report.decision.status,
            report.decision.selected.len(),
            report.decision.orders.len()
        );
        for (s, d) in &report.timings.0 {
            eprintln!("  {:<10} {:>9.3} ms", s.to_string(), d.as_secs_f64() * 1e3);
        }
        eprintln!(
            "  {:<10} {:>9.3} ms",
            "total",
            report.timings.total().as_secs_f64() * 1e3
        );
        assert_eq!(report.decision.status, prudentia::core::DecisionStatus::Normal);
        stage_table(&mut pipeline, &snapshots);
        // Each measured decide is a real next-day decision: a fresh warmed pipeline walks
        // forward through consecutive snapshots; building and learning are not timed.
        let name = if observed {
            format!("pipeline_decide_n500_k50_check_psd_{check_psd}_with_monitor")
        } else {
            format!("pipeline_decide_n500_k50_check_psd_{check_psd}")
        };
        c.bench_function(&name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut done = 0;
                while done < iters {
                    let mut p = build(&snapshots, check_psd, observed);
                    warm(&mut p, &snapshots);
                    let mut t = WARM;
                    while done < iters && t + 1 < snapshots.len() {
                        let start = Instant::now();
                        let r = p.decide(&snapshots[t]).expect("decide");
                        total += start.elapsed();
                        let _ = black_box(r);
                        let outcome = Outcome {
                            realized_returns: realized_returns(
                                &p.config().universe.clone(),
                                &snapshots[t],
                                &snapshots[t + 1],
                            ),
                            ..Default::default()
                        };
                        p.learn(&outcome).expect("learn");
                        t += 1;
                        done += 1;
                    }
                }
                total
            })
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
