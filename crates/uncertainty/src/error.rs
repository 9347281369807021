//! The crate's error type.

use prudentia_core::CoreError;
use thiserror::Error;

/// An error in how a prudentia-uncertainty function was called.
///
/// Outcomes (a solver that stopped at its iteration limit, a regime that fell back to the
/// pooled calibrator) are statuses in results, never errors.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum UncertaintyError {
    /// A shared validation error (empty input, shape mismatch, NaN, out of range).
    #[error(transparent)]
    Core(#[from] CoreError),
    /// A feature column is constant, so its coefficient is not identified.
    #[error("feature column {column} is constant (value {value}); drop it or add no intercept")]
    ConstantFeature {
        /// Index of the column.
        column: usize,
        /// Its constant value.
        value: f64,
    },
    /// Quantile values decrease with the level (crossing quantiles) and repair was not asked
    /// for, or a CQR lower bound lies above its upper bound. The message names the row (when
    /// the values came from a batch) and the level (when known).
    #[error("{}", crossing_message(*row, *index, *level, *value, *previous))]
    CrossingQuantiles {
        /// Row of the batch the crossing pair came from (`None` for a single call).
        row: Option<usize>,
        /// Index of the first quantile below its predecessor (1 for a CQR `(lower, upper)` pair).
        index: usize,
        /// Its level (`None` for CQR bounds, whose levels the caller's models fix).
        level: Option<f64>,
        /// Its value.
        value: f64,
        /// The previous quantile's value.
        previous: f64,
    },
    /// A prediction was asked for outside the fitted range and the model is set to refuse.
    #[error("input {value} is outside the fitted range [{min}, {max}]")]
    OutOfBounds {
        /// The input.
        value: f64,
        /// Smallest fitted input.
        min: f64,
        /// Largest fitted input.
        max: f64,
    },
    /// A model was used before it was fitted.
    #[error("`{model}` has not been fitted")]
    NotFitted {
        /// The model.
        model: &'static str,
    },
    /// The optimizer could not build or solve the problem at all.
    #[error("solver failure in {solver}: {detail}")]
    Solver {
        /// The solver.
        solver: &'static str,
        /// What went wrong.
        detail: &'static str,
    },
    /// A shared learner (prudentia-learn) refused the data.
    #[error(transparent)]
    Learn(#[from] prudentia_learn::LearnError),
}

fn crossing_message(
    row: Option<usize>,
    index: usize,
    level: Option<f64>,
    value: f64,
    previous: f64,
) -> String {
    let at_row = row.map_or(String::new(), |r| format!(" at row {r}"));
    match level {
        Some(l) => format!(
            "quantiles cross{at_row} at index {index}: level {l} has value {value} below the previous {previous}"
        ),
        None => format!("CQR bounds cross{at_row}: upper {value} is below lower {previous}"),
    }
}

/// Result alias with [`UncertaintyError`].
pub type Result<T> = std::result::Result<T, UncertaintyError>;
