//! ADWIN, adaptive windowing (Bifet & Gavaldà 2007, "Learning from time-changing data with
//! adaptive windowing", SIAM SDM), in its ADWIN2 form with an exponential histogram.

use std::collections::VecDeque;

use prudentia_core::validate::{check_open_unit, check_size, MAX_DIM, MAX_WINDOW};
use serde::{Deserialize, Serialize};

use super::{check_input, ChangeDetector};
use crate::error::{DefenseError, DefenseResult};

/// Configuration of an [`Adwin`] detector.
///
/// The window `W` is cut between an older part `W₀` and a newer part `W₁` whenever
/// `|μ̂₀ − μ̂₁| > ε_cut` with
///
/// `ε_cut = sqrt((2/m) σ̂²_W ln(2/δ')) + (2/(3m)) ln(2/δ')`, `m = 1/(1/n₀ + 1/n₁)`,
/// `δ' = δ / ln(n)` (`n = |W|`),
///
/// the variance-aware bound of the paper's Section 3 (Bernstein form). Cut points are
/// bucket boundaries of the exponential histogram (`max_buckets` per size), so memory and
/// time are `O(M log(W/M))`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[serde(remote = "Self")]
pub struct AdwinConfig {
    /// Confidence δ. Default 0.002; in (0, 1).
    pub delta: f64,
    /// Buckets kept per size before merging (`M`). Default 5; in `[2, MAX_DIM]`.
    pub max_buckets: usize,
    /// Check for cuts every `clock` observations. Default 32; in `[1, MAX_WINDOW]`.
    pub clock: usize,
    /// Minimum size of each sub-window at a cut. Default 5; in `[1, MAX_WINDOW]`.
    pub min_window: usize,
    /// Observations before the first check. Default 10.
    pub grace_period: usize,
}

impl Default for AdwinConfig {
    fn default() -> Self {
        Self {
            delta: 0.002,
            max_buckets: 5,
            clock: 32,
            min_window: 5,
            grace_period: 10,
        }
    }
}

prudentia_core::checked_serde!(AdwinConfig, AdwinConfig::validate);

impl AdwinConfig {
    /// Checks every field.
    pub fn validate(&self) -> DefenseResult<()> {
        check_open_unit("delta", self.delta)?;
        for (field, value, min) in [
            ("max_buckets", self.max_buckets, 2),
            ("clock", self.clock, 1),
            ("min_window", self.min_window, 1),
        ] {
            if value < min {
                return Err(DefenseError::TooSmall { field, value, min });
            }
        }
        check_size("max_buckets", self.max_buckets, MAX_DIM)?;
        check_size("clock", self.clock, MAX_WINDOW)?;
        check_size("min_window", self.min_window, MAX_WINDOW)?;
        Ok(())
    }
}

/// One bucket: `2^row` observations summarized by their sum and sum of squared deviations.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Bucket {
    sum: f64,
    m2: f64,
}

/// The ADWIN change detector.
///
/// Inputs are bounded by [`MAX_MAGNITUDE`](crate::MAX_MAGNITUDE). When the oldest bucket
/// is dropped, the window's sum and variance are recomputed from the remaining buckets
/// rather than by subtraction, so an extreme value leaves no residue once it has left the
/// window (subtracting `1e99` from a running sum would leave rounding error of order `1e83`
/// and blind the detector for good).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Adwin {
    config: AdwinConfig,
    /// `rows[i]` holds buckets of `2^i` observations, oldest at the front.
    rows: Vec<VecDeque<Bucket>>,
    width: u64,
    sum: f64,
    m2: f64,
    ticks: u64,
    seen: u64,
}

fn merge(a: Bucket, na: f64, b: Bucket, nb: f64) -> Bucket {
    let d = a.sum / na - b.sum / nb;
    Bucket {
        sum: a.sum + b.sum,
        m2: a.m2 + b.m2 + d * d * na * nb / (na + nb),
    }
}

prudentia_core::checked_serde!(Adwin, Adwin::check_state);

/// The most rows of the exponential histogram (bucket sizes up to 2⁶³).
const MAX_ROWS: usize = 64;

impl Adwin {
    /// Invariants of a loaded checkpoint: a valid configuration, at most 64 rows of at most
    /// `max_buckets` finite buckets each (sums within `MAX_MAGNITUDE` per observation,
    /// non-negative squared deviations), a width equal to the buckets' total, and a sum and
    /// variance agreeing with the buckets.
    fn check_state(&mut self) -> DefenseResult<()> {
        self.config.validate()?;
        let corrupt = |detail| Err(DefenseError::CorruptState { detail });
        if self.rows.len() > MAX_ROWS {
            return corrupt("ADWIN has more than 64 histogram rows");
        }
        let mut width: u64 = 0;
        for (i, row) in self.rows.iter().enumerate() {
            if row.len() > self.config.max_buckets {
                return corrupt("ADWIN row holds more than max_buckets buckets");
            }
            let size = (1u64 << i) as f64;
            for b in row {
                let bounded = b.sum.is_finite()
                    && b.sum.abs() <= crate::MAX_MAGNITUDE * size
                    && b.m2.is_finite()
                    && b.m2 >= 0.0;
                if !bounded {
                    return corrupt("ADWIN bucket not finite or beyond the magnitude limit");
                }
            }
            width = (row.len() as u64)
                .checked_mul(1u64 << i)
                .and_then(|w| w.checked_add(width))
                .ok_or(DefenseError::CorruptState {
                    detail: "ADWIN width overflows",
                })?;
        }
        if width != self.width {
            return corrupt("ADWIN width differs from its buckets");
        }
        let (sum, m2) = self.bucket_totals();
        let tol = |a: f64, b: f64| (a - b).abs() <= 1e-6 * (1.0 + a.abs().max(b.abs()));
        if !(self.sum.is_finite()
            && self.m2.is_finite()
            && self.m2 >= 0.0
            && tol(self.sum, sum)
            && tol(self.m2, m2))
        {
            return corrupt("ADWIN sum or variance differs from its buckets");
        }
        Ok(())
    }

    /// Sum and sum of squared deviations of the whole window, merged from the buckets.
    fn bucket_totals(&self) -> (f64, f64) {
        let mut acc: Option<(Bucket, f64)> = None;
        for (i, row) in self.rows.iter().enumerate() {
            let size = (1u64 << i) as f64;
            for b in row {
                acc = Some(match acc {
                    None => (*b, size),
                    Some((a, n)) => (merge(a, n, *b, size), n + size),
                });
            }
        }
        acc.map_or((0.0, 0.0), |(b, _)| (b.sum, b.m2))
    }

    /// A detector after checking the configuration.
    pub fn new(config: AdwinConfig) -> DefenseResult<Self> {
        config.validate()?;
        Ok(Self {
            config,
            rows: Vec::new(),
            width: 0,
            sum: 0.0,
            m2: 0.0,
            ticks: 0,
            seen: 0,
        })
    }

    /// Current window length.
    pub fn width(&self) -> u64 {
        self.width
    }

    /// Mean of the current window (NaN when empty).
    pub fn mean(&self) -> f64 {
        if self.width == 0 {
            f64::NAN
        } else {
            self.sum / self.width as f64
        }
    }

    /// Variance of the current window (population; NaN when empty).
    pub fn variance(&self) -> f64 {
        if self.width == 0 {
            f64::NAN
        } else {
            self.m2 / self.width as f64
        }
    }

    fn insert(&mut self, x: f64) {
        if self.rows.is_empty() {
            self.rows.push(VecDeque::new());
        }
        self.rows[0].push_back(Bucket { sum: x, m2: 0.0 });
        let n = self.width as f64;
        if self.width > 0 {
            let d = x - self.sum / n;
            self.m2 += d * d * n / (n + 1.0);
        }
        self.width = self.width.saturating_add(1);
        self.sum += x;
        // Compress: a row with M+1 buckets merges its two oldest into the next row.
        let mut i = 0;
        while i < self.rows.len() && self.rows[i].len() > self.config.max_buckets {
            let size = (1u64 << i) as f64;
            let (Some(a), Some(b)) = (self.rows[i].pop_front(), self.rows[i].pop_front()) else {
                break;
            };
            if self.rows.len() == i + 1 {
                self.rows.push(VecDeque::new());
            }
            self.rows[i + 1].push_back(merge(a, size, b, size));
            i += 1;
        }
    }

    fn drop_oldest(&mut self) {
        let Some(i) = self.rows.iter().rposition(|r| !r.is_empty()) else {
            return;
        };
        let Some(b) = self.rows[i].pop_front() else { return };
        let _ = b;
        self.width = self.width.saturating_sub(1u64 << i);
        while self.rows.last().is_some_and(VecDeque::is_empty) {
            self.rows.pop();
        }
        // Recomputed, not subtracted: see the type's documentation.
        let (sum, m2) = self.bucket_totals();
        self.sum = sum;
        self.m2 = m2;
    }

    /// Looks for a cut; drops the oldest bucket while one exists. Returns whether it cut.
    fn detect(&mut self) -> bool {
        let mut changed = false;
        loop {
            let n = self.width as f64;
            if self.width < 2 * self.config.min_window as u64 {
                break;
            }
            let var = self.m2 / n;
            let ln_term = (2.0 * n.ln().max(1.0) / self.config.delta).ln();
            let (mut n0, mut s0) = (0.0f64, 0.0f64);
            let mut cut = false;
            'scan: for i in (0..self.rows.len()).rev() {
                let size = (1u64 << i) as f64;
                for b in &self.rows[i] {
                    n0 += size;
                    s0 += b.sum;
                    let n1 = n - n0;
                    if n1 < self.config.min_window as f64 {
                        break 'scan;
                    }
                    if n0 < self.config.min_window as f64 {
                        continue;
                    }
                    let m = 1.0 / (1.0 / n0 + 1.0 / n1);
                    let eps = (2.0 / m * var * ln_term).sqrt() + 2.0 / (3.0 * m) * ln_term;
                    if (s0 / n0 - (self.sum - s0) / n1).abs() > eps {
                        cut = true;
                        break 'scan;
                    }
                }
            }
            if !cut {
                break;
            }
            changed = true;
            self.drop_oldest();
        }
        changed
    }
}

impl ChangeDetector for Adwin {
    fn update(&mut self, x: f64) -> bool {
        if check_input(x).is_err() {
            return false;
        }
        self.insert(x);
        self.seen = self.seen.saturating_add(1);
        self.ticks = self.ticks.wrapping_add(1);
        if self.seen < self.config.grace_period as u64 || self.ticks % self.config.clock as u64 != 0 {
            return false;
        }
        self.detect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(i: usize) -> f64 {
        ((i * 7919) % 101) as f64 / 101.0 - 0.5
    }

    #[test]
    fn window_statistics_match_brute_force() {
        let mut a = Adwin::new(AdwinConfig::default()).unwrap();
        let xs: Vec<f64> = (0..300).map(noise).collect();
        for x in &xs {
            a.insert(*x);
        }
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        assert_eq!(a.width(), 300);
        assert!((a.mean() - mean).abs() < 1e-12);
        assert!((a.variance() - var).abs() < 1e-12);
        let buckets: usize = a.rows.iter().map(VecDeque::len).sum();
        assert!(buckets <= 5 * 8, "{buckets}");
    }

    #[test]
    fn detects_a_mean_shift_and_shrinks_the_window() {
        let mut a = Adwin::new(AdwinConfig::default()).unwrap();
        let mut fired = Vec::new();
        for i in 0..2000 {
            let x = if i < 1000 { noise(i) } else { 0.5 + noise(i) };
            if a.update(x) {
                fired.push(i);
            }
        }
        assert!(
            !fired.is_empty() && fired[0] >= 1000 && fired[0] < 1100,
            "{fired:?}"
        );
        assert!(a.width() < 1100);
        assert!((a.mean() - 0.5).abs() < 0.1);
    }

    #[test]
    fn bad_config_is_typed() {
        assert!(Adwin::new(AdwinConfig {
            delta: f64::NAN,
            ..Default::default()
        })
        .is_err());
        assert!(Adwin::new(AdwinConfig {
            delta: 1.0,
            ..Default::default()
        })
        .is_err());
        assert!(Adwin::new(AdwinConfig {
            clock: 0,
            ..Default::default()
        })
        .is_err());
    }
}
