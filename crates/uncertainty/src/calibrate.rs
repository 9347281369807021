//! Per-regime calibration of (mean, sigma) forecasts and blending of several forecasters.
//!
//! [`RegimeCalibrator`] learns, for each regime label and for all regimes pooled, the
//! maximum-likelihood location shift `b` and variance scale `s²` of
//!
//! ```text
//! y ~ N(μ + b, s² σ²):   b = Σ w r/σ² / Σ w/σ²,   s² = Σ w (r − b)²/σ² / Σ w,   r = y − μ
//! ```
//!
//! ("variance scaling"), from O(1) sufficient statistics with optional exponential
//! forgetting, so it can learn online. A batch [`RegimeCalibrator::fit`] can add an isotonic
//! recalibration of the PIT (Kuleshov, Fenner & Ermon 2018) that fixes the shape of the
//! quantiles. A regime with fewer than `min_samples` observations falls back to the pooled
//! calibrator, and the result says so.
//!
//! A batch fit never makes calibration worse on its own validation split: by default
//! ([`CalibratorSelection::HeldOut`]) it holds out the last 30 % of the events (in the order
//! given, which should be time order), fits variance scaling (the Gaussian counterpart of
//! Platt's two-parameter map) and variance scaling + isotonic on the first 70 %, scores them
//! and the unchanged forecasts by decile calibration error on the held-out events, and keeps
//! the best, preferring the simpler on ties (identity, then scaling, then isotonic). The
//! winner is refitted on all events; [`RegimeCalibrator::fit_report`] says which won, the
//! three held-out errors, and a [`Status`] that is `ReducedAccuracy` when there were too few
//! events for the comparison (the forecasts are then left alone).
//!
//! [`CalibratedBlender`] first combines several forecasters — by inverse variance
//! (`w_k ∝ 1/σ_k²`) or by stacking weights on the simplex fitted to out-of-sample errors,
//! `min_w Σ_t (y_t − Σ_k w_k μ_{k,t})²` with `w ≥ 0, Σ w = 1` — and then calibrates the blend
//! per regime.

use std::collections::BTreeMap;

use prudentia_core::traits::{Calibrator, OnlineLearner, Role, RoleError, RoleResult};
use prudentia_core::validate::{
    check_finite, check_len, check_probability, check_shape, check_size, MAX_DIM,
};
use prudentia_core::{CalibrationSummary, CoreError, Forecast, Quantile, RegimeLabel, RegimeState, Status};
use serde::{Deserialize, Serialize};

use crate::convert::{check_forecast, finite_or_numerical};
use crate::error::{Result, UncertaintyError};
use crate::isotonic::{IsotonicConfig, IsotonicModel, IsotonicRegression};
use crate::normal;
use crate::scores::{quantile_calibration_error, DECILE_LEVELS};

/// How a batch [`RegimeCalibrator::fit`] chooses its calibration map.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum CalibratorSelection {
    /// Choose by held-out error (default, `validation_fraction` 0.3). The events are split
    /// in the order given (time order): the last `round(validation_fraction · n)` are the
    /// validation split, the rest the training split. Each candidate of
    /// [`CalibrationMethod`] is fitted on the training split and scored on the validation
    /// split by the decile calibration error of its PIT values (mean over the levels
    /// 0.1, …, 0.9 of |share of PIT ≤ level − level|); the lowest error wins, ties (within
    /// 1e-12) going to the simpler method (identity, then scaling, then isotonic), so the
    /// chosen calibration is never worse than leaving the forecasts alone on that split.
    /// The winner is then refitted on all events. With fewer than `min_samples` training
    /// events or fewer than [`MIN_VALIDATION_EVENTS`] validation events no comparison is
    /// possible: the forecasts are left alone ([`CalibrationMethod::Identity`]) and the fit
    /// report's status is `ReducedAccuracy`, saying why.
    HeldOut {
        /// Share of the events held out for validation, in (0, 1) (default 0.3).
        validation_fraction: f64,
    },
    /// Variance scaling, plus the isotonic PIT map when `isotonic` is set, fitted on all
    /// events without validation (the behaviour before this option existed).
    Fixed,
}

impl Default for CalibratorSelection {
    fn default() -> Self {
        CalibratorSelection::HeldOut {
            validation_fraction: 0.3,
        }
    }
}

/// The fewest validation events a held-out choice compares candidates on (20).
pub const MIN_VALIDATION_EVENTS: usize = 20;

/// A calibration map a batch fit can choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CalibrationMethod {
    /// The forecast's mean and sigma unchanged (quantiles of its own Normal attached).
    Identity,
    /// Variance scaling: shift `b` and scale `s` per regime, `y ~ N(μ + b, s²σ²)` — a
    /// two-parameter map of the PIT's probit, the Gaussian counterpart of Platt scaling.
    Scaling,
    /// Variance scaling followed by the isotonic map of the scaled PIT to its empirical CDF
    /// (Kuleshov, Fenner & Ermon 2018), which also fixes the shape of the quantiles.
    Isotonic,
}

/// How a batch fit chose its calibration. Validated on load: errors finite in [0, 1], split
/// sizes consistent with the method's evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct CalibratorFitReport {
    /// The map in use.
    pub method: CalibrationMethod,
    /// Events in the training split (all events for [`CalibratorSelection::Fixed`]).
    pub training_events: usize,
    /// Events in the validation split (0 for [`CalibratorSelection::Fixed`]).
    pub validation_events: usize,
    /// Held-out decile calibration error of the unchanged forecasts (`None` when not compared).
    pub identity_error: Option<f64>,
    /// Held-out decile calibration error of variance scaling.
    pub scaling_error: Option<f64>,
    /// Held-out decile calibration error of variance scaling + isotonic.
    pub isotonic_error: Option<f64>,
    /// `Converged` when the choice was made as configured; `ReducedAccuracy` (with the
    /// reason) when too few events allowed no comparison, or a candidate could not be
    /// evaluated and was left out.
    pub status: Status,
}

checked_serde!(CalibratorFitReport, CalibratorFitReport::check);

impl CalibratorFitReport {
    fn check(&mut self) -> Result<()> {
        for e in [self.identity_error, self.scaling_error, self.isotonic_error]
            .into_iter()
            .flatten()
        {
            if !(0.0..=1.0).contains(&e) {
                return Err(CoreError::OutOfRange {
                    field: "held-out calibration error",
                    value: e,
                    expected: "in [0, 1]",
                }
                .into());
            }
        }
        if self.validation_events == 0 && self.identity_error.is_some() {
            return Err(CoreError::OutOfRange {
                field: "validation_events",
                value: 0.0,
                expected: ">= 1 when held-out errors are reported",
            }
            .into());
        }
        Ok(())
    }

    /// The held-out error of a method, when it was evaluated.
    pub fn error_of(&self, method: CalibrationMethod) -> Option<f64> {
        match method {
            CalibrationMethod::Identity => self.identity_error,
            CalibrationMethod::Scaling => self.scaling_error,
            CalibrationMethod::Isotonic => self.isotonic_error,
        }
    }
}

/// Settings of a [`RegimeCalibrator`]. Validated on load ([`validate`](Self::validate)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[serde(default)]
pub struct CalibratorConfig {
    /// Observations a regime needs before its own calibrator is used; below it the pooled
    /// calibrator applies (default 50, ≥ 2).
    pub min_samples: usize,
    /// Exponential forgetting factor per observation for the online statistics, in (0, 1];
    /// 1 = no forgetting (default 1).
    pub forgetting: f64,
    /// Also fit an isotonic recalibration of the PIT in batch fits under
    /// [`CalibratorSelection::Fixed`] (default `false`; under the default held-out choice
    /// isotonic is always a candidate).
    pub isotonic: bool,
    /// Quantile levels attached to calibrated forecasts, each in (0, 1), increasing
    /// (default 0.05, 0.5, 0.95).
    pub quantile_levels: Vec<f64>,
    /// How a batch fit chooses between identity, variance scaling and isotonic (default:
    /// by held-out error on the last 30 % of the events).
    pub selection: CalibratorSelection,
}

impl Default for CalibratorConfig {
    fn default() -> Self {
        Self {
            min_samples: 50,
            forgetting: 1.0,
            isotonic: false,
            quantile_levels: vec![0.05, 0.5, 0.95],
            selection: CalibratorSelection::default(),
        }
    }
}

checked_serde!(CalibratorConfig, CalibratorConfig::check);

impl CalibratorConfig {
    fn check(&mut self) -> Result<()> {
        self.validate()
    }

    /// Checks the settings, naming the bad field.
    pub fn validate(&self) -> Result<()> {
        if self.min_samples < 2 {
            return Err(CoreError::OutOfRange {
                field: "min_samples",
                value: self.min_samples as f64,
                expected: ">= 2",
            }
            .into());
        }
        if !(self.forgetting > 0.0 && self.forgetting <= 1.0) {
            return Err(CoreError::OutOfRange {
                field: "forgetting",
                value: self.forgetting,
                expected: "in (0, 1]",
            }
            .into());
        }
        if let CalibratorSelection::HeldOut { validation_fraction } = self.selection {
            if !(validation_fraction > 0.0 && validation_fraction < 1.0) {
                return Err(CoreError::OutOfRange {
                    field: "selection.validation_fraction",
                    value: validation_fraction,
                    expected: "in (0, 1)",
                }
                .into());
            }
        }
        crate::convert::check_levels(&self.quantile_levels)?;
        Ok(())
    }
}

/// One labelled forecast for a calibrator to learn from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationEvent {
    /// The raw forecast.
    pub forecast: Forecast,
    /// The regime it was made in.
    pub regime: RegimeLabel,
    /// The realized outcome over the forecast's horizon.
    pub outcome: f64,
}

/// Sufficient statistics of the variance-scaling fit, plus decile PIT counters.
///
/// Fields are private (read them through the accessors); validated on load: finite sums,
/// non-negative weights, counters consistent, a finite shift and scale.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct ScalingStats {
    weight: f64,
    s0: f64,
    s1: f64,
    s2: f64,
    count: usize,
    raw_pit_le: [usize; 9],
    calibrated_pit_le: [usize; 9],
    calibrated_count: usize,
}

checked_serde!(ScalingStats, ScalingStats::check);

fn bad_stats(detail: &'static str) -> UncertaintyError {
    CoreError::Numerical {
        operation: "variance-scaling statistics",
        detail,
    }
    .into()
}

impl ScalingStats {
    fn push(&mut self, r: f64, sigma: f64, lambda: f64) {
        let iv = 1.0 / (sigma * sigma);
        self.weight = lambda * self.weight + 1.0;
        self.s0 = lambda * self.s0 + iv;
        self.s1 = lambda * self.s1 + r * iv;
        self.s2 = lambda * self.s2 + r * r * iv;
        self.count = self.count.saturating_add(1);
    }

    /// The invariants: finite sums, non-negative weights, consistent counters, and a
    /// finite shift and scale.
    fn check(&mut self) -> Result<()> {
        if !(self.weight.is_finite() && self.s0.is_finite() && self.s1.is_finite() && self.s2.is_finite()) {
            return Err(bad_stats(
                "a sum is not finite (an event's standardized residual overflows)",
            ));
        }
        if self.weight < 0.0 || self.s0 < 0.0 || self.s2 < 0.0 {
            return Err(bad_stats("a weight or a sum of squares is negative"));
        }
        let counters_ok =
            |le: &[usize; 9], n: usize| le.iter().all(|&c| c <= n) && le.windows(2).all(|w| w[0] <= w[1]);
        if !counters_ok(&self.raw_pit_le, self.count)
            || !counters_ok(&self.calibrated_pit_le, self.calibrated_count)
            || self.calibrated_count > self.count
        {
            return Err(bad_stats("PIT counters inconsistent with the counts"));
        }
        self.try_shift_scale().map(|_| ())
    }

    fn try_shift_scale(&self) -> Result<(f64, f64)> {
        if self.s0 <= 0.0 || self.weight <= 0.0 {
            return Ok((0.0, 1.0));
        }
        let b = self.s1 / self.s0;
        let v = (self.s2 - 2.0 * b * self.s1 + b * b * self.s0) / self.weight;
        if !(b.is_finite() && v.is_finite()) {
            return Err(bad_stats("the shift or the scale is not finite"));
        }
        let s = v.max(0.0).sqrt();
        Ok((b, if s > 0.0 && s.is_finite() { s } else { 1.0 }))
    }

    /// The location shift `b` and scale `s` (1 if unidentified); always finite.
    pub fn shift_scale(&self) -> (f64, f64) {
        self.try_shift_scale().unwrap_or((0.0, 1.0))
    }

    /// Σ w (effective sample size with forgetting).
    pub fn weight(&self) -> f64 {
        self.weight
    }

    /// Raw observation count (no forgetting).
    pub fn count(&self) -> usize {
        self.count
    }

    /// (Σ w/σ², Σ w r/σ², Σ w r²/σ²).
    pub fn sums(&self) -> (f64, f64, f64) {
        (self.s0, self.s1, self.s2)
    }

    /// Count of raw PIT ≤ each decile level.
    pub fn raw_pit_le(&self) -> &[usize; 9] {
        &self.raw_pit_le
    }

    /// Count of calibrated (prequential) PIT ≤ each decile level.
    pub fn calibrated_pit_le(&self) -> &[usize; 9] {
        &self.calibrated_pit_le
    }

    /// Number of prequential calibrated PITs recorded.
    pub fn calibrated_count(&self) -> usize {
        self.calibrated_count
    }

    fn record_pit(le: &mut [usize; 9], u: f64) {
        for (c, &p) in le.iter_mut().zip(&DECILE_LEVELS) {
            if u <= p {
                *c = c.saturating_add(1);
            }
        }
    }

    fn error_of(le: &[usize; 9], n: usize) -> Option<f64> {
        (n > 0).then(|| {
            le.iter()
                .zip(&DECILE_LEVELS)
                .map(|(&c, &p)| (c as f64 / n as f64 - p).abs())
                .sum::<f64>()
                / 9.0
        })
    }

    /// Decile calibration error of the raw forecasts seen.
    pub fn raw_error(&self) -> Option<f64> {
        Self::error_of(&self.raw_pit_le, self.count)
    }

    /// Decile calibration error of the calibrated forecasts, each calibrated before its
    /// outcome was learned (prequential).
    pub fn calibrated_error(&self) -> Option<f64> {
        Self::error_of(&self.calibrated_pit_le, self.calibrated_count)
    }
}

/// The calibration of one regime (or of all regimes pooled). Validated on load: the
/// isotonic map is non-decreasing with values in [0, 1].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct RegimeCalibration {
    /// Variance-scaling statistics.
    pub stats: ScalingStats,
    /// Isotonic map from variance-scaled PIT to its empirical CDF (batch fits only).
    pub isotonic: Option<IsotonicModel>,
}

checked_serde!(RegimeCalibration, RegimeCalibration::check);

impl RegimeCalibration {
    fn check(&mut self) -> Result<()> {
        self.stats.check()?;
        if let Some(m) = &self.isotonic {
            let y = m.y();
            let ok = y.windows(2).all(|w| w[0] <= w[1]) && y.iter().all(|v| (0.0..=1.0).contains(v));
            if !ok {
                return Err(CoreError::OutOfRange {
                    field: "isotonic PIT map",
                    value: y[0],
                    expected: "non-decreasing values in [0, 1]",
                }
                .into());
            }
        }
        Ok(())
    }
}

/// Which calibration was applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CalibrationSource {
    /// The regime's own calibrator.
    Regime(RegimeLabel),
    /// The pooled calibrator, because the regime had fewer than `min_samples` observations.
    PooledFallback {
        /// The regime asked for.
        regime: RegimeLabel,
        /// Its observation count.
        samples: usize,
    },
    /// No calibration yet (pooled count below `min_samples`): the forecast passes through.
    Identity,
}

/// A calibrated forecast and where its calibration came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[must_use]
pub struct Calibrated {
    /// The calibrated forecast.
    pub forecast: Forecast,
    /// Which calibration was applied.
    pub source: CalibrationSource,
}

/// Per-regime variance-scaling (+ optional isotonic) calibrator with pooled fallback.
///
/// Validated on load: settings valid, every calibration valid, each regime's count at most
/// the pooled count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct RegimeCalibrator {
    config: CalibratorConfig,
    pooled: RegimeCalibration,
    regimes: BTreeMap<RegimeLabel, RegimeCalibration>,
    /// How the last batch fit chose its map (`None` for a calibrator built by `new`, which
    /// learns online and applies variance scaling, and for a `Fixed` fit).
    #[serde(default)]
    fit_report: Option<CalibratorFitReport>,
}

checked_serde!(RegimeCalibrator, RegimeCalibrator::check);

impl RegimeCalibrator {
    fn check(&mut self) -> Result<()> {
        self.config.validate()?;
        self.pooled.check()?;
        for rc in self.regimes.values_mut() {
            rc.check()?;
            if rc.stats.count > self.pooled.stats.count {
                return Err(bad_stats("a regime has more observations than the pool"));
            }
        }
        if let Some(r) = &mut self.fit_report {
            r.check()?;
        }
        Ok(())
    }

    /// An empty calibrator (passes forecasts through until it has learned enough).
    pub fn new(config: CalibratorConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            config,
            pooled: RegimeCalibration::default(),
            regimes: BTreeMap::new(),
            fit_report: None,
        })
    }

    /// How the last batch fit chose its calibration by held-out error (`None` for a
    /// calibrator built by [`new`](Self::new) that learns online, or fitted with
    /// [`CalibratorSelection::Fixed`]).
    pub fn fit_report(&self) -> Option<&CalibratorFitReport> {
        self.fit_report.as_ref()
    }

    /// The calibration map applied: the held-out choice of the last batch fit; otherwise
    /// (a calibrator built by [`new`](Self::new), or fitted with
    /// [`CalibratorSelection::Fixed`]) variance scaling, plus isotonic when its maps were fitted.
    pub fn method(&self) -> CalibrationMethod {
        match &self.fit_report {
            Some(r) => r.method,
            None if self.pooled.isotonic.is_some() => CalibrationMethod::Isotonic,
            None => CalibrationMethod::Scaling,
        }
    }

    /// The settings.
    pub fn config(&self) -> &CalibratorConfig {
        &self.config
    }

    /// The pooled calibration.
    pub fn pooled(&self) -> &RegimeCalibration {
        &self.pooled
    }

    /// The calibration of one regime, if it has been seen.
    pub fn regime(&self, label: &RegimeLabel) -> Option<&RegimeCalibration> {
        self.regimes.get(label)
    }

    /// Labels seen so far.
    pub fn regimes(&self) -> impl Iterator<Item = &RegimeLabel> {
        self.regimes.keys()
    }

    /// Fits from a batch of events (replacing any state): the variance-scaling statistics per
    /// regime and pooled, and, if configured, the isotonic PIT maps.
    ///
    /// Errors: empty input, an invalid forecast or outcome, an event whose standardized
    /// residual overflows (see [`RegimeCalibrator::learn_event`]).
    ///
    /// Under the default [`CalibratorSelection::HeldOut`] the map is chosen by held-out error
    /// (see there) and [`fit_report`](Self::fit_report) says which and why; under
    /// [`CalibratorSelection::Fixed`] it is variance scaling, plus isotonic when configured.
    pub fn fit(config: CalibratorConfig, events: &[CalibrationEvent]) -> Result<Self> {
        check_len("events", events.len(), 1)?;
        config.validate()?;
        match config.selection {
            CalibratorSelection::Fixed => {
                let method = if config.isotonic {
                    CalibrationMethod::Isotonic
                } else {
                    CalibrationMethod::Scaling
                };
                Self::fit_method(config, events, method)
            }
            CalibratorSelection::HeldOut { validation_fraction } => {
                Self::fit_held_out(config, events, validation_fraction)
            }
        }
    }

    fn fit_held_out(config: CalibratorConfig, events: &[CalibrationEvent], fraction: f64) -> Result<Self> {
        let n = events.len();
        let n_val = ((fraction * n as f64).round() as usize).min(n);
        let n_train = n - n_val;
        if n_train < config.min_samples || n_val < MIN_VALIDATION_EVENTS {
            // Validate every event all the same (a bad event is an error, not a silent skip).
            let mut cal = Self::fit_method(config, events, CalibrationMethod::Identity)?;
            cal.fit_report = Some(CalibratorFitReport {
                method: CalibrationMethod::Identity,
                training_events: n_train,
                validation_events: n_val,
                identity_error: None,
                scaling_error: None,
                isotonic_error: None,
                status: Status::ReducedAccuracy {
                    reason: format!(
                        "{n} events: a held-out choice needs at least min_samples = {} training and \
                         {MIN_VALIDATION_EVENTS} validation events (validation_fraction {fraction}); \
                         the forecasts are left alone",
                        cal.config.min_samples
                    ),
                },
            });
            return Ok(cal);
        }
        let (train, val) = events.split_at(n_train);
        let candidates = [
            CalibrationMethod::Identity,
            CalibrationMethod::Scaling,
            CalibrationMethod::Isotonic,
        ];
        let mut errors: [Option<f64>; 3] = [None; 3];
        let mut skipped = Vec::new();
        for (slot, &m) in errors.iter_mut().zip(&candidates) {
            let fitted = Self::fit_method(config.clone(), train, m)?;
            match fitted.held_out_error(val) {
                Ok(e) => *slot = Some(e),
                Err(e) => skipped.push(format!("{m:?} could not be evaluated ({e})")),
            }
        }
        // The lowest error; ties within 1e-12 go to the simpler (earlier) method.
        let mut best = 0;
        for i in 1..candidates.len() {
            if let (Some(e), Some(b)) = (errors[i], errors[best]) {
                if e < b - 1e-12 {
                    best = i;
                }
            } else if errors[best].is_none() && errors[i].is_some() {
                best = i;
            }
        }
        let method = if errors[best].is_some() {
            candidates[best]
        } else {
            CalibrationMethod::Identity
        };
        let mut cal = Self::fit_method(config, events, method)?;
        cal.fit_report = Some(CalibratorFitReport {
            method,
            training_events: n_train,
            validation_events: n_val,
            identity_error: errors[0],
            scaling_error: errors[1],
            isotonic_error: errors[2],
            status: if skipped.is_empty() {
                Status::Converged
            } else {
                Status::ReducedAccuracy {
                    reason: skipped.join("; "),
                }
            },
        });
        Ok(cal)
    }

    /// Decile calibration error of this calibrator's PIT values on `events`.
    fn held_out_error(&self, events: &[CalibrationEvent]) -> Result<f64> {
        let u: Vec<f64> = events.iter().map(|e| self.pit(e)).collect::<Result<_>>()?;
        quantile_calibration_error(&u, &DECILE_LEVELS)
    }

    /// The calibrated PIT `F(y)` of an event under this calibrator (without building the
    /// calibrated forecast).
    fn pit(&self, e: &CalibrationEvent) -> Result<f64> {
        check_finite("outcome", &[e.outcome])?;
        check_forecast(&e.forecast)?;
        let f = &e.forecast;
        let Some((cal, _)) = self.level(&e.regime) else {
            return Ok(normal::cdf((e.outcome - f.mean) / f.sigma).clamp(0.0, 1.0));
        };
        let method = self.method();
        let (b, s) = match method {
            CalibrationMethod::Identity => (0.0, 1.0),
            _ => cal.stats.shift_scale(),
        };
        let z = (e.outcome - f.mean - b) / (s * f.sigma);
        if z.is_nan() {
            return Err(CoreError::Numerical {
                operation: "calibrated PIT",
                detail: "the standardized outcome is not a number",
            }
            .into());
        }
        let u = normal::cdf(z);
        Ok(match (&cal.isotonic, method) {
            (Some(m), CalibrationMethod::Isotonic) => m.predict(u)?.clamp(0.0, 1.0),
            _ => u.clamp(0.0, 1.0),
        })
    }

    /// Fits the statistics on `events` and, for [`CalibrationMethod::Isotonic`], the
    /// isotonic PIT maps; an identity fit carries a provisional report naming it.
    fn fit_method(
        config: CalibratorConfig,
        events: &[CalibrationEvent],
        method: CalibrationMethod,
    ) -> Result<Self> {
        check_len("events", events.len(), 1)?;
        let mut cal = Self::new(config)?;
        if method == CalibrationMethod::Identity {
            cal.fit_report = Some(CalibratorFitReport {
                method,
                training_events: events.len(),
                validation_events: 0,
                identity_error: None,
                scaling_error: None,
                isotonic_error: None,
                status: Status::Converged,
            });
        }
        for e in events {
            cal.learn_event(e)?;
        }
        if method == CalibrationMethod::Isotonic {
            let iso = IsotonicRegression::new(IsotonicConfig {
                y_min: Some(0.0),
                y_max: Some(1.0),
                ..Default::default()
            })?;
            let mut pooled_u = Vec::with_capacity(events.len());
            let mut per: BTreeMap<&RegimeLabel, Vec<f64>> = BTreeMap::new();
            for e in events {
                let (b, s) = cal.pooled.stats.shift_scale();
                pooled_u.push(scaled_pit(e, b, s));
                if let Some(rc) = cal.regimes.get(&e.regime) {
                    let (b, s) = rc.stats.shift_scale();
                    per.entry(&e.regime).or_default().push(scaled_pit(e, b, s));
                }
            }
            cal.pooled.isotonic = Some(fit_pit_map(&iso, &mut pooled_u)?);
            let fitted: Vec<(RegimeLabel, IsotonicModel)> = per
                .into_iter()
                .filter(|(_, u)| u.len() >= 2)
                .map(|(l, mut u)| fit_pit_map(&iso, &mut u).map(|m| (l.clone(), m)))
                .collect::<Result<_>>()?;
            for (l, m) in fitted {
                if let Some(rc) = cal.regimes.get_mut(&l) {
                    rc.isotonic = Some(m);
                }
            }
        }
        Ok(cal)
    }

    /// Learns one event, all or nothing: the forecast and outcome are checked, the updated
    /// statistics are computed aside, and they replace the current ones only if they stay
    /// finite with a finite shift and scale.
    ///
    /// Errors: an invalid forecast ([`check_forecast`]), a non-finite outcome or residual,
    /// an event whose standardized residual `r/σ` or precision `1/σ²` overflows the
    /// statistics (e.g. `σ = 5e-324`, or an outcome of `f64::MAX`). A refused event
    /// changes nothing.
    pub fn learn_event(&mut self, e: &CalibrationEvent) -> Result<()> {
        check_finite("outcome", &[e.outcome])?;
        let f = &e.forecast;
        check_forecast(f)?;
        let r = e.outcome - f.mean;
        if !r.is_finite() {
            return Err(CoreError::OutOfRange {
                field: "outcome",
                value: e.outcome,
                expected: "outcome − mean finite",
            }
            .into());
        }
        // Prequential record: calibrate with the state before this outcome.
        let pre = self.calibrate_detailed(f, &e.regime)?;
        let u_cal = match pre.source {
            CalibrationSource::Identity => None,
            _ => Some(normal::cdf((e.outcome - pre.forecast.mean) / pre.forecast.sigma)),
        };
        let u_raw = normal::cdf(r / f.sigma);
        let lambda = self.config.forgetting;
        let mut pooled = self.pooled.stats.clone();
        let mut reg = self
            .regimes
            .get(&e.regime)
            .map(|rc| rc.stats.clone())
            .unwrap_or_default();
        for t in [&mut pooled, &mut reg] {
            t.push(r, f.sigma, lambda);
            ScalingStats::record_pit(&mut t.raw_pit_le, u_raw);
            if let Some(u) = u_cal {
                ScalingStats::record_pit(&mut t.calibrated_pit_le, u);
                t.calibrated_count = t.calibrated_count.saturating_add(1);
            }
        }
        pooled.check()?;
        reg.check()?;
        self.pooled.stats = pooled;
        self.regimes.entry(e.regime.clone()).or_default().stats = reg;
        Ok(())
    }

    /// The calibration level for a regime: its own when it has `min_samples` observations,
    /// else the pooled one when that has, else none (identity).
    fn level(&self, regime: &RegimeLabel) -> Option<(&RegimeCalibration, CalibrationSource)> {
        match self.regimes.get(regime) {
            Some(rc) if rc.stats.count >= self.config.min_samples => {
                Some((rc, CalibrationSource::Regime(regime.clone())))
            }
            other => {
                let samples = other.map_or(0, |rc| rc.stats.count);
                (self.pooled.stats.count >= self.config.min_samples).then(|| {
                    (
                        &self.pooled,
                        CalibrationSource::PooledFallback {
                            regime: regime.clone(),
                            samples,
                        },
                    )
                })
            }
        }
    }

    /// Calibrates a forecast for a regime, saying which calibration was used (and applying
    /// the map of [`method`](Self::method)).
    ///
    /// Errors: an invalid forecast ([`check_forecast`]); a calibrated mean, sigma or
    /// quantile outside the finite range (`CoreError::Numerical`).
    pub fn calibrate_detailed(&self, forecast: &Forecast, regime: &RegimeLabel) -> Result<Calibrated> {
        check_forecast(forecast)?;
        let Some((cal, source)) = self.level(regime) else {
            return Ok(Calibrated {
                forecast: forecast.clone(),
                source: CalibrationSource::Identity,
            });
        };
        let method = self.method();
        let (b, s) = match method {
            CalibrationMethod::Identity => (0.0, 1.0),
            _ => cal.stats.shift_scale(),
        };
        let isotonic = match method {
            CalibrationMethod::Isotonic => cal.isotonic.as_ref(),
            _ => None,
        };
        let mut out = forecast.clone();
        out.mean = finite_or_numerical(forecast.mean + b, "calibrated mean")?;
        out.sigma = finite_or_numerical(forecast.sigma * s, "calibrated sigma")?;
        if out.sigma <= 0.0 {
            return Err(CoreError::Numerical {
                operation: "calibrated sigma",
                detail: "underflows to zero",
            }
            .into());
        }
        let qs: Vec<Quantile> = self
            .config
            .quantile_levels
            .iter()
            .map(|&tau| {
                let raw_level = match isotonic {
                    Some(m) => m.inverse(tau)?.clamp(1e-12, 1.0 - 1e-12),
                    None => tau,
                };
                Ok(Quantile {
                    level: tau,
                    value: finite_or_numerical(
                        out.mean + out.sigma * normal::ppf(raw_level),
                        "calibrated quantile",
                    )?,
                })
            })
            .collect::<Result<_>>()?;
        // Monotone by construction (the isotonic inverse is non-decreasing).
        out.quantiles = qs;
        out.calibration = Some(CalibrationSummary {
            ece: match method {
                CalibrationMethod::Identity => cal.stats.raw_error(),
                _ => cal.stats.calibrated_error().or(cal.stats.raw_error()),
            }
            .unwrap_or(0.0),
            coverage: None,
            samples: cal.stats.count,
            regime: match &source {
                CalibrationSource::Regime(l) => Some(l.clone()),
                _ => None,
            },
        });
        Ok(Calibrated {
            forecast: out,
            source,
        })
    }
}

/// The variance-scaled PIT of an event (0 or 1 when the scaled sigma underflows).
fn scaled_pit(e: &CalibrationEvent, b: f64, s: f64) -> f64 {
    let z = (e.outcome - e.forecast.mean - b) / (s * e.forecast.sigma);
    if z.is_nan() {
        0.5
    } else {
        normal::cdf(z)
    }
}

/// Fits the isotonic map u ↦ F̂(u) (empirical CDF of the PIT values).
fn fit_pit_map(iso: &IsotonicRegression, u: &mut [f64]) -> Result<IsotonicModel> {
    u.sort_by(f64::total_cmp);
    let n = u.len() as f64;
    let mut x = Vec::with_capacity(u.len() + 2);
    let mut y = Vec::with_capacity(u.len() + 2);
    x.push(0.0);
    y.push(0.0);
    for (i, &v) in u.iter().enumerate() {
        x.push(v);
        y.push((i + 1) as f64 / n);
    }
    x.push(1.0);
    y.push(1.0);
    iso.fit(&x, &y, None)
}

impl Calibrator for RegimeCalibrator {
    fn calibrate(&self, forecast: &Forecast, regime: &RegimeState) -> RoleResult<Forecast> {
        self.calibrate_detailed(forecast, &regime.label)
            .map(|c| c.forecast)
            .map_err(|e| RoleError::implementation(Role::Calibrator, e))
    }
}

impl OnlineLearner<CalibrationEvent> for RegimeCalibrator {
    fn learn(&mut self, event: &CalibrationEvent) -> RoleResult<()> {
        self.learn_event(event)
            .map_err(|e| RoleError::implementation(Role::Calibrator, e))
    }
}

/// How a [`CalibratedBlender`] combines forecasters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum BlendMethod {
    /// Precision weights `w_k ∝ 1/σ_k²` of each forecast; blended sigma `(Σ 1/σ_k²)^{-1/2}`
    /// (assumes independent errors; the calibrator then corrects the scale).
    #[default]
    InverseVariance,
    /// Simplex weights minimizing out-of-sample squared error, per regime with pooled
    /// fallback; blended sigma is the precision-weighted sigma `(Σ w_k σ_k²)^{1/2}`.
    Stacking,
}

/// Settings of a [`CalibratedBlender`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BlenderConfig {
    /// How the forecasters are combined (default inverse variance).
    pub method: BlendMethod,
    /// The calibrator applied to the blend.
    pub calibrator: CalibratorConfig,
}

impl BlenderConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        self.calibrator.validate()
    }
}

/// Several forecasts of the same outcome with its regime and realization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlendEvent {
    /// One forecast per forecaster, always in the same order.
    pub forecasts: Vec<Forecast>,
    /// The regime.
    pub regime: RegimeLabel,
    /// The realized outcome.
    pub outcome: f64,
}

/// The most forecasters a [`BlendMethod::Stacking`] blender combines (its projected
/// gradient costs O(k²) per iteration); inverse-variance blends take up to `MAX_DIM`.
pub const MAX_STACKED: usize = 64;

/// Blends several forecasters and calibrates the blend per regime.
///
/// Validated on load: settings valid, 1..=`MAX_DIM` forecasters, every weight vector of that
/// length on the simplex, the calibrator valid with the blender's calibrator settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct CalibratedBlender {
    config: BlenderConfig,
    n_forecasters: usize,
    pooled_weights: Vec<f64>,
    regime_weights: BTreeMap<RegimeLabel, (usize, Vec<f64>)>,
    calibrator: RegimeCalibrator,
}

checked_serde!(CalibratedBlender, CalibratedBlender::check);

fn check_simplex(field: &'static str, w: &[f64], k: usize) -> Result<()> {
    check_shape(field, &[k], &[w.len()])?;
    check_finite(field, w)?;
    let sum: f64 = w.iter().sum();
    if w.iter().any(|&v| v < 0.0) || (sum - 1.0).abs() > 1e-9 {
        return Err(CoreError::OutOfRange {
            field,
            value: sum,
            expected: "weights >= 0 summing to 1",
        }
        .into());
    }
    Ok(())
}

impl CalibratedBlender {
    fn check(&mut self) -> Result<()> {
        self.config.validate()?;
        check_len("n_forecasters", self.n_forecasters, 1)?;
        let max = match self.config.method {
            BlendMethod::InverseVariance => MAX_DIM,
            BlendMethod::Stacking => MAX_STACKED,
        };
        check_size("n_forecasters", self.n_forecasters, max)?;
        check_simplex("pooled weights", &self.pooled_weights, self.n_forecasters)?;
        for (_, w) in self.regime_weights.values() {
            check_simplex("regime weights", w, self.n_forecasters)?;
        }
        if self.calibrator.config != self.config.calibrator {
            return Err(CoreError::OutOfRange {
                field: "calibrator",
                value: f64::NAN,
                expected: "the blender's calibrator settings",
            }
            .into());
        }
        self.calibrator.check()
    }

    /// Fits blend weights (for stacking) and the calibrator on out-of-sample events.
    ///
    /// Errors: empty input, events with differing numbers of forecasts, more than
    /// `MAX_DIM` forecasters ([`MAX_STACKED`] for stacking), invalid forecasts, non-finite
    /// outcomes, stacking weights that cannot be computed in floating point, a blend or
    /// calibration event refused by [`RegimeCalibrator::learn_event`].
    pub fn fit(config: BlenderConfig, events: &[BlendEvent]) -> Result<Self> {
        config.validate()?;
        check_len("events", events.len(), 1)?;
        let k = events[0].forecasts.len();
        check_len("forecasts", k, 1)?;
        let max = match config.method {
            BlendMethod::InverseVariance => MAX_DIM,
            BlendMethod::Stacking => MAX_STACKED,
        };
        check_size("forecasts", k, max)?;
        for e in events {
            prudentia_core::validate::check_shape("forecasts", &[k], &[e.forecasts.len()])?;
            check_finite("outcome", &[e.outcome])?;
            for f in &e.forecasts {
                check_forecast(f)?;
            }
        }
        let mut blender = Self {
            n_forecasters: k,
            pooled_weights: vec![1.0 / k as f64; k],
            regime_weights: BTreeMap::new(),
            calibrator: RegimeCalibrator::new(config.calibrator.clone())?,
            config,
        };
        if blender.config.method == BlendMethod::Stacking {
            let all: Vec<&BlendEvent> = events.iter().collect();
            blender.pooled_weights = stacking_weights(&all, k)?;
            let mut per: BTreeMap<&RegimeLabel, Vec<&BlendEvent>> = BTreeMap::new();
            for e in events {
                per.entry(&e.regime).or_default().push(e);
            }
            for (l, evs) in per {
                let w = stacking_weights(&evs, k)?;
                blender.regime_weights.insert(l.clone(), (evs.len(), w));
            }
        }
        let cal_events: Vec<CalibrationEvent> = events
            .iter()
            .map(|e| {
                blender.blend(&e.forecasts, &e.regime).map(|f| CalibrationEvent {
                    forecast: f,
                    regime: e.regime.clone(),
                    outcome: e.outcome,
                })
            })
            .collect::<Result<_>>()?;
        blender.calibrator = RegimeCalibrator::fit(blender.config.calibrator.clone(), &cal_events)?;
        Ok(blender)
    }

    /// The stacking weights used for a regime (pooled when it has too few samples).
    pub fn weights(&self, regime: &RegimeLabel) -> &[f64] {
        match self.regime_weights.get(regime) {
            Some((n, w)) if *n >= self.config.calibrator.min_samples => w,
            _ => &self.pooled_weights,
        }
    }

    /// The calibrator applied to the blend.
    pub fn calibrator(&self) -> &RegimeCalibrator {
        &self.calibrator
    }

    /// The uncalibrated blend of `forecasts` (horizons must agree; the first one's is kept).
    ///
    /// Errors: a different number of forecasts, invalid forecasts, differing horizons, a
    /// blend outside the finite range.
    pub fn blend(&self, forecasts: &[Forecast], regime: &RegimeLabel) -> Result<Forecast> {
        prudentia_core::validate::check_shape("forecasts", &[self.n_forecasters], &[forecasts.len()])?;
        for f in forecasts {
            check_forecast(f)?;
        }
        let Some(h) = forecasts.first().map(|f| f.horizon) else {
            return Err(CoreError::EmptyInput {
                field: "forecasts",
                len: 0,
                min: 1,
            }
            .into());
        };
        if let Some(f) = forecasts.iter().find(|f| f.horizon != h) {
            return Err(CoreError::OutOfRange {
                field: "horizon",
                value: f.horizon.days(),
                expected: "equal horizons across forecasters",
            }
            .into());
        }
        let (mean, sigma) = match self.config.method {
            BlendMethod::InverseVariance => {
                let prec: f64 = forecasts.iter().map(|f| 1.0 / (f.sigma * f.sigma)).sum();
                let m = forecasts
                    .iter()
                    .map(|f| f.mean / (f.sigma * f.sigma))
                    .sum::<f64>()
                    / prec;
                (m, prec.sqrt().recip())
            }
            BlendMethod::Stacking => {
                let w = self.weights(regime);
                let m = forecasts.iter().zip(w).map(|(f, w)| w * f.mean).sum();
                let v: f64 = forecasts.iter().zip(w).map(|(f, w)| w * f.sigma * f.sigma).sum();
                (m, v.sqrt())
            }
        };
        Ok(Forecast::new(mean, sigma, h)?)
    }

    /// Blends and calibrates.
    pub fn blend_and_calibrate(&self, forecasts: &[Forecast], regime: &RegimeLabel) -> Result<Calibrated> {
        let b = self.blend(forecasts, regime)?;
        self.calibrator.calibrate_detailed(&b, regime)
    }
}

impl Calibrator for CalibratedBlender {
    /// Calibrates a single (already blended) forecast with the blend's calibrator.
    fn calibrate(&self, forecast: &Forecast, regime: &RegimeState) -> RoleResult<Forecast> {
        self.calibrator
            .calibrate_detailed(forecast, &regime.label)
            .map(|c| c.forecast)
            .map_err(|e| RoleError::implementation(Role::Calibrator, e))
    }
}

impl OnlineLearner<BlendEvent> for CalibratedBlender {
    /// Updates the calibrator's online statistics with the blend of the event's forecasts
    /// (stacking weights are batch-fitted and stay fixed).
    fn learn(&mut self, event: &BlendEvent) -> RoleResult<()> {
        let f = self
            .blend(&event.forecasts, &event.regime)
            .map_err(|e| RoleError::implementation(Role::Calibrator, e))?;
        self.calibrator.learn(&CalibrationEvent {
            forecast: f,
            regime: event.regime.clone(),
            outcome: event.outcome,
        })
    }
}

/// Least squares on the probability simplex by projected gradient (k is small).
///
/// Errors: the Gram matrix or the weights leave the finite range (huge forecast means).
fn stacking_weights(events: &[&BlendEvent], k: usize) -> Result<Vec<f64>> {
    let n = events.len() as f64;
    // Gram matrix G = M'M/n and c = M'y/n.
    let mut g = vec![0.0; k * k];
    let mut c = vec![0.0; k];
    for e in events {
        for i in 0..k {
            let mi = e.forecasts[i].mean;
            c[i] += mi * e.outcome / n;
            for j in 0..k {
                g[i * k + j] += mi * e.forecasts[j].mean / n;
            }
        }
    }
    let lip = (0..k).map(|i| g[i * k + i]).sum::<f64>().max(1e-300);
    let mut w = vec![1.0 / k as f64; k];
    let mut grad = vec![0.0; k];
    for _ in 0..20_000 {
        for i in 0..k {
            grad[i] = (0..k).map(|j| g[i * k + j] * w[j]).sum::<f64>() - c[i];
        }
        let mut v: Vec<f64> = (0..k).map(|i| w[i] - grad[i] / lip).collect();
        project_simplex(&mut v);
        let delta = v.iter().zip(&w).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        w = v;
        if delta < 1e-14 || delta.is_nan() {
            break;
        }
    }
    if w.iter().all(|v| v.is_finite()) && g.iter().chain(&c).all(|v| v.is_finite()) {
        Ok(w)
    } else {
        Err(CoreError::Numerical {
            operation: "stacking weights",
            detail: "the Gram matrix of the forecast means overflows",
        }
        .into())
    }
}

/// Euclidean projection onto { w ≥ 0, Σ w = 1 } (Duchi et al. 2008).
pub(crate) fn project_simplex(v: &mut [f64]) {
    let mut u = v.to_vec();
    u.sort_by(|a, b| b.total_cmp(a));
    let mut css = 0.0;
    let mut theta = 0.0;
    for (i, &ui) in u.iter().enumerate() {
        css += ui;
        let t = (css - 1.0) / (i + 1) as f64;
        if ui - t > 0.0 {
            theta = t;
        }
    }
    for x in v.iter_mut() {
        *x = (*x - theta).max(0.0);
    }
}

/// Checks that a target coverage is a probability (helper for conformal and intervals).
pub(crate) fn check_alpha(alpha: f64) -> Result<()> {
    check_probability("alpha", alpha)?;
    if alpha <= 0.0 || alpha >= 1.0 {
        return Err(UncertaintyError::Core(CoreError::OutOfRange {
            field: "alpha",
            value: alpha,
            expected: "in (0, 1)",
        }));
    }
    Ok(())
}

/// Decile calibration error of Normal forecasts against outcomes (see
/// [`quantile_calibration_error`]).
pub fn forecast_calibration_error(forecasts: &[Forecast], outcomes: &[f64]) -> Result<f64> {
    prudentia_core::validate::check_shape("outcomes", &[forecasts.len()], &[outcomes.len()])?;
    check_finite("outcomes", outcomes)?;
    let u: Vec<f64> = forecasts
        .iter()
        .zip(outcomes)
        .map(|(f, &y)| normal::cdf((y - f.mean) / f.sigma))
        .collect();
    quantile_calibration_error(&u, &DECILE_LEVELS)
}
