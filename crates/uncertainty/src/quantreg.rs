//! Linear quantile regression (Koenker & Bassett 1978) solved to the LP optimum.
//!
//! For level τ ∈ (0, 1) the coefficients minimize the check loss
//!
//! ```text
//! min_β Σ_i ρ_τ(y_i − x_iᵀβ),   ρ_τ(u) = u (τ − 1{u < 0})
//! ```
//!
//! an LP solved by an interior-point method, either
//!
//! - [`QuantRegSolver::FrischNewton`] (default): the Frisch–Newton primal–dual method with
//!   Mehrotra's predictor–corrector on the dual `max yᵀa s.t. Xᵀa = (1−τ)Xᵀ1, 0 ≤ a ≤ 1`
//!   (Portnoy & Koenker 1997, "The Gaussian hare and the Laplacian tortoise", Statistical
//!   Science 12; the algorithm of R `quantreg::rq.fit.fnb`), whose Newton steps only need
//!   p × p systems `Xᵀ diag(q) X`; or
//! - [`QuantRegSolver::Clarabel`]: the primal LP
//!   `min τ 1ᵀu + (1−τ) 1ᵀv  s.t.  Xβ + u − v = y, u, v ≥ 0`, its sparse constraint matrix
//!   built directly in CSC form, solved by Clarabel (Goulart & Chen 2024).
//!
//! The interior solution is then *polished* to a vertex: the p observations with the smallest
//! absolute residuals `h` are interpolated exactly (`X_h β = y_h`), and the vertex is accepted
//! when it satisfies the optimality condition of Koenker (2005, Thm 2.1),
//!
//! ```text
//! ξ = X_h^{-T} Σ_{i∉h} ψ_τ(y_i − x_iᵀβ) x_i ∈ [−τ, 1 − τ]^p,   ψ_τ(u) = τ − 1{u < 0},
//! ```
//!
//! so the result is the exact basic optimal solution a simplex method (e.g. HiGHS) returns.

use clarabel::algebra::CscMatrix;
use clarabel::solver::{DefaultSettingsBuilder, DefaultSolver, IPSolver, SolverStatus, SupportedConeT};
use ndarray::{Array1, ArrayView1, ArrayView2};
use prudentia_core::traits::{Forecaster, Role, RoleError, RoleResult};
use prudentia_core::validate::{
    check_elements, check_finite, check_finite_1d, check_finite_2d, check_len, check_shape, check_size,
    MAX_DIM, MAX_ELEMENTS,
};
use prudentia_core::{AssetInfo, Forecast, Horizon, RegimeState};
use prudentia_core::{CoreError, Status};
use serde::{Deserialize, Serialize};

use crate::convert::{check_levels, forecast_from_quantiles, CrossingRepair};
use crate::error::{Result, UncertaintyError};
use crate::scores::pinball;
use prudentia_core::linalg::lu_solve_slice;

/// Settings of a linear quantile regression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QuantRegConfig {
    /// Quantile levels to fit, each in (0, 1), strictly increasing (default 0.1, 0.5, 0.9).
    pub levels: Vec<f64>,
    /// Prepend an intercept column (default `true`).
    pub fit_intercept: bool,
    /// Interior-point tolerance on the duality gap (default 1e-9, > 0).
    pub tol: f64,
    /// Interior-point iteration limit (default 200, 1..=1,048,576).
    pub max_iter: u32,
    /// Polish the interior solution to an exact vertex (default `true`).
    pub polish: bool,
    /// The interior-point method (default [`QuantRegSolver::FrischNewton`]).
    pub solver: QuantRegSolver,
}

/// The interior-point method of a [`QuantileRegression`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum QuantRegSolver {
    /// Frisch–Newton on the dual with p × p Newton systems (fast for large n, small p).
    #[default]
    FrischNewton,
    /// Clarabel on the sparse primal LP.
    Clarabel,
}

impl Default for QuantRegConfig {
    fn default() -> Self {
        Self {
            levels: vec![0.1, 0.5, 0.9],
            fit_intercept: true,
            tol: 1e-9,
            max_iter: 200,
            polish: true,
            solver: QuantRegSolver::FrischNewton,
        }
    }
}

impl QuantRegConfig {
    /// Checks the settings, naming the bad field.
    pub fn validate(&self) -> Result<()> {
        check_levels(&self.levels)?;
        check_size("max_iter", self.max_iter as usize, crate::platt::MAX_ITER)?;
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

/// One fitted level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelFit {
    /// The level τ.
    pub level: f64,
    /// Coefficients, intercept first when fitted.
    pub coef: Vec<f64>,
    /// Check-loss objective `Σ ρ_τ(y − Xβ)` at the coefficients.
    pub objective: f64,
    /// How the fit ended: `Converged` (solved to tolerance), `ReducedAccuracy` (Clarabel's
    /// `AlmostSolved`), `IterationLimit` or `TimeLimit` (best iterate returned), or
    /// `Numerical` (Clarabel's own failure status).
    pub status: Status,
    /// Whether the coefficients are a vertex that passed the optimality check (polishing).
    #[serde(default)]
    pub vertex: bool,
}

/// A validated quantile regression, ready to fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct QuantileRegression {
    config: QuantRegConfig,
}

checked_serde!(QuantileRegression, QuantileRegression::check);

/// Fitted quantile regressions at several levels (fields private; validated on load: at
/// least one level, levels valid and increasing, every coefficient vector of length
/// `n_features + intercept` ≤ `MAX_DIM`, all values finite).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct QuantileRegressionModel {
    fit_intercept: bool,
    n_features: usize,
    fits: Vec<LevelFit>,
}

checked_serde!(QuantileRegressionModel, QuantileRegressionModel::check);

fn overflow() -> UncertaintyError {
    CoreError::Numerical {
        operation: "quantile regression",
        detail: "coefficients or check loss outside the finite range (rescale x or y)",
    }
    .into()
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

    fn check(&mut self) -> Result<()> {
        self.config.validate()
    }

    /// Fits every level on `x` (n × p) and `y` (n).
    ///
    /// Errors: empty input, shape mismatch, non-finite values, a constant feature column
    /// (collinear with the intercept), fewer rows than coefficients, more than `MAX_DIM`
    /// columns, a solver that cannot start, coefficients or a check loss outside the finite
    /// range (`CoreError::Numerical`).
    pub fn fit(&self, x: ArrayView2<'_, f64>, y: ArrayView1<'_, f64>) -> Result<QuantileRegressionModel> {
        check_design(x, y, self.config.fit_intercept)?;
        let (n, p0) = x.dim();
        check_size("x columns", p0, MAX_DIM)?;
        let p = p0 + usize::from(self.config.fit_intercept);
        check_elements("x columns squared", &[p, p], MAX_ELEMENTS)?;
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
        let clarabel = match self.config.solver {
            QuantRegSolver::Clarabel => Some(ClarabelLp::new(&d, &yv, n, p)),
            QuantRegSolver::FrischNewton => None,
        };
        let mut fits = Vec::with_capacity(self.config.levels.len());
        for &tau in &self.config.levels {
            let (mut coef, mut status) = match &clarabel {
                Some(lp) => lp.solve(tau, &self.config)?,
                None => frisch_newton(&d, &yv, p, tau, self.config.tol, self.config.max_iter as usize)?,
            };
            let mut vertex = false;
            let mut obj = check_loss(&d, &yv, &coef, p, tau);
            if self.config.polish {
                if let Some((v, verified)) = polish_vertex(&d, &yv, &coef, p, tau) {
                    let vo = check_loss(&d, &yv, &v, p, tau);
                    if verified || vo < obj {
                        coef = v;
                        obj = vo;
                    }
                    if verified {
                        status = Status::Converged;
                        vertex = true;
                    }
                }
            }
            if !(obj.is_finite() && coef.iter().all(|v| v.is_finite())) {
                return Err(overflow());
            }
            fits.push(LevelFit {
                level: tau,
                coef,
                objective: obj,
                status,
                vertex,
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

/// Interpolates the p observations with the smallest absolute residuals exactly and checks
/// the vertex's optimality condition (Koenker 2005, Thm 2.1). Returns the vertex and whether
/// it is proven optimal; `None` when the basis is singular.
fn polish_vertex(d: &[f64], y: &[f64], beta: &[f64], p: usize, tau: f64) -> Option<(Vec<f64>, bool)> {
    let n = y.len();
    let mut r: Vec<(f64, usize)> = (0..n)
        .map(|i| {
            let f: f64 = d[i * p..(i + 1) * p].iter().zip(beta).map(|(a, b)| a * b).sum();
            ((y[i] - f).abs(), i)
        })
        .collect();
    r.select_nth_unstable_by(p - 1, |a, b| a.0.total_cmp(&b.0));
    let mut basis: Vec<usize> = r[..p].iter().map(|&(_, i)| i).collect();
    basis.sort_unstable();
    let mut a = vec![0.0; p * p];
    let mut rhs = vec![0.0; p];
    for (k, &i) in basis.iter().enumerate() {
        a[k * p..(k + 1) * p].copy_from_slice(&d[i * p..(i + 1) * p]);
        rhs[k] = y[i];
    }
    let v = lu_solve_slice(&a, &rhs, p).ok()?;
    // g = Σ_{i∉h} ψ_τ(r_i) x_i, then ξ solves X_hᵀ ξ = g.
    let mut g = vec![0.0; p];
    let mut next = 0;
    for i in 0..n {
        if next < p && basis[next] == i {
            next += 1;
            continue;
        }
        let row = &d[i * p..(i + 1) * p];
        let ri = y[i] - row.iter().zip(&v).map(|(a, b)| a * b).sum::<f64>();
        let psi = if ri < 0.0 { tau - 1.0 } else { tau };
        for (gk, xk) in g.iter_mut().zip(row) {
            *gk += psi * xk;
        }
    }
    let mut at = vec![0.0; p * p];
    for i in 0..p {
        for j in 0..p {
            at[i * p + j] = a[j * p + i];
        }
    }
    let verified = match lu_solve_slice(&at, &g, p).ok() {
        Some(xi) => {
            let slack = 1e-9;
            xi.iter().all(|&v| v >= -tau - slack && v <= 1.0 - tau + slack)
        }
        None => false,
    };
    Some((v, verified))
}

/// The sparse primal LP, built once and solved for each level with Clarabel.
struct ClarabelLp {
    a: CscMatrix<f64>,
    pm: CscMatrix<f64>,
    b: Vec<f64>,
    n: usize,
    p: usize,
}

impl ClarabelLp {
    fn new(d: &[f64], y: &[f64], n: usize, p: usize) -> Self {
        // Rows 0..n: Xβ + u − v = y (zero cone); rows n..3n: u, v ≥ 0.
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
        let mut b = vec![0.0; m];
        b[..n].copy_from_slice(y);
        Self {
            a: CscMatrix::new(m, nv, colptr, rowval, nzval),
            pm: CscMatrix::<f64>::zeros((nv, nv)),
            b,
            n,
            p,
        }
    }

    fn solve(&self, tau: f64, cfg: &QuantRegConfig) -> Result<(Vec<f64>, Status)> {
        let (n, p) = (self.n, self.p);
        let mut q = vec![0.0; p + 2 * n];
        for v in &mut q[p..p + n] {
            *v = tau / n as f64;
        }
        for v in &mut q[p + n..] {
            *v = (1.0 - tau) / n as f64;
        }
        let settings = DefaultSettingsBuilder::default()
            .verbose(false)
            .max_iter(cfg.max_iter)
            .tol_gap_abs(cfg.tol)
            .tol_gap_rel(cfg.tol)
            .tol_feas(cfg.tol)
            .build()
            .map_err(|_| UncertaintyError::Solver {
                solver: "clarabel",
                detail: "invalid settings",
            })?;
        let cones = [
            SupportedConeT::ZeroConeT(n),
            SupportedConeT::NonnegativeConeT(2 * n),
        ];
        let mut solver =
            DefaultSolver::new(&self.pm, &q, &self.a, &self.b, &cones, settings).map_err(|_| {
                UncertaintyError::Solver {
                    solver: "clarabel",
                    detail: "problem setup failed",
                }
            })?;
        solver.solve();
        let sol = &solver.solution;
        let status = match sol.status {
            SolverStatus::Solved => Status::Converged,
            SolverStatus::AlmostSolved => Status::ReducedAccuracy {
                reason: "Clarabel: AlmostSolved (solved to its reduced tolerances)".into(),
            },
            SolverStatus::MaxIterations => Status::IterationLimit {
                iterations: sol.iterations as usize,
            },
            SolverStatus::MaxTime => Status::TimeLimit {
                elapsed_ms: (sol.solve_time * 1000.0).min(u64::MAX as f64) as u64,
            },
            other => Status::Numerical {
                message: format!("Clarabel: {other:?}"),
            },
        };
        Ok((sol.x[..p].to_vec(), status))
    }
}

/// Largest step in [0, ∞) keeping `v + t dv ≥ 0`, times nothing (1e20 when unbounded).
fn max_step(v: &[f64], dv: &[f64]) -> f64 {
    v.iter()
        .zip(dv)
        .filter(|(_, &d)| d < 0.0)
        .map(|(&x, &d)| -x / d)
        .fold(1e20, f64::min)
}

/// `M = Xᵀ diag(q) X` (row-major p × p) and `Xᵀ t`, in one pass.
fn weighted_gram(d: &[f64], q: &[f64], t: &[f64], p: usize, m: &mut [f64], rhs: &mut [f64]) {
    m.iter_mut().for_each(|v| *v = 0.0);
    rhs.iter_mut().for_each(|v| *v = 0.0);
    for (i, (&qi, &ti)) in q.iter().zip(t).enumerate() {
        let row = &d[i * p..(i + 1) * p];
        for a in 0..p {
            let w = qi * row[a];
            rhs[a] += row[a] * ti;
            let ma = &mut m[a * p..a * p + a + 1];
            for (b, mab) in ma.iter_mut().enumerate() {
                *mab += w * row[b];
            }
        }
    }
    for a in 0..p {
        for b in 0..a {
            m[b * p + a] = m[a * p + b];
        }
    }
}

/// `Xᵀ v`.
fn xt_times(d: &[f64], v: &[f64], p: usize, out: &mut [f64]) {
    out.iter_mut().for_each(|o| *o = 0.0);
    for (i, &vi) in v.iter().enumerate() {
        for (o, x) in out.iter_mut().zip(&d[i * p..(i + 1) * p]) {
            *o += x * vi;
        }
    }
}

/// `X v` for a p-vector v.
fn x_times(d: &[f64], v: &[f64], p: usize, out: &mut [f64]) {
    for (i, o) in out.iter_mut().enumerate() {
        *o = d[i * p..(i + 1) * p].iter().zip(v).map(|(a, b)| a * b).sum();
    }
}

/// The Frisch-Newton initial dual: `yd` the least-squares solution of `X yd = c`, and the
/// dual slacks `z = max(r, 0)`, `w = z − r` of the residual `r = c − X yd` (0 moved to
/// 0.001). `None` when `XᵀX` is singular. Uses `m`, `rhs` as work space.
fn initial_dual(
    d: &[f64],
    c: &[f64],
    p: usize,
    m: &mut [f64],
    rhs: &mut [f64],
) -> Option<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    let n = c.len();
    weighted_gram(d, &vec![1.0; n], c, p, m, rhs);
    let yd = lu_solve_slice(m, rhs, p).ok()?;
    let mut xy = vec![0.0; n];
    x_times(d, &yd, p, &mut xy);
    let mut z = vec![0.0; n];
    let mut w = vec![0.0; n];
    for i in 0..n {
        let mut r = c[i] - xy[i];
        if r == 0.0 {
            r = 0.001;
        }
        z[i] = r.max(0.0);
        w[i] = z[i] - r;
    }
    Some((yd, z, w))
}

/// Frisch–Newton interior point (Portnoy & Koenker 1997; after `lp_fnm` of Morillo & Koenker)
/// on the dual `min cᵀx s.t. Xᵀx = (1−τ)Xᵀ1, 0 ≤ x ≤ 1` with `c = −y`. Returns β = −(dual
/// multipliers) and whether the duality gap reached `tol` relative to the objective.
fn frisch_newton(
    d: &[f64],
    y: &[f64],
    p: usize,
    tau: f64,
    tol: f64,
    max_iter: usize,
) -> Result<(Vec<f64>, Status)> {
    let n = y.len();
    let singular = || {
        UncertaintyError::Core(prudentia_core::CoreError::Numerical {
            operation: "quantile regression",
            detail: "singular design (collinear features)",
        })
    };
    let step_damp = 0.99995;
    let c: Vec<f64> = y.iter().map(|v| -v).collect();
    let mut x = vec![1.0 - tau; n];
    let mut s = vec![tau; n];
    let mut bvec = vec![0.0; p];
    xt_times(d, &x, p, &mut bvec);
    let mut m = vec![0.0; p * p];
    let mut rhs = vec![0.0; p];
    let (mut yd, mut z, mut w) = initial_dual(d, &c, p, &mut m, &mut rhs).ok_or_else(singular)?;
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let gap_of = |x: &[f64], yd: &[f64], w: &[f64]| dot(&c, x) - dot(yd, &bvec) + w.iter().sum::<f64>();
    let mut gap = gap_of(&x, &yd, &w);
    let (mut q, mut r, mut t) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let (mut dx, mut ds, mut dz, mut dw) = (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let (mut dxdz, mut dsdw, mut xi) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let mut xdy = vec![0.0; n];
    let mut converged = false;
    for _ in 0..max_iter {
        if gap.abs() <= tol * (1.0 + dot(&c, &x).abs()) {
            converged = true;
            break;
        }
        if !gap.is_finite() {
            break;
        }
        for i in 0..n {
            q[i] = 1.0 / (z[i] / x[i] + w[i] / s[i]);
            r[i] = z[i] - w[i];
            t[i] = q[i] * r[i];
        }
        // Affine (predictor) step.
        weighted_gram(d, &q, &t, p, &mut m, &mut rhs);
        let mut dy = lu_solve_slice(&m, &rhs, p).map_err(|_| singular())?;
        x_times(d, &dy, p, &mut xdy);
        for i in 0..n {
            dx[i] = q[i] * (xdy[i] - r[i]);
            ds[i] = -dx[i];
            dz[i] = -z[i] * (dx[i] / x[i] + 1.0);
            dw[i] = -w[i] * (ds[i] / s[i] + 1.0);
        }
        let steps =
            |dx: &[f64], ds: &[f64], dz: &[f64], dw: &[f64], x: &[f64], s: &[f64], z: &[f64], w: &[f64]| {
                let fp = (step_damp * max_step(x, dx).min(max_step(s, ds))).min(1.0);
                let fd = (step_damp * max_step(w, dw).min(max_step(z, dz))).min(1.0);
                (fp, fd)
            };
        let (mut fp, mut fd) = steps(&dx, &ds, &dz, &dw, &x, &s, &z, &w);
        if fp.min(fd) < 1.0 {
            // Centering–corrector step.
            let mu0 = dot(&z, &x) + dot(&w, &s);
            let mut g = 0.0;
            for i in 0..n {
                g += (z[i] + fd * dz[i]) * (x[i] + fp * dx[i]) + (w[i] + fd * dw[i]) * (s[i] + fp * ds[i]);
            }
            let mu = mu0 * (g / mu0).powi(3) / (2.0 * n as f64);
            for i in 0..n {
                dxdz[i] = dx[i] * dz[i];
                dsdw[i] = ds[i] * dw[i];
                xi[i] = mu * (1.0 / x[i] - 1.0 / s[i]);
                t[i] = q[i] * (r[i] + dxdz[i] - dsdw[i] - xi[i]);
            }
            xt_times(d, &t, p, &mut rhs);
            dy = lu_solve_slice(&m, &rhs, p).map_err(|_| singular())?;
            x_times(d, &dy, p, &mut xdy);
            for i in 0..n {
                dx[i] = q[i] * (xdy[i] + xi[i] - r[i] - dxdz[i] + dsdw[i]);
                ds[i] = -dx[i];
                dz[i] = mu / x[i] - z[i] - z[i] * dx[i] / x[i] - dxdz[i];
                dw[i] = mu / s[i] - w[i] - w[i] * ds[i] / s[i] - dsdw[i];
            }
            (fp, fd) = steps(&dx, &ds, &dz, &dw, &x, &s, &z, &w);
        }
        for i in 0..n {
            x[i] += fp * dx[i];
            s[i] += fp * ds[i];
            w[i] += fd * dw[i];
            z[i] += fd * dz[i];
        }
        for (a, b) in yd.iter_mut().zip(&dy) {
            *a += fd * b;
        }
        gap = gap_of(&x, &yd, &w);
    }
    if !converged && gap.abs() <= tol * (1.0 + dot(&c, &x).abs()) {
        converged = true;
    }
    let status = if converged {
        Status::Converged
    } else {
        Status::IterationLimit { iterations: max_iter }
    };
    Ok((yd.iter().map(|v| -v).collect(), status))
}

impl QuantileRegressionModel {
    fn check(&mut self) -> Result<()> {
        check_size("n_features", self.n_features, MAX_DIM)?;
        check_len("fits", self.fits.len(), 1)?;
        let levels: Vec<f64> = self.fits.iter().map(|f| f.level).collect();
        check_levels(&levels)?;
        let k = self.n_features + usize::from(self.fit_intercept);
        check_len("coefficients", k, 1)?;
        for f in &self.fits {
            check_shape("coefficients", &[k], &[f.coef.len()])?;
            check_finite("coefficients", &f.coef)?;
            check_finite("objective", &[f.objective])?;
        }
        Ok(())
    }

    /// Whether an intercept was prepended.
    pub fn fit_intercept(&self) -> bool {
        self.fit_intercept
    }

    /// Number of input features (without the intercept).
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// One fit per level, by increasing level.
    pub fn fits(&self) -> &[LevelFit] {
        &self.fits
    }

    /// Predicted quantiles (one per level) for a feature vector, rearranged when they cross
    /// if `repair` says so.
    ///
    /// Errors: wrong length, non-finite features, crossing quantiles with
    /// [`CrossingRepair::Error`], a prediction outside the finite range.
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
        if !vals.iter().all(|v| v.is_finite()) {
            return Err(overflow());
        }
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
        let out: Array1<f64> = x
            .rows()
            .into_iter()
            .map(|r| b0 + r.iter().zip(rest).map(|(a, b)| a * b).sum::<f64>())
            .collect();
        if !out.iter().all(|v| v.is_finite()) {
            return Err(overflow());
        }
        Ok(out)
    }
}

/// A [`Forecaster`] reading an asset's features into a quantile regression and converting
/// the (rearranged) quantiles to the closest Normal (see [`crate::convert`]). Validated on
/// load: a valid model and a finite horizon > 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct QuantileForecaster {
    /// The fitted model (at least two levels).
    pub model: QuantileRegressionModel,
    /// The horizon the model's target spans.
    pub horizon: Horizon,
}

checked_serde!(QuantileForecaster, QuantileForecaster::check);

impl QuantileForecaster {
    fn check(&mut self) -> Result<()> {
        crate::convert::check_horizon(self.horizon)
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array2};

    fn data(n: usize) -> (Array2<f64>, Array1<f64>) {
        // Deterministic pseudo-random design (Weyl sequences), heavy-tailed noise.
        let x = Array2::from_shape_fn((n, 3), |(i, j)| {
            ((i as f64 * (0.618_034 + 0.1 * j as f64)) % 1.0) - 0.5
        });
        let y = Array1::from_shape_fn(n, |i| {
            let u = (i as f64 * 0.754_877_666) % 1.0;
            1.0 + x[[i, 0]] - 2.0 * x[[i, 2]] + ((u - 0.5) * 3.0).powi(3)
        });
        (x, y)
    }

    #[test]
    fn solvers_agree_and_vertex_is_locally_optimal() {
        let (x, y) = data(500);
        let fit = |solver| {
            QuantileRegression::new(QuantRegConfig {
                solver,
                levels: vec![0.25, 0.75],
                ..Default::default()
            })
            .unwrap()
            .fit(x.view(), y.view())
            .unwrap()
        };
        let a = fit(QuantRegSolver::FrischNewton);
        let b = fit(QuantRegSolver::Clarabel);
        for (fa, fb) in a.fits.iter().zip(&b.fits) {
            assert!(fa.status == Status::Converged && fa.vertex);
            assert!(fb.status == Status::Converged && fb.vertex);
            for (u, v) in fa.coef.iter().zip(&fb.coef) {
                assert!((u - v).abs() < 1e-9, "{u} vs {v}");
            }
            // Brute force: no coordinate perturbation lowers the check loss.
            let (n, p) = (y.len(), fa.coef.len());
            let mut d = vec![1.0; n * p];
            for i in 0..n {
                for j in 1..p {
                    d[i * p + j] = x[[i, j - 1]];
                }
            }
            let yv = y.to_vec();
            for k in 0..p {
                for h in [1e-4, -1e-4] {
                    let mut c = fa.coef.clone();
                    c[k] += h;
                    assert!(check_loss(&d, &yv, &c, p, fa.level) >= fa.objective - 1e-12);
                }
            }
        }
    }
}
