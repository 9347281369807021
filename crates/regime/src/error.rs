//! The error type of the regime crate.

use prudentia_core::CoreError;
use thiserror::Error;

/// An error in how a regime-crate function was called (bad configuration or bad input).
///
/// Outcomes such as "Baum–Welch stopped at its iteration limit" are statuses carried in
/// results, never errors.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum RegimeError {
    /// A shared validation error (non-finite input, shape mismatch, out-of-range parameter).
    #[error(transparent)]
    Core(#[from] CoreError),
    /// Too few observations to fit a model of the requested size.
    #[error("too few observations: {len}, need at least {min} for {n_states} states")]
    TooFewObservations {
        /// Number of observations given.
        len: usize,
        /// Minimum required.
        min: usize,
        /// Number of HMM states requested.
        n_states: usize,
    },
    /// A regime head was requested for a regime that has none and no template to create one.
    #[error("no policy head for regime `{regime}`")]
    NoHead {
        /// The regime label.
        regime: String,
    },
}

impl From<RegimeError> for prudentia_core::RoleError {
    fn from(e: RegimeError) -> Self {
        prudentia_core::RoleError::implementation(prudentia_core::Role::Regime, e)
    }
}

/// Result alias with [`RegimeError`].
pub type RegimeResult<T> = Result<T, RegimeError>;
