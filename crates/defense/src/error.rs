//! The error type of the defense crate: bad calls, never bad data (bad data gets a verdict).

use prudentia_core::CoreError;
use thiserror::Error;

/// An error in how a defense API was called or configured.
///
/// Bad *data* is not an error: a NaN price, a stale tick or a spike gets a
/// [`Verdict`](crate::Verdict). Errors are reserved for bad configuration (a zero window,
/// a NaN threshold), unusable arguments (an empty reference sample) and unknown ids.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum DefenseError {
    /// A shared validation error (non-finite threshold, empty sample, out-of-range value).
    #[error(transparent)]
    Core(#[from] CoreError),
    /// A window or count parameter that must be at least `min` is smaller.
    #[error("`{field}` = {value} is too small: need at least {min}")]
    TooSmall {
        /// Name of the configuration field.
        field: &'static str,
        /// Its value.
        value: usize,
        /// The minimum allowed.
        min: usize,
    },
    /// Two parameters that must be ordered are not (e.g. `min > max` of a range check).
    #[error("`{low_field}` = {low} must not exceed `{high_field}` = {high}")]
    Inverted {
        /// Name of the lower parameter.
        low_field: &'static str,
        /// Its value.
        low: f64,
        /// Name of the upper parameter.
        high_field: &'static str,
        /// Its value.
        high: f64,
    },
    /// No quarantined item has this id (already released, evicted, or never stored).
    #[error("no quarantined item with id {id}")]
    UnknownQuarantineId {
        /// The id asked for.
        id: u64,
    },
    /// A drift feature index or name that the monitor does not know.
    #[error("unknown feature {index} (the monitor has {n_features})")]
    UnknownFeature {
        /// The index asked for.
        index: usize,
        /// How many features the monitor holds.
        n_features: usize,
    },
    /// A checkpoint whose internal state is inconsistent (e.g. edited by hand).
    #[error("corrupt checkpoint state: {detail}")]
    CorruptState {
        /// What is inconsistent.
        detail: &'static str,
    },
}

/// Result alias with [`DefenseError`].
pub type DefenseResult<T> = Result<T, DefenseError>;
