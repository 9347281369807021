//! The crate's error type.

use prudentia_core::CoreError;
use prudentia_learn::LearnError;
use thiserror::Error;

/// An error in how a prudentia-execution function was called: bad input, never a bad outcome.
///
/// Outcomes such as "the target policy leaves the logging policy's support" or "the reward
/// model fell back to action means" are statuses inside the results, not errors.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ExecutionError {
    /// A shared validation error (non-finite input, shape mismatch, out-of-range setting,
    /// size beyond its limit).
    #[error(transparent)]
    Core(#[from] CoreError),
    /// A learner of prudentia-learn refused its input.
    #[error(transparent)]
    Learn(#[from] LearnError),
    /// A context (feature vector) of the wrong length.
    #[error("context has {found} features, the policy expects {expected}")]
    ContextLength {
        /// The policy's feature count.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// An action mask that allows no action (every venue down, or no order type allowed).
    #[error("the action mask allows no action (of {n_actions})")]
    EmptyMask {
        /// Number of actions in the space.
        n_actions: usize,
    },
    /// An action index outside the action space.
    #[error("action {action} is out of range: the space has {n_actions} actions")]
    ActionOutOfRange {
        /// The offending index.
        action: usize,
        /// Number of actions.
        n_actions: usize,
    },
    /// A reward (fill) for an action that was never taken: the fill's order type or venue
    /// is not the routed action's, or the order was never routed.
    #[error("reward for an action never taken: {detail}")]
    ActionNeverTaken {
        /// What did not match.
        detail: &'static str,
    },
    /// A logged propensity of 0 (or not in (0, 1]): importance weights are undefined.
    #[error("propensity {value} at row {index} is not in (0, 1]")]
    BadPropensity {
        /// Row of the logged decision.
        index: usize,
        /// The offending propensity.
        value: f64,
    },
    /// A target-policy row that is not a probability distribution.
    #[error("target policy row {index} is not a distribution (sum {sum})")]
    NotADistribution {
        /// The row.
        index: usize,
        /// The sum of its probabilities (or the first bad entry).
        sum: f64,
    },
    /// Market data the router needs is missing from the snapshot.
    #[error("the market snapshot has no {what} for `{asset}`")]
    MissingMarketData {
        /// What is missing (quote, spread, indicator name).
        what: &'static str,
        /// The asset.
        asset: String,
    },
    /// A result that `f64` cannot hold (importance weights of ~1e300 on rewards of ~1e300).
    #[error("the {what} overflow f64: rescale the rewards or floor the propensities")]
    Overflow {
        /// Which result.
        what: &'static str,
    },
}

/// Result alias with [`ExecutionError`].
pub type ExecutionResult<T> = Result<T, ExecutionError>;
