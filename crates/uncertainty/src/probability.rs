//! Per-regime calibration of event probabilities (e.g. `P(return > 0)`) by Platt scaling or
//! isotonic regression, with the pooled calibrator as fallback for regimes with few samples.
//!
//! For a raw score `s` (a probability or any monotone score) and binary outcome `o`, each
//! regime k fits `P(o = 1 | s, k) = g_k(s)` with `g_k` either the logistic map of
//! [`crate::platt`] or the isotonic (PAV) fit of [`crate::isotonic`] clipped to [0, 1]
//! (Zadrozny & Elkan 2002). A regime with fewer than `min_samples` observations, or with only
//! one class, uses the pooled fit, and the result says so.

use std::collections::BTreeMap;

use prudentia_core::validate::{check_finite, check_len, check_shape, check_size, MAX_WINDOW};
use prudentia_core::{CoreError, RegimeLabel};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::isotonic::{IsotonicConfig, IsotonicModel, IsotonicRegression};
use crate::platt::{PlattConfig, PlattScaling};

/// The map fitted per regime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ProbabilityMethod {
    /// Logistic map `1/(1 + exp(−(a s + b)))` (Platt 1999).
    #[default]
    Platt,
    /// Monotone step-linear map by pool-adjacent-violators, clipped to [0, 1].
    Isotonic,
}

/// Settings of a [`RegimeProbabilityCalibrator`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProbabilityConfig {
    /// The map (default Platt).
    pub method: ProbabilityMethod,
    /// Observations a regime needs for its own map (default 100, ≥ 2).
    pub min_samples: usize,
}

impl Default for ProbabilityConfig {
    fn default() -> Self {
        Self {
            method: ProbabilityMethod::Platt,
            min_samples: 100,
        }
    }
}

/// A fitted map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ProbabilityMap {
    /// Platt.
    Platt(PlattScaling),
    /// Isotonic.
    Isotonic(IsotonicModel),
}

impl ProbabilityMap {
    fn fit(method: ProbabilityMethod, s: &[f64], o: &[bool]) -> Result<Self> {
        Ok(match method {
            ProbabilityMethod::Platt => {
                ProbabilityMap::Platt(PlattScaling::fit(s, o, &PlattConfig::default())?)
            }
            ProbabilityMethod::Isotonic => {
                let y: Vec<f64> = o.iter().map(|&b| f64::from(u8::from(b))).collect();
                let cfg = IsotonicConfig {
                    y_min: Some(0.0),
                    y_max: Some(1.0),
                    ..Default::default()
                };
                ProbabilityMap::Isotonic(IsotonicRegression::new(cfg)?.fit(s, &y, None)?)
            }
        })
    }

    fn apply(&self, s: f64) -> Result<f64> {
        match self {
            ProbabilityMap::Platt(p) => p.predict(s),
            ProbabilityMap::Isotonic(m) => m.predict(s),
        }
    }
}

/// Which map produced a probability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProbabilitySource {
    /// The regime's own map.
    Regime(RegimeLabel),
    /// The pooled map.
    Pooled,
}

/// Per-regime Platt or isotonic calibration of event probabilities with pooled fallback.
/// Validated on load: `min_samples >= 2`, every map of the configured method, isotonic
/// maps with values in [0, 1].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct RegimeProbabilityCalibrator {
    config: ProbabilityConfig,
    pooled: ProbabilityMap,
    regimes: BTreeMap<RegimeLabel, ProbabilityMap>,
}

checked_serde!(RegimeProbabilityCalibrator, RegimeProbabilityCalibrator::check);

impl ProbabilityConfig {
    /// Checks the settings (`min_samples >= 2`).
    pub fn validate(&self) -> Result<()> {
        if self.min_samples < 2 {
            return Err(CoreError::OutOfRange {
                field: "min_samples",
                value: self.min_samples as f64,
                expected: ">= 2",
            }
            .into());
        }
        Ok(())
    }
}

impl RegimeProbabilityCalibrator {
    fn check(&mut self) -> Result<()> {
        self.config.validate()?;
        for m in std::iter::once(&self.pooled).chain(self.regimes.values()) {
            match (m, self.config.method) {
                (ProbabilityMap::Platt(_), ProbabilityMethod::Platt) => {}
                (ProbabilityMap::Isotonic(iso), ProbabilityMethod::Isotonic) => {
                    if iso.y().iter().any(|v| !(0.0..=1.0).contains(v)) {
                        return Err(CoreError::OutOfRange {
                            field: "isotonic probability map",
                            value: f64::NAN,
                            expected: "values in [0, 1]",
                        }
                        .into());
                    }
                }
                _ => {
                    return Err(CoreError::OutOfRange {
                        field: "probability map",
                        value: f64::NAN,
                        expected: "the configured method",
                    }
                    .into())
                }
            }
        }
        Ok(())
    }

    /// Fits on scores, outcomes and regime labels.
    ///
    /// Errors: empty input or fewer than 2 samples, length mismatch, non-finite scores,
    /// `min_samples < 2`, pooled outcomes of one class only, constant pooled scores (Platt).
    pub fn fit(
        config: ProbabilityConfig,
        scores: &[f64],
        outcomes: &[bool],
        regimes: &[RegimeLabel],
    ) -> Result<Self> {
        config.validate()?;
        check_len("scores", scores.len(), 2)?;
        check_size("scores", scores.len(), MAX_WINDOW)?;
        check_shape("outcomes", &[scores.len()], &[outcomes.len()])?;
        check_shape("regimes", &[scores.len()], &[regimes.len()])?;
        check_finite("scores", scores)?;
        let pooled = ProbabilityMap::fit(config.method, scores, outcomes)?;
        let mut groups: BTreeMap<&RegimeLabel, (Vec<f64>, Vec<bool>)> = BTreeMap::new();
        for ((&s, &o), r) in scores.iter().zip(outcomes).zip(regimes) {
            let g = groups.entry(r).or_default();
            g.0.push(s);
            g.1.push(o);
        }
        let mut maps = BTreeMap::new();
        for (r, (s, o)) in groups {
            let both = o.iter().any(|&b| b) && o.iter().any(|&b| !b);
            if s.len() >= config.min_samples && both {
                // A regime whose scores are all equal cannot have its own Platt map: pooled.
                if let Ok(m) = ProbabilityMap::fit(config.method, &s, &o) {
                    maps.insert(r.clone(), m);
                }
            }
        }
        Ok(Self {
            config,
            pooled,
            regimes: maps,
        })
    }

    /// The calibrated probability of a score in a regime, and which map gave it.
    ///
    /// Errors: non-finite score.
    pub fn calibrate(&self, score: f64, regime: &RegimeLabel) -> Result<(f64, ProbabilitySource)> {
        check_finite("score", &[score])?;
        match self.regimes.get(regime) {
            Some(m) => Ok((m.apply(score)?, ProbabilitySource::Regime(regime.clone()))),
            None => Ok((self.pooled.apply(score)?, ProbabilitySource::Pooled)),
        }
    }

    /// The settings.
    pub fn config(&self) -> &ProbabilityConfig {
        &self.config
    }
}
