//! Logistic regression by Newton's method (iteratively reweighted least squares), with an
//! optional L2 penalty, reporting separation as a status.
//!
//! Maximises `Σᵢ wᵢ [yᵢ ηᵢ − log(1 + e^{ηᵢ})] − (λ/2) Σⱼ βⱼ²` over `η = Xβ` (the
//! intercept is not penalised; `λ = 1/C` in scikit-learn's terms). Each iteration solves
//! `(XᵀVX + λD) δ = Xᵀ W (y − p) − λDβ` with `V = diag(wᵢ pᵢ(1 − pᵢ))` by Cholesky
//! (McCullagh & Nelder 1989, *Generalized Linear Models*, §4.4) and backtracks until the
//! objective rises (Armijo). It stops when the largest step is below
//! `tolerance · (1 + max|β|)` ([`Status::Converged`]); when the predicted gain falls below
//! the rounding error of the objective with a step already below `√tolerance`, twice in a
//! row — a nearly
//! collinear design, whose steps keep oscillating at `cond(H) · ε` — it stops with
//! [`Status::ReducedAccuracy`]; otherwise at the iteration limit ([`Status::IterationLimit`])
//! or on a numerical failure ([`Status::Numerical`]: a Hessian that lost definiteness
//! without separation, a non-finite step, a line search without ascent).
//!
//! **Separation.** Without a penalty, if some direction `d` has `xᵢᵀd ≥ 0` for every
//! `yᵢ = 1` and `xᵢᵀd ≤ 0` for every `yᵢ = 0`, strictly for some, the likelihood rises
//! forever along `d` and the maximum-likelihood estimate does not exist (Albert & Anderson
//! 1984, Biometrika 71). Newton's method then takes steps of roughly constant size along
//! `d` while the likelihood flattens, and a fit that stopped on a small change in the
//! likelihood would return huge coefficients as "converged". Here every Newton direction is
//! tested as such a certificate (`xᵢᵀd` within `10⁻⁷ · max|xᵀd|` of zero counts as on the
//! hyperplane); when it passes, the fit stops with [`Status::Separation`] (complete when
//! every observation has a strict margin, quasi-complete otherwise).
//!
//! Standard errors are `√diag((XᵀVX + λD)⁻¹)` at the estimate, z statistics use the normal
//! distribution (statsmodels `Logit`). Agreement on the checked-in fixture with
//! scikit-learn 1.9 (`penalty=None`, and L2) and statsmodels 0.15 `Logit`: 1e-7.
//!
//! **The lean fit.** [`LeanLogitConfig`] is the same unpenalized likelihood by plain
//! Newton–Raphson for inner loops (cross-fitted propensity scores): a column-major design
//! view ([`ColumnDesign`], optionally without a held-out block of rows), a warm start,
//! caller-kept buffers ([`LogitWorkspace`]), one pass over the rows per iteration, and the
//! coefficients with how the fit ended ([`LeanReport`]) but no standard errors nor
//! separation certificates (separation is the likelihood reaching 0). [`LeanLogit`] is its
//! fitted model for the `Fit`/`Predict` traits.

// index loops over parallel arrays (matrix rows, scales, penalties) read best as such
#![allow(clippy::needless_range_loop)]

use ndarray::{Array1, ArrayView1, ArrayView2};
use prudentia_core::status::SeparationKind;
use prudentia_core::traits::{Fit, Predict};
use prudentia_core::validate::{check_finite, check_finite_2d, check_len, check_shape, check_size, MAX_DIM};
use prudentia_core::{CoreError, CoreResult, Status};
use serde::{Deserialize, Serialize};

use crate::dense::{cholesky, gram, z_mul, zt_mul, Design};
use crate::error::{LearnError, LearnResult};
use crate::linear::check_batch;

mod lean;
pub use lean::{ColumnDesign, LeanLogit, LeanLogitConfig, LeanReport, LogitWorkspace};

/// Relative size of `xᵢᵀd` under which an observation is on the separating hyperplane.
const ON_HYPERPLANE: f64 = 1e-7;

/// The largest number of Newton iterations a fit accepts.
pub const MAX_ITERATIONS: usize = 10_000;

/// Settings of a logistic regression.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", default, deny_unknown_fields)]
pub struct LogisticRegressionConfig {
    /// Fit an intercept (never penalised). Default `true`.
    pub intercept: bool,
    /// L2 penalty `λ ≥ 0` on the slopes (`1/C` in scikit-learn). Default 0 (maximum
    /// likelihood; separation is then reported).
    pub l2: f64,
    /// Newton iterations, in `1..=10_000`. Default 100.
    pub max_iterations: usize,
    /// Relative step tolerance, in `(0, 0.01]`. Default 1e-10.
    pub tolerance: f64,
}

impl Default for LogisticRegressionConfig {
    fn default() -> Self {
        Self {
            intercept: true,
            l2: 0.0,
            max_iterations: 100,
            tolerance: 1e-10,
        }
    }
}

impl LogisticRegressionConfig {
    /// Checks the settings.
    pub fn validate(&self) -> LearnResult<()> {
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return Err(CoreError::OutOfRange {
                field: "l2",
                value: self.l2,
                expected: "finite and >= 0",
            }
            .into());
        }
        check_newton_settings(self.max_iterations, self.tolerance)?;
        Ok(())
    }

    /// Fits the model (see the [module docs](self)).
    pub fn fit(&self, data: &BinaryData<'_>) -> LearnResult<LogisticRegression> {
        fit_logistic(self, data)
    }
}
prudentia_core::checked_serde!(LogisticRegressionConfig, LogisticRegressionConfig::validate);

/// The data of a binary classifier: `x` (n × p), labels `y` (n, each 0 or 1) and optional
/// observation weights (finite, > 0).
#[derive(Debug, Clone, Copy)]
pub struct BinaryData<'a> {
    /// Features, one row per observation.
    pub x: ArrayView2<'a, f64>,
    /// Labels, 0.0 or 1.0.
    pub y: ArrayView1<'a, f64>,
    /// Observation weights; `None` for equal weights.
    pub weights: Option<ArrayView1<'a, f64>>,
}

impl<'a> BinaryData<'a> {
    /// Unweighted data.
    pub fn new(x: ArrayView2<'a, f64>, y: ArrayView1<'a, f64>) -> Self {
        Self { x, y, weights: None }
    }

    /// With observation weights.
    pub fn weighted(mut self, weights: ArrayView1<'a, f64>) -> Self {
        self.weights = Some(weights);
        self
    }
}

/// A fitted logistic regression. Deserialization validates it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct LogisticRegression {
    config: LogisticRegressionConfig,
    n_features: usize,
    coefficients: Vec<f64>,
    covariance: Option<Vec<f64>>,
    log_likelihood: f64,
    iterations: usize,
    n_obs: usize,
    status: Status,
}
prudentia_core::checked_serde!(LogisticRegression, LogisticRegression::check);

/// One logistic coefficient with its inference (z statistic, normal p-value).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LogisticCoefficient {
    /// The estimate.
    pub estimate: f64,
    /// Its standard error; `None` when the Hessian was not invertible.
    pub std_error: Option<f64>,
    /// `estimate / std_error`.
    pub statistic: Option<f64>,
    /// Two-sided normal p-value.
    pub p_value: Option<f64>,
}

impl LogisticRegression {
    fn check(&mut self) -> LearnResult<()> {
        self.config.validate()?;
        check_size("n_features", self.n_features, MAX_DIM)?;
        let k = self.n_features + usize::from(self.config.intercept);
        check_len("coefficients", k, 1)?;
        check_shape("coefficients", &[k], &[self.coefficients.len()])?;
        check_finite("coefficients", &self.coefficients)?;
        if let Some(c) = &self.covariance {
            check_shape("covariance", &[k * k], &[c.len()])?;
            check_finite("covariance", c)?;
            for i in 0..k {
                if c[i * k + i] < 0.0 {
                    return Err(CoreError::OutOfRange {
                        field: "covariance diagonal",
                        value: c[i * k + i],
                        expected: ">= 0",
                    }
                    .into());
                }
            }
        }
        if !(self.log_likelihood.is_finite() && self.log_likelihood <= 0.0) {
            return Err(CoreError::OutOfRange {
                field: "log_likelihood",
                value: self.log_likelihood,
                expected: "finite and <= 0",
            }
            .into());
        }
        if self.iterations > self.config.max_iterations {
            return Err(CoreError::OutOfRange {
                field: "iterations",
                value: self.iterations as f64,
                expected: "<= max_iterations",
            }
            .into());
        }
        if self.n_obs <= k {
            return Err(LearnError::TooFewObservations { n: self.n_obs, k });
        }
        Ok(())
    }

    /// The settings it was fitted with.
    pub fn config(&self) -> &LogisticRegressionConfig {
        &self.config
    }

    /// Number of features (the intercept not counted).
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// All coefficients: the intercept first when there is one.
    pub fn coefficients(&self) -> &[f64] {
        &self.coefficients
    }

    /// Log-likelihood at the estimate (the penalty not included).
    pub fn log_likelihood(&self) -> f64 {
        self.log_likelihood
    }

    /// Newton iterations made.
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// Observations used.
    pub fn n_obs(&self) -> usize {
        self.n_obs
    }

    /// How the fit ended (converged, iteration limit, separation, numerical failure).
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// Standard errors, when the (penalised) Hessian was invertible at the estimate and
    /// the data are not separated.
    pub fn std_errors(&self) -> Option<Vec<f64>> {
        let k = self.coefficients.len();
        self.covariance
            .as_ref()
            .map(|c| (0..k).map(|i| c[i * k + i].sqrt()).collect())
    }

    /// Estimate, standard error, z statistic and two-sided p-value of every coefficient.
    pub fn coefficient_table(&self) -> Vec<LogisticCoefficient> {
        let se = self.std_errors();
        self.coefficients
            .iter()
            .enumerate()
            .map(|(j, &b)| {
                let s = se.as_ref().map(|s| s[j]);
                let z = s.filter(|s| *s > 0.0).map(|s| b / s).filter(|z| z.is_finite());
                LogisticCoefficient {
                    estimate: b,
                    std_error: s,
                    statistic: z,
                    p_value: z.map(|z| (2.0 * prudentia_core::normal::cdf(-z.abs())).min(1.0)),
                }
            })
            .collect()
    }

    /// Linear predictors `ηᵢ = b₀ + xᵢᵀβ`.
    pub fn decision_function(&self, x: ArrayView2<'_, f64>) -> LearnResult<Array1<f64>> {
        check_shape("x columns", &[self.n_features], &[x.ncols()])?;
        check_finite_2d("x", x)?;
        let off = usize::from(self.config.intercept);
        let b0 = if off == 1 { self.coefficients[0] } else { 0.0 };
        let out: Array1<f64> = x
            .rows()
            .into_iter()
            .map(|row| {
                b0 + row
                    .iter()
                    .zip(&self.coefficients[off..])
                    .map(|(a, b)| a * b)
                    .sum::<f64>()
            })
            .collect();
        if out.iter().all(|v| v.is_finite()) {
            Ok(out)
        } else {
            Err(LearnError::Overflow {
                what: "linear predictors",
            })
        }
    }

    /// Probabilities `P(y = 1 | x)` for every row of `x`.
    pub fn predict_proba(&self, x: ArrayView2<'_, f64>) -> LearnResult<Array1<f64>> {
        Ok(self.decision_function(x)?.mapv(sigmoid))
    }
}

impl Predict for LogisticRegression {
    type Output = Array1<f64>;
    type Error = LearnError;
    /// Probabilities `P(y = 1 | x)`.
    fn predict(&self, x: ArrayView2<'_, f64>) -> LearnResult<Array1<f64>> {
        self.predict_proba(x)
    }
}

impl<'a> Fit<BinaryData<'a>> for LogisticRegressionConfig {
    type Model = LogisticRegression;
    type Error = LearnError;
    fn fit(&self, data: &BinaryData<'a>) -> LearnResult<LogisticRegression> {
        fit_logistic(self, data)
    }
}

/// `1 / (1 + e^{−η})` without overflow.
pub(crate) fn sigmoid(eta: f64) -> f64 {
    if eta >= 0.0 {
        1.0 / (1.0 + (-eta).exp())
    } else {
        let e = eta.exp();
        e / (1.0 + e)
    }
}

/// `log(1 + e^η)` without overflow.
fn softplus(eta: f64) -> f64 {
    eta.max(0.0) + (-eta.abs()).exp().ln_1p()
}

/// `p (1 − p)` at `η`, without cancellation.
fn variance(eta: f64) -> f64 {
    let e = (-eta.abs()).exp();
    e / ((1.0 + e) * (1.0 + e))
}

struct Problem<'a> {
    d: &'a Design,
    y: Vec<f64>,
    w: Vec<f64>,
    penalty: Vec<f64>,
}

impl Problem<'_> {
    /// Weighted log-likelihood (scaled weights) at linear predictors `eta`.
    fn loglik(&self, eta: &[f64]) -> f64 {
        eta.iter()
            .zip(&self.y)
            .zip(&self.w)
            .map(|((&e, &y), &w)| w * (y * e - softplus(e)))
            .sum()
    }

    /// `Σ |wᵢ ℓᵢ|`, the scale of the objective's rounding error.
    fn abs_sum(&self, eta: &[f64]) -> f64 {
        eta.iter()
            .zip(&self.y)
            .zip(&self.w)
            .map(|((&e, &y), &w)| (w * (y * e - softplus(e))).abs())
            .sum()
    }

    fn objective(&self, eta: &[f64], beta: &[f64]) -> f64 {
        self.loglik(eta)
            - 0.5
                * beta
                    .iter()
                    .zip(&self.penalty)
                    .map(|(b, l)| l * b * b)
                    .sum::<f64>()
    }

    fn hessian(&self, eta: &[f64]) -> CoreResult<Vec<f64>> {
        let k = self.d.k();
        let f: Vec<f64> = eta
            .iter()
            .zip(&self.w)
            .map(|(&e, &w)| (w * variance(e)).sqrt())
            .collect();
        let u = self.d.rows_scaled(&f);
        let mut h = gram(&u)?;
        for j in 0..k {
            h[j * k + j] += self.penalty[j];
        }
        Ok(h)
    }

    /// The separation certificate along `dir`: `Some((kind, strict))` when it holds.
    fn separation(&self, dir: &[f64], a: &mut [f64]) -> Option<(SeparationKind, usize)> {
        z_mul(&self.d.z, dir, a);
        let amax = a.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        if !(amax > 0.0 && amax.is_finite()) {
            return None;
        }
        let eps = ON_HYPERPLANE * amax;
        let mut strict = 0usize;
        for (&ai, &yi) in a.iter().zip(&self.y) {
            let signed = if yi > 0.5 { ai } else { -ai };
            if signed < -eps {
                return None;
            }
            if signed > eps {
                strict += 1;
            }
        }
        let kind = if strict == a.len() {
            SeparationKind::Complete
        } else {
            SeparationKind::Quasi
        };
        (strict > 0).then_some((kind, strict))
    }
}

fn fit_logistic(config: &LogisticRegressionConfig, data: &BinaryData<'_>) -> LearnResult<LogisticRegression> {
    config.validate()?;
    let (n, p, k) = check_batch(data.x, data.y, data.weights, config.intercept)?;
    if let Some((index, &value)) = data.y.iter().enumerate().find(|(_, &v)| v != 0.0 && v != 1.0) {
        return Err(LearnError::NotBinary { index, value });
    }
    // unweighted design (η = Xβ), weights kept apart and scaled to max 1
    let d = Design::new(data.x, config.intercept)?;
    let (prob, wmax) = scaled_problem(config, data, &d, n, k)?;
    let NewtonEnd {
        mut beta,
        eta,
        iterations,
        status,
    } = newton(config, &prob, n, k)?;

    let separated = matches!(status, Status::Separation { .. });
    let covariance = if separated {
        None
    } else {
        cholesky(&prob.hessian(&eta)?, k).ok().map(|c| c.inverse())
    };
    // back to the caller's units: βⱼ = β̃ⱼ / sⱼ, Vⱼₗ = Ṽⱼₗ / (sⱼ sₗ)
    for j in 0..k {
        beta[j] /= d.col_scale[j];
    }
    if !beta.iter().all(|v| v.is_finite()) {
        return Err(LearnError::Overflow { what: "coefficients" });
    }
    let covariance = covariance.and_then(|mut c| {
        for i in 0..k {
            for j in i..k {
                let v = c[i * k + j] / d.col_scale[i] / d.col_scale[j];
                c[i * k + j] = v;
                c[j * k + i] = v;
            }
        }
        c.iter().all(|v| v.is_finite()).then_some(c)
    });
    let log_likelihood = (prob.loglik(&eta) * wmax).min(0.0);
    if !log_likelihood.is_finite() {
        return Err(LearnError::Overflow {
            what: "log-likelihood",
        });
    }
    Ok(LogisticRegression {
        config: *config,
        n_features: p,
        coefficients: beta,
        covariance,
        log_likelihood,
        iterations,
        n_obs: n,
        status,
    })
}

/// The scaled problem on design `d`: weights divided by their largest (returned), the L2
/// penalty in the scaled coordinates.
fn scaled_problem<'a>(
    config: &LogisticRegressionConfig,
    data: &BinaryData<'_>,
    d: &'a Design,
    n: usize,
    k: usize,
) -> LearnResult<(Problem<'a>, f64)> {
    let (w, wmax): (Vec<f64>, f64) = match data.weights {
        Some(w) => {
            let m = w.iter().fold(0.0f64, |a, &b| a.max(b));
            (w.iter().map(|v| v / m).collect(), m)
        }
        None => (vec![1.0; n], 1.0),
    };
    let off = usize::from(config.intercept);
    let mut penalty = vec![0.0; k];
    if config.l2 > 0.0 {
        for j in off..k {
            let l = config.l2 / wmax / d.col_scale[j] / d.col_scale[j];
            if !l.is_finite() {
                return Err(LearnError::Overflow {
                    what: "L2 penalty in the scaled problem",
                });
            }
            penalty[j] = l;
        }
    }
    let prob = Problem {
        d,
        y: data.y.to_vec(),
        w,
        penalty,
    };
    Ok((prob, wmax))
}

/// Where Newton's method stopped: scaled coefficients, linear predictors, iterations taken
/// and how it ended.
struct NewtonEnd {
    beta: Vec<f64>,
    eta: Vec<f64>,
    iterations: usize,
    status: Status,
}

/// Damped Newton ascent on the penalized log-likelihood, with separation certificates and
/// stall detection.
fn newton(
    config: &LogisticRegressionConfig,
    prob: &Problem<'_>,
    n: usize,
    k: usize,
) -> LearnResult<NewtonEnd> {
    let d = prob.d;
    let unpenalized = config.l2 == 0.0;
    let mut beta = vec![0.0; k];
    let mut eta = vec![0.0; n];
    let mut trial_eta = vec![0.0; n];
    let mut trial = vec![0.0; k];
    let mut resid = vec![0.0; n];
    let mut grad = vec![0.0; k];
    let mut f = prob.objective(&eta, &beta);
    let mut status = Status::IterationLimit {
        iterations: config.max_iterations,
    };
    let mut iterations = 0;
    let mut stalls = 0usize;
    while iterations < config.max_iterations {
        iterations += 1;
        for i in 0..n {
            resid[i] = prob.w[i] * (prob.y[i] - sigmoid(eta[i]));
        }
        zt_mul(&d.z, &resid, &mut grad);
        for j in 0..k {
            grad[j] -= prob.penalty[j] * beta[j];
        }
        let h = prob.hessian(&eta)?;
        let chol = match cholesky(&h, k) {
            Ok(c) => c,
            Err(column) => {
                status = rank_lost(prob, unpenalized, &grad, &mut trial_eta, iterations, column)?;
                break;
            }
        };
        let mut step = grad.clone();
        chol.solve(&mut step)?;
        if let Some(s) = step_refused(prob, unpenalized, &step, &mut trial_eta, iterations) {
            status = s;
            break;
        }
        let bmax = beta.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let smax = step.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        if smax <= config.tolerance * (1.0 + bmax) {
            // converged: the last (tiny) Newton step is taken without a line search, whose
            // comparisons would be rounding noise at this scale
            for j in 0..k {
                beta[j] += step[j];
            }
            z_mul(&d.z, &beta, &mut eta);
            status = Status::Converged;
            break;
        }
        let decrement: f64 = grad.iter().zip(&step).map(|(g, s)| g * s).sum();
        // stalled: the predicted gain is below the rounding of the objective, and the step is
        // within √tolerance, in two successive iterations; typical of a nearly collinear design, whose steps keep
        // oscillating at cond(H) · ε
        let f_rounding = 8.0 * f64::EPSILON * (prob.abs_sum(&eta) + 1.0);
        let stalled = 0.5 * decrement <= f_rounding && smax <= config.tolerance.sqrt() * (1.0 + bmax);
        stalls = if stalled { stalls + 1 } else { 0 };
        // twice in a row: a well-conditioned fit converges on the next step instead
        if stalls >= 2 {
            status = Status::ReducedAccuracy {
                reason: format!(
                    "Newton stalled at the rounding level of the log-likelihood with a relative \
                     step of {:.1e} (1 - R² of column {} on the others: {:.1e})",
                    smax / (1.0 + bmax),
                    chol.worst_column(),
                    chol.min_relative_pivot()
                ),
            };
            break;
        }
        let search = LineSearch {
            beta: &beta,
            step: &step,
            stalled,
            decrement,
            f,
        };
        match search.run(prob, &mut trial, &mut trial_eta) {
            Some(ft) => f = ft,
            None => {
                status = Status::Numerical {
                    message: format!("line search found no ascent at iteration {iterations}"),
                };
                break;
            }
        }
        beta.copy_from_slice(&trial);
        eta.copy_from_slice(&trial_eta);
    }
    Ok(NewtonEnd {
        beta,
        eta,
        iterations,
        status,
    })
}

/// The Hessian lost rank (at `column`) while the likelihood climbed: the gradient
/// direction is tested as a separation certificate before calling it numerical; at the
/// first iteration it is a collinear design.
fn rank_lost(
    prob: &Problem<'_>,
    unpenalized: bool,
    grad: &[f64],
    scratch: &mut [f64],
    iterations: usize,
    column: usize,
) -> LearnResult<Status> {
    Ok(
        match unpenalized.then(|| prob.separation(grad, scratch)).flatten() {
            Some((kind, observations)) => Status::Separation { kind, observations },
            None if iterations == 1 => return Err(LearnError::Collinear { column }),
            None => Status::Numerical {
                message: format!("Hessian not positive definite at iteration {iterations} (column {column})"),
            },
        },
    )
}

/// The status that ends the iteration at a Newton `step` that is not finite or certifies
/// separation (unpenalized fits), `None` to go on.
fn step_refused(
    prob: &Problem<'_>,
    unpenalized: bool,
    step: &[f64],
    scratch: &mut [f64],
    iterations: usize,
) -> Option<Status> {
    if !step.iter().all(|v| v.is_finite()) {
        return Some(Status::Numerical {
            message: format!("non-finite Newton step at iteration {iterations}"),
        });
    }
    if unpenalized {
        if let Some((kind, observations)) = prob.separation(step, scratch) {
            return Some(Status::Separation { kind, observations });
        }
    }
    None
}

/// A backtracking (Armijo) line search from `beta` along `step`; below the objective's
/// rounding level (`stalled`) the comparison is noise and the full Newton step is taken
/// (the quadratic phase).
struct LineSearch<'a> {
    beta: &'a [f64],
    step: &'a [f64],
    stalled: bool,
    decrement: f64,
    /// The objective at `beta`.
    f: f64,
}

impl LineSearch<'_> {
    /// The accepted point in `trial` and `trial_eta`, and its objective; `None` when no
    /// step length up to 2⁻⁶⁰ ascends.
    fn run(&self, prob: &Problem<'_>, trial: &mut [f64], trial_eta: &mut [f64]) -> Option<f64> {
        let (beta, step, k) = (self.beta, self.step, self.beta.len());
        if self.stalled {
            for j in 0..k {
                trial[j] = beta[j] + step[j];
            }
            z_mul(&prob.d.z, trial, trial_eta);
            let ft = prob.objective(trial_eta, trial);
            if ft.is_finite() {
                return Some(ft);
            }
        }
        let mut t = 1.0;
        for _ in 0..60 {
            for j in 0..k {
                trial[j] = beta[j] + t * step[j];
            }
            z_mul(&prob.d.z, trial, trial_eta);
            let ft = prob.objective(trial_eta, trial);
            if ft.is_finite() && ft >= self.f + 1e-4 * t * self.decrement.max(0.0) {
                return Some(ft);
            }
            t *= 0.5;
        }
        None
    }
}

/// The Newton settings both logistic fits share: `max_iterations` in 1..=[`MAX_ITERATIONS`]
/// and a step tolerance in (0, 0.01].
pub(crate) fn check_newton_settings(max_iterations: usize, tolerance: f64) -> LearnResult<()> {
    if max_iterations == 0 {
        return Err(CoreError::OutOfRange {
            field: "max_iterations",
            value: 0.0,
            expected: "in 1..=10000",
        }
        .into());
    }
    check_size("max_iterations", max_iterations, MAX_ITERATIONS)?;
    if !(tolerance > 0.0 && tolerance <= 0.01) {
        return Err(CoreError::OutOfRange {
            field: "tolerance",
            value: tolerance,
            expected: "in (0, 0.01]",
        }
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_link_functions() {
        assert_eq!(sigmoid(800.0), 1.0);
        assert_eq!(sigmoid(-800.0), 0.0);
        assert!((softplus(800.0) - 800.0).abs() < 1e-12);
        assert!(softplus(-800.0) >= 0.0);
        assert_eq!(variance(800.0), 0.0);
        assert!((variance(0.0) - 0.25).abs() < 1e-16);
    }
}
