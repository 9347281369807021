//! The crate's error type.

use prudentia_core::{AssetId, CoreError};
use thiserror::Error;

/// An error in how a prudentia-kelly function was called: bad input, never a bad outcome.
///
/// "The allocation could not reach its targets" or "the solver stopped at its iteration
/// limit" are statuses in results, not errors.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum KellyError {
    /// A shared validation error (non-finite input, shape mismatch, out-of-range setting).
    #[error(transparent)]
    Core(#[from] CoreError),
    /// A return volatility that is zero, negative or not finite.
    #[error("`{field}` = {value}: a volatility must be finite and > 0")]
    NonPositiveSigma {
        /// Name of the argument.
        field: &'static str,
        /// The offending value.
        value: f64,
    },
    /// An expected return (or another required number) that is NaN or infinite.
    #[error("`{field}` = {value}: must be finite")]
    NonFiniteMean {
        /// Name of the argument.
        field: &'static str,
        /// The offending value.
        value: f64,
    },
    /// Capital or equity that is negative or not finite.
    #[error("capital `{field}` = {value}: must be finite and >= 0")]
    NegativeCapital {
        /// Name of the argument.
        field: &'static str,
        /// The offending value.
        value: f64,
    },
    /// An asset whose average daily volume is zero, negative or not finite (use `None` for
    /// "unknown").
    #[error("asset `{asset}` has average daily volume {value}: must be finite and > 0")]
    ZeroAdv {
        /// The asset.
        asset: AssetId,
        /// The offending value.
        value: f64,
    },
    /// An asset with a lot size that is not finite and > 0.
    #[error("asset `{asset}` has lot size {value}: must be finite and > 0")]
    BadLotSize {
        /// The asset.
        asset: AssetId,
        /// The offending value.
        value: f64,
    },
    /// A return scenario with a loss of 100 % or more at the starting weights, or scenario
    /// data that leave no feasible starting point (every `1 + rᵀw` must be > 0).
    #[error("no strictly feasible starting point: {reason}")]
    NoInteriorPoint {
        /// Which constraint leaves no interior.
        reason: &'static str,
    },
    /// A lot-based allocation that would need more than
    /// [`MAX_LOTS_PER_NAME`](crate::allocation::MAX_LOTS_PER_NAME) lots for one name (a lot
    /// notional `lot_size × price` negligible against the name's bound): allocate in
    /// `Continuous` mode or use a larger lot.
    #[error("asset `{asset}` would need {lots:e} lots (lot notional {lot_notional:e}): at most 2^40 lots per name")]
    TooManyLots {
        /// The asset.
        asset: AssetId,
        /// Lots that fit in the name's bound (may be `+inf` when the lot notional underflows).
        lots: f64,
        /// The lot notional `lot_size × price` (currency units).
        lot_notional: f64,
    },
    /// A quantity derived from finite input overflows (or underflows into a division by zero)
    /// in `f64`, e.g. `μ / σ²` with `σ = 1e-300`, or `capital × max_gross` with capital near
    /// `f64::MAX`: the input is outside the range the computation can represent.
    #[error("`{quantity}` is not representable for this input (overflow): rescale the input")]
    Overflow {
        /// What overflowed.
        quantity: &'static str,
    },
    /// An asset in the target weights has no opportunity (forecast, price) in the context.
    #[error("asset `{asset}` in the target weights has no opportunity in the sizing context")]
    MissingOpportunity {
        /// The asset.
        asset: AssetId,
    },
}

/// Result alias with [`KellyError`].
pub type KellyResult<T> = Result<T, KellyError>;

pub(crate) fn check_sigma(field: &'static str, value: f64) -> KellyResult<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(KellyError::NonPositiveSigma { field, value })
    }
}

pub(crate) fn check_mean(field: &'static str, value: f64) -> KellyResult<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(KellyError::NonFiniteMean { field, value })
    }
}

pub(crate) fn check_capital(field: &'static str, value: f64) -> KellyResult<()> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(KellyError::NegativeCapital { field, value })
    }
}

/// `Ok(value)` if finite, else [`KellyError::Overflow`] naming `quantity`.
pub(crate) fn finite(quantity: &'static str, value: f64) -> KellyResult<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(KellyError::Overflow { quantity })
    }
}
