//! Linear quantile regression (Koenker & Bassett 1978) solved to the LP optimum.
//!
//! For level τ ∈ (0, 1) the coefficients minimize the check loss
//!
//! ```text
//! min_β Σ_i ρ_τ(y_i − x_iᵀβ),   ρ_τ(u) = u (τ − 1{u < 0})
//! ```
//!
//! written as the primal LP `min τ 1ᵀu + (1−τ) 1ᵀv  s.t.  Xβ + u − v = y, u, v ≥ 0`. The
//! sparse constraint matrix is built directly in CSC form and solved with the Clarabel
//! interior-point method (Goulart & Chen 2024). The interior solution is then *polished* to a
//! vertex: the p observations with the smallest absolute residuals are interpolated exactly
//! (`X_B β = y_B`), and the vertex is kept if its objective is not worse — so the result is
//! the exact basic optimal solution a simplex method (e.g. HiGHS) returns whenever that is
//! unique.

use clarabel::algebra::CscMatrix;
use clarabel::solver::{DefaultSettingsBuilder, DefaultSolver, IPSolver, SolverStatus, SupportedConeT};
use ndarray::{Array1, ArrayView1, ArrayView2};
use prudentia_core::traits::{Forecaster, Role, RoleError, RoleResult};
use prudentia_core::validate::{check_finite_1d, check_finite_2d, check_len, check_shape};
use prudentia_core::{AssetInfo, Forecast, Horizon, RegimeState};
use serde::{Deserialize, Serialize};

use crate::convert::{check_levels, forecast_from_quantiles, CrossingRepair};
use crate::dense::solve;
use crate::error::{Result, UncertaintyError};
use crate::metrics::pinball;

/// Settings of a linear quantile regression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantRegConfig {
    /// Quantile levels to fit, each in (0, 1), strictly increasing (default 0.1, 0.5, 0.9).
    pub levels: Vec<f64>,
    /// Prepend an intercept column (default `true`).
    pub fit_intercept: bool,
    /// Interior-point tolerance on the duality gap (default 1e-9, > 0).
    pub tol: f64,
    /// Interior-point iteration limit (default 200, ≥ 1).
    pub max_iter: u32,
    /// Polish the interior solution to an exact vertex (default `true`).
    pub polish: bool,
}

impl Default for QuantRegConfig {
    fn default() -> Self {
        Self {
            levels: vec![0.1, 0.5, 0.9],
            fit_intercept: true,
            tol: 1e-9,
            max_iter: 200,
            polish: true,
        }
    }
}

impl QuantRegConfig {
    /// Checks the settings, naming the bad field.
    pub fn validate(&self) -> Result<()> {
        check_levels(&self.levels)?;
        prudentia_core::validate::check_positive("tol", self.tol)?;
        if self.max_iter == 0 {
            return Err(prudentia_core::CoreError::OutOfRange {
                field: "max_iter",
                value: 0.0,
                expected: ">= 1",
            }
            .into());
        }
        Ok(())
    }
}

/// How one level's fit ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum QuantRegStatus {
    /// Solved; the coefficients are a polished vertex.
    OptimalVertex,
    /// Solved to the interior-point tolerance (polishing off or not better).
    Optimal,
    /// The solver stopped early (iteration limit, reduced accuracy); best iterate returned.
    Inaccurate,
}

/// One fitted level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelFit {
    /// The level τ.
    pub level: f64,
    /// Coefficients, intercept first when fitted.
    pub coef: Vec<f64>,
    /// Check-loss objective `Σ ρ_τ(y − Xβ)` at the coefficients.
    pub objective: f64,
    /// How the fit ended.
    pub status: QuantRegStatus,
}

/// A validated quantile regression, ready to fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantileRegression {
    config: QuantRegConfig,
}

/// Fitted quantile regressions at several levels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantileRegressionModel {
    /// Whether an intercept was prepended.
    pub fit_intercept: bool,
    /// Number of input features (without the intercept).
    pub n_features: usize,
    /// One fit per level, by increasing level.
    pub fits: Vec<LevelFit>,
}

/// Checks a design matrix and response: non-empty, matching, finite, no constant column
/// when an intercept is fitted.
pub(crate) fn check_design(x: ArrayView2<'_, f64>, y: ArrayView1<'_, f64>, intercept: bool) -> Result<()> {
    let (n, p) = x.dim();
    check_len("x rows", n, 1)?;
    check_shape("y", &[n], &[y.len()])?;
    check_finite_2d("x", x)?;
    check_finite_1d("y", y)?;
    if intercept && n > 1 {
        for j in 0..p {
            let c = x.column(j);
            if c.iter().all(|&v| v == c[0]) {
                return Err(UncertaintyError::ConstantFeature {
                    column: j,
                    value: c[0],
                });
            }
        }
    }
    Ok(())
}

impl QuantileRegression {
    /// A regression with validated settings.
    pub fn new(config: QuantRegConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self { config })
    }

    /// Fits every level on `x` (n × p) and `y` (n).
    ///
    /// Errors: empty input, shape mismatch, non-finite values, a constant feature column
    /// (collinear with the intercept), fewer rows than coefficients, a solver that cannot
    /// start.
    pub fn fit(&self, x: ArrayView2<'_, f64>, y: ArrayView1<'_, f64>) -> Result<QuantileRegressionModel> {
        check_design(x, y, self.config.fit_intercept)?;
        let (n, p0) = x.dim();
        let p = p0 + usize::from(self.config.fit_intercept);
        check_len("x rows", n, p.max(1))?;
        // Design with intercept, row-major.
        let mut d = vec![0.0; n * p];
        for i in 0..n {
            let row = &mut d[i * p..(i + 1) * p];
            let mut k = 0;
            if self.config.fit_intercept {
                row[0] = 1.0;
                k = 1;
            }
            for j in 0..p0 {
                row[k + j] = x[[i, j]];
            }
        }
        let yv: Vec<f64> = y.iter().copied().collect();
        // Constraint matrix (shared by all levels): rows 0..n equalities, n..3n u,v ≥ 0.
        let m = 3 * n;
        let nv = p + 2 * n;
        let mut colptr = Vec::with_capacity(nv + 1);
        let mut rowval = Vec::with_capacity(n * p + 4 * n);
        let mut nzval = Vec::with_capacity(n * p + 4 * n);
        colptr.push(0);
        for j in 0..p {
            for i in 0..n {
                let v = d[i * p + j];
                if v != 0.0 {
                    rowval.push(i);
                    nzval.push(v);
                }
            }
            colptr.push(rowval.len());
        }
        for (sign, offset) in [(1.0, n), (-1.0, 2 * n)] {
            for i in 0..n {
                rowval.push(i);
                nzval.push(sign);
                rowval.push(offset + i);
                nzval.push(-1.0);
                colptr.push(rowval.len());
            }
        }
        let a = CscMatrix::new(m, nv, colptr, rowval, nzval);
        let pm = CscMatrix::<f64>::zeros((nv, nv));
        let mut b = vec![0.0; m];
        b[..n].copy_from_slice(&yv);
        let cones = [
            SupportedConeT::ZeroConeT(n),
            SupportedConeT::NonnegativeConeT(2 * n),
        ];
        let mut fits = Vec::with_capacity(self.config.levels.len());
        for &tau in &self.config.levels {
            let mut q = vec![0.0; nv];
            for v in &mut q[p..p + n] {
                *v = tau / n as f64;
            }
            for v in &mut q[p + n..] {
                *v = (1.0 - tau) / n as f64;
            }
            let settings = DefaultSettingsBuilder::default()
                .verbose(false)
                .max_iter(self.config.max_iter)
                .tol_gap_abs(self.config.tol)
                .tol_gap_rel(self.config.tol)
                .tol_feas(self.config.tol)
                .build()
                .map_err(|_| UncertaintyError::Solver {
                    solver: "clarabel",
                    detail: "invalid settings",
                })?;
            let mut solver = DefaultSolver::new(&pm, &q, &a, &b, &cones, settings).map_err(|_| {
                UncertaintyError::Solver {
                    solver: "clarabel",
                    detail: "problem setup failed",
                }
            })?;
            solver.solve();
            let sol = &solver.solution;
            let mut status = match sol.status {
                SolverStatus::Solved => QuantRegStatus::Optimal,
                _ => QuantRegStatus::Inaccurate,
            };
            let mut coef = sol.x[..p].to_vec();
            let mut obj = check_loss(&d, &yv, &coef, p, tau);
            if self.config.polish {
                if let Some(v) = polish_vertex(&d, &yv, &coef, p) {
                    let vo = check_loss(&d, &yv, &v, p, tau);
                    if vo <= obj * (1.0 + 1e-12) + 1e-300 {
                        coef = v;
                        obj = vo;
                        status = QuantRegStatus::OptimalVertex;
                    }
                }
            }
            fits.push(LevelFit {
                level: tau,
                coef,
                objective: obj,
                status,
            });
        }
        Ok(QuantileRegressionModel {
            fit_intercept: self.config.fit_intercept,
            n_features: p0,
            fits,
        })
    }
}

fn check_loss(d: &[f64], y: &[f64], beta: &[f64], p: usize, tau: f64) -> f64 {
    y.iter()
        .enumerate()
        .map(|(i, &yi)| {
            let f: f64 = d[i * p..(i + 1) * p].iter().zip(beta).map(|(a, b)| a * b).sum();
            pinball(tau, f, yi)
        })
        .sum()
}

/// Interpolates the p observations with the smallest absolute residuals exactly.
fn polish_vertex(d: &[f64], y: &[f64], beta: &[f64], p: usize) -> Option<Vec<f64>> {
    let n = y.len();
    let mut r: Vec<(f64, usize)> = (0..n)
        .map(|i| {
            let f: f64 = d[i * p..(i + 1) * p].iter().zip(beta).map(|(a, b)| a * b).sum();
            ((y[i] - f).abs(), i)
        })
        .collect();
    r.select_nth_unstable_by(p - 1, |a, b| a.0.total_cmp(&b.0));
    let basis: Vec<usize> = r[..p].iter().map(|&(_, i)| i).collect();
    let mut a = vec![0.0; p * p];
    let mut rhs = vec![0.0; p];
    for (k, &i) in basis.iter().enumerate() {
        a[k * p..(k + 1) * p].copy_from_slice(&d[i * p..(i + 1) * p]);
        rhs[k] = y[i];
    }
    solve(&a, &rhs, p)
}

impl QuantileRegressionModel {
    /// Predicted quantiles (one per level) for a feature vector, rearranged when they cross
    /// if `repair` says so.
    ///
    /// Errors: wrong length, non-finite features, crossing quantiles with
    /// [`CrossingRepair::Error`].
    pub fn predict(&self, features: &[f64], repair: CrossingRepair) -> Result<Vec<f64>> {
        check_shape("features", &[self.n_features], &[features.len()])?;
        prudentia_core::validate::check_finite("features", features)?;
        let vals: Vec<f64> = self
            .fits
            .iter()
            .map(|f| {
                let (b0, rest) = if self.fit_intercept {
                    (f.coef[0], &f.coef[1..])
                } else {
                    (0.0, &f.coef[..])
                };
                b0 + rest.iter().zip(features).map(|(a, b)| a * b).sum::<f64>()
            })
            .collect();
        let levels: Vec<f64> = self.fits.iter().map(|f| f.level).collect();
        crate::convert::check_quantiles(&levels, &vals, repair)
    }

    /// Predictions for every row of `x` at level index `k`.
    pub fn predict_level(&self, x: ArrayView2<'_, f64>, k: usize) -> Result<Array1<f64>> {
        check_shape("x columns", &[self.n_features], &[x.ncols()])?;
        check_finite_2d("x", x)?;
        let f = self.fits.get(k).ok_or(prudentia_core::CoreError::OutOfRange {
            field: "k",
            value: k as f64,
            expected: "< number of levels",
        })?;
        let (b0, rest) = if self.fit_intercept {
            (f.coef[0], &f.coef[1..])
        } else {
            (0.0, &f.coef[..])
        };
        Ok(x.rows()
            .into_iter()
            .map(|r| b0 + r.iter().zip(rest).map(|(a, b)| a * b).sum::<f64>())
            .collect())
    }
}

/// A [`Forecaster`] reading an asset's features into a quantile regression and converting
/// the (rearranged) quantiles to the closest Normal (see [`crate::convert`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantileForecaster {
    /// The fitted model (at least two levels).
    pub model: QuantileRegressionModel,
    /// The horizon the model's target spans.
    pub horizon: Horizon,
}

impl Forecaster for QuantileForecaster {
    fn forecast(&self, asset: &AssetInfo, _regime: &RegimeState) -> RoleResult<Forecast> {
        let map = |e: UncertaintyError| RoleError::implementation(Role::Forecaster, e);
        let v = self
            .model
            .predict(&asset.features, CrossingRepair::Rearrange)
            .map_err(map)?;
        let levels: Vec<f64> = self.model.fits.iter().map(|f| f.level).collect();
        forecast_from_quantiles(&levels, &v, self.horizon, CrossingRepair::Rearrange).map_err(map)
    }
}
