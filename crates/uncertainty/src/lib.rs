//! # prudentia-uncertainty
//!
//! Every forecast carries (mean, sigma, horizon) and its calibration. This crate turns raw
//! forecasts into calibrated ones, per market regime, and measures how well calibrated
//! they are:
//!
//! - **Models**: linear quantile regression solved to the LP optimum (Koenker & Bassett
//!   1978) by a Frisch–Newton interior point (Portnoy & Koenker 1997) polished to a verified
//!   vertex, in [`quantreg`]; heteroscedastic Gaussian regression (mean and log-sigma linear)
//!   by maximum likelihood in [`hetero`]; NGBoost-style natural-gradient boosting with a
//!   Normal distribution and histogram regression trees (Duan et al. 2020) in [`ngboost`].
//! - **Calibration**: isotonic regression by pool-adjacent-violators (Barlow et al. 1972) in
//!   [`isotonic`], Platt scaling (Platt 1999) in [`platt`], variance scaling and the
//!   regime-keyed [`calibrate::RegimeCalibrator`] / [`calibrate::CalibratedBlender`] with a
//!   pooled fallback; per-regime Platt or isotonic calibration of event probabilities in
//!   [`probability`].
//! - **Conformal intervals**: split conformal (Lei et al. 2018), CQR (Romano, Patterson &
//!   Candès 2019) and adaptive conformal inference (Gibbs & Candès 2021), each optionally
//!   Mondrian (keyed by regime), in [`conformal`].
//! - **Metrics**: ECE with equal-width and equal-mass bins, PIT histograms with chi-square
//!   and KS uniformity tests, the closed-form CRPS of a Normal (Gneiting & Raftery 2007,
//!   eq. 21), interval coverage and width, in [`scores`].
//! - **Conversions** between quantiles, Normal distributions and (mean, sigma, horizon) in
//!   [`convert`].
//!
//! ## Example
//! ```
//! use prudentia_core::{Forecast, Horizon, RegimeLabel};
//! use prudentia_uncertainty::calibrate::{CalibrationEvent, CalibratorConfig, RegimeCalibrator};
//!
//! # fn main() -> Result<(), prudentia_uncertainty::UncertaintyError> {
//! // An over-confident forecaster: says sigma = 1 when outcomes spread like sigma = 2.
//! let events: Vec<CalibrationEvent> = (0..400)
//!     .map(|i| {
//!         let z = ((i * 37 % 400) as f64 + 0.5) / 400.0; // evenly spread PIT levels
//!         let y = 2.0 * prudentia_uncertainty::normal::ppf(z);
//!         CalibrationEvent {
//!             forecast: Forecast::new(0.0, 1.0, Horizon::DAY).unwrap(),
//!             regime: RegimeLabel::HIGH_VOL,
//!             outcome: y,
//!         }
//!     })
//!     .collect();
//! let cal = RegimeCalibrator::fit(CalibratorConfig::default(), &events)?;
//! let raw = Forecast::new(0.0, 1.0, Horizon::DAY)?;
//! let out = cal.calibrate_detailed(&raw, &RegimeLabel::HIGH_VOL)?;
//! assert!((out.forecast.sigma - 2.0).abs() < 0.05);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Index loops read more clearly than zipped iterators in the numerical kernels here.
#![allow(clippy::needless_range_loop)]

/// [`prudentia_core::checked_serde!`] inside a block where `Result` is the std one (the core
/// macro names `Result` unqualified, which this crate's `Result<T>` alias would shadow).
macro_rules! checked_serde {
    ($ty:ident, $check:path) => {
        const _: () = {
            #[allow(unused_imports)]
            use ::core::result::Result;
            prudentia_core::checked_serde!($ty, $check);
        };
    };
}

pub mod calibrate;
pub mod conformal;
pub mod convert;
pub mod error;
pub mod hetero;
pub mod isotonic;
pub mod ngboost;
pub mod normal;
pub mod platt;
pub mod probability;
pub mod quantreg;
pub mod scores;

pub use error::{Result, UncertaintyError};
