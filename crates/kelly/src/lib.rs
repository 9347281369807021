//! prudentia-kelly (work in progress).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod error;
pub mod governor;
pub mod multi;
pub mod single;

pub use error::{KellyError, KellyResult};
