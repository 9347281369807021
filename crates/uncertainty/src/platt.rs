//! Platt scaling (Platt 1999): a logistic map from a raw score to a probability,
//!
//! ```text
//! P(y = 1 | s) = 1 / (1 + exp(−(a·s + b)))
//! ```
//!
//! fitted by unpenalized maximum likelihood through [`prudentia_learn::logistic`] (Newton's
//! method / IRLS on the single feature `s`), so separable labels are reported as
//! [`Status::Separation`] rather than as a converged fit with a huge slope. With
//! `smoothed_targets = false` (default) the fit is the same problem as scikit-learn's
//! `LogisticRegression(penalty=None)` on `s`; with `true` the 0/1 labels are replaced by
//! Platt's targets `t₊ = (N₊ + 1)/(N₊ + 2)` and `t₋ = 1/(N₋ + 2)`, fitted exactly as each
//! score entered twice, once as a positive with weight `t` and once as a negative with weight
//! `1 − t` (the same log-likelihood); smoothed targets are never separable.

use prudentia_core::validate::{check_finite, check_len, check_shape, check_size, MAX_WINDOW};
use prudentia_core::CoreError;
use serde::{Deserialize, Serialize};

use ndarray::{Array1, Array2};
use prudentia_core::Status;
use prudentia_learn::logistic::{BinaryData, LogisticRegressionConfig, MAX_ITERATIONS};

use crate::error::{Result, UncertaintyError};

/// Settings of a Platt fit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlattConfig {
    /// Use Platt's smoothed targets instead of 0/1 labels (default `false`).
    pub smoothed_targets: bool,
    /// Maximum Newton iterations (default 100, 1..=1,048,576; the shared logistic regression
    /// makes at most 10,000).
    pub max_iter: usize,
    /// Relative Newton-step tolerance of the shared logistic regression (default 1e-12, > 0;
    /// values above 0.01 are used as 0.01).
    pub tol: f64,
}

impl Default for PlattConfig {
    fn default() -> Self {
        Self {
            smoothed_targets: false,
            max_iter: 100,
            tol: 1e-12,
        }
    }
}

impl PlattConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        check_size("max_iter", self.max_iter, MAX_ITER)?;
        if self.max_iter == 0 {
            return Err(CoreError::OutOfRange {
                field: "max_iter",
                value: 0.0,
                expected: ">= 1",
            }
            .into());
        }
        prudentia_core::validate::check_positive("tol", self.tol)?;
        Ok(())
    }
}

/// The largest iteration limit of the Newton fits in this crate (2²⁰).
pub const MAX_ITER: usize = 1 << 20;

/// A fitted Platt map (fields private, validated on load: finite `a` and `b`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[must_use]
pub struct PlattScaling {
    a: f64,
    b: f64,
    iterations: usize,
    status: Status,
}

checked_serde!(PlattScaling, PlattScaling::check);

fn sigmoid(t: f64) -> f64 {
    if t >= 0.0 {
        1.0 / (1.0 + (-t).exp())
    } else {
        let e = t.exp();
        e / (1.0 + e)
    }
}

impl PlattScaling {
    fn check(&mut self) -> Result<()> {
        check_finite("platt coefficients", &[self.a, self.b])?;
        Ok(())
    }

    /// A validated map from its slope and intercept.
    ///
    /// Errors: non-finite `a` or `b`.
    pub fn from_coefficients(a: f64, b: f64) -> Result<Self> {
        let mut p = Self {
            a,
            b,
            iterations: 0,
            status: Status::Converged,
        };
        p.check()?;
        Ok(p)
    }

    /// Slope `a` (scikit-learn `coef_[0][0]`).
    pub fn a(&self) -> f64 {
        self.a
    }

    /// Intercept `b` (scikit-learn `intercept_[0]`).
    pub fn b(&self) -> f64 {
        self.b
    }

    /// Newton iterations used.
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// How the fit ended: `Converged`, `Separation` (separable labels: the maximum-likelihood
    /// slope is infinite, `a` is the last iterate's), `IterationLimit`, `ReducedAccuracy` or
    /// `Numerical`, as the shared logistic regression reports it.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// Fits the map on scores and binary labels (`true` = positive).
    ///
    /// Scores whose largest magnitude lies outside `[1e-100, 1e100]` are rescaled
    /// internally (the map is the same); the slope must then be representable.
    ///
    /// Errors: empty input, more than `MAX_WINDOW` scores, length mismatch, non-finite
    /// scores, constant scores, only one class present, a slope outside the finite range.
    pub fn fit(scores: &[f64], labels: &[bool], config: &PlattConfig) -> Result<Self> {
        config.validate()?;
        check_len("scores", scores.len(), 2)?;
        check_size("scores", scores.len(), MAX_WINDOW)?;
        check_shape("labels", &[scores.len()], &[labels.len()])?;
        check_finite("scores", scores)?;
        let smax = scores.iter().fold(0.0f64, |m, s| m.max(s.abs()));
        if smax > 0.0 && !(1e-100..=1e100).contains(&smax) {
            let scaled: Vec<f64> = scores.iter().map(|s| s / smax).collect();
            let mut p = Self::fit(&scaled, labels, config)?;
            p.a /= smax;
            if !p.a.is_finite() {
                return Err(CoreError::Numerical {
                    operation: "Platt scaling",
                    detail: "the slope overflows at this score scale",
                }
                .into());
            }
            return Ok(p);
        }
        if scores.iter().all(|&s| s == scores[0]) {
            return Err(UncertaintyError::ConstantFeature {
                column: 0,
                value: scores[0],
            });
        }
        let n_pos = labels.iter().filter(|&&l| l).count();
        let n_neg = labels.len() - n_pos;
        if n_pos == 0 || n_neg == 0 {
            // the value named is the share of positive labels (0 or 1), not a count
            return Err(CoreError::OutOfRange {
                field: "labels",
                value: n_pos as f64 / labels.len() as f64,
                expected: "a share of positive labels strictly between 0 and 1 (both classes present)",
            }
            .into());
        }
        let logistic = LogisticRegressionConfig {
            intercept: true,
            l2: 0.0,
            max_iterations: config.max_iter.min(MAX_ITERATIONS),
            tolerance: config.tol.min(0.01),
        };
        let fit = if config.smoothed_targets {
            // each score twice: positive with weight t, negative with weight 1 − t
            let t_pos = (n_pos as f64 + 1.0) / (n_pos as f64 + 2.0);
            let t_neg = 1.0 / (n_neg as f64 + 2.0);
            let n = scores.len();
            let x = Array2::from_shape_fn((2 * n, 1), |(i, _)| scores[i % n]);
            let y = Array1::from_shape_fn(2 * n, |i| if i < n { 1.0 } else { 0.0 });
            let w = Array1::from_shape_fn(2 * n, |i| {
                let t = if labels[i % n] { t_pos } else { t_neg };
                if i < n {
                    t
                } else {
                    1.0 - t
                }
            });
            logistic.fit(&BinaryData::new(x.view(), y.view()).weighted(w.view()))?
        } else {
            let x = Array2::from_shape_fn((scores.len(), 1), |(i, _)| scores[i]);
            let y: Array1<f64> = labels.iter().map(|&l| f64::from(u8::from(l))).collect();
            logistic.fit(&BinaryData::new(x.view(), y.view()))?
        };
        let c = fit.coefficients();
        // intercept first, then the slope
        let (b, a) = (c[0], c[1]);
        Ok(Self {
            a,
            b,
            iterations: fit.iterations(),
            status: fit.status().clone(),
        })
    }

    /// Calibrated probability of a score.
    ///
    /// Errors: a non-finite score.
    pub fn predict(&self, score: f64) -> Result<f64> {
        check_finite("score", &[score])?;
        let t = self.a * score + self.b;
        // a·s may overflow to ±inf: the limit is 0 or 1, never NaN.
        Ok(if t.is_nan() { 0.5 } else { sigmoid(t) })
    }
}
