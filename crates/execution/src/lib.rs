//! # prudentia-execution
//!
//! How to trade (work in progress).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod action;
pub mod error;
pub mod features;
pub mod ope;
pub mod router;
pub mod schedule;

pub use action::{Action, ActionMask, ActionSpace, MaskRules};
pub use error::{ExecutionError, ExecutionResult};
pub use features::{MarketState, N_FEATURES};
