//! Drawdowns: the drawdown series and the maximum drawdown with its peak, trough, recovery
//! and durations.
//!
//! Wealth points: `W_0 = 1` before the first return and `W_k = Π_{t ≤ k}(1 + r_t)` after
//! `k` returns. The drawdown at point `k` is `W_k / max_{j ≤ k} W_j − 1 ≤ 0` (empyrical's
//! `drawdown_series`, which anchors the running peak at the starting capital, so a loss on
//! the first day is a drawdown). Point `k ≥ 1` carries the timestamp of return `k − 1`.

use prudentia_core::Timestamp;
use serde::{Deserialize, Serialize};

use crate::returns::Returns;

/// A wealth point: `index` returns have elapsed (0 = the start), with its timestamp when
/// the returns are time-stamped (never for the start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Point {
    /// Returns elapsed: 0 = start, `k` = after the `k`-th return.
    pub index: usize,
    /// End time of the `index`-th return, if known.
    pub time: Option<Timestamp>,
}

/// Whether and when the equity regained the peak before the maximum drawdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Recovery {
    /// The equity never fell below a previous peak.
    NoDrawdown,
    /// The equity regained the peak at `at`, `periods` after the peak.
    Recovered {
        /// First point at or above the peak after the trough.
        at: Point,
        /// Periods from peak to recovery (the drawdown's duration).
        periods: usize,
    },
    /// Still below the peak at the end of the series.
    NotRecovered {
        /// Periods from the peak to the last point.
        underwater_periods: usize,
    },
}

/// The maximum drawdown and where it happened.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MaxDrawdown {
    /// `min_k (W_k / peak_k − 1)`, in [−1, 0]; negative like empyrical's `max_drawdown`.
    pub depth: f64,
    /// The running peak before the trough (the last point where that peak was reached).
    pub peak: Point,
    /// The lowest point relative to its running peak (the first such point).
    pub trough: Point,
    /// Peak to trough, in periods.
    pub decline_periods: usize,
    /// Recovery of the peak after the trough.
    pub recovery: Recovery,
}

/// Drawdown after each return, `W_k / max_{j ≤ k} W_j − 1` for `k = 1..n` (empyrical
/// `drawdown_series`).
pub fn drawdown_series(returns: &Returns) -> Vec<f64> {
    // `extend` from a mapped slice iterator (exact length, one capacity check) is about
    // twice as fast as `push` in the loop.
    let mut out = Vec::with_capacity(returns.len());
    let (mut w, mut peak) = (1.0_f64, 1.0_f64);
    out.extend(returns.values().iter().map(|r| {
        w *= 1.0 + r;
        peak = peak.max(w);
        (w - peak) / peak
    }));
    out
}

/// Equity curve `W_k` for `k = 0..n` (with `W_0 = 1`).
pub fn wealth_index(returns: &Returns) -> Vec<f64> {
    let mut out = Vec::with_capacity(returns.len() + 1);
    let mut w = 1.0_f64;
    out.push(w);
    out.extend(returns.values().iter().map(|r| {
        w *= 1.0 + r;
        w
    }));
    out
}

/// The maximum drawdown with peak, trough, recovery and durations. O(n).
pub fn max_drawdown(returns: &Returns) -> MaxDrawdown {
    from_raw(returns, max_drawdown_raw(returns.values()))
}

/// The equity curve `W_0..W_n`, the drawdown series and the maximum drawdown of `returns`
/// in one pass: each equal, bit for bit, to [`wealth_index`], [`drawdown_series`] and
/// [`max_drawdown`] (same operations in the same order).
pub(crate) fn curves(returns: &Returns) -> (Vec<f64>, Vec<f64>, MaxDrawdown) {
    let r = returns.values();
    let equity = wealth_index(returns);
    let mut drawdown = Vec::with_capacity(r.len());
    let mut t = Tracker::new();
    drawdown.extend(equity.iter().skip(1).enumerate().map(|(i, w)| t.step(i, *w)));
    (equity, drawdown, from_raw(returns, t.finish(r)))
}

fn from_raw(returns: &Returns, raw: RawMaxDrawdown) -> MaxDrawdown {
    let point = |k: usize| Point {
        index: k,
        time: returns.point_time(k),
    };
    let recovery = match raw.recovery {
        RawRecovery::None => Recovery::NoDrawdown,
        RawRecovery::At(k) => Recovery::Recovered {
            at: point(k),
            periods: k - raw.peak,
        },
        RawRecovery::Never => Recovery::NotRecovered {
            underwater_periods: returns.len() - raw.peak,
        },
    };
    MaxDrawdown {
        depth: raw.depth,
        peak: point(raw.peak),
        trough: point(raw.trough),
        decline_periods: raw.trough - raw.peak,
        recovery,
    }
}

pub(crate) enum RawRecovery {
    None,
    At(usize),
    Never,
}

pub(crate) struct RawMaxDrawdown {
    pub depth: f64,
    pub peak: usize,
    pub trough: usize,
    pub recovery: RawRecovery,
}

/// Depth only, no allocation: the rolling path.
pub(crate) fn max_drawdown_depth(r: &[f64]) -> f64 {
    let (mut w, mut peak, mut worst) = (1.0_f64, 1.0_f64, 0.0_f64);
    for x in r {
        w *= 1.0 + x;
        peak = peak.max(w);
        worst = worst.min((w - peak) / peak);
    }
    worst
}

pub(crate) fn max_drawdown_raw(r: &[f64]) -> RawMaxDrawdown {
    let mut t = Tracker::new();
    let mut w = 1.0_f64;
    for (i, x) in r.iter().enumerate() {
        w *= 1.0 + x;
        t.step(i, w);
    }
    t.finish(r)
}

/// The maximum drawdown's running state over the wealth points `W_1..W_n`.
struct Tracker {
    peak: f64,
    peak_at: usize,
    worst: f64,
    worst_peak: usize,
    worst_trough: usize,
    worst_peak_value: f64,
}

impl Tracker {
    fn new() -> Self {
        Self {
            peak: 1.0,
            peak_at: 0,
            worst: 0.0,
            worst_peak: 0,
            worst_trough: 0,
            worst_peak_value: 1.0,
        }
    }

    /// Takes `W_{i+1}` (after return `i`) and gives its drawdown.
    #[inline(always)]
    fn step(&mut self, i: usize, w: f64) -> f64 {
        if w >= self.peak {
            self.peak = w;
            self.peak_at = i + 1;
        }
        let dd = (w - self.peak) / self.peak;
        if dd < self.worst {
            self.worst = dd;
            self.worst_peak = self.peak_at;
            self.worst_trough = i + 1;
            self.worst_peak_value = self.peak;
        }
        dd
    }

    fn finish(self, r: &[f64]) -> RawMaxDrawdown {
        let recovery = if self.worst == 0.0 {
            RawRecovery::None
        } else {
            // Recompute wealth from the trough on; the trough's wealth is W at worst_trough.
            let mut w = self.worst_peak_value * (1.0 + self.worst);
            let mut at = RawRecovery::Never;
            for (i, x) in r.iter().enumerate().skip(self.worst_trough) {
                w *= 1.0 + x;
                if w >= self.worst_peak_value {
                    at = RawRecovery::At(i + 1);
                    break;
                }
            }
            at
        };
        RawMaxDrawdown {
            depth: self.worst,
            peak: self.worst_peak,
            trough: self.worst_trough,
            recovery,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_trough_recovery() {
        // Wealth: 1, 1.1, 0.99, 0.891, 1.0692, 1.17612.
        let r = Returns::new(vec![0.1, -0.1, -0.1, 0.2, 0.1]).unwrap();
        let m = max_drawdown(&r);
        assert!((m.depth - (0.891 / 1.1 - 1.0)).abs() < 1e-15);
        assert_eq!((m.peak.index, m.trough.index, m.decline_periods), (1, 3, 2));
        assert_eq!(
            m.recovery,
            Recovery::Recovered {
                at: Point { index: 5, time: None },
                periods: 4
            }
        );
        let dd = drawdown_series(&r);
        assert_eq!(dd.len(), 5);
        assert_eq!(dd[0], 0.0);
        assert!(dd[4] == 0.0);
        assert_eq!(max_drawdown_depth(r.values()), m.depth);
    }

    #[test]
    fn first_day_loss_and_no_recovery() {
        let r = Returns::new(vec![-0.5, 0.1]).unwrap();
        let m = max_drawdown(&r);
        assert_eq!(m.depth, -0.5);
        assert_eq!((m.peak.index, m.trough.index), (0, 1));
        assert_eq!(
            m.recovery,
            Recovery::NotRecovered {
                underwater_periods: 2
            }
        );
    }

    #[test]
    fn no_drawdown_and_ruin() {
        let up = Returns::new(vec![0.01, 0.02]).unwrap();
        let m = max_drawdown(&up);
        assert_eq!(m.depth, 0.0);
        assert_eq!(m.recovery, Recovery::NoDrawdown);
        let ruin = Returns::new(vec![0.2, -1.0, 0.3]).unwrap();
        let m = max_drawdown(&ruin);
        assert_eq!(m.depth, -1.0);
        assert_eq!((m.peak.index, m.trough.index), (1, 2));
        assert_eq!(
            m.recovery,
            Recovery::NotRecovered {
                underwater_periods: 2
            }
        );
        assert_eq!(drawdown_series(&ruin), vec![0.0, -1.0, -1.0]);
    }
}
