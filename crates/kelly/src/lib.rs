//! # prudentia-kelly
//!
//! How much capital to commit: Kelly sizing with the guards a trading system needs.
//!
//! - [`single`]: the Kelly fraction for Gaussian returns `f* = μ / σ²` and for a binary bet
//!   `f* = p − (1 − p) / b` (Kelly 1956, Bell System Technical Journal 35; Thorp 2006, "The
//!   Kelly criterion in blackjack, sports betting and the stock market"), fractional Kelly,
//!   a volatility cap `|f| ≤ σ_target / σ`, shrinkage of μ for estimation uncertainty
//!   (`μ · max(0, 1 − se² / μ²)` or a conjugate Normal prior), composed in a documented order
//!   with the drawdown governor ([`single::Kelly`]).
//! - [`governor`]: a drawdown governor that scales exposure down *smoothly*, from 1 at a
//!   start drawdown to 0 at a hard-stop drawdown, linearly or by a convex power schedule,
//!   with its state (peak equity, drawdown) serializable.
//! - [`multi`]: growth-optimal weights maximizing the mean log wealth over return scenarios
//!   (Busseti, Ryu & Boyd 2016, "Risk-constrained Kelly gambling", J. Investing 25), and the
//!   Gaussian approximation `Σ⁻¹μ`, under box and gross-leverage limits, by a log-barrier
//!   damped Newton method (Boyd & Vandenberghe 2004, §11.3); checked against cvxpy +
//!   Clarabel: the test bounds the weights to 5e-7 (1e-4 per case) and the objective to
//!   1e-8; observed 5e-8.
//! - [`allocation`]: target fractions into positions honouring capital, ADV participation,
//!   borrow availability, per-name caps, lot sizes and a sector crowding penalty: an exact
//!   greedy for the continuous problem, and a MILP (`good_lp` + the pure-Rust `microlp`)
//!   when lots matter; it reports what each limit cut.
//! - [`sizer`]: [`sizer::KellySizer`], the pipeline's [`prudentia_core::traits::Sizer`] and
//!   an [`prudentia_core::traits::OnlineLearner`] of outcomes that moves the governor.
//!
//! ## Example
//! ```
//! use prudentia_kelly::governor::{DrawdownGovernor, DrawdownGovernorConfig};
//! use prudentia_kelly::single::{binary_kelly, gaussian_kelly, Kelly, KellyConfig, KellyInput};
//!
//! # fn main() -> Result<(), prudentia_kelly::KellyError> {
//! // Thorp's coin: p = 0.6 at even odds → bet 20 % of the bankroll.
//! assert!((binary_kelly(0.6, 1.0)? - 0.2).abs() < 1e-12);
//! // 10 bp/day expected return with 1 %/day volatility → full Kelly leverage 10.
//! assert!((gaussian_kelly(0.001, 0.01)? - 10.0).abs() < 1e-9);
//!
//! // Half Kelly, 20 %/year volatility cap, governor from 5 % to 20 % drawdown.
//! let kelly = Kelly::new(KellyConfig::default())?;
//! let mut governor = DrawdownGovernor::new(DrawdownGovernorConfig::default())?;
//! governor.observe(100.0)?;
//! governor.observe(87.5)?; // 12.5 % drawdown: halfway through the band
//! let sized = kelly.fraction(&KellyInput::daily(0.001, 0.01), Some(&governor))?;
//! let vol_cap = 0.20 / 252f64.sqrt() / 0.01;
//! assert!((sized.fraction - 0.5 * vol_cap).abs() < 1e-12);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod allocation;
pub mod error;
pub mod governor;
pub mod multi;
pub mod single;
pub mod sizer;

pub use error::{KellyError, KellyResult};
