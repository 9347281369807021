//! Rule-based regime labels from market indicators, with hysteresis so labels do not
//! flicker.
//!
//! Three axes, each driven by one or more [`Hysteresis`] switches:
//! - volatility: `high_vol` when the VIX level is high (VIX ≥ `enter`, back to `low_vol`
//!   at ≤ `exit`) or the realized-volatility percentile is high (realized vol over a
//!   trailing window, ranked against its own trailing history:
//!   `pct_t = #{j in lookback : rv_j ≤ rv_t} / lookback`);
//! - risk: `risk_off` when VIX is at stress levels, the credit spread is wide (when
//!   given), or the trailing cumulative return is deeply negative; `risk_on` otherwise;
//! - liquidity: `illiquid` when the quoted spread is wide or volume falls well below its
//!   trailing mean (`volume_t / mean(volume over lookback)`); `liquid` otherwise.
//!
//! A switch turns on when its input reaches `enter` and off when it falls back to
//! `exit` (for "low is bad" inputs such as volume the comparison is reversed), and never
//! switches twice within `min_dwell` observations.

use prudentia_core::validate::{check_finite, check_size, MAX_WINDOW};
use prudentia_core::{CoreError, RegimeLabel};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

use crate::error::RegimeResult;

fn overflow(field: &'static str, value: f64) -> CoreError {
    CoreError::OutOfRange {
        field,
        value,
        expected: "a magnitude whose running sums stay finite (|return| < 1e150, volume < 1e300)",
    }
}

/// A two-threshold switch with a minimum dwell time. Validated when deserialized.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Hysteresis {
    /// Turn on when the input reaches this level.
    pub enter: f64,
    /// Turn off when the input falls back to this level. For a rising switch
    /// (`enter > exit`) the input must fall to `exit` or below; for a falling switch
    /// (`enter < exit`, e.g. volume) it must rise to `exit` or above.
    pub exit: f64,
    /// Minimum observations between two switches. Default 5; at most `MAX_WINDOW` (2²⁴).
    pub min_dwell: usize,
}
prudentia_core::checked_serde!(Hysteresis, Hysteresis::check);

impl Hysteresis {
    /// A switch; `validate` checks it.
    pub fn new(enter: f64, exit: f64, min_dwell: usize) -> Self {
        Self {
            enter,
            exit,
            min_dwell,
        }
    }

    fn check(&mut self) -> Result<(), CoreError> {
        self.validate("hysteresis")
    }

    /// Checks that both thresholds are finite and distinct, and the dwell within
    /// `MAX_WINDOW`.
    pub fn validate(&self, field: &'static str) -> Result<(), CoreError> {
        check_finite(field, &[self.enter, self.exit])?;
        check_size(field, self.min_dwell, MAX_WINDOW)?;
        if self.enter == self.exit {
            return Err(CoreError::OutOfRange {
                field,
                value: self.enter,
                expected: "enter != exit (the gap is the hysteresis band)",
            });
        }
        Ok(())
    }
}

/// The state of one [`Hysteresis`] switch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SwitchState {
    /// Whether the switch is on.
    pub on: bool,
    /// Observations since the last switch (`usize::MAX` before the first, so the first
    /// switch is never delayed).
    pub dwell: usize,
}

impl Default for SwitchState {
    fn default() -> Self {
        Self {
            on: false,
            dwell: usize::MAX,
        }
    }
}

impl SwitchState {
    /// Folds in one input value; returns whether the switch flipped.
    pub fn step(&mut self, rule: &Hysteresis, value: f64) -> bool {
        self.dwell = self.dwell.saturating_add(1);
        let rising = rule.enter > rule.exit;
        let reached_enter = if rising {
            value >= rule.enter
        } else {
            value <= rule.enter
        };
        let reached_exit = if rising {
            value <= rule.exit
        } else {
            value >= rule.exit
        };
        let can_switch = self.dwell > rule.min_dwell;
        if !self.on && reached_enter && can_switch {
            self.on = true;
            self.dwell = 0;
            true
        } else if self.on && reached_exit && can_switch {
            self.on = false;
            self.dwell = 0;
            true
        } else {
            false
        }
    }
}

/// One observation of the indicators the labeler reads. Missing values are `None`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct IndicatorObservation {
    /// Return of the reference index over the last period (e.g. daily log return).
    pub index_return: Option<f64>,
    /// VIX level (index points).
    pub vix: Option<f64>,
    /// Credit spread (e.g. BAA − AAA or high-yield OAS, in percentage points).
    pub credit_spread: Option<f64>,
    /// Traded volume of the reference over the period.
    pub volume: Option<f64>,
    /// Quoted spread in basis points.
    pub spread_bps: Option<f64>,
}

/// Which axis gives the primary label (the one reported in `RegimeState::label`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum LabelAxis {
    /// `high_vol` / `low_vol`.
    #[default]
    Volatility,
    /// `risk_on` / `risk_off`.
    Risk,
    /// `liquid` / `illiquid`.
    Liquidity,
}

/// Configuration of [`RegimeLabeler`]. A `None` rule is not used. Validated when
/// deserialized; every window is at most `MAX_WINDOW` (2²⁴).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[serde(default)]
pub struct LabelerConfig {
    /// VIX level switch for `high_vol`. Default enter 25, exit 20, dwell 5.
    pub vix_high_vol: Option<Hysteresis>,
    /// VIX level switch for `risk_off`. Default enter 30, exit 22, dwell 5.
    pub vix_risk_off: Option<Hysteresis>,
    /// Realized-vol percentile switch for `high_vol` (percentile in [0, 1]).
    /// Default enter 0.8, exit 0.6, dwell 5.
    pub realized_vol_high: Option<Hysteresis>,
    /// Observations in the realized-volatility window. Default 21; ≥ 2.
    pub realized_vol_window: usize,
    /// Observations of realized vol the percentile ranks against. Default 252; ≥ 2.
    pub percentile_lookback: usize,
    /// Trailing-return switch for `risk_off` on the cumulative return over
    /// `drawdown_window` (a falling switch). Default enter −0.10, exit −0.03, dwell 5.
    pub trailing_return_risk_off: Option<Hysteresis>,
    /// Observations in the trailing-return window. Default 63; ≥ 1.
    pub drawdown_window: usize,
    /// Credit-spread switch for `risk_off` (same units as the input). Default none.
    pub credit_spread_risk_off: Option<Hysteresis>,
    /// Quoted-spread switch for `illiquid` (bps). Default enter 20, exit 10, dwell 5.
    pub spread_illiquid: Option<Hysteresis>,
    /// Relative-volume switch for `illiquid` (volume / trailing mean; a falling switch).
    /// Default enter 0.5, exit 0.7, dwell 5.
    pub volume_illiquid: Option<Hysteresis>,
    /// Observations in the volume mean. Default 63; ≥ 1.
    pub volume_lookback: usize,
    /// An indicator-driven switch (VIX, credit spread, quoted spread, volume) whose input
    /// has been missing for more than this many consecutive observations turns off: a
    /// stale indicator stops asserting its label. Default 5.
    pub max_missing: usize,
    /// Primary axis. Default volatility.
    pub primary: LabelAxis,
}
prudentia_core::checked_serde!(LabelerConfig, LabelerConfig::check);

impl Default for LabelerConfig {
    fn default() -> Self {
        Self {
            vix_high_vol: Some(Hysteresis::new(25.0, 20.0, 5)),
            vix_risk_off: Some(Hysteresis::new(30.0, 22.0, 5)),
            realized_vol_high: Some(Hysteresis::new(0.8, 0.6, 5)),
            realized_vol_window: 21,
            percentile_lookback: 252,
            trailing_return_risk_off: Some(Hysteresis::new(-0.10, -0.03, 5)),
            drawdown_window: 63,
            credit_spread_risk_off: None,
            spread_illiquid: Some(Hysteresis::new(20.0, 10.0, 5)),
            volume_illiquid: Some(Hysteresis::new(0.5, 0.7, 5)),
            volume_lookback: 63,
            max_missing: 5,
            primary: LabelAxis::Volatility,
        }
    }
}

impl LabelerConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), CoreError> {
        let rules = [
            ("vix_high_vol", &self.vix_high_vol),
            ("vix_risk_off", &self.vix_risk_off),
            ("realized_vol_high", &self.realized_vol_high),
            ("trailing_return_risk_off", &self.trailing_return_risk_off),
            ("credit_spread_risk_off", &self.credit_spread_risk_off),
            ("spread_illiquid", &self.spread_illiquid),
            ("volume_illiquid", &self.volume_illiquid),
        ];
        for (name, r) in rules {
            if let Some(r) = r {
                r.validate(name)?;
            }
        }
        let sizes = [
            ("realized_vol_window", self.realized_vol_window, 2),
            ("percentile_lookback", self.percentile_lookback, 2),
            ("drawdown_window", self.drawdown_window, 1),
            ("volume_lookback", self.volume_lookback, 1),
        ];
        for (field, v, min) in sizes {
            if v < min {
                return Err(CoreError::OutOfRange {
                    field,
                    value: v as f64,
                    expected: "a window of at least 1 (2 for volatility windows) observations",
                });
            }
            check_size(field, v, MAX_WINDOW)?;
        }
        check_size("max_missing", self.max_missing, MAX_WINDOW)?;
        Ok(())
    }

    fn check(&mut self) -> Result<(), CoreError> {
        self.validate()
    }
}

/// The labels on each axis after one observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegimeLabels {
    /// `high_vol` or `low_vol`.
    pub volatility: RegimeLabel,
    /// `risk_on` or `risk_off`.
    pub risk: RegimeLabel,
    /// `liquid` or `illiquid`.
    pub liquidity: RegimeLabel,
    /// Realized-volatility percentile in [0, 1], once the lookback has filled.
    pub realized_vol_percentile: Option<f64>,
}

impl RegimeLabels {
    /// The label on one axis.
    pub fn on(&self, axis: LabelAxis) -> &RegimeLabel {
        match axis {
            LabelAxis::Volatility => &self.volatility,
            LabelAxis::Risk => &self.risk,
            LabelAxis::Liquidity => &self.liquidity,
        }
    }
}

/// The opposite label on the same axis.
pub fn opposite(label: &RegimeLabel) -> RegimeLabel {
    match label.as_str() {
        "high_vol" => RegimeLabel::LOW_VOL,
        "low_vol" => RegimeLabel::HIGH_VOL,
        "risk_on" => RegimeLabel::RISK_OFF,
        "risk_off" => RegimeLabel::RISK_ON,
        "liquid" => RegimeLabel::ILLIQUID,
        "illiquid" => RegimeLabel::LIQUID,
        _ => RegimeLabel::UNKNOWN,
    }
}

/// Rule-based labeler (see the [module docs](self)).
///
/// Deserializing a checkpoint validates it (configuration, window lengths, finite values),
/// so a corrupted or mismatched checkpoint is an error at load time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct RegimeLabeler {
    config: LabelerConfig,
    vix_high: SwitchState,
    vix_risk: SwitchState,
    rv_high: SwitchState,
    trail_risk: SwitchState,
    credit_risk: SwitchState,
    spread_illiq: SwitchState,
    volume_illiq: SwitchState,
    returns: VecDeque<f64>,
    sum_sq: f64,
    rv_history: VecDeque<f64>,
    trail: VecDeque<f64>,
    trail_sum: f64,
    volumes: VecDeque<f64>,
    volume_sum: f64,
    /// Consecutive observations without VIX, credit spread, quoted spread, volume.
    #[serde(default)]
    missing: [usize; 4],
}

prudentia_core::checked_serde!(RegimeLabeler, RegimeLabeler::check_state);

impl RegimeLabeler {
    /// A labeler with empty history.
    pub fn new(config: LabelerConfig) -> RegimeResult<Self> {
        config.validate()?;
        Ok(Self {
            returns: VecDeque::with_capacity(config.realized_vol_window + 1),
            rv_history: VecDeque::with_capacity(config.percentile_lookback + 1),
            trail: VecDeque::with_capacity(config.drawdown_window + 1),
            volumes: VecDeque::with_capacity(config.volume_lookback + 1),
            config,
            vix_high: SwitchState::default(),
            vix_risk: SwitchState::default(),
            rv_high: SwitchState::default(),
            trail_risk: SwitchState::default(),
            credit_risk: SwitchState::default(),
            spread_illiq: SwitchState::default(),
            volume_illiq: SwitchState::default(),
            sum_sq: 0.0,
            trail_sum: 0.0,
            volume_sum: 0.0,
            missing: [0; 4],
        })
    }

    /// The configuration.
    pub fn config(&self) -> &LabelerConfig {
        &self.config
    }

    /// Configuration, window lengths and finite values (a loaded checkpoint must pass).
    fn check_state(&mut self) -> Result<(), CoreError> {
        let c = &self.config;
        c.validate()?;
        let windows = [
            ("labeler.returns", &self.returns, c.realized_vol_window),
            ("labeler.rv_history", &self.rv_history, c.percentile_lookback),
            ("labeler.trail", &self.trail, c.drawdown_window),
            ("labeler.volumes", &self.volumes, c.volume_lookback),
        ];
        for (field, d, max) in windows {
            if d.len() > max {
                return Err(CoreError::ShapeMismatch {
                    field,
                    expected: vec![max],
                    found: vec![d.len()],
                });
            }
            prudentia_core::validate::check_finite_iter(field, d.iter())?;
        }
        check_finite("labeler.sums", &[self.sum_sq, self.trail_sum, self.volume_sum])?;
        if let Some(v) = self.rv_history.iter().find(|v| **v < 0.0) {
            return Err(CoreError::OutOfRange {
                field: "labeler.rv_history",
                value: *v,
                expected: "realized volatilities >= 0",
            });
        }
        Ok(())
    }

    /// Checks one observation without changing anything: present values finite, and the
    /// running sums they enter staying finite (a return whose square overflows, a volume
    /// that overflows the volume sum, are [`CoreError::OutOfRange`]). [`observe`](Self::observe)
    /// runs it first; a caller that updates several things per observation runs it before
    /// any of them.
    pub fn check_observation(&self, obs: &IndicatorObservation) -> RegimeResult<()> {
        let fields = [
            ("index_return", obs.index_return),
            ("vix", obs.vix),
            ("credit_spread", obs.credit_spread),
            ("volume", obs.volume),
            ("spread_bps", obs.spread_bps),
        ];
        for (name, v) in fields {
            if let Some(v) = v {
                check_finite(name, &[v])?;
            }
        }
        if let Some(r) = obs.index_return {
            let sq = r * r;
            if !((self.sum_sq + sq).is_finite() && sq.abs() < 1e300 && (self.trail_sum + r).is_finite()) {
                return Err(overflow("index_return", r).into());
            }
        }
        if let Some(v) = obs.volume {
            if !((self.volume_sum + v).is_finite() && v.abs() < 1e300) {
                return Err(overflow("volume", v).into());
            }
        }
        Ok(())
    }

    /// Folds in one observation. Non-finite present values, and values so extreme that
    /// the running sums would overflow, are errors (see
    /// [`check_observation`](Self::check_observation); the labeler is left unchanged);
    /// missing values leave their rules where they were.
    pub fn observe(&mut self, obs: &IndicatorObservation) -> RegimeResult<RegimeLabels> {
        self.check_observation(obs)?;
        let c = self.config.clone();
        if let Some(v) = obs.vix {
            if let Some(r) = &c.vix_high_vol {
                self.vix_high.step(r, v);
            }
            if let Some(r) = &c.vix_risk_off {
                self.vix_risk.step(r, v);
            }
        }
        let mut pct = None;
        if let Some(r) = obs.index_return {
            self.returns.push_back(r);
            self.sum_sq += r * r;
            if self.returns.len() > c.realized_vol_window {
                let old = self.returns.pop_front().unwrap_or(0.0);
                self.sum_sq -= old * old;
            }
            if self.returns.len() == c.realized_vol_window {
                let rv = (self.sum_sq.max(0.0) / c.realized_vol_window as f64).sqrt();
                self.rv_history.push_back(rv);
                if self.rv_history.len() > c.percentile_lookback {
                    self.rv_history.pop_front();
                }
                if self.rv_history.len() == c.percentile_lookback {
                    let below = self.rv_history.iter().filter(|&&v| v <= rv).count();
                    let p = below as f64 / c.percentile_lookback as f64;
                    pct = Some(p);
                    if let Some(rule) = &c.realized_vol_high {
                        self.rv_high.step(rule, p);
                    }
                }
            }
            self.trail.push_back(r);
            self.trail_sum += r;
            if self.trail.len() > c.drawdown_window {
                self.trail_sum -= self.trail.pop_front().unwrap_or(0.0);
            }
            if self.trail.len() == c.drawdown_window {
                if let Some(rule) = &c.trailing_return_risk_off {
                    self.trail_risk.step(rule, self.trail_sum);
                }
            }
        }
        if let (Some(v), Some(r)) = (obs.credit_spread, &c.credit_spread_risk_off) {
            self.credit_risk.step(r, v);
        }
        if let (Some(v), Some(r)) = (obs.spread_bps, &c.spread_illiquid) {
            self.spread_illiq.step(r, v);
        }
        if let Some(v) = obs.volume {
            if self.volumes.len() == c.volume_lookback {
                let mean = self.volume_sum / c.volume_lookback as f64;
                if let (Some(r), true) = (&c.volume_illiquid, mean > 0.0) {
                    self.volume_illiq.step(r, v / mean);
                }
            }
            self.volumes.push_back(v);
            self.volume_sum += v;
            if self.volumes.len() > c.volume_lookback {
                self.volume_sum -= self.volumes.pop_front().unwrap_or(0.0);
            }
        }
        let present = [
            obs.vix.is_some(),
            obs.credit_spread.is_some(),
            obs.spread_bps.is_some(),
            obs.volume.is_some(),
        ];
        for (m, p) in self.missing.iter_mut().zip(present) {
            *m = if p { 0 } else { m.saturating_add(1) };
        }
        let stale = |i: usize| self.missing[i] > c.max_missing;
        let (vix_stale, credit_stale, spread_stale, volume_stale) = (stale(0), stale(1), stale(2), stale(3));
        for (switch, is_stale) in [
            (&mut self.vix_high, vix_stale),
            (&mut self.vix_risk, vix_stale),
            (&mut self.credit_risk, credit_stale),
            (&mut self.spread_illiq, spread_stale),
            (&mut self.volume_illiq, volume_stale),
        ] {
            if is_stale && switch.on {
                *switch = SwitchState::default();
            }
        }
        Ok(self.labels(pct))
    }

    fn labels(&self, pct: Option<f64>) -> RegimeLabels {
        let high = self.vix_high.on || self.rv_high.on;
        let off = self.vix_risk.on || self.trail_risk.on || self.credit_risk.on;
        let illiq = self.spread_illiq.on || self.volume_illiq.on;
        RegimeLabels {
            volatility: if high {
                RegimeLabel::HIGH_VOL
            } else {
                RegimeLabel::LOW_VOL
            },
            risk: if off {
                RegimeLabel::RISK_OFF
            } else {
                RegimeLabel::RISK_ON
            },
            liquidity: if illiq {
                RegimeLabel::ILLIQUID
            } else {
                RegimeLabel::LIQUID
            },
            realized_vol_percentile: pct,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hysteresis_does_not_flicker() {
        let rule = Hysteresis::new(25.0, 20.0, 0);
        let mut s = SwitchState::default();
        let path = [19.0, 26.0, 24.0, 21.0, 24.0, 19.5, 22.0, 24.9];
        let on: Vec<bool> = path
            .iter()
            .map(|&v| {
                s.step(&rule, v);
                s.on
            })
            .collect();
        assert_eq!(on, [false, true, true, true, true, false, false, false]);
    }

    #[test]
    fn min_dwell_delays_switch_back() {
        let rule = Hysteresis::new(1.0, 0.0, 3);
        let mut s = SwitchState { on: false, dwell: 10 };
        assert!(s.step(&rule, 2.0));
        assert!(!s.step(&rule, -1.0));
        assert!(!s.step(&rule, -1.0));
        assert!(!s.step(&rule, -1.0));
        assert!(s.step(&rule, -1.0));
    }

    #[test]
    fn falling_switch_for_volume() {
        let rule = Hysteresis::new(0.5, 0.7, 0);
        let mut s = SwitchState::default();
        s.step(&rule, 0.4);
        assert!(s.on);
        s.step(&rule, 0.6);
        assert!(s.on);
        s.step(&rule, 0.75);
        assert!(!s.on);
    }

    #[test]
    fn vix_drives_labels_and_bad_input_is_typed() {
        let mut l = RegimeLabeler::new(LabelerConfig::default()).unwrap();
        let mut obs = IndicatorObservation {
            vix: Some(15.0),
            ..Default::default()
        };
        for _ in 0..10 {
            let _ = l.observe(&obs).unwrap();
        }
        obs.vix = Some(35.0);
        let lab = l.observe(&obs).unwrap();
        assert_eq!(lab.volatility, RegimeLabel::HIGH_VOL);
        assert_eq!(lab.risk, RegimeLabel::RISK_OFF);
        obs.vix = Some(f64::NAN);
        assert!(l.observe(&obs).is_err());
        let bad = LabelerConfig {
            vix_high_vol: Some(Hysteresis::new(20.0, 20.0, 1)),
            ..Default::default()
        };
        assert!(RegimeLabeler::new(bad).is_err());
        let bad = LabelerConfig {
            realized_vol_window: 1,
            ..Default::default()
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn realized_vol_percentile_flags_high_vol() {
        let cfg = LabelerConfig {
            vix_high_vol: None,
            vix_risk_off: None,
            realized_vol_window: 5,
            percentile_lookback: 50,
            ..Default::default()
        };
        let mut l = RegimeLabeler::new(cfg).unwrap();
        let mut last = None;
        for t in 0..200 {
            let scale = if t < 150 { 0.01 } else { 0.04 };
            let r = scale * if t % 2 == 0 { 1.0 } else { -1.0 };
            last = Some(
                l.observe(&IndicatorObservation {
                    index_return: Some(r),
                    ..Default::default()
                })
                .unwrap(),
            );
        }
        assert_eq!(last.unwrap().volatility, RegimeLabel::HIGH_VOL);
    }
}
