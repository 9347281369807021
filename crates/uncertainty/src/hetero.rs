//! Heteroscedastic Gaussian regression: mean and log-sigma both linear in the features,
//!
//! ```text
//! y_i ~ N(x_iᵀβ, σ_i²),   log σ_i = x_iᵀγ
//! ```
//!
//! fitted by maximum likelihood, minimizing the mean negative log-likelihood
//! `(1/n) Σ [ (y_i − x_iᵀβ)² / (2σ_i²) + log σ_i ]` with Newton's method on (β, γ) using the
//! expected (Fisher) information, which is block diagonal — `XᵀWX` with `W = diag(1/σ²)` for
//! β and `2XᵀX` for γ — and a backtracking line search. Started from ordinary least squares
//! with constant log-sigma.

use ndarray::{ArrayView1, ArrayView2};
use prudentia_core::traits::{Forecaster, Role, RoleError, RoleResult};
use prudentia_core::validate::{check_finite, check_len, check_shape};
use prudentia_core::{AssetInfo, Forecast, Horizon, RegimeState};
use serde::{Deserialize, Serialize};

use crate::dense::solve;
use crate::error::{Result, UncertaintyError};
use crate::quantreg::check_design;

/// Settings of a heteroscedastic Gaussian regression.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HeteroConfig {
    /// Prepend an intercept column to both linear parts (default `true`).
    pub fit_intercept: bool,
    /// Iteration limit (default 200, ≥ 1).
    pub max_iter: usize,
    /// Stop when the max-norm of the mean NLL gradient is below this (default 1e-10, > 0).
    pub tol: f64,
}

impl Default for HeteroConfig {
    fn default() -> Self {
        Self {
            fit_intercept: true,
            max_iter: 200,
            tol: 1e-10,
        }
    }
}

impl HeteroConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        if self.max_iter == 0 {
            return Err(prudentia_core::CoreError::OutOfRange {
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

/// How the fit ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HeteroStatus {
    /// Gradient below tolerance.
    Converged,
    /// Iteration limit, or no further decrease possible; the best iterate is returned.
    Stopped,
}

/// A fitted heteroscedastic Gaussian regression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[must_use]
pub struct HeteroModel {
    /// Whether an intercept was prepended.
    pub fit_intercept: bool,
    /// Mean coefficients β (intercept first when fitted).
    pub mean_coef: Vec<f64>,
    /// Log-sigma coefficients γ (intercept first when fitted).
    pub log_sigma_coef: Vec<f64>,
    /// Mean negative log-likelihood at the optimum (without the ½log 2π constant).
    pub objective: f64,
    /// Iterations used.
    pub iterations: usize,
    /// How the fit ended.
    pub status: HeteroStatus,
}

/// A validated heteroscedastic regression, ready to fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeteroscedasticRegression {
    config: HeteroConfig,
}

fn design(x: ArrayView2<'_, f64>, intercept: bool) -> (Vec<f64>, usize) {
    let (n, p0) = x.dim();
    let p = p0 + usize::from(intercept);
    let mut d = vec![0.0; n * p];
    for i in 0..n {
        let k = usize::from(intercept);
        if intercept {
            d[i * p] = 1.0;
        }
        for j in 0..p0 {
            d[i * p + k + j] = x[[i, j]];
        }
    }
    (d, p)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

impl HeteroscedasticRegression {
    /// A regression with validated settings.
    pub fn new(config: HeteroConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self { config })
    }

    /// Fits on `x` (n × p) and `y`.
    ///
    /// Errors: empty input, shape mismatch, non-finite values, constant feature column,
    /// fewer than `2p + 1` rows, a singular design.
    pub fn fit(&self, x: ArrayView2<'_, f64>, y: ArrayView1<'_, f64>) -> Result<HeteroModel> {
        check_design(x, y, self.config.fit_intercept)?;
        let (d, p) = design(x, self.config.fit_intercept);
        let n = y.len();
        check_len("x rows", n, 2 * p + 1)?;
        let yv: Vec<f64> = y.iter().copied().collect();
        let nf = n as f64;
        let singular = UncertaintyError::Core(prudentia_core::CoreError::Numerical {
            operation: "heteroscedastic regression",
            detail: "singular design",
        });
        // OLS start.
        let mut xtx = vec![0.0; p * p];
        let mut xty = vec![0.0; p];
        for i in 0..n {
            let r = &d[i * p..(i + 1) * p];
            for a in 0..p {
                xty[a] += r[a] * yv[i];
                for b in 0..p {
                    xtx[a * p + b] += r[a] * r[b];
                }
            }
        }
        let mut beta = solve(&xtx, &xty, p).ok_or(singular.clone())?;
        let rss: f64 = (0..n)
            .map(|i| (yv[i] - dot(&d[i * p..(i + 1) * p], &beta)).powi(2))
            .sum();
        let mut gamma = vec![0.0; p];
        let s0 = (rss / nf).sqrt().max(1e-300);
        if self.config.fit_intercept {
            gamma[0] = s0.ln();
        }
        let objective = |beta: &[f64], gamma: &[f64]| -> f64 {
            (0..n)
                .map(|i| {
                    let r = &d[i * p..(i + 1) * p];
                    let ls = dot(r, gamma);
                    let e = yv[i] - dot(r, beta);
                    0.5 * e * e * (-2.0 * ls).exp() + ls
                })
                .sum::<f64>()
                / nf
        };
        let mut f = objective(&beta, &gamma);
        let mut status = HeteroStatus::Stopped;
        let mut it = 0;
        let mut gb = vec![0.0; p];
        let mut gg = vec![0.0; p];
        let mut hb = vec![0.0; p * p];
        let mut hg = vec![0.0; p * p];
        while it < self.config.max_iter {
            it += 1;
            gb.iter_mut().for_each(|v| *v = 0.0);
            gg.iter_mut().for_each(|v| *v = 0.0);
            hb.iter_mut().for_each(|v| *v = 0.0);
            hg.iter_mut().for_each(|v| *v = 0.0);
            for i in 0..n {
                let r = &d[i * p..(i + 1) * p];
                let ls = dot(r, &gamma);
                let iv = (-2.0 * ls).exp();
                let e = yv[i] - dot(r, &beta);
                for a in 0..p {
                    gb[a] -= e * iv * r[a] / nf;
                    gg[a] += (1.0 - e * e * iv) * r[a] / nf;
                    for b in 0..p {
                        hb[a * p + b] += iv * r[a] * r[b] / nf;
                        hg[a * p + b] += 2.0 * r[a] * r[b] / nf;
                    }
                }
            }
            let gmax = gb.iter().chain(&gg).fold(0.0f64, |m, v| m.max(v.abs()));
            if gmax < self.config.tol {
                status = HeteroStatus::Converged;
                break;
            }
            let db = solve(&hb, &gb, p).ok_or(singular.clone())?;
            let dg = solve(&hg, &gg, p).ok_or(singular.clone())?;
            let mut step = 1.0;
            let mut accepted = false;
            for _ in 0..60 {
                let nb: Vec<f64> = beta.iter().zip(&db).map(|(a, b)| a - step * b).collect();
                let ng: Vec<f64> = gamma.iter().zip(&dg).map(|(a, b)| a - step * b).collect();
                let nfv = objective(&nb, &ng);
                if nfv.is_finite() && nfv <= f {
                    beta = nb;
                    gamma = ng;
                    f = nfv;
                    accepted = true;
                    break;
                }
                step *= 0.5;
            }
            if !accepted {
                break;
            }
        }
        Ok(HeteroModel {
            fit_intercept: self.config.fit_intercept,
            mean_coef: beta,
            log_sigma_coef: gamma,
            objective: f,
            iterations: it,
            status,
        })
    }
}

impl HeteroModel {
    /// Number of input features.
    pub fn n_features(&self) -> usize {
        self.mean_coef.len() - usize::from(self.fit_intercept)
    }

    /// Predicted (mean, sigma) for a feature vector.
    ///
    /// Errors: wrong length or non-finite features.
    pub fn predict(&self, features: &[f64]) -> Result<(f64, f64)> {
        check_shape("features", &[self.n_features()], &[features.len()])?;
        check_finite("features", features)?;
        let lin = |c: &[f64]| {
            if self.fit_intercept {
                c[0] + dot(&c[1..], features)
            } else {
                dot(c, features)
            }
        };
        Ok((lin(&self.mean_coef), lin(&self.log_sigma_coef).exp()))
    }
}

/// A [`Forecaster`] wrapping a [`HeteroModel`] over a fixed horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeteroForecaster {
    /// The model.
    pub model: HeteroModel,
    /// The horizon of its target.
    pub horizon: Horizon,
}

impl Forecaster for HeteroForecaster {
    fn forecast(&self, asset: &AssetInfo, _regime: &RegimeState) -> RoleResult<Forecast> {
        let (m, s) = self
            .model
            .predict(&asset.features)
            .map_err(|e| RoleError::implementation(Role::Forecaster, e))?;
        Ok(Forecast::new(m, s, self.horizon)?)
    }
}
