//! A lean logistic regression for propensity scores: Newton–Raphson (IRLS) on a
//! row-major, power-of-two-scaled copy of `[1, x]`, one pass over the rows per iteration
//! for the gradient and the Hessian.
//!
//! It maximises the unpenalized likelihood `Σ yᵢ ηᵢ − log(1 + e^{ηᵢ})` (scikit-learn's
//! `LogisticRegression(C=np.inf)`, statsmodels' `Logit`), stepping `δ = H⁻¹ g` with step
//! halving until the likelihood does not fall, and stops after a step with `max|δ| ≤
//! tolerance · (1 + max|β|)` ([`Status::Converged`]; the error left is of the order of
//! that step squared). A likelihood that reaches 0 (every unit fitted
//! with probability 1 on its own side) stops with [`Status::Separation`]; a Hessian that is
//! not positive definite stops with [`Status::Numerical`]; otherwise the iteration limit
//! ([`Status::IterationLimit`]). It exists because the propensity model is refitted on
//! every cross-fitting fold and must be fast: it reads the design once per iteration
//! where prudentia-learn's general logistic regression (with its separation certificates
//! and equilibration) reads it several times.

// index loops over parallel arrays read best as such
#![allow(clippy::needless_range_loop)]

use ndarray::{Array1, ArrayView2};
use prudentia_core::status::SeparationKind;
use prudentia_core::traits::{Fit, Predict};
use prudentia_core::validate::{
    check_finite, check_finite_1d, check_finite_2d, check_len, check_shape, check_size, MAX_DIM, MAX_WINDOW,
};
use prudentia_core::{CoreError, Status};
use prudentia_learn::logistic::BinaryData;
use serde::{Deserialize, Serialize};

use crate::error::{CausalError, CausalResult};
use crate::linalg::{pow2_scale, Cholesky};

/// The largest iteration limit.
pub const MAX_LOGIT_ITERATIONS: usize = 10_000;

/// Settings of [`Logit`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", default, deny_unknown_fields)]
pub struct LogitConfig {
    /// Newton iterations, in `1..=10_000`. Default 100.
    pub max_iterations: usize,
    /// Relative step tolerance, in `(0, 0.01]`. Default 1e-8 (the last Newton step leaves
    /// an error of about its square, ~1e-16 relative).
    pub tolerance: f64,
}
prudentia_core::checked_serde!(LogitConfig, LogitConfig::validate);

impl Default for LogitConfig {
    fn default() -> Self {
        Self {
            max_iterations: 100,
            tolerance: 1e-8,
        }
    }
}

impl LogitConfig {
    /// Checks the settings.
    pub fn validate(&self) -> CausalResult<()> {
        if self.max_iterations == 0 {
            return Err(CoreError::OutOfRange {
                field: "max_iterations",
                value: 0.0,
                expected: "in 1..=10000",
            }
            .into());
        }
        check_size("max_iterations", self.max_iterations, MAX_LOGIT_ITERATIONS)?;
        if !(self.tolerance > 0.0 && self.tolerance <= 0.01) {
            return Err(CoreError::OutOfRange {
                field: "tolerance",
                value: self.tolerance,
                expected: "in (0, 0.01]",
            }
            .into());
        }
        Ok(())
    }
}

/// A fitted logistic regression (intercept first). Deserialization validates it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct Logit {
    n_features: usize,
    coefficients: Vec<f64>,
    iterations: usize,
    status: Status,
}
prudentia_core::checked_serde!(Logit, Logit::check);

fn set_eta(z: &[f64], beta: &[f64], eta: &mut [f64], k: usize) {
    for (e, zi) in eta.iter_mut().zip(z.chunks_exact(k)) {
        *e = zi.iter().zip(beta).map(|(a, b)| a * b).sum();
    }
}

fn sigmoid(eta: f64) -> f64 {
    if eta >= 0.0 {
        1.0 / (1.0 + (-eta).exp())
    } else {
        let e = eta.exp();
        e / (1.0 + e)
    }
}

impl Logit {
    fn check(&mut self) -> CausalResult<()> {
        check_size("n_features", self.n_features, MAX_DIM)?;
        check_shape("coefficients", &[self.n_features + 1], &[self.coefficients.len()])?;
        check_finite("coefficients", &self.coefficients)?;
        check_size("iterations", self.iterations, MAX_LOGIT_ITERATIONS)?;
        Ok(())
    }

    /// The coefficients, intercept first.
    pub fn coefficients(&self) -> &[f64] {
        &self.coefficients
    }

    /// Newton iterations made.
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// How the fit ended.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// `P(y = 1 | x)` for every row of `x`.
    ///
    /// # Errors
    /// A wrong width or non-finite input.
    pub fn predict_proba(&self, x: ArrayView2<'_, f64>) -> CausalResult<Array1<f64>> {
        check_shape("x columns", &[self.n_features], &[x.ncols()])?;
        check_finite_2d("x", x)?;
        let b = &self.coefficients;
        Ok(x.rows()
            .into_iter()
            .map(|r| {
                let eta = b[0] + r.iter().zip(&b[1..]).map(|(a, c)| a * c).sum::<f64>();
                // a NaN η (∞ − ∞ from huge inputs) has no side: ½
                if eta.is_nan() {
                    0.5
                } else {
                    sigmoid(eta)
                }
            })
            .collect())
    }
}

impl Predict for Logit {
    type Output = Array1<f64>;
    type Error = CausalError;
    fn predict(&self, x: ArrayView2<'_, f64>) -> CausalResult<Array1<f64>> {
        self.predict_proba(x)
    }
}

impl<'a> Fit<BinaryData<'a>> for LogitConfig {
    type Model = Logit;
    type Error = CausalError;
    fn fit(&self, data: &BinaryData<'a>) -> CausalResult<Logit> {
        if data.weights.is_some() {
            return Err(CoreError::OutOfRange {
                field: "weights",
                value: 1.0,
                expected: "none: Logit does not take observation weights",
            }
            .into());
        }
        fit_logit(self, data.x, data.y)
    }
}

impl LogitConfig {
    /// Fits labels `y` (0/1) on `x` (see the [module docs](self)); observation weights are
    /// not supported (a weighted `BinaryData` is refused).
    ///
    /// # Errors
    /// Bad shapes or values, labels that are not 0/1, fewer observations than
    /// coefficients, a design that is not of full rank.
    pub fn fit_xy(&self, x: ArrayView2<'_, f64>, y: ndarray::ArrayView1<'_, f64>) -> CausalResult<Logit> {
        fit_logit(self, x, y)
    }
}

fn fit_logit(
    config: &LogitConfig,
    x: ArrayView2<'_, f64>,
    y: ndarray::ArrayView1<'_, f64>,
) -> CausalResult<Logit> {
    config.validate()?;
    let (_, p) = check_logit_data(x, y)?;
    let k = p + 1;
    let (scale, z) = scaled_design(x);
    let y: Vec<f64> = y.to_vec();
    let (beta, iterations, status) = newton(config, &z, &y, k)?;
    let coefficients: Vec<f64> = beta.iter().zip(&scale).map(|(b, s)| b / s).collect();
    if coefficients.iter().any(|c| !c.is_finite()) {
        return Err(CausalError::Overflow {
            what: "logistic coefficients",
        });
    }
    Ok(Logit {
        n_features: p,
        coefficients,
        iterations,
        status,
    })
}

/// Checks sizes, values and a 0/1 outcome: `(n, p)`.
fn check_logit_data(x: ArrayView2<'_, f64>, y: ndarray::ArrayView1<'_, f64>) -> CausalResult<(usize, usize)> {
    let (n, p) = x.dim();
    check_len("x (rows)", n, 1)?;
    check_size("x (rows)", n, MAX_WINDOW)?;
    check_size("x (columns)", p, MAX_DIM)?;
    prudentia_core::validate::check_elements("x", &[n, p + 1], prudentia_core::validate::MAX_ELEMENTS)?;
    check_shape("y", &[n], &[y.len()])?;
    check_finite_2d("x", x)?;
    check_finite_1d("y", y)?;
    for (index, &value) in y.iter().enumerate() {
        if value != 0.0 && value != 1.0 {
            return Err(CausalError::NotBinary { index, value });
        }
    }
    let k = p + 1;
    if n <= k {
        return Err(CausalError::TooFewObservations { n, k });
    }
    Ok((n, p))
}

/// The design `[1, x]` row-major with each column divided by a power of two (its scale).
fn scaled_design(x: ArrayView2<'_, f64>) -> (Vec<f64>, Vec<f64>) {
    let (n, p) = x.dim();
    let k = p + 1;
    let mut scale = vec![1.0; k];
    for j in 0..p {
        scale[j + 1] = pow2_scale(x.column(j).iter().fold(0.0f64, |m, v| m.max(v.abs())));
    }
    let mut z = vec![0.0; n * k];
    for (i, row) in x.rows().into_iter().enumerate() {
        let zi = &mut z[i * k..(i + 1) * k];
        zi[0] = 1.0;
        for j in 0..p {
            zi[j + 1] = row[j] / scale[j + 1];
        }
    }
    (scale, z)
}

/// One pass over the rows of `z` (row-major, `k` columns): the log-likelihood at `eta`,
/// with the gradient into `g` and the Hessian (the information matrix) into `h`.
fn likelihood_pass(z: &[f64], y: &[f64], eta: &[f64], k: usize, g: &mut [f64], h: &mut [f64]) -> f64 {
    h.iter_mut().for_each(|v| *v = 0.0);
    g.iter_mut().for_each(|v| *v = 0.0);
    let mut ll = 0.0;
    for i in 0..y.len() {
        let zi = &z[i * k..(i + 1) * k];
        let et = eta[i];
        let e = (-et.abs()).exp();
        let pi = if et >= 0.0 { 1.0 / (1.0 + e) } else { e / (1.0 + e) };
        ll += y[i] * et - (et.max(0.0) + e.ln_1p());
        let r = y[i] - pi;
        let w = pi * (1.0 - pi);
        for (ga, za) in g.iter_mut().zip(zi) {
            *ga += r * za;
        }
        for (a, &za) in zi.iter().enumerate() {
            let wa = w * za;
            for (hb, zb) in h[a * k..(a + 1) * k].iter_mut().zip(zi) {
                *hb += wa * zb;
            }
        }
    }
    ll
}

/// How the fit ends when the Hessian is not positive definite at Newton iteration `it`
/// (log-likelihood `ll`, `n` rows): separation, a collinear design (first iteration) or a
/// numerical failure.
fn singular_hessian(ll: f64, n: usize, it: usize, column: usize) -> CausalResult<Status> {
    if -ll < 1e-6 * n as f64 {
        Ok(Status::Separation {
            kind: SeparationKind::Complete,
            observations: n,
        })
    } else if it == 1 {
        Err(CausalError::Collinear {
            what: "propensity design",
            column,
        })
    } else {
        Ok(Status::Numerical {
            message: format!("Hessian not positive definite at column {column}"),
        })
    }
}

/// Newton–Raphson with step halving on the scaled design: the coefficients (scaled units),
/// the iterations and how it ended.
fn newton(config: &LogitConfig, z: &[f64], y: &[f64], k: usize) -> CausalResult<(Vec<f64>, usize, Status)> {
    let n = y.len();
    let mut beta = vec![0.0; k];
    let mut eta = vec![0.0f64; n];
    let mut status = Status::IterationLimit {
        iterations: config.max_iterations,
    };
    let mut iterations = 0;
    let mut h = vec![0.0; k * k];
    let mut g = vec![0.0; k];
    // the last accepted point and the step taken from it (for step halving)
    let mut ll_prev = f64::NEG_INFINITY;
    let mut beta_prev = vec![0.0; k];
    let mut delta = vec![0.0; k];
    let mut t = 1.0f64;
    let mut halvings = 0usize;
    let mut it = 0usize;
    while it < config.max_iterations {
        // one pass: likelihood, gradient and Hessian at the current η
        let ll = likelihood_pass(z, y, &eta, k, &mut g, &mut h);
        if !ll.is_finite() || ll < ll_prev - 1e-12 * ll_prev.abs().max(1.0) {
            // the step lowered the likelihood: halve it and re-evaluate
            halvings += 1;
            if halvings > 40 {
                status = Status::Numerical {
                    message: "line search found no ascent".into(),
                };
                beta.copy_from_slice(&beta_prev);
                break;
            }
            t *= 0.5;
            for j in 0..k {
                beta[j] = beta_prev[j] + t * delta[j];
            }
            set_eta(z, &beta, &mut eta, k);
            continue;
        }
        halvings = 0;
        // the previous step (if any) is accepted: was it small enough?
        if it > 0 {
            let bmax = beta.iter().fold(0.0f64, |m, b| m.max(b.abs()));
            let dmax = delta.iter().fold(0.0f64, |m, d| m.max(d.abs())) * t;
            if dmax <= config.tolerance * (1.0 + bmax) {
                status = Status::Converged;
                break;
            }
        }
        if -ll < 1e-9 * n as f64 {
            status = Status::Separation {
                kind: SeparationKind::Complete,
                observations: n,
            };
            break;
        }
        it += 1;
        iterations = it;
        let chol = match Cholesky::new(&h, k) {
            Ok(c) => c,
            Err(column) => {
                status = singular_hessian(ll, n, it, column)?;
                break;
            }
        };
        delta.copy_from_slice(&g);
        chol.solve(&mut delta);
        if delta.iter().any(|d| !d.is_finite()) {
            status = Status::Numerical {
                message: "non-finite Newton step".into(),
            };
            break;
        }
        ll_prev = ll;
        beta_prev.copy_from_slice(&beta);
        t = 1.0;
        for j in 0..k {
            beta[j] += delta[j];
        }
        // Newton converges quadratically: a step this small leaves an error of its square,
        // so it is taken without another pass over the data
        let bmax = beta.iter().fold(0.0f64, |m, b| m.max(b.abs()));
        let dmax = delta.iter().fold(0.0f64, |m, d| m.max(d.abs()));
        if dmax <= config.tolerance * (1.0 + bmax) {
            status = Status::Converged;
            break;
        }
        set_eta(z, &beta, &mut eta, k);
    }
    Ok((beta, iterations, status))
}
