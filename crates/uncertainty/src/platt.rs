//! Platt scaling (Platt 1999): a logistic map from a raw score to a probability,
//!
//! ```text
//! P(y = 1 | s) = 1 / (1 + exp(−(a·s + b)))
//! ```
//!
//! fitted by unpenalized maximum likelihood with Newton's method (iteratively reweighted
//! least squares) and step halving. With `smoothed_targets = false` (default) the fit is the
//! same problem as scikit-learn's `LogisticRegression(penalty=None)` on the single feature
//! `s`; with `true` the 0/1 labels are replaced by Platt's targets
//! `(N₊ + 1)/(N₊ + 2)` and `1/(N₋ + 2)`.

use prudentia_core::validate::{check_finite, check_len, check_shape, check_size, MAX_WINDOW};
use prudentia_core::CoreError;
use serde::{Deserialize, Serialize};

use crate::dense::solve;
use crate::error::{Result, UncertaintyError};

/// Settings of a Platt fit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlattConfig {
    /// Use Platt's smoothed targets instead of 0/1 labels (default `false`).
    pub smoothed_targets: bool,
    /// Maximum Newton iterations (default 100, 1..=1,048,576).
    pub max_iter: usize,
    /// Stop when the max-norm of the mean log-likelihood gradient is below this (default 1e-12, > 0).
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

/// How a Platt fit ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FitStatus {
    /// The gradient fell below tolerance.
    Converged,
    /// Stopped at the iteration limit (e.g. separable labels, where the MLE is infinite).
    MaxIterations,
}

/// The largest iteration limit of the Newton fits in this crate (2²⁰).
pub const MAX_ITER: usize = 1 << 20;

/// A fitted Platt map (fields private, validated on load: finite `a` and `b`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[must_use]
pub struct PlattScaling {
    a: f64,
    b: f64,
    iterations: usize,
    status: FitStatus,
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

/// log(1 + exp(t)) without overflow.
fn softplus(t: f64) -> f64 {
    if t > 0.0 {
        t + (-t).exp().ln_1p()
    } else {
        t.exp().ln_1p()
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
            status: FitStatus::Converged,
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

    /// How the fit ended.
    pub fn status(&self) -> FitStatus {
        self.status
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
            return Err(CoreError::OutOfRange {
                field: "labels",
                value: n_pos as f64,
                expected: "both classes present",
            }
            .into());
        }
        let (t_pos, t_neg) = if config.smoothed_targets {
            (
                (n_pos as f64 + 1.0) / (n_pos as f64 + 2.0),
                1.0 / (n_neg as f64 + 2.0),
            )
        } else {
            (1.0, 0.0)
        };
        let t: Vec<f64> = labels.iter().map(|&l| if l { t_pos } else { t_neg }).collect();
        let n = scores.len() as f64;
        let nll = |a: f64, b: f64| -> f64 {
            scores
                .iter()
                .zip(&t)
                .map(|(&s, &ti)| {
                    let z = a * s + b;
                    softplus(z) - ti * z
                })
                .sum::<f64>()
                / n
        };
        // Start from the intercept-only solution.
        let pbar = t.iter().sum::<f64>() / n;
        let (mut a, mut b) = (0.0, (pbar / (1.0 - pbar)).ln());
        let mut f = nll(a, b);
        let mut status = FitStatus::MaxIterations;
        let mut it = 0;
        while it < config.max_iter {
            it += 1;
            let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for (&s, &ti) in scores.iter().zip(&t) {
                let p = sigmoid(a * s + b);
                let r = p - ti;
                let w = p * (1.0 - p);
                ga += r * s;
                gb += r;
                haa += w * s * s;
                hab += w * s;
                hbb += w;
            }
            let g = [ga / n, gb / n];
            if g[0].abs().max(g[1].abs()) < config.tol {
                status = FitStatus::Converged;
                break;
            }
            let h = [haa / n, hab / n, hab / n, hbb / n];
            let Some(d) = solve(&h, &g, 2) else { break };
            let mut step = 1.0;
            let mut accepted = false;
            for _ in 0..50 {
                let (na, nb) = (a - step * d[0], b - step * d[1]);
                let nf = nll(na, nb);
                if nf <= f && na.is_finite() && nb.is_finite() {
                    a = na;
                    b = nb;
                    f = nf;
                    accepted = true;
                    break;
                }
                step *= 0.5;
            }
            if !accepted {
                // No decrease possible at working precision: at the optimum.
                status = FitStatus::Converged;
                break;
            }
        }
        Ok(Self {
            a,
            b,
            iterations: it,
            status,
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
