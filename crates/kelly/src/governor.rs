//! A drawdown governor that scales exposure down smoothly as the drawdown deepens.
//!
//! # Schedule
//! With drawdown `d = 1 − equity / peak` (0 at a new high), a start drawdown `d₀` and a
//! hard-stop drawdown `d₁ > d₀`, the governor's multiplier is
//!
//! ```text
//!            ⎧ 1                                  d ≤ d₀
//!     g(d) = ⎨ (1 − (d − d₀) / (d₁ − d₀))^p       d₀ < d < d₁
//!            ⎩ 0                                  d ≥ d₁
//! ```
//!
//! `p = 1` is linear; `p > 1` is a convex schedule that cuts early and approaches the hard
//! stop gently (the position, and so the next period's loss, vanishes like `(d₁ − d)^p`).
//! `g` is continuous on `[0, 1]` (it equals 1 at `d₀` and 0 at `d₁`) and non-increasing.
//!
//! The seed's rule `1 − d / threshold` turned negative past the threshold and clamped the
//! fraction to zero at once; here exposure falls continuously to zero at `d₁`.
//!
//! # When the hard stop holds
//! A drawdown `d < d₁` moves, after a period with loss `ℓ` on the *unscaled* exposure, to at
//! most `d + (1 − d) ℓ g(d)`. For the linear schedule that stays below `d₁` whenever
//! `ℓ < (d₁ − d₀) / (1 − d)`; past `d₀` the gap to the stop then shrinks geometrically and is
//! never crossed. Losses larger than `d₁ − d₀` in a single period (a gap through the whole
//! band) can cross it, which is why the sizer composes the governor with a volatility cap
//! (bounding ℓ) and, optionally, a drawdown-budget cap
//! `|f| ≤ (d₁ − d) / ((1 − d) k σ)` (a `k`-sigma loss cannot cross the stop).
//!
//! # Re-arming
//! A governor at its hard stop holds no exposure, so equity stops moving and the drawdown
//! never recovers: the stop is permanent. That is the default. With
//! `recovery_half_life = Some(h)` the reference peak decays toward current equity,
//! `peak ← equity + (peak − equity) · 2^(−1/h)` per observation (then `max(peak, equity)`),
//! so after a stop the drawdown, and with it the exposure, comes back smoothly over a few
//! half-lives. The price: the drawdown is then measured from the decayed peak, so the
//! all-time drawdown of a re-armed strategy can exceed `d₁` across several episodes.

use serde::{Deserialize, Serialize};

use prudentia_core::validate::{check_positive, check_range};
use prudentia_core::CoreError;

use crate::error::{check_capital, KellyResult};

/// Settings of a [`DrawdownGovernor`] (validated on deserialization).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", default)]
pub struct DrawdownGovernorConfig {
    /// Drawdown at which scaling begins, `d₀`. Fraction of peak equity; default 0.05; range
    /// `[0, stop_drawdown)`.
    pub start_drawdown: f64,
    /// Hard-stop drawdown `d₁` at which exposure reaches zero. Default 0.20; range
    /// `(start_drawdown, 1]`.
    pub stop_drawdown: f64,
    /// Power `p` of the schedule: 1 linear, > 1 convex (cuts earlier), < 1 concave. Default 1;
    /// range `[0.1, 10]`.
    pub exponent: f64,
    /// Half-life, in observations, of the reference peak's decay toward equity (see
    /// "Re-arming"); `None` = the peak never decays and the hard stop is permanent.
    /// Default `None`; range `[1, 1e9]`.
    #[serde(default)]
    pub recovery_half_life: Option<f64>,
}

impl Default for DrawdownGovernorConfig {
    fn default() -> Self {
        Self {
            start_drawdown: 0.05,
            stop_drawdown: 0.20,
            exponent: 1.0,
            recovery_half_life: None,
        }
    }
}

impl DrawdownGovernorConfig {
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), CoreError> {
        check_range(
            "start_drawdown",
            self.start_drawdown,
            0.0,
            1.0,
            "in [0, 1) and < stop_drawdown",
        )?;
        check_range(
            "stop_drawdown",
            self.stop_drawdown,
            0.0,
            1.0,
            "in (start_drawdown, 1]",
        )?;
        if self.stop_drawdown <= self.start_drawdown {
            return Err(CoreError::OutOfRange {
                field: "stop_drawdown",
                value: self.stop_drawdown,
                expected: "> start_drawdown",
            });
        }
        check_range("exponent", self.exponent, 0.1, 10.0, "in [0.1, 10]")?;
        if let Some(h) = self.recovery_half_life {
            check_range("recovery_half_life", h, 1.0, 1e9, "in [1, 1e9] observations")?;
        }
        Ok(())
    }

    fn check(&mut self) -> Result<(), CoreError> {
        self.validate()
    }

    /// The schedule `g(d)` for a drawdown `d` (see the module docs). NaN is treated as the
    /// worst case (returns 0).
    pub fn multiplier(&self, drawdown: f64) -> f64 {
        if drawdown.is_nan() || drawdown >= self.stop_drawdown {
            return 0.0;
        }
        if drawdown <= self.start_drawdown {
            return 1.0;
        }
        let x = (drawdown - self.start_drawdown) / (self.stop_drawdown - self.start_drawdown);
        (1.0 - x).clamp(0.0, 1.0).powf(self.exponent)
    }
}

prudentia_core::checked_serde!(DrawdownGovernorConfig, DrawdownGovernorConfig::check);

/// The governor's state: the running peak and the current equity.
///
/// Invariants (checked by [`DrawdownState::validate`], on deserialization and by
/// [`DrawdownGovernor::with_state`]): equity and peak finite and `>= 0`, `peak >= equity`,
/// `drawdown = 1 − equity / peak` (0 when the peak is 0) within 1e-9, and
/// `drawdown <= max_drawdown <= 1`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct DrawdownState {
    /// Highest equity seen (currency units); 0 before the first observation.
    pub peak_equity: f64,
    /// Last equity seen (currency units).
    pub equity: f64,
    /// Current drawdown `1 − equity / peak` in `[0, 1]`.
    pub drawdown: f64,
    /// Largest drawdown seen so far.
    pub max_drawdown: f64,
    /// Number of equity observations (saturating).
    pub observations: u64,
}

/// `1 − equity / peak` clamped to `[0, 1]`, or 0 before any positive peak.
fn drawdown_of(equity: f64, peak: f64) -> f64 {
    if peak > 0.0 {
        (1.0 - equity / peak).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

impl DrawdownState {
    /// Checks the invariants listed on the type, naming the first bad field.
    pub fn validate(&self) -> KellyResult<()> {
        check_capital("peak_equity", self.peak_equity)?;
        check_capital("equity", self.equity)?;
        if self.equity > self.peak_equity {
            return Err(CoreError::OutOfRange {
                field: "peak_equity",
                value: self.peak_equity,
                expected: ">= equity",
            }
            .into());
        }
        check_range("drawdown", self.drawdown, 0.0, 1.0, "in [0, 1]")?;
        if (self.drawdown - drawdown_of(self.equity, self.peak_equity)).abs() > 1e-9 {
            return Err(CoreError::OutOfRange {
                field: "drawdown",
                value: self.drawdown,
                expected: "1 - equity / peak_equity",
            }
            .into());
        }
        check_range(
            "max_drawdown",
            self.max_drawdown,
            self.drawdown,
            1.0,
            "in [drawdown, 1]",
        )?;
        Ok(())
    }

    fn check(&mut self) -> KellyResult<()> {
        self.validate()
    }
}

prudentia_core::checked_serde!(DrawdownState, DrawdownState::check);

/// Tracks peak equity and drawdown, and turns the drawdown into an exposure multiplier
/// in `[0, 1]` by the schedule of [`DrawdownGovernorConfig::multiplier`].
///
/// Deserialization validates the config and the state (as [`DrawdownGovernor::with_state`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct DrawdownGovernor {
    config: DrawdownGovernorConfig,
    state: DrawdownState,
}

impl DrawdownGovernor {
    /// A governor with no history (multiplier 1 until equity falls below a peak).
    pub fn new(config: DrawdownGovernorConfig) -> KellyResult<Self> {
        config.validate()?;
        Ok(Self {
            config,
            state: DrawdownState::default(),
        })
    }

    /// Restores a governor from a checkpointed state (both validated; see
    /// [`DrawdownState::validate`]).
    pub fn with_state(config: DrawdownGovernorConfig, state: DrawdownState) -> KellyResult<Self> {
        config.validate()?;
        state.validate()?;
        Ok(Self { config, state })
    }

    fn check(&mut self) -> KellyResult<()> {
        self.config.validate()?;
        self.state.validate()
    }

    /// The settings.
    pub fn config(&self) -> &DrawdownGovernorConfig {
        &self.config
    }

    /// The state (peak, equity, drawdown).
    pub fn state(&self) -> &DrawdownState {
        &self.state
    }

    /// Records a new equity value (currency units, finite and >= 0) and returns the new
    /// multiplier. O(1), no allocation. A rejected value changes nothing.
    pub fn observe(&mut self, equity: f64) -> KellyResult<f64> {
        check_capital("equity", equity)?;
        let s = &mut self.state;
        if let Some(h) = self.config.recovery_half_life {
            if s.peak_equity > equity {
                // 0 <= peak − equity <= peak: finite, and the new peak stays >= equity
                s.peak_equity = equity + (s.peak_equity - equity) * 0.5_f64.powf(1.0 / h);
            }
        }
        if equity > s.peak_equity {
            s.peak_equity = equity;
        }
        s.equity = equity;
        s.drawdown = drawdown_of(equity, s.peak_equity);
        s.max_drawdown = s.max_drawdown.max(s.drawdown);
        s.observations = s.observations.saturating_add(1);
        Ok(self.multiplier())
    }

    /// The current multiplier `g(drawdown)` in `[0, 1]`.
    pub fn multiplier(&self) -> f64 {
        self.config.multiplier(self.state.drawdown)
    }

    /// The drawdown-budget cap on an absolute fraction: `(d₁ − d) / ((1 − d) k σ)`, the
    /// largest exposure whose `k`-sigma loss (`σ` per period) keeps the drawdown below the
    /// hard stop. `None` when the cap is not representable (`k σ` so small that the cap
    /// overflows): no finite exposure reaches it. `Some(0)` at or past the hard stop.
    pub fn budget_cap(&self, stress_sigmas: f64, sigma: f64) -> KellyResult<Option<f64>> {
        check_positive("stress_sigmas", stress_sigmas)?;
        crate::error::check_sigma("sigma", sigma)?;
        let d = self.state.drawdown;
        let gap = (self.config.stop_drawdown - d).max(0.0);
        if gap == 0.0 {
            return Ok(Some(0.0));
        }
        let cap = gap / (1.0 - d).max(f64::MIN_POSITIVE) / stress_sigmas / sigma;
        Ok(Some(cap).filter(|c| c.is_finite()))
    }

    /// Forgets the history (peak, drawdown).
    pub fn reset(&mut self) {
        self.state = DrawdownState::default();
    }
}

prudentia_core::checked_serde!(DrawdownGovernor, DrawdownGovernor::check);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_schedule_values() {
        let c = DrawdownGovernorConfig::default();
        assert_eq!(c.multiplier(0.0), 1.0);
        assert_eq!(c.multiplier(0.05), 1.0);
        // halfway through the band [0.05, 0.20]
        assert!((c.multiplier(0.125) - 0.5).abs() < 1e-12);
        assert_eq!(c.multiplier(0.20), 0.0);
        assert_eq!(c.multiplier(0.5), 0.0);
        assert_eq!(c.multiplier(f64::NAN), 0.0);
    }

    #[test]
    fn convex_schedule_values() {
        let c = DrawdownGovernorConfig {
            exponent: 2.0,
            ..Default::default()
        };
        assert!((c.multiplier(0.125) - 0.25).abs() < 1e-12);
    }

    #[test]
    fn observe_tracks_peak_and_drawdown() {
        let mut g = DrawdownGovernor::new(DrawdownGovernorConfig::default()).unwrap();
        assert_eq!(g.observe(100.0).unwrap(), 1.0);
        g.observe(110.0).unwrap();
        let m = g.observe(96.25).unwrap(); // drawdown 0.125
        assert!((g.state().drawdown - 0.125).abs() < 1e-12);
        assert!((m - 0.5).abs() < 1e-12);
        assert_eq!(g.state().peak_equity, 110.0);
        g.observe(121.0).unwrap();
        assert_eq!(g.multiplier(), 1.0);
        assert!((g.state().max_drawdown - 0.125).abs() < 1e-12);
        assert!(g.observe(-1.0).is_err());
        assert!(g.observe(f64::NAN).is_err());
    }

    #[test]
    fn recovery_half_life_rearms_after_a_stop() {
        let mut g = DrawdownGovernor::new(DrawdownGovernorConfig {
            recovery_half_life: Some(10.0),
            ..Default::default()
        })
        .unwrap();
        g.observe(100.0).unwrap();
        assert_eq!(g.observe(75.0).unwrap(), 0.0); // past the 20 % stop
                                                   // flat equity: the peak gap halves every 10 observations
        let mut last = 0.0;
        for _ in 0..60 {
            let m = g.observe(75.0).unwrap();
            assert!(m >= last);
            last = m;
        }
        // gap 25 · 2^(−61/10) ≈ 0.36 → drawdown < 0.5 % < start: fully re-armed
        assert_eq!(last, 1.0);
        let mut permanent = DrawdownGovernor::new(DrawdownGovernorConfig::default()).unwrap();
        permanent.observe(100.0).unwrap();
        for _ in 0..100 {
            assert_eq!(permanent.observe(75.0).unwrap(), 0.0);
        }
    }

    #[test]
    fn config_validation_names_field() {
        let c = DrawdownGovernorConfig {
            start_drawdown: 0.3,
            stop_drawdown: 0.2,
            ..Default::default()
        };
        assert!(matches!(
            c.validate(),
            Err(CoreError::OutOfRange {
                field: "stop_drawdown",
                ..
            })
        ));
        let c = DrawdownGovernorConfig {
            exponent: 0.0,
            ..Default::default()
        };
        assert!(DrawdownGovernor::new(c).is_err());
    }
}
