//! The error type of prudentia-selection.

use prudentia_core::CoreError;
use thiserror::Error;

/// An error in how a selection was asked for: bad input, not a bad outcome.
///
/// A solver that hit its node or time limit, or a minimum-return constraint that turns out
/// to be unreachable once sector caps are taken into account, is reported as a
/// [`Status`](prudentia_core::Status) in the result, never as an error.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum SelectionError {
    /// A shared validation error (non-finite value, shape mismatch, asymmetric or non-PSD
    /// correlation under [`CorrelationPolicy::Reject`](crate::CorrelationPolicy::Reject), …).
    #[error(transparent)]
    Core(#[from] CoreError),
    /// `k = 0`: a slate must hold at least one item.
    #[error("`k` = 0: a slate must hold at least one item")]
    ZeroK,
    /// `k` exceeds the number of items.
    #[error("`k` = {k} exceeds the number of items n = {n}")]
    KExceedsN {
        /// Requested slate size.
        k: usize,
        /// Number of items.
        n: usize,
    },
    /// An item index outside `0..n`.
    #[error("`{field}` holds index {index}, but there are only {n} items")]
    IndexOutOfRange {
        /// The offending field (`must_include`, `must_exclude`).
        field: &'static str,
        /// The index.
        index: usize,
        /// Number of items.
        n: usize,
    },
    /// An item is both required and forbidden.
    #[error("item {index} is in both `must_include` and `must_exclude`")]
    ConflictingMembership {
        /// The item.
        index: usize,
    },
    /// More items are required than the slate can hold.
    #[error("{count} items must be included but the slate holds only k = {k}")]
    TooManyIncluded {
        /// Number of distinct required items.
        count: usize,
        /// Slate size.
        k: usize,
    },
    /// Fewer than `k` items remain once exclusions and sector caps are applied.
    #[error("sector caps and exclusions leave room for only {capacity} items, but k = {k}")]
    InfeasibleSectorCaps {
        /// Largest slate the caps and exclusions allow.
        capacity: usize,
        /// Slate size.
        k: usize,
    },
    /// The required items alone already exceed a sector cap.
    #[error("{count} required items are in sector `{sector}`, whose cap is {cap}")]
    IncludedExceedSectorCap {
        /// The sector.
        sector: String,
        /// Required items in it.
        count: usize,
        /// Its cap.
        cap: usize,
    },
    /// The minimum expected return cannot be reached even by the `k` best returns.
    #[error("minimum expected return {required} exceeds the best achievable {achievable}")]
    InfeasibleMinReturn {
        /// The required total expected return.
        required: f64,
        /// The largest total expected return of any allowed `k` items (ignoring sector caps).
        achievable: f64,
    },
}
