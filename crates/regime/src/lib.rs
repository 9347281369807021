//! # prudentia-regime
//!
//! Know which market we are in, and when it changed.
//!
//! - [`bocpd`]: Bayesian online change-point detection (Adams & MacKay 2007,
//!   "Bayesian online changepoint detection", arXiv:0710.3742, Algorithm 1) with
//!   Normal–Gamma (Student-t predictive) and known-variance Normal models, independent
//!   features for multivariate input, constant or user-defined hazards, the run-length
//!   posterior kept in log space and truncated so memory stays bounded; per step the MAP
//!   run length, the probability of a recent change and a change signal. Without
//!   truncation it equals brute-force enumeration of all segmentations (tested to 1e-9).
//! - [`hmm`]: Gaussian hidden Markov model (Rabiner 1989, Proc. IEEE 77; Hamilton 1989,
//!   Econometrica 57): Baum–Welch with seeded restarts, online forward filter, Viterbi,
//!   BIC to choose the number of states; checked against hmmlearn.
//! - [`labels`]: rule-based `risk_on`/`risk_off`, `high_vol`/`low_vol`, `liquid`/`illiquid`
//!   labels from VIX, realized-volatility percentile, trailing return, credit spread,
//!   quoted spread and relative volume, with hysteresis and a minimum dwell time.
//! - [`detector`]: [`MarketRegimeDetector`](detector::MarketRegimeDetector), the
//!   [`RegimeDetector`](prudentia_core::traits::RegimeDetector) over market snapshots
//!   (BOCPD on the reference asset's log returns, or on the panel features of a set of
//!   assets, + labels) producing
//!   [`RegimeState`](prudentia_core::RegimeState).
//! - [`conditional`]: one policy head per regime, routing by the current regime, an
//!   exploration freeze of N decisions after each detected change, unseen regimes started
//!   from a conservative template. The heads are any
//!   [`OnlinePolicy`](prudentia_core::traits::OnlinePolicy), e.g. the LinUCB, Thompson
//!   sampling or ε-greedy bandits of `prudentia_learn::bandit` (LinUCB lived here before it
//!   moved to prudentia-learn).
//! - [`panel`]: two nearly independent daily features of a cross-section of returns
//!   (log dispersion and equal-weight return) and the matching BOCPD configuration, for
//!   detecting volatility regimes from a whole panel rather than one index.
//! - [`eval`]: detection delay, false alarms per 1000 stable observations and
//!   precision/recall within a tolerance window against known change points.
//!
//! ## Example
//! ```
//! use prudentia_regime::bocpd::{Bocpd, BocpdConfig, NormalGammaPrior, ObservationModel};
//!
//! # fn main() -> Result<(), prudentia_regime::RegimeError> {
//! let prior = NormalGammaPrior::from_scale(1.0)?;
//! let mut detector = Bocpd::new(BocpdConfig::univariate(ObservationModel::NormalGamma(prior)))?;
//! let mut signals = Vec::new();
//! for t in 0..200 {
//!     // a level shift from 0 to 4 at t = 100 (small deterministic wiggle as noise)
//!     let x = if t < 100 { 0.0 } else { 4.0 } + 0.5 * ((t * 37 % 11) as f64 / 11.0 - 0.5);
//!     let step = detector.update_scalar(x)?;
//!     if step.changed {
//!         signals.push(step.index);
//!     }
//! }
//! assert!(signals.iter().any(|&t| (100..110).contains(&t)));
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod bocpd;
pub mod conditional;
pub mod detector;
pub mod error;
pub mod eval;
pub mod hmm;
pub mod labels;
pub mod panel;

pub use error::{RegimeError, RegimeResult};
