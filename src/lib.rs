//! # prudentia
//!
//! Risk-aware trading decisions as a family of embeddable crates. This facade re-exports
//! each role crate as a module behind a Cargo feature of the same name (all on by default).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "core")]
pub use prudentia_core as core;
#[cfg(feature = "defense")]
pub use prudentia_defense as defense;
#[cfg(feature = "kelly")]
pub use prudentia_kelly as kelly;
#[cfg(feature = "metrics")]
pub use prudentia_metrics as metrics;
#[cfg(feature = "portfolio")]
pub use prudentia_portfolio as portfolio;
#[cfg(feature = "regime")]
pub use prudentia_regime as regime;
#[cfg(feature = "selection")]
pub use prudentia_selection as selection;
#[cfg(feature = "uncertainty")]
pub use prudentia_uncertainty as uncertainty;
