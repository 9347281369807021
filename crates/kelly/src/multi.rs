//! Multi-asset growth-optimal (Kelly) weights.
//!
//! # Problems
//! - **Scenario log-optimal** ([`growth_optimal`]): given `T` equally likely return scenarios
//!   `r_t ∈ ℝⁿ` (rows of `R`), maximize the mean log wealth
//!   `G(w) = (1/T) Σ_t log(1 + r_tᵀ w)` (Kelly 1956; Busseti, Ryu & Boyd 2016 eq. (3)).
//! - **Gaussian approximation** ([`gaussian_growth_optimal`]): maximize `μᵀw − ½ wᵀΣw`; without
//!   constraints the answer is `w* = Σ⁻¹μ` ([`gaussian_kelly_weights`]).
//!
//! Both under box bounds `lower ≤ wᵢ ≤ upper` and an optional gross-leverage limit
//! `Σ|wᵢ| ≤ max_gross` (for long-only bounds this is `Σwᵢ ≤ max_gross`; with shorts it is
//! lifted with `sᵢ ≥ |wᵢ|`, `Σsᵢ ≤ max_gross`).
//!
//! # Method
//! A log-barrier interior-point method (Boyd & Vandenberghe 2004, §11.3): for increasing
//! `t` it minimizes `−t G(x) − Σₖ log(hₖ − gₖᵀx)` by damped Newton steps with a
//! backtracking line search that keeps every slack and every `1 + r_tᵀw` positive, and
//! stops when the duality-gap bound `m / t` (m inequality constraints) is below
//! `tolerance`. The concave objective and convex feasible set make the stationary point
//! the global optimum. Fractional Kelly scales the optimum by `fraction` (the result keeps
//! both).
//!
//! # Scale and size limits
//! The Gaussian problem is solved on `(μ, Σ) / s` with `s` the largest magnitude in the
//! data (the maximizer does not change; the objective is scaled back), so data at `1e±300`
//! neither overflows nor underflows. The scenario problem needs every wealth `1 + rᵀw` to
//! be representable over the box: `Σᵢ |r_ti| · max(|lower|, |upper|)` must be finite, else
//! [`KellyError::Overflow`]. At most [`MAX_ASSETS`] assets (the Newton system is dense,
//! `(2n)²`), and `max_iterations` at most [`MAX_NEWTON_STEPS`]. An `Ok` holds only finite
//! numbers; a solve that ends outside the domain or on a non-finite iterate is an error or
//! a `NumericalError` status, never a NaN.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ShapeBuilder};
use serde::{Deserialize, Serialize};

use prudentia_core::linalg::{gram_into, Cholesky};
use prudentia_core::status::Status;
use prudentia_core::validate::{
    check_elements, check_finite_1d, check_finite_2d, check_len, check_positive, check_shape, check_size,
    check_symmetric, MAX_ELEMENTS,
};
use prudentia_core::CoreError;

use crate::error::{finite, KellyError, KellyResult};

/// The most assets of the multi-asset problems (4096: the barrier method's Newton system is
/// a dense `(2n)²` matrix).
pub const MAX_ASSETS: usize = 1 << 12;

/// The largest `max_iterations` of [`GrowthOptimalConfig`] (10⁶ Newton steps).
pub const MAX_NEWTON_STEPS: usize = 1_000_000;

/// Rejects more than [`MAX_ASSETS`] assets (and a Newton system beyond `MAX_ELEMENTS`).
fn check_assets(n: usize) -> KellyResult<()> {
    check_size("assets", n, MAX_ASSETS)?;
    check_elements("Newton system (2n)²", &[2 * n, 2 * n], MAX_ELEMENTS)?;
    Ok(())
}

/// Settings of the multi-asset growth-optimal problems (validated on deserialization).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", default)]
pub struct GrowthOptimalConfig {
    /// Lower bound on each weight (fraction of equity). Default 0 (long-only); finite,
    /// `< upper`.
    pub lower: f64,
    /// Upper bound on each weight. Default 1; finite, `> lower`.
    pub upper: f64,
    /// Gross leverage limit `Σ|wᵢ|`; `None` = box only. Default `Some(1.0)`; `> 0`.
    pub max_gross: Option<f64>,
    /// Fractional-Kelly multiplier applied to the optimum. Default 1; range `(0, 1]`.
    pub fraction: f64,
    /// Duality-gap tolerance `m / t` at which the barrier method stops. Default 1e-10;
    /// range `(0, 1e-2]`.
    pub tolerance: f64,
    /// Limit on the total number of Newton steps. Default 500; range `[1, 10⁶]`
    /// ([`MAX_NEWTON_STEPS`]).
    pub max_iterations: usize,
}

impl Default for GrowthOptimalConfig {
    fn default() -> Self {
        Self {
            lower: 0.0,
            upper: 1.0,
            max_gross: Some(1.0),
            fraction: 1.0,
            tolerance: 1e-10,
            max_iterations: 500,
        }
    }
}

impl GrowthOptimalConfig {
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), CoreError> {
        prudentia_core::validate::check_finite("lower", &[self.lower])?;
        prudentia_core::validate::check_finite("upper", &[self.upper])?;
        if self.upper <= self.lower {
            return Err(CoreError::OutOfRange {
                field: "upper",
                value: self.upper,
                expected: "finite and > lower",
            });
        }
        if let Some(g) = self.max_gross {
            check_positive("max_gross", g)?;
        }
        if !(self.fraction > 0.0 && self.fraction <= 1.0) {
            return Err(CoreError::OutOfRange {
                field: "fraction",
                value: self.fraction,
                expected: "in (0, 1]",
            });
        }
        prudentia_core::validate::check_range(
            "tolerance",
            self.tolerance,
            f64::MIN_POSITIVE,
            1e-2,
            "in (0, 1e-2]",
        )?;
        check_len("max_iterations", self.max_iterations, 1)?;
        check_size("max_iterations", self.max_iterations, MAX_NEWTON_STEPS)?;
        Ok(())
    }

    fn check(&mut self) -> Result<(), CoreError> {
        self.validate()
    }
}

prudentia_core::checked_serde!(GrowthOptimalConfig, GrowthOptimalConfig::check);

/// The growth-optimal weights and how they were found. Weights below 1e-7 in absolute
/// value are reported as exactly 0. Every number is finite and `full`, `weights` have the
/// same length (checked on deserialization too).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[must_use]
pub struct GrowthOptimal {
    /// Full-Kelly optimal weights.
    pub full: Array1<f64>,
    /// `fraction × full`.
    pub weights: Array1<f64>,
    /// Objective at `full`: mean log wealth (scenario problem) or `μᵀw − ½wᵀΣw` (Gaussian).
    pub objective: f64,
    /// Newton steps taken.
    pub iterations: usize,
    /// Bound on the distance of `objective` from the optimum (`m / t` at exit).
    pub gap: f64,
    /// `Converged`, `IterationLimit` (weights are then the last strictly feasible iterate) or
    /// `Numerical` (the Newton system broke down; the last strictly feasible iterate).
    pub status: Status,
}

impl GrowthOptimal {
    fn check(&mut self) -> Result<(), CoreError> {
        check_shape("weights", &[self.full.len()], &[self.weights.len()])?;
        check_finite_1d("full", self.full.view())?;
        check_finite_1d("weights", self.weights.view())?;
        prudentia_core::validate::check_finite("objective and gap", &[self.objective, self.gap])?;
        Ok(())
    }
}

prudentia_core::checked_serde!(GrowthOptimal, GrowthOptimal::check);

/// The largest magnitude in `values`, or 1 when all are 0.
fn magnitude<'a>(values: impl IntoIterator<Item = &'a f64>) -> f64 {
    let m = values.into_iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    if m > 0.0 {
        m
    } else {
        1.0
    }
}

/// `w* = Σ⁻¹μ`, the unconstrained Gaussian Kelly weights.
///
/// Solved as `(Σ/s)⁻¹(μ/s)` with `s` the largest magnitude of the data. Errors: shape
/// mismatch, non-finite input, more than [`MAX_ASSETS`] assets, an asymmetric or not
/// positive-definite `Σ`, or weights that overflow ([`KellyError::Overflow`], e.g. a
/// near-singular `Σ` at `1e-300`).
pub fn gaussian_kelly_weights(
    mean: ArrayView1<'_, f64>,
    covariance: ArrayView2<'_, f64>,
) -> KellyResult<Array1<f64>> {
    let n = mean.len();
    check_len("mean", n, 1)?;
    check_assets(n)?;
    check_finite_1d("mean", mean)?;
    check_shape("covariance", &[n, n], &[covariance.nrows(), covariance.ncols()])?;
    check_finite_2d("covariance", covariance)?;
    check_symmetric("covariance", covariance, 1e-10)?;
    let s = magnitude(covariance.iter());
    let h = covariance.mapv(|v| v / s);
    let llt = Cholesky::new(h.view()).map_err(|_| CoreError::Numerical {
        operation: "Cholesky factorization of the covariance",
        detail: "matrix is not positive definite",
    })?;
    let mut w = mean.mapv(|v| v / s);
    llt.solve_vec_in_place(w.view_mut())?;
    if w.iter().all(|v| v.is_finite()) {
        Ok(w)
    } else {
        Err(KellyError::Overflow {
            quantity: "Σ⁻¹μ"
        })
    }
}

/// Scenario log-optimal weights under the configured constraints (see the module docs).
///
/// `scenarios` is `T × n` (one equally likely return vector per row, simple returns).
/// Errors: empty or non-finite scenarios, an invalid config, or no strictly feasible
/// starting point ([`KellyError::NoInteriorPoint`], e.g. `Σ lower > max_gross`).
pub fn growth_optimal(
    scenarios: ArrayView2<'_, f64>,
    config: &GrowthOptimalConfig,
) -> KellyResult<GrowthOptimal> {
    config.validate()?;
    let (t, n) = scenarios.dim();
    check_len("scenarios rows", t, 1)?;
    check_len("scenarios columns", n, 1)?;
    check_assets(n)?;
    check_finite_2d("scenarios", scenarios)?;
    // every wealth 1 + rᵀw over the box must be representable
    let reach = config.lower.abs().max(config.upper.abs());
    for row in scenarios.rows() {
        let worst = row.iter().map(|r| r.abs() * reach).sum::<f64>();
        finite("scenario wealth Σ|r|·max(|lower|, |upper|)", worst)?;
    }
    let objective = LogWealth { r: scenarios };
    solve(&objective, n, config, 1.0)
}

/// Gaussian growth-optimal weights: maximize `μᵀw − ½wᵀΣw` under the configured
/// constraints. Without binding constraints this equals [`gaussian_kelly_weights`].
pub fn gaussian_growth_optimal(
    mean: ArrayView1<'_, f64>,
    covariance: ArrayView2<'_, f64>,
    config: &GrowthOptimalConfig,
) -> KellyResult<GrowthOptimal> {
    config.validate()?;
    let n = mean.len();
    check_len("mean", n, 1)?;
    check_assets(n)?;
    check_finite_1d("mean", mean)?;
    check_shape("covariance", &[n, n], &[covariance.nrows(), covariance.ncols()])?;
    check_finite_2d("covariance", covariance)?;
    check_symmetric("covariance", covariance, 1e-10)?;
    // the maximizer of μᵀw − ½wᵀΣw is that of (μ/s)ᵀw − ½wᵀ(Σ/s)w
    let s = magnitude(mean.iter().chain(covariance.iter()));
    let mu = mean.mapv(|v| v / s);
    let sigma = covariance.mapv(|v| v / s);
    let objective = Quadratic {
        mu: mu.view(),
        sigma: sigma.view(),
    };
    solve(&objective, n, config, s)
}

/// A concave objective to maximize, on the first `n` coordinates of `x`.
trait Concave {
    /// Value, gradient and Hessian (all of the concave function); `None` outside its domain.
    fn eval(&self, w: &[f64], grad: &mut [f64], hess: &mut Array2<f64>) -> Option<f64>;
    /// Value only; `None` outside the domain.
    fn value(&self, w: &[f64]) -> Option<f64>;
}

struct LogWealth<'a> {
    r: ArrayView2<'a, f64>,
}

impl Concave for LogWealth<'_> {
    fn eval(&self, w: &[f64], grad: &mut [f64], hess: &mut Array2<f64>) -> Option<f64> {
        let (t, n) = self.r.dim();
        let inv_t = 1.0 / t as f64;
        let scale = inv_t.sqrt();
        grad[..n].iter_mut().for_each(|g| *g = 0.0);
        // rows a_t = r_t / (1 + r_tᵀw) / √T, so that the Hessian is −AᵀA (one GEMM)
        let mut a = Array2::<f64>::zeros((t, n).f());
        let mut value = 0.0;
        for (k, row) in self.r.rows().into_iter().enumerate() {
            let wealth = 1.0 + row.iter().zip(w).map(|(x, y)| x * y).sum::<f64>();
            if wealth <= 0.0 {
                return None;
            }
            value += wealth.ln();
            let inv = 1.0 / wealth;
            for i in 0..n {
                grad[i] += row[i] * inv * inv_t;
                a[[k, i]] = row[i] * inv * scale;
            }
        }
        gram_into(a.view(), -1.0, hess.view_mut()).ok()?;
        Some(value * inv_t)
    }

    fn value(&self, w: &[f64]) -> Option<f64> {
        let t = self.r.nrows();
        let mut value = 0.0;
        for row in self.r.rows() {
            let wealth = 1.0 + row.iter().zip(w).map(|(a, b)| a * b).sum::<f64>();
            if wealth <= 0.0 {
                return None;
            }
            value += wealth.ln();
        }
        Some(value / t as f64)
    }
}

struct Quadratic<'a, 'b> {
    mu: ArrayView1<'a, f64>,
    sigma: ArrayView2<'b, f64>,
}

impl Concave for Quadratic<'_, '_> {
    fn eval(&self, w: &[f64], grad: &mut [f64], hess: &mut Array2<f64>) -> Option<f64> {
        let n = self.mu.len();
        for i in 0..n {
            let sw: f64 = (0..n).map(|j| self.sigma[[i, j]] * w[j]).sum();
            grad[i] = self.mu[i] - sw;
            for j in 0..n {
                hess[[i, j]] = -self.sigma[[i, j]];
            }
        }
        self.value(w)
    }

    fn value(&self, w: &[f64]) -> Option<f64> {
        let n = self.mu.len();
        let mut v = 0.0;
        for i in 0..n {
            let sw: f64 = (0..n).map(|j| self.sigma[[i, j]] * w[j]).sum();
            v += self.mu[i] * w[i] - 0.5 * w[i] * sw;
        }
        Some(v)
    }
}

/// Linear inequality `Σ coef·x[idx] ≤ rhs`.
struct Ineq {
    terms: Vec<(usize, f64)>,
    rhs: f64,
}

impl Ineq {
    fn slack(&self, x: &[f64]) -> f64 {
        self.rhs - self.terms.iter().map(|&(i, c)| c * x[i]).sum::<f64>()
    }
}

/// Builds the constraints and a strictly feasible start. Returns (m vars, constraints, x0).
fn build(n: usize, c: &GrowthOptimalConfig) -> KellyResult<(usize, Vec<Ineq>, Vec<f64>)> {
    let lifted = c.lower < 0.0 && c.max_gross.is_some();
    let m = if lifted { 2 * n } else { n };
    let mut cons = Vec::with_capacity(4 * n + 1);
    for i in 0..n {
        cons.push(Ineq {
            terms: vec![(i, -1.0)],
            rhs: -c.lower,
        });
        cons.push(Ineq {
            terms: vec![(i, 1.0)],
            rhs: c.upper,
        });
    }
    // start: 0 pushed into the box
    let width = c.upper - c.lower;
    let mut x = vec![0.0; m];
    let mut delta = 0.25 * width;
    if let Some(g) = c.max_gross {
        let min_gross: f64 = n as f64 * c.lower.max(0.0).max(-c.upper).max(0.0);
        if min_gross >= g {
            return Err(KellyError::NoInteriorPoint {
                reason: "the bounds force a gross exposure >= max_gross",
            });
        }
        delta = delta.min((g - min_gross) / (2.0 * n as f64));
    }
    for xi in x.iter_mut().take(n) {
        *xi = 0.0_f64.clamp(c.lower + delta, c.upper - delta);
    }
    if let Some(g) = c.max_gross {
        if lifted {
            let used: f64 = x[..n].iter().map(|v| v.abs()).sum();
            let eps = (g - used) / (2.0 * n as f64);
            for i in 0..n {
                x[n + i] = x[i].abs() + eps;
                cons.push(Ineq {
                    terms: vec![(i, 1.0), (n + i, -1.0)],
                    rhs: 0.0,
                });
                cons.push(Ineq {
                    terms: vec![(i, -1.0), (n + i, -1.0)],
                    rhs: 0.0,
                });
            }
            cons.push(Ineq {
                terms: (n..2 * n).map(|i| (i, 1.0)).collect(),
                rhs: g,
            });
        } else {
            // lower >= 0: Σ w ≤ g
            cons.push(Ineq {
                terms: (0..n).map(|i| (i, 1.0)).collect(),
                rhs: g,
            });
        }
    }
    if cons.iter().any(|k| k.slack(&x) <= 0.0) {
        return Err(KellyError::NoInteriorPoint {
            reason: "the box and leverage limits leave no interior",
        });
    }
    Ok((m, cons, x))
}

/// Merit of the barrier problem: `ψ(x) = −t f(x) − Σ log slack`; `None` outside the domain.
fn merit<O: Concave>(obj: &O, cons: &[Ineq], n: usize, x: &[f64], t: f64) -> Option<f64> {
    let f = obj.value(&x[..n])?;
    let mut b = 0.0;
    for k in cons {
        let s = k.slack(x);
        if s <= 0.0 {
            return None;
        }
        b -= s.ln();
    }
    Some(-t * f + b)
}

/// Work buffers of the barrier method.
struct Newton {
    grad_f: Vec<f64>,
    hess_f: Array2<f64>,
    grad: Vec<f64>,
    hess: Array2<f64>,
    x_new: Vec<f64>,
}

impl Newton {
    fn new(n: usize, m: usize) -> Self {
        Self {
            grad_f: vec![0.0; n],
            hess_f: Array2::<f64>::zeros((n, n).f()),
            grad: vec![0.0; m],
            hess: Array2::<f64>::zeros((m, m).f()),
            x_new: vec![0.0; m],
        }
    }

    /// Gradient and Hessian of ψ at `x` (into `grad`, `hess`).
    fn assemble<O: Concave>(
        &mut self,
        obj: &O,
        cons: &[Ineq],
        n: usize,
        x: &[f64],
        t: f64,
    ) -> KellyResult<()> {
        let m = self.grad.len();
        obj.eval(&x[..n], &mut self.grad_f, &mut self.hess_f)
            .ok_or(KellyError::NoInteriorPoint {
                reason: "iterate left the domain",
            })?;
        let (grad, hess) = (&mut self.grad, &mut self.hess);
        for g in grad.iter_mut() {
            *g = 0.0;
        }
        for j in 0..m {
            for i in 0..m {
                hess[[i, j]] = if i < n && j < n {
                    -t * self.hess_f[[i, j]]
                } else {
                    0.0
                };
            }
        }
        for (g, gf) in grad.iter_mut().zip(self.grad_f.iter()).take(n) {
            *g = -t * gf;
        }
        for k in cons {
            let inv = 1.0 / k.slack(x);
            for &(i, ci) in &k.terms {
                grad[i] += ci * inv;
            }
            let inv2 = inv * inv;
            if k.terms.len() == 1 {
                let (i, ci) = k.terms[0];
                hess[[i, i]] += ci * ci * inv2;
            } else {
                for &(i, ci) in &k.terms {
                    for &(j, cj) in &k.terms {
                        hess[[i, j]] += ci * cj * inv2;
                    }
                }
            }
        }
        Ok(())
    }

    /// The Newton direction `−H⁻¹g` and the decrement `λ² = −gᵀdx`; `Err(status)` when the
    /// Hessian stays indefinite after a 1e-12 diagonal shift or the step is not finite.
    fn direction(&mut self) -> KellyResult<Result<(Array1<f64>, f64), Status>> {
        let m = self.grad.len();
        let grad = &self.grad;
        let hess = &mut self.hess;
        let mut dx = Array1::from_shape_fn(m, |i| -grad[i]);
        let llt = match Cholesky::new(hess.view()) {
            Ok(l) => l,
            Err(_) => {
                let tr: f64 = (0..m).map(|i| hess[[i, i]].abs()).sum::<f64>() / m as f64;
                for i in 0..m {
                    hess[[i, i]] += 1e-12 * tr.max(1.0);
                }
                match Cholesky::new(hess.view()) {
                    Ok(l) => l,
                    Err(_) => {
                        return Ok(Err(Status::Numerical {
                            message: "barrier Hessian not positive definite after regularization".into(),
                        }))
                    }
                }
            }
        };
        llt.solve_vec_in_place(dx.view_mut())?;
        let decrement: f64 = (0..m).map(|i| -grad[i] * dx[i]).sum();
        if !decrement.is_finite() || (0..m).any(|i| !dx[i].is_finite()) {
            return Ok(Err(Status::Numerical {
                message: "non-finite Newton step".into(),
            }));
        }
        Ok(Ok((dx, decrement)))
    }

    /// Backtracking line search staying strictly feasible; moves `x` and returns whether
    /// centering should go on (`false`: no progress possible at this `t`).
    #[allow(clippy::too_many_arguments)]
    fn line_search<O: Concave>(
        &mut self,
        obj: &O,
        cons: &[Ineq],
        n: usize,
        x: &mut [f64],
        t: f64,
        dx: &Array1<f64>,
        decrement: f64,
    ) -> bool {
        let m = x.len();
        let psi0 = merit(obj, cons, n, x, t).unwrap_or(f64::INFINITY);
        let mut step = 1.0;
        let mut accepted = false;
        for _ in 0..60 {
            for i in 0..m {
                self.x_new[i] = x[i] + step * dx[i];
            }
            if let Some(psi) = merit(obj, cons, n, &self.x_new, t) {
                if psi <= psi0 - 0.25 * step * decrement {
                    accepted = true;
                    break;
                }
            }
            step *= 0.5;
        }
        if !accepted {
            return false; // roundoff: no further progress possible at this t
        }
        x.copy_from_slice(&self.x_new);
        // stop when the decrease is below the merit's roundoff
        step * decrement > 1e-13 * psi0.abs().max(1.0)
    }
}

/// The barrier method on `obj`; `scale` multiplies the reported objective (the data were
/// divided by it).
fn solve<O: Concave>(obj: &O, n: usize, c: &GrowthOptimalConfig, scale: f64) -> KellyResult<GrowthOptimal> {
    let (m, cons, mut x) = build(n, c)?;
    if obj.value(&x[..n]).is_none() {
        return Err(KellyError::NoInteriorPoint {
            reason: "a scenario loses 100 % or more at the starting weights",
        });
    }
    let n_cons = cons.len() as f64;
    let mut t = 1.0;
    let mut work = Newton::new(n, m);
    let mut iterations = 0;
    let mut status = Status::Converged;
    'outer: loop {
        // centering
        loop {
            if iterations >= c.max_iterations {
                status = Status::IterationLimit { iterations };
                break 'outer;
            }
            iterations += 1;
            work.assemble(obj, &cons, n, &x, t)?;
            let (dx, decrement) = match work.direction()? {
                Ok(d) => d,
                Err(s) => {
                    status = s;
                    break 'outer;
                }
            };
            // Newton decrement λ²/2 bounds the centering error in ψ units (ψ = t·objective
            // + barrier), so 1e-9 is far below the 1/t resolution the outer loop needs.
            if decrement / 2.0 <= 1e-9 {
                break;
            }
            if !work.line_search(obj, &cons, n, &mut x, t, &dx, decrement) {
                break;
            }
        }
        if n_cons / t < c.tolerance {
            break;
        }
        t *= 10.0;
    }
    finish(
        obj,
        n,
        c,
        scale,
        &x,
        FinalState {
            iterations,
            gap: n_cons / t,
            status,
        },
    )
}

/// How the barrier loop ended.
struct FinalState {
    iterations: usize,
    gap: f64,
    status: Status,
}

/// Snaps near-zero weights, evaluates the objective and checks the result.
fn finish<O: Concave>(
    obj: &O,
    n: usize,
    c: &GrowthOptimalConfig,
    scale: f64,
    x: &[f64],
    end: FinalState,
) -> KellyResult<GrowthOptimal> {
    // The barrier keeps iterates strictly inside, so a weight whose optimum is 0 comes out
    // as ~1/t; weights below 1e-7 (of equity) are reported as exactly 0 (snapping toward
    // zero never breaks a limit).
    let full = Array1::from_shape_fn(n, |i| {
        if x[i].abs() < 1e-7 && c.lower <= 0.0 && c.upper >= 0.0 {
            0.0
        } else {
            x[i]
        }
    });
    // snapping may (in a degenerate case) leave the domain: then report the iterate itself
    let (full, value) = match obj.value(full.as_slice().unwrap_or(&x[..n])) {
        Some(v) => (full, Some(v)),
        None => {
            let raw = Array1::from_iter(x[..n].iter().copied());
            let v = obj.value(&x[..n]);
            (raw, v)
        }
    };
    let objective = match value {
        Some(v) => finite("objective", v * scale)?,
        None => {
            return Err(KellyError::NoInteriorPoint {
                reason: "the final iterate left the domain",
            })
        }
    };
    let mut result = GrowthOptimal {
        weights: &full * c.fraction,
        full,
        objective,
        iterations: end.iterations,
        gap: finite("duality gap", end.gap * scale)?,
        status: end.status,
    };
    result.check().map_err(|_| KellyError::Overflow {
        quantity: "growth-optimal weights",
    })?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn sigma_inverse_mu() {
        let mu = array![0.05, 0.03];
        let cov = array![[0.04, 0.01], [0.01, 0.09]];
        let w = gaussian_kelly_weights(mu.view(), cov.view()).unwrap();
        // Σ⁻¹ = [[0.09, −0.01], [−0.01, 0.04]] / (0.0036 − 0.0001)
        let det = 0.04 * 0.09 - 0.01 * 0.01;
        let w0 = (0.09 * 0.05 - 0.01 * 0.03) / det;
        let w1 = (-0.01 * 0.05 + 0.04 * 0.03) / det;
        assert!((w[0] - w0).abs() < 1e-12 && (w[1] - w1).abs() < 1e-12);
        // constrained solver with loose box agrees with the closed form
        let cfg = GrowthOptimalConfig {
            lower: -10.0,
            upper: 10.0,
            max_gross: None,
            ..Default::default()
        };
        let g = gaussian_growth_optimal(mu.view(), cov.view(), &cfg).unwrap();
        assert_eq!(g.status, Status::Converged);
        assert!((g.full[0] - w0).abs() < 1e-6, "{} vs {}", g.full[0], w0);
        assert!((g.full[1] - w1).abs() < 1e-6);
    }

    #[test]
    fn binary_scenarios_match_kelly() {
        // one asset: +1 with prob 0.6, −1 with prob 0.4 → f* = 0.2
        let mut r = ndarray::Array2::zeros((10, 1));
        for i in 0..10 {
            r[[i, 0]] = if i < 6 { 1.0 } else { -1.0 };
        }
        let g = growth_optimal(r.view(), &GrowthOptimalConfig::default()).unwrap();
        assert!((g.full[0] - 0.2).abs() < 1e-7, "{}", g.full[0]);
        // the losing side, shorts allowed, box only: f* = −0.2
        let short = GrowthOptimalConfig {
            lower: -1.0,
            max_gross: None,
            ..Default::default()
        };
        let g = growth_optimal((-&r).view(), &short).unwrap();
        assert!((g.full[0] + 0.2).abs() < 1e-7, "{}", g.full[0]);
        // long-only: the best is not to bet (at the bound, snapped to exactly 0)
        let g = growth_optimal((-&r).view(), &GrowthOptimalConfig::default()).unwrap();
        assert_eq!(g.full[0], 0.0);
    }
}
