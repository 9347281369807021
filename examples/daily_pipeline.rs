//! The main example: the whole decision chain on the shipped real data.
//!
//! 20 S&P 500 stocks, 2014-01-03 .. 2018-12-31 (the years with VIX), one decision a day:
//! guard (defense) → regime from the S&P 500 index and VIX (regime) → heteroscedastic
//! forecasts fitted on 1995–2013 (uncertainty) → per-regime calibration learned online
//! (uncertainty) → diversified slate of 8 (selection) → long/short mean–CVaR portfolio with
//! gross, net, sector and turnover limits (portfolio) → half Kelly with a drawdown governor
//! (kelly) → orders. It prints each stage's output for the last decision and a performance
//! report (metrics), and writes pictures, CSV files and an HTML tear sheet (`tearsheet.html`) to `$PRUDENTIA_OUT` (default
//! `target/prudentia-examples/`). Every decision and outcome is recorded in an audit log
//! (`$PRUDENTIA_OUT/audit/`, audit): the example verifies the chain, replays the whole run on a
//! fresh pipeline (every decision bit-identical), and compares a second policy (a slate of 5
//! and quarter Kelly) on the recorded inputs: per-decision differences, turnover, PnL gap.
//!
//! Run with `cargo run --release --example daily_pipeline`.

use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use prudentia::audit::{policy_diff, replay, AuditLog, Durability, LogConfig, ReplayPolicy};
use prudentia::chrono::NaiveDate;
use prudentia::core::traits::OnlineLearner;
use prudentia::core::{
    AssetId, AssetInfo, Decision, DecisionStatus, ForecastOutcome, Horizon, Indicator, MarketSnapshot,
    Outcome, Quote, RegimeLabel, RoleResult, Timestamp,
};
use prudentia::datasets::{sector_of, sp500_index, sp500_stocks, vix};
use prudentia::defense::{SnapshotGuard, SnapshotGuardConfig};
use prudentia::kelly::governor::DrawdownGovernorConfig;
use prudentia::kelly::sizer::{KellySizer, KellySizerConfig};
use prudentia::metrics::chart::Series;
use prudentia::metrics::{BacktestRecord, ReportConfig, TearSheet};
use prudentia::ndarray::{Array1, Array2};
use prudentia::pipeline::{
    walk_forward_with_prices, BacktestConfig, FixedState, Pipeline, PipelineBuilder, PipelineConfig,
    PipelineError, Shared,
};
use prudentia::portfolio::{Limits, Objective, PortfolioConfig, PortfolioOptimizer};
use prudentia::regime::detector::{MarketRegimeDetector, MarketRegimeDetectorConfig};
use prudentia::selection::{DiversityAwareSelector, ProblemConfig, SelectorConfig};
use prudentia::uncertainty::calibrate::{CalibrationEvent, CalibratorConfig, RegimeCalibrator};
use prudentia::uncertainty::hetero::{HeteroConfig, HeteroForecaster, HeteroscedasticRegression};

const MOM_SHORT: usize = 20;
const MOM_LONG: usize = 120;

/// Features of asset `j` at row `t` from returns up to and including `t`:
/// [20-day mean return, 120-day mean return, 20-day volatility].
fn features(r: &Array2<f64>, t: usize, j: usize) -> Vec<f64> {
    let mean = |n: usize| (t + 1 - n..=t).map(|s| r[[s, j]]).sum::<f64>() / n as f64;
    let m20 = mean(MOM_SHORT);
    let var = (t + 1 - MOM_SHORT..=t)
        .map(|s| (r[[s, j]] - m20).powi(2))
        .sum::<f64>()
        / (MOM_SHORT - 1) as f64;
    vec![m20, mean(MOM_LONG), var.sqrt()]
}

/// Feeds (raw forecast, realized return) pairs to the per-regime calibrator.
struct CalibrationLearner(Shared<RegimeCalibrator>);
impl OnlineLearner<ForecastOutcome> for CalibrationLearner {
    fn learn(&mut self, e: &ForecastOutcome) -> RoleResult<()> {
        let event = CalibrationEvent {
            forecast: e.forecast.clone(),
            regime: e.regime.clone(),
            outcome: e.realized,
        };
        self.0.lock().learn(&event)
    }
}

/// What distinguishes the policies compared in the example.
struct Policy {
    id: String,
    /// Slate size.
    k: usize,
    /// Kelly fraction (`None`: the sizer's default, half Kelly).
    kelly_fraction: Option<f64>,
}

/// The example's pipeline for a policy; its model state (forecaster, calibrator, sizer) goes
/// into the model hash of every audit record.
fn build_pipeline(
    universe: &[AssetId],
    forecaster: &HeteroForecaster,
    policy: &Policy,
    audit: Option<Shared<AuditLog>>,
) -> Result<Pipeline, Box<dyn Error>> {
    let calibrator = Shared::new(RegimeCalibrator::new(CalibratorConfig::default())?);
    // half Kelly, never above the optimizer's book (cap_at_target); the drawdown governor scales exposure down from a 5% drawdown to zero at
    // 20%, and its reference peak decays with a 126-day half-life so exposure can come back
    let mut sizer_config = KellySizerConfig {
        governor: DrawdownGovernorConfig {
            recovery_half_life: Some(126.0),
            ..Default::default()
        },
        ..Default::default()
    };
    if let Some(f) = policy.kelly_fraction {
        sizer_config.kelly.fraction = f;
    }
    let sizer = Shared::new(KellySizer::new(sizer_config)?);
    let regime = MarketRegimeDetector::new(MarketRegimeDetectorConfig {
        reference: Some(AssetId::new("SP500")),
        ..Default::default()
    })?;
    let selector = DiversityAwareSelector::new(SelectorConfig {
        problem: ProblemConfig {
            return_scale: prudentia::selection::ReturnScale::Raw,
            k: policy.k,
            lambda: 2e-4,
            ..Default::default()
        },
        ..Default::default()
    })?;
    let optimizer = PortfolioOptimizer::new(PortfolioConfig {
        objective: Objective::MeanCvar,
        cvar_penalty: 0.5,
        // 50 bp per unit of turnover in the objective: a soft turnover budget (a hard
        // `turnover_max` would make the first, fully invested book infeasible)
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
    })?;
    let mut builder = PipelineBuilder::new(PipelineConfig {
        universe: universe.to_vec(),
        history_window: 252,
        min_history: 60,
        seed: 2024,
        policy_id: policy.id.clone(),
        ..Default::default()
    })
    .guard(Box::new(SnapshotGuard::new(SnapshotGuardConfig::default())?))
    .regime(Box::new(regime))
    .forecaster(Box::new(forecaster.clone()))
    .model_state("forecaster", Box::new(FixedState(forecaster.clone())))
    .calibrator(Box::new(calibrator.clone()))
    .forecast_learner(Box::new(CalibrationLearner(calibrator.clone())))
    .model_state("calibrator", Box::new(calibrator))
    .selector(Box::new(selector))
    .optimizer(Box::new(optimizer))
    .sizer(Box::new(sizer.clone()))
    .learner(Box::new(sizer.clone()))
    .model_state("sizer", Box::new(sizer));
    if let Some(log) = audit {
        builder = builder.audit(Box::new(log));
    }
    Ok(builder.build()?)
}

/// A pipeline driven by the audit crate's replay and policy diff.
struct Replayed(Pipeline);
impl ReplayPolicy for Replayed {
    type Error = PipelineError;
    fn decide(&mut self, snapshot: &MarketSnapshot) -> Result<Decision, PipelineError> {
        self.0.decide(snapshot).map(|r| r.decision)
    }
    fn learn(&mut self, outcome: &Outcome) -> Result<(), PipelineError> {
        self.0.learn(outcome)
    }
}

/// Verifies the recorded log, replays it on a fresh pipeline and compares a second policy.
fn audit_report(
    log: &Shared<AuditLog>,
    universe: &[AssetId],
    forecaster: &HeteroForecaster,
    policy_a: &Policy,
) -> Result<(), Box<dyn Error>> {
    let mut log = log.lock();
    let _ = log.sync()?;
    let check = log.verify()?;
    let head = check.head.clone().ok_or("empty audit log")?;
    println!(
        "\n=== audit log ({}) ===\n{} records ({} decisions + outcomes), {:.1} MB in {} segment(s); chain verified: {}; head #{} {}",
        log.dir().display(),
        check.records,
        check.decisions,
        check.bytes as f64 / 1e6,
        check.segments,
        if check.is_ok() { "ok" } else { "BROKEN" },
        head.sequence,
        &head.chain_hash[..16]
    );
    let recorded = log.all()?;
    drop(log);
    let started = Instant::now();
    let fresh = build_pipeline(universe, forecaster, policy_a, None)?;
    let r = replay(&recorded, &mut Replayed(fresh));
    println!(
        "replay on a fresh pipeline: {} of {} decisions bit-identical, {} outcomes re-learned ({:.1} s){}",
        r.identical,
        r.decisions,
        r.outcomes,
        started.elapsed().as_secs_f64(),
        match &r.first_difference {
            None => String::new(),
            Some(d) => format!(
                "; FIRST DIFFERENCE at decision {} ({}), field {}",
                d.decision_number, d.time, d.field
            ),
        }
    );
    let policy_b = Policy {
        id: "slate of 5, quarter Kelly".into(),
        k: 5,
        kelly_fraction: Some(0.25),
    };
    let b = build_pipeline(universe, forecaster, &policy_b, None)?;
    let diff = policy_diff(&recorded, &mut Replayed(b));
    println!(
        "policy diff, B = {} on A's recorded inputs: {} of {} decisions differ; turnover A {:.1} vs B {:.1}",
        policy_b.id,
        diff.differing,
        diff.decisions.len(),
        diff.turnover_a,
        diff.turnover_b
    );
    if let (Some(a), Some(b), Some(gap)) = (diff.pnl_a, diff.pnl_b, diff.pnl_gap) {
        println!(
            "  summed daily portfolio return: A {:+.2}%, B {:+.2}%, gap (B - A) {:+.2} percentage points",
            100.0 * a,
            100.0 * b,
            100.0 * gap
        );
    }
    let mut biggest: Vec<_> = diff.decisions.iter().filter(|d| d.weight_gap > 0.0).collect();
    biggest.sort_by(|x, y| y.weight_gap.total_cmp(&x.weight_gap));
    for d in biggest.iter().take(3) {
        println!(
            "  {}: sum |wB - wA| {:.2}, largest {:?}, slate only A {:?} / only B {:?}, orders {} vs {}",
            d.time,
            d.weight_gap,
            d.largest_gap
                .as_ref()
                .map(|(a, g)| format!("{a} {:+.1}%", 100.0 * g)),
            d.only_a.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
            d.only_b.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
            d.orders_a,
            d.orders_b
        );
    }
    if let Some(s) = &diff.stopped {
        println!("  policy B stopped at {}: {}", s.time, s.replayed);
    }
    Ok(())
}

fn out_dir() -> Result<PathBuf, Box<dyn Error>> {
    let dir = std::env::var_os("PRUDENTIA_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/prudentia-examples"));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn main() -> Result<(), Box<dyn Error>> {
    let started = Instant::now();
    // ---------------- data ----------------
    let prices = sp500_stocks()?;
    let index = sp500_index()?;
    let vix = vix()?;
    let tickers: Vec<String> = prices.columns().to_vec();
    let px = prices.complete_values()?.to_owned();
    let idx = index.column_complete("SP500")?.to_owned();
    let dates: Vec<NaiveDate> = prices.naive_dates();
    let n = tickers.len();
    // simple returns aligned with price rows: ret[t] = px[t]/px[t-1] - 1 (ret[0] = 0, unused)
    let mut ret = Array2::<f64>::zeros(px.dim());
    for t in 1..px.nrows() {
        for j in 0..n {
            ret[[t, j]] = px[[t, j]] / px[[t - 1, j]] - 1.0;
        }
    }
    println!(
        "data: {} stocks, {} days {} .. {}; VIX {} .. {} ({} holidays missing, left out)",
        n,
        px.nrows(),
        dates[0],
        dates[dates.len() - 1],
        vix.first_date(),
        vix.last_date(),
        vix.missing_count("vix")?
    );

    // ---------------- forecaster: fit on 1995..2013 ----------------
    let row = |d: NaiveDate| dates.iter().position(|x| *x >= d).unwrap_or(dates.len());
    let (fit_start, fit_end) = (
        row(NaiveDate::from_ymd_opt(1995, 1, 3).ok_or("date")?),
        row(NaiveDate::from_ymd_opt(2014, 1, 1).ok_or("date")?),
    );
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for t in fit_start.max(MOM_LONG)..fit_end - 1 {
        for j in 0..n {
            xs.extend(features(&ret, t, j));
            ys.push(ret[[t + 1, j]]);
        }
    }
    let x = Array2::from_shape_vec((ys.len(), 3), xs)?;
    let y = Array1::from(ys);
    let model = HeteroscedasticRegression::new(HeteroConfig::default())?.fit(x.view(), y.view())?;
    println!(
        "forecaster: heteroscedastic Gaussian regression on {} stock-days (1995-2013), mean coefs {:?}, log-sigma coefs {:?}",
        y.len(),
        model.mean_coef().iter().map(|v| format!("{v:.3e}")).collect::<Vec<_>>(),
        model.log_sigma_coef().iter().map(|v| format!("{v:.3}")).collect::<Vec<_>>()
    );
    let forecaster = HeteroForecaster {
        model,
        horizon: Horizon::DAY,
    };

    // ---------------- snapshots 2014-01-03 .. 2018-12-31 ----------------
    let mut snapshots = Vec::new();
    for (k, d) in vix.naive_dates().iter().enumerate() {
        let v = vix.values()[[k, 0]];
        let Some(t) = dates.iter().position(|x| x == d) else {
            continue;
        };
        if v.is_nan() || *d > NaiveDate::from_ymd_opt(2018, 12, 31).ok_or("date")? {
            continue;
        }
        let time = Timestamp::from_date(*d);
        let mut quotes: Vec<Quote> = (0..n)
            .map(|j| Quote {
                asset: AssetId::new(&tickers[j]),
                time,
                price: px[[t, j]],
                volume: None,
                spread_bps: None,
            })
            .collect();
        quotes.push(Quote {
            asset: AssetId::new("SP500"),
            time,
            price: idx[t],
            volume: None,
            spread_bps: None,
        });
        let assets = (0..n)
            .map(|j| {
                let mut a = AssetInfo::new(AssetId::new(&tickers[j]), px[[t, j]])?;
                a.sector = sector_of(&tickers[j]).map(str::to_owned);
                a.features = features(&ret, t, j);
                Ok(a)
            })
            .collect::<Result<Vec<_>, prudentia::core::CoreError>>()?;
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
    // a few bad ticks, as live data have: the guard must catch them (trades are still marked
    // at the true prices)
    let true_prices = snapshots.clone();
    snapshots[400].quotes[3].price *= 8.0;
    snapshots[700].quotes[12].price = f64::NAN;
    snapshots[900].indicators[0].value = -1.0;

    // ---------------- the pipeline, recorded in an audit log ----------------
    let universe: Vec<AssetId> = tickers.iter().map(AssetId::new).collect();
    let audit_dir = out_dir()?.join("audit");
    let _ = std::fs::remove_dir_all(&audit_dir); // a fresh log per run
    let log = Shared::new(AuditLog::open(
        &audit_dir,
        LogConfig {
            durability: Durability::GroupCommit {
                max_records: 64,
                max_delay: std::time::Duration::from_millis(50),
            },
            ..Default::default()
        },
    )?);
    let policy_a = Policy {
        id: "daily_pipeline example".into(),
        k: 8,
        kelly_fraction: None,
    };
    let mut pipeline = build_pipeline(&universe, &forecaster, &policy_a, Some(log.clone()))?;

    let run = walk_forward_with_prices(
        &mut pipeline,
        &snapshots,
        &true_prices,
        &BacktestConfig::default(),
    )?;

    audit_report(&log, &universe, &forecaster, &policy_a)?;

    // ---------------- the last decision, stage by stage ----------------
    let last = run.decisions.last().ok_or("no decision")?;
    println!("\n=== last decision: {} ===", last.time);
    println!(
        "regime: {} (run length {}, change probability {:.3}); probabilities {:?}",
        last.regime.label,
        last.regime.run_length,
        last.regime.change_probability,
        last.regime
            .probabilities
            .iter()
            .map(|(l, p)| format!("{l}={p:.2}"))
            .collect::<Vec<_>>()
    );
    println!("calibrated forecasts (daily, bp):");
    for (id, f) in &last.forecasts {
        let q = f
            .quantiles
            .iter()
            .map(|q| format!("q{:.0}={:+.0}", 100.0 * q.level, q.value * 1e4))
            .collect::<Vec<_>>()
            .join(" ");
        println!(
            "  {:<5} mean {:+6.2}  sigma {:6.1}  {}",
            id,
            f.mean * 1e4,
            f.sigma * 1e4,
            q
        );
    }
    println!(
        "selected slate: {:?}",
        last.selected.iter().map(|a| a.as_str()).collect::<Vec<_>>()
    );
    let show = |w: &prudentia::core::Weights| {
        w.assets
            .iter()
            .zip(&w.values)
            .filter(|(_, v)| v.abs() > 1e-6)
            .map(|(a, v)| format!("{a} {:+.1}%", 100.0 * v))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "target weights (mean-CVaR, {:?}): {}",
        run.optimizer_status.last().cloned().flatten(),
        show(&last.target)
    );
    println!(
        "sized weights (half Kelly, governor): {}  [gross {:.2}, net {:.2}]",
        show(&last.sized),
        last.sized.gross(),
        last.sized.net()
    );
    println!("orders:");
    for o in &last.orders {
        println!(
            "  {:?} {:>8.0} {} ({:?})",
            o.side, o.quantity, o.asset, o.order_type
        );
    }
    let fallbacks: Vec<(String, Vec<String>)> = run
        .decisions
        .iter()
        .filter_map(|d| match &d.status {
            DecisionStatus::SafeFallback { reasons } if !reasons[0].starts_with("warming up") => {
                Some((d.time.to_string(), reasons.clone()))
            }
            _ => None,
        })
        .collect();
    println!("\nsafe fallbacks (guard refusals): {}", fallbacks.len());
    for (t, r) in &fallbacks {
        let first = r.iter().take(2).cloned().collect::<Vec<_>>().join("; ");
        println!(
            "  {t}: {} reasons: {first}{}",
            r.len(),
            if r.len() > 2 { "; ..." } else { "" }
        );
    }
    let mut statuses: Vec<(String, usize)> = Vec::new();
    for s in run.optimizer_status.iter().flatten() {
        let name = format!("{s:?}")
            .split([' ', '{', '('])
            .next()
            .unwrap_or("")
            .to_owned();
        match statuses.iter_mut().find(|(n, _)| *n == name) {
            Some((_, c)) => *c += 1,
            None => statuses.push((name, 1)),
        }
    }
    println!("optimizer statuses: {statuses:?}");
    let last_infeasible = run
        .optimizer_status
        .iter()
        .enumerate()
        .rev()
        .find_map(|(t, s)| match s {
            Some(prudentia::core::Status::Infeasible { culprits }) => Some((t, culprits)),
            _ => None,
        });
    if let Some((t, culprits)) = last_infeasible {
        println!(
            "  last infeasible at {} (positions kept): conflicting limits {culprits:?}",
            run.times[t]
        );
    }
    println!("\ntime per stage over {} decisions:", run.decisions.len());
    for (s, d) in &run.stage_time {
        println!("  {:<10} {:>8.1} ms", s.to_string(), d.as_secs_f64() * 1e3);
    }
    let total: f64 = run.stage_time.iter().map(|(_, d)| d.as_secs_f64()).sum();
    println!(
        "  {:<10} {:>8.1} ms ({:.2} ms per decision)",
        "total",
        total * 1e3,
        total * 1e3 / run.decisions.len() as f64
    );

    // ---------------- performance ----------------
    let report = run.report(ReportConfig {
        title: "daily_pipeline: 20 S&P 500 stocks, 2014-2018".into(),
        ..Default::default()
    })?;
    println!("\n{report}");
    let regimes: Vec<RegimeLabel> = run.decisions.iter().map(|d| d.regime.label.clone()).collect();
    let mut counts: Vec<(RegimeLabel, usize)> = Vec::new();
    for l in &regimes {
        match counts.iter_mut().find(|(x, _)| x == l) {
            Some((_, c)) => *c += 1,
            None => counts.push((l.clone(), 1)),
        }
    }
    println!(
        "regime days: {}",
        counts
            .iter()
            .map(|(l, c)| format!("{l} {c}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "average daily turnover {:.3}, final equity {:.0}",
        run.turnover.iter().sum::<f64>() / run.turnover.len() as f64,
        run.equity.last().copied().unwrap_or(f64::NAN)
    );

    // ---------------- pictures and the tear sheet ----------------
    let dir = out_dir()?;
    std::fs::write(dir.join("equity.svg"), report.to_svg(1000, 600)?)?;
    let record = BacktestRecord {
        times: &run.times,
        returns: &run.returns,
        turnover: &run.turnover,
        decisions: &run.decisions,
        outcomes: &run.outcomes,
    };
    // the S&P 500 over the period after each decision (the benchmark), its level and VIX
    let quote = |s: &MarketSnapshot, id: &str| {
        s.quotes
            .iter()
            .find(|q| q.asset.as_str() == id)
            .map_or(f64::NAN, |q| q.price)
    };
    let at = |t: &Timestamp| true_prices.iter().position(|s| s.time == *t);
    let level: Vec<f64> = run
        .times
        .iter()
        .map(|t| at(t).map_or(f64::NAN, |k| quote(&true_prices[k], "SP500")))
        .collect();
    let vix_level: Vec<f64> = run
        .times
        .iter()
        .map(|t| {
            at(t)
                .and_then(|k| true_prices[k].indicator("vix"))
                .unwrap_or(f64::NAN)
        })
        .collect();
    let benchmark: Vec<f64> = run
        .times
        .iter()
        .map(|t| match at(t) {
            Some(k) if k + 1 < true_prices.len() => {
                quote(&true_prices[k + 1], "SP500") / quote(&true_prices[k], "SP500") - 1.0
            }
            _ => 0.0,
        })
        .collect();
    let sheet = TearSheet::new(
        ReportConfig {
            title: "daily_pipeline: 20 S&P 500 stocks, 2014-2018".into(),
            drop_warmup: true,
            ..Default::default()
        },
        &record,
    )?
    .with_benchmark("S&P 500", &benchmark)?
    .with_market(Series::new("S&P 500", level), Some(Series::new("VIX", vix_level)))?
    .with_configuration("backtest", &BacktestConfig::default())?;
    let charts = sheet.charts()?;
    for (id, _, chart) in &charts {
        if matches!(*id, "weights" | "regimes") {
            std::fs::write(dir.join(format!("{id}.svg")), chart.to_svg(1100, 560)?)?;
        }
    }
    record.write_csv(&dir)?;
    let html = dir.join("tearsheet.html");
    sheet.write_html(&html)?;
    println!(
        "wrote equity.svg, weights.svg, regimes.svg, daily.csv, weights.csv, orders.csv to {} ({:.1} s)",
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    println!("tear sheet: {}", html.display());
    Ok(())
}
