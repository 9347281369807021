//! Streaming change detectors for single series: Page–Hinkley and ADWIN.

pub mod adwin;
pub mod page_hinkley;

use serde::{Deserialize, Serialize};

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
/// Non-finite observations are ignored (validate inputs first).
pub trait ChangeDetector: Send + Sync {
    /// Processes one observation; `true` when a change is signalled at it.
    fn update(&mut self, x: f64) -> bool;
}
