//! The crate's error type.

use prudentia_core::CoreError;
use prudentia_learn::LearnError;
use thiserror::Error;

/// An error in how a prudentia-costs function was called (bad input), never a bad outcome.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum CostsError {
    /// A shared validation error (non-finite input, shape mismatch, out-of-range setting).
    #[error(transparent)]
    Core(#[from] CoreError),
    /// An error of a shared learner.
    #[error(transparent)]
    Learn(#[from] LearnError),
    /// A quantity that is zero, negative or not finite.
    #[error("`{field}` = {value}: a quantity must be finite and > 0")]
    BadQuantity {
        /// Which quantity.
        field: &'static str,
        /// Its value.
        value: f64,
    },
    /// Zero (or non-finite, negative) volume or average daily volume: participation is
    /// undefined.
    #[error("`{field}` = {value}: volume must be finite and > 0")]
    ZeroVolume {
        /// Which volume.
        field: &'static str,
        /// Its value.
        value: f64,
    },
    /// A price that is not finite and > 0.
    #[error("`{field}` = {value}: a price must be finite and > 0")]
    BadPrice {
        /// Which price.
        field: &'static str,
        /// Its value.
        value: f64,
    },
    /// A fill time-stamped before its order was sent.
    #[error("fill at {fill} ns precedes its order at {order} ns")]
    FillBeforeOrder {
        /// Order time (ns since the epoch).
        order: i64,
        /// Fill time (ns since the epoch).
        fill: i64,
    },
    /// A venue the model was not configured with.
    #[error("unknown venue `{0}`")]
    UnknownVenue(String),
    /// The market snapshot has no information on the order's asset.
    #[error("no price for asset `{0}` in the market snapshot")]
    UnknownAsset(String),
}

/// Result alias with [`CostsError`].
pub type CostsResult<T> = Result<T, CostsError>;
