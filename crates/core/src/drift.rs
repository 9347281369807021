//! Streaming drift detection as a core trait, so that one role crate (e.g. costs, which
//! monitors its residuals) can use another's detectors (defense's Page–Hinkley and ADWIN)
//! without a crate dependency: the user builds the detector and hands it over as a
//! `Box<dyn DriftDetector>`.
//!
//! ```
//! use prudentia_core::drift::{DriftDetector, DriftSignal};
//! use prudentia_core::{CoreError, RoleResult};
//!
//! /// Flags any observation above a bound.
//! #[derive(Clone)]
//! struct Above(f64);
//!
//! impl DriftDetector for Above {
//!     fn update(&mut self, x: f64) -> RoleResult<DriftSignal> {
//!         if !x.is_finite() {
//!             return Err(CoreError::NonFinite { field: "x", index: 0, value: x }.into());
//!         }
//!         Ok(DriftSignal { detected: x > self.0, statistic: x })
//!     }
//!     fn boxed_clone(&self) -> Box<dyn DriftDetector> {
//!         Box::new(self.clone())
//!     }
//! }
//!
//! let mut d: Box<dyn DriftDetector> = Box::new(Above(3.0));
//! assert!(!d.update(1.0)?.detected);
//! assert!(d.update(4.0)?.detected);
//! assert!(d.update(f64::NAN).is_err());
//! # Ok::<(), prudentia_core::RoleError>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::traits::RoleResult;

/// What a drift detector made of one observation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DriftSignal {
    /// A change was detected at this observation.
    pub detected: bool,
    /// The detector's monitoring statistic after this observation (detector-specific, always
    /// finite; e.g. Page–Hinkley's cumulative deviation, ADWIN's window mean).
    pub statistic: f64,
}

/// A streaming change detector over one series (object-safe).
///
/// Contract: `update` refuses a non-finite observation (and may refuse values beyond a
/// documented magnitude) with an error and then changes nothing; an `Ok` statistic is
/// finite. A detector restarts (or cuts its window) by itself after a detection.
pub trait DriftDetector: Send + Sync {
    /// Processes one observation.
    fn update(&mut self, x: f64) -> RoleResult<DriftSignal>;
    /// A boxed copy of the detector with its current state (lets holders stay `Clone`).
    fn boxed_clone(&self) -> Box<dyn DriftDetector>;
}

impl Clone for Box<dyn DriftDetector> {
    fn clone(&self) -> Self {
        self.boxed_clone()
    }
}

impl std::fmt::Debug for dyn DriftDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("dyn DriftDetector")
    }
}
