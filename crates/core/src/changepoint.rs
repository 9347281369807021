//! The one change-point evaluation rule of the workspace (regime and defense score their
//! detectors with it).
//!
//! Given the true change points `c₀ < c₁ < …` of a series of `n` observations (the index of
//! the first observation of each new segment; repeats are removed) and the indices at
//! which a detector signalled, with a maximum delay `D`:
//!
//! - the **delay window** of change `cₖ` is `[cₖ, min(cₖ + D, cₖ₊₁ − 1, n − 1)]`: a detection
//!   counts for a change only at a delay of at most `D`, before the next change, inside
//!   the series;
//! - the first detection inside a window is a **true positive** with delay `t − cₖ`;
//! - later detections inside an already detected window are **duplicates**: reported, and
//!   *not* false alarms (a detector that keeps signalling during a transition is not
//!   wrong, only redundant);
//! - every other detection (outside every window, including indices `≥ n`) is a **false
//!   alarm**;
//! - **stable observations** are those outside every window; the false-alarm rate is per
//!   stable observation, and [`ChangePointScore::false_alarms_per_year`] scales it by the
//!   periods per year given (252 for daily trading data);
//! - precision = TP / (TP + false alarms), recall = TP / changes.
//!
//! Only the two index lists are copied (nothing is allocated from `n` or `D`), and the
//! index arithmetic saturates, so any sizes are safe.
//!
//! ```
//! use prudentia_core::changepoint::score_detections;
//! // changes at 100 and 300 of 1000 observations, delays up to 49 count
//! let s = score_detections(&[100, 300], &[20, 110, 120, 400], 1000, 49);
//! assert_eq!((s.true_positives, s.false_alarms, s.duplicates), (1, 2, 1));
//! assert_eq!(s.delays, vec![10]);
//! assert_eq!(s.stable_observations, 900);
//! assert_eq!(s.recall(), Some(0.5));
//! assert!((s.false_alarms_per_year(252.0).unwrap() - 2.0 / 900.0 * 252.0).abs() < 1e-12);
//! ```

use serde::{Deserialize, Serialize};

/// The counts of one scored series (see the module docs for the rule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangePointScore {
    /// Distinct true change points.
    pub changes: usize,
    /// Detections scored.
    pub detections: usize,
    /// Changes detected within their delay window.
    pub true_positives: usize,
    /// Detections outside every delay window.
    pub false_alarms: usize,
    /// Further detections inside an already detected window.
    pub duplicates: usize,
    /// Delay of each true positive, in observations (in change order).
    pub delays: Vec<usize>,
    /// Observations outside every delay window.
    pub stable_observations: usize,
}

impl ChangePointScore {
    /// Mean delay of the true positives (`None` when nothing was detected).
    pub fn mean_delay(&self) -> Option<f64> {
        if self.delays.is_empty() {
            None
        } else {
            let sum = self.delays.iter().fold(0.0, |s, &d| s + d as f64);
            Some(sum / self.delays.len() as f64)
        }
    }

    /// False alarms per stable observation (`None` when there is none).
    pub fn false_alarm_rate(&self) -> Option<f64> {
        (self.stable_observations > 0).then(|| self.false_alarms as f64 / self.stable_observations as f64)
    }

    /// False alarms per year of stable observations, with `periods_per_year` observations a
    /// year (`None` when there is no stable observation or `periods_per_year` is not
    /// finite and positive).
    pub fn false_alarms_per_year(&self, periods_per_year: f64) -> Option<f64> {
        if !(periods_per_year.is_finite() && periods_per_year > 0.0) {
            return None;
        }
        self.false_alarm_rate()
            .map(|r| r * periods_per_year)
            .filter(|v| v.is_finite())
    }

    /// TP / (TP + false alarms), duplicates excluded (`None` with neither).
    pub fn precision(&self) -> Option<f64> {
        let d = self.true_positives.saturating_add(self.false_alarms);
        (d > 0).then(|| self.true_positives as f64 / d as f64)
    }

    /// TP / changes (`None` with no change).
    pub fn recall(&self) -> Option<f64> {
        (self.changes > 0).then(|| self.true_positives as f64 / self.changes as f64)
    }
}

/// Scores `detections` against `changes` on a series of `n` observations, counting delays
/// up to `max_delay` (see the module docs). Never fails and never panics.
pub fn score_detections(
    changes: &[usize],
    detections: &[usize],
    n: usize,
    max_delay: usize,
) -> ChangePointScore {
    let mut changes = changes.to_vec();
    changes.sort_unstable();
    changes.dedup();
    let mut detections = detections.to_vec();
    detections.sort_unstable();
    // half-open window of change k: [c_k, min(c_k + D + 1, c_{k+1}, n)), empty when c_k >= n
    let window = |k: usize| {
        let c = changes[k];
        let end = c
            .saturating_add(max_delay)
            .saturating_add(1)
            .min(changes.get(k + 1).copied().unwrap_or(usize::MAX))
            .min(n);
        (c, end.max(c.min(n)))
    };
    let mut detected = vec![false; changes.len()];
    let (mut tp, mut fa, mut dup) = (0usize, 0usize, 0usize);
    let mut delays = Vec::new();
    for &t in &detections {
        // the last change at or before t
        let k = changes.partition_point(|&c| c <= t);
        let hit = k.checked_sub(1).filter(|&k| {
            let (s, e) = window(k);
            t >= s && t < e
        });
        match hit {
            Some(k) if !detected[k] => {
                detected[k] = true;
                tp += 1;
                delays.push(t - changes[k]);
            }
            Some(_) => dup += 1,
            None => fa += 1,
        }
    }
    let in_windows = (0..changes.len()).fold(0usize, |s, k| {
        let (a, b) = window(k);
        s.saturating_add(b.saturating_sub(a))
    });
    ChangePointScore {
        changes: changes.len(),
        detections: detections.len(),
        true_positives: tp,
        false_alarms: fa,
        duplicates: dup,
        delays,
        stable_observations: n.saturating_sub(in_windows),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_scored_windows_duplicates_and_rates() {
        // changes 100, 200 in 1000; D = 10: windows [100, 110] and [200, 210]
        let s = score_detections(&[200, 100, 100], &[50, 104, 107, 110, 111, 230, 200], 1000, 10);
        assert_eq!(s.changes, 2);
        assert_eq!(s.detections, 7);
        assert_eq!((s.true_positives, s.duplicates, s.false_alarms), (2, 2, 3));
        assert_eq!(s.delays, vec![4, 0]);
        assert_eq!(s.stable_observations, 1000 - 22);
        assert_eq!(s.mean_delay(), Some(2.0));
        assert_eq!(s.precision(), Some(0.4));
        assert_eq!(s.recall(), Some(1.0));
        assert!((s.false_alarms_per_year(252.0).unwrap() - 3.0 * 252.0 / 978.0).abs() < 1e-12);
        assert_eq!(s.false_alarms_per_year(f64::NAN), None);
        assert_eq!(s.false_alarms_per_year(0.0), None);
    }

    #[test]
    fn next_change_and_series_end_cut_the_window() {
        // window of 100 stops before 105; window of 105 stops at n = 108
        let s = score_detections(&[100, 105], &[104, 107, 108, 5000], 108, 50);
        assert_eq!((s.true_positives, s.duplicates, s.false_alarms), (2, 0, 2));
        assert_eq!(s.delays, vec![4, 2]);
        assert_eq!(s.stable_observations, 100);
    }

    #[test]
    fn empty_and_extreme_sizes() {
        let s = score_detections(&[], &[], 0, 0);
        assert_eq!(
            (s.mean_delay(), s.precision(), s.recall(), s.false_alarm_rate()),
            (None, None, None, None)
        );
        let s = score_detections(&[0, usize::MAX], &[1, usize::MAX], usize::MAX, usize::MAX);
        assert_eq!(s.true_positives + s.false_alarms + s.duplicates, s.detections);
        assert_eq!(s.true_positives, 1);
        let s = score_detections(&[100], &[103], 1 << 40, 10);
        assert_eq!(s.stable_observations, (1 << 40) - 11);
        // a change beyond the series has an empty window
        let s = score_detections(&[50], &[50], 10, 5);
        assert_eq!(
            (s.true_positives, s.false_alarms, s.stable_observations),
            (0, 1, 10)
        );
    }
}
