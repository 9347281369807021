//! Covariance and correlation estimators shared by several crates.
//!
//! Input convention: a `T × n` matrix of returns, one row per observation, one column per
//! asset. Every estimator validates its input (non-empty, finite) and returns a typed error.

mod correlation;
mod covariance;
mod psd;

pub use correlation::{covariance_to_correlation, PsdCorrelation, RollingCorrelation};
pub use covariance::{
    ewma_covariance, lambda_from_half_life, ledoit_wolf, sample_covariance, EwmaCovariance, LedoitWolf,
    LedoitWolfEstimate, SampleCovariance,
};
pub use psd::{
    nearest_correlation, nearest_psd, NearestCorrelationConfig, PsdRepair, MAX_NEAREST_CORRELATION_ITERATIONS,
};
