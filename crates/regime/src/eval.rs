//! Evaluation of change-point detections against known change points.
//!
//! The rule is the workspace's one change-point rule, [`prudentia_core::changepoint`], with
//! maximum delay `tolerance`: a true change point `c` (index of the first observation of
//! the new segment) is *detected* by the first detection `d` with `c ≤ d ≤ c + tolerance`
//! (before the next true change point and inside the series); its delay is `d − c`.
//! Further detections inside an already detected window are *duplicates* (not false
//! alarms); every other detection is a false alarm. Observations within a window are
//! "unstable"; the others are stable, and false alarms are reported per 1000 of them (and,
//! with the periods per year given, per year: [`DetectionReport::false_alarms_per_year`]).
//! Precision = true positives / (true positives + false alarms), recall = true positives /
//! change points.

use prudentia_core::changepoint::{score_detections, ChangePointScore};
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
    /// Detections outside every delay window.
    pub false_alarms: usize,
    /// Further detections inside an already detected window (not false alarms).
    #[serde(default)]
    pub duplicates: usize,
    /// Delay of each detected change point, in observations.
    pub delays: Vec<usize>,
    /// Mean delay of the detected change points (NaN if none).
    pub mean_delay: f64,
    /// Observations outside every tolerance window.
    pub stable_observations: usize,
    /// False alarms per 1000 stable observations.
    pub false_alarms_per_1000: f64,
    /// True positives / (true positives + false alarms) (1 when both are 0).
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
            duplicates: 0,
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
            out.duplicates += r.duplicates;
            out.delays.extend_from_slice(&r.delays);
            out.stable_observations += r.stable_observations;
        }
        out.finish();
        out
    }

    /// False alarms per year of stable observations, with `periods_per_year`
    /// observations a year (NaN when there is no stable observation or the period count is
    /// not finite and positive).
    pub fn false_alarms_per_year(&self, periods_per_year: f64) -> f64 {
        self.score()
            .false_alarms_per_year(periods_per_year)
            .unwrap_or(f64::NAN)
    }

    fn score(&self) -> ChangePointScore {
        ChangePointScore {
            changes: self.change_points,
            detections: self.detections,
            true_positives: self.true_positives,
            false_alarms: self.false_alarms,
            duplicates: self.duplicates,
            delays: self.delays.clone(),
            stable_observations: self.stable_observations,
        }
    }

    fn finish(&mut self) {
        let s = self.score();
        self.mean_delay = s.mean_delay().unwrap_or(f64::NAN);
        self.false_alarms_per_1000 = s.false_alarm_rate().map_or(0.0, |r| 1000.0 * r);
        self.precision = s.precision().unwrap_or(1.0);
        self.recall = s.recall().unwrap_or(1.0);
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
    let score = score_detections(change_points, detections, n, tolerance);
    let mut r = DetectionReport {
        // as given (a repeated change point counts, and cannot be detected twice)
        change_points: change_points.len(),
        detections: score.detections,
        true_positives: score.true_positives,
        false_alarms: score.false_alarms,
        duplicates: score.duplicates,
        delays: score.delays,
        mean_delay: f64::NAN,
        stable_observations: score.stable_observations,
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
