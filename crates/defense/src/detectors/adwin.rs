//! ADWIN, adaptive windowing (Bifet & Gavaldà 2007, "Learning from time-changing data with
//! adaptive windowing", SIAM SDM), in its ADWIN2 form with an exponential histogram.

use std::collections::VecDeque;

use prudentia_core::validate::check_open_unit;
use serde::{Deserialize, Serialize};

use super::ChangeDetector;
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
pub struct AdwinConfig {
    /// Confidence δ. Default 0.002; in (0, 1).
    pub delta: f64,
    /// Buckets kept per size before merging (`M`). Default 5; >= 2.
    pub max_buckets: usize,
    /// Check for cuts every `clock` observations. Default 32; >= 1.
    pub clock: usize,
    /// Minimum size of each sub-window at a cut. Default 5; >= 1.
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

impl Adwin {
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
        self.width += 1;
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
        let nb = (1u64 << i) as f64;
        let n = self.width as f64;
        let n_rest = n - nb;
        if n_rest <= 0.0 {
            self.width = 0;
            self.sum = 0.0;
            self.m2 = 0.0;
        } else {
            let mean_rest = (self.sum - b.sum) / n_rest;
            let d = b.sum / nb - mean_rest;
            self.m2 = (self.m2 - b.m2 - d * d * nb * n_rest / n).max(0.0);
            self.sum -= b.sum;
            self.width -= nb as u64;
        }
        while self.rows.last().is_some_and(VecDeque::is_empty) {
            self.rows.pop();
        }
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
        if !x.is_finite() {
            return false;
        }
        self.insert(x);
        self.seen += 1;
        self.ticks += 1;
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
