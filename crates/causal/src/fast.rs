//! The DR-learner's fast path: cross-fitting with the default nuisance models (the crate's
//! [`LogitConfig`] propensity and prudentia-learn's unpenalized OLS outcome models) and the
//! final-stage OLS with HC0/HC1 errors, from per-fold sufficient statistics.
//!
//! The units are put in (fold, arm) order and the covariates centred on their means and
//! scaled by powers of two, column-major. One pass gives the Gram matrix of `[1, x, y]` of
//! every (fold, arm) block; a training set's normal equations are then sums of blocks (no
//! pass over the data per fold, no subtraction), for the pooled model `[1, x, D]` as for
//! one model per arm. The logistic propensity is prudentia-learn's lean Newton–Raphson
//! ([`LeanLogitConfig::fit_into`] on the column-major design without the fold's rows) from a
//! warm start (the linear-probability fit rescaled for the first fold, the previous fold's
//! solution for the next ones), each iteration one pass over the training rows with
//! vectorizable column sweeps, stopping by [`LogitConfig`]'s rule (a step below
//! `tolerance · (1 + max|β|)`) or in the quadratic phase ([`QUADRATIC_STOP`]).
//!
//! The fast path only takes the well-behaved case and hands everything else to the
//! reference path (the generic nuisance models and prudentia-learn's regression, which own
//! the errors and statuses): a design whose pivots are small (`1 − R²` of a column on the
//! previous ones below [`HANDOFF_PIVOT`], measured as prudentia-learn measures it, on the
//! uncentred columns), a likelihood that falls (line search needed), separation, the
//! iteration limit, or any non-finite value. Both paths solve the same problems: the
//! fast path's estimates agree with the reference path's to about 1e-10 (tested).

// index loops over parallel arrays read best as such
#![allow(clippy::needless_range_loop)]

use std::cell::Cell;

use ndarray::{Array1, ArrayView1};
use prudentia_core::Status;

use crate::data::CausalData;
use crate::dr::{aipw, summarize, CrossFit, FinalCovariance, OutcomeModel, PsiSummary};
use crate::error::{CausalError, CausalResult};
use crate::linalg::{dot, pow2_scale, sandwich, Cholesky};
use crate::logit::LogitConfig;
use prudentia_learn::logistic::{ColumnDesign, LeanLogitConfig, LogitWorkspace};

/// Relative pivots (prudentia-learn's measure) below this go to the reference path; it
/// reports collinearity at 1e-13 and reduced accuracy below 1e-10, and refines its solve
/// below 1e-4 (to the accuracy of this path's centred solve).
pub(crate) const HANDOFF_PIVOT: f64 = 1e-9;

/// The propensity's Newton iteration stops when the next step is predicted (quadratic
/// convergence) below this times `1 + max|β|`: the coefficients are then within about that
/// of the maximum, and the DR estimates unchanged to about 1e-10.
const QUADRATIC_STOP: f64 = 1e-11;

/// The final stage's coefficients and covariance, in the caller's units.
#[derive(Debug, Clone)]
pub(crate) struct FinalFit {
    pub coefficients: Vec<f64>,
    pub std_errors: Vec<f64>,
    /// row-major `k × k`
    pub correlation: Vec<f64>,
    pub status: Status,
}

/// Out-of-fold nuisances in the caller's row order (the reference path's output).
pub(crate) struct Nuisances {
    pub raw_propensity: Array1<f64>,
    pub mu0: Array1<f64>,
    pub mu1: Array1<f64>,
}

/// Buffers kept between fits on the same thread (at most [`KEEP_ELEMENTS`] of them), so
/// that a fit does not allocate and page-fault its working memory afresh. Every buffer is
/// written before it is read in a fit: a stale value is never used.
#[derive(Default)]
pub(crate) struct Workspace {
    /// the fold of every unit (caller's order)
    pub labels: Vec<usize>,
    /// the units in the order the folds are dealt (scratch of the fold assignment)
    pub order: Vec<usize>,
    /// `perm[pos]` is the caller's row at position `pos`
    perm: Vec<usize>,
    /// column-major `kx × n`, column 0 the ones, column `j` `(x_{j-1} − m) / s`
    z: Vec<f64>,
    /// treatment, position order
    t: Vec<f64>,
    /// `(y − ȳ) / s_y`, position order
    y: Vec<f64>,
    /// per block, the Gram matrix of `[1, z, y]` (`(kx + 1)²`, row-major), one after another
    blocks: Vec<f64>,
    /// out-of-fold nuisances and pseudo-outcomes, position order
    raw: Vec<f64>,
    mu0: Vec<f64>,
    mu1: Vec<f64>,
    psi: Vec<f64>,
    /// the final stage's residuals and fitted values
    e: Vec<f64>,
    fit: Vec<f64>,
    /// the propensity fits' buffers
    logit: LogitWorkspace,
}

/// The most `f64`/`usize` elements a thread keeps between fits (8 MB).
const KEEP_ELEMENTS: usize = 1 << 20;

thread_local! {
    static WORKSPACE: Cell<Option<Box<Workspace>>> = const { Cell::new(None) };
}

impl Workspace {
    /// This thread's kept buffers (empty ones the first time).
    pub fn take() -> Box<Self> {
        WORKSPACE.try_with(Cell::take).ok().flatten().unwrap_or_default()
    }

    fn elements(&self) -> usize {
        [
            self.labels.capacity(),
            self.order.capacity(),
            self.perm.capacity(),
            self.z.capacity(),
            self.t.capacity(),
            self.y.capacity(),
            self.blocks.capacity(),
            self.raw.capacity(),
            self.mu0.capacity(),
            self.mu1.capacity(),
            self.psi.capacity(),
            self.e.capacity(),
            self.fit.capacity(),
            self.logit.capacity(),
        ]
        .iter()
        .fold(0usize, |a, &b| a.saturating_add(b))
    }

    /// Keeps the buffers for the thread's next fit when they are not too large.
    fn give_back(self: Box<Self>) {
        if self.elements() <= KEEP_ELEMENTS {
            // at thread exit the buffers are simply dropped
            let _ = WORKSPACE.try_with(|c| c.set(Some(self)));
        }
    }
}

/// `v` with length `n`; its values are stale (from an earlier fit) unless it grew.
fn sized<T: Copy + Default>(v: &mut Vec<T>, n: usize) -> &mut [T] {
    if v.len() != n {
        v.clear();
        v.resize(n, T::default());
    }
    v
}

/// The data in (fold, arm) order, centred and scaled, with the blocks' Gram matrices.
pub(crate) struct Prepared {
    n: usize,
    /// columns of `[1, z]`
    kx: usize,
    /// block `b = 2 f + d` (fold `f`, arm `d`) holds positions `start[b]..start[b + 1]`
    start: Vec<usize>,
    folds: usize,
    /// `m / s` per column (0 for the intercept)
    shift: Vec<f64>,
    /// the covariates' means `m`
    mean: Vec<f64>,
    /// `s` per column (1 for the intercept)
    scale: Vec<f64>,
    y_mean: f64,
    y_scale: f64,
    ws: Box<Workspace>,
}

impl Drop for Prepared {
    fn drop(&mut self) {
        std::mem::take(&mut self.ws).give_back();
    }
}

fn finite_scale(max_abs: f64) -> Option<f64> {
    let s = pow2_scale(max_abs);
    (max_abs.is_finite() && s.is_finite() && s > 0.0).then_some(s)
}

fn all_finite(v: &[f64]) -> bool {
    v.iter().all(|x| x.is_finite())
}

/// `out[i] = Σ_j β_j z_j[i]` over `range` of a column-major design with columns of length
/// `stride`.
fn z_mul(z: &[f64], stride: usize, beta: &[f64], lo: usize, hi: usize, out: &mut [f64]) {
    out.iter_mut().for_each(|o| *o = 0.0);
    for (j, &b) in beta.iter().enumerate() {
        let col = &z[j * stride + lo..j * stride + hi];
        for (o, &v) in out.iter_mut().zip(col) {
            *o += v * b;
        }
    }
}

/// Gram matrix `Σ wᵢ cᵢ cᵢᵀ` (or unweighted) of `cols` (each the same length) into `out`
/// (`k × k`, row-major, symmetric), using `buf` (that length) as scratch.
fn gram(cols: &[&[f64]], w: Option<&[f64]>, buf: &mut [f64], out: &mut [f64]) {
    let k = cols.len();
    for a in 0..k {
        let ca: &[f64] = match w {
            Some(w) => {
                for ((u, &x), &wi) in buf.iter_mut().zip(cols[a]).zip(w) {
                    *u = x * wi;
                }
                buf
            }
            None => cols[a],
        };
        for b in a..k {
            let v = dot(ca, cols[b]);
            out[a * k + b] = v;
            out[b * k + a] = v;
        }
    }
}

/// Cholesky factor of `g` (`k × k`) whose relative pivots, measured on the uncentred
/// columns (column `j` is `z_j + shift_j`, column 0 the intercept, `count` rows), stay above
/// [`HANDOFF_PIVOT`].
fn factor(g: &[f64], k: usize, shift: &[f64], count: f64) -> Option<Cholesky> {
    let c = Cholesky::new(g, k).ok()?;
    for j in 1..k {
        let s = shift[j];
        let raw = g[j * k + j] + 2.0 * s * g[j] + count * s * s;
        if !(raw.is_finite() && c.pivots[j] >= HANDOFF_PIVOT * raw) {
            return None;
        }
    }
    Some(c)
}

impl Prepared {
    /// The data prepared in `ws` (whose `labels` hold the folds, `0..folds`); `Err(ws)`
    /// when a mean or scale is not finite (the reference path handles such data).
    pub fn new(data: &CausalData<'_>, mut ws: Box<Workspace>, folds: usize) -> Result<Self, Box<Workspace>> {
        let (n, p) = data.x.dim();
        let kx = p + 1;
        let kw = kx + 1;
        let Some(m) = prepare(data, &mut ws, folds) else {
            return Err(ws);
        };
        debug_assert_eq!(m.scale.len(), kx);
        debug_assert_eq!(ws.blocks.len(), 2 * folds * kw * kw);
        Ok(Self {
            n,
            kx,
            start: m.start,
            folds,
            shift: m.shift,
            mean: m.mean,
            scale: m.scale,
            y_mean: m.y_mean,
            y_scale: m.y_scale,
            ws,
        })
    }

    /// The covariates' means.
    pub fn means(&self) -> &[f64] {
        &self.mean
    }

    /// The fold of every unit.
    pub fn labels(&self) -> &[usize] {
        &self.ws.labels
    }

    /// The rank check of `[1, x]` (as `linalg::check_rank`, from the blocks): `Err(column)`
    /// for the first column (intercept = 0) that is a combination of the previous ones, on
    /// the centred, unit-scaled correlation matrix.
    pub fn check_rank(&self) -> Result<(), usize> {
        let (n, kx) = (self.n as f64, self.kx);
        let p = kx - 1;
        if p == 0 {
            return Ok(());
        }
        let kw = kx + 1;
        let (g0, g1) = (self.train_gram(self.folds, 0), self.train_gram(self.folds, 1));
        let g = |a: usize, b: usize| g0[a * kw + b] + g1[a * kw + b];
        // centred cross products (the columns are centred up to rounding)
        let c = |a: usize, b: usize| g(a, b) - g(0, a) * g(0, b) / n;
        let mut norm = vec![0.0; p];
        for j in 0..p {
            let v = c(j + 1, j + 1);
            if v.is_nan() || v <= 0.0 {
                return Err(j + 1);
            }
            norm[j] = v.sqrt();
        }
        let mut r = vec![0.0; p * p];
        for a in 0..p {
            for b in 0..p {
                r[a * p + b] = if a == b {
                    1.0
                } else {
                    c(a + 1, b + 1) / (norm[a] * norm[b])
                };
            }
        }
        Cholesky::new(&r, p).map(|_| ()).map_err(|j| j + 1)
    }

    /// The sum of the blocks of `arm` outside fold `f` (all folds for `f = folds`).
    fn train_gram(&self, f: usize, arm: usize) -> Vec<f64> {
        let kw = self.kx + 1;
        let size = kw * kw;
        let mut g = vec![0.0; size];
        for h in (0..self.folds).filter(|&h| h != f) {
            let b = 2 * h + arm;
            for (a, b) in g.iter_mut().zip(&self.ws.blocks[b * size..(b + 1) * size]) {
                *a += b;
            }
        }
        g
    }

    /// The cross-fitted nuisances (kept in position order); `false` for the reference path.
    pub fn cross_fit(&mut self, logit: &LogitConfig, outcome_model: OutcomeModel) -> bool {
        self.try_cross_fit(logit, outcome_model).is_some()
    }

    fn try_cross_fit(&mut self, logit: &LogitConfig, outcome_model: OutcomeModel) -> Option<()> {
        // the design is read while the other buffers are written: held apart for the fit
        let z = std::mem::take(&mut self.ws.z);
        let done = self.cross_fit_on(&z, logit, outcome_model);
        self.ws.z = z;
        done
    }

    fn cross_fit_on(&mut self, z: &[f64], logit: &LogitConfig, outcome_model: OutcomeModel) -> Option<()> {
        let (n, kx) = (self.n, self.kx);
        let kw = kx + 1;
        // prudentia-learn's lean logistic fit, with the quadratic-phase stop
        let lean = LeanLogitConfig {
            quadratic_stop: QUADRATIC_STOP,
            ..logit.lean()
        };
        let design = ColumnDesign::new(z, n, kx, true).ok()?;
        let mut beta_logit: Option<Vec<f64>> = None;
        for f in 0..self.folds {
            let (lo, hi) = (self.start[2 * f], self.start[2 * f + 2]);
            let g0 = self.train_gram(f, 0);
            let g1 = self.train_gram(f, 1);
            let (n0, n1) = (g0[0], g1[0]);
            let ntr = n0 + n1;
            let sub = |g: &[f64], a: usize, b: usize| g[a * kw + b];
            let (y_mean, y_scale) = (self.y_mean, self.y_scale);
            let ws = &mut self.ws;
            let mu0 = sized(&mut ws.mu0, n);
            let mu1 = sized(&mut ws.mu1, n);
            // outcome models in the scaled units: μ = ȳ + s_y z·β
            match outcome_model {
                OutcomeModel::Pooled => {
                    let kp = kx + 1;
                    if ntr <= kp as f64 {
                        return None;
                    }
                    let mut g = vec![0.0; kp * kp];
                    let mut r = vec![0.0; kp];
                    for a in 0..kx {
                        for b in 0..kx {
                            g[a * kp + b] = sub(&g0, a, b) + sub(&g1, a, b);
                        }
                        g[a * kp + kx] = sub(&g1, a, 0);
                        g[kx * kp + a] = sub(&g1, a, 0);
                        r[a] = sub(&g0, a, kx) + sub(&g1, a, kx);
                    }
                    g[kx * kp + kx] = n1;
                    r[kx] = sub(&g1, 0, kx);
                    let mut shift = self.shift.clone();
                    shift.push(0.0);
                    let c = factor(&g, kp, &shift, ntr)?;
                    c.solve(&mut r);
                    if !all_finite(&r) {
                        return None;
                    }
                    z_mul(z, n, &r[..kx], lo, hi, &mut mu0[lo..hi]);
                    for (m0, m1) in mu0[lo..hi].iter_mut().zip(&mut mu1[lo..hi]) {
                        let v = *m0;
                        *m0 = y_mean + y_scale * v;
                        *m1 = y_mean + y_scale * (v + r[kx]);
                    }
                }
                OutcomeModel::PerArm => {
                    for (g, mu) in [(&g0, &mut *mu0), (&g1, &mut *mu1)] {
                        let count = g[0];
                        if count <= kx as f64 {
                            return None;
                        }
                        let mut a = vec![0.0; kx * kx];
                        let mut r = vec![0.0; kx];
                        for i in 0..kx {
                            for j in 0..kx {
                                a[i * kx + j] = sub(g, i, j);
                            }
                            r[i] = sub(g, i, kx);
                        }
                        let c = factor(&a, kx, &self.shift, count)?;
                        c.solve(&mut r);
                        if !all_finite(&r) {
                            return None;
                        }
                        let out = &mut mu[lo..hi];
                        z_mul(z, n, &r, lo, hi, out);
                        out.iter_mut().for_each(|v| *v = y_mean + y_scale * *v);
                    }
                }
            }
            if !(all_finite(&mu0[lo..hi]) && all_finite(&mu1[lo..hi])) {
                return None;
            }
            // propensity: Newton from a warm start
            let mut gx = vec![0.0; kx * kx];
            for a in 0..kx {
                for b in 0..kx {
                    gx[a * kx + b] = sub(&g0, a, b) + sub(&g1, a, b);
                }
            }
            let start = match beta_logit.take() {
                Some(b) => b,
                None => lpm_start(&gx, &g1, kx, kw, n1, ntr)?,
            };
            let mut beta = start;
            let report = lean
                .fit_into(
                    &design.holding_out(lo, hi).ok()?,
                    &ws.t,
                    None,
                    &mut beta,
                    &mut ws.logit,
                )
                .ok()?;
            // only the well-behaved case: converged by full Newton steps, far from
            // separation; the reference path's fit decides the others
            if !(report.status.is_converged() && report.halvings == 0 && -report.log_likelihood >= 1e-6 * ntr)
            {
                return None;
            }
            let raw = sized(&mut ws.raw, n);
            let out = &mut raw[lo..hi];
            z_mul(z, n, &beta, lo, hi, out);
            out.iter_mut().for_each(|v| *v = sigmoid(*v));
            beta_logit = Some(beta);
        }
        Some(())
    }

    /// The AIPW pseudo-outcomes from the fast nuisances (position order, kept for
    /// [`Self::final_fit`]), with their summary.
    ///
    /// # Errors
    /// [`CausalError::Overflow`] for a non-finite pseudo-outcome.
    pub fn pseudo_outcomes(&mut self, outcome: ArrayView1<'_, f64>, clip: f64) -> CausalResult<PsiSummary> {
        let n = self.n;
        let ws = &mut self.ws;
        let psi = sized(&mut ws.psi, n);
        let rows = ws
            .perm
            .iter()
            .zip(&ws.t)
            .zip(&ws.raw)
            .zip(ws.mu0.iter().zip(&ws.mu1));
        for (out, (((&i, &d), &e), (&m0, &m1))) in psi.iter_mut().zip(rows) {
            *out = aipw(outcome[i], d, e.clamp(clip, 1.0 - clip), m0, m1);
        }
        if !all_finite(psi) {
            return Err(CausalError::Overflow {
                what: "pseudo-outcomes",
            });
        }
        Ok(summarize(psi, &ws.raw, &ws.t, clip))
    }

    /// Loads pseudo-outcomes in the caller's order (the reference nuisances') for
    /// [`Self::final_fit`].
    pub fn load_psi(&mut self, psi: &Array1<f64>) {
        let ws = &mut self.ws;
        for (out, &i) in sized(&mut ws.psi, self.n).iter_mut().zip(&ws.perm) {
            *out = psi[i];
        }
    }

    /// The pseudo-outcomes in the caller's order.
    pub fn psi_caller(&self) -> Array1<f64> {
        let mut out = Array1::zeros(self.n);
        for (&i, &v) in self.ws.perm.iter().zip(&self.ws.psi) {
            out[i] = v;
        }
        out
    }

    /// The fast nuisances and pseudo-outcomes in the caller's order.
    pub fn cross_fit_caller(&self, treatment: ArrayView1<'_, f64>, clip: f64) -> CrossFit {
        let n = self.n;
        let ws = &self.ws;
        let mut raw = Array1::zeros(n);
        let mut mu0 = Array1::zeros(n);
        let mut mu1 = Array1::zeros(n);
        for (pos, &i) in ws.perm.iter().enumerate() {
            raw[i] = ws.raw[pos];
            mu0[i] = ws.mu0[pos];
            mu1[i] = ws.mu1[pos];
        }
        CrossFit {
            folds: ws.labels.clone(),
            propensity: raw.mapv(|e: f64| e.clamp(clip, 1.0 - clip)),
            raw_propensity: raw,
            mu0,
            mu1,
            pseudo_outcome: self.psi_caller(),
            treatment: treatment.to_owned(),
        }
    }

    /// The final-stage OLS of the loaded pseudo-outcomes on `[1, x]` with HC0/HC1 errors,
    /// or `None` for the reference path.
    pub fn final_fit(&mut self, covariance: FinalCovariance) -> Option<FinalFit> {
        let (n, kx) = (self.n, self.kx);
        let kw = kx + 1;
        let all = self.train_gram(self.folds, 0);
        let treated = self.train_gram(self.folds, 1);
        let mut g = vec![0.0; kx * kx];
        for a in 0..kx {
            for b in 0..kx {
                g[a * kx + b] = all[a * kw + b] + treated[a * kw + b];
            }
        }
        let c = factor(&g, kx, &self.shift, n as f64)?;
        let ws = &mut self.ws;
        let psi = &ws.psi[..n];
        let mean = sum(psi) / n as f64;
        if !mean.is_finite() {
            return None;
        }
        let sp = finite_scale(psi.iter().fold(0.0f64, |m, v| m.max((v - mean).abs())))?;
        let e = sized(&mut ws.e, n);
        for (r, &v) in e.iter_mut().zip(psi) {
            *r = (v - mean) / sp;
        }
        let col = |j: usize| &ws.z[j * n..(j + 1) * n];
        let mut beta: Vec<f64> = (0..kx).map(|j| dot(col(j), e)).collect();
        c.solve(&mut beta);
        if !all_finite(&beta) {
            return None;
        }
        let fit = sized(&mut ws.fit, n);
        z_mul(&ws.z, n, &beta, 0, n, fit);
        for (r, f) in e.iter_mut().zip(fit.iter()) {
            *r -= f;
            *r *= *r;
        }
        let cols: Vec<&[f64]> = (0..kx).map(col).collect();
        let mut meat = vec![0.0; kx * kx];
        gram(&cols, Some(e), fit, &mut meat);
        let bread = c.inverse();
        let mut v = sandwich(&bread, &meat, kx);
        if covariance == FinalCovariance::Hc1 {
            let f = n as f64 / (n - kx) as f64;
            v.iter_mut().for_each(|x| *x *= f);
        }
        self.unscale(mean, sp, &beta, &v)
    }

    /// The final stage's coefficients and covariance back in the caller's units, from the
    /// centred, scaled ones (`β`, `v`) of `(ψ − mean) / sp`.
    fn unscale(&self, mean: f64, sp: f64, beta: &[f64], v: &[f64]) -> Option<FinalFit> {
        let kx = self.kx;
        // back to the uncentred columns: intercept row [1, −shift], then unscale
        let mut tm = vec![0.0; kx * kx];
        tm[0] = 1.0;
        for j in 1..kx {
            tm[j] = -self.shift[j];
            tm[j * kx + j] = 1.0;
        }
        let mut tv = vec![0.0; kx * kx];
        for i in 0..kx {
            for j in 0..kx {
                tv[i * kx + j] = (0..kx).map(|l| tm[i * kx + l] * v[l * kx + j]).sum();
            }
        }
        let mut w = vec![0.0; kx * kx];
        for i in 0..kx {
            for j in 0..kx {
                w[i * kx + j] = (0..kx).map(|l| tv[i * kx + l] * tm[j * kx + l]).sum();
            }
        }
        let mut coefficients = vec![0.0; kx];
        let mut std_errors = vec![0.0; kx];
        coefficients[0] = mean + sp * (beta[0] - (1..kx).map(|j| beta[j] * self.shift[j]).sum::<f64>());
        std_errors[0] = sp * w[0].max(0.0).sqrt();
        for j in 1..kx {
            coefficients[j] = sp * beta[j] / self.scale[j];
            std_errors[j] = sp * w[j * kx + j].max(0.0).sqrt() / self.scale[j];
        }
        if !(all_finite(&coefficients) && all_finite(&std_errors)) {
            return None;
        }
        let mut correlation = vec![0.0; kx * kx];
        for i in 0..kx {
            correlation[i * kx + i] = 1.0;
            for j in i + 1..kx {
                let den = w[i * kx + i].max(0.0).sqrt() * w[j * kx + j].max(0.0).sqrt();
                let r = if den > 0.0 {
                    (0.5 * (w[i * kx + j] + w[j * kx + i]) / den).clamp(-1.0, 1.0)
                } else {
                    0.0
                };
                let r = if r.is_finite() { r } else { 0.0 };
                correlation[i * kx + j] = r;
                correlation[j * kx + i] = r;
            }
        }
        Some(FinalFit {
            coefficients,
            std_errors,
            correlation,
            status: Status::Converged,
        })
    }
}

/// What [`prepare`] computes besides the workspace's buffers.
struct Meta {
    start: Vec<usize>,
    shift: Vec<f64>,
    mean: Vec<f64>,
    scale: Vec<f64>,
    y_mean: f64,
    y_scale: f64,
}

/// Puts the units in (fold, arm) order (from `ws.labels`), centres and scales the
/// covariates into `ws.z` and the outcome into `ws.y`, and forms the blocks' Gram matrices;
/// `None` when a mean or scale is not finite.
fn prepare(data: &CausalData<'_>, ws: &mut Workspace, folds: usize) -> Option<Meta> {
    let (n, p) = data.x.dim();
    let kx = p + 1;
    let kw = kx + 1;
    let t_in = data.treatment;
    let Workspace {
        labels,
        perm,
        z,
        t,
        y,
        blocks,
        ..
    } = ws;
    let mut start = vec![0usize; 2 * folds + 1];
    for (&l, &d) in labels.iter().zip(t_in) {
        start[2 * l + usize::from(d == 1.0) + 1] += 1;
    }
    for b in 0..2 * folds {
        start[b + 1] += start[b];
    }
    let mut next = start.clone();
    let perm = sized(perm, n);
    for (i, (&l, &d)) in labels.iter().zip(t_in).enumerate() {
        let b = 2 * l + usize::from(d == 1.0);
        perm[next[b]] = i;
        next[b] += 1;
    }
    // means, then the largest deviation, per column, over a row-major copy if need be
    let xs = data.x.as_standard_layout();
    let xs = xs.as_slice()?;
    let nf = n as f64;
    let mut mean = vec![0.0; p];
    for row in xs.chunks_exact(p.max(1)).take(n) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += v;
        }
    }
    mean.iter_mut().for_each(|m| *m /= nf);
    if !all_finite(&mean) {
        return None;
    }
    let mut dev = vec![0.0f64; p];
    for row in xs.chunks_exact(p.max(1)).take(n) {
        for ((d, &v), &m) in dev.iter_mut().zip(row).zip(&mean) {
            *d = d.max((v - m).abs());
        }
    }
    let mut scale = vec![1.0; kx];
    let mut shift = vec![0.0; kx];
    // dividing by a power of two is multiplying by its (exact) inverse
    let mut inv = vec![1.0; p];
    for j in 0..p {
        scale[j + 1] = finite_scale(dev[j])?;
        shift[j + 1] = mean[j] / scale[j + 1];
        inv[j] = 1.0 / scale[j + 1];
        if !(inv[j].is_finite() && inv[j] > 0.0) {
            return None;
        }
    }
    let z = sized(z, kx * n);
    z[..n].iter_mut().for_each(|v| *v = 1.0);
    let t = sized(t, n);
    let y = sized(y, n);
    let y_mean = data.outcome.iter().sum::<f64>() / nf;
    if !y_mean.is_finite() {
        return None;
    }
    let y_scale = finite_scale(data.outcome.iter().fold(0.0f64, |m, v| m.max((v - y_mean).abs())))?;
    // gathered in (fold, arm) order: sequential writes, one row read per unit
    for (pos, &i) in perm.iter().enumerate() {
        let row = &xs[i * p..(i + 1) * p];
        for j in 0..p {
            z[(j + 1) * n + pos] = (row[j] - mean[j]) * inv[j];
        }
        t[pos] = t_in[i];
        y[pos] = (data.outcome[i] - y_mean) / y_scale;
    }
    if !all_finite(z) || !all_finite(y) {
        return None;
    }
    let size = kw * kw;
    let blocks = sized(blocks, 2 * folds * size);
    let mut cols: Vec<&[f64]> = Vec::with_capacity(kw);
    for b in 0..2 * folds {
        let (lo, hi) = (start[b], start[b + 1]);
        cols.clear();
        cols.extend((0..kx).map(|j| &z[j * n + lo..j * n + hi]));
        cols.push(&y[lo..hi]);
        gram(&cols, None, &mut [], &mut blocks[b * size..(b + 1) * size]);
    }
    if !all_finite(blocks) {
        return None;
    }
    Some(Meta {
        start,
        shift,
        mean,
        scale,
        y_mean,
        y_scale,
    })
}

/// `Σ v` with four accumulators (vectorizes).
fn sum(v: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let c = v.chunks_exact(4);
    let rest = c.remainder();
    for x in c {
        for l in 0..4 {
            acc[l] += x[l];
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for x in rest {
        s += x;
    }
    s
}

/// The first fold's start: the linear-probability fit with its slopes divided by
/// `p̄(1 − p̄)` (the logistic slope at the mean), the intercept `logit(p̄)` less the slopes
/// at the mean covariates.
fn lpm_start(gx: &[f64], g1: &[f64], kx: usize, kw: usize, n1: f64, ntr: f64) -> Option<Vec<f64>> {
    let pbar = n1 / ntr;
    let mut b: Vec<f64> = (0..kx).map(|a| g1[a * kw]).collect();
    let c = Cholesky::new(gx, kx).ok()?;
    c.solve(&mut b);
    let v = pbar * (1.0 - pbar);
    let mut beta = vec![0.0; kx];
    beta[0] = (pbar / (1.0 - pbar)).ln();
    for j in 1..kx {
        beta[j] = b[j] / v;
        beta[0] -= beta[j] * gx[j] / ntr;
    }
    all_finite(&beta).then_some(beta)
}

fn sigmoid(eta: f64) -> f64 {
    if eta >= 0.0 {
        1.0 / (1.0 + (-eta).exp())
    } else {
        let e = eta.exp();
        e / (1.0 + e)
    }
}
