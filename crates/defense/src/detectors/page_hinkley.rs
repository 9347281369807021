//! The Page–Hinkley test (Page 1954, "Continuous inspection schemes", Biometrika 41).

use prudentia_core::validate::{check_non_negative, check_positive};
use serde::{Deserialize, Serialize};

use super::{check_input, ChangeDetector, Direction};
use crate::error::{DefenseError, DefenseResult};
use crate::MAX_MAGNITUDE;

/// Configuration of a [`PageHinkley`] detector.
///
/// With the running mean `x̄_t`, the cumulative deviations
/// `m⁺_t = Σ_{s<=t} (x_s − x̄_s − δ)` and `m⁻_t = Σ_{s<=t} (x_s − x̄_s + δ)`, an increase
/// is signalled when `m⁺_t − min_{s<=t} m⁺_s > λ` and a decrease when
/// `max_{s<=t} m⁻_s − m⁻_t > λ`. After a signal the statistics restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[serde(remote = "Self")]
pub struct PageHinkleyConfig {
    /// Magnitude tolerance δ (units of the series). Default 0.005; in `[0, MAX_MAGNITUDE]`.
    pub delta: f64,
    /// Threshold λ (units of the series). Default 50; finite, > 0.
    pub threshold: f64,
    /// Observations after a (re)start before a change can be signalled. Default 30; >= 1.
    pub min_instances: usize,
    /// Which changes to signal. Default [`Direction::Both`].
    pub direction: Direction,
}

impl Default for PageHinkleyConfig {
    fn default() -> Self {
        Self {
            delta: 0.005,
            threshold: 50.0,
            min_instances: 30,
            direction: Direction::Both,
        }
    }
}

prudentia_core::checked_serde!(PageHinkleyConfig, PageHinkleyConfig::validate);

impl PageHinkleyConfig {
    /// Checks every field.
    pub fn validate(&self) -> DefenseResult<()> {
        check_non_negative("delta", self.delta)?;
        if self.delta > MAX_MAGNITUDE {
            return Err(prudentia_core::CoreError::OutOfRange {
                field: "delta",
                value: self.delta,
                expected: "at most 1e100 (MAX_MAGNITUDE)",
            }
            .into());
        }
        check_positive("threshold", self.threshold)?;
        if self.min_instances == 0 {
            return Err(DefenseError::TooSmall {
                field: "min_instances",
                value: 0,
                min: 1,
            });
        }
        Ok(())
    }
}

/// The Page–Hinkley change detector (O(1) per observation).
///
/// Inputs are bounded by [`MAX_MAGNITUDE`], so the running sums stay finite for any
/// stream length; an extreme (but admitted) value makes the statistics jump, which
/// signals a change and restarts them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct PageHinkley {
    config: PageHinkleyConfig,
    n: u64,
    mean: f64,
    sum_up: f64,
    min_up: f64,
    sum_down: f64,
    max_down: f64,
}

prudentia_core::checked_serde!(PageHinkley, PageHinkley::check_state);

impl PageHinkley {
    /// Invariants of a loaded checkpoint: a valid configuration, a finite mean within
    /// [`MAX_MAGNITUDE`], finite sums with `min m⁺ <= min(0, m⁺)` and `max m⁻ >= max(0, m⁻)`.
    fn check_state(&mut self) -> DefenseResult<()> {
        self.config.validate()?;
        let sums = [self.sum_up, self.min_up, self.sum_down, self.max_down];
        let ok = self.mean.is_finite()
            && self.mean.abs() <= MAX_MAGNITUDE
            && sums.iter().all(|v| v.is_finite() && v.abs() <= 1e200)
            && self.min_up <= self.sum_up.min(0.0)
            && self.max_down >= self.sum_down.max(0.0)
            && (self.n > 0 || (self.mean == 0.0 && sums == [0.0; 4]));
        if ok {
            Ok(())
        } else {
            Err(DefenseError::CorruptState {
                detail: "Page-Hinkley statistics are not finite or inconsistent",
            })
        }
    }

    /// A detector after checking the configuration.
    pub fn new(config: PageHinkleyConfig) -> DefenseResult<Self> {
        config.validate()?;
        Ok(Self {
            config,
            n: 0,
            mean: 0.0,
            sum_up: 0.0,
            min_up: 0.0,
            sum_down: 0.0,
            max_down: 0.0,
        })
    }

    /// Restarts the statistics.
    pub fn reset(&mut self) {
        *self = Self {
            config: self.config.clone(),
            n: 0,
            mean: 0.0,
            sum_up: 0.0,
            min_up: 0.0,
            sum_down: 0.0,
            max_down: 0.0,
        };
    }

    /// The current statistics `(m⁺ − min m⁺, max m⁻ − m⁻)`.
    pub fn statistics(&self) -> (f64, f64) {
        (self.sum_up - self.min_up, self.max_down - self.sum_down)
    }
}

impl ChangeDetector for PageHinkley {
    fn update(&mut self, x: f64) -> bool {
        if check_input(x).is_err() {
            return false;
        }
        self.n = self.n.saturating_add(1);
        self.mean += (x - self.mean) / self.n as f64;
        let dev = x - self.mean;
        self.sum_up += dev - self.config.delta;
        self.min_up = self.min_up.min(self.sum_up);
        self.sum_down += dev + self.config.delta;
        self.max_down = self.max_down.max(self.sum_down);
        if self.n < self.config.min_instances as u64 {
            return false;
        }
        let (up, down) = self.statistics();
        let fired = match self.config.direction {
            Direction::Up => up > self.config.threshold,
            Direction::Down => down > self.config.threshold,
            Direction::Both => up > self.config.threshold || down > self.config.threshold,
        };
        if fired {
            self.reset();
        }
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_a_mean_shift_after_it_happens() {
        let cfg = PageHinkleyConfig {
            delta: 0.01,
            threshold: 5.0,
            ..Default::default()
        };
        let mut ph = PageHinkley::new(cfg).unwrap();
        let noise = |i: usize| ((i * 7919) % 13) as f64 / 13.0 - 0.5;
        let mut fired = Vec::new();
        for i in 0..400 {
            let x = if i < 200 { noise(i) } else { 1.0 + noise(i) };
            if ph.update(x) {
                fired.push(i);
            }
        }
        assert_eq!(fired.len(), 1, "{fired:?}");
        assert!(fired[0] >= 200 && fired[0] < 230, "{fired:?}");
    }

    #[test]
    fn bad_config_is_typed() {
        assert!(PageHinkley::new(PageHinkleyConfig {
            threshold: f64::NAN,
            ..Default::default()
        })
        .is_err());
        assert!(PageHinkley::new(PageHinkleyConfig {
            delta: -1.0,
            ..Default::default()
        })
        .is_err());
        assert!(PageHinkley::new(PageHinkleyConfig {
            min_instances: 0,
            ..Default::default()
        })
        .is_err());
    }
}
