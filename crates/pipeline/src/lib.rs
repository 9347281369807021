//! # prudentia-pipeline
//!
//! Thin composition of the prudentia roles into one decision pipeline that users assemble
//! themselves. A [`Pipeline`] is built ([`PipelineBuilder`]) from boxed role-trait objects
//! (`prudentia_core::traits`): guard, regime detector, forecaster, calibrator, causal filter,
//! selector, optimizer, sizer, cost model, execution policy and audit sink — any of which can
//! be your own type. Two flows are kept apart, as in the design:
//!
//! - [`Pipeline::decide`] turns a `MarketSnapshot` into a `Decision` and never learns (the
//!   guard's windows, the return history and the regime filter advance deterministically
//!   from market data, so replaying snapshots reproduces decisions);
//! - [`Pipeline::learn`] applies an `Outcome`: positions and equity, then every online
//!   learner.
//!
//! When the guard refuses a snapshot, or while the return history is warming up, the
//! decision is a `SafeFallback` that keeps current positions and says why. Prices are used
//! only once validated (the guard's clean quotes, finite and > 0, not future-dated, not
//! contradicted, within [`MAX_PRICE_RATIO`] of the last one); otherwise the last validated
//! price is carried and the asset is not traded. Every weight change of a decision is an
//! order or an [`UnexecutedChange`] with its reason, and a rejected `learn` changes nothing.
//! [`walk_forward`] marks P&L at validated prices and records a [`PriceFault`] for every
//! price it could not use. Each stage is
//! timed ([`StageTimings`]). [`walk_forward`] drives a pipeline over a sequence of snapshots
//! without look-ahead.
//!
//! ## Statuses, not crashes
//! A stage's typed error on one day becomes a `SafeFallback` decision that keeps positions,
//! with the stage, the reason and the date ([`DecisionReport::failure`],
//! [`BacktestResult::failures`]), and the run goes on; with [`OnStageError::Stop`] it is a
//! [`PipelineError::Stage`] carrying the stage, the decision time and the implementation's
//! typed error as its source. An optimizer result that is not optimal is traded only when
//! [`PipelineConfig::trade_non_optimal`] allows it (iteration limit) and is always visible
//! ([`DecisionReport::optimizer_status`], [`DecisionReport::notes`]); infeasible and failed
//! solves keep positions. [`PipelineBuilder::selector_with_k`] lets the pipeline shrink the
//! slate size to what is feasible, with a note.
//!
//! ## Refits, checkpoints, many runs
//! Batch models implement [`Refit`] and are refitted on a [`RefitSchedule`] (every N
//! decisions, trailing or expanding window, at decision time or in the learn flow) with the
//! data of past decisions only. [`Pipeline::checkpoint`] gives a serializable
//! [`PipelineState`] (with the state of every stage registered with
//! [`PipelineBuilder::stage_state`]); [`walk_forward_until`] and [`resume_walk_forward`] pause
//! and continue a run exactly. [`run_grid`] runs many pipelines (parameter grid × universe ×
//! seed) in parallel with rayon, each identical to its serial run, with one progress bar and
//! a combined report.
//!
//! ## Example
//! ```
//! use prudentia_core::traits::*;
//! use prudentia_core::*;
//! use prudentia_pipeline::{walk_forward, BacktestConfig, PipelineBuilder, PipelineConfig};
//!
//! /// Forecasts every asset at +5 bp a day with 1% sigma.
//! struct Flat;
//! impl Forecaster for Flat {
//!     fn forecast(&self, _: &AssetInfo, _: &RegimeState) -> RoleResult<Forecast> {
//!         Ok(Forecast::new(5e-4, 0.01, Horizon::DAY)?)
//!     }
//! }
//! /// Equal weights over the opportunities it is given.
//! struct Equal;
//! impl Optimizer for Equal {
//!     fn optimize(&self, input: &PortfolioInput<'_>) -> RoleResult<TargetPortfolio> {
//!         let n = input.opportunities.len() as f64;
//!         let ids = input.opportunities.iter().map(|o| o.asset.id.clone()).collect();
//!         let w = Weights::new(ids, vec![1.0 / n; input.opportunities.len()])?;
//!         Ok(TargetPortfolio { weights: w, status: Status::Converged })
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let ids: Vec<AssetId> = vec!["A".into(), "B".into()];
//! let snapshots: Vec<MarketSnapshot> = (0..30)
//!     .map(|t| {
//!         let time = Timestamp::from_nanos(t * Timestamp::NANOS_PER_DAY);
//!         let prices = [100.0 * (1.0 + 0.01 * ((t % 3) as f64)), 50.0 + (t % 4) as f64];
//!         MarketSnapshot {
//!             time,
//!             quotes: ids.iter().zip(prices).map(|(id, p)| Quote {
//!                 asset: id.clone(), time, price: p, volume: None, spread_bps: None,
//!             }).collect(),
//!             indicators: vec![],
//!             assets: ids.iter().zip(prices).map(|(id, p)| AssetInfo::new(id.clone(), p)).collect::<Result<_, _>>().unwrap(),
//!         }
//!     })
//!     .collect();
//! let config = PipelineConfig { universe: ids, min_history: 5, history_window: 20, ..Default::default() };
//! let mut pipeline = PipelineBuilder::new(config)
//!     .forecaster(Box::new(Flat))
//!     .optimizer(Box::new(Equal))
//!     .build()?;
//! let run = walk_forward(&mut pipeline, &snapshots, &BacktestConfig { show_progress: false, ..Default::default() })?;
//! assert_eq!(run.decisions.len(), 29);
//! assert!(matches!(run.decisions[0].status, DecisionStatus::SafeFallback { .. })); // warming up
//! assert_eq!(run.decisions[10].sized.values, vec![0.5, 0.5]);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod backtest;
mod digest;
mod error;
mod grid;
mod history;
mod observer;
mod pipeline;
mod refit;
mod shared;

pub use backtest::{
    realized_returns, resume_walk_forward, resume_walk_forward_until, resume_walk_forward_with_prices,
    resume_walk_forward_with_prices_until, walk_forward, walk_forward_until, walk_forward_with_prices,
    walk_forward_with_prices_until, BacktestConfig, BacktestResult, PriceFault, PriceFaultKind,
    RunCheckpoint,
};
pub use digest::{sha256_hex, sha256_json_hex, FixedState, ModelState};
pub use error::{PipelineError, PipelineResult, Stage};
pub use grid::{run_grid, GridConfig, GridReport, GridRun, RunSummary};
pub use history::{ReturnHistory, MAX_PRICE_RATIO};
pub use observer::{decision_metrics, outcome_metrics, MonitorObserver, NoopObserver, Observer};
pub use pipeline::{
    Broker, CovarianceChoice, DecisionReport, FillLearner, OnStageError, Pipeline, PipelineBuilder,
    PipelineConfig, SelectorFactory, StageFailure, StageTimings, UnexecutedChange, UnexecutedReason,
};
pub use refit::{PipelineState, Refit, RefitPoint, RefitSchedule, RefitWindow, StageState};
pub use shared::Shared;
