//! # prudentia
//!
//! Risk-aware trading decisions as a family of embeddable crates. This facade re-exports
//! each role crate as a module behind a Cargo feature of the same name (all on by default):
//!
//! | module | crate | role |
//! |---|---|---|
//! | [`core`] | prudentia-core | shared types, role traits, `CoreError`, validation, covariance and correlation estimators |
//! | [`defense`] | prudentia-defense | causal Hampel filter, quarantine, snapshot guard, drift (PSI, KS, Page–Hinkley, ADWIN) |
//! | [`regime`] | prudentia-regime | Bayesian online change points, Gaussian HMM, regime labels, regime-conditional policy heads |
//! | [`uncertainty`] | prudentia-uncertainty | quantile regression, NGBoost, calibration per regime, conformal intervals |
//! | [`selection`] | prudentia-selection | diversity-aware slate selection, exact and heuristic |
//! | [`portfolio`] | prudentia-portfolio | mean–CVaR / mean–variance with formal limits, primal–dual risk budgets |
//! | [`kelly`] | prudentia-kelly | Kelly sizing, drawdown governor, constrained allocation |
//! | [`metrics`] | prudentia-metrics | performance, risk and decision-quality metrics, reports |
//! | [`pipeline`] | prudentia-pipeline | the `Pipeline` composing the roles, walk-forward backtests |
//! | [`learn`] | prudentia-learn | OLS / ridge / WLS with robust and clustered errors, logistic regression, recursive least squares, boosted trees, contextual bandits (LinUCB, Thompson, ε-greedy) |
//! | [`causal`] | prudentia-causal | S-, T-, X- and DR-learners with intervals, 2SLS, overlap / balance / refutation diagnostics, the causal filter stage |
//! | [`costs`] | prudentia-costs | Almgren–Chriss trajectories, square-root impact calibrated from fills, online residual slippage, per-fill attribution |
//! | [`execution`] | prudentia-execution | order type × venue routing by contextual bandits, off-policy evaluation, child-order schedules, limit-price rules |
//! | [`monitor`] | prudentia-monitor | live metrics: InfluxDB line protocol and writer, Prometheus exposition, alerts |
//! | [`audit`] | prudentia-audit | SHA-256-chained decision log, crash-safe appends, tamper detection, replay, policy diff |
//! | [`datasets`] | prudentia-datasets | the shipped real sample data and a synthetic market with ground truth |
//!
//! The pipeline's stages are trait objects (`prudentia::core::traits`), so any of them can be
//! replaced by your own type. [`prelude`] brings the types of a typical application into
//! scope, and the facade re-exports [`chrono`], [`ndarray`] and (with `metrics`) `plotters`,
//! so an application needs no other dependency than `prudentia` to build snapshots, read its
//! own CSV files ([`datasets::onramp`]) and draw charts. See `examples/daily_pipeline.rs` for the whole chain on real
//! data and `examples/custom_stage.rs` for plugging in your own forecaster and optimizer.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "audit")]
#[doc(inline)]
pub use prudentia_audit as audit;
#[cfg(feature = "causal")]
#[doc(inline)]
pub use prudentia_causal as causal;
#[cfg(feature = "core")]
#[doc(inline)]
pub use prudentia_core as core;
#[cfg(feature = "costs")]
#[doc(inline)]
pub use prudentia_costs as costs;
#[cfg(feature = "datasets")]
#[doc(inline)]
pub use prudentia_datasets as datasets;
#[cfg(feature = "defense")]
#[doc(inline)]
pub use prudentia_defense as defense;
#[cfg(feature = "execution")]
#[doc(inline)]
pub use prudentia_execution as execution;
#[cfg(feature = "kelly")]
#[doc(inline)]
pub use prudentia_kelly as kelly;
#[cfg(feature = "learn")]
#[doc(inline)]
pub use prudentia_learn as learn;
#[cfg(feature = "metrics")]
#[doc(inline)]
pub use prudentia_metrics as metrics;
#[cfg(feature = "monitor")]
#[doc(inline)]
pub use prudentia_monitor as monitor;
#[cfg(feature = "pipeline")]
#[doc(inline)]
pub use prudentia_pipeline as pipeline;
#[cfg(feature = "portfolio")]
#[doc(inline)]
pub use prudentia_portfolio as portfolio;
#[cfg(feature = "regime")]
#[doc(inline)]
pub use prudentia_regime as regime;
#[cfg(feature = "selection")]
#[doc(inline)]
pub use prudentia_selection as selection;
#[cfg(feature = "uncertainty")]
#[doc(inline)]
pub use prudentia_uncertainty as uncertainty;

#[cfg(all(
    feature = "pipeline",
    feature = "defense",
    feature = "regime",
    feature = "uncertainty",
    feature = "selection",
    feature = "portfolio",
    feature = "kelly",
    feature = "metrics",
    feature = "datasets"
))]
pub mod config;

/// The `chrono` crate the core types use for dates ([`core::Timestamp::from_date`]).
pub use chrono;
/// The `ndarray` crate of every matrix in prudentia's APIs.
pub use ndarray;
/// The `plotters` crate the metrics charts draw with, for charts of your own.
#[cfg(feature = "metrics")]
pub use plotters;

/// The types and functions a typical application uses, in one import:
/// `use prudentia::prelude::*;`.
///
/// ```
/// use prudentia::prelude::*;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let text = "date,ticker,close\n2024-01-02,AAA,10\n2024-01-03,AAA,10.5\n";
/// let data = read_market_csv(text, &CsvOptions::default())?;
/// let spec = FeatureSpec::new([("last", Feature::LastReturn)])?;
/// let snapshot: MarketSnapshot = data.snapshot(1, &spec)?;
/// assert_eq!(spec.get(&snapshot.assets[0], "last"), Some((10.5f64 / 10.0).ln()));
/// let _guard = SnapshotGuard::new(SnapshotGuardConfig::default())?;
/// # Ok(()) }
/// ```
pub mod prelude {
    pub use chrono::NaiveDate;
    pub use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

    #[cfg(feature = "core")]
    pub use prudentia_core::traits::{
        Forecaster, Guard, OnlineLearner, Optimizer, PortfolioInput, Screened, TargetPortfolio,
    };
    #[cfg(feature = "core")]
    pub use prudentia_core::{
        AssetId, AssetInfo, CoreError, Decision, DecisionStatus, Forecast, Horizon, Indicator,
        MarketSnapshot, Outcome, Quote, RegimeLabel, RegimeState, RoleResult, Status, Timestamp, Weights,
    };
    #[cfg(feature = "datasets")]
    pub use prudentia_datasets::onramp::{
        load_market_csv, read_market_csv, CsvOptions, Feature, FeatureSpec, Layout, MarketData,
    };
    #[cfg(feature = "datasets")]
    pub use prudentia_datasets::Frame;
    #[cfg(feature = "defense")]
    pub use prudentia_defense::{SnapshotGuard, SnapshotGuardConfig};
    #[cfg(feature = "kelly")]
    pub use prudentia_kelly::sizer::{KellySizer, KellySizerConfig};
    #[cfg(feature = "metrics")]
    pub use prudentia_metrics::{Report, ReportConfig};
    #[cfg(feature = "pipeline")]
    pub use prudentia_pipeline::{
        walk_forward, walk_forward_with_prices, BacktestConfig, BacktestResult, Pipeline, PipelineBuilder,
        PipelineConfig, Shared,
    };
    #[cfg(feature = "portfolio")]
    pub use prudentia_portfolio::{Limits, Objective, PortfolioConfig, PortfolioOptimizer};
    #[cfg(feature = "regime")]
    pub use prudentia_regime::detector::{MarketRegimeDetector, MarketRegimeDetectorConfig};
    #[cfg(feature = "selection")]
    pub use prudentia_selection::{DiversityAwareSelector, ProblemConfig, SelectorConfig};
    #[cfg(feature = "uncertainty")]
    pub use prudentia_uncertainty::calibrate::{CalibratorConfig, RegimeCalibrator};
}
