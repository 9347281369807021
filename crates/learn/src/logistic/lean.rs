//! The lean unpenalized logistic regression: Newton–Raphson (IRLS) on a column-major,
//! power-of-two-scaled design, one pass over the rows per iteration for the likelihood,
//! the gradient and the Hessian, into buffers the caller keeps between fits.
//!
//! It maximises the (weighted) likelihood `Σ wᵢ [yᵢ ηᵢ − log(1 + e^{ηᵢ})]` (scikit-learn's
//! `LogisticRegression(penalty=None)`, statsmodels' `Logit`) from a start the caller gives
//! (a warm start: the previous fold's solution, say). A start whose likelihood is below the
//! intercept-only fit's is replaced by that fit when the design's first column is the
//! intercept. Each step `δ = H⁻¹ g` is halved until the likelihood does not fall (the
//! halvings are counted in [`LeanReport::halvings`]). It stops after a step with `max|δ| ≤
//! tolerance · (1 + max|β|)` ([`Status::Converged`]; the error left is of the order of that
//! step squared, so the step is taken without another pass), or, with
//! [`LeanLogitConfig::quadratic_stop`] set, when the iteration is in its quadratic phase and
//! the next step is predicted below `quadratic_stop · (1 + max|β|)`. A likelihood that
//! reaches 0 (every unit fitted with probability 1 on its own side) stops with
//! [`Status::Separation`]; a Hessian that is not positive definite stops with
//! [`Status::Separation`] when the likelihood is nearly 0, is a
//! [`LearnError::Collinear`] error at the first iteration, and [`Status::Numerical`]
//! otherwise; a non-finite step or 40 halvings in a row end with [`Status::Numerical`];
//! otherwise the iteration limit ([`Status::IterationLimit`]).
//!
//! The general [`LogisticRegressionConfig`](super::LogisticRegressionConfig) reads the
//! design several times per iteration for its separation certificates, its stall detection
//! and its standard errors; this one is for the inner loops (cross-fitted propensity
//! scores) that refit the same design many times and need only the coefficients.
//!
//! ```
//! use prudentia_learn::logistic::{ColumnDesign, LeanLogitConfig, LogitWorkspace};
//! // column-major [1, x] with 6 rows
//! let z = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, -2.0, -1.0, 0.5, -0.5, 1.0, 2.0];
//! let y = [0.0, 0.0, 0.0, 1.0, 1.0, 1.0];
//! let design = ColumnDesign::new(&z, 6, 2, true).unwrap();
//! let mut ws = LogitWorkspace::default();
//! let mut beta = [0.0, 0.0];
//! let report = LeanLogitConfig::default()
//!     .fit_into(&design, &y, None, &mut beta, &mut ws)
//!     .unwrap();
//! assert!(report.status.is_converged());
//! assert!(beta[1] > 0.0);
//! // the same fit without the last two rows (a held-out fold)
//! let train = design.holding_out(4, 6).unwrap();
//! let r = LeanLogitConfig::default().fit_into(&train, &y, None, &mut beta, &mut ws).unwrap();
//! assert!(r.status.is_converged());
//! ```

// index loops over parallel arrays read best as such
#![allow(clippy::needless_range_loop)]

use ndarray::{Array1, ArrayView2};
use prudentia_core::linalg::{dot, pow2_scale, SmallCholesky};
use prudentia_core::status::SeparationKind;
use prudentia_core::traits::{Fit, Predict};
use prudentia_core::validate::{
    check_elements, check_finite, check_finite_2d, check_len, check_shape, check_size, MAX_DIM, MAX_ELEMENTS,
    MAX_WINDOW,
};
use prudentia_core::{CoreError, Status};
use serde::{Deserialize, Serialize};

use super::{check_newton_settings, sigmoid, BinaryData, MAX_ITERATIONS};
use crate::error::{LearnError, LearnResult};

/// A relative Cholesky pivot below this is a collinear (or separated) Hessian.
const LEAN_PIVOT: f64 = 1e-12;

/// Rows per chunk of the product behind the log-likelihood (each factor is in [1, 2]).
const LL_CHUNK: usize = 256;

/// Step halvings in a row after which the line search gives up.
const MAX_HALVINGS: usize = 40;

/// Settings of the lean logistic regression (see the [module docs](super)).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", default, deny_unknown_fields)]
pub struct LeanLogitConfig {
    /// Newton iterations, in `1..=10_000`. Default 100.
    pub max_iterations: usize,
    /// Relative step tolerance, in `(0, 0.01]`. Default 1e-8 (the last Newton step leaves
    /// an error of about its square, ~1e-16 relative).
    pub tolerance: f64,
    /// Stop in the quadratic phase (a step below `1e-3 · (1 + max|β|)` and a tenth of the
    /// one before) when the next step, predicted as `c · step²` with `c = step / previous²`,
    /// is below this times `1 + max|β|`, sparing the pass that would confirm it. In `[0,
    /// 0.01]`; 0 (the default) turns it off.
    pub quadratic_stop: f64,
}
prudentia_core::checked_serde!(LeanLogitConfig, LeanLogitConfig::validate);

impl Default for LeanLogitConfig {
    fn default() -> Self {
        Self {
            max_iterations: 100,
            tolerance: 1e-8,
            quadratic_stop: 0.0,
        }
    }
}

impl LeanLogitConfig {
    /// Checks the settings.
    pub fn validate(&self) -> LearnResult<()> {
        check_newton_settings(self.max_iterations, self.tolerance)?;
        if !(self.quadratic_stop >= 0.0 && self.quadratic_stop <= 0.01) {
            return Err(CoreError::OutOfRange {
                field: "quadratic_stop",
                value: self.quadratic_stop,
                expected: "in [0, 0.01]",
            }
            .into());
        }
        Ok(())
    }
}

/// A column-major design `[z₀ … z_{k−1}]` (`k` columns of `stride` rows each, `data[j ·
/// stride + i]`), checked finite once, optionally without one contiguous block of rows (a
/// held-out fold). Column 0 may be declared the intercept (all ones, checked).
#[derive(Debug, Clone, Copy)]
pub struct ColumnDesign<'a> {
    data: &'a [f64],
    stride: usize,
    k: usize,
    intercept: bool,
    hole: (usize, usize),
}

impl<'a> ColumnDesign<'a> {
    /// The design of `k` columns of `stride` rows in `data`; `intercept` declares column 0
    /// the intercept.
    ///
    /// # Errors
    /// Sizes beyond [`MAX_WINDOW`] rows or [`MAX_DIM`]` + 1` columns, `data` not `stride ·
    /// k` long, no column, a non-finite entry, a declared intercept that is not all ones.
    pub fn new(data: &'a [f64], stride: usize, k: usize, intercept: bool) -> LearnResult<Self> {
        check_size("design rows", stride, MAX_WINDOW)?;
        check_size("design columns", k, MAX_DIM + 1)?;
        check_len("design columns", k, 1)?;
        check_elements("design", &[stride, k], MAX_ELEMENTS)?;
        check_shape("column-major design", &[stride * k], &[data.len()])?;
        // one vectorizable pass (`v · 0` is NaN exactly for a non-finite `v`), the located
        // error only when it fails
        if !all_finite(data) {
            check_finite("design", data)?;
        }
        if intercept {
            if let Some(&value) = data[..stride].iter().find(|&&v| v != 1.0) {
                return Err(CoreError::OutOfRange {
                    field: "intercept column",
                    value,
                    expected: "all ones",
                }
                .into());
            }
        }
        Ok(Self {
            data,
            stride,
            k,
            intercept,
            hole: (0, 0),
        })
    }

    /// The same design without rows `lo..hi` (a held-out fold; `lo == hi` keeps them all).
    ///
    /// # Errors
    /// `lo > hi` or `hi` beyond the rows.
    pub fn holding_out(self, lo: usize, hi: usize) -> LearnResult<Self> {
        if lo > hi || hi > self.stride {
            return Err(CoreError::OutOfRange {
                field: "held-out rows",
                value: hi as f64,
                expected: "lo <= hi <= rows",
            }
            .into());
        }
        Ok(Self {
            hole: (lo, hi),
            ..self
        })
    }

    /// Rows of the full design (the held-out block included).
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// Columns.
    pub fn ncols(&self) -> usize {
        self.k
    }

    /// Rows used (the held-out block excluded).
    pub fn rows(&self) -> usize {
        self.stride - (self.hole.1 - self.hole.0)
    }

    fn col(&self, j: usize) -> &'a [f64] {
        &self.data[j * self.stride..(j + 1) * self.stride]
    }

    /// `out[i] = Σⱼ βⱼ zⱼ[i]` over the used rows (packed: rows after the hole follow).
    fn mul(&self, beta: &[f64], out: &mut [f64]) {
        let (lo, hi) = self.hole;
        out.iter_mut().for_each(|o| *o = 0.0);
        let (o1, o2) = out.split_at_mut(lo);
        for (j, &b) in beta.iter().enumerate() {
            let c = self.col(j);
            for (o, &v) in o1.iter_mut().zip(&c[..lo]) {
                *o += v * b;
            }
            for (o, &v) in o2.iter_mut().zip(&c[hi..]) {
                *o += v * b;
            }
        }
    }

    /// `Σᵢ vᵢ zⱼ[i]` over the used rows (`v` packed).
    fn tdot(&self, v: &[f64], j: usize) -> f64 {
        let (lo, hi) = self.hole;
        let c = self.col(j);
        dot(&v[..lo], &c[..lo]) + dot(&v[lo..], &c[hi..])
    }

    /// The used rows of `v` (full length `stride`), packed into `out`.
    fn gather(&self, v: &[f64], out: &mut Vec<f64>) {
        let (lo, hi) = self.hole;
        out.clear();
        out.extend_from_slice(&v[..lo]);
        out.extend_from_slice(&v[hi..]);
    }
}

/// Buffers of [`LeanLogitConfig::fit_into`], kept by the caller between fits (every buffer
/// is written before it is read: a stale value is never used).
#[derive(Debug, Clone, Default)]
pub struct LogitWorkspace {
    y: Vec<f64>,
    prior: Vec<f64>,
    eta: Vec<f64>,
    w: Vec<f64>,
    r: Vec<f64>,
    buf: Vec<f64>,
    h: Vec<f64>,
    g: Vec<f64>,
    beta: Vec<f64>,
    beta_prev: Vec<f64>,
    delta: Vec<f64>,
}

impl LogitWorkspace {
    /// The `f64` elements the buffers hold (their capacity), to bound what a caller keeps.
    pub fn capacity(&self) -> usize {
        [
            &self.y,
            &self.prior,
            &self.eta,
            &self.w,
            &self.r,
            &self.buf,
            &self.h,
            &self.g,
            &self.beta,
            &self.beta_prev,
            &self.delta,
        ]
        .iter()
        .fold(0usize, |a, v| a.saturating_add(v.capacity()))
    }
}

/// How a [`LeanLogitConfig::fit_into`] ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeanReport {
    /// Newton iterations (Hessian solves) made.
    pub iterations: usize,
    /// Step halvings made (0 when every full Newton step raised the likelihood).
    pub halvings: usize,
    /// The weighted log-likelihood at the last point evaluated (the final step, below the
    /// tolerance, is taken without another pass).
    pub log_likelihood: f64,
    /// How the fit ended.
    pub status: Status,
}

/// `v` with length `n`; its values are stale unless it grew (every buffer is written
/// before it is read).
fn sized(v: &mut Vec<f64>, n: usize) {
    if v.len() != n {
        v.clear();
        v.resize(n, 0.0);
    }
}

/// Whether every entry is finite, in one vectorizable pass.
fn all_finite(v: &[f64]) -> bool {
    let mut acc = [0.0f64; 8];
    let c = v.chunks_exact(8);
    let rest = c.remainder();
    for x in c {
        for l in 0..8 {
            acc[l] += x[l] * 0.0;
        }
    }
    let tail: f64 = rest.iter().map(|x| x * 0.0).sum();
    (acc.iter().sum::<f64>() + tail) == 0.0
}

impl LeanLogitConfig {
    /// Fits labels `y` (0/1, `design.stride()` long, read on the used rows) on `design`,
    /// with optional observation weights (same length, finite and > 0 on the used rows),
    /// from the start in `beta` (`design.ncols()` long, finite), which receives the
    /// coefficients on `Ok` (see the [module docs](super)). The buffers are `ws`'s.
    ///
    /// # Errors
    /// Bad settings, lengths, labels or weights, a non-finite start, no more used rows than
    /// columns, a design that is not of full rank ([`LearnError::Collinear`]). On an error
    /// `beta` is unchanged.
    pub fn fit_into(
        &self,
        design: &ColumnDesign<'_>,
        y: &[f64],
        weights: Option<&[f64]>,
        beta: &mut [f64],
        ws: &mut LogitWorkspace,
    ) -> LearnResult<LeanReport> {
        self.validate()?;
        let (n, k) = (design.stride, design.k);
        check_shape("y", &[n], &[y.len()])?;
        check_shape("start coefficients", &[k], &[beta.len()])?;
        check_finite("start coefficients", beta)?;
        if let Some(w) = weights {
            check_shape("weights", &[n], &[w.len()])?;
        }
        let (lo, hi) = design.hole;
        let used = (0..lo).chain(hi..n);
        // labels checked while gathered (the workspace is scratch), with the count of ones
        ws.y.clear();
        let mut ones = 0.0;
        for i in used.clone() {
            let v = y[i];
            if v != 0.0 && v != 1.0 {
                return Err(LearnError::NotBinary { index: i, value: v });
            }
            ones += v;
            ws.y.push(v);
        }
        if let Some(w) = weights {
            for i in used {
                if !(w[i].is_finite() && w[i] > 0.0) {
                    return Err(CoreError::OutOfRange {
                        field: "weights",
                        value: w[i],
                        expected: "finite and > 0",
                    }
                    .into());
                }
            }
        }
        let m = design.rows();
        if m <= k {
            return Err(LearnError::TooFewObservations { n: m, k });
        }
        match weights {
            Some(w) => design.gather(w, &mut ws.prior),
            None => ws.prior.clear(),
        }
        ws.beta.clear();
        ws.beta.extend_from_slice(beta);
        let report = newton(self, design, ws, ones)?;
        beta.copy_from_slice(&ws.beta);
        Ok(report)
    }
}

/// One sweep over the used rows at `ws.eta`: the variance weights into `ws.w`, the
/// residuals into `ws.r`, and the (weighted) log-likelihood.
fn sweep(ws: &mut LogitWorkspace) -> f64 {
    let m = ws.y.len();
    let LogitWorkspace {
        y, prior, eta, w, r, ..
    } = ws;
    if prior.is_empty() {
        // branch-free: the signs of η are a coin toss for the branch predictor
        let mut ll = 0.0;
        let mut wrong = 0.0f64;
        for c0 in (0..m).step_by(LL_CHUNK) {
            let c1 = (c0 + LL_CHUNK).min(m);
            let mut prod = 1.0f64;
            for i in c0..c1 {
                let et = eta[i];
                let e = (-et.abs()).exp();
                let d = 1.0 / (1.0 + e);
                let pos = et >= 0.0;
                let pi = if pos { d } else { e * d };
                let yi = y[i];
                w[i] = pi * (1.0 - pi);
                r[i] = yi - pi;
                wrong += if (yi == 1.0) != pos { et.abs() } else { 0.0 };
                prod *= 1.0 + e;
            }
            ll -= prod.ln();
        }
        ll - wrong
    } else {
        let mut ll = 0.0;
        for i in 0..m {
            let et = eta[i];
            let e = (-et.abs()).exp();
            let d = 1.0 / (1.0 + e);
            let pos = et >= 0.0;
            let pi = if pos { d } else { e * d };
            let (yi, pw) = (y[i], prior[i]);
            w[i] = pw * pi * (1.0 - pi);
            r[i] = pw * (yi - pi);
            let wrong = if (yi == 1.0) != pos { et.abs() } else { 0.0 };
            ll -= pw * (e.ln_1p() + wrong);
        }
        ll
    }
}

/// The intercept-only fit's intercept and log-likelihood, when both classes are present
/// (`ones` labels are 1).
fn null_fit(ws: &LogitWorkspace, ones: f64) -> Option<(f64, f64)> {
    let (w1, wt) = if ws.prior.is_empty() {
        (ones, ws.y.len() as f64)
    } else {
        (
            ws.y.iter().zip(&ws.prior).map(|(y, w)| y * w).sum::<f64>(),
            ws.prior.iter().sum::<f64>(),
        )
    };
    let p = w1 / wt;
    if !(p > 0.0 && p < 1.0) {
        return None;
    }
    let ll = w1 * p.ln() + (wt - w1) * (1.0 - p).ln();
    let b0 = (p / (1.0 - p)).ln();
    (ll.is_finite() && b0.is_finite()).then_some((b0, ll))
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0f64, |m, x| m.max(x.abs()))
}

/// Sizes the workspace's buffers for `m` rows and `k` coefficients and keeps the start.
fn size_buffers(ws: &mut LogitWorkspace, m: usize, k: usize) {
    sized(&mut ws.eta, m);
    sized(&mut ws.w, m);
    sized(&mut ws.r, m);
    sized(&mut ws.buf, m);
    sized(&mut ws.h, k * k);
    sized(&mut ws.g, k);
    sized(&mut ws.delta, k);
    ws.beta_prev.clear();
    ws.beta_prev.extend_from_slice(&ws.beta);
}

/// The score `g = Xᵀr` and the information `H = XᵀWX` (both triangles) from the sweep's
/// residuals `ws.r` and weights `ws.w`, one pass over the rows per column.
fn gradient_and_hessian(d: &ColumnDesign<'_>, ws: &mut LogitWorkspace) {
    let k = d.k;
    for j in 0..k {
        ws.g[j] = d.tdot(&ws.r, j);
    }
    let (lo, hi) = d.hole;
    for a in 0..k {
        let ca = d.col(a);
        let (b1, b2) = ws.buf.split_at_mut(lo);
        let (w1, w2) = ws.w.split_at(lo);
        for ((u, &wi), &za) in b1.iter_mut().zip(w1).zip(&ca[..lo]) {
            *u = wi * za;
        }
        for ((u, &wi), &za) in b2.iter_mut().zip(w2).zip(&ca[hi..]) {
            *u = wi * za;
        }
        for b in a..k {
            let v = d.tdot(&ws.buf, b);
            ws.h[a * k + b] = v;
            ws.h[b * k + a] = v;
        }
    }
}

/// Whether the Newton step just taken (largest entry `dmax`, coefficients' largest `bmax`,
/// the previous step's largest `step_prev`) ends the fit.
///
/// Newton converges quadratically: a step this small leaves an error of its square, so it is
/// taken without another pass over the data; in the quadratic phase (a small step, ten times
/// smaller than the one before) the next step is about c·dmax² with c = dmax / prev², and
/// below `quadratic_stop` the confirming pass is spared.
fn step_is_final(config: &LeanLogitConfig, dmax: f64, bmax: f64, step_prev: f64) -> bool {
    let q = config.quadratic_stop;
    dmax <= config.tolerance * (1.0 + bmax)
        || (q > 0.0
            && dmax <= 1e-3 * (1.0 + bmax)
            && dmax <= 0.1 * step_prev
            && dmax * dmax * (dmax / (step_prev * step_prev)) <= q * (1.0 + bmax))
}

/// Moves a start worse than the intercept-only fit (`null`: its intercept and likelihood) to
/// that fit; true when it did.
fn restart_from_null(ws: &mut LogitWorkspace, null: Option<(f64, f64)>, ll: f64) -> bool {
    let Some((b0, ll_null)) = null else {
        return false;
    };
    if !(ll.is_nan() || ll < ll_null - 1e-12 * ll_null.abs().max(1.0)) {
        return false;
    }
    ws.beta.iter_mut().for_each(|b| *b = 0.0);
    ws.beta[0] = b0;
    ws.beta_prev.copy_from_slice(&ws.beta);
    true
}

/// How a fit ends when the information matrix does not factor at `column` (log-likelihood
/// `ll` of `m` rows with total weight `total`, at iteration `it`): separation when the fit is
/// already near perfect, a collinear design on the first iteration, otherwise a numerical
/// failure.
fn factor_failure(ll: f64, total: f64, m: usize, it: usize, column: usize) -> LearnResult<Status> {
    if -ll < 1e-6 * total {
        Ok(Status::Separation {
            kind: SeparationKind::Complete,
            observations: m,
        })
    } else if it == 1 {
        Err(LearnError::Collinear { column })
    } else {
        Ok(Status::Numerical {
            message: format!("Hessian not positive definite at column {column}"),
        })
    }
}

/// Newton–Raphson with step halving from `ws.beta`, which holds the result.
fn newton(
    config: &LeanLogitConfig,
    d: &ColumnDesign<'_>,
    ws: &mut LogitWorkspace,
    ones: f64,
) -> LearnResult<LeanReport> {
    let (m, k) = (ws.y.len(), d.k);
    let total = if ws.prior.is_empty() {
        m as f64
    } else {
        ws.prior.iter().sum::<f64>()
    };
    size_buffers(ws, m, k);
    let null = if d.intercept { null_fit(ws, ones) } else { None };
    let mut status = Status::IterationLimit {
        iterations: config.max_iterations,
    };
    let mut ll_prev = f64::NEG_INFINITY;
    let mut ll_last = f64::NEG_INFINITY;
    let mut step_prev = f64::INFINITY;
    let mut t = 1.0f64;
    let (mut halvings, mut in_a_row) = (0usize, 0usize);
    let mut it = 0usize;
    let mut first = true;
    loop {
        d.mul(&ws.beta, &mut ws.eta);
        let ll = sweep(ws);
        if first {
            first = false;
            if restart_from_null(ws, null, ll) {
                continue;
            }
        }
        if !ll.is_finite() || ll < ll_prev - 1e-12 * ll_prev.abs().max(1.0) {
            if it == 0 {
                status = Status::Numerical {
                    message: "the start's likelihood is not finite".into(),
                };
                break;
            }
            // the step lowered the likelihood: halve it and re-evaluate
            halvings = halvings.saturating_add(1);
            in_a_row += 1;
            if in_a_row > MAX_HALVINGS {
                status = Status::Numerical {
                    message: "line search found no ascent".into(),
                };
                ws.beta.copy_from_slice(&ws.beta_prev);
                break;
            }
            t *= 0.5;
            for j in 0..k {
                ws.beta[j] = ws.beta_prev[j] + t * ws.delta[j];
            }
            continue;
        }
        ll_last = ll;
        if in_a_row > 0 {
            in_a_row = 0;
            // the halved step is accepted: was it small enough?
            let dmax = max_abs(&ws.delta) * t;
            if dmax <= config.tolerance * (1.0 + max_abs(&ws.beta)) {
                status = Status::Converged;
                break;
            }
        }
        if -ll < 1e-9 * total {
            status = Status::Separation {
                kind: SeparationKind::Complete,
                observations: m,
            };
            break;
        }
        if it >= config.max_iterations {
            break;
        }
        it += 1;
        gradient_and_hessian(d, ws);
        let chol = match SmallCholesky::new(&ws.h, k, LEAN_PIVOT) {
            Ok(c) => c,
            Err(column) => {
                status = factor_failure(ll, total, m, it, column)?;
                break;
            }
        };
        ws.delta.copy_from_slice(&ws.g);
        chol.solve(&mut ws.delta)?;
        if !ws.delta.iter().all(|v| v.is_finite()) {
            status = Status::Numerical {
                message: "non-finite Newton step".into(),
            };
            break;
        }
        ll_prev = ll;
        ws.beta_prev.copy_from_slice(&ws.beta);
        t = 1.0;
        for j in 0..k {
            ws.beta[j] += ws.delta[j];
        }
        let dmax = max_abs(&ws.delta);
        if step_is_final(config, dmax, max_abs(&ws.beta), step_prev) {
            status = Status::Converged;
            break;
        }
        step_prev = dmax;
    }
    if !ws.beta.iter().all(|v| v.is_finite()) {
        return Err(LearnError::Overflow {
            what: "logistic coefficients",
        });
    }
    Ok(LeanReport {
        iterations: it,
        halvings,
        log_likelihood: ll_last.min(0.0),
        status,
    })
}

/// A fitted lean logistic regression (intercept first). Deserialization validates it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct LeanLogit {
    n_features: usize,
    coefficients: Vec<f64>,
    iterations: usize,
    status: Status,
}
prudentia_core::checked_serde!(LeanLogit, LeanLogit::check);

impl LeanLogit {
    fn check(&mut self) -> LearnResult<()> {
        check_size("n_features", self.n_features, MAX_DIM)?;
        check_shape("coefficients", &[self.n_features + 1], &[self.coefficients.len()])?;
        check_finite("coefficients", &self.coefficients)?;
        check_size("iterations", self.iterations, MAX_ITERATIONS)?;
        Ok(())
    }

    /// Number of features (the intercept not counted).
    pub fn n_features(&self) -> usize {
        self.n_features
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
    pub fn predict_proba(&self, x: ArrayView2<'_, f64>) -> LearnResult<Array1<f64>> {
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

impl Predict for LeanLogit {
    type Output = Array1<f64>;
    type Error = LearnError;
    fn predict(&self, x: ArrayView2<'_, f64>) -> LearnResult<Array1<f64>> {
        self.predict_proba(x)
    }
}

impl<'a> Fit<BinaryData<'a>> for LeanLogitConfig {
    type Model = LeanLogit;
    type Error = LearnError;
    fn fit(&self, data: &BinaryData<'a>) -> LearnResult<LeanLogit> {
        self.fit_xy(data)
    }
}

impl LeanLogitConfig {
    /// Fits `data` (row-major or any layout; observation weights allowed) with an
    /// intercept, from zero, on a power-of-two-scaled column-major copy of `[1, x]`.
    ///
    /// # Errors
    /// Bad settings, shapes or values, labels that are not 0/1, no more observations than
    /// coefficients, a design that is not of full rank, coefficients beyond `f64`.
    pub fn fit_xy(&self, data: &BinaryData<'_>) -> LearnResult<LeanLogit> {
        self.validate()?;
        let x = data.x;
        let (n, p) = x.dim();
        check_len("x (rows)", n, 1)?;
        check_size("x (rows)", n, MAX_WINDOW)?;
        check_size("x (columns)", p, MAX_DIM)?;
        check_elements("x", &[n, p + 1], MAX_ELEMENTS)?;
        check_shape("y", &[n], &[data.y.len()])?;
        check_finite_2d("x", x)?;
        prudentia_core::validate::check_finite_1d("y", data.y)?;
        let y: Vec<f64> = data.y.to_vec();
        let w: Option<Vec<f64>> = data.weights.map(|w| w.to_vec());
        if let Some(w) = &w {
            check_shape("weights", &[n], &[w.len()])?;
        }
        let k = p + 1;
        let mut scale = vec![1.0; k];
        let mut z = vec![1.0; n * k];
        for (j, c) in x.columns().into_iter().enumerate() {
            let s = pow2_scale(c.iter().fold(0.0f64, |m, v| m.max(v.abs())));
            scale[j + 1] = s;
            for (o, v) in z[(j + 1) * n..(j + 2) * n].iter_mut().zip(c) {
                *o = v / s;
            }
        }
        let design = ColumnDesign::new(&z, n, k, true)?;
        let mut beta = vec![0.0; k];
        let report = self.fit_into(
            &design,
            &y,
            w.as_deref(),
            &mut beta,
            &mut LogitWorkspace::default(),
        )?;
        let coefficients: Vec<f64> = beta.iter().zip(&scale).map(|(b, s)| b / s).collect();
        if coefficients.iter().any(|c| !c.is_finite()) {
            return Err(LearnError::Overflow {
                what: "logistic coefficients",
            });
        }
        Ok(LeanLogit {
            n_features: p,
            coefficients,
            iterations: report.iterations,
            status: report.status,
        })
    }
}
