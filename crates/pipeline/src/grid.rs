//! Many walk-forward runs (parameter grid × universe × seed) in parallel.

use prudentia_core::MarketSnapshot;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::backtest::{walk_forward, BacktestConfig, BacktestResult};
use crate::error::PipelineResult;
use crate::pipeline::Pipeline;

/// How [`run_grid`] runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridConfig {
    /// Settings of every run (its own progress bar is always hidden; the grid has one).
    pub backtest: BacktestConfig,
    /// Run in parallel on rayon's thread pool (default) or one after the other. Both give the
    /// same results: every run is deterministic and independent.
    pub parallel: bool,
}

impl Default for GridConfig {
    fn default() -> Self {
        Self {
            backtest: BacktestConfig::default(),
            parallel: true,
        }
    }
}

/// One run of a grid: its parameters and what it produced (or why it failed).
#[derive(Debug, Serialize)]
pub struct GridRun<P> {
    /// The parameters the run was built from.
    pub params: P,
    /// The run's result, or its error in words.
    pub result: Result<BacktestResult, String>,
}

/// A one-line summary of a run for the combined report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Decisions made.
    pub decisions: usize,
    /// Compound net return over the run.
    pub total_return: f64,
    /// Mean turnover per decision.
    pub mean_turnover: f64,
    /// `SafeFallback` decisions.
    pub fallbacks: usize,
    /// Stage failures turned into fallbacks.
    pub stage_failures: usize,
    /// Final equity.
    pub final_equity: f64,
}

impl RunSummary {
    /// The summary of a result.
    pub fn of(r: &BacktestResult) -> Self {
        let n = r.decisions.len();
        Self {
            decisions: n,
            total_return: r.returns.iter().fold(1.0, |acc, x| acc * (1.0 + x)) - 1.0,
            mean_turnover: if n == 0 {
                0.0
            } else {
                r.turnover.iter().sum::<f64>() / n as f64
            },
            fallbacks: r
                .decisions
                .iter()
                .filter(|d| matches!(d.status, prudentia_core::DecisionStatus::SafeFallback { .. }))
                .count(),
            stage_failures: r.failures.len(),
            final_equity: r.equity.last().copied().unwrap_or(0.0),
        }
    }
}

/// The runs of a grid, in the order of its parameters.
#[derive(Debug, Serialize)]
pub struct GridReport<P> {
    /// Every run.
    pub runs: Vec<GridRun<P>>,
}

impl<P: std::fmt::Debug> GridReport<P> {
    /// The summary of every successful run, with its parameters.
    pub fn summaries(&self) -> Vec<(&P, Option<RunSummary>)> {
        self.runs
            .iter()
            .map(|r| (&r.params, r.result.as_ref().ok().map(RunSummary::of)))
            .collect()
    }

    /// The combined report as a text table, one line per run.
    pub fn table(&self) -> String {
        use std::fmt::Write;
        let mut s = String::from("run  decisions  total return  turnover  fallbacks  failures  params\n");
        for (i, r) in self.runs.iter().enumerate() {
            let _ = match &r.result {
                Ok(res) => {
                    let m = RunSummary::of(res);
                    writeln!(
                        s,
                        "{i:>3}  {:>9}  {:>11.2}%  {:>8.3}  {:>9}  {:>8}  {:?}",
                        m.decisions,
                        m.total_return * 100.0,
                        m.mean_turnover,
                        m.fallbacks,
                        m.stage_failures,
                        r.params
                    )
                }
                Err(e) => writeln!(s, "{i:>3}  failed: {e}  {:?}", r.params),
            };
        }
        s
    }
}

/// Runs one walk-forward per parameter set (a parameter grid × universe × seed, flattened
/// into `params`), in parallel with rayon when `config.parallel`, with one progress bar over
/// the runs. `build(p)` makes the pipeline of a run and gives the snapshots it runs on (e.g. a
/// slice of one of several shared universes). Each run is deterministic and independent, so
/// the report equals that of the same runs one after the other, in the order of `params`.
///
/// ```
/// # use prudentia_core::traits::*; use prudentia_core::*;
/// use prudentia_pipeline::{run_grid, GridConfig, PipelineBuilder, PipelineConfig};
/// # struct Flat; impl Forecaster for Flat { fn forecast(&self, _: &AssetInfo, _: &RegimeState) -> RoleResult<Forecast> { Ok(Forecast::new(5e-4, 0.01, Horizon::DAY)?) } }
/// # struct Equal; impl Optimizer for Equal { fn optimize(&self, i: &PortfolioInput<'_>) -> RoleResult<TargetPortfolio> {
/// #     let n = i.opportunities.len() as f64;
/// #     Ok(TargetPortfolio { weights: Weights::new(i.opportunities.iter().map(|o| o.asset.id.clone()).collect(), vec![1.0 / n; i.opportunities.len()])?, status: Status::Converged }) } }
/// # let ids: Vec<AssetId> = vec!["A".into(), "B".into()];
/// # let snapshots: Vec<MarketSnapshot> = (0..20).map(|t| { let time = Timestamp::from_nanos(t * Timestamp::NANOS_PER_DAY);
/// #     let p = [100.0 + (t % 3) as f64, 50.0 + (t % 4) as f64];
/// #     MarketSnapshot { time, quotes: ids.iter().zip(p).map(|(id, p)| Quote { asset: id.clone(), time, price: p, volume: None, spread_bps: None }).collect(),
/// #         indicators: vec![], assets: ids.iter().zip(p).map(|(id, p)| AssetInfo::new(id.clone(), p)).collect::<Result<_, _>>().unwrap() } }).collect();
/// // min_history × seed
/// let params: Vec<(usize, u64)> = [5, 10].iter().flat_map(|&h| (0..2).map(move |s| (h, s))).collect();
/// let mut config = GridConfig::default();
/// config.backtest.show_progress = false;
/// let report = run_grid(&params, &config, |&(min_history, seed)| {
///     let c = PipelineConfig { universe: ids.clone(), min_history, history_window: 15, seed, ..Default::default() };
///     let p = PipelineBuilder::new(c).forecaster(Box::new(Flat)).optimizer(Box::new(Equal)).build()?;
///     Ok((p, &snapshots[..]))
/// });
/// assert_eq!(report.runs.len(), 4);
/// assert!(report.runs.iter().all(|r| r.result.is_ok()));
/// println!("{}", report.table());
/// ```
pub fn run_grid<'s, P, F>(params: &[P], config: &GridConfig, build: F) -> GridReport<P>
where
    P: Clone + Send + Sync,
    F: Fn(&P) -> PipelineResult<(Pipeline, &'s [MarketSnapshot])> + Sync,
{
    let bar = if config.backtest.show_progress {
        indicatif::ProgressBar::new(params.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let quiet = BacktestConfig {
        show_progress: false,
        ..config.backtest.clone()
    };
    let one = |p: &P| {
        let result = build(p)
            .and_then(|(mut pipeline, snapshots)| walk_forward(&mut pipeline, snapshots, &quiet))
            .map_err(|e| e.to_string());
        bar.inc(1);
        GridRun {
            params: p.clone(),
            result,
        }
    };
    let runs = if config.parallel {
        params.par_iter().map(one).collect()
    } else {
        params.iter().map(one).collect()
    };
    bar.finish_and_clear();
    GridReport { runs }
}
