//! Evaluation of change-point detections against known change points.
//!
//! A true change point `c` (index of the first observation of the new segment) is
//! *detected* by the first unmatched detection `d` with `c ≤ d ≤ c + tolerance` (and
//! before the next true change point); its delay is `d − c`. Every unmatched detection
//! is a false alarm. Observations within `[c, c + tolerance]` of a true change point are
//! "unstable"; the others are stable, and false alarms are reported per 1000 of them.
//! Precision = true positives / detections, recall = true positives / change points.

use serde::{Deserialize, Serialize};

use crate::bocpd::Bocpd;
use crate::error::RegimeResult;

/// Detection quality on one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectionReport {
    /// Number of true change points.
    pub change_points: usize,
    /// Number of detections.
    pub detections: usize,
    /// Change points detected within the tolerance.
    pub true_positives: usize,
    /// Detections matching no change point.
    pub false_alarms: usize,
    /// Delay of each detected change point, in observations.
    pub delays: Vec<usize>,
    /// Mean delay of the detected change points (NaN if none).
    pub mean_delay: f64,
    /// Observations outside every tolerance window.
    pub stable_observations: usize,
    /// False alarms per 1000 stable observations.
    pub false_alarms_per_1000: f64,
    /// True positives / detections (1 when there are no detections).
    pub precision: f64,
    /// True positives / change points (1 when there are none).
    pub recall: f64,
}

impl DetectionReport {
    /// Pools several reports (sums counts, recomputes the rates).
    pub fn pool(reports: &[DetectionReport]) -> DetectionReport {
        let mut out = DetectionReport {
            change_points: 0,
            detections: 0,
            true_positives: 0,
            false_alarms: 0,
            delays: Vec::new(),
            mean_delay: f64::NAN,
            stable_observations: 0,
            false_alarms_per_1000: 0.0,
            precision: 1.0,
            recall: 1.0,
        };
        for r in reports {
            out.change_points += r.change_points;
            out.detections += r.detections;
            out.true_positives += r.true_positives;
            out.false_alarms += r.false_alarms;
            out.delays.extend_from_slice(&r.delays);
            out.stable_observations += r.stable_observations;
        }
        out.finish();
        out
    }

    fn finish(&mut self) {
        self.mean_delay = if self.delays.is_empty() {
            f64::NAN
        } else {
            self.delays.iter().sum::<usize>() as f64 / self.delays.len() as f64
        };
        self.false_alarms_per_1000 = if self.stable_observations == 0 {
            0.0
        } else {
            1000.0 * self.false_alarms as f64 / self.stable_observations as f64
        };
        self.precision = if self.detections == 0 {
            1.0
        } else {
            self.true_positives as f64 / self.detections as f64
        };
        self.recall = if self.change_points == 0 {
            1.0
        } else {
            self.true_positives as f64 / self.change_points as f64
        };
    }
}

/// Scores `detections` (indices at which a change was signalled) against
/// `change_points` (first index of each new segment) on a series of length `n`.
///
/// Allocates only copies of the two index lists (never from `n` or `tolerance`), and its
/// index arithmetic saturates, so any sizes are safe.
pub fn evaluate_detections(
    change_points: &[usize],
    detections: &[usize],
    n: usize,
    tolerance: usize,
) -> DetectionReport {
    let mut cps = change_points.to_vec();
    cps.sort_unstable();
    let mut dets = detections.to_vec();
    dets.sort_unstable();
    let mut used = vec![false; dets.len()];
    let mut delays = Vec::new();
    for (i, &c) in cps.iter().enumerate() {
        let next = cps
            .get(i + 1)
            .map_or(usize::MAX, |&nx| nx.saturating_sub(1).max(c));
        let end = c.saturating_add(tolerance).min(next);
        if let Some(j) = (0..dets.len()).find(|&j| !used[j] && dets[j] >= c && dets[j] <= end) {
            used[j] = true;
            delays.push(dets[j] - c);
        }
    }
    // observations in the union of [c, c + tolerance] ∩ [0, n), from the sorted intervals
    let mut unstable = 0usize;
    let mut covered_to = 0usize; // first index not yet counted
    for &c in &cps {
        let lo = c.max(covered_to).min(n);
        let hi = c.saturating_add(tolerance).saturating_add(1).min(n);
        if hi > lo {
            unstable += hi - lo;
            covered_to = hi;
        }
    }
    let stable = n - unstable;
    let mut r = DetectionReport {
        change_points: cps.len(),
        detections: dets.len(),
        true_positives: delays.len(),
        false_alarms: used.iter().filter(|u| !**u).count(),
        delays,
        mean_delay: f64::NAN,
        stable_observations: stable,
        false_alarms_per_1000: 0.0,
        precision: 1.0,
        recall: 1.0,
    };
    r.finish();
    r
}

/// Runs a detector over a univariate series and returns the indices at which it
/// signalled a change.
pub fn detect(detector: &mut Bocpd, series: &[f64]) -> RegimeResult<Vec<usize>> {
    let mut out = Vec::new();
    for (i, &x) in series.iter().enumerate() {
        if detector.update_scalar(x)?.changed {
            out.push(i);
        }
    }
    Ok(out)
}

/// Runs a detector built by [`market_panel_config`](crate::panel::market_panel_config)
/// over a panel of returns given as one slice of `n_assets` returns per day, through
/// [`PanelFeatures`](crate::panel::PanelFeatures), and returns the indices of the days at
/// which it signalled a change.
///
/// # Errors
/// Those of [`PanelFeatures::new`](crate::panel::PanelFeatures::new),
/// [`PanelFeatures::compute`](crate::panel::PanelFeatures::compute) and
/// [`Bocpd::update`] (including a detector whose feature count is not 2).
pub fn detect_panel<'a, I>(detector: &mut Bocpd, n_assets: usize, days: I) -> RegimeResult<Vec<usize>>
where
    I: IntoIterator<Item = &'a [f64]>,
{
    let mut features = crate::panel::PanelFeatures::new(n_assets)?;
    let mut out = Vec::new();
    for (i, day) in days.into_iter().enumerate() {
        if detector.update(features.compute(day)?)?.changed {
            out.push(i);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_delays_and_rates() {
        let r = evaluate_detections(&[100, 200], &[50, 104, 230, 260], 1000, 10);
        assert_eq!(r.true_positives, 1);
        assert_eq!(r.delays, vec![4]);
        assert_eq!(r.false_alarms, 3);
        assert_eq!(r.stable_observations, 1000 - 22);
        assert!((r.precision - 0.25).abs() < 1e-15);
        assert!((r.recall - 0.5).abs() < 1e-15);
        assert!((r.false_alarms_per_1000 - 3000.0 / 978.0).abs() < 1e-12);
        let p = DetectionReport::pool(&[r.clone(), r]);
        assert_eq!(p.true_positives, 2);
        assert!((p.recall - 0.5).abs() < 1e-15);
    }
}
