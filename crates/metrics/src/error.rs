//! The error type of prudentia-metrics.

use prudentia_core::CoreError;
use thiserror::Error;

/// An error in how a metrics function was called: bad input, not an undefined statistic.
///
/// A statistic that is mathematically undefined for valid input (the Sharpe ratio of
/// constant returns, the Calmar ratio without a drawdown) is not an error: it is
/// [`Stat::Undefined`](crate::Stat::Undefined) with its reason.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// A shared validation error (empty input, NaN, shape mismatch, out of range).
    #[error(transparent)]
    Core(#[from] CoreError),
    /// A simple return below −100 %: more than the whole capital lost in one period.
    #[error("return {value} at index {index} is below -1 (a loss of more than 100 %)")]
    ReturnBelowTotalLoss {
        /// Index of the offending return.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// The compounded wealth `Π (1 + r_t)` leaves the range of `f64` (exceeds `f64::MAX`)
    /// at this return: no equity curve, drawdown or CAGR can be computed.
    #[error("the compounded wealth overflows f64 at return {index}")]
    WealthOverflow {
        /// Index of the return at which the wealth overflows.
        index: usize,
    },
    /// A report could not be serialized.
    #[error("serialization failed: {detail}")]
    Serialize {
        /// The serializer's message.
        detail: String,
    },
    /// A chart could not be drawn.
    #[error("plotting failed while {stage}: {detail}")]
    Plot {
        /// What was being drawn.
        stage: &'static str,
        /// The plotting backend's message.
        detail: String,
    },
}

/// Result alias with [`MetricsError`].
pub type MetricsResult<T> = Result<T, MetricsError>;
