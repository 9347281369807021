//! The crate's error type.

use prudentia_core::CoreError;
use thiserror::Error;

/// An error in how a prudentia-learn function was called: bad input, never a bad outcome.
///
/// "Stopped at the iteration limit" or "the data are separated" are a
/// [`prudentia_core::Status`] inside the fitted model, not errors.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum LearnError {
    /// A shared validation error (non-finite input, shape mismatch, out-of-range setting,
    /// size beyond its limit).
    #[error(transparent)]
    Core(#[from] CoreError),
    /// Fewer observations than the model needs (`n` must exceed the `k` coefficients, so
    /// that residual degrees of freedom remain).
    #[error("{n} observations for {k} coefficients: need more observations than coefficients")]
    TooFewObservations {
        /// Observations given.
        n: usize,
        /// Coefficients to estimate (the intercept included).
        k: usize,
    },
    /// The design matrix does not have full column rank (a constant, duplicated or
    /// collinear column): the coefficients are not identified. `column` counts the
    /// intercept as column 0 when there is one.
    #[error("design matrix is rank deficient: column {column} is (numerically) a combination of the others")]
    Collinear {
        /// The first column found dependent on the previous ones.
        column: usize,
    },
    /// A binary response that is not 0 or 1.
    #[error("`y[{index}]` = {value}: a binary response must be 0 or 1")]
    NotBinary {
        /// Index of the offending response.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// Clustered standard errors were asked for without cluster labels, or with fewer than
    /// two clusters.
    #[error("clustered standard errors need cluster labels with at least 2 clusters, found {clusters}")]
    TooFewClusters {
        /// Distinct clusters found (0 when no labels were given).
        clusters: usize,
    },
    /// HC2/HC3 standard errors divide by `1 − h_i`; observation `index` has leverage 1.
    #[error("observation {index} has leverage {leverage}: HC2/HC3 standard errors are undefined")]
    UnitLeverage {
        /// The observation.
        index: usize,
        /// Its leverage.
        leverage: f64,
    },
    /// An action index outside `0..n_actions` (a reward for an action the policy does not
    /// have).
    #[error("action {action} is out of range: the policy has {n_actions} actions")]
    UnknownAction {
        /// The offending action.
        action: usize,
        /// Number of actions of the policy.
        n_actions: usize,
    },
    /// An action mask that allows no action.
    #[error("the action mask allows none of the {n_actions} actions")]
    NoAllowedAction {
        /// Number of actions of the policy.
        n_actions: usize,
    },
    /// The result cannot be represented in `f64` (e.g. a coefficient beyond `f64::MAX`
    /// because the inputs' units differ by more than 10^308).
    #[error("the {what} overflow f64: rescale the inputs")]
    Overflow {
        /// Which result.
        what: &'static str,
    },
}

/// Result alias with [`LearnError`].
pub type LearnResult<T> = Result<T, LearnError>;
