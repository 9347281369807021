//! # prudentia-core
//!
//! The shared vocabulary of the prudentia crates: identifiers and timestamps, [`Forecast`]
//! (mean, sigma, horizon, quantiles), [`Opportunity`], [`MarketSnapshot`], [`RegimeState`],
//! [`Weights`], [`Order`], [`Outcome`], [`Decision`] and [`DecisionRecord`]; one small,
//! object-safe trait per pipeline role ([`traits`]); the shared error [`CoreError`] and
//! validation helpers ([`validate`]); and the covariance and correlation estimators several
//! crates use ([`estimators`]):
//!
//! - sample and EWMA covariance (RiskMetrics 1996),
//! - Ledoit–Wolf shrinkage to a scaled identity (Ledoit & Wolf 2004, J. Multivariate
//!   Analysis 88; agrees with scikit-learn's `LedoitWolf`),
//! - correlation from covariance and a rolling-window correlation matrix updated in O(n²)
//!   per observation,
//! - nearest PSD matrix (Higham 1988) and nearest correlation matrix (Higham 2002, IMA J.
//!   Numer. Anal. 22) that report how much they changed.
//!
//! Dense linear algebra goes through `faer` inside [`linalg`] (faer types stay out of the
//! public API); a crate-private view helper shows an ndarray array to faer without copying
//! (the crate's one audited `unsafe` block).
//!
//! ## Example
//! ```
//! use ndarray::array;
//! use prudentia_core::estimators::{ledoit_wolf, RollingCorrelation};
//! use prudentia_core::{Forecast, Horizon};
//!
//! # fn main() -> Result<(), prudentia_core::CoreError> {
//! let returns = array![[0.01, 0.02], [-0.02, -0.01], [0.015, 0.01], [0.0, -0.005]];
//! let lw = ledoit_wolf(returns.view(), false)?;
//! assert!((0.0..=1.0).contains(&lw.shrinkage));
//!
//! let mut rolling = RollingCorrelation::new(2, 3)?;
//! rolling.extend(returns.view())?;
//! let corr = rolling.correlation()?; // over the last 3 rows
//! assert_eq!(corr[[0, 0]], 1.0);
//!
//! // A daily forecast scaled to a 5-day horizon: mean × 5, sigma × √5.
//! let f = Forecast::new(0.001, 0.02, Horizon::DAY)?;
//! let week = f.rescale(Horizon::trading_days(5.0)?)?;
//! assert!((week.sigma - 0.02 * 5f64.sqrt()).abs() < 1e-15);
//! # Ok(()) }
//! ```
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod changepoint;
pub mod checked_serde;
mod display;
pub mod drift;
pub mod error;
pub mod estimators;
pub mod linalg;
pub mod normal;
pub mod rng;
pub mod status;
pub mod tail;
pub mod traits;
pub mod types;
pub mod validate;

pub use error::{CoreError, CoreResult};
pub use status::{SeparationKind, Status};
pub use traits::{Role, RoleError, RoleResult};
pub use types::*;
