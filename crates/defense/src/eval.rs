//! Evaluation of change detectors against known change times.
//!
//! Given the detection times of a detector and the true change times of a stream of `n`
//! observations, with a tolerance window `τ`:
//!
//! - a detection at `t` is a **true positive** for change `c` when `c <= t < c + τ` (and
//!   before the next change) and it is the first detection for `c`; its **delay** is `t − c`;
//! - further detections inside the same window are **duplicates** (reported, not counted
//!   against precision);
//! - every other detection is a **false alarm**;
//! - **stable observations** are those outside every window `[c, c + τ)`;
//!   false alarms are reported per 10 000 stable observations;
//! - precision = TP / (TP + false alarms), recall = TP / number of changes.
//!
//! This is the workspace's one change-point rule, [`prudentia_core::changepoint`] (with its
//! maximum delay `τ − 1`), shared with `prudentia-regime`'s evaluation.

use prudentia_core::changepoint::{score_detections, ChangePointScore};
use prudentia_core::validate::check_len;
use serde::{Deserialize, Serialize};

use crate::detectors::ChangeDetector;
use crate::error::{DefenseError, DefenseResult};

/// Detection quality of one detector on one stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectionMetrics {
    /// True changes.
    pub changes: usize,
    /// Detections.
    pub detections: usize,
    /// Changes detected within the tolerance window.
    pub true_positives: usize,
    /// Detections outside every tolerance window.
    pub false_alarms: usize,
    /// Extra detections inside a window whose change was already detected.
    pub duplicates: usize,
    /// Delay of each true positive, in observations.
    pub delays: Vec<usize>,
    /// Observations outside every tolerance window.
    pub stable_observations: usize,
}

impl DetectionMetrics {
    /// Mean detection delay (NaN when nothing was detected).
    pub fn mean_delay(&self) -> f64 {
        if self.delays.is_empty() {
            f64::NAN
        } else {
            self.delays.iter().sum::<usize>() as f64 / self.delays.len() as f64
        }
    }

    /// False alarms per 10 000 stable observations (NaN when there are none).
    pub fn false_alarms_per_10k(&self) -> f64 {
        if self.stable_observations == 0 {
            f64::NAN
        } else {
            self.false_alarms as f64 * 10_000.0 / self.stable_observations as f64
        }
    }

    /// False alarms per year of stable observations with `periods_per_year` observations
    /// a year (NaN when there is no stable observation or the period count is not finite
    /// and positive).
    pub fn false_alarms_per_year(&self, periods_per_year: f64) -> f64 {
        self.score()
            .false_alarms_per_year(periods_per_year)
            .unwrap_or(f64::NAN)
    }

    fn score(&self) -> ChangePointScore {
        ChangePointScore {
            changes: self.changes,
            detections: self.detections,
            true_positives: self.true_positives,
            false_alarms: self.false_alarms,
            duplicates: self.duplicates,
            delays: Vec::new(),
            stable_observations: self.stable_observations,
        }
    }

    /// TP / (TP + false alarms) (NaN with no detection).
    pub fn precision(&self) -> f64 {
        let d = self.true_positives + self.false_alarms;
        if d == 0 {
            f64::NAN
        } else {
            self.true_positives as f64 / d as f64
        }
    }

    /// TP / changes (NaN with no change).
    pub fn recall(&self) -> f64 {
        if self.changes == 0 {
            f64::NAN
        } else {
            self.true_positives as f64 / self.changes as f64
        }
    }
}

/// Scores detection times against change times (both indices into a stream of `n`).
///
/// Errors: `n == 0`, `tolerance == 0`, or an index `>= n`.
pub fn evaluate(
    detections: &[usize],
    changes: &[usize],
    n: usize,
    tolerance: usize,
) -> DefenseResult<DetectionMetrics> {
    check_len("n", n, 1)?;
    if tolerance == 0 {
        return Err(DefenseError::TooSmall {
            field: "tolerance",
            value: 0,
            min: 1,
        });
    }
    for (field, xs) in [("detections", detections), ("changes", changes)] {
        if let Some(&bad) = xs.iter().find(|&&x| x >= n) {
            return Err(prudentia_core::CoreError::OutOfRange {
                field,
                value: bad as f64,
                expected: "an index below the stream length",
            }
            .into());
        }
    }
    // the workspace rule (prudentia_core::changepoint) with delays 0 ..= τ − 1
    let score = score_detections(changes, detections, n, tolerance - 1);
    Ok(DetectionMetrics {
        changes: score.changes,
        detections: score.detections,
        true_positives: score.true_positives,
        false_alarms: score.false_alarms,
        duplicates: score.duplicates,
        delays: score.delays,
        stable_observations: score.stable_observations,
    })
}

/// Runs a detector over a stream and returns the indices at which it signalled.
pub fn detect_all(detector: &mut dyn ChangeDetector, stream: &[f64]) -> Vec<usize> {
    stream
        .iter()
        .enumerate()
        .filter_map(|(i, x)| detector.update(*x).then_some(i))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_scored_example() {
        // Changes at 100 and 300 in 1000 observations, τ = 50.
        // Detections: 20 (false alarm), 110 (TP, delay 10), 120 (duplicate), 400 (false alarm).
        let m = evaluate(&[20, 110, 120, 400], &[100, 300], 1000, 50).unwrap();
        assert_eq!((m.true_positives, m.false_alarms, m.duplicates), (1, 2, 1));
        assert_eq!(m.delays, vec![10]);
        assert_eq!(m.stable_observations, 900);
        assert!((m.false_alarms_per_10k() - 2.0 * 10_000.0 / 900.0).abs() < 1e-12);
        assert!((m.precision() - 1.0 / 3.0).abs() < 1e-15);
        assert!((m.recall() - 0.5).abs() < 1e-15);
        assert!((m.false_alarms_per_year(252.0) - 2.0 * 252.0 / 900.0).abs() < 1e-12);
        assert!(m.false_alarms_per_year(0.0).is_nan());
    }

    #[test]
    fn bad_input_is_typed() {
        assert!(evaluate(&[], &[], 0, 5).is_err());
        assert!(evaluate(&[], &[], 10, 0).is_err());
        assert!(evaluate(&[10], &[], 10, 5).is_err());
    }
}
