//! The error type shared by every prudentia crate.

use thiserror::Error;

/// An error in how a prudentia function was called: bad input, not a bad outcome.
///
/// Outcomes such as "the solver stopped at its iteration limit" or "the portfolio is
/// infeasible" are statuses carried in results, never `CoreError`s. Role crates wrap this
/// type in their own error enums (`#[error(transparent)] Core(#[from] CoreError)`).
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum CoreError {
    /// An input that must hold at least `min` elements held fewer.
    #[error("`{field}` is empty or too short: {len} elements, need at least {min}")]
    EmptyInput {
        /// Name of the argument or field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The minimum length required.
        min: usize,
    },
    /// Two inputs that must agree in shape do not.
    #[error("shape mismatch in `{field}`: expected {expected:?}, found {found:?}")]
    ShapeMismatch {
        /// Name of the argument or field whose shape is wrong.
        field: &'static str,
        /// The shape it should have.
        expected: Vec<usize>,
        /// The shape it has.
        found: Vec<usize>,
    },
    /// A NaN or infinite value where a finite number is required.
    #[error("`{field}` has a non-finite value {value} at index {index}")]
    NonFinite {
        /// Name of the argument or field.
        field: &'static str,
        /// Flat index of the first offending element.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A parameter outside its allowed range.
    #[error("`{field}` = {value} is out of range: expected {expected}")]
    OutOfRange {
        /// Name of the parameter.
        field: &'static str,
        /// The offending value.
        value: f64,
        /// The allowed range, in words (e.g. "in (0, 1)").
        expected: &'static str,
    },
    /// Timestamps that must strictly increase do not.
    #[error("`{field}` is not strictly increasing at index {index}")]
    NotIncreasing {
        /// Name of the series.
        field: &'static str,
        /// Index of the first element not greater than its predecessor.
        index: usize,
    },
    /// A matrix that must be symmetric is not.
    #[error("`{field}` is not symmetric: |a[{row},{col}] - a[{col},{row}]| = {diff}")]
    NotSymmetric {
        /// Name of the matrix.
        field: &'static str,
        /// Row of the worst asymmetry.
        row: usize,
        /// Column of the worst asymmetry.
        col: usize,
        /// Size of the asymmetry.
        diff: f64,
    },
    /// A matrix that must be positive semi-definite is not.
    #[error("`{field}` is not positive semi-definite: smallest eigenvalue {min_eigenvalue}")]
    NotPositiveSemiDefinite {
        /// Name of the matrix.
        field: &'static str,
        /// Its smallest eigenvalue.
        min_eigenvalue: f64,
    },
    /// A named identifier was not found.
    #[error("unknown {kind} `{id}`")]
    UnknownId {
        /// What kind of identifier (asset, regime, topic, …).
        kind: &'static str,
        /// The identifier.
        id: String,
    },
    /// A size (window, capacity, dimension, count) beyond its documented limit.
    #[error("`{field}` = {value} is too large: the limit is {max}")]
    TooLarge {
        /// Name of the size parameter.
        field: &'static str,
        /// The requested size.
        value: u128,
        /// The documented limit.
        max: u128,
    },
    /// A linear-algebra routine failed (e.g. a factorization of a singular matrix).
    #[error("numerical failure in {operation}: {detail}")]
    Numerical {
        /// The routine.
        operation: &'static str,
        /// What went wrong.
        detail: &'static str,
    },
}

/// Result alias with [`CoreError`].
pub type CoreResult<T> = Result<T, CoreError>;
