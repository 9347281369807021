//! One `decide` of the full chain, every stage, at n = 500 opportunities, K = 50 (issue #18
//! target ≤ 5 ms), with a per-stage breakdown printed before the measurement; and the same with
//! the monitoring observer attached (InfluxDB writer to a local port + Prometheus textfile and
//! endpoint, issue #21: the observer may add at most 5 %).
//!
//! Chain: SnapshotGuard → (history) → MarketRegimeDetector → forecaster (a synthetic
//! over-confident forecast panel carried in the asset features) → RegimeCalibrator →
//! SignalFilter (causal; effects set for the 500 assets, ~90 % positive and significant) →
//! DiversityAwareSelector (K = 50; greedy + swap at this size) → mean–CVaR over 252 scenarios →
//! KellySizer → orders with the AdaptiveCostModel's estimates → ExecutionRouter (LinUCB over
//! 4 order types × 2 venues) → AuditLog (a temporary directory, durability `None`).
//!
//! The synthetic snapshots carry seeded microstructure data: `AssetInfo.adv_shares`,
//! `Quote.spread_bps` and `Quote.volume`, and the indicators `"<asset>:depth"`,
//! `"<asset>:volatility"` (the router's names) and `"volatility:<asset>"` (the cost model's).
#![allow(missing_docs)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use prudentia::audit::{AuditLog, Durability, LogConfig};
use prudentia::causal::filter::{AssetEffect, FilterConfig, SignalFilter};
use prudentia::core::traits::Forecaster;
use prudentia::core::{
    AssetInfo, CausalEffect, Forecast, Horizon, Indicator, MarketSnapshot, OrderType, Outcome, RegimeState,
    RoleResult, Status, Venue,
};
use prudentia::costs::model::{AdaptiveCostModel, CostModelConfig};
use prudentia::datasets::ForecasterSpec;
use prudentia::datasets::{RegimeSpec, SyntheticConfig, SyntheticMarket};
use prudentia::defense::{SnapshotGuard, SnapshotGuardConfig};
use prudentia::execution::router::{ExecutionRouter, RouterConfig};
use prudentia::execution::{ActionSpace, N_FEATURES};
use prudentia::kelly::single::{KellyConfig, MeanShrinkage};
use prudentia::kelly::sizer::{KellySizer, KellySizerConfig};
use prudentia::learn::bandit::{LinUcb, LinUcbConfig};
use prudentia::monitor::influx::{InfluxConfig, InfluxWriter};
use prudentia::monitor::{Monitor, MonitorConfig};
use prudentia::pipeline::{
    realized_returns, MonitorObserver, Pipeline, PipelineBuilder, PipelineConfig, Shared,
};
use prudentia::portfolio::{CvarMethod, Limits, Objective, PortfolioConfig, PortfolioOptimizer};
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
        // One (risk-on) regime: with the default two, the measured days fall in a risk-off
        // stretch where every forecast mean is negative, the long-only book's expected
        // return is negative and the Kelly sizer holds cash (0 orders).
        regimes: vec![RegimeSpec::risk_on()],
        transition: vec![vec![1.0]],
        ..Default::default()
    })
    .expect("valid synthetic config");
    let panel = market.forecasts(&ForecasterSpec::overconfident()).expect("panel");
    // Per-asset microstructure levels (seeded): ADV 2e5..5e6 shares, spread 2..20 bps, depth
    // at the touch 500..5,000 shares, daily volatility 1..3 %; each day jitters them by ±20 %.
    let mut rng = SplitMix(7);
    let levels: Vec<[f64; 4]> = (0..N)
        .map(|_| {
            [
                2e5 * 25f64.powf(rng.unit()),
                2.0 + 18.0 * rng.unit(),
                500.0 + 4_500.0 * rng.unit(),
                0.01 + 0.02 * rng.unit(),
            ]
        })
        .collect();
    let snapshots: Vec<MarketSnapshot> = (1..market.n_days())
        .map(|t| {
            let mut s = market.snapshot_before(t).expect("in range");
            let mut jitter = || 0.8 + 0.4 * rng.unit();
            for (i, a) in s.assets.iter_mut().enumerate() {
                a.features = vec![panel.mean[[t, i]], panel.sigma[[t, i]]];
                a.adv_shares = Some(levels[i][0] * jitter());
            }
            for (i, q) in s.quotes.iter_mut().enumerate() {
                q.spread_bps = Some(levels[i % N][1] * jitter());
                q.volume = Some(levels[i % N][0] * jitter());
            }
            let time = s.time;
            for (i, a) in s.assets.iter().enumerate() {
                let vol = levels[i][3] * jitter();
                for (name, value) in [
                    (format!("{}:depth", a.id), levels[i][2] * jitter()),
                    (format!("{}:volatility", a.id), vol),
                    (format!("volatility:{}", a.id), vol),
                ] {
                    s.indicators.push(Indicator { name, time, value });
                }
            }
            s
        })
        .collect();
    snapshots
}

/// SplitMix64 (seeded, deterministic) for the synthetic microstructure fields.
struct SplitMix(u64);
impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The causal filter with an effect for every asset: ~90 % positive and significant
/// (z between 4 and 8), the rest not positive, so it drops about 50 opportunities.
fn causal_filter(snapshots: &[MarketSnapshot]) -> SignalFilter {
    let mut filter = SignalFilter::new(FilterConfig::default()).expect("valid");
    let mut rng = SplitMix(13);
    for a in &snapshots[0].assets {
        let se = 5e-4;
        let cate = if rng.unit() < 0.9 {
            se * (4.0 + 4.0 * rng.unit())
        } else {
            -se * rng.unit()
        };
        let p_value = (2.0 * (1.0 - prudentia::core::normal::cdf((cate / se).abs()))).clamp(0.0, 1.0);
        filter
            .set_effect(
                a.id.clone(),
                AssetEffect {
                    effect: CausalEffect {
                        cate,
                        std_error: se,
                        p_value,
                    },
                    n_obs: 252,
                    status: Status::Converged,
                },
            )
            .expect("valid effect");
    }
    filter
}

const VENUES: [&str; 2] = ["LIT", "INV"];

/// The router: LinUCB over {limit, market, POV 10 %, pegged} × {LIT, INV}.
fn router() -> ExecutionRouter {
    let space = ActionSpace::new(
        vec![
            OrderType::Limit,
            OrderType::Market,
            OrderType::Pov { rate: 0.1 },
            OrderType::Pegged,
        ],
        VENUES.iter().map(|v| Venue((*v).into())).collect(),
    )
    .expect("valid space");
    let policy = LinUcb::new(LinUcbConfig {
        n_actions: space.len(),
        dim: N_FEATURES,
        ..Default::default()
    })
    .expect("valid");
    ExecutionRouter::new(RouterConfig::default(), space, Box::new(policy)).expect("valid router")
}

/// An audit log in a fresh temporary directory (removed when the bench pipeline is dropped).
fn audit_log() -> (AuditLog, PathBuf) {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "prudentia-decide-bench-audit-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let log = AuditLog::open(
        &dir,
        LogConfig {
            durability: Durability::None,
            ..Default::default()
        },
    )
    .expect("audit log");
    (log, dir)
}

/// A pipeline and the audit directory it writes to (removed on drop).
struct Bench {
    pipeline: Pipeline,
    dir: PathBuf,
}

impl Drop for Bench {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
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

/// The optimizer of a bench variant.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Opt {
    /// Mean–CVaR with the default CVaR method (`Auto`: scenario generation at T = 252 > 4n).
    Cvar,
    /// Mean–CVaR by Künzi-Bay–Mayer cutting planes.
    CvarCuts,
    /// Mean–CVaR as one Rockafellar–Uryasev LP over all 252 scenarios.
    CvarFullLp,
    /// Mean–variance on the sample covariance (structured dense QP).
    Variance,
}

/// One measured configuration.
#[derive(Debug, Clone, Copy)]
struct Variant {
    check_psd: bool,
    observed: bool,
    opt: Opt,
}

impl Variant {
    fn name(&self) -> String {
        let opt = match self.opt {
            Opt::Cvar => "",
            Opt::CvarCuts => "_cvar_cuts",
            Opt::CvarFullLp => "_cvar_full_lp",
            Opt::Variance => "_mean_variance",
        };
        let monitor = if self.observed { "_with_monitor" } else { "" };
        format!(
            "pipeline_decide_n500_k50_check_psd_{}{opt}{monitor}",
            self.check_psd
        )
    }
}

fn build(snapshots: &[MarketSnapshot], v: Variant) -> Bench {
    let Variant {
        check_psd,
        observed,
        opt,
    } = v;
    let universe = snapshots[0].assets.iter().map(|a| a.id.clone()).collect();
    let (log, dir) = audit_log();
    // The mean as given (no positive-part shrinkage): the synthetic forecasts' edge is below
    // their standard error, and the default shrinkage would size every book to 0.
    let sizer = Shared::new(
        KellySizer::new(KellySizerConfig {
            kelly: KellyConfig {
                shrinkage: MeanShrinkage::None,
                ..Default::default()
            },
            ..Default::default()
        })
        .expect("valid"),
    );
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
    .causal(Box::new(causal_filter(snapshots)))
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
            objective: match opt {
                Opt::Variance => Objective::MeanVariance,
                _ => Objective::MeanCvar,
            },
            cvar_method: match opt {
                Opt::CvarCuts => CvarMethod::CuttingPlane,
                Opt::CvarFullLp => CvarMethod::FullLp,
                _ => CvarMethod::Auto,
            },
            // Fully invested (net = 1): with `net_max` alone, daily means of about 1e-3
            // against a CVaR of a few percent make cash the optimum (target 0, no orders).
            limits: Limits {
                weight_max: 0.1,
                net_min: Some(1.0),
                net_max: Some(1.0),
                ..Default::default()
            },
            ..Default::default()
        })
        .expect("valid"),
    ))
    .sizer(Box::new(sizer.clone()))
    .costs(Box::new(
        AdaptiveCostModel::new(CostModelConfig::new(VENUES)).expect("valid"),
    ))
    .execution(Box::new(router()))
    .audit(Box::new(log))
    .learner(Box::new(sizer));
    let builder = if observed {
        builder.observer(Box::new(MonitorObserver::new(monitor())))
    } else {
        builder
    };
    Bench {
        pipeline: builder.build().expect("valid pipeline"),
        dir,
    }
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

/// Median and minimum time per stage over the next `STAGE_DAYS` decisions (after the one
/// above), printed as a table: one decision is too noisy on a shared machine.
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
    // (median, minimum): on a machine shared with other work the minimum is the figure least
    // inflated by preemption
    let stats = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[0])
    };
    eprintln!("  over {} decisions:   median   minimum", totals.len());
    for (s, v) in &mut per_stage {
        let (med, min) = stats(v);
        eprintln!("  {:<10} {:>9.3} ms {:>9.3} ms", s, med, min);
    }
    let (med, min) = stats(&mut totals);
    eprintln!("  {:<10} {:>9.3} ms {:>9.3} ms", "total", med, min);
}

fn bench(c: &mut Criterion) {
    let snapshots = snapshots();
    let v = |check_psd, observed, opt| Variant {
        check_psd,
        observed,
        opt,
    };
    for variant in [
        v(true, false, Opt::Cvar),
        v(false, false, Opt::Cvar),
        v(false, true, Opt::Cvar),
        v(false, false, Opt::CvarCuts),
        v(false, false, Opt::CvarFullLp),
        v(false, false, Opt::Variance),
    ] {
        let mut bench = build(&snapshots, variant);
        let pipeline = &mut bench.pipeline;
        warm(pipeline, &snapshots);
        let report = pipeline.decide(&snapshots[WARM]).expect("decide");
        eprintln!(
            "decide n = {N}, K = {K}, {}: status {:?}, {} selected, {} orders; per stage:",
            variant.name(),
            report.decision.status,
            report.decision.selected.len(),
            report.decision.orders.len()
        );
        let gross = |w: &prudentia::core::Weights| w.values.iter().map(|v| v.abs()).sum::<f64>();
        eprintln!(
            "  target gross {:.4}, sized gross {:.4}, current gross {:.4}, {} unexecuted {:?}, optimizer {:?}, notes {:?}",
            gross(&report.decision.target),
            gross(&report.decision.sized),
            gross(pipeline.current_weights()),
            report.unexecuted.len(),
            report.unexecuted.first().map(|u| &u.reason),
            report.optimizer_status,
            report.notes
        );
        let mu_p: f64 = report
            .decision
            .target
            .assets
            .iter()
            .zip(&report.decision.target.values)
            .filter_map(|(a, w)| {
                report
                    .decision
                    .forecasts
                    .iter()
                    .find(|(b, _)| b == a)
                    .map(|(_, f)| w * f.mean)
            })
            .sum();
        let mu_all: f64 = report.decision.forecasts.iter().map(|(_, f)| f.mean).sum::<f64>()
            / report.decision.forecasts.len().max(1) as f64;
        eprintln!("  target mean {mu_p:.3e}, average forecast mean {mu_all:.3e}");
        for (s, d) in &report.timings.0 {
            eprintln!("  {:<10} {:>9.3} ms", s.to_string(), d.as_secs_f64() * 1e3);
        }
        eprintln!(
            "  {:<10} {:>9.3} ms",
            "total",
            report.timings.total().as_secs_f64() * 1e3
        );
        assert_eq!(report.decision.status, prudentia::core::DecisionStatus::Normal);
        // the costs and route stages only run on orders: the measured decision must trade
        assert!(
            !report.decision.orders.is_empty(),
            "the measured decision has no order"
        );
        stage_table(pipeline, &snapshots);
        // Each measured decide is a real next-day decision: a fresh warmed pipeline walks
        // forward through consecutive snapshots; building and learning are not timed.
        let name = variant.name();
        c.bench_function(&name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut done = 0;
                while done < iters {
                    let mut bench = build(&snapshots, variant);
                    let p = &mut bench.pipeline;
                    warm(p, &snapshots);
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
