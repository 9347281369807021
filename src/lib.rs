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
//! | [`learn`] | prudentia-learn | OLS / ridge / WLS with robust and clustered errors, logistic regression, recursive least squares |
//! | [`monitor`] | prudentia-monitor | live metrics: InfluxDB line protocol and writer, Prometheus exposition, alerts |
//! | [`audit`] | prudentia-audit | SHA-256-chained decision log, crash-safe appends, tamper detection, replay, policy diff |
//! | [`datasets`] | prudentia-datasets | the shipped real sample data and a synthetic market with ground truth |
//!
//! The pipeline's stages are trait objects (`prudentia::core::traits`), so any of them can be
//! replaced by your own type. See `examples/daily_pipeline.rs` for the whole chain on real
//! data and `examples/custom_stage.rs` for plugging in your own forecaster and optimizer.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "audit")]
pub use prudentia_audit as audit;
#[cfg(feature = "core")]
pub use prudentia_core as core;
#[cfg(feature = "datasets")]
pub use prudentia_datasets as datasets;
#[cfg(feature = "defense")]
pub use prudentia_defense as defense;
#[cfg(feature = "kelly")]
pub use prudentia_kelly as kelly;
#[cfg(feature = "learn")]
pub use prudentia_learn as learn;
#[cfg(feature = "metrics")]
pub use prudentia_metrics as metrics;
#[cfg(feature = "monitor")]
pub use prudentia_monitor as monitor;
#[cfg(feature = "pipeline")]
pub use prudentia_pipeline as pipeline;
#[cfg(feature = "portfolio")]
pub use prudentia_portfolio as portfolio;
#[cfg(feature = "regime")]
pub use prudentia_regime as regime;
#[cfg(feature = "selection")]
pub use prudentia_selection as selection;
#[cfg(feature = "uncertainty")]
pub use prudentia_uncertainty as uncertainty;
