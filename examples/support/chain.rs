//! The main example's chain, shared by `examples/daily_pipeline.rs` and the replay test
//! (`tests/audit_replay.rs`): the features, the assumed microstructure, the simulated broker,
//! the causal filter's refit, the cost model's learner, the pipeline of a policy and the data
//! loader. See `daily_pipeline.rs` for what each stage does.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::error::Error;

use prudentia::audit::{AuditLog, ReplayPolicy};
use prudentia::causal::filter::{FilterConfig, SignalFilter, SignalHistory};
use prudentia::chrono::NaiveDate;
use prudentia::core::rng::SplitMix64;
use prudentia::core::traits::{OnlineLearner, Role};
use prudentia::core::{
    AssetId, AssetInfo, Decision, ExecutedOrder, Fill, ForecastOutcome, Horizon, Indicator, MarketSnapshot,
    Order, OrderType, Outcome, Quote, RoleError, RoleResult, Side, Timestamp, Venue,
};
use prudentia::costs::model::{AdaptiveCostModel, CostModelConfig, FillAttribution};
use prudentia::datasets::fill_sim::{FillSimConfig, FillSimulator, SimMarketState};
use prudentia::datasets::{sector_of, sp500_index, sp500_stocks, vix};
use prudentia::defense::{SnapshotGuard, SnapshotGuardConfig};
use prudentia::execution::router::{ExecutionRouter, RouterConfig};
use prudentia::execution::{ActionSpace, N_FEATURES};
use prudentia::kelly::governor::DrawdownGovernorConfig;
use prudentia::kelly::sizer::{KellySizer, KellySizerConfig};
use prudentia::learn::bandit::{LinUcb, LinUcbConfig};
use prudentia::ndarray::{Array1, Array2};
use prudentia::pipeline::{
    Broker, FixedState, Pipeline, PipelineBuilder, PipelineConfig, PipelineError, Refit, RefitPoint,
    RefitSchedule, RefitWindow, Shared,
};
use prudentia::portfolio::{Limits, Objective, PortfolioConfig, PortfolioOptimizer};
use prudentia::regime::detector::{MarketRegimeDetector, MarketRegimeDetectorConfig};
use prudentia::selection::{DiversityAwareSelector, ProblemConfig, SelectorConfig};
use prudentia::uncertainty::calibrate::{CalibrationEvent, CalibratorConfig, RegimeCalibrator};
use prudentia::uncertainty::hetero::{HeteroConfig, HeteroForecaster, HeteroscedasticRegression};

pub const MOM_SHORT: usize = 20;
pub const MOM_LONG: usize = 120;

/// Features of asset `j` at row `t` from returns up to and including `t`:
/// [20-day mean return, 120-day mean return, 20-day volatility].
pub fn features(r: &Array2<f64>, t: usize, j: usize) -> Vec<f64> {
    let mean = |n: usize| (t + 1 - n..=t).map(|s| r[[s, j]]).sum::<f64>() / n as f64;
    let m20 = mean(MOM_SHORT);
    let var = (t + 1 - MOM_SHORT..=t)
        .map(|s| (r[[s, j]] - m20).powi(2))
        .sum::<f64>()
        / (MOM_SHORT - 1) as f64;
    vec![m20, mean(MOM_LONG), var.sqrt()]
}

/// Feeds (raw forecast, realized return) pairs to the per-regime calibrator.
pub struct CalibrationLearner(Shared<RegimeCalibrator>);
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

// ---------------- assumed microstructure (the data are daily closes) ----------------

/// Average daily traded value assumed for every stock, currency.
pub const ADV_VALUE: f64 = 250e6;
/// The venues of the fill simulator and of the router.
pub const VENUES: [&str; 2] = ["LIT", "INV"];

/// Spread (bps), ADV (shares), displayed depth and queue ahead (shares) of asset `j` on day
/// `t` at price `price` with 20-day volatility `vol`.
pub fn microstructure(price: f64, vol: f64, t: usize, j: usize) -> (f64, f64, f64, f64) {
    let spread = 1.0 + 120.0 * vol;
    let adv = ADV_VALUE / price;
    let depth = (adv / 4_000.0).max(1.0);
    let u = (SplitMix64::derive(t as u64, j as u64) >> 11) as f64 / (1u64 << 53) as f64;
    (spread, adv, depth, depth * 1.5 * u)
}

/// The broker of the backtest: each routed order is executed by the seeded fill simulator in
/// the market state of the snapshot it was decided on.
pub struct SimBroker(FillSimulator);
impl Broker for SimBroker {
    fn execute(
        &mut self,
        orders: &[Order],
        market: &MarketSnapshot,
        _until: Timestamp,
        seed: u64,
    ) -> RoleResult<Vec<Fill>> {
        let missing = |kind: &'static str, o: &Order| {
            RoleError::Core(prudentia::core::CoreError::UnknownId {
                kind,
                id: o.asset.to_string(),
            })
        };
        let mut fills = Vec::with_capacity(orders.len());
        for (k, o) in orders.iter().enumerate() {
            let quote = market
                .quotes
                .iter()
                .find(|q| q.asset == o.asset)
                .ok_or_else(|| missing("order without a quote", o))?;
            let named = |what: &str| market.indicator(&format!("{}:{what}", o.asset)).unwrap_or(0.0);
            let adv = market
                .assets
                .iter()
                .find(|a| a.id == o.asset)
                .and_then(|a| a.adv_shares)
                .ok_or_else(|| missing("order without an ADV", o))?;
            let state = SimMarketState {
                spread_bps: quote.spread_bps.unwrap_or(5.0),
                depth_shares: named("depth").max(1.0),
                queue_ahead_shares: named("queue"),
                volatility: named("volatility"),
                participation: o.quantity / adv,
                order_shares: o.quantity,
                time_of_day: 0.5,
                imbalance: 0.0,
            };
            let venue = o
                .venue
                .as_ref()
                .and_then(|v| VENUES.iter().position(|n| *n == v.0))
                .unwrap_or(0);
            let sim = self
                .0
                .execute(&state, o.order_type, venue, SplitMix64::derive(seed, k as u64))
                .map_err(|e| RoleError::implementation(Role::Execution, e))?;
            let buy = o.side == Side::Buy;
            fills.push(Fill {
                asset: o.asset.clone(),
                time: market.time,
                side: o.side,
                quantity: o.quantity,
                price: sim.average_price(quote.price, buy),
                arrival_price: quote.price,
                order_type: o.order_type,
                venue: o.venue.clone(),
            });
        }
        Ok(fills)
    }
}

// ---------------- the causal filter's refit ----------------

/// The signal the causal filter tests, name by name: the forecaster's own short-term
/// reversal (its 20-day mean-return coefficient is negative), i.e. the stock fell over the
/// last 20 days. Covariates: 120-day momentum and 20-day volatility, which drive both the
/// signal and the next return. From features `[m20, m120, vol20]`.
pub fn signal_row(features: &[f64]) -> Option<(f64, [f64; 2])> {
    match features {
        [m20, m120, vol, ..] => Some((f64::from(u8::from(*m20 < 0.0)), [*m120, *vol])),
        _ => None,
    }
}

/// Per asset: covariates (row-major, 2 per row), signal, next-day return.
pub type SignalRows = BTreeMap<AssetId, (Vec<f64>, Vec<f64>, Vec<f64>)>;

/// Refits the causal filter on the signal history before the backtest (1995–2013, like the
/// forecaster) plus every decision made so far: per asset, the signal and covariates of each
/// decision's snapshot and the realized return that followed.
pub struct CausalRefit {
    pub filter: Shared<SignalFilter>,
    pub prior: std::sync::Arc<SignalRows>,
}
impl CausalRefit {
    fn fit(&self, extra: &SignalRows) -> RoleResult<()> {
        let mut merged: SignalRows = (*self.prior).clone();
        for (id, (xs, ss, ys)) in extra {
            let (mx, ms, my) = merged.entry(id.clone()).or_default();
            mx.extend(xs);
            ms.extend(ss);
            my.extend(ys);
        }
        let mut histories = Vec::with_capacity(merged.len());
        for (id, (xs, ss, ys)) in &merged {
            let covariates = prudentia::ndarray::ArrayView2::from_shape((ss.len(), 2), xs)
                .map_err(|e| RoleError::implementation(Role::Causal, e))?;
            histories.push((
                id.clone(),
                SignalHistory {
                    covariates,
                    signal: ss.as_slice().into(),
                    forward_return: ys.as_slice().into(),
                },
            ));
        }
        self.filter
            .lock()
            .refit(&histories)
            .map(|_| ())
            .map_err(|e| RoleError::implementation(Role::Causal, e))
    }
}
impl Refit for CausalRefit {
    fn refit(&mut self, _now: Timestamp, data: &[RefitPoint]) -> RoleResult<()> {
        let mut rows = SignalRows::new();
        for point in data {
            let Some(outcome) = &point.outcome else { continue };
            let realized: HashMap<&AssetId, f64> =
                outcome.realized_returns.iter().map(|(a, r)| (a, *r)).collect();
            for a in &point.snapshot.assets {
                let (Some((signal, x)), Some(y)) = (signal_row(&a.features), realized.get(&a.id)) else {
                    continue;
                };
                let (xs, ss, ys) = rows.entry(a.id.clone()).or_default();
                xs.extend(x);
                ss.push(signal);
                ys.push(*y);
            }
        }
        self.fit(&rows)
    }
}

/// The cost model's learner, keeping the attribution of every fill for the report.
pub struct CostLearner {
    pub model: Shared<AdaptiveCostModel>,
    pub attributions: Shared<Vec<FillAttribution>>,
}
impl<'a> OnlineLearner<ExecutedOrder<'a>> for CostLearner {
    fn learn(&mut self, e: &ExecutedOrder<'a>) -> RoleResult<()> {
        let a = self
            .model
            .lock()
            .learn_executed(e)
            .map_err(|e| RoleError::implementation(Role::Costs, e))?;
        self.attributions.lock().push(a);
        Ok(())
    }
}

/// What distinguishes the policies compared in the example.
#[derive(Clone)]
pub struct Policy {
    pub id: String,
    /// Slate size.
    pub k: usize,
    /// Kelly fraction (`None`: the sizer's default, half Kelly).
    pub kelly_fraction: Option<f64>,
    /// Whether the causal filter runs.
    pub causal: bool,
}

/// The learned stages of a pipeline, kept to print what they learned.
pub struct Learned {
    pub filter: Shared<SignalFilter>,
    pub costs: Shared<AdaptiveCostModel>,
    pub attributions: Shared<Vec<FillAttribution>>,
}

/// The example's pipeline for a policy; its model state (forecaster, calibrator, sizer,
/// causal filter, cost model) goes into the model hash of every audit record.
pub fn build_pipeline(
    universe: &[AssetId],
    forecaster: &HeteroForecaster,
    prior: &std::sync::Arc<SignalRows>,
    policy: &Policy,
    audit: Option<Shared<AuditLog>>,
) -> Result<(Pipeline, Learned), Box<dyn Error>> {
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
    // a slate of up to k: fewer when fewer names survive the causal filter
    let selector = |k: usize| -> RoleResult<Box<dyn prudentia::core::traits::Selector>> {
        let s = DiversityAwareSelector::new(SelectorConfig {
            problem: ProblemConfig {
                return_scale: prudentia::selection::ReturnScale::Raw,
                k,
                lambda: 2e-4,
                ..Default::default()
            },
            ..Default::default()
        })
        .map_err(|e| RoleError::implementation(Role::Selector, e))?;
        Ok(Box::new(s))
    };
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
    .selector_with_k(policy.k, selector)
    .optimizer(Box::new(optimizer))
    .sizer(Box::new(sizer.clone()))
    .learner(Box::new(sizer.clone()))
    .model_state("sizer", Box::new(sizer));
    // causal filter: Benjamini-Hochberg at a 25% false discovery rate over the slate (daily
    // single-name effects are a few bp against a standard error of 4-10 bp: at 10% almost
    // nothing is kept); DR-learner fitted on 1995-2013 and re-estimated every 21 decisions
    // with every decision since
    let filter = Shared::new(SignalFilter::new(FilterConfig {
        fdr: 0.25,
        ..FilterConfig::default()
    })?);
    if policy.causal {
        let refit = CausalRefit {
            filter: filter.clone(),
            prior: prior.clone(),
        };
        refit.fit(&SignalRows::new())?;
        builder = builder
            .causal(Box::new(filter.clone()))
            .refit(
                "causal filter",
                RefitSchedule {
                    every: 21,
                    window: RefitWindow::Expanding,
                    in_learn_flow: true,
                },
                Box::new(refit),
            )
            .model_state("causal filter", Box::new(filter.clone()));
    }
    // expected cost of every order; impact calibrated and residual learned from the fills
    let costs = Shared::new(AdaptiveCostModel::new(CostModelConfig::new(VENUES))?);
    let attributions = Shared::new(Vec::new());
    // order type × venue by LinUCB over the market state, learning from −slippage
    let space = ActionSpace::new(
        vec![
            OrderType::Limit,
            OrderType::Market,
            OrderType::Pov { rate: 0.1 },
            OrderType::Pegged,
        ],
        VENUES.iter().map(|v| Venue((*v).into())).collect(),
    )?;
    let bandit = LinUcb::new(LinUcbConfig {
        n_actions: space.len(),
        dim: N_FEATURES,
        ..Default::default()
    })?;
    let router = Shared::new(ExecutionRouter::new(
        RouterConfig::default(),
        space,
        Box::new(bandit),
    )?);
    builder = builder
        .costs(Box::new(costs.clone()))
        .fill_learner(Box::new(CostLearner {
            model: costs.clone(),
            attributions: attributions.clone(),
        }))
        .model_state("cost model", Box::new(costs.clone()))
        .execution(Box::new(router.clone()))
        .fill_learner(Box::new(router))
        .broker(Box::new(SimBroker(FillSimulator::new(FillSimConfig::default())?)));
    if let Some(log) = audit {
        builder = builder.audit(Box::new(log));
    }
    Ok((
        builder.build()?,
        Learned {
            filter,
            costs,
            attributions,
        },
    ))
}

/// A pipeline driven by the audit crate's replay and policy diff. Another policy's orders
/// differ from the recorded ones, so it learns the recorded outcomes without their fills
/// (`own_fills = false`); a replay of the same policy learns them with the fills.
pub struct Replayed {
    pub pipeline: Pipeline,
    pub own_fills: bool,
}
impl ReplayPolicy for Replayed {
    type Error = PipelineError;
    fn decide(&mut self, snapshot: &MarketSnapshot) -> Result<Decision, PipelineError> {
        self.pipeline.decide(snapshot).map(|r| r.decision)
    }
    fn learn(&mut self, outcome: &Outcome) -> Result<(), PipelineError> {
        if self.own_fills {
            self.pipeline.learn(outcome)
        } else {
            self.pipeline.learn(&Outcome {
                fills: Vec::new(),
                ..outcome.clone()
            })
        }
    }
}

/// The shipped data turned into the example's inputs.
pub struct Setup {
    /// The 20 tickers.
    pub tickers: Vec<String>,
    /// Their ids, in order: the universe.
    pub universe: Vec<AssetId>,
    /// The forecaster fitted on `fit_from .. 2013-12-31`.
    pub forecaster: HeteroForecaster,
    /// Stock-days the forecaster was fitted on.
    pub fit_rows: usize,
    /// The causal filter's signal history over the same years.
    pub prior: std::sync::Arc<SignalRows>,
    /// One snapshot per day with VIX from 2014-01-03, at most `max_days + 1` of them and none
    /// after 2018-12-31.
    pub snapshots: Vec<MarketSnapshot>,
    /// A one-line description of the data.
    pub description: String,
}

/// Loads the shipped data: features, the forecaster and the causal filter's history fitted
/// on `fit_from .. 2013-12-31`, and the snapshots from 2014 (at most `max_days + 1`).
pub fn load(fit_from: NaiveDate, max_days: Option<usize>) -> Result<Setup, Box<dyn Error>> {
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
    let description = format!(
        "data: {} stocks, {} days {} .. {}; VIX {} .. {} ({} holidays missing, left out)",
        n,
        px.nrows(),
        dates[0],
        dates[dates.len() - 1],
        vix.first_date(),
        vix.last_date(),
        vix.missing_count("vix")?
    );

    // ---------------- forecaster: fit on fit_from..2013 ----------------
    let row = |d: NaiveDate| dates.iter().position(|x| *x >= d).unwrap_or(dates.len());
    let (fit_start, fit_end) = (
        row(fit_from),
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
    // the causal filter's signal history over the same years
    let mut prior = SignalRows::new();
    for t in fit_start.max(MOM_LONG)..fit_end - 1 {
        for j in 0..n {
            if let Some((signal, x)) = signal_row(&features(&ret, t, j)) {
                let (xs, ss, ys) = prior.entry(AssetId::new(&tickers[j])).or_default();
                xs.extend(x);
                ss.push(signal);
                ys.push(ret[[t + 1, j]]);
            }
        }
    }
    let prior = std::sync::Arc::new(prior);
    let x = Array2::from_shape_vec((ys.len(), 3), xs)?;
    let y = Array1::from(ys);
    let model = HeteroscedasticRegression::new(HeteroConfig::default())?.fit(x.view(), y.view())?;
    let fit_rows = y.len();
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
        if v.is_nan()
            || *d > NaiveDate::from_ymd_opt(2018, 12, 31).ok_or("date")?
            || max_days.is_some_and(|m| snapshots.len() > m)
        {
            continue;
        }
        let time = Timestamp::from_date(*d);
        let vols: Vec<f64> = (0..n).map(|j| features(&ret, t, j)[2]).collect();
        let micro: Vec<_> = (0..n)
            .map(|j| microstructure(px[[t, j]], vols[j], t, j))
            .collect();
        let mut quotes: Vec<Quote> = (0..n)
            .map(|j| Quote {
                asset: AssetId::new(&tickers[j]),
                time,
                price: px[[t, j]],
                volume: None,
                spread_bps: Some(micro[j].0),
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
                a.adv_shares = Some(micro[j].1);
                Ok(a)
            })
            .collect::<Result<Vec<_>, prudentia::core::CoreError>>()?;
        let mut indicators = vec![Indicator {
            name: "vix".into(),
            time,
            value: v,
        }];
        for j in 0..n {
            for (what, value) in [
                ("volatility", vols[j].max(1e-4)),
                ("depth", micro[j].2),
                ("queue", micro[j].3),
            ] {
                indicators.push(Indicator {
                    name: format!("{}:{what}", tickers[j]),
                    time,
                    value,
                });
            }
        }
        snapshots.push(MarketSnapshot {
            time,
            quotes,
            indicators,
            assets,
        });
    }
    Ok(Setup {
        universe: tickers.iter().map(AssetId::new).collect(),
        tickers,
        forecaster,
        fit_rows,
        prior,
        snapshots,
        description,
    })
}
