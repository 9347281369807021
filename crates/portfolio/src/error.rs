//! The error type of the portfolio crate.

use prudentia_core::error::CoreError;
use thiserror::Error;

/// An error in how the optimizer was called (bad configuration or bad problem data).
///
/// An infeasible portfolio, an iteration limit or a numerical failure of the solver is not an
/// error: it is a [`Status`](prudentia_core::Status) in the [`crate::PortfolioResult`].
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum PortfolioError {
    /// A shared validation error (shape, non-finite value, range, non-PSD matrix).
    #[error(transparent)]
    Core(#[from] CoreError),
    /// The objective or a limit needs a risk model the problem does not carry.
    #[error("{needed_by} needs {missing}, which the problem does not provide")]
    MissingRiskModel {
        /// What needs it (e.g. "objective MeanVariance", "limit cvar_max").
        needed_by: &'static str,
        /// What is missing ("covariance" or "scenarios").
        missing: &'static str,
    },
    /// A configuration field holds a value outside its allowed range.
    #[error("config field `{field}` = {value} is invalid: expected {expected}")]
    InvalidConfig {
        /// The field.
        field: &'static str,
        /// The offending value.
        value: f64,
        /// What is allowed.
        expected: &'static str,
    },
    /// A named sector's net bounds contradict each other (its `sector_caps` entry merged
    /// with the global `sector_net_min` / `sector_net_max`).
    #[error("limits.sector_caps[{sector}]: net_min {min} is above net_max {max}")]
    InvalidSectorCap {
        /// The sector.
        sector: String,
        /// Its effective net minimum.
        min: f64,
        /// Its effective net maximum.
        max: f64,
    },
    /// The problem has no bound on the size of the position (no finite per-name bounds, no
    /// gross limit), so the optimum may be unbounded.
    #[error("weights are unbounded: set finite weight_min/weight_max or gross_max")]
    Unbounded,
    /// A number derived from finite input is not representable in `f64` (e.g. wᵀΣw with a
    /// covariance near `f64::MAX`, or an objective that overflows at the solution).
    #[error("`{quantity}` is not representable for this input (overflow): rescale the data")]
    Overflow {
        /// What overflowed.
        quantity: &'static str,
    },
    /// The solver rejected the assembled problem data (a bug in assembly or a degenerate input).
    #[error("solver rejected the problem data: {detail}")]
    Solver {
        /// The solver's message.
        detail: &'static str,
    },
}
