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
use prudentia_core::validate::{check_finite, check_len, check_shape, check_size, MAX_DIM};
use prudentia_core::{AssetInfo, Forecast, Horizon, RegimeState};
use prudentia_core::{CoreError, Status};
use serde::{Deserialize, Serialize};

use crate::error::{Result, UncertaintyError};
use crate::quantreg::check_design;
use prudentia_core::linalg::lu_solve_slice;

/// Settings of a heteroscedastic Gaussian regression.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HeteroConfig {
    /// Prepend an intercept column to both linear parts (default `true`).
    pub fit_intercept: bool,
    /// Iteration limit (default 200, 1..=1,048,576).
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
        check_size("max_iter", self.max_iter, crate::platt::MAX_ITER)?;
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

/// A fitted heteroscedastic Gaussian regression (fields private; validated on load:
/// coefficient vectors of equal length `n_features + intercept` ≤ `MAX_DIM`, all finite).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[must_use]
pub struct HeteroModel {
    fit_intercept: bool,
    mean_coef: Vec<f64>,
    log_sigma_coef: Vec<f64>,
    objective: f64,
    iterations: usize,
    status: Status,
}

checked_serde!(HeteroModel, HeteroModel::check);

/// A validated heteroscedastic regression, ready to fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct HeteroscedasticRegression {
    config: HeteroConfig,
}

checked_serde!(HeteroscedasticRegression, HeteroscedasticRegression::check);

/// One row's term of the mean NLL, `½ (e/σ)² + log σ` with `log σ = ls`; an exact residual
/// contributes `ls` only (never `0 · ∞`).
fn nll_term(e: f64, ls: f64) -> f64 {
    if e == 0.0 {
        ls
    } else {
        0.5 * e * e * (-2.0 * ls).exp() + ls
    }
}

fn overflow() -> UncertaintyError {
    CoreError::Numerical {
        operation: "heteroscedastic regression",
        detail: "the data overflow the likelihood (rescale x or y)",
    }
    .into()
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

    fn check(&mut self) -> Result<()> {
        self.config.validate()
    }

    /// Fits on `x` (n × p) and `y`.
    ///
    /// Errors: empty input, shape mismatch, non-finite values, constant feature column,
    /// fewer than `2p + 1` rows, more than `MAX_DIM` columns, a singular design, data whose
    /// likelihood overflows (`CoreError::Numerical`). Noiseless data (an exact linear fit)
    /// end with [`Status::Numerical`] when sigma reaches the smallest representable
    /// scale (the last iterate, a finite objective).
    pub fn fit(&self, x: ArrayView2<'_, f64>, y: ArrayView1<'_, f64>) -> Result<HeteroModel> {
        check_design(x, y, self.config.fit_intercept)?;
        check_size("x columns", x.ncols(), MAX_DIM)?;
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
        let mut beta = ols_start(&d, &yv, p).ok_or_else(|| singular.clone())?;
        if !beta.iter().all(|v| v.is_finite()) {
            return Err(overflow());
        }
        let rss: f64 = (0..n)
            .map(|i| (yv[i] - dot(&d[i * p..(i + 1) * p], &beta)).powi(2))
            .sum();
        let mut gamma = vec![0.0; p];
        // Floor of the starting sigma: 1e-150 of the target's scale, so that 1/σ² stays finite.
        let yscale = yv.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-300);
        let s0 = (rss / nf).sqrt().max(1e-300).max(1e-150 * yscale.min(1.0));
        if self.config.fit_intercept {
            gamma[0] = s0.ln();
        }
        let objective = |beta: &[f64], gamma: &[f64]| -> f64 {
            (0..n)
                .map(|i| {
                    let r = &d[i * p..(i + 1) * p];
                    let ls = dot(r, gamma);
                    let e = yv[i] - dot(r, beta);
                    nll_term(e, ls)
                })
                .sum::<f64>()
                / nf
        };
        let mut f = objective(&beta, &gamma);
        if !f.is_finite() {
            return Err(overflow());
        }
        let mut status = Status::IterationLimit {
            iterations: self.config.max_iter,
        };
        let mut it = 0;
        let mut gb = vec![0.0; p];
        let mut gg = vec![0.0; p];
        let mut hb = vec![0.0; p * p];
        let mut hg = vec![0.0; p * p];
        while it < self.config.max_iter {
            it += 1;
            newton_system(
                &d,
                &yv,
                p,
                (&beta, &gamma),
                (&mut gb, &mut gg),
                (&mut hb, &mut hg),
            );
            let finite = gb.iter().chain(&gg).chain(&hb).all(|v| v.is_finite());
            if !finite {
                // 1/σ² overflowed (sigma → 0 on an exact fit): stop at the last iterate.
                status = Status::Numerical {
                    message: "1/sigma^2 overflowed (sigma -> 0 on an exact fit); last iterate".into(),
                };
                break;
            }
            let gmax = gb.iter().chain(&gg).fold(0.0f64, |m, v| m.max(v.abs()));
            if gmax < self.config.tol {
                status = Status::Converged;
                break;
            }
            let (Some(db), Some(dg)) = (lu_solve_slice(&hb, &gb, p).ok(), lu_solve_slice(&hg, &gg, p).ok())
            else {
                if it == 1 {
                    return Err(singular);
                }
                status = Status::Numerical {
                    message: "singular Newton system; last iterate".into(),
                };
                break;
            };
            let mut step = 1.0;
            let mut accepted = false;
            for _ in 0..60 {
                let nb: Vec<f64> = beta.iter().zip(&db).map(|(a, b)| a - step * b).collect();
                let ng: Vec<f64> = gamma.iter().zip(&dg).map(|(a, b)| a - step * b).collect();
                let nfv = objective(&nb, &ng);
                let ok = nb.iter().chain(&ng).all(|v| v.is_finite());
                if ok && nfv.is_finite() && nfv <= f {
                    beta = nb;
                    gamma = ng;
                    f = nfv;
                    accepted = true;
                    break;
                }
                step *= 0.5;
            }
            if !accepted {
                status = Status::ReducedAccuracy {
                    reason: "no further decrease at working precision; best iterate".into(),
                };
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

/// The OLS coefficients of the row-major design `d` (n × p) on `y` from the normal
/// equations; `None` when `XᵀX` is singular (or the solution overflows).
fn ols_start(d: &[f64], y: &[f64], p: usize) -> Option<Vec<f64>> {
    let mut xtx = vec![0.0; p * p];
    let mut xty = vec![0.0; p];
    for (i, &yi) in y.iter().enumerate() {
        let r = &d[i * p..(i + 1) * p];
        for a in 0..p {
            xty[a] += r[a] * yi;
            for b in 0..p {
                xtx[a * p + b] += r[a] * r[b];
            }
        }
    }
    lu_solve_slice(&xtx, &xty, p).ok()
}

/// Gradients (`gb`, `gg`) and Hessian blocks (`hb`, `hg`, row-major p × p) of the mean
/// negative log-likelihood in the mean and log-sigma coefficients at `(beta, gamma)`.
fn newton_system(
    d: &[f64],
    y: &[f64],
    p: usize,
    (beta, gamma): (&[f64], &[f64]),
    (gb, gg): (&mut [f64], &mut [f64]),
    (hb, hg): (&mut [f64], &mut [f64]),
) {
    let nf = y.len() as f64;
    gb.iter_mut().for_each(|v| *v = 0.0);
    gg.iter_mut().for_each(|v| *v = 0.0);
    hb.iter_mut().for_each(|v| *v = 0.0);
    hg.iter_mut().for_each(|v| *v = 0.0);
    for (i, &yi) in y.iter().enumerate() {
        let r = &d[i * p..(i + 1) * p];
        let ls = dot(r, gamma);
        let iv = (-2.0 * ls).exp();
        let e = yi - dot(r, beta);
        for a in 0..p {
            gb[a] -= e * iv * r[a] / nf;
            gg[a] += (1.0 - e * e * iv) * r[a] / nf;
            for b in 0..p {
                hb[a * p + b] += iv * r[a] * r[b] / nf;
                hg[a * p + b] += 2.0 * r[a] * r[b] / nf;
            }
        }
    }
}

impl HeteroModel {
    fn check(&mut self) -> Result<()> {
        let k = usize::from(self.fit_intercept);
        check_len("mean_coef", self.mean_coef.len(), k.max(1))?;
        check_size("mean_coef", self.mean_coef.len(), MAX_DIM + 1)?;
        check_shape(
            "log_sigma_coef",
            &[self.mean_coef.len()],
            &[self.log_sigma_coef.len()],
        )?;
        check_finite("mean_coef", &self.mean_coef)?;
        check_finite("log_sigma_coef", &self.log_sigma_coef)?;
        check_finite("objective", &[self.objective])?;
        Ok(())
    }

    /// Whether an intercept was prepended.
    pub fn fit_intercept(&self) -> bool {
        self.fit_intercept
    }

    /// Mean coefficients β (intercept first when fitted).
    pub fn mean_coef(&self) -> &[f64] {
        &self.mean_coef
    }

    /// Log-sigma coefficients γ (intercept first when fitted).
    pub fn log_sigma_coef(&self) -> &[f64] {
        &self.log_sigma_coef
    }

    /// Mean negative log-likelihood at the optimum (without the ½log 2π constant); finite.
    pub fn objective(&self) -> f64 {
        self.objective
    }

    /// Iterations used.
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// How the fit ended: `Converged` (gradient below tolerance), `IterationLimit`,
    /// `ReducedAccuracy` (no further decrease at working precision) or `Numerical` (sigma → 0
    /// on an exact fit, or a singular Newton system); the best iterate in every case.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// Number of input features.
    pub fn n_features(&self) -> usize {
        self.mean_coef
            .len()
            .saturating_sub(usize::from(self.fit_intercept))
    }

    /// Predicted (mean, sigma) for a feature vector.
    ///
    /// Errors: wrong length or non-finite features; a mean or sigma outside the finite
    /// range (`CoreError::Numerical`).
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
        let (m, sd) = (lin(&self.mean_coef), lin(&self.log_sigma_coef).exp());
        if !(m.is_finite() && sd.is_finite() && sd > 0.0) {
            return Err(CoreError::Numerical {
                operation: "heteroscedastic prediction",
                detail: "mean or sigma outside the finite range",
            }
            .into());
        }
        Ok((m, sd))
    }
}

/// A [`Forecaster`] wrapping a [`HeteroModel`] over a fixed horizon (validated on load: a
/// valid model and a finite horizon > 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct HeteroForecaster {
    /// The model.
    pub model: HeteroModel,
    /// The horizon of its target.
    pub horizon: Horizon,
}

checked_serde!(HeteroForecaster, HeteroForecaster::check);

impl HeteroForecaster {
    fn check(&mut self) -> Result<()> {
        crate::convert::check_horizon(self.horizon)
    }
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
