//! The crate's error type.

use prudentia_core::CoreError;
use prudentia_learn::LearnError;
use thiserror::Error;

/// An error in how a prudentia-causal function was called: bad input, never a bad outcome.
///
/// How an estimate came out (clipped propensities, a weak instrument, a nearly collinear
/// design) is a status inside the result, not an error.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum CausalError {
    /// A shared validation error (non-finite input, shape mismatch, out-of-range setting,
    /// size beyond its limit).
    #[error(transparent)]
    Core(#[from] CoreError),
    /// An error of a prudentia-learn model used as a nuisance or final stage.
    #[error(transparent)]
    Learn(#[from] LearnError),
    /// A treatment value that is not 0 or 1.
    #[error("`treatment[{index}]` = {value}: a binary treatment must be 0 or 1")]
    NotBinary {
        /// Index of the offending value.
        index: usize,
        /// The value.
        value: f64,
    },
    /// No unit (or too few) in one arm: every unit treated, none treated, or a cross-fitting
    /// training fold without one of the arms. A constant treatment ends here.
    #[error("{arm} arm has {found} units{context}: need at least {needed}")]
    EmptyArm {
        /// `"treated"` or `"control"`.
        arm: &'static str,
        /// Units found.
        found: usize,
        /// Units needed.
        needed: usize,
        /// Where (e.g. " in the training set of fold 2"), or empty.
        context: String,
    },
    /// A column of the covariates (or of the instruments and controls) is (numerically) a
    /// linear combination of the others and of the intercept: effects are not identified.
    /// `column` counts the intercept as column 0.
    #[error(
        "{what} are collinear: column {column} (the intercept is column 0) is a combination of the others"
    )]
    Collinear {
        /// Which design.
        what: &'static str,
        /// The first dependent column.
        column: usize,
    },
    /// Fewer observations than the estimator needs.
    #[error("{n} observations for {k} coefficients: need more observations than coefficients")]
    TooFewObservations {
        /// Observations given.
        n: usize,
        /// Coefficients to estimate.
        k: usize,
    },
    /// Fold labels that do not make a K-fold partition (fewer than 2 folds, an empty fold,
    /// a label out of range).
    #[error("invalid folds: {reason}")]
    InvalidFolds {
        /// What is wrong.
        reason: String,
    },
    /// A user-supplied nuisance model refused to fit or predict.
    #[error("nuisance model `{stage}` failed: {message}")]
    Nuisance {
        /// Which nuisance (`"propensity"`, `"outcome"`, …).
        stage: &'static str,
        /// Its error, as text.
        message: String,
    },
    /// A nuisance model returned the wrong number of predictions or a non-finite one.
    #[error("nuisance model `{stage}` returned an unusable prediction: {reason}")]
    BadPrediction {
        /// Which nuisance.
        stage: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The instruments explain none of the treatment (after the controls): the 2SLS
    /// estimate does not exist. (A weak but non-zero first stage is a status instead.)
    #[error("the instruments are uncorrelated with the treatment (partial R² = {partial_r2}): the effect is not identified")]
    Unidentified {
        /// The first stage's partial R².
        partial_r2: f64,
    },
    /// A result cannot be represented in `f64`: rescale the inputs.
    #[error("the {what} overflow f64: rescale the inputs")]
    Overflow {
        /// Which result.
        what: &'static str,
    },
}

/// Result alias with [`CausalError`].
pub type CausalResult<T> = Result<T, CausalError>;
