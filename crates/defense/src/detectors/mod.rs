//! Streaming change detectors for single series: Page–Hinkley and ADWIN.

pub mod adwin;
mod core_drift;
pub mod page_hinkley;

use serde::{Deserialize, Serialize};

use crate::error::DefenseResult;

pub use adwin::{Adwin, AdwinConfig};
pub use page_hinkley::{PageHinkley, PageHinkleyConfig};

/// Which direction of change to signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Direction {
    /// Increases of the mean.
    Up,
    /// Decreases of the mean.
    Down,
    /// Both.
    #[default]
    Both,
}

/// A streaming change detector: one observation in, "a change was detected here" out.
///
/// Observations must be finite with a magnitude of at most [`MAX_MAGNITUDE`](crate::MAX_MAGNITUDE) (`1e100`), so
/// that the detector's running sums stay finite for any stream length: one extreme value
/// can trigger a signal, but it can never blind or kill the detector.
pub trait ChangeDetector: Send + Sync {
    /// Processes one observation; `true` when a change is signalled at it. Observations
    /// that [`try_update`](Self::try_update) refuses must be ignored (`false`, state
    /// unchanged).
    fn update(&mut self, x: f64) -> bool;

    /// Processes one observation; `Ok(true)` when a change is signalled at it. A NaN, an
    /// infinity or a value beyond [`MAX_MAGNITUDE`](crate::MAX_MAGNITUDE) is a typed error
    /// ([`CoreError::OutOfRange`](prudentia_core::CoreError::OutOfRange) or
    /// [`CoreError::NonFinite`](prudentia_core::CoreError::NonFinite)) and changes nothing.
    fn try_update(&mut self, x: f64) -> DefenseResult<bool> {
        check_input(x)?;
        Ok(self.update(x))
    }
}

/// The input check of every detector.
pub(crate) fn check_input(x: f64) -> DefenseResult<()> {
    crate::check_magnitude("observation", &[x])
}
